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

/* A timer, kept in its owner's record (there is one per SIP watcher and
 * per follow: no allocation of its own).  Zeroed, it is not armed.  While
 * armed it must stay where it is, and be cancelled before its record is
 * freed, except when the queue goes with all its owners: stox_timers_free()
 * touches no timer, so the owners may go first, without cancelling (as in
 * stox_presence_free()).  Its fields are the queue's. */
typedef struct _StoxTimer StoxTimer;
struct _StoxTimer
{
  gint64   deadline;
  guint64  serial;     /* keeps equal deadlines in arrival order */
  gpointer owner;
  guint    kind;
  guint    index;      /* 1 + its place in the heap; 0: not armed */
};

StoxTimers *stox_timers_new (void);
void        stox_timers_free (StoxTimers *timers);

/* Arms `t` for `deadline` (monotonic µs), cancelling what it was armed
 * for.  `kind` and `owner` are handed back by stox_timers_pop(). */
void stox_timers_arm (StoxTimers *timers,
                      StoxTimer  *t,
                      guint       kind,
                      gpointer    owner,
                      gint64      deadline);

/* Cancels `t`, armed in `timers` (or not armed: nothing). */
void stox_timers_cancel (StoxTimers *timers, StoxTimer *t);

/* The deadline `t` was last armed for, kept after it fires or is
 * cancelled; 0 when it never was. */
static inline gint64
stox_timer_deadline (const StoxTimer *t)
{
  return t->deadline;
}

/* TRUE while `t` is armed. */
static inline gboolean
stox_timer_armed (const StoxTimer *t)
{
  return t->index != 0;
}

/* The earliest deadline, or -1 for none. */
gint64 stox_timers_next (StoxTimers *timers);

/* Takes the earliest timer when it is due at `now`: TRUE with its kind and
 * owner, and it is no longer armed.  FALSE when nothing is due. */
gboolean stox_timers_pop (StoxTimers *timers,
                          gint64      now,
                          guint      *ret_kind,
                          gpointer   *ret_owner);

G_END_DECLS
