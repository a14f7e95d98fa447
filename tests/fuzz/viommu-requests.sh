#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The virtio-iommu request decoder's libFuzzer target (tests/fuzz/viommu-requests.c)
# for a fixed number of executions from its seed corpus: tests/fuzz/smoke.sh.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/fuzz/smoke.sh"
fuzz_smoke viommu-requests 2000
