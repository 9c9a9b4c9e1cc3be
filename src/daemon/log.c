/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "log.h"

#include <stdio.h>

static GLogLevelFlags max_level = G_LOG_LEVEL_INFO;

gboolean
stox_log_parse_level (const char *name, GLogLevelFlags *ret_level)
{
  static const struct { const char *name; GLogLevelFlags level; } levels[] = {
    { "error",   G_LOG_LEVEL_CRITICAL },
    { "warning", G_LOG_LEVEL_WARNING },
    { "info",    G_LOG_LEVEL_INFO },
    { "debug",   G_LOG_LEVEL_DEBUG },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (levels); i++)
    if (g_strcmp0 (name, levels[i].name) == 0)
      {
        *ret_level = levels[i].level;
        return TRUE;
      }
  return FALSE;
}

/* GLib's level flags grow as severity falls (ERROR = 1<<2 … DEBUG = 1<<7),
 * so "at least as severe" is a plain comparison.  Messages (g_message) sit
 * between warning and info and are kept at info. */
static GLogWriterOutput
writer (GLogLevelFlags   log_level,
        const GLogField *fields,
        gsize            n_fields,
        gpointer         user_data)
{
  GLogLevelFlags level = log_level & G_LOG_LEVEL_MASK;

  if (level > max_level)
    return G_LOG_WRITER_HANDLED;
  if (g_log_writer_is_journald (fileno (stderr)))
    return g_log_writer_journald (log_level, fields, n_fields, user_data);

  /* g_log_writer_standard_streams would send info and debug to stdout;
   * INTERFACE.md §1 wants every line on stderr. */
  g_autofree char *line = g_log_writer_format_fields (log_level, fields, n_fields,
                                                      g_log_writer_supports_color (fileno (stderr)));
  fprintf (stderr, "%s\n", line);
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

void
stox_log_init (GLogLevelFlags level)
{
  max_level = level;
  /* G_MESSAGES_DEBUG would otherwise hide debug output from our writer's
   * view: the writer decides, so let every domain through. */
  if (level >= G_LOG_LEVEL_DEBUG)
    g_log_set_debug_enabled (TRUE);
  g_log_set_writer_func (writer, NULL, NULL);
}
