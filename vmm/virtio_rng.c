/* SPDX-License-Identifier: MIT */
/* virtio-rng (virtio 5.4): fills each device-writable buffer from getrandom(2). */
#include "vmm/virtio_devices.h"
#include "vmm/log.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include <linux/virtio_ids.h>

#define RNG_CHUNK 4096

static void rng_notify(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_rng *rng = vd->priv;
	struct virtqueue *vq = &vd->vq[q];
	static __thread struct vq_elem e;
	uint8_t buf[RNG_CHUNK];

	while (vq_pop(vq, &e) == 1) {
		/* At most one chunk per request: the driver asks again. */
		size_t n = e.writable < sizeof(buf) ? (size_t)e.writable : sizeof(buf);
		ssize_t got = getrandom(buf, n, 0);
		uint32_t written = 0;

		if (got > 0 && vq_elem_write(vq, &e, 0, buf, (size_t)got) == 0)
			written = (uint32_t)got;
		rng->bytes += written;
		if (vq_push(vq, e.head, written))
			break;   /* the queue is broken: the transport reports it */
		virtio_queue_interrupt(vd, q);
	}
}

static const struct virtio_dev_ops rng_ops = {
	.name = "virtio-rng",
	.device_id = VIRTIO_ID_RNG,
	.class_code = 0x00ff00,   /* unclassified */
	.num_queues = 1,
	.queue_size = 64,
	.queue_notify = rng_notify,
};

int virtio_rng_create(struct virtio_rng *rng, struct pci_bus *bus, unsigned int slot,
		      struct virtio_host *host, struct viommu *iommu)
{
	memset(rng, 0, sizeof(*rng));
	return virtio_pci_init(&rng->vd, bus, slot, host, iommu, &rng_ops, rng);
}
