/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* tdestroy, twalk_r */
#endif
#include "viommu/mapping.h"

#include <errno.h>
#include <search.h>
#include <stdlib.h>

/* Overlapping intervals compare equal: see mapping.h for why that is a
 * valid order for tsearch. */
static int mapping_cmp(const void *a, const void *b)
{
	const struct viommu_mapping *x = a, *y = b;

	if (x->end < y->start)
		return -1;
	if (x->start > y->end)
		return 1;
	return 0;
}

void mapping_tree_init(struct mapping_tree *t)
{
	t->root = NULL;
	t->count = 0;
}

struct viommu_mapping *mapping_tree_find(const struct mapping_tree *t, uint64_t start,
					 uint64_t end)
{
	struct viommu_mapping key = { .start = start, .end = end };
	void *const *node = tfind(&key, &t->root, mapping_cmp);

	return node ? *node : NULL;
}

/*
 * Nearest neighbours, by bisection with interval lookups over units of
 * `align` bytes (every mapping starts and ends on a unit boundary), after
 * an exponential search outward from x so that nearby neighbours, the
 * usual case, take few lookups.
 */
static struct viommu_mapping *find_units(const struct mapping_tree *t, uint64_t a, uint64_t b,
					 uint64_t align)
{
	/* b <= UINT64_MAX / align, so the last byte does not overflow */
	return mapping_tree_find(t, a * align, b * align + (align - 1));
}

struct viommu_mapping *mapping_tree_below(const struct mapping_tree *t, uint64_t x, uint64_t align)
{
	struct viommu_mapping *best = NULL, *m = NULL;
	uint64_t lo, hi;

	/* A mapping ends below x iff its last unit is below x / align. */
	if (!t->count || x / align == 0)
		return NULL;
	hi = x / align - 1;
	for (unsigned int k = 0;; k += 4) {
		uint64_t w = k < 64 && hi > (1ull << k) ? hi - (1ull << k) : 0;

		m = find_units(t, w, hi, align);
		if (m || !w)
			break;
	}
	/* The answer is m or lies entirely in (m, hi]; each lookup below at
	 * least halves [lo, hi], which holds the answer's last unit. */
	while (m) {
		best = m;
		lo = m->end / align + 1;
		if (lo > hi)
			break;
		for (;;) {
			uint64_t mid = lo + (hi - lo) / 2;

			m = find_units(t, mid, hi, align);
			if (m || mid == lo)
				break;
			hi = mid - 1;   /* nothing reaches into [mid, hi] */
		}
	}
	return best;
}

struct viommu_mapping *mapping_tree_above(const struct mapping_tree *t, uint64_t x, uint64_t align)
{
	struct viommu_mapping *best = NULL, *m = NULL;
	uint64_t lo, hi = UINT64_MAX / align;

	/* A mapping starts above x iff its first unit is above x / align. */
	if (!t->count || x / align >= hi)
		return NULL;
	lo = x / align + 1;
	for (unsigned int k = 0;; k += 4) {
		uint64_t w = k < 64 && hi - lo > (1ull << k) ? lo + (1ull << k) : hi;

		m = find_units(t, lo, w, align);
		if (m || w == hi)
			break;
	}
	while (m) {
		best = m;
		if (m->start / align == lo)
			break;
		hi = m->start / align - 1;
		for (;;) {
			uint64_t mid = lo + (hi - lo) / 2;

			m = find_units(t, lo, mid, align);
			if (m || mid == hi)
				break;
			lo = mid + 1;   /* nothing reaches into [lo, mid] */
		}
	}
	return best;
}

struct walk_ctx {
	void (*fn)(const struct viommu_mapping *m, void *opaque);
	void *opaque;
};

static void walk_action(const void *nodep, VISIT which, void *closure)
{
	const struct walk_ctx *w = closure;

	/* in order: an inner node between its subtrees, or a leaf */
	if (which == postorder || which == leaf)
		w->fn(*(const struct viommu_mapping *const *)nodep, w->opaque);
}

void mapping_tree_walk(const struct mapping_tree *t,
		       void (*fn)(const struct viommu_mapping *m, void *opaque), void *opaque)
{
	struct walk_ctx w = { fn, opaque };

	twalk_r(t->root, walk_action, &w);
}

int mapping_tree_insert(struct mapping_tree *t, struct viommu_mapping *m)
{
	/* One descent both detects an overlap (tsearch then returns the
	 * existing element) and inserts. */
	void **node = tsearch(m, &t->root, mapping_cmp);

	if (!node)
		return -ENOMEM;
	if (*node != m)
		return -EEXIST;
	t->count++;
	return 0;
}

void mapping_tree_remove(struct mapping_tree *t, struct viommu_mapping *m)
{
	/* m's own interval overlaps only m itself, so this deletes m. */
	if (tdelete(m, &t->root, mapping_cmp))
		t->count--;
	free(m);
}

void mapping_tree_destroy(struct mapping_tree *t)
{
	tdestroy(t->root, free);
	mapping_tree_init(t);
}
