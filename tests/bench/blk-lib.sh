# SPDX-License-Identifier: MIT
#
# blk-lib.sh - the measurement method of the block benchmarks (make
# bench-nvme: tests/bench/nvme.sh, make bench-iommu: tests/bench/iommu.sh),
# sourced on both ends:
#
# Where the VMMs run (the test host's L1, busybox sh; or directly):
#   bench_prepare          mounts debugfs (KVM's exit counters) and tracefs
#                          if needed, and sets hist triggers on KVM's
#                          kvm_exit (by exit_reason) and kvm_msr (by MSR,
#                          read/write) tracepoints
#   bench_unprepare        removes those hist triggers again (where vmm
#                          runs directly they would otherwise stay on the
#                          host's kernel, costing every later VM exit)
#   bench_vm LABEL LIMIT ENDPOINT -- CMD...
#                          runs CMD (a VM whose guest runs the suite
#                          "bench", guest/blkbench.c; CMD must exec the
#                          VMM, so that $! is the VMM process) with its
#                          console read line by line: at each of the
#                          guest's "BENCH-MARK begin|end PHASE" lines it
#                          prints
#                            BENCH-SAMPLE CPU-TICKS EXITS COUNTERS <the mark>
#                          CPU-TICKS: the VMM process's utime + stime
#                          (/proc/PID/stat, all its threads; guest time
#                          included), EXITS: KVM's "exits" counter of
#                          that VM (debugfs kvm/PID-FD/exits, the sum over
#                          its vCPUs; "-" without debugfs), COUNTERS: one
#                          word NAME=VALUE,... ("-" if none) of
#                            guest_ticks  the process's guest time (ticks)
#                            kvm.STAT     the VM's debugfs statistic STAT
#                                         (BENCH_KVM_STATS: mmio_exits and
#                                         io_exits are exits to user space)
#                            exit.REASON  kvm_exit events by hardware exit
#                                         reason (npf, msr, hlt, intr,
#                                         vintr, hypercall, io, pause, ...;
#                                         others svm_0xN / vmx_0xN)
#                            msr.r|w.0xN  kvm_msr events: MSR 0xN read or
#                                         written (in KVM or user space)
#                          (the hist counts are L1-wide: one VM at a time).
#                          CMD may write vmm's --report
#                          to $BENCH_REPORT (the endpoint ENDPOINT's maps
#                          and unmaps are taken from it) or QEMU's trace
#                          log (-D) of virtio_iommu_map/unmap to
#                          $BENCH_TRACE (those events counted): either
#                          gives "BENCH-IOMMU maps=M unmaps=U" for the
#                          whole run (vmm's adds drain_waits=W
#                          drain_wait_ns=N: the requests that removed
#                          translations and had to wait for the device's
#                          DMA window in flight, and how long).  Killed after LIMIT s.  The whole
#                          is framed by "BENCH-BEGIN LABEL" and
#                          "BENCH-END LABEL", with "BENCH-RC STATUS".
#   bench_cmdline DEV MODE SECS [PHASES]
#                          the guest command line of suite "bench" on
#                          /dev/DEV, SECS s per phase, MODE strict (adds
#                          iommu.strict=1), lazy or noiommu; PHASES: "all"
#                          (default) or blkbench's phases, comma-separated
#   bench_rounds RUNS LIMIT ENDPOINT CONFIG...
#                          RUNS rounds of bench_vm for each CONFIG in turn
#                          (so that the test host's drift hits them
#                          alike): CONFIG "VMM-MODE[.CPUS]" runs the
#                          caller's function "VMM_vm MODE CPUS" (CPUS
#                          default 2), labelled "CONFIG ROUND"; VMM is
#                          vmm, vmmb (the vmm binary $BENCH_VMM_B) or qemu
#   bench_l1 RUNS SECS PHASES MIB DIR DEV ENDPOINT CONFIG...
#                          all of a benchmark's VMs: a MIB MiB image in DIR
#                          (removed after), then bench_rounds with the
#                          VMs vmm_vm and qemu_vm below, which take their
#                          disk's options from the caller's functions
#                          "vmm_disk IMAGE" and "qemu_disk IMAGE MODE"
#                          (words, split)
# On the host:
#   bench_summary LOG CONFIGS RAW SUMMARY
#                          the table (stdout) of the medians, min and max
#                          over the rounds of each configuration in
#                          CONFIGS (labels "CONFIG ROUND"), the single
#                          values as tab-separated "config round metric
#                          value" lines into RAW and "config metric median
#                          min max n" into SUMMARY (both appended to);
#                          then the goals of issue 10 as ratios of the
#                          medians (vmm-strict / qemu-strict, vmm-lazy /
#                          vmm-noiommu, each with the same .CPUS suffix).
# Per phase: MiB/s (sequential) or IOPS (random) as the guest timed them,
# and from the samples the VMM's CPU time (all, and the part not spent in
# guest mode: the VMM's own code and KVM's) and the VM exits per GiB
# (sequential) or per I/O (random); then one table per phase of the exits
# by reason, the KVM statistics and the MSR accesses with the same unit
# (metrics PHASE_exit.REASON_per_gib, PHASE_kvm.STAT_per_io, ...; the
# table shows the rows with >= 1 % of some configuration's exits); per
# run: IOMMU MAP and UNMAP requests per GiB of all phases (boot included:
# a few hundred).

# KVM's per-VM statistics (debugfs kvm/PID-FD/NAME, each the sum over the
# VM's vCPUs) sampled besides "exits"; a name this kernel lacks is skipped.
BENCH_KVM_STATS="mmio_exits io_exits halt_exits hypercalls irq_exits irq_window_exits
	request_irq_exits signal_exits nmi_window_exits insn_emulation irq_injections halt_wakeup"

bench_prepare() {
	[ -d /sys/kernel/debug/kvm ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || :
	# The exit reasons: histograms of KVM's kvm_exit and kvm_msr
	# tracepoints (hist triggers; counted in L1's kernel, nothing logged).
	_bench_tracing=/sys/kernel/tracing
	[ -d $_bench_tracing/events ] || mount -t tracefs tracefs $_bench_tracing 2>/dev/null ||
		_bench_tracing=/sys/kernel/debug/tracing
	_bench_isa=svm
	grep -qw vmx /proc/cpuinfo && _bench_isa=vmx
	echo 'hist:keys=exit_reason:size=256' >$_bench_tracing/events/kvm/kvm_exit/trigger 2>/dev/null || :
	echo 'hist:keys=ecx,write:size=256' >$_bench_tracing/events/kvm/kvm_msr/trigger 2>/dev/null || :
}

bench_unprepare() {
	echo '!hist:keys=exit_reason:size=256' >$_bench_tracing/events/kvm/kvm_exit/trigger 2>/dev/null || :
	echo '!hist:keys=ecx,write:size=256' >$_bench_tracing/events/kvm/kvm_msr/trigger 2>/dev/null || :
}

_bench_cpu() { # PID: utime + stime in clock ticks (comm may hold spaces), "-" if gone
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13; n++ } END { if (!n) print "-" }'
}

_bench_exits() { # PID: KVM exits of that process's VM(s), "-" if unknown
	cat /sys/kernel/debug/kvm/"$1"-*/exits 2>/dev/null | awk '{ s += $1; n++ } END { print n ? s : "-" }'
}

# PID: the counters of that process and its VM as one word
# "NAME=VALUE,...", "-" if none (see the header).  The hist triggers count
# every VM of L1: the bench runs one at a time.
_bench_counters() {
	{
		for _bk_n in $BENCH_KVM_STATS; do
			cat /sys/kernel/debug/kvm/"$1"-*/"$_bk_n" 2>/dev/null |
				awk -v n="$_bk_n" '{ s += $1; k++ } END { if (k) print "kvm." n, s }'
		done
		sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk 'NF >= 41 { print "guest_ticks", $41 }'
		awk -v isa="$_bench_isa" '
		BEGIN {
			if (isa == "svm") {
				split("96 intr 97 nmi 100 vintr 114 cpuid 119 pause 120 hlt 123 io 124 msr 129 hypercall 1024 npf", t, " ")
			} else {
				split("1 intr 7 vintr 8 nmiwin 10 cpuid 12 hlt 18 hypercall 30 io 31 msr 32 msr 40 pause 44 apic 45 eoi 48 npf 49 npf 52 timer 56 apic", t, " ")
			}
			for (i = 1; i in t; i += 2) name[t[i]] = t[i + 1]
		}
		/^\{ exit_reason:/ {
			r = $3 + 0
			s["exit." (r in name ? name[r] : sprintf("%s_%#x", isa, r))] += $NF
		}
		END { for (k in s) print k, s[k] }' "$_bench_tracing/events/kvm/kvm_exit/hist" 2>/dev/null
		awk '/^\{ ecx:/ { printf "msr.%s.%#x %s\n", $5 + 0 ? "w" : "r", $3, $NF }' \
			"$_bench_tracing/events/kvm/kvm_msr/hist" 2>/dev/null
	} | awk '{ printf "%s%s=%s", n++ ? "," : "", $1, $2 } END { if (!n) printf "-"; print "" }'
}

_bench_watchdog() { # PID LIMIT
	_bw_i=0
	while [ "$_bw_i" -lt "$2" ] && kill -0 "$1" 2>/dev/null; do
		sleep 1
		_bw_i=$((_bw_i + 1))
	done
	if kill -0 "$1" 2>/dev/null; then
		echo "BENCH-HUNG the VMM had not exited after $2 s; killed"
		kill -KILL "$1"
	fi
}

bench_vm() {
	_bv_label=$1 _bv_limit=$2 _bv_ep=$3
	shift 4
	_bv_dir=$(mktemp -d "${TMPDIR:-/tmp}/bench-vm.XXXXXX") || return 1
	mkfifo "$_bv_dir/console"
	BENCH_REPORT=$_bv_dir/report.json
	BENCH_TRACE=$_bv_dir/trace.log
	_bv_cr=$(printf '\r')
	echo "BENCH-BEGIN $_bv_label"
	"$@" >"$_bv_dir/console" 2>&1 </dev/null &
	_bv_pid=$!
	_bench_watchdog "$_bv_pid" "$_bv_limit" &
	_bv_wd=$!
	while IFS= read -r _bv_line; do
		_bv_line=${_bv_line%"$_bv_cr"}
		case $_bv_line in
		*BENCH-MARK\ *)
			echo "BENCH-SAMPLE $(_bench_cpu "$_bv_pid") $(_bench_exits "$_bv_pid")" \
				"$(_bench_counters "$_bv_pid") ${_bv_line#*BENCH-MARK }"
			;;
		esac
		printf '%s\n' "$_bv_line"
	done <"$_bv_dir/console"
	wait "$_bv_pid"
	_bv_rc=$?
	kill "$_bv_wd" 2>/dev/null
	wait "$_bv_wd" 2>/dev/null
	echo "BENCH-RC $_bv_rc"
	if [ -f "$BENCH_REPORT" ]; then
		grep "^{\"type\":\"endpoint\".*\"name\":\"$_bv_ep\"" "$BENCH_REPORT" |
			sed -n 's/.*"maps":\([0-9]*\).*"unmaps":\([0-9]*\).*"drain_waits":\([0-9]*\).*"drain_wait_ns":\([0-9]*\).*/BENCH-IOMMU maps=\1 unmaps=\2 drain_waits=\3 drain_wait_ns=\4/p'
	elif [ -f "$BENCH_TRACE" ]; then
		echo "BENCH-IOMMU maps=$(grep -c 'virtio_iommu_map ' "$BENCH_TRACE")" \
			"unmaps=$(grep -c 'virtio_iommu_unmap ' "$BENCH_TRACE")"
	fi
	echo "BENCH-END $_bv_label"
	rm -rf "$_bv_dir"
}

bench_cmdline() {
	_bc_strict="" _bc_phases=""
	[ "$2" = strict ] && _bc_strict=" iommu.strict=1"
	[ "${4:-all}" = all ] || _bc_phases=" vmmtest.bench_phases=$4"
	echo "console=ttyS0 panic=-1 quiet vmmguest.suites=bench vmmtest.bench_dev=$1 vmmtest.bench_secs=$3$_bc_phases$_bc_strict"
}

bench_rounds() {
	_br_runs=$1 _br_limit=$2 _br_ep=$3
	shift 3
	_br_i=0
	while [ "$_br_i" -lt "$_br_runs" ]; do
		_br_i=$((_br_i + 1))
		for _br_cfg in "$@"; do
			_br_mode=${_br_cfg#*-}
			_br_cpus=2
			case $_br_mode in *.*) _br_cpus=${_br_mode#*.} _br_mode=${_br_mode%.*} ;; esac
			bench_vm "$_br_cfg $_br_i" "$_br_limit" "$_br_ep" -- "${_br_cfg%%-*}_vm" "$_br_mode" "$_br_cpus"
		done
	done
}

# The VMs of bench_l1 (exec: $! must be the VMM).  vmmb: a second vmm
# binary, $BENCH_VMM_B, the same way (two builds side by side).
vmm_vm() { # MODE CPUS
	_vv_noiommu=
	[ "$1" = noiommu ] && _vv_noiommu=--no-iommu
	# The guest QEMU boots too: a vmm binary outside its build tree (vmmb)
	# would look for an installed one.
	VMM_GUEST_DIR=${VMM_GUEST_DIR:-$VMM_GUEST_OUT}
	export VMM_GUEST_DIR
	# shellcheck disable=SC2046,SC2086 # the disk's options and noiommu: words
	exec "${_vv_vmm:-$VMM}" run --timeout "$_bl_limit" --cpus "$2" --mem 512M $_vv_noiommu $(vmm_disk "$_bl_img") \
		--report "$BENCH_REPORT" --cmdline "$(bench_cmdline "$_bl_dev" "$1" "$_bl_secs" "$_bl_phases")"
}
vmmb_vm() { # MODE CPUS
	_vv_vmm=$BENCH_VMM_B
	vmm_vm "$@"
}
qemu_vm() { # MODE CPUS
	_qv_iommu="-device virtio-iommu-pci -trace virtio_iommu_map -trace virtio_iommu_unmap -D $BENCH_TRACE"
	[ "$1" = noiommu ] && _qv_iommu=
	# shellcheck disable=SC2046,SC2086 # the disk's options and the IOMMU's: words
	exec "$QEMU" -accel kvm -M q35 -cpu host -m 512 -smp "$2" -display none -nodefaults -no-reboot \
		-serial stdio -kernel "$VMM_GUEST_OUT/bzImage" -initrd "$VMM_GUEST_OUT/initramfs.cpio" \
		$_qv_iommu $(qemu_disk "$_bl_img" "$1") -append "$(bench_cmdline "$_bl_dev" "$1" "$_bl_secs" "$_bl_phases")"
}

bench_l1() {
	_bl_runs=$1 _bl_secs=$2 _bl_phases=$3 _bl_mib=$4 _bl_dir=$5 _bl_dev=$6 _bl_ep=$7
	shift 7
	bench_prepare
	mkdir -p "$_bl_dir"
	_bl_img=$_bl_dir/disk.img
	dd if=/dev/urandom of="$_bl_img" bs=1M count="$_bl_mib" 2>/dev/null
	# A VM: ~10 s of boot, 4 phases, power-off
	_bl_limit=$((4 * _bl_secs + 120))
	bench_rounds "$_bl_runs" "$_bl_limit" "$_bl_ep" "$@"
	bench_unprepare
	rm -rf "$_bl_dir"
}

bench_summary() {
	tr -d '\r' <"$1" | awk -v configs="$2" -v raw="$3" -v summary="$4" -v hz="$(getconf CLK_TCK)" '
	BEGIN { nc = split(configs, cs, " "); for (c = 1; c <= nc; c++) want[cs[c]] = 1 }
	function put(metric, v) { if (!(cfg in want)) return; val[cfg, metric] = val[cfg, metric] " " v; printf "%s\t%s\t%s\t%s\n", cfg, round, metric, v >>raw }
	function sorted(list, a,    n, i, j, t) {
		n = split(list, a, " ")
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n
	}
	function median(list,    a, n) {
		n = sorted(list, a)
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function num(x) {
		if (x >= 10000) return sprintf("%.0fk", x / 1000)
		if (x >= 100) return sprintf("%.0f", x)
		if (x >= 10) return sprintf("%.1f", x)
		return sprintf("%.2f", x)
	}
	function cell(list,    a, n) {
		n = sorted(list, a)
		if (n == 0) return "-"
		return num(median(list)) " (" num(a[1]) "-" num(a[n]) ")"
	}
	function ratio(m, c1, c2) {
		if (val[c1, m] == "" || val[c2, m] == "" || median(val[c2, m]) == 0) return "-"
		return sprintf("%.2fx", median(val[c1, m]) / median(val[c2, m]))
	}
	/^BENCH-BEGIN / { cfg = $2; round = $3; total = 0; next }
	function counters(word, into,    n, i, kv, w) { # "NAME=VALUE,..." -> into[NAME]
		split("", into)
		n = split(word, w, ",")
		for (i = 1; i <= n; i++) if (split(w[i], kv, "=") == 2) into[kv[1]] = kv[2]
	}
	/^BENCH-SAMPLE / && $5 == "begin" {
		cpu0[$6] = $2; ex0[$6] = $3
		counters($4, cv)
		for (k in cv) cnt0[$6, k] = cv[k]
		next
	}
	/^BENCH-SAMPLE / && $5 == "end" {
		ph = $6
		split("", f)
		for (i = 7; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
		if (f["usec"] <= 0 || f["bytes"] <= 0) next
		total += f["bytes"]
		seq = ph ~ /^seq/
		# per GiB (sequential) or per I/O (random)
		per = seq ? f["bytes"] / 1073741824 : f["ios"]
		unit = seq ? "_per_gib" : "_per_io"
		havecpu = $2 != "-" && cpu0[ph] != "-"
		cpu = ($2 - cpu0[ph]) / hz
		if (seq) {
			put(ph "_mibs", f["bytes"] / 1048576 / (f["usec"] / 1e6))
			if (havecpu) put(ph "_cpu_s_per_gib", cpu / per)
		} else {
			put(ph "_iops", f["ios"] / (f["usec"] / 1e6))
			if (havecpu) put(ph "_cpu_us_per_io", cpu * 1e6 / per)
		}
		if ($3 != "-" && ex0[ph] != "-") put(ph "_exits" unit, ($3 - ex0[ph]) / per)
		counters($4, cv)
		for (k in cv) {
			if (!((ph, k) in cnt0)) continue
			d = cv[k] - cnt0[ph, k]
			if (k == "guest_ticks") {
				# CPU time in guest mode, and the rest: the VMM and KVM
				d /= hz
				if (!seq) d *= 1e6
				put(ph "_guest_cpu" (seq ? "_s" : "_us") unit, d / per)
				if (havecpu) put(ph "_host_cpu" (seq ? "_s" : "_us") unit, ((seq ? cpu : cpu * 1e6) - d) / per)
			} else {
				put(ph "_" k unit, d / per)
				if (k ~ /^exit[.]/) reasons[ph, substr(k, 6)] = 1
				else if (k ~ /^kvm[.]/) stats[ph, substr(k, 5)] = 1
				else if (k ~ /^msr[.]/) msrs[ph, substr(k, 5)] = 1
			}
		}
		split("", cnt0)
		next
	}
	/^BENCH-IOMMU / && total > 0 {
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			if (kv[1] == "drain_wait_ns") put("iommu_drain_wait_ms_per_gib", kv[2] / 1e6 / (total / 1073741824))
			else put("iommu_" kv[1] "_per_gib", kv[2] / (total / 1073741824))
		}
	}
	/^BENCH-RC / && $2 != 0 { bad = bad " " cfg "#" round ":" $2 }
	/^BENCH-HUNG / { bad = bad " " cfg "#" round ":hung" }
	END {
		nm = split("seqread_mibs|seq read MiB/s (1 MiB, QD 4)|" \
			"seqwrite_mibs|seq write MiB/s (1 MiB, QD 4)|" \
			"randread1_iops|4 KiB rand read IOPS, QD 1|" \
			"randread16_iops|4 KiB rand read IOPS, QD 16|" \
			"seqread_cpu_s_per_gib|VMM CPU s/GiB, seq read|" \
			"seqwrite_cpu_s_per_gib|VMM CPU s/GiB, seq write|" \
			"randread1_cpu_us_per_io|VMM CPU us/IO, rand QD 1|" \
			"randread16_cpu_us_per_io|VMM CPU us/IO, rand QD 16|" \
			"seqread_host_cpu_s_per_gib|  of it not guest, seq read|" \
			"seqwrite_host_cpu_s_per_gib|  of it not guest, seq write|" \
			"randread1_host_cpu_us_per_io|  of it not guest, QD 1|" \
			"randread16_host_cpu_us_per_io|  of it not guest, QD 16|" \
			"seqread_exits_per_gib|VM exits/GiB, seq read|" \
			"seqwrite_exits_per_gib|VM exits/GiB, seq write|" \
			"randread1_exits_per_io|VM exits/IO, rand QD 1|" \
			"randread16_exits_per_io|VM exits/IO, rand QD 16|" \
			"iommu_maps_per_gib|IOMMU MAPs/GiB (whole run)|" \
			"iommu_unmaps_per_gib|IOMMU UNMAPs/GiB (whole run)|" \
			"iommu_drain_waits_per_gib|UNMAPs that waited for DMA/GiB|" \
			"iommu_drain_wait_ms_per_gib|  their wait, ms/GiB", ms, "|")
		printf "%-30s", "median (min-max)"
		for (c = 1; c <= nc; c++) printf " %-20s", cs[c]
		printf "\n"
		for (m = 1; m < nm; m += 2) {
			printf "%-30s", ms[m + 1]
			for (c = 1; c <= nc; c++) {
				printf " %-20s", cell(val[cs[c], ms[m]])
				n = sorted(val[cs[c], ms[m]], a)
				if (n) printf "%s\t%s\t%s\t%s\t%s\t%d\n", cs[c], ms[m], median(val[cs[c], ms[m]]), a[1], a[n], n >>summary
			}
			printf "\n"
		}
		# The exits by reason (kvm_exit), the KVM statistics and the MSRs
		# accessed (kvm_msr), phase by phase: the rows any configuration has.
		np = split("seqread|per GiB, seq read|seqwrite|per GiB, seq write|" \
			"randread1|per IO, rand QD 1|randread16|per IO, rand QD 16", pn, "|")
		for (p = 1; p < np; p += 2) {
			ph = pn[p]
			pu = ph ~ /^seq/ ? "_per_gib" : "_per_io"
			rows = ""
			for (k in reasons) { split(k, kk, SUBSEP); if (kk[1] == ph) rows = rows " exit." kk[2] }
			for (k in stats) { split(k, kk, SUBSEP); if (kk[1] == ph) rows = rows " kvm." kk[2] }
			for (k in msrs) { split(k, kk, SUBSEP); if (kk[1] == ph) rows = rows " msr." kk[2] }
			nr = split(rows, r, " ")
			if (!nr) continue
			for (i = 1; i <= nr; i++) for (j = i + 1; j <= nr; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
			printf "%-30s", "VM exits " pn[p + 1]
			for (c = 1; c <= nc; c++) printf " %-20s", cs[c]
			printf "\n"
			printf "%-30s", "  total"
			for (c = 1; c <= nc; c++) printf " %-20s", cell(val[cs[c], ph "_exits" pu])
			printf "\n"
			for (i = 1; i <= nr; i++) {
				# a row shows when some configuration has at least
				# 1 % of its exits there (all rows go to SUMMARY)
				show = 0
				for (c = 1; c <= nc; c++) {
					m = val[cs[c], ph "_" r[i] pu]
					t = val[cs[c], ph "_exits" pu]
					if (m != "" && t != "" && median(m) >= 0.01 * median(t)) show = 1
				}
				if (show) printf "%-30s", "  " r[i]
				for (c = 1; c <= nc; c++) {
					if (show) printf " %-20s", cell(val[cs[c], ph "_" r[i] pu])
					n = sorted(val[cs[c], ph "_" r[i] pu], a)
					if (n) printf "%s\t%s\t%s\t%s\t%s\t%d\n", cs[c], ph "_" r[i] pu, median(val[cs[c], ph "_" r[i] pu]), a[1], a[n], n >>summary
				}
				if (show) printf "\n"
			}
		}
		split("seqread_mibs seqwrite_mibs randread1_iops randread16_iops", g, " ")
		for (c = 1; c <= nc; c++) {
			c1 = cs[c]
			v = c1
			sub(/-.*/, "", v)
			if (v != "vmm" && v != "vmmb") continue
			if (c1 ~ /^vmmb?-strict/) { c2 = "qemu-strict" substr(c1, length(v) + 8); goal = ">= 1.5" }
			else if (c1 ~ /^vmmb?-lazy/) { c2 = v "-noiommu" substr(c1, length(v) + 6); goal = ">= 0.9" }
			else continue
			printf "%s / %s (goal %s): seq read %s, seq write %s, IOPS QD1 %s, IOPS QD16 %s\n", c1, c2,
				goal, ratio(g[1], c1, c2), ratio(g[2], c1, c2), ratio(g[3], c1, c2), ratio(g[4], c1, c2)
		}
		if (bad != "") printf "runs that failed (config#round:status):%s\n", bad
	}'
}
