#!/usr/bin/env bash
# Runs one shell command inside a small two-NUMA-node Linux guest (Debian's
# own kernel, older than the host's) and hands back its stdout, stderr and
# exit status, so mltrace can be checked on a second kernel and on two nodes.
#
#   test/vm/vm.sh [--timeout S] -- 'shell command'
#
# The guest sees the host's whole file system read-only over 9p and chroots
# into it, so node, the repository and its build outputs sit at the same
# paths as on the host; /tmp is a fresh tmpfs (the repository is mounted
# again at its path, in case it lives under /tmp). Everything built or fetched
# is cached under build/vm/ (delete it to start over). The guest also has a
# 16 MiB scratch disk, /dev/vda, fresh each run. As root.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cache="$repo/build/vm"
timeout_s=150

while (($#)); do
  case "$1" in
    --timeout) timeout_s="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 [--timeout S] -- 'shell command'" >&2; exit 2 ;;
  esac
done
(($#)) || { echo "usage: $0 [--timeout S] -- 'shell command'" >&2; exit 2; }

# The Debian kernel package the distribution's meta-package depends on
# (linux-image-amd64 → linux-image-6.1.0-N-amd64): what a Debian 12 server
# runs, and a kernel five years older than ours.
"$repo/test/vm/prepare.sh" >&2
kernel="$cache/kernel"
initrd="$cache/initrd.gz"

io="$(mktemp -d "$cache/run.XXXXXX")"
trap 'rm -rf "$io"' EXIT
{
  echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb"
  printf 'cd %q\n' "$PWD"
  printf '%s\n' "$*"
} > "$io/cmd.sh"

printf '%s\n' "$repo" > "$io/repo_path"

# A scratch disk, /dev/vda in the guest (16 MiB, sparse): block I/O for
# the io family to see (the host's files come over 9p, not a block device).
truncate -s 16M "$io/scratch.img"

# Two sockets of one CPU each, one memory node per socket: CPU 0 ↔ node 0
# (384 MiB: the NUMA check fills it, and the more pages, the smaller the
# share of the few hundred it cannot tell apart), CPU 1 ↔ node 1 (256 MiB).
# Software emulation: KVM is not usable on these machines (the guest hangs
# after the decompressor). numa_balancing=disable keeps the kernel from
# moving pages and tasks behind the tests' backs.
status=0
timeout --kill-after=5 "$timeout_s" qemu-system-x86_64 \
  -accel tcg,thread=multi -cpu max -m 640M \
  -smp 2,sockets=2,cores=1,threads=1 \
  -object memory-backend-ram,id=m0,size=384M -object memory-backend-ram,id=m1,size=256M \
  -numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1,memdev=m1 \
  -kernel "$kernel" -initrd "$initrd" \
  -append "console=ttyS0 quiet loglevel=3 panic=-1 numa_balancing=disable" \
  -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
  -virtfs "local,path=$io,mount_tag=io,security_model=none" \
  -virtfs "local,path=$repo,mount_tag=repo,security_model=none,readonly=on,multidevs=remap" \
  -drive "file=$io/scratch.img,if=virtio,format=raw,cache=unsafe" \
  -nodefaults -display none -no-reboot -serial "file:$io/console.log" || status=$?

if [[ ! -f "$io/rc" ]]; then
  # The command never finished: say why (the guest's console) and fail.
  echo "vm: the guest did not finish the command (qemu status $status, limit ${timeout_s}s); console:" >&2
  tail -n 40 "$io/console.log" >&2 || true
  exit 125
fi
cat "$io/stdout"
cat "$io/stderr" >&2
exit "$(cat "$io/rc")"
