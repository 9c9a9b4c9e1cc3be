/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET (a leading
 * '@' means the abstract namespace).  Nothing happens when it is unset.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Sends `state` ("READY=1", "STATUS=…", several lines joined by '\n').
 * Returns FALSE (with errno-based text in the log) on a send failure. */
gboolean stox_notify (const char *state);
gboolean stox_notify_printf (const char *format, ...) G_GNUC_PRINTF (1, 2);

G_END_DECLS
