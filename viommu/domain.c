/* SPDX-License-Identifier: MIT */
/*
 * Domains and their mappings, with what the classifier remembers of them:
 * the unmap history (AFTER_UNMAP) and the recent MAPs (BYPASS).  Every
 * function here runs with v->lock held: for writing where it changes
 * something, for reading where it only looks.
 */
#include "viommu/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

static int domain_cmp(const struct viommu_domain *a, const struct viommu_domain *b)
{
	return a->id < b->id ? -1 : a->id > b->id;
}

VIOMMU_RB_GENERATE_STATIC(domain_rb, viommu_domain, node, domain_cmp)

struct viommu_domain *domain_find(const struct viommu *v, uint32_t id)
{
	struct viommu_domain key = { .id = id };

	return RB_FIND(domain_rb, (struct domain_rb *)&v->domains, &key);
}

struct viommu_domain *domain_new(struct viommu *v, uint32_t id, bool bypass)
{
	struct viommu_domain *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->id = id;
	d->bypass = bypass;
	mapping_tree_init(&d->maps);
	d->phys_lo = UINT64_MAX;
	RB_INSERT(domain_rb, &v->domains, d);
	v->nr_domains++;
	return d;
}

/* A domain, all its mappings and its history. */
static void domain_free(struct viommu_domain *d)
{
	mapping_tree_destroy(&d->maps);
	free(d->hrange);
	free(d->hmeta);
	free(d->recent);
	free(d);
}

void domain_attach(struct viommu *v, struct viommu_domain *d, struct viommu_endpoint *ep)
{
	if (ep->domain)
		domain_detach(v, ep);
	ep->domain = d;
	ep->dom_next = d->eps;
	d->eps = ep;
	d->nr_eps++;
	ep->attaches++;
}

/*
 * Detach ep from its domain.  "After all endpoints have been successfully
 * detached from a domain, it ceases to exist": the last detach frees the
 * domain with its mappings.
 */
void domain_detach(struct viommu *v, struct viommu_endpoint *ep)
{
	struct viommu_domain *d = ep->domain;
	struct viommu_endpoint **pp;

	for (pp = &d->eps; *pp != ep; pp = &(*pp)->dom_next)
		;
	*pp = ep->dom_next;
	ep->dom_next = NULL;
	ep->domain = NULL;
	d->nr_eps--;
	ep->detaches++;
	if (!d->nr_eps) {
		v->nr_mappings -= d->maps.count;
		v->hist_total -= d->hist.cap + d->rec.cap;
		RB_REMOVE(domain_rb, &v->domains, d);
		v->nr_domains--;
		domain_free(d);
	}
}

/* Every domain, mapping and attachment gone. */
void domain_drop_all(struct viommu *v)
{
	for (size_t i = 0; i < v->nr_eps; i++) {
		v->eps[i]->domain = NULL;
		v->eps[i]->dom_next = NULL;
	}
	domain_free_all(v);
}

void domain_free_all(struct viommu *v)
{
	struct viommu_domain *d, *next;

	RB_FOREACH_SAFE(d, domain_rb, &v->domains, next) {
		RB_REMOVE(domain_rb, &v->domains, d);
		domain_free(d);
	}
	v->nr_domains = 0;
	v->nr_mappings = 0;
	v->hist_total = 0;
}

static struct viommu_mapping *mapping_alloc(struct viommu *v);
static void mapping_release(struct viommu *v, struct viommu_mapping *m);

/* ------------------------------------------------------------------ rings */

static unsigned int ring_grow_to(const struct viommu *v, const struct ring *r, unsigned int max)
{
	uint64_t want = r->cap ? 2ull * r->cap : 64;

	if (r->head || r->cap >= max)
		return r->cap;
	if (want > max)
		want = max;
	if (v->cfg.max_total_history) {
		uint64_t room = v->cfg.max_total_history > v->hist_total
				? v->cfg.max_total_history - v->hist_total : 0;

		if (want - r->cap > room)
			want = r->cap + room;
	}
	return (unsigned int)want;
}

/* The slot for a new entry of r, whose arrays have room for newcap
 * (newcap >= r->cap; more if they were just grown); UINT_MAX if the
 * ring has no room at all.  O(1). */
static unsigned int ring_slot(struct viommu *v, struct ring *r, unsigned int newcap)
{
	unsigned int i;

	if (newcap > r->cap) {
		v->hist_total += newcap - r->cap;
		r->cap = newcap;
	}
	if (r->len < r->cap)
		return r->len++;   /* head is 0 until the ring is full */
	if (!r->cap)
		return UINT_MAX;
	/* full: overwrite the oldest */
	i = r->head;
	r->head = i + 1 == r->cap ? 0 : i + 1;
	return i;
}

/* Remember m, about to be removed by UNMAP number d->unmaps at time now.
 * O(1), amortised over the (at most six) doublings. */
static void hist_push(struct viommu *v, struct viommu_domain *d, const struct viommu_mapping *m,
		      uint64_t now)
{
	unsigned int cap = d->hist.cap, i;

	if (d->hist.len == cap) {
		unsigned int want = ring_grow_to(v, &d->hist, v->cfg.unmap_history);

		if (want > cap) {
			struct hist_range *hr = realloc(d->hrange, want * sizeof(*hr));
			struct hist_meta *hm;

			if (hr)
				d->hrange = hr;
			hm = hr ? realloc(d->hmeta, want * sizeof(*hm)) : NULL;
			if (hm) {
				d->hmeta = hm;
				cap = want;
			}
		}
	}
	i = ring_slot(v, &d->hist, cap);
	if (i == UINT_MAX)
		return;
	d->hrange[i] = (struct hist_range){ .start = m->start, .end = m->end };
	d->hmeta[i] = (struct hist_meta){
		.phys = m->phys, .time_ns = now, .unmap_no = d->unmaps, .flags = m->flags,
	};
}

/* Remember a new mapping for the BYPASS lookup.  O(1), amortised. */
static void recent_push(struct viommu *v, struct viommu_domain *d, const struct viommu_mapping *m)
{
	unsigned int cap = d->rec.cap, i;

	if (d->rec.len == cap) {
		unsigned int want = ring_grow_to(v, &d->rec, v->cfg.bypass_scan);

		if (want > cap) {
			struct recent_map *r = realloc(d->recent, want * sizeof(*r));

			if (r) {
				d->recent = r;
				cap = want;
			}
		}
	}
	i = ring_slot(v, &d->rec, cap);
	if (i != UINT_MAX)
		d->recent[i] = (struct recent_map){ .start = m->start, .end = m->end, .phys = m->phys };
	if (m->phys < d->phys_lo)
		d->phys_lo = m->phys;
	if (m->phys + (m->end - m->start) > d->phys_hi)
		d->phys_hi = m->phys + (m->end - m->start);
}

/* Unlink m from d's tree, remember it in the unmap history, free it. */
void domain_unmap_one(struct viommu *v, struct viommu_domain *d, struct viommu_mapping *m,
		      uint64_t now)
{
	if (v->cfg.unmap_history)
		hist_push(v, d, m, now);
	mapping_tree_remove(&d->maps, m);
	v->nr_mappings--;
	mapping_release(v, m);
}

/* ---------------------------------------------------------------- mappings */

/* A few unmapped nodes are kept for the next MAPs: a guest in strict mode
 * maps and unmaps a buffer per DMA, and malloc's per-thread caches miss
 * when MAP and UNMAP come from different vCPUs. */
#define SPARE_MAPPINGS 64

static struct viommu_mapping *mapping_alloc(struct viommu *v)
{
	struct viommu_mapping *m = v->spare;

	if (!m)
		return malloc(sizeof(*m));
	v->spare = RB_LEFT(m, node);
	v->nspare--;
	return m;
}

static void mapping_release(struct viommu *v, struct viommu_mapping *m)
{
	if (v->nspare == SPARE_MAPPINGS) {
		free(m);
		return;
	}
	RB_LEFT(m, node) = v->spare;
	v->spare = m;
	v->nspare++;
}

void domain_free_spares(struct viommu *v)
{
	while (v->spare) {
		struct viommu_mapping *m = v->spare;

		v->spare = RB_LEFT(m, node);
		free(m);
	}
	v->nspare = 0;
}

/* A new mapping [start, end] -> phys in d, validated by the caller:
 * 0, -EEXIST (overlaps one; nothing changes) or -ENOMEM. */
int domain_map(struct viommu *v, struct viommu_domain *d, uint64_t start, uint64_t end,
	       uint64_t phys, uint32_t flags)
{
	struct viommu_mapping *m = mapping_alloc(v);
	int err;

	if (!m)
		return -ENOMEM;
	*m = (struct viommu_mapping){
		.start = start, .end = end, .phys = phys, .flags = flags, .seq = v->map_seq,
	};
	err = mapping_tree_insert(&d->maps, m);
	if (err) {
		mapping_release(v, m);
		return err;
	}
	v->nr_mappings++;
	v->map_seq++;
	if (v->cfg.bypass_scan)
		recent_push(v, d, m);
	for (struct viommu_endpoint *ep = d->eps; ep; ep = ep->dom_next) {
		ep->maps++;
		ep->map_bytes += range_len(start, end);
	}
	return 0;
}

/* ----------------------------------------------------- classifier lookups */

bool domain_hist_lookup(const struct viommu_domain *d, uint64_t x, uint64_t now,
			struct viommu_unmap_info *u)
{
	for (unsigned int k = d->hist.len; k-- > 0;) {
		unsigned int i = d->hist.head + k;

		if (i >= d->hist.cap)
			i -= d->hist.cap;
		if (x >= d->hrange[i].start && x <= d->hrange[i].end) {
			const struct hist_meta *hm = &d->hmeta[i];

			*u = (struct viommu_unmap_info){
				.valid = true,
				.virt_start = d->hrange[i].start, .virt_end = d->hrange[i].end,
				.phys_start = hm->phys, .flags = hm->flags,
				.unmaps_ago = d->unmaps - hm->unmap_no + 1,
				.ns_ago = now > hm->time_ns ? now - hm->time_ns : 0,
			};
			return true;
		}
	}
	return false;
}

/* A live mapping of d, among its last cfg.bypass_scan MAPs, whose phys
 * range holds the GPA x: *iova is where x is mapped.  Newest first; an
 * entry that matches is checked against the tree (it may have been
 * unmapped since).  O(bypass_scan). */
bool domain_bypass_lookup(const struct viommu_domain *d, uint64_t x, uint64_t *iova)
{
	if (x < d->phys_lo || x > d->phys_hi)
		return false;
	for (unsigned int k = d->rec.len; k-- > 0;) {
		unsigned int i = d->rec.head + k;
		const struct recent_map *r;
		const struct viommu_mapping *m;

		if (i >= d->rec.cap)
			i -= d->rec.cap;
		r = &d->recent[i];
		if (x < r->phys || x - r->phys > r->end - r->start)
			continue;
		m = mapping_tree_find(&d->maps, r->start);
		if (m && m->start == r->start && m->end == r->end && m->phys == r->phys) {
			*iova = m->start + (x - m->phys);
			return true;
		}
	}
	return false;
}
