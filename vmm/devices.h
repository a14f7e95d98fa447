/* SPDX-License-Identifier: MIT */
#ifndef VMM_DEVICES_H
#define VMM_DEVICES_H

#include "vmm/acpi.h"
#include "vmm/cli.h"
#include "vmm/devices_plan.h"
#include "vmm/machine.h"

/*
 * The machine's PCI devices (vmm/devices.c): created where the plan
 * (vmm/devices_plan.h) puts them, each endpoint's DMA wired to the IOMMU
 * and the bounce pool, started and stopped with the VM.
 */

/* Create the PCI devices cfg asks for; fills the ACPI topology (MCFG, VIOT). */
int devices_create(struct machine *m, const struct vmm_config *cfg, struct acpi_config *acfg);
int devices_start(struct machine *m);
void devices_stop(struct machine *m);
/* After devices_stop: each virtio device's queue state (virtio_pci_dump_state). */
void devices_dump_state(struct machine *m, const char *why);
void devices_destroy(struct machine *m);

#endif
