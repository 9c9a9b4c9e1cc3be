/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The XMPP front end: a XEP-0114 component connection made with libstrophe,
 * driven by a custom GSource on the default main context (no thread, no
 * polling), reconnecting with capped, jittered exponential backoff
 * (core/backoff.h).  Free of libstrophe types.
 */
#pragma once

#include "core/types.h"

G_BEGIN_DECLS

typedef struct _StoxXmppComponent StoxXmppComponent;

/* Why a stanza was not queued. */
#define STOX_XMPP_COMPONENT_ERROR (stox_xmpp_component_error_quark ())
GQuark stox_xmpp_component_error_quark (void);

typedef enum
{
  STOX_XMPP_COMPONENT_ERROR_DOWN,       /* the link is down or stopping */
  STOX_XMPP_COMPONENT_ERROR_CONGESTED,  /* the send queue is at its bound */
  STOX_XMPP_COMPONENT_ERROR_INVALID,    /* the stanza cannot be encoded */
} StoxXmppComponentError;

typedef struct
{
  const char *jid;      /* component JID */
  const char *secret;
  const char *server;   /* host name or address; keep it numeric */
  guint16     port;
  gsize       max_stanza_size;   /* bytes as written; 0: no limit */
} StoxXmppComponentConfig;

typedef enum
{
  STOX_XMPP_LINK_DOWN,        /* an attempt failed or the stream ended */
  STOX_XMPP_LINK_UP,          /* handshake done */
} StoxXmppLinkState;

/* The events.  Both callbacks run from inside libstrophe's handlers (or a
 * timer of the component's): queue the event and act on it from the
 * dispatch func below (the daemon's runner does); they may call _is_up
 * and _queue_len, never _free.  `st` is the callee's.  No callback runs
 * after _stop. */
typedef void (*StoxXmppStanzaFunc) (StoxStanza *st, gpointer user_data);
/* `retry_in_s`: seconds until the next attempt when DOWN; `reason`: text */
typedef void (*StoxXmppLinkFunc)   (StoxXmppLinkState state,
                                    guint             retry_in_s,
                                    const char       *reason,
                                    gpointer          user_data);

StoxXmppComponent *stox_xmpp_component_new (const StoxXmppComponentConfig *config,
                                            StoxXmppStanzaFunc             on_stanza,
                                            StoxXmppLinkFunc               on_link,
                                            gpointer                       user_data);

/* `func` runs at the end of every dispatch of the component's GSource,
 * once libstrophe has returned: the place to act on the events the
 * callbacks queued, in the same loop iteration.  It may call _send and
 * _stop (not _free).  NULL: none. */
typedef void (*StoxXmppDispatchFunc) (gpointer user_data);

void stox_xmpp_component_set_dispatch_func (StoxXmppComponent   *c,
                                            StoxXmppDispatchFunc func,
                                            gpointer             user_data);

/* When the stream ends, every stanza _send() queued that the server has
 * not been proven to have read is handed to `func`, in the order sent
 * (after the DOWN event), and its sender must hear so.  XEP-0114 has no
 * acknowledgement and written to the socket is not read (a server that
 * hangs and dies loses its socket buffer), so the proof is a round trip:
 * the component follows what it sends with an XEP-0199 ping to itself,
 * and the ping's return through the server, which reads the stream in
 * order (RFC 6120 §10.1), confirms every stanza queued before it.  A
 * stanza read just before the link fell may thus be reported too: at
 * least once (docs/deployment.md).  The pings never reach `on_stanza`.
 * Each `st` is the callee's and holds the stanza's kind, type, id, from
 * and to.  Runs from libstrophe's handlers, like the other callbacks;
 * NULL: none. */
void stox_xmpp_component_set_unsent_func (StoxXmppComponent *c,
                                          StoxXmppStanzaFunc func,
                                          gpointer           user_data);

/* First connection attempt; later ones are scheduled by the component. */
void     stox_xmpp_component_start (StoxXmppComponent *c);

/* Queues `st` for sending.  FALSE, and nothing queued, when the link is
 * down or the send queue is at its bound (_DOWN, _CONGESTED: a later try
 * may pass), or when `st` cannot be written as XML or would be over
 * max_stanza_size, which the server would close the stream on, losing
 * what is queued (_INVALID, with the reason: no try will). */
gboolean stox_xmpp_component_send (StoxXmppComponent *c,
                                   const StoxStanza  *st,
                                   GError           **error);

gboolean stox_xmpp_component_is_up (StoxXmppComponent *c);

/* Stanzas waiting in libstrophe's send queue (back-pressure). */
gsize    stox_xmpp_component_queue_len (StoxXmppComponent *c);
/* Stanzas sent that the server has not yet been proven to have read
 * (see _set_unsent_func); those in the send queue included. */
gsize    stox_xmpp_component_unconfirmed_len (StoxXmppComponent *c);

/* Closes the stream cleanly (after flushing what is queued) and stops
 * reconnecting; `done` runs from the loop once closed or after the
 * caller's deadline. */
void     stox_xmpp_component_stop (StoxXmppComponent *c,
                                   GSourceFunc        done,
                                   gpointer           done_data);

void     stox_xmpp_component_free (StoxXmppComponent *c);

/* Reconnect schedule (core/backoff.h); default 1000 ms base, 60000 ms cap.
 * Takes effect from the next failure. */
void     stox_xmpp_component_set_backoff (StoxXmppComponent *c,
                                          guint              base_ms,
                                          guint              cap_ms);

/* How long one attempt may take from connect() to the handshake before it
 * is abandoned (a server that accepts TCP but never answers); default
 * 8000 ms, plus libstrophe's 2 s to close: DOWN about 10 s after the start.
 * libstrophe's own TCP connect timeout (unanswered SYN) is 5 s. */
void     stox_xmpp_component_set_attempt_timeout (StoxXmppComponent *c,
                                                  guint              timeout_ms);

/* Back-pressure toward the XMPP server: while reading is off, the
 * component reads no input (it waits in the kernel, and TCP pushes back on
 * the server); output, link changes and reconnects go on.  No confirmation
 * ping is read meanwhile either: what is sent stays unconfirmed, within
 * the bound below.  On by default; kept across reconnects. */
void     stox_xmpp_component_set_reading (StoxXmppComponent *c,
                                          gboolean           reading);
gboolean stox_xmpp_component_get_reading (StoxXmppComponent *c);

/* Back-pressure bound, in stanzas sent and not yet confirmed read (the
 * send queue is among them): at the bound _send fails with _CONGESTED;
 * default 10000. */
void     stox_xmpp_component_set_queue_limit (StoxXmppComponent *c,
                                              gsize              max_stanzas);

/* How many times the GSource has run libstrophe (tests: wake-up rate). */
guint64  stox_xmpp_component_get_wakeups (StoxXmppComponent *c);
/* Confirmation pings sent so far (tests: their pace). */
guint64  stox_xmpp_component_get_pings (StoxXmppComponent *c);

G_END_DECLS
