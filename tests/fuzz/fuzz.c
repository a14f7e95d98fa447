/* SPDX-License-Identifier: MIT */
/* What the device-side fuzz targets share: see fuzz.h. */
#include "tests/fuzz/fuzz.h"
#include "tests/unit/viommu-util.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>

bool fuzz_trace;

/* ---- input */

void fuzz_take(struct fuzz_in *in, void *dst, size_t n)
{
	size_t k = n < in->left ? n : in->left;

	memset(dst, 0, n);
	memcpy(dst, in->p, k);
	in->p += k;
	in->left -= k;
}

uint8_t fuzz_u8(struct fuzz_in *in)
{
	uint8_t v;

	fuzz_take(in, &v, sizeof(v));
	return v;
}

uint16_t fuzz_u16(struct fuzz_in *in)
{
	uint16_t v;

	fuzz_take(in, &v, sizeof(v));
	return le16toh(v);
}

uint32_t fuzz_u32(struct fuzz_in *in)
{
	uint32_t v;

	fuzz_take(in, &v, sizeof(v));
	return le32toh(v);
}

uint64_t fuzz_u64(struct fuzz_in *in)
{
	uint64_t v;

	fuzz_take(in, &v, sizeof(v));
	return le64toh(v);
}

void fuzz_fail(const char *what, const char *file, int line)
{
	fprintf(stderr, "fuzz: invariant violated at %s:%d: %s\n", file, line, what);
	abort();
}

/* ---- guest RAM */

static void ram_init(struct guest_mem *mem)
{
	memset(mem, 0, sizeof(*mem));
	mem->region[0] = (struct guest_region){ .gpa = 0, .size = FUZZ_LOW_RAM,
						.hva = calloc(1, FUZZ_LOW_RAM) };
	mem->region[1] = (struct guest_region){ .gpa = HIGH_RAM_START, .size = FUZZ_HIGH_RAM,
						.hva = calloc(1, FUZZ_HIGH_RAM) };
	FUZZ_CHECK(mem->region[0].hva && mem->region[1].hva);
	mem->nr_regions = 2;
	mem->total = FUZZ_LOW_RAM + FUZZ_HIGH_RAM;
}

void fuzz_ram_start(struct guest_mem *ram)
{
	if (!ram->nr_regions) {
		ram_init(ram);
		log_max_level = LOG_ERR;   /* the guest's misdeeds are the point */
	}
	for (unsigned int i = 0; i < ram->nr_regions; i++)
		memset(ram->region[i].hva, 0, ram->region[i].size);
}

void fuzz_ram_copy(struct guest_mem *dst, const struct guest_mem *src)
{
	if (!dst->nr_regions)
		ram_init(dst);
	for (unsigned int i = 0; i < src->nr_regions; i++)
		memcpy(dst->region[i].hva, src->region[i].hva, src->region[i].size);
}

bool fuzz_ram_equal(const struct guest_mem *a, const struct guest_mem *b)
{
	for (unsigned int i = 0; i < a->nr_regions; i++)
		if (memcmp(a->region[i].hva, b->region[i].hva, a->region[i].size))
			return false;
	return true;
}

uint64_t fuzz_phys_page(unsigned int i)
{
	const unsigned int low = FUZZ_LOW_RAM / FUZZ_PAGE, high = FUZZ_HIGH_RAM / FUZZ_PAGE;

	i %= 16;
	if (i < low)
		return (uint64_t)i * FUZZ_PAGE;
	if (i < low + high)
		return HIGH_RAM_START + (uint64_t)(i - low) * FUZZ_PAGE;
	return FUZZ_LOW_RAM + (uint64_t)(i - low - high) * FUZZ_PAGE;
}

uint64_t fuzz_iova_page(uint16_t page)
{
	if (page >= 0xff00)
		return 0 - ((uint64_t)(0x10000u - page) << 12);
	return (uint64_t)page << 12;
}

/* ---- IOMMU */

static bool fuzz_is_ram(void *opaque, uint64_t gpa, uint64_t len)
{
	return guest_mem_is_ram(opaque, gpa, len);
}

static const struct viommu_host_ops fuzz_host_ops = { .is_ram = fuzz_is_ram };

static void count_violation(void *opaque, const struct viommu_violation_record *r)
{
	struct fuzz_iommu *fi = opaque;

	__atomic_fetch_add(&fi->violations, 1, __ATOMIC_SEQ_CST);
	if (r->origin == VIOMMU_ORIGIN_DMA || r->origin == VIOMMU_ORIGIN_DEVICE)
		__atomic_fetch_add(&fi->dma_violations, 1, __ATOMIC_SEQ_CST);
	if (r->origin == VIOMMU_ORIGIN_LEAK)
		__atomic_fetch_add(&fi->leak_violations, 1, __ATOMIC_SEQ_CST);
	if (fi->on_violation)
		fi->on_violation(fi->opaque, r);
}

/*
 * One device for the whole process, reset for each input: a struct viommu
 * holds its violation records inline (about 400 KiB), and allocating and
 * freeing that per input took two thirds of the time.  Endpoints stay
 * registered across resets, as in vmm.
 */
static struct viommu *shared_viommu;
static const struct guest_mem *shared_mem;

void fuzz_iommu_create(struct fuzz_iommu *fi, const struct guest_mem *mem, size_t pool_bytes)
{
	struct viommu_config cfg;

	memset(fi, 0, sizeof(*fi));
	fuzz_trace = getenv("FUZZ_TRACE") != NULL;
	fi->mem = mem;
	if (!shared_viommu) {
		viommu_default_config(&cfg);
		shared_viommu = viommu_create(&cfg, &fuzz_host_ops, (void *)mem);
		shared_mem = mem;
	}
	FUZZ_CHECK(shared_viommu != NULL && shared_mem == mem);
	fi->v = shared_viommu;
	viommu_reset(fi->v);
	viommu_set_violation_cb(fi->v, count_violation, fi);
	if (pool_bytes) {
		fi->pool = swiotlb_pool_create(pool_bytes);
		FUZZ_CHECK(fi->pool != NULL);
	}
}

void fuzz_iommu_destroy(struct fuzz_iommu *fi)
{
	viommu_set_violation_cb(fi->v, NULL, NULL);
	swiotlb_pool_destroy(fi->pool);
	memset(fi, 0, sizeof(*fi));
}

void fuzz_dma_setup(struct fuzz_iommu *fi, struct dma_space *d, uint32_t endpoint,
		    const char *name, bool behind_iommu, bool bounce)
{
	*d = (struct dma_space){
		.mem = fi->mem,
		.iommu = behind_iommu ? fi->v : NULL,
		.endpoint = endpoint,
	};
	if (behind_iommu) {
		int ret = viommu_add_endpoint(fi->v, endpoint, name);

		FUZZ_CHECK(ret == 0 || ret == -EEXIST);   /* -EEXIST: an earlier input's */
		FUZZ_CHECK(dma_attach_iommu(d, fi->v) == 0);
	}
	if (bounce && fi->pool) {
		d->bounce = swiotlb_account_create(fi->pool, name);
		FUZZ_CHECK(d->bounce != NULL);
	}
}

void fuzz_dma_teardown(struct dma_space *d)
{
	if (d->port)
		dma_detach_iommu(d);
}

static int answered(int ret)
{
	FUZZ_CHECK(ret >= 0);   /* -1: the device wrote no tail */
	return ret;
}

int fuzz_req_attach(struct fuzz_iommu *fi, uint32_t domain, uint32_t endpoint)
{
	return answered(req_attach(fi->v, domain, endpoint, 0));
}

static int iommu_op(struct fuzz_iommu *fi, enum fuzz_op op, uint32_t endpoint,
		    struct fuzz_in *in)
{
	switch (op) {
	case FUZZ_OP_MAP: {
		uint64_t iova = fuzz_iova_page(fuzz_u16(in));
		uint64_t phys = fuzz_phys_page(fuzz_u8(in));
		uint64_t bytes = (1u + fuzz_u8(in) % 16) * (uint64_t)FUZZ_PAGE;
		uint32_t flags = fuzz_u8(in) % 8;
		uint32_t domain = 1 + fuzz_u8(in) % 2;

		return answered(req_map(fi->v, domain, iova, iova + bytes - 1, phys, flags));
	}
	case FUZZ_OP_UNMAP: {
		uint64_t iova = fuzz_iova_page(fuzz_u16(in));
		uint64_t bytes = (1u + fuzz_u8(in) % 16) * (uint64_t)FUZZ_PAGE;
		uint32_t domain = 1 + fuzz_u8(in) % 2;

		return answered(req_unmap(fi->v, domain, iova, iova + bytes - 1));
	}
	case FUZZ_OP_ATTACH:
	default:
		switch (fuzz_u8(in) % 4) {
		case 0:  return answered(req_detach(fi->v, 1, endpoint));
		case 1:  return answered(req_detach(fi->v, 2, endpoint));
		case 2:  return fuzz_req_attach(fi, 1, endpoint);
		default: return fuzz_req_attach(fi, 2, endpoint);
		}
	}
}

int fuzz_iommu_op(struct fuzz_iommu *fi, struct fuzz_oracle *o, enum fuzz_op op,
		  uint32_t endpoint, struct fuzz_in *in)
{
	int status = iommu_op(fi, op, endpoint, in);

	FUZZ_TRACE("iommu %s: status %d\n", op == FUZZ_OP_MAP ? "map" :
		   op == FUZZ_OP_UNMAP ? "unmap" : "attach/detach", status);
	fuzz_oracle_refresh(o, fi, endpoint);
	return status;
}

/* ---- the oracle */

void fuzz_oracle_init(struct fuzz_oracle *o, const struct guest_mem *mem, bool iommu)
{
	memset(o, 0, sizeof(*o));
	o->mem = mem;
	o->iommu = iommu;
}

static void add_mapping(void *opaque, uint64_t start, uint64_t end, uint64_t phys, uint32_t flags)
{
	struct fuzz_oracle *o = opaque;

	if (o->n == FUZZ_MAX_MAPS) {
		o->overflow = true;
		return;
	}
	/* Listed in IOVA order, disjoint: the lookups below rely on it. */
	FUZZ_CHECK(start <= end && (!o->n || start > o->m[o->n - 1].end));
	o->m[o->n].start = start;
	o->m[o->n].end = end;
	o->m[o->n].phys = phys;
	o->m[o->n].flags = flags;
	o->n++;
}

void fuzz_oracle_refresh(struct fuzz_oracle *o, struct fuzz_iommu *fi, uint32_t endpoint)
{
	o->n = 0;
	o->overflow = false;
	if (o->iommu)
		viommu_endpoint_live_mappings(fi->v, endpoint, add_mapping, o);
}

/* The mapping holding addr, or -1. */
static int find(const struct fuzz_oracle *o, uint64_t addr)
{
	unsigned int lo = 0, hi = o->n;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (o->m[mid].end < addr)
			lo = mid + 1;
		else if (o->m[mid].start > addr)
			hi = mid;
		else
			return (int)mid;
	}
	return -1;
}

static bool permits(uint32_t flags, unsigned int access)
{
	if ((access & VIOMMU_READ) && !(flags & VIRTIO_IOMMU_MAP_F_READ))
		return false;
	if ((access & VIOMMU_WRITE) && !(flags & VIRTIO_IOMMU_MAP_F_WRITE))
		return false;
	return true;
}

/*
 * Walk the DMA [addr, addr + len) piece by piece (one mapping, or all of
 * it without the IOMMU): false at the first piece that is refused; with
 * `ram`, copy each piece from/to it (only call that after a dry run).
 */
static bool walk(const struct fuzz_oracle *o, uint64_t addr, uint64_t len, unsigned int access,
		 const struct guest_mem *ram, uint8_t *buf, bool to_ram)
{
	uint64_t done = 0;

	if (!len)
		return true;
	if (len - 1 > UINT64_MAX - addr)
		return false;   /* bytes past 2^64 exist nowhere */
	while (done < len) {
		uint64_t cur = addr + done, gpa, n = len - done;

		if (o->iommu) {
			int i = find(o, cur);

			if (i < 0 || !permits(o->m[i].flags, access))
				return false;
			if (n - 1 > o->m[i].end - cur)
				n = o->m[i].end - cur + 1;
			gpa = o->m[i].phys + (cur - o->m[i].start);
		} else {
			gpa = cur;
		}
		if (!guest_mem_is_ram(o->mem, gpa, n))
			return false;
		if (ram) {
			uint8_t *p = guest_mem_ptr(ram, gpa, n);

			if (to_ram)
				memcpy(p, buf + done, n);
			else
				memcpy(buf + done, p, n);
		}
		done += n;
	}
	return true;
}

bool fuzz_oracle_allows(const struct fuzz_oracle *o, uint64_t addr, uint64_t len,
			unsigned int access)
{
	return walk(o, addr, len, access, NULL, NULL, false);
}

bool fuzz_oracle_read(const struct fuzz_oracle *o, const struct guest_mem *ram, uint64_t addr,
		      void *buf, uint64_t len)
{
	if (!walk(o, addr, len, VIOMMU_READ, NULL, NULL, false))
		return false;
	return walk(o, addr, len, VIOMMU_READ, ram, buf, false);
}

bool fuzz_oracle_write(const struct fuzz_oracle *o, const struct guest_mem *ram, uint64_t addr,
		       const void *buf, uint64_t len)
{
	if (!walk(o, addr, len, VIOMMU_WRITE, NULL, NULL, false))
		return false;
	return walk(o, addr, len, VIOMMU_WRITE, ram, (uint8_t *)buf, true);
}

void fuzz_driver_write(const struct fuzz_oracle *o, const struct guest_mem *ram, uint64_t addr,
		       const void *buf, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++) {
		uint64_t gpa = addr + i;
		uint8_t *p;

		if (o->iommu) {
			int m = find(o, addr + i);

			if (m < 0)
				continue;
			gpa = o->m[m].phys + (addr + i - o->m[m].start);
		}
		p = guest_mem_ptr(ram, gpa, 1);
		if (p)
			*p = ((const uint8_t *)buf)[i];
	}
}

static void driver_write16(const struct fuzz_oracle *o, const struct guest_mem *ram,
			   uint64_t addr, uint16_t v)
{
	uint16_t le = htole16(v);

	fuzz_driver_write(o, ram, addr, &le, sizeof(le));
}

void fuzz_ring_op(const struct fuzz_oracle *o, const struct guest_mem *ram, struct fuzz_ring *r,
		  enum fuzz_op op, struct fuzz_in *in)
{
	uint16_t size = r->size ? r->size : 1;

	switch (op) {
	case FUZZ_OP_DESC: {
		uint64_t table = fuzz_u64(in);
		uint16_t idx = fuzz_u16(in);
		struct {
			uint64_t addr;
			uint32_t len;
			uint16_t flags, next;
		} d;

		d.addr = htole64(fuzz_u64(in));
		d.len = htole32(fuzz_u32(in));
		d.flags = htole16(fuzz_u16(in));
		d.next = htole16(fuzz_u16(in));
		fuzz_driver_write(o, ram, (table ? table : r->desc) + 16ull * idx, &d, sizeof(d));
		break;
	}
	case FUZZ_OP_AVAIL: {
		uint8_t what = fuzz_u8(in) % 4;
		uint16_t v = fuzz_u16(in);

		if (what == 0) {
			driver_write16(o, ram, r->avail + 4 + 2u * (r->avail_idx % size), v);
			driver_write16(o, ram, r->avail + 2, ++r->avail_idx);
		} else if (what == 1) {
			r->avail_idx = v;
			driver_write16(o, ram, r->avail + 2, v);
		} else {
			driver_write16(o, ram, what == 2 ? r->avail : r->avail + 4 + 2u * size, v);
		}
		break;
	}
	case FUZZ_OP_POKE:
	default: {
		uint64_t addr = fuzz_u64(in);
		uint8_t len = fuzz_u8(in), bytes[255];

		fuzz_take(in, bytes, len);
		fuzz_driver_write(o, ram, addr, bytes, len);
		break;
	}
	}
}

/* RAM page number of gpa (low pages first, then high), or -1. */
static int ram_page(const struct guest_mem *mem, uint64_t gpa)
{
	if (!guest_mem_is_ram(mem, gpa, 1))
		return -1;
	if (gpa < FUZZ_LOW_RAM)
		return (int)(gpa / FUZZ_PAGE);
	return (int)(FUZZ_LOW_RAM / FUZZ_PAGE + (gpa - HIGH_RAM_START) / FUZZ_PAGE);
}

void fuzz_check_device_writes(const struct fuzz_oracle *o, const struct guest_mem *before,
			      const struct guest_mem *after)
{
	bool writable[(FUZZ_LOW_RAM + FUZZ_HIGH_RAM) / FUZZ_PAGE] = { false };

	if (fuzz_ram_equal(before, after) || !o->iommu || o->overflow)
		return;
	/* Mappings are whole pages here (4 KiB granule): mark the RAM pages
	 * behind every writable one. */
	for (unsigned int i = 0; i < o->n; i++) {
		if (!(o->m[i].flags & VIRTIO_IOMMU_MAP_F_WRITE))
			continue;
		uint64_t last = o->m[i].end - o->m[i].start;   /* offset of its last byte */

		for (uint64_t off = 0;; off += FUZZ_PAGE) {
			int p = ram_page(o->mem, o->m[i].phys + off);

			if (p >= 0)
				writable[p] = true;
			if (last - off < FUZZ_PAGE)
				break;
		}
	}
	for (unsigned int r = 0; r < before->nr_regions; r++) {
		const uint8_t *b = before->region[r].hva, *a = after->region[r].hva;

		for (uint64_t i = 0; i < before->region[r].size; i++) {
			if (a[i] == b[i])
				continue;
			if (!writable[ram_page(o->mem, before->region[r].gpa + i)]) {
				fprintf(stderr, "fuzz: the device wrote GPA %#llx, which no writable "
					"mapping covers\n",
					(unsigned long long)(before->region[r].gpa + i));
				FUZZ_CHECK(!"device write outside every writable mapping");
			}
		}
	}
}

/* ---- the driver of a virtio-pci device */

uint64_t fuzz_vpci_read(struct pci_bus *bus, struct virtio_dev *vd, unsigned int off,
			unsigned int size)
{
	uint64_t v = 0;

	pci_mmio_access(bus, vd->pci.bar[0].addr + off, false, size, &v);
	return v;
}

void fuzz_vpci_write(struct pci_bus *bus, struct virtio_dev *vd, unsigned int off,
		     unsigned int size, uint64_t val)
{
	pci_mmio_access(bus, vd->pci.bar[0].addr + off, true, size, &val);
}

#define DRIVER_STATUS (VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER | \
		       VIRTIO_CONFIG_S_FEATURES_OK)

void fuzz_vpci_features(struct pci_bus *bus, struct virtio_dev *vd, uint64_t refuse)
{
	fuzz_vpci_write(bus, vd, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	fuzz_vpci_write(bus, vd, VIRTIO_PCI_COMMON_STATUS, 1,
			VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	for (unsigned int sel = 0; sel < 2; sel++) {
		fuzz_vpci_write(bus, vd, VIRTIO_PCI_COMMON_DFSELECT, 4, sel);
		fuzz_vpci_write(bus, vd, VIRTIO_PCI_COMMON_GFSELECT, 4, sel);
		fuzz_vpci_write(bus, vd, VIRTIO_PCI_COMMON_GF, 4,
				fuzz_vpci_read(bus, vd, VIRTIO_PCI_COMMON_DF, 4) &
				~(uint32_t)(refuse >> (32 * sel)));
	}
	fuzz_vpci_write(bus, vd, VIRTIO_PCI_COMMON_STATUS, 1, DRIVER_STATUS);
	FUZZ_CHECK(fuzz_vpci_read(bus, vd, VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK);
}

void fuzz_vpci_queue(struct pci_bus *bus, struct virtio_dev *vd, unsigned int q, uint16_t size,
		     uint64_t desc, uint64_t avail, uint64_t used, struct fuzz_ring *ring)
{
	fuzz_vpci_write(bus, vd, VIRTIO_PCI_COMMON_Q_SELECT, 2, q);
	fuzz_vpci_write(bus, vd, VIRTIO_PCI_COMMON_Q_SIZE, 2, size);
	fuzz_vpci_write(bus, vd, VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)desc);
	fuzz_vpci_write(bus, vd, VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)avail);
	fuzz_vpci_write(bus, vd, VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)used);
	fuzz_vpci_write(bus, vd, VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	*ring = (struct fuzz_ring){ .desc = desc, .avail = avail, .used = used, .size = size };
}

void fuzz_vpci_driver_ok(struct pci_bus *bus, struct virtio_dev *vd)
{
	fuzz_vpci_write(bus, vd, VIRTIO_PCI_COMMON_STATUS, 1, DRIVER_STATUS | VIRTIO_CONFIG_S_DRIVER_OK);
}

int fuzz_no_ioeventfd(void *opaque, uint64_t gpa, unsigned int len, int fd, bool assign)
{
	(void)opaque, (void)gpa, (void)len, (void)fd, (void)assign;
	return -ENOSYS;
}
