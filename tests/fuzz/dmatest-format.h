/* SPDX-License-Identifier: MIT */
#ifndef TESTS_FUZZ_DMATEST_FORMAT_H
#define TESTS_FUZZ_DMATEST_FORMAT_H

#include "tests/fuzz/fuzz-ops.h"

/*
 * Input of the dmatest target (tests/fuzz/dmatest.c), written by
 * tests/fuzz/dmatest-seeds.c.  One dmatest device (vmm/dmatest.c) with
 * its worker thread, behind the IOMMU (endpoint attached to domain 1) and
 * the bounce pool; memory decode, bus mastering and its MSI on at the
 * start, as its driver's probe leaves them.  Numbers little-endian; a
 * truncated tail reads as zeroes.
 *
 *   byte 0: configuration: bits 0-1 the addressing width (64, 40, 32, 24),
 *           DTF_CFG_* bits
 *   then operations, an op byte (% DTF_NOPS) and its arguments:
 *     DTF_MAP, DTF_UNMAP, DTF_ATTACH   fuzz_iommu_op() (tests/fuzz/fuzz.h)
 *     DTF_POKE      u64 addr, u8 len, len bytes: the driver writes memory
 *     DTF_SG        u64 table, u8 index, u64 addr, u32 len, u32 reserved: one
 *                   scatter-gather entry
 *     DTF_REG_WRITE u8 register (DTF_REG_RAW: then u16 offset), u8 size
 *                   (1 << % 4), u64 value
 *     DTF_REG_READ  u8 register (the same), u8 size
 *     DTF_CMD       u8 command (% 6), u64 src, u64 dst, u32 len, u8 pattern,
 *                   u16 src_count, u16 dst_count: program them, ring the
 *                   doorbell, wait for the device to finish
 *     DTF_DOORBELL  ring it with the registers as they are, wait
 *     DTF_CTRL      u32: the CTRL register (reset, interrupt enable)
 *     DTF_COMMAND   u16: the PCI command register (memory decode, bus master)
 *     DTF_MSI       u16 message control, u64 address, u16 data: the MSI
 *                   capability
 * Registers are numbered by offset / 4 (% DTF_NREGS); DTF_REG_RAW and up
 * take an offset anywhere in (and past) BAR0.
 */
enum {
	DTF_CFG_NO_IOMMU   = 1 << 2,   /* guest-physical addresses */
	DTF_CFG_ROOT_PORT  = 1 << 3,   /* at 01:00.0, below a root port (untrusted) */
	DTF_CFG_SMALL_POOL = 1 << 4,   /* a 256 KiB bounce pool instead of 1 MiB */
};

enum {
	DTF_MAP = FUZZ_OP_MAP, DTF_UNMAP = FUZZ_OP_UNMAP, DTF_ATTACH = FUZZ_OP_ATTACH,
	DTF_POKE, DTF_SG, DTF_REG_WRITE, DTF_REG_READ,
	DTF_CMD, DTF_DOORBELL, DTF_CTRL, DTF_COMMAND, DTF_MSI,
	DTF_NOPS
};

#define DTF_NREGS   0x18   /* registers 0x00-0x5c */
#define DTF_REG_RAW 0x80

#endif
