/* SPDX-License-Identifier: MIT */
#include "vmm/machine.h"
#include "vmm/cpuid.h"
#include "vmm/exit_codes.h"
#include "vmm/irqchip.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/pagewalk.h"
#include "vmm/systables.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MSR_IA32_SYSENTER_CS   0x174
#define MSR_IA32_SYSENTER_ESP  0x175
#define MSR_IA32_SYSENTER_EIP  0x176
#define MSR_IA32_MISC_ENABLE   0x1a0
#define MSR_IA32_TSC           0x10
#define MSR_STAR               0xc0000081
#define MSR_LSTAR              0xc0000082
#define MSR_CSTAR              0xc0000083
#define MSR_SYSCALL_MASK       0xc0000084
#define MSR_KERNEL_GS_BASE     0xc0000102
#define MISC_ENABLE_FAST_STRING 0x1

#define X86_CR0_PE 0x1
#define X86_CR0_MP 0x2
#define X86_CR0_ET 0x10
#define X86_CR0_NE 0x20
#define X86_CR0_WP 0x10000
#define X86_CR0_PG 0x80000000
#define X86_CR4_PAE 0x20
#define EFER_LME 0x100
#define EFER_LMA 0x400

#define VCPU_KICK_SIGNAL SIGUSR1
/* One KVM_GET_SREGS per this many port and MMIO exits (sregs_seen). */
#define VCPU_SREGS_EVERY 1024

static __thread struct kvm_run *current_run;

static void kick_handler(int sig)
{
	/* Runs on the vCPU thread: make KVM_RUN return at once, now or at
	 * its next call, so the thread sees the exit request. */
	if (current_run)
		current_run->immediate_exit = 1;
}

static int set_msrs(struct vcpu *v)
{
	static const struct { uint32_t index; uint64_t data; } boot_msrs[] = {
		{ MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 }, { MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 }, { MSR_SYSCALL_MASK, 0 }, { MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 }, { MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
	};
	const unsigned int n = sizeof(boot_msrs) / sizeof(boot_msrs[0]);
	struct kvm_msrs *msrs = calloc(1, sizeof(*msrs) + n * sizeof(msrs->entries[0]));
	int ret;

	if (!msrs)
		return -ENOMEM;
	msrs->nmsrs = n;
	for (unsigned int i = 0; i < n; i++) {
		msrs->entries[i].index = boot_msrs[i].index;
		msrs->entries[i].data = boot_msrs[i].data;
	}
	ret = ioctl(v->fd, KVM_SET_MSRS, msrs);
	free(msrs);
	if (ret < 0) {
		pr_err("vCPU %u: KVM_SET_MSRS: %s", v->id, strerror(errno));
		return -errno;
	}
	if ((unsigned int)ret != n)
		pr_debug("vCPU %u: KVM_SET_MSRS set %d of %u MSRs", v->id, ret, n);
	return 0;
}

static int set_lapic(struct vcpu *v)
{
	struct kvm_lapic_state lapic;

	if (ioctl(v->fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	/* LINT0/LINT1 as firmware leaves them: ExtINT and NMI on the BSP
	 * only (vmm/irqchip.h). */
	irqchip_lapic_boot_lvt(&lapic, v->id == 0);
	if (ioctl(v->fd, KVM_SET_LAPIC, &lapic) < 0)
		return -errno;
	return 0;
}

static void set_segment(struct kvm_segment *s, uint16_t sel, uint8_t type,
			uint8_t l, uint8_t db, uint8_t sflag)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = 0;
	s->db = db;
	s->s = sflag;
	s->l = l;
	s->g = 1;
}

/* The BSP starts in 64-bit mode at the kernel's 64-bit entry, as the boot
 * protocol asks: identity-mapped paging, __BOOT_CS/__BOOT_DS, RSI = zero page. */
static int setup_boot_cpu(struct vcpu *v, uint64_t entry, uint64_t boot_params)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	set_segment(&sregs.cs, BOOT_CS_SELECTOR, 0xb, 1, 0, 1);
	set_segment(&sregs.ds, BOOT_DS_SELECTOR, 0x3, 0, 1, 1);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	set_segment(&sregs.tr, BOOT_TSS_SELECTOR, 0xb, 0, 0, 0);
	sregs.tr.g = 0;
	sregs.tr.limit = 0xfffff;
	sregs.gdt.base = GDT_ADDR;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr3 = PML4_ADDR;
	sregs.cr4 = X86_CR4_PAE;
	sregs.cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0) {
		pr_err("vCPU %u: KVM_SET_SREGS (64-bit mode): %s", v->id, strerror(errno));
		return -errno;
	}

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = entry;
	regs.rsi = boot_params;
	regs.rsp = BOOT_STACK_ADDR;
	if (ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		return -errno;
	return 0;
}

int vcpu_create(struct machine *m, unsigned int id, uint64_t entry, uint64_t boot_params)
{
	struct vcpu *v = &m->vcpu[id];
	struct kvm_cpuid2 *cpuid;
	int ret;

	v->m = m;
	v->id = id;
	v->fd = ioctl(m->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		pr_err("KVM_CREATE_VCPU %u: %s", id, strerror(errno));
		return -errno;
	}
	m->ncpus = id + 1;
	v->run = mmap(NULL, m->run_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		pr_err("vCPU %u: mmap kvm_run: %s", id, strerror(errno));
		return -errno;
	}

	/* CPUID first: a strict KVM refuses EFER.LME until long mode is
	 * advertised (see NOTES §1). */
	cpuid = cpuid_dup(m->supported_cpuid);
	if (!cpuid)
		return -ENOMEM;
	cpuid_filter(cpuid, id, m->cfg_cpus, m->tsc_deadline);
	ret = ioctl(v->fd, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	if (ret < 0) {
		pr_err("vCPU %u: KVM_SET_CPUID2: %s", id, strerror(errno));
		return -errno;
	}
	ret = set_msrs(v);
	if (ret)
		return ret;
	ret = set_lapic(v);
	if (ret) {
		pr_err("vCPU %u: LAPIC setup: %s", id, strerror(-ret));
		return ret;
	}
	/* Application processors wait for INIT/SIPI in the in-kernel LAPIC;
	 * only the BSP gets an initial register state. */
	if (id == 0)
		return setup_boot_cpu(v, entry, boot_params);
	return 0;
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned int size = run->io.size;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	v->exits_io++;
	for (uint32_t i = 0; i < run->io.count; i++, data += size) {
		uint32_t val = 0;

		if (is_write)
			memcpy(&val, data, size);
		if (!pio_access(&v->m->pio, run->io.port, is_write, size, &val))
			pr_ratelimited(LOG_DEBUG, "vCPU %u: %s of unclaimed port %#x", v->id,
				       is_write ? "write" : "read", run->io.port);
		if (!is_write)
			memcpy(data, &val, size);
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint64_t val = 0;
	unsigned int len = run->mmio.len;

	v->exits_mmio++;
	if (len > 8)
		len = 8;
	if (run->mmio.is_write)
		memcpy(&val, run->mmio.data, len);
	if (pci_mmio_access(&v->m->pci, run->mmio.phys_addr, run->mmio.is_write, len, &val)) {
		if (!run->mmio.is_write)
			memcpy(run->mmio.data, &val, len);
		return;
	}
	/* Nothing decodes it: reads float high, writes are dropped. */
	if (!run->mmio.is_write)
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
	pr_ratelimited(LOG_DEBUG, "vCPU %u: %s of unclaimed MMIO %#llx (%u bytes)", v->id,
		       run->mmio.is_write ? "write" : "read",
		       (unsigned long long)run->mmio.phys_addr, run->mmio.len);
}

static void report_internal_error(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct kvm_regs regs;
	char extra[256] = "";
	size_t off = 0;

	for (uint32_t i = 0; i < run->internal.ndata && i < 4 && off < sizeof(extra); i++)
		off += (size_t)snprintf(extra + off, sizeof(extra) - off, " %#llx",
					(unsigned long long)run->internal.data[i]);
	if (ioctl(v->fd, KVM_GET_REGS, &regs) == 0)
		pr_err("vCPU %u: KVM_EXIT_INTERNAL_ERROR suberror %u%s%s at rip %#llx (data:%s)",
		       v->id, run->internal.suberror,
		       run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? " (emulation failure)" : "",
		       "", (unsigned long long)regs.rip, extra);
	pr_err("hint: 'vmm probe' tells whether this host's KVM can run Linux at all; "
	       "if not, run vmm inside the test host (tests/testhost)");
}

/* The 64-bit registers the stop diagnostics fall back on (sregs_seen). */
static void remember_sregs(struct vcpu *v)
{
	struct kvm_sregs s;

	v->sregs_tried_exit = v->exits_io + v->exits_mmio;
	if (ioctl(v->fd, KVM_GET_SREGS, &s) == 0 && (s.cr0 & X86_CR0_PG) && (s.efer & EFER_LMA)) {
		v->sregs_seen = s;
		v->sregs_seen_exit = v->sregs_tried_exit;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct machine *m = v->m;

	current_run = v->run;
	while (machine_exit_code(m) < 0) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				v->run->immediate_exit = 0;
				continue;
			}
			pr_err("vCPU %u: KVM_RUN: %s", v->id, strerror(errno));
			machine_request_exit(m, VMM_EXIT_ERROR);
			break;
		}
		v->in_vmm_addr = v->run->exit_reason == KVM_EXIT_IO ? v->run->io.port
				 : v->run->exit_reason == KVM_EXIT_MMIO ? v->run->mmio.phys_addr : 0;
		atomic_store_explicit(&v->in_vmm_exit, v->run->exit_reason + 1, memory_order_release);
		machine_drain_coalesced(m);
		switch (v->run->exit_reason) {
		case KVM_EXIT_IO:
			handle_io(v);
			break;
		case KVM_EXIT_MMIO:
			handle_mmio(v);
			break;
		case KVM_EXIT_HLT:
			/* Only without an in-kernel LAPIC; keep going. */
			break;
		case KVM_EXIT_SHUTDOWN:
			pr_info("guest triple fault (vCPU %u): stopping", v->id);
			machine_request_exit(m, VMM_EXIT_TRIPLE_FAULT);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			report_internal_error(v);
			machine_request_exit(m, VMM_EXIT_INTERNAL_ERROR);
			break;
		case KVM_EXIT_FAIL_ENTRY:
			pr_err("vCPU %u: KVM_EXIT_FAIL_ENTRY, hardware reason %#llx", v->id,
			       (unsigned long long)v->run->fail_entry.hardware_entry_failure_reason);
			machine_request_exit(m, VMM_EXIT_INTERNAL_ERROR);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			if (v->run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
				machine_request_exit(m, VMM_EXIT_POWEROFF);
			else if (v->run->system_event.type == KVM_SYSTEM_EVENT_RESET)
				machine_request_exit(m, VMM_EXIT_REBOOT);
			else
				machine_request_exit(m, VMM_EXIT_INTERNAL_ERROR);
			break;
		case KVM_EXIT_INTR:
			break;
		default:
			pr_err("vCPU %u: unexpected KVM exit reason %u", v->id, v->run->exit_reason);
			machine_request_exit(m, VMM_EXIT_INTERNAL_ERROR);
			break;
		}
		atomic_store_explicit(&v->in_vmm_exit, 0, memory_order_release);
		if (v->exits_io + v->exits_mmio - v->sregs_tried_exit >= VCPU_SREGS_EVERY)
			remember_sregs(v);
	}
	return NULL;
}

int vcpus_start(struct machine *m)
{
	struct sigaction sa;
	sigset_t block, old;
	int ret = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;  /* no SA_RESTART: KVM_RUN must see EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);

	/* vCPU threads take only the kick signal; SIGINT/SIGTERM/SIGALRM go
	 * to the main thread. */
	sigfillset(&block);
	sigdelset(&block, VCPU_KICK_SIGNAL);
	sigdelset(&block, SIGSEGV);
	sigdelset(&block, SIGBUS);
	sigdelset(&block, SIGFPE);
	sigdelset(&block, SIGILL);
	pthread_sigmask(SIG_SETMASK, &block, &old);
	for (unsigned int i = 0; i < m->ncpus; i++) {
		ret = -pthread_create(&m->vcpu[i].thread, NULL, vcpu_thread, &m->vcpu[i]);
		if (ret) {
			pr_err("cannot start vCPU thread %u: %s", i, strerror(-ret));
			machine_request_exit(m, VMM_EXIT_ERROR);
			break;
		}
		m->vcpu[i].started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_IO: return "port I/O";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_SHUTDOWN: return "a triple fault";
	case KVM_EXIT_SYSTEM_EVENT: return "a system event";
	case KVM_EXIT_INTR: return "a signal";
	default: return "an exit";
	}
}

/* A vCPU thread that does not come back from vmm's side of an exit: a
 * device model blocked with the vCPU in it.  Said once, then the wait
 * goes on (the thread holds device state; it cannot be abandoned). */
static void describe_stuck(struct vcpu *v)
{
	uint32_t exit = atomic_load_explicit(&v->in_vmm_exit, memory_order_acquire);

	if (!exit) {
		pr_err("vCPU %u does not stop: in KVM_RUN", v->id);
		return;
	}
	pr_err("vCPU %u does not stop: in vmm for 2 s or more, handling %s at %#llx", v->id,
	       exit_name(exit - 1), (unsigned long long)v->in_vmm_addr);
}

/* The guest's own page-table entries for va: a fault on a page they map
 * (present, permitted) repeats for ever -- see vmm/pagewalk.h. */
static void dump_page(struct machine *m, const char *why, unsigned int i,
		      const struct kvm_sregs *sregs, const char *name, uint64_t va)
{
	struct page_walk w;
	char line[256];

	/* Long mode only: CR0.PG and EFER.LMA; 5 levels with CR4.LA57. */
	if (!(sregs->cr0 & (1ull << 31)) || !(sregs->efer & (1ull << 10)))
		return;
	page_walk(&m->mem, sregs->cr3, sregs->cr4 & (1ull << 12), va, &w);
	page_walk_format(&w, line, sizeof(line));
	pr_info("%s: vCPU %u: %s %#llx in the guest's page tables: %s", why, i, name,
		(unsigned long long)va, line);
}

/* Were the IDT, the gates' code segment and the TSS stacks intact?  With
 * the vCPU's own registers, or -- a vCPU KVM has reset (AMD, after a
 * triple fault) -- with those of its last sregs_seen. */
static void dump_systables(struct machine *m, const char *why, const struct vcpu *v,
			   const struct kvm_sregs *now)
{
	const struct kvm_sregs *s = now;
	char line[400], as_of[64] = "";

	if (!(now->cr0 & X86_CR0_PG) || !(now->efer & EFER_LMA)) {
		if (!v->sregs_seen_exit)
			return;
		s = &v->sregs_seen;
		snprintf(as_of, sizeof(as_of), " (with its registers of exit %llu)",
			 (unsigned long long)v->sregs_seen_exit);
	}
	systables_check(&m->mem, s, line, sizeof(line));
	pr_info("%s: vCPU %u: system tables%s: %s", why, v->id, as_of, line);
}

void vcpus_dump_state(struct machine *m, const char *why)
{
	for (unsigned int i = 0; i < m->ncpus; i++) {
		struct vcpu *v = &m->vcpu[i];
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_vcpu_events ev;
		char exc[64];

		if (v->fd < 0)
			continue;
		if (ioctl(v->fd, KVM_GET_REGS, &regs) || ioctl(v->fd, KVM_GET_SREGS, &sregs)) {
			pr_info("%s: vCPU %u: registers not readable: %s", why, i, strerror(errno));
			continue;
		}
		if (ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev))
			memset(&ev, 0, sizeof(ev));
		if (ev.exception.injected || ev.exception.pending)
			snprintf(exc, sizeof(exc), ", exception %u pending (error code %#x)",
				 ev.exception.nr, ev.exception.has_error_code ? ev.exception.error_code : 0);
		else
			exc[0] = 0;
		pr_info("%s: vCPU %u: rip %#llx rsp %#llx rflags %#llx (interrupts %s) cr3 %#llx "
			"cr2 %#llx%s%s, %llu port and %llu MMIO exits", why, i,
			(unsigned long long)regs.rip, (unsigned long long)regs.rsp,
			(unsigned long long)regs.rflags, (regs.rflags & 0x200) ? "on" : "off",
			(unsigned long long)sregs.cr3, (unsigned long long)sregs.cr2, exc,
			ev.nmi.pending || ev.nmi.injected ? ", NMI pending" : "",
			(unsigned long long)v->exits_io, (unsigned long long)v->exits_mmio);
		dump_page(m, why, i, &sregs, "rip", regs.rip);
		if (sregs.cr2 != regs.rip)
			dump_page(m, why, i, &sregs, "cr2", sregs.cr2);
		dump_systables(m, why, v, &sregs);
	}
}

void vcpus_stop(struct machine *m)
{
	for (unsigned int i = 0; i < m->ncpus; i++)
		if (m->vcpu[i].started)
			pthread_kill(m->vcpu[i].thread, VCPU_KICK_SIGNAL);
	for (unsigned int i = 0; i < m->ncpus; i++) {
		if (!m->vcpu[i].started)
			continue;
		unsigned int tries = 0;

		/* A vCPU may be between the exit check and KVM_RUN when the
		 * first kick lands; immediate_exit catches that, but kick
		 * again until it is really gone. */
		for (;;) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 50 * 1000 * 1000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			if (pthread_timedjoin_np(m->vcpu[i].thread, NULL, &ts) == 0)
				break;
			pthread_kill(m->vcpu[i].thread, VCPU_KICK_SIGNAL);
			if (++tries == 40)   /* 2 s: say where it is stuck, once */
				describe_stuck(&m->vcpu[i]);
		}
		m->vcpu[i].started = false;
	}
}
