/* SPDX-License-Identifier: MIT */
/*
 * Violation records as text: one human line (viommu_format_violation) and
 * one JSON object (viommu_violation_json).  Field meanings and examples:
 * docs/viommu.md, "Reports".  Both have snprintf semantics.
 */
#include "viommu/report.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An output buffer that counts what did not fit. */
struct sbuf {
	char *buf;
	size_t len, pos;
};

static void sb_init(struct sbuf *s, char *buf, size_t len)
{
	s->buf = len ? buf : NULL;
	s->len = s->buf ? len : 0;
	s->pos = 0;
	if (s->len)
		s->buf[0] = '\0';
}

static __attribute__((format(printf, 2, 3))) void sb_printf(struct sbuf *s, const char *fmt, ...)
{
	size_t room = s->pos < s->len ? s->len - s->pos : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(room ? s->buf + s->pos : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->pos += (size_t)n;
}

static void sb_putc(struct sbuf *s, char c)
{
	if (s->pos + 1 < s->len) {
		s->buf[s->pos] = c;
		s->buf[s->pos + 1] = '\0';
	}
	s->pos++;
}

static void sb_puts(struct sbuf *s, const char *str)
{
	while (*str)
		sb_putc(s, *str++);
}

/* A JSON string: quotes, backslashes and bytes outside printable ASCII
 * escaped (so the output is valid JSON whatever the bytes are). */
static void sb_json_string(struct sbuf *s, const char *str)
{
	sb_putc(s, '"');
	for (const unsigned char *p = (const unsigned char *)(str ? str : ""); *p; p++) {
		if (*p == '"' || *p == '\\') {
			sb_putc(s, '\\');
			sb_putc(s, (char)*p);
		} else if (*p < 0x20 || *p >= 0x7f) {
			sb_printf(s, "\\u%04x", *p);
		} else {
			sb_putc(s, (char)*p);
		}
	}
	sb_putc(s, '"');
}

/* An endpoint ID (a PCI requester ID) as bus:device.function. */
static void sb_bdf(struct sbuf *s, uint32_t id)
{
	sb_printf(s, "%02x:%02x.%u", (id >> 8) & 0xffffff, (id >> 3) & 0x1f, id & 7);
}

static const char *access_word(enum viommu_access a)
{
	switch ((unsigned int)a) {
	case VIOMMU_READ: return "read";
	case VIOMMU_WRITE: return "write";
	case VIOMMU_READ | VIOMMU_WRITE: return "read-write";
	}
	return "none";
}

/* "rw", "r", "w" or "-", then " mmio" for F_MMIO. */
static void sb_perm(struct sbuf *s, uint32_t flags)
{
	bool r = flags & VIRTIO_IOMMU_MAP_F_READ, w = flags & VIRTIO_IOMMU_MAP_F_WRITE;

	sb_puts(s, r && w ? "rw" : r ? "r" : w ? "w" : "-");
	if (flags & VIRTIO_IOMMU_MAP_F_MMIO)
		sb_puts(s, " mmio");
}

static void sb_map(struct sbuf *s, const struct viommu_map_info *m)
{
	if (!m->valid) {
		sb_puts(s, "none");
		return;
	}
	sb_printf(s, "0x%" PRIx64 "-0x%" PRIx64 " -> 0x%" PRIx64 " ", m->virt_start, m->virt_end,
		  m->phys_start);
	sb_perm(s, m->flags);
}

/* 950 ns, 12.3 us, 1.3 ms, 4.0 s: tenths, truncated (no floating point). */
static void sb_duration(struct sbuf *s, uint64_t ns)
{
	if (ns < 1000)
		sb_printf(s, "%" PRIu64 " ns", ns);
	else if (ns < 1000000)
		sb_printf(s, "%" PRIu64 ".%" PRIu64 " us", ns / 1000, ns / 100 % 10);
	else if (ns < 1000000000)
		sb_printf(s, "%" PRIu64 ".%" PRIu64 " ms", ns / 1000000, ns / 100000 % 10);
	else
		sb_printf(s, "%" PRIu64 ".%" PRIu64 " s", ns / 1000000000, ns / 100000000 % 10);
}

static void sb_unmapped(struct sbuf *s, const struct viommu_unmap_info *u)
{
	sb_printf(s, "IOVA 0x%" PRIx64 "-0x%" PRIx64 " unmapped %" PRIu64 " unmap%s / ",
		  u->virt_start, u->virt_end, u->unmaps_ago, u->unmaps_ago == 1 ? "" : "s");
	sb_duration(s, u->ns_ago);
	sb_puts(s, " ago");
}

/* The GPA an IOVA inside m translates to. */
static uint64_t gpa_in(const struct viommu_map_info *m, uint64_t iova)
{
	return m->phys_start + (iova - m->virt_start);
}

/* Separator between the items in parentheses. */
static void sb_sep(struct sbuf *s, bool *first)
{
	sb_puts(s, *first ? " (" : "; ");
	*first = false;
}

static void format(const struct viommu_violation_record *r, struct sbuf *s)
{
	bool first = true;

	sb_bdf(s, r->endpoint_id);
	sb_printf(s, " %s: ", r->name ? r->name : "");
	switch (r->origin) {
	case VIOMMU_ORIGIN_MAP:
		sb_printf(s, "MAP IOVA 0x%" PRIx64 "-0x%" PRIx64 " -> 0x%" PRIx64 "-0x%" PRIx64 " ",
			  r->iova, r->iova + (r->phys_end - r->phys_start), r->phys_start, r->phys_end);
		sb_perm(s, (r->access & VIOMMU_READ ? VIRTIO_IOMMU_MAP_F_READ : 0) |
			   (r->access & VIOMMU_WRITE ? VIRTIO_IOMMU_MAP_F_WRITE : 0));
		break;
	case VIOMMU_ORIGIN_LEAK:
		if (r->mapping.valid) {
			sb_puts(s, "mapping IOVA ");
			sb_map(s, &r->mapping);
		} else {
			sb_printf(s, "mapping at IOVA 0x%" PRIx64 " (%" PRIu64 " B)", r->iova, r->len);
		}
		break;
	default:
		sb_printf(s, "device %s %" PRIu64 " B at IOVA 0x%" PRIx64,
			  r->access == (VIOMMU_READ | VIOMMU_WRITE) ? "read-write"
			  : r->access == VIOMMU_READ ? "read"
			  : r->access == VIOMMU_WRITE ? "write" : "access",
			  r->len, r->iova);
		break;
	}
	sb_printf(s, ": %s", viommu_violation_name(r->reason));

	/* What the class is about. */
	switch (r->reason) {
	case VIOMMU_V_NO_DOMAIN:
		sb_sep(s, &first);
		sb_puts(s, "not attached to a domain, bypass off");
		break;
	case VIOMMU_V_UNKNOWN_ENDPOINT:
		sb_sep(s, &first);
		sb_puts(s, "not an endpoint of this IOMMU");
		break;
	case VIOMMU_V_PERMISSION:
		if (r->mapping.valid) {
			sb_sep(s, &first);
			sb_puts(s, "mapping ");
			sb_map(s, &r->mapping);
			if (r->fault_iova != r->iova)
				sb_printf(s, " at IOVA 0x%" PRIx64, r->fault_iova);
		} else if (r->access != VIOMMU_READ && r->access != VIOMMU_WRITE &&
			   r->access != (VIOMMU_READ | VIOMMU_WRITE)) {
			sb_sep(s, &first);
			sb_printf(s, "invalid access %u", (unsigned int)r->access);
		}
		break;
	case VIOMMU_V_PAST_END:
		sb_sep(s, &first);
		if (r->mapping.valid) {
			sb_puts(s, "runs past ");
			sb_map(s, &r->mapping);
			sb_puts(s, " into ");
		} else {
			sb_puts(s, "runs into ");
		}
		if (r->mapping.valid && r->mapping.virt_end == UINT64_MAX)
			sb_puts(s, "the end of the IOVA space");
		else
			sb_printf(s, "unmapped IOVA 0x%" PRIx64, r->fault_iova);
		if (r->unmapped.valid) {
			sb_sep(s, &first);
			sb_puts(s, "recently ");
			sb_unmapped(s, &r->unmapped);
		}
		break;
	case VIOMMU_V_NOT_RAM:
		sb_sep(s, &first);
		if (r->origin == VIOMMU_ORIGIN_MAP) {
			sb_printf(s, "GPA 0x%" PRIx64 " is not guest RAM and the MAP lacks F_MMIO; refused with S_RANGE",
				  r->phys_start + (r->fault_iova - r->iova));
		} else if (r->mapping.valid) {
			sb_printf(s, "IOVA 0x%" PRIx64 " -> GPA 0x%" PRIx64 " is not guest RAM; mapping ",
				  r->fault_iova, gpa_in(&r->mapping, r->fault_iova));
			sb_map(s, &r->mapping);
		} else if (r->identity) {
			if (r->fault_iova == 0 && r->iova != 0)
				sb_puts(s, "identity-mapped (bypass) DMA runs past 2^64");
			else
				sb_printf(s, "identity-mapped (bypass) GPA 0x%" PRIx64 " is not guest RAM",
					  r->fault_iova);
		} else {
			sb_printf(s, "IOVA 0x%" PRIx64 " is not guest RAM", r->fault_iova);
		}
		break;
	case VIOMMU_V_AFTER_UNMAP:
		if (r->unmapped.valid) {
			sb_sep(s, &first);
			sb_unmapped(s, &r->unmapped);
		}
		break;
	case VIOMMU_V_BYPASS:
		if (r->bypass_valid) {
			sb_sep(s, &first);
			sb_printf(s, "0x%" PRIx64 " is the GPA of a buffer mapped at IOVA 0x%" PRIx64,
				  r->fault_iova, r->bypass_iova);
		}
		break;
	case VIOMMU_V_LEAK:
		if (r->mapping.valid) {
			sb_sep(s, &first);
			sb_printf(s, "still mapped, created by MAP #%" PRIu64, r->mapping.map_seq);
		}
		break;
	case VIOMMU_V_DESCRIPTOR:
		if (r->rule) {
			sb_sep(s, &first);
			sb_puts(s, r->rule);
		}
		break;
	case VIOMMU_V_UNMAPPED:
	case VIOMMU_V_ADDRESS_WIDTH:
	case VIOMMU_OK:
	default:
		if (r->origin == VIOMMU_ORIGIN_DEVICE && r->map_context) {
			sb_sep(s, &first);
			if (r->mapping.valid) {
				sb_puts(s, "mapped: ");
				sb_map(s, &r->mapping);
			} else {
				sb_puts(s, "not mapped");
			}
		}
		/* device reports may carry history context too */
		if (r->unmapped.valid) {
			sb_sep(s, &first);
			sb_unmapped(s, &r->unmapped);
		}
		break;
	}
	if (r->identity && r->reason != VIOMMU_V_NOT_RAM) {
		sb_sep(s, &first);
		sb_puts(s, "identity-mapped (bypass)");
	}
	if (r->map_context) {
		sb_sep(s, &first);
		sb_puts(s, "below: ");
		sb_map(s, &r->below);
		sb_puts(s, "; above: ");
		sb_map(s, &r->above);
	}
	if (r->shared_domain) {
		sb_sep(s, &first);
		sb_printf(s, "domain %" PRIu32 " shared with other endpoints", r->domain);
	}
	if (!first)
		sb_putc(s, ')');
}

size_t viommu_format_violation(const struct viommu_violation_record *r, char *buf, size_t len)
{
	struct sbuf s;

	sb_init(&s, buf, len);
	format(r, &s);
	return s.pos;
}

static const char *origin_name(enum viommu_origin o)
{
	switch (o) {
	case VIOMMU_ORIGIN_DMA: return "dma";
	case VIOMMU_ORIGIN_MAP: return "map";
	case VIOMMU_ORIGIN_DEVICE: return "device";
	case VIOMMU_ORIGIN_LEAK: return "leak-check";
	}
	return "?";
}

static void json_map(struct sbuf *s, const char *key, const struct viommu_map_info *m)
{
	if (!m->valid)
		return;
	sb_printf(s, ",\"%s\":{\"virt_start\":\"0x%" PRIx64 "\",\"virt_end\":\"0x%" PRIx64
		  "\",\"phys_start\":\"0x%" PRIx64 "\",\"flags\":%" PRIu32 ",\"perm\":\"",
		  key, m->virt_start, m->virt_end, m->phys_start, m->flags);
	sb_perm(s, m->flags & (VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE));
	sb_printf(s, "\",\"map_seq\":%" PRIu64 "}", m->map_seq);
}

size_t viommu_violation_json(const struct viommu_violation_record *r, char *buf, size_t len)
{
	char small[1024], *detail = small;
	struct sbuf s;
	size_t n;

	n = viommu_format_violation(r, small, sizeof(small));
	if (n >= sizeof(small)) {
		char *big = malloc(n + 1);

		/* no memory: the detail stays truncated */
		if (big) {
			viommu_format_violation(r, big, n + 1);
			detail = big;
		}
	}
	sb_init(&s, buf, len);
	sb_printf(&s, "{\"type\":\"violation\",\"seq\":%" PRIu64 ",\"time_ns\":%" PRIu64
		  ",\"bdf\":\"", r->seq, r->time_ns);
	sb_bdf(&s, r->endpoint_id);
	sb_printf(&s, "\",\"endpoint\":%" PRIu32 ",\"name\":", r->endpoint_id);
	sb_json_string(&s, r->name);
	sb_printf(&s, ",\"origin\":\"%s\",\"domain\":", origin_name(r->origin));
	if (r->has_domain)
		sb_printf(&s, "%" PRIu32, r->domain);
	else
		sb_puts(&s, "null");
	sb_printf(&s, ",\"shared_domain\":%s,\"identity\":%s,\"iova\":\"0x%" PRIx64 "\",\"len\":%" PRIu64
		  ",\"fault_iova\":\"0x%" PRIx64 "\",\"access\":\"%s\",\"reason\":\"%s\",\"detail\":",
		  r->shared_domain ? "true" : "false", r->identity ? "true" : "false", r->iova, r->len,
		  r->fault_iova, access_word(r->access), viommu_violation_name(r->reason));
	sb_json_string(&s, detail);
	if (detail != small)
		free(detail);
	if (r->rule) {
		sb_puts(&s, ",\"rule\":");
		sb_json_string(&s, r->rule);
	}
	json_map(&s, "mapping", &r->mapping);
	if (r->map_context) {
		/* explicit nulls: looked up, nothing there */
		if (r->below.valid)
			json_map(&s, "below", &r->below);
		else
			sb_puts(&s, ",\"below\":null");
		if (r->above.valid)
			json_map(&s, "above", &r->above);
		else
			sb_puts(&s, ",\"above\":null");
	}
	if (r->unmapped.valid)
		sb_printf(&s, ",\"unmapped\":{\"virt_start\":\"0x%" PRIx64 "\",\"virt_end\":\"0x%" PRIx64
			  "\",\"phys_start\":\"0x%" PRIx64 "\",\"flags\":%" PRIu32 ",\"unmaps_ago\":%" PRIu64
			  ",\"ns_ago\":%" PRIu64 "}",
			  r->unmapped.virt_start, r->unmapped.virt_end, r->unmapped.phys_start,
			  r->unmapped.flags, r->unmapped.unmaps_ago, r->unmapped.ns_ago);
	if (r->bypass_valid)
		sb_printf(&s, ",\"bypass_iova\":\"0x%" PRIx64 "\"", r->bypass_iova);
	if (r->phys_valid)
		sb_printf(&s, ",\"phys\":{\"start\":\"0x%" PRIx64 "\",\"end\":\"0x%" PRIx64 "\"}",
			  r->phys_start, r->phys_end);
	sb_putc(&s, '}');
	return s.pos;
}
