#!/bin/sh
# SPDX-License-Identifier: MIT
#
# "Check my driver" inputs through the real vmm binary, without KVM: each
# bad --guest-module / --guest-file / --guest-script is one "vmm: " line
# on stderr naming the option and the file, nothing on stdout, exit status
# 1 -- before vmm opens /dev/kvm.  The modules are the tutorial's example
# (guest/examples/buggy-dma, built against the default guest's kernel) and
# copies of it: one with another kernel release patched into its vermagic,
# one compressed, one cut short.  A good module gets past every check
# (here vmm then stops at /dev/kvm, or boots where KVM works: not tested
# here, tests/integration/guest-module.sh boots it).
. "$top_srcdir/tests/tap/libtap.sh"

: "${VMM:?}" "${top_builddir:?}"
ko=$top_builddir/guest/out/kmod/buggy-dma/buggy_dma.ko
[ -f "$ko" ] || bail "$ko is not built (make check builds it)"
[ -f "$top_builddir/guest/out/bzImage" ] || bail "the default guest is not built: make guest"
release=$(cat "$top_builddir/guest/out/kernel-release") || bail "no guest/out/kernel-release"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/guest-layer.XXXXXX") || bail "mktemp failed"
chmod 755 "$tmp"
at_exit 'chmod -R u+rwx "$tmp"; rm -rf "$tmp"'
plan_lazy

. "$top_srcdir/tests/unit/expect-error.sh"

# Another release in the vermagic, same length (so the ELF stays valid).
other=$(echo "$release" | tr '0-9' '1-90')
[ "$other" != "$release" ] && [ ${#other} = ${#release} ] || bail "cannot make another release from $release"
LC_ALL=C sed "s/vermagic=$release /vermagic=$other /" "$ko" >"$tmp/other_kernel.ko"
ok '! cmp -s "$ko" "$tmp/other_kernel.ko" && [ "$(wc -c <"$ko")" = "$(wc -c <"$tmp/other_kernel.ko")" ]' \
	"a copy of the module with vermagic $other"
xz -c "$ko" >"$tmp/compressed.ko"
head -c 2000 "$ko" >"$tmp/short.ko"
echo "not a module" >"$tmp/text.ko"
mkdir "$tmp/dir.ko"
cp "$ko" "$tmp/secret.ko" && chmod 000 "$tmp/secret.ko"
echo hello >"$tmp/hello.txt"

expect_error "missing module" "--guest-module '$tmp/nope.ko': cannot open: No such file" \
	"$VMM" run --guest-module "$tmp/nope.ko"
expect_error "module for another kernel" \
	"--guest-module '$tmp/other_kernel.ko' was built for kernel ${other%%+*}[^ ]*, the guest kernel is ${release%%+*}" \
	"$VMM" run --guest-module "$tmp/other_kernel.ko" --guest-run true
expect_error "a text file as module" "--guest-module '$tmp/text.ko' is not an ELF file" \
	"$VMM" run --guest-module "$tmp/text.ko"
expect_error "a compressed module" "--guest-module '$tmp/compressed.ko' is xz-compressed" \
	"$VMM" run --guest-module "$tmp/compressed.ko"
expect_error "a truncated module" "--guest-module '$tmp/short.ko' is truncated" \
	"$VMM" run --guest-module "$tmp/short.ko"
expect_error "a directory as module" "--guest-module '$tmp/dir.ko': not a regular file" \
	"$VMM" run --guest-module "$tmp/dir.ko"
# Root reads a mode-000 file: as root, vmm runs as nobody for this case.
runner=
[ "$(id -u)" = 0 ] && runner="setpriv --reuid=65534 --regid=65534 --clear-groups"
expect_error "an unreadable module" "--guest-module '$tmp/secret.ko': cannot open: Permission denied" \
	$runner "$VMM" run --guest-module "$tmp/secret.ko"
expect_error "a module that is not NAME.ko" "not a NAME.ko file name" "$VMM" run --guest-module "$tmp/hello.txt"
expect_error "the same module twice" "a module named buggy_dma.ko is given twice" \
	"$VMM" run --guest-module "$ko" --guest-module "$ko"
expect_error "--guest-file without DEST" "--guest-file '$tmp/hello.txt': want SRC:DEST" \
	"$VMM" run --guest-file "$tmp/hello.txt"
expect_error "--guest-file with an empty SRC" "want SRC:DEST" "$VMM" run --guest-file ":/root/x"
expect_error "--guest-file missing SRC" "--guest-file '$tmp/nope': cannot open: No such file" \
	"$VMM" run --guest-file "$tmp/nope:/root/"
expect_error "--guest-file DEST with .." "DEST must not contain '..'" "$VMM" run --guest-file "$tmp/hello.txt:/root/../x"
expect_error "--guest-file DEST under /tmp" "mounts over /tmp" "$VMM" run --guest-file "$tmp/hello.txt:/tmp/"
expect_error "--guest-file over /init" "the guest's own" "$VMM" run --guest-file "$tmp/hello.txt:/init"
expect_error "missing --guest-script" "--guest-script '$tmp/nope.sh': cannot open" \
	"$VMM" run --guest-script "$tmp/nope.sh"
expect_error "--guest-run with --kernel" "need the default guest" \
	"$VMM" run --kernel "$top_builddir/guest/out/bzImage" --guest-run true
expect_error "--guest-run and --guest-script" "one or the other" \
	"$VMM" run --guest-run true --guest-script "$tmp/hello.txt"

# A good module passes every check: whatever stops vmm now is not its input.
"$VMM" run --guest-module "$ko" --guest-file "$tmp/hello.txt:/root/" --guest-run true --timeout 1 \
	>"$tmp/out" 2>"$tmp/err" </dev/null
ok '! grep -q -- "--guest-" "$tmp/err"' "the example module, a file and a command pass vmm's checks"
diag "$(head -n 3 "$tmp/err")"
