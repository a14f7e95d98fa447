/* SPDX-License-Identifier: MIT */
#ifndef VIOMMU_INTERNAL_H
#define VIOMMU_INTERNAL_H

/*
 * Inside the virtio-iommu library: the state its files share.  Not for
 * users of the library (they have viommu.h and report.h).
 *
 *   device.c      the device: create/destroy, config, reset, endpoints
 *   requests.c    the request queue: ATTACH, DETACH, MAP, UNMAP, PROBE
 *   domain.c      domains, their mappings, unmap history and recent MAPs
 *   translate.c   ports: IOTLBs, in-flight windows, translation, draining
 *   violations.c  classification, records, fault queue, device reports
 *   format.c      records as text and JSON
 *   mapping.c     the interval tree of one domain
 *
 * Locks, outermost first (a thread holding one may take the later ones):
 *   port->lock      a port's in-flight window and IOTLB (translate.c)
 *   v->lock         rwlock: domains, mappings, attachments, endpoints,
 *                   bypass.  Requests, config writes and reset write;
 *                   translations that miss their IOTLB, and reports, read.
 *   v->fault_lock   fault queue, violation records, the callback
 * A change that removes translations is made under v->lock (write),
 * which also collects the ports to drain; after releasing it, each of
 * those ports is locked once (so its window in flight has ended), its
 * IOTLB invalidated and unlocked: nobody waits for a port while holding
 * v->lock, and a translator may wait for v->lock while holding its port.
 */
#include "viommu/mapping.h"
#include "viommu/report.h"
#include "viommu/viommu.h"

#include <pthread.h>
#include <stdatomic.h>

#define STAT_ADD(field, n) atomic_fetch_add_explicit(&(field), (uint64_t)(n), memory_order_relaxed)
#define STAT_GET(field) atomic_load_explicit(&(field), memory_order_relaxed)

struct viommu_endpoint;
struct viommu_port;

/* ----------------------------------------------------------------- domains */

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
	RB_ENTRY(viommu_domain) node;     /* v->domains, by id */

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

RB_HEAD(domain_rb, viommu_domain);

/* --------------------------------------------------------------- endpoints */

struct viommu_endpoint {
	uint32_t id;
	char *name;
	struct viommu_domain *domain;     /* NULL: not attached (v->lock) */
	struct viommu_endpoint *dom_next;
	/* Ports opened on this endpoint: append-only, never freed before
	 * viommu_destroy, so drainers walk it without v->lock. */
	_Atomic(struct viommu_port *) ports;

	/* Request statistics: written under v->lock (write), read under it. */
	uint64_t attaches, detaches, maps, unmaps, map_bytes, unmap_bytes;
	_Atomic uint64_t faults;          /* under fault_lock, read without it */
};

/* ------------------------------------------------------------------- ports */

#define VIOMMU_TLB_ENTRIES 8
#define VIOMMU_PORT_PENDING 4

/* A cached mapping: values, never a pointer into the tree. */
struct tlb_entry {
	uint64_t start, end;              /* start > end: empty */
	uint64_t phys;
	uint32_t flags;
	bool ram;                         /* the whole phys range is guest RAM */
};

/* A refusal made inside a window, delivered at its end. */
struct pending_violation {
	struct viommu_violation_record rec;
	void (*fn)(void *opaque, const struct viommu_violation_record *r);
	void *opaque;
};

struct viommu_port {
	struct viommu *v;
	struct viommu_endpoint *ep;
	struct viommu_port *ep_next;      /* ep->ports (append-only) */
	struct viommu_port *dev_next;     /* v->ports (append-only) */

	pthread_mutex_t lock;             /* held for a window; by a drain */
	pthread_cond_t drained;           /* a waiting drain has had its turn */
	atomic_uint drains_waiting;       /* drains blocked on the lock */
	unsigned int begins_waiting;      /* windows waiting for them (under lock) */

	bool in_use;                      /* opened and not closed (v->lock) */

	/* Under lock. */
	struct tlb_entry tlb[VIOMMU_TLB_ENTRIES];
	unsigned int tlb_next;            /* round-robin replacement */
	unsigned int tlb_hit;             /* the entry that answered last: tried first */
	struct pending_violation pending[VIOMMU_PORT_PENDING];
	unsigned int npending;
	bool fault_queued;
	/* Written only under lock (a plain increment), read by reports. */
	_Atomic uint64_t translations;
	/* Drains that found a window in flight and waited for it, and the
	 * time they waited (what removing translations cost this port's
	 * device; STAT_ADD by the draining thread). */
	_Atomic uint64_t drain_waits, drain_wait_ns;
};

/* The ports a change must drain once v->lock is released. */
#define DRAIN_MAX_PORTS 32
struct drain {
	bool all;                         /* every port of the device */
	bool whole;                       /* invalidate whole IOTLBs, else [start, end] */
	uint64_t start, end;
	unsigned int n;
	struct viommu_port *port[DRAIN_MAX_PORTS];
};

/* ------------------------------------------------------------------ device */

struct viommu {
	pthread_rwlock_t lock;            /* see the top of this file */
	struct viommu_config cfg;
	struct viommu_host_ops host;
	void *host_opaque;
	uint64_t granule;                 /* lowest bit of page_size_mask */

	uint8_t bypass;                   /* config field */
	struct domain_rb domains;         /* by id */
	unsigned int nr_domains;
	uint64_t nr_mappings;             /* over all domains */

	struct viommu_endpoint **eps;     /* sorted by id */
	size_t nr_eps, cap_eps;
	_Atomic(struct viommu_port *) ports;  /* every port (append-only) */

	/* Fault queue and violation records: written by translations,
	 * which hold at most the read lock, so they have their own mutex. */
	pthread_mutex_t fault_lock;
	struct virtio_iommu_fault faults[VIOMMU_MAX_FAULTS];
	unsigned int fault_head, fault_count;
	uint64_t faults_dropped;
	struct viommu_violation_record records[VIOMMU_MAX_RECORDS];
	uint64_t nr_violations;
	void (*vcb)(void *opaque, const struct viommu_violation_record *r);
	void *vcb_opaque;

	/* Under the write lock: successful MAPs so far; history entries
	 * allocated over all domains; unmapped nodes kept for the next MAPs
	 * (a guest in strict mode maps and unmaps one buffer per DMA). */
	uint64_t map_seq;
	uint64_t hist_total;
	struct viommu_mapping *spare;
	unsigned int nspare;
};

/* A violation callback to call once the locks are released. */
struct vcb_call {
	void (*fn)(void *opaque, const struct viommu_violation_record *r);
	void *opaque;
};

static inline uint64_t range_len(uint64_t start, uint64_t end)
{
	/* bytes in [start, end], saturated: the whole 64-bit space is UINT64_MAX */
	return end - start == UINT64_MAX ? UINT64_MAX : end - start + 1;
}

/* device.c */
uint64_t viommu_now_ns(void);
struct viommu_endpoint *viommu_find_endpoint(const struct viommu *v, uint32_t id);

/* domain.c (v->lock held: write for changes, read for lookups) */
struct viommu_domain *domain_find(const struct viommu *v, uint32_t id);
struct viommu_domain *domain_new(struct viommu *v, uint32_t id, bool bypass);
void domain_attach(struct viommu *v, struct viommu_domain *d, struct viommu_endpoint *ep);
void domain_detach(struct viommu *v, struct viommu_endpoint *ep);
void domain_drop_all(struct viommu *v);
void domain_free_all(struct viommu *v);
void domain_free_spares(struct viommu *v);
int domain_map(struct viommu *v, struct viommu_domain *d, uint64_t start, uint64_t end,
	       uint64_t phys, uint32_t flags);
void domain_unmap_one(struct viommu *v, struct viommu_domain *d, struct viommu_mapping *m,
		      uint64_t now);
bool domain_hist_lookup(const struct viommu_domain *d, uint64_t x, uint64_t now,
			struct viommu_unmap_info *u);
bool domain_bypass_lookup(const struct viommu_domain *d, uint64_t x, uint64_t *iova);

/* translate.c */
void drain_endpoint(struct drain *dr, struct viommu_endpoint *ep);
void drain_domain(struct drain *dr, struct viommu_domain *d);
void drain_run(struct viommu *v, const struct drain *dr);
void viommu_free_ports(struct viommu *v);

/* violations.c */
struct vcb_call violation_refuse_dma(struct viommu *v, struct viommu_endpoint *ep,
				     const struct viommu_domain *d, const struct viommu_mapping *m,
				     uint64_t iova, uint64_t len, unsigned int acc,
				     enum viommu_violation reason, uint64_t fault_addr,
				     struct viommu_violation_record *out);
struct vcb_call violation_record(struct viommu *v, struct viommu_violation_record *r,
				 struct viommu_endpoint *fault_ep);
void violation_context(const struct viommu *v, struct viommu_violation_record *r,
		       const struct viommu_domain *d, const struct viommu_mapping *m, uint64_t x);
uint64_t first_non_ram(const struct viommu *v, uint64_t gpa, uint64_t len);
enum viommu_access map_access(uint32_t flags);
void map_info(struct viommu_map_info *i, const struct viommu_mapping *m);

#endif
