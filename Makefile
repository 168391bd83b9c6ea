# Build graph of mltrace: probes (clang, CO-RE), the native addon (node-gyp),
# the demo/test workloads (cc) and the TypeScript (tsc). `npm run setup` calls
# this after installing what it needs; with nothing changed it does nothing.
NODE_GYP ?= $(shell node -p "require('path').join(require('path').dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')")
NODE_DIR ?= $(shell node -p "require('path').resolve(require('path').dirname(process.execPath), '..')")
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

PROBES := $(patsubst probes/%.bpf.c,build/bpf/%.bpf.o,$(wildcard probes/*.bpf.c))
ADDON := build/Release/mltrace_native.node
WORKLOADS := $(patsubst workloads/%.c,build/workloads/%,$(wildcard workloads/*.c))
TS_SOURCES := $(shell find src -name '*.ts' -o -name '*.tsx')
DASHBOARD_SOURCES := $(wildcard dashboard/*.ts dashboard/*.html dashboard/*.css) src/views/format.ts $(wildcard src/model/*.ts)

all: $(PROBES) $(ADDON) $(WORKLOADS) dist/.built build/dashboard/.built

# Types of the kernel we build on; CO-RE relocates them on whatever kernel
# loads the object, so this is a build input, not a run-time dependency.
build/bpf/vmlinux.h:
	@mkdir -p $(@D)
	bpftool btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

build/bpf/%.bpf.o: probes/%.bpf.c probes/%.h $(wildcard probes/*.bpf.h) probes/sched.h build/bpf/vmlinux.h
	clang -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Ibuild/bpf -Iprobes -c $< -o $@

build/Makefile: binding.gyp
	node $(NODE_GYP) configure --nodedir=$(NODE_DIR) --loglevel=warn

$(ADDON): build/Makefile $(wildcard native/*.cc native/*.h) $(wildcard probes/*.h)
	node $(NODE_GYP) build --nodedir=$(NODE_DIR) --loglevel=warn

# numa_place is static: the NUMA tests compare its page allocations with
# the kernel's counters read inside it, so the dynamic loader's own pages
# (allocated before main) would be noise mltrace sees and they do not.
LDFLAGS_numa_place := -static

build/workloads/%: workloads/%.c
	@mkdir -p $(@D)
	cc -O2 -Wall -Wextra -pthread $(LDFLAGS_$*) -o $@ $<

dist/.built: $(TS_SOURCES) tsconfig.json package.json
	node node_modules/typescript/bin/tsc -p .
	chmod +x dist/cli.js
	touch $@

# The dashboard `mltrace serve` serves: type-checked against the DOM, then
# bundled with uPlot and protobufjs into build/dashboard/ (no CDN: it works
# offline).
build/dashboard/.built: $(DASHBOARD_SOURCES) dashboard/tsconfig.json package.json
	@mkdir -p $(@D)
	node node_modules/typescript/bin/tsc -p dashboard
	node_modules/.bin/esbuild dashboard/main.ts --bundle --format=esm --target=es2022 --minify --sourcemap \
	  --log-level=warning --outfile=$(@D)/app.js
	cat node_modules/uplot/dist/uPlot.min.css dashboard/style.css > $(@D)/app.css
	cp dashboard/index.html $(@D)/index.html
	touch $@

dashboard: build/dashboard/.built

# The addon again, with AddressSanitizer, in its own directory (the normal
# build is untouched). Node itself is not instrumented: scripts/asan-check.sh
# preloads libasan and points mltrace at this file (MLTRACE_NATIVE_ADDON).
ASAN_ADDON := build/asan/mltrace_native.node
ASAN_CXXFLAGS := -std=c++17 -fexceptions -Wall -Wextra -Wno-unused-parameter -g -O1 -fno-omit-frame-pointer \
  -fsanitize=address -fsanitize-address-use-after-scope -fPIC -shared -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS \
  -I$(NODE_DIR)/include/node -I$(shell node -p "require('node-addon-api').include_dir")

$(ASAN_ADDON): $(wildcard native/*.cc native/*.h) $(wildcard probes/*.h)
	@mkdir -p $(@D)
	g++ $(ASAN_CXXFLAGS) -o $@ $(wildcard native/*.cc) -lbpf -lelf -lz

asan: all $(ASAN_ADDON)
	bash scripts/asan-check.sh

clean:
	rm -rf build dist

.PHONY: all clean dashboard asan
