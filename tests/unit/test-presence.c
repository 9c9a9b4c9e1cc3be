/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Presence flows of stoxd(8) PRESENCE / RFC 8048 §5 replayed through the
 * engine with a fake clock: SIP watchers of XMPP users (S2X) and XMPP
 * users following SIP users (X2S), refresh, expiry, merging, shutdown.
 */
#include "config.h"

#include <string.h>

#include "core/gateway.h"
#include "core/pidf.h"
#include "core/presence.h"
#include "core/watch.h"
#include "support/shipped-rules.h"

#define S  (G_USEC_PER_SEC)
#define T0 (G_GINT64_CONSTANT (1000000000000))

typedef struct
{
  StoxRules   *rules;
  StoxGateway *gw;
  GPtrArray   *actions;
  StoxToken    next_token;
} Fixture;

static void
fixture_setup_with (Fixture *f, guint max_pending, gboolean end_subscriptions_on_stop)
{
  static const char *const xmpp_domains[] = { "xmpp.test", NULL };
  StoxGatewayConfig config = {
    .sip_domain = "sip.test",
    .component = "sip.test",
    .xmpp_domains = xmpp_domains,
    .bounce_wait_ms = 250,
    .instance = "t",
    .max_pending = max_pending,
    .end_subscriptions_on_stop = end_subscriptions_on_stop,
  };

  f->rules = stox_test_load_shipped_rules ();
  f->gw = stox_gateway_new (&config, f->rules, NULL);
  f->actions = stox_actions_new ();
  f->next_token = 1000000;
  stox_gateway_on_link (f->gw, TRUE, 0, T0, f->actions);
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  fixture_setup_with (f, 0, FALSE);
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

/* Finds the n-th action of `kind` (0-based) or fails. */
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
count (Fixture *f, StoxActionKind kind)
{
  guint n = 0;

  for (guint i = 0; i < f->actions->len; i++)
    n += ((StoxAction *) f->actions->pdata[i])->kind == kind;
  return n;
}

static StoxStanza *
find_presence (Fixture *f, const char *type, const char *from, const char *to)
{
  for (guint i = 0; i < f->actions->len; i++)
    {
      StoxAction *a = f->actions->pdata[i];
      if (a->kind == STOX_ACTION_XMPP_SEND && a->u.stanza->kind == STOX_STANZA_PRESENCE &&
          g_strcmp0 (a->u.stanza->type, type) == 0 && g_strcmp0 (a->u.stanza->from, from) == 0 &&
          g_strcmp0 (a->u.stanza->to, to) == 0)
        return a->u.stanza;
    }
  return NULL;
}

static char *
body_of (StoxAction *a)
{
  GBytes *b = a->kind == STOX_ACTION_SIP_NOTIFY ? a->u.notify.body : NULL;
  return b != NULL ? g_strndup (g_bytes_get_data (b, NULL), g_bytes_get_size (b)) : NULL;
}

static StoxSipRequest *
subscribe_new (Fixture *f, StoxToken dialog, gint64 expires)
{
  StoxSipRequest *req = stox_sip_request_new ();

  req->token = ++f->next_token;
  req->method = STOX_SIP_METHOD_SUBSCRIBE;
  req->method_name = g_strdup ("SUBSCRIBE");
  req->request_uri = g_strdup ("sip:juliet@xmpp.test");
  req->from_uri = g_strdup ("sip:romeo@sip.test");
  /* the proxy vouches for romeo (RFC 3325), as presence requires */
  req->asserted_uri = g_strdup ("sip:romeo@sip.test");
  req->to_uri = g_strdup ("sip:juliet@xmpp.test");
  req->event = g_strdup ("presence");
  req->expires = expires;
  req->dialog = dialog;
  req->source = g_strdup ("127.0.0.1");
  return req;
}

/* A new SUBSCRIBE for a pair not approved: its first NOTIFY waits
 * STOX_WATCH_ASK_WAIT_MS for the XMPP server's answer to the subscription
 * request, and none comes here. */
static void
new_watcher (Fixture *f, StoxSipRequest *req, gint64 now)
{
  stox_gateway_on_sip (f->gw, req, now, f->actions);
  stox_gateway_on_timer (f->gw, now + STOX_WATCH_ASK_WAIT_MS * 1000, f->actions);
}

static void
respond_sip (Fixture *f, StoxToken token, guint status, gint64 expires, gint64 now)
{
  StoxSipResponse resp = { .token = token, .status = status, .phrase = (char *) "x",
                           .expires = expires, .min_expires = -1 };
  stox_gateway_on_sip_response (f->gw, &resp, now, f->actions);
}

static void
xmpp_presence (Fixture *f, const char *type, const char *from, const char *to,
               const char *show, const char *status, gint64 now)
{
  StoxStanza *st = stox_stanza_new (STOX_STANZA_PRESENCE);

  st->type = g_strdup (type);
  st->from = g_strdup (from);
  st->to = g_strdup (to);
  st->show = g_strdup (show);
  st->status = g_strdup (status);
  st->lang = status != NULL ? g_strdup ("en") : NULL;
  stox_gateway_on_stanza (f->gw, st, now, f->actions);
  stox_stanza_free (st);
}

/* Checks a stanza's statuses against `want`, NULL-terminated (lang,
 * text) pairs; a lang of "-" stands for none. */
static void
assert_stanza_statuses (const StoxStanza *st, const char *const *want)
{
  guint n = 0;

  while (want[2 * n] != NULL)
    n++;
  if (n == 0)
    {
      g_assert_true (st->statuses == NULL || st->statuses->len == 0);
      return;
    }
  g_assert_nonnull (st->statuses);
  g_assert_cmpuint (st->statuses->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      const StoxLangText *t = st->statuses->pdata[i];

      g_test_message ("status %u", i);
      g_assert_cmpstr (t->lang, ==, strcmp (want[2 * i], "-") == 0 ? NULL : want[2 * i]);
      g_assert_cmpstr (t->text, ==, want[2 * i + 1]);
    }
}

/* A SIP watcher whose subscription is active; returns its dialog. */
static StoxToken
active_watcher (Fixture *f, gint64 expires)
{
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, expires);

  new_watcher (f, req, T0);
  respond_sip (f, find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token, 200, -1, T0);
  clear (f);
  xmpp_presence (f, "subscribed", "juliet@xmpp.test", "romeo@sip.test", NULL, NULL, T0);
  /* Approved: a probe, and the first active NOTIFY waits for its answer
   * (here Prosody's for an offline user: unavailable from the bare JID,
   * RFC 6121 §4.3.2). */
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  g_assert_nonnull (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
  clear (f);
  xmpp_presence (f, "unavailable", "juliet@xmpp.test", "romeo@sip.test", NULL, NULL, T0);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 1);
  respond_sip (f, find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token, 200, -1, T0);
  clear (f);
  return req->token;
}

/* ---- S2X ---------------------------------------------------------------- */

static void
test_s2x_subscribe_pending_then_active (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 600);

  new_watcher (f, req, T0);
  StoxAction *ok = find (f, STOX_ACTION_SIP_RESPOND, 0);
  g_assert_cmpuint (ok->u.respond.status, ==, 200);
  g_assert_cmpint (ok->u.respond.expires, ==, 600);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpuint (n->u.notify.dialog, ==, req->token);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_PENDING);
  g_assert_null (n->u.notify.body);              /* pending: no presence yet */
  g_assert_cmpuint (n->u.notify.expires, ==, 600);
  /* XMPP subscribe, never a probe before approval (stoxd(8) PRESENCE). */
  g_assert_nonnull (find_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"));
  g_assert_null (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
  StoxToken first = n->u.notify.token;
  clear (f);

  /* A probe answer "unsubscribed" can't happen: no probe was sent.  The
   * approval makes the dialog active and only then probes. */
  respond_sip (f, first, 200, -1, T0);
  g_assert_cmpuint (f->actions->len, ==, 0);
  xmpp_presence (f, "subscribed", "juliet@xmpp.test", "romeo@sip.test", NULL, NULL, T0 + S);
  g_assert_nonnull (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
  /* No active NOTIFY before the probe's answer: a closed one first would
   * make a phone flicker Offline → Online. */
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  clear (f);
  /* The server sends the user's presence after the subscribed (RFC 6121
   * §3.1.5), then the probe's answer: one NOTIFY, with that presence, and
   * none for the repeat. */
  xmpp_presence (f, NULL, "juliet@xmpp.test/pc", "romeo@sip.test", NULL, "here", T0 + S);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 1);
  n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_ACTIVE);
  g_autofree char *doc = body_of (n);
  g_assert_nonnull (strstr (doc, "<basic>open</basic>"));
  g_assert_nonnull (strstr (doc, "here"));
  xmpp_presence (f, NULL, "juliet@xmpp.test/pc", "romeo@sip.test", NULL, "here", T0 + S);
  respond_sip (f, n->u.notify.token, 200, -1, T0 + S);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 1);
}

/* A contact the XMPP user approved before: her server answers the
 * subscription request at once (RFC 6121 §3.1.3), within the wait, and
 * the watcher's first NOTIFY is active with her presence: one NOTIFY,
 * not pending then active. */
static void
test_s2x_approved_at_once (Fixture *f, gconstpointer data)
{
  const gint64 soon = T0 + 20 * 1000;   /* 20 ms: well within the wait */
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 600);
  StoxGatewayStats stats;

  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  g_assert_cmpuint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status, ==, 200);
  g_assert_nonnull (find_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"));
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.watchers_pending, ==, 1);
  clear (f);

  xmpp_presence (f, "subscribed", "juliet@xmpp.test", "romeo@sip.test", NULL, NULL, soon);
  g_assert_nonnull (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.watchers_pending, ==, 0);
  clear (f);
  xmpp_presence (f, NULL, "juliet@xmpp.test/pc", "romeo@sip.test", "away", "back soon", soon);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 1);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpuint (n->u.notify.dialog, ==, req->token);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_ACTIVE);
  g_assert_cmpuint (n->u.notify.expires, ==, 600);
  g_autofree char *doc = body_of (n);
  g_assert_nonnull (strstr (doc, "<basic>open</basic>"));
  g_assert_nonnull (strstr (doc, "back soon"));
  StoxToken first = n->u.notify.token;
  clear (f);

  /* The wait's end finds nothing held: no pending NOTIFY after it. */
  stox_gateway_on_timer (f->gw, T0 + STOX_WATCH_ASK_WAIT_MS * 1000, f->actions);
  respond_sip (f, first, 200, -1, soon);
  stox_gateway_on_timer (f->gw, T0 + 3 * S, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
}

/* No answer (the user decides later, or is offline): the pending NOTIFY
 * goes when the wait ends, not before; a second dialog of the same pair
 * meanwhile waits with it, asks nothing again, and hears it at the same
 * time; a third after that, the request still unanswered, hears pending
 * at once. */
static void
test_s2x_ask_wait_bounded (Fixture *f, gconstpointer data)
{
  const gint64 end = T0 + STOX_WATCH_ASK_WAIT_MS * 1000;
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 600);
  g_autoptr (StoxSipRequest) phone = subscribe_new (f, 0, 600);
  g_autoptr (StoxSipRequest) later = subscribe_new (f, 0, 600);

  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  stox_gateway_on_sip (f->gw, phone, T0 + 1000, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 1);   /* one subscribe */
  g_assert_nonnull (find_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"));
  clear (f);
  stox_gateway_on_timer (f->gw, end - 1, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
  stox_gateway_on_timer (f->gw, end, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, i);

      g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_PENDING);
      g_assert_null (n->u.notify.body);
      g_assert_true (n->u.notify.dialog == req->token || n->u.notify.dialog == phone->token);
    }
  g_assert_cmpuint (find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.dialog, !=,
                    find (f, STOX_ACTION_SIP_NOTIFY, 1)->u.notify.dialog);
  clear (f);

  stox_gateway_on_sip (f->gw, later, end + S, f->actions);
  g_assert_cmpuint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status, ==, 200);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 1);
  g_assert_cmpint (find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.substate, ==,
                   STOX_SUBSTATE_PENDING);
  g_assert_null (find_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"));
}

/* A stop within the wait: the held watcher still gets its first NOTIFY,
 * pending (the dialog is kept for the next start). */
static void
test_s2x_stop_within_wait (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 600);

  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  clear (f);
  stox_gateway_on_shutdown (f->gw, T0 + 10 * 1000, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 1);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpuint (n->u.notify.dialog, ==, req->token);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_PENDING);
  g_assert_null (n->u.notify.body);
  clear (f);
  stox_gateway_on_timer (f->gw, T0 + STOX_WATCH_ASK_WAIT_MS * 1000, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
}

/* A refusal within the wait is the first NOTIFY: terminated;rejected. */
static void
test_s2x_rejected_within_wait (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 600);

  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  clear (f);
  xmpp_presence (f, "unsubscribed", "juliet@xmpp.test", "romeo@sip.test", NULL, NULL,
                 T0 + 10 * 1000);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 1);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_TERMINATED);
  g_assert_cmpstr (n->u.notify.reason, ==, "rejected");
  clear (f);
  stox_gateway_on_timer (f->gw, T0 + STOX_WATCH_ASK_WAIT_MS * 1000, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
}

static void
test_s2x_presence_merged_one_in_flight (Fixture *f, gconstpointer data)
{
  StoxToken dialog = active_watcher (f, 600);

  xmpp_presence (f, NULL, "juliet@xmpp.test/phone", "romeo@sip.test", "away", "at lunch",
                 T0 + S);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpuint (n->u.notify.dialog, ==, dialog);
  g_autofree char *doc = body_of (n);
  g_assert_cmpstr (n->u.notify.content_type, ==, "application/pidf+xml");
  g_assert_nonnull (strstr (doc, "<basic>open</basic>"));
  g_assert_nonnull (strstr (doc, "at lunch"));
  g_assert_nonnull (strstr (doc, "xml:lang=\"en\""));
  StoxToken inflight = n->u.notify.token;
  clear (f);

  /* Two updates while one NOTIFY is in flight: nothing yet… */
  xmpp_presence (f, NULL, "juliet@xmpp.test/phone", "romeo@sip.test", "dnd", "meeting",
                 T0 + 2 * S);
  xmpp_presence (f, NULL, "juliet@xmpp.test/phone", "romeo@sip.test", NULL, "back",
                 T0 + 3 * S);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  /* …then exactly one, with the newest state. */
  respond_sip (f, inflight, 200, -1, T0 + 4 * S);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 1);
  g_autofree char *newest = body_of (find (f, STOX_ACTION_SIP_NOTIFY, 0));
  g_assert_nonnull (strstr (newest, "back"));
  g_assert_null (strstr (newest, "meeting"));
}

/* RFC 8048 Table 1: every <status xml:lang> → <note xml:lang>, one
 * without xml:lang in the stanza's language (RFC 6121 §4.7.2.2). */
static void
test_s2x_status_languages (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const char *lang;          /* the stanza's */
    const char *status;        /* the front end's one status */
    const char *statuses[8];   /* lang ("-": none), text, …, NULL */
    const char *notes[8];      /* the NOTIFY's, parsed: lang, text, … */
    const char *wire[3];       /* in the document as written */
  } rows[] = {
    { "en", "at lunch", { "-", "at lunch", "de", "beim Mittagessen", NULL },
      { "en", "at lunch", "de", "beim Mittagessen", NULL },
      { "<note xml:lang=\"en\">at lunch</note>",
        "<note xml:lang=\"de\">beim Mittagessen</note>", NULL } },
    /* document order kept; an empty status says nothing */
    { "en", "away", { "fr", "absent", "-", "away", "de", "", NULL },
      { "fr", "absent", "en", "away", NULL },
      { "<note xml:lang=\"fr\">absent</note>", "<note xml:lang=\"en\">away</note>", NULL } },
    /* no language anywhere: a note without xml:lang */
    { NULL, "a", { "-", "a", "de", "b", NULL },
      { "-", "a", "de", "b", NULL },
      { "<note>a</note>", "<note xml:lang=\"de\">b</note>", NULL } },
    /* a stanza built without `statuses`: its one status */
    { "en", "only", { NULL }, { "en", "only", NULL },
      { "<note xml:lang=\"en\">only</note>", NULL } },
  };

  active_watcher (f, 600);
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (StoxStanza) st = stox_stanza_new (STOX_STANZA_PRESENCE);
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) infos = NULL;
      const StoxPresenceInfo *info;
      gint64 now = T0 + (gint64) (i + 1) * S;
      guint n = 0;

      g_test_message ("row %zu", i);
      st->from = g_strdup ("juliet@xmpp.test/phone");
      st->to = g_strdup ("romeo@sip.test");
      st->lang = g_strdup (rows[i].lang);
      st->status = g_strdup (rows[i].status);
      for (guint j = 0; rows[i].statuses[2 * j] != NULL; j++)
        stox_stanza_add_status (st, strcmp (rows[i].statuses[2 * j], "-") == 0
                                    ? NULL : rows[i].statuses[2 * j],
                                rows[i].statuses[2 * j + 1]);
      stox_gateway_on_stanza (f->gw, st, now, f->actions);

      StoxAction *a = find (f, STOX_ACTION_SIP_NOTIFY, 0);
      g_autofree char *doc = body_of (a);
      g_test_message ("%s", doc);
      for (guint j = 0; rows[i].wire[j] != NULL; j++)
        g_assert_nonnull (strstr (doc, rows[i].wire[j]));
      infos = stox_pidf_parse (doc, strlen (doc), NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (infos->len, ==, 1);
      info = infos->pdata[0];
      while (rows[i].notes[2 * n] != NULL)
        n++;
      g_assert_cmpuint (info->statuses->len, ==, n);
      for (guint j = 0; j < n; j++)
        {
          const StoxLangText *note = info->statuses->pdata[j];

          g_assert_cmpstr (note->lang, ==, strcmp (rows[i].notes[2 * j], "-") == 0
                                           ? NULL : rows[i].notes[2 * j]);
          g_assert_cmpstr (note->text, ==, rows[i].notes[2 * j + 1]);
        }
      respond_sip (f, a->u.notify.token, 200, -1, now);
      clear (f);
    }
}

static void
test_s2x_unavailable_closed (Fixture *f, gconstpointer data)
{
  active_watcher (f, 600);

  xmpp_presence (f, "unavailable", "juliet@xmpp.test/phone", "romeo@sip.test", NULL, NULL,
                 T0 + S);
  g_autofree char *doc = body_of (find (f, STOX_ACTION_SIP_NOTIFY, 0));
  g_assert_nonnull (strstr (doc, "<basic>closed</basic>"));   /* Table 1 note 4 */
}

/* The status text of an unavailable is shown: among unavailable
 * resources the one that spoke last is the one the watcher sees, and the
 * bare JID's unavailable (a probe's answer while nobody was online) goes
 * when a resource comes online. */
static void
test_s2x_unavailable_keeps_status (Fixture *f, gconstpointer data)
{
  active_watcher (f, 600);   /* the table holds the bare JID's unavailable */

  xmpp_presence (f, NULL, "juliet@xmpp.test/e2e", "romeo@sip.test", NULL, "here", T0 + S);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  respond_sip (f, n->u.notify.token, 200, -1, T0 + S);
  clear (f);
  xmpp_presence (f, "unavailable", "juliet@xmpp.test/e2e", "romeo@sip.test", NULL,
                 "Gone home", T0 + 2 * S);
  n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_autofree char *doc = body_of (n);
  g_assert_nonnull (strstr (doc, "<basic>closed</basic>"));
  g_assert_nonnull (strstr (doc, ">Gone home</note>"));
  respond_sip (f, n->u.notify.token, 200, -1, T0 + 2 * S);
  clear (f);

  /* Two unavailable resources: the later one's text, whatever the names
   * (the smaller name spoke first). */
  xmpp_presence (f, "unavailable", "juliet@xmpp.test/a-phone", "romeo@sip.test", NULL,
                 "phone off", T0 + 3 * S);
  n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_autofree char *doc2 = body_of (n);
  g_assert_nonnull (strstr (doc2, ">phone off</note>"));
  respond_sip (f, n->u.notify.token, 200, -1, T0 + 3 * S);
  clear (f);
  xmpp_presence (f, "unavailable", "juliet@xmpp.test/b-laptop", "romeo@sip.test", NULL,
                 "laptop off", T0 + 4 * S);
  n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_autofree char *doc3 = body_of (n);
  g_assert_nonnull (strstr (doc3, ">laptop off</note>"));
  g_assert_null (strstr (doc3, "phone off"));
  respond_sip (f, n->u.notify.token, 200, -1, T0 + 4 * S);
  clear (f);

  /* An available resource beats every unavailable one, however recent:
   * the later unavailable changes nothing the watcher sees, and no
   * NOTIFY goes. */
  xmpp_presence (f, NULL, "juliet@xmpp.test/a-phone", "romeo@sip.test", NULL, "back",
                 T0 + 5 * S);
  n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_autofree char *doc4 = body_of (n);
  g_assert_nonnull (strstr (doc4, "<basic>open</basic>"));
  g_assert_nonnull (strstr (doc4, ">back</note>"));
  respond_sip (f, n->u.notify.token, 200, -1, T0 + 5 * S);
  clear (f);
  xmpp_presence (f, "unavailable", "juliet@xmpp.test/b-laptop", "romeo@sip.test", NULL,
                 "still off", T0 + 6 * S);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
}

/* After the approval the first active NOTIFY waits for the probe's
 * answer; a server that never answers (ejabberd, an offline user) still
 * gets the watcher one NOTIFY, closed, once STOX_WATCH_PROBE_WAIT_MS is
 * over.  An update that changes nothing is not sent; a refresh is. */
static void
test_s2x_approval_waits_for_probe (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 600);
  const gint64 wait = STOX_WATCH_PROBE_WAIT_MS * 1000;

  new_watcher (f, req, T0);
  respond_sip (f, find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token, 200, -1, T0);
  clear (f);
  xmpp_presence (f, "subscribed", "juliet@xmpp.test", "romeo@sip.test", NULL, NULL, T0 + S);
  g_assert_nonnull (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  clear (f);
  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, T0 + S + wait);
  stox_gateway_on_timer (f->gw, T0 + S + wait - 1, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
  stox_gateway_on_timer (f->gw, T0 + S + wait, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 1);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_ACTIVE);
  g_autofree char *doc = body_of (n);
  g_assert_nonnull (strstr (doc, "<basic>closed</basic>"));
  respond_sip (f, n->u.notify.token, 200, -1, T0 + S + wait);
  clear (f);

  /* She was offline; the server says so again: nothing new, no NOTIFY. */
  xmpp_presence (f, "unavailable", "juliet@xmpp.test", "romeo@sip.test", NULL, NULL,
                 T0 + 5 * S);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  /* A refresh is always answered with a NOTIFY (RFC 6665 §4.2.1.2). */
  g_autoptr (StoxSipRequest) refresh = subscribe_new (f, req->token, 600);
  stox_gateway_on_sip (f->gw, refresh, T0 + 6 * S, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 1);
  g_autofree char *again = body_of (find (f, STOX_ACTION_SIP_NOTIFY, 0));
  g_assert_cmpstr (again, ==, doc);
}

static void
test_s2x_rejected (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 600);
  StoxGatewayStats stats;

  new_watcher (f, req, T0);
  respond_sip (f, find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token, 200, -1, T0);
  clear (f);
  xmpp_presence (f, "unsubscribed", "juliet@xmpp.test", "romeo@sip.test", NULL, NULL, T0 + S);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_TERMINATED);
  g_assert_cmpstr (n->u.notify.reason, ==, "rejected");
  StoxToken t = n->u.notify.token;
  clear (f);
  respond_sip (f, t, 200, -1, T0 + S);
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.watchers, ==, 0);
  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, -1);   /* no timer left */
}

static void
test_s2x_refresh_and_expiry (Fixture *f, gconstpointer data)
{
  StoxToken dialog = active_watcher (f, 120);
  StoxGatewayStats stats;

  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, T0 + 120 * S);
  /* Refresh at 100 s for another 120 s: answered, current state notified. */
  g_autoptr (StoxSipRequest) refresh = subscribe_new (f, dialog, 120);
  stox_gateway_on_sip (f->gw, refresh, T0 + 100 * S, f->actions);
  g_assert_cmpint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.expires, ==, 120);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_ACTIVE);
  respond_sip (f, n->u.notify.token, 200, -1, T0 + 100 * S);
  clear (f);
  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, T0 + 220 * S);

  stox_gateway_on_timer (f->gw, T0 + 219 * S, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
  stox_gateway_on_timer (f->gw, T0 + 220 * S, f->actions);
  n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_TERMINATED);
  g_assert_cmpstr (n->u.notify.reason, ==, "timeout");
  g_autofree char *doc = body_of (n);
  g_assert_nonnull (strstr (doc, "<basic>closed</basic>"));   /* §5.3.3 */
  g_assert_nonnull (find_presence (f, "unavailable", "romeo@sip.test", "juliet@xmpp.test"));
  respond_sip (f, n->u.notify.token, 200, -1, T0 + 220 * S);
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.watchers, ==, 0);
}

static void
test_s2x_unsubscribe (Fixture *f, gconstpointer data)
{
  StoxToken dialog = active_watcher (f, 600);
  g_autoptr (StoxSipRequest) bye = subscribe_new (f, dialog, 0);

  stox_gateway_on_sip (f->gw, bye, T0 + S, f->actions);
  StoxAction *ok = find (f, STOX_ACTION_SIP_RESPOND, 0);
  g_assert_cmpuint (ok->u.respond.status, ==, 200);
  g_assert_cmpint (ok->u.respond.expires, ==, 0);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_TERMINATED);
  g_assert_cmpstr (n->u.notify.reason, ==, "timeout");
  g_assert_nonnull (find_presence (f, "unavailable", "romeo@sip.test", "juliet@xmpp.test"));
  StoxToken t = n->u.notify.token;
  clear (f);
  respond_sip (f, t, 200, -1, T0 + S);

  /* The dialog is gone: another request in it gets 481. */
  g_autoptr (StoxSipRequest) late = subscribe_new (f, dialog, 600);
  stox_gateway_on_sip (f->gw, late, T0 + 2 * S, f->actions);
  g_assert_cmpuint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status, ==, 481);
}

static void
test_s2x_refusals (Fixture *f, gconstpointer data)
{
  const struct
  {
    const char *event, *accept, *from, *ruri;
    gint64 expires;
    guint status;
    gint64 min_expires;
  } rows[] = {
    { "message-summary", NULL, "sip:romeo@sip.test", "sip:juliet@xmpp.test", 600, 489, -1 },
    { "presence", "text/plain", "sip:romeo@sip.test", "sip:juliet@xmpp.test", 600, 406, -1 },
    { "presence", NULL, "sip:romeo@sip.test", "sip:juliet@xmpp.test", 30, 423, 60 },
    { "presence", NULL, "sip:romeo@other.test", "sip:juliet@xmpp.test", 600, 403, -1 },
    { "presence", NULL, "sip:romeo@sip.test", "sip:juliet@nowhere.test", 600, 404, -1 },
    { "presence", NULL, "sip:romeo@sip.test", "sips:juliet@xmpp.test", 600, 416, -1 },
    { "presence", "application/pidf+xml;q=1, text/plain", "sip:romeo@sip.test",
      "sip:juliet@xmpp.test", 600, 200, -1 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, rows[i].expires);

      g_free (req->event);
      req->event = g_strdup (rows[i].event);
      req->accept = g_strdup (rows[i].accept);
      g_free (req->from_uri);
      req->from_uri = g_strdup (rows[i].from);
      g_free (req->asserted_uri);
      req->asserted_uri = g_strdup (rows[i].from);
      g_free (req->request_uri);
      req->request_uri = g_strdup (rows[i].ruri);
      g_test_message ("row %zu", i);
      new_watcher (f, req, T0);
      StoxAction *a = find (f, STOX_ACTION_SIP_RESPOND, 0);
      g_assert_cmpuint (a->u.respond.status, ==, rows[i].status);
      g_assert_cmpint (a->u.respond.min_expires, ==, rows[i].min_expires);
      if (rows[i].status != 200)
        g_assert_cmpuint (f->actions->len, ==, 1);   /* refused: nothing else happens */
      clear (f);
    }

  /* While the XMPP link is down: 503 with Retry-After. */
  stox_gateway_on_link (f->gw, FALSE, 7, T0, f->actions);
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 600);
  new_watcher (f, req, T0);
  StoxAction *a = find (f, STOX_ACTION_SIP_RESPOND, 0);
  g_assert_cmpuint (a->u.respond.status, ==, 503);
  g_assert_cmpuint (a->u.respond.retry_after, ==, 7);
}

static void
test_s2x_notify_481_drops (Fixture *f, gconstpointer data)
{
  active_watcher (f, 600);
  StoxGatewayStats stats;

  xmpp_presence (f, NULL, "juliet@xmpp.test", "romeo@sip.test", NULL, NULL, T0 + S);
  respond_sip (f, find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token, 481, -1, T0 + S);
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.watchers, ==, 0);       /* RFC 6665 §4.2.2 */
}

static void
test_s2x_fetch (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 0);

  new_watcher (f, req, T0);
  g_assert_cmpint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.expires, ==, 0);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_TERMINATED);
}

static void
test_s2x_second_watcher_already_authorized (Fixture *f, gconstpointer data)
{
  active_watcher (f, 600);
  xmpp_presence (f, NULL, "juliet@xmpp.test/pc", "romeo@sip.test", NULL, "here", T0 + S);
  respond_sip (f, find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token, 200, -1, T0 + S);
  clear (f);

  /* romeo's second phone: active at once with the known presence. */
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 600);
  new_watcher (f, req, T0 + 2 * S);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_ACTIVE);
  g_autofree char *doc = body_of (n);
  g_assert_nonnull (strstr (doc, "here"));
  g_assert_null (find_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"));
}

/* ---- X2S ---------------------------------------------------------------- */

static const char PIDF_OPEN[] =
  "<?xml version='1.0' encoding='UTF-8'?>"
  "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:alice@sip.test'>"
  "<tuple id='desk'><status><basic>open</basic></status>"
  "<note xml:lang='en'>in the office</note></tuple></presence>";

static StoxSipRequest *
notify_new (Fixture *f, StoxToken dialog, const char *substate, const char *reason,
            const char *body)
{
  StoxSipRequest *req = stox_sip_request_new ();

  req->token = ++f->next_token;
  req->method = STOX_SIP_METHOD_NOTIFY;
  req->method_name = g_strdup ("NOTIFY");
  req->request_uri = g_strdup ("sip:bob@xmpp.test");
  req->from_uri = g_strdup ("sip:alice@sip.test");
  req->event = g_strdup ("presence");
  req->dialog = dialog;
  req->substate = g_strdup (substate);
  req->substate_reason = g_strdup (reason);
  if (body != NULL)
    {
      req->content_type = g_strdup ("application/pidf+xml");
      req->body = g_bytes_new (body, strlen (body));
    }
  req->source = g_strdup ("127.0.0.1");
  return req;
}

static StoxToken
follow (Fixture *f, gint64 now)
{
  xmpp_presence (f, "subscribe", "bob@xmpp.test/laptop", "alice@sip.test", NULL, NULL, now);
  StoxAction *a = find (f, STOX_ACTION_SIP_SUBSCRIBE, 0);
  StoxToken d = a->u.subscribe.dialog;
  clear (f);
  return d;
}

static void
test_x2s_subscribe_notify (Fixture *f, gconstpointer data)
{
  xmpp_presence (f, "subscribe", "bob@xmpp.test/laptop", "alice@sip.test", NULL, NULL, T0);
  StoxAction *a = find (f, STOX_ACTION_SIP_SUBSCRIBE, 0);
  g_assert_cmpstr (a->u.subscribe.request_uri, ==, "sip:alice@sip.test");
  g_assert_cmpstr (a->u.subscribe.from_uri, ==, "sip:bob@xmpp.test");
  g_assert_cmpstr (a->u.subscribe.event, ==, "presence");
  g_assert_cmpstr (a->u.subscribe.accept, ==, "application/pidf+xml");
  g_assert_cmpuint (a->u.subscribe.expires, ==, 3600);
  StoxToken d = a->u.subscribe.dialog;
  clear (f);

  /* 200 with a shorter grant: refresh at 80 %. */
  respond_sip (f, d, 200, 600, T0);
  g_assert_cmpuint (f->actions->len, ==, 0);
  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, T0 + 480 * S);

  /* pending: answered, XMPP hears nothing (RFC 3856 §6.7: neutral). */
  g_autoptr (StoxSipRequest) pending = notify_new (f, d, "pending", NULL, NULL);
  stox_gateway_on_sip (f->gw, pending, T0 + S, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 1);
  g_assert_cmpuint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status, ==, 200);
  clear (f);

  g_autoptr (StoxSipRequest) active = notify_new (f, d, "active", NULL, PIDF_OPEN);
  stox_gateway_on_sip (f->gw, active, T0 + 2 * S, f->actions);
  g_assert_cmpuint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status, ==, 200);
  g_assert_nonnull (find_presence (f, "subscribed", "alice@sip.test", "bob@xmpp.test"));
  StoxStanza *p = find_presence (f, NULL, "alice@sip.test/desk", "bob@xmpp.test");
  g_assert_nonnull (p);
  g_assert_cmpstr (p->status, ==, "in the office");     /* note → status */
  g_assert_cmpstr (p->lang, ==, "en");
  clear (f);

  /* A probe (§7) is answered from the last NOTIFY: no SIP traffic. */
  xmpp_presence (f, "probe", "bob@xmpp.test", "alice@sip.test", NULL, NULL, T0 + 3 * S);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_SUBSCRIBE), ==, 0);
  p = find_presence (f, NULL, "alice@sip.test/desk", "bob@xmpp.test");
  g_assert_nonnull (p);
  g_assert_cmpstr (p->status, ==, "in the office");
  clear (f);

  /* Refresh timer: SUBSCRIBE inside the same dialog. */
  stox_gateway_on_timer (f->gw, T0 + 480 * S, f->actions);
  a = find (f, STOX_ACTION_SIP_SUBSCRIBE, 0);
  g_assert_cmpuint (a->u.subscribe.dialog, ==, d);
  g_assert_cmpuint (a->u.subscribe.expires, >, 0);
}

#define PIDF_HEAD \
  "<?xml version='1.0' encoding='UTF-8'?>" \
  "<presence xmlns='urn:ietf:params:xml:ns:pidf'" \
  " xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model' entity='sip:alice@sip.test'>"
#define PIDF_TUPLE(notes) \
  "<tuple id='desk'><status><basic>open</basic></status>" notes "</tuple>"

/* RFC 8048 Table 2: every <note xml:lang> → <status xml:lang>, at most
 * one per language (RFC 6121 §4.7.2.2), the stanza in the first note's
 * language; a probe's answer from the last NOTIFY (§7) says the same. */
static void
test_x2s_note_languages (Fixture *f, gconstpointer data)
{
  static const struct
  {
    const char *pidf;
    const char *content_language;
    const char *lang;          /* the stanza's */
    const char *status;
    const char *statuses[8];   /* lang ("-": none), text, …, NULL */
  } rows[] = {
    { PIDF_HEAD PIDF_TUPLE ("<note xml:lang='en'>in the office</note>"
                            "<note xml:lang='de'>im Büro</note>") "</presence>",
      NULL, "en", "in the office", { "en", "in the office", "de", "im Büro", NULL } },
    /* a note without xml:lang is in the NOTIFY's language */
    { PIDF_HEAD PIDF_TUPLE ("<note>in the office</note>"
                            "<note xml:lang='de'>im Büro</note>") "</presence>",
      "en", "en", "in the office", { "en", "in the office", "de", "im Büro", NULL } },
    { PIDF_HEAD PIDF_TUPLE ("<note xml:lang='de'>im Büro</note>"
                            "<note xml:lang='fr'>au bureau</note>") "</presence>",
      "en", "de", "im Büro", { "de", "im Büro", "fr", "au bureau", NULL } },
    /* …else in the stanza's, the first note's: one German status */
    { PIDF_HEAD PIDF_TUPLE ("<note xml:lang='de'>im Büro</note><note>office</note>")
      "</presence>",
      NULL, "de", "im Büro", { "de", "im Büro", NULL } },
    { PIDF_HEAD PIDF_TUPLE ("<note xml:lang='de'>im Büro</note><note>office</note>")
      "</presence>",
      "en", "de", "im Büro", { "de", "im Büro", "en", "office", NULL } },
    /* tuple notes first, then the person's, then the document's */
    { PIDF_HEAD PIDF_TUPLE ("<note xml:lang='en'>desk</note>")
      "<dm:person id='p'><dm:note xml:lang='de'>Schreibtisch</dm:note>"
      "<dm:note xml:lang='en'>person</dm:note></dm:person>"
      "<note xml:lang='fr'>bureau</note><note xml:lang='en'>document</note></presence>",
      NULL, "en", "desk", { "en", "desk", "de", "Schreibtisch", "fr", "bureau", NULL } },
    /* no language anywhere */
    { PIDF_HEAD PIDF_TUPLE ("<note>here</note>") "</presence>",
      NULL, NULL, "here", { "-", "here", NULL } },
    { PIDF_HEAD PIDF_TUPLE ("") "</presence>", "en", "en", NULL, { NULL } },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *full = g_strdup_printf ("bob%zu@xmpp.test/laptop", i);
      g_autofree char *bare = g_strdup_printf ("bob%zu@xmpp.test", i);
      gint64 now = T0 + (gint64) i * 10 * S;
      StoxStanza *p;

      g_test_message ("row %zu", i);
      xmpp_presence (f, "subscribe", full, "alice@sip.test", NULL, NULL, now);
      StoxToken d = find (f, STOX_ACTION_SIP_SUBSCRIBE, 0)->u.subscribe.dialog;
      clear (f);
      respond_sip (f, d, 200, 600, now);
      g_autoptr (StoxSipRequest) n = notify_new (f, d, "active", NULL, rows[i].pidf);
      n->content_language = g_strdup (rows[i].content_language);
      stox_gateway_on_sip (f->gw, n, now + S, f->actions);
      g_assert_cmpuint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status, ==, 200);

      /* the NOTIFY, then a probe answered from what it said */
      for (int round = 0; round < 2; round++)
        {
          g_test_message ("%s", round == 0 ? "notify" : "probe");
          p = find_presence (f, NULL, "alice@sip.test/desk", bare);
          g_assert_nonnull (p);
          /* Without a note, nothing is kept that has a language: the
           * probe's answer has none (and no text that needs one). */
          g_assert_cmpstr (p->lang, ==, round == 1 && rows[i].status == NULL
                                        ? NULL : rows[i].lang);
          g_assert_cmpstr (p->status, ==, rows[i].status);
          assert_stanza_statuses (p, rows[i].statuses);
          clear (f);
          xmpp_presence (f, "probe", bare, "alice@sip.test", NULL, NULL, now + 2 * S);
          g_assert_cmpuint (count (f, STOX_ACTION_SIP_SUBSCRIBE), ==, 0);
        }
      clear (f);
    }
}

static void
test_x2s_bad_pidf_changes_nothing (Fixture *f, gconstpointer data)
{
  StoxToken d = follow (f, T0);
  static const char *bad[] = {
    "<presence", "<presence xmlns='urn:other'/>",
    "<!DOCTYPE p [<!ENTITY x 'y'>]><presence xmlns='urn:ietf:params:xml:ns:pidf' entity='a'/>",
  };

  respond_sip (f, d, 200, 600, T0);
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (StoxSipRequest) n = notify_new (f, d, "active", NULL, bad[i]);
      stox_gateway_on_sip (f->gw, n, T0 + S, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 1);
      g_assert_cmpuint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status, ==, 400);
      clear (f);
    }
  /* Not even "subscribed" was sent: the state did not move. */
  g_autoptr (StoxSipRequest) good = notify_new (f, d, "active", NULL, PIDF_OPEN);
  stox_gateway_on_sip (f->gw, good, T0 + 2 * S, f->actions);
  g_assert_nonnull (find_presence (f, "subscribed", "alice@sip.test", "bob@xmpp.test"));
}

static void
test_x2s_unsubscribe (Fixture *f, gconstpointer data)
{
  StoxToken d = follow (f, T0);
  StoxGatewayStats stats;

  respond_sip (f, d, 200, 600, T0);
  g_autoptr (StoxSipRequest) n = notify_new (f, d, "active", NULL, PIDF_OPEN);
  stox_gateway_on_sip (f->gw, n, T0 + S, f->actions);
  clear (f);

  xmpp_presence (f, "unsubscribe", "bob@xmpp.test", "alice@sip.test", NULL, NULL, T0 + 2 * S);
  StoxAction *a = find (f, STOX_ACTION_SIP_SUBSCRIBE, 0);
  g_assert_cmpuint (a->u.subscribe.dialog, ==, d);
  g_assert_cmpuint (a->u.subscribe.expires, ==, 0);
  /* bob saw alice/desk online: now unavailable. */
  g_assert_nonnull (find_presence (f, "unavailable", "alice@sip.test/desk", "bob@xmpp.test"));
  clear (f);
  respond_sip (f, d, 200, 0, T0 + 2 * S);
  g_assert_nonnull (find_presence (f, "unsubscribed", "alice@sip.test", "bob@xmpp.test"));
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.subscriptions, ==, 0);
  clear (f);

  /* RFC 6665 §4.1.2.3: the notifier's final NOTIFY still gets 200… */
  g_autoptr (StoxSipRequest) last = notify_new (f, d, "terminated", "timeout", NULL);
  stox_gateway_on_sip (f->gw, last, T0 + 3 * S, f->actions);
  g_assert_cmpuint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status, ==, 200);
  g_assert_cmpuint (f->actions->len, ==, 1);
  clear (f);
  /* …until Timer N (32 s) has run out. */
  stox_gateway_on_timer (f->gw, T0 + 2 * S + 32 * S, f->actions);
  g_autoptr (StoxSipRequest) stray = notify_new (f, d, "terminated", "timeout", NULL);
  stox_gateway_on_sip (f->gw, stray, T0 + 35 * S, f->actions);
  g_assert_cmpuint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status, ==, 481);
}

static void
test_x2s_failures (Fixture *f, gconstpointer data)
{
  const struct { guint status; gint64 min_expires; const char *expect; } rows[] = {
    { 403, -1, "unsubscribed" },   /* §5.2: cancelled for good */
    { 489, -1, "unsubscribed" },
    { 603, -1, "unsubscribed" },
    { 404, -1, "unsubscribed" },
    { 480, -1, "retry" },          /* transient: keep, retry later */
    { 503, -1, "retry" },
    { 408, -1, "retry" },
    { 423, 900, "again-900" },     /* Min-Expires honoured */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (StoxGateway) keep = NULL;
      StoxToken d;
      gint64 now = T0 + (gint64) i * 10000 * S;

      g_test_message ("row %zu: %u", i, rows[i].status);
      fixture_teardown (f, NULL);
      fixture_setup (f, NULL);
      d = follow (f, now);
      StoxSipResponse resp = { .token = d, .status = rows[i].status, .phrase = (char *) "x",
                               .expires = -1, .min_expires = rows[i].min_expires };
      stox_gateway_on_sip_response (f->gw, &resp, now, f->actions);
      if (g_str_equal (rows[i].expect, "unsubscribed"))
        {
          g_assert_nonnull (find_presence (f, "unsubscribed", "alice@sip.test", "bob@xmpp.test"));
          /* For good: no retry, not after the 60 s a transient one waits. */
          clear (f);
          stox_gateway_on_timer (f->gw, now + 61 * S, f->actions);
          g_assert_cmpuint (count (f, STOX_ACTION_SIP_SUBSCRIBE), ==, 0);
          StoxGatewayStats stats;
          stox_gateway_get_stats (f->gw, &stats);
          g_assert_cmpuint (stats.subscriptions, ==, 0);
        }
      else if (g_str_equal (rows[i].expect, "retry"))
        {
          g_assert_cmpuint (f->actions->len, ==, 0);
          g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, now + 60 * S);
          stox_gateway_on_timer (f->gw, now + 60 * S, f->actions);
          StoxAction *a = find (f, STOX_ACTION_SIP_SUBSCRIBE, 0);
          g_assert_cmpuint (a->u.subscribe.dialog, !=, d);   /* a new dialog */
        }
      else
        g_assert_cmpuint (find (f, STOX_ACTION_SIP_SUBSCRIBE, 0)->u.subscribe.expires, ==, 900);
      clear (f);
    }
}

static void
test_x2s_terminated_reasons (Fixture *f, gconstpointer data)
{
  StoxToken d = follow (f, T0);

  respond_sip (f, d, 200, 600, T0);
  g_autoptr (StoxSipRequest) n = notify_new (f, d, "active", NULL, PIDF_OPEN);
  stox_gateway_on_sip (f->gw, n, T0 + S, f->actions);
  clear (f);

  /* deactivated: re-subscribe at once, new dialog (RFC 6665 §4.1.3). */
  g_autoptr (StoxSipRequest) t1 = notify_new (f, d, "terminated", "deactivated", NULL);
  stox_gateway_on_sip (f->gw, t1, T0 + 2 * S, f->actions);
  g_assert_nonnull (find_presence (f, "unavailable", "alice@sip.test/desk", "bob@xmpp.test"));
  clear (f);
  stox_gateway_on_timer (f->gw, T0 + 2 * S, f->actions);
  StoxToken d2 = find (f, STOX_ACTION_SIP_SUBSCRIBE, 0)->u.subscribe.dialog;
  g_assert_cmpuint (d2, !=, d);
  clear (f);

  /* rejected: the end, and XMPP hears unsubscribed. */
  respond_sip (f, d2, 200, 600, T0 + 3 * S);
  g_autoptr (StoxSipRequest) t2 = notify_new (f, d2, "terminated", "rejected", NULL);
  stox_gateway_on_sip (f->gw, t2, T0 + 4 * S, f->actions);
  g_assert_nonnull (find_presence (f, "unsubscribed", "alice@sip.test", "bob@xmpp.test"));
  clear (f);

  /* A NOTIFY for a dialog the gateway does not have: 481. */
  g_autoptr (StoxSipRequest) stray = notify_new (f, d2, "active", NULL, PIDF_OPEN);
  stox_gateway_on_sip (f->gw, stray, T0 + 5 * S, f->actions);
  g_assert_cmpuint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status, ==, 481);
}

static void
test_x2s_probe_fetch (Fixture *f, gconstpointer data)
{
  StoxGatewayStats stats;

  xmpp_presence (f, "probe", "bob@xmpp.test", "alice@sip.test", NULL, NULL, T0);
  StoxAction *a = find (f, STOX_ACTION_SIP_SUBSCRIBE, 0);
  g_assert_cmpuint (a->u.subscribe.expires, ==, 0);   /* RFC 8048 §7 */
  StoxToken d = a->u.subscribe.dialog;
  clear (f);
  respond_sip (f, d, 200, 0, T0);
  g_autoptr (StoxSipRequest) n = notify_new (f, d, "terminated", "timeout", PIDF_OPEN);
  stox_gateway_on_sip (f->gw, n, T0 + S, f->actions);
  g_assert_nonnull (find_presence (f, NULL, "alice@sip.test/desk", "bob@xmpp.test"));
  g_assert_null (find_presence (f, "subscribed", "alice@sip.test", "bob@xmpp.test"));
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.subscriptions, ==, 0);
}

/* ---- shutdown (stoxd(8)) ---------------------------------------- */

/* stoxd(8): a stop that a start follows keeps the subscriptions:
 * the watcher's dialog gets a NOTIFY still active that shows the XMPP
 * user closed, the gateway's own subscription is left alone (no Expires:
 * 0), the XMPP user gets unavailable for what was online, and nothing is
 * removed from the state. */
static void
test_shutdown_goodbyes (Fixture *f, gconstpointer data)
{
  StoxToken w = active_watcher (f, 600);
  StoxToken d = follow (f, T0);

  xmpp_presence (f, NULL, "juliet@xmpp.test/pc", "romeo@sip.test", NULL, "here", T0);
  respond_sip (f, d, 200, 600, T0);
  g_autoptr (StoxSipRequest) n = notify_new (f, d, "active", NULL, PIDF_OPEN);
  stox_gateway_on_sip (f->gw, n, T0 + S, f->actions);
  clear (f);   /* juliet's NOTIFY stays in flight: the stop's goes anyway */

  stox_gateway_on_shutdown (f->gw, T0 + 2 * S, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 1);
  StoxAction *kept = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpuint (kept->u.notify.dialog, ==, w);
  g_assert_cmpint (kept->u.notify.substate, ==, STOX_SUBSTATE_ACTIVE);
  g_assert_cmpuint (kept->u.notify.expires, ==, 598);
  g_autofree char *doc = body_of (kept);
  g_assert_nonnull (strstr (doc, "<basic>closed</basic>"));
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_SUBSCRIBE), ==, 0);
  g_assert_cmpuint (count (f, STOX_ACTION_STORE), ==, 0);
  g_assert_nonnull (find_presence (f, "unavailable", "alice@sip.test/desk", "bob@xmpp.test"));
  g_assert_null (find_presence (f, "unsubscribed", "alice@sip.test", "bob@xmpp.test"));
  g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 1);
}


static StoxStoreRecord *
find_store (Fixture *f, StoxStoreKind kind, gboolean remove)
{
  for (guint i = 0; i < f->actions->len; i++)
    {
      StoxAction *a = f->actions->pdata[i];
      if (a->kind == STOX_ACTION_STORE && a->u.store.kind == kind && a->u.store.remove == remove)
        return &a->u.store;
    }
  return NULL;
}

static StoxStoreRecord *
must_store (Fixture *f, StoxStoreKind kind, gboolean remove)
{
  StoxStoreRecord *r = find_store (f, kind, remove);

  if (r == NULL)
    g_error ("no STORE action (kind %d, remove %d)", kind, remove);
  return r;
}

/* A gateway being retired (on-stop = end-subscriptions): every
 * subscription ends on the wire instead — terminated;reason=noresource
 * and closed to the watcher, its record removed; Expires: 0 for the
 * gateway's own, whose answer does not revoke bob's authorization. */
static void
test_shutdown_retire (Fixture *f, gconstpointer data)
{
  fixture_teardown (f, NULL);
  fixture_setup_with (f, 0, TRUE);
  clear (f);

  StoxToken w = active_watcher (f, 600);
  StoxToken d = follow (f, T0);

  respond_sip (f, d, 200, 600, T0);
  g_autoptr (StoxSipRequest) n = notify_new (f, d, "active", NULL, PIDF_OPEN);
  stox_gateway_on_sip (f->gw, n, T0 + S, f->actions);
  clear (f);

  stox_gateway_on_shutdown (f->gw, T0 + 2 * S, f->actions);
  StoxAction *term = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpuint (term->u.notify.dialog, ==, w);
  g_assert_cmpint (term->u.notify.substate, ==, STOX_SUBSTATE_TERMINATED);
  g_assert_cmpstr (term->u.notify.reason, ==, "noresource");
  g_autofree char *doc = body_of (term);
  g_assert_nonnull (strstr (doc, "<basic>closed</basic>"));
  g_assert_cmpuint (must_store (f, STOX_STORE_WATCH, TRUE)->dialog, ==, w);
  StoxAction *unsub = find (f, STOX_ACTION_SIP_SUBSCRIBE, 0);
  g_assert_cmpuint (unsub->u.subscribe.dialog, ==, d);
  g_assert_cmpuint (unsub->u.subscribe.expires, ==, 0);
  g_assert_nonnull (find_presence (f, "unavailable", "alice@sip.test/desk", "bob@xmpp.test"));
  clear (f);
  respond_sip (f, d, 200, 0, T0 + 3 * S);
  g_assert_null (find_presence (f, "unsubscribed", "alice@sip.test", "bob@xmpp.test"));
  g_assert_null (find_store (f, STOX_STORE_FOLLOW, TRUE));
}

/* What must outlive a restart is emitted as STORE actions. */
static void
test_store_records (Fixture *f, gconstpointer data)
{
  xmpp_presence (f, "subscribe", "bob@xmpp.test/laptop", "alice@sip.test", NULL, NULL, T0);
  StoxStoreRecord *r = must_store (f, STOX_STORE_FOLLOW, FALSE);
  g_assert_cmpstr (r->xmpp_jid, ==, "bob@xmpp.test");
  g_assert_cmpstr (r->sip_jid, ==, "alice@sip.test");
  StoxToken d = find (f, STOX_ACTION_SIP_SUBSCRIBE, 0)->u.subscribe.dialog;
  clear (f);

  /* A stop keeps it… */
  respond_sip (f, d, 200, 600, T0);
  stox_gateway_on_shutdown (f->gw, T0 + S, f->actions);
  g_assert_null (find_store (f, STOX_STORE_FOLLOW, TRUE));
  clear (f);
  respond_sip (f, d, 200, 0, T0 + S);
  g_assert_null (find_store (f, STOX_STORE_FOLLOW, TRUE));
  clear (f);

  /* …an unsubscribe removes it. */
  xmpp_presence (f, "subscribe", "carol@xmpp.test", "alice@sip.test", NULL, NULL, T0 + 2 * S);
  StoxToken d2 = find (f, STOX_ACTION_SIP_SUBSCRIBE, 0)->u.subscribe.dialog;
  respond_sip (f, d2, 200, 600, T0 + 2 * S);
  clear (f);
  xmpp_presence (f, "unsubscribe", "carol@xmpp.test", "alice@sip.test", NULL, NULL, T0 + 3 * S);
  respond_sip (f, d2, 200, 0, T0 + 3 * S);
  r = must_store (f, STOX_STORE_FOLLOW, TRUE);
  g_assert_cmpstr (r->xmpp_jid, ==, "carol@xmpp.test");
  clear (f);

  /* Approvals: stored on subscribed, removed on unsubscribed. */
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 600);
  new_watcher (f, req, T0);
  clear (f);
  xmpp_presence (f, "subscribed", "juliet@xmpp.test", "romeo@sip.test", NULL, NULL, T0 + S);
  r = must_store (f, STOX_STORE_APPROVAL, FALSE);
  g_assert_cmpstr (r->sip_jid, ==, "romeo@sip.test");
  g_assert_cmpstr (r->xmpp_jid, ==, "juliet@xmpp.test");
  clear (f);
  xmpp_presence (f, "unsubscribed", "juliet@xmpp.test", "romeo@sip.test", NULL, NULL, T0 + 2 * S);
  g_assert_nonnull (find_store (f, STOX_STORE_APPROVAL, TRUE));
}

static void
test_restore (Fixture *f, gconstpointer data)
{
  StoxStoreRecord follow_rec = { .kind = STOX_STORE_FOLLOW, .xmpp_jid = (char *) "bob@xmpp.test",
                                 .sip_jid = (char *) "o\\27malley@sip.test" };
  StoxStoreRecord approval = { .kind = STOX_STORE_APPROVAL, .sip_jid = (char *) "romeo@sip.test",
                               .xmpp_jid = (char *) "juliet@xmpp.test" };
  StoxGatewayStats stats;

  stox_gateway_restore (f->gw, &follow_rec, T0, f->actions);
  stox_gateway_restore (f->gw, &approval, T0, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);      /* nothing sent from start-up itself */
  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, T0);
  stox_gateway_on_timer (f->gw, T0, f->actions);
  StoxAction *a = find (f, STOX_ACTION_SIP_SUBSCRIBE, 0);
  g_assert_cmpstr (a->u.subscribe.request_uri, ==, "sip:o'malley@sip.test");
  g_assert_cmpstr (a->u.subscribe.from_uri, ==, "sip:bob@xmpp.test");
  g_assert_cmpuint (a->u.subscribe.expires, ==, 3600);
  clear (f);

  /* The approved watcher is active at once, and only probes; its first
   * NOTIFY waits for the answer, or (none here: ejabberd for an offline
   * user) for STOX_WATCH_PROBE_WAIT_MS, and then says closed. */
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 600);
  new_watcher (f, req, T0 + S);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  g_assert_nonnull (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
  g_assert_null (find_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"));
  clear (f);
  stox_gateway_on_timer (f->gw, T0 + S + STOX_WATCH_PROBE_WAIT_MS * 1000 - 1, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  stox_gateway_on_timer (f->gw, T0 + S + STOX_WATCH_PROBE_WAIT_MS * 1000, f->actions);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_ACTIVE);
  g_autofree char *doc = body_of (n);
  g_assert_nonnull (strstr (doc, "<basic>closed</basic>"));
  clear (f);

  /* A record whose JID no longer maps is dropped, and said so. */
  StoxStoreRecord bad = { .kind = STOX_STORE_FOLLOW, .xmpp_jid = (char *) "nolocal.test",
                          .sip_jid = (char *) "alice@sip.test" };
  stox_gateway_restore (f->gw, &bad, T0, f->actions);
  g_assert_nonnull (find_store (f, STOX_STORE_FOLLOW, TRUE));
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.subscriptions, ==, 1);
}

/* ---- SIP watchers' dialogs across a crash (WATCH records) -------------- */

static guint
count_store (Fixture *f, StoxStoreKind kind, gboolean remove)
{
  guint n = 0;

  for (guint i = 0; i < f->actions->len; i++)
    {
      StoxAction *a = f->actions->pdata[i];
      n += a->kind == STOX_ACTION_STORE && a->u.store.kind == kind &&
           a->u.store.remove == remove;
    }
  return n;
}

static guint
count_watchers (Fixture *f)
{
  StoxGatewayStats stats;

  stox_gateway_get_stats (f->gw, &stats);
  return stats.watchers;
}

/* A remove names the dialog it ends. */
static void
assert_watch_removed (Fixture *f, StoxToken dialog)
{
  g_assert_cmpuint (count_store (f, STOX_STORE_WATCH, TRUE), ==, 1);
  g_assert_cmpuint (count_store (f, STOX_STORE_WATCH, FALSE), ==, 0);
  StoxStoreRecord *r = must_store (f, STOX_STORE_WATCH, TRUE);
  g_assert_cmpstr (r->sip_jid, ==, "romeo@sip.test");
  g_assert_cmpstr (r->xmpp_jid, ==, "juliet@xmpp.test");
  g_assert_cmpuint (r->dialog, ==, dialog);
}

/* Written on creation and on every refresh, removed once at the end; a
 * fetch is never written. */
static void
test_store_watch_records (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 600);

  new_watcher (f, req, T0);
  g_assert_cmpuint (count_store (f, STOX_STORE_WATCH, FALSE), ==, 1);
  g_assert_cmpuint (count_store (f, STOX_STORE_WATCH, TRUE), ==, 0);
  StoxStoreRecord *r = must_store (f, STOX_STORE_WATCH, FALSE);
  g_assert_cmpstr (r->sip_jid, ==, "romeo@sip.test");
  g_assert_cmpstr (r->xmpp_jid, ==, "juliet@xmpp.test");
  g_assert_cmpuint (r->dialog, ==, req->token);
  g_assert_cmpstr (r->entity, ==, "sip:juliet@xmpp.test");
  g_assert_cmpint (r->deadline, ==, T0 + 600 * S);
  respond_sip (f, find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token, 200, -1, T0);
  clear (f);

  /* A refresh replaces it with the new deadline. */
  g_autoptr (StoxSipRequest) refresh = subscribe_new (f, req->token, 1200);
  stox_gateway_on_sip (f->gw, refresh, T0 + 100 * S, f->actions);
  g_assert_cmpuint (count_store (f, STOX_STORE_WATCH, FALSE), ==, 1);
  g_assert_cmpuint (count_store (f, STOX_STORE_WATCH, TRUE), ==, 0);
  r = must_store (f, STOX_STORE_WATCH, FALSE);
  g_assert_cmpuint (r->dialog, ==, req->token);
  g_assert_cmpstr (r->entity, ==, "sip:juliet@xmpp.test");
  g_assert_cmpint (r->deadline, ==, T0 + 1300 * S);
  respond_sip (f, find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token, 200, -1, T0 + 100 * S);
  clear (f);

  /* A refused refresh (423) does not touch it. */
  g_autoptr (StoxSipRequest) brief = subscribe_new (f, req->token, 30);
  stox_gateway_on_sip (f->gw, brief, T0 + 150 * S, f->actions);
  g_assert_cmpuint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status, ==, 423);
  g_assert_null (find_store (f, STOX_STORE_WATCH, FALSE));
  g_assert_null (find_store (f, STOX_STORE_WATCH, TRUE));
  clear (f);

  /* Expires: 0 ends it: one remove, with the terminated NOTIFY… */
  g_autoptr (StoxSipRequest) bye = subscribe_new (f, req->token, 0);
  stox_gateway_on_sip (f->gw, bye, T0 + 200 * S, f->actions);
  assert_watch_removed (f, req->token);
  StoxToken t = find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token;
  clear (f);
  /* …and none more when that NOTIFY is answered. */
  respond_sip (f, t, 200, -1, T0 + 200 * S);
  g_assert_cmpuint (f->actions->len, ==, 0);
  g_assert_cmpuint (count_watchers (f), ==, 0);

  /* A fetch (RFC 6665 §4.4.3) is never stored, nor removed. */
  g_autoptr (StoxSipRequest) fetch = subscribe_new (f, 0, 0);
  new_watcher (f, fetch, T0 + 300 * S);
  g_assert_cmpuint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status, ==, 200);
  g_assert_null (find_store (f, STOX_STORE_WATCH, FALSE));
  g_assert_null (find_store (f, STOX_STORE_WATCH, TRUE));
  t = find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token;
  clear (f);
  respond_sip (f, t, 200, -1, T0 + 300 * S);
  g_assert_null (find_store (f, STOX_STORE_WATCH, TRUE));
}

/* Every way a stored dialog ends removes its record exactly once, at the
 * first of: its terminated NOTIFY going out, or its being forgotten. */
static void
test_store_watch_removes (Fixture *f, gconstpointer data)
{
  const struct
  {
    const char *how;
    guint       answer;   /* to the terminated NOTIFY, 0: none is sent */
  } rows[] = {
    { "unsubscribed", 200 },
    { "unsubscribed", 481 },
    { "expiry", 200 },
    { "expiry", 408 },
    { "notify-481", 0 },
    { "notify-408", 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      StoxToken dialog;
      gint64 now = T0 + 10 * S;

      g_test_message ("row %zu: %s, %u", i, rows[i].how, rows[i].answer);
      fixture_teardown (f, NULL);
      fixture_setup (f, NULL);
      dialog = active_watcher (f, 600);

      if (g_str_equal (rows[i].how, "unsubscribed"))
        xmpp_presence (f, "unsubscribed", "juliet@xmpp.test", "romeo@sip.test", NULL, NULL, now);
      else if (g_str_equal (rows[i].how, "expiry"))
        {
          now = T0 + 600 * S;
          stox_gateway_on_timer (f->gw, now, f->actions);
        }
      else
        {
          xmpp_presence (f, NULL, "juliet@xmpp.test", "romeo@sip.test", NULL, NULL, now);
          g_assert_null (find_store (f, STOX_STORE_WATCH, TRUE));
          StoxToken t = find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token;
          clear (f);
          /* RFC 6665 §4.2.2: this answer ends the subscription. */
          respond_sip (f, t, g_str_equal (rows[i].how, "notify-481") ? 481 : 408, -1, now);
          g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
        }
      assert_watch_removed (f, dialog);
      if (rows[i].answer != 0)
        {
          StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
          g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_TERMINATED);
          StoxToken t = n->u.notify.token;
          clear (f);
          respond_sip (f, t, rows[i].answer, -1, now);
          g_assert_null (find_store (f, STOX_STORE_WATCH, TRUE));
        }
      g_assert_cmpuint (count_watchers (f), ==, 0);
      clear (f);
      /* Nothing is left to end later. */
      stox_gateway_on_shutdown (f->gw, now + S, f->actions);
      g_assert_null (find_store (f, STOX_STORE_WATCH, TRUE));
      clear (f);
    }
}

/* A graceful stop ends every dialog on the wire, so none is kept. */
/* The stop keeps both dialogs' records: the active one is told closed
 * in a NOTIFY that keeps it, the pending one hears nothing; on retire
 * both end, and both records go. */
static void
test_store_watch_shutdown (Fixture *f, gconstpointer data)
{
  for (int retire = 0; retire <= 1; retire++)
    {
      g_test_message ("retire: %d", retire);
      fixture_teardown (f, NULL);
      fixture_setup_with (f, 0, retire);
      clear (f);

      StoxToken d1 = active_watcher (f, 600);
      g_autoptr (StoxSipRequest) other = subscribe_new (f, 0, 900);   /* stays pending */

      g_free (other->from_uri);
      other->from_uri = g_strdup ("sip:mercutio@sip.test");
      g_free (other->asserted_uri);
      other->asserted_uri = g_strdup (other->from_uri);
      new_watcher (f, other, T0 + S);
      g_assert_cmpuint (count_store (f, STOX_STORE_WATCH, FALSE), ==, 1);
      respond_sip (f, find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token, 200, -1, T0 + S);
      clear (f);

      stox_gateway_on_shutdown (f->gw, T0 + 2 * S, f->actions);
      g_assert_cmpuint (count_store (f, STOX_STORE_WATCH, FALSE), ==, 0);
      if (!retire)
        {
          g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 1);
          g_assert_cmpuint (count_store (f, STOX_STORE_WATCH, TRUE), ==, 0);
          StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
          g_assert_cmpuint (n->u.notify.dialog, ==, d1);
          g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_ACTIVE);
          StoxToken t = n->u.notify.token;
          clear (f);
          respond_sip (f, t, 200, -1, T0 + 2 * S);
          g_assert_cmpuint (f->actions->len, ==, 0);
          continue;
        }
      g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 2);
      g_assert_cmpuint (count_store (f, STOX_STORE_WATCH, TRUE), ==, 2);
      gboolean seen1 = FALSE, seen2 = FALSE;
      for (guint i = 0; i < f->actions->len; i++)
        {
          StoxAction *a = f->actions->pdata[i];

          if (a->kind == STOX_ACTION_SIP_NOTIFY)
            {
              g_assert_cmpint (a->u.notify.substate, ==, STOX_SUBSTATE_TERMINATED);
              g_assert_cmpstr (a->u.notify.reason, ==, "noresource");
            }
          if (a->kind != STOX_ACTION_STORE)
            continue;
          if (a->u.store.dialog == d1)
            {
              g_assert_cmpstr (a->u.store.sip_jid, ==, "romeo@sip.test");
              seen1 = TRUE;
            }
          else if (a->u.store.dialog == other->token)
            {
              g_assert_cmpstr (a->u.store.sip_jid, ==, "mercutio@sip.test");
              seen2 = TRUE;
            }
        }
      g_assert_true (seen1 && seen2);
      StoxToken t1 = find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token;
      StoxToken t2 = find (f, STOX_ACTION_SIP_NOTIFY, 1)->u.notify.token;
      clear (f);
      respond_sip (f, t1, 200, -1, T0 + 2 * S);
      respond_sip (f, t2, 481, -1, T0 + 2 * S);
      g_assert_cmpuint (f->actions->len, ==, 0);
    }
}

#define WATCH_DIALOG ((StoxToken) 777)

static void
restore_watch (Fixture *f, const char *watcher, StoxToken dialog, gint64 deadline, gint64 now)
{
  StoxStoreRecord r = {
    .kind = STOX_STORE_WATCH,
    .sip_jid = (char *) watcher,
    .xmpp_jid = (char *) "juliet@xmpp.test",
    .dialog = dialog,
    .entity = (char *) "sip:juliet@xmpp.test",
    .deadline = deadline,
  };

  stox_gateway_restore (f->gw, &r, now, f->actions);
}

static void
restore_approval (Fixture *f, gint64 now)
{
  StoxStoreRecord r = {
    .kind = STOX_STORE_APPROVAL,
    .sip_jid = (char *) "romeo@sip.test",
    .xmpp_jid = (char *) "juliet@xmpp.test",
  };

  stox_gateway_restore (f->gw, &r, now, f->actions);
}

/* Start-up as stoxd does it: the link is down while records are read. */
static void
start_down (Fixture *f)
{
  stox_gateway_on_link (f->gw, FALSE, 5, T0, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
}

/* An approved watcher's dialog comes back silently, whatever the record
 * order, and is fed again once the link is up. */
static void
test_restore_watch_active (Fixture *f, gconstpointer data)
{
  for (int approval_first = 1; approval_first >= 0; approval_first--)
    {
      g_test_message ("approval first: %d", approval_first);
      fixture_teardown (f, NULL);
      fixture_setup (f, NULL);
      clear (f);
      start_down (f);

      if (approval_first)
        restore_approval (f, T0);
      restore_watch (f, "romeo@sip.test", WATCH_DIALOG, T0 + 600 * S, T0);
      if (!approval_first)
        restore_approval (f, T0);
      /* The same record again (e.g. a replaced row read twice): ignored. */
      restore_watch (f, "romeo@sip.test", WATCH_DIALOG, T0 + 900 * S, T0);
      g_assert_cmpuint (f->actions->len, ==, 0);     /* no NOTIFY, no stanza */
      g_assert_cmpuint (count_watchers (f), ==, 1);
      g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, T0 + 600 * S);

      /* The watcher's refresh, even before the link is up, lands in the
       * restored dialog: 200 and an active NOTIFY in it. */
      g_autoptr (StoxSipRequest) refresh = subscribe_new (f, WATCH_DIALOG, 600);
      stox_gateway_on_sip (f->gw, refresh, T0 + S, f->actions);
      StoxAction *ok = find (f, STOX_ACTION_SIP_RESPOND, 0);
      g_assert_cmpuint (ok->u.respond.token, ==, refresh->token);
      g_assert_cmpuint (ok->u.respond.status, ==, 200);
      g_assert_cmpint (ok->u.respond.expires, ==, 600);
      StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
      g_assert_cmpuint (n->u.notify.dialog, ==, WATCH_DIALOG);
      g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_ACTIVE);
      g_assert_null (n->u.notify.body);             /* presence not known yet */
      StoxStoreRecord *r = must_store (f, STOX_STORE_WATCH, FALSE);
      g_assert_cmpuint (r->dialog, ==, WATCH_DIALOG);
      g_assert_cmpint (r->deadline, ==, T0 + 601 * S);
      respond_sip (f, n->u.notify.token, 200, -1, T0 + S);
      clear (f);

      /* Link up: exactly one probe for the restored pair. */
      stox_gateway_on_link (f->gw, TRUE, 0, T0 + 2 * S, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 1);
      g_assert_nonnull (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
      clear (f);
      /* A flap before the answer: whatever came or not, the pair is
       * asked again on the new link (what it holds may have changed
       * unheard), once. */
      stox_gateway_on_link (f->gw, FALSE, 5, T0 + 3 * S, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 0);
      stox_gateway_on_link (f->gw, TRUE, 0, T0 + 4 * S, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 1);
      g_assert_nonnull (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
      clear (f);

      /* The answer NOTIFYs the restored dialog. */
      xmpp_presence (f, NULL, "juliet@xmpp.test/phone", "romeo@sip.test", NULL, "here",
                     T0 + 5 * S);
      n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
      g_assert_cmpuint (n->u.notify.dialog, ==, WATCH_DIALOG);
      g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_ACTIVE);
      g_autofree char *doc = body_of (n);
      g_assert_nonnull (strstr (doc, "<basic>open</basic>"));
      g_assert_nonnull (strstr (doc, "entity=\"sip:juliet@xmpp.test\""));
      g_assert_nonnull (strstr (doc, "here"));
      respond_sip (f, n->u.notify.token, 200, -1, T0 + 5 * S);
      clear (f);
    }
}

/* A new dialog for an approved pair is never answered from a table the
 * current link did not refresh with a probe: after a restart the table
 * held only what the user said since (her phone went offline) while her
 * laptop, online since before the restart, was not in it. */
static void
test_restore_new_dialog_probes (Fixture *f, gconstpointer data)
{
  start_down (f);
  restore_approval (f, T0);
  stox_gateway_on_link (f->gw, TRUE, 0, T0 + S, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);    /* no dialog: nothing to ask */
  xmpp_presence (f, NULL, "juliet@xmpp.test/phone", "romeo@sip.test", NULL, "on the phone",
                 T0 + 2 * S);
  xmpp_presence (f, "unavailable", "juliet@xmpp.test/phone", "romeo@sip.test", NULL,
                 "phone off", T0 + 3 * S);
  g_assert_cmpuint (f->actions->len, ==, 0);

  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 600);
  new_watcher (f, req, T0 + 4 * S);
  g_assert_cmpuint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status, ==, 200);
  g_assert_nonnull (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  clear (f);
  xmpp_presence (f, NULL, "juliet@xmpp.test/laptop", "romeo@sip.test", NULL, "on my laptop",
                 T0 + 4 * S);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 1);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpuint (n->u.notify.dialog, ==, req->token);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_ACTIVE);
  g_autofree char *doc = body_of (n);
  g_assert_nonnull (strstr (doc, "<basic>open</basic>"));
  g_assert_nonnull (strstr (doc, ">on my laptop</note>"));
  respond_sip (f, n->u.notify.token, 200, -1, T0 + 4 * S);
  clear (f);

  /* Now the table is known whole: a second dialog is answered at once,
   * and a fetch too, without a probe. */
  g_autoptr (StoxSipRequest) second = subscribe_new (f, 0, 600);
  new_watcher (f, second, T0 + 5 * S);
  g_assert_null (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
  g_autofree char *doc2 = body_of (find (f, STOX_ACTION_SIP_NOTIFY, 0));
  g_assert_nonnull (strstr (doc2, ">on my laptop</note>"));
  respond_sip (f, find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token, 200, -1, T0 + 5 * S);
  clear (f);

  /* A flap: the table was heard on the old link.  The pair is probed on
   * the new one, and a dialog made before the answer waits for it; so
   * does a fetch. */
  stox_gateway_on_link (f->gw, FALSE, 5, T0 + 6 * S, f->actions);
  stox_gateway_on_link (f->gw, TRUE, 0, T0 + 7 * S, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 1);
  g_assert_nonnull (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
  clear (f);
  g_autoptr (StoxSipRequest) third = subscribe_new (f, 0, 600);
  g_autoptr (StoxSipRequest) fetch = subscribe_new (f, 0, 0);
  new_watcher (f, third, T0 + 7 * S);
  new_watcher (f, fetch, T0 + 7 * S);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  g_assert_null (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
  clear (f);
  xmpp_presence (f, "unavailable", "juliet@xmpp.test/laptop", "romeo@sip.test", NULL,
                 "Gone home", T0 + 8 * S);
  /* the two waiting dialogs, the fetch's last one, and the two live
   * ones: closed with the laptop's text everywhere */
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 4);
  for (guint i = 0; i < 4; i++)
    {
      StoxAction *a = find (f, STOX_ACTION_SIP_NOTIFY, i);
      g_autofree char *d = body_of (a);

      g_assert_nonnull (strstr (d, "<basic>closed</basic>"));
      g_assert_nonnull (strstr (d, ">Gone home</note>"));
      g_assert_cmpint (a->u.notify.substate, ==,
                       a->u.notify.dialog == fetch->token ? STOX_SUBSTATE_TERMINATED
                                                          : STOX_SUBSTATE_ACTIVE);
    }
}

static const char PIDF_CLOSED[] =
  "<?xml version='1.0' encoding='UTF-8'?>"
  "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:alice@sip.test'>"
  "<tuple id='desk'><status><basic>closed</basic></status></tuple></presence>";

/* Nothing goes toward XMPP before the component link is up: after a
 * start the restored follows SUBSCRIBE (SIP may go), but what their
 * NOTIFYs say is kept, and once the link is up every XMPP user gets the
 * latest presence of the SIP users it follows (and the subscribed it is
 * owed); after a kill too, where she still saw alice online. */
static void
test_restore_follow_waits_for_link (Fixture *f, gconstpointer data)
{
  StoxStoreRecord bob = { .kind = STOX_STORE_FOLLOW, .xmpp_jid = (char *) "bob@xmpp.test",
                          .sip_jid = (char *) "alice@sip.test" };
  StoxStoreRecord eve = { .kind = STOX_STORE_FOLLOW, .xmpp_jid = (char *) "eve@xmpp.test",
                          .sip_jid = (char *) "alice@sip.test" };

  start_down (f);
  stox_gateway_restore (f->gw, &bob, T0, f->actions);
  stox_gateway_restore (f->gw, &eve, T0, f->actions);
  stox_gateway_on_timer (f->gw, T0, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_SUBSCRIBE), ==, 2);
  StoxToken d_bob = find (f, STOX_ACTION_SIP_SUBSCRIBE, 0)->u.subscribe.dialog;
  StoxToken d_eve = find (f, STOX_ACTION_SIP_SUBSCRIBE, 1)->u.subscribe.dialog;
  if (g_strcmp0 (find (f, STOX_ACTION_SIP_SUBSCRIBE, 0)->u.subscribe.from_uri,
                 "sip:bob@xmpp.test") != 0)
    {
      StoxToken t = d_bob;
      d_bob = d_eve;
      d_eve = t;
    }
  clear (f);
  respond_sip (f, d_bob, 200, 600, T0);
  respond_sip (f, d_eve, 200, 600, T0);
  g_autoptr (StoxSipRequest) open_n = notify_new (f, d_bob, "active", NULL, PIDF_OPEN);
  g_autoptr (StoxSipRequest) closed_n = notify_new (f, d_eve, "active", NULL, PIDF_CLOSED);
  stox_gateway_on_sip (f->gw, open_n, T0 + S, f->actions);
  stox_gateway_on_sip (f->gw, closed_n, T0 + S, f->actions);
  /* answered 200, and nothing toward XMPP */
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_RESPOND), ==, 2);
  g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 0);
  clear (f);

  stox_gateway_on_link (f->gw, TRUE, 0, T0 + 2 * S, f->actions);
  g_assert_nonnull (find_presence (f, "subscribed", "alice@sip.test", "bob@xmpp.test"));
  g_assert_nonnull (find_presence (f, "subscribed", "alice@sip.test", "eve@xmpp.test"));
  StoxStanza *p = find_presence (f, NULL, "alice@sip.test/desk", "bob@xmpp.test");
  g_assert_nonnull (p);
  g_assert_cmpstr (p->status, ==, "in the office");
  g_assert_cmpstr (p->lang, ==, "en");
  g_assert_nonnull (find_presence (f, "unavailable", "alice@sip.test/desk", "eve@xmpp.test"));
  g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 4);
  clear (f);
  /* Told once: a flap with nothing new sends nothing again. */
  stox_gateway_on_link (f->gw, FALSE, 5, T0 + 3 * S, f->actions);
  stox_gateway_on_link (f->gw, TRUE, 0, T0 + 4 * S, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 0);

  /* Down again: alice's dialog ends (deactivated, re-SUBSCRIBE) and she
   * is online on another device meanwhile; bob hears only the latest,
   * once the link is back. */
  stox_gateway_on_link (f->gw, FALSE, 5, T0 + 5 * S, f->actions);
  g_autoptr (StoxSipRequest) ended = notify_new (f, d_bob, "terminated", "deactivated", NULL);
  stox_gateway_on_sip (f->gw, ended, T0 + 6 * S, f->actions);
  stox_gateway_on_timer (f->gw, T0 + 6 * S, f->actions);   /* re-SUBSCRIBE now */
  g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 0);
  StoxToken d2 = find (f, STOX_ACTION_SIP_SUBSCRIBE, 0)->u.subscribe.dialog;
  clear (f);
  respond_sip (f, d2, 200, 600, T0 + 6 * S);
  static const char PIDF_PHONE[] =
    "<?xml version='1.0' encoding='UTF-8'?>"
    "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:alice@sip.test'>"
    "<tuple id='phone'><status><basic>open</basic></status></tuple></presence>";
  g_autoptr (StoxSipRequest) phone = notify_new (f, d2, "active", NULL, PIDF_PHONE);
  stox_gateway_on_sip (f->gw, phone, T0 + 7 * S, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 0);
  clear (f);
  stox_gateway_on_link (f->gw, TRUE, 0, T0 + 8 * S, f->actions);
  g_assert_nonnull (find_presence (f, "unavailable", "alice@sip.test/desk", "bob@xmpp.test"));
  g_assert_nonnull (find_presence (f, NULL, "alice@sip.test/phone", "bob@xmpp.test"));
  g_assert_null (find_presence (f, "subscribed", "alice@sip.test", "bob@xmpp.test"));
  g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 2);
}

/* A restart's requests are spread out, RESTORE_BATCH (500) per 50 ms
 * tick: 1200 restored watcher pairs resync in 500 + 500 + 200 stanzas, and
 * 1200 restored follows re-SUBSCRIBE in 500 + 500 + 200; a link drop
 * pauses the resync, which goes on at the next link up. */
static void
test_restore_paced (Fixture *f, gconstpointer data)
{
  const gint64 tick = 50 * 1000;
  const guint n = 1200;
  const guint want[] = { 500, 500, 200, 0 };

  start_down (f);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *watcher = g_strdup_printf ("romeo%u@sip.test", i);
      g_autofree char *xmpp = g_strdup_printf ("bob%u@xmpp.test", i);
      StoxStoreRecord follow = { .kind = STOX_STORE_FOLLOW, .xmpp_jid = xmpp,
                                 .sip_jid = (char *) "alice@sip.test" };

      restore_watch (f, watcher, WATCH_DIALOG + i, T0 + 600 * S, T0);
      stox_gateway_restore (f->gw, &follow, T0, f->actions);
    }
  g_assert_cmpuint (f->actions->len, ==, 0);
  g_assert_cmpuint (count_watchers (f), ==, n);

  /* Follows: a batch per tick, from the loop. */
  for (guint k = 0; k < G_N_ELEMENTS (want); k++)
    {
      stox_gateway_on_timer (f->gw, T0 + (gint64) k * tick, f->actions);
      g_test_message ("follow tick %u: %u SUBSCRIBEs", k, count (f, STOX_ACTION_SIP_SUBSCRIBE));
      g_assert_cmpuint (count (f, STOX_ACTION_SIP_SUBSCRIBE), ==, want[k]);
      clear (f);
    }

  /* Watchers: the first batch at link up, then a batch per tick. */
  gint64 up = T0 + S;
  stox_gateway_on_link (f->gw, TRUE, 0, up, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 500);
  g_assert_cmpstr (find (f, STOX_ACTION_XMPP_SEND, 0)->u.stanza->type, ==, "subscribe");
  clear (f);
  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, up + tick);
  /* Down before the next tick: nothing more until the link is back. */
  stox_gateway_on_link (f->gw, FALSE, 5, up + tick / 2, f->actions);
  stox_gateway_on_timer (f->gw, up + tick, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
  stox_gateway_on_link (f->gw, TRUE, 0, up + 2 * tick, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 500);
  clear (f);
  stox_gateway_on_timer (f->gw, up + 3 * tick, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 200);
  clear (f);
  stox_gateway_on_timer (f->gw, up + 4 * tick, f->actions);
  stox_gateway_on_link (f->gw, FALSE, 5, up + 5 * tick, f->actions);
  stox_gateway_on_link (f->gw, TRUE, 0, up + 6 * tick, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 0);
}

/* The expiry timer runs to the restored deadline. */
static void
test_restore_watch_expiry (Fixture *f, gconstpointer data)
{
  start_down (f);
  restore_approval (f, T0);
  restore_watch (f, "romeo@sip.test", WATCH_DIALOG, T0 + 300 * S, T0);
  stox_gateway_on_link (f->gw, TRUE, 0, T0 + S, f->actions);
  clear (f);
  /* The probe gets no answer: the restored dialog hears closed once the
   * wait is over. */
  gint64 waited = T0 + S + STOX_WATCH_PROBE_WAIT_MS * 1000;
  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, waited);
  stox_gateway_on_timer (f->gw, waited, f->actions);
  StoxAction *first = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpint (first->u.notify.substate, ==, STOX_SUBSTATE_ACTIVE);
  g_autofree char *closed = body_of (first);
  g_assert_nonnull (strstr (closed, "<basic>closed</basic>"));
  respond_sip (f, first->u.notify.token, 200, -1, waited);
  clear (f);

  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, T0 + 300 * S);
  stox_gateway_on_timer (f->gw, T0 + 300 * S - 1, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);
  stox_gateway_on_timer (f->gw, T0 + 300 * S, f->actions);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpuint (n->u.notify.dialog, ==, WATCH_DIALOG);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_TERMINATED);
  g_assert_cmpstr (n->u.notify.reason, ==, "timeout");
  g_autofree char *doc = body_of (n);
  g_assert_nonnull (strstr (doc, "<basic>closed</basic>"));
  g_assert_nonnull (find_presence (f, "unavailable", "romeo@sip.test", "juliet@xmpp.test"));
  assert_watch_removed (f, WATCH_DIALOG);
  StoxToken t = n->u.notify.token;
  clear (f);
  respond_sip (f, t, 200, -1, T0 + 300 * S);
  g_assert_cmpuint (f->actions->len, ==, 0);
  g_assert_cmpuint (count_watchers (f), ==, 0);
}

/* Records that must not come back: expired while the gateway was down,
 * or no longer fitting the configuration.  Each is dropped, said so. */
static void
test_restore_watch_dropped (Fixture *f, gconstpointer data)
{
  const struct
  {
    const char *watcher;
    gint64      deadline;
  } rows[] = {
    { "romeo@sip.test", T0 },                  /* expired exactly now */
    { "romeo@sip.test", T0 - (gint64) 3600 * S }, /* long gone */
    { "romeo@old.test", T0 + 600 * S },        /* the component changed */
  };

  start_down (f);
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_test_message ("row %zu", i);
      restore_watch (f, rows[i].watcher, WATCH_DIALOG + i, rows[i].deadline, T0);
      g_assert_cmpuint (f->actions->len, ==, 1);
      StoxStoreRecord *r = must_store (f, STOX_STORE_WATCH, TRUE);
      g_assert_cmpstr (r->sip_jid, ==, rows[i].watcher);
      g_assert_cmpstr (r->xmpp_jid, ==, "juliet@xmpp.test");
      g_assert_cmpuint (r->dialog, ==, WATCH_DIALOG + i);
      clear (f);
    }
  g_assert_cmpuint (count_watchers (f), ==, 0);
  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, -1);
  stox_gateway_on_link (f->gw, TRUE, 0, T0 + S, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 0);

  /* The watcher's refresh in that dialog has nothing to land in. */
  g_autoptr (StoxSipRequest) refresh = subscribe_new (f, WATCH_DIALOG, 600);
  stox_gateway_on_sip (f->gw, refresh, T0 + 2 * S, f->actions);
  g_assert_cmpuint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status, ==, 481);
}

/* Not approved before the crash: a subscribe on link up (RFC 6121
 * §3.1.3), and the approval makes the restored dialog active. */
static void
test_restore_watch_pending (Fixture *f, gconstpointer data)
{
  start_down (f);
  restore_watch (f, "romeo@sip.test", WATCH_DIALOG, T0 + 600 * S, T0);
  g_assert_cmpuint (f->actions->len, ==, 0);

  stox_gateway_on_link (f->gw, TRUE, 0, T0 + S, f->actions);
  g_assert_cmpuint (f->actions->len, ==, 1);
  g_assert_nonnull (find_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"));
  clear (f);

  xmpp_presence (f, "subscribed", "juliet@xmpp.test", "romeo@sip.test", NULL, NULL, T0 + 2 * S);
  StoxStoreRecord *r = must_store (f, STOX_STORE_APPROVAL, FALSE);
  g_assert_cmpstr (r->sip_jid, ==, "romeo@sip.test");
  g_assert_nonnull (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  clear (f);
  xmpp_presence (f, NULL, "juliet@xmpp.test/pc", "romeo@sip.test", NULL, "here", T0 + 2 * S);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpuint (n->u.notify.dialog, ==, WATCH_DIALOG);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_ACTIVE);
  g_assert_cmpuint (n->u.notify.expires, ==, 598);
}

/* A restored dialog still pending whose subscription request gets no
 * answer hears pending again once the wait is over: a watcher whose first
 * NOTIFY was still held when the gateway went down (a crash) gets one. */
static void
test_restore_watch_pending_unanswered (Fixture *f, gconstpointer data)
{
  start_down (f);
  restore_watch (f, "romeo@sip.test", WATCH_DIALOG, T0 + 600 * S, T0);
  stox_gateway_on_link (f->gw, TRUE, 0, T0 + S, f->actions);
  g_assert_nonnull (find_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"));
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  clear (f);
  stox_gateway_on_timer (f->gw, T0 + S + STOX_WATCH_ASK_WAIT_MS * 1000 - 1, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  stox_gateway_on_timer (f->gw, T0 + S + STOX_WATCH_ASK_WAIT_MS * 1000, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 1);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpuint (n->u.notify.dialog, ==, WATCH_DIALOG);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_PENDING);
  g_assert_null (n->u.notify.body);
  g_assert_cmpuint (n->u.notify.expires, ==, 599);
}

/* A subscription request the link lost is sent again when it is back;
 * the watcher, told pending already, hears nothing new. */
static void
test_request_resent_no_repeat (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 600);
  g_autoptr (StoxStanza) lost = stox_stanza_new (STOX_STANZA_PRESENCE);

  new_watcher (f, req, T0);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_assert_cmpint (n->u.notify.substate, ==, STOX_SUBSTATE_PENDING);
  respond_sip (f, n->u.notify.token, 200, -1, T0 + S);
  clear (f);

  lost->type = g_strdup ("subscribe");
  lost->from = g_strdup ("romeo@sip.test");
  lost->to = g_strdup ("juliet@xmpp.test");
  stox_gateway_on_link (f->gw, FALSE, 5, T0 + 2 * S, f->actions);
  stox_gateway_on_xmpp_send_failed (f->gw, lost, STOX_XMPP_SEND_FAILED_LINK, T0 + 2 * S,
                                    f->actions);
  clear (f);
  stox_gateway_on_link (f->gw, TRUE, 0, T0 + 3 * S, f->actions);
  stox_gateway_on_timer (f->gw, T0 + 3 * S + STOX_PRESENCE_RETRY_US, f->actions);
  g_assert_nonnull (find_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"));
  stox_gateway_on_timer (f->gw, T0 + 4 * S, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
}

/* A restored pair freed before the link is up (its dialog ended) is not
 * touched on link up; an approved one that lost its dialog asks
 * nothing. */
static void
test_restore_watch_gone_before_link (Fixture *f, gconstpointer data)
{
  for (int approved = 0; approved <= 1; approved++)
    {
      g_test_message ("approved: %d", approved);
      fixture_teardown (f, NULL);
      fixture_setup (f, NULL);
      clear (f);
      start_down (f);
      if (approved)
        restore_approval (f, T0);
      restore_watch (f, "romeo@sip.test", WATCH_DIALOG, T0 + 600 * S, T0);

      g_autoptr (StoxSipRequest) bye = subscribe_new (f, WATCH_DIALOG, 0);
      stox_gateway_on_sip (f->gw, bye, T0 + S, f->actions);
      assert_watch_removed (f, WATCH_DIALOG);
      StoxToken t = find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token;
      clear (f);
      respond_sip (f, t, 200, -1, T0 + S);
      g_assert_cmpuint (count_watchers (f), ==, 0);

      stox_gateway_on_link (f->gw, TRUE, 0, T0 + 2 * S, f->actions);
      g_assert_cmpuint (f->actions->len, ==, 0);
    }
}

static void
test_many_watchers (Fixture *f, gconstpointer data)
{
  /* 20 000 dialogs: one ordered timer sequence, expiring in order. */
  StoxGatewayStats stats;

  for (int i = 0; i < 20000; i++)
    {
      g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 60 + i % 100);
      g_free (req->from_uri);
      req->from_uri = g_strdup_printf ("sip:user%d@sip.test", i);
      g_free (req->asserted_uri);
      req->asserted_uri = g_strdup (req->from_uri);
      /* over 20 XMPP users: one may have 2000 watchers by default */
      g_free (req->request_uri);
      req->request_uri = g_strdup_printf ("sip:juliet%d@xmpp.test", i % 20);
      new_watcher (f, req, T0);
    }
  clear (f);
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.watchers, ==, 20000);
  g_assert_cmpint (stox_gateway_next_deadline (f->gw), ==, T0 + 60 * S);
  stox_gateway_on_timer (f->gw, T0 + 60 * S, f->actions);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 200);   /* i % 100 == 0 */
}

/* The watchers' dialogs and the gateway's own subscriptions share one
 * bound, the gateway's max_pending (STOX_GATEWAY_MAX_PENDING_DEFAULT when
 * none is configured): at it, a new SUBSCRIBE gets 503 and a new
 * <presence type='subscribe'/> <resource-constraint/>. */
static void
test_limits_one_bound (Fixture *f, gconstpointer data)
{
  StoxGatewayStats stats;

  fixture_teardown (f, NULL);
  fixture_setup_with (f, 2, FALSE);

  g_autoptr (StoxSipRequest) first = subscribe_new (f, 0, 600);
  new_watcher (f, first, T0);
  g_assert_cmpuint (find (f, STOX_ACTION_SIP_RESPOND, 0)->u.respond.status, ==, 200);
  clear (f);
  xmpp_presence (f, "subscribe", "bob@xmpp.test/laptop", "alice@sip.test", NULL, NULL, T0);
  find (f, STOX_ACTION_SIP_SUBSCRIBE, 0);
  clear (f);
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.watchers + stats.subscriptions, ==, 2);

  g_autoptr (StoxSipRequest) second = subscribe_new (f, 0, 600);
  g_free (second->from_uri);
  second->from_uri = g_strdup ("sip:mercutio@sip.test");
  new_watcher (f, second, T0);
  StoxAction *refused = find (f, STOX_ACTION_SIP_RESPOND, 0);
  g_assert_cmpuint (refused->u.respond.status, ==, 503);
  g_assert_cmpstr (refused->u.respond.warning, ==, "subscription table full");
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  clear (f);

  xmpp_presence (f, "subscribe", "bob@xmpp.test/laptop", "carol@sip.test", NULL, NULL, T0);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_SUBSCRIBE), ==, 0);
  StoxStanza *err = find (f, STOX_ACTION_XMPP_SEND, 0)->u.stanza;
  g_assert_cmpstr (err->type, ==, "error");
  g_assert_cmpstr (err->error_condition, ==, "resource-constraint");
  stox_gateway_get_stats (f->gw, &stats);
  g_assert_cmpuint (stats.watchers + stats.subscriptions, ==, 2);
}

/* RFC 6665 §4.2.1.4, the one watch-expiry rule (stox_watch_record_expired)
 * that the daemon's restore also asks: a WATCH record at or past its
 * deadline is over, and the core's restore drops exactly those. */
static void
test_restore_watch_expiry_rule (Fixture *f, gconstpointer data)
{
  const struct
  {
    StoxStoreKind kind;
    gint64        deadline;
    gboolean      expired;
  } rows[] = {
    { STOX_STORE_WATCH, T0 + 1, FALSE },
    { STOX_STORE_WATCH, T0 + (gint64) 3600 * S, FALSE },
    { STOX_STORE_WATCH, T0, TRUE },
    { STOX_STORE_WATCH, T0 - 1, TRUE },
    { STOX_STORE_WATCH, 0, TRUE },
    { STOX_STORE_FOLLOW, 0, FALSE },
    { STOX_STORE_APPROVAL, T0 - 1, FALSE },
  };

  start_down (f);
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      StoxStoreRecord r = { .kind = rows[i].kind, .deadline = rows[i].deadline };

      g_test_message ("row %" G_GSIZE_FORMAT, i);
      g_assert_cmpint (stox_watch_record_expired (&r, T0), ==, rows[i].expired);
      if (rows[i].kind != STOX_STORE_WATCH)
        continue;
      restore_watch (f, "romeo@sip.test", WATCH_DIALOG + i, rows[i].deadline, T0);
      g_assert_cmpuint (count_store (f, STOX_STORE_WATCH, TRUE), ==, rows[i].expired);
      clear (f);
    }
  g_assert_cmpuint (count_watchers (f), ==, 2);
}

/* RFC 6665 §4.1.2.2 / §4.2.2, one list for the core and the SIP front
 * end: which final answers end a subscription. */
static void
test_status_ends_subscription (void)
{
  static const struct { guint status; gboolean ends, ends_without_timeout; } rows[] = {
    { 200, FALSE, FALSE }, { 202, FALSE, FALSE }, { 400, FALSE, FALSE },
    { 403, FALSE, FALSE }, { 404, TRUE, TRUE },   { 405, TRUE, TRUE },
    { 408, TRUE, FALSE },  { 410, TRUE, TRUE },   { 416, TRUE, TRUE },
    { 423, FALSE, FALSE }, { 479, FALSE, FALSE }, { 480, TRUE, TRUE },
    { 481, TRUE, TRUE },   { 485, TRUE, TRUE },   { 486, FALSE, FALSE },
    { 489, TRUE, TRUE },   { 500, FALSE, FALSE }, { 501, TRUE, TRUE },
    { 503, FALSE, FALSE }, { 603, FALSE, FALSE }, { 604, TRUE, TRUE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_test_message ("%u", rows[i].status);
      g_assert_cmpint (stox_sip_status_ends_subscription (rows[i].status, TRUE), ==,
                       rows[i].ends);
      g_assert_cmpint (stox_sip_status_ends_subscription (rows[i].status, FALSE), ==,
                       rows[i].ends_without_timeout);
    }
}

static guint
count_pending (Fixture *f)
{
  StoxGatewayStats stats;

  stox_gateway_get_stats (f->gw, &stats);
  return stats.watchers_pending;
}

/* The watchers waiting for approval: counted as they come, are approved
 * (live and restored) and go (rejected, unsubscribed). */
static void
test_watchers_pending_count (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) romeo = subscribe_new (f, 0, 600);
  g_autoptr (StoxSipRequest) tybalt = subscribe_new (f, 0, 600);

  g_free (tybalt->from_uri);
  tybalt->from_uri = g_strdup ("sip:tybalt@sip.test");
  g_free (tybalt->asserted_uri);
  tybalt->asserted_uri = g_strdup (tybalt->from_uri);
  g_assert_cmpuint (count_pending (f), ==, 0);
  new_watcher (f, romeo, T0);
  respond_sip (f, find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token, 200, -1, T0);
  clear (f);
  new_watcher (f, tybalt, T0);
  respond_sip (f, find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token, 200, -1, T0);
  clear (f);
  g_assert_cmpuint (count_pending (f), ==, 2);
  g_assert_cmpuint (count_watchers (f), ==, 2);

  /* Approved: active, no longer pending (its first active NOTIFY waits
   * for the probe's answer); approved again: no change. */
  xmpp_presence (f, "subscribed", "juliet@xmpp.test", "romeo@sip.test", NULL, NULL, T0 + S);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
  clear (f);
  g_assert_cmpuint (count_pending (f), ==, 1);
  xmpp_presence (f, "subscribed", "juliet@xmpp.test", "romeo@sip.test", NULL, NULL, T0 + S);
  clear (f);
  g_assert_cmpuint (count_pending (f), ==, 1);

  /* Rejected: pending until its terminated NOTIFY is answered, then gone. */
  xmpp_presence (f, "unsubscribed", "juliet@xmpp.test", "tybalt@sip.test", NULL, NULL, T0 + S);
  StoxToken t = find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token;
  clear (f);
  respond_sip (f, t, 200, -1, T0 + S);
  clear (f);
  g_assert_cmpuint (count_pending (f), ==, 0);
  g_assert_cmpuint (count_watchers (f), ==, 1);

  /* The active one unsubscribing leaves the count alone. */
  g_autoptr (StoxSipRequest) bye = subscribe_new (f, romeo->token, 0);
  stox_gateway_on_sip (f->gw, bye, T0 + 2 * S, f->actions);
  t = find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token;
  clear (f);
  respond_sip (f, t, 200, -1, T0 + 2 * S);
  g_assert_cmpuint (count_watchers (f), ==, 0);
  g_assert_cmpuint (count_pending (f), ==, 0);

  /* Restored: pending until its approval record is read. */
  fixture_teardown (f, NULL);
  fixture_setup (f, NULL);
  clear (f);
  start_down (f);
  restore_watch (f, "romeo@sip.test", WATCH_DIALOG, T0 + 600 * S, T0);
  g_assert_cmpuint (count_pending (f), ==, 1);
  restore_approval (f, T0);
  g_assert_cmpuint (count_pending (f), ==, 0);
  g_assert_cmpuint (count_watchers (f), ==, 1);
}

/* The resources remembered per pair are bounded (watch.h): past
 * STOX_WATCH_MAX_RESOURCES the one heard from longest ago goes, here the
 * only available one, so the watcher then sees the newest unavailable. */
static void
test_s2x_resources_bounded (Fixture *f, gconstpointer data)
{
  active_watcher (f, 600);
  xmpp_presence (f, NULL, "juliet@xmpp.test/r0", "romeo@sip.test", NULL, "first", T0 + S);
  respond_sip (f, find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token, 200, -1, T0 + S);
  clear (f);

  for (guint i = 1; i < STOX_WATCH_MAX_RESOURCES; i++)
    {
      g_autofree char *from = g_strdup_printf ("juliet@xmpp.test/r%u", i);
      g_autofree char *status = g_strdup_printf ("off %u", i);

      xmpp_presence (f, "unavailable", from, "romeo@sip.test", NULL, status, T0 + 2 * S);
      /* r0, available, still beats every unavailable one. */
      g_assert_cmpuint (count (f, STOX_ACTION_SIP_NOTIFY), ==, 0);
    }

  xmpp_presence (f, "unavailable", "juliet@xmpp.test/r99", "romeo@sip.test", NULL, "off 99",
                 T0 + 3 * S);
  StoxAction *n = find (f, STOX_ACTION_SIP_NOTIFY, 0);
  g_autofree char *doc = body_of (n);
  g_assert_nonnull (strstr (doc, "<basic>closed</basic>"));
  g_assert_nonnull (strstr (doc, ">off 99</note>"));
}

/* ---- stanzas the front end could not send -------------------------------- */

/* What the front end's report of an unsent stanza carries. */
static StoxStanza *
header_copy (const StoxStanza *st)
{
  StoxStanza *copy;

  g_assert_nonnull (st);
  copy = stox_stanza_new (st->kind);
  copy->type = g_strdup (st->type);
  copy->from = g_strdup (st->from);
  copy->to = g_strdup (st->to);
  copy->id = g_strdup (st->id);
  return copy;
}

/* The front end reports `st` as not sent because of the link (its queue
 * full, or dropped before the server read it). */
static void
send_failed (Fixture *f, const StoxStanza *st, gint64 now)
{
  g_autoptr (StoxStanza) copy = header_copy (st);

  clear (f);
  stox_gateway_on_xmpp_send_failed (f->gw, copy, STOX_XMPP_SEND_FAILED_LINK, now, f->actions);
}

/* Runs the timers from `from` to `to` in 10 ms steps. */
static void
run_timers (Fixture *f, gint64 from, gint64 to)
{
  for (gint64 t = from; t <= to; t += 10 * 1000)
    stox_gateway_on_timer (f->gw, t, f->actions);
}

/* A watcher's request to the XMPP user that the server never read was
 * lost: the watcher stayed pending for ever (bench-load's held
 * subscriptions at 10 000/s: 10 931 of 20 000).  It is asked again, once
 * the queue has had time to drain, and only it. */
static void
test_unsent_subscribe_asked_again (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxSipRequest) req = subscribe_new (f, 0, 600);
  g_autoptr (StoxStanza) ask = NULL;

  new_watcher (f, req, T0);
  ask = header_copy (find_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"));
  respond_sip (f, find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.token, 200, -1, T0);
  send_failed (f, ask, T0);
  g_assert_cmpuint (f->actions->len, ==, 0);          /* no error, nothing at once */
  g_assert_cmpint (stox_gateway_next_deadline (f->gw), <=, T0 + STOX_PRESENCE_RETRY_US);

  run_timers (f, T0, T0 + STOX_PRESENCE_RETRY_US - 10 * 1000);
  g_assert_cmpuint (f->actions->len, ==, 0);
  run_timers (f, T0 + STOX_PRESENCE_RETRY_US, T0 + STOX_PRESENCE_RETRY_US);
  g_assert_cmpuint (f->actions->len, ==, 1);
  g_assert_nonnull (find_presence (f, "subscribe", "romeo@sip.test", "juliet@xmpp.test"));
  clear (f);

  /* Then the approval makes the watcher active as ever. */
  xmpp_presence (f, "subscribed", "juliet@xmpp.test", "romeo@sip.test", NULL, NULL, T0 + S);
  g_assert_nonnull (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
  clear (f);
  xmpp_presence (f, NULL, "juliet@xmpp.test/pc", "romeo@sip.test", NULL, "here", T0 + S);
  g_assert_cmpint (find (f, STOX_ACTION_SIP_NOTIFY, 0)->u.notify.substate, ==,
                   STOX_SUBSTATE_ACTIVE);
  g_assert_cmpuint (count_pending (f), ==, 0);

  /* A stanza of no pair (its watcher gone, or never one): nothing. */
  g_autoptr (StoxStanza) other = stox_stanza_new (STOX_STANZA_PRESENCE);
  other->type = g_strdup ("subscribe");
  other->from = g_strdup ("nobody@sip.test");
  other->to = g_strdup ("juliet@xmpp.test");
  send_failed (f, other, T0 + 2 * S);
  run_timers (f, T0 + 2 * S, T0 + 3 * S);
  g_assert_null (find_presence (f, "subscribe", "nobody@sip.test", "juliet@xmpp.test"));
}

/* The probe of an approved pair, refused by a full send queue while the
 * link stays up (a link that falls and comes back re-probes every
 * approved pair anyway): probed again once the queue had time to drain,
 * and a failure meanwhile pushes that out. */
static void
test_unsent_probe_queue_full (Fixture *f, gconstpointer data)
{
  g_autoptr (StoxStanza) probe = stox_stanza_new (STOX_STANZA_PRESENCE);

  active_watcher (f, 600);
  probe->type = g_strdup ("probe");
  probe->from = g_strdup ("romeo@sip.test");
  probe->to = g_strdup ("juliet@xmpp.test");
  send_failed (f, probe, T0 + S);
  send_failed (f, probe, T0 + S + 100 * 1000);
  run_timers (f, T0 + S, T0 + S + 100 * 1000 + STOX_PRESENCE_RETRY_US - 10 * 1000);
  g_assert_null (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
  run_timers (f, T0 + S + 100 * 1000 + STOX_PRESENCE_RETRY_US,
              T0 + S + 100 * 1000 + STOX_PRESENCE_RETRY_US);
  g_assert_nonnull (find_presence (f, "probe", "romeo@sip.test", "juliet@xmpp.test"));
  g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 1);
}

/* An XMPP user's view of a SIP contact, unsent: the latest goes again,
 * the approval with it when that was what failed. */
static void
test_unsent_follow_presence (Fixture *f, gconstpointer data)
{
  StoxToken d = follow (f, T0);
  g_autoptr (StoxSipRequest) active = notify_new (f, d, "active", NULL, PIDF_OPEN);

  respond_sip (f, d, 200, 600, T0);
  clear (f);
  stox_gateway_on_sip (f->gw, active, T0 + S, f->actions);
  g_autoptr (StoxStanza) subscribed =
    header_copy (find_presence (f, "subscribed", "alice@sip.test", "bob@xmpp.test"));
  g_autoptr (StoxStanza) avail =
    header_copy (find_presence (f, NULL, "alice@sip.test/desk", "bob@xmpp.test"));

  send_failed (f, subscribed, T0 + S);
  send_failed (f, avail, T0 + S);
  g_assert_cmpuint (f->actions->len, ==, 0);
  run_timers (f, T0 + S, T0 + S + STOX_PRESENCE_RETRY_US);
  g_assert_nonnull (find_presence (f, "subscribed", "alice@sip.test", "bob@xmpp.test"));
  StoxStanza *p = find_presence (f, NULL, "alice@sip.test/desk", "bob@xmpp.test");
  g_assert_nonnull (p);
  g_assert_cmpstr (p->status, ==, "in the office");
  g_assert_cmpuint (count (f, STOX_ACTION_XMPP_SEND), ==, 2);
  g_assert_cmpuint (count (f, STOX_ACTION_SIP_SUBSCRIBE), ==, 0);

  /* Not the link's fault: nothing to try again. */
  clear (f);
  stox_gateway_on_xmpp_send_failed (f->gw, avail, STOX_XMPP_SEND_FAILED_INVALID, T0 + 2 * S,
                                    f->actions);
  run_timers (f, T0 + 2 * S, T0 + 3 * S);
  g_assert_null (find_presence (f, NULL, "alice@sip.test/desk", "bob@xmpp.test"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) \
  g_test_add ("/presence/" path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("s2x/pending-then-active", test_s2x_subscribe_pending_then_active);
  ADD ("s2x/approved-at-once", test_s2x_approved_at_once);
  ADD ("s2x/ask-wait-bounded", test_s2x_ask_wait_bounded);
  ADD ("s2x/rejected-within-wait", test_s2x_rejected_within_wait);
  ADD ("s2x/stop-within-wait", test_s2x_stop_within_wait);
  ADD ("s2x/merged-one-in-flight", test_s2x_presence_merged_one_in_flight);
  ADD ("s2x/status-languages", test_s2x_status_languages);
  ADD ("s2x/unavailable-closed", test_s2x_unavailable_closed);
  ADD ("s2x/unavailable-keeps-status", test_s2x_unavailable_keeps_status);
  ADD ("s2x/resources-bounded", test_s2x_resources_bounded);
  ADD ("s2x/approval-waits-for-probe", test_s2x_approval_waits_for_probe);
  ADD ("s2x/rejected", test_s2x_rejected);
  ADD ("s2x/refresh-and-expiry", test_s2x_refresh_and_expiry);
  ADD ("s2x/unsubscribe", test_s2x_unsubscribe);
  ADD ("s2x/refusals", test_s2x_refusals);
  ADD ("s2x/notify-481-drops", test_s2x_notify_481_drops);
  ADD ("s2x/fetch", test_s2x_fetch);
  ADD ("s2x/second-watcher-authorized", test_s2x_second_watcher_already_authorized);
  ADD ("x2s/subscribe-notify-refresh", test_x2s_subscribe_notify);
  ADD ("x2s/note-languages", test_x2s_note_languages);
  ADD ("x2s/bad-pidf-changes-nothing", test_x2s_bad_pidf_changes_nothing);
  ADD ("x2s/unsubscribe", test_x2s_unsubscribe);
  ADD ("x2s/failures", test_x2s_failures);
  ADD ("x2s/terminated-reasons", test_x2s_terminated_reasons);
  ADD ("x2s/probe-fetch", test_x2s_probe_fetch);
  ADD ("shutdown/goodbyes", test_shutdown_goodbyes);
  ADD ("shutdown/retire", test_shutdown_retire);
  ADD ("store/records", test_store_records);
  ADD ("store/restore", test_restore);
  ADD ("store/watch-records", test_store_watch_records);
  ADD ("store/watch-removes", test_store_watch_removes);
  ADD ("store/watch-shutdown", test_store_watch_shutdown);
  ADD ("store/restore-watch-active", test_restore_watch_active);
  ADD ("store/restore-paced", test_restore_paced);
  ADD ("store/restore-new-dialog-probes", test_restore_new_dialog_probes);
  ADD ("store/restore-follow-waits-for-link", test_restore_follow_waits_for_link);
  g_test_add_func ("/presence/rfc6665/ends-subscription", test_status_ends_subscription);
  ADD ("store/restore-watch-expiry", test_restore_watch_expiry);
  ADD ("store/restore-watch-dropped", test_restore_watch_dropped);
  ADD ("store/restore-watch-expiry-rule", test_restore_watch_expiry_rule);
  ADD ("store/restore-watch-pending", test_restore_watch_pending);
  ADD ("store/restore-watch-pending-unanswered", test_restore_watch_pending_unanswered);
  ADD ("s2x/request-resent-no-repeat", test_request_resent_no_repeat);
  ADD ("store/restore-watch-gone-before-link", test_restore_watch_gone_before_link);
  ADD ("load/20000-watchers", test_many_watchers);
  ADD ("limits/one-bound", test_limits_one_bound);
  ADD ("stats/watchers-pending", test_watchers_pending_count);
  ADD ("unsent/subscribe-asked-again", test_unsent_subscribe_asked_again);
  ADD ("unsent/probe-queue-full", test_unsent_probe_queue_full);
  ADD ("unsent/follow-presence", test_unsent_follow_presence);
#undef ADD

  return g_test_run ();
}
