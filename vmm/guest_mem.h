/* SPDX-License-Identifier: MIT */
#ifndef VMM_GUEST_MEM_H
#define VMM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Guest RAM: at most two regions (below the 32-bit MMIO hole and above
 * 4 GiB), each one anonymous host mapping.  guest_mem_ptr() is the single
 * choke point through which the VMM turns a guest-physical range into a host
 * pointer: the whole range must lie inside one RAM region, or it is refused.
 */
struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	struct guest_region region[2];
	unsigned int nr_regions;
	uint64_t total;
};

int guest_mem_init(struct guest_mem *mem, uint64_t size);
void guest_mem_free(struct guest_mem *mem);

/* Host pointer for [gpa, gpa+len), or NULL if any byte is not guest RAM. */
void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len);
bool guest_mem_is_ram(const struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy helpers over guest_mem_ptr(); -EFAULT if the range is not RAM. */
int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len);
int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len);

/* End of RAM below the MMIO hole (exclusive). */
uint64_t guest_mem_low_end(const struct guest_mem *mem);

#endif
