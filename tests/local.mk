# SPDX-License-Identifier: MIT
# TAP tests through automake's tap-driver.sh.  Unit tests (no KVM) are C
# programs named tests/*-t; integration tests are shell scripts tests/*.sh
# (see tests/integration.mk).
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh
LOG_DRIVER_FLAGS = --comments --merge
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	VMM='$(abs_top_builddir)/vmm/vmm'; export VMM; \
	QEMU_SYSTEM_X86_64='$(QEMU_SYSTEM_X86_64)'; export QEMU_SYSTEM_X86_64; \
	IASL='$(IASL)'; export IASL; \
	FUZZ_CHECK_TIME='$(FUZZ_CHECK_TIME)'; export FUZZ_CHECK_TIME;

noinst_LIBRARIES += tests/tap/libtap.a
tests_tap_libtap_a_SOURCES = tests/tap/basic.c tests/tap/basic.h
EXTRA_DIST += tests/tap/libtap.sh

include tests/integration.mk

# Unit tests: KVM-free, link the VMM's core library.
UNIT_LDADD = vmm/libvmmcore.a tests/tap/libtap.a
check_PROGRAMS += tests/cli-t tests/boot-t tests/acpi-t tests/serial-t \
	tests/devices-t tests/guest_mem-t tests/cpuid-t
TESTS += tests/cli-t tests/boot-t tests/acpi-t tests/serial-t \
	tests/devices-t tests/guest_mem-t tests/cpuid-t
tests_cli_t_LDADD = $(UNIT_LDADD)
tests_boot_t_LDADD = $(UNIT_LDADD)
tests_acpi_t_LDADD = $(UNIT_LDADD)
tests_serial_t_LDADD = $(UNIT_LDADD)
tests_devices_t_LDADD = $(UNIT_LDADD)
tests_guest_mem_t_LDADD = $(UNIT_LDADD)
tests_cpuid_t_LDADD = $(UNIT_LDADD)

# Bad command-line and file inputs: one clear line, exit 1, never a crash.
TESTS += tests/bad-input.sh
EXTRA_DIST += tests/bad-input.sh

# The generated ACPI tables, disassembled and checked by iasl.
TESTS += tests/acpi-iasl.sh
EXTRA_DIST += tests/acpi-iasl.sh

# Transport and virtqueues (KVM-free; they need the viommu library too).
check_PROGRAMS += tests/virtqueue-t tests/pci-t
TESTS += tests/virtqueue-t tests/pci-t
tests_virtqueue_t_LDADD = vmm/libvmmcore.a viommu/libviommu.a swiotlb/libswiotlb.a tests/tap/libtap.a
tests_pci_t_LDADD = vmm/libvmmcore.a viommu/libviommu.a swiotlb/libswiotlb.a tests/tap/libtap.a

# The dmatest device model driven like its guest driver, with the real
# IOMMU library and bounce pool (KVM-free).
check_PROGRAMS += tests/dmatest-t
TESTS += tests/dmatest-t
tests_dmatest_t_LDADD = vmm/libvmmcore.a viommu/libviommu.a swiotlb/libswiotlb.a tests/tap/libtap.a -lpthread

# The virtio-iommu library's tests, fuzz target and benchmark.
include tests/viommu.mk

# The guest's DMA API through the virtio-iommu (strict and lazy), and the
# same guest suites under QEMU's virtio-iommu as a peer.
TESTS += tests/iommu.sh tests/iommu-qemu.sh
EXTRA_DIST += tests/iommu.sh tests/iommu-qemu.sh

# Untrusted endpoints below external-facing PCIe root ports (--untrusted):
# what the guest makes of them, and its swiotlb.
TESTS += tests/untrusted.sh
EXTRA_DIST += tests/untrusted.sh

# make bench-iommu: virtio-blk through the IOMMU, vmm vs QEMU (not in check).
EXTRA_DIST += tests/bench-iommu.sh
bench-iommu: all $(GUEST_STAMP)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	VMM='$(abs_top_builddir)/vmm/vmm' QEMU_SYSTEM_X86_64='$(QEMU_SYSTEM_X86_64)' \
	$(SHELL) $(srcdir)/tests/bench-iommu.sh $(BENCH_IOMMU_FLAGS)
.PHONY: bench-iommu

# The DMA sanitizer end to end: the guest's dmatest driver against vmm's
# DMA test devices (correct DMA-API use, the bug zoo, --dma-errors=fatal).
TESTS += tests/dmatest.sh
EXTRA_DIST += tests/dmatest.sh
