/* SPDX-License-Identifier: MIT */
#ifndef VMM_DEVICES_PLAN_H
#define VMM_DEVICES_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/acpi.h"
#include "vmm/cli.h"

/*
 * Where the PCI devices go (vmm/devices_plan.c, KVM-free).  Every device has
 * a fixed slot on bus 0: the virtio-iommu 1, virtio-rng 2, disk i 3 + i,
 * dmatest i 8 + i, virtio-net i 12 + i, NVMe i 16 + i.  An untrusted endpoint (--untrusted: every endpoint
 * behind the IOMMU; --dmatest untrusted: that one) leaves its slot to an
 * external-facing PCIe root port and sits at 00.0 of that port's secondary
 * bus; the buses are numbered 1, 2, ... in slot order, as Linux would
 * number them itself.  Without them everything is on bus 0, as it always
 * was.
 */
#define DEVICES_SLOT_IOMMU    1
#define DEVICES_SLOT_RNG      2
#define DEVICES_SLOT_DISK0    3
#define DEVICES_SLOT_DMATEST0 8
#define DEVICES_SLOT_NET0     12
#define DEVICES_SLOT_NVME0    16
#define DEVICES_MAX_PORTS     (1 + VMM_MAX_DISKS + VMM_MAX_DMATEST + VMM_MAX_NETS + VMM_MAX_NVME)

struct devices_loc {
	bool present;
	uint8_t bus, slot;           /* the endpoint's BDF: bus << 8 | slot << 3 */
	int port;                    /* index in devices_plan.port, or -1: on bus 0 */
};

struct devices_port {
	uint8_t slot;                /* on bus 0 */
	uint8_t secondary_bus;
	bool external_facing;
};

struct devices_plan {
	bool iommu;                  /* the virtio-iommu at 00:01.0 */
	struct devices_loc rng;
	struct devices_loc blk[VMM_MAX_DISKS];
	struct devices_loc dmatest[VMM_MAX_DMATEST];
	struct devices_loc net[VMM_MAX_NETS];
	struct devices_loc nvme[VMM_MAX_NVME];
	struct devices_port port[DEVICES_MAX_PORTS];
	unsigned int nports;
};

/* Pure: the same cfg always gives the same plan. */
void devices_plan(const struct vmm_config *cfg, struct devices_plan *plan);
/* The PCI topology cfg implies (devices_plan), for the ACPI tables: MCFG;
 * VIOT ranges (every bus-0 slot from 2 up that is not a root port, and
 * each root port's secondary bus); the root ports for the SSDT. */
void devices_describe(const struct vmm_config *cfg, struct acpi_config *acfg);
/*
 * Linux bounces the sub-page DMA buffers of an untrusted device through its
 * swiotlb, and refuses to map them when it has none ("DMA bounce buffers
 * are inactive"; a virtio-blk disk then hangs at its first request).  An
 * x86 guest sets a swiotlb up only with RAM above 4 GiB or "swiotlb=force"
 * on its command line.  True when cfg puts endpoints behind the IOMMU below
 * an external-facing port and gives the guest neither.
 */
bool devices_untrusted_without_swiotlb(const struct vmm_config *cfg);

#endif
