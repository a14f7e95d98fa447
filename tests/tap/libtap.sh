# SPDX-License-Identifier: MIT
#
# libtap.sh - TAP producer for the shell integration tests (POSIX sh).
# Source it: . "$top_srcdir/tests/tap/libtap.sh"
#
#   plan N               announce N tests (do this first)
#   plan_lazy            print the plan "1..N" at exit instead (use only when
#                        the count is not known in advance, e.g. guest TAP)
#   ok COND DESC         one test.  COND is a shell condition evaluated with
#                        eval ('[ "$rc" -eq 0 ]', 'grep -q x log'; in it, $?
#                        is still the status of the command before ok), or
#                        a bare number taken as an exit status (0 passes)
#   is EXPECTED ACTUAL DESC   passes when the strings are equal; shows both
#                        otherwise
#   skip DESC REASON     a skipped test
#   skip_all REASON      "1..0 # SKIP REASON" and exit 0 (before any test)
#   diag MSG...          "# MSG" (each line of MSG)
#   diag_file FILE       each line of FILE as a diagnostic
#   bail MSG             "Bail out! MSG" and exit 255
#   at_exit CMD          run CMD (eval) when the script exits, before the
#                        plan check (libtap owns the EXIT trap)
#   guest_tap LOG SUITE  copy the guest's TAP of SUITE from the console log
#                        LOG (between the VMM-GUEST-TAP-BEGIN/END markers)
#                        into this test's TAP, renumbered, descriptions
#                        prefixed "guest: "; adds failures for missing markers
#                        or a plan mismatch.  Returns 1 if anything failed.
#   guest_fact LOG KEY   value of "# fact: KEY=value" in the guest's output
#                        (the last one), empty if absent
#
# At exit the script's status is 0 only if all tests passed and the plan
# was met (tap-driver.sh judges the output anyway).

_tap_planned=
_tap_lazy=0
_tap_count=0
_tap_failed=0
_tap_cleanup=

at_exit() {
	_tap_cleanup="$_tap_cleanup
$*"
}

_tap_at_exit() {
	_tap_status=$?
	eval "$_tap_cleanup"
	if [ "$_tap_lazy" = 1 ]; then
		echo "1..$_tap_count"
	elif [ -n "$_tap_planned" ] && [ "$_tap_planned" != "$_tap_count" ]; then
		echo "# planned $_tap_planned tests but ran $_tap_count"
		exit 255
	fi
	if [ "$_tap_failed" -gt 0 ]; then
		echo "# failed $_tap_failed of $_tap_count tests"
		exit 1
	fi
	exit "$_tap_status"
}
trap _tap_at_exit EXIT

plan() {
	_tap_planned=$1
	echo "1..$1"
}

plan_lazy() {
	_tap_lazy=1
}

skip_all() {
	printf '%s\n' "1..0 # SKIP $*"
	_tap_planned= _tap_lazy=0
	trap - EXIT
	eval "$_tap_cleanup"
	exit 0
}

diag() {
	printf '%s\n' "$*" | sed 's/^/# /'
}

diag_file() {
	[ -f "$1" ] && sed 's/^/# /' "$1"
}

bail() {
	printf '%s\n' "Bail out! $*"
	trap - EXIT
	eval "$_tap_cleanup"
	exit 255
}

# _tap_result STATUS DESC
_tap_result() {
	_tap_count=$((_tap_count + 1))
	if [ "$1" = 0 ]; then
		printf '%s\n' "ok $_tap_count - $2"
	else
		_tap_failed=$((_tap_failed + 1))
		printf '%s\n' "not ok $_tap_count - $2"
	fi
	return "$1"
}

_tap_return() { return "$1"; }

ok() {
	_tap_prev=$? # COND may look at the status of the command before ok
	_tap_cond=$1
	shift
	case $_tap_cond in
	'' | *[!0-9]*)
		if _tap_return "$_tap_prev"; eval "$_tap_cond"; then _tap_st=0; else _tap_st=1; fi
		;;
	*)
		if [ "$_tap_cond" -eq 0 ]; then _tap_st=0; else _tap_st=1; fi
		;;
	esac
	_tap_result "$_tap_st" "$*"
}

is() {
	_tap_exp=$1 _tap_act=$2
	shift 2
	if [ "$_tap_exp" = "$_tap_act" ]; then
		_tap_result 0 "$*"
	else
		_tap_result 1 "$*"
		diag "expected: '$_tap_exp'"
		diag "     got: '$_tap_act'"
		return 1
	fi
}

skip() {
	_tap_count=$((_tap_count + 1))
	printf '%s\n' "ok $_tap_count - $1 # SKIP ${2:-}"
}

# The lines of SUITE's block in LOG, \r removed.
_guest_block() {
	tr -d '\r' <"$1" | awk -v s="$2" '
		index($0, "VMM-GUEST-TAP-BEGIN suite=" s) && \
		    substr($0, index($0, "VMM-GUEST-TAP-BEGIN suite=" s) + length("VMM-GUEST-TAP-BEGIN suite=" s)) ~ /^( |$)/ {
			inside = 1; next
		}
		inside && /VMM-GUEST-TAP-(BEGIN|END) suite=/ { exit }
		inside { print }'
}

guest_tap() {
	_gt_log=$1 _gt_suite=$2
	if [ ! -f "$_gt_log" ]; then
		_tap_result 1 "guest suite $_gt_suite: console log $_gt_log exists"
		return 1
	fi
	_gt_have_begin=0 _gt_have_end=0
	tr -d '\r' <"$_gt_log" | grep -q "VMM-GUEST-TAP-BEGIN suite=$_gt_suite\( \|$\)" && _gt_have_begin=1
	tr -d '\r' <"$_gt_log" | grep -q "VMM-GUEST-TAP-END suite=$_gt_suite\( \|$\)" && _gt_have_end=1
	if [ "$_gt_have_begin" = 0 ]; then
		_tap_result 1 "guest suite $_gt_suite: TAP output found (no VMM-GUEST-TAP-BEGIN marker)"
		return 1
	fi
	_gt_failed_before=$_tap_failed
	_gt_plan= _gt_seen=0 _gt_skipall=
	_gt_tmp=$(mktemp "${TMPDIR:-/tmp}/guest-tap.XXXXXX")
	_guest_block "$_gt_log" "$_gt_suite" >"$_gt_tmp"
	while IFS= read -r _gt_line; do
		case $_gt_line in
		"1.."*)
			_gt_plan=${_gt_line#1..}
			case $_gt_plan in
			0*)
				_gt_skipall=${_gt_plan#*# }
				[ "$_gt_skipall" = "$_gt_plan" ] && _gt_skipall="no reason given"
				_gt_skipall=$(printf '%s\n' "$_gt_skipall" | sed 's/^[Ss][Kk][Ii][Pp]\( \|$\)//')
				_gt_plan=0
				;;
			esac
			_gt_plan=${_gt_plan%% *}
			;;
		"ok "* | "not ok "*)
			_gt_seen=$((_gt_seen + 1))
			case $_gt_line in "ok "*) _gt_st=0 ;; *) _gt_st=1 ;; esac
			# Drop "ok N" and an optional " - ", keep description and
			# directive.
			_gt_desc=$(printf '%s\n' "$_gt_line" | sed 's/^\(not \)\{0,1\}ok *[0-9]* *\(- \)\{0,1\}//')
			case $_gt_desc in
			*"# "[Ss][Kk][Ii][Pp]* | *"# "[Tt][Oo][Dd][Oo]*)
				_tap_count=$((_tap_count + 1))
				if [ "$_gt_st" != 0 ] && ! printf '%s' "$_gt_desc" | grep -qi '# todo'; then
					_tap_failed=$((_tap_failed + 1))
					printf '%s\n' "not ok $_tap_count - guest: $_gt_desc"
				else
					printf '%s\n' "${_gt_line%%ok*}ok $_tap_count - guest: $_gt_desc"
				fi
				;;
			*)
				_tap_result "$_gt_st" "guest: $_gt_desc"
				;;
			esac
			;;
		"#"*)
			printf '%s\n' "# guest:${_gt_line#\#}"
			;;
		*)
			# kernel messages or other console noise inside the block
			[ -n "$_gt_line" ] && printf '%s\n' "#   | $_gt_line"
			;;
		esac
	done <"$_gt_tmp"
	rm -f "$_gt_tmp"
	if [ -n "$_gt_skipall" ]; then
		skip "guest suite $_gt_suite" "guest: $_gt_skipall"
	fi
	if [ "$_gt_have_end" = 0 ]; then
		_tap_result 1 "guest suite $_gt_suite: completed (no VMM-GUEST-TAP-END marker)"
	elif [ -z "$_gt_plan" ]; then
		_tap_result 1 "guest suite $_gt_suite: printed a plan"
	elif [ "$_gt_plan" != "$_gt_seen" ]; then
		_tap_result 1 "guest suite $_gt_suite: planned $_gt_plan tests, ran $_gt_seen"
	fi
	[ "$_tap_failed" = "$_gt_failed_before" ]
}

guest_fact() {
	tr -d '\r' <"$1" | sed -n "s/^# fact: $2=//p" | tail -n1
}
