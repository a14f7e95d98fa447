#!/bin/sh
# SPDX-License-Identifier: MIT
#
# vmm's NVMe controller under Linux's own nvme driver, behind the
# virtio-iommu in strict mode (iommu.strict=1): the driver binds, the
# namespace has the image's size and the serial vmm gave it, and the guest
# suite "nvme" moves the whole 16 MiB image back and forth with O_DIRECT
# through PRPs and through SGLs at several block sizes, then discards and
# write-zeroes 2 MiB (guest/suites/nvme).  On the host: the image holds
# exactly what the guest says it must, the report shows the controller's
# commands (PRP lists and SGLs both used, discards and write zeroes seen,
# no error, no descriptor error, no fatal status), zero DMA-API
# violations, and validates against the schema.  One test-host boot.
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

cat >"$tmp/run.sh" <<'SCRIPT'
img=$1 sha=$2 serial=$3 limit=$4
echo "NVME-TEST-BEGIN"
"$VMM" run --timeout "$limit" --cpus 2 --mem 512M --nvme "$img,serial=$serial" \
	--report "$img.json" \
	--cmdline "console=ttyS0 panic=-1 quiet iommu.strict=1 vmmguest.suites=nvme vmmtest.nvme_serial=$serial vmmtest.nvme_bytes=16777216 vmmtest.disk_sha256=$sha vmmtest.iommu_type=DMA" 2>&1
echo "NVME-TEST rc=$?"
echo "NVME-TEST image_sha256=$(sha256sum "$img" | cut -d' ' -f1)"
sed 's/^/NVME-REPORT /' "$img.json"
echo "NVME-TEST-END"
SCRIPT

start=$(date +%s)
run_vmm_script --timeout 600 --put "$img" "$tmp/run.sh" "$img" "$sha" "$serial" 300 >"$tmp/all.log" 2>&1
rc=$?
diag "run ($VMM_MODE) took $(($(date +%s) - start)) s, status $rc"
is 0 "$rc" "the run script completed"
log=$tmp/nvme.log
tr -d '\r' <"$tmp/all.log" | awk '$0 == "NVME-TEST-BEGIN" { on = 1; next } $0 == "NVME-TEST-END" { on = 0 } on' >"$log"
diag_file "$log"
is 0 "$(sed -n 's/^NVME-TEST rc=\([0-9]*\).*/\1/p' "$log")" "vmm exits 0 (guest powered off)"
guest_tap "$log" nvme
is "$sha" "$(guest_fact "$log" read_sha256)" "the guest read the host's 16 MiB image unchanged"
final=$(guest_fact "$log" final_sha256)
ok '[ -n "$final" ]' "the guest said what the image must hold"
is "$final" "$(sed -n 's/^NVME-TEST image_sha256=//p' "$log")" \
	"after the run the host image holds exactly that (the last pattern, 2 MiB zeroed)"
sed -n 's/^NVME-REPORT //p' "$log" >"$tmp/report.json"
report_valid nvme "$tmp/report.json"
nv=$(grep '^{"type":"nvme"' "$tmp/report.json")
diag "report: $nv"
field() { printf '%s' "$nv" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
ok '[ "$(field io_commands)" -gt 100 ]' "report: the controller ran $(field io_commands) I/O commands"
ok '[ "$(field prp_lists)" -gt 0 ] && [ "$(field sgls)" -gt 0 ]' \
	"report: data through PRP lists ($(field prp_lists)) and SGLs ($(field sgls))"
ok '[ "$(field discards)" -ge 1 ] && [ "$(field write_zeroes)" -ge 1 ] && [ "$(field flushes)" -ge 1 ]' \
	"report: discards ($(field discards)), write zeroes ($(field write_zeroes)), flushes ($(field flushes))"
ok '[ "$(field bytes_written)" -ge $((4 * 16 * 1048576)) ] && [ "$(field bytes_read)" -ge $((5 * 16 * 1048576)) ]' \
	"report: bytes written ($(field bytes_written)) and read ($(field bytes_read)) cover the rounds"
is 0 "$(field errors)" "report: no command completed with an error"
is 0 "$(field descriptor_errors)" "report: no malformed descriptor from Linux's driver"
is 0 "$(field fatal)" "report: never a controller fatal status"
ok '[ "$(field shutdowns)" -ge 1 ]' "report: the driver shut the controller down at power-off"
ep=$(grep '^{"type":"endpoint".*"name":"nvme0"' "$tmp/report.json")
maps=$(printf '%s' "$ep" | sed -n 's/.*"maps":\([0-9]*\).*/\1/p')
ok '[ "${maps:-0}" -gt 100 ]' "report: the nvme0 endpoint's IOMMU maps ($maps)"
is 0 "$(sed -n 's/^{"type":"summary","violations":\([0-9]*\),.*/\1/p' "$tmp/report.json")" \
	"report: zero DMA-API violations"
bounce_clean nvme "$tmp/report.json"
