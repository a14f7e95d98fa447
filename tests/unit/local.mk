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
	tests/unit/devices-t tests/unit/guest_mem-t tests/unit/cpuid-t tests/unit/irqchip-t tests/unit/pagewalk-t \
	tests/unit/systables-t tests/unit/dma-t tests/unit/virtqueue-t tests/unit/pci-t tests/unit/virtio-pci-t \
	tests/unit/virtio-notify-t tests/unit/virtio-net-t tests/unit/virtio-blk-t tests/unit/dmatest-t \
	tests/unit/nvme-t tests/unit/disk-t \
	tests/unit/viommu-t tests/unit/viommu-requests-t tests/unit/viommu-classify-t \
	tests/unit/swiotlb-t tests/unit/domain-t tests/unit/guest-layer-t
check_PROGRAMS += $(UNIT_TESTS)

tests_unit_cli_t_LDADD = $(UNIT_LDADD)
tests_unit_boot_t_LDADD = $(UNIT_LDADD)
tests_unit_acpi_t_LDADD = $(UNIT_LDADD)
tests_unit_serial_t_LDADD = $(UNIT_LDADD)
tests_unit_devices_t_LDADD = $(UNIT_LDADD)
tests_unit_guest_mem_t_LDADD = $(UNIT_LDADD)
tests_unit_cpuid_t_LDADD = $(UNIT_LDADD)
tests_unit_irqchip_t_LDADD = $(UNIT_LDADD)
tests_unit_pagewalk_t_LDADD = $(UNIT_LDADD)
tests_unit_systables_t_LDADD = $(UNIT_LDADD)
# The disk backend of virtio-blk and NVMe (vmm/disk.c).
tests_unit_disk_t_LDADD = $(UNIT_LDADD)

# The DMA choke point, transport, virtqueues, virtio devices driven end
# to end and the DMA test device model, with the real IOMMU library and
# bounce pool.
tests_unit_dma_t_SOURCES = tests/unit/dma-t.c tests/unit/viommu-util.h
tests_unit_dma_t_LDADD = $(DEVICE_UNIT_LDADD)
tests_unit_virtqueue_t_LDADD = $(DEVICE_UNIT_LDADD)
tests_unit_pci_t_LDADD = $(DEVICE_UNIT_LDADD)
tests_unit_virtqueue_t_SOURCES = tests/unit/virtqueue-t.c tests/unit/vring-util.h
tests_unit_virtio_pci_t_SOURCES = tests/unit/virtio-pci-t.c tests/unit/vring-util.h tests/unit/vpci-driver.h
tests_unit_virtio_pci_t_LDADD = $(DEVICE_UNIT_LDADD)
tests_unit_virtio_notify_t_SOURCES = tests/unit/virtio-notify-t.c tests/unit/vring-util.h tests/unit/vpci-driver.h
tests_unit_virtio_notify_t_LDADD = $(DEVICE_UNIT_LDADD)
tests_unit_virtio_net_t_SOURCES = tests/unit/virtio-net-t.c tests/unit/vring-util.h \
	tests/unit/vpci-driver.h tests/unit/viommu-util.h
tests_unit_virtio_net_t_LDADD = $(DEVICE_UNIT_LDADD)
tests_unit_virtio_blk_t_SOURCES = tests/unit/virtio-blk-t.c tests/unit/vring-util.h tests/unit/thread-gate.h \
	tests/unit/vpci-driver.h tests/unit/viommu-util.h
tests_unit_virtio_blk_t_LDADD = $(DEVICE_UNIT_LDADD)
tests_unit_dmatest_t_LDADD = $(DEVICE_UNIT_LDADD)
tests_unit_nvme_t_SOURCES = tests/unit/nvme-t.c tests/unit/viommu-util.h tests/unit/thread-gate.h
tests_unit_nvme_t_LDADD = $(DEVICE_UNIT_LDADD)

# The virtio-iommu library (viommu/, docs/viommu.md).
tests_unit_viommu_t_SOURCES = tests/unit/viommu-t.c tests/unit/viommu-util.h
tests_unit_viommu_t_LDADD = $(VIOMMU_UNIT_LDADD)
tests_unit_viommu_requests_t_SOURCES = tests/unit/viommu-requests-t.c tests/unit/viommu-util.h
tests_unit_viommu_requests_t_LDADD = $(VIOMMU_UNIT_LDADD)
tests_unit_viommu_classify_t_SOURCES = tests/unit/viommu-classify-t.c tests/unit/viommu-util.h
tests_unit_viommu_classify_t_LDADD = $(VIOMMU_UNIT_LDADD)

# The host bounce engine (swiotlb/, docs/swiotlb.md).
tests_unit_swiotlb_t_LDADD = swiotlb/libswiotlb.a tests/tap/libtap.a

# libvirt domain XML to vmm's configuration (vmm/domain.c).
tests_unit_domain_t_LDADD = $(UNIT_LDADD) $(LIBXML2_LIBS)

# "Check my driver": the extra initramfs archive, the vermagic reader, the
# guest-status port (vmm/guest_layer.c).
tests_unit_guest_layer_t_LDADD = $(UNIT_LDADD)

# The sanitizer twins of UNIT_TESTS, in the same order (check-san-list
# fails make check when a test is added there and not here).
SAN_UNIT_TESTS = \
	tests/unit/san/cli-t tests/unit/san/boot-t tests/unit/san/acpi-t tests/unit/san/serial-t \
	tests/unit/san/devices-t tests/unit/san/guest_mem-t tests/unit/san/cpuid-t tests/unit/san/irqchip-t tests/unit/san/pagewalk-t \
	tests/unit/san/systables-t tests/unit/san/dma-t tests/unit/san/virtqueue-t tests/unit/san/pci-t \
	tests/unit/san/virtio-pci-t tests/unit/san/virtio-notify-t tests/unit/san/virtio-net-t tests/unit/san/virtio-blk-t \
	tests/unit/san/dmatest-t tests/unit/san/nvme-t tests/unit/san/disk-t tests/unit/san/viommu-t \
	tests/unit/san/viommu-requests-t tests/unit/san/viommu-classify-t tests/unit/san/swiotlb-t \
	tests/unit/san/domain-t tests/unit/san/guest-layer-t
check-local: check-san-list
check-san-list:
	@want=`echo $(UNIT_TESTS) | sed 's|tests/unit/|tests/unit/san/|g'`; \
	test "$$want" = "`echo $(SAN_UNIT_TESTS)`" || \
		{ echo "tests/unit/local.mk: SAN_UNIT_TESTS must list every test of UNIT_TESTS" >&2; exit 1; }
.PHONY: check-san-list

# The same C tests again under AddressSanitizer + UndefinedBehaviorSanitizer
# (and LeakSanitizer at exit), as tests/unit/san/<name>-t: the libraries are
# compiled a second time with $(SAN_CFLAGS) -- per-target flags, so separate
# objects, built by make check only -- and each test is linked against
# those.  Any sanitizer report ends the test with a non-zero status, which
# fails it (ASAN_OPTIONS and UBSAN_OPTIONS: tests/local.mk).  Where the
# compiler cannot build them, configure says so and they are left out.
if HAVE_SANITIZERS
SAN_COMPILE_FLAGS = $(AM_CFLAGS) $(SAN_CFLAGS)
SAN_LINK_FLAGS = -fsanitize=address,undefined
check_LIBRARIES = tests/unit/san/libvmmcore.a tests/unit/san/libviommu.a \
	tests/unit/san/libswiotlb.a
tests_unit_san_libvmmcore_a_SOURCES = $(vmm_libvmmcore_a_SOURCES)
nodist_tests_unit_san_libvmmcore_a_SOURCES = $(nodist_vmm_libvmmcore_a_SOURCES)
tests_unit_san_libvmmcore_a_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_libviommu_a_SOURCES = $(viommu_libviommu_a_SOURCES)
tests_unit_san_libviommu_a_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_libswiotlb_a_SOURCES = $(swiotlb_libswiotlb_a_SOURCES)
tests_unit_san_libswiotlb_a_CFLAGS = $(SAN_COMPILE_FLAGS)

SAN_UNIT_LDADD = tests/unit/san/libvmmcore.a tests/tap/libtap.a
SAN_DEVICE_UNIT_LDADD = tests/unit/san/libvmmcore.a tests/unit/san/libviommu.a \
	tests/unit/san/libswiotlb.a tests/tap/libtap.a -lpthread
SAN_VIOMMU_UNIT_LDADD = tests/unit/san/libviommu.a tests/tap/libtap.a
SAN_SWIOTLB_UNIT_LDADD = tests/unit/san/libswiotlb.a tests/tap/libtap.a

check_PROGRAMS += $(SAN_UNIT_TESTS)

tests_unit_san_cli_t_SOURCES = tests/unit/cli-t.c
tests_unit_san_cli_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_cli_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_cli_t_LDADD = $(SAN_UNIT_LDADD)
tests_unit_san_boot_t_SOURCES = tests/unit/boot-t.c
tests_unit_san_boot_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_boot_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_boot_t_LDADD = $(SAN_UNIT_LDADD)
tests_unit_san_acpi_t_SOURCES = tests/unit/acpi-t.c
tests_unit_san_acpi_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_acpi_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_acpi_t_LDADD = $(SAN_UNIT_LDADD)
tests_unit_san_serial_t_SOURCES = tests/unit/serial-t.c
tests_unit_san_serial_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_serial_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_serial_t_LDADD = $(SAN_UNIT_LDADD)
tests_unit_san_devices_t_SOURCES = tests/unit/devices-t.c
tests_unit_san_devices_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_devices_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_devices_t_LDADD = $(SAN_UNIT_LDADD)
tests_unit_san_guest_mem_t_SOURCES = tests/unit/guest_mem-t.c
tests_unit_san_guest_mem_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_guest_mem_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_guest_mem_t_LDADD = $(SAN_UNIT_LDADD)
tests_unit_san_cpuid_t_SOURCES = tests/unit/cpuid-t.c
tests_unit_san_cpuid_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_cpuid_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_cpuid_t_LDADD = $(SAN_UNIT_LDADD)
tests_unit_san_irqchip_t_SOURCES = tests/unit/irqchip-t.c
tests_unit_san_irqchip_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_irqchip_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_irqchip_t_LDADD = $(SAN_UNIT_LDADD)
tests_unit_san_pagewalk_t_SOURCES = tests/unit/pagewalk-t.c
tests_unit_san_pagewalk_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_pagewalk_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_pagewalk_t_LDADD = $(SAN_UNIT_LDADD)
tests_unit_san_systables_t_SOURCES = tests/unit/systables-t.c
tests_unit_san_systables_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_systables_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_systables_t_LDADD = $(SAN_UNIT_LDADD)
tests_unit_san_dma_t_SOURCES = tests/unit/dma-t.c tests/unit/viommu-util.h
tests_unit_san_dma_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_dma_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_dma_t_LDADD = $(SAN_DEVICE_UNIT_LDADD)
tests_unit_san_virtqueue_t_SOURCES = tests/unit/virtqueue-t.c tests/unit/vring-util.h
tests_unit_san_virtqueue_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_virtqueue_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_virtqueue_t_LDADD = $(SAN_DEVICE_UNIT_LDADD)
tests_unit_san_pci_t_SOURCES = tests/unit/pci-t.c
tests_unit_san_pci_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_pci_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_pci_t_LDADD = $(SAN_DEVICE_UNIT_LDADD)
tests_unit_san_virtio_pci_t_SOURCES = tests/unit/virtio-pci-t.c tests/unit/vring-util.h tests/unit/vpci-driver.h
tests_unit_san_virtio_pci_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_virtio_pci_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_virtio_pci_t_LDADD = $(SAN_DEVICE_UNIT_LDADD)
tests_unit_san_virtio_notify_t_SOURCES = tests/unit/virtio-notify-t.c tests/unit/vring-util.h tests/unit/vpci-driver.h
tests_unit_san_virtio_notify_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_virtio_notify_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_virtio_notify_t_LDADD = $(SAN_DEVICE_UNIT_LDADD)
tests_unit_san_virtio_net_t_SOURCES = tests/unit/virtio-net-t.c tests/unit/vring-util.h \
	tests/unit/vpci-driver.h tests/unit/viommu-util.h
tests_unit_san_virtio_net_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_virtio_net_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_virtio_net_t_LDADD = $(SAN_DEVICE_UNIT_LDADD)
tests_unit_san_virtio_blk_t_SOURCES = tests/unit/virtio-blk-t.c tests/unit/vring-util.h tests/unit/thread-gate.h \
	tests/unit/vpci-driver.h tests/unit/viommu-util.h
tests_unit_san_virtio_blk_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_virtio_blk_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_virtio_blk_t_LDADD = $(SAN_DEVICE_UNIT_LDADD)
tests_unit_san_dmatest_t_SOURCES = tests/unit/dmatest-t.c
tests_unit_san_dmatest_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_dmatest_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_dmatest_t_LDADD = $(SAN_DEVICE_UNIT_LDADD)
tests_unit_san_nvme_t_SOURCES = tests/unit/nvme-t.c tests/unit/viommu-util.h tests/unit/thread-gate.h
tests_unit_san_nvme_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_nvme_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_nvme_t_LDADD = $(SAN_DEVICE_UNIT_LDADD)
tests_unit_san_disk_t_SOURCES = tests/unit/disk-t.c
tests_unit_san_disk_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_disk_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_disk_t_LDADD = $(SAN_UNIT_LDADD)
tests_unit_san_viommu_t_SOURCES = tests/unit/viommu-t.c tests/unit/viommu-util.h
tests_unit_san_viommu_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_viommu_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_viommu_t_LDADD = $(SAN_VIOMMU_UNIT_LDADD)
tests_unit_san_viommu_requests_t_SOURCES = tests/unit/viommu-requests-t.c tests/unit/viommu-util.h
tests_unit_san_viommu_requests_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_viommu_requests_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_viommu_requests_t_LDADD = $(SAN_VIOMMU_UNIT_LDADD)
tests_unit_san_viommu_classify_t_SOURCES = tests/unit/viommu-classify-t.c tests/unit/viommu-util.h
tests_unit_san_viommu_classify_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_viommu_classify_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_viommu_classify_t_LDADD = $(SAN_VIOMMU_UNIT_LDADD)
tests_unit_san_swiotlb_t_SOURCES = tests/unit/swiotlb-t.c
tests_unit_san_swiotlb_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_swiotlb_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_swiotlb_t_LDADD = $(SAN_SWIOTLB_UNIT_LDADD)
tests_unit_san_domain_t_SOURCES = tests/unit/domain-t.c
tests_unit_san_domain_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_domain_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_domain_t_LDADD = $(SAN_UNIT_LDADD) $(LIBXML2_LIBS)
tests_unit_san_guest_layer_t_SOURCES = tests/unit/guest-layer-t.c
tests_unit_san_guest_layer_t_CFLAGS = $(SAN_COMPILE_FLAGS)
tests_unit_san_guest_layer_t_LDFLAGS = $(SAN_LINK_FLAGS)
tests_unit_san_guest_layer_t_LDADD = $(SAN_UNIT_LDADD)
endif

# Shell tests that boot nothing: bad command-line and file inputs (one
# clear line, exit 1, never a crash); the generated ACPI tables through
# iasl; the TAP shell library itself; the default guest image's contents;
# the test host's verdicts and run-vmm.sh's retry rule (a fake L1); libvirt
# domain XML to vmm run options (the examples in docs/domains, refusals);
# the man page and the bash completion against vmm --help; make install
# DESTDIR=... and the installed vmm; the report's JSON Schema and validator;
# the --guest-* inputs (one line each); the quickstart demo's filter; the
# block benchmarks' counters and summary (tests/bench/blk-lib.sh).
UNIT_SHELL_TESTS = \
	tests/unit/bad-input.sh tests/unit/acpi-iasl.sh tests/unit/libtap.sh \
	tests/unit/guest-image.sh tests/unit/testhost.sh tests/unit/domain-xml.sh \
	tests/unit/man.sh tests/unit/install.sh tests/unit/report-schema.sh \
	tests/unit/guest-layer.sh tests/unit/demo-filter.sh tests/unit/bench-lib.sh
EXTRA_DIST += $(UNIT_SHELL_TESTS) tests/unit/expect-error.sh tests/unit/demo-sample.txt
# libvirt domain XML: the examples, the refused documents, their lines.
EXTRA_DIST += tests/unit/domains tests/unit/domain-print.expected \
	tests/unit/domain-refused.expected
