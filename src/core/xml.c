/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "xml.h"

void
stox_xml_string_free (StoxXmlString *s)
{
  xmlFree (s);
}

/* SAX hook: runs before the internal subset is read. */
static void
refuse_doctype (void                       *user_data,
                const xmlChar *name        G_GNUC_UNUSED,
                const xmlChar *external_id G_GNUC_UNUSED,
                const xmlChar *system_id   G_GNUC_UNUSED)
{
  xmlParserCtxt *ctxt = user_data;
  gboolean *saw_doctype = ctxt->_private;

  *saw_doctype = TRUE;
  xmlStopParser (ctxt);
}

xmlDoc *
stox_xml_read (const char *data, gsize len, const char **ret_why)
{
  g_autoptr (xmlParserCtxt) ctxt = NULL;
  g_autoptr (xmlDoc) doc = NULL;
  gboolean saw_doctype = FALSE;

  if (len > G_MAXINT)
    {
      *ret_why = "document too large";
      return NULL;
    }
  ctxt = xmlNewParserCtxt ();
  if (ctxt == NULL)
    g_error ("%s: out of memory", G_STRFUNC);
  /* The context has its own copy of the SAX table: nothing global. */
  ctxt->sax->internalSubset = refuse_doctype;
  ctxt->_private = &saw_doctype;

  /* No XML_PARSE_NOENT (no entity substitution), no XML_PARSE_DTDLOAD (no
   * external DTD), no XML_PARSE_HUGE (libxml2's depth and size limits
   * stay), NONET, and no error printing: the core reports through GError
   * only. */
  doc = xmlCtxtReadMemory (ctxt, data, (int) len, NULL, NULL,
                           XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (saw_doctype || (doc != NULL && (doc->intSubset != NULL || doc->extSubset != NULL)))
    {
      *ret_why = "a DOCTYPE is not allowed";
      return NULL;
    }
  if (doc == NULL || !ctxt->wellFormed || !ctxt->nsWellFormed)
    {
      *ret_why = "not well-formed XML";
      return NULL;
    }
  return g_steal_pointer (&doc);
}
