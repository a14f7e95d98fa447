/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio 5.2): IN, OUT, FLUSH, GET_ID, DISCARD and WRITE_ZEROES
 * on a raw image or block device.  Request
 * data is staged in bounce segments (or, with no bounce account, a host
 * buffer) and the disk is read and written from there, so a guest cannot
 * change data the device already took (no double fetch) and every byte is
 * checked by the IOMMU.
 */
#include "vmm/virtio_devices.h"
#include "vmm/log.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#define BLK_SEG_MAX   126
#define BLK_BOUNCE    (1u << 20)
#define SECTOR_SHIFT  9
/* DISCARD / WRITE_ZEROES: ranges per request and sectors per range (Linux
 * asks for at most 256 ranges; 4 GiB - 512 B per range is what a 32-bit
 * sector count allows), discards in 4 KiB units. */
#define BLK_DWZ_MAX_SEG      256u
#define BLK_DWZ_MAX_SECTORS  (UINT32_MAX >> SECTOR_SHIFT)
#define BLK_DISCARD_ALIGN    8u

struct blk_req_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static uint64_t blk_features(struct virtio_dev *vd)
{
	struct virtio_blk *blk = vd->priv;

	return (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
	       (1ull << VIRTIO_BLK_F_FLUSH) |
	       (blk->ops.num_queues > 1 ? 1ull << VIRTIO_BLK_F_MQ : 0) |
	       (blk->read_only ? 1ull << VIRTIO_BLK_F_RO
			       : (1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES));
}

static void blk_read_config(struct virtio_dev *vd, unsigned int offset, void *buf, unsigned int len)
{
	struct virtio_blk *blk = vd->priv;
	struct virtio_blk_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.capacity = htole64(blk->capacity);
	cfg.seg_max = htole32(BLK_SEG_MAX);
	cfg.blk_size = htole32(512);
	cfg.num_queues = htole16((uint16_t)blk->ops.num_queues);
	cfg.max_discard_sectors = htole32(BLK_DWZ_MAX_SECTORS);
	cfg.max_discard_seg = htole32(BLK_DWZ_MAX_SEG);
	cfg.discard_sector_alignment = htole32(BLK_DISCARD_ALIGN);
	cfg.max_write_zeroes_sectors = htole32(BLK_DWZ_MAX_SECTORS);
	cfg.max_write_zeroes_seg = htole32(BLK_DWZ_MAX_SEG);
	cfg.write_zeroes_may_unmap = 1;
	if (offset < sizeof(cfg) && len <= sizeof(cfg) - offset)
		memcpy(buf, (uint8_t *)&cfg + offset, len);
}

/* Move `len` bytes between the disk at `pos` and the chain's data area.
 * Behind the bounce engine the disk is read into, or written from, the
 * bounce segment itself (the guest's bytes are copied once, as a device
 * with a scatter-gather engine would); otherwise through the queue's
 * blk->bounce. */
static uint8_t do_rw(struct virtio_blk *blk, struct virtqueue *vq, const struct vq_elem *e,
		     bool is_write, uint64_t pos, uint64_t len, uint32_t *written)
{
	uint8_t **own = &blk->bounce[vq - blk->vd.vq];
	bool staged = vq->dma->bounce != NULL;
	size_t chunk = staged ? SWIOTLB_SEG_MAX : BLK_BOUNCE;
	/* device reads guest memory: data follows the 16-byte header */
	uint64_t from = is_write ? sizeof(struct blk_req_hdr) : 0;
	uint64_t done = 0;

	/* Without a bounce account (no sanitizer): a buffer of the device's
	 * own, allocated when first needed. */
	if (!staged && !*own && !(*own = malloc(BLK_BOUNCE)))
		return VIRTIO_BLK_S_IOERR;
	while (done < len) {
		size_t n = len - done < chunk ? (size_t)(len - done) : chunk;
		struct swiotlb_seg seg = { 0 };
		uint8_t *buf = *own;
		int ret = 0, io = 0;

		if (staged) {
			if (dma_seg_alloc(vq->dma, n, &seg))
				return VIRTIO_BLK_S_IOERR;
			buf = seg.buf;
		}
		if (is_write) {
			ret = staged ? vq_elem_bounce_in(vq, e, from + done, &seg, n)
				     : vq_elem_read(vq, e, from + done, buf, n);
			if (!ret)
				io = disk_pwrite(&blk->disk, pos + done, buf, n);
		} else {
			io = disk_pread(&blk->disk, pos + done, buf, n);
			if (!io)
				ret = staged ? vq_elem_bounce_out(vq, e, done, &seg, n)
					     : vq_elem_write(vq, e, done, buf, n);
			if (!io && !ret)
				*written += (uint32_t)n;
		}
		swiotlb_seg_free(&seg);
		if (ret)
			return VIRTIO_BLK_S_IOERR;
		if (io) {
			pr_ratelimited(LOG_WARN, "virtio-blk: %s at %llu: %s", is_write ? "write" : "read",
				       (unsigned long long)(pos + done), strerror(-io));
			return VIRTIO_BLK_S_IOERR;
		}
		done += n;
	}
	return VIRTIO_BLK_S_OK;
}

/*
 * DISCARD / WRITE_ZEROES (virtio 5.2.6): the data is an array of ranges.
 * Every range is checked before any is carried out, so a request the
 * device refuses changes nothing.  Unknown flags, or UNMAP on a DISCARD,
 * are UNSUPP (the spec's MUST); a malformed array or a range past the end
 * of the disk or beyond the advertised limits is IOERR.  A DISCARD the
 * backing store cannot do is still OK (it is a hint: "MAY deallocate");
 * a WRITE_ZEROES must leave zeroes whatever it takes.
 */
static uint8_t discard_write_zeroes(struct virtio_blk *blk, struct virtqueue *vq,
				    const struct vq_elem *e, uint32_t type)
{
	struct virtio_blk_discard_write_zeroes r[BLK_DWZ_MAX_SEG];
	uint64_t bytes = e->readable - sizeof(struct blk_req_hdr);
	unsigned int n;
	bool discard = type == VIRTIO_BLK_T_DISCARD;

	if (!virtio_has_feature(&blk->vd, discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES))
		return VIRTIO_BLK_S_UNSUPP;
	if (!bytes || bytes % sizeof(r[0]) || bytes > sizeof(r))
		return VIRTIO_BLK_S_IOERR;
	n = (unsigned int)(bytes / sizeof(r[0]));
	if (vq_elem_read(vq, e, sizeof(struct blk_req_hdr), r, bytes))
		return VIRTIO_BLK_S_IOERR;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t sector = le64toh(r[i].sector);
		uint32_t count = le32toh(r[i].num_sectors), flags = le32toh(r[i].flags);

		if ((flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP) ||
		    (discard && (flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)))
			return VIRTIO_BLK_S_UNSUPP;
		if (count > BLK_DWZ_MAX_SECTORS || sector > blk->capacity ||
		    count > blk->capacity - sector)
			return VIRTIO_BLK_S_IOERR;
	}
	for (unsigned int i = 0; i < n; i++) {
		uint64_t off = le64toh(r[i].sector) << SECTOR_SHIFT;
		uint64_t len = (uint64_t)le32toh(r[i].num_sectors) << SECTOR_SHIFT;
		int ret;

		if (!len)
			continue;
		if (discard) {
			ret = disk_discard(&blk->disk, off, len);
			if (ret == -EOPNOTSUPP || ret == -ENOTTY)
				ret = 0;
		} else {
			ret = disk_write_zeroes(&blk->disk, off, len,
						le32toh(r[i].flags) & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
		}
		if (ret) {
			pr_ratelimited(LOG_WARN, "virtio-blk: %s at %llu: %s",
				       discard ? "discard" : "write zeroes", (unsigned long long)off,
				       strerror(-ret));
			return VIRTIO_BLK_S_IOERR;
		}
	}
	if (discard)
		blk->discards++;
	else
		blk->write_zeroes++;
	return VIRTIO_BLK_S_OK;
}

static uint8_t handle(struct virtio_blk *blk, struct virtqueue *vq, const struct vq_elem *e,
		      uint32_t *written)
{
	struct blk_req_hdr hdr;
	uint64_t len, pos;
	uint32_t type;

	if (vq_elem_read(vq, e, 0, &hdr, sizeof(hdr)))
		return VIRTIO_BLK_S_IOERR;
	type = le32toh(hdr.type);
	switch (type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		len = type == VIRTIO_BLK_T_IN ? e->writable - 1 : e->readable - sizeof(hdr);
		pos = le64toh(hdr.sector);
		if (len % 512 || pos > blk->capacity || (len >> SECTOR_SHIFT) > blk->capacity - pos)
			return VIRTIO_BLK_S_IOERR;   /* unaligned, or past the end of the disk */
		if (type == VIRTIO_BLK_T_OUT && blk->read_only)
			return VIRTIO_BLK_S_IOERR;
		if (type == VIRTIO_BLK_T_IN) {
			blk->reads++;
			blk->bytes_read += len;
		} else {
			blk->writes++;
			blk->bytes_written += len;
		}
		return do_rw(blk, vq, e, type == VIRTIO_BLK_T_OUT, pos << SECTOR_SHIFT, len, written);
	case VIRTIO_BLK_T_FLUSH:
		blk->flushes++;
		return disk_flush(&blk->disk) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (blk->read_only)
			return VIRTIO_BLK_S_UNSUPP;   /* not offered on a read-only disk */
		return discard_write_zeroes(blk, vq, e, type);
	case VIRTIO_BLK_T_GET_ID: {
		char id[VIRTIO_BLK_ID_BYTES];
		size_t n = e->writable - 1 < sizeof(id) ? e->writable - 1 : sizeof(id);

		memset(id, 0, sizeof(id));
		memcpy(id, blk->serial, strnlen(blk->serial, sizeof(id)));
		if (vq_elem_write(vq, e, 0, id, n))
			return VIRTIO_BLK_S_IOERR;
		*written += (uint32_t)n;
		return VIRTIO_BLK_S_OK;
	}
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* A queue run holds only its own queue's lock, on its own thread (the
 * transport's queue_threads): the counters the queues share are atomic,
 * the staging buffer is the queue's own, the disk calls are positioned. */
static void blk_notify(struct virtio_dev *vd, unsigned int q)
{
	struct virtio_blk *blk = vd->priv;
	struct virtqueue *vq = &vd->vq[q];
	static __thread struct vq_elem e;

	while (vq_pop(vq, &e) == 1) {
		uint32_t written = 0;
		uint8_t status;

		/* Header (16 bytes) readable, status (1 byte) writable at the end. */
		if (e.readable < sizeof(struct blk_req_hdr) || e.writable < 1)
			status = VIRTIO_BLK_S_IOERR;
		else
			status = handle(blk, vq, &e, &written);
		if (status != VIRTIO_BLK_S_OK)
			blk->errors++;
		/* The status byte is the last writable byte. */
		if (e.writable >= 1 && vq_elem_write_status(vq, &e, e.writable - 1, &status, 1) == 0)
			written++;
		if (vq_push(vq, e.head, written))
			break;   /* the queue is broken: the transport reports it */
		virtio_queue_interrupt(vd, q);
	}
}

static const struct virtio_dev_ops blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.class_code = 0x018000,   /* mass storage, other */
	.num_queues = 1,
	.queue_size = 256,
	.config_size = sizeof(struct virtio_blk_config),
	.queue_threads = true,
	.features = blk_features,
	.read_config = blk_read_config,
	.queue_notify = blk_notify,
};

int virtio_blk_create(struct virtio_blk *blk, struct pci_bus *bus, unsigned int slot,
		      struct virtio_host *host, struct viommu *iommu, const char *path, bool ro,
		      unsigned int queues)
{
	int ret;

	memset(blk, 0, sizeof(*blk));
	blk->read_only = ro;
	blk->ops = blk_ops;
	blk->ops.num_queues = queues < 1 ? 1 : queues > VIRTIO_BLK_MAX_QUEUES ? VIRTIO_BLK_MAX_QUEUES
									      : queues;
	ret = disk_open(&blk->disk, path, ro, "--disk");
	if (ret)
		return ret;
	blk->capacity = blk->disk.size >> SECTOR_SHIFT;
	snprintf(blk->serial, sizeof(blk->serial), "vmm-disk-%u", slot);
	ret = virtio_pci_init(&blk->vd, bus, slot, host, iommu, &blk->ops, blk);
	if (ret) {
		pr_err("disk '%s': cannot create the virtio-blk device: %s", path, strerror(-ret));
		goto err;
	}
	return 0;
err:
	disk_close(&blk->disk);
	return ret;
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
	for (unsigned int q = 0; q < VIRTIO_BLK_MAX_QUEUES; q++)
		free(blk->bounce[q]);
	disk_close(&blk->disk);
}
