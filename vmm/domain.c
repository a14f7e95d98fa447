/* SPDX-License-Identifier: MIT */
/*
 * libvirt domain XML -> `vmm run` options (vmm/domain.h).
 *
 * The walk knows every element and attribute it accepts; anything else is
 * refused with one line naming it (FILE:LINE: <devices><hostdev>: ...), so a
 * domain never boots as something other than what it says.  Elements that do
 * not change what the guest sees under vmm are accepted and ignored: the
 * list is in docs/domain-xml.md and in accept_ignored() below.
 */
#include "vmm/domain.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

/* The serial port (COM1) as the domain gives it, <serial> or <console>. */
struct domain_serial {
	const xmlNode *node;    /* NULL: none given */
	const char *type;       /* "stdio" or "file" */
	const char *path;       /* type='file' */
};

struct walk {
	const xmlDoc *doc;
	struct domain_args *out;
	char *err;
	size_t errlen;
	bool iommu;             /* <iommu model='virtio'/> */
	bool rng;
	struct domain_serial serial;
	/* --net options, appended after the disks: libvirt's dumpxml writes
	 * every <disk> before every <interface>, whatever the file's order. */
	struct domain_args nets;
	/* The first device behind the IOMMU (<driver iommu='on'/>) and the
	 * first one not, checked against `iommu` at the end. */
	const xmlNode *first_iommu_on, *first_iommu_off;
};

static int add_arg(struct domain_args *a, const char *s)
{
	char *copy;

	if (a->argc + 1 >= a->cap) {
		unsigned int cap = a->cap ? a->cap * 2 : 16;
		char **argv = realloc(a->argv, cap * sizeof(*argv));

		if (!argv)
			return -ENOMEM;
		a->argv = argv;
		a->cap = cap;
	}
	copy = strdup(s);
	if (!copy)
		return -ENOMEM;
	a->argv[a->argc++] = copy;
	a->argv[a->argc] = NULL;
	return 0;
}

void domain_args_free(struct domain_args *a)
{
	for (unsigned int i = 0; i < a->argc; i++)
		free(a->argv[i]);
	free(a->argv);
	memset(a, 0, sizeof(*a));
}

/* "<devices><disk><driver>": where node is, from below <domain>. */
static void element_path(const xmlNode *node, char *buf, size_t len)
{
	const xmlNode *chain[16];
	unsigned int n = 0;
	size_t pos = 0;

	for (; node && node->type == XML_ELEMENT_NODE && node->parent &&
	       node->parent->type == XML_ELEMENT_NODE && n < 16; node = node->parent)
		chain[n++] = node;
	if (!n && node && node->type == XML_ELEMENT_NODE)
		chain[n++] = node;
	buf[0] = '\0';
	while (n-- && pos < len) {
		const xmlNode *e = chain[n];
		int w = snprintf(buf + pos, len - pos, "<%s%s%s>",
				 e->ns && e->ns->prefix ? (const char *)e->ns->prefix : "",
				 e->ns && e->ns->prefix ? ":" : "", (const char *)e->name);

		if (w < 0)
			break;
		pos += (size_t)w;
	}
}

/* One line: "FILE:LINE: <path>[ attr='value']: message". */
static int refuse(struct walk *w, const xmlNode *node, const char *attr,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int refuse(struct walk *w, const xmlNode *node, const char *attr,
		  const char *fmt, ...)
{
	char path[256], msg[256], where[320];
	va_list ap;

	element_path(node, path, sizeof(path));
	if (attr) {
		xmlChar *v = xmlGetProp(node, (const xmlChar *)attr);
		size_t n = strlen(path);

		/* the attribute inside the innermost element's brackets */
		if (n && path[n - 1] == '>')
			snprintf(path + n - 1, sizeof(path) - n + 1, " %s='%s'>", attr,
				 v ? (const char *)v : "");
		xmlFree(v);
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (w->doc && w->doc->URL)
		snprintf(where, sizeof(where), "%s:%ld: ", (const char *)w->doc->URL,
			 node ? xmlGetLineNo(node) : 0L);
	else
		snprintf(where, sizeof(where), "line %ld: ", node ? xmlGetLineNo(node) : 0L);
	snprintf(w->err, w->errlen, "%s%s: %s", where, path, msg);
	return -1;
}

static int nomem(struct walk *w)
{
	snprintf(w->err, w->errlen, "out of memory");
	return -1;
}

static bool is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && !n->ns && !strcmp((const char *)n->name, name);
}

/* An attribute's value without allocating: NULL when absent.  Values made
 * of more than one node (entity references) are refused by check_attrs. */
static const char *attr(const xmlNode *n, const char *name)
{
	for (const xmlAttr *a = n->properties; a; a = a->next)
		if (!a->ns && !strcmp((const char *)a->name, name))
			return a->children && a->children->type == XML_TEXT_NODE ?
				(const char *)a->children->content : "";
	return NULL;
}

/* Every attribute of n is in `allowed` (NULL-terminated). */
static int check_attrs(struct walk *w, const xmlNode *n, const char *const *allowed)
{
	for (const xmlAttr *a = n->properties; a; a = a->next) {
		bool known = false;

		if (a->children && (a->children->type != XML_TEXT_NODE || a->children->next))
			return refuse(w, n, (const char *)a->name, "entity references are not supported");
		for (unsigned int i = 0; !a->ns && allowed && allowed[i]; i++)
			known |= !strcmp((const char *)a->name, allowed[i]);
		if (!known)
			return refuse(w, n, (const char *)a->name, "not supported by vmm");
	}
	return 0;
}

#define ATTRS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NO_ATTRS ((const char *const *)NULL)

/* An element's text (text nodes only; comments skipped).  `buf` holds it
 * when it is made of several nodes. */
static int text(struct walk *w, const xmlNode *n, char *buf, size_t len, const char **out)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (const xmlNode *c = n->children; c; c = c->next) {
		size_t l;

		if (c->type == XML_COMMENT_NODE)
			continue;
		if (c->type == XML_ENTITY_REF_NODE)
			return refuse(w, n, NULL, "entity references are not supported");
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
			return refuse(w, n, NULL, "expected text only");
		l = strlen((const char *)c->content);
		if (pos + l >= len)
			return refuse(w, n, NULL, "text longer than %zu bytes", len - 1);
		memcpy(buf + pos, c->content, l + 1);
		pos += l;
	}
	*out = buf;
	return 0;
}

/* Whitespace around a value (as in "<vcpu> 2 </vcpu>") is not part of it. */
static const char *trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	return s;
}

static bool blank(const char *s)
{
	return !s[strspn(s, " \t\n\r")];
}

/* Elements, attributes and text of `n`: no children allowed besides
 * whitespace and comments. */
static int check_empty(struct walk *w, const xmlNode *n)
{
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			return refuse(w, c, NULL, "not supported by vmm");
		if (c->type == XML_TEXT_NODE && !blank((const char *)c->content))
			return refuse(w, n, NULL, "unexpected text '%s'", (const char *)c->content);
	}
	return 0;
}

/* Children that only name or place a device inside libvirt and mean
 * nothing to the guest. */
static bool device_bookkeeping(const xmlNode *c)
{
	return is(c, "alias");
}

/*
 * libvirt's scaled integers (formatdomain.html, "memory"): b/bytes, KB,
 * k/KiB, MB, M/MiB, GB, G/GiB, TB, T/TiB, PB, P/PiB, EB, E/EiB; no unit
 * means KiB.
 */
static int memory_bytes(struct walk *w, const xmlNode *n, uint64_t *bytes)
{
	static const struct { const char *name; uint64_t scale; } units[] = {
		{ "b", 1 }, { "bytes", 1 },
		{ "KB", 1000ull }, { "k", 1ull << 10 }, { "KiB", 1ull << 10 },
		{ "MB", 1000000ull }, { "M", 1ull << 20 }, { "MiB", 1ull << 20 },
		{ "GB", 1000000000ull }, { "G", 1ull << 30 }, { "GiB", 1ull << 30 },
		{ "TB", 1000000000000ull }, { "T", 1ull << 40 }, { "TiB", 1ull << 40 },
		{ "PB", 1000000000000000ull }, { "P", 1ull << 50 }, { "PiB", 1ull << 50 },
		{ "EB", 1000000000000000000ull }, { "E", 1ull << 60 }, { "EiB", 1ull << 60 },
	};
	const char *unit = attr(n, "unit"), *s;
	uint64_t scale = 0;
	char buf[64], *end;
	unsigned long long v;

	if (check_attrs(w, n, ATTRS("unit")) || text(w, n, buf, sizeof(buf), &s))
		return -1;
	if (!unit)
		unit = "KiB";
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(unit, units[i].name))
			scale = units[i].scale;
	if (!scale)
		return refuse(w, n, "unit", "not a libvirt memory unit");
	s = trim(buf);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (!*s || *s == '-' || *s == '+' || *end || errno)
		return refuse(w, n, NULL, "'%s' is not a number", s);
	if (v > UINT64_MAX / scale)
		return refuse(w, n, NULL, "too large");
	*bytes = v * scale;
	return 0;
}

static int parse_count(struct walk *w, const xmlNode *n, const char *s, unsigned long *out)
{
	char buf[32], *end;

	snprintf(buf, sizeof(buf), "%s", s);
	s = trim(buf);
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (!*s || *s == '-' || *s == '+' || *end || errno)
		return refuse(w, n, NULL, "'%s' is not a number", s);
	return 0;
}

/* 32 hex digits, dashes anywhere between pairs (as libvirt reads them),
 * written back as libvirt writes them: 8-4-4-4-12, lower case. */
static int uuid_canonical(struct walk *w, const xmlNode *n, const char *s, char out[37])
{
	unsigned int digits = 0;
	size_t o = 0;

	for (; *s; s++) {
		if (*s == '-' || *s == ' ' || *s == '\n' || *s == '\t')
			continue;
		if (!strchr("0123456789abcdefABCDEF", *s) || digits == 32)
			return refuse(w, n, NULL, "not a UUID");
		if (digits == 8 || digits == 12 || digits == 16 || digits == 20)
			out[o++] = '-';
		out[o++] = (char)(*s >= 'A' && *s <= 'F' ? *s - 'A' + 'a' : *s);
		digits++;
	}
	out[o] = '\0';
	if (digits != 32)
		return refuse(w, n, NULL, "not a UUID");
	return 0;
}

static int add_pair(struct walk *w, const char *opt, const char *value)
{
	if (add_arg(w->out, opt) || (value && add_arg(w->out, value)))
		return nomem(w);
	return 0;
}

/* A device's <driver iommu='on|off'> (drv NULL: no <driver>), remembered
 * for the check against <iommu>: absent is libvirt's default, off. */
static int device_iommu(struct walk *w, const xmlNode *dev, const xmlNode *drv)
{
	const char *v = drv ? attr(drv, "iommu") : NULL;

	if (v && strcmp(v, "on") && strcmp(v, "off"))
		return refuse(w, drv, "iommu", "must be 'on' or 'off'");
	if (v && !strcmp(v, "on")) {
		if (!w->first_iommu_on)
			w->first_iommu_on = drv;
	} else if (!w->first_iommu_off) {
		w->first_iommu_off = drv ? drv : dev;
	}
	return 0;
}

static int map_os(struct walk *w, const xmlNode *os)
{
	const xmlNode *kernel = NULL, *initrd = NULL, *cmdline = NULL;
	char buf[4096];
	const char *s;

	if (check_attrs(w, os, NO_ATTRS))
		return -1;
	for (const xmlNode *c = os->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is(c, "type")) {
			const char *arch = attr(c, "arch");

			/* machine= names a QEMU machine type; vmm has one machine. */
			if (check_attrs(w, c, ATTRS("arch", "machine")) || text(w, c, buf, sizeof(buf), &s))
				return -1;
			if (strcmp(trim(buf), "hvm"))
				return refuse(w, c, NULL, "'%s': vmm runs hvm guests only", trim(buf));
			if (arch && strcmp(arch, "x86_64"))
				return refuse(w, c, "arch", "vmm runs x86_64 guests only");
		} else if (is(c, "kernel")) {
			kernel = c;
		} else if (is(c, "initrd")) {
			initrd = c;
		} else if (is(c, "cmdline")) {
			cmdline = c;
		} else if (is(c, "boot")) {
			/* The boot order is for firmware; vmm boots the kernel
			 * directly and has none. */
			if (check_attrs(w, c, ATTRS("dev")) || check_empty(w, c))
				return -1;
		} else {
			return refuse(w, c, NULL, "not supported by vmm (it boots a Linux kernel directly, without firmware)");
		}
	}
	if (!kernel)
		return refuse(w, os, NULL, "no <kernel>: vmm boots a Linux kernel directly and has no firmware to boot a disk");
	if (check_attrs(w, kernel, NO_ATTRS) || text(w, kernel, buf, sizeof(buf), &s))
		return -1;
	if (!*s)
		return refuse(w, kernel, NULL, "empty file name");
	if (add_pair(w, "--kernel", s))
		return -1;
	if (initrd) {
		if (check_attrs(w, initrd, NO_ATTRS) || text(w, initrd, buf, sizeof(buf), &s))
			return -1;
		if (*s && add_pair(w, "--initrd", s))
			return -1;
	}
	/* No <cmdline> is an empty command line (what libvirt passes), not
	 * vmm's default one. */
	buf[0] = '\0';
	s = buf;
	if (cmdline && (check_attrs(w, cmdline, NO_ATTRS) || text(w, cmdline, buf, sizeof(buf), &s)))
		return -1;
	return add_pair(w, "--cmdline", s);
}

static int map_features(struct walk *w, const xmlNode *f)
{
	if (check_attrs(w, f, NO_ATTRS))
		return -1;
	for (const xmlNode *c = f->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE)
			continue;
		/* vmm always has ACPI and APICs, and pae is part of x86-64. */
		if (!is(c, "acpi") && !is(c, "apic") && !is(c, "pae"))
			return refuse(w, c, NULL, "not supported by vmm");
		if (check_attrs(w, c, NO_ATTRS) || check_empty(w, c))
			return -1;
	}
	return 0;
}

/* on_poweroff / on_reboot / on_crash: vmm ends when the guest powers off
 * (status 0), asks for a reboot (3) or crashes (4, 5): libvirt's
 * "destroy".  Absent elements mean libvirt's defaults (destroy, restart,
 * destroy), so that a file and its `virsh dumpxml` say the same. */
static int check_lifecycle(struct walk *w, const xmlNode *n, const char *event)
{
	char buf[64];
	const char *s;

	if (!n)
		return 0;
	if (check_attrs(w, n, NO_ATTRS) || text(w, n, buf, sizeof(buf), &s))
		return -1;
	s = trim(buf);
	if (strcmp(s, "destroy"))
		return refuse(w, n, NULL, "'%s': vmm ends when the guest %s; write 'destroy'", s, event);
	return 0;
}

static int map_disk(struct walk *w, const xmlNode *disk)
{
	const char *type = attr(disk, "type"), *device = attr(disk, "device");
	const xmlNode *source = NULL, *driver = NULL;
	bool read_only = false;
	char arg[4200];
	const char *path = NULL;

	if (check_attrs(w, disk, ATTRS("type", "device")))
		return -1;
	if (!type || (strcmp(type, "file") && strcmp(type, "block")))
		return refuse(w, disk, "type", "vmm has file and block disks only");
	if (device && strcmp(device, "disk"))
		return refuse(w, disk, "device", "vmm has virtio-blk disks only");
	for (const xmlNode *c = disk->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || device_bookkeeping(c))
			continue;
		if (is(c, "driver")) {
			const char *name = attr(c, "name"), *fmt = attr(c, "type");

			if (check_attrs(w, c, ATTRS("name", "type", "iommu")) || check_empty(w, c))
				return -1;
			if (name && strcmp(name, "qemu"))
				return refuse(w, c, "name", "not supported by vmm");
			if (fmt && strcmp(fmt, "raw"))
				return refuse(w, c, "type", "vmm reads raw images only");
			driver = c;
		} else if (is(c, "source")) {
			source = c;
			if (check_attrs(w, c, strcmp(type, "file") ? ATTRS("dev") : ATTRS("file")) ||
			    check_empty(w, c))
				return -1;
			path = attr(c, strcmp(type, "file") ? "dev" : "file");
		} else if (is(c, "target")) {
			const char *dev = attr(c, "dev"), *bus = attr(c, "bus");

			if (check_attrs(w, c, ATTRS("dev", "bus")) || check_empty(w, c))
				return -1;
			/* libvirt's default bus for a "vd*" name is virtio */
			if (bus ? strcmp(bus, "virtio") : !(dev && !strncmp(dev, "vd", 2)))
				return refuse(w, c, bus ? "bus" : "dev", "vmm has virtio disks only");
		} else if (is(c, "readonly")) {
			if (check_attrs(w, c, NO_ATTRS) || check_empty(w, c))
				return -1;
			read_only = true;
		} else if (is(c, "boot")) {
			/* a firmware boot order: vmm has no firmware */
			if (check_attrs(w, c, ATTRS("order")) || check_empty(w, c))
				return -1;
		} else {
			return refuse(w, c, NULL, "not supported by vmm");
		}
	}
	if (!source || !path || !*path)
		return refuse(w, disk, NULL, "no <source %s=...>: vmm has no empty drives",
			      strcmp(type, "file") ? "dev" : "file");
	if (device_iommu(w, disk, driver))
		return -1;
	/* --disk splits PATH[,ro] at the last comma: keep a comma in the
	 * path from looking like an option. */
	snprintf(arg, sizeof(arg), "%s%s", path,
		 read_only ? ",ro" : strchr(path, ',') ? ",rw" : "");
	return add_pair(w, "--disk", arg);
}

static int map_rng(struct walk *w, const xmlNode *rng)
{
	const char *model = attr(rng, "model");
	const xmlNode *driver = NULL;

	if (check_attrs(w, rng, ATTRS("model")))
		return -1;
	if (!model || strcmp(model, "virtio"))
		return refuse(w, rng, "model", "vmm has a virtio (1.0) rng only");
	if (w->rng)
		return refuse(w, rng, NULL, "vmm has one rng");
	w->rng = true;
	for (const xmlNode *c = rng->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || device_bookkeeping(c))
			continue;
		if (is(c, "backend")) {
			const char *bm = attr(c, "model");
			char buf[256];
			const char *s;

			/* vmm's rng reads the host's getrandom(): what
			 * /dev/urandom and /dev/random give. */
			if (!bm || (strcmp(bm, "random") && strcmp(bm, "builtin")))
				return refuse(w, c, "model", "vmm's rng has the host's random source only");
			if (check_attrs(w, c, ATTRS("model")) || text(w, c, buf, sizeof(buf), &s))
				return -1;
			s = trim(buf);
			if (*s && strcmp(s, "/dev/urandom") && strcmp(s, "/dev/random"))
				return refuse(w, c, NULL, "'%s': vmm's rng reads the host's getrandom() only", s);
		} else if (is(c, "driver")) {
			if (check_attrs(w, c, ATTRS("iommu")) || check_empty(w, c))
				return -1;
			driver = c;
		} else {
			return refuse(w, c, NULL, "not supported by vmm");
		}
	}
	return device_iommu(w, rng, driver);
}

/* A --net value is split at commas and '=': a name or address with one
 * would read as another key. */
static int net_word(struct walk *w, const xmlNode *n, const char *name, const char *v)
{
	if (v[strcspn(v, ",=")])
		return refuse(w, n, name, "a ',' or '=' cannot go into vmm's --net");
	return 0;
}

/* <interface type='ethernet'>: vmm's virtio-net on an existing TAP.
 * Numbers and the MAC are written as libvirt writes them back (decimal,
 * lower case), so that the file and its `virsh dumpxml` map the same. */
static int map_interface(struct walk *w, const xmlNode *iface)
{
	const char *type = attr(iface, "type"), *tap = NULL, *mac = NULL;
	const xmlNode *driver = NULL, *model = NULL;
	unsigned long queues = 0, mtu = 0;     /* 0: not given, as libvirt reads it */
	char arg[128], mac_lc[18] = "";
	size_t pos;

	if (check_attrs(w, iface, ATTRS("type")))
		return -1;
	if (!type || strcmp(type, "ethernet"))
		return refuse(w, iface, "type",
			      "vmm opens an existing TAP only (type='ethernet' with <target dev=...>)");
	for (const xmlNode *c = iface->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || device_bookkeeping(c))
			continue;
		if (is(c, "target")) {
			const char *managed = attr(c, "managed");

			if (check_attrs(w, c, ATTRS("dev", "managed")) || check_empty(w, c))
				return -1;
			if (managed && strcmp(managed, "no"))
				return refuse(w, c, "managed",
					      "vmm opens an existing TAP and creates none (write managed='no')");
			tap = attr(c, "dev");
			if (tap && net_word(w, c, "dev", tap))
				return -1;
			/* Linux's IFNAMSIZ; it also bounds `arg` below */
			if (tap && strlen(tap) > 15)
				return refuse(w, c, "dev", "longer than an interface name (15 bytes)");
			/* libvirt drops these names (its own TAPs') and makes up
			 * another unless managed='no' */
			if (tap && !managed && (!strncmp(tap, "vnet", 4) || !strncmp(tap, "macvtap", 7) ||
						!strncmp(tap, "macvlan", 7)))
				return refuse(w, c, "dev", "libvirt replaces a vnet, macvtap or macvlan name "
					      "with its own: write managed='no'");
		} else if (is(c, "model")) {
			const char *m = attr(c, "type");

			if (check_attrs(w, c, ATTRS("type")) || check_empty(w, c))
				return -1;
			if (!m || strcmp(m, "virtio"))
				return refuse(w, c, "type", "vmm's network device is virtio-net (type='virtio')");
			model = c;
		} else if (is(c, "mac")) {
			if (check_attrs(w, c, ATTRS("address")) || check_empty(w, c))
				return -1;
			mac = attr(c, "address");
			if (!mac || !*mac)
				return refuse(w, c, NULL, "no address=");
			if (net_word(w, c, "address", mac))
				return -1;
			if (strlen(mac) >= sizeof(mac_lc))
				return refuse(w, c, "address", "not a MAC address");
			for (pos = 0; mac[pos]; pos++)
				mac_lc[pos] = (char)(mac[pos] >= 'A' && mac[pos] <= 'F' ?
						     mac[pos] - 'A' + 'a' : mac[pos]);
			mac_lc[pos] = '\0';
		} else if (is(c, "driver")) {
			const char *name = attr(c, "name"), *q = attr(c, "queues");

			/* name='qemu' is a device in the VMM's process, as vmm's is */
			if (check_attrs(w, c, ATTRS("name", "queues", "iommu")) || check_empty(w, c))
				return -1;
			if (name && strcmp(name, "qemu"))
				return refuse(w, c, "name", "vmm's virtio-net runs in vmm (name='qemu')");
			if (q && parse_count(w, c, q, &queues))
				return -1;
			driver = c;
		} else if (is(c, "mtu")) {
			const char *size = attr(c, "size");

			if (check_attrs(w, c, ATTRS("size")) || check_empty(w, c))
				return -1;
			if (!size)
				return refuse(w, c, NULL, "no size=");
			if (parse_count(w, c, size, &mtu))
				return -1;
		} else if (is(c, "link")) {
			const char *state = attr(c, "state");

			if (check_attrs(w, c, ATTRS("state")) || check_empty(w, c))
				return -1;
			if (state && strcmp(state, "up"))
				return refuse(w, c, "state", "vmm's network link is always up");
		} else if (is(c, "boot")) {
			/* a firmware (PXE) boot order: vmm has no firmware */
			if (check_attrs(w, c, ATTRS("order")) || check_empty(w, c))
				return -1;
		} else {
			return refuse(w, c, NULL, "not supported by vmm");
		}
	}
	if (!tap || !*tap)
		return refuse(w, iface, NULL, "no <target dev=...>: vmm opens an existing TAP by its name");
	if (!model)
		return refuse(w, iface, NULL, "no <model type='virtio'/>: vmm's network device is "
			      "virtio-net, libvirt's default model is not");
	if (device_iommu(w, iface, driver))
		return -1;
	pos = (size_t)snprintf(arg, sizeof(arg), "tap=%s", tap);
	if (*mac_lc)
		pos += (size_t)snprintf(arg + pos, sizeof(arg) - pos, ",mac=%s", mac_lc);
	if (queues)
		pos += (size_t)snprintf(arg + pos, sizeof(arg) - pos, ",queues=%lu", queues);
	if (mtu)
		snprintf(arg + pos, sizeof(arg) - pos, ",mtu=%lu", mtu);
	if (add_arg(&w->nets, "--net") || add_arg(&w->nets, arg))
		return nomem(w);
	return 0;
}

/* <serial> or <console>: COM1, on stdio or written to a file. */
static int map_serial(struct walk *w, const xmlNode *n, bool console)
{
	struct domain_serial s = { .node = n, .type = attr(n, "type") };

	if (check_attrs(w, n, ATTRS("type")))
		return -1;
	if (!s.type || (strcmp(s.type, "stdio") && strcmp(s.type, "file")))
		return refuse(w, n, "type", "vmm's console is stdio or a file (no pty, sockets or others)");
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (c->type != XML_ELEMENT_NODE || device_bookkeeping(c))
			continue;
		if (is(c, "source")) {
			const char *append = attr(c, "append");

			if (check_attrs(w, c, ATTRS("path", "append")) || check_empty(w, c))
				return -1;
			if (append && strcmp(append, "off"))
				return refuse(w, c, "append", "vmm truncates its console file");
			s.path = attr(c, "path");
		} else if (is(c, "target")) {
			const char *type = attr(c, "type"), *port = attr(c, "port");

			if (check_attrs(w, c, ATTRS("type", "port")))
				return -1;
			if (type && strcmp(type, console ? "serial" : "isa-serial"))
				return refuse(w, c, "type", "vmm's console is its 16550A UART (COM1) only");
			if (port && strcmp(port, "0"))
				return refuse(w, c, "port", "vmm has one serial port (COM1, port 0)");
			for (const xmlNode *m = c->children; m; m = m->next) {
				const char *name;

				if (m->type != XML_ELEMENT_NODE)
					continue;
				name = attr(m, "name");
				if (!is(m, "model") || check_attrs(w, m, ATTRS("name")) || check_empty(w, m))
					return is(m, "model") ? -1 : refuse(w, m, NULL, "not supported by vmm");
				if (!name || strcmp(name, "isa-serial"))
					return refuse(w, m, "name", "vmm's serial port is an isa-serial 16550A");
			}
		} else {
			return refuse(w, c, NULL, "not supported by vmm");
		}
	}
	if (!strcmp(s.type, "file") && (!s.path || !*s.path))
		return refuse(w, n, NULL, "type='file' needs <source path=...>");
	if (!w->serial.node) {
		w->serial = s;
		return 0;
	}
	/* libvirt writes the console of serial port 0 twice: as <serial> and
	 * as <console>.  That is one port; two different ones are not. */
	if (!console || strcmp(w->serial.type, s.type) ||
	    strcmp(w->serial.path ? w->serial.path : "", s.path ? s.path : ""))
		return refuse(w, n, NULL, "vmm has one serial port (COM1), already given at line %ld",
			      xmlGetLineNo(w->serial.node));
	return 0;
}

static int map_iommu(struct walk *w, const xmlNode *n)
{
	const char *model = attr(n, "model");

	if (check_attrs(w, n, ATTRS("model")))
		return -1;
	if (!model || strcmp(model, "virtio"))
		return refuse(w, n, "model", "vmm's IOMMU is a virtio-iommu (model='virtio')");
	if (w->iommu)
		return refuse(w, n, NULL, "vmm has one IOMMU");
	for (const xmlNode *c = n->children; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && !device_bookkeeping(c))
			return refuse(w, c, NULL, "not supported by vmm");
	w->iommu = true;
	return 0;
}

static int map_devices(struct walk *w, const xmlNode *devs)
{
	if (check_attrs(w, devs, NO_ATTRS))
		return -1;
	for (const xmlNode *c = devs->children; c; c = c->next) {
		int r;

		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is(c, "emulator")) {
			/* QEMU's path: vmm is the emulator */
			continue;
		} else if (is(c, "disk")) {
			r = map_disk(w, c);
		} else if (is(c, "rng")) {
			r = map_rng(w, c);
		} else if (is(c, "serial")) {
			r = map_serial(w, c, false);
		} else if (is(c, "console")) {
			r = map_serial(w, c, true);
		} else if (is(c, "iommu")) {
			r = map_iommu(w, c);
		} else if (is(c, "memballoon")) {
			const char *model = attr(c, "model");

			r = check_attrs(w, c, ATTRS("model"));
			if (!r && (!model || strcmp(model, "none")))
				r = refuse(w, c, "model", "vmm has no balloon (write model='none')");
		} else if (is(c, "controller")) {
			const char *type = attr(c, "type"), *model = attr(c, "model");

			/* vmm's PCI root is a PCIe root complex (ECAM): q35's */
			r = check_attrs(w, c, ATTRS("type", "index", "model"));
			if (!r && (!type || strcmp(type, "pci") || !model || strcmp(model, "pcie-root")))
				r = refuse(w, c, NULL, "vmm has its PCIe root only (type='pci' model='pcie-root')");
			if (!r)
				r = check_empty(w, c);
		} else if (is(c, "interface")) {
			r = map_interface(w, c);
		} else {
			r = refuse(w, c, NULL, "not supported by vmm");
		}
		if (r)
			return r;
	}
	return 0;
}

static const xmlNode *only_one(struct walk *w, const xmlNode *seen, const xmlNode *c, int *r)
{
	if (seen)
		*r = refuse(w, c, NULL, "given twice");
	return c;
}

int domain_args_from_doc(xmlDoc *doc, struct domain_args *out, char *err, size_t errlen)
{
	struct walk w = { .doc = doc, .out = out, .err = err, .errlen = errlen };
	const xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
	const xmlNode *name = NULL, *uuid = NULL, *memory = NULL, *current = NULL, *vcpu = NULL;
	const xmlNode *os = NULL, *devices = NULL, *on_poweroff = NULL, *on_reboot = NULL, *on_crash = NULL;
	const char *type, *s;
	char buf[512], uuid_buf[37];
	uint64_t mem = 0, cur;
	unsigned long cpus, v;
	int r = 0;

	if (!root || !is(root, "domain"))
		return refuse(&w, root, NULL, "not a libvirt domain (the root element must be <domain>)");
	type = attr(root, "type");
	/* id= is in a running domain's XML; it names, nothing more */
	if (check_attrs(&w, root, ATTRS("type", "id")))
		return -1;
	if (!type || strcmp(type, "kvm"))
		return refuse(&w, root, "type", "vmm runs KVM domains only (type='kvm')");

	for (const xmlNode *c = root->children; c && !r; c = c->next) {
		if (c->type == XML_TEXT_NODE && !blank((const char *)c->content))
			r = refuse(&w, root, NULL, "unexpected text '%s'", (const char *)c->content);
		if (c->type != XML_ELEMENT_NODE)
			continue;
		if (is(c, "name"))
			name = only_one(&w, name, c, &r);
		else if (is(c, "uuid"))
			uuid = only_one(&w, uuid, c, &r);
		else if (is(c, "memory"))
			memory = only_one(&w, memory, c, &r);
		else if (is(c, "currentMemory"))
			current = only_one(&w, current, c, &r);
		else if (is(c, "vcpu"))
			vcpu = only_one(&w, vcpu, c, &r);
		else if (is(c, "os"))
			os = only_one(&w, os, c, &r);
		else if (is(c, "devices"))
			devices = only_one(&w, devices, c, &r);
		else if (is(c, "on_poweroff"))
			on_poweroff = only_one(&w, on_poweroff, c, &r);
		else if (is(c, "on_reboot"))
			on_reboot = only_one(&w, on_reboot, c, &r);
		else if (is(c, "on_crash"))
			on_crash = only_one(&w, on_crash, c, &r);
		else if (is(c, "features"))
			r = map_features(&w, c);
		else if (is(c, "clock")) {
			/* vmm's RTC-less guest keeps UTC from kvmclock */
			const char *offset = attr(c, "offset");

			r = check_attrs(&w, c, ATTRS("offset"));
			if (!r && offset && strcmp(offset, "utc"))
				r = refuse(&w, c, "offset", "vmm's guest clock is UTC");
			if (!r)
				r = check_empty(&w, c);
		} else if (is(c, "cpu")) {
			/* vmm gives the guest the host's CPUID, filtered by KVM */
			const char *mode = attr(c, "mode");

			if (!mode || strcmp(mode, "host-passthrough"))
				r = refuse(&w, c, "mode", "vmm passes the host's CPU through (mode='host-passthrough')");
			if (!r)
				r = check_attrs(&w, c, ATTRS("mode", "check", "migratable"));
			if (!r)
				r = check_empty(&w, c);
		} else if (!is(c, "title") && !is(c, "description") && !is(c, "metadata"))
			r = refuse(&w, c, NULL, "not supported by vmm");
	}
	if (r)
		return -1;

	if (name) {
		if (check_attrs(&w, name, NO_ATTRS) || text(&w, name, buf, sizeof(buf), &s))
			return -1;
		if (!*trim(buf))
			return refuse(&w, name, NULL, "empty name");
		if (add_pair(&w, "--name", trim(buf)))
			return -1;
	}
	if (uuid) {
		if (check_attrs(&w, uuid, NO_ATTRS) || text(&w, uuid, buf, sizeof(buf), &s) ||
		    uuid_canonical(&w, uuid, buf, uuid_buf) || add_pair(&w, "--uuid", uuid_buf))
			return -1;
	}
	if (!os)
		return refuse(&w, root, NULL, "no <os>: vmm needs <os><kernel>");
	if (map_os(&w, os))
		return -1;

	if (!memory)
		return refuse(&w, root, NULL, "no <memory>");
	if (memory_bytes(&w, memory, &mem))
		return -1;
	if (current) {
		if (memory_bytes(&w, current, &cur))
			return -1;
		if (cur != mem)
			return refuse(&w, current, NULL, "%" PRIu64 " bytes, not <memory>'s %" PRIu64
				      ": vmm has no balloon", cur, mem);
	}
	if (mem % (1ull << 20))
		return refuse(&w, memory, NULL, "%" PRIu64 " bytes: vmm needs a whole number of MiB", mem);
	snprintf(buf, sizeof(buf), "%" PRIu64 "M", mem >> 20);
	if (add_pair(&w, "--mem", buf))
		return -1;

	cpus = 1;   /* libvirt's default */
	if (vcpu) {
		const char *placement = attr(vcpu, "placement"), *curr = attr(vcpu, "current");

		if (check_attrs(&w, vcpu, ATTRS("placement", "current")) ||
		    text(&w, vcpu, buf, sizeof(buf), &s) || parse_count(&w, vcpu, buf, &cpus))
			return -1;
		if (placement && strcmp(placement, "static"))
			return refuse(&w, vcpu, "placement", "vmm does not place vCPUs");
		if (curr) {
			if (parse_count(&w, vcpu, curr, &v))
				return -1;
			if (v != cpus)
				return refuse(&w, vcpu, "current", "vmm has no vCPU hotplug");
		}
	}
	snprintf(buf, sizeof(buf), "%lu", cpus);
	if (add_pair(&w, "--cpus", buf))
		return -1;

	if (check_lifecycle(&w, on_poweroff, "powers off") ||
	    check_lifecycle(&w, on_reboot, "reboots (exit status 3)") ||
	    check_lifecycle(&w, on_crash, "crashes (exit status 4 or 5)"))
		return -1;
	if (!on_reboot)
		return refuse(&w, root, NULL, "no <on_reboot>: libvirt's default is 'restart', and vmm "
			      "ends when the guest reboots: write <on_reboot>destroy</on_reboot>");

	r = devices ? map_devices(&w, devices) : 0;
	for (unsigned int i = 0; !r && i < w.nets.argc; i++)
		if (add_arg(out, w.nets.argv[i]))
			r = nomem(&w);
	domain_args_free(&w.nets);
	if (r)
		return -1;
	if (w.serial.node && !strcmp(w.serial.type, "file") && add_pair(&w, "--console", w.serial.path))
		return -1;
	/* vmm puts every endpoint behind its IOMMU or none: each device's
	 * <driver iommu> must say the same as <iommu>. */
	if (w.iommu && w.first_iommu_off)
		return refuse(&w, w.first_iommu_off, is(w.first_iommu_off, "driver") ? "iommu" : NULL,
			      "vmm puts every device behind its <iommu>: give it <driver iommu='on'/>");
	if (!w.iommu && w.first_iommu_on)
		return refuse(&w, w.first_iommu_on, "iommu",
			      "no <iommu model='virtio'/>: vmm offers VIRTIO_F_ACCESS_PLATFORM only behind its IOMMU");
	if (!w.iommu && add_pair(&w, "--no-iommu", NULL))
		return -1;
	if (!w.rng && add_pair(&w, "--no-rng", NULL))
		return -1;
	return 0;
}

/* Larger than any domain file; a guard against reading a disk image. */
#define DOMAIN_FILE_MAX (4u << 20)

/* The whole file into *buf (malloc'd); errors are one line naming it.  Read
 * here rather than by libxml2, whose I/O errors go to stderr by themselves. */
static int slurp(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	FILE *f = fopen(path, "re");
	char *p;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "cannot open domain file '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > DOMAIN_FILE_MAX) {
		snprintf(err, errlen, "domain file '%s' is not a regular file of at most %u MiB",
			 path, DOMAIN_FILE_MAX >> 20);
		fclose(f);
		return -1;
	}
	p = malloc((size_t)st.st_size + 1);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		fclose(f);
		return -1;
	}
	n = fread(p, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read domain file '%s': %s", path, strerror(errno));
		free(p);
		fclose(f);
		return -1;
	}
	fclose(f);
	p[n] = '\0';
	*buf = p;
	*len = n;
	return 0;
}

int domain_args_from_file(const char *path, struct domain_args *out, char *err, size_t errlen)
{
	xmlParserCtxt *ctxt;
	xmlDoc *doc;
	char *text_buf;
	size_t len;
	int r;

	if (slurp(path, &text_buf, &len, err, errlen))
		return -1;
	ctxt = xmlNewParserCtxt();
	if (!ctxt || len > INT_MAX) {
		snprintf(err, errlen, "out of memory");
		xmlFreeParserCtxt(ctxt);
		free(text_buf);
		return -1;
	}
	/* No network, no DTD loading, no entity substitution: a domain file
	 * cannot make vmm read anything but itself.  The path is the
	 * document's URL, for the error lines. */
	doc = xmlCtxtReadMemory(ctxt, text_buf, (int)len, path, NULL,
				XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING |
				XML_PARSE_NOCDATA);
	free(text_buf);
	if (!doc) {
		const xmlError *e = xmlCtxtGetLastError(ctxt);
		char msg[256];
		size_t n;

		snprintf(msg, sizeof(msg), "%s", e && e->message ? e->message : "cannot parse it");
		n = strlen(msg);
		while (n && msg[n - 1] == '\n')
			msg[--n] = '\0';
		snprintf(err, errlen, "%s:%d: not well-formed XML: %s", path, e ? e->line : 0, msg);
		xmlFreeParserCtxt(ctxt);
		return -1;
	}
	r = domain_args_from_doc(doc, out, err, errlen);
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
	return r;
}

/* Word w, quoted for a POSIX shell when it has anything but safe bytes. */
static void shell_word(FILE *f, const char *w)
{
	if (*w && !w[strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./:=,+@%-")]) {
		fputs(w, f);
		return;
	}
	fputc('\'', f);
	for (; *w; w++) {
		if (*w == '\'')
			fputs("'\\''", f);
		else
			fputc(*w, f);
	}
	fputc('\'', f);
}

void domain_print_command(FILE *f, const struct domain_args *a)
{
	fputs("vmm run", f);
	for (unsigned int i = 0; i < a->argc; i++) {
		fputc(' ', f);
		shell_word(f, a->argv[i]);
	}
	fputc('\n', f);
}

int domain_cli_parse(int argc, char **argv, struct vmm_config *cfg,
		     uint64_t host_mem_bytes, struct domain_args *opts,
		     struct domain_args *keep, char *err, size_t errlen)
{
	const char *file = cfg->domain;
	char why[256];

	memset(opts, 0, sizeof(*opts));
	memset(keep, 0, sizeof(*keep));
	if (domain_args_from_file(file, opts, err, errlen))
		return -1;
	/* argv[0], "run", the domain's options, then the command line's
	 * own ones (cli_parse refused those that describe the VM).  Copies:
	 * cli_parse may cut an option's value in place. */
	if (add_arg(keep, argv[0]) || add_arg(keep, "run"))
		goto nomem;
	for (unsigned int i = 0; i < opts->argc; i++)
		if (add_arg(keep, opts->argv[i]))
			goto nomem;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--domain")) {
			i++;
			continue;
		}
		if (!strncmp(argv[i], "--domain=", 9))
			continue;
		if (add_arg(keep, argv[i]))
			goto nomem;
	}
	if (cli_parse((int)keep->argc, keep->argv, cfg, host_mem_bytes, why, sizeof(why))) {
		snprintf(err, errlen, "%s: as 'vmm run' options: %s", file, why);
		return -1;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}
