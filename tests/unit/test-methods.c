/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One owner for what the gateway implements of SIP (core/methods.h): the
 * Allow list and the event packages.  The core's own answers follow it
 * here; the SIP front end's (Allow on every answer, 405/501 and 489 from
 * its stack) follow the same functions, which tests/integration/
 * test-sip-endpoint checks on the wire.
 */
#include "config.h"

#include <string.h>

#include "core/gateway.h"
#include "core/methods.h"
#include "support/shipped-rules.h"

#define T0 (G_GINT64_CONSTANT (1000000000))

typedef struct
{
  StoxRules   *rules;
  StoxGateway *gw;
  GPtrArray   *actions;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  static const char *const xmpp_domains[] = { "xmpp.test", NULL };
  StoxGatewayConfig config = {
    .sip_domain = "sip.test",
    .component = "sip.test",
    .xmpp_domains = xmpp_domains,
    .bounce_wait_ms = 250,
    .instance = "t",
  };
  g_autoptr (GError) error = NULL;

  f->rules = stox_test_load_shipped_rules ();
  f->gw = stox_gateway_new (&config, f->rules, &error);
  g_assert_no_error (error);
  f->actions = stox_actions_new ();
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

static StoxSipRequest *
request_new (StoxSipMethod method, const char *name, const char *event)
{
  static StoxToken next = 100;
  StoxSipRequest *req = stox_sip_request_new ();

  req->token = ++next;
  req->method = method;
  req->method_name = g_strdup (name);
  req->request_uri = g_strdup ("sip:juliet@xmpp.test");
  req->from_uri = g_strdup ("sip:romeo@sip.test");
  req->to_uri = g_strdup ("sip:juliet@xmpp.test");
  req->call_id = g_strdup ("call@test");
  req->event = g_strdup (event);
  req->expires = method == STOX_SIP_METHOD_SUBSCRIBE ? 600 : -1;
  req->source = g_strdup ("127.0.0.1");
  return req;
}

/* The core's answer to `req`: the first SIP_RESPOND among its actions. */
static const StoxAction *
answer_to (Fixture *f, StoxSipRequest *req)
{
  g_ptr_array_set_size (f->actions, 0);
  stox_gateway_on_sip (f->gw, req, T0, f->actions);
  for (guint i = 0; i < f->actions->len; i++)
    {
      const StoxAction *a = f->actions->pdata[i];

      if (a->kind == STOX_ACTION_SIP_RESPOND && a->u.respond.token == req->token)
        return a;
    }
  return NULL;
}

/* stox_sip_allowed_methods(): one token per method the engine dispatches,
 * in the form of an Allow header, and the list every Allow it writes. */
static void
test_allowed_methods (Fixture *f, gconstpointer data)
{
  g_auto (GStrv) methods = g_strsplit (stox_sip_allowed_methods (), ", ", -1);
  const char *const expected[] = { "MESSAGE", "SUBSCRIBE", "NOTIFY", "OPTIONS", NULL };

  g_assert_cmpstrv (methods, expected);
  g_assert_cmpstr (STOX_GATEWAY_ALLOW, ==, stox_sip_allowed_methods ());

  /* OPTIONS 200 advertises it (RFC 3261 §11.2)… */
  g_autoptr (StoxSipRequest) options = request_new (STOX_SIP_METHOD_OPTIONS, "OPTIONS", NULL);
  const StoxAction *a = answer_to (f, options);
  g_assert_nonnull (a);
  g_assert_cmpuint (a->u.respond.status, ==, 200);
  g_assert_cmpstr (a->u.respond.allow, ==, stox_sip_allowed_methods ());

  /* …and a method outside it gets 405 with it (RFC 3261 §8.2.1). */
  g_autoptr (StoxSipRequest) publish = request_new (STOX_SIP_METHOD_PUBLISH, "PUBLISH", NULL);
  g_assert_null (strstr (stox_sip_allowed_methods (), "PUBLISH"));
  a = answer_to (f, publish);
  g_assert_nonnull (a);
  g_assert_cmpuint (a->u.respond.status, ==, 405);
  g_assert_cmpstr (a->u.respond.allow, ==, stox_sip_allowed_methods ());
}

/* stox_sip_event_allowed(): exactly the packages of
 * stox_sip_allowed_events(), compared case-sensitively (RFC 6665
 * §8.2.1); the engine answers an initial SUBSCRIBE for another 489. */
static void
test_allowed_events (Fixture *f, gconstpointer data)
{
  g_auto (GStrv) packages = g_strsplit (stox_sip_allowed_events (), ", ", -1);
  const char *const expected[] = { "presence", NULL };
  const char *const others[] = {
    NULL, "", "Presence", "PRESENCE", "presence.winfo", "presence;id=1", " presence",
    "message-summary", "dialog", "reg",
  };

  g_assert_cmpstrv (packages, expected);
  for (guint i = 0; packages[i] != NULL; i++)
    {
      g_autoptr (StoxSipRequest) req = request_new (STOX_SIP_METHOD_SUBSCRIBE, "SUBSCRIBE",
                                                    packages[i]);
      const StoxAction *a = answer_to (f, req);

      g_assert_true (stox_sip_event_allowed (packages[i]));
      /* Served: not refused for its package (pending until approval). */
      g_assert_true (a == NULL || a->u.respond.status != 489);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (others); i++)
    {
      g_autoptr (StoxSipRequest) req = request_new (STOX_SIP_METHOD_SUBSCRIBE, "SUBSCRIBE",
                                                    others[i]);
      const StoxAction *a = answer_to (f, req);

      g_test_message ("Event: %s", others[i] != NULL ? others[i] : "(none)");
      g_assert_false (stox_sip_event_allowed (others[i]));
      g_assert_nonnull (a);
      g_assert_cmpuint (a->u.respond.status, ==, 489);
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/core/methods/allowed-methods", Fixture, NULL, fixture_setup,
              test_allowed_methods, fixture_teardown);
  g_test_add ("/core/methods/allowed-events", Fixture, NULL, fixture_setup,
              test_allowed_events, fixture_teardown);
  return g_test_run ();
}
