/* SPDX-License-Identifier: MIT */
/*
 * The disk backend of virtio-blk and NVMe (vmm/disk.h): preadv/pwritev at
 * explicit offsets, fdatasync, fallocate and the block-device ioctls.
 */
#include "vmm/disk.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/falloc.h>
#include <linux/fs.h>

/* Size and kind of an open descriptor: 0, or -errno with why[] saying
 * what is wrong (the end of the error line). */
static int disk_probe(struct disk *d, char *why, size_t whylen)
{
	struct stat st;
	int ret;

	if (fstat(d->fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		snprintf(why, whylen, "not a regular file or block device");
		return -EINVAL;
	}
	d->is_bdev = S_ISBLK(st.st_mode);
	d->size = (uint64_t)st.st_size;
	if (d->is_bdev && ioctl(d->fd, BLKGETSIZE64, &d->size) < 0) {
		ret = -errno;
		snprintf(why, whylen, "cannot read its size: %s", strerror(-ret));
		return ret;
	}
	if (d->size < 512 || d->size % 512) {
		snprintf(why, whylen, "size %" PRIu64 " is not a positive multiple of 512 bytes",
			 d->size);
		return -EINVAL;
	}
	return 0;
}

int disk_open_fd(struct disk *d, int fd, bool read_only)
{
	char why[96];
	int ret;

	*d = (struct disk){ .fd = fd, .read_only = read_only };
	ret = disk_probe(d, why, sizeof(why));
	if (ret)
		disk_close(d);
	return ret;
}

int disk_open(struct disk *d, const char *path, bool read_only, const char *who)
{
	char why[96];
	int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	int ret;

	if (fd < 0) {
		ret = -errno;
		pr_err("%s: cannot open disk '%s': %s", who, path, strerror(-ret));
		*d = (struct disk){ .fd = -1 };
		return ret;
	}
	*d = (struct disk){ .fd = fd, .read_only = read_only };
	ret = disk_probe(d, why, sizeof(why));
	if (ret) {
		pr_err("%s: disk '%s': %s", who, path, why);
		disk_close(d);
	}
	return ret;
}

void disk_close(struct disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/*
 * All of iov at off, however the kernel splits it: a short transfer goes
 * on where it stopped (the rest of a partly moved buffer alone, then the
 * whole buffers after it), EINTR is retried, a transfer of nothing before
 * the end is the end of the file.
 */
static int transfer(const struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt,
		    bool write)
{
	size_t skip = 0;   /* bytes of iov[i] already moved */
	int i = 0;

	if (write && d->read_only)
		return -EROFS;
	while (i < iovcnt) {
		struct iovec head;
		const struct iovec *v = iov + i;
		int n = iovcnt - i < IOV_MAX ? iovcnt - i : IOV_MAX;
		ssize_t r;

		if (iov[i].iov_len == skip) {   /* an empty buffer, or one done */
			i++, skip = 0;
			continue;
		}
		if (off > INT64_MAX)
			return -EINVAL;
		if (skip) {
			head = (struct iovec){ (uint8_t *)iov[i].iov_base + skip, iov[i].iov_len - skip };
			v = &head;
			n = 1;
		}
		r = write ? pwritev(d->fd, v, n, (off_t)off) : preadv(d->fd, v, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		off += (uint64_t)r;
		while (r > 0) {
			size_t left = iov[i].iov_len - skip;

			if ((size_t)r < left) {
				skip += (size_t)r;
				break;
			}
			r -= (ssize_t)left;
			i++, skip = 0;
		}
	}
	return 0;
}

int disk_preadv(const struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
	return transfer(d, off, iov, iovcnt, false);
}

int disk_pwritev(const struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt)
{
	return transfer(d, off, iov, iovcnt, true);
}

int disk_pread(const struct disk *d, uint64_t off, void *buf, size_t len)
{
	struct iovec v = { buf, len };

	return transfer(d, off, &v, 1, false);
}

int disk_pwrite(const struct disk *d, uint64_t off, const void *buf, size_t len)
{
	struct iovec v = { (void *)buf, len };

	return transfer(d, off, &v, 1, true);
}

int disk_flush(const struct disk *d)
{
	return fdatasync(d->fd) == 0 || errno == EINVAL ? 0 : -errno;
}

static int falloc(const struct disk *d, int mode, uint64_t off, uint64_t len)
{
	if (off > INT64_MAX || len > INT64_MAX - off)
		return -EINVAL;
	return fallocate(d->fd, mode, (off_t)off, (off_t)len) ? -errno : 0;
}

int disk_discard(const struct disk *d, uint64_t off, uint64_t len)
{
	uint64_t range[2] = { off, len };

	if (d->read_only)
		return -EROFS;
	if (d->is_bdev)
		return ioctl(d->fd, BLKDISCARD, range) ? -errno : 0;
	return falloc(d, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
}

/* The store has no cheap way to zero (or not for this range). */
static bool no_offload(int ret)
{
	return ret == -EOPNOTSUPP || ret == -ENOTTY || ret == -EINVAL || ret == -ENODEV;
}

int disk_write_zeroes(const struct disk *d, uint64_t off, uint64_t len, bool may_unmap)
{
	static const uint8_t zeroes[65536];
	int ret;

	if (d->read_only)
		return -EROFS;
	/* A hole in a file; on a block device (Linux's blkdev_fallocate) a
	 * zeroing that may unmap, never a plain discard whose contents
	 * afterwards are undefined. */
	if (may_unmap && falloc(d, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) == 0)
		return 0;
	ret = falloc(d, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);
	if (!ret || !no_offload(ret))
		return ret;
	for (uint64_t done = 0; done < len;) {
		size_t n = len - done < sizeof(zeroes) ? (size_t)(len - done) : sizeof(zeroes);

		ret = disk_pwrite(d, off + done, zeroes, n);
		if (ret)
			return ret;
		done += n;
	}
	return 0;
}
