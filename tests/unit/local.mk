# SPDX-License-Identifier: MIT
# KVM-free tests: C programs (tests/unit/*-t, linked against the libraries
# they test) and shell scripts that need no guest.  Included from
# tests/local.mk.

# The VMM's KVM-free core (vmm/libvmmcore.a).
UNIT_LDADD = vmm/libvmmcore.a tests/tap/libtap.a
# Tests of device models that reach guest memory through vmm/dma.c: they
# need the IOMMU and the bounce engine too.
DEVICE_UNIT_LDADD = vmm/libvmmcore.a viommu/libviommu.a swiotlb/libswiotlb.a \
	tests/tap/libtap.a -lpthread
VIOMMU_UNIT_LDADD = viommu/libviommu.a tests/tap/libtap.a

UNIT_TESTS = \
	tests/unit/cli-t tests/unit/boot-t tests/unit/acpi-t tests/unit/serial-t \
	tests/unit/devices-t tests/unit/guest_mem-t tests/unit/cpuid-t \
	tests/unit/dma-t tests/unit/virtqueue-t tests/unit/pci-t tests/unit/virtio-pci-t \
	tests/unit/dmatest-t \
	tests/unit/viommu-t tests/unit/viommu-requests-t tests/unit/viommu-classify-t \
	tests/unit/swiotlb-t
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

tests_unit_cli_t_LDADD = $(UNIT_LDADD)
tests_unit_boot_t_LDADD = $(UNIT_LDADD)
tests_unit_acpi_t_LDADD = $(UNIT_LDADD)
tests_unit_serial_t_LDADD = $(UNIT_LDADD)
tests_unit_devices_t_LDADD = $(UNIT_LDADD)
tests_unit_guest_mem_t_LDADD = $(UNIT_LDADD)
tests_unit_cpuid_t_LDADD = $(UNIT_LDADD)

# The DMA choke point, transport, virtqueues, virtio devices driven end
# to end and the DMA test device model, with the real IOMMU library and
# bounce pool.
tests_unit_dma_t_SOURCES = tests/unit/dma-t.c tests/unit/viommu-util.h
tests_unit_dma_t_LDADD = $(DEVICE_UNIT_LDADD)
tests_unit_virtqueue_t_LDADD = $(DEVICE_UNIT_LDADD)
tests_unit_pci_t_LDADD = $(DEVICE_UNIT_LDADD)
tests_unit_virtqueue_t_SOURCES = tests/unit/virtqueue-t.c tests/unit/vring-util.h
tests_unit_virtio_pci_t_SOURCES = tests/unit/virtio-pci-t.c tests/unit/vring-util.h
tests_unit_virtio_pci_t_LDADD = $(DEVICE_UNIT_LDADD)
tests_unit_dmatest_t_LDADD = $(DEVICE_UNIT_LDADD)

# The virtio-iommu library (viommu/, docs/viommu.md).
tests_unit_viommu_t_SOURCES = tests/unit/viommu-t.c tests/unit/viommu-util.h
tests_unit_viommu_t_LDADD = $(VIOMMU_UNIT_LDADD)
tests_unit_viommu_requests_t_SOURCES = tests/unit/viommu-requests-t.c tests/unit/viommu-util.h
tests_unit_viommu_requests_t_LDADD = $(VIOMMU_UNIT_LDADD)
tests_unit_viommu_classify_t_SOURCES = tests/unit/viommu-classify-t.c tests/unit/viommu-util.h
tests_unit_viommu_classify_t_LDADD = $(VIOMMU_UNIT_LDADD)

# The host bounce engine (swiotlb/, docs/swiotlb.md).
tests_unit_swiotlb_t_LDADD = swiotlb/libswiotlb.a tests/tap/libtap.a

# Shell tests that boot nothing: bad command-line and file inputs (one
# clear line, exit 1, never a crash); the generated ACPI tables through
# iasl; the TAP shell library itself; the default guest image's contents;
# the test host's verdicts and run-vmm.sh's retry rule (a fake L1).
UNIT_SHELL_TESTS = \
	tests/unit/bad-input.sh tests/unit/acpi-iasl.sh tests/unit/libtap.sh \
	tests/unit/guest-image.sh tests/unit/testhost.sh
TESTS += $(UNIT_SHELL_TESTS)
EXTRA_DIST += $(UNIT_SHELL_TESTS)
