/* SPDX-License-Identifier: MIT */
#include "vmm/cli.h"
#include "vmm/log.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define fail(err, errlen, ...) error_line(err, errlen, -1, __VA_ARGS__)

int parse_uint(const char *s, unsigned long min, unsigned long max,
	       unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 20; /* a bare number is MiB, as with qemu -m */

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -1;
	if (*end) {
		switch (*end) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: return -1;
		}
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
		if (*end)
			return -1;
	}
	if (v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

void cli_usage(FILE *f)
{
	fprintf(f,
"usage: vmm run [options]       boot a Linux guest\n"
"       vmm probe               can this host's KVM run a Linux guest?\n"
"       vmm dump-acpi [--cpus N] DIR   write the ACPI tables as DIR/<SIG>.dat\n"
"       vmm domain --print FILE.xml    the 'vmm run' command line a libvirt\n"
"                               domain XML file stands for\n"
"       vmm --help | --version\n"
"\n"
"run options:\n"
"  --kernel FILE     bzImage to boot (default: the built-in default guest)\n"
"  --initrd FILE     initramfs (default: the default guest's, none with --kernel)\n"
"  --cmdline STR     kernel command line (default: \"" DEFAULT_CMDLINE "\")\n"
"  --mem SIZE        guest RAM, e.g. 512M, 2G; a bare number is MiB (default 512M)\n"
"  --cpus N          vCPUs, 1-%d (default 1)\n"
"  --console FILE    write the guest's serial console (COM1) to FILE, not stdout\n"
"  --timeout SEC     stop the guest after SEC seconds (exit status 7)\n"
"  --disk PATH[,ro]  a virtio-blk disk on a raw image (up to %d)\n"
"  --nvme PATH[,ro][,serial=S][,queues=N]\n"
"                    an NVMe controller on a raw image or block device, N I/O\n"
"                    queue pairs (1-%d, default one per vCPU; up to %d)\n"
"  --net tap=NAME[,mac=MAC][,queues=N][,mtu=N]\n"
"                    a virtio-net device on the existing TAP interface NAME\n"
"                    (N queue pairs, 1-%d; mtu %d-%d, default the TAP's; up to %d)\n"
"  --no-iommu        endpoints are not behind the virtio-iommu\n"
"  --no-rng          no virtio-rng device\n"
"  --dmatest [width=N][,untrusted]\n"
"                    a DMA test device with an N-bit DMA engine (64, 40, 32, 24;\n"
"                    default 64), optionally below an external-facing root port\n"
"                    (up to %d)\n"
"  --untrusted       every endpoint below its own external-facing PCIe root port\n"
"                    (the guest then bounces sub-page buffers through its swiotlb:\n"
"                    give it swiotlb=force, or more than 3 GiB of RAM)\n"
"  --bounce-pool SIZE  host bounce pool for device DMA (default 64M)\n"
"  --dma-errors report|fatal\n"
"                    on a DMA-API violation: report it and go on (default), or\n"
"                    report it and stop the VM (exit status 8)\n"
"  --report FILE     IOMMU activity and refused DMAs as JSON lines\n"
"  --domain FILE     the VM a libvirt domain XML file describes (then the options\n"
"                    above from --kernel to --no-rng, --name and --uuid are the\n"
"                    file's: not allowed with it)\n"
"  --guest-module FILE.ko  load this kernel module in the default guest, after\n"
"                    its virtio-iommu and before the command (repeatable, in\n"
"                    order; its vermagic must be the guest kernel's)\n"
"  --guest-file SRC:DEST  put host file SRC at DEST in the default guest\n"
"                    (DEST ending in '/': a directory; repeatable)\n"
"  --guest-run CMD   run CMD (/bin/sh) in the default guest, its output on the\n"
"                    console, then power off (exit status 9 if it fails)\n"
"  --guest-script FILE  the same with a script file instead of CMD\n"
"  --name NAME       the VM's name, in the report\n"
"  --uuid UUID       the VM's UUID (8-4-4-4-12 hex digits), in the report\n"
"  -v, --verbose     more VMM messages     -q, --quiet   errors only\n"
"\n"
"exit status: 0 guest powered off, 1 error, 2 (probe) KVM cannot run Linux,\n"
"             3 guest reboot, 4 triple fault, 5 KVM internal error,\n"
"             6 stopped (signal or Ctrl-A x), 7 timeout,\n"
"             8 stopped at a DMA-API violation (--dma-errors=fatal),\n"
"             9 the --guest-run command or --guest-script failed, or a\n"
"               --guest-module did not load\n",
		VMM_MAX_CPUS, VMM_MAX_DISKS, VMM_MAX_NVME_QUEUES, VMM_MAX_NVME, VMM_MAX_NET_QUEUES, VMM_MIN_NET_MTU, VMM_MAX_NET_MTU,
		VMM_MAX_NETS, VMM_MAX_DMATEST);
}

enum { OPT_KERNEL = 256, OPT_INITRD, OPT_CMDLINE, OPT_MEM, OPT_CPUS,
       OPT_CONSOLE, OPT_TIMEOUT, OPT_DISK, OPT_NO_IOMMU, OPT_NO_RNG, OPT_REPORT,
	OPT_DMATEST, OPT_UNTRUSTED, OPT_BOUNCE_POOL, OPT_DMA_ERRORS, OPT_NET, OPT_NVME,
	OPT_DOMAIN, OPT_PRINT, OPT_NAME, OPT_UUID, OPT_GUEST_MODULE, OPT_GUEST_FILE,
	OPT_GUEST_RUN, OPT_GUEST_SCRIPT };

static const struct option run_options[] = {
	{ "kernel",  required_argument, NULL, OPT_KERNEL },
	{ "initrd",  required_argument, NULL, OPT_INITRD },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "mem",     required_argument, NULL, OPT_MEM },
	{ "cpus",    required_argument, NULL, OPT_CPUS },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "disk",    required_argument, NULL, OPT_DISK },
	{ "net",     required_argument, NULL, OPT_NET },
	{ "nvme",    required_argument, NULL, OPT_NVME },
	{ "no-iommu", no_argument,      NULL, OPT_NO_IOMMU },
	{ "no-rng",  no_argument,       NULL, OPT_NO_RNG },
	{ "report",  required_argument, NULL, OPT_REPORT },
	{ "dmatest", optional_argument, NULL, OPT_DMATEST },
	{ "untrusted", no_argument,     NULL, OPT_UNTRUSTED },
	{ "bounce-pool", required_argument, NULL, OPT_BOUNCE_POOL },
	{ "dma-errors", required_argument, NULL, OPT_DMA_ERRORS },
	{ "domain",  required_argument, NULL, OPT_DOMAIN },
	{ "print",   no_argument,       NULL, OPT_PRINT },
	{ "name",    required_argument, NULL, OPT_NAME },
	{ "uuid",    required_argument, NULL, OPT_UUID },
	{ "guest-module", required_argument, NULL, OPT_GUEST_MODULE },
	{ "guest-file", required_argument, NULL, OPT_GUEST_FILE },
	{ "guest-run", required_argument, NULL, OPT_GUEST_RUN },
	{ "guest-script", required_argument, NULL, OPT_GUEST_SCRIPT },
	{ "verbose", no_argument,       NULL, 'v' },
	{ "quiet",   no_argument,       NULL, 'q' },
	{ "help",    no_argument,       NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* --dmatest [width=N][,untrusted]; optarg may be NULL (all defaults).
 * Keys are separated by commas; optarg is not modified. */
static int parse_dmatest(struct vmm_config *cfg, const char *optarg, char *err, size_t errlen)
{
	unsigned int i = cfg->ndmatest;
	const char *key = optarg;

	if (i == VMM_MAX_DMATEST)
		return fail(err, errlen, "--dmatest: at most %d devices", VMM_MAX_DMATEST);
	cfg->dmatest[i].width = 64;
	cfg->dmatest[i].untrusted = false;
	while (key && *key) {
		size_t n = strcspn(key, ",");
		char buf[32];
		unsigned long w;

		if (n >= sizeof(buf))
			return fail(err, errlen, "--dmatest: unknown key '%.*s' (width=64|40|32|24, untrusted)",
				    (int)(n > 40 ? 40 : n), key);
		memcpy(buf, key, n);
		buf[n] = '\0';
		if (!strcmp(buf, "untrusted")) {
			cfg->dmatest[i].untrusted = true;
		} else if (!strncmp(buf, "width=", 6)) {
			if (parse_uint(buf + 6, 1, 64, &w) || (w != 64 && w != 40 && w != 32 && w != 24))
				return fail(err, errlen, "--dmatest: width '%s' must be 64, 40, 32 or 24",
					    buf + 6);
			cfg->dmatest[i].width = (unsigned int)w;
		} else if (n) {
			return fail(err, errlen,
				    "--dmatest: unknown key '%s' (width=64|40|32|24, untrusted)", buf);
		}
		key += n;
		if (*key == ',')
			key++;
	}
	cfg->ndmatest++;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "52:54:00:12:34:56": six hex pairs, a unicast address other than zero. */
static int parse_mac(const char *s, uint8_t mac[6])
{
	bool zero = true;

	if (strlen(s) != 17)
		return -1;
	for (unsigned int i = 0; i < 6; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -1;
		mac[i] = (uint8_t)(hi << 4 | lo);
		zero &= !mac[i];
	}
	return (mac[0] & 1) || zero ? -1 : 0;
}

/* What Linux takes as an interface name: 1-15 bytes, not "." or "..",
 * no '/', ':' or white space. */
static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 15 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	return strcspn(s, "/: \t\n\r\v\f") == n;
}

#define NET_USAGE "(--net tap=NAME[,mac=MAC][,queues=N][,mtu=N])"

#define NVME_USAGE "(PATH[,ro][,serial=S][,queues=N])"

/* --nvme PATH[,ro][,serial=S][,queues=N]: the option string is ours to split. */
static int parse_nvme(struct vmm_config *cfg, char *optarg, char *err, size_t errlen)
{
	unsigned int i = cfg->nnvme;
	char *key;

	if (i == VMM_MAX_NVME)
		return fail(err, errlen, "--nvme: at most %d NVMe controllers", VMM_MAX_NVME);
	memset(&cfg->nvme[i], 0, sizeof(cfg->nvme[i]));
	key = strchr(optarg, ',');
	if (key)
		*key++ = '\0';
	if (!*optarg)
		return fail(err, errlen, "--nvme: empty file name " NVME_USAGE);
	cfg->nvme[i].path = optarg;
	while (key && *key) {
		char *next = strchr(key, ',');
		const char *val = strchr(key, '=');
		unsigned long v;

		if (next)
			*next++ = '\0';
		val = val ? val + 1 : NULL;
		if (!strcmp(key, "ro")) {
			cfg->nvme[i].read_only = true;
		} else if (!strcmp(key, "rw")) {
			cfg->nvme[i].read_only = false;
		} else if (!strncmp(key, "serial=", 7)) {
			size_t len = strlen(val);
			bool printable = len > 0 && len < sizeof(cfg->nvme[i].serial);

			for (size_t k = 0; k < len; k++)
				printable &= val[k] > ' ' && val[k] < 0x7f;
			if (!printable)
				return fail(err, errlen, "--nvme serial='%s': 1 to 20 printable ASCII "
					    "characters, no spaces", val);
			memcpy(cfg->nvme[i].serial, val, len + 1);
		} else if (!strncmp(key, "queues=", 7)) {
			if (parse_uint(val, 1, VMM_MAX_NVME_QUEUES, &v))
				return fail(err, errlen, "--nvme queues='%s': must be a number from 1 to %d",
					    val, VMM_MAX_NVME_QUEUES);
			cfg->nvme[i].queues = (unsigned int)v;
		} else {
			return fail(err, errlen, "--nvme: unknown option '%s' " NVME_USAGE, key);
		}
		key = next;
	}
	cfg->nnvme++;
	return 0;
}

/* --net tap=NAME[,mac=MAC][,queues=N][,mtu=N]; optarg is not modified. */
static int parse_net(struct vmm_config *cfg, const char *optarg, char *err, size_t errlen)
{
	unsigned int i = cfg->nnets;
	const char *key = optarg;
	bool have_tap = false;

	if (i == VMM_MAX_NETS)
		return fail(err, errlen, "--net: at most %d network devices", VMM_MAX_NETS);
	memset(&cfg->net[i], 0, sizeof(cfg->net[i]));
	cfg->net[i].queues = 1;
	while (*key) {
		size_t n = strcspn(key, ",");
		char buf[64];
		const char *val;
		unsigned long v;

		if (n >= sizeof(buf))
			return fail(err, errlen, "--net: '%.*s...' is too long " NET_USAGE, 20, key);
		memcpy(buf, key, n);
		buf[n] = '\0';
		val = strchr(buf, '=') ? strchr(buf, '=') + 1 : NULL;
		if (!strncmp(buf, "tap=", 4)) {
			if (!valid_ifname(val))
				return fail(err, errlen, "--net tap='%s': not an interface name (1-15 "
					    "characters, no '/', ':' or spaces)", val);
			snprintf(cfg->net[i].tap, sizeof(cfg->net[i].tap), "%s", val);
			have_tap = true;
		} else if (!strncmp(buf, "mac=", 4)) {
			if (parse_mac(val, cfg->net[i].mac))
				return fail(err, errlen, "--net mac='%s': not a unicast MAC address like "
					    "52:54:00:12:34:56", val);
			cfg->net[i].has_mac = true;
		} else if (!strncmp(buf, "queues=", 7)) {
			if (parse_uint(val, 1, VMM_MAX_NET_QUEUES, &v))
				return fail(err, errlen, "--net queues='%s': must be a number from 1 to %d",
					    val, VMM_MAX_NET_QUEUES);
			cfg->net[i].queues = (unsigned int)v;
		} else if (!strncmp(buf, "mtu=", 4)) {
			if (parse_uint(val, VMM_MIN_NET_MTU, VMM_MAX_NET_MTU, &v))
				return fail(err, errlen, "--net mtu='%s': must be a number from %d to %d",
					    val, VMM_MIN_NET_MTU, VMM_MAX_NET_MTU);
			cfg->net[i].mtu = (unsigned int)v;
		} else {
			return fail(err, errlen, "--net: unknown key '%s' " NET_USAGE, buf);
		}
		key += n;
		if (*key == ',')
			key++;
	}
	if (!have_tap)
		return fail(err, errlen, "--net: which TAP? tap=NAME is missing " NET_USAGE);
	for (unsigned int j = 0; j < i; j++)
		if (!strcmp(cfg->net[j].tap, cfg->net[i].tap))
			return fail(err, errlen, "--net: TAP '%s' given twice", cfg->net[i].tap);
	cfg->nnets++;
	return 0;
}

/* The options a domain file describes: given with --domain, they would say
 * the VM twice. */
static const char *describes_vm(int opt)
{
	switch (opt) {
	case OPT_KERNEL: return "--kernel";
	case OPT_INITRD: return "--initrd";
	case OPT_CMDLINE: return "--cmdline";
	case OPT_MEM: return "--mem";
	case OPT_CPUS: return "--cpus";
	case OPT_CONSOLE: return "--console";
	case OPT_DISK: return "--disk";
	case OPT_NVME: return "--nvme";
	case OPT_NO_IOMMU: return "--no-iommu";
	case OPT_NO_RNG: return "--no-rng";
	case OPT_NET: return "--net";
	case OPT_NAME: return "--name";
	case OPT_UUID: return "--uuid";
	default: return NULL;
	}
}

/* 8-4-4-4-12 hex digits, as libvirt writes a UUID. */
static bool is_uuid(const char *s)
{
	for (unsigned int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]) || !s[i])
			return false;
	}
	return s[36] == '\0';
}

static int check_mem(uint64_t mem, uint64_t host_mem, char *err, size_t errlen,
		     const char *arg)
{
	if (mem < VMM_MIN_MEM)
		return fail(err, errlen, "--mem %s: at least %llu MiB is needed to boot Linux",
			    arg, VMM_MIN_MEM >> 20);
	if (mem & ((1ull << 20) - 1))
		return fail(err, errlen, "--mem %s: must be a whole number of MiB", arg);
	if (host_mem && mem > host_mem)
		return fail(err, errlen, "--mem %s: more than this host's %" PRIu64 " MiB of RAM",
			    arg, host_mem >> 20);
	return 0;
}

int cli_parse(int argc, char **argv, struct vmm_config *cfg,
	      uint64_t host_mem_bytes, char *err, size_t errlen)
{
	const char *cmd, *vm_option = NULL;
	unsigned long v;
	unsigned int other_options = 0;
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->mem_bytes = VMM_DEFAULT_MEM;
	cfg->cpus = 1;
	cfg->bounce_pool_bytes = VMM_DEFAULT_BOUNCE_POOL;
	if (err && errlen)
		err[0] = '\0';

	if (argc < 2)
		return fail(err, errlen, "no command given (try 'vmm --help')");
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		cfg->command = CMD_HELP;
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		cfg->command = CMD_VERSION;
		return 0;
	}
	if (!strcmp(cmd, "run"))
		cfg->command = CMD_RUN;
	else if (!strcmp(cmd, "probe"))
		cfg->command = CMD_PROBE;
	else if (!strcmp(cmd, "dump-acpi"))
		cfg->command = CMD_DUMP_ACPI;
	else if (!strcmp(cmd, "domain"))
		cfg->command = CMD_DOMAIN;
	else
		return fail(err, errlen, "unknown command '%s' (try 'vmm --help')", cmd);

	/* getopt_long keeps global state: reset it so cli_parse can run twice.
	 * "+": stop at the first operand (no permutation), so that an option
	 * with an optional detached value (--dmatest width=24) can take it. */
	optind = 2;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:vqh", run_options, NULL)) != -1) {
		if (!vm_option)
			vm_option = describes_vm(c);
		if (c != OPT_PRINT && c != 'v' && c != 'q')
			other_options++;
		switch (c) {
		case OPT_KERNEL:  cfg->kernel = optarg; break;
		case OPT_INITRD:  cfg->initrd = optarg; break;
		case OPT_CONSOLE: cfg->console = optarg; break;
		case OPT_CMDLINE: cfg->cmdline = optarg; break;
		case OPT_MEM:
			if (parse_size(optarg, &cfg->mem_bytes))
				return fail(err, errlen, "--mem '%s': not a size (e.g. 512M, 2G)", optarg);
			if (check_mem(cfg->mem_bytes, host_mem_bytes, err, errlen, optarg))
				return -1;
			break;
		case OPT_CPUS:
			if (parse_uint(optarg, 1, VMM_MAX_CPUS, &v))
				return fail(err, errlen, "--cpus '%s': must be a number from 1 to %d",
					    optarg, VMM_MAX_CPUS);
			cfg->cpus = (unsigned int)v;
			break;
		case OPT_TIMEOUT:
			if (parse_uint(optarg, 1, 7 * 24 * 3600, &v))
				return fail(err, errlen, "--timeout '%s': must be seconds from 1 to 604800",
					    optarg);
			cfg->timeout_s = (unsigned int)v;
			break;
		case OPT_DISK: {
			char *comma;

			if (cfg->ndisks == VMM_MAX_DISKS)
				return fail(err, errlen, "--disk: at most %d disks", VMM_MAX_DISKS);
			/* PATH[,ro]: the option string is ours to split. */
			comma = strrchr(optarg, ',');
			cfg->disk[cfg->ndisks].read_only = false;
			if (comma) {
				if (strcmp(comma, ",ro") && strcmp(comma, ",rw"))
					return fail(err, errlen, "--disk '%s': unknown option '%s' (PATH[,ro])",
						    optarg, comma + 1);
				cfg->disk[cfg->ndisks].read_only = !strcmp(comma, ",ro");
				*comma = '\0';
			}
			if (!*optarg)
				return fail(err, errlen, "--disk: empty file name");
			cfg->disk[cfg->ndisks++].path = optarg;
			break;
		}
		case OPT_DMATEST:
			/* The value is optional; accept "--dmatest width=24" as
			 * well as "--dmatest=width=24" (run takes no operands). */
			if (!optarg && optind < argc && argv[optind][0] != '-')
				optarg = argv[optind++];
			if (parse_dmatest(cfg, optarg, err, errlen))
				return -1;
			break;
		case OPT_NET:
			if (parse_net(cfg, optarg, err, errlen))
				return -1;
			break;
		case OPT_NVME:
			if (parse_nvme(cfg, optarg, err, errlen))
				return -1;
			break;
		case OPT_UNTRUSTED: cfg->untrusted = true; break;
		case OPT_BOUNCE_POOL:
			if (parse_size(optarg, &cfg->bounce_pool_bytes))
				return fail(err, errlen, "--bounce-pool '%s': not a size (e.g. 64M)", optarg);
			if (cfg->bounce_pool_bytes < VMM_MIN_BOUNCE_POOL ||
			    cfg->bounce_pool_bytes > VMM_MAX_BOUNCE_POOL)
				return fail(err, errlen, "--bounce-pool '%s': must be from 256K to 4G",
					    optarg);
			break;
		case OPT_DMA_ERRORS:
			if (!strcmp(optarg, "report"))
				cfg->dma_errors_fatal = false;
			else if (!strcmp(optarg, "fatal"))
				cfg->dma_errors_fatal = true;
			else
				return fail(err, errlen, "--dma-errors '%s': must be 'report' or 'fatal'",
					    optarg);
			break;
		case OPT_NO_IOMMU: cfg->no_iommu = true; break;
		case OPT_NO_RNG: cfg->no_rng = true; break;
		case OPT_REPORT:
			if (!*optarg)
				return fail(err, errlen, "--report: empty file name");
			cfg->report = optarg;
			break;
		case OPT_DOMAIN:
			if (!*optarg)
				return fail(err, errlen, "--domain: empty file name");
			cfg->domain = optarg;
			break;
		case OPT_PRINT: cfg->domain_print = true; break;
		case OPT_NAME:
			if (!*optarg)
				return fail(err, errlen, "--name: empty name");
			cfg->name = optarg;
			break;
		case OPT_UUID:
			if (!is_uuid(optarg))
				return fail(err, errlen, "--uuid '%s': not a UUID (8-4-4-4-12 hex digits)",
					    optarg);
			cfg->uuid = optarg;
			break;
		case OPT_GUEST_MODULE:
			if (cfg->n_guest_modules == VMM_MAX_GUEST_MODULES)
				return fail(err, errlen, "--guest-module: at most %d modules",
					    VMM_MAX_GUEST_MODULES);
			if (!*optarg)
				return fail(err, errlen, "--guest-module: empty file name");
			cfg->guest_module[cfg->n_guest_modules++] = optarg;
			break;
		case OPT_GUEST_FILE: {
			/* SRC:DEST, split at the first ':' (the string is ours). */
			char *colon = strchr(optarg, ':');

			if (cfg->n_guest_files == VMM_MAX_GUEST_FILES)
				return fail(err, errlen, "--guest-file: at most %d files", VMM_MAX_GUEST_FILES);
			if (!colon || colon == optarg || !colon[1])
				return fail(err, errlen, "--guest-file '%s': want SRC:DEST (host file, "
					    "path in the guest)", optarg);
			*colon = '\0';
			cfg->guest_file[cfg->n_guest_files].src = optarg;
			cfg->guest_file[cfg->n_guest_files++].dest = colon + 1;
			break;
		}
		case OPT_GUEST_RUN:
			if (cfg->guest_run || !*optarg)
				return fail(err, errlen, cfg->guest_run ? "--guest-run: only one command "
					    "(join them with ';' or use --guest-script)" : "--guest-run: empty command");
			cfg->guest_run = optarg;
			break;
		case OPT_GUEST_SCRIPT:
			if (cfg->guest_script || !*optarg)
				return fail(err, errlen, cfg->guest_script ? "--guest-script: only one script" :
					    "--guest-script: empty file name");
			cfg->guest_script = optarg;
			break;
		case 'v': cfg->verbose = true; break;
		case 'q': cfg->quiet = true; break;
		case 'h': cfg->command = CMD_HELP; return 0;
		case ':':
			return fail(err, errlen, "option '%s' needs a value", argv[optind - 1]);
		default:
			return fail(err, errlen, "unknown option '%s' (try 'vmm --help')",
				    argv[optind - 1]);
		}
	}

	/* Untrusted means something only to the guest's IOMMU layer. */
	if (cfg->untrusted && cfg->no_iommu)
		return fail(err, errlen, "--untrusted needs the virtio-iommu: it cannot go with --no-iommu");
	for (unsigned int i = 0; i < cfg->ndmatest; i++)
		if (cfg->dmatest[i].untrusted && cfg->no_iommu)
			return fail(err, errlen,
				    "--dmatest untrusted needs the virtio-iommu: it cannot go with --no-iommu");
	if (cfg->guest_run && cfg->guest_script)
		return fail(err, errlen, "--guest-run and --guest-script: one or the other");
	/* The layer is for the default guest's /init (vmm/guest_layer.h). */
	if ((cfg->n_guest_modules || cfg->n_guest_files || cfg->guest_run || cfg->guest_script) &&
	    (cfg->kernel || cfg->initrd))
		return fail(err, errlen, "--guest-module, --guest-file, --guest-run and --guest-script "
			    "need the default guest: they cannot go with %s", cfg->kernel ? "--kernel" : "--initrd");
	if (cfg->domain_print && cfg->command != CMD_DOMAIN)
		return fail(err, errlen, "--print goes with 'vmm domain --print FILE.xml'");
	if (cfg->domain && vm_option)
		return fail(err, errlen, "--domain: the domain file describes the VM: %s cannot go with it",
			    vm_option);
	switch (cfg->command) {
	case CMD_DOMAIN:
		if (!cfg->domain_print || other_options || optind != argc - 1)
			return fail(err, errlen, "usage: vmm domain --print FILE.xml");
		cfg->domain = argv[optind];
		break;
	case CMD_RUN:
		if (optind < argc)
			return fail(err, errlen, "unexpected argument '%s'", argv[optind]);
		if (cfg->kernel && !*cfg->kernel)
			return fail(err, errlen, "--kernel: empty file name");
		if (cfg->initrd && !*cfg->initrd)
			return fail(err, errlen, "--initrd: empty file name");
		if (cfg->console && !*cfg->console)
			return fail(err, errlen, "--console: empty file name");
		break;
	case CMD_PROBE:
		if (optind < argc)
			return fail(err, errlen, "probe takes no arguments");
		if (cfg->kernel || cfg->initrd || cfg->cmdline || cfg->console)
			return fail(err, errlen, "probe takes no run options");
		break;
	case CMD_DUMP_ACPI:
		if (optind != argc - 1)
			return fail(err, errlen, "dump-acpi needs exactly one directory");
		cfg->dump_dir = argv[optind];
		break;
	default:
		break;
	}
	return 0;
}
