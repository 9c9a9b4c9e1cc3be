/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PRECIS (RFC 8265): the UsernameCaseMapped mapping of a localpart and
 * the OpaqueString preparation of a resourcepart.  Pure: no locale.
 */
#include "config.h"

#include "precis.h"

#include "address-chars.h"

/* ---- PRECIS (RFC 8265) ---------------------------------------------- */

/* RFC 8265 §3.3.2 rule 1: fullwidth and halfwidth characters to their
 * <wide>/<narrow> decomposition.  They are U+3000 and U+FF01–U+FFEE. */
static gunichar
width_map (gunichar c)
{
  gunichar d[G_UNICHAR_MAX_DECOMPOSITION_LENGTH];

  if (c != 0x3000 && (c < 0xFF01 || c > 0xFFEE))
    return c;
  /* g_unichar_fully_decompose () recurses past the <narrow> step for the
   * halfwidth Hangul letters (to conjoining jamo) and for U+FFE3 (to
   * space + macron), so those take the single step by table. */
  if (c == 0xFFE3)
    return 0x00AF;
  if (c == 0xFFA0)
    return 0x3164;
  if (c >= 0xFFA1 && c <= 0xFFBE)
    return c - 0xFFA1 + 0x3131;
  if (c >= 0xFFC2 && c <= 0xFFC7)
    return c - 0xFFC2 + 0x314F;
  if (c >= 0xFFCA && c <= 0xFFCF)
    return c - 0xFFCA + 0x3155;
  if (c >= 0xFFD2 && c <= 0xFFD7)
    return c - 0xFFD2 + 0x315B;
  if (c >= 0xFFDA && c <= 0xFFDC)
    return c - 0xFFDA + 0x3161;
  if (g_unichar_fully_decompose (c, TRUE, d, G_N_ELEMENTS (d)) == 1)
    return d[0];
  return c;
}

static gboolean
is_cased (gunichar c)
{
  return g_unichar_isupper (c) || g_unichar_islower (c)
         || g_unichar_istitle (c);
}

/* Unicode Case_Ignorable (UAX #44): marks, format and modifier characters
 * and the word-internal punctuation of Word_Break MidLetter, MidNumLet and
 * Single_Quote.  Only the final-sigma context below needs it. */
static gboolean
is_case_ignorable (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_NON_SPACING_MARK:
    case G_UNICODE_ENCLOSING_MARK:
    case G_UNICODE_FORMAT:
    case G_UNICODE_MODIFIER_LETTER:
    case G_UNICODE_MODIFIER_SYMBOL:
      return TRUE;
    default:
      break;
    }
  switch (c)
    {
    case 0x0027: case 0x002E: case 0x003A: case 0x00B7: case 0x0387:
    case 0x05F4: case 0x2018: case 0x2019: case 0x2024: case 0x2027:
    case 0xFE13: case 0xFE52: case 0xFE55: case 0xFF07: case 0xFF0E:
    case 0xFF1A:
      return TRUE;
    default:
      return FALSE;
    }
}

/* The Final_Sigma condition of Unicode §3.13: a cased letter before (case
 * ignorables skipped) and none after. */
static gboolean
is_final_sigma (const gunichar *u,
                glong           n,
                glong           i)
{
  glong j = i - 1;

  while (j >= 0 && is_case_ignorable (u[j]))
    j--;
  if (j < 0 || !is_cased (u[j]))
    return FALSE;
  j = i + 1;
  while (j < n && is_case_ignorable (u[j]))
    j++;
  return j >= n || !is_cased (u[j]);
}

/* RFC 8265 §3.3.2–3.3.3 (UsernameCaseMapped) without its checks: width
 * mapping, Unicode toLowerCase (the full, language-insensitive mapping,
 * whose only departures from the simple one are U+0130 and the final
 * sigma), NFC.  s must be valid UTF-8. */
char *
stox_precis_username_case_map (const char *s)
{
  gboolean ascii = TRUE;

  /* For ASCII all three steps reduce to ASCII lower case (no width
   * variant, no special casing, NFC leaves it alone): the common case,
   * without the UCS-4 round trip. */
  for (const char *p = s; *p != '\0' && ascii; p++)
    ascii = (guchar) *p < 0x80;
  if (ascii)
    return g_ascii_strdown (s, -1);

  glong n = 0;
  g_autofree gunichar *u = g_utf8_to_ucs4_fast (s, -1, &n);
  g_autoptr (GString) lower = g_string_sized_new (strlen (s));

  for (glong i = 0; i < n; i++)
    u[i] = width_map (u[i]);
  for (glong i = 0; i < n; i++)
    {
      if (u[i] == 0x0130)
        g_string_append (lower, "i\xcc\x87");
      else if (u[i] == 0x03A3)
        g_string_append_unichar (lower, is_final_sigma (u, n, i)
                                        ? 0x03C2 : 0x03C3);
      else
        g_string_append_unichar (lower, g_unichar_tolower (u[i]));
    }
  return g_utf8_normalize (lower->str, (gssize) lower->len, G_NORMALIZE_NFC);
}

/* Characters no escaping can carry into a localpart (PRECIS
 * IdentifierClass, RFC 8264 §4.2, and Nodeprep alike): controls, format
 * characters (bidi overrides, zero-width space and joiners — the contextual
 * exceptions for joiners are not worth their risk here), private use,
 * unassigned code points and noncharacters (RFC 8264 §9.6, §9.9; U+FFFE
 * and U+FFFF are not even XML characters), line and paragraph separators,
 * and every space but U+0020, which XEP-0106 escapes as \20. */
gboolean
stox_precis_is_unmappable (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_PRIVATE_USE:
    case G_UNICODE_SURROGATE:
    case G_UNICODE_UNASSIGNED:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
      return TRUE;
    case G_UNICODE_SPACE_SEPARATOR:
      return c != ' ';
    default:
      return FALSE;
    }
}

char *
stox_resource_prepare (const char  *res,
                       GError     **error)
{
  g_autoptr (GString) mapped = NULL;
  g_autofree char *nfc = NULL;

  if (res == NULL || *res == '\0')
    {
      set_malformed (error, "empty resource");
      return NULL;
    }
  if (!g_utf8_validate (res, -1, NULL))
    {
      set_malformed (error, "resource is not UTF-8");
      return NULL;
    }

  mapped = g_string_sized_new (strlen (res));
  for (const char *p = res; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c))
        {
          set_malformed (error, "resource holds control character U+%04X",
                         c);
          return NULL;
        }
      /* RFC 8264 §9.6, §9.9: OpaqueString disallows noncharacters and
       * unassigned code points (General_Category Cn holds both); U+FFFE
       * and U+FFFF could not even be written in a stanza. */
      if (g_unichar_type (c) == G_UNICODE_UNASSIGNED)
        {
          set_malformed (error, "resource holds unassigned code point U+%04X",
                         c);
          return NULL;
        }
      if (g_unichar_type (c) == G_UNICODE_SPACE_SEPARATOR)
        c = ' ';
      g_string_append_unichar (mapped, c);
    }

  nfc = g_utf8_normalize (mapped->str, (gssize) mapped->len,
                          G_NORMALIZE_NFC);
  if (nfc == NULL || strlen (nfc) > STOX_JID_PART_MAX)
    {
      set_malformed (error, "resource longer than %d octets",
                     STOX_JID_PART_MAX);
      return NULL;
    }
  return g_steal_pointer (&nfc);
}
