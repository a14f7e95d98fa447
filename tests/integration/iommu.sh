#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The unmodified guest's DMA API through our virtio-iommu, in strict
# (iommu.strict=1) and lazy (default) invalidation: virtio_iommu binds via
# VIOT, every endpoint sits in an IOMMU group of type DMA / DMA-FQ, and a
# 64 MiB write/read round trip over virtio-blk goes through it -- the guest's
# read matches the image the host made, and after the run the image on the
# host holds exactly what the guest wrote.  The host report must show the
# maps and unmaps, zero refused DMAs, and the bounce pool back to empty and
# never full.  One test-host boot runs both modes.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/integration/run-vmm.sh"
. "$top_srcdir/tests/integration/report-checks.sh"

vmm_setup
plan_lazy

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-iommu.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
img=$tmp/disk.img
dd if=/dev/urandom of="$img" bs=1M count=64 2>/dev/null || bail "cannot create the disk image"
sha=$(sha256sum "$img" | cut -d' ' -f1)

cat >"$tmp/run.sh" <<'SCRIPT'
# Runs where vmm runs (directly, or in the test host's L1).  Each vmm run
# has its own --timeout; a guest crash (3, 4, 5) or a timeout (7) is a
# failure, never retried: it may be ours (docs/guest-and-testhost.md).
img=$1 sha=$2 limit=$3
for mode in strict lazy; do
	if [ "$mode" = strict ]; then
		opts="iommu.strict=1 vmmtest.iommu_type=DMA"
	else
		opts="vmmtest.iommu_type=DMA-FQ"
	fi
	cp "$img" "$img.$mode"
	echo "IOMMU-TEST-BEGIN mode=$mode"
	t0=$(cut -d' ' -f1 /proc/uptime)
	"$VMM" run --timeout "$limit" --cpus 2 --mem 512M --disk "$img.$mode" --report "$img.$mode.json" \
		--cmdline "console=ttyS0 panic=-1 quiet $opts vmmguest.suites=iommu,blk vmmtest.disk_sha256=$sha" 2>&1
	rc=$?
	echo "IOMMU-TEST rc=$rc seconds=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')"
	echo "IOMMU-TEST image_sha256=$(sha256sum "$img.$mode" | cut -d' ' -f1)"
	sed 's/^/IOMMU-REPORT /' "$img.$mode.json"
	echo "IOMMU-TEST-END mode=$mode"
	rm -f "$img.$mode" "$img.$mode.json"
done
SCRIPT

start=$(date +%s)
# Timeouts (docs/guest-and-testhost.md): one vmm run takes ~100 s in the
# test host under load, the whole L1 session ~250 s.
run_vmm_script --timeout 900 --put "$img" "$tmp/run.sh" "$img" "$sha" 360 >"$tmp/all.log" 2>&1
rc=$?
diag "run ($VMM_MODE) took $(($(date +%s) - start)) s, status $rc"
is 0 "$rc" "the run script completed"

for mode in strict lazy; do
	log=$tmp/$mode.log
	# This mode's block.
	tr -d '\r' <"$tmp/all.log" | awk -v m="$mode" '
		$0 == "IOMMU-TEST-BEGIN mode=" m { on = 1; next }
		$0 == "IOMMU-TEST-END mode=" m { on = 0 }
		on' >"$log"
	diag "--- $mode: console and report ($(sed -n 's/^IOMMU-TEST rc=.* seconds=//p' "$log") s) ---"
	diag_file "$log"
	is 0 "$(sed -n 's/^IOMMU-TEST rc=\([0-9]*\).*/\1/p' "$log")" "$mode: vmm exits 0 (guest powered off)"
	guest_tap "$log" iommu
	guest_tap "$log" blk
	ok 'grep -q "^# guest:  *dmesg: .*virtio_iommu virtio[0-9]*: input address" "$log" ||
	    grep -q "dmesg: .*virtio_iommu virtio[0-9]*: input address" "$log"' \
		"$mode: the guest kernel's virtio_iommu probe line is in the log"
	ok 'grep -q "dmesg: .*Adding to iommu group" "$log"' "$mode: the guest kernel's iommu-group joins are in the log"
	written=$(guest_fact "$log" written_sha256)
	is "$written" "$(sed -n 's/^IOMMU-TEST image_sha256=//p' "$log")" \
		"$mode: after the run the host image holds exactly the 64 MiB the guest wrote"
	is "$sha" "$(guest_fact "$log" read_sha256)" "$mode: the guest read the host's 64 MiB image unchanged"
	blk=$(grep '^IOMMU-REPORT {"type":"endpoint".*"name":"virtio-blk"' "$log")
	maps=$(printf '%s' "$blk" | sed -n 's/.*"maps":\([0-9]*\).*/\1/p')
	unmaps=$(printf '%s' "$blk" | sed -n 's/.*"unmaps":\([0-9]*\).*/\1/p')
	ok '[ "${maps:-0}" -gt 1000 ] && [ "${unmaps:-0}" -gt 1000 ]' \
		"$mode: report shows the virtio-blk maps ($maps) and unmaps ($unmaps)"
	is 0 "$(sed -n 's/^IOMMU-REPORT {"type":"summary","violations":\([0-9]*\),.*/\1/p' "$log")" \
		"$mode: report: zero DMA-API violations"
	ok 'grep -q "^vmm: DMA-API violations: 0$" "$log"' "$mode: stderr summary: 0 DMA-API violations"
	sed -n 's/^IOMMU-REPORT //p' "$log" >"$tmp/$mode.json"
	report_valid "$mode" "$tmp/$mode.json"
	bounce_clean "$mode" "$tmp/$mode.json"
	diag "$mode: guest-visible MiB/s: read $(guest_fact "$log" read_mbps), write $(guest_fact "$log" write_mbps), read-back $(guest_fact "$log" read2_mbps)"
done
