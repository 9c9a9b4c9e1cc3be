/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The dialog model of the SIP front end (RFC 6665 subscriptions): which
 * dialogs exist, which requests belong to them, their CSeq, their route
 * set and target, their end, and their saved state (dialog-state.h).
 *
 * A dialog is a small record of our own (RFC 3261 §12: Call-ID, tags,
 * the two addresses, remote target, route set, both CSeqs), found by a
 * hash of Call-ID and local tag; no Sofia object is kept per dialog.
 * Requests in a dialog reach us through nta's message callback like any
 * other (incoming.c), and the requests we send in one are built from the
 * record and sent statefully by nta without a leg
 * (stox_sip_dialog_send()).
 *
 * Private to src/sip/.
 */
#pragma once

#include "sip/sofia-decls.h"
#include "sip/endpoint.h"
#include "sip/fifo-timer.h"
#include "sip/server-txn.h"

G_BEGIN_DECLS

typedef enum
{
  STOX_SIP_DIALOG_NONE,    /* a request outside every dialog */
  STOX_SIP_DIALOG_SERVER,  /* a SIP watcher subscribed to us; we NOTIFY */
  STOX_SIP_DIALOG_CLIENT,  /* we subscribed to a SIP user; it NOTIFYs */
} StoxSipDialogKind;

typedef struct _StoxSipDialogs StoxSipDialogs;
typedef struct _StoxSipDialog  StoxSipDialog;

/* After an accepted unsubscribe (or fetch) the notifier sends a final
 * NOTIFY (RFC 6665 §4.4.1); one that never comes releases the dialog after
 * 64×T1. */
#define STOX_SIP_UNSUBSCRIBE_LINGER_S 32

/* Fields the rest of the front end reads: owner, kind, id, established
 * (client: the notifier's tag is known) and terminating (server: a
 * terminated NOTIFY is on its way).  The rest is the model's. */
struct _StoxSipDialog
{
  StoxSipDialogs     *owner;
  StoxToken           id;
  guint64             key;          /* hash of Call-ID and local tag */
  char               *text;         /* the strings, packed (dialog.c) */
  StoxFifoTimerEntry *linger;       /* client: unsubscribed, awaiting the final NOTIFY */
  guint32             local_cseq;   /* the last we sent */
  guint32             remote_cseq;  /* the last we received; 0: none yet */
  guint32             ceiling;      /* server: local CSeq reserved in the saved state */
  guint16             off[8];       /* offsets into text (dialog.c) */
  guint8              n_routes;
  guint8              kind;         /* StoxSipDialogKind */
  guint8              established : 1;
  guint8              terminating : 1;
  guint8              end_told : 1;  /* its end was reported, or must not be */
};

/* The dialogs of `ep`; requests are sent on `agent`, on its default leg
 * (which only completes the requests we build; nta is stateless for
 * incoming ones).  NULL when that leg cannot be made. */
StoxSipDialogs  *stox_sip_dialogs_new (StoxSipEndpoint        *ep,
                                       nta_agent_t            *agent,
                                       const StoxSipTxnSecret *secret);
/* Before the agent goes. */
void             stox_sip_dialogs_free (StoxSipDialogs *dialogs);

StoxSipEndpoint *stox_sip_dialogs_endpoint (StoxSipDialogs *dialogs);

/* Where saved states go (StoxSipDialogFunc, endpoint.h). */
void       stox_sip_dialogs_set_func (StoxSipDialogs   *dialogs,
                                      StoxSipDialogFunc func,
                                      gpointer          user_data);

/* The default leg: requests out of dialog are sent on it. */
nta_leg_t *stox_sip_dialogs_default_leg (StoxSipDialogs *dialogs);

/* How many dialogs there are of each kind. */
guint      stox_sip_dialogs_count (StoxSipDialogs   *dialogs,
                                   StoxSipDialogKind kind);

StoxSipDialog *stox_sip_dialog_lookup (StoxSipDialogs   *dialogs,
                                       StoxSipDialogKind kind,
                                       StoxToken         id);

/* The dialog an incoming request with a To-tag belongs to (RFC 3261
 * §12.2.2: Call-ID, To-tag as our tag, From-tag as the remote one once
 * known), or NULL. */
StoxSipDialog *stox_sip_dialog_match (StoxSipDialogs *dialogs,
                                      sip_t const    *sip);

/* The 2xx to an initial SUBSCRIBE (`sip`, not answered yet), with our
 * To-tag `tag`, creates server dialog `id` (RFC 6665 §4.2.1); NULL when it
 * cannot be made.  Call stox_sip_dialog_report() once the 2xx is sent. */
StoxSipDialog *stox_sip_dialog_server_new (StoxSipDialogs *dialogs,
                                           sip_t const    *sip,
                                           const char     *tag,
                                           StoxToken       id);

/* A SUBSCRIBE of ours starts client dialog s->dialog (RFC 6665
 * §4.1.2.1); NULL when From or To is unusable. */
StoxSipDialog *stox_sip_dialog_client_new (StoxSipDialogs         *dialogs,
                                           const StoxSipSubscribe *s);

/* Server dialog `id` from a saved state (stox_sip_endpoint_restore_dialog). */
gboolean stox_sip_dialog_restore (StoxSipDialogs *dialogs,
                                  StoxToken       id,
                                  const char     *state,
                                  GError        **error);

/* Drops server dialog `id` without reporting its end. */
void     stox_sip_dialog_drop (StoxSipDialogs *dialogs,
                               StoxToken       id);

/* Ends a dialog (its end reported once, for a server dialog). */
void     stox_sip_dialog_forget (StoxSipDialog *dlg);

/* Reports a server dialog's state; client dialogs are not kept. */
void     stox_sip_dialog_report (StoxSipDialog *dlg);

/* The Event header of our requests in the dialog: the subscription's. */
char    *stox_sip_dialog_event (StoxSipDialog *dlg);

/* Whether an in-dialog request's Event is about this subscription. */
gboolean stox_sip_dialog_event_matches (StoxSipDialog     *dlg,
                                        sip_event_t const *o);

/* A request in the dialog: FALSE when its CSeq is below the last one
 * (RFC 3261 §12.2.2: the caller answers 500); otherwise it is the last. */
gboolean stox_sip_dialog_check_cseq (StoxSipDialog *dlg,
                                     sip_t const   *sip);

/* An in-dialog request for the core: the first NOTIFY establishes a
 * client dialog, a new Contact refreshes the target. */
void     stox_sip_dialog_in_request (StoxSipDialog *dlg,
                                     sip_t const   *sip);

/* The first hop of the requests sent in the dialog now (RFC 3261
 * §12.2.1.1): the first entry of its route set, else its remote target
 * (else the peer's address), in `home`; NULL when none parses.  Peers
 * wrote it: next-hop.h says when it may be used directly. */
url_t   *stox_sip_dialog_first_hop (StoxSipDialog *dlg,
                                    su_home_t     *home);

/* The URI of the peer's address (the To of a client dialog's SUBSCRIBE:
 * the URI it subscribed to), in `home`; NULL when it does not parse. */
url_t   *stox_sip_dialog_remote_uri (StoxSipDialog *dlg,
                                     su_home_t     *home);

/* What a request in the dialog carries (RFC 3261 §12.2.1.1): the
 * Request-URI and Route from the target and the route set (a strict
 * router first in it becomes the Request-URI, the target the last route),
 * Call-ID, our From, the peer's To (header values), and the next local
 * CSeq, which stox_sip_dialog_request() takes (not for ACK or CANCEL).
 * Texts in the dialog or in `home`: valid until either changes. */
typedef struct
{
  const char  *ruri;
  sip_route_t *route;
  const char  *call_id;
  const char  *from;
  const char  *to;
  guint32      cseq;
} StoxSipDialogRequest;

gboolean stox_sip_dialog_request (StoxSipDialog        *dlg,
                                  sip_method_t          method,
                                  su_home_t            *home,
                                  StoxSipDialogRequest *req);
/* `req` (not ACK or CANCEL) was not sent after all: its CSeq is given
 * back, so that the request sent instead has it. */
void     stox_sip_dialog_request_unsent (StoxSipDialog              *dlg,
                                         const StoxSipDialogRequest *req);

/* Sends request `method` in the dialog (RFC 3261 §12.2.1.1): Call-ID,
 * tags, the next CSeq, Request-URI and Route from the target and the route
 * set (stox_sip_dialog_request()), unchanged whichever way it goes.
 * `next_hop` non-NULL sends it there instead of to the first hop the
 * route set and target give: the outbound proxy before a client dialog is
 * established, or whenever that first hop is not a trusted peer
 * (next-hop.h).  `tags` add the rest.  The
 * transaction is nta's; NULL when the request cannot be built. */
nta_outgoing_t *stox_sip_dialog_send (StoxSipDialog      *dlg,
                                      sip_method_t        method,
                                      const char         *method_name,
                                      url_t const        *next_hop,
                                      nta_response_f     *callback,
                                      struct _StoxSipOp  *op,
                                      tag_type_t          tag,
                                      tag_value_t         value,
                                      ...);

/* Before a NOTIFY goes out in server dialog `dlg`: FALSE when it has no
 * CSeq left (the caller ends it); otherwise its next CSeq is reserved in
 * the saved state as needed (not for a `final` one, which ends it). */
gboolean stox_sip_dialog_before_notify (StoxSipDialog *dlg,
                                        gboolean       final);

/* A terminated NOTIFY is on its way: nothing more in this dialog. */
void     stox_sip_dialog_terminating (StoxSipDialog *dlg);

/* The final response to a NOTIFY we sent in server dialog `id`. */
void     stox_sip_dialog_after_notify (StoxSipDialogs *dialogs,
                                       StoxToken       id,
                                       gboolean        terminates,
                                       guint           status);

/* The final response (`sip`, or NULL when the stack made it) to a
 * SUBSCRIBE we sent in client dialog `id`. */
void     stox_sip_dialog_after_subscribe (StoxSipDialogs *dialogs,
                                          StoxToken       id,
                                          gboolean        initial,
                                          gboolean        terminates,
                                          guint           status,
                                          sip_t const    *sip);

/* Our final answer `status` to a request in dialog `id`. */
void     stox_sip_dialog_after_answer (StoxSipDialogs   *dialogs,
                                       StoxSipDialogKind kind,
                                       StoxToken         id,
                                       gboolean          terminates,
                                       guint             status);

G_END_DECLS
