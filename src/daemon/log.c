/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "log.h"

#include <stdio.h>
#include <syslog.h>

static GLogLevelFlags max_level = G_LOG_LEVEL_INFO;

static const struct
{
  const char    *name;
  GLogLevelFlags level;
} levels[] = {
  { "error",   G_LOG_LEVEL_CRITICAL },
  { "warning", G_LOG_LEVEL_WARNING },
  { "info",    G_LOG_LEVEL_INFO },
  { "debug",   G_LOG_LEVEL_DEBUG },
};

gboolean
stox_log_parse_level (const char *name, GLogLevelFlags *ret_level)
{
  for (gsize i = 0; i < G_N_ELEMENTS (levels); i++)
    if (g_strcmp0 (name, levels[i].name) == 0)
      {
        *ret_level = levels[i].level;
        return TRUE;
      }
  return FALSE;
}

const char *
stox_log_level_name (GLogLevelFlags level)
{
  for (gsize i = 0; i < G_N_ELEMENTS (levels); i++)
    if (levels[i].level == level)
      return levels[i].name;
  return "?";
}

int
stox_log_priority (GLogLevelFlags level)
{
  switch (level & G_LOG_LEVEL_MASK)
    {
    case G_LOG_LEVEL_ERROR:    return LOG_CRIT;
    case G_LOG_LEVEL_CRITICAL: return LOG_ERR;
    case G_LOG_LEVEL_WARNING:  return LOG_WARNING;
    case G_LOG_LEVEL_MESSAGE:  return LOG_NOTICE;
    case G_LOG_LEVEL_INFO:     return LOG_INFO;
    case G_LOG_LEVEL_DEBUG:
    default:                   return LOG_DEBUG;
    }
}

/* To the journal with PRIORITY= from stox_log_priority(): the PRIORITY
 * field g_log_structured() adds is GLib's own mapping. */
static GLogWriterOutput
write_journal (GLogLevelFlags   level,
               const GLogField *fields,
               gsize            n_fields,
               gpointer         user_data)
{
  static const char *const digits[] = { "0", "1", "2", "3", "4", "5", "6", "7" };
  g_autofree GLogField *copy = g_new (GLogField, n_fields + 1);
  gsize n = 0;

  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "PRIORITY") != 0)
      copy[n++] = fields[i];
  copy[n].key = "PRIORITY";
  copy[n].value = digits[stox_log_priority (level)];
  copy[n].length = -1;
  n++;
  return g_log_writer_journald (level, copy, n, user_data);
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
    return write_journal (level, fields, n_fields, user_data);

  /* g_log_writer_standard_streams would send info and debug to stdout;
   * stoxd(8) wants every line on stderr. */
  g_autofree char *line = g_log_writer_format_fields (log_level, fields, n_fields,
                                                      g_log_writer_supports_color (fileno (stderr)));
  fprintf (stderr, "%s\n", line);
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

void
stox_log_set_level (GLogLevelFlags level)
{
  max_level = level;
  /* Front ends skip formatting debug lines that GLib's writer would drop
   * (g_log_writer_default_would_drop): tell GLib whether debug is on. */
  g_log_set_debug_enabled (level >= G_LOG_LEVEL_DEBUG);
}

GLogLevelFlags
stox_log_get_level (void)
{
  return max_level;
}

void
stox_log_init (GLogLevelFlags level)
{
  stox_log_set_level (level);
  g_log_set_writer_func (writer, NULL, NULL);
}
