/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SIP front end's one-delay timer queue (src/sip/fifo-timer.h): items
 * expire in arrival order, no earlier than the delay, removed and re-added
 * items behave, the callback may add and remove, free drops the rest
 * without calling back, and the loop sleeps until the head is due instead
 * of spinning.  On the real GLib loop, with a 60 ms delay.
 */
#include "config.h"

#include "sip/fifo-timer.h"
#include "support/testutil.h"

#define DELAY_MS 60

typedef struct
{
  StoxFifoTimerEntry entry;
  guint              id;
  gint64             added;
  gint64             expired;
} Item;

typedef struct
{
  StoxFifoTimer *t;
  GArray        *order;     /* guint ids, in expiry order */
  Item          *items;
  Item          *extra;     /* added from the callback */
  gboolean       add_from_callback;
  gboolean       remove_from_callback;
} Fixture;

static void
on_expire (gpointer item, gpointer user_data)
{
  Fixture *fx = user_data;
  Item *it = item;

  g_assert_false (stox_fifo_timer_is_queued (&it->entry));
  it->expired = g_get_monotonic_time ();
  g_array_append_val (fx->order, it->id);
  if (fx->add_from_callback && it->id == 0)
    {
      /* Added now: due a whole delay later, not in this dispatch. */
      fx->extra->added = g_get_monotonic_time ();
      stox_fifo_timer_add (fx->t, &fx->extra->entry, fx->extra);
    }
  if (fx->remove_from_callback && it->id == 0)
    stox_fifo_timer_remove (fx->t, &fx->items[1].entry);
}

static void
add (Fixture *fx, Item *it)
{
  it->added = g_get_monotonic_time ();
  it->expired = 0;
  stox_fifo_timer_add (fx->t, &it->entry, it);
}

static void
setup (Fixture *fx, gconstpointer data)
{
  (void) data;
  fx->t = stox_fifo_timer_new ("test", DELAY_MS, on_expire, fx);
  fx->order = g_array_new (FALSE, FALSE, sizeof (guint));
  fx->items = g_new0 (Item, 4);
  fx->extra = g_new0 (Item, 1);
  for (guint i = 0; i < 4; i++)
    fx->items[i].id = i;
  fx->extra->id = 99;
}

static void
teardown (Fixture *fx, gconstpointer data)
{
  (void) data;
  stox_fifo_timer_free (fx->t);
  g_array_unref (fx->order);
  g_free (fx->items);
  g_free (fx->extra);
}

static void
assert_order (Fixture *fx, const guint *want, guint n)
{
  g_assert_cmpuint (fx->order->len, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpuint (g_array_index (fx->order, guint, i), ==, want[i]);
}

/* Arrival order, each no earlier than its delay; the length follows. */
static void
test_order (Fixture *fx, gconstpointer data)
{
  static const guint want[] = { 0, 1, 2 };

  (void) data;
  for (guint i = 0; i < 3; i++)
    {
      add (fx, &fx->items[i]);
      stox_test_run_for (10);
    }
  g_assert_cmpuint (stox_fifo_timer_length (fx->t), ==, 3);
  stox_test_run_for (DELAY_MS + 60);
  assert_order (fx, want, 3);
  g_assert_cmpuint (stox_fifo_timer_length (fx->t), ==, 0);
  for (guint i = 0; i < 3; i++)
    {
      gint64 waited = fx->items[i].expired - fx->items[i].added;

      g_test_message ("item %u expired after %.1f ms", i, (double) waited / 1000.0);
      g_assert_cmpint (waited, >=, DELAY_MS * 1000);
    }
}

/* A removed item never expires; a re-added one goes to the back with a
 * new deadline; removing twice, or an item never added, is harmless. */
static void
test_remove_readd (Fixture *fx, gconstpointer data)
{
  static const guint want[] = { 2, 0 };

  (void) data;
  add (fx, &fx->items[0]);
  add (fx, &fx->items[1]);
  add (fx, &fx->items[2]);
  stox_fifo_timer_remove (fx->t, &fx->items[1].entry);
  stox_fifo_timer_remove (fx->t, &fx->items[1].entry);
  stox_fifo_timer_remove (fx->t, &fx->items[3].entry);
  stox_fifo_timer_remove (NULL, &fx->items[3].entry);
  g_assert_false (stox_fifo_timer_is_queued (&fx->items[1].entry));
  stox_test_run_for (20);
  add (fx, &fx->items[0]);              /* re-added: behind item 2 */
  g_assert_cmpuint (stox_fifo_timer_length (fx->t), ==, 2);
  stox_test_run_for (DELAY_MS + 60);
  assert_order (fx, want, 2);
  g_assert_cmpint (fx->items[0].expired - fx->items[0].added, >=, DELAY_MS * 1000);
  g_assert_cmpint (fx->items[1].expired, ==, 0);
}

/* The callback may add (due a delay later, not in the same dispatch) and
 * remove other items. */
static void
test_callback_changes (Fixture *fx, gconstpointer data)
{
  static const guint want_first[] = { 0 };
  static const guint want[] = { 0, 2, 99 };

  (void) data;
  fx->add_from_callback = TRUE;
  fx->remove_from_callback = TRUE;
  add (fx, &fx->items[0]);
  add (fx, &fx->items[1]);
  add (fx, &fx->items[2]);
  /* Until item 0 has expired. */
  for (guint i = 0; i < 100 && fx->order->len == 0; i++)
    stox_test_run_for (5);
  /* Item 2 was due in the same pass; the one added from the callback
   * was not. */
  g_assert_cmpuint (g_array_index (fx->order, guint, 0), ==, want_first[0]);
  g_assert_true (stox_fifo_timer_is_queued (&fx->extra->entry));
  g_assert_cmpint (fx->extra->expired, ==, 0);
  stox_test_run_for (DELAY_MS + 60);
  assert_order (fx, want, 3);
  g_assert_cmpint (fx->extra->expired - fx->extra->added, >=, DELAY_MS * 1000);
  g_assert_cmpint (fx->items[1].expired, ==, 0);
}

/* Freeing drops what is queued without calling back, and leaves the
 * entries reading "not queued". */
static void
test_free_queued (Fixture *fx, gconstpointer data)
{
  (void) data;
  add (fx, &fx->items[0]);
  add (fx, &fx->items[1]);
  stox_fifo_timer_free (fx->t);
  fx->t = stox_fifo_timer_new ("test", DELAY_MS, on_expire, fx);
  g_assert_false (stox_fifo_timer_is_queued (&fx->items[0].entry));
  g_assert_false (stox_fifo_timer_is_queued (&fx->items[1].entry));
  stox_test_run_for (DELAY_MS + 40);
  g_assert_cmpuint (fx->order->len, ==, 0);
}

/* Waiting for the head does not spin: a handful of loop passes over
 * 2 × the delay, and none at all while nothing is queued (the poll
 * blocks until the bounding timeout of stox_test_run_for()). */
static void
test_no_spin (Fixture *fx, gconstpointer data)
{
  guint passes;

  (void) data;
  passes = stox_test_run_for (DELAY_MS);
  g_test_message ("empty: %u passes in %u ms", passes, DELAY_MS);
  g_assert_cmpuint (passes, <=, 3);
  add (fx, &fx->items[0]);
  passes = stox_test_run_for (2 * DELAY_MS);
  g_test_message ("one item: %u passes in %u ms", passes, 2 * DELAY_MS);
  g_assert_cmpuint (fx->order->len, ==, 1);
  g_assert_cmpuint (passes, <=, 6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add ("/sip/fifo-timer/" path, Fixture, NULL, setup, fn, teardown)
  ADD ("order", test_order);
  ADD ("remove-readd", test_remove_readd);
  ADD ("callback-changes", test_callback_changes);
  ADD ("free-queued", test_free_queued);
  ADD ("no-spin", test_no_spin);
  return g_test_run ();
}
