# SPDX-License-Identifier: MIT
# The virtio-iommu device model: a library with no KVM dependency
# (docs/viommu.md).  Its tests, fuzz target and benchmark live in tests/.
noinst_LIBRARIES += viommu/libviommu.a
viommu_libviommu_a_SOURCES = \
	viommu/viommu.c viommu/viommu.h viommu/format.c \
	viommu/mapping.c viommu/mapping.h
