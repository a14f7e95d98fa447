/* SPDX-License-Identifier: MIT */
/*
 * The NVMe controller (vmm/nvme.c) driven as a driver would, without KVM:
 * real guest memory, the real virtio-iommu library and bounce pool, config
 * and BAR accesses through the PCI bus, commands run with nvme_poll() (no
 * worker thread: deterministic).  Registers, admin commands, I/O with PRPs
 * (lists, chained lists) and SGLs (data block, segment, last segment), and
 * each malformed descriptor and hostile queue with the status the spec
 * gives it and the descriptor violation it reports.
 */
#include "vmm/nvme.h"
#include "vmm/nvme_spec.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"
#include "vmm/pci.h"
#include "viommu/report.h"
#include "viommu/viommu.h"
#include "swiotlb/swiotlb.h"
#include "tests/tap/basic.h"
#include "tests/unit/thread-gate.h"
#include "tests/unit/viommu-util.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MEM_SIZE   (64ull << 20)
#define DOMAIN     1
#define POOL_SIZE  (4u << 20)
#define SLOT       16
#define DISK_SIZE  (4u << 20)

/* IOVA layout: 16 MiB read-write at IOVA_RW -> GPA_RW; 64 KiB read-only. */
#define IOVA_RW    0x10000000ull
#define GPA_RW     0x1000000ull
#define IOVA_RO    0x20000000ull
#define GPA_RO     0x3000000ull

/* Where things go in the RW window (offsets). */
#define ASQ_OFF    0x000000
#define ACQ_OFF    0x001000
#define IOSQ_OFF   0x010000
#define IOCQ_OFF   0x020000
#define LIST_OFF   0x030000      /* PRP lists, SGL segments */
#define DATA_OFF   0x100000      /* data buffers */
#define DATA2_OFF  0x400000

static struct pci_bus bus;
static struct guest_mem mem;
static struct viommu *iommu;
static struct swiotlb_pool *pool;
static struct nvme *n;
static uint16_t bdf;
static uint64_t bar;
static int msis, violations;
static char last_rule[128];
static char disk_path[64];
static int disk_fd;

struct queue {
	uint16_t qid;
	uint64_t sq_off, cq_off;
	uint32_t size, tail, head;
	bool phase;
};
static struct queue adminq, ioq;
static uint16_t next_cid = 1;

static bool is_ram(void *o, uint64_t gpa, uint64_t len)
{
	return guest_mem_is_ram(o, gpa, len);
}

static const struct viommu_host_ops ram_ops = { .is_ram = is_ram };

static int fake_msi(void *o, uint64_t addr, uint32_t data)
{
	(void)o, (void)addr, (void)data;
	__atomic_fetch_add(&msis, 1, __ATOMIC_RELAXED);   /* from the servers, once started */
	return 0;
}

/* The tests with the controller's threads hold a server inside its
 * command in the violation callback (it runs on that server's thread,
 * after its IOMMU window ended): tests/unit/thread-gate.h. */

static void on_descriptor(void *o, uint32_t ep, uint64_t addr, uint64_t len, bool device_write,
			  const char *rule)
{
	(void)o;
	viommu_report_descriptor(iommu, ep, addr, len, device_write ? VIOMMU_WRITE : VIOMMU_READ, rule);
}

static void on_violation(void *o, const struct viommu_violation_record *r)
{
	(void)o;
	__atomic_fetch_add(&violations, 1, __ATOMIC_RELAXED);
	thread_gate_hold();
	if (r->reason == VIOMMU_V_DESCRIPTOR && r->rule)
		snprintf(last_rule, sizeof(last_rule), "%s", r->rule);
	else
		snprintf(last_rule, sizeof(last_rule), "(%s)", viommu_violation_name(r->reason));
}

static uint8_t *rw(uint64_t off)
{
	return guest_mem_ptr(&mem, GPA_RW + off, 1);
}

static void reg_w(unsigned int off, uint32_t v)
{
	uint64_t val = v;

	pci_mmio_access(&bus, bar + off, true, 4, &val);
}

static void reg_w64(unsigned int off, uint64_t v)
{
	pci_mmio_access(&bus, bar + off, true, 8, &v);
}

static uint32_t reg_r(unsigned int off)
{
	uint64_t val = 0;

	pci_mmio_access(&bus, bar + off, false, 4, &val);
	return (uint32_t)val;
}

/* Put c on q's SQ and ring its doorbell (no poll). */
static void push(struct queue *q, struct nvme_sqe *c)
{
	c->cid = htole16(next_cid++);
	memcpy(rw(q->sq_off + 64ull * q->tail), c, sizeof(*c));
	q->tail = (q->tail + 1) % q->size;
	reg_w(NVME_REG_DBS + 8 * q->qid, q->tail);
}

/* The next completion of q, if its phase says it is new: its status field
 * (SCT << 8 | SC) in *sc, DW0 in *dw0.  Rings the CQ head doorbell. */
static bool reap(struct queue *q, uint16_t *sc, uint32_t *dw0)
{
	struct nvme_cqe e;

	memcpy(&e, rw(q->cq_off + 16ull * q->head), sizeof(e));
	if ((le16toh(e.status) & 1) != q->phase)
		return false;
	*sc = (le16toh(e.status) >> 1) & 0x7ff;
	*dw0 = le32toh(e.dw0);
	if (++q->head == q->size) {
		q->head = 0;
		q->phase = !q->phase;
	}
	reg_w(NVME_REG_DBS + 8 * q->qid + 4, q->head);
	return true;
}

/* Submit, run, reap: the status (0xffff: no completion). */
static uint16_t run(struct queue *q, struct nvme_sqe *c, uint32_t *dw0)
{
	uint16_t sc;
	uint32_t d;

	push(q, c);
	nvme_poll(n);
	if (!reap(q, &sc, dw0 ? dw0 : &d))
		return 0xffff;
	return sc;
}

#define SC(sct, sc) ((uint16_t)((sct) << 8 | (sc)))

static struct nvme_sqe cmd(uint8_t opc, uint32_t nsid)
{
	struct nvme_sqe c;

	memset(&c, 0, sizeof(c));
	c.opcode = opc;
	c.nsid = htole32(nsid);
	return c;
}

static struct nvme_sqe rw_cmd(uint8_t opc, uint64_t slba, uint32_t nlb)
{
	struct nvme_sqe c = cmd(opc, 1);

	c.cdw10 = htole32((uint32_t)slba);
	c.cdw11 = htole32((uint32_t)(slba >> 32));
	c.cdw12 = htole32(nlb - 1);
	return c;
}

static void sgl_put(uint8_t *p, uint64_t addr, uint32_t len, uint8_t type)
{
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);

	memset(p, 0, 16);
	memcpy(p, &a, 8);
	memcpy(p + 8, &l, 4);
	p[15] = (uint8_t)(type << 4);
}

static void sgl_cmd(struct nvme_sqe *c, uint64_t addr, uint32_t len, uint8_t type)
{
	c->flags = NVME_PSDT_SGL_MPTR_CONTIG;
	sgl_put((uint8_t *)&c->prp1, addr, len, type);
}

static void disk_pattern(void)
{
	uint8_t *buf = malloc(DISK_SIZE);

	for (size_t i = 0; i < DISK_SIZE; i++)
		buf[i] = (uint8_t)(i * 13 + (i >> 9));
	if (pwrite(disk_fd, buf, DISK_SIZE, 0) != DISK_SIZE)
		bail("cannot write the disk image");
	free(buf);
}

static bool disk_equals(uint64_t off, const uint8_t *p, size_t len)
{
	uint8_t *buf = malloc(len);
	bool eq = pread(disk_fd, buf, len, (off_t)off) == (ssize_t)len && !memcmp(buf, p, len);

	free(buf);
	return eq;
}

static bool disk_zero(uint64_t off, size_t len)
{
	uint8_t *z = calloc(1, len);
	bool eq = disk_equals(off, z, len);

	free(z);
	return eq;
}

static void setup(void)
{
	struct nvme_params p = {
		.index = 0,
		.queues = 4,
		.serial = "NVMETEST01",
		.dma = { .mem = &mem, .iommu = iommu, .endpoint = pci_bdf(SLOT, 0) },
		.signal_msi = fake_msi,
		.descriptor_violation = on_descriptor,
	};
	unsigned int cap;

	snprintf(disk_path, sizeof(disk_path), "/tmp/nvme-t.XXXXXX");
	disk_fd = mkstemp(disk_path);
	if (disk_fd < 0 || ftruncate(disk_fd, DISK_SIZE))
		bail("cannot create the disk image");
	disk_pattern();
	if (disk_open_fd(&p.disk, dup(disk_fd), false))
		bail("cannot open the disk image");
	p.dma.bounce = swiotlb_account_create(pool, "nvme0");
	bdf = pci_bdf(SLOT, 0);
	if (viommu_add_endpoint(iommu, bdf, "nvme0") || dma_attach_iommu(&p.dma, iommu))
		bail("cannot put nvme0 behind the IOMMU");
	n = nvme_create(&bus, 0, SLOT, &p);
	if (!n)
		bail("nvme_create: %s", strerror(errno));
	is_int(0x010802, pci_config_read(&bus, bdf, 0x08, 4) >> 8, "class code 01:08:02 (NVMe)");
	ok(pci_config_read(&bus, bdf, PCI_BASE_ADDRESS_0, 4) & PCI_BASE_ADDRESS_MEM_TYPE_64,
	   "BAR0 is a 64-bit memory BAR");
	bar = (pci_config_read(&bus, bdf, PCI_BASE_ADDRESS_0, 4) & ~0xfull) |
	      (uint64_t)pci_config_read(&bus, bdf, PCI_BASE_ADDRESS_0 + 4, 4) << 32;
	pci_config_write(&bus, bdf, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cap = pci_config_read(&bus, bdf, PCI_CAPABILITY_LIST, 1);
	is_int(PCI_CAP_ID_MSIX, pci_config_read(&bus, bdf, cap, 1), "an MSI-X capability");
	is_int(5, (pci_config_read(&bus, bdf, cap + 2, 2) & 0x7ff) + 1,
	       "MSI-X: a vector per queue (admin + 4 I/O)");
	for (unsigned int v = 0; v < 5; v++) {
		reg_w(0x2000 + 16 * v, 0xfee00000);
		reg_w(0x2000 + 16 * v + 8, 0x40 + v);
		reg_w(0x2000 + 16 * v + 12, 0);   /* unmasked */
	}
	pci_config_write(&bus, bdf, cap + 2, 2, 0x8000);
	is_int(0, req_attach(iommu, DOMAIN, bdf, 0), "attached to the test domain");
}

static void enable(void)
{
	adminq = (struct queue){ .qid = 0, .sq_off = ASQ_OFF, .cq_off = ACQ_OFF, .size = 32, .phase = true };
	memset(rw(ASQ_OFF), 0, 0x2000);
	reg_w(NVME_REG_AQA, (31u << 16) | 31);
	reg_w64(NVME_REG_ASQ, IOVA_RW + ASQ_OFF);
	reg_w64(NVME_REG_ACQ, IOVA_RW + ACQ_OFF);
	reg_w(NVME_REG_CC, NVME_CC_EN | 6u << 16 | 4u << 20);
}

static void test_registers(void)
{
	uint64_t cap = reg_r(NVME_REG_CAP) | (uint64_t)reg_r(NVME_REG_CAP + 4) << 32;

	is_int(1023, cap & 0xffff, "CAP.MQES: 1024 entries");
	ok(cap & NVME_CAP_CQR, "CAP.CQR: contiguous queues required");
	ok(cap & NVME_CAP_CSS_NVM, "CAP.CSS: the NVM command set");
	is_int(0, (cap >> 32) & 0xf, "CAP.DSTRD: 4-byte doorbell stride");
	is_int(0, (cap >> 48) & 0xf, "CAP.MPSMIN: 4 KiB");
	is_int(NVME_VERSION, reg_r(NVME_REG_VS), "VS: 1.4.0");
	is_int(0, reg_r(NVME_REG_CSTS), "CSTS: not ready before CC.EN");
	enable();
	is_int(NVME_CSTS_RDY, reg_r(NVME_REG_CSTS), "CC.EN: CSTS.RDY");
	reg_w(NVME_REG_AQA, 0);
	is_int((31u << 16) | 31, reg_r(NVME_REG_AQA), "AQA is read-only while enabled");
}

static void test_admin(void)
{
	struct nvme_sqe c;
	uint32_t dw0;

	c = cmd(NVME_ADMIN_IDENTIFY, 0);
	c.prp1 = htole64(IOVA_RW + DATA_OFF);
	c.cdw10 = htole32(NVME_CNS_CTRL);
	is_int(0, run(&adminq, &c, NULL), "Identify Controller");
	ok(!memcmp(rw(DATA_OFF + 4), "NVMETEST01          ", 20), "SN: the serial, space padded");
	is_int(1, le32toh(*(uint32_t *)rw(DATA_OFF + 516)), "NN: one namespace");
	is_int(NVME_SGLS_SUPPORTED, le32toh(*(uint32_t *)rw(DATA_OFF + 536)) & 3, "SGLS: supported");
	is_int(0x66, *rw(DATA_OFF + 512), "SQES");
	is_int(NVME_VERSION, le32toh(*(uint32_t *)rw(DATA_OFF + 80)), "VER");

	c = cmd(NVME_ADMIN_IDENTIFY, 1);
	c.prp1 = htole64(IOVA_RW + DATA_OFF);
	c.cdw10 = htole32(NVME_CNS_NS);
	is_int(0, run(&adminq, &c, NULL), "Identify Namespace 1");
	is_int(DISK_SIZE / 512, le64toh(*(uint64_t *)rw(DATA_OFF)), "NSZE: the image's 512-byte LBAs");
	is_int(9, *rw(DATA_OFF + 130), "LBAF0: 512-byte LBAs");
	c.nsid = htole32(2);
	is_int(SC(0, NVME_SC_INVALID_NS), run(&adminq, &c, NULL), "Identify Namespace 2: invalid");

	c = cmd(NVME_ADMIN_IDENTIFY, 0);
	c.prp1 = htole64(IOVA_RW + DATA_OFF);
	c.cdw10 = htole32(NVME_CNS_NS_ACTIVE_LIST);
	is_int(0, run(&adminq, &c, NULL), "Active Namespace ID list");
	ok(le32toh(*(uint32_t *)rw(DATA_OFF)) == 1 && *(uint32_t *)rw(DATA_OFF + 4) == 0, "lists NSID 1 only");
	c = cmd(NVME_ADMIN_IDENTIFY, 1);
	c.prp1 = htole64(IOVA_RW + DATA_OFF);
	c.cdw10 = htole32(NVME_CNS_NS_DESC_LIST);
	is_int(0, run(&adminq, &c, NULL), "Namespace Identification Descriptor list");
	ok(*rw(DATA_OFF) == NVME_NIDT_NGUID && *rw(DATA_OFF + 1) == 16, "an NGUID descriptor");
	c.cdw10 = htole32(0x1f);
	is_int(SC(0, NVME_SC_INVALID_FIELD), run(&adminq, &c, NULL), "an unknown CNS: invalid field");

	c = cmd(NVME_ADMIN_SET_FEATURES, 0);
	c.cdw10 = htole32(NVME_FEAT_NUM_QUEUES);
	c.cdw11 = htole32(63u << 16 | 63);
	is_int(0, run(&adminq, &c, &dw0), "Set Features: Number of Queues (64 asked)");
	is_int(3u << 16 | 3, dw0, "4 SQs and 4 CQs allocated (0-based)");
	c.cdw11 = htole32(0xffff);
	is_int(SC(0, NVME_SC_INVALID_FIELD), run(&adminq, &c, NULL), "NSQR 65535: invalid field");
	c = cmd(NVME_ADMIN_SET_FEATURES, 0);
	c.cdw10 = htole32(NVME_FEAT_VWC);
	c.cdw11 = htole32(0);
	is_int(0, run(&adminq, &c, NULL), "Set Features: Volatile Write Cache off");
	c = cmd(NVME_ADMIN_GET_FEATURES, 0);
	c.cdw10 = htole32(NVME_FEAT_VWC);
	is_int(0, run(&adminq, &c, &dw0), "Get Features: Volatile Write Cache");
	is_int(0, dw0, "it says off");
	c.cdw10 = htole32(NVME_FEAT_IRQ_COALESCE);
	is_int(0, run(&adminq, &c, NULL), "Get Features: Interrupt Coalescing");
	c.cdw10 = htole32(NVME_FEAT_ARBITRATION);
	is_int(0, run(&adminq, &c, NULL), "Get Features: Arbitration");
	c.cdw10 = htole32(NVME_FEAT_ASYNC_EVENT);
	is_int(0, run(&adminq, &c, NULL), "Get Features: Async Event Configuration");
	c.cdw10 = htole32(0x7e);
	is_int(SC(0, NVME_SC_INVALID_FIELD), run(&adminq, &c, NULL), "an unknown feature: invalid field");

	c = cmd(NVME_ADMIN_GET_LOG_PAGE, NVME_NSID_ALL);
	c.prp1 = htole64(IOVA_RW + DATA_OFF);
	c.cdw10 = htole32(NVME_LOG_SMART | (512 / 4 - 1) << 16);
	is_int(0, run(&adminq, &c, NULL), "Get Log Page: SMART / Health");
	is_int(100, *rw(DATA_OFF + 3), "available spare 100 percent");
	c.cdw10 = htole32(NVME_LOG_FW_SLOT | (512 / 4 - 1) << 16);
	is_int(0, run(&adminq, &c, NULL), "Get Log Page: Firmware Slot");
	is_int(1, *rw(DATA_OFF), "AFI: slot 1 active");
	c.cdw10 = htole32(NVME_LOG_ERROR | (64 / 4 - 1) << 16);
	is_int(0, run(&adminq, &c, NULL), "Get Log Page: Error Information");
	c.cdw10 = htole32(0x70 | (64 / 4 - 1) << 16);
	is_int(SC(1, NVME_SC_INVALID_LOG_PAGE), run(&adminq, &c, NULL), "an unknown log page");
	c = cmd(0x7f, 0);
	is_int(SC(0, NVME_SC_INVALID_OPCODE), run(&adminq, &c, NULL), "an unknown admin opcode");
	c = cmd(NVME_ADMIN_ABORT, 0);
	is_int(0, run(&adminq, &c, &dw0), "Abort: completes");
	is_int(1, dw0 & 1, "Abort: nothing was aborted (DW0 bit 0)");
}

static void test_queues(void)
{
	struct nvme_sqe c;

	c = cmd(NVME_ADMIN_CREATE_CQ, 0);
	c.prp1 = htole64(IOVA_RW + IOCQ_OFF);
	c.cdw10 = htole32(1 | 1024u << 16);
	c.cdw11 = htole32(1 | 2 | 1u << 16);
	is_int(SC(1, NVME_SC_QUEUE_SIZE), run(&adminq, &c, NULL), "Create I/O CQ of 1025 > CAP.MQES + 1");
	c.cdw10 = htole32(0 | 63u << 16);
	is_int(SC(1, NVME_SC_QID_INVALID), run(&adminq, &c, NULL), "Create I/O CQ 0: invalid QID");
	c.cdw10 = htole32(5 | 63u << 16);
	is_int(SC(1, NVME_SC_QID_INVALID), run(&adminq, &c, NULL), "Create I/O CQ 5 of 4: invalid QID");
	c.cdw10 = htole32(1 | 63u << 16);
	c.cdw11 = htole32(1 | 2 | 9u << 16);
	is_int(SC(1, NVME_SC_INVALID_VECTOR), run(&adminq, &c, NULL), "Create I/O CQ, vector 9: invalid");
	c.cdw11 = htole32(2 | 1u << 16);
	is_int(SC(0, NVME_SC_INVALID_FIELD), run(&adminq, &c, NULL), "Create I/O CQ not contiguous (CAP.CQR)");
	/* (This one deadlocked the controller once: the rule was reported
	 * with the queue tables' lock held.  The fuzz target found it.) */
	c.prp1 = htole64(IOVA_RW + IOCQ_OFF + 0x800);
	c.cdw11 = htole32(1 | 2 | 1u << 16);
	{
		int before = violations;

		is_int(SC(0, NVME_SC_PRP_OFFSET_INVALID), run(&adminq, &c, NULL),
		       "Create I/O CQ at a base not page aligned: PRP offset invalid");
		ok(violations == before + 1 && strstr(last_rule, "I/O CQ base not page aligned"),
		   "reported as a descriptor violation (%s)", last_rule);
	}
	c.prp1 = htole64(IOVA_RW + IOCQ_OFF);
	c.cdw11 = htole32(1 | 2 | 1u << 16);
	is_int(0, run(&adminq, &c, NULL), "Create I/O CQ 1 (64 entries, vector 1)");
	is_int(SC(1, NVME_SC_QID_INVALID), run(&adminq, &c, NULL), "Create I/O CQ 1 again: invalid QID");

	c = cmd(NVME_ADMIN_CREATE_SQ, 0);
	c.prp1 = htole64(IOVA_RW + IOSQ_OFF);
	c.cdw10 = htole32(1 | 63u << 16);
	c.cdw11 = htole32(1 | 2u << 16);
	is_int(SC(1, NVME_SC_CQ_INVALID), run(&adminq, &c, NULL), "Create I/O SQ on CQ 2 (none): CQ invalid");
	c.cdw11 = htole32(1 | 1u << 16);
	is_int(0, run(&adminq, &c, NULL), "Create I/O SQ 1 on CQ 1");
	c = cmd(NVME_ADMIN_DELETE_CQ, 0);
	c.cdw10 = htole32(1);
	is_int(SC(1, NVME_SC_INVALID_QUEUE_DELETION), run(&adminq, &c, NULL),
	       "Delete I/O CQ 1 while SQ 1 uses it: invalid queue deletion");
	ioq = (struct queue){ .qid = 1, .sq_off = IOSQ_OFF, .cq_off = IOCQ_OFF, .size = 64, .phase = true };
}

/*
 * Commands of MDTS (1 MiB) whose data the controller stages in several
 * bounce segments (256 KiB each): SGL data blocks straddling segment
 * boundaries at odd addresses, a PRP list of 255 entries, and a read whose
 * last block the driver may not write: refused whole, nothing written.
 */
static void test_io_mdts(void)
{
	const size_t mib = 1u << 20;
	const uint32_t len1 = 300000, len2 = 400000, len3 = (uint32_t)(mib - len1 - len2);
	uint8_t *seg = rw(LIST_OFF + 0x8000), *d1 = rw(DATA_OFF), *d2 = rw(DATA_OFF + 0x50007),
		*d3 = rw(DATA_OFF + 0xc0005), *back = rw(DATA2_OFF);
	uint8_t *expect = malloc(mib);
	uint64_t *list = (uint64_t *)rw(LIST_OFF + 0x9000);
	struct nvme_sqe c;
	int before;
	bool untouched = true;

	for (size_t i = 0; i < mib; i++)
		expect[i] = (uint8_t)(i * 11 + (i >> 12));
	memcpy(d1, expect, len1);
	memcpy(d2, expect + len1, len2);
	memcpy(d3, expect + len1 + len2, len3);
	sgl_put(seg, IOVA_RW + DATA_OFF, len1, NVME_SGL_DATA_BLOCK);
	sgl_put(seg + 16, IOVA_RW + DATA_OFF + 0x50007, len2, NVME_SGL_DATA_BLOCK);
	sgl_put(seg + 32, IOVA_RW + DATA_OFF + 0xc0005, len3, NVME_SGL_DATA_BLOCK);
	c = rw_cmd(NVME_CMD_WRITE, 512, (uint32_t)(mib / 512));
	sgl_cmd(&c, IOVA_RW + LIST_OFF + 0x8000, 48, NVME_SGL_LAST_SEGMENT);
	is_int(0, run(&ioq, &c, NULL), "Write 1 MiB from 3 SGL blocks across bounce segments");
	ok(disk_equals(512 * 512, expect, mib), "the image holds the 1 MiB in order");

	memset(back, 0, mib);
	for (unsigned int i = 0; i < 255; i++)
		list[i] = htole64(IOVA_RW + DATA2_OFF + 0x1000ull * (i + 1));
	c = rw_cmd(NVME_CMD_READ, 512, (uint32_t)(mib / 512));
	c.prp1 = htole64(IOVA_RW + DATA2_OFF);
	c.prp2 = htole64(IOVA_RW + LIST_OFF + 0x9000);
	is_int(0, run(&ioq, &c, NULL), "Read 1 MiB through a PRP list of 255 entries");
	ok(!memcmp(back, expect, mib), "read back what was written");

	/* The last 64 KiB go to the read-only window. */
	memset(back, 0x5c, mib);
	sgl_put(seg, IOVA_RW + DATA2_OFF + 1, 500000, NVME_SGL_DATA_BLOCK);
	sgl_put(seg + 16, IOVA_RW + DATA2_OFF + 0x80000, (uint32_t)(mib - 500000 - 65536),
		NVME_SGL_DATA_BLOCK);
	sgl_put(seg + 32, IOVA_RO, 65536, NVME_SGL_DATA_BLOCK);
	c = rw_cmd(NVME_CMD_READ, 512, (uint32_t)(mib / 512));
	sgl_cmd(&c, IOVA_RW + LIST_OFF + 0x8000, 48, NVME_SGL_LAST_SEGMENT);
	before = violations;
	is_int(SC(0, NVME_SC_DATA_XFER_ERROR), run(&ioq, &c, NULL),
	       "Read 1 MiB, its last block read-only: data transfer error");
	ok(violations == before + 1 && !strcmp(last_rule, "(permission)"),
	   "... reported once as a permission violation");
	for (size_t i = 0; i < mib; i++)
		untouched &= back[i] == 0x5c;
	ok(untouched, "... and nothing was written to the blocks the driver may write");
	free(expect);
}

static void test_io(void)
{
	uint8_t *data = rw(DATA_OFF), *data2 = rw(DATA2_OFF), expect[64 * 1024];
	struct nvme_sqe c;
	int before = msis;

	/* PRP1 + PRP2: 8 KiB at a page-crossing offset: PRP1 0x200 into a page. */
	for (unsigned int i = 0; i < 8192; i++)
		data[0x200 + i] = (uint8_t)(i * 7 + 1);
	c = rw_cmd(NVME_CMD_WRITE, 8, 16);
	c.prp1 = htole64(IOVA_RW + DATA_OFF + 0x200);
	c.prp2 = htole64(IOVA_RW + DATA_OFF + 0x200 + 0x2000 - 0x200);
	/* that is 3 pages: needs a list.  One list entry per page after the first. */
	{
		uint64_t *list = (uint64_t *)rw(LIST_OFF);

		list[0] = htole64(IOVA_RW + DATA_OFF + 0x1000);
		list[1] = htole64(IOVA_RW + DATA_OFF + 0x2000);
		c.prp2 = htole64(IOVA_RW + LIST_OFF);
	}
	is_int(0, run(&ioq, &c, NULL), "Write 8 KiB: PRP1 at offset 0x200 and a PRP list");
	ok(disk_equals(8 * 512, data + 0x200, 8192), "the image holds the 8 KiB");
	ok(msis > before, "an MSI-X message for the completion");

	/* Read it back through PRP1 + PRP2 (two pages, no list). */
	memset(data2, 0, 8192);
	c = rw_cmd(NVME_CMD_READ, 8, 16);
	c.prp1 = htole64(IOVA_RW + DATA2_OFF);
	c.prp2 = htole64(IOVA_RW + DATA2_OFF + 0x1000);
	is_int(0, run(&ioq, &c, NULL), "Read 8 KiB: PRP1 + PRP2");
	ok(!memcmp(data2, data + 0x200, 8192), "read back what was written");

	/* A chained PRP list: the list starts 8 bytes before a page end, so
	 * its one entry there chains to the next list page. */
	for (unsigned int i = 0; i < 5 * 4096; i++)
		data[i] = (uint8_t)(i ^ 0x5a);
	{
		uint64_t *l1 = (uint64_t *)rw(LIST_OFF + 0x1000 - 8);
		uint64_t *l2 = (uint64_t *)rw(LIST_OFF + 0x3000);

		l1[0] = htole64(IOVA_RW + LIST_OFF + 0x3000);   /* chain */
		for (unsigned int i = 0; i < 4; i++)
			l2[i] = htole64(IOVA_RW + DATA_OFF + 0x1000 * (i + 1));
		c = rw_cmd(NVME_CMD_WRITE, 100, 40);
		c.prp1 = htole64(IOVA_RW + DATA_OFF);
		c.prp2 = htole64(IOVA_RW + LIST_OFF + 0x1000 - 8);
		is_int(0, run(&ioq, &c, NULL), "Write 20 KiB through a chained PRP list");
		ok(disk_equals(100 * 512, data, 5 * 4096), "the image holds the 20 KiB");
	}

	/* SGL: one data block in the command. */
	memset(data2, 0, 0x10000);
	c = rw_cmd(NVME_CMD_READ, 100, 40);
	sgl_cmd(&c, IOVA_RW + DATA2_OFF + 3, 5 * 4096, NVME_SGL_DATA_BLOCK);
	is_int(0, run(&ioq, &c, NULL), "Read 20 KiB into one SGL data block at an odd address");
	ok(!memcmp(data2 + 3, data, 5 * 4096), "the data landed there");

	/* SGL: Segment -> Last Segment, three data blocks. */
	{
		uint8_t *seg1 = rw(LIST_OFF + 0x5000), *seg2 = rw(LIST_OFF + 0x6000);

		sgl_put(seg1, IOVA_RW + DATA2_OFF + 0x8000, 1000, NVME_SGL_DATA_BLOCK);
		sgl_put(seg1 + 16, IOVA_RW + LIST_OFF + 0x6000, 32, NVME_SGL_LAST_SEGMENT);
		sgl_put(seg2, IOVA_RW + DATA2_OFF + 0xa000, 3000, NVME_SGL_DATA_BLOCK);
		sgl_put(seg2 + 16, IOVA_RW + DATA2_OFF + 0xc000, 4096 - 1000 - 3000 + 4096,
			NVME_SGL_DATA_BLOCK);
		c = rw_cmd(NVME_CMD_READ, 100, 16);
		sgl_cmd(&c, IOVA_RW + LIST_OFF + 0x5000, 32, NVME_SGL_SEGMENT);
		is_int(0, run(&ioq, &c, NULL), "Read 8 KiB through a Segment and a Last Segment");
		memcpy(expect, rw(DATA2_OFF + 0x8000), 1000);
		memcpy(expect + 1000, rw(DATA2_OFF + 0xa000), 3000);
		memcpy(expect + 4000, rw(DATA2_OFF + 0xc000), 8192 - 4000);
		ok(!memcmp(expect, data, 8192), "the three blocks hold the 8 KiB in order");

		/* The same SGL for a write of other data. */
		memset(rw(DATA2_OFF + 0x8000), 0xa1, 1000);
		memset(rw(DATA2_OFF + 0xa000), 0xa2, 3000);
		memset(rw(DATA2_OFF + 0xc000), 0xa3, 8192 - 4000);
		c = rw_cmd(NVME_CMD_WRITE, 200, 16);
		sgl_cmd(&c, IOVA_RW + LIST_OFF + 0x5000, 32, NVME_SGL_SEGMENT);
		is_int(0, run(&ioq, &c, NULL), "Write 8 KiB from a Segment and a Last Segment");
		memset(expect, 0xa1, 1000);
		memset(expect + 1000, 0xa2, 3000);
		memset(expect + 4000, 0xa3, 8192 - 4000);
		ok(disk_equals(200 * 512, expect, 8192), "the image holds the gathered 8 KiB");
	}

	c = cmd(NVME_CMD_FLUSH, 1);
	is_int(0, run(&ioq, &c, NULL), "Flush");
	c = rw_cmd(NVME_CMD_WRITE_ZEROES, 200, 16);
	is_int(0, run(&ioq, &c, NULL), "Write Zeroes 8 KiB");
	ok(disk_zero(200 * 512, 8192), "the image reads zero there");
	{
		uint8_t *r = rw(LIST_OFF + 0x7000);
		uint32_t nlb = htole32(8);
		uint64_t slba = htole64(100);

		memset(r, 0, 32);
		memcpy(r + 4, &nlb, 4);
		memcpy(r + 8, &slba, 8);
		c = cmd(NVME_CMD_DSM, 1);
		c.prp1 = htole64(IOVA_RW + LIST_OFF + 0x7000);
		c.cdw10 = htole32(0);
		c.cdw11 = htole32(NVME_DSM_AD);
		is_int(0, run(&ioq, &c, NULL), "Dataset Management: deallocate 8 LBAs");
		ok(disk_zero(100 * 512, 8 * 512), "the range reads zero (a punched hole)");
		ok(disk_equals(108 * 512, data + 8 * 512, 512), "the LBA after it is untouched");
	}

	test_io_mdts();

	c = rw_cmd(NVME_CMD_READ, DISK_SIZE / 512 - 1, 2);
	c.prp1 = htole64(IOVA_RW + DATA2_OFF);
	is_int(SC(0, NVME_SC_LBA_RANGE), run(&ioq, &c, NULL), "Read past the end: LBA out of range");
	c = rw_cmd(NVME_CMD_READ, 0, 1);
	c.nsid = htole32(2);
	c.prp1 = htole64(IOVA_RW + DATA2_OFF);
	is_int(SC(0, NVME_SC_INVALID_NS), run(&ioq, &c, NULL), "Read of namespace 2: invalid namespace");
	c = rw_cmd(NVME_CMD_READ, 0, 2049);
	c.prp1 = htole64(IOVA_RW + DATA2_OFF);
	is_int(SC(0, NVME_SC_INVALID_FIELD), run(&ioq, &c, NULL), "Read of 2049 LBAs (> MDTS): invalid field");
	c = cmd(0x7f, 1);
	is_int(SC(0, NVME_SC_INVALID_OPCODE), run(&ioq, &c, NULL), "an unknown I/O opcode");
}

/* A malformed descriptor: its status, a descriptor violation naming rule. */
static void malformed(struct nvme_sqe *c, uint16_t want, const char *rule, const char *what)
{
	int before = violations;

	is_int(want, run(&ioq, c, NULL), "%s: status", what);
	ok(violations == before + 1 && strstr(last_rule, rule), "%s: violation '%s' (got '%s')", what,
	   rule, last_rule);
}

static void test_malformed(void)
{
	uint8_t *seg = rw(LIST_OFF + 0x8000);
	uint64_t *list = (uint64_t *)rw(LIST_OFF + 0x9000);
	uint8_t *d2 = rw(DATA2_OFF);
	struct nvme_sqe c;
	bool untouched = true;

	c = rw_cmd(NVME_CMD_READ, 0, 1);
	c.prp1 = htole64(IOVA_RW + DATA2_OFF + 2);
	malformed(&c, SC(0, NVME_SC_PRP_OFFSET_INVALID), "PRP1 offset not dword aligned", "PRP1 at +2");
	c = rw_cmd(NVME_CMD_READ, 0, 16);
	c.prp1 = htole64(IOVA_RW + DATA2_OFF);
	c.prp2 = htole64(IOVA_RW + DATA2_OFF + 0x1100);
	malformed(&c, SC(0, NVME_SC_PRP_OFFSET_INVALID), "PRP2 data pointer with a non-zero page offset",
		  "PRP2 at +0x100");
	list[0] = htole64(IOVA_RW + DATA2_OFF + 0x1000);
	list[1] = htole64(IOVA_RW + DATA2_OFF + 0x2008);
	c = rw_cmd(NVME_CMD_READ, 0, 24);
	c.prp2 = htole64(IOVA_RW + LIST_OFF + 0x9000);
	memset(d2, 0xee, 0x3000);
	malformed(&c, SC(0, NVME_SC_PRP_OFFSET_INVALID), "PRP list entry with a non-zero page offset",
		  "a PRP list entry at +8");
	for (unsigned int i = 0; i < 0x3000; i++)
		untouched &= d2[i] == 0xee;
	ok(untouched, "a refused read wrote nothing");
	c.prp2 = htole64(IOVA_RW + LIST_OFF + 0x9004);
	malformed(&c, SC(0, NVME_SC_PRP_OFFSET_INVALID), "PRP list pointer not qword aligned",
		  "PRP list at +4");
	/* A list page whose chain entry points to itself: needs more entries
	 * than the page has, so it chains, back to where it started. */
	{
		uint64_t *l = (uint64_t *)rw(LIST_OFF + 0xa000 - 16);

		l[0] = htole64(IOVA_RW + DATA2_OFF + 0x1000);
		l[1] = htole64(IOVA_RW + LIST_OFF + 0xa000 - 16);
		c = rw_cmd(NVME_CMD_READ, 0, 32);
		c.prp1 = htole64(IOVA_RW + DATA2_OFF);
		c.prp2 = htole64(IOVA_RW + LIST_OFF + 0xa000 - 16);
		malformed(&c, SC(0, NVME_SC_INVALID_FIELD), "PRP list chains back", "a PRP list chained to itself");
	}

	c = rw_cmd(NVME_CMD_READ, 0, 8);
	sgl_cmd(&c, IOVA_RW + DATA2_OFF, 4095, NVME_SGL_DATA_BLOCK);
	malformed(&c, SC(0, NVME_SC_SGL_INVALID_DATA), "shorter than the command's data",
		  "an SGL data block 1 byte short of NLB");
	sgl_cmd(&c, IOVA_RW + DATA2_OFF, 4097, NVME_SGL_DATA_BLOCK);
	malformed(&c, SC(0, NVME_SC_SGL_INVALID_DATA), "longer than the command's data",
		  "an SGL data block 1 byte longer than NLB");
	sgl_cmd(&c, IOVA_RW + DATA2_OFF, 4096, NVME_SGL_BIT_BUCKET);
	malformed(&c, SC(0, NVME_SC_SGL_INVALID_TYPE), "type not supported", "an SGL bit bucket");
	/* A Segment whose last descriptor points to itself. */
	sgl_put(seg, IOVA_RW + DATA2_OFF, 512, NVME_SGL_DATA_BLOCK);
	sgl_put(seg + 16, IOVA_RW + LIST_OFF + 0x8000, 32, NVME_SGL_SEGMENT);
	sgl_cmd(&c, IOVA_RW + LIST_OFF + 0x8000, 32, NVME_SGL_SEGMENT);
	malformed(&c, SC(0, NVME_SC_SGL_INVALID_SEGMENT), "SGL segment chain loops", "an SGL segment loop");
	/* A segment descriptor in the middle of a segment. */
	sgl_put(seg, IOVA_RW + LIST_OFF + 0x8100, 16, NVME_SGL_LAST_SEGMENT);
	sgl_put(seg + 16, IOVA_RW + DATA2_OFF, 4096, NVME_SGL_DATA_BLOCK);
	malformed(&c, SC(0, NVME_SC_SGL_INVALID_SEGMENT), "not last in its segment",
		  "an SGL segment descriptor not last");
	/* A segment inside a Last Segment. */
	sgl_put(seg, IOVA_RW + DATA2_OFF, 512, NVME_SGL_DATA_BLOCK);
	sgl_put(seg + 16, IOVA_RW + LIST_OFF + 0x8100, 16, NVME_SGL_SEGMENT);
	sgl_cmd(&c, IOVA_RW + LIST_OFF + 0x8000, 32, NVME_SGL_LAST_SEGMENT);
	malformed(&c, SC(0, NVME_SC_SGL_INVALID_SEGMENT), "inside a Last Segment",
		  "an SGL segment inside a Last Segment");
	sgl_cmd(&c, IOVA_RW + LIST_OFF + 0x8000, 24, NVME_SGL_SEGMENT);
	malformed(&c, SC(0, NVME_SC_SGL_INVALID_SEGMENT), "multiple of 16",
		  "an SGL segment of 24 bytes");
	c.cdw10 = 0;
	c.flags = 0xc0;
	malformed(&c, SC(0, NVME_SC_INVALID_FIELD), "PSDT reserved", "PSDT 11b");

	/* A refused DMA (not a malformed descriptor): Data Transfer Error,
	 * and the IOMMU's own violation. */
	{
		int before = violations;
		uint8_t *ro = guest_mem_ptr(&mem, GPA_RO, 4096);

		memset(ro, 0x77, 4096);
		c = rw_cmd(NVME_CMD_READ, 0, 8);
		c.prp1 = htole64(IOVA_RO);
		is_int(SC(0, NVME_SC_DATA_XFER_ERROR), run(&ioq, &c, NULL),
		       "Read into a read-only mapping: data transfer error");
		ok(violations == before + 1 && !strcmp(last_rule, "(permission)"),
		   "the IOMMU reports a permission violation (%s)", last_rule);
		untouched = true;
		for (unsigned int i = 0; i < 4096; i++)
			untouched &= ro[i] == 0x77;
		ok(untouched, "nothing was written there");
	}
}

/* MSI-X masking and pending bits; no DMA without bus mastering. */
static void test_msix_and_master(void)
{
	struct nvme_sqe c;
	uint16_t sc;
	uint32_t dw0;
	int before;

	reg_w(0x2000 + 16 * 1 + 12, 1);   /* mask vector 1 (I/O CQ 1) */
	before = msis;
	c = cmd(NVME_CMD_FLUSH, 1);
	is_int(0, run(&ioq, &c, NULL), "a command completes with its vector masked");
	is_int(before, msis, "no message while masked");
	is_int(1u << 1, reg_r(0x3000), "the PBA holds vector 1 pending");
	reg_w(0x2000 + 16 * 1 + 12, 0);
	is_int(before + 1, msis, "unmasking sends the pending message");
	is_int(0, reg_r(0x3000), "and clears its pending bit");

	pci_config_write(&bus, bdf, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	c = cmd(NVME_CMD_FLUSH, 1);
	push(&ioq, &c);
	is_int(0, nvme_poll(n), "bus mastering off: nothing is fetched");
	ok(!reap(&ioq, &sc, &dw0), "no completion");
	pci_config_write(&bus, bdf, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	is_int(1, nvme_poll(n), "bus mastering on: the command runs");
	ok(reap(&ioq, &sc, &dw0) && sc == 0, "and completes");
}

static void test_hostile_queues(void)
{
	struct nvme_sqe c;
	struct nvme_stats st;
	uint16_t sc;
	uint32_t dw0;

	/* AERs: held; a fifth is refused; a doorbell beyond the queue
	 * completes one with an Error event. */
	for (unsigned int i = 0; i < 4; i++) {
		c = cmd(NVME_ADMIN_ASYNC_EVENT, 0);
		is_int(0xffff, run(&adminq, &c, NULL), "AER %u: held", i + 1);
	}
	c = cmd(NVME_ADMIN_ASYNC_EVENT, 0);
	is_int(SC(1, NVME_SC_AER_LIMIT), run(&adminq, &c, NULL), "a fifth AER: limit exceeded");
	reg_w(NVME_REG_DBS + 8 * 1, 64);   /* SQ 1 has 64 entries: 0..63 */
	nvme_poll(n);
	ok(reap(&adminq, &sc, &dw0) && sc == 0, "an invalid doorbell value completes an AER");
	is_int(NVME_AER_TYPE_ERROR | NVME_AER_INFO_INVALID_DB_VALUE << 8 | NVME_LOG_ERROR << 16, dw0,
	       "its event: error, invalid doorbell write value, error log");
	nvme_stats(n, &st);
	is_int(1, st.invalid_doorbells, "counted");
	is_int(NVME_CSTS_RDY, reg_r(NVME_REG_CSTS), "the controller goes on");
	reg_w(NVME_REG_DBS + 8 * 9, 1);    /* no queue 9 */
	nvme_poll(n);
	ok(reap(&adminq, &sc, &dw0) && ((dw0 >> 8) & 0xff) == NVME_AER_INFO_INVALID_DB_REGISTER,
	   "a doorbell of a queue that does not exist: invalid doorbell register event");

	/* An I/O SQ outside guest RAM / unmapped: the fetch is refused:
	 * controller fatal status until reset. */
	c = cmd(NVME_ADMIN_CREATE_CQ, 0);
	c.prp1 = htole64(IOVA_RW + IOCQ_OFF + 0x1000);
	c.cdw10 = htole32(2 | 15u << 16);
	c.cdw11 = htole32(1 | 2 | 2u << 16);
	is_int(0, run(&adminq, &c, NULL), "Create I/O CQ 2");
	c = cmd(NVME_ADMIN_CREATE_SQ, 0);
	c.prp1 = htole64(0x7000000000ull);
	c.cdw10 = htole32(2 | 15u << 16);
	c.cdw11 = htole32(1 | 2u << 16);
	is_int(0, run(&adminq, &c, NULL), "Create I/O SQ 2 at an unmapped IOVA");
	reg_w(NVME_REG_DBS + 8 * 2, 1);
	nvme_poll(n);
	ok(reg_r(NVME_REG_CSTS) & NVME_CSTS_CFS, "its first fetch: CSTS.CFS");
	nvme_stats(n, &st);
	is_int(1, st.fatal, "counted as fatal");

	reg_w(NVME_REG_CC, 0);
	is_int(0, reg_r(NVME_REG_CSTS), "CC.EN 0: reset clears RDY and CFS");
	enable();
	is_int(NVME_CSTS_RDY, reg_r(NVME_REG_CSTS), "enabled again");
	c = cmd(NVME_ADMIN_CREATE_SQ, 0);
	c.prp1 = htole64(IOVA_RW + IOSQ_OFF);
	c.cdw10 = htole32(1 | 63u << 16);
	c.cdw11 = htole32(1 | 1u << 16);
	is_int(SC(1, NVME_SC_CQ_INVALID), run(&adminq, &c, NULL), "the I/O queues are gone after reset");

	/* Shutdown. */
	reg_w(NVME_REG_CC, reg_r(NVME_REG_CC) | NVME_CC_SHN_NORMAL);
	is_int(NVME_CSTS_SHST_COMPLETE, reg_r(NVME_REG_CSTS) & NVME_CSTS_SHST_MASK,
	       "CC.SHN: CSTS.SHST says shutdown complete");
	c = cmd(NVME_ADMIN_IDENTIFY, 0);
	c.prp1 = htole64(IOVA_RW + DATA_OFF);
	c.cdw10 = htole32(NVME_CNS_CTRL);
	is_int(0xffff, run(&adminq, &c, NULL), "no command runs after shutdown");
	reg_w(NVME_REG_CC, 0);

	/* Enable with a bad admin queue: CFS, never ready. */
	reg_w(NVME_REG_AQA, 0);   /* 1-entry queues */
	reg_w(NVME_REG_CC, NVME_CC_EN);
	is_int(NVME_CSTS_CFS, reg_r(NVME_REG_CSTS), "enable with 1-entry admin queues: CFS, not ready");
	reg_w(NVME_REG_CC, 0);
	enable();
	is_int(NVME_CSTS_RDY, reg_r(NVME_REG_CSTS), "a proper enable after that works");
	nvme_stats(n, &st);
	is_int(14, st.descriptor_errors, "each malformed descriptor counted once");
}

/* --- with the controller's threads ---------------------------------------- */

/* Queues of the thread tests: SQ q and CQ q in their own pages. */
#define TSQ_OFF(q)  (0x600000 + 0x10000ull * (q))
#define TCQ_OFF(q)  (0x680000 + 0x10000ull * (q))
#define TDATA_OFF   0x800000     /* 64 commands x 8 KiB for each of 2 queues */
#define WAIT_MS     20000        /* a hang guard, never a timing assertion */

static struct queue tq[5];

/* The next completion of q, waiting for it (a server posts it). */
static bool wait_reap(struct queue *q, uint16_t *sc, uint32_t *dw0)
{
	uint32_t d;

	for (unsigned int ms = 0; ms < WAIT_MS; ms++) {
		if (reap(q, sc, dw0 ? dw0 : &d))
			return true;
		usleep(1000);
	}
	return false;
}

/* Submit on q and wait for the completion: its status, 0xffff if none came. */
static uint16_t run_wait(struct queue *q, struct nvme_sqe *c)
{
	uint16_t sc;

	push(q, c);
	return wait_reap(q, &sc, NULL) ? sc : 0xffff;
}

/* Create CQ q (entries) and SQ q on CQ cqid, with the admin queue served
 * by the admin thread. */
static bool create_pair(unsigned int q, unsigned int cqid, unsigned int entries, bool make_cq)
{
	struct nvme_sqe c;

	if (make_cq) {
		memset(rw(TCQ_OFF(cqid)), 0, 16 * entries);
		c = cmd(NVME_ADMIN_CREATE_CQ, 0);
		c.prp1 = htole64(IOVA_RW + TCQ_OFF(cqid));
		c.cdw10 = htole32(cqid | (entries - 1) << 16);
		c.cdw11 = htole32(1 | 2 | cqid << 16);
		if (run_wait(&adminq, &c))
			return false;
		tq[cqid].cq_off = TCQ_OFF(cqid);
		tq[cqid].head = 0;
		tq[cqid].phase = true;
	}
	c = cmd(NVME_ADMIN_CREATE_SQ, 0);
	c.prp1 = htole64(IOVA_RW + TSQ_OFF(q));
	c.cdw10 = htole32(q | (entries - 1) << 16);
	c.cdw11 = htole32(1 | cqid << 16);
	if (run_wait(&adminq, &c))
		return false;
	tq[q].qid = (uint16_t)q;
	tq[q].sq_off = TSQ_OFF(q);
	tq[q].size = entries;
	tq[q].tail = 0;
	if (make_cq)
		tq[cqid].size = entries;
	return true;
}

/* A Read of one LBA into the read-only window: its server's write to
 * guest memory is refused, and the violation callback holds the server. */
static struct nvme_sqe refused_read(void)
{
	struct nvme_sqe c = rw_cmd(NVME_CMD_READ, 0, 1);

	c.prp1 = htole64(IOVA_RO);
	return c;
}

static void *reset_from_vcpu(void *arg)
{
	(void)arg;
	reg_w(NVME_REG_CC, 0);   /* returns once every server is out of its command */
	return NULL;
}

/*
 * 64 Writes on each of SQ 1 and SQ 2 submitted at once, each 8 KiB of its
 * own pattern at its own LBAs, completed in any order; then the image
 * checked.  Both servers move data at the same time.
 */
static void concurrent_writes(void)
{
	unsigned int done[3] = { 0 }, bad = 0;
	struct nvme_queue_stats before[3], after[3];
	bool all = true;

	for (unsigned int q = 1; q <= 2; q++)
		nvme_queue_stats(n, q, &before[q]);
	for (unsigned int q = 1; q <= 2; q++) {
		for (unsigned int i = 0; i < 32; i++) {
			uint64_t off = TDATA_OFF + 0x100000ull * (q - 1) + 0x2000ull * i;
			struct nvme_sqe c = rw_cmd(NVME_CMD_WRITE, 2048 + (q - 1) * 1024 + i * 16, 16);

			for (unsigned int b = 0; b < 0x2000; b++)
				rw(off)[b] = (uint8_t)(q * 64 + i + b * 3);
			c.prp1 = htole64(IOVA_RW + off);
			c.prp2 = htole64(IOVA_RW + off + 0x1000);
			c.cid = htole16(next_cid++);
			memcpy(rw(tq[q].sq_off + 64ull * tq[q].tail), &c, sizeof(c));
			tq[q].tail = (tq[q].tail + 1) % tq[q].size;
		}
	}
	reg_w(NVME_REG_DBS + 8 * 1, tq[1].tail);
	reg_w(NVME_REG_DBS + 8 * 2, tq[2].tail);
	for (unsigned int q = 1; q <= 2; q++) {
		uint16_t sc;

		while (done[q] < 32 && wait_reap(&tq[q], &sc, NULL)) {
			done[q]++;
			bad += sc != 0;
		}
	}
	ok(done[1] == 32 && done[2] == 32 && !bad, "64 Writes on SQ 1 and SQ 2 at once: all complete, OK");
	for (unsigned int q = 1; q <= 2; q++) {
		for (unsigned int i = 0; i < 32; i++)
			all &= disk_equals((2048 + (q - 1) * 1024 + i * 16) * 512ull,
					   rw(TDATA_OFF + 0x100000ull * (q - 1) + 0x2000ull * i), 0x2000);
	}
	ok(all, "the image holds every Write's data at its LBAs");
	for (unsigned int q = 1; q <= 2; q++) {
		nvme_queue_stats(n, q, &after[q]);
		ok(after[q].commands - before[q].commands == 32 &&
		   after[q].bytes_written - before[q].bytes_written == 32 * 0x2000 &&
		   after[q].errors == before[q].errors && after[q].bytes_read == before[q].bytes_read,
		   "I/O queue %u's counters: 32 commands, 256 KiB written, no error (%" PRIu64 ", %" PRIu64 " B)",
		   q, after[q].commands - before[q].commands, after[q].bytes_written - before[q].bytes_written);
	}
	nvme_queue_stats(n, 0, &after[0]);
	ok(after[0].commands == 0, "there is no I/O queue 0: zero counters");
}

/*
 * SQ 3 and SQ 4 share a CQ of 4 entries, 24 commands each submitted at
 * once: the servers must never post more completions than the CQ has
 * room for.  Every command completes exactly once.
 */
static void shared_cq(void)
{
	bool seen[48] = { false }, twice = false;
	uint16_t first = next_cid;
	unsigned int got = 0;

	ok(create_pair(3, 3, 4, true) && create_pair(4, 3, 4, false), "SQ 3 and SQ 4 on one 4-entry CQ");
	/* The SQs hold 4 entries too: 3 commands at a time each. */
	for (unsigned int round = 0; round < 8; round++) {
		for (unsigned int q = 3; q <= 4; q++) {
			for (unsigned int i = 0; i < 3; i++) {
				struct nvme_sqe c = cmd(NVME_CMD_FLUSH, 1);

				c.cid = htole16(next_cid++);
				memcpy(rw(tq[q].sq_off + 64ull * tq[q].tail), &c, sizeof(c));
				tq[q].tail = (tq[q].tail + 1) % tq[q].size;
			}
			reg_w(NVME_REG_DBS + 8 * q, tq[q].tail);
		}
		for (unsigned int i = 0; i < 6; i++) {
			struct nvme_cqe e;
			uint16_t sc;
			uint32_t dw0;
			unsigned int slot = tq[3].head;

			if (!wait_reap(&tq[3], &sc, &dw0))
				break;
			memcpy(&e, rw(tq[3].cq_off + 16ull * slot), sizeof(e));
			if ((uint16_t)(le16toh(e.cid) - first) < 48) {
				twice |= seen[le16toh(e.cid) - first];
				seen[le16toh(e.cid) - first] = true;
			}
			got++;
		}
	}
	is_int(48, got, "48 completions on the shared CQ");
	ok(!twice, "none twice (no slot overwritten before the driver consumed it)");
}

static void test_threads(void)
{
	struct nvme_sqe c;
	struct nvme_cqe e;
	pthread_t vcpu;
	uint16_t sc;
	uint32_t dw0;
	struct nvme_stats st;

	is_int(0, nvme_start(n), "the controller's threads start (admin + 4 I/O)");
	reg_w(NVME_REG_CC, 0);
	enable();
	ok(create_pair(1, 1, 64, true) && create_pair(2, 2, 64, true),
	   "Create I/O CQ/SQ 1 and 2 through the admin thread");

	/* SQ 2 is served while SQ 1's server is inside a command. */
	thread_gate_arm();
	c = refused_read();
	push(&tq[1], &c);
	ok(thread_gate_wait_held(1, WAIT_MS), "SQ 1's server is held inside its command");
	memset(rw(TDATA_OFF), 0x3c, 4096);
	c = rw_cmd(NVME_CMD_WRITE, 300, 8);
	c.prp1 = htole64(IOVA_RW + TDATA_OFF);
	is_int(0, run_wait(&tq[2], &c), "meanwhile a Write on SQ 2 completes");
	ok(disk_equals(300 * 512, rw(TDATA_OFF), 4096), "and its data is on the image");

	/* Delete I/O SQ 1 while its server is inside that command: the
	 * deletion waits for it, the command's completion comes first. */
	c = cmd(NVME_ADMIN_DELETE_SQ, 0);
	c.cdw10 = htole32(1);
	push(&adminq, &c);
	thread_gate_open();
	ok(wait_reap(&adminq, &sc, NULL) && sc == 0, "Delete I/O SQ 1 completes once the command ended");
	ok(reap(&tq[1], &sc, &dw0) && sc == SC(0, NVME_SC_DATA_XFER_ERROR),
	   "the held command's completion was posted before it (data transfer error)");
	c = rw_cmd(NVME_CMD_READ, 0, 1);
	c.prp1 = htole64(IOVA_RW + TDATA_OFF);
	push(&tq[1], &c);   /* the doorbell of a deleted SQ: an invalid doorbell */
	is_int(0, reg_r(NVME_REG_CSTS) & NVME_CSTS_CFS, "the controller goes on");

	/* Create it again, hold its server again, reset from a vCPU thread:
	 * the reset returns only after the command ended, whose completion
	 * is dropped. */
	ok(create_pair(1, 1, 64, false), "Create I/O SQ 1 again on CQ 1");
	thread_gate_arm();
	c = refused_read();
	push(&tq[1], &c);
	ok(thread_gate_wait_held(1, WAIT_MS), "SQ 1's server is held again");
	if (pthread_create(&vcpu, NULL, reset_from_vcpu, NULL))
		bail("pthread_create");
	/* The reset clears CSTS.RDY before it waits for the servers. */
	for (unsigned int ms = 0; ms < WAIT_MS && (reg_r(NVME_REG_CSTS) & NVME_CSTS_RDY); ms++)
		usleep(1000);
	ok(!(reg_r(NVME_REG_CSTS) & NVME_CSTS_RDY), "the reset began while the server was held");
	thread_gate_open();
	pthread_join(vcpu, NULL);
	is_int(0, reg_r(NVME_REG_CSTS), "CC.EN 0 with a command under way: reset, not ready");
	memcpy(&e, rw(tq[1].cq_off + 16ull * tq[1].head), sizeof(e));
	ok((le16toh(e.status) & 1) != tq[1].phase, "the command's completion was dropped by the reset");

	/* After the reset: everything again, then the data streams. */
	enable();
	ok(create_pair(1, 1, 64, true) && create_pair(2, 2, 64, true), "queues created again after reset");
	concurrent_writes();
	shared_cq();

	/* Shutdown with the threads: CSTS.SHST complete, nothing served. */
	reg_w(NVME_REG_CC, reg_r(NVME_REG_CC) | NVME_CC_SHN_NORMAL);
	is_int(NVME_CSTS_SHST_COMPLETE, reg_r(NVME_REG_CSTS) & NVME_CSTS_SHST_MASK,
	       "CC.SHN with the threads: shutdown complete");
	nvme_stats(n, &st);
	ok(st.io_queues_max >= 3, "up to %u I/O SQs were live at once", st.io_queues_max);
	nvme_stop(n);
}

int main(void)
{
	struct viommu_config vcfg;

	plan_lazy();
	log_max_level = LOG_ERR;
	pci_bus_init(&bus);
	if (guest_mem_init(&mem, MEM_SIZE))
		bail("guest memory");
	viommu_default_config(&vcfg);
	iommu = viommu_create(&vcfg, &ram_ops, &mem);
	pool = swiotlb_pool_create(POOL_SIZE);
	if (!iommu || !pool)
		bail("viommu / pool");
	viommu_set_violation_cb(iommu, on_violation, NULL);
	setup();
	is_int(0, req_map(iommu, DOMAIN, IOVA_RW, IOVA_RW + (16 << 20) - 1, GPA_RW, RW), "map RW");
	is_int(0, req_map(iommu, DOMAIN, IOVA_RO, IOVA_RO + 0xffff, GPA_RO, VIRTIO_IOMMU_MAP_F_READ),
	       "map read-only");

	test_registers();
	test_admin();
	test_queues();
	test_io();
	test_malformed();
	test_msix_and_master();
	test_hostile_queues();
	test_threads();

	nvme_destroy(n);
	close(disk_fd);
	unlink(disk_path);
	swiotlb_pool_destroy(pool);
	viommu_destroy(iommu);
	return 0;
}
