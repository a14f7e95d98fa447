/* SPDX-License-Identifier: MIT */
/* Writing seed inputs: see seeds.h. */
#include "tests/fuzz/seeds.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void seed_start(struct seed *s, uint8_t first)
{
	s->len = 0;
	seed_u8(s, first);
}

void seed_put(struct seed *s, const void *p, size_t n)
{
	if (n > sizeof(s->buf) - s->len) {
		fprintf(stderr, "seed longer than %d bytes\n", SEED_MAX);
		exit(1);
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

void seed_u8(struct seed *s, uint8_t v)
{
	seed_put(s, &v, 1);
}

void seed_u16(struct seed *s, uint16_t v)
{
	v = htole16(v);
	seed_put(s, &v, 2);
}

void seed_u32(struct seed *s, uint32_t v)
{
	v = htole32(v);
	seed_put(s, &v, 4);
}

void seed_u64(struct seed *s, uint64_t v)
{
	v = htole64(v);
	seed_put(s, &v, 8);
}

void seed_write(const char *dir, const char *name, const struct seed *s)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->buf, 1, s->len, f) != s->len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

const char *seed_dir(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		exit(1);
	}
	return argv[1];
}

void seed_map(struct seed *s, uint16_t iova_page, uint8_t phys_page, uint8_t pages, uint8_t flags,
	      uint8_t domain)
{
	seed_u8(s, FUZZ_OP_MAP);
	seed_u16(s, iova_page);
	seed_u8(s, phys_page);
	seed_u8(s, (uint8_t)(pages - 1));
	seed_u8(s, flags);
	seed_u8(s, (uint8_t)(domain - 1));
}

void seed_unmap(struct seed *s, uint16_t iova_page, uint8_t pages, uint8_t domain)
{
	seed_u8(s, FUZZ_OP_UNMAP);
	seed_u16(s, iova_page);
	seed_u8(s, (uint8_t)(pages - 1));
	seed_u8(s, (uint8_t)(domain - 1));
}

void seed_attach(struct seed *s, uint8_t what)
{
	seed_u8(s, FUZZ_OP_ATTACH);
	seed_u8(s, what);
}

void seed_poke(struct seed *s, uint64_t addr, const void *p, uint8_t len)
{
	seed_u8(s, FUZZ_OP_POKE);
	seed_u64(s, addr);
	seed_u8(s, len);
	seed_put(s, p, len);
}

void seed_desc(struct seed *s, uint64_t table, uint16_t idx, uint64_t addr, uint32_t len,
	       uint16_t flags, uint16_t next)
{
	seed_u8(s, FUZZ_OP_DESC);
	seed_u64(s, table);
	seed_u16(s, idx);
	seed_u64(s, addr);
	seed_u32(s, len);
	seed_u16(s, flags);
	seed_u16(s, next);
}

void seed_avail(struct seed *s, uint8_t what, uint16_t v)
{
	seed_u8(s, FUZZ_OP_AVAIL);
	seed_u8(s, what);
	seed_u16(s, v);
}
