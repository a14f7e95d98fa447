# SPDX-License-Identifier: MIT
# Tiny TAP producer for the guest's shell suites (busybox sh).  Sourced.
#   plan N | ok COND DESC | fact KEY VALUE | param NAME (from /proc/cmdline)
_n=0
_failed=0
plan() { echo "1..$1"; }
ok() {
	_n=$((_n + 1))
	if eval "$1"; then
		echo "ok $_n - $2"
	else
		_failed=$((_failed + 1))
		echo "not ok $_n - $2"
	fi
}
skip() { _n=$((_n + 1)); echo "ok $_n - $1 # SKIP $2"; }
diag() { printf '%s\n' "$*" | sed 's/^/# /'; }
fact() { echo "# fact: $1=$2"; }
param() {
	for _w in $(cat /proc/cmdline); do
		case $_w in "$1="*) echo "${_w#*=}"; return 0 ;; esac
	done
	return 1
}
finish() { [ "$_failed" -eq 0 ]; }
