/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpus of the virtio-blk target (tests/fuzz/virtio-blk.c)
 * into DIR: a driver's well-formed requests (read, write, flush, get-id,
 * discard, write-zeroes, in one or several descriptors, indirect), data
 * unmapped under the device, and the hostile ones (no status byte, short
 * header, past the end, unaligned, bad discard ranges, a read-only disk),
 * so that the fuzzer mutates from there.
 */
#include "tests/fuzz/seeds.h"
#include "tests/fuzz/virtio-blk-format.h"

#include <stdbool.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_iommu.h>
#include <linux/virtio_ring.h>

#define RW (VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE)
#define HDR    0x1000ull    /* request headers; IOVA pages 1-3 -> phys 1-3 */
#define DATA   0x2000ull
#define STATUS 0x1f00ull

/* Rings (page 0) and pages 1-3, identity; page 4 left unmapped. */
static void layout(struct seed *s, uint8_t cfg)
{
	seed_start(s, cfg);
	if (cfg & VBF_CFG_NO_IOMMU)
		return;
	seed_map(s, 0, 0, 1, RW, 1);
	seed_map(s, 1, 1, 3, RW, 1);
}

static void header(struct seed *s, uint64_t addr, uint32_t type, uint64_t sector)
{
	struct virtio_blk_outhdr h = { .type = type, .sector = sector };

	seed_poke(s, addr, &h, sizeof(h));
}

/* header -> data (len bytes, device-writable if `in`) -> status, at
 * descriptors head..head+2, made available. */
static void request(struct seed *s, uint16_t head, uint64_t hdr, uint64_t data, uint32_t len,
		    bool in)
{
	seed_desc(s, 0, head, hdr, 16, VRING_DESC_F_NEXT, (uint16_t)(head + 1));
	seed_desc(s, 0, (uint16_t)(head + 1), data, len,
		  (uint16_t)(VRING_DESC_F_NEXT | (in ? VRING_DESC_F_WRITE : 0)), (uint16_t)(head + 2));
	seed_desc(s, 0, (uint16_t)(head + 2), STATUS + head, 1, VRING_DESC_F_WRITE, 0);
	seed_avail(s, 0, head);
}

static void run(struct seed *s)
{
	seed_u8(s, VBF_RUN);
}

static void rw(const char *dir, uint8_t cfg, const char *name)
{
	struct seed s;

	layout(&s, cfg);
	header(&s, HDR, VIRTIO_BLK_T_IN, 2);
	request(&s, 0, HDR, DATA, 0x1000, true);
	header(&s, HDR + 0x10, VIRTIO_BLK_T_OUT, 8);
	request(&s, 3, HDR + 0x10, DATA + 0x1000, 0x800, false);
	run(&s);
	header(&s, HDR + 0x20, VIRTIO_BLK_T_FLUSH, 0);
	seed_desc(&s, 0, 6, HDR + 0x20, 16, VRING_DESC_F_NEXT, 7);
	seed_desc(&s, 0, 7, STATUS + 6, 1, VRING_DESC_F_WRITE, 0);
	seed_avail(&s, 0, 6);
	run(&s);
	header(&s, HDR + 0x30, VIRTIO_BLK_T_GET_ID, 0);
	request(&s, 0, HDR + 0x30, DATA, VIRTIO_BLK_ID_BYTES, true);
	run(&s);
	seed_write(dir, name, &s);
}

/* A read in one descriptor table of its own (INDIRECT). */
static void indirect(const char *dir)
{
	struct seed s;
	const uint64_t table = 0x3800;

	layout(&s, VBF_CFG_INDIRECT | VBF_CFG_EVENT_IDX);
	header(&s, HDR, VIRTIO_BLK_T_IN, 0);
	seed_desc(&s, table, 0, HDR, 16, VRING_DESC_F_NEXT, 1);
	seed_desc(&s, table, 1, DATA, 0x200, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	seed_desc(&s, table, 2, DATA + 0x800, 0x200, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
	seed_desc(&s, table, 3, STATUS, 1, VRING_DESC_F_WRITE, 0);
	seed_desc(&s, 0, 0, table, 4 * 16, VRING_DESC_F_INDIRECT, 0);
	seed_avail(&s, 0, 0);
	run(&s);
	seed_write(dir, "indirect", &s);
}

static void dwz_range(struct seed *s, uint64_t addr, uint64_t sector, uint32_t count, uint32_t flags)
{
	struct virtio_blk_discard_write_zeroes r = {
		.sector = sector, .num_sectors = count, .flags = flags,
	};

	seed_poke(s, addr, &r, sizeof(r));
}

static void discard_write_zeroes(const char *dir)
{
	struct seed s;

	layout(&s, 0);
	header(&s, HDR, VIRTIO_BLK_T_DISCARD, 0);
	dwz_range(&s, DATA, 4, 8, 0);
	dwz_range(&s, DATA + 16, 20, 2, 0);
	request(&s, 0, HDR, DATA, 32, false);
	header(&s, HDR + 0x10, VIRTIO_BLK_T_WRITE_ZEROES, 0);
	dwz_range(&s, DATA + 0x100, 0, 3, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	dwz_range(&s, DATA + 0x110, 9, 1, 0);
	request(&s, 3, HDR + 0x10, DATA + 0x100, 32, false);
	run(&s);
	/* refused: UNMAP on a discard, an unknown flag, past the end */
	header(&s, HDR + 0x20, VIRTIO_BLK_T_DISCARD, 0);
	dwz_range(&s, DATA + 0x200, 0, 1, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	request(&s, 0, HDR + 0x20, DATA + 0x200, 16, false);
	header(&s, HDR + 0x30, VIRTIO_BLK_T_WRITE_ZEROES, 0);
	dwz_range(&s, DATA + 0x300, 30, 4, 0x80);
	request(&s, 3, HDR + 0x30, DATA + 0x300, 16, false);
	run(&s);
	header(&s, HDR + 0x40, VIRTIO_BLK_T_WRITE_ZEROES, 0);
	dwz_range(&s, DATA + 0x400, 30, 4, 0);
	request(&s, 0, HDR + 0x40, DATA + 0x400, 15, false);   /* not a whole range */
	run(&s);
	seed_write(dir, "discard-write-zeroes", &s);
}

static void hostile(const char *dir, uint8_t cfg, const char *name)
{
	struct seed s;

	layout(&s, cfg);
	header(&s, HDR, VIRTIO_BLK_T_IN, 31);
	request(&s, 0, HDR, DATA, 0x400, true);                 /* past the end */
	header(&s, HDR + 0x10, VIRTIO_BLK_T_OUT, 0);
	request(&s, 3, HDR + 0x10, DATA, 100, false);           /* not whole sectors */
	run(&s);
	seed_desc(&s, 0, 0, HDR, 8, VRING_DESC_F_NEXT, 1);      /* short header */
	seed_desc(&s, 0, 1, STATUS, 1, VRING_DESC_F_WRITE, 0);
	seed_avail(&s, 0, 0);
	seed_desc(&s, 0, 2, HDR, 16, 0, 0);                     /* no status byte */
	seed_avail(&s, 0, 2);
	run(&s);
	header(&s, HDR + 0x20, VIRTIO_BLK_T_IN, 0);
	request(&s, 3, HDR + 0x20, 0x4000, 0x200, true);        /* unmapped data */
	run(&s);
	seed_unmap(&s, 2, 1, 1);                                /* data goes away */
	header(&s, HDR + 0x30, VIRTIO_BLK_T_OUT, 0);
	request(&s, 0, HDR + 0x30, DATA, 0x200, false);
	run(&s);
	seed_u8(&s, VBF_RESET);
	header(&s, HDR + 0x40, 0x7777, 0);                      /* unknown type */
	request(&s, 0, HDR + 0x40, DATA + 0x1000, 0x200, false);
	run(&s);
	seed_write(dir, name, &s);
}

int main(int argc, char **argv)
{
	const char *dir = seed_dir(argc, argv);

	rw(dir, VBF_CFG_EVENT_IDX, "rw");
	rw(dir, VBF_CFG_NO_IOMMU | VBF_CFG_NO_BOUNCE, "rw-no-iommu");
	indirect(dir);
	discard_write_zeroes(dir);
	hostile(dir, 0, "hostile");
	hostile(dir, VBF_CFG_RO | VBF_CFG_NO_DWZ, "hostile-ro");
	return 0;
}
