/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which addresses a request maps to, or the refusal docs/mappings.md §1 fixes
 * for it, in both directions.  Messages and presence share these, so a
 * SUBSCRIBE is refused exactly as a MESSAGE would be.
 */
#pragma once

#include "netmask.h"
#include "types.h"

G_BEGIN_DECLS

typedef struct
{
  const char            *sip_domain;
  const char            *component;
  char *const           *xmpp_domains;   /* NULL: any */
  const StoxNetmaskList *trusted;        /* [sip] trusted-peers; NULL: any */
  /* [sip] trust-from: the trusted peers authenticate the From of every
   * request they relay, so a From vouches for its user. */
  gboolean               trust_from;
} StoxRouteConfig;

/* A SIP request's addresses (RFC 7247 §6.4). */
typedef struct
{
  char    *jid_from;     /* user@component[/gr] */
  char    *jid_to;       /* user@xmpp-domain[/gr] */
  char    *jid_to_bare;  /* user@xmpp-domain */
  /* The SIP user the request is from: the P-Asserted-Identity of a
   * trusted peer, else the From (RFC 3325 §9.1). */
  char    *sender_uri;
  /* A trusted peer vouches for that user: it asserted it, or it is a
   * From and trust-from says the peers authenticate every From.  Only a
   * vouched user may see presence. */
  gboolean vouched;
} StoxSipRoute;

void stox_sip_route_clear (StoxSipRoute *route);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (StoxSipRoute, stox_sip_route_clear)

/* FALSE with `*ret_status` (400, 403, 404, 416) and `*ret_why` (for a
 * Warning) when the request must be refused; nothing is half-mapped. */
gboolean stox_route_sip (const StoxRouteConfig *config,
                         const StoxSipRequest  *req,
                         StoxSipRoute          *ret_route,
                         guint                 *ret_status,
                         char                 **ret_why);

/* A stanza's addresses (RFC 7247 §6.5). */
typedef struct
{
  char *request_uri;  /* sip:user@sip-domain (no resource) */
  char *from_uri;     /* sip:user@xmpp-domain[;gr=resource] */
  char *from_uri_bare; /* sip:user@xmpp-domain */
  char *from_bare;    /* user@xmpp-domain */
  char *to_bare;      /* user@component */
  char *from_resource;
} StoxStanzaRoute;

void stox_stanza_route_clear (StoxStanzaRoute *route);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (StoxStanzaRoute, stox_stanza_route_clear)

/* FALSE with the stanza error condition (jid-malformed, item-not-found,
 * forbidden) and text when the stanza must be refused. */
gboolean stox_route_stanza (const StoxRouteConfig *config,
                            const StoxStanza      *st,
                            StoxStanzaRoute       *ret_route,
                            const char           **ret_condition,
                            char                 **ret_why);

/* TRUE when `source` (a request's peer address) is one of the trusted
 * peers. */
gboolean stox_route_source_trusted (const StoxRouteConfig *config, const char *source);

/* TRUE for the SIP domain and the component's domain: the gateway never
 * routes into them and takes no stanza from them, whatever xmpp-domains
 * says (stox.conf(5)). */
gboolean stox_route_own_domain (const StoxRouteConfig *config, const char *domain);

gboolean stox_domain_equal (const char *a, const char *b);
gboolean stox_domain_allowed (char *const *domains, const char *domain);

/* The bare form of a JID, or NULL when it does not parse. */
char *stox_bare_jid (const char *jid);

G_END_DECLS
