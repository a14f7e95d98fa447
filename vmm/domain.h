/* SPDX-License-Identifier: MIT */
#ifndef VMM_DOMAIN_H
#define VMM_DOMAIN_H

/*
 * libvirt domain XML (https://libvirt.org/formatdomain.html) as a `vmm run`
 * command line: `vmm run --domain FILE.xml` boots what the file describes,
 * `vmm domain --print FILE.xml` prints the equivalent command line.  The
 * mapping is from the document to the options of `vmm run` (domain_args),
 * and the options then go through cli_parse like typed ones: one set of
 * checks, and --print cannot say something else than what run does.
 * What maps, what is accepted and ignored, and what is refused (with one
 * line naming the element): docs/domain-xml.md.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/cli.h"

struct _xmlDoc;

/* The options of `vmm run` a domain stands for ("--mem", "512M", ...). */
struct domain_args {
	char **argv;
	unsigned int argc, cap;
};

/*
 * Map a parsed domain document to `vmm run` options (appended to `out`).
 * Pure: reads nothing but the document (file names in it are not opened).
 * Returns 0, or -1 after writing one line (no newline) into err; `out`
 * must be freed either way.
 */
int domain_args_from_doc(struct _xmlDoc *doc, struct domain_args *out,
			 char *err, size_t errlen);

/* The same from a file: parsed with libxml2 without network access, entity
 * expansion or DTD loading.  Errors name the file. */
int domain_args_from_file(const char *path, struct domain_args *out,
			  char *err, size_t errlen);

void domain_args_free(struct domain_args *a);

/* "vmm run OPTIONS...\n", each word quoted for a POSIX shell where needed. */
void domain_print_command(FILE *f, const struct domain_args *a);

/*
 * `vmm run --domain FILE [OTHER OPTIONS]`: cfg as cli_parse left it (with
 * cfg->domain set).  Maps FILE to options (into `opts`, as --print shows
 * them) and cli_parse()s "run", those, then argv's options other than
 * --domain, into cfg.  `keep` owns the strings cfg then points into.  Free
 * both after the run, whatever the result.
 */
int domain_cli_parse(int argc, char **argv, struct vmm_config *cfg,
		     uint64_t host_mem_bytes, struct domain_args *opts,
		     struct domain_args *keep, char *err, size_t errlen);

#endif
