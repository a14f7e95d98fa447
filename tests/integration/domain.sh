#!/bin/sh
# SPDX-License-Identifier: MIT
#
# One boot from a libvirt domain file: docs/domains/default.xml (the
# default guest, 2 vCPUs, 512 MiB, a raw disk and the rng behind the
# virtio-iommu), its paths pointed at this build's guest and a 4 MiB image,
# its <cmdline> at the guest suites.  `vmm run --domain FILE` must boot what
# the file says: the guest sees 2 CPUs and 512 MiB, binds virtio_iommu, its
# disk sits in an IOMMU group of type DMA (iommu.strict=1) and a write/read
# round trip over it is exact; the report names the domain and shows the
# disk's maps through the IOMMU.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/integration/run-vmm.sh"
. "$top_srcdir/tests/integration/report-checks.sh"

vmm_setup
plan_lazy

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-domain.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
img=$tmp/disk.img
dd if=/dev/urandom of="$img" bs=1M count=4 2>/dev/null || bail "cannot create the disk image"
sha=$(sha256sum "$img" | cut -d' ' -f1)
cp "$top_srcdir/docs/domains/default.xml" "$tmp/default.xml"

cat >"$tmp/run.sh" <<'SCRIPT'
# Runs where vmm runs (directly, or in the test host's L1).
tmpl=$1 img=$2 sha=$3 limit=$4
cmdline="console=ttyS0 panic=-1 quiet iommu.strict=1 vmmtest.iommu_type=DMA vmmtest.cpus=2 vmmtest.mem_mib=512 vmmguest.suites=boot,iommu,blk vmmtest.disk_sha256=$sha"
sed -e "s:/usr/local/share/vmm/guest:$VMM_GUEST_OUT:g" -e "s:/var/lib/vmm/disk.img:$img:" \
	-e "s:<cmdline>.*</cmdline>:<cmdline>$cmdline</cmdline>:" "$tmpl" >"$img.xml"
echo "DOMAIN-PRINT $("$VMM" domain --print "$img.xml" 2>&1)"
"$VMM" run --domain "$img.xml" --timeout "$limit" --report "$img.json" 2>&1
echo "DOMAIN-TEST rc=$?"
echo "DOMAIN-TEST image_sha256=$(sha256sum "$img" | cut -d' ' -f1)"
sed 's/^/DOMAIN-REPORT /' "$img.json"
SCRIPT

start=$(date +%s)
# Timeouts (docs/guest-and-testhost.md): the boot with a 4 MiB round trip
# takes ~60 s in the test host under load.
run_vmm_script --timeout 600 --put "$img" --put "$tmp/default.xml" "$tmp/run.sh" \
	"$tmp/default.xml" "$img" "$sha" 300 >"$tmp/all.log" 2>&1
rc=$?
tr -d '\r' <"$tmp/all.log" >"$tmp/log"
diag "run ($VMM_MODE) took $(($(date +%s) - start)) s, status $rc; console and report:"
diag_file "$tmp/log"
is 0 "$rc" "the run script completed"

printed=$(sed -n 's/^DOMAIN-PRINT //p' "$tmp/log")
ok 'case $printed in "vmm run --name vmm-default --uuid 4a1b6f2e-8c3d-4e5f-9a0b-1c2d3e4f5a6b --kernel "*"/bzImage --initrd "*"/initramfs.cpio --cmdline "*" --mem 512M --cpus 2 --disk $img") true ;; *) false ;; esac' \
	"vmm domain --print: the domain as vmm run options (got: $printed)"
is 0 "$(sed -n 's/^DOMAIN-TEST rc=//p' "$tmp/log")" "vmm run --domain exits 0 (guest powered off)"
ok 'grep -q "vmm: guest-boot-time = [0-9]* us" "$tmp/log"' "the domain's kernel and initramfs booted (boot-timer line)"
guest_tap "$tmp/log" boot
is 2 "$(guest_fact "$tmp/log" cpus)" "<vcpu>2</vcpu>: the guest has 2 CPUs"
mem_kb=$(guest_fact "$tmp/log" mem_total_kb)
ok '[ -n "$mem_kb" ] && [ "$mem_kb" -le $((512 * 1024)) ] && [ "$mem_kb" -ge $((512 * 1024 * 8 / 10)) ]' \
	"<memory unit='MiB'>512</memory>: MemTotal ${mem_kb:-?} kB"
guest_tap "$tmp/log" iommu
guest_tap "$tmp/log" blk
is "$sha" "$(guest_fact "$tmp/log" read_sha256)" "the guest read the host's image through the IOMMU unchanged"
is "$(guest_fact "$tmp/log" written_sha256)" "$(sed -n 's/^DOMAIN-TEST image_sha256=//p' "$tmp/log")" \
	"the host image holds exactly what the guest wrote"
sed -n 's/^DOMAIN-REPORT //p' "$tmp/log" >"$tmp/report.json"
report_valid domain "$tmp/report.json"
ok 'grep -q "^{\"type\":\"vm\",\"report_schema\":1,.*\"name\":\"vmm-default\",\"uuid\":\"4a1b6f2e-8c3d-4e5f-9a0b-1c2d3e4f5a6b\"}" "$tmp/report.json"' \
	"the report names the domain (<name>, <uuid>)"
maps=$(sed -n 's/^{"type":"endpoint".*"name":"virtio-blk".*"maps":\([0-9]*\).*/\1/p' "$tmp/report.json")
ok '[ "${maps:-0}" -gt 0 ]' "<driver iommu='on'/>: the disk's DMA went through the IOMMU (${maps:-no} maps)"
is 0 "$(sed -n 's/^{"type":"summary","violations":\([0-9]*\).*/\1/p' "$tmp/report.json")" \
	"zero DMA-API violations"
