/* SPDX-License-Identifier: MIT */
#include "vmm/systables.h"
#include "vmm/pagewalk.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CR0_PG    (1ull << 31)
#define CR4_LA57  (1ull << 12)
#define EFER_LMA  (1ull << 10)
#define CR3_TABLE 0x000ffffffffff000ull   /* bits 51:12; below: PCID or flags */

/* Intel SDM vol. 3, 6.14.1 (64-bit IDT gate) and 3.4.5 (segment descriptors). */
#define GATE_SIZE        16
#define GATE_INTERRUPT   0xe
#define GATE_TRAP        0xf
#define RESERVED_FIRST   22
#define RESERVED_LAST    31
#define TSS_SIZE         104       /* the 64-bit TSS, without I/O bitmap */
#define TSS_RSP0         4
#define TSS_IST1         36

/* Gates Linux always sets and every exception path may need. */
static const struct {
	unsigned int vector;
	const char *name;
} vital[] = {
	{ 2, "NMI" }, { 8, "#DF" }, { 13, "#GP" }, { 14, "#PF" }, { 18, "#MC" },
};

struct check {
	const struct guest_mem *mem;
	uint64_t cr3;
	bool la57;
	int anomalies;
	char first[200];
};

static void anomaly(struct check *c, const char *fmt, ...)
{
	va_list ap;

	if (c->anomalies++)
		return;
	va_start(ap, fmt);
	vsnprintf(c->first, sizeof(c->first), fmt, ap);
	va_end(ap);
}

/* Read [va, va + len) of guest-virtual memory, page by page: 0, or
 * -EFAULT with *bad the first address that is not mapped. */
static int read_virt(struct check *c, uint64_t va, void *buf, size_t len, uint64_t *bad)
{
	uint8_t *out = buf;

	while (len) {
		size_t n = 4096 - (va & 4095);
		struct page_walk w;

		if (n > len)
			n = len;
		if (page_walk(c->mem, c->cr3, c->la57, va, &w) || !w.present ||
		    guest_mem_read(c->mem, w.gpa, out, n)) {
			*bad = va;
			return -EFAULT;
		}
		va += n;
		out += n;
		len -= n;
	}
	return 0;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The code segment selector of a gate: a present 64-bit code segment of
 * DPL 0 in the GDT.  Checked once per selector (Linux uses one). */
static void check_code_segment(struct check *c, const struct kvm_sregs *s, unsigned int vector,
			       uint16_t sel, uint16_t *checked)
{
	uint64_t d, bad;
	uint8_t raw[8];

	if (*checked == sel)
		return;
	*checked = sel;
	if (sel & 4 || (sel | 7) > s->gdt.limit) {
		anomaly(c, "gate %u's code segment %#x is outside the GDT (limit %#x)", vector, sel,
			s->gdt.limit);
		return;
	}
	if (read_virt(c, s->gdt.base + (sel & ~7u), raw, sizeof(raw), &bad)) {
		anomaly(c, "GDT at %#llx: %#llx not mapped", (unsigned long long)s->gdt.base,
			(unsigned long long)bad);
		return;
	}
	d = get64(raw);
	/* P (47), S (44), code (43), L (53), DPL (45-46) = 0 */
	if (!(d >> 47 & 1) || !(d >> 44 & 1) || !(d >> 43 & 1) || !(d >> 53 & 1) || (d >> 45 & 3))
		anomaly(c, "gate %u's code segment %#x: descriptor %#llx is not a present 64-bit "
			"kernel code segment", vector, sel, (unsigned long long)d);
}

/* The top of a stack the CPU switches to: its last 8 bytes mapped
 * writable for the supervisor. */
static void check_stack(struct check *c, const char *name, uint64_t top)
{
	struct page_walk w;
	char line[160];

	if (page_walk(c->mem, c->cr3, c->la57, top - 8, &w) || !w.present || !w.writable) {
		page_walk_format(&w, line, sizeof(line));
		anomaly(c, "TSS %s stack top %#llx: %s", name, (unsigned long long)top,
			w.present ? "read-only" : line);
	}
}

int systables_check(const struct guest_mem *mem, const struct kvm_sregs *s, char *buf,
		    size_t size)
{
	struct check c = { .mem = mem, .cr3 = s->cr3, .la57 = s->cr4 & CR4_LA57 };
	uint8_t idt[256 * GATE_SIZE], tss[TSS_SIZE];
	unsigned int gates, present = 0, ist_used = 0;
	uint16_t checked_sel = 0xffff;
	char ists[32] = "";
	uint64_t bad;

	if (!(s->cr0 & CR0_PG) || !(s->efer & EFER_LMA))
		return -1;
	/* No guest can build page tables outside its RAM: a CR3 there is a
	 * CPU state gone wrong, and every check below would just fail. */
	if (!guest_mem_is_ram(mem, s->cr3 & CR3_TABLE, 4096)) {
		snprintf(buf, size, "1 anomaly, the first: CR3 %#llx: its top page table is not "
			 "guest RAM", (unsigned long long)s->cr3);
		return 1;
	}
	gates = ((unsigned int)s->idt.limit + 1) / GATE_SIZE;
	if (gates > 256)
		gates = 256;
	if (gates < 32)
		anomaly(&c, "IDT limit %#x: fewer than the 32 exception gates", s->idt.limit);
	if (read_virt(&c, s->idt.base, idt, gates * GATE_SIZE, &bad)) {
		anomaly(&c, "IDT at %#llx: %#llx not mapped", (unsigned long long)s->idt.base,
			(unsigned long long)bad);
		gates = 0;
	}
	for (unsigned int v = 0; v < gates; v++) {
		const uint8_t *g = idt + v * GATE_SIZE;
		uint64_t handler = (uint64_t)(g[0] | g[1] << 8) | (uint64_t)(g[6] | g[7] << 8) << 16 |
				   (uint64_t)(g[8] | g[9] << 8 | g[10] << 16 | (uint32_t)g[11] << 24) << 32;
		uint16_t sel = (uint16_t)(g[2] | g[3] << 8);
		unsigned int type = g[5] & 0xf, ist = g[4] & 7;
		struct page_walk w;
		char line[160];

		if (!(g[5] & 0x80))
			continue;   /* reserved vectors may have no gate; vital ones below */
		present++;
		/* Vectors 22-31 are reserved (or for features -- SEV's #HV and
		 * #VC, #SX -- a guest like ours never sees): Linux leaves its
		 * early boot handlers there, in the init text it has freed
		 * and made NX by then.  Nothing delivers through them. */
		if (v >= RESERVED_FIRST && v <= RESERVED_LAST)
			continue;
		if (type != GATE_INTERRUPT && type != GATE_TRAP) {
			anomaly(&c, "gate %u: type %#x is neither an interrupt nor a trap gate", v, type);
			continue;
		}
		check_code_segment(&c, s, v, sel, &checked_sel);
		if (page_walk(mem, c.cr3, c.la57, handler, &w) || !w.present || !w.executable ||
		    w.user) {
			page_walk_format(&w, line, sizeof(line));
			anomaly(&c, "gate %u: handler %#llx: %s", v, (unsigned long long)handler, line);
		}
		if (ist)
			ist_used |= 1u << ist;
	}
	for (unsigned int i = 0; gates && i < sizeof(vital) / sizeof(vital[0]); i++)
		if (vital[i].vector >= gates || !(idt[vital[i].vector * GATE_SIZE + 5] & 0x80))
			anomaly(&c, "the %s gate (%u) is not present", vital[i].name, vital[i].vector);

	if (s->tr.limit < TSS_SIZE - 1) {
		anomaly(&c, "TSS limit %#x: too small for a 64-bit TSS", s->tr.limit);
	} else if (read_virt(&c, s->tr.base, tss, sizeof(tss), &bad)) {
		anomaly(&c, "TSS at %#llx: %#llx not mapped", (unsigned long long)s->tr.base,
			(unsigned long long)bad);
	} else {
		check_stack(&c, "RSP0", get64(tss + TSS_RSP0));
		for (unsigned int i = 1; i <= 7; i++) {
			char name[8];
			size_t n = strlen(ists);

			if (!(ist_used & 1u << i))
				continue;
			snprintf(name, sizeof(name), "IST%u", i);
			check_stack(&c, name, get64(tss + TSS_IST1 + 8 * (i - 1)));
			snprintf(ists + n, sizeof(ists) - n, "%s%u", n ? "," : "", i);
		}
	}

	if (c.anomalies)
		snprintf(buf, size, "%d anomal%s, the first: %s", c.anomalies,
			 c.anomalies == 1 ? "y" : "ies", c.first);
	else
		snprintf(buf, size, "intact: IDT %#llx, %u gates present, handlers mapped executable, "
			 "code segment %#x a 64-bit kernel one; TSS %#llx, RSP0 and IST %s stacks mapped "
			 "writable", (unsigned long long)s->idt.base, present, checked_sel,
			 (unsigned long long)s->tr.base, ists[0] ? ists : "(none)");
	return c.anomalies;
}
