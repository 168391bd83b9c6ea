#!/usr/bin/env bash
# Idempotent set-up of a fresh Debian 12 / Ubuntu machine, as root: system
# packages (only those missing), npm dependencies (only when the lock file
# changed), then `make` (only what is out of date). Fast when all is in place.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build: clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make g++ pkg-config.
# Tests and bench: bpftool (no program left attached), linux-perf and bpftrace
# (bench), python3-torch (a real DataLoader), tmux (terminal tests),
# qemu-system-x86 busybox-static cpio (the two-node guest of test/vm/), chromium
# (the dashboard's browser test drives it through playwright-core).
PACKAGES=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make g++ pkg-config linux-perf bpftrace python3-torch tmux
  qemu-system-x86 busybox-static cpio chromium)

missing=()
while read -r name status; do
  [[ "$status" == "installed" ]] || missing+=("$name")
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
for pkg in "${PACKAGES[@]}"; do # dpkg-query prints nothing for packages it never heard of
  dpkg-query -W -f='${Package}\n' "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $EUID -ne 0 ]]; then
    echo "setup: missing system packages: ${missing[*]}; run as root (sudo npm run setup)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Install npm dependencies only when package-lock.json changed since the last
# install, exactly as the lock says (`npm ci`): the lock is the one this npm
# writes, every platform's optional packages included, so an install never
# rewrites it and a clone stays clean after `npm test`.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  touch node_modules/.package-lock.json
fi

make -s all

# `mltrace` on PATH, as this README writes the commands: a link to this
# checkout's CLI. One that points elsewhere (another tool, another install)
# is left alone; without root, `node dist/cli.js` is the same command.
link=/usr/local/bin/mltrace
if [[ $EUID -eq 0 ]]; then
  if [[ ! -e "$link" && ! -L "$link" ]] || [[ -L "$link" && "$(readlink "$link")" == */dist/cli.js ]]; then
    ln -sfn "$PWD/dist/cli.js" "$link"
  fi
fi

# The two-node test guest (test/vm/): its kernel package and initramfs, built
# once and cached under build/vm/, so the tests spend their time testing.
test/vm/prepare.sh >&2
