/* SPDX-License-Identifier: MIT */
/* The I/O-port bus and the platform devices: ACPI power-off/reset
 * registers, the i8042 reset, the boot timer. */
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/pio.h"
#include "vmm/pm.h"
#include "tests/tap/basic.h"

#include <errno.h>

static int poweroffs, resets;

static void event(void *opaque, enum pm_event ev)
{
	if (ev == PM_EVENT_POWEROFF)
		poweroffs++;
	else
		resets++;
}

static uint32_t dummy_read(void *o, uint16_t off, unsigned int size) { return 0x1234u + off; }
static const struct pio_ops dummy_ops = { .read = dummy_read };

int main(void)
{
	static struct pio_bus bus;
	struct pm pm;
	uint32_t v;

	plan(20);
	log_max_level = LOG_ERR;

	is_int(0, pio_register(&bus, 0x100, 8, &dummy_ops, NULL, "a"), "register 0x100-0x107");
	is_int(-EBUSY, pio_register(&bus, 0x104, 8, &dummy_ops, NULL, "b"), "overlap refused");
	is_int(-EBUSY, pio_register(&bus, 0xf8, 9, &dummy_ops, NULL, "c"), "overlap from below refused");
	is_int(-EINVAL, pio_register(&bus, 0xfffe, 4, &dummy_ops, NULL, "d"), "range past 0xffff refused");
	is_int(-EINVAL, pio_register(&bus, 0x200, 0, &dummy_ops, NULL, "e"), "empty range refused");
	ok(pio_access(&bus, 0x103, false, 1, &v) && v == 0x1237, "read dispatched with the offset");
	ok(!pio_access(&bus, 0x108, false, 2, &v) && v == 0xffffffffu, "unclaimed port reads all-ones");
	is_int(1, (long long)bus.unclaimed, "unclaimed access counted");

	pm_init(&pm, monotonic_ns(), event, NULL);
	is_int(0, pm_register(&pm, &bus), "platform devices register");
	v = (PM_S5_SLP_TYP << 2);
	pio_access(&bus, PM_SLEEP_CTL_PORT, true, 1, &v);
	is_int(0, poweroffs, "SLP_TYP without SLP_EN does nothing");
	v = (PM_S5_SLP_TYP << 2) | (1 << 5);
	pio_access(&bus, PM_SLEEP_CTL_PORT, true, 1, &v);
	is_int(1, poweroffs, "S5 + SLP_EN powers off");
	v = (3 << 2) | (1 << 5);
	pio_access(&bus, PM_SLEEP_CTL_PORT, true, 1, &v);
	is_int(1, poweroffs, "S3 is not power-off");
	v = 0x7;
	pio_access(&bus, PM_RESET_PORT, true, 1, &v);
	is_int(0, resets, "a wrong reset value does nothing");
	v = PM_RESET_VALUE;
	pio_access(&bus, PM_RESET_PORT, true, 1, &v);
	is_int(1, resets, "the FADT reset value resets");
	v = 0xfe;
	pio_access(&bus, I8042_CMD_PORT, true, 1, &v);
	is_int(2, resets, "i8042 command 0xfe resets");
	ok(pio_access(&bus, I8042_CMD_PORT, false, 1, &v) && (v & 0x2) == 0,
	   "i8042 input buffer reads empty (Linux waits for it)");

	is_int(0, (long long)pm.boot_time_ns, "no boot time before the guest writes");
	v = 42;
	pio_access(&bus, BOOT_TIMER_PORT, true, 1, &v);
	is_int(0, (long long)pm.boot_time_ns, "a wrong boot-timer value is ignored");
	v = BOOT_TIMER_MAGIC;
	pio_access(&bus, BOOT_TIMER_PORT, true, 1, &v);
	ok(pm.boot_time_ns > 0, "boot time recorded");
	v = 0x55;
	ok(pio_access(&bus, 0x80, true, 1, &v), "port 0x80 POST codes are swallowed");
	return 0;
}
