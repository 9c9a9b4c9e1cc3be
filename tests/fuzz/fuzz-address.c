/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Addresses both ways (RFC 7247 §6 with XEP-0106, address.h).  The input,
 * cut at its first NUL, is tried as a SIP URI, as a JID, as a SIP user
 * part, as an XEP-0106 string and as a resourcepart.
 *
 * Promises checked: what the gateway maps it also takes back — a JID made
 * from a SIP URI parses as a JID, maps to a SIP URI that parses, and that
 * URI maps to the same JID (RFC 7247 §6.4/§6.5: the mapping is stable);
 * a SIP URI made from a JID parses; XEP-0106 unescape undoes escape;
 * a prepared resource is prepared already.
 */
#include "config.h"

#include <string.h>

#include "core/address.h"
#include "core/text.h"
#include "fuzz/fuzz.h"

#define JID_DOMAIN "gw.test"
#define SIP_DOMAIN "sip.test"

static void
sip_side (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxSipUri) uri = stox_sip_uri_parse (text, &error);

  if (uri == NULL)
    {
      stox_fuzz_check (error != NULL && error->domain == STOX_ADDRESS_ERROR,
                       "NULL without a STOX_ADDRESS_ERROR");
      return;
    }
  stox_fuzz_check (uri->user != NULL && g_utf8_validate (uri->user, -1, NULL),
                   "decoded user part is not UTF-8");
  stox_fuzz_check (uri->host != NULL && uri->host[0] != '\0', "a URI without host");
  stox_fuzz_check (uri->gr == NULL || g_utf8_validate (uri->gr, -1, NULL), "gr is not UTF-8");

  g_autofree char *jid_text = stox_address_sip_to_jid (uri, JID_DOMAIN, &error);
  if (jid_text == NULL)
    {
      stox_fuzz_check (error != NULL && error->domain == STOX_ADDRESS_ERROR,
                       "NULL without a STOX_ADDRESS_ERROR");
      return;
    }
  stox_fuzz_check (stox_text_is_xml (jid_text), "JID %s is not XML text", jid_text);

  g_autoptr (StoxJid) jid = stox_jid_parse (jid_text, &error);
  stox_fuzz_check (jid != NULL, "the gateway's JID %s does not parse: %s", jid_text,
                   error != NULL ? error->message : "?");
  stox_fuzz_check (g_strcmp0 (jid->domain, JID_DOMAIN) == 0, "JID %s in another domain", jid_text);

  g_autofree char *sip_text = stox_address_jid_to_sip (jid, SIP_DOMAIN, &error);
  stox_fuzz_check (sip_text != NULL, "the gateway's JID %s maps to no SIP URI: %s", jid_text,
                   error != NULL ? error->message : "?");

  g_autoptr (StoxSipUri) uri2 = stox_sip_uri_parse (sip_text, &error);
  stox_fuzz_check (uri2 != NULL, "the gateway's SIP URI %s does not parse: %s", sip_text,
                   error != NULL ? error->message : "?");

  g_autofree char *jid_again = stox_address_sip_to_jid (uri2, JID_DOMAIN, &error);
  stox_fuzz_check (g_strcmp0 (jid_again, jid_text) == 0,
                   "%s -> %s -> %s -> %s: not stable", text, jid_text, sip_text,
                   jid_again != NULL ? jid_again : error->message);
}

static void
jid_side (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxJid) jid = stox_jid_parse (text, &error);

  if (jid == NULL)
    {
      stox_fuzz_check (error != NULL && error->domain == STOX_ADDRESS_ERROR,
                       "NULL without a STOX_ADDRESS_ERROR");
      return;
    }
  stox_fuzz_check (jid->domain != NULL, "a JID without domain");

  g_autofree char *sip_text = stox_address_jid_to_sip (jid, SIP_DOMAIN, &error);
  if (sip_text == NULL)
    {
      stox_fuzz_check (error != NULL && error->domain == STOX_ADDRESS_ERROR,
                       "NULL without a STOX_ADDRESS_ERROR");
      return;
    }
  g_autoptr (StoxSipUri) uri = stox_sip_uri_parse (sip_text, &error);
  stox_fuzz_check (uri != NULL, "%s maps to %s, which does not parse: %s", text, sip_text,
                   error != NULL ? error->message : "?");
}

static void
user_side (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *local = stox_address_user_to_jid_local (text, &error);

  if (local != NULL)
    {
      g_autofree char *user = stox_address_jid_local_to_user (local, &error);

      stox_fuzz_check (user != NULL, "localpart %s (from a user part) maps to no user: %s",
                       local, error != NULL ? error->message : "?");
      stox_fuzz_check (strlen (local) <= STOX_JID_PART_MAX, "localpart over %d bytes",
                       STOX_JID_PART_MAX);
    }
  g_clear_error (&error);
  g_autofree char *user = stox_address_jid_local_to_user (text, &error);
  stox_fuzz_check ((user == NULL) == (error != NULL), "result and error disagree");
}

static void
xep0106_side (const char *text)
{
  g_autofree char *escaped = stox_xep0106_escape (text);
  g_autofree char *unescaped = stox_xep0106_unescape (text);

  if (escaped != NULL)
    {
      g_autofree char *back = stox_xep0106_unescape (escaped);

      stox_fuzz_check (g_strcmp0 (back, text) == 0, "escape then unescape of \"%s\" gave \"%s\"",
                       text, back);
    }
  stox_fuzz_check (unescaped == NULL || g_utf8_validate (unescaped, -1, NULL),
                   "unescape gave invalid UTF-8");
}

static void
resource_side (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *res = stox_resource_prepare (text, &error);

  if (res == NULL)
    return;
  g_autofree char *again = stox_resource_prepare (res, &error);
  stox_fuzz_check (g_strcmp0 (again, res) == 0, "prepare is not idempotent on \"%s\"", text);
  stox_fuzz_check (stox_text_is_xml (res), "a prepared resource is not XML text");
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *text = stox_fuzz_cstring (data, size);

  stox_fuzz_init_logging ();
  sip_side (text);
  jid_side (text);
  user_side (text);
  xep0106_side (text);
  resource_side (text);
  return 0;
}
