#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/tap/libtap.sh itself: guest_tap and guest_fact on made-up console
# logs.  No VM is booted.
. "$top_srcdir/tests/tap/libtap.sh"

plan 9

tmp=$(mktemp -d "${TMPDIR:-/tmp}/libtap.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'

# Run guest_tap in a child shell; print its TAP, then "status=N".
child() { # LOG SUITE
	(
		. "$top_srcdir/tests/tap/libtap.sh"
		plan_lazy
		guest_tap "$1" "$2"
		echo "status=$?"
	) 2>&1
}

cr=$(printf '\r')
cat >"$tmp/good.log" <<LOG
[    0.000000] Linux version 6.12.117
VMM-GUEST-TAP-BEGIN suite=boot$cr
1..3$cr
# fact: cpus=2$cr
ok 1 - first$cr
[    3.1] a kernel message$cr
ok 2 - second # SKIP not here$cr
ok 3 - third$cr
# fact: cmdline=console=ttyS0 a=b$cr
VMM-GUEST-TAP-END suite=boot$cr
VMM-GUEST-TAP-BEGIN suite=other
1..2
not ok 1 - broken
ok 2 - fine
VMM-GUEST-TAP-END suite=other
VMM-GUEST-TAP-BEGIN suite=cut
1..3
ok 1 - only one
LOG

child "$tmp/good.log" boot >"$tmp/boot.out"
ok 'grep -q "^status=0$" "$tmp/boot.out"' "a passing suite passes"
ok 'grep -q "^ok 1 - guest: first$" "$tmp/boot.out" && grep -q "^ok 3 - guest: third$" "$tmp/boot.out"' \
	"guest tests are renumbered and prefixed"
ok 'grep -q "^ok 2 - guest: second # SKIP not here$" "$tmp/boot.out"' "skip directives survive"
ok 'grep -q "^1..3$" "$tmp/boot.out"' "no extra tests for a complete suite"
child "$tmp/good.log" other >"$tmp/other.out"
ok 'grep -q "^status=1$" "$tmp/other.out" && grep -q "^not ok 1 - guest: broken$" "$tmp/other.out"' \
	"a failing guest test fails"
child "$tmp/good.log" cut >"$tmp/cut.out"
ok 'grep -q "^status=1$" "$tmp/cut.out" && grep -q "no VMM-GUEST-TAP-END" "$tmp/cut.out"' \
	"a suite cut short (no end marker) fails"
child "$tmp/good.log" absent >"$tmp/absent.out"
ok 'grep -q "^status=1$" "$tmp/absent.out" && grep -q "^not ok 1 - .*no VMM-GUEST-TAP-BEGIN" "$tmp/absent.out"' \
	"a missing suite fails"
is 2 "$(guest_fact "$tmp/good.log" cpus)" "guest_fact reads a fact, without the \\r"
is "console=ttyS0 a=b" "$(guest_fact "$tmp/good.log" cmdline)" "guest_fact keeps spaces in values"
