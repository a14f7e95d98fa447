/* SPDX-License-Identifier: MIT */
#ifndef TESTS_VRING_UTIL_H
#define TESTS_VRING_UTIL_H

/* The driver's side of a split virtqueue in fake guest memory, for the
 * tests that play the guest driver. */
#include "vmm/guest_mem.h"

#include <endian.h>
#include <stdint.h>

#include <linux/virtio_ring.h>

/* Write entry i of the descriptor table at guest-physical `table`. */
static inline void vring_set_desc(struct guest_mem *mem, uint64_t table, unsigned int i,
				  uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = guest_mem_ptr(mem, table + 16 * (uint64_t)i, 16);

	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

#endif
