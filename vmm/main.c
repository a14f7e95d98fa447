/* SPDX-License-Identifier: MIT */
/*
 * vmm: a small KVM virtual machine monitor.  This file is the command line
 * front end and the run loop of the main thread (console input, signals,
 * timeout); the vCPUs run in their own threads (vcpu.c).
 */
#include "config.h"

#include "vmm/acpi.h"
#include "vmm/boot.h"
#include "vmm/cli.h"
#include "vmm/devices.h"
#include "vmm/domain.h"
#include "vmm/exit_codes.h"
#include "vmm/guest_layer.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/report.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define MAX_KERNEL_SIZE (256ull << 20)
#define CONSOLE_ESCAPE  0x01   /* Ctrl-A, then 'x' quits (as in QEMU) */

static struct machine *signal_machine;
static struct termios saved_tty;
static bool tty_raw;

static void restore_tty(void)
{
	if (tty_raw) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
		tty_raw = false;
	}
}

static void stop_signal(int sig)
{
	if (signal_machine)
		machine_request_exit(signal_machine, VMM_EXIT_STOPPED);
}

static uint64_t host_ram_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	return (pages > 0 && psz > 0) ? (uint64_t)pages * (uint64_t)psz : 0;
}

/* Read a whole regular file; errors are one line naming the file. */
static int read_file(const char *what, const char *path, uint64_t max,
		     uint8_t **buf, size_t *len)
{
	struct stat st;
	uint8_t *p;
	size_t done = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		pr_err("cannot open %s '%s': %s", what, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pr_err("%s '%s' is not a regular file", what, path);
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > max) {
		pr_err("%s '%s' is too large (%lld bytes)", what, path, (long long)st.st_size);
		close(fd);
		return -1;
	}
	p = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!p) {
		close(fd);
		return -1;
	}
	while (done < (size_t)st.st_size) {
		ssize_t n = read(fd, p + done, (size_t)st.st_size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pr_err("cannot read %s '%s': %s", what, path, n ? strerror(errno) : "short read");
			free(p);
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	close(fd);
	*buf = p;
	*len = done;
	return 0;
}

static int read_into_guest(const char *path, int fd, uint64_t size, void *dst)
{
	uint64_t done = 0;

	while (done < size) {
		ssize_t n = read(fd, (uint8_t *)dst + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			pr_err("cannot read initrd '%s': %s", path, n ? strerror(errno) : "short read");
			return -1;
		}
		done += (uint64_t)n;
	}
	return 0;
}

/*
 * The default guest: $VMM_GUEST_DIR; else, for the binary the build tree
 * made (the same file, whatever path it was started by), the build tree's
 * guest/out; else the installed one, $(pkgdatadir)/guest (make install).
 */
static bool in_build_tree(void)
{
	struct stat self, built;

	return stat("/proc/self/exe", &self) == 0 && stat(VMM_BUILD_BINARY, &built) == 0 &&
	       self.st_dev == built.st_dev && self.st_ino == built.st_ino;
}

static const char *default_guest_dir(void)
{
	const char *dir = getenv("VMM_GUEST_DIR");

	if (dir && *dir)
		return dir;
	return in_build_tree() ? VMM_BUILD_GUEST_DIR : VMM_INSTALLED_GUEST_DIR;
}

static void serial_irq(void *opaque, bool level)
{
	kvm_irq_line(opaque, COM1_IRQ, level);
}

static uint32_t com1_read(void *opaque, uint16_t offset, unsigned int size)
{
	return serial_read(opaque, offset);
}

static void com1_write(void *opaque, uint16_t offset, unsigned int size, uint32_t val)
{
	serial_write(opaque, offset, (uint8_t)val);
}

static const struct pio_ops com1_ops = { .read = com1_read, .write = com1_write };

static void pm_event(void *opaque, enum pm_event ev)
{
	struct machine *m = opaque;

	machine_request_exit(m, ev == PM_EVENT_POWEROFF ? VMM_EXIT_POWEROFF : VMM_EXIT_REBOOT);
}

/*
 * Main thread loop: forward console input, wait for an exit request, honour
 * --timeout.  Input from a terminal is raw; Ctrl-A x quits.
 */
static void main_loop(struct machine *m, const struct vmm_config *cfg)
{
	bool stdin_open = true, escape = false;
	uint64_t deadline = cfg->timeout_s ? m->start_ns + cfg->timeout_s * 1000000000ull : 0;
	uint8_t pending[256];
	size_t npending = 0, off = 0;

	if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
		struct termios raw = saved_tty;

		cfmakeraw(&raw);
		raw.c_oflag |= OPOST | ONLCR;   /* keep our own messages readable */
		if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) {
			tty_raw = true;
			atexit(restore_tty);
		}
	}

	while (machine_exit_code(m) < 0) {
		struct pollfd pfd[2] = {
			{ .fd = m->wake_fd[0], .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};
		int timeout_ms = -1, nfds = (stdin_open && npending == 0) ? 2 : 1;

		if (npending)
			timeout_ms = 10;  /* guest FIFO full: retry soon */
		else if (m->coalesced_ring)
			timeout_ms = 20;  /* flush console output a quiet guest left queued */
		if (deadline) {
			uint64_t now = monotonic_ns();
			int left;

			if (now >= deadline) {
				pr_info("--timeout %u s expired: stopping the guest", cfg->timeout_s);
				machine_request_exit(m, VMM_EXIT_TIMEOUT);
				break;
			}
			left = (int)((deadline - now) / 1000000) + 1;
			if (timeout_ms < 0 || left < timeout_ms)
				timeout_ms = left;
		}
		if (poll(pfd, (nfds_t)nfds, timeout_ms) < 0 && errno != EINTR)
			break;
		machine_drain_coalesced(m);
		if (npending) {
			off += serial_receive(&m->serial, pending + off, npending - off);
			if (off == npending)
				npending = off = 0;
			continue;
		}
		if (nfds == 2 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			uint8_t buf[sizeof(pending)];
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

			if (n <= 0) {
				if (n == 0 || (errno != EINTR && errno != EAGAIN))
					stdin_open = false;
				continue;
			}
			for (ssize_t i = 0; i < n; i++) {
				if (tty_raw && escape) {
					escape = false;
					if (buf[i] == 'x' || buf[i] == 'X') {
						pr_info("Ctrl-A x: stopping the guest");
						machine_request_exit(m, VMM_EXIT_STOPPED);
						break;
					}
					if (buf[i] != CONSOLE_ESCAPE)
						continue;
				} else if (tty_raw && buf[i] == CONSOLE_ESCAPE) {
					escape = true;
					continue;
				}
				pending[npending++] = buf[i];
			}
			off = serial_receive(&m->serial, pending, npending);
			if (off == npending)
				npending = off = 0;
		}
	}
	restore_tty();
}

static const char *exit_reason(int code)
{
	switch (code) {
	case VMM_EXIT_POWEROFF: return "guest powered off";
	case VMM_EXIT_REBOOT: return "guest requested a reboot";
	case VMM_EXIT_TRIPLE_FAULT: return "guest triple fault";
	case VMM_EXIT_INTERNAL_ERROR: return "KVM could not run the guest";
	case VMM_EXIT_STOPPED: return "stopped from the host";
	case VMM_EXIT_TIMEOUT: return "timeout";
	case VMM_EXIT_DMA_ERROR: return "stopped at a DMA-API violation";
	case VMM_EXIT_GUEST_FAILED: return "the guest's command failed";
	default: return "VMM error";
	}
}

static int cmd_run(const struct vmm_config *cfg)
{
	char kernel_path[PATH_MAX], initrd_path[PATH_MAX], err[1024];
	const char *kernel = cfg->kernel, *initrd = cfg->initrd;
	const char *cmdline = cfg->cmdline ? cfg->cmdline : DEFAULT_CMDLINE;
	struct machine m;
	struct bzimage bz;
	struct boot_plan plan;
	const char *dump_why = NULL;
	struct acpi_tables tables;
	struct acpi_config acfg = { .cpus = cfg->cpus };
	struct sigaction sa;
	uint8_t *kimg = NULL;
	size_t klen = 0;
	uint64_t initrd_size = 0, initrd_file_size = 0;
	struct cpio_buf layer = { 0 };
	struct guest_status guest_status;
	bool with_layer = guest_layer_wanted(cfg);
	int initrd_fd = -1, console_fd = STDOUT_FILENO, ret = VMM_EXIT_ERROR, code;
	FILE *report = NULL;

	memset(&m, 0, sizeof(m));
	m.kvm_fd = m.vm_fd = m.wake_fd[0] = m.wake_fd[1] = -1;
	for (unsigned int i = 0; i < VMM_MAX_CPUS; i++)
		m.vcpu[i].fd = -1;
	m.exit_code = -1;
	m.start_ns = monotonic_ns();
	m.cfg_cpus = cfg->cpus;

	if (!kernel) {
		const char *dir = default_guest_dir();

		snprintf(kernel_path, sizeof(kernel_path), "%s/bzImage", dir);
		if (access(kernel_path, R_OK) != 0) {
			pr_err("no --kernel given and the default guest is not there (%s missing: %s)",
			       kernel_path, getenv("VMM_GUEST_DIR") && *getenv("VMM_GUEST_DIR") ?
			       "check $VMM_GUEST_DIR" : in_build_tree() ? "run 'make guest'" :
			       "run 'make guest' and 'make install' in the build tree, or give --kernel");
			return VMM_EXIT_ERROR;
		}
		kernel = kernel_path;
		if (!initrd) {
			snprintf(initrd_path, sizeof(initrd_path), "%s/initramfs.cpio", dir);
			initrd = initrd_path;
		}
	}

	/* Validate every input before touching KVM: bad input, clear error. */
	if (read_file("kernel", kernel, MAX_KERNEL_SIZE, &kimg, &klen))
		goto out;
	if (bzimage_parse(kimg, klen, &bz, err, sizeof(err))) {
		pr_err("kernel '%s': %s", kernel, err);
		goto out;
	}
	if (initrd) {
		struct stat st;

		initrd_fd = open(initrd, O_RDONLY | O_CLOEXEC);
		if (initrd_fd < 0) {
			pr_err("cannot open initrd '%s': %s", initrd, strerror(errno));
			goto out;
		}
		if (fstat(initrd_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			pr_err("initrd '%s' is not a regular file", initrd);
			goto out;
		}
		initrd_size = initrd_file_size = (uint64_t)st.st_size;
		if (!initrd_size) {
			pr_err("initrd '%s' is empty", initrd);
			goto out;
		}
	}
	/* --guest-*: one more archive after the default guest's, which the
	 * kernel unpacks over it; an archive starts on a 4-byte boundary. */
	if (with_layer) {
		char release[128];

		if (cfg->kernel || cfg->initrd || !initrd) {
			pr_err("--guest-module, --guest-file, --guest-run and --guest-script need the "
			       "default guest (not a domain's <kernel>/<initrd>)");
			goto out;
		}
		if (bzimage_release(&bz, release, sizeof(release))) {
			pr_err("kernel '%s' does not say its release (setup header kernel_version): "
			       "cannot check --guest-module vermagic", kernel);
			goto out;
		}
		if (guest_layer_build(cfg, release, &layer, err, sizeof(err))) {
			pr_err("%s", err);
			goto out;
		}
		initrd_size = ((initrd_file_size + 3) & ~3ull) + layer.len;
		pr_debug("guest layer: %zu bytes after the %llu-byte initramfs", layer.len,
			 (unsigned long long)initrd_file_size);
	}
	if (cfg->console) {
		console_fd = open(cfg->console, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (console_fd < 0) {
			pr_err("cannot open console file '%s': %s", cfg->console, strerror(errno));
			goto out;
		}
	}

	/* Opened now so that an unwritable path fails before the guest runs. */
	if (cfg->report) {
		report = fopen(cfg->report, "we");
		if (!report) {
			pr_err("cannot open report file '%s': %s", cfg->report, strerror(errno));
			goto out;
		}
	}

	code = guest_mem_init(&m.mem, cfg->mem_bytes);
	if (code) {
		pr_err("cannot allocate %llu MiB of guest RAM: %s",
		       (unsigned long long)(cfg->mem_bytes >> 20), strerror(-code));
		goto out;
	}
	if (boot_plan(&bz, &m.mem, initrd_size, strlen(cmdline), &plan, err, sizeof(err))) {
		pr_err("%s", err);
		goto out;
	}
	if (initrd && read_into_guest(initrd, initrd_fd, initrd_file_size,
				      guest_mem_ptr(&m.mem, plan.initrd_addr, initrd_file_size)))
		goto out;
	if (with_layer) {
		uint8_t *dst = guest_mem_ptr(&m.mem, plan.initrd_addr, initrd_size);

		memset(dst + initrd_file_size, 0, initrd_size - layer.len - initrd_file_size);
		memcpy(dst + initrd_size - layer.len, layer.data, layer.len);
	}
	/* Devices before ACPI: they decide the PCI topology the tables describe. */
	if (devices_create(&m, cfg, &acfg))
		goto out;
	if (acpi_build(&acfg, guest_mem_ptr(&m.mem, ACPI_TABLES_ADDR, ACPI_TABLES_END - ACPI_TABLES_ADDR),
		       ACPI_TABLES_END - ACPI_TABLES_ADDR, ACPI_TABLES_ADDR, &tables)) {
		pr_err("ACPI tables do not fit");
		goto out;
	}
	if (boot_write(&m.mem, &bz, &plan, cmdline, tables.rsdp_gpa)) {
		pr_err("cannot write the boot data into guest RAM");
		goto out;
	}
	pr_debug("kernel: protocol %u.%02u, %zu bytes at %#llx, needs RAM up to %#llx; initrd %llu bytes at %#llx",
		 bz.protocol >> 8, bz.protocol & 0xff, klen - bz.setup_len,
		 (unsigned long long)plan.kernel_addr, (unsigned long long)plan.kernel_end,
		 (unsigned long long)plan.initrd_size, (unsigned long long)plan.initrd_addr);

	if (pipe2(m.wake_fd, O_CLOEXEC | O_NONBLOCK) < 0) {
		pr_err("pipe: %s", strerror(errno));
		goto out;
	}
	if (kvm_open(&m) || kvm_create_vm(&m))
		goto out;

	serial_init(&m.serial, console_fd, serial_irq, &m);
	pm_init(&m.pm, m.start_ns, pm_event, &m);
	if (pio_register(&m.pio, COM1_PORT, 8, &com1_ops, &m.serial, "com1") ||
	    pm_register(&m.pm, &m.pio) ||
	    (with_layer && guest_status_register(&guest_status, &m.pio))) {
		pr_err("I/O port map conflict");
		goto out;
	}
	for (unsigned int i = 0; i < cfg->cpus; i++)
		if (vcpu_create(&m, i, plan.entry, plan.boot_params))
			goto out;
	if (devices_start(&m))
		goto out;

	signal_machine = &m;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stop_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	if (kvm_coalesce_pio(&m, COM1_PORT + UART_THR, 1))
		pr_debug("no coalesced port I/O: every console write exits");
	if (vcpus_start(&m) == 0)
		main_loop(&m, cfg);
	vcpus_stop(&m);
	machine_drain_coalesced(&m);   /* the guest's last words */
	serial_end_line(&m.serial);    /* ... on a line of their own */
	/* Where a guest that did not finish was: a spinning CPU's rip, with
	 * interrupts off, is a hang's first clue.  After a triple fault the
	 * other vCPUs still say where they were (on AMD, KVM has already
	 * reset the state of the vCPU that faulted). */
	if (machine_exit_code(&m) == VMM_EXIT_TIMEOUT)
		dump_why = "at the timeout";
	else if (machine_exit_code(&m) == VMM_EXIT_TRIPLE_FAULT)
		dump_why = "after the triple fault";
	if (dump_why)
		vcpus_dump_state(&m, dump_why);
	devices_stop(&m);
	if (dump_why)
		devices_dump_state(&m, dump_why);
	signal_machine = NULL;

	for (unsigned int i = 0; i < m.ncpus; i++)
		pr_debug("vCPU %u: %llu port I/O exits, %llu MMIO exits", i,
			 (unsigned long long)m.vcpu[i].exits_io, (unsigned long long)m.vcpu[i].exits_mmio);
	pr_debug("console: %llu bytes written by the guest", (unsigned long long)m.serial.tx_bytes);
	ret = machine_exit_code(&m);
	if (ret < 0)
		ret = VMM_EXIT_ERROR;
	if (report_write(&m, cfg, report) && ret == VMM_EXIT_POWEROFF)
		ret = VMM_EXIT_ERROR;
	/* The guest's command decides a clean power-off's status; a DMA-API
	 * violation that stopped the VM (8), a crash or a timeout keep theirs. */
	if (with_layer && ret == VMM_EXIT_POWEROFF) {
		ret = guest_status_verdict(&guest_status, cfg, err, sizeof(err));
		if (ret == VMM_EXIT_POWEROFF)
			pr_info("%s", err);
		else
			pr_err("%s", err);
	}
	pr_info("%s (exit status %d)", exit_reason(ret), ret);
	if (!m.pm.boot_time_ns)
		pr_info("the guest never wrote the boot-timer port");
out:
	free(kimg);
	cpio_free(&layer);
	if (initrd_fd >= 0)
		close(initrd_fd);
	if (console_fd != STDOUT_FILENO && console_fd >= 0)
		close(console_fd);
	if (report && fclose(report) != 0 && ret == VMM_EXIT_POWEROFF) {
		pr_err("cannot write report file '%s': %s", cfg->report, strerror(errno));
		ret = VMM_EXIT_ERROR;
	}
	devices_destroy(&m);
	machine_destroy(&m);
	return ret;
}

static int cmd_probe(void)
{
	char reason[256];
	int ret = kvm_probe_linux(reason, sizeof(reason));

	switch (ret) {
	case 0:
		printf("yes: this host's KVM can run a Linux guest (%s)\n", reason);
		return 0;
	case 2:
		printf("no: this host's KVM answers the KVM API but cannot run a Linux guest: %s; "
		       "run vmm inside the test host instead (tests/testhost)\n", reason);
		return VMM_EXIT_PROBE_NO_LINUX;
	default:
		printf("no: no usable KVM on this host: %s\n", reason);
		return VMM_EXIT_ERROR;
	}
}

static int cmd_dump_acpi(const struct vmm_config *cfg)
{
	static uint8_t buf[ACPI_TABLES_END - ACPI_TABLES_ADDR];
	struct acpi_config acfg = { .cpus = cfg->cpus };
	struct acpi_tables t;

	devices_describe(cfg, &acfg);
	if (mkdir(cfg->dump_dir, 0755) < 0 && errno != EEXIST) {
		pr_err("cannot create '%s': %s", cfg->dump_dir, strerror(errno));
		return VMM_EXIT_ERROR;
	}
	if (acpi_build(&acfg, buf, sizeof(buf), ACPI_TABLES_ADDR, &t)) {
		pr_err("cannot build the ACPI tables");
		return VMM_EXIT_ERROR;
	}
	for (unsigned int i = 0; i < t.count; i++) {
		char path[PATH_MAX];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s.dat", cfg->dump_dir, t.table[i].sig);
		f = fopen(path, "wb");
		if (!f || fwrite(buf + t.table[i].offset, 1, t.table[i].len, f) != t.table[i].len ||
		    fclose(f) != 0) {
			pr_err("cannot write '%s': %s", path, strerror(errno));
			return VMM_EXIT_ERROR;
		}
		printf("%s\n", path);
	}
	return 0;
}

/* vmm domain --print FILE.xml: the options go through the same checks as
 * `vmm run --domain FILE.xml`, then are printed. */
static int cmd_domain(const struct vmm_config *cfg)
{
	char *argv[] = { "vmm", "run", "--domain", (char *)cfg->domain, NULL };
	struct vmm_config run = *cfg;
	struct domain_args opts, keep;
	char err[512];
	int ret = VMM_EXIT_ERROR;

	if (domain_cli_parse(4, argv, &run, host_ram_bytes(), &opts, &keep, err, sizeof(err))) {
		pr_err("%s", err);
	} else {
		domain_print_command(stdout, &opts);
		ret = fflush(stdout) ? VMM_EXIT_ERROR : 0;
	}
	domain_args_free(&opts);
	domain_args_free(&keep);
	return ret;
}

int main(int argc, char **argv)
{
	struct vmm_config cfg;
	/* --domain: the file's options, and the strings cfg points into */
	struct domain_args domain_opts = { 0 }, domain = { 0 };
	char err[512];
	int ret;

	signal(SIGPIPE, SIG_IGN);
	if (cli_parse(argc, argv, &cfg, host_ram_bytes(), err, sizeof(err)) ||
	    (cfg.command == CMD_RUN && cfg.domain &&
	     domain_cli_parse(argc, argv, &cfg, host_ram_bytes(), &domain_opts, &domain,
			      err, sizeof(err)))) {
		pr_err("%s", err);
		domain_args_free(&domain_opts);
		domain_args_free(&domain);
		return VMM_EXIT_ERROR;
	}
	domain_args_free(&domain_opts);
	if (cfg.verbose)
		log_max_level = LOG_DEBUG;
	else if (cfg.quiet)
		log_max_level = LOG_ERR;

	switch (cfg.command) {
	case CMD_HELP:
		cli_usage(stdout);
		printf("\ndefault guest: %s (environment: VMM_GUEST_DIR)\n", default_guest_dir());
		return 0;
	case CMD_VERSION:
		printf("vmm %s\n", PACKAGE_VERSION);
		return 0;
	case CMD_PROBE:
		return cmd_probe();
	case CMD_DUMP_ACPI:
		return cmd_dump_acpi(&cfg);
	case CMD_DOMAIN:
		return cmd_domain(&cfg);
	case CMD_RUN:
		ret = cmd_run(&cfg);
		domain_args_free(&domain);
		return ret;
	default:
		cli_usage(stderr);
		return VMM_EXIT_ERROR;
	}
}
