#!/bin/bash
# SPDX-License-Identifier: MIT
#
# stress.sh - run the guest-crash-prone runs many times and count what
# failed: each vmm run is the one of tests/integration/iommu.sh (2 vCPUs,
# 512 MiB, a 64 MiB virtio-blk write/read round trip through the
# virtio-iommu, strict or lazy), optionally with QEMU as the nested VMM
# (-smp 2, the same guest suites, --qemu-runs).  Not part of make check:
# `make stress` (STRESS_FLAGS=...), or directly from the build tree.
#
#   tests/integration/stress.sh [-n RUNS] [--per-boot K] [--qemu-runs Q]
#       [--case iommu|untrusted] [--size MIB] [--out DIR] [--vmm-timeout SEC]
#       [--guest-args STR] [-- TESTHOST-OPTIONS...]
#
# --case untrusted runs tests/integration/untrusted.sh's main run instead:
# --untrusted (endpoints below external-facing root ports), swiotlb=force,
# strict, the guest suites untrusted, iommu and blk (16 MiB by default).
#
# Where vmm runs through the test host (tests/testhost), one L1 boot runs
# K vmm runs (alternating strict and lazy) and then Q QEMU runs; L1 boots
# follow one another until RUNS vmm runs have happened.  An L1 that fails
# (tests/testhost's verdict: did not start, reset, oopsed, hung) is counted
# and its unfinished runs are not; nothing is retried.  Per run it prints
#     run N (boot B, strict): exit S, T s, guest: ok|CRASH (why), data: ok|BAD
# and at the end the counts, the hours of load and L1 failures per hour.
# Logs of every run that did not pass, and of every failed L1, go to DIR
# (default: a new directory under $TMPDIR, printed).  Exit status 0 only
# when every run passed and no L1 failed.
#
# The guests run with oops=panic: a guest oops becomes a panic, printed on
# the console even at the guest's low console loglevel, and (panic=-1) a
# reset, vmm exit status 3.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$PWD}
VMM=${VMM:-$top_builddir/vmm/vmm}
export top_srcdir top_builddir VMM

runs=20
per_boot=2
qemu_runs=0
size=64
out=
vmm_timeout=400
guest_args=
case_=iommu
size_set=
while [ $# -gt 0 ]; do
	case $1 in
	-n | --runs) runs=$2; shift ;;
	--per-boot) per_boot=$2; shift ;;
	--qemu-runs) qemu_runs=$2; shift ;;
	--size) size=$2; size_set=1; shift ;;
	--case) case_=$2; shift ;;
	--out) out=$2; shift ;;
	--vmm-timeout) vmm_timeout=$2; shift ;;
	--guest-args) guest_args=$2; shift ;;
	--help | -h) sed -n '3,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	*) echo "stress.sh: unknown option '$1' (--help)" >&2; exit 2 ;;
	esac
	shift
done
testhost_opts=("$@")
case $case_ in
iommu) ;;
untrusted) [ -n "$size_set" ] || size=16 ;;
*) echo "stress.sh: --case iommu or untrusted" >&2; exit 2 ;;
esac

. "$top_srcdir/tests/integration/run-vmm.sh"
vmm_setup || exit 1
# The peer QEMU, as run_vmm_script --qemu picks it (VMM_PEER_QEMU).
peer_opts=()
if [ "$qemu_runs" -gt 0 ]; then
	_rv_peer_qemu
	[ -z "$_rv_peer" ] || peer_opts=(--l2-qemu "$_rv_peer")
	[ -z "$_rv_peer" ] || QEMU_SYSTEM_X86_64_PEER=$_rv_peer
fi

[ -n "$out" ] || out=$(mktemp -d "${TMPDIR:-/tmp}/vmm-stress.XXXXXX")
mkdir -p "$out" || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-stress-run.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
img=$tmp/disk.img
dd if=/dev/urandom of="$img" bs=1M count="$size" 2>/dev/null || exit 1
sha=$(sha256sum "$img" | cut -d' ' -f1)

# The script of one L1 session (busybox sh in L1; sh directly).
cat >"$tmp/session.sh" <<'SCRIPT'
img=$1 sha=$2 nvmm=$3 nqemu=$4 limit=$5 extra=$6 case=$7
now() { cut -d' ' -f1 /proc/uptime; }
i=0
while [ $i -lt $((nvmm + nqemu)) ]; do
	if [ $i -lt "$nvmm" ]; then
		if [ $((i % 2)) = 0 ]; then mode=strict; else mode=lazy; fi
		[ "$case" = untrusted ] && mode=untrusted
		vmmname=vmm
	else
		mode=qemu-strict
		vmmname=qemu
	fi
	vmmopts=
	suites=iommu,blk
	case $mode in
	*strict) opts="iommu.strict=1 vmmtest.iommu_type=DMA" ;;
	untrusted)
		vmmopts=--untrusted
		suites=untrusted,iommu,blk
		opts="swiotlb=force vmmtest.topology=untrusted vmmtest.ports=2 vmmtest.swiotlb=active vmmtest.iommu_type=DMA" ;;
	*) opts="vmmtest.iommu_type=DMA-FQ" ;;
	esac
	cmdline="console=ttyS0 panic=-1 oops=panic quiet $opts vmmguest.suites=$suites vmmtest.disk_sha256=$sha $extra"
	cp "$img" "$img.run"
	echo "STRESS-BEGIN $i $mode"
	t0=$(now)
	if [ $vmmname = vmm ]; then
		"$VMM" run --timeout "$limit" --cpus 2 --mem 512M $vmmopts --disk "$img.run" --cmdline "$cmdline" 2>&1
		rc=$?
	else
		# (a QEMU that hangs is killed at the same limit: status 137)
		"$QEMU" -accel kvm -M q35 -cpu host -m 512 -smp 2 -display none -nodefaults -no-reboot \
			-serial stdio -kernel "$VMM_GUEST_OUT/bzImage" -initrd "$VMM_GUEST_OUT/initramfs.cpio" \
			-device virtio-iommu-pci -device virtio-rng-pci,iommu_platform=on,disable-legacy=on \
			-drive file="$img.run",if=none,id=d0,format=raw,cache=unsafe \
			-device virtio-blk-pci,drive=d0,iommu_platform=on,disable-legacy=on \
			-append "$cmdline" </dev/null 2>&1 &
		q=$!
		( sleep "$limit"; kill -KILL $q ) </dev/null >/dev/null 2>&1 &
		w=$!
		wait $q
		rc=$?
		kill $w 2>/dev/null
	fi
	echo "STRESS-END $i $mode rc=$rc secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }') image_sha256=$(sha256sum "$img.run" | cut -d' ' -f1)"
	rm -f "$img.run"
	i=$((i + 1))
done
echo "STRESS-SESSION-DONE"
SCRIPT

# classify LOG: "ok" or "CRASH (why)" for the guest of one run's console
classify() {
	local log=$1 rc=$2 why=
	case $rc in
	0) ;;
	3) why="reset (exit 3)" ;;
	4) why="triple fault (exit 4)" ;;
	5) why="KVM internal error (exit 5)" ;;
	7) why="vmm --timeout (exit 7)" ;;
	137) why="killed at the limit (hung)" ;;
	*) why="exit $rc" ;;
	esac
	local oops
	oops=$(tr -d '\r' <"$log" | grep -m1 -E 'Oops|BUG:|Kernel panic|general protection|stack guard page|invalid opcode|Unable to handle|RIP: ' | cut -c1-100)
	[ -z "$oops" ] || why="${why:+$why, }$oops"
	if [ -z "$why" ] && ! tr -d '\r' <"$log" | grep -q 'VMM-GUEST-TAP-END suite=blk'; then
		why="the blk suite did not finish"
	fi
	if [ -z "$why" ] && tr -d '\r' <"$log" | grep -q '^not ok'; then
		why="a guest test failed: $(tr -d '\r' <"$log" | grep -m1 '^not ok' | cut -c1-80)"
	fi
	echo "${why:+CRASH ($why)}"
}

done_runs=0 boots=0 l1_fail=0 session_timeouts=0 passed=0 crashed=0 bad_data=0 qemu_done=0 qemu_bad=0
load_s=0
t_start=$(date +%s)
what="strict/lazy"
[ "$case_" = untrusted ] && what="untrusted, strict, swiotlb=force"
echo "stress: $runs vmm runs ($case_ case) of $size MiB ($what, 2 vCPUs), $per_boot per L1 boot, $qemu_runs QEMU runs per boot; logs in $out"
echo "stress: vmm runs $VMM_MODE; test host options: ${testhost_opts[*]:-(defaults)}"
while [ "$done_runs" -lt "$runs" ]; do
	boots=$((boots + 1))
	n=$((runs - done_runs))
	[ "$n" -gt "$per_boot" ] && n=$per_boot
	b0=$(date +%s)
	session=$out/boot-$boots
	limit_l1=$(((n + qemu_runs) * (vmm_timeout + 30) + 120))
	if [ "$VMM_MODE" = testhost ]; then
		"$top_srcdir/tests/testhost" --vmm "$VMM" --timeout "$limit_l1" --progress "${VMM_PROGRESS:-60}" \
			--result "$session.result" --put "$img" $([ "$qemu_runs" -gt 0 ] && echo --qemu-l2) \
			"${peer_opts[@]}" "${testhost_opts[@]}" --script "$tmp/session.sh" -- \
			"$img" "$sha" "$n" "$qemu_runs" "$vmm_timeout" "$guest_args" "$case_" >"$session.log" 2>"$session.err"
		rc=$?
	else
		VMM_GUEST_OUT=${VMM_GUEST_DIR:-$top_builddir/guest/out} \
		QEMU=${QEMU_SYSTEM_X86_64_PEER:-${QEMU_SYSTEM_X86_64:-qemu-system-x86_64}} \
			timeout "$limit_l1" sh "$tmp/session.sh" "$img" "$sha" "$n" "$qemu_runs" "$vmm_timeout" "$guest_args" "$case_" \
			>"$session.log" 2>&1 </dev/null
		rc=$?
		echo "verdict=exit" >"$session.result"
	fi
	secs=$(($(date +%s) - b0))
	load_s=$((load_s + secs))
	verdict=$(sed -n 's/^verdict=//p' "$session.result" 2>/dev/null)
	# the runs of this session
	tr -d '\r' <"$session.log" | grep '^STRESS-END ' >"$tmp/ends"
	while read -r _ i mode rcf secsf shaf; do
		r=${rcf#rc=}
		awk -v i="$i" '$0 ~ "^STRESS-BEGIN " i " " { on = 1 } on { print } $0 ~ "^STRESS-END " i " " { exit }' \
			<"$session.log" >"$tmp/run.log"
		why=$(classify "$tmp/run.log" "$r")
		written=$(tr -d '\r' <"$tmp/run.log" | sed -n 's/^# fact: written_sha256=//p' | tail -n1)
		data=ok
		[ "${shaf#image_sha256=}" = "$written" ] && [ -n "$written" ] || data=BAD
		case $mode in
		qemu*)
			qemu_done=$((qemu_done + 1))
			[ -z "$why" ] && [ "$data" = ok ] || { qemu_bad=$((qemu_bad + 1)); cp "$tmp/run.log" "$out/boot-$boots-qemu-$i.log"; }
			echo "  qemu run (boot $boots): exit $r, ${secsf#secs=} s, guest: ${why:-ok}, data: $data"
			continue
			;;
		esac
		done_runs=$((done_runs + 1))
		if [ -n "$why" ]; then
			crashed=$((crashed + 1))
			cp "$tmp/run.log" "$out/run-$done_runs.log"
		elif [ "$data" != ok ]; then
			bad_data=$((bad_data + 1))
			cp "$tmp/run.log" "$out/run-$done_runs.log"
		else
			passed=$((passed + 1))
		fi
		echo "run $done_runs (boot $boots, $mode): exit $r, ${secsf#secs=} s, guest: ${why:-ok}, data: $data"
	done <"$tmp/ends"
	case $verdict in
	test-host-failure)
		l1_fail=$((l1_fail + 1))
		echo "boot $boots: L1 FAILED after $secs s: $(sed -n 's/^reason=//p' "$session.result")"
		;;
	timeout)
		session_timeouts=$((session_timeouts + 1))
		echo "boot $boots: TIMEOUT after $secs s, L1 alive: $(sed -n 's/^reason=//p' "$session.result")"
		;;
	exit)
		if [ "$rc" != 0 ] || ! grep -q 'STRESS-SESSION-DONE' "$session.log"; then
			echo "boot $boots: the session script ended with status $rc"
		fi
		rm -f "$session.log" "$session.err" "$session.result"
		;;
	*)
		echo "boot $boots: setup failure: $(sed -n 's/^reason=//p' "$session.result" 2>/dev/null) $(tail -n3 "$session.err")"
		exit 1
		;;
	esac
done
hours=$(awk -v s="$load_s" 'BEGIN { printf "%.2f", s / 3600 }')
echo "stress: $done_runs vmm runs in $boots L1 boots, $hours h of load ($(($(date +%s) - t_start)) s wall)"
echo "stress: vmm runs: $passed passed, $crashed guest crashes/failures, $bad_data data mismatches"
[ "$qemu_runs" = 0 ] || echo "stress: QEMU runs: $qemu_done, $qemu_bad did not pass"
echo "stress: L1 failures: $l1_fail ($(awk -v f="$l1_fail" -v s="$load_s" 'BEGIN { printf "%.2f", s ? f * 3600 / s : 0 }') per hour of load)"
[ "$session_timeouts" = 0 ] || echo "stress: L1 sessions that timed out with L1 alive: $session_timeouts"
[ "$crashed" = 0 ] && [ "$bad_data" = 0 ] && [ "$l1_fail" = 0 ] && [ "$qemu_bad" = 0 ] && [ "$session_timeouts" = 0 ]
