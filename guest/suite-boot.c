/* SPDX-License-Identifier: MIT */
/*
 * The "boot" guest suite: did the guest boot with the shape the host asked
 * for?  The host states its expectations on the kernel command line:
 *   vmmtest.cpus=N      number of online CPUs
 *   vmmtest.mem_mib=M   guest RAM size in MiB (MemTotal must fit it)
 * and parses the "# fact:" lines printed here.
 */
#include "guest/gtap.h"
#include "guest/suites.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* Number of CPUs in a cpulist such as "0-1,3" (-1 if malformed). */
static long count_cpulist(const char *list)
{
	long count = 0;
	const char *p = list;

	while (*p) {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;

		if (end == p || lo < 0)
			return -1;
		p = end;
		if (*p == '-') {
			hi = strtol(p + 1, &end, 10);
			if (end == p + 1 || hi < lo)
				return -1;
			p = end;
		}
		count += hi - lo + 1;
		if (*p == ',')
			p++;
		else if (*p != '\0')
			return -1;
	}
	return count;
}

/* MemTotal from /proc/meminfo in KiB, or -1. */
static long long mem_total_kb(void)
{
	char *meminfo = gtap_read_file("/proc/meminfo");
	long long kb = -1;
	const char *p;

	if (meminfo == NULL)
		return -1;
	p = strstr(meminfo, "MemTotal:");
	if (p != NULL)
		kb = strtoll(p + strlen("MemTotal:"), NULL, 10);
	free(meminfo);
	return kb;
}

static bool parse_ulong(const char *s, unsigned long *out)
{
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return false;
	*out = strtoul(s, &end, 10);
	return *end == '\0';
}

int suite_boot(void)
{
	struct utsname uts;
	char *cmdline, *online, *uptime;
	char value[64];
	unsigned long want;
	long cpus;
	long long mem_kb;

	gtap_plan(4);

	/* 1: the kernel is the 6.12 one we ship. */
	if (uname(&uts) != 0)
		strcpy(uts.release, "(uname failed)");
	gtap_fact("release", "%s", uts.release);
	gtap_ok(strncmp(uts.release, "6.12", 4) == 0 &&
			(uts.release[4] == '.' || uts.release[4] == '\0' ||
			 uts.release[4] == '-'),
		"kernel release %s is 6.12", uts.release);

	/* 2: the command line the host passed. */
	cmdline = gtap_read_file("/proc/cmdline");
	gtap_diag("cmdline: %s", cmdline ? cmdline : "(unreadable)");
	gtap_fact("cmdline", "%s", cmdline ? cmdline : "");
	gtap_ok(cmdline != NULL && cmdline[0] != '\0',
		"/proc/cmdline is readable and not empty");
	if (cmdline == NULL)
		cmdline = strdup("");

	/* 3: CPUs online. */
	online = gtap_read_file("/sys/devices/system/cpu/online");
	cpus = online ? count_cpulist(online) : -1;
	gtap_fact("cpus", "%ld", cpus);
	if (!gtap_cmdline_param(cmdline, "vmmtest.cpus", value, sizeof(value)))
		gtap_skip("vmmtest.cpus= not given", "online CPU count");
	else if (!parse_ulong(value, &want))
		gtap_ok(false, "vmmtest.cpus=%s is a number", value);
	else if (!gtap_ok(cpus == (long)want, "%ld CPUs online, %lu expected",
			  cpus, want))
		gtap_diag("/sys/devices/system/cpu/online: %s",
			  online ? online : "(unreadable)");
	free(online);

	/* 4: memory size.  The kernel keeps part of RAM for itself (image,
	 * page tables, reservations), so MemTotal is a bit below the RAM
	 * size: accept down to max(20%, 64 MiB) below it. */
	mem_kb = mem_total_kb();
	gtap_fact("mem_total_kb", "%lld", mem_kb);
	if (!gtap_cmdline_param(cmdline, "vmmtest.mem_mib", value,
				sizeof(value))) {
		gtap_skip("vmmtest.mem_mib= not given", "MemTotal");
	} else if (!parse_ulong(value, &want)) {
		gtap_ok(false, "vmmtest.mem_mib=%s is a number", value);
	} else {
		long long max_kb = (long long)want * 1024;
		long long slack_kb = max_kb / 5;

		if (slack_kb < 64 * 1024)
			slack_kb = 64 * 1024;
		if (!gtap_ok(mem_kb > 0 && mem_kb <= max_kb &&
				     mem_kb >= max_kb - slack_kb,
			     "MemTotal %lld kB fits %lu MiB of RAM", mem_kb,
			     want))
			gtap_diag("expected %lld..%lld kB", max_kb - slack_kb,
				  max_kb);
	}

	uptime = gtap_read_file("/proc/uptime");
	if (uptime != NULL) {
		char *sp = strchr(uptime, ' ');

		if (sp != NULL)
			*sp = '\0';
		gtap_fact("uptime_s", "%s", uptime);
		free(uptime);
	}
	free(cmdline);
	return gtap_finish();
}
