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
        /*
         * PCI segment 0, buses 0-15 (vmm/pci.c; vmm/layout.h ECAM_BUSES):
         * ECAM at 0xe0000000 (MCFG), config ports 0xcf8-0xcff, BARs in
         * 0xc0000000-0xdfffffff.  Bus 0 and the secondary buses of the
         * PCIe root ports, which the SSDT describes when there are any
         * (they depend on the command line: vmm/acpi.c builds it at run
         * time).  Devices use MSI-X or MSI only, so there is no _PRT.
         */
        Device (PCI0)
        {
            Name (_HID, EisaId ("PNP0A08"))
            Name (_CID, EisaId ("PNP0A03"))
            Name (_SEG, Zero)
            Name (_BBN, Zero)
            Name (_UID, Zero)
            Name (_CRS, ResourceTemplate ()
            {
                WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                    0x0000, 0x0000, 0x000F, 0x0000, 0x0010)
                IO (Decode16, 0x0CF8, 0x0CF8, 0x01, 0x08)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0000, 0x0CF7, 0x0000, 0x0CF8)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000, 0x0D00, 0xFFFF, 0x0000, 0xF300)
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
                    0x00000000, 0xC0000000, 0xDFFFFFFF, 0x00000000, 0x20000000)
            })
        }

        /* Motherboard resources: the ECAM window (16 buses x 1 MiB) is taken. */
        Device (MRES)
        {
            Name (_HID, EisaId ("PNP0C02"))
            Name (_UID, One)
            Name (_CRS, ResourceTemplate ()
            {
                Memory32Fixed (ReadWrite, 0xE0000000, 0x01000000)
            })
        }

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
