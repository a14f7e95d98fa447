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
# Runs where the peer runs (directly, or in the test host's L1).  QEMU's
# console goes straight out (the test host's progress lines show its last
# line).  A QEMU that has not exited after LIMIT s is killed: a hung peer
# is the test host's failure (reported in $TESTHOST_PEER_FAILURE, so that
# run_vmm_script tries once more), but a guest that crashed or did not
# finish under QEMU is a failure of this test, never retried.
img=$1 sha=$2 limit=$3
uptime_s() { cut -d' ' -f1 /proc/uptime | cut -d. -f1; }
alive() { # PID: running, not a zombie
	read -r _st 2>/dev/null </proc/$1/stat || return 1
	_st=${_st##*) }
	case $_st in Z*) return 1 ;; esac
}
cp "$img" "$img.run"
t0=$(uptime_s)
"$QEMU" -accel kvm -M q35 -cpu host -m 512 -smp 2 -display none -nodefaults -no-reboot \
	-serial stdio \
	-kernel "$VMM_GUEST_OUT/bzImage" -initrd "$VMM_GUEST_OUT/initramfs.cpio" \
	-device virtio-iommu-pci \
	-device virtio-rng-pci,iommu_platform=on,disable-legacy=on \
	-drive file="$img.run",if=none,id=d0,format=raw,cache=unsafe \
	-device virtio-blk-pci,drive=d0,iommu_platform=on,disable-legacy=on \
	-append "console=ttyS0 panic=-1 quiet iommu.strict=1 vmmguest.suites=iommu,blk vmmtest.iommu_type=DMA vmmtest.disk_sha256=$sha" \
	</dev/null 2>&1 &
qpid=$!
while alive "$qpid" && [ $(($(uptime_s) - t0)) -lt "$limit" ]; do
	sleep 1
done
hung=0
if alive "$qpid"; then
	hung=1
	kill -KILL "$qpid"
fi
wait "$qpid"
rc=$?
secs=$(($(uptime_s) - t0))
if [ "$hung" = 1 ]; then
	echo "PEER-TEST hung: QEMU had not exited after $limit s; killed"
	[ -z "${TESTHOST_PEER_FAILURE:-}" ] ||
		echo "QEMU (the peer) had not exited after $limit s" >"$TESTHOST_PEER_FAILURE"
fi
echo "PEER-TEST rc=$rc seconds=$secs"
echo "PEER-TEST image_sha256=$(sha256sum "$img.run" | cut -d' ' -f1)"
rm -f "$img.run"
SCRIPT

start=$(date +%s)
# Timeouts (docs/guest-and-testhost.md): the QEMU run takes ~80 s in the
# test host under load (~100 s with L1's boot); QEMU is stopped after 400 s.
run_vmm_script --qemu --timeout 600 --put "$img" "$tmp/run.sh" "$img" "$sha" 400 >"$tmp/log" 2>&1
rc=$?
diag "QEMU peer run ($VMM_MODE) took $(($(date +%s) - start)) s, status $rc; console:"
diag_file "$tmp/log"
is 0 "$rc" "the QEMU run script completed"
is 0 "$(tr -d '\r' <"$tmp/log" | sed -n 's/^PEER-TEST rc=\([0-9]*\).*/\1/p')" "QEMU exits 0 (guest powered off)"
guest_tap "$tmp/log" iommu
guest_tap "$tmp/log" blk
is "$(guest_fact "$tmp/log" written_sha256)" "$(tr -d '\r' <"$tmp/log" | sed -n 's/^PEER-TEST image_sha256=//p')" \
	"after the run the image holds what the guest wrote"
diag "QEMU guest-visible MiB/s: read $(guest_fact "$tmp/log" read_mbps), write $(guest_fact "$tmp/log" write_mbps)"
