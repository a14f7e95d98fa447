/* SPDX-License-Identifier: MIT */
#include "vmm/sanitizer.h"
#include "vmm/dmatest.h"
#include "vmm/exit_codes.h"
#include "vmm/log.h"
#include "viommu/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

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
		int ret = -errno;

		pr_err("cannot create the %" PRIu64 "-byte bounce pool: %s", cfg->bounce_pool_bytes,
		       strerror(-ret));
		return ret;
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

void sanitizer_destroy(struct machine *m)
{
	swiotlb_pool_destroy(m->bounce);
	m->bounce = NULL;
}
