/* SPDX-License-Identifier: MIT */
#ifndef VMM_REPORT_H
#define VMM_REPORT_H

#include <stdio.h>

#include "vmm/cli.h"
#include "vmm/machine.h"

/*
 * The exit report (docs/sanitizer.md, "The report"): per endpoint its
 * IOMMU activity, per dmatest device its commands and what the host
 * attributed to it, per device its bounce accounting, the bounce pool,
 * every recorded DMA-API violation and their count.  Human lines go to
 * stderr; with `json` (--report) the same as one JSON object per line.
 * The JSON lines start with one "vm" line: the report's schema version
 * (docs/report.schema.json), vmm's version, the VM's --name and --uuid.
 * Scripts and tests parse both: keep them stable.  0, or -EIO if `json`
 * could not be written.
 */
int report_write(struct machine *m, const struct vmm_config *cfg, FILE *json);

#endif
