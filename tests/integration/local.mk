# SPDX-License-Identifier: MIT
# Integration tests: they boot the real default guest (make check builds it
# first: it is in check_DATA, see guest/local.mk).
#
# tests/integration/*.sh are TAP shell scripts (tests/tap/libtap.sh) that run
# vmm through tests/integration/run-vmm.sh: directly when "vmm probe" says
# this host's KVM can boot Linux, else inside the nested QEMU test host
# (tests/testhost).  VMM_TESTHOST=always|never forces the mode.  The order
# make check runs them in is set in tests/local.mk.
INTEGRATION_TEST_FIRST = tests/integration/nvme.sh
INTEGRATION_TESTS = \
	tests/integration/exit-codes.sh \
	tests/integration/iommu.sh \
	tests/integration/dmatest.sh \
	tests/integration/iommu-qemu.sh \
	tests/integration/net.sh \
	tests/integration/untrusted.sh \
	tests/integration/domain.sh \
	tests/integration/guest-module.sh \
	tests/integration/probe.sh \
	tests/integration/boot.sh \
	tests/integration/boot-variants.sh

EXTRA_DIST += $(INTEGRATION_TEST_FIRST) $(INTEGRATION_TESTS) tests/integration/run-vmm.sh \
	tests/integration/report-checks.sh tests/integration/stress.sh \
	tests/integration/net-host.sh tests/integration/net-checks.sh

# The network tests' TAP maker (a persistent TAP, multi-queue or not);
# static, it runs in the test host's L1 too.
noinst_PROGRAMS += tests/integration/net-tap
tests_integration_net_tap_SOURCES = tests/integration/net-tap.c
tests_integration_net_tap_LDFLAGS = -static

# virtio-net end to end under vmm (strict with two queue pairs, lazy at
# MTU 9000, untrusted) and the QEMU peer, in one test-host boot
# (tests/integration/net.sh, part of make check): alone.
check-net: all $(GUEST_STAMP) tests/integration/net-tap$(EXEEXT)
	$(MAKE) $(AM_MAKEFLAGS) check TESTS=tests/integration/net.sh
.PHONY: check-net

# vmm's NVMe controller under Linux's nvme driver, strict, lazy and
# untrusted, and the QEMU peer (tests/integration/nvme.sh, part of make
# check): alone.
check-nvme: all $(GUEST_STAMP)
	$(MAKE) $(AM_MAKEFLAGS) check TESTS=tests/integration/nvme.sh
.PHONY: check-nvme

# The cached "vmm probe" verdict and the test host's live progress lines
# (tests/integration/run-vmm.sh).
CLEANFILES += tests/.kvm-probe tests/testhost-progress.log tests/testhost.lock

# Not part of make check: the guest-crash-prone runs (64 MiB virtio-blk
# round trips, strict and lazy, 2 vCPUs, as tests/integration/iommu.sh)
# STRESS_N times through the test host, with per-run verdicts: exit status,
# guest crash, L1 failure.  STRESS_FLAGS: more tests/integration/stress.sh
# options (--per-boot K, --qemu-runs Q, --case untrusted, --out DIR, ...).
STRESS_N = 20
stress: all $(GUEST_STAMP)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	VMM='$(abs_top_builddir)/vmm/vmm' QEMU_SYSTEM_X86_64='$(QEMU_SYSTEM_X86_64)' \
	bash $(srcdir)/tests/integration/stress.sh -n $(STRESS_N) $(STRESS_FLAGS)
.PHONY: stress
