# SPDX-License-Identifier: MIT
# Integration tests (boot the real guest; through the test host where needed).
#
# tests/*.sh are TAP shell scripts (tests/tap/libtap.sh) that run vmm via
# tests/run-vmm.sh: directly when "vmm probe" says this host's KVM can boot
# Linux, else inside the nested QEMU test host (tests/testhost).  They need
# the default guest (check_DATA builds it, see guest/local.mk).  boot.sh and
# boot-variants.sh boot one guest each (through the test host: ~20-25 s);
# exit-codes.sh boots seven in one test host boot (run_vmm_script: ~100 s);
# probe.sh runs "vmm probe" here and where vmm runs (~7 s).
# VMM_TESTHOST=always|never forces the mode.  The longest test comes first,
# so that "make -j2 check" starts it early.
INTEGRATION_TESTS = \
	tests/exit-codes.sh \
	tests/libtap.sh \
	tests/guest-image.sh \
	tests/probe.sh \
	tests/boot.sh \
	tests/boot-variants.sh

TESTS += $(INTEGRATION_TESTS)
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
SH_LOG_DRIVER = $(LOG_DRIVER)
SH_LOG_DRIVER_FLAGS = $(LOG_DRIVER_FLAGS)

EXTRA_DIST += \
	$(INTEGRATION_TESTS) \
	tests/run-vmm.sh \
	tests/testhost \
	tests/bench-boot.sh

# Boot-time benchmark, vmm against QEMU as the nested VMM (not part of
# "make check"; through the test host: ~4 min for the defaults).
# BENCH_N=5 rounds, BENCH_VARIANTS=quiet (or "quiet full"),
# BENCH_RAW=FILE keeps the per-run lines.  See docs/guest-and-testhost.md.
bench-boot: all $(GUEST_STAMP)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	VMM='$(abs_top_builddir)/vmm/vmm' QEMU_SYSTEM_X86_64='$(QEMU_SYSTEM_X86_64)' \
	BUSYBOX='$(BUSYBOX)' \
	$(SHELL) $(srcdir)/tests/bench-boot.sh
bench: bench-boot
.PHONY: bench bench-boot

# The cached "vmm probe" verdict (tests/run-vmm.sh).
CLEANFILES += tests/.kvm-probe
