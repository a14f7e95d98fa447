/* SPDX-License-Identifier: MIT */
/*
 * The guest-status port: how the default guest's /init tells vmm how the
 * "check my driver" layer ended (vmm run --guest-module/--guest-run/
 * --guest-script; vmm/guest_layer.h).  Shared by vmm (vmm/guest_layer.c)
 * and the guest's helper (guest/vmm-guest.c, "layer-status").
 *
 * The guest writes one 32-bit value (outl) to GUEST_STATUS_PORT:
 *   GUEST_STATUS_MAGIC | GUEST_STATUS_COMMAND << 8 | exit status (0-255)
 *       the --guest-run command / --guest-script finished (without a
 *       command: the modules loaded, status 0);
 *   GUEST_STATUS_MAGIC | GUEST_STATUS_MODULE << 8 | N
 *       the N-th --guest-module (1-based) did not load; nothing ran.
 * vmm ignores other values and sizes (a rate-limited line); the first
 * report counts.  The port sits next to the boot timer (0x3f0), in the
 * legacy floppy controller's range, which the guest has no driver for.
 */
#ifndef GUEST_LAYER_STATUS_H
#define GUEST_LAYER_STATUS_H

#define GUEST_STATUS_PORT    0x3f4
#define GUEST_STATUS_MAGIC   0x564d0000u   /* "VM" in the top half */
#define GUEST_STATUS_COMMAND 1u
#define GUEST_STATUS_MODULE  2u

#endif
