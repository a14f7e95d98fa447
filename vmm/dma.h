/* SPDX-License-Identifier: MIT */
#ifndef VMM_DMA_H
#define VMM_DMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"
#include "viommu/viommu.h"
#include "swiotlb/swiotlb.h"

/*
 * How a device reaches guest memory: the single checked path for device
 * DMA.  A device behind the virtio-iommu has `iommu` set: every access is
 * translated by viommu_translate() when it happens -- never cached across
 * an UNMAP -- and refused if any byte is not mapped with the right
 * permission or not guest RAM.  A device that is not behind an IOMMU (the
 * virtio-iommu itself) has iommu == NULL and its addresses are
 * guest-physical, still bounds-checked against RAM.
 *
 * Data DMA is staged through the host bounce engine (swiotlb/) when the
 * device has a bounce account: a device read takes one snapshot of the
 * guest bytes into a bounce segment, a device write is assembled in a
 * segment and copied to guest memory only once every byte of the
 * destination has been translated.  A full pool is an I/O error for that
 * DMA (-ENOSPC), counted, never a crash.  Accesses to coherent memory
 * that device and driver share for their whole life (virtqueue rings) are
 * translated and checked the same way but not staged: Linux's swiotlb
 * does not bounce coherent allocations either.
 *
 * No device model holds a pointer into guest RAM.
 */
struct dma_space {
	const struct guest_mem *mem;
	struct viommu *iommu;      /* NULL: addresses are guest-physical */
	uint32_t endpoint;         /* PCI requester ID (BDF) */
	struct swiotlb_account *bounce;  /* NULL: data is not staged */
	/* Called after a refused access (the IOMMU then has a fault event
	 * to deliver); may be NULL. */
	void (*on_fault)(void *opaque);
	void *fault_opaque;
	uint64_t bytes_read, bytes_written, refused, bounce_exhausted;
};

/* Data DMA: 0; -EFAULT if refused (nothing was copied for a read; for a
 * write nothing at all is written); -ENOSPC if the bounce pool had no
 * room (nothing copied either way). */
int dma_read(struct dma_space *d, uint64_t addr, void *buf, size_t len);
int dma_write(struct dma_space *d, uint64_t addr, const void *buf, size_t len);

/* Coherent (ring) memory: checked like the above, never staged. */
int dma_read_coherent(struct dma_space *d, uint64_t addr, void *buf, size_t len);
int dma_write_coherent(struct dma_space *d, uint64_t addr, const void *buf, size_t len);

/*
 * Staging for devices that move data themselves (dmatest): allocate the
 * segment with swiotlb_seg_alloc(d->bounce, ...), then
 *   dma_check()      translate [addr, addr+len) for `access` without
 *                    moving a byte (refusals are reported as usual);
 *   dma_bounce_in()  snapshot guest bytes into seg->buf[off, off+len);
 *   dma_bounce_out() copy seg->buf[off, off+len) to guest memory, after
 *                    translating all of it.
 * Return 0, -EFAULT (refused) or -EINVAL (outside the segment).
 */
int dma_check(struct dma_space *d, uint64_t addr, uint64_t len, enum viommu_access access);
int dma_bounce_in(struct dma_space *d, uint64_t addr, struct swiotlb_seg *seg, size_t off,
		  size_t len);
int dma_bounce_out(struct dma_space *d, uint64_t addr, const struct swiotlb_seg *seg, size_t off,
		   size_t len);

#endif
