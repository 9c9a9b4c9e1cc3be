/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reconnect schedule (stoxd(8)): capped, jittered, exponential. */
#include "config.h"

#include "core/backoff.h"
#include "core/deadline.h"

static void
test_backoff_table (void)
{
  static const struct
  {
    guint attempt, base, cap;
    double r;
    guint expect;
  } rows[] = {
    { 0, 1000, 60000, 0.5, 1000 },    /* no jitter at the midpoint */
    { 1, 1000, 60000, 0.5, 2000 },
    { 5, 1000, 60000, 0.5, 32000 },
    { 6, 1000, 60000, 0.5, 60000 },   /* capped */
    { 500, 1000, 60000, 0.5, 60000 }, /* no overflow for huge attempts */
    { 0, 1000, 60000, 0.0, 800 },     /* -20 % */
    { 0, 1000, 60000, 0.999999, 1199 },/* just under +20 % */
    { 10, 1000, 60000, 0.0, 48000 },
    { 0, 1000, 60000, -3.0, 800 },    /* out-of-range randoms are clamped */
    { 0, 1000, 60000, 7.0, 1199 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      guint got = stox_backoff_delay_ms (rows[i].attempt, rows[i].base,
                                         rows[i].cap, rows[i].r);
      g_test_message ("row %zu: got %u", i, got);
      g_assert_cmpuint (got, ==, rows[i].expect);
    }
}

static void
test_backoff_monotone_until_cap (void)
{
  guint prev = 0;

  for (guint a = 0; a < 40; a++)
    {
      guint d = stox_backoff_delay_ms (a, 500, 30000, 0.5);
      g_assert_cmpuint (d, >=, prev);
      g_assert_cmpuint (d, <=, 30000);
      prev = d;
    }
  g_assert_cmpuint (prev, ==, 30000);
}

/* stox_deadline_due(): due or not, and the poll timeout rounded up (a
 * poll that woke a fraction of a millisecond early would spin). */
static void
test_deadline_due (void)
{
  static const struct
  {
    gint64   deadline, now;
    gboolean due;
    gint     timeout;
  } rows[] = {
    { -1, 0, FALSE, -1 },                        /* none */
    { -5, 1000, FALSE, -1 },
    { 1000, 1000, TRUE, 0 },                     /* exactly now */
    { 1000, 5000, TRUE, 0 },                     /* past */
    { 1001, 1000, FALSE, 1 },                    /* 1 µs ahead: 1 ms, not 0 */
    { 2000, 1000, FALSE, 1 },                    /* 1 ms */
    { 2001, 1000, FALSE, 2 },
    { 0, 10, TRUE, 0 },                          /* 0 is a time, not "none" */
    { G_MAXINT64, 0, FALSE, G_MAXINT },          /* capped */
    { (gint64) 3600 * G_USEC_PER_SEC, 0, FALSE, 3600 * 1000 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      gint timeout = 12345;

      g_test_message ("row %zu", i);
      g_assert_cmpint (stox_deadline_due (rows[i].deadline, rows[i].now, &timeout), ==,
                       rows[i].due);
      g_assert_cmpint (timeout, ==, rows[i].timeout);
    }
}

/* stox_deadline_earliest(): a negative deadline is none. */
static void
test_deadline_earliest (void)
{
  static const struct { gint64 a, b, earliest; } rows[] = {
    { -1, -1, -1 }, { -5, -1, -1 }, { -1, 0, 0 }, { 0, -1, 0 }, { 7, -1, 7 },
    { -1, 7, 7 }, { 3, 7, 3 }, { 7, 3, 3 }, { 4, 4, 4 },
    { G_MAXINT64, 1, 1 }, { G_MAXINT64, -1, G_MAXINT64 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_test_message ("row %" G_GSIZE_FORMAT, i);
      g_assert_cmpint (stox_deadline_earliest (rows[i].a, rows[i].b), ==, rows[i].earliest);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/backoff/table", test_backoff_table);
  g_test_add_func ("/backoff/monotone-until-cap", test_backoff_monotone_until_cap);
  g_test_add_func ("/deadline/due", test_deadline_due);
  g_test_add_func ("/deadline/earliest", test_deadline_earliest);
  return g_test_run ();
}
