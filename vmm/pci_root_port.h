/* SPDX-License-Identifier: MIT */
#ifndef VMM_PCI_ROOT_PORT_H
#define VMM_PCI_ROOT_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/pci_config.h"

/*
 * A PCIe root port on bus 0 (vmm/pci_root_port.c), built from the config
 * space primitives only.  The bus (vmm/pci.c) creates it
 * (pci_add_root_port), sends config accesses for its secondary bus to
 * `child` -- the bus number its registers say now: the guest may renumber;
 * the child's requester ID stays the BDF it was registered at, which is
 * what the ACPI VIOT told the guest -- and programs its memory window.
 */
struct pci_root_port {
	struct pci_device pci;
	struct pci_device *child;             /* device 00.0 of the secondary bus */
	uint8_t secondary;                    /* as "firmware" programmed it */
	bool external_facing;
};

/* The port's config space: in `slot` of bus 0, secondary and subordinate
 * bus `secondary_bus`, as firmware leaves them. */
void pci_root_port_init(struct pci_root_port *rp, unsigned int slot, unsigned int secondary_bus,
			bool external_facing);
/* Program the memory window [base, end) (1 MiB-aligned). */
void pci_root_port_set_window(struct pci_root_port *rp, uint64_t base, uint64_t end);
/* Whether the port's bus number registers, as they are now, forward a
 * config access for bus `busnr`; *secondary: to its secondary bus itself
 * (not to one beyond it). */
bool pci_root_port_forwards(const struct pci_root_port *rp, unsigned int busnr, bool *secondary);

#endif
