/* SPDX-License-Identifier: MIT */
#ifndef VMM_CPUID_H
#define VMM_CPUID_H

#include <stdbool.h>
#include <linux/kvm.h>

/*
 * The CPUID a vCPU sees: KVM_GET_SUPPORTED_CPUID, then filtered per vCPU:
 * APIC IDs and topology for `ncpus` single-thread cores, the hypervisor bit,
 * TSC-deadline timer when KVM emulates it, no vPMU (leaf 0xA zeroed), no
 * thermal/power leaf but ARAT (leaf 6), the
 * KVM paravirtual features of a non-nested guest (leaf 0x40000001).
 * Leaves not named in cpuid.c (0x80000021 among them) stay exactly as
 * KVM_GET_SUPPORTED_CPUID reports them: KVM already filters those to what
 * it can give a guest.
 * Works on a copy; needs only the header, not a KVM fd (unit-testable).
 */
struct kvm_cpuid2 *cpuid_alloc(unsigned int nent);
struct kvm_cpuid2 *cpuid_dup(const struct kvm_cpuid2 *c);
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned int fn, unsigned int idx);
void cpuid_filter(struct kvm_cpuid2 *c, unsigned int apic_id, unsigned int ncpus,
		  bool tsc_deadline);

#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR   (1u << 31)
#define CPUID_1_EDX_HTT          (1u << 28)
#define CPUID_6_EAX_ARAT         (1u << 2)   /* APIC timer always running */
#define CPUID_80000001_ECX_CMP_LEGACY (1u << 1)

#endif
