/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Message content mapping (rfc-mappings.md §3.4, §3.5, §4; INTERFACE.md §5,
 * §7).  Every body here comes from a peer: it is size-checked first, every
 * byte of text is validated as UTF-8 and as XML character data before it is
 * handed on, and the two XML parsers never load a DTD, an external entity
 * or anything from the network.
 */
#include "config.h"

#include "message.h"

#include <string.h>

#include <libxml/HTMLparser.h>
#include "xml.h"
#include <libxml/parser.h>
#include <libxml/tree.h>

G_DEFINE_QUARK (stox-message-error-quark, stox_message_error)


#define ISCOMPOSING_NS "urn:ietf:params:xml:ns:im-iscomposing"

/* Largest isComposing document parsed (see decode_iscomposing()). */
#define ISCOMPOSING_MAX (16 * 1024)

/* A peer cannot make us allocate per header without bound. */
#define CPIM_MAX_HEADERS 256

/* Longest charset name we hand to iconv (RFC 2978 §2.3 allows 40). */
#define CHARSET_NAME_MAX 64

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

/* Peer text quoted in an error message, which may end up in a SIP Warning
 * header: bounded, valid UTF-8, no control characters. */
static char *
printable (const char *text)
{
  char *out = g_utf8_make_valid (text, (gssize) strnlen (text, 64));

  for (char *p = out; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7F)
      *p = '?';
  return out;
}

static StoxMessageContent *
content_new (char *body)
{
  StoxMessageContent *content = g_new0 (StoxMessageContent, 1);

  content->body = body;
  content->chat_state = STOX_CHAT_STATE_NONE;
  return content;
}

/* ------------------------------------------------------------------ */
/* Text: charset conversion and validation (rfc-mappings.md §3.5)      */
/* ------------------------------------------------------------------ */

/* XML 1.0 §2.2 Char.  The XMPP front end escapes markup, but no escape
 * exists for these: written into a stanza they would make the server close
 * the component stream, so they are refused here, at the edge. */
static gboolean
check_xml_chars (const char *what,
                 const char *text,
                 gsize       len,
                 GError    **error)
{
  const guchar *s = (const guchar *) text;

  /* `text` is valid UTF-8, so only C0 controls and the two
   * non-characters U+FFFE/U+FFFF (EF BF BE/BF) need looking at. */
  for (gsize i = 0; i < len; i++)
    {
      guint bad = 0;

      if (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
        bad = s[i];
      else if (s[i] == 0xEF && i + 2 < len && s[i + 1] == 0xBF
               && (s[i + 2] == 0xBE || s[i + 2] == 0xBF))
        bad = s[i + 2] == 0xBE ? 0xFFFE : 0xFFFF;
      else
        continue;

      if (bad == 0)
        g_set_error (error, STOX_MESSAGE_ERROR,
                     STOX_MESSAGE_ERROR_BAD_ENCODING,
                     "%s: NUL character at byte %" G_GSIZE_FORMAT, what, i);
      else
        g_set_error (error, STOX_MESSAGE_ERROR,
                     STOX_MESSAGE_ERROR_BAD_ENCODING,
                     "%s: character U+%04X at byte %" G_GSIZE_FORMAT
                     " cannot be carried in XML", what, bad, i);
      return FALSE;
    }
  return TRUE;
}

static gboolean
is_charset_char (char c)
{
  /* RFC 2978 §2.3 mime-charset-chars, plus the '.' and ':' of older IANA
   * names ("ANSI_X3.4-1968", "ISO_8859-1:1987").  Leaving out '/' keeps
   * iconv's "//TRANSLIT" and "//IGNORE" suffixes away: they would silently
   * alter or drop what the sender wrote. */
  return g_ascii_isalnum (c)
         || (c != '\0' && strchr ("!#$%&'+-^_`{}~.:", c) != NULL);
}

/* Peels quotes and blanks a front end may have left on a parameter. */
static char *
charset_normalize (const char *charset)
{
  g_autofree char *cs = NULL;
  gsize len;

  if (charset == NULL)
    return NULL;
  cs = g_strstrip (g_strdup (charset));
  len = strlen (cs);
  if (len >= 2 && cs[0] == '"' && cs[len - 1] == '"')
    {
      memmove (cs, cs + 1, len - 2);
      cs[len - 2] = '\0';
      g_strstrip (cs);
    }
  if (*cs == '\0')
    return NULL;
  return g_steal_pointer (&cs);
}

/* RFC 2781 §4.3 (and its UTF-32 analogue): a BOM picks the byte order and
 * is not text; without one the order is big-endian.  glibc's "UTF-16"
 * assumes the host order instead, so the choice is made here. */
static const char *
unicode_byte_order (const char    *charset,
                    const guint8 **data,
                    gsize         *len)
{
  const guint8 *d = *data;

  if (g_ascii_strcasecmp (charset, "utf-16") == 0)
    {
      if (*len >= 2 && d[0] == 0xFE && d[1] == 0xFF)
        {
          *data += 2, *len -= 2;
          return "UTF-16BE";
        }
      if (*len >= 2 && d[0] == 0xFF && d[1] == 0xFE)
        {
          *data += 2, *len -= 2;
          return "UTF-16LE";
        }
      return "UTF-16BE";
    }
  if (g_ascii_strcasecmp (charset, "utf-32") == 0)
    {
      if (*len >= 4 && d[0] == 0 && d[1] == 0 && d[2] == 0xFE && d[3] == 0xFF)
        {
          *data += 4, *len -= 4;
          return "UTF-32BE";
        }
      if (*len >= 4 && d[0] == 0xFF && d[1] == 0xFE && d[2] == 0 && d[3] == 0)
        {
          *data += 4, *len -= 4;
          return "UTF-32LE";
        }
      return "UTF-32BE";
    }
  return charset;
}

/* `data` in `charset` (NULL: UTF-8, the SIP default of rfc-mappings.md
 * §3.5) → NUL-terminated UTF-8 without a leading BOM, checked as XML
 * character data. */
static char *
text_to_utf8 (const char   *what,
              const char   *charset,
              const guint8 *data,
              gsize         len,
              GError      **error)
{
  g_autofree char *cs = charset_normalize (charset);
  g_autofree char *out = NULL;
  gsize out_len;

  if (data == NULL)
    data = (const guint8 *) "", len = 0;

  if (cs == NULL || g_ascii_strcasecmp (cs, "utf-8") == 0
      || g_ascii_strcasecmp (cs, "utf8") == 0)
    {
      const char *end = NULL;

      if (!g_utf8_validate_len ((const char *) data, len, &end))
        {
          gsize at = (gsize) (end - (const char *) data);

          /* g_utf8_validate_len() stops at a NUL too; name it apart. */
          if (at < len && data[at] == '\0')
            g_set_error (error, STOX_MESSAGE_ERROR,
                         STOX_MESSAGE_ERROR_BAD_ENCODING,
                         "%s: NUL character at byte %" G_GSIZE_FORMAT,
                         what, at);
          else
            g_set_error (error, STOX_MESSAGE_ERROR,
                         STOX_MESSAGE_ERROR_BAD_ENCODING,
                         "%s: invalid UTF-8 at byte %" G_GSIZE_FORMAT,
                         what, at);
          return NULL;
        }
      out = g_strndup ((const char *) data, len);
      out_len = len;
    }
  else
    {
      g_autoptr(GError) local_error = NULL;
      const char *from, *bad = NULL;
      gsize orig_len = len, bytes_read = 0;

      if (strlen (cs) > CHARSET_NAME_MAX)
        {
          g_set_error (error, STOX_MESSAGE_ERROR,
                       STOX_MESSAGE_ERROR_BAD_ENCODING,
                       "%s: unknown charset (name too long)", what);
          return NULL;
        }
      for (const char *p = cs; *p != '\0'; p++)
        if (!is_charset_char (*p))
          {
            g_set_error (error, STOX_MESSAGE_ERROR,
                         STOX_MESSAGE_ERROR_BAD_ENCODING,
                         "%s: invalid charset name", what);
            return NULL;
          }

      from = unicode_byte_order (cs, &data, &len);
      out = g_convert ((const char *) data, (gssize) len, "UTF-8", from,
                       &bytes_read, &out_len, &local_error);
      if (out == NULL)
        {
          if (g_error_matches (local_error, G_CONVERT_ERROR,
                               G_CONVERT_ERROR_NO_CONVERSION))
            g_set_error (error, STOX_MESSAGE_ERROR,
                         STOX_MESSAGE_ERROR_BAD_ENCODING,
                         "%s: unknown charset \"%s\"", what, cs);
          else
            g_set_error (error, STOX_MESSAGE_ERROR,
                         STOX_MESSAGE_ERROR_BAD_ENCODING,
                         "%s: invalid %s at byte %" G_GSIZE_FORMAT,
                         what, cs, bytes_read + (orig_len - len));
          return NULL;
        }
      /* With `bytes_read` given, g_convert() reports a truncated last
       * character by reading less instead of failing. */
      if (bytes_read != len)
        {
          g_set_error (error, STOX_MESSAGE_ERROR,
                       STOX_MESSAGE_ERROR_BAD_ENCODING,
                       "%s: truncated %s at byte %" G_GSIZE_FORMAT,
                       what, cs, bytes_read + (orig_len - len));
          return NULL;
        }
      /* iconv's output is trusted no further than the input.  A NUL
       * (U+0000 in the source) stops validation; check_xml_chars() below
       * names it. */
      if (!g_utf8_validate_len (out, out_len, &bad) && *bad != '\0')
        {
          g_set_error (error, STOX_MESSAGE_ERROR,
                       STOX_MESSAGE_ERROR_BAD_ENCODING,
                       "%s: %s does not convert to valid UTF-8", what, cs);
          return NULL;
        }
    }

  if (out_len >= 3 && memcmp (out, "\xEF\xBB\xBF", 3) == 0)
    {
      memmove (out, out + 3, out_len - 3 + 1);
      out_len -= 3;
    }
  if (!check_xml_chars (what, out, out_len, error))
    return NULL;
  return g_steal_pointer (&out);
}

/* ------------------------------------------------------------------ */
/* text/html → text (rfc-mappings.md §3.4, INTERFACE.md §5)            */
/* ------------------------------------------------------------------ */

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

static StoxMessageContent *
decode_html (const char   *charset,
             const guint8 *data,
             gsize         len,
             GError      **error)
{
  g_autofree char *html = NULL;
  g_autoptr(xmlParserCtxt) ctxt = NULL;
  g_autoptr(xmlDoc) doc = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  TextSink sink = { out, FALSE, 0 };
  gsize html_len;
  char *text;

  html = text_to_utf8 ("text/html", charset, data, len, error);
  if (html == NULL)
    return NULL;
  html_len = strlen (html);
  if (html_len == 0)
    return content_new (g_strdup (""));

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

  if (!check_xml_chars ("text/html", out->str, out->len, error))
    return NULL;
  text = g_string_free (g_steal_pointer (&out), FALSE);
  return content_new (text);
}

/* ------------------------------------------------------------------ */
/* application/im-iscomposing+xml (RFC 3994; rfc-mappings.md §4)       */
/* ------------------------------------------------------------------ */

static StoxMessageContent *
decode_iscomposing (const guint8 *data,
                    gsize         len,
                    GError      **error)
{
  g_autoptr(xmlDoc) doc = NULL;
  g_autoptr(StoxXmlString) state_text = NULL;
  const char *why = NULL;
  xmlNode *root, *state = NULL;
  StoxMessageContent *content;
  const char *state_str;

  if (len == 0)
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED,
                   "isComposing: empty document");
      return NULL;
    }
  /* Real documents are a few hundred bytes; libxml2 2.9 needs quadratic
   * time on some malformed input (a megabyte of "<!--" takes minutes). */
  if (len > ISCOMPOSING_MAX)
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_TOO_LARGE,
                   "isComposing: document of %" G_GSIZE_FORMAT
                   " bytes is over the limit of %d", len, ISCOMPOSING_MAX);
      return NULL;
    }

  /* RFC 3994 documents have no DTD; stox_xml_read refuses one unread. */
  doc = stox_xml_read ((const char *) data, len, &why);
  if (doc == NULL)
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED,
                   "isComposing: %s", why);
      return NULL;
    }

  root = xmlDocGetRootElement (doc);
  if (root == NULL || root->ns == NULL
      || !xmlStrEqual (root->name, (const xmlChar *) "isComposing")
      || !xmlStrEqual (root->ns->href, (const xmlChar *) ISCOMPOSING_NS))
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED,
                   "isComposing: root is not <isComposing xmlns='"
                   ISCOMPOSING_NS "'>");
      return NULL;
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
      return NULL;
    }

  state_text = xmlNodeGetContent (state);
  state_str = state_text != NULL ? g_strstrip ((char *) state_text) : "";
  content = content_new (NULL);
  /* INTERFACE.md §5: idle → paused (as SylkServer does), not the `active`
   * of RFC 7573 Table 3 — the user stopped typing, the chat goes on. */
  if (g_strcmp0 (state_str, "active") == 0)
    content->chat_state = STOX_CHAT_STATE_COMPOSING;
  else if (g_strcmp0 (state_str, "idle") == 0)
    content->chat_state = STOX_CHAT_STATE_PAUSED;
  else
    {
      stox_message_content_free (content);
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED,
                   "isComposing: <state> is neither \"active\" nor \"idle\"");
      return NULL;
    }
  return content;
}

char *
stox_message_build_iscomposing (gboolean active,
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

/* ------------------------------------------------------------------ */
/* message/cpim (RFC 3862; rfc-mappings.md §3.4)                       */
/* ------------------------------------------------------------------ */

typedef struct
{
  char    *name;
  GString *raw;       /* everything after the ':', unfolded */
} Header;

static void
header_free (Header *h)
{
  g_free (h->name);
  g_string_free (h->raw, TRUE);
  g_free (h);
}

/* One line, without its LF or CRLF.  FALSE when no line end is left: every
 * header block must end with a blank line. */
static gboolean
read_line (const char **pos,
           const char  *end,
           const char **ret_line,
           gsize       *ret_len)
{
  const char *nl;
  gsize len;

  if (*pos >= end)
    return FALSE;
  nl = memchr (*pos, '\n', (gsize) (end - *pos));
  if (nl == NULL)
    return FALSE;
  len = (gsize) (nl - *pos);
  if (len > 0 && (*pos)[len - 1] == '\r')
    len--;
  *ret_line = *pos;
  *ret_len = len;
  *pos = nl + 1;
  return TRUE;
}

/* Reads header lines up to and including the blank line that ends them.
 * CRLF (RFC 3862) or bare LF; a line starting with white space continues
 * the previous one (RFC 5322 folding, for the MIME part). */
static GPtrArray *
parse_header_block (const char **pos,
                    const char  *end,
                    const char  *what,
                    GError     **error)
{
  g_autoptr(GPtrArray) headers =
    g_ptr_array_new_with_free_func ((GDestroyNotify) header_free);

  for (;;)
    {
      const char *line, *colon;
      gsize len;
      Header *h;

      if (!read_line (pos, end, &line, &len))
        {
          g_set_error (error, STOX_MESSAGE_ERROR,
                       STOX_MESSAGE_ERROR_MALFORMED,
                       "message/cpim: no blank line after the %s headers",
                       what);
          return NULL;
        }
      if (len == 0)
        return g_steal_pointer (&headers);
      if (memchr (line, '\0', len) != NULL)
        {
          g_set_error (error, STOX_MESSAGE_ERROR,
                       STOX_MESSAGE_ERROR_MALFORMED,
                       "message/cpim: NUL in the %s headers", what);
          return NULL;
        }

      if (line[0] == ' ' || line[0] == '\t')
        {
          g_autofree char *more = NULL;

          if (headers->len == 0)
            {
              g_set_error (error, STOX_MESSAGE_ERROR,
                           STOX_MESSAGE_ERROR_MALFORMED,
                           "message/cpim: %s headers start with a "
                           "continuation line", what);
              return NULL;
            }
          h = g_ptr_array_index (headers, headers->len - 1);
          more = g_strstrip (g_strndup (line, len));
          /* Appended in place: a megabyte of continuation lines stays
           * linear. */
          g_string_append_c (h->raw, ' ');
          g_string_append (h->raw, more);
          continue;
        }

      colon = memchr (line, ':', len);
      if (colon == NULL || colon == line)
        {
          g_set_error (error, STOX_MESSAGE_ERROR,
                       STOX_MESSAGE_ERROR_MALFORMED,
                       "message/cpim: %s header line without a name and "
                       "':'", what);
          return NULL;
        }
      for (const char *p = line; p < colon; p++)
        if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7F)
          {
            g_set_error (error, STOX_MESSAGE_ERROR,
                         STOX_MESSAGE_ERROR_MALFORMED,
                         "message/cpim: bad %s header name", what);
            return NULL;
          }
      if (headers->len >= CPIM_MAX_HEADERS)
        {
          g_set_error (error, STOX_MESSAGE_ERROR,
                       STOX_MESSAGE_ERROR_MALFORMED,
                       "message/cpim: more than %d %s headers",
                       CPIM_MAX_HEADERS, what);
          return NULL;
        }

      h = g_new0 (Header, 1);
      h->name = g_strndup (line, (gsize) (colon - line));
      h->raw = g_string_new_len (colon + 1,
                                 (gssize) (len - (gsize) (colon - line) - 1));
      g_ptr_array_add (headers, h);
    }
}

static const Header *
find_header (GPtrArray  *headers,
             const char *name)
{
  for (guint i = 0; i < headers->len; i++)
    {
      const Header *h = g_ptr_array_index (headers, i);

      if (g_ascii_strcasecmp (h->name, name) == 0)
        return h;
    }
  return NULL;
}

/* RFC 3862 §3.1: `Name:` *( ";" Parameter ) SP Header-value.  Returns the
 * value (trimmed) and, when asked, the `lang` parameter. */
static char *
cpim_split_value (const char *raw,
                  char      **ret_lang)
{
  const char *value = raw;

  if (ret_lang != NULL)
    *ret_lang = NULL;
  if (raw[0] == ';')
    {
      const char *sp = strchr (raw, ' ');
      g_autofree char *params = g_strndup (raw, sp != NULL
                                                  ? (gsize) (sp - raw)
                                                  : strlen (raw));
      g_auto(GStrv) parts = g_strsplit (params, ";", -1);

      for (gsize i = 0; parts[i] != NULL; i++)
        {
          char *p = g_strstrip (parts[i]);

          if (ret_lang != NULL && *ret_lang == NULL
              && g_ascii_strncasecmp (p, "lang=", 5) == 0)
            *ret_lang = g_strdup (p + 5);
        }
      value = sp != NULL ? sp + 1 : "";
    }
  return g_strstrip (g_strdup (value));
}

static int
hex_value (char c)
{
  return g_ascii_isxdigit (c) ? g_ascii_xdigit_value (c) : -1;
}

static gboolean
read_u_escape (const char *p,
               gunichar   *ret_unit)
{
  gunichar unit = 0;

  for (int i = 0; i < 4; i++)
    {
      int v = hex_value (p[i]);

      if (v < 0)
        return FALSE;
      unit = unit * 16 + (gunichar) v;
    }
  *ret_unit = unit;
  return TRUE;
}

/* RFC 3862 §3.1 Escape: \u + 4 hex digits (UTF-16 code unit), \b \t \n \r
 * \" \' \\.  A backslash before anything else is kept as written: many
 * senders do not escape at all. */
static char *
cpim_unescape (const char *value,
               GError    **error)
{
  g_autoptr(GString) out = g_string_new (NULL);

  for (const char *p = value; *p != '\0'; p++)
    {
      gunichar unit, low;

      if (*p != '\\' || p[1] == '\0')
        {
          g_string_append_c (out, *p);
          continue;
        }
      switch (p[1])
        {
        case 'b': g_string_append_c (out, '\b'); p++; continue;
        case 't': g_string_append_c (out, '\t'); p++; continue;
        case 'n': g_string_append_c (out, '\n'); p++; continue;
        case 'r': g_string_append_c (out, '\r'); p++; continue;
        case '"': case '\'': case '\\':
          g_string_append_c (out, p[1]);
          p++;
          continue;
        case 'u':
          break;
        default:
          g_string_append_c (out, *p);
          continue;
        }

      if (!read_u_escape (p + 2, &unit))
        {
          g_string_append_c (out, *p);
          continue;
        }
      p += 5;
      if (unit >= 0xD800 && unit <= 0xDBFF)
        {
          if (p[1] != '\\' || p[2] != 'u' || !read_u_escape (p + 3, &low)
              || low < 0xDC00 || low > 0xDFFF)
            {
              g_set_error (error, STOX_MESSAGE_ERROR,
                           STOX_MESSAGE_ERROR_MALFORMED,
                           "message/cpim: unpaired surrogate in a \\u "
                           "escape");
              return NULL;
            }
          unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
          p += 6;
        }
      else if (unit >= 0xDC00 && unit <= 0xDFFF)
        {
          g_set_error (error, STOX_MESSAGE_ERROR,
                       STOX_MESSAGE_ERROR_MALFORMED,
                       "message/cpim: unpaired surrogate in a \\u escape");
          return NULL;
        }
      else if (unit == 0)
        {
          /* Would end the C string early, silently cutting the text. */
          g_set_error (error, STOX_MESSAGE_ERROR,
                       STOX_MESSAGE_ERROR_BAD_ENCODING,
                       "message/cpim: NUL character in a \\u escape");
          return NULL;
        }
      g_string_append_unichar (out, unit);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The first tag of a Content-Language list (RFC 3282), checked against the
 * RFC 5646 shape: it becomes xml:lang (rfc-mappings.md §3.2, §3.5).  NULL
 * with no error when the value is empty. */
static char *
parse_language (const char *value,
                GError    **error)
{
  g_autofree char *tag = NULL;
  const char *comma = strchr (value, ',');
  gsize sub = 0;

  tag = g_strstrip (g_strndup (value, comma != NULL ? (gsize) (comma - value)
                                                    : strlen (value)));
  if (*tag == '\0')
    return NULL;
  if (strlen (tag) > 64 || !g_ascii_isalpha (tag[0]))
    goto bad;
  for (const char *p = tag; *p != '\0'; p++)
    {
      if (*p == '-')
        {
          if (sub == 0 || p[1] == '\0')
            goto bad;
          sub = 0;
        }
      else if (g_ascii_isalnum (*p) && ++sub <= 8)
        continue;
      else
        goto bad;
    }
  return g_steal_pointer (&tag);

bad:
  g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED,
               "message/cpim: Content-Language is not a language tag");
  return NULL;
}

/* RFC 2045 §5.1: type "/" subtype *( ";" attribute "=" value ), value a
 * token or quoted-string. */
static gboolean
parse_content_type (const char *value,
                    char      **ret_type,
                    char      **ret_charset,
                    GError    **error)
{
  const char *p = strchr (value, ';');
  g_autofree char *type = g_strstrip (g_strndup (value, p != NULL
                                                         ? (gsize) (p - value)
                                                         : strlen (value)));
  g_autofree char *charset = NULL;
  const char *slash = strchr (type, '/');

  if (slash == NULL || slash == type || slash[1] == '\0'
      || strchr (slash + 1, '/') != NULL || strpbrk (type, " \t") != NULL)
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED,
                   "message/cpim: inner Content-Type is not type/subtype");
      return FALSE;
    }

  while (p != NULL && *p == ';')
    {
      const char *name_start, *eq;
      g_autofree char *name = NULL;
      g_autoptr(GString) val = g_string_new (NULL);

      p++;
      name_start = p;
      eq = strchr (p, '=');
      if (eq == NULL)
        break;                          /* a dangling ';' or bare name */
      name = g_strstrip (g_strndup (name_start, (gsize) (eq - name_start)));
      p = eq + 1;
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '"')
        {
          for (p++; *p != '"'; p++)
            {
              if (*p == '\\' && p[1] != '\0')
                p++;
              if (*p == '\0')
                {
                  g_set_error (error, STOX_MESSAGE_ERROR,
                               STOX_MESSAGE_ERROR_MALFORMED,
                               "message/cpim: unterminated quoted string in "
                               "the inner Content-Type");
                  return FALSE;
                }
              g_string_append_c (val, *p);
            }
          p++;
          while (*p != '\0' && *p != ';')
            p++;
        }
      else
        {
          const char *vend = strchr (p, ';');

          if (vend == NULL)
            vend = p + strlen (p);
          g_string_append_len (val, p, vend - p);
          g_strstrip (val->str);
          g_string_set_size (val, strlen (val->str));
          p = vend;
        }
      if (charset == NULL && g_ascii_strcasecmp (name, "charset") == 0)
        charset = g_strdup (val->str);
    }

  *ret_type = g_ascii_strdown (type, -1);
  *ret_charset = g_steal_pointer (&charset);
  return TRUE;
}

static StoxMessageContent *decode_entity (const char   *content_type,
                                          const char   *charset,
                                          const guint8 *data,
                                          gsize         len,
                                          guint         depth,
                                          GError      **error);

/* The CPIM message headers stox understands (RFC 3862 §3, §4); a Require:
 * naming any other must make us refuse the message. */
static const char *const cpim_understood[] = {
  "From", "To", "cc", "DateTime", "Subject", "NS", "Require", NULL
};

static gboolean
cpim_check_require (GPtrArray *headers,
                    GError   **error)
{
  for (guint i = 0; i < headers->len; i++)
    {
      const Header *h = g_ptr_array_index (headers, i);
      g_autofree char *value = NULL;
      g_auto(GStrv) names = NULL;

      if (g_ascii_strcasecmp (h->name, "Require") != 0)
        continue;
      value = cpim_split_value (h->raw->str, NULL);
      names = g_strsplit (value, ",", -1);
      for (gsize j = 0; names[j] != NULL; j++)
        {
          const char *name = g_strstrip (names[j]);
          gboolean known = FALSE;

          if (*name == '\0')
            continue;
          for (gsize k = 0; cpim_understood[k] != NULL; k++)
            if (g_ascii_strcasecmp (name, cpim_understood[k]) == 0)
              known = TRUE;
          if (!known)
            {
              g_autofree char *shown = printable (name);

              g_set_error (error, STOX_MESSAGE_ERROR,
                           STOX_MESSAGE_ERROR_MALFORMED,
                           "message/cpim: Require: names header \"%s\", "
                           "which this gateway does not understand", shown);
              return FALSE;
            }
        }
    }
  return TRUE;
}

/* Of several Subject headers (one per language, RFC 3862), the one in the
 * content's language, else one without a language, else the first. */
static gboolean
cpim_pick_subject (GPtrArray  *headers,
                   const char *content_lang,
                   char      **ret_subject,
                   GError    **error)
{
  const Header *best = NULL;
  int best_score = -1;
  g_autofree char *value = NULL;
  g_autofree char *subject = NULL;

  for (guint i = 0; i < headers->len; i++)
    {
      const Header *h = g_ptr_array_index (headers, i);
      g_autofree char *lang = NULL;
      g_autofree char *v = NULL;
      int score;

      if (g_ascii_strcasecmp (h->name, "Subject") != 0)
        continue;
      v = cpim_split_value (h->raw->str, &lang);
      if (lang == NULL)
        score = 1;
      else if (content_lang != NULL
               && g_ascii_strcasecmp (lang, content_lang) == 0)
        score = 2;
      else
        score = 0;
      if (score > best_score)
        best = h, best_score = score;
    }

  *ret_subject = NULL;
  if (best == NULL)
    return TRUE;

  value = cpim_split_value (best->raw->str, NULL);
  if (!g_utf8_validate (value, -1, NULL))
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_BAD_ENCODING,
                   "message/cpim: Subject is not valid UTF-8");
      return FALSE;
    }
  subject = cpim_unescape (value, error);
  if (subject == NULL)
    return FALSE;
  if (!check_xml_chars ("message/cpim Subject", subject, strlen (subject),
                        error))
    return FALSE;
  *ret_subject = g_steal_pointer (&subject);
  return TRUE;
}

static StoxMessageContent *
decode_cpim (const guint8 *data,
             gsize         len,
             guint         depth,
             GError      **error)
{
  const char *pos = (const char *) data;
  const char *end = pos + len;
  g_autoptr(GPtrArray) cpim = NULL;
  g_autoptr(GPtrArray) mime = NULL;
  g_autofree char *type = NULL;
  g_autofree char *charset = NULL;
  g_autofree char *lang = NULL;
  g_autofree char *subject = NULL;
  StoxMessageContent *content;
  const Header *h;

  if (len == 0)
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED,
                   "message/cpim: empty body");
      return NULL;
    }

  cpim = parse_header_block (&pos, end, "CPIM message", error);
  if (cpim == NULL)
    return NULL;

  /* Some senders repeat the message/cpim MIME headers of RFC 3862 §2.1
   * inside the SIP body.  CPIM message headers never include a
   * Content-Type, so such a block is skipped. */
  h = find_header (cpim, "Content-Type");
  if (h != NULL)
    {
      g_autofree char *outer = g_strstrip (g_strdup (h->raw->str));

      if (g_ascii_strncasecmp (outer, "message/cpim", 12) == 0)
        {
          g_ptr_array_unref (g_steal_pointer (&cpim));
          cpim = parse_header_block (&pos, end, "CPIM message", error);
          if (cpim == NULL)
            return NULL;
        }
    }

  if (!cpim_check_require (cpim, error))
    return NULL;

  mime = parse_header_block (&pos, end, "content", error);
  if (mime == NULL)
    return NULL;

  h = find_header (mime, "Content-Transfer-Encoding");
  if (h != NULL)
    {
      g_autofree char *cte = g_strstrip (g_strdup (h->raw->str));

      if (g_ascii_strcasecmp (cte, "7bit") != 0
          && g_ascii_strcasecmp (cte, "8bit") != 0
          && g_ascii_strcasecmp (cte, "binary") != 0)
        {
          g_set_error (error, STOX_MESSAGE_ERROR,
                       STOX_MESSAGE_ERROR_UNSUPPORTED_TYPE,
                       "message/cpim: Content-Transfer-Encoding other than "
                       "7bit, 8bit or binary is not supported");
          return NULL;
        }
    }

  h = find_header (mime, "Content-Type");
  if (h == NULL)
    /* RFC 2045 §5.2 default, except that the charset stays UTF-8 like
     * every unlabelled body here (rfc-mappings.md §3.5). */
    type = g_strdup ("text/plain");
  else if (!parse_content_type (h->raw->str, &type, &charset, error))
    return NULL;

  h = find_header (mime, "Content-Language");
  if (h != NULL)
    {
      g_autoptr(GError) lang_error = NULL;

      lang = parse_language (h->raw->str, &lang_error);
      if (lang_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&lang_error));
          return NULL;
        }
    }

  if (!cpim_pick_subject (cpim, lang, &subject, error))
    return NULL;

  content = decode_entity (type, charset, (const guint8 *) pos,
                           (gsize) (end - pos), depth + 1, error);
  if (content == NULL)
    return NULL;
  content->subject = g_steal_pointer (&subject);
  content->lang = g_steal_pointer (&lang);
  return content;
}

/* ------------------------------------------------------------------ */

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
      char *text = text_to_utf8 ("text/plain", charset, data, len, error);

      return text != NULL ? content_new (text) : NULL;
    }
  if (g_ascii_strcasecmp (content_type, "text/html") == 0)
    return decode_html (charset, data, len, error);
  if (g_ascii_strcasecmp (content_type, STOX_MESSAGE_ISCOMPOSING_TYPE) == 0)
    return decode_iscomposing (data, len, error);
  if (g_ascii_strcasecmp (content_type, "message/cpim") == 0)
    {
      /* One level of wrapping is what RFC 3428 §7 peers send; deeper
       * nesting only multiplies work. */
      if (depth > 0)
        {
          g_set_error (error, STOX_MESSAGE_ERROR,
                       STOX_MESSAGE_ERROR_UNSUPPORTED_TYPE,
                       "message/cpim inside message/cpim is not supported");
          return NULL;
        }
      return decode_cpim (data, len, depth, error);
    }

  {
    g_autofree char *shown = printable (content_type);

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
        return content_new (g_strdup (""));
      g_set_error (error, STOX_MESSAGE_ERROR,
                   STOX_MESSAGE_ERROR_UNSUPPORTED_TYPE,
                   "a body without a Content-Type is not supported");
      return NULL;
    }

  return decode_entity (type, charset, data, len, 0, error);
}

/* ------------------------------------------------------------------ */
/* Size of the MESSAGE the SIP front end writes (RFC 3428 §8)          */
/* ------------------------------------------------------------------ */

#define LIT(s) (sizeof (s) - 1)

/* The stack's own choices, at their largest (see message.h). */
#define VIA_SENT_BY_MAX  60
#define FROM_TAG_MAX     32
#define CALL_ID_MAX      48

static gsize
size_add (gsize a,
          gsize b)
{
  return a > G_MAXSIZE - b ? G_MAXSIZE : a + b;
}

static gsize
opt_len (const char *s)
{
  return s != NULL ? strlen (s) : 0;
}

static gsize
decimal_digits (gsize n)
{
  gsize digits = 1;

  while (n >= 10)
    n /= 10, digits++;
  return digits;
}

gsize
stox_message_sip_size (const char *request_uri,
                       const char *from_uri,
                       const char *to_uri,
                       const char *call_id_or_null,
                       const char *content_type,
                       const char *content_language_or_null,
                       const char *subject_or_null,
                       gsize       body_len)
{
  gsize n = 0;

  n = size_add (n, LIT ("MESSAGE ") + opt_len (request_uri)
                   + LIT (" SIP/2.0\r\n"));
  n = size_add (n, LIT ("Via: SIP/2.0/SCTP ") + VIA_SENT_BY_MAX
                   + LIT ("\r\n"));
  n = size_add (n, LIT ("Max-Forwards: 70\r\n"));
  n = size_add (n, LIT ("From: <") + opt_len (from_uri) + LIT (">;tag=")
                   + FROM_TAG_MAX + LIT ("\r\n"));
  n = size_add (n, LIT ("To: <") + opt_len (to_uri) + LIT (">\r\n"));
  n = size_add (n, LIT ("Call-ID: ")
                   + (call_id_or_null != NULL ? strlen (call_id_or_null)
                                              : CALL_ID_MAX)
                   + LIT ("\r\n"));
  n = size_add (n, LIT ("CSeq: 4294967295 MESSAGE\r\n"));
  n = size_add (n, LIT ("Content-Type: ") + opt_len (content_type)
                   + LIT ("\r\n"));
  if (content_language_or_null != NULL)
    n = size_add (n, LIT ("Content-Language: ")
                     + strlen (content_language_or_null) + LIT ("\r\n"));
  if (subject_or_null != NULL)
    n = size_add (n, LIT ("Subject: ") + strlen (subject_or_null)
                     + LIT ("\r\n"));
  n = size_add (n, LIT ("Content-Length: ") + decimal_digits (body_len)
                   + LIT ("\r\n"));
  n = size_add (n, LIT ("User-Agent: " PACKAGE_NAME "/" PACKAGE_VERSION
                        "\r\n"));
  n = size_add (n, LIT ("\r\n"));
  return size_add (n, body_len);
}
