/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XEP-0106 JID escaping of a localpart (docs/mappings.md §6).  Pure.
 */
#include "config.h"

#include "xep0106.h"

#include "address-chars.h"

/* ---- XEP-0106 (docs/mappings.md §6) ---------------------------------- */

/* Does p (at a backslash) start one of the ten sequences of XEP-0106 §3?
 * Lower-case hex only: "CASE IS SIGNIFICANT". */
static gboolean
starts_escape (const char *p)
{
  static const char seqs[][3] = {
    "20", "22", "26", "27", "2f", "3a", "3c", "3e", "40", "5c",
  };

  if (p[0] != '\\' || p[1] == '\0' || p[2] == '\0')
    return FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (seqs); i++)
    if (p[1] == seqs[i][0] && p[2] == seqs[i][1])
      return TRUE;
  return FALSE;
}

/* XEP-0106 §4 "Address Transformation Algorithm" steps 3 and 4.  No check
 * of the leading/trailing space: the callers do that. */
char *
stox_xep0106_escape_unchecked (const char *s)
{
  GString *out = g_string_sized_new (strlen (s) + 8);

  for (const char *p = s; *p != '\0'; p++)
    {
      if (in_set (*p, XEP0106_SPECIALS))
        g_string_append_printf (out, "\\%02x", (guchar) *p);
      else if (starts_escape (p))
        g_string_append (out, "\\5c");
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

char *
stox_xep0106_escape (const char *unescaped)
{
  gsize len;

  if (unescaped == NULL || !g_utf8_validate (unescaped, -1, NULL))
    return NULL;
  /* XEP-0106 §3: "\20" must not be first or last, so a leading or trailing
   * space has no escaped form at all. */
  len = strlen (unescaped);
  if (len > 0 && (unescaped[0] == ' ' || unescaped[len - 1] == ' '))
    return NULL;
  return stox_xep0106_escape_unchecked (unescaped);
}

char *
stox_xep0106_unescape (const char *escaped)
{
  GString *out;

  if (escaped == NULL || !g_utf8_validate (escaped, -1, NULL))
    return NULL;

  out = g_string_sized_new (strlen (escaped));
  for (const char *p = escaped; *p != '\0'; p++)
    {
      /* XEP-0106 §4 rule 3: only the ten sequences; partial or unknown
       * ones ("\4", "\bar", "\41", "\2F") are left alone. */
      if (starts_escape (p))
        {
          g_string_append_c (out, (char) (g_ascii_xdigit_value (p[1]) * 16
                                          + g_ascii_xdigit_value (p[2])));
          p += 2;
        }
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}
