/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * g_debug() that costs nothing while debug output is off.  GLib's
 * structured logging (G_LOG_USE_STRUCTURED) formats every message before
 * any writer can drop it: a vasprintf and a malloc per line.  The lines
 * on the path of every SIP request and answer cost 3 % of stoxd's CPU at
 * 20 000 MESSAGEs/s that way, for output nobody sees (bench/README.md).
 * GLib's own test for whether its writer would drop a debug line is a
 * flag and an environment lookup; stoxd's writer prints a debug line only
 * when that test keeps it (daemon/log.c sets the flag with the level, at
 * start and on SIGUSR1/SIGUSR2), so nothing it would print is skipped.
 */
#pragma once

#include <glib.h>

#define stox_debug(...)                                                               \
  G_STMT_START                                                                        \
  {                                                                                   \
    if (G_UNLIKELY (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))) \
      g_debug (__VA_ARGS__);                                                          \
  }                                                                                   \
  G_STMT_END
