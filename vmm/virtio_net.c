/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.2, 5.1): receive and transmit queue pairs and a
 * control queue, on a network backend (vmm/net_tap.c).
 *
 * TX: a chain's device-readable bytes (virtio-net header + frame) are read
 * into a host buffer in one pass -- one snapshot, each guest byte read
 * once -- checked against the negotiated features and written to the
 * backend.  RX: a frame read from the backend is held until the queue
 * has buffers enough for it (with MRG_RXBUF several, else one), every
 * destination piece but the first is checked for a device write, and only
 * then is it written: a refused destination writes nothing (the first
 * piece's own write is translated whole before its first byte moves).
 * The buffers of a refused frame go back unused (length 0).
 */
#include "vmm/virtio_net.h"
#include "vmm/log.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_net.h>

/* A TAP's vnet header is in the host's byte order (no TUNSETVNETLE needed
 * here), virtio 1.x's is little-endian: the same on the x86 hosts vmm runs on. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "vnet header byte order");
_Static_assert(sizeof(struct virtio_net_hdr_mrg_rxbuf) == VIRTIO_NET_HDR_LEN, "header size");
_Static_assert(2 * VIRTIO_NET_MAX_PAIRS + 1 <= VIRTIO_MAX_QUEUES, "queues of the transport");

#define NET_QUEUE_SIZE 256
/* Frames (or chains) one queue handles per wake-up before the other
 * queue of its pair gets its turn. */
#define NET_BUDGET     64
/* Device-writable pieces one RX frame may be spread over: a chain of
 * VQ_MAX_SEGS fits. */
#define NET_RX_PIECES  VQ_MAX_SEGS
/* Up to the MTU: what the config space has (speed and duplex are not offered). */
#define NET_CONFIG_SIZE offsetof(struct virtio_net_config, speed)
/* The longest control command taken: class, command and a MAC address. */
#define NET_CTRL_MAX   64

#define BIT(f) (1ull << (f))

struct net_piece {
	uint64_t addr;
	uint32_t len;
};

struct net_rx_buf {
	uint16_t head;
	uint32_t used;              /* bytes of the frame it takes */
};

enum net_role { NET_RX, NET_TX, NET_CTRL, NET_NONE };

static bool has(const struct virtio_net *net, unsigned int bit)
{
	return virtio_has_feature(&net->vd, bit);
}

/* ---- header translation ------------------------------------------------- */

unsigned int virtio_net_tap_offloads(uint64_t f)
{
	unsigned int t;

	/* Every TAP offload hands over partial checksums. */
	if (!(f & BIT(VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	t = TUN_F_CSUM;
	if (f & BIT(VIRTIO_NET_F_GUEST_TSO4))
		t |= TUN_F_TSO4;
	if (f & BIT(VIRTIO_NET_F_GUEST_TSO6))
		t |= TUN_F_TSO6;
	if ((t & (TUN_F_TSO4 | TUN_F_TSO6)) && (f & BIT(VIRTIO_NET_F_GUEST_ECN)))
		t |= TUN_F_TSO_ECN;
	return t;
}

/* gso_type is one the features allow: TCP over IPv4 or IPv6 with their
 * TSO feature, the ECN bit on those with the ECN one (UFO and USO are
 * not offered).  0 or -EINVAL. */
static int gso_allowed(uint8_t gso_type, uint64_t f, unsigned int tso4, unsigned int tso6,
		       unsigned int ecn)
{
	switch (gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return gso_type & VIRTIO_NET_HDR_GSO_ECN ? -EINVAL : 0;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!(f & BIT(tso4)))
			return -EINVAL;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!(f & BIT(tso6)))
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	return (gso_type & VIRTIO_NET_HDR_GSO_ECN) && !(f & BIT(ecn)) ? -EINVAL : 0;
}

int virtio_net_hdr_to_guest(void *p, uint64_t f)
{
	struct virtio_net_hdr_mrg_rxbuf *h = p;

	if (!(f & BIT(VIRTIO_NET_F_GUEST_CSUM))) {
		/* 5.1.6.4.1: flags zero, the frame fully checksummed; a
		 * partial checksum the guest cannot finish is not deliverable. */
		if (h->hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			return -EINVAL;
		h->hdr.flags = 0;
	} else {
		h->hdr.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
	}
	if (gso_allowed(h->hdr.gso_type, f, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6,
			VIRTIO_NET_F_GUEST_ECN))
		return -EINVAL;
	h->num_buffers = 0;
	return 0;
}

int virtio_net_hdr_from_guest(void *p, uint64_t f, size_t frame_len)
{
	struct virtio_net_hdr_mrg_rxbuf *h = p;
	uint8_t gso = h->hdr.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;

	/* 5.1.6.2.2: flag bits the device does not recognize are ignored
	 * (and not handed to the TAP, which might). */
	h->hdr.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM;
	if (h->hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		uint32_t start = le16toh(h->hdr.csum_start), off = le16toh(h->hdr.csum_offset);

		if (!(f & BIT(VIRTIO_NET_F_CSUM)) || start + off + 2 > frame_len)
			return -EINVAL;
	}
	if (gso_allowed(h->hdr.gso_type, f, VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6,
			VIRTIO_NET_F_HOST_ECN))
		return -EINVAL;
	/* Segmentation needs a segment size and the checksum to redo. */
	if (gso != VIRTIO_NET_HDR_GSO_NONE &&
	    (!(h->hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || !h->hdr.gso_size))
		return -EINVAL;
	h->num_buffers = 0;
	return 0;
}

/* ---- queues and their roles --------------------------------------------- */

/* Queue q's role as the driver negotiated it (5.1.2): without MQ the
 * control queue is queue 2, whatever max_virtqueue_pairs says. */
static enum net_role queue_role(const struct virtio_net *net, unsigned int q, unsigned int *pair)
{
	unsigned int pairs = has(net, VIRTIO_NET_F_MQ) ? net->max_pairs : 1;

	if (q < 2 * pairs) {
		*pair = q / 2;
		return q % 2 ? NET_TX : NET_RX;
	}
	if (q == 2 * pairs && has(net, VIRTIO_NET_F_CTRL_VQ))
		return NET_CTRL;
	return NET_NONE;
}

static void wake_pair(struct virtio_net *net, unsigned int i)
{
	uint64_t one = 1;

	/* Its RX kick: the thread looks again at what it should poll. */
	if (net->vd.notify_fd[2 * i] >= 0 &&
	    write(net->vd.notify_fd[2 * i], &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_ratelimited(LOG_WARN, "virtio-net: wake queue pair %u: %s", i, strerror(errno));
}

/* Pairs [0, n) carry traffic; the backend gives frames to those only.
 * From the control queue's run or a reset (so never twice at once).  A
 * pair past n drops the frame it holds itself (rx_run), under its own
 * queue's lock: each pair is woken to look. */
static void set_pairs(struct virtio_net *net, unsigned int n)
{
	struct net_backend *be = net->be;

	for (unsigned int i = 0; i < net->max_pairs; i++) {
		bool on = i < n;

		if (be->enable_queue && be->attached[i] != on) {
			int ret = be->enable_queue(be, i, on);

			if (ret)
				pr_ratelimited(LOG_WARN, "virtio-net: TAP %s: cannot %s queue %u: %s", be->name,
					       on ? "attach" : "detach", i, strerror(-ret));
		}
	}
	atomic_store(&net->curr_pairs, n);
	if (n > net->most_pairs)
		net->most_pairs = n;
	for (unsigned int i = 0; i < net->max_pairs; i++)
		wake_pair(net, i);
}

/* The backend's offloads follow what the driver negotiated (fixed from
 * FEATURES_OK to the next reset): set once, by the first RX run of any
 * pair; the others see offload_set. */
static void sync_offloads(struct virtio_net *net)
{
	struct net_backend *be = net->be;
	uint64_t f = net->vd.driver_features;
	int ret;

	if (atomic_load_explicit(&net->offload_set, memory_order_acquire))
		return;
	pthread_mutex_lock(&net->lock);
	if (net->offload_set && net->offload_features == f)
		goto out;
	net->offload_features = f;
	if (be->set_offload) {
		ret = be->set_offload(be, virtio_net_tap_offloads(f));
		if (ret) {
			/* Without offloads the TAP segments and checksums itself. */
			pr_ratelimited(LOG_WARN, "virtio-net: TAP %s: offloads %#x refused (%s): none used",
				       be->name, virtio_net_tap_offloads(f), strerror(-ret));
			be->set_offload(be, 0);
		}
	}
	atomic_store_explicit(&net->offload_set, true, memory_order_release);
out:
	pthread_mutex_unlock(&net->lock);
}

/* ---- receive ------------------------------------------------------------ */

enum rx_result {
	RX_DONE,       /* delivered */
	RX_WAIT,       /* not enough buffers yet: keep the frame */
	RX_DROPPED,    /* the frame cannot be delivered (header, size): buffers untouched */
	RX_REFUSED,    /* a destination was refused: buffers returned empty */
	RX_BROKEN,     /* the queue is broken */
};

/* Mark the RX queue broken for a rule of the driver's it broke. */
static enum rx_result rx_broken(struct virtqueue *vq, const char *why)
{
	vq->broken = true;
	vq->broken_why = why;
	return RX_BROKEN;
}

static enum rx_result rx_deliver(struct virtio_net *net, struct virtio_net_pair *p,
				 struct virtqueue *vq)
{
	struct virtio_net_hdr_mrg_rxbuf *hdr = (void *)p->rx_buf;
	unsigned int max_bufs = has(net, VIRTIO_NET_F_MRG_RXBUF) ? vq->size : 1;
	unsigned int nbufs = 0, npieces = 0;
	size_t need = p->rx_len, have = 0, off = 0;
	int ret;

	if (virtio_net_hdr_to_guest(hdr, net->vd.driver_features))
		return RX_DROPPED;
	/* Gather: whole buffers, in ring order, until the frame fits. */
	while (have < need) {
		struct vq_elem *e = p->rx_elem;
		struct net_rx_buf *b;

		if (nbufs == max_bufs) {
			/* Without MRG_RXBUF one buffer must hold it all (5.1.6.3);
			 * with it, a whole ring cannot.  Drop the frame, keep the
			 * buffers for the next one. */
			vq_unpop(vq, nbufs);
			return RX_DROPPED;
		}
		ret = vq_pop(vq, e);
		if (ret < 0)
			return RX_BROKEN;
		if (ret == 0) {
			vq_unpop(vq, nbufs);
			return RX_WAIT;
		}
		/* 5.1.6.3.1: every buffer holds at least the header. */
		if (e->writable < VIRTIO_NET_HDR_LEN)
			return rx_broken(vq, "receive buffer smaller than the virtio-net header");
		b = &p->bufs[nbufs++];
		b->head = e->head;
		b->used = 0;
		for (unsigned int s = 0; s < e->nseg && have < need; s++) {
			size_t n = e->seg[s].len;

			if (!e->seg[s].write || !n)
				continue;
			if (npieces == NET_RX_PIECES) {
				vq_unpop(vq, nbufs);
				return RX_DROPPED;
			}
			if (n > need - have)
				n = need - have;
			p->pieces[npieces++] = (struct net_piece){ .addr = e->seg[s].addr, .len = (uint32_t)n };
			b->used += (uint32_t)n;
			have += n;
		}
	}
	/* 5.1.6.4: num_buffers is the buffers used; 1 without MRG_RXBUF. */
	hdr->num_buffers = htole16((uint16_t)nbufs);
	for (unsigned int i = 1; i < npieces; i++)
		if (dma_check(vq->dma, p->pieces[i].addr, p->pieces[i].len, VIOMMU_WRITE))
			goto refused;
	for (unsigned int i = 0; i < npieces; off += p->pieces[i].len, i++)
		if (dma_write(vq->dma, p->pieces[i].addr, p->rx_buf + off, p->pieces[i].len))
			goto refused;
	for (unsigned int b = 0; b < nbufs; b++)
		if (vq_push(vq, p->bufs[b].head, p->bufs[b].used))
			return RX_BROKEN;
	return RX_DONE;
refused:
	/* The IOMMU recorded why.  The buffers go back empty: a driver that
	 * left them unmapped gets them back rather than losing its ring. */
	for (unsigned int b = 0; b < nbufs; b++)
		if (vq_push(vq, p->bufs[b].head, 0))
			return RX_BROKEN;
	return RX_REFUSED;
}

/* Take the backend's next frame into rx_buf: true if there is one. */
static bool rx_read(struct virtio_net *net, struct virtio_net_pair *p)
{
	for (;;) {
		ssize_t n = read(net->be->fd[p->index], p->rx_buf, VIRTIO_NET_BUF_SIZE);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				pr_ratelimited(LOG_WARN, "virtio-net: TAP %s queue %u: %s: not read any more",
					       net->be->name, p->index, strerror(errno));
				atomic_store(&p->backend_failed, true);
			}
			return false;
		}
		if ((size_t)n >= VIRTIO_NET_HDR_LEN + ETH_HLEN) {
			p->rx_len = (size_t)n;
			return true;
		}
		p->rx.drops++;   /* a runt: no header and Ethernet header */
	}
}

static void rx_run(struct virtio_net *net, struct virtio_net_pair *p, unsigned int q)
{
	struct virtqueue *vq = &net->vd.vq[q];
	bool used = false;

	if (p->index >= atomic_load(&net->curr_pairs)) {
		if (p->rx_pending) {
			/* 5.1.6.5.5: nothing on receive queues past the count. */
			p->rx_pending = false;
			p->rx.drops++;
		}
		return;
	}
	for (unsigned int budget = NET_BUDGET; budget && !vq->broken; budget--) {
		enum rx_result r;

		if (!p->rx_pending && (p->backend_failed || !rx_read(net, p)))
			break;
		p->rx_pending = true;
		r = rx_deliver(net, p, vq);
		if (r == RX_WAIT)
			break;
		p->rx_pending = false;
		if (r == RX_DONE) {
			p->rx.packets++;
			p->rx.bytes += p->rx_len - VIRTIO_NET_HDR_LEN;
		} else {
			p->rx.drops++;
		}
		used |= r == RX_DONE || r == RX_REFUSED;
	}
	if (used)
		virtio_queue_interrupt(&net->vd, q);
}

/* ---- transmit ----------------------------------------------------------- */

/* Send tx_buf's frame: 0, -EAGAIN (the backend is full: try again when
 * it can take it) or another -errno (dropped). */
static int tx_write(struct virtio_net *net, struct virtio_net_pair *p)
{
	ssize_t n = write(net->be->fd[p->index], p->tx_buf, p->tx_len);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -EAGAIN;
	if (n != (ssize_t)p->tx_len)
		return n < 0 ? -errno : -EIO;
	p->tx.packets++;
	p->tx.bytes += p->tx_len - VIRTIO_NET_HDR_LEN;
	return 0;
}

/* A chain's frame into tx_buf (one snapshot), checked: 0 or -errno (drop). */
static int tx_take(struct virtio_net *net, struct virtio_net_pair *p, struct virtqueue *vq,
		   const struct vq_elem *e)
{
	uint64_t len = e->readable;

	/* Too short for the header and an Ethernet header (header-only and
	 * empty chains included), or longer than any frame. */
	if (len < VIRTIO_NET_HDR_LEN + ETH_HLEN || len > VIRTIO_NET_BUF_SIZE)
		return -EINVAL;
	if (vq_elem_read(vq, e, 0, p->tx_buf, (size_t)len))
		return -EFAULT;   /* refused: the IOMMU recorded why; nothing is sent */
	if (virtio_net_hdr_from_guest(p->tx_buf, net->vd.driver_features, len - VIRTIO_NET_HDR_LEN))
		return -EINVAL;
	p->tx_len = (size_t)len;
	return 0;
}

/* The frame the backend could not take before: sent now (or dropped),
 * its chain completed; false if the backend is still full. */
static bool tx_flush(struct virtio_net *net, struct virtio_net_pair *p, struct virtqueue *vq)
{
	int ret = tx_write(net, p);

	if (ret == -EAGAIN)
		return false;
	if (ret)
		p->tx.drops++;
	p->tx_pending = false;
	if (vq_push(vq, p->tx_head, 0))
		return false;
	virtio_queue_interrupt(&net->vd, 2 * p->index + 1);
	return true;
}

static void tx_run(struct virtio_net *net, struct virtio_net_pair *p, unsigned int q)
{
	struct virtqueue *vq = &net->vd.vq[q];
	unsigned int budget = NET_BUDGET;
	bool used = false;

	if (p->tx_pending && !tx_flush(net, p, vq))
		return;   /* the pair's thread waits until the backend takes it */
	while (budget && vq_pop(vq, p->tx_elem) == 1) {
		int ret = tx_take(net, p, vq, p->tx_elem);

		budget--;
		if (!ret)
			ret = tx_write(net, p);
		if (ret == -EAGAIN) {
			/* Backpressure, not a drop: keep the snapshot and its
			 * chain, and stop taking frames the backend cannot take. */
			p->tx_pending = true;
			p->tx_head = p->tx_elem->head;
			break;
		}
		if (ret) {
			p->tx.drops++;
			if (ret == -EINVAL)
				pr_ratelimited(LOG_WARN, "virtio-net: TX queue %u: malformed frame of %llu "
					       "bytes dropped", q, (unsigned long long)p->tx_elem->readable);
		}
		/* A TX buffer is returned with nothing written into it. */
		if (vq_push(vq, p->tx_elem->head, 0))
			break;
		used = true;
	}
	if (used)
		virtio_queue_interrupt(&net->vd, q);
	if (!budget && !p->tx_pending) {
		/* More to send: after RX had its turn, through our own kick. */
		uint64_t one = 1;

		if (write(net->vd.notify_fd[q], &one, sizeof(one)) < 0 && errno != EAGAIN)
			pr_ratelimited(LOG_WARN, "virtio-net: TX queue %u: %s", q, strerror(errno));
	}
}

/* ---- control queue (5.1.6.5) -------------------------------------------- */

static uint8_t ctrl_command(struct virtio_net *net, struct virtqueue *vq, const struct vq_elem *e)
{
	uint8_t cmd[NET_CTRL_MAX];
	const uint8_t *data = cmd + 2;
	size_t len;

	if (e->readable < 2 || e->readable > sizeof(cmd))
		return VIRTIO_NET_ERR;
	if (vq_elem_read(vq, e, 0, cmd, (size_t)e->readable))
		return VIRTIO_NET_ERR;
	len = (size_t)e->readable - 2;
	switch (cmd[0]) {
	case VIRTIO_NET_CTRL_MQ: {
		uint16_t pairs;

		if (cmd[1] != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || !has(net, VIRTIO_NET_F_MQ) ||
		    len != sizeof(pairs))
			return VIRTIO_NET_ERR;
		memcpy(&pairs, data, sizeof(pairs));
		pairs = le16toh(pairs);
		if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > net->max_pairs)
			return VIRTIO_NET_ERR;
		set_pairs(net, pairs);
		return VIRTIO_NET_OK;
	}
	case VIRTIO_NET_CTRL_MAC:
		if (cmd[1] != VIRTIO_NET_CTRL_MAC_ADDR_SET || !has(net, VIRTIO_NET_F_CTRL_MAC_ADDR) ||
		    len != sizeof(net->mac))
			return VIRTIO_NET_ERR;
		pthread_mutex_lock(&net->lock);   /* a vCPU may be reading the config */
		memcpy(net->mac, data, sizeof(net->mac));
		pthread_mutex_unlock(&net->lock);
		return VIRTIO_NET_OK;
	default:
		/* RX modes, MAC tables, VLANs, announcements, guest offloads:
		 * none of their features is offered. */
		return VIRTIO_NET_ERR;
	}
}

static void ctrl_run(struct virtio_net *net, unsigned int q)
{
	struct virtqueue *vq = &net->vd.vq[q];
	static __thread struct vq_elem e;
	bool used = false;

	while (vq_pop(vq, &e) == 1) {
		uint8_t ack = e.writable ? ctrl_command(net, vq, &e) : VIRTIO_NET_ERR;
		uint32_t written = 0;

		if (ack == VIRTIO_NET_OK)
			net->ctrl_ok++;
		else
			net->ctrl_err++;
		/* The ack is the command's device-writable byte. */
		if (e.writable && vq_elem_write(vq, &e, 0, &ack, 1) == 0)
			written = 1;
		if (vq_push(vq, e.head, written))
			break;
		used = true;
	}
	if (used)
		virtio_queue_interrupt(&net->vd, q);
}

/* ---- the device --------------------------------------------------------- */

static void net_notify(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_net *net = vd->priv;
	unsigned int i;

	switch (queue_role(net, q, &i)) {
	case NET_RX:
		sync_offloads(net);
		rx_run(net, &net->pair[i], q);
		break;
	case NET_TX:
		tx_run(net, &net->pair[i], q);
		break;
	case NET_CTRL:
		ctrl_run(net, q);
		break;
	case NET_NONE:
		break;
	}
}

static uint64_t net_features(struct virtio_dev *vd)
{
	struct virtio_net *net = vd->priv;

	return BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_MTU) |
	       BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_GUEST_TSO4) | BIT(VIRTIO_NET_F_GUEST_TSO6) |
	       BIT(VIRTIO_NET_F_GUEST_ECN) | BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
	       BIT(VIRTIO_NET_F_HOST_ECN) | BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_STATUS) |
	       BIT(VIRTIO_NET_F_CTRL_VQ) | BIT(VIRTIO_NET_F_CTRL_MAC_ADDR) |
	       (net->max_pairs > 1 ? BIT(VIRTIO_NET_F_MQ) : 0);
}

static void net_read_config(struct virtio_dev *vd, unsigned int offset, void *buf, unsigned int len)
{
	struct virtio_net *net = vd->priv;
	struct virtio_net_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	pthread_mutex_lock(&net->lock);   /* the control queue may be setting it */
	memcpy(cfg.mac, net->mac, sizeof(cfg.mac));
	pthread_mutex_unlock(&net->lock);
	cfg.status = htole16(VIRTIO_NET_S_LINK_UP);
	cfg.max_virtqueue_pairs = htole16((uint16_t)net->max_pairs);
	cfg.mtu = htole16(net->mtu);
	if (offset < NET_CONFIG_SIZE && len <= NET_CONFIG_SIZE - offset)
		memcpy(buf, (uint8_t *)&cfg + offset, len);
}

/* state_lock exclusive: no queue of any pair runs. */
static void net_reset(struct virtio_dev *vd)
{
	struct virtio_net *net = vd->priv;

	pthread_mutex_lock(&net->lock);
	memcpy(net->mac, net->mac_default, sizeof(net->mac));
	net->offload_set = false;
	pthread_mutex_unlock(&net->lock);
	for (unsigned int i = 0; i < net->max_pairs; i++) {
		struct virtio_net_pair *p = &net->pair[i];

		if (p->rx_pending) {
			p->rx_pending = false;
			p->rx.drops++;
		}
		if (p->tx_pending) {
			/* Its chain belongs to the ring the driver just reset. */
			p->tx_pending = false;
			p->tx.drops++;
		}
	}
	set_pairs(net, 1);
}

/* Should pair p's thread wait for a frame of its backend queue?  Its
 * receive queue held (virtio_queue_lock). */
static bool rx_wants_frames(struct virtio_net *net, struct virtio_net_pair *p)
{
	unsigned int q = 2 * p->index, i;

	return p->index < atomic_load(&net->curr_pairs) && !p->rx_pending &&
	       !atomic_load(&p->backend_failed) && queue_role(net, q, &i) == NET_RX &&
	       virtio_queue_ready(&net->vd, q);
}

/* What pair p's thread polls its backend queue for. */
static short backend_events(struct virtio_net *net, struct virtio_net_pair *p)
{
	struct virtio_dev *vd = &net->vd;
	unsigned int rxq = 2 * p->index, txq = rxq + 1;
	short events = 0;

	/* Frames wait in the backend while the ring has no room; a frame
	 * for a full backend waits for room there. */
	virtio_queue_lock(vd, rxq);
	if (rx_wants_frames(net, p))
		events |= POLLIN;
	virtio_queue_unlock(vd, rxq);
	virtio_queue_lock(vd, txq);
	if (p->tx_pending && !atomic_load(&p->backend_failed))
		events |= POLLOUT;
	virtio_queue_unlock(vd, txq);
	return events;
}

static bool drain(int fd)
{
	uint64_t n;

	return read(fd, &n, sizeof(n)) == sizeof(n);
}

static void *pair_thread(void *arg)
{
	struct virtio_net_pair *p = arg;
	struct virtio_net *net = p->net;
	struct virtio_dev *vd = &net->vd;
	unsigned int rxq = 2 * p->index, txq = rxq + 1;
	struct pollfd pfd[4] = {
		{ .fd = net->stop_fd, .events = POLLIN },
		{ .fd = vd->notify_fd[rxq], .events = POLLIN },
		{ .fd = vd->notify_fd[txq], .events = POLLIN },
		{ .fd = net->be->fd[p->index] },
	};

	for (;;) {
		pfd[3].events = backend_events(net, p);
		if (poll(pfd, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			pr_err("virtio-net: queue pair %u: poll: %s", p->index, strerror(errno));
			break;
		}
		if (pfd[0].revents)
			break;
		if ((pfd[1].revents & POLLIN) && drain(pfd[1].fd))
			virtio_run_queue(vd, rxq, true);
		if ((pfd[2].revents & POLLIN) && drain(pfd[2].fd))
			virtio_run_queue(vd, txq, true);
		if (pfd[3].revents & POLLOUT)
			virtio_run_queue(vd, txq, false);
		if (pfd[3].revents & POLLIN) {
			virtio_run_queue(vd, rxq, false);
		} else if (pfd[3].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			pr_ratelimited(LOG_WARN, "virtio-net: TAP %s queue %u went away", net->be->name,
				       p->index);
			atomic_store(&p->backend_failed, true);
		}
	}
	return NULL;
}

/* The pair's queues back on the device's dma_space, its port closed.
 * Its thread is not running. */
static void pair_dma_put(struct virtio_net *net, struct virtio_net_pair *p)
{
	if (!p->dma_own)
		return;
	virtio_queue_set_dma(&net->vd, 2 * p->index, NULL);
	virtio_queue_set_dma(&net->vd, 2 * p->index + 1, NULL);
	if (p->dma.port)
		dma_detach_iommu(&p->dma);
	p->dma_own = false;
}

/* Before the pair's thread starts: a dma_space of its own, with a port
 * of its own on the IOMMU (virtio_dma_clone). */
static int pair_dma_get(struct virtio_net *net, struct virtio_net_pair *p)
{
	int ret = virtio_dma_clone(&net->vd, &p->dma);

	if (ret)
		return ret;
	virtio_queue_set_dma(&net->vd, 2 * p->index, &p->dma);
	virtio_queue_set_dma(&net->vd, 2 * p->index + 1, &p->dma);
	p->dma_own = true;
	return 0;
}

static void net_stop(struct virtio_dev *vd)
{
	struct virtio_net *net = vd->priv;
	uint64_t one = 1;

	if (write(net->stop_fd, &one, sizeof(one)) != sizeof(one))
		pr_warn("virtio-net: cannot stop the queue threads");
	for (unsigned int i = 0; i < net->max_pairs; i++) {
		if (net->pair[i].thread_started) {
			pthread_join(net->pair[i].thread, NULL);
			net->pair[i].thread_started = false;
		}
		pair_dma_put(net, &net->pair[i]);
	}
}

static int net_start(struct virtio_dev *vd)
{
	struct virtio_net *net = vd->priv;

	for (unsigned int i = 0; i < net->max_pairs; i++) {
		int ret = pair_dma_get(net, &net->pair[i]);

		if (!ret)
			ret = -pthread_create(&net->pair[i].thread, NULL, pair_thread, &net->pair[i]);
		if (ret) {
			net_stop(vd);
			return ret;
		}
		net->pair[i].thread_started = true;
	}
	return 0;
}

static const struct virtio_dev_ops net_ops = {
	.name = "virtio-net",
	.device_id = VIRTIO_ID_NET,
	.class_code = 0x020000,   /* network, Ethernet */
	.queue_size = NET_QUEUE_SIZE,
	.config_size = NET_CONFIG_SIZE,
	.features = net_features,
	.read_config = net_read_config,
	.queue_notify = net_notify,
	.reset = net_reset,
	.start = net_start,
	.stop = net_stop,
};

static void free_pairs(struct virtio_net *net)
{
	for (unsigned int i = 0; i < VIRTIO_NET_MAX_PAIRS; i++) {
		struct virtio_net_pair *p = &net->pair[i];

		free(p->rx_buf);
		free(p->tx_buf);
		free(p->rx_elem);
		free(p->tx_elem);
		free(p->bufs);
		free(p->pieces);
		p->rx_buf = p->tx_buf = NULL;
		p->rx_elem = p->tx_elem = NULL;
		p->bufs = NULL;
		p->pieces = NULL;
	}
}

int virtio_net_create(struct virtio_net *net, struct pci_bus *bus, unsigned int slot,
		      struct virtio_host *host, struct viommu *iommu, struct net_backend *be,
		      const uint8_t mac[6], uint16_t mtu)
{
	int ret;

	memset(net, 0, sizeof(*net));
	net->stop_fd = -1;
	pthread_mutex_init(&net->lock, NULL);
	if (!be->queues || be->queues > VIRTIO_NET_MAX_PAIRS)
		return -EINVAL;
	net->be = be;
	net->max_pairs = be->queues;
	net->curr_pairs = 1;
	net->mtu = mtu;
	memcpy(net->mac, mac, sizeof(net->mac));
	memcpy(net->mac_default, mac, sizeof(net->mac_default));
	net->ops = net_ops;
	net->ops.num_queues = 2 * net->max_pairs + 1;   /* the control queue last */
	net->ops.device_thread_queues = 2 * net->max_pairs;
	for (unsigned int i = 0; i < net->max_pairs; i++) {
		struct virtio_net_pair *p = &net->pair[i];

		p->net = net;
		p->index = i;
		p->rx_buf = malloc(VIRTIO_NET_BUF_SIZE);
		p->tx_buf = malloc(VIRTIO_NET_BUF_SIZE);
		p->rx_elem = malloc(sizeof(*p->rx_elem));
		p->tx_elem = malloc(sizeof(*p->tx_elem));
		p->bufs = calloc(NET_QUEUE_SIZE, sizeof(*p->bufs));
		p->pieces = calloc(NET_RX_PIECES, sizeof(*p->pieces));
		if (!p->rx_buf || !p->tx_buf || !p->rx_elem || !p->tx_elem || !p->bufs || !p->pieces) {
			ret = -ENOMEM;
			goto err;
		}
	}
	net->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (net->stop_fd < 0) {
		ret = -errno;
		goto err;
	}
	ret = virtio_pci_init(&net->vd, bus, slot, host, iommu, &net->ops, net);
	if (ret)
		goto err;
	return 0;
err:
	virtio_net_destroy(net);
	return ret;
}

void virtio_net_destroy(struct virtio_net *net)
{
	free_pairs(net);
	pthread_mutex_destroy(&net->lock);
	if (net->stop_fd >= 0)
		close(net->stop_fd);
	net->stop_fd = -1;
}

void virtio_net_stats(struct virtio_net *net, unsigned int pair, struct virtio_net_queue_stats *rx,
		      struct virtio_net_queue_stats *tx)
{
	virtio_queue_lock(&net->vd, 2 * pair);
	*rx = net->pair[pair].rx;
	virtio_queue_unlock(&net->vd, 2 * pair);
	virtio_queue_lock(&net->vd, 2 * pair + 1);
	*tx = net->pair[pair].tx;
	virtio_queue_unlock(&net->vd, 2 * pair + 1);
}
