/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The descriptors of sockets the SIP stack opened.  Sofia-SIP 1.12.11
 * keeps them to itself (no public accessor), so they are found the way
 * any process may find its own: among /proc/self/fd, by type and by the
 * address bound.  Done once, at start-up; the stack keeps its primary
 * sockets until it is destroyed.  Private to src/sip/.
 */
#pragma once

#include "sip/sofia-decls.h"

#include <glib.h>

G_BEGIN_DECLS

/* The descriptor of the socket of `type` (SOCK_STREAM: a listening one;
 * SOCK_DGRAM) bound to `ai`'s address, or -1. */
int stox_sip_stack_socket (su_addrinfo_t const *ai,
                           int                  type);

/* Sends a datagram from the stack's UDP socket `fd` without blocking.  The
 * stack asks for ICMP errors (IP_RECVERR), and one left by an earlier
 * datagram fails the next send once, whatever it is sent to: then it is
 * sent again.  FALSE with errno set when it was not sent (EAGAIN or
 * ENOBUFS: a full buffer, lost as a datagram may be). */
gboolean stox_sip_stack_sendto (int                    fd,
                                const void            *buf,
                                gsize                  len,
                                const struct sockaddr *to,
                                socklen_t              to_len);

G_END_DECLS
