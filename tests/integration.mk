# SPDX-License-Identifier: MIT
# Integration tests (boot the real guest; through the test host where needed).
#
# tests/*.sh are TAP shell scripts (tests/tap/libtap.sh) that run vmm via
# tests/run-vmm.sh: directly when "vmm probe" says this host's KVM can boot
# Linux, else inside the nested QEMU test host (tests/testhost).  They need
# the default guest (check_DATA builds it, see guest/local.mk).  Each boots
# one guest (through the test host: ~20-25 s).  VMM_TESTHOST=always|never
# forces the mode.
INTEGRATION_TESTS = \
	tests/libtap.sh \
	tests/guest-image.sh \
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
	tests/testhost

# The cached "vmm probe" verdict (tests/run-vmm.sh).
CLEANFILES += tests/.kvm-probe
