# SPDX-License-Identifier: MIT
# The host bounce engine (swiotlb/, docs/swiotlb.md): a library with no KVM
# dependency.  Its tests and benchmark live in tests/ (tests/unit/swiotlb-t,
# make bench-swiotlb).
noinst_LIBRARIES += swiotlb/libswiotlb.a
swiotlb_libswiotlb_a_SOURCES = swiotlb/swiotlb.c swiotlb/swiotlb.h
