/* SPDX-License-Identifier: MIT */
#ifndef VMM_PIO_H
#define VMM_PIO_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The x86 I/O-port bus.  Devices register a port range with a small ops
 * table; vCPU threads dispatch KVM_EXIT_IO here.  Ports nobody claims read
 * as all-ones and ignore writes, like a floating ISA bus.  KVM-free.
 */
struct pio_ops {
	/* size is 1, 2 or 4; offset is from the registered base. */
	uint32_t (*read)(void *opaque, uint16_t offset, unsigned int size);
	void (*write)(void *opaque, uint16_t offset, unsigned int size, uint32_t val);
};

#define PIO_MAX_RANGES 32

struct pio_range {
	uint16_t base;
	uint16_t len;
	const struct pio_ops *ops;
	void *opaque;
	const char *name;
};

struct pio_bus {
	struct pio_range range[PIO_MAX_RANGES];
	unsigned int count;
	uint64_t unclaimed;   /* accesses to ports nobody claims */
};

/* 0, -EBUSY on overlap, -ENOSPC when full, -EINVAL on a bad range. */
int pio_register(struct pio_bus *bus, uint16_t base, uint16_t len,
		 const struct pio_ops *ops, void *opaque, const char *name);
/* Returns true if a device claimed the port. */
bool pio_access(struct pio_bus *bus, uint16_t port, bool is_write,
		unsigned int size, uint32_t *val);

#endif
