{
  "targets": [
    {
      "target_name": "mltrace_native",
      "sources": [
        "native/addon.cc",
        "native/errors.cc",
        "native/libbpf_log.cc",
        "native/bpf_object.cc",
        "native/ring_poller.cc",
        "native/layouts.cc",
        "native/system.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "libraries": ["-lbpf", "-lelf", "-lz"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
