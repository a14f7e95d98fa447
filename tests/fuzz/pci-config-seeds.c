/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpus of the pci-config target (tests/fuzz/pci-config.c)
 * into DIR: enumeration the way firmware and Linux do it (through ECAM and
 * through 0xcf8/0xcfc), capability walks, BAR sizing and moves, decode on
 * and off, root ports with their windows, renumbered and overlapping
 * buses, and the machines vmm builds with and without untrusted endpoints.
 */
#include "tests/fuzz/pci-config-format.h"
#include "tests/fuzz/seeds.h"

#define DISKS(n)    ((n) << 3)
#define DMATESTS(n) ((n) << 5)
#define ECAM_BASE   0xe0000000ull

static void topo(struct seed *s, uint16_t t)
{
	s->len = 0;
	seed_u16(s, t);
}

static void ecam(struct seed *s, uint8_t op, uint8_t bus, uint8_t slot, uint16_t reg,
		 uint8_t log2_size, uint32_t val)
{
	seed_u8(s, op);
	seed_u8(s, bus);
	seed_u8(s, (uint8_t)(slot << 3));
	seed_u16(s, reg);
	seed_u8(s, log2_size);
	if (op == PCF_ECAM_WRITE)
		seed_u32(s, val);
}

static void cf8(struct seed *s, uint8_t bus, uint8_t devfn, uint16_t reg, uint8_t enable)
{
	seed_u8(s, PCF_CF8_SET);
	seed_u8(s, bus);
	seed_u8(s, devfn);
	seed_u16(s, reg);
	seed_u8(s, enable);
}

static void cfc(struct seed *s, uint8_t op, uint8_t port, uint8_t log2_size, uint32_t val)
{
	seed_u8(s, op);
	seed_u8(s, port);
	seed_u8(s, log2_size);
	if (op == PCF_CFC_WRITE)
		seed_u32(s, val);
}

static void dev_op(struct seed *s, uint8_t op, uint8_t dev, uint8_t bar)
{
	seed_u8(s, op);
	seed_u8(s, dev);
	seed_u8(s, bar);
}

static void command(struct seed *s, uint8_t dev, uint16_t val)
{
	seed_u8(s, PCF_COMMAND);
	seed_u8(s, dev);
	seed_u16(s, val);
}

static void mmio(struct seed *s, uint8_t dev, uint8_t bar, uint32_t off, uint8_t log2_size,
		 uint8_t write, uint64_t val)
{
	dev_op(s, PCF_MMIO, dev, bar);
	seed_u32(s, off);
	seed_u8(s, log2_size);
	seed_u8(s, write);
	seed_u64(s, val);
}

static void renumber(struct seed *s, uint8_t port, uint8_t sec, uint8_t sub)
{
	seed_u8(s, PCF_RENUMBER);
	seed_u8(s, port);
	seed_u8(s, sec);
	seed_u8(s, sub);
}

/* What firmware does on each bus: vendor ID of every slot, then the
 * header type, class, the capability pointer. */
static void scan_bus(struct seed *s, uint8_t bus)
{
	for (uint8_t slot = 0; slot < 32; slot++)
		ecam(s, PCF_ECAM_READ, bus, slot, 0, 2, 0);
	for (uint8_t slot = 0; slot < 12; slot++) {
		ecam(s, PCF_ECAM_READ, bus, slot, 0x0e, 0, 0);
		ecam(s, PCF_ECAM_READ, bus, slot, 0x08, 2, 0);
		ecam(s, PCF_ECAM_READ, bus, slot, 0x34, 0, 0);
	}
}

int main(int argc, char **argv)
{
	const char *dir = seed_dir(argc, argv);
	struct seed s;

	/* vmm's default machine: enumerate, walk capabilities, size every
	 * BAR, turn decode on, reach the BARs. */
	topo(&s, 0);
	scan_bus(&s, 0);
	for (uint16_t reg = 0x40; reg < 0x80; reg += 4)
		ecam(&s, PCF_ECAM_READ, 0, 2, reg, 2, 0);
	for (uint8_t dev = 0; dev < 2; dev++) {
		for (uint8_t bar = 0; bar < 6; bar++)
			dev_op(&s, PCF_SIZE_BAR, dev, bar);
		command(&s, dev, 0x6);
		mmio(&s, dev, 0, 0, 2, 0, 0);
		mmio(&s, dev, 0, 0x14, 0, 1, 0);
	}
	seed_write(dir, "default-machine", &s);

	/* Every endpoint untrusted: root ports with their windows, type-1
	 * config cycles to the secondary buses, a 64-bit BAR below a port,
	 * buses renumbered (also overlapping) and back. */
	topo(&s, PCF_TOPO_UNTRUSTED | DISKS(2) | DMATESTS(2));
	scan_bus(&s, 0);
	for (uint8_t bus = 1; bus < 7; bus++) {
		ecam(&s, PCF_ECAM_READ, bus, 0, 0, 2, 0);
		ecam(&s, PCF_ECAM_READ, bus, 1, 0, 2, 0);
	}
	ecam(&s, PCF_ECAM_READ, 0, 2, 0x18, 2, 0);
	ecam(&s, PCF_ECAM_READ, 0, 2, 0x20, 2, 0);
	ecam(&s, PCF_ECAM_READ, 0, 2, 0x100, 2, 0);
	for (uint8_t dev = 0; dev < 10; dev++)
		for (uint8_t bar = 0; bar < 4; bar++)
			dev_op(&s, PCF_SIZE_BAR, dev, bar);
	renumber(&s, 0, 9, 9);
	ecam(&s, PCF_ECAM_READ, 9, 0, 0, 2, 0);
	ecam(&s, PCF_ECAM_READ, 1, 0, 0, 2, 0);
	renumber(&s, 1, 8, 10);
	ecam(&s, PCF_ECAM_READ, 9, 0, 0, 2, 0);
	renumber(&s, 2, 0, 0);
	renumber(&s, 0, 1, 1);
	command(&s, 6, 0x6);
	mmio(&s, 6, 2, 0x10, 3, 0, 0);
	mmio(&s, 6, 2, 0xffffc, 3, 1, 7);
	seed_write(dir, "untrusted-machine", &s);

	/* 0xcf8/0xcfc: latches with and without the enable bit, the AMD
	 * extended register bits, byte and word accesses at 0xcfd-0xcff,
	 * the latch read back at odd sizes. */
	topo(&s, PCF_TOPO_UNTRUSTED | DMATESTS(1));
	cf8(&s, 0, 2 << 3, 0x00, 1);
	cfc(&s, PCF_CFC_READ, 4, 2, 0);
	cfc(&s, PCF_CFC_READ, 6, 1, 0);
	cfc(&s, PCF_CFC_READ, 7, 0, 0);
	cfc(&s, PCF_CFC_READ, 0, 2, 0);
	cfc(&s, PCF_CFC_READ, 1, 0, 0);
	cf8(&s, 0, 2 << 3, 0x104, 1);
	cfc(&s, PCF_CFC_READ, 4, 2, 0);
	cfc(&s, PCF_CFC_WRITE, 6, 1, 0xffff);
	cf8(&s, 1, 0, 0x04, 1);
	cfc(&s, PCF_CFC_WRITE, 4, 1, 0x6);
	cfc(&s, PCF_CFC_READ, 4, 2, 0);
	cf8(&s, 1, 0, 0x04, 0);
	cfc(&s, PCF_CFC_READ, 4, 2, 0);
	cfc(&s, PCF_CFC_WRITE, 4, 2, 0);
	cf8(&s, 200, 0, 0, 1);
	cfc(&s, PCF_CFC_READ, 4, 2, 0);
	seed_u8(&s, PCF_CF8);
	seed_u32(&s, 0x80000810);
	cfc(&s, PCF_CFC_WRITE, 4, 2, 0xffffffff);
	cfc(&s, PCF_CFC_READ, 4, 2, 0);
	seed_write(dir, "cf8-cfc", &s);

	/* BARs moved while decoding, decode off and on, accesses at the old
	 * and the new place and across a BAR's end, a 64-bit BAR above 4 GiB,
	 * ECAM at every size including 8 bytes. */
	topo(&s, DISKS(2) | PCF_TOPO_NO_RNG);
	command(&s, 1, 0x2);
	mmio(&s, 1, 0, 0, 2, 0, 0);
	ecam(&s, PCF_ECAM_WRITE, 0, 3, 0x10, 2, 0xd0000000);
	mmio(&s, 1, 0, 0x3ffe, 2, 0, 0);
	mmio(&s, 1, 0, 0x3ffc, 2, 1, 1);
	ecam(&s, PCF_ECAM_WRITE, 0, 3, 0x18, 2, 0);
	ecam(&s, PCF_ECAM_WRITE, 0, 3, 0x1c, 2, 0x1);
	mmio(&s, 1, 2, 0x80, 3, 0, 0);
	seed_u8(&s, PCF_MMIO_RAW);
	seed_u64(&s, 0x100000080ull);
	seed_u8(&s, 2);
	seed_u8(&s, 0);
	seed_u64(&s, 0);
	command(&s, 1, 0);
	mmio(&s, 1, 0, 0, 2, 0, 0);
	command(&s, 1, 0x2);
	ecam(&s, PCF_ECAM_READ, 0, 3, 0x10, 3, 0);
	ecam(&s, PCF_ECAM_WRITE, 0, 3, 0x11, 1, 0xffff);
	ecam(&s, PCF_ECAM_READ, 0, 3, 0x12, 1, 0);
	seed_u8(&s, PCF_MMIO_RAW);
	seed_u64(&s, ECAM_BASE + 0x2000);
	seed_u8(&s, 2);
	seed_u8(&s, 0);
	seed_u64(&s, 0);
	seed_write(dir, "bar-moves", &s);

	/* dmatest devices, one of them untrusted: the MSI capability, bus
	 * mastering on and off (its leak check), their registers. */
	topo(&s, DMATESTS(2) | (2u << 8));
	scan_bus(&s, 0);
	ecam(&s, PCF_ECAM_READ, 1, 0, 0x40, 2, 0);
	ecam(&s, PCF_ECAM_WRITE, 1, 0, 0x44, 2, 0xfee00000);
	ecam(&s, PCF_ECAM_WRITE, 1, 0, 0x42, 1, 1);
	command(&s, 4, 0x6);
	mmio(&s, 4, 0, 0, 2, 0, 0);
	mmio(&s, 4, 0, 0x1c, 2, 1, 1);
	command(&s, 4, 0x2);
	seed_write(dir, "dmatest", &s);

	/* No IOMMU, three endpoints and everything else. */
	topo(&s, PCF_TOPO_NO_IOMMU | DISKS(3) | DMATESTS(3));
	scan_bus(&s, 0);
	for (uint8_t dev = 0; dev < 8; dev++)
		dev_op(&s, PCF_SIZE_BAR, dev, 0);
	seed_write(dir, "no-iommu", &s);
	return 0;
}
