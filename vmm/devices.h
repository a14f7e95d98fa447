/* SPDX-License-Identifier: MIT */
#ifndef VMM_DEVICES_H
#define VMM_DEVICES_H

#include <stdio.h>

#include "vmm/acpi.h"
#include "vmm/cli.h"
#include "vmm/machine.h"

/* The PCI topology cfg implies, for the ACPI tables (MCFG, VIOT). */
void devices_describe(const struct vmm_config *cfg, struct acpi_config *acfg);
/* Create the PCI devices cfg asks for; fills the ACPI topology (MCFG, VIOT). */
int devices_create(struct machine *m, const struct vmm_config *cfg, struct acpi_config *acfg);
int devices_start(struct machine *m);
void devices_stop(struct machine *m);
void devices_destroy(struct machine *m);
/* IOMMU activity per endpoint and every refused DMA: stderr, and JSON lines
 * to `json` when not NULL. */
int devices_report(struct machine *m, FILE *json);

#endif
