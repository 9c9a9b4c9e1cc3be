/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * text/html → text; see html.h.  The HTML parser never loads a DTD, an
 * external entity or anything from the network.
 */
#include "config.h"

#include "html.h"

#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "message-content.h"
#include "text.h"
#include "xml.h"

typedef struct
{
  GString *out;
  gboolean space;      /* white space seen since the last character */
  guint    pre;        /* depth of <pre> */
} TextSink;

static gboolean
is_html_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static void
sink_text (TextSink   *sink,
           const char *text)
{
  if (sink->pre > 0)
    {
      g_string_append (sink->out, text);
      sink->space = FALSE;
      return;
    }
  /* Runs of white space show as one space, as a browser renders them. */
  for (const char *p = text; *p != '\0'; p++)
    {
      if (is_html_space (*p))
        {
          sink->space = TRUE;
          continue;
        }
      if (sink->space && sink->out->len > 0
          && sink->out->str[sink->out->len - 1] != '\n')
        g_string_append_c (sink->out, ' ');
      sink->space = FALSE;
      g_string_append_c (sink->out, *p);
    }
}

/* Start a new line unless at the start of one. */
static void
sink_block (TextSink *sink)
{
  if (sink->out->len > 0 && sink->out->str[sink->out->len - 1] != '\n')
    g_string_append_c (sink->out, '\n');
  sink->space = FALSE;
}

static gboolean
html_name_in (const xmlChar *name,
              const char    *const *names)
{
  for (gsize i = 0; names[i] != NULL; i++)
    if (g_ascii_strcasecmp ((const char *) name, names[i]) == 0)
      return TRUE;
  return FALSE;
}

static const char *const html_dropped[] = {
  /* not text a reader sees */
  "script", "style", "head", "title", "template", NULL
};

static const char *const html_blocks[] = {
  "address", "article", "aside", "blockquote", "caption", "center", "dd",
  "details", "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure",
  "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
  "main", "nav", "ol", "p", "pre", "section", "summary", "table", "tbody",
  "tfoot", "thead", "tr", "ul", NULL
};

/* Returns TRUE when the walk should go into the node's children. */
static gboolean
html_enter (TextSink *sink,
            xmlNode  *node)
{
  if (node->type == XML_TEXT_NODE)
    {
      if (node->content != NULL)
        sink_text (sink, (const char *) node->content);
      return FALSE;
    }
  if (node->type != XML_ELEMENT_NODE)
    return FALSE;                       /* comments, PIs, CDATA of scripts */

  if (html_name_in (node->name, html_dropped))
    return FALSE;
  if (g_ascii_strcasecmp ((const char *) node->name, "br") == 0)
    {
      g_string_append_c (sink->out, '\n');
      sink->space = FALSE;
      return FALSE;
    }
  if (g_ascii_strcasecmp ((const char *) node->name, "img") == 0)
    {
      /* Emoticons in HTML IM are images; their alt text is the smiley. */
      g_autoptr(StoxXmlString) alt = xmlGetProp (node, (const xmlChar *) "alt");

      if (alt != NULL)
        sink_text (sink, (const char *) alt);
      return FALSE;
    }
  if (html_name_in (node->name, html_blocks))
    sink_block (sink);
  if (g_ascii_strcasecmp ((const char *) node->name, "pre") == 0)
    sink->pre++;
  return TRUE;
}

static void
html_leave (TextSink *sink,
            xmlNode  *node)
{
  if (node->type != XML_ELEMENT_NODE)
    return;
  if (html_name_in (node->name, html_blocks))
    sink_block (sink);
  if (g_ascii_strcasecmp ((const char *) node->name, "pre") == 0
      && sink->pre > 0)
    sink->pre--;
  if (g_ascii_strcasecmp ((const char *) node->name, "td") == 0
      || g_ascii_strcasecmp ((const char *) node->name, "th") == 0)
    sink->space = TRUE;                 /* cells must not run together */
}

char *
stox_html_to_text (const char *html, GError **error)
{
  g_autoptr(xmlParserCtxt) ctxt = NULL;
  g_autoptr(xmlDoc) doc = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  TextSink sink = { out, FALSE, 0 };
  gsize html_len = strlen (html);

  if (html_len == 0)
    return g_strdup ("");

  /* The text is UTF-8 now, so the encoding is forced: a <meta charset> in
   * the document cannot make libxml2 reinterpret it.  HTML has no entity
   * declarations; NONET keeps the parser off the network regardless. */
  ctxt = htmlNewParserCtxt ();
  if (ctxt == NULL)
    g_error ("%s: out of memory", G_STRFUNC);
  doc = htmlCtxtReadMemory (ctxt, html, (int) html_len, NULL, "UTF-8",
                            HTML_PARSE_NONET | HTML_PARSE_NOERROR
                            | HTML_PARSE_NOWARNING);
  if (doc == NULL)
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED,
                   "text/html: not parseable as HTML");
      return NULL;
    }
  /* The HTML parser recovers from almost anything, but halts for good on
   * nesting deeper than 256 and drops the rest: refuse rather than
   * deliver a silently truncated message. */
  if (ctxt->disableSAX != 0 || ctxt->instate == XML_PARSER_EOF)
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED,
                   "text/html: elements nested too deeply");
      return NULL;
    }

  /* Iterative walk: no stack depth rests on libxml2's nesting cap. */
  for (xmlNode *node = doc->children; node != NULL;)
    {
      gboolean entered = html_enter (&sink, node);

      if (entered && node->children != NULL)
        {
          node = node->children;
          continue;
        }
      if (entered)
        html_leave (&sink, node);
      while (node != NULL && node->next == NULL)
        {
          node = node->parent;
          if (node == NULL || node == (xmlNode *) doc)
            node = NULL;
          else
            html_leave (&sink, node);
        }
      if (node != NULL)
        node = node->next;
    }

  /* Edges of the text are layout, not content.  One erase, not one per
   * newline: a megabyte of <br> must stay linear. */
  g_strchomp (out->str);
  g_string_set_size (out, strlen (out->str));
  g_string_erase (out, 0, (gssize) strspn (out->str, "\n"));

  if (!stox_text_check_xml ("text/html", out->str, out->len, error))
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}
