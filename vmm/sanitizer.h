/* SPDX-License-Identifier: MIT */
#ifndef VMM_SANITIZER_H
#define VMM_SANITIZER_H

#include "vmm/cli.h"
#include "vmm/dma.h"
#include "vmm/machine.h"

/*
 * The DMA sanitizer's policy on the VMM side: the host bounce pool every
 * endpoint's data DMA is staged through, and what happens at each DMA-API
 * violation the virtio-iommu library classifies (a rate-limited log line,
 * the offending dmatest device's verdict registers, --dma-errors=fatal).
 * The devices are vmm/devices.c's, the exit report vmm/report.c's.
 */

/* Before any endpoint: the bounce pool and the violation callback. */
int sanitizer_setup(struct machine *m, const struct vmm_config *cfg);
/* An endpoint's data DMA goes through its own bounce account. */
int sanitizer_attach(struct machine *m, struct dma_space *dma, const char *name);
/* After every endpoint is gone. */
void sanitizer_destroy(struct machine *m);

#endif
