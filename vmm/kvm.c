/* SPDX-License-Identifier: MIT */
#include "vmm/machine.h"
#include "vmm/cpuid.h"
#include "vmm/irqchip.h"
#include "vmm/layout.h"
#include "vmm/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int check_cap(struct machine *m, long cap, const char *name)
{
	if (ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, cap) <= 0) {
		pr_err("this KVM lacks %s, which vmm needs", name);
		return -ENOTSUP;
	}
	return 0;
}

static struct kvm_cpuid2 *get_supported_cpuid(int kvm_fd)
{
	for (unsigned int nent = 64; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = cpuid_alloc(nent);

		if (!c)
			return NULL;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG)
			return NULL;
	}
	return NULL;
}

int kvm_open(struct machine *m)
{
	int ver;

	m->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (m->kvm_fd < 0) {
		int err = errno;

		if (err == ENOENT)
			pr_err("cannot open /dev/kvm: it does not exist (is the kvm module loaded, is virtualization enabled?)");
		else if (err == EACCES || err == EPERM)
			pr_err("cannot open /dev/kvm: permission denied (add yourself to the 'kvm' group or run as root)");
		else
			pr_err("cannot open /dev/kvm: %s", strerror(err));
		return -err;
	}
	ver = ioctl(m->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		pr_err("/dev/kvm speaks KVM API %d, vmm needs %d", ver, KVM_API_VERSION);
		return -ENOTSUP;
	}
	if (check_cap(m, KVM_CAP_IRQCHIP, "an in-kernel irqchip (KVM_CAP_IRQCHIP)") ||
	    check_cap(m, KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY") ||
	    check_cap(m, KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID") ||
	    check_cap(m, KVM_CAP_PIT2, "an in-kernel PIT (KVM_CAP_PIT2)") ||
	    check_cap(m, KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT") ||
	    check_cap(m, KVM_CAP_SIGNAL_MSI, "KVM_CAP_SIGNAL_MSI (MSI-X delivery)") ||
	    check_cap(m, KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"))
		return -ENOTSUP;
	m->tsc_deadline = ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	m->run_mmap_size = (size_t)ioctl(m->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if ((long)m->run_mmap_size <= 0) {
		pr_err("KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
		return -errno;
	}
	m->supported_cpuid = get_supported_cpuid(m->kvm_fd);
	if (!m->supported_cpuid) {
		pr_err("KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static int set_memory_region(struct machine *m, unsigned int slot,
			     const struct guest_region *r)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = r->gpa,
		.memory_size = r->size,
		.userspace_addr = (uintptr_t)r->hva,
	};

	if (ioctl(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		pr_err("KVM_SET_USER_MEMORY_REGION (slot %u, %llu MiB): %s", slot,
		       (unsigned long long)(r->size >> 20), strerror(errno));
		return -errno;
	}
	return 0;
}

/* The in-kernel 8259 pair starts uninitialised and unmasked with vector
 * base 0: initialise and mask it as firmware would (vmm/irqchip.h). */
static int init_legacy_pic(struct machine *m)
{
	static const struct { uint32_t chip_id; bool master; } chips[] = {
		{ KVM_IRQCHIP_PIC_MASTER, true }, { KVM_IRQCHIP_PIC_SLAVE, false },
	};

	for (unsigned int i = 0; i < sizeof(chips) / sizeof(chips[0]); i++) {
		struct kvm_irqchip chip = { .chip_id = chips[i].chip_id };

		if (ioctl(m->vm_fd, KVM_GET_IRQCHIP, &chip) < 0) {
			pr_err("KVM_GET_IRQCHIP (8259 %s): %s", chips[i].master ? "master" : "slave",
			       strerror(errno));
			return -errno;
		}
		irqchip_pic_boot_state(&chip.chip.pic, chips[i].master);
		if (ioctl(m->vm_fd, KVM_SET_IRQCHIP, &chip) < 0) {
			pr_err("KVM_SET_IRQCHIP (8259 %s): %s", chips[i].master ? "master" : "slave",
			       strerror(errno));
			return -errno;
		}
	}
	return 0;
}

int kvm_create_vm(struct machine *m)
{
	struct kvm_pit_config pit = { .flags = 0 };
	int ret;

	m->vm_fd = ioctl(m->kvm_fd, KVM_CREATE_VM, 0);
	if (m->vm_fd < 0) {
		pr_err("KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	/* Only VMX uses these, but they must be set before any vCPU exists
	 * and they must not overlap RAM: harmless on SVM. */
	if (ioctl(m->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0) {
		pr_err("KVM_SET_TSS_ADDR: %s", strerror(errno));
		return -errno;
	}
	{
		uint64_t idmap = KVM_IDENTITY_MAP_ADDR;

		if (ioctl(m->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
			pr_debug("KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
	}
	if (ioctl(m->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		pr_err("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -errno;
	}
	ret = init_legacy_pic(m);
	if (ret)
		return ret;
	if (ioctl(m->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		pr_err("KVM_CREATE_PIT2: %s", strerror(errno));
		return -errno;
	}
	for (unsigned int i = 0; i < m->mem.nr_regions; i++) {
		ret = set_memory_region(m, i, &m->mem.region[i]);
		if (ret)
			return ret;
	}
	return 0;
}

int kvm_irq_line(struct machine *m, unsigned int gsi, bool level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(m->vm_fd, KVM_IRQ_LINE, &irq) < 0) {
		pr_ratelimited(LOG_WARN, "KVM_IRQ_LINE %u: %s", gsi, strerror(errno));
		return -errno;
	}
	return 0;
}

int kvm_signal_msi(void *opaque, uint64_t addr, uint32_t data)
{
	struct machine *m = opaque;
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr,
		.address_hi = (uint32_t)(addr >> 32),
		.data = data,
	};

	/* 0: the guest blocked it (e.g. masked in the LAPIC), > 0: delivered. */
	if (ioctl(m->vm_fd, KVM_SIGNAL_MSI, &msi) < 0) {
		pr_ratelimited(LOG_WARN, "KVM_SIGNAL_MSI %#llx/%#x: %s", (unsigned long long)addr, data,
			       strerror(errno));
		return -errno;
	}
	return 0;
}

int kvm_ioeventfd(void *opaque, uint64_t gpa, unsigned int len, int fd, bool assign)
{
	struct machine *m = opaque;
	struct kvm_ioeventfd ioe = {
		.addr = gpa,
		.len = len,
		.fd = fd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN,
	};

	if (ioctl(m->vm_fd, KVM_IOEVENTFD, &ioe) < 0) {
		pr_debug("KVM_IOEVENTFD %s %#llx: %s", assign ? "assign" : "deassign",
			 (unsigned long long)gpa, strerror(errno));
		return -errno;
	}
	return 0;
}

int kvm_coalesce_pio(struct machine *m, uint16_t port, uint16_t len)
{
	struct kvm_coalesced_mmio_zone zone = { .addr = port, .size = len, .pio = 1 };
	long page = ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);

	if (ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) <= 0 || page <= 0 ||
	    !m->ncpus || !m->vcpu[0].run)
		return -ENOTSUP;  /* fine: every write then exits */
	if ((size_t)page * (size_t)sysconf(_SC_PAGESIZE) + (size_t)sysconf(_SC_PAGESIZE) > m->run_mmap_size)
		return -ENOTSUP;
	if (ioctl(m->vm_fd, KVM_REGISTER_COALESCED_MMIO, &zone) < 0)
		return -errno;
	pthread_mutex_init(&m->coalesced_lock, NULL);
	m->coalesced_max = (unsigned int)((sysconf(_SC_PAGESIZE) - sizeof(struct kvm_coalesced_mmio_ring)) /
					  sizeof(struct kvm_coalesced_mmio));
	__atomic_store_n(&m->coalesced_ring,
			 (struct kvm_coalesced_mmio_ring *)((uint8_t *)m->vcpu[0].run +
							    page * sysconf(_SC_PAGESIZE)),
			 __ATOMIC_RELEASE);
	return 0;
}

void machine_drain_coalesced(struct machine *m)
{
	struct kvm_coalesced_mmio_ring *ring = __atomic_load_n(&m->coalesced_ring, __ATOMIC_ACQUIRE);

	/* Unlocked peek first: this runs before every exit is handled. */
	if (!ring || __atomic_load_n(&ring->first, __ATOMIC_ACQUIRE) ==
		     __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&m->coalesced_lock);
	while (ring->first != __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE)) {
		struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[ring->first % m->coalesced_max];
		uint32_t val = 0;

		if (e->pio && e->len <= sizeof(val)) {
			memcpy(&val, e->data, e->len);
			pio_access(&m->pio, (uint16_t)e->phys_addr, true, e->len, &val);
		}
		/* Hand the slot back to KVM only after it was consumed. */
		__atomic_store_n(&ring->first, (ring->first + 1) % m->coalesced_max, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&m->coalesced_lock);
}

void machine_request_exit(struct machine *m, int code)
{
	int expected = -1;

	if (__atomic_compare_exchange_n(&m->exit_code, &expected, code, false,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		char c = 1;
		ssize_t n;

		do
			n = write(m->wake_fd[1], &c, 1);
		while (n < 0 && errno == EINTR);
	}
}

int machine_exit_code(struct machine *m)
{
	return __atomic_load_n(&m->exit_code, __ATOMIC_SEQ_CST);
}

void machine_destroy(struct machine *m)
{
	for (unsigned int i = 0; i < m->ncpus; i++) {
		if (m->vcpu[i].run)
			munmap(m->vcpu[i].run, m->run_mmap_size);
		if (m->vcpu[i].fd >= 0)
			close(m->vcpu[i].fd);
	}
	if (m->vm_fd >= 0)
		close(m->vm_fd);
	if (m->kvm_fd >= 0)
		close(m->kvm_fd);
	free(m->supported_cpuid);
	guest_mem_free(&m->mem);
	for (int i = 0; i < 2; i++)
		if (m->wake_fd[i] >= 0)
			close(m->wake_fd[i]);
}
