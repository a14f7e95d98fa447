/* SPDX-License-Identifier: MIT */
#ifndef TESTS_FUZZ_PCI_CONFIG_FORMAT_H
#define TESTS_FUZZ_PCI_CONFIG_FORMAT_H

/*
 * Input of the pci-config target (tests/fuzz/pci-config.c), written by
 * tests/fuzz/pci-config-seeds.c.  Numbers little-endian; a truncated tail
 * reads as zeroes.
 *
 *   bytes 0-1: the machine, PCF_TOPO_* bits: laid out by devices_plan()
 *              as vmm lays it out -- the virtio-iommu in slot 1, virtio-rng
 *              in 2, "disks" from 3 (here bare endpoints with a 32-bit and
 *              a 64-bit BAR and an MSI-X capability), dmatest devices from
 *              8; untrusted ones below their own PCIe root port
 *   then operations, an op byte (% PCF_NOPS) and its arguments:
 *     PCF_ECAM_READ   u8 bus (% 16), u8 devfn, u16 offset (% 4096), u8 size (1 << % 4)
 *     PCF_ECAM_WRITE  the same, then u32 value
 *     PCF_CF8         u32: written to 0xcf8 as it is
 *     PCF_CF8_SET     u8 bus, u8 devfn, u16 register (% 4096: bits 11:8 go to
 *                     the latch's bits 27:24), u8 enable (& 1): a well-formed latch
 *     PCF_CFC_READ    u8 port (0xcf8 + % 8), u8 size (1 << % 3)
 *     PCF_CFC_WRITE   the same, then u32 value
 *     PCF_MMIO        u8 device (% the devices), u8 BAR (% 6), u32 offset,
 *                     u8 size (1 << % 4), u8 write (& 1), u64 value: at the
 *                     address that BAR holds now (skipped if unimplemented)
 *     PCF_MMIO_RAW    u64 address, u8 size, u8 write, u64 value
 *     PCF_SIZE_BAR    u8 device, u8 BAR: the sizing dance (all-ones, read,
 *                     restore) through ECAM
 *     PCF_RENUMBER    u8 root port (% the ports), u8 secondary, u8 subordinate
 *     PCF_COMMAND     u8 device, u16 value: its command register
 */
enum {
	PCF_TOPO_UNTRUSTED = 1 << 0,     /* every endpoint below a root port */
	PCF_TOPO_NO_IOMMU  = 1 << 1,
	PCF_TOPO_NO_RNG    = 1 << 2,
	PCF_TOPO_DISKS     = 3 << 3,     /* how many (0-3) */
	PCF_TOPO_DMATESTS  = 3 << 5,     /* how many (0-3) */
	PCF_TOPO_DMATEST_UNTRUSTED = 7 << 8,   /* which of them */
};

enum {
	PCF_ECAM_READ, PCF_ECAM_WRITE, PCF_CF8, PCF_CF8_SET, PCF_CFC_READ, PCF_CFC_WRITE,
	PCF_MMIO, PCF_MMIO_RAW, PCF_SIZE_BAR, PCF_RENUMBER, PCF_COMMAND,
	PCF_NOPS
};

#endif
