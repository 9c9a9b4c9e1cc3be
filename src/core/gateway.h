/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The engine (docs/architecture.md): decoded events plus `now` in, actions out.
 * It owns every piece of gateway state — pending MESSAGE transactions of
 * the bounce window, outgoing MESSAGEs waiting for their final response,
 * per-conversation chat-state memory — and performs no I/O and reads no
 * clock: `now` is monotonic microseconds supplied by the caller, so unit
 * tests replay every flow with a fake clock.
 *
 * Every state table is a hash keyed by what the next event carries (stanza
 * id, SIP token, conversation) plus FIFO queues ordered by deadline; no
 * event scans all state.  Every table is bounded; when one is full the
 * gateway answers 503 + Retry-After (SIP) or <resource-constraint/> (XMPP)
 * instead of growing (stoxd(8)).
 */
#pragma once

#include "actions.h"
#include "methods.h"
#include "rules.h"
#include "stats.h"
#include "types.h"

G_BEGIN_DECLS

typedef struct _StoxGateway StoxGateway;

typedef struct
{
  const char        *sip_domain;
  const char        *component;           /* component JID (a domain) */
  const char *const *xmpp_domains;        /* NULL or {"*"}: any */
  const char *const *trusted_peers;       /* NULL: any source */
  /* The trusted peers authenticate the From of every request they relay
   * ([sip] trust-from): a From then vouches for its user as a
   * P-Asserted-Identity does (presence to SIP watchers). */
  gboolean           trust_from;
  guint              bounce_wait_ms;      /* 0–400 */
  /* The largest stanza sent, encoded ([xmpp] max-stanza-size); 0:
   * STOX_STANZA_SIZE_DEFAULT.  A MESSAGE whose stanza would be larger
   * gets 413; a presence loses its status texts. */
  guint              max_stanza_size;
  const char        *instance;            /* unique per process: stanza ids */
  guint              max_pending;         /* 0: STOX_GATEWAY_MAX_PENDING_DEFAULT */
  /* SIP watchers' dialogs at most from one source address, of one
   * watcher, and on one XMPP user; 0: the defaults below (and never more
   * than max_pending). */
  guint              max_subscriptions_per_source;
  guint              max_subscriptions_per_watcher;
  guint              max_subscriptions_per_user;
  gboolean           end_subscriptions_on_stop; /* a gateway being retired:
                                                 * the stop ends every
                                                 * subscription on the wire */
} StoxGatewayConfig;

/* The bound of every table of the engine when the configuration names
 * none: MESSAGEs inside the bounce window, answered ones remembered for a
 * late bounce, chat-state memory, outgoing MESSAGEs, and the SIP watchers'
 * dialogs and the gateway's own subscriptions together. */
#define STOX_GATEWAY_MAX_PENDING_DEFAULT 200000

/* One source (a proxy carries many users) may hold a quarter of that, so
 * that no single peer fills the table; one SIP watcher as many dialogs as
 * a long buddy list on a few devices; one XMPP user as many watchers as a
 * large organisation has people (stox.conf(5)). */
#define STOX_GATEWAY_MAX_PER_SOURCE_DEFAULT  50000
#define STOX_GATEWAY_MAX_PER_WATCHER_DEFAULT 500
#define STOX_GATEWAY_MAX_PER_USER_DEFAULT    2000

/* Takes a reference to nothing: `rules` is borrowed and must outlive the
 * gateway or be replaced with stox_gateway_set_rules(). */
StoxGateway *stox_gateway_new (const StoxGatewayConfig *config,
                               const StoxRules         *rules,
                               GError                 **error);
void         stox_gateway_free (StoxGateway *gw);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxGateway, stox_gateway_free)

/* SIGHUP: a freshly parsed and validated rule set replaces the old one. */
void stox_gateway_set_rules (StoxGateway *gw, const StoxRules *rules);

/* Each handler appends its actions to `actions` (see stox_actions_new()). */
void stox_gateway_on_sip (StoxGateway          *gw,
                          const StoxSipRequest *req,
                          gint64                now,
                          GPtrArray            *actions);

void stox_gateway_on_sip_response (StoxGateway           *gw,
                                   const StoxSipResponse *resp,
                                   gint64                 now,
                                   GPtrArray             *actions);

void stox_gateway_on_stanza (StoxGateway      *gw,
                             const StoxStanza *st,
                             gint64            now,
                             GPtrArray        *actions);

/* The component link went up or down; while down, SIP requests that need
 * XMPP get 503 with Retry-After = `retry_in_s` (at least 1), and error
 * stanzas owed to XMPP senders are held (bounce-hold.h); up, those go out
 * first, in order. */
void stox_gateway_on_link (StoxGateway *gw,
                           gboolean     up,
                           guint        retry_in_s,
                           gint64       now,
                           GPtrArray   *actions);

/* The SIP side has not kept up for a while (the front end's requests
 * stayed at its limit, runner.h): until it is cleared, a <message/> that
 * would become a SIP request gets <resource-constraint/> at once (RFC
 * 6120 §8.3.3.18, type wait) instead of waiting behind the others. */
void stox_gateway_set_sip_overloaded (StoxGateway *gw,
                                      gboolean     overloaded);

/* A stanza the core asked to send could not be queued: its SIP
 * transaction gets an answer instead of silence, 503 with Retry-After when
 * `why` is the link (dropped, send queue full), 500 when the stanza cannot
 * be encoded.  An error stanza owed to an XMPP sender is held for the
 * link again when `why` is the link; a presence stanza of a watcher or a
 * follower is sent again (stox_presence_on_send_failed()). */
void stox_gateway_on_xmpp_send_failed (StoxGateway        *gw,
                                       const StoxStanza   *st,
                                       StoxXmppSendFailure why,
                                       gint64              now,
                                       GPtrArray          *actions);

/* Runs everything due at `now` (bounce windows that closed, expired
 * memory). */
void   stox_gateway_on_timer (StoxGateway *gw, gint64 now, GPtrArray *actions);

/* The earliest `now` at which on_timer has work, or -1 for none. */
gint64 stox_gateway_next_deadline (StoxGateway *gw);

/* Start-up: feeds back one record of an earlier STOX_ACTION_STORE. */
void stox_gateway_restore (StoxGateway           *gw,
                           const StoxStoreRecord *record,
                           gint64                 now,
                           GPtrArray             *actions);

/* Graceful stop: answers every held transaction and emits the goodbyes
 * (stoxd(8); ending every subscription when the configuration
 * says end_subscriptions_on_stop). */
void stox_gateway_on_shutdown (StoxGateway *gw, gint64 now, GPtrArray *actions);

/* The counters (stats.h) and the tables' sizes now. */
void stox_gateway_get_stats (StoxGateway *gw, StoxGatewayStats *ret_stats);

/* The Allow header of every answer that carries one (stoxd(8) READINESS). */
#define STOX_GATEWAY_ALLOW (stox_sip_allowed_methods ())

G_END_DECLS
