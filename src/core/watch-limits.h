/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What bounds the SIP watchers of XMPP users (watch.c): dialogs counted
 * per source, per watcher and per XMPP user (stox.conf(5):
 * max-subscriptions-per-*), on the interned names of each.  (The
 * subscription requests asked once per pair and interval are kept on the
 * pairs, watch.c.)  Pure: no I/O, no clock.
 */
#pragma once

#include "intern.h"
#include "presence-env.h"

G_BEGIN_DECLS

typedef struct _StoxWatchLimits StoxWatchLimits;

StoxWatchLimits *stox_watch_limits_new (void);
/* Frees the names too, whoever still refers to them. */
void             stox_watch_limits_free (StoxWatchLimits *wl);

/* The names the limits count on, interned (intern.h): a pair or dialog
 * holds a reference to each of its own, so an XMPP user that many watch,
 * or the proxy they come through, is one copy. */
typedef enum
{
  STOX_WATCH_NAME_SOURCE,    /* a SUBSCRIBE's source address */
  STOX_WATCH_NAME_WATCHER,   /* a watcher's bare JID */
  STOX_WATCH_NAME_USER,      /* an XMPP user's bare JID */
  STOX_WATCH_NAME_N
} StoxWatchName;

/* stox_intern_ref(), _unref() and _lookup() of the `kind` names. */
const char *stox_watch_limits_ref (StoxWatchLimits *wl, StoxWatchName kind, const char *s);
void        stox_watch_limits_unref (StoxWatchLimits *wl, StoxWatchName kind, const char *name);
const char *stox_watch_limits_lookup (StoxWatchLimits *wl, StoxWatchName kind, const char *s);

/* One more dialog for these, or FALSE with the limit it would pass. */
gboolean stox_watch_limits_allow (StoxWatchLimits       *wl,
                                  const StoxPresenceEnv *env,
                                  const char            *source,
                                  const char            *watcher_jid,
                                  const char            *target_jid,
                                  const char           **ret_why);

/* A dialog comes (+1) or goes (-1); the names are interned ones (a
 * NULL `source` is not counted). */
void stox_watch_limits_count (StoxWatchLimits *wl,
                              const char      *source,
                              const char      *watcher_jid,
                              const char      *target_jid,
                              gint             delta);

G_END_DECLS
