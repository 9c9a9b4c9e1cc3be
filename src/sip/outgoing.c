/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The requests the core sends: MESSAGE out of dialog (RFC 3428), SUBSCRIBE
 * (RFC 6665 §4.1) and NOTIFY (RFC 6665 §4.2.2) in their dialogs, as nta
 * client transactions, and their final responses back to the core.  A
 * request that cannot go out is answered here, as a response would be, so
 * the core hears of every request it asked for exactly once.
 */
#include "config.h"

#include <string.h>

#include "sip/endpoint-private.h"
#include "sip/convert.h"
#include "sip/message-size.h"
#include "sip/next-hop.h"
#include "sip/udp-client.h"

/* Sofia passes NULL phrases now and then; printf must not see them. */
#define PHRASE(p) ((p) != NULL ? (p) : "")

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* Our Contact (RFC 3261 §8.1.1.8, §12.1.1): dialog-creating requests and
 * their 2xx, target refreshes, OPTIONS 2xx. */
static sip_contact_t const *
our_contact (StoxSipEndpoint *ep)
{
  return nta_agent_contact (ep->agent);
}

/* Where a request in `dlg` goes when its first hop is not a trusted peer
 * (next-hop.h): through the outbound proxy; without one, a client dialog's
 * requests go to the host of the URI it was created for, resolved per RFC
 * 3263 as its initial SUBSCRIBE was, and a server dialog's nowhere
 * (FALSE): its SUBSCRIBE, or a refresh that would have made it so, was
 * refused for that (incoming.c), so only an old saved state gets here.
 * *ret_route NULL: where the dialog says. */
static gboolean
dialog_route (StoxSipEndpoint *ep,
              StoxSipDialog   *dlg,
              su_home_t       *home,
              url_t const    **ret_route)
{
  *ret_route = NULL;
  if (ep->trusted == NULL
      || stox_sip_hop_trusted (ep->trusted, stox_sip_dialog_first_hop (dlg, home)))
    return TRUE;
  if (ep->proxy != NULL)
    {
      *ret_route = ep->proxy;
      return TRUE;
    }
  if (dlg->kind == STOX_SIP_DIALOG_CLIENT)
    {
      url_t *domain = stox_sip_dialog_remote_uri (dlg, home);

      if (domain != NULL && domain->url_host != NULL)
        {
          domain->url_user = domain->url_password = domain->url_port = NULL;
          domain->url_params = domain->url_headers = NULL;
          *ret_route = domain;
          return TRUE;
        }
    }
  return FALSE;
}

/* ------------------------------------------------------------------ */
/* Failures before the wire                                            */

/* A request that failed before (or instead of) reaching the wire;
 * `warning` (or NULL) says why. */
static void
fail_locally_why (StoxSipEndpoint *ep,
                  StoxToken        token,
                  guint            status,
                  const char      *phrase,
                  const char      *warning)
{
  StoxSipResponse resp = {
    .token = token, .status = status, .phrase = (char *) phrase,
    .expires = -1, .min_expires = -1, .warning = (char *) warning,
  };

  ep->on_response (&resp, ep->user_data);
}

static void
fail_locally (StoxSipEndpoint *ep,
              StoxToken        token,
              guint            status,
              const char      *phrase)
{
  fail_locally_why (ep, token, status, phrase, NULL);
}

/* ------------------------------------------------------------------ */
/* Responses to our requests                                           */

static const char *
method_name (StoxSipMethod method)
{
  switch (method)
    {
    case STOX_SIP_METHOD_MESSAGE:
      return "MESSAGE";
    case STOX_SIP_METHOD_SUBSCRIBE:
      return "SUBSCRIBE";
    case STOX_SIP_METHOD_NOTIFY:
      return "NOTIFY";
    default:
      return "request";
    }
}

/* A final response to `op` (or the failure standing for one): out of the
 * tables before the callback, so the core may reuse the token at once;
 * freed after, which releases an nta transaction.  Takes resp->phrase. */
static void
finish (StoxSipOp       *op,
        StoxSipResponse *resp,
        sip_t const     *sip)
{
  StoxSipEndpoint *ep = op->ep;

  stox_debug ("%s %" G_GUINT64_FORMAT ": %u %s", method_name (op->method),
              op->token, resp->status, resp->phrase);
  /* Stack failures beyond SIP's range speak SIP to the core: 500. */
  if (resp->status >= 700)
    {
      resp->status = 500;
      g_free (resp->phrase);
      resp->phrase = g_strdup (sip_status_phrase (500));
    }
  resp->token = op->token;

  if (op->method == STOX_SIP_METHOD_SUBSCRIBE)
    g_hash_table_steal (ep->subscribe_ops, op);
  else
    g_hash_table_steal (ep->client_ops, &op->token);

  if (op->method == STOX_SIP_METHOD_NOTIFY)
    stox_sip_dialog_after_notify (ep->dialogs, op->dialog, op->terminates, resp->status);
  else if (op->method == STOX_SIP_METHOD_SUBSCRIBE)
    stox_sip_dialog_after_subscribe (ep->dialogs, op->dialog, op->initial, op->terminates,
                                     resp->status, sip);

  ep->on_response (resp, ep->user_data);
  stox_sip_op_free (op);
  g_free (resp->phrase);

  stox_sip_endpoint_request_done (ep);
}

static int
on_response (StoxSipOp      *op,
             nta_outgoing_t *orq,
             sip_t const    *sip)
{
  StoxSipEndpoint *ep = op->ep;
  StoxSipResponse resp = { .expires = -1, .min_expires = -1 };
  msg_t *msg = nta_outgoing_getresponse (orq);

  stox_sip_tcp_guard_heard (ep->tcp_guard, msg);
  if (msg != NULL)
    msg_destroy (msg);

  if (!stox_sip_convert_response (sip, &resp))
    {
      resp.status = (guint) nta_outgoing_status (orq);
      resp.phrase = g_strdup (PHRASE (sip_status_phrase ((int) resp.status)));
    }
  if (resp.status < 200)
    {
      g_free (resp.phrase);
      return 0;
    }
  finish (op, &resp, sip);
  return 0;
}

void
stox_sip_outgoing_udp_response (gpointer     data,
                                guint        status,
                                sip_t const *sip,
                                gpointer     user_data)
{
  StoxSipOp *op = data;
  StoxSipResponse resp = { .expires = -1, .min_expires = -1 };

  (void) user_data;
  op->txn = NULL;
  if (sip == NULL || !stox_sip_convert_response (sip, &resp))
    {
      resp.status = status;
      resp.phrase = g_strdup (PHRASE (sip_status_phrase ((int) status)));
    }
  finish (op, &resp, sip);
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */

/* Creates a client transaction; its final response comes to on_response()
 * and never from inside this call. */
static gboolean
send_request (StoxSipEndpoint *ep,
              StoxSipOp       *op,
              nta_leg_t       *leg,
              url_t const     *route,
              sip_method_t     method,
              const char      *method_name,
              const char      *request_uri,
              tag_type_t       tag,
              tag_value_t      value,
              ...)
{
  ta_list ta;

  ta_start (ta, tag, value);
  op->orq = nta_outgoing_tcreate (leg, on_response, op, (url_string_t const *) route,
                                  method, method_name,
                                  request_uri != NULL ? URL_STRING_MAKE (request_uri) : NULL,
                                  SIPTAG_USER_AGENT_STR (ep->user_agent),
                                  SIPTAG_ALLOW (ep->allow),
                                  ta_tags (ta));
  (void) ta_end (ta);
  return op->orq != NULL;
}

/* A From or To the gateway may write: a SIP, SIPS or tel URI with
 * something to address (RFC 3261 §19.1, RFC 3966). */
static gboolean
address_usable (const char *uri)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  url_t *url = url_make (home, uri);
  gboolean ok = url != NULL
                && (((url->url_type == url_sip || url->url_type == url_sips)
                     && url->url_host != NULL && url->url_host[0] != '\0')
                    || (url->url_type == url_tel && url->url_host != NULL
                        && url->url_host[0] != '\0'));

  su_home_deinit (home);
  return ok;
}

void
stox_sip_endpoint_send_message (StoxSipEndpoint         *ep,
                                const StoxSipOutMessage *req)
{
  g_return_if_fail (ep != NULL && req != NULL);

  if (ep->shutting_down || ep->agent == NULL)
    {
      fail_locally (ep, req->token, SIP_503_SERVICE_UNAVAILABLE);
      return;
    }
  if (req->request_uri == NULL || req->from_uri == NULL || req->to_uri == NULL)
    {
      g_warning ("request %" G_GUINT64_FORMAT ": no Request-URI, From or To", req->token);
      fail_locally (ep, req->token, SIP_500_INTERNAL_SERVER_ERROR);
      return;
    }
  if (g_hash_table_contains (ep->client_ops, &req->token))
    {
      g_warning ("request %" G_GUINT64_FORMAT ": token already in use", req->token);
      fail_locally (ep, req->token, SIP_500_INTERNAL_SERVER_ERROR);
      return;
    }
  /* RFC 3428 §8: no MESSAGE over the limit leaves; RFC 7572 §6: the
   * XMPP sender hears <policy-violation/> (the rules map 513 to it). */
  gsize size = stox_sip_message_size (req, ep->user_agent, stox_sip_allowed_methods ());
  if (size > ep->max_message_size)
    {
      g_autofree char *why = g_strdup_printf ("the message would be %" G_GSIZE_FORMAT
                                              " bytes as SIP; the limit is %u (RFC 3428 §8)",
                                              size, ep->max_message_size);

      stox_debug ("request %" G_GUINT64_FORMAT ": not sent: %s", req->token, why);
      fail_locally_why (ep, req->token, SIP_513_MESSAGE_TOO_LARGE, why);
      return;
    }

  /* The Request-URI may be a peer's words: the late "not delivered"
   * notice answers the From of a MESSAGE.  Its port, maddr, transport
   * and other parameters are not honoured (next-hop.h): the request goes
   * through the outbound proxy, or where RFC 3263 resolves its host. */
  g_autofree char *target = stox_sip_hop_plain_uri (req->request_uri);
  if (target == NULL)
    {
      stox_debug ("request %" G_GUINT64_FORMAT ": unusable Request-URI %s", req->token,
                  req->request_uri);
      fail_locally (ep, req->token, 500, "Invalid Request-URI");
      return;
    }

  /* Sofia takes nearly any text as a From or To URI and would put it on
   * the wire, retransmitted for 32 s, for the peer to refuse. */
  if (!address_usable (req->from_uri) || !address_usable (req->to_uri))
    {
      stox_debug ("request %" G_GUINT64_FORMAT ": unusable From %s or To %s", req->token,
                  req->from_uri, req->to_uri);
      fail_locally (ep, req->token, 500, "Invalid From or To");
      return;
    }

  /* Angle brackets keep URI parameters (";transport=…") in the URI
   * instead of making them header parameters (RFC 3261 §20.10). */
  g_autofree char *from = g_strdup_printf ("<%s>", req->from_uri);
  g_autofree char *to = g_strdup_printf ("<%s>", req->to_uri);
  StoxSipOp *op = stox_sip_op_new (ep, req->token, STOX_SIP_METHOD_MESSAGE);
  sip_payload_t pl[1];

  /* Out of dialog: the default leg, a fresh From tag and Call-ID. */
  if (!send_request (ep, op, stox_sip_dialogs_default_leg (ep->dialogs), ep->proxy, SIP_METHOD_MESSAGE,
                     target,
                     SIPTAG_FROM_STR (from),
                     SIPTAG_TO_STR (to),
                     TAG_IF (req->body != NULL && req->content_type != NULL,
                             SIPTAG_CONTENT_TYPE_STR (req->content_type)),
                     TAG_IF (req->body != NULL, SIPTAG_PAYLOAD (stox_sip_convert_payload (pl, req->body))),
                     TAG_IF (req->call_id != NULL, SIPTAG_CALL_ID_STR (req->call_id)),
                     TAG_IF (req->subject != NULL, SIPTAG_SUBJECT_STR (req->subject)),
                     TAG_IF (req->content_language != NULL,
                             SIPTAG_CONTENT_LANGUAGE_STR (req->content_language)),
                     TAG_END ()))
    {
      /* Sofia could not parse a URI or header; the core hears of it as the
       * response and reports it, so no log of ours beyond debug. */
      stox_debug ("request %" G_GUINT64_FORMAT ": unusable Request-URI %s, From %s or To %s",
                  req->token, req->request_uri, req->from_uri, req->to_uri);
      stox_sip_op_free (op);
      fail_locally (ep, req->token, 500, "Invalid Request-URI, From or To");
      return;
    }
  g_hash_table_insert (ep->client_ops, &op->token, op);
}

void
stox_sip_endpoint_subscribe (StoxSipEndpoint        *ep,
                             const StoxSipSubscribe *s)
{
  g_return_if_fail (ep != NULL && s != NULL);

  if (ep->shutting_down || ep->agent == NULL)
    {
      fail_locally (ep, s->dialog, SIP_503_SERVICE_UNAVAILABLE);
      return;
    }

  StoxSipDialog *dlg = stox_sip_dialog_lookup (ep->dialogs, STOX_SIP_DIALOG_CLIENT, s->dialog);
  gboolean initial = dlg == NULL;

  if (initial)
    {
      if (s->request_uri == NULL || s->from_uri == NULL || s->to_uri == NULL)
        {
          g_warning ("subscription %" G_GUINT64_FORMAT ": no Request-URI, From or To",
                     s->dialog);
          fail_locally (ep, s->dialog, SIP_500_INTERNAL_SERVER_ERROR);
          return;
        }
      dlg = stox_sip_dialog_client_new (ep->dialogs, s);
      if (dlg == NULL)
        {
          stox_debug ("subscription %" G_GUINT64_FORMAT ": unusable From %s or To %s",
                      s->dialog, s->from_uri, s->to_uri);
          fail_locally (ep, s->dialog, 500, "Invalid From or To");
          return;
        }
    }

  g_autofree char *expires = g_strdup_printf ("%u", s->expires);
  g_autofree char *event = stox_sip_dialog_event (dlg);
  su_home_t home[1] = { SU_HOME_INIT (home) };
  url_t const *route = ep->proxy;

  /* Until the notifier answered, the dialog has no route set yet: the
   * outbound proxy, as for any request out of dialog.  After, its route
   * set and target (RFC 3261 §12.2.1.1) when they are trusted; CSeq one
   * up, same Call-ID. */
  if (dlg->established)
    (void) dialog_route (ep, dlg, home, &route);

  StoxSipOp *op = stox_sip_op_new (ep, s->dialog, STOX_SIP_METHOD_SUBSCRIBE);

  op->dialog_kind = STOX_SIP_DIALOG_CLIENT;
  op->dialog = s->dialog;
  op->initial = initial;
  op->terminates = s->expires == 0;

  op->orq = stox_sip_dialog_send (dlg, SIP_METHOD_SUBSCRIBE, route, on_response, op,
                                  SIPTAG_USER_AGENT_STR (ep->user_agent),
                                  SIPTAG_ALLOW (ep->allow),
                                  SIPTAG_EVENT_STR (event),
                                  TAG_IF (s->accept != NULL, SIPTAG_ACCEPT_STR (s->accept)),
                                  SIPTAG_EXPIRES_STR (expires),
                                  SIPTAG_CONTACT (our_contact (ep)),
                                  SIPTAG_ALLOW_EVENTS_STR (stox_sip_allowed_events ()),
                                  TAG_END ());
  su_home_deinit (home);
  if (op->orq == NULL)
    {
      stox_debug ("subscription %" G_GUINT64_FORMAT ": cannot build the SUBSCRIBE", s->dialog);
      stox_sip_op_free (op);
      if (initial)
        stox_sip_dialog_forget (dlg);
      fail_locally (ep, s->dialog, 500, "Invalid Request-URI");
      return;
    }
  g_hash_table_add (ep->subscribe_ops, op);
}

static void send_notify (StoxSipEndpoint *ep, const StoxSipNotify *n);

static StoxSipNotify *
notify_copy (const StoxSipNotify *n)
{
  StoxSipNotify *c = g_new0 (StoxSipNotify, 1);

  *c = *n;
  c->reason = g_strdup (n->reason);
  c->content_type = g_strdup (n->content_type);
  c->body = n->body != NULL ? g_bytes_ref (n->body) : NULL;
  return c;
}

static void
notify_free (StoxSipNotify *c)
{
  g_free (c->reason);
  g_free (c->content_type);
  g_clear_pointer (&c->body, g_bytes_unref);
  g_free (c);
}

void
stox_sip_outgoing_send_waiting (StoxSipEndpoint *ep)
{
  StoxSipNotify *n;

  while (ep->agent != NULL
         && (ep->max_in_flight == 0 || stox_sip_endpoint_on_wire (ep) < ep->max_in_flight)
         && (n = g_queue_pop_head (&ep->notify_waiting)) != NULL)
    {
      send_notify (ep, n);
      notify_free (n);
    }
}

void
stox_sip_outgoing_drop_waiting (StoxSipEndpoint *ep)
{
  StoxSipNotify *n;
  guint dropped = ep->notify_waiting.length;

  if (dropped > 0)
    g_message ("SIP shutdown: %u NOTIFYs still waiting for room among the requests in "
               "flight were not sent", dropped);
  while ((n = g_queue_pop_head (&ep->notify_waiting)) != NULL)
    notify_free (n);
}

/* At most max_in_flight of our requests at a time (RFC 3261 §21.5.4 and
 * RFC 6357: a notifier does not flood a watcher that answers slowly):
 * beyond it a NOTIFY waits in order, as a copy of a few hundred bytes
 * rather than a client transaction of ten kilobytes, and goes out as
 * answers come.  A graceful stop NOTIFYs every watcher at once (stoxd(8):
 * dialogs are kept, each shows the XMPP user closed): 53 000 watchers
 * made that 450 MB of transactions. */
void
stox_sip_endpoint_notify (StoxSipEndpoint     *ep,
                          const StoxSipNotify *n)
{
  g_return_if_fail (ep != NULL && n != NULL);

  if (ep->shutting_down || ep->agent == NULL)
    {
      fail_locally (ep, n->token, SIP_503_SERVICE_UNAVAILABLE);
      return;
    }
  if (ep->max_in_flight != 0 && (stox_sip_endpoint_on_wire (ep) >= ep->max_in_flight
                                 || ep->notify_waiting.length > 0))
    {
      g_queue_push_tail (&ep->notify_waiting, notify_copy (n));
      return;
    }
  send_notify (ep, n);
}

/* Contact, User-Agent and Allow of our requests, as Sofia encodes them. */
static const char *
request_headers (StoxSipEndpoint *ep)
{
  if (ep->request_headers == NULL)
    {
      su_home_t home[1] = { SU_HOME_INIT (home) };
      msg_header_t const *h[] = {
        (msg_header_t const *) our_contact (ep),
        (msg_header_t const *) sip_user_agent_make (home, ep->user_agent),
        (msg_header_t const *) ep->allow,
      };
      GString *t = g_string_new (NULL);
      char buf[1024];

      for (gsize i = 0; i < G_N_ELEMENTS (h) && t != NULL; i++)
        {
          issize_t len = h[i] != NULL ? msg_header_e (buf, sizeof buf, h[i], 0) : -1;

          if (len < 0 || (gsize) len >= sizeof buf)
            {
              g_string_free (t, TRUE);
              t = NULL;
            }
          else
            g_string_append_len (t, buf, len);
        }
      /* The empty string: none written (the stack writes them). */
      ep->request_headers = t != NULL ? g_string_free (t, FALSE) : g_strdup ("");
      su_home_deinit (home);
    }
  return ep->request_headers[0] != '\0' ? ep->request_headers : NULL;
}

/* The NOTIFY as text in a transaction of our own (udp-client.h), when it
 * is one that goes that way; NULL, its CSeq not taken, when nta must send
 * it.  The headers are those nta gets below, in its order. */
static struct _StoxSipUdpTxn *
send_notify_as_text (StoxSipEndpoint     *ep,
                     StoxSipDialog       *dlg,
                     url_t const         *next_hop,
                     const StoxSipNotify *n,
                     const char          *event,
                     const char          *state,
                     StoxSipOp           *op)
{
  const char *constant = ep->udp_client != NULL ? request_headers (ep) : NULL;
  su_home_t home[1] = { SU_HOME_INIT (home) };
  StoxSipDialogRequest req;
  StoxSipUdpTxn *txn = NULL;

  /* Written verbatim below: nothing that would end a header. */
  if (constant == NULL || !stox_sip_convert_phrase_is_plain (event)
      || !stox_sip_convert_phrase_is_plain (state)
      || (n->content_type != NULL && !stox_sip_convert_phrase_is_plain (n->content_type)))
    return NULL;
  if (stox_sip_dialog_request (dlg, sip_method_notify, home, &req))
    {
      g_autofree char *headers = g_strdup_printf ("%sEvent: %s\r\nAllow-Events: %s\r\n"
                                                  "Subscription-State: %s\r\n",
                                                  constant, event, stox_sip_allowed_events (),
                                                  state);
      StoxSipUdpRequest r = {
        .method = "NOTIFY", .ruri = req.ruri, .next_hop = next_hop, .route = req.route,
        .from = req.from, .to = req.to, .call_id = req.call_id, .cseq = req.cseq,
        .headers = headers, .content_type = n->content_type,
        .body = n->content_type != NULL ? n->body : NULL,
      };

      txn = stox_sip_udp_client_send (ep->udp_client, &r, op);
      if (txn == NULL)
        stox_sip_dialog_request_unsent (dlg, &req);
    }
  su_home_deinit (home);
  return txn;
}

static void
send_notify (StoxSipEndpoint     *ep,
             const StoxSipNotify *n)
{
  if (g_hash_table_contains (ep->client_ops, &n->token))
    {
      g_warning ("NOTIFY %" G_GUINT64_FORMAT ": token already in use", n->token);
      fail_locally (ep, n->token, SIP_500_INTERNAL_SERVER_ERROR);
      return;
    }

  StoxSipDialog *dlg = stox_sip_dialog_lookup (ep->dialogs, STOX_SIP_DIALOG_SERVER, n->dialog);
  if (dlg == NULL || dlg->terminating)
    {
      stox_debug ("NOTIFY %" G_GUINT64_FORMAT ": no dialog %" G_GUINT64_FORMAT,
                  n->token, n->dialog);
      fail_locally (ep, n->token, 481, "Subscription Does Not Exist");
      return;
    }
  /* CSeq MUST stay below 2^31 (RFC 3261 §8.1.1.5): a dialog that used
   * them all (or a restored state near the end) cannot go on. */
  if (!stox_sip_dialog_before_notify (dlg, n->substate == STOX_SUBSTATE_TERMINATED))
    {
      g_warning ("NOTIFY %" G_GUINT64_FORMAT ": dialog %" G_GUINT64_FORMAT
                 " has no CSeq left; ending it", n->token, n->dialog);
      stox_sip_dialog_forget (dlg);
      fail_locally (ep, n->token, 481, "Subscription Does Not Exist");
      return;
    }

  su_home_t home[1] = { SU_HOME_INIT (home) };
  url_t const *route = NULL;
  if (!dialog_route (ep, dlg, home, &route))
    {
      g_warning ("NOTIFY %" G_GUINT64_FORMAT ": dialog %" G_GUINT64_FORMAT
                 " leads to an address that is not a trusted peer, and no outbound-proxy "
                 "is set; ending it", n->token, n->dialog);
      su_home_deinit (home);
      stox_sip_dialog_forget (dlg);
      fail_locally (ep, n->token, 481, "Subscription Does Not Exist");
      return;
    }

  g_autofree char *state = stox_sip_convert_substate (n);
  g_autofree char *event = stox_sip_dialog_event (dlg);
  StoxSipOp *op = stox_sip_op_new (ep, n->token, STOX_SIP_METHOD_NOTIFY);
  sip_payload_t pl[1];

  op->dialog_kind = STOX_SIP_DIALOG_SERVER;
  op->dialog = n->dialog;
  op->terminates = n->substate == STOX_SUBSTATE_TERMINATED;

  op->txn = send_notify_as_text (ep, dlg, route, n, event, state, op);
  if (op->txn == NULL)
    op->orq = stox_sip_dialog_send (dlg, SIP_METHOD_NOTIFY, route, on_response, op,
                                    SIPTAG_USER_AGENT_STR (ep->user_agent),
                                    SIPTAG_ALLOW (ep->allow),
                                    SIPTAG_EVENT_STR (event),
                                    SIPTAG_SUBSCRIPTION_STATE_STR (state),
                                    SIPTAG_CONTACT (our_contact (ep)),
                                    SIPTAG_ALLOW_EVENTS_STR (stox_sip_allowed_events ()),
                                    TAG_IF (n->content_type != NULL,
                                            SIPTAG_CONTENT_TYPE_STR (n->content_type)),
                                    TAG_IF (n->content_type != NULL && n->body != NULL,
                                            SIPTAG_PAYLOAD (stox_sip_convert_payload (pl,
                                                                                      n->body))),
                                    TAG_END ());
  su_home_deinit (home);
  if (op->orq == NULL && op->txn == NULL)
    {
      g_warning ("NOTIFY %" G_GUINT64_FORMAT ": cannot build it (Subscription-State: %s)",
                 n->token, state);
      stox_sip_op_free (op);
      if (n->substate == STOX_SUBSTATE_TERMINATED)
        stox_sip_dialog_forget (dlg);
      fail_locally (ep, n->token, SIP_500_INTERNAL_SERVER_ERROR);
      return;
    }
  g_hash_table_insert (ep->client_ops, &op->token, op);
  /* Nothing more in this dialog: later NOTIFYs and refreshes get 481, and
   * there is nothing left to restore. */
  if (n->substate == STOX_SUBSTATE_TERMINATED)
    stox_sip_dialog_terminating (dlg);
}
