/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sip_t → core structs, and the few header values the front end writes.
 * Pure functions over Sofia's parsed message: no stack, no socket, so the
 * tests feed them messages parsed from text by Sofia's own parser.
 */
#pragma once

#include <sys/socket.h>

#include "sip/sofia-decls.h"
#include "core/types.h"

G_BEGIN_DECLS

/* Largest request body the front end hands to the core (1 MiB + 64 KiB);
 * larger ones get 413 at the edge (RFC 3261 §21.4.11). */
#define STOX_SIP_MAX_BODY ((gsize) (1024 * 1024 + 64 * 1024))

StoxSipMethod   stox_sip_convert_method (const sip_request_t *rq);

/* Decodes a request.  Every string is valid UTF-8 (invalid bytes in a
 * header become U+FFFD), `method_name` is always set (for logs), `body` is
 * NULL when the payload is absent or empty.  Event is its type alone
 * ("presence", no parameters), Accept its values joined with ", " ("" for
 * an empty Accept), Subscription-State's value and reason lower case (the
 * core compares tokens), its expires/retry-after -1 when absent or not a
 * number.  `token`, `dialog` and `source` are left for the caller.  NULL
 * when `sip` is not a request. */
StoxSipRequest *stox_sip_convert_request (const sip_t *sip);

/* Fills status, phrase (newly allocated, valid UTF-8), expires (Expires of
 * a 2xx, -1 otherwise or when absent) and min_expires (Min-Expires, -1
 * when absent) of a response; `token` is left for the caller.  FALSE when
 * `sip` is not a response. */
gboolean        stox_sip_convert_response (const sip_t     *sip,
                                           StoxSipResponse *ret_resp);

/* Numeric text of a peer address ("192.0.2.1", "2001:db8::1"); an
 * IPv4-mapped IPv6 address (dual-stack socket) reads as plain IPv4.  NULL
 * for other families. */
char           *stox_sip_convert_address (const struct sockaddr *sa,
                                          socklen_t              len);

/* Warning header value `399 AGENT "TEXT"` (RFC 3261 §20.43) with TEXT
 * made a valid quoted-string: quotes and backslashes escaped, control
 * characters (CR/LF included) replaced by spaces. */
char           *stox_sip_convert_warning (const char *agent,
                                          const char *text);

/* A Reason-Phrase (or a header value) that may go on the wire as it is
 * (RFC 3261 §25.1): no control character but tab, none that would end the
 * line.  Sofia writes a phrase verbatim, so one that is not is replaced by
 * the status's own; the NOTIFYs written as text (outgoing.c) leave such a
 * header to Sofia's encoder. */
gboolean        stox_sip_convert_phrase_is_plain (const char *phrase);

/* "host:port" of a URL, with the scheme's default port (RFC 3261
 * §19.1.2); NULL when it has no host. */
char           *stox_sip_convert_url_hostport (const url_t *url);

/* The same for a URL in text (the listen URL); the text itself when it
 * does not parse. */
char           *stox_sip_convert_hostport (const char *url_text);

/* `pl` initialised to carry `body` (NULL: none), for SIPTAG_PAYLOAD(): a
 * payload header rather than SIPTAG_PAYLOAD_STR, since bodies may hold
 * NULs.  The tags are copied into the message, so a stack `pl` and a
 * borrowed body are enough.  Returns `pl`. */
sip_payload_t  *stox_sip_convert_payload (sip_payload_t *pl,
                                          GBytes        *body);

/* Event header value (RFC 6665 §8.2.1): the package, and ";id=" its id
 * when `id` is not NULL. */
char           *stox_sip_convert_event (const char *type,
                                        const char *id);

/* Subscription-State header value (RFC 6665 §8.2.3, §4.1.3) exactly as
 * the core asked: "active;expires=N", "pending;expires=N", or
 * "terminated" with its reason= and retry-after= when set. */
char           *stox_sip_convert_substate (const StoxSipNotify *n);

G_END_DECLS
