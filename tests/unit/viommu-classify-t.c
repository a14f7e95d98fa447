/* SPDX-License-Identifier: MIT */
/*
 * The violation classifier (docs/viommu.md, "Classification"): every class
 * with its context (mappings around the IOVA, the unmap history, the
 * BYPASS lookup, MAP refusals, device reports, leaks), the violation
 * callback (once per violation, locks released, from the causing thread),
 * and the text and JSON renderings.
 */
#include "tests/unit/viommu-util.h"
#include "tests/tap/basic.h"
#include "viommu/mapping.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define EP_A 0x18   /* 00:03.0 */
#define EP_B 0x20   /* 00:04.0 */
#define EP_C 0x28   /* 00:05.0 */
#define R VIRTIO_IOMMU_MAP_F_READ
#define W VIRTIO_IOMMU_MAP_F_WRITE

/* Every record the callback saw (copied: the pointer dies with the call). */
#define MAX_SEEN 64
struct seen {
	struct viommu *v;
	unsigned long calls;
	struct viommu_violation_record rec[MAX_SEEN];
	pthread_t thread[MAX_SEEN];
	uint64_t total_inside[MAX_SEEN];   /* viommu_for_each_violation from inside */
	bool reenter;                      /* call back into the device from the callback */
	bool reentered;
};

static struct seen seen;

static void count_cb(void *opaque, const struct viommu_violation_record *r)
{
	(void)r;
	(*(unsigned long *)opaque)++;
}

static void on_violation(void *opaque, const struct viommu_violation_record *r)
{
	struct seen *s = opaque;
	unsigned long i = s->calls++;

	if (i < MAX_SEEN) {
		unsigned long n = 0;

		s->rec[i] = *r;
		s->thread[i] = pthread_self();
		/* Both of the device's locks must be free by now: these take
		 * the fault mutex, the read lock and the write lock. */
		s->total_inside[i] = viommu_for_each_violation(s->v, count_cb, &n);
		(void)viommu_map_seq(s->v);
		if (s->reenter && !s->reentered) {
			struct test_xlate x;

			s->reentered = true;
			req_unmap(s->v, 77, 0, 0xfff);   /* write lock; NOENT */
			xlate(s->v, r->endpoint_id, 0x7000000, 8, VIOMMU_READ, &x);
		}
	}
}

static const struct viommu_violation_record *last(void)
{
	static const struct viommu_violation_record none;

	return seen.calls ? &seen.rec[(seen.calls - 1) % MAX_SEEN] : &none;
}

static struct viommu *make_cfg(const struct viommu_config *cfg)
{
	struct viommu *v = viommu_create(cfg, &test_host, NULL);

	if (!v)
		bail("viommu_create: %s", strerror(errno));
	if (viommu_add_endpoint(v, EP_A, "dmatest0") || viommu_add_endpoint(v, EP_B, "other") ||
	    viommu_add_endpoint(v, EP_C, "third"))
		bail("viommu_add_endpoint");
	memset(&seen, 0, sizeof(seen));
	seen.v = v;
	viommu_set_violation_cb(v, on_violation, &seen);
	return v;
}

static struct viommu *make(void)
{
	struct viommu_config cfg;

	viommu_default_config(&cfg);
	return make_cfg(&cfg);
}

static void drain(struct viommu *v)
{
	struct virtio_iommu_fault f;

	while (viommu_pop_fault(v, &f))
		;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static bool map_is(const struct viommu_map_info *m, uint64_t s, uint64_t e, uint64_t p, uint32_t f)
{
	return m->valid && m->virt_start == s && m->virt_end == e && m->phys_start == p && m->flags == f;
}

static enum viommu_violation xl(struct viommu *v, uint32_t ep, uint64_t iova, uint64_t len,
				unsigned int access)
{
	struct test_xlate x;

	return xlate(v, ep, iova, len, (enum viommu_access)access, &x);
}

static void test_names(void)
{
	static const char *const want[] = {
		[VIOMMU_V_UNMAPPED] = "unmapped", [VIOMMU_V_PERMISSION] = "permission",
		[VIOMMU_V_PAST_END] = "past-end", [VIOMMU_V_NOT_RAM] = "not-ram",
		[VIOMMU_V_NO_DOMAIN] = "no-domain", [VIOMMU_V_UNKNOWN_ENDPOINT] = "unknown-endpoint",
		[VIOMMU_V_AFTER_UNMAP] = "after-unmap", [VIOMMU_V_BYPASS] = "bypass",
		[VIOMMU_V_ADDRESS_WIDTH] = "address-width", [VIOMMU_V_LEAK] = "leak",
		[VIOMMU_V_DESCRIPTOR] = "descriptor",
	};
	bool all = true;

	for (unsigned int i = VIOMMU_V_NO_DOMAIN; i <= VIOMMU_V_LAST; i++)
		all &= want[i] && !strcmp(want[i], viommu_violation_name((enum viommu_violation)i));
	ok(all && VIOMMU_V_LAST == VIOMMU_V_DESCRIPTOR, "the eleven class names");
}

/* UNMAPPED, PERMISSION, PAST_END with the mappings around them. */
static void test_context(void)
{
	struct viommu *v = make();
	const struct viommu_violation_record *r;
	struct virtio_iommu_fault f;
	uint64_t t0;

	req_attach(v, 5, EP_A, 0);
	req_map(v, 5, 0x10000, 0x10fff, 0x80000, RW);          /* map seq 0 */
	req_map(v, 5, 0x14000, 0x15fff, 0x90000, R);           /* 1 */
	req_map(v, 5, 0x30000, 0x30fff, 0xa0000, W);           /* 2 */

	t0 = mono_ns();
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_A, 0x12000, 64, VIOMMU_READ), "never-mapped IOVA: unmapped");
	r = last();
	ok(seen.calls == 1 && r->seq == 1 && r->time_ns >= t0 && r->time_ns <= mono_ns() &&
	   r->origin == VIOMMU_ORIGIN_DMA && r->endpoint_id == EP_A && !strcmp(r->name, "dmatest0") &&
	   r->iova == 0x12000 && r->len == 64 && r->access == VIOMMU_READ && r->fault_iova == 0x12000,
	   "record: seq 1, CLOCK_MONOTONIC time, origin, endpoint, DMA");
	ok(r->has_domain && r->domain == 5 && !r->shared_domain && !r->identity && r->map_context,
	   "record: domain 5, not shared");
	ok(!r->mapping.valid && map_is(&r->below, 0x10000, 0x10fff, 0x80000, RW) &&
	   map_is(&r->above, 0x14000, 0x15fff, 0x90000, R) && r->below.map_seq == 0 &&
	   r->above.map_seq == 1, "unmapped: no containing mapping; nearest below and above");
	ok(!r->unmapped.valid && !r->bypass_valid && !r->phys_valid, "unmapped: no history, no bypass");
	ok(viommu_pop_fault(v, &f) && f.reason == VIRTIO_IOMMU_FAULT_R_MAPPING &&
	   le64toh(f.address) == 0x12000, "unmapped: fault event R_MAPPING at the IOVA");

	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_A, 0x100, 8, VIOMMU_READ), "below everything");
	ok(!last()->below.valid && map_is(&last()->above, 0x10000, 0x10fff, 0x80000, RW),
	   "... below: none, above: the lowest mapping");
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_A, 0xffffffff00000000ull, 8, VIOMMU_READ), "far above everything");
	ok(map_is(&last()->below, 0x30000, 0x30fff, 0xa0000, W) && !last()->above.valid,
	   "... below: the highest mapping, above: none");
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_A, 0x11000, 8, VIOMMU_READ), "right after a mapping");
	ok(map_is(&last()->below, 0x10000, 0x10fff, 0x80000, RW) &&
	   map_is(&last()->above, 0x14000, 0x15fff, 0x90000, R), "... adjacent neighbours found");

	is_int(VIOMMU_V_PERMISSION, xl(v, EP_A, 0x14800, 16, VIOMMU_WRITE), "write to a READ-only mapping");
	r = last();
	ok(map_is(&r->mapping, 0x14000, 0x15fff, 0x90000, R) && r->mapping.map_seq == 1 &&
	   map_is(&r->below, 0x10000, 0x10fff, 0x80000, RW) &&
	   map_is(&r->above, 0x30000, 0x30fff, 0xa0000, W) && r->fault_iova == 0x14800,
	   "permission: the mapping, and the ones around it");

	is_int(VIOMMU_V_PAST_END, xl(v, EP_A, 0x15f00, 0x200, VIOMMU_READ), "read past the end");
	r = last();
	ok(map_is(&r->mapping, 0x14000, 0x15fff, 0x90000, R) && r->fault_iova == 0x16000 &&
	   map_is(&r->below, 0x10000, 0x10fff, 0x80000, RW) &&
	   map_is(&r->above, 0x30000, 0x30fff, 0xa0000, W) && !r->unmapped.valid,
	   "past-end: the mapping it ran out of; fault at the first unmapped byte");

	/* A permission refusal in the second of two mappings names that one. */
	req_map(v, 5, 0x16000, 0x16fff, 0xb0000, W);
	is_int(VIOMMU_V_PERMISSION, xl(v, EP_A, 0x15f00, 0x200, VIOMMU_WRITE), "write over R-only then W-only");
	ok(map_is(&last()->mapping, 0x14000, 0x15fff, 0x90000, R) && last()->fault_iova == 0x15f00,
	   "... the first offending mapping");
	is_int(VIOMMU_V_PERMISSION, xl(v, EP_A, 0x15f00, 0x200, VIOMMU_READ), "read over R-only then W-only");
	ok(map_is(&last()->mapping, 0x16000, 0x16fff, 0xb0000, W) && last()->fault_iova == 0x16000 &&
	   map_is(&last()->below, 0x14000, 0x15fff, 0x90000, R),
	   "... names the W-only mapping and its neighbours");

	/* Past-end into a range unmapped a moment ago stays past-end. */
	req_unmap(v, 5, 0x16000, 0x16fff);
	is_int(VIOMMU_V_PAST_END, xl(v, EP_A, 0x15f00, 0x200, VIOMMU_READ),
	       "past-end into a recently unmapped range: still past-end");
	r = last();
	ok(r->unmapped.valid && r->unmapped.virt_start == 0x16000 && r->unmapped.virt_end == 0x16fff &&
	   r->unmapped.phys_start == 0xb0000 && r->unmapped.flags == W && r->unmapped.unmaps_ago == 1,
	   "... with the unmapped range in the context");

	/* The top of the IOVA space. */
	req_map(v, 5, 0xfffffffffffff000ull, UINT64_MAX, 0xc0000, RW);
	is_int(VIOMMU_V_PAST_END, xl(v, EP_A, UINT64_MAX - 7, 16, VIOMMU_READ), "past 2^64");
	ok(map_is(&last()->mapping, 0xfffffffffffff000ull, UINT64_MAX, 0xc0000, RW) &&
	   !last()->above.valid && last()->fault_iova == 0 && !last()->unmapped.valid,
	   "... mapping at the top, nothing above, fault address 0");

	/* A shared domain says so. */
	req_attach(v, 5, EP_B, 0);
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_B, 0x50000, 8, VIOMMU_READ), "a second endpoint in the domain");
	ok(last()->shared_domain && last()->domain == 5 && last()->endpoint_id == EP_B, "shared_domain");

	/* No domain, unknown endpoint: no mapping context. */
	is_int(VIOMMU_V_NO_DOMAIN, xl(v, EP_C, 0x10000, 8, VIOMMU_READ), "unattached");
	ok(!last()->has_domain && !last()->map_context && !last()->mapping.valid && !last()->below.valid,
	   "no-domain: no domain, no mapping context");
	/* An endpoint the topology does not have cannot even translate (no
	 * port); what a device model reports for one says so. */
	viommu_report_violation(v, 0x4242, 0x10000, 8, VIOMMU_READ, VIOMMU_V_ADDRESS_WIDTH);
	ok(!last()->has_domain && !strcmp(last()->name, "(unknown endpoint)") &&
	   last()->endpoint_id == 0x4242, "unknown-endpoint record");
	drain(v);
	viommu_destroy(v);
}

static void test_after_unmap(void)
{
	struct viommu *v = make();
	const struct viommu_violation_record *r;
	uint64_t t0;

	req_attach(v, 1, EP_A, 0);
	req_attach(v, 2, EP_B, 0);
	req_map(v, 1, 0xffffc000, 0xffffdfff, 0x1234000, RW);
	req_map(v, 1, 0xffffe000, 0xffffefff, 0x2000000, W);
	req_map(v, 1, 0xfff00000, 0xfff00fff, 0x3000000, RW);
	req_map(v, 1, 0xfff01000, 0xfff01fff, 0x3001000, RW);
	t0 = mono_ns();
	is_int(VIRTIO_IOMMU_S_OK, req_unmap(v, 1, 0xffffe000, 0xffffefff), "UNMAP 0xffffe000");
	req_unmap(v, 1, 0xfff00000, 0xfff01fff);   /* two mappings, one request */
	req_unmap(v, 1, 0x1000, 0x1fff);           /* removes nothing: not counted */

	is_int(VIOMMU_V_AFTER_UNMAP, xl(v, EP_A, 0xffffe000, 4096, VIOMMU_WRITE),
	       "DMA to an unmapped IOVA: after-unmap");
	r = last();
	ok(r->unmapped.valid && r->unmapped.virt_start == 0xffffe000 && r->unmapped.virt_end == 0xffffefff &&
	   r->unmapped.phys_start == 0x2000000 && r->unmapped.flags == W,
	   "after-unmap: the unmapped range, its phys and flags");
	is_int(2, (long long)r->unmapped.unmaps_ago, "unmaps_ago: 2 (UNMAPs removing nothing do not count)");
	ok(r->unmapped.ns_ago > 0 && r->unmapped.ns_ago <= mono_ns() - t0, "ns_ago: since that UNMAP");
	ok(!r->mapping.valid && map_is(&r->below, 0xffffc000, 0xffffdfff, 0x1234000, RW) &&
	   !r->above.valid, "after-unmap: below/above (the unmapped ones are gone)");
	{
		char line[512], want[512];
		int n;

		viommu_format_violation(r, line, sizeof(line));
		n = snprintf(want, sizeof(want), "00:03.0 dmatest0: device write 4096 B at IOVA 0xffffe000: "
			     "after-unmap (IOVA 0xffffe000-0xffffefff unmapped 2 unmaps / ");
		ok(!strncmp(line, want, (size_t)n) &&
		   strstr(line, " ago; below: 0xffffc000-0xffffdfff -> 0x1234000 rw; above: none)") &&
		   line[strlen(line) - 1] == ')', "the line of a real record");
		diag("%s", line);
	}

	is_int(VIOMMU_V_AFTER_UNMAP, xl(v, EP_A, 0xfff01800, 8, VIOMMU_READ), "second mapping of one UNMAP");
	ok(last()->unmapped.virt_start == 0xfff01000 && last()->unmapped.unmaps_ago == 1,
	   "... its own range, unmaps_ago 1");
	is_int(VIOMMU_V_AFTER_UNMAP, xl(v, EP_A, 0xfff00000, 8, VIOMMU_READ), "first mapping of one UNMAP");
	ok(last()->unmapped.virt_start == 0xfff00000 && last()->unmapped.unmaps_ago == 1,
	   "... same UNMAP, same unmaps_ago");

	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_B, 0xffffe000, 8, VIOMMU_WRITE),
	       "the same IOVA in another domain: unmapped (history is per domain)");

	/* Linux reuses IOVAs: mapped again, it is simply valid. */
	req_map(v, 1, 0xffffe000, 0xffffefff, 0x5000000, RW);
	is_int(VIOMMU_OK, xl(v, EP_A, 0xffffe000, 4096, VIOMMU_WRITE), "re-mapped after unmap: valid again");
	req_unmap(v, 1, 0xffffe000, 0xffffefff);
	is_int(VIOMMU_V_AFTER_UNMAP, xl(v, EP_A, 0xffffe010, 4, VIOMMU_READ), "unmapped again");
	ok(last()->unmapped.phys_start == 0x5000000 && last()->unmapped.unmaps_ago == 1 &&
	   last()->unmapped.flags == RW, "... the newest unmapping is reported");

	/* The domain goes away: its history with it. */
	req_detach(v, 1, EP_A);
	req_attach(v, 1, EP_A, 0);
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_A, 0xffffe010, 4, VIOMMU_READ),
	       "domain freed and re-created: history gone");

	req_map(v, 1, 0x40000, 0x40fff, 0x40000, RW);
	req_unmap(v, 1, 0x40000, 0x40fff);
	is_int(VIOMMU_V_AFTER_UNMAP, xl(v, EP_A, 0x40000, 4, VIOMMU_READ), "new history");
	viommu_reset(v);
	req_attach(v, 1, EP_A, 0);
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_A, 0x40000, 4, VIOMMU_READ), "reset clears the history");
	drain(v);
	viommu_destroy(v);
}

static void test_history_bounds(void)
{
	struct viommu_config cfg;
	struct viommu *v;
	bool all = true;

	viommu_default_config(&cfg);
	cfg.unmap_history = 8;
	cfg.max_total_history = 12;
	cfg.bypass_scan = 0;   /* its ring would share the 12 entries */
	v = make_cfg(&cfg);
	req_attach(v, 1, EP_A, 0);
	req_attach(v, 2, EP_B, 0);
	for (unsigned int i = 0; i < 10; i++) {
		req_map(v, 1, 0x100000 + i * 0x1000, 0x100fff + i * 0x1000, 0x100000, RW);
		req_unmap(v, 1, 0x100000 + i * 0x1000, 0x100fff + i * 0x1000);
	}
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_A, 0x100000, 4, VIOMMU_READ), "history of 8: the 1st of 10 evicted");
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_A, 0x101000, 4, VIOMMU_READ), "... the 2nd too");
	is_int(VIOMMU_V_AFTER_UNMAP, xl(v, EP_A, 0x102000, 4, VIOMMU_READ), "... the 3rd is kept");
	is_int(8, (long long)last()->unmapped.unmaps_ago, "... 8 unmaps ago");
	for (unsigned int i = 3; i < 10; i++)
		all &= xl(v, EP_A, 0x100000 + i * 0x1000, 4, VIOMMU_READ) == VIOMMU_V_AFTER_UNMAP &&
		       last()->unmapped.unmaps_ago == 10 - i;
	ok(all, "... and the rest, newest 1 unmap ago");

	/* Domain 2 gets what is left of the device-wide 12 entries: 4. */
	for (unsigned int i = 0; i < 6; i++) {
		req_map(v, 2, 0x200000 + i * 0x1000, 0x200fff + i * 0x1000, 0x100000, RW);
		req_unmap(v, 2, 0x200000 + i * 0x1000, 0x200fff + i * 0x1000);
	}
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_B, 0x201000, 4, VIOMMU_READ),
	       "device-wide cap: the second domain's ring holds 4");
	is_int(VIOMMU_V_AFTER_UNMAP, xl(v, EP_B, 0x202000, 4, VIOMMU_READ), "... the newest 4 kept");
	/* Freeing domain 1 returns its 8 entries to the pool. */
	req_detach(v, 1, EP_A);
	for (unsigned int i = 6; i < 14; i++) {
		req_map(v, 2, 0x200000 + i * 0x1000, 0x200fff + i * 0x1000, 0x100000, RW);
		req_unmap(v, 2, 0x200000 + i * 0x1000, 0x200fff + i * 0x1000);
	}
	is_int(VIOMMU_V_AFTER_UNMAP, xl(v, EP_B, 0x206000, 4, VIOMMU_READ),
	       "after the other domain is freed the ring grows to 8");
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_B, 0x205000, 4, VIOMMU_READ), "... and no further");
	drain(v);
	viommu_destroy(v);

	viommu_default_config(&cfg);
	cfg.unmap_history = 0;
	v = make_cfg(&cfg);
	req_attach(v, 1, EP_A, 0);
	req_map(v, 1, 0x100000, 0x100fff, 0x100000, RW);
	req_unmap(v, 1, 0x100000, 0x100fff);
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_A, 0x100000, 4, VIOMMU_READ), "unmap_history 0: no after-unmap");
	drain(v);
	viommu_destroy(v);

	/* A long run through the default ring: it wraps, no growth beyond. */
	v = make();
	req_attach(v, 1, EP_A, 0);
	for (unsigned int i = 0; i < 5000; i++) {
		req_map(v, 1, 0x1000000 + i * 0x1000ull, 0x1000fff + i * 0x1000ull, 0x100000, RW);
		req_unmap(v, 1, 0x1000000 + i * 0x1000ull, 0x1000fff + i * 0x1000ull);
	}
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_A, 0x1000000 + 903 * 0x1000ull, 4, VIOMMU_READ),
	       "default history 4096: the 904th of 5000 evicted");
	is_int(VIOMMU_V_AFTER_UNMAP, xl(v, EP_A, 0x1000000 + 904 * 0x1000ull, 4, VIOMMU_READ),
	       "... the 905th kept");
	is_int(4096, (long long)last()->unmapped.unmaps_ago, "... 4096 unmaps ago");
	drain(v);
	viommu_destroy(v);
}

static void test_bypass(void)
{
	struct viommu_config cfg;
	struct viommu *v = make();
	const struct viommu_violation_record *r;

	req_attach(v, 1, EP_A, 0);
	req_attach(v, 2, EP_B, 0);
	req_map(v, 1, 0xfff00000, 0xfff01fff, 0x200000, RW);
	req_map(v, 2, 0xfff00000, 0xfff00fff, 0x700000, RW);
	is_int(VIOMMU_V_BYPASS, xl(v, EP_A, 0x200800, 64, VIOMMU_WRITE),
	       "DMA at the GPA of a mapped buffer: bypass");
	r = last();
	ok(r->bypass_valid && r->bypass_iova == 0xfff00800 && !r->mapping.valid && r->fault_iova == 0x200800,
	   "bypass: the IOVA where that GPA is mapped");
	ok(!r->below.valid && map_is(&r->above, 0xfff00000, 0xfff01fff, 0x200000, RW),
	   "bypass: the mappings around the IOVA used");
	is_int(VIOMMU_V_BYPASS, xl(v, EP_A, 0x201fff, 1, VIOMMU_READ), "last byte of the phys range");
	ok(last()->bypass_iova == 0xfff01fff, "... maps to the last IOVA");
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_A, 0x202000, 1, VIOMMU_READ), "just past the phys range: unmapped");
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_A, 0x700000, 8, VIOMMU_READ),
	       "GPA mapped only in another domain: unmapped");

	/* After-unmap wins over bypass. */
	req_map(v, 1, 0x300000, 0x300fff, 0x400000, RW);
	req_unmap(v, 1, 0x300000, 0x300fff);
	req_map(v, 1, 0x10000, 0x10fff, 0x300000, RW);
	is_int(VIOMMU_V_AFTER_UNMAP, xl(v, EP_A, 0x300000, 8, VIOMMU_READ),
	       "an unmapped IOVA that is also a mapped GPA: after-unmap first");
	ok(!last()->bypass_valid, "... no bypass context");

	/* The remembered MAPs are checked against the live mappings. */
	req_unmap(v, 1, 0xfff00000, 0xfff01fff);
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_A, 0x200800, 8, VIOMMU_READ),
	       "the GPA's mapping was unmapped: no longer bypass");
	req_map(v, 1, 0xfff10000, 0xfff10fff, 0x200000, R);
	is_int(VIOMMU_V_BYPASS, xl(v, EP_A, 0x200800, 8, VIOMMU_READ), "mapped again elsewhere: bypass");
	ok(last()->bypass_iova == 0xfff10800, "... at the new IOVA");
	drain(v);
	viommu_destroy(v);

	/* The scan covers the newest bypass_scan mappings. */
	viommu_default_config(&cfg);
	cfg.bypass_scan = 2;
	v = make_cfg(&cfg);
	req_attach(v, 1, EP_A, 0);
	req_map(v, 1, 0xf0000000, 0xf0000fff, 0x100000, RW);
	req_map(v, 1, 0xf0001000, 0xf0001fff, 0x200000, RW);
	req_map(v, 1, 0xf0002000, 0xf0002fff, 0x300000, RW);
	is_int(VIOMMU_V_BYPASS, xl(v, EP_A, 0x300000, 8, VIOMMU_READ), "bypass_scan 2: newest found");
	is_int(VIOMMU_V_BYPASS, xl(v, EP_A, 0x200000, 8, VIOMMU_READ), "... second newest found");
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_A, 0x100000, 8, VIOMMU_READ), "... older not examined");
	drain(v);
	viommu_destroy(v);
}

static void test_map_not_ram(void)
{
	struct viommu *v = make();
	const struct viommu_violation_record *r;
	unsigned long before;

	req_attach(v, 3, EP_B, 0);
	req_attach(v, 3, EP_A, 0);   /* lower ID, attached later */
	before = seen.calls;
	is_int(VIRTIO_IOMMU_S_RANGE, req_map(v, 3, 0x100000, 0x101fff, 0xfec00000, RW),
	       "MAP of the IOAPIC page without F_MMIO: still S_RANGE");
	r = last();
	ok(seen.calls == before + 1 && r->reason == VIOMMU_V_NOT_RAM && r->origin == VIOMMU_ORIGIN_MAP,
	   "... a not-ram violation, through the callback");
	ok(r->endpoint_id == EP_A && r->has_domain && r->domain == 3 && r->shared_domain &&
	   r->iova == 0x100000 && r->len == 0x2000 && r->access == (VIOMMU_READ | VIOMMU_WRITE),
	   "... the domain's lowest endpoint, the virt range, access from the flags");
	ok(r->phys_valid && r->phys_start == 0xfec00000 && r->phys_end == 0xfec01fff &&
	   r->fault_iova == 0x100000 && !r->map_context, "... the phys range in the context");
	ok(!viommu_has_fault(v), "... no fault event (the request status says it)");

	is_int(VIRTIO_IOMMU_S_RANGE, req_map(v, 3, 0x200000, 0x203fff, LOW_RAM_END - 0x2000, R),
	       "MAP straddling the end of RAM");
	ok(last()->fault_iova == 0x202000 && last()->access == VIOMMU_READ,
	   "... fault_iova: the IOVA of the first non-RAM byte");

	before = seen.calls;
	is_int(VIRTIO_IOMMU_S_OK, req_map(v, 3, 0x300000, 0x300fff, 0xfec00000, RW | VIRTIO_IOMMU_MAP_F_MMIO),
	       "with F_MMIO: accepted");
	is_int(VIRTIO_IOMMU_S_RANGE, req_map(v, 3, 0x300001, 0x301000, 0xfec00000, RW),
	       "misaligned MAP: S_RANGE");
	ok(seen.calls == before, "... no violation for either");

	/* A DMA through the MMIO mapping is refused as not-ram (translation). */
	is_int(VIOMMU_V_NOT_RAM, xl(v, EP_A, 0x300010, 4, VIOMMU_WRITE), "DMA through an MMIO mapping");
	ok(last()->origin == VIOMMU_ORIGIN_DMA &&
	   map_is(&last()->mapping, 0x300000, 0x300fff, 0xfec00000, RW | VIRTIO_IOMMU_MAP_F_MMIO) &&
	   !last()->phys_valid, "... origin dma, with the mapping");
	drain(v);
	viommu_destroy(v);
}

static void ep_faults(void *opaque, const struct viommu_endpoint_stats *s)
{
	if (s->endpoint_id == EP_A)
		*(uint64_t *)opaque = s->faults + s->translations;
}

static void test_device_reports(void)
{
	struct viommu *v = make();
	const struct viommu_violation_record *r;
	uint64_t faults0 = 0, faults1 = 0;
	unsigned long before;

	req_attach(v, 1, EP_A, 0);
	req_map(v, 1, 0x100000000ull, 0x100000fffull, 0x10000, RW);
	req_map(v, 1, 0xffff0000, 0xffff0fff, 0x20000, RW);
	drain(v);
	viommu_for_each_endpoint(v, ep_faults, &faults0);
	before = seen.calls;
	viommu_report_violation(v, EP_A, 0x100000010ull, 64, VIOMMU_READ, VIOMMU_V_ADDRESS_WIDTH);
	r = last();
	ok(seen.calls == before + 1 && r->reason == VIOMMU_V_ADDRESS_WIDTH &&
	   r->origin == VIOMMU_ORIGIN_DEVICE && r->iova == 0x100000010ull && r->len == 64 &&
	   r->access == VIOMMU_READ && r->domain == 1 && r->map_context,
	   "address-width: recorded, through the callback");
	ok(map_is(&r->mapping, 0x100000000ull, 0x100000fffull, 0x10000, RW) &&
	   map_is(&r->below, 0xffff0000, 0xffff0fff, 0x20000, RW) && !r->above.valid,
	   "... with the mapping holding the IOVA and its neighbours");
	ok(!viommu_has_fault(v), "... no fault event queued");
	{
		char line[512];

		viommu_format_violation(r, line, sizeof(line));
		is_string("00:03.0 dmatest0: device read 64 B at IOVA 0x100000010: address-width "
			  "(mapped: 0x100000000-0x100000fff -> 0x10000 rw; below: 0xffff0000-0xffff0fff "
			  "-> 0x20000 rw; above: none)", line, "... its line");
	}
	viommu_report_violation(v, EP_A, 0x200000000ull, 8, VIOMMU_WRITE, VIOMMU_V_ADDRESS_WIDTH);
	ok(!last()->mapping.valid && map_is(&last()->below, 0x100000000ull, 0x100000fffull, 0x10000, RW),
	   "an unmapped IOVA: no mapping, neighbours");
	before = seen.calls;
	viommu_report_violation(v, EP_A, 0x1000, 8, VIOMMU_WRITE, VIOMMU_OK);
	viommu_report_violation(v, EP_A, 0x1000, 8, VIOMMU_WRITE, (enum viommu_violation)99);
	ok(seen.calls == before, "VIOMMU_OK or an unknown class: ignored");
	viommu_report_violation(v, EP_C, 0x1000, 8, VIOMMU_WRITE, VIOMMU_V_ADDRESS_WIDTH);
	ok(!last()->has_domain && !last()->map_context && last()->endpoint_id == EP_C,
	   "an unattached endpoint: recorded without domain");
	viommu_report_violation(v, 0x4242, 0x1000, 8, VIOMMU_WRITE, VIOMMU_V_ADDRESS_WIDTH);
	ok(!strcmp(last()->name, "(unknown endpoint)"), "an unknown endpoint: recorded");
	ok(!viommu_has_fault(v), "no fault events from device reports");
	viommu_for_each_endpoint(v, ep_faults, &faults1);
	ok(faults0 == faults1, "... and the endpoint's refused-DMA count unchanged");
	drain(v);
	viommu_destroy(v);
}

struct live_seen {
	unsigned int n;
	uint64_t start[8];
};

static void on_live(void *opaque, uint64_t s, uint64_t e, uint64_t p, uint32_t f)
{
	struct live_seen *l = opaque;

	(void)e;
	(void)p;
	(void)f;
	if (l->n < 8)
		l->start[l->n] = s;
	l->n++;
}

static void test_leaks(void)
{
	struct viommu *v = make();
	const struct viommu_violation_record *r;
	struct live_seen live = { 0 };
	unsigned long before;
	uint64_t seq0, seq;

	seq0 = viommu_map_seq(v);
	is_int(0, (long long)seq0, "map_seq starts at 0");
	req_attach(v, 1, EP_A, 0);
	req_attach(v, 2, EP_C, 0);
	req_map(v, 1, 0x30000, 0x30fff, 0x1000, RW);             /* seq 0 */
	req_map(v, 2, 0x50000, 0x50fff, 0x1000, RW);             /* 1: other domain */
	req_map(v, 1, 0x10000, 0x11fff, 0x2000, R);              /* 2 */
	req_map(v, 1, 0x20000, 0x20fff, 0x4000, W);              /* 3 */
	req_map(v, 1, 0x20000, 0x20fff, 0x4000, W);              /* overlap: refused, no seq */
	seq = viommu_map_seq(v);
	is_int(4, (long long)seq, "map_seq counts successful MAPs");
	req_map(v, 1, 0x40000, 0x40fff, 0x5000, RW);             /* 4: after the seq */

	is_int(4, viommu_endpoint_live_mappings(v, EP_A, on_live, &live), "4 live mappings");
	ok(live.n == 4 && live.start[0] == 0x10000 && live.start[1] == 0x20000 &&
	   live.start[2] == 0x30000 && live.start[3] == 0x40000, "... in IOVA order");
	is_int(0, viommu_endpoint_live_mappings(v, EP_B, on_live, &live), "unattached: 0");

	before = seen.calls;
	is_int(3, viommu_check_leaks(v, EP_A, seq, 10), "3 mappings created before the seq are leaks");
	ok(seen.calls == before + 3, "... one callback each");
	r = &seen.rec[before];
	ok(r[0].reason == VIOMMU_V_LEAK && r[0].origin == VIOMMU_ORIGIN_LEAK && r[0].iova == 0x30000 &&
	   r[0].len == 0x1000 && r[0].access == (VIOMMU_READ | VIOMMU_WRITE) &&
	   map_is(&r[0].mapping, 0x30000, 0x30fff, 0x1000, RW) && r[0].mapping.map_seq == 0,
	   "oldest first: iova, len, access from the flags, the mapping with its map seq");
	ok(r[1].iova == 0x10000 && r[1].len == 0x2000 && r[1].access == VIOMMU_READ &&
	   r[1].mapping.map_seq == 2 && r[2].iova == 0x20000 && r[2].access == VIOMMU_WRITE,
	   "... then the others (the other domain's mapping not counted)");
	ok(map_is(&r[0].below, 0x20000, 0x20fff, 0x4000, W) && map_is(&r[0].above, 0x40000, 0x40fff, 0x5000, RW) &&
	   r[0].endpoint_id == EP_A && r[0].domain == 1 && !r[0].shared_domain && r[2].seq == r[0].seq + 2,
	   "... context and consecutive seqs");

	before = seen.calls;
	is_int(4, viommu_check_leaks(v, EP_A, UINT64_MAX, 2), "every live mapping, max_records 2");
	ok(seen.calls == before + 2, "... only 2 recorded, the count is still 4");
	is_int(0, viommu_check_leaks(v, EP_A, 0, 10), "created before seq 0: none");

	req_unmap(v, 1, 0x10000, 0x11fff);
	is_int(2, viommu_check_leaks(v, EP_A, seq, 0), "an unmapped one is no leak; max_records 0: count only");
	is_int(1, viommu_check_leaks(v, EP_C, seq, 0), "the other domain has its own");
	is_int(0, viommu_check_leaks(v, EP_B, seq, 10), "not attached: 0");
	is_int(0, viommu_check_leaks(v, 0x4242, seq, 10), "unknown endpoint: 0");

	req_attach(v, 1, EP_B, 0);
	before = seen.calls;
	viommu_check_leaks(v, EP_A, seq, 1);
	ok(seen.calls == before + 1 && last()->shared_domain, "shared domain: said so");

	viommu_reset(v);
	is_int(5, (long long)viommu_map_seq(v), "reset keeps map_seq");
	drain(v);
	viommu_destroy(v);
}

/* Callback: once per violation (also beyond VIOMMU_MAX_RECORDS), locks
 * released, from the causing thread. */
static void *refuse_from_thread(void *arg)
{
	xl(arg, EP_A, 0x9990000, 8, VIOMMU_READ);
	return NULL;
}

static void test_callback(void)
{
	struct viommu *v = make();
	unsigned long before, n = 0;
	bool order = true, inside = true;
	uint64_t total;
	pthread_t th;

	req_attach(v, 1, EP_A, 0);
	seen.reenter = true;
	is_int(VIOMMU_V_UNMAPPED, xl(v, EP_A, 0x1000, 8, VIOMMU_READ), "a refusal");
	ok(seen.reentered && seen.calls == 2, "the callback called back in (request + translation)");
	ok(seen.total_inside[0] == 1 && seen.total_inside[1] == 2,
	   "viommu_for_each_violation from inside sees the record");
	ok(seen.rec[0].seq == 1 && seen.rec[1].seq == 2 && seen.rec[1].iova == 0x7000000,
	   "... and the nested violation got its own call");
	seen.reenter = false;

	before = seen.calls;
	for (unsigned int i = 0; i < VIOMMU_MAX_RECORDS + 50; i++)
		xl(v, EP_A, 0x1000, 8, VIOMMU_READ);
	ok(seen.calls == before + VIOMMU_MAX_RECORDS + 50, "one call per violation, also past VIOMMU_MAX_RECORDS");
	total = viommu_for_each_violation(v, count_cb, &n);
	ok(total == seen.calls && n == VIOMMU_MAX_RECORDS, "total count = calls; records bounded");
	for (unsigned long i = 1; i < MAX_SEEN && i < seen.calls; i++) {
		order &= seen.rec[i].seq == seen.rec[i - 1].seq + 1 &&
			 seen.rec[i].time_ns >= seen.rec[i - 1].time_ns;
		inside &= seen.total_inside[i] >= seen.rec[i].seq;
	}
	ok(order && inside, "seq +1 and time_ns monotonic per call");

	memset(&seen.thread, 0, sizeof(seen.thread));
	seen.calls = 0;
	if (pthread_create(&th, NULL, refuse_from_thread, v))
		bail("pthread_create");
	pthread_join(th, NULL);
	ok(seen.calls == 1 && pthread_equal(seen.thread[0], th), "called from the thread that caused it");

	viommu_set_violation_cb(v, NULL, NULL);
	before = seen.calls;
	xl(v, EP_A, 0x1000, 8, VIOMMU_READ);
	ok(seen.calls == before, "NULL callback: none");
	drain(v);
	viommu_destroy(v);
}

/* The renderings, on records with fixed contents. */
static struct viommu_violation_record example(void)
{
	return (struct viommu_violation_record){
		.endpoint_id = EP_A, .name = "dmatest0", .iova = 0xffffe000, .len = 4096,
		.access = VIOMMU_WRITE, .reason = VIOMMU_V_AFTER_UNMAP, .seq = 7, .time_ns = 123456789,
		.origin = VIOMMU_ORIGIN_DMA, .fault_iova = 0xffffe000, .has_domain = true, .domain = 1,
		.map_context = true,
		.below = { .valid = true, .virt_start = 0xffffc000, .virt_end = 0xffffdfff,
			   .phys_start = 0x1234000, .flags = RW, .map_seq = 5 },
		.unmapped = { .valid = true, .virt_start = 0xffffe000, .virt_end = 0xffffefff,
			      .phys_start = 0x5678000, .flags = W, .unmaps_ago = 2, .ns_ago = 1300000 },
	};
}

static FILE *json_out;
static unsigned int json_lines;

static void check_json(const char *json)
{
	if (json_out) {
		fprintf(json_out, "%s\n", json);
		json_lines++;
	}
}

static void test_format(void)
{
	struct viommu_violation_record r = example();
	char buf[2048], small[20];
	size_t n;
	static const char line[] =
		"00:03.0 dmatest0: device write 4096 B at IOVA 0xffffe000: after-unmap (IOVA "
		"0xffffe000-0xffffefff unmapped 2 unmaps / 1.3 ms ago; below: 0xffffc000-0xffffdfff -> "
		"0x1234000 rw; above: none)";
	static const char json[] =
		"{\"type\":\"violation\",\"seq\":7,\"time_ns\":123456789,\"bdf\":\"00:03.0\",\"endpoint\":24,"
		"\"name\":\"dmatest0\",\"origin\":\"dma\",\"domain\":1,\"shared_domain\":false,"
		"\"identity\":false,\"iova\":\"0xffffe000\",\"len\":4096,\"fault_iova\":\"0xffffe000\","
		"\"access\":\"write\",\"reason\":\"after-unmap\",\"detail\":\"00:03.0 dmatest0: device "
		"write 4096 B at IOVA 0xffffe000: after-unmap (IOVA 0xffffe000-0xffffefff unmapped 2 "
		"unmaps / 1.3 ms ago; below: 0xffffc000-0xffffdfff -> 0x1234000 rw; above: none)\","
		"\"below\":{\"virt_start\":\"0xffffc000\",\"virt_end\":\"0xffffdfff\","
		"\"phys_start\":\"0x1234000\",\"flags\":3,\"perm\":\"rw\",\"map_seq\":5},\"above\":null,"
		"\"unmapped\":{\"virt_start\":\"0xffffe000\",\"virt_end\":\"0xffffefff\","
		"\"phys_start\":\"0x5678000\",\"flags\":2,\"unmaps_ago\":2,\"ns_ago\":1300000}}";

	n = viommu_format_violation(&r, buf, sizeof(buf));
	is_string(line, buf, "the example line");
	is_int((long long)strlen(line), (long long)n, "... its length returned");
	is_int((long long)n, (long long)viommu_format_violation(&r, NULL, 0), "NULL, 0: the length only");
	n = viommu_format_violation(&r, small, sizeof(small));
	ok(n == strlen(line) && strlen(small) == sizeof(small) - 1 && !strncmp(small, line, sizeof(small) - 1),
	   "truncated like snprintf");
	n = viommu_violation_json(&r, buf, sizeof(buf));
	is_string(json, buf, "the example as JSON");
	is_int((long long)strlen(json), (long long)n, "... its length returned");
	n = viommu_violation_json(&r, small, sizeof(small));
	ok(n == strlen(json) && !strncmp(small, json, sizeof(small) - 1) && strlen(small) == sizeof(small) - 1,
	   "JSON truncated like snprintf");
	check_json(buf);

	/* Singular, other durations, no unmaps info. */
	r.unmapped.unmaps_ago = 1;
	r.unmapped.ns_ago = 950;
	viommu_format_violation(&r, buf, sizeof(buf));
	ok(strstr(buf, "unmapped 1 unmap / 950 ns ago;") != NULL, "1 unmap / 950 ns");
	r.unmapped.ns_ago = 12345678901ull;
	viommu_format_violation(&r, buf, sizeof(buf));
	ok(strstr(buf, "/ 12.3 s ago;") != NULL, "12.3 s");
	r.unmapped.ns_ago = 45678;
	viommu_format_violation(&r, buf, sizeof(buf));
	ok(strstr(buf, "/ 45.6 us ago;") != NULL, "45.6 us");

	/* Escaping: quotes, backslashes and control bytes in a name. */
	r = example();
	r.name = "a\"b\\c\n\x01";
	viommu_violation_json(&r, buf, sizeof(buf));
	ok(strstr(buf, "\"name\":\"a\\\"b\\\\c\\u000a\\u0001\"") != NULL, "names are JSON-escaped");
	ok(strstr(buf, "\"detail\":\"00:03.0 a\\\"b\\\\c\\u000a\\u0001: device") != NULL,
	   "... in the detail too");
	check_json(buf);

	/* Other shapes. */
	r = (struct viommu_violation_record){
		.endpoint_id = 0x0102, .name = "nic", .iova = 0x100000, .len = 0x2000,
		.access = VIOMMU_READ | VIOMMU_WRITE, .reason = VIOMMU_V_NOT_RAM, .seq = 1,
		.origin = VIOMMU_ORIGIN_MAP, .fault_iova = 0x101000, .has_domain = true, .domain = 9,
		.shared_domain = true, .phys_valid = true, .phys_start = 0xbffff000, .phys_end = 0xc0000fff,
	};
	viommu_format_violation(&r, buf, sizeof(buf));
	is_string("01:00.2 nic: MAP IOVA 0x100000-0x101fff -> 0xbffff000-0xc0000fff rw: not-ram (GPA "
		  "0xc0000000 is not guest RAM and the MAP lacks F_MMIO; refused with S_RANGE; domain 9 "
		  "shared with other endpoints)", buf, "a MAP refusal's line");
	viommu_violation_json(&r, buf, sizeof(buf));
	ok(strstr(buf, "\"origin\":\"map\"") && strstr(buf, "\"access\":\"read-write\"") &&
	   strstr(buf, "\"phys\":{\"start\":\"0xbffff000\",\"end\":\"0xc0000fff\"}") &&
	   !strstr(buf, "\"below\"") && strstr(buf, "\"shared_domain\":true"),
	   "... its JSON: phys range, no below/above (not looked up)");
	check_json(buf);

	r = (struct viommu_violation_record){
		.endpoint_id = EP_A, .name = "dmatest0", .iova = 0x20000, .len = 0x1000,
		.access = VIOMMU_READ, .reason = VIOMMU_V_LEAK, .seq = 3, .origin = VIOMMU_ORIGIN_LEAK,
		.fault_iova = 0x20000, .has_domain = true, .domain = 1, .map_context = true,
		.mapping = { .valid = true, .virt_start = 0x20000, .virt_end = 0x20fff, .phys_start = 0x4000,
			     .flags = R, .map_seq = 17 },
	};
	viommu_format_violation(&r, buf, sizeof(buf));
	is_string("00:03.0 dmatest0: mapping IOVA 0x20000-0x20fff -> 0x4000 r: leak (still mapped, "
		  "created by MAP #17; below: none; above: none)", buf, "a leak's line");
	viommu_violation_json(&r, buf, sizeof(buf));
	ok(strstr(buf, "\"mapping\":{\"virt_start\":\"0x20000\",\"virt_end\":\"0x20fff\",\"phys_start\":"
			"\"0x4000\",\"flags\":1,\"perm\":\"r\",\"map_seq\":17}") != NULL &&
	   strstr(buf, "\"origin\":\"leak-check\"") != NULL, "... its JSON: the mapping");
	check_json(buf);

	r = (struct viommu_violation_record){
		.endpoint_id = EP_A, .name = "dmatest0", .iova = 0x200800, .len = 64,
		.access = VIOMMU_WRITE, .reason = VIOMMU_V_BYPASS, .seq = 4, .origin = VIOMMU_ORIGIN_DMA,
		.fault_iova = 0x200800, .has_domain = true, .domain = 1, .map_context = true,
		.bypass_valid = true, .bypass_iova = 0xfff00800,
	};
	viommu_format_violation(&r, buf, sizeof(buf));
	is_string("00:03.0 dmatest0: device write 64 B at IOVA 0x200800: bypass (0x200800 is the GPA "
		  "of a buffer mapped at IOVA 0xfff00800; below: none; above: none)", buf, "bypass line");
	viommu_violation_json(&r, buf, sizeof(buf));
	ok(strstr(buf, "\"bypass_iova\":\"0xfff00800\"") != NULL, "... JSON bypass_iova");
	check_json(buf);

	r = (struct viommu_violation_record){
		.endpoint_id = EP_A, .name = "dmatest0", .iova = 0x15f00, .len = 0x200,
		.access = VIOMMU_READ, .reason = VIOMMU_V_PAST_END, .seq = 5, .origin = VIOMMU_ORIGIN_DMA,
		.fault_iova = 0x16000, .has_domain = true, .domain = 1, .map_context = true,
		.mapping = { .valid = true, .virt_start = 0x14000, .virt_end = 0x15fff, .phys_start = 0x90000,
			     .flags = R },
		.unmapped = { .valid = true, .virt_start = 0x16000, .virt_end = 0x16fff, .unmaps_ago = 3,
			      .ns_ago = 2500000 },
	};
	viommu_format_violation(&r, buf, sizeof(buf));
	is_string("00:03.0 dmatest0: device read 512 B at IOVA 0x15f00: past-end (runs past 0x14000-0x15fff "
		  "-> 0x90000 r into unmapped IOVA 0x16000; recently IOVA 0x16000-0x16fff unmapped 3 unmaps "
		  "/ 2.5 ms ago; below: none; above: none)", buf, "past-end into a recent unmap");
	check_json((viommu_violation_json(&r, buf, sizeof(buf)), buf));

	r = (struct viommu_violation_record){
		.endpoint_id = EP_C, .name = "third", .iova = 0x1000, .len = 8, .access = VIOMMU_READ,
		.reason = VIOMMU_V_NO_DOMAIN, .seq = 6, .origin = VIOMMU_ORIGIN_DMA, .fault_iova = 0x1000,
	};
	viommu_format_violation(&r, buf, sizeof(buf));
	is_string("00:05.0 third: device read 8 B at IOVA 0x1000: no-domain (not attached to a domain, "
		  "bypass off)", buf, "no-domain line");
	viommu_violation_json(&r, buf, sizeof(buf));
	ok(strstr(buf, "\"domain\":null") != NULL, "... JSON domain null");
	check_json(buf);
}

/* The documented worst-case lengths, over every class and origin. */
static void test_max_lengths(void)
{
	struct viommu_map_info mi = {
		.valid = true, .virt_start = 0xfffffffffffff000ull, .virt_end = 0xffffffffffffefffull,
		.phys_start = 0xfffffffffffff000ull, .flags = 7, .map_seq = UINT64_MAX,
	};
	struct viommu_violation_record r = {
		.endpoint_id = 0xffff, .name = "\x01\x02\x03\x04\x05\x06\x07\x08",
		.iova = UINT64_MAX - 1, .len = UINT64_MAX, .access = VIOMMU_READ | VIOMMU_WRITE,
		.seq = UINT64_MAX, .time_ns = UINT64_MAX, .fault_iova = UINT64_MAX - 1,
		.has_domain = true, .shared_domain = true, .domain = UINT32_MAX, .map_context = true,
		.mapping = mi, .below = mi, .above = mi,
		.unmapped = { .valid = true, .virt_start = UINT64_MAX - 1, .virt_end = UINT64_MAX - 1,
			      .phys_start = UINT64_MAX - 1, .flags = 7, .unmaps_ago = UINT64_MAX,
			      .ns_ago = UINT64_MAX },
		.bypass_valid = true, .bypass_iova = UINT64_MAX,
		.phys_valid = true, .phys_start = UINT64_MAX - 1, .phys_end = UINT64_MAX,
	};
	size_t line = 0, json = 0;

	for (unsigned int reason = 1; reason <= VIOMMU_V_LAST; reason++)
		for (unsigned int origin = 0; origin <= VIOMMU_ORIGIN_LEAK; origin++) {
			size_t l, j;

			r.reason = (enum viommu_violation)reason;
			r.origin = (enum viommu_origin)origin;
			l = viommu_format_violation(&r, NULL, 0);
			j = viommu_violation_json(&r, NULL, 0);
			line = l > line ? l : line;
			json = j > json ? j : json;
		}
	ok(line <= 539 + 8 && json <= 1654 + 12 * 8,
	   "worst cases within 539 + namelen and 1654 + 12 * namelen (%zu, %zu)", line, json);
}

/* Records from a real session, rendered and handed to a JSON parser. */
static void on_json(void *opaque, const struct viommu_violation_record *r)
{
	char buf[4096];

	(void)opaque;
	viommu_violation_json(r, buf, sizeof(buf));
	check_json(buf);
}

static void test_json_parses(void)
{
	const char *tmp = getenv("TMPDIR"), *srcdir = getenv("top_srcdir");
	char path[256], cmd[4096];
	struct viommu *v;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/viommu-classify-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0 || !(json_out = fdopen(fd, "w")))
		bail("mkstemp: %s", strerror(errno));
	if (!srcdir || !*srcdir)
		srcdir = ".";   /* make check sets it; by hand, from the top of the tree */
	test_format();
	v = make();
	viommu_set_violation_cb(v, on_json, NULL);
	req_attach(v, 1, EP_A, 0);
	req_attach(v, 1, EP_B, 0);
	req_map(v, 1, 0x10000, 0x10fff, 0x80000, R);
	req_map(v, 1, 0x11000, 0x11fff, 0x90000, RW);
	req_unmap(v, 1, 0x11000, 0x11fff);
	xl(v, EP_A, 0x11000, 8, VIOMMU_READ);
	xl(v, EP_A, 0x10f00, 0x200, VIOMMU_READ);
	xl(v, EP_A, 0x10000, 8, VIOMMU_WRITE);
	xl(v, EP_A, 0x80010, 8, VIOMMU_WRITE);
	xl(v, EP_C, 0x80010, 8, VIOMMU_WRITE);
	xl(v, 0x4242, 0x80010, 8, VIOMMU_WRITE);
	req_map(v, 1, 0x20000, 0x20fff, 0xfec00000, RW);
	viommu_report_violation(v, EP_B, 0x100000000ull, 8, VIOMMU_READ, VIOMMU_V_ADDRESS_WIDTH);
	viommu_check_leaks(v, EP_A, UINT64_MAX, 10);
	fclose(json_out);
	json_out = NULL;
	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		skip("python3 not found");
	} else {
		snprintf(cmd, sizeof(cmd),
			 "python3 -c 'import json, sys\n"
			 "n = 0\n"
			 "for l in open(sys.argv[1]):\n"
			 "    o = json.loads(l); n += 1\n"
			 "    assert o[\"type\"] == \"violation\" and isinstance(o[\"detail\"], str)\n"
			 "assert n == %u, n' %s", json_lines, path);
		rc = system(cmd);
		is_int(0, rc, "%u JSON lines parse (python3 json)", json_lines);
	}
	/* ... and are valid --report lines (docs/report.schema.json), after
	 * the "vm" line that starts every report. */
	snprintf(cmd, sizeof(cmd),
		 "{ echo '{\"type\":\"vm\",\"report_schema\":1,\"vmm_version\":\"0\",\"name\":null,"
		 "\"uuid\":null}'; cat %s; } >%s.report && %s/tests/report-validate "
		 "%s/docs/report.schema.json %s.report >%s.out 2>&1; rc=$?; sed 's/^/# /' %s.out; "
		 "rm -f %s.out; exit $rc", path, path, srcdir, srcdir, path, path, path, path);
	rc = system(cmd);
	is_int(0, rc, "%u violation lines are valid against the report's JSON Schema", json_lines);
	snprintf(cmd, sizeof(cmd), "%s.report", path);
	unlink(cmd);
	unlink(path);
	drain(v);
	viommu_destroy(v);
}

/* mapping_tree_below/above (the bisection behind below/above) against a
 * linear scan, on random aligned mappings including both ends of the
 * 64-bit space. */
static uint64_t rnd_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void test_neighbours(void)
{
	for (unsigned int shift = 0; shift <= 12; shift += 12) {
		uint64_t align = 1ull << shift;
		struct mapping_tree t;
		struct viommu_mapping *ms[600];
		unsigned int n = 0, wrong = 0, queries = 0;

		mapping_tree_init(&t);
		for (unsigned int i = 0; i < 600; i++) {
			struct viommu_mapping *m = calloc(1, sizeof(*m));
			uint64_t base, pages = 1 + rnd() % 4;

			if (!m)
				bail("calloc");
			/* clustered near 0, in the middle, near the top */
			switch (i % 3) {
			case 0: base = (rnd() % 4096) << shift; break;
			case 1: base = (rnd() >> 1) & ~(align - 1); break;
			default: base = UINT64_MAX - (((rnd() % 4096) + 4) << shift) + 1; break;
			}
			if (i == 0)
				base = 0;
			if (i == 1)
				base = UINT64_MAX - pages * align + 1;
			m->start = base;
			m->end = base + pages * align - 1;
			if (mapping_tree_insert(&t, m))
				free(m);
			else
				ms[n++] = m;
		}
		for (unsigned int q = 0; q < 20000; q++) {
			uint64_t x;
			const struct viommu_mapping *b = NULL, *a = NULL, *gb, *ga, *hold;

			switch (q % 4) {
			case 0: x = ms[rnd() % n]->start; break;
			case 1: x = ms[rnd() % n]->end; break;
			case 2: x = ms[rnd() % n]->end + 1 + rnd() % (4 * align); break;
			default: x = q & 8 ? rnd() : rnd() % (8192ull << shift); break;
			}
			hold = mapping_tree_find(&t, x);
			for (unsigned int i = 0; i < n; i++) {
				if (ms[i]->end < x && (!b || ms[i]->end > b->end))
					b = ms[i];
				if (ms[i]->start > x && (!a || ms[i]->start < a->start))
					a = ms[i];
			}
			/* any x: unmapped, or anywhere inside a mapping */
			gb = mapping_tree_below(&t, x);
			ga = mapping_tree_above(&t, x);
			wrong += (gb != b) + (ga != a);
			wrong += hold && (x < hold->start || x > hold->end);
			queries += 2;
		}
		ok(!wrong && queries > 20000, "nearest below/above = linear scan (granule %" PRIu64 ", %u mappings, "
		   "%u queries)", align, n, queries);
		mapping_tree_destroy(&t);
	}
}

int main(void)
{
	alarm(120);   /* a deadlock in a callback fails instead of hanging */
	plan(152);
	test_names();
	test_neighbours();
	test_context();
	test_after_unmap();
	test_history_bounds();
	test_bypass();
	test_map_not_ram();
	test_device_reports();
	test_leaks();
	test_callback();
	test_json_parses();
	test_max_lengths();
	return 0;
}
