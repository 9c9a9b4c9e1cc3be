/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One ordered sequence of deadlines (a watcher's dialog expiry, a refresh,
 * a retry, the next batch of a restart), so that a timer event touches
 * only what is due.  Equal deadlines come due in the order they were armed.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _StoxTimers StoxTimers;

/* An armed timer.  Its owner keeps the handle in a field, NULL while
 * nothing is armed; the queue clears that field when the timer fires. */
typedef struct _StoxTimer StoxTimer;

StoxTimers *stox_timers_new (void);
void        stox_timers_free (StoxTimers *timers);

/* Arms *`handle` for `deadline` (monotonic µs), cancelling what it held.
 * `kind` and `owner` are handed back by stox_timers_pop(); `handle` must
 * stay where it is until the timer fires or is cancelled. */
void stox_timers_arm (StoxTimers *timers,
                      StoxTimer **handle,
                      guint       kind,
                      gpointer    owner,
                      gint64      deadline);

/* Cancels *`handle` (NULL: nothing armed), armed in `timers`, and clears
 * it. */
void stox_timers_cancel (StoxTimers *timers, StoxTimer **handle);

/* The earliest deadline, or -1 for none. */
gint64 stox_timers_next (StoxTimers *timers);

/* Takes the earliest timer when it is due at `now`: TRUE with its kind and
 * owner, and its handle cleared.  FALSE when nothing is due. */
gboolean stox_timers_pop (StoxTimers *timers,
                          gint64      now,
                          guint      *ret_kind,
                          gpointer   *ret_owner);

G_END_DECLS
