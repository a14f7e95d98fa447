/* SPDX-License-Identifier: MIT */
/*
 * The machine's PCI devices: the virtio-iommu in slot 1, the endpoints
 * behind it (virtio-rng in slot 2, virtio-blk disks from slot 3), and the
 * exit report of IOMMU activity and refused DMAs.
 */
#include "vmm/devices.h"
#include "vmm/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOT_IOMMU 1
#define SLOT_RNG   2
#define SLOT_DISK0 3

static bool mem_is_ram(void *opaque, uint64_t gpa, uint64_t len)
{
	return guest_mem_is_ram(opaque, gpa, len);
}

static const struct viommu_mem_ops viommu_mem = { .is_ram = mem_is_ram };

static void iommu_fault_kick(void *opaque)
{
	struct virtio_iommu *vi = opaque;

	virtio_kick(&vi->vd);
}

/* An endpoint's refused DMA wakes the IOMMU device to post the fault event. */
static void attach_endpoint(struct machine *m, struct virtio_dev *vd)
{
	if (!m->viommu)
		return;
	viommu_add_endpoint(m->viommu, vd->dma.endpoint, vd->ops->name);
	vd->dma.on_fault = iommu_fault_kick;
	vd->dma.fault_opaque = m->iommu_dev;
}

void devices_describe(const struct vmm_config *cfg, struct acpi_config *acfg)
{
	acfg->ecam_base = PCI_ECAM_BASE;
	acfg->viommu = !cfg->no_iommu;
	if (acfg->viommu) {
		acfg->viommu_bdf = pci_bdf(SLOT_IOMMU, 0);
		/* Every other slot on the bus is behind the IOMMU. */
		acfg->endpoint_bdf_start = pci_bdf(SLOT_IOMMU + 1, 0);
		acfg->endpoint_bdf_end = pci_bdf(PCI_MAX_SLOTS - 1, 7);
	}
}

int devices_create(struct machine *m, const struct vmm_config *cfg, struct acpi_config *acfg)
{
	int ret;

	pci_bus_init(&m->pci);
	m->virtio_host = (struct virtio_host){
		.signal_msi = kvm_signal_msi,
		.ioeventfd = kvm_ioeventfd,
		.opaque = m,
		.mem = &m->mem,
	};
	ret = pci_register_pio(&m->pci, &m->pio);
	if (ret)
		return ret;
	devices_describe(cfg, acfg);

	if (!cfg->no_iommu) {
		struct viommu_config vcfg;

		viommu_default_config(&vcfg);
		m->viommu = viommu_create(&vcfg, &viommu_mem, &m->mem);
		m->iommu_dev = calloc(1, sizeof(*m->iommu_dev));
		if (!m->viommu || !m->iommu_dev)
			return -ENOMEM;
		ret = virtio_iommu_create(m->iommu_dev, &m->pci, SLOT_IOMMU, &m->virtio_host, m->viommu);
		if (ret) {
			pr_err("cannot create the virtio-iommu: %s", strerror(-ret));
			return ret;
		}
	}
	if (!cfg->no_rng) {
		m->rng = calloc(1, sizeof(*m->rng));
		if (!m->rng)
			return -ENOMEM;
		ret = virtio_rng_create(m->rng, &m->pci, SLOT_RNG, &m->virtio_host, m->viommu);
		if (ret) {
			pr_err("cannot create virtio-rng: %s", strerror(-ret));
			return ret;
		}
		attach_endpoint(m, &m->rng->vd);
	}
	for (unsigned int i = 0; i < cfg->ndisks; i++) {
		m->blk[i] = calloc(1, sizeof(*m->blk[i]));
		if (!m->blk[i])
			return -ENOMEM;
		ret = virtio_blk_create(m->blk[i], &m->pci, SLOT_DISK0 + i, &m->virtio_host, m->viommu,
					cfg->disk[i].path, cfg->disk[i].read_only);
		if (ret) {
			free(m->blk[i]);
			m->blk[i] = NULL;
			return ret;   /* virtio_blk_create said why */
		}
		m->nblk = i + 1;
		attach_endpoint(m, &m->blk[i]->vd);
	}
	return 0;
}

static struct virtio_dev *each_dev(struct machine *m, unsigned int i)
{
	if (i == 0)
		return m->iommu_dev ? &m->iommu_dev->vd : NULL;
	if (i == 1)
		return m->rng ? &m->rng->vd : NULL;
	return i - 2 < m->nblk ? &m->blk[i - 2]->vd : NULL;
}

int devices_start(struct machine *m)
{
	for (unsigned int i = 0; i < 2 + m->nblk; i++) {
		struct virtio_dev *vd = each_dev(m, i);
		int ret;

		if (!vd)
			continue;
		ret = virtio_pci_start(vd);
		if (ret) {
			pr_err("%s: cannot start its I/O thread: %s", vd->ops->name, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void devices_stop(struct machine *m)
{
	for (unsigned int i = 0; i < 2 + m->nblk; i++) {
		struct virtio_dev *vd = each_dev(m, i);

		if (vd && vd->kick_fd >= 0)
			virtio_pci_stop(vd);
	}
}

void devices_destroy(struct machine *m)
{
	devices_stop(m);
	for (unsigned int i = 0; i < m->nblk; i++) {
		virtio_blk_destroy(m->blk[i]);
		free(m->blk[i]);
	}
	free(m->rng);
	if (m->iommu_dev) {
		free(m->iommu_dev->req_buf);
		free(m->iommu_dev->resp_buf);
		free(m->iommu_dev);
	}
	if (m->viommu)
		viommu_destroy(m->viommu);
}

/* --- the exit report --------------------------------------------------- */

struct report_ctx {
	FILE *json;
	unsigned int lines;
};

static const char *access_name(enum viommu_access a)
{
	return a == VIOMMU_WRITE ? "write" : "read";
}

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

	pr_info("iommu: %02x:%02x.%u %-11s attach %" PRIu64 ", detach %" PRIu64 ", map %" PRIu64
		" (%" PRIu64 " bytes), unmap %" PRIu64 " (%" PRIu64 " bytes), translations %" PRIu64
		", refused %" PRIu64,
		s->endpoint_id >> 8, (s->endpoint_id >> 3) & 0x1f, s->endpoint_id & 7, s->name,
		s->attaches, s->detaches, s->maps, s->map_bytes, s->unmaps, s->unmap_bytes,
		s->translations, s->faults);
	if (ctx->json) {
		fprintf(ctx->json, "{\"type\":\"endpoint\",\"bdf\":\"%02x:%02x.%u\",\"name\":",
			s->endpoint_id >> 8, (s->endpoint_id >> 3) & 0x1f, s->endpoint_id & 7);
		json_string(ctx->json, s->name);
		fprintf(ctx->json, ",\"attaches\":%" PRIu64 ",\"detaches\":%" PRIu64 ",\"maps\":%" PRIu64
			",\"map_bytes\":%" PRIu64 ",\"unmaps\":%" PRIu64 ",\"unmap_bytes\":%" PRIu64
			",\"translations\":%" PRIu64 ",\"refused\":%" PRIu64 "}\n",
			s->attaches, s->detaches, s->maps, s->map_bytes, s->unmaps, s->unmap_bytes,
			s->translations, s->faults);
	}
}

static void report_violation(void *opaque, const struct viommu_violation_record *r)
{
	struct report_ctx *ctx = opaque;

	if (ctx->lines++ < 50)
		pr_info("iommu: refused DMA: %02x:%02x.%u %s %s of %" PRIu64 " bytes at IOVA %#" PRIx64 ": %s",
			r->endpoint_id >> 8, (r->endpoint_id >> 3) & 0x1f, r->endpoint_id & 7, r->name,
			access_name(r->access), r->len, r->iova, viommu_violation_name(r->reason));
	if (ctx->json) {
		fprintf(ctx->json, "{\"type\":\"refused_dma\",\"bdf\":\"%02x:%02x.%u\",\"name\":",
			r->endpoint_id >> 8, (r->endpoint_id >> 3) & 0x1f, r->endpoint_id & 7);
		json_string(ctx->json, r->name);
		fprintf(ctx->json, ",\"iova\":\"%#" PRIx64 "\",\"len\":%" PRIu64 ",\"access\":\"%s\",\"reason\":\"%s\"}\n",
			r->iova, r->len, access_name(r->access), viommu_violation_name(r->reason));
	}
}

int devices_report(struct machine *m, FILE *json)
{
	struct report_ctx ctx = { .json = json };
	uint64_t total;

	if (!m->viommu)
		return 0;
	viommu_for_each_endpoint(m->viommu, report_endpoint, &ctx);
	total = viommu_for_each_violation(m->viommu, report_violation, &ctx);
	pr_info("iommu: %" PRIu64 " refused DMA%s", total, total == 1 ? "" : "s");
	if (ctx.lines > 50)
		pr_info("iommu: (%u more refused DMAs not shown here)", ctx.lines - 50);
	if (ctx.json) {
		fprintf(ctx.json, "{\"type\":\"summary\",\"refused_dmas\":%" PRIu64 "}\n", total);
		if (fflush(ctx.json) != 0 || ferror(ctx.json)) {
			pr_err("cannot write the report: %s", strerror(errno));
			return -EIO;
		}
	}
	return 0;
}
