/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Text from peers; see text.h.  Every byte is validated as UTF-8 and as
 * XML character data before it is handed on.
 */
#include "config.h"

#include "text.h"

#include <string.h>

#include "message-content.h"

/* Longest charset name we hand to iconv (RFC 2978 §2.3 allows 40). */
#define CHARSET_NAME_MAX 64

/* ---- XML 1.0 §2.2 Char ------------------------------------------------- */

gboolean
stox_text_is_xml_char (gunichar c)
{
  return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c <= 0xD7FF) ||
         (c >= 0xE000 && c <= 0xFFFD) || (c >= 0x10000 && c <= 0x10FFFF);
}

/* The byte offset of the first character of `text` that is no XML Char,
 * and that character; -1 for none.  Bytes that are not UTF-8 are not this
 * check's to judge (the callers validate first): each is passed over. */
static gssize
find_non_xml_char (const char *text, gsize len, gunichar *ret_char)
{
  const guchar *s = (const guchar *) text;
  gsize i = 0;

  while (i < len)
    {
      gunichar c = s[i];
      gsize n = 1;

      if (c >= 0x80)
        {
          c = g_utf8_get_char_validated (text + i, (gssize) (len - i));
          if (c == (gunichar) -1 || c == (gunichar) -2)
            {
              i++;
              continue;
            }
          n = (gsize) g_utf8_skip[s[i]];
        }
      if (!stox_text_is_xml_char (c))
        {
          *ret_char = c;
          return (gssize) i;
        }
      i += n;
    }
  return -1;
}

gboolean
stox_text_is_xml (const char *text)
{
  gunichar c;

  if (text == NULL)
    return TRUE;
  return g_utf8_validate (text, -1, NULL) && find_non_xml_char (text, strlen (text), &c) < 0;
}

gboolean
stox_text_check_xml (const char *what,
                     const char *text,
                     gsize       len,
                     GError    **error)
{
  gunichar c = 0;
  gssize at = find_non_xml_char (text, len, &c);

  if (at < 0)
    return TRUE;
  if (c == 0)
    g_set_error (error, STOX_MESSAGE_ERROR,
                 STOX_MESSAGE_ERROR_BAD_ENCODING,
                 "%s: NUL character at byte %" G_GSSIZE_FORMAT, what, at);
  else
    g_set_error (error, STOX_MESSAGE_ERROR,
                 STOX_MESSAGE_ERROR_BAD_ENCODING,
                 "%s: character U+%04X at byte %" G_GSSIZE_FORMAT
                 " cannot be carried in XML", what, c, at);
  return FALSE;
}

/* ---- charsets (docs/mappings.md §3.5) ----------------------------------- */

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

char *
stox_text_to_utf8 (const char   *what,
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
       * (U+0000 in the source) stops validation; stox_text_check_xml() below
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
  if (!stox_text_check_xml (what, out, out_len, error))
    return NULL;
  return g_steal_pointer (&out);
}

char *
stox_text_printable (const char *text)
{
  char *out = g_utf8_make_valid (text, (gssize) strnlen (text, 64));

  for (char *p = out; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7F)
      *p = '?';
  return out;
}
