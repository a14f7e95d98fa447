/* SPDX-License-Identifier: MIT */
#ifndef VMM_PCI_H
#define VMM_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/layout.h"

/*
 * PCI segment 0: configuration space through PCIe ECAM (the MCFG window)
 * and the legacy 0xcf8/0xcfc mechanism, and memory BAR decode.  Bus 0 holds
 * single-function devices in slots 1-31, among them PCIe root ports
 * (vmm/pci_root_port.c); each root port's secondary bus holds one device,
 * at 00.0.  A BDF is bus << 8 | slot << 3 | fn everywhere, and it is also
 * the device's requester (IOMMU endpoint) ID.  KVM-free: the vCPU loop
 * hands MMIO and port accesses here.
 *
 * A simple model: a device decodes its BARs whatever the bridges above it
 * say; "firmware" (pci_register_at) only makes sure that the window it
 * programs into a root port contains the BARs behind it, so that the guest
 * keeps both.
 */
#define PCI_ECAM_BASE     ECAM_BASE
#define PCI_ECAM_SIZE     ECAM_SIZE           /* ECAM_BUSES x 32 slots x 8 fn x 4 KiB */
#define PCI_MAX_BUSES     ECAM_BUSES
#define PCI_MAX_ROOT_PORTS (PCI_MAX_BUSES - 1) /* one secondary bus each */
#define PCI_MMIO32_BASE   0xc0000000ull       /* BAR window (DSDT _CRS) */
#define PCI_MMIO32_SIZE   0x20000000ull
#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA    0xcfc
#define PCI_MAX_SLOTS     32
#define PCI_NUM_BARS      6
#define PCI_CFG_SPACE_SIZE 4096
#define PCI_BRIDGE_WINDOW_ALIGN 0x100000ull   /* memory base/limit granularity */

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

/*
 * A PCIe root port on bus 0 (vmm/pci_root_port.c).  Config accesses reach
 * `child` when their bus number is the secondary bus the port's registers
 * say now (the guest may renumber; the child's requester ID stays the BDF
 * it was registered at, which is what the ACPI VIOT told the guest).
 */
struct pci_root_port {
	struct pci_device pci;
	struct pci_device *child;             /* device 00.0 of the secondary bus */
	uint8_t secondary;                    /* as "firmware" programmed it */
	bool external_facing;
};

struct pci_bus {
	struct pci_device *dev[PCI_MAX_SLOTS];    /* bus 0 */
	struct pci_root_port *port[PCI_MAX_ROOT_PORTS];
	unsigned int nports;
	uint32_t config_address;              /* 0xcf8 latch */
	pthread_mutex_t lock;                 /* config space of all devices */
	uint64_t next_bar_addr;               /* simple bump allocator in the window */
};

void pci_bus_init(struct pci_bus *bus);
/* Free what pci_add_root_port allocated (the devices are their owners'). */
void pci_bus_destroy(struct pci_bus *bus);
/* Initialise dev's config header (type 0) with IDs and class. */
void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor, uint16_t device,
		     uint32_t class_code, uint16_t subsys_vendor, uint16_t subsys_id);
/* Declare a 32- or 64-bit memory BAR of `size` bytes (power of two, >= 4 KiB)
 * and assign it an address in the window (firmware does this on real iron).
 * Before the device is registered: pci_register_at() may move the BARs of
 * a device behind a root port into that port's window. */
int pci_device_add_bar(struct pci_bus *bus, struct pci_device *dev, unsigned int bar,
		       uint64_t size, bool is64);
/* Append a capability of `len` bytes with ID `id`; returns its offset or 0. */
unsigned int pci_add_capability(struct pci_device *dev, uint8_t id, unsigned int len);
/* pci_register_at(bus, dev, 0, slot). */
int pci_register(struct pci_bus *bus, struct pci_device *dev, unsigned int slot);
/*
 * Register dev (its BARs declared) at `busnr`, `slot`, function 0, before
 * the guest runs.  Bus 0: slots 1-31.  Any other bus must be the secondary
 * bus of a root port and the slot 0 (a PCIe link has one device); the
 * device's BARs are then re-assigned, as firmware would, in a fresh
 * 1 MiB-aligned memory window that the port is programmed with.
 * 0, -EINVAL, -EBUSY (taken, or dev already registered), -ENODEV (no such
 * root port), -ENOSPC (the BAR window is full).
 */
int pci_register_at(struct pci_bus *bus, struct pci_device *dev, unsigned int busnr,
		    unsigned int slot);
/* Take a registered device off its bus (not a root port): 0 or -ENOENT. */
int pci_unregister(struct pci_bus *bus, struct pci_device *dev);
/*
 * A PCIe root port (type-1 header, PCIe capability "Root Port", ACS) in
 * `slot` of bus 0 whose secondary and subordinate bus is `secondary_bus`
 * (1 to PCI_MAX_BUSES - 1), as firmware leaves them.  `external_facing` is
 * what the ACPI tables say about it (acpi_config.root_port), kept here for
 * the record.  0, -EINVAL, -EBUSY (slot or bus taken), -ENOSPC, -ENOMEM.
 */
int pci_add_root_port(struct pci_bus *bus, unsigned int slot, unsigned int secondary_bus,
		      bool external_facing);
/* vmm/pci_root_port.c, for vmm/pci.c: the port's config space, and the
 * memory window [base, end) (1 MiB-aligned) firmware programs into it. */
void pci_root_port_init(struct pci_root_port *rp, unsigned int slot, unsigned int secondary_bus,
			bool external_facing);
void pci_root_port_set_window(struct pci_root_port *rp, uint64_t base, uint64_t end);

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
