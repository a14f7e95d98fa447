/* SPDX-License-Identifier: MIT */
#ifndef VMM_ACPI_H
#define VMM_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * ACPI tables for a HW-reduced x86 machine: RSDP -> XSDT -> {FADT, MADT},
 * FADT -> DSDT.  Built into a host buffer that will sit at guest-physical
 * `base`; pointers between tables are guest-physical.  KVM-free.
 */
struct acpi_config {
	unsigned int cpus;
	uint64_t ecam_base;          /* MCFG: PCI segment 0, bus 0 */
	bool viommu;                 /* VIOT: a virtio-pci IOMMU ... */
	uint16_t viommu_bdf;         /* ... at this BDF ... */
	uint16_t endpoint_bdf_start; /* ... translating these endpoints */
	uint16_t endpoint_bdf_end;
};

#define ACPI_MAX_TABLES 8

struct acpi_table_ref {
	char sig[5];       /* "RSDP", "XSDT", "FACP", "APIC", "DSDT" */
	size_t offset;     /* from the start of the buffer */
	size_t len;
};

struct acpi_tables {
	struct acpi_table_ref table[ACPI_MAX_TABLES];
	unsigned int count;
	size_t total_len;
	uint64_t rsdp_gpa;
};

/* 0 or -ENOSPC. */
int acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t buflen,
	       uint64_t base, struct acpi_tables *out);

uint8_t acpi_checksum(const void *p, size_t len);

#endif
