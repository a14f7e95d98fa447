/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk driven end to end through its virtio-pci function, as the
 * guest's virtio_blk driver would: requests whose data is scattered over
 * many descriptors, with and without the bounce engine (where the disk is
 * read and written straight from the bounce segments), behind the IOMMU
 * (a refused transfer is an I/O error that changes neither the disk nor
 * guest memory), a full bounce pool, and the requests a guest may get
 * wrong (past the end, unaligned, read-only disk, unknown type).
 */
#include "vmm/pci.h"
#include "vmm/virtio_devices.h"
#include "viommu/viommu.h"
#include "swiotlb/swiotlb.h"
#include "vmm/log.h"
#include "tests/tap/basic.h"
#include "tests/unit/thread-gate.h"
#include "tests/unit/viommu-util.h"
#include "tests/unit/vpci-driver.h"
#include "tests/unit/vring-util.h"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ring.h>

#define MEM_SIZE   (64ull << 20)
#define QSZ        256
#define QUEUES     2                    /* the MQ device's */
#define DESC(q)    (0x100000ull + 0x4000ull * (q))
#define AVAIL(q)   (DESC(q) + 16 * QSZ)
#define USED(q)    (AVAIL(q) + 0x1000)
#define HDR_GPA    0x110000ull
#define STATUS_GPA 0x110100ull
#define DATA_GPA   0x400000ull          /* data pieces, scattered over [DATA_GPA, +8 MiB) */
#define DISK_BYTES (4u << 20)
#define SLOT       3
#define DOMAIN     1
#define MAPPED_END 0x800000ull          /* behind the IOMMU: [0, MAPPED_END) mapped identity */
#define STATUS_UNSET 0xee

static struct pci_bus bus;
static struct guest_mem mem;

static const struct viommu_host_ops ram_ops = { .is_ram = vpci_is_ram };
static struct virtio_host host = { .signal_msi = vpci_ignore_msi, .ioeventfd = vpci_no_ioeventfd };

struct dev {
	struct virtio_blk blk;
	struct vpci_drv d;
	unsigned int q;                        /* the queue request() uses */
	uint16_t avail_idx[QUEUES], used_seen[QUEUES];
	char path[64];
};

static uint8_t disk_byte(uint64_t off, uint8_t seed)
{
	return (uint8_t)(seed + off * 7 + (off >> 9));
}

static void dev_up_queues(struct dev *v, struct viommu *iommu, struct swiotlb_pool *pool, bool ro,
			  unsigned int queues)
{
	uint8_t *img = malloc(DISK_BYTES);
	int fd;

	snprintf(v->path, sizeof(v->path), "%s/virtio-blk-t.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	fd = mkstemp(v->path);
	if (fd < 0 || !img)
		bail("disk image");
	for (uint64_t i = 0; i < DISK_BYTES; i++)
		img[i] = disk_byte(i, 0);
	if (write(fd, img, DISK_BYTES) != (ssize_t)DISK_BYTES)
		bail("disk image write");
	close(fd);
	free(img);
	if (virtio_blk_create(&v->blk, &bus, SLOT, &host, iommu, v->path, ro, queues))
		bail("virtio_blk_create");
	if (pool && !(v->blk.vd.dma.bounce = swiotlb_account_create(pool, "virtio-blk")))
		bail("bounce account");
	if (iommu && (viommu_add_endpoint(iommu, v->blk.vd.dma.endpoint, "virtio-blk") ||
		      dma_attach_iommu(&v->blk.vd.dma, iommu) ||
		      req_attach(iommu, DOMAIN, v->blk.vd.dma.endpoint, 0) ||
		      req_map(iommu, DOMAIN, 0, MAPPED_END - 1, 0, RW)))
		bail("virtio-blk behind the IOMMU");
	if (virtio_pci_start(&v->blk.vd))
		bail("virtio_pci_start");
	vpci_probe(&v->d, &bus, &mem, &v->blk.vd, 0x40, 0);
	for (unsigned int q = 0; q < queues && q < QUEUES; q++) {
		vpci_queue(&v->d, q, QSZ, DESC(q), AVAIL(q), USED(q), (uint16_t)(q + 1));
		v->avail_idx[q] = v->used_seen[q] = 0;
	}
	vpci_driver_ok(&v->d);
	v->q = 0;
}

static void dev_up(struct dev *v, struct viommu *iommu, struct swiotlb_pool *pool, bool ro)
{
	dev_up_queues(v, iommu, pool, ro, 1);
}

static void dev_down(struct dev *v)
{
	virtio_pci_stop(&v->blk.vd);
	if (v->blk.vd.dma.port)
		dma_detach_iommu(&v->blk.vd.dma);
	virtio_blk_destroy(&v->blk);
	pci_unregister(&bus, &v->blk.vd.pci);
	unlink(v->path);
	memset(&v->blk, 0, sizeof(v->blk));
}

/* Where piece i of n data pieces of `piece` bytes lives: in reverse order,
 * a page apart, so that no two neighbours are contiguous in guest memory. */
static uint64_t piece_gpa(unsigned int i, unsigned int n, size_t piece)
{
	return DATA_GPA + (uint64_t)(n - 1 - i) * (piece + 4096);
}

/*
 * One request on queue v->q: header (type, sector) at HDR_GPA, n data
 * pieces of `piece` bytes from piece_gpa(.., base) (device-writable for
 * IN), status at STATUS_GPA, each queue's a page apart.  submit() makes it
 * available and kicks; reap() waits up to 10 s for its used entry: 0 and
 * the status byte (STATUS_UNSET if the device wrote none) and used length,
 * or -1 if none came.
 */
static void submit(struct dev *v, uint32_t type, uint64_t sector, unsigned int n, size_t piece,
		   uint64_t base)
{
	unsigned int q = v->q;
	struct virtio_blk_outhdr *h = guest_mem_ptr(&mem, HDR_GPA + 0x1000ull * q, sizeof(*h));
	uint16_t *avail = guest_mem_ptr(&mem, AVAIL(q), 4 + 2 * QSZ);
	uint16_t dflag = type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0;
	unsigned int i;

	if (n + 2 > QSZ)
		bail("request of %u pieces", n);
	h->type = htole32(type);
	h->ioprio = 0;
	h->sector = htole64(sector);
	*(uint8_t *)guest_mem_ptr(&mem, STATUS_GPA + 0x1000ull * q, 1) = STATUS_UNSET;
	vring_set_desc(&mem, DESC(q), 0, HDR_GPA + 0x1000ull * q, sizeof(*h), VRING_DESC_F_NEXT, 1);
	for (i = 0; i < n; i++)
		vring_set_desc(&mem, DESC(q), i + 1, base + piece_gpa(i, n, piece) - DATA_GPA,
			       (uint32_t)piece, dflag | VRING_DESC_F_NEXT, (uint16_t)(i + 2));
	vring_set_desc(&mem, DESC(q), i + 1, STATUS_GPA + 0x1000ull * q, 1, VRING_DESC_F_WRITE, 0);
	avail[2 + v->avail_idx[q] % QSZ] = 0;
	__atomic_store_n(&avail[1], htole16(++v->avail_idx[q]), __ATOMIC_SEQ_CST);
	vpci_kick(&v->d, q);
}

static int reap(struct dev *v, unsigned int q, uint8_t *status, uint32_t *len)
{
	uint16_t *used = guest_mem_ptr(&mem, USED(q), 4);
	struct vring_used_elem *ue;

	if (!WAIT_UNTIL(le16toh(__atomic_load_n(&used[1], __ATOMIC_SEQ_CST)) != v->used_seen[q]))
		return -1;
	ue = guest_mem_ptr(&mem, USED(q) + 4 + 8 * (v->used_seen[q] % QSZ), 8);
	v->used_seen[q]++;
	*len = le32toh(ue->len);
	*status = *(uint8_t *)guest_mem_ptr(&mem, STATUS_GPA + 0x1000ull * q, 1);
	return 0;
}

/* submit() and reap() on v->q with the pieces at DATA_GPA; no used entry
 * ends the test. */
static uint8_t request(struct dev *v, uint32_t type, uint64_t sector, unsigned int n, size_t piece,
		       uint32_t *len)
{
	uint8_t status;

	submit(v, type, sector, n, piece, DATA_GPA);
	if (reap(v, v->q, &status, len))
		bail("virtio-blk: no used entry for request type %u on queue %u", type, v->q);
	return status;
}

static void fill_pieces(unsigned int n, size_t piece, uint8_t seed)
{
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *p = guest_mem_ptr(&mem, piece_gpa(i, n, piece), piece);

		for (size_t j = 0; j < piece; j++)
			p[j] = disk_byte(i * piece + j, seed);
	}
}

/* The pieces hold the disk's bytes from `byte_off`, as written with seed. */
static bool pieces_are(unsigned int n, size_t piece, uint64_t byte_off, uint8_t seed)
{
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *p = guest_mem_ptr(&mem, piece_gpa(i, n, piece), piece);

		for (size_t j = 0; j < piece; j++)
			if (p[j] != disk_byte(byte_off + i * piece + j, seed))
				return false;
	}
	return true;
}

/* The disk file holds seed's pattern (relative to `rel`) in [off, off + len). */
static bool disk_is(struct dev *v, uint64_t off, size_t len, uint64_t rel, uint8_t seed)
{
	uint8_t *buf = malloc(len);
	bool same = buf && pread(v->blk.disk.fd, buf, len, (off_t)off) == (ssize_t)len;

	for (size_t i = 0; same && i < len; i++)
		same = buf[i] == disk_byte(off - rel + i, seed);
	free(buf);
	return same;
}

static void clear_pieces(unsigned int n, size_t piece)
{
	for (unsigned int i = 0; i < n; i++)
		memset(guest_mem_ptr(&mem, piece_gpa(i, n, piece), piece), 0x5a, piece);
}

static bool pieces_untouched(unsigned int n, size_t piece)
{
	for (unsigned int i = 0; i < n; i++)
		if (!vpci_mem_is(&mem, piece_gpa(i, n, piece), 0x5a, piece))
			return false;
	return true;
}

/* Round trips of `n` pieces: a read of what the image holds, a write of a
 * new pattern, and a read that brings it back. */
static void round_trips(struct dev *v, const char *what, uint64_t sector, unsigned int n,
			size_t piece)
{
	uint64_t bytes = (uint64_t)n * piece;
	uint32_t len;

	clear_pieces(n, piece);
	is_int(VIRTIO_BLK_S_OK, request(v, VIRTIO_BLK_T_IN, sector, n, piece, &len),
	       "%s: read of %u x %zu B: OK", what, n, piece);
	is_int((long long)bytes + 1, len, "%s: used length = data + status", what);
	ok(pieces_are(n, piece, sector * 512, 0), "%s: every piece holds the disk's bytes", what);

	fill_pieces(n, piece, 0x33);
	is_int(VIRTIO_BLK_S_OK, request(v, VIRTIO_BLK_T_OUT, sector, n, piece, &len),
	       "%s: write of %u x %zu B: OK", what, n, piece);
	ok(disk_is(v, sector * 512, bytes, sector * 512, 0x33), "%s: the disk holds what was written", what);
	ok(disk_is(v, sector * 512 + bytes, 4096, 0, 0), "%s: and nothing past it changed", what);

	clear_pieces(n, piece);
	is_int(VIRTIO_BLK_S_OK, request(v, VIRTIO_BLK_T_IN, sector, n, piece, &len),
	       "%s: read back: OK", what);
	ok(pieces_are(n, piece, 0, 0x33), "%s: it reads back the same", what);
}

static void bad_requests(struct dev *v, const char *what)
{
	uint64_t sectors = DISK_BYTES / 512;
	uint32_t len;

	is_int(VIRTIO_BLK_S_IOERR, request(v, VIRTIO_BLK_T_IN, sectors - 1, 1, 1024, &len),
	       "%s: a read past the end of the disk: IOERR", what);
	is_int(VIRTIO_BLK_S_IOERR, request(v, VIRTIO_BLK_T_IN, ~0ull >> 9, 1, 512, &len),
	       "%s: a sector number that overflows: IOERR", what);
	is_int(VIRTIO_BLK_S_IOERR, request(v, VIRTIO_BLK_T_OUT, 0, 1, 100, &len),
	       "%s: a write that is not a multiple of 512 bytes: IOERR", what);
	is_int(VIRTIO_BLK_S_UNSUPP, request(v, 0x7777, 0, 1, 512, &len),
	       "%s: an unknown request type: UNSUPP", what);
}

/* DISCARD or WRITE_ZEROES of the n ranges {sector, count, flags}. */
static uint8_t dwz(struct dev *v, uint32_t type, const uint32_t (*rng)[3], unsigned int n)
{
	struct virtio_blk_discard_write_zeroes *r =
		guest_mem_ptr(&mem, piece_gpa(0, 1, 16 * n), 16 * n);
	uint32_t len;

	for (unsigned int i = 0; i < n; i++) {
		r[i].sector = htole64(rng[i][0]);
		r[i].num_sectors = htole32(rng[i][1]);
		r[i].flags = htole32(rng[i][2]);
	}
	return request(v, type, 0, 1, 16 * n, &len);
}

/* Every byte of the disk in [off, off + len) is zero. */
static bool disk_zero(struct dev *v, uint64_t off, size_t len)
{
	uint8_t *buf = malloc(len);
	bool zero = buf && pread(v->blk.disk.fd, buf, len, (off_t)off) == (ssize_t)len;

	for (size_t i = 0; zero && i < len; i++)
		zero = !buf[i];
	free(buf);
	return zero;
}

static void discard_and_write_zeroes(struct dev *v)
{
	const uint64_t sectors = DISK_BYTES / 512;
	const uint32_t unmap = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	uint32_t r[3][3];

	ok(virtio_has_feature(&v->blk.vd, VIRTIO_BLK_F_DISCARD) &&
	   virtio_has_feature(&v->blk.vd, VIRTIO_BLK_F_WRITE_ZEROES),
	   "DISCARD and WRITE_ZEROES are offered on a writable disk");
	is_int(256, (long long)vpci_rd(&v->d, VPCI_DEVICE_OFF +
				       offsetof(struct virtio_blk_config, max_discard_seg), 4),
	       "config: max_discard_seg");
	is_int(1, (long long)vpci_rd(&v->d, VPCI_DEVICE_OFF +
				     offsetof(struct virtio_blk_config, write_zeroes_may_unmap), 1),
	       "config: write_zeroes_may_unmap");

	/* Two ranges zeroed, one of them with UNMAP; the sector between them
	 * keeps its data. */
	memcpy(r, (uint32_t[3][3]){ { 16, 8, 0 }, { 25, 15, unmap } }, sizeof(r));
	is_int(VIRTIO_BLK_S_OK, dwz(v, VIRTIO_BLK_T_WRITE_ZEROES, r, 2), "WRITE_ZEROES of two ranges: OK");
	ok(disk_zero(v, 16 * 512, 8 * 512) && disk_zero(v, 25 * 512, 15 * 512),
	   "both ranges read as zeroes (with and without UNMAP)");
	ok(disk_is(v, 24 * 512, 512, 0, 0) && disk_is(v, 15 * 512, 512, 0, 0) &&
	   disk_is(v, 40 * 512, 512, 0, 0), "the sectors around them are untouched");

	memcpy(r, (uint32_t[3][3]){ { 64, 64, 0 } }, sizeof(r));
	is_int(VIRTIO_BLK_S_OK, dwz(v, VIRTIO_BLK_T_DISCARD, r, 1), "DISCARD of 32 KiB: OK");
	ok(disk_is(v, 63 * 512, 512, 0, 0) && disk_is(v, 128 * 512, 512, 0, 0),
	   "DISCARD leaves its neighbours alone");

	/* What the spec makes UNSUPP, and what does not fit the disk or the
	 * limits: refused whole, nothing done (the first range is valid). */
	memcpy(r, (uint32_t[3][3]){ { 200, 8, 0 }, { 300, 8, unmap } }, sizeof(r));
	is_int(VIRTIO_BLK_S_UNSUPP, dwz(v, VIRTIO_BLK_T_DISCARD, r, 2), "DISCARD with UNMAP: UNSUPP");
	memcpy(r, (uint32_t[3][3]){ { 200, 8, 0 }, { 300, 8, 0x2 } }, sizeof(r));
	is_int(VIRTIO_BLK_S_UNSUPP, dwz(v, VIRTIO_BLK_T_WRITE_ZEROES, r, 2),
	       "WRITE_ZEROES with an unknown flag: UNSUPP");
	memcpy(r, (uint32_t[3][3]){ { 200, 8, 0 }, { (uint32_t)sectors - 4, 8, 0 } }, sizeof(r));
	is_int(VIRTIO_BLK_S_IOERR, dwz(v, VIRTIO_BLK_T_WRITE_ZEROES, r, 2),
	       "WRITE_ZEROES past the end of the disk: IOERR");
	ok(disk_is(v, 200 * 512, 8 * 512, 0, 0), "a refused request changed nothing, not even its valid range");
	is_int(VIRTIO_BLK_S_IOERR, dwz(v, VIRTIO_BLK_T_DISCARD, r, 0),
	       "a DISCARD without ranges: IOERR");
	{
		uint32_t many[257][3];

		for (unsigned int i = 0; i < 257; i++)
			many[i][0] = i, many[i][1] = 1, many[i][2] = 0;
		is_int(VIRTIO_BLK_S_IOERR, dwz(v, VIRTIO_BLK_T_DISCARD, many, 257),
		       "more ranges than max_discard_seg: IOERR");
	}
}

/* Two request queues: MQ offered, num_queues says so, and each queue
 * is served (a write on one, read back on the other). */
static void multiqueue(void)
{
	static struct dev m;
	uint32_t len;

	dev_up_queues(&m, NULL, NULL, false, QUEUES);
	ok(virtio_has_feature(&m.blk.vd, VIRTIO_BLK_F_MQ), "MQ: offered with %u queues", QUEUES);
	is_int(QUEUES, (long long)vpci_rd(&m.d, VPCI_DEVICE_OFF +
					  offsetof(struct virtio_blk_config, num_queues), 2),
	       "MQ: config num_queues");
	is_int(QUEUES, (long long)vpci_rd(&m.d, VIRTIO_PCI_COMMON_NUMQ, 2), "MQ: the transport has them");
	m.q = 1;
	fill_pieces(4, 4096, 0x44);
	is_int(VIRTIO_BLK_S_OK, request(&m, VIRTIO_BLK_T_OUT, 100, 4, 4096, &len), "MQ: a write on queue 1");
	m.q = 0;
	clear_pieces(4, 4096);
	is_int(VIRTIO_BLK_S_OK, request(&m, VIRTIO_BLK_T_IN, 100, 4, 4096, &len), "MQ: read back on queue 0");
	ok(pieces_are(4, 4096, 0, 0x44), "MQ: the same bytes");
	dev_down(&m);

	dev_up(&m, NULL, NULL, false);
	ok(!virtio_has_feature(&m.blk.vd, VIRTIO_BLK_F_MQ), "one queue: no MQ");
	dev_down(&m);
}

/* The IOMMU's fault_pending callback runs on the thread whose DMA was
 * refused, after the IOMMU's locks are released: the gate holds it there,
 * inside its request (tests/unit/thread-gate.h). */
static void fault_gate(void *opaque)
{
	(void)opaque;
	thread_gate_hold();
}

/*
 * The queues are served in parallel, each through its own IOMMU port:
 * while queue 0's thread is held inside a request (its refused DMA's
 * fault callback, gated), a request on queue 1 completes; then queue 0's
 * ends with its I/O error.  With one thread for all queues, queue 1 would
 * wait behind queue 0.
 */
static void parallel_queues(void)
{
	static const struct viommu_host_ops gated_ops = { .is_ram = vpci_is_ram,
							  .fault_pending = fault_gate };
	static struct dev m;
	struct viommu_config cfg;
	struct viommu *iommu;
	uint8_t status;
	uint32_t len;
	bool q1_done;

	viommu_default_config(&cfg);
	iommu = viommu_create(&cfg, &gated_ops, &mem);
	if (!iommu)
		bail("viommu");
	dev_up_queues(&m, iommu, NULL, false, QUEUES);
	ok(m.blk.vd.vq[0].dma != m.blk.vd.vq[1].dma && m.blk.vd.vq[0].dma->port &&
	   m.blk.vd.vq[1].dma->port && m.blk.vd.vq[0].dma->port != m.blk.vd.vq[1].dma->port,
	   "parallel: each queue has a DMA port of its own on the IOMMU");
	/* Queue 0 reads 16 pieces, the highest of them unmapped. */
	if (req_unmap(iommu, DOMAIN, 0, MAPPED_END - 1) ||
	    req_map(iommu, DOMAIN, 0, piece_gpa(0, 16, 4096) - 1, 0, RW))
		bail("remapping");
	thread_gate_arm();
	m.q = 0;
	submit(&m, VIRTIO_BLK_T_IN, 0, 16, 4096, DATA_GPA);
	ok(thread_gate_wait_held(1, 10000), "parallel: queue 0's thread is held inside its refused read");
	/* Queue 1 reads 4 pieces far below queue 0's. */
	m.q = 1;
	submit(&m, VIRTIO_BLK_T_IN, 64, 4, 4096, DATA_GPA - 0x200000);
	q1_done = reap(&m, 1, &status, &len) == 0;
	ok(q1_done && status == VIRTIO_BLK_S_OK,
	   "parallel: meanwhile a read on queue 1 completes (%s)", q1_done ? "OK" : "no used entry");
	thread_gate_open();
	is_int(0, reap(&m, 0, &status, &len), "parallel: queue 0's request completes once released");
	is_int(VIRTIO_BLK_S_IOERR, status, "parallel: ... with its I/O error");
	if (!q1_done)   /* the old single thread ran it after queue 0's */
		reap(&m, 1, &status, &len);
	dev_down(&m);
	viommu_destroy(iommu);
}

int main(void)
{
	static struct dev a;
	struct viommu_config cfg;
	struct viommu *iommu;
	struct swiotlb_pool *pool;
	struct swiotlb_stats st;
	uint32_t len;

	plan_lazy();
	log_max_level = LOG_ERR;   /* the warnings are what is being tested */
	if (guest_mem_init(&mem, MEM_SIZE))
		bail("guest memory");
	host.mem = &mem;
	pci_bus_init(&bus);

	/* No IOMMU, no bounce engine: the device's own buffer. */
	dev_up(&a, NULL, NULL, false);
	round_trips(&a, "plain", 8, 128, 8192);
	round_trips(&a, "plain, 2 MiB", 2064, 32, 65536);
	bad_requests(&a, "plain");
	dev_down(&a);
	dev_up(&a, NULL, NULL, false);
	discard_and_write_zeroes(&a);
	dev_down(&a);

	/* The bounce engine: the disk reads into and writes from the
	 * segments; each data byte crosses the pool once per transfer. */
	pool = swiotlb_pool_create(4u << 20);
	if (!pool)
		bail("bounce pool");
	dev_up(&a, NULL, pool, false);
	round_trips(&a, "bounced", 8, 128, 8192);
	round_trips(&a, "bounced, 2 MiB", 2064, 32, 65536);
	round_trips(&a, "bounced, odd pieces", 6200, 7, 512 * 37);
	/* 9 requests: 6 reads, 3 writes; each also moved its 16-byte
	 * header in through the pool (its status byte is not staged). */
	swiotlb_account_stats(a.blk.vd.dma.bounce, &st);
	is_int(2 * (128 * 8192 + 32 * 65536 + 7 * 512 * 37), (long long)st.bytes_out,
	       "bounced: the pool carried every byte read from the disk, once");
	is_int(128 * 8192 + 32 * 65536 + 7 * 512 * 37 + 9 * 16, (long long)st.bytes_in,
	       "bounced: and every byte written to it, once");
	bad_requests(&a, "bounced");
	dev_down(&a);
	swiotlb_pool_destroy(pool);

	/* A pool too small for any segment the device asks for is full:
	 * every transfer is an I/O error, the disk and the guest untouched. */
	pool = swiotlb_pool_create(SWIOTLB_MIN_POOL);
	if (!pool)
		bail("bounce pool");
	dev_up(&a, NULL, pool, false);
	{
		struct swiotlb_account *hog = swiotlb_account_create(pool, "hog");
		struct swiotlb_seg seg;

		if (!hog || swiotlb_seg_alloc(hog, SWIOTLB_SEG_MAX, 0, &seg))
			bail("filling the pool");
		clear_pieces(4, 4096);
		is_int(VIRTIO_BLK_S_IOERR, request(&a, VIRTIO_BLK_T_IN, 0, 4, 4096, &len),
		       "full pool: a read is an I/O error, and the driver is told so");
		ok(pieces_untouched(4, 4096), "full pool: the guest's buffers are untouched");
		fill_pieces(4, 4096, 0x77);
		is_int(VIRTIO_BLK_S_IOERR, request(&a, VIRTIO_BLK_T_OUT, 0, 4, 4096, &len),
		       "full pool: a write is an I/O error");
		ok(disk_is(&a, 0, 4 * 4096, 0, 0), "full pool: the disk is untouched");
		swiotlb_seg_free(&seg);
		is_int(VIRTIO_BLK_S_OK, request(&a, VIRTIO_BLK_T_IN, 0, 4, 4096, &len),
		       "room again: the same read succeeds");
	}
	dev_down(&a);
	swiotlb_pool_destroy(pool);

	/* Behind the IOMMU, bounced: data outside the mapping is refused
	 * whole, as an I/O error. */
	viommu_default_config(&cfg);
	iommu = viommu_create(&cfg, &ram_ops, &mem);
	pool = swiotlb_pool_create(4u << 20);
	if (!iommu || !pool)
		bail("viommu or pool");
	dev_up(&a, iommu, pool, false);
	round_trips(&a, "IOMMU", 4096, 64, 4096);
	/* Pieces 0..15 live at descending addresses: map everything below
	 * piece 0, the highest, so that it alone is unmapped. */
	if (req_unmap(iommu, DOMAIN, 0, MAPPED_END - 1) ||
	    req_map(iommu, DOMAIN, 0, piece_gpa(0, 16, 4096) - 1, 0, RW))
		bail("remapping");
	clear_pieces(16, 4096);
	is_int(VIRTIO_BLK_S_IOERR, request(&a, VIRTIO_BLK_T_IN, 0, 16, 4096, &len),
	       "IOMMU: a read into an unmapped piece is an I/O error");
	ok(vpci_mem_is(&mem, piece_gpa(0, 16, 4096), 0x5a, 4096),
	   "IOMMU: the unmapped piece was not written");
	fill_pieces(16, 4096, 0x99);
	is_int(VIRTIO_BLK_S_IOERR, request(&a, VIRTIO_BLK_T_OUT, 0, 16, 4096, &len),
	       "IOMMU: a write from an unmapped piece is an I/O error");
	ok(disk_is(&a, 0, 16 * 4096, 0, 0), "IOMMU: the disk is untouched");
	dev_down(&a);
	swiotlb_pool_destroy(pool);
	viommu_destroy(iommu);

	/* A read-only disk refuses writes, and does not offer DISCARD or
	 * WRITE_ZEROES. */
	dev_up(&a, NULL, NULL, true);
	ok(!virtio_has_feature(&a.blk.vd, VIRTIO_BLK_F_DISCARD) &&
	   !virtio_has_feature(&a.blk.vd, VIRTIO_BLK_F_WRITE_ZEROES),
	   "read-only: no DISCARD, no WRITE_ZEROES");
	{
		const uint32_t r[1][3] = { { 0, 8, 0 } };

		is_int(VIRTIO_BLK_S_UNSUPP, dwz(&a, VIRTIO_BLK_T_WRITE_ZEROES, r, 1),
		       "read-only: a WRITE_ZEROES anyway: UNSUPP");
		ok(disk_is(&a, 0, 4096, 0, 0), "read-only: the disk is untouched");
	}
	fill_pieces(1, 4096, 0x11);
	is_int(VIRTIO_BLK_S_IOERR, request(&a, VIRTIO_BLK_T_OUT, 0, 1, 4096, &len),
	       "read-only: a write is an I/O error");
	ok(disk_is(&a, 0, 4096, 0, 0), "read-only: the disk is untouched");
	dev_down(&a);

	multiqueue();
	parallel_queues();

	pci_bus_destroy(&bus);
	guest_mem_free(&mem);
	return 0;
}
