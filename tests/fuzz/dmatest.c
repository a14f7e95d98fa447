/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the dmatest device model (vmm/dmatest.c) through its
 * BAR0 registers and config space, with its worker thread, the real
 * virtio-iommu library and the real bounce pool behind it, as
 * tests/unit/dmatest-t.c drives it without KVM.  Deterministic: after
 * every register access the target waits until the device is idle (and
 * its MSI, if one is due, has arrived), so that the worker never runs
 * beside the next operation.  Input format: tests/fuzz/dmatest-format.h.
 *
 * Each command is predicted from the registers, guest memory before it
 * and the IOMMU's list of live mappings (the oracle), following the
 * programming model of guest/dmatest/dmatest_hw.h:
 * - the error code (no bus mastering, bad command, address width, no
 *   bounce space, refused DMA, in that order of checks), RESULT and
 *   DONE_BYTES;
 * - guest memory afterwards: the destination written exactly as the
 *   oracle says on success, nothing changed at all on any error;
 * - a violation recorded for every address-width and DMA error, none for
 *   the others; the verdict register counting exactly the violations
 *   attributed to the device;
 * - one MSI per completion with interrupts enabled, MSI enabled and bus
 *   mastering on, with the capability's address and data; none otherwise.
 * Where the bounce pool is between half full and full the prediction
 * allows either "no bounce space" or the outcome with space.
 */
#include "tests/fuzz/dmatest-format.h"
#include "tests/fuzz/fuzz.h"
#include "vmm/dmatest.h"

#include <endian.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "guest/dmatest/dmatest_hw.h"

#define POOL_BYTES (1u << 20)
#define PCI_CAP_ID_MSI 0x05
#define SLOT 8
#define PORT_SLOT 8
#define WAIT_NS (10ull * 1000 * 1000 * 1000)

/* What a command should do. */
struct outcome {
	uint32_t error, result;
	uint64_t done;
	bool maybe_no_bounce;     /* the pool was between half full and full */
};

/* The registers of a command. */
struct job {
	uint32_t cmd, pattern, len, src_count, dst_count;
	uint64_t src, dst;
};

static struct {
	uint8_t cfg;
	unsigned int width;
	size_t pool;
	struct guest_mem ram, before, expect;
	struct fuzz_iommu fi;
	struct fuzz_oracle o;
	struct fuzz_ring none;        /* for POKE */
	struct pci_bus bus;
	struct dmatest *dt;
	struct dma_space dma;         /* what the device got a copy of */
	uint16_t bdf;
	unsigned int msi_cap;
	/* atomics: MSIs; violations attributed to the device, all and those
	 * of its DMA (not the leak checks, which run on their own time) */
	uint64_t msis, msis_expected, ep_violations, ep_dma_violations;
	uint64_t msi_addr;
	uint32_t msi_data;
	unsigned long slots_used;     /* the model's bounce pool */
	bool slots_uncertain;
	uint8_t a[POOL_BYTES], b[POOL_BYTES];
	struct dmatest_sg sg_src[DMATEST_SG_MAX], sg_dst[DMATEST_SG_MAX];
} h;

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

/* ---- the host side */

static int stub_signal_msi(void *opaque, uint64_t addr, uint32_t data)
{
	h.msi_addr = addr;
	h.msi_data = data;
	__atomic_fetch_add(&h.msis, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/* What vmm's sanitizer does: the verdict registers of the device. */
static void on_violation(void *opaque, const struct viommu_violation_record *r)
{
	if (r->endpoint_id != h.bdf || !h.dt)
		return;
	dmatest_note_violation(h.dt, dmatest_verdict_class(r->reason));
	__atomic_fetch_add(&h.ep_violations, 1, __ATOMIC_SEQ_CST);
	if (r->origin != VIOMMU_ORIGIN_LEAK)
		__atomic_fetch_add(&h.ep_dma_violations, 1, __ATOMIC_SEQ_CST);
}

/* ---- the guest side */

static struct pci_device *pdev(void)
{
	return dmatest_pci(h.dt);
}

static uint64_t bar0(void)
{
	return pci_get_long(pdev(), PCI_BASE_ADDRESS_0) & ~0xfull;
}

static void cfg_write(unsigned int off, unsigned int size, uint32_t val)
{
	pci_config_write(&h.bus, h.bdf, off, size, val);
}

static uint32_t reg_r(unsigned int off)
{
	uint64_t v = 0;

	pci_mmio_access(&h.bus, bar0() + off, false, 4, &v);
	return (uint32_t)v;
}

static void reg_w(unsigned int off, unsigned int size, uint64_t val)
{
	pci_mmio_access(&h.bus, bar0() + off, true, size, &val);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Until the device is idle, and `msis` MSIs have arrived. */
static void wait_idle(uint64_t msis)
{
	uint64_t start = now_ns();

	while ((reg_r(DMATEST_STATUS) & DMATEST_STATUS_BUSY) || load(&h.msis) < msis) {
		if (now_ns() - start > WAIT_NS)
			FUZZ_CHECK(!"the device did not finish a command in 10 s");
		usleep(10);
	}
}

/* ---- the model */

static int width_ok(uint64_t addr, uint64_t len)
{
	uint64_t limit = h.width >= 64 ? UINT64_MAX : (1ull << h.width) - 1;

	return len && addr <= limit && len - 1 <= limit - addr ? 0 : -ERANGE;
}

/* A stream of len bytes from the bounce pool (segments of at most
 * SWIOTLB_SEG_MAX, in whole slots). */
static int m_alloc(uint64_t len)
{
	unsigned long total = h.pool / SWIOTLB_SLOT_SIZE;

	while (len) {
		uint64_t seg = len < SWIOTLB_SEG_MAX ? len : SWIOTLB_SEG_MAX;

		h.slots_used += (seg + SWIOTLB_SLOT_SIZE - 1) / SWIOTLB_SLOT_SIZE;
		len -= seg;
		if (h.slots_used > total)
			return -ENOSPC;
	}
	if (h.slots_used > total / 2)
		h.slots_uncertain = true;
	return 0;
}

static int m_read(uint64_t addr, uint32_t len, uint8_t *buf)
{
	int ret = width_ok(addr, len);

	if (!ret)
		ret = m_alloc(len);
	if (!ret && !fuzz_oracle_read(&h.o, &h.before, addr, buf, len))
		ret = -EFAULT;
	return ret;
}

static int m_write(uint64_t addr, uint32_t len, const uint8_t *buf)
{
	int ret = width_ok(addr, len);

	if (!ret && !fuzz_oracle_write(&h.o, &h.expect, addr, buf, len))
		ret = -EFAULT;
	return ret;
}

static int m_sg_table(uint64_t addr, uint32_t count, struct dmatest_sg *tab, uint64_t *total)
{
	int ret;

	*total = 0;
	if (count == 0 || count > DMATEST_SG_MAX)
		return -EINVAL;
	ret = width_ok(addr, count * sizeof(*tab));
	if (ret)
		return ret;
	if (!fuzz_oracle_read(&h.o, &h.before, addr, tab, count * sizeof(*tab)))
		return -EFAULT;
	for (uint32_t i = 0; i < count; i++) {
		tab[i].addr = le64toh(tab[i].addr);
		tab[i].len = le32toh(tab[i].len);
		if (tab[i].len == 0 || tab[i].len > DMATEST_MAX_LEN || tab[i].reserved)
			return -EINVAL;
		*total += tab[i].len;
	}
	return *total > DMATEST_MAX_LEN ? -EINVAL : 0;
}

static int m_sg_copy(const struct job *j, uint32_t *result)
{
	uint64_t src_total, dst_total, off = 0;
	int ret = m_sg_table(j->src, j->src_count, h.sg_src, &src_total);

	if (!ret)
		ret = m_sg_table(j->dst, j->dst_count, h.sg_dst, &dst_total);
	if (!ret && src_total != dst_total)
		ret = -EINVAL;
	for (uint32_t i = 0; !ret && i < j->src_count; i++)
		ret = width_ok(h.sg_src[i].addr, h.sg_src[i].len);
	for (uint32_t i = 0; !ret && i < j->dst_count; i++)
		ret = width_ok(h.sg_dst[i].addr, h.sg_dst[i].len);
	if (!ret)
		ret = m_alloc(src_total);
	for (uint32_t i = 0; !ret && i < j->src_count; i++) {
		if (!fuzz_oracle_read(&h.o, &h.before, h.sg_src[i].addr, h.a + off, h.sg_src[i].len))
			ret = -EFAULT;
		off += h.sg_src[i].len;
	}
	for (uint32_t i = 0; !ret && i < j->dst_count; i++)
		if (!fuzz_oracle_allows(&h.o, h.sg_dst[i].addr, h.sg_dst[i].len, VIOMMU_WRITE))
			ret = -EFAULT;
	off = 0;
	for (uint32_t i = 0; !ret && i < j->dst_count; i++) {
		FUZZ_CHECK(fuzz_oracle_write(&h.o, &h.expect, h.sg_dst[i].addr, h.a + off, h.sg_dst[i].len));
		off += h.sg_dst[i].len;
	}
	*result = (uint32_t)src_total;
	return ret;
}

static uint32_t error_of(int ret)
{
	switch (ret) {
	case 0:       return DMATEST_ERROR_NONE;
	case -ERANGE: return DMATEST_ERROR_ADDRESS_WIDTH;
	case -ENOSPC: return DMATEST_ERROR_NO_BOUNCE;
	case -EINVAL: return DMATEST_ERROR_BAD_COMMAND;
	default:      return DMATEST_ERROR_DMA;
	}
}

/* Predict j; h.expect ends as guest memory after it, if it succeeds. */
static struct outcome model(const struct job *j, bool master)
{
	struct outcome out = { 0 };
	uint32_t result = 0;
	int ret;

	fuzz_ram_copy(&h.expect, &h.before);
	h.slots_used = 0;
	h.slots_uncertain = false;
	if (!master) {
		out.error = DMATEST_ERROR_NO_MASTER;
		return out;
	}
	if (j->cmd != DMATEST_CMD_SG_COPY && (j->len == 0 || j->len > DMATEST_MAX_LEN)) {
		out.error = DMATEST_ERROR_BAD_COMMAND;
		return out;
	}
	switch (j->cmd) {
	case DMATEST_CMD_COPY:
		ret = m_read(j->src, j->len, h.a);
		if (!ret)
			ret = m_write(j->dst, j->len, h.a);
		result = j->len;
		break;
	case DMATEST_CMD_FILL:
		ret = m_alloc(j->len);
		if (!ret) {
			memset(h.a, (int)(j->pattern & 0xff), j->len);
			ret = m_write(j->dst, j->len, h.a);
		}
		result = j->len;
		break;
	case DMATEST_CMD_CMP:
		ret = m_read(j->src, j->len, h.a);
		if (!ret)
			ret = m_read(j->dst, j->len, h.b);
		result = DMATEST_CMP_EQUAL;
		for (uint32_t i = 0; !ret && i < j->len; i++) {
			if (h.a[i] != h.b[i]) {
				result = i;
				break;
			}
		}
		break;
	case DMATEST_CMD_READ:
		ret = m_read(j->src, j->len, h.a);
		for (uint32_t i = 0; !ret && i < j->len; i++)
			result += h.a[i];
		break;
	case DMATEST_CMD_SG_COPY:
		ret = m_sg_copy(j, &result);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	out.error = error_of(ret);
	out.maybe_no_bounce = h.slots_uncertain;
	if (!ret) {
		out.result = result;
		out.done = j->cmd == DMATEST_CMD_SG_COPY ? result : j->len;
	}
	return out;
}

static struct job registers(void)
{
	return (struct job){
		.cmd = reg_r(DMATEST_CMD),
		.pattern = reg_r(DMATEST_PATTERN),
		.len = reg_r(DMATEST_LEN),
		.src_count = reg_r(DMATEST_SRC_COUNT),
		.dst_count = reg_r(DMATEST_DST_COUNT),
		.src = reg_r(DMATEST_SRC) | (uint64_t)reg_r(DMATEST_SRC + 4) << 32,
		.dst = reg_r(DMATEST_DST) | (uint64_t)reg_r(DMATEST_DST + 4) << 32,
	};
}

/* Can the guest reach the registers now? */
static bool decoding(void)
{
	uint64_t bar = bar0();

	return pci_memory_enabled(pdev()) &&
	       !(bar >= PCI_ECAM_BASE && bar - PCI_ECAM_BASE < PCI_ECAM_SIZE);
}

/*
 * Ring the doorbell (a 4-byte write of 1, or the 8-byte write at
 * DST_COUNT whose upper half is 1 when `pair`) and check the command
 * against the model.
 */
static void doorbell(bool pair, uint32_t dst_count)
{
	uint16_t command = pci_get_word(pdev(), PCI_COMMAND);
	uint16_t msi_flags = pci_get_word(pdev(), h.msi_cap + 2);
	bool master = command & PCI_COMMAND_MASTER, irq;
	uint64_t violations = load(&h.ep_dma_violations), msis = load(&h.msis), msi_addr;
	uint32_t msi_data, status, error;
	struct outcome want;
	struct job j;

	if (!decoding()) {
		reg_w(pair ? DMATEST_DST_COUNT : DMATEST_DOORBELL, pair ? 8 : 4,
		      pair ? (uint64_t)1 << 32 | dst_count : 1);
		return;
	}
	j = registers();
	if (pair)
		j.dst_count = dst_count;
	irq = (reg_r(DMATEST_CTRL) & DMATEST_CTRL_IRQ_ENABLE) && master && (msi_flags & 1);
	msi_addr = pci_get_long(pdev(), h.msi_cap + 4) | (uint64_t)pci_get_long(pdev(), h.msi_cap + 8) << 32;
	msi_data = pci_get_word(pdev(), h.msi_cap + 12);
	want = model(&j, master);

	reg_w(pair ? DMATEST_DST_COUNT : DMATEST_DOORBELL, pair ? 8 : 4,
	      pair ? (uint64_t)1 << 32 | dst_count : 1);
	wait_idle(msis + irq);
	status = reg_r(DMATEST_STATUS);
	error = reg_r(DMATEST_ERROR);
	FUZZ_TRACE("cmd %u src %#llx dst %#llx len %u: error %u (model %u%s)\n", j.cmd,
		   (unsigned long long)j.src, (unsigned long long)j.dst, j.len, error, want.error,
		   want.maybe_no_bounce ? " or no bounce" : "");

	FUZZ_CHECK(status & DMATEST_STATUS_DONE);
	FUZZ_CHECK(!!(status & DMATEST_STATUS_ERROR) == (error != DMATEST_ERROR_NONE));
	FUZZ_CHECK(reg_r(DMATEST_IRQ_STATUS) & DMATEST_IRQ_DONE);
	if (error == DMATEST_ERROR_NO_BOUNCE && want.maybe_no_bounce && want.error != error) {
		FUZZ_CHECK(fuzz_ram_equal(&h.ram, &h.before));
	} else {
		FUZZ_CHECK(error == want.error);
		if (error == DMATEST_ERROR_NONE) {
			FUZZ_CHECK(reg_r(DMATEST_RESULT) == want.result);
			FUZZ_CHECK((reg_r(DMATEST_DONE_BYTES) | (uint64_t)reg_r(DMATEST_DONE_BYTES + 4) << 32) ==
				   want.done);
			FUZZ_CHECK(fuzz_ram_equal(&h.ram, &h.expect));
		}
	}
	if (error != DMATEST_ERROR_NONE) {
		/* A failed command leaves guest memory untouched. */
		FUZZ_CHECK(fuzz_ram_equal(&h.ram, &h.before));
		FUZZ_CHECK(reg_r(DMATEST_RESULT) == 0 && reg_r(DMATEST_DONE_BYTES) == 0);
	}
	/* A violation for each refusal, none for anything else. */
	if (h.o.iommu) {
		bool violation = error == DMATEST_ERROR_ADDRESS_WIDTH || error == DMATEST_ERROR_DMA;

		FUZZ_CHECK(violation ? load(&h.ep_dma_violations) > violations
				     : load(&h.ep_dma_violations) == violations);
	}
	if (irq)
		FUZZ_CHECK(h.msi_addr == msi_addr && h.msi_data == msi_data);
	h.msis_expected += irq;
}

/* ---- operations */

static unsigned int reg_offset(struct fuzz_in *in)
{
	uint8_t r = fuzz_u8(in);

	return r >= DTF_REG_RAW ? fuzz_u16(in) : 4u * (r % DTF_NREGS);
}

static void op_reg_write(struct fuzz_in *in)
{
	unsigned int off = reg_offset(in), size = 1u << (fuzz_u8(in) % 4);
	uint64_t val = fuzz_u64(in);

	if (off == DMATEST_DOORBELL && size == 4 && (uint32_t)val == 1)
		doorbell(false, 0);
	else if (off == DMATEST_DST_COUNT && size == 8 && val >> 32 == 1)
		doorbell(true, (uint32_t)val);
	else
		reg_w(off, size, val);
}

static void op_cmd(struct fuzz_in *in)
{
	uint32_t cmd = fuzz_u8(in) % 6;
	uint64_t src = fuzz_u64(in), dst = fuzz_u64(in);
	uint32_t len = fuzz_u32(in), pattern = fuzz_u8(in);
	uint32_t src_count = fuzz_u16(in), dst_count = fuzz_u16(in);

	reg_w(DMATEST_CMD, 4, cmd);
	reg_w(DMATEST_PATTERN, 4, pattern);
	reg_w(DMATEST_SRC, 8, src);
	reg_w(DMATEST_DST, 8, dst);
	reg_w(DMATEST_LEN, 4, len);
	reg_w(DMATEST_SRC_COUNT, 4, src_count);
	reg_w(DMATEST_DST_COUNT, 4, dst_count);
	doorbell(false, 0);
}

static void op_sg(struct fuzz_in *in)
{
	uint64_t table = fuzz_u64(in);
	uint8_t index = fuzz_u8(in);
	struct dmatest_sg e;

	e.addr = htole64(fuzz_u64(in));
	e.len = htole32(fuzz_u32(in));
	e.reserved = htole32(fuzz_u32(in));
	fuzz_driver_write(&h.o, &h.ram, table + (uint64_t)index * sizeof(e), &e, sizeof(e));
}

static void op_msi(struct fuzz_in *in)
{
	uint16_t flags = fuzz_u16(in);
	uint64_t addr = fuzz_u64(in);
	uint16_t data = fuzz_u16(in);

	cfg_write(h.msi_cap + 4, 4, (uint32_t)addr);
	cfg_write(h.msi_cap + 8, 4, (uint32_t)(addr >> 32));
	cfg_write(h.msi_cap + 12, 2, data);
	cfg_write(h.msi_cap + 2, 2, flags);
}

/* ---- the target */

static void setup(void)
{
	static const unsigned int widths[4] = { 64, 40, 32, 24 };
	bool iommu = !(h.cfg & DTF_CFG_NO_IOMMU);
	struct dmatest_params p = { .index = 0, .signal_msi = stub_signal_msi };
	unsigned int busnr = 0, slot = SLOT;

	fuzz_ram_start(&h.ram);
	h.width = p.width = widths[h.cfg & 3];
	h.pool = h.cfg & DTF_CFG_SMALL_POOL ? SWIOTLB_MIN_POOL : POOL_BYTES;
	fuzz_iommu_create(&h.fi, &h.ram, h.pool);
	h.fi.on_violation = on_violation;
	fuzz_oracle_init(&h.o, &h.ram, iommu);
	h.msis = h.msis_expected = h.ep_violations = h.ep_dma_violations = 0;
	h.dt = NULL;
	pci_bus_init(&h.bus);
	if (h.cfg & DTF_CFG_ROOT_PORT) {
		FUZZ_CHECK(pci_add_root_port(&h.bus, PORT_SLOT, 1, true) == 0);
		busnr = 1;
		slot = 0;
	}
	h.bdf = pci_bdf_at(busnr, slot, 0);
	fuzz_dma_setup(&h.fi, &p.dma, h.bdf, "dmatest0", iommu, true);
	h.dma = p.dma;
	h.dt = dmatest_create(&h.bus, busnr, slot, &p);
	FUZZ_CHECK(h.dt != NULL);
	h.msi_cap = 0;
	for (unsigned int c = pdev()->cfg[PCI_CAPABILITY_LIST]; c; c = pdev()->cfg[c + 1])
		if (pdev()->cfg[c] == PCI_CAP_ID_MSI)
			h.msi_cap = c;
	FUZZ_CHECK(h.msi_cap != 0);
	/* What the driver's probe leaves: decode, bus mastering, the MSI. */
	cfg_write(PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cfg_write(h.msi_cap + 4, 4, 0xfee00000);
	cfg_write(h.msi_cap + 12, 2, 0x41);
	cfg_write(h.msi_cap + 2, 2, 1);
	FUZZ_CHECK(dmatest_start(h.dt) == 0);
	if (iommu)
		FUZZ_CHECK(fuzz_req_attach(&h.fi, 1, h.bdf) == VIRTIO_IOMMU_S_OK);
	fuzz_oracle_refresh(&h.o, &h.fi, h.bdf);
}

static void teardown(void)
{
	/* Stopped first: the worker is gone, a pending leak check has run. */
	dmatest_stop(h.dt);
	FUZZ_CHECK(load(&h.msis) == h.msis_expected);
	if (h.o.iommu && decoding())
		FUZZ_CHECK(reg_r(DMATEST_VIOL_COUNT) == load(&h.ep_violations));
	dmatest_destroy(h.dt);
	h.dt = NULL;
	fuzz_dma_teardown(&h.dma);
	pci_bus_destroy(&h.bus);
	pthread_mutex_destroy(&h.bus.lock);
	fuzz_iommu_destroy(&h.fi);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	h.cfg = fuzz_u8(&in);
	setup();
	while (in.left) {
		uint8_t op = fuzz_u8(&in) % DTF_NOPS;

		FUZZ_TRACE("op %u\n", op);
		fuzz_ram_copy(&h.before, &h.ram);
		switch (op) {
		case DTF_MAP:
		case DTF_UNMAP:
		case DTF_ATTACH:
			fuzz_iommu_op(&h.fi, &h.o, op, h.bdf, &in);
			continue;
		case DTF_POKE:
			fuzz_ring_op(&h.o, &h.ram, &h.none, FUZZ_OP_POKE, &in);
			continue;
		case DTF_SG:
			op_sg(&in);
			continue;
		case DTF_REG_WRITE:
			op_reg_write(&in);
			break;
		case DTF_REG_READ: {
			unsigned int off = reg_offset(&in), sz = 1u << (fuzz_u8(&in) % 4);
			uint64_t v = 0;

			pci_mmio_access(&h.bus, bar0() + off, false, sz, &v);
			break;
		}
		case DTF_CMD:
			op_cmd(&in);
			break;
		case DTF_DOORBELL:
			doorbell(false, 0);
			break;
		case DTF_CTRL:
			reg_w(DMATEST_CTRL, 4, fuzz_u32(&in));
			break;
		case DTF_COMMAND:
			cfg_write(PCI_COMMAND, 2, fuzz_u16(&in));
			break;
		default:
			op_msi(&in);
			break;
		}
		/* Nothing runs beside the next operation; whatever the device
		 * did, it wrote only where it may. */
		wait_idle(h.msis_expected);
		fuzz_check_device_writes(&h.o, &h.before, &h.ram);
	}
	teardown();
	return 0;
}
