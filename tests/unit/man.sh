#!/bin/sh
# SPDX-License-Identifier: MIT
#
# vmm(1) (docs/vmm.1.in, written by hand) and the bash completion
# (docs/bash-completion/vmm) against `vmm --help`, so that they cannot
# drift: every option, command and exit status of --help is in the man
# page, the man page names no option vmm does not have, it renders without
# groff warnings, and the completion offers every option of `vmm run`.
. "$top_srcdir/tests/tap/libtap.sh"

: "${VMM:?}" "${top_builddir:?}"
man=$top_builddir/docs/vmm.1
completion=$top_srcdir/docs/bash-completion/vmm
[ -f "$man" ] || bail "$man not built (make)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/man.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
plan_lazy

"$VMM" --help >"$tmp/help" || bail "vmm --help failed"
# --help's options: every --word and the short ones
grep -oE -- '(^|[^a-z-])--[a-z][a-z-]*' "$tmp/help" | sed 's/^[^-]*//' | sort -u >"$tmp/help-options"
grep -oE -- '(^|[ ,])-[a-z]([ ,]|$)' "$tmp/help" | tr -d ' ,' | sort -u >>"$tmp/help-options"
# the man page's: \-\-word (troff escapes its hyphens) and \-v style
sed -n 's/\\-/-/g; p' "$man" >"$tmp/man-text"
grep -oE -- '--[a-z][a-z-]*' "$tmp/man-text" | sort -u >"$tmp/man-options"
ok '[ "$(wc -l <"$tmp/help-options")" -ge 20 ]' "vmm --help names $(wc -l <"$tmp/help-options") options"

while read -r opt; do
	case $opt in
	--*) ok 'grep -qx -- "$opt" "$tmp/man-options"' "vmm.1 documents $opt" ;;
	*) ok 'grep -qE -- "^\.BR $opt(\$|[ ,\"])" "$tmp/man-text"' "vmm.1 documents $opt" ;;
	esac
done <"$tmp/help-options"
while read -r opt; do
	ok 'grep -qx -- "$opt" "$tmp/help-options"' "vmm.1's $opt is an option of vmm --help"
done <"$tmp/man-options"

# commands: the usage lines' "vmm CMD"
for cmd in $(sed -n 's/^\(usage:\)\{0,1\} *vmm \([a-z][a-z-]*\).*/\2/p' "$tmp/help" | sort -u); do
	ok 'grep -qE "^\.B vmm $cmd" "$tmp/man-text"' "vmm.1's synopsis has vmm $cmd"
done
ok '[ "$(sed -n "s/^\(usage:\)\{0,1\} *vmm \([a-z][a-z-]*\).*/\2/p" "$tmp/help" | sort -u | wc -l)" -ge 4 ]' \
	"vmm --help has at least 4 commands (run, domain, probe, dump-acpi)"

# exit statuses: --help's "N meaning" list against the man page's EXIT STATUS
sed -n '/^exit status:/,/^$/p' "$tmp/help" | grep -oE '(^ +|: |, )[0-9]+ ' | grep -oE '[0-9]+' |
	sort -n >"$tmp/help-status"
sed -n '/^\.SH EXIT STATUS/,/^\.SH /p' "$tmp/man-text" | sed -n 's/^\.B \([0-9][0-9]*\)$/\1/p' |
	sort -n >"$tmp/man-status"
ok '[ -s "$tmp/help-status" ]' "vmm --help lists exit statuses ($(tr '\n' ' ' <"$tmp/help-status"))"
is "$(cat "$tmp/help-status")" "$(cat "$tmp/man-status")" "vmm.1's EXIT STATUS lists the same statuses"

ok '! grep -q "@[a-zA-Z]*@" "$man"' "vmm.1 has its paths filled in"
groff -man -ww -z "$man" >"$tmp/groff" 2>&1
ok '[ $? = 0 ] && [ ! -s "$tmp/groff" ]' "vmm.1 renders without groff warnings"
diag_file "$tmp/groff"

# The completion, run as bash does: `vmm run --<TAB>` offers every run
# option of --help, `vmm <TAB>` every command.
sed -n '/^run options:/,/^$/p' "$tmp/help" | grep -oE -- '--[a-z][a-z-]*' | sort -u >"$tmp/run-options"
bash_completion=/usr/share/bash-completion/bash_completion
[ -f "$bash_completion" ] || bail "$bash_completion not found: install bash-completion (a test dependency)"
complete_words() { # WORD...: what the completion offers for the last word
	bash -c '. "$1"; . "$2"; shift 2; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
		COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}; _vmm; printf "%s\n" "${COMPREPLY[@]}"' \
		sh "$bash_completion" "$completion" "$@" 2>&1 | sort -u
}
complete_words vmm run -- >"$tmp/offered"
while read -r opt; do
	ok 'grep -qx -- "$opt" "$tmp/offered"' "completion: vmm run $opt"
done <"$tmp/run-options"
complete_words vmm "" >"$tmp/offered"
for cmd in run domain probe dump-acpi; do
	ok 'grep -qx -- "$cmd" "$tmp/offered"' "completion: vmm $cmd"
done
is "fatal
report" "$(complete_words vmm run --dma-errors "")" "completion: --dma-errors report|fatal"
