#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The ACPI tables vmm gives the guest, disassembled by ACPICA's own iasl:
# every table parses, every checksum is right, and the contents are what
# the guest needs (HW-reduced FADT with our reset/sleep registers, one local
# APIC per vCPU, \_S5 and COM1 in the DSDT, ECAM for buses 0-15).  With
# untrusted endpoints, the SSDT vmm encodes itself for the PCIe root ports:
# iasl disassembles it, and compiling that back gives the same AML byte for
# byte.  KVM-free: `vmm dump-acpi` writes exactly the tables `vmm run`
# places at 0xe0000.
. "$top_srcdir/tests/tap/libtap.sh"

: "${VMM:?}" "${IASL:=iasl}"
command -v "$IASL" >/dev/null 2>&1 || bail "iasl not found (acpica-tools)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/acpi-iasl.XXXXXX")
at_exit 'rm -rf "$tmp"'

plan 71

for cpus in 1 4; do
	dir="$tmp/cpus$cpus"
	"$VMM" dump-acpi --cpus "$cpus" "$dir" >/dev/null 2>"$tmp/err"
	is 0 "$?" "dump-acpi --cpus $cpus"
	for t in XSDT FACP APIC DSDT MCFG VIOT; do
		(cd "$dir" && "$IASL" -d "$t.dat") >"$dir/$t.iasl-out" 2>&1
		ok '[ $? -eq 0 ] && [ -s "$dir/$t.dsl" ]' "cpus=$cpus: iasl disassembles $t"
		ok '! grep -qiE "incorrect checksum|error" "$dir/$t.iasl-out" "$dir/$t.dsl"' \
			"cpus=$cpus: $t checksum correct, no iasl error"
	done
	is "$cpus" "$(grep -c 'Subtable Type : 00 \[Processor Local APIC\]' "$dir/APIC.dsl")" \
		"cpus=$cpus: MADT has $cpus local APICs"
	is 1 "$(grep -c 'Subtable Type : 01 \[I/O APIC\]' "$dir/APIC.dsl")" "cpus=$cpus: MADT has one I/O APIC"
	ok 'grep -q "Hardware Reduced (V5) : 1" "$dir/FACP.dsl"' "cpus=$cpus: FADT is HW-reduced"
	ok 'grep -q "Reset Register Supported (V2) : 1" "$dir/FACP.dsl"' "cpus=$cpus: FADT reset register supported"
	ok 'grep -A5 "Reset Register :" "$dir/FACP.dsl" | grep -q "Address : 0000000000000602"' \
		"cpus=$cpus: reset register is port 0x602"
	ok 'grep -A5 "Sleep Control Register :" "$dir/FACP.dsl" | grep -q "Address : 0000000000000600"' \
		"cpus=$cpus: sleep control register is port 0x600"
	ok 'grep -q "Name (_S5, Package" "$dir/DSDT.dsl" && grep -q "PNP0501" "$dir/DSDT.dsl"' \
		"cpus=$cpus: DSDT has \\_S5 and the COM1 device"
	ok 'grep -q "PNP0A08" "$dir/DSDT.dsl" && grep -q "0xDFFFFFFF" "$dir/DSDT.dsl"' \
		"cpus=$cpus: DSDT has the PCIe host bridge with its BAR window"
	ok 'grep -q "Base Address : 00000000E0000000" "$dir/MCFG.dsl"' "cpus=$cpus: MCFG ECAM at 0xe0000000"
	ok 'grep -q "End Bus Number : 0F" "$dir/MCFG.dsl"' "cpus=$cpus: MCFG covers buses 0-15"
	# iasl from bookworm (20200925) predates VIOT: it checks the header and
	# checksum only; tests/unit/acpi-t.c checks the nodes byte by byte.
	ok 'grep -q "Signature : \"VIOT\"" "$dir/VIOT.dsl" && grep -q "Table Length : 00000058" "$dir/VIOT.dsl"' \
		"cpus=$cpus: VIOT header (88 bytes: two nodes)"
done

"$VMM" dump-acpi --no-iommu "$tmp/noiommu" >/dev/null 2>&1
ok '[ -f "$tmp/noiommu/MCFG.dat" ] && [ ! -f "$tmp/noiommu/VIOT.dat" ]' "--no-iommu: no VIOT table"
ok '[ ! -f "$tmp/cpus1/SSDT.dat" ]' "no untrusted endpoint: no SSDT"
ok 'grep -A6 "WordBusNumber" "$tmp/cpus1/DSDT.dsl" | grep -q "0x000F, *// Range Maximum" &&
    grep -A3 "Memory32Fixed" "$tmp/cpus1/DSDT.dsl" | grep -q "0x01000000, *// Address Length"' \
	"DSDT: the host bridge decodes buses 0-15, their ECAM (16 MiB) is reserved"

# Untrusted endpoints: rng 00:02, the disk 00:03 and a dmatest 00:08 each
# below an external-facing root port in that slot, buses 1-3.
dir="$tmp/untrusted"
"$VMM" dump-acpi --untrusted --dmatest --disk /nonexistent.img "$dir" >/dev/null 2>"$tmp/err"
is 0 "$?" "dump-acpi --untrusted"
for t in XSDT MCFG VIOT SSDT; do
	(cd "$dir" && "$IASL" -d "$t.dat") >"$dir/$t.iasl-out" 2>&1
	ok '[ $? -eq 0 ] && [ -s "$dir/$t.dsl" ]' "untrusted: iasl disassembles $t"
	ok '! grep -qiE "incorrect checksum|error" "$dir/$t.iasl-out" "$dir/$t.dsl"' \
		"untrusted: $t checksum correct, no iasl error"
done
is 5 "$(grep -c "ACPI Table Address" "$dir/XSDT.dsl")" "untrusted: XSDT lists FADT, MADT, MCFG, VIOT, SSDT"
ok 'grep -q "Table Length : 000000B8" "$dir/VIOT.dsl"' \
	"untrusted: VIOT has the IOMMU and five ranges (00:04-07, 00:09-1f, buses 1-3)"
is "RP02 RP03 RP08" "$(sed -n 's/^ *Device (\(RP..\))$/\1/p' "$dir/SSDT.dsl" | tr '\n' ' ' | sed 's/ $//')" \
	"untrusted: SSDT Device RP02, RP03, RP08"
ok 'grep -q "Scope (\\\\_SB.PCI0)" "$dir/SSDT.dsl"' "untrusted: in Scope (\\_SB.PCI0)"
is "0x00020000 0x00030000 0x00080000" \
	"$(sed -n 's/.*Name (_ADR, \(0x[0-9A-F]*\)).*/\1/p' "$dir/SSDT.dsl" | tr '\n' ' ' | sed 's/ $//')" \
	"untrusted: their _ADR: slots 2, 3, 8, function 0"
is 3 "$(grep -c 'ToUUID ("daffd814-6eba-4d8c-8a91-bc9bbf4aa301")' "$dir/SSDT.dsl")" \
	"untrusted: three _DSD with the device-properties UUID"
is 3 "$(grep -A1 '"ExternalFacingPort",' "$dir/SSDT.dsl" | grep -c 'One')" \
	"untrusted: three {\"ExternalFacingPort\", One}"
# iasl compiles the External (\_SB.PCI0) it added as If (Zero) {External}
# first (16 bytes); the rest must be our AML exactly (the headers differ:
# compiler ID, checksum).
cp "$dir/SSDT.dsl" "$dir/again.dsl"
(cd "$dir" && "$IASL" again.dsl) >"$dir/again.iasl-out" 2>&1
ok '[ $? -eq 0 ] && [ -s "$dir/again.aml" ]' "untrusted: iasl compiles the disassembled SSDT back"
is $(($(wc -c <"$dir/SSDT.dat") + 16)) "$(wc -c <"$dir/again.aml")" "untrusted: same size (+ iasl's External)"
ok 'cmp -s -i 36:52 "$dir/SSDT.dat" "$dir/again.aml"' "untrusted: our AML is the AML iasl makes of it, byte for byte"

"$VMM" dump-acpi --dmatest untrusted --disk /nonexistent.img "$tmp/one" >/dev/null 2>&1
(cd "$tmp/one" && "$IASL" -d SSDT.dat) >/dev/null 2>&1
ok 'grep -q "Device (RP08)" "$tmp/one/SSDT.dsl" && [ "$(grep -c "Device (RP" "$tmp/one/SSDT.dsl")" = 1 ]' \
	"--dmatest untrusted: one root port, RP08"
