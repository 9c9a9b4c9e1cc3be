/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Items that expire one fixed delay after they are added, all served by
 * one GSource: arrival order is expiry order, so a queue is the whole
 * schedule and adding, removing and expiring are O(1).
 *
 * Why not a GLib timeout per item: GLib visits every attached source on
 * every pass of the loop (about 17 ns each on the bench machine), so a
 * timeout per SIP transaction made each pass cost in proportion to the
 * transactions in flight.
 *
 * The entry lives inside the item (no allocation); the timeout reaches the
 * poll from prepare(), never through g_source_set_ready_time(), which
 * would write the context's wake-up eventfd on every change.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _StoxFifoTimer StoxFifoTimer;

/* Embed in the item; zero-initialised means "not queued". */
typedef struct
{
  GList  link;   /* link.data = the item while queued, else NULL */
  gint64 due;    /* monotonic µs */
} StoxFifoTimerEntry;

/* Called from the loop for each due item, already out of the queue; it
 * may add, remove or free items (this one included). */
typedef void (*StoxFifoTimerFunc) (gpointer item, gpointer user_data);

/* Attached to the thread-default main context. */
StoxFifoTimer *stox_fifo_timer_new (const char       *name,
                                    guint             delay_ms,
                                    StoxFifoTimerFunc func,
                                    gpointer          user_data);
/* Drops what is queued without calling func. */
void           stox_fifo_timer_free (StoxFifoTimer *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxFifoTimer, stox_fifo_timer_free)

/* Queues `item` to expire delay_ms from now; re-adding requeues it. */
void     stox_fifo_timer_add (StoxFifoTimer      *t,
                              StoxFifoTimerEntry *e,
                              gpointer            item);
/* Takes it out; nothing when it is not queued (then `t` may be NULL). */
void     stox_fifo_timer_remove (StoxFifoTimer      *t,
                                 StoxFifoTimerEntry *e);
gboolean stox_fifo_timer_is_queued (const StoxFifoTimerEntry *e);
guint    stox_fifo_timer_length (StoxFifoTimer *t);
guint    stox_fifo_timer_delay_ms (StoxFifoTimer *t);

G_END_DECLS
