/* SPDX-License-Identifier: MIT */
#ifndef VIOMMU_VIOMMU_H
#define VIOMMU_VIOMMU_H

/*
 * The virtio-iommu device (virtio spec, "IOMMU Device", device ID 23) as a
 * library with no KVM dependency.  The transport (vmm/virtio-pci.c) hands it
 * the bytes of each request-queue request and copies back the response; the
 * device models behind the IOMMU call viommu_translate() for every DMA.
 *
 * Thread safety: every function may be called from any thread; requests
 * and translations are serialised internally (translations take a read
 * lock, requests a write lock).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_iommu.h>

struct viommu;

/* Memory the guest may legitimately map without VIRTIO_IOMMU_MAP_F_MMIO. */
struct viommu_mem_ops {
	/* true if [gpa, gpa + len) is entirely guest RAM */
	bool (*is_ram)(void *opaque, uint64_t gpa, uint64_t len);
};

struct viommu_resv_region {
	uint64_t start, end;      /* inclusive, as in the spec */
	uint8_t subtype;          /* VIRTIO_IOMMU_RESV_MEM_T_RESERVED / _MSI */
};

#define VIOMMU_MAX_RESV 8

struct viommu_config {
	uint64_t page_size_mask;   /* default 0x1000 | 0x200000 | 0x40000000 */
	uint64_t input_start, input_end;      /* INPUT_RANGE */
	uint32_t domain_start, domain_end;    /* DOMAIN_RANGE */
	uint32_t probe_size;                  /* PROBE buffer size */
	uint8_t bypass;                       /* BYPASS_CONFIG initial value: 0 */
	unsigned int max_domains;             /* NOMEM beyond */
	unsigned int max_mappings;            /* per domain, NOMEM beyond */
	struct viommu_resv_region resv[VIOMMU_MAX_RESV];  /* PROBE RESV_MEM */
	unsigned int nr_resv;
	/* Added: device-wide cap on mappings over all domains (NOMEM beyond),
	 * so that a guest cannot make the host allocate max_domains *
	 * max_mappings nodes.  0 = no device-wide cap. */
	unsigned int max_total_mappings;
	/* Added (violation classifier, docs/viommu.md "Classification"):
	 * unmapped ranges remembered per domain for AFTER_UNMAP (a ring, the
	 * newest kept; default 4096, 0 = no history, so no AFTER_UNMAP);
	 * MAPs remembered per domain for BYPASS (a ring, the newest kept;
	 * default 4096, 0 = no BYPASS classification); the device-wide total
	 * of entries of both rings over all domains (default 2^18, at most
	 * 12 MiB; 0 = no device-wide cap). */
	unsigned int unmap_history;
	unsigned int max_total_history;
	unsigned int bypass_scan;
};

/* Defaults for x86: 4 KiB|2 MiB|1 GiB pages, 64-bit input range, 32-bit
 * domain range, bypass 0, MSI window 0xfee00000-0xfeefffff. */
void viommu_default_config(struct viommu_config *cfg);

struct viommu *viommu_create(const struct viommu_config *cfg,
			     const struct viommu_mem_ops *mem, void *mem_opaque);
void viommu_destroy(struct viommu *v);

/* Endpoints the topology (VIOT) puts behind this IOMMU: the endpoint ID is
 * the PCI requester ID (BDF).  Unknown endpoints get S_NOENT. */
int viommu_add_endpoint(struct viommu *v, uint32_t endpoint_id, const char *name);

/* Device features offered (VIRTIO_IOMMU_F_* bits; VERSION_1 etc. are the
 * transport's) and the config space, little-endian as the guest sees it. */
uint64_t viommu_device_features(const struct viommu *v);
void viommu_read_config(const struct viommu *v, struct virtio_iommu_config *cfg);
/* A guest write to the config space (only `bypass` is writable). */
void viommu_write_config(struct viommu *v, unsigned int offset, const void *data, size_t len);
/* Device reset: every domain, mapping and attachment is gone; bypass back
 * to its initial value; fault queue emptied; statistics kept. */
void viommu_reset(struct viommu *v);

/*
 * Handle one request.  `req` holds the device-readable part of the chain
 * (head + body), `resp` is the device-writable part (for PROBE: properties
 * + tail; otherwise just the tail).  Returns the number of bytes written
 * into resp (what goes into the used ring's len), 0 if resp is too small to
 * hold even a tail (the transport then reports a device error).  Never
 * aborts on malformed input: it answers with the spec's status.
 */
size_t viommu_handle_request(struct viommu *v, const void *req, size_t req_len,
			     void *resp, size_t resp_len);

/* DMA translation. */
enum viommu_access {
	VIOMMU_READ = 1,   /* the device reads guest memory (DMA_TO_DEVICE) */
	VIOMMU_WRITE = 2,  /* the device writes guest memory (DMA_FROM_DEVICE) */
};

/*
 * Violation classes (docs/viommu.md, "Classification").  The names of
 * viommu_violation_name() are in the comments.
 */
enum viommu_violation {
	VIOMMU_OK = 0,
	VIOMMU_V_NO_DOMAIN,      /* "no-domain": endpoint not attached and bypass is 0 */
	VIOMMU_V_UNMAPPED,       /* "unmapped": no mapping covers the IOVA (and none of the below) */
	VIOMMU_V_PERMISSION,     /* "permission": mapping lacks READ or WRITE for this access */
	VIOMMU_V_PAST_END,       /* "past-end": starts in a mapping, runs past its end into nothing */
	VIOMMU_V_NOT_RAM,        /* "not-ram": translates outside guest RAM, or a MAP of
				  * non-RAM without VIRTIO_IOMMU_MAP_F_MMIO */
	VIOMMU_V_UNKNOWN_ENDPOINT, /* "unknown-endpoint": not registered (a VMM bug) */
	/* Added: */
	VIOMMU_V_AFTER_UNMAP,    /* "after-unmap": IOVA was mapped in the domain, then UNMAPped */
	VIOMMU_V_BYPASS,         /* "bypass": the IOVA is the guest-physical address of a
				  * mapped buffer (the device got the GPA, not the DMA address) */
	VIOMMU_V_ADDRESS_WIDTH,  /* "address-width": the device model could not drive an
				  * address that wide (viommu_report_violation) */
	VIOMMU_V_LEAK,           /* "leak": a mapping still live after the device was reset
				  * or stopped (viommu_check_leaks) */
};
#define VIOMMU_V_LAST VIOMMU_V_LEAK

const char *viommu_violation_name(enum viommu_violation v);

struct viommu_xlate {
	uint64_t gpa;       /* guest-physical address of the first byte */
	uint64_t len;       /* bytes contiguous in guest-physical space from gpa (<= requested) */
};

/*
 * Translate a DMA of `len` bytes at `iova` by `endpoint` with `access`.
 * The DMA is allowed only if every byte is covered by mappings with that
 * permission and lands in guest RAM.  On success returns VIOMMU_OK and the
 * first physically contiguous piece in *out (call again for the rest).
 * Otherwise the DMA is refused: a fault event is queued for the guest, a
 * violation is classified and recorded with its context (see struct
 * viommu_violation_record), the violation callback is called, and the
 * class is returned (NO_DOMAIN, UNMAPPED, AFTER_UNMAP, BYPASS, PERMISSION,
 * PAST_END, NOT_RAM or UNKNOWN_ENDPOINT).  O(log n) in the number of
 * mappings, with a per-endpoint translation cache invalidated on UNMAP,
 * DETACH and reset; a refusal costs more (docs/viommu.md, "Costs").
 * A zero-length DMA touches nothing: VIOMMU_OK with out->len = 0.  `access`
 * may be VIOMMU_READ | VIOMMU_WRITE (both needed); 0 or unknown bits are
 * refused as VIOMMU_V_PERMISSION.  On refusal *out is zeroed.
 */
enum viommu_violation viommu_translate(struct viommu *v, uint32_t endpoint, uint64_t iova,
				       uint64_t len, enum viommu_access access,
				       struct viommu_xlate *out);

/* Fault events for the event queue, oldest first (bounded queue; on
 * overflow the oldest are dropped and counted). */
#define VIOMMU_MAX_FAULTS 128
bool viommu_pop_fault(struct viommu *v, struct virtio_iommu_fault *out);
bool viommu_has_fault(struct viommu *v);
/* Added: fault events dropped because the queue was full (never reset). */
uint64_t viommu_faults_dropped(struct viommu *v);

/* Report. */
struct viommu_endpoint_stats {
	uint32_t endpoint_id;
	const char *name;
	uint64_t attaches, detaches, maps, unmaps, map_bytes, unmap_bytes;
	uint64_t translations, faults;
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

	/* Added: context (docs/viommu.md, "Context"). */
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
 * Added: violation callback.  fn is called once for every violation (also
 * those beyond VIOMMU_MAX_RECORDS), from the thread that caused it (a
 * device thread for DMA, the request's thread for MAP, the caller of
 * viommu_report_violation / viommu_check_leaks), after every lock of the
 * device is released: it may call any viommu function.  r is valid only
 * during the call.  Calls from different threads may run concurrently and
 * out of seq order.  NULL fn: no callback.  A call already under way in
 * another thread may still run after this returns.
 */
void viommu_set_violation_cb(struct viommu *v,
			     void (*fn)(void *opaque, const struct viommu_violation_record *r),
			     void *opaque);

/*
 * Added: one line for humans, no newline, e.g.
 *   00:03.0 dmatest0: device write 4096 B at IOVA 0xffffe000: after-unmap
 *   (IOVA 0xffffe000-0xffffefff unmapped 2 unmaps / 1.3 ms ago; below:
 *   0xffffc000-0xffffdfff -> 0x1234000 rw; above: none)
 * and one JSON object, no newline (fields: docs/viommu.md, "Reports").
 * snprintf semantics: at most len bytes including the NUL are written (buf
 * may be NULL when len is 0); returns the length of the whole output.
 * Worst cases (every field valid, 64-bit addresses): the line is at most
 * 539 + strlen(name) bytes, the JSON 1654 + 12 * strlen(name) (the name
 * appears twice, each byte escaped to at most 6).
 */
size_t viommu_format_violation(const struct viommu_violation_record *r, char *buf, size_t len);
size_t viommu_violation_json(const struct viommu_violation_record *r, char *buf, size_t len);

/*
 * Added: a violation the device model detected itself (e.g. ADDRESS_WIDTH:
 * it refused to drive an address wider than its addressing width).
 * Recorded with the same context as a refused DMA (mapping state around
 * iova) and passed to the callback; no fault event is queued (the IOMMU
 * never saw the access) and the endpoint's statistics do not change.
 * reason VIOMMU_OK or unknown is ignored.
 */
void viommu_report_violation(struct viommu *v, uint32_t endpoint, uint64_t iova, uint64_t len,
			     enum viommu_access access, enum viommu_violation reason);

/*
 * Added: leak check.  viommu_map_seq() is the number of successful MAPs
 * so far over the device's life (reset does not clear it); each mapping
 * remembers the value when it was created (the first MAP gets 0).
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
 * Added: the live mappings of the endpoint's domain, in IOVA order, for
 * diagnostics: fn (may be NULL) is called without locks held on a
 * snapshot.  Returns their number (0 if not attached).
 */
unsigned int viommu_endpoint_live_mappings(struct viommu *v, uint32_t endpoint,
					   void (*fn)(void *opaque, uint64_t virt_start,
						      uint64_t virt_end, uint64_t phys,
						      uint32_t flags),
					   void *opaque);

#endif
