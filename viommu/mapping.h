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
/* Insert m (owned by the tree on success).  -EEXIST if it overlaps a
 * stored mapping, -ENOMEM if the node cannot be allocated. */
int mapping_tree_insert(struct mapping_tree *t, struct viommu_mapping *m);
/* Unlink m (which must be stored) and free it. */
void mapping_tree_remove(struct mapping_tree *t, struct viommu_mapping *m);
/* Free every mapping and node. */
void mapping_tree_destroy(struct mapping_tree *t);

#endif
