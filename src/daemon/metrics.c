/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Prometheus text exposition format, version 0.0.4: per family a
 * "# HELP name text" and a "# TYPE name type" line, then one
 * "name{label="value",…} number" line per sample; histograms as
 * cumulative _bucket{le=…} samples ending with le="+Inf", then _sum and
 * _count.  Names follow the Prometheus conventions: the stox_ prefix,
 * _total on counters, base units (seconds).
 */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "daemon/metrics.h"

#include "core/rules.h"

void
stox_metrics_append_label_value (GString *out, const char *value)
{
  for (const char *p = value; *p != '\0'; p++)
    switch (*p)
      {
      case '\\':
        g_string_append (out, "\\\\");
        break;
      case '"':
        g_string_append (out, "\\\"");
        break;
      case '\n':
        g_string_append (out, "\\n");
        break;
      default:
        g_string_append_c (out, *p);
        break;
      }
}

/* HELP text escapes backslash and line feed only. */
static void
family (GString *out, const char *name, const char *type, const char *help)
{
  g_string_append_printf (out, "# HELP %s ", name);
  for (const char *p = help; *p != '\0'; p++)
    if (*p == '\\')
      g_string_append (out, "\\\\");
    else if (*p == '\n')
      g_string_append (out, "\\n");
    else
      g_string_append_c (out, *p);
  g_string_append_printf (out, "\n# TYPE %s %s\n", name, type);
}

/* `labels`: NULL-terminated name, value pairs (values escaped here). */
static void
sample (GString *out, const char *name, const char *const *labels, guint64 value)
{
  g_string_append (out, name);
  if (labels != NULL && labels[0] != NULL)
    {
      g_string_append_c (out, '{');
      for (guint i = 0; labels[i] != NULL; i += 2)
        {
          g_string_append_printf (out, "%s%s=\"", i > 0 ? "," : "", labels[i]);
          stox_metrics_append_label_value (out, labels[i + 1]);
          g_string_append_c (out, '"');
        }
      g_string_append_c (out, '}');
    }
  g_string_append_printf (out, " %" G_GUINT64_FORMAT "\n", value);
}

static void
one (GString *out, const char *name, const char *type, const char *help, guint64 value)
{
  family (out, name, type, help);
  sample (out, name, NULL, value);
}

/* Microseconds as decimal seconds, exactly: no float rounding, no locale. */
static void
append_seconds (GString *out, guint64 us)
{
  gsize len;

  g_string_append_printf (out, "%" G_GUINT64_FORMAT ".%06" G_GUINT64_FORMAT,
                          us / G_USEC_PER_SEC, us % G_USEC_PER_SEC);
  len = out->len;
  while (out->str[len - 1] == '0')
    len--;
  if (out->str[len - 1] == '.')
    len--;
  g_string_truncate (out, len);
}

/* ---- the families ------------------------------------------------------ */

static void
messages (GString *out, const StoxGatewayStats *gs)
{
  const struct
  {
    const char *direction, *outcome;
    guint64     value;
  } rows[] = {
    { "sip_to_xmpp", "accepted", gs->sip_accepted },
    { "sip_to_xmpp", "bounced", gs->bounces_in_window },
    { "sip_to_xmpp", "refused", gs->sip_refused },
    { "sip_to_xmpp", "failed", gs->sip_failed },
    { "xmpp_to_sip", "delivered", gs->xmpp_delivered },
    { "xmpp_to_sip", "bounced", gs->sip_errors },
    { "xmpp_to_sip", "refused", gs->xmpp_refused },
  };

  family (out, "stox_messages_total", "counter",
          "Instant messages by direction and how they ended. sip_to_xmpp: accepted "
          "(forwarded, 202), bounced (XMPP error inside the bounce window), refused (SIP "
          "error, not forwarded), failed (forwarded but not sendable, 503). xmpp_to_sip: "
          "delivered (SIP 2xx), bounced (SIP error response), refused (stanza error, not "
          "sent).");
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    sample (out, "stox_messages_total",
            (const char *const[]) { "direction", rows[i].direction,
                                    "outcome", rows[i].outcome, NULL },
            rows[i].value);

  family (out, "stox_messages_forwarded_total", "counter",
          "Messages forwarded to the other side: a stanza for each SIP MESSAGE, a MESSAGE "
          "for each XMPP message (chat states included).");
  sample (out, "stox_messages_forwarded_total",
          (const char *const[]) { "direction", "sip_to_xmpp", NULL }, gs->sip_to_xmpp);
  sample (out, "stox_messages_forwarded_total",
          (const char *const[]) { "direction", "xmpp_to_sip", NULL }, gs->xmpp_to_sip);

  one (out, "stox_late_bounces_total", "counter",
       "XMPP errors that came after the 202 and went back to the SIP sender as a MESSAGE.",
       gs->bounces_late);
  one (out, "stox_unmatched_bounces_total", "counter",
       "XMPP errors that match no message the gateway forwarded and still remembers.",
       gs->bounces_unmatched);
  one (out, "stox_late_bounce_evictions_total", "counter",
       "Answered SIP MESSAGEs dropped from the late-bounce memory to keep it bounded.",
       gs->forgotten);
  one (out, "stox_error_stanzas_dropped_total", "counter",
       "Error stanzas owed to XMPP senders that the component link never carried: held "
       "60 s, or over the table bound while it was down (each is logged).",
       gs->bounces_dropped);
  one (out, "stox_refused_total", "counter",
       "SIP requests and stanzas of any kind that the gateway answered with an error "
       "instead of handling them.", gs->refused);
}

static void
sip_codes (GString *out, const char *name, const char *help, const guint64 *counts)
{
  family (out, name, "counter", help);
  for (guint i = 0; i < STOX_STATS_SIP_CODES; i++)
    if (counts[i] > 0)
      {
        char code[8];

        g_snprintf (code, sizeof code, "%u", i + STOX_STATS_SIP_CODE_MIN);
        sample (out, name, (const char *const[]) { "code", code, NULL }, counts[i]);
      }
}

static void
conditions (GString *out, const char *name, const char *help, const guint64 *counts)
{
  family (out, name, "counter", help);
  for (guint i = 0; i < STOX_STATS_XMPP_CONDITIONS; i++)
    sample (out, name, (const char *const[]) { "condition", stox_xmpp_condition_name (i), NULL },
            counts[i]);
}

static void
errors (GString *out, const StoxGatewayStats *gs)
{
  sip_codes (out, "stox_sip_errors_sent_total",
             "SIP error responses (300-699) the gateway sent, by status code; a code "
             "appears once it has been counted.", gs->sip_errors_sent);
  sip_codes (out, "stox_sip_errors_received_total",
             "SIP error responses to the gateway's own requests, by status code, those the "
             "SIP stack made up (408, 503) included.", gs->sip_errors_received);
  conditions (out, "stox_xmpp_errors_sent_total",
              "Stanza errors the gateway sent, by RFC 6120 condition.", gs->xmpp_errors_sent);
  conditions (out, "stox_xmpp_errors_received_total",
              "Stanza errors the gateway received, by RFC 6120 condition (an unknown one "
              "counts as undefined-condition).", gs->xmpp_errors_received);
}

static void
tables (GString *out, const StoxGatewayStats *gs)
{
  family (out, "stox_subscriptions", "gauge",
          "Presence subscriptions held, by direction: sip_to_xmpp are SIP watchers' dialogs "
          "on XMPP users, xmpp_to_sip the gateway's subscriptions to SIP users for XMPP "
          "users.");
  sample (out, "stox_subscriptions",
          (const char *const[]) { "direction", "sip_to_xmpp", NULL }, gs->watchers);
  sample (out, "stox_subscriptions",
          (const char *const[]) { "direction", "xmpp_to_sip", NULL }, gs->subscriptions);
  one (out, "stox_watchers_pending", "gauge",
       "SIP watchers' dialogs waiting for the XMPP user's approval (state pending).",
       gs->watchers_pending);
  one (out, "stox_messages_in_bounce_window", "gauge",
       "SIP MESSAGEs forwarded and held open for the bounce window.", gs->pending);
  one (out, "stox_messages_awaiting_late_bounce", "gauge",
       "Answered SIP MESSAGEs still remembered for a late XMPP bounce.", gs->remembered);
  one (out, "stox_messages_awaiting_response", "gauge",
       "MESSAGEs the gateway sent that wait for their final SIP response.", gs->outgoing);
  one (out, "stox_error_stanzas_held", "gauge",
       "Error stanzas owed to XMPP senders, held until the component link is up.",
       gs->bounces_held);
}

static void
links (GString *out, const StoxMetricsSnapshot *s)
{
  one (out, "stox_xmpp_link_up", "gauge",
       "1 while the XEP-0114 component link to the XMPP server is up, else 0.",
       s->link_up ? 1 : 0);
  one (out, "stox_xmpp_link_reconnects_total", "counter",
       "Times the component link came up again after it had been up and was lost.",
       s->link_reconnects);
  one (out, "stox_xmpp_link_failures_total", "counter",
       "Times the component link went down: a connection attempt that failed or a stream "
       "that ended.", s->link_failures);
  one (out, "stox_xmpp_send_queue", "gauge",
       "Stanzas waiting in the component link's send queue.", s->xmpp_send_queue);
  family (out, "stox_sip_transactions_in_flight", "gauge",
          "SIP transactions in flight: server (requests not answered yet), client "
          "(requests sent, final response not received yet).");
  sample (out, "stox_sip_transactions_in_flight",
          (const char *const[]) { "side", "server", NULL }, s->sip_server_transactions);
  sample (out, "stox_sip_transactions_in_flight",
          (const char *const[]) { "side", "client", NULL }, s->sip_client_transactions);
}

static void
histogram (GString *out, const char *name, const char *label, const char *value,
           const StoxHistogram *h)
{
  g_autofree char *bucket = g_strconcat (name, "_bucket", NULL);
  guint64 cumulative = 0;

  for (guint i = 0; i < STOX_HISTOGRAM_BUCKETS; i++)
    {
      cumulative += h->buckets[i];
      g_string_append_printf (out, "%s{%s=\"", bucket, label);
      stox_metrics_append_label_value (out, value);
      g_string_append (out, "\",le=\"");
      append_seconds (out, (guint64) stox_histogram_bounds_us[i]);
      g_string_append_printf (out, "\"} %" G_GUINT64_FORMAT "\n", cumulative);
    }
  g_string_append_printf (out, "%s{%s=\"", bucket, label);
  stox_metrics_append_label_value (out, value);
  g_string_append_printf (out, "\",le=\"+Inf\"} %" G_GUINT64_FORMAT "\n", h->count);

  g_string_append_printf (out, "%s_sum{%s=\"", name, label);
  stox_metrics_append_label_value (out, value);
  g_string_append (out, "\"} ");
  append_seconds (out, h->sum_us);
  g_string_append_c (out, '\n');
  g_string_append_printf (out, "%s_count{%s=\"", name, label);
  stox_metrics_append_label_value (out, value);
  g_string_append_printf (out, "\"} %" G_GUINT64_FORMAT "\n", h->count);
}

static void
runner (GString *out, const StoxMetricsSnapshot *s)
{
  static const char *const kinds[STOX_RUNNER_EVENT_KINDS] = {
    [STOX_RUNNER_EVENT_SIP_REQUEST] = "sip_request",
    [STOX_RUNNER_EVENT_SIP_RESPONSE] = "sip_response",
    [STOX_RUNNER_EVENT_STANZA] = "stanza",
    [STOX_RUNNER_EVENT_LINK] = "link",
  };

  one (out, "stox_events_queued", "gauge",
       "Front-end events queued for the core and not handled yet.", s->events_queued);
  family (out, "stox_translation_latency_seconds", "histogram",
          "From a front end's report of an event (SIP request or response, stanza, link "
          "change) to the core's actions for it having been carried out, by event.");
  for (guint i = 0; i < STOX_RUNNER_EVENT_KINDS; i++)
    histogram (out, "stox_translation_latency_seconds", "event", kinds[i],
               &s->runner.latency[i]);
  one (out, "stox_store_write_backlog", "gauge",
       "State records queued for the state store and not written yet.", s->store_backlog);
  one (out, "stox_store_write_failures_total", "counter",
       "Writes of the state store that failed (and are retried).",
       s->runner.store_flush_failures);
}

char *
stox_metrics_render (const StoxMetricsSnapshot *s)
{
  GString *out = g_string_sized_new (16384);

  family (out, "stox_build_info", "gauge", "The version of stoxd serving these metrics (1).");
  sample (out, "stox_build_info", (const char *const[]) { "version", s->version, NULL }, 1);
  messages (out, &s->gateway);
  errors (out, &s->gateway);
  tables (out, &s->gateway);
  links (out, s);
  runner (out, s);
  return g_string_free (out, FALSE);
}
