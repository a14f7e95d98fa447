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

enum viommu_violation {
	VIOMMU_OK = 0,
	VIOMMU_V_NO_DOMAIN,      /* endpoint not attached and bypass is 0 */
	VIOMMU_V_UNMAPPED,       /* no mapping covers the IOVA */
	VIOMMU_V_PERMISSION,     /* mapping lacks READ or WRITE for this access */
	VIOMMU_V_PAST_END,       /* starts in a mapping, runs past its end into nothing */
	VIOMMU_V_NOT_RAM,        /* translates outside guest RAM */
	VIOMMU_V_UNKNOWN_ENDPOINT,
};

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
 * violation is recorded (see viommu_for_each_violation), and the reason
 * is returned.  O(log n) in the number of mappings, with a per-endpoint
 * translation cache invalidated on UNMAP, DETACH and reset.
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

struct viommu_violation_record {
	uint32_t endpoint_id;
	const char *name;
	uint64_t iova, len;
	enum viommu_access access;
	enum viommu_violation reason;
};

void viommu_for_each_endpoint(struct viommu *v,
			      void (*fn)(void *opaque, const struct viommu_endpoint_stats *s),
			      void *opaque);
/* Recorded violations (the first VIOMMU_MAX_RECORDS kept; the count of all). */
#define VIOMMU_MAX_RECORDS 1024
uint64_t viommu_for_each_violation(struct viommu *v,
				   void (*fn)(void *opaque, const struct viommu_violation_record *r),
				   void *opaque);

#endif
