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

/* --- AML for the SSDT ---------------------------------------------------- */

/*
 * The root ports depend on the command line, the DSDT (iasl, build time)
 * cannot: they go into an SSDT encoded here.  Only what that needs: Scope,
 * Device, Name, Package, Buffer, String and Integer.  Objects are written
 * front to back into one buffer; a PkgLength, whose size depends on what
 * follows it, is inserted when its object is closed.
 */
#define AML_SCOPE_OP    0x10
#define AML_NAME_OP     0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_BUFFER_OP   0x11
#define AML_PACKAGE_OP  0x12
#define AML_ZERO_OP     0x00
#define AML_ONE_OP      0x01
#define AML_EXT_PREFIX  0x5b
#define AML_DEVICE_OP   0x82       /* after AML_EXT_PREFIX */
#define AML_ROOT_CHAR   0x5c
#define AML_DUAL_NAME_PREFIX 0x2e

struct aml {
	uint8_t *buf;
	size_t len, cap;
	bool overflow;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* Start an object that has a PkgLength: returns where its body starts. */
static size_t aml_open(struct aml *a, const uint8_t *op, size_t oplen)
{
	aml_bytes(a, op, oplen);
	return a->len;
}

/* The body since `start` is complete: put its PkgLength (which counts
 * itself) in front of it, in the fewest bytes that hold it. */
static void aml_close(struct aml *a, size_t start)
{
	size_t body = a->len - start, n, total;
	uint8_t enc[4];

	if (a->overflow)
		return;
	n = body + 1 <= 0x3f ? 1 : body + 2 <= 0xfff ? 2 : body + 3 <= 0xfffff ? 3 : 4;
	total = body + n;
	if (n == 1) {
		enc[0] = (uint8_t)total;
	} else {
		enc[0] = (uint8_t)((n - 1) << 6 | (total & 0xf));
		for (size_t i = 1; i < n; i++)
			enc[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	if (n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memmove(a->buf + start + n, a->buf + start, body);
	memcpy(a->buf + start, enc, n);
	a->len += n;
}

static void aml_integer(struct aml *a, uint64_t v)
{
	uint8_t le[8];
	size_t n;

	if (v <= 1) {
		aml_byte(a, v ? AML_ONE_OP : AML_ZERO_OP);
		return;
	}
	if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		n = 1;
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD_PREFIX);
		n = 2;
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORD_PREFIX);
		n = 4;
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		n = 8;
	}
	for (size_t i = 0; i < n; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, le, n);
}

static void aml_string(struct aml *a, const char *str)
{
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, str, strlen(str) + 1);
}

/* Name (SEG, ...): the caller writes the value next. */
static void aml_name(struct aml *a, const char seg[4])
{
	aml_byte(a, AML_NAME_OP);
	aml_bytes(a, seg, 4);
}

static unsigned int hexval(char c)
{
	return c <= '9' ? (unsigned int)(c - '0') : (unsigned int)((c | 0x20) - 'a' + 10);
}

/* A UUID string ("daffd814-6eba-4d8c-8a91-bc9bbf4aa301", a constant here)
 * as the 16-byte buffer ToUUID () makes: the first three fields
 * little-endian, the rest in order. */
static void aml_uuid(struct aml *a, const char *uuid)
{
	static const unsigned int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
	uint8_t raw[16], out[16];
	unsigned int n = 0;
	size_t start;

	for (const char *p = uuid; p[0] && p[1] && n < 16; p++) {
		if (*p == '-')
			continue;
		raw[n++] = (uint8_t)(hexval(p[0]) << 4 | hexval(p[1]));
		p++;
	}
	for (unsigned int i = 0; i < 16; i++)
		out[i] = raw[order[i]];
	start = aml_open(a, (const uint8_t[]){ AML_BUFFER_OP }, 1);
	aml_integer(a, 16);
	aml_bytes(a, out, 16);
	aml_close(a, start);
}

/* Device properties (_DSD) UUID: a package of {name, value} packages. */
#define ACPI_DSD_PROPERTIES_UUID "daffd814-6eba-4d8c-8a91-bc9bbf4aa301"

/*
 * Scope (\_SB.PCI0) { Device (RPss) { Name (_ADR, ss << 16) [Name (_DSD, ...)] } ... }
 * For an external-facing port, the _DSD property Linux's
 * pci_acpi_set_external_facing() reads: {"ExternalFacingPort", 1}.
 */
static size_t ssdt_body(const struct acpi_config *cfg, uint8_t *buf, size_t cap)
{
	static const uint8_t scope_path[] = { AML_ROOT_CHAR, AML_DUAL_NAME_PREFIX,
					      '_', 'S', 'B', '_', 'P', 'C', 'I', '0' };
	struct aml a = { .buf = buf, .cap = cap };
	size_t scope;

	scope = aml_open(&a, (const uint8_t[]){ AML_SCOPE_OP }, 1);
	aml_bytes(&a, scope_path, sizeof(scope_path));
	for (unsigned int i = 0; i < cfg->nroot_ports; i++) {
		const struct acpi_root_port *rp = &cfg->root_port[i];
		static const char hex[] = "0123456789ABCDEF";
		char seg[4] = { 'R', 'P', hex[rp->slot >> 4 & 0xf], hex[rp->slot & 0xf] };
		size_t dev, pkg, props, prop;

		dev = aml_open(&a, (const uint8_t[]){ AML_EXT_PREFIX, AML_DEVICE_OP }, 2);
		aml_bytes(&a, seg, 4);
		aml_name(&a, "_ADR");
		aml_integer(&a, (uint64_t)rp->slot << 16);   /* function 0 */
		if (rp->external_facing) {
			aml_name(&a, "_DSD");
			pkg = aml_open(&a, (const uint8_t[]){ AML_PACKAGE_OP }, 1);
			aml_byte(&a, 2);
			aml_uuid(&a, ACPI_DSD_PROPERTIES_UUID);
			props = aml_open(&a, (const uint8_t[]){ AML_PACKAGE_OP }, 1);
			aml_byte(&a, 1);
			prop = aml_open(&a, (const uint8_t[]){ AML_PACKAGE_OP }, 1);
			aml_byte(&a, 2);
			aml_string(&a, "ExternalFacingPort");
			aml_integer(&a, 1);
			aml_close(&a, prop);
			aml_close(&a, props);
			aml_close(&a, pkg);
		}
		aml_close(&a, dev);
	}
	aml_close(&a, scope);
	return a.overflow ? 0 : a.len;
}

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
	struct acpi_header *ssdt = NULL;
	uint64_t rsdp_gpa, xsdt_gpa, fadt_gpa, madt_gpa, dsdt_gpa, mcfg_gpa = 0, viot_gpa = 0;
	uint64_t ssdt_gpa = 0;
	uint64_t entries[5];
	unsigned int nentries = 0;
	uint8_t aml[4096];
	size_t madt_len, viot_len, aml_len = 0;
	uint8_t *p;

	memset(out, 0, sizeof(*out));
	if (cfg->cpus == 0 || cfg->cpus > 255 || cfg->nendpoint_ranges > ACPI_MAX_PCI_RANGES ||
	    cfg->nroot_ports > ACPI_MAX_ROOT_PORTS)
		return -EINVAL;
	viot_len = sizeof(struct acpi_viot) + sizeof(struct viot_virtio_pci) +
		   cfg->nendpoint_ranges * sizeof(struct viot_pci_range);
	if (cfg->nroot_ports) {
		aml_len = ssdt_body(cfg, aml, sizeof(aml));
		if (!aml_len)
			return -ENOSPC;
	}

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
	if (aml_len)
		ssdt = reserve(&b, "SSDT", sizeof(*ssdt) + aml_len, &ssdt_gpa);
	if (!rsdp || !xsdt || !fadt || !madt || !dsdt || (cfg->ecam_base && !mcfg) ||
	    (cfg->viommu && !viot) || (aml_len && !ssdt))
		return -ENOSPC;

	if (mcfg) {
		/* PCIe ECAM for segment 0: bus 0 and the root ports' buses. */
		header_init(&mcfg->h, "MCFG", sizeof(*mcfg), 1);
		mcfg->base = cfg->ecam_base;
		mcfg->segment = 0;
		mcfg->start_bus = 0;
		mcfg->end_bus = ECAM_BUSES - 1;
		mcfg->h.checksum = acpi_checksum(mcfg, sizeof(*mcfg));
	}
	if (viot) {
		/* One virtio-pci IOMMU node, then a PCI range node per range
		 * whose endpoint IDs are the BDFs (endpoint_start = bdf_start). */
		struct viot_virtio_pci *iommu = (struct viot_virtio_pci *)(viot + 1);
		struct viot_pci_range *range = (struct viot_pci_range *)(iommu + 1);

		header_init(&viot->h, "VIOT", (uint32_t)viot_len, 0);
		viot->node_count = (uint16_t)(1 + cfg->nendpoint_ranges);
		viot->node_offset = sizeof(*viot);
		iommu->type = VIOT_NODE_VIRTIO_IOMMU_PCI;
		iommu->length = sizeof(*iommu);
		iommu->segment = 0;
		iommu->bdf = cfg->viommu_bdf;
		for (unsigned int i = 0; i < cfg->nendpoint_ranges; i++, range++) {
			range->type = VIOT_NODE_PCI_RANGE;
			range->length = sizeof(*range);
			range->endpoint_start = cfg->endpoints[i].bdf_start;
			range->segment_start = range->segment_end = 0;
			range->bdf_start = cfg->endpoints[i].bdf_start;
			range->bdf_end = cfg->endpoints[i].bdf_end;
			range->output_node = sizeof(*viot);
		}
		viot->h.checksum = acpi_checksum(viot, viot_len);
	}
	if (ssdt) {
		/* Revision 2: integers are 64-bit, as in the DSDT. */
		header_init(ssdt, "SSDT", (uint32_t)(sizeof(*ssdt) + aml_len), 2);
		memcpy(ssdt->oem_table_id, "VMMPCIRP", 8);
		memcpy(ssdt + 1, aml, aml_len);
		ssdt->checksum = acpi_checksum(ssdt, ssdt->length);
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
	 * IOAPIC (GSI 0-23), LINT1 as NMI on every processor.  No interrupt
	 * source overrides: KVM's default routing maps ISA IRQ n to IOAPIC
	 * pin n (the PIT's IRQ 0 to pin 0, not 2 as on a PC) and the ISA
	 * default, edge/active high, holds for every legacy line; a
	 * HW-reduced machine has no SCI to describe. */
	header_init(&madt->h, "APIC", (uint32_t)madt_len, 5);
	madt->lapic_address = (uint32_t)LAPIC_ADDR;
	/* No PCAT_COMPAT: HW-reduced, no 8259 for the OS to use; KVM's
	 * 8259 pair is there but masked at entry (vmm/irqchip.h). */
	madt->flags = 0;
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

	/* XSDT: FADT, MADT, then MCFG, VIOT and SSDT when present. */
	entries[nentries++] = fadt_gpa;
	entries[nentries++] = madt_gpa;
	if (mcfg)
		entries[nentries++] = mcfg_gpa;
	if (viot)
		entries[nentries++] = viot_gpa;
	if (ssdt)
		entries[nentries++] = ssdt_gpa;
	header_init(xsdt, "XSDT", (uint32_t)(sizeof(*xsdt) + nentries * sizeof(uint64_t)), 1);
	memcpy((uint8_t *)(xsdt + 1), entries, nentries * sizeof(uint64_t));
	xsdt->checksum = acpi_checksum(xsdt, xsdt->length);
	/* The reservation was for five entries; shrink it to the real size. */
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
