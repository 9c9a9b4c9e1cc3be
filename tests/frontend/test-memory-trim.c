/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's heap trimming (src/daemon/memory.h): after a "burst" that
 * leaves small live blocks scattered among freed ones, the RSS comes back
 * once the heap has settled, and not while it still changes.
 */
#include <config.h>

#include <malloc.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/memory.h"

static gsize
rss_bytes (void)
{
  g_autofree char *text = NULL;
  unsigned long size = 0, resident = 0;

  g_assert_true (g_file_get_contents ("/proc/self/statm", &text, NULL, NULL));
  g_assert_cmpint (sscanf (text, "%lu %lu", &size, &resident), ==, 2);
  return resident * (gsize) sysconf (_SC_PAGESIZE);
}

enum { N = 16384, BIG = 4000 };

/* 64 MB of short-lived blocks with a long-lived one (kept in `live`)
 * after every eighth, as SIP messages and the dialogs made meanwhile;
 * every block touched.  Returns the short-lived ones, for burst_end(). */
static char **
burst_start (GPtrArray *live)
{
  char **big = g_new0 (char *, N);

  for (guint i = 0; i < N; i++)
    {
      big[i] = g_malloc (BIG);
      memset (big[i], 1, BIG);
      if (i % 8 == 7)
        {
          char *small = g_malloc (48);

          memset (small, 2, 48);
          g_ptr_array_add (live, small);
        }
    }
  return big;
}

static void
burst_end (char **big)
{
  for (guint i = 0; i < N; i++)
    g_free (big[i]);
  g_free (big);
}

static void
test_trim_after_burst (void)
{
#if defined(__SANITIZE_ADDRESS__)
  /* ASan's allocator is not glibc's: nothing to trim, nothing to see. */
  g_test_skip ("glibc's heap is not in use under AddressSanitizer");
  return;
#endif
  g_autoptr (StoxMemoryTrim) trim = stox_memory_trim_new (3600);
  g_autoptr (GPtrArray) live = g_ptr_array_new_with_free_func (g_free);

  /* Settle first: what the test framework allocated is not the burst. */
  stox_memory_trim_check (trim);
  stox_memory_trim_check (trim);

  char **big = burst_start (live);
  /* Still growing: nothing is given back. */
  g_assert_false (stox_memory_trim_check (trim));
  burst_end (big);

  gsize before = rss_bytes ();
  /* The heap just shrank in use: not settled yet. */
  g_assert_false (stox_memory_trim_check (trim));
  /* Settled now, and most of it free: trimmed, once. */
  g_assert_true (stox_memory_trim_check (trim));
  g_assert_false (stox_memory_trim_check (trim));
  gsize after = rss_bytes ();

  g_test_message ("RSS %zu KiB -> %zu KiB", before / 1024, after / 1024);
  g_assert_cmpuint (after + 32u * 1024 * 1024, <, before);
}

/* Burns `ms` of this process's CPU time. */
static void
spin_cpu_ms (guint ms)
{
  struct timespec t0, t;
  volatile guint64 sink = 0;

  g_assert_cmpint (clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t0), ==, 0);
  for (guint i = 0; i < 100000000u; i++)   /* bounded: ~0.1-1 s at worst */
    {
      sink += i;
      if (i % 4096 == 0)
        {
          g_assert_cmpint (clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t), ==, 0);
          if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= ms)
            return;
        }
    }
}

/* A daemon busy over the period has not settled: the heap is not looked
 * at (mallinfo2() walks every free chunk, a stall on the loop), and once
 * it is quiet again and the heap settled, it is trimmed once more (the
 * busy time may have used what was given back). */
static void
test_no_look_while_busy (void)
{
#if defined(__SANITIZE_ADDRESS__)
  g_test_skip ("glibc's heap is not in use under AddressSanitizer");
  return;
#endif
  /* 1 s period: busy above 20 ms of CPU between two looks. */
  g_autoptr (StoxMemoryTrim) trim = stox_memory_trim_new (1);
  g_autoptr (GPtrArray) live = g_ptr_array_new_with_free_func (g_free);

  stox_memory_trim_check (trim);
  stox_memory_trim_check (trim);
  burst_end (burst_start (live));
  g_assert_false (stox_memory_trim_check (trim));
  stox_memory_trim_check (trim);   /* settled and trimmed, or not yet */

  /* The same shape again, then busy before each look: never trimmed. */
  burst_end (burst_start (live));
  for (guint i = 0; i < 3; i++)
    {
      spin_cpu_ms (60);
      g_assert_false (stox_memory_trim_check (trim));
    }
  /* Quiet: one of the next two looks trims (the first, when the heap is
   * as it was before the busy time; else the second, once it settled),
   * and then no other while nothing changes. */
  gboolean first = stox_memory_trim_check (trim);
  gboolean second = stox_memory_trim_check (trim);
  g_assert_true (first != second);
  g_assert_false (stox_memory_trim_check (trim));
  g_assert_false (stox_memory_trim_check (trim));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Blocks of 4000 bytes are below glibc's mmap threshold: from the heap. */
  g_test_add_func ("/daemon/memory/trim-after-burst", test_trim_after_burst);
  g_test_add_func ("/daemon/memory/no-look-while-busy", test_no_look_while_busy);
  return g_test_run ();
}
