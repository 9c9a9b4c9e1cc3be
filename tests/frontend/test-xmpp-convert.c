/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tier 2: xmpp_stanza_t ↔ StoxStanza with libstrophe's own parser and
 * renderer, no socket (model-codebases.md §3.5). */
#include "config.h"

#include <string.h>

#include "core/stanza-size.h"
#include "xmpp/convert.h"

static xmpp_ctx_t *ctx;

static xmpp_stanza_t *
parse (const char *xml)
{
  xmpp_stanza_t *s = xmpp_stanza_new_from_string (ctx, xml);

  g_assert_nonnull (s);
  return s;
}

static StoxStanza *
decode_string (const char *xml)
{
  xmpp_stanza_t *s = parse (xml);
  g_autoptr(GError) error = NULL;
  StoxStanza *st = stox_xmpp_stanza_decode (s, &error);

  g_assert_no_error (error);
  g_assert_nonnull (st);
  xmpp_stanza_release (s);
  return st;
}

static char *
render (xmpp_stanza_t *s)
{
  char *buf = NULL;
  size_t len = 0;
  char *copy;

  g_assert_cmpint (xmpp_stanza_to_text (s, &buf, &len), ==, XMPP_EOK);
  copy = g_strndup (buf, len);
  xmpp_free (ctx, buf);
  return copy;
}

/* StoxStanza → stanza → text on the wire → parsed → StoxStanza */
static StoxStanza *
round_trip (const StoxStanza *in,
            char            **ret_wire)
{
  g_autoptr(GError) error = NULL;
  xmpp_stanza_t *s = stox_xmpp_stanza_encode (ctx, in, &error);
  g_autofree char *wire = NULL;
  StoxStanza *out;

  g_assert_no_error (error);
  g_assert_nonnull (s);
  wire = render (s);
  xmpp_stanza_release (s);
  g_test_message ("wire: %s", wire);
  g_assert_true (g_utf8_validate (wire, -1, NULL));
  out = decode_string (wire);
  if (ret_wire != NULL)
    *ret_wire = g_steal_pointer (&wire);
  return out;
}

/* ---- decoding ---------------------------------------------------------- */

static void
test_decode_message (void)
{
  g_autoptr(StoxStanza) st = decode_string (
    "<message xmlns='jabber:component:accept' type='chat' id='m1'"
    " from='juliet@example.com/balcony' to='romeo@gw.test' xml:lang='en'>"
    "<subject>Plans</subject>"
    "<body>Art thou not Romeo &amp; a Montague?</body>"
    "<thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread>"
    "<composing xmlns='http://jabber.org/protocol/chatstates'/>"
    "</message>");

  g_assert_cmpint (st->kind, ==, STOX_STANZA_MESSAGE);
  g_assert_cmpstr (st->type, ==, "chat");
  g_assert_cmpstr (st->id, ==, "m1");
  g_assert_cmpstr (st->from, ==, "juliet@example.com/balcony");
  g_assert_cmpstr (st->to, ==, "romeo@gw.test");
  g_assert_cmpstr (st->lang, ==, "en");
  g_assert_cmpstr (st->subject, ==, "Plans");
  g_assert_cmpstr (st->body, ==, "Art thou not Romeo & a Montague?");
  g_assert_cmpstr (st->thread, ==, "e0ffe42b28561960c6b12b944a092794b9683a38");
  g_assert_cmpint (st->chat_state, ==, STOX_CHAT_STATE_COMPOSING);
  g_assert_null (st->error_condition);
  g_assert_null (st->error_type);
  g_assert_null (st->iq_child_name);
  g_assert_null (st->show);
  g_assert_null (st->disco);
}

static void
test_decode_absent_fields (void)
{
  g_autoptr(StoxStanza) st = decode_string ("<message to='a@gw.test'/>");

  g_assert_cmpint (st->kind, ==, STOX_STANZA_MESSAGE);
  g_assert_null (st->type);
  g_assert_null (st->id);
  g_assert_null (st->from);
  g_assert_cmpstr (st->to, ==, "a@gw.test");
  g_assert_null (st->lang);
  g_assert_null (st->body);
  g_assert_null (st->subject);
  g_assert_null (st->thread);
  g_assert_cmpint (st->chat_state, ==, STOX_CHAT_STATE_NONE);
}

static void
test_decode_empty_body (void)
{
  g_autoptr(StoxStanza) st = decode_string ("<message><body/><subject></subject></message>");

  g_assert_cmpstr (st->body, ==, "");
  g_assert_cmpstr (st->subject, ==, "");
}

static void
test_decode_body_lang (void)
{
  static const struct { const char *xml; const char *body; } rows[] = {
    /* the body in the stanza's language wins */
    { "<message xml:lang='de'><body xml:lang='en'>hello</body>"
      "<body>hallo</body></message>", "hallo" },
    { "<message xml:lang='de'><body xml:lang='en'>hello</body>"
      "<body xml:lang='de'>hallo</body></message>", "hallo" },
    /* tags compare in any case (BCP 47 §2.1.1) */
    { "<message xml:lang='de'><body xml:lang='en'>hello</body>"
      "<body xml:lang='DE'>hallo</body></message>", "hallo" },
    /* none matches: the first */
    { "<message xml:lang='fr'><body xml:lang='en'>hello</body>"
      "<body xml:lang='de'>hallo</body></message>", "hello" },
    /* a body in another namespace is not the body */
    { "<message><body xmlns='urn:example:other'>no</body><body>yes</body></message>", "yes" },
    /* nor is one nested deeper (XHTML-IM) */
    { "<message><html xmlns='http://jabber.org/protocol/xhtml-im'>"
      "<body xmlns='http://www.w3.org/1999/xhtml'><p>rich</p></body></html>"
      "<body>plain</body></message>", "plain" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr(StoxStanza) st = decode_string (rows[i].xml);
      g_assert_cmpstr (st->body, ==, rows[i].body);
    }
}

static void
test_decode_error (void)
{
  g_autoptr(StoxStanza) st = decode_string (
    "<message xmlns='jabber:component:accept' type='error' id='e1'"
    " from='nobody@localhost.test' to='alice@gw.test'>"
    "<body>original</body>"
    "<error type='cancel' by='localhost.test'>"
    "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
    "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>No such user</text>"
    "<not-connected xmlns='xmpp:prosody.im/protocol/component'/>"
    "</error></message>");

  g_assert_cmpstr (st->type, ==, "error");
  g_assert_cmpstr (st->error_condition, ==, "service-unavailable");
  g_assert_cmpstr (st->error_type, ==, "cancel");
  g_assert_cmpstr (st->error_text, ==, "No such user");
  g_assert_cmpstr (st->body, ==, "original");
}

static void
test_decode_error_text_first (void)
{
  /* <text/> before the condition, an application condition in between */
  g_autoptr(StoxStanza) st = decode_string (
    "<presence type='error'><error type='wait'>"
    "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>later</text>"
    "<x xmlns='urn:example'/>"
    "<resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
    "</error></presence>");

  g_assert_cmpint (st->kind, ==, STOX_STANZA_PRESENCE);
  g_assert_cmpstr (st->error_condition, ==, "resource-constraint");
  g_assert_cmpstr (st->error_type, ==, "wait");
  g_assert_cmpstr (st->error_text, ==, "later");
}

static void
test_decode_error_without_condition (void)
{
  g_autoptr(StoxStanza) st = decode_string ("<message type='error'><error type='modify'/></message>");

  g_assert_null (st->error_condition);
  g_assert_cmpstr (st->error_type, ==, "modify");
  g_assert_null (st->error_text);
}

static void
test_decode_chat_states (void)
{
  static const struct { const char *child; StoxChatState state; } rows[] = {
    { "<active xmlns='http://jabber.org/protocol/chatstates'/>", STOX_CHAT_STATE_ACTIVE },
    { "<composing xmlns='http://jabber.org/protocol/chatstates'/>", STOX_CHAT_STATE_COMPOSING },
    { "<paused xmlns='http://jabber.org/protocol/chatstates'/>", STOX_CHAT_STATE_PAUSED },
    { "<inactive xmlns='http://jabber.org/protocol/chatstates'/>", STOX_CHAT_STATE_INACTIVE },
    { "<gone xmlns='http://jabber.org/protocol/chatstates'/>", STOX_CHAT_STATE_GONE },
    { "<bored xmlns='http://jabber.org/protocol/chatstates'/>", STOX_CHAT_STATE_NONE },
    { "<composing/>", STOX_CHAT_STATE_NONE },            /* wrong namespace */
    { "<composing xmlns='urn:example'/>", STOX_CHAT_STATE_NONE },
    { "", STOX_CHAT_STATE_NONE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *xml = g_strdup_printf ("<message type='chat'><body>x</body>%s</message>",
                                              rows[i].child);
      g_autoptr(StoxStanza) st = decode_string (xml);
      g_test_message ("row %zu: %s", i, rows[i].child);
      g_assert_cmpint (st->chat_state, ==, rows[i].state);
    }
}

static void
test_decode_iq_child (void)
{
  static const struct
  {
    const char *xml, *type, *name, *ns, *node, *condition;
  } rows[] = {
    { "<iq type='get' id='d1' from='a@localhost.test/r' to='gw.test'>"
      "<query xmlns='http://jabber.org/protocol/disco#info' node='http://example/caps#x'/></iq>",
      "get", "query", "http://jabber.org/protocol/disco#info", "http://example/caps#x", NULL },
    { "<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>",
      "get", "ping", "urn:xmpp:ping", NULL, NULL },
    { "<iq type='result' id='p1'/>", "result", NULL, NULL, NULL, NULL },
    /* text before the child is not the child */
    { "<iq type='set' id='s1'>\n  <query xmlns='jabber:iq:roster'/>\n</iq>",
      "set", "query", "jabber:iq:roster", NULL, NULL },
    /* an error reply with the original child, and one without */
    { "<iq type='error' id='v1'><query xmlns='jabber:iq:version'/>"
      "<error type='cancel'><feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
      "</error></iq>",
      "error", "query", "jabber:iq:version", NULL, "feature-not-implemented" },
    { "<iq type='error' id='v2'><error type='cancel'>"
      "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>",
      "error", NULL, NULL, NULL, "service-unavailable" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr(StoxStanza) st = decode_string (rows[i].xml);
      g_test_message ("row %zu", i);
      g_assert_cmpint (st->kind, ==, STOX_STANZA_IQ);
      g_assert_cmpstr (st->type, ==, rows[i].type);
      g_assert_cmpstr (st->iq_child_name, ==, rows[i].name);
      g_assert_cmpstr (st->iq_child_ns, ==, rows[i].ns);
      g_assert_cmpstr (st->iq_node, ==, rows[i].node);
      g_assert_cmpstr (st->error_condition, ==, rows[i].condition);
    }
}

static void
test_decode_presence (void)
{
  g_autoptr(StoxStanza) st = decode_string (
    "<presence xmlns='jabber:component:accept' from='a@localhost.test/r' to='b@gw.test' xml:lang='en'>"
    "<show>dnd</show><status xml:lang='fr'>occupé</status><status>busy</status>"
    "<priority>5</priority></presence>");
  g_autoptr(StoxStanza) un = decode_string ("<presence type='unavailable'/>");

  g_assert_cmpint (st->kind, ==, STOX_STANZA_PRESENCE);
  g_assert_null (st->type);
  g_assert_cmpstr (st->show, ==, "dnd");
  g_assert_cmpstr (st->status, ==, "busy");
  g_assert_cmpstr (st->lang, ==, "en");
  g_assert_null (st->body);

  g_assert_cmpstr (un->type, ==, "unavailable");
  g_assert_null (un->show);
  g_assert_null (un->status);
}

/* Checks st->statuses against `want`, NULL-terminated (lang, text) pairs;
 * a lang of "-" stands for none. */
static void
assert_statuses (const StoxStanza *st, const char *const *want)
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
      const StoxLangText *t = g_ptr_array_index (st->statuses, i);
      const char *lang = strcmp (want[2 * i], "-") == 0 ? NULL : want[2 * i];

      g_test_message ("status %u", i);
      g_assert_cmpstr (t->lang, ==, lang);
      g_assert_cmpstr (t->text, ==, want[2 * i + 1]);
    }
}

/* RFC 6121 §4.7.2.2: every <status/>, its own xml:lang kept, the first of
 * each language (one without xml:lang is in the stanza's). */
static void
test_decode_presence_statuses (void)
{
  static const struct
  {
    const char *xml;
    const char *status;        /* the one in the stanza's language */
    const char *want[12];      /* lang ("-": none), text, …, NULL */
  } rows[] = {
    { "<presence xmlns='jabber:component:accept' xml:lang='en'>"
      "<status>away</status><status xml:lang='de'>weg</status>"
      "<status xml:lang='fr'>absent</status></presence>",
      "away", { "-", "away", "de", "weg", "fr", "absent", NULL } },
    /* repeated languages: the first stays; tags compare without case, and
     * the one without xml:lang is English like the stanza */
    { "<presence xml:lang='en'><status xml:lang='de'>weg</status>"
      "<status>away</status><status xml:lang='DE'>fort</status>"
      "<status xml:lang='en'>gone</status><status xml:lang='fr'>absent</status></presence>",
      "away", { "de", "weg", "-", "away", "fr", "absent", NULL } },
    { "<presence xml:lang='en'><status xml:lang='en'>gone</status>"
      "<status>away</status></presence>",
      "gone", { "en", "gone", NULL } },
    /* no stanza language: xml:lang='en' is another language than none */
    { "<presence><status>a</status><status xml:lang='en'>b</status>"
      "<status>c</status></presence>",
      "a", { "-", "a", "en", "b", NULL } },
    /* other namespaces and nested elements are not the status */
    { "<presence><status xmlns='urn:example:other' xml:lang='de'>no</status>"
      "<x xmlns='urn:example:x'><status xml:lang='fr'>nested</status></x>"
      "<status>yes</status></presence>",
      "yes", { "-", "yes", NULL } },
    { "<presence xmlns='jabber:component:accept'>"
      "<status xmlns='jabber:client' xml:lang='it'>via</status></presence>",
      "via", { "it", "via", NULL } },
    /* an empty status is a status */
    { "<presence><status/></presence>", "", { "-", "", NULL } },
    { "<presence><show>away</show></presence>", NULL, { NULL } },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_test_message ("row %zu", i);
      g_autoptr(StoxStanza) st = decode_string (rows[i].xml);
      g_assert_cmpstr (st->status, ==, rows[i].status);
      assert_statuses (st, rows[i].want);
    }
}

/* A stanza with many statuses gives the first STOX_XMPP_STATUSES_MAX
 * languages; repeats do not count. */
static void
test_decode_presence_statuses_bound (void)
{
  g_autoptr(GString) xml = g_string_new ("<presence xml:lang='en'>");
  guint n = STOX_XMPP_STATUSES_MAX + 8;

  for (guint i = 0; i < n; i++)
    {
      g_string_append_printf (xml, "<status xml:lang='x-%02u'>s%u</status>", i, i);
      /* a repeat of each language, ignored without using up the bound */
      g_string_append_printf (xml, "<status xml:lang='x-%02u'>r%u</status>", i, i);
    }
  g_string_append (xml, "</presence>");

  g_autoptr(StoxStanza) st = decode_string (xml->str);
  g_assert_nonnull (st->statuses);
  g_assert_cmpuint (st->statuses->len, ==, STOX_XMPP_STATUSES_MAX);
  for (guint i = 0; i < STOX_XMPP_STATUSES_MAX; i++)
    {
      const StoxLangText *t = g_ptr_array_index (st->statuses, i);
      g_autofree char *lang = g_strdup_printf ("x-%02u", i);
      g_autofree char *text = g_strdup_printf ("s%u", i);

      g_assert_cmpstr (t->lang, ==, lang);
      g_assert_cmpstr (t->text, ==, text);
    }
  /* none of the stanza's language: the first */
  g_assert_cmpstr (st->status, ==, "s0");
}

static void
test_decode_unknown (void)
{
  static const char *const rows[] = {
    "<handshake xmlns='jabber:component:accept'/>",
    "<stream:error xmlns:stream='http://etherx.jabber.org/streams'>"
    "<conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>",
    "<Message/>",
    "<foo/>",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      xmpp_stanza_t *s = parse (rows[i]);
      g_autoptr(GError) error = NULL;
      StoxStanza *st = stox_xmpp_stanza_decode (s, &error);

      g_assert_null (st);
      g_assert_error (error, STOX_XMPP_CONVERT_ERROR, STOX_XMPP_CONVERT_ERROR_UNKNOWN_STANZA);
      xmpp_stanza_release (s);
    }
}

/* ---- encoding ---------------------------------------------------------- */

static void
test_encode_message (void)
{
  g_autoptr(StoxStanza) in = stox_stanza_new (STOX_STANZA_MESSAGE);
  g_autofree char *wire = NULL;

  in->type = g_strdup ("chat");
  in->id = g_strdup ("x1");
  in->from = g_strdup ("alice@gw.test");
  in->to = g_strdup ("bob@localhost.test/res");
  in->lang = g_strdup ("de");
  in->subject = g_strdup ("Betreff");
  in->body = g_strdup ("Hallo");
  in->thread = g_strdup ("t-1");
  in->chat_state = STOX_CHAT_STATE_ACTIVE;

  g_autoptr(StoxStanza) out = round_trip (in, &wire);

  g_assert_true (g_str_has_prefix (wire, "<message "));
  g_assert_nonnull (strstr (wire, "xml:lang=\"de\""));
  g_assert_nonnull (strstr (wire, "<active xmlns=\"http://jabber.org/protocol/chatstates\"/>"));
  g_assert_null (strstr (wire, "jabber:client"));
  g_assert_cmpint (out->kind, ==, STOX_STANZA_MESSAGE);
  g_assert_cmpstr (out->type, ==, "chat");
  g_assert_cmpstr (out->id, ==, "x1");
  g_assert_cmpstr (out->from, ==, "alice@gw.test");
  g_assert_cmpstr (out->to, ==, "bob@localhost.test/res");
  g_assert_cmpstr (out->lang, ==, "de");
  g_assert_cmpstr (out->subject, ==, "Betreff");
  g_assert_cmpstr (out->body, ==, "Hallo");
  g_assert_cmpstr (out->thread, ==, "t-1");
  g_assert_cmpint (out->chat_state, ==, STOX_CHAT_STATE_ACTIVE);
  g_assert_null (out->error_condition);
}

static void
test_encode_chat_states (void)
{
  for (StoxChatState s = STOX_CHAT_STATE_NONE; s <= STOX_CHAT_STATE_GONE; s++)
    {
      g_autoptr(StoxStanza) in = stox_stanza_new (STOX_STANZA_MESSAGE);
      in->to = g_strdup ("a@b");
      in->chat_state = s;
      g_autoptr(StoxStanza) out = round_trip (in, NULL);
      g_assert_cmpint (out->chat_state, ==, s);
      g_assert_null (out->body);
    }
}

static void
test_encode_escaping (void)
{
  static const char *const texts[] = {
    "<b>bold</b> & 'quotes' \"double\"",
    "]]> <![CDATA[ x ]]> --> <!-- -->",
    "&amp; &lt; &#x41; &unknown;",
    "emoji 😀 and 日本語 and ZWJ 👩‍💻",
    "tab\there\nnew line",
    "   leading and trailing   ",
    "<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'b'>]>&a;",
    "</body></message><message to='evil@x'><body>injected",
    "\xc2\x85 \xc2\xa0 \xef\xbf\xbd \xf4\x8f\xbf\xbd",  /* NEL, NBSP, U+FFFD, U+10FFFD */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(StoxStanza) in = stox_stanza_new (STOX_STANZA_MESSAGE);
      g_autofree char *wire = NULL;

      in->to = g_strdup ("o'malley@localhost.test");
      in->from = g_strdup ("a\"b@gw.test");
      in->id = strpbrk (texts[i], "\t\n") == NULL ? g_strdup (texts[i]) : NULL;
      in->body = g_strdup (texts[i]);
      in->subject = g_strdup (texts[i]);
      in->thread = g_strdup (texts[i]);
      g_autoptr(StoxStanza) out = round_trip (in, &wire);

      g_test_message ("row %zu", i);
      g_assert_cmpstr (out->body, ==, texts[i]);
      g_assert_cmpstr (out->subject, ==, texts[i]);
      g_assert_cmpstr (out->thread, ==, texts[i]);
      g_assert_cmpstr (out->id, ==, in->id);
      g_assert_cmpstr (out->to, ==, "o'malley@localhost.test");
      g_assert_cmpstr (out->from, ==, "a\"b@gw.test");
      /* exactly one element called message, however the text reads */
      g_assert_null (strstr (wire + 1, "<message"));
      g_assert_null (strstr (wire, "<!"));
      g_assert_null (strstr (wire, "]]>"));
    }
}

static void
test_encode_escaping_wire (void)
{
  g_autoptr(StoxStanza) in = stox_stanza_new (STOX_STANZA_MESSAGE);
  g_autoptr(GError) error = NULL;
  xmpp_stanza_t *s;
  g_autofree char *wire = NULL;

  in->to = g_strdup ("a@b");
  in->body = g_strdup ("1 < 2 && 3 > 2 ]]>");
  s = stox_xmpp_stanza_encode (ctx, in, &error);
  g_assert_no_error (error);
  wire = render (s);
  xmpp_stanza_release (s);
  g_assert_nonnull (strstr (wire, "<body>1 &lt; 2 &amp;&amp; 3 &gt; 2 ]]&gt;</body>"));
}

static void
test_encode_error (void)
{
  g_autoptr(StoxStanza) in = stox_stanza_new (STOX_STANZA_MESSAGE);
  g_autoptr(StoxStanza) in2 = stox_stanza_new (STOX_STANZA_IQ);
  g_autofree char *wire = NULL;

  in->type = g_strdup ("error");
  in->id = g_strdup ("e1");
  in->from = g_strdup ("bob@gw.test");
  in->to = g_strdup ("alice@localhost.test/r");
  in->body = g_strdup ("the original");
  in->error_condition = g_strdup ("recipient-unavailable");
  in->error_type = g_strdup ("wait");
  in->error_text = g_strdup ("SIP said 480 <Temporarily Unavailable>");
  g_autoptr(StoxStanza) out = round_trip (in, &wire);

  g_assert_nonnull (strstr (wire, "<error type=\"wait\"><recipient-unavailable "
                                  "xmlns=\"urn:ietf:params:xml:ns:xmpp-stanzas\"/>"));
  g_assert_cmpstr (out->error_condition, ==, "recipient-unavailable");
  g_assert_cmpstr (out->error_type, ==, "wait");
  g_assert_cmpstr (out->error_text, ==, "SIP said 480 <Temporarily Unavailable>");
  g_assert_cmpstr (out->body, ==, "the original");

  /* no type given: cancel; no text: no <text/> */
  in2->type = g_strdup ("error");
  in2->id = g_strdup ("i1");
  in2->to = g_strdup ("a@b");
  in2->error_condition = g_strdup ("service-unavailable");
  g_autofree char *wire2 = NULL;
  g_autoptr(StoxStanza) out2 = round_trip (in2, &wire2);
  g_assert_cmpstr (out2->error_condition, ==, "service-unavailable");
  g_assert_cmpstr (out2->error_type, ==, "cancel");
  g_assert_null (out2->error_text);
  g_assert_null (strstr (wire2, "<text"));
  g_assert_null (out2->iq_child_name);
}

static void
test_encode_presence (void)
{
  g_autoptr(StoxStanza) in = stox_stanza_new (STOX_STANZA_PRESENCE);

  in->from = g_strdup ("alice@gw.test");
  in->to = g_strdup ("bob@localhost.test");
  in->show = g_strdup ("away");
  in->status = g_strdup ("Out to lunch 🍔 <back soon>");
  in->body = g_strdup ("not for presence");
  g_autoptr(StoxStanza) out = round_trip (in, NULL);

  g_assert_cmpint (out->kind, ==, STOX_STANZA_PRESENCE);
  g_assert_null (out->type);
  g_assert_cmpstr (out->show, ==, "away");
  g_assert_cmpstr (out->status, ==, "Out to lunch 🍔 <back soon>");
  g_assert_null (out->body);
}

/* Counts the non-overlapping occurrences of `needle`. */
static guint
count_of (const char *haystack, const char *needle)
{
  guint n = 0;

  for (const char *p = strstr (haystack, needle); p != NULL;
       p = strstr (p + strlen (needle), needle))
    n++;
  return n;
}

/* One <status/> per entry, xml:lang where it is not the stanza's; the
 * decoder gives them back. */
static void
test_encode_presence_statuses (void)
{
  static const struct
  {
    const char *lang;          /* the stanza's */
    const char *in[8];         /* lang ("-": none), text, …, NULL */
    const char *elements[4];   /* exactly these <status/> on the wire */
    const char *out[8];        /* decoded again */
  } rows[] = {
    { "en",
      { "-", "away", "de", "weg", "fr", "absent & <bientôt>", NULL },
      { "<status>away</status>", "<status xml:lang=\"de\">weg</status>",
        "<status xml:lang=\"fr\">absent &amp; &lt;bientôt&gt;</status>", NULL },
      { "-", "away", "de", "weg", "fr", "absent & <bientôt>", NULL } },
    /* the stanza's own language is not repeated on the status */
    { "en",
      { "en", "away", "de", "weg", NULL },
      { "<status>away</status>", "<status xml:lang=\"de\">weg</status>", NULL },
      { "-", "away", "de", "weg", NULL } },
    { NULL,
      { "-", "a", "de", "", NULL },
      { "<status>a</status>", "<status xml:lang=\"de\"/>", NULL },
      { "-", "a", "de", "", NULL } },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr(StoxStanza) in = stox_stanza_new (STOX_STANZA_PRESENCE);
      g_autofree char *wire = NULL;
      guint n = 0;

      g_test_message ("row %zu", i);
      in->to = g_strdup ("bob@localhost.test");
      in->lang = g_strdup (rows[i].lang);
      /* statuses win over status */
      in->status = g_strdup ("not written");
      for (guint j = 0; rows[i].in[2 * j] != NULL; j++)
        stox_stanza_add_status (in, strcmp (rows[i].in[2 * j], "-") == 0 ? NULL : rows[i].in[2 * j],
                                rows[i].in[2 * j + 1]);
      g_autoptr(StoxStanza) out = round_trip (in, &wire);

      for (; rows[i].elements[n] != NULL; n++)
        g_assert_cmpuint (count_of (wire, rows[i].elements[n]), ==, 1);
      g_assert_cmpuint (count_of (wire, "<status"), ==, n);
      g_assert_null (strstr (wire, "not written"));
      g_assert_cmpstr (out->lang, ==, rows[i].lang);
      assert_statuses (out, rows[i].out);
    }

  /* Without entries, `status` alone as before. */
  {
    g_autoptr(StoxStanza) in = stox_stanza_new (STOX_STANZA_PRESENCE);
    g_autofree char *wire = NULL;

    in->lang = g_strdup ("en");
    in->status = g_strdup ("only");
    in->statuses = g_ptr_array_new_with_free_func ((GDestroyNotify) stox_lang_text_free);
    g_autoptr(StoxStanza) out = round_trip (in, &wire);
    g_assert_cmpuint (count_of (wire, "<status"), ==, 1);
    g_assert_nonnull (strstr (wire, "<status>only</status>"));
    g_assert_cmpstr (out->status, ==, "only");
  }

  /* Each entry is checked like every other field. */
  static const struct { const char *lang, *text; } bad[] = {
    { "de", "bell\x07" }, { "de", "\xff" }, { "d\ne", "ok" }, { "d\x01e", "ok" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(StoxStanza) in = stox_stanza_new (STOX_STANZA_PRESENCE);
      g_autoptr(GError) error = NULL;

      g_test_message ("bad %zu", i);
      stox_stanza_add_status (in, NULL, "fine");
      stox_stanza_add_status (in, bad[i].lang, bad[i].text);
      g_assert_null (stox_xmpp_stanza_encode (ctx, in, &error));
      g_assert_error (error, STOX_XMPP_CONVERT_ERROR, STOX_XMPP_CONVERT_ERROR_INVALID_TEXT);
    }
}

static void
test_encode_iq_child (void)
{
  g_autoptr(StoxStanza) in = stox_stanza_new (STOX_STANZA_IQ);
  g_autofree char *wire = NULL;

  in->type = g_strdup ("get");
  in->id = g_strdup ("ping-1");
  in->from = g_strdup ("gw.test");
  in->to = g_strdup ("localhost.test");
  in->iq_child_name = g_strdup ("query");
  in->iq_child_ns = g_strdup ("http://jabber.org/protocol/disco#info");
  in->iq_node = g_strdup ("urn:x&y");
  g_autoptr(StoxStanza) out = round_trip (in, &wire);

  g_assert_cmpstr (out->iq_child_name, ==, "query");
  g_assert_cmpstr (out->iq_child_ns, ==, "http://jabber.org/protocol/disco#info");
  g_assert_cmpstr (out->iq_node, ==, "urn:x&y");
  g_assert_nonnull (strstr (wire, "node=\"urn:x&amp;y\""));
}

/* XEP-0030 §3.1: the disco#info answer the core describes is written as
 * its <query/>, every text escaped; iq_child_* are not used then. */
static void
test_encode_disco_info (void)
{
  g_autoptr(StoxStanza) in = stox_stanza_new (STOX_STANZA_IQ);
  g_autoptr(GError) error = NULL;
  xmpp_stanza_t *s, *q, *c;
  g_autofree char *wire = NULL;
  const char *want[] = { "urn:xmpp:ping", "jid\\20escaping", "a&b<c>'\"" };
  guint n = 0;

  in->type = g_strdup ("result");
  in->id = g_strdup ("d1");
  in->from = g_strdup ("gw.test");
  in->to = g_strdup ("alice@localhost.test/r");
  in->iq_child_name = g_strdup ("ignored");
  in->disco = stox_disco_new (STOX_DISCO_INFO);
  in->disco->category = g_strdup ("gateway");
  in->disco->type = g_strdup ("simple");
  in->disco->name = g_strdup ("SIP & SIMPLE <gw>");
  for (gsize i = 0; i < G_N_ELEMENTS (want); i++)
    stox_disco_add_feature (in->disco, want[i]);

  s = stox_xmpp_stanza_encode (ctx, in, &error);
  g_assert_no_error (error);
  g_assert_nonnull (s);
  g_assert_null (xmpp_stanza_get_child_by_name (s, "ignored"));
  q = xmpp_stanza_get_child_by_name (s, "query");
  g_assert_nonnull (q);
  g_assert_cmpstr (xmpp_stanza_get_ns (q), ==, STOX_NS_DISCO_INFO);
  c = xmpp_stanza_get_child_by_name (q, "identity");
  g_assert_nonnull (c);
  g_assert_cmpstr (xmpp_stanza_get_attribute (c, "category"), ==, "gateway");
  g_assert_cmpstr (xmpp_stanza_get_attribute (c, "type"), ==, "simple");
  g_assert_cmpstr (xmpp_stanza_get_attribute (c, "name"), ==, "SIP & SIMPLE <gw>");
  for (c = xmpp_stanza_get_children (q); c != NULL; c = xmpp_stanza_get_next (c))
    if (xmpp_stanza_is_tag (c) && strcmp (xmpp_stanza_get_name (c), "feature") == 0)
      {
        g_assert_cmpuint (n, <, G_N_ELEMENTS (want));
        g_assert_cmpstr (xmpp_stanza_get_attribute (c, "var"), ==, want[n]);
        n++;
      }
  g_assert_cmpuint (n, ==, G_N_ELEMENTS (want));

  wire = render (s);
  xmpp_stanza_release (s);
  g_test_message ("wire: %s", wire);
  g_assert_nonnull (strstr (wire, "name=\"SIP &amp; SIMPLE &lt;gw&gt;\""));
  g_assert_nonnull (strstr (wire, "var=\"a&amp;b&lt;c&gt;'&quot;\""));

  /* What a peer reads back. */
  g_autoptr(StoxStanza) out = decode_string (wire);
  g_assert_cmpstr (out->iq_child_name, ==, "query");
  g_assert_cmpstr (out->iq_child_ns, ==, STOX_NS_DISCO_INFO);
}

/* An identity is optional (a name even more so); disco#items is an empty
 * <query/> of its own namespace. */
static void
test_encode_disco_minimal (void)
{
  g_autoptr(StoxStanza) info = stox_stanza_new (STOX_STANZA_IQ);
  g_autoptr(StoxStanza) items = stox_stanza_new (STOX_STANZA_IQ);
  g_autofree char *wire_info = NULL;
  g_autofree char *wire_items = NULL;

  info->type = g_strdup ("result");
  info->to = g_strdup ("a@b");
  info->disco = stox_disco_new (STOX_DISCO_INFO);
  info->disco->category = g_strdup ("client");
  info->disco->type = g_strdup ("phone");
  g_autoptr(StoxStanza) out = round_trip (info, &wire_info);
  g_assert_cmpstr (out->iq_child_ns, ==, STOX_NS_DISCO_INFO);
  g_assert_nonnull (strstr (wire_info, "<identity"));
  g_assert_null (strstr (wire_info, "name="));
  g_assert_null (strstr (wire_info, "<feature"));

  items->type = g_strdup ("result");
  items->to = g_strdup ("a@b");
  items->disco = stox_disco_new (STOX_DISCO_ITEMS);
  stox_disco_add_feature (items->disco, "not written for items");
  g_autoptr(StoxStanza) out2 = round_trip (items, &wire_items);
  g_assert_cmpstr (out2->iq_child_name, ==, "query");
  g_assert_cmpstr (out2->iq_child_ns, ==, STOX_NS_DISCO_ITEMS);
  g_assert_null (strstr (wire_items, "<feature"));
  g_assert_null (strstr (wire_items, "<identity"));
}

/* Text in a disco answer is checked like every other field. */
static void
test_encode_disco_refusals (void)
{
  static const struct
  {
    const char *category, *name, *feature;
  } rows[] = {
    { "gate\x01way", NULL, NULL },
    { "gateway", "\xff", NULL },
    { "gateway", "two\nlines", NULL },   /* an attribute: no line breaks */
    { "gateway", NULL, "urn:\xc0\xbc" },
    { "gateway", NULL, "urn:a\tb" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr(StoxStanza) in = stox_stanza_new (STOX_STANZA_IQ);
      g_autoptr(GError) error = NULL;

      g_test_message ("row %zu", i);
      in->type = g_strdup ("result");
      in->to = g_strdup ("a@b");
      in->disco = stox_disco_new (STOX_DISCO_INFO);
      in->disco->category = g_strdup (rows[i].category);
      in->disco->type = g_strdup ("simple");
      in->disco->name = g_strdup (rows[i].name);
      stox_disco_add_feature (in->disco, "urn:xmpp:ping");
      if (rows[i].feature != NULL)
        stox_disco_add_feature (in->disco, rows[i].feature);
      g_assert_null (stox_xmpp_stanza_encode (ctx, in, &error));
      g_assert_error (error, STOX_XMPP_CONVERT_ERROR, STOX_XMPP_CONVERT_ERROR_INVALID_TEXT);
    }
}

/* RFC 6120 §8.3.1: an error reply may carry the request's child, which
 * comes before <error/>. */
static void
test_encode_iq_error_with_child (void)
{
  g_autoptr(StoxStanza) in = stox_stanza_new (STOX_STANZA_IQ);
  g_autofree char *wire = NULL;

  in->type = g_strdup ("error");
  in->id = g_strdup ("v1");
  in->to = g_strdup ("a@b");
  in->iq_child_name = g_strdup ("query");
  in->iq_child_ns = g_strdup ("jabber:iq:version");
  in->error_condition = g_strdup ("feature-not-implemented");
  g_autoptr(StoxStanza) out = round_trip (in, &wire);

  g_assert_cmpstr (out->iq_child_name, ==, "query");
  g_assert_cmpstr (out->error_condition, ==, "feature-not-implemented");
  g_assert_true (strstr (wire, "<query") < strstr (wire, "<error"));
}

/* XEP-0199 §3: the pong is a result with no child at all. */
static void
test_encode_empty_result (void)
{
  g_autoptr(StoxStanza) in = stox_stanza_new (STOX_STANZA_IQ);
  g_autofree char *wire = NULL;

  in->type = g_strdup ("result");
  in->id = g_strdup ("p1");
  in->to = g_strdup ("a@b");
  g_autoptr(StoxStanza) out = round_trip (in, &wire);
  g_assert_null (out->iq_child_name);
  g_assert_true (g_str_has_suffix (wire, "/>"));
}

static void
test_encode_refusals (void)
{
  static const struct
  {
    const char *field, *value;
    int code;
  } rows[] = {
    { "body", "\xff", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },
    { "body", "abc\xc3", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },           /* truncated */
    { "body", "\xed\xa0\x80", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },      /* surrogate */
    { "body", "\xc0\xbc", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },          /* overlong < */
    { "body", "bell\x07", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },
    { "body", "esc\x1b[0m", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },
    { "body", "\xef\xbf\xbe", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },      /* U+FFFE */
    { "body", "\xef\xbf\xbf", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },      /* U+FFFF */
    { "subject", "\x01", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },
    { "thread", "\xfe", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },
    { "from", "a\x80@gw.test", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },
    { "to", "\x0b@b", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },
    { "id", "\xff", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },
    { "lang", "e\x01n", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },
    { "id", "a\nb", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },     /* attributes: no line breaks */
    { "to", "a@b\t", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },
    { "from", "a@b\r", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },
    { "error_text", "\xff", STOX_XMPP_CONVERT_ERROR_INVALID_TEXT },
    { "error_condition", "not a name", STOX_XMPP_CONVERT_ERROR_INVALID_NAME },
    { "error_condition", "a><b", STOX_XMPP_CONVERT_ERROR_INVALID_NAME },
    { "error_condition", "", STOX_XMPP_CONVERT_ERROR_INVALID_NAME },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr(StoxStanza) in = stox_stanza_new (STOX_STANZA_MESSAGE);
      g_autoptr(GError) error = NULL;
      char **slot = NULL;

      in->to = g_strdup ("a@b");
      in->body = g_strdup ("fine");
      if (strcmp (rows[i].field, "body") == 0) slot = &in->body;
      else if (strcmp (rows[i].field, "subject") == 0) slot = &in->subject;
      else if (strcmp (rows[i].field, "thread") == 0) slot = &in->thread;
      else if (strcmp (rows[i].field, "from") == 0) slot = &in->from;
      else if (strcmp (rows[i].field, "to") == 0) slot = &in->to;
      else if (strcmp (rows[i].field, "id") == 0) slot = &in->id;
      else if (strcmp (rows[i].field, "lang") == 0) slot = &in->lang;
      else if (strcmp (rows[i].field, "error_text") == 0)
        {
          in->error_condition = g_strdup ("bad-request");
          slot = &in->error_text;
        }
      else if (strcmp (rows[i].field, "error_condition") == 0) slot = &in->error_condition;
      if (slot == NULL)
        g_error ("row %zu: unknown field %s", i, rows[i].field);
      g_free (*slot);
      *slot = g_strdup (rows[i].value);

      g_test_message ("row %zu: %s", i, rows[i].field);
      g_assert_null (stox_xmpp_stanza_encode (ctx, in, &error));
      g_assert_error (error, STOX_XMPP_CONVERT_ERROR, rows[i].code);
    }
}

/* The core's size of a stanza (core/stanza-size.c) is what libstrophe
 * writes for it, byte for byte: the core refuses what the XMPP server
 * would not take on that figure ([xmpp] max-stanza-size). */
static void
assert_size_matches (const StoxStanza *st)
{
  g_autoptr(GError) error = NULL;
  xmpp_stanza_t *s = stox_xmpp_stanza_encode (ctx, st, &error);
  g_autofree char *wire = NULL;

  g_assert_no_error (error);
  wire = render (s);
  xmpp_stanza_release (s);
  if (g_test_verbose ())
    g_test_message ("%s", wire);
  g_assert_cmpuint (stox_stanza_encoded_size (st), ==, strlen (wire));
}

static void
test_encoded_size (void)
{
  static const char *const texts[] = {
    NULL, "", "plain", "<&>\"'", "über \xf0\x9f\x98\x80", "a\nb\tc", "&amp;&lt;",
  };
  static const StoxChatState states[] = {
    STOX_CHAT_STATE_NONE, STOX_CHAT_STATE_COMPOSING, STOX_CHAT_STATE_PAUSED,
    STOX_CHAT_STATE_ACTIVE, STOX_CHAT_STATE_INACTIVE, STOX_CHAT_STATE_GONE,
  };
  static const char *const attrs[] = { NULL, "x", "a\"b<c>&d'e" };

  /* Every text field and attribute, alone and together. */
  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    for (gsize a = 0; a < G_N_ELEMENTS (attrs); a++)
      {
        g_autoptr (StoxStanza) m = stox_stanza_new (STOX_STANZA_MESSAGE);
        g_autoptr (StoxStanza) p = stox_stanza_new (STOX_STANZA_PRESENCE);
        g_autoptr (StoxStanza) e = stox_stanza_new (STOX_STANZA_MESSAGE);
        g_autoptr (StoxStanza) bare = stox_stanza_new (STOX_STANZA_MESSAGE);

        m->type = g_strdup (attrs[a]);
        m->id = g_strdup (attrs[a]);
        m->from = g_strdup ("alice@sip.test/x");
        m->to = g_strdup ("bob@xmpp.test");
        m->lang = g_strdup (attrs[a] != NULL ? "de" : NULL);
        m->body = g_strdup (texts[i]);
        m->subject = g_strdup (texts[(i + 1) % G_N_ELEMENTS (texts)]);
        m->thread = g_strdup (texts[(i + 2) % G_N_ELEMENTS (texts)]);
        m->chat_state = states[i % G_N_ELEMENTS (states)];
        assert_size_matches (m);

        p->type = g_strdup (a == 0 ? NULL : "unavailable");
        p->from = g_strdup ("alice@sip.test");
        p->to = g_strdup ("bob@xmpp.test");
        p->lang = g_strdup (a == 1 ? "en" : NULL);
        p->show = g_strdup (texts[i]);
        p->status = g_strdup (texts[(i + 3) % G_N_ELEMENTS (texts)]);
        assert_size_matches (p);
        if (texts[i] != NULL)
          {
            stox_stanza_add_status (p, NULL, texts[i]);
            stox_stanza_add_status (p, "EN", "same language as the stanza's, or not");
            stox_stanza_add_status (p, "fr", texts[i]);
          }
        assert_size_matches (p);

        e->type = g_strdup ("error");
        e->id = g_strdup (attrs[a]);
        e->from = g_strdup ("alice@sip.test");
        e->to = g_strdup ("bob@xmpp.test/r");
        e->error_condition = g_strdup ("recipient-unavailable");
        e->error_type = g_strdup (a == 0 ? NULL : "wait");
        e->error_text = g_strdup (texts[i]);
        assert_size_matches (e);

        bare->to = g_strdup (attrs[a]);   /* no child at all: <message/> */
        assert_size_matches (bare);
      }

  /* IQs: a child element, or a disco answer (info with and without an
   * identity or a name, items). */
  g_autoptr (StoxStanza) iq = stox_stanza_new (STOX_STANZA_IQ);
  iq->type = g_strdup ("get");
  iq->id = g_strdup ("i1");
  iq->to = g_strdup ("sip.test");
  iq->iq_child_name = g_strdup ("query");
  iq->iq_child_ns = g_strdup ("http://jabber.org/protocol/disco#info");
  iq->iq_node = g_strdup ("n<&>");
  assert_size_matches (iq);
  g_clear_pointer (&iq->iq_child_name, g_free);
  g_clear_pointer (&iq->iq_child_ns, g_free);
  g_clear_pointer (&iq->iq_node, g_free);
  g_free (iq->type);
  iq->type = g_strdup ("result");
  iq->disco = stox_disco_new (STOX_DISCO_INFO);
  assert_size_matches (iq);
  iq->disco->category = g_strdup ("gateway");
  iq->disco->type = g_strdup ("simple");
  assert_size_matches (iq);
  iq->disco->name = g_strdup ("a & b <\"c\">");
  stox_disco_add_feature (iq->disco, STOX_NS_DISCO_INFO);
  stox_disco_add_feature (iq->disco, "urn:xmpp:ping");
  assert_size_matches (iq);
  stox_disco_free (iq->disco);
  iq->disco = stox_disco_new (STOX_DISCO_ITEMS);
  assert_size_matches (iq);
}

/* Random messages and presences, reproducible with --seed. */
static void
test_encoded_size_random (void)
{
  static const char *const pieces[] = {
    "a", "<", ">", "&", "\"", "'", " ", "\xc3\xa9", "\xe2\x82\xac", "\n",
  };

  for (guint n = 0; n < 500; n++)
    {
      g_autoptr (StoxStanza) st = stox_stanza_new (g_test_rand_bit () ? STOX_STANZA_MESSAGE
                                                                       : STOX_STANZA_PRESENCE);
      char **fields[] = { &st->body, &st->subject, &st->thread, &st->show, &st->status, &st->id };

      st->from = g_strdup ("a@sip.test");
      st->to = g_strdup ("b@xmpp.test");
      for (gsize f = 0; f < G_N_ELEMENTS (fields); f++)
        if (g_test_rand_bit ())
          {
            GString *t = g_string_new (NULL);
            gint len = g_test_rand_int_range (0, 40);

            for (gint i = 0; i < len; i++)
              g_string_append (t, pieces[g_test_rand_int_range (0, G_N_ELEMENTS (pieces))]);
            if (fields[f] == &st->id)
              g_strdelimit (t->str, "\n", '_');
            *fields[f] = g_string_free (t, FALSE);
          }
      assert_size_matches (st);
    }
}

/* Two elements alike for a parser: name, every attribute, children in
 * order, text. */
static void
assert_same_tree (xmpp_stanza_t *a,
                  xmpp_stanza_t *b)
{
  g_assert_cmpint (xmpp_stanza_is_text (a), ==, xmpp_stanza_is_text (b));
  if (xmpp_stanza_is_text (a))
    {
      g_assert_cmpstr (xmpp_stanza_get_text_ptr (a), ==, xmpp_stanza_get_text_ptr (b));
      return;
    }
  g_assert_cmpstr (xmpp_stanza_get_name (a), ==, xmpp_stanza_get_name (b));

  int n = xmpp_stanza_get_attribute_count (a);
  const char *attrs[32];
  g_assert_cmpint (n, ==, xmpp_stanza_get_attribute_count (b));
  g_assert_cmpint (n, <=, 16);
  xmpp_stanza_get_attributes (a, attrs, 32);
  for (int i = 0; i < n; i++)
    g_assert_cmpstr (attrs[2 * i + 1], ==, xmpp_stanza_get_attribute (b, attrs[2 * i]));

  xmpp_stanza_t *x = xmpp_stanza_get_children (a), *y = xmpp_stanza_get_children (b);
  for (; x != NULL && y != NULL; x = xmpp_stanza_get_next (x), y = xmpp_stanza_get_next (y))
    assert_same_tree (x, y);
  g_assert_true (x == NULL && y == NULL);
}

/* A message or presence written as text (stox_xmpp_stanza_text()) is the
 * element libstrophe renders from the encoder's tree, for random fields:
 * XML specials, quotes, UTF-8, empty and absent fields, chat states,
 * shows, statuses in several languages (the stanza's own written without
 * xml:lang), errors; and the same refusals. */
static void
test_stanza_text_as_encoder (void)
{
  static const char *const pieces[] = {
    "a", "<", ">", "&", "\"", "'", " ", "\xc3\xa9", "\xe2\x82\xac", "\n", "]]>", "&amp;",
  };
  static const char *const conditions[] = { NULL, "service-unavailable", "item-not-found" };
  static const char *const langs[] = { NULL, "en", "EN", "de", "fr-CA" };
  guint kinds[2] = { 0, 0 };

  for (guint n = 0; n < 4000; n++)
    {
      StoxStanzaKind kind = g_test_rand_bit () ? STOX_STANZA_MESSAGE : STOX_STANZA_PRESENCE;
      g_autoptr (StoxStanza) st = stox_stanza_new (kind);
      char **fields[] = { &st->body, &st->subject, &st->thread, &st->id, &st->type, &st->lang,
                          &st->error_text, &st->error_type, &st->from, &st->to, &st->show,
                          &st->status };

      for (gsize f = 0; f < G_N_ELEMENTS (fields); f++)
        if (g_test_rand_bit ())
          {
            GString *t = g_string_new (NULL);
            gint len = g_test_rand_int_range (0, 30);

            for (gint i = 0; i < len; i++)
              g_string_append (t, pieces[g_test_rand_int_range (0, G_N_ELEMENTS (pieces))]);
            /* Attributes with a line break are refused (below), mostly. */
            if (f >= 3 && f <= 9 && f != 6 && g_test_rand_int_range (0, 10) != 0)
              g_strdelimit (t->str, "\n", '_');
            *fields[f] = g_string_free (t, FALSE);
          }
      if (kind == STOX_STANZA_PRESENCE && g_test_rand_bit ())
        for (gint i = g_test_rand_int_range (0, 4); i > 0; i--)
          stox_stanza_add_status (st, langs[g_test_rand_int_range (0, G_N_ELEMENTS (langs))],
                                  g_test_rand_bit () ? "" : "away <&> \xc3\xa9");
      st->chat_state = (StoxChatState) g_test_rand_int_range (STOX_CHAT_STATE_NONE,
                                                             STOX_CHAT_STATE_GONE + 1);
      st->error_condition = g_strdup (conditions[g_test_rand_int_range (0, 3)]);

      g_autoptr (GError) by_text = NULL;
      g_autoptr (GError) by_tree = NULL;
      gsize len = 0;
      g_autofree char *text = stox_xmpp_stanza_text (st, &len, &by_text);
      xmpp_stanza_t *tree = stox_xmpp_stanza_encode (ctx, st, &by_tree);

      if (tree == NULL)
        {
          g_assert_null (text);
          g_assert_error (by_text, by_tree->domain, by_tree->code);
          g_assert_cmpstr (by_text->message, ==, by_tree->message);
          continue;
        }
      g_assert_no_error (by_text);
      g_assert_cmpuint (len, ==, strlen (text));

      g_autofree char *rendered = render (tree);
      xmpp_stanza_t *ours = parse (text);
      xmpp_stanza_t *theirs = parse (rendered);

      assert_same_tree (ours, theirs);
      /* The same bytes but for the order of the attributes. */
      g_assert_cmpuint (len, ==, strlen (rendered));
      xmpp_stanza_release (ours);
      xmpp_stanza_release (theirs);
      xmpp_stanza_release (tree);
      kinds[kind == STOX_STANZA_MESSAGE]++;
    }
  /* Both kinds compared, not only refused. */
  g_assert_cmpuint (kinds[0], >, 500);
  g_assert_cmpuint (kinds[1], >, 500);

  g_autoptr (StoxStanza) iq = stox_stanza_new (STOX_STANZA_IQ);
  g_autoptr (GError) error = NULL;
  gsize len;
  g_assert_null (stox_xmpp_stanza_text (iq, &len, &error));
  g_assert_error (error, STOX_XMPP_CONVERT_ERROR, STOX_XMPP_CONVERT_ERROR_UNKNOWN_STANZA);
}

/* A presence too large loses its statuses and nothing else. */
static void
test_fit_presence (void)
{
  g_autoptr (StoxStanza) p = stox_stanza_new (STOX_STANZA_PRESENCE);
  g_autofree char *big = g_strnfill (20000, '<');

  p->from = g_strdup ("alice@sip.test");
  p->to = g_strdup ("bob@xmpp.test");
  p->show = g_strdup ("away");
  stox_stanza_add_status (p, "en", big);
  g_assert_false (stox_stanza_encoded_size (p) <= 70000);
  g_assert_true (stox_stanza_fit_presence (p, 70000));
  g_assert_true (p->statuses == NULL && p->status == NULL);
  g_assert_cmpstr (p->show, ==, "away");
  assert_size_matches (p);
}

static void
test_text_is_valid (void)
{
  static const struct { const char *text; gboolean valid; } rows[] = {
    { "", TRUE }, { "plain", TRUE }, { "\t\n\r", TRUE }, { "😀", TRUE },
    { "\xef\xbf\xbd", TRUE }, { "\xee\x80\x80", TRUE },       /* U+FFFD, U+E000 */
    { "\xf4\x8f\xbf\xbf", TRUE },                             /* U+10FFFF */
    { "\x7f", TRUE },                                         /* DEL is a Char */
    { "\x01", FALSE }, { "\x1f", FALSE }, { "a\x0c", FALSE },
    { "\xef\xbf\xbe", FALSE }, { "\xef\xbf\xbf", FALSE },
    { "\xed\xbf\xbf", FALSE }, { "\xf4\x90\x80\x80", FALSE }, /* surrogate, > U+10FFFF */
    { "\xff", FALSE }, { "\xc3", FALSE },
  };

  g_assert_true (stox_xmpp_text_is_valid (NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_test_message ("row %zu", i);
      g_assert_cmpint (stox_xmpp_text_is_valid (rows[i].text), ==, rows[i].valid);
    }
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  xmpp_initialize ();
  ctx = xmpp_ctx_new (NULL, NULL);

  g_test_add_func ("/xmpp/convert/encoded-size", test_encoded_size);
  g_test_add_func ("/xmpp/convert/encoded-size-random", test_encoded_size_random);
  g_test_add_func ("/xmpp/convert/stanza-text-as-encoder", test_stanza_text_as_encoder);
  g_test_add_func ("/xmpp/convert/fit-presence", test_fit_presence);
  g_test_add_func ("/xmpp/convert/decode/message", test_decode_message);
  g_test_add_func ("/xmpp/convert/decode/absent-fields", test_decode_absent_fields);
  g_test_add_func ("/xmpp/convert/decode/empty-body", test_decode_empty_body);
  g_test_add_func ("/xmpp/convert/decode/body-lang", test_decode_body_lang);
  g_test_add_func ("/xmpp/convert/decode/error", test_decode_error);
  g_test_add_func ("/xmpp/convert/decode/error-text-first", test_decode_error_text_first);
  g_test_add_func ("/xmpp/convert/decode/error-without-condition", test_decode_error_without_condition);
  g_test_add_func ("/xmpp/convert/decode/chat-states", test_decode_chat_states);
  g_test_add_func ("/xmpp/convert/decode/iq-child", test_decode_iq_child);
  g_test_add_func ("/xmpp/convert/decode/presence", test_decode_presence);
  g_test_add_func ("/xmpp/convert/decode/presence-statuses", test_decode_presence_statuses);
  g_test_add_func ("/xmpp/convert/decode/presence-statuses-bound",
                   test_decode_presence_statuses_bound);
  g_test_add_func ("/xmpp/convert/decode/unknown", test_decode_unknown);
  g_test_add_func ("/xmpp/convert/encode/message", test_encode_message);
  g_test_add_func ("/xmpp/convert/encode/chat-states", test_encode_chat_states);
  g_test_add_func ("/xmpp/convert/encode/escaping", test_encode_escaping);
  g_test_add_func ("/xmpp/convert/encode/escaping-wire", test_encode_escaping_wire);
  g_test_add_func ("/xmpp/convert/encode/error", test_encode_error);
  g_test_add_func ("/xmpp/convert/encode/presence", test_encode_presence);
  g_test_add_func ("/xmpp/convert/encode/presence-statuses", test_encode_presence_statuses);
  g_test_add_func ("/xmpp/convert/encode/iq-child", test_encode_iq_child);
  g_test_add_func ("/xmpp/convert/encode/disco-info", test_encode_disco_info);
  g_test_add_func ("/xmpp/convert/encode/disco-minimal", test_encode_disco_minimal);
  g_test_add_func ("/xmpp/convert/encode/disco-refusals", test_encode_disco_refusals);
  g_test_add_func ("/xmpp/convert/encode/iq-error-with-child", test_encode_iq_error_with_child);
  g_test_add_func ("/xmpp/convert/encode/empty-result", test_encode_empty_result);
  g_test_add_func ("/xmpp/convert/encode/refusals", test_encode_refusals);
  g_test_add_func ("/xmpp/convert/text-is-valid", test_text_is_valid);

  ret = g_test_run ();
  xmpp_ctx_free (ctx);
  xmpp_shutdown ();
  return ret;
}
