/* SPDX-License-Identifier: MIT */
#ifndef TESTS_FUZZ_NVME_FORMAT_H
#define TESTS_FUZZ_NVME_FORMAT_H

#include "tests/fuzz/fuzz-ops.h"

/*
 * Input of the nvme target (tests/fuzz/nvme.c), written by
 * tests/fuzz/nvme-seeds.c.  One NVMe controller (vmm/nvme.c), 2 I/O queue
 * pairs, on a 64 KiB in-memory disk (a memfd: the fake block backend),
 * behind the IOMMU (endpoint attached to domain 1) and the bounce pool;
 * memory decode, bus mastering and MSI-X (vectors unmasked) on at the
 * start.  Commands run with nvme_poll() after every operation: no worker
 * thread, deterministic.  Numbers little-endian; a truncated tail reads as
 * zeroes.
 *
 *   byte 0: configuration: NVF_CFG_* bits
 *   then operations, an op byte (% NVF_NOPS) and its arguments:
 *     NVF_MAP, NVF_UNMAP, NVF_ATTACH   fuzz_iommu_op() (tests/fuzz/fuzz.h)
 *     NVF_POKE      u64 addr, u8 len, len bytes: the driver writes memory
 *     NVF_REG_WRITE u16 offset in BAR0 (doorbells at 0x1000), u8 size
 *                   (1 << % 4), u64 value
 *     NVF_REG_READ  u16 offset, u8 size
 *     NVF_SQE       u64 addr, 64 bytes: a submission queue entry, written
 *                   by the driver at addr
 *     NVF_COMMAND   u16: the PCI command register (memory decode, bus master)
 */
enum {
	NVF_CFG_NO_IOMMU = 1 << 0,   /* guest-physical addresses */
	NVF_CFG_RO       = 1 << 1,   /* a read-only namespace */
};

enum {
	NVF_MAP = FUZZ_OP_MAP, NVF_UNMAP = FUZZ_OP_UNMAP, NVF_ATTACH = FUZZ_OP_ATTACH,
	NVF_POKE = FUZZ_OP_POKE,
	NVF_REG_WRITE = FUZZ_NR_SHARED_OPS, NVF_REG_READ, NVF_SQE, NVF_COMMAND,
	NVF_NOPS
};

#define NVF_DISK_BYTES (64u << 10)

#endif
