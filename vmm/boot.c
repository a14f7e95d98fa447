/* SPDX-License-Identifier: MIT */
#include "vmm/boot.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define SETUP_HDR_OFFSET   0x1f1
#define BOOT_FLAG_MAGIC    0xaa55
#define HDRS_MAGIC         0x53726448 /* "HdrS" */
#define MIN_PROTOCOL       0x020c     /* 2.12: xloadflags, 64-bit entry */
#define ENTRY64_OFFSET     0x200

#define fail(err, errlen, ...) error_line(err, errlen, -EINVAL, __VA_ARGS__)

static uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }
static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

int bzimage_parse(const uint8_t *img, size_t len, struct bzimage *bz,
		  char *err, size_t errlen)
{
	const struct setup_header *hdr;
	unsigned int setup_sects;

	memset(bz, 0, sizeof(*bz));
	if (len >= 4 && !memcmp(img, "\177ELF", 4))
		return fail(err, errlen, "is an ELF file, not a bzImage (boot the vmlinuz/bzImage, not vmlinux)");
	if (len < SETUP_HDR_OFFSET + sizeof(struct setup_header))
		return fail(err, errlen, "not a bzImage (file too short: %zu bytes)", len);
	hdr = (const struct setup_header *)(img + SETUP_HDR_OFFSET);
	if (hdr->boot_flag != BOOT_FLAG_MAGIC || hdr->header != HDRS_MAGIC)
		return fail(err, errlen, "not a bzImage (no Linux boot header)");
	if (hdr->version < MIN_PROTOCOL)
		return fail(err, errlen, "boot protocol %u.%02u is too old (2.12 or later needed)",
			    hdr->version >> 8, hdr->version & 0xff);
	if (!(hdr->xloadflags & XLF_KERNEL_64))
		return fail(err, errlen, "not a 64-bit kernel (no 64-bit entry point)");
	if (!(hdr->loadflags & LOADED_HIGH))
		return fail(err, errlen, "not a bzImage (zImage loaded low is not supported)");

	setup_sects = hdr->setup_sects ? hdr->setup_sects : 4;
	bz->setup_len = (size_t)(setup_sects + 1) * 512;
	if (bz->setup_len >= len)
		return fail(err, errlen, "not a bzImage (setup size %zu past end of file)", bz->setup_len);
	if (hdr->init_size < len - bz->setup_len)
		return fail(err, errlen, "corrupt bzImage (init_size %u smaller than the kernel)",
			    hdr->init_size);

	bz->image = img;
	bz->image_len = len;
	bz->hdr = hdr;
	bz->protocol = hdr->version;
	bz->init_size = hdr->init_size;
	bz->pref_address = hdr->pref_address;
	bz->kernel_alignment = hdr->kernel_alignment;
	bz->initrd_addr_max = hdr->initrd_addr_max;
	bz->cmdline_size = hdr->cmdline_size;
	bz->xloadflags = hdr->xloadflags;
	bz->relocatable = hdr->relocatable_kernel;
	if (bz->kernel_alignment == 0 || (bz->kernel_alignment & (bz->kernel_alignment - 1)))
		return fail(err, errlen, "corrupt bzImage (kernel_alignment %#x)", bz->kernel_alignment);
	return 0;
}

int boot_plan(const struct bzimage *bz, const struct guest_mem *mem,
	      uint64_t initrd_size, size_t cmdline_len, struct boot_plan *plan,
	      char *err, size_t errlen)
{
	uint64_t low_end = guest_mem_low_end(mem);
	uint64_t run_addr, initrd_top;

	memset(plan, 0, sizeof(*plan));
	if (cmdline_len > bz->cmdline_size || cmdline_len >= CMDLINE_MAX)
		return fail(err, errlen, "kernel command line too long (%zu bytes, this kernel takes %u)",
			    cmdline_len, bz->cmdline_size);

	plan->kernel_addr = KERNEL_LOAD_ADDR;
	plan->entry = KERNEL_LOAD_ADDR + ENTRY64_OFFSET;
	plan->boot_params = BOOT_PARAMS_ADDR;
	/*
	 * The 64-bit entry moves the kernel up to its aligned run address,
	 * never below pref_address (LOAD_PHYSICAL_ADDR), and needs init_size
	 * bytes from there: that is the memory the kernel must have.
	 */
	run_addr = align_up(plan->kernel_addr, bz->kernel_alignment);
	if (run_addr < bz->pref_address)
		run_addr = bz->pref_address;
	plan->kernel_end = run_addr + bz->init_size;
	if (plan->kernel_end > low_end)
		return fail(err, errlen, "guest RAM too small for this kernel: it needs %llu MiB below 3 GiB, the guest has %llu MiB",
			    (unsigned long long)(align_up(plan->kernel_end, 1 << 20) >> 20),
			    (unsigned long long)(low_end >> 20));

	if (!initrd_size)
		return 0;
	/* Highest page-aligned spot below both the end of low RAM and the
	 * kernel's initrd_addr_max, and above everything the kernel uses. */
	initrd_top = low_end;
	if ((uint64_t)bz->initrd_addr_max + 1 < initrd_top)
		initrd_top = (uint64_t)bz->initrd_addr_max + 1;
	if (initrd_size > initrd_top || align_down(initrd_top - initrd_size, 4096) < plan->kernel_end)
		return fail(err, errlen, "initrd too large for guest RAM (%llu MiB initrd, %llu MiB RAM; try a larger --mem)",
			    (unsigned long long)((initrd_size + (1 << 20) - 1) >> 20),
			    (unsigned long long)(mem->total >> 20));
	plan->initrd_addr = align_down(initrd_top - initrd_size, 4096);
	plan->initrd_size = initrd_size;
	return 0;
}

static void e820_add(struct boot_e820_entry *tbl, unsigned int *n, unsigned int max,
		     uint64_t addr, uint64_t size, uint32_t type)
{
	if (*n >= max || !size)
		return;
	tbl[*n].addr = addr;
	tbl[*n].size = size;
	tbl[*n].type = type;
	(*n)++;
}

unsigned int boot_e820(const struct guest_mem *mem, struct boot_e820_entry *tbl,
		       unsigned int max)
{
	uint64_t low_end = guest_mem_low_end(mem);
	unsigned int n = 0;

	e820_add(tbl, &n, max, 0, EBDA_START, E820_TYPE_RAM);
	/* EBDA, VGA hole and BIOS area; the ACPI tables live in the latter. */
	e820_add(tbl, &n, max, EBDA_START, HIMEM_START - EBDA_START, E820_TYPE_RESERVED);
	e820_add(tbl, &n, max, HIMEM_START, low_end - HIMEM_START, E820_TYPE_RAM);
	/* The PCIe ECAM window (MCFG): Linux wants it reserved. */
	e820_add(tbl, &n, max, ECAM_BASE, ECAM_SIZE, E820_TYPE_RESERVED);
	if (mem->nr_regions > 1)
		e820_add(tbl, &n, max, mem->region[1].gpa, mem->region[1].size, E820_TYPE_RAM);
	return n;
}

uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) |
	       ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) |
	       ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

int boot_write_gdt(const struct guest_mem *mem)
{
	const uint64_t gdt[] = {
		0,                                  /* null */
		0,                                  /* unused */
		gdt_entry(0xa09b, 0, 0xfffff),      /* 0x10: 64-bit code, DPL0 */
		gdt_entry(0xc093, 0, 0xfffff),      /* 0x18: data, DPL0 */
		gdt_entry(0x808b, 0, 0xfffff),      /* 0x20: TSS (busy) */
	};

	return guest_mem_write(mem, GDT_ADDR, gdt, sizeof(gdt));
}

int boot_write_page_tables(const struct guest_mem *mem)
{
	uint64_t *pml4 = guest_mem_ptr(mem, PML4_ADDR, 4096);
	uint64_t *pdpt = guest_mem_ptr(mem, PDPT_ADDR, 4096);
	uint64_t *pd = guest_mem_ptr(mem, PD_ADDR, 4 * 4096);

	if (!pml4 || !pdpt || !pd)
		return -EFAULT;
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = PDPT_ADDR | 0x3;                       /* present, writable */
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (PD_ADDR + i * 4096) | 0x3;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | 0x83;                /* present, writable, 2 MiB */
	return 0;
}

/*
 * The reset vector, F000:FFF0.  With a hardware-reduced FADT and no EFI,
 * Linux picks BOOT_EFI as its reboot method unless reboot= is given; when
 * EFI is absent it falls through to machine_real_restart(): real mode and
 * a far jump to the BIOS reset vector.  That is the path of every panic
 * with panic=N and of a plain reboot.  There is no BIOS here, so this stub
 * does what a BIOS's warm reset ends in: a reset pulse through the i8042
 * (which vmm turns into exit status 3), then halts.
 */
int boot_write_reset_vector(const struct guest_mem *mem)
{
	static const uint8_t stub[] = {
		0xb0, 0xfe,         /* mov al, 0xfe  (i8042: pulse reset) */
		0xe6, 0x64,         /* out 0x64, al */
		0xf4,               /* hlt */
		0xeb, 0xfd,         /* jmp back to hlt */
	};

	return guest_mem_write(mem, RESET_VECTOR_ADDR, stub, sizeof(stub));
}

int boot_write(const struct guest_mem *mem, const struct bzimage *bz,
	       const struct boot_plan *plan, const char *cmdline,
	       uint64_t rsdp_addr)
{
	struct boot_params *bp;
	size_t hdr_len, cmdline_len = strlen(cmdline);
	int ret;

	ret = guest_mem_write(mem, plan->kernel_addr, bz->image + bz->setup_len,
			      bz->image_len - bz->setup_len);
	if (ret)
		return ret;
	ret = guest_mem_write(mem, CMDLINE_ADDR, cmdline, cmdline_len + 1);
	if (ret)
		return ret;

	bp = guest_mem_ptr(mem, plan->boot_params, sizeof(*bp));
	if (!bp)
		return -EFAULT;
	memset(bp, 0, sizeof(*bp));
	/* The setup header ends at 0x202 + the byte at 0x201 (the jump). */
	hdr_len = 0x202 + bz->image[0x201] - SETUP_HDR_OFFSET;
	if (hdr_len > sizeof(bp->hdr))
		hdr_len = sizeof(bp->hdr);
	memcpy(&bp->hdr, bz->hdr, hdr_len);

	bp->hdr.type_of_loader = 0xff;            /* "undefined" boot loader */
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.loadflags &= ~QUIET_FLAG;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.vid_mode = 0xffff;                /* "normal" */
	bp->hdr.code32_start = (uint32_t)plan->kernel_addr;
	bp->hdr.cmd_line_ptr = (uint32_t)CMDLINE_ADDR;
	bp->ext_cmd_line_ptr = 0;
	bp->hdr.ramdisk_image = (uint32_t)plan->initrd_addr;
	bp->hdr.ramdisk_size = (uint32_t)plan->initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(plan->initrd_addr >> 32);
	bp->ext_ramdisk_size = (uint32_t)(plan->initrd_size >> 32);
	bp->acpi_rsdp_addr = rsdp_addr;           /* honoured from protocol 2.14 */
	bp->e820_entries = (uint8_t)boot_e820(mem, bp->e820_table,
					      E820_MAX_ENTRIES_ZEROPAGE);

	ret = boot_write_page_tables(mem);
	if (!ret)
		ret = boot_write_reset_vector(mem);
	if (ret)
		return ret;
	return boot_write_gdt(mem);
}
