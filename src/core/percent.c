/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Percent-encoding of SIP URI parts (RFC 3986 §2.1, RFC 3261 §25.1).
 * Pure.
 */
#include "config.h"

#include "percent.h"

#include "address-chars.h"

/* ---- Percent-encoding (RFC 3986 §2.1, RFC 3261 §25.1) ---------------- */

/* Decodes the %hh escapes of s[0..len).  A "%" without two hex digits
 * after it, a decoded NUL (a C string cannot carry one) and a result that
 * is not UTF-8 (RFC 7247 §6.4 step 4) fail. */
char *
stox_percent_decode (const char  *s,
                     gsize        len,
                     const char  *what,
                     GError     **error)
{
  g_autoptr (GString) out = g_string_sized_new (len);

  for (gsize i = 0; i < len; i++)
    {
      int hi, lo;

      if (s[i] != '%')
        {
          g_string_append_c (out, s[i]);
          continue;
        }
      if (len - i < 3
          || (hi = g_ascii_xdigit_value (s[i + 1])) < 0
          || (lo = g_ascii_xdigit_value (s[i + 2])) < 0)
        {
          set_malformed (error, "%s: '%%' not followed by two hex digits",
                         what);
          return NULL;
        }
      g_string_append_c (out, (char) (hi * 16 + lo));
      i += 2;
    }

  if (memchr (out->str, '\0', out->len) != NULL)
    {
      set_malformed (error, "%s: holds %%00", what);
      return NULL;
    }
  if (!g_utf8_validate_len (out->str, out->len, NULL))
    {
      set_malformed (error, "%s: not UTF-8 once decoded", what);
      return NULL;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Appends s with every byte that is neither alphanumeric nor in keep as
 * %HH (upper-case hex, RFC 3986 §2.1; every non-ASCII byte is encoded). */
void
stox_percent_append (GString    *out,
                     const char *s,
                     const char *keep)
{
  for (const guchar *p = (const guchar *) s; *p != '\0'; p++)
    {
      if (g_ascii_isalnum (*p) || in_set ((char) *p, keep))
        g_string_append_c (out, (char) *p);
      else
        g_string_append_printf (out, "%%%02X", *p);
    }
}

/* Raw characters allowed in s[0..len): alphanumerics, the given set, "%"
 * (checked by stox_percent_decode()) and, leniently, non-ASCII bytes:
 * RFC 3261 wants them escaped, but UAs that send raw UTF-8 exist and it
 * decodes to the same text (its validity is checked after decoding). */
gboolean
stox_percent_check_raw (const char  *s,
                        gsize        len,
                        const char  *allowed,
                        const char  *what,
                        GError     **error)
{
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) s[i];

      if (g_ascii_isalnum (c) || c == '%' || c >= 0x80
          || in_set ((char) c, allowed))
        continue;
      set_malformed (error, "%s: '%c' must be percent-encoded "
                     "(RFC 3261 §25.1)", what, c);
      return FALSE;
    }
  return TRUE;
}
