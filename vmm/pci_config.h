/* SPDX-License-Identifier: MIT */
#ifndef VMM_PCI_CONFIG_H
#define VMM_PCI_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

/*
 * One PCI function's configuration space, the bottom of the PCI code: the
 * 4 KiB register array with its write mask, little-endian accessors, the
 * type-0 header, capabilities and memory BAR declarations, and BDFs.  It
 * knows nothing of buses: device models (vmm/virtio_pci.c, vmm/dmatest.c)
 * and root ports (vmm/pci_root_port.c) build their config space with it,
 * and the bus (vmm/pci.c) routes guest accesses to it.  KVM-free.
 */
#define PCI_NUM_BARS      6
#define PCI_CFG_SPACE_SIZE 4096

struct pci_device;

struct pci_device_ops {
	/* Memory BAR access; offset from the BAR base, size 1/2/4/8. */
	uint64_t (*bar_read)(struct pci_device *dev, unsigned int bar, uint64_t offset, unsigned int size);
	void (*bar_write)(struct pci_device *dev, unsigned int bar, uint64_t offset, unsigned int size,
			  uint64_t val);
	/* Called after a config write was applied (e.g. MSI-X enable). */
	void (*config_written)(struct pci_device *dev, unsigned int offset, unsigned int size);
	/* A BAR moved or memory decode was switched: addr 0 means "not decoded". */
	void (*bar_remapped)(struct pci_device *dev, unsigned int bar, uint64_t old_addr, uint64_t new_addr);
};

struct pci_bar {
	uint64_t size;       /* 0: unimplemented; power of two */
	uint64_t addr;       /* as programmed */
	bool is64;
};

struct pci_device {
	uint8_t cfg[PCI_CFG_SPACE_SIZE];
	uint8_t wmask[PCI_CFG_SPACE_SIZE];   /* writable bits */
	struct pci_bar bar[PCI_NUM_BARS];
	uint8_t busnr;                        /* where it was registered */
	uint8_t slot;
	bool registered;
	uint8_t next_cap;                     /* where the next capability goes */
	const char *name;
	const struct pci_device_ops *ops;
	void *opaque;
};

/* Initialise dev's config header (type 0) with IDs and class. */
void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint16_t subsys_vendor, uint16_t subsys_id);
/* Append a capability of `len` bytes with ID `id`; returns its offset or 0. */
unsigned int pci_add_capability(struct pci_device *dev, uint8_t id, unsigned int len);
/*
 * Declare memory BAR `bar` (its size a power of two, 32- or 64-bit) at
 * `addr`: the type bits, the write mask that answers the guest's sizing
 * probe, and the address.  Where it goes is the bus's choice
 * (pci_device_add_bar() in vmm/pci.h); the caller checked the arguments.
 */
void pci_declare_bar(struct pci_device *dev, unsigned int bar, uint64_t size, bool is64,
		     uint64_t addr);
/* Program a declared BAR with a new address, as firmware does. */
void pci_set_bar_addr(struct pci_device *dev, unsigned int bar, uint64_t addr);
/* The address a declared BAR's registers hold now (the guest may move it). */
uint64_t pci_bar_addr(const struct pci_device *dev, unsigned int bar);
bool pci_memory_enabled(const struct pci_device *dev);

/* Little-endian config space helpers. */
static inline void pci_set_byte(struct pci_device *d, unsigned int off, uint8_t v) { d->cfg[off] = v; }
void pci_set_word(struct pci_device *d, unsigned int off, uint16_t v);
void pci_set_long(struct pci_device *d, unsigned int off, uint32_t v);
uint16_t pci_get_word(const struct pci_device *d, unsigned int off);
uint32_t pci_get_long(const struct pci_device *d, unsigned int off);

/* A BDF is bus << 8 | slot << 3 | fn everywhere; it is also the device's
 * requester (IOMMU endpoint) ID. */
static inline uint16_t pci_bdf_at(unsigned int busnr, unsigned int slot, unsigned int fn)
{
	return (uint16_t)((busnr << 8) | (slot << 3) | fn);
}

/* A BDF on bus 0. */
static inline uint16_t pci_bdf(unsigned int slot, unsigned int fn)
{
	return pci_bdf_at(0, slot, fn);
}

/* Where dev was registered (function 0). */
static inline uint16_t pci_device_bdf(const struct pci_device *dev)
{
	return pci_bdf_at(dev->busnr, dev->slot, 0);
}

/*
 * A BDF as text, "bb:dd.f" (lspci's form), by value so that it can stand
 * in an argument list:  pr_info("%s", pci_bdf_str(bdf).s).  Endpoint IDs
 * are 32-bit: bits above the bus number widen the bus field, not cut it.
 */
struct pci_bdf_str {
	char s[12];
};
struct pci_bdf_str pci_bdf_str(uint32_t bdf);

/* Standard header offsets/bits used here (names as in pci_regs.h). */
#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS         0x06
#define PCI_STATUS_CAP_LIST 0x10
#define PCI_REVISION_ID    0x08
#define PCI_CLASS_PROG     0x09
#define PCI_HEADER_TYPE    0x0e
#define PCI_BASE_ADDRESS_0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID   0x2e
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN  0x3d
#define PCI_CAP_ID_VNDR    0x09
#define PCI_CAP_ID_EXP     0x10
#define PCI_CAP_ID_MSIX    0x11
#define PCI_BASE_ADDRESS_MEM_TYPE_64 0x04
#define PCI_EXT_CAP_ID_ACS 0x0d

/* Type-1 (PCI-to-PCI bridge) header. */
#define PCI_HEADER_TYPE_BRIDGE 0x01
#define PCI_PRIMARY_BUS    0x18
#define PCI_SECONDARY_BUS  0x19
#define PCI_SUBORDINATE_BUS 0x1a
#define PCI_IO_BASE        0x1c
#define PCI_MEMORY_BASE    0x20
#define PCI_MEMORY_LIMIT   0x22
#define PCI_PREF_MEMORY_BASE 0x24
#define PCI_BRIDGE_CONTROL 0x3e

/* PCIe capability registers (offsets from the capability). */
#define PCI_EXP_FLAGS      0x02
#define PCI_EXP_TYPE_ROOT_PORT 0x4
#define PCI_EXP_DEVCAP     0x04
#define PCI_EXP_DEVCTL     0x08
#define PCI_EXP_LNKCAP     0x0c
#define PCI_EXP_LNKCTL     0x10
#define PCI_EXP_LNKSTA     0x12
#define PCI_EXP_RTCTL      0x1c
#define PCI_EXP_LNKCAP2    0x2c
#define PCI_EXP_LNKCTL2    0x30
#define PCI_EXP_SIZEOF_V2  0x3c

/* ACS extended capability: capability and control registers, and bits. */
#define PCI_ACS_CAP        0x04
#define PCI_ACS_CTRL       0x06
#define PCI_ACS_SV         0x0001   /* source validation */
#define PCI_ACS_TB         0x0002   /* translation blocking */
#define PCI_ACS_RR         0x0004   /* P2P request redirect */
#define PCI_ACS_CR         0x0008   /* P2P completion redirect */
#define PCI_ACS_UF         0x0010   /* upstream forwarding */

#endif
