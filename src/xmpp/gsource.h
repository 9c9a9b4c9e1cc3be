/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A GSource that runs libstrophe on a GLib main context
 * (model-codebases.md §3.4): it watches the connection's socket, asks for
 * G_IO_OUT only while output is pending, wakes about once a second while a
 * connection exists (libstrophe's connect timeout and timed handlers only
 * advance inside xmpp_run_once), and dispatches xmpp_run_once (ctx, 0),
 * which never blocks.
 *
 * The socket is learnt through xmpp_conn_set_sockopt_callback(); an fd of
 * FD_SETSIZE or more is refused there (libstrophe uses select()), which
 * makes that connection attempt fail instead of corrupting memory.
 */
#pragma once

#include <glib.h>
#include <strophe.h>

G_BEGIN_DECLS

/* Takes over `conn`'s sockopt callback.  Attach the result yourself.  A
 * callback set with g_source_set_callback() runs at the end of every
 * dispatch, after xmpp_run_once() has returned. */
GSource *stox_xmpp_source_new (xmpp_ctx_t  *ctx,
                               xmpp_conn_t *conn);

/* Re-reads the connection's state: call after xmpp_connect_component()
 * (whatever it returned). */
void     stox_xmpp_source_sync (GSource *source);

/* Forgets the socket at once.  Call from the connection handler on
 * XMPP_CONN_DISCONNECT: libstrophe has closed it inside xmpp_run_once and
 * the number may be reused by the next socket anyone opens. */
void     stox_xmpp_source_drop_fd (GSource *source);

/* Runs libstrophe in the next main-loop iteration, e.g. after
 * xmpp_disconnect() queued </stream:stream>, which the user send-queue
 * length does not count. */
void     stox_xmpp_source_kick (GSource *source);

/* Reading on or off (back-pressure): while off, neither GLib's poll nor
 * libstrophe's select() sees the socket readable (SO_RCVLOWAT above what
 * the kernel buffers; end of stream and errors still show), so input waits
 * in the kernel and TCP's window pushes back on the server.  Output goes
 * on.  On by default; the setting applies to every later connection. */
void     stox_xmpp_source_set_reading (GSource  *source,
                                       gboolean  reading);

/* The fd refused by the last attempt (≥ FD_SETSIZE), or -1; resets it. */
int      stox_xmpp_source_take_refused_fd (GSource *source);

/* How many times the source has been dispatched (tests, wake-up rate). */
guint64  stox_xmpp_source_get_dispatch_count (GSource *source);

G_END_DECLS
