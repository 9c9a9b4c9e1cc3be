/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "daemon/config-value.h"

#include <arpa/inet.h>
#include <string.h>

#define DOMAIN_MAX 1023 /* RFC 7622 §3.2: domainpart octets */

gboolean
stox_config_value_is_blank (char ch)
{
  return ch == ' ' || ch == '\t';
}

char *
stox_config_value_strip (const char *start, gsize len)
{
  while (len > 0 && stox_config_value_is_blank (*start))
    start++, len--;
  while (len > 0 && stox_config_value_is_blank (start[len - 1]))
    len--;
  return g_strndup (start, len);
}

/* model-codebases §5.1: GKeyFile has no trailing comments. */
const char *
stox_config_value_comment_hint (const char *value)
{
  for (const char *p = value; *p; p++)
    if ((*p == ' ' || *p == '\t') && (p[1] == ';' || p[1] == '#'))
      return " (a value runs to the end of its line; put comments on a line of their own)";
  return "";
}

StoxConfigUint
stox_config_value_uint (const char *text, guint min, guint max, guint *ret_value)
{
  guint64 value = 0;

  if (*text == '\0')
    return STOX_CONFIG_UINT_NOT_A_NUMBER;
  for (const char *p = text; *p; p++)
    {
      if (!g_ascii_isdigit (*p))
        return STOX_CONFIG_UINT_NOT_A_NUMBER;
      if (value <= G_MAXUINT)
        value = value * 10 + (guint64) (*p - '0');
    }
  if (value < min || value > max)
    return STOX_CONFIG_UINT_OUT_OF_RANGE;
  *ret_value = (guint) value;
  return STOX_CONFIG_UINT_OK;
}

/* ASCII only: IDNs are expected in their A-label form.  No user part, no
 * path, no port, no blanks. */
char *
stox_config_value_domain (const char *value, const char **ret_why)
{
  gsize len = strlen (value);

  *ret_why = NULL;
  if (len == 0)
    *ret_why = "empty";
  else if (len > DOMAIN_MAX)
    *ret_why = "longer than 1023 bytes";
  else if (strchr (value, '@'))
    *ret_why = "contains '@'";
  else if (strchr (value, '/'))
    *ret_why = "contains '/'";
  else if (strchr (value, ':'))
    *ret_why = "contains ':' (no scheme or port here)";
  else if (strpbrk (value, " \t"))
    *ret_why = "contains blanks";
  else if (strpbrk (value, ",;*[]\\\"'<>"))
    *ret_why = "contains a character a domain cannot hold";
  else if (value[0] == '.' || strstr (value, ".."))
    *ret_why = "has an empty label";
  if (*ret_why)
    return NULL;
  return g_ascii_strdown (value, -1);
}

char *
stox_config_value_address_port (const char *value, guint16 *ret_port, const char **ret_why)
{
  const char *colon = strrchr (value, ':');
  g_autofree char *host = NULL;
  guchar bytes[16];
  guint port;

  if (colon == NULL || colon == value || strchr (value, '/') != NULL)
    {
      /* No scheme, no path: the metrics are at /metrics. */
      *ret_why = "not ADDRESS:PORT";
      return NULL;
    }
  if (stox_config_value_uint (colon + 1, 1, 65535, &port) != STOX_CONFIG_UINT_OK)
    {
      *ret_why = "the port is not a number from 1 to 65535";
      return NULL;
    }
  host = g_strndup (value, (gsize) (colon - value));
  if (host[0] == '[' && host[strlen (host) - 1] == ']')
    {
      g_autofree char *bare = g_strndup (host + 1, strlen (host) - 2);

      if (inet_pton (AF_INET6, bare, bytes) != 1)
        {
          *ret_why = "not an IPv6 address between the brackets";
          return NULL;
        }
      g_free (host);
      host = g_steal_pointer (&bare);
    }
  else if (g_ascii_strcasecmp (host, "localhost") == 0)
    {
      g_free (host);
      host = g_strdup ("127.0.0.1");
    }
  else if (inet_pton (AF_INET, host, bytes) != 1)
    {
      *ret_why = strchr (host, ':') != NULL
                 ? "an IPv6 address goes in brackets: [ADDRESS]:PORT"
                 : "not an IP address (a host name could resolve to any address: write "
                   "127.0.0.1 or [::1] for this host only)";
      return NULL;
    }
  *ret_port = (guint16) port;
  return g_steal_pointer (&host);
}

gboolean
stox_config_value_sip_uri (const char *value, const char **ret_why)
{
  const char *rest;

  if (g_ascii_strncasecmp (value, "sips:", 5) == 0)
    rest = value + 5;
  else if (g_ascii_strncasecmp (value, "sip:", 4) == 0)
    rest = value + 4;
  else
    {
      *ret_why = "not a sip: or sips: URI";
      return FALSE;
    }
  if (*rest == '\0' || *rest == ';')
    {
      *ret_why = "no host after the scheme";
      return FALSE;
    }
  if (strpbrk (rest, " \t"))
    {
      *ret_why = "contains blanks";
      return FALSE;
    }
  return TRUE;
}

char *
stox_config_value_host (const char *value, const char **ret_why)
{
  g_autofree char *bare = NULL;
  guchar bytes[16];
  gsize len = strlen (value);

  if (len >= 2 && value[0] == '[' && value[len - 1] == ']')
    bare = g_strndup (value + 1, len - 2);
  else
    bare = g_strdup (value);

  if (inet_pton (AF_INET, bare, bytes) == 1 || inet_pton (AF_INET6, bare, bytes) == 1)
    return g_steal_pointer (&bare);

  if (len > 253 || bare[0] == '.' || bare[0] == '-' || strstr (bare, ".."))
    {
      *ret_why = "not a host name or IP address";
      return NULL;
    }
  for (const char *p = bare; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '-' && *p != '_')
      {
        *ret_why = "not a host name or IP address";
        return NULL;
      }
  return g_ascii_strdown (bare, -1);
}
