/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A deadline as a GSource's prepare() needs it: the main loop's sources
 * (the core's deadlines, the SIP fixed-delay queues, the XMPP tick) hand
 * their next deadline to the poll this way instead of through
 * g_source_set_ready_time(), which writes the context's wake-up eventfd on
 * every change (bench/README.md).  Pure arithmetic, so it lives here.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when `deadline` (monotonic µs; negative: none) is at or before
 * `now`.  Otherwise *timeout is the poll timeout in ms, rounded UP so
 * that the poll does not return just before the deadline (which would
 * spin until it came), or -1 when there is none. */
static inline gboolean
stox_deadline_due (gint64 deadline,
                   gint64 now,
                   gint  *timeout)
{
  if (deadline < 0)
    {
      *timeout = -1;
      return FALSE;
    }
  if (deadline <= now)
    {
      *timeout = 0;
      return TRUE;
    }
  gint64 left = deadline - now;   /* > 0; both are monotonic times, ≥ 0 */
  gint64 ms = left / 1000 + (left % 1000 != 0);

  *timeout = (gint) MIN (ms, (gint64) G_MAXINT);
  return FALSE;
}

/* The earlier of two deadlines (negative: none), or -1 when neither is
 * set: how a state machine's next deadline combines its tables'. */
static inline gint64
stox_deadline_earliest (gint64 a,
                        gint64 b)
{
  if (a < 0)
    return b < 0 ? -1 : b;
  return b < 0 ? a : MIN (a, b);
}

G_END_DECLS
