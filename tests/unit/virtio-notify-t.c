/* SPDX-License-Identifier: MIT */
/*
 * No notification is lost between a Linux guest and vmm's devices, with
 * VIRTIO_RING_F_EVENT_IDX negotiated and real threads on both sides.
 *
 * The guest here plays Linux 6.12's split-ring driver as it runs with
 * EVENT_IDX: kicks decided by virtqueue_kick_prepare() against
 * avail_event, interrupts asked for with virtqueue_enable_cb() (used_event
 * = last_used_idx, then a poll), the used_event "0" hack and
 * event_triggered of virtqueue_disable_cb(); virtio-blk's submit path
 * (add a batch, kick at its last request) on one "CPU" and virtblk_done()
 * on another, both under the queue lock as virtio_blk.c takes it; and
 * virtio-iommu's requests from two more "CPUs": viommu_add_req() then
 * viommu_sync_req() (kick, then spin for the used entries), strict (one
 * request per sync) and lazy (a batch per sync).  The virtio-blk is behind
 * that IOMMU, so every UNMAP drains its port while its I/O thread is in
 * DMA windows.
 *
 * A lost kick leaves a request in the available ring that the device never
 * takes; a lost interrupt leaves used entries that virtblk_done() never
 * runs for; a lost IOMMU request leaves __viommu_sync_req() spinning.  Each
 * shows as no progress for a long time (a bound far above any real delay,
 * as in virtio-pci-t), and the test then fails with the ring indices that
 * say which one it was.
 *
 * VIRTIO_NOTIFY_ROUNDS (environment) sets the number of virtio-blk
 * requests (default 20000) for longer runs by hand.
 */
#include "vmm/pci.h"
#include "vmm/virtio_devices.h"
#include "viommu/viommu.h"
#include "vmm/log.h"
#include "tests/tap/basic.h"
#include "tests/unit/vpci-driver.h"
#include "tests/unit/vring-util.h"

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_iommu.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#define MEM_SIZE (64ull << 20)

#define MSI_DATA(dev, vector) (0x40u + 16u * (dev) + (vector))

#define SLOT_IOMMU 1
#define SLOT_BLK   3
#define DEV_IOMMU  0
#define DEV_BLK    1

/* No progress for this long is a lost notification (nothing here takes
 * more than milliseconds; a loaded machine stays far below it). */
#define STALL_NS (20ull * 1000000000ull)

/* virtio-blk: QSZ descriptors, 3 per request (header, data, status). */
#define BLK_QSZ    16
#define BLK_SLOTS  (BLK_QSZ / 3)
#define BLK_DESC   0x100000ull
#define BLK_AVAIL  0x101000ull
#define BLK_USED   0x102000ull
#define BLK_BUF    0x110000ull          /* + slot * 0x1000: header, data at 0x200, status at 0x400 */
#define BLK_SECTORS 128
#define BLK_IOVA_START 0x100000ull      /* identity-mapped for the disk */
#define BLK_IOVA_END   0x1fffffull

/* virtio-iommu: 2 descriptors per request, no indirect. */
#define IOMMU_QSZ  64
#define REQ_SLOTS  (IOMMU_QSZ / 2)
#define REQ_DESC   0x40000ull
#define REQ_AVAIL  0x41000ull
#define REQ_USED   0x42000ull
#define EVT_DESC   0x50000ull
#define EVT_AVAIL  0x51000ull
#define EVT_USED   0x52000ull
#define REQ_BUF    0x60000ull           /* + slot * 64 */
#define REQ_SLOT_SIZE 64                /* > the largest request here (MAP, 40 bytes) */
#define DOMAIN     1
#define SCRATCH_IOVA 0x10000000ull      /* the IOMMU CPUs' own mappings */
#define SCRATCH_PHYS 0x800000ull
#define IOMMU_MIN_ROUNDS 200

static struct pci_bus bus;
static struct guest_mem mem;
static sem_t blk_irq;
static unsigned int blk_msis, config_msis;

static int fake_msi(void *o, uint64_t addr, uint32_t data)
{
	(void)o;
	if (addr != VPCI_DRV_MSI_ADDR)
		return 0;
	if (data == MSI_DATA(DEV_BLK, 1)) {
		__atomic_fetch_add(&blk_msis, 1, __ATOMIC_SEQ_CST);
		sem_post(&blk_irq);
	} else if (data == MSI_DATA(DEV_BLK, 0) || data == MSI_DATA(DEV_IOMMU, 0)) {
		__atomic_fetch_add(&config_msis, 1, __ATOMIC_SEQ_CST);
	}
	return 0;
}

static const struct viommu_host_ops ram_ops = { .is_ram = vpci_is_ram };
static struct virtio_host host = { .signal_msi = fake_msi, .ioeventfd = vpci_no_ioeventfd };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- the PCI function, as the guest's virtio-pci transport sees it ------ */

/* Probe with every feature the device offers (EVENT_IDX and INDIRECT
 * included, as Linux accepts them), MSI-X on, vector v's data MSI_DATA(dev, v). */
static void drv_probe(struct vpci_drv *d, struct virtio_dev *vd, unsigned int dev)
{
	vpci_probe(d, &bus, &mem, vd, MSI_DATA(dev, 0), 0);
	vpci_wr(d, VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	if (!(vpci_rd(d, VIRTIO_PCI_COMMON_GF, 4) & (1u << VIRTIO_RING_F_EVENT_IDX)))
		bail("%s: EVENT_IDX not negotiated", vd->ops->name);
}

/* --- Linux's split virtqueue with EVENT_IDX (drivers/virtio/virtio_ring.c) */

struct lvq {
	struct vpci_drv *d;
	unsigned int q;
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t avail_idx_shadow, num_added, last_used_idx;
	bool no_interrupt;       /* avail_flags_shadow & VRING_AVAIL_F_NO_INTERRUPT */
	bool event_triggered;
	uint64_t kicks, kicks_suppressed;
};

static uint16_t *ring16(uint64_t gpa)
{
	return guest_mem_ptr(&mem, gpa, 2);
}

static uint16_t load16(uint64_t gpa)
{
	return le16toh(__atomic_load_n(ring16(gpa), __ATOMIC_RELAXED));
}

static void store16(uint64_t gpa, uint16_t v)
{
	__atomic_store_n(ring16(gpa), htole16(v), __ATOMIC_RELAXED);
}

#define AVAIL_IDX(vq)       ((vq)->avail + 2)
#define AVAIL_RING(vq, i)   ((vq)->avail + 4 + 2u * ((i) % (vq)->size))
#define USED_EVENT(vq)      ((vq)->avail + 4 + 2u * (vq)->size)
#define USED_IDX(vq)        ((vq)->used + 2)
#define USED_ELEM(vq, i)    ((vq)->used + 4 + 8u * ((i) % (vq)->size))
#define AVAIL_EVENT(vq)     ((vq)->used + 4 + 8u * (vq)->size)

static void lvq_init(struct lvq *vq, struct vpci_drv *d, unsigned int q, uint16_t size, uint64_t desc,
		     uint64_t avail, uint64_t used, bool callback)
{
	memset(vq, 0, sizeof(*vq));
	vq->d = d, vq->q = q, vq->size = size;
	vq->desc = desc, vq->avail = avail, vq->used = used;
	/* No callback (the IOMMU's request queue): interrupts off for good;
	 * with EVENT_IDX nothing is written (used_event stays 0). */
	vq->no_interrupt = !callback;
}

/* virtqueue_add: the chain at `head` is already in the table. */
static void lvq_add(struct lvq *vq, uint16_t head)
{
	store16(AVAIL_RING(vq, vq->avail_idx_shadow), head);
	__atomic_thread_fence(__ATOMIC_RELEASE);   /* virtio_wmb */
	vq->avail_idx_shadow++;
	store16(AVAIL_IDX(vq), vq->avail_idx_shadow);
	vq->num_added++;
}

static bool need_event(uint16_t event_idx, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old);
}

/* virtqueue_kick_prepare */
static bool lvq_kick_prepare(struct lvq *vq)
{
	uint16_t old, new_idx;
	bool kick;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);   /* virtio_mb */
	old = (uint16_t)(vq->avail_idx_shadow - vq->num_added);
	new_idx = vq->avail_idx_shadow;
	vq->num_added = 0;
	kick = need_event(load16(AVAIL_EVENT(vq)), new_idx, old);
	if (kick)
		vq->kicks++;
	else
		vq->kicks_suppressed++;
	return kick;
}

/* virtqueue_notify: an MMIO write to the queue's notify address. */
static void lvq_notify(struct lvq *vq)
{
	vpci_wr(vq->d, VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * vq->q, 2, vq->q);
}

static bool lvq_more_used(struct lvq *vq)
{
	return vq->last_used_idx != load16(USED_IDX(vq));
}

/* virtqueue_get_buf: the head of the next used entry, or -1. */
static int lvq_get_buf(struct lvq *vq, uint32_t *len)
{
	struct vring_used_elem *e;
	uint16_t head;

	if (!lvq_more_used(vq))
		return -1;
	__atomic_thread_fence(__ATOMIC_ACQUIRE);   /* virtio_rmb */
	e = guest_mem_ptr(&mem, USED_ELEM(vq, vq->last_used_idx), sizeof(*e));
	head = (uint16_t)le32toh(e->id);
	*len = le32toh(e->len);
	vq->last_used_idx++;
	/* Callbacks on: tell the device where the driver is (virtio_store_mb). */
	if (!vq->no_interrupt) {
		store16(USED_EVENT(vq), vq->last_used_idx);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
	}
	return head;
}

/* virtqueue_disable_cb, with its used_event hack and event_triggered. */
static void lvq_disable_cb(struct lvq *vq)
{
	if (!vq->no_interrupt) {
		vq->no_interrupt = true;
		if (vq->event_triggered)
			return;
		store16(USED_EVENT(vq), 0);
	}
}

/* virtqueue_enable_cb: true if nothing is pending (wait for an interrupt). */
static bool lvq_enable_cb(struct lvq *vq)
{
	if (vq->event_triggered)
		vq->event_triggered = false;
	vq->no_interrupt = false;
	store16(USED_EVENT(vq), vq->last_used_idx);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);   /* virtqueue_poll: virtio_mb */
	return !lvq_more_used(vq);
}

static void lvq_describe(struct lvq *vq, const struct virtqueue *dev)
{
	diag("%s queue %u: avail idx %u, device's last_avail %u, avail_event %u; used idx %u, "
	     "driver's last_used %u, used_event %u, device's signalled_used %u; "
	     "kicks %llu (%llu suppressed), device notifies %llu, interrupts %llu",
	     vq->d->vd->ops->name, vq->q, load16(AVAIL_IDX(vq)), dev->last_avail,
	     load16(AVAIL_EVENT(vq)), load16(USED_IDX(vq)), vq->last_used_idx,
	     load16(USED_EVENT(vq)), dev->signalled_used, (unsigned long long)vq->kicks,
	     (unsigned long long)vq->kicks_suppressed, (unsigned long long)vq->d->vd->notifies,
	     (unsigned long long)vq->d->vd->interrupts);
}

/* --- virtio-blk: virtio_queue_rq() on one CPU, virtblk_done() on another */

static struct lvq blkq;
static struct vpci_drv blk_drv;
static pthread_mutex_t blk_lock = PTHREAD_MUTEX_INITIALIZER;   /* vblk->vqs[0].lock */
static pthread_cond_t blk_room = PTHREAD_COND_INITIALIZER;      /* the hw queue restarted */
static bool slot_busy[BLK_SLOTS];
static unsigned int slot_sector[BLK_SLOTS];
static unsigned int blk_rounds, blk_submitted, blk_completed, blk_bad;
static bool stop_all;

static uint8_t sector_byte(unsigned int sector)
{
	return (uint8_t)(sector * 37u + 11u);
}

static void blk_prepare(unsigned int slot, unsigned int sector)
{
	uint64_t buf = BLK_BUF + 0x1000ull * slot;
	struct virtio_blk_outhdr *h = guest_mem_ptr(&mem, buf, sizeof(*h));
	uint16_t head = (uint16_t)(3 * slot);

	h->type = htole32(VIRTIO_BLK_T_IN);
	h->ioprio = 0;
	h->sector = htole64(sector);
	memset(guest_mem_ptr(&mem, buf + 0x200, 512), 0, 512);
	*(uint8_t *)guest_mem_ptr(&mem, buf + 0x400, 1) = 0xff;
	vring_set_desc(&mem, BLK_DESC, head, buf, sizeof(*h), VRING_DESC_F_NEXT, head + 1);
	vring_set_desc(&mem, BLK_DESC, head + 1, buf + 0x200, 512,
		       VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, head + 2);
	vring_set_desc(&mem, BLK_DESC, head + 2, buf + 0x400, 1, VRING_DESC_F_WRITE, 0);
	slot_sector[slot] = sector;
}

static bool blk_check(unsigned int slot, uint32_t len)
{
	uint64_t buf = BLK_BUF + 0x1000ull * slot;
	const uint8_t *data = guest_mem_ptr(&mem, buf + 0x200, 512);
	uint8_t want = sector_byte(slot_sector[slot]);

	if (len != 513 || *(uint8_t *)guest_mem_ptr(&mem, buf + 0x400, 1) != VIRTIO_BLK_S_OK)
		return false;
	for (unsigned int i = 0; i < 512; i++)
		if (data[i] != want)
			return false;
	return true;
}

/* The submitting CPU: batches of 1..free requests, a kick decided at the
 * last one (bd->last), the queue stopped while the ring is full. */
static void *blk_submitter(void *arg)
{
	unsigned int seed = 1;

	(void)arg;
	pthread_mutex_lock(&blk_lock);
	while (blk_submitted < blk_rounds && !stop_all) {
		unsigned int free_slots = 0, batch;
		bool kick;

		for (unsigned int s = 0; s < BLK_SLOTS; s++)
			free_slots += !slot_busy[s];
		if (!free_slots) {
			pthread_cond_wait(&blk_room, &blk_lock);
			continue;
		}
		batch = 1 + (unsigned int)rand_r(&seed) % free_slots;
		for (unsigned int s = 0; s < BLK_SLOTS && batch && blk_submitted < blk_rounds; s++) {
			if (slot_busy[s])
				continue;
			blk_prepare(s, blk_submitted % BLK_SECTORS);
			slot_busy[s] = true;
			lvq_add(&blkq, (uint16_t)(3 * s));
			blk_submitted++;
			batch--;
		}
		kick = lvq_kick_prepare(&blkq);
		pthread_mutex_unlock(&blk_lock);
		if (kick)
			lvq_notify(&blkq);
		if (rand_r(&seed) % 4 == 0)
			sched_yield();   /* let completions in between batches */
		pthread_mutex_lock(&blk_lock);
	}
	pthread_mutex_unlock(&blk_lock);
	return NULL;
}

/* The vector's Mask bit in the MSI-X table (Linux sets it around a change
 * of the message, and handle_edge_irq() sets it for an interrupt that
 * arrives while its handler runs elsewhere). */
static void blk_vector_mask(bool masked)
{
	vpci_wr(&blk_drv, VPCI_MSIX_TABLE + 16 * 1 + 12, 4, masked);
}

/* The CPU that takes the queue's MSI-X: vring_interrupt() + virtblk_done(),
 * now and then with the vector masked meanwhile. */
static void *blk_irq_handler(void *arg)
{
	unsigned int seed = 2;

	(void)arg;
	while (!__atomic_load_n(&stop_all, __ATOMIC_SEQ_CST)) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = 0 };
		bool masked;
		int head;
		uint32_t len;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		if (sem_timedwait(&blk_irq, &ts))
			continue;   /* only to look at stop_all: no polling of the ring */
		masked = rand_r(&seed) % 4 == 0;
		if (masked)
			blk_vector_mask(true);
		pthread_mutex_lock(&blk_lock);
		if (!lvq_more_used(&blkq)) {   /* "virtqueue interrupt with no work" */
			pthread_mutex_unlock(&blk_lock);
			if (masked)
				blk_vector_mask(false);
			continue;
		}
		blkq.event_triggered = true;
		do {
			lvq_disable_cb(&blkq);
			while ((head = lvq_get_buf(&blkq, &len)) >= 0) {
				unsigned int s = (unsigned int)head / 3;

				if (head % 3 || s >= BLK_SLOTS || !slot_busy[s]) {
					blk_bad++;
					continue;
				}
				if (!blk_check(s, len))
					blk_bad++;
				slot_busy[s] = false;
				blk_completed++;
			}
		} while (!lvq_enable_cb(&blkq));
		pthread_cond_broadcast(&blk_room);   /* blk_mq_start_stopped_hw_queues */
		pthread_mutex_unlock(&blk_lock);
		if (masked)
			blk_vector_mask(false);
	}
	return NULL;
}

/* --- virtio-iommu: __viommu_add_req / __viommu_sync_req ----------------- */

static struct lvq reqq;
static struct vpci_drv iommu_drv;
static pthread_mutex_t request_lock = PTHREAD_MUTEX_INITIALIZER;   /* spin_lock_irqsave */
static bool req_busy[REQ_SLOTS];
static size_t req_tail_off[REQ_SLOTS];
static unsigned int req_outstanding, req_bad, req_done;
static unsigned int iommu_rounds[2];     /* map-then-unmap rounds each IOMMU CPU finished */
static bool req_stalled;

static uint64_t req_buf(unsigned int slot)
{
	return REQ_BUF + (uint64_t)REQ_SLOT_SIZE * slot;
}

/* __viommu_sync_req: kick, then spin until every request added is used. */
static void sync_req_locked(void)
{
	uint64_t start = now_ns();

	if (lvq_kick_prepare(&reqq))
		lvq_notify(&reqq);
	while (req_outstanding) {
		uint32_t len;
		int head = lvq_get_buf(&reqq, &len);
		struct virtio_iommu_req_tail *tail;
		unsigned int s;

		if (head < 0) {
			/* Another CPU saw the stall already, or the test is over. */
			if (__atomic_load_n(&req_stalled, __ATOMIC_SEQ_CST) ||
			    __atomic_load_n(&stop_all, __ATOMIC_SEQ_CST))
				return;
			if (now_ns() - start > STALL_NS) {
				__atomic_store_n(&req_stalled, true, __ATOMIC_SEQ_CST);
				return;
			}
			continue;
		}
		s = (unsigned int)head / 2;
		if (head % 2 || s >= REQ_SLOTS || !req_busy[s]) {
			req_bad++;
			continue;
		}
		tail = guest_mem_ptr(&mem, req_buf(s) + req_tail_off[s], sizeof(*tail));
		if (len != sizeof(*tail) || tail->status != VIRTIO_IOMMU_S_OK)
			req_bad++;
		req_busy[s] = false;
		req_outstanding--;
		__atomic_fetch_add(&req_done, 1, __ATOMIC_SEQ_CST);
	}
}

/* __viommu_add_req: a request of `len` bytes whose last 4 are its tail. */
static void add_req_locked(const void *req, size_t len)
{
	unsigned int s;

	for (;;) {
		for (s = 0; s < REQ_SLOTS && req_busy[s]; s++)
			;
		if (s < REQ_SLOTS)
			break;
		sync_req_locked();   /* the queue is full: -ENOSPC, sync and retry */
		if (__atomic_load_n(&req_stalled, __ATOMIC_SEQ_CST))
			return;
	}
	memcpy(guest_mem_ptr(&mem, req_buf(s), len), req, len);
	req_tail_off[s] = len - 4;
	vring_set_desc(&mem, REQ_DESC, 2 * s, req_buf(s), (uint32_t)len - 4, VRING_DESC_F_NEXT, 2 * s + 1);
	vring_set_desc(&mem, REQ_DESC, 2 * s + 1, req_buf(s) + len - 4, 4, VRING_DESC_F_WRITE, 0);
	req_busy[s] = true;
	req_outstanding++;
	lvq_add(&reqq, (uint16_t)(2 * s));
}

static void viommu_add_req(const void *req, size_t len)
{
	pthread_mutex_lock(&request_lock);
	add_req_locked(req, len);
	pthread_mutex_unlock(&request_lock);
}

static void viommu_sync_req(void)
{
	pthread_mutex_lock(&request_lock);
	sync_req_locked();
	pthread_mutex_unlock(&request_lock);
}

static void send_map(uint64_t iova, uint64_t end, uint64_t phys)
{
	struct virtio_iommu_req_map r = {
		.head.type = VIRTIO_IOMMU_T_MAP,
		.domain = htole32(DOMAIN),
		.virt_start = htole64(iova),
		.virt_end = htole64(end),
		.phys_start = htole64(phys),
		.flags = htole32(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE),
	};

	viommu_add_req(&r, sizeof(r));
}

static void send_unmap(uint64_t iova, uint64_t end)
{
	struct virtio_iommu_req_unmap r = {
		.head.type = VIRTIO_IOMMU_T_UNMAP,
		.domain = htole32(DOMAIN),
		.virt_start = htole64(iova),
		.virt_end = htole64(end),
	};

	viommu_add_req(&r, sizeof(r));
}

/* A CPU mapping and unmapping its own pages in the disk's domain: strict
 * (sync after each request, as iommu_iotlb_sync_map / iotlb_sync do) or
 * lazy (a batch of UNMAPs, then one sync, as the flush queue does). */
struct iommu_cpu {
	unsigned int id;
	bool lazy;
};

static void *iommu_cpu(void *arg)
{
	const struct iommu_cpu *c = arg;
	uint64_t base = SCRATCH_IOVA + 0x1000000ull * c->id;
	unsigned int round = 0;

	while (!__atomic_load_n(&stop_all, __ATOMIC_SEQ_CST) &&
	       !__atomic_load_n(&req_stalled, __ATOMIC_SEQ_CST)) {
		unsigned int n = c->lazy ? 1 + round % 40 : 1;

		for (unsigned int i = 0; i < n; i++) {
			send_map(base + 0x1000ull * i, base + 0x1000ull * i + 0xfff,
				 SCRATCH_PHYS + 0x1000ull * ((c->id * 64 + i) % 256));
			if (!c->lazy)
				viommu_sync_req();
		}
		if (c->lazy)
			viommu_sync_req();
		for (unsigned int i = 0; i < n; i++) {
			send_unmap(base + 0x1000ull * i, base + 0x1000ull * i + 0xfff);
			if (!c->lazy)
				viommu_sync_req();
		}
		if (c->lazy)
			viommu_sync_req();
		round++;
		__atomic_store_n(&iommu_rounds[c->id], round, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/* --- the machine ---------------------------------------------------------- */

static int make_disk(char *path)
{
	uint8_t sector[512];
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	for (unsigned int s = 0; s < BLK_SECTORS; s++) {
		memset(sector, sector_byte(s), sizeof(sector));
		if (write(fd, sector, sizeof(sector)) != (ssize_t)sizeof(sector))
			return -1;
	}
	return fd;
}

int main(void)
{
	static struct virtio_iommu vi;
	static struct virtio_blk blk;
	static struct iommu_cpu cpus[2] = { { .id = 0, .lazy = false }, { .id = 1, .lazy = true } };
	char path[] = "/tmp/virtio-notify-t.XXXXXX", disk[64];
	pthread_t sub, irq, ic[2];
	struct viommu_config cfg;
	struct viommu *v;
	uint64_t blk_progress, iommu_progress, last_iommu_done = 0;
	unsigned int last_blk_done = 0;
	const char *rounds = getenv("VIRTIO_NOTIFY_ROUNDS");
	int fd;

	plan_lazy();
	log_max_level = LOG_ERR;
	blk_rounds = rounds ? (unsigned int)strtoul(rounds, NULL, 0) : 20000;
	if (guest_mem_init(&mem, MEM_SIZE) || sem_init(&blk_irq, 0, 0))
		bail("setup");
	host.mem = &mem;
	pci_bus_init(&bus);

	viommu_default_config(&cfg);
	v = viommu_create(&cfg, &ram_ops, &mem);
	if (!v)
		bail("viommu");
	is_int(0, virtio_iommu_create(&vi, &bus, SLOT_IOMMU, &host, v), "a virtio-iommu");
	fd = make_disk(path);
	if (fd < 0)
		bail("disk image");
	snprintf(disk, sizeof(disk), "/proc/self/fd/%d", fd);
	is_int(0, virtio_blk_create(&blk, &bus, SLOT_BLK, &host, v, disk, true, 1),
	       "a read-only virtio-blk behind it");
	close(fd);
	if (viommu_add_endpoint(v, blk.vd.dma.endpoint, "virtio-blk") ||
	    dma_attach_iommu(&blk.vd.dma, v))
		bail("virtio-blk's port on the IOMMU");
	is_int(0, virtio_pci_start(&vi.vd), "the IOMMU's I/O thread runs");
	is_int(0, virtio_pci_start(&blk.vd), "the disk's I/O thread runs");

	/* The IOMMU: request queue without a vector (Linux gives it no
	 * callback), event queue set up but left without buffers. */
	drv_probe(&iommu_drv, &vi.vd, DEV_IOMMU);
	vpci_queue(&iommu_drv, 0, IOMMU_QSZ, REQ_DESC, REQ_AVAIL, REQ_USED, VIRTIO_MSI_NO_VECTOR);
	vpci_queue(&iommu_drv, 1, IOMMU_QSZ, EVT_DESC, EVT_AVAIL, EVT_USED, 2);
	vpci_driver_ok(&iommu_drv);
	lvq_init(&reqq, &iommu_drv, 0, IOMMU_QSZ, REQ_DESC, REQ_AVAIL, REQ_USED, false);
	{
		struct virtio_iommu_req_attach a = {
			.head.type = VIRTIO_IOMMU_T_ATTACH,
			.domain = htole32(DOMAIN),
			.endpoint = htole32(blk.vd.dma.endpoint),
		};

		viommu_add_req(&a, sizeof(a));
		send_map(BLK_IOVA_START, BLK_IOVA_END, BLK_IOVA_START);
		viommu_sync_req();
		ok(!req_stalled && !req_bad && req_done == 2, "the disk is attached, its rings and "
		   "buffers mapped (identity)");
	}

	drv_probe(&blk_drv, &blk.vd, DEV_BLK);
	vpci_queue(&blk_drv, 0, BLK_QSZ, BLK_DESC, BLK_AVAIL, BLK_USED, 1);
	vpci_driver_ok(&blk_drv);
	lvq_init(&blkq, &blk_drv, 0, BLK_QSZ, BLK_DESC, BLK_AVAIL, BLK_USED, true);
	lvq_enable_cb(&blkq);

	if (pthread_create(&irq, NULL, blk_irq_handler, NULL) ||
	    pthread_create(&sub, NULL, blk_submitter, NULL) ||
	    pthread_create(&ic[0], NULL, iommu_cpu, &cpus[0]) ||
	    pthread_create(&ic[1], NULL, iommu_cpu, &cpus[1]))
		bail("threads");

	/* Wait for the disk's requests and IOMMU_MIN_ROUNDS rounds of each
	 * IOMMU CPU.  Either side without progress for STALL_NS (while it has
	 * work left) is a stall. */
	blk_progress = iommu_progress = now_ns();
	for (;;) {
		unsigned int blk_done, rounds0, rounds1;
		uint64_t iommu_done, t;

		usleep(10000);
		t = now_ns();
		pthread_mutex_lock(&blk_lock);
		blk_done = blk_completed;
		pthread_mutex_unlock(&blk_lock);
		iommu_done = __atomic_load_n(&req_done, __ATOMIC_SEQ_CST);
		rounds0 = __atomic_load_n(&iommu_rounds[0], __ATOMIC_SEQ_CST);
		rounds1 = __atomic_load_n(&iommu_rounds[1], __ATOMIC_SEQ_CST);
		if ((blk_done >= blk_rounds && rounds0 >= IOMMU_MIN_ROUNDS && rounds1 >= IOMMU_MIN_ROUNDS) ||
		    __atomic_load_n(&req_stalled, __ATOMIC_SEQ_CST))
			break;
		if (blk_done != last_blk_done)
			last_blk_done = blk_done, blk_progress = t;
		if (iommu_done != last_iommu_done)
			last_iommu_done = iommu_done, iommu_progress = t;
		if ((blk_done < blk_rounds && t - blk_progress > STALL_NS) ||
		    (t - iommu_progress > STALL_NS))
			break;
	}
	__atomic_store_n(&stop_all, true, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&blk_lock);
	pthread_cond_broadcast(&blk_room);
	pthread_mutex_unlock(&blk_lock);
	pthread_join(sub, NULL);
	pthread_join(irq, NULL);
	pthread_join(ic[0], NULL);
	pthread_join(ic[1], NULL);

	ok(!req_stalled, "no virtio-iommu request left unanswered (__viommu_sync_req returns)");
	ok(blk_completed == blk_rounds, "all %u virtio-blk requests completed (no lost kick, no "
	   "lost interrupt): %u did", blk_rounds, blk_completed);
	ok(iommu_rounds[0] >= IOMMU_MIN_ROUNDS && iommu_rounds[1] >= IOMMU_MIN_ROUNDS,
	   "both IOMMU CPUs went on mapping and unmapping (%u strict and %u lazy rounds)",
	   iommu_rounds[0], iommu_rounds[1]);
	if (blk_completed != blk_rounds || req_stalled || iommu_rounds[0] < IOMMU_MIN_ROUNDS ||
	    iommu_rounds[1] < IOMMU_MIN_ROUNDS) {
		lvq_describe(&blkq, &blk.vd.vq[0]);
		lvq_describe(&reqq, &vi.vd.vq[0]);
		log_max_level = LOG_INFO;   /* what vmm says at its --timeout */
		virtio_pci_dump_state(&blk.vd, "stalled");
		virtio_pci_dump_state(&vi.vd, "stalled");
	}
	is_int(0, blk_bad, "every completed read has status OK and the sector's bytes");
	is_int(0, req_bad, "every IOMMU request answered S_OK");
	is_int(0, __atomic_load_n(&config_msis, __ATOMIC_SEQ_CST),
	       "no configuration interrupt (no DEVICE_NEEDS_RESET)");
	ok(blkq.kicks_suppressed > 0, "EVENT_IDX suppressed some kicks (%llu of %llu)",
	   (unsigned long long)blkq.kicks_suppressed,
	   (unsigned long long)(blkq.kicks + blkq.kicks_suppressed));
	diag("virtio-blk: %llu kicks sent, %llu suppressed, %u MSI-X messages for %u requests; "
	     "virtio-iommu: %u requests", (unsigned long long)blkq.kicks,
	     (unsigned long long)blkq.kicks_suppressed, blk_msis, blk_completed, req_done);

	virtio_pci_stop(&blk.vd);
	virtio_pci_stop(&vi.vd);
	dma_detach_iommu(&blk.vd.dma);
	virtio_blk_destroy(&blk);
	free(vi.req_buf);
	free(vi.resp_buf);
	viommu_destroy(v);
	pci_bus_destroy(&bus);
	guest_mem_free(&mem);
	sem_destroy(&blk_irq);
	return 0;
}
