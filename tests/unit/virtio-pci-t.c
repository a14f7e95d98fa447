/* SPDX-License-Identifier: MIT */
/*
 * virtio-pci devices driven end to end as a guest driver drives them,
 * without KVM: config space through the PCI bus, BAR0 through MMIO
 * accesses, rings in fake guest memory, kicks through the notify area and
 * MSI-X messages counted by a fake host.  What the transport promises the
 * guest beyond the register file: a malformed ring ends in
 * DEVICE_NEEDS_RESET with a configuration interrupt.
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
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#define MEM_SIZE (64ull << 20)
#define QSZ      8

/* Where the rng's ring and buffers live (guest-physical: not behind an IOMMU). */
#define RNG_DESC  0x10000ull
#define RNG_AVAIL 0x11000ull
#define RNG_USED  0x12000ull
#define RNG_BUF   0x20000ull

#define MSI_DATA(vector) (0x40u + (vector))   /* what the fake host sees */

static struct pci_bus bus;
static struct guest_mem mem;
static unsigned int msis[VIRTIO_MSIX_VECTORS];

static int fake_msi(void *o, uint64_t addr, uint32_t data)
{
	(void)o;
	if (addr == VPCI_DRV_MSI_ADDR && data >= MSI_DATA(0) && data < MSI_DATA(VIRTIO_MSIX_VECTORS))
		__atomic_fetch_add(&msis[data - MSI_DATA(0)], 1, __ATOMIC_SEQ_CST);
	return 0;
}

static unsigned int msi_count(unsigned int vector)
{
	return __atomic_load_n(&msis[vector], __ATOMIC_SEQ_CST);
}

static const struct viommu_host_ops ram_ops = { .is_ram = vpci_is_ram };

static struct virtio_host host = { .signal_msi = fake_msi, .ioeventfd = vpci_no_ioeventfd };

/* --- the guest driver's side (tests/unit/vpci-driver.h) ----------------- */

static void set_desc(uint64_t table, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	vring_set_desc(&mem, table, i, addr, len, flags, next);
}

/* Make descriptor `head` the next available entry. */
static void offer(uint64_t avail, uint16_t head)
{
	uint16_t *a = guest_mem_ptr(&mem, avail, 4 + 2 * QSZ);
	uint16_t idx = le16toh(__atomic_load_n(&a[1], __ATOMIC_SEQ_CST));

	a[2 + idx % QSZ] = htole16(head);
	__atomic_store_n(&a[1], htole16((uint16_t)(idx + 1)), __ATOMIC_SEQ_CST);
}

static uint16_t used_idx(uint64_t used)
{
	uint16_t *u = guest_mem_ptr(&mem, used, 4);

	return le16toh(__atomic_load_n(&u[1], __ATOMIC_SEQ_CST));
}

static uint64_t notifies(struct virtio_dev *vd)
{
	return atomic_load(&vd->notifies);
}

/* --- MSI-X vector mapping ------------------------------------------------ */

static uint16_t map_config_vector(struct vpci_drv *d, uint16_t v)
{
	vpci_wr(d, VIRTIO_PCI_COMMON_MSIX, 2, v);
	return (uint16_t)vpci_rd(d, VIRTIO_PCI_COMMON_MSIX, 2);
}

static uint16_t map_queue_vector(struct vpci_drv *d, unsigned int q, uint16_t v)
{
	vpci_wr(d, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	vpci_wr(d, VIRTIO_PCI_COMMON_Q_MSIX, 2, v);
	return (uint16_t)vpci_rd(d, VIRTIO_PCI_COMMON_Q_MSIX, 2);
}

/* virtio-pci, "MSI-X Vector Configuration": the device "MUST support mapping any event type to
 * any valid vector 0 to MSI-X Table Size" and "MUST report mapping
 * failures by returning the NO_VECTOR value when the relevant
 * config_msix_vector/queue_msix_vector field is read".  The valid vectors
 * are the entries of the table the MSI-X capability advertises. */
static void msix_vectors(struct vpci_drv *d, unsigned int queues)
{
	const char *name = d->vd->ops->name;
	unsigned int table = (pci_config_read(&bus, d->bdf, d->msix + PCI_MSIX_FLAGS, 2) &
			      PCI_MSIX_FLAGS_QSIZE) + 1;
	uint16_t last = (uint16_t)(table - 1);

	is_int(queues + 1, table, "%s: MSI-X table of %u entries (one per queue, one for "
	       "configuration changes)", name, queues + 1);
	is_hex(last, map_config_vector(d, last), "%s: config vector %u (the last entry) maps", name, last);
	is_hex(VIRTIO_MSI_NO_VECTOR, map_config_vector(d, (uint16_t)table),
	       "%s: config vector %u (past the table) reads NO_VECTOR", name, table);
	is_hex(VIRTIO_MSI_NO_VECTOR, map_config_vector(d, 0x1234),
	       "%s: config vector 0x1234 reads NO_VECTOR", name);
	is_hex(VIRTIO_MSI_NO_VECTOR, map_config_vector(d, VIRTIO_MSI_NO_VECTOR),
	       "%s: config vector NO_VECTOR unmaps", name);
	is_hex(last, map_queue_vector(d, 0, last), "%s: queue vector %u maps", name, last);
	is_hex(VIRTIO_MSI_NO_VECTOR, map_queue_vector(d, 0, 7), "%s: queue vector 7 reads NO_VECTOR", name);
	is_hex(VIRTIO_MSI_NO_VECTOR, map_queue_vector(d, 0, (uint16_t)table),
	       "%s: queue vector %u (past the table) reads NO_VECTOR", name, table);
	/* The table in BAR0 has exactly those entries too. */
	vpci_wr(d, VPCI_MSIX_TABLE + 16 * table + 8, 4, 0x77);
	is_hex(0, vpci_rd(d, VPCI_MSIX_TABLE + 16 * table + 8, 4), "%s: no MSI-X entry %u in BAR0", name, table);
	map_config_vector(d, 0);
}

/* --- virtio-rng: a device with its own I/O thread ----------------------- */

static void rng_fills_a_buffer(struct vpci_drv *d)
{
	unsigned int before = msi_count(1);

	memset(guest_mem_ptr(&mem, RNG_BUF, 64), 0xee, 64);
	set_desc(RNG_DESC, 0, RNG_BUF, 64, VRING_DESC_F_WRITE, 0);
	offer(RNG_AVAIL, 0);
	vpci_kick(d, 0);
	ok(WAIT_UNTIL(used_idx(RNG_USED) == 1), "virtio-rng: a kicked buffer is used");
	ok(WAIT_UNTIL(msi_count(1) == before + 1), "virtio-rng: and its queue vector fires");
}

static bool all_bytes(uint64_t gpa, uint8_t byte, size_t len)
{
	return vpci_mem_is(&mem, gpa, byte, len);
}

static uint32_t used_len(uint64_t used, uint16_t idx)
{
	struct vring_used_elem *e = guest_mem_ptr(&mem, used + 4 + 8 * (idx % QSZ), 8);

	return le32toh(e->len);
}

/* PCI: a function whose Bus Master Enable is clear issues no memory
 * transaction of its own -- no DMA, and no MSI/MSI-X (a message is a memory
 * write).  A kick that arrives meanwhile stays pending, like a request the
 * hardware cannot fetch yet, and is served once the driver sets BME again;
 * an interrupt raised meanwhile is held in the PBA and sent then. */
static void rng_bus_master(struct vpci_drv *d)
{
	unsigned int queue_msis = msi_count(1), config_msis = msi_count(0);
	uint64_t kicks = notifies(d->vd);

	vpci_set_command(d, PCI_COMMAND_MEMORY);
	memset(guest_mem_ptr(&mem, RNG_BUF + 0x1000, 64), 0xee, 64);
	set_desc(RNG_DESC, 1, RNG_BUF + 0x1000, 64, VRING_DESC_F_WRITE, 0);
	offer(RNG_AVAIL, 1);
	vpci_kick(d, 0);
	ok(WAIT_UNTIL(notifies(d->vd) > kicks), "BME off: the kick reaches the device");
	is_int(1, used_idx(RNG_USED), "BME off: the buffer is not used");
	ok(all_bytes(RNG_BUF + 0x1000, 0xee, 64), "BME off: no DMA into it");
	is_int(queue_msis, msi_count(1), "BME off: no MSI-X message");
	pthread_rwlock_rdlock(&d->vd->state_lock);   /* as a queue run holds it */
	virtio_config_interrupt(d->vd);
	pthread_rwlock_unlock(&d->vd->state_lock);
	is_int(config_msis, msi_count(0), "BME off: a configuration change sends no message either");
	ok(vpci_rd(d, VPCI_MSIX_PBA, 4) & 1, "BME off: the vector is pending instead");

	vpci_set_command(d, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	ok(WAIT_UNTIL(used_idx(RNG_USED) == 2), "BME on again: the pending kick is served");
	is_int(64, used_len(RNG_USED, 1), "BME on again: all 64 bytes written");
	ok(WAIT_UNTIL(msi_count(1) == queue_msis + 1), "BME on again: the queue vector fires");
	is_int(config_msis + 1, msi_count(0), "BME on again: the pending configuration vector is sent");
	is_hex(0, vpci_rd(d, VPCI_MSIX_PBA, 4), "BME on again: nothing pending");
}

static void rng_wrapping_buffer(struct vpci_drv *d)
{
	unsigned int before = msi_count(0);

	uint16_t used = used_idx(RNG_USED);

	set_desc(RNG_DESC, 2, UINT64_MAX - 15, 32, VRING_DESC_F_WRITE, 0);
	offer(RNG_AVAIL, 2);
	vpci_kick(d, 0);
	ok(WAIT_UNTIL(vpci_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET),
	   "virtio-rng: a buffer wrapping past 2^64 sets DEVICE_NEEDS_RESET");
	ok(WAIT_UNTIL(msi_count(0) == before + 1), "virtio-rng: with a configuration interrupt");
	is_int(used, used_idx(RNG_USED), "virtio-rng: the malformed buffer is not used");
}

/* A used ring the device cannot write: the buffer was taken and can never
 * be returned, so the queue is broken and the transport says so. */
static void rng_used_ring_outside_ram(struct vpci_drv *d, struct virtio_rng *rng)
{
	uint64_t not_ram = MEM_SIZE + 0x10000ull;

	vpci_probe(d, &bus, &mem, &rng->vd, MSI_DATA(0), 1ull << VIRTIO_RING_F_EVENT_IDX);   /* resets the device */
	ok(!(vpci_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET), "virtio-rng: a reset clears DEVICE_NEEDS_RESET");
	msix_vectors(d, 1);
	vpci_queue(d, 0, QSZ, RNG_DESC, RNG_AVAIL, not_ram, 1);
	vpci_driver_ok(d);
	set_desc(RNG_DESC, 0, RNG_BUF, 64, VRING_DESC_F_WRITE, 0);
	offer(RNG_AVAIL, 0);
	vpci_kick(d, 0);
	ok(WAIT_UNTIL(vpci_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET),
	   "virtio-rng: a buffer whose used entry cannot be written sets DEVICE_NEEDS_RESET");
}

/* --- virtio-iommu: requests answered on the vCPU that kicks ------------- */

/* Its rings are guest-physical (the IOMMU is not behind itself). */
#define REQ_DESC   0x40000ull
#define REQ_AVAIL  0x41000ull
#define REQ_USED   0x42000ull
#define EVT_DESC   0x50000ull
#define EVT_AVAIL  0x51000ull
#define EVT_USED   0x52000ull
#define REQ_BUF    0x60000ull
#define EVT_BUF    0x70000ull
#define NOT_RAM    (MEM_SIZE + 0x10000ull)   /* above guest RAM */

#define ENDPOINT   0x18                      /* 00:03.0, a device behind the IOMMU */

/* Reset, probe and set up both queues; the used rings where the caller says. */
static void iommu_bring_up(struct vpci_drv *d, struct virtio_iommu *vi, uint64_t req_used,
			   uint64_t evt_avail, uint64_t evt_used)
{
	/* Without EVENT_IDX vq_pop() writes nothing: only the used-ring
	 * push can fail. */
	vpci_probe(d, &bus, &mem, &vi->vd, MSI_DATA(0), 1ull << VIRTIO_RING_F_EVENT_IDX);
	vpci_queue(d, 0, QSZ, REQ_DESC, REQ_AVAIL, req_used, 1);
	vpci_queue(d, 1, QSZ, EVT_DESC, evt_avail, evt_used, 2);
	vpci_driver_ok(d);
}

/* An ATTACH of ENDPOINT to domain 1: readable head + body, writable tail. */
static void iommu_post_attach(struct vpci_drv *d)
{
	struct virtio_iommu_req_attach *r = guest_mem_ptr(&mem, REQ_BUF, sizeof(*r));

	memset(r, 0, sizeof(*r));
	r->head.type = VIRTIO_IOMMU_T_ATTACH;
	r->domain = htole32(1);
	r->endpoint = htole32(ENDPOINT);
	set_desc(REQ_DESC, 0, REQ_BUF, offsetof(struct virtio_iommu_req_attach, tail),
		 VRING_DESC_F_NEXT, 1);
	set_desc(REQ_DESC, 1, REQ_BUF + offsetof(struct virtio_iommu_req_attach, tail),
		 sizeof(r->tail), VRING_DESC_F_WRITE, 0);
	offer(REQ_AVAIL, 0);
	vpci_kick(d, 0);
}

/* A fault for the driver: the endpoint reads an IOVA nothing maps. */
static void iommu_raise_fault(struct viommu *v)
{
	struct dma_space ep = { .mem = &mem, .endpoint = ENDPOINT };
	uint8_t buf[8];

	if (dma_attach_iommu(&ep, v))
		bail("dma_attach_iommu");
	if (dma_read_coherent(&ep, 0x7000000, buf, sizeof(buf)) != -EFAULT || !viommu_has_fault(v))
		bail("no fault event to deliver");
	dma_detach_iommu(&ep);
}

/* Linux's virtio-iommu driver busy-waits for each request's used entry
 * (__viommu_sync_req): a request that cannot be completed must not leave
 * it spinning on a device that looks healthy.  The device cannot go on
 * (a request was consumed, never answered): DEVICE_NEEDS_RESET and a
 * configuration interrupt, virtio 2.1.2 ("The device SHOULD set
 * DEVICE_NEEDS_RESET when it enters an error state that a reset is
 * needed"). */
static void iommu_used_ring_outside_ram(struct vpci_drv *d, struct virtio_iommu *vi)
{
	unsigned int config_msis;

	iommu_bring_up(d, vi, NOT_RAM, EVT_AVAIL, EVT_USED);
	config_msis = msi_count(0);
	iommu_post_attach(d);
	is_int(1, vi->requests, "virtio-iommu: the request was taken");
	ok(vpci_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET,
	   "virtio-iommu: a request whose used entry cannot be written sets DEVICE_NEEDS_RESET");
	is_int(config_msis + 1, msi_count(0), "virtio-iommu: with a configuration interrupt");

	/* The event queue: a fault event taken from the driver's buffer but
	 * not returned. */
	iommu_bring_up(d, vi, REQ_USED, EVT_AVAIL, NOT_RAM);
	ok(!(vpci_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET), "virtio-iommu: a reset clears DEVICE_NEEDS_RESET");
	iommu_post_attach(d);
	is_int(1, used_idx(REQ_USED), "virtio-iommu: with good rings the request completes");
	is_int(VIRTIO_IOMMU_S_OK, ((struct virtio_iommu_req_attach *)guest_mem_ptr(&mem, REQ_BUF,
		sizeof(struct virtio_iommu_req_attach)))->tail.status, "virtio-iommu: ATTACH S_OK");
	config_msis = msi_count(0);
	set_desc(EVT_DESC, 0, EVT_BUF, sizeof(struct virtio_iommu_fault), VRING_DESC_F_WRITE, 0);
	offer(EVT_AVAIL, 0);
	iommu_raise_fault(vi->viommu);
	vpci_kick(d, 1);
	is_int(1, vi->events, "virtio-iommu: the fault event was written into the buffer");
	ok(vpci_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET,
	   "virtio-iommu: an event whose used entry cannot be written sets DEVICE_NEEDS_RESET");
	is_int(config_msis + 1, msi_count(0), "virtio-iommu: with a configuration interrupt");

	/* The event queue's available ring outside RAM: no buffer can be taken. */
	iommu_bring_up(d, vi, REQ_USED, NOT_RAM, EVT_USED);
	iommu_raise_fault(vi->viommu);
	vpci_kick(d, 1);
	ok(vpci_status(d) & VIRTIO_CONFIG_S_NEEDS_RESET,
	   "virtio-iommu: an event queue whose ring cannot be read sets DEVICE_NEEDS_RESET");
}

int main(void)
{
	static struct virtio_rng rng;
	struct vpci_drv d;

	plan_lazy();
	log_max_level = LOG_ERR;   /* the warnings are what is being tested */
	if (guest_mem_init(&mem, MEM_SIZE))
		bail("guest memory");
	host.mem = &mem;
	pci_bus_init(&bus);

	is_int(0, virtio_rng_create(&rng, &bus, 2, &host, NULL), "a virtio-rng in slot 2");
	is_int(0, virtio_pci_start(&rng.vd), "its I/O thread runs");
	/* Without EVENT_IDX: every used buffer interrupts (this driver
	 * keeps no used_event). */
	vpci_probe(&d, &bus, &mem, &rng.vd, MSI_DATA(0), 1ull << VIRTIO_RING_F_EVENT_IDX);
	msix_vectors(&d, 1);
	vpci_queue(&d, 0, QSZ, RNG_DESC, RNG_AVAIL, RNG_USED, 1);
	vpci_driver_ok(&d);
	rng_fills_a_buffer(&d);
	rng_bus_master(&d);
	rng_wrapping_buffer(&d);
	rng_used_ring_outside_ram(&d, &rng);
	virtio_pci_stop(&rng.vd);

	{
		static struct virtio_iommu vi;
		struct viommu_config cfg;
		struct viommu *v;

		viommu_default_config(&cfg);
		v = viommu_create(&cfg, &ram_ops, &mem);
		if (!v)
			bail("viommu");
		viommu_add_endpoint(v, ENDPOINT, "endpoint");
		is_int(0, virtio_iommu_create(&vi, &bus, 4, &host, v), "a virtio-iommu in slot 4");
		vpci_probe(&d, &bus, &mem, &vi.vd, MSI_DATA(0), 0);
		msix_vectors(&d, 2);
		iommu_used_ring_outside_ram(&d, &vi);
		virtio_pci_stop(&vi.vd);
		viommu_destroy(v);
	}

	pci_bus_destroy(&bus);
	guest_mem_free(&mem);
	return 0;
}
