/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What bounds the SIP watchers of XMPP users (watch.c): dialogs counted
 * per source, per watcher and per XMPP user (stox.conf(5):
 * max-subscriptions-per-*), and the subscription requests to XMPP users,
 * asked once per (watcher, user) and interval.  Pure: no I/O, no clock.
 */
#pragma once

#include "presence-env.h"

G_BEGIN_DECLS

/* A subscription request goes to an XMPP user once per (watcher, user)
 * and this interval, however many SUBSCRIBEs arrive. */
#define STOX_WATCH_ASK_INTERVAL_S 3600

typedef struct _StoxWatchLimits StoxWatchLimits;

StoxWatchLimits *stox_watch_limits_new (void);
void             stox_watch_limits_free (StoxWatchLimits *wl);

/* One more dialog for these, or FALSE with the limit it would pass. */
gboolean stox_watch_limits_allow (StoxWatchLimits       *wl,
                                  const StoxPresenceEnv *env,
                                  const char            *source,
                                  const char            *watcher_jid,
                                  const char            *target_jid,
                                  const char           **ret_why);

/* A dialog comes (+1) or goes (-1); a NULL `source` is not counted. */
void stox_watch_limits_count (StoxWatchLimits *wl,
                              const char      *source,
                              const char      *watcher_jid,
                              const char      *target_jid,
                              gint             delta);

/* TRUE when the request for the pair `pair_key` is to go now (it is then
 * remembered); FALSE when one went within STOX_WATCH_ASK_INTERVAL_S. */
gboolean stox_watch_limits_ask (StoxWatchLimits       *wl,
                                const StoxPresenceEnv *env,
                                const char            *pair_key,
                                gint64                 now);

G_END_DECLS
