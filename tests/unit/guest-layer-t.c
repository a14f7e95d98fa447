/* SPDX-License-Identifier: MIT */
/*
 * "Check my driver" without KVM (vmm/guest_layer.c): the newc archive
 * (read back by an independent parser here, and by GNU cpio), the vermagic
 * reader against well-formed and hostile ELF files (every truncation, bad
 * offsets, other classes and machines, compressed files), the kernel
 * release of a bzImage header, --guest-file destinations, the whole layer
 * from real files, the guest-status port and the exit status it gives.
 */
#include "vmm/guest_layer.h"
#include "vmm/exit_codes.h"
#include "tests/tap/basic.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- an independent newc reader ---------------------------------------- */
struct entry {
	char name[256];
	uint32_t mode, nlink;
	const uint8_t *data;
	uint32_t size;
};

static uint32_t hex8(const uint8_t *p)
{
	char buf[9];

	memcpy(buf, p, 8);
	buf[8] = '\0';
	return (uint32_t)strtoul(buf, NULL, 16);
}

/* Every entry, in order; -1 on any malformation (alignment, magic, sizes,
 * no trailer, bytes after the trailer). */
static int read_archive(const uint8_t *a, size_t len, struct entry *e, int max)
{
	size_t off = 0;
	int n = 0;

	while (off + 110 <= len && n < max) {
		uint32_t namesize, size;

		if (off & 3 || memcmp(a + off, "070701", 6))
			return -1;
		e[n].mode = hex8(a + off + 14);
		e[n].nlink = hex8(a + off + 38);
		size = hex8(a + off + 54);
		namesize = hex8(a + off + 94);
		if (!namesize || namesize > sizeof(e[n].name) || off + 110 + namesize > len ||
		    a[off + 110 + namesize - 1] != '\0')
			return -1;
		memcpy(e[n].name, a + off + 110, namesize);
		off = (off + 110 + namesize + 3) & ~(size_t)3;
		if (off + size > len)
			return -1;
		e[n].data = a + off;
		e[n].size = size;
		off = (off + size + 3) & ~(size_t)3;
		if (!strcmp(e[n].name, "TRAILER!!!"))
			return off == len ? n : -1;
		n++;
	}
	return -1;
}

static const struct entry *find(const struct entry *e, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(e[i].name, name))
			return &e[i];
	return NULL;
}

/* ---- a synthetic kernel module ------------------------------------------ */
/* ELF64 x86-64 ET_REL: [null, .modinfo, .shstrtab], section headers last. */
static size_t make_ko(uint8_t *buf, size_t cap, const void *modinfo, size_t modinfo_len)
{
	static const char shstr[] = "\0.modinfo\0.shstrtab";
	Elf64_Ehdr eh = { 0 };
	Elf64_Shdr sh[3] = { { 0 } };
	size_t off = sizeof(eh), mi_off, str_off, sh_off;

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_REL;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = 3;
	eh.e_shstrndx = 2;
	mi_off = off;
	off += modinfo_len;
	str_off = off;
	off += sizeof(shstr);
	sh_off = (off + 7) & ~(size_t)7;
	eh.e_shoff = sh_off;
	sh[1].sh_name = 1;
	sh[1].sh_type = SHT_PROGBITS;
	sh[1].sh_offset = mi_off;
	sh[1].sh_size = modinfo_len;
	sh[2].sh_name = 10;
	sh[2].sh_type = SHT_STRTAB;
	sh[2].sh_offset = str_off;
	sh[2].sh_size = sizeof(shstr);
	if (sh_off + sizeof(sh) > cap)
		bail("make_ko: buffer too small");
	memset(buf, 0, sh_off + sizeof(sh));
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + mi_off, modinfo, modinfo_len);
	memcpy(buf + str_off, shstr, sizeof(shstr));
	memcpy(buf + sh_off, sh, sizeof(sh));
	return sh_off + sizeof(sh);
}

static const char good_modinfo[] = "license=GPL\0name=x\0vermagic=6.1.2-test SMP mod_unload \0depends=";

static int vermagic_of(const uint8_t *ko, size_t len, char *vm, char *why)
{
	return modinfo_vermagic(ko, len, vm, 64, why, 256);
}

static void test_modinfo(void)
{
	uint8_t ko[4096], bad[4096];
	char vm[64], why[256];
	size_t len = make_ko(ko, sizeof(ko), good_modinfo, sizeof(good_modinfo));
	Elf64_Ehdr eh;
	Elf64_Shdr sh;
	unsigned int truncations_refused = 0;

	is_int(0, vermagic_of(ko, len, vm, why), "modinfo: a well-formed module");
	is_string("6.1.2-test SMP mod_unload ", vm, "modinfo: its vermagic");

	/* Every truncation is refused (and none is read past: ASan twin). */
	for (size_t n = 0; n < len; n++) {
		uint8_t *copy = malloc(n ? n : 1);

		memcpy(copy, ko, n);
		truncations_refused += vermagic_of(copy, n, vm, why) == -EINVAL;
		free(copy);
	}
	is_int((long long)len, truncations_refused, "modinfo: each of the %zu truncations is refused", len);

	/* The last entry without its NUL still counts; an empty one does not. */
	{
		static const char last[] = "name=x\0vermagic=6.1.2-test SMP";
		size_t l = make_ko(bad, sizeof(bad), last, sizeof(last) - 1);

		is_int(0, vermagic_of(bad, l, vm, why), "modinfo: vermagic at the very end, no NUL");
		is_string("6.1.2-test SMP", vm, "modinfo: ... read up to the section's end");
		l = make_ko(bad, sizeof(bad), "vermagic=", 10);
		is_int(-EINVAL, vermagic_of(bad, l, vm, why), "modinfo: empty vermagic refused");
		l = make_ko(bad, sizeof(bad), "vermagic=6.1\x01", 14);
		is_int(-EINVAL, vermagic_of(bad, l, vm, why), "modinfo: non-printable vermagic refused");
		l = make_ko(bad, sizeof(bad), "license=GPL", 12);
		is_int(-EINVAL, vermagic_of(bad, l, vm, why), "modinfo: no vermagic entry");
		ok(strstr(why, "no vermagic") != NULL, "modinfo: ... says so (%s)", why);
	}
	{
		char longer[128] = "vermagic=";

		memset(longer + 9, 'a', 100);
		size_t l = make_ko(bad, sizeof(bad), longer, sizeof(longer));
		is_int(-EINVAL, vermagic_of(bad, l, vm, why), "modinfo: vermagic longer than the buffer refused");
	}

	/* Header fields. */
#define MUTATE(field, value, desc, expect)                                        \
	do {                                                                      \
		memcpy(bad, ko, len);                                             \
		memcpy(&eh, bad, sizeof(eh));                                     \
		eh.field = value;                                                 \
		memcpy(bad, &eh, sizeof(eh));                                     \
		is_int(-EINVAL, vermagic_of(bad, len, vm, why), "modinfo: %s refused", desc); \
		ok(strstr(why, expect) != NULL, "modinfo: ... '%s' (%s)", expect, why); \
	} while (0)
	MUTATE(e_ident[EI_CLASS], ELFCLASS32, "a 32-bit ELF", "not an x86-64 kernel module");
	MUTATE(e_ident[EI_DATA], ELFDATA2MSB, "a big-endian ELF", "not an x86-64 kernel module");
	MUTATE(e_type, ET_EXEC, "an executable", "not an x86-64 kernel module");
	MUTATE(e_machine, EM_AARCH64, "an arm64 module", "not an x86-64 kernel module");
	MUTATE(e_shoff, 0, "no section headers", "no section headers");
	MUTATE(e_shoff, UINT64_MAX - 8, "section headers at 2^64 - 8", "truncated");
	MUTATE(e_shentsize, 8, "a short section header size", "no section headers");
	MUTATE(e_shnum, 0xfff0, "0xfff0 sections", "truncated");
	MUTATE(e_shstrndx, 7, "a name table index out of range", "section name table");
#undef MUTATE

	/* Section fields: the name table's and .modinfo's offsets and sizes. */
	memcpy(&eh, ko, sizeof(eh));
#define MUTATE_SH(idx, field, value, desc)                                         \
	do {                                                                       \
		memcpy(bad, ko, len);                                              \
		memcpy(&sh, bad + eh.e_shoff + (idx) * sizeof(sh), sizeof(sh));    \
		sh.field = value;                                                  \
		memcpy(bad + eh.e_shoff + (idx) * sizeof(sh), &sh, sizeof(sh));    \
		is_int(-EINVAL, vermagic_of(bad, len, vm, why), "modinfo: %s refused (%s)", desc, why); \
	} while (0)
	MUTATE_SH(2, sh_offset, UINT64_MAX - 4, "a name table at 2^64 - 4");
	MUTATE_SH(2, sh_size, 1u << 30, "a name table of 1 GiB");
	MUTATE_SH(2, sh_type, SHT_NOBITS, "a NOBITS name table");
	MUTATE_SH(1, sh_offset, UINT64_MAX - 0x10, ".modinfo at 2^64 - 16");
	MUTATE_SH(1, sh_size, UINT64_MAX, ".modinfo of 2^64 - 1 bytes");
	MUTATE_SH(1, sh_name, 0x7fffffff, "a section name offset out of range");
	MUTATE_SH(1, sh_name, 15, "a section name that runs off the name table");
#undef MUTATE_SH

	/* Extended section numbering: e_shnum 0, the count in section 0. */
	memcpy(bad, ko, len);
	memcpy(&eh, bad, sizeof(eh));
	memcpy(&sh, bad + eh.e_shoff, sizeof(sh));
	sh.sh_size = eh.e_shnum;
	sh.sh_link = eh.e_shstrndx;
	memcpy(bad + eh.e_shoff, &sh, sizeof(sh));
	eh.e_shnum = 0;
	eh.e_shstrndx = SHN_XINDEX;
	memcpy(bad, &eh, sizeof(eh));
	is_int(0, vermagic_of(bad, len, vm, why), "modinfo: extended section numbering");

	/* Not ELF at all, or compressed. */
	is_int(-EINVAL, vermagic_of((const uint8_t *)"hello, world\n", 13, vm, why), "modinfo: text refused");
	ok(strstr(why, "not an ELF file") != NULL, "modinfo: ... 'not an ELF file'");
	is_int(-EINVAL, vermagic_of((const uint8_t *)"\xfd" "7zXZ\0\0\0", 8, vm, why), "modinfo: .ko.xz refused");
	ok(strstr(why, "xz -d") != NULL, "modinfo: ... 'decompress it first (xz -d)'");
	is_int(-EINVAL, vermagic_of((const uint8_t *)"\x28\xb5\x2f\xfd\0\0", 6, vm, why), "modinfo: .ko.zst refused");
	is_int(-EINVAL, vermagic_of((const uint8_t *)"\x1f\x8b\x08\0", 4, vm, why), "modinfo: .ko.gz refused");
	is_int(-EINVAL, vermagic_of((const uint8_t *)"", 0, vm, why), "modinfo: an empty file refused");
}

/* ---- the archive ------------------------------------------------------- */
static void test_cpio(void)
{
	struct cpio_buf c = { 0 };
	struct entry e[40];
	char names[8][16], dir[64];
	uint8_t data[8];
	int n, good = 0;

	memset(data, 0xa5, sizeof(data));
	ok(cpio_add(&c, "d", S_IFDIR | 0755, NULL, 0) == 0, "cpio: a directory");
	/* Name lengths 1..8 and data sizes 0..7: every padding. */
	for (int i = 0; i < 8; i++) {
		snprintf(names[i], sizeof(names[i]), "d/%.*s", i + 1, "abcdefgh");
		cpio_add(&c, names[i], S_IFREG | 0644, data, (size_t)i);
	}
	is_int(-EINVAL, cpio_add(&c, "", S_IFREG | 0644, NULL, 0), "cpio: an empty name is refused");
	is_int(0, cpio_finish(&c), "cpio: the trailer");
	is_int(0, (long long)(c.len & 3), "cpio: the archive is a multiple of 4 bytes (%zu)", c.len);
	n = read_archive(c.data, c.len, e, 40);
	is_int(9, n, "cpio: read back: the directory, 8 files and the trailer last");
	if (n == 9) {
		ok(!strcmp(e[0].name, "d") && e[0].mode == (S_IFDIR | 0755) && e[0].nlink == 2,
		   "cpio: the directory's name, mode and links");
		for (int i = 0; i < 8; i++)
			good += !strcmp(e[i + 1].name, names[i]) && e[i + 1].mode == (S_IFREG | 0644) &&
				e[i + 1].size == (uint32_t)i && !memcmp(e[i + 1].data, data, (size_t)i);
		is_int(8, good, "cpio: every file's name, mode, size and bytes");
	} else {
		skip("cpio: no archive to check");
		skip("cpio: no archive to check");
	}

	/* GNU cpio reads it too (it is a build dependency of the guest). */
	snprintf(dir, sizeof(dir), "/tmp/guest-layer-t.%d", (int)getpid());
	if (mkdir(dir, 0700) == 0) {
		char cmd[256], path[128];
		FILE *f;
		struct stat st;

		snprintf(path, sizeof(path), "%s/a.cpio", dir);
		f = fopen(path, "wb");
		ok(f && fwrite(c.data, 1, c.len, f) == c.len && fclose(f) == 0, "cpio: written to a file");
		snprintf(cmd, sizeof(cmd), "cd %s && cpio -i --quiet -d -u <a.cpio 2>/dev/null", dir);
		is_int(0, system(cmd), "cpio: GNU cpio extracts it");
		snprintf(path, sizeof(path), "%s/d/abcdefgh", dir);
		ok(stat(path, &st) == 0 && st.st_size == 7, "cpio: ... d/abcdefgh has its 7 bytes");
		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd) != 0)
			diag("cannot remove %s", dir);
	} else {
		bail("mkdir %s: %s", dir, strerror(errno));
	}
	cpio_free(&c);
}

/* ---- the bzImage's release ------------------------------------------------ */
static void test_release(void)
{
	static uint8_t img[0x1000];
	struct bzimage bz = { .image = img, .image_len = sizeof(img), .setup_len = 0xa00 };
	char rel[64];
	uint16_t kv = 0x300;
	const char *ver = "6.12.117+deb12-cloud-amd64 (debian-kernel@lists.debian.org) #1 SMP";

	bz.hdr = (const struct setup_header *)(img + 0x1f1);
	memcpy(img + 0x200 + kv, ver, strlen(ver) + 1);
	memcpy(img + 0x20e, &kv, 2);
	is_int(0, bzimage_release(&bz, rel, sizeof(rel)), "release: from the setup header");
	is_string("6.12.117+deb12-cloud-amd64", rel, "release: the first word of kernel_version");
	is_int(-ENOENT, bzimage_release(&bz, rel, 8), "release: too long for the buffer: refused");
	kv = 0;
	memcpy(img + 0x20e, &kv, 2);
	is_int(-ENOENT, bzimage_release(&bz, rel, sizeof(rel)), "release: kernel_version 0: none");
	kv = 0x900;
	memcpy(img + 0x20e, &kv, 2);
	is_int(-ENOENT, bzimage_release(&bz, rel, sizeof(rel)), "release: pointing past the setup code: none");
	kv = 0x300;
	memcpy(img + 0x20e, &kv, 2);
	img[0x502] = 0x7f;
	is_int(-ENOENT, bzimage_release(&bz, rel, sizeof(rel)), "release: a control byte in it: none");
}

/* ---- --guest-file destinations -------------------------------------------- */
static void test_dest(void)
{
	static const struct { const char *src, *dest, *want; } good[] = {
		{ "hello.txt", "/root/", "root/hello.txt" },
		{ "dir/hello.txt", "root/x.txt", "root/x.txt" },
		{ "a", "/usr//lib/./fw/a.bin", "usr/lib/fw/a.bin" },
		{ "x/fw.bin", "/", "fw.bin" },
		{ "t", "/tmpfiles/t", "tmpfiles/t" },
		{ "t", "/initrd.d/t", "initrd.d/t" },
	};
	static const struct { const char *src, *dest, *why; } bad[] = {
		{ "a", "", "empty" },
		{ "a", "/root/../etc/x", "'..'" },
		{ "a", "..", "'..'" },
		{ "a", "/init", "the guest's own" },
		{ "init", "/", "the guest's own" },
		{ "a", "/vmm-layer/run", "the guest's own" },
		{ "a", "/tmp/a", "mounts over /tmp" },
		{ "a", "/dev/", "mounts over /dev" },
		{ "a", "proc/x", "mounts over /proc" },
		{ "a", "/sys/x", "mounts over /sys" },
		{ "dir/", "/root/", "SRC names no file" },
	};
	char out[64], why[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int r = guest_file_dest(good[i].src, good[i].dest, out, sizeof(out), why, sizeof(why));

		ok(r == 0 && !strcmp(out, good[i].want), "dest: %s:%s -> /%s (%s)", good[i].src,
		   good[i].dest, good[i].want, r ? why : out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = guest_file_dest(bad[i].src, bad[i].dest, out, sizeof(out), why, sizeof(why));

		ok(r == -EINVAL && strstr(why, bad[i].why), "dest: %s:%s refused, '%s' (%s)", bad[i].src,
		   bad[i].dest, bad[i].why, why);
	}
	is_int(-EINVAL, guest_file_dest("a", "/a/very/long/path/that/does/not/fit/in/sixty/four/bytes/of/output/x",
					out, sizeof(out), why, sizeof(why)), "dest: too long for the buffer");
}

/* ---- the whole layer from files ---------------------------------------------- */
static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0 || chmod(path, mode) != 0)
		bail("cannot write %s", path);
}

static void test_layer(void)
{
	char dir[64], ko[96], ko2[96], other[96], txt[96], script[96], notko[96];
	char fspec_src[96], fspec2_src[96];
	uint8_t buf[4096];
	size_t len = make_ko(buf, sizeof(buf), good_modinfo, sizeof(good_modinfo));
	struct vmm_config cfg;
	struct cpio_buf c = { 0 };
	struct entry e[40];
	char err[512];
	const struct entry *x;
	int n;

	snprintf(dir, sizeof(dir), "/tmp/guest-layer-t.%d", (int)getpid());
	if (mkdir(dir, 0700) != 0)
		bail("mkdir %s: %s", dir, strerror(errno));
	snprintf(ko, sizeof(ko), "%s/x.ko", dir);
	snprintf(ko2, sizeof(ko2), "%s/sub", dir);
	mkdir(ko2, 0700);
	snprintf(ko2, sizeof(ko2), "%s/sub/x.ko", dir);
	snprintf(other, sizeof(other), "%s/y.ko", dir);
	snprintf(txt, sizeof(txt), "%s/hello.txt", dir);
	snprintf(script, sizeof(script), "%s/s.sh", dir);
	snprintf(notko, sizeof(notko), "%s/text.ko", dir);
	write_file(ko, buf, len, 0644);
	write_file(ko2, buf, len, 0644);
	write_file(other, buf, len, 0600);
	write_file(txt, "hello\n", 6, 0750);
	write_file(script, "echo hi\n", 8, 0644);
	write_file(notko, "not a module\n", 13, 0644);
	snprintf(fspec_src, sizeof(fspec_src), "%s", txt);
	snprintf(fspec2_src, sizeof(fspec2_src), "%s", script);

	memset(&cfg, 0, sizeof(cfg));
	cfg.guest_module[0] = ko;
	cfg.guest_module[1] = other;
	cfg.n_guest_modules = 2;
	cfg.guest_file[0].src = fspec_src;
	cfg.guest_file[0].dest = "/usr/share/t/";
	cfg.n_guest_files = 1;
	cfg.guest_run = "insmod-check && echo done";
	is_int(0, guest_layer_build(&cfg, "6.1.2-test", &c, err, sizeof(err)), "layer: built (%s)", err);
	n = read_archive(c.data, c.len, e, 40);
	ok(n > 0, "layer: a well-formed archive with its trailer (%d entries)", n);
	if (n < 0)
		n = 0;
	x = find(e, n, "vmm-layer/modules/x.ko");
	ok(x && x->size == len && !memcmp(x->data, buf, len) && x->mode == (S_IFREG | 0644),
	   "layer: /vmm-layer/modules/x.ko, its bytes");
	ok(find(e, n, "vmm-layer/modules/y.ko") != NULL, "layer: /vmm-layer/modules/y.ko");
	x = find(e, n, "vmm-layer/load.order");
	ok(x && x->size == 10 && !memcmp(x->data, "x.ko\ny.ko\n", 10), "layer: load.order, in command-line order");
	x = find(e, n, "vmm-layer/run");
	ok(x && x->mode == (S_IFREG | 0755) && x->size == 36 &&
	   !memcmp(x->data, "#!/bin/sh\ninsmod-check && echo done\n", 36),
	   "layer: /vmm-layer/run is the command as an executable /bin/sh script");
	x = find(e, n, "usr/share/t/hello.txt");
	ok(x && x->mode == (S_IFREG | 0750) && x->size == 6, "layer: the --guest-file, its mode kept");
	ok(find(e, n, "usr") && find(e, n, "usr/share") && find(e, n, "usr/share/t") &&
	   find(e, n, "vmm-layer") && find(e, n, "vmm-layer/modules"),
	   "layer: every parent directory");
	{
		int usr = 0, file = 0;

		for (int i = 0; i < n; i++) {
			usr += !strcmp(e[i].name, "usr");
			if (!strcmp(e[i].name, "usr/share/t/hello.txt"))
				file = i;
			if (!strcmp(e[i].name, "usr/share/t") && file)
				file = -1;
		}
		ok(usr == 1 && file > 0, "layer: each parent once, before what it holds");
	}
	cpio_free(&c);

	/* --guest-script instead. */
	cfg.guest_run = NULL;
	cfg.guest_script = script;
	cfg.n_guest_modules = 0;
	is_int(0, guest_layer_build(&cfg, "6.1.2-test", &c, err, sizeof(err)), "layer: with --guest-script");
	n = read_archive(c.data, c.len, e, 40);
	x = n > 0 ? find(e, n, "vmm-layer/run") : NULL;
	ok(x && x->size == 8 && !memcmp(x->data, "echo hi\n", 8) && x->mode == (S_IFREG | 0755),
	   "layer: /vmm-layer/run is the script, executable");
	x = n > 0 ? find(e, n, "vmm-layer/load.order") : NULL;
	ok(x && x->size == 0, "layer: an empty load.order without modules");
	cpio_free(&c);
	cfg.guest_script = NULL;
	cfg.n_guest_files = 0;

	/* Refusals, each with its line. */
	{
		static char missing[96], dirpath[96];
		const struct { const char *mod[2]; const char *release; const char *why; } bad[] = {
			{ { ko }, "6.1.20-test", "was built for kernel 6.1.2-test, the guest kernel is 6.1.20-test" },
			{ { ko }, "6.1.2", "was built for kernel 6.1.2-test, the guest kernel is 6.1.2:" },
			{ { missing }, "6.1.2-test", "cannot open: No such file" },
			{ { dirpath }, "6.1.2-test", "not a NAME.ko file name" },
			{ { notko }, "6.1.2-test", "is not an ELF file" },
			{ { txt }, "6.1.2-test", "not a NAME.ko file name" },
			{ { ko, ko2 }, "6.1.2-test", "a module named x.ko is given twice" },
		};

		snprintf(missing, sizeof(missing), "%s/nope.ko", dir);
		snprintf(dirpath, sizeof(dirpath), "%s/sub", dir);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			cfg.guest_module[0] = bad[i].mod[0];
			cfg.guest_module[1] = bad[i].mod[1];
			cfg.n_guest_modules = bad[i].mod[1] ? 2 : 1;
			err[0] = '\0';
			ok(guest_layer_build(&cfg, bad[i].release, &c, err, sizeof(err)) == -1 &&
			   strstr(err, bad[i].why) && strstr(err, "--guest-module '") && !strchr(err, '\n'),
			   "layer: refused, '%s' (%s)", bad[i].why, err);
		}
		/* A directory named like a module. */
		snprintf(dirpath, sizeof(dirpath), "%s/d.ko", dir);
		mkdir(dirpath, 0700);
		cfg.guest_module[0] = dirpath;
		cfg.n_guest_modules = 1;
		ok(guest_layer_build(&cfg, "6.1.2-test", &c, err, sizeof(err)) == -1 &&
		   strstr(err, "not a regular file"), "layer: a directory as module refused (%s)", err);
		rmdir(dirpath);
		cfg.n_guest_modules = 0;

		cfg.guest_file[0].src = txt;
		cfg.guest_file[0].dest = "/root/";
		cfg.guest_file[1].src = txt;
		cfg.guest_file[1].dest = "root/hello.txt";
		cfg.n_guest_files = 2;
		ok(guest_layer_build(&cfg, "6.1.2-test", &c, err, sizeof(err)) == -1 &&
		   strstr(err, "/root/hello.txt is given twice"), "layer: a DEST given twice refused (%s)", err);
		cfg.guest_file[1].src = missing;
		cfg.guest_file[1].dest = "/x";
		ok(guest_layer_build(&cfg, "6.1.2-test", &c, err, sizeof(err)) == -1 &&
		   strstr(err, "--guest-file '") && strstr(err, "cannot open"),
		   "layer: a missing --guest-file SRC refused (%s)", err);
		cfg.n_guest_files = 0;
		cfg.guest_script = missing;
		ok(guest_layer_build(&cfg, "6.1.2-test", &c, err, sizeof(err)) == -1 &&
		   strstr(err, "--guest-script '") && strstr(err, "cannot open"),
		   "layer: a missing --guest-script refused (%s)", err);
	}

	unlink(ko);
	unlink(ko2);
	unlink(other);
	unlink(txt);
	unlink(script);
	unlink(notko);
	snprintf(ko2, sizeof(ko2), "%s/sub", dir);
	rmdir(ko2);
	rmdir(dir);
}

/* ---- the guest-status port and the exit status ------------------------------- */
static void test_status(void)
{
	struct pio_bus bus;
	struct guest_status gs;
	struct vmm_config cfg;
	char msg[256];
	uint32_t v;

	memset(&bus, 0, sizeof(bus));
	memset(&cfg, 0, sizeof(cfg));
	cfg.guest_module[0] = "a.ko";
	cfg.guest_module[1] = "b.ko";
	cfg.n_guest_modules = 2;
	cfg.guest_run = "true";
	is_int(0, guest_status_register(&gs, &bus), "status: the port registers");

	is_int(VMM_EXIT_GUEST_FAILED, guest_status_verdict(&gs, &cfg, msg, sizeof(msg)),
	       "status: nothing reported: exit status 9");
	ok(strstr(msg, "without reporting") != NULL, "status: ... '%s'", msg);

	/* Stray writes change nothing. */
	v = GUEST_STATUS_MAGIC | GUEST_STATUS_COMMAND << 8;
	pio_access(&bus, GUEST_STATUS_PORT, true, 1, &v);
	v = 0x12340100;
	pio_access(&bus, GUEST_STATUS_PORT, true, 4, &v);
	v = GUEST_STATUS_MAGIC | 7u << 8;
	pio_access(&bus, GUEST_STATUS_PORT, true, 4, &v);
	v = GUEST_STATUS_MAGIC | GUEST_STATUS_COMMAND << 8;
	pio_access(&bus, GUEST_STATUS_PORT + 1, true, 2, &v);
	is_int(0, gs.reported, "status: a byte write, a wrong magic, an unknown kind, a misaligned write: ignored");

	v = GUEST_STATUS_MAGIC | GUEST_STATUS_COMMAND << 8 | 3;
	ok(pio_access(&bus, GUEST_STATUS_PORT, true, 4, &v), "status: the port claims the write");
	is_int(VMM_EXIT_GUEST_FAILED, guest_status_verdict(&gs, &cfg, msg, sizeof(msg)),
	       "status: command exit 3: exit status 9");
	ok(strstr(msg, "--guest-run command failed: exit status 3") != NULL, "status: ... '%s'", msg);
	v = GUEST_STATUS_MAGIC | GUEST_STATUS_COMMAND << 8;
	pio_access(&bus, GUEST_STATUS_PORT, true, 4, &v);
	is_int(3, gs.value, "status: the first report counts");

	guest_status_register(&gs, &(struct pio_bus){ 0 });
	gs.reported = 1;
	gs.kind = GUEST_STATUS_COMMAND;
	gs.value = 0;
	is_int(VMM_EXIT_POWEROFF, guest_status_verdict(&gs, &cfg, msg, sizeof(msg)),
	       "status: command exit 0: exit status 0");
	gs.kind = GUEST_STATUS_MODULE;
	gs.value = 2;
	is_int(VMM_EXIT_GUEST_FAILED, guest_status_verdict(&gs, &cfg, msg, sizeof(msg)),
	       "status: module 2 did not load: exit status 9");
	ok(strstr(msg, "--guest-module 'b.ko' did not load") != NULL, "status: ... names b.ko: '%s'", msg);
	gs.value = 9;
	guest_status_verdict(&gs, &cfg, msg, sizeof(msg));
	ok(strstr(msg, "'?'") != NULL, "status: a module index out of range names none: '%s'", msg);
	cfg.guest_run = NULL;
	gs.kind = GUEST_STATUS_COMMAND;
	gs.value = 0;
	is_int(VMM_EXIT_POWEROFF, guest_status_verdict(&gs, &cfg, msg, sizeof(msg)),
	       "status: modules only, loaded: exit status 0");
}

/* ---- the options --------------------------------------------------------------- */
static void test_cli(void)
{
	char a1[] = "a.ko", a2[] = "sub/b.ko", f1[] = "host.bin:/lib/firmware/", f2[] = "x:y:z";
	char *argv[] = { (char *)"vmm", (char *)"run", (char *)"--guest-module", a1,
			 (char *)"--guest-module", a2, (char *)"--guest-file", f1, (char *)"--guest-file", f2,
			 (char *)"--guest-run", (char *)"ls /", NULL };
	struct vmm_config cfg;
	char err[256];

	is_int(0, cli_parse(12, argv, &cfg, 0, err, sizeof(err)), "cli: the --guest-* options parse (%s)", err);
	ok(cfg.n_guest_modules == 2 && !strcmp(cfg.guest_module[0], "a.ko") &&
	   !strcmp(cfg.guest_module[1], "sub/b.ko"), "cli: two modules, in order");
	ok(cfg.n_guest_files == 2 && !strcmp(cfg.guest_file[0].src, "host.bin") &&
	   !strcmp(cfg.guest_file[0].dest, "/lib/firmware/") && !strcmp(cfg.guest_file[1].src, "x") &&
	   !strcmp(cfg.guest_file[1].dest, "y:z"), "cli: SRC:DEST split at the first ':'");
	ok(cfg.guest_run && !strcmp(cfg.guest_run, "ls /") && guest_layer_wanted(&cfg),
	   "cli: --guest-run; a layer is wanted");
}

int main(void)
{
	plan(117);
	test_modinfo();
	test_cpio();
	test_release();
	test_dest();
	test_layer();
	test_status();
	test_cli();
	return 0;
}
