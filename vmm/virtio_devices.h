/* SPDX-License-Identifier: MIT */
#ifndef VMM_VIRTIO_DEVICES_H
#define VMM_VIRTIO_DEVICES_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/disk.h"
#include "vmm/virtio_pci.h"

/* virtio-blk: a raw image file (or block device). */
#define VIRTIO_BLK_MAX_QUEUES 16

struct virtio_blk {
	struct virtio_dev vd;
	struct virtio_dev_ops ops;  /* the queue count is the device's */
	struct disk disk;
	bool read_only;
	uint64_t capacity;         /* 512-byte sectors */
	char serial[21];
	/* BLK_BOUNCE bytes of staging for request data when there is no
	 * bounce account, one per queue (its thread's); on first use. */
	uint8_t *bounce[VIRTIO_BLK_MAX_QUEUES];
	/* Counted by every queue's thread. */
	_Atomic uint64_t reads, writes, flushes, discards, write_zeroes, bytes_read, bytes_written,
		errors;
};

/* Opens path ("PATH[,ro]" already split); one clear error line on failure.
 * queues: request queues (VIRTIO_BLK_F_MQ above 1; clamped to
 * 1..VIRTIO_BLK_MAX_QUEUES), vmm gives one per vCPU.  Each is served by a
 * thread of its own with its own port on the IOMMU (the transport's
 * queue_threads): the guest submits on each CPU's own queue and the host
 * serves the queues in parallel. */
int virtio_blk_create(struct virtio_blk *blk, struct pci_bus *bus, unsigned int slot,
		      struct virtio_host *host, struct viommu *iommu, const char *path, bool ro,
		      unsigned int queues);
void virtio_blk_destroy(struct virtio_blk *blk);

/* virtio-rng: entropy from getrandom(2). */
struct virtio_rng {
	struct virtio_dev vd;
	uint64_t bytes;
};

int virtio_rng_create(struct virtio_rng *rng, struct pci_bus *bus, unsigned int slot,
		      struct virtio_host *host, struct viommu *iommu);

/* virtio-iommu: the transport side of viommu/ (request and event queues). */
struct virtio_iommu {
	struct virtio_dev vd;
	struct viommu *viommu;
	uint8_t *req_buf, *resp_buf;
	uint64_t requests, events, events_dropped;
};

int virtio_iommu_create(struct virtio_iommu *vi, struct pci_bus *bus, unsigned int slot,
			struct virtio_host *host, struct viommu *viommu);

#endif
