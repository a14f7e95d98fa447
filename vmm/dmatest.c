/* SPDX-License-Identifier: MIT */
/*
 * The DMA test device ("dmatest"): a PCI function whose DMA engine does
 * what a guest driver programs into its registers.  Programming model and
 * register map: guest/dmatest/dmatest_hw.h.
 *
 * Threads: register accesses come from vCPU threads (BAR0 MMIO exits) and
 * are serialised by dt->lock; commands run on the device's own worker
 * thread, like real DMA that proceeds while the CPU does other things.
 * The worker never holds dt->lock while it touches guest memory.
 *
 * Every byte the device moves goes through vmm/dma.c (translation and
 * checks by the virtio-iommu) and the host bounce engine: a command first
 * stages everything it reads in bounce segments (one snapshot of the guest
 * bytes), computes, then checks that its whole destination is writable
 * and only then copies the result out -- so a refused or failed command
 * leaves guest memory untouched, and a full bounce pool is an I/O error
 * (DMATEST_ERROR_NO_BOUNCE), not a partial write.
 */
#include "vmm/dmatest.h"
#include "vmm/log.h"
#include "viommu/report.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <endian.h>

#include "guest/dmatest/dmatest_hw.h"

/* A stream of up to DMATEST_MAX_LEN bytes staged in bounce segments. */
#define STREAM_MAX_SEGS ((DMATEST_MAX_LEN + SWIOTLB_SEG_MAX - 1) / SWIOTLB_SEG_MAX)

struct stream {
	struct swiotlb_seg seg[STREAM_MAX_SEGS];
	unsigned int nseg;
	size_t len;
};

/* Linux's lazy IOTLB flush queue delays UNMAPs by ~10 ms; the leak check
 * runs well after that so that only real leaks remain. */
#define LEAK_GRACE_NS   (200ull * 1000 * 1000)
#define LEAK_MAX_RECORDS 16

#define PCI_CAP_ID_MSI   0x05
#define MSI_FLAGS        2     /* message control */
#define MSI_FLAGS_ENABLE 0x0001
#define MSI_FLAGS_QSIZE  0x0070
#define MSI_FLAGS_64BIT  0x0080
#define MSI_ADDR_LO      4
#define MSI_ADDR_HI      8
#define MSI_DATA_64      12
#define MSI_CAP_LEN      14

struct job {
	uint32_t cmd, pattern, len, src_count, dst_count;
	uint64_t src, dst;
};

struct dmatest {
	struct pci_device pci;
	struct pci_bus *bus;
	struct dmatest_params p;
	char name[16];
	unsigned int msi_cap;

	pthread_mutex_t lock;
	pthread_cond_t cond;        /* worker: doorbell, leak check, stop */
	pthread_cond_t idle;        /* reset waits for the running command */
	pthread_t thread;
	bool started, stop;

	/* Registers (under lock). */
	uint32_t status, error, result, irq_status, ctrl;
	struct job regs;
	uint64_t done_bytes;
	bool pending;               /* doorbell rung, not yet picked up */
	bool running;               /* the worker is executing a command */
	uint64_t generation;        /* bumped by reset: a running command's result is dropped */
	bool master;                /* PCI_COMMAND_MASTER as last seen */

	/* Leak check after reset / bus-master off (under lock). */
	bool leak_pending;
	uint64_t leak_seq, leak_deadline_ns;

	/* Host verdict registers. */
	atomic_uint viol_count, viol_last;

	/* Statistics. */
	uint64_t commands, failed, bytes_moved, leaks_found;
	uint64_t worker_wakeups;

	/* Worker scratch: two streams (CMP reads both sides). */
	struct stream a, b;
	struct dmatest_sg sg_src[DMATEST_SG_MAX], sg_dst[DMATEST_SG_MAX];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- streams --------------------------------------------------------- */

static void stream_free(struct stream *st)
{
	for (unsigned int i = 0; i < st->nseg; i++)
		swiotlb_seg_free(&st->seg[i]);
	st->nseg = 0;
	st->len = 0;
}

/* All segments up front: a full pool fails the command before any DMA.
 * Not cleared: every command fills its streams completely (guest
 * snapshots, FILL's pattern) before any byte goes out. */
static int stream_alloc(struct dmatest *dt, struct stream *st, size_t len)
{
	st->nseg = 0;
	st->len = 0;
	if (!dt->p.dma.bounce)
		return -EINVAL;
	while (st->len < len) {
		size_t n = len - st->len < SWIOTLB_SEG_MAX ? len - st->len : SWIOTLB_SEG_MAX;
		int ret = swiotlb_seg_alloc_uninit(dt->p.dma.bounce, n, 0, &st->seg[st->nseg]);

		if (ret) {
			if (ret == -ENOSPC) {
				dt->p.dma.bounce_exhausted++;
				pr_ratelimited(LOG_WARN, "%s: bounce pool exhausted: a %zu-byte command "
					       "fails with an I/O error (see --bounce-pool)", dt->name, len);
			}
			stream_free(st);
			return ret;
		}
		st->nseg++;
		st->len += n;
	}
	return 0;
}

/* Move [off, off+len) of the stream from (in) or to (out) guest `addr`. */
static int stream_xfer(struct dmatest *dt, struct stream *st, size_t off, uint64_t addr,
		       size_t len, bool out)
{
	while (len) {
		unsigned int i = (unsigned int)(off / SWIOTLB_SEG_MAX);
		size_t in_seg = off % SWIOTLB_SEG_MAX;
		size_t n = SWIOTLB_SEG_MAX - in_seg < len ? SWIOTLB_SEG_MAX - in_seg : len;
		int ret;

		if (i >= st->nseg)
			return -EINVAL;
		ret = out ? dma_bounce_out(&dt->p.dma, addr, &st->seg[i], in_seg, n)
			  : dma_bounce_in(&dt->p.dma, addr, &st->seg[i], in_seg, n);
		if (ret)
			return ret;
		off += n;
		addr += n;
		len -= n;
	}
	return 0;
}

static uint8_t *stream_byte(struct stream *st, size_t off)
{
	return &st->seg[off / SWIOTLB_SEG_MAX].buf[off % SWIOTLB_SEG_MAX];
}

/* --- the DMA engine --------------------------------------------------- */

/* The engine drives `width` address bits; a wider address is refused (a
 * real device would silently truncate it and hit someone else's memory). */
static int check_width(struct dmatest *dt, uint64_t addr, uint64_t len, enum viommu_access acc)
{
	uint64_t limit = dt->p.width >= 64 ? UINT64_MAX : (1ull << dt->p.width) - 1;

	if (len && addr <= limit && len - 1 <= limit - addr)
		return 0;
	if (dt->p.dma.iommu)
		viommu_report_violation(dt->p.dma.iommu, dt->p.dma.endpoint, addr, len, acc,
					VIOMMU_V_ADDRESS_WIDTH);
	else
		dmatest_note_violation(dt, DMATEST_VIOL_ADDRESS_WIDTH);
	return -ERANGE;
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

/* Read `len` bytes at `addr` into a fresh stream. */
static int read_range(struct dmatest *dt, struct stream *st, uint64_t addr, uint32_t len)
{
	int ret = check_width(dt, addr, len, VIOMMU_READ);

	if (!ret)
		ret = stream_alloc(dt, st, len);
	if (!ret)
		ret = stream_xfer(dt, st, 0, addr, len, false);
	return ret;
}

/* Write the stream to `addr` once the whole destination translates. */
static int write_range(struct dmatest *dt, struct stream *st, uint64_t addr, uint32_t len)
{
	int ret = check_width(dt, addr, len, VIOMMU_WRITE);

	if (!ret)
		ret = dma_check(&dt->p.dma, addr, len, VIOMMU_WRITE) ? -EFAULT : 0;
	if (!ret)
		ret = stream_xfer(dt, st, 0, addr, len, true);
	return ret;
}

static int read_sg_table(struct dmatest *dt, uint64_t addr, uint32_t count,
			 struct dmatest_sg *tab, uint64_t *total)
{
	size_t bytes = (size_t)count * sizeof(*tab);
	int ret;

	*total = 0;
	if (count == 0 || count > DMATEST_SG_MAX)
		return -EINVAL;
	ret = check_width(dt, addr, bytes, VIOMMU_READ);
	if (!ret)
		ret = dma_read(&dt->p.dma, addr, tab, bytes);
	if (ret)
		return ret;
	for (uint32_t i = 0; i < count; i++) {
		tab[i].addr = le64toh(tab[i].addr);
		tab[i].len = le32toh(tab[i].len);
		if (tab[i].len == 0 || tab[i].len > DMATEST_MAX_LEN || tab[i].reserved)
			return -EINVAL;
		*total += tab[i].len;
	}
	return *total > DMATEST_MAX_LEN ? -EINVAL : 0;
}

static int run_sg_copy(struct dmatest *dt, const struct job *j, uint32_t *result)
{
	uint64_t src_total, dst_total;
	size_t off = 0;
	int ret;

	ret = read_sg_table(dt, j->src, j->src_count, dt->sg_src, &src_total);
	if (!ret)
		ret = read_sg_table(dt, j->dst, j->dst_count, dt->sg_dst, &dst_total);
	if (ret)
		return ret;
	if (src_total != dst_total)
		return -EINVAL;
	for (uint32_t i = 0; i < j->src_count && !ret; i++)
		ret = check_width(dt, dt->sg_src[i].addr, dt->sg_src[i].len, VIOMMU_READ);
	for (uint32_t i = 0; i < j->dst_count && !ret; i++)
		ret = check_width(dt, dt->sg_dst[i].addr, dt->sg_dst[i].len, VIOMMU_WRITE);
	if (!ret)
		ret = stream_alloc(dt, &dt->a, src_total);
	for (uint32_t i = 0; i < j->src_count && !ret; i++) {
		ret = stream_xfer(dt, &dt->a, off, dt->sg_src[i].addr, dt->sg_src[i].len, false);
		off += dt->sg_src[i].len;
	}
	for (uint32_t i = 0; i < j->dst_count && !ret; i++)
		if (dma_check(&dt->p.dma, dt->sg_dst[i].addr, dt->sg_dst[i].len, VIOMMU_WRITE))
			ret = -EFAULT;
	off = 0;
	for (uint32_t i = 0; i < j->dst_count && !ret; i++) {
		ret = stream_xfer(dt, &dt->a, off, dt->sg_dst[i].addr, dt->sg_dst[i].len, true);
		off += dt->sg_dst[i].len;
	}
	*result = (uint32_t)src_total;
	return ret;
}

static int run(struct dmatest *dt, const struct job *j, uint32_t *result, uint64_t *moved)
{
	int ret;

	*result = 0;
	*moved = 0;
	if (j->cmd != DMATEST_CMD_SG_COPY && (j->len == 0 || j->len > DMATEST_MAX_LEN))
		return -EINVAL;
	switch (j->cmd) {
	case DMATEST_CMD_COPY:
		ret = read_range(dt, &dt->a, j->src, j->len);
		if (!ret)
			ret = write_range(dt, &dt->a, j->dst, j->len);
		*result = j->len;
		*moved = j->len;
		break;
	case DMATEST_CMD_FILL:
		ret = stream_alloc(dt, &dt->a, j->len);
		for (unsigned int i = 0; !ret && i < dt->a.nseg; i++)
			memset(dt->a.seg[i].buf, (int)(j->pattern & 0xff), dt->a.seg[i].len);
		if (!ret)
			ret = write_range(dt, &dt->a, j->dst, j->len);
		*result = j->len;
		*moved = j->len;
		break;
	case DMATEST_CMD_CMP:
		ret = read_range(dt, &dt->a, j->src, j->len);
		if (!ret)
			ret = read_range(dt, &dt->b, j->dst, j->len);
		*result = DMATEST_CMP_EQUAL;
		for (size_t off = 0; !ret && off < j->len; off++) {
			if (*stream_byte(&dt->a, off) != *stream_byte(&dt->b, off)) {
				*result = (uint32_t)off;
				break;
			}
		}
		*moved = j->len;
		break;
	case DMATEST_CMD_READ: {
		uint32_t sum = 0;

		ret = read_range(dt, &dt->a, j->src, j->len);
		for (size_t off = 0; !ret && off < j->len; off++)
			sum += *stream_byte(&dt->a, off);
		*result = sum;
		*moved = j->len;
		break;
	}
	case DMATEST_CMD_SG_COPY:
		ret = run_sg_copy(dt, j, result);
		*moved = *result;
		break;
	default:
		ret = -EINVAL;
		break;
	}
	stream_free(&dt->a);
	stream_free(&dt->b);
	if (ret)
		*moved = 0;
	return ret;
}

/* --- interrupts -------------------------------------------------------- */

static void send_msi(struct dmatest *dt, bool master)
{
	uint16_t flags;
	uint64_t addr;
	uint32_t data;

	pthread_mutex_lock(&dt->bus->lock);
	flags = pci_get_word(&dt->pci, dt->msi_cap + MSI_FLAGS);
	addr = pci_get_long(&dt->pci, dt->msi_cap + MSI_ADDR_LO) |
	       (uint64_t)pci_get_long(&dt->pci, dt->msi_cap + MSI_ADDR_HI) << 32;
	data = pci_get_word(&dt->pci, dt->msi_cap + MSI_DATA_64);
	pthread_mutex_unlock(&dt->bus->lock);
	/* MSI is a memory write by the device: it needs bus mastering. */
	if ((flags & MSI_FLAGS_ENABLE) && master && dt->p.signal_msi)
		dt->p.signal_msi(dt->p.msi_opaque, addr, data);
}

/* --- the worker -------------------------------------------------------- */

static void leak_check(struct dmatest *dt, uint64_t seq)
{
	unsigned int n;

	if (!dt->p.dma.iommu)
		return;
	n = viommu_check_leaks(dt->p.dma.iommu, dt->p.dma.endpoint, seq, LEAK_MAX_RECORDS);
	if (n) {
		pr_ratelimited(LOG_WARN, "%s: %u mapping%s still live after the device was reset "
			       "or its bus mastering turned off (leak)", dt->name, n, n == 1 ? "" : "s");
		pthread_mutex_lock(&dt->lock);
		dt->leaks_found += n;
		pthread_mutex_unlock(&dt->lock);
	}
}

static void *worker(void *arg)
{
	struct dmatest *dt = arg;

	pthread_mutex_lock(&dt->lock);
	while (!dt->stop) {
		dt->worker_wakeups++;
		if (dt->pending) {
			struct job j = dt->regs;
			uint64_t gen = dt->generation, moved;
			uint32_t result;
			bool master = dt->master;
			int ret;

			dt->pending = false;
			dt->running = true;
			pthread_mutex_unlock(&dt->lock);
			ret = master ? run(dt, &j, &result, &moved) : -EPERM;
			pthread_mutex_lock(&dt->lock);
			dt->running = false;
			pthread_cond_broadcast(&dt->idle);
			if (gen != dt->generation)
				continue;          /* reset meanwhile: no completion */
			dt->commands++;
			dt->error = ret == -EPERM ? DMATEST_ERROR_NO_MASTER : error_of(ret);
			dt->result = ret ? 0 : result;
			dt->done_bytes = moved;
			dt->bytes_moved += moved;
			if (ret)
				dt->failed++;
			dt->status = DMATEST_STATUS_DONE | (ret ? DMATEST_STATUS_ERROR : 0);
			dt->irq_status |= DMATEST_IRQ_DONE;
			if (dt->ctrl & DMATEST_CTRL_IRQ_ENABLE) {
				master = dt->master;
				pthread_mutex_unlock(&dt->lock);
				send_msi(dt, master);
				pthread_mutex_lock(&dt->lock);
			}
			continue;
		}
		if (dt->leak_pending) {
			uint64_t now = now_ns();

			if (now >= dt->leak_deadline_ns) {
				uint64_t seq = dt->leak_seq;

				dt->leak_pending = false;
				pthread_mutex_unlock(&dt->lock);
				leak_check(dt, seq);
				pthread_mutex_lock(&dt->lock);
			} else {
				/* dt->cond waits on CLOCK_MONOTONIC, the clock of the deadline. */
				struct timespec ts = {
					.tv_sec = (time_t)(dt->leak_deadline_ns / 1000000000ull),
					.tv_nsec = (long)(dt->leak_deadline_ns % 1000000000ull),
				};

				pthread_cond_timedwait(&dt->cond, &dt->lock, &ts);
			}
			continue;
		}
		pthread_cond_wait(&dt->cond, &dt->lock);
	}
	pthread_mutex_unlock(&dt->lock);
	return NULL;
}

/* The driver let go of the device (reset, or bus mastering off): whatever
 * it still has mapped a grace period from now was leaked.  Called with
 * dt->lock held. */
static void schedule_leak_check(struct dmatest *dt)
{
	if (!dt->p.dma.iommu)
		return;
	dt->leak_seq = viommu_map_seq(dt->p.dma.iommu);
	dt->leak_deadline_ns = now_ns() + LEAK_GRACE_NS;
	dt->leak_pending = true;
	pthread_cond_signal(&dt->cond);
}

/* --- registers --------------------------------------------------------- */

static void reset_locked(struct dmatest *dt)
{
	dt->generation++;
	dt->pending = false;
	/* A reset stops the DMA engine: a running command is let finish
	 * (at most DMATEST_MAX_LEN bytes) and its completion dropped, so that
	 * no DMA happens once the reset write returns. */
	while (dt->running)
		pthread_cond_wait(&dt->idle, &dt->lock);
	dt->status = dt->error = dt->result = dt->irq_status = dt->ctrl = 0;
	memset(&dt->regs, 0, sizeof(dt->regs));
	dt->done_bytes = 0;
}

static uint32_t reg_read(struct dmatest *dt, unsigned int off)
{
	switch (off) {
	case DMATEST_ID:          return DMATEST_MAGIC;
	case DMATEST_VERSION:     return 1;
	case DMATEST_WIDTH:       return dt->p.width;
	case DMATEST_STATUS:      return dt->status | (dt->pending || dt->running ? DMATEST_STATUS_BUSY : 0);
	case DMATEST_ERROR:       return dt->error;
	case DMATEST_RESULT:      return dt->result;
	case DMATEST_IRQ_STATUS:  return dt->irq_status;
	case DMATEST_CTRL:        return dt->ctrl;
	case DMATEST_CMD:         return dt->regs.cmd;
	case DMATEST_PATTERN:     return dt->regs.pattern;
	case DMATEST_SRC:         return (uint32_t)dt->regs.src;
	case DMATEST_SRC + 4:     return (uint32_t)(dt->regs.src >> 32);
	case DMATEST_DST:         return (uint32_t)dt->regs.dst;
	case DMATEST_DST + 4:     return (uint32_t)(dt->regs.dst >> 32);
	case DMATEST_LEN:         return dt->regs.len;
	case DMATEST_SRC_COUNT:   return dt->regs.src_count;
	case DMATEST_DST_COUNT:   return dt->regs.dst_count;
	case DMATEST_DONE_BYTES:  return (uint32_t)dt->done_bytes;
	case DMATEST_DONE_BYTES + 4: return (uint32_t)(dt->done_bytes >> 32);
	case DMATEST_VIOL_COUNT:  return atomic_load(&dt->viol_count);
	case DMATEST_VIOL_LAST:   return atomic_load(&dt->viol_last);
	default:                  return 0;
	}
}

static void set_half(uint64_t *reg, bool high, uint32_t val)
{
	if (high)
		*reg = (*reg & 0xffffffffull) | (uint64_t)val << 32;
	else
		*reg = (*reg & ~0xffffffffull) | val;
}

static void reg_write(struct dmatest *dt, unsigned int off, uint32_t val)
{
	bool busy = dt->pending || dt->running;

	switch (off) {
	case DMATEST_IRQ_STATUS:
		dt->irq_status &= ~val;
		return;
	case DMATEST_CTRL:
		if (val & DMATEST_CTRL_RESET) {
			reset_locked(dt);
			schedule_leak_check(dt);
		}
		dt->ctrl = val & DMATEST_CTRL_IRQ_ENABLE;
		return;
	case DMATEST_DOORBELL:
		if (val == 1 && !busy) {
			dt->status = 0;
			dt->error = 0;
			dt->result = 0;
			dt->pending = true;
			pthread_cond_signal(&dt->cond);
		}
		return;
	default:
		break;
	}
	if (busy)
		return;   /* command registers are frozen while a command runs */
	switch (off) {
	case DMATEST_CMD:       dt->regs.cmd = val; break;
	case DMATEST_PATTERN:   dt->regs.pattern = val; break;
	case DMATEST_SRC:       set_half(&dt->regs.src, false, val); break;
	case DMATEST_SRC + 4:   set_half(&dt->regs.src, true, val); break;
	case DMATEST_DST:       set_half(&dt->regs.dst, false, val); break;
	case DMATEST_DST + 4:   set_half(&dt->regs.dst, true, val); break;
	case DMATEST_LEN:       dt->regs.len = val; break;
	case DMATEST_SRC_COUNT: dt->regs.src_count = val; break;
	case DMATEST_DST_COUNT: dt->regs.dst_count = val; break;
	default: break;           /* read-only or unassigned: ignored */
	}
}

static uint64_t bar_read(struct pci_device *pdev, unsigned int bar, uint64_t offset, unsigned int size)
{
	struct dmatest *dt = pdev->opaque;
	unsigned int reg = (unsigned int)(offset & ~3ull);
	uint64_t val;

	if (bar != 0 || offset >= DMATEST_BAR0_SIZE)
		return ~0ull;
	pthread_mutex_lock(&dt->lock);
	val = reg_read(dt, reg);
	if (size == 8 && !(offset & 7))
		val |= (uint64_t)reg_read(dt, reg + 4) << 32;
	pthread_mutex_unlock(&dt->lock);
	if (size < 4)   /* byte and word reads of a register: the addressed part */
		val = (val >> (8 * (offset & 3))) & ((1ull << (8 * size)) - 1);
	return val;
}

static void bar_write(struct pci_device *pdev, unsigned int bar, uint64_t offset, unsigned int size,
		      uint64_t val)
{
	struct dmatest *dt = pdev->opaque;

	/* Registers are written as whole 32-bit words (or 64-bit pairs);
	 * narrower writes are ignored, as on many real devices. */
	if (bar != 0 || offset >= DMATEST_BAR0_SIZE || (offset & 3) || size < 4 ||
	    (size == 8 && (offset & 7)))
		return;
	pthread_mutex_lock(&dt->lock);
	reg_write(dt, (unsigned int)offset, (uint32_t)val);
	if (size == 8)
		reg_write(dt, (unsigned int)offset + 4, (uint32_t)(val >> 32));
	pthread_mutex_unlock(&dt->lock);
}

static void config_written(struct pci_device *pdev, unsigned int offset, unsigned int size)
{
	struct dmatest *dt = pdev->opaque;
	bool master;

	if (offset > PCI_COMMAND || offset + size <= PCI_COMMAND)
		return;
	pthread_mutex_lock(&dt->bus->lock);
	master = pci_get_word(pdev, PCI_COMMAND) & PCI_COMMAND_MASTER;
	pthread_mutex_unlock(&dt->bus->lock);
	pthread_mutex_lock(&dt->lock);
	if (dt->master && !master)
		schedule_leak_check(dt);   /* pci_disable_device() / pci_clear_master() */
	dt->master = master;
	pthread_mutex_unlock(&dt->lock);
}

static const struct pci_device_ops dmatest_ops = {
	.bar_read = bar_read,
	.bar_write = bar_write,
	.config_written = config_written,
};

/* --- life cycle -------------------------------------------------------- */

struct dmatest *dmatest_create(struct pci_bus *bus, unsigned int busnr, unsigned int slot,
			       const struct dmatest_params *p)
{
	pthread_condattr_t cattr;
	struct dmatest *dt;
	unsigned int msi;
	int ret;

	if (p->width != 64 && p->width != 40 && p->width != 32 && p->width != 24) {
		errno = EINVAL;
		return NULL;
	}
	dt = calloc(1, sizeof(*dt));
	if (!dt)
		return NULL;
	dt->bus = bus;
	dt->p = *p;
	snprintf(dt->name, sizeof(dt->name), "dmatest%u", p->index);
	pthread_mutex_init(&dt->lock, NULL);
	/* The leak deadline is a CLOCK_MONOTONIC time (immune to wall-clock
	 * steps); a condvar of the default clock (CLOCK_REALTIME) would read
	 * it as long past and never sleep. */
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC);
	pthread_cond_init(&dt->cond, &cattr);
	pthread_condattr_destroy(&cattr);
	pthread_cond_init(&dt->idle, NULL);

	pci_device_init(&dt->pci, dt->name, DMATEST_VENDOR_ID, DMATEST_DEVICE_ID, 0xff0000,
			DMATEST_VENDOR_ID, DMATEST_DEVICE_ID);
	dt->pci.ops = &dmatest_ops;
	dt->pci.opaque = dt;
	ret = pci_device_add_bar(bus, &dt->pci, 0, DMATEST_BAR0_SIZE, false);
	if (ret)
		goto err;
	msi = pci_add_capability(&dt->pci, PCI_CAP_ID_MSI, MSI_CAP_LEN);
	if (!msi) {
		ret = -ENOSPC;
		goto err;
	}
	dt->msi_cap = msi;
	/* One vector, 64-bit address, no per-vector masking. */
	pci_set_word(&dt->pci, msi + MSI_FLAGS, MSI_FLAGS_64BIT);
	dt->pci.wmask[msi + MSI_FLAGS] = (uint8_t)(MSI_FLAGS_ENABLE | MSI_FLAGS_QSIZE);
	for (unsigned int i = 0; i < 4; i++) {
		dt->pci.wmask[msi + MSI_ADDR_LO + i] = i == 0 ? 0xfc : 0xff;
		dt->pci.wmask[msi + MSI_ADDR_HI + i] = 0xff;
	}
	dt->pci.wmask[msi + MSI_DATA_64] = 0xff;
	dt->pci.wmask[msi + MSI_DATA_64 + 1] = 0xff;
	ret = pci_register_at(bus, &dt->pci, busnr, slot);
	if (ret)
		goto err;
	return dt;

err:
	pthread_cond_destroy(&dt->idle);
	pthread_cond_destroy(&dt->cond);
	pthread_mutex_destroy(&dt->lock);
	free(dt);
	errno = -ret;
	return NULL;
}

int dmatest_start(struct dmatest *dt)
{
	int ret = pthread_create(&dt->thread, NULL, worker, dt);

	if (ret)
		return -ret;
	dt->started = true;
	return 0;
}

void dmatest_stop(struct dmatest *dt)
{
	bool leak_pending;
	uint64_t seq;

	if (!dt->started)
		return;
	pthread_mutex_lock(&dt->lock);
	dt->stop = true;
	pthread_cond_signal(&dt->cond);
	pthread_mutex_unlock(&dt->lock);
	pthread_join(dt->thread, NULL);
	dt->started = false;
	/* The VM is gone before the grace period ended: check now, so that
	 * the report still names what the driver left mapped. */
	pthread_mutex_lock(&dt->lock);
	leak_pending = dt->leak_pending;
	seq = dt->leak_seq;
	dt->leak_pending = false;
	pthread_mutex_unlock(&dt->lock);
	if (leak_pending)
		leak_check(dt, seq);
}

void dmatest_destroy(struct dmatest *dt)
{
	if (!dt)
		return;
	dmatest_stop(dt);
	pthread_cond_destroy(&dt->idle);
	pthread_cond_destroy(&dt->cond);
	pthread_mutex_destroy(&dt->lock);
	free(dt);
}

unsigned int dmatest_verdict_class(enum viommu_violation v)
{
	switch (v) {
	case VIOMMU_V_UNMAPPED:      return DMATEST_VIOL_UNMAPPED;
	case VIOMMU_V_PERMISSION:    return DMATEST_VIOL_PERMISSION;
	case VIOMMU_V_PAST_END:      return DMATEST_VIOL_PAST_END;
	case VIOMMU_V_AFTER_UNMAP:   return DMATEST_VIOL_AFTER_UNMAP;
	case VIOMMU_V_ADDRESS_WIDTH: return DMATEST_VIOL_ADDRESS_WIDTH;
	case VIOMMU_V_BYPASS:        return DMATEST_VIOL_BYPASS;
	case VIOMMU_V_LEAK:          return DMATEST_VIOL_LEAK;
	case VIOMMU_V_NOT_RAM:       return DMATEST_VIOL_NOT_RAM;
	case VIOMMU_V_NO_DOMAIN:     return DMATEST_VIOL_NO_DOMAIN;
	default:                     return DMATEST_VIOL_OTHER;
	}
}

void dmatest_note_violation(struct dmatest *dt, unsigned int viol_class)
{
	atomic_store(&dt->viol_last, viol_class);
	atomic_fetch_add(&dt->viol_count, 1);
}

struct pci_device *dmatest_pci(struct dmatest *dt)
{
	return &dt->pci;
}

const char *dmatest_name(const struct dmatest *dt)
{
	return dt->name;
}

void dmatest_stats(struct dmatest *dt, struct dmatest_stats *out)
{
	pthread_mutex_lock(&dt->lock);
	out->commands = dt->commands;
	out->failed = dt->failed;
	out->bytes_moved = dt->bytes_moved;
	out->leaks_found = dt->leaks_found;
	out->violations = atomic_load(&dt->viol_count);
	out->bounce_exhausted = dt->p.dma.bounce_exhausted;
	out->worker_wakeups = dt->worker_wakeups;
	pthread_mutex_unlock(&dt->lock);
}

uint32_t dmatest_endpoint(const struct dmatest *dt)
{
	return dt->p.dma.endpoint;
}
