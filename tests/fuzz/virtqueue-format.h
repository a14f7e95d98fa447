/* SPDX-License-Identifier: MIT */
#ifndef TESTS_FUZZ_VIRTQUEUE_FORMAT_H
#define TESTS_FUZZ_VIRTQUEUE_FORMAT_H

#include "tests/fuzz/fuzz-ops.h"

/*
 * Input of the virtqueue target (tests/fuzz/virtqueue.c), written by
 * tests/fuzz/virtqueue-seeds.c.  All numbers little-endian; a truncated
 * tail reads as zeroes.
 *
 *   byte 0: configuration, VQF_CFG_* bits
 *   then operations, each an op byte (% VQF_NOPS) and its arguments:
 *     VQF_MAP, VQF_UNMAP, VQF_ATTACH   guest requests to the IOMMU, as
 *                         fuzz_iommu_op() reads them (tests/fuzz/fuzz.h)
 *     VQF_DESC, VQF_AVAIL, VQF_POKE   the driver writes a descriptor, the
 *                 available ring, anything: fuzz_ring_op() (tests/fuzz/fuzz.h)
 *     VQF_QUEUE   u8 log2 size (% 9), u64 desc, u64 avail, u64 used:
 *                 reset the queue and enable it there
 *     VQF_POP     u8 slot (% 4): vq_pop into that element slot
 *     VQF_READ    u8 slot, u32 offset, u16 len (% 16385): vq_elem_read
 *     VQF_WRITE   u8 slot, u32 offset, u16 len (% 16385), u8 byte: vq_elem_write
 *     VQF_PUSH    u8 slot, u32 len: vq_push of the slot's head
 *     VQF_NOTIFY  vq_should_notify
 *     VQF_KICK    what a device does on a kick: pop every element, write
 *                 up to 64 bytes into it, push it, ask whether to notify
 * Driver writes go through any mapping of the DMA address (the guest CPU
 * has its own view of its memory); the device's accesses go through the
 * IOMMU (unless VQF_CFG_NO_IOMMU) as vmm/dma.c does them.
 */
enum {
	VQF_CFG_EVENT_IDX = 1 << 0,   /* VIRTIO_RING_F_EVENT_IDX negotiated */
	VQF_CFG_INDIRECT  = 1 << 1,   /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	VQF_CFG_NO_IOMMU  = 1 << 2,   /* DMA addresses are guest-physical */
	VQF_CFG_NO_BOUNCE = 1 << 3,   /* data DMA not staged through the bounce pool */
};

enum {
	VQF_MAP = FUZZ_OP_MAP, VQF_UNMAP = FUZZ_OP_UNMAP, VQF_ATTACH = FUZZ_OP_ATTACH,
	VQF_DESC = FUZZ_OP_DESC, VQF_AVAIL = FUZZ_OP_AVAIL, VQF_POKE = FUZZ_OP_POKE,
	VQF_QUEUE = FUZZ_NR_SHARED_OPS, VQF_POP, VQF_READ, VQF_WRITE, VQF_PUSH, VQF_NOTIFY, VQF_KICK,
	VQF_NOPS
};

#define VQF_SLOTS 4
#define VQF_MAX_XFER 16384

/* The endpoint (requester ID) of the queue's device. */
#define VQF_ENDPOINT 0x10

#endif
