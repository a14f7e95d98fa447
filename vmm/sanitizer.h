/* SPDX-License-Identifier: MIT */
#ifndef VMM_SANITIZER_H
#define VMM_SANITIZER_H

#include <stdio.h>

#include "vmm/cli.h"
#include "vmm/dma.h"
#include "vmm/machine.h"

/*
 * The DMA sanitizer's VMM side: the host bounce pool every endpoint's data
 * DMA is staged through, the handling of each DMA-API violation the
 * virtio-iommu library classifies (a rate-limited log line, the offending
 * device's verdict registers, --dma-errors=fatal), the dmatest devices,
 * and the exit report (human summary on stderr, JSON lines for --report).
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
/* Bounce pool and dmatest statistics, every violation; JSON lines to json. */
int sanitizer_report(struct machine *m, FILE *json);
/* s as a JSON string literal (quotes and escapes) on f. */
void json_string(FILE *f, const char *s);

#endif
