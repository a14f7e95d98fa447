/* SPDX-License-Identifier: MIT */
#ifndef VMM_DISK_H
#define VMM_DISK_H

/*
 * The disk behind a storage device (virtio-blk, NVMe): a raw image file
 * or a block device, read and written at byte offsets.
 *
 * Cost: every call is one blocking system call (preadv/pwritev,
 * fdatasync, fallocate or a block-device ioctl), repeated only to finish a
 * short transfer or after EINTR; nothing is cached or copied here, the
 * caller's buffers (bounce segments) are read or filled in place.  Writing
 * zeroes where the file system cannot is the exception: it writes them,
 * 64 KiB a call.
 *
 * Thread-safe: a struct disk does not change after disk_open, every
 * transfer names its own offset (no shared file position), so any number
 * of threads may use one disk at once.  Ordering between overlapping
 * requests in flight at the same time is the caller's business, as on a
 * real disk.
 *
 * Errors are negative errno values; a transfer that meets the end of the
 * file before moving every byte is -EIO (the bytes before it may have
 * moved).
 */
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct disk {
	int fd;            /* -1: closed */
	bool read_only;    /* opened O_RDONLY: writes, discards, zeroes refused (-EROFS) */
	bool is_bdev;      /* a block device, not a file */
	uint64_t size;     /* bytes, a positive multiple of 512 */
};

/* Open PATH for `who` (the option, "--disk" or "--nvme", for the error
 * line): a regular file or block device whose size is a positive multiple
 * of 512 bytes.  0, or -errno after one pr_err line naming the path. */
int disk_open(struct disk *d, const char *path, bool read_only, const char *who);
/* The same on a descriptor the caller opened (a memfd in the tests and the
 * fuzz targets); the disk owns fd from here on, also on failure.  No log
 * line. */
int disk_open_fd(struct disk *d, int fd, bool read_only);
void disk_close(struct disk *d);

/* Move the bytes of iov[0..iovcnt) (iovcnt <= IOV_MAX) from / to the disk
 * at `off`: 0 once every byte moved; -EROFS (writes on a read-only disk,
 * nothing written), -EIO (end of file first), or the system call's -errno. */
int disk_preadv(const struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt);
int disk_pwritev(const struct disk *d, uint64_t off, const struct iovec *iov, int iovcnt);
/* One buffer. */
int disk_pread(const struct disk *d, uint64_t off, void *buf, size_t len);
int disk_pwrite(const struct disk *d, uint64_t off, const void *buf, size_t len);

/* Written data on stable storage (fdatasync).  EINVAL (a file that cannot
 * be synced, e.g. a memfd) counts as done.  0 or -errno. */
int disk_flush(const struct disk *d);
/* Deallocate [off, off + len): a hole in a file (reads as zeroes after),
 * BLKDISCARD on a block device (contents undefined after).  A hint:
 * -EOPNOTSUPP / -ENOTTY when the store cannot; the caller decides whether
 * that is an error. */
int disk_discard(const struct disk *d, uint64_t off, uint64_t len);
/* Make [off, off + len) read as zeroes: with may_unmap, deallocated if the
 * store can (a hole, or zeroing that may unmap on a block device), else
 * kept allocated (FALLOC_FL_ZERO_RANGE); where neither works, written
 * zeroes.  0 or -errno. */
int disk_write_zeroes(const struct disk *d, uint64_t off, uint64_t len, bool may_unmap);

#endif
