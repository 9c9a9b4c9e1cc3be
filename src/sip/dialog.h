/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The dialog model of the SIP front end (RFC 6665 subscriptions): which
 * dialogs exist, which requests belong to them, their CSeq, their end, and
 * their saved state (dialog-state.h).  A dialog is an nta leg today, which
 * nta matches to in-dialog requests and which fills Call-ID, tags, CSeq and
 * the route set of the requests sent in it; the rest of the front end sees
 * the few fields below and these functions, so that a dialog may become a
 * smaller record without the endpoint changing.
 *
 * Private to src/sip/.
 */
#pragma once

#include "sip/sofia-decls.h"
#include "sip/endpoint.h"
#include "sip/fifo-timer.h"

G_BEGIN_DECLS

typedef enum
{
  STOX_SIP_DIALOG_NONE,    /* the default leg: every request outside a dialog */
  STOX_SIP_DIALOG_SERVER,  /* a SIP watcher subscribed to us; we NOTIFY */
  STOX_SIP_DIALOG_CLIENT,  /* we subscribed to a SIP user; it NOTIFYs */
} StoxSipDialogKind;

typedef struct _StoxSipDialogs StoxSipDialogs;
typedef struct _StoxSipDialog  StoxSipDialog;

/* After an accepted unsubscribe (or fetch) the notifier sends a final
 * NOTIFY (RFC 6665 §4.4.1); one that never comes releases the dialog after
 * 64×T1. */
#define STOX_SIP_UNSUBSCRIBE_LINGER_S 32

/* Fields the rest of the front end reads: kind, id, leg (to send in the
 * dialog), owner, established and target_uri (client), terminating
 * (server).  The rest is the model's. */
struct _StoxSipDialog
{
  StoxSipDialogs    *owner;
  StoxSipDialogKind  kind;
  StoxToken          id;
  nta_leg_t         *leg;
  char              *event_type;   /* the subscription's Event package */
  char              *event_id;     /* its id parameter, or NULL */
  char              *target_uri;   /* client: Request-URI until the peer's Contact */
  gboolean           established;  /* client: the notifier's tag is known */
  gboolean           terminating;  /* server: a terminated NOTIFY is on its way */
  StoxFifoTimerEntry linger;       /* client: unsubscribed, awaiting the final NOTIFY */

  /* Server: what its saved state needs beyond the leg's own getters
   * (target, remote CSeq), as the initial SUBSCRIBE and our 2xx had it. */
  char              *call_id;
  char              *local;        /* our To, with our tag */
  char              *remote;       /* the watcher's From, with its tag */
  GStrv              routes;       /* the initial SUBSCRIBE's Record-Route entries */
  guint32            ceiling;      /* local CSeq reserved in the state so far */
  gboolean           end_told;     /* its end was reported, or must not be */
};

/* The dialogs of `ep`, on `agent`: requests in any of them, and those
 * outside every dialog (the default leg), go to `on_request` with the
 * dialog as magic.  NULL when the default leg cannot be made. */
StoxSipDialogs *stox_sip_dialogs_new (StoxSipEndpoint *ep,
                                      nta_agent_t     *agent,
                                      nta_request_f   *on_request);
/* Before the agent goes: legs are the agent's. */
void            stox_sip_dialogs_free (StoxSipDialogs *dialogs);

StoxSipEndpoint *stox_sip_dialogs_endpoint (StoxSipDialogs *dialogs);

/* Where saved states go (StoxSipDialogFunc, endpoint.h). */
void       stox_sip_dialogs_set_func (StoxSipDialogs   *dialogs,
                                      StoxSipDialogFunc func,
                                      gpointer          user_data);

/* The default leg: requests out of dialog are sent on it. */
nta_leg_t *stox_sip_dialogs_default_leg (StoxSipDialogs *dialogs);

StoxSipDialog *stox_sip_dialog_lookup (StoxSipDialogs   *dialogs,
                                       StoxSipDialogKind kind,
                                       StoxToken         id);

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

/* An in-dialog request for the core arrived on `leg`: the first NOTIFY
 * establishes a client dialog, a new Contact refreshes the target. */
void     stox_sip_dialog_in_request (StoxSipDialog *dlg,
                                     nta_leg_t     *leg,
                                     sip_t const   *sip);

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
