#!/usr/bin/env bash
# Fetches and builds what test/vm/vm.sh boots, once, under build/vm/:
# Debian's kernel package (apt-get download: the Debian archive is the only
# source), its kernel image, and a busybox initramfs holding the modules the
# guest needs to mount the host's files over 9p. A second run does nothing.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cache="$repo/build/vm"
mkdir -p "$cache"
[[ -f "$cache/ready" && "$cache/ready" -nt "$repo/test/vm/init" && "$cache/ready" -nt "$0" ]] && exit 0

for tool in qemu-system-x86_64 /bin/busybox cpio; do
  command -v "$tool" >/dev/null || { echo "prepare: $tool missing: run scripts/setup.sh" >&2; exit 1; }
done

# The package linux-image-amd64 depends on, e.g. linux-image-6.1.0-56-amd64.
package="$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1)"
[[ -n "$package" ]] || { echo "prepare: apt-cache does not know linux-image-amd64 (apt-get update?)" >&2; exit 1; }
if ! ls "$cache/$package"_*.deb >/dev/null 2>&1; then
  echo "prepare: fetching $package" >&2
  (cd "$cache" && apt-get download -q "$package" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
  ls "$cache/$package"_*.deb >/dev/null
fi
rm -rf "$cache/pkg" "$cache/initramfs"
dpkg -x "$(ls "$cache/$package"_*.deb | head -n1)" "$cache/pkg"
# Decompressing the kernel once here saves the guest ~5 s of emulated xz on
# every boot: the bzImage carries an xz stream, and the ELF inside boots
# directly through its PVH entry (CONFIG_PVH). Fall back to the bzImage.
bzimage="$(ls "$cache/pkg/boot/vmlinuz-"* | head -n1)"
offset="$(LC_ALL=C grep -obUaP '\xFD7zXZ\x00' "$bzimage" | head -n1 | cut -d: -f1 || true)"
# (xz stops at the stream's end; the tail behind it is not its business.)
if [[ -n "$offset" ]] && xz -dc --single-stream < <(tail -c +"$((offset + 1))" "$bzimage") > "$cache/vmlinux" 2>/dev/null &&
  [[ "$(head -c 4 "$cache/vmlinux" | od -An -c | tr -d ' ')" == '177ELF' ]]; then
  ln -sf vmlinux "$cache/kernel"
else
  cp "$bzimage" "$cache/vmlinuz"
  ln -sf vmlinuz "$cache/kernel"
fi
modules="$(echo "$cache"/pkg/lib/modules/*)"
echo "${modules##*/}" > "$cache/kernel-release"

# Modules, dependencies first: virtio transport, the scratch disk, then 9p. Order found from
# each module's own "depends=" (no modinfo needed).
root="$cache/initramfs"
mkdir -p "$root/bin" "$root/modules" "$root/proc" "$root/sys" "$root/dev" "$root/host"
declare -A added=()
order=()
add_module() {
  local name="$1" file dep
  [[ -n "${added[$name]:-}" ]] && return
  added[$name]=1
  file="$(find "$modules/kernel" -name "$name.ko" -o -name "$name.ko.xz" | head -n1)"
  [[ -n "$file" ]] || { echo "prepare: module $name not in $package" >&2; exit 1; }
  for dep in $(tr '\0' '\n' < "$file" | sed -n 's/^depends=//p' | tr ',' ' '); do add_module "$dep"; done
  # busybox insmod takes plain ELF only.
  case "$file" in
    *.xz) xz -dc "$file" > "$root/modules/$name.ko" ;;
    *) cp "$file" "$root/modules/$name.ko" ;;
  esac
  order+=("$name")
}
for m in virtio_pci virtio_blk 9pnet_virtio 9p; do add_module "$m"; done
printf '%s\n' "${order[@]}" > "$root/modules/order"

cp /bin/busybox "$root/bin/busybox"
cp "$repo/test/vm/init" "$root/init"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$cache/initrd.gz"
touch "$cache/ready"
echo "prepare: guest kernel $(cat "$cache/kernel-release") ready in $cache" >&2
