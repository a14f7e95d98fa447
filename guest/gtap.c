/* SPDX-License-Identifier: MIT */
/* Minimal TAP producer for guest suites (see gtap.h). */
#include "guest/gtap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned int planned, current, failed;

void gtap_plan(unsigned int count)
{
	planned = count;
	printf("1..%u\n", count);
	fflush(stdout);
}

static void vline(const char *prefix, const char *fmt, va_list ap)
{
	char buf[4096];
	const char *p, *nl;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* One TAP line per output line, whatever the message contains. */
	for (p = buf;; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL) {
			printf("%s%s\n", prefix, p);
			break;
		}
		printf("%s%.*s\n", prefix, (int)(nl - p), p);
	}
}

bool gtap_ok(bool success, const char *fmt, ...)
{
	va_list ap;
	char desc[2048];

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	for (char *c = desc; *c; c++)
		if (*c == '\n' || *c == '#')
			*c = ' ';
	current++;
	if (!success)
		failed++;
	printf("%sok %u - %s\n", success ? "" : "not ", current, desc);
	fflush(stdout);
	return success;
}

void gtap_skip(const char *reason, const char *fmt, ...)
{
	va_list ap;
	char desc[2048];

	va_start(ap, fmt);
	vsnprintf(desc, sizeof(desc), fmt, ap);
	va_end(ap);
	current++;
	printf("ok %u - %s # SKIP %s\n", current, desc, reason);
	fflush(stdout);
}

void gtap_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline("# ", fmt, ap);
	va_end(ap);
	fflush(stdout);
}

void gtap_fact(const char *key, const char *fmt, ...)
{
	va_list ap;
	char value[4096];

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	for (char *c = value; *c; c++)
		if (*c == '\n')
			*c = ' ';
	printf("# fact: %s=%s\n", key, value);
	fflush(stdout);
}

int gtap_finish(void)
{
	if (current != planned) {
		printf("# planned %u tests but ran %u\n", planned, current);
		return 1;
	}
	if (failed) {
		printf("# failed %u of %u tests\n", failed, current);
		return 1;
	}
	return 0;
}

char *gtap_read_file(const char *path)
{
	size_t size = 0, cap = 4096;
	char *buf = malloc(cap);
	int fd;

	if (buf == NULL)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	for (;;) {
		ssize_t n;

		if (cap - size < 2) {
			char *nbuf = realloc(buf, cap * 2);

			if (nbuf == NULL)
				goto fail;
			buf = nbuf;
			cap *= 2;
		}
		n = read(fd, buf + size, cap - size - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		if (n == 0)
			break;
		size += (size_t)n;
	}
	close(fd);
	while (size > 0 && buf[size - 1] == '\n')
		size--;
	buf[size] = '\0';
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

bool gtap_cmdline_param(const char *cmdline, const char *key, char *buf,
			size_t bufsize)
{
	size_t klen = strlen(key);
	const char *p = cmdline;
	bool found = false;

	/* The last occurrence wins, as for the kernel's own parameters.
	 * Quoted values are not needed by our suites and not supported. */
	while (*p) {
		const char *end;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		end = p;
		while (*end && *end != ' ' && *end != '\t' && *end != '\n')
			end++;
		/* Words after "--" are init's arguments, not parameters. */
		if (end - p == 2 && p[0] == '-' && p[1] == '-')
			break;
		if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 &&
		    p[klen] == '=') {
			size_t vlen = (size_t)(end - p) - klen - 1;

			if (vlen >= bufsize)
				vlen = bufsize - 1;
			memcpy(buf, p + klen + 1, vlen);
			buf[vlen] = '\0';
			found = true;
		}
		p = end;
	}
	return found;
}
