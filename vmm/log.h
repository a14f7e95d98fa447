/* SPDX-License-Identifier: MIT */
#ifndef VMM_LOG_H
#define VMM_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every VMM message goes to stderr prefixed "vmm: ", so it can never be
 * mistaken for the guest's console output on stdout. */
enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

extern enum log_level log_max_level;

void vmm_log(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define pr_err(...)   vmm_log(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  vmm_log(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  vmm_log(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) vmm_log(LOG_DEBUG, __VA_ARGS__)

/*
 * Rate limiting for messages a guest can trigger at will: at most `burst`
 * messages per `interval_ms`, then one "N messages suppressed" line when the
 * window reopens.  A guest must never be able to flood the host's log.
 */
struct ratelimit {
	uint64_t window_start_ns;
	unsigned int interval_ms;
	unsigned int burst;
	unsigned int printed;
	unsigned int suppressed;
};

#define RATELIMIT_INIT(ms, n) { .interval_ms = (ms), .burst = (n) }

bool ratelimit_allow(struct ratelimit *rl);

#define pr_ratelimited(lvl, ...)                                          \
	do {                                                              \
		static struct ratelimit rl__ = RATELIMIT_INIT(5000, 10);  \
		if (ratelimit_allow(&rl__))                               \
			vmm_log(lvl, __VA_ARGS__);                        \
	} while (0)

uint64_t monotonic_ns(void);

/* Formats one error line into buf (when there is one) and returns ret: the
 * "one clear line" a bad input gets, for the caller to print. */
int error_line(char *buf, size_t len, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
