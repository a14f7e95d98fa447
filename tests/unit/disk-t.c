/* SPDX-License-Identifier: MIT */
/*
 * The disk backend (vmm/disk.c) on a real file: opening (and the inputs it
 * refuses), transfers from and into iovec arrays, short transfers and
 * EINTR (injected: this file's preadv/pwritev/fallocate stand in for the C
 * library's and pass to the kernel unless a test arms them), the end of
 * the file, a read-only disk refusing every change, discard and write
 * zeroes visible in the file, the fallback to written zeroes, and errors
 * as negative errno.
 */
#include "vmm/disk.h"
#include "tests/tap/basic.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/falloc.h>

#define DISK_SIZE (1u << 20)

/* Fault injection: at most `max_bytes` a call (0: no limit), EINTR for the
 * next `eintr` calls, `fail_errno` for every call while set. */
static struct {
	size_t max_bytes;
	int eintr, fail_errno, calls;
	int fallocate_errno;
} inj;

/* The first iovecs of iov up to max bytes, the last one cut: the kernel's
 * right to move fewer bytes than asked. */
static int cut(const struct iovec *iov, int n, struct iovec *out, size_t max)
{
	int k = 0;

	for (size_t left = max; k < n && left; k++) {
		out[k] = iov[k];
		if (out[k].iov_len > left)
			out[k].iov_len = left;
		left -= out[k].iov_len;
	}
	return k;
}

static ssize_t inject(int nr, int fd, const struct iovec *iov, int n, off_t off)
{
	struct iovec short_iov[64];

	inj.calls++;
	if (inj.eintr > 0) {
		inj.eintr--;
		errno = EINTR;
		return -1;
	}
	if (inj.fail_errno) {
		errno = inj.fail_errno;
		return -1;
	}
	if (inj.max_bytes && n <= 64) {
		n = cut(iov, n, short_iov, inj.max_bytes);
		iov = short_iov;
	}
	return syscall(nr, fd, iov, n, (unsigned long)off, 0ul);
}

ssize_t preadv(int fd, const struct iovec *iov, int n, off_t off)
{
	return inject(SYS_preadv, fd, iov, n, off);
}

ssize_t pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	return inject(SYS_pwritev, fd, iov, n, off);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
	if (inj.fallocate_errno) {
		errno = inj.fallocate_errno;
		return -1;
	}
	return (int)syscall(SYS_fallocate, fd, mode, off, len);
}

static char path[64];
static int raw;          /* the test's own view of the file */

static void pattern(uint8_t *p, size_t len, uint64_t off)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((off + i) * 7 + ((off + i) >> 9));
}

static void fill_file(void)
{
	static uint8_t buf[DISK_SIZE];

	pattern(buf, sizeof(buf), 0);
	if (pwrite(raw, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		bail("cannot fill %s", path);
}

/* The file's bytes [off, off + len) equal p. */
static bool file_has(uint64_t off, const uint8_t *p, size_t len)
{
	uint8_t *buf = malloc(len);
	bool eq = buf && pread(raw, buf, len, (off_t)off) == (ssize_t)len && !memcmp(buf, p, len);

	free(buf);
	return eq;
}

static bool file_zero(uint64_t off, size_t len)
{
	uint8_t *z = calloc(1, len);
	bool eq = z && file_has(off, z, len);

	free(z);
	return eq;
}

static bool file_pattern(uint64_t off, size_t len)
{
	uint8_t *p = malloc(len);
	bool eq;

	pattern(p, len, off);
	eq = file_has(off, p, len);
	free(p);
	return eq;
}

static uint64_t file_size(void)
{
	struct stat st;

	return fstat(raw, &st) ? 0 : (uint64_t)st.st_size;
}

static void test_open(void)
{
	char odd[64], dir[64];
	struct disk d;
	int fd;

	is_int(-ENOENT, disk_open(&d, "/nonexistent/disk.img", false, "--test"),
	       "open: a missing path is -ENOENT");
	is_int(-1, d.fd, "open: ... and leaves no descriptor");
	snprintf(dir, sizeof(dir), "/tmp/disk-t-dir.XXXXXX");
	if (!mkdtemp(dir))
		bail("mkdtemp");
	is_int(-EINVAL, disk_open(&d, dir, true, "--test"), "open: a directory is -EINVAL");
	rmdir(dir);
	snprintf(odd, sizeof(odd), "/tmp/disk-t-odd.XXXXXX");
	fd = mkstemp(odd);
	if (fd < 0)
		bail("mkstemp");
	is_int(-EINVAL, disk_open(&d, odd, false, "--test"), "open: an empty file is -EINVAL");
	if (ftruncate(fd, 1000))
		bail("ftruncate");
	is_int(-EINVAL, disk_open(&d, odd, false, "--test"),
	       "open: a size not a multiple of 512 is -EINVAL");
	close(fd);
	unlink(odd);
	is_int(0, disk_open(&d, path, false, "--test"), "open: a regular file");
	is_int(DISK_SIZE, (long long)d.size, "open: its size from fstat");
	ok(!d.is_bdev && !d.read_only, "open: a read-write file, not a block device");
	disk_close(&d);
	is_int(-1, d.fd, "close: the descriptor is gone");
	fd = memfd_create("disk-t", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 4096))
		bail("memfd");
	is_int(0, disk_open_fd(&d, fd, true), "open_fd: a memfd");
	ok(d.size == 4096 && d.read_only, "open_fd: size and read-only flag");
	disk_close(&d);
}

static void test_transfers(struct disk *d)
{
	uint8_t a[1000], b[3000], c[96], want[4096];
	struct iovec iov[4] = { { a, sizeof(a) }, { NULL, 0 }, { b, sizeof(b) }, { c, sizeof(c) } };

	fill_file();
	is_int(0, disk_preadv(d, 8192, iov, 4), "preadv: 4 buffers (one empty) at 8 KiB");
	pattern(want, sizeof(want), 8192);
	ok(!memcmp(a, want, sizeof(a)) && !memcmp(b, want + 1000, sizeof(b)) &&
	   !memcmp(c, want + 4000, sizeof(c)), "preadv: every buffer holds its part of the file");

	memset(a, 0xa1, sizeof(a));
	memset(b, 0xb2, sizeof(b));
	memset(c, 0xc3, sizeof(c));
	is_int(0, disk_pwritev(d, 512, iov, 4), "pwritev: 4 buffers at 512");
	memset(want, 0xa1, 1000);
	memset(want + 1000, 0xb2, 3000);
	memset(want + 4000, 0xc3, 96);
	ok(file_has(512, want, sizeof(want)), "pwritev: the file holds them in order");
	ok(file_pattern(0, 512) && file_pattern(512 + 4096, 4096), "pwritev: nothing around changed");

	/* Short transfers: 700 bytes a call, the first call interrupted. */
	fill_file();
	inj = (typeof(inj)){ .max_bytes = 700, .eintr = 1 };
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	memset(c, 0, sizeof(c));
	is_int(0, disk_preadv(d, 100000, iov, 4), "short reads: preadv finishes the transfer");
	pattern(want, sizeof(want), 100000);
	ok(!memcmp(a, want, sizeof(a)) && !memcmp(b, want + 1000, sizeof(b)) &&
	   !memcmp(c, want + 4000, sizeof(c)), "short reads: every byte where it belongs");
	ok(inj.calls >= 1 + 4096 / 700, "short reads: after EINTR, one call per 700 bytes (%d calls)",
	   inj.calls);
	inj = (typeof(inj)){ .max_bytes = 333, .eintr = 2 };
	memset(a, 0x11, sizeof(a));
	memset(b, 0x22, sizeof(b));
	memset(c, 0x33, sizeof(c));
	is_int(0, disk_pwritev(d, 200000, iov, 4), "short writes: pwritev finishes the transfer");
	inj = (typeof(inj)){ 0 };
	memset(want, 0x11, 1000);
	memset(want + 1000, 0x22, 3000);
	memset(want + 4000, 0x33, 96);
	ok(file_has(200000, want, sizeof(want)) && file_pattern(200000 + 4096, 512) &&
	   file_pattern(200000 - 512, 512), "short writes: the file holds every byte, once, in place");
}

static void test_eof_and_errors(struct disk *d)
{
	uint8_t buf[4096];

	fill_file();
	is_int(0, disk_pread(d, DISK_SIZE - 512, buf, 512), "read: the last sector");
	is_int(-EIO, disk_pread(d, DISK_SIZE - 512, buf, 1024), "read: across the end of the file: -EIO");
	is_int(-EIO, disk_pread(d, DISK_SIZE, buf, 512), "read: at the end of the file: -EIO");
	is_int(0, disk_pread(d, DISK_SIZE, buf, 0), "read: nothing at the end is done");
	is_int(-EINVAL, disk_pread(d, 1ull << 63, buf, 512), "read: an offset past 2^63 is -EINVAL");
	inj = (typeof(inj)){ .fail_errno = EIO };
	is_int(-EIO, disk_pwrite(d, 0, buf, sizeof(buf)), "write: the kernel's EIO is -EIO");
	inj = (typeof(inj)){ .fail_errno = ENOSPC };
	is_int(-ENOSPC, disk_pwrite(d, 0, buf, sizeof(buf)), "write: ENOSPC is -ENOSPC");
	inj = (typeof(inj)){ 0 };
	ok(file_pattern(0, sizeof(buf)), "write: a failed write changed nothing here");
	is_int(0, disk_flush(d), "flush: fdatasync of a file");
	{
		struct disk bad = *d;

		bad.fd = 1000;   /* not open */
		is_int(-EBADF, disk_pread(&bad, 0, buf, 512), "read: a closed descriptor is -EBADF");
		is_int(-EBADF, disk_flush(&bad), "flush: a closed descriptor is -EBADF");
	}
}

static void test_read_only(void)
{
	uint8_t buf[512];
	struct disk d;

	fill_file();
	if (disk_open(&d, path, true, "--test"))
		bail("cannot open %s read-only", path);
	memset(buf, 0xee, sizeof(buf));
	inj = (typeof(inj)){ 0 };
	is_int(-EROFS, disk_pwrite(&d, 0, buf, sizeof(buf)), "read-only: a write is -EROFS");
	is_int(0, inj.calls, "read-only: ... refused before any system call");
	is_int(-EROFS, disk_discard(&d, 0, 4096), "read-only: a discard is -EROFS");
	is_int(-EROFS, disk_write_zeroes(&d, 0, 4096, true), "read-only: write zeroes is -EROFS");
	ok(file_pattern(0, 8192), "read-only: the file is unchanged");
	is_int(0, disk_pread(&d, 0, buf, sizeof(buf)), "read-only: reads work");
	disk_close(&d);
}

static void test_discard_zeroes(struct disk *d)
{
	fill_file();
	is_int(0, disk_discard(d, 65536, 65536), "discard: a punched hole");
	ok(file_zero(65536, 65536), "discard: the range reads as zeroes in the file");
	ok(file_pattern(0, 65536) && file_pattern(131072, 4096), "discard: nothing around changed");
	is_int(DISK_SIZE, (long long)file_size(), "discard: the file keeps its size");
	is_int(65536, lseek(raw, 65536, SEEK_HOLE), "discard: the range is a hole (SEEK_HOLE)");

	fill_file();
	is_int(0, disk_write_zeroes(d, 4096, 8192, false), "write zeroes: kept allocated");
	ok(file_zero(4096, 8192) && file_pattern(0, 4096) && file_pattern(12288, 4096),
	   "write zeroes: exactly the range reads as zeroes");
	is_int(0, disk_write_zeroes(d, 512 * 300, 512 * 9, true), "write zeroes: may unmap");
	ok(file_zero(512 * 300, 512 * 9) && file_pattern(512 * 299, 512) && file_pattern(512 * 309, 512),
	   "write zeroes (unmap): exactly the range reads as zeroes");
	is_int(0, disk_write_zeroes(d, DISK_SIZE - 512, 512, false), "write zeroes: the last sector");
	is_int(DISK_SIZE, (long long)file_size(), "write zeroes: the file keeps its size");

	/* No fallocate here (a file system without it): zeroes are written. */
	fill_file();
	inj = (typeof(inj)){ .fallocate_errno = EOPNOTSUPP, .max_bytes = 10000 };
	is_int(0, disk_write_zeroes(d, 1000, 200000, true),
	       "write zeroes without fallocate: written instead");
	ok(file_zero(1000, 200000) && file_pattern(0, 1000) && file_pattern(201000, 1000),
	   "write zeroes without fallocate: exactly the range is zero");
	is_int(-EOPNOTSUPP, disk_discard(d, 0, 4096), "discard without fallocate: -EOPNOTSUPP");
	ok(file_pattern(0, 1000), "discard without fallocate: nothing changed");
	inj = (typeof(inj)){ .fallocate_errno = EIO };
	is_int(-EIO, disk_write_zeroes(d, 0, 4096, false),
	       "write zeroes: a real error is not hidden by the fallback");
	inj = (typeof(inj)){ 0 };
	is_int(-EINVAL, disk_write_zeroes(d, 1ull << 63, 512, false),
	       "write zeroes: a range past 2^63 is -EINVAL");
}

int main(void)
{
	struct disk d;

	plan(55);
	snprintf(path, sizeof(path), "/tmp/disk-t.XXXXXX");
	raw = mkstemp(path);
	if (raw < 0 || ftruncate(raw, DISK_SIZE))
		bail("cannot create a disk image");
	test_open();
	if (disk_open(&d, path, false, "--test"))
		bail("cannot open %s", path);
	test_transfers(&d);
	test_eof_and_errors(&d);
	test_discard_zeroes(&d);
	disk_close(&d);
	test_read_only();
	close(raw);
	unlink(path);
	return 0;
}
