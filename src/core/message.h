/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Message content mapping, RFC 3428 ↔ RFC 7572 (rfc-mappings.md §3, §4):
 * what a MESSAGE body means as XMPP content and back.  Pure: no I/O.
 */
#pragma once

#include "types.h"

G_BEGIN_DECLS

#define STOX_MESSAGE_ERROR (stox_message_error_quark ())
GQuark stox_message_error_quark (void);

typedef enum
{
  STOX_MESSAGE_ERROR_UNSUPPORTED_TYPE, /* 415 with Accept */
  STOX_MESSAGE_ERROR_BAD_ENCODING,     /* 400: invalid UTF-8 / unknown charset */
  STOX_MESSAGE_ERROR_MALFORMED,        /* 400: broken CPIM / isComposing / HTML */
} StoxMessageError;

/* The Accept value for a 415 (RFC 3261 §21.4.13). */
#define STOX_MESSAGE_ACCEPT \
  "text/plain, text/html, message/cpim, application/im-iscomposing+xml"

/* Largest body accepted from SIP before any mapping (bytes). */
#define STOX_MESSAGE_BODY_MAX (1024 * 1024)

/* What a SIP MESSAGE body carries, as XMPP content. */
typedef struct
{
  char         *body;        /* UTF-8 text, NULL for a bare chat state */
  StoxChatState chat_state;  /* from isComposing (RFC 3994 → XEP-0085) */
  char         *subject;     /* from a CPIM Subject header, or NULL */
  char         *lang;        /* from an inner Content-Language, or NULL */
} StoxMessageContent;

void stox_message_content_free (StoxMessageContent *content);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxMessageContent, stox_message_content_free)

/* Decodes a MESSAGE body.  `content_type` is "type/subtype" in lower case;
 * `charset` is its charset parameter (NULL = UTF-8).  text/plain: the text,
 * converted to UTF-8 and validated.  text/html: its text content (tags
 * removed, entities decoded; no DTD, no network).  message/cpim (RFC 3862):
 * unwrapped, the inner entity decoded by these same rules.
 * application/im-iscomposing+xml (RFC 3994, INTERFACE.md §5): state
 * `active` → COMPOSING, `idle` → PAUSED, no body.  Anything else:
 * UNSUPPORTED_TYPE. */
StoxMessageContent *stox_message_decode_sip (const char *content_type,
                                             const char *charset,
                                             GBytes     *body,
                                             GError    **error);

/* RFC 3994 isComposing document for `active` (TRUE) or `idle` (FALSE),
 * with a <refresh> of `refresh_s` seconds when non-zero. */
char *stox_message_build_iscomposing (gboolean active, guint refresh_s);

#define STOX_MESSAGE_ISCOMPOSING_TYPE "application/im-iscomposing+xml"

G_END_DECLS
