/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: PCI configuration space through ECAM
 * (pci_mmio_access) and 0xcf8/0xcfc (the port bus), and BAR decode, on a
 * machine laid out as vmm lays it out (devices_plan(): virtio-iommu,
 * virtio-rng, endpoints, dmatest devices, untrusted ones below their own
 * PCIe root port), reached only through the public functions of
 * vmm/pci.h.  The guest sizes and moves BARs, turns decode on and off,
 * renumbers the root ports' buses, walks capabilities, and writes
 * anything anywhere.  Input format: tests/fuzz/pci-config-format.h.
 *
 * Invariants beyond "no crash":
 * - no bit a device does not declare writable (its wmask) ever changes,
 *   and a config write changes no other device than the one the routing
 *   says it goes to;
 * - a read returns the bytes of the device the routing says (function 0
 *   of a bus-0 slot; on a root port's secondary bus, as its registers say
 *   now, device 0 only; nothing elsewhere: all-ones), through ECAM and
 *   through 0xcf8/0xcfc alike;
 * - BAR sizing answers the size mask (all-ones for the upper half of a
 *   64-bit BAR, 0 for an unimplemented one);
 * - a BAR access reaches the device with an offset and size inside the
 *   BAR, only while memory decode is on, at the address the BAR holds;
 *   bar_remapped() reports exactly the moves and decode switches;
 * - the virtio-rng's ioeventfd sits at its notify address while decode
 *   is on, nowhere otherwise;
 * - requester IDs (the IOMMU endpoint of each device) stay what they
 *   were at registration, whatever the bus numbers become.
 */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/pci-config-format.h"
#include "vmm/devices_plan.h"
#include "vmm/dmatest.h"
#include "vmm/pio.h"
#include "vmm/virtio_devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEVS (2 + VMM_MAX_DISKS + VMM_MAX_DMATEST + DEVICES_MAX_PORTS)
#define EP_BAR0_SIZE 0x4000ull     /* 32-bit */
#define EP_BAR2_SIZE 0x100000ull   /* 64-bit, BARs 2-3 */

/* A bare endpoint in a "disk" slot, checking how the bus reaches it. */
struct endpoint {
	struct pci_device pci;
	uint64_t decoded[PCI_NUM_BARS];   /* as bar_remapped() last said */
};

struct dev {
	struct pci_device *pci;
	uint16_t bdf;                 /* where it was registered */
	int port;                     /* index of the root port above it, or -1 */
	bool is_port;
	uint8_t initial[PCI_CFG_SPACE_SIZE], before[PCI_CFG_SPACE_SIZE];
};

static struct {
	struct guest_mem ram;
	struct fuzz_iommu fi;
	struct pci_bus bus;
	struct pio_bus pio;
	struct virtio_host host;
	struct virtio_iommu vi;
	struct virtio_rng rng;
	bool have_vi, have_rng;
	struct endpoint ep[VMM_MAX_DISKS];
	struct dmatest *dt[VMM_MAX_DMATEST];
	struct dma_space dt_dma[VMM_MAX_DMATEST];   /* what they got a copy of */
	unsigned int ndt;
	struct dev dev[MAX_DEVS];
	unsigned int ndev;
	uint64_t last_gpa;            /* of the access under way */
	struct {
		uint64_t gpa;
		int fd;
	} ioev[VIRTIO_MAX_QUEUES];
	unsigned int nioev;
} h;

/* ---- devices */

static uint64_t bar_addr(const struct pci_device *d, unsigned int b)
{
	uint64_t a = pci_get_long(d, PCI_BASE_ADDRESS_0 + 4 * b) & ~0xfull;

	if (d->bar[b].is64)
		a |= (uint64_t)pci_get_long(d, PCI_BASE_ADDRESS_0 + 4 * b + 4) << 32;
	return a;
}

static void check_ep_access(struct pci_device *d, unsigned int b, uint64_t off, unsigned int size)
{
	FUZZ_CHECK(b < PCI_NUM_BARS && d->bar[b].size && pci_memory_enabled(d));
	FUZZ_CHECK(size && off < d->bar[b].size && size <= d->bar[b].size - off);
	FUZZ_CHECK(bar_addr(d, b) + off == h.last_gpa);
}

static uint64_t ep_bar_read(struct pci_device *d, unsigned int b, uint64_t off, unsigned int size)
{
	check_ep_access(d, b, off, size);
	return 0x5a5a5a5a5a5a5a5aull;
}

static void ep_bar_write(struct pci_device *d, unsigned int b, uint64_t off, unsigned int size,
			 uint64_t val)
{
	check_ep_access(d, b, off, size);
}

static void ep_bar_remapped(struct pci_device *d, unsigned int b, uint64_t old_addr, uint64_t new_addr)
{
	struct endpoint *ep = d->opaque;

	FUZZ_CHECK(b < PCI_NUM_BARS && d->bar[b].size);
	FUZZ_CHECK(old_addr == ep->decoded[b]);
	FUZZ_CHECK(new_addr == (pci_memory_enabled(d) ? bar_addr(d, b) : 0));
	ep->decoded[b] = new_addr;
}

static const struct pci_device_ops ep_ops = {
	.bar_read = ep_bar_read,
	.bar_write = ep_bar_write,
	.bar_remapped = ep_bar_remapped,
};

static int stub_signal_msi(void *opaque, uint64_t addr, uint32_t data)
{
	return 0;
}

static int stub_ioeventfd(void *opaque, uint64_t gpa, unsigned int len, int fd, bool assign)
{
	unsigned int i;

	for (i = 0; i < h.nioev && h.ioev[i].gpa != gpa; i++)
		;
	if (assign) {
		FUZZ_CHECK(i == h.nioev && h.nioev < VIRTIO_MAX_QUEUES);
		h.ioev[h.nioev].gpa = gpa;
		h.ioev[h.nioev++].fd = fd;
	} else {
		FUZZ_CHECK(i < h.nioev && h.ioev[i].fd == fd);
		h.ioev[i] = h.ioev[--h.nioev];
	}
	return 0;
}

/* ---- the machine, as vmm/devices.c builds it */

static void add_root_port(const struct devices_plan *plan, const struct devices_loc *loc)
{
	const struct devices_port *p;

	if (loc->port < 0)
		return;
	p = &plan->port[loc->port];
	FUZZ_CHECK(pci_add_root_port(&h.bus, p->slot, p->secondary_bus, p->external_facing) == 0);
}

/* A virtio device the plan puts below a root port moves there. */
static void place_virtio(const struct devices_plan *plan, const struct devices_loc *loc,
			 struct virtio_dev *vd)
{
	if (loc->port < 0)
		return;
	FUZZ_CHECK(pci_unregister(&h.bus, &vd->pci) == 0);
	add_root_port(plan, loc);
	FUZZ_CHECK(pci_register_at(&h.bus, &vd->pci, loc->bus, loc->slot) == 0);
	vd->dma.endpoint = pci_device_bdf(&vd->pci);
}

static void endpoint_init(struct endpoint *ep)
{
	unsigned int cap;

	memset(ep, 0, sizeof(*ep));
	pci_device_init(&ep->pci, "endpoint", 0x1234, 0x5678, 0xff0000, 0x1234, 0x5678);
	ep->pci.ops = &ep_ops;
	ep->pci.opaque = ep;
	FUZZ_CHECK(pci_device_add_bar(&h.bus, &ep->pci, 0, EP_BAR0_SIZE, false) == 0);
	FUZZ_CHECK(pci_device_add_bar(&h.bus, &ep->pci, 2, EP_BAR2_SIZE, true) == 0);
	cap = pci_add_capability(&ep->pci, PCI_CAP_ID_MSIX, 12);
	FUZZ_CHECK(cap != 0);
	ep->pci.wmask[cap + 3] = 0xc0;
}

static void build(uint16_t topo)
{
	struct vmm_config cfg = { .ndisks = (topo & PCF_TOPO_DISKS) >> 3,
				  .ndmatest = (topo & PCF_TOPO_DMATESTS) >> 5,
				  .untrusted = topo & PCF_TOPO_UNTRUSTED,
				  .no_iommu = topo & PCF_TOPO_NO_IOMMU,
				  .no_rng = topo & PCF_TOPO_NO_RNG };
	struct devices_plan plan;

	for (unsigned int i = 0; i < cfg.ndmatest; i++) {
		cfg.dmatest[i].width = 64;
		cfg.dmatest[i].untrusted = topo & (PCF_TOPO_DMATEST_UNTRUSTED & (0x100u << i));
	}
	devices_plan(&cfg, &plan);
	pci_bus_init(&h.bus);
	memset(&h.pio, 0, sizeof(h.pio));
	FUZZ_CHECK(pci_register_pio(&h.bus, &h.pio) == 0);
	h.host = (struct virtio_host){ .signal_msi = stub_signal_msi, .ioeventfd = stub_ioeventfd,
				       .mem = &h.ram };
	h.have_vi = plan.iommu;
	if (h.have_vi)
		FUZZ_CHECK(virtio_iommu_create(&h.vi, &h.bus, DEVICES_SLOT_IOMMU, &h.host, h.fi.v) == 0);
	h.have_rng = plan.rng.present;
	if (h.have_rng) {
		FUZZ_CHECK(virtio_rng_create(&h.rng, &h.bus, DEVICES_SLOT_RNG, &h.host,
					     plan.iommu ? h.fi.v : NULL) == 0);
		place_virtio(&plan, &plan.rng, &h.rng.vd);
		fuzz_dma_setup(&h.fi, &h.rng.vd.dma, pci_device_bdf(&h.rng.vd.pci), "virtio-rng",
			       plan.iommu, true);
	}
	for (unsigned int i = 0; i < cfg.ndisks; i++) {
		const struct devices_loc *loc = &plan.blk[i];

		endpoint_init(&h.ep[i]);
		add_root_port(&plan, loc);
		FUZZ_CHECK(pci_register_at(&h.bus, &h.ep[i].pci, loc->bus, loc->slot) == 0);
	}
	h.ndt = cfg.ndmatest;
	for (unsigned int i = 0; i < cfg.ndmatest; i++) {
		const struct devices_loc *loc = &plan.dmatest[i];
		struct dmatest_params p = { .index = i, .width = 64 };
		char name[16];

		snprintf(name, sizeof(name), "dmatest%u", i);
		add_root_port(&plan, loc);
		fuzz_dma_setup(&h.fi, &p.dma, pci_bdf_at(loc->bus, loc->slot, 0), name, plan.iommu, true);
		h.dt_dma[i] = p.dma;
		h.dt[i] = dmatest_create(&h.bus, loc->bus, loc->slot, &p);
		FUZZ_CHECK(h.dt[i] != NULL);
	}

	/* Everything on the bus, and where. */
	h.ndev = 0;
	for (unsigned int s = 0; s < PCI_MAX_SLOTS; s++) {
		if (!h.bus.dev[s])
			continue;
		h.dev[h.ndev] = (struct dev){ .pci = h.bus.dev[s], .bdf = pci_bdf(s, 0), .port = -1 };
		for (unsigned int i = 0; i < h.bus.nports; i++)
			h.dev[h.ndev].is_port |= &h.bus.port[i]->pci == h.bus.dev[s];
		h.ndev++;
	}
	for (unsigned int i = 0; i < h.bus.nports; i++) {
		struct pci_root_port *rp = h.bus.port[i];

		if (rp->child)
			h.dev[h.ndev++] = (struct dev){ .pci = rp->child, .port = (int)i,
							.bdf = pci_bdf_at(rp->secondary, 0, 0) };
	}
	for (unsigned int i = 0; i < h.ndev; i++) {
		FUZZ_CHECK(pci_device_bdf(h.dev[i].pci) == h.dev[i].bdf);
		memcpy(h.dev[i].initial, h.dev[i].pci->cfg, PCI_CFG_SPACE_SIZE);
	}
}

static void teardown(void)
{
	for (unsigned int i = 0; i < h.ndt; i++) {
		dmatest_destroy(h.dt[i]);
		fuzz_dma_teardown(&h.dt_dma[i]);
	}
	if (h.have_rng) {
		virtio_pci_stop(&h.rng.vd);
		fuzz_dma_teardown(&h.rng.vd.dma);
	}
	if (h.have_vi) {
		virtio_pci_stop(&h.vi.vd);
		free(h.vi.req_buf);
		free(h.vi.resp_buf);
	}
	pci_bus_destroy(&h.bus);
	fuzz_iommu_destroy(&h.fi);
}

/* ---- the routing, from the registers as they are now */

/* The device config cycles for bdf reach; NULL: none.  *unsure when two
 * root ports claim the bus (the guest made them overlap): any answer. */
static struct dev *route(uint16_t bdf, bool *unsure)
{
	unsigned int busnr = bdf >> 8, slot = (bdf >> 3) & 0x1f, claims = 0;
	int port = -1;

	*unsure = false;
	if (bdf & 7)
		return NULL;
	if (busnr == 0) {
		for (unsigned int i = 0; i < h.ndev; i++)
			if (h.dev[i].port < 0 && h.dev[i].bdf == bdf)
				return &h.dev[i];
		return NULL;
	}
	for (unsigned int i = 0; i < h.bus.nports; i++) {
		const uint8_t *c = h.bus.port[i]->pci.cfg;

		if (c[PCI_SECONDARY_BUS] && busnr >= c[PCI_SECONDARY_BUS] &&
		    busnr <= c[PCI_SUBORDINATE_BUS]) {
			claims++;
			port = (int)i;
		}
	}
	if (claims > 1)
		*unsure = true;
	if (claims != 1 || slot != 0 || h.bus.port[port]->pci.cfg[PCI_SECONDARY_BUS] != busnr)
		return NULL;
	for (unsigned int i = 0; i < h.ndev; i++)
		if (h.dev[i].port == port)
			return &h.dev[i];
	return NULL;
}

/* The bdf at which d answers now through ECAM, false if none does for sure. */
static bool current_bdf(const struct dev *d, uint16_t *bdf)
{
	bool unsure;

	*bdf = d->port < 0 ? d->bdf :
	       pci_bdf_at(h.bus.port[d->port]->pci.cfg[PCI_SECONDARY_BUS], 0, 0);
	return (*bdf >> 8) < PCI_MAX_BUSES && route(*bdf, &unsure) == d;
}

static uint32_t mask_of(unsigned int size)
{
	return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
}

/* What a config read of (bdf, reg, size) returns; false: cannot tell. */
static bool expected_read(uint16_t bdf, unsigned int reg, unsigned int size, uint32_t *val)
{
	bool unsure;
	struct dev *d;

	*val = 0xffffffffu;
	if (reg >= PCI_CFG_SPACE_SIZE || (size != 1 && size != 2 && size != 4) || (reg & (size - 1)))
		return true;
	d = route(bdf, &unsure);
	if (unsure)
		return false;
	if (d) {
		*val = 0;
		for (unsigned int i = 0; i < size; i++)
			*val |= (uint32_t)d->pci->cfg[reg + i] << (8 * i);
	}
	return true;
}

/* ---- invariants */

static void snapshot(void)
{
	for (unsigned int i = 0; i < h.ndev; i++)
		memcpy(h.dev[i].before, h.dev[i].pci->cfg, PCI_CFG_SPACE_SIZE);
}

/* After any access; `target`: the device a config write went to (all
 * may have changed when `any`). */
static void check(const struct dev *target, bool any)
{
	for (unsigned int i = 0; i < h.ndev; i++) {
		const struct dev *d = &h.dev[i];

		/* (checked after every access: only a change can break it) */
		if (!memcmp(d->before, d->pci->cfg, PCI_CFG_SPACE_SIZE))
			continue;
		FUZZ_CHECK(any || d == target);
		for (unsigned int b = 0; b < PCI_CFG_SPACE_SIZE; b++)
			FUZZ_CHECK(!((d->pci->cfg[b] ^ d->initial[b]) & ~d->pci->wmask[b]));
	}
	if (h.have_rng) {
		struct pci_device *p = &h.rng.vd.pci;
		uint64_t bar = bar_addr(p, 0);

		FUZZ_CHECK(h.rng.vd.dma.endpoint == pci_device_bdf(p));
		if (pci_memory_enabled(p) && bar)
			FUZZ_CHECK(h.nioev == 1 && h.ioev[0].gpa == bar + VPCI_NOTIFY_OFF);
		else
			FUZZ_CHECK(h.nioev == 0);
	}
	for (unsigned int i = 0; i < h.ndt; i++)
		FUZZ_CHECK(dmatest_endpoint(h.dt[i]) == pci_device_bdf(dmatest_pci(h.dt[i])));
}

/* ---- operations */

static unsigned int size_of(struct fuzz_in *in, unsigned int sizes)
{
	return 1u << (fuzz_u8(in) % sizes);
}

static uint64_t ecam(uint16_t bdf, unsigned int reg)
{
	return PCI_ECAM_BASE + ((uint64_t)bdf << 12) + reg;
}

static uint32_t ecam_read(uint16_t bdf, unsigned int reg, unsigned int size)
{
	uint64_t v = 0;

	h.last_gpa = ecam(bdf, reg);
	FUZZ_CHECK(pci_mmio_access(&h.bus, h.last_gpa, false, size, &v));
	return (uint32_t)v;
}

/* A config write through ECAM, checked. */
static void ecam_write(uint16_t bdf, unsigned int reg, unsigned int size, uint32_t val)
{
	uint64_t v = val;
	bool unsure;
	struct dev *d = route(bdf, &unsure);

	snapshot();
	h.last_gpa = ecam(bdf, reg);
	FUZZ_CHECK(pci_mmio_access(&h.bus, h.last_gpa, true, size, &v));
	check(d, unsure);
}

static void op_ecam(struct fuzz_in *in, bool write)
{
	uint16_t bdf = (uint16_t)((fuzz_u8(in) % PCI_MAX_BUSES) << 8 | fuzz_u8(in));
	unsigned int reg = fuzz_u16(in) % PCI_CFG_SPACE_SIZE, size = size_of(in, 4);
	uint32_t val = write ? fuzz_u32(in) : 0, want;

	if (write) {
		ecam_write(bdf, reg, size, val);
		return;
	}
	val = ecam_read(bdf, reg, size);
	if (size <= 4 && expected_read(bdf, reg, size, &want))
		FUZZ_CHECK((val & mask_of(size)) == (want & mask_of(size)));
}

static void op_cf8_set(struct fuzz_in *in)
{
	uint32_t bus = fuzz_u8(in), devfn = fuzz_u8(in), reg = fuzz_u16(in) % PCI_CFG_SPACE_SIZE;
	uint32_t latch = (fuzz_u8(in) & 1u) << 31 | (reg & 0xf00) << 16 | bus << 16 | devfn << 8 |
			 (reg & 0xfc);

	pio_access(&h.pio, PCI_CONFIG_ADDRESS, true, 4, &latch);
}

static void op_cfc(struct fuzz_in *in, bool write)
{
	unsigned int port = fuzz_u8(in) % 8, size = size_of(in, 3);
	uint32_t val = write ? fuzz_u32(in) : 0, latch = 0, want;
	uint16_t bdf;
	unsigned int reg;
	bool unsure = false;
	struct dev *d;

	h.last_gpa = 0;
	FUZZ_CHECK(pio_access(&h.pio, PCI_CONFIG_ADDRESS, false, 4, &latch));
	bdf = (uint16_t)(latch >> 8);
	reg = (latch & 0xfc) | ((latch >> 16) & 0xf00) | (port >= 4 ? port - 4 : 0);
	d = route(bdf, &unsure);
	if (write) {
		snapshot();
		FUZZ_CHECK(pio_access(&h.pio, (uint16_t)(PCI_CONFIG_ADDRESS + port), true, size, &val));
		/* Only the data port with the enable bit set writes, and only
		 * the device the latch routes to. */
		check(port >= 4 && (latch >> 31) ? d : NULL, unsure);
		return;
	}
	FUZZ_CHECK(pio_access(&h.pio, (uint16_t)(PCI_CONFIG_ADDRESS + port), false, size, &val));
	if (port == 0 && size == 4)
		FUZZ_CHECK(val == latch);
	if (port < 4)
		return;
	if (!(latch >> 31))
		FUZZ_CHECK(val == 0xffffffffu);
	else if (expected_read(bdf, reg, size, &want))
		FUZZ_CHECK((val & mask_of(size)) == (want & mask_of(size)));
	/* ... the same as through ECAM, where ECAM reaches (16 buses) */
	if ((latch >> 31) && (bdf >> 8) < PCI_MAX_BUSES && reg < PCI_CFG_SPACE_SIZE &&
	    !(reg & (size - 1)) && size != 8)
		FUZZ_CHECK((ecam_read(bdf, reg, size) & mask_of(size)) == (val & mask_of(size)));
}

static void mmio(uint64_t gpa, unsigned int size, bool write, uint64_t val)
{
	h.last_gpa = gpa;
	pci_mmio_access(&h.bus, gpa, write, size, &val);
	check(NULL, false);
}

static void op_mmio(struct fuzz_in *in)
{
	struct dev *d = h.ndev ? &h.dev[fuzz_u8(in) % h.ndev] : NULL;
	unsigned int b = fuzz_u8(in) % PCI_NUM_BARS;
	uint32_t off = fuzz_u32(in);
	unsigned int size = size_of(in, 4);
	bool write = fuzz_u8(in) & 1;
	uint64_t val = fuzz_u64(in);

	if (!d || !d->pci->bar[b].size)
		return;
	snapshot();
	mmio(bar_addr(d->pci, b) + off % (2 * d->pci->bar[b].size), size, write, val);
}

static void op_mmio_raw(struct fuzz_in *in)
{
	uint64_t gpa = fuzz_u64(in);
	unsigned int size = size_of(in, 4);
	bool write = fuzz_u8(in) & 1;
	uint64_t val = fuzz_u64(in);

	snapshot();
	mmio(gpa, size, write, val);
}

static void op_size_bar(struct fuzz_in *in)
{
	struct dev *d = h.ndev ? &h.dev[fuzz_u8(in) % h.ndev] : NULL;
	unsigned int b = fuzz_u8(in) % PCI_NUM_BARS, reg = PCI_BASE_ADDRESS_0 + 4 * b;
	uint32_t old, got, want;
	uint16_t bdf;

	if (!d || d->is_port || !current_bdf(d, &bdf))
		return;   /* (a bridge's 0x10-0x27 is not six BARs) */
	old = ecam_read(bdf, reg, 4);
	ecam_write(bdf, reg, 4, 0xffffffffu);
	got = ecam_read(bdf, reg, 4);
	if (d->pci->bar[b].size)
		want = (uint32_t)~(d->pci->bar[b].size - 1) |
		       (d->pci->bar[b].is64 ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0);
	else
		want = b && d->pci->bar[b - 1].is64 ? 0xffffffffu : 0;
	FUZZ_CHECK(got == want);
	ecam_write(bdf, reg, 4, old);
}

static void op_renumber(struct fuzz_in *in)
{
	uint8_t i = fuzz_u8(in), sec = fuzz_u8(in), sub = fuzz_u8(in);
	uint16_t bdf;

	if (!h.bus.nports)
		return;
	bdf = pci_bdf(h.bus.port[i % h.bus.nports]->pci.slot, 0);
	ecam_write(bdf, PCI_SECONDARY_BUS, 1, sec);
	ecam_write(bdf, PCI_SUBORDINATE_BUS, 1, sub);
}

static void op_command(struct fuzz_in *in)
{
	struct dev *d = h.ndev ? &h.dev[fuzz_u8(in) % h.ndev] : NULL;
	uint16_t val = fuzz_u16(in), bdf;

	if (d && current_bdf(d, &bdf))
		ecam_write(bdf, PCI_COMMAND, 2, val);
}

/* ---- the target */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint16_t topo = fuzz_u16(&in);

	fuzz_ram_start(&h.ram);
	fuzz_iommu_create(&h.fi, &h.ram, SWIOTLB_MIN_POOL);
	h.nioev = 0;
	build(topo);
	while (in.left) {
		switch (fuzz_u8(&in) % PCF_NOPS) {
		case PCF_ECAM_READ:  op_ecam(&in, false); break;
		case PCF_ECAM_WRITE: op_ecam(&in, true); break;
		case PCF_CF8: {
			uint32_t v = fuzz_u32(&in);

			pio_access(&h.pio, PCI_CONFIG_ADDRESS, true, 4, &v);
			break;
		}
		case PCF_CF8_SET:    op_cf8_set(&in); break;
		case PCF_CFC_READ:   op_cfc(&in, false); break;
		case PCF_CFC_WRITE:  op_cfc(&in, true); break;
		case PCF_MMIO:       op_mmio(&in); break;
		case PCF_MMIO_RAW:   op_mmio_raw(&in); break;
		case PCF_SIZE_BAR:   op_size_bar(&in); break;
		case PCF_RENUMBER:   op_renumber(&in); break;
		default:             op_command(&in); break;
		}
	}
	teardown();
	return 0;
}
