/* SPDX-License-Identifier: MIT */
/*
 * vmm-guest: the helper program of the default guest image.
 *
 *   vmm-guest boot-timer [BYTE]   write BYTE (default 123) to I/O port 0x3f0,
 *                                 the VMM's boot-timer device
 *   vmm-guest layer-status command STATUS | module N
 *                                 tell vmm how the --guest-run command ended,
 *                                 or that the N-th --guest-module did not
 *                                 load (port 0x3f4, vmm/guest_layer.h)
 *   vmm-guest suite NAME          run guest TAP suite NAME on stdout
 *   vmm-guest zeroout DEV OFF LEN zero a byte range of a block device
 *                                 (BLKZEROOUT: NVMe Write Zeroes)
 *   vmm-guest list-suites         name the suites this binary knows
 *   vmm-guest ethtool IFACE       IFACE's offloads and driver statistics
 *                                 (guest/ethtool.c)
 *
 * Built static, it runs from the busybox initramfs (see guest/init.sh).
 */
#include "guest/ethtool.h"
#include "guest/gtap.h"
#include "guest/layer_status.h"
#include "guest/suites.h"

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/ioctl.h>
#include <fcntl.h>
#include <unistd.h>
#include <linux/fs.h>

#define BOOT_TIMER_PORT 0x3f0
#define BOOT_TIMER_BYTE 123

const struct guest_suite guest_suites[] = {
	{ "boot", "kernel release, command line, CPU count, memory size",
	  suite_boot },
	{ NULL, NULL, NULL },
};

static int usage(FILE *out, int status)
{
	fprintf(out,
		"usage: vmm-guest boot-timer [BYTE]\n"
		"       vmm-guest layer-status command STATUS | module N\n"
		"       vmm-guest suite NAME\n"
		"       vmm-guest zeroout DEV OFFSET LENGTH\n"
		"       vmm-guest list-suites\n"
		"       vmm-guest ethtool IFACE\n");
	return status;
}

static sigjmp_buf fault_jmp;

static void on_fault(int sig)
{
	(void)sig;
	siglongjmp(fault_jmp, 1);
}

/*
 * Write VALUE (WIDTH 1 or 4 bytes) to one of the VMM's I/O ports.  No
 * /dev/port in the Debian cloud kernel: ioperm + out.
 */
static int port_write(unsigned int port, unsigned int width, unsigned long value,
		      const char *what)
{
	if (ioperm(port, width, 1) != 0) {
		fprintf(stderr, "vmm-guest: ioperm(0x%x): %s\n", port, strerror(errno));
		return 1;
	}
	/*
	 * The out can still fault (#GP, so SIGSEGV): QEMU's TCG checks the
	 * I/O bitmap only for a TSS whose cached type is "available", and
	 * under nested SVM an L2 whose VMM rewrote TR through KVM_SET_SREGS
	 * (QEMU as L2 VMM does) has a "busy" one.  Report it, do not crash.
	 */
	struct sigaction sa = { .sa_handler = on_fault };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	if (sigsetjmp(fault_jmp, 1) != 0) {
		fprintf(stderr, "vmm-guest: out to port 0x%x faulted despite "
			"ioperm (nested emulation bug?): no %s write\n", port, what);
		return 1;
	}
	if (width == 4)
		outl((unsigned int)value, port);
	else
		outb((unsigned char)value, port);
	signal(SIGSEGV, SIG_DFL);
	return 0;
}

/* A decimal or 0x number in [0, max]; -1 if it is not. */
static long parse_number(const char *s, unsigned long max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 0);

	if (!*s || *end != '\0' || v > max) {
		fprintf(stderr, "vmm-guest: bad value '%s' (0-%lu)\n", s, max);
		return -1;
	}
	return (long)v;
}

static int cmd_boot_timer(int argc, char **argv)
{
	long value = BOOT_TIMER_BYTE;

	if (argc > 2 && (value = parse_number(argv[2], 0xff)) < 0)
		return 2;
	return port_write(BOOT_TIMER_PORT, 1, (unsigned long)value, "boot-timer");
}

/* layer-status command|module N: how the "check my driver" layer ended
 * (vmm/guest_layer.h, GUEST_STATUS_*). */
static int cmd_layer_status(int argc, char **argv)
{
	unsigned long kind;
	long value;

	if (argc != 4)
		return usage(stderr, 2);
	if (strcmp(argv[2], "command") == 0)
		kind = GUEST_STATUS_COMMAND;
	else if (strcmp(argv[2], "module") == 0)
		kind = GUEST_STATUS_MODULE;
	else
		return usage(stderr, 2);
	if ((value = parse_number(argv[3], 0xff)) < 0)
		return 2;
	return port_write(GUEST_STATUS_PORT, 4,
			  GUEST_STATUS_MAGIC | kind << 8 | (unsigned long)value, "guest-status");
}

/* BLKZEROOUT: the kernel zeroes the range with the device's own command
 * (NVMe Write Zeroes, virtio-blk WRITE_ZEROES) when it has one.  busybox
 * has no way to ask for it. */
static int cmd_zeroout(const char *dev, const char *off, const char *len)
{
	uint64_t range[2] = { strtoull(off, NULL, 0), strtoull(len, NULL, 0) };
	int fd = open(dev, O_WRONLY);

	if (fd < 0 || ioctl(fd, BLKZEROOUT, range) != 0) {
		fprintf(stderr, "vmm-guest: zeroout %s: %s\n", dev, strerror(errno));
		return 1;
	}
	close(fd);
	return 0;
}

static int cmd_suite(const char *name)
{
	/* Line-buffered even if stdout is not a tty: the console log is
	 * read while the guest runs. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (const struct guest_suite *s = guest_suites; s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s->run();
	printf("1..1\nnot ok 1 - unknown guest suite '%s'\n", name);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr, 2);
	if (strcmp(argv[1], "boot-timer") == 0)
		return cmd_boot_timer(argc, argv);
	if (strcmp(argv[1], "layer-status") == 0)
		return cmd_layer_status(argc, argv);
	if (strcmp(argv[1], "suite") == 0 && argc == 3)
		return cmd_suite(argv[2]);
	if (strcmp(argv[1], "zeroout") == 0 && argc == 5)
		return cmd_zeroout(argv[2], argv[3], argv[4]);
	if (strcmp(argv[1], "ethtool") == 0 && argc == 3)
		return cmd_ethtool(argv[2]);
	if (strcmp(argv[1], "list-suites") == 0) {
		for (const struct guest_suite *s = guest_suites; s->name; s++)
			printf("%s\t%s\n", s->name, s->summary);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return usage(stdout, 0);
	return usage(stderr, 2);
}
