#!/bin/sh
# SPDX-License-Identifier: MIT
#
# vmm's NVMe controller under Linux's own nvme driver, behind the
# virtio-iommu in strict (iommu.strict=1), lazy (the default, DMA-FQ) and
# untrusted (--untrusted: below an external-facing root port, strict,
# sub-page buffers bounced by the guest's swiotlb) mode, one test-host
# boot: the driver binds, the namespace has the image's size and the
# serial vmm gave it, and the guest suite "nvme" reads the whole image
# (64 MiB directly on KVM, 8 MiB in the test host: below), moves all of it
# (in the test host 2 MiB) back and forth with O_DIRECT through PRPs and
# through SGLs at several block sizes, the whole image from both vCPUs at
# once on both I/O queues, then discards and write-zeroes 2 MiB
# (guest/suites/nvme).  On the host: the image holds exactly what the guest
# says it must, the report shows the controller's commands (PRP lists and
# SGLs both used, discards and write zeroes seen, no error, no descriptor
# error, no fatal status), zero DMA-API violations, and validates against
# the schema.
# Then the peer: the same guest suite on QEMU's `-device nvme` behind its
# virtio-iommu-pci (Debian 12's QEMU 7.2, tests/peer-qemu.sh), strict (the
# peer in lazy mode runs in make bench-nvme; NVME_PEER_MODES="qemu-strict
# qemu-lazy" runs both here), in the same test-host boot: the driver binds through the IOMMU (the
# group type), and the host image holds, before and after, what the guest
# read and wrote.  What passes under vmm must pass under an independent
# controller too, so the suite tests the guest's view, not our quirks.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/integration/run-vmm.sh"
. "$top_srcdir/tests/integration/report-checks.sh"

vmm_setup
plan_lazy

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-nvme.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
img=$tmp/nvme.img
# Where vmm runs on this host's KVM, the issue's 64 MiB image, every round
# moving all of it (seconds there).  In the nested TCG test host, where a
# MiB costs seconds, 8 MiB with rounds of 2 MiB: make check's budget (the
# four runs take ~3.5 min there beside the KVM-free tests); every
# descriptor shape and block size is still used, and make bench-nvme moves
# 64 MiB.  VMM_NVME_MIB / VMM_NVME_ROUND_MIB override.
if [ "$VMM_MODE" = direct ]; then mib=64 round_mib=64; else mib=8 round_mib=2; fi
mib=${VMM_NVME_MIB:-$mib} round_mib=${VMM_NVME_ROUND_MIB:-$round_mib}
dd if=/dev/urandom of="$img" bs=1M count=$mib 2>/dev/null || bail "cannot create the disk image"
sha=$(sha256sum "$img" | cut -d' ' -f1)
serial=VMMNVME0042
modes="strict lazy untrusted"
peer_modes=${NVME_PEER_MODES:-qemu-strict}

cat >"$tmp/run.sh" <<'SCRIPT'
# Runs where vmm runs (directly, or in the test host's L1).  The peer
# QEMU has no --timeout: one that has not exited after QLIMIT s is
# killed; a hung peer is the test host's failure (said in
# $TESTHOST_PEER_FAILURE, so that run_vmm_script tries once more), but a
# guest that crashed or did not finish under QEMU fails this test.
img=$1 sha=$2 serial=$3 limit=$4 qlimit=$5 mib=$6 round_mib=$7
shift 7
alive() { # PID: running, not a zombie
	read -r _st 2>/dev/null </proc/$1/stat || return 1
	_st=${_st##*) }
	case $_st in Z*) return 1 ;; esac
}
# discard=unmap: with -drive's default (ignore) QEMU completes a Dataset
# Management deallocate without deallocating, and the range keeps its data.
qemu_nvme() { # IMAGE CMDLINE
	"$QEMU" -accel kvm -M q35 -cpu host -m 512 -smp 2 -display none -nodefaults -no-reboot \
		-serial stdio -kernel "$VMM_GUEST_OUT/bzImage" -initrd "$VMM_GUEST_OUT/initramfs.cpio" \
		-device virtio-iommu-pci \
		-drive "file=$1,if=none,id=n0,format=raw,cache=unsafe,discard=unmap" \
		-device "nvme,serial=$serial,drive=n0" \
		-append "$2" </dev/null 2>&1 &
	_qpid=$!
	_qt0=$(cut -d' ' -f1 /proc/uptime | cut -d. -f1)
	while alive "$_qpid" && [ $(($(cut -d' ' -f1 /proc/uptime | cut -d. -f1) - _qt0)) -lt "$qlimit" ]; do
		sleep 1
	done
	_hung=0
	if alive "$_qpid"; then
		_hung=1
		kill -KILL "$_qpid"
	fi
	wait "$_qpid"
	_qrc=$?
	[ "$_hung" = 0 ] && return "$_qrc"
	echo "NVME-TEST hung: QEMU had not exited after $qlimit s; killed"
	[ -z "${TESTHOST_PEER_FAILURE:-}" ] ||
		echo "QEMU (the peer) had not exited after $qlimit s" >"$TESTHOST_PEER_FAILURE"
	return "$_qrc"
}
for mode in "$@"; do
	opts= vmmopts=
	case $mode in
	strict | qemu-strict) opts="iommu.strict=1 vmmtest.iommu_type=DMA" ;;
	lazy | qemu-lazy) opts="vmmtest.iommu_type=DMA-FQ" ;;
	untrusted) opts="swiotlb=force vmmtest.iommu_type=DMA" vmmopts=--untrusted ;;
	esac
	cmdline="console=ttyS0 panic=-1 quiet $opts vmmguest.suites=nvme vmmtest.nvme_round_mib=$round_mib vmmtest.nvme_serial=$serial vmmtest.nvme_bytes=$((mib * 1048576)) vmmtest.disk_sha256=$sha"
	cp "$img" "$img.$mode"
	echo "NVME-TEST-BEGIN mode=$mode"
	t0=$(cut -d' ' -f1 /proc/uptime)
	case $mode in
	qemu-*) qemu_nvme "$img.$mode" "$cmdline" ;;
	*)
		# shellcheck disable=SC2086 # vmmopts: zero or one word
		"$VMM" run --timeout "$limit" --cpus 2 --mem 512M $vmmopts --nvme "$img.$mode,serial=$serial" \
			--report "$img.$mode.json" --cmdline "$cmdline" 2>&1
		;;
	esac
	echo "NVME-TEST rc=$? seconds=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')"
	echo "NVME-TEST image_sha256=$(sha256sum "$img.$mode" | cut -d' ' -f1)"
	[ -f "$img.$mode.json" ] && sed 's/^/NVME-REPORT /' "$img.$mode.json"
	echo "NVME-TEST-END mode=$mode"
	rm -f "$img.$mode" "$img.$mode.json"
done
SCRIPT

start=$(date +%s)
# Timeouts: vmm stops a run after 300 s, the peer QEMU is killed after
# 240 s; measured 2026-12-02 in make check's CI with a 16 MiB image and
# 4 MiB rounds, beside the KVM-free tests: vmm strict 45 s, lazy 80 s,
# untrusted 87 s, QEMU strict 89 s; the test-host run 318 s.  The whole script: all runs at their limits
# plus L1's boot.
# shellcheck disable=SC2086 # modes: a list
run_vmm_script --qemu --timeout 1500 --put "$img" "$tmp/run.sh" "$img" "$sha" "$serial" 300 240 \
	"$mib" "$round_mib" $modes $peer_modes >"$tmp/all.log" 2>&1
rc=$?
diag "run ($VMM_MODE) took $(($(date +%s) - start)) s, status $rc"
is 0 "$rc" "the run script completed"

# mode_log MODE: that run's lines of the whole log, into $tmp/MODE.log
mode_log() {
	log=$tmp/$1.log
	tr -d '\r' <"$tmp/all.log" | awk -v m="$1" '
		$0 == "NVME-TEST-BEGIN mode=" m { on = 1; next }
		$0 == "NVME-TEST-END mode=" m { on = 0 }
		on' >"$log"
	diag "--- $1: console and report ($(sed -n 's/^NVME-TEST rc=.* seconds=//p' "$log") s) ---"
	diag_file "$log"
}
# guest_checks MODE: the guest suite's TAP, and the host image before
# and after as the guest saw it
guest_checks() {
	guest_tap "$log" nvme
	is "$sha" "$(guest_fact "$log" read_sha256)" "$1: the guest read the host's $mib MiB image unchanged"
	final=$(guest_fact "$log" final_sha256)
	ok '[ -n "$final" ]' "$1: the guest said what the image must hold"
	is "$final" "$(sed -n 's/^NVME-TEST image_sha256=//p' "$log")" \
		"$1: after the run the host image holds exactly that (the last pattern, 2 MiB zeroed)"
}
for mode in $modes; do
	mode_log "$mode"
	is 0 "$(sed -n 's/^NVME-TEST rc=\([0-9]*\).*/\1/p' "$log")" "$mode: vmm exits 0 (guest powered off)"
	guest_checks "$mode"
	sed -n 's/^NVME-REPORT //p' "$log" >"$tmp/$mode.json"
	report_valid "$mode" "$tmp/$mode.json"
	nv=$(grep '^{"type":"nvme"' "$tmp/$mode.json")
	diag "$mode: report: $nv"
	field() { printf '%s' "$nv" | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p"; }
	ok '[ "$(field io_commands)" -gt 100 ]' "$mode: report: the controller ran $(field io_commands) I/O commands"
	ok '[ "$(field prp_lists)" -gt 0 ] && [ "$(field sgls)" -gt 0 ]' \
		"$mode: report: data through PRP lists ($(field prp_lists)) and SGLs ($(field sgls))"
	ok '[ "$(field discards)" -ge 1 ] && [ "$(field write_zeroes)" -ge 1 ] && [ "$(field flushes)" -ge 1 ]' \
		"$mode: report: discards ($(field discards)), write zeroes ($(field write_zeroes)), flushes ($(field flushes))"
	# Written: four block-size rounds and the whole-image two-queue round;
	# read: the same and the first and last whole reads.
	ok '[ "$(field bytes_written)" -ge $(((4 * round_mib + mib) * 1048576)) ] &&
	    [ "$(field bytes_read)" -ge $(((4 * round_mib + 3 * mib) * 1048576)) ]' \
		"$mode: report: bytes written ($(field bytes_written)) and read ($(field bytes_read)) cover the rounds"
	is 0 "$(field errors)" "$mode: report: no command completed with an error"
	is 0 "$(field descriptor_errors)" "$mode: report: no malformed descriptor from Linux's driver"
	is 0 "$(field fatal)" "$mode: report: never a controller fatal status"
	ok '[ "$(field shutdowns)" -ge 1 ]' "$mode: report: the driver shut the controller down at power-off"
	# One nvme_queue line per I/O queue (2 vCPUs: 2 queues, both used by
	# the suite's two-queue round); together they ran every I/O command.
	qlines=$(grep -c '^{"type":"nvme_queue"' "$tmp/$mode.json")
	qsum=$(sed -n 's/^{"type":"nvme_queue".*"commands":\([0-9]*\),.*/\1/p' "$tmp/$mode.json" |
		awk '{ s += $1 } END { print s + 0 }')
	qbusy=$(sed -n 's/^{"type":"nvme_queue".*"commands":\([0-9]*\),.*/\1/p' "$tmp/$mode.json" |
		awk '$1 > 0 { n++ } END { print n + 0 }')
	ok '[ "$qlines" -ge 2 ] && [ "$qbusy" -ge 2 ] && [ "$qsum" = "$(field io_commands)" ]' \
		"$mode: report: $qlines nvme_queue lines, $qbusy queues used, their commands add up ($qsum of $(field io_commands))"
	ep=$(grep '^{"type":"endpoint".*"name":"nvme0"' "$tmp/$mode.json")
	maps=$(printf '%s' "$ep" | sed -n 's/.*"maps":\([0-9]*\).*/\1/p')
	ok '[ "${maps:-0}" -gt 100 ]' "$mode: report: the nvme0 endpoint's IOMMU maps ($maps)"
	is 0 "$(sed -n 's/^{"type":"summary","violations":\([0-9]*\),.*/\1/p' "$tmp/$mode.json")" \
		"$mode: report: zero DMA-API violations"
	bounce_clean "$mode" "$tmp/$mode.json"
done

for mode in $peer_modes; do
	mode_log "$mode"
	is 0 "$(sed -n 's/^NVME-TEST rc=\([0-9]*\).*/\1/p' "$log")" "$mode: QEMU exits 0 (guest powered off)"
	guest_checks "$mode"
done
