/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Gives the heap a burst freed back to the kernel.  glibc keeps freed
 * memory for reuse, and returns it by itself only from the top of the
 * heap: after a burst of short-lived SIP messages, the long-lived records
 * made meanwhile (dialogs, watchers) pin pages all over it, and RSS stays
 * at the peak however little is in use (bench/README.md: 1 GB held with
 * 23 MB in use).  malloc_trim(0) hands the free pages back (madvise), at a
 * cost of milliseconds, so it runs only once the load has settled: when
 * the daemon used under 2 % of a core over the period, the heap has
 * neither grown nor shrunk since the look before and enough of it is
 * free.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _StoxMemoryTrim StoxMemoryTrim;

/* Looks every `period_s` seconds (a timeout on the default context). */
StoxMemoryTrim *stox_memory_trim_new  (guint period_s);
void            stox_memory_trim_free (StoxMemoryTrim *trim);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxMemoryTrim, stox_memory_trim_free)

/* How often the daemon looks. */
#define STOX_MEMORY_TRIM_PERIOD_S 5

/* Free heap below which nothing is given back. */
#define STOX_MEMORY_TRIM_MIN_FREE (16u * 1024 * 1024)

/* One look now (tests): TRUE when it trimmed.  A look after more than
 * 2 % of a core over `period_s` only notes that the daemon was busy. */
gboolean        stox_memory_trim_check (StoxMemoryTrim *trim);

G_END_DECLS
