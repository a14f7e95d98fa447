/* SPDX-License-Identifier: MIT */
#include "vmm/dma.h"
#include "vmm/log.h"
#include "vmm/pci_config.h"

#include <errno.h>
#include <string.h>
#include <sys/types.h>

/* Translated pieces of one DMA; a DMA is at most a few physically
 * discontiguous pieces in practice, more are handled in rounds. */
#define DMA_MAX_PIECES 16
/* A staged write takes all its segments before the first byte moves, so
 * that a full pool refuses it whole; bigger writes are staged in turns. */
#define DMA_MAX_SEGS   64

struct piece {
	uint8_t *hva;
	size_t len;
};

/*
 * Translate [addr, addr+len) into host pointers, at most DMA_MAX_PIECES.
 * Returns the number of bytes covered (<= len) or -EFAULT.
 */
static ssize_t translate(struct dma_space *d, uint64_t addr, size_t len,
			 enum viommu_access access, struct piece *pieces, unsigned int *npieces)
{
	size_t done = 0;

	*npieces = 0;
	while (done < len && *npieces < DMA_MAX_PIECES) {
		uint64_t gpa, plen;
		uint8_t *hva;

		if (d->iommu) {
			struct viommu_xlate x;

			if (viommu_translate(d->iommu, d->endpoint, addr + done, len - done,
					     access, &x) != VIOMMU_OK)
				goto refused;
			gpa = x.gpa;
			plen = x.len;
		} else {
			if (addr + done < addr)
				goto refused;
			gpa = addr + done;
			plen = len - done;
		}
		hva = guest_mem_ptr(d->mem, gpa, plen);
		if (!hva)
			goto refused;
		pieces[*npieces].hva = hva;
		pieces[*npieces].len = plen;
		(*npieces)++;
		done += plen;
	}
	return (ssize_t)done;

refused:
	d->refused++;
	if (d->on_fault)
		d->on_fault(d->fault_opaque);
	return -EFAULT;
}

/* Where the bytes of a transfer go to / come from on the device side. */
struct sink {
	uint8_t *plain;               /* the caller's buffer, or */
	struct swiotlb_seg *seg;      /* a bounce segment at offset seg_off */
	size_t seg_off;
};

/* guest -> sink, each guest byte read exactly once. */
static int copy_from_guest(struct dma_space *d, uint64_t addr, size_t len, struct sink *s)
{
	struct piece p[DMA_MAX_PIECES];
	size_t done = 0;

	while (done < len) {
		unsigned int n;
		ssize_t got = translate(d, addr + done, len - done, VIOMMU_READ, p, &n);

		if (got < 0)
			return -EFAULT;
		for (unsigned int i = 0; i < n; i++) {
			if (s->seg)
				swiotlb_bounce_in(s->seg, s->seg_off + done, p[i].hva, p[i].len);
			else
				memcpy(s->plain + done, p[i].hva, p[i].len);
			done += p[i].len;
		}
	}
	d->bytes_read += len;
	return 0;
}

int dma_check(struct dma_space *d, uint64_t addr, uint64_t len, enum viommu_access access)
{
	struct piece p[DMA_MAX_PIECES];
	uint64_t checked = 0;

	while (checked < len) {
		unsigned int n;
		size_t want = len - checked > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)(len - checked);
		ssize_t got = translate(d, addr + checked, want, access, p, &n);

		if (got < 0)
			return -EFAULT;
		checked += (uint64_t)got;
	}
	return 0;
}

/* sink -> guest: every byte translated before the first one moves (a
 * refused write writes nothing); the common case is one round. */
static int copy_to_guest(struct dma_space *d, uint64_t addr, size_t len, const struct sink *s)
{
	struct piece p[DMA_MAX_PIECES];
	size_t done = 0;
	unsigned int n;
	ssize_t got;

	got = translate(d, addr, len, VIOMMU_WRITE, p, &n);
	if (got < 0)
		return -EFAULT;
	if ((size_t)got < len && dma_check(d, addr + (size_t)got, len - (size_t)got, VIOMMU_WRITE))
		return -EFAULT;
	for (;;) {
		for (unsigned int i = 0; i < n; i++) {
			if (s->seg)
				swiotlb_bounce_out(s->seg, s->seg_off + done, p[i].hva, p[i].len);
			else
				memcpy(p[i].hva, s->plain + done, p[i].len);
			done += p[i].len;
		}
		if (done >= len)
			break;
		got = translate(d, addr + done, len - done, VIOMMU_WRITE, p, &n);
		if (got < 0)
			return -EFAULT;  /* unmapped meanwhile: stop */
	}
	d->bytes_written += len;
	return 0;
}

/* Every caller fills the whole segment before anything leaves it (a
 * snapshot of guest bytes, or the device's data), so it need not be
 * cleared first. */
static int seg_alloc(struct dma_space *d, size_t len, struct swiotlb_seg *seg)
{
	int ret = swiotlb_seg_alloc_uninit(d->bounce, len, 0, seg);

	if (ret == -ENOSPC) {
		d->bounce_exhausted++;
		pr_ratelimited(LOG_WARN, "%s %s: bounce pool exhausted, %zu-byte DMA "
			       "failed as an I/O error (see --bounce-pool)",
			       pci_bdf_str(d->endpoint).s, swiotlb_account_name(d->bounce), len);
	}
	return ret;
}

int dma_read_coherent(struct dma_space *d, uint64_t addr, void *buf, size_t len)
{
	struct sink s = { .plain = buf };

	return copy_from_guest(d, addr, len, &s);
}

int dma_write_coherent(struct dma_space *d, uint64_t addr, const void *buf, size_t len)
{
	struct sink s = { .plain = (uint8_t *)buf };

	return copy_to_guest(d, addr, len, &s);
}

int dma_read(struct dma_space *d, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;

	if (!d->bounce || len == 0)
		return dma_read_coherent(d, addr, buf, len);
	/* One snapshot per segment into the bounce pool, then the device
	 * consumes it from there. */
	while (done < len) {
		size_t n = len - done < SWIOTLB_SEG_MAX ? len - done : SWIOTLB_SEG_MAX;
		struct swiotlb_seg seg;
		struct sink s = { .seg = &seg };
		int ret = seg_alloc(d, n, &seg);

		if (ret)
			return ret;
		ret = copy_from_guest(d, addr + done, n, &s);
		if (!ret)
			memcpy((uint8_t *)buf + done, seg.buf, n);
		swiotlb_seg_free(&seg);
		if (ret)
			return ret;
		done += n;
	}
	return 0;
}

int dma_write(struct dma_space *d, uint64_t addr, const void *buf, size_t len)
{
	struct swiotlb_seg segs[DMA_MAX_SEGS];
	size_t done = 0;
	int ret = 0;

	if (!d->bounce || len == 0)
		return dma_write_coherent(d, addr, buf, len);
	if (len <= SWIOTLB_SEG_MAX) {
		/* One segment, the common case: copy_to_guest() translates the
		 * whole destination before the first byte moves, so there is
		 * nothing to check beforehand (that would translate it twice). */
		struct swiotlb_seg seg;
		struct sink s = { .seg = &seg };

		ret = seg_alloc(d, len, &seg);
		if (ret)
			return ret;
		memcpy(seg.buf, buf, len);
		ret = copy_to_guest(d, addr, len, &s);
		swiotlb_seg_free(&seg);
		return ret;
	}
	/* Several segments are copied out one by one: check all of the
	 * destination first, so that a refused write writes nothing. */
	if (dma_check(d, addr, len, VIOMMU_WRITE))
		return -EFAULT;
	while (done < len && !ret) {
		unsigned int nseg = 0;
		size_t batch = 0;

		/* Assemble the batch in the pool first: a full pool refuses the
		 * batch before any guest byte changes. */
		while (nseg < DMA_MAX_SEGS && done + batch < len) {
			size_t n = len - done - batch;

			if (n > SWIOTLB_SEG_MAX)
				n = SWIOTLB_SEG_MAX;
			ret = seg_alloc(d, n, &segs[nseg]);
			if (ret)
				break;
			memcpy(segs[nseg].buf, (const uint8_t *)buf + done + batch, n);
			batch += n;
			nseg++;
		}
		for (unsigned int i = 0, off = 0; i < nseg; i++) {
			struct sink s = { .seg = &segs[i] };

			if (!ret)
				ret = copy_to_guest(d, addr + done + off, segs[i].len, &s);
			off += (unsigned int)segs[i].len;
			swiotlb_seg_free(&segs[i]);
		}
		done += batch;
	}
	return ret;
}

int dma_bounce_in(struct dma_space *d, uint64_t addr, struct swiotlb_seg *seg, size_t off,
		  size_t len)
{
	struct sink s = { .seg = seg, .seg_off = off };

	if (off > seg->len || len > seg->len - off)
		return -EINVAL;
	return copy_from_guest(d, addr, len, &s);
}

int dma_bounce_out(struct dma_space *d, uint64_t addr, const struct swiotlb_seg *seg, size_t off,
		   size_t len)
{
	struct sink s = { .seg = (struct swiotlb_seg *)seg, .seg_off = off };

	if (off > seg->len || len > seg->len - off)
		return -EINVAL;
	return copy_to_guest(d, addr, len, &s);
}
