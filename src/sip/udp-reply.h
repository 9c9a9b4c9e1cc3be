/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The stateless answers to requests that came over UDP, written as text
 * and sent from the socket the request came in on, instead of through
 * Sofia's message objects and transport layer.
 *
 * Why: under load nearly every request gets one such answer (and every
 * retransmission after it, server-txn.h), and building it as a Sofia
 * message (a home, a dozen duplicated headers, the tag list, the
 * serialiser, tport's send queue) cost more CPU than the kernel's send
 * itself: a third of stoxd's time at 20 000 MESSAGEs/s (bench/README.md).
 * The answer is the same one the stack would write (RFC 3261 §8.2.6.2:
 * Via, From, To with our tag, Call-ID, CSeq copied; Record-Route copied as
 * nta does; the endpoint's constant headers; no body), each copied header
 * encoded by Sofia's own encoder from the parsed request.  It goes where
 * nta would send it (§18.2.2, RFC 3581): the top Via's received address,
 * which is the source address, at its rport (the source port) or sent-by
 * port.
 *
 * Only the common answers take this way; the stack still writes the rest:
 * over TCP or TLS, a Via with maddr or comp (its port and address rules
 * differ), answers with Accept, Warning, Unsupported or an Allow of their
 * own, answers longer than a few kilobytes, and every answer while Sofia's message log or dump (TPORT_LOG,
 * MSG_STREAM_LOG, TPORT_DUMP, MSG_DUMP) or its send trace (TPORT_DEBUG 7
 * and above) is on, so that they keep showing them.
 * Private to src/sip/.
 */
#pragma once

#include "sip/endpoint-private.h"

G_BEGIN_DECLS

typedef struct _StoxSipUdpReplies StoxSipUdpReplies;

/* For `agent`'s UDP transports (after they were added), with the
 * endpoint's constant headers.  NULL when there is nothing to do it for
 * (no UDP socket found, or Sofia's message log on). */
StoxSipUdpReplies *stox_sip_udp_replies_new (nta_agent_t       *agent,
                                             const char        *user_agent,
                                             sip_allow_t const *allow);
void               stox_sip_udp_replies_free (StoxSipUdpReplies *u);

/* Sends `r` in answer to `request` (not taken), arrived by `tport` (NULL:
 * the one delivering it now); `to_tag` is added to the To header when not
 * NULL.  r->phrase, when set, is plain (stox_sip_convert_phrase_is_plain():
 * the caller's check, for both ways).  FALSE, with nothing sent, when the answer is not one this file
 * writes (above): the stack must.  TRUE once handed to the kernel, or
 * lost as any datagram may be (a full send buffer): the peer's
 * retransmission is answered again. */
gboolean           stox_sip_udp_replies_send (StoxSipUdpReplies  *u,
                                              msg_t              *request,
                                              tport_t            *tport,
                                              const StoxSipReply *r,
                                              const char         *to_tag);

/* Whether Sofia logs or dumps every message it sends (TPORT_LOG,
 * MSG_STREAM_LOG, TPORT_DUMP, MSG_DUMP) or traces every send (TPORT_DEBUG
 * 7 and above): then what we write as text must go through it. */
gboolean           stox_sip_stack_logs_messages (void);

/* Answers handed to the kernel so far. */
guint64            stox_sip_udp_replies_sent (const StoxSipUdpReplies *u);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxSipUdpReplies, stox_sip_udp_replies_free)

G_END_DECLS
