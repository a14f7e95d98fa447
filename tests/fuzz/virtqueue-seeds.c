/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpus of the virtqueue target (tests/fuzz/virtqueue.c)
 * into DIR: a driver's well-formed traffic (direct and indirect chains,
 * event-idx, several buffers per kick, guest-physical addressing), buffers
 * UNMAPped or moved to another domain between the device's accesses, and
 * each kind of malformed ring, so that the fuzzer mutates from there.
 */
#include "tests/fuzz/seeds.h"
#include "tests/fuzz/virtqueue-format.h"

#include <linux/virtio_ring.h>
#include <linux/virtio_iommu.h>

#define RW (VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE)
#define RO VIRTIO_IOMMU_MAP_F_READ
#define WO VIRTIO_IOMMU_MAP_F_WRITE

/* IOVAs of the layout most seeds use. */
#define DESC   0x10000ull    /* rings: 2 pages -> phys pages 0-1 */
#define AVAIL  0x11000ull
#define USED   0x11800ull
#define DATA   0x20000ull    /* 2 pages read-write -> phys 2-3 */
#define RODATA 0x30000ull    /* 1 page read-only -> phys 4 */
#define WODATA 0x40000ull    /* 1 page write-only -> phys 5 */

static void queue(struct seed *s, unsigned int log2, uint64_t desc, uint64_t avail, uint64_t used)
{
	seed_u8(s, VQF_QUEUE);
	seed_u8(s, (uint8_t)log2);
	seed_u64(s, desc);
	seed_u64(s, avail);
	seed_u64(s, used);
}

static void slot_op(struct seed *s, uint8_t op, uint8_t slot)
{
	seed_u8(s, op);
	seed_u8(s, slot);
}

static void xfer(struct seed *s, uint8_t op, uint8_t slot, uint32_t offset, uint16_t len)
{
	seed_u8(s, op);
	seed_u8(s, slot);
	seed_u32(s, offset);
	seed_u16(s, len);
	if (op == VQF_WRITE)
		seed_u8(s, 0x40);
}

static void push(struct seed *s, uint8_t slot, uint32_t len)
{
	seed_u8(s, VQF_PUSH);
	seed_u8(s, slot);
	seed_u32(s, len);
}

/* The mappings of the common layout, and a queue of 2^log2 there. */
static void layout(struct seed *s, uint8_t cfg, unsigned int log2)
{
	seed_start(s, cfg);
	seed_map(s, DESC >> 12, 0, 2, RW, 1);
	seed_map(s, DATA >> 12, 2, 2, RW, 1);
	seed_map(s, RODATA >> 12, 4, 1, RO, 1);
	seed_map(s, WODATA >> 12, 5, 1, WO, 1);
	queue(s, log2, DESC, AVAIL, USED);
}

/* A request the way a block driver makes it: header, data, status. */
static void request(struct seed *s, uint16_t head)
{
	seed_desc(s, 0, head, RODATA, 16, VRING_DESC_F_NEXT, (uint16_t)(head + 1));
	seed_desc(s, 0, (uint16_t)(head + 1), DATA + 0x100, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE,
	     (uint16_t)(head + 2));
	seed_desc(s, 0, (uint16_t)(head + 2), WODATA + 0x10, 1, VRING_DESC_F_WRITE, 0);
	seed_avail(s, 0, head);
}

int main(int argc, char **argv)
{
	const char *dir = seed_dir(argc, argv);
	struct seed s;

	/* One request: pop, read the header, write data and status, push. */
	layout(&s, 0, 4);
	request(&s, 0);
	slot_op(&s, VQF_POP, 0);
	xfer(&s, VQF_READ, 0, 0, 16);
	xfer(&s, VQF_WRITE, 0, 0, 513);
	push(&s, 0, 513);
	seed_u8(&s, VQF_NOTIFY);
	slot_op(&s, VQF_POP, 1);
	seed_write(dir, "request", &s);

	/* The buffers go away between the device's accesses: UNMAP after the
	 * pop (reads and writes refused), MAP elsewhere (they land there),
	 * then the endpoint moves to an empty domain and back. */
	layout(&s, 0, 4);
	request(&s, 0);
	slot_op(&s, VQF_POP, 0);
	seed_unmap(&s, DATA >> 12, 2, 1);
	xfer(&s, VQF_WRITE, 0, 0, 512);
	xfer(&s, VQF_READ, 0, 0, 16);
	seed_map(&s, DATA >> 12, 6, 2, RW, 1);
	xfer(&s, VQF_WRITE, 0, 0, 512);
	seed_attach(&s, 3);
	xfer(&s, VQF_READ, 0, 0, 16);
	push(&s, 0, 0);
	seed_attach(&s, 2);
	push(&s, 0, 512);
	seed_write(dir, "unmap-between", &s);

	/* Indirect table and event-idx: an empty pop publishes avail_event. */
	layout(&s, VQF_CFG_EVENT_IDX | VQF_CFG_INDIRECT, 3);
	slot_op(&s, VQF_POP, 0);
	seed_desc(&s, DATA + 0x800, 0, RODATA, 64, VRING_DESC_F_NEXT, 1);
	seed_desc(&s, DATA + 0x800, 1, DATA, 256, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	seed_desc(&s, DATA + 0x800, 2, WODATA, 4, VRING_DESC_F_WRITE, 0);
	seed_desc(&s, 0, 5, DATA + 0x800, 48, VRING_DESC_F_INDIRECT, 0);
	seed_avail(&s, 3, 0);
	seed_avail(&s, 0, 5);
	slot_op(&s, VQF_POP, 0);
	xfer(&s, VQF_READ, 0, 8, 56);
	xfer(&s, VQF_WRITE, 0, 200, 60);
	push(&s, 0, 260);
	seed_u8(&s, VQF_NOTIFY);
	seed_avail(&s, 3, 1);
	seed_u8(&s, VQF_NOTIFY);
	slot_op(&s, VQF_POP, 1);
	seed_write(dir, "indirect-event-idx", &s);

	/* A kick with several buffers queued, the ring wrapping around. */
	layout(&s, VQF_CFG_EVENT_IDX, 2);
	for (uint16_t i = 0; i < 4; i++)
		seed_desc(&s, 0, i, DATA + 0x100u * i, 0x80, VRING_DESC_F_WRITE, 0);
	for (unsigned int round = 0; round < 3; round++) {
		for (uint16_t i = 0; i < 3; i++)
			seed_avail(&s, 0, i);
		seed_u8(&s, VQF_KICK);
	}
	seed_write(dir, "kick", &s);

	/* Not behind the IOMMU: guest-physical addresses, a buffer running
	 * off the end of low RAM and one in RAM above 4 GiB. */
	seed_start(&s, VQF_CFG_NO_IOMMU | VQF_CFG_NO_BOUNCE);
	queue(&s, 4, 0x0000, 0x1000, 0x1800);
	seed_desc(&s, 0, 0, 0x7f00, 0x200, VRING_DESC_F_NEXT, 1);
	seed_desc(&s, 0, 1, 0x100000000ull + 0x1ff0, 0x20, VRING_DESC_F_WRITE, 0);
	seed_avail(&s, 0, 0);
	slot_op(&s, VQF_POP, 0);
	xfer(&s, VQF_READ, 0, 0, 0x100);
	xfer(&s, VQF_READ, 0, 0x100, 0x100);
	xfer(&s, VQF_WRITE, 0, 0, 0x10);
	xfer(&s, VQF_WRITE, 0, 0x8, 0x10);
	push(&s, 0, 0x10);
	seed_write(dir, "guest-physical", &s);

	/* Malformed rings, each on a fresh queue: a loop, a head out of
	 * range, the avail index running ahead, nested indirect tables,
	 * readable after writable, an indirect table not negotiated. */
	layout(&s, VQF_CFG_INDIRECT, 3);
	seed_desc(&s, 0, 0, DATA, 8, VRING_DESC_F_NEXT, 0);
	seed_avail(&s, 0, 0);
	slot_op(&s, VQF_POP, 0);
	slot_op(&s, VQF_POP, 0);
	queue(&s, 3, DESC, AVAIL, USED);
	seed_avail(&s, 0, 9);
	slot_op(&s, VQF_POP, 0);
	queue(&s, 3, DESC, AVAIL, USED);
	seed_avail(&s, 1, 100);
	slot_op(&s, VQF_POP, 0);
	queue(&s, 3, DESC, AVAIL, USED);
	seed_desc(&s, DATA + 0x800, 0, DATA + 0x800, 16, VRING_DESC_F_INDIRECT, 0);
	seed_desc(&s, 0, 1, DATA + 0x800, 16, VRING_DESC_F_INDIRECT, 0);
	seed_avail(&s, 0, 1);
	slot_op(&s, VQF_POP, 0);
	queue(&s, 3, DESC, AVAIL, USED);
	seed_desc(&s, 0, 2, DATA, 8, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
	seed_desc(&s, 0, 3, DATA, 8, 0, 0);
	seed_avail(&s, 0, 2);
	slot_op(&s, VQF_POP, 0);
	queue(&s, 3, DESC, AVAIL, USED);
	seed_desc(&s, 0, 4, DATA, 0, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 5);
	seed_desc(&s, 0, 5, DATA, 8, 0, 0);
	seed_avail(&s, 0, 4);
	slot_op(&s, VQF_POP, 0);
	seed_write(dir, "malformed", &s);

	/* A descriptor at the top of the address space, the last page
	 * mapped: 2^64 - 16, 32 bytes, read from offset 16 (issue 8, 1.4). */
	layout(&s, 0, 3);
	seed_map(&s, 0, 6, 1, RW, 1);
	seed_map(&s, 0xffff, 7, 1, RW, 1);
	seed_desc(&s, 0, 0, 0xfffffffffffffff0ull, 32, 0, 0);
	seed_avail(&s, 0, 0);
	slot_op(&s, VQF_POP, 0);
	xfer(&s, VQF_READ, 0, 0, 16);
	xfer(&s, VQF_READ, 0, 16, 16);
	xfer(&s, VQF_READ, 0, 0, 32);
	seed_write(dir, "top-of-iova", &s);

	/* Rings at the top of the address space, IOVA 0 mapped too: the avail
	 * ring's entries, then the used ring's, would wrap to IOVA 0. */
	layout(&s, VQF_CFG_EVENT_IDX, 2);
	seed_map(&s, 0, 6, 1, RW, 1);
	seed_map(&s, 0xffff, 7, 1, RW, 1);
	queue(&s, 2, DESC, 0xfffffffffffffffcull, USED);
	seed_desc(&s, 0, 0, DATA, 16, VRING_DESC_F_WRITE, 0);
	seed_avail(&s, 0, 0);
	slot_op(&s, VQF_POP, 0);
	queue(&s, 2, DESC, AVAIL, 0xfffffffffffffff8ull);
	seed_avail(&s, 0, 0);
	slot_op(&s, VQF_POP, 0);
	push(&s, 0, 16);
	seed_u8(&s, VQF_NOTIFY);
	seed_write(dir, "rings-at-top", &s);
	return 0;
}
