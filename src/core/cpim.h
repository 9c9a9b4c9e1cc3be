/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * message/cpim (RFC 3862; docs/mappings.md §3.4): the envelope some SIP
 * clients wrap an instant message in.  This file unwraps it; message.c
 * decodes the entity inside by the rules of any other body.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A message/cpim body, unwrapped.  The strings are owned; `body` points
 * into the buffer given to stox_cpim_unwrap(). */
typedef struct
{
  char         *content_type;  /* the inner type/subtype, lower case;
                                * text/plain when there is none */
  char         *charset;       /* its charset parameter, or NULL */
  char         *lang;          /* the first tag of its Content-Language */
  char         *subject;       /* a Subject (in `lang` if there is one) */
  const guint8 *body;          /* the inner entity */
  gsize         body_len;
} StoxCpimMessage;

void stox_cpim_message_clear (StoxCpimMessage *message);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (StoxCpimMessage, stox_cpim_message_clear)

/* Reads the CPIM message headers (skipping a repeated message/cpim MIME
 * block), then the inner entity's headers.  CRLF or bare LF; folded lines
 * unfolded; at most 256 headers a block.  FALSE with STOX_MESSAGE_ERROR_*
 * and nothing in `ret_message`: MALFORMED for a block without its blank
 * line, a bad header line, a Require: naming a header other than From, To,
 * cc, DateTime, Subject, NS or Require (RFC 3862 says to reject what it
 * cannot honour), a bad inner Content-Type or Content-Language, or a bad
 * \u escape in the Subject; BAD_ENCODING for a Subject that is not UTF-8
 * or holds a character XML cannot carry; UNSUPPORTED_TYPE for a
 * Content-Transfer-Encoding other than 7bit, 8bit or binary. */
gboolean stox_cpim_unwrap (const guint8    *data,
                           gsize            len,
                           StoxCpimMessage *ret_message,
                           GError         **error);

G_END_DECLS
