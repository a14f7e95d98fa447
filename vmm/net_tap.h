/* SPDX-License-Identifier: MIT */
#ifndef VMM_NET_TAP_H
#define VMM_NET_TAP_H

#include <stddef.h>

#include "vmm/virtio_net.h"

/*
 * A host TAP interface as virtio-net's backend: /dev/net/tun opened once
 * per queue pair with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR (and
 * IFF_MULTI_QUEUE for more than one), a 12-byte vnet header
 * (TUNSETVNETHDRSZ), no offloads until the driver negotiates them.
 *
 * The interface must exist (vmm does not create TAPs: that needs
 * CAP_NET_ADMIN, which a TAP created for the user does not).  *mtu: 0
 * takes the TAP's MTU; another value is set on the TAP if it differs
 * (that needs CAP_NET_ADMIN).  0, or -errno with one line in err.
 */
int net_tap_open(struct net_backend *be, const char *ifname, unsigned int queues, unsigned int *mtu,
		 char *err, size_t errlen);

#endif
