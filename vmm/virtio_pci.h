/* SPDX-License-Identifier: MIT */
#ifndef VMM_VIRTIO_PCI_H
#define VMM_VIRTIO_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/dma.h"
#include "vmm/pci.h"
#include "vmm/virtqueue.h"

/*
 * virtio over PCI, modern (VERSION_1) only: common/notify/ISR/device
 * configuration capabilities in BAR0, MSI-X (table and PBA in BAR0), one
 * eventfd per queue (a KVM ioeventfd where the host has them), and one I/O
 * thread per device that runs the device model with the device lock held.
 * The VMM side (KVM) is reached only through struct virtio_host, so the
 * transport and the device models stay KVM-free.
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
	void (*read_config)(struct virtio_dev *vd, unsigned int offset, void *buf, unsigned int len);
	void (*write_config)(struct virtio_dev *vd, unsigned int offset, const void *buf, unsigned int len);
	/* A queue was kicked: I/O thread, device lock held, DRIVER_OK set. */
	void (*queue_notify)(struct virtio_dev *vd, unsigned int q);
	/* virtio_kick() was called: I/O thread, device lock held. */
	void (*kicked)(struct virtio_dev *vd);
	/* Device reset (status 0 or VMM stop), device lock held. */
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
	int (*start)(struct virtio_dev *vd);
	void (*stop)(struct virtio_dev *vd);
};

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct virtio_dev {
	struct pci_device pci;
	const struct virtio_dev_ops *ops;
	void *priv;
	struct virtio_host *host;
	struct dma_space dma;
	bool behind_iommu;
	pthread_mutex_t lock;

	uint64_t device_features, driver_features;
	uint32_t dfselect, gfselect;
	uint8_t status, config_generation, isr;
	uint16_t queue_select, msix_config;
	struct virtqueue vq[VIRTIO_MAX_QUEUES];

	struct msix_entry msix[VIRTIO_MSIX_VECTORS];
	uint32_t msix_pending;        /* bitmap, one bit per vector */
	/* PCI_COMMAND_MASTER as the guest last wrote it: without it the
	 * function does no DMA and sends no MSI-X message. */
	bool bus_master;

	int notify_fd[VIRTIO_MAX_QUEUES];
	bool notify_ioeventfd;        /* notify_fd is a KVM ioeventfd */
	uint64_t notify_gpa;          /* where the ioeventfds are registered, 0: nowhere */
	int kick_fd, stop_fd;
	pthread_t thread;
	bool thread_started;
	bool device_threads_started;   /* ops->start() succeeded */

	uint64_t interrupts, notifies, resets;
};

/* Set up the PCI function (capabilities, BAR, MSI-X) and register it in `slot`.
 * iommu != NULL: the device offers VIRTIO_F_ACCESS_PLATFORM and all its DMA
 * is translated by that IOMMU with endpoint ID = its BDF. */
int virtio_pci_init(struct virtio_dev *vd, struct pci_bus *bus, unsigned int slot,
		    struct virtio_host *host, struct viommu *iommu,
		    const struct virtio_dev_ops *ops, void *priv);
int virtio_pci_start(struct virtio_dev *vd);
void virtio_pci_stop(struct virtio_dev *vd);
/* After the vCPUs and the device's thread stopped: its status, interrupt
 * and kick counts and each enabled queue's state, for a guest that hung.
 * The driver's ring indices are read only where no IOMMU translates them
 * (a diagnostic must not record DMA-API violations). */
void virtio_pci_dump_state(struct virtio_dev *vd, const char *why);

/* Run the device model on queue q (any thread; takes the device lock),
 * if the driver and bus mastering let it; kicked: for a notification
 * (counted), not for the device's own wake-up (a TAP frame waiting). */
void virtio_run_queue(struct virtio_dev *vd, unsigned int q, bool kicked);
/* The queue may be served now (lock held): DRIVER_OK without
 * NEEDS_RESET, the queue enabled and not broken, bus mastering on. */
bool virtio_queue_ready(const struct virtio_dev *vd, unsigned int q);

/* From the device model (lock held): interrupt for queue q if the driver wants one. */
void virtio_queue_interrupt(struct virtio_dev *vd, unsigned int q);
void virtio_config_interrupt(struct virtio_dev *vd);
/* Wake the device's I/O thread to run ops->kicked (any thread). */
void virtio_kick(struct virtio_dev *vd);
/* Something the guest did cannot be continued: DEVICE_NEEDS_RESET. */
void virtio_needs_reset(struct virtio_dev *vd, const char *why);

static inline bool virtio_has_feature(const struct virtio_dev *vd, unsigned int bit)
{
	return vd->driver_features & (1ull << bit);
}

#endif
