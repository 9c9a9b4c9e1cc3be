/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * message/cpim; see cpim.h.  Every header comes from a peer: their number
 * is bounded, and the Subject is validated as XML character data.
 */
#include "config.h"

#include "cpim.h"

#include <string.h>

#include "message-content.h"
#include "text.h"

/* A peer cannot make us allocate per header without bound. */
#define CPIM_MAX_HEADERS 256

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
 * RFC 5646 shape: it becomes xml:lang (docs/mappings.md §3.2, §3.5).  NULL
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
              g_autofree char *shown = stox_text_printable (name);

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
  if (!stox_text_check_xml ("message/cpim Subject", subject, strlen (subject),
                            error))
    return FALSE;
  *ret_subject = g_steal_pointer (&subject);
  return TRUE;
}

void
stox_cpim_message_clear (StoxCpimMessage *message)
{
  g_clear_pointer (&message->content_type, g_free);
  g_clear_pointer (&message->charset, g_free);
  g_clear_pointer (&message->lang, g_free);
  g_clear_pointer (&message->subject, g_free);
  message->body = NULL;
  message->body_len = 0;
}

gboolean
stox_cpim_unwrap (const guint8    *data,
                  gsize            len,
                  StoxCpimMessage *ret_message,
                  GError         **error)
{
  const char *pos = (const char *) data;
  const char *end = pos + len;
  g_autoptr(GPtrArray) cpim = NULL;
  g_autoptr(GPtrArray) mime = NULL;
  g_autofree char *type = NULL;
  g_autofree char *charset = NULL;
  g_autofree char *lang = NULL;
  g_autofree char *subject = NULL;
  const Header *h;

  if (len == 0)
    {
      g_set_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED,
                   "message/cpim: empty body");
      return FALSE;
    }

  cpim = parse_header_block (&pos, end, "CPIM message", error);
  if (cpim == NULL)
    return FALSE;

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
            return FALSE;
        }
    }

  if (!cpim_check_require (cpim, error))
    return FALSE;

  mime = parse_header_block (&pos, end, "content", error);
  if (mime == NULL)
    return FALSE;

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
          return FALSE;
        }
    }

  h = find_header (mime, "Content-Type");
  if (h == NULL)
    /* RFC 2045 §5.2 default, except that the charset stays UTF-8 like
     * every unlabelled body here (docs/mappings.md §3.5). */
    type = g_strdup ("text/plain");
  else if (!parse_content_type (h->raw->str, &type, &charset, error))
    return FALSE;

  h = find_header (mime, "Content-Language");
  if (h != NULL)
    {
      g_autoptr(GError) lang_error = NULL;

      lang = parse_language (h->raw->str, &lang_error);
      if (lang_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&lang_error));
          return FALSE;
        }
    }

  if (!cpim_pick_subject (cpim, lang, &subject, error))
    return FALSE;

  ret_message->content_type = g_steal_pointer (&type);
  ret_message->charset = g_steal_pointer (&charset);
  ret_message->lang = g_steal_pointer (&lang);
  ret_message->subject = g_steal_pointer (&subject);
  ret_message->body = (const guint8 *) pos;
  ret_message->body_len = (gsize) (end - pos);
  return TRUE;
}
