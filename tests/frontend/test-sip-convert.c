/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sip_t → StoxSipRequest, on messages parsed from text by Sofia's own
 * parser (no stack, no socket).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "sip/convert.h"

/* Parses `text` (CRLF line ends written as \n here) and converts it. */
static StoxSipRequest *
convert_text (const char *text,
              gsize       body_len,
              const char *body)
{
  g_autoptr (GString) wire = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '\n')
        g_string_append (wire, "\r\n");
      else
        g_string_append_c (wire, *p);
    }
  if (body != NULL)
    g_string_append_len (wire, body, (gssize) body_len);

  msg_t *msg = msg_make (sip_default_mclass (), 0, wire->str, (ssize_t) wire->len);
  g_assert_nonnull (msg);
  sip_t const *sip = sip_object (msg);
  g_assert_nonnull (sip);

  StoxSipRequest *req = stox_sip_convert_request (sip);
  msg_destroy (msg);
  return req;
}

static void
test_convert_message_full (void)
{
  static const char body[] = "Hallo \0 Welt \xc3\xa4\xe2\x82\xac\n<&>";
  gsize body_len = sizeof body - 1;
  g_autofree char *text = g_strdup_printf (
      "MESSAGE sip:alice@xmpp.example;transport=udp SIP/2.0\n"
      "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776asdhds\n"
      "Max-Forwards: 70\n"
      "From: \"Bob \\\"B\\\" Smith\" <sip:bob@sip.example;user=phone>;tag=49583\n"
      "To: Alice <sip:alice@xmpp.example>\n"
      "Call-ID: asd88asd77a@1.2.3.4\n"
      "CSeq: 1 MESSAGE\n"
      "Content-Type: Text/PLAIN ; Charset=\"UTF-8\" ; Format=flowed\n"
      "Content-Language: de, en\n"
      "Subject: Gr\xc3\xbc\xc3\x9f" "e\n"
      "Content-Length: %zu\n"
      "\n",
      body_len);
  g_autoptr (StoxSipRequest) req = convert_text (text, body_len, body);

  g_assert_nonnull (req);
  g_assert_cmpint (req->method, ==, STOX_SIP_METHOD_MESSAGE);
  g_assert_cmpstr (req->method_name, ==, "MESSAGE");
  g_assert_cmpstr (req->request_uri, ==, "sip:alice@xmpp.example;transport=udp");
  g_assert_cmpstr (req->from_uri, ==, "sip:bob@sip.example;user=phone");
  g_assert_cmpstr (req->to_uri, ==, "sip:alice@xmpp.example");
  g_assert_cmpstr (req->call_id, ==, "asd88asd77a@1.2.3.4");
  g_assert_cmpstr (req->content_type, ==, "text/plain");
  g_assert_cmpstr (req->charset, ==, "UTF-8");
  g_assert_cmpstr (req->content_language, ==, "de");
  g_assert_cmpstr (req->subject, ==, "Gr\xc3\xbc\xc3\x9f" "e");
  g_assert_null (req->event);
  g_assert_cmpint (req->expires, ==, -1);
  g_assert_null (req->source);
  g_assert_cmpuint (req->token, ==, 0);
  g_assert_nonnull (req->body);

  gsize len = 0;
  const char *data = g_bytes_get_data (req->body, &len);
  g_assert_cmpmem (data, len, body, body_len);
}

static void
test_convert_absent_headers (void)
{
  g_autoptr (StoxSipRequest) req = convert_text (
      "OPTIONS sip:gw.example SIP/2.0\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\n"
      "From: <sip:probe@192.0.2.1>;tag=1\n"
      "To: <sip:gw.example>\n"
      "Call-ID: c1\n"
      "CSeq: 7 OPTIONS\n"
      "Content-Length: 0\n"
      "\n", 0, NULL);

  g_assert_nonnull (req);
  g_assert_cmpint (req->method, ==, STOX_SIP_METHOD_OPTIONS);
  g_assert_cmpstr (req->request_uri, ==, "sip:gw.example");
  g_assert_cmpstr (req->from_uri, ==, "sip:probe@192.0.2.1");
  g_assert_cmpstr (req->to_uri, ==, "sip:gw.example");
  g_assert_null (req->content_type);
  g_assert_null (req->charset);
  g_assert_null (req->content_language);
  g_assert_null (req->subject);
  g_assert_null (req->event);
  g_assert_null (req->body);
  g_assert_cmpint (req->expires, ==, -1);
  g_assert_null (req->asserted_uri);
}

/* Compact header forms (RFC 3261 §7.3.3) and a display name without
 * quotes. */
static void
test_convert_compact_forms (void)
{
  g_autoptr (StoxSipRequest) req = convert_text (
      "MESSAGE sips:carol@xmpp.example SIP/2.0\n"
      "v: SIP/2.0/TLS 192.0.2.1;branch=z9hG4bK2\n"
      "f: Bob Smith <sips:bob@sip.example>;tag=x\n"
      "t: sips:carol@xmpp.example\n"
      "i: compact-1\n"
      "CSeq: 2 MESSAGE\n"
      "c: text/plain\n"
      "s: hello\n"
      "l: 2\n"
      "\n", 2, "hi");

  g_assert_nonnull (req);
  g_assert_cmpstr (req->request_uri, ==, "sips:carol@xmpp.example");
  g_assert_cmpstr (req->from_uri, ==, "sips:bob@sip.example");
  g_assert_cmpstr (req->to_uri, ==, "sips:carol@xmpp.example");
  g_assert_cmpstr (req->call_id, ==, "compact-1");
  g_assert_cmpstr (req->content_type, ==, "text/plain");
  g_assert_null (req->charset);
  g_assert_cmpstr (req->subject, ==, "hello");
  g_assert_nonnull (req->body);
  g_assert_cmpuint (g_bytes_get_size (req->body), ==, 2);
}

/* P-Asserted-Identity (RFC 3325 §9.1): the sip:/sips: identity, whatever
 * the order, a tel: one beside it, a display name, several headers or one
 * with two values.  Parsed by the default parser (an unknown header there)
 * and by one extended with Sofia's extra headers alike. */
static StoxSipRequest *
convert_with_pai (msg_mclass_t const *mclass, const char *pai_lines)
{
  g_autofree char *text = g_strdup_printf (
      "MESSAGE sip:juliet@xmpp.example SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3\r\n"
      "From: \"Anonymous\" <sip:anonymous@anonymous.invalid>;tag=a\r\n"
      "To: <sip:juliet@xmpp.example>\r\n"
      "Call-ID: pai-1\r\n"
      "CSeq: 1 MESSAGE\r\n"
      "%s"
      "Content-Length: 0\r\n"
      "\r\n", pai_lines);
  msg_t *msg = msg_make (mclass, 0, text, (ssize_t) strlen (text));
  g_assert_nonnull (msg);
  StoxSipRequest *req = stox_sip_convert_request (sip_object (msg));
  msg_destroy (msg);
  return req;
}

static void
test_convert_asserted_identity (void)
{
  static const struct { const char *lines, *want; } rows[] = {
    { "P-Asserted-Identity: <sip:romeo@sip.example>\r\n", "sip:romeo@sip.example" },
    { "P-Asserted-Identity: \"Romeo\" <sip:romeo@sip.example;user=phone>\r\n",
      "sip:romeo@sip.example;user=phone" },
    { "p-asserted-identity: <sips:romeo@sip.example>\r\n", "sips:romeo@sip.example" },
    { "P-Asserted-Identity: <tel:+15551234>, <sip:romeo@sip.example>\r\n",
      "sip:romeo@sip.example" },
    { "P-Asserted-Identity: <tel:+15551234>\r\n"
      "P-Asserted-Identity: <sip:romeo@sip.example>\r\n", "sip:romeo@sip.example" },
    { "P-Asserted-Identity: <tel:+15551234>\r\n", NULL },
    { "P-Preferred-Identity: <sip:boss@sip.example>\r\n", NULL },
    { "P-Asserted-Identity: not a uri <\r\n", NULL },
    { "", NULL },
  };
  g_autoptr (GPtrArray) classes = g_ptr_array_new ();
  msg_mclass_t *extended = sip_extend_mclass (NULL);

  g_ptr_array_add (classes, (gpointer) sip_default_mclass ());
  if (extended != NULL)
    g_ptr_array_add (classes, extended);
  for (guint c = 0; c < classes->len; c++)
    for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
      {
        g_autoptr (StoxSipRequest) req = convert_with_pai (classes->pdata[c], rows[i].lines);

        g_test_message ("parser %u, row %zu", c, i);
        g_assert_nonnull (req);
        g_assert_cmpstr (req->from_uri, ==, "sip:anonymous@anonymous.invalid");
        g_assert_cmpstr (req->asserted_uri, ==, rows[i].want);
      }
  g_assert_cmpuint (classes->len, ==, 2);
  /* a malloc()ed clone of the default class (msg_mclass_clone()) */
  free (extended);
}

static void
test_convert_subscribe (void)
{
  g_autoptr (StoxSipRequest) req = convert_text (
      "SUBSCRIBE sip:alice@xmpp.example SIP/2.0\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3\n"
      "From: <sip:bob@sip.example>;tag=a\n"
      "To: <sip:alice@xmpp.example>\n"
      "Call-ID: s1\n"
      "CSeq: 1 SUBSCRIBE\n"
      "Contact: <sip:bob@192.0.2.1>\n"
      "Event: presence;id=7\n"
      "Expires: 600\n"
      "Accept: application/pidf+xml\n"
      "Content-Length: 0\n"
      "\n", 0, NULL);

  g_assert_nonnull (req);
  g_assert_cmpint (req->method, ==, STOX_SIP_METHOD_SUBSCRIBE);
  g_assert_cmpstr (req->event, ==, "presence");
  g_assert_cmpint (req->expires, ==, 600);

  g_autoptr (StoxSipRequest) zero = convert_text (
      "SUBSCRIBE sip:alice@xmpp.example SIP/2.0\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK4\n"
      "From: <sip:bob@sip.example>;tag=a\n"
      "To: <sip:alice@xmpp.example>;tag=b\n"
      "Call-ID: s1\n"
      "CSeq: 2 SUBSCRIBE\n"
      "Event: presence\n"
      "Expires: 0\n"
      "\n", 0, NULL);
  g_assert_cmpint (zero->expires, ==, 0);
}

/* SUBSCRIBE: Event type without parameters, Accept joined, Expires. */
static void
test_convert_subscribe_headers (void)
{
  g_autoptr (StoxSipRequest) req = convert_text (
      "SUBSCRIBE sip:alice@xmpp.example SIP/2.0\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK31\n"
      "From: <sip:bob@sip.example>;tag=a\n"
      "To: <sip:alice@xmpp.example>\n"
      "Call-ID: s31\n"
      "CSeq: 1 SUBSCRIBE\n"
      "Contact: <sip:bob@192.0.2.1>\n"
      "Event: presence.winfo ; id=77 ; x=y\n"
      "Expires: 3600\n"
      "Accept: application/pidf+xml, application/xpidf+xml;q=0.5\n"
      "Accept: multipart/related\n"
      "Content-Length: 0\n"
      "\n", 0, NULL);

  g_assert_nonnull (req);
  g_assert_cmpstr (req->event, ==, "presence.winfo");
  g_assert_cmpint (req->expires, ==, 3600);
  g_assert_cmpstr (req->accept, ==,
                   "application/pidf+xml, application/xpidf+xml;q=0.5, multipart/related");
  g_assert_cmpuint (req->dialog, ==, 0);
  /* Not a NOTIFY: no subscription state. */
  g_assert_null (req->substate);
  g_assert_null (req->substate_reason);
  g_assert_cmpint (req->substate_expires, ==, -1);
  g_assert_cmpint (req->substate_retry_after, ==, -1);

  /* Compact Event (o), no Accept, no Expires. */
  g_autoptr (StoxSipRequest) bare = convert_text (
      "SUBSCRIBE sip:alice@xmpp.example SIP/2.0\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK32\n"
      "From: <sip:bob@sip.example>;tag=a\n"
      "To: <sip:alice@xmpp.example>\n"
      "Call-ID: s32\n"
      "CSeq: 1 SUBSCRIBE\n"
      "o: presence\n"
      "\n", 0, NULL);
  g_assert_cmpstr (bare->event, ==, "presence");
  g_assert_null (bare->accept);
  g_assert_cmpint (bare->expires, ==, -1);

  /* An Accept without values: the peer takes no body at all. */
  g_autoptr (StoxSipRequest) none = convert_text (
      "SUBSCRIBE sip:alice@xmpp.example SIP/2.0\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK33\n"
      "From: <sip:bob@sip.example>;tag=a\n"
      "To: <sip:alice@xmpp.example>\n"
      "Call-ID: s33\n"
      "CSeq: 1 SUBSCRIBE\n"
      "Event: presence\n"
      "Accept: \n"
      "\n", 0, NULL);
  g_assert_cmpstr (none->accept, ==, "");
}

/* NOTIFY: Subscription-State value, reason, expires, retry-after. */
static void
test_convert_notify_substate (void)
{
  static const struct
  {
    const char *header;       /* NULL: no Subscription-State */
    const char *substate;
    const char *reason;
    gint64      expires;
    gint64      retry_after;
  } rows[] = {
    { "active;expires=120", "active", NULL, 120, -1 },
    { "pending ; expires=600", "pending", NULL, 600, -1 },
    { "ACTIVE;Expires=0", "active", NULL, 0, -1 },
    { "terminated;reason=timeout", "terminated", "timeout", -1, -1 },
    { "terminated;reason=Probation;retry-after=30", "terminated", "probation", -1, 30 },
    { "terminated;reason=noresource;expires=5", "terminated", "noresource", 5, -1 },
    { "active;expires=soon", "active", NULL, -1, -1 },
    { "active;expires=-3", "active", NULL, -1, -1 },
    { "active;expires=99999999999", "active", NULL, -1, -1 },
    { "x-future;expires=7", "x-future", NULL, 7, -1 },
    { NULL, NULL, NULL, -1, -1 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *ss = rows[i].header != NULL
                            ? g_strdup_printf ("Subscription-State: %s\n", rows[i].header)
                            : g_strdup ("");
      g_autofree char *text = g_strdup_printf (
          "NOTIFY sip:gw@192.0.2.9 SIP/2.0\n"
          "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK4%zu\n"
          "From: <sip:bob@sip.example>;tag=n\n"
          "To: <sip:alice@xmpp.example>;tag=g\n"
          "Call-ID: n%zu\n"
          "CSeq: 5 NOTIFY\n"
          "Event: presence\n"
          "%s"
          "Content-Type: application/pidf+xml\n"
          "Content-Length: 4\n"
          "\n", i, i, ss);
      g_autoptr (StoxSipRequest) req = convert_text (text, 4, "<x/>");

      g_test_message ("row %zu: %s", i, rows[i].header != NULL ? rows[i].header : "(none)");
      g_assert_nonnull (req);
      g_assert_cmpint (req->method, ==, STOX_SIP_METHOD_NOTIFY);
      g_assert_cmpstr (req->event, ==, "presence");
      g_assert_cmpstr (req->substate, ==, rows[i].substate);
      g_assert_cmpstr (req->substate_reason, ==, rows[i].reason);
      g_assert_cmpint (req->substate_expires, ==, rows[i].expires);
      g_assert_cmpint (req->substate_retry_after, ==, rows[i].retry_after);
      g_assert_cmpstr (req->content_type, ==, "application/pidf+xml");
      g_assert_cmpuint (g_bytes_get_size (req->body), ==, 4);
      g_assert_cmpint (req->expires, ==, -1);
    }
}

static gboolean
convert_response_text (const char      *text,
                       StoxSipResponse *resp)
{
  g_autoptr (GString) wire = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '\n')
        g_string_append (wire, "\r\n");
      else
        g_string_append_c (wire, *p);
    }
  msg_t *msg = msg_make (sip_default_mclass (), 0, wire->str, (ssize_t) wire->len);
  g_assert_nonnull (msg);
  gboolean ok = stox_sip_convert_response (sip_object (msg), resp);
  msg_destroy (msg);
  return ok;
}

/* Expires of a 2xx (to SUBSCRIBE), Min-Expires of a 423. */
static void
test_convert_response (void)
{
  static const struct
  {
    const char *status_line;
    const char *extra;
    guint       status;
    const char *phrase;
    gint64      expires;
    gint64      min_expires;
  } rows[] = {
    { "SIP/2.0 200 OK", "Expires: 120\n", 200, "OK", 120, -1 },
    { "SIP/2.0 202 Accepted", "Expires: 0\n", 202, "Accepted", 0, -1 },
    { "SIP/2.0 200 OK", "", 200, "OK", -1, -1 },
    { "SIP/2.0 423 Interval Too Brief", "Min-Expires: 900\n", 423, "Interval Too Brief", -1, 900 },
    { "SIP/2.0 423 Interval Too Brief", "", 423, "Interval Too Brief", -1, -1 },
    /* Expires in a failure means nothing to a subscriber. */
    { "SIP/2.0 481 Subscription Does Not Exist", "Expires: 60\n", 481,
      "Subscription Does Not Exist", -1, -1 },
    { "SIP/2.0 489 Bad Event", "Allow-Events: presence\n", 489, "Bad Event", -1, -1 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *text = g_strdup_printf (
          "%s\n"
          "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK5%zu\n"
          "From: <sip:alice@xmpp.example>;tag=g\n"
          "To: <sip:bob@sip.example>;tag=n\n"
          "Call-ID: r%zu\n"
          "CSeq: 2 SUBSCRIBE\n"
          "%s"
          "Content-Length: 0\n"
          "\n", rows[i].status_line, i, i, rows[i].extra);
      StoxSipResponse resp = { .token = 42 };

      g_test_message ("row %zu: %s", i, rows[i].status_line);
      g_assert_true (convert_response_text (text, &resp));
      g_assert_cmpuint (resp.token, ==, 42);
      g_assert_cmpuint (resp.status, ==, rows[i].status);
      g_assert_cmpstr (resp.phrase, ==, rows[i].phrase);
      g_assert_cmpint (resp.expires, ==, rows[i].expires);
      g_assert_cmpint (resp.min_expires, ==, rows[i].min_expires);
      g_free (resp.phrase);
    }

  /* A request is not a response. */
  StoxSipResponse resp = { 0 };
  g_assert_false (convert_response_text (
      "OPTIONS sip:gw.example SIP/2.0\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK59\n"
      "From: <sip:probe@192.0.2.1>;tag=1\n"
      "To: <sip:gw.example>\n"
      "Call-ID: r9\n"
      "CSeq: 7 OPTIONS\n"
      "\n", &resp));
  g_assert_false (stox_sip_convert_response (NULL, &resp));
  g_assert_null (resp.phrase);
}

static void
test_convert_methods (void)
{
  static const struct
  {
    const char *name;
    StoxSipMethod method;
  } rows[] = {
    { "MESSAGE", STOX_SIP_METHOD_MESSAGE },
    { "OPTIONS", STOX_SIP_METHOD_OPTIONS },
    { "SUBSCRIBE", STOX_SIP_METHOD_SUBSCRIBE },
    { "NOTIFY", STOX_SIP_METHOD_NOTIFY },
    { "PUBLISH", STOX_SIP_METHOD_PUBLISH },
    { "INVITE", STOX_SIP_METHOD_OTHER },
    { "REGISTER", STOX_SIP_METHOD_OTHER },
    { "FOOBAR", STOX_SIP_METHOD_OTHER },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *text = g_strdup_printf (
          "%s sip:x@gw.example SIP/2.0\n"
          "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK5\n"
          "From: <sip:y@sip.example>;tag=1\n"
          "To: <sip:x@gw.example>\n"
          "Call-ID: m%zu\n"
          "CSeq: 1 %s\n"
          "\n", rows[i].name, i, rows[i].name);
      g_autoptr (StoxSipRequest) req = convert_text (text, 0, NULL);

      g_test_message ("row %zu: %s", i, rows[i].name);
      g_assert_nonnull (req);
      g_assert_cmpint (req->method, ==, rows[i].method);
      g_assert_cmpstr (req->method_name, ==, rows[i].name);
    }
}

static void
test_convert_content_type_table (void)
{
  static const struct
  {
    const char *header;
    const char *type;
    const char *charset;
  } rows[] = {
    { "text/plain", "text/plain", NULL },
    { "text/plain;charset=utf-8", "text/plain", "utf-8" },
    { "TEXT/Plain; CHARSET=ISO-8859-1", "text/plain", "ISO-8859-1" },
    { "text/plain; format=flowed; charset=\"us-ascii\"", "text/plain", "us-ascii" },
    { "Message/CPIM", "message/cpim", NULL },
    { "application/im-iscomposing+xml", "application/im-iscomposing+xml", NULL },
    { "text/html;charset=\"\"", "text/html", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *text = g_strdup_printf (
          "MESSAGE sip:x@gw.example SIP/2.0\n"
          "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK6\n"
          "From: <sip:y@sip.example>;tag=1\n"
          "To: <sip:x@gw.example>\n"
          "Call-ID: ct%zu\n"
          "CSeq: 1 MESSAGE\n"
          "Content-Type: %s\n"
          "Content-Length: 1\n"
          "\n", i, rows[i].header);
      g_autoptr (StoxSipRequest) req = convert_text (text, 1, "x");

      g_test_message ("row %zu: %s", i, rows[i].header);
      g_assert_nonnull (req);
      g_assert_cmpstr (req->content_type, ==, rows[i].type);
      g_assert_cmpstr (req->charset, ==, rows[i].charset);
    }
}

/* Header bytes that are not UTF-8 must not reach the core as such. */
static void
test_convert_invalid_utf8 (void)
{
  g_autoptr (StoxSipRequest) req = convert_text (
      "MESSAGE sip:x@gw.example SIP/2.0\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK7\n"
      "From: <sip:y@sip.example>;tag=1\n"
      "To: <sip:x@gw.example>\n"
      "Call-ID: u1\n"
      "CSeq: 1 MESSAGE\n"
      "Subject: caf\xe9 \xff\n"
      "\n", 0, NULL);

  g_assert_nonnull (req);
  g_assert_nonnull (req->subject);
  g_assert_true (g_utf8_validate (req->subject, -1, NULL));
  g_assert_true (g_str_has_prefix (req->subject, "caf"));
}

static void
test_convert_not_a_request (void)
{
  const char text[] =
      "SIP/2.0 200 OK\r\n"
      "Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK8\r\n"
      "From: <sip:y@sip.example>;tag=1\r\n"
      "To: <sip:x@gw.example>;tag=2\r\n"
      "Call-ID: r1\r\n"
      "CSeq: 1 MESSAGE\r\n"
      "Content-Length: 0\r\n"
      "\r\n";
  msg_t *msg = msg_make (sip_default_mclass (), 0, text, (ssize_t) strlen (text));

  g_assert_nonnull (msg);
  g_assert_null (stox_sip_convert_request (sip_object (msg)));
  g_assert_null (stox_sip_convert_request (NULL));
  msg_destroy (msg);
}

static void
test_convert_address (void)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons (5060) };
  struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6, .sin6_port = htons (5060) };
  struct sockaddr_un sun = { .sun_family = AF_UNIX };
  char *text;

  g_assert_cmpint (inet_pton (AF_INET, "192.0.2.7", &sin.sin_addr), ==, 1);
  text = stox_sip_convert_address ((struct sockaddr *) &sin, sizeof sin);
  g_assert_cmpstr (text, ==, "192.0.2.7");
  g_free (text);

  g_assert_cmpint (inet_pton (AF_INET6, "2001:db8::1", &sin6.sin6_addr), ==, 1);
  text = stox_sip_convert_address ((struct sockaddr *) &sin6, sizeof sin6);
  g_assert_cmpstr (text, ==, "2001:db8::1");
  g_free (text);

  sin6.sin6_addr = in6addr_loopback;
  text = stox_sip_convert_address ((struct sockaddr *) &sin6, sizeof sin6);
  g_assert_cmpstr (text, ==, "::1");
  g_free (text);

  g_assert_cmpint (inet_pton (AF_INET6, "::ffff:127.0.0.1", &sin6.sin6_addr), ==, 1);
  text = stox_sip_convert_address ((struct sockaddr *) &sin6, sizeof sin6);
  g_assert_cmpstr (text, ==, "127.0.0.1");
  g_free (text);

  g_assert_null (stox_sip_convert_address ((struct sockaddr *) &sun, sizeof sun));
  g_assert_null (stox_sip_convert_address ((struct sockaddr *) &sin, 2));
  g_assert_null (stox_sip_convert_address (NULL, 0));
}

static void
test_convert_warning (void)
{
  static const struct
  {
    const char *agent, *text, *expect;
  } rows[] = {
    { "gw.example:5060", "no route", "399 gw.example:5060 \"no route\"" },
    { "[::1]:5060", "say \"hi\"", "399 [::1]:5060 \"say \\\"hi\\\"\"" },
    { "gw", "back\\slash", "399 gw \"back\\\\slash\"" },
    { "gw", "line\r\nInjected: yes", "399 gw \"line  Injected: yes\"" },
    { "gw", "caf\xc3\xa9", "399 gw \"caf\xc3\xa9\"" },
    { NULL, "", "399 stox \"\"" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *got = stox_sip_convert_warning (rows[i].agent, rows[i].text);

      g_test_message ("row %zu: %s", i, got);
      g_assert_cmpstr (got, ==, rows[i].expect);
    }
}

/* host:port for logs and STATUS: the scheme's default port when none is
 * written (RFC 3261 §19.1.2). */
static void
test_convert_hostport (void)
{
  static const char *const rows[][2] = {
    { "sip:127.0.0.1:5070", "127.0.0.1:5070" },
    { "sip:127.0.0.1", "127.0.0.1:5060" },
    { "sips:gw.example", "gw.example:5061" },
    { "sip:[::1]:0;transport=tcp", "[::1]:0" },
    { "sip:*:5060", "*:5060" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *text = stox_sip_convert_hostport (rows[i][0]);

      g_assert_cmpstr (text, ==, rows[i][1]);
    }
}

/* A body with NULs goes whole into the payload header; none leaves it
 * empty. */
static void
test_convert_payload (void)
{
  static const char body[] = "a\0b";
  g_autoptr (GBytes) bytes = g_bytes_new_static (body, sizeof body - 1);
  sip_payload_t pl[1];

  g_assert_true (stox_sip_convert_payload (pl, bytes) == pl);
  g_assert_cmpmem (pl->pl_data, pl->pl_len, body, sizeof body - 1);
  stox_sip_convert_payload (pl, NULL);
  g_assert_cmpuint (pl->pl_len, ==, 0);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/sip/convert/message-full", test_convert_message_full);
  g_test_add_func ("/sip/convert/absent-headers", test_convert_absent_headers);
  g_test_add_func ("/sip/convert/compact-forms", test_convert_compact_forms);
  g_test_add_func ("/sip/convert/asserted-identity", test_convert_asserted_identity);
  g_test_add_func ("/sip/convert/subscribe", test_convert_subscribe);
  g_test_add_func ("/sip/convert/subscribe-headers", test_convert_subscribe_headers);
  g_test_add_func ("/sip/convert/notify-substate", test_convert_notify_substate);
  g_test_add_func ("/sip/convert/response", test_convert_response);
  g_test_add_func ("/sip/convert/methods", test_convert_methods);
  g_test_add_func ("/sip/convert/content-type", test_convert_content_type_table);
  g_test_add_func ("/sip/convert/invalid-utf8", test_convert_invalid_utf8);
  g_test_add_func ("/sip/convert/not-a-request", test_convert_not_a_request);
  g_test_add_func ("/sip/convert/address", test_convert_address);
  g_test_add_func ("/sip/convert/warning", test_convert_warning);
  g_test_add_func ("/sip/convert/hostport", test_convert_hostport);
  g_test_add_func ("/sip/convert/payload", test_convert_payload);

  return g_test_run ();
}
