/* SPDX-License-Identifier: MIT */
/*
 * DMA translation through ports (docs/viommu.md, "Translation" and
 * "In-flight DMA").
 *
 * A port belongs to one device context.  Its mutex is held across a DMA
 * window: translate, copy, end.  Everything that removes translations
 * (UNMAP, DETACH, an ATTACH that moves an endpoint, reset, a bypass
 * change) changes the domains under v->lock, then drains the affected
 * ports: it takes each port's mutex once, which waits for the window in
 * flight to end, invalidates the port's IOTLB and lets go.  So no byte is
 * copied through a removed translation after the request that removed it
 * has completed, and the port's IOTLB -- read and filled only under its
 * mutex -- needs no atomics and no generation checks on the hot path.
 */
#include "viommu/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ IOTLB */

static void tlb_flush(struct viommu_port *p)
{
	for (unsigned int i = 0; i < VIOMMU_TLB_ENTRIES; i++)
		p->tlb[i] = (struct tlb_entry){ .start = 1, .end = 0 };
}

static void tlb_invalidate(struct viommu_port *p, uint64_t start, uint64_t end)
{
	for (unsigned int i = 0; i < VIOMMU_TLB_ENTRIES; i++) {
		struct tlb_entry *e = &p->tlb[i];

		if (e->start <= end && e->end >= start)
			*e = (struct tlb_entry){ .start = 1, .end = 0 };
	}
}

/* An empty entry (start > end) never matches.  The entry that answered
 * last is tried first: a device's accesses come in runs (one ring, one
 * buffer). */
static inline const struct tlb_entry *tlb_lookup(struct viommu_port *p, uint64_t iova)
{
	const struct tlb_entry *e = &p->tlb[p->tlb_hit];

	if (iova >= e->start && iova <= e->end)
		return e;
	for (unsigned int i = 0; i < VIOMMU_TLB_ENTRIES; i++) {
		e = &p->tlb[i];
		if (iova >= e->start && iova <= e->end) {
			p->tlb_hit = i;
			return e;
		}
	}
	return NULL;
}

static void tlb_insert(struct viommu_port *p, const struct viommu_mapping *m, bool ram)
{
	/* Already there (a walk that restarts at a mapping it cached)? */
	if (tlb_lookup(p, m->start))
		return;
	p->tlb[p->tlb_next] = (struct tlb_entry){
		.start = m->start, .end = m->end, .phys = m->phys, .flags = m->flags, .ram = ram,
	};
	p->tlb_next = (p->tlb_next + 1) % VIOMMU_TLB_ENTRIES;
}

/* ------------------------------------------------------------------ ports */

struct viommu_port *viommu_port_open(struct viommu *v, uint32_t endpoint)
{
	struct viommu_endpoint *ep;
	struct viommu_port *p;
	int err = 0;

	pthread_rwlock_wrlock(&v->lock);
	ep = viommu_find_endpoint(v, endpoint);
	if (!ep) {
		err = ENOENT;
		goto out;
	}
	/* A closed port of the endpoint is reused: memory stays bounded
	 * however often a device is reset or re-created. */
	for (p = atomic_load_explicit(&ep->ports, memory_order_relaxed); p; p = p->ep_next)
		if (!p->in_use)
			break;
	if (!p) {
		p = calloc(1, sizeof(*p));
		if (!p) {
			err = ENOMEM;
			goto out;
		}
		p->v = v;
		p->ep = ep;
		pthread_mutex_init(&p->lock, NULL);
		pthread_cond_init(&p->drained, NULL);
		tlb_flush(p);
		/* Published whole: drainers walk the lists without v->lock. */
		p->ep_next = atomic_load_explicit(&ep->ports, memory_order_relaxed);
		atomic_store_explicit(&ep->ports, p, memory_order_release);
		p->dev_next = atomic_load_explicit(&v->ports, memory_order_relaxed);
		atomic_store_explicit(&v->ports, p, memory_order_release);
	}
	p->in_use = true;
out:
	pthread_rwlock_unlock(&v->lock);
	if (err) {
		errno = err;
		return NULL;
	}
	return p;
}

void viommu_port_close(struct viommu_port *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	tlb_flush(p);
	pthread_mutex_unlock(&p->lock);
	pthread_rwlock_wrlock(&p->v->lock);
	p->in_use = false;
	pthread_rwlock_unlock(&p->v->lock);
}

uint32_t viommu_port_endpoint(const struct viommu_port *p)
{
	return p->ep->id;
}

void viommu_free_ports(struct viommu *v)
{
	struct viommu_port *p = atomic_load_explicit(&v->ports, memory_order_relaxed), *next;

	for (; p; p = next) {
		next = p->dev_next;
		pthread_cond_destroy(&p->drained);
		pthread_mutex_destroy(&p->lock);
		free(p);
	}
	atomic_store_explicit(&v->ports, NULL, memory_order_relaxed);
}

/* ---------------------------------------------------------------- windows */

void viommu_dma_begin(struct viommu_port *p)
{
	pthread_mutex_lock(&p->lock);
	/* A drain waiting for this port goes first: a device that starts
	 * windows back to back must not keep a request waiting for long
	 * (mutexes are not fair; a thread that unlocks can relock at once). */
	while (atomic_load_explicit(&p->drains_waiting, memory_order_acquire)) {
		p->begins_waiting++;
		pthread_cond_wait(&p->drained, &p->lock);
		p->begins_waiting--;
	}
}

/* The end of a window that refused something: deliver after the unlock. */
static __attribute__((noinline, cold)) void end_with_refusals(struct viommu_port *p)
{
	struct pending_violation pend[VIOMMU_PORT_PENDING];
	unsigned int n = p->npending;
	bool fault = p->fault_queued;
	struct viommu *v = p->v;

	memcpy(pend, p->pending, n * sizeof(*pend));
	p->npending = 0;
	p->fault_queued = false;
	pthread_mutex_unlock(&p->lock);
	for (unsigned int i = 0; i < n; i++)
		if (pend[i].fn)
			pend[i].fn(pend[i].opaque, &pend[i].rec);
	if (fault && v->host.fault_pending)
		v->host.fault_pending(v->host_opaque);
}

void viommu_dma_end(struct viommu_port *p)
{
	if (p->npending || p->fault_queued)
		end_with_refusals(p);
	else
		pthread_mutex_unlock(&p->lock);
}

/* A refusal inside a window: its callback and the fault kick wait for the
 * window's end.  A caller that keeps translating after refusals loses the
 * callbacks beyond VIOMMU_PORT_PENDING (the records are kept). */
static void port_defer_violation(struct viommu_port *p, const struct viommu_violation_record *r,
				 struct vcb_call call)
{
	if (p->npending < VIOMMU_PORT_PENDING)
		p->pending[p->npending++] = (struct pending_violation){
			.rec = *r, .fn = call.fn, .opaque = call.opaque,
		};
	p->fault_queued = true;   /* a refused DMA always queues a fault event */
}

/* --------------------------------------------------------------- draining */

static void drain_add(struct drain *dr, struct viommu_port *p)
{
	if (dr->all)
		return;
	if (dr->n == DRAIN_MAX_PORTS)
		dr->all = true;   /* too many to list: drain every port */
	else
		dr->port[dr->n++] = p;
}

void drain_endpoint(struct drain *dr, struct viommu_endpoint *ep)
{
	dr->whole = true;
	for (struct viommu_port *p = atomic_load_explicit(&ep->ports, memory_order_acquire); p;
	     p = p->ep_next)
		drain_add(dr, p);
}

void drain_domain(struct drain *dr, struct viommu_domain *d)
{
	for (struct viommu_endpoint *ep = d->eps; ep; ep = ep->dom_next)
		for (struct viommu_port *p = atomic_load_explicit(&ep->ports, memory_order_acquire);
		     p; p = p->ep_next)
			drain_add(dr, p);
}

static void port_drain(struct viommu_port *p, const struct drain *dr)
{
	bool waited = false;

	/* No window in flight (the usual case): the lock is free. */
	if (pthread_mutex_trylock(&p->lock)) {
		uint64_t t0 = viommu_now_ns();

		atomic_fetch_add_explicit(&p->drains_waiting, 1, memory_order_acq_rel);
		pthread_mutex_lock(&p->lock);   /* the window in flight has ended */
		waited = true;
		STAT_ADD(p->drain_waits, 1);
		STAT_ADD(p->drain_wait_ns, viommu_now_ns() - t0);
	}
	if (dr->whole)
		tlb_flush(p);
	else
		tlb_invalidate(p, dr->start, dr->end);
	if (waited)
		atomic_fetch_sub_explicit(&p->drains_waiting, 1, memory_order_acq_rel);
	if (p->begins_waiting)
		pthread_cond_broadcast(&p->drained);
	pthread_mutex_unlock(&p->lock);
}

/* Without v->lock (a translator may hold its port and wait for v->lock). */
void drain_run(struct viommu *v, const struct drain *dr)
{
	if (dr->all) {
		for (struct viommu_port *p = atomic_load_explicit(&v->ports, memory_order_acquire);
		     p; p = p->dev_next)
			port_drain(p, dr);
		return;
	}
	for (unsigned int i = 0; i < dr->n; i++)
		port_drain(dr->port[i], dr);
}

/* ------------------------------------------------------------ translation */

static bool permitted(uint32_t flags, unsigned int access)
{
	if ((access & VIOMMU_READ) && !(flags & VIRTIO_IOMMU_MAP_F_READ))
		return false;
	if ((access & VIOMMU_WRITE) && !(flags & VIRTIO_IOMMU_MAP_F_WRITE))
		return false;
	return true;
}

/* Append [gpa, gpa + plen) to x, merged with the previous piece when
 * physically contiguous.  false: x is full (nothing added). */
static inline bool add_piece(struct viommu_xlate *x, uint64_t gpa, uint64_t plen)
{
	if (x->pieces) {
		struct viommu_piece *prev = x->n ? &x->pieces[x->n - 1] : NULL;

		if (prev && prev->gpa + prev->len == gpa)
			prev->len += plen;
		else if (x->n < x->max)
			x->pieces[x->n++] = (struct viommu_piece){ .gpa = gpa, .len = plen };
		else
			return false;
	}
	x->len += plen;
	return true;
}

/* A DMA being translated: [iova, iova + len), last its last byte below
 * 2^64 (wraps: the rest lies past 2^64 - 1 and exists nowhere). */
struct dma_walk {
	uint64_t iova, len, last;
	unsigned int acc;
	bool wraps;
};

/*
 * From cur on, under v->lock: the domain's tree, one lower-bound descent
 * then in-order steps; fills the IOTLB on the way; classifies refusals.
 */
static __attribute__((noinline)) enum viommu_violation
translate_locked(struct viommu_port *p, const struct dma_walk *w, uint64_t cur,
		 struct viommu_xlate *x)
{
	struct viommu *v = p->v;
	struct viommu_endpoint *ep = p->ep;
	const struct viommu_mapping *m = NULL;
	struct viommu_violation_record rec;
	enum viommu_violation reason;
	uint64_t fault_addr = cur;
	struct viommu_domain *d;
	struct vcb_call call;

	pthread_rwlock_rdlock(&v->lock);
	d = ep->domain;
	/* Only READ, WRITE or both are accesses; anything else is a caller
	 * bug, refused as a permission fault rather than guessed at. */
	if (!w->acc || (w->acc & ~(unsigned int)(VIOMMU_READ | VIOMMU_WRITE))) {
		reason = VIOMMU_V_PERMISSION;
		fault_addr = w->iova;
		goto refuse;
	}
	if (!d || d->bypass) {
		uint64_t plen = w->last - cur + 1;

		if (!d && !v->bypass) {
			/* "The device SHOULD NOT let unattached endpoints that
			 * are not in bypass mode access the guest-physical
			 * address space." */
			reason = VIOMMU_V_NO_DOMAIN;
			goto refuse;
		}
		/* Bypass: "translated by the IOMMU using the identity
		 * function" -- but the device models can only reach RAM. */
		if (w->wraps) {
			reason = VIOMMU_V_NOT_RAM;
			fault_addr = 0;   /* the byte at 2^64 wraps to 0 */
			goto refuse;
		}
		if (!v->host.is_ram(v->host_opaque, cur, plen)) {
			reason = VIOMMU_V_NOT_RAM;
			fault_addr = cur + first_non_ram(v, cur, plen);
			goto refuse;
		}
		add_piece(x, cur, plen);
		goto done;
	}

	m = mapping_tree_lower_bound(&d->maps, cur);
	if (!m || m->start > cur) {
		if (cur == w->iova) {
			reason = VIOMMU_V_UNMAPPED;
			m = NULL;
		} else {
			/* The mapping it ran out of (gone, if it was unmapped
			 * while this window used it from the IOTLB). */
			reason = VIOMMU_V_PAST_END;
			m = mapping_tree_find(&d->maps, cur - 1);
		}
		goto refuse;
	}
	for (;;) {
		uint64_t piece_end = m->end < w->last ? m->end : w->last;
		uint64_t plen = piece_end - cur + 1;
		uint64_t gpa = m->phys + (cur - m->start);
		const struct viommu_mapping *next;
		bool ram;

		if (!permitted(m->flags, w->acc)) {
			reason = VIOMMU_V_PERMISSION;
			fault_addr = cur;
			goto refuse;
		}
		ram = v->host.is_ram(v->host_opaque, m->phys, range_len(m->start, m->end));
		if (!ram && !v->host.is_ram(v->host_opaque, gpa, plen)) {
			reason = VIOMMU_V_NOT_RAM;
			fault_addr = cur + first_non_ram(v, gpa, plen);
			goto refuse;
		}
		tlb_insert(p, m, ram);
		if (!add_piece(x, gpa, plen))
			goto done;   /* x is full: the caller goes on from iova + x->len */
		if (piece_end == w->last) {
			if (!w->wraps)
				goto done;
			reason = VIOMMU_V_PAST_END;
			fault_addr = 0;   /* the byte at 2^64 wraps to 0 */
			goto refuse;
		}
		cur = piece_end + 1;
		next = mapping_tree_next((struct viommu_mapping *)m);
		if (!next || next->start != cur) {
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
	x->n = 0;
	x->len = 0;
	call = violation_refuse_dma(v, ep, d, m, w->iova, w->len, w->acc, reason, fault_addr, &rec);
	pthread_rwlock_unlock(&v->lock);
	port_defer_violation(p, &rec, call);
	return rec.reason;
}

enum viommu_violation viommu_translate(struct viommu_port *p, uint64_t iova, uint64_t len,
				       enum viommu_access access, struct viommu_xlate *x)
{
	struct dma_walk w = { .iova = iova, .len = len, .acc = access };
	uint64_t cur = iova;

	x->n = 0;
	x->len = 0;
	/* One writer (this port's thread, under its lock): a plain add. */
	atomic_store_explicit(&p->translations,
			      atomic_load_explicit(&p->translations, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	/* A zero-length DMA touches nothing. */
	if (!len)
		return VIOMMU_OK;
	/* Bytes past 2^64 - 1 exist nowhere: last is clamped and the rest is
	 * refused (PAST_END / NOT_RAM) by the locked walk. */
	w.wraps = len - 1 > UINT64_MAX - iova;
	w.last = w.wraps ? UINT64_MAX : iova + (len - 1);
	if (w.wraps || !w.acc || (w.acc & ~(unsigned int)(VIOMMU_READ | VIOMMU_WRITE)))
		return translate_locked(p, &w, cur, x);

	/* The IOTLB: mappings this port used recently, whole, as values. */
	for (;;) {
		const struct tlb_entry *e = tlb_lookup(p, cur);
		uint64_t piece_end;

		/* A miss, or anything to refuse or to check piece by piece
		 * (permission, a mapping not entirely in RAM): the tree. */
		if (!e || !e->ram || !permitted(e->flags, w.acc))
			return translate_locked(p, &w, cur, x);
		piece_end = e->end < w.last ? e->end : w.last;
		if (!add_piece(x, e->phys + (cur - e->start), piece_end - cur + 1))
			return VIOMMU_OK;
		if (piece_end == w.last)
			return VIOMMU_OK;
		cur = piece_end + 1;
	}
}
