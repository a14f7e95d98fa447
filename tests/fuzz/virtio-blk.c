/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the virtio-blk device model (vmm/virtio_blk.c) -- its
 * request decoding (IN, OUT, FLUSH, GET_ID, DISCARD, WRITE_ZEROES and
 * whatever else a hostile driver writes) -- on a small in-memory disk
 * (a memfd, so that hole punching and the zeroing fallbacks run), behind
 * the real transport, with its DMA through the real IOMMU and bounce pool
 * and mappings that come and go between the device's runs.  The queue is
 * served on the fuzzer's thread (virtio_run_queue), so each run's work is
 * done when it returns.  Input format: tests/fuzz/virtio-blk-format.h.
 *
 * Invariants beyond "no crash":
 * - the device writes guest RAM only under a mapping with WRITE
 *   permission (anywhere in RAM without the IOMMU);
 * - the disk keeps its size, and a read-only disk keeps every byte;
 * - the device's counters never run backwards, and it never reports more
 *   bytes read or written than the requests it completed can hold;
 * - a device that reported DEVICE_NEEDS_RESET moves no byte until reset.
 */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/virtio-blk-format.h"
#include "vmm/virtio_devices.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#define BDF pci_bdf(VBF_SLOT, 0)

static struct {
	uint8_t cfg;
	struct guest_mem ram, before;
	struct fuzz_iommu fi;
	struct fuzz_oracle o;
	struct pci_bus bus;
	struct virtio_host host;
	struct virtio_blk blk;
	int disk;                          /* the memfd behind the disk */
	char path[64];
	uint8_t pattern[VBF_DISK_BYTES], now[VBF_DISK_BYTES];
	struct fuzz_ring ring;
} h;

static struct virtio_dev *vd(void)
{
	return &h.blk.vd;
}

static int stub_signal_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque, (void)addr, (void)data;
	FUZZ_CHECK(vd()->bus_master);
	return 0;
}

/* The driver: reset, features (all offered but what cfg refuses), the
 * queue at its ring, DRIVER_OK.  No DMA happens here: the queue is not
 * served until VBF_RUN. */
static void driver_init(void)
{
	uint64_t refuse = (h.cfg & VBF_CFG_NO_DWZ ? (1ull << VIRTIO_BLK_F_DISCARD) |
						     (1ull << VIRTIO_BLK_F_WRITE_ZEROES) : 0) |
			  (h.cfg & VBF_CFG_EVENT_IDX ? 0 : 1ull << VIRTIO_RING_F_EVENT_IDX) |
			  (h.cfg & VBF_CFG_INDIRECT ? 0 : 1ull << VIRTIO_RING_F_INDIRECT_DESC);

	fuzz_vpci_features(&h.bus, vd(), refuse);
	fuzz_vpci_queue(&h.bus, vd(), 0, VBF_QSIZE, VBF_RING, VBF_RING + VBF_AVAIL_OFF,
			VBF_RING + VBF_USED_OFF, &h.ring);
	fuzz_vpci_driver_ok(&h.bus, vd());
}

static void check_disk(void)
{
	struct stat st;

	FUZZ_CHECK(fstat(h.disk, &st) == 0 && st.st_size == VBF_DISK_BYTES);
	if (h.cfg & VBF_CFG_RO) {
		FUZZ_CHECK(pread(h.disk, h.now, sizeof(h.now), 0) == (ssize_t)sizeof(h.now));
		FUZZ_CHECK(memcmp(h.now, h.pattern, sizeof(h.now)) == 0);
	}
}

static void op_run(void)
{
	bool needs_reset = vd()->status & VIRTIO_CONFIG_S_NEEDS_RESET;
	uint64_t reads = h.blk.reads, writes = h.blk.writes, errors = h.blk.errors;

	FUZZ_TRACE("run\n");
	virtio_run_queue(vd(), 0, true);
	if (needs_reset)
		FUZZ_CHECK(fuzz_ram_equal(&h.before, &h.ram));
	FUZZ_CHECK(h.blk.reads >= reads && h.blk.writes >= writes && h.blk.errors >= errors);
	/* No request moves more than the disk holds. */
	FUZZ_CHECK(h.blk.bytes_read <= h.blk.reads * (uint64_t)VBF_DISK_BYTES);
	FUZZ_CHECK(h.blk.bytes_written <= h.blk.writes * (uint64_t)VBF_DISK_BYTES);
	FUZZ_TRACE("counters: %llu reads, %llu writes, %llu discards, %llu write-zeroes, %llu errors\n",
		   (unsigned long long)h.blk.reads, (unsigned long long)h.blk.writes,
		   (unsigned long long)h.blk.discards, (unsigned long long)h.blk.write_zeroes,
		   (unsigned long long)h.blk.errors);
	check_disk();
}

/* ---- the target */

static void setup(void)
{
	bool iommu = !(h.cfg & VBF_CFG_NO_IOMMU);

	fuzz_ram_start(&h.ram);
	fuzz_iommu_create(&h.fi, &h.ram, SWIOTLB_MIN_POOL);
	fuzz_oracle_init(&h.o, &h.ram, iommu);
	if (!h.path[0]) {
		h.disk = memfd_create("virtio-blk-fuzz", MFD_CLOEXEC);
		FUZZ_CHECK(h.disk >= 0);
		snprintf(h.path, sizeof(h.path), "/proc/self/fd/%d", h.disk);
		for (size_t i = 0; i < sizeof(h.pattern); i++)
			h.pattern[i] = (uint8_t)(i * 7 + (i >> 9));
	}
	/* The same disk for every input: the pattern, every block allocated. */
	FUZZ_CHECK(ftruncate(h.disk, VBF_DISK_BYTES) == 0);
	FUZZ_CHECK(pwrite(h.disk, h.pattern, sizeof(h.pattern), 0) == (ssize_t)sizeof(h.pattern));
	pci_bus_init(&h.bus);
	h.host = (struct virtio_host){ .signal_msi = stub_signal_msi, .ioeventfd = fuzz_no_ioeventfd,
				       .mem = &h.ram };
	FUZZ_CHECK(virtio_blk_create(&h.blk, &h.bus, VBF_SLOT, &h.host, iommu ? h.fi.v : NULL, h.path,
				     h.cfg & VBF_CFG_RO, 1) == 0);
	fuzz_dma_setup(&h.fi, &vd()->dma, BDF, "virtio-blk", iommu, !(h.cfg & VBF_CFG_NO_BOUNCE));
	if (iommu)
		FUZZ_CHECK(fuzz_req_attach(&h.fi, 1, BDF) == VIRTIO_IOMMU_S_OK);
	pci_config_write(&h.bus, BDF, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	driver_init();
}

static void teardown(void)
{
	virtio_pci_stop(vd());
	fuzz_dma_teardown(&vd()->dma);
	virtio_blk_destroy(&h.blk);
	virtio_pci_destroy_locks(vd());
	pci_bus_destroy(&h.bus);
	pthread_mutex_destroy(&h.bus.lock);
	fuzz_iommu_destroy(&h.fi);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	h.cfg = fuzz_u8(&in);
	setup();
	while (in.left) {
		uint8_t op = fuzz_u8(&in) % VBF_NOPS;

		FUZZ_TRACE("op %u\n", op);
		fuzz_ram_copy(&h.before, &h.ram);
		switch (op) {
		case VBF_MAP:
		case VBF_UNMAP:
		case VBF_ATTACH:
			fuzz_iommu_op(&h.fi, &h.o, op, BDF, &in);
			continue;
		case VBF_DESC:
		case VBF_AVAIL:
		case VBF_POKE:
			fuzz_ring_op(&h.o, &h.ram, &h.ring, op, &in);
			continue;
		case VBF_RUN:
			op_run();
			break;
		default:
			driver_init();
			break;
		}
		/* Whatever the device did, it wrote only where it may. */
		fuzz_check_device_writes(&h.o, &h.before, &h.ram);
	}
	teardown();
	return 0;
}
