/* SPDX-License-Identifier: MIT */
/* systables_check(): the triple-fault diagnostics' check of the guest's
 * IDT, GDT code segment and TSS stacks, on tables built here in a small
 * guest RAM the way Linux lays them out (4-level and 5-level paging). */
#include "vmm/guest_mem.h"
#include "vmm/systables.h"
#include "tests/tap/basic.h"

#include <stdint.h>
#include <string.h>

#define P   0x1ull
#define W   0x2ull
#define NX  (1ull << 63)

#define IDT_VA   0xfffffe0000000000ull    /* the CPU entry area's read-only IDT */
#define GDT_VA   0xfffffe0000001000ull
#define TSS_VA   0xfffffe0000003000ull
#define TEXT_VA  0xffffffff81000000ull
#define STACK_VA 0xfffffe0000010000ull    /* RSP0 and IST stacks, a page each */
#define KERNEL_CS 0x10

static struct guest_mem mem;
static uint64_t next_table;
static uint64_t cr3;
static bool la57;

static uint64_t get(uint64_t gpa)
{
	uint64_t e;

	if (guest_mem_read(&mem, gpa, &e, sizeof(e)))
		bail("cannot read guest RAM");
	return e;
}

static void put(uint64_t gpa, uint64_t e)
{
	if (guest_mem_write(&mem, gpa, &e, sizeof(e)))
		bail("cannot write guest RAM");
}

/* Map the 4 KiB page va -> gpa with the leaf flags, making tables as needed. */
static void map(uint64_t va, uint64_t gpa, uint64_t flags)
{
	uint64_t table = cr3;

	for (int shift = la57 ? 48 : 39; shift > 12; shift -= 9) {
		uint64_t slot = table + ((va >> shift) & 511) * 8, e = get(slot);

		if (!(e & P)) {
			e = next_table | P | W;
			next_table += 0x1000;
			put(slot, e);
		}
		table = e & 0x000ffffffffff000ull;
	}
	put(table + ((va >> 12) & 511) * 8, gpa | flags);
}

static void unmap(uint64_t va)
{
	uint64_t table = cr3;

	for (int shift = la57 ? 48 : 39; shift > 12; shift -= 9)
		table = get(table + ((va >> shift) & 511) * 8) & 0x000ffffffffff000ull;
	put(table + ((va >> 12) & 511) * 8, 0);
}

/* Guest-physical homes of the virtual pages above. */
#define IDT_PA   0x200000ull
#define GDT_PA   0x201000ull
#define TSS_PA   0x203000ull
#define TEXT_PA  0x400000ull
#define STACK_PA 0x300000ull
#define INIT_VA  0xffffffff83000000ull    /* the kernel's init text, freed after boot */
#define INIT_PA  0x500000ull

static void set_gate(unsigned int v, uint64_t handler, unsigned int ist, bool present)
{
	uint8_t g[16] = { 0 };

	g[0] = handler & 0xff;
	g[1] = handler >> 8 & 0xff;
	g[2] = KERNEL_CS;
	g[4] = (uint8_t)ist;
	g[5] = (uint8_t)((present ? 0x80 : 0) | 0xe);
	g[6] = handler >> 16 & 0xff;
	g[7] = handler >> 24 & 0xff;
	for (int i = 0; i < 4; i++)
		g[8 + i] = handler >> (32 + 8 * i) & 0xff;
	if (guest_mem_write(&mem, IDT_PA + 16 * v, g, sizeof(g)))
		bail("cannot write a gate");
}

/* Linux's layout: all 256 gates but a reserved one, NMI on IST 2, #DF on
 * IST 1, #MC on IST 3; kernel CS 0x10; RSP0 and the IST stacks a page each;
 * the reserved vectors 22-31 still on the early boot handlers, in init
 * text freed (writable, NX) once the kernel is up -- as the test host's
 * guests showed. */
static void build(bool five_levels)
{
	la57 = five_levels;
	memset(mem.region[0].hva, 0, mem.region[0].size);
	cr3 = 0x10000;
	next_table = 0x11000;
	map(IDT_VA, IDT_PA, P | NX);
	map(GDT_VA, GDT_PA, P | W | NX);
	map(TSS_VA, TSS_PA, P | NX);
	map(TEXT_VA, TEXT_PA, P);
	for (unsigned int i = 0; i < 4; i++)
		map(STACK_VA + 0x1000 * i, STACK_PA + 0x1000 * i, P | W | NX);
	map(INIT_VA, INIT_PA, P | W | NX);   /* freed init text */
	for (unsigned int v = 0; v < 256; v++)
		set_gate(v, v >= 22 && v <= 31 ? INIT_VA + 16 * v : TEXT_VA + 16 * v,
			 v == 2 ? 2 : v == 8 ? 1 : v == 18 ? 3 : 0, v != 15);
	put(GDT_PA + KERNEL_CS, 0x00af9b000000ffffull);   /* 64-bit code, DPL 0 */
	put(TSS_PA + 4, STACK_VA + 0x1000);                /* RSP0 */
	for (unsigned int i = 1; i <= 3; i++)
		put(TSS_PA + 36 + 8 * (i - 1), STACK_VA + 0x1000 * (i + 1));
}

static struct kvm_sregs regs(void)
{
	struct kvm_sregs s;

	memset(&s, 0, sizeof(s));
	s.cr0 = 0x80050033;
	s.cr3 = cr3 | 0x5;   /* a PCID in the low bits */
	s.cr4 = la57 ? 0x1000 : 0;
	s.efer = 0xd01;
	s.idt.base = IDT_VA;
	s.idt.limit = 256 * 16 - 1;
	s.gdt.base = GDT_VA;
	s.gdt.limit = 16 * 8 - 1;
	s.tr.base = TSS_VA;
	s.tr.limit = 0x206f;
	return s;
}

int main(void)
{
	struct kvm_sregs s;
	char line[400];

	plan(22);
	if (guest_mem_init(&mem, 16ull << 20))
		bail("cannot make guest RAM");

	for (int levels = 4; levels <= 5; levels++) {
		build(levels == 5);
		s = regs();
		is_int(0, systables_check(&mem, &s, line, sizeof(line)),
		       "%d-level paging: Linux's tables as they should be: no anomaly", levels);
		ok(strstr(line, "intact: IDT 0xfffffe0000000000, 255 gates present") &&
		   strstr(line, "code segment 0x10") && strstr(line, "RSP0 and IST 1,2,3 stacks"),
		   "%d-level: the summary says what was checked (%s)", levels, line);
	}

	build(false);
	s = regs();
	s.efer = 0;
	is_int(-1, systables_check(&mem, &s, line, sizeof(line)),
	       "registers not in 64-bit mode (a vCPU KVM reset): nothing checked");

	/* What a stray device write could do to each of them. */
	set_gate(14, TEXT_VA, 0, false);
	s = regs();
	is_int(1, systables_check(&mem, &s, line, sizeof(line)), "the #PF gate cleared: one anomaly");
	is_string("1 anomaly, the first: the #PF gate (14) is not present", line, "named");

	build(false);
	set_gate(0x22, 0x4141414141414141ull, 0, true);
	s = regs();
	is_int(1, systables_check(&mem, &s, line, sizeof(line)), "a gate overwritten with data");
	ok(!strncmp(line, "1 anomaly, the first: gate 34: handler 0x4141414141414141: not canonical",
		    strlen("1 anomaly, the first: gate 34: handler 0x4141414141414141: not canonical")),
	   "named, with where the handler's walk stopped (%s)", line);

	build(false);
	{
		uint8_t type = 0x81;   /* present, type 1 (a 16-bit TSS) */

		if (guest_mem_write(&mem, IDT_PA + 16 * 3 + 5, &type, 1))
			bail("cannot write a gate");
	}
	s = regs();
	is_int(1, systables_check(&mem, &s, line, sizeof(line)), "a gate of the wrong type");
	ok(strstr(line, "gate 3: type 0x1 is neither") != NULL, "named (%s)", line);

	build(false);
	map(TEXT_VA, TEXT_PA, P | NX);
	s = regs();
	ok(systables_check(&mem, &s, line, sizeof(line)) == 256 - 1 - 10,
	   "handlers' page made non-executable: every present gate but the reserved ones counts (%s)",
	   line);

	build(false);
	put(GDT_PA + KERNEL_CS, 0x00cf93000000ffffull);   /* a data segment */
	s = regs();
	is_int(1, systables_check(&mem, &s, line, sizeof(line)),
	       "the kernel code segment overwritten: one anomaly (checked once)");
	ok(strstr(line, "gate 0's code segment 0x10: descriptor 0xcf93000000ffff") != NULL,
	   "named (%s)", line);

	build(false);
	s = regs();
	s.gdt.limit = 7;
	is_int(1, systables_check(&mem, &s, line, sizeof(line)), "a GDT too short for the selector");

	build(false);
	unmap(STACK_VA + 0x1000);   /* the #DF stack (IST 1) */
	s = regs();
	is_int(1, systables_check(&mem, &s, line, sizeof(line)), "the #DF IST stack unmapped");
	ok(strstr(line, "TSS IST1 stack top 0xfffffe0000012000: ") != NULL, "named (%s)", line);

	build(false);
	map(STACK_VA, STACK_PA, P | NX);   /* RSP0's stack read-only */
	s = regs();
	is_int(1, systables_check(&mem, &s, line, sizeof(line)), "the RSP0 stack read-only");
	ok(strstr(line, "TSS RSP0 stack top 0xfffffe0000011000: read-only") != NULL, "named (%s)", line);

	build(false);
	unmap(IDT_VA);
	s = regs();
	ok(systables_check(&mem, &s, line, sizeof(line)) >= 1 &&
	   strstr(line, "IDT at 0xfffffe0000000000: 0xfffffe0000000000 not mapped") != NULL,
	   "the IDT's page unmapped (%s)", line);

	/* The hang of issue 9's diagnosis run: a 512 MiB guest whose CR3 held
	 * 0x1070b6000, an address of the test host's own RAM. */
	build(false);
	s = regs();
	s.cr3 = 0x1070b6000ull;
	is_int(1, systables_check(&mem, &s, line, sizeof(line)), "CR3 outside guest RAM: one anomaly");
	is_string("1 anomaly, the first: CR3 0x1070b6000: its top page table is not guest RAM", line,
		  "named as such, not as an unmapped IDT");

	guest_mem_free(&mem);
	return 0;
}
