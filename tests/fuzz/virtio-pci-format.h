/* SPDX-License-Identifier: MIT */
#ifndef TESTS_FUZZ_VIRTIO_PCI_FORMAT_H
#define TESTS_FUZZ_VIRTIO_PCI_FORMAT_H

#include "tests/fuzz/fuzz-ops.h"

/*
 * Input of the virtio-pci target (tests/fuzz/virtio-pci.c), written by
 * tests/fuzz/virtio-pci-seeds.c.  A virtio-rng at 00:02.0 behind the
 * IOMMU (endpoint attached to domain 1), reached only as a guest reaches
 * it: config space through ECAM, BAR0 through pci_mmio_access() at the
 * address the BAR holds now (nothing answers while memory decode is off).
 * Numbers little-endian; a truncated tail reads as zeroes.
 *
 *   byte 0: configuration, VPF_CFG_* bits
 *   then operations, an op byte (% VPF_NOPS) and its arguments:
 *     VPF_MAP, VPF_UNMAP, VPF_ATTACH     fuzz_iommu_op() (tests/fuzz/fuzz.h)
 *     VPF_DESC, VPF_AVAIL, VPF_POKE      fuzz_ring_op() on queue 0 where the
 *                                        driver placed it
 *     VPF_BAR_READ   u8 region (% VPF_NREGIONS), u16 offset (% the region's
 *                    span), u8 size (1 << % 4)
 *     VPF_BAR_WRITE  the same, then u64 value
 *     VPF_CFG_READ   u16 offset (% 4096), u8 size (1 << % 4)
 *     VPF_CFG_WRITE  the same, then u32 value
 *     VPF_COMMAND    u16: the PCI command register (memory decode, bus master)
 *     VPF_MSIX_CTRL  u16: MSI-X message control (enable, function mask)
 *     VPF_MSIX_ENTRY u8 vector (% 10), u64 address, u32 data, u32 vector control
 *     VPF_INIT       u8 feature bits (VPF_FEAT_*), u8 log2 queue size, u16 config
 *                    vector, u16 queue vector, u64 desc, u64 avail, u64 used:
 *                    the driver's whole initialisation, register by register
 *     VPF_KICK       u8 queue: a notify write (handled on the spot, or in
 *                    VPF_CFG_ASYNC mode left to an I/O thread that never runs)
 */
enum {
	VPF_CFG_NO_IOMMU   = 1 << 0,   /* not behind the IOMMU */
	VPF_CFG_ASYNC      = 1 << 1,   /* ioeventfd + I/O thread device (not sync_notify) */
	VPF_CFG_NO_IOEVENTFD = 1 << 2, /* the host has no ioeventfd: MMIO notifies */
	VPF_CFG_NO_BOUNCE  = 1 << 3,   /* data not staged through the bounce pool */
};

enum {
	VPF_MAP = FUZZ_OP_MAP, VPF_UNMAP = FUZZ_OP_UNMAP, VPF_ATTACH = FUZZ_OP_ATTACH,
	VPF_DESC = FUZZ_OP_DESC, VPF_AVAIL = FUZZ_OP_AVAIL, VPF_POKE = FUZZ_OP_POKE,
	VPF_BAR_READ = FUZZ_NR_SHARED_OPS, VPF_BAR_WRITE, VPF_CFG_READ, VPF_CFG_WRITE, VPF_COMMAND,
	VPF_MSIX_CTRL, VPF_MSIX_ENTRY, VPF_INIT, VPF_KICK,
	VPF_NOPS
};

/* BAR0 regions: common config, ISR, device config, notify, MSI-X table,
 * PBA, anywhere in the BAR. */
enum { VPF_COMMON, VPF_ISR, VPF_DEVICE, VPF_NOTIFY, VPF_TABLE, VPF_PBA, VPF_ANY, VPF_NREGIONS };

enum {
	VPF_FEAT_VERSION_1       = 1 << 0,
	VPF_FEAT_ACCESS_PLATFORM = 1 << 1,
	VPF_FEAT_EVENT_IDX       = 1 << 2,
	VPF_FEAT_INDIRECT        = 1 << 3,
	VPF_FEAT_UNOFFERED       = 1 << 4,   /* a feature bit the device did not offer */
	VPF_FEAT_NO_FEATURES_OK  = 1 << 5,   /* skip FEATURES_OK */
};

#define VPF_SLOT 2

#endif
