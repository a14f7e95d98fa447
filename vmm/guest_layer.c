/* SPDX-License-Identifier: MIT */
/*
 * "Check my driver": the extra initramfs archive for the default guest
 * (vmm/guest_layer.h), the vermagic check of the modules that go into it,
 * and the port through which the guest's /init says how its command ended.
 */
#include "vmm/guest_layer.h"
#include "vmm/exit_codes.h"
#include "vmm/log.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define fail(err, errlen, ...) error_line(err, errlen, -EINVAL, __VA_ARGS__)

/* Largest single input file (a module with its debug info is tens of MiB);
 * the whole initramfs must fit in guest RAM anyway (boot_plan checks). */
#define GUEST_LAYER_MAX_FILE (256ull << 20)

/* ------------------------------------------------------------------------
 * newc: a 110-byte header of ASCII hex fields, the name with its NUL, zero
 * padding to a multiple of 4, the data, zero padding to a multiple of 4.
 */
#define CPIO_HEADER_LEN 110
#define CPIO_NAME_MAX   4096

static size_t pad4(size_t n)
{
	return (4 - (n & 3)) & 3;
}

static int cpio_reserve(struct cpio_buf *c, size_t more)
{
	size_t cap = c->cap ? c->cap : 4096;
	uint8_t *p;

	if (more > SIZE_MAX - c->len)
		return -ENOMEM;
	while (cap < c->len + more) {
		if (cap > SIZE_MAX / 2)
			return -ENOMEM;
		cap *= 2;
	}
	if (cap == c->cap)
		return 0;
	p = realloc(c->data, cap);
	if (!p)
		return -ENOMEM;
	c->data = p;
	c->cap = cap;
	return 0;
}

int cpio_add(struct cpio_buf *c, const char *path, uint32_t mode,
	     const void *data, size_t len)
{
	size_t namesize = strlen(path) + 1, need;
	char hdr[CPIO_HEADER_LEN + 1];
	int ret;

	if (namesize < 2 || namesize > CPIO_NAME_MAX)
		return -EINVAL;
	if ((uint64_t)len > UINT32_MAX)
		return -EFBIG;
	need = CPIO_HEADER_LEN + namesize + pad4(CPIO_HEADER_LEN + namesize) + len + pad4(len);
	ret = cpio_reserve(c, need);
	if (ret)
		return ret;
	/* magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
	 * devminor, rdevmajor, rdevminor, namesize, check.  Owner root, time
	 * 0 (as the default guest's own archive): reproducible. */
	snprintf(hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ++c->next_ino, mode, 0u, 0u, (mode & S_IFMT) == S_IFDIR ? 2u : 1u, 0u,
		 (uint32_t)len, 0u, 0u, 0u, 0u, (uint32_t)namesize, 0u);
	memcpy(c->data + c->len, hdr, CPIO_HEADER_LEN);
	c->len += CPIO_HEADER_LEN;
	memcpy(c->data + c->len, path, namesize);
	c->len += namesize;
	memset(c->data + c->len, 0, pad4(CPIO_HEADER_LEN + namesize));
	c->len += pad4(CPIO_HEADER_LEN + namesize);
	if (len)
		memcpy(c->data + c->len, data, len);
	c->len += len;
	memset(c->data + c->len, 0, pad4(len));
	c->len += pad4(len);
	return 0;
}

int cpio_finish(struct cpio_buf *c)
{
	return cpio_add(c, "TRAILER!!!", 0, NULL, 0);
}

void cpio_free(struct cpio_buf *c)
{
	free(c->data);
	memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------------------
 * ELF: only what finding .modinfo needs, every field checked.  vmm builds
 * for x86-64 only, so the little-endian fields are read with memcpy.
 */
static bool range_ok(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

static int read_shdr(const uint8_t *elf, size_t len, const Elf64_Ehdr *eh, uint64_t i,
		     Elf64_Shdr *sh)
{
	uint64_t off = eh->e_shoff + i * eh->e_shentsize;

	/* e_shoff + e_shnum * e_shentsize was checked: no overflow here. */
	if (!range_ok(off, sizeof(*sh), len))
		return -EINVAL;
	memcpy(sh, elf + off, sizeof(*sh));
	return 0;
}

int modinfo_vermagic(const uint8_t *elf, size_t len, char *vermagic, size_t vlen,
		     char *err, size_t errlen)
{
	static const uint8_t xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0 }, zstd[] = { 0x28, 0xb5, 0x2f, 0xfd },
			     gz[] = { 0x1f, 0x8b };
	Elf64_Ehdr eh;
	Elf64_Shdr sh, strtab;
	uint64_t shnum, shstrndx;

	if (len >= sizeof(xz) && !memcmp(elf, xz, sizeof(xz)))
		return fail(err, errlen, "is xz-compressed: decompress it first (xz -d)");
	if (len >= sizeof(zstd) && !memcmp(elf, zstd, sizeof(zstd)))
		return fail(err, errlen, "is zstd-compressed: decompress it first (zstd -d)");
	if (len >= sizeof(gz) && !memcmp(elf, gz, sizeof(gz)))
		return fail(err, errlen, "is gzip-compressed: decompress it first (gzip -d)");
	if (len < SELFMAG || memcmp(elf, ELFMAG, SELFMAG))
		return fail(err, errlen, "is not an ELF file (a kernel module is an ELF object, NAME.ko)");
	if (len < sizeof(eh))
		return fail(err, errlen, "is a truncated ELF file (%zu bytes)", len);
	memcpy(&eh, elf, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_type != ET_REL || eh.e_machine != EM_X86_64)
		return fail(err, errlen, "is not an x86-64 kernel module (ELF class %u, data %u, type %u, "
			    "machine %u; want a 64-bit little-endian relocatable object for x86-64)",
			    eh.e_ident[EI_CLASS], eh.e_ident[EI_DATA], eh.e_type, eh.e_machine);
	if (eh.e_shentsize < sizeof(Elf64_Shdr) || !eh.e_shoff)
		return fail(err, errlen, "has no section headers: not a kernel module");
	/* Extended numbering: the real counts are in section 0. */
	shnum = eh.e_shnum;
	shstrndx = eh.e_shstrndx;
	if (!shnum || shstrndx == SHN_XINDEX) {
		if (read_shdr(elf, len, &eh, 0, &sh))
			return fail(err, errlen, "is truncated: its section headers lie beyond its end");
		if (!shnum)
			shnum = sh.sh_size;
		if (shstrndx == SHN_XINDEX)
			shstrndx = sh.sh_link;
	}
	if (shnum > len / eh.e_shentsize || !range_ok(eh.e_shoff, shnum * eh.e_shentsize, len))
		return fail(err, errlen, "is truncated: its section headers lie beyond its end");
	if (shstrndx >= shnum || read_shdr(elf, len, &eh, shstrndx, &strtab) ||
	    strtab.sh_type == SHT_NOBITS || !range_ok(strtab.sh_offset, strtab.sh_size, len))
		return fail(err, errlen, "has a bad section name table");

	for (uint64_t i = 0; i < shnum; i++) {
		static const char want[] = ".modinfo", key[] = "vermagic=";
		const char *names = (const char *)elf + strtab.sh_offset, *p, *end;

		if (read_shdr(elf, len, &eh, i, &sh))
			return fail(err, errlen, "is truncated: its section headers lie beyond its end");
		if (sh.sh_name >= strtab.sh_size || strtab.sh_size - sh.sh_name < sizeof(want) ||
		    memcmp(names + sh.sh_name, want, sizeof(want)))
			continue;
		if (sh.sh_type == SHT_NOBITS || !range_ok(sh.sh_offset, sh.sh_size, len))
			return fail(err, errlen, "is truncated: its .modinfo section lies beyond its end");
		/* NUL-separated "key=value" strings; the last may lack its NUL. */
		p = (const char *)elf + sh.sh_offset;
		end = p + sh.sh_size;
		while (p < end) {
			const char *nul = memchr(p, '\0', (size_t)(end - p));
			size_t n = nul ? (size_t)(nul - p) : (size_t)(end - p);

			if (n >= sizeof(key) - 1 && !memcmp(p, key, sizeof(key) - 1)) {
				n -= sizeof(key) - 1;
				p += sizeof(key) - 1;
				if (!n)
					return fail(err, errlen, "has an empty vermagic");
				if (n >= vlen)
					return fail(err, errlen, "has a vermagic longer than %zu bytes", vlen - 1);
				for (size_t j = 0; j < n; j++)
					if (p[j] < 0x20 || p[j] > 0x7e)
						return fail(err, errlen, "has a vermagic with non-printable bytes");
				memcpy(vermagic, p, n);
				vermagic[n] = '\0';
				return 0;
			}
			p += n + 1;
		}
		return fail(err, errlen, "has no vermagic in its .modinfo: not a kernel module");
	}
	return fail(err, errlen, "has no .modinfo section: not a kernel module");
}

int bzimage_release(const struct bzimage *bz, char *buf, size_t len)
{
	uint16_t kv;
	size_t off, n = 0;

	if (!bz->hdr || !len)
		return -ENOENT;
	memcpy(&kv, &bz->hdr->kernel_version, sizeof(kv));
	if (!kv)
		return -ENOENT;
	/* An offset from the end of the boot sector, inside the setup code. */
	off = 0x200 + (size_t)kv;
	while (off + n < bz->setup_len && off + n < bz->image_len && n + 1 < len) {
		char ch = (char)bz->image[off + n];

		if (ch == '\0' || ch == ' ')
			break;
		if (ch < 0x21 || ch > 0x7e)
			return -ENOENT;
		buf[n++] = ch;
	}
	/* Cut short by the buffer: not the release. */
	if (n + 1 >= len && off + n < bz->setup_len && off + n < bz->image_len &&
	    bz->image[off + n] != '\0' && bz->image[off + n] != ' ')
		return -ENOENT;
	buf[n] = '\0';
	return n ? 0 : -ENOENT;
}

/* ------------------------------------------------------------------------ */
int guest_file_dest(const char *src, const char *dest, char *out, size_t outlen,
		    char *err, size_t errlen)
{
	static const char *const hidden[] = { "dev", "proc", "sys", "tmp" };
	const char *base = strrchr(src, '/') ? strrchr(src, '/') + 1 : src;
	size_t o = 0, dlen = strlen(dest);
	char first[16] = "";
	const char *p = dest;

	if (!dlen)
		return fail(err, errlen, "--guest-file '%s:': DEST is empty (SRC:DEST)", src);
	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (!n)
			break;
		if (n == 2 && !memcmp(p, "..", 2))
			return fail(err, errlen, "--guest-file '%s:%s': DEST must not contain '..'", src, dest);
		if (!(n == 1 && *p == '.')) {
			if (o + n + 2 > outlen)
				return fail(err, errlen, "--guest-file '%s:%s': DEST is too long", src, dest);
			if (o)
				out[o++] = '/';
			else
				snprintf(first, sizeof(first), "%.*s", (int)(n < 15 ? n : 15), p);
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	/* "DIR/" (or "/"): the file keeps its name in DIR. */
	if (dest[dlen - 1] == '/' || !o) {
		size_t n = strlen(base);

		if (!n)
			return fail(err, errlen, "--guest-file '%s:%s': SRC names no file", src, dest);
		if (o + n + 2 > outlen)
			return fail(err, errlen, "--guest-file '%s:%s': DEST is too long", src, dest);
		if (o)
			out[o++] = '/';
		else
			snprintf(first, sizeof(first), "%.15s", base);
		memcpy(out + o, base, n);
		o += n;
	}
	out[o] = '\0';
	if (!strcmp(first, "init") || !strcmp(first, GUEST_LAYER_DIR))
		return fail(err, errlen, "--guest-file '%s:%s': /%s is the guest's own (its /init and "
			    "/" GUEST_LAYER_DIR ")", src, dest, first);
	for (size_t i = 0; i < sizeof(hidden) / sizeof(hidden[0]); i++)
		if (!strcmp(first, hidden[i]))
			return fail(err, errlen, "--guest-file '%s:%s': the guest's /init mounts over /%s: "
				    "the file would be hidden", src, dest, hidden[i]);
	return 0;
}

/* A whole regular file; one line in err naming OPTION and PATH. */
static int read_input(const char *option, const char *path, uint8_t **buf, size_t *len,
		      mode_t *mode, char *err, size_t errlen)
{
	struct stat st;
	uint8_t *p;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return fail(err, errlen, "%s '%s': cannot open: %s", option, path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, "%s '%s': not a regular file", option, path);
	}
	if ((uint64_t)st.st_size > GUEST_LAYER_MAX_FILE) {
		close(fd);
		return fail(err, errlen, "%s '%s': too large (%lld bytes; at most %llu MiB)", option,
			    path, (long long)st.st_size, GUEST_LAYER_MAX_FILE >> 20);
	}
	p = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!p) {
		close(fd);
		return fail(err, errlen, "%s '%s': out of memory", option, path);
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, p + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = errno;

			free(p);
			close(fd);
			return fail(err, errlen, "%s '%s': cannot read: %s", option, path,
				    n ? strerror(e) : "file shrank while being read");
		}
		done += (size_t)n;
	}
	close(fd);
	*buf = p;
	*len = done;
	if (mode)
		*mode = st.st_mode;
	return 0;
}

/* The directories already in the archive (each parent once). */
struct dir_list {
	char **name;
	size_t n;
};

static int add_parents(struct cpio_buf *c, struct dir_list *dirs, const char *path)
{
	char buf[CPIO_NAME_MAX];
	const char *slash = path;

	while ((slash = strchr(slash, '/'))) {
		size_t n = (size_t)(slash - path);
		bool seen = false;
		char **grown;
		int ret;

		slash++;
		if (n >= sizeof(buf))
			return -EINVAL;
		memcpy(buf, path, n);
		buf[n] = '\0';
		for (size_t i = 0; i < dirs->n && !seen; i++)
			seen = !strcmp(dirs->name[i], buf);
		if (seen)
			continue;
		grown = realloc(dirs->name, (dirs->n + 1) * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		dirs->name = grown;
		dirs->name[dirs->n] = strdup(buf);
		if (!dirs->name[dirs->n])
			return -ENOMEM;
		dirs->n++;
		ret = cpio_add(c, buf, S_IFDIR | 0755, NULL, 0);
		if (ret)
			return ret;
	}
	return 0;
}

static int add_file(struct cpio_buf *c, struct dir_list *dirs, const char *path, uint32_t mode,
		    const void *data, size_t len, char *err, size_t errlen)
{
	int ret = add_parents(c, dirs, path);

	if (!ret)
		ret = cpio_add(c, path, S_IFREG | (mode & 07777), data, len);
	if (ret)
		return fail(err, errlen, "cannot add /%s to the guest's extra initramfs: %s", path,
			    strerror(-ret));
	return 0;
}

static int add_module(struct cpio_buf *c, struct dir_list *dirs, const char *path,
		      const char *release, char *order, size_t *order_len, size_t order_cap,
		      char *err, size_t errlen)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char vermagic[256], why[256], name[CPIO_NAME_MAX];
	size_t len, rlen = strlen(release), blen = strlen(base);
	uint8_t *ko;
	int ret;

	if (blen < 4 || strcmp(base + blen - 3, ".ko"))
		return fail(err, errlen, "--guest-module '%s': not a NAME.ko file name", path);
	if (read_input("--guest-module", path, &ko, &len, NULL, err, errlen))
		return -1;
	if (modinfo_vermagic(ko, len, vermagic, sizeof(vermagic), why, sizeof(why))) {
		free(ko);
		return fail(err, errlen, "--guest-module '%s' %s", path, why);
	}
	/* vermagic is "RELEASE SMP preempt mod_unload ...": the guest's
	 * insmod would refuse another release with a line only in the
	 * guest's kernel log. */
	if (strncmp(vermagic, release, rlen) || (vermagic[rlen] != ' ' && vermagic[rlen] != '\0')) {
		free(ko);
		return fail(err, errlen, "--guest-module '%s' was built for kernel %.*s, the guest kernel "
			    "is %s: build it against the guest's (make guest-kbuild)", path,
			    (int)strcspn(vermagic, " "), vermagic, release);
	}
	/* The names go into load.order one a line, so they must be plain. */
	if (strcspn(base, "\n\r\t ") != blen || blen + 2 > order_cap - *order_len) {
		free(ko);
		return fail(err, errlen, "--guest-module '%s': unusable file name", path);
	}
	for (const char *p = order, *end = order + *order_len; p < end; p += strcspn(p, "\n") + 1)
		if (strcspn(p, "\n") == blen && !memcmp(p, base, blen)) {
			free(ko);
			return fail(err, errlen, "--guest-module '%s': a module named %s is given twice",
				    path, base);
		}
	snprintf(name, sizeof(name), GUEST_LAYER_DIR "/modules/%s", base);
	ret = add_file(c, dirs, name, 0644, ko, len, err, errlen);
	free(ko);
	if (ret)
		return ret;
	memcpy(order + *order_len, base, blen);
	*order_len += blen;
	order[(*order_len)++] = '\n';
	order[*order_len] = '\0';
	return 0;
}

int guest_layer_build(const struct vmm_config *cfg, const char *kernel_release,
		      struct cpio_buf *out, char *err, size_t errlen)
{
	struct cpio_buf c = { 0 };
	struct dir_list dirs = { 0 };
	char order[VMM_MAX_GUEST_MODULES * 260] = "";
	size_t order_len = 0;
	char dests[VMM_MAX_GUEST_FILES][CPIO_NAME_MAX / 4];
	int ret = -1;

	if (add_parents(&c, &dirs, GUEST_LAYER_DIR "/modules/")) {
		error_line(err, errlen, -1, "out of memory");
		goto out;
	}
	for (unsigned int i = 0; i < cfg->n_guest_modules; i++)
		if (add_module(&c, &dirs, cfg->guest_module[i], kernel_release, order, &order_len,
			       sizeof(order), err, errlen))
			goto out;
	if (add_file(&c, &dirs, GUEST_LAYER_DIR "/load.order", 0644, order, order_len, err, errlen))
		goto out;

	if (cfg->guest_run) {
		size_t n = strlen(cfg->guest_run);
		char *script = malloc(n + 12);

		if (!script) {
			error_line(err, errlen, -1, "out of memory");
			goto out;
		}
		n = (size_t)sprintf(script, "#!/bin/sh\n%s\n", cfg->guest_run);
		ret = add_file(&c, &dirs, GUEST_LAYER_DIR "/run", 0755, script, n, err, errlen);
		free(script);
		if (ret)
			goto out;
		ret = -1;
	} else if (cfg->guest_script) {
		uint8_t *script;
		size_t n;

		if (read_input("--guest-script", cfg->guest_script, &script, &n, NULL, err, errlen))
			goto out;
		ret = add_file(&c, &dirs, GUEST_LAYER_DIR "/run", 0755, script, n, err, errlen);
		free(script);
		if (ret)
			goto out;
		ret = -1;
	}

	for (unsigned int i = 0; i < cfg->n_guest_files; i++) {
		const char *src = cfg->guest_file[i].src;
		uint8_t *data;
		size_t n;
		mode_t mode;

		if (guest_file_dest(src, cfg->guest_file[i].dest, dests[i], sizeof(dests[i]), err, errlen))
			goto out;
		for (unsigned int j = 0; j < i; j++)
			if (!strcmp(dests[i], dests[j])) {
				error_line(err, errlen, -1, "--guest-file '%s:%s': /%s is given twice", src,
					   cfg->guest_file[i].dest, dests[i]);
				goto out;
			}
		if (read_input("--guest-file", src, &data, &n, &mode, err, errlen))
			goto out;
		ret = add_file(&c, &dirs, dests[i], mode, data, n, err, errlen);
		free(data);
		if (ret)
			goto out;
		ret = -1;
	}
	if (cpio_finish(&c)) {
		error_line(err, errlen, -1, "out of memory");
		goto out;
	}
	*out = c;
	memset(&c, 0, sizeof(c));
	ret = 0;
out:
	cpio_free(&c);
	for (size_t i = 0; i < dirs.n; i++)
		free(dirs.name[i]);
	free(dirs.name);
	return ret;
}

/* ------------------------------------------------------------------------ */
static void guest_status_write(void *opaque, uint16_t offset, unsigned int size, uint32_t val)
{
	struct guest_status *gs = opaque;
	unsigned int kind = (val >> 8) & 0xff;

	if (offset != 0 || size != 4 || (val & 0xffff0000u) != GUEST_STATUS_MAGIC ||
	    (kind != GUEST_STATUS_COMMAND && kind != GUEST_STATUS_MODULE)) {
		pr_ratelimited(LOG_WARN, "guest-status port: ignored a %u-byte write of %#x at +%u",
			       size, val, offset);
		return;
	}
	if (__atomic_load_n(&gs->reported, __ATOMIC_ACQUIRE))
		return;
	gs->kind = (int)kind;
	gs->value = (int)(val & 0xff);
	__atomic_store_n(&gs->reported, 1, __ATOMIC_RELEASE);
}

static const struct pio_ops guest_status_ops = { .write = guest_status_write };

int guest_status_register(struct guest_status *gs, struct pio_bus *bus)
{
	memset(gs, 0, sizeof(*gs));
	return pio_register(bus, GUEST_STATUS_PORT, 4, &guest_status_ops, gs, "guest-status");
}

int guest_status_verdict(const struct guest_status *gs, const struct vmm_config *cfg,
			 char *msg, size_t msglen)
{
	const char *what = cfg->guest_run ? "--guest-run command" :
			   cfg->guest_script ? "--guest-script" : NULL;

	if (!__atomic_load_n(&gs->reported, __ATOMIC_ACQUIRE)) {
		error_line(msg, msglen, 0, "the guest powered off without reporting how its %s ended "
			   "(did it power off itself?)", what ? what : "--guest-module loading");
		return VMM_EXIT_GUEST_FAILED;
	}
	if (gs->kind == GUEST_STATUS_MODULE) {
		unsigned int i = (unsigned int)gs->value;

		error_line(msg, msglen, 0, "--guest-module '%s' did not load in the guest (insmod "
			   "failed: the guest console says why); nothing ran",
			   i >= 1 && i <= cfg->n_guest_modules ? cfg->guest_module[i - 1] : "?");
		return VMM_EXIT_GUEST_FAILED;
	}
	if (!what) {
		error_line(msg, msglen, 0, "the guest loaded the --guest-module files");
		return gs->value ? VMM_EXIT_GUEST_FAILED : VMM_EXIT_POWEROFF;
	}
	if (gs->value) {
		error_line(msg, msglen, 0, "the guest's %s failed: exit status %d", what, gs->value);
		return VMM_EXIT_GUEST_FAILED;
	}
	error_line(msg, msglen, 0, "the guest's %s succeeded (exit status 0)", what);
	return VMM_EXIT_POWEROFF;
}
