/* SPDX-License-Identifier: MIT */
#include "vmm/pagewalk.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define PTE_P    (1ull << 0)
#define PTE_W    (1ull << 1)
#define PTE_U    (1ull << 2)
#define PTE_PS   (1ull << 7)
#define PTE_NX   (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull   /* bits 51:12 */

int page_walk(const struct guest_mem *mem, uint64_t cr3, bool la57, uint64_t va,
	      struct page_walk *w)
{
	unsigned int depth = la57 ? 5 : 4, bits = la57 ? 57 : 48;
	uint64_t table = cr3 & PTE_ADDR;

	memset(w, 0, sizeof(*w));
	w->depth = depth;
	/* Canonical: the bits above the top one translated copy it. */
	if ((uint64_t)((int64_t)(va << (64 - bits)) >> (64 - bits)) != va) {
		w->stop = "not canonical";
		return -EINVAL;
	}
	w->writable = w->user = w->executable = true;
	for (unsigned int level = 0; level < depth; level++) {
		/* levels from the leaf: 0 = PTE (4 KiB), 1 = PDE, 2 = PDPTE, ... */
		unsigned int from_leaf = depth - 1 - level, shift = 12 + 9 * from_leaf;
		uint64_t e;

		if (guest_mem_read(mem, table + ((va >> shift) & 511) * 8, &e, sizeof(e))) {
			w->stop = "table outside guest RAM";
			return 0;
		}
		w->entry[w->levels++] = e;
		if (!(e & PTE_P)) {
			w->stop = "not present";
			return 0;
		}
		/* Permissions are the AND over the levels. */
		w->writable &= !!(e & PTE_W);
		w->user &= !!(e & PTE_U);
		w->executable &= !(e & PTE_NX);
		/* A 1 GiB (PDPTE) or 2 MiB (PDE) page ends the walk. */
		if (from_leaf == 0 || ((from_leaf == 1 || from_leaf == 2) && (e & PTE_PS))) {
			uint64_t page_mask = (1ull << shift) - 1;

			w->present = true;
			w->gpa = ((e & PTE_ADDR) & ~page_mask) | (va & page_mask);
			return 0;
		}
		table = e & PTE_ADDR;
	}
	return 0;   /* not reached */
}

void page_walk_format(const struct page_walk *w, char *buf, unsigned int size)
{
	static const char *const names[5] = { "PML5E", "PML4E", "PDPTE", "PDE", "PTE" };
	unsigned int first = w->depth == 5 ? 0 : 1;
	int n = 0;

	buf[0] = 0;
	for (unsigned int i = 0; i < w->levels && n >= 0 && (unsigned int)n < size; i++)
		n += snprintf(buf + n, size - n, "%s%s %#llx", i ? " " : "", names[first + i],
			      (unsigned long long)w->entry[i]);
	if (n < 0 || (unsigned int)n >= size)
		return;
	if (w->present)
		snprintf(buf + n, size - n, "%spresent at GPA %#llx, %s, %s, %s", n ? ": " : "",
			 (unsigned long long)w->gpa, w->writable ? "writable" : "read-only",
			 w->executable ? "executable" : "NX", w->user ? "user" : "supervisor");
	else
		snprintf(buf + n, size - n, "%s%s", n ? ": " : "", w->stop ? w->stop : "?");
}
