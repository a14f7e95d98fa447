/* SPDX-License-Identifier: MIT */
/* The interrupt-controller state at kernel entry (vmm/irqchip.h): the 8259
 * pair initialised and masked, LINT0/LINT1 as firmware leaves them. */
#include "vmm/irqchip.h"
#include "tests/tap/basic.h"

#include <string.h>

/* The 8259 as KVM_CREATE_IRQCHIP makes it (zeroed; KVM sets only the ELCR
 * masks, 0xf8 master and 0xde slave), with a stale request to show that the
 * boot state does not carry one over. */
static struct kvm_pic_state created_pic(bool master)
{
	struct kvm_pic_state pic;

	memset(&pic, 0, sizeof(pic));
	pic.elcr_mask = master ? 0xf8 : 0xde;
	pic.irr = pic.last_irr = 0x10;
	return pic;
}

/* The vector an edge on `irq` of this 8259 would be delivered as, or -1
 * when the 8259 holds it back (masked). */
static int pic_vector_for(const struct kvm_pic_state *pic, unsigned int irq)
{
	if (pic->imr & (1u << irq))
		return -1;
	return pic->irq_base + (int)irq;
}

static void test_pic(bool master)
{
	const char *name = master ? "master" : "slave";
	struct kvm_pic_state pic = created_pic(master);
	unsigned int delivered = 0, exception_vectors = 0;

	irqchip_pic_boot_state(&pic, master);
	is_hex(0xff, pic.imr, "8259 %s: every IRQ masked", name);
	is_int(master ? 0x20 : 0x28, pic.irq_base, "8259 %s: vector base past the exceptions", name);
	ok(pic.init_state == 0 && pic.init4 == 1, "8259 %s: initialised (ICW1-ICW4 done)", name);
	ok(!pic.irr && !pic.last_irr && !pic.isr, "8259 %s: nothing requested or in service", name);
	ok(!pic.auto_eoi && !pic.special_fully_nested_mode && !pic.poll && !pic.special_mask,
	   "8259 %s: normal EOI, fully nested, no poll or special mask", name);
	is_hex(0, pic.elcr, "8259 %s: every line edge-triggered", name);
	is_hex(master ? 0xf8 : 0xde, pic.elcr_mask, "8259 %s: KVM's ELCR mask kept", name);

	for (unsigned int irq = 0; irq < 8; irq++) {
		int vec = pic_vector_for(&pic, irq);

		if (vec >= 0)
			delivered++;
		if (vec >= 0 && vec < 0x20)
			exception_vectors++;
	}
	is_int(0, delivered, "8259 %s: no legacy IRQ passes before the guest unmasks one", name);

	/* A guest that unmasks without reprogramming still gets no
	 * exception vector. */
	pic.imr = 0;
	for (unsigned int irq = 0; irq < 8; irq++)
		if (pic_vector_for(&pic, irq) < 0x20)
			exception_vectors++;
	is_int(0, exception_vectors, "8259 %s: no IRQ maps to an exception vector", name);
}

static void test_lapic(void)
{
	struct kvm_lapic_state lapic;

	/* KVM's reset state: every LVT masked except the BSP's LINT0 =
	 * unmasked ExtINT; the other registers must survive. */
	memset(&lapic, 0xa5, sizeof(lapic));
	irqchip_lapic_boot_lvt(&lapic, true);
	is_hex(0x700, irqchip_lapic_reg(&lapic, APIC_LVT0), "BSP LINT0: ExtINT, unmasked");
	is_hex(0x400, irqchip_lapic_reg(&lapic, APIC_LVT1), "BSP LINT1: NMI, unmasked");
	is_hex(0xa5a5a5a5, irqchip_lapic_reg(&lapic, 0x340), "BSP: LVT performance counter untouched");
	is_hex(0xa5a5a5a5, irqchip_lapic_reg(&lapic, 0x370), "BSP: LVT error untouched");

	memset(&lapic, 0, sizeof(lapic));
	irqchip_lapic_boot_lvt(&lapic, false);
	is_hex(0x10700, irqchip_lapic_reg(&lapic, APIC_LVT0), "AP LINT0: ExtINT, masked");
	is_hex(0x10400, irqchip_lapic_reg(&lapic, APIC_LVT1), "AP LINT1: NMI, masked");
}

int main(void)
{
	plan(24);
	test_pic(true);
	test_pic(false);
	test_lapic();
	return 0;
}
