/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Address mapping between SIP URIs and JIDs: RFC 7247 §6 (docs/mappings.md
 * §1.2–1.6) with XEP-0106 escaping (docs/mappings.md §6).  Pure: GLib only,
 * no I/O, no globals, no locale.
 *
 * Policy where the standards leave a choice (docs/mappings.md §1.6):
 *
 * - SIP → XMPP applies PRECIS UsernameCaseMapped (RFC 8265 §3.3: width
 *   mapping, toLowerCase, NFC) to the decoded user part *before* XEP-0106
 *   escaping.  Lower-casing after escaping would turn a literal "\2F" into
 *   the escape "\2f" ('/').  So "Alice" and "alice" reach the same JID; the
 *   case cannot be restored on the way back.  The case mapping is our own:
 *   g_utf8_strdown () follows setlocale () (a Turkish locale maps "I" to
 *   dotless "ı"), and the core must not depend on process-wide state.
 * - XMPP → SIP applies the same case mapping to the unescaped localpart
 *   before percent-encoding it: a JID localpart is case-insensitive (RFC
 *   7622 §3.3.1), and not every server maps it before delivery (ejabberd
 *   passes "ALICE@sip.example" on as written), while SIP compares user
 *   parts case-sensitively (RFC 3261 §19.1.4).  The SIP user of a JID is
 *   therefore always the one SIP → XMPP maps to that JID.
 * - The backslash follows XEP-0106 §4 (business rule 7 and "Exceptions"):
 *   "\" becomes "\5c" only in front of one of the ten escape sequences, so
 *   "foo\bar" stays as it is.  The XEP's JID example table (#9–#11) escapes
 *   every backslash, which contradicts its own Exceptions section; both
 *   forms unescape to the same text.
 * - A "%" not followed by two hex digits is MALFORMED, including the "%zy"
 *   of the XEP-0106 §5 SIP example.  RFC 3261 §25.1 allows "%" in a user
 *   part only as `escaped = "%" HEXDIG HEXDIG` (docs/mappings.md §1.2), the
 *   XEP example is informative (copied from its e-mail example, where "%" is
 *   a legal atext character), and passing "%zy" through would make the
 *   mapping irreversible: the way back must send "cr%25zy".
 * - XMPP → SIP percent-encodes exactly what RFC 3261 §25.1 does not allow
 *   in a user part; "&", "'" and "/" stay literal as in RFC 7247 §6.5's
 *   "sip:m&m@xmpp.example" (the XEP example encodes them).
 */
#include "config.h"

#include "core/address.h"

#include <string.h>

/* clang-format off */
G_DEFINE_QUARK (stox-address-error-quark, stox_address_error)
/* clang-format on */

/* RFC 3261 §25.1: mark (part of unreserved) and user-unreserved.  A user
 * part is 1*( alphanum / mark / user-unreserved / escaped ). */
#define SIP_MARK            "-_.!~*'()"
#define SIP_USER_UNRESERVED "&=+$,;?/"
/* paramchar = param-unreserved / unreserved / escaped, param-unreserved
 * being "[ ] / : & + $".  We still encode "[" and "]" when we write a
 * parameter: they are legal, but read as an IPv6 reference by naive
 * parsers, and an escaped character is always legal. */
#define SIP_PARAM_ACCEPT    SIP_MARK "[]/:&+$"
#define SIP_PARAM_KEEP      SIP_MARK "/:&+$"

/* The nine characters a localpart may not hold, which XEP-0106 §3 escapes
 * (RFC 7622 §3.3.1, plus the space of the PRECIS IdentifierClass). */
static const char xep0106_specials[] = " \"&'/:<>@";

#define set_malformed(error, ...) \
  g_set_error (error, STOX_ADDRESS_ERROR, STOX_ADDRESS_ERROR_MALFORMED, \
               __VA_ARGS__)

/* TRUE if c is one of the characters of set; the terminating NUL of set
 * never matches. */
static gboolean
in_set (char        c,
        const char *set)
{
  return c != '\0' && strchr (set, c) != NULL;
}

static gboolean
has_control (const char *s)
{
  for (const char *p = s; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return TRUE;
  return FALSE;
}

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
static char *
xep0106_escape_unchecked (const char *s)
{
  GString *out = g_string_sized_new (strlen (s) + 8);

  for (const char *p = s; *p != '\0'; p++)
    {
      if (in_set (*p, xep0106_specials))
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
  return xep0106_escape_unchecked (unescaped);
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

/* ---- Percent-encoding (RFC 3986 §2.1, RFC 3261 §25.1) ---------------- */

/* Decodes the %hh escapes of s[0..len).  A "%" without two hex digits
 * after it, a decoded NUL (a C string cannot carry one) and a result that
 * is not UTF-8 (RFC 7247 §6.4 step 4) fail. */
static char *
percent_decode (const char  *s,
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
static void
append_percent_encoded (GString    *out,
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
 * (checked by percent_decode) and, leniently, non-ASCII bytes: RFC 3261
 * wants them escaped, but UAs that send raw UTF-8 exist and it decodes to
 * the same text (its validity is checked after decoding). */
static gboolean
check_raw_chars (const char  *s,
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
static char *
username_case_map (const char *s)
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
static gboolean
is_unmappable (gunichar c)
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

/* ---- SIP URIs (RFC 3261 §19.1, §25.1) -------------------------------- */

void
stox_sip_uri_free (StoxSipUri *uri)
{
  if (uri == NULL)
    return;
  g_free (uri->user);
  g_free (uri->host);
  g_free (uri->gr);
  g_free (uri);
}

/* IPv6reference without its brackets, already lower-cased. */
static gboolean
is_ipv6_literal (const char *s)
{
  if (*s == '\0' || strchr (s, ':') == NULL)
    return FALSE;
  for (const char *p = s; *p != '\0'; p++)
    if (!g_ascii_isxdigit (*p) && *p != ':' && *p != '.')
      return FALSE;
  return g_hostname_is_ip_address (s);
}

/* hostname = *( domainlabel "." ) toplabel [ "." ] (RFC 3261 §25.1); an
 * IPv4address fits the same shape.  Labels of 1–63 alphanumerics and
 * inner hyphens, at most 253 octets without the final dot. */
static gboolean
is_hostname (const char *s,
             gsize       len)
{
  gsize label = 0;

  if (len > 0 && s[len - 1] == '.')
    len--;
  if (len == 0 || len > 253)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (s[i] == '.')
        {
          if (label == 0 || s[i - 1] == '-')
            return FALSE;
          label = 0;
        }
      else if (g_ascii_isalnum (s[i]) || (s[i] == '-' && label > 0))
        {
          if (++label > 63)
            return FALSE;
        }
      else
        return FALSE;
    }
  return s[len - 1] != '-';
}

StoxSipUri *
stox_sip_uri_parse (const char  *text,
                    GError     **error)
{
  g_autoptr (StoxSipUri) uri = NULL;
  const char *colon, *at, *p;
  gsize scheme_len;
  gboolean seen_gr = FALSE;

  if (text == NULL || *text == '\0')
    {
      set_malformed (error, "empty URI");
      return NULL;
    }
  /* RFC 3986 §2: a URI never holds a space or a control character; one
   * that does was cut out of its header wrongly. */
  for (p = text; *p != '\0'; p++)
    if ((guchar) *p <= 0x20 || *p == 0x7f)
      {
        set_malformed (error, "URI holds a space or control character");
        return NULL;
      }

  /* scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1),
   * compared case-insensitively. */
  colon = strchr (text, ':');
  if (colon == NULL || !g_ascii_isalpha (text[0]))
    {
      set_malformed (error, "not a URI: no scheme");
      return NULL;
    }
  for (p = text; p < colon; p++)
    if (!g_ascii_isalnum (*p) && !in_set (*p, "+-."))
      {
        set_malformed (error, "not a URI: bad scheme");
        return NULL;
      }
  scheme_len = (gsize) (colon - text);

  uri = g_new0 (StoxSipUri, 1);
  if (scheme_len == 3 && g_ascii_strncasecmp (text, "sip", 3) == 0)
    uri->sips = FALSE;
  else if (scheme_len == 4 && g_ascii_strncasecmp (text, "sips", 4) == 0)
    uri->sips = TRUE;
  else
    {
      g_set_error (error, STOX_ADDRESS_ERROR, STOX_ADDRESS_ERROR_SCHEME,
                   "URI scheme '%.*s' is neither sip: nor sips:",
                   (int) MIN (scheme_len, 32), text);
      return NULL;
    }

  /* docs/mappings.md §1.3 step 2: the first "@" ends the userinfo; RFC
   * 3261 §25.1 allows no literal "@" in a host, parameter or header. */
  p = colon + 1;
  at = strchr (p, '@');
  if (at != NULL)
    {
      /* userinfo = user [ ":" password ] "@": the password (RFC 3261
       * §19.1.1, NOT RECOMMENDED) plays no part in the mapping. */
      const char *user_end = memchr (p, ':', (gsize) (at - p));
      gsize user_len;

      if (user_end == NULL)
        user_end = at;
      user_len = (gsize) (user_end - p);
      if (!check_raw_chars (p, user_len, SIP_MARK SIP_USER_UNRESERVED,
                            "SIP user part", error))
        return NULL;
      uri->user = percent_decode (p, user_len, "SIP user part", error);
      if (uri->user == NULL)
        return NULL;
      /* No user part stands for a control character (log and header
       * injection); refused here already, not only when mapping. */
      if (has_control (uri->user))
        {
          set_malformed (error, "SIP user part holds a control character");
          return NULL;
        }
      p = at + 1;
    }
  else
    {
      /* No user part at all: parsed, refused when mapped (docs/mappings.md §1
       * lists the empty user part as 400). */
      uri->user = g_strdup ("");
    }

  if (*p == '[')
    {
      const char *close = strchr (p, ']');
      g_autofree char *addr = NULL;

      if (close == NULL)
        {
          set_malformed (error, "unterminated IPv6 reference");
          return NULL;
        }
      addr = g_ascii_strdown (p + 1, close - p - 1);
      if (!is_ipv6_literal (addr))
        {
          set_malformed (error, "bad IPv6 reference");
          return NULL;
        }
      uri->host = g_strdup_printf ("[%s]", addr);
      p = close + 1;
    }
  else
    {
      gsize host_len = strcspn (p, ":;?");

      if (host_len == 0)
        {
          set_malformed (error, "URI has no host");
          return NULL;
        }
      if (!is_hostname (p, host_len))
        {
          set_malformed (error, "bad host name");
          return NULL;
        }
      uri->host = g_ascii_strdown (p, (gssize) host_len);
      p += host_len;
    }

  if (*p == ':')
    {
      guint32 port = 0;
      gsize digits = 0;

      /* Digits are counted past 65535 without growing the value, so a
       * long run cannot overflow. */
      for (p++; g_ascii_isdigit (*p); p++, digits++)
        if (port <= G_MAXUINT16)
          port = port * 10 + (guint32) (*p - '0');
      if (digits == 0 || port == 0 || port > G_MAXUINT16)
        {
          set_malformed (error, "bad port");
          return NULL;
        }
      uri->port = (guint16) port;
    }
  if (*p != '\0' && *p != ';' && *p != '?')
    {
      set_malformed (error, "junk after host");
      return NULL;
    }

  /* uri-parameters: only gr (RFC 5627, docs/mappings.md §1.5) matters;
   * transport, lr, user, maddr, … are for routing, not for naming. */
  while (*p == ';')
    {
      const char *name = p + 1;
      const char *end = name + strcspn (name, ";?");
      const char *eq = memchr (name, '=', (gsize) (end - name));
      const char *name_end = eq != NULL ? eq : end;

      if (name_end - name == 2 && g_ascii_strncasecmp (name, "gr", 2) == 0)
        {
          /* Two gr values would name two instances: ambiguous. */
          if (seen_gr)
            {
              set_malformed (error, "more than one gr parameter");
              return NULL;
            }
          seen_gr = TRUE;
          /* A valueless ";gr" names no instance (RFC 5627 uses it as a
           * flag); an empty value would be an empty resourcepart. */
          if (eq != NULL)
            {
              gsize len = (gsize) (end - eq - 1);

              if (len == 0)
                {
                  set_malformed (error, "empty gr parameter");
                  return NULL;
                }
              if (!check_raw_chars (eq + 1, len, SIP_PARAM_ACCEPT,
                                    "gr parameter", error))
                return NULL;
              uri->gr = percent_decode (eq + 1, len, "gr parameter", error);
              if (uri->gr == NULL)
                return NULL;
              if (has_control (uri->gr))
                {
                  set_malformed (error,
                                 "gr parameter holds a control character");
                  return NULL;
                }
            }
        }
      p = end;
    }
  /* What is left, if anything, starts with "?": headers (RFC 3261
   * §19.1.1), which no mapping uses. */

  return g_steal_pointer (&uri);
}

/* ---- JIDs (RFC 7622 §3) --------------------------------------------- */

void
stox_jid_free (StoxJid *jid)
{
  if (jid == NULL)
    return;
  g_free (jid->local);
  g_free (jid->domain);
  g_free (jid->resource);
  g_free (jid);
}

StoxJid *
stox_jid_parse (const char  *text,
                GError     **error)
{
  g_autoptr (StoxJid) jid = NULL;
  const char *slash, *at, *domain;
  gsize bare_len, domain_len;

  if (text == NULL || *text == '\0')
    {
      set_malformed (error, "empty JID");
      return NULL;
    }
  if (!g_utf8_validate (text, -1, NULL))
    {
      set_malformed (error, "JID is not UTF-8");
      return NULL;
    }
  if (has_control (text))
    {
      set_malformed (error, "JID holds a control character");
      return NULL;
    }

  /* RFC 7622 §3.1: the resourcepart runs from the first "/" (and may hold
   * "@" and "/"); the localpart ends at the first "@" before it. */
  slash = strchr (text, '/');
  bare_len = slash != NULL ? (gsize) (slash - text) : strlen (text);
  at = memchr (text, '@', bare_len);
  domain = at != NULL ? at + 1 : text;
  domain_len = bare_len - (gsize) (domain - text);

  jid = g_new0 (StoxJid, 1);
  if (at != NULL)
    {
      gsize local_len = (gsize) (at - text);

      if (local_len == 0 || local_len > STOX_JID_PART_MAX)
        {
          set_malformed (error, "localpart empty or longer than %d octets",
                         STOX_JID_PART_MAX);
          return NULL;
        }
      for (gsize i = 0; i < local_len; i++)
        if (in_set (text[i], xep0106_specials))
          {
            set_malformed (error, "localpart holds '%c' unescaped "
                           "(RFC 7622 §3.3.1)", text[i]);
            return NULL;
          }
      jid->local = g_strndup (text, local_len);
    }

  if (domain_len == 0 || domain_len > STOX_JID_PART_MAX)
    {
      set_malformed (error, "domainpart empty or longer than %d octets",
                     STOX_JID_PART_MAX);
      return NULL;
    }
  for (gsize i = 0; i < domain_len; i++)
    if (domain[i] == '@' || domain[i] == ' ')
      {
        set_malformed (error, "domainpart holds '%c'", domain[i]);
        return NULL;
      }
  jid->domain = g_strndup (domain, domain_len);

  if (slash != NULL)
    {
      gsize res_len = strlen (slash + 1);

      if (res_len == 0 || res_len > STOX_JID_PART_MAX)
        {
          set_malformed (error, "resourcepart empty or longer than %d "
                         "octets", STOX_JID_PART_MAX);
          return NULL;
        }
      jid->resource = g_strdup (slash + 1);
    }

  return g_steal_pointer (&jid);
}

/* ---- The mappings (RFC 7247 §6.4, §6.5) ------------------------------ */

char *
stox_address_user_to_jid_local (const char  *user,
                                GError     **error)
{
  g_autofree char *mapped = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *renormalised = NULL;
  gsize len;

  if (user == NULL || *user == '\0')
    {
      set_malformed (error, "empty SIP user part");
      return NULL;
    }
  if (!g_utf8_validate (user, -1, NULL))
    {
      set_malformed (error, "SIP user part is not UTF-8");
      return NULL;
    }

  /* §6.4 step 6 (PRECIS), before step 5 (escaping): see the top of this
   * file for why the order matters. */
  mapped = username_case_map (user);
  if (mapped == NULL)
    {
      set_malformed (error, "SIP user part cannot be normalised");
      return NULL;
    }
  for (const char *p = mapped; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (is_unmappable (c))
        {
          set_malformed (error, "SIP user part holds U+%04X, which no JID "
                         "localpart can carry", c);
          return NULL;
        }
    }
  len = strlen (mapped);
  if (mapped[0] == ' ' || mapped[len - 1] == ' ')
    {
      set_malformed (error, "SIP user part starts or ends with a space "
                     "(XEP-0106: no \\20 first or last)");
      return NULL;
    }

  /* §6.4 step 5 with the whole XEP-0106 set (docs/mappings.md §1.3 note). */
  escaped = xep0106_escape_unchecked (mapped);

  /* A combining mark after an escaped character would compose with the
   * escape's last hex digit ("<" U+0301 → "\3c" U+0301 → "\3ć") once the
   * XMPP server applies NFC, and the escape would be lost.  Only a string
   * that NFC leaves alone is safe to hand over. */
  renormalised = g_utf8_normalize (escaped, -1, G_NORMALIZE_NFC);
  if (g_strcmp0 (renormalised, escaped) != 0)
    {
      set_malformed (error, "SIP user part has a combining mark after a "
                     "character that must be escaped");
      return NULL;
    }
  if (strlen (escaped) > STOX_JID_PART_MAX)
    {
      set_malformed (error, "JID localpart would exceed %d octets",
                     STOX_JID_PART_MAX);
      return NULL;
    }
  return g_steal_pointer (&escaped);
}

char *
stox_address_jid_local_to_user (const char  *local,
                                GError     **error)
{
  g_autofree char *as_written = NULL;
  g_autofree char *unescaped = NULL;
  GString *out;
  gsize len;

  if (local == NULL || *local == '\0')
    {
      set_malformed (error, "empty JID localpart");
      return NULL;
    }
  if (strlen (local) > STOX_JID_PART_MAX)
    {
      set_malformed (error, "JID localpart longer than %d octets",
                     STOX_JID_PART_MAX);
      return NULL;
    }
  if (!g_utf8_validate (local, -1, NULL))
    {
      set_malformed (error, "JID localpart is not UTF-8");
      return NULL;
    }
  if (has_control (local))
    {
      set_malformed (error, "JID localpart holds a control character");
      return NULL;
    }
  /* The localpart must be in escaped form (XEP-0106 §4 rule 4). */
  for (const char *p = local; *p != '\0'; p++)
    if (in_set (*p, xep0106_specials))
      {
        set_malformed (error, "JID localpart holds '%c' unescaped "
                       "(RFC 7622 §3.3.1)", *p);
        return NULL;
      }

  /* §6.5 step 3, for the whole XEP-0106 set, then the case mapping of
   * §6.4 step 6 (see the top of this file): "ALICE" is "alice". */
  as_written = stox_xep0106_unescape (local);
  unescaped = username_case_map (as_written);
  if (unescaped == NULL)
    {
      set_malformed (error, "JID localpart cannot be normalised");
      return NULL;
    }
  len = strlen (unescaped);
  if (unescaped[0] == ' ' || unescaped[len - 1] == ' ')
    {
      set_malformed (error, "JID localpart starts or ends with \\20 "
                     "(XEP-0106 §3)");
      return NULL;
    }

  /* §6.5 step 5 for sip:, widened to everything RFC 3261 §25.1 does not
   * allow in a user part (space, '"', '<', '>', '@', ':' as well). */
  out = g_string_sized_new (len * 3);
  append_percent_encoded (out, unescaped, SIP_MARK SIP_USER_UNRESERVED);
  return g_string_free (out, FALSE);
}

char *
stox_address_jid_local_fold (const char  *local,
                             GError     **error)
{
  g_autofree char *user = NULL;
  g_autofree char *as_written = NULL;
  gboolean plain = local != NULL && *local != '\0' && strlen (local) <= STOX_JID_PART_MAX;

  /* Printable ASCII with nothing to unescape or refuse (the usual
   * localpart): folding is lowering it, without the round trip below. */
  for (const char *p = local; plain && *p != '\0'; p++)
    plain = *p > ' ' && *p < 0x7f && *p != '\\' && !in_set (*p, xep0106_specials);
  if (plain)
    return g_ascii_strdown (local, -1);

  /* Checked and mapped as the way to SIP does it, so the two agree. */
  user = stox_address_jid_local_to_user (local, error);
  if (user == NULL)
    return NULL;
  as_written = stox_xep0106_unescape (local);
  return stox_address_user_to_jid_local (as_written, error);
}

char *
stox_address_sip_to_jid (const StoxSipUri  *uri,
                         const char        *jid_domain,
                         GError           **error)
{
  g_autofree char *local = NULL;
  g_autofree char *resource = NULL;

  if (uri == NULL)
    {
      set_malformed (error, "no SIP URI");
      return NULL;
    }
  /* RFC 7247 §8: a sips: target MUST NOT be translated into XMPP. */
  if (uri->sips)
    {
      g_set_error_literal (error, STOX_ADDRESS_ERROR,
                           STOX_ADDRESS_ERROR_SIPS,
                           "sips: URIs are not translated (RFC 7247 §8)");
      return NULL;
    }
  if (jid_domain == NULL || *jid_domain == '\0'
      || strlen (jid_domain) > STOX_JID_PART_MAX)
    {
      set_malformed (error, "JID domain empty or too long");
      return NULL;
    }

  local = stox_address_user_to_jid_local (uri->user, error);
  if (local == NULL)
    return NULL;
  /* §6.4 step 8 (docs/mappings.md §1.5): ;gr= becomes the resource. */
  if (uri->gr != NULL)
    {
      resource = stox_resource_prepare (uri->gr, error);
      if (resource == NULL)
        return NULL;
    }

  return g_strconcat (local, "@", jid_domain,
                      resource != NULL ? "/" : NULL, resource, NULL);
}

char *
stox_address_jid_to_sip (const StoxJid  *jid,
                         const char     *sip_domain,
                         GError        **error)
{
  g_autofree char *user = NULL;
  GString *out;

  if (jid == NULL)
    {
      set_malformed (error, "no JID");
      return NULL;
    }
  if (sip_domain == NULL || *sip_domain == '\0')
    {
      set_malformed (error, "empty SIP domain");
      return NULL;
    }
  /* docs/mappings.md §1: a bare domain JID has an empty user part. */
  if (jid->local == NULL || *jid->local == '\0')
    {
      set_malformed (error, "JID has no localpart to address a SIP user");
      return NULL;
    }

  user = stox_address_jid_local_to_user (jid->local, error);
  if (user == NULL)
    return NULL;
  if (jid->resource != NULL
      && (*jid->resource == '\0'
          || strlen (jid->resource) > STOX_JID_PART_MAX
          || !g_utf8_validate (jid->resource, -1, NULL)
          || has_control (jid->resource)))
    {
      set_malformed (error, "resourcepart cannot become a gr parameter");
      return NULL;
    }

  /* §6.5 steps 6–8: sip: by policy, the resource as ;gr= (docs/mappings.md
   * §1.5), percent-encoded so any paramchar-unsafe byte survives. */
  out = g_string_new ("sip:");
  g_string_append_printf (out, "%s@%s", user, sip_domain);
  if (jid->resource != NULL)
    {
      g_string_append (out, ";gr=");
      append_percent_encoded (out, jid->resource, SIP_PARAM_KEEP);
    }
  return g_string_free (out, FALSE);
}
