/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: arbitrary bytes become a sequence of virtio-iommu
 * requests, translations, config writes and resets.  Asserts that nothing
 * crashes (ASan/UBSan do the rest), that used lengths fit the buffers and
 * the spec's shapes, and that every allowed DMA lands in guest RAM.
 *
 * Input format (docs/viommu.md, "Fuzzing"; tests/fuzz/viommu-requests-seeds.c writes seeds):
 *   byte 0: config: bit 0 byte granule, bit 1 bypass=1, bit 2 small caps,
 *           bit 3 48-bit input range, bit 4 tiny rings: unmap history 8
 *           and recent MAPs 3 per domain, 12 entries in all
 *   then operations, each starting with an op byte (op % 4):
 *     0 request:   u8 req_len, u16le resp_len, req_len bytes of request
 *     1 translate: u8 endpoint index, u64le iova, u32le len, u8 access
 *     2 config write: u8 offset, u8 len (% 5), len bytes
 *     3 other:     u8 what (% 6): 0 reset, 1 pop every fault, 2 reports,
 *                  3 leak check: u8 endpoint index, u8 back, u8 max_records
 *                    (created_before_seq = map_seq - back % 16 ... + 1)
 *                  4 live mappings: u8 endpoint index
 *                  5 device report: u8 endpoint index, u64le iova,
 *                    u32le len, u8 access, u8 reason
 * A truncated tail is padded with zeroes.
 *
 * Every violation goes through a callback that checks the record, its
 * text and JSON (a small JSON parser below), truncated output, and calls
 * back into the device (the locks are released by then); at the end the
 * number of callbacks must equal the number of violations.
 */
#include "viommu/report.h"
#include "viommu/viommu.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_END 0x40000000ull   /* 1 GiB of RAM at 0 */

static bool fuzz_is_ram(void *opaque, uint64_t gpa, uint64_t len)
{
	(void)opaque;
	return len && gpa < RAM_END && len <= RAM_END - gpa;
}

static const struct viommu_host_ops fuzz_host = { .is_ram = fuzz_is_ram };
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

/* ---- a minimal JSON parser: is the whole string one valid value? */
static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	return p;
}

static const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	for (;;) {
		unsigned char c = (unsigned char)*p++;

		if (c == '"')
			return p;
		if (c < 0x20)
			return NULL;
		if (c == '\\') {
			c = (unsigned char)*p++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++, p++)
					if (!strchr("0123456789abcdefABCDEF", *p) || !*p)
						return NULL;
			} else if (!c || !strchr("\"\\/bfnrt", c)) {
				return NULL;
			}
		}
	}
}

static const char *json_number(const char *p)
{
	const char *q = p;

	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (*p >= '0' && *p <= '9')
			p++;
	else
		return NULL;
	return p > q ? p : NULL;   /* integers are all we emit */
}

static const char *json_value(const char *p, int depth)
{
	p = json_ws(p);
	if (depth > 8)
		return NULL;
	if (*p == '{' || *p == '[') {
		char close = *p == '{' ? '}' : ']';
		bool obj = *p == '{';

		p = json_ws(p + 1);
		if (*p == close)
			return p + 1;
		for (;;) {
			if (obj) {
				p = json_string(json_ws(p));
				if (!p)
					return NULL;
				p = json_ws(p);
				if (*p++ != ':')
					return NULL;
			}
			p = json_value(p, depth + 1);
			if (!p)
				return NULL;
			p = json_ws(p);
			if (*p == close)
				return p + 1;
			if (*p++ != ',')
				return NULL;
		}
	}
	if (*p == '"')
		return json_string(p);
	if (!strncmp(p, "true", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (!strncmp(p, "null", 4))
		return p + 4;
	return json_number(p);
}

static bool json_valid(const char *s)
{
	const char *end = json_value(s, 0);

	return end && !*json_ws(end) && s[0] == '{';
}

/* ---- the violation callback */
struct cb_state {
	struct viommu *v;
	struct viommu_port *port[4];   /* one per endpoint; NULL for the unknown one */
	uint64_t calls, last_seq;
	uint64_t outer_calls;   /* not from a call made by the callback itself */
	int depth;
};

static struct cb_state cb;

static void count_records(void *opaque, const struct viommu_violation_record *r)
{
	(*(uint64_t *)opaque)++;
	check(r->seq >= 1);
}

/*
 * One DMA of endpoint index epi as a device makes it: a window on the
 * endpoint's port, the range translated in batches of up to 3 pieces
 * (so that the continuation path runs too), every piece in RAM and the
 * pieces adding up.  The unknown endpoint has no port: VIOMMU_V_UNKNOWN_ENDPOINT.
 */
static enum viommu_violation fuzz_translate(struct cb_state *st, unsigned int epi, uint64_t iova,
					    uint64_t len, unsigned int access)
{
	struct viommu_port *port = st->port[epi % 4];
	enum viommu_violation r = VIOMMU_OK;
	uint64_t done = 0;

	if (!port)
		return VIOMMU_V_UNKNOWN_ENDPOINT;
	viommu_dma_begin(port);
	do {
		struct viommu_piece pc[3];
		struct viommu_xlate x = { .pieces = pc, .max = 3 };
		uint64_t sum = 0;

		r = viommu_translate(port, iova + done, len - done, (enum viommu_access)access, &x);
		if (r != VIOMMU_OK) {
			check(!x.len && !x.n);
			break;
		}
		check(x.len <= len - done && x.n <= 3 && (!len || x.len));
		for (unsigned int i = 0; i < x.n; i++) {
			check(pc[i].len && fuzz_is_ram(NULL, pc[i].gpa, pc[i].len));
			sum += pc[i].len;
		}
		check(sum == x.len);
		done += x.len;
	} while (done < len);
	viommu_dma_end(port);
	return r;
}

static void on_violation_cb(void *opaque, const struct viommu_violation_record *r)
{
	struct cb_state *st = opaque;
	char line[2048], json[4096], small[17];
	size_t n, j, k;
	uint64_t records = 0, total;

	st->calls++;
	if (!st->depth)
		st->outer_calls++;
	/* single-threaded: every violation, in order */
	check(r->seq == st->last_seq + 1);
	st->last_seq = r->seq;
	check(r->name != NULL && r->reason != VIOMMU_OK && r->reason <= VIOMMU_V_LAST);
	check(!r->mapping.valid || r->mapping.virt_start <= r->mapping.virt_end);
	/* neighbours around the mapping, else around the offending byte */
	if (r->mapping.valid)
		check((!r->below.valid || r->below.virt_end < r->mapping.virt_start) &&
		      (!r->above.valid || r->above.virt_start > r->mapping.virt_end));
	else
		check((!r->below.valid || r->below.virt_end < r->fault_iova) &&
		      (!r->above.valid || r->above.virt_start > r->fault_iova));
	check(r->map_context || (!r->mapping.valid && !r->below.valid && !r->above.valid));
	check(!r->unmapped.valid || (r->unmapped.unmaps_ago >= 1 &&
				     r->unmapped.virt_start <= r->fault_iova &&
				     r->fault_iova <= r->unmapped.virt_end));
	check(!(r->map_context && r->identity));
	/* (a device report carries whatever reason the device model gave) */
	if (r->origin == VIOMMU_ORIGIN_DMA && r->reason == VIOMMU_V_AFTER_UNMAP)
		check(r->unmapped.valid && !r->mapping.valid && r->has_domain);
	if (r->origin == VIOMMU_ORIGIN_DMA && r->reason == VIOMMU_V_BYPASS)
		check(r->bypass_valid && !r->unmapped.valid && !r->mapping.valid);
	if (r->origin == VIOMMU_ORIGIN_DMA && (r->reason == VIOMMU_V_ADDRESS_WIDTH ||
					       r->reason == VIOMMU_V_LEAK))
		check(0);
	if (r->origin == VIOMMU_ORIGIN_LEAK)
		check(r->reason == VIOMMU_V_LEAK && r->mapping.valid &&
		      r->mapping.virt_start == r->iova && r->map_context);
	if (r->origin == VIOMMU_ORIGIN_MAP)
		check(r->reason == VIOMMU_V_NOT_RAM && r->phys_valid && r->has_domain);

	n = viommu_format_violation(r, line, sizeof(line));
	check(n < sizeof(line) && strlen(line) == n && !strchr(line, '\n'));
	check(viommu_format_violation(r, NULL, 0) == n);
	k = viommu_format_violation(r, small, sizeof(small));
	check(k == n && strlen(small) == (n < sizeof(small) ? n : sizeof(small) - 1) &&
	      !strncmp(small, line, strlen(small)));
	j = viommu_violation_json(r, json, sizeof(json));
	check(j < sizeof(json) && strlen(json) == j && json_valid(json));
	k = viommu_violation_json(r, small, sizeof(small));
	check(k == j && !strncmp(small, json, strlen(small)));

	/* The locks are released: calling back in must not deadlock. */
	total = viommu_for_each_violation(st->v, count_records, &records);
	check(total >= r->seq && records == (total < VIOMMU_MAX_RECORDS ? total : VIOMMU_MAX_RECORDS));
	/* (not from a leak check: its records are handed over in a batch,
	 * and a violation in between would break the seq order checked) */
	if (!st->depth++ && r->origin != VIOMMU_ORIGIN_LEAK) {
		(void)viommu_map_seq(st->v);
		for (unsigned int i = 0; i < 4; i++)
			if (endpoints[i] == r->endpoint_id)
				fuzz_translate(st, i, r->fault_iova, 1, VIOMMU_READ);
	}
	st->depth--;
}

static void on_live(void *opaque, uint64_t s, uint64_t e, uint64_t p, uint32_t f)
{
	uint64_t *prev_end = opaque;

	check(s <= e);
	/* IOVA order, disjoint */
	check(*prev_end == UINT64_MAX || (s > *prev_end));
	*prev_end = e;
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
	if (c & 16) {
		cfg.unmap_history = 8;
		cfg.max_total_history = 12;
		cfg.bypass_scan = 3;
	}
	v = viommu_create(&cfg, &fuzz_host, NULL);
	check(v != NULL);
	cb = (struct cb_state){ .v = v };
	for (unsigned int i = 0; i < 3; i++) {
		check(viommu_add_endpoint(v, endpoints[i], i == 1 ? "ep \"1\"\\\x01\xff" : "ep") == 0);
		cb.port[i] = viommu_port_open(v, endpoints[i]);
		check(cb.port[i] != NULL);
	}
	check(!viommu_port_open(v, endpoints[3]));
	viommu_set_violation_cb(v, on_violation_cb, &cb);

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
			enum viommu_violation r;

			take(&in, &iova, 8);
			take(&in, &len, 4);
			access = u8(&in);
			r = fuzz_translate(&cb, epi, le64toh(iova), le32toh(len), access % 4);
			check(r <= VIOMMU_V_BYPASS && r != VIOMMU_V_ADDRESS_WIDTH);
			check(r != VIOMMU_V_UNKNOWN_ENDPOINT || epi % 4 == 3);
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
			uint8_t what = u8(&in) % 6;
			struct virtio_iommu_fault f;

			if (what == 0) {
				viommu_reset(v);
			} else if (what == 1) {
				while (viommu_pop_fault(v, &f))
					check(f.reason == VIRTIO_IOMMU_FAULT_R_DOMAIN ||
					      f.reason == VIRTIO_IOMMU_FAULT_R_MAPPING);
			} else if (what == 2) {
				viommu_for_each_endpoint(v, on_ep, NULL);
				viommu_for_each_violation(v, on_violation, NULL);
			} else if (what == 3) {
				uint32_t ep = endpoints[u8(&in) % 4];
				uint8_t back = u8(&in) % 16, max = u8(&in) % 8;
				uint64_t seq = viommu_map_seq(v), calls = cb.outer_calls;
				unsigned int live = viommu_endpoint_live_mappings(v, ep, NULL, NULL);
				unsigned int leaks;

				seq = seq >= back ? seq - back + 1 : 1;
				leaks = viommu_check_leaks(v, ep, seq, max);
				check(leaks <= live);
				/* one record per leak, up to max */
				check(cb.outer_calls - calls == (leaks < max ? leaks : max));
			} else if (what == 4) {
				uint64_t prev_end = UINT64_MAX;

				viommu_endpoint_live_mappings(v, endpoints[u8(&in) % 4], on_live, &prev_end);
			} else {
				uint8_t epi = u8(&in), access, reason;
				uint64_t iova, calls = cb.outer_calls;
				uint32_t len;

				take(&in, &iova, 8);
				take(&in, &len, 4);
				access = u8(&in);
				reason = u8(&in) % 12;
				viommu_report_violation(v, endpoints[epi % 4], le64toh(iova), le32toh(len),
							(enum viommu_access)(access % 4),
							(enum viommu_violation)reason);
				check(cb.outer_calls - calls == (reason != VIOMMU_OK && reason <= VIOMMU_V_LAST));
			}
			break;
		}
		}
	}
	{
		uint64_t total = viommu_for_each_violation(v, NULL, NULL);

		check(total == cb.calls && total == cb.last_seq);
	}
	for (unsigned int i = 0; i < 3; i++)
		viommu_port_close(cb.port[i]);
	viommu_destroy(v);
	return 0;
}
