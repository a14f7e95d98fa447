// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The example fixed: the buffer the device writes is mapped DMA_FROM_DEVICE. */
#define DMA_EXAMPLE_FIXED
#include "dma_example.c"
