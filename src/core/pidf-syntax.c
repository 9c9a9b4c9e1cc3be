/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The text forms of PIDF values that both directions share: tuple id ↔
 * XMPP resource (RFC 8048 §6.2 note 2), qvalue ↔ priority (note 6), the
 * RFC 3339 timestamp, blank text.  Pure: no I/O, no clock.
 */
#include "config.h"

#include "pidf-syntax.h"

#include <string.h>

#include "address.h"

/* Longer than any RFC 3339 date-time with nanoseconds. */
#define TIMESTAMP_MAX 64

/* ---- tuple id ↔ resource (RFC 8048 §6.2 note 2) ----------------------- */

/* xs:ID is an NCName: after the "ID-" prefix, ASCII letters, digits, '-'
 * and '.' are safe everywhere; every other byte, '_' included, is written
 * "_XX".  Reversible, and the same for any resource, so the id of one
 * resource is stable across NOTIFYs. */
void
stox_pidf_append_tuple_id (GString *out, const char *resource)
{
  for (const guchar *p = (const guchar *) resource; p != NULL && *p != '\0'; p++)
    {
      if (g_ascii_isalnum (*p) || *p == '-' || *p == '.')
        g_string_append_c (out, (char) *p);
      else
        g_string_append_printf (out, "_%02X", *p);
    }
}

static gboolean
has_control_chars (const char *s)
{
  for (const guchar *p = (const guchar *) s; *p != '\0'; p++)
    if (*p < 0x20 || *p == 0x7f)
      return TRUE;
  return FALSE;
}

/* The reverse of stox_pidf_append_tuple_id(), or NULL when `s` is not
 * such an escape (then the id is taken as it is). */
static char *
id_unescape (const char *s)
{
  g_autoptr (GString) out = g_string_new (NULL);

  for (const char *p = s; *p != '\0'; p++)
    {
      if (*p != '_')
        {
          g_string_append_c (out, *p);
          continue;
        }
      if (!g_ascii_isxdigit (p[1]) || !g_ascii_isxdigit (p[2]))
        return NULL;
      g_string_append_c (out, (char) (g_ascii_xdigit_value (p[1]) * 16
                                      + g_ascii_xdigit_value (p[2])));
      p += 2;
    }
  if (out->len == 0 || strlen (out->str) != out->len
      || !g_utf8_validate (out->str, (gssize) out->len, NULL)
      || has_control_chars (out->str))
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
resource_ok (const char *text)
{
  g_autofree char *prepared = stox_resource_prepare (text, NULL);

  return prepared != NULL;
}

char *
stox_pidf_tuple_resource (const char *id)
{
  const char *rest;
  char *decoded;

  if (!g_str_has_prefix (id, ID_PREFIX))
    return g_strdup (id);
  rest = id + strlen (ID_PREFIX);
  if (*rest == '\0')
    return NULL;
  decoded = id_unescape (rest);
  /* Text no resource can hold (RFC 8264 §9.6, §9.9: a noncharacter such
   * as U+FFFE, an unassigned code point) keeps its escaped form, as a
   * control character does in id_unescape(). */
  if (decoded != NULL && !resource_ok (decoded))
    g_clear_pointer (&decoded, g_free);
  return decoded != NULL ? decoded : g_strdup (rest);
}

/* ---- blank text, qvalue, timestamp ---------------------------------- */

gboolean
stox_pidf_is_blank (const char *s)
{
  for (; *s != '\0'; s++)
    if (!g_ascii_isspace (*s))
      return FALSE;
  return TRUE;
}

/* RFC 8048 §6.2 note 6: 0..127 → 0..1 with at most three decimals, cut
 * (not rounded), as the RFC's examples (1 → 0.007, 126 → 0.992). */
void
stox_pidf_append_qvalue (GString *out, int priority)
{
  guint milli = (guint) CLAMP (priority, 0, 127) * 1000 / 127;

  if (milli == 1000)
    g_string_append (out, "1");
  else if (milli == 0)
    g_string_append (out, "0");
  else
    {
      char digits[8];

      g_snprintf (digits, sizeof digits, "%03u", milli);
      /* Trailing zeros say nothing: 0.5 rather than 0.500. */
      for (int i = 2; i > 0 && digits[i] == '0'; i--)
        digits[i] = '\0';
      g_string_append_printf (out, "0.%s", digits);
    }
}

static int
digits (const char *s, int n)
{
  int v = 0;

  for (int i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit (s[i]))
        return -1;
      v = v * 10 + (s[i] - '0');
    }
  return v;
}

/* RFC 3339 §5.6 date-time, with its time zone (XEP-0082 needs one). */
gboolean
stox_pidf_is_timestamp (const char *s)
{
  gsize n = strlen (s);
  const char *p;
  int v;

  if (n < 20 || n > TIMESTAMP_MAX)
    return FALSE;
  if (digits (s, 4) < 0 || s[4] != '-' || s[7] != '-' || s[10] != 'T'
      || s[13] != ':' || s[16] != ':')
    return FALSE;
  if ((v = digits (s + 5, 2)) < 1 || v > 12)
    return FALSE;
  if ((v = digits (s + 8, 2)) < 1 || v > 31)
    return FALSE;
  if ((v = digits (s + 11, 2)) < 0 || v > 23)
    return FALSE;
  if ((v = digits (s + 14, 2)) < 0 || v > 59)
    return FALSE;
  if ((v = digits (s + 17, 2)) < 0 || v > 60)
    return FALSE;
  p = s + 19;
  if (*p == '.')
    {
      p++;
      if (!g_ascii_isdigit (*p))
        return FALSE;
      while (g_ascii_isdigit (*p))
        p++;
    }
  if (strcmp (p, "Z") == 0)
    return TRUE;
  if ((*p != '+' && *p != '-') || strlen (p) != 6 || p[3] != ':')
    return FALSE;
  if ((v = digits (p + 1, 2)) < 0 || v > 23)
    return FALSE;
  return (v = digits (p + 4, 2)) >= 0 && v <= 59;
}

/* RFC 3863 qvalue ("0", "0.5", "1.000"; the schema's two patterns) →
 * XMPP priority 0..127, the reverse of RFC 8048 §6.2 note 6, rounded so
 * that stox's own cut values come back exactly.  FALSE: out of range or
 * not a qvalue, which RFC 3863 says to ignore. */
gboolean
stox_pidf_parse_qvalue (const char *s, int *ret_priority)
{
  guint milli = 0;
  const char *p = s + 1;

  if (s[0] != '0' && s[0] != '1')
    return FALSE;
  if (*p == '.')
    {
      guint scale = 100;

      for (p++; *p != '\0'; p++, scale /= 10)
        {
          if (scale == 0 || !g_ascii_isdigit (*p) || (s[0] == '1' && *p != '0'))
            return FALSE;
          milli += (guint) (*p - '0') * scale;
        }
    }
  else if (*p != '\0')
    return FALSE;
  if (s[0] == '1')
    milli = 1000;
  *ret_priority = (int) ((milli * 127 + 500) / 1000);
  return TRUE;
}

