/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "timers.h"

typedef struct
{
  gint64      deadline;
  guint64     serial;     /* keeps equal deadlines in arrival order */
  guint       kind;
  gpointer    owner;
  StoxTimer **handle;
} Timer;

struct _StoxTimers
{
  GSequence *queue;       /* of Timer, by (deadline, serial) */
  guint64    serial;
};

static gint
timer_compare (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Timer *x = a, *y = b;

  if (x->deadline != y->deadline)
    return x->deadline < y->deadline ? -1 : 1;
  return x->serial < y->serial ? -1 : (x->serial > y->serial ? 1 : 0);
}

StoxTimers *
stox_timers_new (void)
{
  StoxTimers *timers = g_new0 (StoxTimers, 1);

  timers->queue = g_sequence_new (g_free);
  return timers;
}

void
stox_timers_free (StoxTimers *timers)
{
  if (timers == NULL)
    return;
  g_sequence_free (timers->queue);
  g_free (timers);
}

void
stox_timers_cancel (StoxTimer **handle)
{
  if (*handle != NULL)
    {
      g_sequence_remove (*handle);
      *handle = NULL;
    }
}

void
stox_timers_arm (StoxTimers *timers,
                 StoxTimer **handle,
                 guint       kind,
                 gpointer    owner,
                 gint64      deadline)
{
  Timer *t = g_new0 (Timer, 1);

  stox_timers_cancel (handle);
  t->deadline = deadline;
  t->serial = ++timers->serial;
  t->kind = kind;
  t->owner = owner;
  t->handle = handle;
  *handle = g_sequence_insert_sorted (timers->queue, t, timer_compare, NULL);
}

gint64
stox_timers_next (StoxTimers *timers)
{
  GSequenceIter *head = g_sequence_get_begin_iter (timers->queue);

  if (g_sequence_iter_is_end (head))
    return -1;
  return ((Timer *) g_sequence_get (head))->deadline;
}

gboolean
stox_timers_pop (StoxTimers *timers,
                 gint64      now,
                 guint      *ret_kind,
                 gpointer   *ret_owner)
{
  GSequenceIter *head = g_sequence_get_begin_iter (timers->queue);
  Timer *t;

  if (g_sequence_iter_is_end (head))
    return FALSE;
  t = g_sequence_get (head);
  if (t->deadline > now)
    return FALSE;
  *ret_kind = t->kind;
  *ret_owner = t->owner;
  *t->handle = NULL;
  g_sequence_remove (head);
  return TRUE;
}
