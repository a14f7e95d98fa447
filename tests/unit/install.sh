#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make install DESTDIR=...: the binary in $(bindir), the default guest in
# $(pkgdatadir)/guest, the man page, the bash completion, the docs with the
# report's JSON Schema and the example domains; the installed vmm runs
# (--help, --version, domain --print) and looks for its default guest in
# $(pkgdatadir)/guest, not in the build tree; make uninstall removes it all.
. "$top_srcdir/tests/tap/libtap.sh"

: "${top_builddir:?}" "${VMM:?}"
[ -f "$top_builddir/guest/out/.stamp" ] || bail "the default guest is not built: run make guest"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/install.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
dest=$tmp/dest
plan_lazy

# A make of its own, not a job of the make check that runs this test.
submake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKEOVERRIDES -u MAKELEVEL \
		make -C "$top_builddir" "$@" DESTDIR="$dest" >"$tmp/make.log" 2>&1
}

submake install
is 0 "$?" "make install DESTDIR=... exits 0"
[ $? = 0 ] || diag_file "$tmp/make.log"
ok '! grep -q "warning: the default guest is not built" "$tmp/make.log"' "with the guest built, no warning"

# where configure put things, as make knows them
dirs=$(env -u MAKEFLAGS -u MFLAGS -u MAKEOVERRIDES -u MAKELEVEL make -s -C "$top_builddir" \
	--eval 'print-install-dirs: ; @echo "$(bindir) $(pkgdatadir) $(mandir) $(docdir) $(BASH_COMPLETION_DIR)"' \
	print-install-dirs) || bail "cannot ask make for the install directories"
set -- $dirs
bindir=$1 pkgdatadir=$2 mandir=$3 docdir=$4 bashcompdir=$5
diag "bindir=$bindir pkgdatadir=$pkgdatadir mandir=$mandir docdir=$docdir completions=$bashcompdir"

vmm=$dest$bindir/vmm
for f in "$bindir/vmm" "$pkgdatadir/guest/bzImage" "$pkgdatadir/guest/initramfs.cpio" \
	"$mandir/man1/vmm.1" "$bashcompdir/vmm" "$docdir/README.md" "$docdir/domain-xml.md" \
	"$docdir/sanitizer.md" "$docdir/report.schema.json" "$docdir/domains/default.xml"; do
	ok '[ -f "$dest$f" ]' "installed: $f"
done
ok 'cmp -s "$top_builddir/guest/out/bzImage" "$dest$pkgdatadir/guest/bzImage"' \
	"the installed default guest is the one built here"

"$vmm" --version >"$tmp/out" 2>&1
is 0 "$?" "installed vmm --version exits 0"
ok 'grep -qE "^vmm [0-9]+\.[0-9]+" "$tmp/out"' "installed vmm --version: $(cat "$tmp/out")"
"$vmm" --help >"$tmp/out" 2>&1
is 0 "$?" "installed vmm --help exits 0"
is "default guest: $pkgdatadir/guest (environment: VMM_GUEST_DIR)" "$(tail -n1 "$tmp/out")" \
	"the installed vmm looks for its default guest in \$(pkgdatadir)/guest"
is "default guest: $top_builddir/guest/out (environment: VMM_GUEST_DIR)" "$("$VMM" --help | tail -n1)" \
	"the build tree's vmm looks in the build tree"
cp "$VMM" "$tmp/vmm-copy"
is "default guest: $pkgdatadir/guest (environment: VMM_GUEST_DIR)" "$("$tmp/vmm-copy" --help | tail -n1)" \
	"a copy of the build tree's binary is not the build tree's"
"$vmm" domain --print "$dest$docdir/domains/default.xml" >"$tmp/out" 2>&1
is 0 "$?" "installed vmm domain --print on the installed example (libxml2 found)"
ok 'grep -q "^vmm run --name vmm-default " "$tmp/out"' "... prints its vmm run line"
man -l "$dest$mandir/man1/vmm.1" 2>/dev/null | grep -q "vmm domain --print FILE.xml"
is 0 "$?" "the installed man page renders"

submake uninstall
is 0 "$?" "make uninstall DESTDIR=... exits 0"
find "$dest" -type f >"$tmp/left"
is "" "$(cat "$tmp/left")" "make uninstall leaves no file behind"
