/* SPDX-License-Identifier: MIT */
#ifndef VIOMMU_VIOMMU_H
#define VIOMMU_VIOMMU_H

/*
 * The virtio-iommu device (virtio spec, "IOMMU Device", device ID 23) as a
 * library with no KVM dependency: the device (config, reset, endpoints),
 * its request queue's requests, and DMA translation for the device models
 * behind it.  The transport (vmm/virtio_iommu.c) hands it the bytes of
 * each request and copies back the response; device models translate
 * every DMA through a port (below).  What it records about refused DMA is
 * read through viommu/report.h.  docs/viommu.md explains the design.
 *
 * Thread safety: every function may be called from any thread.  Requests,
 * config writes and reset are serialised inside; translations run
 * concurrently with them and with each other (one thread per port).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_iommu.h>

struct viommu;

/* What the library needs from the VMM. */
struct viommu_host_ops {
	/* true if [gpa, gpa + len) is entirely guest RAM */
	bool (*is_ram)(void *opaque, uint64_t gpa, uint64_t len);
	/*
	 * A fault event was queued for the guest (viommu_pop_fault() has
	 * one): the device should post it to its event queue.  Called from
	 * the thread whose DMA was refused, after every lock of the library
	 * is released (at the end of that thread's DMA window); may be NULL.
	 */
	void (*fault_pending)(void *opaque);
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
	/* Device-wide cap on mappings over all domains (NOMEM beyond), so
	 * that a guest cannot make the host allocate max_domains *
	 * max_mappings nodes.  0 = no device-wide cap. */
	unsigned int max_total_mappings;
	/* The violation classifier (docs/viommu.md "Classification"):
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

/* NULL with errno set (EINVAL: bad config or no is_ram; ENOMEM). */
struct viommu *viommu_create(const struct viommu_config *cfg, const struct viommu_host_ops *host,
			     void *host_opaque);
/* After every port is closed and no thread uses the device. */
void viommu_destroy(struct viommu *v);

/* Endpoints the topology (VIOT) puts behind this IOMMU: the endpoint ID is
 * the PCI requester ID (BDF).  Unknown endpoints get S_NOENT. */
int viommu_add_endpoint(struct viommu *v, uint32_t endpoint_id, const char *name);

/* Device features offered (VIRTIO_IOMMU_F_* bits; VERSION_1 etc. are the
 * transport's) and the config space, little-endian as the guest sees it. */
uint64_t viommu_device_features(const struct viommu *v);
void viommu_read_config(const struct viommu *v, struct virtio_iommu_config *cfg);
/* A guest write to the config space (only `bypass` is writable).  A change
 * of bypass returns only when no DMA through the old setting is in flight. */
void viommu_write_config(struct viommu *v, unsigned int offset, const void *data, size_t len);
/* Device reset: every domain, mapping and attachment is gone; bypass back
 * to its initial value; fault queue emptied; statistics kept.  Returns
 * once no DMA through the old state is in flight. */
void viommu_reset(struct viommu *v);

/*
 * Handle one request.  `req` holds the device-readable part of the chain
 * (head + body), `resp` is the device-writable part (for PROBE: properties
 * + tail; otherwise just the tail).  Returns the number of bytes written
 * into resp (what goes into the used ring's len), 0 if resp is too small to
 * hold even a tail (the transport then reports a device error).  Never
 * aborts on malformed input: it answers with the spec's status.
 *
 * A request that removes translations (UNMAP, DETACH, an ATTACH that moves
 * the endpoint) returns only once no DMA through them is in flight: every
 * port of the affected endpoints has ended the window it was in (see
 * viommu_dma_begin).  So when the guest sees S_OK, no device byte moves
 * through the old translation any more -- as the spec wants of DETACH
 * ("the endpoint cannot access any mapping from that domain") and of
 * UNMAP.  The wait is bounded by one window (docs/viommu.md, "In-flight
 * DMA").
 */
size_t viommu_handle_request(struct viommu *v, const void *req, size_t req_len,
			     void *resp, size_t resp_len);

/* ---------------------------------------------------------- DMA translation */

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
	VIOMMU_V_AFTER_UNMAP,    /* "after-unmap": IOVA was mapped in the domain, then UNMAPped */
	VIOMMU_V_BYPASS,         /* "bypass": the IOVA is the guest-physical address of a
				  * mapped buffer (the device got the GPA, not the DMA address) */
	VIOMMU_V_ADDRESS_WIDTH,  /* "address-width": the device model could not drive an
				  * address that wide (viommu_report_violation) */
	VIOMMU_V_LEAK,           /* "leak": a mapping still live after the device was reset
				  * or stopped (viommu_check_leaks) */
	VIOMMU_V_DESCRIPTOR,     /* "descriptor": the driver gave the device a DMA descriptor
				  * that breaks its spec's rules (an NVMe PRP or SGL);
				  * the record names the rule (viommu_report_descriptor) */
};
#define VIOMMU_V_LAST VIOMMU_V_DESCRIPTOR

const char *viommu_violation_name(enum viommu_violation v);

/*
 * A port: one device context's way to the IOMMU for one endpoint, with its
 * own IOTLB (a few recently used mappings) and its in-flight window.  Open
 * one per thread that does DMA for the endpoint (a device's I/O thread, a
 * DMA engine's worker); a port is used by one thread at a time.  NULL with
 * errno ENOENT (endpoint not added) or ENOMEM.  A closed port's memory is
 * kept until viommu_destroy (in-flight waits may still look at it) and is
 * reused by the next open for the same endpoint.
 */
struct viommu_port;
struct viommu_port *viommu_port_open(struct viommu *v, uint32_t endpoint);
void viommu_port_close(struct viommu_port *p);
uint32_t viommu_port_endpoint(const struct viommu_port *p);

/*
 * The in-flight window.  Translations are made between viommu_dma_begin()
 * and viommu_dma_end(), and the bytes they name may be copied until
 * viommu_dma_end(): a request that removes a translation does not complete
 * before every window that could have used it has ended.  Keep windows
 * short -- translate, copy, end; never wait for anything inside one (the
 * guest's vCPU waits for it) -- and never nest them.  Costs one uncontended
 * mutex lock and unlock; refusals made inside the window reach the
 * violation callback and host_ops.fault_pending in viommu_dma_end().
 */
void viommu_dma_begin(struct viommu_port *p);
void viommu_dma_end(struct viommu_port *p);

/* A physically contiguous run of a translated DMA. */
struct viommu_piece {
	uint64_t gpa;
	uint64_t len;
};

struct viommu_xlate {
	struct viommu_piece *pieces;  /* in: room for `max` pieces; NULL: check only */
	unsigned int max;
	unsigned int n;               /* out: pieces filled */
	uint64_t len;                 /* out: bytes translated from iova (<= requested) */
};

/*
 * Translate a DMA of `len` bytes at `iova` with `access`, inside a window.
 * Walks the mappings covering it in IOVA order once (O(log n + k) for k
 * mappings; a hit in the port's IOTLB needs no lock and no tree): each
 * must allow the access and land in guest RAM.  The physically contiguous
 * pieces go into x->pieces, in order, adjacent ones merged.  When x->max
 * pieces are full before the end, it returns VIOMMU_OK with x->len < len:
 * continue at iova + x->len.  With x->pieces NULL the whole range is only
 * checked (no piece limit).
 *
 * A zero-length DMA touches nothing: VIOMMU_OK, x->len = 0.  `access` may
 * be VIOMMU_READ | VIOMMU_WRITE (both needed); 0 or unknown bits are
 * refused as VIOMMU_V_PERMISSION.
 *
 * Refused: returns the class (NO_DOMAIN, UNMAPPED, AFTER_UNMAP, BYPASS,
 * PERMISSION, PAST_END or NOT_RAM) with x->n = x->len = 0; the violation
 * is recorded with its context (viommu/report.h) and a fault event is
 * queued; the callback and fault_pending run at viommu_dma_end().
 */
enum viommu_violation viommu_translate(struct viommu_port *p, uint64_t iova, uint64_t len,
				       enum viommu_access access, struct viommu_xlate *x);

/* ------------------------------------------------------------ fault events */

/* Fault events for the event queue, oldest first (bounded queue; on
 * overflow the oldest are dropped and counted). */
#define VIOMMU_MAX_FAULTS 128
bool viommu_pop_fault(struct viommu *v, struct virtio_iommu_fault *out);
bool viommu_has_fault(struct viommu *v);
/* Fault events dropped because the queue was full (never reset). */
uint64_t viommu_faults_dropped(struct viommu *v);

#endif
