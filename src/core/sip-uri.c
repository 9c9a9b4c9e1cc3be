/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Parsing a SIP URI into the parts the address mapping needs (RFC 3261
 * §19.1, §25.1).  Pure.
 */
#include "config.h"

#include "address.h"

#include "address-chars.h"
#include "percent.h"

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
      if (!stox_percent_check_raw (p, user_len, SIP_MARK SIP_USER_UNRESERVED,
                                   "SIP user part", error))
        return NULL;
      uri->user = stox_percent_decode (p, user_len, "SIP user part", error);
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
              if (!stox_percent_check_raw (eq + 1, len, SIP_PARAM_ACCEPT,
                                           "gr parameter", error))
                return NULL;
              uri->gr = stox_percent_decode (eq + 1, len, "gr parameter", error);
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
