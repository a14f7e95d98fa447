/* SPDX-License-Identifier: MIT */
#ifndef SWIOTLB_SWIOTLB_H
#define SWIOTLB_SWIOTLB_H

/*
 * The host bounce engine: Linux's swiotlb, on the host side, as a library
 * with no KVM dependency (docs/swiotlb.md).  Every device DMA, once the
 * virtio-iommu has translated and checked it, is staged through a bounded
 * pool of bounce slots: a device read takes one snapshot of guest memory
 * into a segment (bounce_in), a device write is assembled in a segment and
 * reaches guest memory when the DMA completes (bounce_out).
 *
 * Thread safety: every function may be called from any thread, except
 * swiotlb_pool_destroy(), which must not race with anything on that pool.
 * The pool is split into areas with a lock each; a device (account)
 * allocates in its home area and spills into the others only when that is
 * full.  The copies run outside every lock and count bytes with
 * per-account atomics.
 *
 * Zeroing: a freshly allocated segment reads as zero over [0, len) (what
 * bounce_out can expose), so a device that writes fewer bytes than it
 * bounces out gives the guest zeros, never another DMA's old data.
 */
#include <stddef.h>
#include <stdint.h>

#define SWIOTLB_SLOT_SHIFT     11
#define SWIOTLB_SLOT_SIZE      (1u << SWIOTLB_SLOT_SHIFT)      /* 2 KiB */
#define SWIOTLB_SEG_MAX_SLOTS  128u
#define SWIOTLB_SEG_MAX        (SWIOTLB_SLOT_SIZE * SWIOTLB_SEG_MAX_SLOTS)  /* 256 KiB */
#define SWIOTLB_DEFAULT_POOL   (64u << 20)
#define SWIOTLB_MIN_POOL       SWIOTLB_SEG_MAX   /* smaller pools are refused */
/* Added: larger pools are refused too (the slot index is 32 bits and the
 * per-slot bookkeeping is 16 bytes a slot). */
#define SWIOTLB_MAX_POOL       ((size_t)4 << 30)                /* 4 GiB */
/* Added: the pool is split into areas, each with its own lock, of at least
 * SWIOTLB_AREA_MIN bytes and at most SWIOTLB_MAX_AREAS of them (64 MiB: 8
 * areas of 8 MiB; below 8 MiB: one).  A segment never spans two areas. */
#define SWIOTLB_AREA_MIN       ((size_t)4 << 20)
#define SWIOTLB_MAX_AREAS      8u

struct swiotlb_pool;
struct swiotlb_account;          /* one per device; owned by the pool */

struct swiotlb_stats {           /* a consistent snapshot */
	uint64_t bytes_in;       /* guest -> bounce (the device reads guest memory) */
	uint64_t bytes_out;      /* bounce -> guest (the device writes guest memory) */
	uint64_t segments;       /* segments allocated so far */
	uint64_t exhausted;      /* allocations refused because no free run was large enough */
	uint64_t slots_in_use;
	uint64_t slots_hiwater;  /* high-water mark of slots_in_use */
	uint64_t slots_total;    /* pool: total slots; account: 0 */
};

/* bytes: pool size, rounded down to whole slots; < SWIOTLB_MIN_POOL or
 * > SWIOTLB_MAX_POOL -> NULL, errno EINVAL; ENOMEM.  Memory is mmap'ed
 * (untouched pages cost nothing). */
struct swiotlb_pool *swiotlb_pool_create(size_t bytes);
void swiotlb_pool_destroy(struct swiotlb_pool *pool);   /* NULL ok; accounts go with it */
void swiotlb_pool_stats(struct swiotlb_pool *pool, struct swiotlb_stats *out);
/* Added: segment frees refused because the segment was not a live one of
 * this pool (double free of a copy, forged or corrupted seg).  Non-zero
 * means a VMM bug; the pool itself was left intact. */
uint64_t swiotlb_pool_bad_frees(struct swiotlb_pool *pool);
/* Added: the number of areas (docs/swiotlb.md). */
unsigned int swiotlb_pool_areas(const struct swiotlb_pool *pool);

/* name is copied. NULL + errno on failure (EINVAL: NULL pool or name). */
struct swiotlb_account *swiotlb_account_create(struct swiotlb_pool *pool, const char *name);
const char *swiotlb_account_name(const struct swiotlb_account *a);
void swiotlb_account_stats(struct swiotlb_account *a, struct swiotlb_stats *out);
/* Calls fn once per account, in creation order, with a snapshot of its
 * statistics; fn runs with no engine lock held and may call back into
 * the engine. */
void swiotlb_for_each_account(struct swiotlb_pool *pool,
			      void (*fn)(void *opaque, const char *name, const struct swiotlb_stats *s),
			      void *opaque);

struct swiotlb_seg {
	uint8_t *buf;     /* len usable bytes, aligned to max(SWIOTLB_SLOT_SIZE, align) */
	size_t len;
	/* private to the engine */
	struct swiotlb_account *acct;
	uint32_t slot, nslots;
};

/* Allocate one contiguous segment of len bytes (1..SWIOTLB_SEG_MAX) for account a.
 * align: 0 or a power of two <= SWIOTLB_SEG_MAX (the segment's start is aligned to it in the pool).
 * Returns 0; -EINVAL for bad len/align (seg untouched); -ENOSPC when no free run exists
 * (counted in `exhausted` of both the account and the pool; seg zeroed). Thread-safe.
 * buf[0..len) reads as zero. */
int swiotlb_seg_alloc(struct swiotlb_account *a, size_t len, size_t align, struct swiotlb_seg *seg);
/* Added: the same without clearing buf: only for a device read whose
 * caller bounces in every byte of [0, len) before anything reads the
 * segment (otherwise it may see another DMA's old data).  Saves a memset
 * of len bytes (docs/swiotlb.md has the numbers). */
int swiotlb_seg_alloc_uninit(struct swiotlb_account *a, size_t len, size_t align,
			     struct swiotlb_seg *seg);
/* Return the slots; seg is zeroed. Freeing a zeroed seg is a no-op.  A seg
 * that is not a live segment of its pool is refused (counted in
 * swiotlb_pool_bad_frees(); abort() when built with -DSWIOTLB_DEBUG). */
void swiotlb_seg_free(struct swiotlb_seg *seg);
/* The copies, done by the engine so that accounting is exact:
 * bounce_in: guest -> seg->buf[off..off+len); bounce_out: seg->buf[off..) -> guest.
 * off + len must be <= seg->len (else -EINVAL, nothing copied). Return 0.
 * len 0 copies nothing and returns 0. */
int swiotlb_bounce_in(struct swiotlb_seg *seg, size_t off, const void *from_guest, size_t len);
int swiotlb_bounce_out(const struct swiotlb_seg *seg, size_t off, void *to_guest, size_t len);

#endif
