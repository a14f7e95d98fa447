/* SPDX-License-Identifier: MIT */
/*
 * kvm-hold: create one KVM VM and keep it, idle, until killed.
 *
 * Runs in the test host's L1 (tests/testhost starts it before vmm).  KVM
 * flips kernel static keys when the first VM or vCPU appears and the last
 * one goes: the preempt notifiers patched into __schedule (per VM) and the
 * LAPIC "software disabled" key (per vCPU whose APIC is not enabled yet).
 * L1 runs under multi-threaded TCG, which has been seen to execute a stale
 * copy of such a live-patched instruction on the other CPU ("Oops: int3"
 * in __schedule and in kvm's apic_has_pending_timer, which kill L1).  With
 * one VM and one never-run vCPU (in-kernel irqchip, APIC left disabled)
 * always open, the vmm runs in L1 keep those counts above zero.  No guest
 * memory, no KVM_RUN: it costs nothing.
 *
 *   kvm-hold [READY-FILE]   (creates READY-FILE once the VM exists)
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (kvm < 0) {
		fprintf(stderr, "kvm-hold: /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);

	if (vm < 0) {
		fprintf(stderr, "kvm-hold: KVM_CREATE_VM: %s\n", strerror(errno));
		return 1;
	}
	/* Best effort: the VM alone already holds the preempt notifiers. */
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		fprintf(stderr, "kvm-hold: KVM_CREATE_IRQCHIP: %s\n", strerror(errno));
	else if (ioctl(vm, KVM_CREATE_VCPU, 0) < 0)
		fprintf(stderr, "kvm-hold: KVM_CREATE_VCPU: %s\n", strerror(errno));
	if (argc > 1) {
		int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0)
			close(fd);
	}
	for (;;)
		pause();
}
