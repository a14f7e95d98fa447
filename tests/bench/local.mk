# SPDX-License-Identifier: MIT
# Benchmarks: never part of make check.  Each compares against a baseline
# measured in the same invocation (docs/guest-and-testhost.md for the
# boot and I/O benchmarks).  Included from tests/local.mk.  The guest I/O
# benchmarks run the test host's L1 with two CPUs (TESTHOST_L1_CPUS=2, not
# the test host's default of one): their 2-vCPU guests get a CPU each, as
# in every earlier table; a guest the emulation crashes there costs one
# sample, not a CI run.
#
#   make bench           boot, viommu and swiotlb
#   make bench-boot      boot to init, vmm against QEMU as the nested VMM
#                        (through the test host: ~4 min; BENCH_N=5 rounds,
#                        BENCH_VARIANTS=quiet|"quiet full", BENCH_RAW=FILE)
#   make bench-iommu     virtio-blk MiB/s, IOPS, VMM CPU time, VM exits and
#                        IOMMU requests per GiB through the IOMMU, vmm vs QEMU,
#                        strict, lazy, none, 1 and 2 vCPUs, one test-host boot,
#                        ~15 min (BENCH_IOMMU_FLAGS: tests/bench/iommu.sh -n RUNS
#                        -s SECS -m MIB -c "CPUS" -v CONFIGS -p PHASES -b VMM
#                        --out FILE; the method is bench-nvme's,
#                        tests/bench/blk-lib.sh)
#   make bench-net       guest<->host TCP MiB/s and VMM CPU s per GiB over
#                        virtio-net on a TAP: vmm strict, lazy, --no-iommu
#                        against QEMU strict, lazy (vhost off), one test-host
#                        boot (BENCH_NET_FLAGS: tests/bench/net.sh -n RUNS
#                        -m MIB --raw FILE; default 3 rounds of 16 MiB)
#   make bench-nvme      NVMe MiB/s, IOPS, VMM CPU time, VM exits and IOMMU
#                        requests per GiB: vmm strict, lazy, --no-iommu against
#                        QEMU's -device nvme strict, lazy, without IOMMU, one
#                        test-host boot, ~12 min (BENCH_NVME_FLAGS:
#                        tests/bench/nvme.sh -n RUNS -s SECS -m MIB --out FILE
#                        -c CONFIGS -p PHASES -b OTHER-VMM); exits by reason
#   make bench-viommu    host cost of MAP/UNMAP and translation
#                        (BENCH_ITERS=N operations per measurement)
#   make bench-swiotlb   the bounce engine against memcpy
#                        (SWIOTLB_BENCH_ITERS=N transfers at 4 KiB)
EXTRA_DIST += tests/bench/boot.sh tests/bench/iommu.sh tests/bench/net.sh \
	tests/bench/nvme.sh tests/bench/blk-lib.sh

bench-boot: all $(GUEST_STAMP)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	VMM='$(abs_top_builddir)/vmm/vmm' QEMU_SYSTEM_X86_64='$(QEMU_SYSTEM_X86_64)' \
	BUSYBOX='$(BUSYBOX)' \
	$(SHELL) $(srcdir)/tests/bench/boot.sh

bench-iommu: all $(GUEST_STAMP)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	VMM='$(abs_top_builddir)/vmm/vmm' QEMU_SYSTEM_X86_64='$(QEMU_SYSTEM_X86_64)' \
	TESTHOST_L1_CPUS=$${TESTHOST_L1_CPUS:-2} \
	$(SHELL) $(srcdir)/tests/bench/iommu.sh $(BENCH_IOMMU_FLAGS)

bench-net: all $(GUEST_STAMP)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	VMM='$(abs_top_builddir)/vmm/vmm' QEMU_SYSTEM_X86_64='$(QEMU_SYSTEM_X86_64)' \
	VMM_GUEST_CACHE='$(GUEST_CACHE)' \
	TESTHOST_L1_CPUS=$${TESTHOST_L1_CPUS:-2} \
	$(SHELL) $(srcdir)/tests/bench/net.sh $(BENCH_NET_FLAGS)

bench-nvme: all $(GUEST_STAMP)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	VMM='$(abs_top_builddir)/vmm/vmm' QEMU_SYSTEM_X86_64='$(QEMU_SYSTEM_X86_64)' \
	VMM_GUEST_CACHE='$(GUEST_CACHE)' \
	TESTHOST_L1_CPUS=$${TESTHOST_L1_CPUS:-2} \
	$(SHELL) $(srcdir)/tests/bench/nvme.sh $(BENCH_NVME_FLAGS)

EXTRA_PROGRAMS += tests/bench/viommu tests/bench/swiotlb
tests_bench_viommu_SOURCES = tests/bench/viommu.c
tests_bench_viommu_LDADD = viommu/libviommu.a
tests_bench_swiotlb_SOURCES = tests/bench/swiotlb.c
tests_bench_swiotlb_LDADD = swiotlb/libswiotlb.a

BENCH_ITERS = 1000000
bench-viommu: tests/bench/viommu$(EXEEXT)
	tests/bench/viommu$(EXEEXT) $(BENCH_ITERS)

bench-swiotlb: tests/bench/swiotlb$(EXEEXT)
	tests/bench/swiotlb$(EXEEXT) $(SWIOTLB_BENCH_ITERS)

bench: bench-boot bench-viommu bench-swiotlb
.PHONY: bench bench-boot bench-iommu bench-net bench-nvme bench-viommu bench-swiotlb
