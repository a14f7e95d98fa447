#!/bin/sh
# SPDX-License-Identifier: MIT
#
# /init of vmm's default guest (busybox sh).  Kernel command line knobs:
#   vmmguest.suites=a,b   guest TAP suites to run (default: boot; empty: none)
#   vmmguest.shell=1      interactive shell on the console after the suites
#                         instead of powering off
#   vmmguest.printk=N     console loglevel while the suites run (default 1)
#   vmmguest.modules=0    do not load the modules of /lib/modules/*/load.order
# Each suite's TAP goes between "VMM-GUEST-TAP-BEGIN suite=NAME" and
# "VMM-GUEST-TAP-END suite=NAME".  Ends with "poweroff -f", whatever happens.

# First thing: tell the VMM's boot timer that userspace has started.
/usr/bin/vmm-guest boot-timer

export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

# The archive has no /dev/console node: mount devtmpfs and take the console.
mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev 2>/dev/null
exec 0</dev/console 1>/dev/console 2>&1
mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /tmp

power_off() {
	sync
	poweroff -f
	# Not reached unless the poweroff failed: reboot (the VMM stops).
	reboot -f
	while :; do sleep 1; done
}

# Never hang: an error in this script still powers off.
trap power_off EXIT

suites=boot shell=0 printk=1 load_modules=1
for word in $(cat /proc/cmdline); do
	case $word in
	--) break ;;
	vmmguest.suites=*) suites=${word#vmmguest.suites=} ;;
	vmmguest.shell=*) shell=${word#vmmguest.shell=} ;;
	vmmguest.printk=*) printk=${word#vmmguest.printk=} ;;
	vmmguest.modules=*) load_modules=${word#vmmguest.modules=} ;;
	esac
done

release=$(uname -r)
if [ "$load_modules" != 0 ] && [ -f "/lib/modules/$release/load.order" ]; then
	while read -r ko; do
		[ -n "$ko" ] || continue
		insmod "/lib/modules/$release/$ko" ||
			echo "vmm-guest-init: insmod $ko failed"
	done <"/lib/modules/$release/load.order"
fi

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

if [ "$shell" = 1 ]; then
	echo "vmm-guest-init: vmmguest.shell=1: starting a shell; exit it to power off"
	setsid cttyhack sh -l
fi
exit 0
