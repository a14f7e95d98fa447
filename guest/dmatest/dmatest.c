// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * dmatest.c - Linux driver for vmm's DMA test device "dmatest" (PCI
 * 1234:d3a7; programming model: dmatest_hw.h).  Built out of tree against
 * the default guest's kernel (guest/local.mk) and loaded by the guest's
 * /init after virtio_iommu, so every DMA address it hands the device is an
 * IOVA of the DMA API behind vmm's virtio-iommu.
 *
 * It uses the DMA API the way Documentation/core-api/dma-api-howto.rst
 * says (masks with fallback, coherent allocations, streaming mappings in
 * every direction with the matching syncs, scatter-gather, pools,
 * dma_mapping_error after every map) in a suite of "correct" cases that
 * must cause no DMA-API violation at the host, and commits one deliberate
 * DMA-API bug per "zoo" case, each checked from inside the guest through
 * the device's host-verdict registers (DMATEST_VIOL_COUNT/_LAST).
 *
 * debugfs interface, one directory per bound device:
 *
 *   /sys/kernel/debug/dmatest/<pci-name>/info   (read)
 *       key=value lines: bdf, version, width (the device's WIDTH),
 *       mask_bits / dma_mask / coherent_mask (what the driver set),
 *       untrusted (pci_dev->untrusted), iommu_domain (DMA, DMA-FQ,
 *       identity, blocked, unmanaged, none), strict (1: unmaps are
 *       invalidated synchronously: DMA domain or untrusted device),
 *       swiotlb (active|inactive: a bounce pool exists for the device),
 *       swiotlb_slabs, irq (msi:N or poll), viol_count and viol_last (the
 *       host's verdict registers: count and class name of the latest),
 *       runs, failures, leaks_reclaimed, timeouts, bounce_retries (commands
 *       the host refused for want of bounce slots, ERROR_NO_BOUNCE, and run
 *       again: 0 unless the host's bounce pool ran full).
 *
 *   /sys/kernel/debug/dmatest/<pci-name>/cases  (read)
 *       one line per case: "NAME correct" or "NAME zoo CLASS", CLASS being
 *       the host's violation class the case must cause.
 *
 *   /sys/kernel/debug/dmatest/<pci-name>/run    (write, then read)
 *       Write one or more case names (separated by blanks, commas or
 *       newlines; "correct" stands for every correct case, in the order of
 *       the cases file): they run one after the other before write()
 *       returns (an unknown name: EINVAL, nothing runs; another write
 *       running: this one waits).  Read: one line per case of the latest
 *       write on this device ("none" before the first):
 *         ok CASE DETAILS... (N ms)      the case did what it should
 *         not ok CASE WHY... (N ms)      it did not (WHY says what differed)
 *         skip CASE WHY... (N ms)        it cannot run here (WHY says why)
 *       Correct cases additionally fail when the device's violation count
 *       moved while they ran.  Zoo cases report
 *         "ok CASE viol=CLASS count=+N error=ERR ..." after checking that
 *       the device command ended with the expected error, that the host
 *       counted at least one more violation with the expected class as its
 *       latest, and (where the bug was a refused write) that the guest
 *       memory behind it is untouched.  The "leak" case only maps and
 *       forgets a buffer; the host's verdict comes once the driver is
 *       unbound (remove resets the device and clears bus mastering) and a
 *       grace period has passed: unbind, wait ~1 s, bind, then read info.
 *       The next probe of the same device unmaps and frees what the leak
 *       case left behind (the DMA handle stays valid as long as the device
 *       stays in its IOMMU group), so the guest does not keep the leak;
 *       info's leaks_reclaimed counts those.
 */
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/dmapool.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/iommu.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/swiotlb.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "dmatest_hw.h"

#define DT_NAME          "dmatest"
#define DT_TIMEOUT_MS    10000   /* one command; generous: nested emulation */
#define DT_VIOL_WAIT_MS  2000    /* how long a zoo case waits for the verdict */
#define DT_GUARD         64      /* guard bytes around streaming buffers */
#define DT_GUARD_BYTE    0xa5
#define DT_NO_BOUNCE_RETRIES 20
#define DT_RESULTS_SIZE  16384   /* result lines of one write to "run" */

static const char *const dt_viol_names[16] = {
	[DMATEST_VIOL_NONE] = "none",
	[DMATEST_VIOL_UNMAPPED] = "unmapped",
	[DMATEST_VIOL_PERMISSION] = "permission",
	[DMATEST_VIOL_PAST_END] = "past-end",
	[DMATEST_VIOL_AFTER_UNMAP] = "after-unmap",
	[DMATEST_VIOL_ADDRESS_WIDTH] = "address-width",
	[DMATEST_VIOL_BYPASS] = "bypass",
	[DMATEST_VIOL_LEAK] = "leak",
	[DMATEST_VIOL_NOT_RAM] = "not-ram",
	[DMATEST_VIOL_NO_DOMAIN] = "no-domain",
	[DMATEST_VIOL_OTHER] = "other",
};

static const char *viol_name(u32 v)
{
	if (v < ARRAY_SIZE(dt_viol_names) && dt_viol_names[v])
		return dt_viol_names[v];
	return "unknown";
}

static const char *err_name(u32 e)
{
	switch (e) {
	case DMATEST_ERROR_NONE: return "none";
	case DMATEST_ERROR_DMA: return "dma";
	case DMATEST_ERROR_ADDRESS_WIDTH: return "address-width";
	case DMATEST_ERROR_NO_BOUNCE: return "no-bounce";
	case DMATEST_ERROR_BAD_COMMAND: return "bad-command";
	case DMATEST_ERROR_NO_MASTER: return "no-master";
	default: return "unknown";
	}
}

struct dt_dev {
	struct pci_dev *pdev;
	void __iomem *regs;
	u32 width;              /* the device's addressing width */
	u32 mask_bits;          /* the DMA mask the driver set */
	int irq;                /* Linux IRQ of the MSI, or -1: polling */
	struct completion done;
	struct mutex lock;      /* one case (and so one command) at a time */
	struct dentry *dir;
	struct dmatest_sg *sgtab;   /* 2 * DMATEST_SG_MAX entries, coherent */
	dma_addr_t sgtab_dma;
	char *results;          /* DT_RESULTS_SIZE: lines of the latest "run" write */
	size_t results_len;
	unsigned int runs, failures, timeouts, leaks_reclaimed;
	unsigned int bounce_retries;   /* ERROR_NO_BOUNCE answers retried by dt_exec() */
};

static struct dentry *dt_root;

/* Mappings the "leak" case left behind, reclaimed by the next probe of the
 * same device (or at module unload). */
struct dt_leak {
	struct list_head node;
	struct pci_dev *pdev;   /* holds a reference */
	void *buf;
	dma_addr_t dma;
	size_t len;
	enum dma_data_direction dir;
};
static LIST_HEAD(dt_leaks);
static DEFINE_MUTEX(dt_leaks_lock);

/* ------------------------------------------------------------------ */
/* Registers and commands */

static u32 rd(struct dt_dev *dt, u32 off)
{
	return readl(dt->regs + off);
}

static void wr(struct dt_dev *dt, u32 off, u32 v)
{
	writel(v, dt->regs + off);
}

static void wr64(struct dt_dev *dt, u32 off, u64 v)
{
	writel(lower_32_bits(v), dt->regs + off);
	writel(upper_32_bits(v), dt->regs + off + 4);
}

static void dt_hw_reset(struct dt_dev *dt, bool irq_on)
{
	unsigned int i;

	wr(dt, DMATEST_CTRL, DMATEST_CTRL_RESET);
	for (i = 0; i < 1000 && (rd(dt, DMATEST_CTRL) & DMATEST_CTRL_RESET); i++)
		usleep_range(100, 200);
	wr(dt, DMATEST_IRQ_STATUS, DMATEST_IRQ_DONE);
	wr(dt, DMATEST_CTRL, irq_on ? DMATEST_CTRL_IRQ_ENABLE : 0);
}

static irqreturn_t dt_irq(int irq, void *data)
{
	struct dt_dev *dt = data;
	u32 st = rd(dt, DMATEST_IRQ_STATUS);

	if (!(st & DMATEST_IRQ_DONE))
		return IRQ_NONE;
	wr(dt, DMATEST_IRQ_STATUS, st);
	complete(&dt->done);
	return IRQ_HANDLED;
}

struct dt_cmd {
	u32 cmd;
	u64 src, dst;
	u32 len, pattern, src_count, dst_count;
};

struct dt_res {
	u32 status, error, result, done_bytes;
};

/* Wait for the command to complete: 0, -ETIMEDOUT, or -ENOMSG (the device
 * says DONE but its MSI never came). */
static int dt_wait(struct dt_dev *dt)
{
	unsigned long end;
	u32 st;

	if (dt->irq >= 0) {
		if (wait_for_completion_timeout(&dt->done, msecs_to_jiffies(DT_TIMEOUT_MS)))
			return 0;
		st = rd(dt, DMATEST_STATUS);
		return (st & DMATEST_STATUS_DONE) && !(st & DMATEST_STATUS_BUSY) ?
			-ENOMSG : -ETIMEDOUT;
	}
	end = jiffies + msecs_to_jiffies(DT_TIMEOUT_MS);
	do {
		st = rd(dt, DMATEST_STATUS);
		if ((st & DMATEST_STATUS_DONE) && !(st & DMATEST_STATUS_BUSY))
			return 0;
		usleep_range(50, 100);
	} while (time_before(jiffies, end));
	return -ETIMEDOUT;
}

/* Run one command; the device's own errors are in *r.  A full host bounce
 * pool (ERROR_NO_BOUNCE) is an I/O error to retry, as the header says. */
static int dt_exec(struct dt_dev *dt, const struct dt_cmd *c, struct dt_res *r)
{
	unsigned int attempt;
	int ret;

	for (attempt = 0;; attempt++) {
		if (rd(dt, DMATEST_STATUS) & DMATEST_STATUS_BUSY)
			dt_hw_reset(dt, dt->irq >= 0);
		reinit_completion(&dt->done);
		wr(dt, DMATEST_CMD, c->cmd);
		wr(dt, DMATEST_PATTERN, c->pattern);
		wr64(dt, DMATEST_SRC, c->src);
		wr64(dt, DMATEST_DST, c->dst);
		wr(dt, DMATEST_LEN, c->len);
		wr(dt, DMATEST_SRC_COUNT, c->src_count);
		wr(dt, DMATEST_DST_COUNT, c->dst_count);
		/* writel orders the CPU's earlier writes to DMA memory before
		 * the doorbell. */
		wr(dt, DMATEST_DOORBELL, 1);
		ret = dt_wait(dt);
		if (ret) {
			dt->timeouts++;
			dev_warn(&dt->pdev->dev, "command %u %s; resetting the device\n", c->cmd,
				 ret == -ENOMSG ? "completed without its MSI" : "timed out");
			dt_hw_reset(dt, dt->irq >= 0);
			return ret;
		}
		r->status = rd(dt, DMATEST_STATUS);
		r->error = rd(dt, DMATEST_ERROR);
		r->result = rd(dt, DMATEST_RESULT);
		r->done_bytes = rd(dt, DMATEST_DONE_BYTES);
		if (r->error != DMATEST_ERROR_NO_BOUNCE || attempt >= DT_NO_BOUNCE_RETRIES)
			return 0;
		dt->bounce_retries++;   /* counted: a retry must not hide a full pool */
		msleep(10);
	}
}

/* ------------------------------------------------------------------ */
/* Case context and helpers */

struct dt_case;

struct dt_ctx {
	struct dt_dev *dt;
	struct device *dev;
	const struct dt_case *c;
	char msg[200];
	unsigned int cmds;
};

static __printf(2, 3) int fail(struct dt_ctx *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vscnprintf(x->msg, sizeof(x->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static __printf(2, 3) int skipped(struct dt_ctx *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vscnprintf(x->msg, sizeof(x->msg), fmt, ap);
	va_end(ap);
	return 1;
}

static __printf(2, 3) void note(struct dt_ctx *x, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vscnprintf(x->msg, sizeof(x->msg), fmt, ap);
	va_end(ap);
}

static const char *cmd_name(u32 cmd)
{
	switch (cmd) {
	case DMATEST_CMD_COPY: return "COPY";
	case DMATEST_CMD_FILL: return "FILL";
	case DMATEST_CMD_CMP: return "CMP";
	case DMATEST_CMD_READ: return "READ";
	case DMATEST_CMD_SG_COPY: return "SG_COPY";
	default: return "?";
	}
}

/* Run a command that must succeed; its result in *r (may be NULL). */
static int dev_cmd(struct dt_ctx *x, u32 cmd, dma_addr_t src, dma_addr_t dst, u32 len,
		   u32 pattern, u32 sc, u32 dc, struct dt_res *out)
{
	struct dt_cmd c = { .cmd = cmd, .src = src, .dst = dst, .len = len,
			    .pattern = pattern, .src_count = sc, .dst_count = dc };
	struct dt_res r;
	int ret;

	x->cmds++;
	ret = dt_exec(x->dt, &c, &r);
	if (ret)
		return fail(x, "%s of %u bytes: %s", cmd_name(cmd), len,
			    ret == -ENOMSG ? "completed without an MSI" : "timed out");
	if (r.error != DMATEST_ERROR_NONE || !(r.status & DMATEST_STATUS_DONE) ||
	    (r.status & DMATEST_STATUS_ERROR))
		return fail(x, "%s of %u bytes src %#llx dst %#llx: device error %s (status %#x, viol_count %u last %s)",
			    cmd_name(cmd), len, (u64)src, (u64)dst, err_name(r.error), r.status,
			    rd(x->dt, DMATEST_VIOL_COUNT), viol_name(rd(x->dt, DMATEST_VIOL_LAST)));
	if ((cmd == DMATEST_CMD_COPY || cmd == DMATEST_CMD_FILL) && r.done_bytes != len)
		return fail(x, "%s of %u bytes: device moved %u bytes", cmd_name(cmd), len,
			    r.done_bytes);
	if (out)
		*out = r;
	return 0;
}

static int d_fill(struct dt_ctx *x, dma_addr_t dst, u32 len, u8 byte)
{
	return dev_cmd(x, DMATEST_CMD_FILL, 0, dst, len, byte, 0, 0, NULL);
}

static int d_copy(struct dt_ctx *x, dma_addr_t src, dma_addr_t dst, u32 len)
{
	return dev_cmd(x, DMATEST_CMD_COPY, src, dst, len, 0, 0, 0, NULL);
}

/* The device's sum of LEN bytes at SRC must equal the CPU's. */
static int d_read_sum(struct dt_ctx *x, dma_addr_t src, u32 len, u32 want)
{
	struct dt_res r;

	if (dev_cmd(x, DMATEST_CMD_READ, src, 0, len, 0, 0, 0, &r))
		return -1;
	if (r.result != want)
		return fail(x, "READ of %u bytes at %#llx: device sum %#x, CPU sum %#x",
			    len, (u64)src, r.result, want);
	return 0;
}

static int d_cmp(struct dt_ctx *x, dma_addr_t a, dma_addr_t b, u32 len, u32 want)
{
	struct dt_res r;

	if (dev_cmd(x, DMATEST_CMD_CMP, a, b, len, 0, 0, 0, &r))
		return -1;
	if (r.result != want)
		return fail(x, "CMP of %u bytes: device says %#x, expected %#x", len, r.result, want);
	return 0;
}

/* Deterministic test data: byte i of pattern SEED. */
static inline u8 pat(u32 seed, size_t i)
{
	u32 v = (u32)i * 0x9e3779b1u + seed * 0x85ebca6bu;

	v ^= v >> 15;
	return (u8)(v ^ (v >> 7) ^ (i >> 12));
}

static void fill_pat(u8 *p, size_t len, u32 seed, size_t base)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = pat(seed, base + i);
}

/* First offset where P differs from pattern SEED (starting at BASE), or -1. */
static long check_pat(const u8 *p, size_t len, u32 seed, size_t base)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pat(seed, base + i))
			return (long)i;
	return -1;
}

static long check_byte(const u8 *p, size_t len, u8 b)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != b)
			return (long)i;
	return -1;
}

static u32 sum_bytes(const u8 *p, size_t len)
{
	u32 s = 0;
	size_t i;

	for (i = 0; i < len; i++)
		s += p[i];
	return s;
}

static bool dt_swiotlb_active(struct device *dev)
{
	return dev->dma_io_tlb_mem && dev->dma_io_tlb_mem->nslabs;
}

/* A map that returned DMA_MAPPING_ERROR. */
static int map_failed(struct dt_ctx *x, const char *what, size_t len)
{
	if (x->dt->pdev->untrusted && !dt_swiotlb_active(x->dev))
		return skipped(x, "%s of %zu bytes: dma_mapping_error: the device is untrusted and has no swiotlb pool to bounce sub-page buffers",
			       what, len);
	return fail(x, "%s of %zu bytes: dma_mapping_error", what, len);
}

/*
 * A CPU buffer for streaming DMA: LEN data bytes at offset OFF into a
 * kmalloc'ed block with guard bytes on both sides, or, for OFF == 0 and
 * whole pages, at the start of a page allocation with at least one guard
 * page after it.
 */
struct dt_buf {
	u8 *base;
	size_t alloc;
	u8 *data;
	size_t len;
	int order;      /* page allocation order, or -1: kmalloc */
};

static int buf_alloc(struct dt_buf *b, size_t len, size_t off)
{
	memset(b, 0, sizeof(*b));
	b->len = len;
	if (off == 0 && PAGE_ALIGNED(len)) {
		b->order = get_order(len + PAGE_SIZE);
		b->base = (u8 *)__get_free_pages(GFP_KERNEL, b->order);
		b->alloc = PAGE_SIZE << b->order;
		b->data = b->base;
	} else {
		b->order = -1;
		b->alloc = DT_GUARD + off + len + DT_GUARD;
		b->base = kmalloc(b->alloc, GFP_KERNEL);
		b->data = b->base + DT_GUARD + off;
	}
	if (!b->base)
		return -ENOMEM;
	memset(b->base, DT_GUARD_BYTE, b->alloc);
	return 0;
}

static void buf_free(struct dt_buf *b)
{
	if (!b->base)
		return;
	if (b->order >= 0)
		free_pages((unsigned long)b->base, b->order);
	else
		kfree(b->base);
	b->base = NULL;
}

/* Are the bytes around the data area untouched? */
static bool buf_guards_ok(const struct dt_buf *b)
{
	size_t head = b->data - b->base;
	size_t tail = b->alloc - head - b->len;

	return check_byte(b->base, head, DT_GUARD_BYTE) < 0 &&
	       check_byte(b->data + b->len, tail, DT_GUARD_BYTE) < 0;
}

#define ALLOC_OR_FAIL(x, b, len, off) \
	do { if (buf_alloc((b), (len), (off))) { ret = fail((x), "out of memory (%zu bytes)", (size_t)(len)); goto out; } } while (0)

static const char *dir_name(enum dma_data_direction d)
{
	switch (d) {
	case DMA_TO_DEVICE: return "to-device";
	case DMA_FROM_DEVICE: return "from-device";
	case DMA_BIDIRECTIONAL: return "bidirectional";
	default: return "none";
	}
}

/* ------------------------------------------------------------------ */
/* Correct cases */

struct dt_case {
	const char *name;
	int (*fn)(struct dt_ctx *x);
	u32 viol;               /* zoo: the expected class; 0: a correct case */
	size_t size, off;       /* parameters of the single-mapping cases */
};

/*
 * The case's length, cut to what this device may map at once.  For an
 * untrusted device dma_max_mapping_size() is the swiotlb's segment limit
 * (256 KiB): a correct driver splits bigger buffers, so the case runs at
 * the largest length that fits, less a page for the buffer's offset
 * (swiotlb keeps the offset within the page), and says so in its result.
 */
static size_t case_len(struct dt_ctx *x)
{
	size_t n = x->c->size, max = dma_max_mapping_size(x->dev);

	if (n <= max)
		return n;
	return max > 2 * PAGE_SIZE ? max - PAGE_SIZE : max;
}

/* TO_DEVICE: the device reads what the CPU wrote (READ's sum and a COPY
 * into a FROM_DEVICE buffer), twice on the same mapping with the CPU
 * rewriting the buffer in between (sync_for_cpu / sync_for_device). */
static int case_to_device(struct dt_ctx *x)
{
	size_t n = case_len(x);
	struct dt_buf src = {}, dst = {};
	dma_addr_t s = DMA_MAPPING_ERROR, d = DMA_MAPPING_ERROR;
	long bad;
	int ret = 0;

	ALLOC_OR_FAIL(x, &src, n, x->c->off);
	ALLOC_OR_FAIL(x, &dst, n, x->c->off ? x->c->off + 1 : 0);
	fill_pat(src.data, n, 1, 0);
	s = dma_map_single(x->dev, src.data, n, DMA_TO_DEVICE);
	if (dma_mapping_error(x->dev, s)) {
		s = DMA_MAPPING_ERROR;
		ret = map_failed(x, "dma_map_single(TO_DEVICE)", n);
		goto out;
	}
	d = dma_map_single(x->dev, dst.data, n, DMA_FROM_DEVICE);
	if (dma_mapping_error(x->dev, d)) {
		d = DMA_MAPPING_ERROR;
		ret = map_failed(x, "dma_map_single(FROM_DEVICE)", n);
		goto out;
	}
	if (d_read_sum(x, s, n, sum_bytes(src.data, n)) || d_copy(x, s, d, n)) {
		ret = -1;
		goto out;
	}
	dma_sync_single_for_cpu(x->dev, d, n, DMA_FROM_DEVICE);
	bad = check_pat(dst.data, n, 1, 0);
	if (bad >= 0) {
		ret = fail(x, "round 1: copied data differs at offset %ld", bad);
		goto out;
	}
	/* Round 2 on the same mappings: the CPU takes the source back,
	 * rewrites it and gives it to the device again. */
	dma_sync_single_for_cpu(x->dev, s, n, DMA_TO_DEVICE);
	fill_pat(src.data, n, 2, 0);
	dma_sync_single_for_device(x->dev, s, n, DMA_TO_DEVICE);
	dma_sync_single_for_device(x->dev, d, n, DMA_FROM_DEVICE);
	if (d_read_sum(x, s, n, sum_bytes(src.data, n)) || d_copy(x, s, d, n)) {
		ret = -1;
		goto out;
	}
	dma_unmap_single(x->dev, d, n, DMA_FROM_DEVICE);
	d = DMA_MAPPING_ERROR;
	bad = check_pat(dst.data, n, 2, 0);
	if (bad >= 0) {
		ret = fail(x, "round 2: copied data differs at offset %ld", bad);
		goto out;
	}
	dma_unmap_single(x->dev, s, n, DMA_TO_DEVICE);
	s = DMA_MAPPING_ERROR;
	if (check_pat(src.data, n, 2, 0) >= 0 || !buf_guards_ok(&src))
		ret = fail(x, "the device changed its TO_DEVICE buffer or the bytes around it");
	else if (!buf_guards_ok(&dst))
		ret = fail(x, "the device wrote outside the FROM_DEVICE buffer");
	else
		note(x, "len=%zu off=%zu cmds=%u", n, x->c->off, x->cmds);
out:
	if (d != DMA_MAPPING_ERROR)
		dma_unmap_single(x->dev, d, n, DMA_FROM_DEVICE);
	if (s != DMA_MAPPING_ERROR)
		dma_unmap_single(x->dev, s, n, DMA_TO_DEVICE);
	buf_free(&src);
	buf_free(&dst);
	return ret;
}

/* FROM_DEVICE: the device fills, the CPU checks after sync_for_cpu, gives
 * the buffer back (sync_for_device), the device copies a pattern in, the
 * CPU checks after unmap; the guard bytes must stay untouched. */
static int case_from_device(struct dt_ctx *x)
{
	size_t n = case_len(x);
	struct dt_buf dst = {}, src = {};
	dma_addr_t d = DMA_MAPPING_ERROR, s = DMA_MAPPING_ERROR;
	long bad;
	int ret = 0;

	ALLOC_OR_FAIL(x, &dst, n, x->c->off);
	ALLOC_OR_FAIL(x, &src, n, 0);
	fill_pat(src.data, n, 3, 0);
	d = dma_map_single(x->dev, dst.data, n, DMA_FROM_DEVICE);
	if (dma_mapping_error(x->dev, d)) {
		d = DMA_MAPPING_ERROR;
		ret = map_failed(x, "dma_map_single(FROM_DEVICE)", n);
		goto out;
	}
	if (d_fill(x, d, n, 0x5a)) {
		ret = -1;
		goto out;
	}
	dma_sync_single_for_cpu(x->dev, d, n, DMA_FROM_DEVICE);
	bad = check_byte(dst.data, n, 0x5a);
	if (bad >= 0) {
		ret = fail(x, "FILL: byte %ld is %#x, not 0x5a", bad, dst.data[bad]);
		goto out;
	}
	if (!buf_guards_ok(&dst)) {
		ret = fail(x, "FILL wrote outside the buffer");
		goto out;
	}
	dma_sync_single_for_device(x->dev, d, n, DMA_FROM_DEVICE);
	s = dma_map_single(x->dev, src.data, n, DMA_TO_DEVICE);
	if (dma_mapping_error(x->dev, s)) {
		s = DMA_MAPPING_ERROR;
		ret = map_failed(x, "dma_map_single(TO_DEVICE)", n);
		goto out;
	}
	if (d_copy(x, s, d, n)) {
		ret = -1;
		goto out;
	}
	dma_unmap_single(x->dev, d, n, DMA_FROM_DEVICE);
	d = DMA_MAPPING_ERROR;
	bad = check_pat(dst.data, n, 3, 0);
	if (bad >= 0)
		ret = fail(x, "COPY: data differs at offset %ld", bad);
	else if (!buf_guards_ok(&dst))
		ret = fail(x, "COPY wrote outside the buffer");
	else
		note(x, "len=%zu off=%zu cmds=%u", n, x->c->off, x->cmds);
out:
	if (s != DMA_MAPPING_ERROR)
		dma_unmap_single(x->dev, s, n, DMA_TO_DEVICE);
	if (d != DMA_MAPPING_ERROR)
		dma_unmap_single(x->dev, d, n, DMA_FROM_DEVICE);
	buf_free(&dst);
	buf_free(&src);
	return ret;
}

/* BIDIRECTIONAL: one mapping the device reads and writes: READ the CPU's
 * data, FILL the first half, CPU checks and rewrites the second half,
 * COPY second half to first, CMP the halves, CPU checks after unmap. */
static int case_bidirectional(struct dt_ctx *x)
{
	size_t n = case_len(x), h = n / 2;
	struct dt_buf b = {};
	dma_addr_t a = DMA_MAPPING_ERROR;
	long bad;
	int ret = 0;

	ALLOC_OR_FAIL(x, &b, n, x->c->off);
	fill_pat(b.data, n, 4, 0);
	a = dma_map_single(x->dev, b.data, n, DMA_BIDIRECTIONAL);
	if (dma_mapping_error(x->dev, a)) {
		a = DMA_MAPPING_ERROR;
		ret = map_failed(x, "dma_map_single(BIDIRECTIONAL)", n);
		goto out;
	}
	if (d_read_sum(x, a, n, sum_bytes(b.data, n))) {
		ret = -1;
		goto out;
	}
	if (h == 0) {           /* one byte: fill it */
		if (d_fill(x, a, 1, 0x3c)) {
			ret = -1;
			goto out;
		}
		dma_unmap_single(x->dev, a, n, DMA_BIDIRECTIONAL);
		a = DMA_MAPPING_ERROR;
		if (b.data[0] != 0x3c)
			ret = fail(x, "FILL of 1 byte: got %#x", b.data[0]);
		else if (!buf_guards_ok(&b))
			ret = fail(x, "FILL wrote outside the buffer");
		else
			note(x, "len=1 off=%zu cmds=%u", x->c->off, x->cmds);
		goto out;
	}
	if (d_fill(x, a, h, 0x3c)) {
		ret = -1;
		goto out;
	}
	dma_sync_single_for_cpu(x->dev, a, n, DMA_BIDIRECTIONAL);
	bad = check_byte(b.data, h, 0x3c);
	if (bad < 0)
		bad = check_pat(b.data + h, n - h, 4, h) >= 0 ? (long)h : -1;
	if (bad >= 0) {
		ret = fail(x, "after FILL of the first half: unexpected data at offset %ld", bad);
		goto out;
	}
	fill_pat(b.data + h, n - h, 5, 0);
	dma_sync_single_for_device(x->dev, a, n, DMA_BIDIRECTIONAL);
	if (d_copy(x, a + h, a, h) || d_cmp(x, a, a + h, h, DMATEST_CMP_EQUAL)) {
		ret = -1;
		goto out;
	}
	dma_unmap_single(x->dev, a, n, DMA_BIDIRECTIONAL);
	a = DMA_MAPPING_ERROR;
	bad = check_pat(b.data, h, 5, 0);
	if (bad >= 0)
		ret = fail(x, "COPY: first half differs at offset %ld", bad);
	else if (check_pat(b.data + h, n - h, 5, 0) >= 0)
		ret = fail(x, "the second half changed");
	else if (!buf_guards_ok(&b))
		ret = fail(x, "the device wrote outside the buffer");
	else
		note(x, "len=%zu off=%zu cmds=%u", n, x->c->off, x->cmds);
out:
	if (a != DMA_MAPPING_ERROR)
		dma_unmap_single(x->dev, a, n, DMA_BIDIRECTIONAL);
	buf_free(&b);
	return ret;
}

/* dma_map_page in each direction: two pages; a TO_DEVICE mapping that
 * starts at offset 100 and straddles the page boundary, a FROM_DEVICE
 * mapping inside the second page, then both pages BIDIRECTIONAL. */
static int case_map_page(struct dt_ctx *x)
{
	struct page *pg = alloc_pages(GFP_KERNEL, 1);
	dma_addr_t a = DMA_MAPPING_ERROR, b = DMA_MAPPING_ERROR, c = DMA_MAPPING_ERROR;
	u8 *va;
	long bad;
	int ret = 0;

	if (!pg)
		return fail(x, "out of memory");
	va = page_address(pg);
	memset(va, 0, 2 * PAGE_SIZE);
	fill_pat(va + 100, 5000, 6, 0);
	a = dma_map_page(x->dev, pg, 100, 5000, DMA_TO_DEVICE);
	if (dma_mapping_error(x->dev, a)) {
		a = DMA_MAPPING_ERROR;
		ret = map_failed(x, "dma_map_page(TO_DEVICE)", 5000);
		goto out;
	}
	b = dma_map_page(x->dev, pg + 1, 6000 - PAGE_SIZE, 1000, DMA_FROM_DEVICE);
	if (dma_mapping_error(x->dev, b)) {
		b = DMA_MAPPING_ERROR;
		ret = map_failed(x, "dma_map_page(FROM_DEVICE)", 1000);
		goto out;
	}
	if (d_read_sum(x, a, 5000, sum_bytes(va + 100, 5000)) || d_copy(x, a + 3000, b, 1000)) {
		ret = -1;
		goto out;
	}
	dma_unmap_page(x->dev, b, 1000, DMA_FROM_DEVICE);
	b = DMA_MAPPING_ERROR;
	dma_unmap_page(x->dev, a, 5000, DMA_TO_DEVICE);
	a = DMA_MAPPING_ERROR;
	bad = check_pat(va + 6000, 1000, 6, 3000);
	if (bad >= 0) {
		ret = fail(x, "FROM_DEVICE page mapping: data differs at offset %ld", bad);
		goto out;
	}
	if (check_byte(va + 5100, 900, 0) >= 0 || check_byte(va + 7000, 2 * PAGE_SIZE - 7000, 0) >= 0) {
		ret = fail(x, "the device wrote outside the FROM_DEVICE page mapping");
		goto out;
	}
	/* Both pages at once, BIDIRECTIONAL: copy the first page to the second. */
	fill_pat(va, PAGE_SIZE, 7, 0);
	c = dma_map_page(x->dev, pg, 0, 2 * PAGE_SIZE, DMA_BIDIRECTIONAL);
	if (dma_mapping_error(x->dev, c)) {
		c = DMA_MAPPING_ERROR;
		ret = map_failed(x, "dma_map_page(BIDIRECTIONAL)", 2 * PAGE_SIZE);
		goto out;
	}
	if (d_copy(x, c, c + PAGE_SIZE, PAGE_SIZE)) {
		ret = -1;
		goto out;
	}
	dma_unmap_page(x->dev, c, 2 * PAGE_SIZE, DMA_BIDIRECTIONAL);
	c = DMA_MAPPING_ERROR;
	bad = check_pat(va + PAGE_SIZE, PAGE_SIZE, 7, 0);
	if (bad >= 0)
		ret = fail(x, "BIDIRECTIONAL page mapping: data differs at offset %ld", bad);
	else
		note(x, "cmds=%u", x->cmds);
out:
	if (c != DMA_MAPPING_ERROR)
		dma_unmap_page(x->dev, c, 2 * PAGE_SIZE, DMA_BIDIRECTIONAL);
	if (b != DMA_MAPPING_ERROR)
		dma_unmap_page(x->dev, b, 1000, DMA_FROM_DEVICE);
	if (a != DMA_MAPPING_ERROR)
		dma_unmap_page(x->dev, a, 5000, DMA_TO_DEVICE);
	__free_pages(pg, 1);
	return ret;
}

/*
 * What a device can see around a small unaligned buffer.  100 bytes at
 * offset 0x234 of a page whose other bytes are a canary are mapped
 * DMA_TO_DEVICE; the device then reads the whole IOVA page the buffer sits
 * in (legal: the IOMMU maps whole pages) into coherent memory.  A trusted
 * device sees the page's other 3996 bytes -- whatever the kernel keeps
 * next to the buffer.  For an untrusted device Linux bounces the buffer
 * into a swiotlb slot whose padding it zeroes, so the device sees none of
 * them: the case fails if an untrusted device sees a single canary byte,
 * or if a trusted one sees none (then the test proves nothing).
 */
static int case_subpage_exposure(struct dt_ctx *x)
{
	const size_t off = 0x234, len = 100;
	struct page *pg = alloc_page(GFP_KERNEL);
	dma_addr_t a = DMA_MAPPING_ERROR, d = 0;
	u8 *va, *seen = NULL;
	size_t exposed = 0, in_page;
	long bad;
	int ret = 0;

	if (!pg)
		return fail(x, "out of memory");
	va = page_address(pg);
	memset(va, DT_GUARD_BYTE, PAGE_SIZE);
	fill_pat(va + off, len, 11, 0);
	seen = dma_alloc_coherent(x->dev, PAGE_SIZE, &d, GFP_KERNEL);
	if (!seen) {
		ret = fail(x, "dma_alloc_coherent(%lu) failed", PAGE_SIZE);
		goto out;
	}
	memset(seen, 0, PAGE_SIZE);
	a = dma_map_single(x->dev, va + off, len, DMA_TO_DEVICE);
	if (dma_mapping_error(x->dev, a)) {
		a = DMA_MAPPING_ERROR;
		ret = map_failed(x, "dma_map_single(TO_DEVICE)", len);
		goto out;
	}
	if (d_copy(x, a & PAGE_MASK, d, PAGE_SIZE)) {
		ret = -1;
		goto out;
	}
	in_page = a & ~PAGE_MASK;
	bad = in_page + len <= PAGE_SIZE ? check_pat(seen + in_page, len, 11, 0) : 0;
	if (bad >= 0) {
		ret = fail(x, "the buffer's bytes are not where its DMA address says (IOVA offset %#zx, differs at %ld)",
			   in_page, bad);
		goto out;
	}
	for (size_t i = 0; i < PAGE_SIZE; i++)
		if ((i < in_page || i >= in_page + len) && seen[i] == DT_GUARD_BYTE)
			exposed++;
	if (x->dt->pdev->untrusted && exposed)
		ret = fail(x, "untrusted device saw %zu bytes around the buffer (exposed=%zu)", exposed, exposed);
	else if (!x->dt->pdev->untrusted && !exposed)
		ret = fail(x, "trusted device saw nothing around the buffer: exposed=0 (was it bounced?)");
	else
		note(x, "exposed=%zu of %lu bytes around a %zu-byte buffer at IOVA offset %#zx (untrusted=%d)",
		     exposed, PAGE_SIZE - len, len, in_page, x->dt->pdev->untrusted);
out:
	if (a != DMA_MAPPING_ERROR)
		dma_unmap_single(x->dev, a, len, DMA_TO_DEVICE);
	if (seen)
		dma_free_coherent(x->dev, PAGE_SIZE, seen, d);
	__free_page(pg);
	return ret;
}

/* The same page mapped more than once at a time: its first half
 * FROM_DEVICE, its second half TO_DEVICE twice (two IOVAs for the same
 * bytes).  The device reads both aliases and copies each into the first
 * half. */
static int case_same_page_twice(struct dt_ctx *x)
{
	u8 *va = (u8 *)__get_free_page(GFP_KERNEL);
	size_t h = PAGE_SIZE / 2;
	dma_addr_t a = DMA_MAPPING_ERROR, b = DMA_MAPPING_ERROR, c = DMA_MAPPING_ERROR;
	u64 a0;
	long bad;
	int ret = 0;

	if (!va)
		return fail(x, "out of memory");
	memset(va, 0, h);
	fill_pat(va + h, h, 8, 0);
	a = dma_map_single(x->dev, va, h, DMA_FROM_DEVICE);
	b = dma_map_single(x->dev, va + h, h, DMA_TO_DEVICE);
	c = dma_map_single(x->dev, va + h, h, DMA_TO_DEVICE);
	if (dma_mapping_error(x->dev, a) || dma_mapping_error(x->dev, b) ||
	    dma_mapping_error(x->dev, c)) {
		ret = map_failed(x, "dma_map_single of half a page", h);
		goto out;
	}
	if (d_read_sum(x, b, h, sum_bytes(va + h, h)) || d_read_sum(x, c, h, sum_bytes(va + h, h)) ||
	    d_cmp(x, b, c, h, DMATEST_CMP_EQUAL) || d_copy(x, b, a, h)) {
		ret = -1;
		goto out;
	}
	dma_sync_single_for_cpu(x->dev, a, h, DMA_FROM_DEVICE);
	bad = check_pat(va, h, 8, 0);
	if (bad >= 0) {
		ret = fail(x, "copy from the first alias differs at offset %ld", bad);
		goto out;
	}
	memset(va, 0, h);
	dma_sync_single_for_device(x->dev, a, h, DMA_FROM_DEVICE);
	if (d_copy(x, c, a, h)) {
		ret = -1;
		goto out;
	}
	a0 = a;
	dma_unmap_single(x->dev, a, h, DMA_FROM_DEVICE);
	a = DMA_MAPPING_ERROR;
	bad = check_pat(va, h, 8, 0);
	if (bad >= 0)
		ret = fail(x, "copy from the second alias differs at offset %ld", bad);
	else if (check_pat(va + h, h, 8, 0) >= 0)
		ret = fail(x, "the TO_DEVICE half changed");
	else
		note(x, "iovas %#llx %#llx %#llx%s cmds=%u", a0, (u64)b, (u64)c,
		     b == c ? " (aliases share an IOVA)" : "", x->cmds);
out:
	if (!dma_mapping_error(x->dev, c))
		dma_unmap_single(x->dev, c, h, DMA_TO_DEVICE);
	if (!dma_mapping_error(x->dev, b))
		dma_unmap_single(x->dev, b, h, DMA_TO_DEVICE);
	if (!dma_mapping_error(x->dev, a))
		dma_unmap_single(x->dev, a, h, DMA_FROM_DEVICE);
	free_page((unsigned long)va);
	return ret;
}

/* Long-lived streaming mappings handed back and forth with the syncs. */
static int case_sync_loop(struct dt_ctx *x)
{
	u8 *in = (u8 *)__get_free_page(GFP_KERNEL);
	u8 *out = (u8 *)__get_free_page(GFP_KERNEL);
	dma_addr_t di = DMA_MAPPING_ERROR, dout = DMA_MAPPING_ERROR;
	unsigned int k;
	long bad;
	int ret = 0;

	if (!in || !out) {
		ret = fail(x, "out of memory");
		goto out;
	}
	memset(out, 0, PAGE_SIZE);
	fill_pat(in, PAGE_SIZE, 100, 0);
	di = dma_map_single(x->dev, in, PAGE_SIZE, DMA_TO_DEVICE);
	dout = dma_map_single(x->dev, out, PAGE_SIZE, DMA_FROM_DEVICE);
	if (dma_mapping_error(x->dev, di) || dma_mapping_error(x->dev, dout)) {
		ret = map_failed(x, "dma_map_single", PAGE_SIZE);
		goto out;
	}
	for (k = 1; k <= 8; k++) {
		/* The CPU writes new input while it owns the buffer. */
		dma_sync_single_for_cpu(x->dev, di, PAGE_SIZE, DMA_TO_DEVICE);
		fill_pat(in, PAGE_SIZE, 100 + k, 0);
		dma_sync_single_for_device(x->dev, di, PAGE_SIZE, DMA_TO_DEVICE);
		if (d_read_sum(x, di, PAGE_SIZE, sum_bytes(in, PAGE_SIZE)) ||
		    d_fill(x, dout, PAGE_SIZE, (u8)(k * 17)))
			goto err;
		dma_sync_single_for_cpu(x->dev, dout, PAGE_SIZE, DMA_FROM_DEVICE);
		bad = check_byte(out, PAGE_SIZE, (u8)(k * 17));
		if (bad >= 0) {
			ret = fail(x, "round %u: FILL byte %ld wrong", k, bad);
			goto out;
		}
		dma_sync_single_for_device(x->dev, dout, PAGE_SIZE, DMA_FROM_DEVICE);
		if (d_copy(x, di + k * 8, dout + k * 16, PAGE_SIZE - k * 16))
			goto err;
		dma_sync_single_for_cpu(x->dev, dout, PAGE_SIZE, DMA_FROM_DEVICE);
		bad = check_pat(out + k * 16, PAGE_SIZE - k * 16, 100 + k, k * 8);
		if (bad >= 0) {
			ret = fail(x, "round %u: COPY differs at offset %ld", k, bad);
			goto out;
		}
		dma_sync_single_for_device(x->dev, dout, PAGE_SIZE, DMA_FROM_DEVICE);
	}
	note(x, "8 rounds cmds=%u", x->cmds);
	goto out;
err:
	ret = -1;
out:
	if (dout != DMA_MAPPING_ERROR && !dma_mapping_error(x->dev, dout))
		dma_unmap_single(x->dev, dout, PAGE_SIZE, DMA_FROM_DEVICE);
	if (di != DMA_MAPPING_ERROR && !dma_mapping_error(x->dev, di))
		dma_unmap_single(x->dev, di, PAGE_SIZE, DMA_TO_DEVICE);
	free_page((unsigned long)in);
	free_page((unsigned long)out);
	return ret;
}

/* Coherent memory of SIZE bytes: FILL, COPY, READ, CMP (and a CMP that
 * must find the byte the CPU changed), no syncs needed. */
static int coherent_test(struct dt_ctx *x, size_t size)
{
	dma_addr_t h;
	u8 *va = dma_alloc_coherent(x->dev, size, &h, GFP_KERNEL);
	size_t half = size / 2;
	long bad;
	int ret = 0;

	if (!va)
		return fail(x, "dma_alloc_coherent(%zu) failed", size);
	if (h + size - 1 > dma_get_mask(x->dev)) {
		ret = fail(x, "coherent DMA address %#llx beyond the mask", (u64)h);
		goto out;
	}
	if (d_fill(x, h, size, 0x5a)) {
		ret = -1;
		goto out;
	}
	bad = check_byte(va, size, 0x5a);
	if (bad >= 0) {
		ret = fail(x, "FILL of %zu: byte %ld wrong", size, bad);
		goto out;
	}
	if (!half) {
		if (d_read_sum(x, h, 1, 0x5a))
			ret = -1;
		goto out;
	}
	fill_pat(va, half, 9, 0);
	if (d_read_sum(x, h, half, sum_bytes(va, half)) || d_copy(x, h, h + half, half) ||
	    d_cmp(x, h, h + half, half, DMATEST_CMP_EQUAL)) {
		ret = -1;
		goto out;
	}
	bad = check_pat(va + half, half, 9, 0);
	if (bad >= 0) {
		ret = fail(x, "COPY of %zu: differs at offset %ld", half, bad);
		goto out;
	}
	va[half + half / 3] ^= 0xff;
	if (d_cmp(x, h, h + half, half, (u32)(half / 3)))
		ret = -1;
out:
	dma_free_coherent(x->dev, size, va, h);
	return ret;
}

static int case_coherent(struct dt_ctx *x)
{
	static const size_t sizes[] = { 1, 100, 4096, 65536 };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		if (coherent_test(x, sizes[i]))
			return -1;
	note(x, "sizes 1 100 4096 65536 cmds=%u", x->cmds);
	return 0;
}

static int case_coherent_big(struct dt_ctx *x)
{
	if (coherent_test(x, 512 * 1024))
		return -1;
	note(x, "size 524288 cmds=%u", x->cmds);
	return 0;
}

/* dma_pool blocks: each filled by the device, one copied into all. */
static int pool_test(struct dt_ctx *x, const char *name, size_t size, size_t align,
		     size_t boundary, unsigned int n)
{
	struct dma_pool *pool = dma_pool_create(name, x->dev, size, align, boundary);
	void **va;
	dma_addr_t *h;
	unsigned int i, got = 0;
	long bad;
	int ret = 0;

	if (!pool)
		return fail(x, "dma_pool_create(%s) failed", name);
	va = kcalloc(n, sizeof(*va), GFP_KERNEL);
	h = kcalloc(n, sizeof(*h), GFP_KERNEL);
	if (!va || !h) {
		ret = fail(x, "out of memory");
		goto out;
	}
	for (got = 0; got < n; got++) {
		va[got] = dma_pool_alloc(pool, GFP_KERNEL, &h[got]);
		if (!va[got]) {
			ret = fail(x, "dma_pool_alloc #%u of %s failed", got, name);
			goto out;
		}
		if (align && (h[got] & (align - 1))) {
			ret = fail(x, "pool block %#llx not %zu-aligned", (u64)h[got], align);
			got++;
			goto out;
		}
	}
	for (i = 0; i < n; i++)
		if (d_fill(x, h[i], size, (u8)(i + 1)))
			goto err;
	for (i = 0; i < n; i++) {
		bad = check_byte(va[i], size, (u8)(i + 1));
		if (bad >= 0) {
			ret = fail(x, "%s block %u: byte %ld wrong (neighbouring blocks overlap?)",
				   name, i, bad);
			goto out;
		}
	}
	fill_pat(va[0], size, 10, 0);
	for (i = 1; i < n; i++)
		if (d_copy(x, h[0], h[i], size))
			goto err;
	for (i = 1; i < n; i++) {
		bad = check_pat(va[i], size, 10, 0);
		if (bad >= 0) {
			ret = fail(x, "%s block %u: copy differs at %ld", name, i, bad);
			goto out;
		}
	}
	if (d_cmp(x, h[0], h[n - 1], size, DMATEST_CMP_EQUAL))
		goto err;
	goto out;
err:
	ret = -1;
out:
	for (i = 0; i < got; i++)
		dma_pool_free(pool, va[i], h[i]);
	kfree(va);
	kfree(h);
	dma_pool_destroy(pool);
	return ret;
}

static int case_pool(struct dt_ctx *x)
{
	if (pool_test(x, "dmatest-64", 64, 16, 0, 16) ||
	    pool_test(x, "dmatest-2k", 2048, 64, 4096, 8) ||
	    pool_test(x, "dmatest-100", 100, 4, 0, 8))
		return -1;
	note(x, "pools of 16x64 B, 8x2 KiB (4 KiB boundary), 8x100 B cmds=%u", x->cmds);
	return 0;
}

/* ---- scatter-gather ---- */

/* N CPU segments with lengths lens[] at offsets offs[] in their own
 * allocations (with guards), as an sg_table. */
struct dt_sg {
	struct sg_table t;
	struct dt_buf *bufs;
	unsigned int n;
	size_t total;
	bool mapped;
	enum dma_data_direction dir;
	int dma_nents;
};

static void sg_free(struct dt_ctx *x, struct dt_sg *s)
{
	unsigned int i;

	if (s->mapped)
		dma_unmap_sgtable(x->dev, &s->t, s->dir, 0);
	s->mapped = false;
	if (s->t.sgl)
		sg_free_table(&s->t);
	s->t.sgl = NULL;
	if (s->bufs)
		for (i = 0; i < s->n; i++)
			buf_free(&s->bufs[i]);
	kfree(s->bufs);
	s->bufs = NULL;
}

static int sg_alloc(struct dt_ctx *x, struct dt_sg *s, unsigned int n, const size_t *lens,
		    const size_t *offs)
{
	struct scatterlist *sg;
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->n = n;
	s->bufs = kcalloc(n, sizeof(*s->bufs), GFP_KERNEL);
	if (!s->bufs || sg_alloc_table(&s->t, n, GFP_KERNEL))
		return fail(x, "out of memory for %u segments", n);
	for_each_sgtable_sg(&s->t, sg, i) {
		if (buf_alloc(&s->bufs[i], lens[i], offs[i]))
			return fail(x, "out of memory for segment %u", i);
		sg_set_buf(sg, s->bufs[i].data, lens[i]);
		s->total += lens[i];
	}
	return 0;
}

/* Write the concatenation of pattern SEED into the CPU segments. */
static void sg_fill(struct dt_sg *s, u32 seed)
{
	size_t pos = 0;
	unsigned int i;

	for (i = 0; i < s->n; i++) {
		fill_pat(s->bufs[i].data, s->bufs[i].len, seed, pos);
		pos += s->bufs[i].len;
	}
}

/* Offset into the concatenation where the segments differ from pattern
 * SEED (or -2 when a guard byte changed), -1 if none. */
static long sg_check(struct dt_sg *s, u32 seed)
{
	size_t pos = 0;
	unsigned int i;
	long bad;

	for (i = 0; i < s->n; i++) {
		bad = check_pat(s->bufs[i].data, s->bufs[i].len, seed, pos);
		if (bad >= 0)
			return (long)pos + bad;
		if (!buf_guards_ok(&s->bufs[i]))
			return -2;
		pos += s->bufs[i].len;
	}
	return -1;
}

static int sg_map(struct dt_ctx *x, struct dt_sg *s, enum dma_data_direction dir)
{
	int ret = dma_map_sgtable(x->dev, &s->t, dir, 0);

	if (ret)
		return map_failed(x, "dma_map_sgtable", s->total);
	s->mapped = true;
	s->dir = dir;
	s->dma_nents = s->t.nents;
	return 0;
}

/* The device's table for a mapped sg_table, at table slot WHICH (0: source,
 * 1: destination).  Returns the entry count, 0 if it does not fit. */
static u32 sg_table_for_device(struct dt_ctx *x, struct dt_sg *s, unsigned int which)
{
	struct dmatest_sg *tab = x->dt->sgtab + which * DMATEST_SG_MAX;
	struct scatterlist *sg;
	unsigned int i;
	u32 k = 0;

	for_each_sgtable_dma_sg(&s->t, sg, i) {
		if (k == DMATEST_SG_MAX)
			return 0;
		tab[k].addr = cpu_to_le64(sg_dma_address(sg));
		tab[k].len = cpu_to_le32(sg_dma_len(sg));
		tab[k].reserved = 0;
		k++;
	}
	return k;
}

/* A one-entry device table for a linear DMA buffer. */
static u32 linear_table(struct dt_ctx *x, dma_addr_t a, size_t len, unsigned int which)
{
	struct dmatest_sg *tab = x->dt->sgtab + which * DMATEST_SG_MAX;

	tab[0].addr = cpu_to_le64(a);
	tab[0].len = cpu_to_le32(len);
	tab[0].reserved = 0;
	return 1;
}

static dma_addr_t tab_dma(struct dt_ctx *x, unsigned int which)
{
	return x->dt->sgtab_dma + which * DMATEST_SG_MAX * sizeof(struct dmatest_sg);
}

static int d_sg_copy(struct dt_ctx *x, u32 sc, u32 dc, size_t total)
{
	struct dt_res r;

	if (!sc || !dc)
		return fail(x, "more than %u DMA segments", DMATEST_SG_MAX);
	if (dev_cmd(x, DMATEST_CMD_SG_COPY, tab_dma(x, 0), tab_dma(x, 1), 0, 0, sc, dc, &r))
		return -1;
	if (r.result != total)
		return fail(x, "SG_COPY %u->%u segments: device copied %u bytes, expected %zu",
			    sc, dc, r.result, total);
	return 0;
}

static void layout(size_t *lens, size_t *offs, unsigned int n, size_t maxlen, u32 salt)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		lens[i] = 1 + ((i + salt) * 2654435761u >> 7) % maxlen;
		offs[i] = ((i + salt) * 37) % 61;
	}
}

/*
 * Scatter-gather between an sg_table of NSEG segments (direction DIR) and
 * a linear buffer: TO_DEVICE sg -> linear FROM_DEVICE buffer; FROM_DEVICE
 * sg <- linear TO_DEVICE buffer; two rounds each with the
 * dma_sync_sgtable_* calls in between.  The linear buffer is a streaming
 * mapping, or coherent memory when it is larger than the device may map at
 * once (dma_max_mapping_size()).
 */
static int sg_linear_test(struct dt_ctx *x, unsigned int nseg, size_t maxlen,
			  enum dma_data_direction dir, u32 salt)
{
	size_t *lens = kcalloc(nseg, sizeof(size_t), GFP_KERNEL);
	size_t *offs = kcalloc(nseg, sizeof(size_t), GFP_KERNEL);
	bool to_dev = dir == DMA_TO_DEVICE, coh = false;
	struct dt_sg s = {};
	struct dt_buf lin = {};
	u8 *ldata = NULL;
	dma_addr_t la = DMA_MAPPING_ERROR;
	enum dma_data_direction ldir = to_dev ? DMA_FROM_DEVICE : DMA_TO_DEVICE;
	unsigned int round;
	u32 sc, dc;
	long bad;
	int ret = 0;

	if (!lens || !offs) {
		ret = fail(x, "out of memory");
		goto out;
	}
	layout(lens, offs, nseg, maxlen, salt);
	if (sg_alloc(x, &s, nseg, lens, offs)) {
		ret = -1;
		goto out;
	}
	coh = s.total > dma_max_mapping_size(x->dev);
	if (coh) {
		ldata = dma_alloc_coherent(x->dev, s.total, &la, GFP_KERNEL);
		if (!ldata) {
			ret = fail(x, "dma_alloc_coherent(%zu) failed", s.total);
			goto out;
		}
	} else {
		ALLOC_OR_FAIL(x, &lin, s.total, 3);
		ldata = lin.data;
	}
	if (to_dev)
		sg_fill(&s, 20);
	else
		fill_pat(ldata, s.total, 20, 0);
	ret = sg_map(x, &s, dir);
	if (ret)
		goto out;
	if (!coh) {
		la = dma_map_single(x->dev, ldata, s.total, ldir);
		if (dma_mapping_error(x->dev, la)) {
			la = DMA_MAPPING_ERROR;
			ret = map_failed(x, "dma_map_single(linear)", s.total);
			goto out;
		}
	}
	for (round = 0; round < 2; round++) {
		u32 seed = 20 + round;

		if (to_dev) {
			sc = sg_table_for_device(x, &s, 0);
			dc = linear_table(x, la, s.total, 1);
		} else {
			sc = linear_table(x, la, s.total, 0);
			dc = sg_table_for_device(x, &s, 1);
		}
		if (d_sg_copy(x, sc, dc, s.total))
			goto err;
		if (to_dev) {
			if (!coh)
				dma_sync_single_for_cpu(x->dev, la, s.total, DMA_FROM_DEVICE);
			bad = check_pat(ldata, s.total, seed, 0);
		} else {
			dma_sync_sgtable_for_cpu(x->dev, &s.t, DMA_FROM_DEVICE);
			bad = sg_check(&s, seed);
		}
		if (bad != -1) {
			ret = fail(x, "round %u: %s at offset %ld", round + 1,
				   bad == -2 ? "a guard byte changed" : "data differs", bad);
			goto out;
		}
		if (round)
			break;
		/* The CPU writes the next round's source while it owns it. */
		if (to_dev) {
			dma_sync_sgtable_for_cpu(x->dev, &s.t, DMA_TO_DEVICE);
			sg_fill(&s, seed + 1);
			dma_sync_sgtable_for_device(x->dev, &s.t, DMA_TO_DEVICE);
			if (!coh)
				dma_sync_single_for_device(x->dev, la, s.total, DMA_FROM_DEVICE);
		} else {
			if (!coh)
				dma_sync_single_for_cpu(x->dev, la, s.total, DMA_TO_DEVICE);
			fill_pat(ldata, s.total, seed + 1, 0);
			if (!coh)
				dma_sync_single_for_device(x->dev, la, s.total, DMA_TO_DEVICE);
			dma_sync_sgtable_for_device(x->dev, &s.t, DMA_FROM_DEVICE);
		}
	}
	if (!coh && !buf_guards_ok(&lin)) {
		ret = fail(x, "the device wrote outside the linear buffer");
		goto out;
	}
	note(x, "%u segments (%d DMA segments) %zu bytes %s, linear side %s cmds=%u", nseg,
	     s.dma_nents, s.total, dir_name(dir), coh ? "coherent" : "streaming", x->cmds);
	goto out;
err:
	ret = -1;
out:
	if (coh && ldata)
		dma_free_coherent(x->dev, s.total, ldata, la);
	else if (la != DMA_MAPPING_ERROR)
		dma_unmap_single(x->dev, la, s.total, ldir);
	sg_free(x, &s);
	buf_free(&lin);
	kfree(lens);
	kfree(offs);
	return ret;
}

static int case_sg_to_device(struct dt_ctx *x)
{
	return sg_linear_test(x, 16, 6000, DMA_TO_DEVICE, 1);
}

static int case_sg_from_device(struct dt_ctx *x)
{
	return sg_linear_test(x, 16, 6000, DMA_FROM_DEVICE, 2);
}

static int case_sg_many(struct dt_ctx *x)
{
	int ret = sg_linear_test(x, 200, 61, DMA_TO_DEVICE, 3);

	return ret ? ret : sg_linear_test(x, 200, 61, DMA_FROM_DEVICE, 4);
}

/* More than 256 KiB in one SG_COPY: 9 segments of up to 64 KiB. */
static int case_sg_big(struct dt_ctx *x)
{
	return sg_linear_test(x, 9, 65536, DMA_TO_DEVICE, 5);
}

/* Two BIDIRECTIONAL sg_tables of different layouts and equal totals:
 * A -> B, the CPU rewrites B, B -> A. */
static int case_sg_bidirectional(struct dt_ctx *x)
{
	size_t la[24], oa[24], lb[10], ob[10], total = 0, rest;
	struct dt_sg a = {}, b = {};
	unsigned int i;
	long bad;
	int ret = 0;

	layout(la, oa, 24, 3000, 6);
	for (i = 0; i < 24; i++)
		total += la[i];
	rest = total;
	for (i = 0; i < 10; i++) {
		lb[i] = i == 9 ? rest : total / 10 + (i & 1 ? 5 : -5);
		ob[i] = (i * 11) % 64;
		rest -= lb[i];
	}
	if (sg_alloc(x, &a, 24, la, oa) || sg_alloc(x, &b, 10, lb, ob)) {
		ret = -1;
		goto out;
	}
	sg_fill(&a, 30);
	sg_fill(&b, 31);
	ret = sg_map(x, &a, DMA_BIDIRECTIONAL);
	if (!ret)
		ret = sg_map(x, &b, DMA_BIDIRECTIONAL);
	if (ret)
		goto out;
	if (d_sg_copy(x, sg_table_for_device(x, &a, 0), sg_table_for_device(x, &b, 1), total))
		goto err;
	dma_sync_sgtable_for_cpu(x->dev, &b.t, DMA_BIDIRECTIONAL);
	bad = sg_check(&b, 30);
	if (bad != -1) {
		ret = fail(x, "A->B: %s at %ld", bad == -2 ? "guard byte changed" : "data differs", bad);
		goto out;
	}
	sg_fill(&b, 32);
	dma_sync_sgtable_for_device(x->dev, &b.t, DMA_BIDIRECTIONAL);
	if (d_sg_copy(x, sg_table_for_device(x, &b, 0), sg_table_for_device(x, &a, 1), total))
		goto err;
	dma_unmap_sgtable(x->dev, &a.t, DMA_BIDIRECTIONAL, 0);
	a.mapped = false;
	bad = sg_check(&a, 32);
	if (bad != -1) {
		ret = fail(x, "B->A: %s at %ld", bad == -2 ? "guard byte changed" : "data differs", bad);
		goto out;
	}
	note(x, "24 and 10 segments (%d/%d DMA segments) %zu bytes cmds=%u", a.dma_nents,
	     b.dma_nents, total, x->cmds);
	goto out;
err:
	ret = -1;
out:
	sg_free(x, &a);
	sg_free(x, &b);
	return ret;
}

/* ------------------------------------------------------------------ */
/* The bug zoo */

static struct iommu_domain *dt_domain(struct dt_dev *dt)
{
	return iommu_get_domain_for_dev(&dt->pdev->dev);
}

/* Is IOVA currently mapped in the device's domain (the guest's view)? */
static bool iova_mapped(struct dt_dev *dt, u64 iova)
{
	struct iommu_domain *dom = dt_domain(dt);

	return dom && iommu_iova_to_phys(dom, iova) != 0;
}

static bool dt_strict(struct dt_dev *dt)
{
	struct iommu_domain *dom = dt_domain(dt);

	return dt->pdev->untrusted || (dom && dom->type == IOMMU_DOMAIN_DMA);
}

/* Wait until the violation count moves past BEFORE (or the wait ends). */
static u32 wait_viol(struct dt_dev *dt, u32 before)
{
	unsigned int waited = 0;
	u32 now;

	for (;;) {
		now = rd(dt, DMATEST_VIOL_COUNT);
		if (now != before || waited >= DT_VIOL_WAIT_MS)
			return now;
		msleep(10);
		waited += 10;
	}
}

/* Run the misusing command; it must end with WANT_ERR. */
static int bad_cmd(struct dt_ctx *x, u32 cmd, u64 src, u64 dst, u32 len, u32 want_err,
		   struct dt_res *r)
{
	struct dt_cmd c = { .cmd = cmd, .src = src, .dst = dst, .len = len, .pattern = 0xee };
	int ret;

	x->cmds++;
	ret = dt_exec(x->dt, &c, r);
	if (ret)
		return fail(x, "%s: %s", cmd_name(cmd),
			    ret == -ENOMSG ? "completed without an MSI" : "timed out");
	if (r->error != want_err)
		return fail(x, "%s src %#llx dst %#llx len %u: device error %s, expected %s",
			    cmd_name(cmd), src, dst, len, err_name(r->error), err_name(want_err));
	return 0;
}

/* The host's verdict: at least one more violation, the latest of class
 * WANT.  Appends "viol=... count=+N error=..." to the result. */
static int verdict(struct dt_ctx *x, u32 before, u32 want, const struct dt_res *r,
		   const char *extra)
{
	u32 after = wait_viol(x->dt, before);
	u32 last = rd(x->dt, DMATEST_VIOL_LAST);

	if (after == before)
		return fail(x, "the host counted no violation (count %u, last %s)", after,
			    viol_name(last));
	if (last != want)
		return fail(x, "the host's latest violation is %s, expected %s (count +%u)",
			    viol_name(last), viol_name(want), after - before);
	note(x, "viol=%s count=+%u error=%s%s%s", viol_name(last), after - before,
	     r ? err_name(r->error) : "n/a", extra ? " " : "", extra ? extra : "");
	return 0;
}

/* unmapped: the device writes to an IOVA that was never mapped. */
static int case_unmapped(struct dt_ctx *x)
{
	struct dt_dev *dt = x->dt;
	struct iommu_domain *dom = dt_domain(dt);
	u64 iova, lim = dom ? dom->geometry.aperture_end : 0;
	struct dt_res r;
	u32 before;

	/* Far above anything the allocator hands out (32-bit first, top down):
	 * 256 GiB for a device of 40 bits or more, else page 1. */
	iova = dt->width >= 40 ? 1ULL << 38 : PAGE_SIZE;
	if (dom && dom->geometry.force_aperture && lim && iova > lim)
		iova = PAGE_SIZE;
	if (iova_mapped(dt, iova))
		return fail(x, "precondition: IOVA %#llx is mapped", iova);
	before = rd(dt, DMATEST_VIOL_COUNT);
	if (bad_cmd(x, DMATEST_CMD_FILL, 0, iova, 64, DMATEST_ERROR_DMA, &r))
		return -1;
	{
		char extra[48];

		snprintf(extra, sizeof(extra), "iova=%#llx", iova);
		return verdict(x, before, DMATEST_VIOL_UNMAPPED, &r, extra);
	}
}

/* write-to-device-mapping: FILL through a DMA_TO_DEVICE mapping. */
static int case_write_to_device_mapping(struct dt_ctx *x)
{
	u8 *va = (u8 *)__get_free_page(GFP_KERNEL);
	dma_addr_t a;
	struct dt_res r;
	u32 before;
	int ret;

	if (!va)
		return fail(x, "out of memory");
	fill_pat(va, PAGE_SIZE, 40, 0);
	a = dma_map_single(x->dev, va, PAGE_SIZE, DMA_TO_DEVICE);
	if (dma_mapping_error(x->dev, a)) {
		free_page((unsigned long)va);
		return map_failed(x, "dma_map_single(TO_DEVICE)", PAGE_SIZE);
	}
	before = rd(x->dt, DMATEST_VIOL_COUNT);
	ret = bad_cmd(x, DMATEST_CMD_FILL, 0, a, 256, DMATEST_ERROR_DMA, &r);
	dma_unmap_single(x->dev, a, PAGE_SIZE, DMA_TO_DEVICE);
	if (!ret && check_pat(va, PAGE_SIZE, 40, 0) >= 0)
		ret = fail(x, "the refused write changed the buffer");
	if (!ret)
		ret = verdict(x, before, DMATEST_VIOL_PERMISSION, &r, "intact=yes");
	free_page((unsigned long)va);
	return ret;
}

/* read-from-device-mapping: the device reads (COPY source) a
 * DMA_FROM_DEVICE mapping; the COPY's destination must stay untouched. */
static int case_read_from_device_mapping(struct dt_ctx *x)
{
	u8 *va = (u8 *)__get_free_page(GFP_KERNEL);
	u8 *dst = (u8 *)__get_free_page(GFP_KERNEL);
	dma_addr_t a = DMA_MAPPING_ERROR, d = DMA_MAPPING_ERROR;
	struct dt_res r;
	u32 before;
	int ret;

	if (!va || !dst) {
		ret = fail(x, "out of memory");
		goto out;
	}
	fill_pat(va, PAGE_SIZE, 41, 0);
	memset(dst, 0xcc, PAGE_SIZE);
	a = dma_map_single(x->dev, va, PAGE_SIZE, DMA_FROM_DEVICE);
	d = dma_map_single(x->dev, dst, PAGE_SIZE, DMA_FROM_DEVICE);
	if (dma_mapping_error(x->dev, a) || dma_mapping_error(x->dev, d)) {
		ret = map_failed(x, "dma_map_single(FROM_DEVICE)", PAGE_SIZE);
		goto out;
	}
	before = rd(x->dt, DMATEST_VIOL_COUNT);
	ret = bad_cmd(x, DMATEST_CMD_COPY, a, d, 256, DMATEST_ERROR_DMA, &r);
	dma_unmap_single(x->dev, d, PAGE_SIZE, DMA_FROM_DEVICE);
	d = DMA_MAPPING_ERROR;
	if (!ret && check_byte(dst, PAGE_SIZE, 0xcc) >= 0)
		ret = fail(x, "the COPY's destination changed although its source read was refused");
	if (!ret)
		ret = verdict(x, before, DMATEST_VIOL_PERMISSION, &r, "intact=yes");
out:
	if (d != DMA_MAPPING_ERROR && !dma_mapping_error(x->dev, d))
		dma_unmap_single(x->dev, d, PAGE_SIZE, DMA_FROM_DEVICE);
	if (a != DMA_MAPPING_ERROR && !dma_mapping_error(x->dev, a))
		dma_unmap_single(x->dev, a, PAGE_SIZE, DMA_FROM_DEVICE);
	free_page((unsigned long)va);
	free_page((unsigned long)dst);
	return ret;
}

/* past-end: a 3-page mapping gets a 4-page IOVA block (iommu-dma rounds
 * sizes up to a power of two), so the 4th page is IOVA space that is ours
 * and never mapped.  The device writes 128 bytes across the end. */
static int case_past_end(struct dt_ctx *x)
{
	u8 *va = (u8 *)__get_free_pages(GFP_KERNEL, 2);
	size_t n = 3 * PAGE_SIZE;
	dma_addr_t a;
	struct dt_res r;
	u32 before;
	int ret;

	if (!va)
		return fail(x, "out of memory");
	fill_pat(va, 4 * PAGE_SIZE, 42, 0);
	a = dma_map_single(x->dev, va, n, DMA_FROM_DEVICE);
	if (dma_mapping_error(x->dev, a)) {
		free_pages((unsigned long)va, 2);
		return map_failed(x, "dma_map_single(FROM_DEVICE)", n);
	}
	if (iova_mapped(x->dt, a + n)) {
		ret = fail(x, "precondition: the IOVA page after the mapping (%#llx) is mapped",
			   (u64)(a + n));
		dma_unmap_single(x->dev, a, n, DMA_FROM_DEVICE);
		goto out;
	}
	before = rd(x->dt, DMATEST_VIOL_COUNT);
	ret = bad_cmd(x, DMATEST_CMD_FILL, 0, a + n - 64, 128, DMATEST_ERROR_DMA, &r);
	dma_unmap_single(x->dev, a, n, DMA_FROM_DEVICE);
	if (!ret && check_pat(va, 4 * PAGE_SIZE, 42, 0) >= 0)
		ret = fail(x, "the refused write changed guest memory");
	if (!ret) {
		char extra[64];

		snprintf(extra, sizeof(extra), "iova=%#llx end=%#llx intact=yes", (u64)a, (u64)(a + n));
		ret = verdict(x, before, DMATEST_VIOL_PAST_END, &r, extra);
	}
out:
	free_pages((unsigned long)va, 2);
	return ret;
}

/* after-unmap: DMA to an IOVA after dma_unmap_single.  Only meaningful
 * with strict invalidation: in lazy mode (DMA-FQ) the unmap reaches the
 * host later, and the write would land in memory the CPU owns again. */
static int case_after_unmap(struct dt_ctx *x)
{
	u8 *va;
	dma_addr_t a;
	struct dt_res r;
	u32 before;
	int ret;

	if (!dt_strict(x->dt))
		return skipped(x, "lazy IOMMU invalidation (DMA-FQ): boot with iommu.strict=1 or use an untrusted device");
	va = (u8 *)__get_free_page(GFP_KERNEL);
	if (!va)
		return fail(x, "out of memory");
	memset(va, 0, PAGE_SIZE);
	a = dma_map_single(x->dev, va, PAGE_SIZE, DMA_FROM_DEVICE);
	if (dma_mapping_error(x->dev, a)) {
		free_page((unsigned long)va);
		return map_failed(x, "dma_map_single(FROM_DEVICE)", PAGE_SIZE);
	}
	if (d_fill(x, a, PAGE_SIZE, 0x11)) {
		dma_unmap_single(x->dev, a, PAGE_SIZE, DMA_FROM_DEVICE);
		free_page((unsigned long)va);
		return -1;
	}
	dma_unmap_single(x->dev, a, PAGE_SIZE, DMA_FROM_DEVICE);
	if (check_byte(va, PAGE_SIZE, 0x11) >= 0) {
		free_page((unsigned long)va);
		return fail(x, "the legitimate FILL before the unmap did not arrive");
	}
	fill_pat(va, PAGE_SIZE, 43, 0);
	if (iova_mapped(x->dt, a)) {
		free_page((unsigned long)va);
		return fail(x, "precondition: IOVA %#llx still mapped after dma_unmap_single", (u64)a);
	}
	before = rd(x->dt, DMATEST_VIOL_COUNT);
	ret = bad_cmd(x, DMATEST_CMD_FILL, 0, a, 256, DMATEST_ERROR_DMA, &r);
	if (!ret && check_pat(va, PAGE_SIZE, 43, 0) >= 0)
		ret = fail(x, "the write after unmap changed the (CPU-owned) buffer");
	if (!ret) {
		char extra[48];

		snprintf(extra, sizeof(extra), "iova=%#llx intact=yes", (u64)a);
		ret = verdict(x, before, DMATEST_VIOL_AFTER_UNMAP, &r, extra);
	}
	free_page((unsigned long)va);
	return ret;
}

static int dt_set_masks(struct dt_dev *dt);

/*
 * beyond-mask: the driver claims DMA_BIT_MASK(64) for a device narrower
 * than 32 bits.  iommu-dma then allocates IOVAs below 4 GiB (32-bit space
 * first), beyond what the device can drive.  To make that certain rather
 * than likely (the allocator continues downward from its last allocation,
 * which for this device lies below 2^width), the buffer is a 16 MiB
 * coherent allocation: one IOVA range of 2^24 bytes, naturally aligned,
 * cannot fit below 16 MiB (IOVA page 0 is never allocated), whatever the
 * device's trust (a scatterlist would be mapped segment by segment for an
 * untrusted device).  The device then tries to fill its first bytes.  The
 * correct mask is restored afterwards and checked with a fresh mapping.
 */
static int case_beyond_mask(struct dt_ctx *x)
{
	struct dt_dev *dt = x->dt;
	const size_t size = SZ_16M;
	u8 *va = NULL, *pg = NULL;
	dma_addr_t a = 0, chk;
	struct dt_res r;
	u32 before;
	int ret = 0, err;

	if (dt->width >= 32)
		return skipped(x, "needs a device narrower than 32 bits (this one has %u)", dt->width);
	pg = (u8 *)__get_free_page(GFP_KERNEL);
	if (!pg)
		return fail(x, "out of memory");
	/* The bug: the wrong mask. */
	err = dma_set_mask_and_coherent(x->dev, DMA_BIT_MASK(64));
	if (err) {
		ret = fail(x, "dma_set_mask_and_coherent(64) failed (%d)", err);
		goto restore;
	}
	va = dma_alloc_coherent(x->dev, size, &a, GFP_KERNEL);
	if (!va) {
		ret = fail(x, "dma_alloc_coherent(16 MiB) failed");
		goto restore;
	}
	fill_pat(va, PAGE_SIZE, 44, 0);
	if (a >> dt->width == 0) {
		ret = fail(x, "precondition: IOVA %#llx fits in %u bits after all", (u64)a, dt->width);
		goto restore;
	}
	before = rd(dt, DMATEST_VIOL_COUNT);
	ret = bad_cmd(x, DMATEST_CMD_FILL, 0, a, 256, DMATEST_ERROR_ADDRESS_WIDTH, &r);
	if (!ret && check_pat(va, PAGE_SIZE, 44, 0) >= 0)
		ret = fail(x, "the refused write changed the buffer");
	if (!ret) {
		char extra[64];

		snprintf(extra, sizeof(extra), "iova=%#llx width=%u intact=yes", (u64)a, dt->width);
		ret = verdict(x, before, DMATEST_VIOL_ADDRESS_WIDTH, &r, extra);
	}
restore:
	if (va)
		dma_free_coherent(x->dev, size, va, a);
	if (dt_set_masks(dt)) {
		ret = fail(x, "could not restore the %u-bit DMA mask", dt->width);
		goto out;
	}
	/* The right mask is back: a fresh mapping fits and works. */
	if (ret == 0) {
		char keep[sizeof(x->msg)];

		memcpy(keep, x->msg, sizeof(keep));
		memset(pg, 0, PAGE_SIZE);
		chk = dma_map_single(x->dev, pg, PAGE_SIZE, DMA_FROM_DEVICE);
		if (dma_mapping_error(x->dev, chk)) {
			ret = map_failed(x, "dma_map_single after restoring the mask", PAGE_SIZE);
			goto out;
		}
		if (chk >> dt->width)
			ret = fail(x, "after restoring the mask: IOVA %#llx still beyond %u bits",
				   (u64)chk, dt->width);
		else if (d_fill(x, chk, PAGE_SIZE, 0x77))
			ret = -1;
		dma_unmap_single(x->dev, chk, PAGE_SIZE, DMA_FROM_DEVICE);
		if (!ret && check_byte(pg, PAGE_SIZE, 0x77) >= 0)
			ret = fail(x, "after restoring the mask: FILL did not arrive");
		if (!ret)
			memcpy(x->msg, keep, sizeof(keep));
	}
out:
	free_page((unsigned long)pg);
	return ret;
}

/* bypass: the driver gives the device the buffer's physical address
 * (virt_to_phys) instead of its DMA address. */
static int case_bypass(struct dt_ctx *x)
{
	u8 *va = (u8 *)__get_free_page(GFP_KERNEL);
	phys_addr_t pa;
	dma_addr_t a;
	struct dt_res r;
	u32 before;
	int ret;

	if (!va)
		return fail(x, "out of memory");
	fill_pat(va, PAGE_SIZE, 45, 0);
	a = dma_map_single(x->dev, va, PAGE_SIZE, DMA_FROM_DEVICE);
	if (dma_mapping_error(x->dev, a)) {
		free_page((unsigned long)va);
		return map_failed(x, "dma_map_single(FROM_DEVICE)", PAGE_SIZE);
	}
	pa = virt_to_phys(va);
	if (iova_mapped(x->dt, pa) || pa == a) {
		ret = fail(x, "precondition: the physical address %pa is also a mapped IOVA", &pa);
		dma_unmap_single(x->dev, a, PAGE_SIZE, DMA_FROM_DEVICE);
		goto out;
	}
	before = rd(x->dt, DMATEST_VIOL_COUNT);
	ret = bad_cmd(x, DMATEST_CMD_FILL, 0, pa, 256, DMATEST_ERROR_DMA, &r);
	dma_unmap_single(x->dev, a, PAGE_SIZE, DMA_FROM_DEVICE);
	if (!ret && check_pat(va, PAGE_SIZE, 45, 0) >= 0)
		ret = fail(x, "the refused write changed the buffer");
	if (!ret) {
		char extra[64];

		snprintf(extra, sizeof(extra), "phys=%#llx iova=%#llx intact=yes", (u64)pa, (u64)a);
		ret = verdict(x, before, DMATEST_VIOL_BYPASS, &r, extra);
	}
out:
	free_page((unsigned long)va);
	return ret;
}

/*
 * not-ram: dma_map_page() of the "struct page" of a non-RAM pfn (the
 * device's own BAR) instead of dma_map_resource().  The host refuses the
 * MAP.  Linux 6.12's virtio-iommu driver queues MAP requests and ignores
 * their status (__viommu_sync_req() returns 0), so the guest may well get
 * a DMA address back rather than DMA_MAPPING_ERROR: the case accepts
 * either and reports which ("mapping_error=yes|no"); the verdict register
 * is what must show the refusal.  The (host-refused) mapping is then
 * unmapped so the IOVA goes back to the allocator.  No struct page is
 * dereferenced: pfn_to_page() of a vmemmap kernel is arithmetic, and
 * DMA_ATTR_SKIP_CPU_SYNC keeps the sync paths away from it.
 */
static int case_not_ram(struct dt_ctx *x)
{
	struct dt_dev *dt = x->dt;
	resource_size_t bar = pci_resource_start(dt->pdev, 0);
	unsigned long pfn = PHYS_PFN(bar);
	struct page *page = pfn_to_page(pfn);
	const unsigned long attrs = DMA_ATTR_SKIP_CPU_SYNC;
	u32 before, mid, last, after;
	bool maperr;
	dma_addr_t a;

	before = rd(dt, DMATEST_VIOL_COUNT);
	a = dma_map_page_attrs(x->dev, page, 0, PAGE_SIZE, DMA_BIDIRECTIONAL, attrs);
	maperr = dma_mapping_error(x->dev, a);
	mid = wait_viol(dt, before);
	last = rd(dt, DMATEST_VIOL_LAST);
	if (!maperr)
		dma_unmap_page_attrs(x->dev, a, PAGE_SIZE, DMA_BIDIRECTIONAL, attrs);
	after = rd(dt, DMATEST_VIOL_COUNT);
	if (mid == before)
		return fail(x, "the host counted no violation for the MAP of %#llx (mapping_error=%s)",
			    (u64)bar, maperr ? "yes" : "no");
	if (last != DMATEST_VIOL_NOT_RAM)
		return fail(x, "the host's latest violation is %s, expected not-ram (count +%u)",
			    viol_name(last), mid - before);
	note(x, "viol=not-ram count=+%u error=n/a bar=%#llx pfn_valid=%d mapping_error=%s%s unmap_viols=+%u",
	     mid - before, (u64)bar, pfn_valid(pfn) ? 1 : 0, maperr ? "yes" : "no",
	     maperr ? "" : " (virtio-iommu ignores MAP status)", after - mid);
	return 0;
}

/* leak: map a buffer and forget it; see the header comment. */
static int case_leak(struct dt_ctx *x)
{
	struct dt_leak *l = kzalloc(sizeof(*l), GFP_KERNEL);

	if (!l)
		return fail(x, "out of memory");
	l->len = PAGE_SIZE;
	l->dir = DMA_FROM_DEVICE;
	l->buf = (void *)__get_free_page(GFP_KERNEL);
	if (!l->buf) {
		kfree(l);
		return fail(x, "out of memory");
	}
	l->dma = dma_map_single(x->dev, l->buf, l->len, l->dir);
	if (dma_mapping_error(x->dev, l->dma)) {
		free_page((unsigned long)l->buf);
		kfree(l);
		return map_failed(x, "dma_map_single", PAGE_SIZE);
	}
	l->pdev = pci_dev_get(x->dt->pdev);
	mutex_lock(&dt_leaks_lock);
	list_add_tail(&l->node, &dt_leaks);
	mutex_unlock(&dt_leaks_lock);
	note(x, "mapped iova=%#llx len=%zu and forgot it: unbind the driver, wait ~1 s, bind it, read info (viol_last=leak)",
	     (u64)l->dma, l->len);
	return 0;
}

/* Unmap and free what the leak case left for PDEV (NULL: all devices). */
static unsigned int dt_reclaim_leaks(struct pci_dev *pdev)
{
	struct dt_leak *l, *tmp;
	unsigned int n = 0;

	mutex_lock(&dt_leaks_lock);
	list_for_each_entry_safe(l, tmp, &dt_leaks, node) {
		if (pdev && l->pdev != pdev)
			continue;
		dev_info(&l->pdev->dev, "reclaiming the mapping the leak case left: iova %#llx len %zu\n",
			 (u64)l->dma, l->len);
		dma_unmap_single(&l->pdev->dev, l->dma, l->len, l->dir);
		free_page((unsigned long)l->buf);
		pci_dev_put(l->pdev);
		list_del(&l->node);
		kfree(l);
		n++;
	}
	mutex_unlock(&dt_leaks_lock);
	return n;
}

/* ------------------------------------------------------------------ */
/* The case table */

#define SINGLE(prefix, fn_, sz, o) { prefix "-" #sz "@" #o, fn_, 0, sz, o }
#define SINGLES(prefix, fn_) \
	SINGLE(prefix, fn_, 1, 1), \
	SINGLE(prefix, fn_, 100, 3), \
	SINGLE(prefix, fn_, 4096, 0), \
	SINGLE(prefix, fn_, 4096, 17), \
	SINGLE(prefix, fn_, 65536, 5), \
	SINGLE(prefix, fn_, 300000, 7), \
	SINGLE(prefix, fn_, 524288, 0)

static const struct dt_case dt_cases[] = {
	{ "coherent", case_coherent },
	{ "coherent-512k", case_coherent_big },
	SINGLES("to-device", case_to_device),
	SINGLES("from-device", case_from_device),
	SINGLES("bidirectional", case_bidirectional),
	{ "map-page", case_map_page },
	{ "same-page-twice", case_same_page_twice },
	{ "sync-loop", case_sync_loop },
	{ "sg-to-device", case_sg_to_device },
	{ "sg-from-device", case_sg_from_device },
	{ "sg-bidirectional", case_sg_bidirectional },
	{ "sg-many", case_sg_many },
	{ "sg-big", case_sg_big },
	{ "pool", case_pool },
	{ "subpage-exposure", case_subpage_exposure },
	/* the zoo */
	{ "unmapped", case_unmapped, DMATEST_VIOL_UNMAPPED },
	{ "write-to-device-mapping", case_write_to_device_mapping, DMATEST_VIOL_PERMISSION },
	{ "read-from-device-mapping", case_read_from_device_mapping, DMATEST_VIOL_PERMISSION },
	{ "past-end", case_past_end, DMATEST_VIOL_PAST_END },
	{ "after-unmap", case_after_unmap, DMATEST_VIOL_AFTER_UNMAP },
	{ "beyond-mask", case_beyond_mask, DMATEST_VIOL_ADDRESS_WIDTH },
	{ "bypass", case_bypass, DMATEST_VIOL_BYPASS },
	{ "not-ram", case_not_ram, DMATEST_VIOL_NOT_RAM },
	{ "leak", case_leak, DMATEST_VIOL_LEAK },
};

static const struct dt_case *find_case(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dt_cases); i++)
		if (!strcmp(dt_cases[i].name, name))
			return &dt_cases[i];
	return NULL;
}

/* Run one case under dt->lock and append its result line. */
static void dt_run_case(struct dt_dev *dt, const struct dt_case *c)
{
	char line[sizeof(((struct dt_ctx *)0)->msg) + 96];
	size_t n;
	struct dt_ctx x = { .dt = dt, .dev = &dt->pdev->dev, .c = c };
	u32 before = rd(dt, DMATEST_VIOL_COUNT), after;
	ktime_t t0 = ktime_get();
	unsigned int ms;
	int ret;

	ret = c->fn(&x);
	ms = ktime_ms_delta(ktime_get(), t0);
	after = rd(dt, DMATEST_VIOL_COUNT);
	if (ret == 0 && !c->viol && after != before)
		ret = fail(&x, "the host counted %u violation(s) during a correct case (latest %s)",
			   after - before, viol_name(rd(dt, DMATEST_VIOL_LAST)));
	dt->runs++;
	if (ret < 0)
		dt->failures++;
	n = scnprintf(line, sizeof(line), "%s %s %s%s(%u ms)\n",
		      ret < 0 ? "not ok" : ret > 0 ? "skip" : "ok", c->name, x.msg,
		      x.msg[0] ? " " : "", ms);
	if (ret < 0)
		dev_warn(&dt->pdev->dev, "%s", line);
	if (dt->results_len + n < DT_RESULTS_SIZE) {
		memcpy(dt->results + dt->results_len, line, n + 1);
		dt->results_len += n;
	}
}

/* ------------------------------------------------------------------ */
/* debugfs */

static const char *domain_type(struct dt_dev *dt)
{
	struct iommu_domain *dom = dt_domain(dt);

	if (!dom)
		return "none";
	switch (dom->type) {
	case IOMMU_DOMAIN_BLOCKED: return "blocked";
	case IOMMU_DOMAIN_IDENTITY: return "identity";
	case IOMMU_DOMAIN_UNMANAGED: return "unmanaged";
	case IOMMU_DOMAIN_DMA: return "DMA";
	case IOMMU_DOMAIN_DMA_FQ: return "DMA-FQ";
	default: return "other";
	}
}

static int dt_info_show(struct seq_file *m, void *unused)
{
	struct dt_dev *dt = m->private;
	struct device *dev = &dt->pdev->dev;
	int ret = mutex_lock_interruptible(&dt->lock);

	if (ret)
		return ret;
	seq_printf(m, "bdf=%s\n", pci_name(dt->pdev));
	seq_printf(m, "version=%u\n", rd(dt, DMATEST_VERSION));
	seq_printf(m, "width=%u\n", dt->width);
	seq_printf(m, "mask_bits=%u\n", dt->mask_bits);
	seq_printf(m, "dma_mask=%#llx\n", (u64)dma_get_mask(dev));
	seq_printf(m, "coherent_mask=%#llx\n", (u64)dev->coherent_dma_mask);
	seq_printf(m, "untrusted=%u\n", dt->pdev->untrusted ? 1 : 0);
	seq_printf(m, "iommu_domain=%s\n", domain_type(dt));
	seq_printf(m, "strict=%u\n", dt_strict(dt) ? 1 : 0);
	seq_printf(m, "swiotlb=%s\n", dt_swiotlb_active(dev) ? "active" : "inactive");
	seq_printf(m, "swiotlb_slabs=%lu\n", dev->dma_io_tlb_mem ? dev->dma_io_tlb_mem->nslabs : 0);
	if (dt->irq >= 0)
		seq_printf(m, "irq=msi:%d\n", dt->irq);
	else
		seq_puts(m, "irq=poll\n");
	seq_printf(m, "viol_count=%u\n", rd(dt, DMATEST_VIOL_COUNT));
	seq_printf(m, "viol_last=%s\n", viol_name(rd(dt, DMATEST_VIOL_LAST)));
	seq_printf(m, "runs=%u\n", dt->runs);
	seq_printf(m, "failures=%u\n", dt->failures);
	seq_printf(m, "timeouts=%u\n", dt->timeouts);
	seq_printf(m, "bounce_retries=%u\n", dt->bounce_retries);
	seq_printf(m, "leaks_reclaimed=%u\n", dt->leaks_reclaimed);
	mutex_unlock(&dt->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dt_info);

static int dt_cases_show(struct seq_file *m, void *unused)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dt_cases); i++) {
		if (dt_cases[i].viol)
			seq_printf(m, "%s zoo %s\n", dt_cases[i].name, viol_name(dt_cases[i].viol));
		else
			seq_printf(m, "%s correct\n", dt_cases[i].name);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dt_cases);

static bool is_sep(char ch)
{
	return ch == ' ' || ch == ',' || ch == '\n' || ch == '\t';
}

/* Run (unless DRY) each case the words of BUF name, splitting BUF in
 * place; -EINVAL at the first unknown word. */
static int for_each_named_case(char *buf, struct dt_dev *dt, bool dry)
{
	char *p = buf, *word;
	unsigned int i;

	while (*p) {
		while (*p && is_sep(*p))
			p++;
		if (!*p)
			break;
		word = p;
		while (*p && !is_sep(*p))
			p++;
		if (*p)
			*p++ = '\0';
		if (!strcmp(word, "correct")) {
			for (i = 0; !dry && i < ARRAY_SIZE(dt_cases); i++)
				if (!dt_cases[i].viol)
					dt_run_case(dt, &dt_cases[i]);
		} else if (!find_case(word)) {
			return -EINVAL;
		} else if (!dry) {
			dt_run_case(dt, find_case(word));
		}
	}
	return 0;
}

static ssize_t dt_run_write(struct file *f, const char __user *ubuf, size_t len, loff_t *ppos)
{
	struct dt_dev *dt = f->private_data;
	char *buf;
	int ret;

	if (len == 0 || len >= PAGE_SIZE)
		return -EINVAL;
	buf = memdup_user_nul(ubuf, len);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	/* Check every word first (on a copy): an unknown one runs nothing. */
	{
		char *copy = kstrdup(buf, GFP_KERNEL);

		ret = copy ? for_each_named_case(copy, dt, true) : -ENOMEM;
		kfree(copy);
	}
	if (ret)
		goto out;
	ret = mutex_lock_interruptible(&dt->lock);
	if (ret)
		goto out;
	dt->results_len = 0;
	dt->results[0] = '\0';
	for_each_named_case(buf, dt, false);
	mutex_unlock(&dt->lock);
	ret = len;
out:
	kfree(buf);
	return ret;
}

static ssize_t dt_run_read(struct file *f, char __user *ubuf, size_t len, loff_t *ppos)
{
	struct dt_dev *dt = f->private_data;
	ssize_t ret;

	ret = mutex_lock_interruptible(&dt->lock);
	if (ret)
		return ret;
	if (dt->results_len)
		ret = simple_read_from_buffer(ubuf, len, ppos, dt->results, dt->results_len);
	else
		ret = simple_read_from_buffer(ubuf, len, ppos, "none\n", 5);
	mutex_unlock(&dt->lock);
	return ret;
}

static const struct file_operations dt_run_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = dt_run_read,
	.write = dt_run_write,
	.llseek = default_llseek,
};

/* ------------------------------------------------------------------ */
/* PCI driver */

/*
 * The HOWTO's mask negotiation: the device's own width first; should the
 * platform refuse it, narrower masks are still correct for the device
 * (it can drive any address below 2^width), so fall back through the
 * usual widths; with none accepted, do not drive the device.
 */
static int dt_set_masks(struct dt_dev *dt)
{
	static const u32 widths[] = { 64, 40, 32, 24 };
	struct device *dev = &dt->pdev->dev;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(widths); i++) {
		if (widths[i] > dt->width)
			continue;
		if (!dma_set_mask_and_coherent(dev, DMA_BIT_MASK(widths[i]))) {
			if (widths[i] != dt->width)
				dev_warn(dev, "%u-bit DMA mask refused, using %u bits\n",
					 dt->width, widths[i]);
			dt->mask_bits = widths[i];
			return 0;
		}
	}
	dev_err(dev, "no usable DMA mask for a %u-bit device: not driving it\n", dt->width);
	return -EIO;
}

static int dt_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	unsigned int reclaimed;
	struct dt_dev *dt;
	u32 magic, version;
	int ret;

	/* Whatever the leak case left behind for this device goes first, before
	 * this probe resets the device (so that reset sees no stale mapping). */
	reclaimed = dt_reclaim_leaks(pdev);

	dt = kzalloc(sizeof(*dt), GFP_KERNEL);
	if (!dt)
		return -ENOMEM;
	dt->results = kzalloc(DT_RESULTS_SIZE, GFP_KERNEL);
	if (!dt->results) {
		kfree(dt);
		return -ENOMEM;
	}
	dt->pdev = pdev;
	dt->irq = -1;
	dt->leaks_reclaimed = reclaimed;
	mutex_init(&dt->lock);
	init_completion(&dt->done);
	pci_set_drvdata(pdev, dt);

	ret = pci_enable_device(pdev);
	if (ret)
		goto err_free;
	ret = pci_request_regions(pdev, DT_NAME);
	if (ret)
		goto err_disable;
	dt->regs = pci_iomap(pdev, 0, DMATEST_BAR0_SIZE);
	if (!dt->regs) {
		ret = -ENOMEM;
		goto err_regions;
	}
	magic = rd(dt, DMATEST_ID);
	version = rd(dt, DMATEST_VERSION);
	dt->width = rd(dt, DMATEST_WIDTH);
	if (magic != DMATEST_MAGIC || version != 1) {
		dev_err(dev, "not a dmatest v1 device (id %#x, version %u)\n", magic, version);
		ret = -ENODEV;
		goto err_unmap;
	}
	if (dt->width != 64 && dt->width != 40 && dt->width != 32 && dt->width != 24) {
		dev_err(dev, "unsupported DMA width %u\n", dt->width);
		ret = -ENODEV;
		goto err_unmap;
	}
	dt_hw_reset(dt, false);

	ret = dt_set_masks(dt);
	if (ret)
		goto err_unmap;
	/* The device takes segments of up to DMATEST_MAX_LEN. */
	dma_set_max_seg_size(dev, DMATEST_MAX_LEN);

	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI);
	if (ret == 1) {
		ret = request_irq(pci_irq_vector(pdev, 0), dt_irq, 0, DT_NAME, dt);
		if (ret) {
			pci_free_irq_vectors(pdev);
			dev_warn(dev, "request_irq failed (%d): polling\n", ret);
		} else {
			dt->irq = pci_irq_vector(pdev, 0);
		}
	} else {
		dev_warn(dev, "no MSI (%d): polling\n", ret);
	}

	dt->sgtab = dma_alloc_coherent(dev, 2 * DMATEST_SG_MAX * sizeof(struct dmatest_sg),
				       &dt->sgtab_dma, GFP_KERNEL);
	if (!dt->sgtab) {
		ret = -ENOMEM;
		goto err_irq;
	}
	pci_set_master(pdev);
	wr(dt, DMATEST_IRQ_STATUS, DMATEST_IRQ_DONE);
	wr(dt, DMATEST_CTRL, dt->irq >= 0 ? DMATEST_CTRL_IRQ_ENABLE : 0);

	dt->dir = debugfs_create_dir(pci_name(pdev), dt_root);
	debugfs_create_file("info", 0444, dt->dir, dt, &dt_info_fops);
	debugfs_create_file("cases", 0444, dt->dir, dt, &dt_cases_fops);
	debugfs_create_file("run", 0600, dt->dir, dt, &dt_run_fops);

	dev_info(dev, "dmatest: %u-bit DMA, mask %u bits, %s, iommu domain %s%s%s\n",
		 dt->width, dt->mask_bits, dt->irq >= 0 ? "MSI" : "polling", domain_type(dt),
		 pdev->untrusted ? ", untrusted" : "",
		 reclaimed ? ", reclaimed a leaked mapping" : "");
	return 0;

err_irq:
	if (dt->irq >= 0) {
		free_irq(dt->irq, dt);
		pci_free_irq_vectors(pdev);
	}
err_unmap:
	pci_iounmap(pdev, dt->regs);
err_regions:
	pci_release_regions(pdev);
err_disable:
	pci_disable_device(pdev);
err_free:
	kfree(dt->results);
	kfree(dt);
	return ret;
}

static void dt_remove(struct pci_dev *pdev)
{
	struct dt_dev *dt = pci_get_drvdata(pdev);

	/* No new case can start; a running one has finished once this returns. */
	debugfs_remove(dt->dir);
	/* The device is idle (cases wait for their commands; a timed-out one
	 * was reset).  Free the DMA memory, then reset the device and stop
	 * its bus mastering: anything still mapped now is a leak. */
	wr(dt, DMATEST_CTRL, 0);
	if (rd(dt, DMATEST_STATUS) & DMATEST_STATUS_BUSY)
		dt_hw_reset(dt, false);
	dma_free_coherent(&pdev->dev, 2 * DMATEST_SG_MAX * sizeof(struct dmatest_sg), dt->sgtab,
			  dt->sgtab_dma);
	dt_hw_reset(dt, false);
	if (dt->irq >= 0) {
		free_irq(dt->irq, dt);
		pci_free_irq_vectors(pdev);
	}
	pci_clear_master(pdev);
	pci_iounmap(pdev, dt->regs);
	pci_release_regions(pdev);
	pci_disable_device(pdev);
	kfree(dt->results);
	kfree(dt);
}

static const struct pci_device_id dt_ids[] = {
	{ PCI_DEVICE(DMATEST_VENDOR_ID, DMATEST_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, dt_ids);

static struct pci_driver dt_driver = {
	.name = DT_NAME,
	.id_table = dt_ids,
	.probe = dt_probe,
	.remove = dt_remove,
};

static int __init dt_init(void)
{
	int ret;

	dt_root = debugfs_create_dir(DT_NAME, NULL);
	ret = pci_register_driver(&dt_driver);
	if (ret)
		debugfs_remove(dt_root);
	return ret;
}

static void __exit dt_exit(void)
{
	pci_unregister_driver(&dt_driver);
	dt_reclaim_leaks(NULL);
	debugfs_remove(dt_root);
}

module_init(dt_init);
module_exit(dt_exit);

MODULE_DESCRIPTION("Driver and DMA-API test suite for vmm's dmatest device");
MODULE_LICENSE("Dual MIT/GPL");
