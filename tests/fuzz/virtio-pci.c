/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the virtio-pci transport (vmm/virtio_pci.c) as a
 * guest driver reaches it -- common config, notify, ISR, device config,
 * MSI-X table and PBA through BAR0, the command register and MSI-X
 * control through config space -- with a real device model behind it
 * (virtio-rng, the smallest), its DMA through the real IOMMU and bounce
 * pool.  The host side (MSI delivery, ioeventfd) is stubbed and checks
 * what it is asked.  Input format: tests/fuzz/virtio-pci-format.h.
 *
 * Invariants beyond "no crash":
 * - an MSI goes out only with MSI-X enabled, the function not masked, the
 *   vector's entry inside the table and unmasked, its address and data
 *   the entry's, and bus mastering on;
 * - the transport holds no MSI-X vector it did not validate (each reads
 *   back as written or as VIRTIO_MSI_NO_VECTOR), no pending bit past the
 *   table;
 * - FEATURES_OK only for features offered, with VERSION_1, and with
 *   ACCESS_PLATFORM behind the IOMMU; features frozen after it;
 *   DEVICE_NEEDS_RESET is cleared by a reset only; queue sizes are powers
 *   of two up to the maximum;
 * - the ISR is read-to-clear;
 * - ioeventfds are registered exactly at the notify addresses of the
 *   BAR as decoded now (none while memory decode is off), never twice;
 * - the device writes guest RAM only under a mapping with WRITE
 *   permission, and not at all (nor interrupts) without bus mastering.
 */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/virtio-pci-format.h"
#include "vmm/virtio_devices.h"

#include <errno.h>
#include <string.h>

#include <linux/virtio_config.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#define BDF pci_bdf(VPF_SLOT, 0)
/* An MSI-X table entry (PCI 3.0, 6.8.2.8). */
#define MSIX_ENTRY_ADDR_LO 0
#define MSIX_ENTRY_ADDR_HI 4
#define MSIX_ENTRY_DATA    8
#define MSIX_ENTRY_CTRL    12
#define MSIX_TABLE_MAX (VIRTIO_MSIX_VECTORS + 1)   /* one entry past the table */

static const struct { uint16_t base, span; } region[VPF_NREGIONS] = {
	[VPF_COMMON] = { VPCI_COMMON_OFF, 0x40 },
	[VPF_ISR]    = { VPCI_ISR_OFF, 4 },
	[VPF_DEVICE] = { VPCI_DEVICE_OFF, 0x40 },
	[VPF_NOTIFY] = { VPCI_NOTIFY_OFF, 0x40 },
	[VPF_TABLE]  = { VPCI_MSIX_TABLE, 16 * MSIX_TABLE_MAX },
	[VPF_PBA]    = { VPCI_MSIX_PBA, 0x10 },
	[VPF_ANY]    = { 0, VPCI_BAR_SIZE },
};

static struct {
	uint8_t cfg;
	struct guest_mem ram, before, kick_before;
	bool notified;                /* a notify write in this operation */
	struct fuzz_iommu fi;
	struct fuzz_oracle o;
	struct fuzz_ring ring;
	struct pci_bus bus;
	struct virtio_host host;
	struct virtio_rng rng;
	struct virtio_dev_ops ops;
	unsigned int msix_cap;
	uint64_t msis;
	/* ioeventfds the transport has registered with the stub */
	struct {
		uint64_t gpa;
		int fd;
	} ioev[VIRTIO_MAX_QUEUES];
	unsigned int nioev;
	/* what the last check saw */
	uint8_t status;
	uint64_t features;
} h;

static struct virtio_dev *vd(void)
{
	return &h.rng.vd;
}

static uint16_t command(void)
{
	return pci_get_word(&vd()->pci, PCI_COMMAND);
}

static unsigned int msix_table_size(void)
{
	return (pci_get_word(&vd()->pci, h.msix_cap + 2) & 0x7ff) + 1u;
}

/* ---- the host side, stubbed */

static int stub_signal_msi(void *opaque, uint64_t addr, uint32_t data)
{
	uint16_t ctrl = pci_get_word(&vd()->pci, h.msix_cap + 2);
	bool found = false;

	FUZZ_CHECK((ctrl & 0x8000) && !(ctrl & 0x4000));   /* enabled, function not masked */
	for (unsigned int v = 0; v < msix_table_size(); v++) {
		const struct msix_entry *e = &vd()->msix[v];

		if (!(e->ctrl & 1) && e->data == data && (((uint64_t)e->addr_hi << 32) | e->addr_lo) == addr)
			found = true;
	}
	FUZZ_CHECK(found);
	FUZZ_CHECK(command() & PCI_COMMAND_MASTER);
	h.msis++;
	FUZZ_TRACE("MSI %#llx %#x\n", (unsigned long long)addr, data);
	return 0;
}

static int stub_ioeventfd(void *opaque, uint64_t gpa, unsigned int len, int fd, bool assign)
{
	unsigned int i;

	FUZZ_CHECK(len == 2);
	if (h.cfg & VPF_CFG_NO_IOEVENTFD) {
		FUZZ_CHECK(assign);   /* nothing was ever registered */
		return -ENOSYS;
	}
	for (i = 0; i < h.nioev && h.ioev[i].gpa != gpa; i++)
		;
	if (assign) {
		FUZZ_CHECK(i == h.nioev && h.nioev < VIRTIO_MAX_QUEUES);   /* not twice */
		h.ioev[h.nioev].gpa = gpa;
		h.ioev[h.nioev++].fd = fd;
	} else {
		FUZZ_CHECK(i < h.nioev && h.ioev[i].fd == fd);   /* only what is registered */
		h.ioev[i] = h.ioev[--h.nioev];
	}
	return 0;
}

/* ---- the guest side */

static uint64_t bar0(void)
{
	return pci_config_read(&h.bus, BDF, PCI_BASE_ADDRESS_0, 4) & ~0xfull;
}

/* ECAM decodes before any BAR: a BAR moved over it is shadowed. */
static bool in_ecam(uint64_t gpa)
{
	return gpa >= PCI_ECAM_BASE && gpa - PCI_ECAM_BASE < PCI_ECAM_SIZE;
}

static bool bar_read(unsigned int off, unsigned int size, uint64_t *val)
{
	*val = 0;
	return pci_mmio_access(&h.bus, bar0() + off, false, size, val);
}

static void check_transport(void);

/*
 * A BAR write, checked.  A notify write is where the device does its DMA:
 * only under writable mappings, and nothing at all (no interrupt either)
 * without bus mastering.
 */
static void bar_write(unsigned int off, unsigned int size, uint64_t val)
{
	bool notify = off >= VPCI_NOTIFY_OFF && off < VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * VIRTIO_MAX_QUEUES;
	bool quiet = !(command() & PCI_COMMAND_MASTER);   /* no DMA, no MSI may follow */
	uint64_t msis = h.msis;

	if (notify) {
		h.notified = true;
		fuzz_ram_copy(&h.kick_before, &h.ram);
	}
	pci_mmio_access(&h.bus, bar0() + off, true, size, &val);
	if (notify) {
		fuzz_check_device_writes(&h.o, &h.kick_before, &h.ram);
		if (quiet)
			FUZZ_CHECK(fuzz_ram_equal(&h.kick_before, &h.ram) && h.msis == msis);
	}
	check_transport();
}

static void cfg_write(unsigned int off, unsigned int size, uint32_t val)
{
	uint64_t v = val;

	pci_mmio_access(&h.bus, PCI_ECAM_BASE + ((uint64_t)BDF << 12) + off, true, size, &v);
	check_transport();
}

/* The transport's state, after every access. */
static void check_transport(void)
{
	const struct virtio_dev *d = vd();
	unsigned int table = msix_table_size();
	uint64_t bar = bar0();
	bool decode = command() & PCI_COMMAND_MEMORY;

	if (d->status & VIRTIO_CONFIG_S_FEATURES_OK) {
		FUZZ_CHECK(!(d->driver_features & ~d->device_features));
		FUZZ_CHECK(d->driver_features & (1ull << VIRTIO_F_VERSION_1));
		FUZZ_CHECK(!d->behind_iommu || (d->driver_features & (1ull << VIRTIO_F_ACCESS_PLATFORM)));
		if (h.status & VIRTIO_CONFIG_S_FEATURES_OK)
			FUZZ_CHECK(d->driver_features == h.features);   /* frozen */
	}
	/* NEEDS_RESET goes only with a reset (status 0). */
	if ((h.status & VIRTIO_CONFIG_S_NEEDS_RESET) && !(d->status & VIRTIO_CONFIG_S_NEEDS_RESET))
		FUZZ_CHECK(d->status == 0);
	h.status = d->status;
	h.features = d->driver_features;

	for (unsigned int q = 0; q < d->ops->num_queues; q++) {
		const struct virtqueue *vq = &d->vq[q];

		FUZZ_CHECK(vq->size && vq->size <= vq->max_size && !(vq->size & (vq->size - 1)));
		FUZZ_CHECK(vq->msix_vector == VIRTIO_MSI_NO_VECTOR || vq->msix_vector < table);
	}
	FUZZ_CHECK(d->msix_config == VIRTIO_MSI_NO_VECTOR || d->msix_config < table);
	FUZZ_CHECK(!(d->msix_pending >> table));

	/* ioeventfds: at the notify addresses of the BAR as decoded now. */
	if (!(h.cfg & VPF_CFG_ASYNC) || (h.cfg & VPF_CFG_NO_IOEVENTFD) || !decode || !bar) {
		FUZZ_CHECK(h.nioev == 0);
	} else {
		FUZZ_CHECK(h.nioev == d->ops->num_queues);
		for (unsigned int i = 0; i < h.nioev; i++)
			FUZZ_CHECK(h.ioev[i].gpa >= bar + VPCI_NOTIFY_OFF &&
				   h.ioev[i].gpa < bar + VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * h.nioev &&
				   (h.ioev[i].gpa - bar - VPCI_NOTIFY_OFF) % VPCI_NOTIFY_MULT == 0);
	}
}

static unsigned int access_size(struct fuzz_in *in)
{
	return 1u << (fuzz_u8(in) % 4);
}

static void op_bar(struct fuzz_in *in, bool write)
{
	unsigned int r = fuzz_u8(in) % VPF_NREGIONS;
	unsigned int off = region[r].base + fuzz_u16(in) % region[r].span;
	unsigned int size = access_size(in);
	uint64_t val = write ? fuzz_u64(in) : 0;

	if (write) {
		bar_write(off, size, val);
		return;
	}
	FUZZ_TRACE("BAR0 %#llx: read %u at %#x\n", (unsigned long long)bar0(), size, off);
	if (bar_read(off, size, &val) && off == VPCI_ISR_OFF && !in_ecam(bar0() + off)) {
		FUZZ_CHECK(bar_read(off, size, &val));
		FUZZ_CHECK(val == 0);   /* read to clear */
	}
}

static void op_cfg(struct fuzz_in *in, bool write)
{
	unsigned int off = fuzz_u16(in) % PCI_CFG_SPACE_SIZE, size = access_size(in);
	uint32_t val = write ? fuzz_u32(in) : 0;
	uint64_t v = 0;

	if (write)
		cfg_write(off, size, val);
	else
		pci_mmio_access(&h.bus, PCI_ECAM_BASE + ((uint64_t)BDF << 12) + off, false, size, &v);
}

static void op_msix_entry(struct fuzz_in *in)
{
	unsigned int off = VPCI_MSIX_TABLE + 16 * (fuzz_u8(in) % MSIX_TABLE_MAX);
	uint64_t addr = fuzz_u64(in);
	uint32_t data = fuzz_u32(in), ctrl = fuzz_u32(in);

	bar_write(off + MSIX_ENTRY_ADDR_LO, 4, (uint32_t)addr);
	bar_write(off + MSIX_ENTRY_ADDR_HI, 4, addr >> 32);
	bar_write(off + MSIX_ENTRY_DATA, 4, data);
	bar_write(off + MSIX_ENTRY_CTRL, 4, ctrl);
}

static void op_init(struct fuzz_in *in)
{
	uint8_t feat = fuzz_u8(in), log2 = fuzz_u8(in) % 9;
	uint16_t config_vector = fuzz_u16(in), queue_vector = fuzz_u16(in);
	uint64_t desc = fuzz_u64(in), avail = fuzz_u64(in), used = fuzz_u64(in);
	uint64_t f = (feat & VPF_FEAT_VERSION_1 ? 1ull << VIRTIO_F_VERSION_1 : 0) |
		     (feat & VPF_FEAT_ACCESS_PLATFORM ? 1ull << VIRTIO_F_ACCESS_PLATFORM : 0) |
		     (feat & VPF_FEAT_EVENT_IDX ? 1ull << VIRTIO_RING_F_EVENT_IDX : 0) |
		     (feat & VPF_FEAT_INDIRECT ? 1ull << VIRTIO_RING_F_INDIRECT_DESC : 0) |
		     (feat & VPF_FEAT_UNOFFERED ? 1ull << 63 : 0);
	uint8_t status = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;

	bar_write(VIRTIO_PCI_COMMON_STATUS, 1, 0);
	bar_write(VIRTIO_PCI_COMMON_STATUS, 1, status);
	bar_write(VIRTIO_PCI_COMMON_GFSELECT, 4, 0);
	bar_write(VIRTIO_PCI_COMMON_GF, 4, (uint32_t)f);
	bar_write(VIRTIO_PCI_COMMON_GFSELECT, 4, 1);
	bar_write(VIRTIO_PCI_COMMON_GF, 4, f >> 32);
	if (!(feat & VPF_FEAT_NO_FEATURES_OK))
		status |= VIRTIO_CONFIG_S_FEATURES_OK;
	bar_write(VIRTIO_PCI_COMMON_STATUS, 1, status);
	bar_write(VIRTIO_PCI_COMMON_Q_SELECT, 2, 0);
	bar_write(VIRTIO_PCI_COMMON_Q_SIZE, 2, 1u << log2);
	bar_write(VIRTIO_PCI_COMMON_Q_DESCLO, 4, (uint32_t)desc);
	bar_write(VIRTIO_PCI_COMMON_Q_DESCHI, 4, desc >> 32);
	bar_write(VIRTIO_PCI_COMMON_Q_AVAILLO, 4, (uint32_t)avail);
	bar_write(VIRTIO_PCI_COMMON_Q_AVAILHI, 4, avail >> 32);
	bar_write(VIRTIO_PCI_COMMON_Q_USEDLO, 4, (uint32_t)used);
	bar_write(VIRTIO_PCI_COMMON_Q_USEDHI, 4, used >> 32);
	bar_write(VIRTIO_PCI_COMMON_Q_MSIX, 2, queue_vector);
	bar_write(VIRTIO_PCI_COMMON_MSIX, 2, config_vector);
	bar_write(VIRTIO_PCI_COMMON_Q_ENABLE, 2, 1);
	bar_write(VIRTIO_PCI_COMMON_STATUS, 1, status | VIRTIO_CONFIG_S_DRIVER_OK);
	h.ring.avail_idx = 0;
}

static void op_kick(struct fuzz_in *in)
{
	unsigned int q = fuzz_u8(in) % (VIRTIO_MAX_QUEUES + 1);
	uint64_t msis = h.msis;

	bar_write(VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * q, 2, q);
	FUZZ_TRACE("kick %u: %llu MSIs, used idx %u\n", q, (unsigned long long)(h.msis - msis),
		   vd()->vq[0].used_idx);
}

/* ---- the target */

static void setup(void)
{
	bool iommu = !(h.cfg & VPF_CFG_NO_IOMMU);

	fuzz_ram_start(&h.ram);
	fuzz_iommu_create(&h.fi, &h.ram, SWIOTLB_MIN_POOL);
	fuzz_oracle_init(&h.o, &h.ram, iommu);
	pci_bus_init(&h.bus);
	h.host = (struct virtio_host){ .signal_msi = stub_signal_msi, .ioeventfd = stub_ioeventfd,
				       .mem = &h.ram };
	h.nioev = 0;
	h.msis = 0;
	FUZZ_CHECK(virtio_rng_create(&h.rng, &h.bus, VPF_SLOT, &h.host, iommu ? h.fi.v : NULL) == 0);
	/* Handle notifies on the spot (the transport's own sync path), so that
	 * each kick's work is done when the write returns: deterministic, no
	 * I/O thread.  VPF_CFG_ASYNC keeps the ioeventfd path instead. */
	h.ops = *vd()->ops;
	h.ops.sync_notify = !(h.cfg & VPF_CFG_ASYNC);
	vd()->ops = &h.ops;
	fuzz_dma_setup(&h.fi, &vd()->dma, BDF, h.ops.name, iommu, !(h.cfg & VPF_CFG_NO_BOUNCE));
	if (iommu)
		FUZZ_CHECK(fuzz_req_attach(&h.fi, 1, BDF) == VIRTIO_IOMMU_S_OK);
	h.msix_cap = 0;
	for (unsigned int c = vd()->pci.cfg[PCI_CAPABILITY_LIST]; c; c = vd()->pci.cfg[c + 1])
		if (vd()->pci.cfg[c] == PCI_CAP_ID_MSIX)
			h.msix_cap = c;
	FUZZ_CHECK(h.msix_cap != 0);
	h.ring = (struct fuzz_ring){ 0 };
	h.status = 0;
	h.features = 0;
}

static void teardown(void)
{
	virtio_pci_stop(vd());
	fuzz_dma_teardown(&vd()->dma);
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
		uint8_t op = fuzz_u8(&in) % VPF_NOPS;
		const struct virtqueue *vq0 = &vd()->vq[0];

		FUZZ_TRACE("op %u\n", op);
		fuzz_ram_copy(&h.before, &h.ram);
		h.notified = false;
		/* The driver's view of queue 0: where it told the device it is. */
		h.ring.desc = vq0->desc;
		h.ring.avail = vq0->avail;
		h.ring.used = vq0->used;
		h.ring.size = vq0->size;
		switch (op) {
		case VPF_MAP:
		case VPF_UNMAP:
		case VPF_ATTACH:
			fuzz_iommu_op(&h.fi, &h.o, op, BDF, &in);
			break;
		case VPF_DESC:
		case VPF_AVAIL:
		case VPF_POKE:
			fuzz_ring_op(&h.o, &h.ram, &h.ring, op, &in);
			break;
		case VPF_BAR_READ:   op_bar(&in, false); break;
		case VPF_BAR_WRITE:  op_bar(&in, true); break;
		case VPF_CFG_READ:   op_cfg(&in, false); break;
		case VPF_CFG_WRITE:  op_cfg(&in, true); break;
		case VPF_COMMAND:    cfg_write(PCI_COMMAND, 2, fuzz_u16(&in)); break;
		case VPF_MSIX_CTRL:  cfg_write(h.msix_cap + 2, 2, fuzz_u16(&in)); break;
		case VPF_MSIX_ENTRY: op_msix_entry(&in); break;
		case VPF_INIT:       op_init(&in); break;
		default:             op_kick(&in); break;
		}
		if (op >= VPF_BAR_READ && !h.notified)
			FUZZ_CHECK(fuzz_ram_equal(&h.before, &h.ram));   /* no DMA without a kick */
	}
	teardown();
	return 0;
}
