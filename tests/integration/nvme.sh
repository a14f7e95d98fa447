#!/bin/sh
# SPDX-License-Identifier: MIT
#
# vmm's NVMe controller under Linux's own nvme driver, behind the
# virtio-iommu in strict (iommu.strict=1), lazy (the default, DMA-FQ) and
# untrusted (--untrusted: below an external-facing root port, strict,
# sub-page buffers bounced by the guest's swiotlb) mode, one test-host
# boot: the driver binds, the namespace has the image's size and the
# serial vmm gave it, and the guest suite "nvme" moves the whole 16 MiB
# image back and forth with O_DIRECT through PRPs and through SGLs at
# several block sizes, then discards and write-zeroes 2 MiB
# (guest/suites/nvme).  On the host: the image holds exactly what the guest
# says it must, the report shows the controller's commands (PRP lists and
# SGLs both used, discards and write zeroes seen, no error, no descriptor
# error, no fatal status), zero DMA-API violations, and validates against
# the schema.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/integration/run-vmm.sh"
. "$top_srcdir/tests/integration/report-checks.sh"

vmm_setup
plan_lazy

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-nvme.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
img=$tmp/nvme.img
dd if=/dev/urandom of="$img" bs=1M count=16 2>/dev/null || bail "cannot create the disk image"
sha=$(sha256sum "$img" | cut -d' ' -f1)
serial=VMMNVME0042
modes="strict lazy untrusted"

cat >"$tmp/run.sh" <<'SCRIPT'
img=$1 sha=$2 serial=$3 limit=$4
shift 4
for mode in "$@"; do
	opts= vmmopts=
	case $mode in
	strict) opts="iommu.strict=1 vmmtest.iommu_type=DMA" ;;
	lazy) opts="vmmtest.iommu_type=DMA-FQ" ;;
	untrusted) opts="swiotlb=force vmmtest.iommu_type=DMA" vmmopts=--untrusted ;;
	esac
	cp "$img" "$img.$mode"
	echo "NVME-TEST-BEGIN mode=$mode"
	t0=$(cut -d' ' -f1 /proc/uptime)
	# shellcheck disable=SC2086 # vmmopts: zero or one word
	"$VMM" run --timeout "$limit" --cpus 2 --mem 512M $vmmopts --nvme "$img.$mode,serial=$serial" \
		--report "$img.$mode.json" \
		--cmdline "console=ttyS0 panic=-1 quiet $opts vmmguest.suites=nvme vmmtest.nvme_serial=$serial vmmtest.nvme_bytes=16777216 vmmtest.disk_sha256=$sha" 2>&1
	echo "NVME-TEST rc=$? seconds=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')"
	echo "NVME-TEST image_sha256=$(sha256sum "$img.$mode" | cut -d' ' -f1)"
	sed 's/^/NVME-REPORT /' "$img.$mode.json"
	echo "NVME-TEST-END mode=$mode"
	rm -f "$img.$mode" "$img.$mode.json"
done
SCRIPT

start=$(date +%s)
# shellcheck disable=SC2086 # modes: a list
run_vmm_script --timeout 900 --put "$img" "$tmp/run.sh" "$img" "$sha" "$serial" 300 $modes \
	>"$tmp/all.log" 2>&1
rc=$?
diag "run ($VMM_MODE) took $(($(date +%s) - start)) s, status $rc"
is 0 "$rc" "the run script completed"

for mode in $modes; do
	log=$tmp/$mode.log
	tr -d '\r' <"$tmp/all.log" | awk -v m="$mode" '
		$0 == "NVME-TEST-BEGIN mode=" m { on = 1; next }
		$0 == "NVME-TEST-END mode=" m { on = 0 }
		on' >"$log"
	diag "--- $mode: console and report ($(sed -n 's/^NVME-TEST rc=.* seconds=//p' "$log") s) ---"
	diag_file "$log"
	is 0 "$(sed -n 's/^NVME-TEST rc=\([0-9]*\).*/\1/p' "$log")" "$mode: vmm exits 0 (guest powered off)"
	guest_tap "$log" nvme
	is "$sha" "$(guest_fact "$log" read_sha256)" "$mode: the guest read the host's 16 MiB image unchanged"
	final=$(guest_fact "$log" final_sha256)
	ok '[ -n "$final" ]' "$mode: the guest said what the image must hold"
	is "$final" "$(sed -n 's/^NVME-TEST image_sha256=//p' "$log")" \
		"$mode: after the run the host image holds exactly that (the last pattern, 2 MiB zeroed)"
	sed -n 's/^NVME-REPORT //p' "$log" >"$tmp/$mode.json"
	report_valid "$mode" "$tmp/$mode.json"
	nv=$(grep '^{"type":"nvme"' "$tmp/$mode.json")
	diag "$mode: report: $nv"
	field() { printf '%s' "$nv" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
	ok '[ "$(field io_commands)" -gt 100 ]' "$mode: report: the controller ran $(field io_commands) I/O commands"
	ok '[ "$(field prp_lists)" -gt 0 ] && [ "$(field sgls)" -gt 0 ]' \
		"$mode: report: data through PRP lists ($(field prp_lists)) and SGLs ($(field sgls))"
	ok '[ "$(field discards)" -ge 1 ] && [ "$(field write_zeroes)" -ge 1 ] && [ "$(field flushes)" -ge 1 ]' \
		"$mode: report: discards ($(field discards)), write zeroes ($(field write_zeroes)), flushes ($(field flushes))"
	ok '[ "$(field bytes_written)" -ge $((4 * 16 * 1048576)) ] && [ "$(field bytes_read)" -ge $((5 * 16 * 1048576)) ]' \
		"$mode: report: bytes written ($(field bytes_written)) and read ($(field bytes_read)) cover the rounds"
	is 0 "$(field errors)" "$mode: report: no command completed with an error"
	is 0 "$(field descriptor_errors)" "$mode: report: no malformed descriptor from Linux's driver"
	is 0 "$(field fatal)" "$mode: report: never a controller fatal status"
	ok '[ "$(field shutdowns)" -ge 1 ]' "$mode: report: the driver shut the controller down at power-off"
	ep=$(grep '^{"type":"endpoint".*"name":"nvme0"' "$tmp/$mode.json")
	maps=$(printf '%s' "$ep" | sed -n 's/.*"maps":\([0-9]*\).*/\1/p')
	ok '[ "${maps:-0}" -gt 100 ]' "$mode: report: the nvme0 endpoint's IOMMU maps ($maps)"
	is 0 "$(sed -n 's/^{"type":"summary","violations":\([0-9]*\),.*/\1/p' "$tmp/$mode.json")" \
		"$mode: report: zero DMA-API violations"
	bounce_clean "$mode" "$tmp/$mode.json"
done
