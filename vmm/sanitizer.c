/* SPDX-License-Identifier: MIT */
#include "vmm/sanitizer.h"
#include "vmm/dmatest.h"
#include "vmm/exit_codes.h"
#include "vmm/log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guest/dmatest/dmatest_hw.h"

/* At most this many violation lines per 5 s while the guest runs; the
 * exit report and --report carry every recorded one. */
#define VIOLATION_LOG_BURST 20

/* Called by viommu for every violation, on the thread that caused it,
 * with no viommu lock held. */
static void on_violation(void *opaque, const struct viommu_violation_record *r)
{
	struct machine *m = opaque;
	char line[1024];

	atomic_fetch_add(&m->violations, 1);
	for (unsigned int i = 0; i < m->ndmatest; i++)
		if (dmatest_endpoint(m->dmatest[i]) == r->endpoint_id)
			dmatest_note_violation(m->dmatest[i], dmatest_verdict_class(r->reason));
	if (ratelimit_allow(&m->violation_rl)) {
		viommu_format_violation(r, line, sizeof(line));
		pr_warn("DMA violation: %s", line);
	}
	if (m->dma_errors_fatal && machine_exit_code(m) < 0) {
		pr_err("stopping the VM at this DMA-API violation (--dma-errors=fatal)");
		machine_request_exit(m, VMM_EXIT_DMA_ERROR);
	}
}

int sanitizer_setup(struct machine *m, const struct vmm_config *cfg)
{
	m->dma_errors_fatal = cfg->dma_errors_fatal;
	m->violation_rl = (struct ratelimit)RATELIMIT_INIT(5000, VIOLATION_LOG_BURST);
	m->bounce = swiotlb_pool_create(cfg->bounce_pool_bytes);
	if (!m->bounce) {
		pr_err("cannot create the %" PRIu64 "-byte bounce pool: %s", cfg->bounce_pool_bytes,
		       strerror(errno));
		return -errno;
	}
	if (m->viommu)
		viommu_set_violation_cb(m->viommu, on_violation, m);
	return 0;
}

int sanitizer_attach(struct machine *m, struct dma_space *dma, const char *name)
{
	char acct[32];

	snprintf(acct, sizeof(acct), "%s %s", pci_bdf_str(dma->endpoint).s, name);
	dma->bounce = swiotlb_account_create(m->bounce, acct);
	return dma->bounce ? 0 : -errno;
}

static void iommu_fault_kick(void *opaque)
{
	struct virtio_iommu *vi = opaque;

	virtio_kick(&vi->vd);
}

int sanitizer_add_dmatest(struct machine *m, const struct vmm_config *cfg, unsigned int i,
			  unsigned int busnr, unsigned int slot)
{
	struct dmatest_params p = {
		.index = i,
		.width = cfg->dmatest[i].width,
		.dma = {
			.mem = &m->mem,
			.iommu = m->viommu,
			.endpoint = (uint32_t)(busnr << 8 | slot << 3),
		},
		.signal_msi = kvm_signal_msi,
		.msi_opaque = m,
	};
	char name[16];
	int ret;

	snprintf(name, sizeof(name), "dmatest%u", i);
	if (m->viommu) {
		viommu_add_endpoint(m->viommu, p.dma.endpoint, name);
		p.dma.on_fault = iommu_fault_kick;
		p.dma.fault_opaque = m->iommu_dev;
	}
	ret = sanitizer_attach(m, &p.dma, name);
	if (ret)
		return ret;
	m->dmatest[i] = dmatest_create(&m->pci, busnr, slot, &p);
	if (!m->dmatest[i]) {
		pr_err("cannot create %s at %s: %s", name, pci_bdf_str(p.dma.endpoint).s,
		       strerror(errno));
		return -errno;
	}
	m->ndmatest = i + 1;
	return 0;
}

int sanitizer_start(struct machine *m)
{
	for (unsigned int i = 0; i < m->ndmatest; i++) {
		int ret = dmatest_start(m->dmatest[i]);

		if (ret) {
			pr_err("%s: cannot start its DMA engine thread: %s",
			       dmatest_name(m->dmatest[i]), strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void sanitizer_stop(struct machine *m)
{
	for (unsigned int i = 0; i < m->ndmatest; i++)
		dmatest_stop(m->dmatest[i]);
}

void sanitizer_destroy(struct machine *m)
{
	for (unsigned int i = 0; i < m->ndmatest; i++)
		dmatest_destroy(m->dmatest[i]);
	m->ndmatest = 0;
	swiotlb_pool_destroy(m->bounce);
	m->bounce = NULL;
}
