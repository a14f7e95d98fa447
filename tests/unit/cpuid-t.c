/* SPDX-License-Identifier: MIT */
/* Per-vCPU CPUID filtering. */
#include "vmm/cpuid.h"
#include "tests/tap/basic.h"

#include <asm/kvm_para.h>
#include <stdlib.h>

/* Leaf 0x40000001 EAX as KVM 6.12 reports it (KVM_GET_SUPPORTED_CPUID),
 * plus two bits a newer KVM could add that vmm has not vetted. */
#define KVM_612_PV_FEATURES 0x01007efbu
#define UNVETTED_PV_FEATURES ((1u << KVM_FEATURE_HC_MAP_GPA_RANGE) | (1u << 20))
/* What QEMU 7.2 -cpu host gives a non-nested guest: all of it but
 * ASYNC_PF_VMEXIT. */
#define EXPECTED_PV_FEATURES (KVM_612_PV_FEATURES & ~(1u << KVM_FEATURE_ASYNC_PF_VMEXIT))

static struct kvm_cpuid2 *sample(void)
{
	struct kvm_cpuid2 *c = cpuid_alloc(9);

	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .ebx = 0xffffffff, .edx = 0 };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 0xa, .eax = 0x07300402 };
	c->entries[2] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 0,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	c->entries[3] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	c->entries[4] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .ecx = 0x7007 };
	c->entries[5] = (struct kvm_cpuid_entry2){ .function = 0x40000000, .ebx = 0x4b4d564b };
	/* Leaf 6 as KVM reports it: ARAT only; stray bits to be dropped. */
	c->entries[6] = (struct kvm_cpuid_entry2){ .function = 6, .eax = 0x4 | 0x1,
		.ecx = 0x1 };
	c->entries[7] = (struct kvm_cpuid_entry2){ .function = KVM_CPUID_FEATURES,
		.eax = KVM_612_PV_FEATURES | UNVETTED_PV_FEATURES };
	c->entries[8] = (struct kvm_cpuid_entry2){ .function = 0x80000021, .eax = 0x0004e44d,
		.ebx = 0x12, .ecx = 0x34 };
	return c;
}

int main(void)
{
	struct kvm_cpuid2 *c = sample();
	struct kvm_cpuid_entry2 *e;

	plan(16);
	cpuid_filter(c, 3, 4, true);
	e = cpuid_find(c, 1, 0);
	is_hex(3, e->ebx >> 24, "leaf 1: initial APIC ID");
	is_hex(4, (e->ebx >> 16) & 0xff, "leaf 1: logical processor count");
	ok(e->ecx & CPUID_1_ECX_HYPERVISOR, "leaf 1: hypervisor bit");
	ok(e->ecx & CPUID_1_ECX_TSC_DEADLINE, "leaf 1: TSC deadline when KVM emulates it");
	ok(e->edx & CPUID_1_EDX_HTT, "leaf 1: HTT with several CPUs");
	is_hex(0, cpuid_find(c, 0xa, 0)->eax, "leaf 0xa: no vPMU");
	e = cpuid_find(c, 0xb, 1);
	ok(e->ebx == 4 && e->eax == 2 && e->edx == 3, "leaf 0xb core level: 4 cores, shift 2, x2APIC ID 3");
	e = cpuid_find(c, 0xb, 0);
	ok(e->ebx == 1 && e->edx == 3, "leaf 0xb SMT level: one thread");
	is_hex(0x2003, cpuid_find(c, 0x80000008, 0)->ecx & 0xf0ff, "AMD NC = 3, core ID size 2");
	is_hex(0x4b4d564b, cpuid_find(c, 0x40000000, 0)->ebx, "KVM signature leaf kept");
	ok(cpuid_find(c, 0x12345, 0) == NULL, "absent leaf not found");
	e = cpuid_find(c, 6, 0);
	ok(e->eax == CPUID_6_EAX_ARAT && !e->ebx && !e->ecx && !e->edx,
	   "leaf 6: ARAT (the emulated LAPIC timer never stops), nothing else");
	is_hex(EXPECTED_PV_FEATURES, cpuid_find(c, KVM_CPUID_FEATURES, 0)->eax,
	       "KVM PV features: no ASYNC_PF_VMEXIT, nothing unvetted");
	e = cpuid_find(c, 0x80000021, 0);
	ok(e->eax == 0x0004e44d && e->ebx == 0x12 && e->ecx == 0x34,
	   "leaf 0x80000021: exactly what KVM_GET_SUPPORTED_CPUID reports");

	free(c);
	c = sample();
	cpuid_filter(c, 0, 1, false);
	e = cpuid_find(c, 1, 0);
	ok(!(e->edx & CPUID_1_EDX_HTT) && !(e->ecx & CPUID_1_ECX_TSC_DEADLINE),
	   "one CPU: no HTT; no TSC deadline unless KVM has it");
	e = cpuid_find(c, KVM_CPUID_FEATURES, 0);
	e->eax = 1u << KVM_FEATURE_CLOCKSOURCE2;
	cpuid_filter(c, 0, 1, false);
	is_hex(1u << KVM_FEATURE_CLOCKSOURCE2, e->eax, "KVM PV features: none KVM lacks");
	free(c);
	return 0;
}
