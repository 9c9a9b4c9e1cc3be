/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Message content mapping (docs/mappings.md §3.4, §3.5, §4; docs/mappings.md §3,
 * §7): which decoder a MESSAGE body goes to.  Every body here comes from a
 * peer: it is size-checked first; the decoders validate every byte of text
 * as UTF-8 and as XML character data (text.h) before it is handed on, and
 * their XML parsers never load a DTD, an external entity or anything from
 * the network.
 */
#include "config.h"

#include "message.h"

#include <string.h>

#include "cpim.h"
#include "html.h"
#include "iscomposing.h"
#include "text.h"

static StoxMessageContent *
decode_entity (const char   *content_type,
               const char   *charset,
               const guint8 *data,
               gsize         len,
               guint         depth,
               GError      **error)
{
  if (g_ascii_strcasecmp (content_type, "text/plain") == 0)
    {
      char *text = stox_text_to_utf8 ("text/plain", charset, data, len, error);

      return text != NULL ? stox_message_content_new (text) : NULL;
    }
  if (g_ascii_strcasecmp (content_type, "text/html") == 0)
    {
      g_autofree char *html = stox_text_to_utf8 ("text/html", charset, data, len, error);
      char *text = html != NULL ? stox_html_to_text (html, error) : NULL;

      return text != NULL ? stox_message_content_new (text) : NULL;
    }
  if (g_ascii_strcasecmp (content_type, STOX_ISCOMPOSING_CONTENT_TYPE) == 0)
    {
      StoxChatState state;
      StoxMessageContent *content;

      if (!stox_iscomposing_parse (data, len, &state, error))
        return NULL;
      content = stox_message_content_new (NULL);
      content->chat_state = state;
      return content;
    }
  if (g_ascii_strcasecmp (content_type, "message/cpim") == 0)
    {
      g_auto (StoxCpimMessage) inner = { 0 };
      StoxMessageContent *content;

      /* One level of wrapping is what RFC 3428 §7 peers send; deeper
       * nesting only multiplies work. */
      if (depth > 0)
        {
          g_set_error (error, STOX_MESSAGE_ERROR,
                       STOX_MESSAGE_ERROR_UNSUPPORTED_TYPE,
                       "message/cpim inside message/cpim is not supported");
          return NULL;
        }
      if (!stox_cpim_unwrap (data, len, &inner, error))
        return NULL;
      content = decode_entity (inner.content_type, inner.charset, inner.body,
                               inner.body_len, depth + 1, error);
      if (content == NULL)
        return NULL;
      content->subject = g_steal_pointer (&inner.subject);
      content->lang = g_steal_pointer (&inner.lang);
      return content;
    }

  {
    g_autofree char *shown = stox_text_printable (content_type);

    g_set_error (error, STOX_MESSAGE_ERROR,
                 STOX_MESSAGE_ERROR_UNSUPPORTED_TYPE,
                 "Content-Type %s is not supported", shown);
  }
  return NULL;
}

StoxMessageContent *
stox_message_decode_sip (const char *content_type,
                         const char *charset,
                         GBytes     *body,
                         GError    **error)
{
  const guint8 *data = NULL;
  gsize len = 0;
  g_autofree char *type = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (body != NULL)
    data = g_bytes_get_data (body, &len);
  if (data == NULL)
    data = (const guint8 *) "", len = 0;

  /* Bounded input (STYLE.md): checked before any parsing or conversion. */
  if (len > STOX_MESSAGE_BODY_MAX)
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_TOO_LARGE,
                   "body of %" G_GSIZE_FORMAT " bytes is over the limit of %d",
                   len, STOX_MESSAGE_BODY_MAX);
      return NULL;
    }

  if (content_type != NULL)
    type = g_strstrip (g_strdup (content_type));
  if (type == NULL || *type == '\0')
    {
      /* RFC 3261 §7.4.1: a body needs a Content-Type; no body needs none. */
      if (len == 0)
        return stox_message_content_new (g_strdup (""));
      g_set_error (error, STOX_MESSAGE_ERROR,
                   STOX_MESSAGE_ERROR_UNSUPPORTED_TYPE,
                   "a body without a Content-Type is not supported");
      return NULL;
    }

  return decode_entity (type, charset, data, len, 0, error);
}
