#!/bin/sh
# SPDX-License-Identifier: MIT
# "vmm probe" on this host: status 0, 1 or 2 and the one sentence that goes
# with it.  Then, through run_vmm_script (the test host's script mode where
# this host's KVM cannot boot Linux): "vmm probe" where the integration
# tests run vmm says "yes:" and exits 0 (the nested KVM can run Linux), and
# the script mode itself works: $VMM is set, --put and --get files travel,
# arguments arrive intact, the script's exit status comes back.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/integration/run-vmm.sh"

plan 10

[ -x "$VMM" ] || bail "vmm binary $VMM not found: build it first (make)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-probe.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'

# --- On this host -----------------------------------------------------------
timeout 60 "$VMM" probe >"$tmp/out" 2>"$tmp/err" </dev/null
st=$?
msg=$(cat "$tmp/out")
diag "vmm probe: status $st: $msg"
diag_file "$tmp/err"
ok '[ "$st" = 0 ] || [ "$st" = 1 ] || [ "$st" = 2 ]' "vmm probe exits 0, 1 or 2 (got $st)"
ok '[ "$(wc -l <"$tmp/out")" = 1 ] && [ ! -s "$tmp/err" ]' "vmm probe prints one line on stdout, nothing on stderr"
case $st in
0) re='^yes: .' ;;
2) re='^no: .*cannot run a Linux guest' ;;
1) re='^no: no usable KVM' ;;
*) re='^(status 0, 1 or 2 expected)$' ;;
esac
ok 'grep -Eq "$re" "$tmp/out"' "the sentence matches status $st ('$re')"
ok '! grep -Eq "^(yes|no):" "$tmp/err"' "no verdict on stderr"

# --- Where the integration tests run vmm -----------------------------------
# (No usable KVM here at all, status 1: the test host needs none, so this
# runs there; run-vmm.sh skips only with VMM_TESTHOST=never.)
vmm_setup

echo "put from the host" >"$tmp/put.txt"
cat >"$tmp/probe.sh" <<'EOF'
# args: PUT GET "two words"
echo "script-args: $# [$3]"
echo "put-file: $(cat "$1")"
"$VMM" probe >"$2"
st=$?
echo "probe-status=$st"
cat "$2"
exit $((40 + st))
EOF
# (~30 s in the test host)
run_vmm_script --timeout 300 --put "$tmp/put.txt" --get "$tmp/probe.out" \
	"$tmp/probe.sh" "$tmp/put.txt" "$tmp/probe.out" "two words" >"$tmp/log" 2>&1
rc=$?
diag "run_vmm_script ($VMM_MODE): status $rc; output:"
diag_file "$tmp/log"

is 40 "$rc" "the script's exit status comes back (40 + probe's 0)"
ok 'grep -q "^probe-status=0$" "$tmp/log"' "vmm probe exits 0 where vmm runs ($VMM_MODE)"
ok 'grep -q "^yes: " "$tmp/probe.out"' "it says 'yes:' (the --get file: $(head -c 60 "$tmp/probe.out" 2>/dev/null))"
ok 'grep -q "^put-file: put from the host$" "$tmp/log"' "the --put file is there for the script"
ok 'grep -qF "script-args: 3 [two words]" "$tmp/log"' "the script's arguments arrive intact"
if [ "$VMM_MODE" = testhost ]; then
	ok '[ "$st" = 2 ] || [ "$st" = 1 ] || [ "$VMM_TESTHOST" = always ]' \
		"the test host is used because this host's probe said $st (1 or 2; or VMM_TESTHOST=always)"
else
	ok '[ "$st" = 0 ] || [ "$VMM_TESTHOST" = never ]' \
		"vmm runs directly because this host's probe said 0 (or VMM_TESTHOST=never)"
fi
