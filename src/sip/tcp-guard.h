/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Limits on the TCP and TLS connections peers open to the gateway: how
 * many in all and from one source address, a reserve of file descriptors
 * for everything else in the process, and how long a connection may go
 * without delivering a complete SIP message.  Sofia-SIP 1.12.11 has idle
 * and incomplete-message timeouts (TPTAG_IDLE, TPTAG_TIMEOUT, set by the
 * endpoint) but no connection limit and no hook when it accepts one, so
 * the guard sits under its accept() call (tcp-guard.c says how) and leaves
 * the rest to the stack.  Private to src/sip/.
 */
#pragma once

#include <sys/socket.h>

#include "sip/sofia-decls.h"

G_BEGIN_DECLS

typedef struct _StoxSipTcpGuard StoxSipTcpGuard;

typedef struct
{
  guint max_connections;   /* accepted connections at once, in all */
  guint max_per_source;    /* … from one source address (IPv6: /64) */
  guint idle_ms;           /* closed after this long without a complete
                            * message received on it */
  guint fd_reserve;        /* descriptors kept free below the process's
                            * limit for the component link, the state
                            * store, outgoing connections */
} StoxSipTcpLimits;

/* Guards the listening sockets of the stream transports among `tports`
 * (the agent's primaries: TCP and TLS; UDP has none).  Never NULL; one
 * that finds no listening socket guards nothing. */
StoxSipTcpGuard *stox_sip_tcp_guard_new (tport_t                *tports,
                                         const StoxSipTcpLimits *limits);
void             stox_sip_tcp_guard_free (StoxSipTcpGuard *guard);

/* A complete message (request or response) arrived from `msg`'s source:
 * on a guarded connection, it restarts the idle time. */
void             stox_sip_tcp_guard_heard (StoxSipTcpGuard *guard,
                                           msg_t           *msg);

/* What the guard holds and has refused since it started. */
typedef struct
{
  guint   listeners;        /* listening sockets guarded */
  guint   connections;      /* accepted connections held (some may be
                             * closed by the stack and not pruned yet) */
  guint64 refused_total;    /* over max_connections */
  guint64 refused_source;   /* over max_per_source */
  guint64 refused_fds;      /* into the descriptor reserve */
  guint64 closed_idle;      /* closed for silence */
} StoxSipTcpGuardStats;

void             stox_sip_tcp_guard_get_stats (StoxSipTcpGuard      *guard,
                                               StoxSipTcpGuardStats *ret_stats);

G_END_DECLS
