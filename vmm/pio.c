/* SPDX-License-Identifier: MIT */
#include "vmm/pio.h"

#include <errno.h>

int pio_register(struct pio_bus *bus, uint16_t base, uint16_t len,
		 const struct pio_ops *ops, void *opaque, const char *name)
{
	if (!len || (uint32_t)base + len > 0x10000 || !ops)
		return -EINVAL;
	for (unsigned int i = 0; i < bus->count; i++) {
		const struct pio_range *r = &bus->range[i];

		if (base < r->base + r->len && r->base < base + len)
			return -EBUSY;
	}
	if (bus->count == PIO_MAX_RANGES)
		return -ENOSPC;
	bus->range[bus->count++] = (struct pio_range){
		.base = base, .len = len, .ops = ops, .opaque = opaque, .name = name,
	};
	return 0;
}

bool pio_access(struct pio_bus *bus, uint16_t port, bool is_write,
		unsigned int size, uint32_t *val)
{
	/* The table is written before any vCPU runs and read-only after. */
	for (unsigned int i = 0; i < bus->count; i++) {
		const struct pio_range *r = &bus->range[i];

		if (port < r->base || port - r->base >= r->len)
			continue;
		if (is_write) {
			if (r->ops->write)
				r->ops->write(r->opaque, port - r->base, size, *val);
		} else {
			*val = r->ops->read ? r->ops->read(r->opaque, port - r->base, size)
					    : 0xffffffffu;
		}
		return true;
	}
	__atomic_add_fetch(&bus->unclaimed, 1, __ATOMIC_RELAXED);
	if (!is_write)
		*val = 0xffffffffu;
	return false;
}
