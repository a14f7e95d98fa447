/* SPDX-License-Identifier: MIT */
/*
 * Host-side cost of the virtio-iommu: one MAP+UNMAP request pair through
 * viommu_handle_request() (4 KiB mappings, a device port open on the
 * endpoint, so that UNMAP drains it as in the VMM) with N mappings already
 * in the domain; one viommu_translate() hit from the port's IOTLB inside an
 * open window, the same with its own window (begin + translate + end, what
 * a small ring access costs), a hit through the tree, and a miss (refused:
 * records a violation and queues a fault); and one 16 MiB DMA over 4096
 * physically scattered 4 KiB mappings, checked and translated into
 * pieces.  All against a baseline measured in the same run: a memcpy of
 * the bytes of one MAP and one UNMAP request.
 *
 *   tests/bench/viommu [ITERATIONS [N...]]        (make bench-viommu)
 *
 * N...: only these mapping counts (default 0 1000 100000), e.g. to profile
 * one of them; the scattered DMA runs with the default only.
 */
#include "viommu/report.h"
#include "viommu/viommu.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BASE_IOVA 0x100000000ull
#define RAM_END   0x40000000ull

static bool bench_is_ram(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	return len && gpa < RAM_END && len <= RAM_END - gpa;
}

static const struct viommu_host_ops bench_host = { .is_ram = bench_is_ram };

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Keeps the compiler from dropping work whose result is unused. */
static void clobber(void *p)
{
	__asm__ volatile("" : : "r"(p) : "memory");
}

static struct virtio_iommu_req_map map_req(uint64_t iova, uint64_t phys)
{
	return (struct virtio_iommu_req_map){
		.head.type = VIRTIO_IOMMU_T_MAP, .domain = htole32(1),
		.virt_start = htole64(iova), .virt_end = htole64(iova + 0xfff),
		.phys_start = htole64(phys),
		.flags = htole32(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE),
	};
}

static struct virtio_iommu_req_unmap unmap_req(uint64_t iova)
{
	return (struct virtio_iommu_req_unmap){
		.head.type = VIRTIO_IOMMU_T_UNMAP, .domain = htole32(1),
		.virt_start = htole64(iova), .virt_end = htole64(iova + 0xfff),
	};
}

static const size_t map_len = offsetof(struct virtio_iommu_req_map, tail);
static const size_t unmap_len = offsetof(struct virtio_iommu_req_unmap, tail);

static uint8_t send(struct viommu *v, const void *req, size_t len)
{
	struct virtio_iommu_req_tail t;

	if (viommu_handle_request(v, req, len, &t, sizeof(t)) != sizeof(t))
		return 0xff;
	return t.status;
}

/* Baseline: copy the bytes of one MAP and one UNMAP request. */
static double bench_memcpy(unsigned long iters)
{
	struct virtio_iommu_req_map m = map_req(BASE_IOVA, 0);
	struct virtio_iommu_req_unmap u = unmap_req(BASE_IOVA);
	uint8_t dst[128];
	double t0 = now_ns();

	for (unsigned long i = 0; i < iters; i++) {
		m.virt_start = htole64(BASE_IOVA + i * 0x1000);
		memcpy(dst, &m, map_len);
		clobber(dst);
		memcpy(dst + 64, &u, unmap_len);
		clobber(dst);
	}
	return (now_ns() - t0) / iters;
}

static struct viommu_port *port;

static struct viommu *setup(unsigned long n)
{
	struct viommu_config cfg;
	struct viommu *v;
	struct virtio_iommu_req_attach a = {
		.head.type = VIRTIO_IOMMU_T_ATTACH, .domain = htole32(1), .endpoint = htole32(8),
	};

	viommu_default_config(&cfg);
	cfg.max_mappings = cfg.max_total_mappings = 1u << 22;
	v = viommu_create(&cfg, &bench_host, NULL);
	if (!v || viommu_add_endpoint(v, 8, "bench") || !(port = viommu_port_open(v, 8)) ||
	    send(v, &a, offsetof(struct virtio_iommu_req_attach, tail))) {
		fprintf(stderr, "bench: setup failed\n");
		exit(1);
	}
	/* N existing mappings on every other page: the pages between them
	 * are where the measured MAP/UNMAP pairs go, spread over the tree. */
	for (unsigned long i = 0; i < n; i++) {
		struct virtio_iommu_req_map m = map_req(BASE_IOVA + i * 0x2000, (i % 4096) * 0x1000);

		if (send(v, &m, map_len)) {
			fprintf(stderr, "bench: pre-map %lu failed\n", i);
			exit(1);
		}
	}
	return v;
}

static double bench_map_unmap(struct viommu *v, unsigned long n, unsigned long iters)
{
	unsigned long slots = n ? n : 1;
	double t0 = now_ns();

	for (unsigned long i = 0; i < iters; i++) {
		/* a pseudo-random gap page (odd page index) */
		uint64_t iova = BASE_IOVA + ((i * 2654435761u) % slots) * 0x2000 + 0x1000;
		struct virtio_iommu_req_map m = map_req(iova, 0x10000);
		struct virtio_iommu_req_unmap u = unmap_req(iova);

		if (send(v, &m, map_len) | send(v, &u, unmap_len)) {
			fprintf(stderr, "bench: MAP/UNMAP failed\n");
			exit(1);
		}
	}
	return (now_ns() - t0) / iters;
}

enum xlate_kind {
	HIT_IN_WINDOW,     /* same mapping, one window around all of them */
	HIT_OWN_WINDOW,    /* same mapping, a window each */
	TREE,              /* a different mapping each time: the tree */
	REFUSED,           /* a gap page: refused, recorded, fault queued */
};

static double bench_translate(struct viommu *v, unsigned long n, unsigned long iters,
			      enum xlate_kind kind)
{
	struct viommu_piece pc[4];
	struct virtio_iommu_fault f;
	unsigned long slots = n ? n : 1;
	double t0;

	if (kind == HIT_IN_WINDOW)
		viommu_dma_begin(port);
	t0 = now_ns();
	for (unsigned long i = 0; i < iters; i++) {
		struct viommu_xlate x = { .pieces = pc, .max = 4 };
		enum viommu_violation want = VIOMMU_OK, got;
		uint64_t iova;

		if (kind == HIT_IN_WINDOW || kind == HIT_OWN_WINDOW) {
			iova = BASE_IOVA + 0x10;
		} else if (kind == TREE) {
			iova = BASE_IOVA + ((i * 2654435761u) % slots) * 0x2000 + 0x10;
		} else {
			iova = BASE_IOVA + ((i * 2654435761u) % slots) * 0x2000 + 0x1010;
			want = VIOMMU_V_UNMAPPED;
		}
		if (kind != HIT_IN_WINDOW)
			viommu_dma_begin(port);
		got = viommu_translate(port, iova, 512, VIOMMU_READ, &x);
		if (kind != HIT_IN_WINDOW)
			viommu_dma_end(port);
		/* the gap pages were MAPped and UNMAPped by bench_map_unmap:
		 * the newest 4096 of them are in the unmap history */
		if (got == VIOMMU_V_AFTER_UNMAP && want == VIOMMU_V_UNMAPPED)
			got = want;
		if (got != want) {
			fprintf(stderr, "bench: unexpected translation result\n");
			exit(1);
		}
		clobber(pc);
		if (kind == REFUSED)
			viommu_pop_fault(v, &f);   /* what the event queue does */
	}
	t0 = now_ns() - t0;
	if (kind == HIT_IN_WINDOW)
		viommu_dma_end(port);
	return t0 / iters;
}

/*
 * One 16 MiB DMA over 4096 physically scattered 4 KiB mappings (the
 * guest's view of a scatter-gather buffer): checked in one pass (what
 * dma_check does before a long write), and translated into pieces 66 at a
 * time (what each 256 KiB round of vmm/dma.c does).  ms per DMA.
 */
static void bench_scattered(unsigned long reps, double *check_ms, double *pieces_ms)
{
	struct viommu *v = setup(0);
	uint64_t base = 0x200000000ull, len = 16ull << 20;
	struct viommu_piece pc[66];
	double t0;

	for (unsigned long i = 0; i < 4096; i++) {
		struct virtio_iommu_req_map m =
			map_req(base + i * 0x1000, ((i * 2654435761u) % 65536) * 0x2000);

		if (send(v, &m, map_len)) {
			fprintf(stderr, "bench: scattered map %lu failed\n", i);
			exit(1);
		}
	}
	t0 = now_ns();
	for (unsigned long r = 0; r < reps; r++) {
		struct viommu_xlate x = { 0 };

		viommu_dma_begin(port);
		if (viommu_translate(port, base, len, VIOMMU_WRITE, &x) || x.len != len) {
			fprintf(stderr, "bench: scattered check failed\n");
			exit(1);
		}
		viommu_dma_end(port);
	}
	*check_ms = (now_ns() - t0) / reps / 1e6;
	t0 = now_ns();
	for (unsigned long r = 0; r < reps; r++) {
		for (uint64_t done = 0; done < len;) {
			struct viommu_xlate x = { .pieces = pc, .max = 66 };

			viommu_dma_begin(port);
			if (viommu_translate(port, base + done, len - done, VIOMMU_WRITE, &x) || !x.len) {
				fprintf(stderr, "bench: scattered translation failed\n");
				exit(1);
			}
			viommu_dma_end(port);
			clobber(pc);
			done += x.len;
		}
	}
	*pieces_ms = (now_ns() - t0) / reps / 1e6;
	viommu_destroy(v);
}

int main(int argc, char **argv)
{
	static const unsigned long default_sizes[] = { 0, 1000, 100000 };
	unsigned long iters = argc > 1 ? strtoul(argv[1], NULL, 0) : 1000000;
	unsigned long sizes[16];
	unsigned int nsizes = 0;
	double base;

	for (int i = 2; i < argc && nsizes < 16; i++)
		sizes[nsizes++] = strtoul(argv[i], NULL, 0);
	if (!nsizes)
		for (; nsizes < 3; nsizes++)
			sizes[nsizes] = default_sizes[nsizes];

	if (!iters)
		iters = 1;
	base = bench_memcpy(iters * 4);
	printf("baseline: memcpy of one MAP + one UNMAP request (%zu bytes): %.1f ns\n",
	       map_len + unmap_len, base);
	printf("%-8s %-34s %10s %10s\n", "N", "operation", "ns/op", "x memcpy");
	for (unsigned int s = 0; s < nsizes; s++) {
		unsigned long n = sizes[s];
		struct viommu *v = setup(n);
		double t;

		t = bench_map_unmap(v, n, iters);
		printf("%-8lu %-34s %10.1f %10.1f\n", n, "MAP+UNMAP pair (4 KiB)", t, t / base);
		if (!n) {
			/* translations need something to hit: one mapping */
			struct virtio_iommu_req_map m = map_req(BASE_IOVA, 0);

			send(v, &m, map_len);
		}
		t = bench_translate(v, n, iters, HIT_IN_WINDOW);
		printf("%-8lu %-34s %10.1f %10.1f\n", n, "translate hit (IOTLB, in a window)", t, t / base);
		t = bench_translate(v, n, iters, HIT_OWN_WINDOW);
		printf("%-8lu %-34s %10.1f %10.1f\n", n, "window + translate hit (IOTLB)", t, t / base);
		t = bench_translate(v, n, iters, TREE);
		printf("%-8lu %-34s %10.1f %10.1f\n", n, "window + translate hit (tree)", t, t / base);
		t = bench_translate(v, n, iters, REFUSED);
		printf("%-8lu %-34s %10.1f %10.1f\n", n, "window + translate refused + fault", t, t / base);
		viommu_destroy(v);
	}
	if (argc <= 2) {
		unsigned long reps = iters / 10000 ? iters / 10000 : 1;
		double check_ms, pieces_ms;

		bench_scattered(reps, &check_ms, &pieces_ms);
		printf("16 MiB DMA over 4096 scattered 4 KiB mappings (%lu reps): one-pass check %.3f ms, "
		       "translated into pieces %.3f ms (%.0f x memcpy baseline)\n", reps, check_ms,
		       pieces_ms, pieces_ms * 1e6 / base);
	}
	return 0;
}
