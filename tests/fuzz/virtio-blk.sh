#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The virtio-blk device's libFuzzer target (tests/fuzz/virtio-blk.c) for a
# fixed number of executions from its seed corpus: tests/fuzz/smoke.sh.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/fuzz/smoke.sh"
fuzz_smoke virtio-blk 5000
