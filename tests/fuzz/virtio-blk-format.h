/* SPDX-License-Identifier: MIT */
#ifndef TESTS_FUZZ_VIRTIO_BLK_FORMAT_H
#define TESTS_FUZZ_VIRTIO_BLK_FORMAT_H

#include "tests/fuzz/fuzz-ops.h"

/*
 * Input of the virtio-blk target (tests/fuzz/virtio-blk.c), written by
 * tests/fuzz/virtio-blk-seeds.c.  All numbers little-endian; a truncated
 * tail reads as zeroes.
 *
 *   byte 0: configuration, VBF_CFG_* bits
 *   then operations, each an op byte (% VBF_NOPS) and its arguments:
 *     VBF_MAP, VBF_UNMAP, VBF_ATTACH   guest requests to the IOMMU
 *                         (fuzz_iommu_op(), tests/fuzz/fuzz.h)
 *     VBF_DESC, VBF_AVAIL, VBF_POKE    the driver writes a descriptor, the
 *                 available ring, anything (fuzz_ring_op())
 *     VBF_RUN     the device serves its queue (a kick)
 *     VBF_RESET   the driver resets the device and sets it up again
 * The driver set the queue up (size VBF_QSIZE, rings at VBF_RING) before
 * the first operation; its features are all the device offers but those
 * VBF_CFG_* refuses.  The disk is VBF_DISK_BYTES of a known pattern.
 */
enum {
	VBF_CFG_NO_IOMMU  = 1 << 0,   /* DMA addresses are guest-physical */
	VBF_CFG_NO_BOUNCE = 1 << 1,   /* data DMA not staged */
	VBF_CFG_RO        = 1 << 2,   /* a read-only disk */
	VBF_CFG_NO_DWZ    = 1 << 3,   /* DISCARD and WRITE_ZEROES refused */
	VBF_CFG_EVENT_IDX = 1 << 4,
	VBF_CFG_INDIRECT  = 1 << 5,
};

enum {
	VBF_MAP = FUZZ_OP_MAP, VBF_UNMAP = FUZZ_OP_UNMAP, VBF_ATTACH = FUZZ_OP_ATTACH,
	VBF_DESC = FUZZ_OP_DESC, VBF_AVAIL = FUZZ_OP_AVAIL, VBF_POKE = FUZZ_OP_POKE,
	VBF_RUN = FUZZ_NR_SHARED_OPS, VBF_RESET,
	VBF_NOPS
};

#define VBF_SLOT       3
#define VBF_QSIZE      8
#define VBF_RING       0x0ull        /* desc; avail + 0x80, used + 0xa0 */
#define VBF_AVAIL_OFF  0x80
#define VBF_USED_OFF   0xa0
#define VBF_DISK_BYTES 0x4000u       /* 32 sectors */

#endif
