/* SPDX-License-Identifier: MIT */
/* guest_mem_ptr(): the choke point for guest-physical accesses. */
#include "vmm/guest_mem.h"
#include "vmm/layout.h"
#include "tests/tap/basic.h"

#include <errno.h>
#include <stdint.h>

int main(void)
{
	struct guest_mem mem;
	uint8_t b[16];

	plan(17);
	is_int(-EINVAL, guest_mem_init(&mem, 0), "zero-sized RAM refused");
	is_int(-EINVAL, guest_mem_init(&mem, 4097), "non-page-multiple RAM refused");
	if (guest_mem_init(&mem, (4ull << 30)))
		bail("cannot reserve 4 GiB of address space");
	is_int(2, mem.nr_regions, "4 GiB is split around the MMIO hole");
	ok(guest_mem_ptr(&mem, 0, 4096) == mem.region[0].hva, "GPA 0 maps to the low region");
	ok(guest_mem_ptr(&mem, MMIO_HOLE_START - 16, 16) != NULL, "the last bytes below the hole");
	ok(!guest_mem_ptr(&mem, MMIO_HOLE_START - 8, 16), "a range running into the hole is refused");
	ok(!guest_mem_ptr(&mem, MMIO_HOLE_START, 1), "the hole itself is not RAM");
	ok(!guest_mem_ptr(&mem, LAPIC_ADDR, 4), "the LAPIC page is not RAM");
	ok(guest_mem_ptr(&mem, HIGH_RAM_START, 4096) == mem.region[1].hva, "4 GiB maps to the high region");
	ok(guest_mem_ptr(&mem, HIGH_RAM_START + (1ull << 30) - 1, 1) != NULL, "last byte of RAM");
	ok(!guest_mem_ptr(&mem, HIGH_RAM_START + (1ull << 30), 1), "one past the end of RAM");
	ok(!guest_mem_ptr(&mem, HIGH_RAM_START + (1ull << 30) - 1, 2), "a range past the end of RAM");
	ok(!guest_mem_ptr(&mem, 0x1000, UINT64_MAX), "a length that would wrap is refused");
	ok(!guest_mem_ptr(&mem, UINT64_MAX, 2), "an address that would wrap is refused");
	ok(guest_mem_ptr(&mem, 0x1000, 0) != NULL, "an empty range inside RAM is fine");
	is_int(-EFAULT, guest_mem_write(&mem, MMIO_HOLE_START, b, sizeof(b)), "write into the hole: -EFAULT");
	is_int(-EFAULT, guest_mem_read(&mem, UINT64_MAX - 4, b, sizeof(b)), "read at the top: -EFAULT");
	guest_mem_free(&mem);
	return 0;
}
