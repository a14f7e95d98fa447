# SPDX-License-Identifier: MIT
# Integration tests: they boot the real default guest (make check builds it
# first: it is in check_DATA, see guest/local.mk).
#
# tests/integration/*.sh are TAP shell scripts (tests/tap/libtap.sh) that run
# vmm through tests/integration/run-vmm.sh: directly when "vmm probe" says
# this host's KVM can boot Linux, else inside the nested QEMU test host
# (tests/testhost).  VMM_TESTHOST=always|never forces the mode.  The longest
# tests come first, so that "make -j2 check" starts them early.
INTEGRATION_TESTS = \
	tests/integration/iommu.sh \
	tests/integration/dmatest.sh \
	tests/integration/exit-codes.sh \
	tests/integration/iommu-qemu.sh \
	tests/integration/untrusted.sh \
	tests/integration/probe.sh \
	tests/integration/boot.sh \
	tests/integration/boot-variants.sh

TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/run-vmm.sh \
	tests/integration/report-checks.sh

# The cached "vmm probe" verdict (tests/integration/run-vmm.sh).
CLEANFILES += tests/.kvm-probe
