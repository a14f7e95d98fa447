/* SPDX-License-Identifier: MIT */
#ifndef VIOMMU_REPORT_H
#define VIOMMU_REPORT_H

/*
 * What the virtio-iommu saw: per-endpoint statistics, and every DMA-API
 * violation with the mapping state around it (docs/viommu.md,
 * "Classification", "Context", "Reports"), as records, a callback, a human
 * line and JSON.  Device models also report here what only they can see
 * (an address too wide for them, mappings leaked at reset).
 */
#include "viommu/viommu.h"

struct viommu_endpoint_stats {
	uint32_t endpoint_id;
	const char *name;
	uint64_t attaches, detaches, maps, unmaps, map_bytes, unmap_bytes;
	uint64_t translations, faults;
	/* Requests that removed translations (UNMAP, DETACH, ...) and found
	 * one of this endpoint's DMA windows in flight: how many times they
	 * waited for it, and for how long in all. */
	uint64_t drain_waits, drain_wait_ns;
};

/* A mapping as it was when a violation was recorded. */
struct viommu_map_info {
	bool valid;
	uint64_t virt_start, virt_end;   /* IOVA, inclusive */
	uint64_t phys_start;
	uint32_t flags;                  /* VIRTIO_IOMMU_MAP_F_* */
	uint64_t map_seq;                /* viommu_map_seq() when it was created */
};

/* An unmapped range from the domain's unmap history. */
struct viommu_unmap_info {
	bool valid;
	uint64_t virt_start, virt_end;   /* the mapping that was removed */
	uint64_t phys_start;
	uint32_t flags;
	uint64_t unmaps_ago;   /* 1: removed by the domain's latest UNMAP request that
				* removed anything; 2: by the one before; ... */
	uint64_t ns_ago;       /* CLOCK_MONOTONIC ns between that UNMAP and the violation */
};

/* Where a violation was detected. */
enum viommu_origin {
	VIOMMU_ORIGIN_DMA,      /* viommu_translate refused a DMA */
	VIOMMU_ORIGIN_MAP,      /* a MAP request was refused (NOT_RAM) */
	VIOMMU_ORIGIN_DEVICE,   /* a device model reported it (viommu_report_violation) */
	VIOMMU_ORIGIN_LEAK,     /* viommu_check_leaks */
};

struct viommu_violation_record {
	uint32_t endpoint_id;
	const char *name;          /* valid until viommu_destroy */
	uint64_t iova, len;        /* the DMA; MAP: its virt range; LEAK: the mapping */
	enum viommu_access access; /* MAP, LEAK: the mapping's READ/WRITE flags */
	enum viommu_violation reason;
	const char *rule;          /* DESCRIPTOR: the rule broken (a string that lives
				    * as long as the program); else NULL */

	/* Context (docs/viommu.md, "Context"). */
	uint64_t seq;              /* 1 for the device's first violation, then +1 (all of
				    * them, also those beyond VIOMMU_MAX_RECORDS) */
	uint64_t time_ns;          /* CLOCK_MONOTONIC when detected */
	enum viommu_origin origin;
	uint64_t fault_iova;       /* the first offending byte (the fault event's address);
				    * MAP: IOVA of the first non-RAM byte */
	bool has_domain;           /* the endpoint was attached to `domain` */
	bool identity;             /* ... or in bypass (identity translation: global
				    * bypass=1 or an ATTACH_F_BYPASS domain) */
	bool shared_domain;        /* other endpoints are attached to the same domain */
	uint32_t domain;
	/* Mapping state at that moment (valid only where looked up:
	 * map_context; never for NO_DOMAIN, UNKNOWN_ENDPOINT, identity, MAP). */
	bool map_context;
	/* PERMISSION, NOT_RAM: the mapping holding fault_iova; PAST_END: the
	 * one the DMA ran out of; LEAK: the leaked one; device reports: the
	 * one holding iova, if any. */
	struct viommu_map_info mapping;
	/* The nearest mappings entirely below and above `mapping` (when
	 * valid), else below and above fault_iova. */
	struct viommu_map_info below, above;
	/* AFTER_UNMAP: the unmapped range holding fault_iova.  PAST_END: set
	 * when the IOVA the DMA ran into was recently unmapped. */
	struct viommu_unmap_info unmapped;
	/* BYPASS: the IOVA at which the GPA fault_iova is mapped. */
	bool bypass_valid;
	uint64_t bypass_iova;
	/* NOT_RAM from MAP: the refused phys range (inclusive). */
	bool phys_valid;
	uint64_t phys_start, phys_end;
};

void viommu_for_each_endpoint(struct viommu *v,
			      void (*fn)(void *opaque, const struct viommu_endpoint_stats *s),
			      void *opaque);
/* Recorded violations (the first VIOMMU_MAX_RECORDS kept; the count of all).
 * fn runs with an internal lock held: it must not call into the device. */
#define VIOMMU_MAX_RECORDS 1024
uint64_t viommu_for_each_violation(struct viommu *v,
				   void (*fn)(void *opaque, const struct viommu_violation_record *r),
				   void *opaque);

/*
 * Violation callback.  fn is called once for every violation (also those
 * beyond VIOMMU_MAX_RECORDS), from the thread that caused it (a device
 * thread for DMA, at the end of its DMA window; the request's thread for
 * MAP; the caller of viommu_report_violation / viommu_check_leaks), after
 * every lock of the device is released: it may call any viommu function.
 * r is valid only during the call.  Calls from different threads may run
 * concurrently and out of seq order.  NULL fn: no callback.  A call already
 * under way in another thread may still run after this returns.
 */
void viommu_set_violation_cb(struct viommu *v,
			     void (*fn)(void *opaque, const struct viommu_violation_record *r),
			     void *opaque);

/*
 * One line for humans, no newline, e.g.
 *   00:03.0 dmatest0: device write 4096 B at IOVA 0xffffe000: after-unmap
 *   (IOVA 0xffffe000-0xffffefff unmapped 2 unmaps / 1.3 ms ago; below:
 *   0xffffc000-0xffffdfff -> 0x1234000 rw; above: none)
 * and one JSON object, no newline (fields: docs/viommu.md, "Reports").
 * snprintf semantics: at most len bytes including the NUL are written (buf
 * may be NULL when len is 0); returns the length of the whole output.
 * Worst cases (every field valid, 64-bit addresses): the line is at most
 * 539 + strlen(name) bytes, the JSON 1654 + 12 * strlen(name) (the name
 * appears twice, each byte escaped to at most 6); a DESCRIPTOR record's
 * rule adds 2 + strlen(rule) to the line and 10 + 12 * (2 + strlen(rule))
 * to the JSON (in "detail" and in "rule").
 */
size_t viommu_format_violation(const struct viommu_violation_record *r, char *buf, size_t len);
size_t viommu_violation_json(const struct viommu_violation_record *r, char *buf, size_t len);

/*
 * A violation the device model detected itself (e.g. ADDRESS_WIDTH: it
 * refused to drive an address wider than its addressing width).  Recorded
 * with the same context as a refused DMA (mapping state around iova) and
 * passed to the callback; no fault event is queued (the IOMMU never saw
 * the access) and the endpoint's statistics do not change.  reason
 * VIOMMU_OK or unknown is ignored.
 */
void viommu_report_violation(struct viommu *v, uint32_t endpoint, uint64_t iova, uint64_t len,
			     enum viommu_access access, enum viommu_violation reason);
/*
 * A DESCRIPTOR violation: the device model found that a descriptor the
 * driver built (at IOVA addr, describing len bytes of data moving in
 * direction access) breaks `rule` of the device's spec, e.g. "PRP list
 * entry with a non-zero page offset".  rule must outlive the viommu (a
 * string literal).  Recorded like viommu_report_violation's.
 */
void viommu_report_descriptor(struct viommu *v, uint32_t endpoint, uint64_t addr, uint64_t len,
			      enum viommu_access access, const char *rule);

/*
 * Leak check.  viommu_map_seq() is the number of successful MAPs so far
 * over the device's life (reset does not clear it); each mapping remembers
 * the value when it was created (the first MAP gets 0).
 * viommu_check_leaks() reports as LEAK every live mapping of the domain
 * `endpoint` is attached to that was created before created_before_seq
 * (seq < created_before_seq), oldest first: the first max_records of them
 * are recorded and passed to the callback; the rest are only counted.
 * Returns the number of leaked mappings (0 if not attached or bypass).
 * With a shared domain the mappings may be other endpoints' (the records
 * say shared_domain).  O(n log n) in the domain's mappings (a walk, then
 * the leaks sorted by age); the records are built in a temporary array of
 * up to max_records entries (no records, only the count, if it cannot be
 * allocated), so keep max_records modest.
 */
uint64_t viommu_map_seq(struct viommu *v);
unsigned int viommu_check_leaks(struct viommu *v, uint32_t endpoint, uint64_t created_before_seq,
				unsigned int max_records);

/*
 * The live mappings of the endpoint's domain, in IOVA order, for
 * diagnostics: fn (may be NULL) is called without locks held on a
 * snapshot.  Returns their number (0 if not attached).
 */
unsigned int viommu_endpoint_live_mappings(struct viommu *v, uint32_t endpoint,
					   void (*fn)(void *opaque, uint64_t virt_start,
						      uint64_t virt_end, uint64_t phys,
						      uint32_t flags),
					   void *opaque);

#endif
