/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "timers.h"

/* There is one armed timer per SIP watcher and per follow: a binary heap
 * of the timers themselves costs one pointer each beside them, where a
 * balanced tree costs a node each. */
struct _StoxTimer
{
  gint64      deadline;
  guint64     serial;     /* keeps equal deadlines in arrival order */
  gpointer    owner;
  StoxTimer **handle;
  guint       kind;
  guint       index;      /* in the heap */
};

struct _StoxTimers
{
  GPtrArray *heap;        /* of StoxTimer, by (deadline, serial): each
                           * before its two children 2i+1 and 2i+2 */
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
  t->index = i;
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

/* Takes `t` out of the heap and frees it (its handle is the caller's). */
static void
heap_remove (StoxTimers *timers, StoxTimer *t)
{
  guint i = t->index;
  StoxTimer *last = g_ptr_array_steal_index (timers->heap, timers->heap->len - 1);

  if (last != t)
    {
      heap_set (timers, i, last);
      if (i > 0 && timer_before (last, timers->heap->pdata[(i - 1) / 2]))
        heap_up (timers, i);
      else
        heap_down (timers, i);
    }
  g_free (t);
}

StoxTimers *
stox_timers_new (void)
{
  StoxTimers *timers = g_new0 (StoxTimers, 1);

  timers->heap = g_ptr_array_new_with_free_func (g_free);
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
stox_timers_cancel (StoxTimers *timers, StoxTimer **handle)
{
  if (*handle != NULL)
    {
      heap_remove (timers, *handle);
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
  StoxTimer *t = g_new0 (StoxTimer, 1);

  stox_timers_cancel (timers, handle);
  t->deadline = deadline;
  t->serial = ++timers->serial;
  t->kind = kind;
  t->owner = owner;
  t->handle = handle;
  g_ptr_array_add (timers->heap, t);
  heap_up (timers, timers->heap->len - 1);
  *handle = t;
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
  *t->handle = NULL;
  heap_remove (timers, t);
  return TRUE;
}
