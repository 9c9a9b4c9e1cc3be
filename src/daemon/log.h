/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging: everything goes through g_log to stderr (the journal under
 * systemd); --log-level filters by priority.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* "error", "warning", "info" or "debug"; FALSE for anything else. */
gboolean stox_log_parse_level (const char *name, GLogLevelFlags *ret_level);

/* Installs the writer: messages less severe than `level` are dropped. */
void     stox_log_init (GLogLevelFlags level);

G_END_DECLS
