/* SPDX-License-Identifier: MIT */
#ifndef TAP_BASIC_H
#define TAP_BASIC_H

/*
 * A small TAP producer for C unit tests, in the spirit of c-tap-harness's
 * tests/tap/basic.h: a fixed plan, ok/is_* assertions that print
 * "ok N - description" or "not ok N - ...", diagnostics as "# ...", and
 * skip_all for the "1..0 # SKIP reason" case.  The exit status is non-zero
 * when any test failed or the plan was not met.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void plan(unsigned long count);
void plan_lazy(void);          /* print the plan at exit: only when the count truly varies */
void skip_all(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

bool ok(bool success, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool is_int(long long wanted, long long seen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool is_hex(unsigned long long wanted, unsigned long long seen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool is_string(const char *wanted, const char *seen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool is_blob(const void *wanted, const void *seen, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void skip(const char *reason, ...) __attribute__((format(printf, 1, 2)));

void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
