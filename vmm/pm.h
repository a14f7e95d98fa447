/* SPDX-License-Identifier: MIT */
#ifndef VMM_PM_H
#define VMM_PM_H

#include <stdint.h>

#include "vmm/pio.h"

/*
 * Small platform devices on the I/O-port bus:
 *  - the HW-reduced ACPI sleep control/status and reset registers the FADT
 *    points at (power-off = S5, reset),
 *  - the i8042 "pulse reset line" command (0xfe to port 0x64), Linux's
 *    fallback when ACPI reset does not take,
 *  - the boot timer (in the spirit of Firecracker's): the guest's init
 *    writes BOOT_TIMER_MAGIC and the VMM reports the time since it started,
 *  - port 0x80 (POST codes), swallowed silently.
 */
enum pm_event { PM_EVENT_POWEROFF, PM_EVENT_RESET };

struct pm {
	void (*event)(void *opaque, enum pm_event ev);
	void *opaque;
	uint64_t start_ns;        /* VMM start, for the boot timer */
	uint64_t boot_time_ns;    /* first boot-timer write, 0 if none yet */
	unsigned int boot_timer_writes;
	uint8_t sleep_status;
};

void pm_init(struct pm *pm, uint64_t start_ns,
	     void (*event)(void *opaque, enum pm_event ev), void *opaque);
int pm_register(struct pm *pm, struct pio_bus *bus);

#endif
