/* SPDX-License-Identifier: MIT */
#ifndef VMM_GUEST_LAYER_H
#define VMM_GUEST_LAYER_H

/*
 * "Check my driver" (vmm run --guest-module/--guest-file/--guest-run/
 * --guest-script): one extra initramfs archive that vmm builds in memory and
 * appends to the default guest's (Linux unpacks concatenated newc archives
 * in order, each starting on a 4-byte boundary).  The default guest's
 * /init (guest/init.sh) finds it under /vmm-layer:
 *
 *   /vmm-layer/modules/NAME.ko   the --guest-module files
 *   /vmm-layer/load.order        their names, one a line, in command-line order
 *   /vmm-layer/run               the --guest-run command (as a /bin/sh script)
 *                                or the --guest-script file, mode 0755
 *   DEST                         each --guest-file SRC:DEST (parents created)
 *
 * and reports how it went through the guest-status port
 * (guest/layer_status.h), which vmm turns into its exit status.
 * All of this is KVM-free (unit tests: tests/unit/guest-layer-t.c).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/boot.h"
#include "vmm/cli.h"
#include "vmm/pio.h"
#include "guest/layer_status.h"

#define GUEST_LAYER_DIR "vmm-layer"

/* --- newc cpio archive in memory ---------------------------------------- */
struct cpio_buf {
	uint8_t *data;
	size_t len, cap;
	uint32_t next_ino;
};

/* PATH without a leading '/'; MODE includes the file type bits (S_IFREG,
 * S_IFDIR).  0, or -ENOMEM / -EFBIG (a file of 4 GiB or more: newc sizes
 * are 32-bit) / -EINVAL (empty or over-long name). */
int cpio_add(struct cpio_buf *c, const char *path, uint32_t mode,
	     const void *data, size_t len);
/* The "TRAILER!!!" entry that ends an archive. */
int cpio_finish(struct cpio_buf *c);
void cpio_free(struct cpio_buf *c);

/* --- kernel module checks ------------------------------------------------ */
/*
 * The vermagic string of a kernel module: the "vermagic=" entry of its
 * .modinfo section (an x86-64 little-endian ELF relocatable object).  Every
 * offset and size in the file is checked against its length: the file is
 * untrusted input.  0, or -EINVAL with a one-line reason in err (not ELF,
 * compressed, another architecture, truncated, no .modinfo, no vermagic).
 */
int modinfo_vermagic(const uint8_t *elf, size_t len, char *vermagic, size_t vlen,
		     char *err, size_t errlen);

/* The release (first word of the setup header's kernel_version string,
 * e.g. "6.12.117+deb12-cloud-amd64") of a parsed bzImage.  0 or -ENOENT. */
int bzimage_release(const struct bzimage *bz, char *buf, size_t len);

/*
 * --guest-file SRC:DEST, DEST as given: the path inside the guest, without
 * its leading '/' ("DIR/" means DIR/basename(SRC)), into out.  Refuses what
 * the guest's /init would hide or what is the layer's own: an empty name,
 * "..", /init, /vmm-layer, and the mount points /dev, /proc, /sys, /tmp.
 * 0, or -EINVAL with one line in err.
 */
int guest_file_dest(const char *src, const char *dest, char *out, size_t outlen,
		    char *err, size_t errlen);

/* --- the layer ----------------------------------------------------------- */
static inline bool guest_layer_wanted(const struct vmm_config *cfg)
{
	return cfg->n_guest_modules || cfg->n_guest_files || cfg->guest_run || cfg->guest_script;
}

/*
 * Read every --guest-* input, check each module's vermagic against
 * kernel_release, and build the archive (ending with its trailer).
 * 0, or -1 with one line in err naming the option and file.
 */
int guest_layer_build(const struct vmm_config *cfg, const char *kernel_release,
		      struct cpio_buf *out, char *err, size_t errlen);

/* --- the guest-status port (guest/layer_status.h) ----------------------- */
struct guest_status {
	/* Written by a vCPU thread, read by the main thread after the vCPUs
	 * stopped. */
	int reported;          /* 0: nothing yet */
	int kind;              /* GUEST_STATUS_COMMAND or GUEST_STATUS_MODULE */
	int value;
};

int guest_status_register(struct guest_status *gs, struct pio_bus *bus);

/*
 * vmm's exit status for a guest that powered off with a layer: 0 when the
 * command (or the module loading) succeeded, VMM_EXIT_GUEST_FAILED when it
 * failed, when a module did not load, or when the guest never said; with
 * one line in msg either way.
 */
int guest_status_verdict(const struct guest_status *gs, const struct vmm_config *cfg,
			 char *msg, size_t msglen);

#endif
