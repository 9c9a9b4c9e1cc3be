/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The metrics listener ([metrics] listen, stox.conf(5)): a libsoup 3
 * SoupServer on the default GLib main context serving GET (and HEAD)
 * /metrics; 404 for any other path, 405 for other methods.  The text comes
 * from `render`, called once per scrape from the loop.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _StoxMetricsServer StoxMetricsServer;

/* The exposition text, newly allocated (g_free). */
typedef char *(*StoxMetricsRenderFunc) (gpointer user_data);

/* Listens on `address` (a numeric IPv4 or IPv6 address) and `port`;
 * NULL with an error when the address cannot be bound. */
StoxMetricsServer *stox_metrics_server_new (const char            *address,
                                            guint16                port,
                                            StoxMetricsRenderFunc  render,
                                            gpointer               user_data,
                                            GError               **error);

/* "http://ADDRESS:PORT/metrics", for the log. */
const char *stox_metrics_server_get_url (StoxMetricsServer *server);

/* Closes the listener and every connection. */
void stox_metrics_server_free (StoxMetricsServer *server);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxMetricsServer, stox_metrics_server_free)

G_END_DECLS
