/* SPDX-License-Identifier: MIT */
#include "vmm/cpuid.h"

#include <stdlib.h>
#include <string.h>
#include <asm/kvm_para.h>

/*
 * The KVM paravirtual features (leaf 0x40000001 EAX) vmm lets the guest
 * see, when KVM offers them: what QEMU 7.2 gives a non-nested guest with
 * -cpu host and an in-kernel irqchip.  Left out:
 *  - ASYNC_PF_VMEXIT: lets a guest that is itself a hypervisor take async
 *    page faults of its own guests as #PF vmexits; our guest runs no
 *    guests (QEMU exposes it only from 8.2, as an opt-in name);
 *  - MSI_EXT_DEST_ID: for a userspace IOAPIC (split irqchip) only;
 *  - HC_MAP_GPA_RANGE, MIGRATION_CONTROL: hypercalls vmm would have to
 *    handle (KVM_EXIT_HYPERCALL), for encrypted guests and migration;
 *  - any bit a later KVM adds, until vmm has looked at it.
 */
#define CPUID_KVM_FEATURES_ALLOWED \
	((1u << KVM_FEATURE_CLOCKSOURCE) | (1u << KVM_FEATURE_NOP_IO_DELAY) | \
	 (1u << KVM_FEATURE_CLOCKSOURCE2) | (1u << KVM_FEATURE_ASYNC_PF) | \
	 (1u << KVM_FEATURE_STEAL_TIME) | (1u << KVM_FEATURE_PV_EOI) | \
	 (1u << KVM_FEATURE_PV_UNHALT) | (1u << KVM_FEATURE_PV_TLB_FLUSH) | \
	 (1u << KVM_FEATURE_PV_SEND_IPI) | (1u << KVM_FEATURE_POLL_CONTROL) | \
	 (1u << KVM_FEATURE_PV_SCHED_YIELD) | (1u << KVM_FEATURE_ASYNC_PF_INT) | \
	 (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT))

struct kvm_cpuid2 *cpuid_alloc(unsigned int nent)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

	if (c)
		c->nent = nent;
	return c;
}

struct kvm_cpuid2 *cpuid_dup(const struct kvm_cpuid2 *c)
{
	size_t sz = sizeof(*c) + c->nent * sizeof(c->entries[0]);
	struct kvm_cpuid2 *d = malloc(sz);

	if (d)
		memcpy(d, c, sz);
	return d;
}

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned int fn, unsigned int idx)
{
	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != fn)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != idx)
			continue;
		return e;
	}
	return NULL;
}

static unsigned int order_base_2(unsigned int n)
{
	unsigned int shift = 0;

	while ((1u << shift) < n)
		shift++;
	return shift;
}

void cpuid_filter(struct kvm_cpuid2 *c, unsigned int apic_id, unsigned int ncpus,
		  bool tsc_deadline)
{
	unsigned int core_shift = order_base_2(ncpus);

	for (unsigned int i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		switch (e->function) {
		case 0x1:
			/* EBX: initial APIC ID, logical processors per package,
			 * CLFLUSH line size (8 * 8 = 64 bytes). */
			e->ebx = (apic_id << 24) | (ncpus << 16) | (8u << 8);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (tsc_deadline)
				e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
			if (ncpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			else
				e->edx &= ~CPUID_1_EDX_HTT;
			break;
		case 0x4:
			/* Deterministic cache parameters: cores per package in
			 * EAX[31:26], threads sharing the cache in EAX[25:14]. */
			e->eax &= 0x3fff;
			if (e->eax & 0x1f)
				e->eax |= ((ncpus - 1) << 26) |
					  (((e->eax >> 5 & 7) >= 3 ? ncpus - 1 : 0) << 14);
			break;
		case 0x6:
			/* No thermal/power management for a virtual CPU, but
			 * ARAT: KVM emulates the LAPIC timer, which keeps
			 * running in every C-state.  Without it Linux marks
			 * the LAPIC timer C3STOP and wants a broadcast timer
			 * for deep idle (KVM reports ARAT here; QEMU keeps it). */
			e->eax = CPUID_6_EAX_ARAT;
			e->ebx = e->ecx = e->edx = 0;
			break;
		case KVM_CPUID_FEATURES:
			e->eax &= CPUID_KVM_FEATURES_ALLOWED;
			break;
		case 0xa:
			/* No virtual PMU: fewer MSR exits, no perf NMIs. */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			/* Extended topology: level 0 = SMT (1 thread per core),
			 * level 1 = core (ncpus cores), then invalid. */
			e->edx = apic_id;
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				e->eax = core_shift;
				e->ebx = ncpus;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index & 0xff;
			}
			break;
		case 0x80000001:
			if (ncpus > 1)
				e->ecx |= CPUID_80000001_ECX_CMP_LEGACY;
			break;
		case 0x80000008:
			/* AMD: NC = cores - 1, ApicIdCoreIdSize. */
			e->ecx = (e->ecx & ~0xf0ffu) | (ncpus - 1) | (core_shift << 12);
			break;
		case 0x8000001e:
			/* AMD extended APIC ID / compute unit / node. */
			e->eax = apic_id;
			e->ebx = apic_id & 0xff;
			e->ecx = 0;
			break;
		}
	}
}
