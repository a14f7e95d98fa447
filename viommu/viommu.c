/* SPDX-License-Identifier: MIT */
/*
 * The virtio-iommu device (virtio 1.2/1.3, "IOMMU Device").  Quotes in
 * comments are from the spec's device-normative sections; docs/viommu.md
 * explains the design and every choice the spec leaves open.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1   /* tdestroy */
#endif
#include "viommu/viommu.h"
#include "viommu/mapping.h"

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <search.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STAT_ADD(field, n) atomic_fetch_add_explicit(&(field), (uint64_t)(n), memory_order_relaxed)
#define STAT_GET(field) atomic_load_explicit(&(field), memory_order_relaxed)

struct viommu_endpoint;

/* Unmap history: a ring per domain, split so that the refusal-path scan
 * reads only the ranges (16 bytes an entry). */
struct hist_range {
	uint64_t start, end;
};

struct hist_meta {
	uint64_t phys, time_ns, unmap_no;
	uint32_t flags;
};

/* The domain's recent MAPs, for the BYPASS lookup (may be stale: checked
 * against the tree when one matches). */
struct recent_map {
	uint64_t start, end, phys;
};

/*
 * The bookkeeping of a ring that starts empty, grows by doubling while
 * its entries are in order ([0, len) oldest first, i.e. head == 0) and,
 * once it cannot grow, overwrites its oldest entry (at head).
 */
struct ring {
	unsigned int cap, len, head;
};

struct viommu_domain {
	uint32_t id;
	bool bypass;                      /* created with VIRTIO_IOMMU_ATTACH_F_BYPASS */
	struct mapping_tree maps;
	struct viommu_endpoint *eps;      /* attached endpoints, linked by dom_next */
	unsigned int nr_eps;

	/* The last unmapped ranges (two arrays, one ring). */
	struct hist_range *hrange;
	struct hist_meta *hmeta;
	struct ring hist;
	uint64_t unmaps;                  /* UNMAP requests that removed something */

	/* The last MAPs, and the lowest phys_start and highest phys end ever
	 * mapped in the domain: the BYPASS lookup. */
	struct recent_map *recent;
	struct ring rec;
	uint64_t phys_lo, phys_hi;
};

struct viommu_endpoint {
	uint32_t id;
	char *name;
	struct viommu_domain *domain;     /* NULL: not attached */
	struct viommu_endpoint *dom_next;

	/*
	 * Translation cache: the mapping of the last hit, valid only while
	 * cache_gen equals viommu.gen.  Translations run concurrently under
	 * the read lock, so the pair is written pointer first, generation
	 * second (release) and read generation first (acquire): a reader
	 * that sees the current generation sees a pointer stored during it.
	 * Mappings are freed only under the write lock, which also bumps
	 * the generation, so a pointer stored with the current generation
	 * is live.
	 */
	_Atomic(struct viommu_mapping *) cache_map;
	_Atomic uint64_t cache_gen;

	_Atomic uint64_t attaches, detaches, maps, unmaps, map_bytes, unmap_bytes;
	_Atomic uint64_t translations, faults;
};

struct viommu {
	/* Requests, config writes and reset take it for writing;
	 * translations and reports for reading. */
	pthread_rwlock_t lock;
	struct viommu_config cfg;
	struct viommu_mem_ops mem;
	void *mem_opaque;
	uint64_t granule;                 /* lowest bit of page_size_mask */

	uint8_t bypass;                   /* config field */
	void *domains;                    /* tsearch tree of struct viommu_domain, by id */
	unsigned int nr_domains;
	uint64_t nr_mappings;             /* over all domains */
	/* Bumped (under the write lock) whenever a cached translation may
	 * become wrong: UNMAP, DETACH, ATTACH (which may detach), reset. */
	uint64_t gen;

	struct viommu_endpoint **eps;     /* sorted by id */
	size_t nr_eps, cap_eps;

	/* Fault queue and violation records: written by translations,
	 * which only hold the read lock, so they have their own mutex.
	 * Lock order: lock, then fault_lock. */
	pthread_mutex_t fault_lock;
	struct virtio_iommu_fault faults[VIOMMU_MAX_FAULTS];
	unsigned int fault_head, fault_count;
	uint64_t faults_dropped;
	struct viommu_violation_record records[VIOMMU_MAX_RECORDS];
	uint64_t nr_violations;
	/* The violation callback (under fault_lock). */
	void (*vcb)(void *opaque, const struct viommu_violation_record *r);
	void *vcb_opaque;

	/* Under the write lock: successful MAPs so far; history entries
	 * allocated over all domains. */
	uint64_t map_seq;
	uint64_t hist_total;
};

static const char unknown_name[] = "(unknown endpoint)";

void viommu_default_config(struct viommu_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->page_size_mask = 0x1000 | 0x200000 | 0x40000000;
	cfg->input_start = 0;
	cfg->input_end = UINT64_MAX;
	cfg->domain_start = 0;
	cfg->domain_end = UINT32_MAX;
	cfg->probe_size = 512;
	cfg->bypass = 0;
	cfg->max_domains = 1u << 16;
	cfg->max_mappings = 1u << 20;
	cfg->max_total_mappings = 1u << 20;
	cfg->unmap_history = 4096;
	cfg->max_total_history = 1u << 18;
	cfg->bypass_scan = 4096;
	cfg->resv[0] = (struct viommu_resv_region){
		.start = 0xfee00000, .end = 0xfeefffff,
		.subtype = VIRTIO_IOMMU_RESV_MEM_T_MSI,
	};
	cfg->nr_resv = 1;
}

static int config_valid(const struct viommu_config *cfg)
{
	if (!cfg->page_size_mask || cfg->input_start > cfg->input_end ||
	    cfg->domain_start > cfg->domain_end || cfg->bypass > 1 ||
	    cfg->nr_resv > VIOMMU_MAX_RESV)
		return -EINVAL;
	for (unsigned int i = 0; i < cfg->nr_resv; i++)
		if (cfg->resv[i].start > cfg->resv[i].end)
			return -EINVAL;
	/* Every RESV_MEM property must fit in the PROBE buffer. */
	if ((uint64_t)cfg->nr_resv * sizeof(struct virtio_iommu_probe_resv_mem) > cfg->probe_size)
		return -EINVAL;
	return 0;
}

struct viommu *viommu_create(const struct viommu_config *cfg,
			     const struct viommu_mem_ops *mem, void *mem_opaque)
{
	struct viommu *v;
	int err;

	if (!cfg || !mem || !mem->is_ram) {
		err = -EINVAL;
		goto err;
	}
	err = config_valid(cfg);
	if (err)
		goto err;
	v = calloc(1, sizeof(*v));
	if (!v) {
		err = -ENOMEM;
		goto err;
	}
	v->cfg = *cfg;
	v->mem = *mem;
	v->mem_opaque = mem_opaque;
	v->granule = cfg->page_size_mask & -cfg->page_size_mask;
	v->bypass = cfg->bypass;
	v->gen = 1;   /* endpoints start with cache_gen 0: an empty cache */

	/*
	 * Writers first: a stream of translations (device threads, several
	 * of them refusing DMAs, which takes longer) must not starve the
	 * guest's requests, as glibc's default reader preference can.  The
	 * price is that the read lock must never be taken recursively (a
	 * waiting writer would deadlock it): no function here does, and
	 * the for_each callbacks must not call into the device.
	 */
	{
		pthread_rwlockattr_t attr;

		err = -pthread_rwlockattr_init(&attr);
		if (err)
			goto err_free;
		pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		err = -pthread_rwlock_init(&v->lock, &attr);
		pthread_rwlockattr_destroy(&attr);
	}
	if (err)
		goto err_free;
	err = -pthread_mutex_init(&v->fault_lock, NULL);
	if (err)
		goto err_rwlock;
	return v;

err_rwlock:
	pthread_rwlock_destroy(&v->lock);
err_free:
	free(v);
err:
	errno = -err;
	return NULL;
}

/* tdestroy callback: a domain, all its mappings and its unmap history. */
static void domain_free(void *p)
{
	struct viommu_domain *d = p;

	mapping_tree_destroy(&d->maps);
	free(d->hrange);
	free(d->hmeta);
	free(d->recent);
	free(d);
}

/* Every domain, mapping and attachment gone (write lock held). */
static void drop_all_domains(struct viommu *v)
{
	for (size_t i = 0; i < v->nr_eps; i++) {
		v->eps[i]->domain = NULL;
		v->eps[i]->dom_next = NULL;
	}
	tdestroy(v->domains, domain_free);
	v->domains = NULL;
	v->nr_domains = 0;
	v->nr_mappings = 0;
	v->hist_total = 0;
	v->gen++;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void viommu_destroy(struct viommu *v)
{
	if (!v)
		return;
	drop_all_domains(v);
	for (size_t i = 0; i < v->nr_eps; i++) {
		free(v->eps[i]->name);
		free(v->eps[i]);
	}
	free(v->eps);
	pthread_mutex_destroy(&v->fault_lock);
	pthread_rwlock_destroy(&v->lock);
	free(v);
}

static int ep_cmp(const void *key, const void *elem)
{
	uint32_t id = *(const uint32_t *)key;
	const struct viommu_endpoint *ep = *(struct viommu_endpoint *const *)elem;

	return id < ep->id ? -1 : id > ep->id;
}

/* O(log n) over the sorted endpoint array (lock held). */
static struct viommu_endpoint *find_endpoint(const struct viommu *v, uint32_t id)
{
	struct viommu_endpoint **p;

	if (!v->nr_eps)
		return NULL;
	p = bsearch(&id, v->eps, v->nr_eps, sizeof(*v->eps), ep_cmp);
	return p ? *p : NULL;
}

int viommu_add_endpoint(struct viommu *v, uint32_t endpoint_id, const char *name)
{
	struct viommu_endpoint *ep;
	size_t pos;
	int err;

	pthread_rwlock_wrlock(&v->lock);
	if (find_endpoint(v, endpoint_id)) {
		err = -EEXIST;
		goto out;
	}
	if (v->nr_eps == v->cap_eps) {
		size_t cap = v->cap_eps ? 2 * v->cap_eps : 8;
		struct viommu_endpoint **eps = realloc(v->eps, cap * sizeof(*eps));

		if (!eps) {
			err = -ENOMEM;
			goto out;
		}
		v->eps = eps;
		v->cap_eps = cap;
	}
	ep = calloc(1, sizeof(*ep));
	if (!ep) {
		err = -ENOMEM;
		goto out;
	}
	ep->id = endpoint_id;
	ep->name = strdup(name ? name : "");
	if (!ep->name) {
		err = -ENOMEM;
		goto err_ep;
	}
	for (pos = v->nr_eps; pos > 0 && v->eps[pos - 1]->id > endpoint_id; pos--)
		v->eps[pos] = v->eps[pos - 1];
	v->eps[pos] = ep;
	v->nr_eps++;
	err = 0;
	goto out;

err_ep:
	free(ep);
out:
	pthread_rwlock_unlock(&v->lock);
	return err;
}

uint64_t viommu_device_features(const struct viommu *v)
{
	/*
	 * BYPASS (3) is not offered: "New devices SHOULD NOT offer
	 * VIRTIO_IOMMU_F_BYPASS. Devices SHOULD NOT offer both".
	 */
	return 1ull << VIRTIO_IOMMU_F_INPUT_RANGE |
	       1ull << VIRTIO_IOMMU_F_DOMAIN_RANGE |
	       1ull << VIRTIO_IOMMU_F_MAP_UNMAP |
	       1ull << VIRTIO_IOMMU_F_PROBE |
	       1ull << VIRTIO_IOMMU_F_MMIO |
	       1ull << VIRTIO_IOMMU_F_BYPASS_CONFIG;
}

void viommu_read_config(const struct viommu *v, struct virtio_iommu_config *cfg)
{
	struct viommu *mv = (struct viommu *)v;   /* the lock is not logically state */

	memset(cfg, 0, sizeof(*cfg));
	cfg->page_size_mask = htole64(v->cfg.page_size_mask);
	cfg->input_range.start = htole64(v->cfg.input_start);
	cfg->input_range.end = htole64(v->cfg.input_end);
	cfg->domain_range.start = htole32(v->cfg.domain_start);
	cfg->domain_range.end = htole32(v->cfg.domain_end);
	cfg->probe_size = htole32(v->cfg.probe_size);
	pthread_rwlock_rdlock(&mv->lock);
	cfg->bypass = v->bypass;
	pthread_rwlock_unlock(&mv->lock);
}

void viommu_write_config(struct viommu *v, unsigned int offset, const void *data, size_t len)
{
	const uint8_t *b = data;
	const size_t bypass_off = offsetof(struct virtio_iommu_config, bypass);

	/* "The driver MUST NOT write to any other device configuration
	 * field": other bytes of the write are ignored. */
	if (offset > bypass_off || len <= bypass_off - offset)
		return;
	pthread_rwlock_wrlock(&v->lock);
	/* "The device MUST NOT present a value different than 0 or 1";
	 * the driver "SHOULD ignore bits 1-7", so we do too. */
	v->bypass = b[bypass_off - offset] & 1;
	pthread_rwlock_unlock(&v->lock);
}

void viommu_reset(struct viommu *v)
{
	pthread_rwlock_wrlock(&v->lock);
	drop_all_domains(v);
	/*
	 * The spec says bypass "SHOULD NOT change on device reset, but SHOULD
	 * be restored to its initial value on system reset".  This library
	 * has one reset; viommu.h defines it as restoring the initial value,
	 * which is also the safe side (a guest that set bypass=1 and then
	 * resets the device does not keep unchecked DMA).
	 */
	v->bypass = v->cfg.bypass;
	pthread_mutex_lock(&v->fault_lock);
	v->fault_head = 0;
	v->fault_count = 0;
	pthread_mutex_unlock(&v->fault_lock);
	pthread_rwlock_unlock(&v->lock);
}

/* ---------------------------------------------------------------- domains */

static int domain_cmp(const void *a, const void *b)
{
	const struct viommu_domain *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static struct viommu_domain *find_domain(const struct viommu *v, uint32_t id)
{
	struct viommu_domain key = { .id = id };
	void *const *node = tfind(&key, &v->domains, domain_cmp);

	return node ? *node : NULL;
}

static struct viommu_domain *domain_new(struct viommu *v, uint32_t id, bool bypass)
{
	struct viommu_domain *d = calloc(1, sizeof(*d));
	void **node;

	if (!d)
		return NULL;
	d->id = id;
	d->bypass = bypass;
	mapping_tree_init(&d->maps);
	d->phys_lo = UINT64_MAX;
	node = tsearch(d, &v->domains, domain_cmp);
	if (!node) {
		free(d);
		return NULL;
	}
	v->nr_domains++;
	return d;
}

/*
 * Detach ep from its domain.  "After all endpoints have been successfully
 * detached from a domain, it ceases to exist": the last detach frees the
 * domain with its mappings.
 */
static void detach_endpoint(struct viommu *v, struct viommu_endpoint *ep)
{
	struct viommu_domain *d = ep->domain;
	struct viommu_endpoint **pp;

	for (pp = &d->eps; *pp != ep; pp = &(*pp)->dom_next)
		;
	*pp = ep->dom_next;
	ep->dom_next = NULL;
	ep->domain = NULL;
	d->nr_eps--;
	STAT_ADD(ep->detaches, 1);
	v->gen++;   /* "the endpoint cannot access any mapping from that domain anymore" */
	if (!d->nr_eps) {
		v->nr_mappings -= d->maps.count;
		v->hist_total -= d->hist.cap + d->rec.cap;
		tdelete(d, &v->domains, domain_cmp);
		v->nr_domains--;
		domain_free(d);
	}
}

/* ------------------------------------------------------------- violations */

/*
 * Recording a violation: the record is built with the device lock held
 * (its context reads the domain), stored under fault_lock, and handed to
 * the violation callback after every lock is released.  Everything here
 * runs on refusal paths only.
 */

/* The callback to call once the locks are released. */
struct vcb_call {
	void (*fn)(void *opaque, const struct viommu_violation_record *r);
	void *opaque;
};

static void map_info(struct viommu_map_info *i, const struct viommu_mapping *m)
{
	if (m)
		*i = (struct viommu_map_info){
			.valid = true, .virt_start = m->start, .virt_end = m->end,
			.phys_start = m->phys, .flags = m->flags, .map_seq = m->seq,
		};
}

static enum viommu_access map_access(uint32_t flags)
{
	return (enum viommu_access)(((flags & VIRTIO_IOMMU_MAP_F_READ) ? VIOMMU_READ : 0) |
				    ((flags & VIRTIO_IOMMU_MAP_F_WRITE) ? VIOMMU_WRITE : 0));
}

/* Bytes in [start, end], saturated: the whole 64-bit space is UINT64_MAX. */
static uint64_t range_len(uint64_t start, uint64_t end)
{
	return end - start == UINT64_MAX ? UINT64_MAX : end - start + 1;
}

/*
 * Domain and mapping state: m is the mapping of interest (or NULL) and x
 * the offending IOVA; below/above are around m if given, else around x,
 * which then must be unmapped.
 */
static void fill_context(const struct viommu *v, struct viommu_violation_record *r,
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
	map_info(&r->below, mapping_tree_below(&d->maps, m ? m->start : x, v->granule));
	map_info(&r->above, mapping_tree_above(&d->maps, m ? m->end : x, v->granule));
}

/* The newest unmapped range of d holding x.  O(history). */
static bool hist_lookup(const struct viommu_domain *d, uint64_t x, uint64_t now,
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
static bool bypass_lookup(const struct viommu_domain *d, uint64_t x, uint64_t *iova)
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
		m = mapping_tree_find(&d->maps, r->start, r->start);
		if (m && m->start == r->start && m->end == r->end && m->phys == r->phys) {
			*iova = m->start + (x - m->phys);
			return true;
		}
	}
	return false;
}

/*
 * Store r (assigning its seq) and, for a refused DMA of a known endpoint
 * (fault_ep), queue its fault event.  Returns the callback to call after
 * the locks are released.
 */
static struct vcb_call record(struct viommu *v, struct viommu_violation_record *r,
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
static uint64_t first_non_ram(const struct viommu *v, uint64_t gpa, uint64_t len)
{
	uint64_t lo = 0, hi = len;   /* prefix of lo bytes is RAM, of hi is not */

	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;

		if (v->mem.is_ram(v->mem_opaque, gpa, mid))
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* --------------------------------------------- unmap history, recent MAPs */

/*
 * How far ring r may grow: double (from 64), up to max entries and what
 * is left of cfg.max_total_history (shared by both rings of all domains).
 * Only while its entries are in order (head == 0).  Returns the new
 * capacity, or r->cap if it cannot grow.
 */
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

/* Unlink m from d's tree, remember it, free it. */
static void remove_mapping(struct viommu *v, struct viommu_domain *d, struct viommu_mapping *m,
			   uint64_t now)
{
	if (v->cfg.unmap_history)
		hist_push(v, d, m, now);
	mapping_tree_remove(&d->maps, m);
	v->nr_mappings--;
}

/* --------------------------------------------------------------- requests */

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static uint8_t do_attach(struct viommu *v, const struct virtio_iommu_req_attach *req)
{
	uint32_t domain = le32toh(req->domain), endpoint = le32toh(req->endpoint);
	uint32_t flags = le32toh(req->flags);
	bool bypass = flags & VIRTIO_IOMMU_ATTACH_F_BYPASS;
	struct viommu_endpoint *ep;
	struct viommu_domain *d;

	/* "If the reserved field of an ATTACH request is not zero, the device
	 * MUST reject the request and set status to VIRTIO_IOMMU_S_INVAL."
	 * "If the device does not recognize a flags bit, it MUST reject". */
	if (!all_zero(req->reserved, sizeof(req->reserved)) ||
	    (flags & ~(uint32_t)VIRTIO_IOMMU_ATTACH_F_BYPASS))
		return VIRTIO_IOMMU_S_INVAL;
	ep = find_endpoint(v, endpoint);
	if (!ep)
		return VIRTIO_IOMMU_S_NOENT;
	/* The driver "MUST NOT send requests with domain less than
	 * domain_range.start or greater than domain_range.end". */
	if (domain < v->cfg.domain_start || domain > v->cfg.domain_end)
		return VIRTIO_IOMMU_S_RANGE;

	d = find_domain(v, domain);
	if (d) {
		/* "If the domain already exists and the ..._F_BYPASS flag is
		 * not consistent with that domain, the device SHOULD reject
		 * the request and set status to VIRTIO_IOMMU_S_INVAL." */
		if (d->bypass != bypass)
			return VIRTIO_IOMMU_S_INVAL;
		if (ep->domain == d)
			return VIRTIO_IOMMU_S_OK;   /* already there: nothing changes */
	} else {
		/* Moving the last endpoint out of its old domain frees that
		 * one, as DETACH + ATTACH would ("SHOULD behave as if the
		 * driver issued a DETACH request"), so it does not count. */
		unsigned int freed = ep->domain && ep->domain->nr_eps == 1;

		if (v->nr_domains - freed >= v->cfg.max_domains)
			return VIRTIO_IOMMU_S_NOMEM;
		/* Created before the old attachment is dropped, so that a
		 * failed allocation leaves everything as it was. */
		d = domain_new(v, domain, bypass);
		if (!d)
			return VIRTIO_IOMMU_S_NOMEM;
	}
	if (ep->domain)
		detach_endpoint(v, ep);
	ep->domain = d;
	ep->dom_next = d->eps;
	d->eps = ep;
	d->nr_eps++;
	STAT_ADD(ep->attaches, 1);
	v->gen++;
	return VIRTIO_IOMMU_S_OK;
}

static uint8_t do_detach(struct viommu *v, const struct virtio_iommu_req_detach *req)
{
	uint32_t domain = le32toh(req->domain), endpoint = le32toh(req->endpoint);
	struct viommu_endpoint *ep;

	/* "The device MUST ignore reserved." */
	ep = find_endpoint(v, endpoint);
	if (!ep)
		return VIRTIO_IOMMU_S_NOENT;   /* "MUST reject ... NOENT" */
	/* "If the domain identified by domain doesn't exist, or if the
	 * endpoint identified by endpoint isn't attached to this domain,
	 * then the device MAY set the request status to INVAL." */
	if (!ep->domain || ep->domain->id != domain)
		return VIRTIO_IOMMU_S_INVAL;
	detach_endpoint(v, ep);
	return VIRTIO_IOMMU_S_OK;
}

static bool overlaps_resv(const struct viommu *v, uint64_t start, uint64_t end)
{
	for (unsigned int i = 0; i < v->cfg.nr_resv; i++)
		if (start <= v->cfg.resv[i].end && end >= v->cfg.resv[i].start)
			return true;
	return false;
}

/* A MAP refused before the lock is dropped: its record and callback. */
struct map_refusal {
	bool set;
	struct vcb_call call;
	struct viommu_violation_record rec;
};

/* MAP of non-RAM without F_MMIO: a NOT_RAM violation attributed to the
 * domain's endpoint with the lowest ID. */
static __attribute__((noinline)) void map_not_ram(struct viommu *v, struct viommu_domain *d,
						   uint64_t start, uint64_t end, uint64_t phys,
						   uint32_t flags, struct map_refusal *out)
{
	struct viommu_violation_record *r = &out->rec;
	struct viommu_endpoint *ep = d->eps;
	uint64_t span = end - start;

	for (struct viommu_endpoint *e = d->eps; e; e = e->dom_next)
		if (e->id < ep->id)
			ep = e;
	memset(r, 0, sizeof(*r));
	r->endpoint_id = ep->id;
	r->name = ep->name;
	r->iova = start;
	r->len = range_len(start, end);
	r->access = map_access(flags);
	r->reason = VIOMMU_V_NOT_RAM;
	r->origin = VIOMMU_ORIGIN_MAP;
	r->time_ns = now_ns();
	r->fault_iova = start + (span == UINT64_MAX ? 0 : first_non_ram(v, phys, span + 1));
	r->has_domain = true;
	r->domain = d->id;
	r->shared_domain = d->nr_eps > 1;
	r->phys_valid = true;
	r->phys_start = phys;
	r->phys_end = phys + span;
	out->call = record(v, r, NULL);
	out->set = true;
}

static uint8_t do_map(struct viommu *v, const struct virtio_iommu_req_map *req,
		      struct map_refusal *refusal)
{
	uint32_t domain = le32toh(req->domain), flags = le32toh(req->flags);
	uint64_t start = le64toh(req->virt_start), end = le64toh(req->virt_end);
	uint64_t phys = le64toh(req->phys_start), span, mask = v->granule - 1;
	struct viommu_mapping *m;
	struct viommu_domain *d;
	struct viommu_endpoint *ep;
	int err;

	/* "If the device doesn't recognize a flags bit, it MUST reject the
	 * request and set status to VIRTIO_IOMMU_S_INVAL." */
	if (flags & ~(uint32_t)VIRTIO_IOMMU_MAP_F_MASK)
		return VIRTIO_IOMMU_S_INVAL;
	d = find_domain(v, domain);
	if (!d)
		return VIRTIO_IOMMU_S_NOENT;   /* "SHOULD ... NOENT" */
	if (d->bypass)
		return VIRTIO_IOMMU_S_INVAL;   /* "bypass domain ... SHOULD ... INVAL" */
	/* "virt_end MUST be strictly greater than virt_start" is the
	 * driver's rule; an inverted range is an invalid parameter.  (With a
	 * granule above one byte, start == end fails the alignment check.) */
	if (end < start)
		return VIRTIO_IOMMU_S_INVAL;
	/* "If virt_start, phys_start or (virt_end + 1) is not aligned on the
	 * page granularity, the device SHOULD reject the request and set
	 * status to VIRTIO_IOMMU_S_RANGE."  end + 1 wraps to 0 for
	 * end = 2^64-1, which is aligned, as it should be. */
	if ((start & mask) || (phys & mask) || ((end + 1) & mask))
		return VIRTIO_IOMMU_S_RANGE;
	/* "Any mapping request to virtual addresses outside of this range
	 * fails." */
	if (start < v->cfg.input_start || end > v->cfg.input_end)
		return VIRTIO_IOMMU_S_RANGE;
	/* phys_end = phys_start + virt_end - virt_start must exist. */
	span = end - start;
	if (phys > UINT64_MAX - span)
		return VIRTIO_IOMMU_S_RANGE;
	/* "the range defined by phys_start and phys_end should be within
	 * the guest-physical address space ... as well as any carving of
	 * guest-physical addresses for use by the host": out-of-range
	 * parameters, RANGE.  MMIO maps may point anywhere (a doorbell); a
	 * DMA through them still has to land in RAM to be carried out. */
	if (!(flags & VIRTIO_IOMMU_MAP_F_MMIO) &&
	    (span == UINT64_MAX || !v->mem.is_ram(v->mem_opaque, phys, span + 1))) {
		map_not_ram(v, d, start, end, phys, flags, refusal);
		return VIRTIO_IOMMU_S_RANGE;
	}
	/* "The device SHOULD reject a MAP request that overlaps a RESV_MEM
	 * region."  No status is given; a reserved region is a range the
	 * device already uses, like an existing mapping: INVAL. */
	if (overlaps_resv(v, start, end))
		return VIRTIO_IOMMU_S_INVAL;
	/* "If a mapping already exists in the requested range, the device
	 * SHOULD reject the request and set status to INVAL": an overlap is
	 * INVAL even when the caps are reached. */
	if (d->maps.count >= v->cfg.max_mappings ||
	    (v->cfg.max_total_mappings && v->nr_mappings >= v->cfg.max_total_mappings))
		return mapping_tree_find(&d->maps, start, end) ? VIRTIO_IOMMU_S_INVAL
								: VIRTIO_IOMMU_S_NOMEM;

	m = malloc(sizeof(*m));
	if (!m)
		return VIRTIO_IOMMU_S_NOMEM;
	*m = (struct viommu_mapping){
		.start = start, .end = end, .phys = phys, .flags = flags, .seq = v->map_seq,
	};
	/* One descent detects the overlap and inserts. */
	err = mapping_tree_insert(&d->maps, m);
	if (err) {
		free(m);
		return err == -EEXIST ? VIRTIO_IOMMU_S_INVAL : VIRTIO_IOMMU_S_NOMEM;
	}
	v->nr_mappings++;
	v->map_seq++;
	if (v->cfg.bypass_scan)
		recent_push(v, d, m);
	/* A new mapping makes no cached translation wrong: no gen bump. */
	for (ep = d->eps; ep; ep = ep->dom_next) {
		STAT_ADD(ep->maps, 1);
		STAT_ADD(ep->map_bytes, span + 1);
	}
	return VIRTIO_IOMMU_S_OK;
}

/* now: when the request arrived (for the unmap history). */
static uint8_t do_unmap(struct viommu *v, const struct virtio_iommu_req_unmap *req, uint64_t now)
{
	uint32_t domain = le32toh(req->domain);
	uint64_t start = le64toh(req->virt_start), end = le64toh(req->virt_end);
	uint64_t bytes = 0;
	bool any = false;
	struct viommu_mapping *m;
	struct viommu_domain *d;
	struct viommu_endpoint *ep;

	/* "If the reserved field of an UNMAP request is not zero, the device
	 * MAY set the request status to VIRTIO_IOMMU_S_INVAL, in which case
	 * the device MAY perform the UNMAP operation."  We reject and do not
	 * unmap: a malformed request changes nothing. */
	if (!all_zero(req->reserved, sizeof(req->reserved)))
		return VIRTIO_IOMMU_S_INVAL;
	d = find_domain(v, domain);
	if (!d)
		return VIRTIO_IOMMU_S_NOENT;   /* "SHOULD set ... NOENT" */
	if (d->bypass)
		return VIRTIO_IOMMU_S_INVAL;   /* "SHOULD reject ... INVAL" */
	if (end < start)
		return VIRTIO_IOMMU_S_INVAL;   /* not a range at all */

	/*
	 * "If a mapping affected by the range is not covered in its entirety
	 * by the range (the UNMAP request would split the mapping), then the
	 * device SHOULD set the request status to VIRTIO_IOMMU_S_RANGE, and
	 * SHOULD NOT remove any mapping."  A mapping that overlaps [start,
	 * end] without being inside it sticks out on one side, so it
	 * contains start or end: two lookups check every mapping before
	 * anything is removed.
	 */
	m = mapping_tree_find(&d->maps, start, start);
	if (m && m->start < start)
		return VIRTIO_IOMMU_S_RANGE;
	if (m && m->end == end) {
		/* The usual case (Linux unmaps what it mapped): exactly one
		 * mapping, nothing else can be in the range. */
		bytes = end - start + 1;
		d->unmaps++;   /* counts UNMAP requests that removed something */
		remove_mapping(v, d, m, now);
		goto done;
	}
	m = mapping_tree_find(&d->maps, end, end);
	if (m && m->end > end)
		return VIRTIO_IOMMU_S_RANGE;

	/* "If part of the range or the full range is not covered by an
	 * existing mapping, then the device SHOULD remove all mappings
	 * affected by the range and set the request status to OK." */
	while ((m = mapping_tree_find(&d->maps, start, end))) {
		if (!any)
			d->unmaps++;
		any = true;
		bytes += m->end - m->start + 1;
		remove_mapping(v, d, m, now);
	}
done:
	v->gen++;   /* cached translations may point at freed mappings */
	for (ep = d->eps; ep; ep = ep->dom_next) {
		STAT_ADD(ep->unmaps, 1);
		STAT_ADD(ep->unmap_bytes, bytes);
	}
	return VIRTIO_IOMMU_S_OK;
}

/* PROBE: the device-writable part is properties[probe_size] + tail. */
static size_t do_probe(struct viommu *v, const struct virtio_iommu_req_probe *req,
		       uint8_t *resp, size_t resp_len)
{
	const size_t tail_len = sizeof(struct virtio_iommu_req_tail);
	struct virtio_iommu_req_tail tail = { .status = VIRTIO_IOMMU_S_OK };
	size_t props_len, off = 0;

	/* "The device MUST ignore field reserved of a PROBE request." */
	if (resp_len < v->cfg.probe_size + (size_t)tail_len) {
		/* "If the properties list is smaller than probe_size, the
		 * device SHOULD NOT write any property. It SHOULD reject the
		 * request and set status to VIRTIO_IOMMU_S_INVAL."  The tail
		 * is the last 4 bytes of what the driver gave us. */
		props_len = resp_len - tail_len;
		tail.status = VIRTIO_IOMMU_S_INVAL;
	} else {
		props_len = v->cfg.probe_size;
	}
	/* "If the device doesn't fill all probe_size bytes with properties,
	 * it SHOULD fill the remaining bytes of properties with zeroes":
	 * the zeroes also end the list (type NONE). */
	memset(resp, 0, props_len);
	if (tail.status == VIRTIO_IOMMU_S_OK && !find_endpoint(v, le32toh(req->endpoint)))
		tail.status = VIRTIO_IOMMU_S_NOENT;   /* "SHOULD ... NOENT" */
	if (tail.status == VIRTIO_IOMMU_S_OK) {
		for (unsigned int i = 0; i < v->cfg.nr_resv; i++) {
			struct virtio_iommu_probe_resv_mem p = {
				.head.type = htole16(VIRTIO_IOMMU_PROBE_T_RESV_MEM),
				/* "the size of a property without the struct
				 * virtio_iommu_probe_property header" */
				.head.length = htole16(sizeof(p) - sizeof(p.head)),
				.subtype = v->cfg.resv[i].subtype,
				.start = htole64(v->cfg.resv[i].start),
				.end = htole64(v->cfg.resv[i].end),
			};

			/* fits: checked against probe_size in viommu_create() */
			memcpy(resp + off, &p, sizeof(p));
			off += sizeof(p);
		}
	}
	memcpy(resp + props_len, &tail, tail_len);
	return props_len + tail_len;
}

size_t viommu_handle_request(struct viommu *v, const void *req, size_t req_len,
			     void *resp, size_t resp_len)
{
	const size_t tail_len = sizeof(struct virtio_iommu_req_tail);
	union {
		struct virtio_iommu_req_head head;
		struct virtio_iommu_req_attach attach;
		struct virtio_iommu_req_detach detach;
		struct virtio_iommu_req_map map;
		struct virtio_iommu_req_unmap unmap;
		struct virtio_iommu_req_probe probe;
	} r;
	struct virtio_iommu_req_tail tail = { 0 };
	struct map_refusal refusal;
	size_t need, written;
	uint64_t now = 0;

	/*
	 * "When the device fails to parse a request, for instance if a
	 * request is too small for its type and the device cannot find the
	 * tail, then it is unable to set status. In that case, it returns
	 * the buffers without writing to them."  So a device-readable part
	 * shorter than the request's fields, or a device-writable part with
	 * no room for the tail, gets used length 0 (the Linux driver turns
	 * that into S_IOERR: "When a device uses a buffer without having
	 * written to it (i.e. used length is zero), the driver SHOULD
	 * interpret it as a request failure").  A longer readable part is
	 * accepted and the extra bytes ignored: PROBE's reserved padding
	 * exists "so that future extensions can add fields".
	 */
	if (req_len < sizeof(r.head) || resp_len < tail_len)
		return 0;
	memcpy(&r.head, req, sizeof(r.head));
	/* "The device MUST ignore field reserved of struct
	 * virtio_iommu_req_head". */
	switch (r.head.type) {
	case VIRTIO_IOMMU_T_ATTACH:
		need = offsetof(struct virtio_iommu_req_attach, tail);
		break;
	case VIRTIO_IOMMU_T_DETACH:
		need = offsetof(struct virtio_iommu_req_detach, tail);
		break;
	case VIRTIO_IOMMU_T_MAP:
		need = offsetof(struct virtio_iommu_req_map, tail);
		break;
	case VIRTIO_IOMMU_T_UNMAP:
		need = offsetof(struct virtio_iommu_req_unmap, tail);
		break;
	case VIRTIO_IOMMU_T_PROBE:
		need = sizeof(struct virtio_iommu_req_probe);
		break;
	default:
		/* "If a request type is not recognized, the device SHOULD NOT
		 * write the buffer and SHOULD set the used length to zero." */
		return 0;
	}
	if (req_len < need)
		return 0;
	memcpy(&r, req, need);

	refusal.set = false;
	/* The unmap history's timestamp, taken outside the lock. */
	if (r.head.type == VIRTIO_IOMMU_T_UNMAP && v->cfg.unmap_history)
		now = now_ns();
	pthread_rwlock_wrlock(&v->lock);
	switch (r.head.type) {
	case VIRTIO_IOMMU_T_ATTACH:
		tail.status = do_attach(v, &r.attach);
		break;
	case VIRTIO_IOMMU_T_DETACH:
		tail.status = do_detach(v, &r.detach);
		break;
	case VIRTIO_IOMMU_T_MAP:
		tail.status = do_map(v, &r.map, &refusal);
		break;
	case VIRTIO_IOMMU_T_UNMAP:
		tail.status = do_unmap(v, &r.unmap, now);
		break;
	case VIRTIO_IOMMU_T_PROBE:
		written = do_probe(v, &r.probe, resp, resp_len);
		pthread_rwlock_unlock(&v->lock);
		return written;
	}
	pthread_rwlock_unlock(&v->lock);
	if (refusal.set && refusal.call.fn)
		refusal.call.fn(refusal.call.opaque, &refusal.rec);
	/* The tail is the whole device-writable part; extra room is left
	 * alone.  "SHOULD set field reserved of ... tail to zero". */
	memcpy(resp, &tail, tail_len);
	return tail_len;
}

/* ------------------------------------------------------------ translation */

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
	}
	return "?";
}

static bool permitted(const struct viommu_mapping *m, unsigned int access)
{
	if ((access & VIOMMU_READ) && !(m->flags & VIRTIO_IOMMU_MAP_F_READ))
		return false;
	if ((access & VIOMMU_WRITE) && !(m->flags & VIRTIO_IOMMU_MAP_F_WRITE))
		return false;
	return true;
}

/* The mapping holding iova, through the endpoint's one-entry cache. */
static struct viommu_mapping *lookup_cached(struct viommu *v, struct viommu_endpoint *ep,
					    struct viommu_domain *d, uint64_t iova)
{
	struct viommu_mapping *m = NULL;

	if (atomic_load_explicit(&ep->cache_gen, memory_order_acquire) == v->gen) {
		m = atomic_load_explicit(&ep->cache_map, memory_order_relaxed);
		if (m && iova >= m->start && iova <= m->end)
			return m;
	}
	m = mapping_tree_find(&d->maps, iova, iova);
	if (m) {
		atomic_store_explicit(&ep->cache_map, m, memory_order_relaxed);
		atomic_store_explicit(&ep->cache_gen, v->gen, memory_order_release);
	}
	return m;
}

/*
 * A refused DMA (read lock held; released here): classify it, record it
 * with its context, queue the fault event, then call the callback without
 * locks.  m is the mapping the refusal is about (PERMISSION, NOT_RAM: the
 * one holding fault_addr; PAST_END: the one the DMA ran out of), or NULL.
 */
static __attribute__((noinline, cold)) enum viommu_violation
refuse_dma(struct viommu *v, struct viommu_endpoint *ep, uint32_t endpoint, struct viommu_domain *d,
	   const struct viommu_mapping *m, uint64_t iova, uint64_t len, unsigned int acc,
	   enum viommu_violation reason, uint64_t fault_addr)
{
	struct viommu_violation_record r;
	struct vcb_call call;
	uint64_t now = now_ns();

	memset(&r, 0, sizeof(r));
	r.endpoint_id = endpoint;
	r.name = ep ? ep->name : unknown_name;
	r.iova = iova;
	r.len = len;
	r.access = (enum viommu_access)acc;
	r.origin = VIOMMU_ORIGIN_DMA;
	r.time_ns = now;
	r.fault_iova = fault_addr;
	if (ep && !d && v->bypass)
		r.identity = true;
	if (d) {
		bool unmapped_byte;

		/* PERMISSION for a bad access value is about the first byte. */
		if (!m && !d->bypass)
			m = mapping_tree_find(&d->maps, fault_addr, fault_addr);
		fill_context(v, &r, d, m, fault_addr);
		/* The IOVA the DMA first needed and found unmapped (not the
		 * byte "2^64" of a DMA running off the top). */
		unmapped_byte = reason == VIOMMU_V_UNMAPPED ||
				(reason == VIOMMU_V_PAST_END && m && m->end != UINT64_MAX);
		if (unmapped_byte && !d->bypass) {
			if (hist_lookup(d, fault_addr, now, &r.unmapped)) {
				if (reason == VIOMMU_V_UNMAPPED)
					reason = VIOMMU_V_AFTER_UNMAP;
			} else if (reason == VIOMMU_V_UNMAPPED &&
				   bypass_lookup(d, fault_addr, &r.bypass_iova)) {
				r.bypass_valid = true;
				reason = VIOMMU_V_BYPASS;
			}
		}
	}
	r.reason = reason;
	call = record(v, &r, ep);
	pthread_rwlock_unlock(&v->lock);
	if (call.fn)
		call.fn(call.opaque, &r);
	return reason;
}

enum viommu_violation viommu_translate(struct viommu *v, uint32_t endpoint, uint64_t iova,
				       uint64_t len, enum viommu_access access,
				       struct viommu_xlate *out)
{
	unsigned int acc = access;
	enum viommu_violation reason = VIOMMU_OK;
	uint64_t fault_addr = iova, last, cur, remaining;
	struct viommu_endpoint *ep;
	struct viommu_domain *d = NULL;
	struct viommu_mapping *m = NULL, *next;
	bool contiguous = true;

	out->gpa = 0;
	out->len = 0;
	pthread_rwlock_rdlock(&v->lock);
	ep = find_endpoint(v, endpoint);
	if (!ep) {
		reason = VIOMMU_V_UNKNOWN_ENDPOINT;
		goto refuse;
	}
	STAT_ADD(ep->translations, 1);
	/* A zero-length DMA touches nothing. */
	if (!len)
		goto done;
	d = ep->domain;
	/* Only READ, WRITE or both are accesses; anything else is a caller
	 * bug, refused as a permission fault rather than guessed at. */
	if (!acc || (acc & ~(unsigned int)(VIOMMU_READ | VIOMMU_WRITE))) {
		reason = VIOMMU_V_PERMISSION;
		goto refuse;
	}
	/* Bytes past 2^64 - 1 exist nowhere: last is clamped and the
	 * remainder is caught as PAST_END / NOT_RAM below. */
	last = len - 1 > UINT64_MAX - iova ? UINT64_MAX : iova + (len - 1);

	if (!d || d->bypass) {
		if (!d && !v->bypass) {
			/* "The device SHOULD NOT let unattached endpoints that
			 * are not in bypass mode access the guest-physical
			 * address space." */
			reason = VIOMMU_V_NO_DOMAIN;
			goto refuse;
		}
		/* Bypass: "translated by the IOMMU using the identity
		 * function" -- but the device models can only reach RAM. */
		if (last - iova != len - 1) {
			reason = VIOMMU_V_NOT_RAM;
			fault_addr = 0;   /* the byte at 2^64 wraps to 0 */
			goto refuse;
		}
		if (!v->mem.is_ram(v->mem_opaque, iova, len)) {
			reason = VIOMMU_V_NOT_RAM;
			fault_addr = iova + first_non_ram(v, iova, len);
			goto refuse;
		}
		out->gpa = iova;
		out->len = len;
		goto done;
	}

	m = lookup_cached(v, ep, d, iova);
	if (!m) {
		reason = VIOMMU_V_UNMAPPED;
		goto refuse;
	}
	/* Walk the mappings covering [iova, iova + len): each must allow the
	 * access and land in RAM; the first physically contiguous run is
	 * the answer. */
	cur = iova;
	remaining = len;
	for (;;) {
		uint64_t piece_end = m->end < last ? m->end : last;
		uint64_t plen = piece_end - cur + 1;
		uint64_t gpa = m->phys + (cur - m->start);

		if (!permitted(m, acc)) {
			reason = VIOMMU_V_PERMISSION;
			fault_addr = cur;
			goto refuse;
		}
		if (!v->mem.is_ram(v->mem_opaque, gpa, plen)) {
			reason = VIOMMU_V_NOT_RAM;
			fault_addr = cur + first_non_ram(v, gpa, plen);
			goto refuse;
		}
		if (cur == iova)
			*out = (struct viommu_xlate){ .gpa = gpa, .len = plen };
		else if (contiguous && out->gpa + out->len == gpa)
			out->len += plen;
		else
			contiguous = false;
		remaining -= plen;
		if (!remaining)
			break;
		if (piece_end == UINT64_MAX) {
			reason = VIOMMU_V_PAST_END;
			fault_addr = 0;   /* the byte at 2^64 wraps to 0 */
			goto refuse;
		}
		cur = piece_end + 1;
		next = mapping_tree_find(&d->maps, cur, cur);
		if (!next) {
			reason = VIOMMU_V_PAST_END;   /* m: the mapping it ran out of */
			fault_addr = cur;
			goto refuse;
		}
		m = next;
	}
done:
	pthread_rwlock_unlock(&v->lock);
	return VIOMMU_OK;

refuse:
	out->gpa = 0;
	out->len = 0;
	return refuse_dma(v, ep, endpoint, d, m, iova, len, acc, reason, fault_addr);
}

/* ------------------------------------------------------------ faults, report */

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
			.attaches = STAT_GET(ep->attaches),
			.detaches = STAT_GET(ep->detaches),
			.maps = STAT_GET(ep->maps),
			.unmaps = STAT_GET(ep->unmaps),
			.map_bytes = STAT_GET(ep->map_bytes),
			.unmap_bytes = STAT_GET(ep->unmap_bytes),
			.translations = STAT_GET(ep->translations),
			.faults = STAT_GET(ep->faults),
		};

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

void viommu_report_violation(struct viommu *v, uint32_t endpoint, uint64_t iova, uint64_t len,
			     enum viommu_access access, enum viommu_violation reason)
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
	r.origin = VIOMMU_ORIGIN_DEVICE;
	r.fault_iova = iova;
	r.time_ns = now_ns();
	pthread_rwlock_rdlock(&v->lock);
	ep = find_endpoint(v, endpoint);
	r.name = ep ? ep->name : unknown_name;
	if (ep && ep->domain) {
		struct viommu_domain *d = ep->domain;
		const struct viommu_mapping *m = NULL;

		if (!d->bypass)
			m = mapping_tree_find(&d->maps, iova, iova);
		fill_context(v, &r, d, m, iova);
		if (!m && !d->bypass)
			hist_lookup(d, iova, r.time_ns, &r.unmapped);
	} else if (ep && v->bypass) {
		r.identity = true;
	}
	call = record(v, &r, NULL);
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
	uint64_t now = now_ns();

	pthread_rwlock_rdlock(&v->lock);
	ep = find_endpoint(v, endpoint);
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
		fill_context(v, r, d, m, m->start);
		call = record(v, r, NULL);
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
	ep = find_endpoint(v, endpoint);
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
