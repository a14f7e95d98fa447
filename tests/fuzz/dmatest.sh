#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The dmatest device's libFuzzer target (tests/fuzz/dmatest.c) for a
# fixed number of executions from its seed corpus: tests/fuzz/smoke.sh.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/fuzz/smoke.sh"
fuzz_smoke dmatest 500
