/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Presence both ways; see presence.h.  This file owns what the two
 * directions share: the one timer sequence, the bound on both tables, the
 * dispatch of each event to watch.c (S2X) or follow.c (X2S), restart and
 * shutdown.  Section numbers are RFC 8048's unless another RFC is named.
 */
#include "config.h"

#include "presence.h"

#include "actions.h"
#include "deadline.h"
#include "follow.h"
#include "timers.h"
#include "watch.h"

struct _StoxPresence
{
  StoxTimers  *timers;           /* every deadline of both directions */
  StoxWatches *watches;          /* S2X */
  StoxFollows *follows;          /* X2S */
  StoxTimer    resync_timer;     /* TIMER_RESYNC, while batches remain */
  guint        restored_follows; /* spreads their first SUBSCRIBEs */
};

/* What a restart asks of the peers is spread out: the component's send
 * queue is bounded (10 000 stanzas by default, then sends fail) and a SIP
 * proxy should not meet 100 000 SUBSCRIBEs in one burst.  RESTORE_BATCH
 * every RESTORE_TICK_US is 10 000 per second. */
#define RESTORE_BATCH   500
#define RESTORE_TICK_US (50 * 1000)

StoxPresence *
stox_presence_new (void)
{
  StoxPresence *p = g_new0 (StoxPresence, 1);

  p->timers = stox_timers_new ();
  p->watches = stox_watches_new (p->timers);
  p->follows = stox_follows_new (p->timers);
  return p;
}

void
stox_presence_free (StoxPresence *p)
{
  if (p == NULL)
    return;
  stox_watches_free (p->watches);
  stox_follows_free (p->follows);
  stox_timers_free (p->timers);
  g_free (p);
}

guint
stox_presence_count_watches (StoxPresence *p)
{
  return stox_watches_count (p->watches);
}

guint
stox_presence_count_watches_pending (StoxPresence *p)
{
  return stox_watches_count_pending (p->watches);
}

guint
stox_presence_count_follows (StoxPresence *p)
{
  return stox_follows_count (p->follows);
}

/* One bound for the watchers' dialogs and the gateway's own
 * subscriptions together, the gateway's (StoxGatewayConfig.max_pending). */
static gboolean
at_capacity (StoxPresence *p, const StoxPresenceEnv *env)
{
  return stox_watches_count (p->watches) + stox_follows_count (p->follows) >=
         env->max_subscriptions;
}

/* ---- events ------------------------------------------------------------ */

void
stox_presence_on_sip (StoxPresence          *p,
                      const StoxPresenceEnv *env,
                      const StoxSipRequest  *req,
                      gint64                 now,
                      GPtrArray             *actions)
{
  if (req->method == STOX_SIP_METHOD_NOTIFY)
    stox_follow_on_notify (p->follows, env, req, now, actions);
  else if (req->dialog != 0)
    stox_watch_on_refresh (p->watches, env, req, now, actions);
  else
    stox_watch_on_subscribe (p->watches, env, req, at_capacity (p, env), now, actions);
}

gboolean
stox_presence_on_sip_response (StoxPresence          *p,
                               const StoxPresenceEnv *env,
                               const StoxSipResponse *resp,
                               gint64                 now,
                               GPtrArray             *actions)
{
  return stox_watch_on_notify_response (p->watches, env, resp, now, actions) ||
         stox_follow_on_subscribe_response (p->follows, env, resp, now, actions);
}

void
stox_presence_on_stanza (StoxPresence          *p,
                         const StoxPresenceEnv *env,
                         const StoxStanza      *st,
                         gint64                 now,
                         GPtrArray             *actions)
{
  g_auto (StoxStanzaRoute) route = { 0 };
  g_autofree char *why = NULL;
  const char *condition;

  if (st->from == NULL || st->to == NULL)
    return;
  if (!stox_route_stanza (env->route, st, &route, &condition, &why))
    {
      if (g_strcmp0 (st->type, "error") != 0 && g_strcmp0 (st->type, "unavailable") != 0)
        stox_actions_stanza_error (actions, env->rules, st, env->route->component,
                                   condition, why);
      return;
    }

  if (g_strcmp0 (st->type, "subscribe") == 0)
    stox_follow_on_subscribe (p->follows, env, st, &route, at_capacity (p, env), actions);
  else if (g_strcmp0 (st->type, "unsubscribe") == 0)
    stox_follow_on_unsubscribe (p->follows, env, &route, actions);
  else if (g_strcmp0 (st->type, "probe") == 0)
    stox_follow_on_probe (p->follows, env, st, &route, at_capacity (p, env), actions);
  else
    stox_watch_on_presence (p->watches, env, st, route.from_bare, route.from_resource,
                            route.to_bare, now, actions);
}

/* ---- restart ----------------------------------------------------------- */

void
stox_presence_restore (StoxPresence          *p,
                       const StoxPresenceEnv *env,
                       const StoxStoreRecord *r,
                       gint64                 now,
                       GPtrArray             *actions)
{
  if (r->remove || r->xmpp_jid == NULL || r->sip_jid == NULL)
    return;
  switch (r->kind)
    {
    case STOX_STORE_FOLLOW:
      /* Re-subscribed from the loop, not from start-up itself, a batch
       * per tick. */
      if (stox_follow_restore (p->follows, env, r,
                               now + (gint64) (p->restored_follows / RESTORE_BATCH)
                                     * RESTORE_TICK_US,
                               actions))
        p->restored_follows++;
      break;
    case STOX_STORE_APPROVAL:
      stox_watch_restore_approval (p->watches, r);
      break;
    case STOX_STORE_WATCH:
      stox_watch_restore (p->watches, env, r, now, actions);
      break;
    }
}

/* Up to RESTORE_BATCH pairs asked for their current state, and up to
 * RESTORE_BATCH XMPP users told what came while the link was down; the
 * rest a tick later. */
static void
resync_batch (StoxPresence *p, const StoxPresenceEnv *env, gint64 now, GPtrArray *actions)
{
  guint left = stox_watch_resync (p->watches, env, RESTORE_BATCH, now, actions);

  left += stox_follow_resync (p->follows, env, RESTORE_BATCH, actions);
  if (left > 0)
    stox_timers_arm (p->timers, &p->resync_timer, STOX_PRESENCE_TIMER_RESYNC, p,
                     now + RESTORE_TICK_US);
  else
    stox_timers_cancel (p->timers, &p->resync_timer);
}

void
stox_presence_on_link (StoxPresence          *p,
                       const StoxPresenceEnv *env,
                       gboolean               up,
                       gint64                 now,
                       GPtrArray             *actions)
{
  stox_watch_on_link (p->watches, up);
  if (!up)
    {
      /* What is left waits for the next link (its stanzas would fail). */
      stox_timers_cancel (p->timers, &p->resync_timer);
      return;
    }
  resync_batch (p, env, now, actions);
}

gboolean
stox_presence_on_send_failed (StoxPresence          *p,
                              const StoxPresenceEnv *env,
                              const StoxStanza      *st,
                              StoxXmppSendFailure    why,
                              gint64                 now)
{
  gboolean again;

  /* A stanza that cannot be written fails the same way every time. */
  if (st == NULL || st->kind != STOX_STANZA_PRESENCE || why != STOX_XMPP_SEND_FAILED_LINK)
    return FALSE;
  /* Both, not either: the same two JIDs may be a pair and a follow. */
  again = stox_watch_on_send_failed (p->watches, st);
  again = stox_follow_on_send_failed (p->follows, st) || again;
  /* Down: the link's coming up runs the batches.  Up, its queue full: a
   * little later, not at the next batch's tick (it would fail the same
   * way); a failure while it waits pushes it out again. */
  if (again && env->link_up)
    stox_timers_arm (p->timers, &p->resync_timer, STOX_PRESENCE_TIMER_RESYNC, p,
                     now + STOX_PRESENCE_RETRY_US);
  return again;
}

/* ---- timers and shutdown ----------------------------------------------- */

void
stox_presence_on_timer (StoxPresence          *p,
                        const StoxPresenceEnv *env,
                        gint64                 now,
                        GPtrArray             *actions)
{
  guint kind;
  gpointer owner;

  stox_follow_forget_ended (p->follows, now);

  while (stox_timers_pop (p->timers, now, &kind, &owner))
    switch ((StoxPresenceTimerKind) kind)
      {
      case STOX_PRESENCE_TIMER_WATCH_EXPIRY:
        stox_watch_expire (p->watches, env, owner, now, actions);
        break;
      case STOX_PRESENCE_TIMER_FOLLOW_REFRESH:
        stox_follow_refresh (p->follows, env, owner, actions);
        break;
      case STOX_PRESENCE_TIMER_RESYNC:
        if (env->link_up)
          resync_batch (p, env, now, actions);
        break;
      case STOX_PRESENCE_TIMER_PROBE_WAIT:
        stox_watch_probe_waited (p->watches, env, owner, now, actions);
        break;
      case STOX_PRESENCE_TIMER_FOLLOW_RETRY:
        stox_follow_retry (p->follows, env, owner, actions);
        break;
      }
}

gint64
stox_presence_next_deadline (StoxPresence *p)
{
  return stox_deadline_earliest (stox_timers_next (p->timers),
                                 stox_follow_next_ended (p->follows));
}

void
stox_presence_on_shutdown (StoxPresence          *p,
                           const StoxPresenceEnv *env,
                           gboolean               end_subscriptions,
                           gint64                 now,
                           GPtrArray             *actions)
{
  stox_watch_shutdown (p->watches, env, end_subscriptions, now, actions);
  stox_timers_cancel (p->timers, &p->resync_timer);
  stox_follow_shutdown (p->follows, env, end_subscriptions, actions);
}
