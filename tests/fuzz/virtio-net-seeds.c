/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpus of the virtio-net target (tests/fuzz/virtio-net.c)
 * into DIR: a driver's well-formed traffic (TX frames, RX with and without
 * mergeable buffers, control commands, a second queue pair), buffers
 * unmapped under the device, and the hostile chains (short, header-only,
 * looping, too small), so that the fuzzer mutates from there.
 */
#include "tests/fuzz/seeds.h"
#include "tests/fuzz/virtio-net-format.h"

#include <stdbool.h>

#include <linux/virtio_iommu.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>

#define RW (VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE)
#define HDR 12
#define DATA 0x1000ull     /* IOVA pages 1-3 -> phys 1-3 */

/* Rings (page 0) and data pages 1-3, identity; page 4 left unmapped. */
static void layout(struct seed *s, uint8_t cfg)
{
	seed_start(s, cfg);
	if (cfg & VNF_CFG_NO_IOMMU)
		return;
	seed_map(s, 0, 0, 1, RW, 1);
	seed_map(s, 1, 1, 3, RW, 1);
}

static void select_q(struct seed *s, uint8_t q)
{
	seed_u8(s, VNF_SELECT);
	seed_u8(s, q);
}

static void run(struct seed *s, uint8_t q)
{
	seed_u8(s, VNF_RUN);
	seed_u8(s, q);
}

static void frame(struct seed *s, uint8_t pair, uint8_t flags, uint8_t gso, uint16_t gso_size,
		  uint16_t start, uint16_t off, uint16_t len)
{
	seed_u8(s, VNF_FRAME);
	seed_u8(s, pair);
	seed_u8(s, flags);
	seed_u8(s, gso);
	seed_u16(s, gso_size);
	seed_u16(s, start);
	seed_u16(s, off);
	seed_u16(s, len);
	seed_u8(s, 0x42);
}

/* A one-descriptor chain at `head` of the selected queue, made available. */
static void chain1(struct seed *s, uint16_t head, uint64_t addr, uint32_t len, bool write)
{
	seed_desc(s, 0, head, addr, len, write ? VRING_DESC_F_WRITE : 0, 0);
	seed_avail(s, 0, head);
}

/* A TX header at addr: flags, gso, gso_size, csum_start, csum_offset. */
static void tx_header(struct seed *s, uint64_t addr, uint8_t flags, uint8_t gso, uint16_t gso_size,
		      uint16_t start, uint16_t off)
{
	struct virtio_net_hdr_mrg_rxbuf h = {
		.hdr = { .flags = flags, .gso_type = gso, .gso_size = gso_size, .csum_start = start,
			 .csum_offset = off },
	};

	seed_poke(s, addr, &h, sizeof(h));
}

static void tx(const char *dir, uint8_t cfg, const char *name)
{
	struct seed s;

	layout(&s, cfg);
	select_q(&s, 1);
	tx_header(&s, DATA, 0, 0, 0, 0, 0);
	chain1(&s, 0, DATA, HDR + 60, false);
	tx_header(&s, DATA + 0x100, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16);
	chain1(&s, 1, DATA + 0x100, HDR + 3000, false);
	/* header and frame in two descriptors */
	seed_desc(&s, 0, 2, DATA, HDR, VRING_DESC_F_NEXT, 3);
	seed_desc(&s, 0, 3, DATA + 0x200, 100, 0, 0);
	seed_avail(&s, 0, 2);
	run(&s, 1);
	seed_write(dir, name, &s);
}

static void tx_hostile(const char *dir)
{
	struct seed s;

	layout(&s, VNF_CFG_EVENT_IDX);
	select_q(&s, 1);
	chain1(&s, 0, DATA, HDR - 2, false);             /* short header */
	chain1(&s, 1, DATA, HDR, false);                 /* header only */
	chain1(&s, 2, DATA, 0, false);                   /* zero length */
	run(&s, 1);
	seed_desc(&s, 0, 3, DATA, HDR + 60, VRING_DESC_F_NEXT, 3);   /* a loop */
	seed_avail(&s, 0, 3);
	run(&s, 1);
	seed_u8(&s, VNF_RESET);
	select_q(&s, 1);
	chain1(&s, 0, 0x4000, HDR + 60, false);          /* unmapped */
	run(&s, 1);
	seed_write(dir, "tx-hostile", &s);
}

static void rx(const char *dir, uint8_t cfg, const char *name)
{
	struct seed s;

	layout(&s, cfg);
	select_q(&s, 0);
	for (uint16_t i = 0; i < 4; i++)
		chain1(&s, i, DATA + 0x800ull * i, 1000, true);
	frame(&s, 0, VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0, 0, 2500);
	run(&s, 0);
	frame(&s, 0, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16, 500);
	frame(&s, 0, 0, 0, 0, 0, 0, 300);
	run(&s, 0);
	seed_write(dir, name, &s);
}

static void rx_hostile(const char *dir)
{
	struct seed s;

	layout(&s, VNF_CFG_EVENT_IDX | VNF_CFG_INDIRECT);
	select_q(&s, 0);
	chain1(&s, 0, DATA, 1000, true);
	chain1(&s, 1, 0x4000, 1000, true);     /* unmapped: the frame is refused whole */
	frame(&s, 0, 0, 0, 0, 0, 0, 1500);
	run(&s, 0);
	seed_unmap(&s, 1, 1, 1);              /* the buffer goes away under the device */
	chain1(&s, 2, DATA, 2000, true);
	frame(&s, 0, 0, 0, 0, 0, 0, 100);
	run(&s, 0);
	chain1(&s, 3, DATA + 0x1000, HDR - 1, true);   /* smaller than the header */
	frame(&s, 0, 0, 0, 0, 0, 0, 60);
	frame(&s, 0, 0, 0, 0, 0, 0, 2);               /* a runt */
	run(&s, 0);
	seed_write(dir, "rx-hostile", &s);
}

static void ctrl(const char *dir)
{
	static const uint8_t mq[4] = { VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, 2, 0 };
	static const uint8_t mac[8] = { VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, 2, 1, 2, 3, 4, 5 };
	static const uint8_t rxmode[3] = { VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, 1 };
	struct seed s;

	layout(&s, VNF_CFG_TWO_PAIRS);
	seed_poke(&s, DATA, mq, sizeof(mq));
	seed_poke(&s, DATA + 0x10, mac, sizeof(mac));
	seed_poke(&s, DATA + 0x20, rxmode, sizeof(rxmode));
	select_q(&s, 4);
	for (uint16_t i = 0; i < 3; i++) {
		static const uint32_t len[3] = { sizeof(mq), sizeof(mac), sizeof(rxmode) };

		seed_desc(&s, 0, (uint16_t)(i + 0), DATA + 0x10ull * i, len[i], VRING_DESC_F_NEXT, 3);
		seed_desc(&s, 0, 3, DATA + 0x100, 1, VRING_DESC_F_WRITE, 0);
		seed_avail(&s, 0, i);
		run(&s, 4);
	}
	/* The second pair carries traffic. */
	select_q(&s, 2);
	chain1(&s, 0, DATA + 0x800, 2000, true);
	frame(&s, 1, 0, 0, 0, 0, 0, 700);
	run(&s, 2);
	select_q(&s, 3);
	tx_header(&s, DATA + 0x1000, 0, 0, 0, 0, 0);
	chain1(&s, 0, DATA + 0x1000, HDR + 90, false);
	run(&s, 3);
	seed_write(dir, "ctrl-mq", &s);
}

int main(int argc, char **argv)
{
	const char *dir = seed_dir(argc, argv);

	tx(dir, VNF_CFG_EVENT_IDX, "tx");
	tx(dir, VNF_CFG_NO_IOMMU | VNF_CFG_NO_BOUNCE, "tx-no-iommu");
	tx_hostile(dir);
	rx(dir, VNF_CFG_EVENT_IDX, "rx-mergeable");
	rx(dir, VNF_CFG_NO_MRG | VNF_CFG_NO_OFFLOAD, "rx-single");
	rx_hostile(dir);
	ctrl(dir);
	return 0;
}
