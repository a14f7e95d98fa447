/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpus of tests/fuzz/viommu-requests.c into DIR:
 * realistic request sequences in its input format, so the fuzzer starts
 * from well-formed ATTACH/MAP/UNMAP/PROBE/translate traffic and mutates
 * from there.
 */
#include "tests/fuzz/seeds.h"
#include "viommu/viommu.h"

#include <endian.h>
#include <string.h>

static void request(struct seed *s, const void *req, size_t len, uint16_t resp_len)
{
	uint8_t hdr[4] = { 0, (uint8_t)len, (uint8_t)resp_len, (uint8_t)(resp_len >> 8) };

	seed_put(s, hdr, sizeof(hdr));
	seed_put(s, req, len);
}

static void attach(struct seed *s, uint32_t domain, uint32_t ep, uint32_t flags)
{
	struct virtio_iommu_req_attach r = {
		.head.type = VIRTIO_IOMMU_T_ATTACH, .domain = htole32(domain),
		.endpoint = htole32(ep), .flags = htole32(flags),
	};

	request(s, &r, offsetof(struct virtio_iommu_req_attach, tail), 4);
}

static void detach(struct seed *s, uint32_t domain, uint32_t ep)
{
	struct virtio_iommu_req_detach r = {
		.head.type = VIRTIO_IOMMU_T_DETACH, .domain = htole32(domain), .endpoint = htole32(ep),
	};

	request(s, &r, offsetof(struct virtio_iommu_req_detach, tail), 4);
}

static void map(struct seed *s, uint32_t domain, uint64_t vs, uint64_t ve, uint64_t phys, uint32_t flags)
{
	struct virtio_iommu_req_map r = {
		.head.type = VIRTIO_IOMMU_T_MAP, .domain = htole32(domain),
		.virt_start = htole64(vs), .virt_end = htole64(ve),
		.phys_start = htole64(phys), .flags = htole32(flags),
	};

	request(s, &r, offsetof(struct virtio_iommu_req_map, tail), 4);
}

static void unmap(struct seed *s, uint32_t domain, uint64_t vs, uint64_t ve)
{
	struct virtio_iommu_req_unmap r = {
		.head.type = VIRTIO_IOMMU_T_UNMAP, .domain = htole32(domain),
		.virt_start = htole64(vs), .virt_end = htole64(ve),
	};

	request(s, &r, offsetof(struct virtio_iommu_req_unmap, tail), 4);
}

static void probe(struct seed *s, uint32_t ep)
{
	struct virtio_iommu_req_probe r = { .head.type = VIRTIO_IOMMU_T_PROBE, .endpoint = htole32(ep) };

	request(s, &r, sizeof(r), 516);
}

static void translate(struct seed *s, uint8_t epi, uint64_t iova, uint32_t len, uint8_t access)
{
	uint8_t b[15] = { 1, epi };
	uint64_t i = htole64(iova);
	uint32_t l = htole32(len);

	memcpy(b + 2, &i, 8);
	memcpy(b + 10, &l, 4);
	b[14] = access;
	seed_put(s, b, sizeof(b));
}

static void other(struct seed *s, uint8_t what)
{
	uint8_t b[2] = { 3, what };

	seed_put(s, b, sizeof(b));
}

/* Leak check, live mappings and a device report (op 3, what 3..5). */
static void leak_check(struct seed *s, uint8_t epi, uint8_t back, uint8_t max)
{
	uint8_t b[5] = { 3, 3, epi, back, max };

	seed_put(s, b, sizeof(b));
}

static void live(struct seed *s, uint8_t epi)
{
	uint8_t b[3] = { 3, 4, epi };

	seed_put(s, b, sizeof(b));
}

static void device_report(struct seed *s, uint8_t epi, uint64_t iova, uint32_t len, uint8_t access,
			  uint8_t reason)
{
	uint8_t b[17] = { 3, 5, epi };
	uint64_t i = htole64(iova);
	uint32_t l = htole32(len);

	memcpy(b + 3, &i, 8);
	memcpy(b + 11, &l, 4);
	b[15] = access;
	b[16] = reason;
	seed_put(s, b, sizeof(b));
}

int main(int argc, char **argv)
{
	const uint8_t bypass_on[4] = { 2, 36, 1, 1 };
	struct seed s;
	const char *dir = seed_dir(argc, argv);

	/* A Linux-like session: probe, attach, map, DMA, unmap, detach. */
	seed_start(&s, 0);
	probe(&s, 0x08);
	attach(&s, 1, 0x08, 0);
	map(&s, 1, 0x100000, 0x103fff, 0x200000, 3);
	map(&s, 1, 0x104000, 0x104fff, 0x300000, 1);
	translate(&s, 0, 0x100010, 0x100, 1);
	translate(&s, 0, 0x103f00, 0x200, 2);
	translate(&s, 0, 0x50000, 8, 1);
	unmap(&s, 1, 0x100000, 0x104fff);
	translate(&s, 0, 0x100010, 0x100, 1);
	detach(&s, 1, 0x08);
	other(&s, 1);
	seed_write(dir, "session", &s);

	/* The spec's UNMAP examples with a byte granule. */
	seed_start(&s, 1);
	attach(&s, 1, 0x10, 0);
	map(&s, 1, 0, 4, 0x1000, 3);
	map(&s, 1, 5, 9, 0x2000, 3);
	unmap(&s, 1, 0, 7);
	unmap(&s, 1, 0, 4);
	map(&s, 1, 10, 14, 0x3000, 3);
	unmap(&s, 1, 0, 14);
	translate(&s, 1, 5, 5, 1);
	seed_write(dir, "unmap-examples", &s);

	/* Bypass, bypass domains, MMIO, small caps, reset. */
	seed_start(&s, 4 | 8);
	translate(&s, 2, 0x1000, 8, 1);
	seed_put(&s, bypass_on, sizeof(bypass_on));
	translate(&s, 2, 0x1000, 8, 2);
	attach(&s, 2, 0x10, VIRTIO_IOMMU_ATTACH_F_BYPASS);
	map(&s, 2, 0x1000, 0x1fff, 0x1000, 3);
	attach(&s, 3, 0x08, 0);
	map(&s, 3, 0x1000, 0x1fff, 0xfee00000, 7);
	translate(&s, 0, 0x1000, 4, 2);
	other(&s, 0);
	other(&s, 2);
	seed_write(dir, "bypass-mmio-reset", &s);

	/* The violation classes: after-unmap, bypass, past-end into an
	 * unmapped range, a MAP of non-RAM, leaks, a device report; with the
	 * tiny history so that it wraps. */
	for (unsigned int tiny = 0; tiny < 2; tiny++) {
		seed_start(&s, tiny ? 16 : 0);
		attach(&s, 1, 0x08, 0);
		attach(&s, 1, 0x10, 0);
		map(&s, 1, 0x100000, 0x100fff, 0x200000, 3);
		map(&s, 1, 0x101000, 0x101fff, 0x300000, 3);
		map(&s, 1, 0x102000, 0x102fff, 0x400000, 1);
		translate(&s, 0, 0x100000, 16, 1);
		unmap(&s, 1, 0x100000, 0x100fff);
		translate(&s, 0, 0x100010, 16, 1);
		translate(&s, 1, 0x300010, 16, 2);
		unmap(&s, 1, 0x102000, 0x102fff);
		translate(&s, 0, 0x101f00, 0x200, 1);
		translate(&s, 0, 0x101f00, 0x10, 2);
		for (unsigned int i = 0; i < 12; i++) {
			map(&s, 1, 0x200000 + i * 0x1000, 0x200fff + i * 0x1000, 0x500000, 3);
			unmap(&s, 1, 0x200000 + i * 0x1000, 0x200fff + i * 0x1000);
		}
		translate(&s, 0, 0x200010, 8, 1);
		translate(&s, 0, 0x20b010, 8, 1);
		map(&s, 1, 0x400000, 0x400fff, 0x40000000, 3);
		leak_check(&s, 0, 0, 4);
		leak_check(&s, 1, 3, 1);
		live(&s, 0);
		device_report(&s, 0, 0x101000, 64, 2, VIOMMU_V_ADDRESS_WIDTH);
		device_report(&s, 0, 0x100000, 64, 1, VIOMMU_V_ADDRESS_WIDTH);
		other(&s, 0);
		translate(&s, 0, 0x100010, 16, 1);
		seed_write(dir, tiny ? "classify-tiny" : "classify", &s);
	}
	return 0;
}
