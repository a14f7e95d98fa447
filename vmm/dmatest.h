/* SPDX-License-Identifier: MIT */
#ifndef VMM_DMATEST_H
#define VMM_DMATEST_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/dma.h"
#include "vmm/pci.h"

/*
 * The DMA test device ("dmatest"): a PCI function that performs the DMA a
 * guest driver programs through its registers (copy, fill, compare, read,
 * scatter-gather copy) with a fixed addressing width, an MSI on
 * completion, and "host verdict" registers that expose what the host's
 * DMA sanitizer attributed to it.  Programming model:
 * guest/dmatest/dmatest_hw.h.  KVM-free: the VMM hands it a dma_space and
 * an MSI callback.
 *
 * Leaks: when the driver resets the device or turns its bus mastering off
 * (what remove/unbind does), every mapping of the device's domain that
 * already existed then and is still live 200 ms later (past Linux's lazy
 * flush-queue delay) is reported as a leak (viommu_check_leaks).
 */
struct dmatest;

struct dmatest_params {
	unsigned int index;          /* dmatest<index> in reports */
	unsigned int width;          /* 64, 40, 32 or 24 */
	struct dma_space dma;        /* memory, IOMMU, endpoint (BDF), bounce account */
	int (*signal_msi)(void *opaque, uint64_t addr, uint32_t data);
	void *msi_opaque;
};

/* Create the function and register it at bus `busnr`, slot `slot`. */
struct dmatest *dmatest_create(struct pci_bus *bus, unsigned int busnr, unsigned int slot,
			       const struct dmatest_params *p);
int dmatest_start(struct dmatest *dt);
void dmatest_stop(struct dmatest *dt);
void dmatest_destroy(struct dmatest *dt);
/* The DMATEST_VIOL_* class (guest/dmatest/dmatest_hw.h) of a viommu class. */
unsigned int dmatest_verdict_class(enum viommu_violation v);
/* The host sanitizer attributes a violation to this device (verdict registers). */
void dmatest_note_violation(struct dmatest *dt, unsigned int viol_class);
struct pci_device *dmatest_pci(struct dmatest *dt);
const char *dmatest_name(const struct dmatest *dt);
uint32_t dmatest_endpoint(const struct dmatest *dt);

struct dmatest_stats {
	uint64_t commands, failed, bytes_moved;
	uint64_t violations;        /* attributed by the host (verdict register) */
	uint64_t leaks_found;       /* mappings live a grace period after reset/unbind */
	uint64_t bounce_exhausted;  /* commands failed for want of bounce slots */
	uint64_t worker_wakeups;    /* turns of the worker's loop (each wait that returned) */
};
void dmatest_stats(struct dmatest *dt, struct dmatest_stats *out);

#endif
