/* SPDX-License-Identifier: MIT */
/*
 * virtio-iommu requests against the spec (virtio 1.2/1.3 "IOMMU Device"):
 * every status the device-normative sections ask for, the spec's seven
 * UNMAP examples, and a table of malformed requests.  No KVM.
 */
#include "tests/unit/viommu-util.h"
#include "tests/tap/basic.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define EP_A 0x08     /* 00:01.0 */
#define EP_B 0x10     /* 00:02.0 */
#define EP_NONE 0x99  /* not behind the IOMMU */

static struct viommu *make(const struct viommu_config *cfg)
{
	struct viommu *v = viommu_create(cfg, &test_host, NULL);

	if (!v)
		bail("viommu_create: %s", strerror(errno));
	if (viommu_add_endpoint(v, EP_A, "ep-a") || viommu_add_endpoint(v, EP_B, "ep-b"))
		bail("viommu_add_endpoint");
	return v;
}

/* Is iova mapped for EP_A (attached)?  Used to see which mappings exist. */
static bool mapped(struct viommu *v, uint64_t iova)
{
	struct test_xlate x;
	struct virtio_iommu_fault f;
	bool ok = xlate(v, EP_A, iova, 1, VIOMMU_READ, &x) == VIOMMU_OK;

	while (viommu_pop_fault(v, &f))
		;
	return ok;
}

/* Bitmask of mapped bytes 0..15 (byte granule examples). */
static unsigned int mapped_mask(struct viommu *v, uint64_t scale)
{
	unsigned int mask = 0;

	for (unsigned int i = 0; i < 16; i++)
		if (mapped(v, i * scale))
			mask |= 1u << i;
	return mask;
}

static bool all_zero_test(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static void test_config(void)
{
	struct viommu_config cfg;
	struct virtio_iommu_config c;
	struct viommu *v;
	uint8_t b;
	uint64_t f;

	viommu_default_config(&cfg);
	v = make(&cfg);
	f = viommu_device_features(v);
	is_hex(1u << VIRTIO_IOMMU_F_INPUT_RANGE | 1u << VIRTIO_IOMMU_F_DOMAIN_RANGE |
	       1u << VIRTIO_IOMMU_F_MAP_UNMAP | 1u << VIRTIO_IOMMU_F_PROBE |
	       1u << VIRTIO_IOMMU_F_MMIO | 1u << VIRTIO_IOMMU_F_BYPASS_CONFIG, f,
	       "features: INPUT_RANGE DOMAIN_RANGE MAP_UNMAP PROBE MMIO BYPASS_CONFIG");
	ok(!(f & 1u << VIRTIO_IOMMU_F_BYPASS), "legacy BYPASS not offered with BYPASS_CONFIG");

	viommu_read_config(v, &c);
	is_hex(0x40201000, le64toh(c.page_size_mask), "page_size_mask 4K|2M|1G");
	is_hex(0, le64toh(c.input_range.start), "input_range.start");
	is_hex(UINT64_MAX, le64toh(c.input_range.end), "input_range.end");
	is_hex(UINT32_MAX, le32toh(c.domain_range.end), "domain_range.end");
	is_int(512, le32toh(c.probe_size), "probe_size");
	is_int(0, c.bypass, "bypass defaults to 0");

	b = 1;
	viommu_write_config(v, offsetof(struct virtio_iommu_config, bypass), &b, 1);
	viommu_read_config(v, &c);
	is_int(1, c.bypass, "bypass is writable");
	b = 0xfe;
	viommu_write_config(v, offsetof(struct virtio_iommu_config, bypass), &b, 1);
	viommu_read_config(v, &c);
	is_int(0, c.bypass, "bypass: bits 1-7 ignored, only 0 or 1 presented");
	{
		uint8_t junk[36];

		memset(junk, 0xff, sizeof(junk));
		viommu_write_config(v, 0, junk, sizeof(junk));
		viommu_read_config(v, &c);
		ok(le64toh(c.page_size_mask) == 0x40201000 && c.bypass == 0,
		   "writes to other config fields are ignored");
		viommu_write_config(v, 32, junk, 8);
		viommu_read_config(v, &c);
		ok(c.bypass == 1 && le32toh(c.probe_size) == 512,
		   "a wider write covering bypass sets only bypass");
	}
	viommu_destroy(v);

	cfg.page_size_mask = 0;
	errno = 0;
	ok(!viommu_create(&cfg, &test_host, NULL) && errno == EINVAL,
	   "create: page_size_mask 0 -> EINVAL");
	viommu_default_config(&cfg);
	cfg.probe_size = 16;
	ok(!viommu_create(&cfg, &test_host, NULL), "create: RESV_MEM not fitting probe_size -> EINVAL");
	viommu_default_config(&cfg);
	ok(!viommu_create(&cfg, NULL, NULL), "create: no memory ops -> EINVAL");
	v = make(&cfg);
	is_int(-EEXIST, viommu_add_endpoint(v, EP_A, "dup"), "add_endpoint twice -> -EEXIST");
	viommu_destroy(v);
}

static void test_attach_detach(void)
{
	struct viommu_config cfg;
	struct viommu *v;

	viommu_default_config(&cfg);
	cfg.domain_start = 1;
	cfg.domain_end = 1000;
	cfg.max_domains = 2;
	v = make(&cfg);

	is_int(VIRTIO_IOMMU_S_NOENT, req_attach(v, 1, EP_NONE, 0), "ATTACH unknown endpoint -> NOENT");
	is_int(VIRTIO_IOMMU_S_RANGE, req_attach(v, 0, EP_A, 0), "ATTACH domain below domain_range -> RANGE");
	is_int(VIRTIO_IOMMU_S_RANGE, req_attach(v, 1001, EP_A, 0), "ATTACH domain above domain_range -> RANGE");
	is_int(VIRTIO_IOMMU_S_INVAL, req_attach(v, 1, EP_A, 2), "ATTACH unknown flag bit 1 -> INVAL");
	is_int(VIRTIO_IOMMU_S_INVAL, req_attach(v, 1, EP_A, 0x80000000), "ATTACH unknown flag bit 31 -> INVAL");
	is_int(VIRTIO_IOMMU_S_OK, req_attach(v, 1, EP_A, 0), "ATTACH creates domain 1");
	is_int(VIRTIO_IOMMU_S_OK, req_attach(v, 1, EP_A, 0), "ATTACH again to the same domain -> OK");
	is_int(VIRTIO_IOMMU_S_OK, req_attach(v, 1, EP_B, 0), "a second endpoint shares domain 1");
	is_int(VIRTIO_IOMMU_S_INVAL, req_attach(v, 1, EP_B, VIRTIO_IOMMU_ATTACH_F_BYPASS),
	       "ATTACH_F_BYPASS on an existing non-bypass domain -> INVAL");
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, 1, 0x10000, 0x10fff, 0x10000, RW), "MAP in domain 1");

	/* Re-attach detaches from the old domain first. */
	is_int(VIRTIO_IOMMU_S_OK, req_attach(v, 2, EP_A, VIRTIO_IOMMU_ATTACH_F_BYPASS),
	       "ATTACH EP_A to new bypass domain 2");
	is_int(VIRTIO_IOMMU_S_INVAL, req_detach(v, 1, EP_A), "EP_A no longer in domain 1: DETACH -> INVAL");
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, 1, 0x20000, 0x20fff, 0x20000, RW),
	       "domain 1 still exists (EP_B attached)");
	is_int(VIRTIO_IOMMU_S_INVAL, req_attach(v, 2, EP_B, 0),
	       "ATTACH without F_BYPASS to bypass domain 2 -> INVAL");
	is_int(VIRTIO_IOMMU_S_INVAL, req_map(v, 2, 0x10000, 0x10fff, 0x10000, RW), "MAP on bypass domain -> INVAL");
	is_int(VIRTIO_IOMMU_S_INVAL, req_unmap(v, 2, 0x10000, 0x10fff), "UNMAP on bypass domain -> INVAL");
	if (viommu_add_endpoint(v, 0x18, "ep-c"))
		bail("viommu_add_endpoint");
	is_int(VIRTIO_IOMMU_S_NOMEM, req_attach(v, 3, 0x18, 0),
	       "a third domain over max_domains=2 -> NOMEM");
	is_int(VIRTIO_IOMMU_S_OK, req_attach(v, 2, EP_B, VIRTIO_IOMMU_ATTACH_F_BYPASS),
	       "EP_B moves to bypass domain 2: domain 1 (last endpoint gone) is freed");
	is_int(VIRTIO_IOMMU_S_NOENT, req_map(v, 1, 0x30000, 0x30fff, 0x30000, RW),
	       "freed domain 1: MAP -> NOENT");
	is_int(VIRTIO_IOMMU_S_OK, req_attach(v, 1, EP_A, 0), "domain 1 created again (fresh)");
	ok(!mapped(v, 0x10000), "the recreated domain has none of the old mappings");
	is_int(VIRTIO_IOMMU_S_OK, req_attach(v, 3, EP_A, 0),
	       "moving the only endpoint of domain 1 to domain 3 fits max_domains (1 is freed)");

	is_int(VIRTIO_IOMMU_S_NOENT, req_detach(v, 3, EP_NONE), "DETACH unknown endpoint -> NOENT");
	is_int(VIRTIO_IOMMU_S_INVAL, req_detach(v, 77, EP_A), "DETACH unknown domain -> INVAL (spec: MAY INVAL)");
	is_int(VIRTIO_IOMMU_S_INVAL, req_detach(v, 2, EP_A), "DETACH from a domain the endpoint is not in -> INVAL");
	is_int(VIRTIO_IOMMU_S_OK, req_detach(v, 3, EP_A), "DETACH EP_A from 3");
	is_int(VIRTIO_IOMMU_S_INVAL, req_detach(v, 3, EP_A), "DETACH again (not attached) -> INVAL");
	is_int(VIRTIO_IOMMU_S_NOENT, req_map(v, 3, 0x30000, 0x30fff, 0x30000, RW),
	       "domain 3 ceased to exist with its last endpoint");
	viommu_destroy(v);
}

static void test_map(void)
{
	struct viommu_config cfg;
	struct viommu *v;
	const uint32_t D = 5;

	viommu_default_config(&cfg);
	cfg.input_start = 0x1000;
	cfg.input_end = (1ull << 48) - 1;
	cfg.max_mappings = 8;
	v = make(&cfg);
	req_attach(v, D, EP_A, 0);

	is_int(VIRTIO_IOMMU_S_NOENT, req_map(v, 9, 0x10000, 0x10fff, 0x10000, RW), "MAP unknown domain -> NOENT");
	is_int(VIRTIO_IOMMU_S_RANGE, req_map(v, D, 0x10800, 0x117ff, 0x10000, RW), "MAP virt_start unaligned -> RANGE");
	is_int(VIRTIO_IOMMU_S_RANGE, req_map(v, D, 0x10000, 0x10ffe, 0x10000, RW), "MAP virt_end+1 unaligned -> RANGE");
	is_int(VIRTIO_IOMMU_S_RANGE, req_map(v, D, 0x10000, 0x11000, 0x10000, RW),
	       "MAP virt_end aligned (exclusive-end mistake) -> RANGE");
	is_int(VIRTIO_IOMMU_S_RANGE, req_map(v, D, 0x10000, 0x10fff, 0x10010, RW), "MAP phys_start unaligned -> RANGE");
	is_int(VIRTIO_IOMMU_S_RANGE, req_map(v, D, 0x0, 0xfff, 0x10000, RW), "MAP below input_range -> RANGE");
	is_int(VIRTIO_IOMMU_S_RANGE, req_map(v, D, 1ull << 48, (1ull << 48) + 0xfff, 0x10000, RW),
	       "MAP above input_range -> RANGE");
	is_int(VIRTIO_IOMMU_S_RANGE, req_map(v, D, (1ull << 48) - 0x1000, (1ull << 48) + 0xfff, 0x10000, RW),
	       "MAP straddling input_range.end -> RANGE");
	is_int(VIRTIO_IOMMU_S_INVAL, req_map(v, D, 0x20000, 0x1ffff, 0x10000, RW), "MAP virt_end < virt_start -> INVAL");
	is_int(VIRTIO_IOMMU_S_INVAL, req_map(v, D, 0x10000, 0x10fff, 0x10000, 8), "MAP unknown flag 1<<3 -> INVAL");
	is_int(VIRTIO_IOMMU_S_INVAL, req_map(v, D, 0x10000, 0x10fff, 0x10000, 0x80000000u | RW),
	       "MAP unknown flag 1<<31 -> INVAL");
	is_int(VIRTIO_IOMMU_S_RANGE, req_map(v, D, 0x10000, 0x10fff, 0xd0000000, RW),
	       "MAP phys in the MMIO hole without F_MMIO -> RANGE");
	is_int(VIRTIO_IOMMU_S_RANGE, req_map(v, D, 0x10000, 0x11fff, LOW_RAM_END - 0x1000, RW),
	       "MAP phys straddling the end of RAM -> RANGE");
	is_int(VIRTIO_IOMMU_S_RANGE, req_map(v, D, 0x10000, 0x11fff, 0xfffffffffffff000ull, RW),
	       "MAP phys_start + size overflows 64 bits -> RANGE");
	is_int(VIRTIO_IOMMU_S_RANGE, req_map(v, D, 0x10000, 0x11fff, 0xfffffffffffff000ull,
					     RW | VIRTIO_IOMMU_MAP_F_MMIO),
	       "... also with F_MMIO");
	is_int(VIRTIO_IOMMU_S_INVAL, req_map(v, D, 0xfee00000, 0xfee00fff, 0x10000, RW),
	       "MAP over the RESV_MEM MSI window -> INVAL");
	is_int(VIRTIO_IOMMU_S_INVAL, req_map(v, D, 0xfed00000, 0xfee00fff, 0x10000, RW),
	       "MAP straddling the MSI window -> INVAL");

	is_int(VIRTIO_IOMMU_S_OK, req_map(v, D, 0x10000, 0x13fff, 0x10000, RW), "MAP [0x10000,0x13fff]");
	is_int(VIRTIO_IOMMU_S_INVAL, req_map(v, D, 0x10000, 0x13fff, 0x80000, RW), "MAP same range -> INVAL");
	is_int(VIRTIO_IOMMU_S_INVAL, req_map(v, D, 0x11000, 0x11fff, 0x80000, RW), "MAP inside existing -> INVAL");
	is_int(VIRTIO_IOMMU_S_INVAL, req_map(v, D, 0xf000, 0x10fff, 0x80000, RW), "MAP over its start -> INVAL");
	is_int(VIRTIO_IOMMU_S_INVAL, req_map(v, D, 0x13000, 0x14fff, 0x80000, RW), "MAP over its end -> INVAL");
	is_int(VIRTIO_IOMMU_S_INVAL, req_map(v, D, 0xf000, 0x14fff, 0x80000, RW), "MAP covering it -> INVAL");
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, D, 0x14000, 0x14fff, 0x80000, VIRTIO_IOMMU_MAP_F_READ),
	       "MAP adjacent after -> OK");
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, D, 0xf000, 0xffff, 0x80000, VIRTIO_IOMMU_MAP_F_WRITE),
	       "MAP adjacent before -> OK (phys may repeat)");
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, D, 0x200000, 0x3fffff, 0x200000, RW), "MAP a 2 MiB page");
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, D, 0x400000, 0x400fff, 0xfec00000,
					  RW | VIRTIO_IOMMU_MAP_F_MMIO),
	       "MAP with F_MMIO to a device register page -> OK");
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, D, 0x401000, 0x401fff, HIGH_RAM, 0), "MAP with no permission flags -> OK");
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, D, 0x402000, 0x402fff, HIGH_RAM, RW), "MAP into high RAM");
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, D, 0x403000, 0x403fff, 0x1000, RW), "MAP 8 of max_mappings=8");
	is_int(VIRTIO_IOMMU_S_NOMEM, req_map(v, D, 0x404000, 0x404fff, 0x1000, RW), "MAP 9th -> NOMEM");
	is_int(VIRTIO_IOMMU_S_OK, req_unmap(v, D, 0x403000, 0x403fff), "UNMAP one");
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, D, 0x404000, 0x404fff, 0x1000, RW), "... then MAP fits again");
	viommu_destroy(v);

	/* Full 64-bit input range: virt_end = 2^64-1 has virt_end+1 = 0. */
	viommu_default_config(&cfg);
	cfg.max_total_mappings = 2;
	v = make(&cfg);
	req_attach(v, 1, EP_A, 0);
	req_attach(v, 2, EP_B, 0);
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, 1, 0xfffffffffffff000ull, UINT64_MAX, 0x1000, RW),
	       "MAP the last page of the 64-bit space");
	is_int(VIRTIO_IOMMU_S_RANGE, req_map(v, 1, 0, UINT64_MAX, 0, RW),
	       "MAP the whole 64-bit space to RAM -> RANGE (not RAM)");
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, 2, 0x1000, 0x1fff, 0x1000, RW), "second mapping (other domain)");
	is_int(VIRTIO_IOMMU_S_NOMEM, req_map(v, 2, 0x2000, 0x2fff, 0x1000, RW),
	       "max_total_mappings=2 across domains -> NOMEM");
	is_int(VIRTIO_IOMMU_S_OK, req_detach(v, 1, EP_A), "DETACH frees domain 1 and its mapping");
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, 2, 0x2000, 0x2fff, 0x1000, RW), "... so the device-wide cap has room");
	viommu_destroy(v);
}

/* The spec's UNMAP examples (1)-(7), each from a blank address space. */
static void test_unmap_examples(uint64_t s, const char *unit)
{
	struct viommu_config cfg;
	struct viommu *v;
	const uint32_t D = 1;
	/* map(a, b) in units of s: [a*s, (b+1)*s - 1] */
#define MAP(a, b) req_map(v, D, (a) * s, ((b) + 1) * s - 1, 0x100000 + (a) * s, RW)
#define UNMAP(a, b) req_unmap(v, D, (a) * s, ((b) + 1) * s - 1)
#define FRESH() do {							\
		if (v)							\
			viommu_destroy(v);				\
		v = make(&cfg);						\
		req_attach(v, D, EP_A, 0);				\
	} while (0)

	viommu_default_config(&cfg);
	cfg.page_size_mask = s == 1 ? 1 : 0x1000;
	v = NULL;

	FRESH();
	is_int(VIRTIO_IOMMU_S_OK, UNMAP(0, 4), "(1) %s: unmap(0,4) on nothing succeeds", unit);
	is_hex(0, mapped_mask(v, s), "(1) %s: nothing mapped", unit);

	FRESH();
	MAP(0, 9);
	is_int(VIRTIO_IOMMU_S_OK, UNMAP(0, 9), "(2) %s: a=map(0,9); unmap(0,9) succeeds", unit);
	is_hex(0, mapped_mask(v, s), "(2) %s: a unmapped", unit);

	FRESH();
	MAP(0, 4);
	MAP(5, 9);
	is_int(VIRTIO_IOMMU_S_OK, UNMAP(0, 9), "(3) %s: a=map(0,4); b=map(5,9); unmap(0,9) succeeds", unit);
	is_hex(0, mapped_mask(v, s), "(3) %s: a and b unmapped", unit);

	FRESH();
	MAP(0, 9);
	is_int(VIRTIO_IOMMU_S_RANGE, UNMAP(0, 4), "(4) %s: a=map(0,9); unmap(0,4) fails with RANGE", unit);
	is_hex(0x3ff, mapped_mask(v, s), "(4) %s: nothing unmapped", unit);

	FRESH();
	MAP(0, 4);
	MAP(5, 9);
	is_int(VIRTIO_IOMMU_S_OK, UNMAP(0, 4), "(5) %s: a=map(0,4); b=map(5,9); unmap(0,4) succeeds", unit);
	is_hex(0x3e0, mapped_mask(v, s), "(5) %s: a unmapped, b kept", unit);

	FRESH();
	MAP(0, 4);
	is_int(VIRTIO_IOMMU_S_OK, UNMAP(0, 9), "(6) %s: a=map(0,4); unmap(0,9) succeeds", unit);
	is_hex(0, mapped_mask(v, s), "(6) %s: a unmapped", unit);

	FRESH();
	MAP(0, 4);
	MAP(10, 14);
	is_int(VIRTIO_IOMMU_S_OK, UNMAP(0, 14), "(7) %s: a=map(0,4); b=map(10,14); unmap(0,14) succeeds", unit);
	is_hex(0, mapped_mask(v, s), "(7) %s: a and b unmapped", unit);

	/* Beyond the list: splits at the end or in the middle, and a split
	 * after removable mappings must not remove those either. */
	FRESH();
	MAP(0, 4);
	MAP(5, 9);
	is_int(VIRTIO_IOMMU_S_RANGE, UNMAP(0, 7), "%s: a=map(0,4); b=map(5,9); unmap(0,7) -> RANGE", unit);
	is_hex(0x3ff, mapped_mask(v, s), "%s: ... a is not removed either (no partial UNMAP)", unit);
	is_int(VIRTIO_IOMMU_S_RANGE, UNMAP(2, 3), "%s: unmap(2,3) inside a -> RANGE", unit);
	is_int(VIRTIO_IOMMU_S_RANGE, UNMAP(3, 14), "%s: unmap(3,14) splits a -> RANGE", unit);
	is_hex(0x3ff, mapped_mask(v, s), "%s: everything still mapped", unit);
	viommu_destroy(v);
#undef MAP
#undef UNMAP
#undef FRESH
}

static void test_unmap_misc(void)
{
	struct viommu_config cfg;
	struct viommu *v;
	struct virtio_iommu_req_unmap r = {
		.head.type = VIRTIO_IOMMU_T_UNMAP, .domain = htole32(1),
		.virt_start = htole64(0x10000), .virt_end = htole64(0x10fff),
	};

	viommu_default_config(&cfg);
	v = make(&cfg);
	req_attach(v, 1, EP_A, 0);
	is_int(VIRTIO_IOMMU_S_NOENT, req_unmap(v, 2, 0, 0xfff), "UNMAP unknown domain -> NOENT");
	req_map(v, 1, 0x10000, 0x10fff, 0x10000, RW);
	for (unsigned int i = 0; i < sizeof(r.reserved); i++) {
		memset(r.reserved, 0, sizeof(r.reserved));
		r.reserved[i] = 0x40;
		is_int(VIRTIO_IOMMU_S_INVAL, send_req(v, &r, offsetof(struct virtio_iommu_req_unmap, tail)),
		       "UNMAP reserved[%u] != 0 -> INVAL", i);
	}
	ok(mapped(v, 0x10000), "... and those UNMAPs removed nothing");
	is_int(VIRTIO_IOMMU_S_INVAL, req_unmap(v, 1, 0x10fff, 0x10000), "UNMAP virt_end < virt_start -> INVAL");
	is_int(VIRTIO_IOMMU_S_OK, req_unmap(v, 1, 0, UINT64_MAX), "UNMAP the whole space -> OK");
	ok(!mapped(v, 0x10000), "... removed the mapping");
	viommu_destroy(v);
}

static void test_probe(void)
{
	struct viommu_config cfg;
	struct viommu *v;
	struct virtio_iommu_req_probe r = { .head.type = VIRTIO_IOMMU_T_PROBE, .endpoint = htole32(EP_A) };
	uint8_t resp[600], want[516];
	struct virtio_iommu_probe_resv_mem p;
	size_t n;

	viommu_default_config(&cfg);
	v = make(&cfg);
	memset(resp, 0xaa, sizeof(resp));
	n = viommu_handle_request(v, &r, sizeof(r), resp, 516);
	is_int(516, n, "PROBE writes probe_size + tail bytes");
	memset(want, 0, sizeof(want));
	p = (struct virtio_iommu_probe_resv_mem){
		.head.type = htole16(VIRTIO_IOMMU_PROBE_T_RESV_MEM),
		.head.length = htole16(20),
		.subtype = VIRTIO_IOMMU_RESV_MEM_T_MSI,
		.start = htole64(0xfee00000), .end = htole64(0xfeefffff),
	};
	memcpy(want, &p, sizeof(p));
	ok(resp[0] == 1 && resp[1] == 0 && resp[2] == 20 && resp[3] == 0 && resp[4] == 1 &&
	   resp[8] == 0x00 && resp[10] == 0xe0 && resp[11] == 0xfe &&
	   resp[16] == 0xff && resp[18] == 0xef && resp[19] == 0xfe,
	   "RESV_MEM MSI 0xfee00000-0xfeefffff, little-endian bytes on the wire");
	is_blob(want, resp, 516, "RESV_MEM MSI property, zero padding (NONE terminator), status OK");

	memset(resp, 0xaa, sizeof(resp));
	n = viommu_handle_request(v, &r, sizeof(r), resp, sizeof(resp));
	ok(n == 516 && resp[512] == VIRTIO_IOMMU_S_OK && resp[516] == 0xaa,
	   "a larger writable buffer: tail right after probe_size bytes, rest untouched");

	memset(resp, 0xaa, sizeof(resp));
	n = viommu_handle_request(v, &r, sizeof(r), resp, 515);
	ok(n == 515 && resp[511] == VIRTIO_IOMMU_S_INVAL && all_zero_test(resp, 511),
	   "writable part smaller than probe_size + tail -> INVAL, no property written");
	memset(resp, 0xaa, sizeof(resp));
	n = viommu_handle_request(v, &r, sizeof(r), resp, 4);
	ok(n == 4 && resp[0] == VIRTIO_IOMMU_S_INVAL, "writable part of just a tail -> INVAL");

	r.endpoint = htole32(EP_NONE);
	memset(resp, 0xaa, sizeof(resp));
	n = viommu_handle_request(v, &r, sizeof(r), resp, 516);
	ok(n == 516 && resp[512] == VIRTIO_IOMMU_S_NOENT, "PROBE unknown endpoint -> NOENT");

	r.endpoint = htole32(EP_A);
	for (unsigned int i = 0; i < sizeof(r.reserved); i++)
		r.reserved[i] = (uint8_t)(i + 1);
	memset(resp, 0xaa, sizeof(resp));
	n = viommu_handle_request(v, &r, sizeof(r), resp, 516);
	ok(n == 516 && !memcmp(resp, want, 516), "PROBE reserved bytes are ignored (spec: MUST ignore)");
	viommu_destroy(v);

	viommu_default_config(&cfg);
	cfg.probe_size = 48;
	cfg.resv[1] = (struct viommu_resv_region){ .start = 0x8000000, .end = 0x80fffff,
						   .subtype = VIRTIO_IOMMU_RESV_MEM_T_RESERVED };
	cfg.nr_resv = 2;
	v = make(&cfg);
	memset(r.reserved, 0, sizeof(r.reserved));
	memset(resp, 0xaa, sizeof(resp));
	n = viommu_handle_request(v, &r, sizeof(r), resp, 52);
	ok(n == 52 && resp[24] == 1 && resp[26] == 20 && resp[28] == VIRTIO_IOMMU_RESV_MEM_T_RESERVED &&
	   le64toh(*(uint64_t *)(resp + 32)) == 0x8000000 && resp[48] == VIRTIO_IOMMU_S_OK,
	   "two RESV_MEM properties, the second exactly length + 4 after the first");
	req_attach(v, 1, EP_A, 0);
	is_int(VIRTIO_IOMMU_S_INVAL, req_map(v, 1, 0x8000000, 0x8000fff, 0x1000, RW),
	       "MAP over a RESERVED region -> INVAL");
	viommu_destroy(v);
}

/* ------------------------------------------------------------ malformed */

struct bad {
	const char *what;
	uint8_t req[80];
	size_t req_len, resp_len;
	int want;      /* status, or -1: used length 0 and nothing written */
	int idx;       /* which byte or value, for the description; -1 none */
};

static void run_bad(struct viommu *v, const struct bad *b)
{
	uint8_t resp[600];
	size_t n;

	memset(resp, 0xaa, sizeof(resp));
	n = viommu_handle_request(v, b->req, b->req_len, resp, b->resp_len);
	if (b->want < 0) {
		bool untouched = true;

		for (size_t i = 0; i < sizeof(resp); i++)
			untouched &= resp[i] == 0xaa;
		ok(n == 0 && untouched, "%s [%d] -> used length 0, buffer untouched", b->what, b->idx);
	} else {
		ok(n == TAIL_LEN && resp[0] == b->want && !resp[1] && !resp[2] && !resp[3],
		   "%s [%d] -> status %d (tail reserved zero)", b->what, b->idx, b->want);
		if (n != TAIL_LEN || resp[0] != b->want)
			diag("got n=%zu status=%d", n, resp[0]);
	}
}

static size_t readable_len(uint8_t type)
{
	switch (type) {
	case VIRTIO_IOMMU_T_ATTACH: return offsetof(struct virtio_iommu_req_attach, tail);
	case VIRTIO_IOMMU_T_DETACH: return offsetof(struct virtio_iommu_req_detach, tail);
	case VIRTIO_IOMMU_T_MAP: return offsetof(struct virtio_iommu_req_map, tail);
	case VIRTIO_IOMMU_T_UNMAP: return offsetof(struct virtio_iommu_req_unmap, tail);
	default: return sizeof(struct virtio_iommu_req_probe);
	}
}

static void test_malformed(void)
{
	struct viommu_config cfg;
	struct viommu *v;
	struct bad b;
	struct virtio_iommu_req_attach at = {
		.head.type = VIRTIO_IOMMU_T_ATTACH, .domain = htole32(1), .endpoint = htole32(EP_A),
	};
	struct virtio_iommu_req_detach de = {
		.head.type = VIRTIO_IOMMU_T_DETACH, .domain = htole32(1), .endpoint = htole32(EP_A),
	};
	struct virtio_iommu_req_map mp = {
		.head.type = VIRTIO_IOMMU_T_MAP, .domain = htole32(1), .virt_start = htole64(0x1000),
		.virt_end = htole64(0x1fff), .phys_start = htole64(0x1000), .flags = htole32(RW),
	};
	static const uint8_t types[] = {
		VIRTIO_IOMMU_T_ATTACH, VIRTIO_IOMMU_T_DETACH, VIRTIO_IOMMU_T_MAP,
		VIRTIO_IOMMU_T_UNMAP, VIRTIO_IOMMU_T_PROBE,
	};

	viommu_default_config(&cfg);
	v = make(&cfg);

	/* Too short for the type: the spec's "cannot find the tail" case. */
	for (unsigned int t = 0; t < sizeof(types); t++) {
		bool all = true;
		uint8_t resp[600];

		for (size_t len = 0; len < readable_len(types[t]); len++) {
			uint8_t req[80] = { types[t] };

			memset(resp, 0xaa, sizeof(resp));
			all &= viommu_handle_request(v, req, len, resp, sizeof(resp)) == 0 &&
			       resp[0] == 0xaa;
		}
		ok(all, "type %u: every request shorter than %zu bytes -> used length 0, untouched",
		   types[t], readable_len(types[t]));
	}
	for (size_t rl = 0; rl < TAIL_LEN; rl++) {
		memset(&b, 0, sizeof(b));
		b.idx = -1;
		memcpy(b.req, &at, sizeof(at));
		b.req_len = readable_len(VIRTIO_IOMMU_T_ATTACH);
		b.resp_len = rl;
		b.idx = (int)rl;
		b.want = -1;
		b.what = rl == 0 ? "ATTACH, no writable buffer" : "ATTACH, writable part shorter than a tail";
		run_bad(v, &b);
	}
	memset(&b, 0, sizeof(b));
	b.idx = -1;
	memcpy(b.req, &mp, sizeof(mp));
	b.req_len = 3;
	b.resp_len = 4;
	b.want = -1;
	b.what = "3 bytes: no complete head";
	run_bad(v, &b);

	/* Unknown types: "SHOULD NOT write the buffer and SHOULD set the used
	 * length to zero". */
	{
		static const uint8_t unknown[] = { 0, 6, 7, 0x7f, 0x80, 0xff };

		for (unsigned int i = 0; i < sizeof(unknown); i++) {
			memset(&b, 0, sizeof(b));
			b.idx = -1;
			b.req[0] = unknown[i];
			b.idx = unknown[i];
			b.req_len = sizeof(b.req);
			b.resp_len = 4;
			b.want = -1;
			b.what = "unknown request type";
			run_bad(v, &b);
		}
	}

	/* Reserved bytes of the head: "The device MUST ignore". */
	for (unsigned int i = 1; i < 4; i++) {
		memset(&b, 0, sizeof(b));
		b.idx = -1;
		memcpy(b.req, &at, sizeof(at));
		b.req[i] = 0xff;
		b.idx = (int)i;
		b.req_len = readable_len(VIRTIO_IOMMU_T_ATTACH);
		b.resp_len = 4;
		b.want = VIRTIO_IOMMU_S_OK;
		b.what = "ATTACH with head.reserved set (ignored)";
		run_bad(v, &b);
	}
	/* ATTACH reserved: MUST INVAL, each byte. */
	for (unsigned int i = 0; i < 4; i++) {
		memset(&b, 0, sizeof(b));
		b.idx = -1;
		memcpy(b.req, &at, sizeof(at));
		b.req[offsetof(struct virtio_iommu_req_attach, reserved) + i] = 1;
		b.idx = (int)i;
		b.req_len = readable_len(VIRTIO_IOMMU_T_ATTACH);
		b.resp_len = 4;
		b.want = VIRTIO_IOMMU_S_INVAL;
		b.what = "ATTACH reserved byte set";
		run_bad(v, &b);
	}
	/* DETACH reserved: "The device MUST ignore reserved", each byte. */
	for (unsigned int i = 0; i < 8; i++) {
		req_attach(v, 1, EP_A, 0);
		memset(&b, 0, sizeof(b));
		b.idx = -1;
		memcpy(b.req, &de, sizeof(de));
		b.req[offsetof(struct virtio_iommu_req_detach, reserved) + i] = 0x80;
		b.idx = (int)i;
		b.req_len = readable_len(VIRTIO_IOMMU_T_DETACH);
		b.resp_len = 4;
		b.want = VIRTIO_IOMMU_S_OK;
		b.what = "DETACH reserved byte set (MUST ignore)";
		run_bad(v, &b);
	}
	/* Field-level malformed requests, one table.  State: domain 1 (EP_A)
	 * holds [0x10000, 0x13fff]; bypass domain 2 holds EP_B.  Every row is
	 * a rejection, so the state stays the same for all of them. */
	{
		static const struct {
			const char *what;
			uint8_t type;
			uint32_t domain, endpoint, flags;
			uint64_t vstart, vend, phys;
			int want;
		} t[] = {
			{ "ATTACH unknown endpoint", VIRTIO_IOMMU_T_ATTACH, 1, EP_NONE, 0, 0, 0, 0, VIRTIO_IOMMU_S_NOENT },
			{ "ATTACH unknown flag", VIRTIO_IOMMU_T_ATTACH, 1, EP_A, 4, 0, 0, 0, VIRTIO_IOMMU_S_INVAL },
			{ "ATTACH F_BYPASS to a mapping domain", VIRTIO_IOMMU_T_ATTACH, 1, EP_B,
			  VIRTIO_IOMMU_ATTACH_F_BYPASS, 0, 0, 0, VIRTIO_IOMMU_S_INVAL },
			{ "ATTACH no F_BYPASS to a bypass domain", VIRTIO_IOMMU_T_ATTACH, 2, EP_A, 0, 0, 0, 0,
			  VIRTIO_IOMMU_S_INVAL },
			{ "DETACH unknown endpoint", VIRTIO_IOMMU_T_DETACH, 1, EP_NONE, 0, 0, 0, 0, VIRTIO_IOMMU_S_NOENT },
			{ "DETACH unknown domain", VIRTIO_IOMMU_T_DETACH, 9, EP_A, 0, 0, 0, 0, VIRTIO_IOMMU_S_INVAL },
			{ "DETACH wrong domain", VIRTIO_IOMMU_T_DETACH, 2, EP_A, 0, 0, 0, 0, VIRTIO_IOMMU_S_INVAL },
			{ "MAP unknown domain", VIRTIO_IOMMU_T_MAP, 9, 0, RW, 0x20000, 0x20fff, 0x1000, VIRTIO_IOMMU_S_NOENT },
			{ "MAP on bypass domain", VIRTIO_IOMMU_T_MAP, 2, 0, RW, 0x20000, 0x20fff, 0x1000, VIRTIO_IOMMU_S_INVAL },
			{ "MAP flag 1<<3", VIRTIO_IOMMU_T_MAP, 1, 0, 8 | RW, 0x20000, 0x20fff, 0x1000, VIRTIO_IOMMU_S_INVAL },
			{ "MAP virt_start unaligned", VIRTIO_IOMMU_T_MAP, 1, 0, RW, 0x20001, 0x20fff, 0x1000, VIRTIO_IOMMU_S_RANGE },
			{ "MAP virt_end+1 unaligned", VIRTIO_IOMMU_T_MAP, 1, 0, RW, 0x20000, 0x20ffe, 0x1000, VIRTIO_IOMMU_S_RANGE },
			{ "MAP phys unaligned", VIRTIO_IOMMU_T_MAP, 1, 0, RW, 0x20000, 0x20fff, 0x1800, VIRTIO_IOMMU_S_RANGE },
			{ "MAP virt_end < virt_start", VIRTIO_IOMMU_T_MAP, 1, 0, RW, 0x20000, 0x1ffff, 0x1000, VIRTIO_IOMMU_S_INVAL },
			{ "MAP overlap", VIRTIO_IOMMU_T_MAP, 1, 0, RW, 0x13000, 0x14fff, 0x1000, VIRTIO_IOMMU_S_INVAL },
			{ "MAP phys not RAM", VIRTIO_IOMMU_T_MAP, 1, 0, RW, 0x20000, 0x20fff, 0xe0000000, VIRTIO_IOMMU_S_RANGE },
			{ "MAP phys overflow", VIRTIO_IOMMU_T_MAP, 1, 0, RW, 0x20000, 0x21fff, UINT64_MAX - 0xfff,
			  VIRTIO_IOMMU_S_RANGE },
			{ "MAP over MSI window", VIRTIO_IOMMU_T_MAP, 1, 0, RW, 0xfee00000, 0xfee00fff, 0x1000, VIRTIO_IOMMU_S_INVAL },
			{ "UNMAP unknown domain", VIRTIO_IOMMU_T_UNMAP, 9, 0, 0, 0x10000, 0x13fff, 0, VIRTIO_IOMMU_S_NOENT },
			{ "UNMAP on bypass domain", VIRTIO_IOMMU_T_UNMAP, 2, 0, 0, 0x10000, 0x13fff, 0, VIRTIO_IOMMU_S_INVAL },
			{ "UNMAP split at start", VIRTIO_IOMMU_T_UNMAP, 1, 0, 0, 0x11000, 0x13fff, 0, VIRTIO_IOMMU_S_RANGE },
			{ "UNMAP split at end", VIRTIO_IOMMU_T_UNMAP, 1, 0, 0, 0x10000, 0x12fff, 0, VIRTIO_IOMMU_S_RANGE },
			{ "UNMAP virt_end < virt_start", VIRTIO_IOMMU_T_UNMAP, 1, 0, 0, 0x13fff, 0x10000, 0, VIRTIO_IOMMU_S_INVAL },
		};

		req_attach(v, 1, EP_A, 0);
		req_attach(v, 2, EP_B, VIRTIO_IOMMU_ATTACH_F_BYPASS);
		req_map(v, 1, 0x10000, 0x13fff, 0x10000, RW);
		for (unsigned int i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
			union {
				struct virtio_iommu_req_attach a;
				struct virtio_iommu_req_detach d;
				struct virtio_iommu_req_map m;
				struct virtio_iommu_req_unmap u;
			} r;

			memset(&r, 0, sizeof(r));
			memset(&b, 0, sizeof(b));
			b.idx = (int)i;
			b.what = t[i].what;
			b.want = t[i].want;
			b.resp_len = 4;
			b.req_len = readable_len(t[i].type);
			switch (t[i].type) {
			case VIRTIO_IOMMU_T_ATTACH:
				r.a.domain = htole32(t[i].domain);
				r.a.endpoint = htole32(t[i].endpoint);
				r.a.flags = htole32(t[i].flags);
				break;
			case VIRTIO_IOMMU_T_DETACH:
				r.d.domain = htole32(t[i].domain);
				r.d.endpoint = htole32(t[i].endpoint);
				break;
			case VIRTIO_IOMMU_T_MAP:
				r.m.domain = htole32(t[i].domain);
				r.m.virt_start = htole64(t[i].vstart);
				r.m.virt_end = htole64(t[i].vend);
				r.m.phys_start = htole64(t[i].phys);
				r.m.flags = htole32(t[i].flags);
				break;
			case VIRTIO_IOMMU_T_UNMAP:
				r.u.domain = htole32(t[i].domain);
				r.u.virt_start = htole64(t[i].vstart);
				r.u.virt_end = htole64(t[i].vend);
				break;
			}
			r.a.head.type = t[i].type;
			memcpy(b.req, &r, b.req_len);
			run_bad(v, &b);
		}
		ok(mapped(v, 0x10000) && mapped(v, 0x13fff) && !mapped(v, 0x14000),
		   "after the table: the mapping is intact, nothing was added");
		req_detach(v, 2, EP_B);
	}

	/* Longer device-readable part than the type needs: extra ignored. */
	req_attach(v, 1, EP_A, 0);
	memset(&b, 0, sizeof(b));
	b.idx = -1;
	memcpy(b.req, &mp, sizeof(mp));
	memset(b.req + readable_len(VIRTIO_IOMMU_T_MAP), 0x55, 8);
	b.req_len = readable_len(VIRTIO_IOMMU_T_MAP) + 8;
	b.resp_len = 4;
	b.want = VIRTIO_IOMMU_S_OK;
	b.what = "MAP with 8 trailing readable bytes";
	run_bad(v, &b);
	/* Writable part larger than a tail: tail first, rest untouched. */
	{
		uint8_t resp[16];

		memset(resp, 0xaa, sizeof(resp));
		ok(viommu_handle_request(v, &mp, readable_len(VIRTIO_IOMMU_T_MAP), resp, sizeof(resp)) == 4 &&
		   resp[0] == VIRTIO_IOMMU_S_INVAL && resp[4] == 0xaa,
		   "MAP overlap with 16-byte writable part: INVAL in the first 4 bytes only");
	}
	/* Little-endian decoding from raw bytes. */
	{
		uint8_t raw[20] = { VIRTIO_IOMMU_T_ATTACH, 0, 0, 0,
				    0x34, 0x12, 0, 0,     /* domain 0x1234 */
				    EP_B, 0, 0, 0,        /* endpoint */
				    0, 0, 0, 0,           /* flags */
				    0, 0, 0, 0 };
		uint8_t rawmap[36] = { VIRTIO_IOMMU_T_MAP, 0, 0, 0,
				       0x34, 0x12, 0, 0,
				       0x00, 0x10, 0x0a, 0, 0, 0, 0, 0,   /* virt_start 0xa1000 */
				       0xff, 0x1f, 0x0a, 0, 0, 0, 0, 0,   /* virt_end 0xa1fff */
				       0x00, 0x30, 0, 0, 1, 0, 0, 0,      /* phys 0x100003000 */
				       1, 0, 0, 0 };                      /* READ */
		struct test_xlate x;

		is_int(VIRTIO_IOMMU_S_OK, send_req(v, raw, sizeof(raw)), "raw little-endian ATTACH");
		is_int(VIRTIO_IOMMU_S_OK, send_req(v, rawmap, sizeof(rawmap)), "raw little-endian MAP");
		ok(xlate(v, EP_B, 0xa1010, 4, VIOMMU_READ, &x) == VIOMMU_OK &&
		   x.gpa == 0x100003010, "fields decoded as little-endian");
	}
	viommu_destroy(v);
}

int main(void)
{
	plan(200);
	test_config();
	test_attach_detach();
	test_map();
	test_unmap_examples(1, "byte granule");
	test_unmap_examples(0x1000, "4 KiB pages");
	test_unmap_misc();
	test_probe();
	test_malformed();
	return 0;
}
