#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tests/testhost's verdicts and run-vmm.sh's retry rule, without KVM or a
# real L1: a fake qemu-system-x86_64 plays L1 (it reads the run's marker id
# from the initramfs testhost built, prints the markers on "the first serial
# port", writes heartbeats and kernel lines to "the second") in each way a
# run can end.  Checked: the exit status and --result verdict of each; that
# run_vmm_script tries once more exactly when the test host failed (L1 did
# not start, reset, oopsed, hung; the peer QEMU hung), with a "# RETRY:"
# line; and that a guest crash under vmm (3, 4, 5, 7) or a runner that
# outlived the timeout while L1 was alive (124) is never retried.
. "$top_srcdir/tests/tap/libtap.sh"

command -v cpio >/dev/null 2>&1 || skip_all "cpio not installed"
bb=$(command -v busybox) || skip_all "busybox not installed"
plan 45

tmp=$(mktemp -d "${TMPDIR:-/tmp}/testhost-t.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'

# A guest build with nothing in it: testhost only copies it into L1.
mkdir -p "$tmp/guest/modules"
: >"$tmp/guest/bzImage"
: >"$tmp/guest/modules/l1.order"

# The fake L1.  FAKE_L1 (one word per attempt, the state file counts them):
#   exit:N    the runner exits with N        reset    L1 stops mid-run
#   oops      L1's kernel oopses, L1 stops   hang     L1 stops its heartbeat and hangs
#   alive     the runner never ends, L1 alive (heartbeats)
#   nostart   qemu fails before L1's init    peerhang the script reports a hung peer
#   badcr3    vmm timed out (7) and its stop diagnostics found a CR3 outside guest RAM
cat >"$tmp/qemu" <<'EOF'
#!/bin/sh
if [ "$1" = --version ]; then
	echo "QEMU emulator version 10.0.2 (fake)"
	exit 0
fi
klog= initrd=
while [ $# -gt 0 ]; do
	case $1 in
	-serial) case $2 in file:*) klog=${2#file:} ;; esac; shift ;;
	-initrd) initrd=$2; shift ;;
	esac
	shift
done
n=$(cat "$FAKE_STATE" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" >"$FAKE_STATE"
set -- $FAKE_L1
eval "scenario=\${$n:-\${$#}}"
mark=$(cpio -i --quiet --to-stdout testhost/config <"$initrd" | sed -n "s/^TH_MARK='\(.*\)'$/\1/p")
M="id=$mark"
hb() { echo "TESTHOST-HEARTBEAT up=$1 load=0.1,0.1 $M" >>"$klog"; }
[ "$scenario" = nostart ] && { echo "qemu: could not load kernel" >&2; exit 1; }
echo "SeaBIOS (fake)"
echo "TESTHOST-L1-UP $M"
hb 1
echo "TESTHOST-BEGIN $M"
echo "runner output"
case $scenario in
exit:*) echo "TESTHOST-EXIT=${scenario#exit:} $M" ;;
reset) ;;
oops)
	echo "[   9.1] BUG: kernel NULL pointer dereference, address: 0000000000000008" >>"$klog"
	echo "[   9.2] Oops: 0000 [#1] PREEMPT SMP NOPTI" >>"$klog"
	echo "[   9.3] Kernel panic - not syncing: Fatal exception" >>"$klog" ;;
hang) exec sleep 600 ;;
alive) i=2; while :; do hb $i; i=$((i + 1)); sleep 1; done ;;
peerhang)
	echo "TESTHOST-PEER-FAILURE=QEMU (the peer) had not exited after 300 s $M"
	echo "TESTHOST-EXIT=0 $M" ;;
badcr3)
	echo "vmm: vCPU 0 at the timeout: system tables: 1 anomaly, the first: CR3 0x1070b6000: its top page table is not guest RAM"
	echo "TESTHOST-EXIT=7 $M" ;;
esac
exit 0
EOF
chmod +x "$tmp/qemu"
export QEMU_SYSTEM_X86_64="$tmp/qemu" BUSYBOX="$bb" TESTHOST_GUEST_OUT="$tmp/guest"
export FAKE_STATE="$tmp/state" TESTHOST_HEARTBEAT_STALE=3 TESTHOST_HUNG_AFTER=0
# The fake L1 takes no CPU: no need to wait for make check's test host lock
# (the lock's own case below uses a lock of its own).
unset TESTHOST_LOCK

# th SCENARIOS TIMEOUT: one testhost run; sets st, verdict, reason
th() {
	FAKE_L1=$1
	export FAKE_L1
	rm -f "$FAKE_STATE"
	bash "$top_srcdir/tests/testhost" --vmm /bin/true --no-kvm-hold --timeout "$2" \
		--result "$tmp/result" -- --version >"$tmp/out" 2>"$tmp/err"
	st=$?
	verdict=$(sed -n 's/^verdict=//p' "$tmp/result")
	reason=$(sed -n 's/^reason=//p' "$tmp/result")
}

th exit:0 30
ok '[ "$st" = 0 ] && [ "$verdict" = exit ] && grep -qx "runner output" "$tmp/out"' \
	"exit 0: status 0, verdict exit, the runner's output on stdout (status $st, $verdict)"
th exit:4 30
ok '[ "$st" = 4 ] && [ "$verdict" = exit ]' "a triple fault under vmm (4) comes back as 4, verdict exit (status $st, $verdict)"
th exit:125 30
ok '[ "$st" = 125 ] && [ "$verdict" = exit ]' "a runner's own 125 is the runner's, not a test host failure (verdict $verdict)"
th reset 30
ok '[ "$st" = 125 ] && [ "$verdict" = test-host-failure ]' "L1 stopped mid-run: 125, test-host-failure ($reason)"
ok 'case $reason in *"L1 stopped before the runner finished"*) true ;; *) false ;; esac' \
	"its proof says L1 stopped before the runner finished"
th oops 30
ok '[ "$st" = 125 ] && [ "$verdict" = test-host-failure ]' "L1 oopsed: 125, test-host-failure"
ok 'case $reason in *"BUG: kernel NULL pointer dereference"*) true ;; *) false ;; esac' \
	"its proof is the first oops line of L1's kernel log ($reason)"
th nostart 30
ok '[ "$st" = 125 ] && [ "$verdict" = test-host-failure ]' "qemu failed before L1's init: 125, test-host-failure"
ok 'case $reason in *"L1 did not start"*) true ;; *) false ;; esac' "its proof: L1 did not start ($reason)"
ok 'grep -q "could not load kernel" "$tmp/err"' "qemu's own error is shown"
th hang 10
ok '[ "$st" = 125 ] && [ "$verdict" = test-host-failure ]' "L1 hung (no heartbeat at the timeout): 125, test-host-failure"
ok 'case $reason in *"L1 hung"*) true ;; *) false ;; esac' "its proof: L1 hung, with the heartbeat's age ($reason)"
start=$(date +%s)
TESTHOST_HUNG_AFTER=4 th hang 300
secs=$(($(date +%s) - start))
ok '[ "$st" = 125 ] && [ "$verdict" = test-host-failure ] && [ "$secs" -lt 200 ]' \
	"L1 hung: stopped once no heartbeat came for --hung-after s, not at the timeout ($secs s of 300)"
ok 'case $reason in *"L1 hung: no heartbeat for"*) true ;; *) false ;; esac' "its proof: how long no heartbeat came ($reason)"
th alive 8
ok '[ "$st" = 124 ] && [ "$verdict" = timeout ]' "the runner outlived --timeout while L1 was alive: 124, verdict timeout ($reason)"
th peerhang 30
ok '[ "$st" = 125 ] && [ "$verdict" = test-host-failure ]' "a script that reports its peer QEMU hung: 125, test-host-failure"
ok 'case $reason in *"peer QEMU"*"had not exited"*) true ;; *) false ;; esac' "its proof is the script's report ($reason)"
rm -f "$tmp/result"
bash "$top_srcdir/tests/testhost" --timeout 10 --result "$tmp/result" --no-such-option >/dev/null 2>&1
st=$?
ok '[ "$st" = 125 ] && grep -qx "verdict=setup-failure" "$tmp/result"' "a bad option: 125, verdict setup-failure"
FAKE_L1=alive
export FAKE_L1
rm -f "$FAKE_STATE"
bash "$top_srcdir/tests/testhost" --vmm /bin/true --no-kvm-hold --timeout 6 --progress 2 \
	-- --version >/dev/null 2>"$tmp/err"
ok 'grep -q "^testhost: \[[0-9.]*s\] runner running for [0-9]* s; L1 heartbeat [0-9]* s ago (up=[0-9]* load=0.1,0.1); output 1 lines, last [0-9]* s ago: runner output$" "$tmp/err"' \
	"--progress: lines with the runner's time, the heartbeat's age and the last output line"

# TESTHOST_LOCK: a second test host waits until the first is done (make
# check runs its tests two at a time), and the wait is not part of its
# --timeout.
FAKE_L1=exit:0
export FAKE_L1
rm -f "$FAKE_STATE"
flock "$tmp/lock" sleep 4 &
holder=$!
sleep 1
start=$(date +%s)
TESTHOST_LOCK=$tmp/lock bash "$top_srcdir/tests/testhost" --vmm /bin/true --no-kvm-hold --timeout 2 \
	--progress 1 --result "$tmp/result" -- --version >"$tmp/out" 2>"$tmp/err"
st=$?
secs=$(($(date +%s) - start))
wait "$holder"
ok '[ "$st" = 0 ] && [ "$secs" -ge 2 ] && grep -qx "runner output" "$tmp/out"' \
	"TESTHOST_LOCK held elsewhere: L1 waits for it (${secs} s), then runs to the end; the wait is not its --timeout of 2 s (status $st)"
ok 'grep -q "waiting for the test host lock" "$tmp/err" && grep -q "got the test host lock" "$tmp/err"' \
	"--progress says it waited for the lock and when it got it"

# --- run-vmm.sh: one retry, only for a test host failure ------------------
VMM=/bin/true
VMM_TESTHOST=always
VMM_PROGRESS=0
export VMM VMM_TESTHOST VMM_PROGRESS
echo "true" >"$tmp/script.sh"
# rv SCENARIOS TIMEOUT: run_vmm_script in a TAP subprocess; sets st, retries
rv() {
	FAKE_L1=$1
	export FAKE_L1
	rm -f "$FAKE_STATE"
	(
		. "$top_srcdir/tests/integration/run-vmm.sh"
		VMM_TESTHOST_SCRIPT="bash $top_srcdir/tests/testhost --no-kvm-hold"
		VMM_MODE=testhost
		run_vmm_script --timeout "$2" "$tmp/script.sh" >"$tmp/rv.out" 2>&1
	) >"$tmp/rv.tap"
	st=$?
	retries=$(grep -c '^# RETRY: ' "$tmp/rv.tap")
	attempts=$(cat "$FAKE_STATE" 2>/dev/null || echo 0)
}
for case in exit:3 exit:4 exit:5 exit:7 exit:1; do
	rv "$case reset" 30
	ok '[ "$st" = "${case#exit:}" ] && [ "$retries" = 0 ] && [ "$attempts" = 1 ]' \
		"run_vmm_script: status ${case#exit:} (a guest crash, timeout or failure under vmm) is not retried (status $st, $attempts attempt(s), $retries RETRY lines)"
done
rv alive 8
ok '[ "$st" = 124 ] && [ "$retries" = 0 ] && [ "$attempts" = 1 ]' \
	"run_vmm_script: a runner that outlived the timeout with L1 alive (124) is not retried ($attempts attempt(s))"
for case in reset oops nostart hang peerhang badcr3; do
	rv "$case exit:0" 10
	ok '[ "$st" = 0 ] && [ "$retries" = 1 ] && [ "$attempts" = 2 ]' \
		"run_vmm_script: $case is the test host's failure: tried once more, and the second attempt counts (status $st, $attempts attempts)"
	ok 'grep -q "^# RETRY: .*: the test host failed: ." "$tmp/rv.tap"' \
		"run_vmm_script: $case: the retry is announced with its proof ($(grep -m1 '^# RETRY: ' "$tmp/rv.tap" | cut -c1-90))"
done
# The same with vmm's output shown live (./quickstart): the CR3 proof is
# seen there too.
FAKE_L1="badcr3 exit:0"
export FAKE_L1
rm -f "$FAKE_STATE"
(
	. "$top_srcdir/tests/integration/run-vmm.sh"
	VMM_TESTHOST_SCRIPT="bash $top_srcdir/tests/testhost --no-kvm-hold"
	VMM_MODE=testhost
	VMM_LIVE_OUTPUT=1
	run_vmm_script --timeout 10 "$tmp/script.sh" >"$tmp/rv.out" 2>&1
	echo "status $?" >"$tmp/rv.status"
) >"$tmp/rv.tap" 2>&1
attempts=$(cat "$FAKE_STATE" 2>/dev/null || echo 0)
ok '[ "$(cat "$tmp/rv.status")" = "status 0" ] && [ "$attempts" = 2 ] && grep -q "^# RETRY: .*CR3" "$tmp/rv.tap"' \
	"run_vmm_script, output live (VMM_LIVE_OUTPUT=1): badcr3 is retried too ($attempts attempts, $(cat "$tmp/rv.status"))"
ok 'grep -q "runner output" "$tmp/rv.tap"' "and vmm's output was shown live"
rv "reset oops" 30
ok '[ "$st" = 125 ] && [ "$retries" = 1 ] && [ "$attempts" = 2 ]' \
	"run_vmm_script: a second test host failure is returned (125), no third attempt ($attempts attempts)"
ok 'grep -q "^# the test host failed again (attempt 2): " "$tmp/rv.tap"' "and the log says it failed again"
rv "reset exit:0" 30
ok '! grep -q "runner output.*runner output" "$tmp/rv.out" && [ "$(grep -c "runner output" "$tmp/rv.out")" = 1 ]' \
	"run_vmm_script: only the attempt that counts reaches the caller's output"
ok 'grep -q "^# | runner output" "$tmp/rv.tap"' "the failed attempt's last lines are diagnostics"
