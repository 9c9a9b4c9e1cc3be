/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The size of the MESSAGE the endpoint writes, held against
 * `[sip] max-message-size` before anything is sent (RFC 3428 §8, RFC 7572
 * §6).  It models the headers Sofia-SIP adds itself, so it lives beside
 * the code that asks Sofia for the request.  Pure: no stack, no socket.
 */
#pragma once

#include "core/types.h"

G_BEGIN_DECLS

/* `[sip] max-message-size` when none is configured (RFC 3428 §8). */
#define STOX_SIP_MESSAGE_SIZE_DEFAULT 1300

/* Upper bound, in bytes, of the MESSAGE request (start line, headers,
 * blank line and body) that stox_sip_endpoint_send_message() writes for
 * `m`.  Every header is counted in its long form, written as
 * "Name: value\r\n", addresses in angle brackets without a display name.
 * What the stack picks itself is assumed at its largest:
 *   - Via: "SIP/2.0/SCTP " plus 60 bytes of sent-by host, port, rport and
 *     branch (an IPv6 literal sent-by can exceed this: add headroom there);
 *   - Max-Forwards: 70;
 *   - From: a tag of 32 bytes;
 *   - Call-ID: 48 bytes when m->call_id is NULL (the stack picks it);
 *   - CSeq: 10 digits;
 *   - Content-Type and Content-Length always present (Content-Length with
 *     the digits of the body's length), Content-Language and Subject only
 *     when set;
 *   - User-Agent: `user_agent` (a Server header with the same value
 *     instead is shorter);
 *   - Allow: `allow`, the endpoint's list, when not NULL.
 * Not counted: Route, Contact, Supported or any other header the endpoint
 * does not add to a MESSAGE.  NULL strings count as empty.  Saturates at
 * G_MAXSIZE instead of wrapping. */
gsize stox_sip_message_size (const StoxSipOutMessage *m,
                             const char              *user_agent,
                             const char              *allow);

G_END_DECLS
