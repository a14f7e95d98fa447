/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpus of the dmatest target (tests/fuzz/dmatest.c) into
 * DIR: every command done right (as the guest driver's correct suite does
 * them), each way to get one refused (permissions, past the end, after an
 * UNMAP, addressing width, bad commands and scatter-gather tables, no bus
 * mastering, a full bounce pool), resets and bus mastering off with
 * mappings left behind (the leak check), every register at every width,
 * and the device below a root port without the IOMMU.
 */
#include "tests/fuzz/dmatest-format.h"
#include "tests/fuzz/seeds.h"

#include <linux/virtio_iommu.h>

#include "guest/dmatest/dmatest_hw.h"

#define RW (VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE)
#define RO VIRTIO_IOMMU_MAP_F_READ
#define WO VIRTIO_IOMMU_MAP_F_WRITE

#define DATA   0x100000ull   /* 4 pages read-write -> phys 0-3 */
#define RODATA 0x200000ull   /* 1 page read-only -> phys 4 */
#define WODATA 0x300000ull   /* 1 page write-only -> phys 5 */
#define HIGH   0x1000000000ull  /* above 36 bits: 2 pages -> phys 6-7 */

#define W64 0
#define W24 3

static void cmd(struct seed *s, uint8_t c, uint64_t src, uint64_t dst, uint32_t len,
		uint8_t pattern, uint16_t src_count, uint16_t dst_count)
{
	seed_u8(s, DTF_CMD);
	seed_u8(s, c);
	seed_u64(s, src);
	seed_u64(s, dst);
	seed_u32(s, len);
	seed_u8(s, pattern);
	seed_u16(s, src_count);
	seed_u16(s, dst_count);
}

static void poke(struct seed *s, uint64_t addr, uint8_t len, uint8_t first)
{
	seed_u8(s, DTF_POKE);
	seed_u64(s, addr);
	seed_u8(s, len);
	for (uint8_t i = 0; i < len; i++)
		seed_u8(s, (uint8_t)(first + 7 * i));
}

static void sg(struct seed *s, uint64_t table, uint8_t index, uint64_t addr, uint32_t len,
	       uint32_t reserved)
{
	seed_u8(s, DTF_SG);
	seed_u64(s, table);
	seed_u8(s, index);
	seed_u64(s, addr);
	seed_u32(s, len);
	seed_u32(s, reserved);
}

static void u32_op(struct seed *s, uint8_t op, uint32_t v)
{
	seed_u8(s, op);
	seed_u32(s, v);
}

static void command(struct seed *s, uint16_t v)
{
	seed_u8(s, DTF_COMMAND);
	seed_u16(s, v);
}

static void reg(struct seed *s, uint8_t op, uint8_t r, uint8_t log2_size, uint64_t val)
{
	seed_u8(s, op);
	seed_u8(s, r);
	seed_u8(s, log2_size);
	if (op == DTF_REG_WRITE)
		seed_u64(s, val);
}

/* The mappings most seeds use, data in them, interrupts on. */
static void start(struct seed *s, uint8_t cfg)
{
	seed_start(s, cfg);
	seed_map(s, DATA >> 12, 0, 4, RW, 1);
	seed_map(s, RODATA >> 12, 4, 1, RO, 1);
	seed_map(s, WODATA >> 12, 5, 1, WO, 1);
	seed_map(s, HIGH >> 12 & 0xffff, 6, 2, RW, 1);
	poke(s, DATA, 200, 3);
	poke(s, DATA + 0xff0, 32, 9);
	poke(s, RODATA, 64, 11);
	u32_op(s, DTF_CTRL, DMATEST_CTRL_IRQ_ENABLE);
}

int main(int argc, char **argv)
{
	const char *dir = seed_dir(argc, argv);
	struct seed s;

	/* Every command, done right. */
	start(&s, W64);
	cmd(&s, DMATEST_CMD_COPY, DATA, DATA + 0x2000, 0x100, 0, 0, 0);
	cmd(&s, DMATEST_CMD_COPY, DATA + 0xff0, DATA + 0x2ff8, 0x20, 0, 0, 0);
	cmd(&s, DMATEST_CMD_FILL, 0, DATA + 0x1003, 1000, 0x5a, 0, 0);
	cmd(&s, DMATEST_CMD_CMP, DATA, DATA + 0x2000, 0x100, 0, 0, 0);
	cmd(&s, DMATEST_CMD_CMP, DATA, DATA + 0x1000, 0x100, 0, 0, 0);
	cmd(&s, DMATEST_CMD_READ, DATA, 0, 4097, 0, 0, 0);
	cmd(&s, DMATEST_CMD_READ, RODATA, 0, 64, 0, 0, 0);
	cmd(&s, DMATEST_CMD_COPY, RODATA, WODATA + 8, 64, 0, 0, 0);
	sg(&s, DATA + 0x3000, 0, DATA + 100, 60, 0);
	sg(&s, DATA + 0x3000, 1, RODATA, 36, 0);
	sg(&s, DATA + 0x3100, 0, DATA + 0x2800, 50, 0);
	sg(&s, DATA + 0x3100, 1, WODATA + 0x100, 46, 0);
	cmd(&s, DMATEST_CMD_SG_COPY, DATA + 0x3000, DATA + 0x3100, 0, 0, 2, 2);
	seed_write(dir, "commands", &s);

	/* Each refusal: permission, past the end, unmapped, after an UNMAP,
	 * and commands the device refuses to run. */
	start(&s, W64);
	cmd(&s, DMATEST_CMD_COPY, DATA, RODATA, 16, 0, 0, 0);
	cmd(&s, DMATEST_CMD_COPY, WODATA, DATA, 16, 0, 0, 0);
	cmd(&s, DMATEST_CMD_FILL, 0, DATA + 0x3ff0, 0x20, 1, 0, 0);
	cmd(&s, DMATEST_CMD_READ, 0x5000000, 0, 16, 0, 0, 0);
	seed_map(&s, 0x500, 1, 1, RW, 1);
	cmd(&s, DMATEST_CMD_COPY, DATA, 0x500000, 16, 0, 0, 0);
	seed_unmap(&s, 0x500, 1, 1);
	cmd(&s, DMATEST_CMD_COPY, DATA, 0x500000, 16, 0, 0, 0);
	cmd(&s, DMATEST_CMD_COPY, DATA, DATA + 0x100, 0, 0, 0, 0);
	cmd(&s, DMATEST_CMD_COPY, DATA, DATA + 0x100, DMATEST_MAX_LEN + 1, 0, 0, 0);
	cmd(&s, 0, DATA, DATA + 0x100, 16, 0, 0, 0);
	sg(&s, DATA + 0x1000, 0, DATA, 16, 0);
	sg(&s, DATA + 0x1100, 0, DATA + 0x200, 15, 0);
	cmd(&s, DMATEST_CMD_SG_COPY, DATA + 0x1000, DATA + 0x1100, 0, 0, 1, 1);
	cmd(&s, DMATEST_CMD_SG_COPY, DATA + 0x1000, DATA + 0x1100, 0, 0, 0, 1);
	cmd(&s, DMATEST_CMD_SG_COPY, DATA + 0x1000, DATA + 0x1100, 0, 0, 257, 1);
	sg(&s, DATA + 0x1100, 0, DATA + 0x200, 16, 1);
	cmd(&s, DMATEST_CMD_SG_COPY, DATA + 0x1000, DATA + 0x1100, 0, 0, 1, 1);
	seed_attach(&s, 3);
	cmd(&s, DMATEST_CMD_READ, DATA, 0, 16, 0, 0, 0);
	seed_write(dir, "refusals", &s);

	/* A 24-bit device: addresses it cannot drive. */
	start(&s, W24);
	cmd(&s, DMATEST_CMD_COPY, DATA, DATA + 0x100, 16, 0, 0, 0);
	cmd(&s, DMATEST_CMD_COPY, HIGH, DATA, 16, 0, 0, 0);
	cmd(&s, DMATEST_CMD_FILL, 0, 0xfffff0, 0x20, 2, 0, 0);
	sg(&s, DATA + 0x1000, 0, HIGH, 16, 0);
	sg(&s, DATA + 0x1100, 0, DATA, 16, 0);
	cmd(&s, DMATEST_CMD_SG_COPY, DATA + 0x1000, DATA + 0x1100, 0, 0, 1, 1);
	seed_write(dir, "width", &s);

	/* No bus mastering: nothing moves, no MSI; then back on; then the
	 * MSI capability off and reprogrammed. */
	start(&s, W64);
	command(&s, 0x2);
	cmd(&s, DMATEST_CMD_FILL, 0, DATA, 16, 0x77, 0, 0);
	command(&s, 0x6);
	cmd(&s, DMATEST_CMD_FILL, 0, DATA, 16, 0x77, 0, 0);
	seed_u8(&s, DTF_MSI);
	seed_u16(&s, 0);
	seed_u64(&s, 0xfee01000);
	seed_u16(&s, 0x55);
	cmd(&s, DMATEST_CMD_FILL, 0, DATA, 16, 0x78, 0, 0);
	seed_u8(&s, DTF_MSI);
	seed_u16(&s, 1);
	seed_u64(&s, 0xfee01000);
	seed_u16(&s, 0x55);
	cmd(&s, DMATEST_CMD_FILL, 0, DATA, 16, 0x79, 0, 0);
	seed_write(dir, "bus-master", &s);

	/* Resets and bus mastering off with mappings left: leaks. */
	start(&s, W64);
	cmd(&s, DMATEST_CMD_READ, DATA, 0, 16, 0, 0, 0);
	u32_op(&s, DTF_CTRL, DMATEST_CTRL_RESET);
	seed_map(&s, 0x400, 0, 1, RW, 1);
	command(&s, 0x2);
	command(&s, 0x6);
	u32_op(&s, DTF_CTRL, DMATEST_CTRL_RESET | DMATEST_CTRL_IRQ_ENABLE);
	cmd(&s, DMATEST_CMD_READ, DATA, 0, 16, 0, 0, 0);
	seed_write(dir, "reset-leaks", &s);

	/* The bounce pool (256 KiB): what fits, what does not. */
	start(&s, W64 | DTF_CFG_SMALL_POOL);
	cmd(&s, DMATEST_CMD_READ, DATA, 0, 0x4000, 0, 0, 0);
	cmd(&s, DMATEST_CMD_CMP, DATA, DATA, 0x4000, 0, 0, 0);
	cmd(&s, DMATEST_CMD_FILL, 0, DATA, 0x40000, 1, 0, 0);
	cmd(&s, DMATEST_CMD_FILL, 0, DATA, 0x40001, 1, 0, 0);
	cmd(&s, DMATEST_CMD_CMP, DATA, DATA, 0x30000, 0, 0, 0);
	seed_write(dir, "bounce-pool", &s);

	/* Every register at every width; the doorbell as the upper half of
	 * an 8-byte write; offsets past the registers and the BAR. */
	start(&s, W64);
	for (uint8_t log2 = 0; log2 < 4; log2++)
		for (uint8_t r = 0; r < DTF_NREGS; r++)
			reg(&s, DTF_REG_READ, r, log2, 0);
	reg(&s, DTF_REG_WRITE, DMATEST_CMD / 4, 2, DMATEST_CMD_FILL);
	reg(&s, DTF_REG_WRITE, DMATEST_DST / 4, 3, DATA);
	reg(&s, DTF_REG_WRITE, DMATEST_LEN / 4, 2, 0x10);
	reg(&s, DTF_REG_WRITE, DMATEST_DST_COUNT / 4, 3, 1ull << 32);
	reg(&s, DTF_REG_WRITE, DMATEST_IRQ_STATUS / 4, 2, 1);
	reg(&s, DTF_REG_WRITE, DMATEST_DOORBELL / 4, 1, 1);
	seed_u8(&s, DTF_REG_RAW);
	seed_u16(&s, 0xffc);
	seed_u8(&s, 2);
	seed_u8(&s, DTF_REG_RAW);
	seed_u16(&s, 0x1000);
	seed_u8(&s, 2);
	seed_u8(&s, DTF_DOORBELL);
	seed_write(dir, "registers", &s);

	/* Below a root port, no IOMMU: guest-physical addresses, RAM above
	 * 4 GiB out of reach of a 32-bit device. */
	seed_start(&s, 2 | DTF_CFG_NO_IOMMU | DTF_CFG_ROOT_PORT);
	poke(&s, 0x1000, 64, 1);
	cmd(&s, DMATEST_CMD_COPY, 0x1000, 0x7fe0, 0x20, 0, 0, 0);
	cmd(&s, DMATEST_CMD_COPY, 0x1000, 0x7ff0, 0x20, 0, 0, 0);
	cmd(&s, DMATEST_CMD_COPY, 0x100000000ull, 0x1000, 0x20, 0, 0, 0);
	cmd(&s, DMATEST_CMD_READ, 0x2000, 0, 0x100, 0, 0, 0);
	seed_write(dir, "root-port-no-iommu", &s);
	return 0;
}
