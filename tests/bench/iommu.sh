#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Benchmark (make bench-iommu; not part of make check): guest-visible MiB/s
# of a sequential O_DIRECT read/write of a virtio-blk disk through the
# virtio-iommu, strict (iommu.strict=1) and lazy, and without an IOMMU (the
# baseline), under vmm and under QEMU's virtio-iommu-pci, in one test-host
# boot (or directly where KVM runs Linux), so both VMMs see the same L1,
# kernel and guest.  Each rate is also given as a ratio to the same VMM's
# rate without an IOMMU in the same round; for vmm, the disk's endpoint
# line says how many requests removing translations had to wait for its
# DMA in flight (drain waits), and for how long.
#   tests/bench/iommu.sh [-n RUNS] [-m MIB]
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
. "$top_srcdir/tests/integration/run-vmm.sh"

runs=1 mib=64
while [ $# -gt 0 ]; do
	case $1 in
	-n) runs=$2; shift ;;
	-m) mib=$2; shift ;;
	*) echo "usage: bench-iommu.sh [-n RUNS] [-m MIB]" >&2; exit 2 ;;
	esac
	shift
done
vmm_setup || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-iommu.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
img=$tmp/disk.img
dd if=/dev/urandom of="$img" bs=1M count="$mib" 2>/dev/null

cat >"$tmp/run.sh" <<'SCRIPT'
img=$1 runs=$2
i=0
while [ "$i" -lt "$runs" ]; do
	i=$((i + 1))
	for mode in none strict lazy; do
		opts="console=ttyS0 panic=-1 quiet vmmguest.suites=blk"
		[ "$mode" = strict ] && opts="$opts iommu.strict=1"
		noiommu= qiommu="-device virtio-iommu-pci" plat=",iommu_platform=on"
		[ "$mode" = none ] && noiommu=--no-iommu qiommu= plat=
		echo "BENCH-BEGIN vmm $mode $i"
		"$VMM" run --cpus 2 --mem 512M $noiommu --disk "$img" --cmdline "$opts" 2>&1 |
			grep -E "fact: (read|write|read2)_mbps|iommu: .*virtio-blk"
		echo "BENCH-END"
		echo "BENCH-BEGIN qemu $mode $i"
		"$QEMU" -accel kvm -M q35 -cpu host -m 512 -smp 2 -display none -nodefaults -no-reboot \
			-serial stdio -kernel "$VMM_GUEST_OUT/bzImage" -initrd "$VMM_GUEST_OUT/initramfs.cpio" \
			$qiommu -device virtio-rng-pci$plat,disable-legacy=on \
			-drive file="$img",if=none,id=d0,format=raw,cache=unsafe \
			-device virtio-blk-pci,drive=d0$plat,disable-legacy=on \
			-append "$opts" 2>&1 | grep -E "fact: (read|write|read2)_mbps"
		echo "BENCH-END"
	done
done
SCRIPT

run_vmm_script --qemu --timeout 3600 --put "$img" "$tmp/run.sh" "$img" "$runs" >"$tmp/log" 2>&1
tr -d '\r' <"$tmp/log" | awk -v mib="$mib" '
	/^BENCH-BEGIN/ { key = $2 " " $3; round = $4; next }
	/fact: read_mbps=/ { split($0, a, "="); r[key] = r[key] " " a[2]; rr[key, round] = a[2] }
	/fact: write_mbps=/ { split($0, a, "="); w[key] = w[key] " " a[2]; ww[key, round] = a[2] }
	/iommu: .*virtio-blk/ {
		sub(/.*unmap /, "")
		d[key] = d[key] " [unmap " $0 "]"
	}
	END {
		printf "guest-visible MiB/s, %d MiB sequential O_DIRECT, 1 MiB blocks (per run);\n", mib
		printf "(x/none: the ratio to the same VMM without an IOMMU in the same round)\n"
		n = split("vmm none|qemu none|vmm strict|qemu strict|vmm lazy|qemu lazy", k, "|")
		for (i = 1; i <= n; i++) {
			split(k[i], kv, " ")
			base = kv[1] " none"
			rs = ws = ""
			for (j = 1; (k[i], j) in rr; j++) {
				if (rr[base, j] > 0) rs = rs sprintf(" %.2f", rr[k[i], j] / rr[base, j])
				if (ww[base, j] > 0) ws = ws sprintf(" %.2f", ww[k[i], j] / ww[base, j])
			}
			printf "  %-12s read:%s   write:%s", k[i], r[k[i]], w[k[i]]
			if (kv[2] != "none") printf "   x/none read:%s write:%s", rs, ws
			printf "\n"
			if (k[i] in d) printf "  %-12s %s\n", "", d[k[i]]
		}
	}'
