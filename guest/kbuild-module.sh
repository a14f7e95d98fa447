#!/bin/sh
# SPDX-License-Identifier: MIT
#
# kbuild-module.sh OUTDIR SRCNAME FILE...
# Builds out-of-tree kernel modules for the default guest's kernel: copies
# FILE... (sources, Kbuild, headers) into OUTDIR (made afresh) and runs
# kbuild there against the build tree guest/out/kbuild names (make
# guest-kbuild; run from the build directory).  Without BTF (only BPF would
# use it, and it needs pahole) and with OUTDIR mapped to SRCNAME in the
# debug info, so that a module is the same from any build tree.  $MAKE is
# the make to run (default make).  Used by guest/local.mk for dmatest.ko
# and the examples.
set -e
[ $# -ge 3 ] || { echo "usage: $0 OUTDIR SRCNAME FILE..." >&2; exit 2; }
out=$1 name=$2
shift 2
kdir=$(cat guest/out/kbuild)
rm -rf "$out"
mkdir -p "$out"
for f in "$@"; do
	cp "$f" "$out/"
done
m=$(cd "$out" && pwd)
# The outer make's flags (-j, -C, variables) are not kbuild's.
if ! env -u MAKEFLAGS -u MFLAGS -u MAKEOVERRIDES -u MAKELEVEL \
	"${MAKE:-make}" -C "$kdir" M="$m" KCFLAGS="-ffile-prefix-map=$m/=$name/" \
	CONFIG_DEBUG_INFO_BTF_MODULES= modules; then
	echo "guest/kbuild-module.sh: error: building $name against $kdir failed (see above)" >&2
	exit 1
fi
