#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The virtio-pci transport's libFuzzer target (tests/fuzz/virtio-pci.c) for a
# fixed number of executions from its seed corpus: tests/fuzz/smoke.sh.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/fuzz/smoke.sh"
fuzz_smoke virtio-pci 8000
