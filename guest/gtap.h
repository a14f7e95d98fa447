/* SPDX-License-Identifier: MIT */
/*
 * Minimal TAP producer for the guest-side test suites of vmm-guest.
 *
 * Every suite prints a TAP stream on stdout (the guest console); /init wraps
 * it between "VMM-GUEST-TAP-BEGIN suite=NAME" and "VMM-GUEST-TAP-END
 * suite=NAME" lines so the host can cut it out of the console log.
 * Facts the host may check are printed as "# fact: key=value" diagnostics.
 */
#ifndef VMM_GUEST_GTAP_H
#define VMM_GUEST_GTAP_H

#include <stdbool.h>
#include <stddef.h>

void gtap_plan(unsigned int count);
bool gtap_ok(bool success, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gtap_skip(const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gtap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void gtap_fact(const char *key, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Exit status for the suite: 0 if all planned tests ran and passed. */
int gtap_finish(void);

/* Whole contents of a (small) file, NUL-terminated, trailing newlines
 * removed.  Returns NULL (errno set) on failure; free() the result. */
char *gtap_read_file(const char *path);

/* Value of "key=value" on the kernel command line (copied into buf).
 * Returns false if the parameter is absent. */
bool gtap_cmdline_param(const char *cmdline, const char *key, char *buf,
			size_t bufsize);

#endif
