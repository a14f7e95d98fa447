#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The block benchmarks' method (tests/bench/blk-lib.sh) without a VM: the
# counters word of a sample from a fake tracefs (kvm_exit and kvm_msr
# histograms in the kernel's format), the guest command line with phases,
# and bench_summary on a recorded log of two rounds: per-GiB and per-I/O
# values, medians with min-max, the exits by reason, KVM statistics and
# MSRs, the CPU time outside guest mode, the IOMMU requests and drain waits.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/bench/blk-lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-lib.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
plan 18

# --- the counters of one sample
mkdir -p "$tmp/tr/events/kvm/kvm_exit" "$tmp/tr/events/kvm/kvm_msr"
cat >"$tmp/tr/events/kvm/kvm_exit/hist" <<'EOF'
# event histogram
#
# trigger info: hist:keys=exit_reason:vals=hitcount:sort=hitcount:size=256 [active]
#

{ exit_reason:         96 } hitcount:         12
{ exit_reason:        124 } hitcount:        345
{ exit_reason:       1024 } hitcount:       6789
{ exit_reason:        999 } hitcount:          1

Totals:
    Hits: 7147
    Entries: 4
    Dropped: 0
EOF
cat >"$tmp/tr/events/kvm/kvm_msr/hist" <<'EOF'
# event histogram
#
{ ecx:       2096, write:          1 } hitcount:        100
{ ecx:         16, write:          0 } hitcount:          5
EOF
_bench_tracing=$tmp/tr _bench_isa=svm
word=$(_bench_counters $$)
diag "counters: $word"
ok 'case $word in *" "*) false ;; esac' "the counters are one word"
ok 'echo ",$word," | grep -q ",exit.npf=6789,"' "SVM exit code 0x400: npf"
ok 'echo ",$word," | grep -q ",exit.msr=345," && echo ",$word," | grep -q ",exit.intr=12,"' \
	"SVM exit codes 0x7c and 0x60: msr, intr"
ok 'echo ",$word," | grep -q ",exit.svm_0x3e7=1,"' "an exit code without a name: svm_0xN"
ok 'echo ",$word," | grep -q ",msr.w.0x830=100," && echo ",$word," | grep -q ",msr.r.0x10=5,"' \
	"MSR accesses by number and direction"
ok 'echo ",$word," | grep -q ",guest_ticks=[0-9]*,"' "the process's guest time"
_bench_tracing=$tmp/none
is "guest_ticks=$(sed 's/.*) //' /proc/$$/stat | awk '{ print $41 }')" "$(_bench_counters $$)" \
	"without tracefs and debugfs: the guest time only"
is "-" "$(_bench_counters 999999999)" "a process that is gone: -"

# --- the guest command line
is "console=ttyS0 panic=-1 quiet vmmguest.suites=bench vmmtest.bench_dev=nvme0n1 vmmtest.bench_secs=3 vmmtest.bench_phases=seqread,seqwrite iommu.strict=1" \
	"$(bench_cmdline nvme0n1 strict 3 seqread,seqwrite)" "phases and strict on the guest's command line"
ok '! bench_cmdline vda lazy 2 all | grep -q "bench_phases\|iommu.strict"' "all phases, lazy: neither"

# --- the summary of a recorded log: two rounds of vmm-lazy, one of vmm-noiommu
{
	for r in 1 2; do
		echo "BENCH-BEGIN vmm-lazy $r"
		echo "BENCH-SAMPLE 100 1000 kvm.mmio_exits=10,guest_ticks=50,exit.npf=300,msr.w.0x830=0 begin seqread"
		echo "BENCH-MARK begin seqread"
		echo "BENCH-SAMPLE $((100 + 300 * r)) $((1000 + 4000 * r)) kvm.mmio_exits=$((10 + 100 * r)),guest_ticks=$((50 + 100 * r)),exit.npf=$((300 + 1000 * r)),msr.w.0x830=40 end seqread bytes=1073741824 ios=1024 usec=10000000"
		echo "BENCH-SAMPLE 500 6000 - begin randread1"
		echo "BENCH-SAMPLE 510 6500 kvm.mmio_exits=300 end randread1 bytes=4096000 ios=1000 usec=1000000"
		echo "BENCH-RC 0"
		echo "BENCH-IOMMU maps=$((1000 * r)) unmaps=200 drain_waits=7 drain_wait_ns=1000000"
		echo "BENCH-END vmm-lazy $r"
	done
	echo "BENCH-BEGIN vmm-noiommu 1"
	echo "BENCH-SAMPLE 100 1000 kvm.mmio_exits=10,guest_ticks=50,exit.npf=300 begin seqread"
	echo "BENCH-SAMPLE 200 2000 kvm.mmio_exits=11,guest_ticks=100,exit.npf=800 end seqread bytes=2147483648 ios=2048 usec=10000000"
	echo "BENCH-RC 0"
	echo "BENCH-END vmm-noiommu 1"
} >"$tmp/log"
bench_summary "$tmp/log" "vmm-lazy vmm-noiommu" "$tmp/raw" "$tmp/sum" >"$tmp/table"
ok '[ $? = 0 ]' "bench_summary runs"
diag_file "$tmp/table"
hz=$(getconf CLK_TCK)
metric() { awk -v c="$1" -v m="$2" -F '\t' '$1 == c && $2 == m { print $3 " " $4 " " $5 " " $6 }' "$tmp/sum"; }
is "102.4 102.4 102.4 2|204.8 204.8 204.8 1" \
	"$(metric vmm-lazy seqread_mibs)|$(metric vmm-noiommu seqread_mibs)" "MiB/s as the guest timed them"
is "6000 4000 8000 2|500 500 500 1" \
	"$(metric vmm-lazy seqread_exits_per_gib)|$(metric vmm-noiommu seqread_exits_per_gib)" \
	"VM exits per GiB: median, min, max, rounds"
is "1500 1000 2000 2|250 250 250 1|40 40 40 2" \
	"$(metric vmm-lazy seqread_exit.npf_per_gib)|$(metric vmm-noiommu seqread_exit.npf_per_gib)|$(metric vmm-lazy seqread_msr.w.0x830_per_gib)" \
	"exits by reason and MSR writes per GiB, each from its own begin and end"
expect=$(awk -v hz="$hz" 'BEGIN { print (200 + 400) / 2 / hz, 100 / hz, 200 / hz }')
is "$expect" "$(metric vmm-lazy seqread_host_cpu_s_per_gib | cut -d' ' -f1)$(awk -F '\t' '$1 == "vmm-lazy" && $3 == "seqread_guest_cpu_s_per_gib" { printf " %s", $4 }' "$tmp/raw")" \
	"CPU s per GiB outside guest mode (median), inside it (each round)"
ok '[ -z "$(metric vmm-lazy randread1_kvm.mmio_exits_per_io)" ] && [ "$(metric vmm-lazy randread1_exits_per_io)" = "0.5 0.5 0.5 2" ]' \
	"per I/O; no breakdown without the begin sample's counters"
expect=$(awk 'BEGIN { g = (1073741824 + 4096000) / 1073741824
	print 1500 / g, 1000 / g, 2000 / g, 2 "|" 7 / g, 7 / g, 7 / g, 2 "|" 1 / g, 1 / g, 1 / g, 2 }')
is "$expect" \
	"$(metric vmm-lazy iommu_maps_per_gib)|$(metric vmm-lazy iommu_drain_waits_per_gib)|$(metric vmm-lazy iommu_drain_wait_ms_per_gib)" \
	"IOMMU MAPs, drain waits and their ms per GiB of all phases"

# --- a second vmm binary (vmmb-*) has its own goal line
sed 's/vmm-/vmmb-/' "$tmp/log" >"$tmp/log-b"
bench_summary "$tmp/log-b" "vmmb-lazy vmmb-noiommu" /dev/null /dev/null >"$tmp/table-b"
ok 'grep -q "^vmmb-lazy / vmmb-noiommu (goal >= 0.9): seq read 0.50x" "$tmp/table-b"' \
	"vmmb-lazy against vmmb-noiommu"
