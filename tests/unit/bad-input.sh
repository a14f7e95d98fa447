#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Every bad command-line or file input gets exactly one clear line on stderr
# ("vmm: ..."), nothing on stdout, and exit status 1 -- never a crash.  None
# of these needs a working KVM: vmm checks its inputs before it opens
# /dev/kvm (and the /dev/kvm cases make it absent or forbidden on purpose).
. "$top_srcdir/tests/tap/libtap.sh"

: "${VMM:?}" "${top_builddir:?}"
KERNEL="$top_builddir/guest/out/bzImage"
[ -f "$KERNEL" ] || bail "the default guest is not built ($KERNEL): run make guest"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bad-input.XXXXXX")
at_exit 'rm -rf "$tmp"'
chmod 755 "$tmp"

is_root=0
[ "$(id -u)" = 0 ] && is_root=1

. "$top_srcdir/tests/unit/expect-error.sh"

# Files for the cases below.
head -c 100000 /dev/urandom >"$tmp/random.bin"
: >"$tmp/empty"
mkdir "$tmp/dir"
cp "$KERNEL" "$tmp/bzImage" && chmod 644 "$tmp/bzImage"
cp "$KERNEL" "$tmp/secret-bzImage" && chmod 600 "$tmp/secret-bzImage"
truncate -s 120M "$tmp/huge-initrd"
long=$(head -c 3000 /dev/zero | tr '\0' 'a')

plan 188

expect_error "no command" "no command" "$VMM"
expect_error "unknown command" "unknown command" "$VMM" boot
expect_error "unknown option" "unknown option" "$VMM" run --frobnicate
expect_error "option without its value" "needs a value" "$VMM" run --kernel
expect_error "--mem abc" "not a size" "$VMM" run --mem abc
expect_error "--mem 1M" "at least" "$VMM" run --mem 1M
expect_error "--mem larger than the host" "more than this host" "$VMM" run --mem 64T
expect_error "--cpus 0" "from 1 to" "$VMM" run --cpus 0
expect_error "--cpus 1000" "from 1 to" "$VMM" run --cpus 1000
expect_error "--timeout x" "timeout" "$VMM" run --timeout x
expect_error "missing kernel" "cannot open kernel.*No such file" "$VMM" run --kernel "$tmp/nope"
expect_error "kernel is a directory" "not a regular file" "$VMM" run --kernel "$tmp/dir"
expect_error "empty kernel" "not a bzImage" "$VMM" run --kernel "$tmp/empty"
expect_error "random bytes as kernel" "not a bzImage" "$VMM" run --kernel "$tmp/random.bin"
expect_error "ELF executable as kernel" "ELF" "$VMM" run --kernel /bin/sh
expect_error "missing initrd" "cannot open initrd" "$VMM" run --kernel "$tmp/bzImage" --initrd "$tmp/nope"
expect_error "empty initrd" "initrd .* is empty" "$VMM" run --kernel "$tmp/bzImage" --initrd "$tmp/empty"
expect_error "initrd too large for RAM" "initrd too large" "$VMM" run --kernel "$tmp/bzImage" --initrd "$tmp/huge-initrd" --mem 128M
expect_error "RAM too small for the kernel" "too small for this kernel" "$VMM" run --kernel "$tmp/bzImage" --mem 64M
expect_error "command line too long" "command line too long" "$VMM" run --kernel "$tmp/bzImage" --cmdline "$long"
expect_error "console file in a missing directory" "cannot open console file" "$VMM" run --kernel "$tmp/bzImage" --console "$tmp/nope/console.txt"
head -c 1000 /dev/zero >"$tmp/odd.img"
expect_error "missing disk image" "cannot open disk" "$VMM" run --kernel "$tmp/bzImage" --disk "$tmp/nope.img"
expect_error "disk image is a directory" "Is a directory" "$VMM" run --kernel "$tmp/bzImage" --disk "$tmp/dir"
expect_error "disk size not a multiple of 512" "multiple of 512" "$VMM" run --kernel "$tmp/bzImage" --disk "$tmp/odd.img"
expect_error "empty disk image" "multiple of 512" "$VMM" run --kernel "$tmp/bzImage" --disk "$tmp/empty"
expect_error "unknown disk option" "unknown option" "$VMM" run --kernel "$tmp/bzImage" --disk "$tmp/odd.img,cache=none"
expect_error "report file in a missing directory" "cannot open report file" "$VMM" run --kernel "$tmp/bzImage" --report "$tmp/nope/r.json"
expect_error "--dmatest width=12" "must be 64, 40, 32 or 24" "$VMM" run --dmatest width=12
expect_error "--dmatest unknown key" "unknown key" "$VMM" run --dmatest fast
expect_error "--bounce-pool too small" "from 256K to 4G" "$VMM" run --bounce-pool 4K
expect_error "--dma-errors unknown" "'report' or 'fatal'" "$VMM" run --dma-errors=warn
expect_error "dump-acpi into a file" "cannot create" "$VMM" dump-acpi "$tmp/random.bin/x"
expect_error "--untrusted without the IOMMU" "--untrusted needs the virtio-iommu" "$VMM" run --untrusted --no-iommu

# --net: the command line, then TAPs that cannot be used (vmm opens them
# before /dev/kvm).  A missing interface and one that is no TAP need no
# privilege; the others make their TAPs in a private network namespace.
expect_error "--net without tap=" "tap=NAME is missing" "$VMM" run --net mtu=1500
expect_error "--net bad MAC" "not a unicast MAC" "$VMM" run --net tap=t0,mac=01:02:03:04:05:06
expect_error "--net queues=0" "from 1 to 8" "$VMM" run --net tap=t0,queues=0
expect_error "--net queues=9" "from 1 to 8" "$VMM" run --net tap=t0,queues=9
expect_error "--net mtu=40" "from 68 to 65521" "$VMM" run --net tap=t0,mtu=40
expect_error "--net mtu=70000" "from 68 to 65521" "$VMM" run --net tap=t0,mtu=70000
expect_error "--net missing TAP" "no network interface 'vmm-no-tap'" \
	"$VMM" run --kernel "$tmp/bzImage" --net tap=vmm-no-tap
if [ -c /dev/net/tun ] && [ -r /dev/net/tun ]; then
	expect_error "--net on a device that is no TAP" "'lo' is not a TAP interface" \
		"$VMM" run --kernel "$tmp/bzImage" --net tap=lo
else
	for i in 1 2 3 4; do skip "--net on a device that is no TAP" "no /dev/net/tun to open"; done
fi
if [ "$is_root" = 1 ] && unshare -n true 2>/dev/null && unshare -n ip tuntap add dev t0 mode tap 2>/dev/null; then
	expect_error "--net queues=2 on a single-queue TAP" "not a multi-queue TAP" \
		unshare -n sh -c 'ip tuntap add dev t0 mode tap && exec "$@"' sh \
		"$VMM" run --kernel "$tmp/bzImage" --net tap=t0,queues=2
	# A /dev/net/tun anyone may open (as on most hosts) and a TAP owned
	# by root (one without an owner is anyone's): nobody may not attach.
	expect_error "--net TAP without permission" "TAP 't0': permission denied" \
		unshare -m -n sh -c 'mount -t tmpfs none /dev && mkdir /dev/net &&
			mknod -m 666 /dev/net/tun c 10 200 && ip tuntap add dev t0 mode tap user 0 &&
			exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"' sh \
		"$VMM" run --kernel "$tmp/bzImage" --net tap=t0
else
	for i in 1 2 3 4 5 6 7 8; do skip "--net TAP cases" "needs root, network namespaces and the tun module"; done
fi

# Unreadable kernel and /dev/kvm without permission: as an unprivileged user
# (root reads everything, so drop to nobody for these).
if [ "$is_root" = 1 ]; then
	as_user="setpriv --reuid=65534 --regid=65534 --clear-groups"
else
	as_user=""
fi
expect_error "unreadable kernel" "cannot open kernel.*Permission denied" $as_user "$VMM" run --kernel "$tmp/secret-bzImage"
if [ "$is_root" = 1 ] && unshare -m true 2>/dev/null; then
	# Whatever this host's /dev/kvm is (absent, or world-accessible): a
	# private /dev whose kvm node only root may open, and vmm as nobody.
	expect_error "no permission on /dev/kvm" "/dev/kvm.*permission denied" \
		unshare -m sh -c 'mount -t tmpfs none /dev && mknod -m 600 /dev/kvm c 10 232 &&
			exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"' sh \
		"$VMM" run --kernel "$tmp/bzImage"
elif [ -e /dev/kvm ] && ! { [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
	expect_error "no permission on /dev/kvm" "/dev/kvm.*permission denied" "$VMM" run --kernel "$tmp/bzImage"
else
	for i in 1 2 3 4; do skip "no permission on /dev/kvm" "this user may use /dev/kvm and is not root"; done
fi

# No /dev/kvm at all: hide it in a private mount namespace (root only).
if [ "$is_root" = 1 ] && unshare -m true 2>/dev/null; then
	expect_error "no /dev/kvm" "/dev/kvm.*does not exist" \
		unshare -m sh -c 'mount -t tmpfs none /dev && exec "$@"' sh "$VMM" run --kernel "$tmp/bzImage"
	unshare -m sh -c 'mount -t tmpfs none /dev && exec "$@"' sh "$VMM" probe >"$tmp/out" 2>&1
	is 1 "$?" "probe without /dev/kvm: exit status 1"
	ok 'grep -q "^no: no usable KVM" "$tmp/out"' "probe without /dev/kvm says so in one sentence"
else
	for i in 1 2 3 4 5 6; do skip "no /dev/kvm" "needs root for a private mount namespace"; done
fi

# --help is not an error.
"$VMM" --help >"$tmp/out" 2>&1
is 0 "$?" "--help exits 0"
ok 'grep -q "^usage: vmm run" "$tmp/out"' "--help prints the usage"
