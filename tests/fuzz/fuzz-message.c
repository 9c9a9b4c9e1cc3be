/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MESSAGE bodies from a SIP peer (RFC 3428): text/plain in any charset,
 * text/html, message/cpim (RFC 3862) and isComposing (RFC 3994), through
 * stox_message_decode_sip().
 *
 * Input: the content type on the first line ("type/subtype", lower-cased
 * here as the SIP front end does; an empty line: no Content-Type), the
 * charset parameter on the second (empty: none), the body after it.  An
 * input without a second line end has no body at all.
 *
 * Promises checked: a decoded body and subject are text an XMPP stanza can
 * carry (message.h: BAD_ENCODING otherwise); a chat state comes without
 * body; every error is a STOX_MESSAGE_ERROR with a message.
 */
#include "config.h"

#include <string.h>

#include "core/message.h"
#include "core/text.h"
#include "fuzz/fuzz.h"

static const char *
next_line (const char *p, const char *end, char **ret_line)
{
  const char *nl = memchr (p, '\n', (size_t) (end - p));

  if (nl == NULL)
    return NULL;
  *ret_line = g_strndup (p, (gsize) (nl - p));
  return nl + 1;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *p = (const char *) data;
  const char *end = p + size;
  g_autofree char *type_line = NULL;
  g_autofree char *charset_line = NULL;
  g_autofree char *type = NULL;
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxMessageContent) content = NULL;

  stox_fuzz_init_logging ();
  p = next_line (p, end, &type_line);
  if (p == NULL)
    return 0;
  p = next_line (p, end, &charset_line);
  if (p != NULL)
    body = g_bytes_new (p, (gsize) (end - p));
  if (type_line[0] != '\0')
    type = g_ascii_strdown (type_line, -1);

  content = stox_message_decode_sip (type, charset_line != NULL && charset_line[0] != '\0'
                                     ? charset_line : NULL, body, &error);
  if (content == NULL)
    {
      stox_fuzz_check (error != NULL && error->domain == STOX_MESSAGE_ERROR,
                       "NULL without a STOX_MESSAGE_ERROR");
      stox_fuzz_check (error->message != NULL && error->message[0] != '\0',
                       "an error without a message");
      return 0;
    }
  stox_fuzz_check (error == NULL, "a result and an error");
  stox_fuzz_check (stox_text_is_xml (content->body),
                   "decoded body is not text a <body/> can carry");
  stox_fuzz_check (stox_text_is_xml (content->subject),
                   "decoded subject is not text a <subject/> can carry");
  stox_fuzz_check (stox_text_is_xml (content->lang), "decoded language is not XML text");
  if (content->chat_state != STOX_CHAT_STATE_NONE)
    stox_fuzz_check (content->body == NULL, "a chat state with a body");
  else
    stox_fuzz_check (content->body != NULL, "neither body nor chat state");
  return 0;
}
