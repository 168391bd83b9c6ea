#!/usr/bin/env bash
# `make asan`: the native addon under AddressSanitizer. Node is not built
# with ASAN, so libasan is preloaded into it (and, through the environment,
# into every process the tests start: mltrace, the workloads); leak
# detection is off because V8 keeps allocations it never frees by design.
# Runs bench/asan-cycles.mjs (1,000 open/load/attach/read/destroy cycles of
# every probe family) and then the eBPF test files, all against
# build/asan/mltrace_native.node. Any ASAN report aborts the process that
# hit it (halt_on_error) and fails the run; the reports are also kept in
# build/artifacts/asan/asan.PID. Needs root and BTF, like the eBPF tests.
set -euo pipefail
cd "$(dirname "$0")/.."

libasan=$(g++ -print-file-name=libasan.so)
[ -e "$libasan" ] || { echo "asan: libasan not found (apt-get install g++)" >&2; exit 1; }
logs=build/artifacts/asan
rm -rf "$logs" && mkdir -p "$logs"

export MLTRACE_NATIVE_ADDON="$PWD/build/asan/mltrace_native.node"
export LD_PRELOAD="$libasan"
# quarantine_size_mb: freed memory ASAN holds back to catch use after free;
# 64 MB rather than 256 keeps the RSS comparison of the cycles meaningful.
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=66:quarantine_size_mb=64:log_path=$PWD/$logs/asan:${ASAN_EXTRA_OPTIONS:-}"

status=0
node --expose-gc bench/asan-cycles.mjs || status=$?
if [ "${ASAN_SKIP_TESTS:-}" != 1 ]; then
  CI=true node node_modules/vitest/vitest.mjs run ${ASAN_TESTS:-test/ebpf} || status=$?
fi
unset LD_PRELOAD
if compgen -G "$logs/asan.*" > /dev/null; then
  echo "asan: AddressSanitizer reported errors:" >&2
  cat "$logs"/asan.* >&2
  exit 1
fi
[ "$status" = 0 ] || { echo "asan: a run failed (status $status) without an ASAN report" >&2; exit "$status"; }
echo "asan: no AddressSanitizer errors"
