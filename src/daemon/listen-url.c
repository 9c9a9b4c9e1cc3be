/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "daemon/listen-url.h"

#include <string.h>

/* RFC 3261 §19.1.1: sip:[user@]host[:port][;params]; §19.1.2 and §26.2:
 * 5060 by default, 5061 for TLS. */
gboolean
stox_listen_url_parse (const char *listen, StoxListenUrl *ret_url)
{
  gboolean sips;
  const char *p, *end, *at, *host_end;
  g_autofree char *transport = NULL;

  memset (ret_url, 0, sizeof *ret_url);
  if (g_ascii_strncasecmp (listen, "sips:", 5) == 0)
    sips = TRUE, p = listen + 5;
  else if (g_ascii_strncasecmp (listen, "sip:", 4) == 0)
    sips = FALSE, p = listen + 4;
  else
    return FALSE;

  for (const char *q = strchr (p, ';'); q != NULL; q = strchr (q + 1, ';'))
    if (g_ascii_strncasecmp (q + 1, "transport=", 10) == 0)
      transport = g_ascii_strdown (q + 11, (gssize) strcspn (q + 11, ";?"));

  end = p + strcspn (p, ";?");
  at = memchr (p, '@', (gsize) (end - p));
  if (at != NULL)
    p = at + 1;
  if (*p == '[')
    {
      host_end = memchr (p, ']', (gsize) (end - p));
      if (host_end == NULL)
        return FALSE;
      ret_url->host = g_strndup (p + 1, (gsize) (host_end - p - 1));
      host_end++;
    }
  else
    {
      host_end = p + strcspn (p, ":;?");
      ret_url->host = g_strndup (p, (gsize) (host_end - p));
    }
  if (*ret_url->host == '\0')
    {
      stox_listen_url_clear (ret_url);
      return FALSE;
    }

  if (transport == NULL)
    {
      ret_url->udp = !sips;
      ret_url->tcp = TRUE;
    }
  else
    {
      ret_url->udp = g_str_equal (transport, "udp");
      ret_url->tcp = g_str_equal (transport, "tcp") || g_str_equal (transport, "tls");
      if (g_str_equal (transport, "tls"))
        sips = TRUE;
    }

  ret_url->tls = sips;
  ret_url->port = sips ? 5061 : 5060;
  if (*host_end == ':')
    {
      g_autofree char *text = g_strndup (host_end + 1, strcspn (host_end + 1, ";?"));
      guint64 port = 0;

      /* "*" or 0: a port the system picks, nothing to test. */
      if (!g_ascii_string_to_unsigned (text, 10, 0, 65535, &port, NULL))
        port = 0;
      ret_url->port = (guint16) port;
    }
  return TRUE;
}

void
stox_listen_url_clear (StoxListenUrl *url)
{
  g_clear_pointer (&url->host, g_free);
}
