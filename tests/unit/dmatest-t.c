/* SPDX-License-Identifier: MIT */
/*
 * The dmatest device model driven as its guest driver would, without KVM:
 * real guest memory, the real virtio-iommu library and bounce pool, config
 * and BAR accesses through the PCI bus.  Every command's data is checked,
 * every refusal leaves the destination untouched and sets the right error,
 * and the host verdict registers show the violation class.
 */
#include "vmm/dmatest.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"
#include "vmm/pci.h"
#include "viommu/viommu.h"
#include "swiotlb/swiotlb.h"
#include "tests/tap/basic.h"
#include "tests/unit/viommu-util.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest/dmatest/dmatest_hw.h"

#define MEM_SIZE   (64ull << 20)
#define DOMAIN     1
#define POOL_SIZE  (1u << 20)

/* IOVA layout of the test (all mapped into the GPA window below). */
#define IOVA_RW    0x10000000ull    /* 2 MiB read-write -> GPA 0x200000 */
#define GPA_RW     0x200000ull
#define IOVA_RO    0x20000000ull    /* 64 KiB read-only (DMA_TO_DEVICE) -> GPA 0x800000 */
#define GPA_RO     0x800000ull
#define IOVA_WO    0x30000000ull    /* 64 KiB write-only (DMA_FROM_DEVICE) -> GPA 0x900000 */
#define GPA_WO     0x900000ull

struct dev {
	struct dmatest *dt;
	uint16_t bdf;
	uint64_t bar;
};

static struct pci_bus bus;
static struct guest_mem mem;
static struct viommu *iommu;
static struct swiotlb_pool *pool;
static struct dev devs[2];
static int msis;
static uint32_t last_msi_data;
static uint64_t last_msi_addr;

static bool is_ram(void *o, uint64_t gpa, uint64_t len)
{
	return guest_mem_is_ram(o, gpa, len);
}

static const struct viommu_host_ops ram_ops = { .is_ram = is_ram };

static int fake_msi(void *o, uint64_t addr, uint32_t data)
{
	(void)o;
	__atomic_fetch_add(&msis, 1, __ATOMIC_SEQ_CST);
	last_msi_addr = addr;
	last_msi_data = data;
	return 0;
}

static void on_violation(void *o, const struct viommu_violation_record *r)
{
	(void)o;
	for (unsigned int i = 0; i < 2; i++)
		if (devs[i].dt && r->endpoint_id == devs[i].bdf)
			dmatest_note_violation(devs[i].dt, dmatest_verdict_class(r->reason));
}

static void cfg_w(uint16_t bdf, unsigned int off, unsigned int size, uint32_t v)
{
	pci_config_write(&bus, bdf, off, size, v);
}

static uint32_t cfg_r(uint16_t bdf, unsigned int off, unsigned int size)
{
	return pci_config_read(&bus, bdf, off, size);
}

static void reg_w(struct dev *d, unsigned int off, uint32_t v)
{
	uint64_t val = v;

	pci_mmio_access(&bus, d->bar + off, true, 4, &val);
}

static void reg_w64(struct dev *d, unsigned int off, uint64_t v)
{
	pci_mmio_access(&bus, d->bar + off, true, 8, &v);
}

static uint32_t reg_r(struct dev *d, unsigned int off)
{
	uint64_t val = 0;

	pci_mmio_access(&bus, d->bar + off, false, 4, &val);
	return (uint32_t)val;
}

/* Ring the doorbell and wait for DONE; returns the ERROR register. */
static uint32_t run_cmd(struct dev *d, uint32_t cmd, uint64_t src, uint64_t dst, uint32_t len)
{
	reg_w(d, DMATEST_CMD, cmd);
	reg_w64(d, DMATEST_SRC, src);
	reg_w64(d, DMATEST_DST, dst);
	reg_w(d, DMATEST_LEN, len);
	reg_w(d, DMATEST_DOORBELL, 1);
	for (int i = 0; i < 5000; i++) {
		if (reg_r(d, DMATEST_STATUS) & DMATEST_STATUS_DONE)
			return reg_r(d, DMATEST_ERROR);
		usleep(1000);
	}
	return 0xdead;
}

static void fill_gpa(uint64_t gpa, int byte, size_t len)
{
	memset(guest_mem_ptr(&mem, gpa, len), byte, len);
}

static bool all_bytes(uint64_t gpa, int byte, size_t len)
{
	const uint8_t *p = guest_mem_ptr(&mem, gpa, len);

	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)byte)
			return false;
	return true;
}

static void setup_dev(struct dev *d, unsigned int slot, unsigned int width, unsigned int index)
{
	struct dmatest_params p = {
		.index = index,
		.width = width,
		.dma = { .mem = &mem, .iommu = iommu, .endpoint = pci_bdf(slot, 0) },
		.signal_msi = fake_msi,
	};
	unsigned int cap;

	p.dma.bounce = swiotlb_account_create(pool, index ? "dmatest1" : "dmatest0");
	d->bdf = pci_bdf(slot, 0);
	if (viommu_add_endpoint(iommu, d->bdf, index ? "dmatest1" : "dmatest0") ||
	    dma_attach_iommu(&p.dma, iommu))
		bail("cannot put dmatest%u behind the IOMMU", index);
	d->dt = dmatest_create(&bus, 0, slot, &p);
	ok(d->dt != NULL, "dmatest%u (width %u) created", index, width);
	if (!d->dt)
		bail("cannot create the device");
	is_int(DMATEST_VENDOR_ID, cfg_r(d->bdf, PCI_VENDOR_ID, 2), "vendor ID");
	is_int(DMATEST_DEVICE_ID, cfg_r(d->bdf, PCI_DEVICE_ID, 2), "device ID");
	d->bar = cfg_r(d->bdf, PCI_BASE_ADDRESS_0, 4) & ~0xfu;
	cfg_w(d->bdf, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	/* The MSI capability: program address/data, enable. */
	cap = cfg_r(d->bdf, PCI_CAPABILITY_LIST, 1);
	is_int(0x05, cfg_r(d->bdf, cap, 1), "an MSI capability");
	ok(cfg_r(d->bdf, cap + 2, 2) & 0x80, "64-bit MSI address");
	cfg_w(d->bdf, cap + 4, 4, 0xfee00000);
	cfg_w(d->bdf, cap + 8, 4, 0);
	cfg_w(d->bdf, cap + 12, 2, 0x40 + index);
	cfg_w(d->bdf, cap + 2, 2, 1);
	ok(dmatest_start(d->dt) == 0, "worker started");
	is_int(DMATEST_MAGIC, reg_r(d, DMATEST_ID), "ID register");
	is_int(width, reg_r(d, DMATEST_WIDTH), "WIDTH register");
	is_int(0, req_attach(iommu, DOMAIN, d->bdf, 0), "attached to the test domain");
}

static void test_commands(struct dev *d)
{
	uint8_t *rw = guest_mem_ptr(&mem, GPA_RW, 2 << 20);
	int before;

	for (unsigned int i = 0; i < 65536; i++)
		rw[i] = (uint8_t)(i * 7 + 3);
	fill_gpa(GPA_RW + 0x10000, 0, 0x10000);
	reg_w(d, DMATEST_CTRL, DMATEST_CTRL_IRQ_ENABLE);
	before = msis;
	is_int(DMATEST_ERROR_NONE, run_cmd(d, DMATEST_CMD_COPY, IOVA_RW, IOVA_RW + 0x10000, 0x10000),
	       "COPY 64 KiB");
	ok(!memcmp(rw, rw + 0x10000, 0x10000), "COPY: destination equals source");
	is_int(0x10000, reg_r(d, DMATEST_RESULT), "COPY: RESULT = bytes");
	ok(msis == before + 1 && last_msi_addr == 0xfee00000 && last_msi_data == 0x40,
	   "COPY: one MSI with the programmed address and data");
	ok(reg_r(d, DMATEST_IRQ_STATUS) & DMATEST_IRQ_DONE, "IRQ_STATUS.DONE set");
	reg_w(d, DMATEST_IRQ_STATUS, DMATEST_IRQ_DONE);
	is_int(0, reg_r(d, DMATEST_IRQ_STATUS), "IRQ_STATUS is write-1-to-clear");

	reg_w(d, DMATEST_PATTERN, 0x5a);
	is_int(DMATEST_ERROR_NONE, run_cmd(d, DMATEST_CMD_FILL, 0, IOVA_RW + 0x20000 + 3, 1000),
	       "FILL 1000 bytes at an odd address");
	ok(all_bytes(GPA_RW + 0x20000 + 3, 0x5a, 1000) && rw[0x20000 + 2] != 0x5a &&
	   rw[0x20000 + 1003] != 0x5a, "FILL: exactly the range");

	is_int(DMATEST_ERROR_NONE, run_cmd(d, DMATEST_CMD_CMP, IOVA_RW, IOVA_RW + 0x10000, 0x10000),
	       "CMP equal");
	is_int(DMATEST_CMP_EQUAL, reg_r(d, DMATEST_RESULT), "CMP: RESULT = equal");
	rw[0x10000 + 777] ^= 1;
	run_cmd(d, DMATEST_CMD_CMP, IOVA_RW, IOVA_RW + 0x10000, 0x10000);
	is_int(777, reg_r(d, DMATEST_RESULT), "CMP: first difference at 777");

	{
		uint32_t sum = 0;

		for (unsigned int i = 0; i < 4097; i++)
			sum += rw[i];
		is_int(DMATEST_ERROR_NONE, run_cmd(d, DMATEST_CMD_READ, IOVA_RW, 0, 4097), "READ 4097 bytes");
		is_int(sum, reg_r(d, DMATEST_RESULT), "READ: RESULT = byte sum");
	}

	/* Scatter-gather: three source pieces into two destination pieces. */
	{
		struct dmatest_sg src[3] = {
			{ htole64(IOVA_RW + 100), htole32(1000), 0 },
			{ htole64(IOVA_RW + 5000), htole32(3000), 0 },
			{ htole64(IOVA_RW + 9000), htole32(96), 0 },
		}, dst[2] = {
			{ htole64(IOVA_RW + 0x40000), htole32(2048), 0 },
			{ htole64(IOVA_RW + 0x50000), htole32(2048), 0 },
		};
		uint8_t expect[4096];

		memcpy(expect, rw + 100, 1000);
		memcpy(expect + 1000, rw + 5000, 3000);
		memcpy(expect + 4000, rw + 9000, 96);
		memcpy(rw + 0x60000, src, sizeof(src));
		memcpy(rw + 0x61000, dst, sizeof(dst));
		reg_w(d, DMATEST_SRC_COUNT, 3);
		reg_w(d, DMATEST_DST_COUNT, 2);
		is_int(DMATEST_ERROR_NONE, run_cmd(d, DMATEST_CMD_SG_COPY, IOVA_RW + 0x60000,
						   IOVA_RW + 0x61000, 0), "SG_COPY 3 -> 2 segments");
		ok(!memcmp(rw + 0x40000, expect, 2048) && !memcmp(rw + 0x50000, expect + 2048, 2048),
		   "SG_COPY: destination pieces hold the concatenated source");
		is_int(4096, reg_r(d, DMATEST_RESULT), "SG_COPY: RESULT = bytes");
		dst[1].len = htole32(2047);
		memcpy(rw + 0x61000, dst, sizeof(dst));
		is_int(DMATEST_ERROR_BAD_COMMAND, run_cmd(d, DMATEST_CMD_SG_COPY, IOVA_RW + 0x60000,
							  IOVA_RW + 0x61000, 0), "SG_COPY: totals differ");
		dst[1].len = htole32(2048);
		dst[1].reserved = htole32(1);
		memcpy(rw + 0x61000, dst, sizeof(dst));
		is_int(DMATEST_ERROR_BAD_COMMAND, run_cmd(d, DMATEST_CMD_SG_COPY, IOVA_RW + 0x60000,
							  IOVA_RW + 0x61000, 0), "SG_COPY: reserved field set");
		reg_w(d, DMATEST_SRC_COUNT, DMATEST_SG_MAX + 1);
		is_int(DMATEST_ERROR_BAD_COMMAND, run_cmd(d, DMATEST_CMD_SG_COPY, IOVA_RW + 0x60000,
							  IOVA_RW + 0x61000, 0), "SG_COPY: too many entries");
	}
	is_int(DMATEST_ERROR_BAD_COMMAND, run_cmd(d, 99, IOVA_RW, IOVA_RW, 16), "unknown command");
	is_int(DMATEST_ERROR_BAD_COMMAND, run_cmd(d, DMATEST_CMD_COPY, IOVA_RW, IOVA_RW, 0), "LEN 0");
	is_int(DMATEST_ERROR_BAD_COMMAND, run_cmd(d, DMATEST_CMD_COPY, IOVA_RW, IOVA_RW,
						  DMATEST_MAX_LEN + 1), "LEN too big");
	is_int(0, reg_r(d, DMATEST_VIOL_COUNT), "no violation so far");
}

static void test_violations(struct dev *d)
{
	fill_gpa(GPA_RO, 0x11, 0x10000);
	fill_gpa(GPA_WO, 0x22, 0x10000);

	is_int(DMATEST_ERROR_DMA, run_cmd(d, DMATEST_CMD_COPY, IOVA_RW, IOVA_RO, 4096),
	       "device write through a read-only mapping is refused");
	ok(all_bytes(GPA_RO, 0x11, 0x10000), "read-only buffer untouched");
	is_int(1, reg_r(d, DMATEST_VIOL_COUNT), "verdict: one violation");
	is_int(DMATEST_VIOL_PERMISSION, reg_r(d, DMATEST_VIOL_LAST), "verdict: permission");

	is_int(DMATEST_ERROR_DMA, run_cmd(d, DMATEST_CMD_READ, IOVA_WO, 0, 100),
	       "device read of a write-only mapping is refused");
	is_int(DMATEST_VIOL_PERMISSION, reg_r(d, DMATEST_VIOL_LAST), "verdict: permission");

	is_int(DMATEST_ERROR_DMA, run_cmd(d, DMATEST_CMD_COPY, 0x7ff000000ull, IOVA_RW, 64),
	       "read from a never-mapped IOVA is refused");
	is_int(DMATEST_VIOL_UNMAPPED, reg_r(d, DMATEST_VIOL_LAST), "verdict: unmapped");

	fill_gpa(GPA_RW + 0x1f0000, 0x33, 0x10000);
	is_int(DMATEST_ERROR_DMA, run_cmd(d, DMATEST_CMD_FILL, 0, IOVA_RW + (2 << 20) - 4096, 8192),
	       "write running past the end of the mapping is refused");
	ok(all_bytes(GPA_RW + 0x1f0000, 0x33, 0x10000), "nothing of it was written");
	is_int(DMATEST_VIOL_PAST_END, reg_r(d, DMATEST_VIOL_LAST), "verdict: past-end");

	is_int(0, req_map(iommu, DOMAIN, 0x40000000, 0x40000fff, 0x300000, RW), "map a page");
	is_int(0, req_unmap(iommu, DOMAIN, 0x40000000, 0x40000fff), "unmap it");
	is_int(DMATEST_ERROR_DMA, run_cmd(d, DMATEST_CMD_FILL, 0, 0x40000000, 16),
	       "DMA after the unmap is refused");
	is_int(DMATEST_VIOL_AFTER_UNMAP, reg_r(d, DMATEST_VIOL_LAST), "verdict: after-unmap");
	is_int(5, reg_r(d, DMATEST_VIOL_COUNT), "verdict: five violations");
}

static void test_width(struct dev *d24)
{
	int before = (int)reg_r(d24, DMATEST_VIOL_COUNT);

	is_int(DMATEST_ERROR_ADDRESS_WIDTH, run_cmd(d24, DMATEST_CMD_FILL, 0, IOVA_RW, 16),
	       "24-bit device: an IOVA above 16 MiB is refused");
	is_int(before + 1, reg_r(d24, DMATEST_VIOL_COUNT), "verdict count +1");
	is_int(DMATEST_VIOL_ADDRESS_WIDTH, reg_r(d24, DMATEST_VIOL_LAST), "verdict: address-width");
	is_int(0, req_map(iommu, DOMAIN, 0xff0000, 0xffffff, GPA_RW, RW), "map below 16 MiB");
	is_int(DMATEST_ERROR_NONE, run_cmd(d24, DMATEST_CMD_FILL, 0, 0xff0000, 0x10000),
	       "24-bit device: the whole top 64 KiB below 16 MiB is fine");
	is_int(DMATEST_ERROR_ADDRESS_WIDTH, run_cmd(d24, DMATEST_CMD_FILL, 0, 0xff0000, 0x10001),
	       "24-bit device: one byte more crosses the limit");
	is_int(0, req_unmap(iommu, DOMAIN, 0xff0000, 0xffffff), "unmap it");
}

static void test_bounce(struct dev *d)
{
	struct swiotlb_stats s;

	is_int(DMATEST_ERROR_NO_BOUNCE, run_cmd(d, DMATEST_CMD_COPY, IOVA_RW, IOVA_RW + (1 << 20),
						 (1 << 20) + 4096), "a copy bigger than the pool: NO_BOUNCE");
	swiotlb_pool_stats(pool, &s);
	ok(s.exhausted >= 1, "the pool counted the exhaustion");
	is_int(0, s.slots_in_use, "no slot left allocated");
	is_int(DMATEST_ERROR_NONE, run_cmd(d, DMATEST_CMD_COPY, IOVA_RW, IOVA_RW + (1 << 20), 512 << 10),
	       "the next copy that fits works again");
}

/* Wait for the device's verdict count to pass `before`: the leak check
 * runs a 200 ms grace period after a reset, later on a loaded machine, so
 * poll (for a bound far above any plausible delay) instead of sleeping a
 * fixed time. */
static bool wait_viol_count_above(struct dev *d, unsigned int before)
{
	for (int i = 0; i < 3000; i++) {
		if (reg_r(d, DMATEST_VIOL_COUNT) > before)
			return true;
		usleep(10 * 1000);
	}
	return false;
}

static uint64_t worker_wakeups(struct dev *d)
{
	struct dmatest_stats s;

	dmatest_stats(d->dt, &s);
	return s.worker_wakeups;
}

/* While the worker waits out the leak grace period it sleeps: a handful of
 * wake-ups (the signal that scheduled the check, the deadline, a spurious
 * one), not a loop that spins for 200 ms (a guest resetting every 100 ms
 * would keep a host core busy). */
#define GRACE_MAX_WAKEUPS 20

static void test_master_and_leak(struct dev *d)
{
	unsigned int before = reg_r(d, DMATEST_VIOL_COUNT);
	uint64_t wakeups = worker_wakeups(d);

	reg_w(d, DMATEST_CTRL, DMATEST_CTRL_RESET);
	is_int(0, reg_r(d, DMATEST_STATUS), "reset clears STATUS");
	is_int(0, reg_r(d, DMATEST_CMD), "reset clears CMD");
	is_int(before, reg_r(d, DMATEST_VIOL_COUNT), "verdict registers survive reset");
	/* Mappings live at the reset are leaks once the grace period is over. */
	ok(wait_viol_count_above(d, before), "leak check after reset found the live mappings");
	is_int(DMATEST_VIOL_LEAK, reg_r(d, DMATEST_VIOL_LAST), "verdict: leak");
	wakeups = worker_wakeups(d) - wakeups;
	ok(wakeups <= GRACE_MAX_WAKEUPS, "the worker slept through the grace period after reset "
	   "(%llu wake-ups)", (unsigned long long)wakeups);

	before = reg_r(d, DMATEST_VIOL_COUNT);
	wakeups = worker_wakeups(d);
	cfg_w(d->bdf, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	ok(wait_viol_count_above(d, before), "leak check after bus-master off found them again");
	wakeups = worker_wakeups(d) - wakeups;
	ok(wakeups <= GRACE_MAX_WAKEUPS, "the worker slept through the grace period after "
	   "bus-master off (%llu wake-ups)", (unsigned long long)wakeups);
	is_int(DMATEST_ERROR_NO_MASTER, run_cmd(d, DMATEST_CMD_FILL, 0, IOVA_RW, 16),
	       "no DMA without bus mastering");
	cfg_w(d->bdf, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

/* vmm/dma.c's staged writes, as virtio devices use them: a refused write
 * writes nothing, with one bounce segment or several. */
static void test_dma_write(void)
{
	static uint8_t src[600 << 10];
	struct dma_space d = { .mem = &mem, .endpoint = devs[0].bdf };

	if (dma_attach_iommu(&d, iommu))
		bail("dma_attach_iommu");
	d.bounce = swiotlb_account_create(pool, "dma-write");
	memset(src, 0x6b, sizeof(src));
	fill_gpa(GPA_RW, 0, 2 << 20);
	is_int(0, dma_write(&d, IOVA_RW + 100, src, 1000), "dma_write: one segment");
	ok(all_bytes(GPA_RW + 100, 0x6b, 1000), "dma_write: the bytes arrived");
	is_int(0, dma_write(&d, IOVA_RW, src, sizeof(src)), "dma_write: three segments");
	ok(all_bytes(GPA_RW, 0x6b, sizeof(src)), "dma_write: all of them arrived");
	fill_gpa(GPA_RW + (2 << 20) - 0x10000, 0, 0x10000);
	is_int(-EFAULT, dma_write(&d, IOVA_RW + (2 << 20) - 4096, src, 8192),
	       "dma_write: one segment running past the mapping is refused");
	fill_gpa(GPA_RW + (2 << 20) - (600 << 10), 0, 600 << 10);
	is_int(-EFAULT, dma_write(&d, IOVA_RW + (2 << 20) - (500 << 10), src, sizeof(src)),
	       "dma_write: three segments, the last running past the mapping, refused");
	ok(all_bytes(GPA_RW + (2 << 20) - (600 << 10), 0, 600 << 10),
	   "dma_write: neither refused write changed a byte");
}

/* A hostile driver: random register writes, random commands at random
 * addresses.  The device must neither crash nor hang, and must still work. */
static void test_hostile(struct dev *d)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	unsigned int done = 0;

	for (unsigned int i = 0; i < 3000; i++) {
		unsigned int off;
		uint64_t val;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		off = (unsigned int)(x % 0x60) & ~3u;
		val = x >> 20;
		if (x & 1)   /* addresses near the mapped windows, or anywhere */
			val = (x & 2 ? IOVA_RW : IOVA_RO) + ((x >> 8) % (3 << 20));
		if (off == DMATEST_CTRL)
			val &= ~(uint64_t)DMATEST_CTRL_RESET;   /* resets would only slow it down */
		if (off == DMATEST_LEN)
			val %= 2 * DMATEST_MAX_LEN;
		reg_w(d, off, (uint32_t)val);
		if (off == DMATEST_DOORBELL) {
			for (int w = 0; w < 5000 && (reg_r(d, DMATEST_STATUS) & DMATEST_STATUS_BUSY); w++)
				usleep(200);
			done++;
		}
	}
	for (int w = 0; w < 5000 && (reg_r(d, DMATEST_STATUS) & DMATEST_STATUS_BUSY); w++)
		usleep(1000);
	ok(!(reg_r(d, DMATEST_STATUS) & DMATEST_STATUS_BUSY), "random register writes: device idle again");
	diag("%u random doorbells", done);
	reg_w(d, DMATEST_SRC_COUNT, 0);
	reg_w(d, DMATEST_PATTERN, 0x77);
	is_int(DMATEST_ERROR_NONE, run_cmd(d, DMATEST_CMD_FILL, 0, IOVA_RW, 4096),
	       "and it still works afterwards");
	ok(all_bytes(GPA_RW, 0x77, 4096), "FILL after the storm");
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

	setup_dev(&devs[0], 3, 64, 0);
	setup_dev(&devs[1], 4, 24, 1);
	is_int(0, req_map(iommu, DOMAIN, IOVA_RW, IOVA_RW + (2 << 20) - 1, GPA_RW, RW), "map RW");
	is_int(0, req_map(iommu, DOMAIN, IOVA_RO, IOVA_RO + 0xffff, GPA_RO, VIRTIO_IOMMU_MAP_F_READ),
	       "map read-only");
	is_int(0, req_map(iommu, DOMAIN, IOVA_WO, IOVA_WO + 0xffff, GPA_WO, VIRTIO_IOMMU_MAP_F_WRITE),
	       "map write-only");

	test_commands(&devs[0]);
	test_violations(&devs[0]);
	test_width(&devs[1]);
	test_bounce(&devs[0]);
	test_dma_write();
	test_master_and_leak(&devs[0]);
	test_hostile(&devs[0]);

	for (unsigned int i = 0; i < 2; i++)
		dmatest_destroy(devs[i].dt);
	swiotlb_pool_destroy(pool);
	viommu_destroy(iommu);
	return 0;
}
