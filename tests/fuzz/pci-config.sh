#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The PCI configuration space's libFuzzer target (tests/fuzz/pci-config.c) for a
# fixed number of executions from its seed corpus: tests/fuzz/smoke.sh.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/fuzz/smoke.sh"
fuzz_smoke pci-config 3000
