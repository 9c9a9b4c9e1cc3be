/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sizes of stanzas as written; see stanza-size.h.  The layout mirrors
 * src/xmpp/convert.c (which elements, in which order) and libstrophe's
 * renderer: `<name` + ` key="value"` per attribute + `/>` without
 * children, or `>` + children + `</name>`; in text and attribute values
 * `<` and `>` become 4 bytes, `&` 5, `"` 6.  tests/frontend checks the
 * two against each other.
 */
#include "config.h"

#include "stanza-size.h"

#include <string.h>

#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

static gsize
escaped (const char *text)
{
  gsize n = 0;

  for (const char *p = text; *p != '\0'; p++)
    switch (*p)
      {
      case '<':
      case '>':
        n += 4;
        break;
      case '&':
        n += 5;
        break;
      case '"':
        n += 6;
        break;
      default:
        n++;
      }
  return n;
}

/* ` key="value"`, or nothing for NULL. */
static gsize
attr (const char *key, const char *value)
{
  return value != NULL ? strlen (key) + escaped (value) + 4 : 0;
}

/* An element with `attrs` bytes of attributes and `children` bytes of
 * content. */
static gsize
element (const char *name, gsize attrs, gsize children)
{
  gsize len = strlen (name);

  if (children == 0)
    return 1 + len + attrs + 2;
  return 1 + len + attrs + 1 + children + 2 + len + 1;
}

/* add_text_element(): nothing for NULL, `<name/>` for "". */
static gsize
text_element (const char *name, const char *ns, const char *text)
{
  if (text == NULL)
    return 0;
  return element (name, attr ("xmlns", ns), escaped (text));
}

const char *
stox_chat_state_element (StoxChatState state)
{
  switch (state)
    {
    case STOX_CHAT_STATE_ACTIVE:    return "active";
    case STOX_CHAT_STATE_COMPOSING: return "composing";
    case STOX_CHAT_STATE_PAUSED:    return "paused";
    case STOX_CHAT_STATE_INACTIVE:  return "inactive";
    case STOX_CHAT_STATE_GONE:      return "gone";
    case STOX_CHAT_STATE_NONE:
    default:                        return NULL;
    }
}

static gsize
statuses (const StoxStanza *st)
{
  gsize n = 0;

  if (st->statuses == NULL || st->statuses->len == 0)
    return text_element ("status", NULL, st->status);
  for (guint i = 0; i < st->statuses->len; i++)
    {
      const StoxLangText *t = st->statuses->pdata[i];

      if (t->text == NULL)
        continue;
      n += element ("status",
                    t->lang != NULL && !stox_lang_equal (t->lang, st->lang)
                    ? attr ("xml:lang", t->lang) : 0,
                    escaped (t->text));
    }
  return n;
}

/* The <query/> of a disco result, as the front end writes it (XEP-0030
 * §3.1, §4.1). */
static gsize
disco (const StoxDisco *d)
{
  gsize n = 0;

  if (d->kind == STOX_DISCO_INFO)
    {
      if (d->category != NULL)
        n += element ("identity", attr ("category", d->category) + attr ("type", d->type) +
                      attr ("name", d->name), 0);
      for (guint i = 0; d->features != NULL && i < d->features->len; i++)
        n += element ("feature", attr ("var", d->features->pdata[i]), 0);
    }
  return element ("query", attr ("xmlns", d->kind == STOX_DISCO_INFO ? STOX_NS_DISCO_INFO
                                                                     : STOX_NS_DISCO_ITEMS), n);
}

gsize
stox_stanza_encoded_size (const StoxStanza *st)
{
  const char *name = st->kind == STOX_STANZA_MESSAGE ? "message"
                     : st->kind == STOX_STANZA_PRESENCE ? "presence" : "iq";
  gsize attrs = attr ("type", st->type) + attr ("id", st->id) + attr ("from", st->from) +
                attr ("to", st->to) + attr ("xml:lang", st->lang);
  gsize children = 0;

  switch (st->kind)
    {
    case STOX_STANZA_MESSAGE:
      children += text_element ("subject", NULL, st->subject);
      children += text_element ("body", NULL, st->body);
      children += text_element ("thread", NULL, st->thread);
      if (stox_chat_state_element (st->chat_state) != NULL)
        children += element (stox_chat_state_element (st->chat_state),
                             attr ("xmlns", STOX_NS_CHATSTATES), 0);
      break;
    case STOX_STANZA_PRESENCE:
      children += text_element ("show", NULL, st->show);
      children += statuses (st);
      break;
    case STOX_STANZA_IQ:
      if (st->disco != NULL)
        children += disco (st->disco);
      else if (st->iq_child_name != NULL)
        children += element (st->iq_child_name,
                             attr ("xmlns", st->iq_child_ns) + attr ("node", st->iq_node), 0);
      break;
    }
  if (st->error_condition != NULL)
    children += element ("error", attr ("type", st->error_type != NULL ? st->error_type : "cancel"),
                         element (st->error_condition, attr ("xmlns", NS_STANZAS), 0) +
                         text_element ("text", NS_STANZAS, st->error_text));
  return element (name, attrs, children);
}

gboolean
stox_stanza_fit_presence (StoxStanza *st, gsize max)
{
  if (stox_stanza_encoded_size (st) <= max)
    return TRUE;
  if (st->kind != STOX_STANZA_PRESENCE)
    return FALSE;
  g_clear_pointer (&st->status, g_free);
  g_clear_pointer (&st->statuses, g_ptr_array_unref);
  return stox_stanza_encoded_size (st) <= max;
}
