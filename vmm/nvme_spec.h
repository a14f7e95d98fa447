/* SPDX-License-Identifier: MIT */
#ifndef VMM_NVME_SPEC_H
#define VMM_NVME_SPEC_H

/*
 * NVM Express Base Specification 1.4 (and its NVM command set): the
 * register offsets, queue entry layouts, opcodes and status codes the
 * controller (vmm/nvme.c) and its tests use, named as in the spec.
 */
#include <stdint.h>

#define NVME_PAGE          4096u      /* CC.MPS = 0: the only page size offered */
#define NVME_VERSION       0x00010400 /* VS: 1.4.0 */
#define NVME_CLASS_CODE    0x010802   /* mass storage, NVM, NVMe I/O controller */

/* Controller registers (BAR0). */
#define NVME_REG_CAP   0x00
#define NVME_REG_VS    0x08
#define NVME_REG_INTMS 0x0c
#define NVME_REG_INTMC 0x10
#define NVME_REG_CC    0x14
#define NVME_REG_CSTS  0x1c
#define NVME_REG_NSSR  0x20
#define NVME_REG_AQA   0x24
#define NVME_REG_ASQ   0x28
#define NVME_REG_ACQ   0x30
#define NVME_REG_DBS   0x1000     /* SQyTDBL at 0x1000 + 8y, CQyHDBL at 0x1004 + 8y (DSTRD 0) */

#define NVME_CAP_CQR      (1ull << 16)
#define NVME_CAP_CSS_NVM  (1ull << 37)

#define NVME_CC_EN            0x1u
#define NVME_CC_SHN_MASK      (3u << 14)
#define NVME_CC_SHN_NORMAL    (1u << 14)
#define NVME_CSTS_RDY         0x1u
#define NVME_CSTS_CFS         0x2u
#define NVME_CSTS_SHST_MASK   (3u << 2)
#define NVME_CSTS_SHST_COMPLETE (2u << 2)

/* Submission queue entry: 64 bytes. */
struct nvme_sqe {
	uint8_t opcode;
	uint8_t flags;          /* FUSE bits 1:0, PSDT bits 7:6 */
	uint16_t cid;
	uint32_t nsid;
	uint64_t rsvd2;
	uint64_t mptr;
	uint64_t prp1;          /* or the SGL descriptor, 16 bytes, with prp2 */
	uint64_t prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};
_Static_assert(sizeof(struct nvme_sqe) == 64, "SQE is 64 bytes");

/* Completion queue entry: 16 bytes. */
struct nvme_cqe {
	uint32_t dw0, dw1;
	uint16_t sqhd, sqid;
	uint16_t cid;
	uint16_t status;        /* phase bit 0, status field bits 15:1 */
};
_Static_assert(sizeof(struct nvme_cqe) == 16, "CQE is 16 bytes");

#define NVME_FUSE_MASK            0x03
#define NVME_PSDT_MASK            0xc0
#define NVME_PSDT_PRP             0x00
#define NVME_PSDT_SGL_MPTR_CONTIG 0x40
#define NVME_PSDT_SGL_MPTR_SGL    0x80

/* Status field (bits 15:1 of the CQE status): SC 7:0, SCT 10:8, DNR 14. */
#define NVME_STATUS_DNR       (1u << 15)   /* in the 16-bit CQE word */
#define NVME_SCT_GENERIC      0
#define NVME_SCT_CMD_SPECIFIC 1
#define NVME_SCT_MEDIA        2
/* Generic command status. */
#define NVME_SC_SUCCESS              0x00
#define NVME_SC_INVALID_OPCODE       0x01
#define NVME_SC_INVALID_FIELD        0x02
#define NVME_SC_CMDID_CONFLICT       0x03
#define NVME_SC_DATA_XFER_ERROR      0x04
#define NVME_SC_INTERNAL             0x06
#define NVME_SC_ABORT_REQ            0x07
#define NVME_SC_INVALID_NS           0x0b
#define NVME_SC_SGL_INVALID_SEGMENT  0x0d
#define NVME_SC_SGL_INVALID_COUNT    0x0e
#define NVME_SC_SGL_INVALID_DATA     0x0f
#define NVME_SC_SGL_INVALID_TYPE     0x11
#define NVME_SC_PRP_OFFSET_INVALID   0x13
#define NVME_SC_NS_WRITE_PROTECTED   0x20
#define NVME_SC_LBA_RANGE            0x80
/* Command specific status. */
#define NVME_SC_CQ_INVALID           0x00
#define NVME_SC_QID_INVALID          0x01
#define NVME_SC_QUEUE_SIZE           0x02
#define NVME_SC_AER_LIMIT            0x05
#define NVME_SC_INVALID_VECTOR       0x08
#define NVME_SC_INVALID_LOG_PAGE     0x09
#define NVME_SC_INVALID_QUEUE_DELETION 0x0c
#define NVME_SC_FEATURE_NOT_SAVEABLE 0x0d
/* Media and data integrity errors. */
#define NVME_SC_WRITE_FAULT          0x80
#define NVME_SC_UNRECOVERED_READ     0x81

/* Admin opcodes. */
#define NVME_ADMIN_DELETE_SQ    0x00
#define NVME_ADMIN_CREATE_SQ    0x01
#define NVME_ADMIN_GET_LOG_PAGE 0x02
#define NVME_ADMIN_DELETE_CQ    0x04
#define NVME_ADMIN_CREATE_CQ    0x05
#define NVME_ADMIN_IDENTIFY     0x06
#define NVME_ADMIN_ABORT        0x08
#define NVME_ADMIN_SET_FEATURES 0x09
#define NVME_ADMIN_GET_FEATURES 0x0a
#define NVME_ADMIN_ASYNC_EVENT  0x0c

/* NVM opcodes. */
#define NVME_CMD_FLUSH        0x00
#define NVME_CMD_WRITE        0x01
#define NVME_CMD_READ         0x02
#define NVME_CMD_WRITE_ZEROES 0x08
#define NVME_CMD_DSM          0x09
#define NVME_DSM_AD           (1u << 2)   /* CDW11: deallocate */

/* Identify CNS values. */
#define NVME_CNS_NS             0x00
#define NVME_CNS_CTRL           0x01
#define NVME_CNS_NS_ACTIVE_LIST 0x02
#define NVME_CNS_NS_DESC_LIST   0x03
#define NVME_CNS_CS_CTRL        0x06
#define NVME_CSI_NVM            0x00
#define NVME_NIDT_NGUID         0x02
#define NVME_NSID_ALL           0xffffffffu

#define NVME_ONCS_DSM           (1u << 2)
#define NVME_ONCS_WRITE_ZEROES  (1u << 3)
#define NVME_SGLS_SUPPORTED     0x1u       /* SGLs, no alignment requirement */
#define NVME_OAES_NS_ATTR       (1u << 8)

/* Features. */
#define NVME_FEAT_ARBITRATION   0x01
#define NVME_FEAT_VWC           0x06
#define NVME_FEAT_NUM_QUEUES    0x07
#define NVME_FEAT_IRQ_COALESCE  0x08
#define NVME_FEAT_ASYNC_EVENT   0x0b

/* Log pages. */
#define NVME_LOG_ERROR          0x01
#define NVME_LOG_SMART          0x02
#define NVME_LOG_FW_SLOT        0x03

/* Asynchronous events (CQE DW0): type 2:0, info 15:8, log page 23:16. */
#define NVME_AER_TYPE_ERROR     0x0
#define NVME_AER_INFO_INVALID_DB_REGISTER 0x00
#define NVME_AER_INFO_INVALID_DB_VALUE    0x01

/* SGL descriptors: identifier byte = type << 4 | sub type. */
#define NVME_SGL_DATA_BLOCK      0x0
#define NVME_SGL_BIT_BUCKET      0x1
#define NVME_SGL_SEGMENT         0x2
#define NVME_SGL_LAST_SEGMENT    0x3
#define NVME_SGL_SUBTYPE_ADDRESS 0x0

#endif
