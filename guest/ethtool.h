/* SPDX-License-Identifier: MIT */
/* "vmm-guest ethtool IFACE" (guest/ethtool.c). */
#ifndef VMM_GUEST_ETHTOOL_H
#define VMM_GUEST_ETHTOOL_H

/* Print IFACE's offload features and driver statistics; exit status. */
int cmd_ethtool(const char *ifname);

#endif
