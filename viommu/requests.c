/* SPDX-License-Identifier: MIT */
/*
 * The request queue's requests: ATTACH, DETACH, MAP, UNMAP and PROBE,
 * decoded and validated exactly as the spec's device requirements say
 * (quoted in comments), applied under the device's write lock.  A request
 * that removes translations collects the ports to drain and drains them
 * after the lock is released, before it answers.
 */
#include "viommu/internal.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static uint8_t do_attach(struct viommu *v, const struct virtio_iommu_req_attach *req,
			 struct drain *dr)
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
	ep = viommu_find_endpoint(v, endpoint);
	if (!ep)
		return VIRTIO_IOMMU_S_NOENT;
	/* The driver "MUST NOT send requests with domain less than
	 * domain_range.start or greater than domain_range.end". */
	if (domain < v->cfg.domain_start || domain > v->cfg.domain_end)
		return VIRTIO_IOMMU_S_RANGE;

	d = domain_find(v, domain);
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
	/* The endpoint's translations change (old domain's mappings, or
	 * identity in global bypass, to the new domain's). */
	domain_attach(v, d, ep);
	drain_endpoint(dr, ep);
	return VIRTIO_IOMMU_S_OK;
}

static uint8_t do_detach(struct viommu *v, const struct virtio_iommu_req_detach *req,
			 struct drain *dr)
{
	uint32_t domain = le32toh(req->domain), endpoint = le32toh(req->endpoint);
	struct viommu_endpoint *ep;

	/* "The device MUST ignore reserved." */
	ep = viommu_find_endpoint(v, endpoint);
	if (!ep)
		return VIRTIO_IOMMU_S_NOENT;   /* "MUST reject ... NOENT" */
	/* "If the domain identified by domain doesn't exist, or if the
	 * endpoint identified by endpoint isn't attached to this domain,
	 * then the device MAY set the request status to INVAL." */
	if (!ep->domain || ep->domain->id != domain)
		return VIRTIO_IOMMU_S_INVAL;
	/* "the endpoint cannot access any mapping from that domain anymore" */
	domain_detach(v, ep);
	drain_endpoint(dr, ep);
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
	r->time_ns = viommu_now_ns();
	r->fault_iova = start + (span == UINT64_MAX ? 0 : first_non_ram(v, phys, span + 1));
	r->has_domain = true;
	r->domain = d->id;
	r->shared_domain = d->nr_eps > 1;
	r->phys_valid = true;
	r->phys_start = phys;
	r->phys_end = phys + span;
	out->call = violation_record(v, r, NULL);
	out->set = true;
}

static uint8_t do_map(struct viommu *v, const struct virtio_iommu_req_map *req,
		      struct map_refusal *refusal)
{
	uint32_t domain = le32toh(req->domain), flags = le32toh(req->flags);
	uint64_t start = le64toh(req->virt_start), end = le64toh(req->virt_end);
	uint64_t phys = le64toh(req->phys_start), span, mask = v->granule - 1;
	struct viommu_domain *d;

	/* "If the device doesn't recognize a flags bit, it MUST reject the
	 * request and set status to VIRTIO_IOMMU_S_INVAL." */
	if (flags & ~(uint32_t)VIRTIO_IOMMU_MAP_F_MASK)
		return VIRTIO_IOMMU_S_INVAL;
	d = domain_find(v, domain);
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
	    (span == UINT64_MAX || !v->host.is_ram(v->host_opaque, phys, span + 1))) {
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
		return mapping_tree_find_overlap(&d->maps, start, end) ? VIRTIO_IOMMU_S_INVAL
								: VIRTIO_IOMMU_S_NOMEM;

	/* One descent detects an overlap and inserts. */
	switch (domain_map(v, d, start, end, phys, flags)) {
	case 0:
		/* A new mapping makes no cached translation wrong: no drain. */
		return VIRTIO_IOMMU_S_OK;
	case -EEXIST:
		return VIRTIO_IOMMU_S_INVAL;
	default:
		return VIRTIO_IOMMU_S_NOMEM;
	}
}

/* now: when the request arrived (for the unmap history). */
static uint8_t do_unmap(struct viommu *v, const struct virtio_iommu_req_unmap *req, uint64_t now,
			struct drain *dr)
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
	d = domain_find(v, domain);
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
	m = mapping_tree_find(&d->maps, start);
	if (m && m->start < start)
		return VIRTIO_IOMMU_S_RANGE;
	if (m && m->end == end) {
		/* The usual case (Linux unmaps what it mapped): exactly one
		 * mapping, nothing else can be in the range. */
		bytes = range_len(start, end);
		d->unmaps++;   /* counts UNMAP requests that removed something */
		domain_unmap_one(v, d, m, now);
		goto done;
	}
	m = mapping_tree_find(&d->maps, end);
	if (m && m->end > end)
		return VIRTIO_IOMMU_S_RANGE;

	/* "If part of the range or the full range is not covered by an
	 * existing mapping, then the device SHOULD remove all mappings
	 * affected by the range and set the request status to OK." */
	m = mapping_tree_find_overlap(&d->maps, start, end);
	while (m && m->start <= end) {
		struct viommu_mapping *next = mapping_tree_next(m);

		if (!any)
			d->unmaps++;
		any = true;
		bytes += range_len(m->start, m->end);
		domain_unmap_one(v, d, m, now);
		m = next;
	}
	if (!any)
		goto stats;
done:
	/* Ports of the domain's endpoints may hold [start, end] in their
	 * IOTLBs or be copying through it right now. */
	dr->start = start;
	dr->end = end;
	drain_domain(dr, d);
stats:
	for (ep = d->eps; ep; ep = ep->dom_next) {
		ep->unmaps++;
		ep->unmap_bytes += bytes;
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
	if (tail.status == VIRTIO_IOMMU_S_OK && !viommu_find_endpoint(v, le32toh(req->endpoint)))
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
	struct drain dr;
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
	dr.all = dr.whole = false;   /* not the whole struct: its port array is big */
	dr.n = 0;
	/* The unmap history's timestamp, taken outside the lock. */
	if (r.head.type == VIRTIO_IOMMU_T_UNMAP && v->cfg.unmap_history)
		now = viommu_now_ns();
	pthread_rwlock_wrlock(&v->lock);
	switch (r.head.type) {
	case VIRTIO_IOMMU_T_ATTACH:
		tail.status = do_attach(v, &r.attach, &dr);
		break;
	case VIRTIO_IOMMU_T_DETACH:
		tail.status = do_detach(v, &r.detach, &dr);
		break;
	case VIRTIO_IOMMU_T_MAP:
		tail.status = do_map(v, &r.map, &refusal);
		break;
	case VIRTIO_IOMMU_T_UNMAP:
		tail.status = do_unmap(v, &r.unmap, now, &dr);
		break;
	case VIRTIO_IOMMU_T_PROBE:
		written = do_probe(v, &r.probe, resp, resp_len);
		pthread_rwlock_unlock(&v->lock);
		return written;
	}
	pthread_rwlock_unlock(&v->lock);
	/* The answer waits until no DMA through what was removed is in
	 * flight (viommu.h, viommu_handle_request). */
	if (dr.n || dr.all)
		drain_run(v, &dr);
	if (refusal.set && refusal.call.fn)
		refusal.call.fn(refusal.call.opaque, &refusal.rec);
	/* The tail is the whole device-writable part; extra room is left
	 * alone.  "SHOULD set field reserved of ... tail to zero". */
	memcpy(resp, &tail, tail_len);
	return tail_len;
}
