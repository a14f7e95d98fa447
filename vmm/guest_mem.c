/* SPDX-License-Identifier: MIT */
#include "vmm/guest_mem.h"
#include "vmm/layout.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

static int map_region(struct guest_region *r, uint64_t gpa, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return -errno;
	/* Transparent huge pages cut EPT/NPT walks; a hint, failure is fine. */
	madvise(p, size, MADV_HUGEPAGE);
	r->gpa = gpa;
	r->size = size;
	r->hva = p;
	return 0;
}

int guest_mem_init(struct guest_mem *mem, uint64_t size)
{
	uint64_t low = size < MMIO_HOLE_START ? size : MMIO_HOLE_START;
	int ret;

	memset(mem, 0, sizeof(*mem));
	if (!size || (size & 0xfff))
		return -EINVAL;
	ret = map_region(&mem->region[0], 0, low);
	if (ret)
		return ret;
	mem->nr_regions = 1;
	if (size > low) {
		ret = map_region(&mem->region[1], HIGH_RAM_START, size - low);
		if (ret) {
			guest_mem_free(mem);
			return ret;
		}
		mem->nr_regions = 2;
	}
	mem->total = size;
	return 0;
}

void guest_mem_free(struct guest_mem *mem)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++)
		munmap(mem->region[i].hva, mem->region[i].size);
	memset(mem, 0, sizeof(*mem));
}

void *guest_mem_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->region[i];

		/* Written so that no sum can wrap: gpa - r->gpa only after
		 * gpa >= r->gpa, and len compared against what is left. */
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

bool guest_mem_is_ram(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	return guest_mem_ptr(mem, gpa, len) != NULL;
}

int guest_mem_write(const struct guest_mem *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, src, len);
	return 0;
}

int guest_mem_read(const struct guest_mem *mem, uint64_t gpa, void *dst, uint64_t len)
{
	const void *p = guest_mem_ptr(mem, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(dst, p, len);
	return 0;
}

uint64_t guest_mem_low_end(const struct guest_mem *mem)
{
	return mem->nr_regions ? mem->region[0].size : 0;
}
