# SPDX-License-Identifier: MIT
#
# expect_error DESC PATTERN COMMAND...: the one-line error check of the
# bad-input tests (tests/unit/bad-input.sh, tests/unit/guest-layer.sh).
# Runs COMMAND (vmm, maybe behind env or setpriv) with stdin /dev/null,
# then checks status 1, one stderr line starting "vmm: " that matches
# PATTERN (grep -E), empty stdout.  Four TAP results.  Needs $tmp.
expect_error() {
	desc=$1 pattern=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	is 1 "$rc" "$desc: exit status 1"
	is 1 "$(wc -l <"$tmp/err" | tr -d ' ')" "$desc: exactly one line on stderr"
	ok 'grep -qE -- "^vmm: .*($pattern)" "$tmp/err"' "$desc: says '$pattern'"
	ok '[ ! -s "$tmp/out" ]' "$desc: nothing on stdout"
	diag "$(cat "$tmp/err")"
}
