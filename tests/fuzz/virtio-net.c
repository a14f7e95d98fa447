/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the virtio-net device model (vmm/virtio_net.c) -- its
 * TX, RX and control chain handling -- on a fake TAP (SOCK_SEQPACKET
 * socket pairs, one frame per read or write), behind the real transport,
 * with its DMA through the real IOMMU and bounce pool and mappings that
 * come and go between the device's runs.  The queues are served on the
 * fuzzer's thread (virtio_run_queue), so each run's work is done when it
 * returns.  Input format: tests/fuzz/virtio-net-format.h.
 *
 * Invariants beyond "no crash":
 * - the device writes guest RAM only under a mapping with WRITE
 *   permission (anywhere in RAM without the IOMMU);
 * - every frame that reaches the TAP has a header and an Ethernet header,
 *   fits the device's buffer, and carries only what the negotiated
 *   features allow (NEEDS_CSUM with CSUM and inside the frame, TSO with
 *   HOST_TSO4/6 and a segment size, ECN with HOST_ECN, no other flag);
 * - the device's TX counters are exactly the frames and bytes the TAP got;
 * - every frame sent to the device is delivered, dropped or still waiting
 *   (counted once);
 * - a device that reported DEVICE_NEEDS_RESET moves no byte until reset.
 */
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/virtio-net-format.h"
#include "vmm/virtio_net.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#define BDF pci_bdf(VNF_SLOT, 0)
#define F(x) (1ull << VIRTIO_NET_F_##x)

static struct {
	uint8_t cfg;
	struct guest_mem ram, before;
	struct fuzz_iommu fi;
	struct fuzz_oracle o;
	struct pci_bus bus;
	struct virtio_host host;
	struct virtio_net net;
	struct net_backend be;
	int peer[2];                       /* the host's ends of the TAP queues */
	bool sockets;
	unsigned int nq;
	struct fuzz_ring ring[2 * 2 + 1];
	unsigned int sel;
	uint64_t sent, tx_frames, tx_bytes;
	uint8_t buf[VIRTIO_NET_BUF_SIZE];
} h;

static struct virtio_dev *vd(void)
{
	return &h.net.vd;
}

static int stub_signal_msi(void *opaque, uint64_t addr, uint32_t data)
{
	(void)opaque, (void)addr, (void)data;
	FUZZ_CHECK(vd()->bus_master);
	return 0;
}

/* The driver: reset, features (all offered but what cfg refuses), every
 * queue at its ring, DRIVER_OK.  No DMA happens here: no queue is served
 * until VNF_RUN. */
static void driver_init(void)
{
	uint64_t refuse = (h.cfg & VNF_CFG_NO_MRG ? F(MRG_RXBUF) : 0) |
			  (h.cfg & VNF_CFG_NO_OFFLOAD ? F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) |
			   F(GUEST_ECN) : 0) |
			  (h.cfg & VNF_CFG_NO_MQ ? F(MQ) : 0) |
			  (h.cfg & VNF_CFG_EVENT_IDX ? 0 : 1ull << VIRTIO_RING_F_EVENT_IDX) |
			  (h.cfg & VNF_CFG_INDIRECT ? 0 : 1ull << VIRTIO_RING_F_INDIRECT_DESC);

	fuzz_vpci_features(&h.bus, vd(), refuse);
	for (unsigned int q = 0; q < h.nq; q++)
		fuzz_vpci_queue(&h.bus, vd(), q, VNF_QSIZE, VNF_RING(q), VNF_RING(q) + VNF_AVAIL_OFF,
				VNF_RING(q) + VNF_USED_OFF, &h.ring[q]);
	fuzz_vpci_driver_ok(&h.bus, vd());
}

/* ---- the fake TAP */

static void drain_peer(int fd)
{
	while (read(fd, h.buf, sizeof(h.buf)) >= 0)
		;
}

static void op_frame(struct fuzz_in *in)
{
	unsigned int pair = fuzz_u8(in) % h.be.queues;
	struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };
	size_t len;
	uint8_t seed;

	hdr.hdr.flags = fuzz_u8(in);
	hdr.hdr.gso_type = fuzz_u8(in);
	hdr.hdr.gso_size = fuzz_u16(in);
	hdr.hdr.csum_start = fuzz_u16(in);
	hdr.hdr.csum_offset = fuzz_u16(in);
	len = fuzz_u16(in);
	seed = fuzz_u8(in);
	memcpy(h.buf, &hdr, sizeof(hdr));
	for (size_t i = 0; i < len; i++)
		h.buf[sizeof(hdr) + i] = (uint8_t)(seed + i);
	if (write(h.peer[pair], h.buf, sizeof(hdr) + len) == (ssize_t)(sizeof(hdr) + len))
		h.sent++;
	FUZZ_TRACE("frame of %zu bytes on pair %u\n", len, pair);
}

/* What reached the TAP is what the negotiated features allow. */
static void check_sent_frames(void)
{
	uint64_t f = vd()->driver_features;

	for (unsigned int p = 0; p < h.be.queues; p++) {
		ssize_t n;

		while ((n = read(h.peer[p], h.buf, sizeof(h.buf))) >= 0) {
			struct virtio_net_hdr_mrg_rxbuf hdr;
			uint8_t gso;

			FUZZ_CHECK(n >= VIRTIO_NET_HDR_LEN + ETH_HLEN && n <= VIRTIO_NET_BUF_SIZE);
			memcpy(&hdr, h.buf, sizeof(hdr));
			gso = hdr.hdr.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
			FUZZ_CHECK(!(hdr.hdr.flags & (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM));
			if (hdr.hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
				FUZZ_CHECK((f & F(CSUM)) && hdr.hdr.csum_start + hdr.hdr.csum_offset + 2u <=
					   (size_t)n - VIRTIO_NET_HDR_LEN);
			FUZZ_CHECK(gso == VIRTIO_NET_HDR_GSO_NONE ||
				   (gso == VIRTIO_NET_HDR_GSO_TCPV4 && (f & F(HOST_TSO4))) ||
				   (gso == VIRTIO_NET_HDR_GSO_TCPV6 && (f & F(HOST_TSO6))));
			if (gso != VIRTIO_NET_HDR_GSO_NONE)
				FUZZ_CHECK(hdr.hdr.gso_size && (hdr.hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM));
			if (hdr.hdr.gso_type & VIRTIO_NET_HDR_GSO_ECN)
				FUZZ_CHECK(gso != VIRTIO_NET_HDR_GSO_NONE && (f & F(HOST_ECN)));
			h.tx_frames++;
			h.tx_bytes += (uint64_t)n - VIRTIO_NET_HDR_LEN;
		}
		FUZZ_CHECK(errno == EAGAIN);
	}
}

static void check_counters(void)
{
	uint64_t frames = 0, bytes = 0, rx_seen = 0;

	for (unsigned int p = 0; p < h.be.queues; p++) {
		struct virtio_net_queue_stats rx, tx;

		virtio_net_stats(&h.net, p, &rx, &tx);
		frames += tx.packets;
		bytes += tx.bytes;
		rx_seen += rx.packets + rx.drops + h.net.pair[p].rx_pending;
	}
	FUZZ_TRACE("counters: %llu frames sent (%llu bytes), %llu received or dropped of %llu; "
		   "control %llu ok, %llu refused\n",
		   (unsigned long long)frames, (unsigned long long)bytes, (unsigned long long)rx_seen,
		   (unsigned long long)h.sent, (unsigned long long)h.net.ctrl_ok,
		   (unsigned long long)h.net.ctrl_err);
	FUZZ_CHECK(frames == h.tx_frames && bytes == h.tx_bytes);
	/* Each frame the host sent is delivered, dropped or waiting once;
	 * frames still in the socket are not counted yet. */
	FUZZ_CHECK(rx_seen <= h.sent);
}

static void op_run(struct fuzz_in *in)
{
	unsigned int q = fuzz_u8(in) % h.nq;
	bool needs_reset = vd()->status & VIRTIO_CONFIG_S_NEEDS_RESET;

	FUZZ_TRACE("run queue %u\n", q);
	virtio_run_queue(vd(), q, true);
	if (needs_reset)
		FUZZ_CHECK(fuzz_ram_equal(&h.before, &h.ram));
	check_sent_frames();
	check_counters();
}

/* ---- the target */

static void setup(void)
{
	bool iommu = !(h.cfg & VNF_CFG_NO_IOMMU);
	static const uint8_t mac[6] = { 0x02, 0, 0, 0, 0, 1 };

	fuzz_ram_start(&h.ram);
	fuzz_iommu_create(&h.fi, &h.ram, SWIOTLB_MIN_POOL);
	fuzz_oracle_init(&h.o, &h.ram, iommu);
	if (!h.sockets) {
		for (unsigned int p = 0; p < 2; p++) {
			int sv[2];

			FUZZ_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
					      sv) == 0);
			h.be.fd[p] = sv[0];
			h.peer[p] = sv[1];
		}
		h.sockets = true;
	}
	for (unsigned int p = 0; p < 2; p++) {
		drain_peer(h.be.fd[p]);
		drain_peer(h.peer[p]);
		h.be.attached[p] = true;
	}
	h.be.queues = h.cfg & VNF_CFG_TWO_PAIRS ? 2 : 1;
	snprintf(h.be.name, sizeof(h.be.name), "fuzz");
	h.nq = 2 * h.be.queues + 1;
	h.sent = h.tx_frames = h.tx_bytes = 0;
	h.sel = 0;
	pci_bus_init(&h.bus);
	h.host = (struct virtio_host){ .signal_msi = stub_signal_msi, .ioeventfd = fuzz_no_ioeventfd,
				       .mem = &h.ram };
	FUZZ_CHECK(virtio_net_create(&h.net, &h.bus, VNF_SLOT, &h.host, iommu ? h.fi.v : NULL, &h.be, mac,
				     1500) == 0);
	fuzz_dma_setup(&h.fi, &vd()->dma, BDF, "virtio-net", iommu, !(h.cfg & VNF_CFG_NO_BOUNCE));
	if (iommu)
		FUZZ_CHECK(fuzz_req_attach(&h.fi, 1, BDF) == VIRTIO_IOMMU_S_OK);
	pci_config_write(&h.bus, BDF, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	driver_init();
}

static void teardown(void)
{
	virtio_pci_stop(vd());
	fuzz_dma_teardown(&vd()->dma);
	virtio_net_destroy(&h.net);
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
		uint8_t op = fuzz_u8(&in) % VNF_NOPS;

		FUZZ_TRACE("op %u\n", op);
		fuzz_ram_copy(&h.before, &h.ram);
		switch (op) {
		case VNF_MAP:
		case VNF_UNMAP:
		case VNF_ATTACH:
			fuzz_iommu_op(&h.fi, &h.o, op, BDF, &in);
			continue;
		case VNF_DESC:
		case VNF_AVAIL:
		case VNF_POKE:
			fuzz_ring_op(&h.o, &h.ram, &h.ring[h.sel], op, &in);
			continue;
		case VNF_SELECT:
			h.sel = fuzz_u8(&in) % h.nq;
			continue;
		case VNF_FRAME:
			op_frame(&in);
			continue;
		case VNF_RUN:
			op_run(&in);
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
