/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the rooms of the SIP front end share: the endpoint itself and its
 * transaction records.  endpoint.c owns both; incoming.c hands incoming
 * requests to the core; outgoing.c sends the core's requests; dialog.c
 * keeps the dialogs; dialog-state.c their saved form; sofia-log.c Sofia's
 * logs.  Private to src/sip/.
 */
#pragma once

#include "sip/sofia-decls.h"
#include "core/debug-log.h"
#include "core/methods.h"
#include "sip/endpoint.h"
#include "sip/dialog.h"
#include "sip/fifo-timer.h"
#include "sip/server-txn.h"
#include "sip/sofia-log.h"
#include "sip/tcp-guard.h"
#include "core/netmask.h"

G_BEGIN_DECLS

/* One transaction the core knows by token.  Also the magic of client
 * transactions, so their responses find it. */
typedef struct _StoxSipOp StoxSipOp;

struct _StoxSipOp
{
  StoxSipEndpoint   *ep;
  StoxToken          token;        /* SUBSCRIBE we sent: its dialog */
  StoxSipMethod      method;
  msg_t             *request;      /* an incoming request (stateless) */
  tport_t           *tport;        /* …and the transport it came by (a reference) */
  StoxSipTxnKeys     keys;         /* …and its transaction (server-txn.h) */
  nta_outgoing_t    *orq;          /* a request we sent through nta… */
  struct _StoxSipUdpTxn *txn;      /* …or as text over UDP (udp-client.h):
                                    * one of the two while it is in flight */
  StoxSipDialogKind  dialog_kind;  /* the dialog it belongs to, by id: the */
  StoxToken          dialog;       /* dialog may be gone when it completes */
  gboolean           initial;      /* SUBSCRIBE we sent that created its dialog */
  gboolean           terminates;   /* NOTIFY terminated; SUBSCRIBE we sent with Expires: 0 */
  StoxFifoTimerEntry unanswered;   /* incoming: in ep->unanswered until answered */
};

struct _StoxSipEndpoint
{
  su_root_t          *root;
  GSource            *source;
  gboolean            su_initialised;
  su_home_t          *home;              /* allow, proxy */
  nta_agent_t        *agent;
  StoxSipDialogs     *dialogs;
  sip_allow_t        *allow;
  url_t              *proxy;             /* outbound proxy, or NULL */
  StoxNetmaskList    *trusted;           /* trusted-peers; NULL: any (next-hop.h) */
  StoxSipTcpGuard    *tcp_guard;         /* limits on incoming connections */
  struct _StoxSipUdpReplies *udp_replies; /* answers over UDP as text, or NULL */
  struct _StoxSipUdpClient  *udp_client;  /* requests over UDP as text, or NULL */
  char               *request_headers;   /* Contact, User-Agent, Allow of our
                                          * requests as text (outgoing.c) */

  StoxSipRequestFunc  on_request;
  StoxSipResponseFunc on_response;
  gpointer            user_data;
  StoxSipDispatchFunc dispatch_func;     /* after each dispatch of `source` */
  gpointer            dispatch_data;

  char               *user_agent;
  guint               max_message_size;  /* bytes a MESSAGE may take */
  char               *bound_configured;  /* host:port from the listen URL */
  char               *bound_actual;      /* from the stack, once it told us */

  GHashTable         *server_ops;        /* &op->token → StoxSipOp, incoming */
  GHashTable         *pending_txns;      /* &op->keys.txn → StoxSipOp, stateless */
  GHashTable         *pending_merges;    /* &op->keys.merge → StoxSipOp, stateless */
  StoxSipTxnSecret    secret;            /* keys and To-tags (server-txn.h) */
  StoxSipTxnTable    *answered;          /* stateless ones answered, for Timer J */
  GHashTable         *client_ops;        /* &op->token → StoxSipOp, MESSAGE/NOTIFY */
  GHashTable         *subscribe_ops;     /* StoxSipOp set: SUBSCRIBEs we sent */
  StoxToken           last_token;

  guint               max_in_flight;     /* StoxSipEndpointConfig */
  GQueue              notify_waiting;    /* StoxSipNotify copies: NOTIFYs
                                          * beyond max_in_flight, in order */
  gboolean            shutting_down;
  gboolean            shutdown_final;    /* `done` is due */
  GSourceFunc         done;
  gpointer            done_data;
  guint               done_idle;
  guint               shutdown_timer;

  /* Incoming requests the core has not answered yet (fifo-timer.h). */
  StoxFifoTimer      *unanswered;        /* StoxSipOp */

  StoxSofiaLogs      *logs;
};

StoxSipOp *stox_sip_op_new (StoxSipEndpoint *ep,
                            StoxToken        token,
                            StoxSipMethod    method);
void       stox_sip_op_free (StoxSipOp *op);

/* endpoint.c: a request we sent (outgoing.c) has its final response and
 * is out of the tables: a NOTIFY that waited for room goes out, or a
 * shutdown that waited for it ends. */
void stox_sip_endpoint_request_done (StoxSipEndpoint *ep);

/* Our requests on the wire without a final response (the NOTIFYs
 * waiting for room not counted). */
static inline guint
stox_sip_endpoint_on_wire (StoxSipEndpoint *ep)
{
  return g_hash_table_size (ep->client_ops) + g_hash_table_size (ep->subscribe_ops);
}

/* outgoing.c: the final answer to a request sent as text (udp-client.h:
 * its StoxSipUdpClientFunc, `op` a StoxSipOp, `user_data` the endpoint). */
void stox_sip_outgoing_udp_response (gpointer     op,
                                     guint        status,
                                     sip_t const *sip,
                                     gpointer     user_data);

/* outgoing.c: NOTIFYs that waited for room, sent while there is room;
 * and, at the end of a shutdown, dropped (with a log line). */
void stox_sip_outgoing_send_waiting (StoxSipEndpoint *ep);
void stox_sip_outgoing_drop_waiting (StoxSipEndpoint *ep);

/* A final response as the front end writes it: the status, the headers
 * the core chose, and which of the endpoint's constant ones it carries. */
typedef struct
{
  guint                    status;
  const char              *phrase;       /* NULL: the status's own */
  gint64                   expires;      /* -1: none */
  gint64                   min_expires;  /* -1: none */
  guint                    retry_after;  /* 0: none */
  const char              *accept;
  const char              *allow;        /* NULL: the endpoint's */
  const char              *warning;      /* formatted value, or NULL */
  gboolean                 contact;      /* our Contact */
  gboolean                 events;       /* Allow-Events */
  sip_unsupported_t const *unsupported;  /* 420 */
} StoxSipReply;

/* Constant headers by method and status (RFC 3261 §20.10, RFC 6665 §8.2.2):
 * Contact in 2xx to SUBSCRIBE, NOTIFY and OPTIONS; Allow-Events in answers
 * to SUBSCRIBE and OPTIONS (and in 489). */
void stox_sip_reply_init (StoxSipReply *reply,
                          StoxSipMethod method,
                          guint         status);

/* incoming.c: answers `request` (taken) without a transaction, by
 * `tport` (NULL: the one delivering it now), with the To-tag of `keys`
 * when it has none (RFC 3261 §8.2.6.2). */
void stox_sip_reply_stateless (StoxSipEndpoint      *ep,
                               msg_t                *request,
                               tport_t              *tport,
                               const StoxSipTxnKeys *keys,
                               const StoxSipReply   *reply);

/* incoming.c: what a record keeps of `reply` beyond status and Expires
 * (server-txn.h); NULL when nothing. */
StoxSipTxnExtra *stox_sip_txn_extra_new (const StoxSipReply *reply);

/* incoming.c: every request (the agent's message callback: nta keeps no
 * transaction for them). */
int  stox_sip_incoming_message (StoxSipEndpoint *ep,
                                nta_agent_t     *agent,
                                msg_t           *msg,
                                sip_t           *sip);

/* incoming.c: a request the core left unanswered (ep->unanswered). */
void stox_sip_incoming_expired (gpointer item,
                                gpointer user_data);

G_END_DECLS
