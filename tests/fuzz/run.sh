#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make fuzz-<target>: run one libFuzzer target for SECONDS from its
# committed seeds (and the reproducers in tests/fuzz/regress/<target>/).
# New inputs are kept in tests/fuzz/<target>-corpus/ (of the build tree)
# for the next run, crashes go to tests/fuzz/<target>-crash-*.
#   run.sh SRCDIR SECONDS TARGET
set -eu
srcdir=$1 secs=$2 target=$3
dirs="$srcdir/tests/fuzz/corpus/$target"
[ -d "$srcdir/tests/fuzz/regress/$target" ] && dirs="$dirs $srcdir/tests/fuzz/regress/$target"
mkdir -p "tests/fuzz/$target-corpus"
echo "fuzz-$target: ${secs} s (load: $(cut -d' ' -f1-3 /proc/loadavg))"
# shellcheck disable=SC2086 # dirs is a list
exec "tests/fuzz/$target-fuzz" -max_total_time="$secs" -max_len=4096 -timeout=10 \
	-print_final_stats=1 -artifact_prefix="tests/fuzz/$target-crash-" \
	"tests/fuzz/$target-corpus" $dirs
