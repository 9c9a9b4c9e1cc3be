/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * isComposing ↔ chat states; see iscomposing.h.  Every document comes from
 * a peer: bounded before parsing, and read without a DTD (xml.h).
 */
#include "config.h"

#include "iscomposing.h"

#include "message-content.h"
#include "xml.h"

#define ISCOMPOSING_NS "urn:ietf:params:xml:ns:im-iscomposing"

/* Largest isComposing document parsed (see stox_iscomposing_parse()). */
#define ISCOMPOSING_MAX (16 * 1024)

gboolean
stox_iscomposing_parse (const guint8  *data,
                        gsize          len,
                        StoxChatState *ret_state,
                        GError       **error)
{
  g_autoptr(xmlDoc) doc = NULL;
  g_autoptr(StoxXmlString) state_text = NULL;
  const char *why = NULL;
  xmlNode *root, *state = NULL;
  const char *state_str;

  if (len == 0)
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED,
                   "isComposing: empty document");
      return FALSE;
    }
  /* Real documents are a few hundred bytes; libxml2 2.9 needs quadratic
   * time on some malformed input (a megabyte of "<!--" takes minutes). */
  if (len > ISCOMPOSING_MAX)
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_TOO_LARGE,
                   "isComposing: document of %" G_GSIZE_FORMAT
                   " bytes is over the limit of %d", len, ISCOMPOSING_MAX);
      return FALSE;
    }

  /* RFC 3994 documents have no DTD; stox_xml_read refuses one unread. */
  doc = stox_xml_read ((const char *) data, len, &why);
  if (doc == NULL)
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED,
                   "isComposing: %s", why);
      return FALSE;
    }

  root = xmlDocGetRootElement (doc);
  if (root == NULL || root->ns == NULL
      || !xmlStrEqual (root->name, (const xmlChar *) "isComposing")
      || !xmlStrEqual (root->ns->href, (const xmlChar *) ISCOMPOSING_NS))
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED,
                   "isComposing: root is not <isComposing xmlns='"
                   ISCOMPOSING_NS "'>");
      return FALSE;
    }

  for (xmlNode *child = root->children; child != NULL; child = child->next)
    if (child->type == XML_ELEMENT_NODE && child->ns != NULL
        && xmlStrEqual (child->name, (const xmlChar *) "state")
        && xmlStrEqual (child->ns->href, (const xmlChar *) ISCOMPOSING_NS))
      {
        state = child;
        break;
      }
  if (state == NULL)
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED,
                   "isComposing: no <state>");
      return FALSE;
    }

  state_text = xmlNodeGetContent (state);
  state_str = state_text != NULL ? g_strstrip ((char *) state_text) : "";
  /* docs/mappings.md §3: idle → paused (as SylkServer does), not the `active`
   * of RFC 7573 Table 3 — the user stopped typing, the chat goes on. */
  if (g_strcmp0 (state_str, "active") == 0)
    *ret_state = STOX_CHAT_STATE_COMPOSING;
  else if (g_strcmp0 (state_str, "idle") == 0)
    *ret_state = STOX_CHAT_STATE_PAUSED;
  else
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED,
                   "isComposing: <state> is neither \"active\" nor \"idle\"");
      return FALSE;
    }
  return TRUE;
}

char *
stox_iscomposing_build (gboolean active,
                        guint    refresh_s)
{
  GString *doc = g_string_new (NULL);

  /* RFC 3994 §6; only text is ever composed on the XMPP side. */
  g_string_append (doc,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<isComposing xmlns=\"" ISCOMPOSING_NS "\">\n");
  g_string_append_printf (doc, "  <state>%s</state>\n",
                          active ? "active" : "idle");
  g_string_append (doc, "  <contenttype>text/plain</contenttype>\n");
  if (refresh_s != 0)
    g_string_append_printf (doc, "  <refresh>%u</refresh>\n", refresh_s);
  g_string_append (doc, "</isComposing>\n");
  return g_string_free (doc, FALSE);
}
