/* SPDX-License-Identifier: MIT */
#ifndef VMM_SYSTABLES_H
#define VMM_SYSTABLES_H

#include <stddef.h>
#include <linux/kvm.h>

#include "vmm/guest_mem.h"

/*
 * After a triple fault: are the structures the CPU needs to deliver an
 * exception still intact?  A triple fault is an exception whose delivery
 * faulted, and then the double fault's delivery faulted too: through the
 * IDT (a gate not present, a handler not mapped), the GDT (the gate's code
 * segment), or the TSS (the RSP0 and IST stacks the gates switch to).  A
 * device write to a wrong guest address that hit one of them would show
 * here; all of them intact points at the (emulated) CPU instead.  Stop
 * diagnostics only: reads guest RAM through the guest's own page tables
 * (vmm/pagewalk.c), never writes.
 *
 * s: the registers of a vCPU in 64-bit mode (IDTR, GDTR, TR, CR3, CR4).
 * Checked: every IDT gate (present ones: type, code segment, handler
 * mapped executable and supervisor; the NMI, #DF, #GP, #PF and #MC gates
 * must be present), the GDT descriptor of every gate's code segment
 * (present, 64-bit code, DPL 0), and the TSS's RSP0 and the IST stacks the
 * gates use (their top mapped writable).  Writes one line to buf: a
 * summary, or the first anomaly and how many there were.  Returns the
 * number of anomalies (0: all intact), or -1 if s is not 64-bit mode.
 */
int systables_check(const struct guest_mem *mem, const struct kvm_sregs *s, char *buf,
		    size_t size);

#endif
