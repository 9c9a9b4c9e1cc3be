/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a SIP MESSAGE body means as XMPP content, and why one cannot be
 * decoded: the result and the error domain that the text, HTML, CPIM and
 * isComposing decoders share with message.c, which dispatches to them.
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
  STOX_MESSAGE_ERROR_TOO_LARGE,        /* 413: body over STOX_MESSAGE_BODY_MAX */
} StoxMessageError;

/* What a SIP MESSAGE body carries, as XMPP content. */
typedef struct
{
  char         *body;        /* UTF-8 text, NULL for a bare chat state */
  StoxChatState chat_state;  /* from isComposing (RFC 3994 → XEP-0085) */
  char         *subject;     /* from a CPIM Subject header, or NULL */
  char         *lang;        /* from an inner Content-Language, or NULL */
} StoxMessageContent;

/* Takes `body` (NULL for none); no chat state. */
StoxMessageContent *stox_message_content_new (char *body);
void                stox_message_content_free (StoxMessageContent *content);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxMessageContent, stox_message_content_free)

G_END_DECLS
