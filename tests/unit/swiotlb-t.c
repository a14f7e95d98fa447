/* SPDX-License-Identifier: MIT */
/*
 * The host bounce engine (swiotlb/): pool limits, segment sizes and
 * alignment, exhaustion and fragmentation, the zeroing policy, accounting,
 * the copies' bounds, defensive frees, and two threads at once.
 */
#include "swiotlb/swiotlb.h"
#include "tests/tap/basic.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KiB 1024u
#define SLOT SWIOTLB_SLOT_SIZE

static struct swiotlb_pool *make_pool(size_t bytes)
{
	struct swiotlb_pool *p = swiotlb_pool_create(bytes);

	if (!p)
		bail("swiotlb_pool_create(%zu): %s", bytes, strerror(errno));
	return p;
}

static struct swiotlb_account *make_acct(struct swiotlb_pool *p, const char *name)
{
	struct swiotlb_account *a = swiotlb_account_create(p, name);

	if (!a)
		bail("swiotlb_account_create(%s): %s", name, strerror(errno));
	return a;
}

static struct swiotlb_stats pool_stats(struct swiotlb_pool *p)
{
	struct swiotlb_stats s;

	swiotlb_pool_stats(p, &s);
	return s;
}

static struct swiotlb_stats acct_stats(struct swiotlb_account *a)
{
	struct swiotlb_stats s;

	swiotlb_account_stats(a, &s);
	return s;
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

static bool seg_zeroed(const struct swiotlb_seg *s)
{
	static const struct swiotlb_seg zero;

	return !memcmp(s, &zero, sizeof(zero));
}

static void test_pool_limits(void)
{
	struct swiotlb_pool *p;
	struct swiotlb_stats s;

	errno = 0;
	ok(!swiotlb_pool_create(SWIOTLB_MIN_POOL - 1) && errno == EINVAL,
	   "pool of SWIOTLB_MIN_POOL - 1 bytes: EINVAL");
	errno = 0;
	ok(!swiotlb_pool_create(0) && errno == EINVAL, "pool of 0 bytes: EINVAL");
	errno = 0;
	ok(!swiotlb_pool_create(SWIOTLB_MAX_POOL + SLOT) && errno == EINVAL,
	   "pool beyond SWIOTLB_MAX_POOL: EINVAL");
	errno = 0;
	ok(!swiotlb_pool_create(SIZE_MAX) && errno == EINVAL, "pool of SIZE_MAX bytes: EINVAL");

	p = make_pool(SWIOTLB_MIN_POOL);
	s = pool_stats(p);
	is_int(SWIOTLB_SEG_MAX_SLOTS, s.slots_total, "minimum pool: 128 slots");
	ok(!s.bytes_in && !s.bytes_out && !s.segments && !s.exhausted && !s.slots_in_use &&
	   !s.slots_hiwater, "new pool: all counters zero");
	swiotlb_pool_destroy(p);

	p = make_pool(SWIOTLB_MIN_POOL + SLOT + SLOT - 1);
	is_int(SWIOTLB_SEG_MAX_SLOTS + 1, pool_stats(p).slots_total,
	       "size rounded down to whole slots (MIN + 2 slots - 1 byte -> 129 slots)");
	swiotlb_pool_destroy(p);

	p = make_pool(SWIOTLB_DEFAULT_POOL);
	is_int(SWIOTLB_DEFAULT_POOL / SLOT, pool_stats(p).slots_total, "default pool: 32768 slots");
	swiotlb_pool_destroy(p);

	swiotlb_pool_destroy(NULL);
	ok(true, "swiotlb_pool_destroy(NULL) is a no-op");
	errno = 0;
	ok(!swiotlb_account_create(NULL, "x") && errno == EINVAL, "account on NULL pool: EINVAL");
}

static void test_sizes(void)
{
	struct swiotlb_pool *p = make_pool(1u << 20);
	struct swiotlb_account *a = make_acct(p, "dev");
	struct swiotlb_seg s1, s2, s3, s4, bad, before;
	static const struct {
		size_t len;
		uint32_t nslots;
	} *c, cases[] = { { 1, 1 }, { SLOT, 1 }, { SLOT + 1, 2 }, { SWIOTLB_SEG_MAX, 128 } };
	struct swiotlb_seg *segs[] = { &s1, &s2, &s3, &s4 };

	for (unsigned int i = 0; i < 4; i++) {
		struct swiotlb_seg *s = segs[i];
		int r;

		c = &cases[i];
		r = swiotlb_seg_alloc(a, c->len, 0, s);
		ok(!r && s->len == c->len && s->nslots == c->nslots && s->buf &&
		   (uintptr_t)s->buf % SLOT == 0 && all_bytes(s->buf, s->len, 0),
		   "alloc %zu bytes: %u slot(s), slot-aligned, reads as zero", c->len, c->nslots);
	}
	memset(&bad, 0x5a, sizeof(bad));
	before = bad;
	is_int(-EINVAL, swiotlb_seg_alloc(a, SWIOTLB_SEG_MAX + 1, 0, &bad), "alloc 256 KiB + 1: EINVAL");
	ok(!memcmp(&bad, &before, sizeof(bad)), "EINVAL: seg untouched");
	is_int(-EINVAL, swiotlb_seg_alloc(a, 0, 0, &bad), "alloc 0 bytes: EINVAL");
	is_int(-EINVAL, swiotlb_seg_alloc(NULL, 1, 0, &bad), "alloc on NULL account: EINVAL");
	is_int(1 + 1 + 2 + 128, pool_stats(p).slots_in_use, "132 slots in use");
	is_int(0, pool_stats(p).exhausted, "EINVAL is not exhaustion");
	for (unsigned int i = 0; i < 4; i++)
		swiotlb_seg_free(segs[i]);
	ok(seg_zeroed(&s1) && seg_zeroed(&s4), "free zeroes the seg");
	is_int(0, pool_stats(p).slots_in_use, "all freed: 0 slots in use");
	swiotlb_pool_destroy(p);
}

static void test_alignment(void)
{
	struct swiotlb_pool *p = make_pool(1u << 20);
	struct swiotlb_account *a = make_acct(p, "dev");
	struct swiotlb_seg pad, s, before;
	static const size_t aligns[] = { 1, 512, 2 * KiB, 4 * KiB, 64 * KiB, SWIOTLB_SEG_MAX };
	static const size_t bad[] = { 3, 6 * KiB, 2 * SWIOTLB_SEG_MAX, SIZE_MAX };

	for (unsigned int i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
		size_t want = aligns[i] > SLOT ? aligns[i] : SLOT;
		int r;

		/* one slot taken first, so that alignment has work to do */
		if (swiotlb_seg_alloc(a, 1, 0, &pad))
			bail("pad alloc");
		r = swiotlb_seg_alloc(a, 3000, aligns[i], &s);
		ok(!r && (uintptr_t)s.buf % want == 0 && s.slot % (want / SLOT) == 0,
		   "align %zu: buffer and pool slot aligned to %zu", aligns[i], want);
		swiotlb_seg_free(&s);
		swiotlb_seg_free(&pad);
	}
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&s, 0x5a, sizeof(s));
		before = s;
		ok(swiotlb_seg_alloc(a, 100, bad[i], &s) == -EINVAL && !memcmp(&s, &before, sizeof(s)),
		   "align %#zx: EINVAL, seg untouched", bad[i]);
	}
	is_int(0, pool_stats(p).slots_in_use, "nothing left in use");
	swiotlb_pool_destroy(p);
}

/* Deterministic pseudo-random numbers (xorshift). */
static uint32_t rnd(uint32_t *st)
{
	uint32_t x = *st;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *st = x;
}

static void test_no_overlap(void)
{
	enum { MAXSEGS = 1024 };
	struct swiotlb_pool *p = make_pool(2u << 20);
	struct swiotlb_account *a = make_acct(p, "dev");
	static struct swiotlb_seg segs[MAXSEGS];
	unsigned int n = 0, refused = 0;
	uint32_t st = 12345;
	bool disjoint = true, intact = true, inside = true;
	uint64_t slots = 0;

	/* Random sizes and alignments until the pool has refused 20 times. */
	while (n < MAXSEGS && refused < 20) {
		size_t range = rnd(&st) % 4 ? 8 * KiB : SWIOTLB_SEG_MAX;
		size_t len = 1 + rnd(&st) % range;
		size_t align = rnd(&st) % 3 ? 0 : SLOT;
		int r;

		if (align)
			align <<= rnd(&st) % 8;
		r = swiotlb_seg_alloc(a, len, align, &segs[n]);

		if (r == -ENOSPC) {
			refused++;
			continue;
		}
		if (r)
			bail("alloc: %d", r);
		memset(segs[n].buf, (int)(n & 0xff), len);
		slots += segs[n].nslots;
		n++;
	}
	for (unsigned int i = 0; i < n; i++) {
		uintptr_t b0 = (uintptr_t)segs[i].buf, e0 = b0 + (size_t)segs[i].nslots * SLOT;

		if (segs[i].nslots * SLOT < segs[i].len || segs[i].slot + segs[i].nslots > 1024)
			inside = false;
		for (unsigned int j = i + 1; j < n; j++) {
			uintptr_t b1 = (uintptr_t)segs[j].buf, e1 = b1 + (size_t)segs[j].nslots * SLOT;

			if (b0 < e1 && b1 < e0)
				disjoint = false;
		}
		if (!all_bytes(segs[i].buf, segs[i].len, (uint8_t)(i & 0xff)))
			intact = false;
	}
	diag("%u segments, %llu of 1024 slots before 20 refusals", n, (unsigned long long)slots);
	ok(n > 20, "random sizes and alignments: many segments allocated");
	ok(inside, "every segment within the pool and covering its length");
	ok(disjoint, "no two segments overlap");
	ok(intact, "every segment kept its own pattern");
	is_int(slots, pool_stats(p).slots_in_use, "slots_in_use = sum of segment slots");
	is_int(20, pool_stats(p).exhausted, "20 refusals counted");
	for (unsigned int i = 0; i < n; i++)
		swiotlb_seg_free(&segs[i]);
	is_int(0, pool_stats(p).slots_in_use, "all freed");
	swiotlb_pool_destroy(p);
}

static void test_exhaustion(void)
{
	struct swiotlb_pool *p = make_pool(2 * SWIOTLB_SEG_MAX);   /* 256 slots */
	struct swiotlb_account *a = make_acct(p, "a"), *b = make_acct(p, "b");
	struct swiotlb_seg big[2], s, one[256];
	uint8_t *slot10, *slot33;
	int r;

	ok(!swiotlb_seg_alloc(a, SWIOTLB_SEG_MAX, 0, &big[0]) &&
	   !swiotlb_seg_alloc(a, SWIOTLB_SEG_MAX, 0, &big[1]), "two 256 KiB segments fill the pool");
	memset(&s, 0x5a, sizeof(s));
	r = swiotlb_seg_alloc(b, 1, 0, &s);
	is_int(-ENOSPC, r, "full pool: 1 byte refused with ENOSPC");
	ok(seg_zeroed(&s), "ENOSPC: seg zeroed");
	swiotlb_seg_free(&s);
	ok(acct_stats(b).exhausted == 1 && acct_stats(a).exhausted == 0 && pool_stats(p).exhausted == 1,
	   "refusal counted for the account that asked and for the pool");
	swiotlb_seg_free(&big[0]);
	ok(!swiotlb_seg_alloc(b, SWIOTLB_SEG_MAX, 0, &s), "one freed: 256 KiB allocated again");
	swiotlb_seg_free(&s);
	swiotlb_seg_free(&big[1]);

	/* Fragmentation: fill with 2 KiB segments, free a few runs. */
	for (unsigned int i = 0; i < 256; i++)
		if (swiotlb_seg_alloc(a, SLOT, 0, &one[i]))
			bail("fill %u", i);
	is_int(-ENOSPC, swiotlb_seg_alloc(a, 1, 0, &s), "full of 1-slot segments: ENOSPC");
	slot10 = one[10].buf;
	slot33 = one[33].buf;
	for (unsigned int i = 10; i < 14; i++)
		swiotlb_seg_free(&one[i]);          /* run of 4 slots at 10 */
	is_int(-ENOSPC, swiotlb_seg_alloc(a, 4 * SLOT + 1, 0, &s),
	       "free run of 4 slots: a 5-slot request still fails");
	r = swiotlb_seg_alloc(a, 4 * SLOT, 0, &s);
	ok(!r && s.buf == slot10 && s.slot == 10, "a 4-slot request takes that run");
	swiotlb_seg_free(&s);
	for (unsigned int i = 33; i < 65; i++)
		swiotlb_seg_free(&one[i]);          /* 32 slots = 64 KiB at 33: not 64K-aligned */
	is_int(-ENOSPC, swiotlb_seg_alloc(a, 64 * KiB, 64 * KiB, &s),
	       "64 KiB free but not 64 KiB-aligned: an aligned 64 KiB request fails");
	r = swiotlb_seg_alloc(a, 64 * KiB, 0, &s);
	ok(!r && s.buf == slot33, "the same request without alignment succeeds");
	swiotlb_seg_free(&s);
	r = swiotlb_seg_alloc(a, 62 * KiB, 4 * KiB, &s);
	ok(!r && s.slot == 34, "31 slots 4 KiB-aligned: the first even slot of the run");
	swiotlb_seg_free(&s);
	ok(acct_stats(a).exhausted == 3 && pool_stats(p).exhausted == 4,
	   "exhausted: 3 for the account, 4 pool-wide");
	for (unsigned int i = 0; i < 256; i++)
		swiotlb_seg_free(&one[i]);
	is_int(0, pool_stats(p).slots_in_use, "all freed");
	is_int(0, swiotlb_pool_bad_frees(p), "no bad frees (already-freed segs were zeroed)");
	swiotlb_pool_destroy(p);
}

static void test_zeroing(void)
{
	struct swiotlb_pool *p = make_pool(SWIOTLB_MIN_POOL);
	struct swiotlb_account *a = make_acct(p, "a"), *b = make_acct(p, "b");
	struct swiotlb_seg s;
	uint8_t *first, guest[8 * KiB], zero[8 * KiB] = { 0 };
	uint8_t secret[4 * KiB];

	memset(secret, 0xaa, sizeof(secret));
	if (swiotlb_seg_alloc(a, sizeof(secret), 0, &s) || swiotlb_bounce_in(&s, 0, secret, sizeof(secret)))
		bail("alloc a");
	first = s.buf;
	s.buf[sizeof(secret) - 1] = 0xbb;     /* and a direct write by the device */
	swiotlb_seg_free(&s);

	if (swiotlb_seg_alloc(b, 8 * KiB, 0, &s))
		bail("alloc b");
	ok(s.buf == first, "first-fit: the next segment reuses the slots just freed");
	ok(all_bytes(s.buf, s.len, 0), "reused slots read as zero: no old data of device a");
	memset(guest, 0x11, sizeof(guest));
	memset(s.buf, 0x77, 100);                 /* the device writes only 100 bytes */
	is_int(0, swiotlb_bounce_out(&s, 0, guest, sizeof(guest)), "bounce_out of the whole segment");
	ok(all_bytes(guest, 100, 0x77) && !memcmp(guest + 100, zero, sizeof(guest) - 100),
	   "short device write: the guest gets its bytes, then zeros");
	swiotlb_seg_free(&s);

	/* The opt-out, for a device read that bounces in every byte. */
	if (swiotlb_seg_alloc(a, 4 * KiB, 0, &s))
		bail("alloc a");
	memset(s.buf, 0xcc, s.len);
	swiotlb_seg_free(&s);
	ok(!swiotlb_seg_alloc_uninit(b, 4 * KiB, 0, &s) && s.buf == first && s.len == 4 * KiB &&
	   all_bytes(s.buf, s.len, 0xcc), "seg_alloc_uninit: same slots, not cleared");
	memset(secret, 0x99, sizeof(secret));
	ok(!swiotlb_bounce_in(&s, 0, secret, sizeof(secret)) && all_bytes(s.buf, s.len, 0x99),
	   "seg_alloc_uninit + bounce_in of every byte: only this DMA's data");
	swiotlb_seg_free(&s);
	is_int(-EINVAL, swiotlb_seg_alloc_uninit(a, 0, 0, &s), "seg_alloc_uninit checks like seg_alloc");
	swiotlb_pool_destroy(p);
}

struct seen {
	unsigned int n;
	char names[4][16];
	struct swiotlb_stats s[4];
	struct swiotlb_pool *pool;
};

static void collect(void *opaque, const char *name, const struct swiotlb_stats *s)
{
	struct seen *seen = opaque;
	struct swiotlb_stats dummy;

	if (seen->n < 4) {
		snprintf(seen->names[seen->n], sizeof(seen->names[0]), "%s", name);
		seen->s[seen->n] = *s;
	}
	seen->n++;
	swiotlb_pool_stats(seen->pool, &dummy);   /* fn may call back in */
}

static void test_accounting(void)
{
	struct swiotlb_pool *p = make_pool(1u << 20);
	char name[16] = "virtio-blk";
	struct swiotlb_account *blk = make_acct(p, name), *net = make_acct(p, "virtio-net");
	struct swiotlb_seg s[3], n1;
	uint8_t guest[8 * KiB];
	struct swiotlb_stats sb, sn, sp;
	struct seen seen = { .pool = p };

	memset(name, 'X', sizeof(name) - 1);
	is_string("virtio-blk", swiotlb_account_name(blk), "account name is copied");

	memset(guest, 0x42, sizeof(guest));
	if (swiotlb_seg_alloc(blk, 4 * KiB, 0, &s[0]) || swiotlb_seg_alloc(blk, 5000, 0, &s[1]) ||
	    swiotlb_seg_alloc(blk, 1, 0, &s[2]) || swiotlb_seg_alloc(net, 512, 0, &n1))
		bail("allocs");
	swiotlb_bounce_in(&s[0], 0, guest, 4 * KiB);     /* a device read of 4 KiB */
	swiotlb_bounce_in(&s[1], 1000, guest, 4000);
	swiotlb_bounce_out(&s[1], 0, guest, 100);       /* a device write of 100 */
	swiotlb_bounce_out(&n1, 0, guest, 512);
	swiotlb_seg_free(&s[0]);
	swiotlb_seg_free(&s[2]);

	sb = acct_stats(blk);
	sn = acct_stats(net);
	sp = pool_stats(p);
	ok(sb.bytes_in == 8096 && sb.bytes_out == 100, "blk: bytes_in 8096, bytes_out 100");
	ok(sb.segments == 3 && sb.slots_in_use == 3 && sb.slots_hiwater == 2 + 3 + 1 &&
	   sb.exhausted == 0 && sb.slots_total == 0,
	   "blk: 3 segments, 3 slots in use, high-water 6, slots_total 0");
	ok(sn.bytes_in == 0 && sn.bytes_out == 512 && sn.segments == 1 && sn.slots_in_use == 1 &&
	   sn.slots_hiwater == 1, "net: bytes_out 512, 1 segment, 1 slot");
	ok(sp.bytes_in == sb.bytes_in + sn.bytes_in && sp.bytes_out == sb.bytes_out + sn.bytes_out,
	   "pool bytes are the accounts' sum");
	ok(sp.segments == 4 && sp.slots_in_use == 4 && sp.slots_hiwater == 7 && sp.slots_total == 512,
	   "pool: 4 segments, 4 in use, high-water 7, 512 slots");

	swiotlb_for_each_account(p, collect, &seen);
	ok(seen.n == 2 && !strcmp(seen.names[0], "virtio-blk") && !strcmp(seen.names[1], "virtio-net"),
	   "for_each_account: both accounts, in creation order");
	ok(!memcmp(&seen.s[0], &sb, sizeof(sb)) && !memcmp(&seen.s[1], &sn, sizeof(sn)),
	   "for_each_account: the same statistics as swiotlb_account_stats");

	swiotlb_seg_free(&s[1]);
	swiotlb_seg_free(&n1);
	sp = pool_stats(p);
	ok(sp.slots_in_use == 0 && sp.slots_hiwater == 7 && sp.segments == 4,
	   "all freed: 0 in use, high-water and segments kept");
	swiotlb_pool_destroy(p);
}

static void test_bounce_bounds(void)
{
	struct swiotlb_pool *p = make_pool(SWIOTLB_MIN_POOL);
	struct swiotlb_account *a = make_acct(p, "a");
	struct swiotlb_seg s, z = { 0 };
	uint8_t guest[4 * KiB], copy[4 * KiB];
	struct swiotlb_stats before;

	if (swiotlb_seg_alloc(a, 3000, 0, &s))
		bail("alloc");
	memset(guest, 0x33, sizeof(guest));
	is_int(0, swiotlb_bounce_in(&s, 0, guest, 3000), "bounce_in of the whole segment");
	is_int(0, swiotlb_bounce_in(&s, 2999, guest, 1), "bounce_in of the last byte");
	is_int(0, swiotlb_bounce_in(&s, 3000, guest, 0), "bounce_in of 0 bytes at the end");
	before = acct_stats(a);
	memset(guest, 0x44, sizeof(guest));
	is_int(-EINVAL, swiotlb_bounce_in(&s, 2000, guest, 1001), "bounce_in past the end: EINVAL");
	ok(all_bytes(s.buf, 3000, 0x33), "refused bounce_in copied nothing");
	is_int(-EINVAL, swiotlb_bounce_in(&s, 3001, guest, 0), "bounce_in at off > len: EINVAL");
	is_int(-EINVAL, swiotlb_bounce_in(&s, 8, guest, SIZE_MAX - 4), "bounce_in off + len overflowing: EINVAL");
	is_int(-EINVAL, swiotlb_bounce_in(&s, 0, NULL, 1), "bounce_in from NULL: EINVAL");

	memcpy(copy, guest, sizeof(copy));
	is_int(-EINVAL, swiotlb_bounce_out(&s, 1, guest, 3000), "bounce_out past the end: EINVAL");
	ok(!memcmp(copy, guest, sizeof(copy)), "refused bounce_out copied nothing");
	is_int(-EINVAL, swiotlb_bounce_out(&s, SIZE_MAX, guest, 2), "bounce_out off + len overflowing: EINVAL");
	is_int(-EINVAL, swiotlb_bounce_out(&z, 0, guest, 1), "bounce_out of a zeroed seg: EINVAL");
	ok(acct_stats(a).bytes_in == before.bytes_in && acct_stats(a).bytes_out == before.bytes_out,
	   "refused copies are not counted");
	is_int(0, swiotlb_bounce_out(&s, 1000, guest, 2000), "bounce_out of the tail");
	ok(all_bytes(guest, 2000, 0x33), "bounce_out copied the segment's bytes");
	is_int(2000, acct_stats(a).bytes_out, "bytes_out counts the bytes copied");
	swiotlb_seg_free(&s);
	is_int(-EINVAL, swiotlb_bounce_in(&s, 0, guest, 1), "bounce_in after free (seg zeroed): EINVAL");
	swiotlb_pool_destroy(p);
}

static void test_bad_free(void)
{
	struct swiotlb_pool *p = make_pool(SWIOTLB_MIN_POOL);
	struct swiotlb_account *a = make_acct(p, "a"), *b = make_acct(p, "b");
	struct swiotlb_seg s, copy, z = { 0 }, forged;
	struct swiotlb_stats after;

	swiotlb_seg_free(&z);
	swiotlb_seg_free(NULL);
	after = pool_stats(p);
	ok(!memcmp(&after, &(struct swiotlb_stats){ .slots_total = 128 }, sizeof(after)) &&
	   swiotlb_pool_bad_frees(p) == 0, "freeing a zeroed seg (or NULL) is a no-op");

	if (swiotlb_seg_alloc(a, 4 * KiB, 0, &s))
		bail("alloc");
	copy = s;
	swiotlb_seg_free(&s);
	swiotlb_seg_free(&s);
	is_int(0, swiotlb_pool_bad_frees(p), "freeing the same (now zeroed) seg twice is harmless");
	swiotlb_seg_free(&copy);
	ok(swiotlb_pool_bad_frees(p) == 1 && pool_stats(p).slots_in_use == 0 && seg_zeroed(&copy),
	   "double free through a copy: refused and counted, counters intact");

	/* The slots of the stale copy now belong to b. */
	if (swiotlb_seg_alloc(b, 6 * KiB, 0, &s) || s.slot != 0)
		bail("realloc");
	copy.acct = a;
	copy.buf = s.buf;
	copy.len = 4 * KiB;
	copy.slot = 0;
	copy.nslots = 2;
	swiotlb_seg_free(&copy);
	ok(swiotlb_pool_bad_frees(p) == 2 && pool_stats(p).slots_in_use == 3,
	   "stale seg over another device's live segment: refused, that segment kept");
	forged = s;
	forged.acct = a;
	swiotlb_seg_free(&forged);
	forged = s;
	forged.slot = 1;
	forged.buf += SLOT;
	swiotlb_seg_free(&forged);
	forged = s;
	forged.slot = 1000;
	swiotlb_seg_free(&forged);
	forged = s;
	forged.nslots = 2;
	swiotlb_seg_free(&forged);
	ok(swiotlb_pool_bad_frees(p) == 6 && pool_stats(p).slots_in_use == 3,
	   "wrong account, middle slot, out-of-range slot, wrong size: all refused");
	if (swiotlb_seg_alloc(a, SLOT, 0, &copy))
		bail("alloc after bad frees");
	ok(copy.slot == 3, "the live segment's slots were not handed out again");
	swiotlb_seg_free(&copy);
	swiotlb_seg_free(&s);
	is_int(0, pool_stats(p).slots_in_use, "the real frees still work");
	swiotlb_pool_destroy(p);
}

static void test_areas(void)
{
	static const struct {
		size_t bytes;
		unsigned int areas;
	} sizes[] = {
		{ SWIOTLB_MIN_POOL, 1 }, { 4u << 20, 1 }, { (8u << 20) - SLOT, 1 }, { 8u << 20, 2 },
		{ 16u << 20, 4 }, { SWIOTLB_DEFAULT_POOL, 8 }, { 1u << 30, 8 },
	};
	struct swiotlb_pool *p;
	struct swiotlb_account *a, *b;
	static struct swiotlb_seg segs[64];
	struct swiotlb_seg s;
	bool where = true;
	int r;

	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		p = make_pool(sizes[i].bytes);
		is_int(sizes[i].areas, swiotlb_pool_areas(p), "%zu KiB pool: %u area(s)",
		       sizes[i].bytes >> 10, sizes[i].areas);
		swiotlb_pool_destroy(p);
	}

	/* 8 MiB: two areas of 2048 slots; a's home is area 0, b's area 1. */
	p = make_pool(8u << 20);
	a = make_acct(p, "a");
	b = make_acct(p, "b");
	if (swiotlb_seg_alloc(a, 1, 0, &segs[0]) || swiotlb_seg_alloc(b, 1, 0, &segs[1]))
		bail("alloc");
	ok(segs[0].slot == 0 && segs[1].slot == 2048, "each device starts at the bottom of its own area");
	swiotlb_seg_free(&segs[0]);
	swiotlb_seg_free(&segs[1]);

	/* Both areas full of 128 KiB segments (64 slots), from a only. */
	for (unsigned int i = 0; i < 64; i++) {
		if (swiotlb_seg_alloc(a, 128 * KiB, 0, &segs[i]))
			bail("fill %u", i);
		if (segs[i].slot != i * 64)
			where = false;
	}
	ok(where, "a fills its home area, then spills into the next one");
	ok(swiotlb_seg_alloc(b, 1, 0, &s) == -ENOSPC && swiotlb_seg_alloc(a, 1, 0, &s) == -ENOSPC,
	   "every area full: ENOSPC for both devices");
	ok(acct_stats(a).exhausted == 1 && acct_stats(b).exhausted == 1 && pool_stats(p).exhausted == 2,
	   "one refusal per request, counted once however many areas were tried");
	swiotlb_seg_free(&segs[31]);       /* slots 1984..2047, the end of area 0 */
	swiotlb_seg_free(&segs[32]);       /* slots 2048..2111, the start of area 1 */
	r = swiotlb_seg_alloc(b, 128 * KiB + 1, 0, &s);
	is_int(-ENOSPC, r, "128 free slots across the area boundary: a 65-slot segment is refused");
	r = swiotlb_seg_alloc(b, 128 * KiB, 0, &s);
	ok(!r && s.slot == 2048, "a 64-slot segment fits, in b's home area");
	ok(pool_stats(p).slots_in_use == acct_stats(a).slots_in_use + acct_stats(b).slots_in_use &&
	   pool_stats(p).slots_in_use == 63 * 64, "pool slots_in_use = the accounts' sum");
	swiotlb_seg_free(&s);
	for (unsigned int i = 0; i < 64; i++)
		swiotlb_seg_free(&segs[i]);
	ok(pool_stats(p).slots_in_use == 0 && pool_stats(p).slots_hiwater == 4096 &&
	   swiotlb_pool_bad_frees(p) == 0, "all freed; high-water 4096 slots; no bad frees");
	swiotlb_pool_destroy(p);
}

/* Device threads: allocate, bounce in a pattern, check it, bounce out,
 * keep a few segments in flight, free. */
enum { STRESS_ITERS = 20000, MAX_INFLIGHT = 32 };

struct worker {
	struct swiotlb_account *acct;
	uint32_t seed;
	uint8_t tag;
	unsigned int inflight, big_every;   /* 1 in big_every requests is up to 256 KiB */
	unsigned long errors, refused, away;
	uint32_t home_lo, home_hi;          /* home area's slots */
	uint64_t in, out;
};

static void fill_pattern(uint8_t *p, size_t n, uint8_t tag, uint32_t k)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(tag ^ (k + i * 7));
}

static bool check_pattern(const uint8_t *p, size_t n, uint8_t tag, uint32_t k)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)(tag ^ (k + i * 7)))
			return false;
	return true;
}

static void *stress(void *arg)
{
	struct worker *w = arg;
	struct swiotlb_seg segs[MAX_INFLIGHT] = { { 0 } };
	uint32_t keys[MAX_INFLIGHT] = { 0 };
	uint8_t *guest = malloc(SWIOTLB_SEG_MAX), *back = malloc(SWIOTLB_SEG_MAX);

	if (!guest || !back)
		bail("malloc");
	for (unsigned int it = 0; it < STRESS_ITERS; it++) {
		unsigned int k = it % w->inflight;
		struct swiotlb_seg *s = &segs[k];
		size_t len, align;
		int r;

		if (s->acct) {
			/* still ours and untouched by the other thread? */
			if (!check_pattern(s->buf, s->len, w->tag, keys[k]))
				w->errors++;
			if (swiotlb_bounce_out(s, 0, back, s->len) ||
			    !check_pattern(back, s->len, w->tag, keys[k]))
				w->errors++;
			w->out += s->len;
			swiotlb_seg_free(s);
		}
		len = rnd(&w->seed) % w->big_every ? 16 * KiB : SWIOTLB_SEG_MAX;
		len = 1 + rnd(&w->seed) % len;
		align = rnd(&w->seed) % 4 ? 0 : SLOT;
		if (align)
			align <<= rnd(&w->seed) % 6;
		r = swiotlb_seg_alloc(w->acct, len, align, s);
		if (r == -ENOSPC) {
			w->refused++;
			continue;
		}
		if (r || !all_bytes(s->buf, len, 0)) {
			w->errors++;
			continue;
		}
		if (s->slot < w->home_lo || s->slot >= w->home_hi)
			w->away++;
		keys[k] = it;
		fill_pattern(guest, len, w->tag, it);
		if (swiotlb_bounce_in(s, 0, guest, len))
			w->errors++;
		w->in += len;
	}
	for (unsigned int k = 0; k < w->inflight; k++) {
		if (segs[k].acct && !check_pattern(segs[k].buf, segs[k].len, w->tag, keys[k]))
			w->errors++;
		swiotlb_seg_free(&segs[k]);
	}
	free(guest);
	free(back);
	return NULL;
}

/* Two threads, one device each, on a pool of `bytes`. */
static void test_threads(size_t bytes, unsigned int inflight, unsigned int big_every)
{
	struct swiotlb_pool *p = make_pool(bytes);
	unsigned int nareas = swiotlb_pool_areas(p);
	uint32_t area = (uint32_t)(bytes / SLOT / nareas);
	struct worker w[2] = {
		{ .acct = make_acct(p, "t0"), .seed = 1, .tag = 0x0f, .home_lo = 0, .home_hi = area },
		{ .acct = make_acct(p, "t1"), .seed = 2, .tag = 0xf0 },
	};
	pthread_t t[2];
	struct swiotlb_stats s0, s1, sp;
	char what[64];

	snprintf(what, sizeof(what), "2 threads, %zu MiB pool, %u area(s)", bytes >> 20, nareas);
	w[1].home_lo = nareas > 1 ? area : 0;
	w[1].home_hi = nareas > 1 ? 2 * area : area;
	for (int i = 0; i < 2; i++) {
		w[i].inflight = inflight;
		w[i].big_every = big_every;
		if (pthread_create(&t[i], NULL, stress, &w[i]))
			bail("pthread_create");
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	s0 = acct_stats(w[0].acct);
	s1 = acct_stats(w[1].acct);
	sp = pool_stats(p);
	diag("%s: %d transfers each, %lu + %lu refused, %lu + %lu outside the home area, "
	     "high-water %llu of %llu slots", what, STRESS_ITERS, w[0].refused, w[1].refused,
	     w[0].away, w[1].away, (unsigned long long)sp.slots_hiwater,
	     (unsigned long long)sp.slots_total);
	is_int(0, w[0].errors + w[1].errors,
	       "%s: every segment zeroed, kept its own pattern, bounced out intact", what);
	ok(s0.bytes_in == w[0].in && s0.bytes_out == w[0].out && s1.bytes_in == w[1].in &&
	   s1.bytes_out == w[1].out, "%s: per-account bytes exact", what);
	ok(s0.exhausted == w[0].refused && s1.exhausted == w[1].refused &&
	   sp.exhausted == w[0].refused + w[1].refused && sp.exhausted > 0,
	   "%s: pool exhausted at times, refusals counted exactly", what);
	ok(sp.segments == s0.segments + s1.segments &&
	   sp.segments + sp.exhausted == 2 * STRESS_ITERS, "%s: every request accounted for", what);
	ok(sp.slots_in_use == 0 && s0.slots_in_use == 0 && s1.slots_in_use == 0,
	   "%s: final slots_in_use 0", what);
	is_int(0, swiotlb_pool_bad_frees(p), "%s: no bad frees", what);
	if (nareas > 1)
		ok(w[0].away && w[1].away, "%s: both devices spilled out of their home area", what);
	swiotlb_pool_destroy(p);
}

int main(void)
{
	plan(122);
	test_pool_limits();
	test_sizes();
	test_alignment();
	test_no_overlap();
	test_exhaustion();
	test_zeroing();
	test_accounting();
	test_bounce_bounds();
	test_bad_free();
	test_areas();
	/* one area, contended; small pool, so it runs out at times */
	test_threads(1u << 20, 6, 8);
	/* two areas, one per thread; big segments, so they spill over */
	test_threads(8u << 20, MAX_INFLIGHT, 1);
	return 0;
}
