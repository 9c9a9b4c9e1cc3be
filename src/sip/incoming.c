/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Incoming requests: what the stack answers itself, without the core
 * (methods we lack, URI schemes, Require, requests for dialogs we do not
 * have, event packages we do not serve, oversized bodies, a stop under
 * way), and the hand-over of everything else to the core as a
 * StoxSipRequest whose token the core answers with.
 */
#include "config.h"

#include "sip/endpoint-private.h"
#include "sip/convert.h"
#include "sip/next-hop.h"

/* Where the request came from, as text; a complete message on a TCP or TLS
 * connection keeps it open (tcp-guard.h). */
static char *
request_source (StoxSipEndpoint *ep,
                nta_incoming_t  *irq)
{
  msg_t *msg = nta_incoming_getrequest (irq);
  su_addrinfo_t *ai = msg != NULL ? msg_addrinfo (msg) : NULL;
  char *text = NULL;

  stox_sip_tcp_guard_heard (ep->tcp_guard, msg);
  if (ai != NULL && ai->ai_addr != NULL)
    text = stox_sip_convert_address (ai->ai_addr, (socklen_t) ai->ai_addrlen);
  if (msg != NULL)
    msg_destroy (msg);
  return text;
}

/* The requests we send in a subscription (NOTIFYs) go to the first hop of
 * its dialog: the first Record-Route of the SUBSCRIBE, else its Contact,
 * which a refresh may change (RFC 3261 §12.1.1, §12.2.1.1).  A peer writes
 * them, so without an outbound proxy to send through, only a trusted peer
 * may be that hop (next-hop.h): otherwise anyone could aim the gateway's
 * NOTIFYs and their retransmissions at a third party.  `dlg` is the dialog
 * a refresh is for, or the default leg's. */
static gboolean
first_hop_allowed (StoxSipEndpoint *ep,
                   StoxSipDialog   *dlg,
                   sip_t const     *sip)
{
  sip_route_t const *route = NULL;
  url_t const *hop;

  if (ep->proxy != NULL || ep->trusted == NULL)
    return TRUE;
  if (dlg->kind == STOX_SIP_DIALOG_NONE)
    hop = stox_sip_hop_of_request (sip);
  else if (nta_leg_get_route (dlg->leg, &route, NULL) == 0 && route != NULL)
    hop = route->r_url;
  else if (sip->sip_contact != NULL)
    hop = sip->sip_contact->m_url;
  else
    return TRUE;  /* no new target: the dialog's, checked before */
  return stox_sip_hop_trusted (ep->trusted, hop);
}

/* Answers a request at once (no core involved); the return value is for
 * the leg callback, which makes nta release the transaction. */
static int
answer_now (StoxSipEndpoint *ep,
            nta_incoming_t  *irq,
            int              status,
            const char      *phrase)
{
  nta_incoming_treply (irq, status, phrase,
                       SIPTAG_SERVER_STR (ep->user_agent),
                       SIPTAG_ALLOW (ep->allow),
                       TAG_IF (status == 489, SIPTAG_ALLOW_EVENTS_STR (stox_sip_allowed_events ())),
                       TAG_END ());
  return status;
}

/* A request the core never answered gets 500 (it must get something,
 * RFC 3261 §8.2.6), and a warning: that is a gateway bug. */
void
stox_sip_incoming_expired (gpointer item,
                           gpointer user_data)
{
  StoxSipOp *op = item;
  StoxSipEndpoint *ep = user_data;
  StoxSipAnswer answer = STOX_SIP_ANSWER_INIT (op->token, 500);

  g_warning ("request %" G_GUINT64_FORMAT " not answered within %u ms; answering 500",
             op->token, stox_fifo_timer_delay_ms (ep->unanswered));
  stox_sip_endpoint_respond (ep, &answer);
}

/* What the stack can answer without the core (RFC 3261 §8.2.1–§8.2.2,
 * §12.2.2, RFC 6665 §4.1.3, §4.2.1.1); 0 when the request is for the core.
 * `in` is the dialog the request belongs to for the core, or NULL. */
static int
check_request (StoxSipEndpoint *ep,
               StoxSipDialog   *dlg,
               nta_incoming_t  *irq,
               sip_t const     *sip,
               StoxSipDialog  **ret_in)
{
  sip_method_t method = sip->sip_request->rq_method;
  int status;

  *ret_in = NULL;

  /* CANCEL concerns INVITE only, which we never accept; one that matched
   * a pending request was answered by nta already. */
  if (method == sip_method_cancel)
    return answer_now (ep, irq, SIP_481_NO_TRANSACTION);

  status = nta_check_method (irq, sip, ep->allow,
                             SIPTAG_SERVER_STR (ep->user_agent), TAG_END ());
  if (status != 0)
    return status;

  switch (sip->sip_request->rq_url->url_type)
    {
    case url_sip:
    case url_sips:
    case url_im:
    case url_pres:
    case url_tel:
      break;
    default:
      return answer_now (ep, irq, SIP_416_UNSUPPORTED_URI);
    }

  status = nta_check_required (irq, sip, NULL,
                               SIPTAG_SERVER_STR (ep->user_agent),
                               SIPTAG_ALLOW (ep->allow), TAG_END ());
  if (status != 0)
    return status;

  /* Expires is delta-seconds (RFC 3261 §20.19, RFC 6665 §4.1.2.1).  The
   * parser also takes RFC 2543's HTTP-date, as a date and a delta of 0,
   * which would make the SUBSCRIBE an unsubscribe. */
  if (method == sip_method_subscribe && sip->sip_expires != NULL
      && sip->sip_expires->ex_date != 0)
    return answer_now (ep, irq, 400, "Expires Must Be Delta-Seconds");

  if (method == sip_method_subscribe && dlg->kind != STOX_SIP_DIALOG_CLIENT
      && !first_hop_allowed (ep, dlg, sip))
    {
      g_info ("SUBSCRIBE refused: its %s is not a trusted peer, and no [sip] outbound-proxy "
              "is set to send its NOTIFYs through",
              dlg->kind == STOX_SIP_DIALOG_NONE && sip->sip_record_route != NULL
              ? "Record-Route" : "Contact");
      return answer_now (ep, irq, 403, "Contact Is Not A Trusted Peer");
    }

  switch (dlg->kind)
    {
    case STOX_SIP_DIALOG_NONE:
      /* A request for a dialog we do not have (any more). */
      if (sip->sip_to->a_tag != NULL)
        return answer_now (ep, irq, SIP_481_NO_TRANSACTION);
      /* The core's event packages (core/methods.h), asked here so that a
       * SUBSCRIBE for another never costs it a transaction. */
      if (method == sip_method_subscribe
          && !stox_sip_event_allowed (sip->sip_event != NULL ? sip->sip_event->o_type : NULL))
        return answer_now (ep, irq, SIP_489_BAD_EVENT);
      return 0;

    case STOX_SIP_DIALOG_SERVER:
      if (method == sip_method_notify)
        return answer_now (ep, irq, 481, "Subscription Does Not Exist");
      if (method != sip_method_subscribe)
        return 0;
      /* A terminated NOTIFY is on its way: the subscription is over. */
      if (!stox_sip_dialog_event_matches (dlg, sip->sip_event) || dlg->terminating)
        return answer_now (ep, irq, 481, "Subscription Does Not Exist");
      *ret_in = dlg;
      return 0;

    case STOX_SIP_DIALOG_CLIENT:
      if (method == sip_method_subscribe)
        return answer_now (ep, irq, 481, "Subscription Does Not Exist");
      if (method != sip_method_notify)
        return 0;
      if (!stox_sip_dialog_event_matches (dlg, sip->sip_event))
        return answer_now (ep, irq, 481, "Subscription Does Not Exist");
      *ret_in = dlg;
      return 0;
    }
  return 0;
}

int
stox_sip_incoming_request (StoxSipDialog  *dlg,
                           nta_leg_t      *leg,
                           nta_incoming_t *irq,
                           sip_t const    *sip)
{
  StoxSipEndpoint *ep = stox_sip_dialogs_endpoint (dlg->owner);
  StoxSipDialog *in = NULL;
  int status;

  /* ACKs to our error answers to INVITE are nta's; a stray one is
   * dropped (RFC 3261 §17.2.3). */
  if (sip->sip_request->rq_method == sip_method_ack)
    {
      nta_incoming_destroy (irq);
      return 0;
    }

  g_autofree char *source = request_source (ep, irq);

  status = check_request (ep, dlg, irq, sip, &in);
  if (status != 0)
    {
      g_debug ("%s answered by the stack: %d", sip->sip_request->rq_method_name, status);
      return status;
    }

  if (ep->shutting_down)
    return answer_now (ep, irq, SIP_503_SERVICE_UNAVAILABLE);

  /* Bounded input: a body this large is refused before anyone copies it. */
  if (sip->sip_payload != NULL && sip->sip_payload->pl_len > STOX_SIP_MAX_BODY)
    {
      g_info ("%s from %s: body of %zu bytes refused (413)",
              sip->sip_request->rq_method_name, source != NULL ? source : "?",
              (size_t) sip->sip_payload->pl_len);
      return answer_now (ep, irq, SIP_413_REQUEST_TOO_LARGE);
    }

  if (in != NULL)
    stox_sip_dialog_in_request (in, leg, sip);

  g_autoptr (StoxSipRequest) req = stox_sip_convert_request (sip);
  StoxSipOp *op = stox_sip_op_new (ep, ++ep->last_token, req->method);

  op->irq = irq;
  if (in != NULL)
    {
      op->dialog_kind = in->kind;
      op->dialog = in->id;
      op->terminates = req->method == STOX_SIP_METHOD_NOTIFY
                       && g_strcmp0 (req->substate, "terminated") == 0;
    }
  stox_fifo_timer_add (ep->unanswered, &op->unanswered, op);
  g_hash_table_insert (ep->server_ops, &op->token, op);

  req->token = op->token;
  req->dialog = op->dialog;
  req->source = g_steal_pointer (&source);
  g_debug ("request %" G_GUINT64_FORMAT ": %s %s from %s (dialog %" G_GUINT64_FORMAT ")",
           req->token, req->method_name, req->request_uri,
           req->source != NULL ? req->source : "?", req->dialog);
  ep->on_request (g_steal_pointer (&req), ep->user_data);
  return 0;
}
