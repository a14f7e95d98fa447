/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "vmm/report.h"
#include "vmm/dmatest.h"
#include "vmm/nvme.h"
#include "vmm/log.h"
#include "viommu/report.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* The version of the report's JSON lines, docs/report.schema.json: up by
 * one whenever a line loses a field or a field changes meaning. */
#define REPORT_SCHEMA_VERSION 1

/* Violations listed on stderr; --report has every recorded one. */
#define REPORT_VIOLATIONS_SHOWN 50

struct report_ctx {
	FILE *json;
	uint64_t shown;     /* violations listed on stderr */
};

/* s as a JSON string literal (quotes and escapes) on f. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void report_endpoint(void *opaque, const struct viommu_endpoint_stats *s)
{
	struct report_ctx *ctx = opaque;
	struct pci_bdf_str bdf = pci_bdf_str(s->endpoint_id);

	pr_info("iommu: %s %-11s attach %" PRIu64 ", detach %" PRIu64 ", map %" PRIu64
		" (%" PRIu64 " bytes), unmap %" PRIu64 " (%" PRIu64 " bytes), translations %" PRIu64
		", refused %" PRIu64 "; removals waited for its DMA %" PRIu64 " times, %" PRIu64 " us",
		bdf.s, s->name, s->attaches, s->detaches, s->maps, s->map_bytes, s->unmaps, s->unmap_bytes,
		s->translations, s->faults, s->drain_waits, s->drain_wait_ns / 1000);
	if (ctx->json) {
		fprintf(ctx->json, "{\"type\":\"endpoint\",\"bdf\":\"%s\",\"name\":", bdf.s);
		json_string(ctx->json, s->name);
		fprintf(ctx->json, ",\"attaches\":%" PRIu64 ",\"detaches\":%" PRIu64 ",\"maps\":%" PRIu64
			",\"map_bytes\":%" PRIu64 ",\"unmaps\":%" PRIu64 ",\"unmap_bytes\":%" PRIu64
			",\"translations\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"drain_waits\":%" PRIu64
			",\"drain_wait_ns\":%" PRIu64 "}\n",
			s->attaches, s->detaches, s->maps, s->map_bytes, s->unmaps, s->unmap_bytes,
			s->translations, s->faults, s->drain_waits, s->drain_wait_ns);
	}
}

static void report_account(void *opaque, const char *name, const struct swiotlb_stats *s)
{
	struct report_ctx *ctx = opaque;

	pr_info("bounce: %-22s in %" PRIu64 " B, out %" PRIu64 " B, %" PRIu64 " segments, "
		"high water %" PRIu64 " slots, exhausted %" PRIu64,
		name, s->bytes_in, s->bytes_out, s->segments, s->slots_hiwater, s->exhausted);
	if (ctx->json) {
		fputs("{\"type\":\"bounce\",\"device\":", ctx->json);
		json_string(ctx->json, name);
		fprintf(ctx->json, ",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64
			",\"segments\":%" PRIu64 ",\"slots_in_use\":%" PRIu64
			",\"slots_hiwater\":%" PRIu64 ",\"exhausted\":%" PRIu64 "}\n",
			s->bytes_in, s->bytes_out, s->segments, s->slots_in_use, s->slots_hiwater,
			s->exhausted);
	}
}

static void report_violation(void *opaque, const struct viommu_violation_record *r)
{
	struct report_ctx *ctx = opaque;
	char buf[2048];

	if (ctx->shown++ < REPORT_VIOLATIONS_SHOWN) {
		viommu_format_violation(r, buf, sizeof(buf));
		pr_info("violation: %s", buf);
	}
	if (ctx->json && viommu_violation_json(r, buf, sizeof(buf)) < sizeof(buf))
		fprintf(ctx->json, "%s\n", buf);
}

static void mac_str(const uint8_t mac[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

/* A network device: one line for it, one per queue pair with each
 * direction's frames, bytes (without the virtio-net header) and drops. */
static void report_net(struct virtio_net *net, FILE *json)
{
	struct pci_bdf_str bdf = pci_bdf_str(net->vd.dma.endpoint);
	char mac[18];

	mac_str(net->mac, mac);
	pr_info("net: %s virtio-net on TAP %s: mac %s, mtu %u, %u queue pairs (up to %u used), "
		"control commands %" PRIu64 " ok, %" PRIu64 " refused",
		bdf.s, net->be->name, mac, net->mtu, net->max_pairs, net->most_pairs, net->ctrl_ok,
		net->ctrl_err);
	if (json) {
		fprintf(json, "{\"type\":\"net\",\"bdf\":\"%s\",\"tap\":", bdf.s);
		json_string(json, net->be->name);
		fprintf(json, ",\"mac\":\"%s\",\"mtu\":%u,\"queue_pairs\":%u,\"queue_pairs_used\":%u,"
			"\"ctrl_ok\":%" PRIu64 ",\"ctrl_err\":%" PRIu64 "}\n", mac, net->mtu,
			net->max_pairs, net->most_pairs, net->ctrl_ok, net->ctrl_err);
	}
	for (unsigned int q = 0; q < net->max_pairs; q++) {
		struct virtio_net_queue_stats rx, tx;

		virtio_net_stats(net, q, &rx, &tx);
		pr_info("net: %s queue pair %u: rx %" PRIu64 " frames, %" PRIu64 " bytes, %" PRIu64
			" dropped; tx %" PRIu64 " frames, %" PRIu64 " bytes, %" PRIu64 " dropped",
			bdf.s, q, rx.packets, rx.bytes, rx.drops, tx.packets, tx.bytes, tx.drops);
		if (json)
			fprintf(json, "{\"type\":\"net_queue\",\"bdf\":\"%s\",\"queue_pair\":%u,"
				"\"rx_packets\":%" PRIu64 ",\"rx_bytes\":%" PRIu64 ",\"rx_drops\":%" PRIu64
				",\"tx_packets\":%" PRIu64 ",\"tx_bytes\":%" PRIu64 ",\"tx_drops\":%" PRIu64
				"}\n", bdf.s, q, rx.packets, rx.bytes, rx.drops, tx.packets, tx.bytes,
				tx.drops);
	}
}

/* One NVMe controller: its commands, data and errors. */
static void report_nvme(struct nvme *n, FILE *json)
{
	struct pci_bdf_str bdf = pci_bdf_str(nvme_endpoint(n));
	struct nvme_stats s;

	nvme_stats(n, &s);
	pr_info("nvme: %s %s: %" PRIu64 " admin and %" PRIu64 " I/O commands (%" PRIu64 " errors), "
		"%" PRIu64 " B read, %" PRIu64 " B written, %" PRIu64 " descriptor errors, "
		"%" PRIu64 " fatal, up to %u I/O queues",
		bdf.s, nvme_name(n), s.admin_commands, s.io_commands, s.errors, s.bytes_read,
		s.bytes_written, s.descriptor_errors, s.fatal, s.io_queues_max);
	if (json)
		fprintf(json, "{\"type\":\"nvme\",\"bdf\":\"%s\",\"name\":\"%s\","
			"\"admin_commands\":%" PRIu64 ",\"io_commands\":%" PRIu64 ",\"errors\":%" PRIu64
			",\"reads\":%" PRIu64 ",\"writes\":%" PRIu64 ",\"flushes\":%" PRIu64
			",\"write_zeroes\":%" PRIu64 ",\"discards\":%" PRIu64
			",\"bytes_read\":%" PRIu64 ",\"bytes_written\":%" PRIu64
			",\"prp_lists\":%" PRIu64 ",\"sgls\":%" PRIu64 ",\"descriptor_errors\":%" PRIu64 ",\"invalid_doorbells\":%" PRIu64
			",\"fatal\":%" PRIu64 ",\"io_queues_max\":%u,\"interrupts\":%" PRIu64
			",\"resets\":%" PRIu64 ",\"shutdowns\":%" PRIu64 "}\n",
			bdf.s, nvme_name(n), s.admin_commands, s.io_commands, s.errors, s.reads, s.writes,
			s.flushes, s.write_zeroes, s.discards, s.bytes_read, s.bytes_written,
			s.prp_lists, s.sgls, s.descriptor_errors, s.invalid_doorbells, s.fatal, s.io_queues_max, s.interrupts,
			s.resets, s.shutdowns);
	for (unsigned int q = 1; q <= nvme_io_queues(n); q++) {
		struct nvme_queue_stats qs;

		nvme_queue_stats(n, q, &qs);
		pr_info("nvme: %s %s I/O queue %u: %" PRIu64 " commands (%" PRIu64 " errors), %" PRIu64
			" B read, %" PRIu64 " B written", bdf.s, nvme_name(n), q, qs.commands, qs.errors,
			qs.bytes_read, qs.bytes_written);
		if (json)
			fprintf(json, "{\"type\":\"nvme_queue\",\"bdf\":\"%s\",\"name\":\"%s\",\"qid\":%u,"
				"\"commands\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"bytes_read\":%" PRIu64
				",\"bytes_written\":%" PRIu64 "}\n", bdf.s, nvme_name(n), q, qs.commands,
				qs.errors, qs.bytes_read, qs.bytes_written);
	}
}

int report_write(struct machine *m, const struct vmm_config *cfg, FILE *json)
{
	struct report_ctx ctx = { .json = json };
	struct swiotlb_stats pool;
	uint64_t total = 0;

	if (json) {
		fprintf(json, "{\"type\":\"vm\",\"report_schema\":%d,\"vmm_version\":", REPORT_SCHEMA_VERSION);
		json_string(json, PACKAGE_VERSION);
		fputs(",\"name\":", json);
		cfg->name ? json_string(json, cfg->name) : (void)fputs("null", json);
		fputs(",\"uuid\":", json);
		cfg->uuid ? json_string(json, cfg->uuid) : (void)fputs("null", json);
		fputs("}\n", json);
	}

	if (m->viommu)
		viommu_for_each_endpoint(m->viommu, report_endpoint, &ctx);
	for (unsigned int i = 0; i < m->ndmatest; i++) {
		struct dmatest_stats s;
		struct pci_bdf_str bdf = pci_bdf_str(dmatest_endpoint(m->dmatest[i]));

		dmatest_stats(m->dmatest[i], &s);
		pr_info("dmatest: %s %s: %" PRIu64 " commands (%" PRIu64 " failed), %" PRIu64
			" bytes moved, %" PRIu64 " violations, %" PRIu64 " leaked mappings",
			bdf.s, dmatest_name(m->dmatest[i]), s.commands, s.failed, s.bytes_moved,
			s.violations, s.leaks_found);
		if (json)
			fprintf(json, "{\"type\":\"dmatest\",\"bdf\":\"%s\",\"name\":\"%s\","
				"\"commands\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"bytes_moved\":%" PRIu64
				",\"violations\":%" PRIu64 ",\"leaked_mappings\":%" PRIu64
				",\"bounce_exhausted\":%" PRIu64 "}\n",
				bdf.s, dmatest_name(m->dmatest[i]), s.commands, s.failed, s.bytes_moved,
				s.violations, s.leaks_found, s.bounce_exhausted);
	}
	for (unsigned int i = 0; i < m->nnet; i++)
		if (m->net[i] && m->net[i]->vd.ops)
			report_net(m->net[i], json);
	for (unsigned int i = 0; i < m->nnvme; i++)
		report_nvme(m->nvme[i], json);
	if (m->bounce) {
		swiotlb_for_each_account(m->bounce, report_account, &ctx);
		swiotlb_pool_stats(m->bounce, &pool);
		pr_info("bounce: pool %" PRIu64 " slots of %u B, high water %" PRIu64 ", exhausted %" PRIu64,
			pool.slots_total, SWIOTLB_SLOT_SIZE, pool.slots_hiwater, pool.exhausted);
		if (json)
			fprintf(json, "{\"type\":\"bounce_pool\",\"slots\":%" PRIu64 ",\"slot_size\":%u"
				",\"slots_hiwater\":%" PRIu64 ",\"exhausted\":%" PRIu64
				",\"bytes_in\":%" PRIu64 ",\"bytes_out\":%" PRIu64 "}\n",
				pool.slots_total, SWIOTLB_SLOT_SIZE, pool.slots_hiwater, pool.exhausted,
				pool.bytes_in, pool.bytes_out);
	}
	if (m->viommu) {
		total = viommu_for_each_violation(m->viommu, report_violation, &ctx);
		pr_info("DMA-API violations: %" PRIu64 "%s", total,
			total > ctx.shown ? " (the first ones recorded are listed)" : "");
		if (ctx.shown > REPORT_VIOLATIONS_SHOWN)
			pr_info("(%" PRIu64 " more violations in --report, not shown here)",
				ctx.shown - REPORT_VIOLATIONS_SHOWN);
		if (json)
			fprintf(json, "{\"type\":\"summary\",\"violations\":%" PRIu64 ",\"recorded\":%" PRIu64
				"}\n", total, ctx.shown);
	}
	if (json && (fflush(json) != 0 || ferror(json))) {
		pr_err("cannot write the report: %s", strerror(errno));
		return -EIO;
	}
	return 0;
}
