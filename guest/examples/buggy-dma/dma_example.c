// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * A small PCI driver with one deliberate DMA-API bug, for the "check my
 * driver" tutorial (docs/check-my-driver.md): it binds vmm's DMA test
 * device (vmm run --dmatest; guest/dmatest/dmatest_hw.h), maps a 4 KiB
 * buffer for the device and asks the device to fill it with a byte
 * pattern -- that is, the device WRITES the buffer.
 *
 * buggy_dma.ko maps the buffer DMA_TO_DEVICE (the device may only read
 * it), the classic wrong-direction bug.  On bare metal without an IOMMU
 * this "works"; under vmm the virtio-iommu mapping is read-only for the
 * device, so the host refuses the write and reports a "permission"
 * violation with the mapping, its neighbours and the driver's history.
 * fixed_dma.ko is the same source with the one-line fix: DMA_FROM_DEVICE.
 *
 * What the driver saw is in the kernel log ("dmesg | grep dma_example").
 * This file is compiled twice (buggy_dma.c, fixed_dma.c).
 */
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "dmatest_hw.h"

#define BUF_SIZE     4096
#define FILL_PATTERN 0x5a

#ifdef DMA_EXAMPLE_FIXED
#define BUF_DIR DMA_FROM_DEVICE	/* the device writes the buffer: right */
#else
#define BUF_DIR DMA_TO_DEVICE	/* BUG: the device writes this buffer */
#endif

static int dma_example_fill(struct pci_dev *pdev, void __iomem *regs)
{
	unsigned long end = jiffies + msecs_to_jiffies(5000);
	dma_addr_t addr;
	u8 *buf;
	u32 st, err;
	int ret = 0;

	buf = kzalloc(BUF_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	addr = dma_map_single(&pdev->dev, buf, BUF_SIZE, BUF_DIR);
	if (dma_mapping_error(&pdev->dev, addr)) {
		kfree(buf);
		return -EIO;
	}

	/* FILL: the device writes BUF_SIZE bytes of the pattern at DST. */
	iowrite32(DMATEST_CMD_FILL, regs + DMATEST_CMD);
	iowrite32(FILL_PATTERN, regs + DMATEST_PATTERN);
	iowrite32(lower_32_bits(addr), regs + DMATEST_DST);
	iowrite32(upper_32_bits(addr), regs + DMATEST_DST + 4);
	iowrite32(BUF_SIZE, regs + DMATEST_LEN);
	iowrite32(1, regs + DMATEST_DOORBELL);
	do {
		st = ioread32(regs + DMATEST_STATUS);
		if ((st & DMATEST_STATUS_DONE) && !(st & DMATEST_STATUS_BUSY))
			break;
		usleep_range(50, 100);
	} while (time_before(jiffies, end));

	dma_unmap_single(&pdev->dev, addr, BUF_SIZE, BUF_DIR);
	err = ioread32(regs + DMATEST_ERROR);
	if (!(st & DMATEST_STATUS_DONE) || (st & DMATEST_STATUS_BUSY)) {
		dev_err(&pdev->dev, "dma_example: the device did not finish the fill\n");
		ret = -ETIMEDOUT;
	} else if (st & DMATEST_STATUS_ERROR) {
		dev_err(&pdev->dev, "dma_example: fill of %d bytes at IOVA %pad (%s) failed: device error %u\n",
			BUF_SIZE, &addr, BUF_DIR == DMA_TO_DEVICE ? "DMA_TO_DEVICE" : "DMA_FROM_DEVICE", err);
		ret = -EIO;
	} else if (buf[0] != FILL_PATTERN || buf[BUF_SIZE - 1] != FILL_PATTERN) {
		dev_err(&pdev->dev, "dma_example: fill done but the buffer holds %#x\n", buf[0]);
		ret = -EIO;
	} else {
		dev_info(&pdev->dev, "dma_example: the device filled %d bytes at IOVA %pad with %#x\n",
			 BUF_SIZE, &addr, FILL_PATTERN);
	}
	kfree(buf);
	return ret;
}

static int dma_example_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	void __iomem *regs;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_iomap_regions(pdev, BIT(0), KBUILD_MODNAME);
	if (ret)
		return ret;
	regs = pcim_iomap_table(pdev)[0];
	if (ioread32(regs + DMATEST_ID) != DMATEST_MAGIC)
		return -ENODEV;
	ret = dma_set_mask(&pdev->dev, DMA_BIT_MASK(ioread32(regs + DMATEST_WIDTH)));
	if (ret)
		return ret;
	pci_set_master(pdev);
	/* The result stays in the log; the driver binds either way so that
	 * the guest's command can look at it. */
	dma_example_fill(pdev, regs);
	return 0;
}

static const struct pci_device_id dma_example_ids[] = {
	{ PCI_DEVICE(DMATEST_VENDOR_ID, DMATEST_DEVICE_ID) },
	{ 0 }
};
MODULE_DEVICE_TABLE(pci, dma_example_ids);

static struct pci_driver dma_example_driver = {
	.name = KBUILD_MODNAME,
	.id_table = dma_example_ids,
	.probe = dma_example_probe,
};
module_pci_driver(dma_example_driver);

MODULE_DESCRIPTION("DMA direction example for vmm's check-my-driver tutorial");
MODULE_LICENSE("Dual MIT/GPL");
