/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the NVMe controller (vmm/nvme.c) -- its registers,
 * queues, admin and I/O commands and the PRP / SGL decoder -- through BAR0
 * and guest memory, with the real virtio-iommu library and bounce pool
 * behind it and an in-memory disk (memfd).  Input format:
 * tests/fuzz/nvme-format.h.  After every operation the controller runs
 * whatever the doorbells announced (nvme_poll, no thread), and then:
 * - it wrote guest memory only where a live mapping with WRITE permission
 *   (the oracle) allows -- completions, Identify data, read data alike;
 * - it still answers its registers, and CSTS never says ready and
 *   shut down at once with CC.EN clear;
 * - every descriptor violation it reported names a rule and came with a
 *   counted descriptor error (the report's counters match the records).
 * Crashes, hangs, leaks and sanitizer reports are libFuzzer's to find.
 */
#include "tests/fuzz/nvme-format.h"
#include "tests/fuzz/fuzz.h"
#include "vmm/nvme.h"
#include "vmm/nvme_spec.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define POOL_BYTES (1u << 20)
#define SLOT 16

static struct {
	uint8_t cfg;
	struct guest_mem ram, before;
	struct fuzz_iommu fi;
	struct fuzz_oracle o;
	struct fuzz_ring none;        /* for POKE */
	struct pci_bus bus;
	struct nvme *n;
	struct dma_space dma;
	uint16_t bdf;
	uint64_t descriptor_reports;
} h;

static int stub_signal_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque, (void)addr, (void)data;
	return 0;
}

static void on_descriptor(void *opaque, uint32_t ep, uint64_t addr, uint64_t len, bool device_write,
			  const char *rule)
{
	(void)opaque;
	FUZZ_CHECK(rule != NULL && rule[0] != '\0');
	h.descriptor_reports++;
	if (h.fi.v)
		viommu_report_descriptor(h.fi.v, ep, addr, len, device_write ? VIOMMU_WRITE : VIOMMU_READ,
					 rule);
}

static uint64_t bar0(void)
{
	struct pci_device *d = nvme_pci(h.n);

	return (pci_get_long(d, PCI_BASE_ADDRESS_0) & ~0xfull) |
	       (uint64_t)pci_get_long(d, PCI_BASE_ADDRESS_0 + 4) << 32;
}

static void setup(void)
{
	bool iommu = !(h.cfg & NVF_CFG_NO_IOMMU);
	struct nvme_params p = {
		.index = 0,
		.queues = 2,
		.serial = "FUZZ",
		.signal_msi = stub_signal_msi,
		.descriptor_violation = on_descriptor,
	};
	struct pci_device *d;
	unsigned int cap = 0;

	fuzz_ram_start(&h.ram);
	fuzz_iommu_create(&h.fi, &h.ram, POOL_BYTES);
	fuzz_oracle_init(&h.o, &h.ram, iommu);
	h.descriptor_reports = 0;
	pci_bus_init(&h.bus);
	h.bdf = pci_bdf(SLOT, 0);
	{
		int fd = memfd_create("nvme-fuzz-disk", MFD_CLOEXEC);

		FUZZ_CHECK(fd >= 0 && ftruncate(fd, NVF_DISK_BYTES) == 0);
		FUZZ_CHECK(disk_open_fd(&p.disk, fd, h.cfg & NVF_CFG_RO) == 0);
	}
	fuzz_dma_setup(&h.fi, &p.dma, h.bdf, "nvme0", iommu, true);
	h.dma = p.dma;
	h.n = nvme_create(&h.bus, 0, SLOT, &p);
	FUZZ_CHECK(h.n != NULL);
	d = nvme_pci(h.n);
	pci_config_write(&h.bus, h.bdf, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	for (unsigned int c = d->cfg[PCI_CAPABILITY_LIST]; c; c = d->cfg[c + 1])
		if (d->cfg[c] == PCI_CAP_ID_MSIX)
			cap = c;
	FUZZ_CHECK(cap != 0);
	for (unsigned int v = 0; v < 3; v++) {
		uint64_t a = 0xfee00000, z = 0;

		pci_mmio_access(&h.bus, bar0() + 0x2000 + 16 * v, true, 4, &a);
		pci_mmio_access(&h.bus, bar0() + 0x2000 + 16 * v + 12, true, 4, &z);
	}
	pci_config_write(&h.bus, h.bdf, cap + 2, 2, 0x8000);
	if (iommu)
		FUZZ_CHECK(fuzz_req_attach(&h.fi, 1, h.bdf) == VIRTIO_IOMMU_S_OK);
	fuzz_oracle_refresh(&h.o, &h.fi, h.bdf);
}

static void teardown(void)
{
	struct nvme_stats st;

	nvme_stats(h.n, &st);
	FUZZ_CHECK(st.descriptor_errors == h.descriptor_reports);
	nvme_destroy(h.n);          /* closes the memfd */
	h.n = NULL;
	fuzz_dma_teardown(&h.dma);
	pci_bus_destroy(&h.bus);
	pthread_mutex_destroy(&h.bus.lock);
	fuzz_iommu_destroy(&h.fi);
}

static uint32_t reg_r(unsigned int off)
{
	uint64_t v = 0;

	pci_mmio_access(&h.bus, bar0() + off, false, 4, &v);
	return (uint32_t)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	h.cfg = fuzz_u8(&in);
	setup();
	while (in.left) {
		uint8_t op = fuzz_u8(&in) % NVF_NOPS;
		unsigned int off, sz;
		uint64_t v;

		FUZZ_TRACE("op %u\n", op);
		fuzz_ram_copy(&h.before, &h.ram);
		switch (op) {
		case NVF_MAP:
		case NVF_UNMAP:
		case NVF_ATTACH:
			fuzz_iommu_op(&h.fi, &h.o, op, h.bdf, &in);
			break;
		case NVF_POKE:
			fuzz_ring_op(&h.o, &h.ram, &h.none, FUZZ_OP_POKE, &in);
			fuzz_ram_copy(&h.before, &h.ram);
			break;
		case NVF_REG_WRITE:
			off = fuzz_u16(&in) % 0x4800;    /* a little past BAR0 too */
			sz = 1u << (fuzz_u8(&in) % 4);
			v = fuzz_u64(&in);
			pci_mmio_access(&h.bus, bar0() + off, true, sz, &v);
			break;
		case NVF_REG_READ:
			off = fuzz_u16(&in) % 0x4800;
			sz = 1u << (fuzz_u8(&in) % 4);
			v = 0;
			pci_mmio_access(&h.bus, bar0() + off, false, sz, &v);
			break;
		case NVF_SQE: {
			uint64_t addr = fuzz_u64(&in);
			uint8_t sqe[64];

			fuzz_take(&in, sqe, sizeof(sqe));
			fuzz_driver_write(&h.o, &h.ram, addr, sqe, sizeof(sqe));
			fuzz_ram_copy(&h.before, &h.ram);
			break;
		}
		default:
			pci_config_write(&h.bus, h.bdf, PCI_COMMAND, 2, fuzz_u16(&in));
			break;
		}
		nvme_poll(h.n);
		fuzz_check_device_writes(&h.o, &h.before, &h.ram);
		if (pci_memory_enabled(nvme_pci(h.n))) {
			uint32_t cc = reg_r(NVME_REG_CC), csts = reg_r(NVME_REG_CSTS);

			if (!(cc & NVME_CC_EN))
				FUZZ_CHECK(!(csts & NVME_CSTS_RDY));
			FUZZ_CHECK(reg_r(NVME_REG_VS) == NVME_VERSION);
		}
	}
	teardown();
	return 0;
}
