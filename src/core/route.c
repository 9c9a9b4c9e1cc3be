/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "route.h"

#include <string.h>

#include "address.h"

gboolean
stox_domain_equal (const char *a, const char *b)
{
  /* Domains are DNS names here; IDN mapping is out of scope (RFC 7247 §6). */
  return a != NULL && b != NULL && g_ascii_strcasecmp (a, b) == 0;
}

gboolean
stox_domain_allowed (char *const *domains, const char *domain)
{
  if (domains == NULL)
    return TRUE;
  for (char *const *d = domains; *d != NULL; d++)
    if (stox_domain_equal (*d, domain))
      return TRUE;
  return FALSE;
}

gboolean
stox_route_source_trusted (const StoxRouteConfig *config, const char *source)
{
  return config->trusted == NULL || stox_netmask_list_contains (config->trusted, source);
}

gboolean
stox_route_own_domain (const StoxRouteConfig *config, const char *domain)
{
  return stox_domain_equal (domain, config->sip_domain) ||
         stox_domain_equal (domain, config->component);
}

char *
stox_bare_jid (const char *jid)
{
  g_autoptr (StoxJid) j = stox_jid_parse (jid, NULL);

  if (j == NULL)
    return NULL;
  if (j->local != NULL)
    return g_strconcat (j->local, "@", j->domain, NULL);
  return g_strdup (j->domain);
}

void
stox_sip_route_clear (StoxSipRoute *route)
{
  g_clear_pointer (&route->jid_from, g_free);
  g_clear_pointer (&route->jid_to, g_free);
  g_clear_pointer (&route->jid_to_bare, g_free);
  g_clear_pointer (&route->sender_uri, g_free);
  route->vouched = FALSE;
}

static guint
address_error_status (const GError *error)
{
  if (g_error_matches (error, STOX_ADDRESS_ERROR, STOX_ADDRESS_ERROR_SIPS) ||
      g_error_matches (error, STOX_ADDRESS_ERROR, STOX_ADDRESS_ERROR_SCHEME))
    return 416;
  return 400;
}

/* An asserted identity names the user, not the device: when the From is
 * that same user, its ;gr= (RFC 5627) still says which device wrote, and
 * becomes the resource as it would without the assertion. */
static void
keep_from_device (StoxSipUri *asserted, const char *from_uri)
{
  g_autoptr (StoxSipUri) from = NULL;

  if (asserted->gr != NULL || from_uri == NULL || strstr (from_uri, "gr=") == NULL)
    return;
  from = stox_sip_uri_parse (from_uri, NULL);
  if (from != NULL && from->gr != NULL && g_strcmp0 (from->user, asserted->user) == 0 &&
      stox_domain_equal (from->host, asserted->host))
    asserted->gr = g_steal_pointer (&from->gr);
}

gboolean
stox_route_sip (const StoxRouteConfig *config,
                const StoxSipRequest  *req,
                StoxSipRoute          *ret_route,
                guint                 *ret_status,
                char                 **ret_why)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxSipUri) target = NULL;
  g_autoptr (StoxSipUri) sender = NULL;
  gboolean trusted_source, asserted;
  const char *identity;

  target = stox_sip_uri_parse (req->request_uri, &error);
  if (target == NULL)
    {
      *ret_status = address_error_status (error);
      *ret_why = g_strdup_printf ("Request-URI: %s", error->message);
      return FALSE;
    }
  if (target->sips)
    {
      /* RFC 7247 §8: XMPP cannot promise TLS on every hop. */
      *ret_status = 416;
      *ret_why = g_strdup ("sips: cannot be gatewayed to XMPP");
      return FALSE;
    }
  if (stox_route_own_domain (config, target->host))
    {
      /* Whatever xmpp-domains says ('*' too): the stanza would come back
       * to this very component and leave as a new SIP request, with a
       * fresh Max-Forwards and the gateway's standing — a loop, and a way
       * to launder a From. */
      *ret_status = 404;
      *ret_why = g_strdup_printf ("%s is the gateway's own domain: never routed back "
                                  "through XMPP", target->host);
      return FALSE;
    }
  if (!stox_domain_allowed (config->xmpp_domains, target->host))
    {
      *ret_status = 404;
      *ret_why = g_strdup_printf ("domain %s is not served by this gateway", target->host);
      return FALSE;
    }
  /* RFC 3325 §9.1: the identity a trusted peer asserts names the user;
   * a P-Asserted-Identity from anyone else is ignored (RFC 3325 §5). */
  trusted_source = stox_route_source_trusted (config, req->source);
  asserted = req->asserted_uri != NULL && trusted_source;
  identity = asserted ? req->asserted_uri : req->from_uri;
  sender = stox_sip_uri_parse (identity, &error);
  if (sender == NULL)
    {
      *ret_status = address_error_status (error);
      *ret_why = g_strdup_printf ("%s: %s", asserted ? "P-Asserted-Identity" : "From",
                                  error->message);
      return FALSE;
    }
  if (!stox_domain_equal (sender->host, config->sip_domain))
    {
      *ret_status = 403;
      *ret_why = g_strdup_printf ("sender domain %s is not %s%s", sender->host,
                                  config->sip_domain,
                                  asserted ? " (P-Asserted-Identity)" : "");
      return FALSE;
    }
  if (asserted)
    keep_from_device (sender, req->from_uri);
  ret_route->jid_from = stox_address_sip_to_jid (sender, config->component, &error);
  if (ret_route->jid_from == NULL)
    {
      *ret_status = 400;
      *ret_why = g_strdup_printf ("From user cannot be mapped: %s", error->message);
      return FALSE;
    }
  ret_route->jid_to = stox_address_sip_to_jid (target, target->host, &error);
  if (ret_route->jid_to == NULL)
    {
      stox_sip_route_clear (ret_route);
      *ret_status = 400;
      *ret_why = g_strdup_printf ("Request-URI user cannot be mapped: %s", error->message);
      return FALSE;
    }
  ret_route->jid_to_bare = stox_bare_jid (ret_route->jid_to);
  ret_route->sender_uri = g_strdup (identity);
  ret_route->vouched = asserted || (config->trust_from && trusted_source);
  return TRUE;
}

/* local@domain with the localpart folded and the domain in lower case;
 * NULL when the localpart cannot be mapped. */
static char *
bare_folded (const StoxJid *jid)
{
  g_autofree char *local = stox_address_jid_local_fold (jid->local, NULL);
  char *bare;

  if (local == NULL)
    return NULL;
  bare = g_strconcat (local, "@", jid->domain, NULL);
  for (char *p = bare + strlen (local) + 1; *p != '\0'; p++)
    *p = g_ascii_tolower (*p);
  return bare;
}

void
stox_stanza_route_clear (StoxStanzaRoute *route)
{
  g_clear_pointer (&route->request_uri, g_free);
  g_clear_pointer (&route->from_uri, g_free);
  g_clear_pointer (&route->from_uri_bare, g_free);
  g_clear_pointer (&route->from_bare, g_free);
  g_clear_pointer (&route->to_bare, g_free);
  g_clear_pointer (&route->from_resource, g_free);
}

gboolean
stox_route_stanza (const StoxRouteConfig *config,
                   const StoxStanza      *st,
                   StoxStanzaRoute       *ret_route,
                   const char           **ret_condition,
                   char                 **ret_why)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxJid) to = NULL;
  g_autoptr (StoxJid) from = NULL;

  to = stox_jid_parse (st->to, &error);
  if (to == NULL)
    {
      *ret_condition = "jid-malformed";
      *ret_why = g_strdup (error->message);
      return FALSE;
    }
  if (!stox_domain_equal (to->domain, config->component))
    {
      *ret_condition = "item-not-found";
      *ret_why = g_strdup ("not a domain of this gateway");
      return FALSE;
    }
  from = stox_jid_parse (st->from, &error);
  if (from == NULL)
    {
      *ret_condition = "jid-malformed";
      *ret_why = g_strdup (error->message);
      return FALSE;
    }
  if (stox_route_own_domain (config, from->domain))
    {
      /* Only this gateway speaks for its domains on the XMPP server: such
       * a stanza already crossed from SIP once (a loop), whatever
       * xmpp-domains says. */
      *ret_condition = "forbidden";
      *ret_why = g_strdup ("the sender is in the gateway's own domain: nothing crosses twice");
      return FALSE;
    }
  if (!stox_domain_allowed (config->xmpp_domains, from->domain))
    {
      *ret_condition = "forbidden";
      *ret_why = g_strdup ("sender domain is not allowed");
      return FALSE;
    }
  if (to->local == NULL || to->local[0] == '\0')
    {
      *ret_condition = "jid-malformed";
      *ret_why = g_strdup ("address a SIP user as user@component");
      return FALSE;
    }
  if (from->local == NULL)
    {
      *ret_condition = "jid-malformed";
      *ret_why = g_strdup ("the sender has no localpart");
      return FALSE;
    }
  /* The SIP side sees the user without the XMPP resource. */
  g_clear_pointer (&to->resource, g_free);
  ret_route->request_uri = stox_address_jid_to_sip (to, config->sip_domain, &error);
  if (ret_route->request_uri == NULL)
    {
      *ret_condition = "jid-malformed";
      *ret_why = g_strdup (error->message);
      return FALSE;
    }
  /* RFC 7572 Table 1 note 1: bare JID → From, resource → ;gr= */
  g_autofree char *from_domain = g_ascii_strdown (from->domain, -1);
  ret_route->from_uri = stox_address_jid_to_sip (from, from_domain, &error);
  if (ret_route->from_uri == NULL)
    {
      stox_stanza_route_clear (ret_route);
      *ret_condition = "jid-malformed";
      *ret_why = g_strdup (error->message);
      return FALSE;
    }
  /* The tables key both by the folded form: ejabberd passes a JID on as
   * its client wrote it (RFC 7622 §3.3.1: ALICE@ is alice@). */
  ret_route->from_bare = bare_folded (from);
  ret_route->to_bare = bare_folded (to);
  if (ret_route->from_bare == NULL || ret_route->to_bare == NULL)
    {
      stox_stanza_route_clear (ret_route);
      *ret_condition = "jid-malformed";
      *ret_why = g_strdup ("a localpart cannot be normalised");
      return FALSE;
    }
  if (from->resource == NULL)
    ret_route->from_uri_bare = g_strdup (ret_route->from_uri);
  else
    {
      /* The same without ;gr=, for a rule that leaves it out
       * (stox-rules(5), message-gr). */
      g_autofree char *resource = g_steal_pointer (&from->resource);

      ret_route->from_uri_bare = stox_address_jid_to_sip (from, from_domain, NULL);
      from->resource = g_steal_pointer (&resource);
      if (ret_route->from_uri_bare == NULL)
        ret_route->from_uri_bare = g_strdup (ret_route->from_uri);
    }
  ret_route->from_resource = g_strdup (from->resource);
  return TRUE;
}
