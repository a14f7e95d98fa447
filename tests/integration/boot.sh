#!/bin/sh
# SPDX-License-Identifier: MIT
# Boot the default guest with 2 CPUs and 512 MiB; check the VMM's exit
# status, the guest's banner, the boot timer, the guest's "boot" suite and
# the facts it reports.  Runs through the test host when needed.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/integration/run-vmm.sh"

vmm_setup
plan_lazy

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-boot.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
log=$tmp/console.log
cmdline="console=ttyS0 panic=-1 vmmtest.cpus=2 vmmtest.mem_mib=512"

start=$(date +%s)
# Timeouts (docs/guest-and-testhost.md): the run takes ~50 s in the test
# host under load; vmm's own --timeout ends a stuck guest first (exit 7).
run_vmm --timeout 300 -- run --timeout 200 --mem 512M --cpus 2 --cmdline "$cmdline" >"$log" 2>&1
rc=$?
diag "vmm ($VMM_MODE) exited with status $rc after $(($(date +%s) - start)) s; console log:"
diag_file "$log"

is 0 "$rc" "vmm exits 0 (guest powered off)"
ok 'tr -d "\r" <"$log" | grep -q "Linux version 6\.12"' "guest kernel printed its 'Linux version 6.12' banner"
boot_us=$(sed -n 's/.*vmm: guest-boot-time = \([0-9][0-9]*\) us.*/\1/p' "$log" | head -n1)
ok '[ -n "$boot_us" ] && [ "$boot_us" -gt 0 ]' "vmm reports 'guest-boot-time = N us' (N=${boot_us:-none})"
guest_tap "$log" boot
is 2 "$(guest_fact "$log" cpus)" "guest fact: 2 CPUs online"
mem_kb=$(guest_fact "$log" mem_total_kb)
ok '[ -n "$mem_kb" ] && [ "$mem_kb" -le $((512 * 1024)) ] && [ "$mem_kb" -ge $((512 * 1024 * 8 / 10)) ]' \
	"guest fact: MemTotal ${mem_kb:-?} kB fits 512 MiB"
is "$cmdline" "$(guest_fact "$log" cmdline)" "guest /proc/cmdline is exactly the --cmdline string"
