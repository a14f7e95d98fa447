/* SPDX-License-Identifier: MIT */
#ifndef VMM_VIRTIO_PCI_H
#define VMM_VIRTIO_PCI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/dma.h"
#include "vmm/pci.h"
#include "vmm/virtqueue.h"

/*
 * virtio over PCI, modern (VERSION_1) only: common/notify/ISR/device
 * configuration capabilities in BAR0, MSI-X (table and PBA in BAR0), one
 * eventfd per queue (a KVM ioeventfd where the host has them), and one I/O
 * thread per device; a device model may serve some queues from threads of
 * its own (virtio-net: one per queue pair).  Queues run concurrently: a
 * queue run holds its own queue's lock, not the device's (see the locks in
 * struct virtio_dev).  The VMM side (KVM) is reached only through struct
 * virtio_host, so the transport and the device models stay KVM-free.
 */
/* virtio-net with 8 queue pairs and its control queue; msix_pending has
 * a bit per vector. */
#define VIRTIO_MAX_QUEUES 17
#define VIRTIO_MSIX_VECTORS (VIRTIO_MAX_QUEUES + 1)   /* the largest table; a device has queues + 1 */
_Static_assert(VIRTIO_MSIX_VECTORS <= 32, "msix_pending is a 32-bit bitmap");
#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040   /* + virtio device ID: modern device */

/* BAR0 layout. */
#define VPCI_COMMON_OFF  0x0000
#define VPCI_ISR_OFF     0x1000
#define VPCI_DEVICE_OFF  0x2000
#define VPCI_NOTIFY_OFF  0x3000
#define VPCI_NOTIFY_MULT 4
#define VPCI_MSIX_TABLE  0x4000
#define VPCI_MSIX_PBA    0x5000
#define VPCI_BAR_SIZE    0x8000

struct virtio_host {
	int (*signal_msi)(void *opaque, uint64_t addr, uint32_t data);
	int (*ioeventfd)(void *opaque, uint64_t gpa, unsigned int len, int fd, bool assign);
	void *opaque;
	const struct guest_mem *mem;
};

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;
	uint16_t device_id;        /* virtio device type */
	uint32_t class_code;
	unsigned int num_queues;
	uint16_t queue_size;       /* maximum */
	size_t config_size;
	/*
	 * Handle queue notifications on the vCPU that wrote them (an MMIO exit,
	 * no ioeventfd) instead of the I/O thread.  For devices whose driver
	 * busy-waits for each request (the virtio-iommu): the answer is there
	 * when the vCPU resumes, with no thread wake-up in between (measured
	 * in the nested test host: 16 MiB O_DIRECT read through the IOMMU,
	 * 0.4 MiB/s with an ioeventfd + I/O thread, 13 MiB/s synchronous).
	 */
	bool sync_notify;
	uint64_t (*features)(struct virtio_dev *vd);    /* device-specific bits */
	/* A vCPU reads the device configuration: state_lock shared, so
	 * queue runs go on meanwhile -- what they change there (virtio-net's
	 * MAC) needs the device's own lock. */
	void (*read_config)(struct virtio_dev *vd, unsigned int offset, void *buf, unsigned int len);
	/* A vCPU writes it: state_lock exclusive (no queue runs). */
	void (*write_config)(struct virtio_dev *vd, unsigned int offset, const void *buf, unsigned int len);
	/*
	 * Queue q was kicked (or the device woke itself), from
	 * virtio_run_queue(): state_lock shared and vq_lock[q] held,
	 * virtio_queue_ready(q).  Other queues run at the same time on other
	 * threads: state the device model shares between its queues needs
	 * its own protection (an atomic, a lock of the device's, or one
	 * thread serving all the queues that touch it).
	 */
	void (*queue_notify)(struct virtio_dev *vd, unsigned int q);
	/* virtio_kick() was called: I/O thread, no lock held; the queue work
	 * it stands for goes through virtio_run_queue(). */
	void (*kicked)(struct virtio_dev *vd);
	/* Device reset (status 0): state_lock exclusive, so no queue runs
	 * and no queue lock is held by anyone. */
	void (*reset)(struct virtio_dev *vd);
	/*
	 * Queues [0, device_thread_queues) are served by threads of the
	 * device's own (virtio-net: one per queue pair, which also waits on
	 * its TAP queue), started after the transport's I/O thread by
	 * start() and ended by stop() before it; the transport's I/O thread
	 * leaves their notify eventfds (vd->notify_fd[q]) to them.  Such a
	 * thread runs a queue with virtio_run_queue().
	 */
	unsigned int device_thread_queues;
	/*
	 * Every queue is served by a thread of the transport's own, one per
	 * queue (virtio-blk: the guest's per-CPU queues served in parallel),
	 * each with a dma_space of its own: the device's endpoint, IOMMU and
	 * bounce account, and a port of its own on the IOMMU, so that an
	 * UNMAP waits for each thread's DMA window and one queue's DMA never
	 * waits behind another's.  queue_notify then runs on several threads
	 * at once, each holding its own queue's lock only: what the model
	 * shares between its queues must be per queue or atomic.  The
	 * transport's I/O thread keeps kick_fd (kicked()).
	 */
	bool queue_threads;
	int (*start)(struct virtio_dev *vd);
	void (*stop)(struct virtio_dev *vd);
};

struct virtio_queue_thread;

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

/*
 * The locks of a device, outermost first (a thread holding one may take
 * the later ones, never the other way round):
 *
 *   state_lock   rwlock, writers first.  Exclusive: every change of
 *                device-wide state -- common configuration writes (status
 *                and reset, features, queue registers, config vector),
 *                device configuration writes, Bus Master Enable changes,
 *                virtio_pci_dump_state.  Shared: a queue run
 *                (virtio_run_queue, virtio_queue_lock), vCPU reads of
 *                BAR0, MSI-X table and capability accesses.  So a change
 *                of the device waits for the queue runs in flight, and
 *                none starts until it is done; queue runs do not wait for
 *                each other.  Not recursive: a holder never takes it again.
 *   vq_lock[q]   queue q's run state (its part of vq[q], below) and what
 *                the device model keeps for queue q.  Taken after
 *                state_lock (shared).  A thread that holds two takes them
 *                in increasing q.
 *   (a device model's own lock: virtio_net.lock)
 *   msix_lock    the MSI-X table, msix_pending, msix_ctrl, interrupts;
 *                held while a message is decided and sent, so a message
 *                never leaves for a masked vector and a pending bit is
 *                never lost between a queue thread and an unmask.
 *                Innermost: nothing is taken under it.
 *
 * Fields without a note are set before the device starts and only read
 * afterwards.
 */
struct virtio_dev {
	struct pci_device pci;
	const struct virtio_dev_ops *ops;
	void *priv;
	struct virtio_host *host;
	struct dma_space dma;      /* used by the transport's I/O thread, the
				    * vCPUs (sync_notify) and a device model's
				    * queues that have no dma_space of their own */
	bool behind_iommu;

	pthread_rwlock_t state_lock;
	pthread_mutex_t vq_lock[VIRTIO_MAX_QUEUES];
	pthread_mutex_t msix_lock;

	uint64_t device_features;
	/* state_lock exclusive to write, shared to read. */
	uint64_t driver_features;
	uint32_t dfselect, gfselect;
	uint16_t queue_select, msix_config;
	/* PCI_COMMAND_MASTER as the guest last wrote it: without it the
	 * function does no DMA and sends no MSI-X message. */
	bool bus_master;
	uint64_t resets;
	/* state_lock exclusive to write, except NEEDS_RESET: a queue run
	 * (state_lock shared) sets that bit alone, atomically
	 * (virtio_needs_reset).  Read anywhere. */
	_Atomic uint8_t status;
	/* Set from queue runs and read (ISR: read and cleared) by the vCPUs:
	 * atomic. */
	_Atomic uint8_t isr, config_generation;
	/*
	 * vq[q]: the registers the driver sets (size, enabled, desc, avail,
	 * used, msix_vector) and event_idx/indirect are written under
	 * state_lock exclusive; its run state (last_avail, used_idx,
	 * signalled_used*, broken*) under vq_lock[q] (and state_lock shared),
	 * or by a reset under state_lock exclusive alone.
	 */
	struct virtqueue vq[VIRTIO_MAX_QUEUES];

	/* msix_lock. */
	struct msix_entry msix[VIRTIO_MSIX_VECTORS];
	uint32_t msix_pending;        /* bitmap, one bit per vector */
	uint16_t msix_ctrl;           /* the capability's Message Control, as last written */
	_Atomic uint64_t interrupts;  /* written under msix_lock, read anywhere */

	/* Set up by virtio_pci_init/start, torn down by virtio_pci_stop. */
	int notify_fd[VIRTIO_MAX_QUEUES];
	bool notify_ioeventfd;        /* notify_fd is a KVM ioeventfd */
	uint64_t notify_gpa;          /* where the ioeventfds are registered, 0: nowhere */
	int kick_fd, stop_fd;
	pthread_t thread;
	bool thread_started;
	bool device_threads_started;   /* ops->start() succeeded */
	struct virtio_queue_thread *queue_thread;   /* ops->queue_threads: one per queue */

	_Atomic uint64_t notifies;     /* kicks, from any queue thread */
};

/* Set up the PCI function (capabilities, BAR, MSI-X) and register it in `slot`.
 * iommu != NULL: the device offers VIRTIO_F_ACCESS_PLATFORM and all its DMA
 * is translated by that IOMMU with endpoint ID = its BDF. */
int virtio_pci_init(struct virtio_dev *vd, struct pci_bus *bus, unsigned int slot,
		    struct virtio_host *host, struct viommu *iommu,
		    const struct virtio_dev_ops *ops, void *priv);
int virtio_pci_start(struct virtio_dev *vd);
/* For a thread that serves some of vd's queues: a dma_space of its own
 * with the device's memory, IOMMU, endpoint and bounce account, and
 * (behind an IOMMU) a port of its own, so that an UNMAP waits for its DMA
 * window too.  0 or -errno; dma_detach_iommu() closes the port. */
int virtio_dma_clone(struct virtio_dev *vd, struct dma_space *own);
/* Queue q's DMA goes through dma from now on (NULL: the device's own
 * vd->dma); takes state_lock exclusive, so no run of the queue is under
 * way meanwhile. */
void virtio_queue_set_dma(struct virtio_dev *vd, unsigned int q, struct dma_space *dma);
void virtio_pci_stop(struct virtio_dev *vd);
/* After virtio_pci_stop() and any virtio_pci_dump_state(): the device's
 * locks go (for a harness that creates devices again and again). */
void virtio_pci_destroy_locks(struct virtio_dev *vd);
/* After the vCPUs and the device's thread stopped: its status, interrupt
 * and kick counts and each enabled queue's state, for a guest that hung.
 * The driver's ring indices are read only where no IOMMU translates them
 * (a diagnostic must not record DMA-API violations). */
void virtio_pci_dump_state(struct virtio_dev *vd, const char *why);

/* Run the device model on queue q (any thread holding none of the
 * device's locks; takes state_lock shared and vq_lock[q]), if the driver
 * and bus mastering let it; kicked: for a notification (counted), not
 * for the device's own wake-up (a TAP frame waiting). */
void virtio_run_queue(struct virtio_dev *vd, unsigned int q, bool kicked);
/* Hold queue q as a queue run does (state_lock shared, then vq_lock[q]):
 * to look at its run state, or the device model's, from outside a run. */
void virtio_queue_lock(struct virtio_dev *vd, unsigned int q);
void virtio_queue_unlock(struct virtio_dev *vd, unsigned int q);
/* The queue may be served now (state_lock, and vq_lock[q] or state_lock
 * exclusive): DRIVER_OK without NEEDS_RESET, the queue enabled and not
 * broken, bus mastering on. */
bool virtio_queue_ready(const struct virtio_dev *vd, unsigned int q);

/* From queue q's run: interrupt for it if the driver wants one. */
void virtio_queue_interrupt(struct virtio_dev *vd, unsigned int q);
/* With state_lock held (either way), no msix_lock. */
void virtio_config_interrupt(struct virtio_dev *vd);
/* Wake the device's I/O thread to run ops->kicked (any thread, any lock). */
void virtio_kick(struct virtio_dev *vd);
/* Something the guest did cannot be continued: DEVICE_NEEDS_RESET
 * (state_lock held either way, e.g. from a queue run). */
void virtio_needs_reset(struct virtio_dev *vd, const char *why);

/* state_lock held (either way): the features are fixed while it is. */
static inline bool virtio_has_feature(const struct virtio_dev *vd, unsigned int bit)
{
	return vd->driver_features & (1ull << bit);
}

#endif
