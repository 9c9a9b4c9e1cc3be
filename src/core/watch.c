/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SIP watchers of XMPP users: their dialogs, SUBSCRIBEs, refreshes, the
 * XMPP user's presence fed to them, expiry and shutdown; see watch.h.
 * Section numbers are RFC 8048's unless another RFC is named;
 * docs/mappings.md §2 has the tables.
 */
#include "config.h"

#include "watch-private.h"

#include <string.h>

#include "actions.h"
#include "address.h"
#include "methods.h"
#include "pidf.h"

static void
said_free (Said *said)
{
  g_free (said);
}

static void
pair_forget_resources (Pair *pair)
{
  Said *said;

  while ((said = pair->resources) != NULL)
    {
      pair->resources = said->next;
      said_free (said);
    }
  pair->n_resources = 0;
}

/* Takes out and frees what `resource` said, if anything. */
static void
pair_forget_resource (Pair *pair, const char *resource)
{
  for (Said **link = &pair->resources; *link != NULL; link = &(*link)->next)
    if (strcmp (stox_watch_said_resource (*link), resource) == 0)
      {
        Said *said = *link;

        *link = said->next;
        pair->n_resources--;
        said_free (said);
        return;
      }
}

/* `said` replaces what its resource said before; at the bound, the
 * resource heard from longest ago goes. */
static void
pair_remember (Pair *pair, Said *said)
{
  pair_forget_resource (pair, stox_watch_said_resource (said));
  if (pair->n_resources >= STOX_WATCH_MAX_RESOURCES)
    {
      Said **oldest = &pair->resources;
      Said *gone;

      for (Said **link = &pair->resources; *link != NULL; link = &(*link)->next)
        if ((*link)->said < (*oldest)->said)
          oldest = link;
      gone = *oldest;
      *oldest = gone->next;
      pair->n_resources--;
      said_free (gone);
    }
  said->next = pair->resources;
  pair->resources = said;
  pair->n_resources++;
}

G_STATIC_ASSERT (STOX_WATCH_MAX_RESOURCES < (1 << 16));   /* Pair.n_resources */
G_STATIC_ASSERT (STOX_SHOW_N < (1 << 3));                  /* Said.show */

/* Frees the pair's own memory; its names are given back by pair_drop()
 * (or go with their tables). */
static void
pair_free (Pair *pair)
{
  pair_forget_resources (pair);
  g_free (pair);
}

static guint
pair_hash (gconstpointer p)
{
  const Pair *pair = p;

  return g_direct_hash (pair->watcher_jid) * 31 + g_direct_hash (pair->target_jid);
}

static gboolean
pair_equal (gconstpointer p, gconstpointer q)
{
  const Pair *a = p, *b = q;

  return a->watcher_jid == b->watcher_jid && a->target_jid == b->target_jid;
}

/* A pair with neither dialogs nor approval is gone; only its request
 * may still be remembered. */
static gboolean
pair_live (const Pair *pair)
{
  return pair->watches != NULL || pair->authorized;
}

Pair *
stox_watch_pair_get (StoxWatches *ws, const char *watcher_jid, const char *target_jid, gboolean create)
{
  Pair probe = { 0 };
  Pair *pair;

  probe.watcher_jid = stox_watch_limits_lookup (ws->limits, STOX_WATCH_NAME_WATCHER, watcher_jid);
  probe.target_jid = stox_watch_limits_lookup (ws->limits, STOX_WATCH_NAME_USER, target_jid);
  pair = probe.watcher_jid != NULL && probe.target_jid != NULL
    ? g_hash_table_lookup (ws->pairs, &probe)
    : NULL;
  if (pair != NULL && !pair_live (pair) && !create)
    return NULL;
  if (pair == NULL && create)
    {
      pair = g_new0 (Pair, 1);
      pair->watcher_jid = stox_watch_limits_ref (ws->limits, STOX_WATCH_NAME_WATCHER, watcher_jid);
      pair->target_jid = stox_watch_limits_ref (ws->limits, STOX_WATCH_NAME_USER, target_jid);
      g_hash_table_add (ws->pairs, pair);
    }
  return pair;
}

static void
pair_forget (StoxWatches *ws, Pair *pair)
{
  const char *watcher_jid = pair->watcher_jid, *target_jid = pair->target_jid;

  g_hash_table_remove (ws->pairs, pair);
  stox_watch_limits_unref (ws->limits, STOX_WATCH_NAME_WATCHER, watcher_jid);
  stox_watch_limits_unref (ws->limits, STOX_WATCH_NAME_USER, target_jid);
}

/* A pair goes, with neither dialogs nor approval left: the only way
 * pairs go, so the resync set never holds a freed one.  While its
 * request is remembered it stays, holding nothing else, as a new pair
 * would start. */
static void
pair_drop (StoxWatches *ws, Pair *pair)
{
  stox_watch_pair_probe_cancel (ws, pair);
  g_hash_table_remove (ws->resync, pair);
  if (!pair->asked)
    {
      pair_forget (ws, pair);
      return;
    }
  pair_forget_resources (pair);
  pair->probed_link = 0;
}

/* The oldest request remembered is forgotten, and its pair with it when
 * gone. */
static void
asked_pop (StoxWatches *ws)
{
  Pair *pair = ws->asked_head;

  ws->asked_head = pair->asked_next;
  if (ws->asked_head == NULL)
    ws->asked_tail = NULL;
  ws->n_asked--;
  pair->asked_next = NULL;
  pair->asked = FALSE;
  if (!pair_live (pair))
    pair_forget (ws, pair);
}

void
stox_watch_count (StoxWatches *ws, Watch *w, gint delta)
{
  stox_watch_limits_count (ws->limits, w->source, w->pair->watcher_jid,
                           w->pair->target_jid, delta);
}

/* The pair's subscription request goes to the XMPP user unless one went
 * within the interval (RFC 6121 §3.1.1: the user answers it once; a
 * repeat only nags her), however many SUBSCRIBEs (or fetches) arrive.
 * The memory is bounded like every table: when full, the oldest request
 * is forgotten.  Requests are remembered in time order, so only the
 * oldest is looked at for the interval. */
static gboolean
ask_once (StoxWatches *ws, const StoxPresenceEnv *env, Pair *pair, gint64 now,
          GPtrArray *actions)
{
  while (ws->asked_head != NULL &&
         ws->asked_head->asked_at + (gint64) STOX_WATCH_ASK_INTERVAL_S * G_USEC_PER_SEC <= now)
    asked_pop (ws);
  if (pair->asked)
    return FALSE;
  if (ws->n_asked >= MAX (env->max_subscriptions, 1))
    asked_pop (ws);
  pair->asked = TRUE;
  pair->asked_at = now;
  if (ws->asked_tail != NULL)
    ws->asked_tail->asked_next = pair;
  else
    ws->asked_head = pair;
  ws->asked_tail = pair;
  ws->n_asked++;
  stox_actions_presence (actions, pair->watcher_jid, pair->target_jid, "subscribe");
  return TRUE;
}

/* A watch's WATCH record: written with the current deadline while the
 * dialog lives (again on each refresh: same key, replaced), and removed
 * exactly once when it ends, so a restart brings back only dialogs the
 * watcher still holds.  A remove for a watch never stored (a fetch) is
 * not emitted. */
void
stox_watch_store (GPtrArray *actions, Watch *w, gboolean remove)
{
  StoxStoreRecord *r;

  if (remove && !w->stored)
    return;
  r = stox_actions_store (actions, STOX_STORE_WATCH, remove, w->pair->target_jid,
                          w->pair->watcher_jid);
  r->dialog = w->dialog;
  if (!remove)
    {
      r->entity = g_strdup (w->entity);
      r->deadline = stox_timer_deadline (&w->timer);
    }
  w->stored = !remove;
}

/* Forgets a watch; its Pair goes with its last watch unless it still
 * carries an authorization worth remembering for the next SUBSCRIBE. */
static void
watch_remove (StoxWatches *ws, Watch *w, GPtrArray *actions)
{
  Pair *pair = w->pair;

  /* Ended without a terminated NOTIFY (e.g. the watcher answered one
   * with 481): the record goes now. */
  stox_watch_store (actions, w, TRUE);
  stox_timers_cancel (ws->timers, &w->timer);
  stox_watch_inflight_clear (ws, w);
  stox_watch_count (ws, w, -1);
  for (Watch **link = &pair->watches; *link != NULL; link = &(*link)->next)
    if (*link == w)
      {
        *link = w->next;
        break;
      }
  if (w->state == STOX_SUBSTATE_PENDING)
    ws->pending--;
  g_hash_table_steal (ws->watch_by_dialog, &w->dialog);
  stox_intern_unref (ws->entities, w->entity);
  stox_watch_limits_unref (ws->limits, STOX_WATCH_NAME_SOURCE, w->source);
  g_free (w);
  if (pair->watches == NULL && !pair->authorized)
    pair_drop (ws, pair);
}

StoxWatches *
stox_watches_new (StoxTimers *timers)
{
  StoxWatches *ws = g_new0 (StoxWatches, 1);

  ws->timers = timers;
  ws->pairs = g_hash_table_new_full (pair_hash, pair_equal, (GDestroyNotify) pair_free, NULL);
  ws->watch_by_dialog = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  ws->watch_by_notify = g_hash_table_new (g_int64_hash, g_int64_equal);
  ws->inflight = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  ws->resync = g_hash_table_new (NULL, NULL);
  ws->probing = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  ws->limits = stox_watch_limits_new ();
  ws->entities = stox_intern_new ();
  return ws;
}

void
stox_watches_free (StoxWatches *ws)
{
  if (ws == NULL)
    return;
  /* The records first, then the names they refer to, which go with
   * their tables. */
  g_hash_table_unref (ws->resync);
  g_hash_table_unref (ws->probing);
  g_hash_table_unref (ws->watch_by_notify);
  g_hash_table_unref (ws->inflight);
  g_hash_table_unref (ws->watch_by_dialog);
  g_hash_table_unref (ws->pairs);
  stox_intern_free (ws->entities);
  stox_watch_limits_free (ws->limits);
  g_free (ws);
}

guint
stox_watches_count (StoxWatches *ws)
{
  return g_hash_table_size (ws->watch_by_dialog);
}

guint
stox_watches_count_pending (StoxWatches *ws)
{
  return ws->pending;
}

/* ---- SUBSCRIBE from a SIP watcher (§5.3) ------------------------------- */

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

/* The interval a watcher's SUBSCRIBE gets (RFC 6665 §4.2.1.1): the
 * default when it names none, at most STOX_WATCH_MAX_EXPIRES; FALSE, with
 * 423 and Min-Expires sent, when it is too brief. */
static gboolean
grant_expires (const StoxSipRequest *req, gint64 *ret_expires, GPtrArray *actions)
{
  gint64 expires = req->expires < 0 ? STOX_PRESENCE_DEFAULT_EXPIRES : req->expires;

  if (expires > 0 && expires < STOX_WATCH_MIN_EXPIRES)
    {
      StoxSipAnswer *a = stox_actions_respond (actions, req->token, 423, 0, NULL, NULL, NULL);
      a->min_expires = STOX_WATCH_MIN_EXPIRES;
      return FALSE;
    }
  *ret_expires = MIN (expires, STOX_WATCH_MAX_EXPIRES);
  return TRUE;
}

void
stox_watch_on_subscribe (StoxWatches           *ws,
                         const StoxPresenceEnv *env,
                         const StoxSipRequest  *req,
                         gboolean               full,
                         gint64                 now,
                         GPtrArray             *actions)
{
  g_auto (StoxSipRoute) route = { 0 };
  g_autofree char *why = NULL;
  guint status;
  gint64 expires;

  if (!stox_sip_event_allowed (req->event))
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
  if (!route.vouched)
    {
      /* All the gateway knows of a watcher is what a trusted peer vouches
       * for: the From and the Contact are the watcher's own claims, and
       * an approval given to romeo must not reach whoever writes romeo
       * in a From — not as an active dialog, not as a fetch, and no
       * subscription request goes out in romeo's name either. */
      stox_actions_respond (actions, req->token, 403, 0, NULL, NULL,
                            "presence goes only to a SIP user a trusted peer vouches for: "
                            "P-Asserted-Identity (RFC 3325) missing");
      return;
    }
  if (!accept_allows_pidf (req->accept))
    {
      stox_actions_respond (actions, req->token, 406, 0, STOX_PIDF_CONTENT_TYPE, NULL,
                            "presence is sent as application/pidf+xml");
      return;
    }
  if (!grant_expires (req, &expires, actions))
    return;
  if (!env->link_up)
    {
      stox_actions_respond (actions, req->token, 503, MAX (env->retry_in_s, 1), NULL, NULL,
                            "the XMPP server is not reachable");
      return;
    }
  if (full)
    {
      stox_actions_respond (actions, req->token, 503, 5, NULL, NULL, "subscription table full");
      return;
    }
  g_autofree char *watcher_jid = stox_bare_jid (route.jid_from);
  const char *limit;

  if (!stox_watch_limits_allow (ws->limits, env, req->source, watcher_jid, route.jid_to_bare, &limit))
    {
      /* One source, one watcher or one popular XMPP user must not fill
       * the table that all of them share (RFC 6665 §4.2.1.4 lets a
       * notifier refuse; 503 says "later" as every overload does). */
      stox_actions_respond (actions, req->token, 503, STOX_WATCH_LIMIT_RETRY_S, NULL, NULL,
                            limit);
      return;
    }
  if (g_hash_table_contains (ws->watch_by_dialog, &req->token))
    {
      /* The front end keeps new tokens above restored dialogs; should it
       * ever not, refuse rather than overwrite a live dialog. */
      stox_actions_respond (actions, req->token, 500, 0, NULL, NULL, "dialog id in use");
      return;
    }

  Pair *pair = stox_watch_pair_get (ws, watcher_jid, route.jid_to_bare, TRUE);
  Watch *w = g_new0 (Watch, 1);

  w->dialog = req->token;
  w->pair = pair;
  w->entity = stox_intern_ref (ws->entities, req->request_uri);
  w->source = stox_watch_limits_ref (ws->limits, STOX_WATCH_NAME_SOURCE, req->source);
  stox_watch_count (ws, w, +1);
  w->state = pair->authorized ? STOX_SUBSTATE_ACTIVE : STOX_SUBSTATE_PENDING;
  w->next = pair->watches;
  pair->watches = w;
  g_hash_table_insert (ws->watch_by_dialog, &w->dialog, w);
  if (w->state == STOX_SUBSTATE_PENDING)
    ws->pending++;

  StoxSipAnswer *ok = stox_actions_respond (actions, req->token, 200, 0, NULL, NULL, NULL);
  ok->expires = expires;

  if (expires == 0)
    {
      /* A fetch (RFC 6665 §4.4.3): one NOTIFY with the current state,
       * as notify_fresh() finds it; pending when not approved. */
      w->fetch = TRUE;
      if (pair->authorized)
        stox_watch_notify_fresh (ws, env, w, now, actions);
      else
        {
          stox_watch_send_notify (ws, env, w, STOX_SUBSTATE_TERMINATED, "timeout", FALSE, FALSE, FALSE,
                       now, actions);
          ask_once (ws, env, pair, now, actions);
        }
      return;
    }

  stox_timers_arm (ws->timers, &w->timer, STOX_PRESENCE_TIMER_WATCH_EXPIRY, w,
                   now + expires * G_USEC_PER_SEC);
  stox_watch_store (actions, w, FALSE);
  if (!pair->authorized)
    {
      /* RFC 6665 §4.2.1.2: the first NOTIFY at once, with the state as
       * it is known.  A server answers the subscription request at once
       * for a contact approved already (RFC 6121 §3.1.3): so while one
       * just sent (or one this pair waits on already) may be answered,
       * the NOTIFY waits STOX_WATCH_ASK_WAIT_MS for it, and a watcher
       * the XMPP user approved before hears one active NOTIFY with her
       * presence rather than pending then active (stoxd(8) PRESENCE).
       * Otherwise, or when nothing came, pending. */
      gboolean waiting = stox_watch_pair_probing (ws, pair);

      /* Armed once per wait: re-arming would stretch the 250 ms of the
       * watchers already held. */
      if (ask_once (ws, env, pair, now, actions) && !waiting)
        {
          stox_watch_pair_await_answer (ws, pair, now);
          waiting = TRUE;
        }
      if (waiting)
        w->held = TRUE;
      else
        stox_watch_notify_state (ws, env, w, TRUE, now, actions);
    }
  else
    /* Approved before: the first NOTIFY has the current presence, from
     * the table only when it is known whole, else once a probe's answer
     * came (RFC 6665 §4.2.1.2 asks for it at once: a short wait, bounded
     * by STOX_WATCH_PROBE_WAIT_MS, is what it takes to know it). */
    stox_watch_notify_fresh (ws, env, w, now, actions);
}

void
stox_watch_on_refresh (StoxWatches           *ws,
                       const StoxPresenceEnv *env,
                       const StoxSipRequest  *req,
                       gint64                 now,
                       GPtrArray             *actions)
{
  Watch *w = g_hash_table_lookup (ws->watch_by_dialog, &req->dialog);
  gint64 expires;

  if (w == NULL || w->ending)
    {
      stox_actions_respond (actions, req->token, 481, 0, NULL, NULL, NULL);
      return;
    }
  if (!grant_expires (req, &expires, actions))
    return;
  StoxSipAnswer *ok = stox_actions_respond (actions, req->token, 200, 0, NULL, NULL, NULL);
  ok->expires = expires;

  if (expires == 0)
    {
      /* §5.3.3: closed PIDF, terminated;reason=timeout, and the XMPP
       * contact hears the watcher has gone (when the link is up: nothing
       * goes toward XMPP before). */
      if (env->link_up)
        stox_actions_presence (actions, w->pair->watcher_jid, w->pair->target_jid,
                               "unavailable");
      stox_watch_terminate (ws, env, w, "timeout", TRUE, now, actions);
      return;
    }
  stox_timers_arm (ws->timers, &w->timer, STOX_PRESENCE_TIMER_WATCH_EXPIRY, w,
                   now + expires * G_USEC_PER_SEC);
  /* RFC 6665 §4.2.1.2: a refresh is answered with the current state (a
   * held watcher gets it when the probe's answer comes). */
  if (w->state == STOX_SUBSTATE_ACTIVE)
    stox_watch_notify_fresh (ws, env, w, now, actions);
  else
    stox_watch_notify_state (ws, env, w, TRUE, now, actions);
  /* RFC 6665 §4.2.1.4: the refresh moved the deadline; a restart must
   * keep the dialog until then. */
  stox_watch_store (actions, w, FALSE);
}

gboolean
stox_watch_on_notify_response (StoxWatches           *ws,
                               const StoxPresenceEnv *env,
                               const StoxSipResponse *resp,
                               gint64                 now,
                               GPtrArray             *actions)
{
  Watch *w = stox_watch_by_notify (ws, resp->token);

  if (w == NULL)
    return FALSE;
  if (resp->status < 200)
    return TRUE;
  stox_watch_inflight_clear (ws, w);
  if (w->ending || stox_sip_status_ends_subscription (resp->status, TRUE))
    {
      watch_remove (ws, w, actions);
      return TRUE;
    }
  if (w->dirty)
    stox_watch_notify_state (ws, env, w, w->forced, now, actions);
  return TRUE;
}

/* ---- the XMPP user's presence stanzas to a watcher --------------------- */

/* Appends a copy of `s` at *`end` and returns it. */
static char *
said_copy (char **end, const char *s)
{
  char *copy = *end;
  gsize size = strlen (s) + 1;

  memcpy (copy, s, size);
  *end += size;
  return copy;
}

/* The i-th of the texts `st` says (RFC 8048 Table 1: every <status
 * xml:lang> → <note xml:lang>; one without xml:lang is in the stanza's,
 * RFC 6121 §4.7.2.2; the front end kept one per language), or FALSE past
 * the last.  Blank ones say nothing. */
static gboolean
stanza_status (const StoxStanza *st, guint *i, const char **ret_lang, const char **ret_text)
{
  if (st->statuses == NULL || st->statuses->len == 0)
    {
      if (*i > 0 || st->status == NULL || st->status[0] == '\0')
        return FALSE;
      (*i)++;
      *ret_lang = st->lang;
      *ret_text = st->status;
      return TRUE;
    }
  while (*i < st->statuses->len)
    {
      const StoxLangText *t = st->statuses->pdata[(*i)++];

      if (t->text != NULL && t->text[0] != '\0')
        {
          *ret_lang = t->lang != NULL ? t->lang : st->lang;
          *ret_text = t->text;
          return TRUE;
        }
    }
  return FALSE;
}

/* What `st` says, from `resource` (NULL or "" for the bare JID), in one
 * allocation. */
static Said *
said_from_stanza (const StoxStanza *st, const char *resource)
{
  const char *lang, *text;
  const char *show;
  guint n = 0, i = 0;
  gsize size;
  Said *said;
  char *end;

  if (resource == NULL)
    resource = "";
  size = strlen (resource) + 1;
  while (stanza_status (st, &i, &lang, &text))
    {
      size += 1 + (lang != NULL ? strlen (lang) + 1 : 0) + strlen (text) + 1;
      n++;
    }
  said = g_malloc0 (sizeof *said + size);
  said->n_statuses = n;
  said->available = st->type == NULL;
  show = said->available ? stox_show_known (st->show) : NULL;
  for (guint k = 0; show != NULL && k < STOX_SHOW_N; k++)
    if (show == stox_show_values[k])
      said->show = k + 1;
  end = said->data;
  said_copy (&end, resource);
  for (i = 0; stanza_status (st, &i, &lang, &text);)
    {
      *end++ = lang != NULL;
      if (lang != NULL)
        said_copy (&end, lang);
      said_copy (&end, text);
    }
  return said;
}

/* Presence from an XMPP user to a SIP watcher (S2X). */
void
stox_watch_on_presence (StoxWatches           *ws,
                        const StoxPresenceEnv *env,
                        const StoxStanza      *st,
                        const char            *from_bare,
                        const char            *from_resource,
                        const char            *to_bare,
                        gint64                 now,
                        GPtrArray             *actions)
{
  Pair *pair = stox_watch_pair_get (ws, to_bare, from_bare, FALSE);
  const char *type = st->type;

  if (pair == NULL)
    return;

  if (g_strcmp0 (type, "subscribed") == 0)
    {
      if (!pair->authorized)
        stox_actions_store (actions, STOX_STORE_APPROVAL, FALSE, pair->target_jid,
                            pair->watcher_jid);
      pair->authorized = TRUE;
      /* Approved: now a probe fetches the current presence (stoxd(8)
       * PRESENCE), and the watchers' first active NOTIFY carries it — not a
       * closed one before its answer, which a phone shows as a flicker
       * Offline → Online.  The server sends the user's presence right
       * after the subscribed anyway (RFC 6121 §3.1.5). */
      for (Watch *w = pair->watches; w != NULL; w = w->next)
        {
          if (w->state == STOX_SUBSTATE_PENDING && !w->ending)
            {
              w->state = STOX_SUBSTATE_ACTIVE;
              ws->pending--;
              w->held = TRUE;
            }
        }
      stox_watch_pair_probe_cancel (ws, pair);
      stox_watch_pair_probe (ws, env, pair, now, actions);
      return;
    }
  if (g_strcmp0 (type, "unsubscribed") == 0 || g_strcmp0 (type, "error") == 0)
    {
      /* stoxd(8) PRESENCE: rejected (a probe is only sent once approved,
       * so this is never a probe's answer). */
      if (pair->authorized)
        stox_actions_store (actions, STOX_STORE_APPROVAL, TRUE, pair->target_jid,
                            pair->watcher_jid);
      pair->authorized = FALSE;
      stox_watch_pair_probe_cancel (ws, pair);
      pair_forget_resources (pair);
      for (Watch *w = pair->watches, *next; w != NULL; w = next)
        {
          next = w->next;
          stox_watch_terminate (ws, env, w, "rejected", FALSE, now, actions);
        }
      if (pair->watches == NULL)
        pair_drop (ws, pair);
      return;
    }
  if (type != NULL && g_strcmp0 (type, "unavailable") != 0)
    return;   /* subscribe/unsubscribe/probe toward SIP users go elsewhere */

  Said *said = said_from_stanza (st, from_resource);

  said->said = ++ws->said;
  if (stox_watch_said_resource (said)[0] == '\0' && !said->available)
    /* The server speaks for the account: no resource is available (RFC
     * 6121 §4.3.2, a probe's answer). */
    pair_forget_resources (pair);
  else if (said->available)
    /* The bare JID's unavailable said no resource was online: not so
     * any more. */
    pair_forget_resource (pair, "");
  pair_remember (pair, said);

  /* The first presence after a probe is its answer (the stream keeps
   * the server's order): who waited for it hears it now. */
  if (stox_watch_pair_probing (ws, pair))
    stox_watch_pair_release (ws, env, pair, now, actions);
  for (Watch *w = pair->watches; w != NULL; w = w->next)
    {
      if (w->state == STOX_SUBSTATE_ACTIVE)
        stox_watch_notify_state (ws, env, w, FALSE, now, actions);
    }
}

/* ---- expiry and shutdown ----------------------------------------------- */

void
stox_watch_expire (StoxWatches           *ws,
                   const StoxPresenceEnv *env,
                   gpointer               owner,
                   gint64                 now,
                   GPtrArray             *actions)
{
  Watch *w = owner;

  /* RFC 8048 §5.3.3 treatment for an expired dialog: closed,
   * terminated;reason=timeout, unavailable to the contact (when the link
   * is up: nothing goes toward XMPP before). */
  if (env->link_up)
    stox_actions_presence (actions, w->pair->watcher_jid, w->pair->target_jid,
                           "unavailable");
  stox_watch_terminate (ws, env, w, "timeout", TRUE, now, actions);
}

void
stox_watch_shutdown (StoxWatches           *ws,
                     const StoxPresenceEnv *env,
                     gboolean               end_subscriptions,
                     gint64                 now,
                     GPtrArray             *actions)
{
  GHashTableIter iter;
  gpointer value;
  g_autoptr (GPtrArray) watches = g_ptr_array_new ();

  g_hash_table_iter_init (&iter, ws->watch_by_dialog);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (watches, value);
  for (guint i = 0; i < watches->len; i++)
    {
      Watch *w = watches->pdata[i];

      if (w->ending)
        continue;
      stox_timers_cancel (ws->timers, &w->timer);
      gboolean was_held = w->held;
      w->held = FALSE;
      if (end_subscriptions)
        /* A gateway being retired (stox.conf(5), on-stop): the dialog
         * ends, and the watcher is told not to come back (RFC 6665
         * §4.2.2: noresource) — with closed, so that it does not keep
         * showing the last state. */
        stox_watch_send_notify (ws, env, w, STOX_SUBSTATE_TERMINATED, "noresource",
                     w->state == STOX_SUBSTATE_ACTIVE, w->state == STOX_SUBSTATE_ACTIVE, FALSE,
                     now, actions);
      else if (w->state == STOX_SUBSTATE_ACTIVE)
        /* A stop that a start follows: the dialog lives on, kept in the
         * state with its record (real clients never subscribe again
         * after a terminated NOTIFY), and shows the XMPP user closed
         * until the next start NOTIFYs her current presence in it.  Sent
         * even while one is in flight: there is no later. */
        stox_watch_send_notify (ws, env, w, STOX_SUBSTATE_ACTIVE, NULL, TRUE, TRUE, FALSE, now, actions);
      else if (was_held)
        /* Its first NOTIFY was waiting for the XMPP server's answer, and
         * every dialog gets one (RFC 6665 §4.2.1.2): pending, as it is. */
        stox_watch_send_notify (ws, env, w, STOX_SUBSTATE_PENDING, NULL, FALSE, FALSE, FALSE, now,
                                actions);
    }
  /* What is left to resync waits for the next start, which resyncs every
   * restored dialog anyway. */
  g_hash_table_remove_all (ws->resync);
}
