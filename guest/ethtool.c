/* SPDX-License-Identifier: MIT */
/*
 * "vmm-guest ethtool IFACE": what the guest's network driver says about
 * IFACE through the ethtool ioctl, for the guest suite "net" (busybox has
 * no ethtool):
 *   feature NAME on|off    the offloads in use: sg, tx-csum, rx-csum, tso
 *   stat NAME VALUE        every driver statistic (ethtool -S), e.g.
 *                          virtio_net's per-queue packet and byte counts
 */
#include "guest/ethtool.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int ethtool_ioctl(int sock, const char *ifname, void *cmd)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = cmd;
	return ioctl(sock, SIOCETHTOOL, &ifr);
}

static void print_features(int sock, const char *ifname)
{
	static const struct {
		const char *name;
		__u32 cmd;
	} features[] = {
		{ "sg", ETHTOOL_GSG },
		{ "tx-csum", ETHTOOL_GTXCSUM },
		{ "rx-csum", ETHTOOL_GRXCSUM },
		{ "tso", ETHTOOL_GTSO },
	};

	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		struct ethtool_value v = { .cmd = features[i].cmd };

		if (ethtool_ioctl(sock, ifname, &v) == 0)
			printf("feature %s %s\n", features[i].name, v.data ? "on" : "off");
	}
}

static int print_stats(int sock, const char *ifname)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ethtool_gstrings *names = NULL;
	struct ethtool_stats *stats = NULL;
	int ret = -1;

	if (ethtool_ioctl(sock, ifname, &info) != 0) {
		fprintf(stderr, "vmm-guest: ETHTOOL_GDRVINFO %s: %s\n", ifname, strerror(errno));
		return -1;
	}
	printf("driver %s\n", info.driver);
	if (info.n_stats == 0)
		return 0;
	names = calloc(1, sizeof(*names) + (size_t)info.n_stats * ETH_GSTRING_LEN);
	stats = calloc(1, sizeof(*stats) + (size_t)info.n_stats * sizeof(__u64));
	if (!names || !stats)
		goto out;
	names->cmd = ETHTOOL_GSTRINGS;
	names->string_set = ETH_SS_STATS;
	names->len = info.n_stats;
	stats->cmd = ETHTOOL_GSTATS;
	stats->n_stats = info.n_stats;
	if (ethtool_ioctl(sock, ifname, names) != 0 || ethtool_ioctl(sock, ifname, stats) != 0) {
		fprintf(stderr, "vmm-guest: ethtool statistics of %s: %s\n", ifname, strerror(errno));
		goto out;
	}
	/* The driver may report fewer than it announced. */
	for (__u32 i = 0; i < names->len && i < stats->n_stats; i++) {
		char name[ETH_GSTRING_LEN + 1];

		memcpy(name, names->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
		name[ETH_GSTRING_LEN] = '\0';
		printf("stat %s %llu\n", name, (unsigned long long)stats->data[i]);
	}
	ret = 0;
out:
	free(names);
	free(stats);
	return ret;
}

int cmd_ethtool(const char *ifname)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret;

	if (sock < 0) {
		fprintf(stderr, "vmm-guest: socket: %s\n", strerror(errno));
		return 1;
	}
	print_features(sock, ifname);
	ret = print_stats(sock, ifname);
	close(sock);
	return ret == 0 ? 0 : 1;
}
