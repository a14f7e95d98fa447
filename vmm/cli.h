/* SPDX-License-Identifier: MIT */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

#define VMM_MIN_MEM   (64ull << 20)
#define VMM_MAX_CPUS  64
#define VMM_DEFAULT_MEM (512ull << 20)
#define VMM_MAX_DISKS 4
#define VMM_MAX_DMATEST 4
#define VMM_MAX_NETS 4
#define VMM_MAX_NVME 2              /* ECAM_BUSES limits the root ports --untrusted needs */
#define VMM_MAX_NVME_QUEUES 16     /* I/O queue pairs of one --nvme */
#define VMM_MAX_NET_QUEUES 8       /* queue pairs of one --net */
#define VMM_MIN_NET_MTU 68         /* IPv4's minimum */
#define VMM_MAX_NET_MTU 65521      /* a TAP's largest: 65535 less the Ethernet header */
#define VMM_DEFAULT_BOUNCE_POOL (64ull << 20)
#define VMM_MIN_BOUNCE_POOL (256ull << 10)
#define VMM_MAX_BOUNCE_POOL (4ull << 30)
#define VMM_MAX_GUEST_MODULES 16
#define VMM_MAX_GUEST_FILES 64

enum vmm_command { CMD_NONE, CMD_RUN, CMD_PROBE, CMD_DUMP_ACPI, CMD_DOMAIN, CMD_HELP, CMD_VERSION };

struct vmm_config {
	enum vmm_command command;
	const char *kernel;      /* NULL: the default guest */
	const char *initrd;      /* NULL: the default guest's, or none with --kernel */
	const char *cmdline;     /* NULL: DEFAULT_CMDLINE */
	const char *console;     /* NULL: stdout */
	const char *dump_dir;    /* dump-acpi output directory */
	uint64_t mem_bytes;
	unsigned int cpus;
	unsigned int timeout_s;  /* 0: none */
	const char *report;      /* --report FILE: JSON lines */
	struct {
		const char *path;
		bool read_only;
	} disk[VMM_MAX_DISKS];
	unsigned int ndisks;
	/* --dmatest [width=N][,untrusted]: DMA test devices (guest/dmatest/dmatest_hw.h) */
	struct {
		unsigned int width;     /* addressing width in bits: 64, 40, 32 or 24 */
		bool untrusted;         /* below its own external-facing root port */
	} dmatest[VMM_MAX_DMATEST];
	unsigned int ndmatest;
	/* --net tap=NAME[,mac=MAC][,queues=N][,mtu=N]: virtio-net devices */
	struct {
		char tap[16];           /* the TAP interface (IFNAMSIZ) */
		uint8_t mac[6];
		bool has_mac;           /* else a default one */
		unsigned int queues;    /* queue pairs */
		unsigned int mtu;       /* 0: the TAP's own */
	} net[VMM_MAX_NETS];
	unsigned int nnets;
	/* --nvme PATH[,ro][,serial=S][,queues=N]: NVMe controllers (vmm/nvme.h) */
	struct {
		const char *path;
		bool read_only;
		char serial[21];        /* Identify Controller SN; "" = vmm-nvme<i> */
		unsigned int queues;    /* I/O queue pairs; 0 = one per vCPU */
	} nvme[VMM_MAX_NVME];
	unsigned int nnvme;
	/* --untrusted: every endpoint below its own external-facing PCIe root
	 * port, so that the guest treats it as untrusted (sub-page bouncing,
	 * strict invalidation). */
	bool untrusted;
	uint64_t bounce_pool_bytes;  /* --bounce-pool: host bounce pool size */
	bool dma_errors_fatal;       /* --dma-errors=fatal: stop at the first violation */
	/* --domain FILE (run), or the FILE of `vmm domain --print FILE`:
	 * libvirt domain XML (vmm/domain.h) */
	const char *domain;
	bool domain_print;
	/* "Check my driver" (vmm/guest_layer.h): an extra initramfs archive
	 * for the default guest with these modules, files and command. */
	const char *guest_module[VMM_MAX_GUEST_MODULES];  /* --guest-module FILE.ko */
	unsigned int n_guest_modules;
	struct {
		const char *src, *dest;  /* --guest-file SRC:DEST */
	} guest_file[VMM_MAX_GUEST_FILES];
	unsigned int n_guest_files;
	const char *guest_run;       /* --guest-run CMD */
	const char *guest_script;    /* --guest-script FILE */
	const char *name;        /* --name: the VM's name, in the report */
	const char *uuid;        /* --uuid: 8-4-4-4-12 hex digits, in the report */
	bool no_iommu;           /* endpoints not behind the virtio-iommu */
	bool no_rng;
	bool verbose;
	bool quiet;
};

#define DEFAULT_CMDLINE "console=ttyS0 panic=-1"

/*
 * Parse argv into cfg.  Returns 0 on success; on a usage error returns -1
 * after writing one line (no newline) into err.  Never exits, never prints:
 * main() owns the output, unit tests own the assertions.
 * host_mem_bytes bounds --mem (0: no bound).
 */
int cli_parse(int argc, char **argv, struct vmm_config *cfg,
	      uint64_t host_mem_bytes, char *err, size_t errlen);

/* "512M", "1G", "2048" (MiB), "1048576K".  Returns 0 or -1. */
int parse_size(const char *s, uint64_t *out);
/* Decimal unsigned in [min, max]. Returns 0 or -1. */
int parse_uint(const char *s, unsigned long min, unsigned long max,
	       unsigned long *out);

void cli_usage(FILE *f);
#endif
