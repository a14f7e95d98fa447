# SPDX-License-Identifier: MIT
#
# The host-side checks of the network test (tests/integration/net.sh,
# vmm's runs and the QEMU peer's): they read the log of a run script that used
# tests/integration/net-host.sh.  Source after tests/tap/libtap.sh and
# run-vmm.sh.
#
#   net_test_inputs MIB      net_lib, net_tapctl (the files the run script
#                            needs where it runs), NET_MIB (MiB per flow
#                            and direction: env VMM_NET_MIB, else MIB)
#   net_block LOG LABEL      the lines of run LABEL (between NET-TEST-BEGIN
#                            and NET-TEST-END), \r removed
#   net_host LOG KEY         the value of "NET-HOST KEY=VALUE" in LOG
#   net_isolation_checks LOG the test's network is its own: L1 has no link
#                            but lo (in the test host), and each run's
#                            namespace has only lo and its TAP
#   net_run_checks LABEL LOG QUEUES   the guest suite "net" passed, and the
#                            host end agrees: the TAP was set up, the host
#                            pinged the guest, what each flow sent arrived
#                            whole (sha256 and size on both ends)

net_test_inputs() {
	net_lib=$top_srcdir/tests/integration/net-host.sh
	net_tapctl=$top_builddir/tests/integration/net-tap
	[ -x "$net_tapctl" ] || bail "$net_tapctl not built (make)"
	NET_MIB=${VMM_NET_MIB:-$1}
}

net_block() {
	tr -d '\r' <"$1" | awk -v l="$2" '
		$0 == "NET-TEST-BEGIN " l { on = 1; next }
		$0 == "NET-TEST-END " l { on = 0 }
		on'
}

net_host() {
	sed -n "s/^NET-HOST $2=//p" "$1" | tail -n1
}

net_isolation_checks() {
	if [ "$VMM_MODE" = testhost ]; then
		is lo "$(tr -d '\r' <"$1" | sed -n 's/^NET-HOST l1_links=//p' | head -n1)" \
			"the test host's L1 has no network device but lo"
	fi
	_ni_bad=$(tr -d '\r' <"$1" | sed -n 's/^NET-HOST netns_links=//p' | grep -v "^lo,vmmtap0$" | sort -u | tr '\n' ' ')
	_ni_n=$(tr -d '\r' <"$1" | grep -c '^NET-HOST netns_links=')
	ok '[ "$_ni_n" -gt 0 ] && [ -z "$_ni_bad" ]' \
		"every run's network namespace has only lo and its TAP ($_ni_n runs${_ni_bad:+; got $_ni_bad})"
}

net_run_checks() {
	_nc_label=$1 _nc_log=$2 _nc_queues=$3
	guest_tap "$_nc_log" net
	is ok "$(net_host "$_nc_log" tap_setup)" "$_nc_label: the host set its TAP up (10.0.2.1/24)"
	is 3_3 "$(net_host "$_nc_log" pinged)" "$_nc_label: the host pinged the guest: 3 of 3 answered"
	_nc_mib=$(guest_fact "$_nc_log" net_mib)
	_nc_sent=$(guest_fact "$_nc_log" g2h_sha256)
	_nc_q=0
	while [ "$_nc_q" -lt "$_nc_queues" ]; do
		ok '[ -n "$_nc_sent" ] && [ "$(net_host "$_nc_log" g2h_sha256_q$_nc_q)" = "$_nc_sent" ] &&
		    [ "$(net_host "$_nc_log" g2h_bytes_q$_nc_q)" = $((${_nc_mib:-0} * 1048576)) ]' \
			"$_nc_label: flow $_nc_q guest->host: the host received the guest's ${_nc_mib:-?} MiB whole (sha256 and size)"
		_nc_got=$(guest_fact "$_nc_log" h2g_sha256_q$_nc_q)
		ok '[ -n "$_nc_got" ] && [ "$_nc_got" = "$(net_host "$_nc_log" h2g_sha256)" ]' \
			"$_nc_label: flow $_nc_q host->guest: the guest received what the host sent (sha256 ${_nc_got:-none})"
		diag "$_nc_label: flow $_nc_q guest-visible MiB/s: guest->host $(guest_fact "$_nc_log" g2h_mbps_q$_nc_q)," \
			"host->guest $(guest_fact "$_nc_log" h2g_mbps_q$_nc_q)"
		_nc_q=$((_nc_q + 1))
	done
}
