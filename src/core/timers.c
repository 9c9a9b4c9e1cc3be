/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "timers.h"

/* There is one armed timer per SIP watcher and per follow: a binary heap
 * of pointers to the timers, which live in their owners' records, costs
 * one pointer each beside them, where a balanced tree costs a node and a
 * record each. */
struct _StoxTimers
{
  GPtrArray *heap;        /* of StoxTimer (borrowed), by (deadline,
                           * serial): each before its two children 2i+1
                           * and 2i+2 */
  guint64    serial;
};

static gboolean
timer_before (const StoxTimer *x, const StoxTimer *y)
{
  if (x->deadline != y->deadline)
    return x->deadline < y->deadline;
  return x->serial < y->serial;
}

static void
heap_set (StoxTimers *timers, guint i, StoxTimer *t)
{
  timers->heap->pdata[i] = t;
  t->index = i + 1;
}

static void
heap_up (StoxTimers *timers, guint i)
{
  StoxTimer *t = timers->heap->pdata[i];

  while (i > 0)
    {
      guint parent = (i - 1) / 2;
      StoxTimer *p = timers->heap->pdata[parent];

      if (!timer_before (t, p))
        break;
      heap_set (timers, i, p);
      i = parent;
    }
  heap_set (timers, i, t);
}

static void
heap_down (StoxTimers *timers, guint i)
{
  guint n = timers->heap->len;
  StoxTimer *t = timers->heap->pdata[i];

  for (;;)
    {
      guint child = 2 * i + 1;
      StoxTimer *c;

      if (child >= n)
        break;
      if (child + 1 < n && timer_before (timers->heap->pdata[child + 1], timers->heap->pdata[child]))
        child++;
      c = timers->heap->pdata[child];
      if (!timer_before (c, t))
        break;
      heap_set (timers, i, c);
      i = child;
    }
  heap_set (timers, i, t);
}

/* Takes `t` out of the heap: no longer armed. */
static void
heap_remove (StoxTimers *timers, StoxTimer *t)
{
  guint i = t->index - 1;
  StoxTimer *last = g_ptr_array_steal_index (timers->heap, timers->heap->len - 1);

  if (last != t)
    {
      heap_set (timers, i, last);
      if (i > 0 && timer_before (last, timers->heap->pdata[(i - 1) / 2]))
        heap_up (timers, i);
      else
        heap_down (timers, i);
    }
  t->index = 0;
}

StoxTimers *
stox_timers_new (void)
{
  StoxTimers *timers = g_new0 (StoxTimers, 1);

  timers->heap = g_ptr_array_new ();
  return timers;
}

void
stox_timers_free (StoxTimers *timers)
{
  if (timers == NULL)
    return;
  g_ptr_array_unref (timers->heap);
  g_free (timers);
}

void
stox_timers_cancel (StoxTimers *timers, StoxTimer *t)
{
  if (stox_timer_armed (t))
    heap_remove (timers, t);
}

void
stox_timers_arm (StoxTimers *timers,
                 StoxTimer  *t,
                 guint       kind,
                 gpointer    owner,
                 gint64      deadline)
{
  stox_timers_cancel (timers, t);
  t->deadline = deadline;
  t->serial = ++timers->serial;
  t->kind = kind;
  t->owner = owner;
  g_ptr_array_add (timers->heap, t);
  heap_up (timers, timers->heap->len - 1);
}

gint64
stox_timers_next (StoxTimers *timers)
{
  if (timers->heap->len == 0)
    return -1;
  return ((StoxTimer *) timers->heap->pdata[0])->deadline;
}

gboolean
stox_timers_pop (StoxTimers *timers,
                 gint64      now,
                 guint      *ret_kind,
                 gpointer   *ret_owner)
{
  StoxTimer *t;

  if (timers->heap->len == 0)
    return FALSE;
  t = timers->heap->pdata[0];
  if (t->deadline > now)
    return FALSE;
  *ret_kind = t->kind;
  *ret_owner = t->owner;
  heap_remove (timers, t);
  return TRUE;
}
