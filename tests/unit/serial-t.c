/* SPDX-License-Identifier: MIT */
/* The 16550A: what Linux's 8250 driver probes and relies on. */
#include "vmm/serial.h"
#include "tests/tap/basic.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static int edges, level;

static void irq(void *opaque, bool l)
{
	if (l && !level)
		edges++;
	level = l;
}

int main(void)
{
	struct serial s;
	int pipefd[2];
	char out[16] = "";
	uint8_t c;

	plan(32);
	if (pipe(pipefd))
		bail("pipe");
	serial_init(&s, pipefd[1], irq, NULL);

	serial_write(&s, UART_SCR, 0xa5);
	is_hex(0xa5, serial_read(&s, UART_SCR), "scratch register holds a value");
	serial_write(&s, UART_IER, 0x0f);
	is_hex(0x0f, serial_read(&s, UART_IER), "IER reads back its four bits");
	serial_write(&s, UART_IER, 0);
	is_hex(0x01, serial_read(&s, UART_IIR), "IIR: no interrupt pending");

	/* Loopback check done by the 8250 autoconfig. */
	serial_write(&s, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
	is_hex(UART_MSR_DCD | UART_MSR_CTS, serial_read(&s, UART_MSR) & 0xf0,
	       "loopback: MSR mirrors MCR (DCD from OUT2, CTS from RTS)");
	serial_write(&s, UART_THR, 'L');
	ok(serial_read(&s, UART_LSR) & UART_LSR_DR, "loopback: transmitted byte is received");
	is_hex('L', serial_read(&s, UART_RBR), "loopback: same byte");
	serial_write(&s, UART_MCR, UART_MCR_OUT2 | UART_MCR_DTR | UART_MCR_RTS);

	/* FIFO: a 16550A answers 0xc0 in IIR's top bits. */
	serial_write(&s, UART_FCR, 0xc7);
	is_hex(0xc0, serial_read(&s, UART_IIR) & 0xc0, "FIFO enabled reads as 16550A");

	/* Divisor latch. */
	serial_write(&s, UART_LCR, UART_LCR_DLAB | 0x03);
	serial_write(&s, UART_RBR, 0x01);
	serial_write(&s, UART_IER, 0x00);
	is_hex(0x01, serial_read(&s, UART_RBR), "DLL behind DLAB");
	is_hex(0x00, serial_read(&s, UART_IER), "DLM behind DLAB");
	serial_write(&s, UART_LCR, 0x03);

	/* Transmit (the IER probe above legitimately raised THRE once). */
	edges = 0;
	ok((serial_read(&s, UART_LSR) & (UART_LSR_THRE | UART_LSR_TEMT)) ==
	   (UART_LSR_THRE | UART_LSR_TEMT), "LSR: transmitter empty");
	serial_write(&s, UART_THR, 'h');
	serial_write(&s, UART_THR, 'i');
	is_int(2, (long long)read(pipefd[0], out, sizeof(out)), "two bytes reached the console");
	ok(!memcmp(out, "hi", 2), "they are 'hi'");
	is_int(0, edges, "no interrupt while IER is 0");

	/* THRE interrupt. */
	serial_write(&s, UART_IER, UART_IER_THRI);
	ok(level && edges == 1, "enabling THRI with THR empty raises the line");
	is_hex(UART_IIR_THRI, serial_read(&s, UART_IIR) & 0x0f, "IIR says THRE");
	is_hex(UART_IIR_NO_INT, serial_read(&s, UART_IIR) & 0x0f, "reading IIR acknowledged THRE");
	ok(!level, "line low again");
	serial_write(&s, UART_THR, 'x');
	ok(level && edges == 2, "a transmitted byte gives a new THRE edge");
	serial_write(&s, UART_THR, 'y');
	is_int(3, edges, "each byte a fresh edge though the line was high");
	serial_write(&s, UART_IER, 0);
	ok(!level, "disabling THRI lowers the line");

	/* Receive. */
	serial_write(&s, UART_IER, UART_IER_RDI);
	is_int(3, (long long)serial_receive(&s, (const uint8_t *)"abc", 3), "three input bytes queued");
	ok(level, "received data raises the line");
	is_hex(UART_IIR_RDI, serial_read(&s, UART_IIR) & 0x0f, "IIR says received data");
	c = serial_read(&s, UART_RBR);
	c = serial_read(&s, UART_RBR);
	c = serial_read(&s, UART_RBR);
	ok(c == 'c' && !(serial_read(&s, UART_LSR) & UART_LSR_DR), "read back in order, then empty");
	ok(!level, "line low once the FIFO is drained");

	/* Overflow: the FIFO takes what fits and never more. */
	{
		static uint8_t big[SERIAL_RX_FIFO + 100];

		is_int(SERIAL_RX_FIFO, (long long)serial_receive(&s, big, sizeof(big)),
		       "input beyond the FIFO is refused, not overrun");
	}
	/* OUT2 gates the interrupt. */
	serial_write(&s, UART_MCR, 0);
	ok(!level, "clearing OUT2 masks the interrupt");

	/* When the VM stops: an unfinished line gets its newline, once. */
	{
		uint64_t sent;

		if (fcntl(pipefd[0], F_SETFL, O_NONBLOCK))
			bail("fcntl");
		while (read(pipefd[0], out, sizeof(out)) > 0)
			;
		sent = s.tx_bytes;
		serial_end_line(&s);
		is_int(1, (long long)read(pipefd[0], out, sizeof(out)), "an unfinished line is ended...");
		is_hex('\n', (uint8_t)out[0], "... with a newline");
		is_int((long long)sent, (long long)s.tx_bytes, "... that the guest did not send");
		serial_end_line(&s);
		is_int(-1, (long long)read(pipefd[0], out, sizeof(out)), "a finished line gets no second one");
		serial_write(&s, UART_THR, '\n');
		(void)read(pipefd[0], out, sizeof(out));
		serial_end_line(&s);
		is_int(-1, (long long)read(pipefd[0], out, sizeof(out)), "nor does a line the guest ended");
	}
	return 0;
}
