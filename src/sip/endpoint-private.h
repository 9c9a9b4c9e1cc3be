/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the rooms of the SIP front end share: the endpoint itself and its
 * transaction records.  endpoint.c owns both; incoming.c hands incoming
 * requests to the core; dialog.c keeps the dialogs; dialog-state.c their
 * saved form; sofia-log.c Sofia's logs.  Private to src/sip/.
 */
#pragma once

#include "sip/sofia-decls.h"
#include "core/methods.h"
#include "sip/endpoint.h"
#include "sip/dialog.h"
#include "sip/fifo-timer.h"
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
  nta_incoming_t    *irq;          /* an incoming request */
  nta_outgoing_t    *orq;          /* a request we sent */
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
  GHashTable         *client_ops;        /* &op->token → StoxSipOp, MESSAGE/NOTIFY */
  GHashTable         *subscribe_ops;     /* StoxSipOp set: SUBSCRIBEs we sent */
  StoxToken           last_token;

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

/* incoming.c: every request, in a dialog or not (the nta leg callback of
 * every dialog and of the default leg). */
int  stox_sip_incoming_request (StoxSipDialog  *dlg,
                                nta_leg_t      *leg,
                                nta_incoming_t *irq,
                                sip_t const    *sip);

/* incoming.c: a request the core left unanswered (ep->unanswered). */
void stox_sip_incoming_expired (gpointer item,
                                gpointer user_data);

G_END_DECLS
