/* SPDX-License-Identifier: MIT */
/* A TAP interface as virtio-net's backend (vmm/net_tap.h). */
#include "vmm/net_tap.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>


static int tap_set_offload(struct net_backend *be, unsigned int flags)
{
	/* One setting for the interface; queue 0 is always attached. */
	return ioctl(be->fd[0], TUNSETOFFLOAD, (unsigned long)flags) < 0 ? -errno : 0;
}

static int tap_enable_queue(struct net_backend *be, unsigned int q, bool on)
{
	struct ifreq ifr;

	if (be->queues == 1)
		return 0;   /* a single-queue TAP has nothing to detach */
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
	if (ioctl(be->fd[q], TUNSETQUEUE, &ifr) < 0)
		return -errno;
	be->attached[q] = on;
	return 0;
}

static void tap_close(struct net_backend *be)
{
	for (unsigned int q = 0; q < be->queues; q++)
		if (be->fd[q] >= 0)
			close(be->fd[q]);
	be->queues = 0;
}

/* The MTU on the TAP: what it has, or what the user asked for. */
static int tap_mtu(const char *ifname, unsigned int *mtu, char *err, size_t errlen)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), ret = 0;

	if (s < 0)
		return error_line(err, errlen, -errno, "TAP '%s': no socket to read its MTU: %s", ifname,
				strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(s, SIOCGIFMTU, &ifr) < 0) {
		ret = error_line(err, errlen, -errno, "TAP '%s': cannot read its MTU: %s", ifname,
			       strerror(errno));
	} else if (!*mtu) {
		*mtu = (unsigned int)ifr.ifr_mtu;
	} else if ((unsigned int)ifr.ifr_mtu != *mtu) {
		int had = ifr.ifr_mtu;

		ifr.ifr_mtu = (int)*mtu;
		if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
			ret = error_line(err, errlen, -errno, "TAP '%s' has MTU %d and mtu=%u cannot be set "
				       "on it: %s (ip link set %s mtu %u)", ifname, had, *mtu,
				       strerror(errno), ifname, *mtu);
	}
	close(s);
	return ret;
}

/* Is ifname a tun/tap device at all?  (Its driver, as ethtool -i says;
 * no privilege needed, and it answers for this network namespace.) */
static bool is_tun_device(const char *ifname)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool tun;

	if (s < 0)
		return true;   /* cannot tell: say what fits a TAP */
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	tun = ioctl(s, SIOCETHTOOL, &ifr) == 0 && !strcmp(info.driver, "tun");
	close(s);
	return tun;
}

static int open_queue(const char *ifname, unsigned int queues, int *fd, char *err, size_t errlen)
{
	struct ifreq ifr;
	int hdr = VIRTIO_NET_HDR_LEN, e;

	*fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		return error_line(err, errlen, -errno, "cannot open /dev/net/tun: %s%s", strerror(errno),
				errno == ENOENT || errno == ENODEV ? " (is the tun module loaded?)" : "");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (queues > 1 ? IFF_MULTI_QUEUE : 0);
	if (ioctl(*fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		if (e == EPERM)
			return error_line(err, errlen, -e, "TAP '%s': permission denied (vmm needs "
					"CAP_NET_ADMIN, or a TAP created for its user: ip tuntap add "
					"dev %s mode tap user USER%s)", ifname, ifname,
					queues > 1 ? " multi_queue" : "");
		if (e == EBUSY)
			return error_line(err, errlen, -e, "TAP '%s' is in use by another program", ifname);
		if (e == EINVAL && !is_tun_device(ifname))
			return error_line(err, errlen, -e, "'%s' is not a TAP interface", ifname);
		if (e == EINVAL)
			return error_line(err, errlen, -e, "'%s' is a TUN, or not a %s TAP (queues=%u; "
					"ip tuntap add dev %s mode tap%s)", ifname,
					queues > 1 ? "multi-queue" : "single-queue", queues, ifname,
					queues > 1 ? " multi_queue" : "");
		return error_line(err, errlen, -e, "TAP '%s': %s", ifname, strerror(e));
	}
	if (ioctl(*fd, TUNSETVNETHDRSZ, &hdr) < 0 || ioctl(*fd, TUNSETOFFLOAD, 0ul) < 0) {
		e = errno;
		return error_line(err, errlen, -e, "TAP '%s': cannot set its virtio-net header: %s",
				ifname, strerror(e));
	}
	return 0;
}

int net_tap_open(struct net_backend *be, const char *ifname, unsigned int queues, unsigned int *mtu,
		 char *err, size_t errlen)
{
	int ret;

	memset(be, 0, sizeof(*be));
	for (unsigned int q = 0; q < VIRTIO_NET_MAX_PAIRS; q++)
		be->fd[q] = -1;
	if (!queues || queues > VIRTIO_NET_MAX_PAIRS)
		return error_line(err, errlen, -EINVAL, "TAP '%s': queues=%u out of range", ifname, queues);
	snprintf(be->name, sizeof(be->name), "%s", ifname);
	/* TUNSETIFF would create a missing interface (with CAP_NET_ADMIN):
	 * the user names a TAP that exists. */
	if (!if_nametoindex(ifname))
		return error_line(err, errlen, -ENODEV, "no network interface '%s' (create the TAP first: "
				"ip tuntap add dev %s mode tap%s)", ifname, ifname,
				queues > 1 ? " multi_queue" : "");
	be->queues = queues;
	be->set_offload = tap_set_offload;
	be->enable_queue = tap_enable_queue;
	be->close = tap_close;
	for (unsigned int q = 0; q < queues; q++) {
		ret = open_queue(ifname, queues, &be->fd[q], err, errlen);
		if (ret)
			goto fail;
		be->attached[q] = true;   /* a new queue is attached */
	}
	ret = tap_mtu(ifname, mtu, err, errlen);
	if (ret)
		goto fail;
	return 0;
fail:
	tap_close(be);
	return ret;
}
