/* SPDX-License-Identifier: MIT */
/*
 * NVMe controller (NVM Express Base Specification 1.4 and its NVM command
 * set): registers, admin and I/O queues, PRP and SGL data pointers, one
 * namespace on a raw image.  See vmm/nvme.h for the threads, docs/nvme.md
 * for what is and is not emulated.
 *
 * Guest input is hostile.  Every queue, list and descriptor is bounded:
 * queue sizes by CAP.MQES, a command's data by MDTS, a PRP walk by the
 * pages the length needs (so a PRP list that chains to itself ends), an
 * SGL walk by NVME_SGL_MAX_SEGMENTS segments and NVME_MAX_PIECES data
 * blocks.  Malformed descriptors get the spec's status and are reported
 * (descriptor_violation); a queue the controller cannot fetch from or post
 * to is a controller fatal status (CSTS.CFS) until the next reset.
 */
#include "vmm/nvme.h"
#include "vmm/log.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/nvme_spec.h"

/* --- limits ------------------------------------------------------------- */

#define NVME_QUEUES        (NVME_MAX_IO_QUEUES + 1)   /* qid 0 is the admin queue */
#define NVME_MQES          1023     /* CAP.MQES: at most 1024 entries a queue (0-based) */
#define NVME_MDTS          8        /* 2^8 pages: 1 MiB a command */
#define NVME_MAX_DATA      ((size_t)NVME_PAGE << NVME_MDTS)
#define NVME_MAX_PIECES    1024     /* SGL data blocks (PRP needs MAX_DATA/PAGE + 1) */
#define NVME_SGL_MAX_SEGMENTS 64
#define NVME_AERL          3        /* 4 Asynchronous Event Requests outstanding (0-based) */
#define NVME_ACL           3
#define NVME_LBA_SHIFT     9
#define NVME_BAR0_SIZE     0x4000
#define NVME_DB_BASE       0x1000
#define NVME_MSIX_TABLE    0x2000
#define NVME_MSIX_PBA      0x3000
#define NVME_VECTORS       NVME_QUEUES
#define NVME_VENDOR_ID     0x1234   /* the project's (as dmatest's): no Linux quirk matches it */
#define NVME_DEVICE_ID     0x4e56

#define MSIX_CTRL_ENABLE  0x8000
#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_ENTRY_MASKED 0x1

_Static_assert(NVME_DB_BASE + 8 * NVME_QUEUES <= NVME_MSIX_TABLE, "doorbells below the MSI-X table");
_Static_assert(16 * NVME_VECTORS <= NVME_MSIX_PBA - NVME_MSIX_TABLE, "MSI-X table fits");

struct nvme_sq {
	bool valid;
	bool deleting;             /* Delete I/O SQ waits for its command under way */
	uint64_t addr;
	uint32_t size, head, tail;
	uint16_t cqid;
};

struct nvme_cq {
	bool valid, ien, phase;
	uint64_t addr;
	uint32_t size, head, tail;
	uint32_t reserved;         /* entries promised to commands under way */
	uint16_t iv;
	unsigned int nsq;          /* SQs that post here */
};

struct msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

/* One contiguous piece of a command's data in IOVA space. */
struct piece {
	uint64_t addr;
	uint32_t len;
};

struct nvme;

/*
 * The server of one submission queue: SQ 0 (admin commands and
 * asynchronous events) or I/O SQ qid, on a thread of its own once
 * nvme_start ran.  Its DMA goes through a port of its own (the IOMMU's
 * rule: a port per thread; an UNMAP waits for every port's window), its
 * scratch is its own.  `running` (under the controller's lock) says it is
 * inside a command or event: reset, shutdown and Delete I/O SQ wait for it
 * to end.
 */
struct nvme_ctx {
	struct nvme *n;
	unsigned int qid;
	pthread_t thread;
	pthread_cond_t wake;       /* a doorbell, an event, CQ room, stop */
	bool running;
	struct nvme_queue_stats st;   /* under the controller's lock */
	struct dma_space dma;
	uint8_t *buf;              /* NVME_MAX_DATA bytes */
	struct piece pieces[NVME_MAX_PIECES];
	uint64_t prp_list[NVME_PAGE / 8];
	uint8_t sgl_seg[NVME_PAGE];
};

struct nvme {
	struct pci_device pci;
	struct pci_bus *bus;
	struct nvme_params p;
	char name[16];
	unsigned int msix_cap;
	uint64_t nlbas;

	/* The controller's lock: registers, queue tables, events, features,
	 * MSI-X, stats.  Held for bookkeeping only, never across DMA or disk
	 * I/O.  cq_post[q] serialises the completions posted to CQ q (SQs
	 * may share a CQ); taken before the controller's lock, never while
	 * holding it (and outside controller_reset's memset, which the
	 * mutexes must survive). */
	pthread_mutex_t lock;
	pthread_mutex_t cq_post[NVME_QUEUES];
	pthread_cond_t idle;       /* reset / shutdown / Delete SQ wait for a server */
	bool started, stop;
	uint64_t generation;       /* bumped by reset: a running command's completion is dropped */
	bool master;

	/* Registers (under lock). */
	uint32_t cc, csts, aqa, intms;
	uint64_t asq, acq;

	/* Queues: configuration changes under lock, by the admin server
	 * (admin commands) and by reset (which waits for every server). */
	struct nvme_sq sq[NVME_QUEUES];
	struct nvme_cq cq[NVME_QUEUES];

	/* Asynchronous events: outstanding requests (their CIDs) and events
	 * waiting for one (under lock). */
	uint16_t aer_cid[NVME_AERL + 1];
	unsigned int naer;
	uint32_t aen_pending[8];
	unsigned int naen;

	/* Features. */
	uint32_t feat_arbitration, feat_vwc, feat_coalescing, feat_aec;
	uint16_t nsqa, ncqa;       /* Number of Queues allocated (0-based) */

	/* MSI-X (under lock). */
	struct msix_entry msix[NVME_VECTORS];
	uint32_t msix_pending;

	/* The servers: ctx[0] admin, ctx[q] I/O SQ q (1..p.queues). */
	struct nvme_ctx ctx[NVME_QUEUES];

	struct nvme_stats st;      /* under lock */
};

/* --- helpers ------------------------------------------------------------ */

static uint16_t status(unsigned int sct, unsigned int sc)
{
	return (uint16_t)((sct << 8) | sc);
}

#define SC_OK             status(NVME_SCT_GENERIC, NVME_SC_SUCCESS)
#define SC_INVALID_OPCODE status(NVME_SCT_GENERIC, NVME_SC_INVALID_OPCODE)
#define SC_INVALID_FIELD  status(NVME_SCT_GENERIC, NVME_SC_INVALID_FIELD)
#define SC_DATA_XFER      status(NVME_SCT_GENERIC, NVME_SC_DATA_XFER_ERROR)
#define SC_INTERNAL       status(NVME_SCT_GENERIC, NVME_SC_INTERNAL)
#define SC_INVALID_NS     status(NVME_SCT_GENERIC, NVME_SC_INVALID_NS)
#define SC_LBA_RANGE      status(NVME_SCT_GENERIC, NVME_SC_LBA_RANGE)
#define SC_CMDID_CONFLICT status(NVME_SCT_GENERIC, NVME_SC_CMDID_CONFLICT)
#define SC_NS_WRITE_PROTECTED status(NVME_SCT_GENERIC, NVME_SC_NS_WRITE_PROTECTED)
#define SC_CS(sc)         status(NVME_SCT_CMD_SPECIFIC, (sc))
#define SC_MEDIA(sc)      status(NVME_SCT_MEDIA, (sc))

static void put_le16(uint8_t *p, uint16_t v) { v = htole16(v); memcpy(p, &v, 2); }
static void put_le32(uint8_t *p, uint32_t v) { v = htole32(v); memcpy(p, &v, 4); }
static void put_le64(uint8_t *p, uint64_t v) { v = htole64(v); memcpy(p, &v, 8); }

/* An ASCII field padded with spaces (SN, MN, FR). */
static void put_ascii(uint8_t *p, size_t len, const char *s)
{
	size_t n = strnlen(s, len);

	memset(p, ' ', len);
	memcpy(p, s, n);
}

/* A malformed descriptor: the rule it breaks goes to the sanitizer. */
static void descriptor_error(struct nvme *n, uint64_t addr, uint64_t len, bool device_write,
			     const char *rule)
{
	pthread_mutex_lock(&n->lock);
	n->st.descriptor_errors++;
	pthread_mutex_unlock(&n->lock);
	pr_ratelimited(LOG_WARN, "%s: %s (at 0x%" PRIx64 ")", n->name, rule, addr);
	if (n->p.descriptor_violation)
		n->p.descriptor_violation(n->p.violation_opaque, n->p.dma.endpoint, addr, len ? len : 1,
					  device_write, rule);
}

/* --- MSI-X (under lock) -------------------------------------------------- */

static uint16_t msix_control(struct nvme *n)
{
	uint16_t v;

	pthread_mutex_lock(&n->bus->lock);
	v = pci_get_word(&n->pci, n->msix_cap + 2);
	pthread_mutex_unlock(&n->bus->lock);
	return v;
}

static void msix_fire(struct nvme *n, unsigned int v)
{
	uint16_t ctrl = msix_control(n);
	struct msix_entry *e;

	if (v >= NVME_VECTORS || !(ctrl & MSIX_CTRL_ENABLE))
		return;   /* no INTx, no MSI: without MSI-X there are no interrupts */
	e = &n->msix[v];
	if ((ctrl & MSIX_CTRL_MASKALL) || (e->ctrl & MSIX_ENTRY_MASKED) || !n->master) {
		n->msix_pending |= 1u << v;
		return;
	}
	n->st.interrupts++;
	if (n->p.signal_msi)
		n->p.signal_msi(n->p.msi_opaque, (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data);
}

static void msix_deliver_pending(struct nvme *n)
{
	uint16_t ctrl = msix_control(n);

	if (!(ctrl & MSIX_CTRL_ENABLE) || (ctrl & MSIX_CTRL_MASKALL) || !n->master)
		return;
	for (unsigned int v = 0; v < NVME_VECTORS; v++) {
		if ((n->msix_pending & (1u << v)) && !(n->msix[v].ctrl & MSIX_ENTRY_MASKED)) {
			n->msix_pending &= ~(1u << v);
			msix_fire(n, v);
		}
	}
}

/* --- data pointers: PRP ------------------------------------------------- */

/*
 * The pieces of `len` bytes described by PRP1/PRP2 (1.4, 4.3): PRP1 may
 * start anywhere dword-aligned in a page; every further page starts at
 * offset 0; more than two pages take a PRP list at PRP2, qword-aligned,
 * whose last entry on a page points to the next list page when more
 * entries are needed.  The walk reads exactly the entries the length needs.
 */
static uint16_t map_prp(struct nvme_ctx *x, uint64_t prp1, uint64_t prp2, size_t len,
			bool device_write, unsigned int *npieces)
{
	struct nvme *n = x->n;
	size_t first = NVME_PAGE - (prp1 & (NVME_PAGE - 1)), left;
	uint64_t list_pages[NVME_MAX_DATA / NVME_PAGE / (NVME_PAGE / 8 - 1) + 2];
	unsigned int nlist = 0, np = 0;

	*npieces = 0;
	if (prp1 & 3) {
		descriptor_error(n, prp1, len, device_write, "PRP1 offset not dword aligned");
		return status(NVME_SCT_GENERIC, NVME_SC_PRP_OFFSET_INVALID);
	}
	if (first > len)
		first = len;
	x->pieces[np++] = (struct piece){ prp1, (uint32_t)first };
	left = len - first;
	if (!left)
		goto done;
	if (left <= NVME_PAGE) {
		if (prp2 & (NVME_PAGE - 1)) {
			descriptor_error(n, prp2, left, device_write,
					 "PRP2 data pointer with a non-zero page offset");
			return status(NVME_SCT_GENERIC, NVME_SC_PRP_OFFSET_INVALID);
		}
		x->pieces[np++] = (struct piece){ prp2, (uint32_t)left };
		goto done;
	}
	if (prp2 & 7) {
		descriptor_error(n, prp2, 8, false, "PRP list pointer not qword aligned");
		return status(NVME_SCT_GENERIC, NVME_SC_PRP_OFFSET_INVALID);
	}
	pthread_mutex_lock(&n->lock);
	n->st.prp_lists++;
	pthread_mutex_unlock(&n->lock);
	{
		uint64_t list = prp2;

		while (left) {
			/* Entries on this list page from `list` on. */
			unsigned int avail = (unsigned int)((NVME_PAGE - (list & (NVME_PAGE - 1))) / 8);
			unsigned int need = (unsigned int)((left + NVME_PAGE - 1) / NVME_PAGE);
			/* All of them data pointers if they suffice; else the last one chains. */
			unsigned int ndata = need <= avail ? need : avail - 1;
			unsigned int nread = need <= avail ? need : avail;

			for (unsigned int i = 0; i < nlist; i++) {
				if (list_pages[i] == (list & ~(uint64_t)(NVME_PAGE - 1))) {
					descriptor_error(n, list, 8, false, "PRP list chains back to a list page it used");
					return SC_INVALID_FIELD;
				}
			}
			/* (A page may hold nothing but the chain pointer.) */
			if (nlist == sizeof(list_pages) / sizeof(list_pages[0])) {
				descriptor_error(n, list, 8, false,
						 "PRP list chains through more pages than the transfer needs");
				return SC_INVALID_FIELD;
			}
			list_pages[nlist++] = list & ~(uint64_t)(NVME_PAGE - 1);
			if (dma_read_coherent(&x->dma, list, x->prp_list, (size_t)nread * 8))
				return SC_DATA_XFER;
			for (unsigned int i = 0; i < ndata; i++) {
				uint64_t e = le64toh(x->prp_list[i]);
				size_t l = left < NVME_PAGE ? left : NVME_PAGE;

				if (e & (NVME_PAGE - 1)) {
					descriptor_error(n, list + 8ull * i, l, device_write,
							 "PRP list entry with a non-zero page offset");
					return status(NVME_SCT_GENERIC, NVME_SC_PRP_OFFSET_INVALID);
				}
				/* Contiguous pages make one piece: fewer IOMMU rounds. */
				if (x->pieces[np - 1].addr + x->pieces[np - 1].len == e &&
				    x->pieces[np - 1].len < (1u << 30))
					x->pieces[np - 1].len += (uint32_t)l;
				else
					x->pieces[np++] = (struct piece){ e, (uint32_t)l };
				left -= l;
			}
			if (left) {
				list = le64toh(x->prp_list[nread - 1]);
				if (list & 7) {
					descriptor_error(n, list, 8, false,
							 "PRP list chain pointer not qword aligned");
					return status(NVME_SCT_GENERIC, NVME_SC_PRP_OFFSET_INVALID);
				}
			}
		}
	}
done:
	*npieces = np;
	return SC_OK;
}

/* --- data pointers: SGL ------------------------------------------------- */

struct sgl_desc {
	uint64_t addr;
	uint32_t len;
	uint8_t type;   /* descriptor type (high nibble of the identifier) */
	uint8_t sub;    /* sub type (low nibble) */
};

static struct sgl_desc sgl_decode(const uint8_t *d)
{
	struct sgl_desc s;
	uint64_t a;
	uint32_t l;

	memcpy(&a, d, 8);
	memcpy(&l, d + 8, 4);
	s.addr = le64toh(a);
	s.len = le32toh(l);
	s.type = d[15] >> 4;
	s.sub = d[15] & 0xf;
	return s;
}

/*
 * The pieces an SGL describes (1.4, 4.4): the command holds one
 * descriptor -- a Data Block, or a Segment / Last Segment that points to a
 * list of descriptors; in a Segment the last descriptor may point to the
 * next segment, a Last Segment holds data blocks only.  Address sub type
 * only; no bit bucket, no keyed blocks (SGLS says so).  The data blocks
 * must add up to exactly `len` (SGLS bit 18 clear).
 */
static uint16_t map_sgl(struct nvme_ctx *x, const uint8_t *dptr, size_t len, bool device_write,
			unsigned int *npieces)
{
	struct nvme *n = x->n;
	struct sgl_desc d = sgl_decode(dptr);
	uint64_t seen[NVME_SGL_MAX_SEGMENTS];
	unsigned int nseg = 0, np = 0;
	uint64_t total = 0;
	bool last = false;

	*npieces = 0;
	for (;;) {
		if (d.sub != NVME_SGL_SUBTYPE_ADDRESS) {
			descriptor_error(n, d.addr, d.len, device_write,
					 "SGL descriptor sub type other than Address");
			return status(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_TYPE);
		}
		if (d.type == NVME_SGL_DATA_BLOCK) {
			if (d.len) {
				if (np == NVME_MAX_PIECES) {
					descriptor_error(n, d.addr, d.len, device_write,
							 "SGL with more data blocks than the controller takes");
					return status(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_COUNT);
				}
				x->pieces[np++] = (struct piece){ d.addr, d.len };
				total += d.len;
				if (total > len) {
					descriptor_error(n, d.addr, d.len, device_write,
							 "SGL data blocks longer than the command's data (NLB)");
					return status(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_DATA);
				}
			}
			break;   /* a data block in the command: the whole SGL */
		}
		if (d.type != NVME_SGL_SEGMENT && d.type != NVME_SGL_LAST_SEGMENT) {
			descriptor_error(n, d.addr, d.len, device_write, "SGL descriptor type not supported");
			return status(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_TYPE);
		}
		if (last) {
			descriptor_error(n, d.addr, d.len, false,
					 "SGL segment descriptor inside a Last Segment");
			return status(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_SEGMENT);
		}
		if (d.len == 0 || d.len % 16 || d.len > NVME_PAGE) {
			descriptor_error(n, d.addr, d.len, false,
					 "SGL segment length not a non-zero multiple of 16 up to 4 KiB");
			return status(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_SEGMENT);
		}
		for (unsigned int i = 0; i < nseg; i++) {
			if (seen[i] == d.addr) {
				descriptor_error(n, d.addr, d.len, false, "SGL segment chain loops");
				return status(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_SEGMENT);
			}
		}
		if (nseg == NVME_SGL_MAX_SEGMENTS) {
			descriptor_error(n, d.addr, d.len, false, "SGL with more segments than the controller takes");
			return status(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_COUNT);
		}
		seen[nseg++] = d.addr;
		last = d.type == NVME_SGL_LAST_SEGMENT;
		if (dma_read_coherent(&x->dma, d.addr, x->sgl_seg, d.len))
			return SC_DATA_XFER;
		{
			unsigned int count = d.len / 16;
			bool chained = false;

			for (unsigned int i = 0; i < count; i++) {
				struct sgl_desc e = sgl_decode(x->sgl_seg + 16 * i);

				if (e.type == NVME_SGL_SEGMENT || e.type == NVME_SGL_LAST_SEGMENT) {
					if (i != count - 1 || last) {
						descriptor_error(n, d.addr + 16ull * i, 16, false,
								 last ? "SGL segment descriptor inside a Last Segment"
								      : "SGL segment descriptor not last in its segment");
						return status(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_SEGMENT);
					}
					d = e;
					chained = true;
					break;
				}
				if (e.type != NVME_SGL_DATA_BLOCK || e.sub != NVME_SGL_SUBTYPE_ADDRESS) {
					descriptor_error(n, d.addr + 16ull * i, 16, device_write,
							 "SGL descriptor type not supported");
					return status(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_TYPE);
				}
				if (!e.len)
					continue;
				if (np == NVME_MAX_PIECES) {
					descriptor_error(n, e.addr, e.len, device_write,
							 "SGL with more data blocks than the controller takes");
					return status(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_COUNT);
				}
				x->pieces[np++] = (struct piece){ e.addr, e.len };
				total += e.len;
				if (total > len) {
					descriptor_error(n, e.addr, e.len, device_write,
							 "SGL data blocks longer than the command's data (NLB)");
					return status(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_DATA);
				}
			}
			if (!chained) {
				if (!last) {
					descriptor_error(n, d.addr, d.len, false,
							 "SGL Segment without a next segment descriptor");
					return status(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_SEGMENT);
				}
				break;
			}
		}
	}
	if (total != len) {
		descriptor_error(n, np ? x->pieces[0].addr : d.addr, len, device_write,
				 "SGL data blocks shorter than the command's data (NLB)");
		return status(NVME_SCT_GENERIC, NVME_SC_SGL_INVALID_DATA);
	}
	*npieces = np;
	return SC_OK;
}

/* The command's data pointer: PRP or SGL (CDW0.PSDT). */
static uint16_t map_data(struct nvme_ctx *x, const struct nvme_sqe *c, size_t len,
			 bool device_write, unsigned int *npieces)
{
	struct nvme *n = x->n;

	switch (c->flags & NVME_PSDT_MASK) {
	case NVME_PSDT_PRP:
		return map_prp(x, le64toh(c->prp1), le64toh(c->prp2), len, device_write, npieces);
	case NVME_PSDT_SGL_MPTR_CONTIG:
	case NVME_PSDT_SGL_MPTR_SGL:
		pthread_mutex_lock(&n->lock);
		n->st.sgls++;
		pthread_mutex_unlock(&n->lock);
		return map_sgl(x, (const uint8_t *)&c->prp1, len, device_write, npieces);
	default:
		descriptor_error(n, le64toh(c->prp1), len, device_write, "PSDT reserved value");
		return SC_INVALID_FIELD;
	}
}

/* Guest -> x->buf (the device reads). */
static uint16_t data_in(struct nvme_ctx *x, unsigned int np)
{
	size_t off = 0;

	for (unsigned int i = 0; i < np; i++) {
		if (dma_read(&x->dma, x->pieces[i].addr, x->buf + off, x->pieces[i].len))
			return SC_DATA_XFER;
		off += x->pieces[i].len;
	}
	return SC_OK;
}

/* x->buf -> guest (the device writes): only once every piece of the
 * destination translates, so a refused transfer writes nothing. */
static uint16_t data_out(struct nvme_ctx *x, unsigned int np)
{
	size_t off = 0;

	for (unsigned int i = 0; i < np; i++)
		if (dma_check(&x->dma, x->pieces[i].addr, x->pieces[i].len, VIOMMU_WRITE))
			return SC_DATA_XFER;
	for (unsigned int i = 0; i < np; i++) {
		if (dma_write(&x->dma, x->pieces[i].addr, x->buf + off, x->pieces[i].len))
			return SC_DATA_XFER;
		off += x->pieces[i].len;
	}
	return SC_OK;
}

/* Admin data: PRP only (1.4, 4.2: SGLs are not used for admin commands). */
static uint16_t admin_out(struct nvme_ctx *x, const struct nvme_sqe *c, size_t len)
{
	struct nvme *n = x->n;
	unsigned int np;
	uint16_t sc;

	if (c->flags & NVME_PSDT_MASK) {
		descriptor_error(n, le64toh(c->prp1), len, true, "SGL in an admin command");
		return SC_INVALID_FIELD;
	}
	sc = map_prp(x, le64toh(c->prp1), le64toh(c->prp2), len, true, &np);
	return sc ? sc : data_out(x, np);
}

/* --- admin commands ------------------------------------------------------ */

static void identify_controller(struct nvme *n, uint8_t *id)
{
	char nqn[64];

	put_le16(id + 0, NVME_VENDOR_ID);
	put_le16(id + 2, NVME_VENDOR_ID);
	put_ascii(id + 4, 20, n->p.serial);
	put_ascii(id + 24, 40, "vmm NVMe controller");
	put_ascii(id + 64, 8, "1.0");
	id[72] = 6;                           /* RAB */
	id[77] = NVME_MDTS;
	put_le16(id + 78, (uint16_t)(n->p.index + 1));   /* CNTLID */
	put_le32(id + 80, NVME_VERSION);
	put_le32(id + 92, NVME_OAES_NS_ATTR); /* OAES */
	id[111] = 1;                          /* CNTRLTYPE: I/O controller */
	id[258] = NVME_ACL;
	id[259] = NVME_AERL;
	id[260] = 0x03;                       /* FRMW: slot 1 read-only, 1 slot */
	id[261] = 0;                          /* LPA */
	id[262] = 0;                          /* ELPE: 1 error log entry */
	put_le16(id + 266, 343);              /* WCTEMP (K) */
	put_le16(id + 268, 373);              /* CCTEMP */
	id[512] = 0x66;                       /* SQES: 64 bytes */
	id[513] = 0x44;                       /* CQES: 16 bytes */
	put_le32(id + 516, 1);                /* NN */
	put_le16(id + 520, NVME_ONCS_DSM | NVME_ONCS_WRITE_ZEROES);
	id[525] = 1;                          /* VWC present */
	put_le32(id + 536, NVME_SGLS_SUPPORTED);
	snprintf(nqn, sizeof(nqn), "nqn.2026-12.org.vmm:nvme:%s", n->p.serial);
	memcpy(id + 768, nqn, strlen(nqn));
	put_le16(id + 2048, 2500);            /* PSD0 MP: 25 W */
}

/* NGUID from the serial: stable across runs, unique per controller. */
static void nguid(struct nvme *n, uint8_t *g)
{
	memset(g, 0, 16);
	memcpy(g, "vmm\0", 4);
	memcpy(g + 4, n->p.serial, strnlen(n->p.serial, 12));
}

static void identify_namespace(struct nvme *n, uint8_t *id)
{
	put_le64(id + 0, n->nlbas);           /* NSZE */
	put_le64(id + 8, n->nlbas);           /* NCAP */
	put_le64(id + 16, n->nlbas);          /* NUSE */
	id[24] = 0;                           /* NSFEAT */
	id[25] = 0;                           /* NLBAF: one format */
	id[26] = 0;                           /* FLBAS: format 0, no metadata */
	id[33] = 0x09;                        /* DLFEAT: deallocated reads 0; WZ may deallocate */
	nguid(n, id + 104);
	id[128 + 2] = NVME_LBA_SHIFT;         /* LBAF0: LBADS */
}

static uint16_t admin_identify(struct nvme_ctx *x, const struct nvme_sqe *c)
{
	struct nvme *n = x->n;
	uint8_t *id = x->buf;
	uint32_t nsid = le32toh(c->nsid), cns = le32toh(c->cdw10) & 0xff;
	uint8_t csi = (uint8_t)(le32toh(c->cdw11) >> 24);

	memset(id, 0, NVME_PAGE);
	switch (cns) {
	case NVME_CNS_NS:
		if (nsid == 0 || (nsid != 1 && nsid != NVME_NSID_ALL))
			return SC_INVALID_NS;
		if (nsid == 1)
			identify_namespace(n, id);
		else
			id[128 + 2] = NVME_LBA_SHIFT;  /* the capabilities common to all */
		break;
	case NVME_CNS_CTRL:
		identify_controller(n, id);
		break;
	case NVME_CNS_NS_ACTIVE_LIST:
		if (nsid >= NVME_NSID_ALL - 1)
			return SC_INVALID_NS;
		if (nsid < 1)
			put_le32(id, 1);
		break;
	case NVME_CNS_NS_DESC_LIST:
		if (nsid != 1)
			return SC_INVALID_NS;
		id[0] = NVME_NIDT_NGUID;
		id[1] = 16;
		nguid(n, id + 4);
		break;
	case NVME_CNS_CS_CTRL:
		/* The NVM command set's controller data: no limits beyond MDTS. */
		if (csi != NVME_CSI_NVM)
			return SC_INVALID_FIELD;
		break;
	default:
		return SC_INVALID_FIELD;
	}
	return admin_out(x, c, NVME_PAGE);
}

static uint16_t admin_get_log_page(struct nvme_ctx *x, const struct nvme_sqe *c)
{
	struct nvme *n = x->n;
	uint32_t cdw10 = le32toh(c->cdw10), cdw11 = le32toh(c->cdw11);
	uint64_t off = le32toh(c->cdw12) | (uint64_t)le32toh(c->cdw13) << 32;
	size_t len = ((size_t)((cdw10 >> 16) | (cdw11 & 0xffff) << 16) + 1) * 4;
	uint8_t page[512];
	size_t page_len;
	struct nvme_stats st;

	memset(page, 0, sizeof(page));
	pthread_mutex_lock(&n->lock);
	st = n->st;
	pthread_mutex_unlock(&n->lock);
	switch (cdw10 & 0xff) {
	case NVME_LOG_ERROR:
		page_len = 64;            /* ELPE + 1 = 1 entry, never filled */
		break;
	case NVME_LOG_SMART:
		if (le32toh(c->nsid) != 1 && le32toh(c->nsid) != NVME_NSID_ALL && le32toh(c->nsid) != 0)
			return SC_INVALID_NS;
		page_len = 512;
		put_le16(page + 1, 310);  /* composite temperature, K */
		page[3] = 100;            /* available spare */
		page[4] = 10;             /* available spare threshold */
		/* Data units: thousands of 512-byte units, rounded up. */
		put_le64(page + 32, (st.bytes_read / 512 + 999) / 1000);
		put_le64(page + 48, (st.bytes_written / 512 + 999) / 1000);
		put_le64(page + 64, st.reads);
		put_le64(page + 80, st.writes);
		put_le64(page + 176, st.errors);   /* number of error information log entries */
		break;
	case NVME_LOG_FW_SLOT:
		page_len = 512;
		page[0] = 1;              /* AFI: slot 1 active */
		put_ascii(page + 8, 8, "1.0");
		break;
	default:
		return SC_CS(NVME_SC_INVALID_LOG_PAGE);
	}
	if (off & 3 || off >= page_len)
		return SC_INVALID_FIELD;
	if (len > NVME_MAX_DATA)
		return SC_INVALID_FIELD;
	memset(x->buf, 0, len);
	memcpy(x->buf, page + off, len < page_len - off ? len : page_len - off);
	return admin_out(x, c, len);
}

/* Queue configuration change (under lock). */
static uint16_t admin_create_cq(struct nvme *n, const struct nvme_sqe *c)
{
	uint32_t cdw10 = le32toh(c->cdw10), cdw11 = le32toh(c->cdw11);
	uint16_t qid = cdw10 & 0xffff, iv = cdw11 >> 16;
	uint32_t qsize = (cdw10 >> 16) + 1;
	uint64_t addr = le64toh(c->prp1);
	struct nvme_cq *cq;

	if (qid == 0 || qid > n->p.queues || n->cq[qid].valid)
		return SC_CS(NVME_SC_QID_INVALID);
	if (qsize < 2 || qsize > NVME_MQES + 1)
		return SC_CS(NVME_SC_QUEUE_SIZE);
	if (!(cdw11 & 1))
		return SC_INVALID_FIELD;    /* CAP.CQR: physically contiguous queues only */
	if (addr & (NVME_PAGE - 1))
		return status(NVME_SCT_GENERIC, NVME_SC_PRP_OFFSET_INVALID);   /* queue_base_aligned() */
	if (iv > n->p.queues)
		return SC_CS(NVME_SC_INVALID_VECTOR);
	if (((n->cc >> 20) & 0xf) != 4)
		return SC_INVALID_FIELD;    /* CC.IOCQES must say 16 bytes */
	cq = &n->cq[qid];
	*cq = (struct nvme_cq){ .valid = true, .ien = cdw11 & 2, .phase = true, .addr = addr,
				.size = qsize, .iv = iv };
	return SC_OK;
}

static uint16_t admin_create_sq(struct nvme *n, const struct nvme_sqe *c)
{
	uint32_t cdw10 = le32toh(c->cdw10), cdw11 = le32toh(c->cdw11);
	uint16_t qid = cdw10 & 0xffff, cqid = cdw11 >> 16;
	uint32_t qsize = (cdw10 >> 16) + 1;
	uint64_t addr = le64toh(c->prp1);
	unsigned int live = 0;

	if (cqid == 0 || cqid > n->p.queues || !n->cq[cqid].valid)
		return SC_CS(NVME_SC_CQ_INVALID);
	if (qid == 0 || qid > n->p.queues || n->sq[qid].valid)
		return SC_CS(NVME_SC_QID_INVALID);
	if (qsize < 2 || qsize > NVME_MQES + 1)
		return SC_CS(NVME_SC_QUEUE_SIZE);
	if (!(cdw11 & 1))
		return SC_INVALID_FIELD;
	if (addr & (NVME_PAGE - 1))
		return status(NVME_SCT_GENERIC, NVME_SC_PRP_OFFSET_INVALID);   /* queue_base_aligned() */
	if (((n->cc >> 16) & 0xf) != 6)
		return SC_INVALID_FIELD;    /* CC.IOSQES must say 64 bytes */
	n->sq[qid] = (struct nvme_sq){ .valid = true, .addr = addr, .size = qsize, .cqid = cqid };
	n->cq[cqid].nsq++;
	for (unsigned int q = 1; q <= n->p.queues; q++)
		live += n->sq[q].valid;
	if (live > n->st.io_queues_max)
		n->st.io_queues_max = live;
	return SC_OK;
}

static uint16_t admin_delete_sq(struct nvme *n, uint16_t qid)
{
	if (qid == 0 || qid > n->p.queues || !n->sq[qid].valid)
		return SC_CS(NVME_SC_QID_INVALID);
	/* Its server finishes the command under way (its completion is
	 * posted) and takes no other; commands the driver left in the queue
	 * are dropped with it. */
	n->sq[qid].deleting = true;
	while (n->ctx[qid].running)
		pthread_cond_wait(&n->idle, &n->lock);
	n->cq[n->sq[qid].cqid].nsq--;
	n->sq[qid] = (struct nvme_sq){ 0 };
	return SC_OK;
}

static uint16_t admin_delete_cq(struct nvme *n, uint16_t qid)
{
	if (qid == 0 || qid > n->p.queues || !n->cq[qid].valid)
		return SC_CS(NVME_SC_QID_INVALID);
	if (n->cq[qid].nsq)
		return SC_CS(NVME_SC_INVALID_QUEUE_DELETION);
	n->cq[qid] = (struct nvme_cq){ 0 };
	return SC_OK;
}

static uint16_t admin_features(struct nvme *n, const struct nvme_sqe *c, bool set, uint32_t *dw0)
{
	uint32_t cdw10 = le32toh(c->cdw10), cdw11 = le32toh(c->cdw11);
	uint8_t fid = cdw10 & 0xff;
	uint8_t sel = (cdw10 >> 8) & 7;

	if (!set && sel == 3) {          /* supported capabilities: changeable, not saveable */
		switch (fid) {
		case NVME_FEAT_ARBITRATION: case NVME_FEAT_VWC: case NVME_FEAT_NUM_QUEUES:
		case NVME_FEAT_IRQ_COALESCE: case NVME_FEAT_ASYNC_EVENT:
			*dw0 = 1u << 2;
			return SC_OK;
		default:
			return SC_INVALID_FIELD;
		}
	}
	if (set && (cdw10 >> 31))
		return SC_CS(NVME_SC_FEATURE_NOT_SAVEABLE);
	pthread_mutex_lock(&n->lock);
	switch (fid) {
	case NVME_FEAT_ARBITRATION:
		if (set)
			n->feat_arbitration = cdw11 & 0xffffff07;
		*dw0 = n->feat_arbitration;
		break;
	case NVME_FEAT_VWC:
		if (set)
			n->feat_vwc = cdw11 & 1;
		*dw0 = n->feat_vwc;
		break;
	case NVME_FEAT_NUM_QUEUES:
		if (set) {
			uint16_t nsqr = cdw11 & 0xffff, ncqr = cdw11 >> 16;

			if (nsqr == 0xffff || ncqr == 0xffff) {
				pthread_mutex_unlock(&n->lock);
				return SC_INVALID_FIELD;
			}
			n->nsqa = (uint16_t)(nsqr < n->p.queues - 1 ? nsqr : n->p.queues - 1);
			n->ncqa = (uint16_t)(ncqr < n->p.queues - 1 ? ncqr : n->p.queues - 1);
		}
		*dw0 = (uint32_t)n->ncqa << 16 | n->nsqa;
		break;
	case NVME_FEAT_IRQ_COALESCE:
		/* Kept and reported; completions are signalled at once
		 * (aggregation is a hint the spec lets a controller ignore). */
		if (set)
			n->feat_coalescing = cdw11 & 0xffff;
		*dw0 = n->feat_coalescing;
		break;
	case NVME_FEAT_ASYNC_EVENT:
		if (set)
			n->feat_aec = cdw11 & (0xff | NVME_OAES_NS_ATTR);
		*dw0 = n->feat_aec;
		break;
	default:
		pthread_mutex_unlock(&n->lock);
		return SC_INVALID_FIELD;
	}
	pthread_mutex_unlock(&n->lock);
	return SC_OK;
}

/* A Create I/O SQ/CQ's PRP1 must be page aligned (CC.MPS): the
 * malformed base is reported here, before the queue tables' lock is
 * taken (descriptor_error takes it too). */
static void queue_base_aligned(struct nvme *n, const struct nvme_sqe *c)
{
	uint64_t addr = le64toh(c->prp1);
	uint32_t entries = (le32toh(c->cdw10) >> 16) + 1;

	if (!(addr & (NVME_PAGE - 1)))
		return;
	if (c->opcode == NVME_ADMIN_CREATE_CQ)
		descriptor_error(n, addr, 16ull * entries, true, "I/O CQ base not page aligned");
	else
		descriptor_error(n, addr, 64ull * entries, false, "I/O SQ base not page aligned");
}

/* Returns false when the command completes later (an AER held). */
static bool admin_command(struct nvme_ctx *x, const struct nvme_sqe *c, uint16_t *sc, uint32_t *dw0)
{
	struct nvme *n = x->n;
	uint16_t cid = le16toh(c->cid);

	*dw0 = 0;
	if (c->flags & NVME_FUSE_MASK) {
		*sc = SC_INVALID_FIELD;
		return true;
	}
	switch (c->opcode) {
	case NVME_ADMIN_IDENTIFY:
		*sc = admin_identify(x, c);
		break;
	case NVME_ADMIN_GET_LOG_PAGE:
		*sc = admin_get_log_page(x, c);
		break;
	case NVME_ADMIN_SET_FEATURES:
	case NVME_ADMIN_GET_FEATURES:
		*sc = admin_features(n, c, c->opcode == NVME_ADMIN_SET_FEATURES, dw0);
		break;
	case NVME_ADMIN_CREATE_CQ:
		queue_base_aligned(n, c);
		pthread_mutex_lock(&n->lock);
		*sc = admin_create_cq(n, c);
		pthread_mutex_unlock(&n->lock);
		break;
	case NVME_ADMIN_CREATE_SQ:
		queue_base_aligned(n, c);
		pthread_mutex_lock(&n->lock);
		*sc = admin_create_sq(n, c);
		pthread_mutex_unlock(&n->lock);
		break;
	case NVME_ADMIN_DELETE_SQ:
		pthread_mutex_lock(&n->lock);
		*sc = admin_delete_sq(n, le32toh(c->cdw10) & 0xffff);
		pthread_mutex_unlock(&n->lock);
		break;
	case NVME_ADMIN_DELETE_CQ:
		pthread_mutex_lock(&n->lock);
		*sc = admin_delete_cq(n, le32toh(c->cdw10) & 0xffff);
		pthread_mutex_unlock(&n->lock);
		break;
	case NVME_ADMIN_ABORT:
		/* Commands run to completion once taken, and a command not taken
		 * yet is not looked for: nothing is aborted (DW0 bit 0), which
		 * the spec allows ("best effort"). */
		*sc = SC_OK;
		*dw0 = 1;
		break;
	case NVME_ADMIN_ASYNC_EVENT:
		pthread_mutex_lock(&n->lock);
		for (unsigned int i = 0; i < n->naer; i++) {
			if (n->aer_cid[i] == cid) {
				pthread_mutex_unlock(&n->lock);
				*sc = SC_CMDID_CONFLICT;
				return true;
			}
		}
		if (n->naer == NVME_AERL + 1) {
			pthread_mutex_unlock(&n->lock);
			*sc = SC_CS(NVME_SC_AER_LIMIT);
			return true;
		}
		n->aer_cid[n->naer++] = cid;   /* the admin server looks for an event next */
		pthread_mutex_unlock(&n->lock);
		return false;
	default:
		*sc = SC_INVALID_OPCODE;
		break;
	}
	return true;
}

/* --- I/O commands -------------------------------------------------------- */

/* A disk error of a Read or Write: logged, and the spec's media status. */
static uint16_t disk_error(struct nvme *n, bool write, uint64_t slba, size_t len, int err)
{
	pr_ratelimited(LOG_WARN, "%s: %s of %zu bytes at LBA %" PRIu64 ": %s", n->name,
		       write ? "write" : "read", len, slba, strerror(-err));
	return write ? SC_MEDIA(NVME_SC_WRITE_FAULT) : SC_MEDIA(NVME_SC_UNRECOVERED_READ);
}

/* Without a bounce account (no sanitizer): through the controller's own
 * buffer. */
static uint16_t rw_buffered(struct nvme_ctx *x, unsigned int np, uint64_t slba, size_t len,
			    bool write)
{
	struct nvme *n = x->n;
	uint16_t sc;
	int r;

	if (write) {
		sc = data_in(x, np);
		if (sc)
			return sc;
		r = disk_pwrite(&n->p.disk, slba << NVME_LBA_SHIFT, x->buf, len);
	} else {
		r = disk_pread(&n->p.disk, slba << NVME_LBA_SHIFT, x->buf, len);
	}
	if (r)
		return disk_error(n, write, slba, len, r);
	return write ? SC_OK : data_out(x, np);
}

/* Segment i holds the command's data bytes [i * SWIOTLB_SEG_MAX, ...). */
#define NVME_DATA_SEGS ((NVME_MAX_DATA + SWIOTLB_SEG_MAX - 1) / SWIOTLB_SEG_MAX)

/* Every piece between guest memory and the segments: a snapshot of the
 * guest's bytes (device reads), or the segments' bytes to the guest
 * (device writes; the caller checked the whole destination first). */
static uint16_t pieces_bounce(struct nvme_ctx *x, unsigned int np, struct swiotlb_seg *segs,
			      bool to_guest)
{
	size_t off = 0;

	for (unsigned int i = 0; i < np; i++) {
		uint64_t addr = x->pieces[i].addr;
		size_t left = x->pieces[i].len;

		while (left) {
			struct swiotlb_seg *seg = &segs[off / SWIOTLB_SEG_MAX];
			size_t at = off % SWIOTLB_SEG_MAX;
			size_t chunk = left < SWIOTLB_SEG_MAX - at ? left : SWIOTLB_SEG_MAX - at;
			int ret = to_guest ? dma_bounce_out(&x->dma, addr, seg, at, chunk)
					   : dma_bounce_in(&x->dma, addr, seg, at, chunk);

			if (ret)
				return SC_DATA_XFER;
			addr += chunk;
			off += chunk;
			left -= chunk;
		}
	}
	return SC_OK;
}

/*
 * Behind the bounce engine: the disk is read into, or written from, the
 * bounce segments themselves (one copy of the guest's bytes, as a
 * controller's DMA engine would make): a Write snapshots the guest's data
 * into the segments once and writes the disk from there; a Read fills
 * them from the disk and copies them to the guest only after every piece
 * of the destination translated (a refused write writes nothing).  A full
 * pool is a data transfer error, nothing moved.
 */
static uint16_t rw_staged(struct nvme_ctx *x, unsigned int np, uint64_t slba, size_t len,
			  bool write)
{
	struct nvme *n = x->n;
	struct swiotlb_seg segs[NVME_DATA_SEGS];
	struct iovec iov[NVME_DATA_SEGS];
	unsigned int nseg = 0;
	uint16_t sc = SC_OK;
	int r;

	for (size_t off = 0; off < len; off += SWIOTLB_SEG_MAX, nseg++) {
		size_t l = len - off < SWIOTLB_SEG_MAX ? len - off : SWIOTLB_SEG_MAX;

		if (dma_seg_alloc(&x->dma, l, &segs[nseg])) {
			sc = SC_DATA_XFER;
			goto out;
		}
		iov[nseg] = (struct iovec){ segs[nseg].buf, l };
	}
	if (write) {
		sc = pieces_bounce(x, np, segs, false);
		if (sc)
			goto out;
		r = disk_pwritev(&n->p.disk, slba << NVME_LBA_SHIFT, iov, (int)nseg);
		if (r)
			sc = disk_error(n, write, slba, len, r);
		goto out;
	}
	r = disk_preadv(&n->p.disk, slba << NVME_LBA_SHIFT, iov, (int)nseg);
	if (r) {
		sc = disk_error(n, write, slba, len, r);
		goto out;
	}
	for (unsigned int i = 0; i < np; i++) {
		if (dma_check(&x->dma, x->pieces[i].addr, x->pieces[i].len, VIOMMU_WRITE)) {
			sc = SC_DATA_XFER;
			goto out;
		}
	}
	sc = pieces_bounce(x, np, segs, true);
out:
	while (nseg)
		swiotlb_seg_free(&segs[--nseg]);
	return sc;
}

static uint16_t io_rw(struct nvme_ctx *x, const struct nvme_sqe *c, bool write)
{
	struct nvme *n = x->n;
	uint64_t slba = le32toh(c->cdw10) | (uint64_t)le32toh(c->cdw11) << 32;
	uint32_t nlb = (le32toh(c->cdw12) & 0xffff) + 1;
	size_t len = (size_t)nlb << NVME_LBA_SHIFT;
	unsigned int np;
	uint16_t sc;

	if (len > NVME_MAX_DATA)
		return SC_INVALID_FIELD;    /* beyond MDTS */
	if (slba >= n->nlbas || nlb > n->nlbas - slba)
		return SC_LBA_RANGE;
	if (write && n->p.disk.read_only)
		return SC_NS_WRITE_PROTECTED;
	sc = map_data(x, c, len, !write, &np);
	if (sc)
		return sc;
	sc = n->p.dma.bounce ? rw_staged(x, np, slba, len, write) : rw_buffered(x, np, slba, len, write);
	if (sc)
		return sc;
	pthread_mutex_lock(&n->lock);
	if (write)
		n->st.writes++, n->st.bytes_written += len, x->st.bytes_written += len;
	else
		n->st.reads++, n->st.bytes_read += len, x->st.bytes_read += len;
	pthread_mutex_unlock(&n->lock);
	return SC_OK;
}

/* Zero (or deallocate) [lba, lba + nlb): deallocated LBAs read as zeroes
 * too (DLFEAT), so both are the backend's write zeroes. */
static int zero_range(struct nvme *n, uint64_t lba, uint64_t nlb, bool deallocate)
{
	return disk_write_zeroes(&n->p.disk, lba << NVME_LBA_SHIFT, nlb << NVME_LBA_SHIFT, deallocate);
}

static uint16_t io_write_zeroes(struct nvme *n, const struct nvme_sqe *c)
{
	uint64_t slba = le32toh(c->cdw10) | (uint64_t)le32toh(c->cdw11) << 32;
	uint32_t cdw12 = le32toh(c->cdw12), nlb = (cdw12 & 0xffff) + 1;

	if (slba >= n->nlbas || nlb > n->nlbas - slba)
		return SC_LBA_RANGE;
	if (n->p.disk.read_only)
		return SC_NS_WRITE_PROTECTED;
	if (zero_range(n, slba, nlb, cdw12 & (1u << 25)))
		return SC_MEDIA(NVME_SC_WRITE_FAULT);
	pthread_mutex_lock(&n->lock);
	n->st.write_zeroes++;
	pthread_mutex_unlock(&n->lock);
	return SC_OK;
}

static uint16_t io_dsm(struct nvme_ctx *x, const struct nvme_sqe *c)
{
	struct nvme *n = x->n;
	uint32_t nr = (le32toh(c->cdw10) & 0xff) + 1;
	bool deallocate = le32toh(c->cdw11) & NVME_DSM_AD;
	size_t len = (size_t)nr * 16;
	unsigned int np;
	uint16_t sc;

	if (n->p.disk.read_only && deallocate)
		return SC_NS_WRITE_PROTECTED;
	sc = map_data(x, c, len, false, &np);
	if (!sc)
		sc = data_in(x, np);
	if (sc)
		return sc;
	/* All ranges checked before any is touched. */
	for (uint32_t i = 0; i < nr; i++) {
		uint32_t nlb;
		uint64_t slba;

		memcpy(&nlb, x->buf + 16 * i + 4, 4);
		memcpy(&slba, x->buf + 16 * i + 8, 8);
		nlb = le32toh(nlb);
		slba = le64toh(slba);
		if (slba > n->nlbas || nlb > n->nlbas - slba)
			return SC_LBA_RANGE;
	}
	if (!deallocate)
		return SC_OK;     /* attributes only: a hint */
	{
		uint8_t ranges[256 * 16];

		memcpy(ranges, x->buf, len);
		for (uint32_t i = 0; i < nr; i++) {
			uint32_t nlb;
			uint64_t slba;

			memcpy(&nlb, ranges + 16 * i + 4, 4);
			memcpy(&slba, ranges + 16 * i + 8, 8);
			if (le32toh(nlb) && zero_range(n, le64toh(slba), le32toh(nlb), true))
				return SC_MEDIA(NVME_SC_WRITE_FAULT);
		}
	}
	pthread_mutex_lock(&n->lock);
	n->st.discards++;
	pthread_mutex_unlock(&n->lock);
	return SC_OK;
}

static uint16_t io_command(struct nvme_ctx *x, const struct nvme_sqe *c)
{
	struct nvme *n = x->n;
	uint32_t nsid = le32toh(c->nsid);

	if (c->flags & NVME_FUSE_MASK)
		return SC_INVALID_FIELD;
	if (c->opcode == NVME_CMD_FLUSH) {
		if (nsid != 1 && nsid != NVME_NSID_ALL)
			return SC_INVALID_NS;
		pthread_mutex_lock(&n->lock);
		n->st.flushes++;
		pthread_mutex_unlock(&n->lock);
		return disk_flush(&n->p.disk) ? SC_MEDIA(NVME_SC_WRITE_FAULT) : SC_OK;
	}
	if (nsid != 1)
		return SC_INVALID_NS;
	switch (c->opcode) {
	case NVME_CMD_WRITE:        return io_rw(x, c, true);
	case NVME_CMD_READ:         return io_rw(x, c, false);
	case NVME_CMD_WRITE_ZEROES: return io_write_zeroes(n, c);
	case NVME_CMD_DSM:          return io_dsm(x, c);
	default:                    return SC_INVALID_OPCODE;
	}
}

/* --- the queues ------------------------------------------------------------ */

/* No room for one more completion: the entries the driver has not
 * consumed and those promised to commands under way fill it (one slot
 * always stays empty).  Under lock. */
static bool cq_full(const struct nvme_cq *cq)
{
	uint32_t used = (cq->tail + cq->size - cq->head) % cq->size;

	return used + cq->reserved + 1 >= cq->size;
}

/* Stop serving queues until the next reset (CSTS.CFS): the controller can
 * no longer fetch or post.  Under lock. */
static void controller_fatal(struct nvme *n, const char *why, uint16_t qid)
{
	if (n->csts & NVME_CSTS_CFS)
		return;
	n->csts |= NVME_CSTS_CFS;
	n->st.fatal++;
	pr_ratelimited(LOG_WARN, "%s: controller fatal status: %s (queue %u)", n->name, why, qid);
}

static bool serving(const struct nvme *n)
{
	return (n->csts & NVME_CSTS_RDY) && !(n->csts & NVME_CSTS_CFS) && !(n->cc & NVME_CC_SHN_MASK);
}

/*
 * Post a completion to CQ cqid, whose slot was reserved when the command
 * was taken, and signal it.  Called with the lock held and the server
 * marked running (reset waits for it); the lock is dropped for the DMA,
 * which is made under the CQ's posting lock, so that SQs sharing a CQ fill
 * its slots one after the other.  Returns false if the controller went
 * fatal or was reset.
 */
static bool post(struct nvme_ctx *x, uint16_t cqid, uint16_t sqid, uint16_t sqhd, uint16_t cid,
		 uint16_t sc, uint32_t dw0, uint64_t gen)
{
	struct nvme *n = x->n;
	struct nvme_cq *cq = &n->cq[cqid];
	struct nvme_cqe e;
	bool posted = false;
	uint64_t addr;
	int ret;

	pthread_mutex_unlock(&n->lock);
	pthread_mutex_lock(&n->cq_post[cqid]);
	pthread_mutex_lock(&n->lock);
	if (gen != n->generation)
		goto out;
	addr = cq->addr + 16ull * cq->tail;
	e.dw0 = htole32(dw0);
	e.dw1 = 0;
	e.sqhd = htole16(sqhd);
	e.sqid = htole16(sqid);
	e.cid = htole16(cid);
	e.status = htole16((uint16_t)(sc << 1 | cq->phase));
	if (sc) {
		n->st.errors++;
		x->st.errors++;
		/* Do Not Retry: every error here gives the same answer again. */
		e.status |= htole16(NVME_STATUS_DNR);
	}
	pthread_mutex_unlock(&n->lock);
	ret = dma_write_coherent(&x->dma, addr, &e, sizeof(e));
	pthread_mutex_lock(&n->lock);
	if (gen != n->generation)
		goto out;
	cq->reserved--;
	if (ret) {
		controller_fatal(n, "cannot post a completion", cqid);
		goto out;
	}
	if (++cq->tail == cq->size) {
		cq->tail = 0;
		cq->phase = !cq->phase;
	}
	if (cq->ien)
		msix_fire(n, cq->iv);
	posted = true;
out:
	pthread_mutex_unlock(&n->cq_post[cqid]);
	return posted;
}

/* An asynchronous event for a held AER, if both exist (the admin server).
 * Under lock; returns true if it did something. */
static bool post_event(struct nvme_ctx *x, uint64_t gen)
{
	struct nvme *n = x->n;
	uint32_t ev;
	uint16_t cid;

	if (!n->naer || !n->naen || !n->cq[0].valid || cq_full(&n->cq[0]))
		return false;
	ev = n->aen_pending[0];
	memmove(n->aen_pending, n->aen_pending + 1, --n->naen * sizeof(n->aen_pending[0]));
	cid = n->aer_cid[0];
	memmove(n->aer_cid, n->aer_cid + 1, --n->naer * sizeof(n->aer_cid[0]));
	n->cq[0].reserved++;
	post(x, 0, 0, (uint16_t)n->sq[0].head, cid, SC_OK, ev, gen);
	return true;
}

static void wake(struct nvme *n, unsigned int q)
{
	pthread_cond_signal(&n->ctx[q].wake);
}

static void wake_all(struct nvme *n)
{
	for (unsigned int q = 0; q <= n->p.queues; q++)
		wake(n, q);
}

/* A bad doorbell write: an Error event (1.4, 5.2.1), log page Error. */
static void doorbell_error(struct nvme *n, uint8_t info, unsigned int db, uint32_t val)
{
	n->st.invalid_doorbells++;
	pr_ratelimited(LOG_WARN, "%s: invalid doorbell write: doorbell %u value %u", n->name, db, val);
	/* Error events cannot be masked (Async Event Configuration has no
	 * bit for them); beyond 8 unreported ones, the rest are dropped. */
	if (n->naen < sizeof(n->aen_pending) / sizeof(n->aen_pending[0]))
		n->aen_pending[n->naen++] = NVME_AER_TYPE_ERROR | (uint32_t)info << 8 |
					    (uint32_t)NVME_LOG_ERROR << 16;
	wake(n, 0);
}

/* The SQ server x serves, if it holds a command, is not being deleted and
 * its CQ has room; that room is reserved for the command.  Under lock. */
static struct nvme_sq *take(struct nvme_ctx *x)
{
	struct nvme *n = x->n;
	struct nvme_sq *sq = &n->sq[x->qid];

	if (!sq->valid || sq->deleting || sq->head == sq->tail || !n->cq[sq->cqid].valid ||
	    cq_full(&n->cq[sq->cqid]))
		return NULL;
	n->cq[sq->cqid].reserved++;
	return sq;
}

/* One unit of work for server x: an event (admin server) or a command of
 * its SQ.  Called with the lock held and x->running false; returns false
 * if there was nothing to do. */
static bool work_one(struct nvme_ctx *x)
{
	struct nvme *n = x->n;
	struct nvme_sqe c;
	uint64_t gen = n->generation, addr;
	uint16_t q = (uint16_t)x->qid, sc = SC_OK;
	uint32_t dw0 = 0;
	bool complete = true;
	struct nvme_sq *sq;

	if (!serving(n))
		return false;
	x->running = true;   /* before any unlock: reset waits for it */
	if (q == 0 && post_event(x, gen))
		goto out;
	sq = take(x);
	if (!sq) {
		x->running = false;
		return false;
	}
	addr = sq->addr + 64ull * sq->head;
	pthread_mutex_unlock(&n->lock);
	if (dma_read_coherent(&x->dma, addr, &c, sizeof(c))) {
		pthread_mutex_lock(&n->lock);
		if (gen == n->generation) {
			n->cq[sq->cqid].reserved--;
			controller_fatal(n, "cannot fetch a command", q);
		}
		goto out;
	}
	if (q == 0)
		complete = admin_command(x, &c, &sc, &dw0);
	else
		sc = io_command(x, &c);
	pthread_mutex_lock(&n->lock);
	if (gen != n->generation)
		goto out;
	if (q == 0)
		n->st.admin_commands++;
	else
		n->st.io_commands++;
	x->st.commands++;
	/* Delete SQ of itself is refused for qid 0, an I/O SQ runs no admin
	 * commands, and Delete I/O SQ waits for this command: sq is live. */
	sq->head = (sq->head + 1) % sq->size;
	if (complete)
		post(x, sq->cqid, q, (uint16_t)sq->head, le16toh(c.cid), sc, dw0, gen);
	else
		n->cq[sq->cqid].reserved--;   /* an AER held: its completion comes with an event */
out:
	x->running = false;
	pthread_cond_broadcast(&n->idle);
	return true;
}

/* --- registers (under lock) ------------------------------------------------ */

/* Every server out of its command (the lock is dropped while waiting). */
static void wait_idle(struct nvme *n)
{
	for (unsigned int q = 0; q <= n->p.queues; q++)
		while (n->ctx[q].running)
			pthread_cond_wait(&n->idle, &n->lock);
}

/* Controller reset (CC.EN 1 -> 0): queues, events and status forgotten.
 * The commands under way finish first (bounded by MDTS) and their
 * completions are dropped. */
static void controller_reset(struct nvme *n)
{
	n->generation++;
	n->csts = 0;          /* not ready: no server starts anything new */
	wait_idle(n);
	memset(n->sq, 0, sizeof(n->sq));
	memset(n->cq, 0, sizeof(n->cq));
	n->naer = n->naen = 0;
	n->csts = 0;
	n->intms = 0;
	n->nsqa = n->ncqa = (uint16_t)(n->p.queues - 1);
	n->feat_aec = n->feat_coalescing = n->feat_arbitration = 0;
	n->feat_vwc = 1;
	n->st.resets++;
}

static void controller_enable(struct nvme *n)
{
	uint32_t asqs = (n->aqa & 0xfff) + 1, acqs = ((n->aqa >> 16) & 0xfff) + 1;

	if (((n->cc >> 7) & 0xf) != 0 || ((n->cc >> 4) & 7) != 0 || ((n->cc >> 11) & 7) != 0 ||
	    asqs < 2 || acqs < 2 || (n->asq & (NVME_PAGE - 1)) || (n->acq & (NVME_PAGE - 1))) {
		/* MPS other than 4 KiB, a command set or arbitration we lack,
		 * an admin queue too small or not page aligned. */
		controller_fatal(n, "enabled with an invalid CC or admin queue", 0);
		return;
	}
	n->sq[0] = (struct nvme_sq){ .valid = true, .addr = n->asq, .size = asqs, .cqid = 0 };
	n->cq[0] = (struct nvme_cq){ .valid = true, .ien = true, .phase = true, .addr = n->acq,
				     .size = acqs, .iv = 0, .nsq = 1 };
	n->csts = NVME_CSTS_RDY;
}

static void write_cc(struct nvme *n, uint32_t val)
{
	uint32_t old = n->cc;

	n->cc = val;
	if ((old & NVME_CC_EN) && !(val & NVME_CC_EN)) {
		controller_reset(n);
		return;
	}
	if (!(old & NVME_CC_EN) && (val & NVME_CC_EN)) {
		if (!(n->csts & NVME_CSTS_CFS))
			controller_enable(n);
		wake_all(n);
	}
	if ((val & NVME_CC_SHN_MASK) && !(old & NVME_CC_SHN_MASK)) {
		/* Shutdown: the commands under way finish, nothing new is
		 * fetched (serving() says no), the data reaches the disk. */
		n->st.shutdowns++;
		wait_idle(n);
		int ret = disk_flush(&n->p.disk);

		if (ret)
			pr_ratelimited(LOG_WARN, "%s: shutdown: flush failed: %s", n->name, strerror(-ret));
		n->csts = (n->csts & ~NVME_CSTS_SHST_MASK) | NVME_CSTS_SHST_COMPLETE;
	} else if (!(val & NVME_CC_SHN_MASK)) {
		n->csts &= ~NVME_CSTS_SHST_MASK;
	}
}

static void write_doorbell(struct nvme *n, unsigned int db, uint32_t val)
{
	unsigned int qid = db / 2;

	if (qid > n->p.queues) {
		doorbell_error(n, NVME_AER_INFO_INVALID_DB_REGISTER, db, val);
		return;
	}
	if (!(n->csts & NVME_CSTS_RDY))
		return;
	if (db % 2 == 0) {
		struct nvme_sq *sq = &n->sq[qid];

		if (!sq->valid) {
			doorbell_error(n, NVME_AER_INFO_INVALID_DB_REGISTER, db, val);
			return;
		}
		if (val >= sq->size) {
			doorbell_error(n, NVME_AER_INFO_INVALID_DB_VALUE, db, val);
			return;
		}
		sq->tail = val;
		wake(n, qid);
	} else {
		struct nvme_cq *cq = &n->cq[qid];

		if (!cq->valid) {
			doorbell_error(n, NVME_AER_INFO_INVALID_DB_REGISTER, db, val);
			return;
		}
		if (val >= cq->size) {
			doorbell_error(n, NVME_AER_INFO_INVALID_DB_VALUE, db, val);
			return;
		}
		cq->head = val;
		/* Room in the CQ: the servers of the SQs that post there. */
		for (unsigned int q = 0; q <= n->p.queues; q++)
			if (n->sq[q].valid && n->sq[q].cqid == qid)
				wake(n, q);
	}
}

static uint64_t cap_value(void)
{
	return (uint64_t)NVME_MQES | NVME_CAP_CQR | (uint64_t)20 << 24 /* TO: 10 s */ |
	       NVME_CAP_CSS_NVM;
}

static uint32_t reg_read(struct nvme *n, unsigned int off)
{
	switch (off) {
	case NVME_REG_CAP:     return (uint32_t)cap_value();
	case NVME_REG_CAP + 4: return (uint32_t)(cap_value() >> 32);
	case NVME_REG_VS:      return NVME_VERSION;
	case NVME_REG_INTMS:
	case NVME_REG_INTMC:   return n->intms;
	case NVME_REG_CC:      return n->cc;
	case NVME_REG_CSTS:    return n->csts;
	case NVME_REG_AQA:     return n->aqa;
	case NVME_REG_ASQ:     return (uint32_t)n->asq;
	case NVME_REG_ASQ + 4: return (uint32_t)(n->asq >> 32);
	case NVME_REG_ACQ:     return (uint32_t)n->acq;
	case NVME_REG_ACQ + 4: return (uint32_t)(n->acq >> 32);
	default:               return 0;   /* CMBLOC/CMBSZ and the rest: not implemented */
	}
}

static void set_half(uint64_t *reg, bool high, uint32_t val)
{
	if (high)
		*reg = (*reg & 0xffffffffull) | (uint64_t)val << 32;
	else
		*reg = (*reg & ~0xffffffffull) | val;
}

static void reg_write(struct nvme *n, unsigned int off, uint32_t val)
{
	bool enabled = n->cc & NVME_CC_EN;

	if (off >= NVME_DB_BASE && off < NVME_MSIX_TABLE) {
		write_doorbell(n, (off - NVME_DB_BASE) / 4, val);
		return;
	}
	switch (off) {
	/* With MSI-X the interrupt mask registers are not used (1.4, 3.1.3/4). */
	case NVME_REG_INTMS: n->intms |= val; break;
	case NVME_REG_INTMC: n->intms &= ~val; break;
	case NVME_REG_CC:    write_cc(n, val); break;
	/* The admin queue registers change only while the controller is disabled. */
	case NVME_REG_AQA:     if (!enabled) n->aqa = val & 0x0fff0fff; break;
	case NVME_REG_ASQ:     if (!enabled) set_half(&n->asq, false, val & ~0xfffu); break;
	case NVME_REG_ASQ + 4: if (!enabled) set_half(&n->asq, true, val); break;
	case NVME_REG_ACQ:     if (!enabled) set_half(&n->acq, false, val & ~0xfffu); break;
	case NVME_REG_ACQ + 4: if (!enabled) set_half(&n->acq, true, val); break;
	default: break;        /* read-only or reserved */
	}
}

static uint64_t bar_read(struct pci_device *pdev, unsigned int bar, uint64_t off, unsigned int size)
{
	struct nvme *n = pdev->opaque;
	uint64_t val = 0;

	if (bar != 0 || off >= NVME_BAR0_SIZE)
		return ~0ull;
	pthread_mutex_lock(&n->lock);
	if (off >= NVME_MSIX_TABLE && off < NVME_MSIX_TABLE + 16 * NVME_VECTORS) {
		const uint32_t *e = (const uint32_t *)&n->msix[(off - NVME_MSIX_TABLE) / 16];

		val = e[((off - NVME_MSIX_TABLE) % 16) / 4];
		if (size == 8)
			val |= (uint64_t)e[((off - NVME_MSIX_TABLE) % 16) / 4 + 1] << 32;
	} else if (off >= NVME_MSIX_PBA && off < NVME_MSIX_PBA + 8) {
		val = ((uint64_t)n->msix_pending >> (8 * (off - NVME_MSIX_PBA)));
	} else if (off < NVME_DB_BASE) {
		unsigned int reg = (unsigned int)(off & ~3ull);

		val = reg_read(n, reg);
		if (size == 8)
			val |= (uint64_t)reg_read(n, reg + 4) << 32;
		else
			val >>= 8 * (off & 3);
	}
	pthread_mutex_unlock(&n->lock);
	if (size < 8)
		val &= (1ull << (8 * size)) - 1;
	return val;
}

static void bar_write(struct pci_device *pdev, unsigned int bar, uint64_t off, unsigned int size,
		      uint64_t val)
{
	struct nvme *n = pdev->opaque;

	/* Registers are written as dwords (or qword pairs); narrower
	 * writes are ignored. */
	if (bar != 0 || off >= NVME_BAR0_SIZE || (off & 3) || size < 4 || (size == 8 && (off & 7)))
		return;
	pthread_mutex_lock(&n->lock);
	if (off >= NVME_MSIX_TABLE && off < NVME_MSIX_TABLE + 16 * NVME_VECTORS) {
		uint32_t *e = (uint32_t *)&n->msix[(off - NVME_MSIX_TABLE) / 16];
		unsigned int w = (unsigned int)((off - NVME_MSIX_TABLE) % 16) / 4;

		e[w] = (uint32_t)val;
		if (size == 8 && w < 3)
			e[w + 1] = (uint32_t)(val >> 32);
		msix_deliver_pending(n);   /* an unmask releases a pending vector */
	} else if (off < NVME_MSIX_TABLE) {
		reg_write(n, (unsigned int)off, (uint32_t)val);
		if (size == 8)
			reg_write(n, (unsigned int)off + 4, (uint32_t)(val >> 32));
	}
	pthread_mutex_unlock(&n->lock);
}

static void config_written(struct pci_device *pdev, unsigned int offset, unsigned int size)
{
	struct nvme *n = pdev->opaque;
	bool master;

	pthread_mutex_lock(&n->bus->lock);
	master = pci_get_word(pdev, PCI_COMMAND) & PCI_COMMAND_MASTER;
	pthread_mutex_unlock(&n->bus->lock);
	pthread_mutex_lock(&n->lock);
	n->master = master;
	if (offset < n->msix_cap + 4 && offset + size > PCI_COMMAND)
		msix_deliver_pending(n);
	wake_all(n);
	pthread_mutex_unlock(&n->lock);
}

static const struct pci_device_ops nvme_ops = {
	.bar_read = bar_read,
	.bar_write = bar_write,
	.config_written = config_written,
};

/* --- the servers ----------------------------------------------------------- */

static void *server(void *arg)
{
	struct nvme_ctx *x = arg;
	struct nvme *n = x->n;

	pthread_mutex_lock(&n->lock);
	while (!n->stop) {
		/* DMA needs bus mastering: without it nothing is fetched. */
		if (n->master && work_one(x))
			continue;
		pthread_cond_wait(&x->wake, &n->lock);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

unsigned int nvme_poll(struct nvme *n)
{
	unsigned int done = 0;
	bool progress = true;

	pthread_mutex_lock(&n->lock);
	/* Each SQ in turn, one unit of work each, as long as any has some. */
	while (progress && done < 100000) {
		progress = false;
		for (unsigned int q = 0; q <= n->p.queues; q++) {
			if (n->master && work_one(&n->ctx[q])) {
				progress = true;
				done++;
			}
		}
	}
	pthread_mutex_unlock(&n->lock);
	return done;
}

/* --- life cycle ------------------------------------------------------------ */

/* Server q's DMA context: the admin server uses the port it was given,
 * every I/O server opens one of its own on the same endpoint. */
static int ctx_init(struct nvme *n, unsigned int q)
{
	struct nvme_ctx *x = &n->ctx[q];

	x->n = n;
	x->qid = q;
	x->dma = n->p.dma;
	x->dma.bytes_read = x->dma.bytes_written = x->dma.refused = x->dma.bounce_exhausted = 0;
	if (q && n->p.dma.port) {
		x->dma.port = viommu_port_open(n->p.dma.iommu, n->p.dma.endpoint);
		if (!x->dma.port)
			return -errno;
	}
	x->buf = malloc(NVME_MAX_DATA);
	if (!x->buf) {
		if (q)
			viommu_port_close(x->dma.port);
		return -ENOMEM;
	}
	pthread_cond_init(&x->wake, NULL);
	return 0;
}

static void ctx_destroy(struct nvme *n, unsigned int q)
{
	struct nvme_ctx *x = &n->ctx[q];

	if (!x->buf)
		return;
	pthread_cond_destroy(&x->wake);
	free(x->buf);
	x->buf = NULL;
	if (q)
		viommu_port_close(x->dma.port);   /* (the admin port is the caller's) */
}

static void nvme_free(struct nvme *n)
{
	for (unsigned int q = 0; q <= n->p.queues; q++)
		ctx_destroy(n, q);
	for (unsigned int q = 0; q < NVME_QUEUES; q++)
		pthread_mutex_destroy(&n->cq_post[q]);
	pthread_cond_destroy(&n->idle);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

struct nvme *nvme_create(struct pci_bus *bus, unsigned int busnr, unsigned int slot,
			 const struct nvme_params *p)
{
	struct nvme *n;
	unsigned int msix;
	int ret;

	if (p->queues < 1 || p->queues > NVME_MAX_IO_QUEUES || p->disk.size < 512) {
		errno = EINVAL;
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->bus = bus;
	n->p = *p;
	n->nlbas = p->disk.size >> NVME_LBA_SHIFT;
	snprintf(n->name, sizeof(n->name), "nvme%u", p->index);
	pthread_mutex_init(&n->lock, NULL);
	for (unsigned int q = 0; q < NVME_QUEUES; q++)
		pthread_mutex_init(&n->cq_post[q], NULL);
	pthread_cond_init(&n->idle, NULL);
	n->nsqa = n->ncqa = (uint16_t)(p->queues - 1);
	n->feat_vwc = 1;
	for (unsigned int q = 0; q <= p->queues; q++) {
		ret = ctx_init(n, q);
		if (ret)
			goto err;
	}

	pci_device_init(&n->pci, n->name, NVME_VENDOR_ID, NVME_DEVICE_ID, NVME_CLASS_CODE,
			NVME_VENDOR_ID, NVME_DEVICE_ID);
	n->pci.ops = &nvme_ops;
	n->pci.opaque = n;
	ret = pci_device_add_bar(bus, &n->pci, 0, NVME_BAR0_SIZE, true);
	if (ret)
		goto err;
	msix = pci_add_capability(&n->pci, PCI_CAP_ID_MSIX, 12);
	if (!msix) {
		ret = -ENOSPC;
		goto err;
	}
	n->msix_cap = msix;
	/* One vector a queue (the admin queue's is 0); table and PBA in BAR0. */
	pci_set_word(&n->pci, msix + 2, (uint16_t)(p->queues));   /* N - 1 */
	n->pci.wmask[msix + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
	pci_set_long(&n->pci, msix + 4, NVME_MSIX_TABLE | 0);
	pci_set_long(&n->pci, msix + 8, NVME_MSIX_PBA | 0);
	for (unsigned int v = 0; v < NVME_VECTORS; v++)
		n->msix[v].ctrl = MSIX_ENTRY_MASKED;
	ret = pci_register_at(bus, &n->pci, busnr, slot);
	if (ret)
		goto err;
	return n;
err:
	nvme_free(n);   /* (p->disk stays open: the caller's on failure) */
	errno = -ret;
	return NULL;
}

int nvme_start(struct nvme *n)
{
	unsigned int q;
	int ret = 0;

	for (q = 0; q <= n->p.queues; q++) {
		ret = -pthread_create(&n->ctx[q].thread, NULL, server, &n->ctx[q]);
		if (ret)
			break;
	}
	n->started = true;
	if (ret) {
		/* The servers that did start stop again. */
		unsigned int started = q;

		pthread_mutex_lock(&n->lock);
		n->stop = true;
		wake_all(n);
		pthread_mutex_unlock(&n->lock);
		for (q = 0; q < started; q++)
			pthread_join(n->ctx[q].thread, NULL);
		n->started = false;
	}
	return ret;
}

void nvme_stop(struct nvme *n)
{
	if (!n->started)
		return;
	pthread_mutex_lock(&n->lock);
	n->stop = true;
	wake_all(n);
	pthread_mutex_unlock(&n->lock);
	for (unsigned int q = 0; q <= n->p.queues; q++)
		pthread_join(n->ctx[q].thread, NULL);
	n->started = false;
}

void nvme_destroy(struct nvme *n)
{
	if (!n)
		return;
	nvme_stop(n);
	disk_close(&n->p.disk);
	nvme_free(n);
}

struct pci_device *nvme_pci(struct nvme *n)
{
	return &n->pci;
}

const char *nvme_name(const struct nvme *n)
{
	return n->name;
}

uint32_t nvme_endpoint(const struct nvme *n)
{
	return n->p.dma.endpoint;
}

void nvme_stats(struct nvme *n, struct nvme_stats *out)
{
	pthread_mutex_lock(&n->lock);
	*out = n->st;
	pthread_mutex_unlock(&n->lock);
}

unsigned int nvme_io_queues(const struct nvme *n)
{
	return n->p.queues;
}

void nvme_queue_stats(struct nvme *n, unsigned int qid, struct nvme_queue_stats *out)
{
	if (qid < 1 || qid > n->p.queues) {
		*out = (struct nvme_queue_stats){ 0 };
		return;
	}
	pthread_mutex_lock(&n->lock);
	*out = n->ctx[qid].st;
	pthread_mutex_unlock(&n->lock);
}
