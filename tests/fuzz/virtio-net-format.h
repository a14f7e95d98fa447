/* SPDX-License-Identifier: MIT */
#ifndef TESTS_FUZZ_VIRTIO_NET_FORMAT_H
#define TESTS_FUZZ_VIRTIO_NET_FORMAT_H

#include "tests/fuzz/fuzz-ops.h"

/*
 * Input of the virtio-net target (tests/fuzz/virtio-net.c), written by
 * tests/fuzz/virtio-net-seeds.c.  All numbers little-endian; a truncated
 * tail reads as zeroes.
 *
 *   byte 0: configuration, VNF_CFG_* bits
 *   then operations, each an op byte (% VNF_NOPS) and its arguments:
 *     VNF_MAP, VNF_UNMAP, VNF_ATTACH   guest requests to the IOMMU
 *                         (fuzz_iommu_op(), tests/fuzz/fuzz.h)
 *     VNF_DESC, VNF_AVAIL, VNF_POKE    the driver writes a descriptor of
 *                 the selected queue, its available ring, anything
 *                 (fuzz_ring_op())
 *     VNF_SELECT  u8 queue (% queues): the queue VNF_DESC/VNF_AVAIL act on
 *     VNF_FRAME   u8 pair, u8 flags, u8 gso_type, u16 gso_size,
 *                 u16 csum_start, u16 csum_offset, u16 length, u8 seed:
 *                 the host sends a frame (header + length bytes) on that
 *                 TAP queue
 *     VNF_RUN     u8 queue (% queues): the device serves it (a kick, or
 *                 its TAP queue became readable)
 *     VNF_RESET   the driver resets the device and sets it up again
 * The driver set every queue up (size VNF_QSIZE, rings at
 * VNF_RING(q)) before the first operation; its features are all the
 * device offers but those VNF_CFG_* refuses.
 */
enum {
	VNF_CFG_NO_IOMMU   = 1 << 0,   /* DMA addresses are guest-physical */
	VNF_CFG_NO_BOUNCE  = 1 << 1,   /* data DMA not staged */
	VNF_CFG_NO_MRG     = 1 << 2,   /* MRG_RXBUF refused */
	VNF_CFG_NO_OFFLOAD = 1 << 3,   /* GUEST_CSUM/TSO/ECN refused */
	VNF_CFG_TWO_PAIRS  = 1 << 4,   /* a TAP of two queues (MQ offered) */
	VNF_CFG_NO_MQ      = 1 << 5,   /* MQ refused: the control queue is 2 */
	VNF_CFG_EVENT_IDX  = 1 << 6,
	VNF_CFG_INDIRECT   = 1 << 7,
};

enum {
	VNF_MAP = FUZZ_OP_MAP, VNF_UNMAP = FUZZ_OP_UNMAP, VNF_ATTACH = FUZZ_OP_ATTACH,
	VNF_DESC = FUZZ_OP_DESC, VNF_AVAIL = FUZZ_OP_AVAIL, VNF_POKE = FUZZ_OP_POKE,
	VNF_SELECT = FUZZ_NR_SHARED_OPS, VNF_FRAME, VNF_RUN, VNF_RESET,
	VNF_NOPS
};

#define VNF_SLOT   2
#define VNF_QSIZE  4
#define VNF_RING(q) (0x100ull * (q))        /* desc; avail + 0x40, used + 0x60 */
#define VNF_AVAIL_OFF 0x40
#define VNF_USED_OFF  0x60

#endif
