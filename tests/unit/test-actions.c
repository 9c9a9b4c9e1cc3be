/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The core's actions (core/actions.h): one builder per kind, each
 * appending to the list and copying what it is given, and the one free
 * function (run under ASan by make check with --enable-sanitizers).
 * tests/check-action-builders.sh checks that no other core file fills an
 * action in.
 */
#include "config.h"

#include <string.h>

#include "core/actions.h"

static StoxAction *
only (GPtrArray *actions, StoxActionKind kind)
{
  g_assert_cmpuint (actions->len, ==, 1);
  g_assert_cmpint (((StoxAction *) actions->pdata[0])->kind, ==, kind);
  return actions->pdata[0];
}

static void
test_respond (void)
{
  g_autoptr (GPtrArray) actions = stox_actions_new ();
  char warning[] = "why";
  StoxSipAnswer *ans = stox_actions_respond (actions, 7, 503, 5, "text/plain", "MESSAGE",
                                             warning);

  warning[0] = 'X';
  g_assert_true (ans == &only (actions, STOX_ACTION_SIP_RESPOND)->u.respond);
  g_assert_cmpuint (ans->token, ==, 7);
  g_assert_cmpuint (ans->status, ==, 503);
  g_assert_cmpstr (ans->phrase, ==, "Service Unavailable");
  g_assert_cmpuint (ans->retry_after, ==, 5);
  g_assert_cmpstr (ans->accept, ==, "text/plain");
  g_assert_cmpstr (ans->allow, ==, "MESSAGE");
  g_assert_cmpstr (ans->warning, ==, "why");
  /* 0 would be "Expires: 0". */
  g_assert_cmpint (ans->expires, ==, -1);
  g_assert_cmpint (ans->min_expires, ==, -1);
}

static void
test_message (void)
{
  g_autoptr (GPtrArray) actions = stox_actions_new ();
  StoxSipOutMessage *m = stox_actions_message (actions, 9, "sip:b@x", "sip:a@y",
                                               "text/plain;charset=UTF-8", "héllo");
  gsize len;
  const char *body;

  g_assert_true (m == &only (actions, STOX_ACTION_SIP_MESSAGE)->u.message);
  g_assert_cmpuint (m->token, ==, 9);
  g_assert_cmpstr (m->request_uri, ==, "sip:b@x");
  g_assert_cmpstr (m->to_uri, ==, "sip:b@x");   /* RFC 3261 §8.1.1.2, out of dialog */
  g_assert_cmpstr (m->from_uri, ==, "sip:a@y");
  g_assert_cmpstr (m->content_type, ==, "text/plain;charset=UTF-8");
  body = g_bytes_get_data (m->body, &len);
  g_assert_cmpmem (body, len, "héllo", strlen ("héllo"));
  g_assert_null (m->call_id);
  g_assert_null (m->subject);
  g_assert_null (m->content_language);
  m->call_id = g_strdup ("thread");   /* freed with the action */
}

static void
test_subscribe (void)
{
  g_autoptr (GPtrArray) actions = stox_actions_new ();
  StoxSipSubscribe *s;

  stox_actions_subscribe (actions, 11, "sip:b@x", "sip:a@y", "presence",
                          "application/pidf+xml", 600);
  s = &only (actions, STOX_ACTION_SIP_SUBSCRIBE)->u.subscribe;
  g_assert_cmpuint (s->dialog, ==, 11);
  g_assert_cmpstr (s->request_uri, ==, "sip:b@x");
  g_assert_cmpstr (s->to_uri, ==, "sip:b@x");
  g_assert_cmpstr (s->from_uri, ==, "sip:a@y");
  g_assert_cmpstr (s->event, ==, "presence");
  g_assert_cmpstr (s->accept, ==, "application/pidf+xml");
  g_assert_cmpuint (s->expires, ==, 600);
}

static void
test_notify (void)
{
  g_autoptr (GPtrArray) actions = stox_actions_new ();
  StoxSipNotify *n;
  gsize len;

  n = stox_actions_notify (actions, 12, 3, STOX_SUBSTATE_ACTIVE, NULL, 120,
                           "application/pidf+xml", g_strdup ("<presence/>"));
  g_assert_true (n == &only (actions, STOX_ACTION_SIP_NOTIFY)->u.notify);
  g_assert_cmpuint (n->token, ==, 12);
  g_assert_cmpuint (n->dialog, ==, 3);
  g_assert_cmpint (n->substate, ==, STOX_SUBSTATE_ACTIVE);
  g_assert_null (n->reason);
  g_assert_cmpuint (n->expires, ==, 120);
  g_assert_cmpuint (n->retry_after, ==, 0);
  g_assert_cmpstr (n->content_type, ==, "application/pidf+xml");
  g_assert_cmpmem (g_bytes_get_data (n->body, &len), len, "<presence/>", 11);

  /* Without a body: no Content-Type either. */
  g_ptr_array_set_size (actions, 0);
  n = stox_actions_notify (actions, 13, 3, STOX_SUBSTATE_TERMINATED, "probation", 0,
                           "application/pidf+xml", NULL);
  g_assert_cmpstr (n->reason, ==, "probation");
  g_assert_null (n->content_type);
  g_assert_null (n->body);
}

static void
test_stanza_and_presence (void)
{
  g_autoptr (GPtrArray) actions = stox_actions_new ();
  StoxStanza *st;

  stox_actions_presence (actions, "a@sip.test", "b@xmpp.test", "probe");
  st = only (actions, STOX_ACTION_XMPP_SEND)->u.stanza;
  g_assert_cmpint (st->kind, ==, STOX_STANZA_PRESENCE);
  g_assert_cmpstr (st->from, ==, "a@sip.test");
  g_assert_cmpstr (st->to, ==, "b@xmpp.test");
  g_assert_cmpstr (st->type, ==, "probe");
}

static void
test_store (void)
{
  g_autoptr (GPtrArray) actions = stox_actions_new ();
  StoxStoreRecord *r = stox_actions_store (actions, STOX_STORE_FOLLOW, FALSE, "b@xmpp.test",
                                           "a@sip.test");

  g_assert_true (r == &only (actions, STOX_ACTION_STORE)->u.store);
  g_assert_cmpint (r->kind, ==, STOX_STORE_FOLLOW);
  g_assert_false (r->remove);
  g_assert_cmpstr (r->xmpp_jid, ==, "b@xmpp.test");
  g_assert_cmpstr (r->sip_jid, ==, "a@sip.test");
  g_assert_cmpuint (r->dialog, ==, 0);
  g_assert_null (r->entity);
  g_assert_cmpint (r->deadline, ==, 0);
}

static void
test_free_null (void)
{
  stox_action_free (NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/actions/respond", test_respond);
  g_test_add_func ("/core/actions/message", test_message);
  g_test_add_func ("/core/actions/subscribe", test_subscribe);
  g_test_add_func ("/core/actions/notify", test_notify);
  g_test_add_func ("/core/actions/stanza-and-presence", test_stanza_and_presence);
  g_test_add_func ("/core/actions/store", test_store);
  g_test_add_func ("/core/actions/free-null", test_free_null);
  return g_test_run ();
}
