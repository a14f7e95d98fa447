/* SPDX-License-Identifier: MIT */
/* page_walk(): the stop diagnostics' read of the guest's 4-level page
 * tables, on tables built here in a small guest RAM. */
#include "vmm/guest_mem.h"
#include "vmm/pagewalk.h"
#include "tests/tap/basic.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#define P   0x1ull
#define W   0x2ull
#define U   0x4ull
#define PS  0x80ull
#define NX  (1ull << 63)

static struct guest_mem mem;

static void set(uint64_t table, unsigned int index, uint64_t e)
{
	if (guest_mem_write(&mem, table + index * 8, &e, sizeof(e)))
		bail("cannot write a table entry");
}

static unsigned int idx5(uint64_t va)
{
	return (unsigned int)((va >> 48) & 511);
}

static unsigned int idx(uint64_t va, unsigned int level)
{
	return (unsigned int)((va >> (39 - 9 * level)) & 511);
}

int main(void)
{
	const uint64_t cr3 = 0x10000, pdpt = 0x11000, pd = 0x12000, pt = 0x13000;
	const uint64_t text = 0xffffffffc0369000ull;   /* a kernel module's text page */
	const uint64_t big = 0xffff888000200000ull;    /* a 2 MiB page of the direct map */
	const uint64_t huge = 0xffff888040000000ull;   /* a 1 GiB page */
	struct page_walk w;
	char line[256];

	plan(27);
	if (guest_mem_init(&mem, 16ull << 20))
		bail("cannot make guest RAM");

	/* text: PML4E -> PDPTE -> PDE -> PTE, present, executable */
	set(cr3, idx(text, 0), pdpt | P | W);
	set(pdpt, idx(text, 1), pd | P | W);
	set(pd, idx(text, 2), pt | P | W);
	set(pt, idx(text, 3), 0x345000 | P);
	is_int(0, page_walk(&mem, cr3, false, text + 0x5b0, &w), "a mapped module text address walks");
	ok(w.present && w.levels == 4, "present, four entries read");
	ok(w.gpa == 0x3455b0, "its guest-physical address is the PTE's frame plus the offset");
	ok(!w.writable && w.executable && !w.user, "read-only, executable, supervisor (AND over levels)");
	page_walk_format(&w, line, sizeof(line));
	is_string("PML4E 0x11003 PDPTE 0x12003 PDE 0x13003 PTE 0x345001: present at GPA 0x3455b0, "
		  "read-only, executable, supervisor", line, "formatted: every entry and the verdict");

	/* the next page: its PTE not present */
	is_int(0, page_walk(&mem, cr3, false, text + 0x1000, &w), "an unmapped neighbour walks");
	ok(!w.present && w.levels == 4 && !strcmp(w.stop, "not present"), "not present at the PTE");
	page_walk_format(&w, line, sizeof(line));
	is_string("PML4E 0x11003 PDPTE 0x12003 PDE 0x13003 PTE 0: not present", line,
		  "formatted: where the walk stopped");

	/* NX at a middle level makes the page non-executable */
	set(pd, idx(text, 2), pt | P | W | NX);
	page_walk(&mem, cr3, false, text, &w);
	ok(w.present && !w.executable, "NX in the PDE: the page is not executable");
	set(pd, idx(text, 2), pt | P | W);

	/* a 2 MiB page: the walk ends at the PDE */
	set(cr3, idx(big, 0), 0x14000 | P | W);
	set(0x14000, idx(big, 1), 0x15000 | P | W);
	set(0x15000, idx(big, 2), 0x600000 | P | W | PS | NX);
	page_walk(&mem, cr3, false, big + 0x12345, &w);
	ok(w.present && w.levels == 3, "a 2 MiB page ends the walk at the PDE");
	ok(w.gpa == 0x612345, "its offset is 21 bits");
	ok(w.writable && !w.executable, "writable, NX");

	/* a 1 GiB page: the walk ends at the PDPTE */
	set(0x14000, idx(huge, 1), 0x40000000 | P | W | PS);
	page_walk(&mem, cr3, false, huge + 0x1234567, &w);
	ok(w.present && w.levels == 2 && w.gpa == 0x41234567, "a 1 GiB page ends the walk at the PDPTE");

	/* PS in a PML4E is reserved, not a page size: the walk goes on */
	set(cr3, 1, 0x16000 | P | PS);
	page_walk(&mem, cr3, false, 1ull << 39, &w);
	ok(!w.present && w.levels == 2, "PS in a PML4E does not end the walk");

	/* nothing at the top level */
	page_walk(&mem, cr3, false, 0x7f0000000000ull, &w);
	ok(!w.present && w.levels == 1 && !strcmp(w.stop, "not present"), "an empty PML4E: not present");

	/* a table outside guest RAM */
	set(cr3, 2, 0xfee00000 | P);
	is_int(0, page_walk(&mem, cr3, false, 2ull << 39, &w), "a table in the MMIO hole walks");
	ok(!w.present && !strcmp(w.stop, "table outside guest RAM"), "and stops: outside guest RAM");
	page_walk(&mem, 0x7ffff000, false, text, &w);
	ok(!w.present && w.levels == 0 && !strcmp(w.stop, "table outside guest RAM"),
	   "a CR3 outside guest RAM: nothing read");
	page_walk_format(&w, line, sizeof(line));
	is_string("table outside guest RAM", line, "formatted without entries");

	/* non-canonical */
	is_int(-EINVAL, page_walk(&mem, cr3, false, 0x0000800000000000ull, &w), "a non-canonical address: -EINVAL");
	ok(!w.present && !strcmp(w.stop, "not canonical"), "and says so");

	/* 5-level paging (LA57): a PML5E above the same PML4 */
	set(0x17000, idx5(text), cr3 | P | W);
	is_int(0, page_walk(&mem, 0x17000, true, text + 0x5b0, &w), "LA57: the module text address walks");
	ok(w.present && w.levels == 5 && w.gpa == 0x3455b0, "LA57: five entries, the same page");
	page_walk_format(&w, line, sizeof(line));
	is_string("PML5E 0x10003 PML4E 0x11003 PDPTE 0x12003 PDE 0x13003 PTE 0x345001: present at GPA "
		  "0x3455b0, read-only, executable, supervisor", line, "LA57: formatted with the PML5E");
	is_int(-EINVAL, page_walk(&mem, 0x17000, true, 0x0100000000000000ull, &w),
	       "LA57: an address beyond 57 bits is not canonical");
	is_int(0, page_walk(&mem, 0x17000, true, 0x0000800000000000ull, &w),
	       "LA57: an address beyond 48 bits is canonical");

	/* a buffer too small for the line: cut, terminated */
	page_walk(&mem, cr3, false, text, &w);
	page_walk_format(&w, line, 10);
	ok(strlen(line) < 10, "a short buffer gets a cut, terminated line");

	guest_mem_free(&mem);
	return 0;
}
