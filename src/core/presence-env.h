/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What both directions of presence share (RFC 8048 §5): what the engine
 * lends them for one event, the expiry the gateway asks for and grants,
 * their timer kinds and the key of a pair of bare JIDs.  presence.c owns
 * the tables' timers and dispatches; watch.c and follow.c hold the two
 * directions.
 */
#pragma once

#include "route.h"
#include "rules.h"
#include "types.h"

G_BEGIN_DECLS

/* What the engine lends presence for one event. */
typedef struct
{
  const StoxRouteConfig *route;
  const StoxRules       *rules;
  gboolean               link_up;
  guint                  retry_in_s;
  StoxToken             *next_token;   /* shared token counter */
  guint                  max_subscriptions;  /* the bound on watches and
                                              * follows together: the
                                              * gateway's max_pending */
  /* SIP watchers' dialogs at most per source address, per watcher and on
   * one XMPP user (never 0: the gateway fills in its defaults). */
  guint                  max_per_source;
  guint                  max_per_watcher;
  guint                  max_per_user;
} StoxPresenceEnv;

/* RFC 3856 §6.4 default; also the gateway's own request. */
#define STOX_PRESENCE_DEFAULT_EXPIRES 3600

/* The kinds of timer in presence's one ordered sequence (timers.h). */
typedef enum
{
  STOX_PRESENCE_TIMER_WATCH_EXPIRY,     /* a SIP watcher did not refresh */
  STOX_PRESENCE_TIMER_FOLLOW_REFRESH,   /* re-SUBSCRIBE before the dialog expires */
  STOX_PRESENCE_TIMER_FOLLOW_RETRY,     /* new dialog after a transient failure */
  STOX_PRESENCE_TIMER_RESYNC,           /* the next batch of restored pairs to resync */
  STOX_PRESENCE_TIMER_PROBE_WAIT,       /* a probe's answer did not come in time */
} StoxPresenceTimerKind;

/* A new SIP token from the engine's one counter. */
static inline StoxToken
stox_presence_env_token (const StoxPresenceEnv *env)
{
  return ++*env->next_token;
}

/* The key of an ordered pair of bare JIDs (a watch's watcher and target,
 * a follow's XMPP user and SIP contact); '\n' is in no JID. */
static inline char *
stox_presence_pair_key (const char *a, const char *b)
{
  return g_strdup_printf ("%s\n%s", a, b);
}

G_END_DECLS
