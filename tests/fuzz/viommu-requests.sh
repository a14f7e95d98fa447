#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs the viommu request fuzzer (libFuzzer + ASan + UBSan) for a bounded
# time from the generated seed corpus: any crash, leak, sanitizer report or
# timeout fails the test.  Built by make check where configure found a clang
# that builds libFuzzer targets (quickstart installs clang and
# libclang-rt-14-dev).
. "$top_srcdir/tests/tap/libtap.sh"

fuzzer="$top_builddir/tests/fuzz/viommu-requests-fuzz"
gen="$top_builddir/tests/fuzz/viommu-requests-seeds"
[ -x "$fuzzer" ] || skip_all "no libFuzzer-capable clang (install clang and libclang-rt-14-dev, re-run configure)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-viommu.XXXXXX")
at_exit 'rm -rf "$tmp"'
mkdir "$tmp/seeds" "$tmp/corpus"
plan 4

"$gen" "$tmp/seeds" >/dev/null 2>&1
ok '[ $? -eq 0 ] && [ "$(ls "$tmp/seeds" | wc -l)" -gt 0 ]' "seed corpus generated ($(ls "$tmp/seeds" | wc -l) inputs)"
secs=${FUZZ_CHECK_TIME:-30}
"$fuzzer" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 -timeout=10 \
	-artifact_prefix="$tmp/crash-" "$tmp/corpus" "$tmp/seeds" >"$tmp/log" 2>&1
rc=$?
is 0 "$rc" "libFuzzer ran ${secs} s without a crash or sanitizer report"
ok '! ls "$tmp"/crash-* >/dev/null 2>&1' "no crash artifacts"
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/log")
ok '[ -n "$execs" ] && [ "$execs" -gt 1000 ]' "it really ran (${execs:-0} executions)"
diag "$(grep -E '^(stat::|#[0-9]+ +DONE|==[0-9]+==ERROR)' "$tmp/log" | head -20)"
[ "$rc" -eq 0 ] || diag_file "$tmp/log"
