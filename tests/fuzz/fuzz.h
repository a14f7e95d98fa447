/* SPDX-License-Identifier: MIT */
#ifndef TESTS_FUZZ_FUZZ_H
#define TESTS_FUZZ_FUZZ_H

/*
 * What the device-side fuzz targets share (tests/fuzz/fuzz.c): reading the
 * input, a small guest RAM that ASan watches, the IOMMU and bounce pool a
 * device sits behind, guest requests to that IOMMU, and an oracle that
 * says, from the IOMMU's list of live mappings alone, what a DMA may touch
 * -- so that a target can assert what the device did, not only that it did
 * not crash.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tests/fuzz/fuzz-ops.h"
#include "vmm/dma.h"
#include "vmm/guest_mem.h"
#include "vmm/pci.h"
#include "vmm/virtio_pci.h"
#include "viommu/report.h"
#include "viommu/viommu.h"
#include "swiotlb/swiotlb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the input: read front to back; a truncated tail reads as zeroes */
struct fuzz_in {
	const uint8_t *p;
	size_t left;
};

void fuzz_take(struct fuzz_in *in, void *dst, size_t n);
uint8_t fuzz_u8(struct fuzz_in *in);
uint16_t fuzz_u16(struct fuzz_in *in);      /* little-endian */
uint32_t fuzz_u32(struct fuzz_in *in);
uint64_t fuzz_u64(struct fuzz_in *in);

/* FUZZ_TRACE=1 in the environment: what each operation did, on stderr
 * (to read a reproducer; set at the first fuzz_iommu_create). */
extern bool fuzz_trace;
#define FUZZ_TRACE(...) \
	do { \
		if (fuzz_trace) \
			fprintf(stderr, __VA_ARGS__); \
	} while (0)

/* An invariant that does not hold: print where, abort (libFuzzer keeps the input). */
__attribute__((noreturn)) void fuzz_fail(const char *what, const char *file, int line);
#define FUZZ_CHECK(cond) ((cond) ? (void)0 : fuzz_fail(#cond, __FILE__, __LINE__))

/*
 * Guest RAM: FUZZ_LOW_RAM bytes at guest-physical 0 and FUZZ_HIGH_RAM at
 * 4 GiB, each its own exactly-sized heap block (not guest_mem_init's
 * mmap), so that ASan reports any host access a byte past either.
 * Snapshots and expected states are guest_mems of the same shape.
 */
#define FUZZ_LOW_RAM  0x8000u
#define FUZZ_HIGH_RAM 0x2000u
#define FUZZ_PAGE     0x1000u

/* The target's RAM, all zero, at the start of each input (allocated, and
 * vmm's log quieted to errors, at the first). */
void fuzz_ram_start(struct guest_mem *ram);
/* A snapshot or expected state (allocated at the first copy into it). */
void fuzz_ram_copy(struct guest_mem *dst, const struct guest_mem *src);
bool fuzz_ram_equal(const struct guest_mem *a, const struct guest_mem *b);
/*
 * Guest-physical page number i (mod 16) as an address: 0-7 low RAM,
 * 8-9 high RAM, 10-15 outside RAM (from the end of low RAM on, so that a
 * range can run off RAM's end).
 */
uint64_t fuzz_phys_page(unsigned int i);
/*
 * An IOVA from a 16-bit page number: page << 12, except that the top 256
 * numbers count down from 2^64 (0xffff: the last page), so that ranges can
 * run into the end of the address space.
 */
uint64_t fuzz_iova_page(uint16_t page);

/* ---- the IOMMU and the bounce pool behind a device */
struct fuzz_iommu {
	struct viommu *v;
	struct swiotlb_pool *pool;
	const struct guest_mem *mem;
	/* Violations the IOMMU reported through its callback, all and by
	 * origin (a device's worker thread may report too: atomics). */
	uint64_t violations, dma_violations, leak_violations;
	void (*on_violation)(void *opaque, const struct viommu_violation_record *r);
	void *opaque;
};

/* The default configuration of vmm (devices.c), reset; pool_bytes 0: no
 * pool.  (The device itself lives as long as the process: fuzz.c.) */
void fuzz_iommu_create(struct fuzz_iommu *fi, const struct guest_mem *mem, size_t pool_bytes);
void fuzz_iommu_destroy(struct fuzz_iommu *fi);

/*
 * THE place where a device's DMA space is tied to the IOMMU and the bounce
 * pool, as vmm's attach_endpoint() does it for an endpoint behind the
 * virtio-iommu (registered, its port opened), and how a device not behind
 * it looks (no port: guest-physical addresses).  Every target goes through
 * here, so that a change of the translation API is adapted in one place;
 * fuzz_dma_teardown() closes the port again (the device is reused by the
 * next input, and a closed port with it).
 */
void fuzz_dma_setup(struct fuzz_iommu *fi, struct dma_space *d, uint32_t endpoint,
		    const char *name, bool behind_iommu, bool bounce);
void fuzz_dma_teardown(struct dma_space *d);

/* An ATTACH request through viommu_handle_request; its status (VIRTIO_IOMMU_S_*). */
int fuzz_req_attach(struct fuzz_iommu *fi, uint32_t domain, uint32_t endpoint);

/*
 * The IOMMU operations of a target's input (tests/fuzz/fuzz-ops.h), op
 * byte already read:
 *   FUZZ_OP_MAP:    u16 iova page, u8 phys page, u8 pages (1 + % 16),
 *                   u8 flags (% 8), u8 domain (1 + % 2)
 *   FUZZ_OP_UNMAP:  u16 iova page, u8 pages (1 + % 16), u8 domain (1 + % 2)
 *   FUZZ_OP_ATTACH: u8 what (% 4): detach from domain 1, from 2, attach to
 *                   1, to 2
 * (fuzz_iova_page, fuzz_phys_page).  Refreshes the oracle `o` of the
 * endpoint afterwards; returns the request's status.
 */
struct fuzz_oracle;
int fuzz_iommu_op(struct fuzz_iommu *fi, struct fuzz_oracle *o, enum fuzz_op op,
		  uint32_t endpoint, struct fuzz_in *in);

/*
 * The oracle: a copy of the live mappings of one endpoint's domain, read
 * through viommu_endpoint_live_mappings() (never through the translation
 * path under test), or guest-physical addressing when the device is not
 * behind the IOMMU.  Refresh it after every request.
 */
#define FUZZ_MAX_MAPS 64

struct fuzz_oracle {
	const struct guest_mem *mem;
	bool iommu;
	unsigned int n;
	bool overflow;           /* more mappings than fit: checks are skipped */
	struct {
		uint64_t start, end, phys;
		uint32_t flags;
	} m[FUZZ_MAX_MAPS];
};

void fuzz_oracle_init(struct fuzz_oracle *o, const struct guest_mem *mem, bool iommu);
void fuzz_oracle_refresh(struct fuzz_oracle *o, struct fuzz_iommu *fi, uint32_t endpoint);
/* May a DMA of [addr, addr + len) with `access` (VIOMMU_READ/WRITE) go
 * through?  Every byte mapped with that permission, in RAM, none past 2^64. */
bool fuzz_oracle_allows(const struct fuzz_oracle *o, uint64_t addr, uint64_t len,
			unsigned int access);
/* What that DMA reads from `ram` / writes into `ram` (a snapshot or an
 * expected state); false, nothing copied, where it would be refused. */
bool fuzz_oracle_read(const struct fuzz_oracle *o, const struct guest_mem *ram, uint64_t addr,
		      void *buf, uint64_t len);
bool fuzz_oracle_write(const struct fuzz_oracle *o, const struct guest_mem *ram, uint64_t addr,
		       const void *buf, uint64_t len);
/* The guest CPU's view: bytes at DMA address addr through any mapping (or
 * guest-physical), e.g. to lay out rings; bytes with no RAM behind are
 * skipped. */
void fuzz_driver_write(const struct fuzz_oracle *o, const struct guest_mem *ram, uint64_t addr,
		       const void *buf, uint64_t len);
/*
 * The driver's side of a split virtqueue, for targets that fill one: where
 * the driver put it, and its next avail idx.  The ring operations of a
 * target's input (tests/fuzz/fuzz-ops.h, op byte already read), written
 * with fuzz_driver_write():
 *   FUZZ_OP_DESC:  u64 table (0: the ring's), u16 index, u64 addr, u32 len,
 *                  u16 flags, u16 next: one descriptor
 *   FUZZ_OP_AVAIL: u8 what (% 4), u16 value: 0 make head `value` available
 *                  (ring entry, then idx + 1), 1 set avail idx, 2 avail
 *                  flags, 3 used_event
 *   FUZZ_OP_POKE:  u64 addr, u8 len, len bytes: anything
 */
struct fuzz_ring {
	uint64_t desc, avail, used;
	uint16_t size;
	uint16_t avail_idx;
};

void fuzz_ring_op(const struct fuzz_oracle *o, const struct guest_mem *ram, struct fuzz_ring *r,
		  enum fuzz_op op, struct fuzz_in *in);

/*
 * The driver of a virtio-pci device (the virtio device targets): BAR 0
 * accesses, and the usual bring-up -- reset, ACKNOWLEDGE and DRIVER,
 * every feature the device offers but `refuse`, FEATURES_OK (checked) --
 * then fuzz_vpci_queue() for each queue (size, rings at desc/avail/used,
 * enabled, its fuzz_ring set) and fuzz_vpci_driver_ok().  An ioeventfd
 * stub for the targets' virtio_host: kicks are served by the target.
 */
uint64_t fuzz_vpci_read(struct pci_bus *bus, struct virtio_dev *vd, unsigned int off,
			unsigned int size);
void fuzz_vpci_write(struct pci_bus *bus, struct virtio_dev *vd, unsigned int off,
		     unsigned int size, uint64_t val);
void fuzz_vpci_features(struct pci_bus *bus, struct virtio_dev *vd, uint64_t refuse);
void fuzz_vpci_queue(struct pci_bus *bus, struct virtio_dev *vd, unsigned int q, uint16_t size,
		     uint64_t desc, uint64_t avail, uint64_t used, struct fuzz_ring *ring);
void fuzz_vpci_driver_ok(struct pci_bus *bus, struct virtio_dev *vd);
int fuzz_no_ioeventfd(void *opaque, uint64_t gpa, unsigned int len, int fd, bool assign);

/* Every byte that differs between before and after is one the device may
 * write: under a mapping with WRITE permission (anywhere in RAM without
 * the IOMMU). */
void fuzz_check_device_writes(const struct fuzz_oracle *o, const struct guest_mem *before,
			      const struct guest_mem *after);

#endif
