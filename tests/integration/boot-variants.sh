#!/bin/sh
# SPDX-License-Identifier: MIT
# Another guest shape (1 CPU, 256 MiB) with the serial console sent to a
# file (--console FILE): the file holds the guest's output, stdout does not.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/integration/run-vmm.sh"

vmm_setup
plan_lazy

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-variants.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
out=$tmp/stdout.log
console=$tmp/console.log
cmdline="console=ttyS0 panic=-1 vmmtest.cpus=1 vmmtest.mem_mib=256 vmmguest.suites=boot"

start=$(date +%s)
# Timeouts (docs/guest-and-testhost.md): ~70 s in the test host under load.
run_vmm --timeout 300 --get "$console" -- \
	run --timeout 200 --mem 256M --cpus 1 --cmdline "$cmdline" --console "$console" >"$out" 2>&1
rc=$?
diag "vmm ($VMM_MODE) exited with status $rc after $(($(date +%s) - start)) s; its output:"
diag_file "$out"
diag "console file:"
diag_file "$console"

is 0 "$rc" "vmm exits 0 (guest powered off)"
ok '[ -s "$console" ]' "console file $console was written"
ok 'tr -d "\r" <"$console" | grep -q "Linux version 6\.12"' "console file holds the guest kernel banner"
ok '! grep -q "Linux version\|VMM-GUEST-TAP" "$out"' "guest console output stays out of stdout/stderr"
ok 'grep -q "vmm: guest-boot-time = [0-9][0-9]* us" "$out"' "vmm's own messages still go to stderr"
guest_tap "$console" boot
is 1 "$(guest_fact "$console" cpus)" "guest fact: 1 CPU online"
mem_kb=$(guest_fact "$console" mem_total_kb)
ok '[ -n "$mem_kb" ] && [ "$mem_kb" -le $((256 * 1024)) ] && [ "$mem_kb" -ge $((192 * 1024)) ]' \
	"guest fact: MemTotal ${mem_kb:-?} kB fits 256 MiB"
is "$cmdline" "$(guest_fact "$console" cmdline)" "guest /proc/cmdline is exactly the --cmdline string"
