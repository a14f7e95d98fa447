/* SPDX-License-Identifier: MIT */
/*
 * Writes the seed corpus of the virtio-pci target (tests/fuzz/virtio-pci.c)
 * into DIR: a driver's whole session with the virtio-rng (features, queue,
 * MSI-X with masking and pending bits, kicks), the same without bus
 * mastering and with vectors past the table, refused feature sets, a
 * malformed ring, BAR moves and sizing with ioeventfds, every common
 * config register read at every width, and no IOMMU.
 */
#include "tests/fuzz/seeds.h"
#include "tests/fuzz/virtio-pci-format.h"

#include <linux/virtio_iommu.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#define RW (VIRTIO_IOMMU_MAP_F_READ | VIRTIO_IOMMU_MAP_F_WRITE)
#define DESC  0x10000ull      /* rings: 2 pages -> phys 0-1 */
#define AVAIL 0x11000ull
#define USED  0x11800ull
#define DATA  0x20000ull      /* 2 pages -> phys 2-3 */
#define ALL_FEATURES (VPF_FEAT_VERSION_1 | VPF_FEAT_ACCESS_PLATFORM | VPF_FEAT_EVENT_IDX | \
		      VPF_FEAT_INDIRECT)

static void u16_op(struct seed *s, uint8_t op, uint16_t v)
{
	seed_u8(s, op);
	seed_u16(s, v);
}

static void msix_entry(struct seed *s, uint8_t vector, uint32_t data, uint32_t ctrl)
{
	seed_u8(s, VPF_MSIX_ENTRY);
	seed_u8(s, vector);
	seed_u64(s, 0xfee00000);
	seed_u32(s, data);
	seed_u32(s, ctrl);
}

static void init(struct seed *s, uint8_t feat, uint8_t log2, uint16_t config_vector,
		 uint16_t queue_vector, uint64_t desc, uint64_t avail, uint64_t used)
{
	seed_u8(s, VPF_INIT);
	seed_u8(s, feat);
	seed_u8(s, log2);
	seed_u16(s, config_vector);
	seed_u16(s, queue_vector);
	seed_u64(s, desc);
	seed_u64(s, avail);
	seed_u64(s, used);
}

static void bar(struct seed *s, uint8_t op, uint8_t region, uint16_t off, uint8_t log2_size,
		uint64_t val)
{
	seed_u8(s, op);
	seed_u8(s, region);
	seed_u16(s, off);
	seed_u8(s, log2_size);
	if (op == VPF_BAR_WRITE)
		seed_u64(s, val);
}

static void cfg_write(struct seed *s, uint16_t off, uint8_t log2_size, uint32_t val)
{
	seed_u8(s, VPF_CFG_WRITE);
	seed_u16(s, off);
	seed_u8(s, log2_size);
	seed_u32(s, val);
}

static void kick(struct seed *s, uint8_t q)
{
	seed_u8(s, VPF_KICK);
	seed_u8(s, q);
}

/* A buffer of `len` device-writable bytes at `addr`, made available. */
static void buffer(struct seed *s, uint16_t idx, uint64_t addr, uint32_t len)
{
	seed_desc(s, 0, idx, addr, len, VRING_DESC_F_WRITE, 0);
	seed_avail(s, 0, idx);
}

/* Mappings, memory decode (and bus mastering), MSI-X on, two vectors. */
static void start(struct seed *s, uint8_t cfg, uint16_t command)
{
	seed_start(s, cfg);
	seed_map(s, DESC >> 12, 0, 2, RW, 1);
	seed_map(s, DATA >> 12, 2, 2, RW, 1);
	u16_op(s, VPF_COMMAND, command);
	u16_op(s, VPF_MSIX_CTRL, 0x8000);
	msix_entry(s, 0, 0x41, 0);
	msix_entry(s, 1, 0x42, 0);
}

int main(int argc, char **argv)
{
	const char *dir = seed_dir(argc, argv);
	struct seed s;

	/* The whole session; a masked vector pends and fires on unmask. */
	start(&s, 0, 0x6);
	init(&s, ALL_FEATURES & ~VPF_FEAT_EVENT_IDX, 4, 0, 1, DESC, AVAIL, USED);
	buffer(&s, 0, DATA, 64);
	kick(&s, 0);
	bar(&s, VPF_BAR_READ, VPF_ISR, 0, 0, 0);
	msix_entry(&s, 1, 0x42, 1);
	buffer(&s, 1, DATA + 0x100, 4096);
	kick(&s, 0);
	bar(&s, VPF_BAR_READ, VPF_PBA, 0, 3, 0);
	msix_entry(&s, 1, 0x42, 0);
	u16_op(&s, VPF_MSIX_CTRL, 0xc000);
	buffer(&s, 2, DATA + 0x1000, 16);
	kick(&s, 0);
	u16_op(&s, VPF_MSIX_CTRL, 0x8000);
	bar(&s, VPF_BAR_WRITE, VPF_COMMON, VIRTIO_PCI_COMMON_STATUS, 0, 0);
	seed_write(dir, "session", &s);

	/* Bus mastering off: no DMA, no MSI (issue 8, 1.5). */
	start(&s, 0, 0x2);
	init(&s, ALL_FEATURES, 4, 0, 1, DESC, AVAIL, USED);
	buffer(&s, 0, DATA, 64);
	kick(&s, 0);
	u16_op(&s, VPF_COMMAND, 0x6);
	kick(&s, 0);
	seed_write(dir, "no-bus-master", &s);

	/* Vectors past the two-entry table (issue 8, 1.6). */
	start(&s, 0, 0x6);
	msix_entry(&s, 7, 0x47, 0);
	init(&s, ALL_FEATURES, 4, 0x1234, 7, DESC, AVAIL, USED);
	bar(&s, VPF_BAR_READ, VPF_COMMON, VIRTIO_PCI_COMMON_MSIX, 1, 0);
	bar(&s, VPF_BAR_READ, VPF_COMMON, VIRTIO_PCI_COMMON_Q_MSIX, 1, 0);
	buffer(&s, 0, DATA, 64);
	kick(&s, 0);
	bar(&s, VPF_BAR_WRITE, VPF_COMMON, VIRTIO_PCI_COMMON_Q_MSIX, 1, 2);
	seed_write(dir, "vectors", &s);

	/* Feature sets the device must refuse, then one it accepts, and
	 * feature writes after FEATURES_OK. */
	start(&s, 0, 0x6);
	init(&s, VPF_FEAT_VERSION_1, 3, 0, 1, DESC, AVAIL, USED);
	init(&s, VPF_FEAT_ACCESS_PLATFORM, 3, 0, 1, DESC, AVAIL, USED);
	init(&s, ALL_FEATURES | VPF_FEAT_UNOFFERED, 3, 0, 1, DESC, AVAIL, USED);
	init(&s, ALL_FEATURES | VPF_FEAT_NO_FEATURES_OK, 3, 0, 1, DESC, AVAIL, USED);
	init(&s, ALL_FEATURES, 3, 0, 1, DESC, AVAIL, USED);
	bar(&s, VPF_BAR_WRITE, VPF_COMMON, VIRTIO_PCI_COMMON_GFSELECT, 2, 0);
	bar(&s, VPF_BAR_WRITE, VPF_COMMON, VIRTIO_PCI_COMMON_GF, 2, 0);
	bar(&s, VPF_BAR_WRITE, VPF_COMMON, VIRTIO_PCI_COMMON_STATUS, 0, 0x8f);
	seed_write(dir, "features", &s);

	/* A malformed ring: DEVICE_NEEDS_RESET and a config interrupt; the
	 * driver cannot clear it but by a reset. */
	start(&s, 0, 0x6);
	init(&s, ALL_FEATURES, 3, 0, 1, DESC, AVAIL, USED);
	seed_desc(&s, 0, 0, DATA, 16, VRING_DESC_F_NEXT, 0);
	seed_avail(&s, 0, 0);
	kick(&s, 0);
	bar(&s, VPF_BAR_WRITE, VPF_COMMON, VIRTIO_PCI_COMMON_STATUS, 0, 0x0f);
	bar(&s, VPF_BAR_READ, VPF_COMMON, VIRTIO_PCI_COMMON_STATUS, 0, 0);
	bar(&s, VPF_BAR_READ, VPF_ISR, 0, 2, 0);
	init(&s, ALL_FEATURES, 3, 0, 1, DESC, AVAIL, USED);
	seed_write(dir, "needs-reset", &s);

	/* An I/O-thread device: its ioeventfds follow BAR0 as the guest sizes
	 * it, moves it and turns decode off and on. */
	for (unsigned int no_ioeventfd = 0; no_ioeventfd < 2; no_ioeventfd++) {
		start(&s, VPF_CFG_ASYNC | (no_ioeventfd ? VPF_CFG_NO_IOEVENTFD : 0), 0x6);
		init(&s, ALL_FEATURES, 4, 0, 1, DESC, AVAIL, USED);
		buffer(&s, 0, DATA, 64);
		kick(&s, 0);
		cfg_write(&s, 0x10, 2, 0xffffffff);
		cfg_write(&s, 0x10, 2, 0xd0000000);
		kick(&s, 0);
		u16_op(&s, VPF_COMMAND, 0x4);
		cfg_write(&s, 0x10, 2, 0xc0100000);
		u16_op(&s, VPF_COMMAND, 0x6);
		cfg_write(&s, 0x10, 1, 0x0020);
		cfg_write(&s, 0x10, 2, 0);
		u16_op(&s, VPF_COMMAND, 0x0);
		seed_write(dir, no_ioeventfd ? "async-no-ioeventfd" : "async-bar-moves", &s);
	}

	/* Every common config register and the device config read at every
	 * width, writes to a queue that does not exist. */
	start(&s, 0, 0x6);
	for (uint8_t log2 = 0; log2 < 4; log2++)
		for (uint16_t off = 0; off < 0x40; off += 1u << log2)
			bar(&s, VPF_BAR_READ, VPF_COMMON, off, log2, 0);
	bar(&s, VPF_BAR_READ, VPF_DEVICE, 0, 2, 0);
	bar(&s, VPF_BAR_WRITE, VPF_COMMON, VIRTIO_PCI_COMMON_Q_SELECT, 1, 5);
	bar(&s, VPF_BAR_WRITE, VPF_COMMON, VIRTIO_PCI_COMMON_Q_SIZE, 1, 8);
	bar(&s, VPF_BAR_WRITE, VPF_COMMON, VIRTIO_PCI_COMMON_Q_ENABLE, 1, 1);
	bar(&s, VPF_BAR_READ, VPF_TABLE, 0x90, 2, 0);
	bar(&s, VPF_BAR_WRITE, VPF_TABLE, 0x90, 2, 0x1234);
	seed_write(dir, "registers", &s);

	/* Not behind the IOMMU: rings and buffers at guest-physical addresses,
	 * one in RAM above 4 GiB. */
	seed_start(&s, VPF_CFG_NO_IOMMU | VPF_CFG_NO_BOUNCE);
	u16_op(&s, VPF_COMMAND, 0x6);
	u16_op(&s, VPF_MSIX_CTRL, 0x8000);
	msix_entry(&s, 1, 0x42, 0);
	init(&s, VPF_FEAT_VERSION_1, 4, 0xffff, 1, 0x0000, 0x1000, 0x1800);
	buffer(&s, 0, 0x100000000ull + 0x1f00, 0x200);
	buffer(&s, 1, 0x4000, 0x100);
	kick(&s, 0);
	seed_write(dir, "guest-physical", &s);
	return 0;
}
