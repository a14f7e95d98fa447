/* SPDX-License-Identifier: MIT */
#ifndef TESTS_FUZZ_SEEDS_H
#define TESTS_FUZZ_SEEDS_H

/*
 * For the seed generators (tests/fuzz/<target>-seeds.c): build one input in
 * memory, little-endian, and write it as DIR/NAME.  The committed corpora
 * (tests/fuzz/corpus/<target>/) are their output: make fuzz-seeds writes
 * them again, and the make check smoke runs check that they still match.
 */
#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/fuzz-ops.h"

#define SEED_MAX 4096   /* the targets' -max_len */

struct seed {
	uint8_t buf[SEED_MAX];
	size_t len;
};

void seed_start(struct seed *s, uint8_t first);
void seed_put(struct seed *s, const void *p, size_t n);
void seed_u8(struct seed *s, uint8_t v);
void seed_u16(struct seed *s, uint16_t v);
void seed_u32(struct seed *s, uint32_t v);
void seed_u64(struct seed *s, uint64_t v);
void seed_write(const char *dir, const char *name, const struct seed *s);
/* The generators' main: DIR from the command line, or a usage error. */
const char *seed_dir(int argc, char **argv);

/* The shared operations (tests/fuzz/fuzz-ops.h), op byte included, as
 * fuzz_iommu_op() and fuzz_ring_op() read them (tests/fuzz/fuzz.h). */
void seed_map(struct seed *s, uint16_t iova_page, uint8_t phys_page, uint8_t pages, uint8_t flags,
	      uint8_t domain);
void seed_unmap(struct seed *s, uint16_t iova_page, uint8_t pages, uint8_t domain);
void seed_attach(struct seed *s, uint8_t what);
/* FUZZ_OP_POKE: the driver writes len bytes at addr. */
void seed_poke(struct seed *s, uint64_t addr, const void *p, uint8_t len);

void seed_desc(struct seed *s, uint64_t table, uint16_t idx, uint64_t addr, uint32_t len,
	       uint16_t flags, uint16_t next);
void seed_avail(struct seed *s, uint8_t what, uint16_t v);

#endif
