/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "types.h"

#include <string.h>

StoxSipRequest *
stox_sip_request_new (void)
{
  StoxSipRequest *req = g_new0 (StoxSipRequest, 1);

  req->expires = -1;
  req->substate_expires = -1;
  req->substate_retry_after = -1;
  return req;
}

void
stox_sip_request_free (StoxSipRequest *req)
{
  if (req == NULL)
    return;
  g_free (req->method_name);
  g_free (req->request_uri);
  g_free (req->from_uri);
  g_free (req->to_uri);
  g_free (req->asserted_uri);
  g_free (req->call_id);
  g_free (req->content_type);
  g_free (req->charset);
  g_free (req->content_language);
  g_free (req->subject);
  g_clear_pointer (&req->body, g_bytes_unref);
  g_free (req->source);
  g_free (req->event);
  g_free (req->accept);
  g_free (req->substate);
  g_free (req->substate_reason);
  g_free (req);
}

StoxLangText *
stox_lang_text_new (const char *lang, const char *text)
{
  StoxLangText *t = g_new0 (StoxLangText, 1);

  t->lang = g_strdup (lang);
  t->text = g_strdup (text);
  return t;
}

void
stox_lang_text_free (StoxLangText *text)
{
  if (text == NULL)
    return;
  g_free (text->lang);
  g_free (text->text);
  g_free (text);
}

StoxStanza *
stox_stanza_new (StoxStanzaKind kind)
{
  StoxStanza *st = g_new0 (StoxStanza, 1);

  st->kind = kind;
  return st;
}

void
stox_stanza_free (StoxStanza *st)
{
  if (st == NULL)
    return;
  g_free (st->type);
  g_free (st->id);
  g_free (st->from);
  g_free (st->to);
  g_free (st->lang);
  g_free (st->body);
  g_free (st->subject);
  g_free (st->thread);
  g_free (st->error_condition);
  g_free (st->error_type);
  g_free (st->error_text);
  g_free (st->iq_child_name);
  g_free (st->iq_child_ns);
  g_free (st->iq_node);
  g_free (st->show);
  g_free (st->status);
  g_clear_pointer (&st->statuses, g_ptr_array_unref);
  stox_disco_free (st->disco);
  g_free (st);
}

StoxDisco *
stox_disco_new (StoxDiscoKind kind)
{
  StoxDisco *disco = g_new0 (StoxDisco, 1);

  disco->kind = kind;
  return disco;
}

void
stox_disco_free (StoxDisco *disco)
{
  if (disco == NULL)
    return;
  g_free (disco->category);
  g_free (disco->type);
  g_free (disco->name);
  g_clear_pointer (&disco->features, g_ptr_array_unref);
  g_free (disco);
}

void
stox_disco_add_feature (StoxDisco  *disco,
                        const char *var)
{
  g_return_if_fail (disco != NULL && var != NULL);

  if (disco->features == NULL)
    disco->features = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (disco->features, g_strdup (var));
}

const char *const stox_show_values[STOX_SHOW_N] = { "away", "chat", "dnd", "xa" };

const char *
stox_show_known (const char *show)
{
  if (show == NULL)
    return NULL;
  for (gsize i = 0; i < STOX_SHOW_N; i++)
    if (strcmp (show, stox_show_values[i]) == 0)
      return stox_show_values[i];
  return NULL;
}

gboolean
stox_lang_equal (const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return g_ascii_strcasecmp (a, b) == 0;
}

gboolean
stox_stanza_add_status (StoxStanza *st,
                        const char *lang,
                        const char *text)
{
  g_return_val_if_fail (st != NULL, FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  if (st->statuses == NULL)
    st->statuses = g_ptr_array_new_with_free_func ((GDestroyNotify) stox_lang_text_free);
  for (guint i = 0; i < st->statuses->len; i++)
    {
      const StoxLangText *t = st->statuses->pdata[i];

      if (stox_lang_equal (t->lang != NULL ? t->lang : st->lang, lang != NULL ? lang : st->lang))
        return FALSE;
    }
  g_ptr_array_add (st->statuses, stox_lang_text_new (lang, text));
  return TRUE;
}

gboolean
stox_sip_status_ends_subscription (guint status, gboolean timeout_ends)
{
  switch (status)
    {
    case 404: case 405: case 410: case 416: case 489: case 501: case 604:
      return TRUE;
    case 408:
      return timeout_ends;
    default:
      return status >= 480 && status <= 485;
    }
}
