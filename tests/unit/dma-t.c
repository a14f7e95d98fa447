/* SPDX-License-Identifier: MIT */
/*
 * The choke point itself (vmm/dma.c), with the real IOMMU library and
 * bounce engine over a real guest_mem: a refused write writes nothing, a
 * full bounce pool fails the DMA cleanly, multi-piece and multi-segment
 * transfers land where their mappings say, ring accesses are translated
 * but not bounced, a DMA wrapping past 2^64 is refused, and -- the race
 * this file exists for -- no device byte lands in a page after the UNMAP
 * or DETACH that removed it has completed.
 */
#include "tests/tap/basic.h"
#include "tests/unit/viommu-util.h"
#include "vmm/dma.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EP      0x18          /* 00:03.0 */
#define DOMAIN  1
#define RAM     (64ull << 20)

static struct guest_mem mem;

static bool ram_is_ram(void *opaque, uint64_t gpa, uint64_t len)
{
	return guest_mem_is_ram(opaque, gpa, len);
}

static const struct viommu_host_ops ram_host = { .is_ram = ram_is_ram };

static struct viommu *make_iommu(void)
{
	struct viommu_config cfg;
	struct viommu *v;

	viommu_default_config(&cfg);
	v = viommu_create(&cfg, &ram_host, &mem);
	if (!v || viommu_add_endpoint(v, EP, "dev") || req_attach(v, DOMAIN, EP, 0))
		bail("cannot set up the IOMMU");
	return v;
}

/* A device behind v, staged through pool when it is not NULL. */
static void make_space(struct dma_space *d, struct viommu *v, struct swiotlb_pool *pool)
{
	*d = (struct dma_space){ .mem = &mem, .endpoint = EP };
	if (v && dma_attach_iommu(d, v))
		bail("dma_attach_iommu");
	if (pool && !(d->bounce = swiotlb_account_create(pool, "dev")))
		bail("swiotlb_account_create");
}

static uint8_t *gpa_ptr(uint64_t gpa)
{
	return guest_mem_ptr(&mem, gpa, 1);
}

static bool all_bytes(uint64_t gpa, size_t len, uint8_t val)
{
	const uint8_t *p = guest_mem_ptr(&mem, gpa, len);

	for (size_t i = 0; i < len; i++)
		if (p[i] != val)
			return false;
	return true;
}

/* ------------------------------------------------- a refused write writes nothing */

static void test_refused_write(struct swiotlb_pool *pool)
{
	struct viommu *v = make_iommu();
	struct dma_space d, dc;
	static uint8_t buf[1 << 20];

	make_space(&d, v, pool);
	make_space(&dc, NULL, NULL);   /* for comparison: no IOMMU, no bounce */
	dc.endpoint = EP;
	memset(buf, 0xab, sizeof(buf));
	/* IOVA 0x100000.. : 255 RW pages, then a READ-only one, all to GPA 0x400000.. */
	for (unsigned int i = 0; i < 256; i++)
		req_map(v, DOMAIN, 0x100000 + i * 0x1000ull, 0x100fff + i * 0x1000ull,
			0x400000 + i * 0x1000ull, i == 255 ? VIRTIO_IOMMU_MAP_F_READ : RW);
	memset(gpa_ptr(0x400000), 0, 1 << 20);

	is_int(-EFAULT, dma_write(&d, 0x100000 + 253 * 0x1000, buf, 3 * 0x1000),
	       "bounced write over RW, RW, READ-only pages: refused");
	ok(all_bytes(0x400000, 1 << 20, 0), "... and nothing was written (one segment)");
	is_int(-EFAULT, dma_write(&d, 0x100000, buf, 1 << 20),
	       "a 1 MiB (four segments) write whose last page is READ-only: refused");
	ok(all_bytes(0x400000, 1 << 20, 0), "... and nothing was written (several segments)");
	is_int(-EFAULT, dma_write_coherent(&d, 0x100000 + 200 * 0x1000, buf, 56 * 0x1000),
	       "coherent write running into the READ-only page: refused");
	ok(all_bytes(0x400000, 1 << 20, 0), "... and nothing was written (not staged)");
	is_int(-EFAULT, dma_write(&d, 0x100000 + 255 * 0x1000 - 8, buf, 16),
	       "a write straddling RW and READ-only: refused");
	ok(all_bytes(0x400000, 1 << 20, 0), "... not even its first half was written");
	is_int(0, dma_write(&d, 0x100000, buf, 255 * 0x1000), "the RW part alone is written");
	ok(all_bytes(0x400000, 255 * 0x1000, 0xab) && all_bytes(0x400000 + 255 * 0x1000, 0x1000, 0),
	   "... every byte of it, and not one more");
	ok(d.refused == 4 && d.bytes_written == 255 * 0x1000, "refused %llu, written %llu bytes",
	   (unsigned long long)d.refused, (unsigned long long)d.bytes_written);
	/* Without an IOMMU: guest-physical, bounded by RAM. */
	is_int(-EFAULT, dma_write(&dc, RAM - 8, buf, 16), "no IOMMU: a write past the end of RAM is refused");
	ok(all_bytes(RAM - 8, 8, 0), "... nothing written");
	dma_detach_iommu(&d);
	viommu_destroy(v);
}

/* ------------------------------------- coherent accesses without an IOMMU */

/* The virtio-iommu's own rings: guest-physical, bounded by RAM, counted,
 * whole or not at all (one round and several). */
static void test_coherent_no_iommu(void)
{
	struct dma_space d;
	static uint8_t big[(256 << 10) + 4096];
	uint8_t buf[16];

	make_space(&d, NULL, NULL);
	memset(buf, 0x5a, sizeof(buf));
	memset(gpa_ptr(0x9000), 0, 64);
	is_int(0, dma_write_coherent(&d, 0x9008, buf, sizeof(buf)), "no IOMMU: a coherent write");
	ok(all_bytes(0x9008, 16, 0x5a) && all_bytes(0x9000, 8, 0) && all_bytes(0x9018, 8, 0),
	   "... lands at its guest-physical address, not a byte more");
	memset(buf, 0, sizeof(buf));
	ok(dma_read_coherent(&d, 0x9008, buf, sizeof(buf)) == 0 && buf[0] == 0x5a && buf[15] == 0x5a,
	   "no IOMMU: a coherent read");
	is_int(-EFAULT, dma_read_coherent(&d, RAM - 8, buf, 16), "no IOMMU: a read past the end of RAM is refused");
	is_int(-EFAULT, dma_write_coherent(&d, UINT64_MAX - 7, buf, 16), "no IOMMU: a write that wraps is refused");
	ok(d.refused == 2 && d.bytes_read == 16 && d.bytes_written == 16,
	   "refused %llu, read %llu, written %llu bytes", (unsigned long long)d.refused,
	   (unsigned long long)d.bytes_read, (unsigned long long)d.bytes_written);
	memset(big, 0x33, sizeof(big));
	ok(dma_write_coherent(&d, 0x100000, big, sizeof(big)) == 0 && all_bytes(0x100000, sizeof(big), 0x33),
	   "no IOMMU: a coherent write of more than one round");
	is_int(-EFAULT, dma_read_coherent(&d, RAM - 4096, big, sizeof(big)),
	       "no IOMMU: ... and one running past RAM is refused");
	is_int(0, dma_read_coherent(&d, 0x9000, buf, 0), "no IOMMU: an empty read succeeds");
}

/* ------------------------------------------------------- a full bounce pool */

static void test_pool_full(void)
{
	struct swiotlb_pool *small = swiotlb_pool_create(256 << 10);
	struct viommu *v = make_iommu();
	struct swiotlb_seg hog;
	struct dma_space d;
	uint8_t buf[4096];

	if (!small)
		bail("swiotlb_pool_create");
	make_space(&d, v, small);
	req_map(v, DOMAIN, 0x100000, 0x100fff, 0x400000, RW);
	memset(gpa_ptr(0x400000), 0x11, 4096);
	memset(buf, 0x22, sizeof(buf));
	if (swiotlb_seg_alloc(d.bounce, 256 << 10, 0, &hog))
		bail("cannot fill the pool");
	is_int(-ENOSPC, dma_write(&d, 0x100000, buf, sizeof(buf)), "pool full: the write fails with -ENOSPC");
	ok(all_bytes(0x400000, 4096, 0x11), "... nothing written");
	memset(buf, 0, sizeof(buf));
	is_int(-ENOSPC, dma_read(&d, 0x100000, buf, sizeof(buf)), "pool full: the read fails with -ENOSPC");
	ok(d.bounce_exhausted == 2 && d.refused == 0, "counted as exhausted (%llu), not as refused",
	   (unsigned long long)d.bounce_exhausted);
	is_int(0, dma_read_coherent(&d, 0x100000, buf, 16), "ring access still works: it is not staged");
	swiotlb_seg_free(&hog);
	is_int(0, dma_write(&d, 0x100000, buf, sizeof(buf)), "room again: the write goes through");
	dma_detach_iommu(&d);
	viommu_destroy(v);
	swiotlb_pool_destroy(small);
}

/* ------------------------------------------- pieces, segments, rings, wraps */

static void test_transfers(struct swiotlb_pool *pool)
{
	struct viommu *v = make_iommu();
	struct swiotlb_stats before, after;
	struct dma_space d;
	uint8_t *out = malloc(1 << 20), *in = malloc(1 << 20);
	bool placed = true;

	if (!out || !in)
		bail("malloc");
	make_space(&d, v, pool);
	/* 1 MiB of IOVA over 256 pages mapped in reverse GPA order: every
	 * page is a piece of its own. */
	for (unsigned int i = 0; i < 256; i++)
		req_map(v, DOMAIN, 0x1000000 + i * 0x1000ull, 0x1000fff + i * 0x1000ull,
			0x800000 + (255 - i) * 0x1000ull, RW);
	for (unsigned int i = 0; i < (1 << 20); i++)
		out[i] = (uint8_t)(i * 7 + (i >> 12));
	is_int(0, dma_write(&d, 0x1000000 + 100, out, (1 << 20) - 200),
	       "a 1 MiB write over 256 scattered pages (four segments, 256 pieces)");
	for (unsigned int i = 0; i < 256; i++) {
		size_t lo = i ? 0 : 100, hi = i == 255 ? 0x1000 - 100 : 0x1000;

		placed &= !memcmp(gpa_ptr(0x800000 + (255 - i) * 0x1000ull) + lo, out + i * 0x1000 + lo - 100,
				  hi - lo);
	}
	ok(placed, "... every page's bytes at the GPA its mapping names");
	is_int(0, dma_read(&d, 0x1000000 + 100, in, (1 << 20) - 200), "read back through the same pieces");
	ok(!memcmp(in, out, (1 << 20) - 200), "... the same bytes");

	swiotlb_account_stats(d.bounce, &before);
	is_int(0, dma_write_coherent(&d, 0x1000000, out, 64), "a ring write");
	is_int(0, dma_read_coherent(&d, 0x1000000, in, 64), "a ring read");
	swiotlb_account_stats(d.bounce, &after);
	ok(after.bytes_in == before.bytes_in && after.bytes_out == before.bytes_out &&
	   after.segments == before.segments, "ring accesses are translated but not bounced");
	is_int(-EFAULT, dma_read_coherent(&d, 0x3000000, in, 2), "... and still checked (unmapped: refused)");
	is_int(0, dma_write(&d, 0x1000000, out, 64), "a data write");
	swiotlb_account_stats(d.bounce, &after);
	ok(after.bytes_out == before.bytes_out + 64 && after.segments == before.segments + 1,
	   "data is staged through one bounce segment");

	/* A DMA whose end wraps past 2^64 must not reach IOVA 0. */
	req_map(v, DOMAIN, 0, 0xfff, 0x900000, RW);
	req_map(v, DOMAIN, 0xfffffffffffff000ull, UINT64_MAX, 0x901000, RW);
	memset(gpa_ptr(0x900000), 0x5a, 0x2000);
	memset(in, 0, 64);
	is_int(-EFAULT, dma_read(&d, UINT64_MAX - 15, in, 32), "a read at 2^64 - 16 of 32 bytes is refused");
	ok(in[16] == 0 && in[0] == 0, "... and does not return the bytes mapped at IOVA 0");
	is_int(-EFAULT, dma_write(&d, UINT64_MAX - 15, out, 32), "a write wrapping past 2^64 is refused");
	ok(all_bytes(0x900000, 0x2000, 0x5a), "... and writes nothing, at the top or at IOVA 0");
	is_int(-EFAULT, dma_check(&d, UINT64_MAX - 15, 32, VIOMMU_READ), "dma_check refuses it too");
	is_int(0, dma_read(&d, UINT64_MAX - 15, in, 16), "the last 16 bytes of the IOVA space are fine");
	free(out);
	free(in);
	dma_detach_iommu(&d);
	viommu_destroy(v);
}

/* A 16 MiB DMA over 4096 scattered 4 KiB mappings: checked in one pass. */
static void test_scattered_check(void)
{
	struct viommu *v = make_iommu();
	struct dma_space d;

	make_space(&d, v, NULL);
	for (unsigned int i = 0; i < 4096; i++)
		req_map(v, DOMAIN, 0x100000000ull + i * 0x1000ull, 0x100000fffull + i * 0x1000ull,
			((i * 2654435761u) % 8192) * 0x2000ull % (RAM - 0x1000), RW);
	is_int(0, dma_check(&d, 0x100000000ull, 16 << 20, VIOMMU_WRITE),
	       "16 MiB over 4096 scattered mappings: allowed");
	req_unmap(v, DOMAIN, 0x100000000ull + 4000 * 0x1000ull, 0x100000fffull + 4000 * 0x1000ull);
	is_int(-EFAULT, dma_check(&d, 0x100000000ull, 16 << 20, VIOMMU_WRITE),
	       "... with one page unmapped near the end: refused");
	dma_detach_iommu(&d);
	viommu_destroy(v);
}

/* --------------------------------------------------- in-flight DMA vs UNMAP */

/*
 * One thread writes 256 KiB at IOVA RACE_IOVA over and over (0xab bytes);
 * the other, every round: maps the victim page (the last of the 64) to a
 * fresh GPA, waits 50 us, UNMAPs it (or DETACHes the endpoint), zeroes the
 * page as a guest reusing it would, waits 300 us, and scans it.  A
 * non-zero byte is a device write that landed after the UNMAP completed.
 */
#define RACE_IOVA 0x200000ull
#define RACE_GPA  0x1000000ull
#define RACE_LEN  (256u << 10)

struct race {
	struct dma_space *d;
	atomic_bool stop;
	atomic_bool writing;
	atomic_ulong writes_ok;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;
	static uint8_t buf[RACE_LEN];

	memset(buf, 0xab, sizeof(buf));
	while (!atomic_load(&r->stop)) {
		atomic_store(&r->writing, true);
		if (dma_write(r->d, RACE_IOVA, buf, RACE_LEN) == 0)
			atomic_fetch_add(&r->writes_ok, 1);
		atomic_store(&r->writing, false);
	}
	return NULL;
}

static void sleep_us(long us)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = us * 1000 };

	while (nanosleep(&ts, &ts))
		;
}

static void race(const char *what, bool detach, struct swiotlb_pool *pool, unsigned int rounds)
{
	struct viommu *v = make_iommu();
	struct dma_space d;
	struct race r = { .d = &d };
	unsigned int late = 0, overlapped = 0;
	pthread_t th;

	make_space(&d, v, pool);
	for (unsigned int round = 0; round < rounds; round++) {
		/* the victim page moves around, as a guest's reused pages do */
		uint64_t victim = RACE_GPA + (round % 256) * 0x1000ull;

		if (detach || round == 0)
			for (unsigned int i = 0; i < 63; i++)
				req_map(v, DOMAIN, RACE_IOVA + i * 0x1000ull, RACE_IOVA + i * 0x1000ull + 0xfff,
					0x400000 + i * 0x1000ull, RW);
		if (req_map(v, DOMAIN, RACE_IOVA + 63 * 0x1000ull, RACE_IOVA + 63 * 0x1000ull + 0xfff,
			    victim, RW))
			bail("MAP failed");
		if (round == 0 && pthread_create(&th, NULL, race_writer, &r))
			bail("pthread_create");
		sleep_us(50);
		overlapped += atomic_load(&r.writing);
		if (detach) {
			if (req_detach(v, DOMAIN, EP) || req_attach(v, DOMAIN, EP, 0))
				bail("DETACH/ATTACH failed");
		} else if (req_unmap(v, DOMAIN, RACE_IOVA + 63 * 0x1000ull,
				     RACE_IOVA + 63 * 0x1000ull + 0xfff)) {
			bail("UNMAP failed");
		}
		memset(gpa_ptr(victim), 0, 0x1000);   /* the guest reuses the page */
		sleep_us(300);
		late += !all_bytes(victim, 0x1000, 0);
	}
	atomic_store(&r.stop, true);
	pthread_join(th, NULL);
	diag("%s: %u rounds, a write in flight at the %s in %u, %lu writes done", what, rounds,
	     detach ? "DETACH" : "UNMAP", overlapped, atomic_load(&r.writes_ok));
	ok(atomic_load(&r.writes_ok) > 0 && overlapped > 0,
	   "%s: the writer ran and was mid-write at the request", what);
	is_int(0, late, "%s: no device byte landed after the %s completed", what,
	       detach ? "DETACH" : "UNMAP");
	dma_detach_iommu(&d);
	viommu_destroy(v);
}

int main(void)
{
	struct swiotlb_pool *pool;

	alarm(300);   /* a deadlock fails instead of hanging */
	if (guest_mem_init(&mem, RAM))
		bail("guest_mem_init");
	pool = swiotlb_pool_create(16 << 20);
	if (!pool)
		bail("swiotlb_pool_create");
	plan(52);
	test_refused_write(pool);
	test_coherent_no_iommu();
	test_pool_full();
	test_transfers(pool);
	test_scattered_check();
	race("unstaged write vs UNMAP", false, NULL, 2000);
	race("bounced write vs UNMAP", false, pool, 2000);
	race("bounced write vs DETACH", true, pool, 2000);
	swiotlb_pool_destroy(pool);
	guest_mem_free(&mem);
	return 0;
}
