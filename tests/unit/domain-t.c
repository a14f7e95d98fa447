/* SPDX-License-Identifier: MIT */
/*
 * libvirt domain XML to vmm's configuration (vmm/domain.c), without KVM:
 * a document to options to struct vmm_config, the document left as it was,
 * every example in docs/domains mapped and every document of
 * tests/unit/domains refused with one line -- under the sanitizers too
 * (tests/unit/san/domain-t).  The exact lines: tests/unit/domain-xml.sh.
 */
#include "vmm/cli.h"
#include "vmm/domain.h"
#include "tests/tap/basic.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#define HOST_MEM (8ull << 30)

static const char guest_domain[] =
	"<domain type='kvm'>\n"
	"  <name>t</name>\n"
	"  <uuid>4A1B6F2E8C3D4E5F9A0B1C2D3E4F5A6B</uuid>\n"
	"  <memory unit='GiB'>1</memory>\n"
	"  <vcpu>3</vcpu>\n"
	"  <os><type arch='x86_64'>hvm</type><kernel>/k</kernel><initrd>/i</initrd>"
	"<cmdline>console=ttyS0 a='b c'</cmdline></os>\n"
	"  <on_reboot>destroy</on_reboot>\n"
	"  <devices>\n"
	"    <disk type='block' device='disk'><driver name='qemu' type='raw' iommu='on'/>"
	"<source dev='/dev/x,y'/><target dev='vda' bus='virtio'/><readonly/></disk>\n"
	"    <serial type='file'><source path='/tmp/console'/></serial>\n"
	"    <iommu model='virtio'/>\n"
	"  </devices>\n"
	"</domain>\n";

static xmlDoc *read_doc(const char *text)
{
	return xmlReadMemory(text, (int)strlen(text), "t.xml", NULL, XML_PARSE_NONET);
}

static void test_document(void)
{
	static const char *const want[] = {
		"--name", "t", "--uuid", "4a1b6f2e-8c3d-4e5f-9a0b-1c2d3e4f5a6b",
		"--kernel", "/k", "--initrd", "/i", "--cmdline", "console=ttyS0 a='b c'",
		"--mem", "1024M", "--cpus", "3", "--disk", "/dev/x,y,ro",
		"--console", "/tmp/console", "--no-rng",
	};
	struct domain_args a = { 0 };
	xmlDoc *doc = read_doc(guest_domain);
	xmlChar *before = NULL, *after = NULL;
	int nbefore = 0, nafter = 0;
	char err[256] = "";
	bool same = true;

	if (!doc)
		bail("cannot parse the test document");
	xmlDocDumpMemory(doc, &before, &nbefore);
	is_int(0, domain_args_from_doc(doc, &a, err, sizeof(err)), "a domain maps (%s)", err);
	is_int(sizeof(want) / sizeof(want[0]), a.argc, "to %zu options", sizeof(want) / sizeof(want[0]));
	for (unsigned int i = 0; i < a.argc && i < sizeof(want) / sizeof(want[0]); i++)
		same &= !strcmp(want[i], a.argv[i]);
	ok(same, "name, uuid (as libvirt writes it), os, memory, vcpu, disk, serial, iommu, no rng");
	ok(a.argv && !a.argv[a.argc], "the option vector ends with NULL");
	xmlDocDumpMemory(doc, &after, &nafter);
	ok(nbefore == nafter && !memcmp(before, after, (size_t)nbefore),
	   "the mapping leaves the document as it was");
	xmlFree(before);
	xmlFree(after);
	domain_args_free(&a);
	xmlFreeDoc(doc);
}

/* A minimal domain with `devices` as its <devices>, mapped into *a. */
static int map_devices_doc(const char *devices, struct domain_args *a, char *err, size_t errlen)
{
	char text[4096];
	xmlDoc *doc;
	int r;

	snprintf(text, sizeof(text),
		 "<domain type='kvm'><memory unit='MiB'>512</memory>"
		 "<os><kernel>/k</kernel></os><on_reboot>destroy</on_reboot>\n"
		 "<devices>%s</devices></domain>\n", devices);
	doc = read_doc(text);
	if (!doc)
		bail("cannot parse the interface document");
	memset(a, 0, sizeof(*a));
	r = domain_args_from_doc(doc, a, err, errlen);
	xmlFreeDoc(doc);
	return r;
}

/* Options from index `from` on, space-separated. */
static void join(const struct domain_args *a, unsigned int from, char *buf, size_t len)
{
	size_t pos = 0;

	buf[0] = '\0';
	for (unsigned int i = from; i < a->argc && pos < len; i++)
		pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", i > from ? " " : "", a->argv[i]);
}

/*
 * <interface type='ethernet'>: --net after every --disk whatever the
 * document order (libvirt's dumpxml writes disks first), MAC and numbers as
 * libvirt writes them back; what a --net value cannot carry, refused.
 */
static void test_interface(void)
{
	static const struct { const char *devices, *want; } cases[] = {
		{ "<interface type='ethernet'><mac address='52:54:00:AB:CD:0E'/>"
		  "<target dev='tapb'/><model type='virtio'/><driver name='qemu' queues='02'/>"
		  "<link state='up'/><boot order='1'/><alias name='ua-n'/></interface>"
		  "<disk type='file'><source file='/d'/><target dev='vda'/></disk>"
		  "<interface type='ethernet'><target dev='tapa' managed='no'/>"
		  "<mtu size=' 9000 '/><model type='virtio'/></interface>",
		  "--disk /d --net tap=tapb,mac=52:54:00:ab:cd:0e,queues=2 --net tap=tapa,mtu=9000 "
		  "--no-iommu --no-rng" },
		{ "<interface type='ethernet'><target dev='vnet0' managed='no'/><model type='virtio'/>"
		  "<driver iommu='on'/></interface><iommu model='virtio'/>",
		  "--net tap=vnet0 --no-rng" },
		{ "<interface type='ethernet'><target dev='t=1'/><model type='virtio'/></interface>",
		  "<devices><interface><target dev='t=1'>: a ',' or '=' cannot go into vmm's --net" },
		{ "<interface type='ethernet'><target dev='t'/><mac address='52:54:00:00:00:01,mtu=68'/>"
		  "<model type='virtio'/></interface>",
		  "<devices><interface><mac address='52:54:00:00:00:01,mtu=68'>: a ',' or '=' cannot go into vmm's --net" },
		{ "<interface type='ethernet'><target dev='a-name-of-16-chr'/><model type='virtio'/>"
		  "</interface>",
		  "<devices><interface><target dev='a-name-of-16-chr'>: longer than an interface name (15 bytes)" },
		{ "<interface type='ethernet'><target dev='t'/><mac/><model type='virtio'/></interface>",
		  "<devices><interface><mac>: no address=" },
		{ "<interface type='ethernet'><target dev='t'/><model type='virtio'/><mtu/></interface>",
		  "<devices><interface><mtu>: no size=" },
		{ "<interface type='ethernet'><target dev='t'/><model type='virtio'/>"
		  "<driver queues='two'/></interface>",
		  "<devices><interface><driver>: 'two' is not a number" },
		{ "<interface type='ethernet'><target dev='t'/><model type='virtio'/>"
		  "<driver><host csum='off'/></driver></interface>",
		  "<devices><interface><driver><host>: not supported by vmm" },
		{ "<interface type='ethernet'><target dev='t'/><model type='virtio'/><ip address='10.0.0.1'/>"
		  "</interface>",
		  "<devices><interface><ip>: not supported by vmm" },
		{ "<interface type='direct'><source dev='eth0' mode='bridge'/><model type='virtio'/>"
		  "</interface>",
		  "<devices><interface type='direct'>: vmm opens an existing TAP only (type='ethernet' with <target dev=...>)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct domain_args a;
		char err[512] = "", got[1024];
		int r = map_devices_doc(cases[i].devices, &a, err, sizeof(err));

		/* --kernel /k --cmdline '' --mem 512M --cpus 1: 8 words */
		if (cases[i].want[0] == '-') {
			join(&a, 8, got, sizeof(got));
			ok(r == 0 && !strcmp(got, cases[i].want), "interface %zu maps to '%s' (%s%s)",
			   i, cases[i].want, r ? err : "got ", r ? "" : got);
		} else {
			const char *msg = strstr(err, ": <");

			ok(r == -1 && msg && !strcmp(msg + 2, cases[i].want),
			   "interface %zu refused: %s (%s)", i, cases[i].want, err);
		}
		domain_args_free(&a);
	}
}

/* The example interface, through to struct vmm_config. */
static void test_interface_config(const char *srcdir)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
	char path[4096], err[512] = "", *argv[] = { "vmm", "run", "--domain", path, NULL };
	struct vmm_config cfg = { .command = CMD_RUN };
	struct domain_args opts, keep;

	snprintf(path, sizeof(path), "%s/docs/domains/interface.xml", srcdir);
	cfg.domain = path;
	is_int(0, domain_cli_parse(4, argv, &cfg, HOST_MEM, &opts, &keep, err, sizeof(err)),
	       "interface.xml: domain_cli_parse (%s)", err);
	is_int(1, cfg.nnets, "one network device");
	is_string("tap0", cfg.net[0].tap, "on TAP tap0");
	ok(cfg.net[0].has_mac && !memcmp(mac, cfg.net[0].mac, 6), "with <mac address>");
	is_int(2, cfg.net[0].queues, "two queue pairs from <driver queues='2'>");
	is_int(9000, cfg.net[0].mtu, "MTU 9000 from <mtu size>");
	ok(!cfg.no_iommu && cfg.ndisks == 1 && !cfg.no_rng, "and the default guest's disk, rng, IOMMU");
	domain_args_free(&opts);
	domain_args_free(&keep);
}

/* domain_cli_parse: the domain's options, then the command line's own. */
static void test_config(const char *srcdir)
{
	char path[4096], err[512] = "", *argv[] = {
		"vmm", "run", "--timeout", "9", "--domain", path, "--report", "r.json", NULL,
	};
	struct vmm_config cfg;
	struct domain_args opts, keep;

	snprintf(path, sizeof(path), "%s/docs/domains/default.xml", srcdir);
	if (cli_parse(8, argv, &cfg, HOST_MEM, err, sizeof(err)))
		bail("cli_parse: %s", err);
	is_string(path, cfg.domain, "cli_parse keeps --domain FILE");
	is_int(0, domain_cli_parse(8, argv, &cfg, HOST_MEM, &opts, &keep, err, sizeof(err)),
	       "domain_cli_parse (%s)", err);
	is_int(CMD_RUN, cfg.command, "the command is run");
	is_int(512ull << 20, cfg.mem_bytes, "memory from <memory unit='MiB'>512");
	is_int(2, cfg.cpus, "vCPUs from <vcpu>2");
	is_int(1, cfg.ndisks, "one disk");
	ok(cfg.disk[0].path && !strcmp(cfg.disk[0].path, "/var/lib/vmm/disk.img") &&
	   !cfg.disk[0].read_only, "the disk, read-write");
	ok(!cfg.no_iommu && !cfg.no_rng, "IOMMU and rng from <iommu> and <rng>");
	is_string("vmm-default", cfg.name, "name");
	is_string("4a1b6f2e-8c3d-4e5f-9a0b-1c2d3e4f5a6b", cfg.uuid, "uuid");
	is_int(9, cfg.timeout_s, "--timeout from the command line");
	is_string("r.json", cfg.report, "--report from the command line");
	ok(!cfg.domain, "no --domain left in the options parsed");
	domain_args_free(&opts);
	domain_args_free(&keep);
}

/* Each *.xml of dir: mapped (want_ok) or refused with one line. */
static void test_dir(const char *dir, bool want_ok)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort), seen = 0;

	if (n < 0)
		bail("cannot read %s", dir);
	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);
		struct domain_args opts, keep;
		struct vmm_config cfg = { .command = CMD_RUN };
		char path[4096], err[512] = "";
		char *argv[] = { "vmm", "run", "--domain", path, NULL };
		int r;

		if (len > 4 && !strcmp(name + len - 4, ".xml")) {
			snprintf(path, sizeof(path), "%s/%s", dir, name);
			cfg.domain = path;
			/* what `vmm run --domain` does: the mapping, then cli_parse */
			r = domain_cli_parse(4, argv, &cfg, HOST_MEM, &opts, &keep, err, sizeof(err));
			if (want_ok)
				ok(r == 0 && opts.argc > 0, "%s maps (%s)", name, err);
			else
				ok(r == -1 && err[0] && !strchr(err, '\n') && strstr(err, name),
				   "%s is refused with one line naming the file: %s", name, err);
			domain_args_free(&opts);
			domain_args_free(&keep);
			seen++;
		}
		free(names[i]);
	}
	free(names);
	ok(seen > 0, "%d documents in %s", seen, dir);
}

int main(void)
{
	const char *srcdir = getenv("top_srcdir");
	char dir[4096];

	if (!srcdir)
		srcdir = ".";
	plan_lazy();
	test_document();
	test_config(srcdir);
	test_interface();
	test_interface_config(srcdir);
	snprintf(dir, sizeof(dir), "%s/docs/domains", srcdir);
	test_dir(dir, true);
	snprintf(dir, sizeof(dir), "%s/tests/unit/domains/unsupported", srcdir);
	test_dir(dir, false);
	snprintf(dir, sizeof(dir), "%s/tests/unit/domains/invalid", srcdir);
	test_dir(dir, false);
	xmlCleanupParser();
	return 0;
}
