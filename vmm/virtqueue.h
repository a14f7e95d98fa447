/* SPDX-License-Identifier: MIT */
#ifndef VMM_VIRTQUEUE_H
#define VMM_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/dma.h"

/*
 * Split virtqueues (virtio 1.x, 2.7): descriptor table, available ring,
 * used ring, with VIRTIO_RING_F_EVENT_IDX and VIRTIO_RING_F_INDIRECT_DESC.
 * Every ring access goes through the queue's dma_space at the moment it is
 * made, so an UNMAP of a ring takes effect at once.  A malformed chain
 * (loop, index out of range, nested indirect, write-before-read, lengths
 * that overflow), a ring that wraps past 2^64, or a ring access the IOMMU
 * refuses (or that lies outside RAM) marks the queue broken: the device
 * cannot go on with it, and the transport then reports DEVICE_NEEDS_RESET
 * ("broken" says why); nothing in the VMM trusts a guest index.
 */
#define VQ_MAX_SIZE 256
#define VQ_MAX_SEGS 1024     /* per chain, indirect included */

struct virtqueue {
	uint16_t size;           /* as set by the driver (power of two <= max) */
	uint16_t max_size;
	bool enabled;
	uint64_t desc, avail, used;
	uint16_t msix_vector;
	uint16_t last_avail;     /* next available entry to consume */
	uint16_t used_idx;       /* shadow of used->idx */
	uint16_t signalled_used; /* used->idx when we last interrupted */
	bool signalled_used_valid;
	bool event_idx;
	bool indirect;
	bool broken;
	const char *broken_why;  /* for the log line, when broken */
	struct dma_space *dma;
};

struct vq_seg {
	uint64_t addr;
	uint32_t len;
	bool write;
};

struct vq_elem {
	uint16_t head;
	unsigned int nseg;
	uint64_t readable, writable;   /* total bytes */
	struct vq_seg seg[VQ_MAX_SEGS];
};

void vq_reset(struct virtqueue *vq);
/* 1: an element was taken; 0: the ring is empty (or the queue is broken);
 * -EFAULT: a ring access was refused, -EINVAL: malformed -- either way the
 * queue is now broken. */
int vq_pop(struct virtqueue *vq, struct vq_elem *e);
/* Give back the last n elements popped and not pushed: the next vq_pop()
 * takes them again (a device that needs more buffers than there are yet,
 * and waits for the driver's next kick). */
void vq_unpop(struct virtqueue *vq, unsigned int n);
/* Return an element with `len` bytes written; 0, or -EFAULT (the used ring
 * was refused: the queue is now broken). */
int vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);
/* After pushing: does the driver want an interrupt? */
bool vq_should_notify(struct virtqueue *vq);
/* One line of the queue's state for a diagnostic: the device's own indices,
 * and with read_rings also the driver's (avail idx and flags, used_event,
 * avail_event), read through the queue's DMA path. */
void vq_dump_state(struct virtqueue *vq, bool read_rings, char *buf, size_t len);

/* Copy from the chain's device-readable bytes (offset within them) / to
 * its device-writable bytes.  0, -EFAULT (refused DMA) or -ERANGE. */
int vq_elem_read(struct virtqueue *vq, const struct vq_elem *e, uint64_t offset, void *buf, size_t len);
int vq_elem_write(struct virtqueue *vq, const struct vq_elem *e, uint64_t offset, const void *buf,
		  size_t len);
/* A request's completion status (virtio-blk's status byte): checked like
 * any device write, but not staged, so that a full bounce pool cannot keep
 * the completion from the driver -- a status byte left as it was would
 * make a failed request look like a success. */
int vq_elem_write_status(struct virtqueue *vq, const struct vq_elem *e, uint64_t offset,
			 const void *buf, size_t len);
/* The same with the host side in a bounce segment of the queue's own
 * account (vq->dma->bounce, which must not be NULL): the device reads the
 * snapshot in seg->buf[0, len) after vq_elem_bounce_in, or fills it before
 * vq_elem_bounce_out -- one copy less than through a buffer of its own.
 * Also -EINVAL if len > seg->len. */
int vq_elem_bounce_in(struct virtqueue *vq, const struct vq_elem *e, uint64_t offset,
		      struct swiotlb_seg *seg, size_t len);
int vq_elem_bounce_out(struct virtqueue *vq, const struct vq_elem *e, uint64_t offset,
		       const struct swiotlb_seg *seg, size_t len);

#endif
