/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the split-virtqueue walker (vmm/virtqueue.c) against
 * hostile rings, with the device's DMA translated by the real virtio-iommu
 * and staged through the real bounce pool, and mappings that come and go
 * between the device's accesses.  Input format: tests/fuzz/virtqueue-format.h.
 *
 * Beyond "no crash" (ASan, UBSan), it checks each device access against an
 * oracle built only from the IOMMU's list of live mappings:
 * - a popped element is the chain the driver wrote (direct or indirect),
 *   its totals add up, readable before writable, last_avail + 1;
 *   a malformed one (-EINVAL) and only that marks the queue broken;
 * - vq_elem_read() returns exactly the bytes the mappings lead to, or
 *   fails where the oracle says some byte may not be read, or -ERANGE;
 * - vq_elem_write() changes guest RAM exactly as the oracle says,
 *   chunk by chunk up to the first refused one: a refused DMA writes
 *   nothing;
 * - vq_push() writes the used element and the index where they belong;
 * - after every operation, every byte the device changed is under a
 *   mapping with WRITE permission.
 */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/virtqueue-format.h"
#include "vmm/virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include <linux/virtio_ring.h>

#define POOL_BYTES SWIOTLB_MIN_POOL

static struct {
	struct guest_mem ram, before, expect;
	struct fuzz_iommu fi;
	struct fuzz_oracle o;
	struct dma_space dma;
	struct virtqueue vq;
	struct vq_elem elem[VQF_SLOTS], tmp;
	bool have[VQF_SLOTS];
	struct fuzz_ring ring;        /* the driver's side */
	uint8_t buf[VQF_MAX_XFER], model[VQF_MAX_XFER];
} h;

/* ---- helpers */

/* base + off, or false if that wraps past 2^64: nothing is there. */
static bool add_addr(uint64_t base, uint64_t off, uint64_t *out)
{
	*out = base + off;
	return *out >= base;
}

/* The three rings, event-idx fields included (virtio 2.7), end below 2^64. */
static bool rings_fit(void)
{
	uint64_t n = h.vq.size, end;

	return add_addr(h.vq.desc, 16 * n - 1, &end) && add_addr(h.vq.avail, 6 + 2 * n - 1, &end) &&
	       add_addr(h.vq.used, 6 + 8 * n - 1, &end);
}

/* What the device reads of a descriptor, from guest RAM as it is now. */
static bool model_desc(uint64_t table, uint32_t idx, struct vring_desc *d)
{
	uint64_t at;

	if (!add_addr(table, (uint64_t)idx * sizeof(*d), &at) ||
	    !fuzz_oracle_read(&h.o, &h.ram, at, d, sizeof(*d)))
		return false;
	d->addr = le64toh(d->addr);
	d->len = le32toh(d->len);
	d->flags = le16toh(d->flags);
	d->next = le16toh(d->next);
	return true;
}

static bool same_seg(const struct vq_seg *s, const struct vring_desc *d)
{
	return s->addr == d->addr && s->len == d->len &&
	       s->write == !!(d->flags & VRING_DESC_F_WRITE);
}

/* A popped element is the chain the driver put at its head. */
static void check_popped(const struct vq_elem *e, uint16_t last_avail)
{
	uint64_t readable = 0, writable = 0, at;
	uint16_t head, idx;
	unsigned int i = 0;
	bool seen_write = false;

	FUZZ_CHECK(e->nseg >= 1 && e->nseg <= VQ_MAX_SEGS && e->head < h.vq.size);
	for (unsigned int k = 0; k < e->nseg; k++) {
		if (e->seg[k].write) {
			writable += e->seg[k].len;
			seen_write = true;
		} else {
			FUZZ_CHECK(!seen_write);   /* readable before writable */
			readable += e->seg[k].len;
		}
	}
	FUZZ_CHECK(readable == e->readable && writable == e->writable);

	/* The head came from the available ring's entry last_avail. */
	FUZZ_CHECK(add_addr(h.vq.avail, 4 + 2u * (last_avail % h.vq.size), &at));
	FUZZ_CHECK(fuzz_oracle_read(&h.o, &h.ram, at, &head, sizeof(head)));
	FUZZ_CHECK(le16toh(head) == e->head);
	/* Walk the chain the way the spec describes it. */
	idx = e->head;
	for (;;) {
		struct vring_desc d;

		FUZZ_CHECK(i < e->nseg && model_desc(h.vq.desc, idx, &d));
		if (d.flags & VRING_DESC_F_INDIRECT) {
			uint32_t j = 0;

			FUZZ_CHECK(h.vq.indirect && !(d.flags & VRING_DESC_F_NEXT));
			for (;;) {
				struct vring_desc x;

				FUZZ_CHECK(i < e->nseg && j < d.len / sizeof(x) &&
					   model_desc(d.addr, j, &x));
				FUZZ_CHECK(!(x.flags & VRING_DESC_F_INDIRECT) && same_seg(&e->seg[i++], &x));
				if (!(x.flags & VRING_DESC_F_NEXT))
					break;
				j = x.next;
			}
			break;
		}
		FUZZ_CHECK(same_seg(&e->seg[i++], &d));
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		idx = d.next;
		FUZZ_CHECK(idx < h.vq.size);
	}
	FUZZ_CHECK(i == e->nseg);
}

/*
 * What vq_elem_read/write should do: 0, 1 (a chunk is refused), 2
 * (-ERANGE: not enough bytes).  Reads fill h.model; writes go into
 * h.expect chunk by chunk, up to the first refused one.
 */
static int model_copy(const struct vq_elem *e, bool write, uint64_t offset, size_t len,
		      const uint8_t *data)
{
	size_t done = 0;

	for (unsigned int i = 0; i < e->nseg && done < len; i++) {
		const struct vq_seg *s = &e->seg[i];
		uint64_t n, addr;

		if (s->write != write)
			continue;
		if (offset >= s->len) {
			offset -= s->len;
			continue;
		}
		n = s->len - offset;
		if (n > len - done)
			n = len - done;
		if (!add_addr(s->addr, offset, &addr))
			return 1;
		if (write ? !fuzz_oracle_write(&h.o, &h.expect, addr, data + done, n)
			  : !fuzz_oracle_read(&h.o, &h.ram, addr, h.model + done, n))
			return 1;
		done += n;
		offset = 0;
	}
	return done == len ? 0 : 2;
}

static void check_result(int model, int ret)
{
	if (model == 0)
		FUZZ_CHECK(ret == 0);
	else if (model == 2)
		FUZZ_CHECK(ret == -ERANGE);
	else
		FUZZ_CHECK(ret < 0 && ret != -ERANGE);
}

/* ---- operations */

static void op_queue(struct fuzz_in *in, uint8_t cfg)
{
	unsigned int log2 = fuzz_u8(in) % 9;

	vq_reset(&h.vq);
	h.vq.size = (uint16_t)(1u << log2);
	h.vq.desc = fuzz_u64(in);
	h.vq.avail = fuzz_u64(in);
	h.vq.used = fuzz_u64(in);
	h.vq.event_idx = cfg & VQF_CFG_EVENT_IDX;
	h.vq.indirect = cfg & VQF_CFG_INDIRECT;
	h.vq.enabled = true;
	h.ring = (struct fuzz_ring){ .desc = h.vq.desc, .avail = h.vq.avail, .used = h.vq.used,
				     .size = h.vq.size };
}

static void op_pop(struct fuzz_in *in)
{
	unsigned int slot = fuzz_u8(in) % VQF_SLOTS;
	uint16_t last = h.vq.last_avail, le = htole16(last);
	bool was_broken = h.vq.broken;
	struct vq_elem *e = &h.elem[slot];
	uint64_t at;
	int ret;

	ret = vq_pop(&h.vq, e);
	FUZZ_CHECK(ret == 1 || ret == 0 || ret == -EFAULT || ret == -EINVAL);
	if (was_broken)
		FUZZ_CHECK(ret == 0);
	/* Malformed (-EINVAL) or a ring access refused (-EFAULT): broken. */
	FUZZ_CHECK((ret < 0) == (h.vq.broken && !was_broken));
	FUZZ_CHECK(h.vq.last_avail == (uint16_t)(last + (ret == 1)));
	/* The only store a pop makes: avail_event, with EVENT_IDX. */
	if (!fuzz_ram_equal(&h.ram, &h.before)) {
		FUZZ_CHECK(h.vq.event_idx && add_addr(h.vq.used, 4 + 8u * h.vq.size, &at));
		fuzz_ram_copy(&h.expect, &h.before);
		FUZZ_CHECK(fuzz_oracle_write(&h.o, &h.expect, at, &le, sizeof(le)));
		FUZZ_CHECK(fuzz_ram_equal(&h.ram, &h.expect));
	}
	FUZZ_TRACE("pop -> %d (%u segments)\n", ret, ret == 1 ? e->nseg : 0);
	h.have[slot] = ret == 1;
	if (ret == 1)
		check_popped(e, last);
}

static void op_read(struct fuzz_in *in)
{
	unsigned int slot = fuzz_u8(in) % VQF_SLOTS;
	uint32_t offset = fuzz_u32(in);
	size_t len = fuzz_u16(in) % (VQF_MAX_XFER + 1);
	int model, ret;

	if (!h.have[slot])
		return;
	model = model_copy(&h.elem[slot], false, offset, len, NULL);
	memset(h.buf, 0xee, len);
	ret = vq_elem_read(&h.vq, &h.elem[slot], offset, h.buf, len);
	FUZZ_TRACE("read %zu at %u -> %d (model %d)\n", len, offset, ret, model);
	check_result(model, ret);
	if (ret == 0)
		FUZZ_CHECK(!memcmp(h.buf, h.model, len));
	FUZZ_CHECK(fuzz_ram_equal(&h.ram, &h.before));
}

static void op_write(struct fuzz_in *in)
{
	unsigned int slot = fuzz_u8(in) % VQF_SLOTS;
	uint32_t offset = fuzz_u32(in);
	size_t len = fuzz_u16(in) % (VQF_MAX_XFER + 1);
	uint8_t byte = fuzz_u8(in);
	int model, ret;

	if (!h.have[slot])
		return;
	for (size_t i = 0; i < len; i++)
		h.buf[i] = (uint8_t)(byte + i);
	fuzz_ram_copy(&h.expect, &h.before);
	model = model_copy(&h.elem[slot], true, offset, len, h.buf);
	ret = vq_elem_write(&h.vq, &h.elem[slot], offset, h.buf, len);
	FUZZ_TRACE("write %zu at %u -> %d (model %d)\n", len, offset, ret, model);
	check_result(model, ret);
	/* Exactly the chunks the oracle allowed, up to the first refused one. */
	FUZZ_CHECK(fuzz_ram_equal(&h.ram, &h.expect));
}

static void op_push(struct fuzz_in *in)
{
	unsigned int slot = fuzz_u8(in) % VQF_SLOTS;
	uint32_t len = fuzz_u32(in);
	struct vring_used_elem u = { .id = htole32(h.elem[slot].head), .len = htole32(len) };
	uint16_t idx = htole16((uint16_t)(h.vq.used_idx + 1));
	uint64_t slot_at, idx_at;
	bool ok;
	int ret;

	if (!h.have[slot])
		return;
	/* Nothing on a broken queue; else the entry, then the index. */
	fuzz_ram_copy(&h.expect, &h.before);
	ok = !h.vq.broken && rings_fit() &&
	     add_addr(h.vq.used, 4 + 8u * (h.vq.used_idx % h.vq.size), &slot_at) &&
	     fuzz_oracle_write(&h.o, &h.expect, slot_at, &u, sizeof(u));
	ok = ok && add_addr(h.vq.used, 2, &idx_at) &&
	     fuzz_oracle_write(&h.o, &h.expect, idx_at, &idx, sizeof(idx));
	ret = vq_push(&h.vq, h.elem[slot].head, len);
	FUZZ_TRACE("push -> %d\n", ret);
	FUZZ_CHECK(ok ? ret == 0 : ret < 0 && h.vq.broken);
	FUZZ_CHECK(fuzz_ram_equal(&h.ram, &h.expect));
}

static void op_notify(void)
{
	uint16_t flags;
	bool notify = vq_should_notify(&h.vq);

	/* Without EVENT_IDX the answer is the driver's NO_INTERRUPT flag. */
	if (!h.vq.event_idx && fuzz_oracle_read(&h.o, &h.ram, h.vq.avail, &flags, sizeof(flags)))
		FUZZ_CHECK(notify == !(le16toh(flags) & VRING_AVAIL_F_NO_INTERRUPT));
	FUZZ_CHECK(fuzz_ram_equal(&h.ram, &h.before));
}

static void op_kick(void)
{
	static const uint8_t data[64] = { 0x5a, 0xa5, 0x11, 0x22 };

	for (unsigned int k = 0; k < 2 * VQ_MAX_SIZE; k++) {
		uint32_t n;
		int ret = vq_pop(&h.vq, &h.tmp);

		FUZZ_TRACE("kick: pop -> %d\n", ret);
		if (ret != 1)
			break;
		n = h.tmp.writable < sizeof(data) ? (uint32_t)h.tmp.writable : sizeof(data);
		if (vq_elem_write(&h.vq, &h.tmp, 0, data, n))
			n = 0;
		if (vq_push(&h.vq, h.tmp.head, n))
			break;
		(void)vq_should_notify(&h.vq);
	}
}

/* ---- the target */

static void setup(uint8_t cfg)
{
	fuzz_ram_start(&h.ram);
	fuzz_iommu_create(&h.fi, &h.ram, POOL_BYTES);
	fuzz_dma_setup(&h.fi, &h.dma, VQF_ENDPOINT, "vq", !(cfg & VQF_CFG_NO_IOMMU),
		       !(cfg & VQF_CFG_NO_BOUNCE));
	fuzz_oracle_init(&h.o, &h.ram, !(cfg & VQF_CFG_NO_IOMMU));
	if (h.o.iommu)
		FUZZ_CHECK(fuzz_req_attach(&h.fi, 1, VQF_ENDPOINT) == VIRTIO_IOMMU_S_OK);
	memset(&h.vq, 0, sizeof(h.vq));
	h.vq.dma = &h.dma;
	h.vq.max_size = VQ_MAX_SIZE;
	vq_reset(&h.vq);
	memset(h.have, 0, sizeof(h.have));
	h.ring = (struct fuzz_ring){ .size = h.vq.size };
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t cfg = fuzz_u8(&in);

	setup(cfg);
	while (in.left) {
		uint8_t op = fuzz_u8(&in) % VQF_NOPS;

		FUZZ_TRACE("op %u\n", op);
		fuzz_ram_copy(&h.before, &h.ram);
		switch (op) {
		case VQF_MAP:
		case VQF_UNMAP:
		case VQF_ATTACH:
			fuzz_iommu_op(&h.fi, &h.o, op, VQF_ENDPOINT, &in);
			continue;
		case VQF_DESC:
		case VQF_AVAIL:
		case VQF_POKE:
			fuzz_ring_op(&h.o, &h.ram, &h.ring, op, &in);
			continue;
		case VQF_QUEUE:  op_queue(&in, cfg); continue;
		case VQF_POP:    op_pop(&in); break;
		case VQF_READ:   op_read(&in); break;
		case VQF_WRITE:  op_write(&in); break;
		case VQF_PUSH:   op_push(&in); break;
		case VQF_NOTIFY: op_notify(); break;
		default:         op_kick(); break;
		}
		/* Whatever the device did, it wrote only where it may. */
		fuzz_check_device_writes(&h.o, &h.before, &h.ram);
	}
	fuzz_dma_teardown(&h.dma);
	fuzz_iommu_destroy(&h.fi);
	return 0;
}
