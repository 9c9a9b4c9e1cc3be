/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "backoff.h"

guint
stox_backoff_delay_ms (guint  attempt,
                       guint  base_ms,
                       guint  cap_ms,
                       double random01)
{
  guint64 delay = base_ms;

  /* Doubling stops at the cap, so the shift never overflows. */
  for (guint i = 0; i < attempt && delay < cap_ms; i++)
    delay *= 2;
  if (delay > cap_ms)
    delay = cap_ms;

  if (random01 < 0.0)
    random01 = 0.0;
  if (random01 >= 1.0)
    random01 = 0.999999;

  return (guint) (delay * (0.8 + 0.4 * random01));
}
