/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* tdestroy */
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
