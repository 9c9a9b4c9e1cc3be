/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The runner's event queue (src/daemon/runner.c): a front end's callback
 * only queues; the core sees the event from the loop, one trip each, at
 * most STOX_RUNNER_EVENTS_PER_PASS per pass; a stanza that cannot be sent
 * is an event of its own, handled in the same pass; a stop handles what
 * came before it first.  The real core, no front end and no socket: the
 * core's counters show what it was told.
 */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include <string.h>

#include "daemon/runner.h"
#include "support/shipped-rules.h"

typedef struct
{
  StoxRules   *rules;
  StoxGateway *gw;
  StoxRunner  *runner;
  StoxToken    next_token;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  static const char *const domains[] = { "xmpp.test", NULL };
  StoxGatewayConfig config = {
    .sip_domain = "sip.test", .component = "sip.test", .xmpp_domains = domains,
    .bounce_wait_ms = 250, .instance = "t",
  };
  g_autoptr (GError) error = NULL;

  f->rules = stox_test_load_shipped_rules ();
  f->gw = stox_gateway_new (&config, f->rules, &error);
  g_assert_no_error (error);
  f->runner = stox_runner_new (f->gw);
  f->next_token = 100;
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  stox_runner_free (f->runner);
  stox_gateway_free (f->gw);
  stox_rules_free (f->rules);
}

/* A MESSAGE from a SIP user to an XMPP user, as the SIP front end hands
 * it over (taken by the runner). */
static void
queue_message (Fixture *f)
{
  StoxSipRequest *req = stox_sip_request_new ();

  req->token = ++f->next_token;
  req->method = STOX_SIP_METHOD_MESSAGE;
  req->method_name = g_strdup ("MESSAGE");
  req->request_uri = g_strdup ("sip:juliet@xmpp.test");
  req->from_uri = g_strdup ("sip:romeo@sip.test");
  req->to_uri = g_strdup ("sip:juliet@xmpp.test");
  req->call_id = g_strdup ("call@test");
  req->content_type = g_strdup ("text/plain");
  req->body = g_bytes_new_static ("hello", 5);
  req->source = g_strdup ("127.0.0.1");
  stox_runner_on_sip_request (req, f->runner);
}

static StoxGatewayStats
stats (Fixture *f)
{
  StoxGatewayStats s;

  stox_gateway_get_stats (f->gw, &s);
  return s;
}

/* One non-blocking pass of the loop: the runner's source is ready at
 * once while events wait. */
static void
one_pass (void)
{
  g_main_context_iteration (NULL, FALSE);
}

/* Queued by the callback, handled by the loop. */
static void
test_queued_not_run (Fixture *f, gconstpointer data)
{
  queue_message (f);
  /* The link is down: the core would refuse it 503, but has not seen it. */
  g_assert_cmpuint (stox_runner_queued (f->runner), ==, 1);
  g_assert_cmpuint (stats (f).refused, ==, 0);

  one_pass ();
  g_assert_cmpuint (stox_runner_queued (f->runner), ==, 0);
  g_assert_cmpuint (stats (f).refused, ==, 1);
}

/* A burst is handed to the core in slices, so the loop keeps polling the
 * sockets in between; every slice in a pass of its own, none waits. */
static void
test_bounded_per_pass (Fixture *f, gconstpointer data)
{
  const guint n = 3 * STOX_RUNNER_EVENTS_PER_PASS + 5;
  guint passes = 0;

  for (guint i = 0; i < n; i++)
    queue_message (f);
  g_assert_cmpuint (stox_runner_queued (f->runner), ==, n);

  one_pass ();
  passes++;
  g_assert_cmpuint (stats (f).refused, ==, STOX_RUNNER_EVENTS_PER_PASS);
  g_assert_cmpuint (stox_runner_queued (f->runner), ==, n - STOX_RUNNER_EVENTS_PER_PASS);
  while (stox_runner_queued (f->runner) > 0 && passes < 100)
    {
      one_pass ();
      passes++;
    }
  g_assert_cmpuint (stats (f).refused, ==, n);
  g_assert_cmpuint (passes, ==, 4);
}

/* Order is kept across kinds: the link comes up before the MESSAGE that
 * follows it, which is then forwarded, not refused.  Its stanza cannot be
 * sent (no component here): that failure is a trip of its own, in the
 * same pass, and the MESSAGE gets its 503 then. */
static void
test_order_and_failed_send (Fixture *f, gconstpointer data)
{
  stox_runner_on_link (f->runner, TRUE, 0);
  queue_message (f);
  g_assert_cmpuint (stox_runner_queued (f->runner), ==, 2);

  GLogLevelFlags fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK);
  one_pass ();
  g_log_set_always_fatal (fatal);
  g_assert_cmpuint (stox_runner_queued (f->runner), ==, 0);
  g_assert_cmpuint (stats (f).sip_to_xmpp, ==, 1);
  g_assert_cmpuint (stats (f).refused, ==, 1);
  g_assert_cmpuint (stats (f).pending, ==, 0);
}

/* A stop first handles what came before it, as it came. */
static void
test_shutdown_drains_first (Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < 2 * STOX_RUNNER_EVENTS_PER_PASS; i++)
    queue_message (f);
  stox_runner_shutdown (f->runner);
  g_assert_cmpuint (stox_runner_queued (f->runner), ==, 0);
  g_assert_cmpuint (stats (f).refused, ==, 2 * STOX_RUNNER_EVENTS_PER_PASS);
}

/* Events left at the end are freed with the runner (ASan: no leak). */
static void
test_free_with_events (Fixture *f, gconstpointer data)
{
  StoxSipResponse resp = { .token = 7, .status = 200, .phrase = (char *) "OK",
                           .expires = -1, .min_expires = -1 };
  StoxStanza *st = stox_stanza_new (STOX_STANZA_MESSAGE);

  st->from = g_strdup ("juliet@xmpp.test");
  st->to = g_strdup ("romeo@sip.test");
  /* Enough to grow the ring past its first size, and wrap it. */
  for (guint i = 0; i < 100; i++)
    queue_message (f);
  one_pass ();
  for (guint i = 0; i < 100; i++)
    queue_message (f);
  stox_runner_on_sip_response (&resp, f->runner);
  stox_runner_on_stanza (st, f->runner);
  stox_runner_on_link (f->runner, FALSE, 5);
  g_assert_cmpuint (stox_runner_queued (f->runner), ==, 100 - STOX_RUNNER_EVENTS_PER_PASS + 103);
}

/* The runner's lines about stanzas it could not send, as logged. */
static GPtrArray *not_sent_lines;

static GLogWriterOutput
capture_writer (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  for (gsize i = 0; i < n_fields && not_sent_lines != NULL; i++)
    if (g_str_equal (fields[i].key, "MESSAGE") && fields[i].length < 0
        && strstr (fields[i].value, "not sent") != NULL)
      g_ptr_array_add (not_sent_lines, g_strdup (fields[i].value));
  return G_LOG_WRITER_HANDLED;
}

/* A stanza without an id that cannot go (here: no link at all) is named
 * by its destination alone, never as "stanza (null)".  The core answers
 * a message from the gateway's own domain with an error to its sender,
 * echoing its id: none. */
static void
test_failed_send_without_id (Fixture *f, gconstpointer data)
{
  StoxStanza *st = stox_stanza_new (STOX_STANZA_MESSAGE);
  g_autoptr (GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  st->from = g_strdup ("mallory@sip.test/x");
  st->to = g_strdup ("romeo@sip.test");
  st->body = g_strdup ("no id");
  not_sent_lines = lines;
  stox_runner_on_link (f->runner, TRUE, 0);
  stox_runner_on_stanza (st, f->runner);
  for (guint i = 0; i < 10 && stox_runner_queued (f->runner) > 0; i++)
    one_pass ();
  not_sent_lines = NULL;

  g_assert_cmpuint (lines->len, >=, 1);
  for (guint i = 0; i < lines->len; i++)
    {
      g_test_message ("%s", (const char *) lines->pdata[i]);
      g_assert_null (strstr (lines->pdata[i], "(null)"));
      g_assert_true (g_str_has_prefix (lines->pdata[i], "stanza to mallory@sip.test/x not sent"));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) \
  g_test_add ("/runner/events/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("queued-not-run", test_queued_not_run);
  ADD ("bounded-per-pass", test_bounded_per_pass);
  ADD ("order-and-failed-send", test_order_and_failed_send);
  ADD ("shutdown-drains-first", test_shutdown_drains_first);
  ADD ("free-with-events", test_free_with_events);
  ADD ("failed-send-without-id", test_failed_send_without_id);
  g_log_set_writer_func (capture_writer, NULL, NULL);
  return g_test_run ();
}
