/* SPDX-License-Identifier: MIT */
#include "vmm/acpi.h"
#include "vmm/layout.h"

#include <errno.h>
#include <string.h>

/* The DSDT AML compiled by iasl from vmm/dsdt.asl: `unsigned char dsdt_aml_code[]`. */
#include "vmm/dsdt.hex"

#define ACPI_OEM_ID       "VMMVMM"
#define ACPI_OEM_TABLE_ID "VMM     "
#define ACPI_CREATOR_ID   "VMM "

struct __attribute__((packed)) acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
};

struct __attribute__((packed)) acpi_rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;
	uint8_t reserved[3];
};

/* Generic Address Structure. */
struct __attribute__((packed)) acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
};

#define ACPI_GAS_SYSTEM_IO 1
#define ACPI_GAS_ACCESS_BYTE 1

/* FADT, ACPI 6.x layout (276 bytes). */
struct __attribute__((packed)) acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk;
	uint32_t pm2_cnt_blk, pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
};

_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT layout");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");

#define FADT_F_WBINVD          (1u << 0)
#define FADT_F_PWR_BUTTON      (1u << 4)   /* no fixed power button */
#define FADT_F_SLP_BUTTON      (1u << 5)   /* no fixed sleep button */
#define FADT_F_RESET_REG_SUP   (1u << 10)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)

#define IAPC_VGA_NOT_PRESENT   (1u << 2)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

struct __attribute__((packed)) acpi_madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;
};

struct __attribute__((packed)) madt_lapic {
	uint8_t type, length, processor_uid, apic_id;
	uint32_t flags;
};

struct __attribute__((packed)) madt_ioapic {
	uint8_t type, length, ioapic_id, reserved;
	uint32_t address;
	uint32_t gsi_base;
};

struct __attribute__((packed)) madt_lapic_nmi {
	uint8_t type, length, processor_uid;
	uint16_t flags;
	uint8_t lint;
};

struct __attribute__((packed)) acpi_mcfg {
	struct acpi_header h;
	uint8_t reserved[8];
	uint64_t base;
	uint16_t segment;
	uint8_t start_bus, end_bus;
	uint32_t reserved2;
};

/* VIOT (ACPI 6.5, 5.2.32): header, then nodes. */
struct __attribute__((packed)) acpi_viot {
	struct acpi_header h;
	uint16_t node_count;
	uint16_t node_offset;
	uint8_t reserved[8];
};

struct __attribute__((packed)) viot_pci_range {
	uint8_t type;              /* 1 */
	uint8_t reserved;
	uint16_t length;
	uint32_t endpoint_start;
	uint16_t segment_start, segment_end;
	uint16_t bdf_start, bdf_end;
	uint16_t output_node;      /* offset of the IOMMU node from the table start */
	uint8_t reserved2[6];
};

struct __attribute__((packed)) viot_virtio_pci {
	uint8_t type;              /* 3 */
	uint8_t reserved;
	uint16_t length;
	uint16_t segment;
	uint16_t bdf;
	uint8_t reserved2[8];
};

_Static_assert(sizeof(struct viot_pci_range) == 24, "VIOT PCI range node");
_Static_assert(sizeof(struct viot_virtio_pci) == 16, "VIOT virtio-pci node");

#define VIOT_NODE_PCI_RANGE 1
#define VIOT_NODE_VIRTIO_IOMMU_PCI 3

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

static void header_init(struct acpi_header *h, const char *sig, uint32_t len,
			uint8_t revision)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = revision;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = 1;
}

/* Bump allocator over the output buffer, 16-byte aligned placements. */
struct acpi_builder {
	uint8_t *buf;
	size_t len, used;
	uint64_t base;
	struct acpi_tables *out;
};

static void *reserve(struct acpi_builder *b, const char *sig, size_t len, uint64_t *gpa)
{
	size_t off = (b->used + 15) & ~(size_t)15;
	struct acpi_table_ref *ref;

	if (off > b->len || len > b->len - off || b->out->count >= ACPI_MAX_TABLES)
		return NULL;
	ref = &b->out->table[b->out->count++];
	memcpy(ref->sig, sig, 4);
	ref->sig[4] = '\0';
	ref->offset = off;
	ref->len = len;
	b->used = off + len;
	*gpa = b->base + off;
	return memset(b->buf + off, 0, len);
}

static void set_gas_io8(struct acpi_gas *g, uint16_t port)
{
	g->space_id = ACPI_GAS_SYSTEM_IO;
	g->bit_width = 8;
	g->bit_offset = 0;
	g->access_size = ACPI_GAS_ACCESS_BYTE;
	g->address = port;
}

int acpi_build(const struct acpi_config *cfg, uint8_t *buf, size_t buflen,
	       uint64_t base, struct acpi_tables *out)
{
	struct acpi_builder b = { .buf = buf, .len = buflen, .base = base, .out = out };
	struct acpi_rsdp *rsdp;
	struct acpi_header *xsdt, *dsdt;
	struct acpi_fadt *fadt;
	struct acpi_madt *madt;
	struct acpi_mcfg *mcfg = NULL;
	struct acpi_viot *viot = NULL;
	uint64_t rsdp_gpa, xsdt_gpa, fadt_gpa, madt_gpa, dsdt_gpa, mcfg_gpa = 0, viot_gpa = 0;
	uint64_t entries[4];
	unsigned int nentries = 0;
	size_t madt_len, viot_len = sizeof(struct acpi_viot) + sizeof(struct viot_virtio_pci) +
				    sizeof(struct viot_pci_range);
	uint8_t *p;

	memset(out, 0, sizeof(*out));
	if (cfg->cpus == 0 || cfg->cpus > 255)
		return -EINVAL;

	rsdp = reserve(&b, "RSDP", sizeof(*rsdp), &rsdp_gpa);
	xsdt = reserve(&b, "XSDT", sizeof(*xsdt) + sizeof(entries), &xsdt_gpa);
	fadt = reserve(&b, "FACP", sizeof(*fadt), &fadt_gpa);
	madt_len = sizeof(*madt) + cfg->cpus * sizeof(struct madt_lapic) +
		   sizeof(struct madt_ioapic) + sizeof(struct madt_lapic_nmi);
	madt = reserve(&b, "APIC", madt_len, &madt_gpa);
	dsdt = reserve(&b, "DSDT", sizeof(dsdt_aml_code), &dsdt_gpa);
	if (cfg->ecam_base)
		mcfg = reserve(&b, "MCFG", sizeof(*mcfg), &mcfg_gpa);
	if (cfg->viommu)
		viot = reserve(&b, "VIOT", viot_len, &viot_gpa);
	if (!rsdp || !xsdt || !fadt || !madt || !dsdt || (cfg->ecam_base && !mcfg) ||
	    (cfg->viommu && !viot))
		return -ENOSPC;

	if (mcfg) {
		/* PCIe ECAM for segment 0, bus 0 only. */
		header_init(&mcfg->h, "MCFG", sizeof(*mcfg), 1);
		mcfg->base = cfg->ecam_base;
		mcfg->segment = 0;
		mcfg->start_bus = 0;
		mcfg->end_bus = 0;
		mcfg->h.checksum = acpi_checksum(mcfg, sizeof(*mcfg));
	}
	if (viot) {
		/* One virtio-pci IOMMU node, then one PCI range node whose
		 * endpoint IDs are the BDFs (endpoint_start = bdf_start). */
		struct viot_virtio_pci *iommu = (struct viot_virtio_pci *)(viot + 1);
		struct viot_pci_range *range = (struct viot_pci_range *)(iommu + 1);

		header_init(&viot->h, "VIOT", (uint32_t)viot_len, 0);
		viot->node_count = 2;
		viot->node_offset = sizeof(*viot);
		iommu->type = VIOT_NODE_VIRTIO_IOMMU_PCI;
		iommu->length = sizeof(*iommu);
		iommu->segment = 0;
		iommu->bdf = cfg->viommu_bdf;
		range->type = VIOT_NODE_PCI_RANGE;
		range->length = sizeof(*range);
		range->endpoint_start = cfg->endpoint_bdf_start;
		range->segment_start = range->segment_end = 0;
		range->bdf_start = cfg->endpoint_bdf_start;
		range->bdf_end = cfg->endpoint_bdf_end;
		range->output_node = sizeof(*viot);
		viot->h.checksum = acpi_checksum(viot, viot_len);
	}

	/* DSDT: as compiled; its checksum is already right. */
	memcpy(dsdt, dsdt_aml_code, sizeof(dsdt_aml_code));

	/* FADT: HW-reduced, power-off and reset through our PM ports. */
	header_init(&fadt->h, "FACP", sizeof(*fadt), 6);
	fadt->minor_version = 3;
	fadt->dsdt = (uint32_t)dsdt_gpa;
	fadt->x_dsdt = dsdt_gpa;
	fadt->flags = FADT_F_WBINVD | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
		      FADT_F_RESET_REG_SUP | FADT_F_HW_REDUCED_ACPI;
	/* No i8042 flag: Linux then does not probe a PS/2 controller. */
	fadt->iapc_boot_arch = IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRESENT;
	set_gas_io8(&fadt->reset_reg, PM_RESET_PORT);
	fadt->reset_value = PM_RESET_VALUE;
	set_gas_io8(&fadt->sleep_control_reg, PM_SLEEP_CTL_PORT);
	set_gas_io8(&fadt->sleep_status_reg, PM_SLEEP_STS_PORT);
	fadt->h.checksum = acpi_checksum(fadt, sizeof(*fadt));

	/* MADT: one enabled local APIC per vCPU (APIC ID = index), the
	 * IOAPIC (GSI 0-23), LINT1 as NMI on every processor. */
	header_init(&madt->h, "APIC", (uint32_t)madt_len, 5);
	madt->lapic_address = (uint32_t)LAPIC_ADDR;
	madt->flags = 0;  /* no PCAT_COMPAT: HW-reduced, no 8259 in use */
	p = (uint8_t *)(madt + 1);
	for (unsigned int i = 0; i < cfg->cpus; i++) {
		struct madt_lapic *l = (struct madt_lapic *)p;

		l->type = 0;
		l->length = sizeof(*l);
		l->processor_uid = (uint8_t)i;
		l->apic_id = (uint8_t)i;
		l->flags = 1;  /* enabled */
		p += sizeof(*l);
	}
	{
		struct madt_ioapic *io = (struct madt_ioapic *)p;

		io->type = 1;
		io->length = sizeof(*io);
		io->ioapic_id = (uint8_t)cfg->cpus; /* distinct from every APIC ID */
		io->address = (uint32_t)IOAPIC_ADDR;
		io->gsi_base = 0;
		p += sizeof(*io);
	}
	{
		struct madt_lapic_nmi *nmi = (struct madt_lapic_nmi *)p;

		nmi->type = 4;
		nmi->length = sizeof(*nmi);
		nmi->processor_uid = 0xff;  /* all processors */
		nmi->flags = 0;
		nmi->lint = 1;
	}
	madt->h.checksum = acpi_checksum(madt, madt_len);

	/* XSDT: FADT, MADT, then MCFG and VIOT when present. */
	entries[nentries++] = fadt_gpa;
	entries[nentries++] = madt_gpa;
	if (mcfg)
		entries[nentries++] = mcfg_gpa;
	if (viot)
		entries[nentries++] = viot_gpa;
	header_init(xsdt, "XSDT", (uint32_t)(sizeof(*xsdt) + nentries * sizeof(uint64_t)), 1);
	memcpy((uint8_t *)(xsdt + 1), entries, nentries * sizeof(uint64_t));
	xsdt->checksum = acpi_checksum(xsdt, xsdt->length);
	/* The reservation was for four entries; shrink it to the real size. */
	b.out->table[1].len = xsdt->length;

	/* RSDP revision 2: only the XSDT. */
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = xsdt_gpa;
	rsdp->checksum = acpi_checksum(rsdp, 20);
	rsdp->extended_checksum = acpi_checksum(rsdp, sizeof(*rsdp));

	out->total_len = b.used;
	out->rsdp_gpa = rsdp_gpa;
	return 0;
}
