/* SPDX-License-Identifier: MIT */
#ifndef VMM_PAGEWALK_H
#define VMM_PAGEWALK_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

/*
 * A read-only walk of the guest's own page tables (x86-64 long mode: 4
 * levels, or 5 with CR4.LA57 -- Linux turns 5-level paging on where the CPU
 * has it, as the test host's does), for the stop diagnostics only: when a vCPU sits on a
 * page fault (CR2) that never resolves, the entries say whether the guest
 * mapped the page -- a fault on a present, permitted page is one the
 * guest's handler takes for spurious and returns from, so it repeats for
 * ever: a TLB the (nested, emulated) hardware did not refresh, not a guest
 * or vmm bug.  Never used on the DMA path; reads guest RAM only.
 */
struct page_walk {
	unsigned int depth;     /* 4, or 5 with LA57 */
	unsigned int levels;    /* entries read (0..depth) */
	uint64_t entry[5];      /* [PML5E,] PML4E, PDPTE, PDE, PTE: as far as the walk went */
	bool present;           /* the address is mapped */
	bool writable, user, executable;
	uint64_t gpa;           /* with present: the guest-physical address */
	const char *stop;       /* without present: why the walk stopped */
};

/* Walk va under cr3 (la57: CR4.LA57).  0, or -EINVAL for a non-canonical
 * address. */
int page_walk(const struct guest_mem *mem, uint64_t cr3, bool la57, uint64_t va,
	      struct page_walk *w);

/* One line: "[PML5E 0x...] PML4E 0x... PDPTE 0x... PDE 0x... PTE 0x...:
 * present at GPA ..., writable|read-only, executable|NX, user|supervisor" */
void page_walk_format(const struct page_walk *w, char *buf, unsigned int size);

#endif
