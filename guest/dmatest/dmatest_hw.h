/* SPDX-License-Identifier: MIT */
/*
 * "dmatest": the programming model of the VMM's DMA test device, shared by
 * the device model (vmm/dmatest.c) and the guest driver (guest/dmatest/).
 * This header is the single source of truth for both sides; it uses only
 * fixed-width integer types so that it compiles in the kernel and in user
 * space.
 *
 * PCI: vendor 0x1234 device 0xd3a7 (not a registered ID; a test device),
 * class 0xff0000 (unassigned), BAR0 = 4 KiB of 32-bit-wide registers
 * (64-bit registers may be accessed as one 8-byte or two 4-byte accesses,
 * low half first), one MSI vector (MSI capability, 64-bit address).
 *
 * The device performs one command at a time.  The driver programs
 * CMD/SRC/DST/LEN/PATTERN and writes DMATEST_DOORBELL; the device runs the
 * command on its own thread (like real DMA, concurrently with the CPU),
 * then sets STATUS.DONE (and STATUS.ERROR with ERROR != 0 on failure),
 * sets IRQ_STATUS.DONE and, if CTRL.IRQ_ENABLE, sends its MSI.  Writes to
 * command registers while BUSY are ignored.  Every address the device
 * drives is a DMA address (an IOVA behind the virtio-iommu) of at most
 * WIDTH bits; the device refuses (ERROR_ADDRESS_WIDTH) to drive a wider one
 * rather than truncating it.  DMA requires PCI_COMMAND_MASTER.
 *
 * Commands:
 *   COPY     read LEN bytes at SRC, write them at DST.
 *   FILL     write LEN bytes of the byte PATTERN at DST.
 *   CMP      read LEN bytes at SRC and at DST; RESULT = offset of the first
 *            difference, or DMATEST_CMP_EQUAL.
 *   READ     read LEN bytes at SRC; RESULT = sum of the bytes (mod 2^32),
 *            the device's proof that it saw the data (DMA_TO_DEVICE use).
 *   SG_COPY  SRC and DST each point at a table of SRC_COUNT / DST_COUNT
 *            struct dmatest_sg entries (read by DMA, 16 bytes each, at most
 *            DMATEST_SG_MAX); the concatenation of the source segments is
 *            copied into the concatenation of the destination segments.
 *            Both totals must be equal (else ERROR_BAD_COMMAND).  LEN is
 *            ignored; RESULT = bytes copied.
 *
 * Reading guest memory takes one snapshot (the host bounce engine): the
 * device never reads the same guest bytes twice within a command.
 * Writes reach guest memory when the command completes; a refused write
 * leaves the destination untouched.
 *
 * Host verdict registers: the VMM also counts every DMA-API violation it
 * attributes to this endpoint (refused DMAs, refused MAPs of its domain,
 * leaked mappings at reset/unbind) and exposes the count and the class of
 * the latest one, so that a guest test can assert what the host saw.
 * They survive device reset.
 */
#ifndef DMATEST_HW_H
#define DMATEST_HW_H

#define DMATEST_VENDOR_ID   0x1234
#define DMATEST_DEVICE_ID   0xd3a7
#define DMATEST_BAR0_SIZE   0x1000

/* Registers (offsets in BAR0). */
#define DMATEST_ID          0x00  /* RO  DMATEST_MAGIC */
#define DMATEST_VERSION     0x04  /* RO  1 */
#define DMATEST_WIDTH       0x08  /* RO  addressing width in bits: 64, 40, 32 or 24 */
#define DMATEST_STATUS      0x0c  /* RO  DMATEST_STATUS_* */
#define DMATEST_ERROR       0x10  /* RO  DMATEST_ERROR_* of the last command */
#define DMATEST_RESULT      0x14  /* RO  see commands */
#define DMATEST_IRQ_STATUS  0x18  /* RW1C DMATEST_IRQ_DONE */
#define DMATEST_CTRL        0x1c  /* RW  DMATEST_CTRL_* */
#define DMATEST_CMD         0x20  /* RW  DMATEST_CMD_* */
#define DMATEST_PATTERN     0x24  /* RW  FILL byte (low 8 bits) */
#define DMATEST_SRC         0x28  /* RW  64-bit DMA address */
#define DMATEST_DST         0x30  /* RW  64-bit DMA address */
#define DMATEST_LEN         0x38  /* RW  32-bit byte count, 1..DMATEST_MAX_LEN */
#define DMATEST_SRC_COUNT   0x3c  /* RW  SG_COPY source entries */
#define DMATEST_DST_COUNT   0x40  /* RW  SG_COPY destination entries */
#define DMATEST_DOORBELL    0x44  /* WO  write 1: run CMD */
#define DMATEST_DONE_BYTES  0x48  /* RO  64-bit: bytes the last command processed (LEN, or the SG total); 0 on error */
#define DMATEST_VIOL_COUNT  0x50  /* RO  DMA-API violations the host attributed to this device */
#define DMATEST_VIOL_LAST   0x54  /* RO  DMATEST_VIOL_* of the latest one (0: none yet) */

#define DMATEST_MAGIC       0x54414d44u   /* the bytes "DMAT" read little-endian */

#define DMATEST_STATUS_BUSY   (1u << 0)
#define DMATEST_STATUS_DONE   (1u << 1)
#define DMATEST_STATUS_ERROR  (1u << 2)

#define DMATEST_IRQ_DONE      (1u << 0)

#define DMATEST_CTRL_RESET      (1u << 0)  /* write 1: abort, clear command state; self-clearing */
#define DMATEST_CTRL_IRQ_ENABLE (1u << 1)

#define DMATEST_CMD_COPY     1
#define DMATEST_CMD_FILL     2
#define DMATEST_CMD_CMP      3
#define DMATEST_CMD_READ     4
#define DMATEST_CMD_SG_COPY  5

#define DMATEST_CMP_EQUAL    0xffffffffu
#define DMATEST_MAX_LEN      (16u << 20)
#define DMATEST_SG_MAX       256

#define DMATEST_ERROR_NONE          0
#define DMATEST_ERROR_DMA           1  /* a DMA was refused by the IOMMU / host checks */
#define DMATEST_ERROR_ADDRESS_WIDTH 2  /* an address needs more than WIDTH bits */
#define DMATEST_ERROR_NO_BOUNCE     3  /* host bounce pool exhausted: an I/O error, retry later */
#define DMATEST_ERROR_BAD_COMMAND   4  /* unknown CMD, LEN 0 or too big, bad SG table */
#define DMATEST_ERROR_NO_MASTER     5  /* bus mastering is disabled */

/* Violation classes (DMATEST_VIOL_LAST); names as in the host report. */
#define DMATEST_VIOL_NONE           0
#define DMATEST_VIOL_UNMAPPED       1  /* "unmapped": IOVA never mapped */
#define DMATEST_VIOL_PERMISSION     2  /* "permission": write via a read-only mapping or vice versa */
#define DMATEST_VIOL_PAST_END       3  /* "past-end": runs past the end of its mapping */
#define DMATEST_VIOL_AFTER_UNMAP    4  /* "after-unmap": IOVA was mapped, then unmapped */
#define DMATEST_VIOL_ADDRESS_WIDTH  5  /* "address-width": beyond the device's addressing width */
#define DMATEST_VIOL_BYPASS         6  /* "bypass": a guest-physical address of a mapped buffer used as IOVA */
#define DMATEST_VIOL_LEAK           7  /* "leak": mapping live at device reset / driver unbind */
#define DMATEST_VIOL_NOT_RAM        8  /* "not-ram": MAP of non-RAM without VIRTIO_IOMMU_MAP_F_MMIO */
#define DMATEST_VIOL_NO_DOMAIN      9  /* "no-domain": endpoint not attached, bypass off */
#define DMATEST_VIOL_OTHER          15

/* SG_COPY table entry, little-endian in guest memory. */
struct dmatest_sg {
	uint64_t addr;
	uint32_t len;       /* 1..DMATEST_MAX_LEN */
	uint32_t reserved;  /* must be 0 */
};

#endif
