/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "memory.h"

#include <malloc.h>

#include <time.h>

/* What counts as the heap changing between two looks. */
#define SETTLED_DELTA (1024u * 1024)

/* Share of one core, in thousandths, above which the daemon counts as
 * busy over a period. */
#define BUSY_PERMILLE 20

struct _StoxMemoryTrim
{
  guint    source;
  gint64   period_us;
  gint64   cpu_us;    /* the process's CPU time at the last look */
  gsize    arena;     /* heap size at the last quiet look; 0: none yet */
  gsize    in_use;    /* bytes in use then */
  gboolean trimmed;   /* since the heap last changed */
};

static gint64
process_cpu_us (void)
{
  struct timespec ts;

  if (clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts) != 0)
    return 0;
  return (gint64) ts.tv_sec * G_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* mallinfo2() walks every free chunk of the heap, on the loop: 12 ms
 * with 90 000 subscriptions held (bench/README.md), a stall for every
 * message meanwhile, every period.  A daemon that was busy over the
 * period has not settled anyway, so then the heap is not looked at; it
 * has been used, so whatever was given back may be in use again: once
 * quiet and settled, it is trimmed again.  The CPU time is read after a
 * look, so that a look's own cost never makes the next period busy. */
gboolean
stox_memory_trim_check (StoxMemoryTrim *trim)
{
#if defined(__GLIBC__) && __GLIBC_PREREQ (2, 33)
  gint64 cpu = process_cpu_us ();

  if ((cpu - trim->cpu_us) * 1000 > trim->period_us * BUSY_PERMILLE)
    {
      trim->trimmed = FALSE;
      trim->cpu_us = cpu;
      return FALSE;
    }

  struct mallinfo2 m = mallinfo2 ();
  gsize in_use_delta = m.uordblks > trim->in_use ? m.uordblks - trim->in_use
                                                 : trim->in_use - m.uordblks;
  gsize arena_delta = m.arena > trim->arena ? m.arena - trim->arena : trim->arena - m.arena;
  /* arena is 0 until the first quiet look: nothing to compare with. */
  gboolean settled = trim->arena != 0 && arena_delta <= SETTLED_DELTA
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
  trim->cpu_us = process_cpu_us ();
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

  trim->period_us = (gint64) period_s * G_USEC_PER_SEC;
  trim->cpu_us = process_cpu_us ();

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
