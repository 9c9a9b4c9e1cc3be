/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "sip/next-hop.h"

gboolean
stox_sip_hop_trusted (const StoxNetmaskList *trusted,
                      url_t const           *hop)
{
  char maddr[128];
  const char *host;

  if (trusted == NULL)
    return TRUE;
  if (hop == NULL)
    return FALSE;
  host = hop->url_host;
  if (hop->url_params != NULL && url_param (hop->url_params, "maddr", maddr, sizeof maddr) > 0)
    host = maddr;
  if (host == NULL)
    return FALSE;

  /* An IPv6 reference is bracketed in a URI (RFC 3261 §25.1). */
  g_autofree char *address = host[0] == '['
                             ? g_strndup (host + 1, strcspn (host + 1, "]"))
                             : g_strdup (host);

  return g_hostname_is_ip_address (address) && stox_netmask_list_contains (trusted, address);
}

url_t const *
stox_sip_hop_of_request (sip_t const *sip)
{
  if (sip->sip_record_route != NULL)
    return sip->sip_record_route->r_url;
  if (sip->sip_contact != NULL)
    return sip->sip_contact->m_url;
  return NULL;
}

char *
stox_sip_hop_plain_uri (const char *uri)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  url_t *url = uri != NULL ? url_make (home, uri) : NULL;
  char *text = NULL;

  if (url != NULL && url->url_host != NULL
      && (url->url_type == url_sip || url->url_type == url_sips))
    {
      url_t plain = *url;

      plain.url_password = NULL;
      plain.url_port = NULL;
      plain.url_params = NULL;
      plain.url_headers = NULL;
      plain.url_fragment = NULL;
      text = g_strdup (url_as_string (home, &plain));
    }
  su_home_deinit (home);
  return text;
}
