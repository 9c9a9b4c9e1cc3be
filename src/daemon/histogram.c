/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "daemon/histogram.h"

/* Translating one event takes tens of microseconds; the upper buckets
 * show queueing behind a burst or a slow peer. */
const gint64 stox_histogram_bounds_us[STOX_HISTOGRAM_BUCKETS] = {
  50, 100, 250, 500,
  1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000,
};

void
stox_histogram_observe (StoxHistogram *h, gint64 us)
{
  guint i;

  if (us < 0)
    us = 0;
  /* At most STOX_HISTOGRAM_BUCKETS comparisons: O(1) per event. */
  for (i = 0; i < STOX_HISTOGRAM_BUCKETS; i++)
    if (us <= stox_histogram_bounds_us[i])
      {
        h->buckets[i]++;
        break;
      }
  h->count++;
  h->sum_us += (guint64) us;
}
