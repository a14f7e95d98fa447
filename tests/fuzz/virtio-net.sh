#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The virtio-net device's libFuzzer target (tests/fuzz/virtio-net.c) for a
# fixed number of executions from its seed corpus: tests/fuzz/smoke.sh.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/fuzz/smoke.sh"
fuzz_smoke virtio-net 5000
