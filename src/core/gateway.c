/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The gateway engine: docs/mappings.md §1–5 and §7 as a sans-I/O state machine.
 * See gateway.h for the shape.  This file owns the configuration, the
 * link's state, the one token counter and the counters, refuses what no
 * flow takes, and hands each event to its flow: im.c (messages), iq.c
 * (readiness), presence.c; the error stanzas they emit pass through
 * bounce-hold.c on the way out.
 */
#include "config.h"

#include "gateway.h"

#include "actions.h"
#include "bounce-hold.h"
#include "deadline.h"
#include "im.h"
#include "iq.h"
#include "message.h"
#include "netmask.h"
#include "presence.h"
#include "route.h"
#include "stanza-size.h"

struct _StoxGateway
{
  char            *sip_domain;
  char            *component;
  char           **xmpp_domains;   /* NULL: any */
  StoxNetmaskList *trusted;        /* NULL: any */
  guint            max_pending;
  guint            max_per_source;
  guint            max_per_watcher;
  guint            max_per_user;
  guint            max_stanza_size;
  gboolean         end_subscriptions_on_stop;
  const StoxRules *rules;

  gboolean         link_up;
  guint            retry_in_s;
  gboolean         sip_overloaded;
  StoxToken        next_token;

  StoxGatewayStats stats;
  StoxRouteConfig  route;
  StoxIm          *im;
  StoxImEnv        im_env;
  StoxPresence    *presence;
  StoxPresenceEnv  presence_env;
  StoxBounceHold  *bounces;        /* error stanzas the link could not carry */
};

/* What the flows borrow for one event: the state as it is now. */
static const StoxImEnv *
im_env (StoxGateway *gw)
{
  gw->im_env.route = &gw->route;
  gw->im_env.rules = gw->rules;
  gw->im_env.link_up = gw->link_up;
  gw->im_env.retry_in_s = gw->retry_in_s;
  gw->im_env.sip_overloaded = gw->sip_overloaded;
  gw->im_env.next_token = &gw->next_token;
  gw->im_env.stats = &gw->stats;
  return &gw->im_env;
}

static const StoxPresenceEnv *
presence_env (StoxGateway *gw)
{
  gw->presence_env.route = &gw->route;
  gw->presence_env.rules = gw->rules;
  gw->presence_env.link_up = gw->link_up;
  gw->presence_env.retry_in_s = gw->retry_in_s;
  gw->presence_env.next_token = &gw->next_token;
  gw->presence_env.max_subscriptions = gw->max_pending;
  gw->presence_env.max_per_source = gw->max_per_source;
  gw->presence_env.max_per_watcher = gw->max_per_watcher;
  gw->presence_env.max_per_user = gw->max_per_user;
  return &gw->presence_env;
}

/* ---- error counters ---------------------------------------------------- */

static void
count_sip_error (guint64 *counts, guint status)
{
  if (status >= STOX_STATS_SIP_CODE_MIN && status <= STOX_STATS_SIP_CODE_MAX)
    counts[status - STOX_STATS_SIP_CODE_MIN]++;
}

/* Every error this event made the engine emit, by SIP code or stanza
 * condition: counted at the one way out (`actions` from `from` on, the
 * ones this event added) rather than at each of the flows' many decision
 * sites, so that none can be missed and the counts are what went out. */
static void
count_errors_sent (StoxGateway *gw, const GPtrArray *actions, guint from)
{
  for (guint i = from; i < actions->len; i++)
    {
      const StoxAction *a = actions->pdata[i];

      if (a->kind == STOX_ACTION_SIP_RESPOND)
        count_sip_error (gw->stats.sip_errors_sent, a->u.respond.status);
      else if (a->kind == STOX_ACTION_XMPP_SEND && g_strcmp0 (a->u.stanza->type, "error") == 0)
        gw->stats.xmpp_errors_sent[stox_xmpp_condition_index (a->u.stanza->error_condition)]++;
    }
}

/* Every event leaves through here: the error <message/>s it emitted are
 * held while the link is down, else remembered until they are surely
 * past the link (bounce-hold.h); then what goes out is counted. */
static void
leave (StoxGateway *gw, GPtrArray *actions, guint from, gint64 now)
{
  stox_bounce_hold_take (gw->bounces, gw->link_up, actions, from, now);
  count_errors_sent (gw, actions, from);
}

/* ---- construction ------------------------------------------------------ */

static guint
limit_or (guint configured, guint fallback)
{
  return configured != 0 ? configured : fallback;
}

StoxGateway *
stox_gateway_new (const StoxGatewayConfig *config,
                  const StoxRules         *rules,
                  GError                 **error)
{
  g_autoptr (StoxGateway) gw = g_new0 (StoxGateway, 1);

  g_return_val_if_fail (config->sip_domain != NULL, NULL);
  g_return_val_if_fail (rules != NULL, NULL);

  gw->sip_domain = g_ascii_strdown (config->sip_domain, -1);
  gw->component = g_ascii_strdown (config->component != NULL
                                   ? config->component : config->sip_domain, -1);
  if (config->xmpp_domains != NULL &&
      !g_strv_contains (config->xmpp_domains, "*"))
    gw->xmpp_domains = g_strdupv ((char **) config->xmpp_domains);
  if (config->trusted_peers != NULL)
    {
      gw->trusted = stox_netmask_list_new (config->trusted_peers, error);
      if (gw->trusted == NULL)
        return NULL;
    }
  gw->max_pending = config->max_pending != 0 ? config->max_pending
                                            : STOX_GATEWAY_MAX_PENDING_DEFAULT;
  gw->max_per_source = MIN (limit_or (config->max_subscriptions_per_source,
                                       STOX_GATEWAY_MAX_PER_SOURCE_DEFAULT), gw->max_pending);
  gw->max_per_watcher = MIN (limit_or (config->max_subscriptions_per_watcher,
                                       STOX_GATEWAY_MAX_PER_WATCHER_DEFAULT), gw->max_pending);
  gw->max_per_user = MIN (limit_or (config->max_subscriptions_per_user,
                                    STOX_GATEWAY_MAX_PER_USER_DEFAULT), gw->max_pending);
  gw->end_subscriptions_on_stop = config->end_subscriptions_on_stop;
  gw->rules = rules;
  gw->retry_in_s = 1;
  gw->route.sip_domain = gw->sip_domain;
  gw->route.component = gw->component;
  gw->route.xmpp_domains = gw->xmpp_domains;
  gw->route.trusted = gw->trusted;
  gw->route.trust_from = config->trust_from;

  gw->max_stanza_size = limit_or (config->max_stanza_size, STOX_STANZA_SIZE_DEFAULT);
  gw->im = stox_im_new ((gint64) config->bounce_wait_ms * 1000,
                        gw->max_stanza_size,
                        config->instance != NULL ? config->instance : "stox",
                        gw->max_pending);
  gw->presence = stox_presence_new ();
  gw->bounces = stox_bounce_hold_new (gw->max_pending);
  return g_steal_pointer (&gw);
}

void
stox_gateway_free (StoxGateway *gw)
{
  if (gw == NULL)
    return;
  g_clear_pointer (&gw->im, stox_im_free);
  g_clear_pointer (&gw->presence, stox_presence_free);
  g_clear_pointer (&gw->bounces, stox_bounce_hold_free);
  g_free (gw->sip_domain);
  g_free (gw->component);
  g_strfreev (gw->xmpp_domains);
  stox_netmask_list_free (gw->trusted);
  g_free (gw);
}

void
stox_gateway_set_rules (StoxGateway *gw, const StoxRules *rules)
{
  g_return_if_fail (rules != NULL);
  gw->rules = rules;
}

void
stox_gateway_get_stats (StoxGateway *gw, StoxGatewayStats *ret_stats)
{
  stox_im_get_stats (gw->im, &gw->stats);
  gw->stats.watchers = stox_presence_count_watches (gw->presence);
  gw->stats.watchers_pending = stox_presence_count_watches_pending (gw->presence);
  gw->stats.subscriptions = stox_presence_count_follows (gw->presence);
  gw->stats.bounces_held = stox_bounce_hold_count (gw->bounces);
  gw->stats.bounces_dropped = stox_bounce_hold_dropped (gw->bounces);
  *ret_stats = gw->stats;
}

/* ---- events ------------------------------------------------------------ */

/* Presence the flows emitted (from `first` on) that the XMPP server would
 * not take loses its status texts (PIDF notes a SIP user wrote); the
 * message flows refuse an oversized MESSAGE themselves (413).  What still
 * does not fit is refused by the XMPP front end, never sent. */
static void
fit_presence (StoxGateway *gw, GPtrArray *actions, guint first)
{
  for (guint i = first; i < actions->len; i++)
    {
      StoxAction *a = actions->pdata[i];

      if (a->kind == STOX_ACTION_XMPP_SEND && a->u.stanza->kind == STOX_STANZA_PRESENCE)
        stox_stanza_fit_presence (a->u.stanza, gw->max_stanza_size);
    }
}

void
stox_gateway_on_sip (StoxGateway          *gw,
                     const StoxSipRequest *req,
                     gint64                now,
                     GPtrArray            *actions)
{
  guint from = actions->len;

  if (!stox_route_source_trusted (&gw->route, req->source))
    {
      stox_actions_respond (actions, req->token, 403, 0, NULL, NULL,
                            "source is not a trusted peer");
      gw->stats.refused++;
      if (req->method == STOX_SIP_METHOD_MESSAGE)
        gw->stats.sip_refused++;
      leave (gw, actions, from, now);
      return;
    }

  switch (req->method)
    {
    case STOX_SIP_METHOD_OPTIONS:
      stox_actions_respond (actions, req->token, 200, 0, STOX_MESSAGE_ACCEPT, STOX_GATEWAY_ALLOW, NULL);
      break;
    case STOX_SIP_METHOD_MESSAGE:
      stox_im_on_sip_message (gw->im, im_env (gw), req, now, actions);
      break;
    case STOX_SIP_METHOD_SUBSCRIBE:
    case STOX_SIP_METHOD_NOTIFY:
      {
        guint first = actions->len;

        stox_presence_on_sip (gw->presence, presence_env (gw), req, now, actions);
        fit_presence (gw, actions, first);
      }
      break;
    case STOX_SIP_METHOD_PUBLISH:
    case STOX_SIP_METHOD_OTHER:
    default:
      stox_actions_respond (actions, req->token, 405, 0, NULL, STOX_GATEWAY_ALLOW, NULL);
      gw->stats.refused++;
      break;
    }
  leave (gw, actions, from, now);
}

void
stox_gateway_on_sip_response (StoxGateway           *gw,
                              const StoxSipResponse *resp,
                              gint64                 now,
                              GPtrArray             *actions)
{
  guint from = actions->len;

  count_sip_error (gw->stats.sip_errors_received, resp->status);
  if (!stox_presence_on_sip_response (gw->presence, presence_env (gw), resp, now, actions))
    stox_im_on_sip_response (gw->im, im_env (gw), resp, now, actions);
  leave (gw, actions, from, now);
}

void
stox_gateway_on_stanza (StoxGateway      *gw,
                        const StoxStanza *st,
                        gint64            now,
                        GPtrArray        *actions)
{
  guint from = actions->len;

  if (g_strcmp0 (st->type, "error") == 0)
    gw->stats.xmpp_errors_received[stox_xmpp_condition_index (st->error_condition)]++;
  switch (st->kind)
    {
    case STOX_STANZA_MESSAGE:
      stox_im_on_message (gw->im, im_env (gw), st, now, actions);
      break;
    case STOX_STANZA_IQ:
      if (stox_iq_on_stanza (gw->component, gw->rules, st, actions))
        gw->stats.refused++;
      break;
    case STOX_STANZA_PRESENCE:
      {
        guint first = actions->len;

        stox_presence_on_stanza (gw->presence, presence_env (gw), st, now, actions);
        fit_presence (gw, actions, first);
      }
      break;
    }
  leave (gw, actions, from, now);
}

/* ---- link, timers, shutdown -------------------------------------------- */

void
stox_gateway_on_link (StoxGateway *gw,
                      gboolean     up,
                      guint        retry_in_s,
                      gint64       now,
                      GPtrArray   *actions)
{
  guint from = actions->len;

  gw->link_up = up;
  gw->retry_in_s = MAX (retry_in_s, 1);
  /* After the state above, so presence sees the new one. */
  stox_presence_on_link (gw->presence, presence_env (gw), up, now, actions);
  leave (gw, actions, from, now);
  /* The error stanzas owed while it was down, in order, after the
   * presence above (bounce-hold.h; they are remembered there). */
  if (up)
    {
      guint held_from = actions->len;

      stox_bounce_hold_release (gw->bounces, actions, now);
      count_errors_sent (gw, actions, held_from);
    }
}

void
stox_gateway_set_sip_overloaded (StoxGateway *gw,
                                 gboolean     overloaded)
{
  g_return_if_fail (gw != NULL);
  gw->sip_overloaded = overloaded;
}

void
stox_gateway_on_xmpp_send_failed (StoxGateway        *gw,
                                  const StoxStanza   *st,
                                  StoxXmppSendFailure why,
                                  gint64              now,
                                  GPtrArray          *actions)
{
  guint from = actions->len;

  /* An error stanza owed to an XMPP sender waits for the link again, a
   * presence stanza is asked again; anything else is the flow's to
   * answer. */
  if (!stox_bounce_hold_on_send_failed (gw->bounces, st, why, gw->link_up, now) &&
      !stox_presence_on_send_failed (gw->presence, presence_env (gw), st, why, now))
    stox_im_on_send_failed (gw->im, im_env (gw), st, why, actions);
  leave (gw, actions, from, now);
}

void
stox_gateway_on_timer (StoxGateway *gw, gint64 now, GPtrArray *actions)
{
  guint from = actions->len;

  stox_im_on_timer (gw->im, im_env (gw), now, actions);
  stox_presence_on_timer (gw->presence, presence_env (gw), now, actions);
  leave (gw, actions, from, now);
  from = actions->len;
  stox_bounce_hold_on_timer (gw->bounces, gw->link_up, now, actions);
  count_errors_sent (gw, actions, from);
}

gint64
stox_gateway_next_deadline (StoxGateway *gw)
{
  return stox_deadline_earliest (stox_deadline_earliest (stox_im_next_deadline (gw->im),
                                                        stox_presence_next_deadline (gw->presence)),
                                 stox_bounce_hold_next_deadline (gw->bounces, gw->link_up));
}

void
stox_gateway_restore (StoxGateway           *gw,
                      const StoxStoreRecord *record,
                      gint64                 now,
                      GPtrArray             *actions)
{
  guint from = actions->len;

  stox_presence_restore (gw->presence, presence_env (gw), record, now, actions);
  leave (gw, actions, from, now);
}

void
stox_gateway_on_shutdown (StoxGateway *gw, gint64 now, GPtrArray *actions)
{
  guint from = actions->len;

  stox_im_on_shutdown (gw->im, im_env (gw), now, actions);
  stox_presence_on_shutdown (gw->presence, presence_env (gw), gw->end_subscriptions_on_stop, now,
                             actions);
  leave (gw, actions, from, now);
  from = actions->len;
  stox_bounce_hold_on_shutdown (gw->bounces, gw->link_up, now, actions);
  count_errors_sent (gw, actions, from);
}
