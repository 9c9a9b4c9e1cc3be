/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "memory.h"

#include <malloc.h>

/* What counts as the heap changing between two looks. */
#define SETTLED_DELTA (1024u * 1024)

struct _StoxMemoryTrim
{
  guint  source;
  gsize  arena;     /* heap size at the last look */
  gsize  in_use;    /* bytes in use at the last look */
  gboolean trimmed; /* since the heap last changed */
};

gboolean
stox_memory_trim_check (StoxMemoryTrim *trim)
{
#if defined(__GLIBC__) && __GLIBC_PREREQ (2, 33)
  struct mallinfo2 m = mallinfo2 ();
  gsize in_use_delta = m.uordblks > trim->in_use ? m.uordblks - trim->in_use
                                                 : trim->in_use - m.uordblks;
  gsize arena_delta = m.arena > trim->arena ? m.arena - trim->arena : trim->arena - m.arena;
  gboolean settled = arena_delta <= SETTLED_DELTA
                     && in_use_delta <= MAX (SETTLED_DELTA, trim->in_use / 10);
  gboolean done = FALSE;

  if (!settled)
    trim->trimmed = FALSE;
  else if (!trim->trimmed && m.fordblks >= STOX_MEMORY_TRIM_MIN_FREE)
    {
      gint64 t0 = g_get_monotonic_time ();

      malloc_trim (0);
      trim->trimmed = TRUE;
      done = TRUE;
      g_debug ("heap %zu KiB, %zu KiB in use: free pages given back in %.1f ms",
               m.arena / 1024, m.uordblks / 1024,
               (g_get_monotonic_time () - t0) / 1000.0);
    }
  trim->arena = m.arena;
  trim->in_use = m.uordblks;
  return done;
#else
  (void) trim;
  return FALSE;
#endif
}

static gboolean
on_period (gpointer user_data)
{
  stox_memory_trim_check (user_data);
  return G_SOURCE_CONTINUE;
}

StoxMemoryTrim *
stox_memory_trim_new (guint period_s)
{
  StoxMemoryTrim *trim = g_new0 (StoxMemoryTrim, 1);

  /* Low priority: it only gives memory back. */
  trim->source = g_timeout_add_seconds_full (G_PRIORITY_LOW, period_s, on_period, trim, NULL);
  return trim;
}

void
stox_memory_trim_free (StoxMemoryTrim *trim)
{
  if (trim == NULL)
    return;
  g_clear_handle_id (&trim->source, g_source_remove);
  g_free (trim);
}
