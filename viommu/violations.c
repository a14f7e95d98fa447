/* SPDX-License-Identifier: MIT */
/*
 * Violations: a refused DMA classified (docs/viommu.md, "Classification")
 * and recorded with the mapping state around it ("Context"), the fault
 * events queued for the guest, the violation callback, what device models
 * report themselves (address width, leaks), and the per-endpoint
 * statistics.  Everything here runs on refusal or report paths, not on
 * the translation fast path.
 */
#include "viommu/internal.h"

#include <endian.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char unknown_name[] = "(unknown endpoint)";

const char *viommu_violation_name(enum viommu_violation reason)
{
	switch (reason) {
	case VIOMMU_OK: return "ok";
	case VIOMMU_V_NO_DOMAIN: return "no-domain";
	case VIOMMU_V_UNMAPPED: return "unmapped";
	case VIOMMU_V_PERMISSION: return "permission";
	case VIOMMU_V_PAST_END: return "past-end";
	case VIOMMU_V_NOT_RAM: return "not-ram";
	case VIOMMU_V_UNKNOWN_ENDPOINT: return "unknown-endpoint";
	case VIOMMU_V_AFTER_UNMAP: return "after-unmap";
	case VIOMMU_V_BYPASS: return "bypass";
	case VIOMMU_V_ADDRESS_WIDTH: return "address-width";
	case VIOMMU_V_LEAK: return "leak";
	case VIOMMU_V_DESCRIPTOR: return "descriptor";
	}
	return "?";
}

void map_info(struct viommu_map_info *i, const struct viommu_mapping *m)
{
	if (m)
		*i = (struct viommu_map_info){
			.valid = true, .virt_start = m->start, .virt_end = m->end,
			.phys_start = m->phys, .flags = m->flags, .map_seq = m->seq,
		};
}

enum viommu_access map_access(uint32_t flags)
{
	return (enum viommu_access)(((flags & VIRTIO_IOMMU_MAP_F_READ) ? VIOMMU_READ : 0) |
				    ((flags & VIRTIO_IOMMU_MAP_F_WRITE) ? VIOMMU_WRITE : 0));
}

/*
 * Domain and mapping state: m is the mapping of interest (or NULL) and x
 * the offending IOVA; below/above are around m if given, else around x,
 * which then must be unmapped.
 */
void violation_context(const struct viommu *v, struct viommu_violation_record *r,
		       const struct viommu_domain *d, const struct viommu_mapping *m, uint64_t x)
{
	r->has_domain = true;
	r->domain = d->id;
	r->shared_domain = d->nr_eps > 1;
	if (d->bypass) {
		r->identity = true;
		return;
	}
	r->map_context = true;
	map_info(&r->mapping, m);
	map_info(&r->below, mapping_tree_below(&d->maps, m ? m->start : x));
	map_info(&r->above, mapping_tree_above(&d->maps, m ? m->end : x));
}

/*
 * Store r (assigning its seq) and, for a refused DMA of a known endpoint
 * (fault_ep), queue its fault event.  Returns the callback to call after
 * the locks are released.
 */
struct vcb_call violation_record(struct viommu *v, struct viommu_violation_record *r,
				 struct viommu_endpoint *fault_ep)
{
	struct vcb_call call;

	pthread_mutex_lock(&v->fault_lock);
	r->seq = v->nr_violations + 1;
	if (v->nr_violations < VIOMMU_MAX_RECORDS)
		v->records[v->nr_violations] = *r;
	v->nr_violations++;
	if (fault_ep) {
		struct virtio_iommu_fault *f;
		uint32_t flags = VIRTIO_IOMMU_FAULT_F_ADDRESS;

		STAT_ADD(fault_ep->faults, 1);
		if (r->access & VIOMMU_READ)
			flags |= VIRTIO_IOMMU_FAULT_F_READ;
		if (r->access & VIOMMU_WRITE)
			flags |= VIRTIO_IOMMU_FAULT_F_WRITE;
		if (v->fault_count == VIOMMU_MAX_FAULTS) {
			/* full: drop the oldest */
			v->fault_head = (v->fault_head + 1) % VIOMMU_MAX_FAULTS;
			v->fault_count--;
			v->faults_dropped++;
		}
		f = &v->faults[(v->fault_head + v->fault_count) % VIOMMU_MAX_FAULTS];
		memset(f, 0, sizeof(*f));
		f->reason = r->reason == VIOMMU_V_NO_DOMAIN ? VIRTIO_IOMMU_FAULT_R_DOMAIN
							    : VIRTIO_IOMMU_FAULT_R_MAPPING;
		f->flags = htole32(flags);
		f->endpoint = htole32(r->endpoint_id);
		f->address = htole64(r->fault_iova);
		v->fault_count++;
	}
	call.fn = v->vcb;
	call.opaque = v->vcb_opaque;
	pthread_mutex_unlock(&v->fault_lock);
	return call;
}

void viommu_set_violation_cb(struct viommu *v,
			     void (*fn)(void *opaque, const struct viommu_violation_record *r),
			     void *opaque)
{
	pthread_mutex_lock(&v->fault_lock);
	v->vcb = fn;
	v->vcb_opaque = opaque;
	pthread_mutex_unlock(&v->fault_lock);
}

/*
 * The first byte of [gpa, gpa + len) that is not RAM, given that the
 * whole range is not.  is_ram() of a prefix is monotonic in its length,
 * so a binary search finds the longest RAM prefix (fault path only).
 */
uint64_t first_non_ram(const struct viommu *v, uint64_t gpa, uint64_t len)
{
	uint64_t lo = 0, hi = len;   /* prefix of lo bytes is RAM, of hi is not */

	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (v->host.is_ram(v->host_opaque, gpa, mid))
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/*
 * A refused DMA (v->lock held for reading): classify it, record it with
 * its context into *r and the device's records, queue the fault event.
 * Returns the callback to call once the locks are released.  m is the
 * mapping the refusal is about (PERMISSION, NOT_RAM: the one holding
 * fault_addr; PAST_END: the one the DMA ran out of), or NULL.
 */
struct vcb_call violation_refuse_dma(struct viommu *v, struct viommu_endpoint *ep,
				     const struct viommu_domain *d, const struct viommu_mapping *m,
				     uint64_t iova, uint64_t len, unsigned int acc,
				     enum viommu_violation reason, uint64_t fault_addr,
				     struct viommu_violation_record *out)
{
	struct viommu_violation_record r;
	uint64_t now = viommu_now_ns();

	memset(&r, 0, sizeof(r));
	r.endpoint_id = ep->id;
	r.name = ep->name;
	r.iova = iova;
	r.len = len;
	r.access = (enum viommu_access)acc;
	r.origin = VIOMMU_ORIGIN_DMA;
	r.time_ns = now;
	r.fault_iova = fault_addr;
	if (!d && v->bypass)
		r.identity = true;
	if (d) {
		bool unmapped_byte;

		/* PERMISSION for a bad access value is about the first byte. */
		if (!m && !d->bypass)
			m = mapping_tree_find(&d->maps, fault_addr);
		violation_context(v, &r, d, m, fault_addr);
		/* The IOVA the DMA first needed and found unmapped (not the
		 * byte "2^64" of a DMA running off the top). */
		unmapped_byte = reason == VIOMMU_V_UNMAPPED ||
				(reason == VIOMMU_V_PAST_END && m && m->end != UINT64_MAX);
		if (unmapped_byte && !d->bypass) {
			if (domain_hist_lookup(d, fault_addr, now, &r.unmapped)) {
				if (reason == VIOMMU_V_UNMAPPED)
					reason = VIOMMU_V_AFTER_UNMAP;
			} else if (reason == VIOMMU_V_UNMAPPED &&
				   domain_bypass_lookup(d, fault_addr, &r.bypass_iova)) {
				r.bypass_valid = true;
				reason = VIOMMU_V_BYPASS;
			}
		}
	}
	r.reason = reason;
	*out = r;
	return violation_record(v, out, ep);
}

/* ------------------------------------------------------ faults, statistics */

/* The per-port counters summed over all ports of ep (each port counts
 * its own, unlocked). */
static void endpoint_port_stats(const struct viommu_endpoint *ep, struct viommu_endpoint_stats *s)
{
	for (struct viommu_port *p = atomic_load_explicit(&((struct viommu_endpoint *)ep)->ports,
							   memory_order_acquire);
	     p; p = p->ep_next) {
		s->translations += STAT_GET(p->translations);
		s->drain_waits += STAT_GET(p->drain_waits);
		s->drain_wait_ns += STAT_GET(p->drain_wait_ns);
	}
}

bool viommu_pop_fault(struct viommu *v, struct virtio_iommu_fault *out)
{
	bool got = false;

	pthread_mutex_lock(&v->fault_lock);
	if (v->fault_count) {
		*out = v->faults[v->fault_head];
		v->fault_head = (v->fault_head + 1) % VIOMMU_MAX_FAULTS;
		v->fault_count--;
		got = true;
	}
	pthread_mutex_unlock(&v->fault_lock);
	return got;
}

bool viommu_has_fault(struct viommu *v)
{
	bool has;

	pthread_mutex_lock(&v->fault_lock);
	has = v->fault_count != 0;
	pthread_mutex_unlock(&v->fault_lock);
	return has;
}

uint64_t viommu_faults_dropped(struct viommu *v)
{
	uint64_t n;

	pthread_mutex_lock(&v->fault_lock);
	n = v->faults_dropped;
	pthread_mutex_unlock(&v->fault_lock);
	return n;
}

void viommu_for_each_endpoint(struct viommu *v,
			      void (*fn)(void *opaque, const struct viommu_endpoint_stats *s),
			      void *opaque)
{
	pthread_rwlock_rdlock(&v->lock);
	for (size_t i = 0; i < v->nr_eps; i++) {
		struct viommu_endpoint *ep = v->eps[i];
		struct viommu_endpoint_stats s = {
			.endpoint_id = ep->id,
			.name = ep->name,
			.attaches = ep->attaches,
			.detaches = ep->detaches,
			.maps = ep->maps,
			.unmaps = ep->unmaps,
			.map_bytes = ep->map_bytes,
			.unmap_bytes = ep->unmap_bytes,
			.faults = STAT_GET(ep->faults),
		};

		endpoint_port_stats(ep, &s);
		fn(opaque, &s);
	}
	pthread_rwlock_unlock(&v->lock);
}

uint64_t viommu_for_each_violation(struct viommu *v,
				   void (*fn)(void *opaque, const struct viommu_violation_record *r),
				   void *opaque)
{
	uint64_t n;

	pthread_mutex_lock(&v->fault_lock);
	n = v->nr_violations;
	for (uint64_t i = 0; i < n && i < VIOMMU_MAX_RECORDS; i++)
		if (fn)
			fn(opaque, &v->records[i]);
	pthread_mutex_unlock(&v->fault_lock);
	return n;
}

/* ------------------------------------------------- device reports, leaks */

static void report_device(struct viommu *v, uint32_t endpoint, uint64_t iova, uint64_t len,
			  enum viommu_access access, enum viommu_violation reason, const char *rule);

void viommu_report_violation(struct viommu *v, uint32_t endpoint, uint64_t iova, uint64_t len,
			     enum viommu_access access, enum viommu_violation reason)
{
	/* (a DESCRIPTOR should come with its rule: viommu_report_descriptor) */
	report_device(v, endpoint, iova, len, access, reason,
		      reason == VIOMMU_V_DESCRIPTOR ? "no rule given" : NULL);
}

void viommu_report_descriptor(struct viommu *v, uint32_t endpoint, uint64_t addr, uint64_t len,
			      enum viommu_access access, const char *rule)
{
	report_device(v, endpoint, addr, len, access, VIOMMU_V_DESCRIPTOR, rule ? rule : "?");
}

static void report_device(struct viommu *v, uint32_t endpoint, uint64_t iova, uint64_t len,
			  enum viommu_access access, enum viommu_violation reason, const char *rule)
{
	struct viommu_violation_record r;
	struct viommu_endpoint *ep;
	struct vcb_call call;

	if (reason == VIOMMU_OK || (unsigned int)reason > VIOMMU_V_LAST)
		return;
	memset(&r, 0, sizeof(r));
	r.endpoint_id = endpoint;
	r.iova = iova;
	r.len = len;
	r.access = access;
	r.reason = reason;
	r.rule = rule;
	r.origin = VIOMMU_ORIGIN_DEVICE;
	r.fault_iova = iova;
	r.time_ns = viommu_now_ns();
	pthread_rwlock_rdlock(&v->lock);
	ep = viommu_find_endpoint(v, endpoint);
	r.name = ep ? ep->name : unknown_name;
	if (ep && ep->domain) {
		struct viommu_domain *d = ep->domain;
		const struct viommu_mapping *m = NULL;

		if (!d->bypass)
			m = mapping_tree_find(&d->maps, iova);
		violation_context(v, &r, d, m, iova);
		if (!m && !d->bypass)
			domain_hist_lookup(d, iova, r.time_ns, &r.unmapped);
	} else if (ep && v->bypass) {
		r.identity = true;
	}
	call = violation_record(v, &r, NULL);
	pthread_rwlock_unlock(&v->lock);
	if (call.fn)
		call.fn(call.opaque, &r);
}

uint64_t viommu_map_seq(struct viommu *v)
{
	uint64_t n;

	pthread_rwlock_rdlock(&v->lock);
	n = v->map_seq;
	pthread_rwlock_unlock(&v->lock);
	return n;
}

/* The leak check's tree walk: mappings created before `before`. */
struct leak_walk {
	uint64_t before;
	size_t n, cap;
	const struct viommu_mapping **found;   /* NULL: only count */
};

static void leak_visit(const struct viommu_mapping *m, void *opaque)
{
	struct leak_walk *w = opaque;

	if (m->seq >= w->before)
		return;
	if (w->found && w->n < w->cap)
		w->found[w->n] = m;
	w->n++;
}

static int seq_cmp(const void *a, const void *b)
{
	const struct viommu_mapping *x = *(const struct viommu_mapping *const *)a;
	const struct viommu_mapping *y = *(const struct viommu_mapping *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

unsigned int viommu_check_leaks(struct viommu *v, uint32_t endpoint, uint64_t created_before_seq,
				unsigned int max_records)
{
	struct viommu_violation_record *recs = NULL;
	struct leak_walk w = { .before = created_before_seq };
	struct vcb_call call = { 0 };
	struct viommu_endpoint *ep;
	struct viommu_domain *d;
	unsigned int nrec = 0;
	uint64_t now = viommu_now_ns();

	pthread_rwlock_rdlock(&v->lock);
	ep = viommu_find_endpoint(v, endpoint);
	d = ep ? ep->domain : NULL;
	if (!d || d->bypass || !d->maps.count)
		goto out;
	/* One walk collects them; sorted by seq, the oldest come first.
	 * Without memory for that, or for the records: only the count. */
	if (max_records) {
		w.cap = d->maps.count;
		w.found = malloc(w.cap * sizeof(*w.found));
	}
	mapping_tree_walk(&d->maps, leak_visit, &w);
	if (w.found)
		nrec = w.n < max_records ? (unsigned int)w.n : max_records;
	if (nrec && !(recs = calloc(nrec, sizeof(*recs))))
		nrec = 0;
	if (nrec)
		qsort(w.found, w.n, sizeof(*w.found), seq_cmp);
	for (unsigned int i = 0; i < nrec; i++) {
		const struct viommu_mapping *m = w.found[i];
		struct viommu_violation_record *r = &recs[i];

		r->endpoint_id = endpoint;
		r->name = ep->name;
		r->iova = m->start;
		r->len = range_len(m->start, m->end);
		r->access = map_access(m->flags);
		r->reason = VIOMMU_V_LEAK;
		r->origin = VIOMMU_ORIGIN_LEAK;
		r->time_ns = now;
		r->fault_iova = m->start;
		violation_context(v, r, d, m, m->start);
		call = violation_record(v, r, NULL);
	}
out:
	pthread_rwlock_unlock(&v->lock);
	free(w.found);
	for (unsigned int i = 0; i < nrec && call.fn; i++)
		call.fn(call.opaque, &recs[i]);
	free(recs);
	return w.n > UINT_MAX ? UINT_MAX : (unsigned int)w.n;
}

struct live_mapping {
	uint64_t start, end, phys;
	uint32_t flags;
};

struct live_walk {
	struct live_mapping *snap;
	size_t n;
};

static void live_visit(const struct viommu_mapping *m, void *opaque)
{
	struct live_walk *w = opaque;

	w->snap[w->n++] = (struct live_mapping){ m->start, m->end, m->phys, m->flags };
}

unsigned int viommu_endpoint_live_mappings(struct viommu *v, uint32_t endpoint,
					   void (*fn)(void *opaque, uint64_t virt_start,
						      uint64_t virt_end, uint64_t phys,
						      uint32_t flags),
					   void *opaque)
{
	struct live_walk w = { 0 };
	struct viommu_endpoint *ep;
	struct viommu_domain *d;
	size_t n = 0;

	pthread_rwlock_rdlock(&v->lock);
	ep = viommu_find_endpoint(v, endpoint);
	d = ep ? ep->domain : NULL;
	if (d) {
		n = d->maps.count;
		/* No memory for the snapshot: only the count. */
		if (fn && n && (w.snap = malloc(n * sizeof(*w.snap))))
			mapping_tree_walk(&d->maps, live_visit, &w);   /* IOVA order */
	}
	pthread_rwlock_unlock(&v->lock);
	for (size_t i = 0; i < w.n; i++)
		fn(opaque, w.snap[i].start, w.snap[i].end, w.snap[i].phys, w.snap[i].flags);
	free(w.snap);
	return n > UINT_MAX ? UINT_MAX : (unsigned int)n;
}
