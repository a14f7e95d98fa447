# SPDX-License-Identifier: MIT
# Default guest image (Debian 6.12 cloud kernel + busybox initramfs) and guest programs.
#
#   make guest      builds guest/out/{bzImage,initramfs.cpio,modules/,kernel-release}
#                   (make check builds it first: it is in check_DATA)
# The kernel is downloaded once with apt-get into $(GUEST_CACHE) (configure
# --with-guest-cache=DIR; default guest/cache in the build tree).  Override
# with GUEST_KERNEL_DEB=FILE.deb, or GUEST_BZIMAGE=FILE plus
# GUEST_MODULES_DIR=lib/modules/RELEASE, in the environment or on the make
# command line; GUEST_EXTRA_MODULES="a.ko b.ko" adds out-of-tree modules.
# Our own out-of-tree module, guest/dmatest (the driver of vmm's DMA test
# device), is built against that kernel's headers (mkguest.sh
# --prepare-kbuild fetches them into the cache; GUEST_KDIR=DIR overrides)
# and always goes into the image.
# See docs/guest-and-testhost.md.

# Guest programs: static x86-64 binaries that run inside the guest.
noinst_PROGRAMS += guest/vmm-guest
guest_vmm_guest_SOURCES = \
	guest/vmm-guest.c \
	guest/ethtool.c guest/ethtool.h \
	guest/gtap.c guest/gtap.h guest/layer_status.h \
	guest/suites.h \
	guest/suite-boot.c
guest_vmm_guest_LDFLAGS = -static

# Not part of the guest image: a helper that tests/testhost runs in its L1
# (keeps one KVM VM open; see guest/kvm-hold.c).
noinst_PROGRAMS += guest/kvm-hold
guest_kvm_hold_SOURCES = guest/kvm-hold.c
guest_kvm_hold_LDFLAGS = -static

# The block benchmarks' guest end (guest/suites/bench).
noinst_PROGRAMS += guest/blkbench
guest_blkbench_SOURCES = guest/blkbench.c
guest_blkbench_LDFLAGS = -static -pthread

GUEST_BINARIES = guest/vmm-guest$(EXEEXT) guest/blkbench$(EXEEXT)
GUEST_IMAGE_INPUTS = \
	guest/mkguest.sh \
	guest/init.sh \
	guest/modules.list
EXTRA_DIST += $(GUEST_IMAGE_INPUTS)

GUEST_STAMP = guest/out/.stamp
check_DATA += $(GUEST_STAMP)

# make distcheck: reuse this tree's download cache (no second download).
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-guest-cache="`test -n '$(GUEST_CACHE)' && echo '$(GUEST_CACHE)' || echo '$(abs_top_builddir)/guest/cache'`"

# Shell suites (busybox sh), run by /init like the built-in ones.
GUEST_SHELL_SUITES = guest/suites/iommu guest/suites/blk guest/suites/dmatest \
	guest/suites/untrusted guest/suites/net guest/suites/nvme \
	guest/suites/bench
EXTRA_DIST += guest/suites/tap.sh $(GUEST_SHELL_SUITES)

# Out-of-tree kernel modules for the guest: first the guest kernel and a
# build tree (headers) for exactly that kernel (guest/out/kbuild names it),
# then kbuild on a copy of the sources in the build tree (VPATH builds).
# Built without BTF (only BPF would use it; it would need pahole) and with
# the build directory mapped out of the debug info, then stripped of that:
# the .ko is the same from any build tree (a reproducible image) and small.
GUEST_KBUILD_STAMP = guest/out/.kbuild-stamp
GUEST_DMATEST_FILES = guest/dmatest/dmatest.c guest/dmatest/dmatest_hw.h guest/dmatest/Kbuild
GUEST_DMATEST_KO = guest/out/kmod/dmatest.ko
EXTRA_DIST += $(GUEST_DMATEST_FILES) guest/kbuild-module.sh

$(GUEST_KBUILD_STAMP): $(srcdir)/guest/mkguest.sh
	$(AM_V_GEN)cache='$(GUEST_CACHE)'; \
	test -n "$$cache" || cache='$(abs_builddir)/guest/cache'; \
	$(SHELL) $(srcdir)/guest/mkguest.sh --prepare-kbuild \
	  --out guest/out --cache "$$cache" $(GUEST_MKGUEST_FLAGS) && \
	touch $@

$(GUEST_DMATEST_KO): $(GUEST_DMATEST_FILES:%=$(srcdir)/%) $(GUEST_KBUILD_STAMP) \
		$(srcdir)/guest/kbuild-module.sh
	$(AM_V_GEN)rm -f $@ && \
	MAKE='$(MAKE)' $(SHELL) $(srcdir)/guest/kbuild-module.sh guest/out/kmod/dmatest guest/dmatest \
	  $(GUEST_DMATEST_FILES:%=$(srcdir)/%) && \
	objcopy --strip-debug guest/out/kmod/dmatest/dmatest.ko $@

# make guest-kbuild: the guest kernel's build tree (headers and kbuild for
# exactly the default guest's kernel) for your own out-of-tree modules;
# guest/out/kbuild holds its path (docs/check-my-driver.md).
guest-kbuild: $(GUEST_KBUILD_STAMP)
	@kdir=`cat guest/out/kbuild` && \
	echo "guest kernel `cat guest/out/kernel-release`: build tree $$kdir" && \
	echo "build a module: make -C \"\`cat $(abs_builddir)/guest/out/kbuild\`\" M=\"\$$PWD\" CONFIG_DEBUG_INFO_BTF_MODULES= modules"
.PHONY: guest-kbuild

# The tutorial's example driver (guest/examples/buggy-dma: one source,
# built as buggy_dma.ko and fixed_dma.ko), for the "check my driver" test
# (tests/integration/guest-module.sh).  Built like dmatest.ko, with the
# device's register header next to it.
GUEST_EXAMPLE_FILES = guest/examples/buggy-dma/Kbuild guest/examples/buggy-dma/dma_example.c \
	guest/examples/buggy-dma/buggy_dma.c guest/examples/buggy-dma/fixed_dma.c
GUEST_EXAMPLE_STAMP = guest/out/kmod/buggy-dma/.stamp
EXTRA_DIST += $(GUEST_EXAMPLE_FILES)
check_DATA += $(GUEST_EXAMPLE_STAMP)

$(GUEST_EXAMPLE_STAMP): $(GUEST_EXAMPLE_FILES:%=$(srcdir)/%) $(srcdir)/guest/dmatest/dmatest_hw.h \
		$(GUEST_KBUILD_STAMP) $(srcdir)/guest/kbuild-module.sh
	$(AM_V_GEN)MAKE='$(MAKE)' $(SHELL) $(srcdir)/guest/kbuild-module.sh guest/out/kmod/buggy-dma \
	  guest/examples/buggy-dma $(GUEST_EXAMPLE_FILES:%=$(srcdir)/%) $(srcdir)/guest/dmatest/dmatest_hw.h && \
	for ko in buggy_dma fixed_dma; do objcopy --strip-debug guest/out/kmod/buggy-dma/$$ko.ko || exit 1; done && \
	touch $@

$(GUEST_STAMP): $(GUEST_BINARIES) $(GUEST_DMATEST_KO) \
		$(GUEST_SHELL_SUITES:%=$(srcdir)/%) $(srcdir)/guest/suites/tap.sh \
		$(srcdir)/guest/mkguest.sh \
		$(srcdir)/guest/init.sh \
		$(srcdir)/guest/modules.list
	$(AM_V_GEN)cache='$(GUEST_CACHE)'; \
	test -n "$$cache" || cache='$(abs_builddir)/guest/cache'; \
	programs=; for p in $(GUEST_BINARIES); do \
	  programs="$$programs --program $$p"; done; \
	for f in guest/suites/tap.sh $(GUEST_SHELL_SUITES); do \
	  programs="$$programs --file $(srcdir)/$$f:usr/lib/vmm-guest/suites/$${f##*/}"; done; \
	$(SHELL) $(srcdir)/guest/mkguest.sh \
	  --out guest/out \
	  --cache "$$cache" \
	  --busybox '$(BUSYBOX)' \
	  --init $(srcdir)/guest/init.sh \
	  --modules-list $(srcdir)/guest/modules.list \
	  --extra-module $(GUEST_DMATEST_KO) \
	  $$programs \
	  $(GUEST_MKGUEST_FLAGS) && \
	touch $@

guest: $(GUEST_STAMP)
.PHONY: guest

# make install: the default guest in $(pkgdatadir)/guest, where an installed
# vmm looks for it (vmm/local.mk).  Built by "make guest" (it downloads the
# kernel), not by "make install": without it vmm is installed alone, said
# so, and "vmm run" needs --kernel.
GUEST_INSTALL_FILES = bzImage initramfs.cpio kernel-release
guestdir = $(pkgdatadir)/guest
install-data-local: install-guest
install-guest:
	@if test -f $(GUEST_STAMP); then \
	  echo " $(MKDIR_P) '$(DESTDIR)$(guestdir)'"; \
	  $(MKDIR_P) '$(DESTDIR)$(guestdir)' || exit 1; \
	  for f in $(GUEST_INSTALL_FILES); do \
	    echo " $(INSTALL_DATA) guest/out/$$f '$(DESTDIR)$(guestdir)'"; \
	    $(INSTALL_DATA) guest/out/$$f '$(DESTDIR)$(guestdir)' || exit 1; \
	  done; \
	else \
	  echo "guest/local.mk: warning: the default guest is not built ('make guest'):" \
	    "not installed in $(guestdir); the installed 'vmm run' then needs --kernel" >&2; \
	fi
uninstall-local: uninstall-guest
uninstall-guest:
	for f in $(GUEST_INSTALL_FILES); do rm -f '$(DESTDIR)$(guestdir)'/$$f; done
	-rmdir '$(DESTDIR)$(guestdir)'
.PHONY: install-guest uninstall-guest

# Rebuild the image even though no input changed (e.g. after setting
# GUEST_KERNEL_DEB), or fetch the newest kernel (GUEST_REFRESH=1).
guest-rebuild:
	rm -f $(GUEST_STAMP) $(GUEST_KBUILD_STAMP)
	$(MAKE) $(AM_MAKEFLAGS) guest
.PHONY: guest-rebuild

clean-local: clean-guest
clean-guest:
	-rm -rf guest/out
.PHONY: clean-guest

# The download cache survives "make clean"; "make distclean" removes it
# when it is the default one inside the build tree.
distclean-local: distclean-guest
distclean-guest:
	-test -n '$(GUEST_CACHE)' || rm -rf guest/cache
.PHONY: distclean-guest
