# SPDX-License-Identifier: MIT
# The host bounce engine (swiotlb/, docs/swiotlb.md): a library with no KVM
# dependency, its unit tests and its benchmark.
#
#   make check           runs tests/swiotlb-t
#   make bench-swiotlb   bounce engine against memcpy (also run by make bench)
#                        SWIOTLB_BENCH_ITERS=N: transfers per measurement at 4 KiB
noinst_LIBRARIES += swiotlb/libswiotlb.a
swiotlb_libswiotlb_a_SOURCES = swiotlb/swiotlb.c swiotlb/swiotlb.h

check_PROGRAMS += tests/swiotlb-t
TESTS += tests/swiotlb-t
tests_swiotlb_t_SOURCES = tests/swiotlb-t.c
tests_swiotlb_t_LDADD = swiotlb/libswiotlb.a tests/tap/libtap.a

# Built only on demand.  EXTRA_PROGRAMS is first set (=) in tests/viommu.mk,
# which is why Makefile.am includes this fragment after tests/local.mk.
EXTRA_PROGRAMS += swiotlb/bench
swiotlb_bench_SOURCES = swiotlb/bench.c
swiotlb_bench_LDADD = swiotlb/libswiotlb.a
CLEANFILES += swiotlb/bench$(EXEEXT)

# SWIOTLB_BENCH_ITERS, from the make command line or the environment
bench-swiotlb: swiotlb/bench$(EXEEXT)
	swiotlb/bench$(EXEEXT) $(SWIOTLB_BENCH_ITERS)
bench: bench-swiotlb
.PHONY: bench-swiotlb
