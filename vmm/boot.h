/* SPDX-License-Identifier: MIT */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include <asm/bootparam.h>

#include "vmm/guest_mem.h"

/* e820 types (the UAPI has the table layout, not the type values). */
#define E820_TYPE_RAM      1
#define E820_TYPE_RESERVED 2
#define E820_TYPE_ACPI     3

/*
 * Linux x86 64-bit boot protocol (Documentation/arch/x86/boot.rst): the VMM
 * plays the boot loader.  It loads the bzImage's protected-mode part, fills
 * a boot_params "zero page" (setup header, e820 map, command line, initrd,
 * RSDP), builds identity page tables and a GDT, and enters the kernel at
 * its 64-bit entry point (load address + 0x200) with RSI = &boot_params.
 * All of this is KVM-free so the unit tests can check the layout.
 */
struct bzimage {
	const uint8_t *image;
	size_t image_len;
	size_t setup_len;          /* real-mode setup: (setup_sects + 1) * 512 */
	uint16_t protocol;         /* e.g. 0x020f */
	uint32_t init_size;        /* memory the kernel needs from its load address */
	uint64_t pref_address;
	uint32_t kernel_alignment;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;     /* maximum command line length (without NUL) */
	uint16_t xloadflags;
	uint8_t relocatable;
	const struct setup_header *hdr; /* points into image */
};

struct boot_plan {
	uint64_t kernel_addr;      /* where the protected-mode part is copied */
	uint64_t kernel_end;       /* end of the memory the kernel may use */
	uint64_t entry;            /* 64-bit entry point */
	uint64_t initrd_addr;      /* 0 when there is no initrd */
	uint64_t initrd_size;
	uint64_t boot_params;
};

/* 0, or -EINVAL with a one-line reason in err. */
int bzimage_parse(const uint8_t *img, size_t len, struct bzimage *bz,
		  char *err, size_t errlen);

/* Decide where everything goes; refuses what does not fit in guest RAM. */
int boot_plan(const struct bzimage *bz, const struct guest_mem *mem,
	      uint64_t initrd_size, size_t cmdline_len, struct boot_plan *plan,
	      char *err, size_t errlen);

/* Copy the kernel, write cmdline, boot_params (with rsdp_addr), page tables,
 * GDT.  The initrd's bytes are the caller's to copy to plan->initrd_addr. */
int boot_write(const struct guest_mem *mem, const struct bzimage *bz,
	       const struct boot_plan *plan, const char *cmdline,
	       uint64_t rsdp_addr);

/* The e820 map the guest gets; returns the number of entries. */
unsigned int boot_e820(const struct guest_mem *mem,
		       struct boot_e820_entry *tbl, unsigned int max);

/* GDT entry encoding shared with the probe guest. */
uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);

/* Identity map of 0-4 GiB with 2 MiB pages at PML4_ADDR; GDT at GDT_ADDR. */
int boot_write_page_tables(const struct guest_mem *mem);
int boot_write_gdt(const struct guest_mem *mem);
int boot_write_reset_vector(const struct guest_mem *mem);

#endif
