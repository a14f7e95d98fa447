#!/bin/sh
# SPDX-License-Identifier: MIT
#
# docs/report.schema.json and its validator (tests/report-validate, with
# python3-jsonschema): the schema is a valid JSON Schema (2020-12); every
# line type the docs show validates; and the validator refuses what vmm
# must not write -- a field the schema does not know, a missing field, a
# wrong schema version, an unknown line type, a report without its "vm"
# line.  The integration tests validate vmm's real reports with it
# (report_valid in tests/integration/report-checks.sh).
. "$top_srcdir/tests/tap/libtap.sh"

schema=$top_srcdir/docs/report.schema.json
validate=$top_srcdir/tests/report-validate
tmp=$(mktemp -d "${TMPDIR:-/tmp}/report-schema.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null ||
	bail "python3-jsonschema is not installed (a test dependency; ./quickstart installs it)"
plan_lazy

vm='{"type":"vm","report_schema":1,"vmm_version":"0.1.0","name":"vmm-default","uuid":"4a1b6f2e-8c3d-4e5f-9a0b-1c2d3e4f5a6b"}'
# One line of each type, as vmm/report.c and viommu/format.c write them;
# the violation line is docs/viommu.md's example.
{
	echo "$vm"
	echo '{"type":"endpoint","bdf":"00:02.0","name":"virtio-blk","attaches":1,"detaches":0,"maps":10,"map_bytes":40960,"unmaps":10,"unmap_bytes":40960,"translations":20,"refused":0,"drain_waits":0,"drain_wait_ns":0}'
	echo '{"type":"dmatest","bdf":"00:04.0","name":"dmatest0","commands":5,"failed":1,"bytes_moved":4096,"violations":1,"leaked_mappings":0,"bounce_exhausted":0}'
	echo '{"type":"net","bdf":"00:0c.0","tap":"vmmtap0","mac":"52:54:00:12:34:56","mtu":1500,"queue_pairs":2,"queue_pairs_used":2,"ctrl_ok":1,"ctrl_err":0}'
	echo '{"type":"net_queue","bdf":"00:0c.0","queue_pair":0,"rx_packets":3,"rx_bytes":180,"rx_drops":0,"tx_packets":2,"tx_bytes":120,"tx_drops":0}'
	echo '{"type":"bounce","device":"00:02.0 virtio-blk","bytes_in":4096,"bytes_out":0,"segments":1,"slots_in_use":0,"slots_hiwater":2,"exhausted":0}'
	echo '{"type":"bounce_pool","slots":32768,"slot_size":2048,"slots_hiwater":2,"exhausted":0,"bytes_in":4096,"bytes_out":0}'
	echo '{"type":"nvme","bdf":"00:10.0","name":"nvme0","admin_commands":20,"io_commands":300,"errors":1,"reads":150,"writes":150,"flushes":2,"write_zeroes":1,"discards":1,"bytes_read":1048576,"bytes_written":1048576,"prp_lists":100,"sgls":100,"descriptor_errors":1,"invalid_doorbells":0,"fatal":0,"io_queues_max":2,"interrupts":320,"resets":1,"shutdowns":1}'
	grep '^{"type":"violation"' "$top_srcdir/docs/viommu.md" | head -n1
	# an NVMe descriptor violation (vmm/nvme.c, viommu_report_descriptor)
	echo '{"type":"violation","seq":2,"time_ns":5,"bdf":"00:10.0","endpoint":128,"name":"nvme0","origin":"device","domain":1,"shared_domain":false,"identity":false,"iova":"0x10031004","len":8,"fault_iova":"0x10031004","access":"read","reason":"descriptor","detail":"00:10.0 nvme0: device read 8 B at IOVA 0x10031004: descriptor (PRP list pointer not qword aligned)","rule":"PRP list pointer not qword aligned"}'
	echo '{"type":"summary","violations":2,"recorded":2}'
} >"$tmp/good.json"
is 11 "$(grep -c . "$tmp/good.json")" "a report with one line of each type (docs/viommu.md's violation example, an NVMe descriptor violation)"
"$validate" "$schema" "$tmp/good.json" >"$tmp/out" 2>&1
is 0 "$?" "it validates against the schema (2020-12; the schema itself checked)"
diag_file "$tmp/out"
printf '%s\n' '{"type":"vm","report_schema":1,"vmm_version":"0.1.0","name":null,"uuid":null}' >"$tmp/min.json"
"$validate" "$schema" "$tmp/min.json" >"$tmp/out" 2>&1
is 0 "$?" "a --no-iommu run's report (the vm line alone, no --name/--uuid) validates"

# bad CASE LINE... -- WANT: the validator exits 1 and says WANT
bad() {
	_case=$1 _want=$2
	shift 2
	printf '%s\n' "$@" >"$tmp/bad.json"
	"$validate" "$schema" "$tmp/bad.json" >"$tmp/out" 2>&1
	is 1 "$?" "$_case: refused"
	ok 'grep -qF -- "$_want" "$tmp/out"' "$_case: says '$_want'"
	diag_file "$tmp/out"
}
bad "an unknown field" "'extra' was unexpected" "$vm" '{"type":"summary","violations":0,"recorded":0,"extra":1}'
bad "a missing field" "'refused' is a required property" "$vm" \
	'{"type":"endpoint","bdf":"00:02.0","name":"virtio-blk","attaches":1,"detaches":0,"maps":10,"map_bytes":40960,"unmaps":10,"unmap_bytes":40960,"translations":20}'
bad "another schema version" "report_schema: 1 was expected" \
	'{"type":"vm","report_schema":2,"vmm_version":"0.1.0","name":null,"uuid":null}'
bad "an unknown line type" "unknown line type 'frobs'" "$vm" '{"type":"frobs"}'
bad "an unknown violation class" "reason: 'sideways' is not one of" "$vm" \
	"$(grep '^{"type":"violation"' "$top_srcdir/docs/viommu.md" | head -n1 | sed 's/"reason":"[a-z-]*"/"reason":"sideways"/')"
bad "a negative count" "maps: -1 is less than the minimum of 0" "$vm" \
	'{"type":"endpoint","bdf":"00:02.0","name":"virtio-blk","attaches":1,"detaches":0,"maps":-1,"map_bytes":40960,"unmaps":10,"unmap_bytes":40960,"translations":20,"refused":0,"drain_waits":0,"drain_wait_ns":0}'
bad "no vm line first" 'the first line is not the "vm" line' '{"type":"summary","violations":0,"recorded":0}'
bad "not JSON" "not JSON" "$vm" '{"type":'
