/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine's counters, as stox_gateway_get_stats() hands them to the
 * daemon's metrics.  The flows count into them as they decide.  Every
 * counter only grows (nothing resets them, SIGHUP included); the guint
 * fields are the tables' sizes now.  Label sets are bounded: SIP error
 * codes 300–699 and the 22 conditions of RFC 6120 §8.3.3, each in an
 * array.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* SIP error responses (RFC 3261 §21.3–21.6), counted by code. */
#define STOX_STATS_SIP_CODE_MIN 300
#define STOX_STATS_SIP_CODE_MAX 699
#define STOX_STATS_SIP_CODES    (STOX_STATS_SIP_CODE_MAX - STOX_STATS_SIP_CODE_MIN + 1)
/* Stanza errors, counted by the defined conditions of RFC 6120 §8.3.3 in
 * its order (stox_xmpp_condition_name()); an unknown or missing one
 * counts as undefined-condition. */
#define STOX_STATS_XMPP_CONDITIONS 22

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

  /* How each message ended, per direction.  SIP -> XMPP: every MESSAGE
   * the message flow takes ends as one of accepted, bounces_in_window,
   * sip_refused, sip_failed (or is still pending). */
  guint64 sip_accepted;         /* forwarded and answered 202 (RFC 3428 §7) */
  guint64 sip_refused;          /* answered with an error, not forwarded */
  guint64 sip_failed;           /* forwarded, but the stanza could not be
                                 * sent: 503 */
  /* XMPP -> SIP: a <message/> sent as a MESSAGE ends as xmpp_delivered or
   * sip_errors; one refused at once is xmpp_refused. */
  guint64 xmpp_delivered;       /* the MESSAGE got a 2xx */
  guint64 xmpp_refused;         /* answered with an error stanza, not sent */

  guint   watchers_pending;     /* watchers' dialogs waiting for the XMPP
                                 * user's approval (RFC 6665 "pending") */

  /* Error stanzas owed to XMPP senders that the component link could not
   * carry (bounce-hold.h): waiting for it now, and given up (each logged). */
  guint   bounces_held;
  guint64 bounces_dropped;

  /* Every error the engine emits or is told of, by code or condition:
   * [code - STOX_STATS_SIP_CODE_MIN], [condition index]. */
  guint64 sip_errors_sent[STOX_STATS_SIP_CODES];
  guint64 sip_errors_received[STOX_STATS_SIP_CODES];
  guint64 xmpp_errors_sent[STOX_STATS_XMPP_CONDITIONS];
  guint64 xmpp_errors_received[STOX_STATS_XMPP_CONDITIONS];
} StoxGatewayStats;

G_END_DECLS
