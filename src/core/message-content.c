/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "message-content.h"

/* clang-format off */
G_DEFINE_QUARK (stox-message-error-quark, stox_message_error)
/* clang-format on */

StoxMessageContent *
stox_message_content_new (char *body)
{
  StoxMessageContent *content = g_new0 (StoxMessageContent, 1);

  content->body = body;
  content->chat_state = STOX_CHAT_STATE_NONE;
  return content;
}

void
stox_message_content_free (StoxMessageContent *content)
{
  if (content == NULL)
    return;
  g_free (content->body);
  g_free (content->subject);
  g_free (content->lang);
  g_free (content);
}
