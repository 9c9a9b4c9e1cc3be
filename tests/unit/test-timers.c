/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The core's one deadline sequence (src/core/timers.h): earliest first,
 * equal deadlines in the order they were armed, a cancelled or re-armed
 * timer never fires, and a fired one is no longer armed. */
#include "config.h"

#include "core/timers.h"

static void
test_timers_order (void)
{
  static const gint64 deadlines[] = { 50, 10, 30, 10, 40, 10, 20, 50 };
  StoxTimer handles[G_N_ELEMENTS (deadlines)] = { { 0 } };
  StoxTimers *timers = stox_timers_new ();
  guint kind;
  gpointer owner;
  guint popped = 0;
  gint64 last = -1;
  gsize last_i = 0;

  g_assert_cmpint (stox_timers_next (timers), ==, -1);
  g_assert_false (stox_timers_pop (timers, G_MAXINT64, &kind, &owner));
  for (gsize i = 0; i < G_N_ELEMENTS (deadlines); i++)
    stox_timers_arm (timers, &handles[i], (guint) i, &handles[i], deadlines[i]);
  g_assert_cmpint (stox_timers_next (timers), ==, 10);
  g_assert_false (stox_timers_pop (timers, 9, &kind, &owner));
  while (stox_timers_pop (timers, 100, &kind, &owner))
    {
      g_assert_true (owner == &handles[kind]);
      g_assert_false (stox_timer_armed (&handles[kind]));
      /* Earliest first; equal ones as armed. */
      g_assert_cmpint (deadlines[kind], >=, last);
      if (deadlines[kind] == last)
        g_assert_cmpuint (kind, >, last_i);
      last = deadlines[kind];
      last_i = kind;
      popped++;
    }
  g_assert_cmpuint (popped, ==, G_N_ELEMENTS (deadlines));
  g_assert_cmpint (stox_timers_next (timers), ==, -1);
  stox_timers_free (timers);
}

/* Arms, re-arms, cancels and pops at random against a plain list, with
 * few distinct deadlines so that ties are common. */
static void
test_timers_model (void)
{
  enum { SLOTS = 64, STEPS = 20000 };
  StoxTimer handles[SLOTS] = { { 0 } };
  gint64 deadline[SLOTS];
  guint64 armed_at[SLOTS];
  guint64 serial = 0;
  StoxTimers *timers = stox_timers_new ();
  g_autoptr (GRand) rand = g_rand_new_with_seed (20261207);
  gint64 now = 0;

  for (guint step = 0; step < STEPS; step++)
    {
      guint slot = (guint) g_rand_int_range (rand, 0, SLOTS);
      guint op = (guint) g_rand_int_range (rand, 0, 10);

      if (op < 5)
        {
          deadline[slot] = now + g_rand_int_range (rand, 0, 8);
          armed_at[slot] = ++serial;
          stox_timers_arm (timers, &handles[slot], slot, &handles[slot], deadline[slot]);
        }
      else if (op < 7)
        stox_timers_cancel (timers, &handles[slot]);
      else
        {
          guint kind;
          gpointer owner;
          gint64 next = -1;

          now += g_rand_int_range (rand, 0, 3);
          for (;;)
            {
              gint best = -1;

              for (guint i = 0; i < SLOTS; i++)
                if (stox_timer_armed (&handles[i]) &&
                    (best < 0 || deadline[i] < deadline[best] ||
                     (deadline[i] == deadline[best] && armed_at[i] < armed_at[best])))
                  best = (gint) i;
              next = best < 0 ? -1 : deadline[best];
              g_assert_cmpint (stox_timers_next (timers), ==, next);
              if (best < 0 || deadline[best] > now)
                {
                  g_assert_false (stox_timers_pop (timers, now, &kind, &owner));
                  break;
                }
              g_assert_true (stox_timers_pop (timers, now, &kind, &owner));
              g_assert_cmpuint (kind, ==, (guint) best);
              g_assert_true (owner == &handles[best]);
              g_assert_false (stox_timer_armed (&handles[best]));
            }
        }
    }
  for (guint i = 0; i < SLOTS; i++)
    stox_timers_cancel (timers, &handles[i]);
  g_assert_cmpint (stox_timers_next (timers), ==, -1);
  stox_timers_free (timers);
}

/* Freed with timers still armed: nothing leaks (ASan build). */
static void
test_timers_free_armed (void)
{
  StoxTimer a = { 0 }, b = { 0 };
  StoxTimers *timers = stox_timers_new ();

  stox_timers_arm (timers, &a, 0, NULL, 5);
  stox_timers_arm (timers, &b, 0, NULL, 3);
  stox_timers_arm (timers, &a, 0, NULL, 1);
  stox_timers_free (timers);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/timers/order", test_timers_order);
  g_test_add_func ("/timers/model", test_timers_model);
  g_test_add_func ("/timers/free-armed", test_timers_free_armed);
  return g_test_run ();
}
