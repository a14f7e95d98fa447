/* SPDX-License-Identifier: MIT */
/*
 * `vmm probe`: can this host's KVM run a Linux guest?
 *
 * Some KVMs (nested ones whose guest kernel code is run by an instruction
 * emulator, see NOTES §1) answer the whole KVM API, run a trivial guest, and
 * still fail Linux with KVM_EXIT_INTERNAL_ERROR.  The first instruction that
 * always breaks them is Linux's boot-time int3 self-test.  So the probe
 * guest does exactly that: 64-bit mode at CPL0, an IDT whose vector 3
 * handler reports through an I/O port and returns with iretq, then the main
 * code reports too and halts.  Seeing both ports and HLT means "yes".
 */
#include "vmm/machine.h"
#include "vmm/boot.h"
#include "vmm/cpuid.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PROBE_MEM      0x200000ull
#define PROBE_GDT      0x1000
#define PROBE_IDT      0x2000
#define PROBE_PML4     0x3000
#define PROBE_PDPT     0x4000
#define PROBE_PD       0x5000
#define PROBE_STACK    0x7ff0
#define PROBE_CODE     0x8000
#define PROBE_HANDLER  0x9000
#define PROBE_PORT     0x10
#define PROBE_IN_HANDLER 0x33
#define PROBE_AFTER_INT3 0x44

static void alarm_handler(int sig) { }

#define fail error_line

static void write_probe_guest(uint8_t *mem)
{
	uint64_t *gdt = (uint64_t *)(mem + PROBE_GDT);
	uint64_t *pml4 = (uint64_t *)(mem + PROBE_PML4);
	uint64_t *pdpt = (uint64_t *)(mem + PROBE_PDPT);
	uint64_t *pd = (uint64_t *)(mem + PROBE_PD);
	uint8_t *idt3 = mem + PROBE_IDT + 3 * 16;
	/* handler: mov al, 0x33; out 0x10, al; iretq */
	static const uint8_t handler[] = { 0xb0, PROBE_IN_HANDLER, 0xe6, PROBE_PORT, 0x48, 0xcf };
	/* main: int3; mov al, 0x44; out 0x10, al; hlt */
	static const uint8_t code[] = { 0xcc, 0xb0, PROBE_AFTER_INT3, 0xe6, PROBE_PORT, 0xf4 };

	gdt[2] = gdt_entry(0xa09b, 0, 0xfffff);
	gdt[3] = gdt_entry(0xc093, 0, 0xfffff);
	gdt[4] = gdt_entry(0x808b, 0, 0xfffff);
	pml4[0] = PROBE_PDPT | 3;
	pdpt[0] = PROBE_PD | 3;
	pd[0] = 0x83;
	/* 64-bit interrupt gate, selector 0x10, present, DPL0. */
	idt3[0] = PROBE_HANDLER & 0xff;
	idt3[1] = (PROBE_HANDLER >> 8) & 0xff;
	idt3[2] = 0x10;
	idt3[3] = 0;
	idt3[4] = 0;
	idt3[5] = 0x8e;
	memcpy(mem + PROBE_HANDLER, handler, sizeof(handler));
	memcpy(mem + PROBE_CODE, code, sizeof(code));
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, uint8_t l, uint8_t db, uint8_t sflag)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->db = db;
	s->s = sflag;
	s->l = l;
	s->g = 1;
}

static const char *exit_name(uint32_t r)
{
	switch (r) {
	case KVM_EXIT_INTERNAL_ERROR: return "KVM_EXIT_INTERNAL_ERROR";
	case KVM_EXIT_SHUTDOWN: return "KVM_EXIT_SHUTDOWN (triple fault)";
	case KVM_EXIT_FAIL_ENTRY: return "KVM_EXIT_FAIL_ENTRY";
	case KVM_EXIT_MMIO: return "KVM_EXIT_MMIO";
	case KVM_EXIT_EXCEPTION: return "KVM_EXIT_EXCEPTION";
	default: return "an unexpected exit";
	}
}

/* 0: can run Linux; 2: KVM works but cannot; 1: no usable KVM. */
static int run_probe(int kvm_fd, char *reason, size_t len)
{
	struct kvm_userspace_memory_region region;
	struct kvm_cpuid2 *cpuid = NULL;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run = MAP_FAILED;
	struct sigaction sa, old_sa;
	long run_size;
	uint8_t *mem;
	int vm = -1, vcpu = -1, ret, stage = 0;

	mem = mmap(NULL, PROBE_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail(reason, len, 1, "cannot allocate probe memory: %s", strerror(errno));
	write_probe_guest(mem);

	vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm < 0) {
		ret = fail(reason, len, 1, "KVM_CREATE_VM failed: %s", strerror(errno));
		goto out_mem;
	}
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = PROBE_MEM,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		ret = fail(reason, len, 1, "KVM_SET_USER_MEMORY_REGION failed: %s", strerror(errno));
		goto out_vm;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || run_size <= 0) {
		ret = fail(reason, len, 1, "cannot create a vCPU: %s", strerror(errno));
		goto out_vm;
	}
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) {
		ret = fail(reason, len, 1, "cannot map kvm_run: %s", strerror(errno));
		goto out_vcpu;
	}

	/* CPUID before SREGS: strict KVMs refuse EFER.LME otherwise. */
	for (unsigned int nent = 64; nent <= 4096 && !cpuid; nent *= 2) {
		cpuid = cpuid_alloc(nent);
		if (cpuid && ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
			free(cpuid);
			cpuid = NULL;
			if (errno != E2BIG)
				break;
		}
	}
	if (!cpuid || ioctl(vcpu, KVM_SET_CPUID2, cpuid) < 0) {
		ret = fail(reason, len, 1, "cannot set the vCPU's CPUID: %s", strerror(errno));
		goto out_run;
	}

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		ret = fail(reason, len, 1, "KVM_GET_SREGS failed: %s", strerror(errno));
		goto out_run;
	}
	seg(&sregs.cs, 0x10, 0xb, 1, 0, 1);
	seg(&sregs.ds, 0x18, 0x3, 0, 1, 1);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	seg(&sregs.tr, 0x20, 0xb, 0, 0, 0);
	sregs.tr.g = 0;
	sregs.tr.limit = 0xfffff;
	sregs.gdt.base = PROBE_GDT;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.idt.base = PROBE_IDT;
	sregs.idt.limit = 256 * 16 - 1;
	sregs.cr3 = PROBE_PML4;
	sregs.cr4 = 0x20;                 /* PAE */
	sregs.cr0 = 0x80050033;           /* PG WP NE ET MP PE */
	sregs.efer = 0x500;               /* LME LMA */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) {
		ret = fail(reason, len, 1, "KVM refused 64-bit mode (KVM_SET_SREGS: %s)", strerror(errno));
		goto out_run;
	}
	memset(&regs, 0, sizeof(regs));
	regs.rip = PROBE_CODE;
	regs.rsp = PROBE_STACK;
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
		ret = fail(reason, len, 1, "KVM_SET_REGS failed: %s", strerror(errno));
		goto out_run;
	}

	/* A broken KVM could also spin: give the probe two seconds. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = alarm_handler;
	sigaction(SIGALRM, &sa, &old_sa);
	alarm(2);
	ret = -1;
	while (ret < 0) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				ret = fail(reason, len, 2, "the probe guest did not finish within 2 s");
			else
				ret = fail(reason, len, 1, "KVM_RUN failed: %s", strerror(errno));
			break;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == PROBE_PORT &&
		    run->io.direction == KVM_EXIT_IO_OUT) {
			uint8_t v = *((uint8_t *)run + run->io.data_offset);

			if (stage == 0 && v == PROBE_IN_HANDLER)
				stage = 1;
			else if (stage == 1 && v == PROBE_AFTER_INT3)
				stage = 2;
			else
				ret = fail(reason, len, 2, "the probe guest took a wrong path (stage %d, value %#x)",
					   stage, v);
			continue;
		}
		if (run->exit_reason == KVM_EXIT_HLT && stage == 2) {
			ret = fail(reason, len, 0, "a 64-bit CPL0 probe guest ran int3 through its IDT and reached HLT");
			break;
		}
		if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
			ret = fail(reason, len, 2, "the probe guest stopped with KVM_EXIT_INTERNAL_ERROR (suberror %u%s) %s",
				   run->internal.suberror,
				   run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? ": emulation failure" : "",
				   stage == 0 ? "on int3" : "after int3");
		else
			ret = fail(reason, len, 2, "the probe guest stopped with %s (exit reason %u) at stage %d",
				   exit_name(run->exit_reason), run->exit_reason, stage);
	}
	alarm(0);
	sigaction(SIGALRM, &old_sa, NULL);

out_run:
	free(cpuid);
	if (run != MAP_FAILED)
		munmap(run, (size_t)run_size);
out_vcpu:
	if (vcpu >= 0)
		close(vcpu);
out_vm:
	close(vm);
out_mem:
	munmap(mem, PROBE_MEM);
	return ret;
}

int kvm_probe_linux(char *reason, size_t len)
{
	int kvm_fd, ret;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		int err = errno;

		return fail(reason, len, 1, "cannot open /dev/kvm: %s%s", strerror(err),
			    err == ENOENT ? " (no KVM on this host)" :
			    err == EACCES ? " (add yourself to the 'kvm' group or run as root)" : "");
	}
	if (ioctl(kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		close(kvm_fd);
		return fail(reason, len, 1, "/dev/kvm does not speak KVM API %d", KVM_API_VERSION);
	}
	ret = run_probe(kvm_fd, reason, len);
	close(kvm_fd);
	return ret;
}
