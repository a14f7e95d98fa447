/* SPDX-License-Identifier: MIT */
/*
 * PCI config space (ECAM and 0xcf8/0xcfc), BAR sizing, capabilities, and
 * the virtio-pci transport driven as a guest driver would: feature
 * negotiation (ACCESS_PLATFORM is not optional behind the IOMMU), queue
 * setup, MSI-X masking and pending bits, and a reset that forgets it all.
 */
#include "vmm/pci.h"
#include "vmm/pio.h"
#include "vmm/virtio_devices.h"
#include "viommu/viommu.h"
#include "vmm/log.h"
#include "tests/tap/basic.h"

#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

static struct pci_bus bus;
static struct pio_bus pio;
static struct guest_mem mem;
static int msis;
static uint32_t last_msi_data;

static int fake_msi(void *o, uint64_t addr, uint32_t data)
{
	msis++;
	last_msi_data = data;
	return 0;
}

static int no_ioeventfd(void *o, uint64_t gpa, unsigned int len, int fd, bool assign)
{
	return -38;  /* -ENOSYS: the transport falls back to MMIO exits */
}

static uint32_t cfg_read(uint16_t bdf, unsigned int off, unsigned int size)
{
	uint64_t v = 0;

	pci_mmio_access(&bus, PCI_ECAM_BASE + ((uint64_t)bdf << 12) + off, false, size, &v);
	return (uint32_t)v;
}

static void cfg_write(uint16_t bdf, unsigned int off, unsigned int size, uint32_t val)
{
	uint64_t v = val;

	pci_mmio_access(&bus, PCI_ECAM_BASE + ((uint64_t)bdf << 12) + off, true, size, &v);
}

static uint64_t bar0;

static uint64_t rd(unsigned int off, unsigned int size)
{
	uint64_t v = 0;

	pci_mmio_access(&bus, bar0 + off, false, size, &v);
	return v;
}

static void wr(unsigned int off, unsigned int size, uint64_t v)
{
	pci_mmio_access(&bus, bar0 + off, true, size, &v);
}

static bool is_ram(void *o, uint64_t gpa, uint64_t len) { return guest_mem_is_ram(o, gpa, len); }
static const struct viommu_mem_ops mops = { .is_ram = is_ram };

int main(void)
{
	struct virtio_host host = { .signal_msi = fake_msi, .ioeventfd = no_ioeventfd };
	struct viommu_config vcfg;
	struct viommu *v;
	static struct virtio_rng rng;
	uint16_t bdf = pci_bdf(2, 0);
	unsigned int cap, msix = 0, ncaps = 0;
	uint32_t val;

	plan(28);
	log_max_level = LOG_ERR;
	if (guest_mem_init(&mem, 64 << 20))
		bail("guest memory");
	host.mem = &mem;
	pci_bus_init(&bus);
	if (pci_register_pio(&bus, &pio))
		bail("pio");
	viommu_default_config(&vcfg);
	v = viommu_create(&vcfg, &mops, &mem);
	is_int(0, virtio_rng_create(&rng, &bus, 2, &host, v), "a virtio-rng behind the IOMMU in slot 2");

	/* Enumeration. */
	is_hex(0x10441af4, cfg_read(bdf, 0, 4), "ECAM: vendor 0x1af4, modern device 0x1044");
	is_hex(0xffffffff, cfg_read(pci_bdf(5, 0), 0, 4), "an empty slot reads all-ones");
	is_hex(0xffffffff, cfg_read(pci_bdf(2, 1), 0, 4), "function 1 does not exist");
	val = 0x80000000u | (bdf << 8);
	pio_access(&pio, PCI_CONFIG_ADDRESS, true, 4, &val);
	pio_access(&pio, PCI_CONFIG_DATA, false, 4, &val);
	is_hex(0x10441af4, val, "0xcf8/0xcfc reaches the same config space");
	val = 0x80000000u | (bdf << 8) | 0x2;
	pio_access(&pio, PCI_CONFIG_ADDRESS, true, 4, &val);
	pio_access(&pio, PCI_CONFIG_DATA + 2, false, 2, &val);
	is_hex(0x1044, val, "a word at 0xcfe");

	/* BAR sizing: write all-ones, read back the size mask, restore. */
	bar0 = cfg_read(bdf, PCI_BASE_ADDRESS_0, 4) & ~0xfu;
	ok(bar0 >= PCI_MMIO32_BASE && bar0 < PCI_MMIO32_BASE + PCI_MMIO32_SIZE, "BAR0 assigned in the window");
	cfg_write(bdf, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	is_hex((uint32_t)~(VPCI_BAR_SIZE - 1), cfg_read(bdf, PCI_BASE_ADDRESS_0, 4), "BAR0 size mask");
	cfg_write(bdf, PCI_BASE_ADDRESS_0, 4, (uint32_t)bar0);
	is_hex(0, cfg_read(bdf, PCI_VENDOR_ID, 2) == 0x1af4 ? 0 : 1, "vendor ID is read-only");
	cfg_write(bdf, PCI_VENDOR_ID, 2, 0x1234);
	is_hex(0x1af4, cfg_read(bdf, PCI_VENDOR_ID, 2), "a write to the vendor ID is ignored");

	/* Capability list: four virtio capabilities and MSI-X. */
	for (cap = cfg_read(bdf, PCI_CAPABILITY_LIST, 1); cap && ncaps < 16;
	     cap = cfg_read(bdf, cap + 1, 1), ncaps++)
		if (cfg_read(bdf, cap, 1) == PCI_CAP_ID_MSIX)
			msix = cap;
	is_int(4, ncaps, "capabilities: common, ISR, notify (no device config for rng), MSI-X");
	ok(msix != 0, "MSI-X capability present");

	/* BAR decode only with memory enabled. */
	{
		uint64_t x = 0;

		ok(!pci_mmio_access(&bus, bar0, false, 2, &x), "BAR0 not decoded before memory enable");
	}
	cfg_write(bdf, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	is_int(1, rd(VIRTIO_PCI_COMMON_NUMQ, 2), "num_queues through BAR0");

	/* Features: VERSION_1 and ACCESS_PLATFORM offered. */
	wr(VIRTIO_PCI_COMMON_DFSELECT, 4, 1);
	val = (uint32_t)rd(VIRTIO_PCI_COMMON_DF, 4);
	ok((val & (1u << (VIRTIO_F_VERSION_1 - 32))) && (val & (1u << (VIRTIO_F_ACCESS_PLATFORM - 32))),
	   "VERSION_1 and ACCESS_PLATFORM offered");
	wr(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	wr(VIRTIO_PCI_COMMON_GF, 4, 1u << (VIRTIO_F_VERSION_1 - 32));
	wr(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
	   VIRTIO_CONFIG_S_FEATURES_OK);
	ok(!(rd(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK),
	   "FEATURES_OK refused when the driver drops ACCESS_PLATFORM (IOMMU bypass)");
	wr(VIRTIO_PCI_COMMON_GF, 4, (1u << (VIRTIO_F_VERSION_1 - 32)) | (1u << (VIRTIO_F_ACCESS_PLATFORM - 32)));
	wr(VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
	   VIRTIO_CONFIG_S_FEATURES_OK);
	ok(rd(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK, "FEATURES_OK with both");
	wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	wr(VIRTIO_PCI_COMMON_GF, 4, 0xffffffff);
	wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	is_hex(0, rd(VIRTIO_PCI_COMMON_GF, 4), "features are frozen after FEATURES_OK");

	/* Queue setup. */
	wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	is_int(64, rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), "queue 0 max size 64");
	wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 48);
	is_int(64, rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), "a size that is not a power of two is ignored");
	wr(VIRTIO_PCI_COMMON_Q_SIZE, 2, 16);
	wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x10000);
	wr(VIRTIO_PCI_COMMON_Q_MSIX, 2, 1);
	wr(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	wr(VIRTIO_PCI_COMMON_Q_DESCLO, 4, 0x20000);
	is_hex(0x10000, rd(VIRTIO_PCI_COMMON_Q_DESCLO, 4), "an enabled queue's address is read-only");
	wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 7);
	is_int(0, rd(VIRTIO_PCI_COMMON_Q_SIZE, 2), "a queue that does not exist has size 0");

	/* MSI-X: masked vectors pend, unmasking delivers. */
	cfg_write(bdf, msix + 2, 2, 0x8000);       /* enable */
	wr(VPCI_MSIX_TABLE + 16 + 8, 4, 0x4142);   /* vector 1 data */
	rng.vd.vq[0].signalled_used_valid = false;
	pthread_mutex_lock(&rng.vd.lock);
	virtio_queue_interrupt(&rng.vd, 0);        /* vector 1 is masked (reset state) */
	pthread_mutex_unlock(&rng.vd.lock);
	is_int(0, msis, "a masked vector does not fire");
	ok(rd(VPCI_MSIX_PBA, 4) & 2, "its pending bit is set");
	wr(VPCI_MSIX_TABLE + 16 + 12, 4, 0);       /* unmask */
	ok(msis == 1 && last_msi_data == 0x4142, "unmasking delivers the pending vector");
	is_hex(0, rd(VPCI_MSIX_PBA, 4), "pending bit cleared");

	/* Reset forgets everything the driver set. */
	wr(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	wr(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	ok(rd(VIRTIO_PCI_COMMON_Q_ENABLE, 2) == 0 && rd(VIRTIO_PCI_COMMON_Q_DESCLO, 4) == 0 &&
	   rd(VIRTIO_PCI_COMMON_Q_SIZE, 2) == 64 && rd(VIRTIO_PCI_COMMON_Q_MSIX, 2) == 0xffff,
	   "after reset: queue disabled, addresses, size and vector back to defaults");
	wr(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	ok(rd(VIRTIO_PCI_COMMON_GF, 4) == 0 && rd(VIRTIO_PCI_COMMON_STATUS, 1) == 0,
	   "after reset: no features, status 0");

	virtio_pci_stop(&rng.vd);
	viommu_destroy(v);
	guest_mem_free(&mem);
	return 0;
}
