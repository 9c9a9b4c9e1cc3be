/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "sip/sofia-decls.h"
#include "sip/sofia-log.h"

/* The Sofia logs we redirect (default, nta, tport), each with its own
 * partial-line buffer. */
#define N_SOFIA_LOGS 3

typedef struct
{
  su_log_t      *log;
  const char    *name;
  GString       *line;
  StoxSofiaLogs *owner;
} SofiaLog;

struct _StoxSofiaLogs
{
  SofiaLog  logs[N_SOFIA_LOGS];
  gboolean  keep_error;
  char     *last_error;
};

/* Sofia's logger gets no level, only text; its real errors say so in
 * words.  Everything else is protocol chatter for --log-level=debug. */
static GLogLevelFlags
sofia_line_level (const char *line)
{
  if (strstr (line, "FATAL") != NULL || strstr (line, "ERROR") != NULL)
    return G_LOG_LEVEL_WARNING;
  return G_LOG_LEVEL_DEBUG;
}

static void
sofia_log_emit (SofiaLog   *sl,
                const char *line)
{
  StoxSofiaLogs *logs = sl->owner;

  if (logs->keep_error && (sl->log == nta_log || sl->log == tport_log))
    {
      size_t skip = strlen (sl->name);

      /* Sofia prefixes its own name ("nta: bind(…)"). */
      if (strncmp (line, sl->name, skip) == 0 && strncmp (line + skip, ": ", 2) == 0)
        skip += 2;
      else
        skip = 0;
      g_free (logs->last_error);
      logs->last_error = g_strdup (line + skip);
    }
  g_log_structured (G_LOG_DOMAIN, sofia_line_level (line),
                    "SOFIA_LOG", sl->name,
                    "MESSAGE", "%s: %s", sl->name, line);
}

/* Sofia writes a line in several calls; emit whole lines only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void sofia_log_cb (void *stream, char const *fmt, va_list ap) G_GNUC_PRINTF (2, 0);

static void
sofia_log_cb (void       *stream,
              char const *fmt,
              va_list     ap)
{
  SofiaLog *sl = stream;
  char *nl;

  g_string_append_vprintf (sl->line, fmt, ap);
  while ((nl = strchr (sl->line->str, '\n')) != NULL)
    {
      *nl = '\0';
      sofia_log_emit (sl, sl->line->str);
      g_string_erase (sl->line, 0, (gssize) (nl - sl->line->str) + 1);
    }
}
#pragma GCC diagnostic pop

StoxSofiaLogs *
stox_sofia_logs_redirect (void)
{
  static const char *const names[N_SOFIA_LOGS] = { "sofia", "nta", "tport" };
  su_log_t *const targets[N_SOFIA_LOGS] = { su_log_default, nta_log, tport_log };
  StoxSofiaLogs *logs = g_new0 (StoxSofiaLogs, 1);

  for (guint i = 0; i < N_SOFIA_LOGS; i++)
    {
      logs->logs[i].log = targets[i];
      logs->logs[i].name = names[i];
      logs->logs[i].line = g_string_new (NULL);
      logs->logs[i].owner = logs;
      su_log_redirect (targets[i], sofia_log_cb, &logs->logs[i]);
    }
  return logs;
}

void
stox_sofia_logs_keep_error (StoxSofiaLogs *logs,
                            gboolean       keep)
{
  logs->keep_error = keep;
  if (keep)
    g_clear_pointer (&logs->last_error, g_free);
}

const char *
stox_sofia_logs_last_error (StoxSofiaLogs *logs)
{
  return logs->last_error;
}

void
stox_sofia_logs_restore (StoxSofiaLogs *logs)
{
  if (logs == NULL)
    return;
  for (guint i = 0; i < N_SOFIA_LOGS; i++)
    {
      SofiaLog *sl = &logs->logs[i];

      su_log_redirect (sl->log, NULL, NULL);
      if (sl->line->len > 0)
        sofia_log_emit (sl, sl->line->str);
      g_string_free (sl->line, TRUE);
    }
  g_free (logs->last_error);
  g_free (logs);
}
