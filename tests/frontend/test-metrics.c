/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The metrics text (src/daemon/metrics.c): the exact exposition for known
 * counters (tests/frontend/metrics.expected), the escaping of label
 * values, the histogram's buckets, and the conventions every family must
 * keep (HELP and TYPE first, _total on counters, the stox_ prefix).
 */
#include <config.h>

#include <string.h>

#include "core/rules.h"
#include "daemon/histogram.h"
#include "daemon/metrics.h"

#define SIP(code) ((code) - STOX_STATS_SIP_CODE_MIN)

/* Every field a different value, so a sample that shows the wrong one
 * cannot pass. */
static void
known_snapshot (StoxMetricsSnapshot *s)
{
  StoxGatewayStats *g = &s->gateway;

  memset (s, 0, sizeof *s);
  s->version = "1.0 \"beta\" C:\\stox\nnext";
  g->sip_to_xmpp = 101;
  g->xmpp_to_sip = 102;
  g->bounces_in_window = 103;
  g->bounces_late = 104;
  g->bounces_unmatched = 105;
  g->forgotten = 106;
  g->sip_errors = 107;
  g->refused = 108;
  g->pending = 109;
  g->remembered = 110;
  g->outgoing = 111;
  g->watchers = 112;
  g->subscriptions = 113;
  g->sip_accepted = 114;
  g->sip_refused = 115;
  g->sip_failed = 116;
  g->xmpp_delivered = 117;
  g->xmpp_refused = 118;
  g->watchers_pending = 119;
  g->bounces_held = 134;
  g->bounces_dropped = 135;
  g->sip_errors_sent[SIP (300)] = 1;
  g->sip_errors_sent[SIP (403)] = 120;
  g->sip_errors_sent[SIP (699)] = 121;
  g->sip_errors_received[SIP (486)] = 122;
  g->xmpp_errors_sent[stox_xmpp_condition_index ("jid-malformed")] = 123;
  g->xmpp_errors_received[stox_xmpp_condition_index ("service-unavailable")] = 124;
  g->xmpp_errors_received[stox_xmpp_condition_index ("undefined-condition")] = 125;

  /* 0, 50 (on a bound), 51, 999 999, 1 s (the last bound), 2.5 s (+Inf) */
  static const gint64 request_us[] = { 0, 50, 51, 999999, 1000000, 2500000 };
  for (gsize i = 0; i < G_N_ELEMENTS (request_us); i++)
    stox_histogram_observe (&s->runner.latency[STOX_RUNNER_EVENT_SIP_REQUEST], request_us[i]);
  stox_histogram_observe (&s->runner.latency[STOX_RUNNER_EVENT_STANZA], 120);
  stox_histogram_observe (&s->runner.latency[STOX_RUNNER_EVENT_LINK], -5);
  s->runner.store_flush_failures = 126;
  s->events_queued = 127;
  s->link_up = TRUE;
  s->link_reconnects = 128;
  s->link_failures = 129;
  s->xmpp_send_queue = 130;
  s->sip_server_transactions = 131;
  s->sip_client_transactions = 132;
  s->store_backlog = 133;
}

static void
test_exact_output (void)
{
  StoxMetricsSnapshot s;
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "frontend", "metrics.expected",
                                                 NULL);
  g_autofree char *expected = NULL;
  g_autofree char *got = NULL;
  g_autoptr (GError) error = NULL;

  known_snapshot (&s);
  got = stox_metrics_render (&s);
  g_file_get_contents (path, &expected, NULL, &error);
  g_assert_no_error (error);
  if (g_strcmp0 (got, expected) != 0)
    {
      g_auto (GStrv) want_lines = g_strsplit (expected, "\n", -1);
      g_auto (GStrv) got_lines = g_strsplit (got, "\n", -1);

      for (guint i = 0; want_lines[i] != NULL && got_lines[i] != NULL; i++)
        if (strcmp (want_lines[i], got_lines[i]) != 0)
          {
            g_test_message ("line %u differs", i + 1);
            g_assert_cmpstr (got_lines[i], ==, want_lines[i]);
          }
      g_assert_cmpuint (g_strv_length (got_lines), ==, g_strv_length (want_lines));
    }
}

static void
test_label_escaping (void)
{
  static const struct { const char *in, *out; } rows[] = {
    { "", "" },
    { "plain-1.0", "plain-1.0" },
    { "a\"b", "a\\\"b" },
    { "back\\slash", "back\\\\slash" },
    { "two\nlines", "two\\nlines" },
    { "\\\"\n", "\\\\\\\"\\n" },
    { "tab\tstays, ü too", "tab\tstays, ü too" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GString) out = g_string_new (NULL);

      stox_metrics_append_label_value (out, rows[i].in);
      g_assert_cmpstr (out->str, ==, rows[i].out);
    }
}

/* The buckets hold what is at or below their bound, never anything
 * above it; the sum is exact. */
static void
test_histogram_buckets (void)
{
  StoxHistogram h = { 0 };

  for (guint i = 0; i < STOX_HISTOGRAM_BUCKETS; i++)
    {
      stox_histogram_observe (&h, stox_histogram_bounds_us[i]);
      stox_histogram_observe (&h, stox_histogram_bounds_us[i] + 1);
    }
  g_assert_cmpuint (h.count, ==, 2 * STOX_HISTOGRAM_BUCKETS);
  g_assert_cmpuint (h.buckets[0], ==, 1);
  for (guint i = 1; i < STOX_HISTOGRAM_BUCKETS; i++)
    g_assert_cmpuint (h.buckets[i], ==, 2);   /* its bound, and one above the previous */
  for (guint i = 1; i < STOX_HISTOGRAM_BUCKETS; i++)
    g_assert_cmpint (stox_histogram_bounds_us[i], >, stox_histogram_bounds_us[i - 1]);
  gint64 sum = 0;
  for (guint i = 0; i < STOX_HISTOGRAM_BUCKETS; i++)
    sum += 2 * stox_histogram_bounds_us[i] + 1;
  g_assert_cmpuint (h.sum_us, ==, (guint64) sum);
}

/* Prometheus conventions, checked on the whole text: every sample's
 * family was introduced by HELP then TYPE; counters end in _total; names
 * start with stox_; a histogram's buckets grow and end with +Inf, equal
 * to its _count. */
static void
test_conventions (void)
{
  StoxMetricsSnapshot s;
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GHashTable) types = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GRegex) sample_re = g_regex_new ("^([a-z_]+)(\\{[^}]*\\})? [0-9]+(\\.[0-9]+)?$", 0, 0,
                                              NULL);
  g_autofree char *help_for = NULL;
  guint64 last_bucket = 0;
  guint samples = 0;

  known_snapshot (&s);
  s.version = "1.0";
  text = stox_metrics_render (&s);
  g_assert_true (g_str_has_suffix (text, "\n"));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      const char *line = lines[i];
      g_autoptr (GMatchInfo) m = NULL;

      g_test_message ("%s", line);
      if (g_str_has_prefix (line, "# HELP "))
        {
          g_auto (GStrv) f = g_strsplit (line + 7, " ", 2);

          g_assert_true (g_str_has_prefix (f[0], "stox_"));
          g_assert_false (g_hash_table_contains (types, f[0]));   /* once per family */
          g_free (help_for);
          help_for = g_strdup (f[0]);
          continue;
        }
      if (g_str_has_prefix (line, "# TYPE "))
        {
          g_auto (GStrv) f = g_strsplit (line + 7, " ", 2);

          g_assert_cmpstr (f[0], ==, help_for);
          if (g_str_equal (f[1], "counter"))
            g_assert_true (g_str_has_suffix (f[0], "_total"));
          else
            g_assert_true (g_str_equal (f[1], "gauge") || g_str_equal (f[1], "histogram"));
          if (g_str_equal (f[1], "histogram"))
            g_assert_true (g_str_has_suffix (f[0], "_seconds"));
          g_hash_table_insert (types, g_strdup (f[0]), g_strdup (f[1]));
          continue;
        }
      g_assert_true (g_regex_match (sample_re, line, 0, &m));
      g_autofree char *name = g_match_info_fetch (m, 1);
      const char *type = g_hash_table_lookup (types, name);
      guint64 value = g_ascii_strtoull (strrchr (line, ' ') + 1, NULL, 10);

      samples++;
      if (type == NULL)
        {
          /* A histogram's series: NAME_bucket, NAME_sum, NAME_count. */
          for (const char *suffix = "_bucket\0_sum\0_count\0"; *suffix; suffix += strlen (suffix) + 1)
            if (g_str_has_suffix (name, suffix))
              {
                g_autofree char *base = g_strndup (name, strlen (name) - strlen (suffix));

                type = g_hash_table_lookup (types, base);
                g_assert_cmpstr (base, ==, help_for);
                if (g_str_equal (suffix, "_bucket"))
                  {
                    gboolean first = strstr (line, "le=\"0.00005\"") != NULL;

                    g_assert_true (first || value >= last_bucket);
                    last_bucket = value;
                  }
                else if (g_str_equal (suffix, "_count"))
                  g_assert_cmpuint (value, ==, last_bucket);   /* the +Inf bucket */
                break;
              }
          g_assert_cmpstr (type, ==, "histogram");
        }
      else
        g_assert_cmpstr (name, ==, help_for);
    }
  g_assert_cmpuint (samples, >, 100);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/metrics/exact-output", test_exact_output);
  g_test_add_func ("/metrics/label-escaping", test_label_escaping);
  g_test_add_func ("/metrics/histogram-buckets", test_histogram_buckets);
  g_test_add_func ("/metrics/conventions", test_conventions);
  return g_test_run ();
}
