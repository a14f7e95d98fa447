/* SPDX-License-Identifier: MIT */
/* bzImage parsing, placement and the boot_params/e820/page-table layout the
 * kernel is handed, checked on synthetic images (no KVM). */
#include "vmm/boot.h"
#include "vmm/layout.h"
#include "tests/tap/basic.h"

#include <stdlib.h>
#include <string.h>

#define IMG_LEN (256 * 1024)
#define MiB (1ull << 20)

static uint8_t *make_image(void)
{
	uint8_t *img = calloc(1, IMG_LEN);
	struct setup_header *h = (struct setup_header *)(img + 0x1f1);

	h->setup_sects = 4;
	h->boot_flag = 0xaa55;
	h->header = 0x53726448;
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->xloadflags = XLF_KERNEL_64;
	h->init_size = 32 * MiB;
	h->pref_address = 16 * MiB;
	h->kernel_alignment = 2 * MiB;
	h->relocatable_kernel = 1;
	h->initrd_addr_max = 0x7fffffff;
	h->cmdline_size = 2047;
	img[0x201] = 0x66;  /* header ends at 0x268 */
	/* a recognisable protected-mode payload */
	memset(img + 5 * 512, 0x90, IMG_LEN - 5 * 512);
	return img;
}

static void bad_image(const char *what, void (*mutate)(uint8_t *), size_t len, const char *expect)
{
	uint8_t *img = make_image();
	struct bzimage bz;
	char err[200] = "";

	if (mutate)
		mutate(img);
	is_int(-22, bzimage_parse(img, len, &bz, err, sizeof(err)), "refuses %s", what);
	ok(strstr(err, expect) != NULL, "error for %s says '%s' (%s)", what, expect, err);
	free(img);
}

static void m_magic(uint8_t *i) { i[0x202] = 'X'; }
static void m_flag(uint8_t *i) { i[0x1fe] = 0; }
static void m_old(uint8_t *i) { ((struct setup_header *)(i + 0x1f1))->version = 0x0206; }
static void m_32(uint8_t *i) { ((struct setup_header *)(i + 0x1f1))->xloadflags = 0; }
static void m_elf(uint8_t *i) { memcpy(i, "\177ELF", 4); }
static void m_low(uint8_t *i) { ((struct setup_header *)(i + 0x1f1))->loadflags = 0; }
static void m_align(uint8_t *i) { ((struct setup_header *)(i + 0x1f1))->kernel_alignment = 3; }
static void m_setup(uint8_t *i) { ((struct setup_header *)(i + 0x1f1))->setup_sects = 255; }
static void m_init(uint8_t *i) { ((struct setup_header *)(i + 0x1f1))->init_size = 4096; }

int main(void)
{
	struct guest_mem mem, big;
	struct bzimage bz;
	struct boot_plan bplan;
	struct boot_params *bp;
	struct boot_e820_entry e820[16];
	uint8_t *img = make_image();
	char err[200];
	unsigned int n;
	uint64_t *pd, *pml4;

	plan(61);

	/* Parsing. */
	is_int(0, bzimage_parse(img, IMG_LEN, &bz, err, sizeof(err)), "parses a 2.15 bzImage");
	is_int(5 * 512, (long long)bz.setup_len, "setup length from setup_sects");
	is_hex(0x020f, bz.protocol, "protocol version");
	bad_image("a bad header magic", m_magic, IMG_LEN, "not a bzImage");
	bad_image("a bad boot flag", m_flag, IMG_LEN, "not a bzImage");
	bad_image("protocol 2.06", m_old, IMG_LEN, "too old");
	bad_image("a 32-bit-only kernel", m_32, IMG_LEN, "64-bit");
	bad_image("an ELF vmlinux", m_elf, IMG_LEN, "ELF");
	bad_image("a truncated file", NULL, 100, "too short");
	bad_image("a zImage", m_low, IMG_LEN, "zImage");
	bad_image("a bad kernel_alignment", m_align, IMG_LEN, "kernel_alignment");
	bad_image("setup past the end", m_setup, 8192, "past end");
	bad_image("init_size below the image size", m_init, IMG_LEN, "init_size");

	/* Placement in 512 MiB. */
	if (guest_mem_init(&mem, 512 * MiB))
		bail("cannot allocate guest memory");
	is_int(0, boot_plan(&bz, &mem, 10 * MiB, 20, &bplan, err, sizeof(err)), "plans kernel + 10 MiB initrd");
	is_hex(KERNEL_LOAD_ADDR + 0x200, bplan.entry, "64-bit entry at load address + 0x200");
	is_hex(16 * MiB + 32 * MiB, bplan.kernel_end, "kernel needs init_size from pref_address");
	ok(bplan.initrd_addr >= bplan.kernel_end && bplan.initrd_addr + bplan.initrd_size <= 512 * MiB,
	   "initrd lies above the kernel and inside RAM");
	is_int(0, (long long)(bplan.initrd_addr & 0xfff), "initrd is page aligned");
	is_hex(512 * MiB - 10 * MiB, bplan.initrd_addr, "initrd sits at the top of low RAM");
	is_int(-22, boot_plan(&bz, &mem, 500 * MiB, 20, &bplan, err, sizeof(err)),
	       "refuses an initrd too large for RAM");
	ok(strstr(err, "initrd too large") != NULL, "error says initrd too large (%s)", err);
	is_int(-22, boot_plan(&bz, &mem, 0, 4000, &bplan, err, sizeof(err)),
	       "refuses a command line longer than cmdline_size");
	ok(strstr(err, "command line too long") != NULL, "error says command line too long");

	/* Writing the zero page. */
	is_int(0, boot_plan(&bz, &mem, 1 * MiB, 20, &bplan, err, sizeof(err)), "plan for write");
	is_int(0, boot_write(&mem, &bz, &bplan, "console=ttyS0 quiet", 0xe0000), "boot_write");
	bp = guest_mem_ptr(&mem, BOOT_PARAMS_ADDR, sizeof(*bp));
	is_hex(0x53726448, bp->hdr.header, "setup header copied");
	is_hex(0xff, bp->hdr.type_of_loader, "type_of_loader = undefined (0xff)");
	ok(bp->hdr.loadflags & CAN_USE_HEAP, "CAN_USE_HEAP set");
	is_hex(CMDLINE_ADDR, bp->hdr.cmd_line_ptr, "cmd_line_ptr");
	is_string("console=ttyS0 quiet", guest_mem_ptr(&mem, CMDLINE_ADDR, 1), "command line in guest RAM");
	is_hex(bplan.initrd_addr, bp->hdr.ramdisk_image, "ramdisk_image");
	is_hex(1 * MiB, bp->hdr.ramdisk_size, "ramdisk_size");
	is_hex(0xe0000, bp->acpi_rsdp_addr, "acpi_rsdp_addr");
	ok(!memcmp(guest_mem_ptr(&mem, KERNEL_LOAD_ADDR, 16), img + 5 * 512, 16),
	   "protected-mode kernel copied to 1 MiB");
	ok(!memcmp(guest_mem_ptr(&mem, RESET_VECTOR_ADDR, 4), "\xb0\xfe\xe6\x64", 4),
	   "reset vector F000:FFF0: mov al, 0xfe; out 0x64, al (i8042 reset)");
	ok(RESET_VECTOR_ADDR >= ACPI_TABLES_END && RESET_VECTOR_ADDR + 16 <= HIMEM_START,
	   "reset vector outside the ACPI tables, below 1 MiB");
	is_int(4, bp->e820_entries, "four e820 entries for 512 MiB");
	ok(bp->e820_table[0].addr == 0 && bp->e820_table[0].size == EBDA_START &&
	   bp->e820_table[0].type == E820_TYPE_RAM, "e820: low 639 KiB usable");
	ok(bp->e820_table[1].type == E820_TYPE_RESERVED && bp->e820_table[1].addr == EBDA_START &&
	   bp->e820_table[1].addr + bp->e820_table[1].size == HIMEM_START,
	   "e820: EBDA to 1 MiB reserved (ACPI tables live there)");
	ok(bp->e820_table[2].addr == HIMEM_START && bp->e820_table[2].size == 511 * MiB,
	   "e820: 1 MiB to end of RAM usable");
	ok(bp->e820_table[3].addr == ECAM_BASE && bp->e820_table[3].size == ECAM_SIZE &&
	   bp->e820_table[3].type == E820_TYPE_RESERVED, "e820: the PCIe ECAM window reserved");

	pml4 = guest_mem_ptr(&mem, PML4_ADDR, 8);
	pd = guest_mem_ptr(&mem, PD_ADDR, 4 * 4096);
	is_hex(PDPT_ADDR | 3, pml4[0], "PML4[0] -> PDPT");
	is_hex(0x83, pd[0], "first 2 MiB identity mapped");
	is_hex((2047ull << 21) | 0x83, pd[2047], "last 2 MiB below 4 GiB identity mapped");
	is_hex(0x00af9b000000ffffull, ((uint64_t *)guest_mem_ptr(&mem, GDT_ADDR, 40))[2],
	       "GDT 0x10 is a 64-bit code segment");
	is_hex(0x00cf93000000ffffull, ((uint64_t *)guest_mem_ptr(&mem, GDT_ADDR, 40))[3],
	       "GDT 0x18 is a flat data segment");
	guest_mem_free(&mem);

	/* RAM above the 3 GiB hole is split around it. */
	if (guest_mem_init(&big, 5ull << 30))
		bail("cannot reserve 5 GiB of address space");
	n = boot_e820(&big, e820, 16);
	is_int(5, n, "five e820 entries for 5 GiB");
	is_hex(MMIO_HOLE_START - HIMEM_START, e820[2].size, "low RAM stops at the MMIO hole");
	ok(e820[4].addr == HIGH_RAM_START && e820[4].size == (2ull << 30),
	   "the other 2 GiB start at 4 GiB");
	guest_mem_free(&big);

	/* Too little RAM for the kernel itself. */
	if (guest_mem_init(&mem, 40 * MiB))
		bail("cannot allocate guest memory");
	is_int(-22, boot_plan(&bz, &mem, 0, 10, &bplan, err, sizeof(err)),
	       "refuses RAM smaller than the kernel's footprint");
	ok(strstr(err, "too small") != NULL, "error says RAM too small (%s)", err);
	guest_mem_free(&mem);
	free(img);
	return 0;
}
