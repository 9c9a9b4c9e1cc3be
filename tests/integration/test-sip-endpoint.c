/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SIP front end on loopback: the test plays the SIP peer with raw
 * sockets and checks what crosses the wire and what reaches the callbacks.
 * Every wait is bounded (5 s).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <glib-unix.h>

#include "core/methods.h"
#include "sip/endpoint.h"
#include "sip/message-size.h"
#include "support/testutil.h"

#define WAIT_LIMIT_US (5 * G_USEC_PER_SEC)
#define USER_AGENT    "stox-test/1"
#define ALLOW         "MESSAGE, SUBSCRIBE, NOTIFY, OPTIONS"

typedef struct
{
  StoxSipEndpoint *ep;
  gboolean         v6;            /* ::1 instead of 127.0.0.1 */
  const char      *host;          /* the loopback address as in a SIP URI */
  guint16          ep_port;
  char            *listen;

  int              peer_fd;       /* UDP socket playing the SIP peer */
  guint16          peer_port;
  guint            peer_watch;
  GPtrArray       *datagrams;     /* GBytes received by the peer */
  struct sockaddr_storage last_from;  /* where the last datagram came from */
  socklen_t        last_from_len;

  GPtrArray       *requests;      /* StoxSipRequest copies */
  GArray          *responses;     /* StoxSipResponse, phrase and warning owned */

  /* When non-zero, the requests are answered this from the endpoint's
   * dispatch func, as the daemon's runner does. */
  guint            answer_after_dispatch;
  guint            answered_after_dispatch;

  gboolean         done;
  guint            branch;
  GString         *stream_in;     /* bytes received on a TCP connection */

  /* The user part of the peer's Contact in peer_dialog_request(). */
  const char      *contact_user;
  /* The display name (with a space) in watcher_subscribe()'s From. */
  const char      *watcher_display;

  /* What the wait_* helpers below wait for. */
  const char      *want_prefix;
  guint            want_count;

  GArray          *dialog_calls;  /* DialogCall: the dialog func's calls */

  /* Called with each response as it comes (from inside the endpoint). */
  void           (*response_hook) (gpointer fx, const StoxSipResponse *resp);
  gpointer         hook_data;
} Fixture;

typedef struct
{
  StoxToken id;
  char     *state;                /* NULL: the dialog is over */
} DialogCall;

/* ------------------------------------------------------------------ */
/* helpers                                                             */

/* Takes `req`, as the endpoint hands it over. */
static void
on_request (StoxSipRequest *req,
            gpointer        user_data)
{
  Fixture *fx = user_data;

  g_ptr_array_add (fx->requests, req);
}

/* After the stack has returned: answers what on_request queued. */
static void
answer_queued (gpointer user_data)
{
  Fixture *fx = user_data;

  for (; fx->answered_after_dispatch < fx->requests->len; fx->answered_after_dispatch++)
    {
      StoxSipRequest *req = fx->requests->pdata[fx->answered_after_dispatch];

      stox_sip_endpoint_respond (fx->ep,
                                 &(StoxSipAnswer) {
                                   .token = req->token,
                                   .status = fx->answer_after_dispatch,
                                   .allow = (char *) ALLOW,
                                   .expires = -1,
                                   .min_expires = -1,
                                 });
    }
}

static void
on_response (const StoxSipResponse *resp,
             gpointer               user_data)
{
  Fixture *fx = user_data;
  StoxSipResponse copy = *resp;

  copy.phrase = g_strdup (resp->phrase);
  copy.warning = g_strdup (resp->warning);

  g_array_append_val (fx->responses, copy);
  if (fx->response_hook != NULL)
    fx->response_hook (fx, resp);
}

static void
response_clear (gpointer data)
{
  StoxSipResponse *r = data;

  g_free (r->phrase);
  g_free (r->warning);
}

static void
on_dialog (StoxToken   id,
           const char *state,
           gpointer    user_data)
{
  Fixture *fx = user_data;
  DialogCall call = { id, g_strdup (state) };

  g_array_append_val (fx->dialog_calls, call);
}

static void
dialog_call_clear (gpointer data)
{
  DialogCall *c = data;

  g_free (c->state);
}

static int
socket_on_loopback (gboolean v6,
                    int      type,
                    guint16  port)
{
  int fd = stox_test_loopback_socket (v6, type, port);

  g_assert_cmpint (fd, >=, 0);
  return fd;
}

static gboolean
on_peer_readable (int          fd,
                  GIOCondition condition,
                  gpointer     user_data)
{
  Fixture *fx = user_data;
  char buf[65536];
  socklen_t len = sizeof fx->last_from;
  ssize_t n = recvfrom (fd, buf, sizeof buf, 0, (struct sockaddr *) &fx->last_from, &len);

  if (n > 0)
    {
      fx->last_from_len = len;
      g_ptr_array_add (fx->datagrams, g_bytes_new (buf, (gsize) n));
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the loop until `cond` holds; fails the test after 5 s. */
static void
wait_for (Fixture    *fx,
          gboolean  (*cond) (Fixture *fx),
          const char *what)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_LIMIT_US;
  guint ticker = g_timeout_add (20, tick, NULL);

  while (!cond (fx))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for %s", what);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (ticker);
}

static void
peer_send (Fixture    *fx,
           const char *text,
           gsize       len)
{
  struct sockaddr_storage to;
  socklen_t to_len = stox_test_loopback (fx->v6, fx->ep_port, &to);

  g_assert_cmpint (sendto (fx->peer_fd, text, len, 0, (struct sockaddr *) &to, to_len),
                   ==, (ssize_t) len);
}

/* A request from the peer, CRLF line ends, Content-Length computed. */
static char *
peer_request (Fixture    *fx,
              const char *method,
              const char *extra_headers,
              const char *body,
              gsize       body_len,
              gsize      *ret_len)
{
  g_autoptr (GString) s = g_string_new (NULL);
  guint n = ++fx->branch;

  g_string_append_printf (s,
                          "%s sip:alice@%s:%u SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK-test-%u;rport\r\n"
                          "Max-Forwards: 70\r\n"
                          "From: \"Bob\" <sip:bob@%s:%u>;tag=peer%u\r\n"
                          "To: Alice <sip:alice@%s:%u>\r\n"
                          "Call-ID: call-%u@test\r\n"
                          "CSeq: 1 %s\r\n"
                          "%s"
                          "Content-Length: %zu\r\n"
                          "\r\n",
                          method, fx->host, fx->ep_port, fx->host, fx->peer_port, n,
                          fx->host, fx->peer_port, n, fx->host, fx->ep_port, n,
                          method, extra_headers != NULL ? extra_headers : "", body_len);
  if (body != NULL)
    g_string_append_len (s, body, (gssize) body_len);
  *ret_len = s->len;
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static char *
datagram_text (GBytes *b)
{
  gsize len;
  const char *data = g_bytes_get_data (b, &len);

  return g_strndup (data, len);
}

/* g_test_message() of a message as received, whose bytes need not be
 * UTF-8. */
static void
message_wire (const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);

  g_test_message ("%s", valid);
}

/* Number of header lines that start with `name:` (case-sensitive, as
 * Sofia writes them). */
static guint
count_headers (const char *text,
               const char *name)
{
  g_autofree char *needle = g_strdup_printf ("\r\n%s:", name);
  guint n = 0;

  for (const char *p = strstr (text, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

static gboolean
has_request (Fixture *fx)
{
  return fx->requests->len > 0;
}

static gboolean
has_datagram (Fixture *fx)
{
  return fx->datagrams->len > 0;
}

static gboolean
has_response (Fixture *fx)
{
  return fx->responses->len > 0;
}

static gboolean
is_done (Fixture *fx)
{
  return fx->done;
}

/* Index of the first datagram that is a final response, or -1. */
static int
final_response_index (Fixture *fx)
{
  for (guint i = 0; i < fx->datagrams->len; i++)
    {
      g_autofree char *text = datagram_text (fx->datagrams->pdata[i]);

      if (g_str_has_prefix (text, "SIP/2.0 ") && text[8] != '1')
        return (int) i;
    }
  return -1;
}

static gboolean
has_final_response (Fixture *fx)
{
  return final_response_index (fx) >= 0;
}

static char *
final_response_text (Fixture *fx)
{
  int i = final_response_index (fx);

  g_assert_cmpint (i, >=, 0);
  return datagram_text (fx->datagrams->pdata[i]);
}

/* ------------------------------------------------------------------ */
/* fixture                                                             */

static void
fixture_set_up (Fixture       *fx,
                gconstpointer  data)
{
  const char *transport = data != NULL ? data : "udp";
  g_autoptr (GError) error = NULL;

  fx->v6 = g_str_has_suffix (transport, "6");
  fx->host = fx->v6 ? "[::1]" : "127.0.0.1";

  fx->datagrams = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  fx->requests = g_ptr_array_new_with_free_func ((GDestroyNotify) stox_sip_request_free);
  fx->responses = g_array_new (FALSE, TRUE, sizeof (StoxSipResponse));
  g_array_set_clear_func (fx->responses, response_clear);

  fx->peer_fd = socket_on_loopback (fx->v6, SOCK_DGRAM, 0);
  fx->peer_port = stox_test_bound_port (fx->peer_fd);
  fx->peer_watch = g_unix_fd_add (fx->peer_fd, G_IO_IN, on_peer_readable, fx);

  fx->dialog_calls = g_array_new (FALSE, TRUE, sizeof (DialogCall));
  g_array_set_clear_func (fx->dialog_calls, dialog_call_clear);

  fx->ep_port = stox_test_free_port (fx->v6);
  /* "any": no transport parameter, so Sofia listens on UDP and TCP. */
  if (g_str_equal (transport, "any"))
    fx->listen = g_strdup_printf ("sip:%s:%u", fx->host, fx->ep_port);
  else
    fx->listen = g_strdup_printf ("sip:%s:%u;transport=%.3s", fx->host, fx->ep_port, transport);

  StoxSipEndpointConfig config = { .listen = fx->listen, .user_agent = USER_AGENT };
  fx->ep = stox_sip_endpoint_new (&config, on_request, on_response, fx, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fx->ep);
}

static gboolean
on_done (gpointer user_data)
{
  Fixture *fx = user_data;

  fx->done = TRUE;
  return G_SOURCE_REMOVE;
}

static void
fixture_tear_down (Fixture       *fx,
                   gconstpointer  data)
{
  if (fx->ep != NULL)
    {
      stox_sip_endpoint_shutdown (fx->ep, on_done, fx);
      wait_for (fx, is_done, "shutdown");
      g_clear_pointer (&fx->ep, stox_sip_endpoint_free);
    }
  g_clear_handle_id (&fx->peer_watch, g_source_remove);
  close (fx->peer_fd);
  g_ptr_array_unref (fx->datagrams);
  g_ptr_array_unref (fx->requests);
  g_array_unref (fx->responses);
  g_array_unref (fx->dialog_calls);
  g_free (fx->listen);
}

/* Replaces the fixture's endpoint by one made with `config` (listen and
 * user agent filled in: `transport` as the fixture's data, on a fresh
 * port). */
static void
fixture_reopen (Fixture              *fx,
                const char           *transport,
                StoxSipEndpointConfig config)
{
  g_autoptr (GError) error = NULL;

  stox_sip_endpoint_shutdown (fx->ep, on_done, fx);
  wait_for (fx, is_done, "shutdown");
  g_clear_pointer (&fx->ep, stox_sip_endpoint_free);
  fx->done = FALSE;

  fx->ep_port = stox_test_free_port (fx->v6);
  g_free (fx->listen);
  if (g_str_equal (transport, "any"))
    fx->listen = g_strdup_printf ("sip:%s:%u", fx->host, fx->ep_port);
  else
    fx->listen = g_strdup_printf ("sip:%s:%u;transport=%s", fx->host, fx->ep_port, transport);
  config.listen = fx->listen;
  config.user_agent = USER_AGENT;
  fx->ep = stox_sip_endpoint_new (&config, on_request, on_response, fx, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fx->ep);
}

/* The outbound proxy URI for the peer's socket (`params` appended). */
static char *
peer_proxy (Fixture    *fx,
            const char *params)
{
  return g_strdup_printf ("sip:%s:%u%s", fx->host, fx->peer_port, params);
}

/* ------------------------------------------------------------------ */
/* tests                                                               */

static void
test_bound (Fixture       *fx,
            gconstpointer  data)
{
  g_autofree char *expect = g_strdup_printf ("%s:%u", fx->host, fx->ep_port);

  g_assert_cmpstr (stox_sip_endpoint_get_bound (fx->ep), ==, expect);
  /* The value is the stack's (its Contact), and stays so. */
  stox_test_run_for (50);
  g_assert_cmpstr (stox_sip_endpoint_get_bound (fx->ep), ==, expect);
}

/* Port 0: the listen URL says nothing useful; the stack knows the port. */
static void
test_bound_port_zero (void)
{
  g_autoptr (GError) error = NULL;
  StoxSipEndpointConfig config = { .listen = "sip:127.0.0.1:0;transport=udp" };
  Fixture fx = { 0 };

  fx.ep = stox_sip_endpoint_new (&config, on_request, on_response, &fx, &error);
  g_assert_no_error (error);
  stox_test_run_for (50);

  const char *bound = stox_sip_endpoint_get_bound (fx.ep);
  g_test_message ("bound: %s", bound);
  g_assert_true (g_str_has_prefix (bound, "127.0.0.1:"));
  guint64 port = 0;
  g_assert_true (g_ascii_string_to_unsigned (bound + strlen ("127.0.0.1:"), 10, 1, 65535,
                                             &port, NULL));

  stox_sip_endpoint_shutdown (fx.ep, on_done, &fx);
  wait_for (&fx, is_done, "shutdown");
  stox_sip_endpoint_free (fx.ep);
}

static void
test_options_answered_later (Fixture       *fx,
                             gconstpointer  data)
{
  gsize len;
  g_autofree char *text = peer_request (fx, "OPTIONS", "Accept: application/sdp\r\n",
                                        NULL, 0, &len);

  peer_send (fx, text, len);
  wait_for (fx, has_request, "OPTIONS to reach on_request");

  StoxSipRequest *req = fx->requests->pdata[0];
  g_autofree char *ruri = g_strdup_printf ("sip:alice@%s:%u", fx->host, fx->ep_port);
  g_autofree char *from = g_strdup_printf ("sip:bob@%s:%u", fx->host, fx->peer_port);
  g_autofree char *call_id = g_strdup_printf ("call-%u@test", fx->branch);

  g_assert_cmpint (req->method, ==, STOX_SIP_METHOD_OPTIONS);
  g_assert_cmpstr (req->method_name, ==, "OPTIONS");
  g_assert_cmpstr (req->request_uri, ==, ruri);
  g_assert_cmpstr (req->from_uri, ==, from);
  g_assert_cmpstr (req->to_uri, ==, ruri);
  g_assert_cmpstr (req->call_id, ==, call_id);
  g_assert_cmpstr (req->source, ==, fx->v6 ? "::1" : "127.0.0.1");
  g_assert_cmpuint (req->token, !=, 0);
  g_assert_null (req->body);

  /* The stack must leave OPTIONS to us: nothing final on the wire yet. */
  stox_test_run_for (100);
  g_assert_false (has_final_response (fx));

  stox_sip_endpoint_respond (fx->ep,
                             &(StoxSipAnswer) {
                               .token = req->token,
                               .status = 200,
                               .allow = (char *) ALLOW,
                               .expires = -1,
                               .min_expires = -1,
                             });
  wait_for (fx, has_final_response, "200 to OPTIONS");

  g_autofree char *resp = final_response_text (fx);
  g_test_message ("%s", resp);
  g_assert_true (g_str_has_prefix (resp, "SIP/2.0 200 OK\r\n"));
  g_assert_cmpuint (count_headers (resp, "Allow"), ==, 1);
  g_assert_nonnull (strstr (resp, "\r\nAllow: " ALLOW "\r\n"));
  g_assert_nonnull (strstr (resp, "\r\nServer: " USER_AGENT "\r\n"));
  g_assert_cmpuint (count_headers (resp, "Supported"), ==, 0);
  g_assert_nonnull (strstr (resp, call_id));

  /* A second answer to the same token is ignored. */
  stox_sip_endpoint_respond (fx->ep, &(StoxSipAnswer) STOX_SIP_ANSWER_INIT (req->token, 500));
  stox_test_run_for (100);
  g_assert_cmpint (final_response_index (fx), ==, (int) fx->datagrams->len - 1);
}

/* The core answers in the loop iteration that read the request: the
 * callback queues it, the dispatch func answers once the stack returned. */
static void
test_options_answered_at_once (Fixture       *fx,
                               gconstpointer  data)
{
  gsize len;
  g_autofree char *text = peer_request (fx, "OPTIONS", NULL, NULL, 0, &len);

  fx->answer_after_dispatch = 200;
  stox_sip_endpoint_set_dispatch_func (fx->ep, answer_queued, fx);
  peer_send (fx, text, len);
  wait_for (fx, has_request, "OPTIONS to reach on_request");
  /* Answered before the loop ran again. */
  g_assert_cmpuint (fx->answered_after_dispatch, ==, 1);
  wait_for (fx, has_final_response, "200 to OPTIONS");

  g_autofree char *resp = final_response_text (fx);
  g_assert_true (g_str_has_prefix (resp, "SIP/2.0 200 OK\r\n"));
  g_assert_nonnull (strstr (resp, "\r\nAllow: " ALLOW "\r\n"));
  g_assert_cmpuint (fx->requests->len, ==, 1);
}

typedef struct
{
  Fixture  *fx;
  StoxToken token;
  gboolean  answered;
} Delayed;

static gboolean
answer_delayed (gpointer user_data)
{
  Delayed *d = user_data;

  /* Up to now the transaction must have stayed open. */
  g_assert_false (has_final_response (d->fx));
  stox_sip_endpoint_respond (d->fx->ep,
                             &(StoxSipAnswer) {
                               .token = d->token,
                               .status = 202,
                               .phrase = (char *) "Accepted",
                               .expires = -1,
                               .min_expires = -1,
                             });
  d->answered = TRUE;
  return G_SOURCE_REMOVE;
}

/* MESSAGE answered 300 ms later, with the peer retransmitting meanwhile as
 * UDP peers do (RFC 3261 §17.1.2.2): one request reaches the core, one
 * final answer reaches the peer. */
static void
test_message_answered_after_delay (Fixture       *fx,
                                   gconstpointer  data)
{
  static const char body[] = "hello \0 world \xc3\xa4";
  gsize len;
  g_autofree char *text = peer_request (fx, "MESSAGE",
                                        "Content-Type: text/plain;charset=UTF-8\r\n"
                                        "Content-Language: de\r\n"
                                        "Subject: greeting\r\n",
                                        body, sizeof body - 1, &len);

  peer_send (fx, text, len);
  wait_for (fx, has_request, "MESSAGE to reach on_request");

  StoxSipRequest *req = fx->requests->pdata[0];
  g_assert_cmpint (req->method, ==, STOX_SIP_METHOD_MESSAGE);
  g_assert_cmpstr (req->content_type, ==, "text/plain");
  g_assert_cmpstr (req->charset, ==, "UTF-8");
  g_assert_cmpstr (req->content_language, ==, "de");
  g_assert_cmpstr (req->subject, ==, "greeting");
  g_assert_nonnull (req->body);
  gsize got_len;
  const char *got = g_bytes_get_data (req->body, &got_len);
  g_assert_cmpmem (got, got_len, body, sizeof body - 1);

  Delayed d = { fx, req->token, FALSE };
  g_timeout_add (300, answer_delayed, &d);

  /* Retransmissions at 100 and 200 ms (T1 is 500 ms; a peer may be
   * faster, and the stack must absorb them either way). */
  stox_test_run_for (100);
  peer_send (fx, text, len);
  stox_test_run_for (100);
  peer_send (fx, text, len);

  wait_for (fx, has_final_response, "202 to MESSAGE");
  g_assert_true (d.answered);

  g_autofree char *resp = final_response_text (fx);
  g_assert_true (g_str_has_prefix (resp, "SIP/2.0 202 Accepted\r\n"));
  g_assert_cmpuint (count_headers (resp, "Allow"), ==, 1);

  /* A retransmission after the answer gets the same answer again, and the
   * core still saw a single request. */
  guint before = fx->datagrams->len;
  peer_send (fx, text, len);
  stox_test_run_for (200);
  g_assert_cmpuint (fx->datagrams->len, ==, before + 1);
  g_autofree char *again = datagram_text (fx->datagrams->pdata[before]);
  g_assert_true (g_str_has_prefix (again, "SIP/2.0 202 Accepted\r\n"));
  g_assert_cmpuint (fx->requests->len, ==, 1);
}

/* Final responses in the datagrams so far whose Call-ID is `call_id`. */
static guint
finals_for (Fixture *fx, const char *call_id, guint status)
{
  g_autofree char *status_line = g_strdup_printf ("SIP/2.0 %u ", status);
  g_autofree char *cid = g_strdup_printf ("\r\nCall-ID: %s\r\n", call_id);
  guint n = 0;

  for (guint i = 0; i < fx->datagrams->len; i++)
    {
      g_autofree char *text = datagram_text (fx->datagrams->pdata[i]);

      n += g_str_has_prefix (text, status_line) && strstr (text, cid) != NULL;
    }
  return n;
}

/* A request the core never answers gets 500 from the front end after the
 * limit (RFC 3261 §8.2.6: every request gets a final response), oldest
 * first; one answered in time is not touched, and the core's answer after
 * the 500 is ignored.  With a 400 ms limit instead of 32 s. */
static void
test_unanswered_500 (Fixture       *fx,
                     gconstpointer  data)
{
  g_autoptr (GError) error = NULL;
  gsize len1, len2, len3;

  /* The same port, a short limit. */
  stox_sip_endpoint_free (g_steal_pointer (&fx->ep));
  StoxSipEndpointConfig config = { .listen = fx->listen, .user_agent = USER_AGENT,
                                   .unanswered_ms = 400 };
  fx->ep = stox_sip_endpoint_new (&config, on_request, on_response, fx, &error);
  g_assert_no_error (error);

  g_autofree char *m1 = peer_request (fx, "MESSAGE", "Content-Type: text/plain\r\n", "a", 1, &len1);
  g_autofree char *m2 = peer_request (fx, "MESSAGE", "Content-Type: text/plain\r\n", "b", 1, &len2);
  g_autofree char *m3 = peer_request (fx, "MESSAGE", "Content-Type: text/plain\r\n", "c", 1, &len3);
  guint n1 = fx->branch - 2, n2 = fx->branch - 1, n3 = fx->branch;
  g_autofree char *c1 = g_strdup_printf ("call-%u@test", n1);
  g_autofree char *c2 = g_strdup_printf ("call-%u@test", n2);
  g_autofree char *c3 = g_strdup_printf ("call-%u@test", n3);

  GLogLevelFlags fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK);
  gint64 t0 = g_get_monotonic_time ();
  peer_send (fx, m1, len1);
  wait_for (fx, has_request, "the first MESSAGE to reach on_request");
  stox_test_run_for (200);
  peer_send (fx, m2, len2);
  peer_send (fx, m3, len3);
  stox_test_run_for (100);
  g_assert_cmpuint (fx->requests->len, ==, 3);
  /* The third is answered in time. */
  stox_sip_endpoint_respond (fx->ep,
                             &(StoxSipAnswer) {
                               .token = ((StoxSipRequest *) fx->requests->pdata[2])->token,
                               .status = 202,
                               .allow = (char *) ALLOW,
                               .expires = -1,
                               .min_expires = -1,
                             });

  /* The first at ~400 ms, the second at ~600 ms. */
  for (guint i = 0; i < 100 && finals_for (fx, c1, 500) == 0; i++)
    stox_test_run_for (10);
  gint64 first = g_get_monotonic_time () - t0;
  g_assert_cmpuint (finals_for (fx, c1, 500), ==, 1);
  g_assert_cmpuint (finals_for (fx, c2, 500), ==, 0);
  for (guint i = 0; i < 100 && finals_for (fx, c2, 500) == 0; i++)
    stox_test_run_for (10);
  g_log_set_always_fatal (fatal);
  g_test_message ("500 to the first after %.0f ms", (double) first / 1000.0);
  g_assert_cmpint (first, >=, 380 * 1000);
  g_assert_cmpuint (finals_for (fx, c2, 500), ==, 1);
  g_assert_cmpuint (finals_for (fx, c3, 202), ==, 1);
  g_assert_cmpuint (finals_for (fx, c3, 500), ==, 0);

  /* The core's late answer to the first: nothing more on the wire. */
  guint before = fx->datagrams->len;
  stox_sip_endpoint_respond (fx->ep,
                             &(StoxSipAnswer) {
                               .token = ((StoxSipRequest *) fx->requests->pdata[0])->token,
                               .status = 202,
                               .allow = (char *) ALLOW,
                               .expires = -1,
                               .min_expires = -1,
                             });
  stox_test_run_for (100);
  g_assert_cmpuint (fx->datagrams->len, ==, before);
}

/* The datagrams so far that are final responses with Call-ID `call_id`,
 * as text, in order. */
static GPtrArray *
finals_texts (Fixture    *fx,
              const char *call_id)
{
  g_autofree char *cid = g_strdup_printf ("\r\nCall-ID: %s\r\n", call_id);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < fx->datagrams->len; i++)
    {
      char *text = datagram_text (fx->datagrams->pdata[i]);

      if (g_str_has_prefix (text, "SIP/2.0 ") && text[8] != '1' && strstr (text, cid) != NULL)
        g_ptr_array_add (out, text);
      else
        g_free (text);
    }
  return out;
}

static guint want_finals;
static guint want_requests;

static gboolean
has_want_requests (Fixture *fx)
{
  return fx->requests->len >= want_requests;
}

static gboolean
has_want_finals (Fixture *fx)
{
  guint n = 0;

  for (guint i = 0; i < fx->datagrams->len; i++)
    {
      g_autofree char *text = datagram_text (fx->datagrams->pdata[i]);

      n += g_str_has_prefix (text, "SIP/2.0 ") && text[8] != '1';
    }
  return n >= want_finals;
}

/* Requests outside a dialog cost Sofia no transaction (nta is stateless
 * for them); the front end keeps one small record per answer for Timer J
 * (RFC 3261 §17.2.2) and gives a retransmission the same response again,
 * byte for byte, To-tag included, whatever the core's answer held; the
 * core hears of each request once. */
static void
test_stateless_transactions (Fixture       *fx,
                             gconstpointer  data)
{
  enum { N = 12 };
  char *texts[N] = { NULL };
  gsize lens[N];
  guint first = fx->branch + 1;

  for (guint i = 0; i < N; i++)
    {
      if (i == N - 1)
        texts[i] = peer_request (fx, "SUBSCRIBE", "Event: presence\r\nExpires: 600\r\n"
                                 "Contact: <sip:bob@127.0.0.1>\r\n", NULL, 0, &lens[i]);
      else
        texts[i] = peer_request (fx, "MESSAGE", "Content-Type: text/plain\r\n", "x", 1,
                                 &lens[i]);
      peer_send (fx, texts[i], lens[i]);
    }
  want_requests = N;
  wait_for (fx, has_want_requests, "the requests");

  StoxSipEndpointStats st;
  stox_sip_endpoint_get_stats (fx->ep, &st);
  g_assert_cmpuint (st.requests_pending, ==, N);
  g_assert_cmpuint (st.stack_server_txns, ==, 0);

  for (guint i = 0; i < N; i++)
    {
      StoxSipRequest *req = fx->requests->pdata[i];
      StoxSipAnswer a = STOX_SIP_ANSWER_INIT (req->token, i % 2 == 0 ? 202 : 200);

      if (i == 3)
        {
          a.status = 503;
          a.retry_after = 7;
          a.warning = (char *) "gateway busy";
          a.phrase = (char *) "Try Later";
        }
      if (i == 5)
        {
          a.status = 415;
          a.accept = (char *) "text/plain";
        }
      if (i == N - 1)
        a.expires = 600;
      stox_sip_endpoint_respond (fx->ep, &a);
    }
  want_finals = N;
  wait_for (fx, has_want_finals, "the answers");

  stox_sip_endpoint_get_stats (fx->ep, &st);
  g_assert_cmpuint (st.requests_pending, ==, 0);
  g_assert_cmpuint (st.requests_answered, ==, N);
  g_assert_cmpuint (st.stack_server_txns, ==, 0);

  for (guint i = 0; i < N; i++)
    peer_send (fx, texts[i], lens[i]);
  want_finals = 2 * N;
  wait_for (fx, has_want_finals, "the answers to the retransmissions");

  for (guint i = 0; i < N; i++)
    {
      g_autofree char *call_id = g_strdup_printf ("call-%u@test", first + i);
      g_autoptr (GPtrArray) finals = finals_texts (fx, call_id);

      g_assert_cmpuint (finals->len, ==, 2);
      if (i == 3 || i == N - 1)
        message_wire (finals->pdata[0]);
      g_assert_cmpstr (finals->pdata[1], ==, finals->pdata[0]);
      /* Our To-tag, and what the core said. */
      g_assert_nonnull (strstr (finals->pdata[0], ">;tag="));
      if (i == 3)
        {
          g_assert_true (g_str_has_prefix (finals->pdata[0], "SIP/2.0 503 Try Later\r\n"));
          g_assert_nonnull (strstr (finals->pdata[0], "\r\nRetry-After: 7\r\n"));
          g_assert_nonnull (strstr (finals->pdata[0], "gateway busy"));
        }
      if (i == 5)
        g_assert_nonnull (strstr (finals->pdata[0], "\r\nAccept: text/plain\r\n"));
      if (i == N - 1)
        {
          g_assert_nonnull (strstr (finals->pdata[0], "\r\nExpires: 600\r\n"));
          g_assert_cmpuint (count_headers (finals->pdata[0], "Contact"), ==, 1);
        }
    }
  g_assert_cmpuint (fx->requests->len, ==, N);
  /* The SUBSCRIBE's answer made a dialog; its retransmission, without a
   * To-tag, still belongs to the transaction, and nothing is Sofia's. */
  stox_sip_endpoint_get_stats (fx->ep, &st);
  g_assert_cmpuint (st.stack_server_txns, ==, 0);
  for (guint i = 0; i < N; i++)
    g_free (texts[i]);
}

/* The same request by two paths (another branch, the same From tag,
 * Call-ID and CSeq) is merged (RFC 3261 §8.2.2.2): 482 for the second,
 * while the first is pending and after its answer. */
static void
test_merged_request (Fixture       *fx,
                     gconstpointer  data)
{
  gsize len;
  g_autofree char *text = peer_request (fx, "MESSAGE", "Content-Type: text/plain\r\n",
                                        "x", 1, &len);
  g_autofree char *call_id = g_strdup_printf ("call-%u@test", fx->branch);
  g_autofree char *old_branch = g_strdup_printf ("z9hG4bK-test-%u;", fx->branch);
  g_autoptr (GString) other = g_string_new (text);

  g_string_replace (other, old_branch, "z9hG4bK-other-path;", 1);
  g_assert_cmpstr (other->str, !=, text);

  peer_send (fx, text, len);
  wait_for (fx, has_request, "the MESSAGE");
  peer_send (fx, other->str, other->len);
  want_finals = 1;
  wait_for (fx, has_want_finals, "482 to the copy");
  g_autoptr (GPtrArray) finals = finals_texts (fx, call_id);
  g_assert_true (g_str_has_prefix (finals->pdata[0], "SIP/2.0 482 "));
  g_assert_nonnull (strstr (finals->pdata[0], "z9hG4bK-other-path"));

  StoxSipRequest *req = fx->requests->pdata[0];
  stox_sip_endpoint_respond (fx->ep, &(StoxSipAnswer) STOX_SIP_ANSWER_INIT (req->token, 202));
  want_finals = 2;
  wait_for (fx, has_want_finals, "202");
  peer_send (fx, other->str, other->len);
  want_finals = 3;
  wait_for (fx, has_want_finals, "482 to the copy after the answer");

  g_autoptr (GPtrArray) all = finals_texts (fx, call_id);
  g_assert_cmpuint (all->len, ==, 3);
  g_assert_true (g_str_has_prefix (all->pdata[1], "SIP/2.0 202 "));
  g_assert_true (g_str_has_prefix (all->pdata[2], "SIP/2.0 482 "));
  g_assert_cmpuint (fx->requests->len, ==, 1);
}

/* A peer without the magic cookie (RFC 2543): its retransmissions are
 * matched on the old fields (RFC 3261 §17.2.3), absorbed while the core
 * decides and answered the same after. */
static void
test_rfc2543_retransmission (Fixture       *fx,
                             gconstpointer  data)
{
  gsize len;
  g_autofree char *text = peer_request (fx, "MESSAGE", "Content-Type: text/plain\r\n",
                                        "x", 1, &len);
  g_autofree char *call_id = g_strdup_printf ("call-%u@test", fx->branch);
  g_autofree char *old_branch = g_strdup_printf (";branch=z9hG4bK-test-%u", fx->branch);
  g_autoptr (GString) old = g_string_new (text);

  g_string_replace (old, old_branch, "", 1);
  g_assert_null (strstr (old->str, "branch="));

  peer_send (fx, old->str, old->len);
  wait_for (fx, has_request, "the MESSAGE");
  peer_send (fx, old->str, old->len);
  stox_test_run_for (100);
  g_assert_false (has_final_response (fx));
  g_assert_cmpuint (fx->requests->len, ==, 1);

  StoxSipRequest *req = fx->requests->pdata[0];
  stox_sip_endpoint_respond (fx->ep, &(StoxSipAnswer) STOX_SIP_ANSWER_INIT (req->token, 202));
  want_finals = 1;
  wait_for (fx, has_want_finals, "202");
  peer_send (fx, old->str, old->len);
  want_finals = 2;
  wait_for (fx, has_want_finals, "202 again");

  g_autoptr (GPtrArray) finals = finals_texts (fx, call_id);
  g_assert_cmpuint (finals->len, ==, 2);
  g_assert_cmpstr (finals->pdata[1], ==, finals->pdata[0]);
  g_assert_cmpuint (fx->requests->len, ==, 1);
}

static void
test_respond_headers (Fixture       *fx,
                      gconstpointer  data)
{
  gsize len;
  g_autofree char *text = peer_request (fx, "MESSAGE", "Content-Type: text/plain\r\n",
                                        "x", 1, &len);

  peer_send (fx, text, len);
  wait_for (fx, has_request, "MESSAGE to reach on_request");

  StoxSipRequest *req = fx->requests->pdata[0];
  stox_sip_endpoint_respond (fx->ep,
                             &(StoxSipAnswer) {
                               .token = req->token,
                               .status = 503,
                               .phrase = (char *) "Service Unavailable",
                               .accept = (char *) "text/plain, message/cpim",
                               .warning = (char *) "XMPP link \"down\"\r\nX-Evil: 1",
                               .retry_after = 30,
                               .expires = -1,
                               .min_expires = -1,
                             });
  wait_for (fx, has_final_response, "503 to MESSAGE");

  g_autofree char *resp = final_response_text (fx);
  g_autofree char *warning = g_strdup_printf (
      "\r\nWarning: 399 127.0.0.1:%u \"XMPP link \\\"down\\\"  X-Evil: 1\"\r\n", fx->ep_port);
  g_test_message ("%s", resp);
  g_assert_true (g_str_has_prefix (resp, "SIP/2.0 503 Service Unavailable\r\n"));
  g_assert_nonnull (strstr (resp, "\r\nRetry-After: 30\r\n"));
  g_assert_nonnull (strstr (resp, "\r\nAccept: text/plain, message/cpim\r\n"));
  g_assert_nonnull (strstr (resp, warning));
  g_assert_cmpuint (count_headers (resp, "X-Evil"), ==, 0);
}

/* Stateless answers over UDP are written as text, without the stack's
 * message objects (udp-reply.h); they must be the answers the stack
 * writes.  The same requests go to an endpoint as it runs and to one with
 * Sofia's message log on (TPORT_LOG: every answer through the stack), and
 * the answers must match line for line, our To-tag aside (keyed per
 * process); a retransmission must get the first answer again, tag and
 * all. */
typedef struct
{
  const char *via;       /* printf: host, port, branch number */
  const char *method;
  const char *extra;     /* more headers */
  guint       status;    /* the core's answer; 0: the stack answers */
  const char *phrase;
  gint64      expires;
  guint       retry_after;
  gboolean    as_text;   /* written as text (else by the stack in both) */
} ReplyCase;

#define VIA_RPORT "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK-rt-%u;rport\r\n"

static const ReplyCase reply_cases[] = {
  { VIA_RPORT, "MESSAGE", "", 202, NULL, -1, 0, TRUE },
  /* No rport: to the sent-by port. */
  { "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK-rt-%u\r\n", "MESSAGE", "", 200, NULL, -1, 0, TRUE },
  /* A name as sent-by: nta adds received=. */
  { "Via: SIP/2.0/UDP %.0speer.invalid:%u;branch=z9hG4bK-rt-%u;rport\r\n", "MESSAGE", "", 202,
    NULL, -1, 0, TRUE },
  /* Compact form, a second Via, a route set. */
  { "v: SIP/2.0/UDP %s:%u;branch=z9hG4bK-rt-%u;rport\r\n"
    "Via: SIP/2.0/UDP 192.0.2.7:5070;branch=z9hG4bK-far;received=192.0.2.8\r\n",
    "MESSAGE", "Record-Route: <sip:p1.invalid;lr>, <sip:p2.invalid;lr;x=1>\r\n", 202, NULL, -1,
    0, TRUE },
  { VIA_RPORT, "MESSAGE", "", 503, NULL, -1, 5, TRUE },
  { VIA_RPORT, "MESSAGE", "", 404, "Not Here", -1, 0, TRUE },
  { VIA_RPORT, "SUBSCRIBE",
    "Event: presence\r\nContact: <sip:bob@127.0.0.1:9>\r\nExpires: 600\r\n", 200, NULL, 600,
    0, TRUE },
  { VIA_RPORT, "OPTIONS", "", 200, NULL, -1, 0, TRUE },
  /* The stack's own answer (501, with Allow). */
  { VIA_RPORT, "FOO", "", 0, NULL, -1, 0, TRUE },
  /* A phrase that would end the status line: the status's own instead,
   * both ways (Sofia writes a phrase verbatim). */
  { VIA_RPORT, "MESSAGE", "", 480, "Gone\r\nX-Evil: 1", -1, 0, TRUE },
  /* Left to the stack: an Unsupported header (420). */
  { VIA_RPORT, "MESSAGE", "Require: no-such-extension\r\n", 0, NULL, -1, 0, FALSE },
};

/* The final answer to `c` (as number `n`), and the one its retransmission
 * gets, which must be the same. */
static char *
reply_case_answer (Fixture         *fx,
                   const ReplyCase *c,
                   guint            n)
{
  /* The Via templates are the table's own constants. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  g_autofree char *via = g_strdup_printf (c->via, fx->host, fx->peer_port, n);
#pragma GCC diagnostic pop
  g_autofree char *text = g_strdup_printf (
      "%s sip:alice@%s:%u SIP/2.0\r\n"
      "%s"
      "Max-Forwards: 70\r\n"
      "From: \"Bob\" <sip:bob@%s:%u>;tag=peer%u\r\n"
      "To: Alice <sip:alice@%s:%u>\r\n"
      "Call-ID: reply-%u@test\r\n"
      "CSeq: 7 %s\r\n"
      "%s"
      "Content-Length: 0\r\n"
      "\r\n",
      c->method, fx->host, fx->ep_port, via, fx->host, fx->peer_port, n, fx->host,
      fx->ep_port, n, c->method, c->extra);

  g_ptr_array_set_size (fx->datagrams, 0);
  g_ptr_array_set_size (fx->requests, 0);
  peer_send (fx, text, strlen (text));
  if (c->status != 0)
    {
      wait_for (fx, has_request, "the request to reach on_request");
      stox_sip_endpoint_respond (fx->ep,
                                 &(StoxSipAnswer) {
                                   .token = ((StoxSipRequest *) fx->requests->pdata[0])->token,
                                   .status = c->status,
                                   .phrase = (char *) c->phrase,
                                   .expires = c->expires,
                                   .min_expires = -1,
                                   .retry_after = c->retry_after,
                                 });
    }
  wait_for (fx, has_final_response, "the final response");
  char *first = final_response_text (fx);

  g_ptr_array_set_size (fx->datagrams, 0);
  peer_send (fx, text, strlen (text));
  wait_for (fx, has_final_response, "the answer to the retransmission");
  g_autofree char *again = final_response_text (fx);
  g_assert_cmpstr (again, ==, first);
  return first;
}

/* `answer` with its To-tag's value replaced by "T" and the endpoint's
 * address (in To) by "EP": what differs between two endpoints. */
static char *
normalised (Fixture    *fx,
            const char *answer)
{
  g_autoptr (GRegex) re = g_regex_new ("(\r\nTo: [^\r]*;tag=)[0-9a-zA-Z]+", 0, 0, NULL);
  g_autofree char *tag = g_regex_replace (re, answer, -1, 0, "\\1T", 0, NULL);
  g_autofree char *ep = g_strdup_printf ("%s:%u", fx->host, fx->ep_port);
  g_auto (GStrv) parts = g_strsplit (tag, ep, -1);

  return g_strjoinv ("EP", parts);
}

static void
test_udp_replies_as_stack (Fixture       *fx,
                           gconstpointer  data)
{
  g_autoptr (GPtrArray) as_text = g_ptr_array_new_with_free_func (g_free);
  StoxSipEndpointStats st;
  guint64 expected = 0;

  for (guint i = 0; i < G_N_ELEMENTS (reply_cases); i++)
    {
      g_autofree char *answer = reply_case_answer (fx, &reply_cases[i], i + 1);

      if (reply_cases[i].phrase != NULL && strchr (reply_cases[i].phrase, '\n') != NULL)
        {
          g_assert_true (g_str_has_prefix (answer, "SIP/2.0 480 Temporarily Unavailable\r\n"));
          g_assert_cmpuint (count_headers (answer, "X-Evil"), ==, 0);
        }
      g_ptr_array_add (as_text, normalised (fx, answer));
      expected += reply_cases[i].as_text ? 2 : 0;
    }
  stox_sip_endpoint_get_stats (fx->ep, &st);
  g_assert_cmpuint (st.replies_as_text, ==, expected);

  g_setenv ("TPORT_LOG", "1", TRUE);
  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { 0 });
  g_unsetenv ("TPORT_LOG");
  for (guint i = 0; i < G_N_ELEMENTS (reply_cases); i++)
    {
      g_autofree char *by_stack = reply_case_answer (fx, &reply_cases[i], i + 1);
      g_autofree char *b = normalised (fx, by_stack);

      g_test_message ("case %u:\n%s", i, b);
      g_assert_cmpstr (as_text->pdata[i], ==, b);
    }
  stox_sip_endpoint_get_stats (fx->ep, &st);
  g_assert_cmpuint (st.replies_as_text, ==, 0);
}

/* Where a stateless answer over UDP goes (RFC 3261 §18.2.2, RFC
 * 3581): to the source address, at the source port with rport, else at
 * the sent-by port.  The as-stack test above always sends from the Via's
 * port, so it cannot tell these apart; here a second socket is the Via's
 * port.  Checked for the text path and (TPORT_LOG) for the stack's. */
static int dest_other_fd = -1;

static gboolean
other_has_datagram (Fixture *fx)
{
  char c;

  (void) fx;
  return recv (dest_other_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) >= 0;
}

static char *
other_recv (void)
{
  char buf[65536];
  ssize_t n = recv (dest_other_fd, buf, sizeof buf - 1, MSG_DONTWAIT);

  g_assert_cmpint (n, >, 0);
  buf[n] = '\0';
  return g_strdup (buf);
}

static void
dest_case (Fixture    *fx,
           const char *via_host,
           guint16     via_port,
           gboolean    rport,
           gboolean    to_other,
           guint       n)
{
  g_autofree char *text = g_strdup_printf (
      "MESSAGE sip:alice@%s:%u SIP/2.0\r\n"
      "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK-dest-%u%s\r\n"
      "Max-Forwards: 70\r\n"
      "From: <sip:bob@%s:%u>;tag=peer%u\r\n"
      "To: <sip:alice@%s:%u>\r\n"
      "Call-ID: dest-%u@test\r\n"
      "CSeq: 7 MESSAGE\r\n"
      "Content-Length: 0\r\n"
      "\r\n",
      fx->host, fx->ep_port, via_host, via_port, n, rport ? ";rport" : "",
      fx->host, fx->peer_port, n, fx->host, fx->ep_port, n);

  g_ptr_array_set_size (fx->datagrams, 0);
  g_ptr_array_set_size (fx->requests, 0);
  peer_send (fx, text, strlen (text));
  wait_for (fx, has_request, "the request");
  stox_sip_endpoint_respond (fx->ep,
                             &(StoxSipAnswer) {
                               .token = ((StoxSipRequest *) fx->requests->pdata[0])->token,
                               .status = 202, .expires = -1, .min_expires = -1,
                             });
  if (to_other)
    {
      wait_for (fx, other_has_datagram, "the answer at the Via's port");
      g_autofree char *a = other_recv ();
      g_assert_true (g_str_has_prefix (a, "SIP/2.0 202 "));
      g_assert_cmpuint (fx->datagrams->len, ==, 0);
    }
  else
    {
      wait_for (fx, has_final_response, "the answer at the source port");
      g_assert_false (other_has_datagram (fx));
    }
}

static void
test_udp_reply_destination (Fixture       *fx,
                            gconstpointer  data)
{
  dest_other_fd = socket_on_loopback (fx->v6, SOCK_DGRAM, 0);
  guint16 other = stox_test_bound_port (dest_other_fd);
  const char *name = "peer.invalid";
  const char *far = fx->v6 ? "[2001:db8::7]" : "192.0.2.7";

  for (guint pass = 0; pass < 2; pass++)
    {
      StoxSipEndpointStats st;
      guint n = pass * 100;

      if (pass == 1)
        {
          g_setenv ("TPORT_LOG", "1", TRUE);
          fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { 0 });
          g_unsetenv ("TPORT_LOG");
        }
      dest_case (fx, fx->host, other, FALSE, TRUE, ++n);  /* no rport: Via port */
      dest_case (fx, fx->host, other, TRUE, FALSE, ++n);  /* rport: source port */
      dest_case (fx, name, other, FALSE, TRUE, ++n);      /* received, Via port */
      dest_case (fx, name, other, TRUE, FALSE, ++n);
      dest_case (fx, far, other, FALSE, TRUE, ++n);       /* received = source */
      stox_sip_endpoint_get_stats (fx->ep, &st);
      g_assert_cmpuint (st.replies_as_text, ==, pass == 0 ? 5 : 0);
    }
  close (dest_other_fd);
  dest_other_fd = -1;
}

/* Sofia's message log is switched on by TPORT_LOG or MSG_STREAM_LOG,
 * its dump by TPORT_DUMP or MSG_DUMP (tport_open_log()), its trace of
 * every send by TPORT_DEBUG 7; the answers must then go through the stack
 * too, or those miss them. */
static void
test_udp_reply_message_log (Fixture       *fx,
                            gconstpointer  data)
{
  static const char *const vars[][2] = {
    { "TPORT_LOG", "1" }, { "MSG_STREAM_LOG", "1" },
    { "TPORT_DUMP", "/dev/null" }, { "MSG_DUMP", "/dev/null" }, { "TPORT_DEBUG", "7" },
  };

  dest_other_fd = socket_on_loopback (fx->v6, SOCK_DGRAM, 0);
  for (guint i = 0; i < G_N_ELEMENTS (vars); i++)
    {
      StoxSipEndpointStats st;

      g_setenv (vars[i][0], vars[i][1], TRUE);
      fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { 0 });
      g_unsetenv (vars[i][0]);
      dest_case (fx, fx->host, fx->peer_port, TRUE, FALSE, i + 1);
      stox_sip_endpoint_get_stats (fx->ep, &st);
      g_test_message ("%s: %" G_GUINT64_FORMAT " answers as text", vars[i][0],
                      st.replies_as_text);
      g_assert_cmpuint (st.replies_as_text, ==, 0);
    }
  close (dest_other_fd);
  dest_other_fd = -1;
}

/* Methods outside Allow never reach the core: the stack answers 405 (known
 * methods) or 501 (unknown ones), with Allow. */
static void
test_other_methods_refused (Fixture       *fx,
                            gconstpointer  data)
{
  static const struct
  {
    const char *method;
    const char *status_line;
  } rows[] = {
    { "INVITE", "SIP/2.0 405 " },
    { "REGISTER", "SIP/2.0 405 " },
    { "PUBLISH", "SIP/2.0 405 " },
    { "FOO", "SIP/2.0 501 " },
  };

  g_autofree char *allow = g_strdup_printf ("\r\nAllow: %s\r\n", stox_sip_allowed_methods ());

  g_assert_cmpstr (stox_sip_allowed_methods (), ==, ALLOW);
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      gsize len;
      g_autofree char *text = peer_request (fx, rows[i].method,
                                            "Contact: <sip:bob@127.0.0.1>\r\n",
                                            NULL, 0, &len);

      g_ptr_array_set_size (fx->datagrams, 0);
      peer_send (fx, text, len);
      wait_for (fx, has_final_response, rows[i].method);

      g_autofree char *resp = final_response_text (fx);
      g_test_message ("%s → %.*s", rows[i].method, (int) strcspn (resp, "\r"), resp);
      g_assert_true (g_str_has_prefix (resp, rows[i].status_line));
      /* The stack's refusal carries the core's list (core/methods.h). */
      g_assert_nonnull (strstr (resp, allow));
    }
  g_assert_cmpuint (fx->requests->len, ==, 0);
}

/* The peer's answer to a request we sent: copies the dialog headers. */
static char *
peer_answer (const char *request,
             const char *status_line)
{
  g_auto (GStrv) lines = g_strsplit (request, "\r\n", -1);
  g_autoptr (GString) s = g_string_new (status_line);

  g_string_append (s, "\r\n");
  for (guint i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      const char *l = lines[i];

      if (g_str_has_prefix (l, "Via:") || g_str_has_prefix (l, "From:")
          || g_str_has_prefix (l, "Call-ID:") || g_str_has_prefix (l, "CSeq:"))
        g_string_append_printf (s, "%s\r\n", l);
      else if (g_str_has_prefix (l, "To:"))
        g_string_append_printf (s, "%s;tag=busy1\r\n", l);
    }
  g_string_append (s, "Content-Length: 0\r\n\r\n");
  return g_string_free (g_steal_pointer (&s), FALSE);
}

static void
peer_reply (Fixture    *fx,
            const char *text)
{
  g_assert_cmpint (sendto (fx->peer_fd, text, strlen (text), 0,
                           (struct sockaddr *) &fx->last_from, fx->last_from_len),
                   ==, (ssize_t) strlen (text));
}

/* What the endpoint holds against max-message-size for `out`. */
static gsize
estimate (const StoxSipOutMessage *out)
{
  return stox_sip_message_size (out, USER_AGENT, stox_sip_allowed_methods ());
}

static void
test_send_message (Fixture       *fx,
                   gconstpointer  data)
{
  static const char body[] = "hi \0 there \xe2\x82\xac";
  g_autofree char *proxy = peer_proxy (fx, ";lr");

  /* Out of dialog through the outbound proxy (the peer), as the gateway
   * sends. */
  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { .outbound_proxy = proxy });

  StoxSipOutMessage out = {
    .token = 4711,
    .request_uri = g_strdup_printf ("sip:bob@%s", fx->host),
    .from_uri = g_strdup ("sip:alice@gw.example"),
    .to_uri = g_strdup ("sip:bob@sip.example;user=phone"),
    .call_id = g_strdup ("fixed-call-id@gw.example"),
    .content_type = g_strdup ("text/plain;charset=UTF-8"),
    .content_language = g_strdup ("fr"),
    .subject = g_strdup ("Sujet"),
    .body = g_bytes_new_static (body, sizeof body - 1),
  };

  stox_sip_endpoint_send_message (fx->ep, &out);
  wait_for (fx, has_datagram, "MESSAGE at the peer");

  GBytes *b = fx->datagrams->pdata[0];
  gsize len;
  const char *raw = g_bytes_get_data (b, &len);
  g_autofree char *text = datagram_text (b);
  g_autofree char *request_line = g_strdup_printf ("MESSAGE %s SIP/2.0\r\n", out.request_uri);

  g_test_message ("%s", text);
  g_assert_true (g_str_has_prefix (text, request_line));
  g_assert_nonnull (strstr (text, "\r\nFrom: <sip:alice@gw.example>;tag="));
  g_assert_nonnull (strstr (text, "\r\nTo: <sip:bob@sip.example;user=phone>\r\n"));
  g_assert_nonnull (strstr (text, "\r\nCall-ID: fixed-call-id@gw.example\r\n"));
  g_assert_nonnull (strstr (text, "\r\nContent-Type: text/plain;charset=UTF-8\r\n"));
  g_assert_nonnull (strstr (text, "\r\nContent-Language: fr\r\n"));
  g_assert_nonnull (strstr (text, "\r\nSubject: Sujet\r\n"));
  g_assert_nonnull (strstr (text, "\r\nUser-Agent: " USER_AGENT "\r\n"));
  g_autofree char *clen = g_strdup_printf ("\r\nContent-Length: %zu\r\n", sizeof body - 1);
  g_assert_nonnull (strstr (text, clen));
  /* The body, NUL included, ends the datagram. */
  g_assert_cmpuint (len, >, sizeof body - 1);
  g_assert_cmpmem (raw + len - (sizeof body - 1), sizeof body - 1, body, sizeof body - 1);
  /* The size held against max-message-size is an upper bound of what the
   * stack wrote, every header it adds included (Allow, Via…). */
  g_test_message ("wire %zu bytes, estimate %zu", len, estimate (&out));
  g_assert_cmpuint (len, <=, estimate (&out));

  /* A provisional answer is not reported; the final one is, once. */
  g_autofree char *trying = peer_answer (text, "SIP/2.0 100 Trying");
  g_autofree char *busy = peer_answer (text, "SIP/2.0 486 Busy Here");
  peer_reply (fx, trying);
  stox_test_run_for (100);
  g_assert_cmpuint (fx->responses->len, ==, 0);
  peer_reply (fx, busy);
  wait_for (fx, has_response, "486 reported");
  StoxSipEndpointStats st;
  stox_sip_endpoint_get_stats (fx->ep, &st);
  g_assert_cmpuint (st.stack_client_txns, ==, 1);

  StoxSipResponse *r = &g_array_index (fx->responses, StoxSipResponse, 0);
  g_assert_cmpuint (r->token, ==, 4711);
  g_assert_cmpuint (r->status, ==, 486);
  g_assert_cmpstr (r->phrase, ==, "Busy Here");

  /* A retransmitted final answer is absorbed. */
  peer_reply (fx, busy);
  stox_test_run_for (100);
  g_assert_cmpuint (fx->responses->len, ==, 1);

  /* nta forgets the finished MESSAGE within Timer K, 50 ms here instead
   * of T4's 5 s (endpoint.c). */
  stox_test_run_for (250);
  stox_sip_endpoint_get_stats (fx->ep, &st);
  g_assert_cmpuint (st.stack_client_txns, ==, 0);

  g_free (out.request_uri);
  g_free (out.from_uri);
  g_free (out.to_uri);
  g_free (out.call_id);
  g_free (out.content_type);
  g_free (out.content_language);
  g_free (out.subject);
  g_bytes_unref (out.body);
}

/* RFC 3428 §8: a MESSAGE over max-message-size never leaves.  The core
 * hears a 513 (RFC 3261 §21.5.7) whose warning gives the size and the
 * limit, at once and once (the daemon queues it; the core is never run
 * inside the call).  One at the limit goes out, and is no larger on the
 * wire. */
static void
test_send_too_large (Fixture       *fx,
                     gconstpointer  data)
{
  g_autofree char *text = g_strnfill (STOX_SIP_MESSAGE_SIZE_DEFAULT, 'x');
  g_autofree char *proxy = peer_proxy (fx, ";lr");
  StoxSipOutMessage out = {
    .token = 9,
    .request_uri = g_strdup_printf ("sip:bob@%s", fx->host),
    .from_uri = (char *) "sip:alice@gw.example",
    .to_uri = (char *) "sip:bob@sip.example",
    .content_type = (char *) "text/plain;charset=UTF-8",
  };
  gsize fits = 0;

  /* Out of dialog through the outbound proxy (the peer), as the gateway
   * sends. */
  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { .outbound_proxy = proxy });

  /* The longest body within the default limit. */
  for (gsize n = 0; n <= STOX_SIP_MESSAGE_SIZE_DEFAULT; n++)
    {
      out.body = g_bytes_new_static (text, n);
      if (estimate (&out) <= STOX_SIP_MESSAGE_SIZE_DEFAULT)
        fits = n;
      g_clear_pointer (&out.body, g_bytes_unref);
    }
  g_assert_cmpuint (fits, >, 800);

  out.body = g_bytes_new_static (text, fits + 1);
  g_autofree char *why = g_strdup_printf ("the message would be %zu bytes as SIP; the limit is "
                                          "%u (RFC 3428 §8)",
                                          estimate (&out),
                                          STOX_SIP_MESSAGE_SIZE_DEFAULT);
  stox_sip_endpoint_send_message (fx->ep, &out);
  g_assert_cmpuint (fx->responses->len, ==, 1);
  stox_test_run_for (50);
  g_assert_cmpuint (fx->responses->len, ==, 1);
  g_assert_cmpuint (fx->datagrams->len, ==, 0);
  StoxSipResponse *r = &g_array_index (fx->responses, StoxSipResponse, 0);
  g_assert_cmpuint (r->token, ==, 9);
  g_assert_cmpuint (r->status, ==, 513);
  g_assert_cmpstr (r->phrase, ==, "Message Too Large");
  g_assert_cmpstr (r->warning, ==, why);
  g_clear_pointer (&out.body, g_bytes_unref);

  out.token = 10;
  out.body = g_bytes_new_static (text, fits);
  stox_sip_endpoint_send_message (fx->ep, &out);
  wait_for (fx, has_datagram, "the MESSAGE at the limit");
  g_assert_cmpuint (fx->responses->len, ==, 1);
  g_test_message ("at the limit: %zu bytes on the wire",
                  g_bytes_get_size (fx->datagrams->pdata[0]));
  g_assert_cmpuint (g_bytes_get_size (fx->datagrams->pdata[0]), <=,
                    STOX_SIP_MESSAGE_SIZE_DEFAULT);
  g_bytes_unref (out.body);
  g_free (out.request_uri);
}

/* Nobody listens at the target: the stack's own failure (ICMP port
 * unreachable → 503, RFC 3261 §8.1.3.1) comes back as a response. */
static void
test_send_unreachable (Fixture       *fx,
                       gconstpointer  data)
{
  int gone = socket_on_loopback (fx->v6, SOCK_DGRAM, 0);
  guint16 port = stox_test_bound_port (gone);
  close (gone);
  g_autofree char *proxy = g_strdup_printf ("sip:%s:%u;lr", fx->host, port);

  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { .outbound_proxy = proxy });

  StoxSipOutMessage out = {
    .token = 77,
    .request_uri = g_strdup_printf ("sip:bob@%s", fx->host),
    .from_uri = (char *) "sip:alice@gw.example",
    .to_uri = (char *) "sip:bob@sip.example",
    .content_type = (char *) "text/plain",
    .body = g_bytes_new_static ("x", 1),
  };

  stox_sip_endpoint_send_message (fx->ep, &out);
  wait_for (fx, has_response, "failure reported");

  StoxSipResponse *r = &g_array_index (fx->responses, StoxSipResponse, 0);
  g_test_message ("%u %s", r->status, r->phrase);
  g_assert_cmpuint (r->token, ==, 77);
  g_assert_cmpuint (r->status, >=, 400);
  g_assert_cmpuint (r->status, <=, 699);
  g_free (out.request_uri);
  g_bytes_unref (out.body);
}

/* Garbage from the core (it validates addresses, but still) ends in a
 * response, never in silence or a crash. */
/* Requests the stack fails at once: a datagram too large for UDP with no
 * TCP to fall back on (the send fails inside nta_outgoing_tcreate(); nta
 * delivers its 503 through the loop, since the transaction is not in its
 * table yet), and a transport the endpoint lacks (TCP on a UDP-only
 * listener).  Either way the core hears one final response, never from
 * inside the send call, and the endpoint keeps working. */
static void
test_send_fails_at_once (Fixture       *fx,
                         gconstpointer  data)
{
  g_autofree char *big = g_strnfill (70000, 'x');
  g_autofree char *udp_proxy = peer_proxy (fx, ";lr");
  g_autofree char *tcp_proxy = peer_proxy (fx, ";transport=tcp;lr");
  StoxSipOutMessage out = {
    .token = 78,
    .request_uri = g_strdup_printf ("sip:bob@%s", fx->host),
    .from_uri = (char *) "sip:alice@gw.example",
    .to_uri = (char *) "sip:bob@sip.example",
    .content_type = (char *) "text/plain",
    .body = g_bytes_new_static ("x", 1),
  };
  StoxSipOutMessage huge = out;

  /* A limit above the datagram, so that the stack meets it. */
  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { .outbound_proxy = udp_proxy,
                                                      .max_message_size = G_MAXUINT });
  huge.token = 79;
  huge.request_uri = g_strdup (out.request_uri);
  huge.body = g_bytes_new_static (big, 70000);
  stox_sip_endpoint_send_message (fx->ep, &huge);
  g_assert_cmpuint (fx->responses->len, ==, 0);
  wait_for (fx, has_response, "the oversized MESSAGE's failure reported");
  g_test_message ("%u %s", g_array_index (fx->responses, StoxSipResponse, 0).status,
                  g_array_index (fx->responses, StoxSipResponse, 0).phrase);
  g_assert_cmpuint (g_array_index (fx->responses, StoxSipResponse, 0).token, ==, 79);
  g_assert_cmpuint (g_array_index (fx->responses, StoxSipResponse, 0).status, >=, 400);
  g_array_set_size (fx->responses, 0);
  g_free (huge.request_uri);
  g_bytes_unref (huge.body);

  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { .outbound_proxy = tcp_proxy });
  stox_sip_endpoint_send_message (fx->ep, &out);
  /* Not from inside the call. */
  g_assert_cmpuint (fx->responses->len, ==, 0);
  wait_for (fx, has_response, "failure reported");
  stox_test_run_for (100);
  g_assert_cmpuint (fx->responses->len, ==, 1);
  StoxSipResponse *r = &g_array_index (fx->responses, StoxSipResponse, 0);
  g_test_message ("%u %s", r->status, r->phrase);
  g_assert_cmpuint (r->token, ==, 78);
  g_assert_cmpuint (r->status, >=, 400);
  g_assert_cmpuint (r->status, <=, 599);

  /* The same token again, over UDP this time: reaches the peer. */
  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { .outbound_proxy = udp_proxy });
  stox_sip_endpoint_send_message (fx->ep, &out);
  wait_for (fx, has_datagram, "the MESSAGE over UDP");
  g_free (out.request_uri);
  g_bytes_unref (out.body);
}

static void
test_send_bad_uris (Fixture       *fx,
                    gconstpointer  data)
{
  static const char *const rows[][3] = {
    { "not a uri", "sip:alice@gw.example", "sip:bob@sip.example" },
    { "sip:bob@127.0.0.1:1", "<>garbage", "sip:bob@sip.example" },
    { "sip:bob@127.0.0.1:1", "sip:alice@gw.example", "\"\"" },
  };
  /* A row Sofia takes goes out through the outbound proxy (the port of
   * the Request-URI is not honoured): a closed port, so the answer is the
   * stack's, whatever listens on 127.0.0.1:5060. */
  int gone = socket_on_loopback (fx->v6, SOCK_DGRAM, 0);
  guint16 port = stox_test_bound_port (gone);
  close (gone);
  g_autofree char *proxy = g_strdup_printf ("sip:%s:%u;lr", fx->host, port);

  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { .outbound_proxy = proxy });
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      StoxSipOutMessage out = {
        .token = 100 + i,
        .request_uri = (char *) rows[i][0],
        .from_uri = (char *) rows[i][1],
        .to_uri = (char *) rows[i][2],
      };

      g_array_set_size (fx->responses, 0);
      stox_sip_endpoint_send_message (fx->ep, &out);
      wait_for (fx, has_response, "failure reported");

      StoxSipResponse *r = &g_array_index (fx->responses, StoxSipResponse, 0);
      g_test_message ("row %zu: %u %s", i, r->status, r->phrase);
      g_assert_cmpuint (r->token, ==, 100 + i);
      /* Refused here, before the wire: the stack's 500 with our reason. */
      g_assert_cmpuint (r->status, ==, 500);
      g_assert_nonnull (strstr (r->phrase, "Invalid"));
    }
}

/* Shutdown answers what the core left open. */
static void
test_shutdown_answers_pending (Fixture       *fx,
                               gconstpointer  data)
{
  gsize len;
  g_autofree char *text = peer_request (fx, "MESSAGE", "Content-Type: text/plain\r\n",
                                        "x", 1, &len);

  peer_send (fx, text, len);
  wait_for (fx, has_request, "MESSAGE to reach on_request");

  stox_sip_endpoint_shutdown (fx->ep, on_done, fx);
  wait_for (fx, is_done, "shutdown");
  wait_for (fx, has_final_response, "503 at shutdown");

  g_autofree char *resp = final_response_text (fx);
  g_assert_true (g_str_has_prefix (resp, "SIP/2.0 503 "));

  /* After shutdown, a request is refused without touching the wire. */
  StoxSipOutMessage out = {
    .token = 1,
    .request_uri = (char *) "sip:bob@127.0.0.1",
    .from_uri = (char *) "sip:alice@gw.example",
    .to_uri = (char *) "sip:bob@127.0.0.1",
  };
  stox_sip_endpoint_send_message (fx->ep, &out);
  wait_for (fx, has_response, "local 503");
  g_assert_cmpuint (g_array_index (fx->responses, StoxSipResponse, 0).status, ==, 503);

  g_clear_pointer (&fx->ep, stox_sip_endpoint_free);
}

/* A body above the limit gets 413 from the front end (TCP: a datagram
 * could not carry it). */
typedef struct
{
  int      fd;
  GString *out;
  gsize    sent;
  GString *in;
} Stream;

static gboolean
on_stream_io (int          fd,
              GIOCondition condition,
              gpointer     user_data)
{
  Stream *s = user_data;

  if (condition & G_IO_OUT && s->sent < s->out->len)
    {
      ssize_t n = send (fd, s->out->str + s->sent, s->out->len - s->sent, MSG_NOSIGNAL);
      if (n > 0)
        s->sent += (gsize) n;
    }
  if (condition & (G_IO_IN | G_IO_HUP | G_IO_ERR))
    {
      char buf[4096];
      ssize_t n = recv (fd, buf, sizeof buf, 0);

      if (n > 0)
        g_string_append_len (s->in, buf, n);
      else if (n == 0 || errno != EAGAIN)
        return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
stream_has_final (Fixture *fx)
{
  return strstr (fx->stream_in->str, "\r\n\r\n") != NULL
         && g_str_has_prefix (fx->stream_in->str, "SIP/2.0 ");
}

static void
test_body_too_large (Fixture       *fx,
                     gconstpointer  data)
{
  gsize body_len = 1024 * 1024 + 64 * 1024 + 1;
  g_autofree char *body = g_malloc (body_len);
  gsize len;

  memset (body, 'a', body_len);
  g_autofree char *text = peer_request (fx, "MESSAGE", "Content-Type: text/plain\r\n",
                                        body, body_len, &len);
  /* Same request over TCP: fix up the Via transport. */
  char *via = strstr (text, "SIP/2.0/UDP");
  g_assert_nonnull (via);
  memcpy (via, "SIP/2.0/TCP", 11);

  Stream s = { .out = g_string_new_len (text, (gssize) len), .in = g_string_new (NULL) };
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (fx->ep_port) };
  to.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  s.fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  g_assert_cmpint (s.fd, >=, 0);
  int rc = connect (s.fd, (struct sockaddr *) &to, sizeof to);
  g_assert_true (rc == 0 || errno == EINPROGRESS);

  fx->stream_in = s.in;
  guint watch = g_unix_fd_add (s.fd, G_IO_IN | G_IO_OUT, on_stream_io, &s);
  wait_for (fx, stream_has_final, "413");
  g_source_remove (watch);

  g_test_message ("%.*s", (int) strcspn (s.in->str, "\r"), s.in->str);
  g_assert_true (g_str_has_prefix (s.in->str, "SIP/2.0 413 "));
  /* The front end answered (the stack's own 413 has no Server header). */
  g_assert_nonnull (strstr (s.in->str, "\r\nServer: " USER_AGENT "\r\n"));
  g_assert_cmpuint (fx->requests->len, ==, 0);

  close (s.fd);
  g_string_free (s.out, TRUE);
  g_string_free (s.in, TRUE);
  fx->stream_in = NULL;
}

/* ------------------------------------------------------------------ */
/* Subscription dialogs (RFC 6665)                                     */

#define PIDF "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n" \
             "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"pres:alice@gw.example\">" \
             "<tuple id=\"t1\"><status><basic>open</basic></status></tuple></presence>"

/* The value of the first `name:` header line, or NULL. */
static char *
header_value (const char *text,
              const char *name)
{
  g_autofree char *needle = g_strdup_printf ("\r\n%s: ", name);
  const char *p = strstr (text, needle);

  if (p == NULL)
    return NULL;
  p += strlen (needle);
  return g_strndup (p, strcspn (p, "\r\n"));
}

/* The tag parameter of a From/To value, or NULL. */
static char *
tag_of (const char *addr)
{
  const char *p = addr != NULL ? strstr (addr, ";tag=") : NULL;

  if (p == NULL)
    return NULL;
  p += strlen (";tag=");
  return g_strndup (p, strcspn (p, ";>\r\n"));
}

/* The URI inside <…> of a header value. */
static char *
uri_of (const char *addr)
{
  const char *p = strchr (addr, '<');

  g_assert_nonnull (p);
  p++;
  return g_strndup (p, strcspn (p, ">"));
}

/* The body: what follows the blank line. */
static const char *
body_of (const char *text)
{
  const char *p = strstr (text, "\r\n\r\n");

  g_assert_nonnull (p);
  return p + 4;
}

static guint
cseq_of (const char *text)
{
  g_autofree char *cseq = header_value (text, "CSeq");

  g_assert_nonnull (cseq);
  return (guint) g_ascii_strtoull (cseq, NULL, 10);
}

static gboolean
has_prefixed_datagram (Fixture *fx)
{
  for (guint i = 0; i < fx->datagrams->len; i++)
    {
      GBytes *b = fx->datagrams->pdata[i];
      gsize len;
      const char *data = g_bytes_get_data (b, &len);

      if (len >= strlen (fx->want_prefix)
          && memcmp (data, fx->want_prefix, strlen (fx->want_prefix)) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Waits (≤ 5 s) for a datagram starting with `prefix` among those received
 * since the last clear; returns its text. */
static char *
wait_datagram (Fixture    *fx,
               const char *prefix)
{
  fx->want_prefix = prefix;
  wait_for (fx, has_prefixed_datagram, prefix);
  for (guint i = 0; i < fx->datagrams->len; i++)
    {
      g_autofree char *text = datagram_text (fx->datagrams->pdata[i]);

      if (g_str_has_prefix (text, prefix))
        return g_steal_pointer (&text);
    }
  g_assert_not_reached ();
}

static gboolean
has_requests (Fixture *fx)
{
  return fx->requests->len >= fx->want_count;
}

static gboolean
has_responses (Fixture *fx)
{
  return fx->responses->len >= fx->want_count;
}

/* Waits for the n-th on_request (1-based) and returns it. */
static StoxSipRequest *
wait_request (Fixture *fx,
              guint    n)
{
  fx->want_count = n;
  wait_for (fx, has_requests, "on_request");
  return fx->requests->pdata[n - 1];
}

static StoxSipResponse *
wait_response (Fixture *fx,
               guint    n)
{
  fx->want_count = n;
  wait_for (fx, has_responses, "on_response");
  return &g_array_index (fx->responses, StoxSipResponse, n - 1);
}

/* A request from the peer inside (or outside) a dialog: whole From and To
 * values given, CRLF line ends, Content-Length computed. */
static char *
peer_dialog_request (Fixture    *fx,
                     const char *method,
                     const char *request_uri,
                     const char *from,
                     const char *to,
                     const char *call_id,
                     guint       cseq,
                     const char *extra_headers,
                     const char *body)
{
  gsize body_len = body != NULL ? strlen (body) : 0;

  return g_strdup_printf ("%s %s SIP/2.0\r\n"
                          "Via: SIP/2.0/UDP %s:%u;branch=z9hG4bK-dlg-%u;rport\r\n"
                          "Max-Forwards: 70\r\n"
                          "From: %s\r\n"
                          "To: %s\r\n"
                          "Call-ID: %s\r\n"
                          "CSeq: %u %s\r\n"
                          "Contact: <sip:%s@%s:%u>\r\n"
                          "%s"
                          "Content-Length: %zu\r\n"
                          "\r\n"
                          "%s",
                          method, request_uri, fx->host, fx->peer_port, ++fx->branch,
                          from, to, call_id, cseq, method,
                          fx->contact_user != NULL ? fx->contact_user : "contact",
                          fx->host, fx->peer_port,
                          extra_headers != NULL ? extra_headers : "", body_len,
                          body != NULL ? body : "");
}

static void
peer_send_text (Fixture    *fx,
                const char *text)
{
  peer_send (fx, text, strlen (text));
}

/* The peer's answer to a request it received: Via, From, To, Call-ID and
 * CSeq copied, `to_tag` added to To when it has none. */
static char *
peer_answer_with (const char *request,
                  const char *status_line,
                  const char *to_tag,
                  const char *extra_headers)
{
  g_auto (GStrv) lines = g_strsplit (request, "\r\n", -1);
  g_autoptr (GString) s = g_string_new (status_line);

  g_string_append (s, "\r\n");
  for (guint i = 1; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      const char *l = lines[i];

      if (g_str_has_prefix (l, "Via:") || g_str_has_prefix (l, "From:")
          || g_str_has_prefix (l, "Call-ID:") || g_str_has_prefix (l, "CSeq:"))
        g_string_append_printf (s, "%s\r\n", l);
      else if (g_str_has_prefix (l, "To:") && strstr (l, ";tag=") == NULL && to_tag != NULL)
        g_string_append_printf (s, "%s;tag=%s\r\n", l, to_tag);
      else if (g_str_has_prefix (l, "To:"))
        g_string_append_printf (s, "%s\r\n", l);
    }
  g_string_append_printf (s, "%sContent-Length: 0\r\n\r\n",
                          extra_headers != NULL ? extra_headers : "");
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* A SIP watcher's dialog with the gateway, as the peer sees it. */
typedef struct
{
  StoxToken dialog;      /* T: the initial SUBSCRIBE's token */
  char     *call_id;
  char     *from;        /* the watcher's From, with its tag */
  char     *to;          /* the gateway's To, with its tag */
  char     *ruri;        /* the gateway's Contact */
  guint     cseq;
} Watcher;

static void
watcher_clear (Watcher *w)
{
  g_free (w->call_id);
  g_free (w->from);
  g_free (w->to);
  g_free (w->ruri);
}

/* SUBSCRIBE from the peer (with `headers` added), answered 200 with
 * `expires` by the "core". */
static void
watcher_subscribe_with (Fixture    *fx,
                        Watcher    *w,
                        guint       expires,
                        const char *headers)
{
  g_autofree char *ruri = g_strdup_printf ("sip:alice@%s:%u", fx->host, fx->ep_port);
  g_autofree char *extra = g_strdup_printf ("Event: presence\r\nExpires: %u\r\n"
                                            "Accept: application/pidf+xml\r\n%s", expires,
                                            headers != NULL ? headers : "");
  guint n = fx->requests->len + 1;

  w->call_id = g_strdup_printf ("watch-%u@test", fx->branch);
  w->from = g_strdup_printf ("%s<sip:bob@%s:%u>;tag=watcher%u",
                             fx->watcher_display != NULL ? fx->watcher_display : "",
                             fx->host, fx->peer_port, fx->branch);
  w->cseq = 1;
  g_autofree char *to = g_strdup_printf ("<%s>", ruri);
  g_autofree char *text = peer_dialog_request (fx, "SUBSCRIBE", ruri, w->from, to, w->call_id,
                                               w->cseq, extra, NULL);

  g_ptr_array_set_size (fx->datagrams, 0);
  peer_send_text (fx, text);

  StoxSipRequest *req = wait_request (fx, n);
  g_assert_cmpint (req->method, ==, STOX_SIP_METHOD_SUBSCRIBE);
  g_assert_cmpuint (req->dialog, ==, 0);
  g_assert_cmpstr (req->event, ==, "presence");
  g_assert_cmpint (req->expires, ==, expires);
  g_assert_cmpstr (req->accept, ==, "application/pidf+xml");
  w->dialog = req->token;

  /* Nothing final before the core answers. */
  stox_test_run_for (50);
  g_assert_false (has_final_response (fx));

  stox_sip_endpoint_respond (fx->ep,
                             &(StoxSipAnswer) {
                               .token = w->dialog,
                               .status = 200,
                               .expires = expires,
                               .min_expires = -1,
                             });
  g_autofree char *resp = wait_datagram (fx, "SIP/2.0 ");
  g_autofree char *expires_line = g_strdup_printf ("\r\nExpires: %u\r\n", expires);
  g_autofree char *resp_to = header_value (resp, "To");
  g_autofree char *our_tag = tag_of (resp_to);
  g_autofree char *contact = header_value (resp, "Contact");

  message_wire (resp);
  g_assert_true (g_str_has_prefix (resp, "SIP/2.0 200 OK\r\n"));
  g_assert_nonnull (strstr (resp, expires_line));
  g_assert_cmpuint (count_headers (resp, "Expires"), ==, 1);
  g_assert_nonnull (our_tag);
  g_assert_nonnull (contact);
  g_assert_nonnull (strstr (resp, "\r\nAllow-Events: presence\r\n"));
  w->to = g_strdup (resp_to);
  w->ruri = uri_of (contact);
}

static void
watcher_subscribe (Fixture *fx,
                   Watcher *w,
                   guint    expires)
{
  watcher_subscribe_with (fx, w, expires, NULL);
}

/* Waits for the gateway's NOTIFY in `w`, checks the dialog, answers it
 * `status_line` and returns its text. */
static char *
watcher_receive_notify (Fixture    *fx,
                        Watcher    *w,
                        const char *status_line)
{
  g_autofree char *request_line = g_strdup_printf ("NOTIFY sip:%s@%s:%u SIP/2.0\r\n",
                                                   fx->contact_user != NULL
                                                   ? fx->contact_user : "contact",
                                                   fx->host, fx->peer_port);
  char *text = wait_datagram (fx, "NOTIFY ");
  g_autofree char *call_id = header_value (text, "Call-ID");
  g_autofree char *from = header_value (text, "From");
  g_autofree char *to = header_value (text, "To");
  g_autofree char *from_tag = tag_of (from);
  g_autofree char *to_tag = tag_of (to);
  g_autofree char *want_from_tag = tag_of (w->to);
  g_autofree char *want_to_tag = tag_of (w->from);

  message_wire (text);
  /* Sent to the watcher's Contact, in its dialog (RFC 3261 §12.2.1.1). */
  g_assert_true (g_str_has_prefix (text, request_line));
  g_assert_cmpstr (call_id, ==, w->call_id);
  g_assert_cmpstr (from_tag, ==, want_from_tag);
  g_assert_cmpstr (to_tag, ==, want_to_tag);
  g_assert_nonnull (strstr (text, "\r\nEvent: presence\r\n"));
  g_assert_nonnull (strstr (text, "\r\nContact: "));
  g_assert_nonnull (strstr (text, "\r\nUser-Agent: " USER_AGENT "\r\n"));

  g_autofree char *answer = peer_answer_with (text, status_line, NULL, NULL);
  g_ptr_array_set_size (fx->datagrams, 0);
  peer_reply (fx, answer);
  return text;
}

static void
notify_in (Fixture     *fx,
           Watcher     *w,
           StoxToken    token,
           StoxSubstate substate,
           guint        expires,
           const char  *reason,
           const char  *content_type,
           const char  *body)
{
  StoxSipNotify n = {
    .token = token,
    .dialog = w->dialog,
    .substate = substate,
    .reason = (char *) reason,
    .expires = expires,
    .content_type = (char *) content_type,
    .body = body != NULL ? g_bytes_new (body, strlen (body)) : NULL,
  };

  g_ptr_array_set_size (fx->datagrams, 0);
  stox_sip_endpoint_notify (fx->ep, &n);
  g_clear_pointer (&n.body, g_bytes_unref);
}

/* A SIP watcher's whole subscription, from SUBSCRIBE to the terminated
 * NOTIFY, with nothing sent or answered that the core did not ask for. */
static void
test_server_dialog (Fixture       *fx,
                    gconstpointer  data)
{
  Watcher w = { 0 };

  watcher_subscribe (fx, &w, 600);

  /* pending, no body: Content-Length 0 and no Content-Type. */
  notify_in (fx, &w, 5001, STOX_SUBSTATE_PENDING, 600, NULL, NULL, NULL);
  g_autofree char *n1 = watcher_receive_notify (fx, &w, "SIP/2.0 200 OK");
  g_assert_nonnull (strstr (n1, "\r\nSubscription-State: pending;expires=600\r\n"));
  g_assert_nonnull (strstr (n1, "\r\nContent-Length: 0\r\n"));
  g_assert_cmpuint (count_headers (n1, "Content-Type"), ==, 0);
  StoxSipResponse *r = wait_response (fx, 1);
  g_assert_cmpuint (r->token, ==, 5001);
  g_assert_cmpuint (r->status, ==, 200);
  guint cseq1 = cseq_of (n1);

  /* Refresh from the watcher, in the dialog: to the core, dialog = T,
   * and not answered by the stack. */
  fx->contact_user = "moved";
  g_autofree char *refresh = peer_dialog_request (fx, "SUBSCRIBE", w.ruri, w.from, w.to,
                                                  w.call_id, ++w.cseq,
                                                  "Event: presence\r\nExpires: 600\r\n", NULL);
  g_ptr_array_set_size (fx->datagrams, 0);
  peer_send_text (fx, refresh);
  StoxSipRequest *req = wait_request (fx, 2);
  g_assert_cmpint (req->method, ==, STOX_SIP_METHOD_SUBSCRIBE);
  g_assert_cmpuint (req->dialog, ==, w.dialog);
  g_assert_cmpuint (req->token, !=, w.dialog);
  g_assert_cmpint (req->expires, ==, 600);
  stox_test_run_for (100);
  g_assert_cmpuint (fx->datagrams->len, ==, 0);
  stox_sip_endpoint_respond (fx->ep,
                             &(StoxSipAnswer) {
                               .token = req->token,
                               .status = 200,
                               .expires = 300,
                               .min_expires = -1,
                             });
  g_autofree char *refreshed = wait_datagram (fx, "SIP/2.0 ");
  g_autofree char *refreshed_to = header_value (refreshed, "To");
  g_assert_true (g_str_has_prefix (refreshed, "SIP/2.0 200 OK\r\n"));
  g_assert_nonnull (strstr (refreshed, "\r\nExpires: 300\r\n"));
  g_assert_cmpstr (refreshed_to, ==, w.to);
  /* …and no NOTIFY of the stack's own after the refresh. */
  stox_test_run_for (100);
  g_assert_cmpuint (fx->datagrams->len, ==, 1);

  /* active with PIDF: body and Content-Type exactly; to the watcher's
   * new Contact (a refresh is a target refresh). */
  notify_in (fx, &w, 5002, STOX_SUBSTATE_ACTIVE, 300, NULL, "application/pidf+xml", PIDF);
  g_autofree char *n2 = watcher_receive_notify (fx, &w, "SIP/2.0 200 OK");
  g_autofree char *clen = g_strdup_printf ("\r\nContent-Length: %zu\r\n", strlen (PIDF));
  g_assert_nonnull (strstr (n2, "\r\nSubscription-State: active;expires=300\r\n"));
  g_assert_nonnull (strstr (n2, "\r\nContent-Type: application/pidf+xml\r\n"));
  g_assert_nonnull (strstr (n2, clen));
  g_assert_cmpstr (body_of (n2), ==, PIDF);
  g_assert_cmpuint (cseq_of (n2), ==, cseq1 + 1);
  r = wait_response (fx, 2);
  g_assert_cmpuint (r->token, ==, 5002);
  g_assert_cmpuint (r->status, ==, 200);

  /* terminated: after its answer the dialog is gone. */
  notify_in (fx, &w, 5003, STOX_SUBSTATE_TERMINATED, 0, "timeout", NULL, NULL);
  g_autofree char *n3 = watcher_receive_notify (fx, &w, "SIP/2.0 200 OK");
  g_assert_nonnull (strstr (n3, "\r\nSubscription-State: terminated;reason=timeout\r\n"));
  r = wait_response (fx, 3);
  g_assert_cmpuint (r->token, ==, 5003);
  g_assert_cmpuint (r->status, ==, 200);

  /* A further NOTIFY: 481 at once, nothing on the wire. */
  notify_in (fx, &w, 5004, STOX_SUBSTATE_ACTIVE, 300, NULL, NULL, NULL);
  g_assert_cmpuint (fx->responses->len, ==, 4);
  r = wait_response (fx, 4);
  g_assert_cmpuint (r->token, ==, 5004);
  g_assert_cmpuint (r->status, ==, 481);
  g_assert_cmpint (r->expires, ==, -1);

  /* A refresh in the dead dialog: 481 from the stack, not the core. */
  g_autofree char *late = peer_dialog_request (fx, "SUBSCRIBE", w.ruri, w.from, w.to,
                                               w.call_id, ++w.cseq,
                                               "Event: presence\r\nExpires: 600\r\n", NULL);
  g_ptr_array_set_size (fx->datagrams, 0);
  peer_send_text (fx, late);
  g_autofree char *gone = wait_datagram (fx, "SIP/2.0 ");
  g_assert_true (g_str_has_prefix (gone, "SIP/2.0 481 "));
  stox_test_run_for (50);
  g_assert_cmpuint (fx->requests->len, ==, 2);
  g_assert_cmpuint (fx->datagrams->len, ==, 1);
  watcher_clear (&w);
}

/* The dialog ends on what ends a subscription (RFC 6665 §4.2.2): a NOTIFY
 * answered 481, or the core answering a refresh 481; a terminated NOTIFY
 * makes the dialog refuse refreshes at once. */
static void
test_server_dialog_ends (Fixture       *fx,
                         gconstpointer  data)
{
  Watcher w1 = { 0 }, w2 = { 0 }, w3 = { 0 };

  /* NOTIFY answered 481 by the watcher. */
  watcher_subscribe (fx, &w1, 60);
  notify_in (fx, &w1, 6001, STOX_SUBSTATE_ACTIVE, 60, NULL, NULL, NULL);
  g_autofree char *n = watcher_receive_notify (fx, &w1, "SIP/2.0 481 Subscription Does Not Exist");
  StoxSipResponse *r = wait_response (fx, 1);
  g_assert_cmpuint (r->status, ==, 481);
  notify_in (fx, &w1, 6002, STOX_SUBSTATE_ACTIVE, 60, NULL, NULL, NULL);
  r = wait_response (fx, 2);
  g_assert_cmpuint (r->token, ==, 6002);
  g_assert_cmpuint (r->status, ==, 481);
  g_assert_cmpuint (fx->datagrams->len, ==, 0);

  /* A refresh the core answers 481. */
  watcher_subscribe (fx, &w2, 60);
  g_autofree char *refresh = peer_dialog_request (fx, "SUBSCRIBE", w2.ruri, w2.from, w2.to,
                                                  w2.call_id, ++w2.cseq,
                                                  "Event: presence\r\nExpires: 60\r\n", NULL);
  guint n_req = fx->requests->len + 1;
  g_ptr_array_set_size (fx->datagrams, 0);
  peer_send_text (fx, refresh);
  StoxSipRequest *req = wait_request (fx, n_req);
  g_assert_cmpuint (req->dialog, ==, w2.dialog);
  stox_sip_endpoint_respond (fx->ep, &(StoxSipAnswer) STOX_SIP_ANSWER_INIT (req->token, 481));
  g_autofree char *refused_refresh = wait_datagram (fx, "SIP/2.0 ");
  g_assert_true (g_str_has_prefix (refused_refresh, "SIP/2.0 481 "));
  notify_in (fx, &w2, 6003, STOX_SUBSTATE_ACTIVE, 60, NULL, NULL, NULL);
  r = wait_response (fx, 3);
  g_assert_cmpuint (r->token, ==, 6003);
  g_assert_cmpuint (r->status, ==, 481);

  /* Between a terminated NOTIFY and its answer, a refresh gets 481 and a
   * SUBSCRIBE with another event package too. */
  watcher_subscribe (fx, &w3, 60);
  notify_in (fx, &w3, 6004, STOX_SUBSTATE_TERMINATED, 0, "rejected", NULL, NULL);
  g_autofree char *n3 = wait_datagram (fx, "NOTIFY ");
  g_assert_nonnull (strstr (n3, "\r\nSubscription-State: terminated;reason=rejected\r\n"));
  guint before = fx->requests->len;
  g_autofree char *crossing = peer_dialog_request (fx, "SUBSCRIBE", w3.ruri, w3.from, w3.to,
                                                   w3.call_id, ++w3.cseq,
                                                   "Event: presence\r\nExpires: 60\r\n", NULL);
  g_ptr_array_set_size (fx->datagrams, 0);
  peer_send_text (fx, crossing);
  g_autofree char *refused = wait_datagram (fx, "SIP/2.0 ");
  g_assert_true (g_str_has_prefix (refused, "SIP/2.0 481 "));
  g_assert_cmpuint (fx->requests->len, ==, before);
  g_autofree char *answer = peer_answer_with (n3, "SIP/2.0 200 OK", NULL, NULL);
  peer_reply (fx, answer);
  r = wait_response (fx, 4);
  g_assert_cmpuint (r->token, ==, 6004);
  g_assert_cmpuint (r->status, ==, 200);

  watcher_clear (&w1);
  watcher_clear (&w2);
  watcher_clear (&w3);
}

/* Nothing of the stack's own: a subscription whose Expires runs out gets
 * no NOTIFY (the core enforces expiry), and one of ours is not refreshed
 * (the core refreshes). */
static void
test_no_automatic_requests (Fixture       *fx,
                            gconstpointer  data)
{
  Watcher w = { 0 };

  watcher_subscribe (fx, &w, 1);
  notify_in (fx, &w, 7001, STOX_SUBSTATE_ACTIVE, 1, NULL, NULL, NULL);
  g_autofree char *n = watcher_receive_notify (fx, &w, "SIP/2.0 200 OK");
  g_assert_nonnull (strstr (n, "\r\nSubscription-State: active;expires=1\r\n"));
  wait_response (fx, 1);

  StoxSipSubscribe s = {
    .dialog = 7100,
    .request_uri = g_strdup_printf ("sip:bob@%s:%u", fx->host, fx->peer_port),
    .from_uri = (char *) "sip:alice@gw.example",
    .to_uri = (char *) "sip:bob@sip.example",
    .event = (char *) "presence",
    .accept = (char *) "application/pidf+xml",
    .expires = 1,
  };
  stox_sip_endpoint_subscribe (fx->ep, &s);
  g_autofree char *sub = wait_datagram (fx, "SUBSCRIBE ");
  g_autofree char *ok = peer_answer_with (sub, "SIP/2.0 200 OK", "nfy7", "Expires: 1\r\n");
  peer_reply (fx, ok);
  StoxSipResponse *r = wait_response (fx, 2);
  g_assert_cmpuint (r->token, ==, 7100);
  g_assert_cmpint (r->expires, ==, 1);

  g_ptr_array_set_size (fx->datagrams, 0);
  stox_test_run_for (2500);
  for (guint i = 0; i < fx->datagrams->len; i++)
    {
      g_autofree char *text = datagram_text (fx->datagrams->pdata[i]);
      g_test_message ("unexpected: %s", text);
    }
  g_assert_cmpuint (fx->datagrams->len, ==, 0);
  g_free (s.request_uri);
  watcher_clear (&w);
}

/* The gateway's own subscription, as a SIP notifier sees it. */
typedef struct
{
  char *call_id;
  char *gw;          /* the gateway's From value, with its tag */
  char *notifier;    /* our To value, with the tag of our 2xx */
  char *ruri;        /* the gateway's Contact */
  guint cseq;        /* of our NOTIFYs */
} Notifier;

static void
notifier_clear (Notifier *nf)
{
  g_free (nf->call_id);
  g_free (nf->gw);
  g_free (nf->notifier);
  g_free (nf->ruri);
}

static char *
subscribe_from_gateway (Fixture   *fx,
                        StoxToken  dialog,
                        guint      expires)
{
  g_autofree char *target = g_strdup_printf ("sip:bob@%s:%u", fx->host, fx->peer_port);
  StoxSipSubscribe s = {
    .dialog = dialog,
    .request_uri = target,
    .from_uri = (char *) "sip:alice@gw.example",
    .to_uri = (char *) "sip:bob@sip.example",
    .event = (char *) "presence",
    .accept = (char *) "application/pidf+xml",
    .expires = expires,
  };

  g_ptr_array_set_size (fx->datagrams, 0);
  stox_sip_endpoint_subscribe (fx->ep, &s);
  char *text = wait_datagram (fx, "SUBSCRIBE ");
  g_autofree char *expires_line = g_strdup_printf ("\r\nExpires: %u\r\n", expires);

  g_test_message ("%s", text);
  g_assert_nonnull (strstr (text, "\r\nEvent: presence\r\n"));
  g_assert_nonnull (strstr (text, "\r\nAccept: application/pidf+xml\r\n"));
  g_assert_nonnull (strstr (text, expires_line));
  g_assert_nonnull (strstr (text, "\r\nContact: "));
  g_assert_nonnull (strstr (text, "\r\nUser-Agent: " USER_AGENT "\r\n"));
  return text;
}

/* A NOTIFY from the notifier in the gateway's dialog. */
static void
notifier_send_notify (Fixture    *fx,
                      Notifier   *nf,
                      const char *substate,
                      const char *body)
{
  g_autofree char *extra = g_strdup_printf ("Event: presence\r\nSubscription-State: %s\r\n%s",
                                            substate, body != NULL
                                            ? "Content-Type: application/pidf+xml\r\n" : "");
  g_autofree char *text = peer_dialog_request (fx, "NOTIFY", nf->ruri, nf->notifier, nf->gw,
                                               nf->call_id, ++nf->cseq, extra, body);

  g_ptr_array_set_size (fx->datagrams, 0);
  peer_send_text (fx, text);
}

static void
test_client_dialog (Fixture       *fx,
                    gconstpointer  data)
{
  const StoxToken dialog = 9001;
  Notifier nf = { 0 };

  /* SUBSCRIBE out of dialog, then 200 with a To-tag and a shorter Expires. */
  g_autofree char *s1 = subscribe_from_gateway (fx, dialog, 300);
  g_autofree char *request_line = g_strdup_printf ("SUBSCRIBE sip:bob@%s:%u SIP/2.0\r\n",
                                                   fx->host, fx->peer_port);
  g_autofree char *to1 = header_value (s1, "To");
  g_autofree char *contact = header_value (s1, "Contact");
  g_assert_true (g_str_has_prefix (s1, request_line));
  g_assert_cmpstr (to1, ==, "<sip:bob@sip.example>");
  nf.call_id = header_value (s1, "Call-ID");
  nf.gw = header_value (s1, "From");
  nf.ruri = uri_of (contact);
  g_assert_true (g_str_has_prefix (nf.gw, "<sip:alice@gw.example>;tag="));
  guint cseq1 = cseq_of (s1);

  /* The notifier's Contact is where in-dialog requests go from now on. */
  g_autofree char *answer_headers = g_strdup_printf ("Expires: 120\r\n"
                                                     "Contact: <sip:notifier@%s:%u>\r\n",
                                                     fx->host, fx->peer_port);
  g_autofree char *ok = peer_answer_with (s1, "SIP/2.0 200 OK", "nfy1", answer_headers);
  peer_reply (fx, ok);
  StoxSipResponse *r = wait_response (fx, 1);
  g_assert_cmpuint (r->token, ==, dialog);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpint (r->expires, ==, 120);
  g_assert_cmpint (r->min_expires, ==, -1);
  nf.notifier = g_strdup_printf ("%s;tag=nfy1", to1);

  /* NOTIFY active with PIDF → the core, which answers it. */
  notifier_send_notify (fx, &nf, "active;expires=120", PIDF);
  StoxSipRequest *req = wait_request (fx, 1);
  g_assert_cmpint (req->method, ==, STOX_SIP_METHOD_NOTIFY);
  g_assert_cmpuint (req->dialog, ==, dialog);
  g_assert_cmpstr (req->event, ==, "presence");
  g_assert_cmpstr (req->substate, ==, "active");
  g_assert_cmpint (req->substate_expires, ==, 120);
  g_assert_null (req->substate_reason);
  g_assert_cmpstr (req->content_type, ==, "application/pidf+xml");
  g_assert_nonnull (req->body);
  g_assert_cmpmem (g_bytes_get_data (req->body, NULL), g_bytes_get_size (req->body),
                   PIDF, strlen (PIDF));
  /* The stack leaves the NOTIFY to the core. */
  stox_test_run_for (100);
  g_assert_false (has_final_response (fx));
  stox_sip_endpoint_respond (fx->ep, &(StoxSipAnswer) STOX_SIP_ANSWER_INIT (req->token, 200));
  g_autofree char *notify_ok = wait_datagram (fx, "SIP/2.0 ");
  g_assert_true (g_str_has_prefix (notify_ok, "SIP/2.0 200 OK\r\n"));
  g_assert_nonnull (strstr (notify_ok, " NOTIFY\r\n"));

  /* A NOTIFY with a bad body: the core's 400 goes out as such. */
  notifier_send_notify (fx, &nf, "active;expires=100", "<not-pidf");
  req = wait_request (fx, 2);
  stox_sip_endpoint_respond (fx->ep,
                             &(StoxSipAnswer) {
                               .token = req->token,
                               .status = 400,
                               .phrase = (char *) "Bad PIDF",
                               .expires = -1,
                               .min_expires = -1,
                             });
  g_autofree char *bad = wait_datagram (fx, "SIP/2.0 ");
  g_assert_true (g_str_has_prefix (bad, "SIP/2.0 400 Bad PIDF\r\n"));

  /* Refresh: same Call-ID, CSeq one up, To with the notifier's tag, to
   * the notifier's Contact (its NOTIFYs' Contact, "contact", refreshed the
   * 2xx's "notifier"). */
  g_autofree char *s2 = subscribe_from_gateway (fx, dialog, 300);
  g_autofree char *call_id2 = header_value (s2, "Call-ID");
  g_autofree char *from2 = header_value (s2, "From");
  g_autofree char *to2 = header_value (s2, "To");
  g_autofree char *refresh_line = g_strdup_printf ("SUBSCRIBE sip:contact@%s:%u SIP/2.0\r\n",
                                                   fx->host, fx->peer_port);
  g_assert_true (g_str_has_prefix (s2, refresh_line));
  g_assert_cmpstr (call_id2, ==, nf.call_id);
  g_assert_cmpstr (from2, ==, nf.gw);
  g_assert_cmpstr (to2, ==, nf.notifier);
  g_assert_cmpuint (cseq_of (s2), ==, cseq1 + 1);
  g_autofree char *ok_refresh = peer_answer_with (s2, "SIP/2.0 200 OK", NULL, "Expires: 300\r\n");
  peer_reply (fx, ok_refresh);
  r = wait_response (fx, 2);
  g_assert_cmpuint (r->token, ==, dialog);
  g_assert_cmpint (r->expires, ==, 300);

  /* Too brief: 423 with Min-Expires, the subscription stays. */
  g_autofree char *s3 = subscribe_from_gateway (fx, dialog, 60);
  g_assert_cmpuint (cseq_of (s3), ==, cseq1 + 2);
  g_autofree char *brief = peer_answer_with (s3, "SIP/2.0 423 Interval Too Brief", NULL,
                                             "Min-Expires: 900\r\n");
  peer_reply (fx, brief);
  r = wait_response (fx, 3);
  g_assert_cmpuint (r->token, ==, dialog);
  g_assert_cmpuint (r->status, ==, 423);
  g_assert_cmpint (r->min_expires, ==, 900);
  g_assert_cmpint (r->expires, ==, -1);

  /* Unsubscribe: Expires 0 in the dialog, then the final NOTIFY. */
  g_autofree char *s4 = subscribe_from_gateway (fx, dialog, 0);
  g_autofree char *call_id4 = header_value (s4, "Call-ID");
  g_assert_cmpstr (call_id4, ==, nf.call_id);
  g_assert_cmpuint (cseq_of (s4), ==, cseq1 + 3);
  g_autofree char *ok_unsub = peer_answer_with (s4, "SIP/2.0 200 OK", NULL, "Expires: 0\r\n");
  peer_reply (fx, ok_unsub);
  r = wait_response (fx, 4);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpint (r->expires, ==, 0);

  notifier_send_notify (fx, &nf, "terminated;reason=timeout", NULL);
  req = wait_request (fx, 3);
  g_assert_cmpuint (req->dialog, ==, dialog);
  g_assert_cmpstr (req->substate, ==, "terminated");
  g_assert_cmpstr (req->substate_reason, ==, "timeout");
  g_assert_null (req->body);
  stox_sip_endpoint_respond (fx->ep, &(StoxSipAnswer) STOX_SIP_ANSWER_INIT (req->token, 200));
  g_autofree char *final_ok = wait_datagram (fx, "SIP/2.0 ");
  g_assert_true (g_str_has_prefix (final_ok, "SIP/2.0 200 OK\r\n"));

  /* The dialog is gone: a further NOTIFY gets 481 from the stack. */
  notifier_send_notify (fx, &nf, "active;expires=60", NULL);
  g_autofree char *gone = wait_datagram (fx, "SIP/2.0 ");
  g_assert_true (g_str_has_prefix (gone, "SIP/2.0 481 "));
  stox_test_run_for (50);
  g_assert_cmpuint (fx->requests->len, ==, 3);

  /* The same id again is a new dialog: a new Call-ID, no To-tag. */
  g_autofree char *s5 = subscribe_from_gateway (fx, dialog, 300);
  g_autofree char *call_id5 = header_value (s5, "Call-ID");
  g_autofree char *to5 = header_value (s5, "To");
  g_assert_cmpstr (call_id5, !=, nf.call_id);
  g_assert_cmpstr (to5, ==, "<sip:bob@sip.example>");
  notifier_clear (&nf);
}

/* The first NOTIFY may come before the 2xx (RFC 6665 §4.1.2.4); a
 * rejected initial SUBSCRIBE leaves no dialog. */
static void
test_client_dialog_notify_first (Fixture       *fx,
                                 gconstpointer  data)
{
  Notifier nf = { 0 };
  g_autofree char *s1 = subscribe_from_gateway (fx, 42, 300);
  g_autofree char *contact = header_value (s1, "Contact");
  g_autofree char *to = header_value (s1, "To");

  nf.call_id = header_value (s1, "Call-ID");
  nf.gw = header_value (s1, "From");
  nf.ruri = uri_of (contact);
  nf.notifier = g_strdup_printf ("%s;tag=early", to);

  notifier_send_notify (fx, &nf, "pending;expires=300", NULL);
  StoxSipRequest *req = wait_request (fx, 1);
  g_assert_cmpint (req->method, ==, STOX_SIP_METHOD_NOTIFY);
  g_assert_cmpuint (req->dialog, ==, 42);
  g_assert_cmpstr (req->substate, ==, "pending");
  g_assert_cmpint (req->substate_expires, ==, 300);
  stox_sip_endpoint_respond (fx->ep, &(StoxSipAnswer) STOX_SIP_ANSWER_INIT (req->token, 200));
  g_autofree char *ok = wait_datagram (fx, "SIP/2.0 ");
  g_assert_true (g_str_has_prefix (ok, "SIP/2.0 200 OK\r\n"));

  /* A NOTIFY from another fork (another tag) is not this dialog. */
  Notifier fork = nf;
  fork.notifier = g_strdup_printf ("%s;tag=fork2", to);
  notifier_send_notify (fx, &fork, "active;expires=300", NULL);
  g_autofree char *refused = wait_datagram (fx, "SIP/2.0 ");
  g_assert_true (g_str_has_prefix (refused, "SIP/2.0 481 "));
  g_free (fork.notifier);
  nf.cseq = fork.cseq;

  g_autofree char *answer = peer_answer_with (s1, "SIP/2.0 202 Accepted", "early",
                                              "Expires: 300\r\n");
  peer_reply (fx, answer);
  StoxSipResponse *r = wait_response (fx, 1);
  g_assert_cmpuint (r->token, ==, 42);
  g_assert_cmpuint (r->status, ==, 202);
  g_assert_cmpint (r->expires, ==, 300);

  /* Rejected: the dialog is forgotten, the id starts afresh. */
  g_autofree char *s2 = subscribe_from_gateway (fx, 43, 300);
  g_autofree char *rejected = peer_answer_with (s2, "SIP/2.0 403 Forbidden", "no", NULL);
  peer_reply (fx, rejected);
  r = wait_response (fx, 2);
  g_assert_cmpuint (r->token, ==, 43);
  g_assert_cmpuint (r->status, ==, 403);
  g_autofree char *s3 = subscribe_from_gateway (fx, 43, 300);
  g_autofree char *call_id2 = header_value (s2, "Call-ID");
  g_autofree char *call_id3 = header_value (s3, "Call-ID");
  g_assert_cmpstr (call_id3, !=, call_id2);
  notifier_clear (&nf);
}

/* Requests for dialogs nobody has: the stack's 481, the core never sees
 * them; a NOTIFY to an unknown dialog fails at once, once. */
static void
test_unknown_dialogs (Fixture       *fx,
                      gconstpointer  data)
{
  g_autofree char *ruri = g_strdup_printf ("sip:alice@%s:%u", fx->host, fx->ep_port);
  g_autofree char *from = g_strdup_printf ("<sip:bob@%s:%u>;tag=x1", fx->host, fx->peer_port);
  g_autofree char *to = g_strdup_printf ("<%s>;tag=nosuch", ruri);
  const char *methods[] = { "NOTIFY", "SUBSCRIBE" };

  for (gsize i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      g_autofree char *text = peer_dialog_request (fx, methods[i], ruri, from, to, "ghost@test",
                                                   (guint) i + 1,
                                                   "Event: presence\r\n"
                                                   "Subscription-State: active;expires=60\r\n",
                                                   NULL);
      g_ptr_array_set_size (fx->datagrams, 0);
      peer_send_text (fx, text);
      g_autofree char *resp = wait_datagram (fx, "SIP/2.0 ");
      g_assert_true (g_str_has_prefix (resp, "SIP/2.0 481 "));
    }

  /* An initial SUBSCRIBE for an event we do not serve: 489 + Allow-Events. */
  g_autofree char *to0 = g_strdup_printf ("<%s>", ruri);
  g_autofree char *winfo = peer_dialog_request (fx, "SUBSCRIBE", ruri, from, to0, "winfo@test", 1,
                                                "Event: presence.winfo\r\n", NULL);
  g_ptr_array_set_size (fx->datagrams, 0);
  peer_send_text (fx, winfo);
  g_autofree char *bad_event = wait_datagram (fx, "SIP/2.0 ");
  g_assert_true (g_str_has_prefix (bad_event, "SIP/2.0 489 "));
  g_assert_false (stox_sip_event_allowed ("presence.winfo"));
  g_assert_cmpstr (stox_sip_allowed_events (), ==, "presence");
  g_assert_nonnull (strstr (bad_event, "\r\nAllow-Events: presence\r\n"));
  g_assert_cmpuint (fx->requests->len, ==, 0);

  /* notify() and subscribe() report what cannot be sent at once, once. */
  StoxSipNotify n = { .token = 77, .dialog = 12345, .substate = STOX_SUBSTATE_ACTIVE };
  stox_sip_endpoint_notify (fx->ep, &n);
  g_assert_cmpuint (fx->responses->len, ==, 1);
  StoxSipResponse *r = &g_array_index (fx->responses, StoxSipResponse, 0);
  g_assert_cmpuint (r->token, ==, 77);
  g_assert_cmpuint (r->status, ==, 481);

  StoxSipSubscribe s = { .dialog = 78, .request_uri = (char *) "sip:bob@127.0.0.1",
                         .from_uri = (char *) "<>garbage", .to_uri = (char *) "sip:b@x",
                         .event = (char *) "presence", .expires = 60 };
  stox_sip_endpoint_subscribe (fx->ep, &s);
  g_assert_cmpuint (fx->responses->len, ==, 2);
  r = &g_array_index (fx->responses, StoxSipResponse, 1);
  g_assert_cmpuint (r->token, ==, 78);
  g_assert_cmpuint (r->status, ==, 500);
  stox_test_run_for (50);
  g_assert_cmpuint (fx->responses->len, ==, 2);
}

/* Shutdown lets the core's terminated NOTIFY out and waits for its answer
 * (or gives up within 3 s) before it calls itself done. */
static void
shutdown_with_notify (Fixture  *fx,
                      gboolean  answer)
{
  Watcher w = { 0 };

  watcher_subscribe (fx, &w, 600);
  notify_in (fx, &w, 8001, STOX_SUBSTATE_TERMINATED, 0, "noresource", NULL, NULL);
  stox_sip_endpoint_shutdown (fx->ep, on_done, fx);

  g_autofree char *n = wait_datagram (fx, "NOTIFY ");
  g_assert_nonnull (strstr (n, "\r\nSubscription-State: terminated;reason=noresource\r\n"));
  stox_test_run_for (200);
  g_assert_false (fx->done);

  /* After shutdown started, nothing new goes out. */
  StoxSipNotify late = { .token = 8002, .dialog = w.dialog, .substate = STOX_SUBSTATE_ACTIVE };
  stox_sip_endpoint_notify (fx->ep, &late);

  gint64 start = g_get_monotonic_time ();
  if (answer)
    {
      g_autofree char *ok = peer_answer_with (n, "SIP/2.0 200 OK", NULL, NULL);
      peer_reply (fx, ok);
    }
  wait_for (fx, is_done, "shutdown");
  gint64 took_ms = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("done after %" G_GINT64_FORMAT " ms", took_ms);
  if (answer)
    {
      g_assert_cmpint (took_ms, <, 1000);
      g_assert_cmpuint (fx->responses->len, ==, 2);
      gboolean seen = FALSE;
      for (guint i = 0; i < fx->responses->len; i++)
        {
          StoxSipResponse *r = &g_array_index (fx->responses, StoxSipResponse, i);
          if (r->token == 8001)
            {
              g_assert_cmpuint (r->status, ==, 200);
              seen = TRUE;
            }
          else
            {
              g_assert_cmpuint (r->token, ==, 8002);
              g_assert_cmpuint (r->status, ==, 503);
            }
        }
      g_assert_true (seen);
    }
  else
    g_assert_cmpint (took_ms, <, 3500);

  g_clear_pointer (&fx->ep, stox_sip_endpoint_free);
  watcher_clear (&w);
}

static void
test_shutdown_waits_for_notify (Fixture       *fx,
                                gconstpointer  data)
{
  shutdown_with_notify (fx, TRUE);
}

static void
test_shutdown_gives_up_on_notify (Fixture       *fx,
                                  gconstpointer  data)
{
  shutdown_with_notify (fx, FALSE);
}

/* ------------------------------------------------------------------ */
/* Server dialogs across a crash                                       */

#define STATE_TYPE "(ayayayayaayuuayay)"

/* A saved state in the format dialog-state.c documents ("v1 " and the
 * GVariant text of a STATE_TYPE tuple). */
static GVariant *
state_parse (const char *state)
{
  g_autoptr (GError) error = NULL;
  GVariant *v;

  g_assert_nonnull (state);
  g_assert_true (g_str_has_prefix (state, "v1 "));
  v = g_variant_parse (G_VARIANT_TYPE (STATE_TYPE), state + 3, NULL, NULL, &error);
  g_assert_no_error (error);
  return v;
}

/* Field `i`: 5 is the remote CSeq, 6 the local CSeq ceiling. */
static guint32
state_u32 (const char *state,
           gsize       i)
{
  g_autoptr (GVariant) v = state_parse (state);
  guint32 n = 0;

  g_variant_get_child (v, i, "u", &n);
  return n;
}

/* Field `i`: 0 Call-ID, 1 local, 2 remote address, 3 remote target. */
static char *
state_text (const char *state,
            gsize       i)
{
  g_autoptr (GVariant) v = state_parse (state);
  char *text = NULL;

  g_variant_get_child (v, i, "^ay", &text);
  return text;
}

/* A state written by hand, one GVariant text piece per field. */
static char *
state_literal (const char *const pieces[9])
{
  return g_strdup_printf ("v1 (%s, %s, %s, %s, %s, %s, %s, %s, %s)", pieces[0], pieces[1],
                          pieces[2], pieces[3], pieces[4], pieces[5], pieces[6], pieces[7],
                          pieces[8]);
}

/* How often the dialog func told `id`'s state (`ended`: its end). */
static guint
dialog_calls_for (Fixture   *fx,
                  StoxToken  id,
                  gboolean   ended)
{
  guint n = 0;

  for (guint i = 0; i < fx->dialog_calls->len; i++)
    {
      DialogCall *c = &g_array_index (fx->dialog_calls, DialogCall, i);

      if (c->id == id && (c->state == NULL) == ended)
        n++;
    }
  return n;
}

/* The state last told for `id` (NULL when it was its end). */
static const char *
last_state (Fixture   *fx,
            StoxToken  id)
{
  for (guint i = fx->dialog_calls->len; i > 0; i--)
    {
      DialogCall *c = &g_array_index (fx->dialog_calls, DialogCall, i - 1);

      if (c->id == id)
        return c->state;
    }
  g_assert_not_reached ();
}

/* Every `name:` header value of a message, joined with ", ". */
static char *
header_values (const char *text,
               const char *name)
{
  g_autofree char *needle = g_strdup_printf ("\r\n%s: ", name);
  g_autoptr (GString) all = g_string_new (NULL);
  const char *end = strstr (text, "\r\n\r\n");

  for (const char *p = strstr (text, needle); p != NULL && p < end; p = strstr (p + 1, needle))
    {
      const char *v = p + strlen (needle);

      if (all->len > 0)
        g_string_append (all, ", ");
      g_string_append_len (all, v, (gssize) strcspn (v, "\r\n"));
    }
  return all->len > 0 ? g_string_free (g_steal_pointer (&all), FALSE) : NULL;
}

/* An in-dialog SUBSCRIBE from the watcher, CSeq one up. */
static void
watcher_refresh (Fixture *fx,
                 Watcher *w,
                 guint    expires)
{
  g_autofree char *extra = g_strdup_printf ("Event: presence\r\nExpires: %u\r\n", expires);
  g_autofree char *text = peer_dialog_request (fx, "SUBSCRIBE", w->ruri, w->from, w->to,
                                               w->call_id, ++w->cseq, extra, NULL);

  g_ptr_array_set_size (fx->datagrams, 0);
  peer_send_text (fx, text);
}

/* …which reaches the core in the dialog, and its 200 (Expires: 300) the
 * watcher, with the gateway's tag. */
static void
watcher_refresh_answered (Fixture *fx,
                          Watcher *w)
{
  guint n = fx->requests->len + 1;

  watcher_refresh (fx, w, 600);
  StoxSipRequest *req = wait_request (fx, n);
  g_assert_cmpint (req->method, ==, STOX_SIP_METHOD_SUBSCRIBE);
  g_assert_cmpuint (req->dialog, ==, w->dialog);
  g_assert_cmpuint (req->token, !=, w->dialog);
  stox_sip_endpoint_respond (fx->ep,
                             &(StoxSipAnswer) {
                               .token = req->token,
                               .status = 200,
                               .expires = 300,
                               .min_expires = -1,
                             });

  g_autofree char *ok = wait_datagram (fx, "SIP/2.0 ");
  g_autofree char *ok_to = header_value (ok, "To");
  g_autofree char *ok_tag = tag_of (ok_to);
  g_autofree char *want_tag = tag_of (w->to);
  g_assert_true (g_str_has_prefix (ok, "SIP/2.0 200 OK\r\n"));
  g_assert_nonnull (strstr (ok, "\r\nExpires: 300\r\n"));
  g_assert_cmpstr (ok_tag, ==, want_tag);
}

/* …or finds none: 481 from the stack, nothing for the core. */
static void
watcher_refresh_refused (Fixture *fx,
                         Watcher *w)
{
  guint before = fx->requests->len;

  watcher_refresh (fx, w, 600);
  g_autofree char *resp = wait_datagram (fx, "SIP/2.0 ");
  g_assert_true (g_str_has_prefix (resp, "SIP/2.0 481 "));
  stox_test_run_for (20);
  g_assert_cmpuint (fx->requests->len, ==, before);
}

/* When the dialog func is told what: the 2xx that creates a server
 * dialog, a refresh that moves its target, and its end, once. */
static void
test_dialog_state_reports (Fixture       *fx,
                           gconstpointer  data)
{
  Watcher w = { 0 }, w2 = { 0 };

  stox_sip_endpoint_set_dialog_func (fx->ep, on_dialog, fx);

  watcher_subscribe (fx, &w, 600);
  g_assert_cmpuint (fx->dialog_calls->len, ==, 1);
  const char *s1 = last_state (fx, w.dialog);
  g_test_message ("%s", s1);
  g_assert_nonnull (s1);
  g_assert_null (strpbrk (s1, "\r\n"));
  g_autofree char *call_id1 = state_text (s1, 0);
  g_autofree char *local1 = state_text (s1, 1);
  g_autofree char *remote1 = state_text (s1, 2);
  g_autofree char *target1 = state_text (s1, 3);
  g_autofree char *contact1 = g_strdup_printf ("sip:contact@%s:%u", fx->host, fx->peer_port);
  g_assert_cmpstr (call_id1, ==, w.call_id);
  g_assert_cmpstr (local1, ==, w.to);       /* our To as in the 2xx */
  g_assert_cmpstr (remote1, ==, w.from);
  g_assert_cmpstr (target1, ==, contact1);
  g_assert_cmpuint (state_u32 (s1, 5), ==, 1);

  /* A NOTIFY early in the reserved block, a refresh with the same
   * Contact: nothing to tell. */
  notify_in (fx, &w, 5001, STOX_SUBSTATE_ACTIVE, 600, NULL, NULL, NULL);
  g_autofree char *n1 = watcher_receive_notify (fx, &w, "SIP/2.0 200 OK");
  g_assert_cmpuint (cseq_of (n1), <, state_u32 (s1, 6));
  wait_response (fx, 1);
  watcher_refresh_answered (fx, &w);
  g_assert_cmpuint (fx->dialog_calls->len, ==, 1);

  /* A refresh from a new Contact moves the target: told again. */
  fx->contact_user = "moved";
  watcher_refresh_answered (fx, &w);
  g_assert_cmpuint (fx->dialog_calls->len, ==, 2);
  const char *s2 = last_state (fx, w.dialog);
  g_autofree char *target2 = state_text (s2, 3);
  g_autofree char *contact2 = g_strdup_printf ("sip:moved@%s:%u", fx->host, fx->peer_port);
  g_assert_cmpstr (target2, ==, contact2);
  g_assert_cmpuint (state_u32 (s2, 5), ==, w.cseq);
  g_assert_cmpuint (state_u32 (s2, 6), ==, state_u32 (s1, 6));

  /* A terminated NOTIFY: the end, told as it goes out, and only then. */
  notify_in (fx, &w, 5002, STOX_SUBSTATE_TERMINATED, 0, "timeout", NULL, NULL);
  g_assert_cmpuint (fx->dialog_calls->len, ==, 3);
  g_assert_null (last_state (fx, w.dialog));
  g_autofree char *n2 = watcher_receive_notify (fx, &w, "SIP/2.0 200 OK");
  wait_response (fx, 2);
  stox_test_run_for (50);
  g_assert_cmpuint (dialog_calls_for (fx, w.dialog, TRUE), ==, 1);
  g_assert_cmpuint (fx->dialog_calls->len, ==, 3);

  /* A NOTIFY the watcher answers 481 ends the dialog: its end, once. */
  watcher_subscribe (fx, &w2, 600);
  g_assert_cmpuint (fx->dialog_calls->len, ==, 4);
  notify_in (fx, &w2, 5003, STOX_SUBSTATE_ACTIVE, 600, NULL, NULL, NULL);
  g_autofree char *n3 = watcher_receive_notify (fx, &w2,
                                                "SIP/2.0 481 Subscription Does Not Exist");
  g_assert_cmpuint (wait_response (fx, 3)->status, ==, 481);
  notify_in (fx, &w2, 5004, STOX_SUBSTATE_ACTIVE, 600, NULL, NULL, NULL);
  g_assert_cmpuint (wait_response (fx, 4)->status, ==, 481);
  g_assert_cmpuint (dialog_calls_for (fx, w2.dialog, TRUE), ==, 1);
  g_assert_cmpuint (fx->dialog_calls->len, ==, 5);

  /* The gateway's own subscriptions are not kept. */
  g_autofree char *sub = subscribe_from_gateway (fx, 9100, 300);
  g_autofree char *ok = peer_answer_with (sub, "SIP/2.0 200 OK", "nfy9", "Expires: 300\r\n");
  peer_reply (fx, ok);
  g_assert_cmpuint (wait_response (fx, 5)->token, ==, 9100);
  g_assert_cmpuint (fx->dialog_calls->len, ==, 5);

  watcher_clear (&w);
  watcher_clear (&w2);
}

/* A crash and a new process: endpoint A's dialog, restored in B on the
 * same address from the state A told, goes on as if nothing happened. */
static void
test_dialog_restore (Fixture       *fx,
                     gconstpointer  data)
{
  g_autoptr (GError) error = NULL;
  Watcher w = { 0 }, w2 = { 0 };
  /* The first hop is the peer itself.  Bytes no header should need (not
   * even UTF-8), to be kept unchanged: in the second hop's display name
   * (which Sofia leaves out of Route), and in the watcher's From (which
   * our NOTIFYs' To repeats). */
  g_autofree char *record_route = g_strdup_printf (
      "Record-Route: <sip:p1@%s:%u;lr>\r\n"
      "Record-Route: \"Pr\xc3\xb6xy \xff\" <sip:p2.invalid;lr;x=\"a;b\">\r\n",
      fx->host, fx->peer_port);
  g_autofree char *route_before = NULL;
  g_autofree char *to_before = NULL;
  guint max_cseq = 0;

  fx->contact_user = "watcher";
  fx->watcher_display = "\"B\xc3\xb6" "b \xfe\\\"\" ";
  stox_sip_endpoint_set_dialog_func (fx->ep, on_dialog, fx);
  watcher_subscribe_with (fx, &w, 600, record_route);
  for (guint i = 0; i < 3; i++)
    {
      notify_in (fx, &w, 5101 + i, STOX_SUBSTATE_ACTIVE, 600, NULL, "application/pidf+xml",
                 PIDF);
      g_autofree char *n = watcher_receive_notify (fx, &w, "SIP/2.0 200 OK");

      max_cseq = MAX (max_cseq, cseq_of (n));
      g_clear_pointer (&route_before, g_free);
      g_clear_pointer (&to_before, g_free);
      route_before = header_values (n, "Route");
      to_before = header_value (n, "To");
      g_assert_cmpuint (wait_response (fx, i + 1)->status, ==, 200);
    }
  g_test_message ("Route: %s", route_before);
  g_autofree char *hop1 = g_strdup_printf ("<sip:p1@%s:%u;lr>, ", fx->host, fx->peer_port);
  g_assert_cmpstr (route_before + strlen (hop1), ==, "<sip:p2.invalid;lr;x=\"a;b\">");
  g_assert_cmpstr (to_before, ==, w.from);

  /* The crash: A goes without telling anything more.  Its state is one
   * line of ASCII, with the bytes inside. */
  g_autofree char *state = g_strdup (last_state (fx, w.dialog));
  guint calls = fx->dialog_calls->len;
  g_test_message ("%s", state);
  for (const char *p = state; *p != '\0'; p++)
    g_assert_true (*p >= 0x20 && *p < 0x7f);
  g_autoptr (GVariant) fields = state_parse (state);
  g_autofree const char **routes = NULL;
  g_variant_get_child (fields, 4, "^a&ay", &routes);
  g_assert_cmpuint (g_strv_length ((GStrv) routes), ==, 2);
  g_assert_cmpstr (routes[1], ==, "\"Pr\xc3\xb6xy \xff\" <sip:p2.invalid;lr;x=\"a;b\">");
  g_clear_pointer (&fx->ep, stox_sip_endpoint_free);
  g_assert_cmpuint (fx->dialog_calls->len, ==, calls);

  StoxSipEndpointConfig config = { .listen = fx->listen, .user_agent = USER_AGENT };
  fx->ep = stox_sip_endpoint_new (&config, on_request, on_response, fx, &error);
  g_assert_no_error (error);
  stox_sip_endpoint_set_dialog_func (fx->ep, on_dialog, fx);
  g_assert_true (stox_sip_endpoint_restore_dialog (fx->ep, w.dialog, state, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fx->dialog_calls->len, ==, calls);

  /* From the loop, before anything is sent: CSeqs above the old ceiling
   * are reserved. */
  stox_test_run_for (20);
  g_assert_cmpuint (fx->dialog_calls->len, ==, calls + 1);
  guint32 told = state_u32 (last_state (fx, w.dialog), 6);
  g_assert_cmpuint (told, >, state_u32 (state, 6));

  /* The watcher's refresh lands in the dialog; B's own token is new. */
  watcher_refresh_answered (fx, &w);

  /* B's NOTIFY: same dialog (checked by watcher_receive_notify), same
   * route set, and a CSeq above all of A's. */
  notify_in (fx, &w, 5201, STOX_SUBSTATE_ACTIVE, 300, NULL, "application/pidf+xml", PIDF);
  g_autofree char *n = watcher_receive_notify (fx, &w, "SIP/2.0 200 OK");
  g_autofree char *route_after = header_values (n, "Route");
  g_autofree char *to_after = header_value (n, "To");
  g_assert_cmpstr (route_after, ==, route_before);
  g_assert_cmpstr (to_after, ==, to_before);
  g_assert_cmpuint (cseq_of (n), >, max_cseq);
  g_assert_cmpuint (cseq_of (n), ==, state_u32 (state, 6) + 1);
  g_assert_nonnull (strstr (n, "\r\nSubscription-State: active;expires=300\r\n"));
  StoxSipResponse *r = wait_response (fx, 4);
  g_assert_cmpuint (r->token, ==, 5201);
  g_assert_cmpuint (r->status, ==, 200);
  g_assert_cmpuint (told, >=, cseq_of (n));
  g_assert_cmpuint (fx->dialog_calls->len, ==, calls + 1);

  /* A new watcher's dialog gets an id above the restored one. */
  watcher_subscribe (fx, &w2, 600);
  g_assert_cmpuint (w2.dialog, >, w.dialog);

  watcher_clear (&w);
  watcher_clear (&w2);
}

/* States that cannot be read create nothing; a forgotten dialog is gone
 * without a word. */
static void
test_dialog_restore_refused (Fixture       *fx,
                             gconstpointer  data)
{
  Watcher w = { 0 };

  stox_sip_endpoint_set_dialog_func (fx->ep, on_dialog, fx);
  watcher_subscribe (fx, &w, 600);
  g_autofree char *state = g_strdup (last_state (fx, w.dialog));

  stox_sip_endpoint_forget_dialog (fx->ep, w.dialog);
  stox_sip_endpoint_forget_dialog (fx->ep, w.dialog);
  stox_sip_endpoint_forget_dialog (fx->ep, 987654);
  g_assert_cmpuint (fx->dialog_calls->len, ==, 1);
  watcher_refresh_refused (fx, &w);

  /* Hand-written states for the same dialog, each with one fault. */
  g_autofree char *call_id = g_strdup_printf ("b'%s'", w.call_id);
  g_autofree char *local = g_strdup_printf ("b'%s'", w.to);
  g_autofree char *remote = g_strdup_printf ("b'%s'", w.from);
  g_autofree char *target = g_strdup_printf ("b'sip:contact@%s:%u'", fx->host, fx->peer_port);
  g_autofree char *untagged = g_strdup_printf ("b'<sip:alice@%s:%u>'", fx->host, fx->ep_port);
  g_autofree char *crlf = g_strdup_printf ("b'%s\\r\\nX-Evil: 1'", w.to);
  const char *const good[9] = {
    call_id, local, remote, target, "[]", "1", "101", "b'presence'", "b''",
  };
  const struct
  {
    guint       field;
    const char *piece;
  } faults[] = {
    { 0, "b''" },                      /* empty Call-ID */
    { 0, "[byte 0x61, 0x00, 0x62, 0x00]" },  /* a NUL inside */
    { 0, "[byte 0x61, 0x62]" },        /* no NUL at the end */
    { 1, untagged },                   /* local address without our tag */
    { 1, "b'<<<'" },
    { 1, crlf },                       /* a line break in a header */
    { 2, "b'<>garbage'" },
    { 2, "b''" },
    { 3, "b'not a uri ::'" },
    { 3, "b'tel:+15551234'" },
    { 4, "[b'<<']" },
    { 4, "[b'']" },
    { 4, "[b'<sip:p1.example;lr>, <sip:p2.example;lr>']" },  /* two in one */
    { 5, "4294967296" },
    { 5, "-1" },
    { 6, "0" },
    { 6, "2147483648" },
    { 7, "b''" },
    { 7, "b'presence;id=x'" },
    { 8, "b'x y'" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (faults); i++)
    {
      g_autoptr (GError) error = NULL;
      const char *pieces[9];

      memcpy (pieces, good, sizeof pieces);
      pieces[faults[i].field] = faults[i].piece;

      g_autofree char *bad = state_literal (pieces);
      g_test_message ("%s", bad);
      g_assert_false (stox_sip_endpoint_restore_dialog (fx->ep, w.dialog, bad, &error));
      g_test_message ("→ %s", error->message);
      g_assert_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE);
    }

  /* …and broken as a whole. */
  g_autofree char *truncated = g_strndup (state, strlen (state) / 2);
  g_autofree char *v2 = g_strdup (state);
  g_autofree char *trailing = g_strconcat (state, " x", NULL);
  g_autofree char *huge = g_strnfill (300 * 1024, 'x');
  memcpy (huge, "v1 ", 3);
  v2[1] = '2';
  const char *const wholes[] = {
    NULL, "", "x", "v1", "v1 ", "v1 ()", "v1 (b'x', b'y')", truncated, v2, trailing, huge,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (wholes); i++)
    {
      g_autoptr (GError) error = NULL;

      g_assert_false (stox_sip_endpoint_restore_dialog (fx->ep, w.dialog, wholes[i], &error));
      g_test_message ("%.60s → %s", wholes[i] != NULL ? wholes[i] : "(null)", error->message);
      g_assert_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE);
    }
  g_assert_cmpuint (fx->dialog_calls->len, ==, 1);
  watcher_refresh_refused (fx, &w);

  /* The same pieces without a fault make a good state (so each row
   * failed for its fault); then the id is taken, and 0 is none. */
  g_autoptr (GError) error = NULL;
  g_autofree char *fine = state_literal (good);
  g_assert_true (stox_sip_endpoint_restore_dialog (fx->ep, w.dialog, fine, &error));
  g_assert_no_error (error);

  /* Dropped at start-up, before the loop ran: not a word, then or later. */
  stox_sip_endpoint_forget_dialog (fx->ep, w.dialog);
  stox_test_run_for (20);
  g_assert_cmpuint (fx->dialog_calls->len, ==, 1);
  watcher_refresh_refused (fx, &w);

  g_assert_true (stox_sip_endpoint_restore_dialog (fx->ep, w.dialog, fine, &error));
  g_assert_no_error (error);
  g_assert_false (stox_sip_endpoint_restore_dialog (fx->ep, w.dialog, state, &error));
  g_assert_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE);
  g_clear_error (&error);
  g_assert_false (stox_sip_endpoint_restore_dialog (fx->ep, 0, state, &error));
  g_assert_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE);
  watcher_refresh_answered (fx, &w);
  /* The restored dialog's CSeq reservation, from the loop. */
  g_assert_cmpuint (fx->dialog_calls->len, ==, 2);
  g_assert_cmpuint (state_u32 (last_state (fx, w.dialog), 6), >, 101);
  watcher_clear (&w);
}

/* The local CSeq is reserved in blocks, each told before a NOTIFY uses
 * it; a restored dialog continues above the last reservation. */
static void
test_dialog_cseq_reserved (Fixture       *fx,
                           gconstpointer  data)
{
  g_autoptr (GError) error = NULL;
  Watcher w = { 0 };
  guint last = 0;

  stox_sip_endpoint_set_dialog_func (fx->ep, on_dialog, fx);
  watcher_subscribe (fx, &w, 600);
  for (guint i = 0; i < 100; i++)
    {
      guint32 told = state_u32 (last_state (fx, w.dialog), 6);

      notify_in (fx, &w, 20000 + i, STOX_SUBSTATE_ACTIVE, 600, NULL, NULL, NULL);
      g_autofree char *n = watcher_receive_notify (fx, &w, "SIP/2.0 200 OK");
      guint seq = cseq_of (n);

      g_assert_cmpuint (seq, >, last);
      /* Were the state told with this NOTIFY lost, the one before it
       * still covers it. */
      g_assert_cmpuint (told, >=, seq);
      g_assert_cmpuint (state_u32 (last_state (fx, w.dialog), 6), >, seq);
      g_assert_cmpuint (state_u32 (last_state (fx, w.dialog), 6), <, 1u << 31);
      g_assert_cmpuint (wait_response (fx, i + 1)->status, ==, 200);
      last = seq;
    }
  g_test_message ("100 NOTIFYs, last CSeq %u, %u states", last,
                  dialog_calls_for (fx, w.dialog, FALSE));
  g_assert_cmpuint (dialog_calls_for (fx, w.dialog, FALSE), >, 1);

  /* As in a new process: forgotten, restored from the last state. */
  g_autofree char *state = g_strdup (last_state (fx, w.dialog));
  guint calls = fx->dialog_calls->len;
  stox_sip_endpoint_forget_dialog (fx->ep, w.dialog);
  g_assert_true (stox_sip_endpoint_restore_dialog (fx->ep, w.dialog, state, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fx->dialog_calls->len, ==, calls);
  stox_test_run_for (20);
  g_assert_cmpuint (fx->dialog_calls->len, ==, calls + 1);
  guint32 told = state_u32 (last_state (fx, w.dialog), 6);

  notify_in (fx, &w, 20100, STOX_SUBSTATE_ACTIVE, 600, NULL, NULL, NULL);
  g_autofree char *n = watcher_receive_notify (fx, &w, "SIP/2.0 200 OK");
  g_assert_cmpuint (cseq_of (n), >, last);
  g_assert_cmpuint (cseq_of (n), ==, state_u32 (state, 6) + 1);
  g_assert_cmpuint (told, >=, cseq_of (n));
  g_assert_cmpuint (fx->dialog_calls->len, ==, calls + 1);
  g_assert_cmpuint (wait_response (fx, 101)->status, ==, 200);
  watcher_clear (&w);
}

/* CSeq stays below 2^31 (RFC 3261 §8.1.1.5): the last one is used, then
 * the dialog ends; restored ids keep new tokens above them. */
static void
test_dialog_cseq_exhausted (Fixture       *fx,
                            gconstpointer  data)
{
  g_autoptr (GError) error = NULL;
  Watcher w = {
    .dialog = 4242,
    .call_id = g_strdup ("edge@test"),
    .from = g_strdup_printf ("<sip:bob@%s:%u>;tag=edge-w", fx->host, fx->peer_port),
    .to = g_strdup_printf ("<sip:alice@%s:%u>;tag=edge-g", fx->host, fx->ep_port),
    .ruri = g_strdup_printf ("sip:alice@%s:%u", fx->host, fx->ep_port),
    .cseq = 7,
  };
  g_autofree char *call_id = g_strdup_printf ("b'%s'", w.call_id);
  g_autofree char *local = g_strdup_printf ("b'%s'", w.to);
  g_autofree char *remote = g_strdup_printf ("b'%s'", w.from);
  g_autofree char *target = g_strdup_printf ("b'sip:edge@%s:%u'", fx->host, fx->peer_port);
  const char *const pieces[9] = {
    call_id, local, remote, target, "[]", "7", "2147483646", "b'presence'", "b''",
  };
  g_autofree char *state = state_literal (pieces);

  fx->contact_user = "edge";
  stox_sip_endpoint_set_dialog_func (fx->ep, on_dialog, fx);
  g_assert_true (stox_sip_endpoint_restore_dialog (fx->ep, w.dialog, state, &error));
  g_assert_no_error (error);

  notify_in (fx, &w, 30001, STOX_SUBSTATE_ACTIVE, 600, NULL, NULL, NULL);
  g_autofree char *n = watcher_receive_notify (fx, &w, "SIP/2.0 200 OK");
  g_assert_cmpuint (cseq_of (n), ==, 2147483647u);
  g_assert_cmpuint (state_u32 (last_state (fx, w.dialog), 6), ==, 2147483647u);
  g_assert_cmpuint (wait_response (fx, 1)->status, ==, 200);

  /* Its warning is expected (g_test_expect_message() cannot see
   * structured logs): not fatal for this call. */
  GLogLevelFlags fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK);
  notify_in (fx, &w, 30002, STOX_SUBSTATE_ACTIVE, 600, NULL, NULL, NULL);
  g_log_set_always_fatal (fatal);
  StoxSipResponse *r = wait_response (fx, 2);
  g_assert_cmpuint (r->token, ==, 30002);
  g_assert_cmpuint (r->status, ==, 481);
  stox_test_run_for (50);
  g_assert_cmpuint (fx->datagrams->len, ==, 0);
  g_assert_cmpuint (dialog_calls_for (fx, w.dialog, TRUE), ==, 1);
  g_assert_cmpuint (fx->dialog_calls->len, ==, 2);

  Watcher w2 = { 0 };
  watcher_subscribe (fx, &w2, 600);
  g_assert_cmpuint (w2.dialog, >, 4242);
  watcher_clear (&w);
  watcher_clear (&w2);
}

/* ------------------------------------------------------------------ */
/* Where requests go: trusted peers only (next-hop.h)                  */

static const char *const only_localhost[] = { "127.0.0.1/32", NULL };

/* A UDP socket on another loopback address, playing a third party. */
typedef struct
{
  int     fd;
  guint16 port;
  guint   received;
  guint   watch;
  char   *first;      /* the first datagram received, or NULL */
} Victim;

static gboolean
on_victim_readable (int          fd,
                    GIOCondition condition,
                    gpointer     user_data)
{
  Victim *v = user_data;
  char buf[65536];

  ssize_t n = recv (fd, buf, sizeof buf, 0);

  if (n >= 0)
    {
      v->received++;
      if (v->first == NULL)
        v->first = g_strndup (buf, (gsize) n);
    }
  return G_SOURCE_CONTINUE;
}

static void
victim_open (Victim     *v,
             const char *address,
             guint16     port)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons (port) };

  g_assert_cmpint (inet_pton (AF_INET, address, &sin.sin_addr), ==, 1);
  v->fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  g_assert_cmpint (v->fd, >=, 0);
  g_assert_cmpint (bind (v->fd, (struct sockaddr *) &sin, sizeof sin), ==, 0);
  v->port = stox_test_bound_port (v->fd);
  v->received = 0;
  v->first = NULL;
  v->watch = g_unix_fd_add (v->fd, G_IO_IN, on_victim_readable, v);
}

static void
victim_close (Victim *v)
{
  g_clear_handle_id (&v->watch, g_source_remove);
  g_clear_pointer (&v->first, g_free);
  close (v->fd);
}

static gboolean
answered_or_handed_over (Fixture *fx)
{
  return fx->requests->len > fx->want_count || has_prefixed_datagram (fx);
}

/* Sends `text` from the peer and waits for the front end's answer or its
 * hand-over to the core; a request handed over is answered 200 (Expires
 * 600) as the core would, and its token returned; 0 when the front end
 * answered itself. */
static StoxToken
peer_send_answered_like_core (Fixture    *fx,
                              const char *text)
{
  guint n = fx->requests->len;
  StoxSipRequest *req;

  g_ptr_array_set_size (fx->datagrams, 0);
  peer_send_text (fx, text);
  fx->want_prefix = "SIP/2.0 ";
  fx->want_count = n;
  wait_for (fx, answered_or_handed_over, "an answer, or the request handed over");
  if (fx->requests->len == n)
    return 0;
  req = fx->requests->pdata[n];
  stox_sip_endpoint_respond (fx->ep, &(StoxSipAnswer) { .token = req->token, .status = 200,
                                                        .expires = 600, .min_expires = -1 });
  return req->token;
}

/* A SUBSCRIBE from the peer whose Contact (and Record-Route) a third party
 * wrote.  If the core hears of it, it is answered 200 and NOTIFYed as the
 * core would; returns the status the peer got, and counts what the victim
 * received within 2 s (a NOTIFY is retransmitted at 0.5, 1.5 s, …). */
static guint
subscribe_with_target (Fixture    *fx,
                       const char *headers,
                       Victim     *victim)
{
  g_autofree char *extra = g_strdup_printf ("Event: presence\r\nExpires: 600\r\n%s", headers);
  gsize len;
  g_autofree char *text = peer_request (fx, "SUBSCRIBE", extra, NULL, 0, &len);
  StoxToken dialog = peer_send_answered_like_core (fx, text);

  if (dialog != 0)
    stox_sip_endpoint_notify (fx->ep, &(StoxSipNotify) { .token = 9000 + dialog,
                                                         .dialog = dialog,
                                                         .substate = STOX_SUBSTATE_PENDING,
                                                         .expires = 600 });
  stox_test_run_for (2000);

  g_autofree char *resp = NULL;
  for (guint i = 0; i < fx->datagrams->len && resp == NULL; i++)
    {
      g_autofree char *d = datagram_text (fx->datagrams->pdata[i]);

      if (g_str_has_prefix (d, "SIP/2.0 "))
        resp = g_steal_pointer (&d);
    }
  g_assert_nonnull (resp);
  g_test_message ("%.*s; the third party received %u datagrams", (int) strcspn (resp, "\r"),
                  resp, victim->received);
  return (guint) g_ascii_strtoull (resp + 8, NULL, 10);
}

/* Without an outbound proxy, a SUBSCRIBE whose NOTIFYs would go to an
 * address that is no trusted peer (its Contact, its maddr, or its first
 * Record-Route) is refused before the core hears of it, and nothing is
 * sent there. */
static void
test_untrusted_target_refused (Fixture       *fx,
                               gconstpointer  data)
{
  Victim v;

  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { .trusted_peers = only_localhost });
  victim_open (&v, "127.0.0.2", 0);

  g_autofree char *contact = g_strdup_printf ("Contact: <sip:victim@127.0.0.2:%u>\r\n", v.port);
  g_autofree char *maddr = g_strdup_printf ("Contact: <sip:victim@127.0.0.1:%u;maddr=127.0.0.2>\r\n",
                                            v.port);
  g_autofree char *rr = g_strdup_printf ("Record-Route: <sip:127.0.0.2:%u;lr>\r\n"
                                         "Contact: <sip:bob@127.0.0.1:%u>\r\n", v.port, fx->peer_port);
  /* A trusted strict router (no lr) first, then the third party as a loose
   * one or as a Contact with lr: nta sends past the strict router to it
   * (next-hop.h; from the review). */
  g_autofree char *strict_loose = g_strdup_printf ("Record-Route: <sip:127.0.0.1:%u>, "
                                                   "<sip:127.0.0.2:%u;lr>\r\n"
                                                   "Contact: <sip:bob@127.0.0.1:%u>\r\n",
                                                   fx->peer_port, v.port, fx->peer_port);
  g_autofree char *strict_contact = g_strdup_printf ("Record-Route: <sip:127.0.0.1:%u>\r\n"
                                                     "Contact: <sip:victim@127.0.0.2:%u;lr>\r\n",
                                                     fx->peer_port, v.port);
  const char *const rows[] = { contact, maddr, rr, strict_loose, strict_contact };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      guint status = subscribe_with_target (fx, rows[i], &v);

      g_assert_cmpuint (v.received, ==, 0);
      g_assert_cmpuint (status, ==, 403);
      g_assert_cmpuint (fx->requests->len, ==, 0);
    }

  /* A trusted Contact is served as before. */
  g_autofree char *ok = g_strdup_printf ("Contact: <sip:bob@127.0.0.1:%u>\r\n", fx->peer_port);
  g_assert_cmpuint (subscribe_with_target (fx, ok, &v), ==, 200);
  g_assert_cmpuint (fx->requests->len, ==, 1);
  gboolean notified = FALSE;
  for (guint i = 0; i < fx->datagrams->len; i++)
    {
      g_autofree char *d = datagram_text (fx->datagrams->pdata[i]);

      notified |= g_str_has_prefix (d, "NOTIFY sip:bob@127.0.0.1:");
    }
  g_assert_true (notified);
  g_assert_cmpuint (v.received, ==, 0);
  victim_close (&v);
}

/* With an outbound proxy, such a dialog is served, its NOTIFYs sent
 * through the proxy; a refresh cannot point the dialog elsewhere
 * without one. */
static void
test_untrusted_target_via_proxy (Fixture       *fx,
                                 gconstpointer  data)
{
  Victim v, proxy;

  victim_open (&v, "127.0.0.2", 0);
  victim_open (&proxy, "127.0.0.1", 0);
  g_autofree char *proxy_uri = g_strdup_printf ("sip:127.0.0.1:%u;lr", proxy.port);
  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { .trusted_peers = only_localhost,
                                                       .outbound_proxy = proxy_uri });

  g_autofree char *contact = g_strdup_printf ("Contact: <sip:victim@127.0.0.2:%u>\r\n", v.port);
  g_assert_cmpuint (subscribe_with_target (fx, contact, &v), ==, 200);
  g_assert_cmpuint (v.received, ==, 0);
  /* The NOTIFY and its retransmissions went to the proxy, in the dialog
   * as it is: its Request-URI the watcher's Contact (RFC 3261 §12.2.1.1),
   * no Route for the proxy (a next hop only). */
  g_assert_cmpuint (proxy.received, >=, 1);
  g_autofree char *want_line = g_strdup_printf ("NOTIFY sip:victim@127.0.0.2:%u SIP/2.0\r\n",
                                                v.port);
  g_assert_nonnull (proxy.first);
  g_assert_true (g_str_has_prefix (proxy.first, want_line));
  g_assert_cmpuint (count_headers (proxy.first, "Route"), ==, 0);
  victim_close (&proxy);
  victim_close (&v);
}

static void
test_refresh_to_untrusted_target (Fixture       *fx,
                                  gconstpointer  data)
{
  Watcher w = { 0 };
  Victim v;

  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { .trusted_peers = only_localhost });
  victim_open (&v, "127.0.0.2", 0);
  watcher_subscribe (fx, &w, 600);

  /* A refresh with a Contact at the victim: refused, the target kept. */
  g_autofree char *extra = g_strdup_printf ("Event: presence\r\nExpires: 600\r\n"
                                            "Contact: <sip:victim@127.0.0.2:%u>\r\n", v.port);
  g_autofree char *ruri = g_strdup_printf ("sip:alice@%s:%u", fx->host, fx->ep_port);
  g_autofree char *text = peer_dialog_request (fx, "SUBSCRIBE", ruri, w.from, w.to, w.call_id,
                                               ++w.cseq, NULL, NULL);
  /* peer_dialog_request() wrote the peer's own Contact: put the victim's
   * first, as the one that counts. */
  char *at = strstr (text, "Contact: ");
  g_assert_nonnull (at);
  g_autofree char *refresh = g_strdup_printf ("%.*s%s%s", (int) (at - text), text, extra, at);
  guint n = fx->requests->len;

  /* Handed over, the 200 would make the victim the target. */
  (void) peer_send_answered_like_core (fx, refresh);
  g_autofree char *resp = wait_datagram (fx, "SIP/2.0 ");
  message_wire (resp);

  notify_in (fx, &w, 6001, STOX_SUBSTATE_ACTIVE, 600, NULL, NULL, NULL);
  stox_test_run_for (1000);
  g_test_message ("the third party received %u datagrams", v.received);
  g_assert_cmpuint (v.received, ==, 0);
  g_assert_true (g_str_has_prefix (resp, "SIP/2.0 403 "));
  g_assert_cmpuint (fx->requests->len, ==, n);
  /* The NOTIFY went to the watcher's own Contact. */
  g_autofree char *notify = watcher_receive_notify (fx, &w, "SIP/2.0 200 OK");
  victim_close (&v);
  watcher_clear (&w);
}

/* The gateway's own subscription: a notifier whose 2xx names a Contact
 * that is no trusted peer gets the refresh through the outbound proxy. */
static void
test_client_dialog_untrusted_target (Fixture       *fx,
                                     gconstpointer  data)
{
  Victim v;
  g_autofree char *proxy = peer_proxy (fx, ";lr");

  victim_open (&v, "127.0.0.2", 0);
  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { .trusted_peers = only_localhost,
                                                       .outbound_proxy = proxy });
  StoxSipSubscribe s = {
    .dialog = 7300,
    .request_uri = (char *) "sip:bob@sip.example",
    .from_uri = (char *) "sip:alice@gw.example",
    .to_uri = (char *) "sip:bob@sip.example",
    .event = (char *) "presence",
    .expires = 600,
  };
  stox_sip_endpoint_subscribe (fx->ep, &s);
  g_autofree char *sub = wait_datagram (fx, "SUBSCRIBE ");
  g_autofree char *contact = g_strdup_printf ("Contact: <sip:bob@127.0.0.2:%u>\r\n", v.port);
  g_autofree char *ok = peer_answer_with (sub, "SIP/2.0 200 OK", "nfy73", contact);
  peer_reply (fx, ok);
  wait_response (fx, 1);

  g_ptr_array_set_size (fx->datagrams, 0);
  stox_sip_endpoint_subscribe (fx->ep, &s);
  stox_test_run_for (1000);
  g_test_message ("the third party received %u datagrams", v.received);
  g_assert_cmpuint (v.received, ==, 0);
  g_autofree char *refresh = wait_datagram (fx, "SUBSCRIBE sip:bob@127.0.0.2:");
  message_wire (refresh);
  victim_close (&v);
}

/* The late "not delivered" notice goes to the From a peer wrote: its
 * maddr, port and transport are not honoured (RFC 3261 §19.1.1 would send
 * it to maddr).  Through the outbound proxy, the Request-URI is plain; with
 * none, it goes to the host (RFC 3263), never to maddr or the port. */
static void
test_request_uri_params_ignored (Fixture       *fx,
                                 gconstpointer  data)
{
  Victim v, w;
  g_autofree char *proxy = peer_proxy (fx, ";lr");

  victim_open (&v, "127.0.0.2", 0);
  victim_open (&w, "127.0.0.3", v.port);
  g_autofree char *from = g_strdup_printf ("sip:bob@127.0.0.3:%u;maddr=127.0.0.2;transport=udp"
                                           "?Route=%%3Csip:127.0.0.2%%3E", v.port);
  StoxSipOutMessage out = {
    .token = 31,
    .request_uri = from,
    .from_uri = (char *) "sip:juliet@xmpp.example",
    .to_uri = from,
    .content_type = (char *) "text/plain",
    .body = g_bytes_new_static ("not delivered", 13),
  };

  /* No outbound proxy: the host's port 5060, nobody there (503). */
  stox_sip_endpoint_send_message (fx->ep, &out);
  stox_test_run_for (1500);
  g_test_message ("without a proxy: the third parties received %u and %u datagrams",
                  v.received, w.received);
  g_assert_cmpuint (v.received, ==, 0);
  g_assert_cmpuint (w.received, ==, 0);
  wait_for (fx, has_response, "the notice's failure");

  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { .outbound_proxy = proxy });
  stox_sip_endpoint_send_message (fx->ep, &out);
  g_autofree char *text = wait_datagram (fx, "MESSAGE ");
  message_wire (text);
  g_assert_true (g_str_has_prefix (text, "MESSAGE sip:bob@127.0.0.3 SIP/2.0\r\n"));
  g_assert_null (strstr (text, "\r\nRoute: <sip:127.0.0.2"));
  stox_test_run_for (500);
  g_assert_cmpuint (v.received, ==, 0);
  g_assert_cmpuint (w.received, ==, 0);
  g_bytes_unref (out.body);
  victim_close (&v);
  victim_close (&w);
}

/* ------------------------------------------------------------------ */
/* Expires                                                             */

/* RFC 3261 §20.19: delta-seconds only.  An HTTP-date is no unsubscribe:
 * a SUBSCRIBE with one gets 400, a 2xx with one reports no Expires. */
static void
test_expires_http_date (Fixture       *fx,
                        gconstpointer  data)
{
  gsize len;
  g_autofree char *text = peer_request (fx, "SUBSCRIBE",
                                        "Event: presence\r\n"
                                        "Expires: Thu, 01 Dec 2039 16:00:00 GMT\r\n"
                                        "Contact: <sip:bob@127.0.0.1>\r\n", NULL, 0, &len);

  fx->answer_after_dispatch = 200;
  stox_sip_endpoint_set_dispatch_func (fx->ep, answer_queued, fx);
  peer_send (fx, text, len);
  wait_for (fx, has_final_response, "the SUBSCRIBE answered");
  g_autofree char *resp = final_response_text (fx);
  message_wire (resp);
  for (guint i = 0; i < fx->requests->len; i++)
    g_test_message ("the core was asked, with Expires %" G_GINT64_FORMAT,
                    ((StoxSipRequest *) fx->requests->pdata[i])->expires);
  g_assert_true (g_str_has_prefix (resp, "SIP/2.0 400 "));
  g_assert_cmpuint (fx->requests->len, ==, 0);

  /* Our SUBSCRIBE answered 2xx with a date: no Expires reported. */
  StoxSipSubscribe s = {
    .dialog = 7200,
    .request_uri = g_strdup_printf ("sip:bob@%s:%u", fx->host, fx->peer_port),
    .from_uri = (char *) "sip:alice@gw.example",
    .to_uri = (char *) "sip:bob@sip.example",
    .event = (char *) "presence",
    .expires = 600,
  };
  g_ptr_array_set_size (fx->datagrams, 0);
  stox_sip_endpoint_subscribe (fx->ep, &s);
  g_autofree char *sub = wait_datagram (fx, "SUBSCRIBE ");
  g_autofree char *ok = peer_answer_with (sub, "SIP/2.0 200 OK", "nfy72",
                                          "Expires: Thu, 01 Dec 2039 16:00:00 GMT\r\n");
  peer_reply (fx, ok);
  StoxSipResponse *r = wait_response (fx, 1);
  g_assert_cmpuint (r->token, ==, 7200);
  g_assert_cmpint (r->expires, ==, -1);
  g_free (s.request_uri);
}

/* ------------------------------------------------------------------ */
/* Connections peers open (tcp-guard.h)                                */

/* A TCP connection to the endpoint from `source`, a loopback address;
 * non-blocking once connected (the kernel completes it before the
 * endpoint accepts). */
static int
tcp_connect_from (Fixture    *fx,
                  const char *source)
{
  struct sockaddr_in from = { .sin_family = AF_INET };
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (fx->ep_port) };
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (inet_pton (AF_INET, source, &from.sin_addr), ==, 1);
  to.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &from, sizeof from), ==, 0);
  g_assert_cmpint (connect (fd, (struct sockaddr *) &to, sizeof to), ==, 0);
  g_unix_set_fd_nonblocking (fd, TRUE, NULL);
  return fd;
}

/* Has the endpoint closed it?  Reads (and drops) what is there. */
static gboolean
tcp_closed (int fd)
{
  char buf[4096];

  for (guint i = 0; i < 1000; i++)
    {
      ssize_t n = recv (fd, buf, sizeof buf, MSG_DONTWAIT);

      if (n > 0)
        continue;
      return n == 0 || errno != EAGAIN;
    }
  return FALSE;
}

static guint
count_closed (const int *fds,
              guint      n)
{
  guint closed = 0;

  for (guint i = 0; i < n; i++)
    closed += tcp_closed (fds[i]) ? 1 : 0;
  return closed;
}

/* An OPTIONS on connection `fd`, answered 200 (by the test's "core"):
 * TRUE when the 200 came back on it. */
static gboolean
tcp_options (Fixture *fx,
             int      fd)
{
  gsize len;
  g_autofree char *text = peer_request (fx, "OPTIONS", NULL, NULL, 0, &len);
  char *via = strstr (text, "SIP/2.0/UDP");
  GString *in = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + WAIT_LIMIT_US;
  gboolean ok;

  memcpy (via, "SIP/2.0/TCP", 11);
  fx->answer_after_dispatch = 200;
  stox_sip_endpoint_set_dispatch_func (fx->ep, answer_queued, fx);
  g_assert_cmpint (send (fd, text, len, MSG_NOSIGNAL), ==, (ssize_t) len);
  while (strstr (in->str, "\r\n\r\n") == NULL && g_get_monotonic_time () < deadline)
    {
      char buf[4096];
      ssize_t n;

      stox_test_run_for (20);
      while ((n = recv (fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
        g_string_append_len (in, buf, n);
      if (n == 0)
        break;
    }
  ok = g_str_has_prefix (in->str, "SIP/2.0 200 ");
  g_string_free (in, TRUE);
  return ok;
}

/* No more than tcp_max_per_source connections from one address, nor
 * tcp_max_connections in all; the others are closed at once, and the
 * gateway keeps answering on those it holds, over UDP, and from other
 * addresses. */
static void
test_tcp_connection_caps (Fixture       *fx,
                          gconstpointer  data)
{
  int one[6], others[3], extra;

  fixture_reopen (fx, "any", (StoxSipEndpointConfig) { .tcp_max_per_source = 4,
                                                       .tcp_max_connections = 6 });
  for (guint i = 0; i < G_N_ELEMENTS (one); i++)
    one[i] = tcp_connect_from (fx, "127.0.0.1");
  stox_test_run_for (300);
  g_test_message ("6 connections from one address: %u closed", count_closed (one, 6));
  g_assert_cmpuint (count_closed (one, 4), ==, 0);
  g_assert_cmpuint (count_closed (one + 4, 2), ==, 2);

  /* Two more from other addresses fill the total; a third is refused. */
  others[0] = tcp_connect_from (fx, "127.0.0.2");
  others[1] = tcp_connect_from (fx, "127.0.0.3");
  stox_test_run_for (300);
  g_assert_cmpuint (count_closed (others, 2), ==, 0);
  others[2] = tcp_connect_from (fx, "127.0.0.4");
  stox_test_run_for (300);
  g_assert_cmpuint (count_closed (others + 2, 1), ==, 1);

  /* The gateway answers on what it holds, and over UDP. */
  g_assert_true (tcp_options (fx, one[0]));
  g_assert_true (tcp_options (fx, others[1]));
  gsize len;
  g_autofree char *udp = peer_request (fx, "OPTIONS", NULL, NULL, 0, &len);
  g_ptr_array_set_size (fx->datagrams, 0);
  peer_send (fx, udp, len);
  g_autofree char *resp = wait_datagram (fx, "SIP/2.0 200 ");

  /* A connection closed frees its place. */
  close (one[0]);
  stox_test_run_for (300);
  extra = tcp_connect_from (fx, "127.0.0.5");
  stox_test_run_for (300);
  g_assert_false (tcp_closed (extra));
  g_assert_true (tcp_options (fx, extra));

  for (guint i = 1; i < G_N_ELEMENTS (one); i++)
    close (one[i]);
  for (guint i = 0; i < G_N_ELEMENTS (others); i++)
    close (others[i]);
  close (extra);
}

/* A connection is closed once it has delivered no complete message for
 * tcp_idle_ms: silent, trickling bytes that never make a message, or
 * stuck with a Content-Length never filled.  One that keeps sending
 * messages stays. */
static void
test_tcp_idle_timeout (Fixture       *fx,
                       gconstpointer  data)
{
  fixture_reopen (fx, "tcp", (StoxSipEndpointConfig) { .tcp_idle_ms = 1000,
                                                       .tcp_message_ms = 5000 });
  int silent = tcp_connect_from (fx, "127.0.0.1");
  int drip = tcp_connect_from (fx, "127.0.0.2");
  int busy = tcp_connect_from (fx, "127.0.0.3");
  int short_body = tcp_connect_from (fx, "127.0.0.4");
  gsize len;
  g_autofree char *text = peer_request (fx, "OPTIONS", NULL, NULL, 0, &len);
  g_autofree char *lie = g_strdup_printf ("OPTIONS sip:alice@127.0.0.1:%u SIP/2.0\r\n"
                                          "Via: SIP/2.0/TCP 127.0.0.4;branch=z9hG4bK-lie\r\n"
                                          "Max-Forwards: 70\r\nFrom: <sip:bob@127.0.0.4>;tag=l\r\n"
                                          "To: <sip:alice@127.0.0.1>\r\nCall-ID: lie@test\r\n"
                                          "CSeq: 1 OPTIONS\r\nContent-Length: 100\r\n\r\nabc",
                                          fx->ep_port);
  gint64 start = g_get_monotonic_time ();
  gint64 closed_at[4] = { 0 };
  int fds[4] = { silent, drip, busy, short_body };
  guint sent = 0;

  g_assert_cmpint (send (short_body, lie, strlen (lie), MSG_NOSIGNAL), ==, (ssize_t) strlen (lie));
  /* 2.5 s: a byte of the drip every 100 ms, a whole OPTIONS on `busy`
   * every 400 ms. */
  for (guint tick = 0; tick < 25; tick++)
    {
      if (sent < len && closed_at[1] == 0)
        (void) send (drip, text + sent++, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (tick % 4 == 0 && closed_at[2] == 0)
        g_assert_true (tcp_options (fx, busy));
      stox_test_run_for (100);
      for (guint i = 0; i < 4; i++)
        if (closed_at[i] == 0 && tcp_closed (fds[i]))
          closed_at[i] = g_get_monotonic_time ();
    }
  for (guint i = 0; i < 4; i++)
    g_test_message ("connection %u: %s after %.1f s", i, closed_at[i] ? "closed" : "open",
                    closed_at[i] ? (double) (closed_at[i] - start) / G_USEC_PER_SEC : 2.5);
  g_assert_cmpint (closed_at[0], !=, 0);
  g_assert_cmpint (closed_at[1], !=, 0);
  g_assert_cmpint (closed_at[2], ==, 0);
  g_assert_cmpint (closed_at[3], !=, 0);
  for (guint i = 0; i < 4; i++)
    close (fds[i]);
}

/* A message begun and then silent for tcp_message_ms is dropped well
 * before the connection's idle time (Sofia's TPTAG_TIMEOUT), and the
 * connection is closed. */
static void
test_tcp_incomplete_message (Fixture       *fx,
                             gconstpointer  data)
{
  fixture_reopen (fx, "tcp", (StoxSipEndpointConfig) { .tcp_idle_ms = 30000,
                                                       .tcp_message_ms = 500 });
  int fd = tcp_connect_from (fx, "127.0.0.1");
  g_autofree char *lie = g_strdup_printf ("OPTIONS sip:alice@127.0.0.1:%u SIP/2.0\r\n"
                                          "Via: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bK-lie\r\n"
                                          "Max-Forwards: 70\r\nFrom: <sip:bob@127.0.0.1>;tag=l\r\n"
                                          "To: <sip:alice@127.0.0.1>\r\nCall-ID: lie@test\r\n"
                                          "CSeq: 1 OPTIONS\r\nContent-Length: 100\r\n\r\nabc",
                                          fx->ep_port);
  gint64 start = g_get_monotonic_time ();
  gint64 closed_at = 0;

  g_assert_cmpint (send (fd, lie, strlen (lie), MSG_NOSIGNAL), ==, (ssize_t) strlen (lie));
  for (guint tick = 0; tick < 30 && closed_at == 0; tick++)
    {
      stox_test_run_for (100);
      if (tcp_closed (fd))
        closed_at = g_get_monotonic_time ();
    }
  g_test_message ("%s after %.1f s", closed_at != 0 ? "closed" : "still open",
                  (double) ((closed_at != 0 ? closed_at : g_get_monotonic_time ()) - start)
                  / G_USEC_PER_SEC);
  g_assert_cmpint (closed_at, !=, 0);
  g_assert_cmpuint (fx->requests->len, ==, 0);
  close (fd);
}

/* The accepted connection's descriptor, which the stack keeps to itself:
 * the highest of the process's sockets connected to port `port` here. */
static int
highest_accepted_fd (guint16 port)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;
  int highest = -1;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      int fd = atoi (name);
      int listening = 1;
      socklen_t optlen = sizeof listening;
      struct sockaddr_in sin;
      socklen_t len = sizeof sin;

      if (getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen) == 0 && !listening
          && getsockname (fd, (struct sockaddr *) &sin, &len) == 0
          && sin.sin_family == AF_INET && ntohs (sin.sin_port) == port)
        highest = MAX (highest, fd);
    }
  return highest;
}

/* The last STOX_SIP_FD_RESERVE descriptors below the limit are for the
 * rest of the process (the component link, the state store): a
 * connection that would take one of them is closed at once, whatever the
 * connection limits say. */
static void
test_tcp_fd_reserve (Fixture       *fx,
                     gconstpointer  data)
{
  struct rlimit saved, low;
  int lowest = dup (0);
  int fds[40];
  guint closed;

  g_assert_cmpint (lowest, >=, 0);
  close (lowest);
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  /* Room for the new endpoint's sockets, about 20 connections (client and
   * server side each, all in this process), and the reserve. */
  low = saved;
  low.rlim_cur = (rlim_t) lowest + 48 + STOX_SIP_FD_RESERVE;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);
  fixture_reopen (fx, "tcp", (StoxSipEndpointConfig) { .tcp_max_per_source = 100 });

  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      g_autofree char *source = g_strdup_printf ("127.0.1.%u", i + 1);

      fds[i] = tcp_connect_from (fx, source);
      stox_test_run_for (20);
    }
  stox_test_run_for (300);
  closed = count_closed (fds, G_N_ELEMENTS (fds));
  int highest = highest_accepted_fd (fx->ep_port);
  g_test_message ("%u of %zu connections closed; highest accepted descriptor %d, limit %d",
                  closed, G_N_ELEMENTS (fds), highest, (int) low.rlim_cur);
  g_assert_cmpint (highest, <, (int) low.rlim_cur - STOX_SIP_FD_RESERVE);
  g_assert_cmpuint (closed, >, 0);
  g_assert_cmpuint (closed, <, G_N_ELEMENTS (fds));

  /* The gateway still answers on a connection it holds. */
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    if (!tcp_closed (fds[i]))
      {
        g_assert_true (tcp_options (fx, fds[i]));
        break;
      }
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    close (fds[i]);
  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { 0 });
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);
}

static void
test_listen_failures (void)
{
  int busy = socket_on_loopback (FALSE, SOCK_DGRAM, 0);
  g_autofree char *in_use = g_strdup_printf ("sip:127.0.0.1:%u;transport=udp", stox_test_bound_port (busy));
  const char *const bad[] = { in_use, "sip:[::1", "mailto:x@y" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      StoxSipEndpointConfig config = { .listen = bad[i], .user_agent = USER_AGENT };
      StoxSipEndpoint *ep = stox_sip_endpoint_new (&config, on_request, on_response,
                                                   NULL, &error);

      g_test_message ("%s: %s", bad[i], error != NULL ? error->message : "(no error)");
      g_assert_null (ep);
      g_assert_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_LISTEN);
      g_assert_nonnull (strstr (error->message, bad[i]));
    }
  close (busy);

  /* TLS without key and certificate would listen and fail every handshake. */
  g_autoptr (GError) error = NULL;
  StoxSipEndpointConfig tls = { .listen = "sips:127.0.0.1:0", .tls_dir = "/nonexistent/stox" };
  g_assert_null (stox_sip_endpoint_new (&tls, on_request, on_response, NULL, &error));
  g_assert_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_LISTEN);
  g_assert_nonnull (strstr (error->message, "sips:127.0.0.1:0"));
  g_assert_nonnull (strstr (error->message, "agent.pem"));
}

/* A dialog costs Sofia nothing (no leg, no transaction): requests in it
 * come statelessly like any other and are matched by Call-ID and tags;
 * one with a CSeq below the last gets 500 and never reaches the core
 * (RFC 3261 §12.2.2); the dialog goes on after it. */
static void
test_dialog_cseq_order (Fixture       *fx,
                        gconstpointer  data)
{
  Watcher w = { 0 };
  StoxSipEndpointStats st;

  watcher_subscribe (fx, &w, 600);
  watcher_refresh_answered (fx, &w);
  watcher_refresh_answered (fx, &w);

  /* CSeq 2 after 3. */
  guint before = fx->requests->len;
  w.cseq -= 2;
  watcher_refresh (fx, &w, 600);
  g_autofree char *resp = wait_datagram (fx, "SIP/2.0 ");
  g_assert_true (g_str_has_prefix (resp, "SIP/2.0 500 "));
  stox_test_run_for (20);
  g_assert_cmpuint (fx->requests->len, ==, before);

  w.cseq += 2;
  watcher_refresh_answered (fx, &w);

  stox_sip_endpoint_get_stats (fx->ep, &st);
  g_assert_cmpuint (st.stack_server_txns, ==, 0);
  g_assert_cmpuint (st.requests_pending, ==, 0);
  watcher_clear (&w);
}

/* The fixture's endpoint again, with at most one request of ours in
 * flight (endpoint.h max_in_flight). */
static void
restart_with_one_in_flight (Fixture *fx)
{
  g_autoptr (GError) error = NULL;

  stox_sip_endpoint_free (g_steal_pointer (&fx->ep));
  StoxSipEndpointConfig config = { .listen = fx->listen, .user_agent = USER_AGENT,
                                   .max_in_flight = 1 };
  fx->ep = stox_sip_endpoint_new (&config, on_request, on_response, fx, &error);
  g_assert_no_error (error);
}

/* Overload (endpoint.h max_in_flight): with as many NOTIFYs of ours
 * unanswered as allowed, a new subscription gets 503 with Retry-After
 * from the front end, without reaching the core; a refresh in an existing
 * dialog still does, and so does a new one once the NOTIFY is answered. */
static void
test_subscribe_in_flight (Fixture       *fx,
                          gconstpointer  data)
{
  Watcher w = { 0 }, w2 = { 0 };

  restart_with_one_in_flight (fx);
  watcher_subscribe (fx, &w, 600);
  /* A NOTIFY the watcher does not answer yet. */
  notify_in (fx, &w, 7001, STOX_SUBSTATE_ACTIVE, 600, NULL, NULL, NULL);
  g_autofree char *notify = wait_datagram (fx, "NOTIFY ");
  g_assert_cmpuint (stox_sip_endpoint_requests_in_flight (fx->ep), ==, 1);

  guint before = fx->requests->len;
  gsize len;
  g_autofree char *sub = peer_request (fx, "SUBSCRIBE", "Event: presence\r\n", NULL, 0, &len);
  g_ptr_array_set_size (fx->datagrams, 0);
  peer_send (fx, sub, len);
  g_autofree char *resp = wait_datagram (fx, "SIP/2.0 ");
  message_wire (resp);
  g_assert_true (g_str_has_prefix (resp, "SIP/2.0 503 "));
  g_assert_nonnull (strstr (resp, "\r\nRetry-After: 1\r\n"));
  stox_test_run_for (20);
  g_assert_cmpuint (fx->requests->len, ==, before);

  /* In the dialog, the watcher's refresh is the core's to answer. */
  watcher_refresh_answered (fx, &w);

  /* The NOTIFY answered: new subscriptions again. */
  g_autofree char *ok = g_strdup_printf ("SIP/2.0 200 OK\r\n%s", strstr (notify, "Via:"));
  peer_send (fx, ok, strlen (ok));
  wait_response (fx, 1);
  g_assert_cmpuint (stox_sip_endpoint_requests_in_flight (fx->ep), ==, 0);
  /* The NOTIFY went as text in a transaction of our own (udp-client.h),
   * gone with its answer: nta never held one for it. */
  StoxSipEndpointStats st;
  stox_sip_endpoint_get_stats (fx->ep, &st);
  g_assert_cmpuint (st.requests_as_text, ==, 1);
  g_assert_cmpuint (st.stack_client_txns, ==, 0);
  watcher_subscribe (fx, &w2, 600);

  watcher_clear (&w);
  watcher_clear (&w2);
}

/* ------------------------------------------------------------------ */
/* Our NOTIFYs as text (udp-client.h)                                  */

static guint count_datagrams (Fixture *fx, const char *prefix);

static const char notify_pidf[] =
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
  "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"pres:alice@gw.example\">"
  "<tuple id=\"t1\"><status><basic>open</basic></status></tuple></presence>";

/* `text` with what differs between two endpoints and two runs replaced:
 * the Via branch, both tags, our address, the dialog's Call-ID. */
static char *
notify_normalised (Fixture    *fx,
                   const char *text,
                   const char *call_id)
{
  g_autoptr (GRegex) branch = g_regex_new (";branch=z9hG4bK[0-9a-zA-Z]+", 0, 0, NULL);
  g_autoptr (GRegex) tag = g_regex_new ("(\r\n(From|To): [^\r]*;tag=)[0-9a-zA-Z]+", 0, 0,
                                        NULL);
  g_autofree char *a = g_regex_replace (branch, text, -1, 0, ";branch=B", 0, NULL);
  g_autofree char *b = g_regex_replace (tag, a, -1, 0, "\\1T", 0, NULL);
  g_autofree char *ep = g_strdup_printf ("%s:%u", fx->host, fx->ep_port);
  g_auto (GStrv) parts = g_strsplit (b, ep, -1);
  g_autofree char *c = g_strjoinv ("EP", parts);
  g_auto (GStrv) parts2 = g_strsplit (c, call_id, -1);

  return g_strjoinv ("CALL-ID", parts2);
}

/* A subscription through a loose router (the peer) and a second route,
 * and its NOTIFYs: pending without a body, active with PIDF, terminated
 * with a reason; each answered 200.  Their texts, normalised. */
static char *
notify_run (Fixture *fx,
            guint    first_token)
{
  Watcher w = { 0 };
  g_autoptr (GString) all = g_string_new (NULL);
  g_autofree char *rr = g_strdup_printf ("Record-Route: <sip:%s:%u;lr>, "
                                         "<sip:p2.invalid;lr;x=1>\r\n",
                                         fx->host, fx->peer_port);
  const struct
  {
    StoxSubstate substate;
    const char  *reason;
    const char  *type;
    const char  *body;
  } steps[] = {
    { STOX_SUBSTATE_PENDING, NULL, NULL, NULL },
    { STOX_SUBSTATE_ACTIVE, NULL, "application/pidf+xml", notify_pidf },
    { STOX_SUBSTATE_TERMINATED, "timeout", NULL, NULL },
  };

  watcher_subscribe_with (fx, &w, 600, rr);
  for (guint i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      guint before = fx->responses->len;

      notify_in (fx, &w, first_token + i, steps[i].substate, 600, steps[i].reason,
                 steps[i].type, steps[i].body);
      g_autofree char *text = watcher_receive_notify (fx, &w, "SIP/2.0 200 OK");
      g_autofree char *n = notify_normalised (fx, text, w.call_id);

      g_assert_nonnull (strstr (text, "\r\nRoute: <sip:p2.invalid;lr;x=1>\r\n"));
      StoxSipResponse *r = wait_response (fx, before + 1);
      g_assert_cmpuint (r->token, ==, first_token + i);
      g_assert_cmpuint (r->status, ==, 200);
      g_string_append (all, n);
    }
  watcher_clear (&w);
  return g_string_free (g_steal_pointer (&all), FALSE);
}

/* Our NOTIFYs written as text are the ones nta writes (udp-client.h):
 * the same NOTIFYs from an endpoint as it runs and from one with Sofia's
 * message log on (TPORT_LOG: every request through nta) are identical but
 * for the branch, the tags and our address. */
static void
test_notify_as_stack (Fixture       *fx,
                      gconstpointer  data)
{
  StoxSipEndpointStats st;
  g_autofree char *as_text = notify_run (fx, 8100);

  stox_sip_endpoint_get_stats (fx->ep, &st);
  g_assert_cmpuint (st.requests_as_text, ==, 3);
  g_assert_cmpuint (st.stack_client_txns, ==, 0);

  g_setenv ("TPORT_LOG", "1", TRUE);
  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { 0 });
  g_unsetenv ("TPORT_LOG");
  g_autofree char *by_stack = notify_run (fx, 8200);

  stox_sip_endpoint_get_stats (fx->ep, &st);
  g_assert_cmpuint (st.requests_as_text, ==, 0);
  g_test_message ("%s", by_stack);
  g_assert_cmpstr (as_text, ==, by_stack);
}

/* A watcher gone from its address (ICMP port unreachable) fails our NOTIFY
 * at once, as nta's failure did, not after Timer F's 32 s: both ways. */
static void
test_notify_unreachable (Fixture       *fx,
                         gconstpointer  data)
{
  for (guint way = 0; way < 2; way++)
    {
      Watcher w = { 0 };
      StoxSipEndpointStats st;
      int gone = socket_on_loopback (fx->v6, SOCK_DGRAM, 0);
      /* The first hop of the dialog's NOTIFYs: nobody there. */
      g_autofree char *rr = g_strdup_printf ("Record-Route: <sip:%s:%u;lr>\r\n", fx->host,
                                             stox_test_bound_port (gone));

      close (gone);
      if (way == 1)
        {
          g_setenv ("TPORT_LOG", "1", TRUE);
          fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { 0 });
          g_unsetenv ("TPORT_LOG");
        }
      watcher_subscribe_with (fx, &w, 600, rr);

      guint before = fx->responses->len;
      gint64 start = g_get_monotonic_time ();

      notify_in (fx, &w, 8300 + way, STOX_SUBSTATE_ACTIVE, 600, NULL, NULL, NULL);
      StoxSipResponse *r = wait_response (fx, before + 1);
      gint64 took = g_get_monotonic_time () - start;

      g_test_message ("way %u: %u %s after %" G_GINT64_FORMAT " µs", way, r->status, r->phrase,
                      took);
      g_assert_cmpuint (r->token, ==, 8300 + way);
      g_assert_cmpuint (r->status, ==, 503);
      /* Before Timer E's first retransmission (T1), let alone Timer F. */
      g_assert_cmpint (took, <, 500 * 1000);
      stox_sip_endpoint_get_stats (fx->ep, &st);
      g_assert_cmpuint (st.requests_as_text, ==, way == 0 ? 1 : 0);
      g_assert_cmpuint (st.requests_sent, ==, 0);
      watcher_clear (&w);
    }
}

/* Our transaction (RFC 3261 §17.1.2.2): unanswered, the NOTIFY is sent
 * again after T1 and 2×T1, byte for byte; answers that are not its own
 * (another branch, another CSeq method or number) are dropped; the final
 * answer ends it, once.  After a provisional answer the running Timer E
 * fires as it would and the next interval is T2 (RFC 4321 §1.2, as nta
 * does): a 100 at once gives one copy at 0.5 s and the next at 4.5 s. */
static void
test_notify_retransmits (Fixture       *fx,
                         gconstpointer  data)
{
  Watcher w = { 0 };
  StoxSipEndpointStats st;

  watcher_subscribe (fx, &w, 600);
  notify_in (fx, &w, 8400, STOX_SUBSTATE_ACTIVE, 600, NULL, "application/pidf+xml",
             notify_pidf);
  g_autofree char *first = wait_datagram (fx, "NOTIFY ");
  stox_test_run_for (1700);
  /* At 0.5 s and 1.5 s. */
  g_assert_cmpuint (count_datagrams (fx, "NOTIFY "), ==, 3);
  for (guint i = 0; i < fx->datagrams->len; i++)
    {
      g_autofree char *copy = datagram_text (fx->datagrams->pdata[i]);

      g_assert_cmpstr (copy, ==, first);
    }
  stox_sip_endpoint_get_stats (fx->ep, &st);
  g_assert_cmpuint (st.requests_as_text, ==, 1);
  g_assert_cmpuint (st.requests_retransmitted, ==, 2);

  /* Not its answers: dropped, the transaction goes on. */
  g_autofree char *ok = peer_answer_with (first, "SIP/2.0 200 OK", NULL, NULL);
  g_autofree char *other_branch = g_strdup (ok);
  char *b = strstr (other_branch, ";branch=z9hG4bK");
  g_assert_nonnull (b);
  b[strlen (";branch=z9hG4bK")] ^= 1;
  g_autofree char *cseq = g_strdup_printf ("CSeq: %u NOTIFY", cseq_of (first));
  g_autofree char *cseq_method = g_strdup_printf ("CSeq: %u SUBSCRIBE", cseq_of (first));
  g_autofree char *cseq_number = g_strdup_printf ("CSeq: %u NOTIFY", cseq_of (first) + 1);
  g_auto (GStrv) p1 = g_strsplit (ok, cseq, 2);
  g_autofree char *other_method = g_strjoinv (cseq_method, p1);
  g_autofree char *other_number = g_strjoinv (cseq_number, p1);
  peer_reply (fx, other_branch);
  peer_reply (fx, other_method);
  peer_reply (fx, other_number);
  stox_test_run_for (100);
  g_assert_cmpuint (fx->responses->len, ==, 0);

  peer_reply (fx, ok);
  StoxSipResponse *r = wait_response (fx, 1);
  g_assert_cmpuint (r->token, ==, 8400);
  g_assert_cmpuint (r->status, ==, 200);
  /* A copy of the final answer finds nothing. */
  peer_reply (fx, ok);
  stox_test_run_for (100);
  g_assert_cmpuint (fx->responses->len, ==, 1);

  /* Proceeding at once: the copy at T1, then none until T1 + T2. */
  notify_in (fx, &w, 8401, STOX_SUBSTATE_ACTIVE, 600, NULL, NULL, NULL);
  g_autofree char *second = wait_datagram (fx, "NOTIFY ");
  g_autofree char *trying = peer_answer_with (second, "SIP/2.0 100 Trying", NULL, NULL);
  peer_reply (fx, trying);
  stox_test_run_for (2000);
  g_assert_cmpuint (count_datagrams (fx, "NOTIFY "), ==, 2);
  stox_test_run_for (2000);
  g_assert_cmpuint (count_datagrams (fx, "NOTIFY "), ==, 2);
  g_assert_cmpuint (fx->responses->len, ==, 1);
  g_autofree char *ok2 = peer_answer_with (second, "SIP/2.0 200 OK", NULL, NULL);
  peer_reply (fx, ok2);
  r = wait_response (fx, 2);
  g_assert_cmpuint (r->token, ==, 8401);
  g_assert_cmpuint (r->status, ==, 200);
  stox_sip_endpoint_get_stats (fx->ep, &st);
  g_assert_cmpuint (st.requests_sent, ==, 0);
  watcher_clear (&w);
}

/* Received on `fd` within `ms` while the loop runs; NULL when nothing. */
static char *
recv_within (int   fd,
             guint ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;
  char buf[65536];

  while (g_get_monotonic_time () < end)
    {
      ssize_t n = recv (fd, buf, sizeof buf, MSG_DONTWAIT);

      if (n > 0)
        return g_strndup (buf, (gsize) n);
      stox_test_run_for (20);
    }
  return NULL;
}

/* A strict router (no ;lr) first in the route set: the NOTIFY goes to it,
 * with it as the Request-URI (RFC 3261 §12.2.1.1), as nta sends it; never
 * to the Contact behind it, which the trusted-peers check did not see
 * (from the review: the text path sent it there).  Both ways. */
static void
test_notify_strict_router (Fixture       *fx,
                           gconstpointer  data)
{
  for (guint way = 0; way < 2; way++)
    {
      Watcher w = { 0 };
      int strict = socket_on_loopback (fx->v6, SOCK_DGRAM, 0);
      g_autofree char *rr = g_strdup_printf ("Record-Route: <sip:%s:%u>\r\n", fx->host,
                                             stox_test_bound_port (strict));
      g_autofree char *request_line = g_strdup_printf ("NOTIFY sip:%s:%u SIP/2.0\r\n", fx->host,
                                                       stox_test_bound_port (strict));

      if (way == 1)
        {
          g_setenv ("TPORT_LOG", "1", TRUE);
          fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { 0 });
          g_unsetenv ("TPORT_LOG");
        }
      watcher_subscribe_with (fx, &w, 600, rr);
      notify_in (fx, &w, 9100 + way, STOX_SUBSTATE_ACTIVE, 600, NULL, NULL, NULL);
      g_autofree char *at_strict = recv_within (strict, 1000);

      g_assert_nonnull (at_strict);
      g_assert_true (g_str_has_prefix (at_strict, request_line));
      g_assert_cmpuint (count_datagrams (fx, "NOTIFY "), ==, 0);
      close (strict);
      watcher_clear (&w);
    }
}

static void
resend_on_503 (gpointer               data,
               const StoxSipResponse *resp)
{
  Fixture *fx = data;
  Watcher *w = fx->hook_data;

  /* From inside the transport's error report: another NOTIFY to the same
   * dead destination. */
  if (resp->token == 9201)
    {
      StoxSipNotify n = { .token = 9203, .dialog = w->dialog,
                          .substate = STOX_SUBSTATE_ACTIVE, .expires = 600 };

      stox_sip_endpoint_notify (fx->ep, &n);
    }
}

static gboolean
has_three_responses (Fixture *fx)
{
  return fx->responses->len >= 3;
}

/* Two watchers behind one dead address: both NOTIFYs fail at once, and one
 * the core sends there from inside that failure fails too (from the
 * review: the destination's pending entry is released and made again
 * while the transport walks its list). */
static void
test_notify_unreachable_again (Fixture       *fx,
                               gconstpointer  data)
{
  Watcher w1 = { 0 }, w2 = { 0 };
  int gone = socket_on_loopback (fx->v6, SOCK_DGRAM, 0);
  g_autofree char *rr = g_strdup_printf ("Record-Route: <sip:%s:%u;lr>\r\n", fx->host,
                                         stox_test_bound_port (gone));

  close (gone);
  watcher_subscribe_with (fx, &w1, 600, rr);
  fx->branch++;
  watcher_subscribe_with (fx, &w2, 600, rr);
  fx->response_hook = resend_on_503;
  fx->hook_data = &w1;
  notify_in (fx, &w1, 9201, STOX_SUBSTATE_ACTIVE, 600, NULL, NULL, NULL);
  notify_in (fx, &w2, 9202, STOX_SUBSTATE_ACTIVE, 600, NULL, NULL, NULL);
  wait_for (fx, has_three_responses, "three answers");
  fx->response_hook = NULL;
  for (guint i = 0; i < fx->responses->len; i++)
    g_assert_cmpuint (g_array_index (fx->responses, StoxSipResponse, i).status, ==, 503);
  watcher_clear (&w1);
  watcher_clear (&w2);
}

/* When the text path declines after the dialog gave it a CSeq (a body
 * over the UDP MTU: nta may take TCP), nta's NOTIFY has that CSeq: no gap
 * (from the review). */
static void
test_notify_cseq_given_back (Fixture       *fx,
                             gconstpointer  data)
{
  Watcher w = { 0 };
  g_autoptr (GString) big = g_string_new (notify_pidf);
  StoxSipEndpointStats st;

  watcher_subscribe (fx, &w, 600);
  notify_in (fx, &w, 9401, STOX_SUBSTATE_ACTIVE, 600, NULL, "application/pidf+xml",
             notify_pidf);
  g_autofree char *n1 = watcher_receive_notify (fx, &w, "SIP/2.0 200 OK");
  wait_response (fx, 1);
  while (big->len < 1400)
    g_string_append (big, "<!-- padding padding padding padding -->");
  notify_in (fx, &w, 9402, STOX_SUBSTATE_ACTIVE, 600, NULL, "application/pidf+xml", big->str);
  g_autofree char *n2 = wait_datagram (fx, "NOTIFY ");
  g_assert_cmpuint (cseq_of (n2), ==, cseq_of (n1) + 1);
  stox_sip_endpoint_get_stats (fx->ep, &st);
  g_assert_cmpuint (st.requests_as_text, ==, 1);
  watcher_clear (&w);
}

/* notify-as-stack with a watcher whose From has an awkward display name. */
static void
test_notify_as_stack_display (Fixture       *fx,
                              gconstpointer  data)
{
  fx->watcher_display = "\"Bob \\\"the\\\" <x>, y;z\" ";
  g_autofree char *as_text = notify_run (fx, 9500);
  g_setenv ("TPORT_LOG", "1", TRUE);
  fixture_reopen (fx, "udp", (StoxSipEndpointConfig) { 0 });
  g_unsetenv ("TPORT_LOG");
  g_autofree char *by_stack = notify_run (fx, 9600);
  fx->watcher_display = NULL;
  g_assert_cmpstr (as_text, ==, by_stack);
}

/* How many datagrams since the last clear start with `prefix`. */
static guint
count_datagrams (Fixture    *fx,
                 const char *prefix)
{
  guint n = 0;

  for (guint i = 0; i < fx->datagrams->len; i++)
    {
      g_autofree char *text = datagram_text (fx->datagrams->pdata[i]);

      n += g_str_has_prefix (text, prefix);
    }
  return n;
}

/* Beyond max_in_flight our NOTIFYs wait, in order, and go out as answers
 * come; they count as in flight meanwhile (a new subscription still gets
 * 503).  A graceful stop that NOTIFYs every watcher at once made one
 * client transaction each (53 000 watchers: +450 MB). */
static void
test_notify_waits_for_room (Fixture       *fx,
                            gconstpointer  data)
{
  Watcher w = { 0 }, w2 = { 0 }, w3 = { 0 };

  restart_with_one_in_flight (fx);
  watcher_subscribe (fx, &w, 600);
  watcher_subscribe (fx, &w2, 600);
  watcher_subscribe (fx, &w3, 600);

  notify_in (fx, &w, 7101, STOX_SUBSTATE_ACTIVE, 600, NULL, NULL, NULL);
  g_autofree char *first = wait_datagram (fx, "NOTIFY ");
  g_ptr_array_set_size (fx->datagrams, 0);
  StoxSipNotify n2 = { .token = 7102, .dialog = w2.dialog, .substate = STOX_SUBSTATE_ACTIVE,
                       .expires = 600 };
  StoxSipNotify n3 = { .token = 7103, .dialog = w3.dialog, .substate = STOX_SUBSTATE_ACTIVE,
                       .expires = 600 };
  stox_sip_endpoint_notify (fx->ep, &n2);
  stox_sip_endpoint_notify (fx->ep, &n3);
  stox_test_run_for (100);
  g_assert_cmpuint (count_datagrams (fx, "NOTIFY "), ==, 0);
  g_assert_cmpuint (stox_sip_endpoint_requests_in_flight (fx->ep), ==, 3);
  g_assert_cmpuint (fx->responses->len, ==, 0);

  /* The first answered: the second goes, not yet the third. */
  g_autofree char *ok = g_strdup_printf ("SIP/2.0 200 OK\r\n%s", strstr (first, "Via:"));
  peer_send (fx, ok, strlen (ok));
  wait_response (fx, 1);
  g_autofree char *second = wait_datagram (fx, "NOTIFY ");
  g_assert_nonnull (strstr (second, w2.call_id));
  stox_test_run_for (50);
  g_assert_cmpuint (count_datagrams (fx, "NOTIFY "), ==, 1);
  g_assert_cmpuint (stox_sip_endpoint_requests_in_flight (fx->ep), ==, 2);

  g_autofree char *ok2 = g_strdup_printf ("SIP/2.0 200 OK\r\n%s", strstr (second, "Via:"));
  g_ptr_array_set_size (fx->datagrams, 0);
  peer_send (fx, ok2, strlen (ok2));
  wait_response (fx, 2);
  g_autofree char *third = wait_datagram (fx, "NOTIFY ");
  g_assert_nonnull (strstr (third, w3.call_id));
  g_autofree char *ok3 = g_strdup_printf ("SIP/2.0 200 OK\r\n%s", strstr (third, "Via:"));
  peer_send (fx, ok3, strlen (ok3));
  StoxSipResponse *r3 = wait_response (fx, 3);
  g_assert_cmpuint (r3->token, ==, 7103);
  g_assert_cmpuint (r3->status, ==, 200);
  g_assert_cmpuint (stox_sip_endpoint_requests_in_flight (fx->ep), ==, 0);

  watcher_clear (&w);
  watcher_clear (&w2);
  watcher_clear (&w3);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn, data) \
  g_test_add ("/sip/endpoint/" path, Fixture, data, fixture_set_up, fn, fixture_tear_down)

  ADD ("bound", test_bound, NULL);
  ADD ("options-answered-later", test_options_answered_later, NULL);
  ADD ("options-answered-at-once", test_options_answered_at_once, NULL);
  ADD ("message-answered-after-delay", test_message_answered_after_delay, NULL);
  ADD ("respond-headers", test_respond_headers, NULL);
  ADD ("udp-replies-as-stack", test_udp_replies_as_stack, NULL);
  ADD ("notify-as-stack", test_notify_as_stack, NULL);
  ADD ("notify-unreachable", test_notify_unreachable, NULL);
  ADD ("notify-retransmits", test_notify_retransmits, NULL);
  ADD ("notify-strict-router", test_notify_strict_router, NULL);
  ADD ("notify-unreachable-again", test_notify_unreachable_again, NULL);
  ADD ("notify-cseq-given-back", test_notify_cseq_given_back, NULL);
  ADD ("notify-as-stack-display", test_notify_as_stack_display, NULL);
  ADD ("udp-reply-destination", test_udp_reply_destination, NULL);
  ADD ("udp-reply-message-log", test_udp_reply_message_log, NULL);
  ADD ("stateless-transactions", test_stateless_transactions, NULL);
  ADD ("merged-request", test_merged_request, NULL);
  ADD ("rfc2543-retransmission", test_rfc2543_retransmission, NULL);
  ADD ("unanswered-500", test_unanswered_500, NULL);
  ADD ("other-methods-refused", test_other_methods_refused, NULL);
  ADD ("send-message", test_send_message, NULL);
  ADD ("send-fails-at-once", test_send_fails_at_once, "udp");
  ADD ("send-too-large", test_send_too_large, NULL);
  ADD ("send-unreachable", test_send_unreachable, NULL);
  ADD ("send-bad-uris", test_send_bad_uris, NULL);
  ADD ("shutdown-answers-pending", test_shutdown_answers_pending, NULL);
  ADD ("body-too-large", test_body_too_large, "tcp");
  ADD ("server-dialog", test_server_dialog, NULL);
  ADD ("server-dialog-ends", test_server_dialog_ends, NULL);
  ADD ("client-dialog", test_client_dialog, NULL);
  ADD ("client-dialog-notify-first", test_client_dialog_notify_first, NULL);
  ADD ("unknown-dialogs", test_unknown_dialogs, NULL);
  ADD ("no-automatic-requests", test_no_automatic_requests, NULL);
  ADD ("shutdown-waits-for-notify", test_shutdown_waits_for_notify, NULL);
  ADD ("shutdown-gives-up-on-notify", test_shutdown_gives_up_on_notify, NULL);
  ADD ("dialog-state-reports", test_dialog_state_reports, NULL);
  ADD ("dialog-restore", test_dialog_restore, NULL);
  ADD ("dialog-restore-refused", test_dialog_restore_refused, NULL);
  ADD ("dialog-cseq-reserved", test_dialog_cseq_reserved, NULL);
  ADD ("dialog-cseq-exhausted", test_dialog_cseq_exhausted, NULL);
  ADD ("untrusted-target-refused", test_untrusted_target_refused, NULL);
  ADD ("untrusted-target-via-proxy", test_untrusted_target_via_proxy, NULL);
  ADD ("refresh-to-untrusted-target", test_refresh_to_untrusted_target, NULL);
  ADD ("client-dialog-untrusted-target", test_client_dialog_untrusted_target, NULL);
  ADD ("request-uri-params-ignored", test_request_uri_params_ignored, NULL);
  ADD ("expires-http-date", test_expires_http_date, NULL);
  ADD ("tcp-connection-caps", test_tcp_connection_caps, NULL);
  ADD ("tcp-idle-timeout", test_tcp_idle_timeout, NULL);
  ADD ("tcp-incomplete-message", test_tcp_incomplete_message, NULL);
  ADD ("tcp-fd-reserve", test_tcp_fd_reserve, NULL);
  ADD ("dialog-cseq-order", test_dialog_cseq_order, NULL);
  ADD ("subscribe-in-flight", test_subscribe_in_flight, NULL);
  ADD ("notify-waits-for-room", test_notify_waits_for_room, NULL);
  ADD ("any-transport/udp", test_options_answered_later, "any");
  ADD ("any-transport/tcp", test_body_too_large, "any");
  g_test_add_func ("/sip/endpoint/listen-failures", test_listen_failures);
  g_test_add_func ("/sip/endpoint/bound-port-zero", test_bound_port_zero);

  int probe = stox_test_loopback_socket (TRUE, SOCK_DGRAM, 0);
  if (probe >= 0)
    {
      close (probe);
      ADD ("ipv6/bound", test_bound, "udp6");
      ADD ("ipv6/options-answered-later", test_options_answered_later, "udp6");
      ADD ("ipv6/stateless-transactions", test_stateless_transactions, "udp6");
      ADD ("ipv6/udp-replies-as-stack", test_udp_replies_as_stack, "udp6");
      ADD ("ipv6/notify-as-stack", test_notify_as_stack, "udp6");
      ADD ("ipv6/notify-unreachable", test_notify_unreachable, "udp6");
      ADD ("ipv6/udp-reply-destination", test_udp_reply_destination, "udp6");
      ADD ("ipv6/send-message", test_send_message, "udp6");
      ADD ("ipv6/server-dialog", test_server_dialog, "udp6");
      ADD ("ipv6/client-dialog", test_client_dialog, "udp6");
      ADD ("ipv6/dialog-restore", test_dialog_restore, "udp6");
    }

  return g_test_run ();
}
