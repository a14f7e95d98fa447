/* SPDX-License-Identifier: MIT */
#include "vmm/virtio_pci.h"
#include "vmm/log.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#define MSIX_CTRL_ENABLE  0x8000
#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_ENTRY_MASKED 0x1

static unsigned int msix_cap_offset(const struct virtio_dev *vd)
{
	for (unsigned int off = vd->pci.cfg[PCI_CAPABILITY_LIST]; off; off = vd->pci.cfg[off + 1])
		if (vd->pci.cfg[off] == PCI_CAP_ID_MSIX)
			return off;
	return 0;
}

/* Entries of the device's MSI-X table: one per queue and one for
 * configuration changes.  The capability advertises exactly this many,
 * and only these vectors can be mapped (else NO_VECTOR). */
static unsigned int msix_table_size(const struct virtio_dev *vd)
{
	return vd->ops->num_queues + 1;
}

static uint16_t msix_vector_or_none(const struct virtio_dev *vd, uint32_t v)
{
	return v < msix_table_size(vd) ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

/* Deliver (or leave pending) MSI-X vector v.  msix_lock held (so that
 * an unmask on a vCPU and this decision on a queue thread are ordered),
 * and state_lock either way (bus_master).  The message is sent with the
 * lock held: once a vCPU's mask write returns, no message of the vector
 * is on its way. */
static void msix_fire_locked(struct virtio_dev *vd, uint16_t v)
{
	uint16_t ctrl = vd->msix_ctrl;
	struct msix_entry *e;

	if (v >= msix_table_size(vd))
		return;   /* VIRTIO_MSI_NO_VECTOR: no interrupt */
	e = &vd->msix[v];
	if (!(ctrl & MSIX_CTRL_ENABLE))
		return;   /* no INTx fallback: MSI-X off means no interrupts */
	/* Masked, or the message (a memory write) cannot be sent without
	 * bus mastering: pending until both allow it. */
	if ((ctrl & MSIX_CTRL_MASKALL) || (e->ctrl & MSIX_ENTRY_MASKED) || !vd->bus_master) {
		vd->msix_pending |= 1u << v;
		return;
	}
	atomic_fetch_add_explicit(&vd->interrupts, 1, memory_order_relaxed);
	vd->host->signal_msi(vd->host->opaque, ((uint64_t)e->addr_hi << 32) | e->addr_lo, e->data);
}

static void msix_fire(struct virtio_dev *vd, uint16_t v)
{
	pthread_mutex_lock(&vd->msix_lock);
	msix_fire_locked(vd, v);
	pthread_mutex_unlock(&vd->msix_lock);
}

/* msix_lock held. */
static void msix_deliver_pending(struct virtio_dev *vd)
{
	uint16_t ctrl = vd->msix_ctrl;

	if (!(ctrl & MSIX_CTRL_ENABLE) || (ctrl & MSIX_CTRL_MASKALL) || !vd->bus_master)
		return;
	for (unsigned int v = 0; v < msix_table_size(vd); v++) {
		if ((vd->msix_pending & (1u << v)) && !(vd->msix[v].ctrl & MSIX_ENTRY_MASKED)) {
			vd->msix_pending &= ~(1u << v);
			msix_fire_locked(vd, (uint16_t)v);
		}
	}
}

void virtio_queue_interrupt(struct virtio_dev *vd, unsigned int q)
{
	if (vq_should_notify(&vd->vq[q])) {
		atomic_fetch_or(&vd->isr, 1);
		msix_fire(vd, vd->vq[q].msix_vector);
	}
}

void virtio_config_interrupt(struct virtio_dev *vd)
{
	atomic_fetch_or(&vd->isr, VIRTIO_PCI_ISR_CONFIG);
	atomic_fetch_add(&vd->config_generation, 1);
	msix_fire(vd, vd->msix_config);
}

void virtio_needs_reset(struct virtio_dev *vd, const char *why)
{
	/* Several queue runs may get here at once: one of them reports. */
	uint8_t was = atomic_fetch_or(&vd->status, VIRTIO_CONFIG_S_NEEDS_RESET);

	if (was & VIRTIO_CONFIG_S_NEEDS_RESET)
		return;
	pr_ratelimited(LOG_WARN, "%s (%s): %s: device needs reset", vd->ops->name,
		       pci_bdf_str(pci_device_bdf(&vd->pci)).s, why);
	if (was & VIRTIO_CONFIG_S_DRIVER_OK)
		virtio_config_interrupt(vd);
}

void virtio_kick(struct virtio_dev *vd)
{
	uint64_t one = 1;

	if (write(vd->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_ratelimited(LOG_WARN, "%s: kick: %s", vd->ops->name, strerror(errno));
}

/* Have the I/O thread look at every queue (and run ops->kicked) once:
 * buffers may have been queued while the device could not serve them. */
static void notify_all_queues(struct virtio_dev *vd)
{
	for (unsigned int q = 0; q < vd->ops->num_queues; q++) {
		uint64_t one = 1;

		if (write(vd->notify_fd[q], &one, sizeof(one)) < 0)
			break;
	}
	if (vd->ops->kicked)
		virtio_kick(vd);
}

/* Everything the driver set is forgotten; the device model resets too.
 * state_lock exclusive: no queue run is in flight, none starts. */
static void device_reset(struct virtio_dev *vd)
{
	if (vd->ops->reset)
		vd->ops->reset(vd);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vq_reset(&vd->vq[q]);
	vd->driver_features = 0;
	vd->dfselect = vd->gfselect = 0;
	vd->status = 0;
	vd->isr = 0;
	vd->queue_select = 0;
	vd->msix_config = VIRTIO_MSI_NO_VECTOR;
	pthread_mutex_lock(&vd->msix_lock);
	vd->msix_pending = 0;
	pthread_mutex_unlock(&vd->msix_lock);
	vd->resets++;
}

static void set_status(struct virtio_dev *vd, uint8_t val)
{
	if (val == 0) {
		device_reset(vd);
		return;
	}
	if ((val & VIRTIO_CONFIG_S_FEATURES_OK) && !(vd->status & VIRTIO_CONFIG_S_FEATURES_OK)) {
		/* Refuse what we did not offer, legacy drivers, and a driver
		 * that would bypass the IOMMU by not accepting ACCESS_PLATFORM. */
		if ((vd->driver_features & ~vd->device_features) ||
		    !virtio_has_feature(vd, VIRTIO_F_VERSION_1) ||
		    (vd->behind_iommu && !virtio_has_feature(vd, VIRTIO_F_ACCESS_PLATFORM))) {
			pr_ratelimited(LOG_WARN, "%s: refusing driver features %#llx (offered %#llx)",
				       vd->ops->name, (unsigned long long)vd->driver_features,
				       (unsigned long long)vd->device_features);
			val &= (uint8_t)~VIRTIO_CONFIG_S_FEATURES_OK;
		}
	}
	if ((val & VIRTIO_CONFIG_S_DRIVER_OK) && !(vd->status & VIRTIO_CONFIG_S_DRIVER_OK)) {
		for (unsigned int q = 0; q < vd->ops->num_queues; q++) {
			vd->vq[q].event_idx = virtio_has_feature(vd, VIRTIO_RING_F_EVENT_IDX);
			vd->vq[q].indirect = virtio_has_feature(vd, VIRTIO_RING_F_INDIRECT_DESC);
		}
		notify_all_queues(vd);
	}
	/* NEEDS_RESET is the device's to set, not the driver's to clear. */
	vd->status = (uint8_t)(val | (vd->status & VIRTIO_CONFIG_S_NEEDS_RESET));
}

static struct virtqueue *selected_vq(struct virtio_dev *vd)
{
	return vd->queue_select < vd->ops->num_queues ? &vd->vq[vd->queue_select] : NULL;
}

static uint64_t common_read(struct virtio_dev *vd, unsigned int off, unsigned int size)
{
	struct virtqueue *vq = selected_vq(vd);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: return vd->dfselect;
	case VIRTIO_PCI_COMMON_DF:
		return vd->dfselect == 0 ? (uint32_t)vd->device_features :
		       vd->dfselect == 1 ? (uint32_t)(vd->device_features >> 32) : 0;
	case VIRTIO_PCI_COMMON_GFSELECT: return vd->gfselect;
	case VIRTIO_PCI_COMMON_GF:
		return vd->gfselect == 0 ? (uint32_t)vd->driver_features :
		       vd->gfselect == 1 ? (uint32_t)(vd->driver_features >> 32) : 0;
	case VIRTIO_PCI_COMMON_MSIX: return vd->msix_config;
	case VIRTIO_PCI_COMMON_NUMQ: return vd->ops->num_queues;
	case VIRTIO_PCI_COMMON_STATUS: return vd->status;
	case VIRTIO_PCI_COMMON_CFGGENERATION: return vd->config_generation;
	case VIRTIO_PCI_COMMON_Q_SELECT: return vd->queue_select;
	}
	if (!vq)
		return 0;   /* queue_size reads 0: no such queue */
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE: return vq->size;
	case VIRTIO_PCI_COMMON_Q_MSIX: return vq->msix_vector;
	case VIRTIO_PCI_COMMON_Q_ENABLE: return vq->enabled;
	case VIRTIO_PCI_COMMON_Q_NOFF: return vd->queue_select;
	case VIRTIO_PCI_COMMON_Q_DESCLO: return (uint32_t)vq->desc;
	case VIRTIO_PCI_COMMON_Q_DESCHI: return (uint32_t)(vq->desc >> 32);
	case VIRTIO_PCI_COMMON_Q_AVAILLO: return (uint32_t)vq->avail;
	case VIRTIO_PCI_COMMON_Q_AVAILHI: return (uint32_t)(vq->avail >> 32);
	case VIRTIO_PCI_COMMON_Q_USEDLO: return (uint32_t)vq->used;
	case VIRTIO_PCI_COMMON_Q_USEDHI: return (uint32_t)(vq->used >> 32);
	}
	return 0;
}

static void set_lo(uint64_t *v, uint32_t lo) { *v = (*v & ~0xffffffffull) | lo; }
static void set_hi(uint64_t *v, uint32_t hi) { *v = (*v & 0xffffffffull) | ((uint64_t)hi << 32); }

static void common_write(struct virtio_dev *vd, unsigned int off, unsigned int size, uint32_t val)
{
	struct virtqueue *vq = selected_vq(vd);

	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT: vd->dfselect = val; return;
	case VIRTIO_PCI_COMMON_GFSELECT: vd->gfselect = val; return;
	case VIRTIO_PCI_COMMON_GF:
		/* Features are fixed once FEATURES_OK was accepted. */
		if (vd->status & VIRTIO_CONFIG_S_FEATURES_OK)
			return;
		if (vd->gfselect == 0)
			set_lo(&vd->driver_features, val);
		else if (vd->gfselect == 1)
			set_hi(&vd->driver_features, val);
		return;
	case VIRTIO_PCI_COMMON_MSIX: vd->msix_config = msix_vector_or_none(vd, val); return;
	case VIRTIO_PCI_COMMON_STATUS: set_status(vd, (uint8_t)val); return;
	case VIRTIO_PCI_COMMON_Q_SELECT: vd->queue_select = (uint16_t)val; return;
	}
	/* Queue registers of an enabled queue are read-only (virtio 4.1.4.3.2). */
	if (!vq || (vq->enabled && off != VIRTIO_PCI_COMMON_Q_MSIX))
		return;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE:
		/* A power of two no larger than the maximum; else ignored. */
		if (val && val <= vq->max_size && !(val & (val - 1)))
			vq->size = (uint16_t)val;
		return;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		vq->msix_vector = msix_vector_or_none(vd, val);
		return;
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		if (val == 1)
			vq->enabled = true;
		return;
	case VIRTIO_PCI_COMMON_Q_DESCLO: set_lo(&vq->desc, val); return;
	case VIRTIO_PCI_COMMON_Q_DESCHI: set_hi(&vq->desc, val); return;
	case VIRTIO_PCI_COMMON_Q_AVAILLO: set_lo(&vq->avail, val); return;
	case VIRTIO_PCI_COMMON_Q_AVAILHI: set_hi(&vq->avail, val); return;
	case VIRTIO_PCI_COMMON_Q_USEDLO: set_lo(&vq->used, val); return;
	case VIRTIO_PCI_COMMON_Q_USEDHI: set_hi(&vq->used, val); return;
	}
}

bool virtio_queue_ready(const struct virtio_dev *vd, unsigned int q)
{
	uint8_t status = vd->status;

	return (status & VIRTIO_CONFIG_S_DRIVER_OK) && !(status & VIRTIO_CONFIG_S_NEEDS_RESET) &&
	       q < vd->ops->num_queues && vd->vq[q].enabled && !vd->vq[q].broken && vd->bus_master;
}

void virtio_queue_lock(struct virtio_dev *vd, unsigned int q)
{
	pthread_rwlock_rdlock(&vd->state_lock);
	pthread_mutex_lock(&vd->vq_lock[q]);
}

void virtio_queue_unlock(struct virtio_dev *vd, unsigned int q)
{
	pthread_mutex_unlock(&vd->vq_lock[q]);
	pthread_rwlock_unlock(&vd->state_lock);
}

/* Run the device model on queue q (any thread).  Without bus mastering
 * the kick waits: config_written() looks at every queue once BME is set. */
void virtio_run_queue(struct virtio_dev *vd, unsigned int q, bool kicked)
{
	if (q >= vd->ops->num_queues)
		return;
	if (kicked)
		atomic_fetch_add_explicit(&vd->notifies, 1, memory_order_relaxed);
	virtio_queue_lock(vd, q);
	if (virtio_queue_ready(vd, q)) {
		vd->ops->queue_notify(vd, q);
		if (vd->vq[q].broken)
			virtio_needs_reset(vd, vd->vq[q].broken_why ? vd->vq[q].broken_why
								    : "malformed virtqueue");
	}
	virtio_queue_unlock(vd, q);
}

/* A vCPU reads BAR0: state_lock shared (registers only change under it
 * exclusive), so queue runs go on meanwhile. */
static uint64_t bar_read(struct pci_device *pdev, unsigned int bar, uint64_t off, unsigned int size)
{
	struct virtio_dev *vd = pdev->opaque;
	uint64_t val = 0;

	if (bar != 0)
		return ~0ull;
	pthread_rwlock_rdlock(&vd->state_lock);
	if (off < VPCI_ISR_OFF) {
		val = common_read(vd, (unsigned int)off, size);
	} else if (off == VPCI_ISR_OFF) {
		val = atomic_exchange(&vd->isr, 0);   /* read to clear */
	} else if (off >= VPCI_DEVICE_OFF && off < VPCI_DEVICE_OFF + vd->ops->config_size) {
		unsigned int o = (unsigned int)(off - VPCI_DEVICE_OFF);

		if (size <= vd->ops->config_size - o && vd->ops->read_config)
			vd->ops->read_config(vd, o, &val, size);
	} else if (off >= VPCI_MSIX_TABLE && off < VPCI_MSIX_TABLE + 16 * msix_table_size(vd) &&
		   size == 4) {
		const uint32_t *e = (const uint32_t *)&vd->msix[(off - VPCI_MSIX_TABLE) / 16];

		pthread_mutex_lock(&vd->msix_lock);
		val = e[((off - VPCI_MSIX_TABLE) % 16) / 4];
		pthread_mutex_unlock(&vd->msix_lock);
	} else if (off >= VPCI_MSIX_PBA && off < VPCI_MSIX_PBA + 8) {
		/* 64-bit arithmetic: byte offsets up to 7 shift by up to 56. */
		pthread_mutex_lock(&vd->msix_lock);
		val = ((uint64_t)vd->msix_pending >> (8 * (off - VPCI_MSIX_PBA))) &
		      (size >= 8 ? ~0ull : ((1ull << (8 * size)) - 1));
		pthread_mutex_unlock(&vd->msix_lock);
	}
	pthread_rwlock_unlock(&vd->state_lock);
	return val;
}

static void bar_write(struct pci_device *pdev, unsigned int bar, uint64_t off, unsigned int size,
		      uint64_t val)
{
	struct virtio_dev *vd = pdev->opaque;

	if (bar != 0)
		return;
	if (off >= VPCI_NOTIFY_OFF && off < VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * vd->ops->num_queues) {
		/* Only without an ioeventfd: hand the kick to the I/O thread,
		 * or handle it right here for a sync_notify device. */
		uint64_t one = 1;
		unsigned int q = (unsigned int)((off - VPCI_NOTIFY_OFF) / VPCI_NOTIFY_MULT);

		if (vd->ops->sync_notify) {
			virtio_run_queue(vd, q, true);
			return;
		}
		if (write(vd->notify_fd[q], &one, sizeof(one)) < 0 && errno != EAGAIN)
			pr_ratelimited(LOG_WARN, "%s: notify: %s", vd->ops->name, strerror(errno));
		return;
	}
	if (off >= VPCI_MSIX_TABLE && off < VPCI_MSIX_TABLE + 16 * msix_table_size(vd) && size == 4) {
		/* The table is msix_lock's: a mask or a new message while the
		 * queues keep running. */
		uint32_t *e = (uint32_t *)&vd->msix[(off - VPCI_MSIX_TABLE) / 16];

		pthread_rwlock_rdlock(&vd->state_lock);
		pthread_mutex_lock(&vd->msix_lock);
		e[((off - VPCI_MSIX_TABLE) % 16) / 4] = (uint32_t)val;
		msix_deliver_pending(vd);   /* an unmask releases a pending vector */
		pthread_mutex_unlock(&vd->msix_lock);
		pthread_rwlock_unlock(&vd->state_lock);
		return;
	}
	/* A change of the device: the queue runs in flight end first. */
	pthread_rwlock_wrlock(&vd->state_lock);
	if (off < VPCI_ISR_OFF) {
		common_write(vd, (unsigned int)off, size, (uint32_t)val);
	} else if (off >= VPCI_DEVICE_OFF && off < VPCI_DEVICE_OFF + vd->ops->config_size) {
		unsigned int o = (unsigned int)(off - VPCI_DEVICE_OFF);

		if (size <= vd->ops->config_size - o && vd->ops->write_config)
			vd->ops->write_config(vd, o, &val, size);
	}
	pthread_rwlock_unlock(&vd->state_lock);
}

static void register_notify(struct virtio_dev *vd, uint64_t bar_gpa)
{
	if (vd->notify_gpa) {
		for (unsigned int q = 0; q < vd->ops->num_queues && vd->notify_ioeventfd; q++)
			vd->host->ioeventfd(vd->host->opaque, vd->notify_gpa + VPCI_NOTIFY_OFF +
					    VPCI_NOTIFY_MULT * q, 2, vd->notify_fd[q], false);
		vd->notify_gpa = 0;
		vd->notify_ioeventfd = false;
	}
	if (!bar_gpa || !vd->host->ioeventfd || vd->ops->sync_notify)
		return;
	vd->notify_ioeventfd = true;
	for (unsigned int q = 0; q < vd->ops->num_queues; q++) {
		if (vd->host->ioeventfd(vd->host->opaque, bar_gpa + VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * q,
					2, vd->notify_fd[q], true)) {
			/* Fall back to MMIO exits for every queue. */
			for (unsigned int r = 0; r < q; r++)
				vd->host->ioeventfd(vd->host->opaque, bar_gpa + VPCI_NOTIFY_OFF +
						    VPCI_NOTIFY_MULT * r, 2, vd->notify_fd[r], false);
			vd->notify_ioeventfd = false;
			return;
		}
	}
	vd->notify_gpa = bar_gpa;
}

static void bar_remapped(struct pci_device *pdev, unsigned int bar, uint64_t old_addr, uint64_t new_addr)
{
	struct virtio_dev *vd = pdev->opaque;

	if (bar == 0)
		register_notify(vd, new_addr);
}

static void config_written(struct pci_device *pdev, unsigned int offset, unsigned int size)
{
	struct virtio_dev *vd = pdev->opaque;
	unsigned int cap = msix_cap_offset(vd);

	/* Bus Master Enable: the device may DMA and send MSI-X messages (off:
	 * once this write returns, no queue is served -- state_lock exclusive
	 * waits for the runs in flight -- and no message is sent).  Turned
	 * on: what waited for it, kicks and pending vectors, goes now. */
	if (offset <= PCI_COMMAND && offset + size > PCI_COMMAND) {
		bool master = pci_get_word(pdev, PCI_COMMAND) & PCI_COMMAND_MASTER, was;

		pthread_rwlock_wrlock(&vd->state_lock);
		was = vd->bus_master;
		vd->bus_master = master;
		if (master && !was) {
			pthread_mutex_lock(&vd->msix_lock);
			msix_deliver_pending(vd);
			pthread_mutex_unlock(&vd->msix_lock);
			if (vd->status & VIRTIO_CONFIG_S_DRIVER_OK)
				notify_all_queues(vd);
		}
		pthread_rwlock_unlock(&vd->state_lock);
	}
	/* MSI-X enable or function mask changed: the queue threads see the
	 * new Message Control (a copy under msix_lock, not the config space
	 * the bus writes under its own lock); pending vectors may go. */
	if (cap && offset < cap + 4 && offset + size > cap + 2) {
		uint16_t ctrl = pci_get_word(pdev, cap + 2);

		pthread_rwlock_rdlock(&vd->state_lock);
		pthread_mutex_lock(&vd->msix_lock);
		vd->msix_ctrl = ctrl;
		msix_deliver_pending(vd);
		pthread_mutex_unlock(&vd->msix_lock);
		pthread_rwlock_unlock(&vd->state_lock);
	}
}

static const struct pci_device_ops virtio_pci_ops = {
	.bar_read = bar_read,
	.bar_write = bar_write,
	.config_written = config_written,
	.bar_remapped = bar_remapped,
};

static void add_vcap(struct virtio_dev *vd, uint8_t type, uint32_t offset, uint32_t length,
		     unsigned int caplen)
{
	unsigned int c = pci_add_capability(&vd->pci, PCI_CAP_ID_VNDR, caplen);

	vd->pci.cfg[c + VIRTIO_PCI_CAP_LEN] = (uint8_t)caplen;
	vd->pci.cfg[c + VIRTIO_PCI_CAP_CFG_TYPE] = type;
	vd->pci.cfg[c + VIRTIO_PCI_CAP_BAR] = 0;
	pci_set_long(&vd->pci, c + VIRTIO_PCI_CAP_OFFSET, offset);
	pci_set_long(&vd->pci, c + VIRTIO_PCI_CAP_LENGTH, length);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		pci_set_long(&vd->pci, c + 16, VPCI_NOTIFY_MULT);
}

static void init_locks(struct virtio_dev *vd)
{
	pthread_rwlockattr_t attr;

	/* Writers first: a vCPU's reset or status write must not wait
	 * behind queue threads that keep taking the lock shared. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&vd->state_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		pthread_mutex_init(&vd->vq_lock[q], NULL);
	pthread_mutex_init(&vd->msix_lock, NULL);
}

void virtio_pci_destroy_locks(struct virtio_dev *vd)
{
	pthread_rwlock_destroy(&vd->state_lock);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		pthread_mutex_destroy(&vd->vq_lock[q]);
	pthread_mutex_destroy(&vd->msix_lock);
}

int virtio_pci_init(struct virtio_dev *vd, struct pci_bus *bus, unsigned int slot,
		    struct virtio_host *host, struct viommu *iommu,
		    const struct virtio_dev_ops *ops, void *priv)
{
	unsigned int msix;
	int ret;

	memset(vd, 0, sizeof(*vd));
	if (ops->num_queues > VIRTIO_MAX_QUEUES || ops->queue_size > VQ_MAX_SIZE)
		return -EINVAL;
	vd->ops = ops;
	vd->priv = priv;
	vd->host = host;
	vd->behind_iommu = iommu != NULL;
	/* Its port on the IOMMU is opened when the device is registered
	 * there, at its final BDF (dma_attach_iommu); no DMA until then. */
	vd->dma = (struct dma_space){ .mem = host->mem, .iommu = iommu, .endpoint = pci_bdf(slot, 0) };
	init_locks(vd);
	vd->kick_fd = vd->stop_fd = -1;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		vd->notify_fd[q] = -1;
		vd->vq[q].dma = &vd->dma;
		vd->vq[q].max_size = ops->queue_size;
	}

	pci_device_init(&vd->pci, ops->name, VIRTIO_PCI_VENDOR,
			(uint16_t)(VIRTIO_PCI_DEVICE_BASE + ops->device_id), ops->class_code,
			VIRTIO_PCI_VENDOR, ops->device_id);
	vd->pci.ops = &virtio_pci_ops;
	vd->pci.opaque = vd;
	ret = pci_device_add_bar(bus, &vd->pci, 0, VPCI_BAR_SIZE, false);
	if (ret)
		return ret;
	add_vcap(vd, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON_OFF, sizeof(struct virtio_pci_common_cfg), 16);
	add_vcap(vd, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF, 1, 16);
	if (ops->config_size)
		add_vcap(vd, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVICE_OFF, (uint32_t)ops->config_size, 16);
	add_vcap(vd, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY_OFF,
		 VPCI_NOTIFY_MULT * ops->num_queues, 20);
	msix = pci_add_capability(&vd->pci, PCI_CAP_ID_MSIX, 12);
	if (!msix)
		return -ENOSPC;
	pci_set_word(&vd->pci, msix + 2, (uint16_t)(msix_table_size(vd) - 1));  /* N - 1 */
	vd->pci.wmask[msix + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
	pci_set_long(&vd->pci, msix + 4, VPCI_MSIX_TABLE | 0);
	pci_set_long(&vd->pci, msix + 8, VPCI_MSIX_PBA | 0);
	for (unsigned int v = 0; v < msix_table_size(vd); v++)
		vd->msix[v].ctrl = MSIX_ENTRY_MASKED;

	vd->device_features = (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_RING_F_EVENT_IDX) |
			      (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
			      (iommu ? (1ull << VIRTIO_F_ACCESS_PLATFORM) : 0) |
			      (ops->features ? ops->features(vd) : 0);
	device_reset(vd);
	vd->resets = 0;

	for (unsigned int q = 0; q < ops->num_queues; q++) {
		vd->notify_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vd->notify_fd[q] < 0)
			return -errno;
	}
	vd->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vd->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vd->kick_fd < 0 || vd->stop_fd < 0)
		return -errno;
	ret = pci_register(bus, &vd->pci, slot);
	if (ret)
		return ret;
	return 0;
}

static bool drain(int fd)
{
	uint64_t n;

	return read(fd, &n, sizeof(n)) == sizeof(n);
}

static void *io_thread(void *arg)
{
	struct virtio_dev *vd = arg;
	struct pollfd pfd[VIRTIO_MAX_QUEUES + 2];
	unsigned int nq = vd->ops->num_queues;

	/* A queue another thread serves is not polled here (fd -1). */
	for (unsigned int q = 0; q < nq; q++)
		pfd[q] = (struct pollfd){ .fd = q < vd->ops->device_thread_queues || vd->ops->queue_threads
					  ? -1 : vd->notify_fd[q], .events = POLLIN };
	pfd[nq] = (struct pollfd){ .fd = vd->kick_fd, .events = POLLIN };
	pfd[nq + 1] = (struct pollfd){ .fd = vd->stop_fd, .events = POLLIN };
	for (;;) {
		if (poll(pfd, nq + 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[nq + 1].revents)
			break;
		for (unsigned int q = 0; q < nq; q++) {
			if (!(pfd[q].revents & POLLIN) || !drain(pfd[q].fd))
				continue;
			virtio_run_queue(vd, q, true);
		}
		if ((pfd[nq].revents & POLLIN) && drain(vd->kick_fd) && vd->ops->kicked)
			vd->ops->kicked(vd);
	}
	return NULL;
}

int virtio_dma_clone(struct virtio_dev *vd, struct dma_space *own)
{
	const struct dma_space *d = &vd->dma;

	*own = (struct dma_space){ .mem = d->mem, .iommu = d->iommu, .endpoint = d->endpoint,
				   .bounce = d->bounce };
	return d->port ? dma_attach_iommu(own, d->iommu) : 0;
}

void virtio_queue_set_dma(struct virtio_dev *vd, unsigned int q, struct dma_space *dma)
{
	pthread_rwlock_wrlock(&vd->state_lock);
	vd->vq[q].dma = dma ? dma : &vd->dma;
	pthread_rwlock_unlock(&vd->state_lock);
}

/* ops->queue_threads: queue q's own thread.  It ends when stop_fd is
 * written (never drained, so every thread sees it). */
struct virtio_queue_thread {
	struct virtio_dev *vd;
	unsigned int q;
	struct dma_space dma;
	pthread_t thread;
	bool started;
};

static void *queue_thread(void *arg)
{
	struct virtio_queue_thread *t = arg;
	struct pollfd pfd[2] = {
		{ .fd = t->vd->notify_fd[t->q], .events = POLLIN },
		{ .fd = t->vd->stop_fd, .events = POLLIN },
	};

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		if ((pfd[0].revents & POLLIN) && drain(pfd[0].fd))
			virtio_run_queue(t->vd, t->q, true);
	}
	return NULL;
}

/* After stop_fd was written: the threads joined, the queues back on the
 * device's dma_space, the ports closed. */
static void queue_threads_stop(struct virtio_dev *vd)
{
	if (!vd->queue_thread)
		return;
	for (unsigned int q = 0; q < vd->ops->num_queues; q++) {
		struct virtio_queue_thread *t = &vd->queue_thread[q];

		if (t->started)
			pthread_join(t->thread, NULL);
		virtio_queue_set_dma(vd, q, NULL);
		if (t->dma.port)
			dma_detach_iommu(&t->dma);
	}
	free(vd->queue_thread);
	vd->queue_thread = NULL;
}

static int queue_threads_start(struct virtio_dev *vd)
{
	vd->queue_thread = calloc(vd->ops->num_queues, sizeof(*vd->queue_thread));
	if (!vd->queue_thread)
		return -ENOMEM;
	for (unsigned int q = 0; q < vd->ops->num_queues; q++) {
		struct virtio_queue_thread *t = &vd->queue_thread[q];
		int ret;

		t->vd = vd;
		t->q = q;
		ret = virtio_dma_clone(vd, &t->dma);
		if (ret)
			return ret;   /* virtio_pci_stop() unwinds */
		virtio_queue_set_dma(vd, q, &t->dma);
		ret = -pthread_create(&t->thread, NULL, queue_thread, t);
		if (ret)
			return ret;
		t->started = true;
	}
	return 0;
}

int virtio_pci_start(struct virtio_dev *vd)
{
	int ret;

	register_notify(vd, pci_memory_enabled(&vd->pci) ? vd->pci.bar[0].addr : 0);
	ret = -pthread_create(&vd->thread, NULL, io_thread, vd);
	if (ret)
		return ret;
	vd->thread_started = true;
	if (vd->ops->queue_threads) {
		ret = queue_threads_start(vd);
		if (ret)
			return ret;
	}
	if (vd->ops->start) {
		ret = vd->ops->start(vd);
		if (ret)
			return ret;
		vd->device_threads_started = true;
	}
	return 0;
}

void virtio_pci_stop(struct virtio_dev *vd)
{
	uint64_t one = 1;

	if (vd->device_threads_started) {
		vd->ops->stop(vd);
		vd->device_threads_started = false;
	}
	if (vd->thread_started) {
		if (write(vd->stop_fd, &one, sizeof(one)) != sizeof(one))
			pr_warn("%s: cannot stop the I/O thread", vd->ops->name);
		pthread_join(vd->thread, NULL);
		vd->thread_started = false;
	}
	queue_threads_stop(vd);
	register_notify(vd, 0);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (vd->notify_fd[q] >= 0)
			close(vd->notify_fd[q]);
	if (vd->kick_fd >= 0)
		close(vd->kick_fd);
	if (vd->stop_fd >= 0)
		close(vd->stop_fd);
	vd->kick_fd = vd->stop_fd = -1;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vd->notify_fd[q] = -1;
}

void virtio_pci_dump_state(struct virtio_dev *vd, const char *why)
{
	const char *bdf = pci_bdf_str(pci_device_bdf(&vd->pci)).s;

	uint32_t pending;

	pthread_rwlock_wrlock(&vd->state_lock);
	pthread_mutex_lock(&vd->msix_lock);
	pending = vd->msix_pending;
	pthread_mutex_unlock(&vd->msix_lock);
	pr_info("%s: %s (%s): status %#x, bus master %s, %llu kicks, %llu interrupts, MSI-X pending %#x",
		why, vd->ops->name, bdf, vd->status, vd->bus_master ? "on" : "off",
		(unsigned long long)vd->notifies, (unsigned long long)vd->interrupts, pending);
	for (unsigned int q = 0; q < vd->ops->num_queues; q++) {
		char line[256];

		if (!vd->vq[q].enabled)
			continue;
		vq_dump_state(&vd->vq[q], !vd->behind_iommu, line, sizeof(line));
		pr_info("%s: %s (%s) queue %u: %s", why, vd->ops->name, bdf, q, line);
	}
	pthread_rwlock_unlock(&vd->state_lock);
}
