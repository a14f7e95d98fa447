/* SPDX-License-Identifier: MIT */
#ifndef TESTS_FUZZ_FUZZ_OPS_H
#define TESTS_FUZZ_FUZZ_OPS_H

/*
 * Operations the device-side targets share, with the same numbers in each
 * target's input (its own operations follow): fuzz_iommu_op() and
 * fuzz_ring_op() in tests/fuzz/fuzz.h read their arguments, seeds.h writes
 * them.
 */
enum fuzz_op {
	FUZZ_OP_MAP,      /* guest requests to the IOMMU */
	FUZZ_OP_UNMAP,
	FUZZ_OP_ATTACH,   /* ATTACH or DETACH */
	FUZZ_OP_DESC,     /* the driver writes a descriptor, */
	FUZZ_OP_AVAIL,    /* the available ring, */
	FUZZ_OP_POKE,     /* anything */
	FUZZ_NR_SHARED_OPS
};

#endif
