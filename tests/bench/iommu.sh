#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Benchmark (make bench-iommu; not part of make check): virtio-blk through
# the virtio-iommu, guest-visible rates and what they cost the host, for
#   vmm-strict    vmm --disk, iommu.strict=1
#   vmm-lazy      vmm --disk, lazy invalidation (DMA-FQ, Linux's default)
#   vmm-noiommu   vmm --disk --no-iommu
#   qemu-strict   QEMU's virtio-blk-pci (iommu_platform=on, modern) behind
#                 virtio-iommu-pci, strict
#   qemu-lazy     the same, lazy
#   qemu-noiommu  QEMU's virtio-blk-pci without an IOMMU
# (QEMU: Debian 12's 7.2, tests/peer-qemu.sh) in one test-host boot (or
# directly where KVM runs Linux), each with 1 and 2 vCPUs (configuration
# names end in .CPUS), RUNS rounds of all of them in turn so that the test
# host's drift hits them alike; 512 MiB, a MIB MiB raw image in L1's page
# cache.  The method is make bench-nvme's (tests/bench/blk-lib.sh): the
# guest's blkbench runs SECS s per phase (sequential 1 MiB O_DIRECT reads
# and writes at QD 4, 4 KiB random reads at QD 1 and 16); per
# configuration the medians over the rounds with their min-max of the
# rates, the VMM process's CPU time per GiB (per I/O), KVM's VM exits per
# GiB (per I/O) and the IOMMU MAP/UNMAP requests per GiB.  One table per
# vCPU count on stdout; the numbers in --out FILE (default
# bench-iommu.tsv: "config metric median min max n"; FILE.raw: each run).
# -v "CONFIGS" runs only those (without .CPUS, e.g. -v "vmm-lazy
# vmm-noiommu"), -p PHASES only those blkbench phases (comma-separated);
# -b VMM: another vmm binary, configurations vmmb-MODE (with -v).
#   tests/bench/iommu.sh [-n RUNS] [-s SECS] [-m MIB] [-c "CPUS..."] [-v CONFIGS] [-p PHASES] [-b VMM] [--out FILE] [--log FILE]
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
. "$top_srcdir/tests/integration/run-vmm.sh"
. "$top_srcdir/tests/bench/blk-lib.sh"

runs=3 secs=2 mib=64 cpus="1 2" out=bench-iommu.tsv log="" phases=all vmmb=/nonexistent
vmms="vmm-strict vmm-lazy vmm-noiommu qemu-strict qemu-lazy qemu-noiommu"
while [ $# -gt 0 ]; do
	case $1 in
	-n) runs=$2; shift ;;
	-s) secs=$2; shift ;;
	-m) mib=$2; shift ;;
	-c) cpus=$2; shift ;;
	-v) vmms=$2; shift ;;
	-p) phases=$2; shift ;;
	-b) vmmb=$(realpath "$2") || exit 2; shift ;;
	--out) out=$2; shift ;;
	--log) log=$2; shift ;;
	*)
		echo "usage: tests/bench/iommu.sh [-n RUNS] [-s SECS] [-m MIB] [-c \"CPUS...\"] [-v CONFIGS] [-p PHASES] [-b VMM] [--out FILE] [--log FILE]" >&2
		exit 2
		;;
	esac
	shift
done
vmm_setup || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-iommu.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
lib=$top_srcdir/tests/bench/blk-lib.sh
configs=
for c in $cpus; do
	for v in $vmms; do
		configs="$configs $v.$c"
	done
done

cat >"$tmp/run.sh" <<'SCRIPT'
lib=$1 BENCH_VMM_B=$2
shift 2
. "$lib"
vmm_disk() { echo "--disk $1"; }
qemu_disk() { # IMAGE MODE: modern virtio-blk, behind the IOMMU unless noiommu
	plat=,iommu_platform=on
	[ "$2" = noiommu ] && plat=
	echo "-drive file=$1,if=none,id=d0,format=raw,cache=unsafe -device virtio-blk-pci,drive=d0$plat,disable-legacy=on"
}
bench_l1 "$@"
SCRIPT

start=$(date +%s)
n=$(echo "$configs" | wc -w)
# shellcheck disable=SC2086 # configs: a list
[ -f "$vmmb" ] && set -- --put "$vmmb"
run_vmm_script --qemu --timeout $((runs * n * (4 * secs + 120) + 300)) --put "$lib" "$@" \
	"$tmp/run.sh" "$lib" "$vmmb" "$runs" "$secs" "$phases" "$mib" "$tmp/l1" vda virtio-blk $configs >"$tmp/log" 2>&1
rc=$?
[ -z "$log" ] || cp "$tmp/log" "$log"
echo "bench-iommu: $runs rounds of $n configurations, $secs s per phase, $mib MiB image ($VMM_MODE), $(($(date +%s) - start)) s, status $rc"
: >"$out"
: >"$out.raw"
for c in $cpus; do
	echo "--- $c vCPU(s)"
	bench_summary "$tmp/log" "$(echo $configs | tr ' ' '\n' | grep "\.$c\$" | tr '\n' ' ')" "$out.raw" "$out"
done
echo "bench-iommu: numbers in $out (medians) and $out.raw (each run)"
exit "$rc"
