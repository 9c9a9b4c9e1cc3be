/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The size of the MESSAGE the SIP front end writes (sip/message-size.h),
 * held against [sip] max-message-size (RFC 3428 §8): an upper bound of
 * hand-written requests as Sofia-SIP writes them, every part counted
 * once.  tests/integration/test-sip-endpoint holds it to the wire
 * and checks the refusal.
 */
#include "config.h"

#include <string.h>

#include "core/iscomposing.h"
#include "sip/message-size.h"

#define UA "stox/0.1.0"

/* The estimate for these fields and a body of `body_len` bytes. */
static gsize
size_of (const char *ruri,
         const char *from,
         const char *to,
         const char *call_id,
         const char *ctype,
         const char *lang,
         const char *subject,
         gsize       body_len)
{
  g_autofree char *body = g_malloc0 (body_len + 1);
  StoxSipOutMessage m = {
    .request_uri = (char *) ruri, .from_uri = (char *) from, .to_uri = (char *) to,
    .call_id = (char *) call_id, .content_type = (char *) ctype,
    .content_language = (char *) lang, .subject = (char *) subject,
  };
  gsize n;

  m.body = g_bytes_new_static (body, body_len);
  n = stox_sip_message_size (&m, UA, NULL);
  g_bytes_unref (m.body);
  return n;
}

static void
test_hand_written (void)
{
  static const struct
  {
    const char *ruri, *from, *to, *call_id, *ctype, *lang, *subject, *body;
    const char *wire;
  } rows[] = {
    {
      "sip:bob@sip.example.com", "sip:alice@xmpp.example.org",
      "sip:bob@sip.example.com", NULL, "text/plain;charset=UTF-8", "en",
      "Lunch", "Are we still on for noon?",
      "MESSAGE sip:bob@sip.example.com SIP/2.0\r\n"
      "Via: SIP/2.0/UDP 192.0.2.10:5060;rport;branch=z9hG4bKa1b2c3d4e5f6g7h8\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:alice@xmpp.example.org>;tag=Q2mHv4Fa6t1cB\r\n"
      "To: <sip:bob@sip.example.com>\r\n"
      "Call-ID: 9f3c1e2a-5b7d-4c8e-a1f0-2d3e4f5a6b7c\r\n"
      "CSeq: 20937 MESSAGE\r\n"
      "Content-Type: text/plain;charset=UTF-8\r\n"
      "Content-Language: en\r\n"
      "Subject: Lunch\r\n"
      "User-Agent: stox/0.1.0\r\n"
      "Content-Length: 25\r\n"
      "\r\n"
      "Are we still on for noon?"
    },
    {
      "sip:carol@example.net;transport=tcp", "sip:dave@xmpp.example.org;gr=phone",
      "sip:carol@example.net", "thread-5f1e2d3c4b5a", "text/plain;charset=UTF-8",
      NULL, NULL, "hi",
      "MESSAGE sip:carol@example.net;transport=tcp SIP/2.0\r\n"
      "Via: SIP/2.0/TCP gateway.example.org:5060;branch=z9hG4bKQ1w2E3r4T5y6U\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:dave@xmpp.example.org;gr=phone>;tag=aB3dE5gH7jK9mN1pQ3sT5vX7zB9dF1h\r\n"
      "To: <sip:carol@example.net>\r\n"
      "Call-ID: thread-5f1e2d3c4b5a\r\n"
      "CSeq: 4294967295 MESSAGE\r\n"
      "Content-Type: text/plain;charset=UTF-8\r\n"
      "Content-Length: 2\r\n"
      "Server: stox/0.1.0\r\n"
      "\r\n"
      "hi"
    },
    {
      "sip:x@y", "sip:a@b", "sip:x@y", NULL,
      STOX_ISCOMPOSING_CONTENT_TYPE, NULL, NULL,
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<isComposing/>\n",
      "MESSAGE sip:x@y SIP/2.0\r\n"
      "Via: SIP/2.0/SCTP [2001:db8::1]:5060;rport;branch=z9hG4bK123456789\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:a@b>;tag=1\r\n"
      "To: <sip:x@y>\r\n"
      "Call-ID: 0123456789abcdef0123456789abcdef@192.0.2.1\r\n"
      "CSeq: 1 MESSAGE\r\n"
      "Content-Type: application/im-iscomposing+xml\r\n"
      "Content-Length: 54\r\n"
      "User-Agent: stox/0.1.0\r\n"
      "\r\n"
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<isComposing/>\n"
    },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      gsize wire = strlen (rows[i].wire);
      StoxSipOutMessage m = {
        .request_uri = (char *) rows[i].ruri, .from_uri = (char *) rows[i].from,
        .to_uri = (char *) rows[i].to, .call_id = (char *) rows[i].call_id,
        .content_type = (char *) rows[i].ctype, .content_language = (char *) rows[i].lang,
        .subject = (char *) rows[i].subject,
      };
      gsize est;

      m.body = g_bytes_new_static (rows[i].body, strlen (rows[i].body));
      est = stox_sip_message_size (&m, UA, NULL);
      g_bytes_unref (m.body);
      g_test_message ("row %" G_GSIZE_FORMAT ": wire %" G_GSIZE_FORMAT
                      ", estimate %" G_GSIZE_FORMAT, i, wire, est);
      g_assert_cmpuint (est, >=, wire);
      /* An upper bound, but not a careless one: the limit is 1300. */
      g_assert_cmpuint (est - wire, <=, 120);
    }
}

static void
test_parts (void)
{
  gsize base = size_of ("sip:b@x", "sip:a@y", "sip:b@x", NULL, "text/plain", NULL, NULL, 5);
  StoxSipOutMessage m = { .request_uri = (char *) "sip:b@x" };

  /* Each optional field adds its header line, nothing else. */
  g_assert_cmpuint (size_of ("sip:b@x", "sip:a@y", "sip:b@x", NULL, "text/plain", "en", NULL, 5),
                    ==, base + strlen ("Content-Language: en\r\n"));
  g_assert_cmpuint (size_of ("sip:b@x", "sip:a@y", "sip:b@x", NULL, "text/plain", NULL, "Hi", 5),
                    ==, base + strlen ("Subject: Hi\r\n"));
  /* A known Call-ID replaces the 48-byte allowance. */
  g_assert_cmpuint (size_of ("sip:b@x", "sip:a@y", "sip:b@x", "abc", "text/plain", NULL, NULL, 5),
                    ==, base - 48 + 3);
  /* The body counts once, plus Content-Length's extra digit. */
  g_assert_cmpuint (size_of ("sip:b@x", "sip:a@y", "sip:b@x", NULL, "text/plain", NULL, NULL, 6),
                    ==, base + 1);
  g_assert_cmpuint (size_of ("sip:b@x", "sip:a@y", "sip:b@x", NULL, "text/plain", NULL, NULL, 10),
                    ==, base + 5 + 1);
  g_assert_cmpuint (size_of ("sip:b@x", "sip:a@y", "sip:b@x", NULL, "text/plain", NULL, NULL, 0),
                    ==, base - 5);
  /* Longer URIs count byte for byte. */
  g_assert_cmpuint (size_of ("sip:bb@x", "sip:a@y", "sip:b@x", NULL, "text/plain", NULL, NULL, 5),
                    ==, base + 1);
  /* So does the User-Agent, and no body counts as an empty one. */
  g_assert_cmpuint (stox_sip_message_size (&m, "stox/0.1.0-longer", NULL), ==,
                    stox_sip_message_size (&m, UA, NULL) + strlen ("-longer"));
  /* The endpoint's Allow header counts when it writes one. */
  g_assert_cmpuint (stox_sip_message_size (&m, UA, "MESSAGE, OPTIONS"), ==,
                    stox_sip_message_size (&m, UA, NULL) + strlen ("Allow: MESSAGE, OPTIONS\r\n"));
}

static void
test_edges (void)
{
  StoxSipOutMessage none = { 0 };
  gsize empty = stox_sip_message_size (&none, NULL, NULL);

  /* NULLs count as empty, never crash; the fixed part alone is sizeable. */
  g_assert_cmpuint (empty, >, 200);
  g_assert_cmpuint (empty, <, 400);
  /* A large body counts once, with Content-Length's digits (the sum
   * saturates instead of wrapping, which no body in memory can reach). */
  g_assert_cmpuint (size_of ("sip:b@x", "sip:a@y", "sip:b@x", NULL, "text/plain", NULL, NULL,
                             1 << 20),
                    ==, size_of ("sip:b@x", "sip:a@y", "sip:b@x", NULL, "text/plain", NULL, NULL,
                                 0) + (1 << 20) + 6);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sip/message-size/hand-written", test_hand_written);
  g_test_add_func ("/sip/message-size/parts", test_parts);
  g_test_add_func ("/sip/message-size/edges", test_edges);
  return g_test_run ();
}
