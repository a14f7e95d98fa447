/* SPDX-License-Identifier: MIT */
/* Command-line parsing: every accepted form and every bad input gets a
 * one-line error and no crash (the main program turns -1 into exit 1). */
#include "vmm/cli.h"
#include "tests/tap/basic.h"

#include <stdlib.h>
#include <string.h>

#define HOST_MEM (8ull << 30)

static int parse(struct vmm_config *cfg, char *err, size_t errlen, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	va_start(ap, errlen);
	argv[argc++] = (char *)"vmm";
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	return cli_parse(argc, argv, cfg, HOST_MEM, err, errlen);
}

struct bad_case {
	const char *args[12];
	const char *expect;   /* a substring of the error */
};

static const struct bad_case bad[] = {
	{ { NULL }, "no command" },
	{ { "frobnicate", NULL }, "unknown command" },
	{ { "run", "--bogus", NULL }, "unknown option" },
	{ { "run", "--kernel", NULL }, "needs a value" },
	{ { "run", "--mem", "abc", NULL }, "not a size" },
	{ { "run", "--mem", "0", NULL }, "at least" },
	{ { "run", "--mem", "1M", NULL }, "at least" },
	{ { "run", "--mem", "-512M", NULL }, "not a size" },
	{ { "run", "--mem", "512X", NULL }, "not a size" },
	{ { "run", "--mem", "100000000000000000000", NULL }, "not a size" },
	{ { "run", "--mem", "99999999999999T", NULL }, "not a size" },
	{ { "run", "--mem", "1048577K", NULL }, "whole number of MiB" },
	{ { "run", "--mem", "64G", NULL }, "more than this host" },
	{ { "run", "--cpus", "0", NULL }, "from 1 to" },
	{ { "run", "--cpus", "65", NULL }, "from 1 to" },
	{ { "run", "--cpus", "two", NULL }, "from 1 to" },
	{ { "run", "--cpus", "1x", NULL }, "from 1 to" },
	{ { "run", "--cpus", "", NULL }, "from 1 to" },
	{ { "run", "--timeout", "0", NULL }, "--timeout" },
	{ { "run", "--timeout", "-5", NULL }, "--timeout" },
	{ { "run", "--kernel", "", NULL }, "empty file name" },
	{ { "run", "--initrd", "", NULL }, "empty file name" },
	{ { "run", "--console", "", NULL }, "empty file name" },
	{ { "run", "extra", NULL }, "unexpected argument" },
	{ { "probe", "extra", NULL }, "no arguments" },
	{ { "probe", "--kernel", "x", NULL }, "no run options" },
	{ { "dump-acpi", NULL }, "exactly one directory" },
	{ { "run", "--disk", "", NULL }, "empty file name" },
	{ { "run", "--disk", ",ro", NULL }, "empty file name" },
	{ { "run", "--disk", "a.img,rx", NULL }, "unknown option 'rx'" },
	{ { "run", "--disk", "a", "--disk", "b", "--disk", "c", "--disk", "d", "--disk", "e", NULL }, "at most 4" },
	{ { "run", "--report", "", NULL }, "empty file name" },
	{ { "run", "--dmatest", "width=16", NULL }, "must be 64, 40, 32 or 24" },
	{ { "run", "--dmatest=width=", NULL }, "must be 64, 40, 32 or 24" },
	{ { "run", "--dmatest", "speed=1", NULL }, "unknown key 'speed=1'" },
	{ { "run", "--dmatest", "--dmatest", "--dmatest", "--dmatest", "--dmatest", NULL }, "at most 4" },
	{ { "run", "--bounce-pool", "1K", NULL }, "from 256K to 4G" },
	{ { "run", "--bounce-pool", "8G", NULL }, "from 256K to 4G" },
	{ { "run", "--bounce-pool", "lots", NULL }, "not a size" },
	{ { "run", "--dma-errors", "ignore", NULL }, "'report' or 'fatal'" },
	{ { "run", "--domain", "d.xml", "--mem", "1G", NULL }, "--mem cannot go with it" },
	{ { "run", "--disk", "a.img", "--domain", "d.xml", NULL }, "--disk cannot go with it" },
	{ { "run", "--domain", "d.xml", "--uuid", "4a1b6f2e-8c3d-4e5f-9a0b-1c2d3e4f5a6b", NULL },
	  "--uuid cannot go with it" },
	{ { "run", "--domain", "", NULL }, "--domain: empty file name" },
	{ { "run", "--uuid", "4a1b6f2e-8c3d-4e5f-9a0b-1c2d3e4f5a6", NULL }, "not a UUID" },
	{ { "run", "--uuid", "4a1b6f2e-8c3d-4e5f-9a0b-1c2d3e4f5a6bb", NULL }, "not a UUID" },
	{ { "run", "--uuid", "4a1b6f2e+8c3d-4e5f-9a0b-1c2d3e4f5a6b", NULL }, "not a UUID" },
	{ { "run", "--name", "", NULL }, "--name: empty name" },
	{ { "run", "--print", NULL }, "--print goes with" },
	{ { "domain", "d.xml", NULL }, "usage: vmm domain --print" },
	{ { "domain", "--print", NULL }, "usage: vmm domain --print" },
	{ { "domain", "--print", "--cpus", "2", "d.xml", NULL }, "usage: vmm domain --print" },
	{ { "run", "--no-iommu", "--dmatest", "untrusted", NULL }, "needs the virtio-iommu" },
	{ { "run", "--net", "", NULL }, "tap=NAME is missing" },
	{ { "run", "--net", "mac=02:00:00:00:00:01", NULL }, "tap=NAME is missing" },
	{ { "run", "--net", "tap=", NULL }, "not an interface name" },
	{ { "run", "--net", "tap=a/b", NULL }, "not an interface name" },
	{ { "run", "--net", "tap=sixteen-chars-xx", NULL }, "not an interface name" },
	{ { "run", "--net", "tap=t0,mac=02:00:00:00:00", NULL }, "not a unicast MAC" },
	{ { "run", "--net", "tap=t0,mac=02:00:00:00:00:0g", NULL }, "not a unicast MAC" },
	{ { "run", "--net", "tap=t0,mac=02-00-00-00-00-01", NULL }, "not a unicast MAC" },
	{ { "run", "--net", "tap=t0,mac=01:00:5e:00:00:01", NULL }, "not a unicast MAC" },
	{ { "run", "--net", "tap=t0,mac=00:00:00:00:00:00", NULL }, "not a unicast MAC" },
	{ { "run", "--net", "tap=t0,queues=0", NULL }, "from 1 to 8" },
	{ { "run", "--net", "tap=t0,queues=9", NULL }, "from 1 to 8" },
	{ { "run", "--net", "tap=t0,queues=", NULL }, "from 1 to 8" },
	{ { "run", "--net", "tap=t0,mtu=67", NULL }, "from 68 to 65521" },
	{ { "run", "--net", "tap=t0,mtu=65522", NULL }, "from 68 to 65521" },
	{ { "run", "--net", "tap=t0,speed=10", NULL }, "unknown key 'speed=10'" },
	{ { "run", "--net", "tap=t0,mac", NULL }, "unknown key 'mac'" },
	{ { "run", "--net", "tap=t0", "--net", "tap=t0", NULL }, "given twice" },
	{ { "run", "--guest-file", "foo", NULL }, "want SRC:DEST" },
	{ { "run", "--guest-file", ":/root/", NULL }, "want SRC:DEST" },
	{ { "run", "--guest-file", "foo:", NULL }, "want SRC:DEST" },
	{ { "run", "--guest-module", "", NULL }, "--guest-module: empty file name" },
	{ { "run", "--guest-run", "", NULL }, "--guest-run: empty command" },
	{ { "run", "--guest-run", "a", "--guest-run", "b", NULL }, "only one command" },
	{ { "run", "--guest-script", "", NULL }, "--guest-script: empty file name" },
	{ { "run", "--guest-script", "a", "--guest-script", "b", NULL }, "only one script" },
	{ { "run", "--guest-run", "a", "--guest-script", "b", NULL }, "one or the other" },
	{ { "run", "--kernel", "bz", "--guest-run", "a", NULL }, "cannot go with --kernel" },
	{ { "run", "--guest-module", "m.ko", "--initrd", "rd", NULL }, "cannot go with --initrd" },
	{ { "run", "--net", "tap=a", "--net", "tap=b", "--net", "tap=c", "--net", "tap=d", "--net", "tap=e",
	    NULL }, "at most 4" },
};

int main(void)
{
	struct vmm_config cfg;
	char err[256];
	uint64_t sz;
	size_t nbad = sizeof(bad) / sizeof(bad[0]);

	plan(71 + 2 * nbad);

	/* Defaults. */
	is_int(0, parse(&cfg, err, sizeof(err), "run", NULL), "run with no options parses");
	is_int(CMD_RUN, cfg.command, "command is run");
	is_int(512ull << 20, (long long)cfg.mem_bytes, "default memory is 512 MiB");
	is_int(1, cfg.cpus, "default is one vCPU");
	ok(!cfg.kernel && !cfg.initrd && !cfg.cmdline && !cfg.console,
	   "default guest, default cmdline, console on stdout");

	/* Every option. */
	is_int(0, parse(&cfg, err, sizeof(err), "run", "--kernel", "bz", "--initrd", "rd",
			"--cmdline", "console=ttyS0 a=b", "--mem", "2G", "--cpus", "4",
			"--console", "out.txt", "--timeout", "30", "-v", NULL),
	       "all run options parse");
	is_string("bz", cfg.kernel, "--kernel");
	is_string("rd", cfg.initrd, "--initrd");
	is_string("console=ttyS0 a=b", cfg.cmdline, "--cmdline keeps spaces");
	is_int(2ull << 30, (long long)cfg.mem_bytes, "--mem 2G");
	is_int(4, cfg.cpus, "--cpus 4");
	is_string("out.txt", cfg.console, "--console");
	is_int(30, cfg.timeout_s, "--timeout 30");
	ok(cfg.verbose, "-v");
	is_int(0, parse(&cfg, err, sizeof(err), "run", "--mem=256", NULL), "--mem=256 form");
	is_int(256ull << 20, (long long)cfg.mem_bytes, "a bare --mem number is MiB");

	/* --name, --uuid; --domain with vmm's own options; vmm domain --print. */
	is_int(0, parse(&cfg, err, sizeof(err), "run", "--name", "vm 1", "--uuid",
			"4A1B6F2E-8c3d-4e5f-9a0b-1c2d3e4f5a6b", NULL), "--name, --uuid parse (%s)", err);
	ok(!strcmp(cfg.name, "vm 1") && !strcmp(cfg.uuid, "4A1B6F2E-8c3d-4e5f-9a0b-1c2d3e4f5a6b"),
	   "--name, --uuid kept as given");
	is_int(0, parse(&cfg, err, sizeof(err), "run", "--timeout", "3", "--domain", "d.xml",
			"--report", "r", "--dma-errors", "fatal", "--dmatest", "-q", NULL),
	       "--domain with vmm's own options (%s)", err);
	ok(!strcmp(cfg.domain, "d.xml") && cfg.timeout_s == 3 && cfg.report && cfg.dma_errors_fatal,
	   "--domain FILE kept, the other options parsed");
	is_int(0, parse(&cfg, err, sizeof(err), "domain", "--print", "d.xml", NULL), "domain --print FILE");
	ok(cfg.command == CMD_DOMAIN && cfg.domain_print && !strcmp(cfg.domain, "d.xml"),
	   "command domain, --print, the file");

	/* The DMA sanitizer's options. */
	is_int(64ull << 20, (long long)cfg.bounce_pool_bytes, "default bounce pool 64 MiB");
	ok(!cfg.dma_errors_fatal && !cfg.untrusted && cfg.ndmatest == 0, "sanitizer defaults");
	is_int(0, parse(&cfg, err, sizeof(err), "run", "--dmatest", "--dmatest", "width=24",
			"--dmatest=width=32,untrusted", "--dmatest", "untrusted", "--bounce-pool", "1M",
			"--dma-errors", "fatal", "--untrusted", NULL), "--dmatest forms parse");
	is_int(4, cfg.ndmatest, "four dmatest devices");
	ok(cfg.dmatest[0].width == 64 && !cfg.dmatest[0].untrusted, "--dmatest alone: 64-bit, trusted");
	ok(cfg.dmatest[1].width == 24 && !cfg.dmatest[1].untrusted, "--dmatest width=24 (detached value)");
	ok(cfg.dmatest[2].width == 32 && cfg.dmatest[2].untrusted, "--dmatest=width=32,untrusted");
	ok(cfg.dmatest[3].width == 64 && cfg.dmatest[3].untrusted, "--dmatest untrusted");
	is_int(1 << 20, (long long)cfg.bounce_pool_bytes, "--bounce-pool 1M");
	ok(cfg.dma_errors_fatal && cfg.untrusted, "--dma-errors fatal, --untrusted");

	is_int(0, parse(&cfg, err, sizeof(err), "probe", NULL), "probe parses");
	is_int(CMD_PROBE, cfg.command, "command is probe");
	is_int(0, parse(&cfg, err, sizeof(err), "--help", NULL), "--help parses");
	is_int(CMD_HELP, cfg.command, "command is help");
	is_int(0, parse(&cfg, err, sizeof(err), "dump-acpi", "--cpus", "3", "/tmp/x", NULL),
	       "dump-acpi parses");
	ok(cfg.command == CMD_DUMP_ACPI && cfg.cpus == 3 && !strcmp(cfg.dump_dir, "/tmp/x"),
	   "dump-acpi takes --cpus and a directory");

	/* Devices. */
	{
		char d1[] = "disk1.img", d2[] = "/dev/sdz,ro", d3[] = "x,rw";
		char *argv[] = { (char *)"vmm", (char *)"run", (char *)"--disk", d1, (char *)"--disk", d2,
				 (char *)"--disk", d3, (char *)"--no-iommu", (char *)"--no-rng",
				 (char *)"--report", (char *)"r.json", NULL };

		is_int(0, cli_parse(12, argv, &cfg, HOST_MEM, err, sizeof(err)), "device options parse");
		is_int(3, cfg.ndisks, "three disks");
		ok(!strcmp(cfg.disk[0].path, "disk1.img") && !cfg.disk[0].read_only &&
		   !strcmp(cfg.disk[1].path, "/dev/sdz") && cfg.disk[1].read_only &&
		   !strcmp(cfg.disk[2].path, "x") && !cfg.disk[2].read_only,
		   "PATH[,ro|,rw] split into path and read-only flag");
		ok(cfg.no_iommu && cfg.no_rng, "--no-iommu, --no-rng");
		is_string("r.json", cfg.report, "--report");
	}

	/* --net */
	is_int(0, parse(&cfg, err, sizeof(err), "run", "--net", "tap=tap0", "--net",
			"queues=4,mtu=9000,tap=t1,mac=52:54:00:AB:cd:ef", NULL), "--net forms parse");
	is_int(2, cfg.nnets, "two network devices");
	ok(!strcmp(cfg.net[0].tap, "tap0") && !cfg.net[0].has_mac && cfg.net[0].queues == 1 &&
	   cfg.net[0].mtu == 0, "--net tap=tap0: one queue pair, its own MAC and the TAP's MTU");
	ok(!strcmp(cfg.net[1].tap, "t1") && cfg.net[1].has_mac && cfg.net[1].mac[0] == 0x52 &&
	   cfg.net[1].mac[3] == 0xab && cfg.net[1].mac[5] == 0xef && cfg.net[1].queues == 4 &&
	   cfg.net[1].mtu == 9000, "--net keys in any order, MAC in either case");

	/* --nvme PATH[,ro][,serial=S][,queues=N] (split in place, as --disk:
	 * writable copies) */
	{
		char a[] = "a.img", b[] = "/dev/nvme9n1,ro,serial=SN-1,queues=16";
		char *argv[] = { (char *)"vmm", (char *)"run", (char *)"--nvme", a, (char *)"--nvme", b, NULL };

		is_int(0, cli_parse(6, argv, &cfg, HOST_MEM, err, sizeof(err)), "--nvme forms parse");
		is_int(2, cfg.nnvme, "two NVMe controllers");
		ok(!strcmp(cfg.nvme[0].path, "a.img") && !cfg.nvme[0].read_only && !cfg.nvme[0].serial[0] &&
		   cfg.nvme[0].queues == 0, "--nvme PATH: read-write, default serial, a queue per vCPU");
		ok(!strcmp(cfg.nvme[1].path, "/dev/nvme9n1") && cfg.nvme[1].read_only &&
		   !strcmp(cfg.nvme[1].serial, "SN-1") && cfg.nvme[1].queues == 16,
		   "--nvme PATH,ro,serial=S,queues=N");
	}
	{
		static const struct { const char *arg, *want; } nvme_bad[] = {
			{ ",ro", "empty file name" },
			{ "a,queues=0", "from 1 to 16" },
			{ "a,queues=17", "from 1 to 16" },
			{ "a,serial=", "1 to 20 printable" },
			{ "a,serial=123456789012345678901", "1 to 20 printable" },
			{ "a,serial=has space", "1 to 20 printable" },
			{ "a,cache=none", "unknown option 'cache=none'" },
		};

		for (size_t i = 0; i < sizeof(nvme_bad) / sizeof(nvme_bad[0]); i++) {
			char arg[64];
			char *argv[] = { (char *)"vmm", (char *)"run", (char *)"--nvme", arg, NULL };

			snprintf(arg, sizeof(arg), "%s", nvme_bad[i].arg);
			err[0] = '\0';
			is_int(-1, cli_parse(4, argv, &cfg, HOST_MEM, err, sizeof(err)), "--nvme %s: refused",
			       nvme_bad[i].arg);
			ok(strstr(err, nvme_bad[i].want) != NULL, "--nvme %s: says '%s' (%s)", nvme_bad[i].arg,
			   nvme_bad[i].want,
			   err);
		}
	}
	{
		char a[] = "a", b[] = "b", c[] = "c";
		char *argv[] = { (char *)"vmm", (char *)"run", (char *)"--nvme", a, (char *)"--nvme", b,
				 (char *)"--nvme", c, NULL };

		is_int(-1, cli_parse(8, argv, &cfg, HOST_MEM, err, sizeof(err)), "a third --nvme: refused");
		ok(strstr(err, "at most 2") != NULL, "--nvme: says at most 2 (%s)", err);
	}

	/* parse_size units. */
	ok(!parse_size("1048576K", &sz) && sz == (1ull << 30), "parse_size K");
	ok(!parse_size("3GiB", &sz) && sz == (3ull << 30), "parse_size GiB");
	ok(!parse_size("1T", &sz) && sz == (1ull << 40), "parse_size T");
	ok(parse_size("", &sz) && parse_size("M", &sz) && parse_size(" 5M", &sz),
	   "parse_size refuses empty and malformed sizes");

	for (size_t i = 0; i < nbad; i++) {
		char *argv[16] = { (char *)"vmm" };
		char desc[128] = "";
		int argc = 1;

		for (int j = 0; bad[i].args[j]; j++) {
			/* argv strings are writable (--disk splits PATH,ro in place) */
			argv[argc++] = strdup(bad[i].args[j]);
			strncat(desc, " ", sizeof(desc) - strlen(desc) - 1);
			strncat(desc, bad[i].args[j], sizeof(desc) - strlen(desc) - 1);
		}
		argv[argc] = NULL;
		err[0] = '\0';
		is_int(-1, cli_parse(argc, argv, &cfg, HOST_MEM, err, sizeof(err)),
		       "refused: vmm%s", desc);
		for (int j = 1; j < argc; j++)
			free(argv[j]);
		ok(strstr(err, bad[i].expect) && !strchr(err, '\n'),
		   "one-line error mentions '%s' (got: %s)", bad[i].expect, err);
	}
	return 0;
}
