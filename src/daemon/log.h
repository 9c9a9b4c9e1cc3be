/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging: everything goes through g_log to stderr (the journal under
 * systemd); --log-level filters by priority, SIGUSR1/SIGUSR2 change it at
 * run time (stoxd(8) SIGNALS).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "error", "warning", "info" or "debug"; FALSE for anything else. */
gboolean stox_log_parse_level (const char *name, GLogLevelFlags *ret_level);

/* "error", "warning", "info" or "debug": the name of a level the parser
 * gives. */
const char *stox_log_level_name (GLogLevelFlags level);

/* Installs the writer: messages less severe than `level` are dropped. */
void     stox_log_init (GLogLevelFlags level);

/* The level in force, and a new one (SIGUSR1/SIGUSR2). */
GLogLevelFlags stox_log_get_level (void);
void           stox_log_set_level (GLogLevelFlags level);

/* The syslog(3) priority a message of `level` carries in the journal, as
 * "journalctl -p" filters it: g_error() is crit; g_critical(), which the
 * daemon uses for what ends it (a failed start, a fatal error), is err
 * (GLib's own writer would say warning); then warning, notice (g_message),
 * info, debug. */
int      stox_log_priority (GLogLevelFlags level);

G_END_DECLS
