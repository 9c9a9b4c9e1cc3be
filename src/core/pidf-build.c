/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XMPP presence → a PIDF document with RPID (RFC 8048 §6.2 Table 1;
 * RFC 3863, 4479, 4480; docs/mappings.md §2.4, §2.9).  Whatever the
 * caller hands over, the document stays well-formed.
 */
#include "config.h"

#include "pidf.h"

#include <string.h>

#include "pidf-syntax.h"
#include "text.h"

/* Escapes `text` for element content or a double-quoted attribute.
 * Bytes that are not UTF-8 and characters XML 1.0 cannot carry
 * (stox_text_is_xml_char()) become U+FFFD: the document must stay
 * well-formed whatever the caller hands over.  CR, and in
 * attributes tab and LF, are written as references so that a parser's
 * normalisation gives them back.  Not g_markup_escape_text(): it writes
 * C0 controls as "&#x1;", which XML 1.0 forbids. */
static void
append_escaped (GString *out, const char *text, gboolean attribute)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);

  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '&')
        g_string_append (out, "&amp;");
      else if (c == '<')
        g_string_append (out, "&lt;");
      else if (c == '>')
        g_string_append (out, "&gt;");
      else if (c == '"')
        g_string_append (out, "&quot;");
      else if (c == '\r' || (attribute && (c == '\t' || c == '\n')))
        g_string_append_printf (out, "&#%u;", c);
      else if (c == '\t' || c == '\n')
        g_string_append_c (out, (char) c);
      else if (!stox_text_is_xml_char (c))
        g_string_append_unichar (out, 0xFFFD);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
    }
}


char *
stox_pidf_build (const char             *entity_uri,
                 const StoxPresenceInfo *info,
                 const StoxRules        *rules)
{
  GString *out;
  const char *show;
  const char *activity = NULL;

  g_return_val_if_fail (entity_uri != NULL, NULL);
  g_return_val_if_fail (info != NULL, NULL);

  /* RFC 8048 §6.2 notes 4, 5: unavailable is basic closed, and nothing of
   * a show is said for it. */
  show = info->available ? stox_show_known (info->show) : NULL;
  if (show != NULL && rules != NULL)
    activity = stox_rules_show_to_rpid (rules, show);

  out = g_string_new ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<presence xmlns=\"" NS_PIDF "\"");
  if (activity != NULL)
    g_string_append (out, "\n    xmlns:dm=\"" NS_DM "\""
                          "\n    xmlns:rpid=\"" NS_RPID "\"");
  g_string_append (out, "\n    entity=\"");
  append_escaped (out, entity_uri, TRUE);
  g_string_append (out, "\">\n");

  /* One tuple per resource (RFC 8048 §6.2 end, docs/mappings.md §2.8). */
  g_string_append (out, "  <tuple id=\"" ID_PREFIX);
  stox_pidf_append_tuple_id (out, info->resource);
  g_string_append (out, "\">\n    <status>\n");
  g_string_append_printf (out, "      <basic>%s</basic>\n",
                          info->available ? "open" : "closed");
  if (show != NULL)
    g_string_append_printf (out, "      <show xmlns=\"" NS_JABBER "\">%s</show>\n",
                            show);
  g_string_append (out, "    </status>\n");

  /* RFC 3863's order: status, extensions, contact, note, timestamp. */
  if (info->has_priority && info->priority >= 0)
    {
      g_string_append (out, "    <contact priority=\"");
      stox_pidf_append_qvalue (out, info->priority);
      g_string_append (out, "\">");
      append_escaped (out, entity_uri, FALSE);
      g_string_append (out, "</contact>\n");
    }
  for (guint i = 0; info->statuses != NULL && i < info->statuses->len; i++)
    {
      const StoxLangText *status = g_ptr_array_index (info->statuses, i);

      if (status->text == NULL || stox_pidf_is_blank (status->text))
        continue;
      g_string_append (out, "    <note");
      if (status->lang != NULL && *status->lang != '\0')
        {
          g_string_append (out, " xml:lang=\"");
          append_escaped (out, status->lang, TRUE);
          g_string_append (out, "\"");
        }
      g_string_append (out, ">");
      append_escaped (out, status->text, FALSE);
      g_string_append (out, "</note>\n");
    }
  if (info->timestamp != NULL)
    {
      g_string_append (out, "    <timestamp>");
      append_escaped (out, info->timestamp, FALSE);
      g_string_append (out, "</timestamp>\n");
    }
  g_string_append (out, "  </tuple>\n");

  /* docs/mappings.md §2.9: the activity on the person (RFC 4480 Table 1). */
  if (activity != NULL)
    {
      g_string_append (out, "  <dm:person id=\"" PERSON_ID_PREFIX);
      stox_pidf_append_tuple_id (out, info->resource);
      g_string_append_printf (out, "\">\n"
                                   "    <rpid:activities>\n"
                                   "      <rpid:%s/>\n"
                                   "    </rpid:activities>\n"
                                   "  </dm:person>\n",
                              activity);
    }
  g_string_append (out, "</presence>\n");
  return g_string_free (out, FALSE);
}
