#!/bin/sh
# SPDX-License-Identifier: MIT
#
# /init of vmm's default guest (busybox sh).  Kernel command line knobs:
#   vmmguest.suites=a,b   guest TAP suites to run (default: boot; empty: none)
#   vmmguest.shell=1      interactive shell on the console after the suites;
#                         exiting it ends the guest (vmmguest.end)
#   vmmguest.printk=N     console loglevel while the suites run (default 1)
#   vmmguest.modules=0    do not load the modules of /lib/modules/*/load.order
#   vmmguest.end=ACTION   how the guest ends once the suites (and the shell)
#                         are done: poweroff (default: "poweroff -f", the VMM
#                         exits 0), reboot ("reboot -f": how Linux resets
#                         follows its reboot= option, e.g. reboot=acpi (reset
#                         register), reboot=k (i8042), reboot=t (triple
#                         fault)), or wait (sleep forever; for the VMM's
#                         --timeout and signal tests).  Anything else: poweroff.
# The first line init prints is "vmm-guest-init: start" (before it touches
# the boot-timer port, so a VMM whose port write faults can still be timed);
# with vmmguest.end=wait it prints "vmm-guest-init: vmmguest.end=wait:
# waiting forever" before it waits.
# "Check my driver" (vmm run --guest-module/--guest-file/--guest-run/
# --guest-script): vmm appends an archive with /vmm-layer (vmm/guest_layer.h).
# Then the default suites are none, the console loglevel is 7 (the
# modules' messages show) and, after the default guest's modules (its own
# dmatest driver left out: the dmatest devices are the driver's under
# test), init loads /vmm-layer/modules in load.order, runs /vmm-layer/run
# with its output on the console, tells vmm how that ended through the
# guest-status port (vmm-guest layer-status; guest/layer_status.h) and ends
# the guest as usual.  The --guest-file files are already in place.
# Each suite's TAP goes between "VMM-GUEST-TAP-BEGIN suite=NAME" and
# "VMM-GUEST-TAP-END suite=NAME".  Errors in this script still end the guest
# (poweroff unless vmmguest.end says otherwise).

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

# The archive has no /dev/console node: mount devtmpfs and take the console
# (before that, init has no stdout).
mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev 2>/dev/null
exec 0</dev/console 1>/dev/console 2>&1
# The boot marker, then the VMM's boot timer: userspace has started.  If the
# port write faults (QEMU as nested VMM), vmm-guest says so and returns.
echo "vmm-guest-init: start"
/usr/bin/vmm-guest boot-timer

mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /tmp

end=poweroff
guest_end() {
	sync
	# Linux 6.12.117 (virtio_dev_shutdown) breaks and resets the
	# virtio-iommu at shutdown like any virtio device, while a lazy (DMA-FQ)
	# domain may still hold UNMAP requests that were queued but not yet
	# kicked (the flush queue kicks them within ~10 ms): the next sync then
	# waits for them on a broken queue, with interrupts off, forever.  So a
	# lazy guest lets its flush queue drain before it shuts down.
	if grep -qx DMA-FQ /sys/kernel/iommu_groups/*/type 2>/dev/null; then
		sleep 1
	fi
	case $end in
	wait)
		echo "vmm-guest-init: vmmguest.end=wait: waiting forever"
		while :; do sleep 1000; done
		;;
	reboot)
		reboot -f
		;;
	esac
	poweroff -f
	# Not reached unless the poweroff failed: reboot (the VMM stops).
	reboot -f
	while :; do sleep 1; done
}

# Never hang: an error in this script still ends the guest.
trap guest_end EXIT

suites=boot shell=0 printk=1 load_modules=1
layer=/vmm-layer
if [ -d "$layer" ]; then
	suites= printk=7
fi
for word in $(cat /proc/cmdline); do
	case $word in
	--) break ;;
	vmmguest.suites=*) suites=${word#vmmguest.suites=} ;;
	vmmguest.shell=*) shell=${word#vmmguest.shell=} ;;
	vmmguest.printk=*) printk=${word#vmmguest.printk=} ;;
	vmmguest.modules=*) load_modules=${word#vmmguest.modules=} ;;
	vmmguest.end=*) end=${word#vmmguest.end=} ;;
	esac
done

release=$(uname -r)
if [ "$load_modules" != 0 ] && [ -f "/lib/modules/$release/load.order" ]; then
	while read -r ko; do
		[ -n "$ko" ] || continue
		[ -d "$layer" ] && [ "$ko" = dmatest.ko ] && continue
		insmod "/lib/modules/$release/$ko" ||
			echo "vmm-guest-init: insmod $ko failed"
	done <"/lib/modules/$release/load.order"
fi

# Where KASLR put the kernel: a rip that vmm prints for a guest that hung
# or triple-faulted, minus this, is an offset into the kernel's text, the
# same in every boot (docs/guest-and-testhost.md, "When a guest hangs").
# (It comes after the per-CPU symbols: stop there, not after 150k lines.)
sed -n '/ T _text$/{s/^\([0-9a-f]*\) T _text$/vmm-guest-init: kernel _text at 0x\1/p;q}' \
	/proc/kallsyms 2>/dev/null

# Keep kernel messages from cutting TAP lines in half.
dmesg -n "$printk" 2>/dev/null

for suite in $(echo "$suites" | tr ',' ' '); do
	echo "VMM-GUEST-TAP-BEGIN suite=$suite"
	if [ -x "/usr/lib/vmm-guest/suites/$suite" ]; then
		"/usr/lib/vmm-guest/suites/$suite"
	else
		vmm-guest suite "$suite"
	fi
	echo "VMM-GUEST-TAP-END suite=$suite"
done

if [ -d "$layer" ]; then
	n=0 failed=
	while read -r ko; do
		[ -n "$ko" ] || continue
		n=$((n + 1))
		echo "vmm-guest-init: insmod $ko"
		if ! insmod "$layer/modules/$ko"; then
			echo "vmm-guest-init: insmod $ko failed (the kernel's reason is above)"
			vmm-guest layer-status module "$n"
			failed=1
			break
		fi
	done <"$layer/load.order"
	if [ -z "$failed" ]; then
		status=0
		if [ -f "$layer/run" ]; then
			echo "vmm-guest-init: running the command"
			(cd / && "$layer/run")
			status=$?
			echo "vmm-guest-init: the command exited with status $status"
		fi
		vmm-guest layer-status command "$status"
	fi
fi

if [ "$shell" = 1 ]; then
	echo "vmm-guest-init: vmmguest.shell=1: starting a shell; exit it to end the guest ($end)"
	setsid cttyhack sh -l
fi
exit 0
