/* SPDX-License-Identifier: MIT */
#include "vmm/serial.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

static void set_line(struct serial *s, bool level)
{
	s->irq_level = level;
	if (s->set_irq)
		s->set_irq(s->irq_opaque, level);
}

/* Highest-priority pending interrupt, as IIR reports it. */
static uint8_t pending_iir(const struct serial *s)
{
	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return UART_IIR_RDI;
	if ((s->ier & UART_IER_THRI) && s->iir_pending_thre)
		return UART_IIR_THRI;
	return UART_IIR_NO_INT;
}

/*
 * The ISA IRQ is edge-triggered at the IOAPIC.  A new event while the line
 * is already high must still reach the guest, so it is sent as a fresh
 * low-to-high edge; when nothing is pending the line goes low.
 */
static void update_irq(struct serial *s, bool new_event)
{
	bool pending = pending_iir(s) != UART_IIR_NO_INT;

	/* OUT2 gates the interrupt onto the bus on PC UARTs. */
	if (!(s->mcr & UART_MCR_OUT2))
		pending = false;
	if (pending) {
		if (s->irq_level && new_event)
			set_line(s, false);
		if (!s->irq_level || new_event)
			set_line(s, true);
	} else if (s->irq_level) {
		set_line(s, false);
	}
}

void serial_init(struct serial *s, int out_fd,
		 void (*set_irq)(void *opaque, bool level), void *opaque)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->set_irq = set_irq;
	s->irq_opaque = opaque;
	s->lcr = 0x03;  /* 8N1 */
	s->mcr = UART_MCR_OUT2;
	s->dll = 12;    /* 9600 baud, as after a BIOS */
	s->iir_pending_thre = 0;
}

static void rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_count == SERIAL_RX_FIFO)
		return;  /* overrun: drop, as the hardware would */
	s->rx[(s->rx_head + s->rx_count) % SERIAL_RX_FIFO] = c;
	s->rx_count++;
}

static void write_out(struct serial *s, uint8_t c)
{
	if (s->out_fd < 0)
		return;
	for (;;) {
		ssize_t n = write(s->out_fd, &c, 1);

		if (n == 1 || (n < 0 && errno != EINTR && errno != EAGAIN))
			break;  /* a broken console must not stop the guest */
	}
}

static void transmit(struct serial *s, uint8_t c)
{
	if (s->mcr & UART_MCR_LOOP) {
		rx_push(s, c);
		return;
	}
	s->tx_bytes++;
	s->last_tx = c;
	write_out(s, c);
}

void serial_end_line(struct serial *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->tx_bytes && s->last_tx != '\n') {
		write_out(s, '\n');
		s->last_tx = '\n';
	}
	pthread_mutex_unlock(&s->lock);
}

static uint8_t loopback_msr(uint8_t mcr)
{
	uint8_t msr = 0;

	if (mcr & UART_MCR_RTS)  msr |= UART_MSR_CTS;
	if (mcr & UART_MCR_DTR)  msr |= UART_MSR_DSR;
	if (mcr & UART_MCR_OUT1) msr |= UART_MSR_RI;
	if (mcr & UART_MCR_OUT2) msr |= UART_MSR_DCD;
	return msr;
}

uint8_t serial_read(struct serial *s, unsigned int offset)
{
	uint8_t val = 0xff;

	pthread_mutex_lock(&s->lock);
	switch (offset) {
	case UART_RBR:
		if (s->lcr & UART_LCR_DLAB) {
			val = s->dll;
			break;
		}
		val = 0;
		if (s->rx_count) {
			val = s->rx[s->rx_head];
			s->rx_head = (s->rx_head + 1) % SERIAL_RX_FIFO;
			s->rx_count--;
		}
		update_irq(s, false);
		break;
	case UART_IER:
		val = (s->lcr & UART_LCR_DLAB) ? s->dlm : s->ier;
		break;
	case UART_IIR:
		val = pending_iir(s);
		/* Reading IIR acknowledges a THRE interrupt it reports. */
		if (val == UART_IIR_THRI)
			s->iir_pending_thre = 0;
		if (s->fcr & UART_FCR_ENABLE_FIFO)
			val |= UART_IIR_FIFO;
		update_irq(s, false);
		break;
	case UART_LCR:
		val = s->lcr;
		break;
	case UART_MCR:
		val = s->mcr;
		break;
	case UART_LSR:
		val = UART_LSR_THRE | UART_LSR_TEMT | (s->rx_count ? UART_LSR_DR : 0);
		break;
	case UART_MSR:
		if (s->mcr & UART_MCR_LOOP)
			val = loopback_msr(s->mcr);
		else
			val = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
		break;
	case UART_SCR:
		val = s->scr;
		break;
	}
	pthread_mutex_unlock(&s->lock);
	return val;
}

void serial_write(struct serial *s, unsigned int offset, uint8_t val)
{
	uint8_t old;

	pthread_mutex_lock(&s->lock);
	switch (offset) {
	case UART_THR:
		if (s->lcr & UART_LCR_DLAB) {
			s->dll = val;
			break;
		}
		transmit(s, val);
		/* Sent at once: THR is empty again, a new THRE event. */
		s->iir_pending_thre = 1;
		update_irq(s, true);
		break;
	case UART_IER:
		if (s->lcr & UART_LCR_DLAB) {
			s->dlm = val;
			break;
		}
		old = s->ier;
		s->ier = val & 0x0f;
		/* Enabling THRI while THR is empty raises THRE immediately. */
		if ((s->ier & UART_IER_THRI) && !(old & UART_IER_THRI))
			s->iir_pending_thre = 1;
		update_irq(s, s->ier != old);
		break;
	case UART_FCR:
		s->fcr = val & (UART_FCR_ENABLE_FIFO | 0xc0);
		if (val & UART_FCR_CLEAR_RCVR) {
			s->rx_head = 0;
			s->rx_count = 0;
		}
		update_irq(s, false);
		break;
	case UART_LCR:
		s->lcr = val;
		break;
	case UART_MCR:
		old = s->mcr;
		s->mcr = val & 0x1f;
		update_irq(s, (s->mcr ^ old) & UART_MCR_OUT2);
		break;
	case UART_LSR:
	case UART_MSR:
		break;  /* read-only */
	case UART_SCR:
		s->scr = val;
		break;
	}
	pthread_mutex_unlock(&s->lock);
}

size_t serial_rx_space(struct serial *s)
{
	size_t space;

	pthread_mutex_lock(&s->lock);
	space = SERIAL_RX_FIFO - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return space;
}

size_t serial_receive(struct serial *s, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	/* In loopback the UART is disconnected from the outside. */
	if (s->mcr & UART_MCR_LOOP) {
		n = len;  /* dropped, as on the wire */
	} else {
		while (n < len && s->rx_count < SERIAL_RX_FIFO)
			rx_push(s, buf[n++]);
		if (n)
			update_irq(s, true);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}
