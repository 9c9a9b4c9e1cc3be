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

#include "address-chars.h"
#include "percent.h"
#include "precis.h"
#include "xep0106.h"

/* clang-format off */
G_DEFINE_QUARK (stox-address-error-quark, stox_address_error)
/* clang-format on */

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
  mapped = stox_precis_username_case_map (user);
  if (mapped == NULL)
    {
      set_malformed (error, "SIP user part cannot be normalised");
      return NULL;
    }
  for (const char *p = mapped; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (stox_precis_is_unmappable (c))
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
  escaped = stox_xep0106_escape_unchecked (mapped);

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
    if (in_set (*p, XEP0106_SPECIALS))
      {
        set_malformed (error, "JID localpart holds '%c' unescaped "
                       "(RFC 7622 §3.3.1)", *p);
        return NULL;
      }

  /* §6.5 step 3, for the whole XEP-0106 set, then the case mapping of
   * §6.4 step 6 (see the top of this file): "ALICE" is "alice". */
  as_written = stox_xep0106_unescape (local);
  unescaped = stox_precis_username_case_map (as_written);
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
  stox_percent_append (out, unescaped, SIP_MARK SIP_USER_UNRESERVED);
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
    plain = *p > ' ' && *p < 0x7f && *p != '\\' && !in_set (*p, XEP0106_SPECIALS);
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
  g_string_append (out, user);
  g_string_append_c (out, '@');
  g_string_append (out, sip_domain);
  if (jid->resource != NULL)
    {
      g_string_append (out, ";gr=");
      stox_percent_append (out, jid->resource, SIP_PARAM_KEEP);
    }
  return g_string_free (out, FALSE);
}
