#!/bin/sh
# SPDX-License-Identifier: MIT
# The default guest image (make guest) has what /init and the test host
# rely on.  No VM is booted.
. "$top_srcdir/tests/tap/libtap.sh"

out=$top_builddir/guest/out
[ -f "$out/initramfs.cpio" ] || bail "no $out/initramfs.cpio: run 'make guest'"
command -v cpio >/dev/null 2>&1 || skip_all "cpio not installed"

plan 13

tmp=$(mktemp -d "${TMPDIR:-/tmp}/guest-image.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
cpio -it --quiet <"$out/initramfs.cpio" >"$tmp/list" 2>/dev/null
release=$(cat "$out/kernel-release" 2>/dev/null)

ok '[ "$(dd if="$out/bzImage" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ]' "bzImage has a Linux boot header"
ok 'case $release in 6.12.*) true ;; *) false ;; esac' "kernel release is 6.12.x ($release)"
ok 'grep -qx init "$tmp/list"' "initramfs has /init"
ok 'grep -qx bin/busybox "$tmp/list" && grep -qx bin/sh "$tmp/list"' "initramfs has busybox and /bin/sh"
ok 'grep -qx usr/bin/vmm-guest "$tmp/list"' "initramfs has /usr/bin/vmm-guest"
ok 'grep -qx "lib/modules/$release/load.order" "$tmp/list"' "initramfs has the module load order"
(cd "$tmp" && cpio -id --quiet "lib/modules/$release/load.order" <"$out/initramfs.cpio" 2>/dev/null)
is virtio-iommu.ko "$(head -n1 "$tmp/lib/modules/$release/load.order" 2>/dev/null)" "virtio_iommu is loaded first"
missing=
while read -r ko; do
	grep -qx "lib/modules/$release/$ko" "$tmp/list" || missing="$missing $ko"
done <"$tmp/lib/modules/$release/load.order"
is "" "$missing" "every module of the load order is in the initramfs"
is "irqbypass.ko kvm.ko kvm-amd.ko tun.ko" "$(tr '\n' ' ' <"$out/modules/l1.order" | sed 's/ $//')" \
	"L1 modules in load order (tun: the network tests' TAP)"
is "failover.ko net_failover.ko virtio_net.ko" \
	"$(grep -E '^(failover|net_failover|virtio_net)\.ko$' "$tmp/lib/modules/$release/load.order" | tr '\n' ' ' | sed 's/ $//')" \
	"the guest loads virtio_net after its dependencies"
missing=
for ko in $(cat "$out/modules/l1.order" "$out/modules/guest.order"); do
	[ -f "$out/modules/$ko" ] || missing="$missing $ko"
done
is "" "$missing" "guest/out/modules holds every listed module"
ok '! grep -q "\.ko\.\(xz\|zst\|gz\)$" "$tmp/list" && ! ls "$out/modules" | grep -q "\.ko\.\(xz\|zst\|gz\)$"' \
	"modules are decompressed"
ok '! ldd "$top_builddir/guest/vmm-guest" >/dev/null 2>&1' "vmm-guest is statically linked"
