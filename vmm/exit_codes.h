/* SPDX-License-Identifier: MIT */
#ifndef VMM_EXIT_CODES_H
#define VMM_EXIT_CODES_H

/*
 * Exit status of the vmm program.  Documented in README.md and `vmm --help`;
 * scripts rely on these, so never renumber them.
 */
enum vmm_exit_code {
	VMM_EXIT_POWEROFF = 0,       /* guest powered off (ACPI S5) */
	VMM_EXIT_ERROR = 1,          /* bad input or a VMM/KVM failure */
	VMM_EXIT_PROBE_NO_LINUX = 2, /* `vmm probe`: KVM works but cannot run Linux */
	VMM_EXIT_REBOOT = 3,         /* guest asked for a reset (ACPI reset register, i8042) */
	VMM_EXIT_TRIPLE_FAULT = 4,   /* KVM_EXIT_SHUTDOWN: triple fault */
	VMM_EXIT_INTERNAL_ERROR = 5, /* KVM could not run the guest (internal error, failed entry) */
	VMM_EXIT_STOPPED = 6,        /* stopped from the host: SIGINT/SIGTERM or Ctrl-A x */
	VMM_EXIT_TIMEOUT = 7,        /* --timeout expired */
	VMM_EXIT_DMA_ERROR = 8,      /* --dma-errors=fatal: a DMA-API violation stopped the VM */
	VMM_EXIT_GUEST_FAILED = 9,   /* --guest-run/--guest-script failed, a --guest-module did
				      * not load, or the guest never said how they ended */
};

#endif
