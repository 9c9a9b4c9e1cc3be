/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a SIP watcher's NOTIFY says (RFC 8048 §5.3, Table 1; RFC 6665
 * §4.2.2) and when: the document from the pair's table, the digest that
 * keeps a NOTIFY from repeating the last, and the probes a NOTIFY waits
 * for when the table may not be the whole picture.
 */
#include "config.h"

#include "watch-private.h"

#include <string.h>

#include "actions.h"
#include "address.h"
#include "methods.h"
#include "pidf.h"

/* ---- NOTIFY: what a watcher is told (§5.3, Table 1) -------------------- */

/* The resource to show one SIP watcher: the available one of highest
 * priority, else an unavailable one; ties go to the resource that spoke
 * last (so an old unavailable never hides the newer one's status text).
 * RFC 8048 §6.2 allows one NOTIFY per resource; one document per dialog
 * keeps "at most one NOTIFY in flight" exact, and SIP UAs show the most
 * available resource anyway (§2.8).  Documented in stoxd(8). */
static const Said *
pair_best (Pair *pair)
{
  const Said *best = NULL;

  for (const Said *s = pair->resources; s != NULL; s = s->next)
    {
      if (best == NULL || (s->available && !best->available) ||
          (s->available == best->available &&
           ((s->available && s->priority > best->priority) ||
            ((!s->available || s->priority == best->priority) &&
             s->said > best->said))))
        best = s;
    }
  return best;
}

/* TRUE when the pair's table is the XMPP user's whole current presence:
 * approved, and probed on the link that is up now (the answers of the
 * server, RFC 6121 §4.3.2, came in, or the wait for them is over).  A
 * table from before the link came up, or built only from what the user
 * sent since (a restart: the laptop online before it is not in it), is
 * not, and is never shown as the answer to a new dialog. */
static gboolean
pair_fresh (StoxWatches *ws, const StoxPresenceEnv *env, Pair *pair)
{
  return pair->authorized && env->link_up && pair->probed_link == ws->link &&
         !stox_watch_pair_probing (ws, pair);
}

/* The PIDF document watcher `w` is shown (RFC 8048 §5.3, Table 1), or
 * NULL for none: `with_body` FALSE (pending, a rejection), or nothing
 * known (RFC 8048 §5.3: unknown) while the table may not be the whole
 * picture.  `force_closed`: closed whatever is known. */
static char *
watch_document (StoxWatches           *ws,
                const StoxPresenceEnv *env,
                Watch                 *w,
                gboolean               with_body,
                gboolean               force_closed)
{
  const Said *best = with_body ? pair_best (w->pair) : NULL;
  g_autoptr (GPtrArray) statuses = NULL;
  g_autofree StoxLangText *texts = NULL;
  StoxPresenceInfo info = { 0 };
  const char *p;

  /* Known to be the whole picture, and empty: nobody is online. */
  if (with_body && best == NULL && pair_fresh (ws, env, w->pair))
    force_closed = TRUE;
  if (!force_closed && best == NULL)
    return NULL;
  if (force_closed)
    {
      /* §5.3.3: the watcher learns the presentity is gone. */
      info.available = FALSE;
      info.statuses = statuses = g_ptr_array_new ();
      return stox_pidf_build (w->entity, &info, env->rules);
    }
  /* The info the Said stands for, lent: every string stays the Said's. */
  p = stox_watch_said_resource (best);
  info.resource = p[0] != '\0' ? (char *) p : NULL;
  p += strlen (p) + 1;
  info.available = best->available;
  info.show = best->show != 0 ? (char *) stox_show_values[best->show - 1] : NULL;
  texts = g_new0 (StoxLangText, best->n_statuses);
  info.statuses = statuses = g_ptr_array_sized_new (best->n_statuses);
  for (guint i = 0; i < best->n_statuses; i++)
    {
      gboolean has_lang = *p++ != 0;

      if (has_lang)
        {
          texts[i].lang = (char *) p;
          p += strlen (p) + 1;
        }
      texts[i].text = (char *) p;
      p += strlen (p) + 1;
      g_ptr_array_add (statuses, &texts[i]);
    }
  info.has_priority = best->has_priority;
  info.priority = best->priority;
  return stox_pidf_build (w->entity, &info, env->rules);
}

/* 64-bit FNV-1a of a NOTIFY's state and document: what a NOTIFY said, to
 * leave out one that would say it again. */
static guint64
notify_digest (StoxSubstate substate, const char *doc)
{
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325);

  h = (h ^ (guint) substate) * G_GUINT64_CONSTANT (0x100000001b3);
  for (const char *p = doc != NULL ? doc : ""; *p != '\0'; p++)
    h = (h ^ (guchar) *p) * G_GUINT64_CONSTANT (0x100000001b3);
  return h != 0 ? h : 1;
}

/* ---- NOTIFYs in flight ------------------------------------------------- */

typedef struct
{
  StoxToken token;   /* first: the record is its own key (g_int64_hash) */
  Watch    *watch;
} Inflight;

Watch *
stox_watch_by_notify (StoxWatches *ws, StoxToken token)
{
  Inflight *in = g_hash_table_lookup (ws->watch_by_notify, &token);

  return in != NULL ? in->watch : NULL;
}

void
stox_watch_inflight_clear (StoxWatches *ws, Watch *w)
{
  Inflight *in;

  if (!w->inflight)
    return;
  in = g_hash_table_lookup (ws->inflight, w);
  g_hash_table_remove (ws->watch_by_notify, &in->token);
  /* Frees in. */
  g_hash_table_remove (ws->inflight, w);
  w->inflight = FALSE;
}

static void
inflight_set (StoxWatches *ws, Watch *w, StoxToken token)
{
  Inflight *in = g_new0 (Inflight, 1);

  stox_watch_inflight_clear (ws, w);
  in->token = token;
  in->watch = w;
  g_hash_table_add (ws->watch_by_notify, in);
  g_hash_table_insert (ws->inflight, w, in);
  w->inflight = TRUE;
}

/* Returns the NOTIFY (the STORE remove of a terminated one may follow it
 * in `actions`), or NULL when `changed_only` and the watcher was told
 * exactly this already. */
StoxSipNotify *
stox_watch_send_notify (StoxWatches           *ws,
             const StoxPresenceEnv *env,
             Watch                 *w,
             StoxSubstate           substate,
             const char            *reason,
             gboolean               with_body,
             gboolean               force_closed,
             gboolean               changed_only,
             gint64                 now,
             GPtrArray             *actions)
{
  g_autofree char *doc = watch_document (ws, env, w, with_body, force_closed);
  guint64 sent = notify_digest (substate, doc);
  gint64 expires_at = stox_timer_deadline (&w->timer);
  guint expires = 0;
  StoxSipNotify *n;

  if (changed_only && sent == w->sent)
    return NULL;
  if (substate != STOX_SUBSTATE_TERMINATED && expires_at > now)
    expires = (guint) ((expires_at - now + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC);
  n = stox_actions_notify (actions, stox_presence_env_token (env), w->dialog, substate, reason,
                           expires, STOX_PIDF_CONTENT_TYPE, g_steal_pointer (&doc));
  w->sent = sent;

  inflight_set (ws, w, n->token);
  w->dirty = FALSE;
  w->forced = FALSE;
  if (substate == STOX_SUBSTATE_TERMINATED)
    {
      w->ending = TRUE;
      /* The watcher was told the dialog is over (RFC 6665 §4.4.1): a
       * crash from here on must not bring it back. */
      stox_watch_store (actions, w, TRUE);
    }
  return n;
}

/* The watcher's current state: pending without a body; active with the
 * PIDF when the XMPP user's presence is known, else without a body
 * (RFC 8048 §5.3: unknown).  `force`: sent even when it says what the
 * last one said (RFC 6665 §4.2.1.2: every accepted SUBSCRIBE gets a
 * NOTIFY); otherwise only a change is.  A watcher waiting for a probe's
 * answer hears nothing yet (watch_release() sends it). */
void
stox_watch_notify_state (StoxWatches *ws, const StoxPresenceEnv *env, Watch *w, gboolean force,
              gint64 now, GPtrArray *actions)
{
  if (w->ending || w->held)
    return;
  if (w->inflight)
    {
      /* At most one NOTIFY in flight; the newest state goes next. */
      w->dirty = TRUE;
      w->forced = w->forced || force;
      return;
    }
  stox_watch_send_notify (ws, env, w, w->state, NULL, w->state == STOX_SUBSTATE_ACTIVE, FALSE, !force, now,
               actions);
}

void
stox_watch_terminate (StoxWatches *ws, const StoxPresenceEnv *env, Watch *w, const char *reason,
                 gboolean closed, gint64 now, GPtrArray *actions)
{
  if (w->ending)
    return;
  stox_timers_cancel (ws->timers, &w->timer);
  /* A terminated NOTIFY supersedes whatever was waiting. */
  w->held = FALSE;
  stox_watch_send_notify (ws, env, w, STOX_SUBSTATE_TERMINATED, reason, closed, closed, FALSE, now,
               actions);
}

/* ---- probes: the XMPP user's whole presence, asked for ----------------- */

gboolean
stox_watch_pair_probing (StoxWatches *ws, Pair *pair)
{
  StoxTimer *t = g_hash_table_lookup (ws->probing, pair);

  return t != NULL && stox_timer_armed (t);
}

void
stox_watch_pair_probe_cancel (StoxWatches *ws, Pair *pair)
{
  StoxTimer *t = g_hash_table_lookup (ws->probing, pair);

  if (t == NULL)
    return;
  stox_timers_cancel (ws->timers, t);
  g_hash_table_remove (ws->probing, pair);
}

/* Watcher `w` hears what its NOTIFY waited for: the first state of a new
 * or restored dialog, its fetch's one NOTIFY, the state after approval. */
static void
watch_release (StoxWatches *ws, const StoxPresenceEnv *env, Watch *w, gint64 now,
               GPtrArray *actions)
{
  if (!w->held)
    return;
  w->held = FALSE;
  if (w->fetch)
    /* RFC 6665 §4.4.3: the fetch's one NOTIFY, with what is known now. */
    stox_watch_send_notify (ws, env, w, STOX_SUBSTATE_TERMINATED, "timeout", TRUE, FALSE, FALSE, now,
                 actions);
  else
    stox_watch_notify_state (ws, env, w, TRUE, now, actions);
}

/* The probe's answer came (the first presence from the XMPP user after
 * it), or the wait for one is over: every watcher that waited hears the
 * state as it is now. */
void
stox_watch_pair_release (StoxWatches *ws, const StoxPresenceEnv *env, Pair *pair, gint64 now,
              GPtrArray *actions)
{
  stox_watch_pair_probe_cancel (ws, pair);
  for (Watch *w = pair->watches, *next; w != NULL; w = next)
    {
      next = w->next;
      watch_release (ws, env, w, now, actions);
    }
}

/* Asks the XMPP user's server for the whole current presence (RFC 6121
 * §4.3: a probe, only once approved, stoxd(8) PRESENCE) and holds the pair's
 * waiting watchers' NOTIFYs until the first answer, at most
 * STOX_WATCH_PROBE_WAIT_MS: a server may answer nothing at all (ejabberd
 * for an offline user), and the watcher must still hear that she is
 * offline.  One probe at a time per pair. */
/* The pair's watchers wait for an answer from the XMPP server until
 * `deadline` (ws->probing; stox_watch_probe_waited() ends the wait). */
static void
wait_for_answer (StoxWatches *ws, Pair *pair, gint64 deadline)
{
  StoxTimer *t = g_hash_table_lookup (ws->probing, pair);

  if (t == NULL)
    {
      t = g_new0 (StoxTimer, 1);
      g_hash_table_insert (ws->probing, pair, t);
    }
  stox_timers_arm (ws->timers, t, STOX_PRESENCE_TIMER_PROBE_WAIT, pair, deadline);
}

void
stox_watch_pair_probe (StoxWatches *ws, const StoxPresenceEnv *env, Pair *pair, gint64 now,
            GPtrArray *actions)
{
  if (stox_watch_pair_probing (ws, pair) && pair->probed_link == ws->link)
    return;
  stox_actions_presence (actions, pair->watcher_jid, pair->target_jid, "probe");
  pair->probed_link = ws->link;
  wait_for_answer (ws, pair, now + STOX_WATCH_PROBE_WAIT_MS * 1000);
}

/* The same wait as a probe's, without a probe: the pair is not approved,
 * so pair_fresh() stays FALSE and the table is never taken for the whole
 * picture. */
void
stox_watch_pair_await_answer (StoxWatches *ws,
                              Pair        *pair,
                              gint64       now)
{
  wait_for_answer (ws, pair, now + STOX_WATCH_ASK_WAIT_MS * 1000);
}

void
stox_watch_probe_waited (StoxWatches           *ws,
                         const StoxPresenceEnv *env,
                         gpointer               owner,
                         gint64                 now,
                         GPtrArray             *actions)
{
  /* The timer is no longer armed, and goes: the table now counts as the
   * whole picture (pair_fresh()), nothing having come. */
  g_hash_table_remove (ws->probing, owner);
  stox_watch_pair_release (ws, env, owner, now, actions);
}

/* An approved watcher's NOTIFY, now or once the XMPP user's presence is
 * known: never from a table the current link did not refresh. */
void
stox_watch_notify_fresh (StoxWatches *ws, const StoxPresenceEnv *env, Watch *w, gint64 now,
              GPtrArray *actions)
{
  Pair *pair = w->pair;

  if (!env->link_up || pair_fresh (ws, env, pair))
    {
      /* Down: what is known now, the probe follows the link (resync). */
      w->held = TRUE;
      watch_release (ws, env, w, now, actions);
      return;
    }
  w->held = TRUE;
  stox_watch_pair_probe (ws, env, pair, now, actions);
}
