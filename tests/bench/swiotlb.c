/* SPDX-License-Identifier: MIT */
/*
 * Throughput of the host bounce engine against a plain memcpy of the same
 * bytes between the same buffers, measured in the same run.
 *
 *   device read  (guest -> device)
 *     memcpy:  memcpy(device buffer, guest, n)
 *     bounce:  seg_alloc + bounce_in(guest) + the device consuming the
 *              segment (memcpy to the device buffer) + seg_free
 *   device write (device -> guest)
 *     memcpy:  memcpy(guest, device buffer, n)
 *     bounce:  seg_alloc + the device filling the segment (memcpy from the
 *              device buffer) + bounce_out(guest) + seg_free
 *
 * The guest side walks a working set of several MiB (default 16 MiB,
 * larger than L2, SWIOTLB_BENCH_WS_MIB to change) transfer after transfer,
 * so it is not all cache hits; the device buffer is one small hot buffer,
 * as a device's own staging memory would be.  seg_alloc clears the segment
 * (the zeroing policy, docs/swiotlb.md) and that is part of the cost.
 *
 *   tests/bench/swiotlb [ITERATIONS]        (make bench-swiotlb)
 *
 * ITERATIONS (or SWIOTLB_BENCH_ITERS) is the number of transfers per
 * measurement at 4 KiB (default 65536); the other sizes move the same
 * number of bytes.  Every figure is the median of 3 runs, bounce and
 * memcpy interleaved.  "read*" rows use swiotlb_seg_alloc_uninit (no
 * clear); the last lines are the engine's own cost (seg_alloc+seg_free)
 * alone, with two threads on their own areas and on one.
 */
#include "swiotlb/swiotlb.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_ITERS 65536ul         /* 256 MiB per measurement at 4 KiB */
#define REPS 3                        /* each figure: the median of REPS runs */

static size_t ws_bytes;

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

static double median(double t[REPS])
{
	for (int i = 1; i < REPS; i++)
		for (int k = i; k > 0 && t[k - 1] > t[k]; k--) {
			double x = t[k];

			t[k] = t[k - 1];
			t[k - 1] = x;
		}
	return t[REPS / 2];
}

static void *xmalloc(size_t n)
{
	void *p = aligned_alloc(4096, (n + 4095) & ~(size_t)4095);

	if (!p) {
		fprintf(stderr, "bench: out of memory\n");
		exit(1);
	}
	memset(p, 0x5a, n);   /* fault the pages in before timing */
	return p;
}

enum kind { READ_MEMCPY, READ_BOUNCE, READ_UNINIT, WRITE_MEMCPY, WRITE_BOUNCE, ALLOC_FREE };

struct job {
	enum kind kind;
	size_t len;
	unsigned long iters;
	uint8_t *guest, *dev;
	struct swiotlb_account *acct;
	pthread_barrier_t *start;
	double ns;
};

static void fail(const char *what, int err)
{
	fprintf(stderr, "bench: %s failed: %d\n", what, err);
	exit(1);
}

static double run(struct job *j)
{
	size_t off = 0, len = j->len;
	struct swiotlb_seg seg;
	double t0;
	int err;

	if (j->start)
		pthread_barrier_wait(j->start);
	t0 = now_ns();
	for (unsigned long i = 0; i < j->iters; i++) {
		uint8_t *g = j->guest + off;

		switch (j->kind) {
		case READ_MEMCPY:
			memcpy(j->dev, g, len);
			break;
		case READ_BOUNCE:
		case READ_UNINIT:
			err = j->kind == READ_BOUNCE ? swiotlb_seg_alloc(j->acct, len, 0, &seg)
						     : swiotlb_seg_alloc_uninit(j->acct, len, 0, &seg);
			if (!err)
				err = swiotlb_bounce_in(&seg, 0, g, len);
			if (err)
				fail("device read", err);
			memcpy(j->dev, seg.buf, len);
			swiotlb_seg_free(&seg);
			break;
		case WRITE_MEMCPY:
			memcpy(g, j->dev, len);
			break;
		case WRITE_BOUNCE:
			err = swiotlb_seg_alloc(j->acct, len, 0, &seg);
			if (err)
				fail("device write", err);
			memcpy(seg.buf, j->dev, len);
			err = swiotlb_bounce_out(&seg, 0, g, len);
			if (err)
				fail("device write", err);
			swiotlb_seg_free(&seg);
			break;
		case ALLOC_FREE:
			err = swiotlb_seg_alloc(j->acct, len, 0, &seg);
			if (err)
				fail("alloc", err);
			clobber(seg.buf);
			swiotlb_seg_free(&seg);
			break;
		}
		clobber(j->dev);
		clobber(g);
		off += len;
		if (off + len > ws_bytes)
			off = 0;
	}
	j->ns = now_ns() - t0;
	return j->ns;
}

static void *run_thread(void *arg)
{
	run(arg);
	return NULL;
}

/* Two threads at once, each with its own guest area and device buffer,
 * on one pool, with the accounts given.  Returns the wall time in ns. */
static double run_pair(enum kind kind, size_t len, unsigned long iters, uint8_t *guest[2],
		       uint8_t *dev[2], struct swiotlb_account *a0, struct swiotlb_account *a1)
{
	pthread_barrier_t start;
	struct job j[2];
	pthread_t t[2];
	double t0, ns;

	pthread_barrier_init(&start, NULL, 3);
	for (int i = 0; i < 2; i++) {
		j[i] = (struct job){ .kind = kind, .len = len, .iters = iters, .guest = guest[i],
				     .dev = dev[i], .acct = i ? a1 : a0, .start = &start };
		if (pthread_create(&t[i], NULL, run_thread, &j[i]))
			fail("pthread_create", 0);
	}
	pthread_barrier_wait(&start);
	t0 = now_ns();
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ns = now_ns() - t0;
	pthread_barrier_destroy(&start);
	return ns;
}

static unsigned long iterations(int argc, char **argv)
{
	const char *s = argc > 1 ? argv[1] : getenv("SWIOTLB_BENCH_ITERS");
	unsigned long n = s && *s ? strtoul(s, NULL, 0) : DEFAULT_ITERS;

	return n ? n : 1;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 512, 4096, 65536 };
	static const struct {
		const char *name;
		enum kind base, bounce;
	} rows[] = {
		{ "read", READ_MEMCPY, READ_BOUNCE },
		{ "write", WRITE_MEMCPY, WRITE_BOUNCE },
		{ "read*", READ_MEMCPY, READ_UNINIT },
	};
	unsigned long iters4k = iterations(argc, argv);
	const char *ws = getenv("SWIOTLB_BENCH_WS_MIB");
	struct swiotlb_pool *pool;
	struct swiotlb_account *acct[2];
	struct swiotlb_stats st;
	uint8_t *guest[2], *dev[2];

	ws_bytes = (ws && *ws ? strtoul(ws, NULL, 0) : 16) << 20;
	if (ws_bytes < SWIOTLB_SEG_MAX)
		ws_bytes = SWIOTLB_SEG_MAX;
	pool = swiotlb_pool_create(SWIOTLB_DEFAULT_POOL);
	if (!pool)
		fail("swiotlb_pool_create", 0);
	acct[0] = swiotlb_account_create(pool, "bench0");
	acct[1] = swiotlb_account_create(pool, "bench1");
	if (!acct[0] || !acct[1])
		fail("swiotlb_account_create", 0);
	for (int i = 0; i < 2; i++) {
		guest[i] = xmalloc(ws_bytes);
		dev[i] = xmalloc(SWIOTLB_SEG_MAX);
	}

	printf("swiotlb bounce engine vs memcpy: %zu MiB pool, guest working set %zu MiB "
	       "(walked sequentially, transfer after transfer), one hot device buffer;\n"
	       "device read = alloc + bounce_in + memcpy to the device buffer + free, "
	       "device write = alloc + memcpy from the device buffer + bounce_out + free\n",
	       (size_t)SWIOTLB_DEFAULT_POOL >> 20, ws_bytes >> 20);
	printf("%-7s %-6s %8s %12s %12s %7s %11s %11s\n", "size", "dir", "iters", "memcpy GB/s",
	       "bounce GB/s", "ratio", "memcpy ns", "bounce ns");
	for (unsigned int s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t len = sizes[s];
		unsigned long iters = iters4k * 4096 / len;

		if (!iters)
			iters = 1;
		for (unsigned int r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
			struct job base = { .kind = rows[r].base, .len = len, .guest = guest[0],
					    .dev = dev[0], .acct = acct[0] };
			struct job bounce = base;
			double tm, tb, m[REPS], b[REPS];

			bounce.kind = rows[r].bounce;
			/* warm-up: caches, branch predictors, the pool's first pages */
			base.iters = bounce.iters = iters / 16 + 1;
			run(&base);
			run(&bounce);
			base.iters = bounce.iters = iters;
			for (int k = 0; k < REPS; k++) {   /* interleaved against drift */
				m[k] = run(&base);
				b[k] = run(&bounce);
			}
			tm = median(m);
			tb = median(b);
			printf("%-7zu %-6s %8lu %12.2f %12.2f %7.2f %11.1f %11.1f\n", len, rows[r].name, iters,
			       (double)len * iters / tm, (double)len * iters / tb, tm / tb,
			       tm / iters, tb / iters);
		}
	}

	/* Both cores at once: 4 KiB device reads, one thread per device. */
	{
		unsigned long iters = iters4k;
		double tm, tb, m[REPS], b[REPS];

		for (int k = 0; k < REPS; k++) {
			m[k] = run_pair(READ_MEMCPY, 4096, iters, guest, dev, acct[0], acct[1]);
			b[k] = run_pair(READ_BOUNCE, 4096, iters, guest, dev, acct[0], acct[1]);
		}
		tm = median(m);
		tb = median(b);

		printf("%-7s %-6s %8lu %12.2f %12.2f %7.2f %11.1f %11.1f  (2 threads, aggregate)\n",
		       "4096x2", "read", iters, 2.0 * 4096 * iters / tm, 2.0 * 4096 * iters / tb,
		       tm / tb, tm / iters / 2, tb / iters / 2);
	}

	/* The engine's own cost, and what the areas are for. */
	{
		unsigned long iters = iters4k * 16;
		struct job j = { .kind = ALLOC_FREE, .len = 64, .iters = iters, .guest = guest[0],
				 .dev = dev[0], .acct = acct[0] };
		double t1, t2, t3, x1[REPS], x2[REPS], x3[REPS];

		for (int k = 0; k < REPS; k++) {
			x1[k] = run(&j) / iters;
			x2[k] = run_pair(ALLOC_FREE, 64, iters, guest, dev, acct[0], acct[1]) / iters / 2;
			x3[k] = run_pair(ALLOC_FREE, 64, iters, guest, dev, acct[0], acct[0]) / iters / 2;
		}
		t1 = median(x1);
		t2 = median(x2);
		t3 = median(x3);

		printf("seg_alloc+seg_free of 64 B, ns per pair: 1 thread %.1f; 2 threads, 2 devices "
		       "(own areas) %.1f; 2 threads, 1 device (one area, one lock) %.1f "
		       "(2-thread figures: wall time / all pairs)\n", t1, t2, t3);
	}

	swiotlb_pool_stats(pool, &st);
	printf("pool: %llu segments, high-water %llu of %llu slots, %llu refused, %llu in use\n",
	       (unsigned long long)st.segments, (unsigned long long)st.slots_hiwater,
	       (unsigned long long)st.slots_total, (unsigned long long)st.exhausted,
	       (unsigned long long)st.slots_in_use);
	printf("ratio = bounce GB/s / memcpy GB/s; ns = per transfer; median of %d runs; read* = "
	       "device read with swiotlb_seg_alloc_uninit (no clear)\n", REPS);
	swiotlb_pool_destroy(pool);
	for (int i = 0; i < 2; i++) {
		free(guest[i]);
		free(dev[i]);
	}
	return 0;
}
