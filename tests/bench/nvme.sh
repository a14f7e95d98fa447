#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Benchmark (make bench-nvme; not part of make check): NVMe under Linux's
# own nvme driver, guest-visible rates and what they cost the host, for
#   vmm-strict    vmm --nvme, iommu.strict=1
#   vmm-lazy      vmm --nvme, lazy invalidation (DMA-FQ, Linux's default)
#   vmm-noiommu   vmm --nvme --no-iommu
#   qemu-strict   QEMU's -device nvme behind virtio-iommu-pci, strict
#   qemu-lazy     the same, lazy
#   qemu-noiommu  QEMU's -device nvme without an IOMMU
# (QEMU: Debian 12's 7.2, tests/peer-qemu.sh, its nvme defaults) in one
# test-host boot (or directly where KVM runs Linux), RUNS rounds of all
# six in turn so that the test host's drift hits them alike; 2 vCPUs (two
# I/O queues each), 512 MiB, a MIB MiB raw image in L1's page cache.  In
# each VM the guest's blkbench (guest/blkbench.c) runs SECS s per phase:
# sequential 1 MiB O_DIRECT reads and writes at QD 4 and 4 KiB random
# reads at QD 1 and QD 16.  Per configuration: medians over the rounds
# with their min-max of the rates, the VMM process's CPU time per GiB (or
# per I/O), KVM's VM exits per GiB (or per I/O: L1's debugfs counters of
# that VM, the same source for both VMMs) and the IOMMU MAP/UNMAP requests
# per GiB (vmm: its report's nvme0 endpoint; QEMU: its virtio_iommu_map/
# unmap trace events, log backend), method in tests/bench/blk-lib.sh.
# The table goes to stdout, the numbers to --out FILE (default
# bench-nvme.tsv: "config metric median min max n"; FILE.raw: each run).
# -c "CONFIGS" runs only those (e.g. -c "vmm-lazy vmm-noiommu"), -p PHASES
# only those blkbench phases (comma-separated, e.g. -p seqread,seqwrite);
# -b VMM: another vmm binary (say, a build before a change), configurations
# vmmb-strict, vmmb-lazy, vmmb-noiommu (with -c).
#   tests/bench/nvme.sh [-n RUNS] [-s SECS] [-m MIB] [-c CONFIGS] [-p PHASES] [-b VMM] [--out FILE] [--log FILE]
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
. "$top_srcdir/tests/integration/run-vmm.sh"
. "$top_srcdir/tests/bench/blk-lib.sh"

runs=3 secs=3 mib=64 out=bench-nvme.tsv log="" phases=all vmmb=/nonexistent
configs="vmm-strict vmm-lazy vmm-noiommu qemu-strict qemu-lazy qemu-noiommu"
while [ $# -gt 0 ]; do
	case $1 in
	-n) runs=$2; shift ;;
	-s) secs=$2; shift ;;
	-m) mib=$2; shift ;;
	-c) configs=$2; shift ;;
	-p) phases=$2; shift ;;
	-b) vmmb=$(realpath "$2") || exit 2; shift ;;
	--out) out=$2; shift ;;
	--log) log=$2; shift ;;
	*)
		echo "usage: tests/bench/nvme.sh [-n RUNS] [-s SECS] [-m MIB] [-c CONFIGS] [-p PHASES] [-b VMM] [--out FILE] [--log FILE]" >&2
		exit 2
		;;
	esac
	shift
done
vmm_setup || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-nvme.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
lib=$top_srcdir/tests/bench/blk-lib.sh
n=$(echo "$configs" | wc -w)

cat >"$tmp/run.sh" <<'SCRIPT'
lib=$1 BENCH_VMM_B=$2
shift 2
. "$lib"
vmm_disk() { echo "--nvme $1,serial=bench"; }
qemu_disk() { echo "-drive file=$1,if=none,id=n0,format=raw,cache=unsafe -device nvme,serial=bench,drive=n0"; }
bench_l1 "$@"
SCRIPT

start=$(date +%s)
# shellcheck disable=SC2086 # configs: a list
[ -f "$vmmb" ] && set -- --put "$vmmb"
run_vmm_script --qemu --timeout $((runs * n * (4 * secs + 120) + 300)) --put "$lib" "$@" \
	"$tmp/run.sh" "$lib" "$vmmb" "$runs" "$secs" "$phases" "$mib" "$tmp/l1" nvme0n1 nvme0 $configs >"$tmp/log" 2>&1
rc=$?
[ -z "$log" ] || cp "$tmp/log" "$log"
echo "bench-nvme: $runs rounds of $n configurations, $secs s per phase, $mib MiB image, 2 vCPUs ($VMM_MODE), $(($(date +%s) - start)) s, status $rc"
: >"$out"
: >"$out.raw"
bench_summary "$tmp/log" "$configs" "$out.raw" "$out"
echo "bench-nvme: numbers in $out (medians) and $out.raw (each run)"
exit "$rc"
