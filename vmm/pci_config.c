/* SPDX-License-Identifier: MIT */
#include "vmm/pci_config.h"

#include <stdio.h>
#include <string.h>

void pci_set_word(struct pci_device *d, unsigned int off, uint16_t v)
{
	d->cfg[off] = (uint8_t)v;
	d->cfg[off + 1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (unsigned int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void pci_set_long(struct pci_device *d, unsigned int off, uint32_t v)
{
	put_le32(&d->cfg[off], v);
}

uint16_t pci_get_word(const struct pci_device *d, unsigned int off)
{
	return (uint16_t)(d->cfg[off] | (d->cfg[off + 1] << 8));
}

uint32_t pci_get_long(const struct pci_device *d, unsigned int off)
{
	return (uint32_t)d->cfg[off] | ((uint32_t)d->cfg[off + 1] << 8) |
	       ((uint32_t)d->cfg[off + 2] << 16) | ((uint32_t)d->cfg[off + 3] << 24);
}

void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint16_t subsys_vendor, uint16_t subsys_id)
{
	memset(dev, 0, sizeof(*dev));
	dev->name = name;
	pci_set_word(dev, PCI_VENDOR_ID, vendor);
	pci_set_word(dev, PCI_DEVICE_ID, device);
	pci_set_byte(dev, PCI_REVISION_ID, 1);   /* virtio 1.0: revision >= 1 */
	pci_set_byte(dev, PCI_CLASS_PROG, (uint8_t)class_code);
	pci_set_word(dev, PCI_CLASS_PROG + 1, (uint16_t)(class_code >> 8));
	pci_set_byte(dev, PCI_HEADER_TYPE, 0);
	pci_set_word(dev, PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	pci_set_word(dev, PCI_SUBSYSTEM_ID, subsys_id);
	/* Memory decode, bus mastering, INTx disable are the guest's to set;
	 * there is no INTx pin (MSI-X only). */
	dev->wmask[PCI_COMMAND] = PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	dev->wmask[PCI_COMMAND + 1] = PCI_COMMAND_INTX_DISABLE >> 8;
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
	dev->next_cap = 0x40;
}

unsigned int pci_add_capability(struct pci_device *dev, uint8_t id, unsigned int len)
{
	unsigned int off = dev->next_cap;

	if (off + len > 256)
		return 0;
	dev->cfg[off] = id;
	dev->cfg[off + 1] = dev->cfg[PCI_CAPABILITY_LIST];  /* push on the front */
	dev->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
	pci_set_word(dev, PCI_STATUS, pci_get_word(dev, PCI_STATUS) | PCI_STATUS_CAP_LIST);
	dev->next_cap = (uint8_t)((off + len + 3) & ~3u);
	return off;
}

void pci_set_bar_addr(struct pci_device *dev, unsigned int bar, uint64_t addr)
{
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * bar;

	dev->bar[bar].addr = addr;
	pci_set_long(dev, off, (uint32_t)addr | (dev->bar[bar].is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0));
	if (dev->bar[bar].is64)
		pci_set_long(dev, off + 4, (uint32_t)(addr >> 32));
}

void pci_declare_bar(struct pci_device *dev, unsigned int bar, uint64_t size, bool is64,
		     uint64_t addr)
{
	unsigned int off = PCI_BASE_ADDRESS_0 + 4 * bar;

	dev->bar[bar].size = size;
	dev->bar[bar].is64 = is64;
	pci_set_bar_addr(dev, bar, addr);
	/* Address bits above the size are writable; the low flag bits not. */
	put_le32(&dev->wmask[off], (uint32_t)~(size - 1));
	if (is64)
		memset(&dev->wmask[off + 4], 0xff, 4);
}

uint64_t pci_bar_addr(const struct pci_device *dev, unsigned int bar)
{
	uint64_t addr = pci_get_long(dev, PCI_BASE_ADDRESS_0 + 4 * bar) & ~0xfull;

	if (dev->bar[bar].is64)
		addr |= (uint64_t)pci_get_long(dev, PCI_BASE_ADDRESS_0 + 4 * bar + 4) << 32;
	return addr;
}

bool pci_memory_enabled(const struct pci_device *dev)
{
	return pci_get_word(dev, PCI_COMMAND) & PCI_COMMAND_MEMORY;
}

struct pci_bdf_str pci_bdf_str(uint32_t bdf)
{
	struct pci_bdf_str out;

	snprintf(out.s, sizeof(out.s), "%02x:%02x.%u", bdf >> 8, (bdf >> 3) & 0x1f, bdf & 7);
	return out;
}
