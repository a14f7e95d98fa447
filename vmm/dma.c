/* SPDX-License-Identifier: MIT */
#include "vmm/dma.h"

#include <errno.h>
#include <string.h>
#include <sys/types.h>

/* Translated pieces of one DMA; a DMA is at most a few physically
 * discontiguous pieces in practice, more are handled in rounds. */
#define DMA_MAX_PIECES 16

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

int dma_read(struct dma_space *d, uint64_t addr, void *buf, size_t len)
{
	struct piece p[DMA_MAX_PIECES];
	size_t done = 0;

	while (done < len) {
		unsigned int n;
		ssize_t got = translate(d, addr + done, len - done, VIOMMU_READ, p, &n);

		if (got < 0)
			return -EFAULT;
		for (unsigned int i = 0; i < n; i++) {
			memcpy((uint8_t *)buf + done, p[i].hva, p[i].len);
			done += p[i].len;
		}
	}
	d->bytes_read += len;
	return 0;
}

int dma_write(struct dma_space *d, uint64_t addr, const void *buf, size_t len)
{
	struct piece p[DMA_MAX_PIECES];
	size_t done = 0, checked;
	unsigned int n;
	ssize_t got;

	/* Translate everything before the first byte moves: a refused DMA
	 * writes nothing.  The common case is covered by one round. */
	got = translate(d, addr, len, VIOMMU_WRITE, p, &n);
	if (got < 0)
		return -EFAULT;
	checked = (size_t)got;
	while (checked < len) {
		unsigned int m;
		struct piece q[DMA_MAX_PIECES];
		ssize_t more = translate(d, addr + checked, len - checked, VIOMMU_WRITE, q, &m);

		if (more < 0)
			return -EFAULT;
		checked += (size_t)more;
	}
	for (;;) {
		for (unsigned int i = 0; i < n; i++) {
			memcpy(p[i].hva, (const uint8_t *)buf + done, p[i].len);
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
