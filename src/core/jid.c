/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parsing a JID into its parts (RFC 7622 §3).  Pure.
 */
#include "config.h"

#include "address.h"

#include "address-chars.h"

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
        if (in_set (text[i], XEP0106_SPECIALS))
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
