#!/bin/sh
# SPDX-License-Identifier: MIT
#
# libvirt domain XML (docs/domain-xml.md), without KVM:
# - each example in docs/domains/ is valid against libvirt's own schema
#   (virt-xml-validate), `vmm domain --print` gives the line
#   tests/unit/domain-print.expected has for it, and so does the same
#   domain after libvirt's own normalisation (`virsh -c test:///default`
#   define + dumpxml: libvirt's test driver, no daemon);
# - each document of tests/unit/domains/unsupported/ is valid libvirt and
#   each of tests/unit/domains/invalid/ is not a domain vmm can read: both
#   give exit status 1, nothing on stdout and exactly the one line
#   tests/unit/domain-refused.expected has for it, from `vmm domain --print`
#   and from `vmm run --domain` (which stops before it opens /dev/kvm);
# - the command line around --domain.
# libvirt-clients (virsh, virt-xml-validate) is a test dependency: without
# it the test fails, it does not skip.
. "$top_srcdir/tests/tap/libtap.sh"

: "${VMM:?}"
for tool in virsh virt-xml-validate; do
	command -v "$tool" >/dev/null 2>&1 ||
		bail "$tool not found: install libvirt-clients (a test dependency; ./quickstart does)"
done

examples=$top_srcdir/docs/domains
domains=$top_srcdir/tests/unit/domains
tmp=$(mktemp -d "${TMPDIR:-/tmp}/domain-xml.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
plan_lazy

# expected FILE KEY: the text after "KEY: " on KEY's line of FILE.
expected() {
	awk -v k="$2: " 'index($0, k) == 1 { print substr($0, length(k) + 1); exit }' "$1"
}

# --- the examples --------------------------------------------------------
n=0
for xml in "$examples"/*.xml; do
	name=$(basename "$xml")
	n=$((n + 1))
	want=$(expected "$top_srcdir/tests/unit/domain-print.expected" "$name")
	ok '[ -n "$want" ]' "$name: has its line in domain-print.expected"
	ok 'virt-xml-validate "$xml" domain >"$tmp/validate" 2>&1' "$name: valid against libvirt's domain schema"
	[ $? = 0 ] || diag_file "$tmp/validate"
	"$VMM" domain --print "$xml" >"$tmp/out" 2>"$tmp/err"
	is 0 "$?" "$name: vmm domain --print exits 0"
	is "$want" "$(cat "$tmp/out")" "$name: vmm domain --print"
	is "" "$(cat "$tmp/err")" "$name: nothing on stderr"
	# libvirt's normalisation: units to KiB, defaults written out
	# (currentMemory, vcpu placement, on_*, <clock>, <os><boot>, the
	# <console> of serial port 0 ...).
	dom=$(sed -n 's:.*<name>\(.*\)</name>.*:\1:p' "$xml" | head -n1)
	virsh -q -c test:///default "define $xml; dumpxml $dom" >"$tmp/virsh" 2>&1
	is 0 "$?" "$name: libvirt's test driver defines it and dumps it back"
	sed '1{/^Domain .* defined/d}' "$tmp/virsh" >"$tmp/normalised.xml"
	is "$want" "$("$VMM" domain --print "$tmp/normalised.xml" 2>&1)" \
		"$name: the same --print line after libvirt's normalisation (virsh define + dumpxml)"
done
ok '[ "$n" -ge 10 ]' "$n example domains in docs/domains"
is "$n" "$(grep -c . "$top_srcdir/tests/unit/domain-print.expected")" \
	"domain-print.expected has one line per example, no more"

# --- refused documents ---------------------------------------------------
# refused DESC WANT CMD...: exit 1, nothing on stdout, exactly "vmm: WANT".
refused() {
	_desc=$1 _want=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	is 1 "$?" "$_desc: exit status 1"
	is "vmm: $_want" "$(cat "$tmp/err")" "$_desc: one line"
	ok '[ ! -s "$tmp/out" ]' "$_desc: nothing on stdout"
}

cd "$domains" || bail "cannot cd to $domains"
n=0
for xml in unsupported/*.xml invalid/*.xml; do
	n=$((n + 1))
	want=$(awk -v k="$xml:" 'index($0, k) == 1 { print; exit }' "$top_srcdir/tests/unit/domain-refused.expected")
	ok '[ -n "$want" ]' "$xml: has its line in domain-refused.expected"
	case $xml in
	unsupported/*)
		# libvirt accepts it: vmm refuses a real domain, not a typo
		ok 'virt-xml-validate "$xml" domain >"$tmp/validate" 2>&1' \
			"$xml: valid against libvirt's domain schema"
		[ $? = 0 ] || diag_file "$tmp/validate"
		;;
	esac
	refused "domain --print $xml" "$want" "$VMM" domain --print "$xml"
	refused "run --domain $xml" "$want" "$VMM" run --domain "$xml" --timeout 5
done
is "$n" "$(grep -c . "$top_srcdir/tests/unit/domain-refused.expected")" \
	"domain-refused.expected has one line per refused document, no more"
cd "$tmp" || bail "cannot cd to $tmp"

# --- files vmm cannot read -----------------------------------------------
refused "missing file" "cannot open domain file '$tmp/none.xml': No such file or directory" \
	"$VMM" domain --print "$tmp/none.xml"
mkdir "$tmp/dir.xml"
refused "a directory" "domain file '$tmp/dir.xml' is not a regular file of at most 4 MiB" \
	"$VMM" run --domain "$tmp/dir.xml"

# --- the command line around --domain ------------------------------------
refused "--domain with --mem" "--domain: the domain file describes the VM: --mem cannot go with it" \
	"$VMM" run --domain "$examples/default.xml" --mem 1G
refused "--domain with --kernel" "--domain: the domain file describes the VM: --kernel cannot go with it" \
	"$VMM" run --kernel /x --domain "$examples/default.xml"
refused "domain without --print" "usage: vmm domain --print FILE.xml" "$VMM" domain "$examples/default.xml"
refused "domain --print with two files" "usage: vmm domain --print FILE.xml" \
	"$VMM" domain --print "$examples/default.xml" "$examples/rng.xml"
refused "domain --print with a run option" "usage: vmm domain --print FILE.xml" \
	"$VMM" domain --print --cpus 2 "$examples/default.xml"
refused "--print with run" "--print goes with 'vmm domain --print FILE.xml'" \
	"$VMM" run --print --domain "$examples/default.xml"
refused "--uuid not a UUID" "--uuid 'xyz': not a UUID (8-4-4-4-12 hex digits)" \
	"$VMM" run --uuid xyz

# vmm's own options go with --domain, and the domain's kernel is the one
# vmm opens (it stops there: the file is not there).
sed "s:/usr/local/share/vmm/guest/bzImage:$tmp/no-kernel:" "$examples/default.xml" >"$tmp/d.xml"
refused "run --domain with --timeout, --report, --dma-errors, -q: the domain's kernel" \
	"cannot open kernel '$tmp/no-kernel': No such file or directory" \
	"$VMM" run --timeout 5 --domain "$tmp/d.xml" --report "$tmp/r.json" --dma-errors fatal -q
