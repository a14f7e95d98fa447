#!/bin/sh
# SPDX-License-Identifier: MIT
#
# "Check my driver" end to end (vmm run --guest-module/--guest-file/
# --guest-run/--guest-script; docs/check-my-driver.md), one test-host boot,
# five vmm runs of the default guest with the extra initramfs layer:
#   buggy   the tutorial's example driver with its bug (buggy_dma.ko: the
#           buffer the dmatest device fills is mapped DMA_TO_DEVICE): vmm
#           exits 0 (the command succeeded), the report holds exactly that
#           violation, class "permission", a device write to a read-only
#           mapping of the dmatest device, and the driver saw the device
#           fail;
#   fixed   its twin (fixed_dma.ko, DMA_FROM_DEVICE), with a --guest-file
#           and a --guest-script that checks, inside the guest, that the
#           device filled the buffer and that the file is there: exit 0,
#           zero violations;
#   fail    --guest-run 'exit 3': exit status 9, "exit status 3";
#   fatal   buggy_dma.ko with --dma-errors=fatal: exit status 8 still;
#   noload  a module of the guest's own kernel that cannot load alone
#           (kvm-amd.ko without kvm.ko): exit status 9, the module named,
#           the command not run.
. "$top_srcdir/tests/tap/libtap.sh"
. "$top_srcdir/tests/integration/run-vmm.sh"
. "$top_srcdir/tests/integration/report-checks.sh"

vmm_setup
plan_lazy

kmod=$top_builddir/guest/out/kmod/buggy-dma
for f in "$kmod/buggy_dma.ko" "$kmod/fixed_dma.ko" "$top_builddir/guest/out/modules/kvm-amd.ko"; do
	[ -f "$f" ] || bail "$f is not built (make check builds it; make guest)"
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-guest-module.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
cp "$kmod/buggy_dma.ko" "$kmod/fixed_dma.ko" "$top_builddir/guest/out/modules/kvm-amd.ko" "$tmp/"
echo "hello from the host $$" >"$tmp/hello.txt"
cat >"$tmp/check.sh" <<'EOF'
#!/bin/sh
# --guest-script: runs in the guest after fixed_dma.ko loaded.
dmesg | grep dma_example
dmesg | grep -q "dma_example: the device filled 4096 bytes" || { echo "CHECK: no fill"; exit 1; }
read -r line </root/hello.txt || { echo "CHECK: no /root/hello.txt"; exit 1; }
echo "CHECK: hello.txt says: $line"
EOF

cat >"$tmp/run.sh" <<'SCRIPT'
# Runs where vmm runs (directly, or in the test host's L1).
dir=$1
cd "$dir" || exit 1
for part in buggy fixed fail fatal noload; do
	case $part in
	buggy) set -- --dmatest --guest-module buggy_dma.ko --guest-run 'dmesg | grep dma_example' ;;
	fixed) set -- --dmatest --guest-module fixed_dma.ko --guest-file hello.txt:/root/ \
		--guest-script check.sh ;;
	fail) set -- --guest-run 'echo about to fail; exit 3' ;;
	fatal) set -- --dmatest --guest-module buggy_dma.ko --guest-run 'echo not reached' \
		--dma-errors=fatal ;;
	noload) set -- --guest-module kvm-amd.ko --guest-run 'echo COMMAND-RAN' ;;
	esac
	echo "GM-RUN-BEGIN part=$part"
	# stdout and stderr together, as a user sees them (the tutorial,
	# docs/check-my-driver.md, shows this output); vmm's lines that the
	# test checks come after the guest stopped, on lines of their own.
	"$VMM" run --timeout 240 --report "$part.json" "$@" 2>&1
	echo "GM-RUN rc=$?"
	sed 's/^/GM-REPORT /' "$part.json" 2>/dev/null
	echo "GM-RUN-END part=$part"
done
SCRIPT

start=$(date +%s)
# Five boots to the command and back: ~20-40 s each in the test host.
run_vmm_script --timeout 900 --put "$tmp/buggy_dma.ko" --put "$tmp/fixed_dma.ko" \
	--put "$tmp/kvm-amd.ko" --put "$tmp/hello.txt" --put "$tmp/check.sh" \
	"$tmp/run.sh" "$tmp" >"$tmp/all.log" 2>&1
rc=$?
diag "run ($VMM_MODE) took $(($(date +%s) - start)) s, status $rc"
is 0 "$rc" "the run script completed" || { tr -d '\r' <"$tmp/all.log" | tail -n 40 | sed 's/^/# /'; }

part_log() {
	tr -d '\r' <"$tmp/all.log" | awk -v p="$1" '
		$0 == "GM-RUN-BEGIN part=" p { on = 1; next }
		$0 == "GM-RUN-END part=" p { on = 0 }
		on' >"$tmp/$1.log"
	sed -n 's/^GM-REPORT //p' "$tmp/$1.log" >"$tmp/$1.json"
	diag "--- $1 ---"
	# The tutorial's run (buggy) whole; of the others what matters.
	if [ "$1" = buggy ]; then
		grep -v '^GM-REPORT ' "$tmp/$1.log" | sed 's/^/# /'
	else
		grep -v '^GM-REPORT ' "$tmp/$1.log" |
			sed -n '/vmm-guest-init: insmod\|vmm-guest-init: running\|vmm-guest-init: the command\|dma_example\|CHECK\|about to fail\|COMMAND-RAN\|Unknown symbol\|^vmm: \|GM-/p' |
			sed 's/^/# /'
	fi
}
status() { sed -n 's/^GM-RUN rc=//p' "$tmp/$1.log"; }
stderr_has() { grep -q "^vmm: .*$2" "$tmp/$1.log"; }
violations() { sed -n 's/^{"type":"summary","violations":\([0-9]*\).*/\1/p' "$tmp/$1.json"; }

part_log buggy
is 0 "$(status buggy)" "buggy: vmm exits 0: the command succeeded (a violation alone does not fail it)"
ok 'stderr_has buggy "the guest.s --guest-run command succeeded (exit status 0)"' \
	"buggy: vmm says the command succeeded"
ok 'grep -q "vmm-guest-init: insmod buggy_dma.ko" "$tmp/buggy.log"' "buggy: the guest's init loaded buggy_dma.ko"
ok 'grep -q "dma_example: fill of 4096 bytes at IOVA .* (DMA_TO_DEVICE) failed: device error 1" "$tmp/buggy.log"' \
	"buggy: the command's output (the driver's log: the device's write was refused) is on the console"
report_valid buggy "$tmp/buggy.json"
is 1 "$(violations buggy)" "buggy: the report has exactly one violation"
viol=$(grep '^{"type":"violation"' "$tmp/buggy.json")
ok 'echo "$viol" | grep -q "\"name\":\"dmatest[0-9]*\"" && echo "$viol" | grep -q "\"reason\":\"permission\"" &&
	echo "$viol" | grep -q "\"access\":\"write\""' \
	"buggy: it is the dmatest device writing through a mapping it may only read (class permission)"
ok 'stderr_has buggy "permission"' "buggy: vmm's stderr names the violation class"

part_log fixed
is 0 "$(status fixed)" "fixed: vmm exits 0"
ok 'grep -q "CHECK: hello.txt says: hello from the host" "$tmp/fixed.log"' \
	"fixed: the --guest-file is at /root/hello.txt, the --guest-script ran and saw the device's fill"
report_valid fixed "$tmp/fixed.json"
is 0 "$(violations fixed)" "fixed: zero violations"
ok 'grep -q "^{\"type\":\"dmatest\"" "$tmp/fixed.json"' "fixed: the report has the dmatest device"

part_log fail
is 9 "$(status fail)" "fail: a failing --guest-run command: exit status 9"
ok 'stderr_has fail "the guest.s --guest-run command failed: exit status 3"' "fail: vmm gives the command's status 3"
ok 'grep -q "^about to fail" "$tmp/fail.log"' "fail: the command's output is on the console"

part_log fatal
is 8 "$(status fatal)" "fatal: --dma-errors=fatal still stops at the violation with status 8"
ok '! grep -q "^not reached" "$tmp/fatal.log"' "fatal: the command did not run"

part_log noload
is 9 "$(status noload)" "noload: a module that does not load: exit status 9"
ok 'stderr_has noload "--guest-module .kvm-amd.ko. did not load in the guest"' "noload: vmm names the module"
ok '! grep -q "^COMMAND-RAN" "$tmp/noload.log"' "noload: the command did not run"
