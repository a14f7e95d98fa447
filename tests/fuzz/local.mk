# SPDX-License-Identifier: MIT
# libFuzzer targets (ASan + UBSan), their seed corpora and generators, and
# the bounded runs make check does (docs/fuzzing.md).  Included from
# tests/local.mk.
#
#   make fuzz                  every target for FUZZ_TIME seconds each
#   make fuzz-<target>         one of them (fuzz-viommu: the request decoder)
#   make fuzz-seeds            write the committed seed corpora again
#   make check                 each target for a fixed number of executions
#                              from its corpus (tests/fuzz/<target>.sh)
#
# The library sources are compiled once more with clang, instrumented for
# libFuzzer, into tests/fuzz/libfuzz.a (the libraries' own objects are
# built with $(CC), without coverage); each target links against it.
# Seeds: tests/fuzz/corpus/<target>/ (committed, read-only to the runs);
# inputs found by make fuzz go to tests/fuzz/<target>-corpus/, crashes to
# tests/fuzz/<target>-crash-*; reproducers of bugs not fixed yet go to
# tests/fuzz/regress/<target>/, which the runs replay too.
FUZZ_CC = $(CLANG)
FUZZ_TIME = 60
FUZZ_SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_COMPILE = $(FUZZ_CC) -g -O1 -std=gnu11 -D_GNU_SOURCE -I$(top_srcdir) -I$(top_builddir) $(LIBXML2_CFLAGS)

FUZZ_LIB_SRCS = $(vmm_libvmmcore_a_SOURCES) $(viommu_libviommu_a_SOURCES) \
	$(swiotlb_libswiotlb_a_SOURCES) tests/fuzz/fuzz.c tests/fuzz/fuzz.h tests/fuzz/fuzz-ops.h \
	tests/unit/viommu-util.h
tests/fuzz/libfuzz.a: $(FUZZ_LIB_SRCS:%=$(srcdir)/%) vmm/dsdt.hex
	$(AM_V_GEN)rm -rf tests/fuzz/obj && $(MKDIR_P) tests/fuzz/obj && \
	for src in $(filter %.c,$(FUZZ_LIB_SRCS)); do \
		$(FUZZ_COMPILE) -fsanitize=fuzzer-no-link $(FUZZ_SANITIZE) \
			-c $(srcdir)/$$src -o tests/fuzz/obj/`echo $$src | tr / -`.o || exit 1; \
	done && rm -f $@ && $(AR) rcs $@ tests/fuzz/obj/*.o
CLEANFILES += tests/fuzz/libfuzz.a
clean-local: clean-fuzz-obj
clean-fuzz-obj:
	rm -rf tests/fuzz/obj

# A target (tests/fuzz/<target>-fuzz): its harness, linked with libFuzzer's
# main; its seed generator (tests/fuzz/<target>-seeds, plain $(CC)); its
# make check run (tests/fuzz/<target>.sh); make fuzz-<target>.
FUZZ_TARGETS =
# Listed one by one, not as $(FUZZ_TARGETS:%=tests/fuzz/%.sh): automake
# rewrites a substitution reference in TESTS to the bare target names.
FUZZ_SMOKE_TESTS =
FUZZ_HDRS = tests/fuzz/fuzz.h tests/fuzz/fuzz-ops.h
FUZZ_LINK = $(AM_V_CCLD)$(FUZZ_COMPILE) $(WARN_CFLAGS) -fsanitize=fuzzer $(FUZZ_SANITIZE) \
	$< tests/fuzz/libfuzz.a -o $@ -lpthread
FUZZ_SEEDS_COMMON = tests/fuzz/seeds.c tests/fuzz/seeds.h tests/fuzz/fuzz-ops.h
FUZZ_RUN = $(SHELL) $(srcdir)/tests/fuzz/run.sh $(srcdir) $(FUZZ_TIME)
EXTRA_DIST += tests/fuzz/fuzz.c $(FUZZ_HDRS) tests/fuzz/corpus tests/fuzz/run.sh \
	tests/fuzz/smoke.sh

# The virtio-iommu request decoder (docs/viommu.md, "Fuzzing").
FUZZ_TARGETS += viommu-requests
FUZZ_SMOKE_TESTS += tests/fuzz/viommu-requests.sh
tests/fuzz/viommu-requests-fuzz: tests/fuzz/viommu-requests.c tests/fuzz/libfuzz.a
	$(FUZZ_LINK)
EXTRA_PROGRAMS += tests/fuzz/viommu-requests-seeds
tests_fuzz_viommu_requests_seeds_SOURCES = tests/fuzz/viommu-requests-seeds.c $(FUZZ_SEEDS_COMMON)
EXTRA_DIST += tests/fuzz/viommu-requests.c
fuzz-viommu-requests: tests/fuzz/viommu-requests-fuzz
	$(FUZZ_RUN) viommu-requests
fuzz-viommu: fuzz-viommu-requests

# The virtqueue walker.
FUZZ_TARGETS += virtqueue
FUZZ_SMOKE_TESTS += tests/fuzz/virtqueue.sh
tests/fuzz/virtqueue-fuzz: tests/fuzz/virtqueue.c tests/fuzz/virtqueue-format.h $(FUZZ_HDRS) \
		tests/fuzz/libfuzz.a
	$(FUZZ_LINK)
EXTRA_PROGRAMS += tests/fuzz/virtqueue-seeds
tests_fuzz_virtqueue_seeds_SOURCES = tests/fuzz/virtqueue-seeds.c tests/fuzz/virtqueue-format.h \
	$(FUZZ_SEEDS_COMMON)
EXTRA_DIST += tests/fuzz/virtqueue.c tests/fuzz/virtqueue-format.h
fuzz-virtqueue: tests/fuzz/virtqueue-fuzz
	$(FUZZ_RUN) virtqueue

# The virtio-pci transport, a virtio-rng behind it.
FUZZ_TARGETS += virtio-pci
FUZZ_SMOKE_TESTS += tests/fuzz/virtio-pci.sh
tests/fuzz/virtio-pci-fuzz: tests/fuzz/virtio-pci.c tests/fuzz/virtio-pci-format.h $(FUZZ_HDRS) \
		tests/fuzz/libfuzz.a
	$(FUZZ_LINK)
EXTRA_PROGRAMS += tests/fuzz/virtio-pci-seeds
tests_fuzz_virtio_pci_seeds_SOURCES = tests/fuzz/virtio-pci-seeds.c tests/fuzz/virtio-pci-format.h \
	$(FUZZ_SEEDS_COMMON)
EXTRA_DIST += tests/fuzz/virtio-pci.c tests/fuzz/virtio-pci-format.h
fuzz-virtio-pci: tests/fuzz/virtio-pci-fuzz
	$(FUZZ_RUN) virtio-pci

# PCI configuration space, ECAM and 0xcf8/0xcfc, on vmm's machines.
FUZZ_TARGETS += pci-config
FUZZ_SMOKE_TESTS += tests/fuzz/pci-config.sh
tests/fuzz/pci-config-fuzz: tests/fuzz/pci-config.c tests/fuzz/pci-config-format.h $(FUZZ_HDRS) \
		tests/fuzz/libfuzz.a
	$(FUZZ_LINK)
EXTRA_PROGRAMS += tests/fuzz/pci-config-seeds
tests_fuzz_pci_config_seeds_SOURCES = tests/fuzz/pci-config-seeds.c tests/fuzz/pci-config-format.h \
	$(FUZZ_SEEDS_COMMON)
EXTRA_DIST += tests/fuzz/pci-config.c tests/fuzz/pci-config-format.h
fuzz-pci-config: tests/fuzz/pci-config-fuzz
	$(FUZZ_RUN) pci-config

# The dmatest device, its worker thread and commands.
FUZZ_TARGETS += dmatest
FUZZ_SMOKE_TESTS += tests/fuzz/dmatest.sh
tests/fuzz/dmatest-fuzz: tests/fuzz/dmatest.c tests/fuzz/dmatest-format.h $(FUZZ_HDRS) \
		tests/fuzz/libfuzz.a
	$(FUZZ_LINK)
EXTRA_PROGRAMS += tests/fuzz/dmatest-seeds
tests_fuzz_dmatest_seeds_SOURCES = tests/fuzz/dmatest-seeds.c tests/fuzz/dmatest-format.h \
	$(FUZZ_SEEDS_COMMON)
EXTRA_DIST += tests/fuzz/dmatest.c tests/fuzz/dmatest-format.h
fuzz-dmatest: tests/fuzz/dmatest-fuzz
	$(FUZZ_RUN) dmatest

# The virtio-net device: TX, RX and control chains on a fake TAP.
FUZZ_TARGETS += virtio-net
FUZZ_SMOKE_TESTS += tests/fuzz/virtio-net.sh
tests/fuzz/virtio-net-fuzz: tests/fuzz/virtio-net.c tests/fuzz/virtio-net-format.h $(FUZZ_HDRS) \
		tests/fuzz/libfuzz.a
	$(FUZZ_LINK)
EXTRA_PROGRAMS += tests/fuzz/virtio-net-seeds
tests_fuzz_virtio_net_seeds_SOURCES = tests/fuzz/virtio-net-seeds.c tests/fuzz/virtio-net-format.h \
	$(FUZZ_SEEDS_COMMON)
EXTRA_DIST += tests/fuzz/virtio-net.c tests/fuzz/virtio-net-format.h
fuzz-virtio-net: tests/fuzz/virtio-net-fuzz
	$(FUZZ_RUN) virtio-net

# The virtio-blk device: its requests on an in-memory disk.
FUZZ_TARGETS += virtio-blk
FUZZ_SMOKE_TESTS += tests/fuzz/virtio-blk.sh
tests/fuzz/virtio-blk-fuzz: tests/fuzz/virtio-blk.c tests/fuzz/virtio-blk-format.h $(FUZZ_HDRS) \
		tests/fuzz/libfuzz.a
	$(FUZZ_LINK)
EXTRA_PROGRAMS += tests/fuzz/virtio-blk-seeds
tests_fuzz_virtio_blk_seeds_SOURCES = tests/fuzz/virtio-blk-seeds.c tests/fuzz/virtio-blk-format.h \
	$(FUZZ_SEEDS_COMMON)
EXTRA_DIST += tests/fuzz/virtio-blk.c tests/fuzz/virtio-blk-format.h
fuzz-virtio-blk: tests/fuzz/virtio-blk-fuzz
	$(FUZZ_RUN) virtio-blk

# The NVMe controller: registers, queues, commands, PRP/SGL decoding, on
# an in-memory disk.
FUZZ_TARGETS += nvme
FUZZ_SMOKE_TESTS += tests/fuzz/nvme.sh
tests/fuzz/nvme-fuzz: tests/fuzz/nvme.c tests/fuzz/nvme-format.h $(FUZZ_HDRS) tests/fuzz/libfuzz.a
	$(FUZZ_LINK)
EXTRA_PROGRAMS += tests/fuzz/nvme-seeds
tests_fuzz_nvme_seeds_SOURCES = tests/fuzz/nvme-seeds.c tests/fuzz/nvme-format.h vmm/nvme_spec.h \
	$(FUZZ_SEEDS_COMMON)
EXTRA_DIST += tests/fuzz/nvme.c tests/fuzz/nvme-format.h
fuzz-nvme: tests/fuzz/nvme-fuzz
	$(FUZZ_RUN) nvme

# All of them.
FUZZ_SEED_GENERATORS = $(FUZZ_TARGETS:%=tests/fuzz/%-seeds$(EXEEXT))
CLEANFILES += $(FUZZ_TARGETS:%=tests/fuzz/%-fuzz)
fuzz: $(FUZZ_TARGETS:%=fuzz-%)
fuzz-seeds: $(FUZZ_SEED_GENERATORS)
	for t in $(FUZZ_TARGETS); do \
		rm -rf $(srcdir)/tests/fuzz/corpus/$$t && $(MKDIR_P) $(srcdir)/tests/fuzz/corpus/$$t && \
		tests/fuzz/$$t-seeds$(EXEEXT) $(srcdir)/tests/fuzz/corpus/$$t || exit 1; \
	done

# make check: each target for a fixed number of executions (its script
# says how many), and its corpus checked against its generator.
EXTRA_DIST += $(FUZZ_SMOKE_TESTS)
if HAVE_LIBFUZZER
check_DATA += $(FUZZ_TARGETS:%=tests/fuzz/%-fuzz) $(FUZZ_SEED_GENERATORS)
endif

.PHONY: fuzz fuzz-viommu fuzz-seeds clean-fuzz-obj $(FUZZ_TARGETS:%=fuzz-%)
