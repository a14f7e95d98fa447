# SPDX-License-Identifier: MIT
#
# net-host.sh - the host end of the network tests (guest suite "net"):
# sourced by the run scripts of tests/integration/net.sh and
# tests/bench/net.sh, which run where the VMM runs (in the test host's L1,
# or directly where this host's KVM runs Linux).  POSIX sh; the network
# tools are busybox's everywhere ($BUSYBOX, default "busybox"), so the
# same commands and output formats on both sides.
#
#   net_enter_netns SCRIPT ARGS...   first thing in a run script: re-runs
#                        the script in a network namespace of its own
#                        (unshare -n; -rn when not root), so that nothing
#                        the test does touches a network the machine has.
#                        In the test host, L1 itself must have no network
#                        device but lo: checked here, before.
#   net_links            the links of this namespace: "lo,vmmtap0"
#   net_run LABEL MIB MTU QUEUES LIMIT -- CMD...
#                        one VM run on a fresh TAP $NET_TAP (10.0.2.1/24,
#                        MTU, QUEUES queues; persistent, made by $NET_TAPCTL
#                        so the VMM opens an existing TAP), with the
#                        servers the guest suite talks to; CMD (the VMM with
#                        the guest) is killed after LIMIT s.  Between
#                        "NET-TEST-BEGIN LABEL" and "NET-TEST-END LABEL":
#                        the VM's console, then "NET-HOST key=value" lines:
#                        rc, seconds, pinged, g2h_sha256_qQ, g2h_bytes_qQ,
#                        h2g_sha256 and, with NET_SAMPLE=1, the VMM's CPU
#                        time and the TAP's byte counts sampled every
#                        0.25 s ("NET-SAMPLE uptime cpu-ticks rx tx").
#   NET_H2G_SHA256, NET_CMDLINE   set by net_run before CMD runs: the
#                        sha256 of what the host sends, and the guest
#                        command line words of the suite (MIB, MTU,
#                        QUEUES, MAC $NET_MAC, h2g sha): CMD appends them.
#   NET_VM_PID           the VMM's pid while CMD runs (for NET_SAMPLE).
#   net_qemu_vm CPUS QUEUES MTU CMDLINE   a CMD for net_run: exec the peer
#                        QEMU ($QEMU) on the default guest with
#                        virtio-net-pci (modern, iommu_platform, vhost off)
#                        on $NET_TAP behind virtio-iommu-pci
#   NET_REPORT=FILE      a file CMD writes (vmm's --report): net_run prints
#                        its lines as "NET-REPORT LINE" and removes it.

: "${BUSYBOX:=busybox}"
: "${NET_TAP:=vmmtap0}"
: "${NET_MAC:=52:54:00:12:34:56}"
: "${NET_TAPCTL:=net-tap}"
NET_HOST_ADDR=10.0.2.1
NET_GUEST_ADDR=10.0.2.15

net_enter_netns() {
	if [ -n "${NET_IN_NETNS:-}" ]; then
		return 0
	fi
	if [ -n "${TESTHOST:-}" ]; then
		# L1 (tests/testhost boots it with -nic none): only lo.
		echo "NET-HOST l1_links=$(net_links)"
	fi
	NET_IN_NETNS=1
	export NET_IN_NETNS
	if [ "$(id -u)" = 0 ]; then
		exec "$BUSYBOX" unshare -n sh "$@"
	fi
	exec "$BUSYBOX" unshare -r -n sh "$@"
}

# The network links of this namespace, comma-separated (ip(8) reads them
# over netlink: /sys/class/net would show sysfs's own namespace).
net_links() {
	"$BUSYBOX" ip -o link show | sed -n 's/^[0-9]*: \([^:@ ]*\).*/\1/p' | tr '\n' ',' | sed 's/,$//'
}

net_alive() { # PID: running, not a zombie
	read -r _na_st 2>/dev/null </proc/$1/stat || return 1
	_na_st=${_na_st##*) }
	case $_na_st in Z*) return 1 ;; esac
}

net_uptime() { cut -d' ' -f1 /proc/uptime; }

# The guest answers pings once its suite has set its address: then three
# more, and the result goes to the guest (its port 5003) and to a file.
_net_pinger() { # LIMIT OUT
	_np_i=0
	until "$BUSYBOX" ping -c 1 -W 1 "$NET_GUEST_ADDR" >/dev/null 2>&1; do
		_np_i=$((_np_i + 1))
		[ "$_np_i" -lt "$1" ] || { echo "pinged never" >"$2"; return 1; }
	done
	# -A: the next ping once the answer came (as the guest suite's pings)
	_np_res=$("$BUSYBOX" ping -c 3 -A -W 5 "$NET_GUEST_ADDR" 2>&1 |
		sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) packets received.*/pinged \1 \2/p')
	echo "${_np_res:-pinged failed}" >"$2"
	_np_i=0
	until echo "${_np_res:-pinged failed}" | "$BUSYBOX" nc "$NET_GUEST_ADDR" 5003 2>/dev/null; do
		_np_i=$((_np_i + 1))
		[ "$_np_i" -lt $((2 * $1)) ] || return 1
		sleep 0.5
	done
}

# The TAP's counters: "RX-BYTES RX-PACKETS TX-BYTES TX-PACKETS" (from the
# host's view: RX came from the guest).  /proc/net/dev glues a long byte
# count to the interface's colon.
_net_tap_counters() {
	sed -n "s/^ *$NET_TAP:/ /p" /proc/net/dev | awk '{ print $1, $2, $9, $10 }'
}

# The VMM's CPU time (utime + stime, clock ticks) and the TAP's byte
# counters (rx: from the guest, tx: to the guest), every 0.25 s.
_net_sampler() { # PID OUT
	while net_alive "$1"; do
		# (comm may hold spaces: count the fields after its ")")
		_ns_cpu=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }')
		_ns_dev=$(_net_tap_counters | awk '{ print $1, $3 }')
		echo "NET-SAMPLE $(net_uptime) ${_ns_cpu:-0} ${_ns_dev:-0 0}" >>"$2"
		sleep 0.25
	done
}

net_qemu_vm() {
	_nq_mq=
	[ "$2" -gt 1 ] && _nq_mq=",mq=on,vectors=$((2 * $2 + 2))"
	# romfile=: no option ROM (the peer's package has none for virtio-net)
	exec "$QEMU" -accel kvm -M q35 -cpu host -m 512 -smp "$1" -display none -nodefaults \
		-no-reboot -serial stdio \
		-kernel "$VMM_GUEST_OUT/bzImage" -initrd "$VMM_GUEST_OUT/initramfs.cpio" \
		-device virtio-iommu-pci \
		-device virtio-rng-pci,iommu_platform=on,disable-legacy=on \
		-netdev "tap,id=n0,ifname=$NET_TAP,script=no,downscript=no,vhost=off,queues=$2" \
		-device "virtio-net-pci,netdev=n0,mac=$NET_MAC,host_mtu=$3,iommu_platform=on,disable-legacy=on,romfile=$_nq_mq" \
		-append "$4"
}

net_run() {
	_nr_label=$1 _nr_mib=$2 _nr_mtu=$3 _nr_queues=$4 _nr_limit=$5
	shift 6
	_nr_dir=$(mktemp -d "${TMPDIR:-/tmp}/net-run.XXXXXX") || return 1
	echo "NET-TEST-BEGIN $_nr_label"
	mkfifo "$_nr_dir/hold"
	exec 7<>"$_nr_dir/hold"
	dd if=/dev/urandom of="$_nr_dir/h2g" bs=1M count="$_nr_mib" 2>/dev/null
	NET_H2G_SHA256=$(sha256sum "$_nr_dir/h2g" | cut -d' ' -f1)
	NET_CMDLINE="vmmtest.net_mac=$NET_MAC vmmtest.net_mtu=$_nr_mtu vmmtest.net_queues=$_nr_queues"
	NET_CMDLINE="$NET_CMDLINE vmmtest.net_mib=$_nr_mib vmmtest.net_h2g_sha256=$NET_H2G_SHA256"
	_nr_setup=ok
	"$NET_TAPCTL" add "$NET_TAP" "$_nr_queues" &&
		"$BUSYBOX" ip link set "$NET_TAP" mtu "$_nr_mtu" &&
		"$BUSYBOX" ip addr add "$NET_HOST_ADDR/24" dev "$NET_TAP" &&
		"$BUSYBOX" ip link set "$NET_TAP" up || _nr_setup=failed
	echo "NET-HOST tap_setup=$_nr_setup"
	echo "NET-HOST netns_links=$(net_links)"
	_nr_pids=
	_nr_q=0
	while [ "$_nr_q" -lt "$_nr_queues" ]; do
		# A receiver's stdin never ends (the hold fifo): see guest/suites/net.
		"$BUSYBOX" nc -l -p $((5001 + 10 * _nr_q)) <&7 >"$_nr_dir/g2h.$_nr_q" 2>/dev/null &
		_nr_pids="$_nr_pids $!"
		"$BUSYBOX" nc -l -p $((5002 + 10 * _nr_q)) <"$_nr_dir/h2g" >/dev/null 2>&1 &
		_nr_pids="$_nr_pids $!"
		_nr_q=$((_nr_q + 1))
	done
	_net_pinger "$_nr_limit" "$_nr_dir/pinged" </dev/null >/dev/null 2>&1 &
	_nr_pids="$_nr_pids $!"

	_nr_t0=$(net_uptime)
	"$@" </dev/null 2>&1 &
	NET_VM_PID=$!
	if [ "${NET_SAMPLE:-0}" = 1 ]; then
		_net_sampler "$NET_VM_PID" "$_nr_dir/samples" &
		_nr_pids="$_nr_pids $!"
	fi
	_nr_start=$(cut -d. -f1 /proc/uptime)
	while net_alive "$NET_VM_PID" && [ $(($(cut -d. -f1 /proc/uptime) - _nr_start)) -lt "$_nr_limit" ]; do
		sleep 0.5
	done
	_nr_hung=0
	if net_alive "$NET_VM_PID"; then
		_nr_hung=1
		kill -KILL "$NET_VM_PID"
	fi
	wait "$NET_VM_PID"
	_nr_rc=$?
	_nr_t1=$(net_uptime)
	# Servers the guest never came to: stop them (a receiver that got
	# everything has exited by itself).
	for _nr_p in $_nr_pids; do
		kill "$_nr_p" 2>/dev/null
	done
	wait 2>/dev/null
	exec 7<&-
	echo "NET-HOST hung=$_nr_hung"
	echo "NET-HOST rc=$_nr_rc"
	echo "NET-HOST seconds=$(awk -v a="$_nr_t0" -v b="$_nr_t1" 'BEGIN { printf "%.1f", b - a }')"
	_nr_pinged=$(cat "$_nr_dir/pinged" 2>/dev/null)
	_nr_pinged=${_nr_pinged#pinged }
	echo "NET-HOST pinged=$(echo "${_nr_pinged:-none}" | tr ' ' _)"
	echo "NET-HOST h2g_sha256=$NET_H2G_SHA256"
	_nr_q=0
	while [ "$_nr_q" -lt "$_nr_queues" ]; do
		echo "NET-HOST g2h_sha256_q$_nr_q=$(sha256sum "$_nr_dir/g2h.$_nr_q" | cut -d' ' -f1)"
		echo "NET-HOST g2h_bytes_q$_nr_q=$(wc -c <"$_nr_dir/g2h.$_nr_q")"
		_nr_q=$((_nr_q + 1))
	done
	[ -f "$_nr_dir/samples" ] && cat "$_nr_dir/samples"
	echo "NET-HOST tap_counters=$(_net_tap_counters | tr ' ' ',')"
	if [ -n "${NET_REPORT:-}" ] && [ -f "$NET_REPORT" ]; then
		sed 's/^/NET-REPORT /' "$NET_REPORT"
		rm -f "$NET_REPORT"
	fi
	"$NET_TAPCTL" del "$NET_TAP" "$_nr_queues"
	echo "NET-TEST-END $_nr_label"
	rm -rf "$_nr_dir"
	[ "$_nr_hung" = 0 ]
}
