/*
 * SPDX-License-Identifier: MIT
 *
 * The guest's DSDT, compiled by iasl at build time (iasl -tc -> dsdt.hex).
 * The machine is "HW-reduced ACPI" (FADT flag): no PM1 blocks, no SCI, no
 * GPEs.  Power-off goes through the FADT SLEEP_CONTROL_REG with the \_S5
 * sleep type below (vmm/layout.h PM_S5_SLP_TYP must match), reset through
 * the FADT RESET_REG.
 */
DefinitionBlock ("dsdt.aml", "DSDT", 2, "VMMVMM", "VMMDSDT ", 0x00000001)
{
    Name (_S5, Package (0x04) { 0x05, 0x05, Zero, Zero })

    Scope (\_SB)
    {
        /* COM1: the 8250/16550A console (vmm/serial.c). */
        Device (COM1)
        {
            Name (_HID, EisaId ("PNP0501"))
            Name (_UID, One)
            Name (_STA, 0x0F)
            Name (_CRS, ResourceTemplate ()
            {
                IO (Decode16, 0x03F8, 0x03F8, 0x01, 0x08)
                IRQNoFlags () {4}
            })
        }
    }
}
