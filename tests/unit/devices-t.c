/* SPDX-License-Identifier: MIT */
/* The I/O-port bus and the platform devices: ACPI power-off/reset
 * registers, the i8042 reset, the boot timer.  The PCI topology planner:
 * which endpoint goes where, the root ports for untrusted ones, what the
 * ACPI tables say about it, and when the guest will lack a swiotlb. */
#include "vmm/devices.h"
#include "vmm/layout.h"
#include "vmm/log.h"
#include "vmm/pio.h"
#include "vmm/pm.h"
#include "tests/tap/basic.h"

#include <errno.h>
#include <string.h>

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

/* cli_parse() of a command line ("run --untrusted ..."; words split at
 * spaces, '+' stands for a space inside one word). */
static struct vmm_config *parse(const char *line)
{
	static struct vmm_config cfg;
	static char words[512];
	char *argv[32], err[256];
	int argc = 0;

	argv[argc++] = "vmm";
	snprintf(words, sizeof(words), "%s", line);
	for (char *w = strtok(words, " "); w && argc < 31; w = strtok(NULL, " ")) {
		for (char *c = w; *c; c++)
			if (*c == '+')
				*c = ' ';
		argv[argc++] = w;
	}
	argv[argc] = NULL;
	if (cli_parse(argc, argv, &cfg, 0, err, sizeof(err)))
		bail("cli_parse '%s': %s", line, err);
	return &cfg;
}

static bool at(const struct devices_loc *l, unsigned int bus, unsigned int slot)
{
	return l->present && l->bus == bus && l->slot == slot;
}

static bool range(const struct acpi_config *a, unsigned int i, uint16_t start, uint16_t end)
{
	return i < a->nendpoint_ranges && a->endpoints[i].bdf_start == start &&
	       a->endpoints[i].bdf_end == end;
}

static void topology(void)
{
	struct devices_plan p, q;
	struct acpi_config a;
	bool ports_ok = true;

	/* Today's machine: everything on bus 0, one VIOT range as always. */
	devices_plan(parse("run --disk d0 --disk d1 --dmatest"), &p);
	ok(p.iommu && at(&p.rng, 0, 2) && at(&p.blk[0], 0, 3) && at(&p.blk[1], 0, 4) &&
	   at(&p.dmatest[0], 0, 8) && !p.blk[2].present && !p.dmatest[1].present,
	   "default: rng 00:02, disks 00:03-04, dmatest 00:08");
	is_int(0, p.nports, "default: no root ports");
	memset(&a, 0, sizeof(a));
	devices_describe(parse("run --disk d0"), &a);
	ok(a.viommu && a.viommu_bdf == 0x08 && a.nendpoint_ranges == 1 && range(&a, 0, 0x10, 0xff) &&
	   a.nroot_ports == 0 && a.ecam_base == ECAM_BASE,
	   "default ACPI: IOMMU 00:01.0, VIOT 00:02.0-00:1f.7, no SSDT ports");

	/* --untrusted: a port per endpoint in the endpoint's slot. */
	devices_plan(parse("run --untrusted --disk d0 --disk d1 --dmatest"), &p);
	ok(at(&p.rng, 1, 0) && at(&p.blk[0], 2, 0) && at(&p.blk[1], 3, 0) && at(&p.dmatest[0], 4, 0),
	   "--untrusted: endpoints at 01:00.0, 02:00.0, 03:00.0, 04:00.0");
	is_int(4, p.nports, "--untrusted: four root ports");
	for (unsigned int i = 0; i < p.nports; i++)
		ports_ok &= p.port[i].secondary_bus == i + 1 && p.port[i].external_facing;
	ok(ports_ok && p.port[0].slot == 2 && p.port[1].slot == 3 && p.port[2].slot == 4 &&
	   p.port[3].slot == 8, "--untrusted: external-facing ports 00:02, 03, 04, 08 -> buses 1-4");
	ok(p.rng.port == 0 && p.blk[0].port == 1 && p.blk[1].port == 2 && p.dmatest[0].port == 3,
	   "--untrusted: each endpoint knows its port");
	devices_plan(parse("run --untrusted --disk d0 --disk d1 --dmatest"), &q);
	ok(!memcmp(&p, &q, sizeof(p)), "the same configuration, the same plan");
	memset(&a, 0, sizeof(a));
	devices_describe(parse("run --untrusted --disk d0 --disk d1 --dmatest"), &a);
	is_int(4, a.nroot_ports, "--untrusted ACPI: four root ports for the SSDT");
	ok(a.root_port[0].slot == 2 && a.root_port[0].secondary_bus == 1 && a.root_port[0].external_facing &&
	   a.root_port[3].slot == 8 && a.root_port[3].secondary_bus == 4, "... with their slots and buses");
	ok(a.nendpoint_ranges == 6 && range(&a, 0, 0x28, 0x3f) && range(&a, 1, 0x48, 0xff) &&
	   range(&a, 2, 0x100, 0x1ff) && range(&a, 3, 0x200, 0x2ff) && range(&a, 4, 0x300, 0x3ff) &&
	   range(&a, 5, 0x400, 0x4ff),
	   "--untrusted VIOT: bus 0 except the ports (00:05-07, 00:09-1f), buses 1-4 whole");

	/* --dmatest untrusted: only that one. */
	devices_plan(parse("run --disk d0 --dmatest --dmatest untrusted,width=32"), &p);
	ok(at(&p.rng, 0, 2) && at(&p.blk[0], 0, 3) && at(&p.dmatest[0], 0, 8) && at(&p.dmatest[1], 1, 0) &&
	   p.nports == 1 && p.port[0].slot == 9 && p.port[0].external_facing,
	   "--dmatest untrusted: dmatest1 at 01:00.0 below the port 00:09, the rest on bus 0");
	memset(&a, 0, sizeof(a));
	devices_describe(parse("run --disk d0 --dmatest --dmatest untrusted"), &a);
	ok(a.nendpoint_ranges == 3 && range(&a, 0, 0x10, 0x47) && range(&a, 1, 0x50, 0xff) &&
	   range(&a, 2, 0x100, 0x1ff), "... VIOT: 00:02-08, 00:0a-1f, bus 1");

	/* Network devices from slot 12, behind their own ports when untrusted. */
	devices_plan(parse("run --disk d0 --dmatest --net tap=a --net tap=b,queues=2"), &p);
	ok(at(&p.net[0], 0, 12) && at(&p.net[1], 0, 13) && !p.net[2].present && p.nports == 0,
	   "--net: virtio-net at 00:0c and 00:0d");
	devices_plan(parse("run --untrusted --net tap=a"), &p);
	ok(at(&p.rng, 1, 0) && at(&p.net[0], 2, 0) && p.nports == 2 && p.port[1].slot == 12,
	   "--untrusted --net: the network device at 02:00.0 below the port 00:0c");

	/* NVMe controllers from slot 16, inside the bus-0 VIOT range;
	 * behind their own ports when untrusted. */
	devices_plan(parse("run --nvme a --nvme b,serial=x"), &p);
	ok(at(&p.nvme[0], 0, 16) && at(&p.nvme[1], 0, 17) && p.nports == 0, "--nvme: at 00:10 and 00:11");
	devices_describe(parse("run --nvme a"), &a);
	ok(a.nendpoint_ranges == 1 && range(&a, 0, 0x10, 0xff), "--nvme: the VIOT's bus-0 range holds it");
	devices_plan(parse("run --untrusted --nvme a"), &p);
	ok(at(&p.nvme[0], 2, 0) && p.nports == 2 && p.port[1].slot == 16,
	   "--untrusted --nvme: the controller at 02:00.0 below the port 00:10");

	devices_plan(parse("run --untrusted --no-rng --disk d0"), &p);
	ok(!p.rng.present && at(&p.blk[0], 1, 0) && p.nports == 1 && p.port[0].slot == 3,
	   "--no-rng --untrusted: the disk's port keeps slot 3, bus 1");
	memset(&a, 0, sizeof(a));
	devices_describe(parse("run --no-iommu --disk d0"), &a);
	ok(!a.viommu && a.nendpoint_ranges == 0, "--no-iommu: no VIOT ranges");

	/* Will the guest have a swiotlb for its untrusted devices? */
	ok(devices_untrusted_without_swiotlb(parse("run --untrusted")),
	   "--untrusted, 512 MiB, default command line: no swiotlb");
	ok(!devices_untrusted_without_swiotlb(parse("run --untrusted --cmdline console=ttyS0+swiotlb=force")),
	   "swiotlb=force gives one");
	ok(!devices_untrusted_without_swiotlb(parse("run --untrusted --cmdline swiotlb=4096,force+quiet")),
	   "swiotlb=4096,force too");
	ok(devices_untrusted_without_swiotlb(parse("run --untrusted --cmdline swiotlb=noforce")),
	   "swiotlb=noforce does not");
	ok(devices_untrusted_without_swiotlb(parse("run --untrusted --cmdline quiet+--+swiotlb=force")),
	   "nor a swiotlb=force after -- (init's)");
	ok(!devices_untrusted_without_swiotlb(parse("run --untrusted --mem 3328M")),
	   "RAM above 4 GiB gives one");
	ok(!devices_untrusted_without_swiotlb(parse("run --disk d0")), "nothing untrusted: no question");
	ok(devices_untrusted_without_swiotlb(parse("run --dmatest untrusted")),
	   "one untrusted dmatest is enough to need it");
	ok(!devices_untrusted_without_swiotlb(parse("run --dmatest width=32")),
	   "a trusted dmatest does not need it");
}

int main(void)
{
	static struct pio_bus bus;
	struct pm pm;
	uint32_t v;

	plan(22 + 27);
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

	topology();
	return 0;
}
