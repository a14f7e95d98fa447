#!/bin/sh
# SPDX-License-Identifier: MIT
#
# run-vmm.sh - how the integration tests run vmm: directly when this host's
# KVM can boot Linux, else inside the nested test host (tests/testhost).
#
# Sourced by a test (after tests/tap/libtap.sh):
#     . "$top_srcdir/tests/integration/run-vmm.sh"
#     vmm_setup                  # picks the mode; skip_all/bail as needed
#     run_vmm [--put F] [--get F] [--timeout SEC] -- VMM-ARGS... >log 2>&1
#     run_vmm_script [--put F] [--get F] [--timeout SEC] [--qemu] FILE [ARGS...]
# or executed:
#     tests/integration/run-vmm.sh [--put F] [--get F] [--timeout SEC] -- VMM-ARGS...
#     tests/integration/run-vmm.sh [--put F] [--get F] [--timeout SEC] [--qemu] --script FILE [ARGS...]
#
# Mode: env VMM_TESTHOST=auto (default) | always | never.  In auto mode
# "$VMM probe" decides, once per build tree (cached in
# $top_builddir/tests/.kvm-probe, redone when $VMM changes):
#   0  KVM can boot Linux      -> run vmm directly (under timeout(1))
#   2  KVM cannot boot Linux   -> run vmm through tests/testhost
#   1  no usable KVM           -> through tests/testhost as well (it needs no
#                                 host KVM: its L1 is QEMU TCG); skipped
#                                 ("1..0 # SKIP") only with VMM_TESTHOST=never
# --put/--get name files that vmm reads/writes: the test host copies them
# into/out of L1; directly they are simply there.
#
# run_vmm_script runs the shell script FILE where vmm runs (directly: "sh FILE
# ARGS..."; else in the test host's L1, busybox sh, one L1 boot for all the
# vmm runs of the script) with the environment
#   VMM            the vmm binary
#   VMM_GUEST_OUT  the default guest's directory (bzImage, initramfs.cpio)
#   QEMU           with --qemu only: qemu-system-x86_64 (in L1 with its
#                  firmware; directly $QEMU_SYSTEM_X86_64 or from PATH)
#   TESTHOST       1 in the test host, unset directly
# in the caller's working directory, stdin /dev/null, and returns the
# script's exit status (124 timeout, 125 test host failure).
#
# Through the test host, every attempt has the --timeout given (size it to
# the run's normal duration), prints progress lines while it runs (where L1
# is, how long the runner has run, L1's heartbeat, the last output line,
# L1 kernel warnings) as TAP diagnostics on the test's own stdout and into
# $top_builddir/tests/testhost-progress.log (live, for a CI log), and is
# tried ONCE more only when tests/testhost proved that the test host itself
# failed: L1 did not start, reset, oopsed or hung (no heartbeat), L1's init
# failed, (--qemu) the peer QEMU hung, or vmm's stop diagnostics found a
# vCPU's CR3 outside guest RAM.  That retry is announced as
#     # RETRY: <test>: <the proof>
# A guest crash under vmm (3, 4, 5, 7) and a runner that outlived the
# timeout while L1 was alive (124) are never retried: they are failures.

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$(pwd)}"
: "${VMM:=$top_builddir/vmm/vmm}"
: "${VMM_TESTHOST:=auto}"
VMM_MODE=
VMM_PROBE_MESSAGE=
# Progress lines every VMM_PROGRESS seconds (0: none).  VMM_LIVE_OUTPUT=1:
# a run's output goes out as it comes (./quickstart's demo), not after the
# attempt that counts.
: "${VMM_PROGRESS:=30}"
: "${VMM_LIVE_OUTPUT:=0}"
# The test's own stdout (its TAP stream), for diagnostics while a run's
# output goes to the caller's log file.
exec 8>&1
_rv_name=${VMM_TEST_NAME:-$0}
_rv_name=${_rv_name#./}
_rv_name=${_rv_name#"$top_srcdir"/}

# Sets VMM_PROBE_STATUS (and VMM_PROBE_MESSAGE) from the cache or a new probe.
vmm_probe() {
	_rv_cache=$top_builddir/tests/.kvm-probe
	if [ -f "$_rv_cache" ] && ! [ "$VMM" -nt "$_rv_cache" ]; then
		VMM_PROBE_STATUS=$(sed -n 's/^status=//p' "$_rv_cache")
		VMM_PROBE_MESSAGE=$(sed -n 's/^message=//p' "$_rv_cache")
		[ -n "$VMM_PROBE_STATUS" ] && return 0
	fi
	VMM_PROBE_MESSAGE=$(timeout 60 "$VMM" probe 2>&1 </dev/null)
	VMM_PROBE_STATUS=$?
	VMM_PROBE_MESSAGE=$(printf '%s' "$VMM_PROBE_MESSAGE" | tr '\n' ' ')
	mkdir -p "$top_builddir/tests" 2>/dev/null
	_rv_tmp=$_rv_cache.$$
	if printf 'status=%s\nmessage=%s\n' "$VMM_PROBE_STATUS" "$VMM_PROBE_MESSAGE" >"$_rv_tmp" 2>/dev/null; then
		mv -f "$_rv_tmp" "$_rv_cache"
	fi
}

# Decide how to run vmm.  In a TAP test: skip_all or bail if impossible.
vmm_setup() {
	if [ ! -x "$VMM" ]; then
		_rv_fail "vmm binary $VMM not found: build it first (make)"
		return 1
	fi
	case $VMM_TESTHOST in
	always)
		VMM_MODE=testhost
		;;
	auto | never)
		vmm_probe
		case $VMM_PROBE_STATUS in
		0) VMM_MODE=direct ;;
		2)
			if [ "$VMM_TESTHOST" = never ]; then
				VMM_MODE=direct
			else
				VMM_MODE=testhost
			fi
			;;
		1)
			# No usable KVM here at all (no /dev/kvm, no permission,
			# or an ioctl failed): the test host needs none -- its L1
			# is QEMU's TCG, which emulates the nested SVM that vmm
			# runs on.  Only "never" makes this a skip.
			if [ "$VMM_TESTHOST" = never ]; then
				if command -v skip_all >/dev/null 2>&1; then
					skip_all "no usable /dev/kvm and VMM_TESTHOST=never"
				fi
				echo "run-vmm.sh: no usable /dev/kvm: $VMM_PROBE_MESSAGE" >&2
				exit 77
			fi
			VMM_MODE=testhost
			;;
		*)
			_rv_fail "'$VMM probe' failed with status $VMM_PROBE_STATUS: $VMM_PROBE_MESSAGE"
			return 1
			;;
		esac
		;;
	*)
		_rv_fail "VMM_TESTHOST must be auto, always or never (got '$VMM_TESTHOST')"
		return 1
		;;
	esac
	if [ "$VMM_MODE" = testhost ]; then
		VMM_TESTHOST_SCRIPT=$top_srcdir/tests/testhost
		[ -x "$VMM_TESTHOST_SCRIPT" ] || VMM_TESTHOST_SCRIPT="bash $VMM_TESTHOST_SCRIPT"
	fi
	if command -v diag >/dev/null 2>&1; then
		diag "vmm runs $VMM_MODE (VMM_TESTHOST=$VMM_TESTHOST, probe: ${VMM_PROBE_MESSAGE:-not run})"
	fi
	return 0
}

_rv_fail() {
	if command -v bail >/dev/null 2>&1; then
		bail "$*"
	fi
	echo "run-vmm.sh: $*" >&2
	exit 99
}

# run_vmm [--put F]... [--get F]... [--timeout SEC] [--] VMM-ARGS...
# Exit status: vmm's; 124 timeout; 125 test host failure.
run_vmm() {
	[ -n "$VMM_MODE" ] || vmm_setup || return 125
	_rv_timeout=600
	_rv_th_opts=
	while [ $# -gt 0 ]; do
		case $1 in
		--put | --get)
			_rv_th_opts="$_rv_th_opts $1 $(_rv_quote "$2")"
			shift 2
			;;
		--timeout)
			_rv_timeout=$2
			shift 2
			;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	if [ "$VMM_MODE" = direct ]; then
		timeout -k 10 "$_rv_timeout" "$VMM" "$@" </dev/null
	else
		_rv_in_testhost "--vmm \"\$VMM\" --timeout \"\$_rv_timeout\" $_rv_th_opts -- \"\$@\"" "$@"
	fi
}

# run_vmm_script [--put F]... [--get F]... [--timeout SEC] [--qemu] FILE [ARGS...]
run_vmm_script() {
	[ -n "$VMM_MODE" ] || vmm_setup || return 125
	_rv_timeout=600
	_rv_th_opts=
	_rv_qemu=0
	while [ $# -gt 0 ]; do
		case $1 in
		--put | --get)
			_rv_th_opts="$_rv_th_opts $1 $(_rv_quote "$2")"
			shift 2
			;;
		--timeout)
			_rv_timeout=$2
			shift 2
			;;
		--qemu)
			_rv_qemu=1
			shift
			;;
		--) shift; break ;;
		*) break ;;
		esac
	done
	if [ $# -lt 1 ] || [ ! -f "$1" ]; then
		echo "run-vmm.sh: run_vmm_script: no script file '${1:-}'" >&2
		return 125
	fi
	_rv_script=$1
	shift
	_rv_peer=
	[ "$_rv_qemu" = 1 ] && _rv_peer_qemu
	if [ "$VMM_MODE" = direct ]; then
		if [ "$_rv_qemu" = 1 ]; then
			_rv_q=${_rv_peer:-${QEMU_SYSTEM_X86_64:-}}
			{ [ -n "$_rv_q" ] && [ "$_rv_q" != no ]; } || _rv_q=qemu-system-x86_64
			_rv_q=$(command -v "$_rv_q") || {
				echo "run-vmm.sh: qemu-system-x86_64 not found" >&2
				return 125
			}
			QEMU=$_rv_q
			export QEMU
		fi
		(
			export VMM
			VMM_GUEST_OUT=${VMM_GUEST_DIR:-$top_builddir/guest/out}
			export VMM_GUEST_OUT
			unset TESTHOST
			exec timeout -k 10 "$_rv_timeout" sh "$_rv_script" "$@" </dev/null
		)
	else
		[ "$_rv_qemu" = 1 ] && _rv_th_opts="$_rv_th_opts --qemu-l2"
		[ -n "$_rv_peer" ] && _rv_th_opts="$_rv_th_opts --l2-qemu $(_rv_quote "$_rv_peer")"
		_rv_in_testhost "--vmm \"\$VMM\" --timeout \"\$_rv_timeout\" $_rv_th_opts --script \"\$_rv_script\" -- \"\$@\"" "$@"
	fi
}

# _rv_peer_qemu: set _rv_peer to the peer QEMU (empty: the system's, as
# QEMU_SYSTEM_X86_64 says), from VMM_PEER_QEMU = PATH | system | debian12
# (default): Debian 12's own QEMU 7.2, fetched once into the guest cache
# by tests/peer-qemu.sh (docs/guest-and-testhost.md).  Says which in a
# diagnostic.
_rv_peer_qemu() {
	_rv_peer=
	case ${VMM_PEER_QEMU:-debian12} in
	system) ;;
	debian12)
		_rv_cache=${VMM_GUEST_CACHE:-}
		[ -n "$_rv_cache" ] ||
			_rv_cache=$(sed -n 's/^GUEST_CACHE = //p' "$top_builddir/Makefile" 2>/dev/null)
		[ -n "$_rv_cache" ] || _rv_cache=$top_builddir/guest/cache
		if ! _rv_peer=$("$top_srcdir/tests/peer-qemu.sh" "$_rv_cache" 2>&1); then
			_rv_diag "peer: Debian 12's QEMU cannot be had ($_rv_peer); the system's QEMU is the peer"
			_rv_peer=
		fi
		;;
	*) _rv_peer=$VMM_PEER_QEMU ;;
	esac
	_rv_q=${_rv_peer:-${QEMU_SYSTEM_X86_64:-qemu-system-x86_64}}
	[ "$_rv_q" != no ] || _rv_q=qemu-system-x86_64
	_rv_diag "peer QEMU: $("$_rv_q" --version 2>/dev/null | head -n1) ($_rv_q)"
}

# _rv_in_testhost OPTIONS ARGS...: eval "tests/testhost --progress ...
# --result ... OPTIONS" (OPTIONS refer to "$@" = ARGS).
# Its stderr (progress, L1 kernel lines, verdicts) goes to the TAP stream
# and the live progress log as it comes; its stdout is kept and passed on
# once the attempt counts.  A second attempt only for a proven test host
# failure (verdict test-host-failure); the failed attempt's last output
# lines are shown as diagnostics.
_rv_in_testhost() {
	_rv_cmd=$1
	shift
	_rv_tmp=$(mktemp -d "${TMPDIR:-/tmp}/run-vmm.XXXXXX") || return 125
	_rv_attempt=1
	while :; do
		: >"$_rv_tmp/result" >"$_rv_tmp/out" >"$_rv_tmp/live"
		_rv_th="$VMM_TESTHOST_SCRIPT --progress \"\$VMM_PROGRESS\" --result \"\$_rv_tmp/result\" $_rv_cmd"
		{
			if [ "$VMM_LIVE_OUTPUT" = 1 ]; then
				# vmm's output live on fd 8, and a copy for the
				# CR3 check below; the progress lines (stderr,
				# through fd 9) to the relay.
				eval "{ { $_rv_th 2>&9; echo \$? >\"\$_rv_tmp/rc\"; } |
					tee \"\$_rv_tmp/live\" >&8; } 9>&1" </dev/null
			else
				eval "$_rv_th 2>&1 >\"\$_rv_tmp/out\"" </dev/null
				echo $? >"$_rv_tmp/rc"
			fi
		} | _rv_relay
		_rv_rc=$(cat "$_rv_tmp/rc")
		_rv_verdict=$(sed -n 's/^verdict=//p' "$_rv_tmp/result")
		_rv_reason=$(sed -n 's/^reason=//p' "$_rv_tmp/result")
		# vmm's stop diagnostics found a vCPU whose CR3 is not guest
		# RAM: vmm sets CR3 once, inside RAM, and no guest builds page
		# tables outside it; seen only in the nested test host, with L1
		# addresses (docs/guest-and-testhost.md, "The network tests").
		if [ "$_rv_verdict" != test-host-failure ] &&
			cat "$_rv_tmp/out" "$_rv_tmp/live" | tr -d '\r' |
			grep -q 'CR3 0x[0-9a-f]*: its top page table is not guest RAM'; then
			_rv_verdict=test-host-failure
			_rv_reason="a vCPU's CR3 was outside guest RAM (vmm's stop diagnostics): the emulated test host corrupted its state"
		fi
		[ "$_rv_verdict" = test-host-failure ] && [ "$_rv_attempt" = 1 ] || break
		_rv_diag "RETRY: $_rv_name: the test host failed: $_rv_reason"
		_rv_diag "(attempt 1's last output lines:)"
		cat "$_rv_tmp/out" "$_rv_tmp/live" | tail -n 20 | tr -d '\r' | sed 's/^/| /' | _rv_relay
		_rv_attempt=2
	done
	if [ "$_rv_verdict" = test-host-failure ]; then
		_rv_diag "the test host failed again (attempt $_rv_attempt): $_rv_reason"
	fi
	cat "$_rv_tmp/out"
	rm -rf "$_rv_tmp"
	return "$_rv_rc"
}

# Lines to the TAP stream (as diagnostics) and to the live progress log.
_rv_relay() {
	while IFS= read -r _rv_line; do
		printf '# %s\n' "$_rv_line" >&8
		printf '[%s] %s\n' "$_rv_name" "$_rv_line" >>"$top_builddir/tests/testhost-progress.log" 2>/dev/null
	done
}
_rv_diag() {
	printf '%s\n' "$*" | _rv_relay
}

_rv_quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# Executed rather than sourced: run vmm once.
case ${0##*/} in
run-vmm.sh)
	vmm_setup || exit $?
	for _rv_a in "$@"; do
		case $_rv_a in
		--script)
			# run_vmm_script's options, with FILE after --script
			_rv_pre=
			while [ "$1" != --script ]; do
				_rv_pre="$_rv_pre $(_rv_quote "$1")"
				shift
			done
			shift
			eval "run_vmm_script $_rv_pre \"\$@\""
			exit $?
			;;
		--) break ;;
		esac
	done
	run_vmm "$@"
	exit $?
	;;
esac
