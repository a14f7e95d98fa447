/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary bytes become a sequence of virtio-iommu
 * requests, translations, config writes and resets.  Asserts that nothing
 * crashes (ASan/UBSan do the rest), that used lengths fit the buffers and
 * the spec's shapes, and that every allowed DMA lands in guest RAM.
 *
 * Input format (docs/viommu.md, "Fuzzing"; viommu/gen-corpus.c writes seeds):
 *   byte 0: config: bit 0 byte granule, bit 1 bypass=1, bit 2 small caps,
 *           bit 3 48-bit input range
 *   then operations, each starting with an op byte (op % 4):
 *     0 request:   u8 req_len, u16le resp_len, req_len bytes of request
 *     1 translate: u8 endpoint index, u64le iova, u32le len, u8 access
 *     2 config write: u8 offset, u8 len (% 5), len bytes
 *     3 other:     u8 what: 0 reset, 1 pop every fault, 2 reports
 * A truncated tail is padded with zeroes.
 */
#include "viommu/viommu.h"

#include <endian.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_END 0x40000000ull   /* 1 GiB of RAM at 0 */

static bool fuzz_is_ram(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	return len && gpa < RAM_END && len <= RAM_END - gpa;
}

static const struct viommu_mem_ops fuzz_mem = { .is_ram = fuzz_is_ram };
static const uint32_t endpoints[] = { 0x08, 0x10, 0x18, 0x99 /* unknown */ };

struct input {
	const uint8_t *p;
	size_t left;
};

static void take(struct input *in, void *dst, size_t n)
{
	size_t k = n < in->left ? n : in->left;

	memset(dst, 0, n);
	memcpy(dst, in->p, k);
	in->p += k;
	in->left -= k;
}

static uint8_t u8(struct input *in)
{
	uint8_t b;

	take(in, &b, 1);
	return b;
}

static void check(bool cond)
{
	if (!cond)
		abort();
}

static void on_ep(void *opaque, const struct viommu_endpoint_stats *s)
{
	check(s->name != NULL);
	check(s->faults <= s->translations);
}

static void on_violation(void *opaque, const struct viommu_violation_record *r)
{
	check(r->name != NULL && r->reason != VIOMMU_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct viommu_config cfg;
	struct viommu *v;
	uint8_t c = u8(&in);

	viommu_default_config(&cfg);
	if (c & 1)
		cfg.page_size_mask = 1;
	cfg.bypass = (c >> 1) & 1;
	if (c & 4) {
		cfg.max_domains = 4;
		cfg.max_mappings = 16;
		cfg.max_total_mappings = 32;
	}
	if (c & 8)
		cfg.input_end = (1ull << 48) - 1;
	v = viommu_create(&cfg, &fuzz_mem, NULL);
	check(v != NULL);
	for (unsigned int i = 0; i < 3; i++)
		check(viommu_add_endpoint(v, endpoints[i], "ep") == 0);

	while (in.left) {
		uint8_t op = u8(&in);

		switch (op % 4) {
		case 0: {
			uint8_t req_len = u8(&in);
			uint16_t resp_len;
			uint8_t *req, *resp;
			size_t n;

			take(&in, &resp_len, 2);
			resp_len = le16toh(resp_len) % 1024;
			/* Exactly sized heap buffers: ASan catches any access
			 * past what the transport would hand over. */
			req = malloc(req_len ? req_len : 1);
			resp = malloc(resp_len ? resp_len : 1);
			check(req && resp);
			take(&in, req, req_len);
			n = viommu_handle_request(v, req, req_len, resp, resp_len);
			check(n <= resp_len);
			if (n && req[0] != VIRTIO_IOMMU_T_PROBE)
				check(n == sizeof(struct virtio_iommu_req_tail) &&
				      resp[0] <= VIRTIO_IOMMU_S_NOMEM && !resp[1] && !resp[2] && !resp[3]);
			if (req_len == 0 || resp_len < 4)
				check(n == 0);
			free(req);
			free(resp);
			break;
		}
		case 1: {
			uint8_t epi = u8(&in), access;
			uint64_t iova;
			uint32_t len;
			struct viommu_xlate x;
			enum viommu_violation r;

			take(&in, &iova, 8);
			take(&in, &len, 4);
			access = u8(&in);
			iova = le64toh(iova);
			len = le32toh(len);
			r = viommu_translate(v, endpoints[epi % 4], iova, len,
					     (enum viommu_access)(access % 4), &x);
			check(r <= VIOMMU_V_UNKNOWN_ENDPOINT);
			if (r == VIOMMU_OK) {
				check(x.len <= len);
				check(!len || (x.len && fuzz_is_ram(NULL, x.gpa, x.len)));
			} else {
				check(!x.len);
			}
			break;
		}
		case 2: {
			uint8_t off = u8(&in), len = u8(&in) % 5, buf[4];
			struct virtio_iommu_config cf;

			take(&in, buf, len);
			viommu_write_config(v, off, buf, len);
			viommu_read_config(v, &cf);
			check(cf.bypass <= 1);
			break;
		}
		case 3: {
			uint8_t what = u8(&in) % 3;
			struct virtio_iommu_fault f;

			if (what == 0)
				viommu_reset(v);
			else if (what == 1)
				while (viommu_pop_fault(v, &f))
					check(f.reason == VIRTIO_IOMMU_FAULT_R_DOMAIN ||
					      f.reason == VIRTIO_IOMMU_FAULT_R_MAPPING);
			else {
				viommu_for_each_endpoint(v, on_ep, NULL);
				viommu_for_each_violation(v, on_violation, NULL);
			}
			break;
		}
		}
	}
	viommu_destroy(v);
	return 0;
}
