/* SPDX-License-Identifier: MIT */
#ifndef VMM_SERIAL_H
#define VMM_SERIAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * A 16550A UART (the 8250 family Linux's console=ttyS0 drives): divisor
 * latch, FIFOs, the four interrupt sources in priority order, loopback.
 * Transmit is instantaneous (to out_fd), so THR is always empty again right
 * after a write.  Input arrives through serial_receive() from the console
 * thread.  KVM-free: the interrupt line is a callback.
 */
#define SERIAL_RX_FIFO 4096

struct serial {
	pthread_mutex_t lock;
	uint8_t ier, iir_pending_thre, lcr, mcr, lsr_extra, msr, scr, dll, dlm, fcr;
	uint8_t rx[SERIAL_RX_FIFO];
	unsigned int rx_head, rx_count;
	bool irq_level;
	int out_fd;
	void (*set_irq)(void *opaque, bool level);
	void *irq_opaque;
	uint64_t tx_bytes;
	uint8_t last_tx;        /* the last byte sent to out_fd */
};

void serial_init(struct serial *s, int out_fd,
		 void (*set_irq)(void *opaque, bool level), void *opaque);
/* When the VM has stopped: if the guest's last console line is unfinished,
 * end it with a newline (not counted in tx_bytes), so that what is written
 * after vmm — a shell prompt, a test's marker line — starts a line of its
 * own.  Caller: the main thread, after every vCPU has stopped. */
void serial_end_line(struct serial *s);
/* Register access at offset 0-7 from the base port. */
uint8_t serial_read(struct serial *s, unsigned int offset);
void serial_write(struct serial *s, unsigned int offset, uint8_t val);
/* Queue host input; returns how many bytes were taken (FIFO may be full). */
size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len);
size_t serial_rx_space(struct serial *s);

/* Register offsets and bits (names as in the 16550 data sheet). */
#define UART_RBR 0
#define UART_THR 0
#define UART_IER 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI  0x01
#define UART_IER_THRI 0x02
#define UART_IER_RLSI 0x04
#define UART_IER_MSI  0x08

#define UART_IIR_NO_INT 0x01
#define UART_IIR_MSI    0x00
#define UART_IIR_THRI   0x02
#define UART_IIR_RDI    0x04
#define UART_IIR_FIFO   0xc0

#define UART_FCR_ENABLE_FIFO 0x01
#define UART_FCR_CLEAR_RCVR  0x02
#define UART_FCR_CLEAR_XMIT  0x04

#define UART_LCR_DLAB 0x80
#define UART_MCR_DTR  0x01
#define UART_MCR_RTS  0x02
#define UART_MCR_OUT1 0x04
#define UART_MCR_OUT2 0x08
#define UART_MCR_LOOP 0x10

#define UART_LSR_DR   0x01
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

#define UART_MSR_CTS  0x10
#define UART_MSR_DSR  0x20
#define UART_MSR_RI   0x40
#define UART_MSR_DCD  0x80

#endif
