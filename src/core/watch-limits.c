/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The limits of the SIP watchers of XMPP users; see watch-limits.h.
 */
#include "config.h"

#include "watch-limits.h"

/* A subscription request sent to an XMPP user for a pair, remembered for
 * STOX_WATCH_ASK_INTERVAL_S so that it goes once per pair and interval,
 * however many SUBSCRIBEs (or fetches) arrive. */
typedef struct
{
  char  *key;                   /* the pair's key */
  gint64 at;
  GList  link;                  /* in asked_fifo, by time (one interval) */
} Asked;

struct _StoxWatchLimits
{
  /* Dialogs per source address, per watcher JID and per XMPP user (key →
   * guint count); a key goes with its last dialog. */
  GHashTable *per_source;
  GHashTable *per_watcher;
  GHashTable *per_user;
  GHashTable *asked;            /* pair key → Asked */
  GQueue      asked_fifo;
};

static void
asked_free (Asked *a)
{
  g_free (a->key);
  g_free (a);
}

StoxWatchLimits *
stox_watch_limits_new (void)
{
  StoxWatchLimits *wl = g_new0 (StoxWatchLimits, 1);

  wl->per_source = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  wl->per_watcher = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  wl->per_user = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  wl->asked = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) asked_free);
  return wl;
}

void
stox_watch_limits_free (StoxWatchLimits *wl)
{
  if (wl == NULL)
    return;
  g_queue_init (&wl->asked_fifo);   /* its links live in the entries */
  g_hash_table_unref (wl->asked);
  g_hash_table_unref (wl->per_source);
  g_hash_table_unref (wl->per_watcher);
  g_hash_table_unref (wl->per_user);
  g_free (wl);
}

/* ---- limits (stox.conf(5): max-subscriptions-per-*) --------------------- */

/* The counts are the tables' values themselves (GUINT_TO_POINTER): one
 * allocation less per key, and there is a key per watcher and per user. */
static guint
count_of (GHashTable *counts, const char *key)
{
  return key != NULL ? GPOINTER_TO_UINT (g_hash_table_lookup (counts, key)) : 0;
}

static void
count_add (GHashTable *counts, const char *key, gint delta)
{
  gpointer kept = NULL, value = NULL;
  guint n;

  if (key == NULL)
    return;
  /* Out and back in with the same key string (an insert over an existing
   * key would free the key passed in). */
  if (!g_hash_table_steal_extended (counts, key, &kept, &value))
    kept = g_strdup (key);
  n = GPOINTER_TO_UINT (value) + (guint) delta;
  if (n == 0)
    g_free (kept);
  else
    g_hash_table_insert (counts, kept, GUINT_TO_POINTER (n));
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
  if (count_of (wl->per_source, source) >= env->max_per_source)
    *ret_why = "too many subscriptions from this source (max-subscriptions-per-source)";
  else if (count_of (wl->per_watcher, watcher_jid) >= env->max_per_watcher)
    *ret_why = "too many subscriptions of this watcher (max-subscriptions-per-watcher)";
  else if (count_of (wl->per_user, target_jid) >= env->max_per_user)
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
  count_add (wl->per_source, source, delta);
  count_add (wl->per_watcher, watcher_jid, delta);
  count_add (wl->per_user, target_jid, delta);
}

/* ---- asked once per pair and interval (RFC 6121 §3.1.1) ---------------- */

/* Forgets the requests older than the interval: the FIFO is in time
 * order, so only its head is looked at. */
static void
asked_expire (StoxWatchLimits *wl, gint64 now)
{
  GList *l;

  while ((l = g_queue_peek_head_link (&wl->asked_fifo)) != NULL &&
         ((Asked *) l->data)->at + (gint64) STOX_WATCH_ASK_INTERVAL_S * G_USEC_PER_SEC <= now)
    {
      g_queue_unlink (&wl->asked_fifo, l);
      g_hash_table_remove (wl->asked, ((Asked *) l->data)->key);
    }
}

/* The pair's subscription request goes to the XMPP user unless one went
 * within the interval (RFC 6121 §3.1.1: the user answers it once; a
 * repeat only nags her).  The memory is bounded like every table: when
 * full, the oldest request is forgotten. */
gboolean
stox_watch_limits_ask (StoxWatchLimits       *wl,
                       const StoxPresenceEnv *env,
                       const char            *pair_key,
                       gint64                 now)
{
  Asked *a;

  asked_expire (wl, now);
  if (g_hash_table_contains (wl->asked, pair_key))
    return FALSE;
  if (g_hash_table_size (wl->asked) >= MAX (env->max_subscriptions, 1))
    {
      GList *l = g_queue_pop_head_link (&wl->asked_fifo);
      g_hash_table_remove (wl->asked, ((Asked *) l->data)->key);
    }
  a = g_new0 (Asked, 1);
  a->key = g_strdup (pair_key);
  a->at = now;
  a->link.data = a;
  g_hash_table_insert (wl->asked, a->key, a);
  g_queue_push_tail_link (&wl->asked_fifo, &a->link);
  return TRUE;
}
