/* SPDX-License-Identifier: MIT */
#include "vmm/virtqueue.h"
#include "vmm/log.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ring.h>

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

void vq_reset(struct virtqueue *vq)
{
	struct dma_space *dma = vq->dma;
	uint16_t max = vq->max_size;

	memset(vq, 0, sizeof(*vq));
	vq->dma = dma;
	vq->max_size = max;
	vq->size = max;
	vq->msix_vector = 0xffff;   /* VIRTIO_MSI_NO_VECTOR */
}

static int read16(struct virtqueue *vq, uint64_t addr, uint16_t *v)
{
	uint16_t le;

	if (dma_read_coherent(vq->dma, addr, &le, sizeof(le)))
		return -EFAULT;
	*v = le16toh(le);
	return 0;
}

static int write16(struct virtqueue *vq, uint64_t addr, uint16_t v)
{
	uint16_t le = htole16(v);

	return dma_write_coherent(vq->dma, addr, &le, sizeof(le));
}

static int read_desc(struct virtqueue *vq, uint64_t table, uint32_t idx, struct desc *d)
{
	struct vring_desc raw;

	if (dma_read_coherent(vq->dma, table + (uint64_t)idx * sizeof(raw), &raw, sizeof(raw)))
		return -EFAULT;
	d->addr = le64toh(raw.addr);
	d->len = le32toh(raw.len);
	d->flags = le16toh(raw.flags);
	d->next = le16toh(raw.next);
	return 0;
}

static int broken(struct virtqueue *vq, const char *why)
{
	vq->broken = true;
	vq->broken_why = why;
	pr_ratelimited(LOG_WARN, "virtqueue: malformed ring from the guest (%s): queue stopped", why);
	return -EINVAL;
}

/* A ring access was refused (the IOMMU recorded why) or fell outside RAM:
 * the device cannot go on with this queue. */
static int ring_refused(struct virtqueue *vq)
{
	vq->broken = true;
	vq->broken_why = "ring access refused by the IOMMU or outside guest RAM";
	return -EFAULT;
}

/*
 * The three rings must not wrap past 2^64 (their registers are the
 * guest's): an index into one would otherwise reach address 0.  Sizes per
 * virtio 2.7: 16-byte descriptors; avail flags, idx, ring, used_event;
 * used flags, idx, 8-byte ring, avail_event.
 */
static bool rings_wrap(const struct virtqueue *vq)
{
	uint64_t n = vq->size;

	return vq->desc > UINT64_MAX - (16 * n - 1) ||
	       vq->avail > UINT64_MAX - (6 + 2 * n - 1) ||
	       vq->used > UINT64_MAX - (6 + 8 * n - 1);
}

/* [addr, addr + len) runs past 2^64: offsets into it would wrap to
 * address 0.  No driver can make such a buffer; a hostile one could use it
 * to reach the bottom of its address space through an unrelated chain. */
static bool desc_wraps(const struct desc *d)
{
	return d->len && d->addr > UINT64_MAX - (d->len - 1);
}

static int add_seg(struct virtqueue *vq, struct vq_elem *e, const struct desc *d)
{
	bool write = d->flags & VRING_DESC_F_WRITE;

	if (desc_wraps(d))
		return broken(vq, "buffer wraps past the end of the address space");
	if (e->nseg == VQ_MAX_SEGS)
		return broken(vq, "chain too long");
	/* Device-readable descriptors come first (virtio 2.7.4.2), also
	 * before a zero-length writable one. */
	if (!write && e->nseg && e->seg[e->nseg - 1].write)
		return broken(vq, "readable descriptor after a writable one");
	e->seg[e->nseg++] = (struct vq_seg){ .addr = d->addr, .len = d->len, .write = write };
	if (write)
		e->writable += d->len;
	else
		e->readable += d->len;
	return 0;
}

/* Walk an indirect table of n descriptors. */
static int walk_indirect(struct virtqueue *vq, struct vq_elem *e, const struct desc *ind)
{
	uint32_t n = ind->len / sizeof(struct vring_desc), i = 0, steps = 0;

	if (!vq->indirect)
		return broken(vq, "indirect descriptor not negotiated");
	if (!ind->len || ind->len % sizeof(struct vring_desc) || n > VQ_MAX_SEGS)
		return broken(vq, "bad indirect table length");
	if (desc_wraps(ind))
		return broken(vq, "indirect table wraps past the end of the address space");
	for (;;) {
		struct desc d;

		if (read_desc(vq, ind->addr, i, &d))
			return ring_refused(vq);
		if (d.flags & VRING_DESC_F_INDIRECT)
			return broken(vq, "nested indirect table");
		if (add_seg(vq, e, &d))
			return -EINVAL;
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= n || ++steps >= n)
			return broken(vq, "indirect chain index out of range or looping");
	}
}

int vq_pop(struct virtqueue *vq, struct vq_elem *e)
{
	uint16_t avail_idx, head, idx;
	unsigned int steps = 0;

	if (vq->broken || !vq->enabled)
		return 0;
	if (rings_wrap(vq))
		return broken(vq, "ring wraps past the end of the address space");
	if (read16(vq, vq->avail + 2, &avail_idx))
		return ring_refused(vq);
	if (avail_idx == vq->last_avail) {
		/* Empty: with EVENT_IDX ask for a kick at the next entry, then
		 * look again so an entry added meanwhile is not missed. */
		if (vq->event_idx) {
			if (write16(vq, vq->used + 4 + 8u * vq->size, vq->last_avail))
				return ring_refused(vq);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			if (read16(vq, vq->avail + 2, &avail_idx))
				return ring_refused(vq);
			if (avail_idx == vq->last_avail)
				return 0;
		} else {
			return 0;
		}
	}
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size)
		return broken(vq, "available index moved by more than the queue size");
	/* Read the ring entry only after the index (virtio 2.7.13.1). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (read16(vq, vq->avail + 4 + 2u * (vq->last_avail % vq->size), &head))
		return ring_refused(vq);
	if (head >= vq->size)
		return broken(vq, "head index out of range");

	e->head = head;
	e->nseg = 0;
	e->readable = e->writable = 0;
	idx = head;
	for (;;) {
		struct desc d;

		if (read_desc(vq, vq->desc, idx, &d))
			return ring_refused(vq);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			int ret;

			if (d.flags & VRING_DESC_F_NEXT)
				return broken(vq, "indirect descriptor with NEXT");
			ret = walk_indirect(vq, e, &d);
			if (ret)
				return ret;
			break;
		}
		if (add_seg(vq, e, &d))
			return -EINVAL;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		idx = d.next;
		if (idx >= vq->size || ++steps >= vq->size)
			return broken(vq, "descriptor index out of range or looping");
	}
	vq->last_avail++;
	return 1;
}

void vq_unpop(struct virtqueue *vq, unsigned int n)
{
	vq->last_avail = (uint16_t)(vq->last_avail - n);
}

int vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	struct vring_used_elem u = { .id = htole32(head), .len = htole32(len) };
	uint64_t slot = vq->used + 4 + sizeof(u) * (uint64_t)(vq->used_idx % vq->size);

	if (vq->broken || rings_wrap(vq))
		return ring_refused(vq);
	if (dma_write_coherent(vq->dma, slot, &u, sizeof(u)))
		return ring_refused(vq);
	/* The entry must be visible before the index that publishes it. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	vq->used_idx++;
	if (write16(vq, vq->used + 2, vq->used_idx))
		return ring_refused(vq);
	return 0;
}

bool vq_should_notify(struct virtqueue *vq)
{
	uint16_t old, flags, used_event;
	bool valid;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq->event_idx) {
		if (read16(vq, vq->avail, &flags))
			return true;   /* cannot tell: interrupt (harmless) */
		return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
	}
	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	vq->signalled_used = vq->used_idx;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	if (read16(vq, vq->avail + 4 + 2u * vq->size, &used_event))
		return true;
	return vring_need_event(used_event, vq->used_idx, old);
}

void vq_dump_state(struct virtqueue *vq, bool read_rings, char *buf, size_t len)
{
	uint16_t avail_idx, avail_flags, used_event, avail_event, used_idx;
	int n;

	n = snprintf(buf, len, "size %u, taken %u, used %u, interrupted at %u%s%s", vq->size,
		     vq->last_avail, vq->used_idx, vq->signalled_used,
		     vq->event_idx ? ", event-idx" : "", vq->broken ? ", broken" : "");
	if (!read_rings || n < 0 || (size_t)n >= len)
		return;
	if (read16(vq, vq->avail, &avail_flags) || read16(vq, vq->avail + 2, &avail_idx) ||
	    read16(vq, vq->avail + 4 + 2u * vq->size, &used_event) ||
	    read16(vq, vq->used + 2, &used_idx) ||
	    read16(vq, vq->used + 4 + 8u * vq->size, &avail_event)) {
		snprintf(buf + n, len - (size_t)n, "; rings unreadable");
		return;
	}
	snprintf(buf + n, len - (size_t)n,
		 "; driver: avail idx %u, flags %#x, used_event %u; ring: used idx %u, avail_event %u",
		 avail_idx, avail_flags, used_event, used_idx, avail_event);
}

/* Where a chain copy's bytes come from or go to on the host side: a plain
 * buffer, or a bounce segment the device reads or fills itself. */
struct elem_sink {
	uint8_t *buf;                /* NULL: seg */
	struct swiotlb_seg *seg;
	bool unstaged;               /* buf, checked but not staged */
};

static int elem_copy(struct virtqueue *vq, const struct vq_elem *e, bool write, uint64_t offset,
		     const struct elem_sink *sink, size_t len)
{
	size_t done = 0;
	int ret;

	for (unsigned int i = 0; i < e->nseg && done < len; i++) {
		const struct vq_seg *s = &e->seg[i];
		uint64_t n;

		if (s->write != write)
			continue;
		if (offset >= s->len) {
			offset -= s->len;
			continue;
		}
		n = s->len - offset;
		if (n > len - done)
			n = len - done;
		/* Data buffers are staged through the bounce pool: -EFAULT
		 * (refused) or -ENOSPC (pool full) are both I/O errors. */
		if (sink->seg)
			ret = write ? dma_bounce_out(vq->dma, s->addr + offset, sink->seg, done, n)
				    : dma_bounce_in(vq->dma, s->addr + offset, sink->seg, done, n);
		else if (sink->unstaged)
			ret = write ? dma_write_coherent(vq->dma, s->addr + offset, sink->buf + done, n)
				    : dma_read_coherent(vq->dma, s->addr + offset, sink->buf + done, n);
		else
			ret = write ? dma_write(vq->dma, s->addr + offset, sink->buf + done, n)
				    : dma_read(vq->dma, s->addr + offset, sink->buf + done, n);
		if (ret)
			return ret;
		done += n;
		offset = 0;
	}
	return done == len ? 0 : -ERANGE;
}

int vq_elem_read(struct virtqueue *vq, const struct vq_elem *e, uint64_t offset, void *buf, size_t len)
{
	struct elem_sink sink = { .buf = buf };

	return elem_copy(vq, e, false, offset, &sink, len);
}

int vq_elem_write(struct virtqueue *vq, const struct vq_elem *e, uint64_t offset, const void *buf,
		  size_t len)
{
	struct elem_sink sink = { .buf = (uint8_t *)buf };

	return elem_copy(vq, e, true, offset, &sink, len);
}

int vq_elem_write_status(struct virtqueue *vq, const struct vq_elem *e, uint64_t offset,
			 const void *buf, size_t len)
{
	struct elem_sink sink = { .buf = (uint8_t *)buf, .unstaged = true };

	return elem_copy(vq, e, true, offset, &sink, len);
}

int vq_elem_bounce_in(struct virtqueue *vq, const struct vq_elem *e, uint64_t offset,
		      struct swiotlb_seg *seg, size_t len)
{
	struct elem_sink sink = { .seg = seg };

	if (len > seg->len)
		return -EINVAL;
	return elem_copy(vq, e, false, offset, &sink, len);
}

int vq_elem_bounce_out(struct virtqueue *vq, const struct vq_elem *e, uint64_t offset,
		       const struct swiotlb_seg *seg, size_t len)
{
	struct elem_sink sink = { .seg = (struct swiotlb_seg *)seg };

	if (len > seg->len)
		return -EINVAL;
	return elem_copy(vq, e, true, offset, &sink, len);
}
