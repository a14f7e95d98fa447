/* SPDX-License-Identifier: MIT */
/* Guest-side TAP suites run by "vmm-guest suite NAME" (see vmm-guest.c). */
#ifndef VMM_GUEST_SUITES_H
#define VMM_GUEST_SUITES_H

struct guest_suite {
	const char *name;
	const char *summary;
	int (*run)(void);
};

/* NULL-terminated table, defined in vmm-guest.c. */
extern const struct guest_suite guest_suites[];

int suite_boot(void);

#endif
