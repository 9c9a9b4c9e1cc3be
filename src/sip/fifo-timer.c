/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "fifo-timer.h"

#include "core/deadline.h"

struct _StoxFifoTimer
{
  GSource           source;
  GQueue            queue;      /* of items, by StoxFifoTimerEntry.due */
  guint             delay_ms;
  StoxFifoTimerFunc func;
  gpointer          user_data;
};

static StoxFifoTimerEntry *
entry_of (GList *link)
{
  /* The link is the entry's first member. */
  return (StoxFifoTimerEntry *) link;
}

static gboolean
fifo_prepare (GSource *source,
              gint    *timeout)
{
  StoxFifoTimer *t = (StoxFifoTimer *) source;
  GList *head = g_queue_peek_head_link (&t->queue);

  return stox_deadline_due (head != NULL ? entry_of (head)->due : -1,
                            g_source_get_time (source), timeout);
}

static gboolean
fifo_check (GSource *source)
{
  gint timeout;

  return fifo_prepare (source, &timeout);
}

static gboolean
fifo_dispatch (GSource    *source,
               GSourceFunc callback,
               gpointer    user_data)
{
  StoxFifoTimer *t = (StoxFifoTimer *) source;
  gint64 now = g_get_monotonic_time ();
  GList *head;

  (void) callback;
  (void) user_data;
  while ((head = g_queue_peek_head_link (&t->queue)) != NULL && entry_of (head)->due <= now)
    {
      gpointer item = head->data;

      g_queue_unlink (&t->queue, head);
      head->data = NULL;
      t->func (item, t->user_data);
    }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs fifo_funcs = {
  .prepare = fifo_prepare,
  .check = fifo_check,
  .dispatch = fifo_dispatch,
};

StoxFifoTimer *
stox_fifo_timer_new (const char       *name,
                     guint             delay_ms,
                     StoxFifoTimerFunc func,
                     gpointer          user_data)
{
  StoxFifoTimer *t;

  g_return_val_if_fail (func != NULL, NULL);

  t = (StoxFifoTimer *) g_source_new (&fifo_funcs, sizeof (StoxFifoTimer));
  g_queue_init (&t->queue);
  t->delay_ms = delay_ms;
  t->func = func;
  t->user_data = user_data;
  g_source_set_name (&t->source, name);
  g_source_attach (&t->source, g_main_context_get_thread_default ());
  return t;
}

void
stox_fifo_timer_free (StoxFifoTimer *t)
{
  GList *l;

  if (t == NULL)
    return;
  /* Unqueued entries read as such to whoever frees the items later. */
  while ((l = g_queue_pop_head_link (&t->queue)) != NULL)
    l->data = NULL;
  g_source_destroy (&t->source);
  g_source_unref (&t->source);
}

void
stox_fifo_timer_add (StoxFifoTimer      *t,
                     StoxFifoTimerEntry *e,
                     gpointer            item)
{
  g_return_if_fail (t != NULL && e != NULL && item != NULL);

  stox_fifo_timer_remove (t, e);
  e->due = g_get_monotonic_time () + (gint64) t->delay_ms * 1000;
  e->link.data = item;
  g_queue_push_tail_link (&t->queue, &e->link);
}

void
stox_fifo_timer_remove (StoxFifoTimer      *t,
                        StoxFifoTimerEntry *e)
{
  /* Not queued: nothing to do, even with no timer (an item freed after
   * its timer, or before the timer existed). */
  if (e == NULL || e->link.data == NULL)
    return;
  g_return_if_fail (t != NULL);
  g_queue_unlink (&t->queue, &e->link);
  e->link.data = NULL;
}

gboolean
stox_fifo_timer_is_queued (const StoxFifoTimerEntry *e)
{
  return e != NULL && e->link.data != NULL;
}

guint
stox_fifo_timer_length (StoxFifoTimer *t)
{
  g_return_val_if_fail (t != NULL, 0);
  return t->queue.length;
}

guint
stox_fifo_timer_delay_ms (StoxFifoTimer *t)
{
  g_return_val_if_fail (t != NULL, 0);
  return t->delay_ms;
}
