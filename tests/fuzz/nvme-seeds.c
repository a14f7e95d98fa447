/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpus of the nvme target (tests/fuzz/nvme.c) into DIR:
 * a driver's session as Linux's nvme driver runs it (enable, Identify,
 * features, I/O queues, reads and writes through PRP1/PRP2, a PRP list and
 * SGLs, flush, write zeroes, discard, shutdown), and each hostile case:
 * malformed PRPs and SGLs, looping chains, queues outside RAM or beyond
 * CAP.MQES, doorbells beyond the queue, admin commands in the wrong state,
 * reset in the middle, the same without the IOMMU.
 */
#include "tests/fuzz/nvme-format.h"
#include "tests/fuzz/seeds.h"
#include "vmm/nvme_spec.h"

#include <stdbool.h>
#include <string.h>

#include <linux/virtio_iommu.h>

#define RW (VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE)

/* IOVA 0x100000 -> guest-physical pages 0-7 (all of the target's low RAM). */
#define BASE  0x100000ull
#define ASQ   (BASE + 0x0000)
#define ACQ   (BASE + 0x1000)
#define DATA  (BASE + 0x2000)     /* pages 2-4 */
#define LIST  (BASE + 0x5000)
#define IOCQ  (BASE + 0x6000)
#define IOSQ  (BASE + 0x7000)

static unsigned int asq_tail, iosq_tail;

static void reg(struct seed *s, uint16_t off, uint8_t log2_size, uint64_t val)
{
	seed_u8(s, NVF_REG_WRITE);
	seed_u16(s, off);
	seed_u8(s, log2_size);
	seed_u64(s, val);
}

static void start(struct seed *s, uint8_t cfg, bool iommu)
{
	seed_start(s, cfg);
	if (iommu)
		seed_map(s, BASE >> 12, 0, 8, RW, 1);
	asq_tail = iosq_tail = 0;
}

/* Enable with 4-entry admin queues at ASQ/ACQ (IOVAs or, without the
 * IOMMU, guest-physical 0 and 0x1000). */
static void enable(struct seed *s, uint64_t base)
{
	reg(s, NVME_REG_AQA, 2, 3u << 16 | 3);
	reg(s, NVME_REG_ASQ, 3, base);
	reg(s, NVME_REG_ACQ, 3, base + 0x1000);
	reg(s, NVME_REG_CC, 2, NVME_CC_EN | 6u << 16 | 4u << 20);
	asq_tail = 0;
}

static struct nvme_sqe sqe(uint8_t opc, uint32_t nsid, uint64_t prp1, uint64_t prp2)
{
	struct nvme_sqe c;

	memset(&c, 0, sizeof(c));
	c.opcode = opc;
	c.cid = 0x10;
	c.nsid = nsid;
	c.prp1 = prp1;
	c.prp2 = prp2;
	return c;
}

static void submit(struct seed *s, uint64_t sq, unsigned int *tail, unsigned int size,
		   unsigned int qid, const struct nvme_sqe *c)
{
	seed_u8(s, NVF_SQE);
	seed_u64(s, sq + 64ull * *tail);
	seed_put(s, c, sizeof(*c));
	*tail = (*tail + 1) % size;
	reg(s, (uint16_t)(NVME_REG_DBS + 8 * qid), 2, *tail);
}

static void admin(struct seed *s, const struct nvme_sqe *c)
{
	submit(s, ASQ, &asq_tail, 4, 0, c);
}

static void io(struct seed *s, const struct nvme_sqe *c)
{
	submit(s, IOSQ, &iosq_tail, 16, 1, c);
}

static void identify(struct seed *s, uint32_t cns, uint32_t nsid)
{
	struct nvme_sqe c = sqe(NVME_ADMIN_IDENTIFY, nsid, DATA, 0);

	c.cdw10 = cns;
	admin(s, &c);
}

static void create_queues(struct seed *s)
{
	struct nvme_sqe c = sqe(NVME_ADMIN_CREATE_CQ, 0, IOCQ, 0);

	c.cdw10 = 1 | 15u << 16;
	c.cdw11 = 1 | 2 | 1u << 16;
	admin(s, &c);
	c = sqe(NVME_ADMIN_CREATE_SQ, 0, IOSQ, 0);
	c.cdw10 = 1 | 15u << 16;
	c.cdw11 = 1 | 1u << 16;
	admin(s, &c);
	iosq_tail = 0;
}

static struct nvme_sqe rw_cmd(uint8_t opc, uint64_t slba, uint16_t nlb)
{
	struct nvme_sqe c = sqe(opc, 1, 0, 0);

	c.cdw10 = (uint32_t)slba;
	c.cdw11 = (uint32_t)(slba >> 32);
	c.cdw12 = nlb - 1u;
	return c;
}

static void sgl(uint8_t *p, uint64_t addr, uint32_t len, uint8_t type)
{
	memset(p, 0, 16);
	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	p[15] = (uint8_t)(type << 4);
}

static void sgl_cmd(struct nvme_sqe *c, uint64_t addr, uint32_t len, uint8_t type)
{
	c->flags = NVME_PSDT_SGL_MPTR_CONTIG;
	sgl((uint8_t *)&c->prp1, addr, len, type);
}

int main(int argc, char **argv)
{
	const char *dir = seed_dir(argc, argv);
	struct nvme_sqe c;
	struct seed s;
	uint8_t d[64];

	/* Linux's bring-up: Identify, features, I/O queues. */
	start(&s, 0, true);
	enable(&s, ASQ);
	identify(&s, NVME_CNS_CTRL, 0);
	identify(&s, NVME_CNS_NS_ACTIVE_LIST, 0);
	identify(&s, NVME_CNS_NS, 1);
	identify(&s, NVME_CNS_NS_DESC_LIST, 1);
	c = sqe(NVME_ADMIN_SET_FEATURES, 0, 0, 0);
	c.cdw10 = NVME_FEAT_NUM_QUEUES;
	c.cdw11 = 7u << 16 | 7;
	admin(&s, &c);
	c = sqe(NVME_ADMIN_GET_LOG_PAGE, 0xffffffff, DATA, 0);
	c.cdw10 = NVME_LOG_SMART | 127u << 16;
	admin(&s, &c);
	c = sqe(NVME_ADMIN_ASYNC_EVENT, 0, 0, 0);
	admin(&s, &c);
	create_queues(&s);
	reg(&s, NVME_REG_CC, 2, NVME_CC_EN | 6u << 16 | 4u << 20 | NVME_CC_SHN_NORMAL);
	seed_write(dir, "bringup", &s);

	/* I/O: PRP1, PRP1+PRP2, a PRP list, SGLs; flush, zeroes, discard. */
	start(&s, 0, true);
	enable(&s, ASQ);
	create_queues(&s);
	c = rw_cmd(NVME_CMD_WRITE, 0, 8);
	c.prp1 = DATA;
	io(&s, &c);
	c = rw_cmd(NVME_CMD_READ, 8, 16);
	c.prp1 = DATA + 0x200;
	c.prp2 = DATA + 0x1000;
	io(&s, &c);
	{
		uint64_t list[2] = { DATA + 0x1000, DATA + 0x2000 };

		seed_poke(&s, LIST, list, sizeof(list));
		c = rw_cmd(NVME_CMD_READ, 16, 24);
		c.prp1 = DATA;
		c.prp2 = LIST;
		io(&s, &c);
	}
	c = rw_cmd(NVME_CMD_READ, 0, 8);
	sgl_cmd(&c, DATA + 3, 4096, NVME_SGL_DATA_BLOCK);
	io(&s, &c);
	sgl(d, DATA, 1000, NVME_SGL_DATA_BLOCK);
	sgl(d + 16, LIST + 0x100, 16, NVME_SGL_LAST_SEGMENT);
	sgl(d + 32, DATA + 0x2000, 3096, NVME_SGL_DATA_BLOCK);
	seed_poke(&s, LIST + 0xe0, d, 32);
	seed_poke(&s, LIST + 0x100, d + 32, 16);
	c = rw_cmd(NVME_CMD_WRITE, 40, 8);
	sgl_cmd(&c, LIST + 0xe0, 32, NVME_SGL_SEGMENT);
	io(&s, &c);
	c = sqe(NVME_CMD_FLUSH, 1, 0, 0);
	io(&s, &c);
	c = rw_cmd(NVME_CMD_WRITE_ZEROES, 4, 4);
	io(&s, &c);
	{
		uint32_t range[4] = { 0, 8, 16, 0 };

		seed_poke(&s, LIST + 0x200, range, sizeof(range));
		c = sqe(NVME_CMD_DSM, 1, LIST + 0x200, 0);
		c.cdw11 = NVME_DSM_AD;
		io(&s, &c);
	}
	seed_write(dir, "io", &s);

	/* Malformed descriptors: offsets, a list chained to itself, SGL
	 * loops, types, lengths. */
	start(&s, 0, true);
	enable(&s, ASQ);
	create_queues(&s);
	c = rw_cmd(NVME_CMD_READ, 0, 8);
	c.prp1 = DATA + 2;
	io(&s, &c);
	c = rw_cmd(NVME_CMD_READ, 0, 16);
	c.prp1 = DATA;
	c.prp2 = DATA + 0x1100;
	io(&s, &c);
	{
		uint64_t loop[2] = { DATA + 0x1000, LIST + 0xff0 };

		seed_poke(&s, LIST + 0xff0, loop, sizeof(loop));
		c = rw_cmd(NVME_CMD_READ, 0, 32);
		c.prp1 = DATA;
		c.prp2 = LIST + 0xff0;
		io(&s, &c);
	}
	sgl(d, DATA, 512, NVME_SGL_DATA_BLOCK);
	sgl(d + 16, LIST + 0x300, 32, NVME_SGL_SEGMENT);
	seed_poke(&s, LIST + 0x300, d, 32);
	c = rw_cmd(NVME_CMD_READ, 0, 8);
	sgl_cmd(&c, LIST + 0x300, 32, NVME_SGL_SEGMENT);
	io(&s, &c);
	sgl_cmd(&c, DATA, 4095, NVME_SGL_DATA_BLOCK);
	io(&s, &c);
	sgl_cmd(&c, DATA, 4096, NVME_SGL_BIT_BUCKET);
	io(&s, &c);
	c.flags = 0xc0;
	io(&s, &c);
	seed_write(dir, "malformed", &s);

	/* Hostile queues: beyond CAP.MQES, outside RAM; doorbells beyond the
	 * queue and of queues that do not exist; reset in the middle; admin
	 * commands before the queues exist. */
	start(&s, 0, true);
	enable(&s, ASQ);
	c = sqe(NVME_ADMIN_CREATE_CQ, 0, IOCQ, 0);
	c.cdw10 = 1 | 2048u << 16;
	c.cdw11 = 1 | 2;
	admin(&s, &c);
	c = sqe(NVME_ADMIN_CREATE_SQ, 0, IOSQ, 0);
	c.cdw10 = 1 | 15u << 16;
	c.cdw11 = 1 | 1u << 16;
	admin(&s, &c);
	c = sqe(NVME_ADMIN_CREATE_CQ, 0, IOCQ + 0x800, 0);
	c.cdw10 = 1 | 15u << 16;
	c.cdw11 = 1 | 2 | 1u << 16;
	admin(&s, &c);
	c = sqe(NVME_ADMIN_ASYNC_EVENT, 0, 0, 0);
	admin(&s, &c);
	reg(&s, NVME_REG_DBS + 8 * 0, 2, 7);
	reg(&s, NVME_REG_DBS + 8 * 5, 2, 1);
	c = sqe(NVME_ADMIN_CREATE_CQ, 0, 0x7000000000ull, 0);
	c.cdw10 = 1 | 15u << 16;
	c.cdw11 = 1 | 2 | 1u << 16;
	admin(&s, &c);
	c = sqe(NVME_ADMIN_CREATE_SQ, 0, 0x7000001000ull, 0);
	c.cdw10 = 1 | 15u << 16;
	c.cdw11 = 1 | 1u << 16;
	admin(&s, &c);
	reg(&s, NVME_REG_DBS + 8, 2, 1);
	reg(&s, NVME_REG_CC, 2, 0);
	enable(&s, ASQ);
	identify(&s, NVME_CNS_CTRL, 0);
	reg(&s, NVME_REG_AQA, 2, 0);
	reg(&s, NVME_REG_CC, 2, 0);
	reg(&s, NVME_REG_CC, 2, NVME_CC_EN);
	seed_write(dir, "hostile-queues", &s);

	/* Without the IOMMU, read-only namespace: guest-physical queues. */
	start(&s, NVF_CFG_NO_IOMMU | NVF_CFG_RO, false);
	enable(&s, 0);
	{
		struct nvme_sqe w = sqe(NVME_ADMIN_IDENTIFY, 0, 0x2000, 0);

		w.cdw10 = NVME_CNS_CTRL;
		submit(&s, 0, &asq_tail, 4, 0, &w);
	}
	seed_write(dir, "no-iommu", &s);
	return 0;
}
