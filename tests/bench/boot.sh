#!/bin/sh
# SPDX-License-Identifier: MIT
#
# bench-boot.sh - boot-time benchmark: vmm against QEMU as the (nested) VMM.
#
#   make bench-boot [BENCH_N=5] [BENCH_VARIANTS=quiet|"quiet full"]
#   tests/bench/boot.sh [-n N] [--variants "quiet full"] [--raw FILE]
# (default: variant quiet only; "full" is opt-in, see below)
#
# Boots the default guest N times with vmm
#     vmm run --cpus 1 --mem 512M --kernel K --initrd I --cmdline C
# and N times with QEMU
#     qemu-system-x86_64 -accel kvm -M q35 -cpu host -m 512 -nographic
#         -no-reboot -kernel K -initrd I -append C
# (alternating, vmm first), with C = "console=ttyS0 panic=-1 quiet
# vmmguest.suites=" (variant "quiet") and the same without "quiet" (variant
# "full": the whole kernel log goes through the serial console; opt-in,
# because in the test host it hangs or resets the L2 guest in about one run
# in three, under both VMMs).  The runs
# happen in N rounds, each one script (tests/integration/run-vmm.sh's run_vmm_script)
# that boots the guest once per VMM and variant: directly where this host's
# KVM can boot Linux, else in one boot of the test host (L1) per round, so
# that both VMMs of a round run nested in the same L1.  A round whose L1
# or one of its guests failed (nested TCG is not perfectly reliable: an L1
# kernel oops, an L2 triple fault or hang were seen, see
# docs/guest-and-testhost.md) is retried up to twice; the failed rounds are
# kept in RAW.failed with --raw.  Measured for both the same way,
# in the machine that runs the VMM (clock: /proc/uptime, 10 ms):
#   init   launch of the VMM (just before exec) until the guest init's first
#          line ("vmm-guest-init: start") appears on the VMM's stdout
#   total  launch until the VMM has exited (the guest powered off)
# and vmm's own "guest-boot-time" line (VMM start to the guest's boot-timer
# write; QEMU has no such device, and under QEMU-in-L1 the guest's port write
# faults: init prints its line before it touches the port).
# Prints medians and min/max per VMM and variant, and the ratios vmm/QEMU of
# the medians.  Exit status 0 when every run booted to completion.
#
# Environment: top_srcdir, top_builddir, VMM, QEMU_SYSTEM_X86_64,
# VMM_TESTHOST (as for the tests), BENCH_N, BENCH_VARIANTS, BENCH_RAW.

set -u
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$(pwd)}"
n=${BENCH_N:-5}
variants=${BENCH_VARIANTS:-quiet}
raw=${BENCH_RAW:-}
while [ $# -gt 0 ]; do
	case $1 in
	-n) n=$2; shift ;;
	--variants) variants=$2; shift ;;
	--raw) raw=$2; shift ;;
	-h | --help)
		sed -n '3,36p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) echo "bench-boot: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case $n in '' | *[!0-9]* | 0) echo "bench-boot: -n wants a number > 0" >&2; exit 2 ;; esac
for v in $variants; do
	case $v in quiet | full) ;; *) echo "bench-boot: unknown variant '$v' (quiet, full)" >&2; exit 2 ;; esac
done

. "$top_srcdir/tests/integration/run-vmm.sh"
vmm_setup || exit 1
[ -f "$top_builddir/guest/out/bzImage" ] || {
	echo "bench-boot: no default guest: run 'make guest' first" >&2
	exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# The script that runs the VMMs (in L1: busybox sh).  One line per run:
#   BENCH VMM VARIANT I rc=N t_init=S t_total=S boot_us=N
cat >"$tmp/bench.sh" <<'EOF'
round=$1 variants=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/bench.XXXXXX") || exit 99
kernel=$VMM_GUEST_OUT/bzImage initrd=$VMM_GUEST_OUT/initramfs.cpio
limit=240 # s: a run that takes longer is killed and counts as failed
marker="vmm-guest-init: start"

uptime_s() {
	read -r _up _idle </proc/uptime
	echo "$_up"
}

# bench_run NAME VARIANT I CMD...
bench_run() {
	name=$1 variant=$2 i=$3
	shift 3
	rm -f "$dir/t0" "$dir/t_init" "$dir/rc" "$dir/pid"
	# The VMM's stdout goes to a file (tee) and to a grep that stops at the
	# init's first line: the time it does is when the line appeared.
	{
		# shellcheck disable=SC2016
		sh -c 'echo $$ >"$1/pid"; read -r t _ </proc/uptime; echo "$t" >"$1/t0"
			shift; exec "$@"' bench "$dir" "$@" </dev/null 2>"$dir/err"
		echo $? >"$dir/rc"
	} | tee "$dir/out" | {
		if grep -q -m1 -F "$marker"; then
			read -r t _ </proc/uptime
			echo "$t" >"$dir/t_init"
		fi
		cat >/dev/null
	} &
	pipe=$!
	(sleep "$limit" && kill -KILL "$(cat "$dir/pid")") </dev/null >/dev/null 2>&1 &
	wd=$!
	wait "$pipe"
	t_end=$(uptime_s)
	kill "$wd" 2>/dev/null
	rc=$(cat "$dir/rc" 2>/dev/null)
	t0=$(cat "$dir/t0" 2>/dev/null)
	ti=$(cat "$dir/t_init" 2>/dev/null)
	boot_us=$(sed -n 's/.*guest-boot-time = \([0-9]*\) us.*/\1/p' "$dir/err" | head -n1)
	awk -v name="$name" -v v="$variant" -v i="$i" -v rc="${rc:-none}" \
		-v t0="${t0:-}" -v ti="${ti:-}" -v te="$t_end" -v b="${boot_us:--}" 'BEGIN {
		init = (t0 != "" && ti != "") ? sprintf("%.2f", ti - t0) : "-"
		total = (t0 != "") ? sprintf("%.2f", te - t0) : "-"
		printf "BENCH %s %s %d rc=%s t_init=%s t_total=%s boot_us=%s\n", name, v, i, rc, init, total, b
	}'
	if [ "${rc:-none}" != 0 ] || [ -z "$ti" ]; then
		echo "BENCH-FAIL $name $variant $i: status ${rc:-none}; its stderr and last output lines:"
		# (awk: a last line without newline still gets one)
		awk '{ print "BENCH-FAIL | " $0 }' "$dir/err"
		tr -d '\r' <"$dir/out" | tail -n 15 | awk '{ print "BENCH-FAIL | " $0 }'
	fi
	# Whether the guest's boot-timer write faulted (QEMU as nested VMM).
	if tr -d '\r' <"$dir/out" | grep -q "vmm-guest: outb to port"; then
		echo "BENCH-NOTE $name $variant $i: the guest's boot-timer outb faulted (init went on)"
	fi
}

echo "BENCH-SETUP l1=${TESTHOST:-0} cpus=$(grep -c ^processor /proc/cpuinfo) kernel=$(uname -r) qemu=$("$QEMU" --version | head -n1 | sed 's/ /_/g')"
for variant in $variants; do
	cmdline="console=ttyS0 panic=-1 quiet vmmguest.suites="
	[ "$variant" = full ] && cmdline="console=ttyS0 panic=-1 vmmguest.suites="
	bench_run vmm "$variant" "$round" "$VMM" run --cpus 1 --mem 512M \
		--kernel "$kernel" --initrd "$initrd" --cmdline "$cmdline"
	bench_run qemu "$variant" "$round" "$QEMU" -accel kvm -M q35 -cpu host \
		-m 512 -nographic -no-reboot \
		-kernel "$kernel" -initrd "$initrd" -append "$cmdline"
done
rm -rf "$dir"
echo "BENCH-DONE"
EOF

nv=0
for v in $variants; do nv=$((nv + 1)); done
echo "bench-boot: $n rounds of one boot each of vmm and QEMU per variant ($variants); $VMM_MODE; ~$((n * nv * 45 / 60 + 1)) min"
start=$(date +%s)
: >"$tmp/log"
st=0
round=1
while [ "$round" -le "$n" ]; do
	try=1
	while :; do
		run_vmm_script --qemu --timeout $((300 + nv * 600)) "$tmp/bench.sh" \
			"$round" "$variants" >"$tmp/round.log" 2>&1
		rst=$?
		if [ "$rst" = 0 ] && grep -q '^BENCH-DONE' "$tmp/round.log" &&
			! grep -q '^BENCH-FAIL' "$tmp/round.log"; then
			grep '^BENCH' "$tmp/round.log" | grep -v '^BENCH-DONE' >>"$tmp/log"
			echo "bench-boot: round $round: $(grep '^BENCH [a-z]' "$tmp/round.log" |
				awk '{ printf "%s%s %s %s %s", sep, $2, $3, $6, $7; sep = "; " }')"
			break
		fi
		echo "bench-boot: round $round (try $try) failed with status $rst; last lines:" >&2
		tail -n 8 "$tmp/round.log" | sed 's/^/  | /' >&2
		if [ -n "$raw" ]; then
			{
				echo "BENCH-ROUND-FAILED round=$round try=$try status=$rst"
				sed 's/^/  | /' "$tmp/round.log"
			} >>"$raw.failed"
		fi
		if [ "$try" -ge 3 ]; then
			st=1
			break
		fi
		try=$((try + 1))
	done
	round=$((round + 1))
done
echo "BENCH-DONE" >>"$tmp/log"
took=$(($(date +%s) - start))
[ -n "$raw" ] && cp "$tmp/log" "$raw"
grep '^BENCH-FAIL' "$tmp/log" | head -n 60
notes=$(grep -c '^BENCH-NOTE qemu' "$tmp/log")
qruns=$(grep -c '^BENCH qemu' "$tmp/log")
[ "$notes" -gt 0 ] &&
	echo "bench-boot: in $notes of $qruns QEMU runs the guest's boot-timer outb faulted (as known); init went on"

# --- Report ------------------------------------------------------------------

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
setup=$(sed -n 's/^BENCH-SETUP //p' "$tmp/log" | head -n1)
echo
echo "Boot-time benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $took s in all)"
echo "  host: $cpu, $(nproc) CPUs; vmm runs $VMM_MODE"
[ "$VMM_MODE" = testhost ] &&
	echo "  L1: QEMU TCG -cpu max, 2 vCPUs, 4096 MiB, nested KVM (kvm-amd); both VMMs run in the same L1 boot"
echo "  in the VMM's machine: $setup"
echo "  guest: $(cat "$top_builddir/guest/out/kernel-release" 2>/dev/null) + default initramfs, 1 vCPU, 512 MiB"
echo "  init = VMM launch to the guest init's first line on the VMM's stdout; total = launch to VMM exit"
echo "  (seconds, median [min-max] over the successful runs; clock /proc/uptime, 10 ms)"
echo
awk -v variants="$variants" -v n="$n" '
function median(a, k,   i, j, t) {
	for (i = 2; i <= k; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
function stats(key, what,   k, i, a) {
	k = cnt[key]
	if (k == 0)
		return "-"
	for (i = 1; i <= k; i++)
		a[i] = val[key, what, i]
	med[key, what] = median(a, k)
	return sprintf("%6.2f [%.2f-%.2f]", med[key, what], a[1], a[k])
}
$1 == "BENCH" {
	key = $2 " " $3
	for (f = 5; f <= NF; f++) {
		split($f, kv, "=")
		r[kv[1]] = kv[2]
	}
	tried[key]++
	if (r["rc"] != "0" || r["t_init"] == "-")
		next
	k = ++cnt[key]
	val[key, "init", k] = r["t_init"]
	val[key, "total", k] = r["t_total"]
	if (r["boot_us"] != "-")
		val[key, "boot", ++bcnt[key]] = r["boot_us"] / 1e6
}
END {
	printf "%-7s %-5s %5s  %-22s %-22s %s\n", "variant", "VMM", "ok", "init (s)", "total (s)", "vmm guest-boot-time (s)"
	nv = split(variants, vs, " ")
	for (x = 1; x <= nv; x++) {
		split("vmm qemu", ms, " ")
		for (y = 1; y <= 2; y++) {
			key = ms[y] " " vs[x]
			bt = "-"
			if (bcnt[key] > 0) {
				kb = bcnt[key]
				for (i = 1; i <= kb; i++) b[i] = val[key, "boot", i]
				bm = median(b, kb)
				bt = sprintf("%6.2f [%.2f-%.2f]", bm, b[1], b[kb])
			}
			printf "%-7s %-5s %2d/%-2d  %-22s %-22s %s\n", vs[x], ms[y], cnt[key], tried[key] + 0,
				stats(key, "init"), stats(key, "total"), bt
		}
		a = "vmm " vs[x]; q = "qemu " vs[x]
		if (cnt[a] && cnt[q] && med[q, "init"] > 0 && med[q, "total"] > 0)
			printf "%-7s ratio vmm/QEMU of the medians: init %.2f, total %.2f\n", vs[x],
				med[a, "init"] / med[q, "init"], med[a, "total"] / med[q, "total"]
	}
}' "$tmp/log"

fails=$(grep -c '^BENCH-FAIL [^|]*: status' "$tmp/log")
if [ "$st" != 0 ] || ! grep -q '^BENCH-DONE' "$tmp/log"; then
	echo "bench-boot: a round failed three times (see above)" >&2
	exit 1
fi
if [ "$fails" -gt 0 ]; then
	echo "bench-boot: $fails run(s) did not boot to completion (see BENCH-FAIL above)" >&2
	exit 1
fi
exit 0
