# SPDX-License-Identifier: MIT
#
# The make check run of a libFuzzer target (sourced by tests/fuzz/<target>.sh
# after tests/tap/libtap.sh): its seed generator still writes the committed
# corpus, and the target runs a fixed number of executions from that corpus
# (and tests/fuzz/regress/<target>/) with a fixed seed -- the same inputs
# on every machine, a few seconds here -- with no crash, timeout, leak or
# sanitizer report, and really that many executions (libFuzzer's final
# statistics).  Longer runs: make fuzz-<target> FUZZ_TIME=600.
#
#   fuzz_smoke TARGET RUNS

fuzz_smoke() {
	target=$1 runs=$2
	fuzzer="$top_builddir/tests/fuzz/$target-fuzz"
	gen="$top_builddir/tests/fuzz/$target-seeds"
	corpus="$top_srcdir/tests/fuzz/corpus/$target"
	regress="$top_srcdir/tests/fuzz/regress/$target"
	[ -x "$fuzzer" ] || skip_all "no libFuzzer-capable clang (install clang and libclang-rt-14-dev, re-run configure)"

	tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-$target.XXXXXX")
	at_exit 'rm -rf "$tmp"'
	mkdir "$tmp/seeds" "$tmp/new"
	plan 6

	"$gen" "$tmp/seeds" >"$tmp/gen.log" 2>&1
	ok '[ $? -eq 0 ] && [ -n "$(ls "$tmp/seeds")" ]' "$target-seeds writes seeds ($(ls "$tmp/seeds" | wc -l))"
	differ=
	for f in "$tmp/seeds"/* "$corpus"/*; do
		cmp -s "$tmp/seeds/${f##*/}" "$corpus/${f##*/}" || differ="$differ ${f##*/}"
	done
	ok '[ -z "$differ" ]' "the committed corpus is exactly that, byte for byte (make fuzz-seeds)"
	[ -z "$differ" ] || diag "differ, missing or extra in tests/fuzz/corpus/$target/:$differ"

	dirs=$corpus
	[ -d "$regress" ] && dirs="$dirs $regress"
	# -max_total_time only bounds a run gone pathologically slow: it then
	# stops short of RUNS, which fails below.
	# shellcheck disable=SC2086 # dirs is a list
	"$fuzzer" -runs="$runs" -seed=1 -max_len=4096 -timeout=10 -max_total_time=600 \
		-print_final_stats=1 -artifact_prefix="$tmp/crash-" "$tmp/new" $dirs >"$tmp/log" 2>&1
	rc=$?
	is 0 "$rc" "libFuzzer exits 0"
	ok '! ls "$tmp"/crash-* >/dev/null 2>&1' "no crash, timeout or leak artifact"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/log")
	is "$runs" "${execs:-0}" "it ran $runs executions"
	ok '! grep -qE "ERROR: |runtime error:|WARNING: .*Sanitizer|invariant violated" "$tmp/log"' \
		"no sanitizer or invariant report"
	diag "$(grep -E '^(stat::|Done )' "$tmp/log" | tr '\n' ' ')(load $(cut -d' ' -f1-3 /proc/loadavg))"
	[ "$rc" -eq 0 ] || diag_file "$tmp/log"
}
