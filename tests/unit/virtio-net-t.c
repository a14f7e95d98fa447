/* SPDX-License-Identifier: MIT */
/*
 * virtio-net driven end to end as a guest driver drives it, without KVM
 * and without a TAP: the backend is a fake whose queues are SOCK_SEQPACKET
 * socket pairs (one frame per read or write, like a TAP), the test plays
 * the host on the other ends, and the guest's side is the transport
 * through the PCI bus with rings in fake guest memory.  What is checked:
 * the header translation and offloads, TX (one snapshot, checked headers,
 * malformed chains dropped), RX with and without MRG_RXBUF (num_buffers,
 * too-small buffers, waiting for buffers), a refused RX write that writes
 * nothing and a TX through an unmapped IOVA that is not sent (behind the
 * real IOMMU), the control queue (MQ, MAC, malformed commands), traffic on
 * a second queue pair, and the counters.
 */
#include "vmm/pci.h"
#include "vmm/virtio_net.h"
#include "viommu/viommu.h"
#include "vmm/log.h"
#include "tests/tap/basic.h"
#include "tests/unit/viommu-util.h"
#include "tests/unit/vpci-driver.h"
#include "tests/unit/vring-util.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <dirent.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/sockios.h>

#include <linux/if_tun.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>

#define MEM_SIZE (64ull << 20)
#define QSZ      16
#define RINGS    0x100000ull           /* queue q's rings at RINGS + q * 0x1000 */
#define BUFS     0x200000ull           /* buffers */
#define HDR      VIRTIO_NET_HDR_LEN
#define MSI_DATA(v) (0x40u + (v))
#define ENDPOINT_SLOT 5

static struct pci_bus bus;
static struct guest_mem mem;

static const struct viommu_host_ops ram_ops = { .is_ram = vpci_is_ram };
static struct virtio_host host = { .signal_msi = vpci_ignore_msi, .ioeventfd = vpci_no_ioeventfd };

/* ---- the fake TAP: socket pairs, offloads and queues recorded ----------- */

struct fake {
	struct net_backend be;
	int peer[VIRTIO_NET_MAX_PAIRS];   /* the host's ends */
	unsigned int offload;             /* last TUNSETOFFLOAD */
	unsigned int offload_calls;
};

static int fake_set_offload(struct net_backend *be, unsigned int flags)
{
	struct fake *f = (struct fake *)be;

	__atomic_store_n(&f->offload, flags, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&f->offload_calls, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int fake_enable_queue(struct net_backend *be, unsigned int q, bool on)
{
	be->attached[q] = on;
	return 0;
}

static void fake_open(struct fake *f, unsigned int queues)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->be.name, sizeof(f->be.name), "fake%u", queues);
	f->be.queues = queues;
	f->be.set_offload = fake_set_offload;
	f->be.enable_queue = fake_enable_queue;
	for (unsigned int q = 0; q < queues; q++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
			bail("socketpair");
		f->be.fd[q] = sv[0];
		f->peer[q] = sv[1];
		f->be.attached[q] = true;
	}
}

static void fake_close(struct fake *f)
{
	for (unsigned int q = 0; q < f->be.queues; q++) {
		close(f->be.fd[q]);
		close(f->peer[q]);
	}
}

/* The host sends a frame: header (flags, gso) and `len` bytes of pattern `seed`. */
static void host_send(struct fake *f, unsigned int q, uint8_t flags, uint8_t gso, size_t len,
		      uint8_t seed)
{
	static uint8_t buf[VIRTIO_NET_BUF_SIZE];
	struct virtio_net_hdr_mrg_rxbuf *h = (void *)buf;

	memset(buf, 0, HDR);
	h->hdr.flags = flags;
	h->hdr.gso_type = gso;
	h->num_buffers = 0xdead;   /* the device's to set */
	for (size_t i = 0; i < len; i++)
		buf[HDR + i] = (uint8_t)(seed + i);
	if (write(f->peer[q], buf, HDR + len) != (ssize_t)(HDR + len))
		bail("host_send");
}

/* What the device sent to the host on queue q: its length, or -1 (none within the wait). */
static ssize_t host_recv(struct fake *f, unsigned int q, void *buf, size_t len, bool wait)
{
	ssize_t n = -1;

	for (int i = 0; i < (wait ? 5000 : 50); i++) {
		n = read(f->peer[q], buf, len);
		if (n >= 0 || errno != EAGAIN)
			break;
		usleep(1000);
	}
	return n;
}

/* ---- the guest driver's rings ------------------------------------------- */

struct dq {
	unsigned int q;
	uint64_t desc, avail, used;
	uint16_t avail_idx, next;
};

static void dq_init(struct vpci_drv *d, struct dq *dq, unsigned int q)
{
	dq->q = q;
	dq->desc = RINGS + q * 0x1000ull;
	dq->avail = dq->desc + 0x200;
	dq->used = dq->desc + 0x400;
	dq->avail_idx = 0;
	dq->next = 0;
	vpci_queue(d, q, QSZ, dq->desc, dq->avail, dq->used, (uint16_t)(q + 1));
}

struct seg {
	uint64_t addr;
	uint32_t len;
	bool write;
};

/* Offer a chain of n segments (without kicking); returns its head. */
static uint16_t dq_post(struct dq *dq, const struct seg *s, unsigned int n)
{
	uint16_t head = dq->next;
	uint16_t *a = guest_mem_ptr(&mem, dq->avail, 4 + 2 * QSZ);

	for (unsigned int i = 0; i < n; i++) {
		uint16_t idx = (uint16_t)((head + i) % QSZ);

		vring_set_desc(&mem, dq->desc, idx, s[i].addr, s[i].len,
			       (uint16_t)((s[i].write ? VRING_DESC_F_WRITE : 0) |
					  (i + 1 < n ? VRING_DESC_F_NEXT : 0)),
			       (uint16_t)((head + i + 1) % QSZ));
	}
	dq->next = (uint16_t)((head + n) % QSZ);
	a[2 + dq->avail_idx % QSZ] = htole16(head);
	__atomic_store_n(&a[1], htole16((uint16_t)(dq->avail_idx + 1)), __ATOMIC_SEQ_CST);
	dq->avail_idx++;
	return head;
}

static uint16_t dq_used_idx(struct dq *dq)
{
	uint16_t *u = guest_mem_ptr(&mem, dq->used, 4);

	return le16toh(__atomic_load_n(&u[1], __ATOMIC_SEQ_CST));
}

static void dq_used(struct dq *dq, uint16_t i, uint32_t *id, uint32_t *len)
{
	struct vring_used_elem *e = guest_mem_ptr(&mem, dq->used + 4 + 8 * (i % QSZ), 8);

	*id = le32toh(e->id);
	*len = le32toh(e->len);
}

static void fill(uint64_t gpa, uint8_t byte, size_t len)
{
	memset(guest_mem_ptr(&mem, gpa, len), byte, len);
}

static bool all_bytes(uint64_t gpa, uint8_t byte, size_t len)
{
	return vpci_mem_is(&mem, gpa, byte, len);
}

static bool pattern_at(uint64_t gpa, size_t len, uint8_t seed)
{
	const uint8_t *p = guest_mem_ptr(&mem, gpa, len);

	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(seed + i))
			return false;
	return true;
}

/* A TX frame in guest memory at gpa: header then `len` bytes of pattern. */
static void guest_frame(uint64_t gpa, uint8_t flags, uint8_t gso, uint16_t gso_size,
			uint16_t csum_start, uint16_t csum_off, size_t len, uint8_t seed)
{
	struct virtio_net_hdr_mrg_rxbuf *h = guest_mem_ptr(&mem, gpa, HDR);
	uint8_t *p = guest_mem_ptr(&mem, gpa + HDR, len);

	memset(h, 0, HDR);
	h->hdr.flags = flags;
	h->hdr.gso_type = gso;
	h->hdr.gso_size = htole16(gso_size);
	h->hdr.csum_start = htole16(csum_start);
	h->hdr.csum_offset = htole16(csum_off);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i);
}

struct dev {
	struct virtio_net net;
	struct fake fake;
	struct vpci_drv d;
	struct dq rx, tx, ctrl, rx1, tx1;
};

static void kick(struct dev *v, struct dq *dq)
{
	vpci_kick(&v->d, dq->q);
}

/* A device in `slot` on a fake TAP of `pairs` queue pairs, driven with
 * every feature but `refuse`; queues of pair 0 and (pairs > 1) pair 1,
 * and the control queue, set up; DRIVER_OK. */
#define DOMAIN 1
#define MAPPED_END (BUFS + 0x70000)   /* behind the IOMMU: [0, MAPPED_END) mapped identity */

/* The driver's probe: reset, features but `refuse`, queues, DRIVER_OK. */
static void driver_up(struct dev *v, unsigned int pairs, uint64_t refuse)
{
	unsigned int ctrlq;

	vpci_probe(&v->d, &bus, &mem, &v->net.vd, MSI_DATA(0), refuse);
	dq_init(&v->d, &v->rx, 0);
	dq_init(&v->d, &v->tx, 1);
	ctrlq = (v->net.vd.driver_features & (1ull << VIRTIO_NET_F_MQ)) ? 2 * pairs : 2;
	if (pairs > 1) {
		dq_init(&v->d, &v->rx1, 2);
		dq_init(&v->d, &v->tx1, 3);
	}
	dq_init(&v->d, &v->ctrl, ctrlq);
	vpci_driver_ok(&v->d);
}

static void dev_up(struct dev *v, unsigned int slot, unsigned int pairs, struct viommu *iommu,
		   uint64_t refuse)
{
	static const uint8_t mac[6] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };

	fake_open(&v->fake, pairs);
	if (virtio_net_create(&v->net, &bus, slot, &host, iommu, &v->fake.be, mac, 1500))
		bail("virtio_net_create");
	if (iommu && (viommu_add_endpoint(iommu, v->net.vd.dma.endpoint, "virtio-net") ||
		      dma_attach_iommu(&v->net.vd.dma, iommu)))
		bail("virtio-net's port on the IOMMU");
	/* The rings must translate by DRIVER_OK, when the device first looks. */
	if (iommu && (req_attach(iommu, DOMAIN, v->net.vd.dma.endpoint, 0) ||
		      req_map(iommu, DOMAIN, 0, MAPPED_END - 1, 0, RW)))
		bail("IOMMU mappings");
	if (virtio_pci_start(&v->net.vd))
		bail("virtio_pci_start");
	driver_up(v, pairs, refuse);
}

static void dev_down(struct dev *v)
{
	virtio_pci_stop(&v->net.vd);
	if (v->net.vd.dma.port)
		dma_detach_iommu(&v->net.vd.dma);
	virtio_net_destroy(&v->net);
	pci_unregister(&bus, &v->net.vd.pci);
	fake_close(&v->fake);
}

static struct virtio_net_queue_stats rx_stats(struct dev *v, unsigned int pair)
{
	struct virtio_net_queue_stats rx, tx;

	virtio_net_stats(&v->net, pair, &rx, &tx);
	return rx;
}

static struct virtio_net_queue_stats tx_stats(struct dev *v, unsigned int pair)
{
	struct virtio_net_queue_stats rx, tx;

	virtio_net_stats(&v->net, pair, &rx, &tx);
	return tx;
}

static uint8_t dev_status(struct dev *v)
{
	return vpci_status(&v->d);
}

/* ---- header translation (pure) ------------------------------------------ */

#define F(x) (1ull << VIRTIO_NET_F_##x)

static int to_guest(uint8_t flags, uint8_t gso, uint64_t f, uint8_t *flags_out)
{
	struct virtio_net_hdr_mrg_rxbuf h = { .hdr = { .flags = flags, .gso_type = gso }, .num_buffers = 7 };
	int r = virtio_net_hdr_to_guest(&h, f);

	*flags_out = h.hdr.flags;
	return r;
}

static int from_guest(uint8_t flags, uint8_t gso, uint16_t gso_size, uint16_t start, uint16_t off,
		      uint64_t f, size_t len, uint8_t *flags_out)
{
	struct virtio_net_hdr_mrg_rxbuf h = {
		.hdr = { .flags = flags, .gso_type = gso, .gso_size = htole16(gso_size),
			 .csum_start = htole16(start), .csum_offset = htole16(off) },
		.num_buffers = 3,
	};
	int r = virtio_net_hdr_from_guest(&h, f, len);

	if (flags_out)
		*flags_out = h.hdr.flags;
	return r;
}

static void header_translation(void)
{
	const uint64_t all = F(CSUM) | F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) | F(GUEST_ECN) |
			     F(HOST_TSO4) | F(HOST_TSO6) | F(HOST_ECN);
	uint8_t fl;

	is_int(0, (int)virtio_net_tap_offloads(0), "offloads: nothing negotiated, none on the TAP");
	is_int(0, (int)virtio_net_tap_offloads(F(GUEST_TSO4)),
	       "offloads: GUEST_TSO4 without GUEST_CSUM gives none (TSO needs partial checksums)");
	is_int(TUN_F_CSUM, (int)virtio_net_tap_offloads(F(GUEST_CSUM)), "offloads: GUEST_CSUM -> TUN_F_CSUM");
	is_int(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN, (int)virtio_net_tap_offloads(all),
	       "offloads: CSUM, TSO4, TSO6, ECN");
	is_int(TUN_F_CSUM, (int)virtio_net_tap_offloads(F(GUEST_CSUM) | F(GUEST_ECN)),
	       "offloads: ECN alone without TSO is not set");

	ok(to_guest(VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, &fl) == 0 && fl == 0,
	   "RX: DATA_VALID cleared for a guest without GUEST_CSUM (flags must be zero)");
	is_int(-EINVAL, to_guest(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, &fl),
	       "RX: a partial checksum is not delivered to a guest without GUEST_CSUM");
	ok(to_guest(VIRTIO_NET_HDR_F_NEEDS_CSUM | 0x80, 0, all, &fl) == 0 &&
	   fl == VIRTIO_NET_HDR_F_NEEDS_CSUM, "RX: NEEDS_CSUM kept with GUEST_CSUM, unknown flags cleared");
	is_int(-EINVAL, to_guest(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, F(GUEST_CSUM), &fl),
	       "RX: a TSO4 frame is not delivered without GUEST_TSO4");
	is_int(0, to_guest(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, all, &fl),
	       "RX: a TSO6 frame is delivered with GUEST_TSO6");
	is_int(-EINVAL, to_guest(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN,
				 all & ~F(GUEST_ECN), &fl), "RX: ECN not delivered without GUEST_ECN");
	is_int(-EINVAL, to_guest(0, VIRTIO_NET_HDR_GSO_UDP, all, &fl), "RX: UFO is never delivered");

	is_int(0, from_guest(0, 0, 0, 0, 0, 0, 60, &fl), "TX: a plain frame with no features");
	ok(from_guest(VIRTIO_NET_HDR_F_DATA_VALID | 0x80, 0, 0, 0, 0, 0, 60, &fl) == 0 && fl == 0,
	   "TX: flags the device does not recognize are ignored (cleared)");
	is_int(-EINVAL, from_guest(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 14, 16, 0, 60, NULL),
	       "TX: NEEDS_CSUM without CSUM negotiated is dropped");
	is_int(0, from_guest(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 34, 16, all, 52, NULL),
	       "TX: a checksum field that ends at the frame's end is fine");
	is_int(-EINVAL, from_guest(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 34, 16, all, 51, NULL),
	       "TX: a checksum field past the frame's end is dropped");
	is_int(0, from_guest(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16, all, 3000,
			     NULL), "TX: TSO4 with HOST_TSO4");
	is_int(-EINVAL, from_guest(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16,
				   all & ~F(HOST_TSO4), 3000, NULL), "TX: TSO4 without HOST_TSO4 is dropped");
	is_int(-EINVAL, from_guest(0, VIRTIO_NET_HDR_GSO_TCPV6, 1448, 0, 0, all, 3000, NULL),
	       "TX: segmentation without NEEDS_CSUM is dropped");
	is_int(-EINVAL, from_guest(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV6, 0, 54, 16, all,
				   3000, NULL), "TX: segmentation with gso_size 0 is dropped");
	is_int(-EINVAL, from_guest(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4 |
				   VIRTIO_NET_HDR_GSO_ECN, 1448, 34, 16, all & ~F(HOST_ECN), 3000, NULL),
	       "TX: ECN without HOST_ECN is dropped");
	is_int(-EINVAL, from_guest(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_UDP, 1448, 34, 6, all,
				   3000, NULL), "TX: UFO is dropped (not offered)");
	is_int(-EINVAL, from_guest(0, 0x33, 0, 0, 0, all, 60, NULL), "TX: an unknown gso_type is dropped");
}

/* ---- the device, no IOMMU ----------------------------------------------- */

static void config_and_features(struct dev *v)
{
	uint8_t mac[6];
	uint16_t status, pairs, mtu;
	uint64_t f = v->net.vd.device_features;

	for (unsigned int i = 0; i < 6; i++)
		mac[i] = (uint8_t)vpci_rd(&v->d, VPCI_DEVICE_OFF + i, 1);
	status = (uint16_t)vpci_rd(&v->d, VPCI_DEVICE_OFF + 6, 2);
	pairs = (uint16_t)vpci_rd(&v->d, VPCI_DEVICE_OFF + 8, 2);
	mtu = (uint16_t)vpci_rd(&v->d, VPCI_DEVICE_OFF + 10, 2);
	ok(mac[0] == 0x02 && mac[5] == 0x55, "config: the MAC it was given");
	is_int(VIRTIO_NET_S_LINK_UP, status, "config: link up");
	is_int(1, pairs, "config: one queue pair");
	is_int(1500, mtu, "config: the MTU");
	ok((f & (F(MAC) | F(STATUS) | F(MTU) | F(MRG_RXBUF) | F(CSUM) | F(GUEST_CSUM) | F(HOST_TSO4) |
		 F(HOST_TSO6) | F(GUEST_TSO4) | F(GUEST_TSO6) | F(CTRL_VQ))) ==
	   (F(MAC) | F(STATUS) | F(MTU) | F(MRG_RXBUF) | F(CSUM) | F(GUEST_CSUM) | F(HOST_TSO4) |
	    F(HOST_TSO6) | F(GUEST_TSO4) | F(GUEST_TSO6) | F(CTRL_VQ)),
	   "features: MAC, STATUS, MTU, MRG_RXBUF, checksums, TSO both ways, CTRL_VQ");
	ok(!(f & F(MQ)), "features: no MQ with one queue pair");
	ok((f & (1ull << VIRTIO_F_VERSION_1)) && (f & (1ull << VIRTIO_RING_F_EVENT_IDX)) &&
	   (f & (1ull << VIRTIO_RING_F_INDIRECT_DESC)) && !(f & (1ull << VIRTIO_F_ACCESS_PLATFORM)),
	   "features: VERSION_1, EVENT_IDX, INDIRECT_DESC; no ACCESS_PLATFORM without an IOMMU");
	ok(WAIT_UNTIL(__atomic_load_n(&v->fake.offload, __ATOMIC_SEQ_CST) ==
		      (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)),
	   "DRIVER_OK: the TAP's offloads follow the negotiated GUEST_* features");
}

static void tx_frames(struct dev *v)
{
	static uint8_t got[VIRTIO_NET_BUF_SIZE];
	const uint64_t b = BUFS;
	uint32_t id, len;
	ssize_t n;

	/* Header and frame in two descriptors. */
	guest_frame(b, 0, 0, 0, 0, 0, 60, 0x10);
	dq_post(&v->tx, (struct seg[]){ { b, HDR, false }, { b + HDR, 60, false } }, 2);
	kick(v, &v->tx);
	n = host_recv(&v->fake, 0, got, sizeof(got), true);
	is_int(HDR + 60, n, "TX: the TAP gets header + frame");
	ok(n == HDR + 60 && !memcmp(got + HDR, guest_mem_ptr(&mem, b + HDR, 60), 60),
	   "TX: the frame's bytes as the guest wrote them");
	ok(WAIT_UNTIL(dq_used_idx(&v->tx) == 1), "TX: the chain is used");
	dq_used(&v->tx, 0, &id, &len);
	is_int(0, (int)len, "TX: used length 0 (nothing written)");

	/* A TSO frame with a checksum request passes with its header; the
	 * driver's num_buffers (a lie: TX has no such thing) does not. */
	guest_frame(b, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1448, 34, 16, 3000, 0x20);
	((struct virtio_net_hdr_mrg_rxbuf *)guest_mem_ptr(&mem, b, HDR))->num_buffers = htole16(5);
	dq_post(&v->tx, (struct seg[]){ { b, HDR + 3000, false } }, 1);
	kick(v, &v->tx);
	n = host_recv(&v->fake, 0, got, sizeof(got), true);
	ok(n == HDR + 3000 && ((struct virtio_net_hdr_mrg_rxbuf *)got)->hdr.gso_type ==
	   VIRTIO_NET_HDR_GSO_TCPV4 && le16toh(((struct virtio_net_hdr_mrg_rxbuf *)got)->hdr.gso_size) == 1448,
	   "TX: a TSO4 frame goes to the TAP with its GSO header");
	is_int(0, ((struct virtio_net_hdr_mrg_rxbuf *)got)->num_buffers, "TX: num_buffers is not passed on");

	/* Hostile chains: each dropped, used, counted; the queue goes on. */
	guest_frame(b, 0, 0, 0, 0, 0, 60, 0x30);
	dq_post(&v->tx, (struct seg[]){ { b, HDR - 2, false } }, 1);                 /* short header */
	dq_post(&v->tx, (struct seg[]){ { b, HDR, false } }, 1);                     /* header only */
	dq_post(&v->tx, (struct seg[]){ { b, 0, false } }, 1);                       /* zero length */
	dq_post(&v->tx, (struct seg[]){ { b, HDR + 60, true } }, 1);                 /* writable only */
	guest_frame(b + 0x1000, VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 50, 16, 60, 0x40); /* csum past end */
	dq_post(&v->tx, (struct seg[]){ { b + 0x1000, HDR + 60, false } }, 1);
	kick(v, &v->tx);
	ok(WAIT_UNTIL(dq_used_idx(&v->tx) == 7), "TX: five malformed chains are all used");
	is_int(-1, host_recv(&v->fake, 0, got, sizeof(got), false), "TX: none of them reached the TAP");
	is_int(5, (int)tx_stats(v, 0).drops, "TX: five drops counted");
	is_int(2, (int)tx_stats(v, 0).packets, "TX: two frames counted");
	is_int(60 + 3000, (int)tx_stats(v, 0).bytes, "TX: their bytes (without headers) counted");
	ok(!(dev_status(v) & VIRTIO_CONFIG_S_NEEDS_RESET), "TX: no DEVICE_NEEDS_RESET for dropped frames");
}

static void rx_mergeable(struct dev *v)
{
	const uint64_t b = BUFS + 0x10000;
	struct virtio_net_hdr_mrg_rxbuf *h = guest_mem_ptr(&mem, b, HDR);
	uint32_t id[3], len[3];
	uint16_t heads[4];

	fill(b, 0xee, 0x4000);
	for (unsigned int i = 0; i < 4; i++)
		heads[i] = dq_post(&v->rx, (struct seg[]){ { b + 0x1000ull * i, 1000, true } }, 1);
	kick(v, &v->rx);
	host_send(&v->fake, 0, VIRTIO_NET_HDR_F_DATA_VALID, 0, 2500 - HDR, 0x50);
	ok(WAIT_UNTIL(dq_used_idx(&v->rx) == 3), "RX MRG: a 2500-byte frame (with header) takes three "
	   "1000-byte buffers");
	for (unsigned int i = 0; i < 3; i++)
		dq_used(&v->rx, (uint16_t)i, &id[i], &len[i]);
	ok(id[0] == heads[0] && id[1] == heads[1] && id[2] == heads[2], "RX MRG: in ring order");
	ok(len[0] == 1000 && len[1] == 1000 && len[2] == 500, "RX MRG: used lengths 1000, 1000, 500");
	is_int(3, le16toh(h->num_buffers), "RX MRG: num_buffers is 3");
	is_int(VIRTIO_NET_HDR_F_DATA_VALID, h->hdr.flags, "RX MRG: DATA_VALID kept (GUEST_CSUM)");
	ok(pattern_at(b + HDR, 1000 - HDR, 0x50) && pattern_at(b + 0x1000, 1000, (uint8_t)(0x50 + 1000 - HDR)) &&
	   pattern_at(b + 0x2000, 500, (uint8_t)(0x50 + 2000 - HDR)), "RX MRG: the frame's bytes, in order");
	ok(all_bytes(b + 0x2000 + 500, 0xee, 0x1000 - 500) && all_bytes(b + 0x3000, 0xee, 0x1000),
	   "RX MRG: nothing past the frame");

	/* The fourth buffer alone cannot take 1500 bytes: the frame waits
	 * for the next buffer, then is delivered. */
	host_send(&v->fake, 0, 0, 0, 1500 - HDR, 0x60);
	usleep(50000);
	is_int(3, dq_used_idx(&v->rx), "RX MRG: a frame larger than the buffers there waits");
	dq_post(&v->rx, (struct seg[]){ { b + 0x4000, 1000, true } }, 1);
	kick(v, &v->rx);
	ok(WAIT_UNTIL(dq_used_idx(&v->rx) == 5), "RX MRG: and is delivered once a buffer is added");
	is_int(2, le16toh(((struct virtio_net_hdr_mrg_rxbuf *)guest_mem_ptr(&mem, b + 0x3000, HDR))->num_buffers),
	       "RX MRG: num_buffers 2");
	is_int(2, (int)rx_stats(v, 0).packets, "RX: two frames counted");
	is_int(2500 - HDR + 1500 - HDR, (int)rx_stats(v, 0).bytes, "RX: their bytes counted");

	/* A buffer too small for the header breaks the driver's rule:
	 * DEVICE_NEEDS_RESET (tested last on this device). */
}

static void rx_tiny_buffer(struct dev *v)
{
	const uint64_t b = BUFS + 0x20000;

	dq_post(&v->rx, (struct seg[]){ { b, HDR - 1, true } }, 1);
	kick(v, &v->rx);
	host_send(&v->fake, 0, 0, 0, 100, 0x70);
	ok(WAIT_UNTIL(dev_status(v) & VIRTIO_CONFIG_S_NEEDS_RESET),
	   "RX: a buffer smaller than the header: DEVICE_NEEDS_RESET");
}

static void rx_single(struct dev *v)
{
	const uint64_t b = BUFS + 0x30000;
	struct virtio_net_hdr_mrg_rxbuf *h = guest_mem_ptr(&mem, b, HDR);
	uint32_t id, len;

	fill(b, 0xee, 0x1000);
	dq_post(&v->rx, (struct seg[]){ { b, 1000, true } }, 1);
	kick(v, &v->rx);
	host_send(&v->fake, 0, 0, 0, 1500, 0x11);
	ok(WAIT_UNTIL(rx_stats(v, 0).drops == 1), "RX no MRG: a frame larger than the buffer is dropped "
	   "and counted");
	is_int(0, dq_used_idx(&v->rx), "RX no MRG: the buffer is kept");
	ok(all_bytes(b, 0xee, 0x1000), "RX no MRG: and untouched");
	host_send(&v->fake, 0, VIRTIO_NET_HDR_F_DATA_VALID, 0, 500, 0x22);
	ok(WAIT_UNTIL(dq_used_idx(&v->rx) == 1), "RX no MRG: the next frame that fits is delivered");
	dq_used(&v->rx, 0, &id, &len);
	is_int(HDR + 500, (int)len, "RX no MRG: used length header + frame");
	is_int(1, le16toh(h->num_buffers), "RX no MRG: num_buffers is 1");
	is_int(0, h->hdr.flags, "RX no MRG: flags zero without GUEST_CSUM");
	ok(pattern_at(b + HDR, 500, 0x22), "RX no MRG: the frame's bytes");

	/* A header and a frame in two descriptors of one chain (big-packet
	 * style) is one buffer. */
	fill(b, 0xee, 0x1000);
	dq_post(&v->rx, (struct seg[]){ { b, HDR, true }, { b + 0x800, 1500, true } }, 2);
	kick(v, &v->rx);
	host_send(&v->fake, 0, 0, 0, 1400, 0x33);
	ok(WAIT_UNTIL(dq_used_idx(&v->rx) == 2), "RX no MRG: a two-descriptor chain takes a frame");
	ok(pattern_at(b + 0x800, 1400, 0x33), "RX no MRG: the frame after the header's descriptor");
	is_int(0, v->fake.offload, "RX no MRG: no GUEST_* features, no TAP offloads");
}

/* A TX chain whose last descriptor points back at its first: the queue
 * cannot go on, DEVICE_NEEDS_RESET, and nothing reaches the TAP. */
static void tx_loop(struct dev *v)
{
	static uint8_t got[4096];
	const uint64_t b = BUFS + 0x38000;
	uint16_t head = v->tx.next;

	guest_frame(b, 0, 0, 0, 0, 0, 60, 0x12);
	dq_post(&v->tx, (struct seg[]){ { b, HDR, false }, { b + HDR, 60, false } }, 2);
	vring_set_desc(&mem, v->tx.desc, (uint16_t)((head + 1) % QSZ), b + HDR, 60, VRING_DESC_F_NEXT, head);
	kick(v, &v->tx);
	ok(WAIT_UNTIL(dev_status(v) & VIRTIO_CONFIG_S_NEEDS_RESET), "TX: a looping chain: DEVICE_NEEDS_RESET");
	is_int(-1, host_recv(&v->fake, 0, got, sizeof(got), false), "TX: nothing of it is sent");
}

static uint8_t ctrl_cmd(struct dev *v, uint8_t cls, uint8_t cmd, const void *data, size_t len,
			uint32_t ack_len, uint32_t *used_len)
{
	const uint64_t b = BUFS + 0x40000;
	uint8_t *p = guest_mem_ptr(&mem, b, 2 + len);
	uint16_t before = dq_used_idx(&v->ctrl);
	uint32_t id;

	p[0] = cls;
	p[1] = cmd;
	if (len)
		memcpy(p + 2, data, len);
	*(uint8_t *)guest_mem_ptr(&mem, b + 0x100, 1) = 0xee;
	if (ack_len)
		dq_post(&v->ctrl, (struct seg[]){ { b, (uint32_t)(2 + len), false },
						  { b + 0x100, ack_len, true } }, 2);
	else
		dq_post(&v->ctrl, (struct seg[]){ { b, (uint32_t)(2 + len), false } }, 1);
	kick(v, &v->ctrl);
	if (!WAIT_UNTIL(dq_used_idx(&v->ctrl) == (uint16_t)(before + 1)))
		return 0xff;
	dq_used(&v->ctrl, before, &id, used_len);
	return *(uint8_t *)guest_mem_ptr(&mem, b + 0x100, 1);
}

static void ctrl_and_mq(struct dev *v)
{
	static uint8_t got[4096];
	const uint64_t b = BUFS + 0x50000;
	const uint8_t mac[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
	uint16_t two = htole16(2), zero = 0, three = htole16(3);
	uint32_t used;

	ok(v->net.vd.device_features & F(MQ), "MQ offered with two queue pairs");
	is_int(2, (int)vpci_rd(&v->d, VPCI_DEVICE_OFF + 8, 2), "config: max_virtqueue_pairs 2");
	ok(v->fake.be.attached[0] && !v->fake.be.attached[1], "MQ: only the first TAP queue is attached "
	   "until the driver says");
	is_int(VIRTIO_NET_ERR, ctrl_cmd(v, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &zero, 2, 1,
					&used), "ctrl: 0 queue pairs: ERR");
	is_int(VIRTIO_NET_ERR, ctrl_cmd(v, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &three, 2, 1,
					&used), "ctrl: more pairs than max_virtqueue_pairs: ERR");
	is_int(VIRTIO_NET_ERR, ctrl_cmd(v, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &two, 1, 1,
					&used), "ctrl: a command one byte short: ERR");
	is_int(VIRTIO_NET_ERR, ctrl_cmd(v, 0x77, 0, NULL, 0, 1, &used), "ctrl: an unknown class: ERR");
	is_int(VIRTIO_NET_ERR, ctrl_cmd(v, VIRTIO_NET_CTRL_RX, VIRTIO_NET_CTRL_RX_PROMISC, "\1", 1, 1, &used),
	       "ctrl: an RX mode without CTRL_RX: ERR");
	is_int(1, (int)used, "ctrl: the ack is the one byte written");
	is_int(0xee, ctrl_cmd(v, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &two, 2, 0, &used),
	       "ctrl: a command without room for its ack is used ...");
	is_int(0, (int)used, "ctrl: ... with nothing written");
	is_int(VIRTIO_NET_OK, ctrl_cmd(v, VIRTIO_NET_CTRL_MAC, VIRTIO_NET_CTRL_MAC_ADDR_SET, mac, 6, 1, &used),
	       "ctrl: MAC_ADDR_SET: OK");
	is_int(0xaa, (int)vpci_rd(&v->d, VPCI_DEVICE_OFF + 1, 1), "ctrl: the config space has the new MAC");
	is_int(VIRTIO_NET_OK, ctrl_cmd(v, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &two, 2, 1,
				       &used), "ctrl: 2 queue pairs: OK");
	ok(v->fake.be.attached[1], "MQ: the second TAP queue is attached");
	is_int(2, (int)v->net.ctrl_ok, "ctrl: two commands OK counted");

	/* Traffic on the second pair: RX from TAP queue 1, TX to it. */
	dq_post(&v->rx1, (struct seg[]){ { b, 2048, true } }, 1);
	kick(v, &v->rx1);
	host_send(&v->fake, 1, 0, 0, 700, 0x44);
	ok(WAIT_UNTIL(dq_used_idx(&v->rx1) == 1), "MQ: a frame on TAP queue 1 reaches receiveq2");
	ok(pattern_at(b + HDR, 700, 0x44), "MQ: its bytes");
	guest_frame(b + 0x1000, 0, 0, 0, 0, 0, 90, 0x55);
	dq_post(&v->tx1, (struct seg[]){ { b + 0x1000, HDR + 90, false } }, 1);
	kick(v, &v->tx1);
	is_int(HDR + 90, host_recv(&v->fake, 1, got, sizeof(got), true), "MQ: transmitq2 sends on TAP queue 1");
	ok(rx_stats(v, 1).packets == 1 && tx_stats(v, 1).packets == 1 && rx_stats(v, 0).packets == 0,
	   "MQ: counted on queue pair 1");

	/* Back to one pair: queue 1 detached. */
	is_int(VIRTIO_NET_OK, ctrl_cmd(v, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, "\1\0", 2, 1,
				       &used), "ctrl: back to 1 queue pair: OK");
	ok(!v->fake.be.attached[1], "MQ: TAP queue 1 detached again");
	is_int(2, (int)v->net.most_pairs, "MQ: the report says up to 2 pairs were used");
	/* Reset: the MAC given at creation comes back. */
	vpci_wr(&v->d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	is_int(0x11, (int)vpci_rd(&v->d, VPCI_DEVICE_OFF + 1, 1), "reset: the original MAC again");
}

/* ---- behind the IOMMU --------------------------------------------------- */

static void count_refused_reads(void *opaque, const struct viommu_violation_record *r)
{
	if (r->access == VIOMMU_READ && r->reason == VIOMMU_V_UNMAPPED)
		++*(unsigned int *)opaque;
}

static void count_refused_writes(void *opaque, const struct viommu_violation_record *r)
{
	if (r->access == VIOMMU_WRITE && r->reason == VIOMMU_V_UNMAPPED)
		++*(unsigned int *)opaque;
}

static void iommu_dma(struct dev *v, struct viommu *iommu)
{
	static uint8_t got[4096];
	const uint64_t b = BUFS + 0x60000;    /* mapped */
	const uint64_t hole = MAPPED_END;     /* never mapped */
	unsigned int reads = 0, writes = 0;
	uint32_t id, len;

	ok(v->net.vd.device_features & (1ull << VIRTIO_F_ACCESS_PLATFORM), "IOMMU: ACCESS_PLATFORM offered");

	/* TX through an unmapped IOVA: refused, not sent, the chain used. */
	guest_frame(hole, 0, 0, 0, 0, 0, 60, 0x66);
	dq_post(&v->tx, (struct seg[]){ { hole, HDR + 60, false } }, 1);
	kick(v, &v->tx);
	ok(WAIT_UNTIL(dq_used_idx(&v->tx) == 1), "IOMMU TX: a chain at an unmapped IOVA is used");
	is_int(-1, host_recv(&v->fake, 0, got, sizeof(got), false), "IOMMU TX: and nothing is sent");
	is_int(1, (int)tx_stats(v, 0).drops, "IOMMU TX: a drop counted");
	viommu_for_each_violation(iommu, count_refused_reads, &reads);
	is_int(1, (int)reads, "IOMMU TX: the IOMMU recorded the refused read, class unmapped");

	/* RX across a mapped and an unmapped buffer: nothing is written. */
	fill(b, 0xee, 0x1000);
	dq_post(&v->rx, (struct seg[]){ { b, 1000, true } }, 1);
	dq_post(&v->rx, (struct seg[]){ { hole, 1000, true } }, 1);
	kick(v, &v->rx);
	host_send(&v->fake, 0, 0, 0, 1500, 0x77);
	ok(WAIT_UNTIL(dq_used_idx(&v->rx) == 2), "IOMMU RX: both buffers of a refused frame are used");
	dq_used(&v->rx, 0, &id, &len);
	is_int(0, (int)len, "IOMMU RX: with length 0");
	ok(all_bytes(b, 0xee, 0x1000), "IOMMU RX: a refused write writes nothing, not even into the "
	   "mapped buffer");
	is_int(1, (int)rx_stats(v, 0).drops, "IOMMU RX: the frame is counted as dropped");
	viommu_for_each_violation(iommu, count_refused_writes, &writes);
	is_int(1, (int)writes, "IOMMU RX: the IOMMU recorded the refused write, class unmapped");

	/* A frame into a mapped buffer goes through. */
	dq_post(&v->rx, (struct seg[]){ { b, 2048, true } }, 1);
	kick(v, &v->rx);
	host_send(&v->fake, 0, 0, 0, 1000, 0x78);
	ok(WAIT_UNTIL(dq_used_idx(&v->rx) == 3), "IOMMU RX: a frame into a mapped buffer is delivered");
	ok(pattern_at(b + HDR, 1000, 0x78), "IOMMU RX: its bytes");
	ok(!(dev_status(v) & VIRTIO_CONFIG_S_NEEDS_RESET), "IOMMU: refused data DMA does not break the device");
}

/* ---- both directions at once, with the device's real threads ---------- */

#define STRESS_FRAMES 2000
#define STRESS_RXBUF  2048
#define STRESS_RX     (BUFS + 0x100000)   /* QSZ receive buffers */
#define STRESS_TX     (BUFS + 0x200000)   /* QSZ transmit slots of VIRTIO_NET_BUF_SIZE / 8 */
#define STRESS_TXSLOT 0x4000u

/* Frame i: its length and byte j of it (the first four bytes are i). */
static size_t stress_len(unsigned int i)
{
	return 60 + (i * 37u) % 6000;
}

static uint8_t stress_byte(unsigned int i, size_t j)
{
	return j < 4 ? (uint8_t)(i >> (8 * j)) : (uint8_t)(i * 7 + j);
}

static struct dev *stress_dev;
static unsigned int stress_bad_tx;

static void *stress_host_send(void *arg)
{
	static uint8_t buf[HDR + 8192];
	struct dev *v = arg;

	for (unsigned int i = 0; i < STRESS_FRAMES; i++) {
		size_t len = stress_len(i);

		memset(buf, 0, HDR);
		for (size_t j = 0; j < len; j++)
			buf[HDR + j] = stress_byte(i, j);
		while (write(v->fake.peer[0], buf, HDR + len) < 0) {
			if (errno != EAGAIN)
				return NULL;
			usleep(200);
		}
	}
	return NULL;
}

static void *stress_host_recv(void *arg)
{
	static uint8_t buf[VIRTIO_NET_BUF_SIZE];
	struct dev *v = arg;
	unsigned int i = 0, idle = 0;

	while (i < STRESS_FRAMES && idle < 20000) {
		ssize_t n = read(v->fake.peer[0], buf, sizeof(buf));
		size_t len = stress_len(i);
		bool same = n == (ssize_t)(HDR + len);

		if (n < 0) {
			idle++;
			usleep(500);
			continue;
		}
		idle = 0;
		for (size_t j = 0; same && j < len; j++)
			same = buf[HDR + j] == stress_byte(i, j);
		if (!same && !__atomic_fetch_add(&stress_bad_tx, 1, __ATOMIC_SEQ_CST))
			diag("stress: host frame %u: %zd bytes, want %zu; starts %02x%02x%02x%02x", i, n,
			     HDR + len, buf[HDR], buf[HDR + 1], buf[HDR + 2], buf[HDR + 3]);
		i++;
	}
	if (i < STRESS_FRAMES)
		__atomic_fetch_add(&stress_bad_tx, STRESS_FRAMES - i, __ATOMIC_SEQ_CST);
	return NULL;
}

/* The driver's transmit side: a frame in each free slot, kicks, and the
 * slots back as the device uses them. */
static void *stress_driver_tx(void *arg)
{
	struct dev *v = arg;
	unsigned int sent = 0, done = 0, idle = 0;

	while (done < STRESS_FRAMES && idle < 20000) {
		uint16_t used = dq_used_idx(&v->tx);

		if (used != (uint16_t)done) {
			done += (uint16_t)(used - (uint16_t)done);
			idle = 0;
		}
		if (sent < STRESS_FRAMES && sent - done < QSZ) {
			uint64_t slot = STRESS_TX + (uint64_t)(sent % QSZ) * STRESS_TXSLOT;
			size_t len = stress_len(sent);
			uint8_t *p = guest_mem_ptr(&mem, slot, HDR + len);

			memset(p, 0, HDR);
			for (size_t j = 0; j < len; j++)
				p[HDR + j] = stress_byte(sent, j);
			dq_post(&v->tx, (struct seg[]){ { slot, (uint32_t)(HDR + len), false } }, 1);
			kick(v, &v->tx);
			sent++;
			continue;
		}
		idle++;
		usleep(500);
	}
	return NULL;
}

static void stress(struct dev *v)
{
	static uint8_t frame[VIRTIO_NET_BUF_SIZE];
	unsigned int got = 0, bad = 0, idle = 0;
	uint16_t seen = 0;
	size_t have = 0, want_bufs = 0, bufs = 0;
	pthread_t send, recv, drv;

	stress_dev = v;
	for (unsigned int b = 0; b < QSZ; b++)
		dq_post(&v->rx, (struct seg[]){ { STRESS_RX + (uint64_t)b * STRESS_RXBUF, STRESS_RXBUF, true } }, 1);
	kick(v, &v->rx);
	if (pthread_create(&send, NULL, stress_host_send, v) || pthread_create(&recv, NULL, stress_host_recv, v) ||
	    pthread_create(&drv, NULL, stress_driver_tx, v))
		bail("threads");
	/* The driver's receive side: reassemble merged buffers, give each
	 * buffer back at once. */
	while (got < STRESS_FRAMES && idle < 20000) {
		uint32_t id, len;
		const uint8_t *p;

		if (dq_used_idx(&v->rx) == seen) {
			idle++;
			usleep(500);
			continue;
		}
		idle = 0;
		dq_used(&v->rx, seen++, &id, &len);
		p = guest_mem_ptr(&mem, STRESS_RX + (uint64_t)(id % QSZ) * STRESS_RXBUF, STRESS_RXBUF);
		if (!bufs) {
			want_bufs = le16toh(((const struct virtio_net_hdr_mrg_rxbuf *)p)->num_buffers);
			have = 0;
		}
		if (len <= STRESS_RXBUF && have + len <= sizeof(frame))
			memcpy(frame + have, p, len);
		have += len;
		bufs++;
		/* The buffer goes back: its descriptor is the next one, in order. */
		dq_post(&v->rx, (struct seg[]){ { STRESS_RX + (uint64_t)(id % QSZ) * STRESS_RXBUF, STRESS_RXBUF,
						  true } }, 1);
		kick(v, &v->rx);
		if (bufs < want_bufs)
			continue;
		if (have != HDR + stress_len(got))
			bad++;
		else
			for (size_t j = 0; j < stress_len(got); j++)
				if (frame[HDR + j] != stress_byte(got, j)) {
					bad++;
					break;
				}
		got++;
		bufs = 0;
	}
	pthread_join(send, NULL);
	pthread_join(recv, NULL);
	pthread_join(drv, NULL);
	is_int(STRESS_FRAMES, got, "stress: all %d frames from the host arrive, RX and TX running at once",
	       STRESS_FRAMES);
	is_int(0, bad, "stress: each in order, merged correctly, byte for byte");
	is_int(0, stress_bad_tx, "stress: all %d frames of the guest reach the host, in order, byte for byte",
	       STRESS_FRAMES);
	ok(rx_stats(v, 0).packets == STRESS_FRAMES && tx_stats(v, 0).packets == STRESS_FRAMES &&
	   !rx_stats(v, 0).drops && !tx_stats(v, 0).drops, "stress: the counters say so");
	diag("stress: rx %llu frames, %llu drops; tx %llu frames, %llu drops",
	     (unsigned long long)rx_stats(v, 0).packets, (unsigned long long)rx_stats(v, 0).drops,
	     (unsigned long long)tx_stats(v, 0).packets, (unsigned long long)tx_stats(v, 0).drops);
}

/* ---- queue pairs at the same time --------------------------------------- */

#define PAIR_BUFS (BUFS + 0x800000)     /* pair p's RX buffer and TX frame: + p * 0x10000 */

/* Both pairs carry traffic (VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 2). */
static bool two_pairs(struct dev *v)
{
	uint16_t two = htole16(2);
	uint32_t used;

	return ctrl_cmd(v, VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET, &two, 2, 1, &used) ==
	       VIRTIO_NET_OK;
}

/* One frame each way on pair 1: the host's into receiveq2, the guest's
 * out of transmitq2 to TAP queue 1.  True if both arrive (within
 * WAIT_UNTIL's bound). */
static bool pair1_roundtrip(struct dev *v, uint8_t seed)
{
	static uint8_t got[4096];
	const uint64_t b = PAIR_BUFS + 0x10000;
	uint16_t rx_used = dq_used_idx(&v->rx1), tx_used = dq_used_idx(&v->tx1);

	dq_post(&v->rx1, (struct seg[]){ { b, 2048, true } }, 1);
	kick(v, &v->rx1);
	host_send(&v->fake, 1, 0, 0, 300, seed);
	if (!WAIT_UNTIL(dq_used_idx(&v->rx1) == (uint16_t)(rx_used + 1)) || !pattern_at(b + HDR, 300, seed))
		return false;
	guest_frame(b + 0x1000, 0, 0, 0, 0, 0, 200, (uint8_t)(seed + 1));
	dq_post(&v->tx1, (struct seg[]){ { b + 0x1000, HDR + 200, false } }, 1);
	kick(v, &v->tx1);
	return host_recv(&v->fake, 1, got, sizeof(got), true) == HDR + 200 &&
	       WAIT_UNTIL(dq_used_idx(&v->tx1) == (uint16_t)(tx_used + 1));
}

/* Some thread of this process is blocked in write(2) on fd
 * (/proc/self/task/N/syscall: the number and arguments of the system
 * call a blocked thread is in). */
static bool thread_blocked_writing(int fd)
{
	char want[32], path[300], line[128];
	DIR *dir = opendir("/proc/self/task");
	struct dirent *de;
	bool found = false;

	if (!dir)
		bail("/proc/self/task");
	snprintf(want, sizeof(want), "%ld 0x%x ", (long)SYS_write, (unsigned int)fd);
	while (!found && (de = readdir(dir))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/syscall", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		found = fgets(line, sizeof(line), f) && !strncmp(line, want, strlen(want));
		fclose(f);
	}
	closedir(dir);
	return found;
}

static void set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK))
		bail("fcntl");
}

struct resetter {
	struct dev *v;
	bool done;
};

/* A vCPU writing 0 to device_status. */
static void *reset_vcpu(void *arg)
{
	struct resetter *r = arg;

	vpci_wr(&r->v->d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
	__atomic_store_n(&r->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

/*
 * Issue 9: one thread per queue pair, for real.  Pair 0's thread is
 * stopped in the middle of a packet -- its backend blocks the write of a
 * TX frame (a TAP whose socket buffer is full would, were it blocking) --
 * and pair 1 must still carry frames both ways: its queue runs do not
 * wait for pair 0's.  With one device lock around every queue run, pair 1
 * waits as long as pair 0 does.  Then a driver resets the device while
 * pair 0 is still mid-packet: the reset waits for that packet (it
 * excludes every queue run), completes once the backend takes it, and
 * the device works again afterwards.
 */
static void pairs_overlap(struct dev *v)
{
	static uint8_t filler[HDR + 1000], got[VIRTIO_NET_BUF_SIZE];
	const uint64_t b = PAIR_BUFS;
	struct resetter r = { .v = v };
	uint16_t tx_used;
	int fd = v->fake.be.fd[0];
	unsigned int fillers = 0;
	ssize_t n, last = -1;
	pthread_t t;

	ok(two_pairs(v), "overlap: two queue pairs");
	/* Pair 0 takes a frame it cannot deliver (no receive buffers): it
	 * holds it and reads nothing more from its backend queue, which is
	 * then made blocking. */
	host_send(&v->fake, 0, 0, 0, 100, 0x01);
	ok(WAIT_UNTIL(({ int inq = -1; ioctl(fd, SIOCINQ, &inq); inq == 0; })),
	   "overlap: pair 0 holds a frame it has no buffer for");
	memset(filler, 0, sizeof(filler));
	while (write(fd, filler, sizeof(filler)) > 0)
		fillers++;
	set_nonblock(fd, false);
	tx_used = dq_used_idx(&v->tx);
	guest_frame(b, 0, 0, 0, 0, 0, 60, 0x02);
	dq_post(&v->tx, (struct seg[]){ { b, HDR + 60, false } }, 1);
	kick(v, &v->tx);
	ok(WAIT_UNTIL(thread_blocked_writing(fd)), "overlap: pair 0's thread is blocked in its backend, "
	   "mid-packet (%u frames fill the socket)", fillers);

	ok(pair1_roundtrip(v, 0x10), "overlap: meanwhile pair 1 receives and sends a frame");
	ok(pair1_roundtrip(v, 0x20), "overlap: and another");
	ok(thread_blocked_writing(fd) && dq_used_idx(&v->tx) == tx_used,
	   "overlap: pair 0 is still mid-packet");

	if (pthread_create(&t, NULL, reset_vcpu, &r))
		bail("thread");
	usleep(50000);
	ok(!__atomic_load_n(&r.done, __ATOMIC_SEQ_CST), "overlap: a reset waits for the packet in flight");

	/* The host reads: the backend takes pair 0's frame. */
	set_nonblock(fd, true);
	while ((n = host_recv(&v->fake, 0, got, sizeof(got), false)) > 0)
		last = n;
	ok(WAIT_UNTIL(__atomic_load_n(&r.done, __ATOMIC_SEQ_CST)), "overlap: then the reset completes");
	pthread_join(t, NULL);
	while ((n = host_recv(&v->fake, 0, got, sizeof(got), false)) > 0)
		last = n;
	is_int(HDR + 60, last, "overlap: pair 0's frame reached the host, after the fillers");
	is_int(0, vpci_status(&v->d), "overlap: the device is reset");

	driver_up(v, 2, 0);
	ok(two_pairs(v) && pair1_roundtrip(v, 0x30), "overlap: after the reset both pairs work again");
	{
		uint16_t used = dq_used_idx(&v->tx);

		guest_frame(b, 0, 0, 0, 0, 0, 70, 0x03);
		dq_post(&v->tx, (struct seg[]){ { b, HDR + 70, false } }, 1);
		kick(v, &v->tx);
		is_int(HDR + 70, host_recv(&v->fake, 0, got, sizeof(got), true), "overlap: pair 0 sends again");
		ok(WAIT_UNTIL(dq_used_idx(&v->tx) == (uint16_t)(used + 1)), "overlap: and completes its chain");
	}
}

/* ---- resets while both pairs carry traffic ------------------------------ */

#define RESET_ROUNDS 60
static bool race_stop;

/* The host: frames into both TAP queues as fast as they are taken, and
 * whatever the guest sends read away. */
static void *race_host(void *arg)
{
	static uint8_t buf[HDR + 1500], got[VIRTIO_NET_BUF_SIZE];
	struct dev *v = arg;
	unsigned int seed = 5;

	memset(buf, 0, sizeof(buf));
	while (!__atomic_load_n(&race_stop, __ATOMIC_SEQ_CST)) {
		bool idle = true;

		for (unsigned int q = 0; q < 2; q++) {
			if (write(v->fake.peer[q], buf, HDR + 60 + rand_r(&seed) % 1400) > 0)
				idle = false;
			while (read(v->fake.peer[q], got, sizeof(got)) > 0)
				idle = false;
		}
		if (idle)
			usleep(100);
	}
	return NULL;
}

/* Fill both pairs' rings: receive buffers and transmit frames. */
static void race_fill(struct dev *v)
{
	struct dq *rx[2] = { &v->rx, &v->rx1 }, *tx[2] = { &v->tx, &v->tx1 };

	for (unsigned int p = 0; p < 2; p++) {
		uint64_t b = PAIR_BUFS + 0x20000 + 0x10000ull * p;

		for (unsigned int i = 0; i < QSZ / 2; i++) {
			dq_post(rx[p], (struct seg[]){ { b + 0x800ull * i, 0x800, true } }, 1);
			guest_frame(b + 0x8000 + 0x800ull * i, 0, 0, 0, 0, 0, 1000, (uint8_t)i);
			dq_post(tx[p], (struct seg[]){ { b + 0x8000 + 0x800ull * i, HDR + 1000, false } }, 1);
		}
		kick(v, rx[p]);
		kick(v, tx[p]);
	}
}

/*
 * Guest input is hostile, and so is its timing: a driver that resets the
 * device at any moment while both pairs' threads move frames must find it
 * reset (status 0 read back), never crash or hang it, and have a working
 * device after its next probe.  The sanitizer twin of this test checks
 * that no freed or torn state is touched on the way.
 */
static void reset_races(struct dev *v)
{
	unsigned int seed = 7, good = 0;
	pthread_t host_thread;

	__atomic_store_n(&race_stop, false, __ATOMIC_SEQ_CST);
	if (pthread_create(&host_thread, NULL, race_host, v))
		bail("thread");
	for (unsigned int round = 0; round < RESET_ROUNDS; round++) {
		driver_up(v, 2, 0);
		if (!two_pairs(v))
			break;
		race_fill(v);
		usleep(rand_r(&seed) % 3000);
		vpci_wr(&v->d, VIRTIO_PCI_COMMON_STATUS, 1, 0);
		if (vpci_status(&v->d) != 0)
			break;
		good++;
	}
	__atomic_store_n(&race_stop, true, __ATOMIC_SEQ_CST);
	pthread_join(host_thread, NULL);
	{
		uint64_t rx = rx_stats(v, 0).packets + rx_stats(v, 1).packets;
		uint64_t tx = tx_stats(v, 0).packets + tx_stats(v, 1).packets;

		diag("reset race: %llu frames received, %llu sent over the rounds", (unsigned long long)rx,
		     (unsigned long long)tx);
		ok(rx && tx, "reset race: frames moved both ways between the resets");
	}
	is_int(RESET_ROUNDS, good, "reset race: %d resets while both pairs move frames, each read back "
	       "as status 0", RESET_ROUNDS);
	{
		static uint8_t got[VIRTIO_NET_BUF_SIZE];

		/* The frames in flight either way when the host stopped (the
		 * device is reset: its threads read nothing now). */
		for (unsigned int q = 0; q < 2; q++)
			while (read(v->fake.peer[q], got, sizeof(got)) > 0 ||
			       read(v->fake.be.fd[q], got, sizeof(got)) > 0)
				;
	}
	driver_up(v, 2, 0);
	ok(two_pairs(v) && pair1_roundtrip(v, 0x40), "reset race: afterwards pair 1 works");
	{
		static uint8_t got[4096];
		const uint64_t b = PAIR_BUFS;

		dq_post(&v->rx, (struct seg[]){ { b + 0x2000, 2048, true } }, 1);
		kick(v, &v->rx);
		host_send(&v->fake, 0, 0, 0, 400, 0x50);
		ok(WAIT_UNTIL(dq_used_idx(&v->rx) == 1) && pattern_at(b + 0x2000 + HDR, 400, 0x50),
		   "reset race: and pair 0 receives");
		guest_frame(b, 0, 0, 0, 0, 0, 80, 0x60);
		dq_post(&v->tx, (struct seg[]){ { b, HDR + 80, false } }, 1);
		kick(v, &v->tx);
		is_int(HDR + 80, host_recv(&v->fake, 0, got, sizeof(got), true), "reset race: and sends");
	}
	ok(!(dev_status(v) & VIRTIO_CONFIG_S_NEEDS_RESET), "reset race: no DEVICE_NEEDS_RESET");
}

/* ---- MSI-X from both pairs' threads ------------------------------------- */

#define MSIX_ROUNDS 40
static struct virtio_dev *msix_dev;
static unsigned int msix_sent[VIRTIO_MSIX_VECTORS], msix_masked_sent;

/* The host's MSI: counted per vector; one for a vector the guest masked
 * is a bug (the transport calls this with its msix_lock held). */
static int counting_msi(void *o, uint64_t addr, uint32_t data)
{
	unsigned int vec = data - MSI_DATA(0);

	(void)o;
	if (!msix_dev || addr != VPCI_DRV_MSI_ADDR || vec >= VIRTIO_MSIX_VECTORS)
		return 0;
	if (msix_dev->msix[vec].ctrl & 1)
		__atomic_fetch_add(&msix_masked_sent, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&msix_sent[vec], 1, __ATOMIC_SEQ_CST);
	return 0;
}

static void *msix_host(void *arg)
{
	struct dev *v = arg;

	for (unsigned int i = 0; i < QSZ; i++)
		for (unsigned int q = 0; q < 2; q++)
			host_send(&v->fake, q, 0, 0, 100, (uint8_t)i);
	return NULL;
}

/*
 * Both pairs' threads raise their receive queues' vectors (1 and 3) at
 * the same time while a vCPU masks and unmasks them.  No message may
 * leave for a masked vector, and an interrupt raised while masked is
 * pending, never lost: once the guest unmasks, the PBA is clear and the
 * vector has fired.  Without EVENT_IDX every used buffer interrupts.
 */
static void msix_two_threads(struct dev *v)
{
	const unsigned int vec[2] = { 1, 3 };
	struct dq *rx[2] = { &v->rx, &v->rx1 };
	unsigned int seed = 3, lost = 0, silent = 0;

	ok(two_pairs(v), "MSI-X: two queue pairs");
	msix_dev = &v->net.vd;
	host.signal_msi = counting_msi;
	for (unsigned int round = 0; round < MSIX_ROUNDS; round++) {
		unsigned int before[2] = { __atomic_load_n(&msix_sent[vec[0]], __ATOMIC_SEQ_CST),
					   __atomic_load_n(&msix_sent[vec[1]], __ATOMIC_SEQ_CST) };
		uint16_t target[2];
		pthread_t t;

		for (unsigned int p = 0; p < 2; p++) {
			uint64_t b = PAIR_BUFS + 0x40000 + 0x10000ull * p;

			target[p] = (uint16_t)(dq_used_idx(rx[p]) + QSZ);
			for (unsigned int i = 0; i < QSZ; i++)
				dq_post(rx[p], (struct seg[]){ { b + 0x800ull * i, 0x800, true } }, 1);
			kick(v, rx[p]);
		}
		if (pthread_create(&t, NULL, msix_host, v))
			bail("thread");
		for (unsigned int i = 0; i < 100000 && (dq_used_idx(rx[0]) != target[0] ||
							 dq_used_idx(rx[1]) != target[1]); i++) {
			unsigned int p = rand_r(&seed) % 2;

			vpci_wr(&v->d, VPCI_MSIX_TABLE + 16 * vec[p] + 12, 4, rand_r(&seed) % 2);
			if (i % 16 == 15)
				usleep(100);
		}
		pthread_join(t, NULL);
		for (unsigned int p = 0; p < 2; p++)
			vpci_wr(&v->d, VPCI_MSIX_TABLE + 16 * vec[p] + 12, 4, 0);
		if (!WAIT_UNTIL(dq_used_idx(rx[0]) == target[0] && dq_used_idx(rx[1]) == target[1])) {
			diag("MSI-X round %u: frames not delivered", round);
			lost++;
			break;
		}
		for (unsigned int p = 0; p < 2; p++) {
			if (vpci_rd(&v->d, VPCI_MSIX_PBA, 4) & (1u << vec[p]))
				lost++;
			if (!WAIT_UNTIL(__atomic_load_n(&msix_sent[vec[p]], __ATOMIC_SEQ_CST) > before[p]))
				silent++;
		}
	}
	host.signal_msi = vpci_ignore_msi;
	msix_dev = NULL;
	is_int(0, msix_masked_sent, "MSI-X: no message for a masked vector (%u and %u sent)",
	       msix_sent[vec[0]], msix_sent[vec[1]]);
	is_int(0, lost, "MSI-X: unmasked at the end of each of %d rounds, nothing is left pending",
	       MSIX_ROUNDS);
	is_int(0, silent, "MSI-X: and each vector fired in each round");
}

int main(void)
{
	static struct dev a, s, m, i;
	struct viommu_config cfg;
	struct viommu *iommu;

	plan_lazy();
	log_max_level = LOG_ERR;   /* the warnings are what is being tested */
	if (guest_mem_init(&mem, MEM_SIZE))
		bail("guest memory");
	host.mem = &mem;
	pci_bus_init(&bus);

	header_translation();

	/* Every feature, one pair. */
	dev_up(&a, 2, 1, NULL, 0);
	config_and_features(&a);
	tx_frames(&a);
	rx_mergeable(&a);
	rx_tiny_buffer(&a);
	dev_down(&a);

	/* Without MRG_RXBUF and the guest offloads. */
	dev_up(&s, 2, 1, NULL, F(MRG_RXBUF) | F(GUEST_CSUM) | F(GUEST_TSO4) | F(GUEST_TSO6) | F(GUEST_ECN));
	rx_single(&s);
	tx_loop(&s);
	dev_down(&s);

	/* Both directions at once (EVENT_IDX, MRG_RXBUF). */
	dev_up(&a, 2, 1, NULL, 0);
	stress(&a);
	dev_down(&a);

	/* Two queue pairs, MQ. */
	dev_up(&m, 2, 2, NULL, 0);
	ctrl_and_mq(&m);
	dev_down(&m);

	/* Two pairs at the same time: one blocked mid-packet, resets in
	 * the middle of traffic, interrupts from both threads. */
	dev_up(&m, 2, 2, NULL, 0);
	pairs_overlap(&m);
	reset_races(&m);
	dev_down(&m);
	dev_up(&m, 2, 2, NULL, 1ull << VIRTIO_RING_F_EVENT_IDX);
	msix_two_threads(&m);
	dev_down(&m);

	/* Behind the IOMMU. */
	viommu_default_config(&cfg);
	iommu = viommu_create(&cfg, &ram_ops, &mem);
	if (!iommu)
		bail("viommu");
	dev_up(&i, ENDPOINT_SLOT, 1, iommu, 0);
	iommu_dma(&i, iommu);
	dev_down(&i);
	viommu_destroy(iommu);

	pci_bus_destroy(&bus);
	guest_mem_free(&mem);
	return 0;
}
