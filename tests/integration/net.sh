#!/bin/sh
# SPDX-License-Identifier: MIT
#
# vmm's virtio-net on a TAP, behind the virtio-iommu: the default guest's
# suite "net" (guest/suites/net: MAC, MTU, link, ping both ways, nc
# transfers both ways checked by sha256, per-queue traffic) against the
# host end tests/integration/net-host.sh, in one test-host boot (or
# directly where this host's KVM runs Linux, inside a network namespace of
# its own).  Runs:
#   strict-mq     iommu.strict=1, 2 vCPUs, queues=2, MTU 1500: one flow per
#                 queue pair, both directions
#   lazy-jumbo    lazy (DMA-FQ) invalidation, 1 vCPU, MTU 9000
#   untrusted     --untrusted (the endpoint below an external-facing root
#                 port: strict, sub-page buffers bounced through the
#                 guest's swiotlb), 1 vCPU, MTU 1500
# In every run: the correct virtio_net driver makes zero DMA-API
# violations, its DMA went through the IOMMU (maps and unmaps in the
# report), the guest's TSO is on, and the report's net counters agree with
# the traffic: every byte the guest sent reached the TAP (the report's TX
# bytes are the TAP's RX bytes), each direction carried at least the
# payload, and with two queue pairs both carried traffic both ways.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/integration/run-vmm.sh"
. "$top_srcdir/tests/integration/report-checks.sh"
. "$top_srcdir/tests/integration/net-checks.sh"

vmm_setup
plan_lazy

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-net.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
net_test_inputs 8

cat >"$tmp/run.sh" <<'SCRIPT'
# Runs where vmm runs (directly, or in the test host's L1), in a network
# namespace of its own.  Each run has its own --timeout; a guest crash or
# timeout is a failure, never retried (docs/guest-and-testhost.md).
lib=$1 NET_TAPCTL=$2 mib=$3 tmp=$4
. "$lib"
net_enter_netns "$0" "$@"
mkdir -p "$tmp"
# The VM (net_run sets NET_CMDLINE); exec: net_run watches vmm's pid.
vmm_vm() { # CPUS QUEUES MTU MODE
	case $4 in
	strict) args= opts="iommu.strict=1 vmmtest.iommu_type=DMA" ;;
	lazy) args= opts="vmmtest.iommu_type=DMA-FQ" ;;
	untrusted) args=--untrusted opts="swiotlb=force vmmtest.iommu_type=DMA" ;;
	esac
	exec "$VMM" run --timeout 290 --cpus "$1" --mem 512M $args \
		--net "tap=$NET_TAP,mac=$NET_MAC,queues=$2,mtu=$3" --report "$NET_REPORT" \
		--cmdline "console=ttyS0 panic=-1 quiet $opts vmmguest.suites=iommu,net vmmtest.net_tso=on $NET_CMDLINE"
}
NET_REPORT=$tmp/report.json
net_run strict-mq "$mib" 1500 2 300 -- vmm_vm 2 2 1500 strict
net_run lazy-jumbo "$mib" 9000 1 300 -- vmm_vm 1 1 9000 lazy
net_run untrusted "$mib" 1500 1 300 -- vmm_vm 1 1 1500 untrusted
SCRIPT

start=$(date +%s)
# Timeouts: with 8 MiB per flow the three runs take ~130 s in the test
# host (~20 s of each is the guest's boot; a flow moves 0.5-5 MiB/s); each
# vmm run is stopped after 290 s.
run_vmm_script --timeout 1200 --put "$net_lib" --put "$net_tapctl" \
	"$tmp/run.sh" "$net_lib" "$net_tapctl" "$NET_MIB" "$tmp/l1" >"$tmp/all.log" 2>&1
rc=$?
diag "vmm runs ($VMM_MODE) took $(($(date +%s) - start)) s, status $rc"
is 0 "$rc" "the run script completed"
net_isolation_checks "$tmp/all.log"

# report_sum FILE TYPE FIELD: the sum of FIELD over FILE's lines of TYPE.
report_sum() {
	grep "^{\"type\":\"$2\"," "$1" | sed -n "s/.*\"$3\":\([0-9]*\).*/\1/p" |
		awk '{ s += $1 } END { print s + 0 }'
}
for run in strict-mq:2:1500 lazy-jumbo:1:9000 untrusted:1:1500; do
	label=${run%%:*} queues=${run#*:}
	mtu=${queues#*:} queues=${queues%%:*}
	log=$tmp/$label.log
	net_block "$tmp/all.log" "$label" >"$log"
	sed -n 's/^NET-REPORT //p' "$log" >"$tmp/$label.json"
	diag "--- $label: console and report ($(net_host "$log" seconds) s) ---"
	diag_file "$log"
	is 0 "$(net_host "$log" rc)" "$label: vmm exits 0 (guest powered off)"
	guest_tap "$log" iommu
	net_run_checks "$label" "$log" "$queues"

	# The DMA sanitizer's verdict on the correct driver.
	is 0 "$(sed -n 's/^{"type":"summary","violations":\([0-9]*\),.*/\1/p' "$tmp/$label.json")" \
		"$label: report: zero DMA-API violations"
	ok 'grep -q "^vmm: DMA-API violations: 0$" "$log"' "$label: stderr summary: 0 DMA-API violations"
	ep=$(grep '^{"type":"endpoint",.*"name":"virtio-net"' "$tmp/$label.json")
	maps=$(printf '%s' "$ep" | sed -n 's/.*"maps":\([0-9]*\).*/\1/p')
	unmaps=$(printf '%s' "$ep" | sed -n 's/.*"unmaps":\([0-9]*\).*/\1/p')
	ok '[ "${maps:-0}" -gt 100 ] && [ "${unmaps:-0}" -gt 100 ]' \
		"$label: the virtio-net endpoint's DMA went through the IOMMU ($maps maps, $unmaps unmaps)"
	bounce_clean "$label" "$tmp/$label.json"
	report_valid "$label" "$tmp/$label.json"

	# The device as configured, and its counters against the traffic.
	net=$(grep '^{"type":"net",' "$tmp/$label.json")
	ok 'printf "%s" "$net" | grep -q "\"mac\":\"52:54:00:12:34:56\",\"mtu\":$mtu,\"queue_pairs\":$queues,\"queue_pairs_used\":$queues,"' \
		"$label: report: the device had the MAC, MTU $mtu and $queues queue pair(s), all used ($net)"
	tx=$(report_sum "$tmp/$label.json" net_queue tx_bytes)
	rx=$(report_sum "$tmp/$label.json" net_queue rx_bytes)
	drops=$(($(report_sum "$tmp/$label.json" net_queue tx_drops) + $(report_sum "$tmp/$label.json" net_queue rx_drops)))
	tap=$(net_host "$log" tap_counters) # rx_bytes,rx_packets,tx_bytes,tx_packets (host view)
	tap_rx=$(echo "$tap" | cut -d, -f1) tap_tx=$(echo "$tap" | cut -d, -f3)
	payload=$((NET_MIB * 1048576 * queues))
	is 0 "$drops" "$label: report: no frame dropped either way"
	is "$tap_rx" "$tx" "$label: report's TX bytes = what the TAP received from the guest"
	ok '[ "$tx" -ge "$payload" ] && [ "$rx" -ge "$payload" ]' \
		"$label: report: each direction carried at least the $((payload / 1048576)) MiB payload (TX $tx, RX $rx bytes)"
	ok '[ "$rx" -le "${tap_tx:-0}" ] && [ "$((tap_tx - rx))" -le 65536 ]' \
		"$label: report's RX bytes ($rx) = what the TAP sent to the guest ($tap_tx), but for frames the TAP had queued at exit (<= 64 KiB)"
	if [ "$queues" -gt 1 ]; then
		q=0
		while [ $q -lt "$queues" ]; do
			line=$(grep "^{\"type\":\"net_queue\",.*\"queue_pair\":$q," "$tmp/$label.json")
			qtx=$(printf '%s' "$line" | sed -n 's/.*"tx_bytes":\([0-9]*\).*/\1/p')
			qrx=$(printf '%s' "$line" | sed -n 's/.*"rx_bytes":\([0-9]*\).*/\1/p')
			ok '[ "${qtx:-0}" -ge 1048576 ] && [ "${qrx:-0}" -ge 1048576 ]' \
				"$label: report: queue pair $q carried traffic both ways (TX $qtx, RX $qrx bytes; >= 1 MiB)"
			q=$((q + 1))
		done
	fi
done
