/* SPDX-License-Identifier: GPL-2.0-or-later */
/* stox_debug() (src/core/debug-log.h): while debug output is off, its
 * arguments are not even evaluated (so nothing is formatted); while it is
 * on, it is g_debug(). */
#define G_LOG_DOMAIN "stox-test"
#include "config.h"

#include "core/debug-log.h"

static guint lines;

static GLogWriterOutput
count_debug (GLogLevelFlags   level,
             const GLogField *fields,
             gsize            n_fields,
             gpointer         user_data)
{
  /* Every debug line that reaches a writer: GLib filters none before. */
  if ((level & G_LOG_LEVEL_MASK) == G_LOG_LEVEL_DEBUG)
    lines++;
  return G_LOG_WRITER_HANDLED;
}

static void
test_debug_log (void)
{
  guint evaluated = 0;

  g_unsetenv ("G_MESSAGES_DEBUG");
  g_log_set_debug_enabled (FALSE);
  stox_debug ("line %u", ++evaluated);
  g_assert_cmpuint (evaluated, ==, 0);
  g_assert_cmpuint (lines, ==, 0);

  g_log_set_debug_enabled (TRUE);
  stox_debug ("line %u", ++evaluated);
  g_assert_cmpuint (evaluated, ==, 1);
  g_assert_cmpuint (lines, ==, 1);

  /* GLib's own switch for a domain, as for g_debug(). */
  g_log_set_debug_enabled (FALSE);
  g_setenv ("G_MESSAGES_DEBUG", G_LOG_DOMAIN, TRUE);
  stox_debug ("line %u", ++evaluated);
  g_assert_cmpuint (evaluated, ==, 2);
  g_assert_cmpuint (lines, ==, 2);
  g_setenv ("G_MESSAGES_DEBUG", "stox-other", TRUE);
  stox_debug ("line %u", ++evaluated);
  g_assert_cmpuint (evaluated, ==, 2);
  g_assert_cmpuint (lines, ==, 2);
  g_unsetenv ("G_MESSAGES_DEBUG");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_log_set_writer_func (count_debug, NULL, NULL);
  g_test_add_func ("/core/debug-log", test_debug_log);
  return g_test_run ();
}
