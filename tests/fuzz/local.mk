# SPDX-License-Identifier: MIT
# libFuzzer targets (ASan + UBSan), their seed generators and the bounded
# runs make check does.  Included from tests/local.mk.
#
#   make fuzz-viommu FUZZ_TIME=600   the virtio-iommu request decoder
#   make check                       runs each target for FUZZ_CHECK_TIME s
#
# A target is compiled straight from the library sources with clang (the
# libraries' own objects are built with $(CC) and without coverage
# instrumentation).  New inputs go to tests/fuzz/<target>-corpus/, crashes
# to tests/fuzz/<target>-crash-*.
FUZZ_CC = $(CLANG)
FUZZ_TIME = 60
FUZZ_CHECK_TIME = 30
FUZZ_CFLAGS = -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -D_GNU_SOURCE

# The virtio-iommu request decoder (docs/viommu.md, "Fuzzing").
EXTRA_PROGRAMS += tests/fuzz/viommu-requests-seeds
tests_fuzz_viommu_requests_seeds_SOURCES = tests/fuzz/viommu-requests-seeds.c
tests_fuzz_viommu_requests_seeds_LDADD = viommu/libviommu.a
VIOMMU_FUZZ_SRCS = tests/fuzz/viommu-requests.c $(viommu_libviommu_a_SOURCES)
tests/fuzz/viommu-requests-fuzz: $(VIOMMU_FUZZ_SRCS:%=$(srcdir)/%)
	$(AM_V_CC)$(MKDIR_P) tests/fuzz && $(FUZZ_CC) $(FUZZ_CFLAGS) -I$(top_srcdir) \
		$(filter %.c,$(VIOMMU_FUZZ_SRCS:%=$(srcdir)/%)) -o $@ -lpthread
CLEANFILES += tests/fuzz/viommu-requests-fuzz

fuzz-viommu: tests/fuzz/viommu-requests-fuzz tests/fuzz/viommu-requests-seeds$(EXEEXT)
	rm -rf tests/fuzz/viommu-requests-seeds.d
	$(MKDIR_P) tests/fuzz/viommu-requests-seeds.d tests/fuzz/viommu-requests-corpus
	tests/fuzz/viommu-requests-seeds$(EXEEXT) tests/fuzz/viommu-requests-seeds.d
	tests/fuzz/viommu-requests-fuzz -max_total_time=$(FUZZ_TIME) -max_len=4096 \
		-print_final_stats=1 -artifact_prefix=tests/fuzz/viommu-requests-crash- \
		tests/fuzz/viommu-requests-corpus tests/fuzz/viommu-requests-seeds.d
fuzz: fuzz-viommu

FUZZ_SMOKE_TESTS = tests/fuzz/viommu-requests.sh
TESTS += $(FUZZ_SMOKE_TESTS)
EXTRA_DIST += $(FUZZ_SMOKE_TESTS)
if HAVE_LIBFUZZER
check_DATA += tests/fuzz/viommu-requests-fuzz tests/fuzz/viommu-requests-seeds$(EXEEXT)
endif

.PHONY: fuzz fuzz-viommu
