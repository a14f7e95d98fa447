/* SPDX-License-Identifier: MIT */
#include "vmm/pci.h"
#include "vmm/pio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void pci_bus_init(struct pci_bus *bus)
{
	memset(bus, 0, sizeof(*bus));
	pthread_mutex_init(&bus->lock, NULL);
	bus->next_bar_addr = PCI_MMIO32_BASE;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	/* Also called for a bus that was never initialised (all zero). */
	for (unsigned int i = 0; i < bus->nports; i++) {
		free(bus->port[i]);
		bus->port[i] = NULL;
	}
	bus->nports = 0;
}

int pci_device_add_bar(struct pci_bus *bus, struct pci_device *dev, unsigned int bar,
		       uint64_t size, bool is64)
{
	uint64_t addr;

	/* After registration a BAR could land outside its root port's window. */
	if (dev->registered)
		return -EBUSY;
	if (bar >= PCI_NUM_BARS || (is64 && bar == PCI_NUM_BARS - 1) || size < 4096 ||
	    (size & (size - 1)))
		return -EINVAL;
	addr = (bus->next_bar_addr + size - 1) & ~(size - 1);
	if (addr + size > PCI_MMIO32_BASE + PCI_MMIO32_SIZE)
		return -ENOSPC;
	bus->next_bar_addr = addr + size;
	pci_declare_bar(dev, bar, size, is64, addr);
	return 0;
}

/*
 * Lay dev's BARs out from `start`, largest first, so that each one is
 * naturally aligned without gaps; move them there if `apply`.  Returns the
 * end of the last one (start if there is none).
 */
static uint64_t pack_bars(struct pci_device *dev, uint64_t start, bool apply)
{
	bool done[PCI_NUM_BARS] = { false };
	uint64_t addr = start;

	for (;;) {
		int big = -1;

		for (unsigned int b = 0; b < PCI_NUM_BARS; b++)
			if (dev->bar[b].size && !done[b] &&
			    (big < 0 || dev->bar[b].size > dev->bar[big].size))
				big = (int)b;
		if (big < 0)
			return addr;
		done[big] = true;
		addr = (addr + dev->bar[big].size - 1) & ~(dev->bar[big].size - 1);
		if (apply)
			pci_set_bar_addr(dev, (unsigned int)big, addr);
		addr += dev->bar[big].size;
	}
}

/*
 * Firmware's assignment for a device behind a root port: a window of its
 * own, 1 MiB-aligned (the granularity of a bridge's memory base/limit), above
 * everything assigned so far, so that it overlaps no other window or BAR.
 * The addresses pci_device_add_bar() gave the BARs are left unused.
 */
static int assign_window(struct pci_bus *bus, struct pci_root_port *rp, struct pci_device *dev)
{
	const uint64_t align = PCI_BRIDGE_WINDOW_ALIGN;
	uint64_t start = (bus->next_bar_addr + align - 1) & ~(align - 1);
	uint64_t end = pack_bars(dev, start, false);

	if (end == start)
		return 0;   /* no BARs: the window stays closed */
	end = (end + align - 1) & ~(align - 1);
	if (end > PCI_MMIO32_BASE + PCI_MMIO32_SIZE)
		return -ENOSPC;
	pack_bars(dev, start, true);
	bus->next_bar_addr = end;
	pci_root_port_set_window(rp, start, end);
	return 0;
}

/* The root port that forwards config accesses for busnr now (its
 * registers, not the plan); *exact: busnr is its secondary bus. */
static struct pci_root_port *port_for_bus(struct pci_bus *bus, unsigned int busnr, bool *exact)
{
	for (unsigned int i = 0; i < bus->nports; i++)
		if (pci_root_port_forwards(bus->port[i], busnr, exact))
			return bus->port[i];
	return NULL;
}

int pci_register_at(struct pci_bus *bus, struct pci_device *dev, unsigned int busnr,
		    unsigned int slot)
{
	struct pci_root_port *rp;
	bool exact = false;
	int ret;

	if (busnr >= PCI_MAX_BUSES || slot >= PCI_MAX_SLOTS)
		return -EINVAL;
	if (dev->registered)
		return -EBUSY;
	if (busnr == 0) {
		if (slot == 0 || bus->dev[slot])   /* slot 0: the host bridge's place */
			return -EBUSY;
		bus->dev[slot] = dev;
	} else {
		rp = port_for_bus(bus, busnr, &exact);
		if (!rp || !exact)
			return -ENODEV;
		if (slot != 0)
			return -EINVAL;   /* a PCIe link leads to device 0 only */
		if (rp->child)
			return -EBUSY;
		ret = assign_window(bus, rp, dev);
		if (ret)
			return ret;
		rp->child = dev;
	}
	dev->busnr = (uint8_t)busnr;
	dev->slot = (uint8_t)slot;
	dev->registered = true;
	return 0;
}

int pci_register(struct pci_bus *bus, struct pci_device *dev, unsigned int slot)
{
	/* Kept as it always answered: -EBUSY for any slot it cannot take. */
	if (slot >= PCI_MAX_SLOTS)
		return -EBUSY;
	return pci_register_at(bus, dev, 0, slot);
}

int pci_unregister(struct pci_bus *bus, struct pci_device *dev)
{
	if (!dev->registered)
		return -ENOENT;
	for (unsigned int s = 0; s < PCI_MAX_SLOTS; s++) {
		if (bus->dev[s] == dev) {
			for (unsigned int i = 0; i < bus->nports; i++)
				if (&bus->port[i]->pci == dev)
					return -EBUSY;   /* a root port stays */
			bus->dev[s] = NULL;
			dev->registered = false;
			return 0;
		}
	}
	for (unsigned int i = 0; i < bus->nports; i++) {
		if (bus->port[i]->child == dev) {
			bus->port[i]->child = NULL;
			dev->registered = false;
			return 0;
		}
	}
	return -ENOENT;
}

int pci_add_root_port(struct pci_bus *bus, unsigned int slot, unsigned int secondary_bus,
		      bool external_facing)
{
	struct pci_root_port *rp;
	int ret;

	if (slot == 0 || slot >= PCI_MAX_SLOTS || secondary_bus == 0 || secondary_bus >= PCI_MAX_BUSES)
		return -EINVAL;
	if (bus->nports == PCI_MAX_ROOT_PORTS)
		return -ENOSPC;
	for (unsigned int i = 0; i < bus->nports; i++)
		if (bus->port[i]->secondary == secondary_bus)
			return -EBUSY;
	if (bus->dev[slot])
		return -EBUSY;
	rp = calloc(1, sizeof(*rp));
	if (!rp)
		return -ENOMEM;
	pci_root_port_init(rp, slot, secondary_bus, external_facing);
	ret = pci_register_at(bus, &rp->pci, 0, slot);
	if (ret) {
		free(rp);
		return ret;
	}
	bus->port[bus->nports++] = rp;
	return 0;
}

/* Called with bus->lock held (the routing reads root port registers). */
static struct pci_device *lookup(struct pci_bus *bus, uint16_t bdf)
{
	unsigned int busnr = bdf >> 8, slot = (bdf >> 3) & 0x1f;
	struct pci_root_port *rp;
	bool exact = false;

	if ((bdf & 7) != 0)   /* function 0 only */
		return NULL;
	if (busnr == 0)
		return bus->dev[slot];
	/* A type-1 access: the root port that decodes the bus passes it on
	 * (type 0 on its secondary bus; beyond that there is nothing). */
	rp = port_for_bus(bus, busnr, &exact);
	return rp && exact && slot == 0 ? rp->child : NULL;
}

uint32_t pci_config_read(struct pci_bus *bus, uint16_t bdf, unsigned int offset, unsigned int size)
{
	struct pci_device *dev;
	uint32_t val = 0;

	if (offset >= PCI_CFG_SPACE_SIZE || (size != 1 && size != 2 && size != 4) ||
	    (offset & (size - 1)))
		return 0xffffffffu;
	pthread_mutex_lock(&bus->lock);
	dev = lookup(bus, bdf);
	if (!dev) {
		val = 0xffffffffu;   /* no device: all-ones, the guest's probe sees nothing */
	} else {
		for (unsigned int i = 0; i < size; i++)
			val |= (uint32_t)dev->cfg[offset + i] << (8 * i);
	}
	pthread_mutex_unlock(&bus->lock);
	if (size < 4)
		val &= (1u << (8 * size)) - 1;
	return val;
}

void pci_config_write(struct pci_bus *bus, uint16_t bdf, unsigned int offset, unsigned int size,
		      uint32_t val)
{
	struct pci_device *dev;
	uint64_t old_addr[PCI_NUM_BARS];
	bool old_mem;

	if (offset >= PCI_CFG_SPACE_SIZE || (size != 1 && size != 2 && size != 4) ||
	    (offset & (size - 1)))
		return;
	pthread_mutex_lock(&bus->lock);
	dev = lookup(bus, bdf);
	if (!dev) {
		pthread_mutex_unlock(&bus->lock);
		return;
	}
	old_mem = pci_memory_enabled(dev);
	for (unsigned int b = 0; b < PCI_NUM_BARS; b++)
		old_addr[b] = dev->bar[b].size ? pci_bar_addr(dev, b) : 0;
	for (unsigned int i = 0; i < size; i++) {
		uint8_t m = dev->wmask[offset + i];

		dev->cfg[offset + i] = (uint8_t)((dev->cfg[offset + i] & ~m) | ((val >> (8 * i)) & m));
	}
	/* A BAR moved or decode switched: tell the device (ioeventfds). */
	for (unsigned int b = 0; b < PCI_NUM_BARS; b++) {
		uint64_t now;
		bool mem = pci_memory_enabled(dev);

		if (!dev->bar[b].size)
			continue;
		now = pci_bar_addr(dev, b);
		dev->bar[b].addr = now;
		if ((old_mem != mem || now != old_addr[b]) && dev->ops && dev->ops->bar_remapped)
			dev->ops->bar_remapped(dev, b, old_mem ? old_addr[b] : 0, mem ? now : 0);
	}
	pthread_mutex_unlock(&bus->lock);
	if (dev->ops && dev->ops->config_written)
		dev->ops->config_written(dev, offset, size);
}

/* dev's BAR that decodes [gpa, gpa + size): the access is done, true. */
static bool bar_access(struct pci_device *dev, uint64_t gpa, bool is_write, unsigned int size,
		       uint64_t *val)
{
	if (!dev || !dev->ops || !pci_memory_enabled(dev))
		return false;
	for (unsigned int b = 0; b < PCI_NUM_BARS; b++) {
		const struct pci_bar *bar = &dev->bar[b];

		if (!bar->size || gpa < bar->addr || gpa - bar->addr >= bar->size ||
		    size > bar->size - (gpa - bar->addr))
			continue;
		if (is_write) {
			if (dev->ops->bar_write)
				dev->ops->bar_write(dev, b, gpa - bar->addr, size, *val);
		} else {
			*val = dev->ops->bar_read ? dev->ops->bar_read(dev, b, gpa - bar->addr, size)
						  : ~0ull;
		}
		return true;
	}
	return false;
}

bool pci_mmio_access(struct pci_bus *bus, uint64_t gpa, bool is_write, unsigned int size, uint64_t *val)
{
	if (gpa >= PCI_ECAM_BASE && gpa - PCI_ECAM_BASE < PCI_ECAM_SIZE) {
		uint64_t off = gpa - PCI_ECAM_BASE;
		uint16_t bdf = (uint16_t)(off >> 12);

		if (size > 4) {
			if (!is_write)
				*val = ~0ull;
			return true;
		}
		if (is_write)
			pci_config_write(bus, bdf, off & 0xfff, size, (uint32_t)*val);
		else
			*val = pci_config_read(bus, bdf, off & 0xfff, size);
		return true;
	}
	/* The device list is fixed once the guest runs: no lock needed. */
	for (unsigned int s = 0; s < PCI_MAX_SLOTS; s++)
		if (bar_access(bus->dev[s], gpa, is_write, size, val))
			return true;
	for (unsigned int i = 0; i < bus->nports; i++)
		if (bar_access(bus->port[i]->child, gpa, is_write, size, val))
			return true;
	return false;
}

static uint32_t cf8_read(void *opaque, uint16_t offset, unsigned int size)
{
	struct pci_bus *bus = opaque;
	uint32_t addr = __atomic_load_n(&bus->config_address, __ATOMIC_ACQUIRE);

	if (offset < 4)   /* 0xcf8: the address latch, dword only */
		return size == 4 ? addr : 0xffffffffu;
	if (!(addr & 0x80000000u))
		return 0xffffffffu;
	return pci_config_read(bus, (uint16_t)((addr >> 8) & 0xffff),
			       (addr & 0xfc) | ((addr >> 16) & 0xf00) | (offset - 4), size);
}

static void cf8_write(void *opaque, uint16_t offset, unsigned int size, uint32_t val)
{
	struct pci_bus *bus = opaque;
	uint32_t addr = __atomic_load_n(&bus->config_address, __ATOMIC_ACQUIRE);

	if (offset < 4) {
		if (offset == 0 && size == 4)
			__atomic_store_n(&bus->config_address, val, __ATOMIC_RELEASE);
		return;
	}
	if (!(addr & 0x80000000u))
		return;
	/* Bits 27:24 of the address latch: extended register number (AMD). */
	pci_config_write(bus, (uint16_t)((addr >> 8) & 0xffff),
			 (addr & 0xfc) | ((addr >> 16) & 0xf00) | (offset - 4), size, val);
}

static const struct pio_ops cf8_ops = { .read = cf8_read, .write = cf8_write };

int pci_register_pio(struct pci_bus *bus, struct pio_bus *pio)
{
	return pio_register(pio, PCI_CONFIG_ADDRESS, 8, &cf8_ops, bus, "pci-conf1");
}
