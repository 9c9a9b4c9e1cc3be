/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Presence both ways; see presence.h.  Section numbers are RFC 8048's
 * unless another RFC is named; rfc-mappings.md §2 has the tables.
 */
#include "config.h"

#include "presence.h"

#include <string.h>

#include "actions.h"
#include "address.h"
#include "pidf.h"

/* ---- timers ------------------------------------------------------------ */

typedef enum
{
  TIMER_WATCH_EXPIRY,     /* a SIP watcher did not refresh */
  TIMER_FOLLOW_REFRESH,   /* re-SUBSCRIBE before the dialog expires */
  TIMER_FOLLOW_RETRY,     /* new dialog after a transient failure */
  TIMER_RESYNC,           /* the next batch of restored pairs to resync */
} TimerKind;

typedef struct
{
  gint64    deadline;
  guint64   serial;       /* keeps equal deadlines in arrival order */
  TimerKind kind;
  gpointer  owner;
} Timer;

static gint
timer_compare (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Timer *x = a, *y = b;

  if (x->deadline != y->deadline)
    return x->deadline < y->deadline ? -1 : 1;
  return x->serial < y->serial ? -1 : (x->serial > y->serial ? 1 : 0);
}

/* ---- state ------------------------------------------------------------- */

/* (watcher JID, XMPP user): what the XMPP user told that watcher. */
typedef struct
{
  char       *key;
  char       *watcher_jid;   /* romeo@sip.example (bare) */
  char       *target_jid;    /* juliet@example.org (bare) */
  gboolean    authorized;    /* <presence type=subscribed/> seen */
  GHashTable *resources;     /* resource ("" = bare) → StoxPresenceInfo */
  GList      *watches;       /* Watch*, the dialogs fed by this pair */
} Pair;

/* A SIP watcher's dialog (S2X). */
typedef struct
{
  StoxToken     dialog;
  Pair         *pair;
  char         *entity;      /* the Request-URI: the PIDF entity */
  StoxSubstate  state;
  gint64        expires_at;
  GSequenceIter *timer;
  StoxToken     notify_inflight;
  gboolean      dirty;       /* an update waits for the in-flight NOTIFY */
  gboolean      ending;      /* its terminated NOTIFY is out */
  gboolean      stored;      /* a WATCH record is kept: one remove owed */
} Watch;

typedef enum
{
  FOLLOW_SUBSCRIBING,   /* SUBSCRIBE sent, no final answer yet */
  FOLLOW_ESTABLISHED,   /* 2xx seen: the dialog lives */
  FOLLOW_WAITING,       /* transient failure: retry timer armed */
  FOLLOW_ENDING,        /* Expires: 0 sent on the XMPP user's unsubscribe */
  FOLLOW_FETCH,         /* one-shot Expires: 0 for a probe (§7) */
  FOLLOW_STOPPING,      /* Expires: 0 sent because the gateway stops */
} FollowState;

/* An XMPP user's subscription to a SIP user (X2S). */
typedef struct
{
  char        *key;
  char        *xmpp_jid;      /* bob@example.org (bare) */
  char        *contact_jid;   /* alice@sip.example (bare, component) */
  char        *request_uri;   /* sip:alice@sip.example */
  char        *from_uri;      /* sip:bob@example.org */
  StoxToken    dialog;        /* 0: none */
  FollowState  state;
  guint        expires;       /* asked for, then granted */
  gboolean     told_subscribed;
  GSequenceIter *timer;
  GHashTable  *last;          /* resource ("" = bare) → StoxPresenceInfo,
                               * the last NOTIFY's, for probes (§7) */
} Follow;

/* A dialog the gateway ended with Expires: 0: the notifier still owes
 * it a final NOTIFY (RFC 6665 §4.1.2.3), answered 200 until Timer N. */
typedef struct
{
  StoxToken dialog;
  gint64    until;
  GList     link;
} Ended;

/* RFC 6665 Timer N: 64 × T1. */
#define ENDED_DIALOG_US (32 * G_USEC_PER_SEC)

struct _StoxPresence
{
  GHashTable *ended;            /* &dialog → Ended */
  GQueue      ended_fifo;       /* Ended, by deadline (one constant) */
  GHashTable *pairs;            /* key → Pair */
  GHashTable *watch_by_dialog;  /* &dialog → Watch */
  GHashTable *watch_by_notify;  /* &notify token → Watch */
  GHashTable *follows;          /* key → Follow */
  GHashTable *follow_by_dialog; /* &dialog → Follow */
  GSequence  *timers;           /* of Timer */
  guint64     timer_serial;
  GHashTable *resync;           /* Pair* with restored watches, until the
                                 * link is up (stox_presence_on_link) */
  GSequenceIter *resync_timer;  /* TIMER_RESYNC, while batches remain */
  guint       restored_follows; /* spreads their first SUBSCRIBEs */
};

/* What a restart asks of the peers is spread out: the component's send
 * queue is bounded (10 000 stanzas by default, then sends fail) and a SIP
 * proxy should not meet 100 000 SUBSCRIBEs in one burst.  RESTORE_BATCH
 * every RESTORE_TICK_US is 10 000 per second. */
#define RESTORE_BATCH   500
#define RESTORE_TICK_US (50 * 1000)

static void
timer_cancel (StoxPresence *p, GSequenceIter **iter)
{
  if (*iter != NULL)
    {
      g_sequence_remove (*iter);
      *iter = NULL;
    }
}

static void
timer_arm (StoxPresence   *p,
           GSequenceIter **iter,
           TimerKind       kind,
           gpointer        owner,
           gint64          deadline)
{
  Timer *t = g_new0 (Timer, 1);

  timer_cancel (p, iter);
  t->deadline = deadline;
  t->serial = ++p->timer_serial;
  t->kind = kind;
  t->owner = owner;
  *iter = g_sequence_insert_sorted (p->timers, t, timer_compare, NULL);
}

/* The key of an ordered pair of bare JIDs (a watch's watcher and target,
 * a follow's XMPP user and SIP contact); '\n' is in no JID. */
static char *
pair_key (const char *a, const char *b)
{
  return g_strdup_printf ("%s\n%s", a, b);
}

static void
pair_free (Pair *pair)
{
  g_free (pair->key);
  g_free (pair->watcher_jid);
  g_free (pair->target_jid);
  g_hash_table_unref (pair->resources);
  g_list_free (pair->watches);
  g_free (pair);
}

static Pair *
pair_get (StoxPresence *p, const char *watcher_jid, const char *target_jid, gboolean create)
{
  g_autofree char *key = pair_key (watcher_jid, target_jid);
  Pair *pair = g_hash_table_lookup (p->pairs, key);

  if (pair == NULL && create)
    {
      pair = g_new0 (Pair, 1);
      pair->key = g_steal_pointer (&key);
      pair->watcher_jid = g_strdup (watcher_jid);
      pair->target_jid = g_strdup (target_jid);
      pair->resources = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                               (GDestroyNotify) stox_presence_info_free);
      g_hash_table_insert (p->pairs, pair->key, pair);
    }
  return pair;
}

/* Frees a pair; the only way pairs go, so the resync set never holds a
 * freed one. */
static void
pair_drop (StoxPresence *p, Pair *pair)
{
  g_hash_table_remove (p->resync, pair);
  g_hash_table_remove (p->pairs, pair->key);
}

static void
watch_free (Watch *w)
{
  g_free (w->entity);
  g_free (w);
}

static StoxStoreRecord *
store (GPtrArray *actions, StoxStoreKind kind, gboolean remove, const char *a, const char *b)
{
  StoxAction *act = g_new0 (StoxAction, 1);

  act->kind = STOX_ACTION_STORE;
  act->u.store.kind = kind;
  act->u.store.remove = remove;
  act->u.store.a = g_strdup (a);
  act->u.store.b = g_strdup (b);
  g_ptr_array_add (actions, act);
  return &act->u.store;
}

/* A watch's WATCH record: written with the current deadline while the
 * dialog lives (again on each refresh: same key, replaced), and removed
 * exactly once when it ends, so a restart brings back only dialogs the
 * watcher still holds.  A remove for a watch never stored (a fetch) is
 * not emitted. */
static void
store_watch (GPtrArray *actions, Watch *w, gboolean remove)
{
  StoxStoreRecord *r;

  if (remove && !w->stored)
    return;
  r = store (actions, STOX_STORE_WATCH, remove, w->pair->watcher_jid, w->pair->target_jid);
  r->dialog = w->dialog;
  if (!remove)
    {
      r->c = g_strdup (w->entity);
      r->deadline = w->expires_at;
    }
  w->stored = !remove;
}

/* Forgets a watch; its Pair goes with its last watch unless it still
 * carries an authorization worth remembering for the next SUBSCRIBE. */
static void
watch_remove (StoxPresence *p, Watch *w, GPtrArray *actions)
{
  Pair *pair = w->pair;

  /* Ended without a terminated NOTIFY (e.g. the watcher answered one
   * with 481): the record goes now. */
  store_watch (actions, w, TRUE);
  timer_cancel (p, &w->timer);
  if (w->notify_inflight != 0)
    g_hash_table_remove (p->watch_by_notify, &w->notify_inflight);
  pair->watches = g_list_remove (pair->watches, w);
  g_hash_table_remove (p->watch_by_dialog, &w->dialog);
  if (pair->watches == NULL && !pair->authorized)
    pair_drop (p, pair);
}

static void
follow_free (Follow *f)
{
  g_free (f->key);
  g_free (f->xmpp_jid);
  g_free (f->contact_jid);
  g_free (f->request_uri);
  g_free (f->from_uri);
  g_hash_table_unref (f->last);
  g_free (f);
}

static void
follow_set_dialog (StoxPresence *p, Follow *f, StoxToken dialog)
{
  if (f->dialog != 0)
    g_hash_table_remove (p->follow_by_dialog, &f->dialog);
  f->dialog = dialog;
  if (dialog != 0)
    g_hash_table_insert (p->follow_by_dialog, &f->dialog, f);
}

static void
remember_ended (StoxPresence *p, StoxToken dialog, gint64 now)
{
  Ended *e;

  if (dialog == 0 || g_hash_table_contains (p->ended, &dialog))
    return;
  e = g_new0 (Ended, 1);
  e->dialog = dialog;
  e->until = now + ENDED_DIALOG_US;
  e->link.data = e;
  g_hash_table_insert (p->ended, &e->dialog, e);
  g_queue_push_tail_link (&p->ended_fifo, &e->link);
}

static void
follow_remove (StoxPresence *p, Follow *f)
{
  timer_cancel (p, &f->timer);
  follow_set_dialog (p, f, 0);
  g_hash_table_remove (p->follows, f->key);
}

StoxPresence *
stox_presence_new (void)
{
  StoxPresence *p = g_new0 (StoxPresence, 1);

  p->pairs = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) pair_free);
  p->watch_by_dialog = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                              (GDestroyNotify) watch_free);
  p->watch_by_notify = g_hash_table_new (g_int64_hash, g_int64_equal);
  p->follows = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) follow_free);
  p->follow_by_dialog = g_hash_table_new (g_int64_hash, g_int64_equal);
  p->timers = g_sequence_new (g_free);
  p->ended = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  p->resync = g_hash_table_new (NULL, NULL);
  return p;
}

void
stox_presence_free (StoxPresence *p)
{
  if (p == NULL)
    return;
  g_hash_table_unref (p->resync);
  g_hash_table_unref (p->watch_by_notify);
  g_hash_table_unref (p->follow_by_dialog);
  g_hash_table_unref (p->watch_by_dialog);
  g_hash_table_unref (p->pairs);
  g_hash_table_unref (p->follows);
  g_sequence_free (p->timers);
  g_queue_init (&p->ended_fifo);
  g_hash_table_unref (p->ended);
  g_free (p);
}

guint
stox_presence_count_watches (StoxPresence *p)
{
  return g_hash_table_size (p->watch_by_dialog);
}

guint
stox_presence_count_follows (StoxPresence *p)
{
  return g_hash_table_size (p->follows);
}

static StoxToken
new_token (const StoxPresenceEnv *env)
{
  return ++*env->next_token;
}

static gboolean
at_capacity (StoxPresence *p, const StoxPresenceEnv *env)
{
  guint max = env->max_subscriptions != 0 ? env->max_subscriptions : 200000;

  return g_hash_table_size (p->watch_by_dialog) + g_hash_table_size (p->follows) >= max;
}

/* ---- S2X: SIP watchers of XMPP users (§5.3, Table 1) ------------------- */

/* The resource to show one SIP watcher: the available one of highest
 * priority (ties: the one that spoke last is not tracked, so the
 * smallest name, for determinism), else any unavailable one.  RFC 8048
 * §6.2 allows one NOTIFY per resource; one document per dialog keeps
 * "at most one NOTIFY in flight" exact, and SIP UAs show the most
 * available resource anyway (§2.8).  Documented in stox.conf(5). */
static const StoxPresenceInfo *
pair_best (Pair *pair)
{
  const StoxPresenceInfo *best = NULL;
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, pair->resources);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const StoxPresenceInfo *info = value;

      if (best == NULL ||
          (info->available && !best->available) ||
          (info->available == best->available &&
           (info->priority > best->priority ||
            (info->priority == best->priority &&
             g_strcmp0 (info->resource, best->resource) < 0))))
        best = info;
    }
  return best;
}

/* Returns the NOTIFY action (the STORE remove of a terminated one may
 * follow it in `actions`). */
static StoxAction *
send_notify (StoxPresence          *p,
             const StoxPresenceEnv *env,
             Watch                 *w,
             StoxSubstate           substate,
             const char            *reason,
             gboolean               with_body,
             gboolean               force_closed,
             gint64                 now,
             GPtrArray             *actions)
{
  StoxAction *a = g_new0 (StoxAction, 1);
  const StoxPresenceInfo *best = with_body ? pair_best (w->pair) : NULL;

  a->kind = STOX_ACTION_SIP_NOTIFY;
  a->u.notify.token = new_token (env);
  a->u.notify.dialog = w->dialog;
  a->u.notify.substate = substate;
  a->u.notify.reason = g_strdup (reason);
  if (substate != STOX_SUBSTATE_TERMINATED && w->expires_at > now)
    a->u.notify.expires = (guint) ((w->expires_at - now + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
  if (force_closed || best != NULL)
    {
      g_autoptr (StoxPresenceInfo) closed = NULL;
      g_autofree char *doc = NULL;

      if (force_closed || best == NULL)
        {
          /* §5.3.3: the watcher learns the presentity is gone. */
          closed = stox_presence_info_new ();
          closed->available = FALSE;
          best = closed;
        }
      doc = stox_pidf_build (w->entity, best, env->rules);
      a->u.notify.content_type = g_strdup (STOX_PIDF_CONTENT_TYPE);
      a->u.notify.body = g_bytes_new_take (doc, strlen (doc));
      doc = NULL;
    }
  g_ptr_array_add (actions, a);

  if (w->notify_inflight != 0)
    g_hash_table_remove (p->watch_by_notify, &w->notify_inflight);
  w->notify_inflight = a->u.notify.token;
  w->dirty = FALSE;
  g_hash_table_insert (p->watch_by_notify, &w->notify_inflight, w);
  if (substate == STOX_SUBSTATE_TERMINATED)
    {
      w->ending = TRUE;
      /* The watcher was told the dialog is over (RFC 6665 §4.4.1): a
       * crash from here on must not bring it back. */
      store_watch (actions, w, TRUE);
    }
  return a;
}

/* The watcher's current state: pending without a body; active with the
 * PIDF when the XMPP user's presence is known, else without a body
 * (RFC 8048 §5.3: unknown). */
static void
notify_state (StoxPresence *p, const StoxPresenceEnv *env, Watch *w, gint64 now,
              GPtrArray *actions)
{
  if (w->ending)
    return;
  if (w->notify_inflight != 0)
    {
      /* At most one NOTIFY in flight; the newest state goes next. */
      w->dirty = TRUE;
      return;
    }
  send_notify (p, env, w, w->state, NULL, w->state == STOX_SUBSTATE_ACTIVE, FALSE, now,
               actions);
}

static void
terminate_watch (StoxPresence *p, const StoxPresenceEnv *env, Watch *w, const char *reason,
                 gboolean closed, gint64 now, GPtrArray *actions)
{
  if (w->ending)
    return;
  timer_cancel (p, &w->timer);
  /* A terminated NOTIFY supersedes whatever was waiting. */
  send_notify (p, env, w, STOX_SUBSTATE_TERMINATED, reason, closed, closed, now, actions);
}

static gboolean
accept_allows_pidf (const char *accept)
{
  g_auto (GStrv) types = NULL;

  if (accept == NULL || accept[0] == '\0')
    return TRUE;   /* RFC 3856 §6.7: absent means application/pidf+xml */
  types = g_strsplit (accept, ",", -1);
  for (char **t = types; *t != NULL; t++)
    {
      g_autofree char *type = g_ascii_strdown (g_strstrip (*t), -1);
      char *semi = strchr (type, ';');

      if (semi != NULL)
        *semi = '\0';
      g_strstrip (type);
      if (g_str_equal (type, STOX_PIDF_CONTENT_TYPE) || g_str_equal (type, "*/*") ||
          g_str_equal (type, "application/*"))
        return TRUE;
    }
  return FALSE;
}

static void
send_presence (GPtrArray *actions, const char *from, const char *to, const char *type)
{
  stox_actions_stanza (actions, stox_presence_stanza_new (from, to, type));
}

static void
sip_subscribe_new (StoxPresence          *p,
                   const StoxPresenceEnv *env,
                   const StoxSipRequest  *req,
                   gint64                 now,
                   GPtrArray             *actions)
{
  g_auto (StoxSipRoute) route = { 0 };
  g_autofree char *why = NULL;
  guint status;
  gint64 expires = req->expires;

  if (g_strcmp0 (req->event, "presence") != 0)
    {
      stox_actions_respond (actions, req->token, 489, 0, NULL, NULL,
                            "only the presence event package is supported");
      return;
    }
  if (!stox_route_sip (env->route, req, &route, &status, &why))
    {
      stox_actions_respond (actions, req->token, status, 0, NULL, NULL, why);
      return;
    }
  if (!accept_allows_pidf (req->accept))
    {
      stox_actions_respond (actions, req->token, 406, 0, STOX_PIDF_CONTENT_TYPE, NULL,
                            "presence is sent as application/pidf+xml");
      return;
    }
  if (expires < 0)
    expires = STOX_PRESENCE_DEFAULT_EXPIRES;
  if (expires > 0 && expires < STOX_PRESENCE_MIN_EXPIRES)
    {
      StoxAction *a = stox_actions_respond (actions, req->token, 423, 0, NULL, NULL, NULL);
      a->u.respond.min_expires = STOX_PRESENCE_MIN_EXPIRES;
      return;
    }
  expires = MIN (expires, STOX_PRESENCE_MAX_EXPIRES);
  if (!env->link_up)
    {
      stox_actions_respond (actions, req->token, 503, MAX (env->retry_in_s, 1), NULL, NULL,
                            "the XMPP server is not reachable");
      return;
    }
  if (at_capacity (p, env))
    {
      stox_actions_respond (actions, req->token, 503, 5, NULL, NULL, "subscription table full");
      return;
    }
  if (g_hash_table_contains (p->watch_by_dialog, &req->token))
    {
      /* The front end keeps new tokens above restored dialogs; should it
       * ever not, refuse rather than overwrite a live dialog. */
      stox_actions_respond (actions, req->token, 500, 0, NULL, NULL, "dialog id in use");
      return;
    }

  g_autofree char *watcher_jid = stox_bare_jid (route.jid_from);
  Pair *pair = pair_get (p, watcher_jid, route.jid_to_bare, TRUE);
  Watch *w = g_new0 (Watch, 1);

  w->dialog = req->token;
  w->pair = pair;
  w->entity = g_strdup (req->request_uri);
  w->state = pair->authorized ? STOX_SUBSTATE_ACTIVE : STOX_SUBSTATE_PENDING;
  w->expires_at = now + expires * G_USEC_PER_SEC;
  pair->watches = g_list_prepend (pair->watches, w);
  g_hash_table_insert (p->watch_by_dialog, &w->dialog, w);

  StoxAction *ok = stox_actions_respond (actions, req->token, 200, 0, NULL, NULL, NULL);
  ok->u.respond.expires = expires;

  if (expires == 0)
    {
      /* A fetch (RFC 6665 §4.4.3): one NOTIFY with what is known. */
      send_notify (p, env, w, STOX_SUBSTATE_TERMINATED, "timeout",
                   pair->authorized, FALSE, now, actions);
      if (!pair->authorized || g_hash_table_size (pair->resources) == 0)
        send_presence (actions, pair->watcher_jid, pair->target_jid,
                       pair->authorized ? "probe" : "subscribe");
      return;
    }

  /* RFC 6665 §4.2.1.2: the first NOTIFY right after the 2xx. */
  notify_state (p, env, w, now, actions);
  timer_arm (p, &w->timer, TIMER_WATCH_EXPIRY, w, w->expires_at);
  store_watch (actions, w, FALSE);
  if (!pair->authorized)
    send_presence (actions, pair->watcher_jid, pair->target_jid, "subscribe");
  else if (g_hash_table_size (pair->resources) == 0)
    /* Approved before: a probe brings the current presence (INTERFACE §6:
     * probes only once approved). */
    send_presence (actions, pair->watcher_jid, pair->target_jid, "probe");
}

static void
sip_subscribe_in_dialog (StoxPresence          *p,
                         const StoxPresenceEnv *env,
                         const StoxSipRequest  *req,
                         gint64                 now,
                         GPtrArray             *actions)
{
  Watch *w = g_hash_table_lookup (p->watch_by_dialog, &req->dialog);
  gint64 expires = req->expires < 0 ? STOX_PRESENCE_DEFAULT_EXPIRES : req->expires;

  if (w == NULL || w->ending)
    {
      stox_actions_respond (actions, req->token, 481, 0, NULL, NULL, NULL);
      return;
    }
  if (expires > 0 && expires < STOX_PRESENCE_MIN_EXPIRES)
    {
      StoxAction *a = stox_actions_respond (actions, req->token, 423, 0, NULL, NULL, NULL);
      a->u.respond.min_expires = STOX_PRESENCE_MIN_EXPIRES;
      return;
    }
  expires = MIN (expires, STOX_PRESENCE_MAX_EXPIRES);
  StoxAction *ok = stox_actions_respond (actions, req->token, 200, 0, NULL, NULL, NULL);
  ok->u.respond.expires = expires;

  if (expires == 0)
    {
      /* §5.3.3: closed PIDF, terminated;reason=timeout, and the XMPP
       * contact hears the watcher has gone. */
      send_presence (actions, w->pair->watcher_jid, w->pair->target_jid, "unavailable");
      terminate_watch (p, env, w, "timeout", TRUE, now, actions);
      return;
    }
  w->expires_at = now + expires * G_USEC_PER_SEC;
  timer_arm (p, &w->timer, TIMER_WATCH_EXPIRY, w, w->expires_at);
  /* RFC 6665 §4.2.1.2: a refresh is answered with the current state. */
  notify_state (p, env, w, now, actions);
  /* RFC 6665 §4.2.1.4: the refresh moved the deadline; a restart must
   * keep the dialog until then. */
  store_watch (actions, w, FALSE);
}

/* ---- X2S: XMPP users following SIP users (§5.2, Table 2) --------------- */

static void
follow_subscribe (StoxPresence *p, const StoxPresenceEnv *env, Follow *f, gboolean new_dialog,
                  guint expires, GPtrArray *actions)
{
  StoxAction *a = g_new0 (StoxAction, 1);

  if (new_dialog || f->dialog == 0)
    follow_set_dialog (p, f, new_token (env));
  a->kind = STOX_ACTION_SIP_SUBSCRIBE;
  a->u.subscribe.dialog = f->dialog;
  a->u.subscribe.request_uri = g_strdup (f->request_uri);
  a->u.subscribe.from_uri = g_strdup (f->from_uri);
  a->u.subscribe.to_uri = g_strdup (f->request_uri);
  a->u.subscribe.event = g_strdup ("presence");
  a->u.subscribe.accept = g_strdup (STOX_PIDF_CONTENT_TYPE);
  a->u.subscribe.expires = expires;
  g_ptr_array_add (actions, a);
}

/* What the XMPP user saw online goes offline (shutdown, end of the
 * subscription): RFC 6121 §4.4 needs an explicit unavailable. */
static void
follow_send_unavailable (Follow *f, GPtrArray *actions)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, f->last);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (((StoxPresenceInfo *) value)->available)
      {
        const char *resource = key;
        g_autofree char *from = resource[0] != '\0'
                                ? g_strdup_printf ("%s/%s", f->contact_jid, resource)
                                : g_strdup (f->contact_jid);

        send_presence (actions, from, f->xmpp_jid, "unavailable");
      }
  g_hash_table_remove_all (f->last);
}

static StoxPresenceInfo *
info_copy (const StoxPresenceInfo *info)
{
  StoxPresenceInfo *c = stox_presence_info_new ();

  c->resource = g_strdup (info->resource);
  c->available = info->available;
  c->show = g_strdup (info->show);
  c->has_priority = info->has_priority;
  c->priority = info->priority;
  c->timestamp = g_strdup (info->timestamp);
  for (guint i = 0; i < info->statuses->len; i++)
    {
      const StoxLangText *st = info->statuses->pdata[i];
      stox_presence_info_add_status (c, st->lang, st->text);
    }
  return c;
}

/* One PIDF tuple as a presence from user@component/tuple (Table 2).
 * `lang` is the NOTIFY's Content-Language (Table 2: → xml:lang), the
 * language of a note without xml:lang. */
static void
send_info (const Follow *f, const StoxPresenceInfo *info, const char *lang, GPtrArray *actions)
{
  const char *resource = info->resource != NULL ? info->resource : "";
  g_autofree char *from = resource[0] != '\0'
                          ? g_strdup_printf ("%s/%s", f->contact_jid, resource)
                          : g_strdup (f->contact_jid);
  StoxStanza *st = stox_presence_stanza_new (from, f->xmpp_jid,
                                             info->available ? NULL : "unavailable");

  st->show = g_strdup (info->show);
  st->lang = g_strdup (lang);
  if (info->statuses->len > 0)
    {
      const StoxLangText *first = info->statuses->pdata[0];

      /* The stanza is in the first note's language, so that a client
       * showing only the <status/> of the stanza's language (RFC 6121
       * §5.2.3) shows the first note, as the document ordered them. */
      if (first->lang != NULL)
        {
          g_free (st->lang);
          st->lang = g_strdup (first->lang);
        }
      st->status = g_strdup (first->text);
    }
  /* Table 2: every <note xml:lang> → <status xml:lang>; RFC 6121
   * §4.7.2.2: at most one per language, one without xml:lang being in the
   * stanza's.  The parser kept one note per xml:lang, but a note without
   * one takes the NOTIFY's language or the stanza's and may meet another
   * of that language: the first wins. */
  for (guint i = 0; i < info->statuses->len; i++)
    {
      const StoxLangText *status = info->statuses->pdata[i];
      const char *slang = status->lang != NULL ? status->lang : lang;

      (void) stox_stanza_add_status (st, slang != NULL ? slang : st->lang, status->text);
    }
  stox_actions_stanza (actions, st);
}

static void
deliver_pidf (Follow *f, GPtrArray *infos, const char *lang, GPtrArray *actions)
{
  for (guint i = 0; i < infos->len; i++)
    {
      const StoxPresenceInfo *info = infos->pdata[i];
      StoxPresenceInfo *kept = info_copy (info);

      send_info (f, info, lang, actions);
      /* A probe's answer (§7) has no NOTIFY: the kept notes carry the
       * NOTIFY's language themselves, so that send_info() gives every
       * language the same again. */
      for (guint j = 0; lang != NULL && j < kept->statuses->len; j++)
        {
          StoxLangText *status = kept->statuses->pdata[j];

          if (status->lang == NULL)
            status->lang = g_strdup (lang);
        }
      g_hash_table_replace (f->last, g_strdup (info->resource != NULL ? info->resource : ""),
                            kept);
    }
}

/* The XMPP user's subscription is over for good (unsubscribe, refusal):
 * unlike a stop, nothing is left to restore. */
static void
follow_end (StoxPresence *p, Follow *f, gboolean tell_unsubscribed, GPtrArray *actions)
{
  if (f->state != FOLLOW_FETCH)
    store (actions, STOX_STORE_FOLLOW, TRUE, f->xmpp_jid, f->contact_jid);
  follow_send_unavailable (f, actions);
  if (tell_unsubscribed)
    send_presence (actions, f->contact_jid, f->xmpp_jid, "unsubscribed");
  follow_remove (p, f);
}

/* A Follow from its two JIDs; the SIP addresses are derived (RFC 7247
 * §6.5), so a restored record needs nothing else.  NULL when a JID no
 * longer maps (a changed configuration). */
static Follow *
follow_create (StoxPresence          *p,
               const StoxPresenceEnv *env,
               const char            *xmpp_jid,
               const char            *contact_jid,
               FollowState            state)
{
  g_autoptr (StoxJid) xmpp = stox_jid_parse (xmpp_jid, NULL);
  g_autoptr (StoxJid) contact = stox_jid_parse (contact_jid, NULL);
  g_autofree char *from_uri = NULL;
  g_autofree char *request_uri = NULL;
  Follow *f;

  if (xmpp == NULL || contact == NULL || xmpp->local == NULL || contact->local == NULL)
    return NULL;
  /* The subscriber is the XMPP user, not one of its resources. */
  g_clear_pointer (&xmpp->resource, g_free);
  g_clear_pointer (&contact->resource, g_free);
  from_uri = stox_address_jid_to_sip (xmpp, xmpp->domain, NULL);
  request_uri = stox_address_jid_to_sip (contact, env->route->sip_domain, NULL);
  if (from_uri == NULL || request_uri == NULL)
    return NULL;

  f = g_new0 (Follow, 1);
  f->key = pair_key (xmpp_jid, contact_jid);
  f->xmpp_jid = g_strdup (xmpp_jid);
  f->contact_jid = g_strdup (contact_jid);
  f->request_uri = g_steal_pointer (&request_uri);
  f->from_uri = g_steal_pointer (&from_uri);
  f->last = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify) stox_presence_info_free);
  f->state = state;
  f->expires = state == FOLLOW_FETCH ? 0 : STOX_PRESENCE_DEFAULT_EXPIRES;
  g_hash_table_insert (p->follows, f->key, f);
  return f;
}

static void
xmpp_subscribe (StoxPresence          *p,
                const StoxPresenceEnv *env,
                const StoxStanza      *st,
                const StoxStanzaRoute *route,
                gboolean               fetch_only,
                GPtrArray             *actions)
{
  g_autofree char *key = pair_key (route->from_bare, route->to_bare);
  Follow *f = g_hash_table_lookup (p->follows, key);

  if (f != NULL)
    {
      /* Already following: a repeated subscribe is answered from state. */
      if (!fetch_only && f->told_subscribed)
        send_presence (actions, f->contact_jid, f->xmpp_jid, "subscribed");
      if (!fetch_only && f->state == FOLLOW_FETCH)
        {
          f->state = FOLLOW_SUBSCRIBING;   /* the fetch's answer now establishes */
          f->expires = STOX_PRESENCE_DEFAULT_EXPIRES;
          store (actions, STOX_STORE_FOLLOW, FALSE, f->xmpp_jid, f->contact_jid);
        }
      return;
    }
  if (at_capacity (p, env))
    {
      stox_actions_stanza_error (actions, env->rules, st, env->route->component,
                                 "resource-constraint", "subscription table full");
      return;
    }
  f = follow_create (p, env, route->from_bare, route->to_bare,
                     fetch_only ? FOLLOW_FETCH : FOLLOW_SUBSCRIBING);
  if (f == NULL)
    return;
  if (!fetch_only)
    store (actions, STOX_STORE_FOLLOW, FALSE, f->xmpp_jid, f->contact_jid);
  follow_subscribe (p, env, f, TRUE, f->expires, actions);
}

static void
xmpp_unsubscribe (StoxPresence          *p,
                  const StoxPresenceEnv *env,
                  const StoxStanzaRoute *route,
                  GPtrArray             *actions)
{
  g_autofree char *key = pair_key (route->from_bare, route->to_bare);
  Follow *f = g_hash_table_lookup (p->follows, key);

  if (f == NULL)
    {
      /* Nothing on the SIP side; RFC 6121 §3.3.3 still wants the answer. */
      send_presence (actions, route->to_bare, route->from_bare, "unsubscribed");
      return;
    }
  timer_cancel (p, &f->timer);
  if (f->state == FOLLOW_ESTABLISHED || f->state == FOLLOW_SUBSCRIBING)
    {
      /* §5.2.3: Expires: 0 in the dialog; unsubscribed on its answer. */
      f->state = FOLLOW_ENDING;
      follow_subscribe (p, env, f, FALSE, 0, actions);
      follow_send_unavailable (f, actions);
    }
  else
    follow_end (p, f, TRUE, actions);
}

/* A probe (§7): answered from what the gateway saw, or with a one-shot
 * fetch SUBSCRIBE when it saw nothing. */
static void
xmpp_probe (StoxPresence          *p,
            const StoxPresenceEnv *env,
            const StoxStanza      *st,
            const StoxStanzaRoute *route,
            GPtrArray             *actions)
{
  g_autofree char *key = pair_key (route->from_bare, route->to_bare);
  Follow *f = g_hash_table_lookup (p->follows, key);

  if (f == NULL)
    {
      xmpp_subscribe (p, env, st, route, TRUE, actions);
      return;
    }
  if (g_hash_table_size (f->last) > 0)
    {
      /* §7: the current state as the last NOTIFY told it. */
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, f->last);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        send_info (f, value, NULL, actions);
    }
  else if (f->state == FOLLOW_ESTABLISHED && f->dialog != 0)
    /* Nothing known yet: a refresh makes the notifier send it. */
    follow_subscribe (p, env, f, FALSE, f->expires, actions);
}

/* ---- NOTIFY for the gateway's own subscriptions ------------------------ */

static gboolean
reason_is_final (const char *reason)
{
  /* RFC 6665 §4.1.3: do not re-subscribe. */
  return g_strcmp0 (reason, "rejected") == 0 || g_strcmp0 (reason, "noresource") == 0 ||
         g_strcmp0 (reason, "invariant") == 0;
}

static void
sip_notify (StoxPresence          *p,
            const StoxPresenceEnv *env,
            const StoxSipRequest  *req,
            gint64                 now,
            GPtrArray             *actions)
{
  Follow *f = req->dialog != 0 ? g_hash_table_lookup (p->follow_by_dialog, &req->dialog) : NULL;
  g_autoptr (GPtrArray) infos = NULL;
  g_autoptr (GError) error = NULL;
  gsize len = req->body != NULL ? g_bytes_get_size (req->body) : 0;

  if (f == NULL)
    {
      /* The final NOTIFY of a dialog the gateway ended is expected; a
       * NOTIFY for anything else has no subscription (RFC 6665 §4.1.3). */
      gboolean ended = req->dialog != 0 && g_hash_table_contains (p->ended, &req->dialog);

      stox_actions_respond (actions, req->token, ended ? 200 : 481, 0, NULL, NULL, NULL);
      return;
    }
  if (g_strcmp0 (req->event, "presence") != 0)
    {
      stox_actions_respond (actions, req->token, 489, 0, NULL, NULL, NULL);
      return;
    }
  if (len > 0)
    {
      if (req->content_type != NULL &&
          g_ascii_strcasecmp (req->content_type, STOX_PIDF_CONTENT_TYPE) != 0)
        {
          stox_actions_respond (actions, req->token, 415, 0, STOX_PIDF_CONTENT_TYPE, NULL, NULL);
          return;
        }
      infos = stox_pidf_parse (g_bytes_get_data (req->body, NULL), len, env->rules, &error);
      if (infos == NULL)
        {
          /* INTERFACE.md §6: 400, and no presence state changes. */
          stox_actions_respond (actions, req->token, 400, 0, NULL, NULL, error->message);
          return;
        }
    }
  stox_actions_respond (actions, req->token, 200, 0, NULL, NULL, NULL);

  if (g_strcmp0 (req->substate, "terminated") == 0)
    {
      if (f->state == FOLLOW_STOPPING)
        {
          follow_remove (p, f);
          return;
        }
      if (f->state == FOLLOW_FETCH || f->state == FOLLOW_ENDING)
        {
          if (infos != NULL && f->state == FOLLOW_FETCH)
            deliver_pidf (f, infos, req->content_language, actions);
          if (f->state == FOLLOW_ENDING)
            follow_end (p, f, TRUE, actions);
          else
            follow_remove (p, f);
          return;
        }
      if (reason_is_final (req->substate_reason))
        {
          follow_end (p, f, TRUE, actions);
          return;
        }
      /* deactivated, timeout (re-subscribe now); probation, giveup (later) */
      gint64 wait = 0;
      if (g_strcmp0 (req->substate_reason, "probation") == 0 ||
          g_strcmp0 (req->substate_reason, "giveup") == 0)
        wait = req->substate_retry_after > 0 ? req->substate_retry_after : STOX_PRESENCE_RETRY_S;
      follow_send_unavailable (f, actions);
      follow_set_dialog (p, f, 0);
      f->state = FOLLOW_WAITING;
      timer_arm (p, &f->timer, TIMER_FOLLOW_RETRY, f, now + wait * G_USEC_PER_SEC);
      return;
    }

  if (g_strcmp0 (req->substate, "active") == 0 && f->state != FOLLOW_ENDING &&
      f->state != FOLLOW_STOPPING)
    {
      /* RFC 3856 §6.7 / §5.2: authorized only once the notifier says so. */
      if (!f->told_subscribed && f->state != FOLLOW_FETCH)
        {
          send_presence (actions, f->contact_jid, f->xmpp_jid, "subscribed");
          f->told_subscribed = TRUE;
        }
      if (infos != NULL)
        deliver_pidf (f, infos, req->content_language, actions);
    }
  /* pending: answered, nothing to tell XMPP yet. */
}

void
stox_presence_on_sip (StoxPresence          *p,
                      const StoxPresenceEnv *env,
                      const StoxSipRequest  *req,
                      gint64                 now,
                      GPtrArray             *actions)
{
  if (req->method == STOX_SIP_METHOD_NOTIFY)
    sip_notify (p, env, req, now, actions);
  else if (req->dialog != 0)
    sip_subscribe_in_dialog (p, env, req, now, actions);
  else
    sip_subscribe_new (p, env, req, now, actions);
}

static gboolean
notify_response (StoxPresence          *p,
                 const StoxPresenceEnv *env,
                 const StoxSipResponse *resp,
                 gint64                 now,
                 GPtrArray             *actions)
{
  Watch *w = g_hash_table_lookup (p->watch_by_notify, &resp->token);

  if (w == NULL)
    return FALSE;
  if (resp->status < 200)
    return TRUE;
  g_hash_table_remove (p->watch_by_notify, &w->notify_inflight);
  w->notify_inflight = 0;
  if (w->ending || stox_sip_status_ends_subscription (resp->status, TRUE))
    {
      watch_remove (p, w, actions);
      return TRUE;
    }
  if (w->dirty)
    notify_state (p, env, w, now, actions);
  return TRUE;
}

static gboolean
subscribe_response (StoxPresence          *p,
                    const StoxPresenceEnv *env,
                    const StoxSipResponse *resp,
                    gint64                 now,
                    GPtrArray             *actions)
{
  Follow *f = g_hash_table_lookup (p->follow_by_dialog, &resp->token);

  if (f == NULL)
    return FALSE;
  if (resp->status < 200)
    return TRUE;

  if (f->state == FOLLOW_ENDING)
    {
      /* §5.2.3: the unsubscribe is done either way. */
      remember_ended (p, f->dialog, now);
      follow_end (p, f, TRUE, actions);
      return TRUE;
    }
  if (f->state == FOLLOW_STOPPING)
    {
      remember_ended (p, f->dialog, now);
      follow_remove (p, f);
      return TRUE;
    }
  if (resp->status < 300)
    {
      if (f->state == FOLLOW_FETCH)
        return TRUE;   /* the fetch's NOTIFY carries the news */
      guint granted = resp->expires > 0 ? (guint) resp->expires : f->expires;
      f->state = FOLLOW_ESTABLISHED;
      /* Refresh well before expiry: at 80 %, and at least 5 s early. */
      gint64 lead = MAX ((gint64) granted * G_USEC_PER_SEC / 5, 5 * G_USEC_PER_SEC);
      gint64 at = now + MAX ((gint64) granted * G_USEC_PER_SEC - lead, G_USEC_PER_SEC);
      timer_arm (p, &f->timer, TIMER_FOLLOW_REFRESH, f, at);
      return TRUE;
    }

  switch (resp->status)
    {
    case 423:
      /* RFC 6665 §4.1.2.1: ask again with at least Min-Expires. */
      if (resp->min_expires > 0 && resp->min_expires <= 24 * 3600)
        {
          f->expires = (guint) resp->min_expires;
          follow_subscribe (p, env, f, f->state != FOLLOW_ESTABLISHED, f->expires, actions);
          return TRUE;
        }
      break;
    case 481:
      /* The dialog is gone, the authorization is not (§5.2, 481). */
      if (f->state == FOLLOW_ESTABLISHED)
        {
          f->state = FOLLOW_SUBSCRIBING;
          follow_subscribe (p, env, f, TRUE, f->expires, actions);
          return TRUE;
        }
      break;
    case 403:
    case 489:
    case 603:
      /* §5.2: the authorization is cancelled for good. */
      follow_end (p, f, f->state != FOLLOW_FETCH, actions);
      return TRUE;
    default:
      break;
    }

  if (f->state == FOLLOW_FETCH)
    {
      follow_remove (p, f);
      return TRUE;
    }
  /* 480 Temporarily Unavailable ends this dialog, yet the user may come
   * back: it is retried like the transient failures below. */
  if (stox_sip_status_ends_subscription (resp->status, FALSE) && resp->status != 480)
    {
      follow_end (p, f, TRUE, actions);
      return TRUE;
    }
  /* Transient (408, 480, 5xx, 486, …): keep the authorization, retry. */
  follow_send_unavailable (f, actions);
  follow_set_dialog (p, f, 0);
  f->state = FOLLOW_WAITING;
  timer_arm (p, &f->timer, TIMER_FOLLOW_RETRY, f, now + STOX_PRESENCE_RETRY_S * G_USEC_PER_SEC);
  return TRUE;
}

gboolean
stox_presence_on_sip_response (StoxPresence          *p,
                               const StoxPresenceEnv *env,
                               const StoxSipResponse *resp,
                               gint64                 now,
                               GPtrArray             *actions)
{
  return notify_response (p, env, resp, now, actions) ||
         subscribe_response (p, env, resp, now, actions);
}

/* ---- XMPP presence stanzas -------------------------------------------- */

static StoxPresenceInfo *
info_from_stanza (const StoxStanza *st, const char *resource)
{
  StoxPresenceInfo *info = stox_presence_info_new ();

  info->resource = resource != NULL && resource[0] != '\0' ? g_strdup (resource) : NULL;
  info->available = st->type == NULL;
  if (info->available)
    info->show = g_strdup (stox_show_known (st->show));
  /* Table 1: every <status xml:lang> → <note xml:lang>; one without
   * xml:lang is in the stanza's (RFC 6121 §4.7.2.2).  The front end kept
   * one per language. */
  for (guint i = 0; st->statuses != NULL && i < st->statuses->len; i++)
    {
      const StoxLangText *t = st->statuses->pdata[i];

      if (t->text != NULL && t->text[0] != '\0')
        stox_presence_info_add_status (info, t->lang != NULL ? t->lang : st->lang, t->text);
    }
  if ((st->statuses == NULL || st->statuses->len == 0) && st->status != NULL &&
      st->status[0] != '\0')
    stox_presence_info_add_status (info, st->lang, st->status);
  return info;
}

/* Presence from an XMPP user to a SIP watcher (S2X). */
static void
xmpp_presence_to_watcher (StoxPresence          *p,
                          const StoxPresenceEnv *env,
                          const StoxStanza      *st,
                          const char            *from_bare,
                          const char            *from_resource,
                          const char            *to_bare,
                          gint64                 now,
                          GPtrArray             *actions)
{
  Pair *pair = pair_get (p, to_bare, from_bare, FALSE);
  const char *type = st->type;

  if (pair == NULL)
    return;

  if (g_strcmp0 (type, "subscribed") == 0)
    {
      if (!pair->authorized)
        store (actions, STOX_STORE_APPROVAL, FALSE, pair->watcher_jid, pair->target_jid);
      pair->authorized = TRUE;
      for (GList *l = pair->watches; l != NULL; l = l->next)
        {
          Watch *w = l->data;

          if (w->state == STOX_SUBSTATE_PENDING)
            {
              w->state = STOX_SUBSTATE_ACTIVE;
              notify_state (p, env, w, now, actions);
            }
        }
      /* Approved: now a probe fetches the current presence (INTERFACE §6). */
      send_presence (actions, pair->watcher_jid, pair->target_jid, "probe");
      return;
    }
  if (g_strcmp0 (type, "unsubscribed") == 0 || g_strcmp0 (type, "error") == 0)
    {
      /* INTERFACE.md §6: rejected (a probe is only sent once approved,
       * so this is never a probe's answer). */
      if (pair->authorized)
        store (actions, STOX_STORE_APPROVAL, TRUE, pair->watcher_jid, pair->target_jid);
      pair->authorized = FALSE;
      g_hash_table_remove_all (pair->resources);
      for (GList *l = pair->watches, *next; l != NULL; l = next)
        {
          next = l->next;
          terminate_watch (p, env, l->data, "rejected", FALSE, now, actions);
        }
      if (pair->watches == NULL)
        pair_drop (p, pair);
      return;
    }
  if (type != NULL && g_strcmp0 (type, "unavailable") != 0)
    return;   /* subscribe/unsubscribe/probe toward SIP users go elsewhere */

  g_hash_table_replace (pair->resources, g_strdup (from_resource != NULL ? from_resource : ""),
                        info_from_stanza (st, from_resource));
  for (GList *l = pair->watches; l != NULL; l = l->next)
    {
      Watch *w = l->data;

      if (w->state == STOX_SUBSTATE_ACTIVE)
        notify_state (p, env, w, now, actions);
    }
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
    xmpp_subscribe (p, env, st, &route, FALSE, actions);
  else if (g_strcmp0 (st->type, "unsubscribe") == 0)
    xmpp_unsubscribe (p, env, &route, actions);
  else if (g_strcmp0 (st->type, "probe") == 0)
    xmpp_probe (p, env, st, &route, actions);
  else
    xmpp_presence_to_watcher (p, env, st, route.from_bare, route.from_resource,
                              route.to_bare, now, actions);
}

/* ---- restart ------------------------------------------------------------ */

/* TRUE when a WATCH record still fits the configuration: the watcher is
 * user@component and the XMPP user has a localpart, as
 * stox_route_sip() made them. */
static gboolean
watch_record_valid (const StoxPresenceEnv *env, const StoxStoreRecord *r)
{
  g_autoptr (StoxJid) watcher = stox_jid_parse (r->a, NULL);
  g_autoptr (StoxJid) target = stox_jid_parse (r->b, NULL);

  return r->dialog != 0 && r->c != NULL && watcher != NULL && target != NULL &&
         watcher->local != NULL && watcher->resource == NULL &&
         g_ascii_strcasecmp (watcher->domain, env->route->component) == 0 &&
         target->local != NULL && target->resource == NULL;
}

/* A SIP watcher's dialog after a crash.  The SIP front end restores the
 * dialog's wire state beside it, so the watcher's next refresh lands here
 * again.  Nothing is sent now (the XMPP link is not up yet):
 * stox_presence_on_link() asks the XMPP side for the current state, and
 * the existing paths NOTIFY it. */
static void
restore_watch (StoxPresence          *p,
               const StoxPresenceEnv *env,
               const StoxStoreRecord *r,
               gint64                 now,
               GPtrArray             *actions)
{
  Pair *pair;
  Watch *w;

  if (r->dialog != 0 && g_hash_table_contains (p->watch_by_dialog, &r->dialog))
    return;
  if (r->deadline <= now || !watch_record_valid (env, r))
    {
      /* RFC 6665 §4.2.1.4: unrefreshed past its expiry the subscription
       * is over (the watcher knows it too); or the configuration changed
       * under the record.  Drop it, and say so. */
      store (actions, STOX_STORE_WATCH, TRUE, r->a, r->b)->dialog = r->dialog;
      return;
    }

  pair = pair_get (p, r->a, r->b, TRUE);
  w = g_new0 (Watch, 1);
  w->dialog = r->dialog;
  w->pair = pair;
  w->entity = g_strdup (r->c);
  /* An APPROVAL record read later promotes it (records come in any
   * order). */
  w->state = pair->authorized ? STOX_SUBSTATE_ACTIVE : STOX_SUBSTATE_PENDING;
  w->expires_at = r->deadline;
  w->stored = TRUE;
  pair->watches = g_list_prepend (pair->watches, w);
  g_hash_table_insert (p->watch_by_dialog, &w->dialog, w);
  timer_arm (p, &w->timer, TIMER_WATCH_EXPIRY, w, w->expires_at);
  g_hash_table_add (p->resync, pair);
}

void
stox_presence_restore (StoxPresence          *p,
                       const StoxPresenceEnv *env,
                       const StoxStoreRecord *r,
                       gint64                 now,
                       GPtrArray             *actions)
{
  if (r->remove || r->a == NULL || r->b == NULL)
    return;
  switch (r->kind)
    {
    case STOX_STORE_FOLLOW:
      {
        g_autofree char *key = pair_key (r->a, r->b);
        Follow *f;

        if (g_hash_table_contains (p->follows, key))
          return;
        f = follow_create (p, env, r->a, r->b, FOLLOW_WAITING);
        if (f == NULL)
          {
            /* The configuration changed under the record: drop it. */
            store (actions, STOX_STORE_FOLLOW, TRUE, r->a, r->b);
            return;
          }
        /* Re-subscribe from the loop, not from start-up itself, a batch
         * per tick. */
        timer_arm (p, &f->timer, TIMER_FOLLOW_RETRY, f,
                   now + (gint64) (p->restored_follows++ / RESTORE_BATCH) * RESTORE_TICK_US);
      }
      break;
    case STOX_STORE_APPROVAL:
      {
        Pair *pair = pair_get (p, r->a, r->b, TRUE);

        pair->authorized = TRUE;
        /* Its WATCH records may have come first.  Silent: the watcher
         * hears the state once the link is up (stox_presence_on_link). */
        for (GList *l = pair->watches; l != NULL; l = l->next)
          {
            Watch *w = l->data;

            if (w->state == STOX_SUBSTATE_PENDING)
              w->state = STOX_SUBSTATE_ACTIVE;
          }
      }
      break;
    case STOX_STORE_WATCH:
      restore_watch (p, env, r, now, actions);
      break;
    }
}

/* Up to RESTORE_BATCH restored pairs asked for their current state; the
 * rest a tick later. */
static void
resync_batch (StoxPresence *p, gint64 now, GPtrArray *actions)
{
  GHashTableIter iter;
  gpointer key;
  guint sent = 0;

  g_hash_table_iter_init (&iter, p->resync);
  while (sent < RESTORE_BATCH && g_hash_table_iter_next (&iter, &key, NULL))
    {
      Pair *pair = key;

      g_hash_table_iter_remove (&iter);
      if (pair->watches == NULL)
        continue;
      /* Approved: a probe brings the XMPP user's current presence, which
       * then NOTIFYs the restored dialogs (INTERFACE §6: probes only once
       * approved).  Not (known to be) approved: a repeated subscribe — a
       * server answers it with subscribed on the user's behalf when the
       * contact is already approved (RFC 6121 §3.1.3), so an approval
       * given while the gateway was down is not lost. */
      send_presence (actions, pair->watcher_jid, pair->target_jid,
                     pair->authorized ? "probe" : "subscribe");
      sent++;
    }
  if (g_hash_table_size (p->resync) > 0)
    timer_arm (p, &p->resync_timer, TIMER_RESYNC, p, now + RESTORE_TICK_US);
  else
    timer_cancel (p, &p->resync_timer);
}

void
stox_presence_on_link (StoxPresence          *p,
                       const StoxPresenceEnv *env,
                       gboolean               up,
                       gint64                 now,
                       GPtrArray             *actions)
{
  if (!up)
    {
      /* What is left waits for the next link (its stanzas would fail). */
      timer_cancel (p, &p->resync_timer);
      return;
    }
  resync_batch (p, now, actions);
}

/* ---- timers and shutdown ---------------------------------------------- */

void
stox_presence_on_timer (StoxPresence          *p,
                        const StoxPresenceEnv *env,
                        gint64                 now,
                        GPtrArray             *actions)
{
  GSequenceIter *head;
  GList *l;

  while ((l = g_queue_peek_head_link (&p->ended_fifo)) != NULL &&
         ((Ended *) l->data)->until <= now)
    {
      Ended *e = l->data;

      g_queue_unlink (&p->ended_fifo, &e->link);
      g_hash_table_remove (p->ended, &e->dialog);
    }

  while (!g_sequence_iter_is_end (head = g_sequence_get_begin_iter (p->timers)))
    {
      Timer *t = g_sequence_get (head);

      if (t->deadline > now)
        break;
      switch (t->kind)
        {
        case TIMER_WATCH_EXPIRY:
          {
            Watch *w = t->owner;

            w->timer = NULL;
            g_sequence_remove (head);
            /* RFC 8048 §5.3.3 treatment for an expired dialog: closed,
             * terminated;reason=timeout, unavailable to the contact. */
            send_presence (actions, w->pair->watcher_jid, w->pair->target_jid, "unavailable");
            terminate_watch (p, env, w, "timeout", TRUE, now, actions);
          }
          break;
        case TIMER_FOLLOW_REFRESH:
          {
            Follow *f = t->owner;

            f->timer = NULL;
            g_sequence_remove (head);
            follow_subscribe (p, env, f, FALSE, f->expires, actions);
          }
          break;
        case TIMER_RESYNC:
          p->resync_timer = NULL;
          g_sequence_remove (head);
          if (env->link_up)
            resync_batch (p, now, actions);
          break;
        case TIMER_FOLLOW_RETRY:
          {
            Follow *f = t->owner;

            f->timer = NULL;
            g_sequence_remove (head);
            f->state = FOLLOW_SUBSCRIBING;
            follow_subscribe (p, env, f, TRUE, f->expires, actions);
          }
          break;
        }
    }
}

gint64
stox_presence_next_deadline (StoxPresence *p)
{
  GSequenceIter *head = g_sequence_get_begin_iter (p->timers);
  GList *l = g_queue_peek_head_link (&p->ended_fifo);
  gint64 next = -1;

  if (!g_sequence_iter_is_end (head))
    next = ((Timer *) g_sequence_get (head))->deadline;
  if (l != NULL)
    {
      gint64 d = ((Ended *) l->data)->until;
      next = next < 0 ? d : MIN (next, d);
    }
  return next;
}

void
stox_presence_on_shutdown (StoxPresence          *p,
                           const StoxPresenceEnv *env,
                           gint64                 now,
                           GPtrArray             *actions)
{
  GHashTableIter iter;
  gpointer value;
  g_autoptr (GPtrArray) watches = g_ptr_array_new ();

  g_hash_table_iter_init (&iter, p->watch_by_dialog);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (watches, value);
  for (guint i = 0; i < watches->len; i++)
    {
      Watch *w = watches->pdata[i];

      /* RFC 6665 §4.1.3 probation: come back later, the gateway restarts. */
      if (!w->ending)
        {
          timer_cancel (p, &w->timer);
          StoxAction *n = send_notify (p, env, w, STOX_SUBSTATE_TERMINATED, "probation",
                                       FALSE, FALSE, now, actions);
          n->u.notify.retry_after = 30;
        }
    }

  timer_cancel (p, &p->resync_timer);
  g_hash_table_remove_all (p->resync);

  g_hash_table_iter_init (&iter, p->follows);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Follow *f = value;

      timer_cancel (p, &f->timer);
      if (f->dialog != 0 && (f->state == FOLLOW_ESTABLISHED || f->state == FOLLOW_SUBSCRIBING))
        {
          /* The XMPP user's authorization outlives the gateway: no
           * unsubscribed, only the dialog ends. */
          f->state = FOLLOW_STOPPING;
          follow_subscribe (p, env, f, FALSE, 0, actions);
        }
      follow_send_unavailable (f, actions);
    }
}
