/* SPDX-License-Identifier: MIT */
/* Per-vCPU CPUID filtering. */
#include "vmm/cpuid.h"
#include "tests/tap/basic.h"

#include <stdlib.h>

static struct kvm_cpuid2 *sample(void)
{
	struct kvm_cpuid2 *c = cpuid_alloc(7);

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
	return c;
}

int main(void)
{
	struct kvm_cpuid2 *c = sample();
	struct kvm_cpuid_entry2 *e;

	plan(13);
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

	free(c);
	c = sample();
	cpuid_filter(c, 0, 1, false);
	e = cpuid_find(c, 1, 0);
	ok(!(e->edx & CPUID_1_EDX_HTT) && !(e->ecx & CPUID_1_ECX_TSC_DEADLINE),
	   "one CPU: no HTT; no TSC deadline unless KVM has it");
	free(c);
	return 0;
}
