/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The gateway at the network edge, replayed through the engine with a
 * fake clock: whom it believes a SIP request is from (P-Asserted-Identity
 * of a trusted peer, RFC 3325), to whom presence goes (only identities a
 * trusted peer vouches for), how much one source, one watcher and one XMPP
 * user may hold, and what it refuses to send (stanzas above the size the
 * XMPP server takes).  Each check here failed before its fix.
 */
#include "config.h"

#include <string.h>

#include "core/gateway.h"
#include "core/pidf.h"
#include "core/route.h"
#include "core/stanza-size.h"
#include "core/watch.h"
#include "support/shipped-rules.h"

#define S  (G_USEC_PER_SEC)
#define MS (G_GINT64_CONSTANT (1000))
#define T0 (G_GINT64_CONSTANT (1000000000000))

#define PROXY    "127.0.0.1"
#define STRANGER "192.0.2.66"

typedef struct
{
  StoxGatewayConfig config;
  StoxRules        *rules;
  StoxGateway      *gw;
  GPtrArray        *actions;
  StoxToken         next_token;
} Fixture;

static const char *const trusted_peers[] = { "127.0.0.0/8", "::1/128", NULL };
static const char *const xmpp_domains[] = { "xmpp.test", NULL };

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  f->config = (StoxGatewayConfig) {
    .sip_domain = "sip.test",
    .component = "sip.test",
    .xmpp_domains = xmpp_domains,
    .trusted_peers = trusted_peers,
    .bounce_wait_ms = 250,
    .instance = "t",
  };
  f->rules = stox_test_load_shipped_rules ();
  f->actions = stox_actions_new ();
  f->next_token = 5000;
}

/* The gateway of f->config, link up.  Tests change the config first. */
static void
start (Fixture *f)
{
  g_autoptr (GError) error = NULL;

  f->gw = stox_gateway_new (&f->config, f->rules, &error);
  g_assert_no_error (error);
  stox_gateway_on_link (f->gw, TRUE, 0, T0, f->actions);
  g_ptr_array_set_size (f->actions, 0);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  g_ptr_array_unref (f->actions);
  stox_gateway_free (f->gw);
  stox_rules_free (f->rules);
}

static void
clear (Fixture *f)
{
  g_ptr_array_set_size (f->actions, 0);
}

static guint
count (Fixture *f, StoxActionKind kind)
{
  guint n = 0;

  for (guint i = 0; i < f->actions->len; i++)
    n += ((StoxAction *) f->actions->pdata[i])->kind == kind;
  return n;
}

static StoxAction *
find (Fixture *f, StoxActionKind kind, guint nth)
{
  for (guint i = 0; i < f->actions->len; i++)
    {
      StoxAction *a = f->actions->pdata[i];
      if (a->kind == kind && nth-- == 0)
        return a;
    }
  g_error ("no action of kind %d (have %u actions)", kind, f->actions->len);
  return NULL;
}

static guint
count_presence (Fixture *f, const char *type, const char *from, const char *to)
{
  guint n = 0;

  for (guint i = 0; i < f->actions->len; i++)
    {
      StoxAction *a = f->actions->pdata[i];
      n += a->kind == STOX_ACTION_XMPP_SEND && a->u.stanza->kind == STOX_STANZA_PRESENCE &&
           g_strcmp0 (a->u.stanza->type, type) == 0 &&
           g_strcmp0 (a->u.stanza->from, from) == 0 && g_strcmp0 (a->u.stanza->to, to) == 0;
    }
  return n;
}

static guint
respond_status (Fixture *f)
{
  return find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status;
}

static StoxSipRequest *
request_new (Fixture      *f,
             StoxSipMethod method,
             const char   *source,
             const char   *from,
             const char   *asserted,
             const char   *to)
{
  StoxSipRequest *req = stox_sip_request_new ();

  req->token = ++f->next_token;
  req->method = method;
  req->method_name = g_strdup (method == STOX_SIP_METHOD_MESSAGE ? "MESSAGE" : "SUBSCRIBE");
  req->request_uri = g_strdup (to);
  req->from_uri = g_strdup (from);
  req->asserted_uri = g_strdup (asserted);
  req->to_uri = g_strdup (to);
  req->source = g_strdup (source);
  req->call_id = g_strdup_printf ("call-%" G_GUINT64_FORMAT, req->token);
  if (method == STOX_SIP_METHOD_MESSAGE)
    {
      req->content_type = g_strdup ("text/plain");
      req->body = g_bytes_new_static ("hello", 5);
    }
  else
    {
      req->event = g_strdup ("presence");
      req->expires = 600;
    }
  return req;
}

/* Sends it; returns its token. */
static StoxToken
send_sip (Fixture *f, StoxSipMethod method, const char *source, const char *from,
          const char *asserted, const char *to, gint64 expires, gint64 now)
{
  g_autoptr (StoxSipRequest) req = request_new (f, method, source, from, asserted, to);

  if (expires != -2)
    req->expires = expires;
  stox_gateway_on_sip (f->gw, req, now, f->actions);
  /* A new dialog's first NOTIFY may wait STOX_WATCH_ASK_WAIT_MS for the
   * XMPP server's answer to the subscription request; none comes here. */
  if (method == STOX_SIP_METHOD_SUBSCRIBE && req->dialog == 0)
    stox_gateway_on_timer (f->gw, now + STOX_WATCH_ASK_WAIT_MS * 1000, f->actions);
  return req->token;
}

static void
xmpp_presence (Fixture *f, const char *type, const char *from, const char *to,
               const char *status, gint64 now)
{
  g_autoptr (StoxStanza) st = stox_stanza_new (STOX_STANZA_PRESENCE);

  st->type = g_strdup (type);
  st->from = g_strdup (from);
  st->to = g_strdup (to);
  st->status = g_strdup (status);
  stox_gateway_on_stanza (f->gw, st, now, f->actions);
}

static void
respond_sip (Fixture *f, StoxToken token, guint status, gint64 now)
{
  StoxSipResponse resp = { .token = token, .status = status, .phrase = (char *) "x",
                           .expires = -1, .min_expires = -1 };

  stox_gateway_on_sip_response (f->gw, &resp, now, f->actions);
}

/* Answers every NOTIFY among the actions with 200, then clears them. */
static void
answer_notifies (Fixture *f, gint64 now)
{
  g_autoptr (GArray) tokens = g_array_new (FALSE, FALSE, sizeof (StoxToken));

  for (guint i = 0; i < f->actions->len; i++)
    {
      StoxAction *a = f->actions->pdata[i];
      if (a->kind == STOX_ACTION_SIP_NOTIFY)
        g_array_append_val (tokens, a->u.notify.token);
    }
  clear (f);
  for (guint i = 0; i < tokens->len; i++)
    respond_sip (f, g_array_index (tokens, StoxToken, i), 200, now);
  clear (f);
}

static char *
notify_body (StoxAction *a)
{
  GBytes *b = a->u.notify.body;

  return b != NULL ? g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b)) : NULL;
}

/* ---- 1. P-Asserted-Identity (RFC 3325) --------------------------------- */

/* The proxy asserts the user; the From may say anything (RFC 3323
 * anonymity, or a user's own claim). */
static void
test_pai_names_the_sender (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const char *from, *asserted, *jid_from;
  } rows[] = {
    { "sip:anonymous@anonymous.invalid", "sip:romeo@sip.test", "romeo@sip.test" },
    { "sip:boss@sip.test", "sip:romeo@sip.test", "romeo@sip.test" },
    { "sip:romeo@sip.test;gr=phone", "sip:romeo@sip.test", "romeo@sip.test/phone" },
    { "sip:boss@sip.test;gr=phone", "sip:romeo@sip.test", "romeo@sip.test" },
    { "sip:boss@sip.test", NULL, "boss@sip.test" },
  };

  start (f);
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_test_message ("From %s, P-Asserted-Identity %s", rows[i].from, rows[i].asserted);
      send_sip (f, STOX_SIP_METHOD_MESSAGE, PROXY, rows[i].from, rows[i].asserted,
                "sip:juliet@xmpp.test", -2, T0);
      g_assert_cmpuint (f->actions->len, ==, 1);
      g_assert_cmpstr (find (f, STOX_ACTION_XMPP_SEND, 0)->u.stanza->from, ==, rows[i].jid_from);
      clear (f);
    }
}

/* An asserted identity outside the SIP domain is refused as a From would
 * be (403); a P-Asserted-Identity that does not parse is a 400. */
static void
test_pai_refusals (Fixture *f, gconstpointer data)
{
  start (f);
  send_sip (f, STOX_SIP_METHOD_MESSAGE, PROXY, "sip:romeo@sip.test", "sip:romeo@evil.test",
            "sip:juliet@xmpp.test", -2, T0);
  g_assert_cmpuint (f->actions->len, ==, 1);
  g_assert_cmpuint (respond_status (f), ==, 403);
  clear (f);
  send_sip (f, STOX_SIP_METHOD_MESSAGE, PROXY, "sip:romeo@sip.test", "sip:%zz@sip.test",
            "sip:juliet@xmpp.test", -2, T0);
  g_assert_cmpuint (respond_status (f), ==, 400);
}

/* RFC 3325 §5: only a trusted element asserts.  The engine never lets an
 * untrusted source in (403), and the routing rule itself ignores what such
 * a source asserts. */
static void
test_pai_untrusted_ignored (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxNetmaskList) trusted = stox_netmask_list_new (trusted_peers, NULL);
  StoxRouteConfig config = {
    .sip_domain = "sip.test", .component = "sip.test", .trusted = trusted,
  };
  g_auto (StoxSipRoute) route = { 0 };
  g_autoptr (StoxSipRequest) req = NULL;
  g_autofree char *why = NULL;
  guint status = 0;

  start (f);
  req = request_new (f, STOX_SIP_METHOD_MESSAGE, STRANGER, "sip:eve@sip.test",
                     "sip:boss@sip.test", "sip:juliet@xmpp.test");
  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 1);
  g_assert_cmpuint (respond_status (f), ==, 403);

  g_assert_true (stox_route_sip (&config, req, &route, &status, &why));
  g_assert_cmpstr (route.jid_from, ==, "eve@sip.test");
  g_assert_cmpstr (route.sender_uri, ==, "sip:eve@sip.test");
  g_assert_false (route.vouched);
  stox_sip_route_clear (&route);

  g_free (req->source);
  req->source = g_strdup (PROXY);
  g_assert_true (stox_route_sip (&config, req, &route, &status, &why));
  g_assert_cmpstr (route.jid_from, ==, "boss@sip.test");
  g_assert_true (route.vouched);
}

/* The "not delivered" notice goes back to the user the proxy asserted,
 * not to a From it did not vouch for. */
static void
test_pai_late_notice_to_asserted (Fixture *f, gconstpointer data)
{
  f->config.bounce_wait_ms = 0;
  start (f);
  send_sip (f, STOX_SIP_METHOD_MESSAGE, PROXY, "sip:anonymous@anonymous.invalid",
            "sip:romeo@sip.test", "sip:juliet@xmpp.test", -2, T0);
  g_autofree char *id = g_strdup (find (f, STOX_ACTION_XMPP_SEND, 0)->u.stanza->id);
  g_assert_cmpuint (respond_status (f), ==, 202);
  clear (f);

  g_autoptr (StoxStanza) bounce = stox_stanza_new (STOX_STANZA_MESSAGE);
  bounce->type = g_strdup ("error");
  bounce->id = g_strdup (id);
  bounce->from = g_strdup ("juliet@xmpp.test");
  bounce->to = g_strdup ("romeo@sip.test");
  bounce->error_condition = g_strdup ("service-unavailable");
  stox_gateway_on_stanza (f->gw, bounce, T0 + S, f->actions);
  StoxAction *notice = find (f, STOX_ACTION_SIP_MESSAGE, 0);
  g_assert_cmpstr (notice->u.message.request_uri, ==, "sip:romeo@sip.test");
}

/* ---- 2. presence goes only to vouched identities ----------------------- */

/* romeo (asserted) subscribes to juliet, who approves and says where she
 * is: the ground the attacks below stand on. */
static void
romeo_approved (Fixture *f)
{
  StoxToken d = send_sip (f, STOX_SIP_METHOD_SUBSCRIBE, PROXY, "sip:romeo@sip.test",
                          "sip:romeo@sip.test", "sip:juliet@xmpp.test", 600, T0);

  g_assert_cmpuint (respond_status (f), ==, 200);
  answer_notifies (f, T0);
  xmpp_presence (f, "subscribed", "juliet@xmpp.test", "romeo@sip.test", NULL, T0 + S);
  answer_notifies (f, T0 + S);
  xmpp_presence (f, NULL, "juliet@xmpp.test/balcony", "romeo@sip.test", "the secret place",
                 T0 + 2 * S);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpuint (n->u.notify.dialog, ==, d);
  g_autofree char *doc = notify_body (n);
  g_assert_nonnull (strstr (doc, "the secret place"));
  answer_notifies (f, T0 + 2 * S);
}

/* What the gateway knows of a watcher: the source (a trusted proxy), the
 * From and the Contact, which are the watcher's own claims, and the
 * P-Asserted-Identity if the proxy vouched.  A SUBSCRIBE that only claims
 * romeo — a new dialog or a fetch — learns nothing of juliet and sends
 * nothing in romeo's name. */
static void
test_spoofed_watcher_refused (Fixture *f, gconstpointer data)
{
  static const gint64 expires[] = { 600, 0 };

  start (f);
  romeo_approved (f);
  for (gsize i = 0; i < G_N_ELEMENTS (expires); i++)
    {
      g_test_message ("Expires %" G_GINT64_FORMAT, expires[i]);
      send_sip (f, STOX_SIP_METHOD_SUBSCRIBE, PROXY, "sip:romeo@sip.test", NULL,
                "sip:juliet@xmpp.test", expires[i], T0 + 3 * S);
      g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
      g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 0);
      g_assert_cmpuint (f->actions->len, ==, 1);
      StoxAction *a = find (f, STOX_ACTION_SIP_RESPOND, 0);
      g_assert_cmpuint (a->u.respond.status, ==, 403);
      g_assert_nonnull (strstr (a->u.respond.warning, "P-Asserted-Identity"));
      clear (f);
    }

  /* An identity the proxy asserts is believed, whatever the From says:
   * romeo's new device gets juliet's presence at once. */
  send_sip (f, STOX_SIP_METHOD_SUBSCRIBE, PROXY, "sip:anonymous@anonymous.invalid",
            "sip:romeo@sip.test", "sip:juliet@xmpp.test", 0, T0 + 4 * S);
  g_assert_cmpuint (respond_status (f), ==, 200);
  g_autofree char *doc = notify_body (find (f, STOX_ACTION_SIP_NOTIFY, 0));
  g_assert_nonnull (strstr (doc, "the secret place"));
  clear (f);

  /* The proxy asserting mercutio makes mercutio the watcher: pending,
   * nothing of juliet's. */
  send_sip (f, STOX_SIP_METHOD_SUBSCRIBE, PROXY, "sip:romeo@sip.test", "sip:mercutio@sip.test",
            "sip:juliet@xmpp.test", 600, T0 + 5 * S);
  g_assert_cmpuint (respond_status (f), ==, 200);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_PENDING);
  g_assert_null (n->u.notify.body);
  g_assert_cmpuint (count_presence (f, "subscribe", "mercutio@sip.test", "juliet@xmpp.test"), ==, 1);
}

/* [sip] trust-from: the operator says the proxy authenticates every From
 * it relays; a From from a trusted peer then vouches, one from anywhere
 * else never gets that far. */
static void
test_trust_from (Fixture *f, gconstpointer data)
{
  f->config.trust_from = TRUE;
  start (f);
  romeo_approved (f);
  send_sip (f, STOX_SIP_METHOD_SUBSCRIBE, PROXY, "sip:romeo@sip.test", NULL,
            "sip:juliet@xmpp.test", 600, T0 + 3 * S);
  g_assert_cmpuint (respond_status (f), ==, 200);
  g_assert_cmpint (find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.substate, ==,
                   STOX_SUBSTATE_ACTIVE);
  clear (f);
  send_sip (f, STOX_SIP_METHOD_SUBSCRIBE, STRANGER, "sip:romeo@sip.test", "sip:romeo@sip.test",
            "sip:juliet@xmpp.test", 600, T0 + 3 * S);
  g_assert_cmpuint (f->actions->len, ==, 1);
  g_assert_cmpuint (respond_status (f), ==, 403);
}

/* ---- 7. one source, one watcher, one XMPP user: bounded ---------------- */

/* A SUBSCRIBE from `source` for `watcher` (asserted) to `user`; returns
 * the answer's status and leaves the actions. */
static guint
subscribe_as (Fixture *f, const char *source, const char *watcher, const char *user,
              gint64 expires, gint64 now, StoxToken *ret_dialog)
{
  g_autofree char *from = g_strdup_printf ("sip:%s@sip.test", watcher);
  g_autofree char *to = g_strdup_printf ("sip:%s@xmpp.test", user);
  StoxToken d = send_sip (f, STOX_SIP_METHOD_SUBSCRIBE, source, from, from, to, expires, now);

  if (ret_dialog != NULL)
    *ret_dialog = d;
  return respond_status (f);
}

/* The watcher ends its dialog (Expires: 0) and answers the last NOTIFY. */
static void
end_dialog (Fixture *f, StoxToken dialog, gint64 now)
{
  g_autoptr (StoxSipRequest) req = request_new (f, STOX_SIP_METHOD_SUBSCRIBE, PROXY,
                                                "sip:x@sip.test", NULL, "sip:x@xmpp.test");

  req->dialog = dialog;
  req->expires = 0;
  stox_gateway_on_sip (f->gw, req, now, f->actions);
  g_assert_cmpuint (respond_status (f), ==, 200);
  answer_notifies (f, now);
}

/* 40 SUBSCRIBEs and 40 fetches for one pair: juliet is asked once; once
 * per pair, so another watcher asks once too; after the interval, again. */
static void
test_subscription_request_once (Fixture *f, gconstpointer data)
{
  start (f);
  for (int i = 0; i < 40; i++)
    {
      g_assert_cmpuint (subscribe_as (f, PROXY, "romeo", "juliet", 600, T0 + i * MS, NULL), ==, 200);
      g_assert_cmpuint (subscribe_as (f, PROXY, "romeo", "juliet", 0, T0 + i * MS, NULL), ==, 200);
    }
  g_assert_cmpuint (count_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"), ==, 1);
  answer_notifies (f, T0 + S);

  subscribe_as (f, PROXY, "mercutio", "juliet", 600, T0 + 2 * S, NULL);
  g_assert_cmpuint (count_presence (f, "subscribe", "mercutio@sip.test", "juliet@xmpp.test"), ==, 1);
  answer_notifies (f, T0 + 2 * S);

  gint64 later = T0 + (gint64) STOX_WATCH_ASK_INTERVAL_S * S;
  subscribe_as (f, PROXY, "romeo", "juliet", 0, later - S, NULL);
  g_assert_cmpuint (count_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"), ==, 0);
  answer_notifies (f, later - S);
  subscribe_as (f, PROXY, "romeo", "juliet", 0, later, NULL);
  g_assert_cmpuint (count_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"), ==, 1);
}

/* The request is remembered past the pair's last dialog (a fetch), and
 * that memory is all that is left of the pair: an approval then finds no
 * watcher to feed (nothing stored, no probe), and a new dialog is
 * pending, not asked again. */
static void
test_subscription_request_outlives_pair (Fixture *f, gconstpointer data)
{
  start (f);
  g_assert_cmpuint (subscribe_as (f, PROXY, "romeo", "juliet", 0, T0, NULL), ==, 200);
  g_assert_cmpuint (count_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"), ==, 1);
  answer_notifies (f, T0);

  xmpp_presence (f, "subscribed", "juliet@xmpp.test", "romeo@sip.test", NULL, T0 + S);
  xmpp_presence (f, NULL, "juliet@xmpp.test/balcony", "romeo@sip.test", "here", T0 + S);
  g_assert_cmpuint (f->actions->len, ==, 0);

  g_assert_cmpuint (subscribe_as (f, PROXY, "romeo", "juliet", 600, T0 + 2 * S, NULL), ==, 200);
  g_assert_cmpint (find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.substate, ==,
                   STOX_SUBSTATE_PENDING);
  g_assert_null (find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.body);
  g_assert_cmpuint (count_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"), ==, 0);
  g_assert_cmpuint (count (f, STOX_ACTION_STORE), ==, 1);   /* its WATCH record only */
}

/* The memory of requests sent is bounded like every table (max-pending):
 * the oldest is forgotten first. */
static void
test_subscription_request_memory_bounded (Fixture *f, gconstpointer data)
{
  static const char *const users[] = { "juliet", "rosaline", "nurse", "juliet" };
  static const guint asked[] = { 1, 1, 1, 1 };

  f->config.max_pending = 2;
  start (f);
  for (gsize i = 0; i < G_N_ELEMENTS (users); i++)
    {
      g_autofree char *to = g_strdup_printf ("%s@xmpp.test", users[i]);

      g_assert_cmpuint (subscribe_as (f, PROXY, "romeo", users[i], 0, T0 + (gint64) i * S, NULL),
                        ==, 200);
      g_assert_cmpuint (count_presence (f, "subscribe", "romeo@sip.test", to), ==, asked[i]);
      answer_notifies (f, T0 + (gint64) i * S);
    }
}

static void
test_limit_per_source (Fixture *f, gconstpointer data)
{
  StoxToken first;

  f->config.max_subscriptions_per_source = 3;
  start (f);
  g_assert_cmpuint (subscribe_as (f, PROXY, "a", "juliet", 600, T0, &first), ==, 200);
  g_assert_cmpuint (subscribe_as (f, PROXY, "b", "juliet", 600, T0, NULL), ==, 200);
  g_assert_cmpuint (subscribe_as (f, PROXY, "c", "rosaline", 600, T0, NULL), ==, 200);
  answer_notifies (f, T0);

  /* the fourth from that source: 503 with Retry-After, nothing else */
  g_assert_cmpuint (subscribe_as (f, PROXY, "d", "nurse", 600, T0, NULL), ==, 503);
  StoxAction *a = find (f, STOX_ACTION_SIP_RESPOND, 0);
  g_assert_cmpuint (a->u.respond.retry_after, >, 0);
  g_assert_nonnull (strstr (a->u.respond.warning, "max-subscriptions-per-source"));
  g_assert_cmpuint (f->actions->len, ==, 1);
  clear (f);
  g_assert_cmpuint (subscribe_as (f, PROXY, "d", "nurse", 0, T0, NULL), ==, 503);
  clear (f);

  /* another source is not held back by this one */
  g_assert_cmpuint (subscribe_as (f, "::1", "d", "nurse", 600, T0, NULL), ==, 200);
  answer_notifies (f, T0);

  /* a dialog that ends makes room */
  end_dialog (f, first, T0 + S);
  g_assert_cmpuint (subscribe_as (f, PROXY, "e", "nurse", 600, T0 + S, NULL), ==, 200);
}

static void
test_limit_per_watcher (Fixture *f, gconstpointer data)
{
  f->config.max_subscriptions_per_watcher = 2;
  start (f);
  g_assert_cmpuint (subscribe_as (f, PROXY, "romeo", "juliet", 600, T0, NULL), ==, 200);
  g_assert_cmpuint (subscribe_as (f, PROXY, "romeo", "rosaline", 600, T0, NULL), ==, 200);
  answer_notifies (f, T0);
  g_assert_cmpuint (subscribe_as (f, PROXY, "romeo", "nurse", 600, T0, NULL), ==, 503);
  g_assert_nonnull (strstr (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.warning,
                            "max-subscriptions-per-watcher"));
  clear (f);
  g_assert_cmpuint (subscribe_as (f, PROXY, "mercutio", "nurse", 600, T0, NULL), ==, 200);
}

static void
test_limit_per_user (Fixture *f, gconstpointer data)
{
  f->config.max_subscriptions_per_user = 2;
  start (f);
  g_assert_cmpuint (subscribe_as (f, PROXY, "romeo", "juliet", 600, T0, NULL), ==, 200);
  g_assert_cmpuint (subscribe_as (f, PROXY, "mercutio", "juliet", 600, T0, NULL), ==, 200);
  answer_notifies (f, T0);
  g_assert_cmpuint (subscribe_as (f, PROXY, "benvolio", "juliet", 600, T0, NULL), ==, 503);
  g_assert_nonnull (strstr (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.warning,
                            "max-subscriptions-per-user"));
  g_assert_cmpuint (count_presence (f, "subscribe", "benvolio@sip.test", "juliet@xmpp.test"), ==, 0);
  clear (f);
  g_assert_cmpuint (subscribe_as (f, PROXY, "benvolio", "rosaline", 600, T0, NULL), ==, 200);
}

/* ---- 3. no stanza the XMPP server would not take ----------------------- */

static StoxToken
send_message (Fixture *f, const char *body, gint64 now)
{
  g_autoptr (StoxSipRequest) req = request_new (f, STOX_SIP_METHOD_MESSAGE, PROXY,
                                                "sip:romeo@sip.test", NULL,
                                                "sip:juliet@xmpp.test");

  g_bytes_unref (req->body);
  req->body = g_bytes_new (body, strlen (body));
  stox_gateway_on_sip (f->gw, req, now, f->actions);
  return req->token;
}

/* A body of 70 000 '<' is 280 000 bytes as a stanza: over the default
 * (256 KiB), 413, and nothing is queued toward XMPP, which would close the
 * stream.  60 000 are 240 000 bytes: delivered. */
static void
test_stanza_size_default (Fixture *f, gconstpointer data)
{
  g_autofree char *big = g_strnfill (70000, '<');
  g_autofree char *fits = g_strnfill (60000, '<');

  start (f);
  send_message (f, big, T0);
  g_assert_cmpuint (f->actions->len, ==, 1);
  StoxAction *a = find (f, STOX_ACTION_SIP_RESPOND, 0);
  g_assert_cmpuint (a->u.respond.status, ==, 413);
  g_assert_nonnull (strstr (a->u.respond.warning, "max-stanza-size"));
  clear (f);

  send_message (f, fits, T0);
  StoxStanza *st = find (f, STOX_ACTION_XMPP_SEND, 0)->u.stanza;
  g_assert_cmpuint (stox_stanza_encoded_size (st), <=, STOX_STANZA_SIZE_DEFAULT);
  g_assert_cmpuint (stox_stanza_encoded_size (st), >, 240000);
}

/* The limit is the encoded size, to the byte. */
static void
test_stanza_size_exact (Fixture *f, gconstpointer data)
{
  gsize size;

  start (f);
  send_message (f, "\"quoted\" & <escaped>", T0);
  size = stox_stanza_encoded_size (find (f, STOX_ACTION_XMPP_SEND, 0)->u.stanza);
  stox_gateway_free (f->gw);
  clear (f);

  for (guint delta = 0; delta < 2; delta++)
    {
      f->config.max_stanza_size = (guint) size - delta;
      start (f);
      send_message (f, "\"quoted\" & <escaped>", T0);
      g_test_message ("limit %u", f->config.max_stanza_size);
      if (delta == 0)
        g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 1);
      else
        g_assert_cmpuint (respond_status (f), ==, 413);
      stox_gateway_free (f->gw);
      f->gw = NULL;
      clear (f);
    }
}

/* A SIP user's PIDF note may be large (the PIDF limit is 64 KiB, and a
 * '"' written as one byte there is six in a stanza): the presence goes
 * out without its status text rather than not at all. */
static void
test_presence_too_large_trimmed (Fixture *f, gconstpointer data)
{
  g_autofree char *note = g_strnfill (60000, '"');
  g_autoptr (StoxSipRequest) notify = NULL;
  g_autofree char *doc = NULL;
  StoxToken dialog;

  start (f);
  xmpp_presence (f, "subscribe", "bob@xmpp.test/laptop", "alice@sip.test", NULL, T0);
  dialog = find (f, STOX_ACTION_SIP_SUBSCRIBE, 0)->u.subscribe.dialog;
  clear (f);
  respond_sip (f, dialog, 200, T0);
  clear (f);

  /* A quote needs no escape in character data (XML 1.0 §2.4). */
  doc = g_strdup_printf ("<?xml version='1.0' encoding='UTF-8'?>"
                         "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:alice@sip.test'>"
                         "<tuple id='t1'><status><basic>open</basic></status>"
                         "<note xml:lang='en'>%s</note></tuple></presence>", note);
  g_assert_cmpuint (strlen (doc), <=, STOX_PIDF_MAX);
  notify = request_new (f, STOX_SIP_METHOD_NOTIFY, PROXY, "sip:alice@sip.test", NULL,
                        "sip:bob@xmpp.test");
  g_free (notify->method_name);
  notify->method_name = g_strdup ("NOTIFY");
  notify->dialog = dialog;
  notify->substate = g_strdup ("active");
  notify->content_type = g_strdup (STOX_PIDF_CONTENT_TYPE);
  notify->body = g_bytes_new (doc, strlen (doc));
  stox_gateway_on_sip (f->gw, notify, T0 + S, f->actions);
  g_assert_cmpuint (respond_status (f), ==, 200);

  guint available = 0;
  for (guint i = 0; i < f->actions->len; i++)
    {
      StoxAction *a = f->actions->pdata[i];

      if (a->kind != STOX_ACTION_XMPP_SEND || a->u.stanza->kind != STOX_STANZA_PRESENCE ||
          a->u.stanza->type != NULL)
        continue;
      available++;
      g_assert_cmpuint (stox_stanza_encoded_size (a->u.stanza), <=, STOX_STANZA_SIZE_DEFAULT);
      g_assert_true (a->u.stanza->statuses == NULL && a->u.stanza->status == NULL);
    }
  g_assert_cmpuint (available, ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) \
  g_test_add ("/security/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("pai/names-the-sender", test_pai_names_the_sender);
  ADD ("pai/refusals", test_pai_refusals);
  ADD ("pai/untrusted-ignored", test_pai_untrusted_ignored);
  ADD ("pai/late-notice-to-asserted", test_pai_late_notice_to_asserted);
  ADD ("presence/spoofed-watcher-refused", test_spoofed_watcher_refused);
  ADD ("presence/trust-from", test_trust_from);
  ADD ("limits/subscription-request-once", test_subscription_request_once);
  ADD ("limits/subscription-request-memory", test_subscription_request_memory_bounded);
  ADD ("limits/subscription-request-outlives-pair", test_subscription_request_outlives_pair);
  ADD ("limits/per-source", test_limit_per_source);
  ADD ("limits/per-watcher", test_limit_per_watcher);
  ADD ("limits/per-user", test_limit_per_user);
  ADD ("stanza-size/default", test_stanza_size_default);
  ADD ("stanza-size/exact", test_stanza_size_exact);
  ADD ("stanza-size/presence-trimmed", test_presence_too_large_trimmed);
#undef ADD

  return g_test_run ();
}
