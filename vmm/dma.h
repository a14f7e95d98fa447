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
 * DMA.  A device behind the virtio-iommu has a port (viommu_port_open,
 * through dma_attach_iommu): every access is translated by the IOMMU when
 * it happens and refused if any byte is not mapped with the right
 * permission or not guest RAM.  A device that is not behind an IOMMU (the
 * virtio-iommu itself) has no port: its addresses are guest-physical,
 * still bounds-checked against RAM.
 *
 * Every access is made in rounds of at most DMA_ROUND_MAX bytes, each in
 * one IOMMU window (viommu_dma_begin .. viommu_dma_end): translate the
 * round, copy it, end the window.  An UNMAP or DETACH that removes a
 * translation waits for the window in flight, so no byte moves through a
 * translation after the request that removed it has completed; a
 * transfer longer than one round that races such a request is cut between
 * two rounds, and the cut is refused and reported like any access after
 * UNMAP.
 *
 * Data DMA is staged through the host bounce engine (swiotlb/) when the
 * device has a bounce account: a device read takes one snapshot of the
 * guest bytes into a bounce segment, a device write is assembled in a
 * segment and copied to guest memory only once every byte of the
 * destination has been translated -- a refused write writes nothing.  A
 * full pool is an I/O error for that DMA (-ENOSPC), counted, never a
 * crash.  Accesses to coherent memory that device and driver share for
 * their whole life (virtqueue rings) are translated and checked the same
 * way but not staged: Linux's swiotlb does not bounce coherent
 * allocations either.
 *
 * No device model holds a pointer into guest RAM.  A dma_space is used by
 * one thread at a time (its port's rule).
 */
#define DMA_ROUND_MAX SWIOTLB_SEG_MAX

struct dma_space {
	const struct guest_mem *mem;
	struct viommu *iommu;      /* NULL: addresses are guest-physical */
	struct viommu_port *port;  /* this device's way through iommu; until it
				    * is opened, every access is refused */
	uint32_t endpoint;         /* PCI requester ID (BDF) */
	struct swiotlb_account *bounce;  /* NULL: data is not staged */
	uint64_t bytes_read, bytes_written, refused, bounce_exhausted;
};

/* Open d's port on iommu as endpoint d->endpoint (registered there with
 * viommu_add_endpoint before).  0 or -errno. */
int dma_attach_iommu(struct dma_space *d, struct viommu *iommu);
void dma_detach_iommu(struct dma_space *d);

/* Data DMA: 0; -EFAULT if refused (nothing was copied for a read; for a
 * write nothing at all is written, unless a request removed part of the
 * destination while a multi-round write was under way); -ENOSPC if the
 * bounce pool had no room (nothing copied either way). */
int dma_read(struct dma_space *d, uint64_t addr, void *buf, size_t len);
int dma_write(struct dma_space *d, uint64_t addr, const void *buf, size_t len);

/* Coherent (ring) memory: checked like the above, never staged. */
int dma_read_coherent(struct dma_space *d, uint64_t addr, void *buf, size_t len);
int dma_write_coherent(struct dma_space *d, uint64_t addr, const void *buf, size_t len);

/*
 * A segment of len bytes (1..SWIOTLB_SEG_MAX) from d's bounce account, not
 * cleared: the caller fills every byte of it (a snapshot of guest bytes,
 * or the device's data) before anything leaves it.  0, or -ENOSPC when
 * the pool is full (counted in bounce_exhausted, a rate-limited warning).
 */
int dma_seg_alloc(struct dma_space *d, size_t len, struct swiotlb_seg *seg);

/*
 * Staging for devices that move data themselves (dmatest, virtio-blk):
 * allocate the segment with dma_seg_alloc() or swiotlb_seg_alloc(), then
 *   dma_check()      translate [addr, addr+len) for `access` without
 *                    moving a byte (refusals are reported as usual);
 *                    one pass over the mappings, O(log n + k);
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
