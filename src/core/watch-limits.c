/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The limits of the SIP watchers of XMPP users; see watch-limits.h.
 */
#include "config.h"

#include "watch-limits.h"

struct _StoxWatchLimits
{
  /* The names dialogs are counted under (stox_intern_count()): per
   * source address, per watcher JID and per XMPP user; a name goes with
   * its last reference. */
  StoxIntern *names[STOX_WATCH_NAME_N];
};

StoxWatchLimits *
stox_watch_limits_new (void)
{
  StoxWatchLimits *wl = g_new0 (StoxWatchLimits, 1);

  for (guint i = 0; i < STOX_WATCH_NAME_N; i++)
    wl->names[i] = stox_intern_new ();
  return wl;
}

void
stox_watch_limits_free (StoxWatchLimits *wl)
{
  if (wl == NULL)
    return;
  /* The names go with their tables, whoever still refers to them. */
  for (guint i = 0; i < STOX_WATCH_NAME_N; i++)
    stox_intern_free (wl->names[i]);
  g_free (wl);
}

const char *
stox_watch_limits_ref (StoxWatchLimits *wl, StoxWatchName kind, const char *s)
{
  return stox_intern_ref (wl->names[kind], s);
}

void
stox_watch_limits_unref (StoxWatchLimits *wl, StoxWatchName kind, const char *name)
{
  stox_intern_unref (wl->names[kind], name);
}

const char *
stox_watch_limits_lookup (StoxWatchLimits *wl, StoxWatchName kind, const char *s)
{
  return stox_intern_lookup (wl->names[kind], s);
}

/* ---- limits (stox.conf(5): max-subscriptions-per-*) --------------------- */

static guint
count_of (StoxWatchLimits *wl, StoxWatchName kind, const char *s)
{
  return stox_intern_count (stox_intern_lookup (wl->names[kind], s));
}

/* One more dialog for these, or FALSE with the limit it would pass. */
gboolean
stox_watch_limits_allow (StoxWatchLimits       *wl,
                         const StoxPresenceEnv *env,
                         const char            *source,
                         const char            *watcher_jid,
                         const char            *target_jid,
                         const char           **ret_why)
{
  if (count_of (wl, STOX_WATCH_NAME_SOURCE, source) >= env->max_per_source)
    *ret_why = "too many subscriptions from this source (max-subscriptions-per-source)";
  else if (count_of (wl, STOX_WATCH_NAME_WATCHER, watcher_jid) >= env->max_per_watcher)
    *ret_why = "too many subscriptions of this watcher (max-subscriptions-per-watcher)";
  else if (count_of (wl, STOX_WATCH_NAME_USER, target_jid) >= env->max_per_user)
    *ret_why = "too many subscriptions to this user (max-subscriptions-per-user)";
  else
    return TRUE;
  return FALSE;
}

void
stox_watch_limits_count (StoxWatchLimits *wl,
                         const char      *source,
                         const char      *watcher_jid,
                         const char      *target_jid,
                         gint             delta)
{
  (void) wl;
  stox_intern_count_add (source, delta);
  stox_intern_count_add (watcher_jid, delta);
  stox_intern_count_add (target_jid, delta);
}
