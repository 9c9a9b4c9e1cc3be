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

typedef struct
{
  const char *jid;      /* component JID */
  const char *secret;
  const char *server;   /* host name or address; keep it numeric */
  guint16     port;
} StoxXmppComponentConfig;

typedef enum
{
  STOX_XMPP_LINK_DOWN,        /* an attempt failed or the stream ended */
  STOX_XMPP_LINK_UP,          /* handshake done */
} StoxXmppLinkState;

/* `st` is owned by the component for the duration of the call.  Both
 * callbacks run from the component's GSource, inside libstrophe: they may
 * call _send, _stop, _is_up, _queue_len, but never _free.  No callback
 * runs after _stop. */
typedef void (*StoxXmppStanzaFunc) (const StoxStanza *st, gpointer user_data);
/* `retry_in_s`: seconds until the next attempt when DOWN; `reason`: text */
typedef void (*StoxXmppLinkFunc)   (StoxXmppLinkState state,
                                    guint             retry_in_s,
                                    const char       *reason,
                                    gpointer          user_data);

StoxXmppComponent *stox_xmpp_component_new (const StoxXmppComponentConfig *config,
                                            StoxXmppStanzaFunc             on_stanza,
                                            StoxXmppLinkFunc               on_link,
                                            gpointer                       user_data);

/* First connection attempt; later ones are scheduled by the component. */
void     stox_xmpp_component_start (StoxXmppComponent *c);

/* Queues `st` for sending.  FALSE when the link is down or the send queue
 * is over its bound (the caller answers resource-constraint / 503). */
gboolean stox_xmpp_component_send (StoxXmppComponent *c, const StoxStanza *st);

gboolean stox_xmpp_component_is_up (StoxXmppComponent *c);

/* Stanzas waiting in libstrophe's send queue (back-pressure). */
gsize    stox_xmpp_component_queue_len (StoxXmppComponent *c);

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

/* Send-queue bound for back-pressure, in stanzas; default 10000. */
void     stox_xmpp_component_set_queue_limit (StoxXmppComponent *c,
                                              gsize              max_stanzas);

/* How many times the GSource has run libstrophe (tests: wake-up rate). */
guint64  stox_xmpp_component_get_wakeups (StoxXmppComponent *c);

G_END_DECLS
