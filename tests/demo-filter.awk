# SPDX-License-Identifier: MIT
#
# The README's first command (./quickstart) boots the default guest with the
# dmatest bug zoo; its raw output is the kernel's boot log, hundreds of
# guest TAP lines and vmm's statistics.  This filter turns it into the demo
# (issue 11 §4): a few boot lines, one line per deliberate bug of the zoo
# (the case, what the driver did wrong, what vmm saw), a one-line verdict
# per guest suite (a failing TAP line is always shown whole), vmm's own
# violation table at exit, and a pointer to --report.  Lines it does not
# know (the test host's progress lines, errors) pass unchanged.  `make
# check` keeps the full TAP; tests/unit/demo-filter.sh checks this filter.
#
#   awk -f tests/demo-filter.awk        (reads the run's merged output)
# Set raw=1 (-v raw=1) to pass everything through.

function what_wrong(c) {
	if (c == "unmapped") return "DMA to an IOVA that was never mapped"
	if (c == "write-to-device-mapping") return "device writes a buffer mapped DMA_TO_DEVICE"
	if (c == "read-from-device-mapping") return "device reads a buffer mapped DMA_FROM_DEVICE"
	if (c == "past-end") return "transfer longer than the mapped buffer"
	if (c == "after-unmap") return "DMA after dma_unmap_single()"
	if (c == "beyond-mask") return "DMA mask wider than the device can address"
	if (c == "bypass") return "physical address handed to the device"
	if (c == "not-ram") return "MMIO mapped with dma_map_single()"
	if (c == "leak") return "mapping left live at unbind"
	return "(see guest/dmatest/dmatest.c)"
}

function hidden_kernel_lines() {
	if (kernel_hidden)
		print "guest:   ... (" kernel_hidden " kernel lines; `vmm run` shows them all)"
	kernel_hidden = 0
}

BEGIN { kernel_shown = 0; kernel_hidden = 0; in_tap = ""; zoo_header = 0 }

{ sub(/\r$/, "") }
raw { print; next }

# The guest kernel: its first lines, the IOMMU coming up, then quiet.
/^\[ *[0-9]+\.[0-9]+\] / {
	if (kernel_shown < 2 || $0 ~ /virtio_iommu|Run \/init|reboot: Power down/) {
		hidden_kernel_lines()
		print "guest: " $0
		kernel_shown++
	} else {
		kernel_hidden++
	}
	next
}

/^vmm-guest-init: start/ {
	hidden_kernel_lines()
	print "guest: init started"
	next
}
/^vmm-guest-init: / { next }

/^VMM-GUEST-TAP-BEGIN suite=/ {
	in_tap = substr($0, index($0, "=") + 1)
	tap_ok[in_tap] = 0
	tap_bad[in_tap] = 0
	next
}
/^VMM-GUEST-TAP-END suite=/ {
	s = substr($0, index($0, "=") + 1)
	printf "guest suite %s: %d passed, %d failed\n", s, tap_ok[s], tap_bad[s]
	in_tap = ""
	next
}
in_tap != "" {
	if ($0 ~ /^# dmatest-case /) {
		# "# dmatest-case NAME CLASS result=ok bdf=BDF"
		if (!zoo_header) {
			print "bug zoo (one deliberate DMA-API misuse per case; the host must classify each):"
			zoo_header = 1
		}
		res = $5
		sub(/^result=/, "", res)
		printf "  %-26s %-46s -> vmm: %-13s %s\n", $3, what_wrong($3), $4,
			res == "ok" ? "(as expected)" : "(" res ")"
	} else if ($0 ~ /^ok /) {
		tap_ok[in_tap]++
	} else if ($0 ~ /^not ok /) {
		tap_bad[in_tap]++
		print "guest suite " in_tap ": " $0
	} else if ($0 ~ /^Bail out!/) {
		print "guest suite " in_tap ": " $0
	}
	next
}

# vmm: the live violation warnings repeat in the table at exit; the
# per-device statistics are in the report.
/^vmm: warning: DMA violation: / { next }
/^vmm: warning: .*still live after/ { next }
/^vmm: (iommu|bounce|dmatest|net|net_queue): / { next }
/^vmm: violation: / {
	if (!table) {
		print "vmm's violations at exit (device, access, IOVA: class (the mapping there; its neighbours)):"
		table = 1
	}
	line = $0
	sub(/^vmm: violation: /, "  ", line)
	print line
	next
}
/^vmm: DMA-API violations: / {
	print
	print "vmm: the same as JSON lines, with the mapping history: vmm run ... --report FILE (docs/sanitizer.md)"
	next
}

{ print }
