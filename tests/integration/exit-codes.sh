#!/bin/sh
# SPDX-License-Identifier: MIT
# vmm's documented exit statuses (README "Exit status"), each with its one
# line on stderr, from real guest runs: 0 power-off, 3 reboot through the
# ACPI reset register (reboot=acpi) and through the i8042 (reboot=k), 4
# triple fault (reboot=t), 7 --timeout, 6 SIGTERM and SIGINT while the guest
# waits (vmmguest.end=wait).  After each run: vmm exited by itself (not
# killed by our watchdog) and left no process behind.
#
# All runs happen in one script (run_vmm_script): directly where this host's
# KVM can boot Linux, else in one boot of the test host.  The guests run
# "quiet" with no guest suites, so each L2 boot is as short as it gets.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/integration/run-vmm.sh"

vmm_setup
plan 34

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-exit-codes.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
log=$tmp/run.log

# The script that runs vmm (in L1: busybox sh).  It prints, per case:
#   EC-CASE NAME rc=N secs=S signal=SIG|- threads=N leftover=N
#   EC-ERR NAME| <a line of vmm's stderr>
#   EC-OUT NAME| <a line of vmm's stdout (the guest console)>
cat >"$tmp/cases.sh" <<'EOF'
dir=$(mktemp -d "${TMPDIR:-/tmp}/ec.XXXXXX") || exit 99
base="console=ttyS0 panic=-1 quiet vmmguest.suites="
limit=300 # s per run: beyond this vmm "does not exit" (killed by a watchdog)

now() { # seconds since boot, centiseconds
	read -r _up _idle </proc/uptime
	echo "$_up"
}

# ec_run NAME SIGNAL|- VMM-RUN-ARGS...
ec_run() {
	name=$1 sig=$2
	shift 2
	out=$dir/$name.out err=$dir/$name.err
	t0=$(now)
	# Its own session: whatever vmm might leave behind is found by its sid.
	setsid "$VMM" run "$@" >"$out" 2>"$err" </dev/null &
	pid=$!
	(sleep "$limit" && kill -KILL "$pid") </dev/null >/dev/null 2>&1 &
	wd=$!
	threads=-
	sent=-
	if [ "$sig" != - ]; then
		# Signal vmm only once the guest sits in vmmguest.end=wait.
		n=0
		while [ $n -lt $((limit * 4)) ]; do
			grep -q "vmmguest.end=wait: waiting forever" "$out" && break
			read -r st 2>/dev/null </proc/$pid/stat || break
			st=${st##*) }
			case $st in Z*) break ;; esac
			sleep 0.25
			n=$((n + 1))
		done
		threads=$(ls /proc/$pid/task 2>/dev/null | wc -l)
		kill -"$sig" "$pid" && sent=$sig
	fi
	wait "$pid"
	rc=$?
	t1=$(now)
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	# Anything left in vmm's session (a child or a stuck process)?
	left=0
	for p in /proc/[0-9]*; do
		read -r st 2>/dev/null <"$p/stat" || continue
		st=${st##*) }
		set -- $st
		[ "$4" = "$pid" ] && left=$((left + 1))
	done
	[ -d "/proc/$pid" ] && left=$((left + 1))
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	echo "EC-CASE $name rc=$rc secs=$secs signal=$sent threads=$threads leftover=$left"
	# (awk: a last line without newline still gets one)
	awk -v p="EC-ERR $name| " '{ print p $0 }' "$err"
	tr -d '\r' <"$out" | awk -v p="EC-OUT $name| " '{ print p $0 }'
}

ec_run poweroff - --cpus 1 --mem 256M --cmdline "$base"
ec_run reboot-acpi - --cpus 1 --mem 256M --cmdline "$base reboot=acpi vmmguest.end=reboot"
ec_run reboot-kbd - --cpus 1 --mem 256M --cmdline "$base reboot=k vmmguest.end=reboot"
ec_run triple-fault - --cpus 1 --mem 256M --cmdline "$base reboot=t vmmguest.end=reboot"
ec_run reboot-default - --cpus 1 --mem 256M --cmdline "$base vmmguest.end=reboot"
ec_run panic - --cpus 1 --mem 256M --timeout 120 --cmdline "$base rdinit=/nonexistent"
ec_run timeout - --cpus 1 --mem 256M --timeout 3 --cmdline "$base vmmguest.end=wait"
ec_run sigterm TERM --cpus 1 --mem 256M --cmdline "$base vmmguest.end=wait"
ec_run sigint INT --cpus 1 --mem 256M --cmdline "$base vmmguest.end=wait"
rm -rf "$dir"
echo "EC-DONE"
EOF

start=$(date +%s)
# (run_vmm_script tries once more only when the test host itself failed;
# vmm outliving its own timeout, 124, is a failure.)
# Timeouts (docs/guest-and-testhost.md): the nine runs take ~300 s in the
# test host under load, the longest ~40 s; each has its 300 s watchdog.
run_vmm_script --timeout 1200 "$tmp/cases.sh" >"$log" 2>&1
rc=$?
diag "the runs ($VMM_MODE) took $(($(date +%s) - start)) s, script status $rc; output:"
diag_file "$log"
ok '[ "$rc" = 0 ] && grep -q "^EC-DONE" "$log"' "the script ran all cases (status $rc)"

# field CASE KEY: a value of the case's EC-CASE line
field() {
	awk -v c="$1" -v k="$2=" '$1 == "EC-CASE" && $2 == c {
		for (i = 3; i <= NF; i++)
			if (index($i, k) == 1)
				v = substr($i, length(k) + 1)
	} END { print v }' "$log"
}
errlog() { sed -n "s/^EC-ERR $1| //p" "$log"; }
outlog() { sed -n "s/^EC-OUT $1| //p" "$log"; }

# check CASE STATUS REASON DESC: status, the reason line, a clean exit
check() {
	c=$1 st=$2 reason=$3
	is "$st" "$(field "$c" rc)" "$c: vmm exits $st ($4)"
	ok 'errlog "$c" | grep -qxF "vmm: $reason (exit status $st)"' \
		"$c: stderr has 'vmm: $reason (exit status $st)'"
	ok '[ "$(field "$c" leftover)" = 0 ]' \
		"$c: vmm exited by itself and left no process behind (leftover=$(field "$c" leftover), $(field "$c" secs) s)"
}

check poweroff 0 "guest powered off" "power-off"
ok 'outlog poweroff | grep -q "^vmm-guest-init: start"' "poweroff: the guest's init ran"

check reboot-acpi 3 "guest requested a reboot" "reboot=acpi: FADT reset register"
check reboot-kbd 3 "guest requested a reboot" "reboot=k: i8042 reset"
# Without reboot=, a hardware-reduced ACPI guest without EFI restarts
# through the real-mode BIOS reset vector (machine_real_restart), and so
# does every panic with panic=-1: vmm's stub at F000:FFF0 resets it.
check reboot-default 3 "guest requested a reboot" "no reboot=: the reset vector stub"
check panic 3 "guest requested a reboot" "a kernel panic with panic=-1 (rdinit=/nonexistent)"
ok 'outlog reboot-kbd | grep -q "^vmm-guest-init: start" && outlog reboot-acpi | grep -q "^vmm-guest-init: start"' \
	"reboot-acpi, reboot-kbd: the reboot came after the guest's init started"

check triple-fault 4 "guest triple fault" "reboot=t: Linux triple-faults on purpose"
ok 'outlog triple-fault | grep -q "^vmm-guest-init: start"' "triple-fault: it came after the guest's init started"

check timeout 7 "timeout" "--timeout 3"
secs=$(field timeout secs)
ok 'errlog timeout | grep -qxF "vmm: --timeout 3 s expired: stopping the guest" &&
	awk -v s="${secs:-0}" "BEGIN { exit !(s >= 2.9 && s < 60) }"' \
	"timeout: vmm says the timeout expired, after ${secs:-?} s (3 s asked)"
ok 'errlog timeout | grep -Eq "^vmm: at the timeout: vCPU 0: rip 0x[0-9a-f]+ in the guest.s page tables: (PML5E 0x[0-9a-f]+ )?PML4E 0x[0-9a-f]+ PDPTE .*: present at GPA 0x[0-9a-f]+, (writable|read-only), executable, (user|supervisor)$"' \
	"timeout: vmm walks the guest's page tables for vCPU 0's rip: mapped and executable"

check sigterm 6 "stopped from the host" "SIGTERM"
check sigint 6 "stopped from the host" "SIGINT"
ok '[ "$(field sigterm signal)" = TERM ] && [ "$(field sigint signal)" = INT ] &&
	outlog sigterm | grep -q "vmmguest.end=wait: waiting forever" &&
	outlog sigint | grep -q "vmmguest.end=wait: waiting forever"' \
	"sigterm, sigint: the signals reached vmm while the guest waited (threads: $(field sigterm threads), $(field sigint threads))"
