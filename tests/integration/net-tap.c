/* SPDX-License-Identifier: MIT */
/*
 * net-tap: create or delete a persistent TAP interface for the network
 * tests (tests/integration/net-host.sh), in the caller's network namespace.
 *
 *   net-tap add NAME [QUEUES]   a persistent TAP (IFF_TAP | IFF_NO_PI),
 *                               IFF_MULTI_QUEUE when QUEUES > 1
 *   net-tap del NAME [QUEUES]   make it non-persistent: it goes away
 *
 * The VMM under test opens an existing TAP (a missing one is its error),
 * and the kernel lets a multi-queue TAP be attached only with
 * IFF_MULTI_QUEUE and a single-queue one only without it, so the test
 * creates it with the flag the run needs.  busybox has no "ip tuntap" and
 * its tunctl cannot set IFF_MULTI_QUEUE, hence this program (static: it
 * runs in the test host's L1, which has only busybox).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: net-tap add|del NAME [QUEUES]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct ifreq ifr;
	unsigned long queues = 1;
	int persist, fd;

	if (argc < 3 || argc > 4)
		return usage();
	if (strcmp(argv[1], "add") == 0)
		persist = 1;
	else if (strcmp(argv[1], "del") == 0)
		persist = 0;
	else
		return usage();
	if (strlen(argv[2]) >= IFNAMSIZ) {
		fprintf(stderr, "net-tap: interface name '%s' is too long\n", argv[2]);
		return 2;
	}
	if (argc == 4) {
		char *end;

		queues = strtoul(argv[3], &end, 10);
		if (*end != '\0' || queues < 1) {
			fprintf(stderr, "net-tap: bad queue count '%s'\n", argv[3]);
			return 2;
		}
	}

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "net-tap: /dev/net/tun: %s\n", strerror(errno));
		return 1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[2]);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (queues > 1)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
		fprintf(stderr, "net-tap: TUNSETIFF %s: %s\n", argv[2], strerror(errno));
		close(fd);
		return 1;
	}
	if (ioctl(fd, TUNSETPERSIST, (unsigned long)persist) != 0) {
		fprintf(stderr, "net-tap: TUNSETPERSIST %s: %s\n", argv[2], strerror(errno));
		close(fd);
		return 1;
	}
	close(fd);
	return 0;
}
