/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues against hostile rings: every malformed chain stops the
 * queue instead of being trusted, and every ring access goes through the
 * IOMMU at the moment it is made (an UNMAP of the ring takes effect at once).
 */
#include "vmm/virtqueue.h"
#include "viommu/viommu.h"
#include "vmm/log.h"
#include "tests/tap/basic.h"
#include "tests/unit/vring-util.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include <linux/virtio_ring.h>

#define MiB (1ull << 20)
#define QSZ 8
#define DESC  0x10000ull
#define AVAIL 0x11000ull
#define USED  0x12000ull
#define DATA  0x20000ull

static struct guest_mem mem;
static struct dma_space dma;
static struct virtqueue vq;
static struct vq_elem elem;

static void set_desc(uint64_t table, unsigned int i, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	vring_set_desc(&mem, table, i, addr, len, flags, next);
}

/* Publish head at the next avail slot. */
static void offer(uint16_t head)
{
	uint16_t *avail = guest_mem_ptr(&mem, AVAIL, 4 + 2 * QSZ + 2);
	uint16_t idx = le16toh(avail[1]);

	avail[2 + idx % QSZ] = htole16(head);
	avail[1] = htole16((uint16_t)(idx + 1));
}

static void fresh_queue(void)
{
	memset(guest_mem_ptr(&mem, DESC, 0x3000), 0, 0x3000);
	vq.dma = &dma;
	vq.max_size = QSZ;
	vq_reset(&vq);
	vq.desc = DESC;
	vq.avail = AVAIL;
	vq.used = USED;
	vq.enabled = true;
	vq.indirect = true;
}

static int pop_fresh(void)
{
	return vq_pop(&vq, &elem);
}

static bool mem_is_ram(void *o, uint64_t gpa, uint64_t len) { return guest_mem_is_ram(o, gpa, len); }
static const struct viommu_host_ops mops = { .is_ram = mem_is_ram };

static int iommu_req(struct viommu *v, const void *req, size_t len)
{
	uint8_t resp[4];

	viommu_handle_request(v, req, len, resp, sizeof(resp));
	return resp[0];
}

int main(void)
{
	uint8_t buf[64];
	uint16_t *used_idx;

	plan(49);
	log_max_level = LOG_ERR;   /* the warnings are what is being tested */
	if (guest_mem_init(&mem, 16 * MiB))
		bail("guest memory");
	dma.mem = &mem;

	/* A good two-descriptor chain: 16 readable bytes, 32 writable. */
	fresh_queue();
	set_desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(DESC, 1, DATA + 0x100, 32, VRING_DESC_F_WRITE, 0);
	offer(0);
	is_int(1, pop_fresh(), "a well-formed chain pops");
	ok(elem.nseg == 2 && elem.readable == 16 && elem.writable == 32, "its segments and lengths");
	is_int(0, pop_fresh(), "then the ring is empty");
	memcpy(guest_mem_ptr(&mem, DATA, 16), "0123456789abcdef", 16);
	is_int(0, vq_elem_read(&vq, &elem, 4, buf, 8), "read from the readable part");
	ok(!memcmp(buf, "456789ab", 8), "right bytes at the offset");
	is_int(0, vq_elem_write(&vq, &elem, 30, "xy", 2), "write at the end of the writable part");
	is_int(-ERANGE, vq_elem_write(&vq, &elem, 31, "xy", 2), "a write past the writable part is refused");
	is_int(0, vq_push(&vq, 0, 2), "push");
	used_idx = guest_mem_ptr(&mem, USED + 2, 2);
	is_int(1, le16toh(*used_idx), "used index published");
	ok(vq_should_notify(&vq), "no NO_INTERRUPT flag: notify");

	/* Hostile rings. */
	fresh_queue();
	offer(QSZ);
	is_int(-EINVAL, pop_fresh(), "head index out of range");
	ok(vq.broken, "the queue is stopped");
	is_int(0, pop_fresh(), "a broken queue yields nothing more");

	fresh_queue();
	set_desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(DESC, 1, DATA, 16, VRING_DESC_F_NEXT, 0);
	offer(0);
	is_int(-EINVAL, pop_fresh(), "a descriptor loop is caught");

	fresh_queue();
	set_desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT, 200);
	offer(0);
	is_int(-EINVAL, pop_fresh(), "next index out of range");

	fresh_queue();
	set_desc(DESC, 0, DATA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	set_desc(DESC, 1, DATA, 16, 0, 0);
	offer(0);
	is_int(-EINVAL, pop_fresh(), "readable after writable is refused");

	fresh_queue();
	{
		uint16_t *avail = guest_mem_ptr(&mem, AVAIL, 4);

		avail[1] = htole16(1000);
	}
	is_int(-EINVAL, pop_fresh(), "available index jumping by more than the queue size");

	/* A buffer that wraps past 2^64: its bytes past the wrap would be
	 * IOVA 0 on.  The chain is malformed, not a DMA to refuse piecewise. */
	fresh_queue();
	memcpy(guest_mem_ptr(&mem, 0, 16), "IOVA-0-IOVA-0-!!", 16);
	set_desc(DESC, 0, UINT64_MAX - 15, 32, 0, 0);
	offer(0);
	is_int(-EINVAL, pop_fresh(), "a descriptor whose addr + len wraps past 2^64 is refused");
	ok(vq.broken, "the queue is stopped (the transport reports DEVICE_NEEDS_RESET)");
	if (!vq.broken) {   /* the old behaviour: offset 16 of it read IOVA 0 */
		int ret = vq_elem_read(&vq, &elem, 16, buf, 16);

		diag("read at offset 16: %d, \"%.16s\"", ret, (const char *)buf);
	}
	fresh_queue();
	set_desc(DESC, 0, DATA, 16, VRING_DESC_F_NEXT, 1);
	set_desc(DESC, 1, UINT64_MAX - 7, 16, VRING_DESC_F_WRITE, 0);
	offer(0);
	is_int(-EINVAL, pop_fresh(), "a wrapping writable descriptor later in the chain too");
	fresh_queue();
	set_desc(DESC, 0, UINT64_MAX - 15, 16, 0, 0);
	offer(0);
	is_int(1, pop_fresh(), "a buffer that ends at the last byte below 2^64 does not wrap");
	fresh_queue();
	set_desc(DESC, 0, UINT64_MAX - 15, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	is_int(-EINVAL, pop_fresh(), "an indirect table that wraps past 2^64");
	ok(vq.broken, "stops the queue");

	/* Indirect tables. */
	fresh_queue();
	set_desc(DATA + 0x1000, 0, DATA, 8, VRING_DESC_F_NEXT, 1);
	set_desc(DATA + 0x1000, 1, DATA + 8, 8, VRING_DESC_F_WRITE, 0);
	set_desc(DESC, 0, DATA + 0x1000, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	is_int(1, pop_fresh(), "an indirect table pops");
	ok(elem.nseg == 2 && elem.readable == 8 && elem.writable == 8, "through its two entries");

	fresh_queue();
	set_desc(DATA + 0x1000, 0, DATA + 0x2000, 16, VRING_DESC_F_INDIRECT, 0);
	set_desc(DESC, 0, DATA + 0x1000, 16, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	is_int(-EINVAL, pop_fresh(), "nested indirect tables are refused");

	fresh_queue();
	set_desc(DESC, 0, DATA + 0x1000, 24, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	is_int(-EINVAL, pop_fresh(), "an indirect length not a multiple of 16");

	fresh_queue();
	vq.indirect = false;
	set_desc(DESC, 0, DATA + 0x1000, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	is_int(-EINVAL, pop_fresh(), "indirect without the feature");

	fresh_queue();
	set_desc(DATA + 0x1000, 0, DATA, 8, VRING_DESC_F_NEXT, 0);
	set_desc(DESC, 0, DATA + 0x1000, 32, VRING_DESC_F_INDIRECT, 0);
	offer(0);
	is_int(-EINVAL, pop_fresh(), "a loop inside an indirect table");

	/* A ring outside guest RAM. */
	fresh_queue();
	vq.avail = 16 * MiB - 2;
	is_int(-EFAULT, pop_fresh(), "an avail ring past the end of RAM is a refused DMA");
	ok(vq.broken, "... which stops the queue (the transport reports DEVICE_NEEDS_RESET)");
	is_int(0, pop_fresh(), "... for good");

	/* Rings whose indexing would wrap past 2^64 to address 0. */
	fresh_queue();
	memcpy(guest_mem_ptr(&mem, 0, 8), "\x01\x00\x01\x00\x00\x00\x00\x00", 8);   /* at GPA 0 */
	vq.avail = UINT64_MAX - 3;   /* flags and idx below 2^64, the ring itself at 0 */
	is_int(-EINVAL, pop_fresh(), "an avail ring that wraps past 2^64 breaks the queue");
	fresh_queue();
	vq.used = UINT64_MAX - 7;
	is_int(-EINVAL, pop_fresh(), "a used ring that wraps");
	fresh_queue();
	vq.desc = UINT64_MAX - 15 * QSZ;
	is_int(-EINVAL, pop_fresh(), "a descriptor table that wraps");
	fresh_queue();
	vq.used = UINT64_MAX - 7;
	is_int(-EFAULT, vq_push(&vq, 0, 0), "a push into a used ring that wraps is refused");
	ok(vq.broken, "... and breaks the queue");

	/* A used ring the device cannot write. */
	fresh_queue();
	set_desc(DESC, 0, DATA, 16, 0, 0);
	offer(0);
	is_int(1, pop_fresh(), "a chain pops");
	vq.used = 16 * MiB - 4;   /* its entries past the end of RAM */
	is_int(-EFAULT, vq_push(&vq, 0, 0), "the used entry cannot be written");
	ok(vq.broken && vq.broken_why, "... which breaks the queue (%s)", vq.broken_why);

	/* Event index: a kick is requested at the next entry. */
	fresh_queue();
	vq.event_idx = true;
	is_int(0, pop_fresh(), "empty ring with EVENT_IDX");
	is_int(0, le16toh(*(uint16_t *)guest_mem_ptr(&mem, USED + 4 + 8 * QSZ, 2)),
	       "avail_event written (= last_avail)");

	/* Behind an IOMMU: rings reached only through mappings. */
	{
		struct viommu_config cfg;
		struct viommu *v;
		struct virtio_iommu_req_attach at = { .head.type = VIRTIO_IOMMU_T_ATTACH,
						      .domain = htole32(1), .endpoint = htole32(0x10) };
		struct virtio_iommu_req_map map = { .head.type = VIRTIO_IOMMU_T_MAP, .domain = htole32(1),
			.virt_start = htole64(0x100000), .virt_end = htole64(0x100000 + 0x3000 - 1),
			.phys_start = htole64(DESC),
			.flags = htole32(VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE) };
		struct virtio_iommu_req_unmap unmap = { .head.type = VIRTIO_IOMMU_T_UNMAP,
			.domain = htole32(1), .virt_start = htole64(0x100000),
			.virt_end = htole64(0x100000 + 0x3000 - 1) };

		viommu_default_config(&cfg);
		v = viommu_create(&cfg, &mops, &mem);
		viommu_add_endpoint(v, 0x10, "test");
		dma.endpoint = 0x10;
		if (dma_attach_iommu(&dma, v))
			bail("dma_attach_iommu");
		fresh_queue();
		vq.desc = 0x100000;
		vq.avail = 0x101000;
		vq.used = 0x102000;
		set_desc(DESC, 0, DATA, 16, 0, 0);
		offer(0);
		is_int(-EFAULT, pop_fresh(), "unattached endpoint: the ring read is refused");
		ok(vq.broken, "... which breaks the queue");
		fresh_queue();   /* the driver resets the device */
		vq.desc = 0x100000;
		vq.avail = 0x101000;
		vq.used = 0x102000;
		set_desc(DESC, 0, DATA, 16, 0, 0);
		offer(0);
		is_int(0, iommu_req(v, &at, sizeof(at)), "attach");
		is_int(0, iommu_req(v, &map, sizeof(map)), "map the rings");
		is_int(1, pop_fresh(), "now the chain pops through the IOMMU");
		is_int(0, iommu_req(v, &unmap, sizeof(unmap)), "unmap the rings");
		offer(0);
		is_int(-EFAULT, pop_fresh(), "after UNMAP the very next ring access is refused");
		dma_detach_iommu(&dma);
		viommu_destroy(v);
	}
	guest_mem_free(&mem);
	return 0;
}
