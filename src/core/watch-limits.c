/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The limits of the SIP watchers of XMPP users; see watch-limits.h.
 */
#include "config.h"

#include "watch-limits.h"

/* A subscription request sent to an XMPP user for a pair, remembered for
 * STOX_WATCH_ASK_INTERVAL_S so that it goes once per pair and interval,
 * however many SUBSCRIBEs (or fetches) arrive.  It is its own key in
 * `asked`: the pair's two names, interned, are compared by address. */
typedef struct _Asked Asked;
struct _Asked
{
  const char *watcher_jid;      /* a reference each, in `watchers` */
  const char *target_jid;       /* and `users` */
  gint64      at;
  Asked      *next;             /* in the FIFO, by time (one interval) */
};

struct _StoxWatchLimits
{
  /* The names dialogs are counted under (stox_intern_count()): per
   * source address, per watcher JID and per XMPP user; a name goes with
   * its last reference. */
  StoxIntern *names[STOX_WATCH_NAME_N];
  GHashTable *asked;            /* set of Asked */
  Asked      *asked_head;       /* the oldest */
  Asked      *asked_tail;
};

static guint
asked_hash (gconstpointer p)
{
  const Asked *a = p;

  return g_direct_hash (a->watcher_jid) * 31 + g_direct_hash (a->target_jid);
}

static gboolean
asked_equal (gconstpointer p, gconstpointer q)
{
  const Asked *a = p, *b = q;

  return a->watcher_jid == b->watcher_jid && a->target_jid == b->target_jid;
}

StoxWatchLimits *
stox_watch_limits_new (void)
{
  StoxWatchLimits *wl = g_new0 (StoxWatchLimits, 1);

  for (guint i = 0; i < STOX_WATCH_NAME_N; i++)
    wl->names[i] = stox_intern_new ();
  wl->asked = g_hash_table_new_full (asked_hash, asked_equal, g_free, NULL);
  return wl;
}

void
stox_watch_limits_free (StoxWatchLimits *wl)
{
  if (wl == NULL)
    return;
  /* The names go with their tables: the entries' references are not
   * given back one by one. */
  g_hash_table_unref (wl->asked);
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

/* ---- asked once per pair and interval (RFC 6121 §3.1.1) ---------------- */

/* Forgets the oldest request. */
static void
asked_pop (StoxWatchLimits *wl)
{
  Asked *a = wl->asked_head;

  wl->asked_head = a->next;
  if (wl->asked_head == NULL)
    wl->asked_tail = NULL;
  g_hash_table_steal (wl->asked, a);
  stox_intern_unref (wl->names[STOX_WATCH_NAME_WATCHER], a->watcher_jid);
  stox_intern_unref (wl->names[STOX_WATCH_NAME_USER], a->target_jid);
  g_free (a);
}

/* Forgets the requests older than the interval: the FIFO is in time
 * order, so only its head is looked at. */
static void
asked_expire (StoxWatchLimits *wl, gint64 now)
{
  while (wl->asked_head != NULL &&
         wl->asked_head->at + (gint64) STOX_WATCH_ASK_INTERVAL_S * G_USEC_PER_SEC <= now)
    asked_pop (wl);
}

/* The pair's subscription request goes to the XMPP user unless one went
 * within the interval (RFC 6121 §3.1.1: the user answers it once; a
 * repeat only nags her).  The memory is bounded like every table: when
 * full, the oldest request is forgotten. */
gboolean
stox_watch_limits_ask (StoxWatchLimits       *wl,
                       const StoxPresenceEnv *env,
                       const char            *watcher_jid,
                       const char            *target_jid,
                       gint64                 now)
{
  Asked probe = { .watcher_jid = watcher_jid, .target_jid = target_jid };
  Asked *a;

  asked_expire (wl, now);
  if (g_hash_table_contains (wl->asked, &probe))
    return FALSE;
  if (g_hash_table_size (wl->asked) >= MAX (env->max_subscriptions, 1))
    asked_pop (wl);
  a = g_new0 (Asked, 1);
  a->watcher_jid = stox_intern_ref (wl->names[STOX_WATCH_NAME_WATCHER], watcher_jid);
  a->target_jid = stox_intern_ref (wl->names[STOX_WATCH_NAME_USER], target_jid);
  a->at = now;
  g_hash_table_add (wl->asked, a);
  if (wl->asked_tail != NULL)
    wl->asked_tail->next = a;
  else
    wl->asked_head = a;
  wl->asked_tail = a;
  return TRUE;
}
