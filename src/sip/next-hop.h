/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the gateway lets a request go.  Peers write the addresses the
 * gateway would send to: the Contact and Record-Route of a SUBSCRIBE
 * become the remote target and route set of its dialog (RFC 3261
 * §12.1.1), a From becomes the Request-URI of the late "not delivered"
 * notice.  A request inside a dialog goes to the first entry of the route
 * set, else to the remote target (§12.2.1.1), and a maddr parameter
 * overrides the host (§19.1.1).  So that the gateway cannot be made to
 * send to a third party, such an address is used directly only when it is
 * a trusted peer ([sip] trusted-peers, an IP address: names are not
 * resolved to be checked); the endpoint routes the rest through
 * outbound-proxy, or refuses them (stox.conf(5), SECURITY).
 *
 * Private to src/sip/.
 */
#pragma once

#include "sip/sofia-decls.h"
#include "core/netmask.h"

G_BEGIN_DECLS

/* TRUE when a request for `hop` would go to a trusted peer: its maddr, or
 * else its host, is an IP address inside `trusted`.  Every hop is trusted
 * when `trusted` is NULL (trusted-peers = *); no hop (NULL) never is. */
gboolean     stox_sip_hop_trusted (const StoxNetmaskList *trusted,
                                   url_t const           *hop);

/* Where nta sends a request whose route set begins with `first` and goes
 * on with `second` (the next route, else the remote target): `first`,
 * unless it is a strict router (no lr) followed by a loose one, which nta
 * then takes as the next hop (RFC 3261 §12.2.1.1 makes the strict router
 * the Request-URI and moves the rest up; nta follows a Route with lr).
 * What a trusted-peers check must look at. */
url_t const *stox_sip_hop_after_strict (url_t const *first,
                                        url_t const *second);

/* The first hop of the dialog an incoming dialog-creating request would
 * make (RFC 3261 §12.1.1): its first Record-Route (or the hop after it,
 * stox_sip_hop_after_strict()), else its Contact; NULL when it has
 * neither. */
url_t const *stox_sip_hop_of_request (sip_t const *sip);

/* `uri` as scheme:user@host: without port, password, parameters (maddr,
 * transport, …) and headers, so that a request for it goes where RFC 3263
 * resolves the host (or through the outbound proxy) and nowhere a peer
 * chose.  NULL when it does not parse. */
char        *stox_sip_hop_plain_uri (const char *uri);

G_END_DECLS
