/* SPDX-License-Identifier: MIT */
/*
 * The machine's PCI devices: the virtio-iommu in slot 1, the endpoints
 * behind it (virtio-rng in slot 2, virtio-blk disks from slot 3, dmatest
 * devices from slot 8, virtio-net from slot 12, NVMe controllers from slot 16; untrusted ones below root ports in those slots, see
 * devices_plan()).  The exit report is vmm/report.c's.
 */
#include "vmm/devices.h"
#include "vmm/dmatest.h"
#include "vmm/log.h"
#include "vmm/net_tap.h"
#include "vmm/nvme.h"
#include "vmm/sanitizer.h"
#include "viommu/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What the virtio-iommu library needs from the machine. */
static bool iommu_is_ram(void *opaque, uint64_t gpa, uint64_t len)
{
	struct machine *m = opaque;

	return guest_mem_is_ram(&m->mem, gpa, len);
}

/* A refused DMA queued a fault event: wake the virtio-iommu's I/O thread
 * to post it on the event queue. */
static void iommu_fault_pending(void *opaque)
{
	struct machine *m = opaque;

	virtio_kick(&m->iommu_dev->vd);
}

static const struct viommu_host_ops iommu_host = {
	.is_ram = iommu_is_ram,
	.fault_pending = iommu_fault_pending,
};

/*
 * Wire an endpoint's DMA, once its BDF (dma->endpoint) is final: the IOMMU
 * learns the endpoint and the device gets its port there (no DMA before
 * that), and its data DMA is staged through a bounce account of its own.
 * Every endpoint goes through here, virtio or not.
 */
static int attach_endpoint(struct machine *m, struct dma_space *dma, const char *name)
{
	int ret;

	if (m->viommu) {
		ret = viommu_add_endpoint(m->viommu, dma->endpoint, name);
		if (!ret)
			ret = dma_attach_iommu(dma, m->viommu);
		if (ret) {
			pr_err("%s: cannot put it behind the IOMMU: %s", name, strerror(-ret));
			return ret;
		}
	}
	ret = sanitizer_attach(m, dma, name);
	if (ret)
		pr_err("%s: no bounce account: %s", name, strerror(-ret));
	return ret;
}

/* The root port the plan puts loc behind, if any. */
static int add_root_port(struct machine *m, const struct devices_plan *plan,
			 const struct devices_loc *loc)
{
	const struct devices_port *p;
	int ret;

	if (loc->port < 0)
		return 0;
	p = &plan->port[loc->port];
	ret = pci_add_root_port(&m->pci, p->slot, p->secondary_bus, p->external_facing);
	if (ret)
		pr_err("cannot create the PCIe root port %s: %s", pci_bdf_str(pci_bdf(p->slot, 0)).s,
		       strerror(-ret));
	return ret;
}

/*
 * virtio_pci_init() registers a function on bus 0 in the slot it is given
 * and takes that slot's BDF as its IOMMU endpoint ID.  An endpoint the plan
 * puts behind a root port moves there (its slot becomes the port's) before
 * anything runs, and gets the endpoint ID of its new BDF, which is what
 * the VIOT tells the guest.
 */
static int place_virtio(struct machine *m, const struct devices_plan *plan,
			const struct devices_loc *loc, struct virtio_dev *vd)
{
	int ret;

	if (loc->port < 0)
		return 0;
	ret = pci_unregister(&m->pci, &vd->pci);
	if (ret == 0) {
		ret = add_root_port(m, plan, loc);
		if (ret)
			return ret;
		ret = pci_register_at(&m->pci, &vd->pci, loc->bus, loc->slot);
	}
	if (ret) {
		pr_err("%s: cannot place it at %s: %s", vd->ops->name,
		       pci_bdf_str(pci_bdf_at(loc->bus, loc->slot, 0)).s, strerror(-ret));
		return ret;
	}
	vd->dma.endpoint = pci_device_bdf(&vd->pci);
	return 0;
}

/* dmatest device i of cfg at loc (its root port, if any, exists already). */
static int add_dmatest(struct machine *m, const struct vmm_config *cfg, unsigned int i,
		       const struct devices_loc *loc)
{
	struct dmatest_params p = {
		.index = i,
		.width = cfg->dmatest[i].width,
		.dma = {
			.mem = &m->mem,
			.iommu = m->viommu,
			.endpoint = pci_bdf_at(loc->bus, loc->slot, 0),
		},
		.signal_msi = kvm_signal_msi,
		.msi_opaque = m,
	};
	char name[16];
	int ret;

	snprintf(name, sizeof(name), "dmatest%u", i);
	/* Before it exists: the device keeps a copy of its dma_space. */
	ret = attach_endpoint(m, &p.dma, name);
	if (ret)
		return ret;
	m->dmatest[i] = dmatest_create(&m->pci, loc->bus, loc->slot, &p);
	if (!m->dmatest[i]) {
		ret = -errno;
		pr_err("cannot create %s at %s: %s", name, pci_bdf_str(p.dma.endpoint).s, strerror(-ret));
		return ret;
	}
	m->ndmatest = i + 1;
	return 0;
}

/* A malformed NVMe data pointer: a DMA-API violation naming the rule. */
static void nvme_descriptor_violation(void *opaque, uint32_t endpoint, uint64_t addr, uint64_t len,
				      bool device_write, const char *rule)
{
	struct machine *m = opaque;

	if (m->viommu)
		viommu_report_descriptor(m->viommu, endpoint, addr, len,
					 device_write ? VIOMMU_WRITE : VIOMMU_READ, rule);
}

/* NVMe controller i of cfg at loc (its root port, if any, exists already). */
static int add_nvme(struct machine *m, const struct vmm_config *cfg, unsigned int i,
		    const struct devices_loc *loc)
{
	struct nvme_params p = {
		.index = i,
		/* One I/O queue pair per vCPU unless queues= says. */
		.queues = cfg->nvme[i].queues ? cfg->nvme[i].queues
			: cfg->cpus < NVME_MAX_IO_QUEUES ? (cfg->cpus ? cfg->cpus : 1) : NVME_MAX_IO_QUEUES,
		.dma = {
			.mem = &m->mem,
			.iommu = m->viommu,
			.endpoint = pci_bdf_at(loc->bus, loc->slot, 0),
		},
		.signal_msi = kvm_signal_msi,
		.msi_opaque = m,
		.descriptor_violation = nvme_descriptor_violation,
		.violation_opaque = m,
	};
	char name[16];
	int ret;

	_Static_assert(VMM_MAX_NVME_QUEUES == NVME_MAX_IO_QUEUES, "--nvme queues= and the device agree");
	snprintf(name, sizeof(name), "nvme%u", i);
	if (cfg->nvme[i].serial[0])
		snprintf(p.serial, sizeof(p.serial), "%s", cfg->nvme[i].serial);
	else
		snprintf(p.serial, sizeof(p.serial), "vmm-nvme%u", i);
	ret = disk_open(&p.disk, cfg->nvme[i].path, cfg->nvme[i].read_only, "--nvme");
	if (ret)
		return ret;
	ret = attach_endpoint(m, &p.dma, name);
	if (ret) {
		disk_close(&p.disk);
		return ret;
	}
	m->nvme[i] = nvme_create(&m->pci, loc->bus, loc->slot, &p);
	if (!m->nvme[i]) {
		ret = -errno;
		disk_close(&p.disk);
		pr_err("cannot create %s at %s: %s", name, pci_bdf_str(p.dma.endpoint).s, strerror(-ret));
		return ret;
	}
	m->nnvme = i + 1;
	return 0;
}

_Static_assert(VMM_MAX_NET_QUEUES == VIRTIO_NET_MAX_PAIRS, "--net queues= and the device agree");

/* A locally administered unicast address, one per --net, unless mac= says. */
static void default_mac(unsigned int i, uint8_t mac[6])
{
	const uint8_t base[6] = { 0x02, 0x76, 0x6d, 0x6d, 0x00, 0x01 };   /* 02 "vmm" 00 01 */

	memcpy(mac, base, 6);
	mac[5] = (uint8_t)(mac[5] + i);
}

/* virtio-net i of cfg on its TAP, where the plan puts it. */
static int add_net(struct machine *m, const struct vmm_config *cfg, unsigned int i,
		   const struct devices_plan *plan)
{
	struct net_backend *be = &m->net_backend[i];
	unsigned int mtu = cfg->net[i].mtu;
	uint8_t mac[6];
	char err[256];
	int ret;

	ret = net_tap_open(be, cfg->net[i].tap, cfg->net[i].queues, &mtu, err, sizeof(err));
	if (ret) {
		pr_err("--net tap=%s: %s", cfg->net[i].tap, err);
		return ret;
	}
	m->net[i] = calloc(1, sizeof(*m->net[i]));
	if (!m->net[i])
		return -ENOMEM;
	m->nnet = i + 1;   /* from here on devices_destroy() closes its TAP */
	if (cfg->net[i].has_mac)
		memcpy(mac, cfg->net[i].mac, sizeof(mac));
	else
		default_mac(i, mac);
	ret = virtio_net_create(m->net[i], &m->pci, DEVICES_SLOT_NET0 + i, &m->virtio_host, m->viommu,
				be, mac, (uint16_t)(mtu > UINT16_MAX ? UINT16_MAX : mtu));
	if (ret) {
		pr_err("--net tap=%s: cannot create the virtio-net device: %s", cfg->net[i].tap,
		       strerror(-ret));
		return ret;
	}
	ret = place_virtio(m, plan, &plan->net[i], &m->net[i]->vd);
	if (ret)
		return ret;
	return attach_endpoint(m, &m->net[i]->vd.dma, m->net[i]->vd.ops->name);
}

int devices_create(struct machine *m, const struct vmm_config *cfg, struct acpi_config *acfg)
{
	struct devices_plan plan;
	int ret;

	pci_bus_init(&m->pci);
	m->virtio_host = (struct virtio_host){
		.signal_msi = kvm_signal_msi,
		.ioeventfd = kvm_ioeventfd,
		.opaque = m,
		.mem = &m->mem,
	};
	ret = pci_register_pio(&m->pci, &m->pio);
	if (ret)
		return ret;
	devices_plan(cfg, &plan);
	devices_describe(cfg, acfg);   /* the same plan: the tables match */
	if (devices_untrusted_without_swiotlb(cfg))
		pr_warn("untrusted endpoints need a swiotlb in the guest, which it sets up only with "
			"RAM above 4 GiB or swiotlb=force: without it Linux refuses their sub-page DMA "
			"maps and virtio-blk hangs (add swiotlb=force to --cmdline)");

	if (plan.iommu) {
		struct viommu_config vcfg;

		viommu_default_config(&vcfg);
		m->viommu = viommu_create(&vcfg, &iommu_host, m);
		m->iommu_dev = calloc(1, sizeof(*m->iommu_dev));
		if (!m->viommu || !m->iommu_dev)
			return -ENOMEM;
		ret = virtio_iommu_create(m->iommu_dev, &m->pci, DEVICES_SLOT_IOMMU, &m->virtio_host,
					  m->viommu);
		if (ret) {
			pr_err("cannot create the virtio-iommu: %s", strerror(-ret));
			return ret;
		}
	}
	ret = sanitizer_setup(m, cfg);
	if (ret)
		return ret;
	if (plan.rng.present) {
		m->rng = calloc(1, sizeof(*m->rng));
		if (!m->rng)
			return -ENOMEM;
		ret = virtio_rng_create(m->rng, &m->pci, DEVICES_SLOT_RNG, &m->virtio_host, m->viommu);
		if (ret) {
			pr_err("cannot create virtio-rng: %s", strerror(-ret));
			return ret;
		}
		ret = place_virtio(m, &plan, &plan.rng, &m->rng->vd);
		if (ret)
			return ret;
		ret = attach_endpoint(m, &m->rng->vd.dma, m->rng->vd.ops->name);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < cfg->ndisks; i++) {
		m->blk[i] = calloc(1, sizeof(*m->blk[i]));
		if (!m->blk[i])
			return -ENOMEM;
		ret = virtio_blk_create(m->blk[i], &m->pci, DEVICES_SLOT_DISK0 + i, &m->virtio_host,
					m->viommu, cfg->disk[i].path, cfg->disk[i].read_only, cfg->cpus);
		if (ret) {
			free(m->blk[i]);
			m->blk[i] = NULL;
			return ret;   /* virtio_blk_create said why */
		}
		m->nblk = i + 1;
		ret = place_virtio(m, &plan, &plan.blk[i], &m->blk[i]->vd);
		if (ret)
			return ret;
		ret = attach_endpoint(m, &m->blk[i]->vd.dma, m->blk[i]->vd.ops->name);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < cfg->ndmatest; i++) {
		const struct devices_loc *loc = &plan.dmatest[i];

		/* Its root port first: the device registers behind it. */
		ret = add_root_port(m, &plan, loc);
		if (ret)
			return ret;
		ret = add_dmatest(m, cfg, i, loc);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < cfg->nnets; i++) {
		ret = add_net(m, cfg, i, &plan);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < cfg->nnvme; i++) {
		const struct devices_loc *loc = &plan.nvme[i];

		ret = add_root_port(m, &plan, loc);
		if (ret)
			return ret;
		ret = add_nvme(m, cfg, i, loc);
		if (ret)
			return ret;
	}
	return 0;
}

/* The virtio devices, for i in [0, virtio_count(m)): the IOMMU, the rng,
 * the disks, the network devices (any of them may be absent: NULL). */
static unsigned int virtio_count(const struct machine *m)
{
	return 2 + m->nblk + m->nnet;
}

static struct virtio_dev *each_dev(struct machine *m, unsigned int i)
{
	if (i == 0)
		return m->iommu_dev ? &m->iommu_dev->vd : NULL;
	if (i == 1)
		return m->rng ? &m->rng->vd : NULL;
	if (i - 2 < m->nblk)
		return &m->blk[i - 2]->vd;
	i -= 2 + m->nblk;
	/* ops is set once virtio_pci_init() ran: a device whose creation
	 * failed before that has none. */
	return i < m->nnet && m->net[i] && m->net[i]->vd.ops ? &m->net[i]->vd : NULL;
}

int devices_start(struct machine *m)
{
	for (unsigned int i = 0; i < virtio_count(m); i++) {
		struct virtio_dev *vd = each_dev(m, i);
		int ret;

		if (!vd)
			continue;
		ret = virtio_pci_start(vd);
		if (ret) {
			pr_err("%s: cannot start its I/O thread: %s", vd->ops->name, strerror(-ret));
			return ret;
		}
	}
	for (unsigned int i = 0; i < m->ndmatest; i++) {
		int ret = dmatest_start(m->dmatest[i]);

		if (ret) {
			pr_err("%s: cannot start its DMA engine thread: %s",
			       dmatest_name(m->dmatest[i]), strerror(-ret));
			return ret;
		}
	}
	for (unsigned int i = 0; i < m->nnvme; i++) {
		int ret = nvme_start(m->nvme[i]);

		if (ret) {
			pr_err("%s: cannot start its I/O thread: %s", nvme_name(m->nvme[i]), strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void devices_stop(struct machine *m)
{
	for (unsigned int i = 0; i < m->nnvme; i++)
		nvme_stop(m->nvme[i]);
	for (unsigned int i = 0; i < m->ndmatest; i++)
		dmatest_stop(m->dmatest[i]);
	for (unsigned int i = 0; i < virtio_count(m); i++) {
		struct virtio_dev *vd = each_dev(m, i);

		if (vd && vd->kick_fd >= 0)
			virtio_pci_stop(vd);
	}
}

void devices_dump_state(struct machine *m, const char *why)
{
	for (unsigned int i = 0; i < virtio_count(m); i++) {
		struct virtio_dev *vd = each_dev(m, i);

		if (vd)
			virtio_pci_dump_state(vd, why);
	}
}

void devices_destroy(struct machine *m)
{
	devices_stop(m);
	for (unsigned int i = 0; i < m->nblk; i++) {
		virtio_blk_destroy(m->blk[i]);
		free(m->blk[i]);
	}
	for (unsigned int i = 0; i < m->nnet; i++) {
		if (m->net[i])
			virtio_net_destroy(m->net[i]);
		free(m->net[i]);
		m->net_backend[i].close(&m->net_backend[i]);
	}
	m->nnet = 0;
	free(m->rng);
	if (m->iommu_dev) {
		free(m->iommu_dev->req_buf);
		free(m->iommu_dev->resp_buf);
		free(m->iommu_dev);
	}
	for (unsigned int i = 0; i < m->ndmatest; i++)
		dmatest_destroy(m->dmatest[i]);
	m->ndmatest = 0;
	for (unsigned int i = 0; i < m->nnvme; i++)
		nvme_destroy(m->nvme[i]);
	m->nnvme = 0;
	sanitizer_destroy(m);
	if (m->viommu)
		viommu_destroy(m->viommu);
	pci_bus_destroy(&m->pci);
}
