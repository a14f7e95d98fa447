/* SPDX-License-Identifier: MIT */
#include "vmm/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

enum log_level log_max_level = LOG_INFO;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void vmm_log(enum log_level lvl, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[LOG_ERR] = "", [LOG_WARN] = "warning: ",
		[LOG_INFO] = "", [LOG_DEBUG] = "debug: ",
	};
	va_list ap;

	if (lvl > log_max_level)
		return;
	/* One line per call, never interleaved between vCPU threads. */
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "vmm: %s", prefix[lvl]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

bool ratelimit_allow(struct ratelimit *rl)
{
	static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER;
	uint64_t now = monotonic_ns();
	bool allow;

	pthread_mutex_lock(&rl_lock);
	if (now - rl->window_start_ns > (uint64_t)rl->interval_ms * 1000000ull) {
		if (rl->suppressed)
			vmm_log(LOG_WARN, "%u similar messages suppressed",
				rl->suppressed);
		rl->window_start_ns = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	allow = rl->printed < rl->burst;
	if (allow)
		rl->printed++;
	else
		rl->suppressed++;
	pthread_mutex_unlock(&rl_lock);
	return allow;
}

int error_line(char *buf, size_t len, int ret, const char *fmt, ...)
{
	va_list ap;

	if (buf && len) {
		va_start(ap, fmt);
		vsnprintf(buf, len, fmt, ap);
		va_end(ap);
	}
	return ret;
}
