/* SPDX-License-Identifier: MIT */
/*
 * The host bounce engine (docs/swiotlb.md): a pool of 2 KiB slots handed out
 * as contiguous segments of up to 128 slots, with per-device accounting.
 *
 * Allocator: one bitmap over the pool (1 = slot in use), split into areas
 * (as Linux's swiotlb areas), each with its own mutex and a first-fit hint:
 * the lowest slot of the area that may be free.  Every device (account)
 * has a home area, assigned round-robin at creation; it allocates there
 * and moves on to the next areas only when its home has no free run.
 *  - Areas, not one pool lock: with one lock, two device threads that
 *    allocate at the same time hand the lock, the bitmap and the counters'
 *    cache lines back and forth on every transfer, and first-fit makes them
 *    swap each other's just-freed slots, so the segment data itself
 *    migrates between cores.  On the 2-vCPU development host, two threads
 *    doing seg_alloc+seg_free on one lock often fell into lock hand-offs
 *    through the kernel: 200-400 ns per pair against 40-90 ns on their
 *    own areas (tests/bench/swiotlb, last line; the host is noisy, see
 *    docs/swiotlb.md).  A home area per device keeps each device on its
 *    own lock and its own warm slots.  Homes are per device rather than
 *    per CPU because the VMM runs one I/O thread per device.
 *  - First-fit from the bottom of the area, not next-fit: it keeps reusing
 *    the same few recently freed slots, so the copies hit warm cache lines
 *    and the pool's resident memory is what was in use at the high-water
 *    mark, not the whole pool (next-fit walks all of it, touching every
 *    page and missing the cache on each transfer).  With the hint, the
 *    usual allocation looks at one or two bitmap words; the worst case,
 *    a full or fragmented area, scans area_slots / 64 words.
 *  - The price of areas: a segment never spans two areas, so a free run
 *    that crosses an area boundary is not used, and a refused request
 *    ("exhausted") means no area had a free run large enough.  Areas are
 *    at least SWIOTLB_AREA_MIN bytes, so pools below twice that have one
 *    area and exhaustion means exactly "no free run in the pool".
 *  - The copies, the expensive part, run outside every lock.
 *
 * Counters: an area's own counters are under its lock; the account's and
 * the pool-wide slots_in_use (needed for an exact high-water mark) are
 * atomics updated inside the area's critical section, so a snapshot taken
 * with every area lock held is consistent.
 */
#include "swiotlb/swiotlb.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define ACCT_MAGIC 0x62746c73u          /* "sltb" */
#define CACHELINE 64
/* Area boundaries fall on multiples of 512 slots: 8 bitmap words, one
 * cache line of bitmap per boundary, and aligned for every segment
 * alignment (<= 128 slots). */
#define AREA_GRAIN 512u

#define ADD(field, n) atomic_fetch_add_explicit(&(field), (uint64_t)(n), memory_order_relaxed)
#define SUB(field, n) atomic_fetch_sub_explicit(&(field), (uint64_t)(n), memory_order_relaxed)
#define GET(field) atomic_load_explicit(&(field), memory_order_relaxed)

struct swiotlb_account {
	uint32_t magic;                   /* ACCT_MAGIC while the pool lives */
	unsigned int home;                /* home area */
	struct swiotlb_pool *pool;
	struct swiotlb_account *next;     /* creation order; under pool->acct_lock */
	char *name;
	/* Atomics: a device's allocations may land in several areas.  Each
	 * account is cache-line aligned, so devices do not share lines. */
	_Atomic uint64_t segments, exhausted, slots_in_use, slots_hiwater;
	_Atomic uint64_t bytes_in, bytes_out;
};

/* Per-slot record, meaningful only for the first slot of a live segment
 * (nslots != 0): what swiotlb_seg_free() checks a seg against. */
struct slot_head {
	struct swiotlb_account *acct;
	uint32_t len;
	uint32_t nslots;
};

struct area {
	_Alignas(CACHELINE) pthread_mutex_t lock;
	uint32_t start, end;              /* slots [start, end) */
	/* Under lock: */
	uint32_t hint;                    /* every slot in [start, hint) is in use */
	uint64_t segments;
};

struct swiotlb_pool {
	uint8_t *base;                    /* aligned to SWIOTLB_SEG_MAX */
	size_t map_len;
	uint32_t nslots, area_slots;
	unsigned int nareas;
	struct area *areas;
	/* A slot's bitmap bit and head are under its area's lock.  Both
	 * are mmap'ed: page-aligned, so areas (multiples of 512 slots) share
	 * no cache line, and untouched pages cost nothing. */
	uint64_t *used;                   /* bitmap, 1 = slot in use */
	struct slot_head *head;           /* [nslots] */
	size_t used_len, head_len;

	pthread_mutex_t acct_lock;        /* the account list; before any area lock */
	struct swiotlb_account *accts, **accts_tail;
	unsigned int naccts;

	/* Shared by every allocation: its own cache line. */
	_Alignas(CACHELINE) _Atomic uint64_t slots_in_use;
	_Atomic uint64_t slots_hiwater, exhausted, bad_frees;
};

static void *zalloc_aligned(size_t size)
{
	void *p;

	size = (size + CACHELINE - 1) & ~(size_t)(CACHELINE - 1);
	p = aligned_alloc(CACHELINE, size);
	if (p)
		memset(p, 0, size);
	return p;
}

/* Zeroed, page-aligned, lazily backed memory; NULL on failure. */
static void *zmap(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void zunmap(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

static void raise_hiwater(_Atomic uint64_t *hiwater, uint64_t v)
{
	uint64_t old = GET(*hiwater);

	while (old < v && !atomic_compare_exchange_weak_explicit(hiwater, &old, v,
								 memory_order_relaxed,
								 memory_order_relaxed))
		;
}

static void lock_areas(struct swiotlb_pool *p)
{
	for (unsigned int i = 0; i < p->nareas; i++)
		pthread_mutex_lock(&p->areas[i].lock);
}

static void unlock_areas(struct swiotlb_pool *p)
{
	for (unsigned int i = p->nareas; i-- > 0;)
		pthread_mutex_unlock(&p->areas[i].lock);
}

/* --- bitmap -------------------------------------------------------------- */

/* First index in [from, end) whose bit is `set`, or end. */
static uint32_t next_bit(const uint64_t *map, uint32_t from, uint32_t end, bool set)
{
	while (from < end) {
		uint64_t w = map[from / 64];

		if (!set)
			w = ~w;
		w &= ~0ull << (from % 64);
		if (w) {
			uint32_t i = (from & ~63u) + (uint32_t)__builtin_ctzll(w);

			return i < end ? i : end;
		}
		from = (from & ~63u) + 64;
	}
	return end;
}

static void set_bits(uint64_t *map, uint32_t from, uint32_t n, bool set)
{
	while (n) {
		uint32_t bit = from % 64, k = 64 - bit < n ? 64 - bit : n;
		uint64_t mask = (k == 64 ? ~0ull : ((1ull << k) - 1)) << bit;

		if (set)
			map[from / 64] |= mask;
		else
			map[from / 64] &= ~mask;
		from += k;
		n -= k;
	}
}

/* First-fit in area ar: the lowest start s >= ar->hint, s & amask == 0,
 * with slots [s, s + n) all free and inside the area; -1 if none. */
static int64_t find_run(const struct swiotlb_pool *p, const struct area *ar, uint32_t n,
			uint32_t amask)
{
	uint32_t end = ar->end, s = ar->hint;

	for (;;) {
		uint32_t u;

		s = next_bit(p->used, s, end, false);
		s = (s + amask) & ~amask;      /* no overflow: end <= 2^21 */
		if (s >= end || end - s < n)
			return -1;
		u = next_bit(p->used, s, s + n, true);
		if (u == s + n)
			return s;
		s = u + 1;
	}
}

static struct area *area_of(const struct swiotlb_pool *p, uint32_t slot)
{
	unsigned int i = slot / p->area_slots;

	return &p->areas[i < p->nareas ? i : p->nareas - 1];
}

/* --- pool ---------------------------------------------------------------- */

struct swiotlb_pool *swiotlb_pool_create(size_t bytes)
{
	struct swiotlb_pool *p;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), reserve;
	uint8_t *raw, *base;
	unsigned int i;
	int err;

	if (bytes < SWIOTLB_MIN_POOL || bytes > SWIOTLB_MAX_POOL) {
		err = -EINVAL;
		goto err;
	}
	p = zalloc_aligned(sizeof(*p));
	if (!p) {
		err = -ENOMEM;
		goto err;
	}
	p->nslots = (uint32_t)(bytes >> SWIOTLB_SLOT_SHIFT);
	p->nareas = (unsigned int)(bytes / SWIOTLB_AREA_MIN);
	if (p->nareas > SWIOTLB_MAX_AREAS)
		p->nareas = SWIOTLB_MAX_AREAS;
	if (p->nareas <= 1) {
		p->nareas = 1;
		p->area_slots = p->nslots;
	} else {
		/* >= SWIOTLB_AREA_MIN / SWIOTLB_SLOT_SIZE, a multiple of 512;
		 * the last area takes the remainder. */
		p->area_slots = p->nslots / p->nareas / AREA_GRAIN * AREA_GRAIN;
	}
	p->used_len = (p->nslots + 63u) / 64 * sizeof(*p->used);
	p->head_len = (size_t)p->nslots * sizeof(*p->head);
	p->used = zmap(p->used_len);
	p->head = zmap(p->head_len);
	p->areas = zalloc_aligned(p->nareas * sizeof(*p->areas));
	if (!p->used || !p->head || !p->areas) {
		err = -ENOMEM;
		goto err_free;
	}

	/* Alignment requests go up to SWIOTLB_SEG_MAX and are honoured in
	 * the pool and in the address space both, so the base is aligned to
	 * it: map that much more and trim.  Anonymous pages are zero and
	 * cost nothing until touched. */
	p->map_len = ((size_t)p->nslots * SWIOTLB_SLOT_SIZE + page - 1) & ~(page - 1);
	reserve = p->map_len + SWIOTLB_SEG_MAX;
	raw = mmap(NULL, reserve, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		err = -ENOMEM;
		goto err_free;
	}
	base = (uint8_t *)(((uintptr_t)raw + SWIOTLB_SEG_MAX - 1) & ~(uintptr_t)(SWIOTLB_SEG_MAX - 1));
	if (base > raw)
		munmap(raw, (size_t)(base - raw));
	if (raw + reserve > base + p->map_len)
		munmap(base + p->map_len, (size_t)(raw + reserve - (base + p->map_len)));
	p->base = base;

	err = -pthread_mutex_init(&p->acct_lock, NULL);
	if (err)
		goto err_unmap;
	for (i = 0; i < p->nareas; i++) {
		struct area *ar = &p->areas[i];

		ar->start = ar->hint = i * p->area_slots;
		ar->end = i + 1 == p->nareas ? p->nslots : (i + 1) * p->area_slots;
		err = -pthread_mutex_init(&ar->lock, NULL);
		if (err)
			goto err_locks;
	}
	p->accts_tail = &p->accts;
	return p;

err_locks:
	while (i-- > 0)
		pthread_mutex_destroy(&p->areas[i].lock);
	pthread_mutex_destroy(&p->acct_lock);
err_unmap:
	munmap(p->base, p->map_len);
err_free:
	free(p->areas);
	zunmap(p->head, p->head_len);
	zunmap(p->used, p->used_len);
	free(p);
err:
	errno = -err;
	return NULL;
}

void swiotlb_pool_destroy(struct swiotlb_pool *pool)
{
	struct swiotlb_account *a, *next;

	if (!pool)
		return;
	for (a = pool->accts; a; a = next) {
		next = a->next;
		free(a->name);
		free(a);
	}
	for (unsigned int i = 0; i < pool->nareas; i++)
		pthread_mutex_destroy(&pool->areas[i].lock);
	pthread_mutex_destroy(&pool->acct_lock);
	munmap(pool->base, pool->map_len);
	free(pool->areas);
	zunmap(pool->head, pool->head_len);
	zunmap(pool->used, pool->used_len);
	free(pool);
}

void swiotlb_pool_stats(struct swiotlb_pool *pool, struct swiotlb_stats *out)
{
	struct swiotlb_account *a;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&pool->acct_lock);
	lock_areas(pool);
	/* Pool bytes are the accounts' sum: no pool-wide atomic for every
	 * device thread to bounce between CPUs on each copy. */
	for (a = pool->accts; a; a = a->next) {
		out->bytes_in += GET(a->bytes_in);
		out->bytes_out += GET(a->bytes_out);
	}
	for (unsigned int i = 0; i < pool->nareas; i++)
		out->segments += pool->areas[i].segments;
	out->exhausted = GET(pool->exhausted);
	out->slots_in_use = GET(pool->slots_in_use);
	out->slots_hiwater = GET(pool->slots_hiwater);
	out->slots_total = pool->nslots;
	unlock_areas(pool);
	pthread_mutex_unlock(&pool->acct_lock);
}

uint64_t swiotlb_pool_bad_frees(struct swiotlb_pool *pool)
{
	return GET(pool->bad_frees);
}

unsigned int swiotlb_pool_areas(const struct swiotlb_pool *pool)
{
	return pool->nareas;
}

/* --- accounts ------------------------------------------------------------ */

struct swiotlb_account *swiotlb_account_create(struct swiotlb_pool *pool, const char *name)
{
	struct swiotlb_account *a;
	int err;

	if (!pool || !name) {
		err = -EINVAL;
		goto err;
	}
	a = zalloc_aligned(sizeof(*a));
	if (!a) {
		err = -ENOMEM;
		goto err;
	}
	a->name = strdup(name);
	if (!a->name) {
		err = -ENOMEM;
		goto err_free;
	}
	a->magic = ACCT_MAGIC;
	a->pool = pool;
	pthread_mutex_lock(&pool->acct_lock);
	a->home = pool->naccts++ % pool->nareas;
	*pool->accts_tail = a;
	pool->accts_tail = &a->next;
	pthread_mutex_unlock(&pool->acct_lock);
	return a;

err_free:
	free(a);
err:
	errno = -err;
	return NULL;
}

const char *swiotlb_account_name(const struct swiotlb_account *a)
{
	return a->name;
}

/* With every area lock held. */
static void account_snapshot(const struct swiotlb_account *a, struct swiotlb_stats *out)
{
	out->bytes_in = GET(a->bytes_in);
	out->bytes_out = GET(a->bytes_out);
	out->segments = GET(a->segments);
	out->exhausted = GET(a->exhausted);
	out->slots_in_use = GET(a->slots_in_use);
	out->slots_hiwater = GET(a->slots_hiwater);
	out->slots_total = 0;
}

void swiotlb_account_stats(struct swiotlb_account *a, struct swiotlb_stats *out)
{
	lock_areas(a->pool);
	account_snapshot(a, out);
	unlock_areas(a->pool);
}

void swiotlb_for_each_account(struct swiotlb_pool *pool,
			      void (*fn)(void *opaque, const char *name, const struct swiotlb_stats *s),
			      void *opaque)
{
	struct swiotlb_account *a, *next;
	struct swiotlb_stats s;

	/* fn runs unlocked so that it may call back into the engine;
	 * accounts are never freed before the pool, so a stays valid. */
	pthread_mutex_lock(&pool->acct_lock);
	a = pool->accts;
	pthread_mutex_unlock(&pool->acct_lock);
	for (; a; a = next) {
		pthread_mutex_lock(&pool->acct_lock);
		lock_areas(pool);
		account_snapshot(a, &s);
		unlock_areas(pool);
		next = a->next;
		pthread_mutex_unlock(&pool->acct_lock);
		fn(opaque, a->name, &s);
	}
}

/* --- segments ------------------------------------------------------------ */

/* Slots [s, s + n) of area ar become a's segment of len bytes; under
 * ar->lock. */
static void take(struct swiotlb_pool *p, struct area *ar, struct swiotlb_account *a,
		 uint32_t s, uint32_t n, size_t len)
{
	set_bits(p->used, s, n, true);
	p->head[s] = (struct slot_head){ .acct = a, .len = (uint32_t)len, .nslots = n };
	if (s == ar->hint)
		ar->hint = next_bit(p->used, s + n, ar->end, false);
	ar->segments++;
	ADD(a->segments, 1);
	raise_hiwater(&a->slots_hiwater, ADD(a->slots_in_use, n) + n);
	raise_hiwater(&p->slots_hiwater, ADD(p->slots_in_use, n) + n);
}

static int seg_alloc(struct swiotlb_account *a, size_t len, size_t align, struct swiotlb_seg *seg,
		     bool clear)
{
	struct swiotlb_pool *p;
	uint32_t n, amask;
	int64_t s = -1;

	if (!a || !seg || a->magic != ACCT_MAGIC || !len || len > SWIOTLB_SEG_MAX ||
	    (align & (align - 1)) || align > SWIOTLB_SEG_MAX)
		return -EINVAL;
	p = a->pool;
	n = (uint32_t)((len + SWIOTLB_SLOT_SIZE - 1) >> SWIOTLB_SLOT_SHIFT);
	amask = align > SWIOTLB_SLOT_SIZE ? (uint32_t)(align >> SWIOTLB_SLOT_SHIFT) - 1 : 0;

	/* Home area first, then the others in turn, one lock at a time. */
	for (unsigned int i = 0; i < p->nareas && s < 0; i++) {
		struct area *ar = &p->areas[(a->home + i) % p->nareas];

		pthread_mutex_lock(&ar->lock);
		s = find_run(p, ar, n, amask);
		if (s >= 0)
			take(p, ar, a, (uint32_t)s, n, len);
		pthread_mutex_unlock(&ar->lock);
	}
	if (s < 0) {
		ADD(p->exhausted, 1);
		ADD(a->exhausted, 1);
		memset(seg, 0, sizeof(*seg));
		return -ENOSPC;
	}

	*seg = (struct swiotlb_seg){
		.buf = p->base + ((size_t)s << SWIOTLB_SLOT_SHIFT), .len = len,
		.acct = a, .slot = (uint32_t)s, .nslots = n,
	};
	/* Zeroing policy: clear exactly what bounce_out can expose, at
	 * allocation (the slots are ours, so outside the lock).  The device
	 * may fill buf directly (pread into it), so the engine cannot know
	 * which bytes the device wrote; clearing here means a short device
	 * write bounces out zeros, never another DMA's old data.  The tail
	 * of the last slot beyond len is never exposed and is not cleared.
	 * First-fit reuse makes these lines warm (just freed). */
	if (clear)
		memset(seg->buf, 0, len);
	return 0;
}

int swiotlb_seg_alloc(struct swiotlb_account *a, size_t len, size_t align, struct swiotlb_seg *seg)
{
	return seg_alloc(a, len, align, seg, true);
}

int swiotlb_seg_alloc_uninit(struct swiotlb_account *a, size_t len, size_t align,
			     struct swiotlb_seg *seg)
{
	return seg_alloc(a, len, align, seg, false);
}

static void bad_free(struct swiotlb_pool *p)
{
	if (p)
		ADD(p->bad_frees, 1);
#ifdef SWIOTLB_DEBUG
	abort();
#endif
}

void swiotlb_seg_free(struct swiotlb_seg *seg)
{
	struct swiotlb_account *a;
	struct swiotlb_pool *p;
	struct area *ar;
	uint32_t s, n;

	if (!seg || !seg->acct)
		return;   /* a zeroed (already freed, or refused) seg */
	a = seg->acct;
	if (a->magic != ACCT_MAGIC) {
		bad_free(NULL);   /* not an account: no pool to trust */
		memset(seg, 0, sizeof(*seg));
		return;
	}
	p = a->pool;
	s = seg->slot;
	n = seg->nslots;
	if (s >= p->nslots) {
		bad_free(p);
		memset(seg, 0, sizeof(*seg));
		return;
	}
	ar = area_of(p, s);

	pthread_mutex_lock(&ar->lock);
	/* Only the exact live segment is released: a copy freed twice, a
	 * seg of another account or a forged one finds a head that does not
	 * match and changes nothing.  (A stale copy whose slot was since
	 * reallocated with the same account and length is indistinguishable
	 * from the live one; seg_free zeroing the caller's seg means that
	 * takes a copy.) */
	if (!n || n > SWIOTLB_SEG_MAX_SLOTS || n > ar->end - s ||
	    p->head[s].nslots != n || p->head[s].acct != a || p->head[s].len != seg->len ||
	    seg->buf != p->base + ((size_t)s << SWIOTLB_SLOT_SHIFT) ||
	    next_bit(p->used, s, s + n, false) != s + n) {
		pthread_mutex_unlock(&ar->lock);
		bad_free(p);
		memset(seg, 0, sizeof(*seg));
		return;
	}
	set_bits(p->used, s, n, false);
	p->head[s] = (struct slot_head){ 0 };
	if (s < ar->hint)
		ar->hint = s;
	SUB(a->slots_in_use, n);
	SUB(p->slots_in_use, n);
	pthread_mutex_unlock(&ar->lock);
	memset(seg, 0, sizeof(*seg));
}

/* seg->buf[off, off + len) is within the segment (no overflow). */
static bool range_ok(const struct swiotlb_seg *seg, size_t off, const void *guest, size_t len)
{
	return seg && seg->buf && seg->acct && off <= seg->len && len <= seg->len - off &&
	       (guest || !len);
}

int swiotlb_bounce_in(struct swiotlb_seg *seg, size_t off, const void *from_guest, size_t len)
{
	if (!range_ok(seg, off, from_guest, len))
		return -EINVAL;
	if (!len)
		return 0;
	memcpy(seg->buf + off, from_guest, len);
	ADD(seg->acct->bytes_in, len);
	return 0;
}

int swiotlb_bounce_out(const struct swiotlb_seg *seg, size_t off, void *to_guest, size_t len)
{
	if (!range_ok(seg, off, to_guest, len))
		return -EINVAL;
	if (!len)
		return 0;
	memcpy(to_guest, seg->buf + off, len);
	ADD(seg->acct->bytes_out, len);
	return 0;
}
