/* SPDX-License-Identifier: MIT */
#ifndef VIOMMU_MAPPING_H
#define VIOMMU_MAPPING_H

/*
 * The IOVA -> GPA mappings of one domain: a balanced search tree of
 * disjoint, inclusive IOVA intervals.  It is glibc's POSIX tsearch family
 * (a red-black tree) with a comparator that calls two intervals "equal"
 * when they overlap.  Because the stored intervals never overlap, that is
 * a strict total order on the tree's contents, so every operation is
 * O(log n), and a lookup with any query interval finds *a* stored
 * interval that overlaps it (which one is unspecified when several do).
 *
 * Not thread-safe: the caller (viommu.c) holds its rwlock.  Lookups only
 * read the tree (tfind does not rebalance), so they may run concurrently
 * under the read lock.
 */
#include <stddef.h>
#include <stdint.h>

struct viommu_mapping {
	uint64_t start, end;   /* IOVA, inclusive */
	uint64_t phys;         /* GPA of start */
	/* Set by viommu.c: the device's MAP count when it was created (the
	 * leak check).  40 bytes in all: the same malloc size class as the
	 * 32 bytes without it, so lookups touch no more memory. */
	uint64_t seq;
	uint32_t flags;        /* VIRTIO_IOMMU_MAP_F_* */
};

struct mapping_tree {
	void *root;            /* tsearch root */
	size_t count;
};

void mapping_tree_init(struct mapping_tree *t);
/* A mapping overlapping [start, end], or NULL. */
struct viommu_mapping *mapping_tree_find(const struct mapping_tree *t, uint64_t start,
					 uint64_t end);
/*
 * The nearest mapping entirely below x (greatest end < x) and entirely
 * above x (least start > x), or NULL.  align is a power of two that every
 * stored mapping's start and end + 1 are multiples of (the granule).  The
 * caller guarantees that no mapping holds both x - 1 and x (below) or
 * both x and x + 1 (above): x is unmapped, or x is the first (below) /
 * last (above) byte of a mapping.  O(log(distance / align) * log n)
 * interval lookups, no in-order traversal (for violation context, not the
 * hot path).
 */
struct viommu_mapping *mapping_tree_below(const struct mapping_tree *t, uint64_t x, uint64_t align);
struct viommu_mapping *mapping_tree_above(const struct mapping_tree *t, uint64_t x, uint64_t align);
/* Call fn for every mapping in IOVA order (O(n); not during changes). */
void mapping_tree_walk(const struct mapping_tree *t,
		       void (*fn)(const struct viommu_mapping *m, void *opaque), void *opaque);
/* Insert m (owned by the tree on success).  -EEXIST if it overlaps a
 * stored mapping, -ENOMEM if the node cannot be allocated. */
int mapping_tree_insert(struct mapping_tree *t, struct viommu_mapping *m);
/* Unlink m (which must be stored) and free it. */
void mapping_tree_remove(struct mapping_tree *t, struct viommu_mapping *m);
/* Free every mapping and node. */
void mapping_tree_destroy(struct mapping_tree *t);

#endif
