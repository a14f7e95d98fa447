/* SPDX-License-Identifier: MIT */
#ifndef VIOMMU_MAPPING_H
#define VIOMMU_MAPPING_H

/*
 * The IOVA -> GPA mappings of one domain: disjoint, inclusive IOVA
 * intervals in a red-black tree ordered by start.  Because the intervals
 * never overlap, ordering by start is also ordering by end, so one descent
 * finds the first mapping that ends at or after an address (it holds the
 * address, or it is the next one above), and in-order neighbours are the
 * adjacent mappings: a DMA that spans k mappings is walked in
 * O(log n + k), not k lookups of O(log n) each.
 *
 * The tree is the BSD <sys/tree.h> red-black tree (from libbsd): intrusive
 * (one allocation per mapping, no separate node), its comparisons inlined
 * (no callback per step, unlike tsearch), and it has the successor and
 * predecessor steps tsearch lacks.
 *
 * Not thread-safe: the caller (viommu/) holds the device's rwlock, for
 * reading around lookups and walks, for writing around changes.
 */
#include <stddef.h>
#include <stdint.h>

#include <bsd/sys/tree.h>

struct viommu_mapping {
	RB_ENTRY(viommu_mapping) node;
	uint64_t start, end;   /* IOVA, inclusive */
	uint64_t phys;         /* GPA of start */
	uint64_t seq;          /* the device's MAP count when it was created (leak check) */
	uint32_t flags;        /* VIRTIO_IOMMU_MAP_F_* */
};

RB_HEAD(mapping_rb, viommu_mapping);

/*
 * RB_GENERATE_STATIC, spelled out: libbsd's <sys/cdefs.h> leaves __unused
 * undefined (a Linux header has a member of that name), which that macro
 * needs to keep the functions a file does not call from warning.
 */
#define VIOMMU_RB_GENERATE_STATIC(name, type, field, cmp) \
	RB_GENERATE_INTERNAL(name, type, field, cmp, static __attribute__((unused)))

struct mapping_tree {
	struct mapping_rb root;
	size_t count;
};

void mapping_tree_init(struct mapping_tree *t);

/* The first mapping whose end is >= x (it holds x, or it is the lowest one
 * above x), or NULL.  O(log n). */
struct viommu_mapping *mapping_tree_lower_bound(const struct mapping_tree *t, uint64_t x);
/* The mapping holding x, or NULL.  O(log n). */
struct viommu_mapping *mapping_tree_find(const struct mapping_tree *t, uint64_t x);
/* The lowest mapping overlapping [start, end], or NULL.  O(log n). */
struct viommu_mapping *mapping_tree_find_overlap(const struct mapping_tree *t, uint64_t start,
						 uint64_t end);
/* In-order neighbours of a stored mapping, or NULL.  O(1) amortised. */
struct viommu_mapping *mapping_tree_next(struct viommu_mapping *m);
struct viommu_mapping *mapping_tree_prev(struct viommu_mapping *m);
/* The nearest mapping entirely below x (greatest end < x), and entirely
 * above x (least start > x), or NULL.  O(log n). */
struct viommu_mapping *mapping_tree_below(const struct mapping_tree *t, uint64_t x);
struct viommu_mapping *mapping_tree_above(const struct mapping_tree *t, uint64_t x);

/* Call fn for every mapping in IOVA order (O(n); not during changes). */
void mapping_tree_walk(const struct mapping_tree *t,
		       void (*fn)(const struct viommu_mapping *m, void *opaque), void *opaque);
/* Insert m (owned by the tree on success; allocated with malloc, which
 * mapping_tree_destroy frees): -EEXIST if it overlaps a stored mapping
 * (nothing changes).  O(log n), one descent. */
int mapping_tree_insert(struct mapping_tree *t, struct viommu_mapping *m);
/* Unlink m (which must be stored); the caller owns it again.  O(log n). */
void mapping_tree_remove(struct mapping_tree *t, struct viommu_mapping *m);
/* Free every mapping.  O(n). */
void mapping_tree_destroy(struct mapping_tree *t);

#endif
