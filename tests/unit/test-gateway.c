/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine's flows (docs/mappings.md §1–5, §7) replayed with a fake clock:
 * events in, actions out, no network.  Error mappings come from the
 * shipped rule files, so a wrong row there fails here too.
 */
#include "config.h"

#include <string.h>

#include "core/bounce-hold.h"
#include "core/gateway.h"
#include "core/im.h"
#include "core/iscomposing.h"
#include "core/message.h"
#include "support/shipped-rules.h"

#define MS (G_GINT64_CONSTANT (1000))
#define T0 (G_GINT64_CONSTANT (1000000000))

typedef struct
{
  StoxRules   *rules;
  StoxGateway *gw;
  GPtrArray   *actions;
  StoxToken    next_token;
} Fixture;

static void
fixture_setup_with (Fixture *f, guint bounce_wait_ms, guint max_pending,
                    const char *const *trusted)
{
  static const char *const xmpp_domains[] = { "xmpp.test", NULL };
  StoxGatewayConfig config = {
    .sip_domain = "sip.test",
    .component = "sip.test",
    .xmpp_domains = xmpp_domains,
    .trusted_peers = trusted,
    .bounce_wait_ms = bounce_wait_ms,
    .instance = "t",
    .max_pending = max_pending,
  };
  g_autoptr (GError) error = NULL;

  f->rules = stox_test_load_shipped_rules ();
  f->gw = stox_gateway_new (&config, f->rules, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->gw);
  f->actions = stox_actions_new ();
  f->next_token = 100;
  stox_gateway_on_link (f->gw, TRUE, 0, T0, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  fixture_setup_with (f, 250, 0, NULL);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_ptr_array_unref (f->actions);
  stox_gateway_free (f->gw);
  stox_rules_free (f->rules);
}

static StoxSipRequest *
message_new (Fixture *f, const char *from, const char *to, const char *ctype,
             const char *body)
{
  StoxSipRequest *req = stox_sip_request_new ();

  req->token = ++f->next_token;
  req->method = STOX_SIP_METHOD_MESSAGE;
  req->method_name = g_strdup ("MESSAGE");
  req->request_uri = g_strdup (to);
  req->from_uri = g_strdup (from);
  req->to_uri = g_strdup (to);
  req->call_id = g_strdup ("call-1@host");
  req->content_type = g_strdup (ctype);
  req->body = body != NULL ? g_bytes_new (body, strlen (body)) : NULL;
  req->source = g_strdup ("127.0.0.1");
  return req;
}

static StoxAction *
take (Fixture *f, guint index, StoxActionKind kind)
{
  g_assert_cmpuint (f->actions->len, >, index);
  StoxAction *a = f->actions->pdata[index];
  g_assert_cmpint (a->kind, ==, kind);
  return a;
}

static void
clear (Fixture *f)
{
  g_ptr_array_set_size (f->actions, 0);
}

/* Sends a MESSAGE and returns the stanza id it produced. */
static char *
forward_one (Fixture *f, gint64 now, StoxToken *ret_token)
{
  g_autoptr (StoxSipRequest) req = message_new (f, "sip:alice@sip.test", "sip:bob@xmpp.test",
                                                "text/plain", "hello");
  stox_gateway_on_sip (f->gw, req, now, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 1);
  StoxAction *a = take (f, 0, STOX_ACTION_XMPP_SEND);
  char *id = g_strdup (a->u.stanza->id);
  *ret_token = req->token;
  clear (f);
  return id;
}

static StoxStanza *
bounce_new (const char *id, const char *from, const char *condition)
{
  StoxStanza *st = stox_stanza_new (STOX_STANZA_MESSAGE);

  st->type = g_strdup ("error");
  st->id = g_strdup (id);
  st->from = g_strdup (from);
  st->to = g_strdup ("alice@sip.test");
  st->error_condition = g_strdup (condition);
  st->error_type = g_strdup ("cancel");
  return st;
}

/* ---- SIP side --------------------------------------------------------- */

static void
test_options (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) req = stox_sip_request_new ();

  req->token = 7;
  req->method = STOX_SIP_METHOD_OPTIONS;
  req->request_uri = g_strdup ("sip:sip.test");
  req->source = g_strdup ("127.0.0.1");
  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  StoxAction *a = take (f, 0, STOX_ACTION_SIP_RESPOND);
  g_assert_cmpuint (a->u.respond.token, ==, 7);
  g_assert_cmpuint (a->u.respond.status, ==, 200);
  for (const char *m = "MESSAGE\0SUBSCRIBE\0NOTIFY\0OPTIONS\0"; *m; m += strlen (m) + 1)
    g_assert_nonnull (strstr (a->u.respond.allow, m));
}

static void
test_message_window_then_202 (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) req = message_new (f, "sip:alice@sip.test", "sip:bob@xmpp.test",
                                                "text/plain", "Grüße <b>&amp;</b>");
  req->subject = g_strdup ("Re: plans");
  req->content_language = g_strdup ("de");

  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 1);
  StoxStanza *st = take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza;
  /* RFC 7572 §5 and Table 2 */
  g_assert_cmpstr (st->type, ==, "normal");
  g_assert_cmpstr (st->from, ==, "alice@sip.test");
  g_assert_cmpstr (st->to, ==, "bob@xmpp.test");
  g_assert_cmpstr (st->body, ==, "Grüße <b>&amp;</b>");
  g_assert_cmpstr (st->subject, ==, "Re: plans");
  g_assert_cmpstr (st->lang, ==, "de");
  g_assert_cmpstr (st->thread, ==, "call-1@host");
  g_assert_nonnull (st->id);
  clear (f);

  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, T0 + 250 * MS);
  stox_gateway_on_timer (f->gw, T0 + 249 * MS, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
  stox_gateway_on_timer (f->gw, T0 + 250 * MS, f->actions);
  StoxAction *a = take (f, 0, STOX_ACTION_SIP_RESPOND);
  g_assert_cmpuint (a->u.respond.token, ==, req->token);
  g_assert_cmpuint (a->u.respond.status, ==, 202);   /* RFC 3428 §7 */
  g_assert_cmpuint (f->actions->len, ==, 1);
}

static void
test_bounce_inside_window (Fixture *f, gconstpointer data)
{
  StoxToken token;
  g_autofree char *id = forward_one (f, T0, &token);
  g_autoptr (StoxStanza) bounce = bounce_new (id, "bob@xmpp.test", "service-unavailable");
  StoxGatewayStats stats;

  stox_gateway_on_stanza (f->gw, bounce, T0 + 10 * MS, f->actions);
  StoxAction *a = take (f, 0, STOX_ACTION_SIP_RESPOND);
  g_assert_cmpuint (a->u.respond.token, ==, token);
  /* docs/mappings.md §1.8 note 5: never 503; the shipped row says 403. */
  g_assert_cmpuint (a->u.respond.status, ==, 403);
  g_assert_nonnull (strstr (a->u.respond.warning, "service-unavailable"));
  clear (f);

  /* The window closing later answers nothing twice. */
  stox_gateway_on_timer (f->gw, T0 + 300 * MS, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.bounces_in_window, ==, 1);
  g_assert_cmpuint (stats.pending, ==, 0);
}

static void
test_bounce_conditions_mapped (Fixture *f, gconstpointer data)
{
  static const struct { const char *condition; guint status; } rows[] = {
    { "recipient-unavailable", 480 },   /* Table 2, first value */
    { "item-not-found", 404 },
    { "remote-server-timeout", 408 },
    { "not-authorized", 401 },
    { "no-such-condition", 400 },       /* unknown → as undefined-condition */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      StoxToken token;
      g_autofree char *id = forward_one (f, T0, &token);
      g_autoptr (StoxStanza) bounce = bounce_new (id, "bob@xmpp.test/phone", rows[i].condition);

      stox_gateway_on_stanza (f->gw, bounce, T0 + MS, f->actions);
      g_assert_cmpuint (take (f, 0, STOX_ACTION_SIP_RESPOND)->u.respond.status, ==,
                        rows[i].status);
      clear (f);
    }
}

static void
test_bounce_from_stranger_ignored (Fixture *f, gconstpointer data)
{
  StoxToken token;
  g_autofree char *id = forward_one (f, T0, &token);
  g_autoptr (StoxStanza) bounce = bounce_new (id, "mallory@xmpp.test", "forbidden");
  StoxGatewayStats stats;

  stox_gateway_on_stanza (f->gw, bounce, T0 + MS, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
  stox_gateway_on_timer (f->gw, T0 + 250 * MS, f->actions);
  g_assert_cmpuint (take (f, 0, STOX_ACTION_SIP_RESPOND)->u.respond.status, ==, 202);
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.bounces_unmatched, ==, 1);
}

/* The pending MESSAGE is found by the number in the id the gateway gave
 * its stanza ("<instance>-<n>"): only that exact text matches, not the
 * same number written otherwise or another instance's. */
static void
test_bounce_id_exact (Fixture *f, gconstpointer data)
{
  StoxToken token;
  g_autofree char *id = forward_one (f, T0, &token);
  const char *dash = strrchr (id, '-');
  g_autofree char *instance = g_strndup (id, (gsize) (dash - id));
  const char *n = dash + 1;
  g_autofree char *zero = g_strdup_printf ("%s-0%s", instance, n);
  g_autofree char *plus = g_strdup_printf ("%s-+%s", instance, n);
  g_autofree char *space = g_strdup_printf ("%s- %s", instance, n);
  g_autofree char *tail = g_strdup_printf ("%s-%sx", instance, n);
  g_autofree char *other = g_strdup_printf ("%sx-%s", instance, n);
  g_autofree char *shorter = g_strdup_printf ("%.*s-%s", (int) strlen (instance) - 1, instance, n);
  g_autofree char *huge = g_strdup_printf ("%s-99999999999999999999999", instance);
  const char *const wrong[] = { zero, plus, space, tail, other, shorter, huge, n, "", "-" };
  StoxGatewayStats stats;

  for (gsize i = 0; i < G_N_ELEMENTS (wrong); i++)
    {
      g_autoptr (StoxStanza) bounce = bounce_new (wrong[i], "bob@xmpp.test", "forbidden");

      g_test_message ("id %s", wrong[i]);
      stox_gateway_on_stanza (f->gw, bounce, T0 + MS, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 0);
    }
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.bounces_unmatched, ==, G_N_ELEMENTS (wrong));

  /* The id as written: the transaction gets the mapped error. */
  g_autoptr (StoxStanza) right = bounce_new (id, "bob@xmpp.test", "forbidden");
  stox_gateway_on_stanza (f->gw, right, T0 + 2 * MS, f->actions);
  g_assert_cmpuint (take (f, 0, STOX_ACTION_SIP_RESPOND)->u.respond.status, ==, 403);
}

static void
test_late_bounce_message_back (Fixture *f, gconstpointer data)
{
  StoxToken token;
  g_autofree char *id = forward_one (f, T0, &token);
  g_autoptr (StoxStanza) bounce = bounce_new (id, "bob@xmpp.test", "recipient-unavailable");

  stox_gateway_on_timer (f->gw, T0 + 250 * MS, f->actions);
  g_assert_cmpuint (take (f, 0, STOX_ACTION_SIP_RESPOND)->u.respond.status, ==, 202);
  clear (f);

  stox_gateway_on_stanza (f->gw, bounce, T0 + 5000 * MS, f->actions);
  StoxAction *a = take (f, 0, STOX_ACTION_SIP_MESSAGE);
  g_assert_cmpstr (a->u.message.request_uri, ==, "sip:alice@sip.test");
  g_assert_cmpstr (a->u.message.from_uri, ==, "sip:bob@xmpp.test");
  g_assert_cmpstr (a->u.message.content_type, ==, "text/plain;charset=UTF-8");
  g_autofree char *body = g_strndup (g_bytes_get_data (a->u.message.body, NULL),
                                     g_bytes_get_size (a->u.message.body));
  g_assert_nonnull (strstr (body, "not delivered"));
  g_assert_nonnull (strstr (body, "recipient-unavailable"));
  StoxToken notice = a->u.message.token;
  clear (f);

  /* The notice's own response creates no stanza. */
  StoxSipResponse resp = { .token = notice, .status = 480, .phrase = (char *) "x" };
  stox_gateway_on_sip_response (f->gw, &resp, T0 + 6000 * MS, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
}

static void
test_late_bounce_forgotten (Fixture *f, gconstpointer data)
{
  StoxToken token;
  g_autofree char *id = forward_one (f, T0, &token);
  g_autoptr (StoxStanza) bounce = bounce_new (id, "bob@xmpp.test", "recipient-unavailable");
  gint64 forget = T0 + 250 * MS + STOX_IM_LATE_BOUNCE_US;

  stox_gateway_on_timer (f->gw, T0 + 250 * MS, f->actions);
  clear (f);
  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, forget);
  stox_gateway_on_timer (f->gw, forget, f->actions);
  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, -1);
  stox_gateway_on_stanza (f->gw, bounce, forget + MS, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
}

static void
test_bounce_wait_zero (Fixture *f, gconstpointer data)
{
  fixture_teardown (f, NULL);
  fixture_setup_with (f, 0, 0, NULL);

  g_autoptr (StoxSipRequest) req = message_new (f, "sip:alice@sip.test", "sip:bob@xmpp.test",
                                                "text/plain", "now");
  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 2);
  take (f, 0, STOX_ACTION_XMPP_SEND);
  g_assert_cmpuint (take (f, 1, STOX_ACTION_SIP_RESPOND)->u.respond.status, ==, 202);
}

static void
test_link_down_503 (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) req = message_new (f, "sip:alice@sip.test", "sip:bob@xmpp.test",
                                                "text/plain", "hi");

  stox_gateway_on_link (f->gw, FALSE, 8, T0, f->actions);
  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  StoxAction *a = take (f, 0, STOX_ACTION_SIP_RESPOND);
  g_assert_cmpuint (a->u.respond.status, ==, 503);
  g_assert_cmpuint (a->u.respond.retry_after, ==, 8);
  g_assert_cmpuint (f->actions->len, ==, 1);
  clear (f);

  /* Back up: delivered again. */
  stox_gateway_on_link (f->gw, TRUE, 0, T0, f->actions);
  g_autoptr (StoxSipRequest) again = message_new (f, "sip:alice@sip.test", "sip:bob@xmpp.test",
                                                  "text/plain", "hi");
  stox_gateway_on_sip (f->gw, again, T0, f->actions);
  take (f, 0, STOX_ACTION_XMPP_SEND);
}

static void
test_send_failed_503 (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) req = message_new (f, "sip:alice@sip.test", "sip:bob@xmpp.test",
                                                "text/plain", "hi");

  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  StoxStanza *st = take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza;
  g_autoptr (GPtrArray) more = stox_actions_new ();
  stox_gateway_on_xmpp_send_failed (f->gw, st, STOX_XMPP_SEND_FAILED_LINK, T0, more);
  g_assert_cmpuint (more->len, ==, 1);
  StoxAction *a = more->pdata[0];
  g_assert_cmpint (a->kind, ==, STOX_ACTION_SIP_RESPOND);
  g_assert_cmpuint (a->u.respond.status, ==, 503);
  g_assert_cmpuint (a->u.respond.retry_after, >=, 1);
  g_assert_cmpstr (a->u.respond.warning, ==, "the XMPP server is not reachable");
  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, -1);
}

/* A stanza the XMPP front end cannot encode is not a link down: the
 * sender hears the gateway's own failure, with no Retry-After (a retry
 * fails the same way), inside the window and after it. */
static void
test_send_failed_invalid_500 (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) req = message_new (f, "sip:alice@sip.test", "sip:bob@xmpp.test",
                                                "text/plain", "hi");
  StoxGatewayStats stats;

  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  StoxStanza *st = take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza;
  g_autoptr (GPtrArray) more = stox_actions_new ();
  stox_gateway_on_xmpp_send_failed (f->gw, st, STOX_XMPP_SEND_FAILED_INVALID, T0, more);
  g_assert_cmpuint (more->len, ==, 1);
  StoxAction *a = more->pdata[0];
  g_assert_cmpint (a->kind, ==, STOX_ACTION_SIP_RESPOND);
  g_assert_cmpuint (a->u.respond.token, ==, req->token);
  g_assert_cmpuint (a->u.respond.status, ==, 500);
  g_assert_cmpuint (a->u.respond.retry_after, ==, 0);
  g_assert_cmpstr (a->u.respond.warning, ==, "the message cannot be written as XMPP");
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.refused, ==, 1);
  g_assert_cmpuint (stats.sip_failed, ==, 1);
  g_assert_cmpuint (stats.pending, ==, 0);
  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, -1);
  clear (f);
  g_ptr_array_set_size (more, 0);

  /* Answered 202 already: a MESSAGE back says why, not "unreachable". */
  g_autoptr (StoxSipRequest) late = message_new (f, "sip:alice@sip.test", "sip:bob@xmpp.test",
                                                 "text/plain", "hi again");
  stox_gateway_on_sip (f->gw, late, T0, f->actions);
  StoxStanza *st2 = stox_stanza_new (STOX_STANZA_MESSAGE);
  st2->id = g_strdup (take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza->id);
  st2->type = g_strdup ("chat");
  clear (f);
  stox_gateway_on_timer (f->gw, T0 + 10 * G_USEC_PER_SEC, f->actions);
  g_assert_cmpuint (take (f, 0, STOX_ACTION_SIP_RESPOND)->u.respond.status, ==, 202);
  clear (f);
  stox_gateway_on_xmpp_send_failed (f->gw, st2, STOX_XMPP_SEND_FAILED_INVALID, T0, more);
  stox_stanza_free (st2);
  g_assert_cmpuint (more->len, ==, 1);
  a = more->pdata[0];
  g_assert_cmpint (a->kind, ==, STOX_ACTION_SIP_MESSAGE);
  g_autofree char *notice = g_strndup (g_bytes_get_data (a->u.message.body, NULL),
                                       g_bytes_get_size (a->u.message.body));
  g_test_message ("%s", notice);
  g_assert_nonnull (strstr (notice, "internal-server-error"));
  g_assert_nonnull (strstr (notice, "cannot be written as XMPP"));
  g_assert_null (strstr (notice, "not reachable"));
}

static void
test_overload_503 (Fixture *f, gconstpointer data)
{
  fixture_teardown (f, NULL);
  fixture_setup_with (f, 250, 2, NULL);

  for (int i = 0; i < 3; i++)
    {
      g_autoptr (StoxSipRequest) req = message_new (f, "sip:alice@sip.test",
                                                    "sip:bob@xmpp.test", "text/plain", "x");
      stox_gateway_on_sip (f->gw, req, T0, f->actions);
    }
  g_assert_cmpuint (f->actions->len, ==, 3);
  take (f, 0, STOX_ACTION_XMPP_SEND);
  take (f, 1, STOX_ACTION_XMPP_SEND);
  StoxAction *a = take (f, 2, STOX_ACTION_SIP_RESPOND);
  g_assert_cmpuint (a->u.respond.status, ==, 503);
  g_assert_cmpuint (a->u.respond.retry_after, >=, 1);
}

/* With no max_pending configured every table has the one default bound,
 * STOX_GATEWAY_MAX_PENDING_DEFAULT: here the MESSAGEs held open in the
 * bounce window, the table a burst fills first. */
static void
test_max_pending_default (Fixture *f, gconstpointer data)
{
  StoxGatewayStats stats;

  fixture_teardown (f, NULL);
  fixture_setup_with (f, 250, 0, NULL);

  for (guint i = 0; i < STOX_GATEWAY_MAX_PENDING_DEFAULT; i++)
    {
      g_autoptr (StoxSipRequest) req = message_new (f, "sip:alice@sip.test",
                                                    "sip:bob@xmpp.test", "text/plain", "x");
      stox_gateway_on_sip (f->gw, req, T0, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 1);
      take (f, 0, STOX_ACTION_XMPP_SEND);
      clear (f);
    }
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.pending, ==, STOX_GATEWAY_MAX_PENDING_DEFAULT);

  g_autoptr (StoxSipRequest) req = message_new (f, "sip:alice@sip.test",
                                                "sip:bob@xmpp.test", "text/plain", "x");
  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  StoxAction *a = take (f, 0, STOX_ACTION_SIP_RESPOND);
  g_assert_cmpuint (a->u.respond.status, ==, 503);
  g_assert_cmpstr (a->u.respond.warning, ==, "gateway overloaded");
}

/* Sustained delivery must not hit the limit: the late-bounce memory of
 * answered MESSAGEs evicts its oldest entry instead (bench/README.md). */
static void
test_answered_memory_bounded (Fixture *f, gconstpointer data)
{
  StoxGatewayStats stats;
  g_autofree char *first_id = NULL;

  fixture_teardown (f, NULL);
  fixture_setup_with (f, 0, 2, NULL);

  for (int i = 0; i < 5; i++)
    {
      g_autoptr (StoxSipRequest) req = message_new (f, "sip:alice@sip.test",
                                                    "sip:bob@xmpp.test", "text/plain", "x");
      stox_gateway_on_sip (f->gw, req, T0 + i, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 2);
      StoxStanza *st = take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza;
      if (i == 0)
        first_id = g_strdup (st->id);
      g_assert_cmpuint (take (f, 1, STOX_ACTION_SIP_RESPOND)->u.respond.status, ==, 202);
      clear (f);
    }
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.remembered, ==, 2);
  g_assert_cmpuint (stats.forgotten, ==, 3);

  /* The oldest is forgotten: its bounce is unmatched, not misrouted. */
  g_autoptr (StoxStanza) bounce = bounce_new (first_id, "bob@xmpp.test", "item-not-found");
  stox_gateway_on_stanza (f->gw, bounce, T0 + 10, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.bounces_unmatched, ==, 1);
}

static void
test_untrusted_source (Fixture *f, gconstpointer data)
{
  static const char *const trusted[] = { "127.0.0.0/8", "::1", NULL };

  fixture_teardown (f, NULL);
  fixture_setup_with (f, 250, 0, trusted);

  g_autoptr (StoxSipRequest) req = message_new (f, "sip:alice@sip.test", "sip:bob@xmpp.test",
                                                "text/plain", "x");
  g_free (req->source);
  req->source = g_strdup ("192.0.2.1");
  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  g_assert_cmpuint (take (f, 0, STOX_ACTION_SIP_RESPOND)->u.respond.status, ==, 403);
  clear (f);

  g_free (req->source);
  req->source = g_strdup ("::1");
  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  take (f, 0, STOX_ACTION_XMPP_SEND);
}

/* docs/mappings.md §1 refusals, SIP → XMPP. */
static void
test_sip_refusals (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const char *from, *to, *ctype, *body;
    guint status;
  } rows[] = {
    { "sip:alice@elsewhere.test", "sip:bob@xmpp.test", "text/plain", "x", 403 },
    { "sip:alice@sip.test", "sip:bob@unserved.test", "text/plain", "x", 404 },
    { "sip:alice@sip.test", "sips:bob@xmpp.test", "text/plain", "x", 416 },
    { "sip:alice@sip.test", "tel:+15551234", "text/plain", "x", 416 },
    { "sip:alice@sip.test", "sip:@xmpp.test", "text/plain", "x", 400 },
    { "sip:alice@sip.test", "sip:b%01ob@xmpp.test", "text/plain", "x", 400 },
    { "sip:%FF@sip.test", "sip:bob@xmpp.test", "text/plain", "x", 400 },
    { "sip:alice@sip.test", "sip:bob@xmpp.test", "application/octet-stream", "x", 415 },
    { "sip:alice@sip.test", "sip:bob@xmpp.test", "text/plain", "\xff\xfe bad", 400 },
    { "sip:alice@sip.test", "sip:bob@xmpp.test", "text/plain", "", 400 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (StoxSipRequest) req = message_new (f, rows[i].from, rows[i].to,
                                                    rows[i].ctype, rows[i].body);
      g_test_message ("row %zu: %s → %s", i, rows[i].from, rows[i].to);
      stox_gateway_on_sip (f->gw, req, T0, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 1);   /* nothing forwarded */
      StoxAction *a = take (f, 0, STOX_ACTION_SIP_RESPOND);
      g_assert_cmpuint (a->u.respond.status, ==, rows[i].status);
      if (rows[i].status == 415)
        g_assert_cmpstr (a->u.respond.accept, ==, STOX_MESSAGE_ACCEPT);
      clear (f);
    }
}

static void
test_sip_too_large (Fixture *f, gconstpointer data)
{
  g_autofree char *big = g_strnfill (STOX_MESSAGE_BODY_MAX + 1, 'x');
  g_autoptr (StoxSipRequest) req = message_new (f, "sip:alice@sip.test", "sip:bob@xmpp.test",
                                                "text/plain", big);

  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 1);
  g_assert_cmpuint (take (f, 0, STOX_ACTION_SIP_RESPOND)->u.respond.status, ==, 413);
  clear (f);

  /* Exactly at the limit it is delivered, whole, where the XMPP side
   * takes a stanza that large ([xmpp] max-stanza-size). */
  static const char *const xmpp_domains[] = { "xmpp.test", NULL };
  StoxGatewayConfig big_stanzas = {
    .sip_domain = "sip.test", .component = "sip.test", .xmpp_domains = xmpp_domains,
    .bounce_wait_ms = 250, .instance = "t", .max_stanza_size = 2 * STOX_MESSAGE_BODY_MAX,
  };
  stox_gateway_free (f->gw);
  f->gw = stox_gateway_new (&big_stanzas, f->rules, NULL);
  stox_gateway_on_link (f->gw, TRUE, 0, T0, f->actions);
  g_autofree char *limit = g_strnfill (STOX_MESSAGE_BODY_MAX, 'y');
  g_autoptr (StoxSipRequest) ok = message_new (f, "sip:alice@sip.test", "sip:bob@xmpp.test",
                                               "text/plain", limit);
  stox_gateway_on_sip (f->gw, ok, T0, f->actions);
  g_assert_cmpuint (strlen (take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza->body), ==,
                    STOX_MESSAGE_BODY_MAX);
}

static void
test_sip_escaped_user (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) req = message_new (f, "sip:o'malley@sip.test",
                                                "sip:f%C3%BC@xmpp.test", "text/plain", "x");

  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  StoxStanza *st = take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza;
  g_assert_cmpstr (st->from, ==, "o\\27malley@sip.test");   /* XEP-0106 */
  g_assert_cmpstr (st->to, ==, "fü@xmpp.test");            /* RFC 7247 §6.4 */
}

static void
test_sip_iscomposing (Fixture *f, gconstpointer data)
{
  g_autofree char *doc = stox_iscomposing_build (TRUE, 60);
  g_autoptr (StoxSipRequest) req = message_new (f, "sip:alice@sip.test", "sip:bob@xmpp.test",
                                                STOX_ISCOMPOSING_CONTENT_TYPE, doc);

  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  StoxStanza *st = take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza;
  g_assert_null (st->body);
  g_assert_cmpint (st->chat_state, ==, STOX_CHAT_STATE_COMPOSING);
}

static void
test_other_methods (Fixture *f, gconstpointer data)
{
  /* SUBSCRIBE and NOTIFY belong to presence (test-presence.c). */
  static const StoxSipMethod methods[] = {
    STOX_SIP_METHOD_OTHER, STOX_SIP_METHOD_PUBLISH,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      g_autoptr (StoxSipRequest) req = stox_sip_request_new ();

      req->token = 9;
      req->method = methods[i];
      req->request_uri = g_strdup ("sip:bob@xmpp.test");
      req->source = g_strdup ("127.0.0.1");
      stox_gateway_on_sip (f->gw, req, T0, f->actions);
      StoxAction *a = take (f, 0, STOX_ACTION_SIP_RESPOND);
      /* PUBLISH included: stox is no presence server (stoxd(8)). */
      g_assert_cmpuint (a->u.respond.status, ==, 405);
      g_assert_nonnull (a->u.respond.allow);
      clear (f);
    }
}

/* The gateway's own domains, at run time: with xmpp-domains '*' and a
 * component domain of its own, a Request-URI in the SIP domain or the
 * component's domain is refused (404) and nothing reaches XMPP, so a
 * MESSAGE cannot come back through the component as a new SIP request
 * (with a fresh Max-Forwards and the gateway's standing). */
static void
loop_gateway_setup (Fixture *f)
{
  static const char *const any[] = { "*", NULL };
  StoxGatewayConfig config = {
    .sip_domain = "sip.test",
    .component = "gw.test",
    .xmpp_domains = any,
    .bounce_wait_ms = 250,
    .instance = "t",
  };
  g_autoptr (GError) error = NULL;

  fixture_teardown (f, NULL);
  f->rules = stox_test_load_shipped_rules ();
  f->gw = stox_gateway_new (&config, f->rules, &error);
  g_assert_no_error (error);
  f->actions = stox_actions_new ();
  stox_gateway_on_link (f->gw, TRUE, 0, T0, f->actions);
}

static void
test_sip_own_domains_refused (Fixture *f, gconstpointer data)
{
  static const char *const targets[] = {
    "sip:boss@sip.test", "sip:boss@gw.test", "sip:boss@SIP.Test", "sip:boss@GW.TEST",
  };

  loop_gateway_setup (f);
  for (gsize i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      g_autoptr (StoxSipRequest) req = message_new (f, "sip:eve@sip.test", targets[i],
                                                    "text/plain", "wire the money");
      g_autoptr (StoxSipRequest) sub = message_new (f, "sip:eve@sip.test", targets[i], NULL,
                                                    NULL);
      g_test_message ("MESSAGE/SUBSCRIBE to %s", targets[i]);
      stox_gateway_on_sip (f->gw, req, T0, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 1);   /* no stanza */
      StoxAction *a = take (f, 0, STOX_ACTION_SIP_RESPOND);
      g_assert_cmpuint (a->u.respond.status, ==, 404);
      g_assert_nonnull (strstr (a->u.respond.warning, "own domain"));
      clear (f);

      sub->method = STOX_SIP_METHOD_SUBSCRIBE;
      sub->event = g_strdup ("presence");
      stox_gateway_on_sip (f->gw, sub, T0, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 1);
      g_assert_cmpuint (take (f, 0, STOX_ACTION_SIP_RESPOND)->u.respond.status, ==, 404);
      clear (f);
    }

  /* Any other domain is served, as '*' says. */
  g_autoptr (StoxSipRequest) ok = message_new (f, "sip:eve@sip.test", "sip:bob@xmpp.test",
                                               "text/plain", "hi");
  stox_gateway_on_sip (f->gw, ok, T0, f->actions);
  g_assert_cmpstr (take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza->from, ==, "eve@gw.test");
}

/* The other half of the loop: a stanza from the gateway's own domains
 * already crossed from SIP; it never leaves as a SIP request. */
static void
test_xmpp_from_own_domains_refused (Fixture *f, gconstpointer data)
{
  static const char *const senders[] = { "eve@gw.test/x", "eve@sip.test", "eve@GW.test" };

  loop_gateway_setup (f);
  for (gsize i = 0; i < G_N_ELEMENTS (senders); i++)
    {
      g_autoptr (StoxStanza) st = stox_stanza_new (STOX_STANZA_MESSAGE);
      g_autoptr (StoxStanza) sub = stox_stanza_new (STOX_STANZA_PRESENCE);

      st->id = g_strdup ("loop");
      st->from = g_strdup (senders[i]);
      st->to = g_strdup ("boss@gw.test");
      st->body = g_strdup ("wire the money");
      g_test_message ("<message/> and subscribe from %s", senders[i]);
      stox_gateway_on_stanza (f->gw, st, T0, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 1);   /* no SIP request */
      StoxStanza *err = take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza;
      g_assert_cmpstr (err->type, ==, "error");
      g_assert_cmpstr (err->error_condition, ==, "forbidden");
      clear (f);

      sub->type = g_strdup ("subscribe");
      sub->from = g_strdup (senders[i]);
      sub->to = g_strdup ("boss@gw.test");
      stox_gateway_on_stanza (f->gw, sub, T0, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 1);   /* no SUBSCRIBE */
      g_assert_cmpstr (take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza->error_condition, ==,
                       "forbidden");
      clear (f);
    }
}

/* ---- XMPP side -------------------------------------------------------- */

static StoxStanza *
chat_new (const char *body, StoxChatState state)
{
  StoxStanza *st = stox_stanza_new (STOX_STANZA_MESSAGE);

  st->type = g_strdup ("chat");
  st->id = g_strdup ("m1");
  st->from = g_strdup ("bob@xmpp.test/laptop");
  st->to = g_strdup ("alice@sip.test");
  st->body = g_strdup (body);
  st->chat_state = state;
  return st;
}

static void
test_xmpp_message_to_sip (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxStanza) st = chat_new ("5 < 6 & \"ok\" 👋", STOX_CHAT_STATE_ACTIVE);
  st->subject = g_strdup ("Topic");
  st->lang = g_strdup ("en");
  st->thread = g_strdup ("thread-7");

  stox_gateway_on_stanza (f->gw, st, T0, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 1);
  StoxAction *a = take (f, 0, STOX_ACTION_SIP_MESSAGE);
  g_assert_cmpstr (a->u.message.request_uri, ==, "sip:alice@sip.test");
  g_assert_cmpstr (a->u.message.from_uri, ==, "sip:bob@xmpp.test;gr=laptop");
  g_assert_cmpstr (a->u.message.content_type, ==, "text/plain;charset=UTF-8");
  g_assert_cmpstr (a->u.message.subject, ==, "Topic");
  g_assert_cmpstr (a->u.message.content_language, ==, "en");
  g_assert_cmpstr (a->u.message.call_id, ==, "thread-7");   /* Table 1 */
  g_assert_cmpmem (g_bytes_get_data (a->u.message.body, NULL),
                   g_bytes_get_size (a->u.message.body),
                   "5 < 6 & \"ok\" 👋", strlen ("5 < 6 & \"ok\" 👋"));
  StoxToken token = a->u.message.token;
  clear (f);

  /* SIP error → <message type=error> with the Table 3 condition. */
  StoxSipResponse resp = { .token = token, .status = 486, .phrase = (char *) "Busy Here" };
  stox_gateway_on_sip_response (f->gw, &resp, T0 + MS, f->actions);
  StoxStanza *err = take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza;
  g_assert_cmpstr (err->type, ==, "error");
  g_assert_cmpstr (err->id, ==, "m1");
  g_assert_cmpstr (err->to, ==, "bob@xmpp.test/laptop");
  g_assert_cmpstr (err->from, ==, "alice@sip.test");
  g_assert_cmpstr (err->error_condition, ==, "recipient-unavailable");
  g_assert_cmpstr (err->error_type, ==, "wait");
  clear (f);

  /* The same token answered again (a stray) does nothing. */
  stox_gateway_on_sip_response (f->gw, &resp, T0 + MS, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
}

/* RFC 7572 §4 Table 1 note 1: the sender's resource is the ;gr= of the
 * From; "message-gr off" (stox-rules(5)) leaves it out, for SIP clients
 * that show it or open a second conversation for it. */
static void
test_xmpp_message_gr_rule (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxStanza) st = chat_new ("hi", STOX_CHAT_STATE_NONE);
  g_autoptr (StoxStanza) typing = chat_new (NULL, STOX_CHAT_STATE_COMPOSING);
  g_autoptr (GError) error = NULL;

  stox_gateway_on_stanza (f->gw, st, T0, f->actions);
  g_assert_cmpstr (take (f, 0, STOX_ACTION_SIP_MESSAGE)->u.message.from_uri, ==,
                   "sip:bob@xmpp.test;gr=laptop");
  clear (f);

  g_assert_true (stox_rules_parse (f->rules, "90-local.rules", "message-gr off\n", 15, &error));
  g_assert_no_error (error);
  stox_gateway_set_rules (f->gw, f->rules);
  stox_gateway_on_stanza (f->gw, st, T0 + MS, f->actions);
  stox_gateway_on_stanza (f->gw, typing, T0 + MS, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 2);
  g_assert_cmpstr (take (f, 0, STOX_ACTION_SIP_MESSAGE)->u.message.from_uri, ==,
                   "sip:bob@xmpp.test");
  g_assert_cmpstr (take (f, 1, STOX_ACTION_SIP_MESSAGE)->u.message.from_uri, ==,
                   "sip:bob@xmpp.test");
}

/* The SIP side not keeping up (the runner's overload, runner.h): a
 * message toward SIP gets <resource-constraint/> of type wait at once and
 * becomes no request; once cleared, the same message goes out. */
static void
test_xmpp_sip_overloaded (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxStanza) st = chat_new ("hi", STOX_CHAT_STATE_NONE);
  StoxGatewayStats stats;

  stox_gateway_set_sip_overloaded (f->gw, TRUE);
  stox_gateway_on_stanza (f->gw, st, T0, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 1);
  StoxStanza *err = take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza;
  g_assert_cmpstr (err->type, ==, "error");
  g_assert_cmpstr (err->id, ==, "m1");
  g_assert_cmpstr (err->to, ==, "bob@xmpp.test/laptop");
  g_assert_cmpstr (err->error_condition, ==, "resource-constraint");
  g_assert_cmpstr (err->error_type, ==, "wait");
  clear (f);
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.outgoing, ==, 0);

  stox_gateway_set_sip_overloaded (f->gw, FALSE);
  stox_gateway_on_stanza (f->gw, st, T0 + MS, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 1);
  take (f, 0, STOX_ACTION_SIP_MESSAGE);
}

static void
test_xmpp_success_is_silent (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxStanza) st = chat_new ("hi", STOX_CHAT_STATE_NONE);
  StoxGatewayStats stats;

  stox_gateway_on_stanza (f->gw, st, T0, f->actions);
  StoxSipResponse resp = { .token = take (f, 0, STOX_ACTION_SIP_MESSAGE)->u.message.token,
                           .status = 200, .phrase = (char *) "OK" };
  clear (f);
  stox_gateway_on_sip_response (f->gw, &resp, T0, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.outgoing, ==, 0);
}

static void
test_xmpp_escaped_target (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxStanza) st = chat_new ("x", STOX_CHAT_STATE_NONE);
  g_free (st->to);
  st->to = g_strdup ("o\\27malley@sip.test");

  stox_gateway_on_stanza (f->gw, st, T0, f->actions);
  g_assert_cmpstr (take (f, 0, STOX_ACTION_SIP_MESSAGE)->u.message.request_uri, ==,
                   "sip:o'malley@sip.test");
}

/* ejabberd passes a JID on as its client wrote it; the SIP user is the
 * one of the case-folded localpart (RFC 7622 §3.3.1), from and to. */
static void
test_xmpp_target_case_folded (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxStanza) st = chat_new ("x", STOX_CHAT_STATE_NONE);
  g_free (st->to);
  st->to = g_strdup ("ALICE@sip.test");
  g_free (st->from);
  st->from = g_strdup ("Bob@XMPP.test/Laptop");

  stox_gateway_on_stanza (f->gw, st, T0, f->actions);
  StoxAction *a = take (f, 0, STOX_ACTION_SIP_MESSAGE);
  g_assert_cmpstr (a->u.message.request_uri, ==, "sip:alice@sip.test");
  g_assert_cmpstr (a->u.message.from_uri, ==, "sip:bob@xmpp.test;gr=Laptop");
}

static void
test_xmpp_refusals (Fixture *f, gconstpointer data)
{
  static const char *const no_body = NULL;
  const struct
  {
    const char *from, *to, *body, *condition;
  } rows[] = {
    { "bob@xmpp.test/r", "sip.test", "x", "jid-malformed" },           /* bare component */
    { "eve@evil.test/r", "alice@sip.test", "x", "forbidden" },
    { "bob@xmpp.test/r", "alice@other.test", "x", "item-not-found" },
    { "bob@xmpp.test/r", "alice@sip.test", "bad \xc3\x28 utf8", "bad-request" },
  };

  (void) no_body;
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (StoxStanza) st = chat_new (rows[i].body, STOX_CHAT_STATE_NONE);
      g_free (st->from);
      st->from = g_strdup (rows[i].from);
      g_free (st->to);
      st->to = g_strdup (rows[i].to);

      g_test_message ("row %zu: %s", i, rows[i].condition);
      stox_gateway_on_stanza (f->gw, st, T0, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 1);
      StoxStanza *err = take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza;
      g_assert_cmpstr (err->type, ==, "error");
      g_assert_cmpstr (err->error_condition, ==, rows[i].condition);
      g_assert_cmpstr (err->to, ==, rows[i].from);
      g_assert_nonnull (err->error_type);

      /* An error is never answered with an error (no loops). */
      g_autoptr (GPtrArray) none = stox_actions_new ();
      stox_gateway_on_stanza (f->gw, err, T0, none);
      g_assert_cmpuint (none->len, ==, 0);
      clear (f);
    }
}

/* RFC 7572 §6: a message too large for SIP.  The SIP front end knows the
 * headers it writes, so it refuses the MESSAGE itself with a 513 whose
 * warning gives the size and the limit; the rules make that
 * <policy-violation/> (the RFC 7247 Table 3 row), with the warning as its
 * text.  A 513 from the wire has no warning: its status line is the text. */
static void
test_xmpp_too_large_for_sip (Fixture *f, gconstpointer data)
{
  g_autofree char *big = g_strnfill (1300, 'x');
  const char *why = "the message would be 1617 bytes as SIP; the limit is 1300 (RFC 3428 §8)";

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr (StoxStanza) st = chat_new (big, STOX_CHAT_STATE_NONE);

      g_test_message ("%s", i == 0 ? "the front end's refusal" : "a 513 from the wire");
      stox_gateway_on_stanza (f->gw, st, T0, f->actions);
      StoxSipResponse resp = {
        .token = take (f, 0, STOX_ACTION_SIP_MESSAGE)->u.message.token,
        .status = 513, .phrase = (char *) "Message Too Large", .expires = -1,
        .min_expires = -1, .warning = (char *) (i == 0 ? why : NULL),
      };
      clear (f);
      stox_gateway_on_sip_response (f->gw, &resp, T0, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 1);
      StoxStanza *err = take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza;
      g_assert_cmpint (err->kind, ==, STOX_STANZA_MESSAGE);
      g_assert_cmpstr (err->type, ==, "error");
      g_assert_cmpstr (err->id, ==, "m1");
      g_assert_cmpstr (err->from, ==, "alice@sip.test");
      g_assert_cmpstr (err->to, ==, "bob@xmpp.test/laptop");
      g_assert_cmpstr (err->error_condition, ==, "policy-violation");
      g_assert_cmpstr (err->error_type, ==, "modify");
      g_assert_cmpstr (err->error_text, ==, i == 0 ? why : "SIP 513 Message Too Large");
      clear (f);
    }
}

static void
test_xmpp_bodyless_not_forwarded (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxStanza) st = chat_new (NULL, STOX_CHAT_STATE_NONE);

  stox_gateway_on_stanza (f->gw, st, T0, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
}

static const char *
request_body (Fixture *f, guint index, GString *into)
{
  StoxAction *a = take (f, index, STOX_ACTION_SIP_MESSAGE);
  g_assert_cmpstr (a->u.message.content_type, ==, STOX_ISCOMPOSING_CONTENT_TYPE);
  g_string_truncate (into, 0);
  g_string_append_len (into, g_bytes_get_data (a->u.message.body, NULL),
                       g_bytes_get_size (a->u.message.body));
  return into->str;
}

/* docs/mappings.md §3: composing → active; others → idle only after active;
 * no repeat within 60 s. */
static void
test_xmpp_chat_states (Fixture *f, gconstpointer data)
{
  g_autoptr (GString) body = g_string_new (NULL);
  const struct
  {
    gint64 at_ms;
    StoxChatState state;
    const char *expect;   /* "active", "idle" or NULL for nothing */
  } steps[] = {
    { 0, STOX_CHAT_STATE_PAUSED, NULL },        /* idle without a prior active */
    { 1, STOX_CHAT_STATE_COMPOSING, "active" },
    { 2, STOX_CHAT_STATE_COMPOSING, NULL },     /* same state within 60 s */
    { 3, STOX_CHAT_STATE_PAUSED, "idle" },
    { 4, STOX_CHAT_STATE_ACTIVE, NULL },        /* idle already sent */
    { 5, STOX_CHAT_STATE_COMPOSING, "active" },
    { 60004, STOX_CHAT_STATE_COMPOSING, NULL }, /* 59.999 s after the last send */
    { 65006, STOX_CHAT_STATE_COMPOSING, "active" }, /* refresh after 60 s */
    { 65007, STOX_CHAT_STATE_GONE, "idle" },
    { 65008, STOX_CHAT_STATE_INACTIVE, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      g_autoptr (StoxStanza) st = chat_new (NULL, steps[i].state);

      g_test_message ("step %zu", i);
      stox_gateway_on_stanza (f->gw, st, T0 + steps[i].at_ms * MS, f->actions);
      if (steps[i].expect == NULL)
        g_assert_cmpuint (f->actions->len, ==, 0);
      else
        {
          g_autofree char *state = g_strdup_printf ("<state>%s</state>", steps[i].expect);
          g_assert_cmpuint (f->actions->len, ==, 1);
          g_assert_nonnull (strstr (request_body (f, 0, body), state));
        }
      clear (f);
    }
}

static guint
count_kind (Fixture *f, StoxActionKind kind)
{
  guint n = 0;

  for (guint i = 0; i < f->actions->len; i++)
    n += ((StoxAction *) f->actions->pdata[i])->kind == kind;
  return n;
}

/* docs/mappings.md §3: a chat state the SIP side refuses is never bounced to
 * the XMPP user; after 415 (or 405, 501) no isComposing goes to that SIP
 * user for STOX_IM_ISCOMPOSING_REFUSED_S, while messages with a body do
 * (and their own refusals still come back).  Other failures stop
 * nothing. */
static void
test_xmpp_chat_state_refused (Fixture *f, gconstpointer data)
{
  const gint64 hold = (gint64) STOX_IM_ISCOMPOSING_REFUSED_S * G_USEC_PER_SEC;
  static const guint refusing[] = { 415, 405, 501 };

  for (gsize i = 0; i < G_N_ELEMENTS (refusing); i++)
    {
      g_autoptr (StoxStanza) composing = chat_new (NULL, STOX_CHAT_STATE_COMPOSING);
      g_autoptr (StoxStanza) paused = chat_new (NULL, STOX_CHAT_STATE_PAUSED);
      g_autoptr (StoxStanza) text = chat_new ("still there?", STOX_CHAT_STATE_ACTIVE);
      gint64 t = T0 + (gint64) i * 2 * hold;

      g_test_message ("status %u", refusing[i]);
      stox_gateway_on_stanza (f->gw, composing, t, f->actions);
      StoxSipResponse resp = { .token = take (f, 0, STOX_ACTION_SIP_MESSAGE)->u.message.token,
                               .status = refusing[i], .phrase = (char *) "No" };
      clear (f);
      stox_gateway_on_sip_response (f->gw, &resp, t + MS, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 0);            /* no <message type=error> */

      /* For an hour: neither paused nor a new composing goes out. */
      stox_gateway_on_stanza (f->gw, paused, t + 2 * MS, f->actions);
      stox_gateway_on_stanza (f->gw, composing, t + 61 * G_USEC_PER_SEC, f->actions);
      stox_gateway_on_stanza (f->gw, composing, t + MS + hold - 1, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 0);
      /* A message with a body does, and its refusal comes back. */
      stox_gateway_on_stanza (f->gw, text, t + 3 * MS, f->actions);
      g_assert_cmpstr (take (f, 0, STOX_ACTION_SIP_MESSAGE)->u.message.content_type, ==,
                       "text/plain;charset=UTF-8");
      StoxSipResponse bounced = { .token = take (f, 0, STOX_ACTION_SIP_MESSAGE)->u.message.token,
                                  .status = 415, .phrase = (char *) "No" };
      clear (f);
      stox_gateway_on_sip_response (f->gw, &bounced, t + 4 * MS, f->actions);
      g_assert_cmpstr (take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza->type, ==, "error");
      clear (f);

      /* The hour is over (the memory goes with its deadline): composing
       * is tried again. */
      g_assert_cmpint (stox_gateway_next_deadline (f->gw), <=, t + MS + hold);
      stox_gateway_on_timer (f->gw, t + MS + hold, f->actions);
      clear (f);
      stox_gateway_on_stanza (f->gw, composing, t + MS + hold, f->actions);
      g_assert_cmpuint (count_kind (f, STOX_ACTION_SIP_MESSAGE), ==, 1);
      resp.token = take (f, 0, STOX_ACTION_SIP_MESSAGE)->u.message.token;
      resp.status = 200;
      clear (f);
      stox_gateway_on_sip_response (f->gw, &resp, t + MS + hold, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 0);
    }

  /* A failure that does not say "not supported" (the user is offline):
   * not bounced either, and the next chat state is sent. */
  {
    g_autoptr (StoxStanza) composing = chat_new (NULL, STOX_CHAT_STATE_COMPOSING);
    g_autoptr (StoxStanza) paused = chat_new (NULL, STOX_CHAT_STATE_PAUSED);
    gint64 t = T0 + 10 * hold;

    g_free (composing->to);
    composing->to = g_strdup ("carol@sip.test");
    g_free (paused->to);
    paused->to = g_strdup ("carol@sip.test");
    stox_gateway_on_stanza (f->gw, composing, t, f->actions);
    StoxSipResponse resp = { .token = take (f, 0, STOX_ACTION_SIP_MESSAGE)->u.message.token,
                             .status = 480, .phrase = (char *) "Temporarily Unavailable" };
    clear (f);
    stox_gateway_on_sip_response (f->gw, &resp, t + MS, f->actions);
    g_assert_cmpuint (f->actions->len, ==, 0);
    stox_gateway_on_stanza (f->gw, paused, t + 2 * MS, f->actions);
    g_assert_cmpuint (count_kind (f, STOX_ACTION_SIP_MESSAGE), ==, 1);
  }
}

/* A chat state the gateway refuses (overloaded: resource-constraint) was
 * not sent, so the memory must not say it was: once there is room, the
 * same composing goes out.  And the memory is bounded like every table:
 * with room for 2 conversations, a third drops the least recently used
 * one, whose next paused then has no active to follow (nothing sent). */
static void
test_xmpp_chat_state_memory (Fixture *f, gconstpointer data)
{
  g_autoptr (GString) body = g_string_new (NULL);
  const char *const targets[] = { "a@sip.test", "b@sip.test", "c@sip.test" };

  fixture_teardown (f, NULL);
  fixture_setup_with (f, 250, 2, NULL);

  /* Two MESSAGEs waiting for their answers fill the table of 2. */
  for (int i = 0; i < 2; i++)
    {
      g_autoptr (StoxStanza) st = chat_new (NULL, STOX_CHAT_STATE_COMPOSING);

      g_free (st->to);
      st->to = g_strdup (targets[i]);
      stox_gateway_on_stanza (f->gw, st, T0, f->actions);
    }
  g_assert_cmpuint (count_kind (f, STOX_ACTION_SIP_MESSAGE), ==, 2);
  StoxToken first = ((StoxAction *) f->actions->pdata[0])->u.message.token;
  StoxToken second = ((StoxAction *) f->actions->pdata[1])->u.message.token;
  clear (f);

  g_autoptr (StoxStanza) c = chat_new (NULL, STOX_CHAT_STATE_COMPOSING);
  g_free (c->to);
  c->to = g_strdup (targets[2]);
  stox_gateway_on_stanza (f->gw, c, T0 + MS, f->actions);
  g_assert_cmpuint (count_kind (f, STOX_ACTION_SIP_MESSAGE), ==, 0);
  g_assert_cmpuint (count_kind (f, STOX_ACTION_XMPP_SEND), ==, 1);   /* the error */
  clear (f);

  /* Room again: the refused composing was not remembered as sent. */
  StoxSipResponse ok = { .token = first, .status = 200, .phrase = (char *) "OK",
                         .expires = -1, .min_expires = -1 };
  stox_gateway_on_sip_response (f->gw, &ok, T0 + 2 * MS, f->actions);
  ok.token = second;
  stox_gateway_on_sip_response (f->gw, &ok, T0 + 2 * MS, f->actions);
  clear (f);
  stox_gateway_on_stanza (f->gw, c, T0 + 3 * MS, f->actions);
  g_assert_cmpuint (count_kind (f, STOX_ACTION_SIP_MESSAGE), ==, 1);
  g_assert_nonnull (strstr (request_body (f, 0, body), "<state>active</state>"));
  clear (f);

  /* c's conversation pushed out the least recently used one, a's: a's
   * paused finds no active sent, b's still does. */
  for (int i = 0; i < 2; i++)
    {
      g_autoptr (StoxStanza) p = chat_new (NULL, STOX_CHAT_STATE_PAUSED);

      g_free (p->to);
      p->to = g_strdup (targets[i]);
      stox_gateway_on_stanza (f->gw, p, T0 + 4 * MS, f->actions);
      g_assert_cmpuint (count_kind (f, STOX_ACTION_SIP_MESSAGE), ==, i == 0 ? 0 : 1);
      clear (f);
    }
}

static void
test_xmpp_body_resets_composing (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxStanza) composing = chat_new (NULL, STOX_CHAT_STATE_COMPOSING);
  g_autoptr (StoxStanza) text = chat_new ("done", STOX_CHAT_STATE_ACTIVE);
  g_autoptr (StoxStanza) paused = chat_new (NULL, STOX_CHAT_STATE_PAUSED);

  stox_gateway_on_stanza (f->gw, composing, T0, f->actions);
  stox_gateway_on_stanza (f->gw, text, T0 + MS, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 2);
  clear (f);
  /* RFC 3994 §3.3: the text already made the receiver idle. */
  stox_gateway_on_stanza (f->gw, paused, T0 + 2 * MS, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
}

static StoxStanza *
iq_new (const char *type, const char *to, const char *child, const char *ns)
{
  StoxStanza *st = stox_stanza_new (STOX_STANZA_IQ);

  st->type = g_strdup (type);
  st->id = g_strdup ("q1");
  st->from = g_strdup ("bob@xmpp.test/laptop");
  st->to = g_strdup (to);
  st->iq_child_name = g_strdup (child);
  st->iq_child_ns = g_strdup (ns);
  return st;
}

static const char *
or_dash (const char *s)
{
  return s != NULL ? s : "-";
}

/* Whether the disco answer lists `var`. */
static gboolean
disco_has_feature (const StoxDisco *d, const char *var)
{
  for (guint i = 0; d->features != NULL && i < d->features->len; i++)
    if (g_strcmp0 (d->features->pdata[i], var) == 0)
      return TRUE;
  return FALSE;
}

static void
test_iq_readiness (Fixture *f, gconstpointer data)
{
  /* disco: "" none (an empty result or an error), else "kind
   * category/type/name" ("-" for none), and `feature` among the
   * features. */
  const struct
  {
    const char *type, *to, *child, *ns;
    const char *expect_type;
    const char *disco;
    const char *feature;
  } rows[] = {
    { "get", "sip.test", "query", "http://jabber.org/protocol/disco#info", "result",
      "info gateway/simple/stox SIP gateway", "http://jabber.org/protocol/disco#items" },
    { "get", "sip.test", "query", "http://jabber.org/protocol/disco#info", "result",
      "info gateway/simple/stox SIP gateway", "jid\\20escaping" },
    { "get", "sip.test", "query", "http://jabber.org/protocol/disco#info", "result",
      "info gateway/simple/stox SIP gateway", "urn:xmpp:ping" },
    { "get", "alice@sip.test", "query", "http://jabber.org/protocol/disco#info", "result",
      "info client/phone/-", "http://jabber.org/protocol/disco#info" },
    { "get", "sip.test", "query", "http://jabber.org/protocol/disco#items", "result",
      "items -/-/-", NULL },
    { "get", "sip.test", "ping", "urn:xmpp:ping", "result", "", NULL },
    { "get", "alice@sip.test", "ping", "urn:xmpp:ping", "result", "", NULL },
    { "get", "sip.test", "time", "urn:xmpp:time", "error", "", NULL },
    { "set", "sip.test", "query", "jabber:iq:register", "error", "", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (StoxStanza) iq = iq_new (rows[i].type, rows[i].to, rows[i].child, rows[i].ns);

      g_test_message ("row %zu", i);
      stox_gateway_on_stanza (f->gw, iq, T0, f->actions);
      StoxStanza *r = take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza;
      g_assert_cmpint (r->kind, ==, STOX_STANZA_IQ);
      g_assert_cmpstr (r->type, ==, rows[i].expect_type);
      g_assert_cmpstr (r->id, ==, "q1");
      g_assert_cmpstr (r->to, ==, "bob@xmpp.test/laptop");
      g_assert_cmpstr (r->from, ==, rows[i].to);
      g_assert_null (r->iq_child_name);
      if (*rows[i].disco == '\0')
        g_assert_null (r->disco);
      else
        {
          g_autofree char *got = NULL;

          g_assert_nonnull (r->disco);
          got = g_strdup_printf ("%s %s/%s/%s",
                                 r->disco->kind == STOX_DISCO_INFO ? "info" : "items",
                                 or_dash (r->disco->category), or_dash (r->disco->type),
                                 or_dash (r->disco->name));
          g_assert_cmpstr (got, ==, rows[i].disco);
          if (rows[i].feature != NULL)
            g_assert_true (disco_has_feature (r->disco, rows[i].feature));
          else
            g_assert_true (r->disco->features == NULL || r->disco->features->len == 0);
        }
      if (g_strcmp0 (rows[i].expect_type, "error") == 0)
        g_assert_cmpstr (r->error_condition, ==, "service-unavailable");
      clear (f);
    }

  /* Results and errors are never answered. */
  g_autoptr (StoxStanza) result = iq_new ("result", "sip.test", NULL, NULL);
  stox_gateway_on_stanza (f->gw, result, T0, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
}

/* XEP-0085 §11: a SIP user's disco#info advertises chat states, in the
 * one namespace the core defines (STOX_NS_CHATSTATES), which the XMPP
 * front end also reads and writes; the component itself does not chat. */
static void
test_iq_disco_chat_states (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxStanza) user = iq_new ("get", "alice@sip.test", "query",
                                        "http://jabber.org/protocol/disco#info");
  g_autoptr (StoxStanza) component = iq_new ("get", "sip.test", "query",
                                             "http://jabber.org/protocol/disco#info");

  g_assert_cmpstr (STOX_NS_CHATSTATES, ==, "http://jabber.org/protocol/chatstates");
  stox_gateway_on_stanza (f->gw, user, T0, f->actions);
  g_assert_true (disco_has_feature (take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza->disco,
                                    STOX_NS_CHATSTATES));
  clear (f);
  stox_gateway_on_stanza (f->gw, component, T0, f->actions);
  g_assert_false (disco_has_feature (take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza->disco,
                                     STOX_NS_CHATSTATES));
}

static void
test_shutdown_answers_held (Fixture *f, gconstpointer data)
{
  StoxToken token;
  g_autofree char *id = forward_one (f, T0, &token);

  stox_gateway_on_shutdown (f->gw, T0 + MS, f->actions);
  StoxAction *a = take (f, 0, STOX_ACTION_SIP_RESPOND);
  g_assert_cmpuint (a->u.respond.token, ==, token);
  g_assert_cmpuint (a->u.respond.status, ==, 202);
}

static void
test_many_messages_bounded_deadlines (Fixture *f, gconstpointer data)
{
  /* 10 000 MESSAGEs: one deadline queue, answered in arrival order. */
  StoxGatewayStats stats;

  for (int i = 0; i < 10000; i++)
    {
      g_autoptr (StoxSipRequest) req = message_new (f, "sip:alice@sip.test",
                                                    "sip:bob@xmpp.test", "text/plain", "x");
      stox_gateway_on_sip (f->gw, req, T0 + i, f->actions);
    }
  clear (f);
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.pending, ==, 10000);
  stox_gateway_on_timer (f->gw, T0 + 250 * MS + 4999, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 5000);
  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, T0 + 250 * MS + 5000);
}

/* ---- error stanzas held for the link (bounce-hold.h) -------------------- */

/* Lines the core logged at message level (main() installs the writer):
 * a bounce given up must be said. */
static GPtrArray *core_messages;

static GLogWriterOutput
capture_writer (GLogLevelFlags   level,
                const GLogField *fields,
                gsize            n_fields,
                gpointer         user_data)
{
  const char *domain = NULL, *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    if (g_strcmp0 (fields[i].key, "GLIB_DOMAIN") == 0)
      domain = fields[i].value;
    else if (g_strcmp0 (fields[i].key, "MESSAGE") == 0)
      message = fields[i].value;
  if ((level & G_LOG_LEVEL_MESSAGE) != 0 && g_strcmp0 (domain, "stox-core") == 0 &&
      message != NULL)
    g_ptr_array_add (core_messages, g_strdup (message));
  return g_log_writer_default (level, fields, n_fields, user_data);
}

/* How many lines logged since the last call say `needle`; forgets them. */
static guint
core_messages_saying (const char *needle)
{
  guint n = 0;

  for (guint i = 0; i < core_messages->len; i++)
    if (strstr (core_messages->pdata[i], needle) != NULL)
      n++;
  g_ptr_array_set_size (core_messages, 0);
  return n;
}

/* A <message/> `id` from bob to alice, turned into a MESSAGE; the SIP side
 * answers it `status` at `now`.  Returns the error stanza, if any went
 * out (owned by f->actions). */
static StoxStanza *
refused_by_sip (Fixture *f, const char *id, guint status, gint64 now)
{
  g_autoptr (StoxStanza) st = chat_new ("hi", STOX_CHAT_STATE_NONE);

  g_free (st->id);
  st->id = g_strdup (id);
  clear (f);
  stox_gateway_on_stanza (f->gw, st, now, f->actions);
  StoxSipResponse resp = { .token = take (f, 0, STOX_ACTION_SIP_MESSAGE)->u.message.token,
                           .status = status, .phrase = (char *) "Busy Here" };
  clear (f);
  stox_gateway_on_sip_response (f->gw, &resp, now, f->actions);
  for (guint i = 0; i < f->actions->len; i++)
    {
      StoxAction *a = f->actions->pdata[i];

      if (a->kind == STOX_ACTION_XMPP_SEND)
        return a->u.stanza;
    }
  return NULL;
}

/* The error stanzas in f->actions, their ids joined by spaces. */
static char *
error_ids (Fixture *f)
{
  GString *ids = g_string_new (NULL);

  for (guint i = 0; i < f->actions->len; i++)
    {
      StoxAction *a = f->actions->pdata[i];

      if (a->kind == STOX_ACTION_XMPP_SEND && g_strcmp0 (a->u.stanza->type, "error") == 0)
        g_string_append_printf (ids, "%s%s", ids->len > 0 ? " " : "", a->u.stanza->id);
    }
  return g_string_free (ids, FALSE);
}

static guint
held_now (Fixture *f)
{
  StoxGatewayStats stats;

  stox_gateway_get_stats (f->gw, &stats);
  return stats.bounces_held;
}

static guint64
dropped_now (Fixture *f)
{
  StoxGatewayStats stats;

  stox_gateway_get_stats (f->gw, &stats);
  return stats.bounces_dropped;
}

/* An error stanza owed to an XMPP sender is never lost to the link: each
 * way it can fail to go, and whether it goes out when the link is up
 * again.  INVALID is the stanza's own fault: no retry would help. */
typedef enum
{
  FAIL_REFUSED_WHILE_DOWN,   /* the SIP refusal came with the link down */
  FAIL_SEND_LINK,            /* handed out; the send failed, link down */
  FAIL_UNSENT_LINK,          /* handed out; came back unsent (id, addresses
                              * only) when the stream died */
  FAIL_SEND_CONGESTED,       /* handed out; the queue was full, link up */
  FAIL_SEND_INVALID,         /* handed out; cannot be encoded */
  FAIL_UNSENT_INVALID,
} HowFailed;

static void
test_bounce_held_for_link (Fixture *f, gconstpointer data)
{
  const struct
  {
    const char *name;
    HowFailed   how;
    gboolean    held;        /* waits for the link (then goes out) */
  } rows[] = {
    { "refused while down", FAIL_REFUSED_WHILE_DOWN, TRUE },
    { "send failed, link", FAIL_SEND_LINK, TRUE },
    { "unsent, link", FAIL_UNSENT_LINK, TRUE },
    { "send failed, queue full", FAIL_SEND_CONGESTED, TRUE },
    { "send failed, invalid", FAIL_SEND_INVALID, FALSE },
    { "unsent, invalid", FAIL_UNSENT_INVALID, FALSE },
  };
  guint recipient_unavailable = stox_xmpp_condition_index ("recipient-unavailable");

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *id = g_strdup_printf ("m%zu", i);
      gint64 now = T0 + (gint64) i * 1000 * MS;
      StoxGatewayStats before, after;
      StoxStanza *err;

      g_test_message ("row %zu: %s", i, rows[i].name);
      stox_gateway_get_stats (f->gw, &before);
      if (rows[i].how == FAIL_REFUSED_WHILE_DOWN)
        {
          stox_gateway_on_link (f->gw, FALSE, 5, now, f->actions);
          err = refused_by_sip (f, id, 486, now);
          g_assert_null (err);   /* nothing handed to a link that is down */
        }
      else
        {
          g_autoptr (StoxStanza) report = NULL;
          StoxXmppSendFailure why = rows[i].how == FAIL_SEND_INVALID ||
                                    rows[i].how == FAIL_UNSENT_INVALID
                                    ? STOX_XMPP_SEND_FAILED_INVALID
                                    : STOX_XMPP_SEND_FAILED_LINK;

          err = refused_by_sip (f, id, 486, now);
          g_assert_nonnull (err);
          g_assert_cmpstr (err->id, ==, id);
          if (rows[i].how == FAIL_UNSENT_LINK || rows[i].how == FAIL_UNSENT_INVALID)
            {
              /* What the component reports of a stanza it had queued. */
              report = stox_stanza_new (STOX_STANZA_MESSAGE);
              report->type = g_strdup ("error");
              report->id = g_strdup (err->id);
              report->from = g_strdup (err->from);
              report->to = g_strdup (err->to);
            }
          else
            report = g_steal_pointer (&take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza);
          clear (f);
          if (rows[i].how != FAIL_SEND_CONGESTED)
            stox_gateway_on_link (f->gw, FALSE, 5, now, f->actions);
          stox_gateway_on_xmpp_send_failed (f->gw, report, why, now, f->actions);
          /* Neither a SIP answer nor anything else: the MESSAGE was
           * answered already. */
          g_assert_cmpuint (f->actions->len, ==, 0);
        }
      g_assert_cmpuint (held_now (f), ==, rows[i].held ? 1 : 0);
      clear (f);

      if (rows[i].how == FAIL_SEND_CONGESTED)
        {
          /* The link stays up: tried again a second later. */
          g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, now + STOX_BOUNCE_RETRY_US);
          stox_gateway_on_timer (f->gw, now + STOX_BOUNCE_RETRY_US - 1, f->actions);
          g_assert_cmpuint (f->actions->len, ==, 0);
          stox_gateway_on_timer (f->gw, now + STOX_BOUNCE_RETRY_US, f->actions);
        }
      else
        stox_gateway_on_link (f->gw, TRUE, 0, now + 500 * MS, f->actions);

      g_autofree char *ids = error_ids (f);
      g_assert_cmpstr (ids, ==, rows[i].held ? id : "");
      if (rows[i].held)
        {
          err = take (f, f->actions->len - 1, STOX_ACTION_XMPP_SEND)->u.stanza;
          g_assert_cmpstr (err->to, ==, "bob@xmpp.test/laptop");
          g_assert_cmpstr (err->from, ==, "alice@sip.test");
          g_assert_cmpstr (err->error_condition, ==, "recipient-unavailable");
          g_assert_cmpstr (err->error_type, ==, "wait");
          g_assert_cmpstr (err->error_text, ==, "SIP 486 Busy Here");
        }
      g_assert_cmpuint (held_now (f), ==, 0);
      stox_gateway_get_stats (f->gw, &after);
      g_assert_cmpuint (after.bounces_dropped, ==, before.bounces_dropped);
      /* Counted when it went out, once. */
      g_assert_cmpuint (after.xmpp_errors_sent[recipient_unavailable] -
                        before.xmpp_errors_sent[recipient_unavailable], ==,
                        rows[i].how == FAIL_REFUSED_WHILE_DOWN ? 1
                        : rows[i].held ? 2 : 1);
      clear (f);
    }
  g_assert_cmpuint (core_messages_saying ("dropped"), ==, 0);
}

/* Held ones go out in the order they were owed; a bounce that went out
 * and comes back unsent once more is held again. */
static void
test_bounce_held_in_order (Fixture *f, gconstpointer data)
{
  stox_gateway_on_link (f->gw, FALSE, 5, T0, f->actions);
  for (guint i = 1; i <= 4; i++)
    {
      g_autofree char *id = g_strdup_printf ("m%u", i);

      g_assert_null (refused_by_sip (f, id, 486, T0 + i * MS));
    }
  g_assert_cmpuint (held_now (f), ==, 4);
  clear (f);
  stox_gateway_on_link (f->gw, TRUE, 0, T0 + 2000 * MS, f->actions);
  g_autofree char *ids = error_ids (f);
  g_assert_cmpstr (ids, ==, "m1 m2 m3 m4");

  /* The link falls again before m3 and m4 are written. */
  g_autoptr (StoxStanza) m3 = g_steal_pointer (&take (f, 2, STOX_ACTION_XMPP_SEND)->u.stanza);
  g_autoptr (StoxStanza) m4 = g_steal_pointer (&take (f, 3, STOX_ACTION_XMPP_SEND)->u.stanza);
  clear (f);
  stox_gateway_on_link (f->gw, FALSE, 5, T0 + 2100 * MS, f->actions);
  g_assert_null (refused_by_sip (f, "m5", 486, T0 + 2200 * MS));
  clear (f);
  stox_gateway_on_xmpp_send_failed (f->gw, m3, STOX_XMPP_SEND_FAILED_LINK, T0 + 2300 * MS,
                                    f->actions);
  stox_gateway_on_xmpp_send_failed (f->gw, m4, STOX_XMPP_SEND_FAILED_LINK, T0 + 2300 * MS,
                                    f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
  g_assert_cmpuint (held_now (f), ==, 3);
  stox_gateway_on_link (f->gw, TRUE, 0, T0 + 3000 * MS, f->actions);
  g_autofree char *again = error_ids (f);
  g_assert_cmpstr (again, ==, "m3 m4 m5");
  g_assert_cmpuint (dropped_now (f), ==, 0);
}

/* The held bounces are a table like any other: max-pending of them; the
 * oldest goes first, said at message level and counted. */
static void
test_bounce_held_bounded (Fixture *f, gconstpointer data)
{
  const struct
  {
    guint       max_pending;
    guint       refusals;
    const char *released;
  } rows[] = {
    { 3, 2, "m1 m2" },
    { 3, 3, "m1 m2 m3" },
    { 3, 5, "m3 m4 m5" },
    { 1, 3, "m3" },
  };

  for (gsize r = 0; r < G_N_ELEMENTS (rows); r++)
    {
      guint dropped = rows[r].refusals > rows[r].max_pending
                      ? rows[r].refusals - rows[r].max_pending : 0;

      g_test_message ("row %zu: %u refusals, max-pending %u", r, rows[r].refusals,
                      rows[r].max_pending);
      fixture_teardown (f, data);
      fixture_setup_with (f, 250, rows[r].max_pending, NULL);
      stox_gateway_on_link (f->gw, FALSE, 5, T0, f->actions);
      for (guint i = 1; i <= rows[r].refusals; i++)
        {
          g_autofree char *id = g_strdup_printf ("m%u", i);

          g_assert_null (refused_by_sip (f, id, 486, T0 + i * MS));
        }
      g_assert_cmpuint (held_now (f), ==, MIN (rows[r].refusals, rows[r].max_pending));
      g_assert_cmpuint (dropped_now (f), ==, dropped);
      g_assert_cmpuint (core_messages_saying ("table bound"), ==, dropped);
      clear (f);
      stox_gateway_on_link (f->gw, TRUE, 0, T0 + 1000 * MS, f->actions);
      g_autofree char *ids = error_ids (f);
      g_assert_cmpstr (ids, ==, rows[r].released);
      g_assert_cmpuint (held_now (f), ==, 0);
    }
}

/* A bounce owed for STOX_BOUNCE_HOLD_US is given up, on the core's clock:
 * said and counted, never sent late.  The timer wakes for it. */
static void
test_bounce_held_expires (Fixture *f, gconstpointer data)
{
  const struct
  {
    gint64   link_up_after;   /* µs after the refusal */
    gboolean expired;
  } rows[] = {
    { 1 * G_USEC_PER_SEC, FALSE },
    { STOX_BOUNCE_HOLD_US - 1, FALSE },
    { STOX_BOUNCE_HOLD_US, TRUE },
    { 10 * STOX_BOUNCE_HOLD_US, TRUE },
  };

  for (gsize r = 0; r < G_N_ELEMENTS (rows); r++)
    {
      gint64 t = T0 + (gint64) r * 20 * STOX_BOUNCE_HOLD_US;
      guint64 dropped_before = dropped_now (f);

      g_test_message ("row %zu: link up after %" G_GINT64_FORMAT " µs", r,
                      rows[r].link_up_after);
      stox_gateway_on_link (f->gw, FALSE, 5, t, f->actions);
      g_assert_null (refused_by_sip (f, "late", 486, t));
      clear (f);
      g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, t + STOX_BOUNCE_HOLD_US);
      stox_gateway_on_timer (f->gw, t + rows[r].link_up_after, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 0);
      g_assert_cmpuint (held_now (f), ==, rows[r].expired ? 0 : 1);
      g_assert_cmpuint (dropped_now (f) - dropped_before, ==, rows[r].expired ? 1 : 0);
      g_assert_cmpuint (core_messages_saying ("late"), ==, rows[r].expired ? 1 : 0);
      stox_gateway_on_link (f->gw, TRUE, 0, t + rows[r].link_up_after, f->actions);
      g_autofree char *ids = error_ids (f);
      g_assert_cmpstr (ids, ==, rows[r].expired ? "" : "late");
      clear (f);
      /* The copy of what went out is forgotten in time too. */
      stox_gateway_on_timer (f->gw, t + 2 * STOX_BOUNCE_HOLD_US, f->actions);
      g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, -1);
    }
}

/* An unsent report whose copy is gone cannot be sent again: it is said,
 * not lost in silence; and a stop with the link down says each held one. */
static void
test_bounce_unsent_without_copy (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxStanza) report = stox_stanza_new (STOX_STANZA_MESSAGE);

  report->type = g_strdup ("error");
  report->id = g_strdup ("ghost");
  report->to = g_strdup ("bob@xmpp.test/laptop");
  stox_gateway_on_link (f->gw, FALSE, 5, T0, f->actions);
  stox_gateway_on_xmpp_send_failed (f->gw, report, STOX_XMPP_SEND_FAILED_LINK, T0, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
  g_assert_cmpuint (held_now (f), ==, 0);
  g_assert_cmpuint (dropped_now (f), ==, 1);
  g_assert_cmpuint (core_messages_saying ("ghost"), ==, 1);

  g_assert_null (refused_by_sip (f, "m1", 486, T0));
  clear (f);
  stox_gateway_on_shutdown (f->gw, T0 + MS, f->actions);
  g_autofree char *ids = error_ids (f);
  g_assert_cmpstr (ids, ==, "");
  g_assert_cmpuint (dropped_now (f), ==, 2);
  g_assert_cmpuint (core_messages_saying ("m1"), ==, 1);
}

/* ---- counters ---------------------------------------------------------- */

static void
assert_stats (const StoxGatewayStats *got, const StoxGatewayStats *want)
{
#define FIELD(name) g_assert_cmpuint (got->name, ==, want->name)
  FIELD (sip_to_xmpp);
  FIELD (xmpp_to_sip);
  FIELD (bounces_in_window);
  FIELD (bounces_late);
  FIELD (bounces_unmatched);
  FIELD (forgotten);
  FIELD (sip_errors);
  FIELD (refused);
  FIELD (pending);
  FIELD (remembered);
  FIELD (outgoing);
  FIELD (watchers);
  FIELD (subscriptions);
  FIELD (sip_accepted);
  FIELD (sip_refused);
  FIELD (sip_failed);
  FIELD (xmpp_delivered);
  FIELD (xmpp_refused);
  FIELD (watchers_pending);
  FIELD (bounces_held);
  FIELD (bounces_dropped);
#undef FIELD
  for (guint i = 0; i < STOX_STATS_SIP_CODES; i++)
    {
      if (got->sip_errors_sent[i] != want->sip_errors_sent[i] ||
          got->sip_errors_received[i] != want->sip_errors_received[i])
        g_test_message ("SIP %u", i + STOX_STATS_SIP_CODE_MIN);
      g_assert_cmpuint (got->sip_errors_sent[i], ==, want->sip_errors_sent[i]);
      g_assert_cmpuint (got->sip_errors_received[i], ==, want->sip_errors_received[i]);
    }
  for (guint i = 0; i < STOX_STATS_XMPP_CONDITIONS; i++)
    {
      if (got->xmpp_errors_sent[i] != want->xmpp_errors_sent[i] ||
          got->xmpp_errors_received[i] != want->xmpp_errors_received[i])
        g_test_message ("<%s/>", stox_xmpp_condition_name (i));
      g_assert_cmpuint (got->xmpp_errors_sent[i], ==, want->xmpp_errors_sent[i]);
      g_assert_cmpuint (got->xmpp_errors_received[i], ==, want->xmpp_errors_received[i]);
    }
}

#define SIP_CODE(code) ((code) - STOX_STATS_SIP_CODE_MIN)
#define CONDITION(name) (stox_xmpp_condition_index (name))

/* Every counter moves by exactly what the events did, and only then: each
 * step changes `want` by its effect and compares everything. */
static void
test_stats_every_counter (Fixture *f, gconstpointer data)
{
  StoxGatewayStats want = { 0 }, got;
  StoxToken token;

  /* Forwarded, 202 when the window closes. */
  g_autofree char *a = forward_one (f, T0, &token);
  stox_gateway_on_timer (f->gw, T0 + 250 * MS, f->actions);
  clear (f);
  want.sip_to_xmpp = want.sip_accepted = 1;
  want.remembered = 1;
  stox_gateway_get_stats (f->gw, &got);
  assert_stats (&got, &want);

  /* Forwarded, bounced inside the window: the mapped 403. */
  g_autofree char *b = forward_one (f, T0 + 300 * MS, &token);
  g_autoptr (StoxStanza) bounce = bounce_new (b, "bob@xmpp.test", "service-unavailable");
  stox_gateway_on_stanza (f->gw, bounce, T0 + 310 * MS, f->actions);
  g_assert_cmpuint (take (f, 0, STOX_ACTION_SIP_RESPOND)->u.respond.status, ==, 403);
  clear (f);
  want.sip_to_xmpp++;
  want.bounces_in_window++;
  want.sip_errors_sent[SIP_CODE (403)]++;
  want.xmpp_errors_received[CONDITION ("service-unavailable")]++;
  stox_gateway_get_stats (f->gw, &got);
  assert_stats (&got, &want);

  /* Refused: From outside the SIP domain (403), Request-URI domain not
   * served (404); not forwarded. */
  g_autoptr (StoxSipRequest) foreign = message_new (f, "sip:alice@elsewhere.test",
                                                    "sip:bob@xmpp.test", "text/plain", "x");
  g_autoptr (StoxSipRequest) nowhere = message_new (f, "sip:alice@sip.test",
                                                    "sip:bob@other.test", "text/plain", "x");
  stox_gateway_on_sip (f->gw, foreign, T0 + 400 * MS, f->actions);
  stox_gateway_on_sip (f->gw, nowhere, T0 + 400 * MS, f->actions);
  g_assert_cmpuint (take (f, 0, STOX_ACTION_SIP_RESPOND)->u.respond.status, ==, 403);
  g_assert_cmpuint (take (f, 1, STOX_ACTION_SIP_RESPOND)->u.respond.status, ==, 404);
  clear (f);
  want.sip_refused += 2;
  want.refused += 2;
  want.sip_errors_sent[SIP_CODE (403)]++;
  want.sip_errors_sent[SIP_CODE (404)]++;
  stox_gateway_get_stats (f->gw, &got);
  assert_stats (&got, &want);

  /* Forwarded, but the stanza could not be sent: 503. */
  g_autoptr (StoxSipRequest) lost = message_new (f, "sip:alice@sip.test", "sip:bob@xmpp.test",
                                                 "text/plain", "x");
  stox_gateway_on_sip (f->gw, lost, T0 + 500 * MS, f->actions);
  g_autoptr (GPtrArray) failed = stox_actions_new ();
  stox_gateway_on_xmpp_send_failed (f->gw, take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza,
                                    STOX_XMPP_SEND_FAILED_LINK, T0 + 500 * MS, failed);
  g_assert_cmpuint (((StoxAction *) failed->pdata[0])->u.respond.status, ==, 503);
  clear (f);
  want.sip_to_xmpp++;
  want.sip_failed++;
  want.refused++;
  want.sip_errors_sent[SIP_CODE (503)]++;
  stox_gateway_get_stats (f->gw, &got);
  assert_stats (&got, &want);

  /* XMPP -> SIP: one delivered (200), one answered 486, one refused. */
  g_autoptr (StoxStanza) ok = chat_new ("one", STOX_CHAT_STATE_NONE);
  g_autoptr (StoxStanza) busy = chat_new ("two", STOX_CHAT_STATE_NONE);
  g_autoptr (StoxStanza) bare = chat_new ("three", STOX_CHAT_STATE_NONE);
  g_free (bare->to);
  bare->to = g_strdup ("sip.test");
  stox_gateway_on_stanza (f->gw, ok, T0 + 600 * MS, f->actions);
  stox_gateway_on_stanza (f->gw, busy, T0 + 600 * MS, f->actions);
  StoxSipResponse r200 = { .token = take (f, 0, STOX_ACTION_SIP_MESSAGE)->u.message.token,
                           .status = 200, .phrase = (char *) "OK" };
  StoxSipResponse r486 = { .token = take (f, 1, STOX_ACTION_SIP_MESSAGE)->u.message.token,
                           .status = 486, .phrase = (char *) "Busy Here" };
  clear (f);
  want.xmpp_to_sip = 2;
  want.outgoing = 2;
  stox_gateway_get_stats (f->gw, &got);
  assert_stats (&got, &want);
  stox_gateway_on_sip_response (f->gw, &r200, T0 + 700 * MS, f->actions);
  stox_gateway_on_sip_response (f->gw, &r486, T0 + 700 * MS, f->actions);
  stox_gateway_on_stanza (f->gw, bare, T0 + 700 * MS, f->actions);
  g_assert_cmpstr (take (f, 0, STOX_ACTION_XMPP_SEND)->u.stanza->error_condition, ==,
                   "recipient-unavailable");
  g_assert_cmpstr (take (f, 1, STOX_ACTION_XMPP_SEND)->u.stanza->error_condition, ==,
                   "jid-malformed");
  clear (f);
  want.outgoing = 0;
  want.xmpp_delivered++;
  want.sip_errors++;
  want.sip_errors_received[SIP_CODE (486)]++;
  want.xmpp_errors_sent[CONDITION ("recipient-unavailable")]++;
  want.xmpp_refused++;
  want.refused++;
  want.xmpp_errors_sent[CONDITION ("jid-malformed")]++;
  stox_gateway_get_stats (f->gw, &got);
  assert_stats (&got, &want);

  /* Late bounce for the first MESSAGE; an unmatched one with an unknown
   * condition, one without a condition: both counted as
   * undefined-condition, the label set stays the 22 of RFC 6120. */
  g_autoptr (StoxStanza) late = bounce_new (a, "bob@xmpp.test", "recipient-unavailable");
  g_autoptr (StoxStanza) odd = bounce_new ("no-such-id", "bob@xmpp.test", "x-made-up");
  g_autoptr (StoxStanza) none = bounce_new ("no-such-id", "bob@xmpp.test", NULL);
  stox_gateway_on_stanza (f->gw, late, T0 + 800 * MS, f->actions);
  StoxSipResponse notice = { .token = take (f, 0, STOX_ACTION_SIP_MESSAGE)->u.message.token,
                             .status = 200, .phrase = (char *) "OK" };
  stox_gateway_on_stanza (f->gw, odd, T0 + 800 * MS, f->actions);
  stox_gateway_on_stanza (f->gw, none, T0 + 800 * MS, f->actions);
  clear (f);
  want.remembered = 0;
  want.outgoing = 1;     /* the notice, until its answer */
  want.bounces_late++;
  want.bounces_unmatched += 2;
  want.xmpp_errors_received[CONDITION ("recipient-unavailable")]++;
  want.xmpp_errors_received[CONDITION ("undefined-condition")] += 2;
  stox_gateway_get_stats (f->gw, &got);
  assert_stats (&got, &want);

  /* The notice's 200 is no message's outcome.  SIP statuses count from
   * 300 to 699: 180 and 200 are not errors, 699 is the last, and a stray
   * answer (no token of ours) is still an error the gateway heard. */
  stox_gateway_on_sip_response (f->gw, &notice, T0 + 900 * MS, f->actions);
  for (guint status = 180; status <= 699; status += 519)
    {
      StoxSipResponse stray = { .token = 424242, .status = status, .phrase = (char *) "x" };

      stox_gateway_on_sip_response (f->gw, &stray, T0 + 900 * MS, f->actions);
    }
  StoxSipResponse last = { .token = 424242, .status = 200, .phrase = (char *) "x" };
  stox_gateway_on_sip_response (f->gw, &last, T0 + 900 * MS, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
  want.outgoing = 0;
  want.sip_errors_received[SIP_CODE (699)]++;
  stox_gateway_get_stats (f->gw, &got);
  assert_stats (&got, &want);
}

/* A MESSAGE from an untrusted source is a refused message too. */
static void
test_stats_untrusted_refused (Fixture *f, gconstpointer data)
{
  static const char *const trusted[] = { "127.0.0.0/8", NULL };
  StoxGatewayStats stats;

  fixture_teardown (f, NULL);
  fixture_setup_with (f, 250, 0, trusted);
  g_autoptr (StoxSipRequest) req = message_new (f, "sip:alice@sip.test", "sip:bob@xmpp.test",
                                                "text/plain", "x");
  g_free (req->source);
  req->source = g_strdup ("192.0.2.1");
  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  req->method = STOX_SIP_METHOD_OPTIONS;
  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.refused, ==, 2);
  g_assert_cmpuint (stats.sip_refused, ==, 1);
  g_assert_cmpuint (stats.sip_errors_sent[SIP_CODE (403)], ==, 2);
}

/* The condition labels: RFC 6120 §8.3.3's 22, both ways. */
static void
test_stats_condition_names (void)
{
  for (guint i = 0; i < STOX_STATS_XMPP_CONDITIONS; i++)
    {
      const char *name = stox_xmpp_condition_name (i);

      g_assert_nonnull (name);
      g_assert_cmpuint (stox_xmpp_condition_index (name), ==, i);
    }
  g_assert_null (stox_xmpp_condition_name (STOX_STATS_XMPP_CONDITIONS));
  g_assert_cmpstr (stox_xmpp_condition_name (0), ==, "bad-request");
  g_assert_cmpstr (stox_xmpp_condition_name (STOX_STATS_XMPP_CONDITIONS - 1), ==,
                   "unexpected-request");
  g_assert_cmpstr (stox_xmpp_condition_name (stox_xmpp_condition_index ("Bad-Request")), ==,
                   "undefined-condition");
  g_assert_cmpstr (stox_xmpp_condition_name (stox_xmpp_condition_index (NULL)), ==,
                   "undefined-condition");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  core_messages = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (capture_writer, NULL, NULL);

#define ADD(path, fn) \
  g_test_add ("/gateway/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("sip/options", test_options);
  ADD ("sip/message/window-then-202", test_message_window_then_202);
  ADD ("sip/message/bounce-inside-window", test_bounce_inside_window);
  ADD ("sip/message/bounce-conditions", test_bounce_conditions_mapped);
  ADD ("sip/message/bounce-from-stranger", test_bounce_from_stranger_ignored);
  ADD ("sip/message/bounce-id-exact", test_bounce_id_exact);
  ADD ("sip/message/late-bounce", test_late_bounce_message_back);
  ADD ("sip/message/late-bounce-forgotten", test_late_bounce_forgotten);
  ADD ("sip/message/bounce-wait-zero", test_bounce_wait_zero);
  ADD ("sip/message/link-down-503", test_link_down_503);
  ADD ("sip/message/send-failed-503", test_send_failed_503);
  ADD ("sip/message/send-failed-invalid-500", test_send_failed_invalid_500);
  ADD ("sip/message/overload-503", test_overload_503);
  ADD ("limits/max-pending-default", test_max_pending_default);
  ADD ("sip/message/answered-memory-bounded", test_answered_memory_bounded);
  ADD ("sip/message/untrusted-source", test_untrusted_source);
  ADD ("sip/message/refusals", test_sip_refusals);
  ADD ("loops/sip-to-own-domains", test_sip_own_domains_refused);
  ADD ("loops/xmpp-from-own-domains", test_xmpp_from_own_domains_refused);
  ADD ("sip/message/escaped-user", test_sip_escaped_user);
  ADD ("sip/message/too-large-413", test_sip_too_large);
  ADD ("sip/message/iscomposing", test_sip_iscomposing);
  ADD ("sip/other-methods", test_other_methods);
  ADD ("xmpp/message/to-sip-and-error-back", test_xmpp_message_to_sip);
  ADD ("xmpp/message/success-silent", test_xmpp_success_is_silent);
  ADD ("xmpp/message/sip-overloaded", test_xmpp_sip_overloaded);
  ADD ("xmpp/message/escaped-target", test_xmpp_escaped_target);
  ADD ("xmpp/message/target-case-folded", test_xmpp_target_case_folded);
  ADD ("xmpp/message/refusals", test_xmpp_refusals);
  ADD ("xmpp/message/too-large-for-sip", test_xmpp_too_large_for_sip);
  ADD ("xmpp/message/bodyless", test_xmpp_bodyless_not_forwarded);
  ADD ("xmpp/chat-states", test_xmpp_chat_states);
  ADD ("xmpp/chat-states/body-resets", test_xmpp_body_resets_composing);
  ADD ("xmpp/chat-states/memory", test_xmpp_chat_state_memory);
  ADD ("xmpp/chat-states/refused", test_xmpp_chat_state_refused);
  ADD ("xmpp/message/gr-rule", test_xmpp_message_gr_rule);
  ADD ("xmpp/iq/readiness", test_iq_readiness);
  ADD ("xmpp/iq/disco-chat-states", test_iq_disco_chat_states);
  ADD ("shutdown/answers-held", test_shutdown_answers_held);
  ADD ("load/10000-deadlines", test_many_messages_bounded_deadlines);
  ADD ("xmpp/message/error-held-for-link", test_bounce_held_for_link);
  ADD ("xmpp/message/error-held-in-order", test_bounce_held_in_order);
  ADD ("xmpp/message/error-held-bounded", test_bounce_held_bounded);
  ADD ("xmpp/message/error-held-expires", test_bounce_held_expires);
  ADD ("xmpp/message/error-unsent-without-copy", test_bounce_unsent_without_copy);
  ADD ("stats/every-counter", test_stats_every_counter);
  ADD ("stats/untrusted-refused", test_stats_untrusted_refused);
  g_test_add_func ("/gateway/stats/condition-names", test_stats_condition_names);
#undef ADD

  return g_test_run ();
}
