/* SPDX-License-Identifier: MIT */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <linux/kvm.h>

#include "vmm/cli.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"
#include "vmm/pio.h"
#include "vmm/pm.h"
#include "vmm/serial.h"
#include "vmm/pci.h"
#include "vmm/virtio_devices.h"
#include "vmm/virtio_net.h"

struct machine;
struct dmatest;
struct nvme;
struct swiotlb_pool;

struct vcpu {
	struct machine *m;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	uint64_t exits_io, exits_mmio;
	/* What the thread is doing, for the stop path's diagnostics: the
	 * exit it is handling (0 while in KVM_RUN).  Two plain stores per
	 * exit; no clock on this path. */
	_Atomic uint32_t in_vmm_exit;          /* KVM_EXIT_* + 1, or 0 */
	uint64_t in_vmm_addr;                   /* port or MMIO address */
	/* The registers as of a recent port or MMIO exit in 64-bit mode,
	 * taken every VCPU_SREGS_EVERY such exits: on AMD, KVM resets a
	 * vCPU that triple-faults, so the stop diagnostics check the guest's
	 * system tables (vmm/systables.c) through these.  Its thread only
	 * until it is joined. */
	struct kvm_sregs sregs_seen;
	uint64_t sregs_seen_exit;               /* exits_io + exits_mmio then; 0: none */
	uint64_t sregs_tried_exit;              /* ... when last asked for */
};

struct machine {
	int kvm_fd;
	int vm_fd;
	size_t run_mmap_size;
	bool tsc_deadline;
	struct kvm_cpuid2 *supported_cpuid;

	struct guest_mem mem;
	struct pio_bus pio;
	struct serial serial;
	struct pm pm;

	/* The PCI devices (vmm/devices.c). */
	struct pci_bus pci;
	struct virtio_host virtio_host;
	struct viommu *viommu;
	struct virtio_iommu *iommu_dev;
	struct virtio_rng *rng;
	struct virtio_blk *blk[VMM_MAX_DISKS];
	unsigned int nblk;
	struct dmatest *dmatest[VMM_MAX_DMATEST];
	unsigned int ndmatest;
	struct virtio_net *net[VMM_MAX_NETS];
	struct net_backend net_backend[VMM_MAX_NETS];   /* their TAPs */
	unsigned int nnet;
	struct nvme *nvme[VMM_MAX_NVME];
	unsigned int nnvme;

	/* The DMA sanitizer's policy (vmm/sanitizer.c): bounce pool,
	 * violation handling. */
	struct swiotlb_pool *bounce;
	bool dma_errors_fatal;
	struct ratelimit violation_rl;
	atomic_uint_fast64_t violations;

	struct vcpu vcpu[VMM_MAX_CPUS];
	unsigned int ncpus;      /* vCPUs created so far */
	unsigned int cfg_cpus;   /* vCPUs the guest is told about */

	/*
	 * Coalesced port I/O (KVM_CAP_COALESCED_PIO): writes to COM1's THR
	 * are queued in a ring shared with KVM instead of exiting; the ring
	 * is drained, in order, before any other exit is handled, so device
	 * state is as if each write had exited.  Halves the exits per console
	 * character (the guest still reads LSR before each write).
	 */
	struct kvm_coalesced_mmio_ring *coalesced_ring;
	unsigned int coalesced_max;
	pthread_mutex_t coalesced_lock;

	/* -1 while running; set once (first reason wins) by machine_request_exit. */
	int exit_code;
	int wake_fd[2];          /* wakes the main thread: exit requested */
	uint64_t start_ns;
};

/* kvm.c: the VM, its memory, its interrupt controllers. */
int kvm_open(struct machine *m);
int kvm_create_vm(struct machine *m);
int kvm_irq_line(struct machine *m, unsigned int gsi, bool level);
int kvm_signal_msi(void *opaque, uint64_t addr, uint32_t data);
int kvm_ioeventfd(void *opaque, uint64_t gpa, unsigned int len, int fd, bool assign);
int kvm_coalesce_pio(struct machine *m, uint16_t port, uint16_t len);
void machine_drain_coalesced(struct machine *m);
void machine_destroy(struct machine *m);
void machine_request_exit(struct machine *m, int code);
int machine_exit_code(struct machine *m);

/* vcpu.c */
int vcpu_create(struct machine *m, unsigned int id, uint64_t entry, uint64_t boot_params);
int vcpus_start(struct machine *m);
void vcpus_stop(struct machine *m);
/* After vcpus_stop: one line per vCPU with where it was (rip, rsp, rflags,
 * cr3, a pending event), for a run that timed out or crashed. */
void vcpus_dump_state(struct machine *m, const char *why);

/* probe.c */
int kvm_probe_linux(char *reason, size_t len);

#endif
