#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The quickstart demo's filter (tests/demo-filter.awk) on a recorded run of
# the demo's guest (tests/unit/demo-sample.txt: the kernel's first lines,
# the dmatest suite's TAP with the bug zoo, vmm's stderr, from real runs in
# the test host): a few boot lines, each zoo case as one line with what the
# driver did wrong and the class vmm saw, no TAP line, the suite's verdict,
# vmm's violation table and the --report pointer; a failing TAP line is
# shown whole; unknown lines pass; raw=1 passes everything.
. "$top_srcdir/tests/tap/libtap.sh"

filter=$top_srcdir/tests/demo-filter.awk
sample=$top_srcdir/tests/unit/demo-sample.txt
tmp=$(mktemp -d "${TMPDIR:-/tmp}/demo-filter.XXXXXX") || bail "mktemp failed"
at_exit 'rm -rf "$tmp"'
plan 14

awk -f "$filter" "$sample" >"$tmp/out"
ok '[ $? = 0 ]' "the filter runs"
diag_file "$tmp/out"
n=$(wc -l <"$tmp/out")
ok '[ "$n" -le 40 ]' "the demo is short: $n lines for $(wc -l <"$sample") lines of output"
is 6 "$(grep -c "^guest: \[" "$tmp/out")" "6 kernel lines: version, command line, init, the virtio-iommu (2), power-down"
ok 'grep -q "^guest: .*kernel lines; .vmm run. shows them all" "$tmp/out"' "the hidden kernel lines are counted"
is 9 "$(grep -c '^  [a-z-]* .*-> vmm: [a-z-]* *(as expected)$' "$tmp/out")" "each of the 9 zoo cases is one line"
ok 'grep -q "^  write-to-device-mapping  *device writes a buffer mapped DMA_TO_DEVICE  *-> vmm: permission" "$tmp/out"' \
	"a zoo line says the case, what the driver did wrong and the class"
is 0 "$(grep -cE '^(ok|not ok) [0-9]|^# |^1\.\.|VMM-GUEST-TAP' "$tmp/out")" "no TAP line"
ok 'grep -q "^guest suite dmatest: 29 passed, 0 failed$" "$tmp/out"' "the suite's verdict in one line"
is 9 "$(grep -c '^  00:0[89]\.0 dmatest[01]: ' "$tmp/out")" "vmm's violation table: the 9 violations"
ok '! grep -q "warning: DMA violation\|^vmm: iommu:\|^vmm: bounce:" "$tmp/out"' \
	"no live warning repeats the table, no statistics lines"
ok 'grep -q "^vmm: DMA-API violations: 9$" "$tmp/out" && grep -q -- "--report FILE" "$tmp/out"' \
	"the count, then where the JSON report is"
sed 's/^ok 12 - zoo on/not ok 12 - zoo on/' "$sample" | awk -f "$filter" >"$tmp/bad"
ok 'grep -q "^guest suite dmatest: not ok 12 - zoo on 0000:00:08.0" "$tmp/bad" &&
	grep -q "^guest suite dmatest: 28 passed, 1 failed$" "$tmp/bad"' "a failing TAP line is shown whole and counted"
printf 'quickstart: booting\n# testhost: L1 up after 3 s\n' | awk -f "$filter" >"$tmp/other"
is "quickstart: booting
# testhost: L1 up after 3 s" "$(cat "$tmp/other")" "unknown lines pass unchanged"
is "$(tr -d '\r' <"$sample")" "$(awk -v raw=1 -f "$filter" "$sample")" "raw=1 passes everything"
