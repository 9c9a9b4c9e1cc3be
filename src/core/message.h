/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Message content mapping, RFC 3428 ↔ RFC 7572 (docs/mappings.md §3, §4):
 * what a MESSAGE body means as XMPP content.  Pure: no I/O.  The decoders
 * it dispatches to are text.h, html.h, cpim.h and iscomposing.h.
 */
#pragma once

#include "message-content.h"

G_BEGIN_DECLS

/* The Accept value for a 415 (RFC 3261 §21.4.13). */
#define STOX_MESSAGE_ACCEPT \
  "text/plain, text/html, message/cpim, application/im-iscomposing+xml"

/* Largest body accepted from SIP before any mapping (bytes). */
#define STOX_MESSAGE_BODY_MAX (1024 * 1024)

/* Decodes a MESSAGE body.  `content_type` is "type/subtype" in lower case;
 * `charset` is its charset parameter (NULL = UTF-8).  text/plain: the text,
 * converted to UTF-8 and validated.  text/html: its text content (tags
 * removed, entities decoded; no DTD, no network).  message/cpim (RFC 3862):
 * unwrapped, the inner entity decoded by these same rules.
 * application/im-iscomposing+xml (RFC 3994, docs/mappings.md §3): state
 * `active` → COMPOSING, `idle` → PAUSED, no body.  Anything else:
 * UNSUPPORTED_TYPE.
 *
 * `body` may be NULL (no body: text/plain gives ""); with no
 * `content_type` an empty body gives "" and a non-empty one
 * UNSUPPORTED_TYPE.  Errors, each with a message fit for a Warning header:
 * TOO_LARGE over STOX_MESSAGE_BODY_MAX (an isComposing document, even
 * inside CPIM, over 16 KiB); BAD_ENCODING for an unknown
 * charset, bytes invalid in it, or text an XMPP <body> cannot carry (NUL
 * and other characters outside XML 1.0 Char); MALFORMED for broken CPIM
 * (including a Require: naming a header other than From, To, cc,
 * DateTime, Subject, NS or Require: RFC 3862 says to reject what it cannot
 * honour, and a SIP 400 with the reason says so best), an isComposing
 * document that is not well-formed, carries a DTD, or lacks a known
 * <state>, and a bad Content-Language; UNSUPPORTED_TYPE for other types,
 * message/cpim inside message/cpim, and a transfer encoding other than
 * 7bit/8bit/binary. */
StoxMessageContent *stox_message_decode_sip (const char *content_type,
                                             const char *charset,
                                             GBytes     *body,
                                             GError    **error);

G_END_DECLS
