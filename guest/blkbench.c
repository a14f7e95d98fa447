/* SPDX-License-Identifier: MIT */
/*
 * blkbench - the guest end of the block benchmarks (make bench-nvme, make
 * bench-iommu): O_DIRECT I/O on a block device, N threads each with one
 * synchronous request in flight (so N requests queued at the device:
 * queue depth N, spread by the block layer over the device's queues by
 * the CPU each thread runs on), for a fixed time per phase.
 *
 *   blkbench DEV SECONDS [PHASE...]
 *
 * Phases (default: all, in this order):
 *   seqread     1 MiB reads, 4 threads, sequential over the whole device
 *               (the threads take the next block in turn; wraps around)
 *   seqwrite    1 MiB writes, the same way (overwrites the device!)
 *   randread1   4 KiB reads at random 4 KiB-aligned offsets, 1 thread
 *   randread16  the same, 16 threads
 *
 * Around each phase it prints, flushed at once (the host samples its
 * VMM's CPU time and KVM's exit count when it sees these lines):
 *   BENCH-MARK begin PHASE
 *   BENCH-MARK end PHASE bytes=B ios=N usec=U
 * U is the phase's wall time on the guest's monotonic clock.  Exit status
 * 0, or 1 (with "BENCH-MARK error ...") if an I/O failed.
 *
 * DEV may be a regular file too (its size then), to try it on the host.
 * Built static, it runs from the busybox initramfs (guest/suites/bench).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#define SEQ_BLOCK (1024 * 1024)
#define RAND_BLOCK 4096
#define MAX_THREADS 16

struct phase {
	const char *name;
	size_t block;
	int threads;
	int write;
	int random;
};

static const struct phase phases[] = {
	{ "seqread", SEQ_BLOCK, 4, 0, 0 },
	{ "seqwrite", SEQ_BLOCK, 4, 1, 0 },
	{ "randread1", RAND_BLOCK, 1, 0, 1 },
	{ "randread16", RAND_BLOCK, MAX_THREADS, 0, 1 },
};

/* What the threads of one phase share. */
struct run {
	const struct phase *phase;
	int fd;
	uint64_t dev_bytes;
	uint64_t deadline_ns;
	atomic_uint_fast64_t next_block; /* sequential phases */
	atomic_uint_fast64_t bytes;
	atomic_uint_fast64_t ios;
	atomic_int failed; /* errno of the first failed I/O */
};

struct worker {
	struct run *run;
	unsigned int index;
	pthread_t thread;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: cheap, and each thread has its own state. */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 0x2545f4914f6cdd1dull;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;
	const struct phase *p = run->phase;
	uint64_t blocks = run->dev_bytes / p->block;
	uint64_t seed = 0x9e3779b97f4a7c15ull * (w->index + 1);
	void *buf;

	if (posix_memalign(&buf, 4096, p->block)) {
		atomic_store(&run->failed, ENOMEM);
		return NULL;
	}
	/* Writes carry non-zero data (a device could shortcut zeroes). */
	memset(buf, 0xa5 ^ w->index, p->block);
	while (!atomic_load(&run->failed) && now_ns() < run->deadline_ns) {
		uint64_t block = p->random ? next_random(&seed) % blocks :
					     atomic_fetch_add(&run->next_block, 1) % blocks;
		off_t off = (off_t)(block * p->block);
		ssize_t n = p->write ? pwrite(run->fd, buf, p->block, off) :
				       pread(run->fd, buf, p->block, off);

		if (n != (ssize_t)p->block) {
			atomic_store(&run->failed, n < 0 ? errno : EIO);
			break;
		}
		atomic_fetch_add(&run->bytes, p->block);
		atomic_fetch_add(&run->ios, 1);
	}
	free(buf);
	return NULL;
}

static int run_phase(const struct phase *p, int fd, uint64_t dev_bytes, unsigned int seconds)
{
	struct worker workers[MAX_THREADS];
	struct run run = { .phase = p, .fd = fd, .dev_bytes = dev_bytes };
	uint64_t t0, t1;
	int started = 0;
	int err;

	printf("BENCH-MARK begin %s\n", p->name);
	fflush(stdout);
	t0 = now_ns();
	run.deadline_ns = t0 + (uint64_t)seconds * 1000000000u;
	for (int i = 0; i < p->threads; i++) {
		workers[i].run = &run;
		workers[i].index = (unsigned int)i;
		err = pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]);
		if (err) {
			atomic_store(&run.failed, err);
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(workers[i].thread, NULL);
	t1 = now_ns();
	if (run.failed) {
		printf("BENCH-MARK error %s: %s\n", p->name, strerror(run.failed));
		fflush(stdout);
		return -run.failed;
	}
	printf("BENCH-MARK end %s bytes=%" PRIuFAST64 " ios=%" PRIuFAST64 " usec=%" PRIu64 "\n", p->name,
	       atomic_load(&run.bytes), atomic_load(&run.ios), (t1 - t0) / 1000);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t dev_bytes = 0;
	unsigned int seconds;
	int fd, status = 0;

	if (argc < 3 || atoi(argv[2]) <= 0) {
		fprintf(stderr, "usage: blkbench DEV SECONDS [seqread|seqwrite|randread1|randread16]...\n");
		return 2;
	}
	seconds = (unsigned int)atoi(argv[2]);
	fd = open(argv[1], O_RDWR | O_DIRECT);
	if (fd >= 0 && ioctl(fd, BLKGETSIZE64, &dev_bytes) < 0) {
		/* A regular file (a try on the host) */
		struct stat st;

		if (fstat(fd, &st) == 0)
			dev_bytes = (uint64_t)st.st_size;
	}
	if (fd < 0 || dev_bytes < SEQ_BLOCK) {
		printf("BENCH-MARK error %s: %s\n", argv[1], fd < 0 ? strerror(errno) : "too small");
		return 1;
	}
	for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]) && !status; i++) {
		int wanted = argc == 3;

		for (int a = 3; a < argc; a++)
			wanted |= !strcmp(argv[a], phases[i].name);
		if (wanted && run_phase(&phases[i], fd, dev_bytes, seconds) < 0)
			status = 1;
	}
	close(fd);
	return status;
}
