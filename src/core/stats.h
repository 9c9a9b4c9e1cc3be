/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine's counters, as stox_gateway_get_stats() hands them to the
 * daemon's metrics.  The flows count into them as they decide.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint64 sip_to_xmpp;          /* MESSAGEs forwarded as stanzas */
  guint64 xmpp_to_sip;          /* stanzas forwarded as MESSAGEs */
  guint64 bounces_in_window;    /* XMPP errors turned into SIP responses */
  guint64 bounces_late;         /* XMPP errors turned into MESSAGEs back */
  guint64 bounces_unmatched;    /* XMPP errors for nothing we remember */
  guint64 forgotten;            /* answered MESSAGEs dropped from the late-
                                 * bounce memory to keep it bounded */
  guint64 sip_errors;           /* SIP error responses turned into stanzas */
  guint64 refused;              /* requests/stanzas answered with an error */
  guint   pending;              /* transactions inside the bounce window */
  guint   remembered;           /* answered, still matched for late bounces */
  guint   outgoing;             /* MESSAGEs waiting for their response */
  guint   watchers;             /* SIP watchers' dialogs on XMPP users */
  guint   subscriptions;        /* the gateway's own SIP subscriptions */
} StoxGatewayStats;

G_END_DECLS
