// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The example with its bug: the buffer the device writes is mapped DMA_TO_DEVICE. */
#include "dma_example.c"
