/* SPDX-License-Identifier: MIT */
/*
 * The PCI topology: which endpoint sits where, which root ports exist, and
 * what the ACPI tables say about it.  devices_create() and dump-acpi use
 * the same plan, so the guest finds every device where the tables say.
 * KVM-free, for the unit tests.
 */
#include "vmm/devices_plan.h"
#include "vmm/layout.h"
#include "vmm/pci.h"

#include <string.h>

_Static_assert(DEVICES_MAX_PORTS <= PCI_MAX_ROOT_PORTS && DEVICES_MAX_PORTS <= ACPI_MAX_ROOT_PORTS,
	       "a secondary bus (and an SSDT entry) for every endpoint");
_Static_assert(DEVICES_SLOT_DISK0 + VMM_MAX_DISKS <= DEVICES_SLOT_DMATEST0 &&
	       DEVICES_SLOT_DMATEST0 + VMM_MAX_DMATEST <= DEVICES_SLOT_NET0 &&
	       DEVICES_SLOT_NET0 + VMM_MAX_NETS <= DEVICES_SLOT_NVME0 &&
	       DEVICES_SLOT_NVME0 + VMM_MAX_NVME <= PCI_MAX_SLOTS, "bus 0 slots");

static void place(struct devices_plan *plan, struct devices_loc *loc, unsigned int slot,
		  bool untrusted)
{
	loc->present = true;
	if (!untrusted) {
		loc->bus = 0;
		loc->slot = (uint8_t)slot;
		loc->port = -1;
		return;
	}
	/* Its own port: the link below a root port leads to device 0 only,
	 * and one endpoint per port gives each its own IOMMU group. */
	plan->port[plan->nports] = (struct devices_port){
		.slot = (uint8_t)slot,
		.secondary_bus = (uint8_t)(plan->nports + 1),
		.external_facing = true,
	};
	loc->bus = (uint8_t)(plan->nports + 1);
	loc->slot = 0;
	loc->port = (int)plan->nports++;
}

void devices_plan(const struct vmm_config *cfg, struct devices_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->iommu = !cfg->no_iommu;
	/* In slot order, so that the secondary buses come out in slot order. */
	if (!cfg->no_rng)
		place(plan, &plan->rng, DEVICES_SLOT_RNG, cfg->untrusted);
	for (unsigned int i = 0; i < cfg->ndisks && i < VMM_MAX_DISKS; i++)
		place(plan, &plan->blk[i], DEVICES_SLOT_DISK0 + i, cfg->untrusted);
	for (unsigned int i = 0; i < cfg->ndmatest && i < VMM_MAX_DMATEST; i++)
		place(plan, &plan->dmatest[i], DEVICES_SLOT_DMATEST0 + i,
		      cfg->untrusted || cfg->dmatest[i].untrusted);
	for (unsigned int i = 0; i < cfg->nnets && i < VMM_MAX_NETS; i++)
		place(plan, &plan->net[i], DEVICES_SLOT_NET0 + i, cfg->untrusted);
	for (unsigned int i = 0; i < cfg->nnvme && i < VMM_MAX_NVME; i++)
		place(plan, &plan->nvme[i], DEVICES_SLOT_NVME0 + i, cfg->untrusted);
}

static void add_range(struct acpi_config *acfg, uint16_t start, uint16_t end)
{
	if (acfg->nendpoint_ranges < ACPI_MAX_PCI_RANGES)
		acfg->endpoints[acfg->nendpoint_ranges++] = (struct acpi_pci_range){ start, end };
}

void devices_describe(const struct vmm_config *cfg, struct acpi_config *acfg)
{
	struct devices_plan plan;
	bool is_port[PCI_MAX_SLOTS] = { false };
	int run = -1;   /* first slot of the current run of bus-0 endpoint slots */

	devices_plan(cfg, &plan);
	acfg->ecam_base = PCI_ECAM_BASE;
	acfg->nroot_ports = 0;
	for (unsigned int i = 0; i < plan.nports; i++) {
		acfg->root_port[acfg->nroot_ports++] = (struct acpi_root_port){
			.slot = plan.port[i].slot,
			.secondary_bus = plan.port[i].secondary_bus,
			.external_facing = plan.port[i].external_facing,
		};
		is_port[plan.port[i].slot] = true;
	}
	acfg->viommu = plan.iommu;
	acfg->nendpoint_ranges = 0;
	if (!acfg->viommu)
		return;
	acfg->viommu_bdf = pci_bdf(DEVICES_SLOT_IOMMU, 0);
	/*
	 * Behind the IOMMU: every other slot of bus 0, used or not, except the
	 * root ports -- they do no DMA of their own (no MSI either: they have
	 * nothing to signal), so there is nothing to translate for them, and
	 * outside the VIOT Linux does not attach them to the IOMMU at all --
	 * and all of each root port's secondary bus.
	 */
	for (unsigned int s = DEVICES_SLOT_IOMMU + 1; s <= PCI_MAX_SLOTS; s++) {
		bool endpoint = s < PCI_MAX_SLOTS && !is_port[s];

		if (endpoint && run < 0)
			run = (int)s;
		if (!endpoint && run >= 0) {
			add_range(acfg, pci_bdf((unsigned int)run, 0), pci_bdf(s - 1, 7));
			run = -1;
		}
	}
	for (unsigned int i = 0; i < plan.nports; i++)
		add_range(acfg, pci_bdf_at(plan.port[i].secondary_bus, 0, 0),
			  pci_bdf_at(plan.port[i].secondary_bus, PCI_MAX_SLOTS - 1, 7));
}

/* "swiotlb=force" or "swiotlb=N,force" among the kernel's parameters
 * (not "noforce"; nothing after "--", which is init's). */
static bool cmdline_forces_swiotlb(const char *cmdline)
{
	const char *p = cmdline;

	while (*p) {
		size_t len;

		while (*p == ' ')
			p++;
		len = strcspn(p, " ");
		if (len == 2 && !strncmp(p, "--", 2))
			return false;
		if (len > 8 && !strncmp(p, "swiotlb=", 8)) {
			const char *v = p + 8, *end = p + len;

			while (v < end) {
				size_t n = strcspn(v, ", ");

				if (n == 5 && !strncmp(v, "force", 5))
					return true;
				v += n + (v + n < end);
			}
		}
		p += len;
	}
	return false;
}

bool devices_untrusted_without_swiotlb(const struct vmm_config *cfg)
{
	struct devices_plan plan;
	bool untrusted = false;

	devices_plan(cfg, &plan);
	if (!plan.iommu)
		return false;   /* dma-direct: untrusted means nothing to it */
	for (unsigned int i = 0; i < plan.nports; i++)
		untrusted |= plan.port[i].external_facing;
	/* RAM above the 32-bit hole ends above 4 GiB: x86 Linux sets its
	 * swiotlb up for 32-bit DMA (pci_swiotlb_detect()). */
	return untrusted && cfg->mem_bytes <= MMIO_HOLE_START &&
	       !cmdline_forces_swiotlb(cfg->cmdline ? cfg->cmdline : DEFAULT_CMDLINE);
}
