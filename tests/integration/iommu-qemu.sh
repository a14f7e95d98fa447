#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Peer run: the same default guest and the same guest suites ("iommu",
# "blk") under QEMU's virtio-iommu-pci, endpoints with iommu_platform=on, in
# the same test host (or directly where this host's KVM runs Linux).  What
# passes under vmm must pass under an independent implementation too, so
# the suites test the guest's view, not our quirks.  The disk is 16 MiB:
# QEMU's IOMMU path is much slower in the nested test host.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/integration/run-vmm.sh"

vmm_setup
plan_lazy

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-iommu-qemu.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
img=$tmp/disk.img
dd if=/dev/urandom of="$img" bs=1M count=16 2>/dev/null || bail "cannot create the disk image"
sha=$(sha256sum "$img" | cut -d' ' -f1)

cat >"$tmp/run.sh" <<'SCRIPT'
# In the test host only, a run whose guest did not finish its suites (the
# nested TCG host has been seen to crash or reset guests) is tried once more.
img=$1 sha=$2 out=/tmp/peer-console.$$
for attempt in 1 2; do
	cp "$img" "$img.run"    # every attempt starts from the host's image
	"$QEMU" -accel kvm -M q35 -cpu host -m 512 -smp 2 -display none -nodefaults -no-reboot \
		-serial stdio \
		-kernel "$VMM_GUEST_OUT/bzImage" -initrd "$VMM_GUEST_OUT/initramfs.cpio" \
		-device virtio-iommu-pci \
		-device virtio-rng-pci,iommu_platform=on,disable-legacy=on \
		-drive file="$img.run",if=none,id=d0,format=raw,cache=unsafe \
		-device virtio-blk-pci,drive=d0,iommu_platform=on,disable-legacy=on \
		-append "console=ttyS0 panic=-1 quiet iommu.strict=1 vmmguest.suites=iommu,blk vmmtest.iommu_type=DMA vmmtest.disk_sha256=$sha" \
		>"$out" 2>&1
	rc=$?
	if [ -n "${TESTHOST:-}" ] && [ "$attempt" = 1 ] && ! grep -q "VMM-GUEST-TAP-END suite=blk" "$out"; then
		echo "PEER-TEST retry: the first attempt did not finish (status $rc)"
		continue
	fi
	cat "$out"
	break
done
rm -f "$out"
echo "PEER-TEST rc=$rc"
echo "PEER-TEST image_sha256=$(sha256sum "$img.run" | cut -d' ' -f1)"
rm -f "$img.run"
SCRIPT

start=$(date +%s)
run_vmm_script --qemu --timeout 900 --put "$img" "$tmp/run.sh" "$img" "$sha" >"$tmp/log" 2>&1
rc=$?
diag "QEMU peer run ($VMM_MODE) took $(($(date +%s) - start)) s, status $rc; console:"
diag_file "$tmp/log"
is 0 "$rc" "the QEMU run script completed"
is 0 "$(tr -d '\r' <"$tmp/log" | sed -n 's/^PEER-TEST rc=//p')" "QEMU exits 0 (guest powered off)"
guest_tap "$tmp/log" iommu
guest_tap "$tmp/log" blk
is "$(guest_fact "$tmp/log" written_sha256)" "$(tr -d '\r' <"$tmp/log" | sed -n 's/^PEER-TEST image_sha256=//p')" \
	"after the run the image holds what the guest wrote"
diag "QEMU guest-visible MiB/s: read $(guest_fact "$tmp/log" read_mbps), write $(guest_fact "$tmp/log" write_mbps)"
