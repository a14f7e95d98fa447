# SPDX-License-Identifier: MIT
# The virtio-iommu device model: a library with no KVM dependency
# (docs/viommu.md; viommu/internal.h says which file does what).  Its
# tests, fuzz target and benchmark live in tests/.
noinst_LIBRARIES += viommu/libviommu.a
viommu_libviommu_a_SOURCES = \
	viommu/viommu.h viommu/report.h viommu/internal.h \
	viommu/device.c viommu/requests.c viommu/domain.c viommu/translate.c \
	viommu/violations.c viommu/format.c \
	viommu/mapping.c viommu/mapping.h
