/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A latency histogram with fixed buckets, as Prometheus renders one
 * (cumulative buckets, a sum and a count): observing costs a handful of
 * comparisons and no allocation, whatever the number of observations.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Upper bounds in microseconds, from 50 µs to 1 s; above the last one an
 * observation counts in +Inf only. */
#define STOX_HISTOGRAM_BUCKETS 13
extern const gint64 stox_histogram_bounds_us[STOX_HISTOGRAM_BUCKETS];

typedef struct
{
  guint64 buckets[STOX_HISTOGRAM_BUCKETS];  /* per bucket, not cumulative */
  guint64 count;                            /* every observation (+Inf) */
  guint64 sum_us;
} StoxHistogram;

/* `us` below 0 counts as 0 (a clock cannot go backwards, but be safe). */
void stox_histogram_observe (StoxHistogram *h, gint64 us);

G_END_DECLS
