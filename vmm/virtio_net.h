/* SPDX-License-Identifier: MIT */
#ifndef VMM_VIRTIO_NET_H
#define VMM_VIRTIO_NET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/virtio_pci.h"

/*
 * virtio-net (virtio 1.2, 5.1) on a host network backend: a TAP interface
 * (vmm/net_tap.c) or, in the tests, a fake.  One thread per queue pair
 * waits on its RX and TX kicks and on its backend queue; the control
 * queue runs on the transport's I/O thread.  Every frame byte moves
 * through vmm/dma.c: a TX frame is one snapshot of the guest's buffers, an
 * RX frame is written only once all of its destination translates.
 *
 * The pairs run at the same time: a queue run holds the transport's
 * state_lock shared and its own queue's lock (vmm/virtio_pci.h).  What a
 * queue keeps is under its queue lock; what the pairs and the control
 * queue share is atomic or under virtio_net.lock (taken after a queue
 * lock, before msix_lock); a reset holds state_lock exclusive and may
 * touch everything.
 */
#define VIRTIO_NET_MAX_PAIRS 8
#define VIRTIO_NET_HDR_LEN   12          /* struct virtio_net_hdr_mrg_rxbuf (VERSION_1) */
/* The largest frame (header included) either way: a 64 KiB GSO frame, or
 * one of the largest MTU, with room to spare. */
#define VIRTIO_NET_BUF_SIZE  (128u << 10)

/*
 * Where frames come from and go to.  fd[q] is queue q's file descriptor:
 * read() gives one frame, write() sends one, each led by the 12-byte
 * virtio_net_hdr_mrg_rxbuf in host byte order; non-blocking and pollable.
 * The hooks may be NULL (a fake backend has no offloads to set).
 */
struct net_backend {
	char name[16];                       /* the TAP's interface name */
	unsigned int queues;                 /* queue pairs: 1..VIRTIO_NET_MAX_PAIRS */
	int fd[VIRTIO_NET_MAX_PAIRS];
	bool attached[VIRTIO_NET_MAX_PAIRS]; /* queue q is given frames */
	/* What frames the backend may hand us (TUN_F_*): 0 or -errno. */
	int (*set_offload)(struct net_backend *be, unsigned int tun_flags);
	/* Queue q gets frames (on) or none (off): 0 or -errno. */
	int (*enable_queue)(struct net_backend *be, unsigned int q, bool on);
	void (*close)(struct net_backend *be);
};

struct virtio_net_queue_stats {
	uint64_t packets, bytes, drops;      /* bytes: frames without the virtio-net header */
};

struct virtio_net;

/* A queue pair: its thread, and what its RX and TX work with. */
struct virtio_net_pair {
	struct virtio_net *net;
	unsigned int index;
	pthread_t thread;
	bool thread_started;
	/* The pair's own way to guest memory while its thread runs (its own
	 * IOMMU port: a port is used by one thread at a time); the queues
	 * use the device's dma otherwise (vq->dma says which). */
	struct dma_space dma;
	bool dma_own;               /* dma is set up and the pair's queues use it */
	/* Its backend queue gave an error: not read or polled any more.
	 * Set by the pair's thread, read by it. */
	_Atomic bool backend_failed;
	/* Receive queue's lock (vq_lock[2 * index]): */
	bool rx_pending;            /* rx_buf holds a frame the queue has no room for yet */
	size_t rx_len;
	uint8_t *rx_buf;            /* VIRTIO_NET_BUF_SIZE */
	struct net_rx_buf *bufs;    /* the buffers one RX frame is gathered in */
	struct net_piece *pieces;   /* and their device-writable pieces */
	struct vq_elem *rx_elem;
	struct virtio_net_queue_stats rx;
	/* Transmit queue's lock (vq_lock[2 * index + 1]): */
	bool tx_pending;            /* tx_buf holds a frame the backend could not take yet */
	uint16_t tx_head;           /* ... and its chain, to complete once it is sent */
	size_t tx_len;
	uint8_t *tx_buf;            /* VIRTIO_NET_BUF_SIZE */
	struct vq_elem *tx_elem;
	struct virtio_net_queue_stats tx;
};

struct virtio_net {
	struct virtio_dev vd;
	struct virtio_dev_ops ops;  /* the queue count is the device's */
	struct net_backend *be;
	unsigned int max_pairs;
	uint8_t mac_default[6];
	uint16_t mtu;
	int stop_fd;
	struct virtio_net_pair pair[VIRTIO_NET_MAX_PAIRS];

	/* Pairs carrying traffic: written by the control queue's run (and a
	 * reset), read by the pairs' runs: atomic. */
	_Atomic unsigned int curr_pairs;
	/* Control queue's lock (or a reset); read by the report after stop: */
	unsigned int most_pairs;    /* the most the driver ever enabled (for the report) */
	uint64_t ctrl_ok, ctrl_err;
	/* be->attached[] and be->enable_queue: only set_pairs(), which runs
	 * under the control queue's lock or in a reset. */

	/* The pairs' runs, the control queue and the vCPUs (config reads)
	 * share these: */
	pthread_mutex_t lock;
	uint8_t mac[6];             /* lock */
	uint64_t offload_features;  /* lock: driver features the backend's offloads were set for */
	_Atomic bool offload_set;   /* set under lock once they are; cleared by a reset */
};

/* A device on be (be->queues pairs), in `slot`.  0 or -errno. */
int virtio_net_create(struct virtio_net *net, struct pci_bus *bus, unsigned int slot,
		      struct virtio_host *host, struct viommu *iommu, struct net_backend *be,
		      const uint8_t mac[6], uint16_t mtu);
/* After virtio_pci_stop(); the backend stays the caller's. */
void virtio_net_destroy(struct virtio_net *net);
void virtio_net_stats(struct virtio_net *net, unsigned int pair, struct virtio_net_queue_stats *rx,
		      struct virtio_net_queue_stats *tx);

/*
 * Header translation (pure, for the tests).  features: what the driver
 * negotiated.
 * virtio_net_tap_offloads: the TUN_F_* flags the TAP may use for frames to
 *   the guest.
 * virtio_net_hdr_to_guest: a frame's header from the backend, as the guest
 *   may see it; -EINVAL: it needs what the guest did not negotiate (drop).
 * virtio_net_hdr_from_guest: a TX header, checked against the negotiated
 *   HOST_* features and the frame's length (after the header), unknown
 *   flags cleared; -EINVAL: drop the frame.
 * Both take the header in the guest's byte order (little-endian).
 */
unsigned int virtio_net_tap_offloads(uint64_t features);
int virtio_net_hdr_to_guest(void *hdr, uint64_t features);
int virtio_net_hdr_from_guest(void *hdr, uint64_t features, size_t frame_len);

#endif
