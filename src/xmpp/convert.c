/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xmpp_stanza_t ↔ StoxStanza (RFC 6120 §8, RFC 6121 §4–5, XEP-0085).
 *
 * libstrophe facts this file relies on (0.12.2):
 *  - its parser stores every element's namespace in an "xmlns" attribute,
 *    and drops the prefix of namespaced attributes: a received xml:lang is
 *    the attribute "lang";
 *  - xmpp_stanza_to_text() escapes < > & " in text and attribute values but
 *    writes every other byte as is, so text that is not XML must never get
 *    that far;
 *  - xmpp_stanza_new_from_string() keeps only the first top-level element.
 */
#include "config.h"

#include "convert.h"

#include <string.h>

#include "core/stanza-size.h"
#include "core/text.h"

/* clang-format off */
G_DEFINE_QUARK (stox-xmpp-convert-error-quark, stox_xmpp_convert_error)
/* clang-format on */

#define NS_CLIENT    "jabber:client"

gboolean
stox_xmpp_text_is_valid (const char *text)
{
  /* The core owns the rule: the same check the message decoders make. */
  return stox_text_is_xml (text);
}

/* An unprefixed XML name in ASCII, which is all we ever write as one. */
static gboolean
is_xml_name (const char *s)
{
  if (s == NULL || !(g_ascii_isalpha (*s) || *s == '_'))
    return FALSE;
  for (s++; *s != '\0'; s++)
    if (!(g_ascii_isalnum (*s) || *s == '_' || *s == '-' || *s == '.'))
      return FALSE;
  return TRUE;
}

/* ---- decoding ---------------------------------------------------------- */

static const char *
lang_of (xmpp_stanza_t *el)
{
  const char *lang = xmpp_stanza_get_attribute (el, "xml:lang");

  return lang != NULL ? lang : xmpp_stanza_get_attribute (el, "lang");
}

/* A child in the stanza's own namespace (jabber:component:accept on the
 * wire; none in stanzas built from bare strings). */
static gboolean
in_content_ns (xmpp_stanza_t *parent, xmpp_stanza_t *child)
{
  const char *ns = xmpp_stanza_get_ns (child);

  return ns == NULL
         || g_strcmp0 (ns, xmpp_stanza_get_ns (parent)) == 0
         || strcmp (ns, NS_CLIENT) == 0
         || strcmp (ns, XMPP_NS_COMPONENT) == 0;
}

static gboolean
is_tag_named (xmpp_stanza_t *el, const char *name)
{
  return xmpp_stanza_is_tag (el)
         && g_strcmp0 (xmpp_stanza_get_name (el), name) == 0;
}

/* RFC 6121 §5.2.3: several <body/> (<subject/>, <status/>) may differ by
 * xml:lang; take the one in the stanza's language, else the first. */
static xmpp_stanza_t *
find_text_child (xmpp_stanza_t *stanza, const char *name)
{
  const char *lang = lang_of (stanza);
  xmpp_stanza_t *first = NULL;

  for (xmpp_stanza_t *c = xmpp_stanza_get_children (stanza); c != NULL;
       c = xmpp_stanza_get_next (c))
    {
      if (!is_tag_named (c, name) || !in_content_ns (stanza, c))
        continue;
      const char *clang = lang_of (c);
      if (clang == NULL || stox_lang_equal (clang, lang))   /* BCP 47: any case */
        return c;
      if (first == NULL)
        first = c;
    }
  return first;
}

/* The concatenated text of `el`; "" for an empty element. */
static char *
element_text (xmpp_stanza_t *el)
{
  char *raw = xmpp_stanza_get_text (el);
  char *text = g_strdup (raw != NULL ? raw : "");

  if (raw != NULL)
    xmpp_free (xmpp_stanza_get_context (el), raw);
  return text;
}

static char *
child_text (xmpp_stanza_t *stanza, const char *name)
{
  xmpp_stanza_t *el = find_text_child (stanza, name);

  return el != NULL ? element_text (el) : NULL;
}

/* RFC 6121 §4.7.2.2: a presence may carry several <status/> differing by
 * xml:lang, at most one per language, and one without xml:lang is in the
 * stanza's; RFC 8048 Table 1 maps each to a PIDF <note>.  A repeated
 * language keeps its first (a peer's fault, but the watcher must not get
 * two notes of one language). */
static void
decode_statuses (xmpp_stanza_t *stanza, StoxStanza *st)
{
  for (xmpp_stanza_t *c = xmpp_stanza_get_children (stanza); c != NULL;
       c = xmpp_stanza_get_next (c))
    {
      if (!is_tag_named (c, "status") || !in_content_ns (stanza, c))
        continue;
      if (st->statuses != NULL && st->statuses->len >= STOX_XMPP_STATUSES_MAX)
        break;

      g_autofree char *text = element_text (c);
      (void) stox_stanza_add_status (st, lang_of (c), text);
    }
}

static StoxChatState
chat_state_from_name (const char *name)
{
  static const struct { const char *name; StoxChatState state; } states[] = {
    { "active",    STOX_CHAT_STATE_ACTIVE },
    { "composing", STOX_CHAT_STATE_COMPOSING },
    { "paused",    STOX_CHAT_STATE_PAUSED },
    { "inactive",  STOX_CHAT_STATE_INACTIVE },
    { "gone",      STOX_CHAT_STATE_GONE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (states); i++)
    if (g_strcmp0 (name, states[i].name) == 0)
      return states[i].state;
  return STOX_CHAT_STATE_NONE;
}

static xmpp_stanza_t *
find_error (xmpp_stanza_t *stanza)
{
  for (xmpp_stanza_t *c = xmpp_stanza_get_children (stanza); c != NULL;
       c = xmpp_stanza_get_next (c))
    if (is_tag_named (c, "error") && in_content_ns (stanza, c))
      return c;
  return NULL;
}

/* RFC 6120 §8.3.2: <error type='…'><condition xmlns='…stanzas'/>
 * <text xmlns='…stanzas'>…</text></error>. */
static void
decode_error (xmpp_stanza_t *error, StoxStanza *st)
{
  st->error_type = g_strdup (xmpp_stanza_get_type (error));

  for (xmpp_stanza_t *c = xmpp_stanza_get_children (error); c != NULL;
       c = xmpp_stanza_get_next (c))
    {
      if (!xmpp_stanza_is_tag (c)
          || g_strcmp0 (xmpp_stanza_get_ns (c), STOX_XMPP_NS_STANZAS) != 0)
        continue;
      if (g_strcmp0 (xmpp_stanza_get_name (c), "text") == 0)
        {
          if (st->error_text == NULL)
            st->error_text = element_text (c);
        }
      else if (st->error_condition == NULL)
        st->error_condition = g_strdup (xmpp_stanza_get_name (c));
    }
}

StoxStanza *
stox_xmpp_stanza_decode (xmpp_stanza_t *stanza,
                         GError       **error)
{
  const char *name;
  StoxStanzaKind kind;

  g_return_val_if_fail (stanza != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  name = xmpp_stanza_is_tag (stanza) ? xmpp_stanza_get_name (stanza) : NULL;
  if (g_strcmp0 (name, "message") == 0)
    kind = STOX_STANZA_MESSAGE;
  else if (g_strcmp0 (name, "presence") == 0)
    kind = STOX_STANZA_PRESENCE;
  else if (g_strcmp0 (name, "iq") == 0)
    kind = STOX_STANZA_IQ;
  else
    {
      g_set_error (error, STOX_XMPP_CONVERT_ERROR,
                   STOX_XMPP_CONVERT_ERROR_UNKNOWN_STANZA,
                   "not a stanza: <%s/>", name != NULL ? name : "(text)");
      return NULL;
    }

  StoxStanza *st = stox_stanza_new (kind);
  st->type = g_strdup (xmpp_stanza_get_type (stanza));
  st->id = g_strdup (xmpp_stanza_get_id (stanza));
  st->from = g_strdup (xmpp_stanza_get_from (stanza));
  st->to = g_strdup (xmpp_stanza_get_to (stanza));
  st->lang = g_strdup (lang_of (stanza));

  xmpp_stanza_t *err = find_error (stanza);
  if (err != NULL)
    decode_error (err, st);

  switch (kind)
    {
    case STOX_STANZA_MESSAGE:
      st->body = child_text (stanza, "body");
      st->subject = child_text (stanza, "subject");
      st->thread = child_text (stanza, "thread");
      for (xmpp_stanza_t *c = xmpp_stanza_get_children (stanza); c != NULL;
           c = xmpp_stanza_get_next (c))
        if (xmpp_stanza_is_tag (c)
            && g_strcmp0 (xmpp_stanza_get_ns (c), STOX_NS_CHATSTATES) == 0)
          {
            st->chat_state = chat_state_from_name (xmpp_stanza_get_name (c));
            break;
          }
      break;

    case STOX_STANZA_PRESENCE:
      st->show = child_text (stanza, "show");
      st->status = child_text (stanza, "status");
      decode_statuses (stanza, st);
      break;

    case STOX_STANZA_IQ:
      /* RFC 6120 §8.2.3: the one payload child; an error reply may carry
       * the original child before <error/>. */
      for (xmpp_stanza_t *c = xmpp_stanza_get_children (stanza); c != NULL;
           c = xmpp_stanza_get_next (c))
        if (xmpp_stanza_is_tag (c) && c != err)
          {
            st->iq_child_name = g_strdup (xmpp_stanza_get_name (c));
            st->iq_child_ns = g_strdup (xmpp_stanza_get_ns (c));
            st->iq_node = g_strdup (xmpp_stanza_get_attribute (c, "node"));
            break;
          }
      break;
    }

  return st;
}

/* ---- encoding ---------------------------------------------------------- */

static xmpp_stanza_t *
new_element (xmpp_ctx_t *ctx,
             const char *name,
             const char *ns)
{
  xmpp_stanza_t *el = xmpp_stanza_new (ctx);

  xmpp_stanza_set_name (el, name);
  if (ns != NULL)
    xmpp_stanza_set_ns (el, ns);
  return el;
}

/* xmpp_stanza_add_child() takes its own reference. */
static void
add_child_take (xmpp_stanza_t *parent,
                xmpp_stanza_t *child)
{
  xmpp_stanza_add_child (parent, child);
  xmpp_stanza_release (child);
}

static void
add_text (xmpp_stanza_t *parent,
          const char    *text)
{
  xmpp_stanza_t *t = xmpp_stanza_new (xmpp_stanza_get_context (parent));

  xmpp_stanza_set_text (t, text);
  add_child_take (parent, t);
}

static void
add_text_element (xmpp_stanza_t *parent,
                  const char    *name,
                  const char    *ns,
                  const char    *text)
{
  xmpp_stanza_t *el;

  if (text == NULL)
    return;
  el = new_element (xmpp_stanza_get_context (parent), name, ns);
  if (*text != '\0')
    add_text (el, text);
  add_child_take (parent, el);
}

static void
set_attr (xmpp_stanza_t *el,
          const char    *key,
          const char    *value)
{
  if (value != NULL)
    xmpp_stanza_set_attribute (el, key, value);
}

/* RFC 6121 §4.7.2.2: one <status/> per language; xml:lang only where it
 * differs from the stanza's, which a status without one inherits. */
static void
add_statuses (xmpp_stanza_t    *parent,
              const StoxStanza *st)
{
  for (guint i = 0; i < st->statuses->len; i++)
    {
      const StoxLangText *t = g_ptr_array_index (st->statuses, i);
      xmpp_stanza_t *el;

      if (t->text == NULL)
        continue;
      el = new_element (xmpp_stanza_get_context (parent), "status", NULL);
      if (t->lang != NULL && !stox_lang_equal (t->lang, st->lang))
        xmpp_stanza_set_attribute (el, "xml:lang", t->lang);
      if (*t->text != '\0')
        add_text (el, t->text);
      add_child_take (parent, el);
    }
}

static gboolean
check_text (const char *what,
            const char *value,
            gboolean    attr,
            GError    **error)
{
  if (!stox_xmpp_text_is_valid (value))
    {
      g_set_error (error, STOX_XMPP_CONVERT_ERROR,
                   STOX_XMPP_CONVERT_ERROR_INVALID_TEXT,
                   "%s is not valid XML text (bad UTF-8 or a control character)",
                   what);
      return FALSE;
    }
  /* Attribute values: a parser turns tab, CR and LF into spaces (XML 1.0
   * §3.3.3) and libstrophe cannot write them as character references, so
   * an id would come back changed.  None belongs in a JID or an id. */
  if (attr && value != NULL && strpbrk (value, "\t\r\n") != NULL)
    {
      g_set_error (error, STOX_XMPP_CONVERT_ERROR,
                   STOX_XMPP_CONVERT_ERROR_INVALID_TEXT,
                   "%s contains a tab or a line break", what);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_fields (const StoxStanza *st,
              GError          **error)
{
  const struct { const char *what; const char *value; gboolean attr; } texts[] = {
    { "type", st->type, TRUE }, { "id", st->id, TRUE },
    { "from", st->from, TRUE }, { "to", st->to, TRUE },
    { "xml:lang", st->lang, TRUE }, { "error type", st->error_type, TRUE },
    { "iq child namespace", st->iq_child_ns, TRUE }, { "node", st->iq_node, TRUE },
    { "body", st->body, FALSE }, { "subject", st->subject, FALSE },
    { "thread", st->thread, FALSE }, { "error text", st->error_text, FALSE },
    { "show", st->show, FALSE }, { "status", st->status, FALSE },
  };
  const struct { const char *what; const char *value; } names[] = {
    { "error condition", st->error_condition },
    { "iq child", st->iq_child_name },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    if (!check_text (texts[i].what, texts[i].value, texts[i].attr, error))
      return FALSE;
  for (guint i = 0; st->statuses != NULL && i < st->statuses->len; i++)
    {
      const StoxLangText *t = g_ptr_array_index (st->statuses, i);

      if (!check_text ("status xml:lang", t->lang, TRUE, error)
          || !check_text ("status", t->text, FALSE, error))
        return FALSE;
    }
  if (st->disco != NULL)
    {
      const StoxDisco *d = st->disco;

      if (!check_text ("disco category", d->category, TRUE, error)
          || !check_text ("disco type", d->type, TRUE, error)
          || !check_text ("disco name", d->name, TRUE, error))
        return FALSE;
      for (guint i = 0; d->features != NULL && i < d->features->len; i++)
        if (!check_text ("disco feature", d->features->pdata[i], TRUE, error))
          return FALSE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    if (names[i].value != NULL && !is_xml_name (names[i].value))
      {
        g_set_error (error, STOX_XMPP_CONVERT_ERROR,
                     STOX_XMPP_CONVERT_ERROR_INVALID_NAME,
                     "%s is not an element name", names[i].what);
        return FALSE;
      }
  if (st->chat_state != STOX_CHAT_STATE_NONE && stox_chat_state_element (st->chat_state) == NULL)
    {
      g_set_error (error, STOX_XMPP_CONVERT_ERROR,
                   STOX_XMPP_CONVERT_ERROR_INVALID_NAME,
                   "unknown chat state %d", (int) st->chat_state);
      return FALSE;
    }
  return TRUE;
}

/* XEP-0030 §3.1 and §4.1: the <query/> of a disco result. */
static void
add_disco (xmpp_stanza_t   *parent,
           const StoxDisco *d)
{
  xmpp_ctx_t *ctx = xmpp_stanza_get_context (parent);
  xmpp_stanza_t *query = new_element (ctx, "query",
                                      d->kind == STOX_DISCO_INFO ? STOX_NS_DISCO_INFO
                                                                 : STOX_NS_DISCO_ITEMS);

  if (d->kind == STOX_DISCO_INFO)
    {
      if (d->category != NULL)
        {
          xmpp_stanza_t *identity = new_element (ctx, "identity", NULL);

          set_attr (identity, "category", d->category);
          set_attr (identity, "type", d->type);
          set_attr (identity, "name", d->name);
          add_child_take (query, identity);
        }
      for (guint i = 0; d->features != NULL && i < d->features->len; i++)
        {
          xmpp_stanza_t *feature = new_element (ctx, "feature", NULL);

          xmpp_stanza_set_attribute (feature, "var", d->features->pdata[i]);
          add_child_take (query, feature);
        }
    }
  add_child_take (parent, query);
}

xmpp_stanza_t *
stox_xmpp_stanza_encode (xmpp_ctx_t       *ctx,
                         const StoxStanza *st,
                         GError          **error)
{
  const char *name;

  g_return_val_if_fail (ctx != NULL, NULL);
  g_return_val_if_fail (st != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  switch (st->kind)
    {
    case STOX_STANZA_MESSAGE:  name = "message"; break;
    case STOX_STANZA_PRESENCE: name = "presence"; break;
    case STOX_STANZA_IQ:       name = "iq"; break;
    default:
      g_set_error (error, STOX_XMPP_CONVERT_ERROR,
                   STOX_XMPP_CONVERT_ERROR_UNKNOWN_STANZA,
                   "unknown stanza kind %d", (int) st->kind);
      return NULL;
    }
  if (!check_fields (st, error))
    return NULL;

  /* No xmlns: the stanza takes the stream's (jabber:component:accept). */
  xmpp_stanza_t *s = new_element (ctx, name, NULL);
  set_attr (s, "type", st->type);
  set_attr (s, "id", st->id);
  set_attr (s, "from", st->from);
  set_attr (s, "to", st->to);
  set_attr (s, "xml:lang", st->lang);

  switch (st->kind)
    {
    case STOX_STANZA_MESSAGE:
      add_text_element (s, "subject", NULL, st->subject);
      add_text_element (s, "body", NULL, st->body);
      add_text_element (s, "thread", NULL, st->thread);
      if (st->chat_state != STOX_CHAT_STATE_NONE)
        add_child_take (s, new_element (ctx, stox_chat_state_element (st->chat_state),
                                        STOX_NS_CHATSTATES));
      break;

    case STOX_STANZA_PRESENCE:
      add_text_element (s, "show", NULL, st->show);
      if (st->statuses != NULL && st->statuses->len > 0)
        add_statuses (s, st);
      else
        add_text_element (s, "status", NULL, st->status);
      break;

    case STOX_STANZA_IQ:
      if (st->disco != NULL)
        add_disco (s, st->disco);
      else if (st->iq_child_name != NULL)
        {
          xmpp_stanza_t *child = new_element (ctx, st->iq_child_name, st->iq_child_ns);
          set_attr (child, "node", st->iq_node);
          add_child_take (s, child);
        }
      break;
    }

  if (st->error_condition != NULL)
    {
      xmpp_stanza_t *e = new_element (ctx, "error", NULL);
      xmpp_stanza_set_attribute (e, "type",
                                 st->error_type != NULL ? st->error_type : "cancel");
      add_child_take (e, new_element (ctx, st->error_condition, STOX_XMPP_NS_STANZAS));
      add_text_element (e, "text", STOX_XMPP_NS_STANZAS, st->error_text);
      add_child_take (s, e);
    }

  return s;
}

/* ------------------------------------------------------------------ */
/* A message as text                                                   */

/* libstrophe's escapes (_escape_xml(): text and attribute values alike). */
static void
append_escaped (GString    *out,
                const char *s)
{
  for (; *s != '\0'; s++)
    switch (*s)
      {
      case '<': g_string_append (out, "&lt;"); break;
      case '>': g_string_append (out, "&gt;"); break;
      case '&': g_string_append (out, "&amp;"); break;
      case '"': g_string_append (out, "&quot;"); break;
      default: g_string_append_c (out, *s); break;
      }
}

static void
append_attr (GString    *out,
             const char *key,
             const char *value)
{
  if (value == NULL)
    return;
  g_string_append_printf (out, " %s=\"", key);
  append_escaped (out, value);
  g_string_append_c (out, '"');
}

/* add_text_element(): nothing for NULL, an empty element for "". */
static void
append_text_element (GString    *out,
                     const char *name,
                     const char *ns,
                     const char *text)
{
  if (text == NULL)
    return;
  g_string_append_c (out, '<');
  g_string_append (out, name);
  append_attr (out, "xmlns", ns);
  if (*text == '\0')
    {
      g_string_append (out, "/>");
      return;
    }
  g_string_append_c (out, '>');
  append_escaped (out, text);
  g_string_append_printf (out, "</%s>", name);
}

/* add_statuses(): each with its language when it is not the stanza's. */
static void
append_statuses (GString          *out,
                 const StoxStanza *st)
{
  for (guint i = 0; i < st->statuses->len; i++)
    {
      const StoxLangText *t = g_ptr_array_index (st->statuses, i);

      if (t->text == NULL)
        continue;
      g_string_append (out, "<status");
      if (t->lang != NULL && !stox_lang_equal (t->lang, st->lang))
        append_attr (out, "xml:lang", t->lang);
      if (*t->text == '\0')
        {
          g_string_append (out, "/>");
          continue;
        }
      g_string_append_c (out, '>');
      append_escaped (out, t->text);
      g_string_append (out, "</status>");
    }
}

/* Why not the encoder: on the path of every SIP MESSAGE, building the
 * libstrophe tree (an allocation per element, attribute and text) and
 * rendering it with libstrophe's own printf cost 9 % of stoxd's CPU at
 * 20 000 MESSAGEs/s, and presences and probes 7 % of a held
 * subscription's set-up (bench/README.md). */
char *
stox_xmpp_stanza_text (const StoxStanza *st,
                       gsize            *ret_len,
                       GError          **error)
{
  g_return_val_if_fail (st != NULL && ret_len != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (st->kind != STOX_STANZA_MESSAGE && st->kind != STOX_STANZA_PRESENCE)
    {
      g_set_error (error, STOX_XMPP_CONVERT_ERROR, STOX_XMPP_CONVERT_ERROR_UNKNOWN_STANZA,
                   "not a message or presence");
      return NULL;
    }
  if (!check_fields (st, error))
    return NULL;

  const char *name = st->kind == STOX_STANZA_MESSAGE ? "message" : "presence";
  gsize size = 64;
  const char *const parts[] = { st->type, st->id, st->from, st->to, st->lang, st->subject,
                                st->body, st->thread, st->error_text, st->show, st->status };
  for (gsize i = 0; i < G_N_ELEMENTS (parts); i++)
    size += parts[i] != NULL ? strlen (parts[i]) + 16 : 0;

  GString *out = g_string_sized_new (size);
  g_string_append_c (out, '<');
  g_string_append (out, name);
  /* The encoder's order (stox_xmpp_stanza_encode()). */
  append_attr (out, "type", st->type);
  append_attr (out, "id", st->id);
  append_attr (out, "from", st->from);
  append_attr (out, "to", st->to);
  append_attr (out, "xml:lang", st->lang);

  gsize bare = out->len;
  g_string_append_c (out, '>');
  if (st->kind == STOX_STANZA_MESSAGE)
    {
      append_text_element (out, "subject", NULL, st->subject);
      append_text_element (out, "body", NULL, st->body);
      append_text_element (out, "thread", NULL, st->thread);
      if (st->chat_state != STOX_CHAT_STATE_NONE)
        {
          g_string_append_printf (out, "<%s", stox_chat_state_element (st->chat_state));
          append_attr (out, "xmlns", STOX_NS_CHATSTATES);
          g_string_append (out, "/>");
        }
    }
  else
    {
      append_text_element (out, "show", NULL, st->show);
      if (st->statuses != NULL && st->statuses->len > 0)
        append_statuses (out, st);
      else
        append_text_element (out, "status", NULL, st->status);
    }
  if (st->error_condition != NULL)
    {
      g_string_append (out, "<error");
      append_attr (out, "type", st->error_type != NULL ? st->error_type : "cancel");
      g_string_append_printf (out, "><%s", st->error_condition);
      append_attr (out, "xmlns", STOX_XMPP_NS_STANZAS);
      g_string_append (out, "/>");
      append_text_element (out, "text", STOX_XMPP_NS_STANZAS, st->error_text);
      g_string_append (out, "</error>");
    }
  if (out->len == bare + 1)
    {
      /* No child: an empty element, as libstrophe writes one. */
      g_string_truncate (out, bare);
      g_string_append (out, "/>");
    }
  else
    g_string_append_printf (out, "</%s>", name);
  *ret_len = out->len;
  return g_string_free (out, FALSE);
}
