# SPDX-License-Identifier: MIT
# What make install puts beside the binary (bin_PROGRAMS in vmm/local.mk) and
# the default guest ($(pkgdatadir)/guest, guest/local.mk): the man page, the
# bash completion, the docs with the report's JSON Schema and the example
# libvirt domains.

# vmm(1): written by hand (docs/vmm.1.in); the paths filled in here.
# tests/unit/man.sh keeps it and `vmm --help` in step.
man1_MANS = docs/vmm.1
EXTRA_DIST += docs/vmm.1.in
CLEANFILES += docs/vmm.1
docs/vmm.1: $(srcdir)/docs/vmm.1.in Makefile
	$(AM_V_GEN)$(MKDIR_P) docs && \
	$(SED) -e 's|[@]VERSION[@]|$(VERSION)|g' -e 's|[@]pkgdatadir[@]|$(pkgdatadir)|g' \
	  -e 's|[@]docdir[@]|$(docdir)|g' $(srcdir)/docs/vmm.1.in >$@.tmp && mv $@.tmp $@

# bash completion, named as the command (bash-completion loads it by that
# name): configure --with-bash-completion-dir.
bashcompletiondir = $(BASH_COMPLETION_DIR)
dist_bashcompletion_DATA = docs/bash-completion/vmm

# make distcheck installs below its own prefix, not into the system's
# bash-completion directory.
AM_DISTCHECK_CONFIGURE_FLAGS += --with-bash-completion-dir='$$(datadir)/bash-completion/completions'

dist_doc_DATA = README.md docs/design.md docs/domain-xml.md docs/fuzzing.md docs/check-my-driver.md docs/nvme.md \
	docs/guest-and-testhost.md docs/sanitizer.md docs/swiotlb.md docs/viommu.md \
	docs/report.schema.json
domainsdir = $(docdir)/domains
dist_domains_DATA = docs/domains/default.xml docs/domains/console-stdio.xml \
	docs/domains/disks.xml docs/domains/ignored.xml docs/domains/interface.xml \
	docs/domains/iommu.xml \
	docs/domains/lifecycle.xml docs/domains/memory-units.xml docs/domains/no-iommu.xml \
	docs/domains/os-kernel-only.xml docs/domains/rng.xml docs/domains/serial-file.xml \
	docs/domains/vcpu.xml
