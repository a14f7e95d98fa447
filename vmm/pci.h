/* SPDX-License-Identifier: MIT */
#ifndef VMM_PCI_H
#define VMM_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/layout.h"

/*
 * PCI segment 0, bus 0: configuration space through PCIe ECAM (the MCFG
 * window) and the legacy 0xcf8/0xcfc mechanism, and memory BAR decode.
 * Devices are single-function and sit in slots 1-31.  KVM-free: the vCPU
 * loop hands MMIO and port accesses here.
 */
#define PCI_ECAM_BASE     ECAM_BASE
#define PCI_ECAM_SIZE     ECAM_SIZE           /* bus 0 only: 32 slots x 8 fn x 4 KiB */
#define PCI_MMIO32_BASE   0xc0000000ull       /* BAR window (DSDT _CRS) */
#define PCI_MMIO32_SIZE   0x20000000ull
#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA    0xcfc
#define PCI_MAX_SLOTS     32
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
	uint8_t slot;
	uint8_t next_cap;                     /* where the next capability goes */
	const char *name;
	const struct pci_device_ops *ops;
	void *opaque;
};

struct pci_bus {
	struct pci_device *dev[PCI_MAX_SLOTS];
	uint32_t config_address;              /* 0xcf8 latch */
	pthread_mutex_t lock;                 /* config space of all devices */
	uint64_t next_bar_addr;               /* simple bump allocator in the window */
};

void pci_bus_init(struct pci_bus *bus);
/* Initialise dev's config header (type 0) with IDs and class. */
void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint16_t subsys_vendor, uint16_t subsys_id);
/* Declare a 32- or 64-bit memory BAR of `size` bytes (power of two, >= 4 KiB)
 * and assign it an address in the window (firmware does this on real iron). */
int pci_device_add_bar(struct pci_bus *bus, struct pci_device *dev, unsigned int bar,
		       uint64_t size, bool is64);
/* Append a capability of `len` bytes with ID `id`; returns its offset or 0. */
unsigned int pci_add_capability(struct pci_device *dev, uint8_t id, unsigned int len);
int pci_register(struct pci_bus *bus, struct pci_device *dev, unsigned int slot);

static inline uint16_t pci_bdf(unsigned int slot, unsigned int fn)
{
	return (uint16_t)((slot << 3) | fn);
}

/* Config space access (offset < 4096, size 1/2/4, naturally aligned). */
uint32_t pci_config_read(struct pci_bus *bus, uint16_t bdf, unsigned int offset, unsigned int size);
void pci_config_write(struct pci_bus *bus, uint16_t bdf, unsigned int offset, unsigned int size,
		      uint32_t val);

/* A guest MMIO access: ECAM or a BAR.  Returns false if nothing decodes it. */
bool pci_mmio_access(struct pci_bus *bus, uint64_t gpa, bool is_write, unsigned int size, uint64_t *val);
/* Register 0xcf8-0xcff on the port bus. */
struct pio_bus;
int pci_register_pio(struct pci_bus *bus, struct pio_bus *pio);

bool pci_memory_enabled(const struct pci_device *dev);

/* Little-endian config space helpers. */
static inline void pci_set_byte(struct pci_device *d, unsigned int off, uint8_t v) { d->cfg[off] = v; }
void pci_set_word(struct pci_device *d, unsigned int off, uint16_t v);
void pci_set_long(struct pci_device *d, unsigned int off, uint32_t v);
uint16_t pci_get_word(const struct pci_device *d, unsigned int off);
uint32_t pci_get_long(const struct pci_device *d, unsigned int off);

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
#define PCI_CAP_ID_MSIX    0x11
#define PCI_BASE_ADDRESS_MEM_TYPE_64 0x04

#endif
