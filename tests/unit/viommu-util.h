/* SPDX-License-Identifier: MIT */
#ifndef TESTS_VIOMMU_UTIL_H
#define TESTS_VIOMMU_UTIL_H

/*
 * Helpers for the virtio-iommu tests: a guest-RAM layout like the VMM's
 * (RAM below the 32-bit hole and above 4 GiB) and request builders that
 * send the wire format (little-endian) and return the status, or -1 when
 * the device used the buffer without writing it (used length 0).
 */
#include "viommu/report.h"
#include "viommu/viommu.h"

#include <endian.h>
#include <stddef.h>
#include <string.h>

#define LOW_RAM_END  0xc0000000ull          /* [0, 3 GiB) */
#define HIGH_RAM     0x100000000ull         /* [4 GiB, 5 GiB) */
#define HIGH_RAM_END 0x140000000ull

static inline bool test_is_ram(void *opaque, uint64_t gpa, uint64_t len)
{
	uint64_t end = gpa + len;

	(void)opaque;
	if (!len || end < gpa)
		return false;
	return end <= LOW_RAM_END || (gpa >= HIGH_RAM && end <= HIGH_RAM_END);
}

static const struct viommu_host_ops test_host = { .is_ram = test_is_ram };

#define TAIL_LEN sizeof(struct virtio_iommu_req_tail)

/* Send req (its device-readable part: everything before the tail). */
static inline int send_req(struct viommu *v, const void *req, size_t readable)
{
	struct virtio_iommu_req_tail tail;
	size_t n;

	memset(&tail, 0xaa, sizeof(tail));
	n = viommu_handle_request(v, req, readable, &tail, sizeof(tail));
	if (n != TAIL_LEN)
		return -1;
	return tail.status;
}

static inline int req_attach(struct viommu *v, uint32_t domain, uint32_t ep, uint32_t flags)
{
	struct virtio_iommu_req_attach r = {
		.head.type = VIRTIO_IOMMU_T_ATTACH,
		.domain = htole32(domain), .endpoint = htole32(ep), .flags = htole32(flags),
	};

	return send_req(v, &r, offsetof(struct virtio_iommu_req_attach, tail));
}

static inline int req_detach(struct viommu *v, uint32_t domain, uint32_t ep)
{
	struct virtio_iommu_req_detach r = {
		.head.type = VIRTIO_IOMMU_T_DETACH,
		.domain = htole32(domain), .endpoint = htole32(ep),
	};

	return send_req(v, &r, offsetof(struct virtio_iommu_req_detach, tail));
}

static inline int req_map(struct viommu *v, uint32_t domain, uint64_t vstart, uint64_t vend,
			  uint64_t phys, uint32_t flags)
{
	struct virtio_iommu_req_map r = {
		.head.type = VIRTIO_IOMMU_T_MAP,
		.domain = htole32(domain),
		.virt_start = htole64(vstart), .virt_end = htole64(vend),
		.phys_start = htole64(phys), .flags = htole32(flags),
	};

	return send_req(v, &r, offsetof(struct virtio_iommu_req_map, tail));
}

static inline int req_unmap(struct viommu *v, uint32_t domain, uint64_t vstart, uint64_t vend)
{
	struct virtio_iommu_req_unmap r = {
		.head.type = VIRTIO_IOMMU_T_UNMAP,
		.domain = htole32(domain),
		.virt_start = htole64(vstart), .virt_end = htole64(vend),
	};

	return send_req(v, &r, offsetof(struct virtio_iommu_req_unmap, tail));
}

#define RW (VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE)

/* A translated DMA: its pieces, and the first one as gpa/len. */
#define TEST_XLATE_PIECES 16
struct test_xlate {
	uint64_t gpa, len;             /* the first piece; 0, 0 if refused */
	unsigned int n;                /* pieces */
	uint64_t total;                /* bytes translated */
	struct viommu_piece piece[TEST_XLATE_PIECES];
};

/*
 * One DMA translated as a device model does it, in a window of its own on
 * a port of ep (opened for the call; closing keeps it for the next open,
 * so the IOTLB starts empty each time).  An endpoint that has no port (not
 * added) gives VIOMMU_V_UNKNOWN_ENDPOINT.
 */
static inline enum viommu_violation xlate(struct viommu *v, uint32_t ep, uint64_t iova,
					  uint64_t len, enum viommu_access access,
					  struct test_xlate *out)
{
	struct viommu_port *p = viommu_port_open(v, ep);
	struct viommu_xlate x = { .pieces = out->piece, .max = TEST_XLATE_PIECES };
	enum viommu_violation r;

	memset(out, 0, sizeof(*out));
	if (!p)
		return VIOMMU_V_UNKNOWN_ENDPOINT;
	viommu_dma_begin(p);
	r = viommu_translate(p, iova, len, access, &x);
	viommu_dma_end(p);
	viommu_port_close(p);
	out->n = x.n;
	out->total = x.len;
	if (x.n) {
		out->gpa = out->piece[0].gpa;
		out->len = out->piece[0].len;
	}
	return r;
}

#endif
