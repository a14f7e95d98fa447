/* SPDX-License-Identifier: MIT */
#include "vmm/irqchip.h"

#include <string.h>

void irqchip_pic_boot_state(struct kvm_pic_state *pic, bool master)
{
	uint8_t elcr_mask = pic->elcr_mask;  /* which lines KVM lets be level */

	/* After ICW1 (edge, cascade, ICW4 follows), ICW2 (vector base),
	 * ICW3 (the slave on the master's IRQ 2: KVM wires that cascade
	 * itself), ICW4 (8086 mode, normal EOI, not special fully nested) and
	 * OCW1 = 0xff: initialised, nothing requested or in service,
	 * every IRQ masked, OCW3 reading the IRR. */
	memset(pic, 0, sizeof(*pic));
	pic->irq_base = master ? IRQCHIP_PIC_MASTER_VECTOR_BASE : IRQCHIP_PIC_SLAVE_VECTOR_BASE;
	pic->imr = 0xff;
	pic->init4 = 1;
	pic->init_state = 0;     /* no ICW sequence in progress */
	pic->elcr = 0;           /* every ISA line edge-triggered */
	pic->elcr_mask = elcr_mask;
}

static void set_reg(struct kvm_lapic_state *lapic, unsigned int offset, uint32_t val)
{
	memcpy(&lapic->regs[offset], &val, sizeof(val));
}

uint32_t irqchip_lapic_reg(const struct kvm_lapic_state *lapic, unsigned int offset)
{
	uint32_t val;

	memcpy(&val, &lapic->regs[offset], sizeof(val));
	return val;
}

void irqchip_lapic_boot_lvt(struct kvm_lapic_state *lapic, bool bsp)
{
	uint32_t mask = bsp ? 0 : APIC_LVT_MASKED;

	/* Vector 0, edge, active high: the vector field is unused for
	 * ExtINT (the 8259 supplies it) and for NMI (vector 2). */
	set_reg(lapic, APIC_LVT0, APIC_LVT_DM_EXTINT | mask);
	set_reg(lapic, APIC_LVT1, APIC_LVT_DM_NMI | mask);
}
