/* SPDX-License-Identifier: MIT */
/*
 * PCI config space (ECAM and 0xcf8/0xcfc), BAR sizing, capabilities, and
 * the virtio-pci transport driven as a guest driver would: feature
 * negotiation (ACCESS_PLATFORM is not optional behind the IOMMU), queue
 * setup, MSI-X masking and pending bits, and a reset that forgets it all.
 * Then PCIe root ports: their type-1 header, PCIe and ACS capabilities,
 * config routing to their secondary buses (also after the guest renumbers
 * them), and the memory windows firmware programs around the BARs below.
 */
#include "vmm/pci.h"
#include "vmm/pio.h"
#include "vmm/virtio_devices.h"
#include "viommu/viommu.h"
#include "vmm/log.h"
#include "tests/tap/basic.h"

#include <errno.h>
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

/* A bare endpoint for behind the root ports: one BAR that reads 0xabcd. */
static uint64_t ep_bar_read(struct pci_device *d, unsigned int bar, uint64_t off, unsigned int size)
{
	return 0xabcd;
}
static const struct pci_device_ops ep_ops = { .bar_read = ep_bar_read };

static void make_endpoint(struct pci_device *d, uint64_t bar_size)
{
	pci_device_init(d, "ep", 0x1234, 0x5678, 0xff0000, 0, 0);
	d->ops = &ep_ops;
	if (pci_device_add_bar(&bus, d, 0, bar_size, false))
		bail("endpoint BAR");
}

/* The capability with `id` in dev's list (0 if none). */
static unsigned int find_cap(uint16_t bdf, unsigned int id)
{
	unsigned int c = cfg_read(bdf, PCI_CAPABILITY_LIST, 1);

	for (unsigned int n = 0; c && n < 48; n++, c = cfg_read(bdf, c + 1, 1))
		if (cfg_read(bdf, c, 1) == id)
			return c;
	return 0;
}

static void root_ports(void)
{
	static struct pci_device ep1, ep2, ep3, onbus0;
	const uint16_t rp = pci_bdf(4, 0), rp2 = pci_bdf(6, 0), child = pci_bdf_at(1, 0, 0);
	uint64_t base, limit, x = 0;
	unsigned int exp;
	uint32_t val;

	is_int(0, pci_add_root_port(&bus, 4, 1, true), "a root port in slot 4, secondary bus 1");
	is_int(-EBUSY, pci_add_root_port(&bus, 4, 2, true), "its slot is taken");
	is_int(-EBUSY, pci_add_root_port(&bus, 5, 1, true), "its bus is taken");
	is_int(-EINVAL, pci_add_root_port(&bus, 5, 0, true), "bus 0 cannot be a secondary bus");
	is_int(-EINVAL, pci_add_root_port(&bus, 5, PCI_MAX_BUSES, true), "nor a bus past the ECAM window");
	is_int(-EINVAL, pci_add_root_port(&bus, 0, 2, true), "slot 0 is the host bridge's");

	/* Its header, as Linux reads it. */
	is_hex(0x000c1b36, cfg_read(rp, PCI_VENDOR_ID, 4), "root port 1b36:000c");
	is_hex(0x060400, cfg_read(rp, 0x08, 4) >> 8, "class: PCI-to-PCI bridge");
	is_hex(PCI_HEADER_TYPE_BRIDGE, cfg_read(rp, PCI_HEADER_TYPE, 1), "type-1 header, single function");
	is_hex(0x010100, cfg_read(rp, PCI_PRIMARY_BUS, 4) & 0xffffff, "primary 0, secondary 1, subordinate 1");
	exp = find_cap(rp, PCI_CAP_ID_EXP);
	ok(exp && (cfg_read(rp, exp + PCI_EXP_FLAGS, 2) >> 4 & 0xf) == PCI_EXP_TYPE_ROOT_PORT,
	   "PCIe capability, device/port type Root Port");
	ok(exp && (cfg_read(rp, exp + PCI_EXP_LNKSTA, 2) & (1u << 13)), "its link is up (DLLLA)");
	is_hex(PCI_EXT_CAP_ID_ACS | 1u << 16, cfg_read(rp, 0x100, 4), "ACS: the first and only extended capability");
	is_hex(PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF, cfg_read(rp, 0x100 + PCI_ACS_CAP, 2),
	       "ACS: source validation, request/completion redirect, upstream forwarding");
	is_hex(0, cfg_read(rp, 0x100 + PCI_ACS_CTRL, 2), "ACS control 0 after reset");
	cfg_write(rp, 0x100 + PCI_ACS_CTRL, 2, 0xffff);
	is_hex(0x1d, cfg_read(rp, 0x100 + PCI_ACS_CTRL, 2), "ACS control: what it has can be enabled");
	cfg_write(rp, PCI_IO_BASE, 2, 0xf0f0);
	cfg_write(rp, PCI_PREF_MEMORY_BASE, 4, 0xfff0fff0);
	ok(cfg_read(rp, PCI_IO_BASE, 2) == 0 && cfg_read(rp, PCI_PREF_MEMORY_BASE, 4) == 0,
	   "no I/O and no prefetchable window (read-only zeros)");
	ok(cfg_read(rp, PCI_MEMORY_BASE, 2) > cfg_read(rp, PCI_MEMORY_LIMIT, 2),
	   "memory window closed while nothing is below");

	/* A device below it: BARs moved into a window of its own. */
	make_endpoint(&onbus0, 0x4000);
	is_int(0, pci_register_at(&bus, &onbus0, 0, 5), "pci_register_at bus 0 = pci_register");
	make_endpoint(&ep1, 0x8000);
	is_int(-ENODEV, pci_register_at(&bus, &ep1, 2, 0), "bus 2: no root port leads there");
	is_int(-EINVAL, pci_register_at(&bus, &ep1, 1, 1), "a root port's link has device 0 only");
	is_int(-EINVAL, pci_register_at(&bus, &ep1, PCI_MAX_BUSES, 0), "a bus past the ECAM window");
	is_int(0, pci_register_at(&bus, &ep1, 1, 0), "an endpoint at 01:00.0");
	is_hex(0x0100, pci_device_bdf(&ep1), "its BDF (= IOMMU endpoint ID) is 0x100");
	is_int(-EBUSY, pci_register_at(&bus, &ep1, 0, 7), "registered once only");
	is_int(-EBUSY, pci_device_add_bar(&bus, &ep1, 1, 0x1000, false), "no BAR after registration");
	make_endpoint(&ep2, 0x4000);
	is_int(-EBUSY, pci_register_at(&bus, &ep2, 1, 0), "01:00.0 is taken");
	base = (uint64_t)(cfg_read(rp, PCI_MEMORY_BASE, 2) & 0xfff0) << 16;
	limit = (uint64_t)(cfg_read(rp, PCI_MEMORY_LIMIT, 2) & 0xfff0) << 16 | 0xfffff;
	ok(base % PCI_BRIDGE_WINDOW_ALIGN == 0 && limit >= base && base >= PCI_MMIO32_BASE &&
	   limit < PCI_MMIO32_BASE + PCI_MMIO32_SIZE, "memory window %#llx-%#llx in the host bridge's",
	   (unsigned long long)base, (unsigned long long)limit);
	ok(ep1.bar[0].addr >= base && ep1.bar[0].addr + ep1.bar[0].size - 1 <= limit &&
	   ep1.bar[0].addr % ep1.bar[0].size == 0, "the endpoint's BAR (%#llx) is inside it, aligned",
	   (unsigned long long)ep1.bar[0].addr);
	is_hex(ep1.bar[0].addr, cfg_read(child, PCI_BASE_ADDRESS_0, 4) & ~0xfu, "and its BAR register says so");
	ok(onbus0.bar[0].addr + onbus0.bar[0].size <= base && bar0 + VPCI_BAR_SIZE <= base,
	   "bus-0 BARs stay outside the window");

	/* Config routing through the port: ECAM and 0xcf8. */
	is_hex(0x56781234, cfg_read(child, PCI_VENDOR_ID, 4), "ECAM reaches 01:00.0");
	is_hex(0xffffffff, cfg_read(pci_bdf_at(1, 1, 0), 0, 4), "01:01.0 does not exist");
	is_hex(0xffffffff, cfg_read(pci_bdf_at(3, 0, 0), 0, 4), "nothing decodes bus 3");
	val = 0x80000000u | (uint32_t)child << 8;
	pio_access(&pio, PCI_CONFIG_ADDRESS, true, 4, &val);
	pio_access(&pio, PCI_CONFIG_DATA, false, 4, &val);
	is_hex(0x56781234, val, "0xcf8/0xcfc reaches 01:00.0 too");
	val = 0x80000000u | (uint32_t)rp << 8 | 0x01000000u;   /* extended register 0x100 (AMD) */
	pio_access(&pio, PCI_CONFIG_ADDRESS, true, 4, &val);
	pio_access(&pio, PCI_CONFIG_DATA, false, 4, &val);
	is_hex(PCI_EXT_CAP_ID_ACS | 1u << 16, val, "and the port's extended space");

	/* Its BAR decodes once memory is enabled (whatever the bridge says). */
	cfg_write(child, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	ok(pci_mmio_access(&bus, ep1.bar[0].addr + 8, false, 4, &x) && x == 0xabcd,
	   "BAR of 01:00.0 decoded");

	/* The guest renumbers: routing follows the port's registers. */
	cfg_write(rp, PCI_PRIMARY_BUS, 4, 0x050500);
	ok(cfg_read(child, PCI_VENDOR_ID, 4) == 0xffffffff &&
	   cfg_read(pci_bdf_at(5, 0, 0), PCI_VENDOR_ID, 4) == 0x56781234,
	   "secondary bus renumbered to 5: the device answers on bus 5");
	cfg_write(rp, PCI_PRIMARY_BUS, 4, 0x010100);

	/* A second port and its window, disjoint from the first. */
	is_int(0, pci_add_root_port(&bus, 6, 2, false), "a second root port, slot 6, bus 2");
	make_endpoint(&ep3, 0x200000);
	is_int(0, pci_register_at(&bus, &ep3, 2, 0), "a 2 MiB BAR at 02:00.0");
	ok((uint64_t)(cfg_read(rp2, PCI_MEMORY_BASE, 2) & 0xfff0) << 16 > limit &&
	   ep3.bar[0].addr >= (uint64_t)(cfg_read(rp2, PCI_MEMORY_BASE, 2) & 0xfff0) << 16 &&
	   ep3.bar[0].addr + ep3.bar[0].size - 1 <=
	   ((uint64_t)(cfg_read(rp2, PCI_MEMORY_LIMIT, 2) & 0xfff0) << 16 | 0xfffff),
	   "its window holds the 2 MiB BAR and lies above the first");

	/* Taking devices off again. */
	is_int(0, pci_unregister(&bus, &ep1), "01:00.0 unregistered");
	is_hex(0xffffffff, cfg_read(child, 0, 4), "01:00.0 reads all-ones now");
	is_int(-ENOENT, pci_unregister(&bus, &ep1), "not twice");
	is_int(-EBUSY, pci_unregister(&bus, &bus.port[0]->pci), "a root port stays");
	is_int(0, pci_register_at(&bus, &ep2, 1, 0), "another device can take 01:00.0");
}
static const struct viommu_host_ops mops = { .is_ram = is_ram };

int main(void)
{
	struct virtio_host host = { .signal_msi = fake_msi, .ioeventfd = no_ioeventfd };
	struct viommu_config vcfg;
	struct viommu *v;
	static struct virtio_rng rng;
	uint16_t bdf = pci_bdf(2, 0);
	unsigned int cap, msix = 0, ncaps = 0;
	uint32_t val;

	plan(28 + 46);
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
	virtio_queue_lock(&rng.vd, 0);             /* as its run would */
	virtio_queue_interrupt(&rng.vd, 0);        /* vector 1 is masked (reset state) */
	virtio_queue_unlock(&rng.vd, 0);
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

	root_ports();

	virtio_pci_stop(&rng.vd);
	pci_bus_destroy(&bus);
	viommu_destroy(v);
	guest_mem_free(&mem);
	return 0;
}
