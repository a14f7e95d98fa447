/* SPDX-License-Identifier: MIT */
#ifndef VMM_IRQCHIP_H
#define VMM_IRQCHIP_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

/*
 * The interrupt-controller state the guest finds at kernel entry: what a PC
 * firmware leaves behind, computed here without a KVM fd (unit-tested) and
 * loaded by kvm.c (KVM_SET_IRQCHIP) and vcpu.c (KVM_SET_LAPIC).
 *
 * Why: KVM_CREATE_IRQCHIP makes the 8259 pair zeroed -- never initialised,
 * every IRQ unmasked, vector base 0 -- and KVM's default routing sends GSI
 * 0-15 to the 8259 and the IOAPIC both, while KVM resets the BSP's LINT0 to
 * an unmasked ExtINT.  An edge on a legacy line (COM1 is IRQ 4) would then
 * reach the BSP through the 8259 as vector 4, an exception vector, as soon
 * as the guest enables interrupts and until it masks LINT0 or programs the
 * 8259.  Linux 6.12 on our HW-reduced machine never touches the 8259 (it
 * uses no legacy PIC) and closes LINT0 only in setup_local_APIC, after its
 * first local_irq_enable().  So vmm does what firmware does: the 8259 pair
 * initialised (ICW1-ICW4: edge, cascaded on IRQ 2, 8086 mode, normal EOI)
 * with every IRQ masked, and vector bases outside the exception range.
 */
#define IRQCHIP_PIC_MASTER_VECTOR_BASE 0x20
#define IRQCHIP_PIC_SLAVE_VECTOR_BASE  0x28

/* Fills `pic` (as read by KVM_GET_IRQCHIP: its elcr_mask is kept) with the
 * initialised, fully masked state of the master or the slave 8259. */
void irqchip_pic_boot_state(struct kvm_pic_state *pic, bool master);

/*
 * The local APIC's LINT pins, as SeaBIOS and other PC firmware leave them
 * and as Linux's setup_local_APIC programs them itself: on the BSP, LINT0 =
 * ExtINT (the 8259's output; inert while the 8259 is masked) and LINT1 =
 * NMI, both unmasked; on the APs both masked (the state after INIT).
 * Changes only LVT0 and LVT1 of a state read by KVM_GET_LAPIC.
 */
#define APIC_LVT0            0x350
#define APIC_LVT1            0x360
#define APIC_LVT_MASKED      (1u << 16)
#define APIC_LVT_DM_NMI      (4u << 8)
#define APIC_LVT_DM_EXTINT   (7u << 8)
void irqchip_lapic_boot_lvt(struct kvm_lapic_state *lapic, bool bsp);
uint32_t irqchip_lapic_reg(const struct kvm_lapic_state *lapic, unsigned int offset);

#endif
