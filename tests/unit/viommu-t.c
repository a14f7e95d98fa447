/* SPDX-License-Identifier: MIT */
/*
 * virtio-iommu DMA translation: what the device models get for every DMA,
 * the fault events the guest sees, the violation records, the translation
 * cache's invalidation, bypass, reset, statistics and concurrency.
 */
#include "tests/unit/viommu-util.h"
#include "viommu/internal.h"   /* test_drain_waits: a port's drains_waiting */
#include "tests/tap/basic.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define EP_BLK 0x08
#define EP_NET 0x10
#define EP_IDLE 0x18

static struct viommu *make(uint8_t bypass)
{
	struct viommu_config cfg;
	struct viommu *v;

	viommu_default_config(&cfg);
	cfg.bypass = bypass;
	v = viommu_create(&cfg, &test_host, NULL);
	if (!v)
		bail("viommu_create: %s", strerror(errno));
	if (viommu_add_endpoint(v, EP_BLK, "virtio-blk") ||
	    viommu_add_endpoint(v, EP_NET, "virtio-net") ||
	    viommu_add_endpoint(v, EP_IDLE, "idle"))
		bail("viommu_add_endpoint");
	return v;
}

static void drain(struct viommu *v)
{
	struct virtio_iommu_fault f;

	while (viommu_pop_fault(v, &f))
		;
}

/* The one fault the last refused DMA queued. */
static void check_fault(struct viommu *v, uint8_t reason, uint32_t flags, uint32_t ep,
			uint64_t addr, const char *what)
{
	struct virtio_iommu_fault f;
	bool got = viommu_pop_fault(v, &f);
	static const uint8_t zero[4];

	ok(got && f.reason == reason && le32toh(f.flags) == flags && le32toh(f.endpoint) == ep &&
	   le64toh(f.address) == addr && !memcmp(f.reserved, zero, 3) && !memcmp(f.reserved2, zero, 4) &&
	   !viommu_has_fault(v),
	   "%s: fault reason %u flags %#x ep %#x address %#llx", what, reason, flags, ep,
	   (unsigned long long)addr);
	if (got && (f.reason != reason || le32toh(f.flags) != flags || le64toh(f.address) != addr))
		diag("got reason %u flags %#x ep %#x address %#llx", f.reason, le32toh(f.flags),
		     le32toh(f.endpoint), (unsigned long long)le64toh(f.address));
}

#define F_R (VIRTIO_IOMMU_FAULT_F_READ | VIRTIO_IOMMU_FAULT_F_ADDRESS)
#define F_W (VIRTIO_IOMMU_FAULT_F_WRITE | VIRTIO_IOMMU_FAULT_F_ADDRESS)

static void test_unattached_and_bypass(void)
{
	struct viommu *v = make(0);
	struct test_xlate x = { .gpa = 1, .len = 1 };
	uint8_t one = 1;

	is_int(VIOMMU_V_NO_DOMAIN, xlate(v, EP_IDLE, 0x1000, 64, VIOMMU_READ, &x),
	       "bypass=0: unattached endpoint's DMA is refused");
	ok(x.gpa == 0 && x.len == 0, "refused DMA: *out cleared");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_DOMAIN, F_R, EP_IDLE, 0x1000, "no domain");

	viommu_write_config(v, offsetof(struct virtio_iommu_config, bypass), &one, 1);
	is_int(VIOMMU_OK, xlate(v, EP_IDLE, 0x1000, 64, VIOMMU_WRITE, &x),
	       "bypass=1: unattached endpoint's DMA is identity-translated");
	ok(x.gpa == 0x1000 && x.len == 64, "identity: gpa = iova, whole length");
	is_int(VIOMMU_V_NOT_RAM, xlate(v, EP_IDLE, LOW_RAM_END - 0x10, 0x20, VIOMMU_WRITE, &x),
	       "bypass=1: DMA running off the end of RAM is refused");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_MAPPING, F_W, EP_IDLE, LOW_RAM_END,
		    "bypass not-RAM (first non-RAM byte)");
	is_int(VIOMMU_OK, xlate(v, EP_IDLE, 0, 0, VIOMMU_READ, &x), "a zero-length DMA is a no-op");

	/* An attached endpoint is not in bypass even when bypass=1. */
	is_int(VIRTIO_IOMMU_S_OK, req_attach(v, 1, EP_BLK, 0), "attach EP_BLK");
	is_int(VIOMMU_V_UNMAPPED, xlate(v, EP_BLK, 0x1000, 64, VIOMMU_READ, &x),
	       "bypass=1 does not apply to attached endpoints");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_MAPPING, F_R, EP_BLK, 0x1000, "attached, unmapped");

	/* ATTACH_F_BYPASS: a bypass domain. */
	is_int(VIRTIO_IOMMU_S_OK, req_attach(v, 2, EP_NET, VIRTIO_IOMMU_ATTACH_F_BYPASS), "attach EP_NET to a bypass domain");
	is_int(VIOMMU_OK, xlate(v, EP_NET, HIGH_RAM + 0x1000, 0x3000, VIOMMU_READ | VIOMMU_WRITE, &x),
	       "bypass domain: identity");
	ok(x.gpa == HIGH_RAM + 0x1000 && x.len == 0x3000, "bypass domain: gpa = iova");
	is_int(VIOMMU_V_NOT_RAM, xlate(v, EP_NET, 0xfec00000, 4, VIOMMU_WRITE, &x),
	       "bypass domain: a DMA to the IOAPIC is refused (not RAM)");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_MAPPING, F_W, EP_NET, 0xfec00000, "bypass domain not-RAM");
	viommu_destroy(v);

	v = make(1);
	is_int(VIOMMU_OK, xlate(v, EP_IDLE, 0x2000, 8, VIOMMU_READ, &x), "config bypass=1 at creation");
	viommu_reset(v);
	is_int(VIOMMU_OK, xlate(v, EP_IDLE, 0x2000, 8, VIOMMU_READ, &x),
	       "reset restores the initial bypass value (1 here)");
	viommu_destroy(v);
}

static void test_mappings(void)
{
	struct viommu *v = make(0);
	struct test_xlate x;
	const uint32_t D = 1;

	req_attach(v, D, EP_BLK, 0);
	/* [0x100000, 0x103fff] RW -> 0x200000; [0x104000] R -> 0x204000 (phys
	 * contiguous); [0x105000] W -> 0x300000; [0x106000] RW -> 0x400000;
	 * [0x107000] RW -> 0x500000. */
	req_map(v, D, 0x100000, 0x103fff, 0x200000, RW);
	req_map(v, D, 0x104000, 0x104fff, 0x204000, VIRTIO_IOMMU_MAP_F_READ);
	req_map(v, D, 0x105000, 0x105fff, 0x300000, VIRTIO_IOMMU_MAP_F_WRITE);
	req_map(v, D, 0x106000, 0x106fff, 0x400000, RW);
	req_map(v, D, 0x107000, 0x107fff, 0x500000, RW);
	drain(v);

	is_int(VIOMMU_OK, xlate(v, EP_BLK, 0x100010, 0x100, VIOMMU_READ, &x), "covered read");
	ok(x.gpa == 0x200010 && x.len == 0x100, "covered: gpa = iova - virt_start + phys_start");
	is_int(VIOMMU_OK, xlate(v, EP_BLK, 0x103fff, 1, VIOMMU_WRITE, &x), "last byte of a mapping");
	ok(x.gpa == 0x203fff && x.len == 1, "... translated");
	ok(!viommu_has_fault(v), "no fault for allowed DMA");

	is_int(VIOMMU_V_UNMAPPED, xlate(v, EP_BLK, 0x50000, 0x10, VIOMMU_READ, &x), "uncovered");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_MAPPING, F_R, EP_BLK, 0x50000, "uncovered");
	is_int(VIOMMU_V_UNMAPPED, xlate(v, EP_BLK, 0xfffff, 0x10, VIOMMU_READ, &x),
	       "starting one byte before a mapping");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_MAPPING, F_R, EP_BLK, 0xfffff, "starting before a mapping");

	is_int(VIOMMU_V_PAST_END, xlate(v, EP_BLK, 0x107f00, 0x200, VIOMMU_WRITE, &x),
	       "partially covered: runs past the last mapping");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_MAPPING, F_W, EP_BLK, 0x108000, "past end (first faulting byte)");

	is_int(VIOMMU_V_PERMISSION, xlate(v, EP_BLK, 0x104010, 4, VIOMMU_WRITE, &x),
	       "write to a READ-only mapping");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_MAPPING, F_W, EP_BLK, 0x104010, "write to READ-only");
	is_int(VIOMMU_V_PERMISSION, xlate(v, EP_BLK, 0x105010, 4, VIOMMU_READ, &x),
	       "read from a WRITE-only mapping");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_MAPPING, F_R, EP_BLK, 0x105010, "read from WRITE-only");
	is_int(VIOMMU_OK, xlate(v, EP_BLK, 0x105010, 4, VIOMMU_WRITE, &x), "write to WRITE-only");
	is_int(VIOMMU_V_PERMISSION, xlate(v, EP_BLK, 0x105010, 4, VIOMMU_READ | VIOMMU_WRITE, &x),
	       "read+write to WRITE-only");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_MAPPING,
		    VIRTIO_IOMMU_FAULT_F_READ | VIRTIO_IOMMU_FAULT_F_WRITE | VIRTIO_IOMMU_FAULT_F_ADDRESS,
		    EP_BLK, 0x105010, "read+write");
	is_int(VIOMMU_V_PERMISSION, xlate(v, EP_BLK, 0x100000, 4, 0, &x),
	       "access 0 (caller bug) is refused");
	drain(v);

	/* Spanning adjacent mappings. */
	is_int(VIOMMU_OK, xlate(v, EP_BLK, 0x103f00, 0x200, VIOMMU_READ, &x),
	       "read across two adjacent mappings, both readable");
	ok(x.gpa == 0x203f00 && x.len == 0x200, "phys contiguous: one piece of the whole length");
	is_int(VIOMMU_V_PERMISSION, xlate(v, EP_BLK, 0x103f00, 0x200, VIOMMU_WRITE, &x),
	       "write across RW + READ-only mappings is refused");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_MAPPING, F_W, EP_BLK, 0x104000,
		    "fault at the first byte of the READ-only mapping");
	is_int(VIOMMU_OK, xlate(v, EP_BLK, 0x106f00, 0x200, VIOMMU_WRITE, &x),
	       "write across two RW mappings with distant phys");
	ok(x.gpa == 0x400f00 && x.len == 0x100, "first piece only (call again for the rest)");
	is_int(VIOMMU_OK, xlate(v, EP_BLK, 0x106f00 + x.len, 0x200 - x.len, VIOMMU_WRITE, &x),
	       "the rest");
	ok(x.gpa == 0x500000 && x.len == 0x100, "second piece");
	is_int(VIOMMU_V_PERMISSION, xlate(v, EP_BLK, 0x104f00, 0x2200, VIOMMU_WRITE | VIOMMU_READ, &x),
	       "a DMA over R-only, W-only and past the end: the first fault wins");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_MAPPING,
		    VIRTIO_IOMMU_FAULT_F_READ | VIRTIO_IOMMU_FAULT_F_WRITE | VIRTIO_IOMMU_FAULT_F_ADDRESS,
		    EP_BLK, 0x104f00, "... the first faulting byte is the first one (R-only)");

	/* Not RAM through F_MMIO mappings. */
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, D, 0x200000, 0x200fff, 0xfec00000, RW | VIRTIO_IOMMU_MAP_F_MMIO),
	       "MMIO map to the IOAPIC page");
	is_int(VIOMMU_V_NOT_RAM, xlate(v, EP_BLK, 0x200000, 4, VIOMMU_WRITE, &x),
	       "DMA through an MMIO mapping: not RAM");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_MAPPING, F_W, EP_BLK, 0x200000, "not RAM");
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, D, 0x300000, 0x301fff, LOW_RAM_END - 0x1000,
					  RW | VIRTIO_IOMMU_MAP_F_MMIO),
	       "MMIO map straddling the end of RAM");
	is_int(VIOMMU_V_NOT_RAM, xlate(v, EP_BLK, 0x300f00, 0x400, VIOMMU_READ, &x),
	       "DMA from RAM into the hole is refused");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_MAPPING, F_R, EP_BLK, 0x301000, "first non-RAM byte's IOVA");

	/* The top of the 64-bit space. */
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, D, 0xfffffffffffff000ull, UINT64_MAX, 0x1000, RW), "map the last page");
	is_int(VIOMMU_OK, xlate(v, EP_BLK, UINT64_MAX - 7, 8, VIOMMU_READ, &x), "last 8 bytes");
	ok(x.gpa == 0x1ff8 && x.len == 8, "... translated");
	is_int(VIOMMU_V_PAST_END, xlate(v, EP_BLK, UINT64_MAX - 7, 16, VIOMMU_READ, &x),
	       "a DMA wrapping past 2^64 is refused");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_MAPPING, F_R, EP_BLK, 0, "wrap: the byte at 2^64 reads as 0");
	is_int(VIOMMU_V_UNMAPPED, xlate(v, EP_BLK, 0x9000, UINT64_MAX, VIOMMU_READ, &x),
	       "a 2^64-1 byte DMA is refused");
	drain(v);
	viommu_destroy(v);
}

static void test_invalidation(void)
{
	struct viommu *v = make(0);
	struct test_xlate x;
	uint8_t one = 1;

	req_attach(v, 1, EP_BLK, 0);
	req_attach(v, 1, EP_NET, 0);
	req_map(v, 1, 0x10000, 0x10fff, 0x80000, RW);
	req_map(v, 1, 0x11000, 0x11fff, 0x90000, RW);
	is_int(VIOMMU_OK, xlate(v, EP_BLK, 0x10010, 4, VIOMMU_READ, &x), "hit (fills the cache)");
	is_int(VIOMMU_OK, xlate(v, EP_BLK, 0x10020, 4, VIOMMU_READ, &x), "hit again (from the cache)");
	ok(x.gpa == 0x80020, "cached translation is right");
	is_int(VIOMMU_OK, xlate(v, EP_BLK, 0x11020, 4, VIOMMU_READ, &x), "another mapping");
	ok(x.gpa == 0x90020, "cache does not answer for a different mapping");
	is_int(VIOMMU_OK, xlate(v, EP_NET, 0x10020, 4, VIOMMU_READ, &x),
	       "a second endpoint in the same domain");

	is_int(VIRTIO_IOMMU_S_OK, req_unmap(v, 1, 0x10000, 0x10fff), "UNMAP the cached mapping");
	is_int(VIOMMU_V_AFTER_UNMAP, xlate(v, EP_BLK, 0x10020, 4, VIOMMU_READ, &x),
	       "after UNMAP: refused (cache invalidated), classified after-unmap");
	is_int(VIOMMU_V_AFTER_UNMAP, xlate(v, EP_NET, 0x10020, 4, VIOMMU_READ, &x),
	       "after UNMAP: refused for the other endpoint too");
	drain(v);
	req_map(v, 1, 0x10000, 0x10fff, 0xa0000, RW);
	is_int(VIOMMU_OK, xlate(v, EP_BLK, 0x10020, 4, VIOMMU_READ, &x), "re-MAP to new phys");
	ok(x.gpa == 0xa0020, "after re-MAP the new phys is used");

	is_int(VIOMMU_OK, xlate(v, EP_NET, 0x11000, 4, VIOMMU_READ, &x), "EP_NET hit");
	is_int(VIRTIO_IOMMU_S_OK, req_detach(v, 1, EP_NET), "DETACH EP_NET");
	is_int(VIOMMU_V_NO_DOMAIN, xlate(v, EP_NET, 0x11000, 4, VIOMMU_READ, &x),
	       "after DETACH: no domain (bypass 0)");
	check_fault(v, VIRTIO_IOMMU_FAULT_R_DOMAIN, F_R, EP_NET, 0x11000, "after DETACH");
	is_int(VIOMMU_OK, xlate(v, EP_BLK, 0x11000, 4, VIOMMU_READ, &x),
	       "the other endpoint keeps the domain");

	viommu_write_config(v, offsetof(struct virtio_iommu_config, bypass), &one, 1);
	is_int(VIOMMU_OK, xlate(v, EP_NET, 0x11000, 4, VIOMMU_READ, &x),
	       "detached with bypass=1: identity");
	ok(x.gpa == 0x11000, "... not the old mapping");

	is_int(VIRTIO_IOMMU_S_OK, req_attach(v, 7, EP_BLK, 0), "ATTACH EP_BLK elsewhere (implicit detach)");
	is_int(VIOMMU_V_UNMAPPED, xlate(v, EP_BLK, 0x11000, 4, VIOMMU_READ, &x),
	       "after moving domains the old mapping is gone");
	drain(v);

	req_map(v, 7, 0x10000, 0x10fff, 0x80000, RW);
	is_int(VIOMMU_OK, xlate(v, EP_BLK, 0x10000, 4, VIOMMU_READ, &x), "hit before reset");
	viommu_reset(v);
	is_int(VIOMMU_V_NO_DOMAIN, xlate(v, EP_BLK, 0x10000, 4, VIOMMU_READ, &x),
	       "after reset: not attached, bypass back to 0");
	ok(viommu_has_fault(v), "fault queued after reset");
	drain(v);
	is_int(VIRTIO_IOMMU_S_NOENT, req_map(v, 7, 0x20000, 0x20fff, 0x80000, RW), "after reset: no domains");
	is_int(VIRTIO_IOMMU_S_OK, req_attach(v, 7, EP_BLK, 0), "re-attach after reset");
	is_int(VIOMMU_V_UNMAPPED, xlate(v, EP_BLK, 0x10000, 4, VIOMMU_READ, &x),
	       "after reset and re-attach the old mapping is gone");
	viommu_destroy(v);
}

struct collect {
	unsigned int n;
	struct viommu_violation_record first, last;
	struct viommu_endpoint_stats blk;
};

static void on_violation(void *opaque, const struct viommu_violation_record *r)
{
	struct collect *c = opaque;

	if (!c->n++)
		c->first = *r;
	c->last = *r;
}

static void on_endpoint(void *opaque, const struct viommu_endpoint_stats *s)
{
	struct collect *c = opaque;

	if (s->endpoint_id == EP_BLK)
		c->blk = *s;
	c->n++;
}

static void test_faults_and_records(void)
{
	struct viommu *v = make(0);
	struct test_xlate x;
	struct virtio_iommu_fault f;
	struct collect c = { 0 };
	unsigned int popped = 0;
	uint64_t total;
	bool order = true;

	for (unsigned int i = 0; i < VIOMMU_MAX_FAULTS + 10; i++)
		xlate(v, EP_IDLE, 0x1000ull * i, 8, VIOMMU_WRITE, &x);
	is_int(10, (long long)viommu_faults_dropped(v), "fault queue overflow: the 10 oldest are dropped");
	while (viommu_pop_fault(v, &f)) {
		order &= le64toh(f.address) == 0x1000ull * (popped + 10);
		popped++;
	}
	is_int(VIOMMU_MAX_FAULTS, popped, "the queue holds VIOMMU_MAX_FAULTS events");
	ok(order, "oldest first, the newest kept");

	total = viommu_for_each_violation(v, on_violation, &c);
	is_int(VIOMMU_MAX_FAULTS + 10, (long long)total, "every violation counted");
	ok(c.first.endpoint_id == EP_IDLE && !strcmp(c.first.name, "idle") && c.first.iova == 0 &&
	   c.first.len == 8 && c.first.access == VIOMMU_WRITE && c.first.reason == VIOMMU_V_NO_DOMAIN,
	   "record: endpoint, name, iova, len, access, reason");

	errno = 0;
	ok(!viommu_port_open(v, 0x4242) && errno == ENOENT,
	   "an endpoint the topology does not have gets no port (ENOENT)");
	ok(!viommu_has_fault(v), "... and nothing happens: no fault event");
	is_int(VIOMMU_MAX_FAULTS + 10, (long long)viommu_for_each_violation(v, NULL, NULL),
	       "... no record");

	for (unsigned int i = 0; i < VIOMMU_MAX_RECORDS; i++)
		xlate(v, EP_IDLE, 0, 8, VIOMMU_READ, &x);
	memset(&c, 0, sizeof(c));
	total = viommu_for_each_violation(v, on_violation, &c);
	ok(c.n == VIOMMU_MAX_RECORDS && total == VIOMMU_MAX_FAULTS + 10 + VIOMMU_MAX_RECORDS,
	   "records bounded to VIOMMU_MAX_RECORDS, count keeps going");

	/* Statistics. */
	req_attach(v, 1, EP_BLK, 0);
	req_map(v, 1, 0x10000, 0x11fff, 0x10000, RW);
	req_map(v, 1, 0x20000, 0x20fff, 0x10000, RW);
	req_unmap(v, 1, 0x10000, 0x11fff);
	xlate(v, EP_BLK, 0x20000, 8, VIOMMU_READ, &x);
	xlate(v, EP_BLK, 0x30000, 8, VIOMMU_READ, &x);
	req_detach(v, 1, EP_BLK);
	viommu_reset(v);
	memset(&c, 0, sizeof(c));
	viommu_for_each_endpoint(v, on_endpoint, &c);
	is_int(3, c.n, "three endpoints reported");
	ok(c.blk.attaches == 1 && c.blk.detaches == 1 && c.blk.maps == 2 && c.blk.unmaps == 1 &&
	   c.blk.map_bytes == 0x3000 && c.blk.unmap_bytes == 0x2000 && c.blk.translations == 2 &&
	   c.blk.faults == 1 && !strcmp(c.blk.name, "virtio-blk"),
	   "per-endpoint statistics, kept across reset");
	ok(!viommu_has_fault(v), "reset empties the fault queue");
	viommu_destroy(v);
}

/*
 * Translations racing MAP/UNMAP, as device threads do them: a port each,
 * one window per DMA.  Round r maps page r % 64 to its own GPA (GPA_BASE
 * + r pages), so the GPA a translation returns names the round whose
 * mapping it used.  unmapped_upto[page] = r + 1 once the UNMAP of round
 * r's mapping has returned.  A translation is wrong if it used a mapping
 * whose UNMAP had returned before its window began (a stale IOTLB entry),
 * or if that UNMAP returned while its window was still open (a DMA in
 * flight through a translation the guest was told is gone).
 */
#define RACE_PAGES 64
#define RACE_ROUNDS 4000
#define RACE_IOVA 0x100000ull
#define RACE_GPA  0x1000000ull

struct race {
	struct viommu *v;
	atomic_bool stop;
	atomic_uint stale, in_flight, malformed, hits;
	atomic_ulong callbacks;
	atomic_uint started;
	_Atomic uint64_t unmapped_upto[RACE_PAGES];
};

/* The violation callback runs in the translating threads at the end of
 * their windows, with the locks released: calling back in (fault mutex,
 * read lock) must not deadlock against the MAP/UNMAP writer. */
static void race_violation(void *opaque, const struct viommu_violation_record *r)
{
	struct race *rc = opaque;

	if (r->reason != VIOMMU_V_UNMAPPED && r->reason != VIOMMU_V_AFTER_UNMAP)
		atomic_fetch_add(&rc->malformed, 1);
	(void)viommu_has_fault(rc->v);
	(void)viommu_map_seq(rc->v);
	atomic_fetch_add(&rc->callbacks, 1);
}

static void *translator(void *arg)
{
	struct race *r = arg;
	struct viommu_port *port = viommu_port_open(r->v, EP_BLK);
	struct viommu_piece pc[2];
	unsigned int i = 0;

	if (!port)
		return NULL;
	while (!atomic_load(&r->stop)) {
		uint64_t page = i++ % RACE_PAGES;
		uint64_t before = atomic_load(&r->unmapped_upto[page]);
		struct viommu_xlate x = { .pieces = pc, .max = 2 };
		enum viommu_violation res;

		viommu_dma_begin(port);
		res = viommu_translate(port, RACE_IOVA + page * 0x1000 + 8, 8, VIOMMU_READ, &x);
		if (res == VIOMMU_OK) {
			uint64_t round = (pc[0].gpa - RACE_GPA) >> 12;

			if (x.n != 1 || pc[0].len != 8 || (pc[0].gpa & 0xfff) != 8 ||
			    round % RACE_PAGES != page)
				atomic_fetch_add(&r->malformed, 1);
			if (round + 1 <= before)
				atomic_fetch_add(&r->stale, 1);
			/* still inside the window: that UNMAP cannot have returned */
			if (atomic_load(&r->unmapped_upto[page]) >= round + 1)
				atomic_fetch_add(&r->in_flight, 1);
			atomic_fetch_add(&r->hits, 1);
		} else if (res != VIOMMU_V_UNMAPPED && res != VIOMMU_V_AFTER_UNMAP) {
			atomic_fetch_add(&r->malformed, 1);
		}
		viommu_dma_end(port);
		if (i == 1)
			atomic_fetch_add(&r->started, 1);
		if (!(i % 64))
			drain(r->v);
	}
	viommu_port_close(port);
	return NULL;
}

static void test_concurrency(void)
{
	struct race r = { .v = make(0) };
	pthread_t th[3];
	bool all_ok = true;

	req_attach(r.v, 1, EP_BLK, 0);
	viommu_set_violation_cb(r.v, race_violation, &r);
	for (unsigned int i = 0; i < 3; i++)
		if (pthread_create(&th[i], NULL, translator, &r))
			bail("pthread_create");
	/* The lock prefers writers: let the translators get going, and
	 * give them the CPU now and then. */
	while (atomic_load(&r.started) < 3)
		sched_yield();
	for (unsigned int round = 0; round < RACE_ROUNDS; round++) {
		uint64_t page = round % RACE_PAGES, iova = RACE_IOVA + page * 0x1000;

		if (!(round % 16))
			sched_yield();
		all_ok &= req_map(r.v, 1, iova, iova + 0xfff, RACE_GPA + round * 0x1000ull, RW) ==
			  VIRTIO_IOMMU_S_OK;
		if (round % 3 == 0)
			all_ok &= req_unmap(r.v, 1, iova, iova + 0xfff) == VIRTIO_IOMMU_S_OK;
		else
			all_ok &= req_unmap(r.v, 1, RACE_IOVA, RACE_IOVA + RACE_PAGES * 0x1000 - 1) ==
				  VIRTIO_IOMMU_S_OK;
		atomic_store(&r.unmapped_upto[page], round + 1);
	}
	atomic_store(&r.stop, true);
	for (unsigned int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	ok(all_ok, "%u MAP/UNMAP rounds under concurrent translation (%u hits)", RACE_ROUNDS,
	   atomic_load(&r.hits));
	is_int(0, atomic_load(&r.malformed), "every answer well-formed, every refusal unmapped");
	is_int(0, atomic_load(&r.stale), "no translation used a mapping already unmapped (stale IOTLB)");
	is_int(0, atomic_load(&r.in_flight), "no UNMAP returned while a window used its mapping");
	ok(atomic_load(&r.callbacks) == viommu_for_each_violation(r.v, NULL, NULL),
	   "the violation callback ran once per refusal (%lu), calling back in", atomic_load(&r.callbacks));
	viommu_destroy(r.v);
}

/* An UNMAP while a window is open on another thread waits for it, and
 * the endpoint's statistics say so: one wait, no longer than the window
 * stayed open; an UNMAP with no window open waits for nothing.  (White
 * box: the window ends once the drain is seen waiting on the port, so
 * the test does not depend on timing.) */
struct unmapper {
	struct viommu *v;
	atomic_bool done;
	int status;
};

static void *unmap_thread(void *arg)
{
	struct unmapper *u = arg;

	u->status = req_unmap(u->v, 1, 0x10000, 0x10fff);
	atomic_store(&u->done, true);
	return NULL;
}

static void test_drain_waits(void)
{
	struct unmapper u = { .v = make(0) };
	struct viommu_port *port;
	struct collect c = { 0 };
	struct viommu_piece pc[2];
	struct viommu_xlate x = { .pieces = pc, .max = 2 };
	pthread_t th;
	uint64_t t0, open_ns;
	bool early;

	req_attach(u.v, 1, EP_BLK, 0);
	req_map(u.v, 1, 0x10000, 0x10fff, 0x200000, RW);
	req_map(u.v, 1, 0x20000, 0x20fff, 0x300000, RW);
	port = viommu_port_open(u.v, EP_BLK);
	if (!port)
		bail("viommu_port_open");
	t0 = viommu_now_ns();
	viommu_dma_begin(port);
	if (viommu_translate(port, 0x10000, 16, VIOMMU_READ, &x) != VIOMMU_OK)
		bail("translate");
	if (pthread_create(&th, NULL, unmap_thread, &u))
		bail("pthread_create");
	while (!atomic_load(&port->drains_waiting))
		usleep(1000);
	usleep(2000);
	early = atomic_load(&u.done);
	viommu_dma_end(port);
	pthread_join(th, NULL);
	open_ns = viommu_now_ns() - t0;
	ok(!early && u.status == VIRTIO_IOMMU_S_OK, "an UNMAP waits for the window in flight");
	viommu_for_each_endpoint(u.v, on_endpoint, &c);
	is_int(1, (long long)c.blk.drain_waits, "the endpoint counts one wait");
	ok(c.blk.drain_wait_ns >= 2000000ull && c.blk.drain_wait_ns <= open_ns,
	   "no shorter than the window was seen blocking it, no longer than it was open (%llu of %llu ns)",
	   (unsigned long long)c.blk.drain_wait_ns, (unsigned long long)open_ns);
	is_int(VIRTIO_IOMMU_S_OK, req_unmap(u.v, 1, 0x20000, 0x20fff), "an UNMAP with no window open");
	viommu_for_each_endpoint(u.v, on_endpoint, &c);
	is_int(1, (long long)c.blk.drain_waits, "waits for nothing");
	viommu_port_close(port);
	viommu_destroy(u.v);
}

int main(void)
{
	plan(107);
	test_unattached_and_bypass();
	test_mappings();
	test_invalidation();
	test_faults_and_records();
	test_concurrency();
	test_drain_waits();
	return 0;
}
