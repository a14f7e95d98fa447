/* SPDX-License-Identifier: MIT */
/*
 * A PCIe root port: the type-1 (PCI-to-PCI bridge) header of a function on
 * bus 0 whose PCIe capability says "Root Port", with an ACS extended
 * capability, set up the way firmware leaves it: bus numbers and the memory
 * window programmed, so that Linux keeps them instead of renumbering.
 *
 * Why each piece is there:
 * - The PCIe capability (type Root Port) is what makes Linux look for the
 *   ACPI "ExternalFacingPort" property on it (pci_acpi_set_external_facing()
 *   ignores anything else) and treat what sits below it as untrusted.
 * - ACS (source validation, P2P request/completion redirect, upstream
 *   forwarding) tells Linux that the device below cannot reach a peer
 *   without going through the IOMMU, so it gets an IOMMU group of its own.
 *   The control register starts at 0, as after reset: Linux enables these
 *   four itself (it requests ACS as soon as it sees a VIOT; the guest suite
 *   "untrusted" checks that it did).
 * - No I/O and no prefetchable window (their registers read 0 and are not
 *   writable, which is how a bridge says it has none); one memory window,
 *   1 MiB-grained, that vmm/pci.c fills in when a device is registered.
 * - No slot, no hot-plug, no PM or MSI capability, interrupt pin 0: the
 *   port has no events to signal (no AER/PME/hot-plug services without
 *   _OSC), so Linux's portdrv has nothing to set up.
 */
#include "vmm/pci_root_port.h"

#include <string.h>

/* The generic "PCIe root port" ID virtual machines use (Red Hat, Inc.);
 * Linux binds portdrv by class, not by ID, and has no quirk for it. */
#define ROOT_PORT_VENDOR 0x1b36
#define ROOT_PORT_DEVICE 0x000c
#define CLASS_BRIDGE_PCI 0x060400

#define ACS_CAP_OFF 0x100       /* the first extended capability */
#define ACS_CAPS (PCI_ACS_SV | PCI_ACS_RR | PCI_ACS_CR | PCI_ACS_UF)

static void set_wmask16(struct pci_device *d, unsigned int off, uint16_t m)
{
	d->wmask[off] = (uint8_t)m;
	d->wmask[off + 1] = (uint8_t)(m >> 8);
}

void pci_root_port_init(struct pci_root_port *rp, unsigned int slot, unsigned int secondary_bus,
			bool external_facing)
{
	struct pci_device *d = &rp->pci;
	unsigned int x;

	memset(rp, 0, sizeof(*rp));
	pci_device_init(d, "pcie-root-port", ROOT_PORT_VENDOR, ROOT_PORT_DEVICE, CLASS_BRIDGE_PCI,
			0, 0);
	rp->secondary = (uint8_t)secondary_bus;
	rp->external_facing = external_facing;
	pci_set_byte(d, PCI_REVISION_ID, 0);
	pci_set_byte(d, PCI_HEADER_TYPE, PCI_HEADER_TYPE_BRIDGE);
	/* A type-1 header has no subsystem IDs at 0x2c (that is the
	 * prefetchable window's upper base), so pci_device_init's zeros stay. */
	d->wmask[PCI_COMMAND] |= 0x1;                       /* I/O space (no window: harmless) */
	d->wmask[PCI_COMMAND + 1] |= 0x1;                   /* SERR# enable */

	/* Bus numbers as firmware assigned them; the guest may change them. */
	pci_set_byte(d, PCI_PRIMARY_BUS, 0);
	pci_set_byte(d, PCI_SECONDARY_BUS, (uint8_t)secondary_bus);
	pci_set_byte(d, PCI_SUBORDINATE_BUS, (uint8_t)secondary_bus);
	d->wmask[PCI_PRIMARY_BUS] = d->wmask[PCI_SECONDARY_BUS] = d->wmask[PCI_SUBORDINATE_BUS] = 0xff;

	/* Memory window: closed (base above limit) until a device is placed. */
	pci_set_word(d, PCI_MEMORY_BASE, 0xfff0);
	pci_set_word(d, PCI_MEMORY_LIMIT, 0x0000);
	set_wmask16(d, PCI_MEMORY_BASE, 0xfff0);
	set_wmask16(d, PCI_MEMORY_LIMIT, 0xfff0);
	/* Bridge control: parity and SERR# forwarding, ISA/VGA enable,
	 * secondary bus reset (accepted; the device below is not reset). */
	set_wmask16(d, PCI_BRIDGE_CONTROL, 0x004f);

	/* The first capability (0x40): it always fits. */
	x = pci_add_capability(d, PCI_CAP_ID_EXP, PCI_EXP_SIZEOF_V2);
	pci_set_word(d, x + PCI_EXP_FLAGS, 0x2 | (PCI_EXP_TYPE_ROOT_PORT << 4));  /* version 2 */
	pci_set_long(d, x + PCI_EXP_DEVCAP, 1u << 15);      /* role-based error reporting; MPS 128 */
	set_wmask16(d, x + PCI_EXP_DEVCTL, 0x78ff);          /* error enables, MPS, MRRS, ... */
	/* One 2.5 GT/s x1 link that is up (data link layer active, and able
	 * to say so), port number = slot; no ASPM. */
	pci_set_long(d, x + PCI_EXP_LNKCAP, (uint32_t)slot << 24 | 1u << 20 | 1u << 4 | 1u);
	set_wmask16(d, x + PCI_EXP_LNKCTL, 0x00cb);          /* ASPM ctl, RCB, common clock, ext sync */
	pci_set_word(d, x + PCI_EXP_LNKSTA, 1u << 13 | 1u << 4 | 1u);
	set_wmask16(d, x + PCI_EXP_RTCTL, 0x000f);           /* system error / PME interrupt enables */
	pci_set_long(d, x + PCI_EXP_LNKCAP2, 1u << 1);       /* supported speeds: 2.5 GT/s */
	pci_set_word(d, x + PCI_EXP_LNKCTL2, 1);             /* target speed 2.5 GT/s */

	/* ACS, the only extended capability (next = 0). */
	pci_set_long(d, ACS_CAP_OFF, PCI_EXT_CAP_ID_ACS | 1u << 16);
	pci_set_word(d, ACS_CAP_OFF + PCI_ACS_CAP, ACS_CAPS);
	pci_set_word(d, ACS_CAP_OFF + PCI_ACS_CTRL, 0);
	set_wmask16(d, ACS_CAP_OFF + PCI_ACS_CTRL, ACS_CAPS);
}

void pci_root_port_set_window(struct pci_root_port *rp, uint64_t base, uint64_t end)
{
	/* Bits 15:4 of base and limit are address bits 31:20. */
	pci_set_word(&rp->pci, PCI_MEMORY_BASE, (uint16_t)((base >> 16) & 0xfff0));
	pci_set_word(&rp->pci, PCI_MEMORY_LIMIT, (uint16_t)(((end - 1) >> 16) & 0xfff0));
}

bool pci_root_port_forwards(const struct pci_root_port *rp, unsigned int busnr, bool *secondary)
{
	unsigned int sec = rp->pci.cfg[PCI_SECONDARY_BUS], sub = rp->pci.cfg[PCI_SUBORDINATE_BUS];

	if (sec == 0 || busnr < sec || busnr > sub)
		return false;
	*secondary = busnr == sec;
	return true;
}
