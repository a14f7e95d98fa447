#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Untrusted endpoints: with --untrusted every endpoint behind the
# virtio-iommu sits at 00.0 below a PCIe root port of its own, which ACPI
# marks "ExternalFacingPort".  The unmodified guest (guest suite
# "untrusted") enumerates the ports with the bus numbers we programmed,
# finds each endpoint below one, removable, alone in a strict (DMA) IOMMU
# group although its default is lazy, and bouncing its sub-page buffers
# through its swiotlb; virtio-blk I/O still round-trips through the IOMMU
# (suites iommu and blk), with the endpoint IDs of buses 1 and 2 in the
# host's report.
#
# The swiotlb: x86 Linux sets one up only with RAM above 4 GiB or
# "swiotlb=force", and without one iommu-dma refuses an untrusted device's
# sub-page maps.  So four runs, one test-host boot:
#   untrusted  512 MiB + swiotlb=force: everything above
#   trusted    the same command line without --untrusted: the control
#              (bus 0, not removable, lazy DMA-FQ groups, nothing bounced)
#   highmem    --mem 3328M (RAM above 4 GiB), no swiotlb option: the guest
#              sets its swiotlb up by itself and bounces
#   noswiotlb  512 MiB, no option: vmm warns, the guest has no pool and
#              refuses the maps ("DMA bounce buffers are inactive")
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/integration/run-vmm.sh"
. "$top_srcdir/tests/integration/report-checks.sh"

vmm_setup
plan_lazy

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-untrusted.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
img=$tmp/disk.img
dd if=/dev/urandom of="$img" bs=1M count=16 2>/dev/null || bail "cannot create the disk image"
sha=$(sha256sum "$img" | cut -d' ' -f1)

cat >"$tmp/run.sh" <<'SCRIPT'
# Runs where vmm runs (directly, or in the test host's L1).  Each vmm run
# has its own --timeout; a guest crash or timeout is a failure, never
# retried (docs/guest-and-testhost.md).
img=$1 sha=$2
base="console=ttyS0 panic=-1 quiet"
for mode in untrusted trusted highmem noswiotlb; do
	case $mode in
	untrusted)
		args="--cpus 2 --mem 512M --untrusted --disk $img.$mode"
		cmd="$base swiotlb=force vmmguest.suites=untrusted,iommu,blk vmmtest.topology=untrusted"
		cmd="$cmd vmmtest.ports=2 vmmtest.swiotlb=active vmmtest.iommu_type=DMA vmmtest.disk_sha256=$sha" ;;
	trusted)
		args="--cpus 1 --mem 512M --disk $img.$mode"
		cmd="$base swiotlb=force vmmguest.suites=untrusted,iommu vmmtest.topology=trusted"
		cmd="$cmd vmmtest.swiotlb=active vmmtest.iommu_type=DMA-FQ" ;;
	highmem)
		args="--cpus 1 --mem 3328M --untrusted"
		cmd="$base vmmguest.suites=untrusted vmmtest.ports=1 vmmtest.swiotlb=active" ;;
	noswiotlb)
		args="--cpus 1 --mem 512M --untrusted"
		cmd="$base vmmguest.suites=untrusted vmmtest.ports=1 vmmtest.swiotlb=inactive" ;;
	esac
	cp "$img" "$img.$mode"
	echo "UNTRUSTED-TEST-BEGIN mode=$mode"
	t0=$(cut -d' ' -f1 /proc/uptime)
	"$VMM" run $args --timeout 300 --report "$img.$mode.json" --cmdline "$cmd" 2>&1
	rc=$?
	echo "UNTRUSTED-TEST rc=$rc seconds=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')"
	echo "UNTRUSTED-TEST image_sha256=$(sha256sum "$img.$mode" | cut -d' ' -f1)"
	sed 's/^/UNTRUSTED-REPORT /' "$img.$mode.json"
	echo "UNTRUSTED-TEST-END mode=$mode"
	rm -f "$img.$mode" "$img.$mode.json"
done
SCRIPT

start=$(date +%s)
# Timeouts (docs/guest-and-testhost.md): the four runs take ~340 s in the
# test host under load, the longest ~135 s.
run_vmm_script --timeout 1200 --put "$img" "$tmp/run.sh" "$img" "$sha" >"$tmp/all.log" 2>&1
rc=$?
diag "run ($VMM_MODE) took $(($(date +%s) - start)) s, status $rc"
is 0 "$rc" "the run script completed"

warning="untrusted endpoints need a swiotlb in the guest"
for mode in untrusted trusted highmem noswiotlb; do
	log=$tmp/$mode.log
	# This mode's block.
	tr -d '\r' <"$tmp/all.log" | awk -v m="$mode" '
		$0 == "UNTRUSTED-TEST-BEGIN mode=" m { on = 1; next }
		$0 == "UNTRUSTED-TEST-END mode=" m { on = 0 }
		on' >"$log"
	diag "--- $mode: console and report ($(sed -n 's/^UNTRUSTED-TEST rc=.* seconds=//p' "$log") s) ---"
	diag_file "$log"
	is 0 "$(sed -n 's/^UNTRUSTED-TEST rc=\([0-9]*\).*/\1/p' "$log")" "$mode: vmm exits 0 (guest powered off)"
	guest_tap "$log" untrusted
	# (The summary counted "refused_dmas" before the DMA sanitizer, "violations" since.)
	is 0 "$(sed -n 's/^UNTRUSTED-REPORT {"type":"summary",.*"\(violations\|refused_dmas\)":\([0-9]*\).*/\2/p' "$log")" \
		"$mode: report: zero refused DMAs (DMA-API violations)"
	sed -n 's/^UNTRUSTED-REPORT //p' "$log" >"$tmp/$mode.json"
	report_valid "$mode" "$tmp/$mode.json"
	bounce_clean "$mode" "$tmp/$mode.json"
	case $mode in
	untrusted)
		guest_tap "$log" iommu
		guest_tap "$log" blk
		ok '! grep -q "$warning" "$log"' "$mode: no swiotlb warning (swiotlb=force is on the command line)"
		rng=$(grep '^UNTRUSTED-REPORT {"type":"endpoint","bdf":"01:00.0","name":"virtio-rng"' "$log")
		blk=$(grep '^UNTRUSTED-REPORT {"type":"endpoint","bdf":"02:00.0","name":"virtio-blk"' "$log")
		ok '[ -n "$rng" ] && [ -n "$blk" ]' \
			"$mode: the host's IOMMU knows the endpoints by their BDFs below the ports: 01:00.0 virtio-rng, 02:00.0 virtio-blk"
		maps=$(printf '%s' "$blk" | sed -n 's/.*"maps":\([0-9]*\).*/\1/p')
		unmaps=$(printf '%s' "$blk" | sed -n 's/.*"unmaps":\([0-9]*\).*/\1/p')
		ok '[ "${maps:-0}" -gt 100 ] && [ "${unmaps:-0}" -gt 100 ]' \
			"$mode: virtio-blk DMA went through the IOMMU: $maps maps, $unmaps unmaps"
		is "$sha" "$(guest_fact "$log" read_sha256)" "$mode: the guest read the host's image unchanged"
		is "$(guest_fact "$log" written_sha256)" "$(sed -n 's/^UNTRUSTED-TEST image_sha256=//p' "$log")" \
			"$mode: after the run the host image holds exactly what the guest wrote"
		;;
	trusted)
		guest_tap "$log" iommu
		ok '! grep -q "$warning" "$log"' "$mode: no swiotlb warning (nothing untrusted)"
		ok 'grep -q "^UNTRUSTED-REPORT {\"type\":\"endpoint\",\"bdf\":\"00:03.0\",\"name\":\"virtio-blk\"" "$log"' \
			"$mode: the disk is 00:03.0, as always"
		;;
	highmem)
		ok '! grep -q "$warning" "$log"' "$mode: no swiotlb warning (RAM above 4 GiB)"
		ok '[ "$(guest_fact "$log" swiotlb_nslabs)" -gt 0 ] 2>/dev/null' \
			"$mode: the guest set its swiotlb up by itself ($(guest_fact "$log" swiotlb_nslabs) slabs)"
		;;
	noswiotlb)
		ok 'grep -q "^vmm: warning: $warning" "$log"' "$mode: vmm warns that the guest will lack a swiotlb"
		;;
	esac
done
