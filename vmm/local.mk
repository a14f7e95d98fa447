# SPDX-License-Identifier: MIT
# The VMM.  Everything that does not need /dev/kvm goes into libvmmcore.a,
# which the unit tests link as well.
noinst_LIBRARIES += vmm/libvmmcore.a
vmm_libvmmcore_a_SOURCES = \
	vmm/acpi.c vmm/acpi.h \
	vmm/boot.c vmm/boot.h \
	vmm/cli.c vmm/cli.h \
	vmm/cpuid.c vmm/cpuid.h \
	vmm/guest_mem.c vmm/guest_mem.h \
	vmm/irqchip.c vmm/irqchip.h \
	vmm/pagewalk.c vmm/pagewalk.h \
	vmm/systables.c vmm/systables.h \
	vmm/log.c vmm/log.h \
	vmm/pio.c vmm/pio.h \
	vmm/pm.c vmm/pm.h \
	vmm/serial.c vmm/serial.h \
	vmm/dma.c vmm/dma.h \
	vmm/disk.c vmm/disk.h \
	vmm/dmatest.c vmm/dmatest.h guest/dmatest/dmatest_hw.h \
	vmm/nvme.c vmm/nvme.h vmm/nvme_spec.h \
	vmm/pci_config.c vmm/pci_config.h \
	vmm/pci_root_port.c vmm/pci_root_port.h \
	vmm/pci.c vmm/pci.h \
	vmm/devices_plan.c vmm/devices_plan.h \
	vmm/domain.c vmm/domain.h \
	vmm/guest_layer.c vmm/guest_layer.h guest/layer_status.h \
	vmm/virtqueue.c vmm/virtqueue.h \
	vmm/virtio_pci.c vmm/virtio_pci.h \
	vmm/virtio_blk.c vmm/virtio_rng.c vmm/virtio_iommu.c vmm/virtio_devices.h \
	vmm/virtio_net.c vmm/virtio_net.h vmm/net_tap.c vmm/net_tap.h \
	vmm/exit_codes.h vmm/layout.h
nodist_vmm_libvmmcore_a_SOURCES = vmm/dsdt.hex

bin_PROGRAMS += vmm/vmm
vmm_vmm_SOURCES = vmm/main.c vmm/kvm.c vmm/vcpu.c vmm/probe.c vmm/machine.h \
	vmm/devices.c vmm/devices.h vmm/sanitizer.c vmm/sanitizer.h vmm/report.c vmm/report.h
# The default guest: guest/out for the binary built here, $(pkgdatadir)/guest
# once installed (guest/local.mk installs it there).
vmm_vmm_CPPFLAGS = $(AM_CPPFLAGS) -DVMM_BUILD_BINARY='"$(abs_top_builddir)/vmm/vmm"' \
	-DVMM_BUILD_GUEST_DIR='"$(abs_top_builddir)/guest/out"' \
	-DVMM_INSTALLED_GUEST_DIR='"$(pkgdatadir)/guest"'
vmm_vmm_LDADD = vmm/libvmmcore.a viommu/libviommu.a swiotlb/libswiotlb.a $(LIBXML2_LIBS)

# The DSDT: ASL compiled by iasl into a C array (dsdt_aml_code[]).
BUILT_SOURCES += vmm/dsdt.hex
CLEANFILES += vmm/dsdt.hex vmm/dsdt.aml
EXTRA_DIST += vmm/dsdt.asl
vmm/dsdt.hex: vmm/dsdt.asl
	$(AM_V_GEN)$(MKDIR_P) vmm && $(IASL) -tc -p vmm/dsdt $(srcdir)/vmm/dsdt.asl >/dev/null && \
	rm -f vmm/dsdt.aml
