/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The gateway's metrics in the Prometheus text exposition format 0.0.4
 * (docs/stoxd.8 METRICS lists each): a snapshot of every counter the core,
 * the runner, the front ends and the store keep, rendered as text.  No
 * I/O: metrics-http.c serves the text, main.c takes the snapshot.
 */
#pragma once

#include <glib.h>

#include "core/stats.h"
#include "daemon/runner.h"

G_BEGIN_DECLS

#define STOX_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct
{
  const char       *version;           /* stox_build_info{version} */
  StoxGatewayStats  gateway;
  StoxRunnerStats   runner;
  guint             events_queued;     /* stox_runner_queued() */
  gboolean          link_up;
  guint64           link_reconnects;   /* up again after having been up */
  guint64           link_failures;     /* every down report */
  gsize             xmpp_send_queue;   /* stanzas */
  guint             sip_server_transactions;
  guint             sip_client_transactions;
  gsize             store_backlog;     /* records queued, not yet written */
} StoxMetricsSnapshot;

/* The whole exposition (newly allocated): every family with its HELP and
 * TYPE, counters ending in _total, seconds for time.  SIP error codes
 * appear once counted; the 22 stanza error conditions always. */
char *stox_metrics_render (const StoxMetricsSnapshot *snapshot);

/* A label value as the format writes it between double quotes: backslash,
 * double quote and line feed escaped (\\, \", \n). */
void stox_metrics_append_label_value (GString *out, const char *value);

G_END_DECLS
