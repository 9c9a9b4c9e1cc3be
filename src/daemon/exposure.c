/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "daemon/exposure.h"

#include <string.h>
#include <sys/stat.h>

#include "core/netmask.h"
#include "daemon/listen-url.h"

/* What a listener on `host` exposes: NULL for loopback only, else the
 * words for the warning.  The core's netmask matcher decides, so an
 * IPv4-mapped loopback address counts as loopback too. */
static const char *
listener_exposure (const char *host)
{
  static const char *const loopback[] = { "127.0.0.0/8", "::1/128", NULL };
  static const char *const unspecified[] = { "0.0.0.0/32", "::/128", NULL };
  g_autoptr (StoxNetmaskList) lo = stox_netmask_list_new (loopback, NULL);
  g_autoptr (StoxNetmaskList) any = stox_netmask_list_new (unspecified, NULL);

  if (g_str_equal (host, "*") || stox_netmask_list_contains (any, host))
    return "listens on every address of this host";
  if (stox_netmask_list_contains (lo, host) || g_ascii_strcasecmp (host, "localhost") == 0)
    return NULL;
  return "listens on an address that is not loopback";
}

static void
check_listen (const StoxConfig *config, GPtrArray *out)
{
  g_auto (StoxListenUrl) url = { 0 };
  const char *what;

  if (!stox_listen_url_parse (config->sip_listen, &url))
    return;
  what = listener_exposure (url.host);
  if (what == NULL)
    return;
  g_ptr_array_add (out, g_strdup_printf ("%s: [sip] listen: '%s' %s: other hosts can reach "
                                         "the SIP port", config->path, config->sip_listen,
                                         what));
}

/* The metrics have no authentication: anyone who reaches the port reads
 * the traffic volumes and error counts. */
static void
check_metrics (const StoxConfig *config, GPtrArray *out)
{
  const char *what = config->metrics_address != NULL
                     ? listener_exposure (config->metrics_address) : NULL;

  if (what == NULL)
    return;
  g_ptr_array_add (out, g_strdup_printf ("%s: [metrics] listen: '%s' %s: other hosts can read "
                                         "the gateway's metrics, which have no "
                                         "authentication", config->path,
                                         config->metrics_listen, what));
}

static void
check_trusted_peers (const StoxConfig *config, GPtrArray *out)
{
  /* Prefixes that hold every address of a family, as stox.conf stores
   * them (stox_netmask_normalize). */
  static const char *const everyone[] = { "0.0.0.0/0", "::/0", "::ffff:0.0.0.0/96", NULL };

  if (config->sip_trusted_peers == NULL)
    {
      g_ptr_array_add (out, g_strdup_printf ("%s: [sip] trusted-peers: '*': requests from any "
                                             "source are accepted: whoever reaches the SIP "
                                             "port can send as any SIP user (open relay)",
                                             config->path));
      return;
    }
  for (guint i = 0; config->sip_trusted_peers[i] != NULL; i++)
    if (g_strv_contains (everyone, config->sip_trusted_peers[i]))
      g_ptr_array_add (out, g_strdup_printf ("%s: [sip] trusted-peers: '%s': requests from "
                                             "every %s source are accepted: whoever reaches "
                                             "the SIP port can send as any SIP user (open "
                                             "relay)", config->path,
                                             config->sip_trusted_peers[i],
                                             strchr (config->sip_trusted_peers[i], '.') != NULL
                                             ? "IPv4" : "IPv6"));
}

GPtrArray *
stox_exposure_list (const StoxConfig *config)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (config != NULL, out);

  /* A secret-file that others may read is refused (config.c); the file
   * itself is often world-readable by packaging, so an inline secret is
   * only warned about. */
  if (config->xmpp_secret_inline && (config->file_mode & S_IROTH))
    g_ptr_array_add (out, g_strdup_printf ("%s: [xmpp] secret: every user can read this file "
                                           "(mode %04o), and with it the component secret: "
                                           "move the secret to secret-file, or chmod o-r %s",
                                           config->path, config->file_mode, config->path));
  check_listen (config, out);
  check_trusted_peers (config, out);
  check_metrics (config, out);
  if (config->xmpp_domains == NULL)
    g_ptr_array_add (out, g_strdup_printf ("%s: [gateway] xmpp-domains: '*': SIP requests are "
                                           "forwarded to any XMPP domain", config->path));
  return out;
}
