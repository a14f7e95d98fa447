#!/bin/sh
# SPDX-License-Identifier: MIT
#
# mkguest.sh - build the default guest image of vmm (reproducibly).
#
# Outputs, in OUTDIR:
#   bzImage          the unmodified Debian kernel
#   initramfs.cpio   uncompressed newc archive: busybox, /init, guest
#                    programs, the guest modules
#   modules/         decompressed .ko files (guest modules and the kvm ones
#                    that the test host's L1 loads) plus their load orders
#                    modules/guest.order and modules/l1.order
#   kernel-release   e.g. 6.12.117+deb12-cloud-amd64
#   vmlinux          the ELF kernel unpacked from the bzImage (PVH entry;
#                    the test host boots it to skip the decompression)
#
# The kernel comes, in this order of preference, from
#   --kernel BZIMAGE --modules-dir DIR    (or $GUEST_BZIMAGE, $GUEST_MODULES_DIR)
#   --deb FILE                            (or $GUEST_KERNEL_DEB) a linux-image deb
#   apt-get download of $GUEST_KERNEL_PACKAGE (default
#   linux-image-6.12-cloud-amd64, a metapackage) and of the versioned
#   package it depends on, cached in CACHEDIR; offline once cached.
#   --refresh (or GUEST_REFRESH=1) downloads the metapackage again.
#
# With --prepare-kbuild it stops after the kernel and makes a kernel build
# tree (the linux-headers of that exact kernel) available for out-of-tree
# modules: OUTDIR/kbuild names it (see "Kernel headers" below).
#
# Run "mkguest.sh --help" for the options.  guest/local.mk calls it for
# "make guest"; tests/testhost reuses its outputs.

set -eu

prog=mkguest.sh
die() {
	echo "$prog: error: $*" >&2
	exit 1
}
note() {
	if [ "$verbose" = 1 ]; then echo "$prog: $*" >&2; fi
}

usage() {
	cat <<'EOF'
usage: mkguest.sh --out OUTDIR --busybox PATH --init PATH --modules-list PATH
                  [--program PATH]... [--extra-module FILE.ko]...
                  [--file SRC:DEST]... [--cache DIR] [--refresh]
                  [--deb FILE | --kernel BZIMAGE --modules-dir DIR]
                  [--verbose]
       mkguest.sh --prepare-kbuild --out OUTDIR [--cache DIR] [--refresh]
                  [--deb FILE | --kernel BZIMAGE --modules-dir DIR]

  --out DIR           output directory (created)
  --busybox PATH      static busybox binary for the initramfs
  --init PATH         the /init script (guest/init.sh)
  --modules-list PATH list of modules (guest/modules.list)
  --program PATH      static guest program, installed as /usr/bin/NAME
  --extra-module F    out-of-tree module loaded by the guest after the listed ones
  --file SRC:DEST     any extra file, installed at /DEST in the initramfs
  --cache DIR         download cache (default: OUTDIR/../cache)
  --refresh           download the kernel metapackage again
  --deb FILE          use this linux-image-*.deb instead of downloading
  --kernel BZIMAGE    use this kernel image ...
  --modules-dir DIR   ... with the modules in DIR (a lib/modules/RELEASE tree)
  --prepare-kbuild    only resolve the kernel and provide its build tree
                      (headers): writes OUTDIR/kernel-release and
                      OUTDIR/kbuild (the directory for "make -C DIR M=...")

Environment: GUEST_KERNEL_DEB, GUEST_BZIMAGE, GUEST_MODULES_DIR,
GUEST_KERNEL_PACKAGE, GUEST_REFRESH=1, GUEST_EXTRA_MODULES (space-separated
.ko paths), SOURCE_DATE_EPOCH (file times in the archive, default 0),
GUEST_KDIR (--prepare-kbuild: use this kernel build tree).
EOF
}

out= busybox= init= modlist= cache= verbose=0 prepare_kbuild=0
refresh=${GUEST_REFRESH:-0}
deb=${GUEST_KERNEL_DEB:-}
kernel=${GUEST_BZIMAGE:-}
moddir=${GUEST_MODULES_DIR:-}
programs= extra_modules=${GUEST_EXTRA_MODULES:-} extra_files=
NL='
'
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift ;;
	--busybox) busybox=$2; shift ;;
	--init) init=$2; shift ;;
	--modules-list) modlist=$2; shift ;;
	--program) programs="$programs$2$NL"; shift ;;
	--extra-module) extra_modules="$extra_modules $2"; shift ;;
	--file) extra_files="$extra_files$2$NL"; shift ;;
	--cache) cache=$2; shift ;;
	--refresh) refresh=1 ;;
	--deb) deb=$2; shift ;;
	--kernel) kernel=$2; shift ;;
	--modules-dir) moddir=$2; shift ;;
	--prepare-kbuild) prepare_kbuild=1 ;;
	--verbose|-v) verbose=1 ;;
	--help|-h) usage; exit 0 ;;
	*) usage >&2; die "unknown argument '$1'" ;;
	esac
	shift
done
[ -n "$out" ] || die "--out is required"
if [ "$prepare_kbuild" = 0 ]; then
[ -n "$busybox" ] || die "--busybox is required"
[ -n "$init" ] || die "--init is required"
[ -n "$modlist" ] || die "--modules-list is required"
[ -x "$busybox" ] || die "busybox '$busybox' is not executable (Debian: apt-get install busybox-static)"
[ -r "$init" ] || die "cannot read init script '$init'"
[ -r "$modlist" ] || die "cannot read modules list '$modlist'"
fi
if [ -n "$kernel" ] || [ -n "$moddir" ]; then
	[ -n "$kernel" ] && [ -n "$moddir" ] ||
		die "--kernel and --modules-dir go together"
fi
for tool in cpio xz; do
	command -v $tool >/dev/null 2>&1 || die "$tool not found (Debian: apt-get install $tool)"
done

is_static() {
	# ldd prints "not a dynamic executable" (or "statically linked").
	! ldd "$1" >/dev/null 2>&1 || ldd "$1" 2>&1 | grep -q 'statically linked'
}
[ "$prepare_kbuild" = 1 ] ||
	is_static "$busybox" || die "busybox '$busybox' is dynamically linked: the guest needs a static one (busybox-static)"

mkdir -p "$out"
out=$(cd "$out" && pwd)
[ -n "$cache" ] || cache=$(dirname "$out")/cache
epoch=${SOURCE_DATE_EPOCH:-0}
work=$out/.work
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

# ---------------------------------------------------------------------------
# 1. The kernel: a bzImage and a lib/modules/RELEASE tree.

apt_download() { # PACKAGE[=VERSION] -> into $cache
	note "apt-get download $1"
	if ! (cd "$cache" && apt-get -q download "$1") >"$work/apt.log" 2>&1; then
		sed 's/^/  /' "$work/apt.log" >&2
		die "apt-get download $1 failed (no network or stale apt lists? try 'apt-get update', or give a kernel with GUEST_KERNEL_DEB=FILE.deb or GUEST_BZIMAGE+GUEST_MODULES_DIR)"
	fi
}

deb_field() { dpkg-deb -f "$1" "$2"; }

if [ -z "$kernel" ] && [ -z "$deb" ]; then
	command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found: give --kernel/--modules-dir instead"
	mkdir -p "$cache"
	meta=${GUEST_KERNEL_PACKAGE:-linux-image-6.12-cloud-amd64}
	if [ "$refresh" = 1 ]; then
		rm -f "$cache/${meta}_"*.deb
	fi
	metadeb=
	for f in "$cache/${meta}_"*.deb; do
		[ -f "$f" ] && metadeb=$f
	done
	if [ -z "$metadeb" ]; then
		apt_download "$meta"
		for f in "$cache/${meta}_"*.deb; do
			[ -f "$f" ] && metadeb=$f
		done
		[ -n "$metadeb" ] || die "apt-get download $meta left no .deb in $cache"
	fi
	# "linux-image-6.12.117+deb12-cloud-amd64 (= 6.12.117-1~deb12u1)"
	dep=$(deb_field "$metadeb" Depends | tr ',' '\n' |
		sed -n 's/^ *\(linux-image-[^ |]*\) *(= *\([^)]*\)).*/\1 \2/p' | head -n1)
	[ -n "$dep" ] || dep=$(deb_field "$metadeb" Depends | tr ',' '\n' |
		sed -n 's/^ *\(linux-image-[^ |(]*\).*/\1/p' | head -n1)
	[ -n "$dep" ] || die "cannot find the versioned linux-image dependency of $metadeb"
	pkg=${dep%% *}
	ver=
	case $dep in *" "*) ver=${dep#* } ;; esac
	for f in "$cache/${pkg}_"*.deb; do
		[ -f "$f" ] || continue
		if [ -z "$ver" ] || [ "$(deb_field "$f" Version)" = "$ver" ]; then
			deb=$f
		fi
	done
	if [ -z "$deb" ]; then
		apt_download "$pkg${ver:+=$ver}"
		for f in "$cache/${pkg}_"*.deb; do
			[ -f "$f" ] || continue
			if [ -z "$ver" ] || [ "$(deb_field "$f" Version)" = "$ver" ]; then
				deb=$f
			fi
		done
		[ -n "$deb" ] || die "apt-get download $pkg left no .deb in $cache"
	fi
fi

if [ -z "$kernel" ]; then
	[ -r "$deb" ] || die "cannot read kernel package '$deb'"
	command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found"
	mkdir -p "$cache"
	tree=$cache/tree/$(basename "$deb" .deb)
	if [ ! -f "$tree/.complete" ] || [ "$deb" -nt "$tree/.complete" ]; then
		note "extracting $deb"
		rm -rf "$tree" "$tree.tmp"
		mkdir -p "$tree.tmp"
		dpkg-deb -x "$deb" "$tree.tmp" || die "dpkg-deb -x $deb failed"
		touch "$tree.tmp/.complete"
		mv "$tree.tmp" "$tree"
	fi
	for f in "$tree"/boot/vmlinuz-*; do
		[ -f "$f" ] && kernel=$f
	done
	[ -n "$kernel" ] || die "no boot/vmlinuz-* in $deb"
	for d in "$tree"/lib/modules/* "$tree"/usr/lib/modules/*; do
		[ -d "$d/kernel" ] && moddir=$d
	done
	[ -n "$moddir" ] || die "no lib/modules/RELEASE/kernel in $deb"
fi
[ -r "$kernel" ] || die "cannot read kernel image '$kernel'"
[ -d "$moddir" ] || die "modules directory '$moddir' does not exist"

# Release from the bzImage header (setup header field kernel_version, a
# pointer at 0x20e to a string 0x200 bytes further on); fall back to the
# name of the modules directory.
release=
if [ "$(dd if="$kernel" bs=1 skip=514 count=4 2>/dev/null)" = HdrS ]; then
	ptr=$(od -An -j 526 -N 2 -t u2 "$kernel" | tr -d ' ')
	if [ -n "$ptr" ] && [ "$ptr" -gt 0 ]; then
		release=$(dd if="$kernel" bs=1 skip=$((ptr + 512)) count=256 2>/dev/null |
			tr '\0' '\n' | head -n1 | cut -d' ' -f1)
	fi
else
	die "'$kernel' is not a bzImage (no HdrS signature)"
fi
modrel=$(basename "$moddir")
[ -n "$release" ] || release=$modrel
if [ "$release" != "$modrel" ] && [ -z "${GUEST_MODULES_DIR:-}" ]; then
	die "kernel release $release does not match modules directory $moddir"
fi
note "kernel $kernel, release $release, modules $moddir"

# ---------------------------------------------------------------------------
# Kernel headers (--prepare-kbuild): a kernel build tree for out-of-tree
# modules, in this order of preference:
#   $GUEST_KDIR                       any build tree for this release
#   /lib/modules/RELEASE/build        an installed linux-headers-RELEASE
#   linux-headers-RELEASE, its -common and linux-kbuild packages of the
#   kernel package's exact version, downloaded (apt-get download, no root,
#   nothing installed on this machine) and unpacked into the cache, like the
#   kernel itself; offline once cached.
if [ "$prepare_kbuild" = 1 ]; then
	kdir=${GUEST_KDIR:-}
	if [ -z "$kdir" ] && [ -f "/lib/modules/$release/build/Makefile" ]; then
		kdir=/lib/modules/$release/build
	fi
	if [ -z "$kdir" ]; then
		[ -n "$deb" ] || die "no kernel headers for $release (the kernel came from --kernel): install linux-headers-$release or set GUEST_KDIR=DIR"
		kver=$(deb_field "$deb" Version)
		hdrs=$cache/tree/linux-headers-${release}_$kver
		if [ ! -f "$hdrs/.complete" ]; then
			command -v dpkg-deb >/dev/null 2>&1 || die "dpkg-deb not found"
			hpkg=linux-headers-$release
			hdeb=
			for f in "$cache/${hpkg}_"*.deb; do
				[ -f "$f" ] && [ "$(deb_field "$f" Version)" = "$kver" ] && hdeb=$f
			done
			if [ -z "$hdeb" ]; then
				note "apt-get download $hpkg=$kver"
				if ! (cd "$cache" && apt-get -q download "$hpkg=$kver") >"$work/apt.log" 2>&1; then
					sed 's/^/  /' "$work/apt.log" >&2
					die "cannot get the guest kernel's headers $hpkg=$kver: run 'apt-get update' (the version must still be in the archive), or install $hpkg, or set GUEST_KDIR=DIR"
				fi
				for f in "$cache/${hpkg}_"*.deb; do
					[ -f "$f" ] && [ "$(deb_field "$f" Version)" = "$kver" ] && hdeb=$f
				done
				[ -n "$hdeb" ] || die "apt-get download $hpkg=$kver left no .deb in $cache"
			fi
			# Its -common headers and the kbuild tools (same source version).
			debs=$hdeb
			for dep in $(deb_field "$hdeb" Depends | tr ',' '\n' |
				sed -n 's/^ *\(linux-headers-[^ |(]*-common\|linux-kbuild-[^ |(]*\).*/\1/p'); do
				ddeb=
				for f in "$cache/${dep}_"*.deb; do
					[ -f "$f" ] && [ "$(deb_field "$f" Version)" = "$kver" ] && ddeb=$f
				done
				if [ -z "$ddeb" ]; then
					note "apt-get download $dep=$kver"
					if ! (cd "$cache" && apt-get -q download "$dep=$kver") >"$work/apt.log" 2>&1; then
						sed 's/^/  /' "$work/apt.log" >&2
						die "cannot get $dep=$kver (needed by $hpkg): run 'apt-get update', or install $hpkg, or set GUEST_KDIR=DIR"
					fi
					for f in "$cache/${dep}_"*.deb; do
						[ -f "$f" ] && [ "$(deb_field "$f" Version)" = "$kver" ] && ddeb=$f
					done
					[ -n "$ddeb" ] || die "apt-get download $dep=$kver left no .deb in $cache"
				fi
				debs="$debs $ddeb"
			done
			rm -rf "$hdrs" "$hdrs.tmp"
			mkdir -p "$hdrs.tmp"
			for f in $debs; do
				note "extracting $f"
				dpkg-deb -x "$f" "$hdrs.tmp" || die "dpkg-deb -x $f failed"
			done
			[ -f "$hdrs.tmp/usr/src/linux-headers-$release/Makefile" ] ||
				die "$hdeb has no usr/src/linux-headers-$release/Makefile"
			touch "$hdrs.tmp/.complete"
			mv "$hdrs.tmp" "$hdrs"
		fi
		kdir=$hdrs/usr/src/linux-headers-$release
		# Debian's per-flavour Makefile includes the -common one by an
		# absolute path (/usr/src/...); point it into the unpacked tree,
		# wherever the cache is now.  The other links (scripts, tools) are
		# relative.
		mk=$kdir/Makefile
		sed "s|^include .*/usr/src/\(linux-headers-[^/]*\)/Makefile\$|include $hdrs/usr/src/\1/Makefile|" \
			"$mk" >"$mk.new" || die "cannot rewrite $mk"
		if cmp -s "$mk" "$mk.new"; then rm -f "$mk.new"; else mv "$mk.new" "$mk"; fi
	fi
	[ -f "$kdir/Makefile" ] || die "kernel build tree '$kdir' has no Makefile"
	[ -f "$kdir/.config" ] || die "kernel build tree '$kdir' has no .config"
	# The compiler the kernel was built with (modules must use the same).
	kcc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\).*/\1/p' "$kdir/.config")
	if [ -n "$kcc" ] && ! command -v "$kcc" >/dev/null 2>&1; then
		die "the guest kernel was built with $kcc, which is not installed (Debian: apt-get install ${kcc##*-linux-gnu-})"
	fi
	echo "$release" >"$out/kernel-release"
	echo "$kdir" >"$out/kbuild"
	note "kernel build tree for $release: $kdir"
	exit 0
fi

# ---------------------------------------------------------------------------
# 2. Modules: resolve dependencies (no depmod needed: each module's
#    .modinfo section names its dependencies).

(cd "$moddir" && find . -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz') |
	sed 's|^\./||' | LC_ALL=C sort >"$work/all-modules"
awk '{ n = $0; sub(/.*\//, "", n); sub(/\.ko(\.(xz|zst|gz))?$/, "", n);
       gsub(/-/, "_", n); print n, $0 }' "$work/all-modules" >"$work/index"
builtin_names() {
	[ -f "$moddir/modules.builtin" ] || return 0
	sed 's|.*/||; s|\.ko$||; s|-|_|g' "$moddir/modules.builtin"
}
builtin_names >"$work/builtin"

mkdir -p "$work/ko"
decompress() { # SRC DEST
	case $1 in
	*.ko.xz) xz -dc "$1" >"$2" ;;
	*.ko.zst) zstd -qdc "$1" >"$2" ;;
	*.ko.gz) gzip -dc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
}
# modinfo KO FIELD
modinfo_field() {
	tr '\0' '\n' <"$1" | sed -n "s/^$2=//p" | head -n1
}

# Emit "NAME FILE.ko" for MODULE and its dependencies, dependencies first.
resolve() { # NAME ORDERFILE OPTIONAL
	local name path file deps d
	name=$(echo "$1" | tr - _)
	if grep -qx "$name" "$work/seen.$2" 2>/dev/null; then
		return 0
	fi
	path=$(awk -v n="$name" '$1 == n { print $2; exit }' "$work/index")
	if [ -z "$path" ]; then
		if grep -qx "$name" "$work/builtin"; then
			note "$name is built into the kernel"
			return 0
		fi
		[ "$3" = optional ] && { note "$name: not available, skipped"; return 0; }
		die "module $name not found in $moddir"
	fi
	echo "$name" >>"$work/seen.$2"
	file=$(basename "$path")
	file=${file%.xz}; file=${file%.zst}; file=${file%.gz}
	if [ ! -f "$work/ko/$file" ]; then
		decompress "$moddir/$path" "$work/ko/$file" || die "cannot decompress $path"
	fi
	deps=$(modinfo_field "$work/ko/$file" depends | tr ',' ' ')
	for d in $deps; do
		resolve "$d" "$2" required
	done
	echo "$file" >>"$work/order.$2"
}

for target in guest l1; do
	: >"$work/order.$target"
	: >"$work/seen.$target"
done
# modules.list: "TARGET MODULE [optional]", # comments
sed 's/#.*//' "$modlist" | while read -r target mod flag; do
	[ -n "$target" ] || continue
	case $target in guest|l1) ;; *) die "$modlist: unknown target '$target'" ;; esac
	[ -n "$mod" ] || die "$modlist: missing module name after '$target'"
	resolve "$mod" "$target" "${flag:-required}"
done
for ko in $extra_modules; do
	[ -r "$ko" ] || die "cannot read extra module '$ko'"
	file=$(basename "$ko")
	file=${file%.xz}; file=${file%.zst}; file=${file%.gz}
	decompress "$ko" "$work/ko/$file"
	vermagic=$(modinfo_field "$work/ko/$file" vermagic)
	case "$vermagic " in
	"$release "*) ;;
	*) die "extra module $ko was built for kernel '${vermagic%% *}', the guest kernel is $release" ;;
	esac
	echo "$file" >>"$work/order.guest"
done

# ---------------------------------------------------------------------------
# 3. Outputs.

rm -rf "$out/modules.tmp"
mkdir -p "$out/modules.tmp"
for target in guest l1; do
	while read -r file; do
		cp "$work/ko/$file" "$out/modules.tmp/$file"
	done <"$work/order.$target"
	cp "$work/order.$target" "$out/modules.tmp/$target.order"
done
rm -rf "$out/modules"
mv "$out/modules.tmp" "$out/modules"
cp "$kernel" "$out/bzImage.tmp"
mv "$out/bzImage.tmp" "$out/bzImage"

# vmlinux: the ELF kernel inside the bzImage, for PVH boots that skip the
# decompression (the test host's L1 boots it: ~2 s faster under TCG).
# Setup header: setup_sects at 0x1f1, payload_offset/length at 0x248/0x24c;
# the payload ends with a 4-byte size that the decompressors do not want.
setup_sects=$(od -An -j 497 -N 1 -t u1 "$kernel" | tr -d ' ')
[ "$setup_sects" = 0 ] && setup_sects=4
pl_off=$(od -An -j 584 -N 4 -t u4 "$kernel" | tr -d ' ')
pl_len=$(od -An -j 588 -N 4 -t u4 "$kernel" | tr -d ' ')
rm -f "$out/vmlinux"
if [ -n "$pl_off" ] && [ "${pl_len:-0}" -gt 4 ]; then
	start=$(((setup_sects + 1) * 512 + pl_off))
	magic=$(od -An -j "$start" -N 4 -t x1 "$kernel" | tr -d ' ')
	case $magic in
	28b52ffd) unpack="zstd -qdc" ;;
	fd377a58) unpack="xz -dc" ;;
	1f8b*) unpack="gzip -dc" ;;
	*) unpack= ;;
	esac
	if [ -n "$unpack" ] && command -v "${unpack%% *}" >/dev/null 2>&1; then
		tail -c +$((start + 1)) "$kernel" | head -c $((pl_len - 4)) |
			$unpack >"$out/vmlinux.tmp" 2>/dev/null || rm -f "$out/vmlinux.tmp"
		if [ -f "$out/vmlinux.tmp" ] &&
			[ "$(od -An -N 4 -c "$out/vmlinux.tmp" | tr -d ' ')" = '177ELF' ]; then
			mv "$out/vmlinux.tmp" "$out/vmlinux"
		else
			rm -f "$out/vmlinux.tmp"
		fi
	fi
fi
[ -f "$out/vmlinux" ] || note "could not extract vmlinux from $kernel (only the bzImage then)"
echo "$release" >"$out/kernel-release"

# The initramfs tree.
root=$work/root
mkdir -p "$root"
for d in bin sbin usr/bin usr/sbin dev proc sys tmp run root etc \
	"lib/modules/$release"; do
	mkdir -p "$root/$d"
done
cp "$busybox" "$root/bin/busybox"
chmod 755 "$root/bin/busybox"
"$busybox" --list-full | while read -r applet; do
	[ "$applet" = bin/busybox ] && continue
	mkdir -p "$root/$(dirname "$applet")"
	ln -sf /bin/busybox "$root/$applet"
done
cp "$init" "$root/init"
chmod 755 "$root/init"
printf '%s\n' "$programs" | while read -r p; do
	[ -n "$p" ] || continue
	[ -x "$p" ] || die "guest program '$p' is not executable"
	is_static "$p" || die "guest program '$p' is not statically linked"
	cp "$p" "$root/usr/bin/$(basename "$p")"
	chmod 755 "$root/usr/bin/$(basename "$p")"
done
while read -r file; do
	cp "$work/ko/$file" "$root/lib/modules/$release/$file"
done <"$work/order.guest"
cp "$work/order.guest" "$root/lib/modules/$release/load.order"
printf '%s\n' "$extra_files" | while IFS= read -r spec; do
	[ -n "$spec" ] || continue
	src=${spec%%:*}
	dest=${spec#*:}
	[ "$src" != "$spec" ] || die "--file wants SRC:DEST, got '$spec'"
	mkdir -p "$root/$(dirname "/$dest")"
	cp "$src" "$root/$dest"
done
echo "$release" >"$root/etc/kernel-release"

# Reproducible archive: fixed times and owners, sorted names.
find "$root" -exec touch -h -d "@$epoch" {} +
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
	cpio --quiet -o -H newc -R 0:0 --reproducible) >"$out/initramfs.cpio.tmp" ||
	die "cpio failed"
mv "$out/initramfs.cpio.tmp" "$out/initramfs.cpio"
note "wrote $out/initramfs.cpio ($(wc -c <"$out/initramfs.cpio") bytes)"
exit 0
