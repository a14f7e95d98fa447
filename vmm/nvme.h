/* SPDX-License-Identifier: MIT */
#ifndef VMM_NVME_H
#define VMM_NVME_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/disk.h"
#include "vmm/dma.h"
#include "vmm/pci.h"

/*
 * An NVMe controller (NVM Express Base Specification 1.4, NVM command set)
 * on a raw image or block device: one namespace of 512-byte LBAs, the admin
 * queue and up to NVME_MAX_IO_QUEUES I/O queue pairs, an MSI-X vector per
 * completion queue.  KVM-free: the VMM hands it a dma_space (every queue
 * entry fetch, completion post, PRP list / SGL segment read and data
 * transfer goes through vmm/dma.c) and an MSI callback.  What is emulated
 * and what is not: docs/nvme.md.
 *
 * Threads: register and doorbell accesses come from vCPU threads (BAR0
 * MMIO exits) under the controller's lock; commands run on a thread per
 * submission queue (the admin SQ's, and I/O SQ q's), each with its own
 * IOMMU port, without the lock while they touch guest memory or the disk.
 * A controller reset (CC.EN 1 -> 0), a shutdown and Delete I/O SQ wait for
 * the commands under way, so no DMA of theirs happens once they return.
 */
#define NVME_MAX_IO_QUEUES 16
#define NVME_MAX_SERIAL    20   /* Identify Controller SN: 20 ASCII bytes */

struct nvme;

struct nvme_params {
	unsigned int index;          /* nvme<index> in logs and reports */
	struct disk disk;            /* owned by the controller from nvme_create on */
	char serial[NVME_MAX_SERIAL + 1];
	unsigned int queues;         /* I/O queue pairs offered, 1..NVME_MAX_IO_QUEUES */
	struct dma_space dma;        /* memory, IOMMU, endpoint (BDF), bounce account; its port
				      * is the admin thread's, each I/O thread opens its own */
	int (*signal_msi)(void *opaque, uint64_t addr, uint32_t data);
	void *msi_opaque;
	/* A descriptor the driver built against the spec's rules (PRP offset,
	 * PRP list, SGL type/length, data length vs. NLB): the rule, the
	 * address of the descriptor or data pointer, the access.  NULL: only
	 * the command's status says it. */
	void (*descriptor_violation)(void *opaque, uint32_t endpoint, uint64_t addr, uint64_t len,
				     bool device_write, const char *rule);
	void *violation_opaque;
};

/* Create the function and register it at bus `busnr`, slot `slot`.  On
 * failure: NULL, errno set, p->disk not closed. */
struct nvme *nvme_create(struct pci_bus *bus, unsigned int busnr, unsigned int slot,
			 const struct nvme_params *p);
int nvme_start(struct nvme *n);
void nvme_stop(struct nvme *n);
void nvme_destroy(struct nvme *n);
/* Without the threads (nvme_start not called): run every command the
 * doorbells announced, each SQ in turn, and return how many ran.  For
 * the unit tests and the fuzz target, which want determinism. */
unsigned int nvme_poll(struct nvme *n);

struct pci_device *nvme_pci(struct nvme *n);
const char *nvme_name(const struct nvme *n);
uint32_t nvme_endpoint(const struct nvme *n);

struct nvme_stats {
	uint64_t admin_commands, io_commands, errors;   /* errors: non-zero status */
	uint64_t reads, writes, flushes, write_zeroes, discards;
	uint64_t bytes_read, bytes_written;              /* disk -> guest, guest -> disk */
	uint64_t prp_lists, sgls;                        /* I/O commands whose data took a PRP
							  * list / an SGL */
	uint64_t descriptor_errors;                      /* malformed PRP/SGL (reported) */
	uint64_t invalid_doorbells, fatal;               /* CSTS.CFS was set this many times */
	unsigned int io_queues_max;                      /* most I/O SQs live at once */
	uint64_t interrupts, resets, shutdowns;
};
void nvme_stats(struct nvme *n, struct nvme_stats *out);

/* What one I/O submission queue's server did (queues 1..queues; they
 * outlive Delete I/O SQ and controller resets, like struct nvme_stats). */
struct nvme_queue_stats {
	uint64_t commands, errors;        /* completed; errors: non-zero status */
	uint64_t bytes_read, bytes_written;
};
/* Counters of I/O queue qid (1 <= qid <= nvme_io_queues(n)). */
unsigned int nvme_io_queues(const struct nvme *n);
void nvme_queue_stats(struct nvme *n, unsigned int qid, struct nvme_queue_stats *out);

#endif
