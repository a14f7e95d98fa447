/* SPDX-License-Identifier: MIT */
#include "vmm/dma.h"
#include "vmm/log.h"
#include "vmm/pci_config.h"

#include <errno.h>
#include <string.h>
#include <sys/types.h>

/* Pieces one window translates into: a round of 256 KiB over 4 KiB
 * mappings is at most 65 of them.  With a finer granule a read finishes
 * its round in several windows, and a write takes the checked path. */
#define DMA_MAX_PIECES 66
/* dma_check() walks at most this much per window, so that a huge check
 * does not keep a request waiting for the window for long. */
#define DMA_CHECK_CHUNK (4ull << 20)
/* A staged write takes all its segments before the first byte moves, so
 * that a full pool refuses it whole; bigger writes are staged in turns. */
#define DMA_MAX_SEGS 64

int dma_attach_iommu(struct dma_space *d, struct viommu *iommu)
{
	struct viommu_port *port = viommu_port_open(iommu, d->endpoint);

	if (!port)
		return -errno;
	d->iommu = iommu;
	d->port = port;
	return 0;
}

void dma_detach_iommu(struct dma_space *d)
{
	viommu_port_close(d->port);
	d->port = NULL;
	d->iommu = NULL;
}

static void window_begin(struct dma_space *d)
{
	if (d->port)
		viommu_dma_begin(d->port);
}

static void window_end(struct dma_space *d)
{
	if (d->port)
		viommu_dma_end(d->port);
}

static bool wraps(uint64_t addr, uint64_t len)
{
	return len && len - 1 > UINT64_MAX - addr;
}

/* A DMA whose last byte would lie past 2^64 - 1: the IOMMU sees it whole
 * (and records the violation), so that rounds never wrap to IOVA 0. */
static int refuse_wrapping(struct dma_space *d, uint64_t addr, uint64_t len,
			   enum viommu_access access)
{
	if (d->port) {
		struct viommu_xlate x = { 0 };

		window_begin(d);
		viommu_translate(d->port, addr, len, access, &x);
		window_end(d);
	}
	d->refused++;
	return -EFAULT;
}

/* A host range of one translated piece. */
struct span {
	uint8_t *hva;
	size_t len;
};

/*
 * Inside a window: the host spans of the start of [addr, addr + len) (no
 * wrap), at most DMA_MAX_PIECES.  Returns the bytes they cover (> 0) or
 * -EFAULT (refused; the IOMMU recorded why).
 */
static ssize_t translate_round(struct dma_space *d, uint64_t addr, size_t len,
			       enum viommu_access access, struct span *sp, unsigned int *n)
{
	struct viommu_piece pc[DMA_MAX_PIECES];
	struct viommu_xlate x = { .pieces = pc, .max = DMA_MAX_PIECES };

	if (!d->port) {
		/* Behind an IOMMU without a port yet: a wiring bug, refused. */
		uint8_t *hva = d->iommu ? NULL : guest_mem_ptr(d->mem, addr, len);

		if (!hva)
			return -EFAULT;
		sp[0] = (struct span){ .hva = hva, .len = len };
		*n = 1;
		return (ssize_t)len;
	}
	if (viommu_translate(d->port, addr, len, access, &x) != VIOMMU_OK)
		return -EFAULT;
	for (unsigned int i = 0; i < x.n; i++) {
		/* The IOMMU checked RAM with guest_mem's own answer; should
		 * the two ever disagree, the access is refused, not trusted. */
		sp[i].hva = guest_mem_ptr(d->mem, pc[i].gpa, pc[i].len);
		if (!sp[i].hva)
			return -EFAULT;
		sp[i].len = pc[i].len;
	}
	*n = x.n;
	return (ssize_t)x.len;
}

/* Where the bytes of a transfer go to / come from on the device side. */
struct sink {
	uint8_t *plain;               /* the caller's buffer, or */
	struct swiotlb_seg *seg;      /* a bounce segment at offset seg_off */
	size_t seg_off;
};

static void sink_fill(const struct sink *s, size_t off, const struct span *sp, unsigned int n)
{
	for (unsigned int i = 0; i < n; off += sp[i].len, i++) {
		if (s->seg)
			swiotlb_bounce_in(s->seg, s->seg_off + off, sp[i].hva, sp[i].len);
		else
			memcpy(s->plain + off, sp[i].hva, sp[i].len);
	}
}

static void sink_drain(const struct sink *s, size_t off, const struct span *sp, unsigned int n)
{
	for (unsigned int i = 0; i < n; off += sp[i].len, i++) {
		if (s->seg)
			swiotlb_bounce_out(s->seg, s->seg_off + off, sp[i].hva, sp[i].len);
		else
			memcpy(sp[i].hva, s->plain + off, sp[i].len);
	}
}

/* guest -> sink, each guest byte read exactly once, round by round. */
static int copy_from_guest(struct dma_space *d, uint64_t addr, size_t len, const struct sink *s)
{
	size_t done = 0;

	if (wraps(addr, len))
		return refuse_wrapping(d, addr, len, VIOMMU_READ);
	while (done < len) {
		size_t want = len - done < DMA_ROUND_MAX ? len - done : DMA_ROUND_MAX;
		struct span sp[DMA_MAX_PIECES];
		unsigned int n;
		ssize_t got;

		window_begin(d);
		got = translate_round(d, addr + done, want, VIOMMU_READ, sp, &n);
		if (got > 0)
			sink_fill(s, done, sp, n);
		window_end(d);
		if (got < 0) {
			d->refused++;
			return -EFAULT;
		}
		done += (size_t)got;
	}
	d->bytes_read += len;
	return 0;
}

int dma_check(struct dma_space *d, uint64_t addr, uint64_t len, enum viommu_access access)
{
	uint64_t checked = 0;

	if (wraps(addr, len))
		return refuse_wrapping(d, addr, len, access);
	while (checked < len) {
		uint64_t want = len - checked < DMA_CHECK_CHUNK ? len - checked : DMA_CHECK_CHUNK;
		bool ok;

		window_begin(d);
		if (d->port) {
			struct viommu_xlate x = { 0 };   /* no pieces: check only */

			ok = viommu_translate(d->port, addr + checked, want, access, &x) == VIOMMU_OK;
		} else {
			ok = !d->iommu && guest_mem_ptr(d->mem, addr + checked, (size_t)want) != NULL;
		}
		window_end(d);
		if (!ok) {
			d->refused++;
			return -EFAULT;
		}
		checked += want;
	}
	return 0;
}

/*
 * sink -> guest: every byte translated before the first one moves (a
 * refused write writes nothing).  The common case is one window that
 * translates and copies; a longer write is checked whole first and then
 * copied round by round.
 */
static int copy_to_guest(struct dma_space *d, uint64_t addr, size_t len, const struct sink *s)
{
	struct span sp[DMA_MAX_PIECES];
	size_t done = 0;
	unsigned int n;
	ssize_t got;

	if (wraps(addr, len))
		return refuse_wrapping(d, addr, len, VIOMMU_WRITE);
	if (len <= DMA_ROUND_MAX) {
		window_begin(d);
		got = translate_round(d, addr, len, VIOMMU_WRITE, sp, &n);
		if (got == (ssize_t)len)
			sink_drain(s, 0, sp, n);
		window_end(d);
		if (got < 0) {
			d->refused++;
			return -EFAULT;
		}
		if (got == (ssize_t)len)
			goto written;
		/* more pieces than one window takes: the checked path */
	}
	if (dma_check(d, addr, len, VIOMMU_WRITE))
		return -EFAULT;
	while (done < len) {
		size_t want = len - done < DMA_ROUND_MAX ? len - done : DMA_ROUND_MAX;

		window_begin(d);
		got = translate_round(d, addr + done, want, VIOMMU_WRITE, sp, &n);
		if (got > 0)
			sink_drain(s, done, sp, n);
		window_end(d);
		if (got < 0) {
			/* Unmapped since the check, by a request that waited
			 * for the previous round: the rest is refused. */
			d->refused++;
			return -EFAULT;
		}
		done += (size_t)got;
	}
written:
	d->bytes_written += len;
	return 0;
}

int dma_seg_alloc(struct dma_space *d, size_t len, struct swiotlb_seg *seg)
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

/* A device outside any IOMMU (the virtio-iommu's own rings): one round,
 * guest-physical, no window; what copy_from/to_guest do for it, without
 * their rounds, windows and piece lists.  NULL: refused, counted. */
static uint8_t *direct_ptr(struct dma_space *d, uint64_t addr, size_t len)
{
	uint8_t *hva = wraps(addr, len) ? NULL : guest_mem_ptr(d->mem, addr, len);

	if (!hva)
		d->refused++;
	return hva;
}

int dma_read_coherent(struct dma_space *d, uint64_t addr, void *buf, size_t len)
{
	struct sink s = { .plain = buf };

	if (!d->iommu && len && len <= DMA_ROUND_MAX) {
		const uint8_t *hva = direct_ptr(d, addr, len);

		if (!hva)
			return -EFAULT;
		memcpy(buf, hva, len);
		d->bytes_read += len;
		return 0;
	}
	return copy_from_guest(d, addr, len, &s);
}

int dma_write_coherent(struct dma_space *d, uint64_t addr, const void *buf, size_t len)
{
	struct sink s = { .plain = (uint8_t *)buf };

	if (!d->iommu && len && len <= DMA_ROUND_MAX) {
		uint8_t *hva = direct_ptr(d, addr, len);

		if (!hva)
			return -EFAULT;
		memcpy(hva, buf, len);
		d->bytes_written += len;
		return 0;
	}
	return copy_to_guest(d, addr, len, &s);
}

int dma_read(struct dma_space *d, uint64_t addr, void *buf, size_t len)
{
	size_t done = 0;

	if (!d->bounce || len == 0)
		return dma_read_coherent(d, addr, buf, len);
	if (wraps(addr, len))
		return refuse_wrapping(d, addr, len, VIOMMU_READ);
	/* One snapshot per segment into the bounce pool, then the device
	 * consumes it from there. */
	while (done < len) {
		size_t n = len - done < SWIOTLB_SEG_MAX ? len - done : SWIOTLB_SEG_MAX;
		struct swiotlb_seg seg;
		struct sink s = { .seg = &seg };
		int ret = dma_seg_alloc(d, n, &seg);

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

		ret = dma_seg_alloc(d, len, &seg);
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
			ret = dma_seg_alloc(d, n, &segs[nseg]);
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
