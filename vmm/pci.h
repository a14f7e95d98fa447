/* SPDX-License-Identifier: MIT */
#ifndef VMM_PCI_H
#define VMM_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/layout.h"
#include "vmm/pci_config.h"
#include "vmm/pci_root_port.h"

/*
 * The PCI bus, segment 0, on top of the config space primitives
 * (vmm/pci_config.h) and the root ports (vmm/pci_root_port.h): guest
 * config accesses through PCIe ECAM (the MCFG window) and the legacy
 * 0xcf8/0xcfc mechanism routed to a device, memory BAR decode, "firmware"
 * BAR and window placement, and registration.  Bus 0 holds
 * single-function devices in slots 1-31, among them PCIe root ports; each
 * root port's secondary bus holds one device, at 00.0.  KVM-free: the vCPU
 * loop hands MMIO and port accesses here.
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
#define PCI_BRIDGE_WINDOW_ALIGN 0x100000ull   /* memory base/limit granularity */

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
/* Declare a 32- or 64-bit memory BAR of `size` bytes (power of two, >= 4 KiB)
 * and assign it an address in the window (firmware does this on real iron).
 * Before the device is registered: pci_register_at() may move the BARs of
 * a device behind a root port into that port's window. */
int pci_device_add_bar(struct pci_bus *bus, struct pci_device *dev, unsigned int bar,
		       uint64_t size, bool is64);
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

/* Config space access (offset < 4096, size 1/2/4, naturally aligned). */
uint32_t pci_config_read(struct pci_bus *bus, uint16_t bdf, unsigned int offset, unsigned int size);
void pci_config_write(struct pci_bus *bus, uint16_t bdf, unsigned int offset, unsigned int size,
		      uint32_t val);

/* A guest MMIO access: ECAM or a BAR.  Returns false if nothing decodes it. */
bool pci_mmio_access(struct pci_bus *bus, uint64_t gpa, bool is_write, unsigned int size, uint64_t *val);
/* Register 0xcf8-0xcff on the port bus. */
struct pio_bus;
int pci_register_pio(struct pci_bus *bus, struct pio_bus *pio);

#endif
