/* SPDX-License-Identifier: MIT */
#ifndef VMM_DMA_H
#define VMM_DMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"
#include "viommu/viommu.h"

/*
 * How a device reaches guest memory: the single checked path for device
 * DMA (vring accesses included).  A device behind the virtio-iommu has
 * `iommu` set: every access is translated by viommu_translate() on every
 * call -- never cached across an UNMAP -- and refused if any byte is not
 * mapped with the right permission or not guest RAM.  A device that is not
 * behind an IOMMU (the virtio-iommu itself) has iommu == NULL and its
 * addresses are guest-physical, still bounds-checked against RAM.
 *
 * Data is always copied between guest memory and the caller's buffer; no
 * device model holds a pointer into guest RAM.
 */
struct dma_space {
	const struct guest_mem *mem;
	struct viommu *iommu;      /* NULL: addresses are guest-physical */
	uint32_t endpoint;         /* PCI requester ID (BDF) */
	/* Called after a refused access (the IOMMU then has a fault event
	 * to deliver); may be NULL. */
	void (*on_fault)(void *opaque);
	void *fault_opaque;
	uint64_t bytes_read, bytes_written, refused;
};

/* 0, or -EFAULT if the DMA was refused (nothing was copied for a read;
 * for a write, nothing at all is written: the whole range is translated
 * before the first byte moves). */
int dma_read(struct dma_space *d, uint64_t addr, void *buf, size_t len);
int dma_write(struct dma_space *d, uint64_t addr, const void *buf, size_t len);

#endif
