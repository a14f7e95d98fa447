/* SPDX-License-Identifier: MIT */
#ifndef VMM_ACPI_H
#define VMM_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * ACPI tables for a HW-reduced x86 machine: RSDP -> XSDT -> {FADT, MADT,
 * MCFG, VIOT, SSDT}, FADT -> DSDT.  Built into a host buffer that will sit
 * at guest-physical `base`; pointers between tables are guest-physical.
 * KVM-free.
 */
#define ACPI_MAX_ROOT_PORTS 15       /* one per secondary bus 1-15 (vmm/layout.h ECAM_BUSES) */
#define ACPI_MAX_PCI_RANGES 32

/* BDFs start..end (bus << 8 | slot << 3 | fn), inclusive. */
struct acpi_pci_range {
	uint16_t bdf_start, bdf_end;
};

/* A PCIe root port on bus 0, described in the SSDT (Device RPxx with _ADR). */
struct acpi_root_port {
	uint8_t slot;
	uint8_t secondary_bus;
	bool external_facing;        /* _DSD "ExternalFacingPort" = 1 */
};

struct acpi_config {
	unsigned int cpus;
	uint64_t ecam_base;          /* MCFG: PCI segment 0, buses 0 to ECAM_BUSES - 1 */
	bool viommu;                 /* VIOT: a virtio-pci IOMMU ... */
	uint16_t viommu_bdf;         /* ... at this BDF ... */
	/* ... translating these endpoints: one PCI range node each, endpoint
	 * ID = BDF. */
	struct acpi_pci_range endpoints[ACPI_MAX_PCI_RANGES];
	unsigned int nendpoint_ranges;
	/* No root port: no SSDT. */
	struct acpi_root_port root_port[ACPI_MAX_ROOT_PORTS];
	unsigned int nroot_ports;
};

#define ACPI_MAX_TABLES 10

struct acpi_table_ref {
	char sig[5];       /* "RSDP", "XSDT", "FACP", "APIC", "DSDT", "MCFG", "VIOT", "SSDT" */
	size_t offset;     /* from the start of the buffer */
	size_t len;
};

struct acpi_tables {
	struct acpi_table_ref table[ACPI_MAX_TABLES];
	unsigned int count;
	size_t total_len;
	uint64_t rsdp_gpa;
};

/* 0, -EINVAL (a count out of range) or -ENOSPC. */
int acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t buflen,
	       uint64_t base, struct acpi_tables *out);

uint8_t acpi_checksum(const void *p, size_t len);

#endif
