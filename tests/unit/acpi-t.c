/* SPDX-License-Identifier: MIT */
/* ACPI table generation: checksums, links between tables, the HW-reduced
 * FADT and the MADT for every vCPU count, MCFG and VIOT for the PCI
 * topology, and the SSDT that describes the PCIe root ports.
 * (tests/unit/acpi-iasl.sh also has iasl disassemble what `vmm dump-acpi`
 * writes, and recompile the SSDT.) */
#include "vmm/acpi.h"
#include "vmm/layout.h"
#include "tests/tap/basic.h"

#include <string.h>

#define BASE 0xe0000ull

static uint8_t buf[0x20000];

static const uint8_t *table(const struct acpi_tables *t, const char *sig, size_t *len)
{
	for (unsigned int i = 0; i < t->count; i++) {
		if (!strcmp(t->table[i].sig, sig)) {
			*len = t->table[i].len;
			return buf + t->table[i].offset;
		}
	}
	return NULL;
}

static uint32_t u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static const uint8_t *at(uint64_t gpa) { return buf + (gpa - BASE); }

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s += *p++;
	return s;
}

int main(void)
{
	static const unsigned int cpu_counts[] = { 1, 2, 64 };
	struct acpi_config cfg = { .cpus = 2 };
	struct acpi_tables t;
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt;
	size_t len, xlen, flen, mlen, dlen;

	plan(31 + 3 * 3 + 9 + 18);

	is_int(0, acpi_build(&cfg, buf, sizeof(buf), BASE, &t), "tables build");
	is_int(5, t.count, "RSDP, XSDT, FACP, APIC, DSDT");
	rsdp = table(&t, "RSDP", &len);
	xsdt = table(&t, "XSDT", &xlen);
	fadt = table(&t, "FACP", &flen);
	madt = table(&t, "APIC", &mlen);
	dsdt = table(&t, "DSDT", &dlen);
	if (!rsdp || !xsdt || !fadt || !madt || !dsdt)
		bail("a table is missing");

	is_hex(BASE, t.rsdp_gpa, "RSDP first, at the base (16-byte aligned, in 0xe0000-0xfffff)");
	ok(!memcmp(rsdp, "RSD PTR ", 8), "RSDP signature");
	is_int(0, sum(rsdp, 20), "RSDP checksum (first 20 bytes)");
	is_int(0, sum(rsdp, 36), "RSDP extended checksum");
	is_int(2, rsdp[15], "RSDP revision 2");
	is_hex(BASE + (xsdt - buf), u64(rsdp + 24), "RSDP points to the XSDT");

	is_int(0, sum(xsdt, xlen), "XSDT checksum");
	is_int(36 + 16, u32(xsdt + 4), "XSDT length: two entries");
	ok(!memcmp(at(u64(xsdt + 36)), "FACP", 4), "XSDT[0] is the FADT");
	ok(!memcmp(at(u64(xsdt + 44)), "APIC", 4), "XSDT[1] is the MADT");

	is_int(0, sum(fadt, flen), "FADT checksum");
	is_int(276, u32(fadt + 4), "FADT is the 276-byte ACPI 6 layout");
	is_int(6, fadt[8], "FADT revision 6");
	ok(u32(fadt + 112) & (1u << 20), "FADT HW_REDUCED_ACPI");
	ok(u32(fadt + 112) & (1u << 10), "FADT RESET_REG_SUP");
	ok(fadt[116] == 1 && u64(fadt + 120) == PM_RESET_PORT && fadt[128] == PM_RESET_VALUE,
	   "FADT RESET_REG is our reset port, system I/O");
	ok(fadt[244] == 1 && u64(fadt + 248) == PM_SLEEP_CTL_PORT, "FADT SLEEP_CONTROL_REG");
	ok(fadt[256] == 1 && u64(fadt + 260) == PM_SLEEP_STS_PORT, "FADT SLEEP_STATUS_REG");
	is_hex(BASE + (dsdt - buf), u64(fadt + 140), "FADT X_DSDT points to the DSDT");
	is_hex(BASE + (dsdt - buf), u32(fadt + 40), "FADT DSDT (32-bit) too");
	ok((fadt[109] & (1 << 1)) == 0, "no i8042 advertised");

	ok(!memcmp(dsdt, "DSDT", 4), "DSDT signature");
	is_int(0, sum(dsdt, dlen), "DSDT checksum (from iasl)");
	ok(memmem(dsdt, dlen, "_S5_", 4) != NULL, "DSDT has \\_S5 for power-off");
	ok(memmem(dsdt, dlen, "COM1", 4) != NULL, "DSDT describes COM1");

	is_int(0, sum(madt, mlen), "MADT checksum");
	is_hex(LAPIC_ADDR, u32(madt + 36), "MADT local APIC address");

	for (size_t c = 0; c < sizeof(cpu_counts) / sizeof(cpu_counts[0]); c++) {
		unsigned int lapics = 0, ioapics = 0, enabled_ids_ok = 1;
		const uint8_t *p, *end;

		cfg.cpus = cpu_counts[c];
		acpi_build(&cfg, buf, sizeof(buf), BASE, &t);
		madt = table(&t, "APIC", &mlen);
		is_int(0, sum(madt, mlen), "MADT checksum with %u vCPUs", cfg.cpus);
		end = madt + u32(madt + 4);
		for (p = madt + 44; p < end && p[1]; p += p[1]) {
			if (p[0] == 0) {
				if (p[3] != lapics || !(u32(p + 4) & 1))
					enabled_ids_ok = 0;
				lapics++;
			} else if (p[0] == 1) {
				ioapics++;
				if (u32(p + 4) != IOAPIC_ADDR)
					ioapics = 99;
			}
		}
		ok(lapics == cfg.cpus && enabled_ids_ok, "%u enabled local APICs, IDs 0..%u",
		   cfg.cpus, cfg.cpus - 1);
		is_int(1, ioapics, "one IOAPIC at 0xfec00000 with %u vCPUs", cfg.cpus);
	}

	/* With PCI and the virtio-iommu: MCFG and VIOT, linked from the XSDT. */
	{
		struct acpi_config pc = { .cpus = 1, .ecam_base = 0xe0000000, .viommu = true,
					  .viommu_bdf = 0x08, .endpoints = { { 0x10, 0xff } },
					  .nendpoint_ranges = 1 };
		const uint8_t *mcfg, *viot, *node;
		size_t clen, vlen;

		is_int(0, acpi_build(&pc, buf, sizeof(buf), BASE, &t), "tables with PCI and the IOMMU");
		xsdt = table(&t, "XSDT", &xlen);
		is_int(36 + 32, u32(xsdt + 4), "XSDT: four entries");
		ok(!memcmp(at(u64(xsdt + 52)), "MCFG", 4) && !memcmp(at(u64(xsdt + 60)), "VIOT", 4),
		   "XSDT[2] is the MCFG, XSDT[3] the VIOT");
		is_int(0, sum(xsdt, u32(xsdt + 4)), "XSDT checksum");
		mcfg = table(&t, "MCFG", &clen);
		ok(mcfg && sum(mcfg, clen) == 0 && u64(mcfg + 44) == 0xe0000000 &&
		   mcfg[54] == 0 && mcfg[55] == ECAM_BUSES - 1, "MCFG: checksum, ECAM base, buses 0-15");
		viot = table(&t, "VIOT", &vlen);
		ok(viot && sum(viot, vlen) == 0, "VIOT checksum");
		ok(viot[36] == 2 && viot[38] == 48, "VIOT: two nodes from offset 48");
		node = viot + 48;
		ok(node[0] == 3 && node[2] == 16 && (node[6] | node[7] << 8) == 0x08,
		   "VIOT node 0: virtio-pci IOMMU at 00:01.0");
		node = viot + 64;
		ok(node[0] == 1 && node[2] == 24 && u32(node + 4) == 0x10 &&
		   (node[12] | node[13] << 8) == 0x10 && (node[14] | node[15] << 8) == 0xff &&
		   (node[16] | node[17] << 8) == 48,
		   "VIOT node 1: PCI range 00:02.0-00:1f.7, endpoint IDs = BDFs, output -> the IOMMU node");
	}

	/* Root ports: one VIOT range per secondary bus, and the SSDT. */
	{
		static const uint8_t uuid[16] = {   /* daffd814-6eba-4d8c-8a91-bc9bbf4aa301 */
			0x14, 0xd8, 0xff, 0xda, 0xba, 0x6e, 0x8c, 0x4d,
			0x8a, 0x91, 0xbc, 0x9b, 0xbf, 0x4a, 0xa3, 0x01 };
		static const uint8_t adr2[] = { 0x08, '_', 'A', 'D', 'R', 0x0c, 0x00, 0x00, 0x02, 0x00 };
		static const uint8_t prop[] = { 0x0d, 'E', 'x', 't', 'e', 'r', 'n', 'a', 'l', 'F', 'a', 'c',
						'i', 'n', 'g', 'P', 'o', 'r', 't', 0x00, 0x01 };
		struct acpi_config rc = {
			.cpus = 1, .ecam_base = 0xe0000000, .viommu = true, .viommu_bdf = 0x08,
			.endpoints = { { 0x18, 0xff }, { 0x100, 0x1ff }, { 0x200, 0x2ff } },
			.nendpoint_ranges = 3,
			.root_port = { { .slot = 2, .secondary_bus = 1, .external_facing = true },
				       { .slot = 0x1e, .secondary_bus = 2, .external_facing = false } },
			.nroot_ports = 2,
		};
		const uint8_t *viot, *ssdt, *aml, *node;
		size_t vlen, slen, pkglen, n;
		int ranges_ok = 1;

		is_int(0, acpi_build(&rc, buf, sizeof(buf), BASE, &t), "tables with two root ports");
		xsdt = table(&t, "XSDT", &xlen);
		is_int(36 + 40, u32(xsdt + 4), "XSDT: five entries");
		ok(!memcmp(at(u64(xsdt + 68)), "SSDT", 4), "XSDT[4] is the SSDT");
		viot = table(&t, "VIOT", &vlen);
		ok(viot && sum(viot, vlen) == 0 && viot[36] == 4 && u32(viot + 4) == 48 + 16 + 3 * 24,
		   "VIOT: checksum, the IOMMU and three PCI range nodes");
		for (unsigned int i = 0; viot && i < 3; i++) {
			node = viot + 64 + 24 * i;
			if (node[0] != 1 || u32(node + 4) != rc.endpoints[i].bdf_start ||
			    (node[12] | node[13] << 8) != rc.endpoints[i].bdf_start ||
			    (node[14] | node[15] << 8) != rc.endpoints[i].bdf_end ||
			    (node[16] | node[17] << 8) != 48)
				ranges_ok = 0;
		}
		ok(ranges_ok, "VIOT ranges 00:03.0-00:1f.7, bus 1, bus 2; endpoint IDs = BDFs");
		ssdt = table(&t, "SSDT", &slen);
		if (!ssdt)
			bail("no SSDT");
		ok(!memcmp(ssdt, "SSDT", 4) && u32(ssdt + 4) == slen && sum(ssdt, slen) == 0,
		   "SSDT: signature, length, checksum");
		is_int(2, ssdt[8], "SSDT revision 2 (64-bit integers)");
		ok(!memcmp(ssdt + 16, "VMMPCIRP", 8), "SSDT OEM table ID");
		aml = ssdt + 36;
		ok(aml[0] == 0x10 && !memcmp(aml + 3, "\\._SB_PCI0", 10),
		   "Scope (\\_SB.PCI0) with a two-byte PkgLength");
		pkglen = (size_t)(aml[1] & 0xf) | (size_t)aml[2] << 4;
		is_int((long long)(slen - 36 - 1), (long long)pkglen, "its PkgLength covers the rest of the table");
		ok(aml[13] == 0x5b && aml[14] == 0x82 && !memcmp(aml + 17, "RP02", 4),
		   "Device (RP02) comes first");
		ok(memmem(aml, slen - 36, adr2, sizeof(adr2)) != NULL, "Name (_ADR, 0x00020000)");
		ok(memmem(aml, slen - 36, uuid, sizeof(uuid)) != NULL,
		   "ToUUID (\"daffd814-6eba-4d8c-8a91-bc9bbf4aa301\"): device properties");
		ok(memmem(aml, slen - 36, prop, sizeof(prop)) != NULL, "{\"ExternalFacingPort\", One}");
		ok(memmem(aml, slen - 36, "RP1E", 4) != NULL, "Device (RP1E) for the second port");
		n = 0;
		for (const uint8_t *q = aml; (q = memmem(q, slen - 36 - (size_t)(q - aml), "_DSD", 4)); q += 4)
			n++;
		is_int(1, (long long)n, "only the external-facing port has a _DSD");

		rc.nroot_ports = 0;
		acpi_build(&rc, buf, sizeof(buf), BASE, &t);
		ok(!table(&t, "SSDT", &slen), "no root port: no SSDT");
		rc.nendpoint_ranges = ACPI_MAX_PCI_RANGES + 1;
		is_int(-22, acpi_build(&rc, buf, sizeof(buf), BASE, &t), "too many VIOT ranges refused");
	}

	cfg.cpus = 0;
	is_int(-22, acpi_build(&cfg, buf, sizeof(buf), BASE, &t), "0 vCPUs refused");
	cfg.cpus = 1;
	is_int(-28, acpi_build(&cfg, buf, 64, BASE, &t), "too small a buffer is -ENOSPC, not an overflow");
	return 0;
}
