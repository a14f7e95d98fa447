/* SPDX-License-Identifier: MIT */
/*
 * The virtio-iommu device's transport side: request queue and event queue
 * over virtio-pci.  What the requests mean is viommu/'s business; this file
 * moves bytes.  The IOMMU's own queues are not behind an IOMMU: their
 * addresses are guest-physical (still bounds-checked by dma_read/write).
 */
#include "vmm/virtio_devices.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_ids.h>

#define REQUESTQ 0
#define EVENTQ   1
#define REQ_MAX  4096             /* far above any valid request */
#define RESP_MAX (4096 + 64)      /* probe_size (<= 4096) + tail */

static uint64_t iommu_features(struct virtio_dev *vd)
{
	struct virtio_iommu *vi = vd->priv;

	return viommu_device_features(vi->viommu);
}

static void iommu_read_config(struct virtio_dev *vd, unsigned int offset, void *buf, unsigned int len)
{
	struct virtio_iommu *vi = vd->priv;
	struct virtio_iommu_config cfg;

	viommu_read_config(vi->viommu, &cfg);
	if (offset < sizeof(cfg) && len <= sizeof(cfg) - offset)
		memcpy(buf, (uint8_t *)&cfg + offset, len);
}

static void iommu_write_config(struct virtio_dev *vd, unsigned int offset, const void *buf, unsigned int len)
{
	struct virtio_iommu *vi = vd->priv;

	viommu_write_config(vi->viommu, offset, buf, len);
}

static void handle_requests(struct virtio_iommu *vi)
{
	struct virtqueue *vq = &vi->vd.vq[REQUESTQ];
	static __thread struct vq_elem e;

	while (vq_pop(vq, &e) == 1) {
		size_t rlen = e.readable, wlen = e.writable, n = 0;

		vi->requests++;
		if (rlen > REQ_MAX)
			rlen = REQ_MAX;   /* the library sees a wrong size and says so */
		if (wlen > RESP_MAX)
			wlen = RESP_MAX;
		if (vq_elem_read(vq, &e, 0, vi->req_buf, rlen) == 0) {
			n = viommu_handle_request(vi->viommu, vi->req_buf, rlen, vi->resp_buf, wlen);
			if (n && vq_elem_write(vq, &e, 0, vi->resp_buf, n))
				n = 0;
		}
		/* A used entry that cannot be written breaks the queue: taken,
		 * done, never answered, the driver would wait for it forever
		 * (__viommu_sync_req); the transport reports DEVICE_NEEDS_RESET. */
		if (vq_push(vq, e.head, (uint32_t)n))
			return;
		virtio_queue_interrupt(&vi->vd, REQUESTQ);
	}
}

/* Deliver queued fault records into the buffers the driver posted. */
static void deliver_faults(struct virtio_iommu *vi)
{
	struct virtqueue *vq = &vi->vd.vq[EVENTQ];
	static __thread struct vq_elem e;

	if (!vq->enabled || !(vi->vd.status & 4 /* DRIVER_OK */))
		return;
	while (viommu_has_fault(vi->viommu)) {
		struct virtio_iommu_fault f;
		uint32_t written = 0;

		/* No buffer: the event stays queued (bounded) in viommu.  A
		 * broken queue is reported below (and by virtio_run_queue). */
		if (vq_pop(vq, &e) != 1)
			break;
		if (!viommu_pop_fault(vi->viommu, &f))
			memset(&f, 0, sizeof(f));
		if (e.writable >= sizeof(f) && vq_elem_write(vq, &e, 0, &f, sizeof(f)) == 0) {
			written = sizeof(f);
			vi->events++;
		} else {
			vi->events_dropped++;
		}
		if (vq_push(vq, e.head, written))
			break;   /* the driver's buffer is gone and never comes back */
		virtio_queue_interrupt(&vi->vd, EVENTQ);
	}
	if (vq->broken)
		virtio_needs_reset(&vi->vd, vq->broken_why);
}

static void iommu_notify(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_iommu *vi = vd->priv;

	if (q == REQUESTQ)
		handle_requests(vi);
	else
		deliver_faults(vi);
}

/* Faults queued by a translation: delivered as a run of the event queue
 * (its lock, and the transport's checks that the queue may be served). */
static void iommu_kicked(struct virtio_dev *vd)
{
	virtio_run_queue(vd, EVENTQ, false);
}

static void iommu_reset(struct virtio_dev *vd)
{
	struct virtio_iommu *vi = vd->priv;

	/* Domains, mappings, attachments and bypass go with the device. */
	if (vi->viommu)
		viommu_reset(vi->viommu);
}

static const struct virtio_dev_ops iommu_ops = {
	.name = "virtio-iommu",
	.device_id = VIRTIO_ID_IOMMU,
	.class_code = 0x088000,   /* base system peripheral, other */
	.num_queues = 2,
	.queue_size = 64,
	.config_size = sizeof(struct virtio_iommu_config),
	.sync_notify = true,
	.features = iommu_features,
	.read_config = iommu_read_config,
	.write_config = iommu_write_config,
	.queue_notify = iommu_notify,
	.kicked = iommu_kicked,
	.reset = iommu_reset,
};

int virtio_iommu_create(struct virtio_iommu *vi, struct pci_bus *bus, unsigned int slot,
			struct virtio_host *host, struct viommu *viommu)
{
	memset(vi, 0, sizeof(*vi));
	vi->viommu = viommu;
	vi->req_buf = malloc(REQ_MAX);
	vi->resp_buf = malloc(RESP_MAX);
	if (!vi->req_buf || !vi->resp_buf)
		return -ENOMEM;
	return virtio_pci_init(&vi->vd, bus, slot, host, NULL, &iommu_ops, vi);
}
