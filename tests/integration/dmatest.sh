#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The DMA sanitizer end to end: the unmodified guest's dmatest driver
# (guest/dmatest) drives vmm's DMA test devices through the virtio-iommu,
# and the guest suite "dmatest" checks every case from inside the guest.
# Three vmm runs in one test-host boot:
#   correct  --dmatest width=64/32/24: every correct DMA-API use passes its
#            data checks, and the host report (--report) holds no violation
#   zoo      iommu.strict=1, --dmatest width=64/24: one deliberate misuse
#            per case; the guest sees each expected verdict, the report
#            holds each expected class (for the right device) and no class
#            that no case causes, and the guest runs to the end (exit 0)
#   fatal    --dma-errors=fatal with the "unmapped" case: vmm stops with
#            status 8 and the report names the class
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/integration/run-vmm.sh"
. "$top_srcdir/tests/integration/report-checks.sh"

# What the guest must show, kept here and not read from the guest: the
# guest driver (guest/dmatest/dmatest.c, dt_cases[]) prints its own case
# list and the guest suite its own plan, so one edit there would move both
# sides of a check that took them from the guest.
#   CORRECT_CASES  every one runs, once, and passes on every device
#   ZOO_CASES      CASE:CLASS, the violation class the host must report
CORRECT_CASES="coherent coherent-512k"
for dir in to-device from-device bidirectional; do
	for size_at in 1@1 100@3 4096@0 4096@17 65536@5 300000@7 524288@0; do
		CORRECT_CASES="$CORRECT_CASES $dir-$size_at"
	done
done
CORRECT_CASES="$CORRECT_CASES map-page same-page-twice sync-loop sg-to-device sg-from-device
	sg-bidirectional sg-many sg-big pool subpage-exposure"
N_CORRECT=33
ZOO_CASES="unmapped:unmapped write-to-device-mapping:permission read-from-device-mapping:permission
	past-end:past-end after-unmap:after-unmap beyond-mask:address-width bypass:bypass
	not-ram:not-ram leak:leak"
N_ZOO=9

vmm_setup
plan_lazy

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-dmatest.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'

cat >"$tmp/run.sh" <<'SCRIPT'
# Runs where vmm runs (directly, or in the test host's L1).  Each run has
# vmm's own --timeout.  A reboot (3: the guest panicked, panic=-1), triple
# fault (4), KVM internal error (5) or timeout (7) is a failure, never
# retried: it may be ours (docs/guest-and-testhost.md).
dir=$(mktemp -d "${TMPDIR:-/tmp}/dmatest.XXXXXX") || exit 125
base="console=ttyS0 panic=-1 quiet vmmguest.suites=dmatest"
for part in correct zoo fatal untrusted; do
	case $part in
	correct)
		set -- --dmatest width=64 --dmatest width=32 --dmatest width=24
		opts="vmmtest.dmatest=correct vmmtest.dmatest_devices=3" ;;
	zoo)
		set -- --dmatest width=64 --dmatest width=24
		opts="iommu.strict=1 vmmtest.dmatest=zoo vmmtest.dmatest_devices=2" ;;
	fatal)
		set -- --dma-errors=fatal --dmatest width=64
		opts="vmmtest.dmatest=zoo vmmtest.dmatest_zoo=unmapped vmmtest.dmatest_devices=1" ;;
	untrusted)
		# The same correct suite on a trusted and an untrusted device
		# (below an external-facing root port); the guest needs a
		# swiotlb pool for the latter (docs/sanitizer.md).
		set -- --dmatest width=64 --dmatest width=64,untrusted
		opts="swiotlb=force vmmtest.dmatest=correct vmmtest.dmatest_devices=2" ;;
	esac
	rm -f "$dir/$part.json" "$dir/$part.err"
	echo "DMATEST-RUN-BEGIN part=$part"
	t0=$(cut -d' ' -f1 /proc/uptime)
	# vmm's stderr apart: its warnings would cut the guest's console
	# lines (the guest's TAP) in the middle.
	"$VMM" run --timeout 300 --cpus 2 --mem 512M --report "$dir/$part.json" "$@" \
		--cmdline "$base $opts" 2>"$dir/$part.err"
	rc=$?
	echo "DMATEST-RUN rc=$rc seconds=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')"
	sed 's/^/DMATEST-STDERR /' "$dir/$part.err"
	sed 's/^/DMATEST-REPORT /' "$dir/$part.json" 2>/dev/null
	echo "DMATEST-RUN-END part=$part"
	rm -f "$dir/$part.json" "$dir/$part.err"
done
rmdir "$dir"
SCRIPT

start=$(date +%s)
# (run_vmm_script tries once more only when the test host itself failed.)
# Timeouts (docs/guest-and-testhost.md): the four runs take ~350 s in the
# test host under load, up to ~110 s each.
run_vmm_script --timeout 1200 "$tmp/run.sh" >"$tmp/all.log" 2>&1
rc=$?
diag "run ($VMM_MODE) took $(($(date +%s) - start)) s, status $rc"
is 0 "$rc" "the run script completed" || {
	diag "--- the run's output, outside the per-run blocks (last 40 lines) ---"
	tr -d '\r' <"$tmp/all.log" | awk '/^DMATEST-RUN-BEGIN/ { on = 1 } !on { print } /^DMATEST-RUN-END/ { on = 0 }' |
		tail -n 40 | sed 's/^/# /'
}

# part_log PART: the block of that run
part_log() {
	tr -d '\r' <"$tmp/all.log" | awk -v p="$1" '
		$0 == "DMATEST-RUN-BEGIN part=" p { on = 1; next }
		$0 == "DMATEST-RUN-END part=" p { on = 0 }
		on' >"$tmp/$1.log"
}
report() { sed -n 's/^DMATEST-REPORT //p' "$tmp/$1.log"; }
# report_bdfs PART: the dmatest devices the host reported, as the guest
# names them (0000:BB:DD.F)
report_bdfs() {
	report "$1" | sed -n 's/^{"type":"dmatest","bdf":"\([^"]*\)".*/0000:\1/p'
}
# case_results PART BDF: "CASE ok|not-ok" for each correct-case line the
# guest printed for that device: "ok N - BDF (W-bit) CASE ..." or, for a
# case that failed, "not ok N - BDF (W-bit) not ok CASE ..."
case_results() {
	awk -v b="$2" '{
		st = "ok"; l = $0
		if (sub(/^not ok /, "ok ", l)) st = "not-ok"
		if (!sub(/^ok [0-9]+ - /, "", l)) next
		n = split(l, w, " ")
		if (n < 3 || w[1] != b || w[2] !~ /^\([0-9]+-bit\)$/) next
		c = w[3]
		if (c == "not" && w[4] == "ok") { c = w[5]; st = "not-ok" }
		print c, st
	}' "$tmp/$1.log"
}
# correct_cases PART: every device ran exactly the correct cases above, each ok
correct_cases() {
	for b in $(report_bdfs "$1"); do
		case_results "$1" "$b" >"$tmp/$1.results"
		n=$(wc -l <"$tmp/$1.results")
		missing= failed=
		for c in $CORRECT_CASES; do
			st=$(sed -n "s/^$c //p" "$tmp/$1.results")
			case $st in ok) ;; "") missing="$missing $c" ;; *) failed="$failed $c" ;; esac
		done
		ok '[ "$n" = "$N_CORRECT" ] && [ -z "$missing$failed" ]' \
			"$1: $b ran the $N_CORRECT correct cases, each once and ok ($n lines;" \
			"missing:${missing:- none}; failed:${failed:- none})"
	done
}
# no_bounce_retries PART: the guest driver retried no command for want of
# bounce slots (it retries up to 20 times, silently but for this count)
no_bounce_retries() {
	for b in $(report_bdfs "$1"); do
		is 0 "$(guest_fact "$tmp/$1.log" "dmatest_${b}_bounce_retries")" \
			"$1: $b: the guest driver retried no command for a full bounce pool"
	done
}
# reasons PART: the violation classes in the report, one per line, sorted
reasons() {
	report "$1" | grep '"type":"violation"' | sed -n 's/.*"reason":"\([^"]*\)".*/\1/p' | sort -u
}

for part in correct zoo fatal untrusted; do
	part_log $part
	log=$tmp/$part.log
	diag "--- $part: console and report ($(sed -n 's/^DMATEST-RUN .*seconds=//p' "$log") s) ---"
	diag_file "$log"
done

# ---- correct: all data checks pass, no violation anywhere ----
log=$tmp/correct.log
is 0 "$(sed -n 's/^DMATEST-RUN rc=\([0-9]*\).*/\1/p' "$log")" "correct: vmm exits 0 (guest powered off)"
guest_tap "$log" dmatest
is 3 "$(guest_fact "$log" dmatest_devices)" "correct: the guest found 3 dmatest devices"
is "" "$(reasons correct | tr '\n' ' ')" "correct: the report holds no violation"
ok 'report correct | grep -q "^{\"type\":\"summary\",\"violations\":0[,}]"' \
	"correct: report summary: 0 violations"
n=$(report correct | grep -c '"type":"dmatest"')
is 3 "$n" "correct: the report has a line for each of the 3 devices"
report correct | grep '"type":"dmatest"' | while IFS= read -r l; do
	cmds=$(printf '%s' "$l" | sed -n 's/.*"commands":\([0-9]*\).*/\1/p')
	failed=$(printf '%s' "$l" | sed -n 's/.*"failed":\([0-9]*\).*/\1/p')
	viol=$(printf '%s' "$l" | sed -n 's/.*"violations":\([0-9]*\).*/\1/p')
	name=$(printf '%s' "$l" | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')
	echo "$name ${cmds:-0} ${failed:-?} ${viol:-?}"
done >"$tmp/correct.devs"
while read -r name cmds failed viol; do
	ok '[ "$cmds" -gt 100 ] && [ "$failed" = 0 ] && [ "$viol" = 0 ]' \
		"correct: $name ran $cmds commands, $failed failed, $viol violations"
done <"$tmp/correct.devs"
correct_cases correct
report correct >"$tmp/correct.json"
report_valid correct "$tmp/correct.json"
bounce_clean correct "$tmp/correct.json"
no_bounce_retries correct

# ---- zoo: each case's class, for its device, and nothing else ----
log=$tmp/zoo.log
is 0 "$(sed -n 's/^DMATEST-RUN rc=\([0-9]*\).*/\1/p' "$log")" "zoo: vmm exits 0 (the guest ran to the end)"
guest_tap "$log" dmatest
ok 'grep -q "^# fact: dmatest_zoo_done=1" "$log"' "zoo: the guest suite finished the zoo"
grep '^# dmatest-case ' "$log" | sed 's/^# dmatest-case //' >"$tmp/zoo.cases"
diag "zoo cases: $(cut -d' ' -f1,3 "$tmp/zoo.cases" | tr '\n' ',')"
is "$N_ZOO" "$(wc -l <"$tmp/zoo.cases" | tr -d ' ')" "zoo: the guest ran the $N_ZOO zoo cases"
for cc in $ZOO_CASES; do
	c=${cc%%:*} class=${cc#*:}
	line=$(grep "^$c " "$tmp/zoo.cases" | tail -n1)
	bdf=$(echo "$line" | sed -n 's/.* bdf=0000:\([^ ]*\).*/\1/p')
	ok 'case "$line" in "$c $class result=ok "*) true ;; *) false ;; esac' \
		"zoo: $c ran in the guest, expecting '$class', and saw its verdict (${line:-not run})"
	ok 'report zoo | grep "\"type\":\"violation\"" | grep "\"bdf\":\"$bdf\"" | grep -q "\"reason\":\"$class\""' \
		"zoo: $c: the report has a '$class' violation of ${bdf:-?}"
done
zoo_classes=$(for cc in $ZOO_CASES; do echo "${cc#*:}"; done | sort -u)
unexpected=
for r in $(reasons zoo); do
	echo "$zoo_classes" | grep -qx "$r" || unexpected="$unexpected $r"
done
is "" "$unexpected" "zoo: the report holds no class that no case causes (found: $(reasons zoo | tr '\n' ' '))"

# ---- fatal: status 8 at the first violation, named in the report ----
log=$tmp/fatal.log
is 8 "$(sed -n 's/^DMATEST-RUN rc=\([0-9]*\).*/\1/p' "$log")" "fatal: vmm exits 8 (stopped at a DMA-API violation)"
ok 'grep -q "^DMATEST-STDERR vmm: .*stopping the VM at this DMA-API violation" "$log"' "fatal: vmm says why it stopped"
is unmapped "$(reasons fatal | tr '\n' ' ' | sed 's/ $//')" "fatal: the report names the class (unmapped)"
ok '! grep -q "VMM-GUEST-TAP-END suite=dmatest" "$log"' "fatal: the guest did not run on after the violation"

# ---- untrusted: sub-page isolation, seen from the device ----
log=$tmp/untrusted.log
is 0 "$(sed -n 's/^DMATEST-RUN rc=\([0-9]*\).*/\1/p' "$log")" "untrusted: vmm exits 0"
guest_tap "$log" dmatest
ok 'grep -q "info: untrusted=1" "$log"' "untrusted: the guest marks the device below the external-facing port untrusted"
ok 'grep -q "info: swiotlb=active" "$log"' "untrusted: its swiotlb is active"
trusted=$(grep 'subpage-exposure' "$log" | grep 'untrusted=0' | sed -n 's/.*exposed=\([0-9]*\).*/\1/p' | head -n1)
untrusted=$(grep 'subpage-exposure' "$log" | grep 'untrusted=1' | sed -n 's/.*exposed=\([0-9]*\).*/\1/p' | head -n1)
is 3996 "${trusted:-none}" "untrusted: a trusted device reads the 3996 bytes around a 100-byte buffer in its page"
is 0 "${untrusted:-none}" "untrusted: an untrusted device sees none of them (zero-padded swiotlb slot)"
is "" "$(reasons untrusted | tr '\n' ' ')" "untrusted: the report holds no violation"
ok 'report untrusted | grep -q "^{\"type\":\"summary\",\"violations\":0[,}]"' \
	"untrusted: report summary: 0 violations"
correct_cases untrusted
report untrusted >"$tmp/untrusted.json"
bounce_clean untrusted "$tmp/untrusted.json"
# the zoo's and the fatal run's reports: a violation line of every class
for part in zoo fatal; do
	report "$part" >"$tmp/$part.json"
	report_valid "$part" "$tmp/$part.json"
done
no_bounce_retries untrusted
