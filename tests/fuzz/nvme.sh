#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The NVMe controller's libFuzzer target (tests/fuzz/nvme.c) for a
# fixed number of executions from its seed corpus: tests/fuzz/smoke.sh.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/fuzz/smoke.sh"
fuzz_smoke nvme 500
