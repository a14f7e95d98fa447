/* SPDX-License-Identifier: MIT */
#include "vmm/pm.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#include <inttypes.h>
#include <string.h>

#define SLP_EN       (1u << 5)
#define SLP_TYP(v)   (((v) >> 2) & 0x7)
#define I8042_CMD_RESET 0xfe

void pm_init(struct pm *pm, uint64_t start_ns,
	     void (*event)(void *opaque, enum pm_event ev), void *opaque)
{
	memset(pm, 0, sizeof(*pm));
	pm->start_ns = start_ns;
	pm->event = event;
	pm->opaque = opaque;
}

static uint32_t pm_read(void *opaque, uint16_t offset, unsigned int size)
{
	struct pm *pm = opaque;

	if (offset == PM_SLEEP_STS_PORT - PM_SLEEP_CTL_PORT)
		return pm->sleep_status;
	return 0;
}

static void pm_write(void *opaque, uint16_t offset, unsigned int size, uint32_t val)
{
	struct pm *pm = opaque;

	switch (offset + PM_SLEEP_CTL_PORT) {
	case PM_SLEEP_CTL_PORT:
		if ((val & SLP_EN) && SLP_TYP(val) == PM_S5_SLP_TYP)
			pm->event(pm->opaque, PM_EVENT_POWEROFF);
		else if (val & SLP_EN)
			pr_ratelimited(LOG_WARN, "guest asked for unsupported sleep type %u (only S5)",
				       SLP_TYP(val));
		break;
	case PM_SLEEP_STS_PORT:
		pm->sleep_status &= (uint8_t)~val;  /* write-1-to-clear */
		break;
	case PM_RESET_PORT:
		if ((val & 0xff) == PM_RESET_VALUE)
			pm->event(pm->opaque, PM_EVENT_RESET);
		break;
	}
}

static const struct pio_ops pm_ops = { .read = pm_read, .write = pm_write };

static uint32_t i8042_read(void *opaque, uint16_t offset, unsigned int size)
{
	/* Status: output buffer empty, input buffer empty: Linux's reset
	 * path waits for the latter before sending its command. */
	return 0;
}

static void i8042_write(void *opaque, uint16_t offset, unsigned int size, uint32_t val)
{
	struct pm *pm = opaque;

	if (offset == I8042_CMD_PORT - 0x60 && (val & 0xff) == I8042_CMD_RESET)
		pm->event(pm->opaque, PM_EVENT_RESET);
}

static const struct pio_ops i8042_ops = { .read = i8042_read, .write = i8042_write };

static void boot_timer_write(void *opaque, uint16_t offset, unsigned int size, uint32_t val)
{
	struct pm *pm = opaque;
	uint64_t now = monotonic_ns();

	if ((val & 0xff) != BOOT_TIMER_MAGIC)
		return;
	if (!pm->boot_time_ns)
		pm->boot_time_ns = now - pm->start_ns;
	pm->boot_timer_writes++;
	/* Not rate-limited by design: one line per guest boot, but a guest
	 * writing in a loop must not flood, so only the first few print. */
	if (pm->boot_timer_writes <= 3)
		vmm_log(LOG_ERR, "guest-boot-time = %" PRIu64 " us (%" PRIu64 " ms, VMM start to guest init)",
			(now - pm->start_ns) / 1000, (now - pm->start_ns) / 1000000);
}

static const struct pio_ops boot_timer_ops = { .write = boot_timer_write };

static void post_write(void *opaque, uint16_t offset, unsigned int size, uint32_t val)
{
}

static const struct pio_ops post_ops = { .write = post_write };

int pm_register(struct pm *pm, struct pio_bus *bus)
{
	int ret;

	ret = pio_register(bus, PM_SLEEP_CTL_PORT, PM_RESET_PORT - PM_SLEEP_CTL_PORT + 1,
			   &pm_ops, pm, "acpi-pm");
	if (!ret)
		ret = pio_register(bus, 0x60, 5, &i8042_ops, pm, "i8042");
	if (!ret)
		ret = pio_register(bus, BOOT_TIMER_PORT, 1, &boot_timer_ops, pm, "boot-timer");
	if (!ret)
		ret = pio_register(bus, 0x80, 1, &post_ops, pm, "post");
	return ret;
}
