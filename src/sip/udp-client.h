/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Our requests over UDP written as text, with non-INVITE client
 * transactions of our own (RFC 3261 §17.1.2), instead of nta's.
 *
 * Why: a held subscription costs NOTIFYs, and as nta client transactions
 * they were a third of stoxd's CPU while watchers were set up (the
 * message objects, nta's timers, matching the answers) and left the heap
 * in holes between the long-lived records (bench/README.md).  Here a
 * transaction is its text, a 64-bit branch key in a hash table and two
 * queue entries (fifo-timer.h): Timer E doubles from T1 to T2 through one
 * queue per step, Timer F is one queue of 64×T1.
 *
 * What nta did that must go on:
 * - an ICMP error for the destination (port unreachable: the watcher is
 *   gone) fails the request at once with 503, not after Timer F.  The
 *   UDP transport reports a socket's errors to the messages pending on
 *   it (tport_pend()), matched by destination: one pending entry per
 *   destination with requests in flight stands for all of them;
 * - answers are matched by the branch of the top Via and the CSeq
 *   method (§17.1.3); after a provisional one Timer E goes on at T2
 *   (§17.1.2.2, RFC 4321 §1.2); a retransmission the kernel refuses
 *   fails the request with 503 at once, as nta's transport error does;
 * - the text is what nta writes: the same headers in the same order
 *   (the order of Sofia's struct sip_s), Via with our sent-by and rport
 *   (RFC 3581), Max-Forwards 70.
 *
 * Only what is plainly UDP goes this way: a next hop that is an IP
 * address (no name to resolve, RFC 3263 §4.2) of a sip: URI without
 * maddr and with no transport or transport=udp, and a request no longer
 * than nta's UDP MTU (above it nta may switch to TCP, RFC 3261 §18.1.1).
 * The rest, and everything while Sofia's message log, dump or send trace
 * is on (udp-reply.h), stays with nta.  Private to src/sip/.
 */
#pragma once

#include "sip/endpoint-private.h"

G_BEGIN_DECLS

typedef struct _StoxSipUdpClient StoxSipUdpClient;
typedef struct _StoxSipUdpTxn    StoxSipUdpTxn;

/* A transaction's final answer, once: `sip` is the response, or NULL
 * when the transaction failed by itself (408 on Timer F, 503 on an ICMP
 * error).  The transaction is gone when this is called. */
typedef void (*StoxSipUdpClientFunc) (gpointer     op,
                                      guint        status,
                                      sip_t const *sip,
                                      gpointer     user_data);

/* For `agent`'s UDP transports (after they were added); `secret` keys the
 * branches.  NULL when there is nothing to do it for (no UDP socket
 * found, or Sofia's message log on). */
StoxSipUdpClient *stox_sip_udp_client_new (nta_agent_t            *agent,
                                           const StoxSipTxnSecret *secret,
                                           StoxSipUdpClientFunc    func,
                                           gpointer                user_data);
/* Ends every transaction without calling `func`. */
void              stox_sip_udp_client_free (StoxSipUdpClient *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxSipUdpClient, stox_sip_udp_client_free)

/* A request in a dialog, as nta_outgoing_tcreate() would be given it. */
typedef struct
{
  const char        *method;     /* "NOTIFY" */
  const char        *ruri;
  url_t const       *next_hop;   /* NULL: the first route, else ruri */
  sip_route_t const *route;
  const char        *from;       /* header values */
  const char        *to;
  const char        *call_id;
  guint32            cseq;
  const char        *headers;    /* between CSeq and Content-Type, each
                                  * "Name: value\r\n", in struct sip_s order */
  const char        *content_type;  /* NULL: none */
  GBytes            *body;          /* NULL: none */
} StoxSipUdpRequest;

/* Sends `r` in a transaction of its own whose answer goes to `func` with
 * `op`, never from inside this call.  NULL, with nothing sent, when it is
 * not a request this file sends (above): nta must. */
StoxSipUdpTxn *stox_sip_udp_client_send (StoxSipUdpClient        *c,
                                         const StoxSipUdpRequest *r,
                                         gpointer                 op);

/* Ends `txn` without an answer to anyone (its op is being freed). */
void           stox_sip_udp_client_drop (StoxSipUdpClient *c,
                                         StoxSipUdpTxn    *txn);

/* A response nta matched to none of its transactions: TRUE when it was
 * one of ours (then answered to `func` if final, or absorbed). */
gboolean       stox_sip_udp_client_response (StoxSipUdpClient *c,
                                             sip_t const      *sip);

/* Requests sent this way so far, and their retransmissions. */
guint64        stox_sip_udp_client_sent (const StoxSipUdpClient *c);
guint64        stox_sip_udp_client_retransmitted (const StoxSipUdpClient *c);

G_END_DECLS
