# SPDX-License-Identifier: MIT
# Tests, grouped by what they need:
#   tests/tap/          the TAP libraries (C: basic.[ch]; shell: libtap.sh)
#   tests/unit/         KVM-free tests: C programs *-t and shell scripts
#   tests/integration/  tests that boot the real guest (directly, or inside
#                       the nested test host, tests/testhost)
#   tests/fuzz/         libFuzzer targets, their seeds, the make check smoke runs
#   tests/bench/        benchmarks (make bench*, never part of make check)
# Every test speaks TAP through automake's tap-driver.sh.
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
LOG_DRIVER_FLAGS = --comments --merge
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	VMM='$(abs_top_builddir)/vmm/vmm'; export VMM; \
	QEMU_SYSTEM_X86_64='$(QEMU_SYSTEM_X86_64)'; export QEMU_SYSTEM_X86_64; \
	IASL='$(IASL)'; export IASL; \
	ASAN_OPTIONS='halt_on_error=1:detect_leaks=1'; export ASAN_OPTIONS; \
	UBSAN_OPTIONS='print_stacktrace=1:halt_on_error=1'; export UBSAN_OPTIONS; \
	TESTHOST_LOCK='$(abs_top_builddir)/tests/testhost.lock'; export TESTHOST_LOCK; \
	VMM_GUEST_CACHE='$(GUEST_CACHE)'; \
	test -n "$$VMM_GUEST_CACHE" || VMM_GUEST_CACHE='$(abs_top_builddir)/guest/cache'; \
	export VMM_GUEST_CACHE;
TEST_EXTENSIONS = .sh
SH_LOG_COMPILER = $(SHELL)
SH_LOG_DRIVER = $(LOG_DRIVER)
SH_LOG_DRIVER_FLAGS = $(LOG_DRIVER_FLAGS)

noinst_LIBRARIES += tests/tap/libtap.a
tests_tap_libtap_a_SOURCES = tests/tap/basic.c tests/tap/basic.h
EXTRA_DIST += tests/tap/libtap.sh tests/testhost tests/peer-qemu.sh tests/report-validate \
	tests/demo-filter.awk

# Built only on demand (benchmarks, fuzz seed generators): each fragment
# adds to it.
EXTRA_PROGRAMS =
CLEANFILES += $(EXTRA_PROGRAMS)

include tests/integration/local.mk
include tests/unit/local.mk
include tests/fuzz/local.mk
include tests/bench/local.mk

# make check runs two tests at a time (CHECK_JOBS=2, unless make was given
# its own -j), but never two test hosts: tests/testhost waits for
# TESTHOST_LOCK, so the integration tests run one after the other in one
# job while the KVM-free tests fill the other (tests/unit/testhost.sh plays
# L1 with a fake QEMU and takes no lock).  Hence the order: one integration
# test long enough to cover the unit, sanitizer and fuzz tests (about 3
# minutes of one core; nvme.sh, about as long), then those, then the rest.  Run serially (CHECK_JOBS=1),
# the order changes nothing.  ($(if ...) and $(filter ...) are GNU make's:
# see AUTOMAKE_OPTIONS in Makefile.am.)
CHECK_JOBS = 2
check: AM_MAKEFLAGS += $(if $(filter -j%,$(MAKEFLAGS)),,-j$(CHECK_JOBS))
TESTS += $(INTEGRATION_TEST_FIRST) \
	$(UNIT_TESTS) $(SAN_UNIT_TESTS) $(UNIT_SHELL_TESTS) $(FUZZ_SMOKE_TESTS) \
	$(INTEGRATION_TESTS)
