/* SPDX-License-Identifier: MIT */
#ifndef VMM_SANITIZER_H
#define VMM_SANITIZER_H

#include "vmm/cli.h"
#include "vmm/dma.h"
#include "vmm/machine.h"

/*
 * The DMA sanitizer's VMM side: the host bounce pool every endpoint's data
 * DMA is staged through, the handling of each DMA-API violation the
 * virtio-iommu library classifies (a rate-limited log line, the offending
 * device's verdict registers, --dma-errors=fatal), the dmatest devices.
 * The exit report is vmm/report.c's.
 */

/* Before any endpoint: the bounce pool and the violation callback. */
int sanitizer_setup(struct machine *m, const struct vmm_config *cfg);
/* An endpoint's data DMA goes through its own bounce account. */
int sanitizer_attach(struct machine *m, struct dma_space *dma, const char *name);
/* Create dmatest device i of cfg at (busnr, slot), behind the IOMMU. */
int sanitizer_add_dmatest(struct machine *m, const struct vmm_config *cfg, unsigned int i,
			  unsigned int busnr, unsigned int slot);
int sanitizer_start(struct machine *m);
void sanitizer_stop(struct machine *m);
void sanitizer_destroy(struct machine *m);

#endif
