#!/bin/sh
# SPDX-License-Identifier: MIT
#
# peer-qemu.sh CACHE-DIR - Debian 12's own QEMU (7.2, from bookworm's main
# suite), the peer VMM that the QEMU comparisons run (tests/integration/
# iommu-qemu.sh, make bench-boot, make bench-iommu): what a Debian 12 user
# has.  The test host's L1 is QEMU 10 (./quickstart installs it from
# bookworm-backports, and then it is the system's QEMU), so the 7.2 peer is
# not installed but downloaded once with `apt-get download` (the packages
# qemu-system-x86, qemu-system-data and seabios of the bookworm suite) into
# CACHE-DIR and unpacked there with dpkg-deb -x; its libraries are the
# system's (QEMU 10 needs the same ones).  QEMU finds its firmware relative
# to its binary, so it runs from there, directly or inside the test host.
#
# Prints the path of that qemu-system-x86_64 on stdout.  Works offline once
# cached.  Exit status 1 with one line on stderr when it cannot be had (no
# bookworm suite in apt's sources, no network and nothing cached).
set -eu

cache=${1:?usage: peer-qemu.sh CACHE-DIR}
dir=$cache/peer-qemu
bin=$dir/root/usr/bin/qemu-system-x86_64

if [ -x "$bin" ] && [ -f "$dir/stamp" ]; then
	echo "$bin"
	exit 0
fi
# Built aside and moved into place: two callers at once do not mix.
mkdir -p "$cache"
work=$(mktemp -d "$cache/peer-qemu.tmp.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs"
# pkg/bookworm: the version in the bookworm suite (not backports).
for p in qemu-system-x86 qemu-system-data seabios; do
	if ls "$dir/debs/${p}"_*.deb >/dev/null 2>&1; then
		cp "$dir/debs/${p}"_*.deb "$work/debs/"
	elif ! (cd "$work/debs" && apt-get download -q "$p/bookworm") >/dev/null 2>"$work/apt.err"; then
		echo "peer-qemu.sh: cannot download $p/bookworm (Debian 12's QEMU, the peer):" \
			"$(tail -n1 "$work/apt.err")" >&2
		exit 1
	fi
done
for d in "$work"/debs/*.deb; do
	dpkg-deb -x "$d" "$work/root"
done
if ! "$work/root/usr/bin/qemu-system-x86_64" --version >"$work/version" 2>"$work/run.err"; then
	echo "peer-qemu.sh: the unpacked QEMU does not run: $(head -n1 "$work/run.err")" >&2
	exit 1
fi
: >"$work/stamp"
rm -rf "$dir"
mv "$work" "$dir" 2>/dev/null || [ -f "$dir/stamp" ] || exit 1
echo "$bin"
