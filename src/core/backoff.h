/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reconnect schedule: exponential from `base_ms`, capped at `cap_ms`, with
 * ±20 % jitter drawn from the caller's random number (so tests replay it).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Delay before attempt number `attempt` (0 = first retry). `random01` is in
 * [0, 1).  Result is in [0.8, 1.2] × min(cap, base × 2^attempt). */
guint stox_backoff_delay_ms (guint  attempt,
                             guint  base_ms,
                             guint  cap_ms,
                             double random01);

G_END_DECLS
