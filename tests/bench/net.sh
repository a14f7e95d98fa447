#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Benchmark (make bench-net; not part of make check): guest<->host TCP
# throughput over virtio-net on a TAP (busybox nc, the guest suite "net",
# the host end tests/integration/net-host.sh) for
#   vmm-strict   vmm, iommu.strict=1
#   vmm-lazy     vmm, lazy invalidation (DMA-FQ)
#   vmm-noiommu  vmm --no-iommu
#   qemu-strict  QEMU's virtio-net-pci (vhost off) behind virtio-iommu-pci
#   qemu-lazy    the same, lazy
# in one test-host boot (or directly where KVM runs Linux, in a network
# namespace of its own), RUNS rounds of all five in turn (so that the test
# host's drift hits them alike), 1 vCPU, 1 queue pair, MTU 1500.  Reports
# per configuration and direction the median and the range over the
# rounds of: the guest-visible MiB/s, and the host CPU time the VMM process
# spent per GiB moved (utime + stime from /proc/PID/stat, sampled every
# 0.25 s; only the samples where that direction's bytes moved through the
# TAP count), which depends much less on the test host's noise; for vmm
# also the IOMMU MAP requests per MiB moved (whole run, boot included).
#   tests/bench/net.sh [-n RUNS] [-m MIB] [--raw FILE]
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
. "$top_srcdir/tests/integration/run-vmm.sh"

runs=3 mib=16 raw=
while [ $# -gt 0 ]; do
	case $1 in
	-n) runs=$2; shift ;;
	-m) mib=$2; shift ;;
	--raw) raw=$2; shift ;;
	*) echo "usage: tests/bench/net.sh [-n RUNS] [-m MIB] [--raw FILE]" >&2; exit 2 ;;
	esac
	shift
done
vmm_setup || exit 1
net_lib=$top_srcdir/tests/integration/net-host.sh
net_tapctl=$top_builddir/tests/integration/net-tap
[ -x "$net_tapctl" ] || { echo "bench-net: $net_tapctl not built (make)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-net.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/run.sh" <<'SCRIPT'
lib=$1 NET_TAPCTL=$2 mib=$3 runs=$4 tmp=$5
. "$lib"
net_enter_netns "$0" "$@"
mkdir -p "$tmp"
NET_SAMPLE=1
NET_REPORT=$tmp/report.json
base="console=ttyS0 panic=-1 quiet vmmguest.suites=net"
mode_opts() { # strict|lazy|noiommu
	case $1 in
	strict) echo "iommu.strict=1" ;;
	*) echo "" ;;
	esac
}
vmm_vm() { # MODE
	iommu=
	[ "$1" = noiommu ] && iommu=--no-iommu
	exec "$VMM" run --timeout 890 --cpus 1 --mem 512M $iommu \
		--net "tap=$NET_TAP,mac=$NET_MAC" --report "$NET_REPORT" \
		--cmdline "$base $(mode_opts "$1") $NET_CMDLINE"
}
qemu_vm() { # MODE
	net_qemu_vm 1 1 1500 "$base $(mode_opts "$1") $NET_CMDLINE"
}
i=0
while [ "$i" -lt "$runs" ]; do
	i=$((i + 1))
	for cfg in vmm-strict vmm-lazy vmm-noiommu qemu-strict qemu-lazy; do
		net_run "$cfg $i" "$mib" 1500 1 900 -- "${cfg%%-*}_vm" "${cfg#*-}"
	done
done
SCRIPT

start=$(date +%s)
run_vmm_script --qemu --timeout $((runs * 5 * 900 + 300)) --put "$net_lib" --put "$net_tapctl" \
	"$tmp/run.sh" "$net_lib" "$net_tapctl" "$mib" "$runs" "$tmp/l1" >"$tmp/log" 2>&1
rc=$?
[ -z "$raw" ] || cp "$tmp/log" "$raw"
echo "bench-net: $runs rounds of 5 configurations, $mib MiB each way per run ($VMM_MODE), $(($(date +%s) - start)) s, status $rc"
tr -d '\r' <"$tmp/log" | awk -v mib="$mib" -v hz="$(getconf CLK_TCK)" '
	function med(list,    n, a, i, j, t) {
		n = split(list, a, " ")
		if (n == 0) return "-"
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return sprintf("%.2f (%.2f-%.2f)", n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2, a[1], a[n])
	}
	/^NET-TEST-BEGIN / { cfg = $2; have = 0; g2h_cpu = g2h_b = h2g_cpu = h2g_b = 0; maps = ""; next }
	/fact: g2h_mbps_q0=/ { split($0, a, "="); g2h[cfg] = g2h[cfg] " " a[2] }
	/fact: h2g_mbps_q0=/ { split($0, a, "="); h2g[cfg] = h2g[cfg] " " a[2] }
	/^NET-SAMPLE / {
		# uptime cpu-ticks tap-rx (from the guest) tap-tx (to the guest)
		if (have) {
			dcpu = $3 - pcpu; drx = $4 - prx; dtx = $5 - ptx
			if (drx > 65536 && drx > dtx) { g2h_cpu += dcpu; g2h_b += drx }
			else if (dtx > 65536 && dtx > drx) { h2g_cpu += dcpu; h2g_b += dtx }
		}
		have = 1; pcpu = $3; prx = $4; ptx = $5
	}
	/^NET-REPORT \{"type":"endpoint",.*"name":"virtio-net"/ {
		m = $0; sub(/.*"maps":/, "", m); sub(/[^0-9].*/, "", m); maps = m
	}
	/^NET-HOST rc=/ { rc[cfg] = rc[cfg] " " substr($2, 4) }
	/^NET-TEST-END / {
		if (g2h_b > 0) g2hc[cfg] = g2hc[cfg] " " (g2h_cpu / hz) / (g2h_b / 1073741824)
		if (h2g_b > 0) h2gc[cfg] = h2gc[cfg] " " (h2g_cpu / hz) / (h2g_b / 1073741824)
		if (maps != "") mpm[cfg] = mpm[cfg] " " maps / (2 * mib)
	}
	END {
		printf "median (min-max) over the rounds; MiB/s guest-visible; CPU = VMM utime+stime s per GiB\n"
		printf "%-12s %-22s %-22s %-22s %-22s %s\n", "config", "guest->host MiB/s", "host->guest MiB/s",
			"CPU s/GiB g->h", "CPU s/GiB h->g", "MAPs/MiB"
		n = split("vmm-strict vmm-lazy vmm-noiommu qemu-strict qemu-lazy", k, " ")
		for (i = 1; i <= n; i++)
			printf "%-12s %-22s %-22s %-22s %-22s %s   exit:%s\n", k[i], med(g2h[k[i]]), med(h2g[k[i]]),
				med(g2hc[k[i]]), med(h2gc[k[i]]), med(mpm[k[i]]), rc[k[i]]
	}'
exit "$rc"
