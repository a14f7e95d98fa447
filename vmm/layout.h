/* SPDX-License-Identifier: MIT */
#ifndef VMM_LAYOUT_H
#define VMM_LAYOUT_H

/*
 * Guest-physical address map (x86-64).  Fixed addresses of what the VMM
 * itself places in guest RAM before the first instruction runs.
 *
 *   0x0000_0500  GDT (boot code/data segments, TSS)
 *   0x0000_7000  boot_params ("zero page")
 *   0x0000_9000  PML4, then one PDPT and four PDs: identity map of 0-4 GiB
 *   0x0002_0000  kernel command line (up to 64 KiB)
 *   0x0009_fc00  -- reserved (EBDA) up to 1 MiB --
 *   0x000e_0000  ACPI: RSDP, XSDT, FADT, MADT, DSDT (in the reserved BIOS area)
 *   0x0010_0000  bzImage protected-mode kernel
 *        ...     initrd at the top of low RAM
 *   0xc000_0000  -- 32-bit MMIO hole up to 4 GiB: PCI BARs (0xc000_0000-0xdfff_ffff),
 *                   PCIe ECAM (0xe000_0000, 16 MiB: buses 0-15), IOAPIC, LAPIC --
 *   0x1_0000_0000 RAM above 3 GiB continues here
 */
#define GDT_ADDR          0x500ull
#define BOOT_PARAMS_ADDR  0x7000ull
#define PML4_ADDR         0x9000ull
#define PDPT_ADDR         0xa000ull
#define PD_ADDR           0xb000ull  /* four pages: 0xb000-0xefff */
#define BOOT_STACK_ADDR   0x8ff0ull
#define CMDLINE_ADDR      0x20000ull
#define CMDLINE_MAX       0x10000ull
#define EBDA_START        0x9fc00ull
#define BIOS_AREA_START   0xa0000ull
#define ACPI_TABLES_ADDR  0xe0000ull
#define ACPI_TABLES_END   0xff000ull
#define RESET_VECTOR_ADDR 0xffff0ull   /* F000:FFF0, see boot_write_reset_vector() */
#define KERNEL_LOAD_ADDR  0x100000ull
#define HIMEM_START       0x100000ull

#define MMIO_HOLE_START   0xc0000000ull
#define MMIO_HOLE_END     0x100000000ull
#define HIGH_RAM_START    0x100000000ull

/*
 * PCIe ECAM (vmm/pci.h): 1 MiB per bus.  Buses 0-15: bus 0 and the
 * secondary buses of the root ports (vmm/devices.c).  The DSDT's bus range
 * and motherboard resource (vmm/dsdt.asl) and the MCFG say the same.
 */
#define ECAM_BASE         0xe0000000ull
#define ECAM_BUSES        16
#define ECAM_SIZE         ((unsigned long long)ECAM_BUSES << 20)
#define IOAPIC_ADDR       0xfec00000ull
#define LAPIC_ADDR        0xfee00000ull
/* KVM (VMX) needs three pages for its real-mode TSS and one for the EPT
 * identity map; they must not be RAM.  Same place as other VMMs use. */
#define KVM_IDENTITY_MAP_ADDR 0xfeffc000ull
#define KVM_TSS_ADDR          0xfeffd000ull

/* Boot GDT selectors the 64-bit boot protocol asks for (__BOOT_CS/__BOOT_DS). */
#define BOOT_CS_SELECTOR  0x10
#define BOOT_DS_SELECTOR  0x18
#define BOOT_TSS_SELECTOR 0x20

/* I/O ports of the VMM's own devices. */
#define COM1_PORT         0x3f8
#define COM1_IRQ          4
#define BOOT_TIMER_PORT   0x3f0   /* guest writes BOOT_TIMER_MAGIC at init */
#define BOOT_TIMER_MAGIC  123
#define PM_SLEEP_CTL_PORT 0x600   /* FADT SLEEP_CONTROL_REG (HW-reduced ACPI) */
#define PM_SLEEP_STS_PORT 0x601   /* FADT SLEEP_STATUS_REG */
#define PM_RESET_PORT     0x602   /* FADT RESET_REG */
#define PM_RESET_VALUE    0x1
#define PM_S5_SLP_TYP     5       /* must match \_S5 in dsdt.asl */
#define I8042_CMD_PORT    0x64

#endif
