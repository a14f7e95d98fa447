/* SPDX-License-Identifier: MIT */
#include "viommu/mapping.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

/* Stored intervals never overlap, so their starts order them. */
static int mapping_cmp(const struct viommu_mapping *a, const struct viommu_mapping *b)
{
	return a->start < b->start ? -1 : a->start > b->start;
}

VIOMMU_RB_GENERATE_STATIC(mapping_rb, viommu_mapping, node, mapping_cmp)

void mapping_tree_init(struct mapping_tree *t)
{
	RB_INIT(&t->root);
	t->count = 0;
}

struct viommu_mapping *mapping_tree_lower_bound(const struct mapping_tree *t, uint64_t x)
{
	struct viommu_mapping *m = RB_ROOT(&t->root), *best = NULL;

	while (m) {
		if (m->end >= x) {
			best = m;
			m = RB_LEFT(m, node);
		} else {
			m = RB_RIGHT(m, node);
		}
	}
	return best;
}

struct viommu_mapping *mapping_tree_find(const struct mapping_tree *t, uint64_t x)
{
	struct viommu_mapping *m = RB_ROOT(&t->root);

	while (m) {
		if (x < m->start)
			m = RB_LEFT(m, node);
		else if (x > m->end)
			m = RB_RIGHT(m, node);
		else
			return m;
	}
	return NULL;
}

struct viommu_mapping *mapping_tree_find_overlap(const struct mapping_tree *t, uint64_t start,
						 uint64_t end)
{
	struct viommu_mapping *m = mapping_tree_lower_bound(t, start);

	return m && m->start <= end ? m : NULL;
}

struct viommu_mapping *mapping_tree_next(struct viommu_mapping *m)
{
	return mapping_rb_RB_NEXT(m);
}

struct viommu_mapping *mapping_tree_prev(struct viommu_mapping *m)
{
	return mapping_rb_RB_PREV(m);
}

struct viommu_mapping *mapping_tree_below(const struct mapping_tree *t, uint64_t x)
{
	struct viommu_mapping *m = mapping_tree_lower_bound(t, x);

	/* Everything before the first mapping ending at or after x ends below x. */
	if (m)
		return mapping_tree_prev(m);
	return RB_MAX(mapping_rb, (struct mapping_rb *)&t->root);
}

struct viommu_mapping *mapping_tree_above(const struct mapping_tree *t, uint64_t x)
{
	struct viommu_mapping *m = mapping_tree_lower_bound(t, x);

	if (m && m->start <= x)
		return mapping_tree_next(m);   /* m holds x */
	return m;
}

void mapping_tree_walk(const struct mapping_tree *t,
		       void (*fn)(const struct viommu_mapping *m, void *opaque), void *opaque)
{
	struct viommu_mapping *m;

	RB_FOREACH(m, mapping_rb, (struct mapping_rb *)&t->root)
		fn(m, opaque);
}

/*
 * One descent both checks for an overlap and finds the leaf to link m at:
 * the path passes the in-order neighbours of m's place, and a stored
 * mapping that m overlaps lies between those two, so it is on the path.
 */
int mapping_tree_insert(struct mapping_tree *t, struct viommu_mapping *m)
{
	struct viommu_mapping *parent = NULL, *cur = RB_ROOT(&t->root);
	bool left = false;

	while (cur) {
		parent = cur;
		if (m->end < cur->start) {
			cur = RB_LEFT(cur, node);
			left = true;
		} else if (m->start > cur->end) {
			cur = RB_RIGHT(cur, node);
			left = false;
		} else {
			return -EEXIST;
		}
	}
	RB_SET(m, parent, node);
	if (!parent)
		RB_ROOT(&t->root) = m;
	else if (left)
		RB_LEFT(parent, node) = m;
	else
		RB_RIGHT(parent, node) = m;
	mapping_rb_RB_INSERT_COLOR(&t->root, m);
	t->count++;
	return 0;
}

void mapping_tree_remove(struct mapping_tree *t, struct viommu_mapping *m)
{
	RB_REMOVE(mapping_rb, &t->root, m);
	t->count--;
}

/* Post-order, without rebalancing: the tree is dropped whole.  The depth
 * of a red-black tree is at most 2 log2(n + 1), so recursion is bounded. */
static void free_subtree(struct viommu_mapping *m)
{
	if (!m)
		return;
	free_subtree(RB_LEFT(m, node));
	free_subtree(RB_RIGHT(m, node));
	free(m);
}

void mapping_tree_destroy(struct mapping_tree *t)
{
	free_subtree(RB_ROOT(&t->root));
	mapping_tree_init(t);
}
