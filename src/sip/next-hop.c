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
stox_sip_hop_after_strict (url_t const *first,
                           url_t const *second)
{
  if (first == NULL || url_has_param (first, "lr") || second == NULL
      || !url_has_param (second, "lr"))
    return first;
  return second;
}

url_t const *
stox_sip_hop_of_request (sip_t const *sip)
{
  sip_record_route_t const *rr = sip->sip_record_route;
  url_t const *contact = sip->sip_contact != NULL ? sip->sip_contact->m_url : NULL;

  if (rr != NULL)
    return stox_sip_hop_after_strict (rr->r_url, rr->r_next != NULL ? rr->r_next->r_url
                                                                    : contact);
  return contact;
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
