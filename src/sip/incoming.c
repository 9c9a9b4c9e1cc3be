/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Incoming requests: what the stack answers itself, without the core
 * (methods we lack, URI schemes, Require, requests for dialogs we do not
 * have, event packages we do not serve, oversized bodies, a stop under
 * way), and the hand-over of everything else to the core as a
 * StoxSipRequest whose token the core answers with.
 *
 * Every request comes from nta without a transaction (its message
 * callback: the agent is stateless, and there are no legs), so the
 * transaction layer is here, in a few dozen bytes per request (RFC 3261
 * §17.2.2, server-txn.h): a retransmission while the core decides is
 * absorbed (Trying), one after the answer gets the same answer again
 * until Timer J (64×T1 over UDP; none over TCP and TLS, which do not
 * retransmit), and the stack's own answers, which depend on the request
 * only, are simply given again.  Requests in a dialog are matched to it
 * here too (dialog.h).
 */
#include "config.h"

#include "sip/endpoint-private.h"
#include "sip/convert.h"
#include "sip/next-hop.h"
#include "sip/udp-client.h"
#include "sip/udp-reply.h"

/* ------------------------------------------------------------------ */
/* Answers                                                             */

void
stox_sip_reply_init (StoxSipReply *reply,
                     StoxSipMethod method,
                     guint         status)
{
  *reply = (StoxSipReply) {
    .status = status, .expires = -1, .min_expires = -1,
  };
  reply->events = method == STOX_SIP_METHOD_SUBSCRIBE || method == STOX_SIP_METHOD_OPTIONS
                  || status == 489;
  reply->contact = status >= 200 && status < 300
                   && (method == STOX_SIP_METHOD_SUBSCRIBE || method == STOX_SIP_METHOD_OPTIONS
                       || method == STOX_SIP_METHOD_NOTIFY);
}

/* The tags of a reply, after the fixed ones; `num` holds the numbers'
 * text. */
#define REPLY_TAGS(ep, r, num)                                                             \
  SIPTAG_SERVER_STR ((ep)->user_agent),                                                    \
  TAG_IF ((r)->contact, SIPTAG_CONTACT (nta_agent_contact ((ep)->agent))),                 \
  TAG_IF ((r)->expires >= 0, SIPTAG_EXPIRES_STR ((num)[0])),                               \
  TAG_IF ((r)->min_expires >= 0, SIPTAG_MIN_EXPIRES_STR ((num)[1])),                       \
  TAG_IF ((r)->retry_after > 0, SIPTAG_RETRY_AFTER_STR ((num)[2])),                        \
  TAG_IF ((r)->accept != NULL, SIPTAG_ACCEPT_STR ((r)->accept)),                           \
  /* Allow in every response (RFC 3261 §20.5 SHOULD). */                                   \
  TAG_IF ((r)->allow != NULL, SIPTAG_ALLOW_STR ((r)->allow)),                              \
  TAG_IF ((r)->allow == NULL, SIPTAG_ALLOW ((ep)->allow)),                                 \
  TAG_IF ((r)->events, SIPTAG_ALLOW_EVENTS_STR (stox_sip_allowed_events ())),              \
  TAG_IF ((r)->warning != NULL, SIPTAG_WARNING_STR ((r)->warning)),                        \
  TAG_IF ((r)->unsupported != NULL, SIPTAG_UNSUPPORTED ((r)->unsupported))

static void
reply_numbers (const StoxSipReply *r,
               char                num[3][24])
{
  g_snprintf (num[0], sizeof num[0], "%" G_GINT64_FORMAT, r->expires);
  g_snprintf (num[1], sizeof num[1], "%" G_GINT64_FORMAT, r->min_expires);
  g_snprintf (num[2], sizeof num[2], "%u", r->retry_after);
}

void
stox_sip_reply_stateless (StoxSipEndpoint      *ep,
                          msg_t                *request,
                          tport_t              *tport,
                          const StoxSipTxnKeys *keys,
                          const StoxSipReply   *r)
{
  sip_t const *req = sip_object (request);
  char num[3][24];
  char tag[STOX_SIP_TXN_TAG_SIZE];
  /* Our To-tag (RFC 3261 §8.2.6.2), the same for every retransmission
   * (derived from the transaction, server-txn.h); nta would make a fresh
   * one each time. */
  const char *to_tag = req != NULL && req->sip_to != NULL && req->sip_to->a_tag == NULL
                       && r->status > 100 ? stox_sip_txn_tag (keys, tag) : NULL;

  StoxSipReply plain;

  /* Sofia writes a phrase verbatim: one with a line break in it would add
   * headers of its own (the core's phrases come from the rules). */
  if (r->phrase != NULL && !stox_sip_convert_phrase_is_plain (r->phrase))
    {
      plain = *r;
      plain.phrase = NULL;
      r = &plain;
    }
  if (stox_sip_udp_replies_send (ep->udp_replies, request, tport, r, to_tag))
    {
      msg_destroy (request);
      return;
    }

  msg_t *msg = nta_msg_create (ep->agent, 0);
  sip_t *sip = sip_object (msg);

  if (sip == NULL)
    {
      msg_destroy (msg);
      msg_destroy (request);
      return;
    }
  if (to_tag != NULL)
    {
      sip_to_t *to = sip_to_dup (msg_home (msg), req->sip_to);

      if (to == NULL || sip_to_tag (msg_home (msg), to, to_tag) < 0
          || msg_header_insert (msg, (msg_pub_t *) sip, (msg_header_t *) to) < 0)
        {
          msg_destroy (msg);
          msg_destroy (request);
          return;
        }
    }
  reply_numbers (r, num);
  /* Takes both messages. */
  nta_msg_mreply (ep->agent, msg, sip, (int) r->status,
                  r->phrase != NULL ? r->phrase : sip_status_phrase ((int) r->status),
                  request,
                  TAG_IF (tport != NULL, NTATAG_TPORT (tport)),
                  REPLY_TAGS (ep, r, num),
                  TAG_END ());
}

/* What a retransmission's answer needs beyond the status.  The status's
 * own phrase is rebuilt from the status (above), so it is not kept: the
 * core names it on nearly every answer, and at 20 000 MESSAGEs/s the
 * records of Timer J's 32 s would otherwise hold 640 000 copies of
 * "Accepted" and their structs (bench/README.md). */
StoxSipTxnExtra *
stox_sip_txn_extra_new (const StoxSipReply *r)
{
  const char *own = sip_status_phrase ((int) r->status);
  const char *phrase = r->phrase != NULL && (own == NULL || strcmp (r->phrase, own) != 0)
                       ? r->phrase : NULL;

  if (phrase == NULL && r->min_expires < 0 && r->retry_after == 0 && r->accept == NULL
      && r->allow == NULL && r->warning == NULL)
    return NULL;

  StoxSipTxnExtra *extra = g_new0 (StoxSipTxnExtra, 1);

  extra->phrase = g_strdup (phrase);
  extra->min_expires = r->min_expires;
  extra->retry_after = r->retry_after;
  extra->accept = g_strdup (r->accept);
  extra->allow = g_strdup (r->allow);
  extra->warning = g_strdup (r->warning);
  return extra;
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

/* ------------------------------------------------------------------ */
/* What the stack answers itself                                       */

typedef struct
{
  guint              status;
  const char        *phrase;
  sip_unsupported_t *unsupported;   /* 420, in the caller's home */
  guint              retry_after;   /* 0: none */
} StackAnswer;

static gboolean
stack_answer (StackAnswer *a,
              guint        status,
              const char  *phrase)
{
  a->status = status;
  a->phrase = phrase;
  return TRUE;
}

/* The requests we send in a subscription (NOTIFYs) go to the first hop of
 * its dialog: the first Record-Route of the SUBSCRIBE, else its Contact,
 * which a refresh may change (RFC 3261 §12.1.1, §12.2.1.1).  A peer writes
 * them, so without an outbound proxy to send through, only a trusted peer
 * may be that hop (next-hop.h): otherwise anyone could aim the gateway's
 * NOTIFYs and their retransmissions at a third party.  `dlg` is the
 * server dialog a refresh is for, or NULL for an initial SUBSCRIBE. */
static gboolean
first_hop_allowed (StoxSipEndpoint *ep,
                   su_home_t       *home,
                   StoxSipDialog   *dlg,
                   sip_t const     *sip)
{
  url_t const *hop;

  if (ep->proxy != NULL || ep->trusted == NULL)
    return TRUE;
  if (dlg == NULL)
    hop = stox_sip_hop_of_request (sip);
  else if (dlg->n_routes > 0)
    hop = stox_sip_dialog_first_hop (dlg, home);  /* a refresh keeps the route set */
  else if (sip->sip_contact != NULL)
    hop = sip->sip_contact->m_url;                /* the new target */
  else
    return TRUE;  /* no new target: the dialog's, checked before */
  return stox_sip_hop_trusted (ep->trusted, hop);
}

/* What the stack can answer without the core (RFC 3261 §8.2.1–§8.2.2,
 * §12.2.2, RFC 6665 §4.1.3, §4.2.1.1); FALSE when the request is for the
 * core.  `dlg` is the dialog the request matched, or NULL; `ret_in` the
 * dialog it belongs to for the core, or NULL. */
static gboolean
check_request (StoxSipEndpoint *ep,
               su_home_t       *home,
               StoxSipDialog   *dlg,
               sip_t const     *sip,
               StackAnswer     *a,
               StoxSipDialog  **ret_in)
{
  sip_method_t method = sip->sip_request->rq_method;

  *ret_in = NULL;
  a->unsupported = NULL;
  a->retry_after = 0;

  /* CANCEL concerns INVITE only, which we never accept; for any other
   * request it has no effect (RFC 3261 §9.2), and none is ever pending
   * long enough to be worth matching. */
  if (method == sip_method_cancel)
    return stack_answer (a, SIP_481_NO_TRANSACTION);

  if (!sip_is_allowed (ep->allow, method, sip->sip_request->rq_method_name))
    return method != sip_method_unknown ? stack_answer (a, SIP_405_METHOD_NOT_ALLOWED)
                                        : stack_answer (a, SIP_501_NOT_IMPLEMENTED);

  switch (sip->sip_request->rq_url->url_type)
    {
    case url_sip:
    case url_sips:
    case url_im:
    case url_pres:
    case url_tel:
      break;
    default:
      return stack_answer (a, SIP_416_UNSUPPORTED_URI);
    }

  if (sip->sip_require != NULL)
    {
      a->unsupported = sip_has_unsupported (home, NULL, sip->sip_require);
      if (a->unsupported != NULL)
        return stack_answer (a, SIP_420_BAD_EXTENSION);
    }

  /* Expires is delta-seconds (RFC 3261 §20.19, RFC 6665 §4.1.2.1).  The
   * parser also takes RFC 2543's HTTP-date, as a date and a delta of 0,
   * which would make the SUBSCRIBE an unsubscribe. */
  if (method == sip_method_subscribe && sip->sip_expires != NULL
      && sip->sip_expires->ex_date != 0)
    return stack_answer (a, 400, "Expires Must Be Delta-Seconds");

  if (method == sip_method_subscribe
      && (dlg == NULL || dlg->kind == STOX_SIP_DIALOG_SERVER)
      && !first_hop_allowed (ep, home, dlg, sip))
    {
      g_info ("SUBSCRIBE refused: its %s is not a trusted peer, and no [sip] outbound-proxy "
              "is set to send its NOTIFYs through",
              dlg == NULL && sip->sip_record_route != NULL ? "Record-Route" : "Contact");
      return stack_answer (a, 403, "Contact Is Not A Trusted Peer");
    }

  if (dlg == NULL)
    {
      /* A request for a dialog we do not have (any more). */
      if (sip->sip_to->a_tag != NULL)
        return stack_answer (a, SIP_481_NO_TRANSACTION);
      /* The core's event packages (core/methods.h), asked here so that a
       * SUBSCRIBE for another never costs it a transaction. */
      if (method == sip_method_subscribe
          && !stox_sip_event_allowed (sip->sip_event != NULL ? sip->sip_event->o_type : NULL))
        return stack_answer (a, SIP_489_BAD_EVENT);
      return FALSE;
    }

  switch (dlg->kind)
    {
    case STOX_SIP_DIALOG_NONE:
      return FALSE;

    case STOX_SIP_DIALOG_SERVER:
      if (method == sip_method_notify)
        return stack_answer (a, 481, "Subscription Does Not Exist");
      if (method != sip_method_subscribe)
        return FALSE;
      /* A terminated NOTIFY is on its way: the subscription is over. */
      if (!stox_sip_dialog_event_matches (dlg, sip->sip_event) || dlg->terminating)
        return stack_answer (a, 481, "Subscription Does Not Exist");
      *ret_in = dlg;
      return FALSE;

    case STOX_SIP_DIALOG_CLIENT:
      if (method == sip_method_subscribe)
        return stack_answer (a, 481, "Subscription Does Not Exist");
      if (method != sip_method_notify)
        return FALSE;
      if (!stox_sip_dialog_event_matches (dlg, sip->sip_event))
        return stack_answer (a, 481, "Subscription Does Not Exist");
      *ret_in = dlg;
      return FALSE;
    }
  return FALSE;
}

/* After check_request(): a stop under way, a body too large. */
static gboolean
check_late (StoxSipEndpoint *ep,
            sip_t const     *sip,
            const char      *source,
            StackAnswer     *a)
{
  if (ep->shutting_down)
    return stack_answer (a, SIP_503_SERVICE_UNAVAILABLE);

  /* Overload (RFC 3261 §21.5.4): a new subscription costs NOTIFYs, and
   * with too many requests of ours unanswered a SIP peer that is slow to
   * answer them would only get more, retransmitted; come back in a
   * second. */
  if (ep->max_in_flight != 0 && sip->sip_request->rq_method == sip_method_subscribe
      && sip->sip_to->a_tag == NULL
      && stox_sip_endpoint_requests_in_flight (ep) >= ep->max_in_flight)
    {
      a->retry_after = 1;
      return stack_answer (a, 503, "Too Many Requests In Flight");
    }

  /* Bounded input: a body this large is refused before anyone copies it. */
  if (sip->sip_payload != NULL && sip->sip_payload->pl_len > STOX_SIP_MAX_BODY)
    {
      g_info ("%s from %s: body of %zu bytes refused (413)",
              sip->sip_request->rq_method_name, source != NULL ? source : "?",
              (size_t) sip->sip_payload->pl_len);
      return stack_answer (a, SIP_413_REQUEST_TOO_LARGE);
    }
  return FALSE;
}

static void
reply_from_stack (StoxSipReply      *r,
                  sip_t const       *sip,
                  const StackAnswer *a)
{
  stox_sip_reply_init (r, stox_sip_convert_method (sip->sip_request), a->status);
  r->phrase = a->phrase;
  r->unsupported = a->unsupported;
  r->retry_after = a->retry_after;
  /* Our Contact and Allow-Events belong to answers the core gives. */
  r->contact = FALSE;
  r->events = a->status == 489;
}

static char *
source_text (msg_t *msg)
{
  su_addrinfo_t *ai = msg != NULL ? msg_addrinfo (msg) : NULL;

  if (ai == NULL || ai->ai_addr == NULL)
    return NULL;
  return stox_sip_convert_address (ai->ai_addr, (socklen_t) ai->ai_addrlen);
}

/* The request goes to the core: its op is in server_ops and the
 * unanswered timer; the core hears of it. */
static void
hand_over (StoxSipEndpoint *ep,
           StoxSipOp       *op,
           sip_t const     *sip,
           StoxSipDialog   *in,
           char            *source)
{
  g_autoptr (StoxSipRequest) req = stox_sip_convert_request (sip);

  op->method = req->method;
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
  req->source = source;
  stox_debug ("request %" G_GUINT64_FORMAT ": %s %s from %s (dialog %" G_GUINT64_FORMAT ")",
              req->token, req->method_name, req->request_uri,
              req->source != NULL ? req->source : "?", req->dialog);
  ep->on_request (g_steal_pointer (&req), ep->user_data);
}

/* ------------------------------------------------------------------ */
/* Outside the dialogs: stateless                                      */

/* The answer a record keeps. */
static void
reply_from_record (StoxSipReply           *r,
                   sip_t const            *sip,
                   const StoxSipTxnRecord *rec)
{
  stox_sip_reply_init (r, stox_sip_convert_method (sip->sip_request), rec->status);
  r->expires = rec->expires;
  if (rec->extra != NULL)
    {
      r->phrase = rec->extra->phrase;
      r->min_expires = rec->extra->min_expires;
      r->retry_after = rec->extra->retry_after;
      r->accept = rec->extra->accept;
      r->allow = rec->extra->allow;
      r->warning = rec->extra->warning;
    }
}

/* Answered before: the same answer again (RFC 3261 §17.2.2, Completed). */
static void
replay (StoxSipEndpoint        *ep,
        msg_t                  *msg,
        sip_t const            *sip,
        const StoxSipTxnKeys   *keys,
        const StoxSipTxnRecord *rec)
{
  StoxSipReply r;

  reply_from_record (&r, sip, rec);
  stox_sip_reply_stateless (ep, msg, NULL, keys, &r);
}

int
stox_sip_incoming_message (StoxSipEndpoint *ep,
                           nta_agent_t     *agent,
                           msg_t           *msg,
                           sip_t           *sip)
{
  StoxSipTxnKeys keys;
  StackAnswer a = { 0 };
  StoxSipDialog *in = NULL;

  (void) agent;
  /* A complete message on a TCP or TLS connection keeps it open
   * (tcp-guard.h), whatever becomes of it below. */
  stox_sip_tcp_guard_heard (ep->tcp_guard, msg);
  /* A response to a request we sent as text (nta has no transaction for
   * it: udp-client.h). */
  if (sip != NULL && sip->sip_status != NULL
      && stox_sip_udp_client_response (ep->udp_client, sip))
    {
      msg_destroy (msg);
      return 0;
    }
  /* A response no transaction of ours matched (RFC 3261 §18.1.2: a stray
   * one is dropped), an ACK (we accept no INVITE, so every ACK is for an
   * error answer, which ends its transaction at once statelessly), or a
   * request nta could not match a transaction to. */
  if (sip == NULL || sip->sip_request == NULL
      || sip->sip_request->rq_method == sip_method_ack
      || !stox_sip_txn_keys (&ep->secret, sip, &keys))
    {
      msg_destroy (msg);
      return 0;
    }

  /* A retransmission while the core decides (Trying): absorbed. */
  if (g_hash_table_contains (ep->pending_txns, &keys.txn))
    {
      msg_destroy (msg);
      return 0;
    }
  /* …after its answer (Completed): the same answer. */
  const StoxSipTxnRecord *rec = stox_sip_txn_table_lookup (ep->answered, keys.txn);
  if (rec != NULL)
    {
      replay (ep, msg, sip, &keys, rec);
      return 0;
    }

  su_home_t home[1] = { SU_HOME_INIT (home) };
  g_autofree char *source = NULL;
  StoxSipDialog *dlg = stox_sip_dialog_match (ep->dialogs, sip);
  gboolean stack = FALSE;

  /* RFC 3261 §12.2.2: a request in a dialog with a lower CSeq than the
   * last is out of order. */
  if (dlg != NULL && !stox_sip_dialog_check_cseq (dlg, sip))
    stack = stack_answer (&a, SIP_500_INTERNAL_SERVER_ERROR);
  if (!stack)
    stack = check_request (ep, home, dlg, sip, &a, &in);

  /* A copy of a request we have, by another path (RFC 3261 §8.2.2.2). */
  if (!stack && keys.merge != 0
      && (g_hash_table_contains (ep->pending_merges, &keys.merge)
          || stox_sip_txn_table_has_merge (ep->answered, keys.merge)))
    stack = stack_answer (&a, SIP_482_LOOP_DETECTED);
  if (!stack)
    {
      source = source_text (msg);
      stack = check_late (ep, sip, source, &a);
    }
  if (stack)
    {
      StoxSipReply r;

      stox_debug ("%s answered by the stack: %u", sip->sip_request->rq_method_name, a.status);
      reply_from_stack (&r, sip, &a);
      stox_sip_reply_stateless (ep, msg, NULL, &keys, &r);
      su_home_deinit (home);
      return 0;
    }
  su_home_deinit (home);

  if (in != NULL)
    stox_sip_dialog_in_request (in, sip);

  StoxSipOp *op = stox_sip_op_new (ep, ++ep->last_token, STOX_SIP_METHOD_OTHER);

  op->request = msg;
  op->tport = nta_incoming_transport (ep->agent, NULL, msg);
  op->keys = keys;
  g_hash_table_insert (ep->pending_txns, &op->keys.txn, op);
  if (keys.merge != 0)
    g_hash_table_insert (ep->pending_merges, &op->keys.merge, op);
  hand_over (ep, op, sip, in, g_steal_pointer (&source));
  return 0;
}
