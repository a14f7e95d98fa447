/* SPDX-License-Identifier: MIT */
#include "tests/tap/basic.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long planned, current, failures;
static bool lazy, plan_printed;

static void finish(void)
{
	if (lazy && !plan_printed)
		printf("1..%lu\n", current);
	if (!lazy && planned != current)
		printf("# planned %lu tests but ran %lu\n", planned, current);
	fflush(stdout);
	if (failures || (!lazy && planned != current))
		_exit(1);
}

void plan(unsigned long count)
{
	planned = count;
	plan_printed = true;
	printf("1..%lu\n", count);
	fflush(stdout);
	atexit(finish);
}

void plan_lazy(void)
{
	lazy = true;
	atexit(finish);
}

void skip_all(const char *fmt, ...)
{
	va_list ap;

	printf("1..0 # SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(0);
}

static bool report(bool success, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static bool report(bool success, const char *fmt, va_list ap)
{
	current++;
	if (!success)
		failures++;
	printf("%sok %lu", success ? "" : "not ", current);
	if (fmt && *fmt) {
		printf(" - ");
		vprintf(fmt, ap);
	}
	printf("\n");
	fflush(stdout);
	return success;
}

bool ok(bool success, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = report(success, fmt, ap);
	va_end(ap);
	return r;
}

bool is_int(long long wanted, long long seen, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = report(wanted == seen, fmt, ap);
	va_end(ap);
	if (!r)
		diag("wanted: %lld, seen: %lld", wanted, seen);
	return r;
}

bool is_hex(unsigned long long wanted, unsigned long long seen, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = report(wanted == seen, fmt, ap);
	va_end(ap);
	if (!r)
		diag("wanted: %#llx, seen: %#llx", wanted, seen);
	return r;
}

bool is_string(const char *wanted, const char *seen, const char *fmt, ...)
{
	va_list ap;
	bool r, same = (!wanted && !seen) || (wanted && seen && !strcmp(wanted, seen));

	va_start(ap, fmt);
	r = report(same, fmt, ap);
	va_end(ap);
	if (!r)
		diag("wanted: \"%s\", seen: \"%s\"", wanted ? wanted : "(null)",
		     seen ? seen : "(null)");
	return r;
}

bool is_blob(const void *wanted, const void *seen, size_t len, const char *fmt, ...)
{
	va_list ap;
	bool r;

	va_start(ap, fmt);
	r = report(!memcmp(wanted, seen, len), fmt, ap);
	va_end(ap);
	if (!r) {
		for (size_t i = 0; i < len; i++) {
			if (((const unsigned char *)wanted)[i] != ((const unsigned char *)seen)[i]) {
				diag("first difference at byte %zu: wanted %#x, seen %#x", i,
				     ((const unsigned char *)wanted)[i],
				     ((const unsigned char *)seen)[i]);
				break;
			}
		}
	}
	return r;
}

void skip(const char *reason, ...)
{
	va_list ap;

	current++;
	printf("ok %lu # skip ", current);
	va_start(ap, reason);
	vprintf(reason, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void diag(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

void bail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(255);
}
