/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SIP front end: Sofia-SIP's transaction layer (nta) on the default
 * GLib main context (su_glib_root, no thread).  Incoming requests and final
 * responses become core events through callbacks; core actions come back
 * through stox_sip_endpoint_respond()/_send_message()/_subscribe()/_notify().  The
 * front end answers nothing the core may answer and sends nothing the core
 * did not ask for: no automatic refresh, NOTIFY or answer inside
 * subscription dialogs.  This header is free of Sofia types so the daemon
 * does not include Sofia.
 *
 * Dialogs (RFC 6665).  A SIP watcher's initial SUBSCRIBE arrives with
 * dialog 0 and token T; answering it 2xx makes T a server dialog, and later
 * SUBSCRIBEs in it arrive with dialog = T.  The gateway's own subscriptions
 * are client dialogs named by the core (StoxSipSubscribe.dialog); NOTIFYs in
 * them arrive with that dialog.  A dialog is forgotten once a NOTIFY with
 * Subscription-State: terminated has been answered (both directions), or on
 * a response that ends the subscription (RFC 6665 §4.1.2.2, §4.2.2: 404,
 * 405, 408 (NOTIFY timeout), 410, 416, 480–485, 489, 501, 604), or when the
 * initial or unsubscribing SUBSCRIBE fails; a client dialog whose
 * unsubscribe (Expires: 0) was accepted is forgotten when its final NOTIFY
 * has been answered, or 32 s later (64×T1) if none comes.  Requests inside a
 * forgotten dialog get 481 from the front end.
 */
#pragma once

#include "core/types.h"

G_BEGIN_DECLS

typedef struct _StoxSipEndpoint StoxSipEndpoint;

#define STOX_SIP_ENDPOINT_ERROR (stox_sip_endpoint_error_quark ())
GQuark stox_sip_endpoint_error_quark (void);

typedef enum
{
  STOX_SIP_ENDPOINT_ERROR_INIT,    /* the Sofia runtime could not start */
  STOX_SIP_ENDPOINT_ERROR_LISTEN,  /* bad listen URL, address in use, TLS files */
  STOX_SIP_ENDPOINT_ERROR_STATE,   /* a stored dialog state that cannot be restored */
} StoxSipEndpointError;

/* Defaults of the limits below, documented in stox.conf(5). */
#define STOX_SIP_TCP_MAX_CONNECTIONS     512
#define STOX_SIP_TCP_MAX_PER_SOURCE      32
#define STOX_SIP_TCP_IDLE_TIMEOUT_S      60
#define STOX_SIP_TCP_MESSAGE_TIMEOUT_S   10
/* File descriptors no TCP connection may take (tcp-guard.h). */
#define STOX_SIP_FD_RESERVE              64

typedef struct
{
  const char *listen;          /* Sofia URL, e.g. "sip:127.0.0.1:5060" */
  const char *outbound_proxy;  /* NULL: RFC 3263 resolution */
  const char *tls_dir;         /* directory with agent.pem (key+cert) and
                                * cafile.pem (the CAs that vouch for TLS
                                * servers we connect to), or NULL */
  const char *user_agent;      /* Server/User-Agent value */
  guint       unanswered_ms;   /* a request the core leaves unanswered this
                                * long gets 500; 0: 32 s (64×T1) */
  guint       max_message_size; /* bytes a MESSAGE may take (RFC 3428 §8);
                                 * 0: STOX_SIP_MESSAGE_SIZE_DEFAULT */
  /* [sip] trusted-peers: the addresses a request may go to directly when
   * a peer wrote them (a dialog's route set or remote target); others go
   * through outbound_proxy, and a SUBSCRIBE that would need that without
   * one is refused (403).  NULL: any address ('*'). */
  const char *const *trusted_peers;
  /* TCP and TLS connections peers open; 0: the defaults above. */
  guint       tcp_max_connections;
  guint       tcp_max_per_source;
  guint       tcp_idle_ms;     /* closed after this long without a complete
                                * message */
  guint       tcp_message_ms;  /* a message begun and then silent this long
                                * is dropped (TCP) */
  guint       max_in_flight;   /* at this many requests of ours without a
                                * final response, a new subscription (which
                                * costs NOTIFYs) gets 503; 0: no limit */
} StoxSipEndpointConfig;

/* The events.  They are reported from inside the stack's callbacks, and a
 * response from inside the call that failed to send a request (503 while
 * stopping, 500 for an unusable URI): a callback must not call back into
 * the endpoint.  Queue the event and act on it from the dispatch func
 * below (the daemon's runner does).  The request is the callee's. */
typedef void (*StoxSipRequestFunc)  (StoxSipRequest        *req,  gpointer user_data);
typedef void (*StoxSipResponseFunc) (const StoxSipResponse *resp, gpointer user_data);

StoxSipEndpoint *stox_sip_endpoint_new (const StoxSipEndpointConfig *config,
                                        StoxSipRequestFunc           on_request,
                                        StoxSipResponseFunc          on_response,
                                        gpointer                     user_data,
                                        GError                     **error);

/* Final answer to the incoming request answer->token (any time after the
 * request callback, e.g. after the bounce window).  expires/min_expires ≥ 0
 * add Expires / Min-Expires (-1: none); allow NULL: the core's list
 * (core/methods.h).  A 2xx to an initial SUBSCRIBE creates the server
 * dialog of that token.  Unknown tokens are ignored. */
void stox_sip_endpoint_respond (StoxSipEndpoint     *ep,
                                const StoxSipAnswer *answer);

/* Sends a MESSAGE out of dialog; its final response (including 408 and
 * 503 generated by the stack, and a failure before the wire) comes back
 * through on_response with the same token.  A MESSAGE that would exceed
 * max_message_size (stox_sip_message_size()) is not sent: its response
 * is a local 513 Message Too Large (RFC 3261 §21.5.7) whose warning
 * says the size and the limit. */
void stox_sip_endpoint_send_message (StoxSipEndpoint         *ep,
                                     const StoxSipOutMessage *req);

/* SUBSCRIBE for the client dialog s->dialog: a new dialog (through the
 * outbound proxy) when the front end does not know it, a refresh inside it
 * otherwise; expires 0 unsubscribes (or fetches, on a new dialog).  The
 * final response comes back through on_response with token = s->dialog,
 * carrying Expires (2xx) and Min-Expires (423). */
void stox_sip_endpoint_subscribe (StoxSipEndpoint        *ep,
                                  const StoxSipSubscribe *s);

/* NOTIFY in the server dialog n->dialog (Event from its SUBSCRIBE,
 * Subscription-State exactly from n, the body when n has one).  The final
 * response (408 and 481 generated here included) comes back through
 * on_response with token = n->token.  After a terminated NOTIFY the dialog
 * is forgotten. */
void stox_sip_endpoint_notify (StoxSipEndpoint     *ep,
                               const StoxSipNotify *n);

/* Keeping SIP watchers' dialogs across a crash.
 *
 * A server dialog's wire state — Call-ID, local and remote tags and
 * addresses, remote target, route set, remote CSeq, Event, and the local
 * CSeq reserved so far — as one line of text the daemon stores and hands
 * back unchanged; its format is the front end's business.  `func` is
 * called with the dialog's id and state when the 2xx to its initial
 * SUBSCRIBE is sent, when a refresh changes the remote target, and when
 * the local CSeq enters the second half of its reserved block (the block
 * is reserved in the state before any NOTIFY uses it, so a restored dialog
 * never reuses a CSeq even if the last save was lost), and for each
 * restored dialog first thing in the loop (its next block); with state NULL
 * once the dialog is over (its terminated NOTIFY is sent, or it is
 * forgotten).  Never called from _free() or _restore_dialog().  It runs
 * inside the endpoint's calls and request handling, so it must not call
 * back into the endpoint. */
typedef void (*StoxSipDialogFunc) (StoxToken   id,
                                   const char *state,
                                   gpointer    user_data);

void stox_sip_endpoint_set_dialog_func (StoxSipEndpoint  *ep,
                                        StoxSipDialogFunc func,
                                        gpointer          user_data);

/* Start-up, before the loop runs: recreates server dialog `id` from a
 * state `func` reported in an earlier process, so in-dialog requests
 * arrive with dialog = id again and NOTIFYs (through _notify()) continue
 * its CSeq above anything sent before.  Request tokens handed out later
 * stay above every restored id.  FALSE (and nothing created) when the
 * state cannot be read or the id is already in use. */
gboolean stox_sip_endpoint_restore_dialog (StoxSipEndpoint *ep,
                                           StoxToken        id,
                                           const char      *state,
                                           GError         **error);

/* Start-up: drops a restored dialog nothing claimed (no `func` call).
 * Unknown ids are ignored. */
void stox_sip_endpoint_forget_dialog (StoxSipEndpoint *ep,
                                      StoxToken        id);

/* `func` runs at the end of every dispatch of the endpoint's GSource, once
 * the stack has handled its input and timers and returned: the place to
 * act on the events the callbacks queued, in the same loop iteration.  It
 * may call the endpoint (but not free it).  NULL: none. */
typedef void (*StoxSipDispatchFunc) (gpointer user_data);

void stox_sip_endpoint_set_dispatch_func (StoxSipEndpoint    *ep,
                                          StoxSipDispatchFunc func,
                                          gpointer            user_data);

/* Local contact address actually bound, e.g. "127.0.0.1:5060" (for logs
 * and STATUS). */
const char *stox_sip_endpoint_get_bound (StoxSipEndpoint *ep);

/* Transactions in flight (for the metrics): incoming requests not yet
 * answered, and requests sent (MESSAGE, SUBSCRIBE, NOTIFY) still waiting
 * for their final response. */
void stox_sip_endpoint_count_transactions (StoxSipEndpoint *ep,
                                           guint           *ret_server,
                                           guint           *ret_client);
/* What the front end holds now (for the daemon's metrics, the back-pressure
 * of the XMPP side, and tests). */
typedef struct
{
  guint requests_pending;    /* handed to the core, not answered yet */
  guint requests_answered;   /* answered outside a dialog, kept for their
                              * retransmissions (Timer J, UDP only) */
  guint requests_sent;       /* requests we sent still without a final response */
  guint stack_server_txns;   /* Sofia's own server transactions (in dialogs) */
  guint stack_client_txns;   /* Sofia's client transactions, finished ones
                              * it still keeps included */
  guint64 replies_as_text;   /* stateless answers over UDP written without
                              * the stack's message objects (udp-reply.h) */
  guint64 requests_as_text;  /* our requests over UDP written as text, in
                              * transactions of our own (udp-client.h)… */
  guint64 requests_retransmitted; /* …and their retransmissions (Timer E) */
} StoxSipEndpointStats;

void stox_sip_endpoint_get_stats (StoxSipEndpoint      *ep,
                                  StoxSipEndpointStats *stats);

/* stats.requests_sent alone, cheaply (the runner's back-pressure asks
 * after every batch of events). */
guint stox_sip_endpoint_requests_in_flight (StoxSipEndpoint *ep);

/* Answers 503 to what the core left unanswered, abandons outgoing MESSAGEs
 * and refuses new requests (503); `done` runs (from
 * the loop) once the NOTIFYs and SUBSCRIBEs already sent (the core's
 * goodbyes) have their final responses, or after 3 s at most.  Then call
 * _free(). */
void stox_sip_endpoint_shutdown (StoxSipEndpoint *ep,
                                 GSourceFunc      done,
                                 gpointer         done_data);

void stox_sip_endpoint_free (StoxSipEndpoint *ep);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxSipEndpoint, stox_sip_endpoint_free)

G_END_DECLS
