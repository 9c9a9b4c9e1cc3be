/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Memory for records that mostly die in the order they were made, such as
 * the MESSAGEs remembered for a late bounce (each kept the same 60 s).
 * Records are cut from blocks one after the other, and a block goes back
 * to the heap when its last record does.  Allocated one by one among the
 * short-lived allocations of the same messages, such records each pinned
 * a piece of the heap for a minute: after a burst of 100 000 MESSAGEs
 * glibc held 20 MB free in 56 000 pieces it could not return
 * (bench/README.md).  Here they share a few dozen blocks instead.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _StoxFifoPool StoxFifoPool;

/* `block_size`: bytes per block (at least 1 KiB); a record larger than an
 * eighth of it gets a block of its own. */
StoxFifoPool *stox_fifo_pool_new (gsize block_size);

/* Every record must have been released before. */
void          stox_fifo_pool_free (StoxFifoPool *pool);

/* Zeroed, aligned for pointers and 64-bit numbers; never NULL (aborts
 * like g_malloc). */
gpointer      stox_fifo_pool_alloc (StoxFifoPool *pool,
                                    gsize         size);

/* A record of any pool; NULL is ignored. */
void          stox_fifo_pool_release (gpointer mem);

/* Blocks held now, and records in them. */
guint         stox_fifo_pool_get_blocks (const StoxFifoPool *pool);
guint         stox_fifo_pool_get_records (const StoxFifoPool *pool);

G_END_DECLS
