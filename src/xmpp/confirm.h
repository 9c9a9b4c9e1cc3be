/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which stanzas the XMPP server has read: the component's numbered
 * unsent headers and the confirmation ping that retires them.  Private to
 * src/xmpp/ (component.c embeds it).
 */
#pragma once

#include <glib.h>
#include <strophe.h>

#include "component.h"

G_BEGIN_DECLS

/* The stanzas _send() queued that the server is not known to have read,
 * oldest first (StoxStanza headers), numbered confirmed + 1, confirmed +
 * 2, … (`queued` is the last number given).  Written to the socket is not
 * read: XEP-0114 has no acknowledgement, and a server that stops and dies
 * loses what sat in its socket buffer.  Only a round trip proves the
 * read: a confirmation ping (XEP-0199) the component addresses to itself
 * goes through the server's router, which handles the stream in order
 * (RFC 6120 §10.1), so its return proves every stanza queued before it
 * was read; it retires the headers up to `ping_covers`.  At most one ping
 * is in flight, sent at the end of a dispatch: one per batch, at most one
 * per round trip. */
typedef struct
{
  GQueue             unsent;
  guint64            queued;
  guint64            confirmed;
  guint64            ping_covers;
  guint64            ping_serial;
  char              *ping_id;          /* the ping in flight, or NULL */
  gboolean           ping_written;     /* its SENT line was seen */
  StoxXmppStanzaFunc unsent_func;      /* reports what the stream lost */
  gpointer           unsent_data;
} StoxXmppConfirm;

void  stox_xmpp_confirm_init (StoxXmppConfirm *cf);

/* `st` was queued on the stream: its header waits for confirmation. */
void  stox_xmpp_confirm_queued (StoxXmppConfirm  *cf,
                                const StoxStanza *st);

/* Stanzas waiting for confirmation. */
guint stox_xmpp_confirm_len (StoxXmppConfirm *cf);

/* Stanzas of the caller's in libstrophe's queue of `conn`. */
gsize stox_xmpp_confirm_user_queue_len (StoxXmppConfirm *cf,
                                        xmpp_conn_t     *conn);

/* A libstrophe debug line of `area`: notes when it says the ping was
 * written. */
void  stox_xmpp_confirm_log_line (StoxXmppConfirm *cf,
                                  const char      *area,
                                  const char      *msg);

/* Stanzas wait for a confirmation and none is asked for. */
gboolean stox_xmpp_confirm_wants_ping (const StoxXmppConfirm *cf);
/* On a live stream: asks `jid` (the component itself) for a confirmation
 * when one is wanted (above); TRUE when it did. */
gboolean stox_xmpp_confirm_ping (StoxXmppConfirm *cf,
                                 xmpp_conn_t     *conn,
                                 const char      *jid);

/* TRUE when `stanza` is the answer to our ping (then it is consumed and
 * what it covers confirmed). */
gboolean stox_xmpp_confirm_answer (StoxXmppConfirm *cf,
                                   xmpp_stanza_t   *stanza,
                                   const char      *jid);

/* The stream ended: everything unconfirmed goes to unsent_func. */
void  stox_xmpp_confirm_report (StoxXmppConfirm *cf,
                                const char      *jid);

/* Forgets the unconfirmed stanzas without reporting them. */
void  stox_xmpp_confirm_drop (StoxXmppConfirm *cf);

G_END_DECLS
