/* SPDX-License-Identifier: MIT */
#ifndef TESTS_VPCI_DRIVER_H
#define TESTS_VPCI_DRIVER_H

/* The guest driver's side of one of vmm's virtio-pci functions, through
 * the PCI bus (config space, BAR 0 MMIO) and fake guest memory: for the
 * KVM-free tests that play the guest's virtio-pci transport. */
#include "vmm/guest_mem.h"
#include "vmm/pci.h"
#include "vmm/virtio_pci.h"
#include "tests/tap/basic.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

#define VPCI_DRV_MSI_ADDR 0xfee00000u

/* The host side the tests give their devices: MSIs ignored (for the
 * tests that poll), no ioeventfd (kicks are MMIO writes, which reach the
 * I/O thread through its eventfd), and an IOMMU whose notion of RAM is
 * the fake guest memory. */
static inline int vpci_no_ioeventfd(void *o, uint64_t gpa, unsigned int len, int fd, bool assign)
{
	(void)o, (void)gpa, (void)len, (void)fd, (void)assign;
	return -ENOSYS;
}

static inline int vpci_ignore_msi(void *o, uint64_t addr, uint32_t data)
{
	(void)o, (void)addr, (void)data;
	return 0;
}

static inline bool vpci_is_ram(void *o, uint64_t gpa, uint64_t len)
{
	return guest_mem_is_ram(o, gpa, len);
}

/* Poll for `cond` (the device's threads work asynchronously) with a bound
 * far above any plausible delay, so a loaded machine never fails the test. */
#define WAIT_UNTIL(cond) ({                                       \
	bool _met = false;                                        \
	for (int _i = 0; _i < 10000 && !(_met = (cond)); _i++)    \
		usleep(1000);                                     \
	_met;                                                     \
})

/* Every byte of guest memory [gpa, gpa + len) is `byte`. */
static inline bool vpci_mem_is(struct guest_mem *mem, uint64_t gpa, uint8_t byte, size_t len)
{
	const uint8_t *p = guest_mem_ptr(mem, gpa, len);

	for (size_t i = 0; i < len; i++)
		if (p[i] != byte)
			return false;
	return true;
}

struct vpci_drv {
	struct pci_bus *bus;
	struct guest_mem *mem;
	struct virtio_dev *vd;
	uint16_t bdf;
	uint64_t bar;
	unsigned int msix;      /* MSI-X capability offset */
};

static inline uint64_t vpci_rd(struct vpci_drv *d, unsigned int off, unsigned int size)
{
	uint64_t v = 0;

	pci_mmio_access(d->bus, d->bar + off, false, size, &v);
	return v;
}

static inline void vpci_wr(struct vpci_drv *d, unsigned int off, unsigned int size, uint64_t v)
{
	pci_mmio_access(d->bus, d->bar + off, true, size, &v);
}

static inline void vpci_set_command(struct vpci_drv *d, uint16_t cmd)
{
	pci_config_write(d->bus, d->bdf, PCI_COMMAND, 2, cmd);
}

static inline uint8_t vpci_status(struct vpci_drv *d)
{
	return (uint8_t)vpci_rd(d, VIRTIO_PCI_COMMON_STATUS, 1);
}

/* Enumerate, enable decoding and bus mastering, MSI-X on with every
 * vector of the table programmed (data = msi_data + vector) and unmasked,
 * features negotiated (all the device offers but `refuse`), configuration
 * changes on vector 0.  Bails out when the device refuses. */
static inline void vpci_probe(struct vpci_drv *d, struct pci_bus *bus, struct guest_mem *mem,
			      struct virtio_dev *vd, uint32_t msi_data, uint64_t refuse)
{
	unsigned int cap, vectors;

	d->bus = bus;
	d->mem = mem;
	d->vd = vd;
	d->bdf = pci_bdf(vd->pci.slot, 0);
	d->bar = pci_config_read(bus, d->bdf, PCI_BASE_ADDRESS_0, 4) & ~0xfull;
	d->msix = 0;
	for (cap = pci_config_read(bus, d->bdf, PCI_CAPABILITY_LIST, 1); cap;
	     cap = pci_config_read(bus, d->bdf, cap + 1, 1))
		if (pci_config_read(bus, d->bdf, cap, 1) == PCI_CAP_ID_MSIX)
			d->msix = cap;
	if (!d->msix)
		bail("%s: no MSI-X capability", vd->ops->name);
	vpci_set_command(d, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	pci_config_write(bus, d->bdf, d->msix + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE);
	vectors = (pci_config_read(bus, d->bdf, d->msix + PCI_MSIX_FLAGS, 2) &
		   PCI_MSIX_FLAGS_QSIZE) + 1;
	for (unsigned int v = 0; v < vectors; v++) {
		vpci_wr(d, VPCI_MSIX_TABLE + 16 * v, 4, VPCI_DRV_MSI_ADDR);
		vpci_wr(d, VPCI_MSIX_TABLE + 16 * v + 4, 4, 0);
		vpci_wr(d, VPCI_MSIX_TABLE + 16 * v + 8, 4, msi_data + v);
		vpci_wr(d, VPCI_MSIX_TABLE + 16 * v + 12, 4, 0);
	}
	vpci_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	vpci_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	for (unsigned int sel = 0; sel < 2; sel++) {
		vpci_wr(d, VIRTIO_PCI_COMMON_DFSELECT, 4, sel);
		vpci_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, sel);
		vpci_wr(d, VIRTIO_PCI_COMMON_GF, 4,
			vpci_rd(d, VIRTIO_PCI_COMMON_DF, 4) & ~(uint32_t)(refuse >> (32 * sel)));
	}
	vpci_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		VIRTIO_CONFIG_S_FEATURES_OK);
	if (!(vpci_status(d) & VIRTIO_CONFIG_S_FEATURES_OK))
		bail("%s: features refused", vd->ops->name);
	vpci_wr(d, VIRTIO_PCI_COMMON_MSIX, 2, 0);
}

/* Queue q of `size` entries at desc/avail/used (rings that are RAM are
 * zeroed; one outside RAM, a test of the device's answer, is left), its
 * interrupts on `vector`, enabled. */
static inline void vpci_queue(struct vpci_drv *d, unsigned int q, uint16_t size, uint64_t desc,
			      uint64_t avail, uint64_t used, uint16_t vector)
{
	const uint64_t addr[3] = { desc, avail, used };
	const uint64_t len[3] = { 16u * size, 6u + 2u * size, 6u + 8u * size };

	for (unsigned int i = 0; i < 3; i++)
		if (guest_mem_is_ram(d->mem, addr[i], len[i]))
			memset(guest_mem_ptr(d->mem, addr[i], len[i]), 0, len[i]);
	vpci_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	vpci_wr(d, VIRTIO_PCI_COMMON_Q_SIZE, 2, size);
	vpci_wr(d, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)desc);
	vpci_wr(d, VIRTIO_PCI_COMMON_Q_DESCHI, 4, (uint32_t)(desc >> 32));
	vpci_wr(d, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)avail);
	vpci_wr(d, VIRTIO_PCI_COMMON_Q_AVAILHI, 4, (uint32_t)(avail >> 32));
	vpci_wr(d, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)used);
	vpci_wr(d, VIRTIO_PCI_COMMON_Q_USEDHI, 4, (uint32_t)(used >> 32));
	vpci_wr(d, VIRTIO_PCI_COMMON_Q_MSIX, 2, vector);
	vpci_wr(d, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
}

static inline void vpci_driver_ok(struct vpci_drv *d)
{
	vpci_wr(d, VIRTIO_PCI_COMMON_STATUS, 1, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
		VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
}

static inline void vpci_kick(struct vpci_drv *d, unsigned int q)
{
	vpci_wr(d, VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * q, 2, q);
}

#endif
