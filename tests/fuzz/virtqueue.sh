#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The virtqueue walker's libFuzzer target (tests/fuzz/virtqueue.c) for a
# fixed number of executions from its seed corpus: tests/fuzz/smoke.sh.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/fuzz/smoke.sh"
fuzz_smoke virtqueue 10000
