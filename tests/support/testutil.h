/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the C tests of every tier share: the main loop for a while, loopback
 * sockets and ports, temporary directories. */
#pragma once

#include <sys/socket.h>

#include <glib.h>

G_BEGIN_DECLS

/* Runs the default main context for `ms` whatever happens, without
 * sleeping past the end (each blocking pass is bounded by a timeout of
 * its own, so no ticker inflates the count); returns its passes. */
guint     stox_test_run_for (guint ms);

/* The loopback address (::1 or 127.0.0.1) and `port` in `ss`; returns
 * its length. */
socklen_t stox_test_loopback (gboolean                 v6,
                              guint16                  port,
                              struct sockaddr_storage *ss);

/* A socket of `type` bound on loopback, close-on-exec; -1 when that
 * family or port is unavailable. */
int       stox_test_loopback_socket (gboolean v6,
                                     int      type,
                                     guint16  port);

/* The local port of a bound socket. */
guint16   stox_test_bound_port (int fd);

/* A loopback port nobody holds right now, for UDP and TCP alike. */
guint16   stox_test_free_port (gboolean v6);

/* Removes `path` and everything below it, read-only directories too;
 * symbolic links are removed, never followed. */
void      stox_test_rm_rf (const char *path);

G_END_DECLS
