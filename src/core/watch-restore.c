/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SIP watchers' dialogs across a restart: WATCH and APPROVAL records
 * restored, and once the link is up the pairs asked for the current
 * presence again, paced (RFC 6665 §4.2.1.4 for the ones that expired).
 */
#include "config.h"

#include "watch-private.h"

#include <string.h>

#include "actions.h"
#include "address.h"
#include "methods.h"
#include "pidf.h"

/* ---- restart ----------------------------------------------------------- */

/* TRUE when a WATCH record still fits the configuration: the watcher is
 * user@component and the XMPP user has a localpart, as
 * stox_route_sip() made them. */
static gboolean
watch_record_valid (const StoxPresenceEnv *env, const StoxStoreRecord *r)
{
  g_autoptr (StoxJid) watcher = stox_jid_parse (r->sip_jid, NULL);
  g_autoptr (StoxJid) target = stox_jid_parse (r->xmpp_jid, NULL);

  return r->dialog != 0 && r->entity != NULL && watcher != NULL && target != NULL &&
         watcher->local != NULL && watcher->resource == NULL &&
         g_ascii_strcasecmp (watcher->domain, env->route->component) == 0 &&
         target->local != NULL && target->resource == NULL;
}

gboolean
stox_watch_record_expired (const StoxStoreRecord *r, gint64 now)
{
  return r->kind == STOX_STORE_WATCH && r->deadline <= now;
}

/* A SIP watcher's dialog after a crash.  The SIP front end restores the
 * dialog's wire state beside it, so the watcher's next refresh lands here
 * again.  Nothing is sent now (the XMPP link is not up yet):
 * stox_presence_on_link() asks the XMPP side for the current state, and
 * the existing paths NOTIFY it. */
void
stox_watch_restore (StoxWatches           *ws,
                    const StoxPresenceEnv *env,
                    const StoxStoreRecord *r,
                    gint64                 now,
                    GPtrArray             *actions)
{
  Pair *pair;
  Watch *w;

  if (r->dialog != 0 && g_hash_table_contains (ws->watch_by_dialog, &r->dialog))
    return;
  if (stox_watch_record_expired (r, now) || !watch_record_valid (env, r))
    {
      /* RFC 6665 §4.2.1.4: unrefreshed past its expiry the subscription
       * is over (the watcher knows it too); or the configuration changed
       * under the record.  Drop it, and say so. */
      stox_actions_store (actions, STOX_STORE_WATCH, TRUE, r->xmpp_jid, r->sip_jid)->dialog =
        r->dialog;
      return;
    }

  pair = stox_watch_pair_get (ws, r->sip_jid, r->xmpp_jid, TRUE);
  w = g_new0 (Watch, 1);
  w->dialog = r->dialog;
  w->pair = pair;
  w->entity = stox_intern_ref (ws->entities, r->entity);
  /* An APPROVAL record read later promotes it (records come in any
   * order). */
  w->state = pair->authorized ? STOX_SUBSTATE_ACTIVE : STOX_SUBSTATE_PENDING;
  w->stored = TRUE;
  stox_watch_count (ws, w, +1);   /* its source is not kept: not counted there */
  w->next = pair->watches;
  pair->watches = w;
  g_hash_table_insert (ws->watch_by_dialog, &w->dialog, w);
  if (w->state == STOX_SUBSTATE_PENDING)
    ws->pending++;
  stox_timers_arm (ws->timers, &w->timer, STOX_PRESENCE_TIMER_WATCH_EXPIRY, w, r->deadline);
  g_hash_table_add (ws->resync, pair);
}

void
stox_watch_restore_approval (StoxWatches *ws, const StoxStoreRecord *r)
{
  Pair *pair = stox_watch_pair_get (ws, r->sip_jid, r->xmpp_jid, TRUE);

  pair->authorized = TRUE;
  /* Its WATCH records may have come first.  Silent: the watcher hears
   * the state once the link is up (stox_presence_on_link). */
  for (Watch *w = pair->watches; w != NULL; w = w->next)
    {
      if (w->state == STOX_SUBSTATE_PENDING)
        {
          w->state = STOX_SUBSTATE_ACTIVE;
          ws->pending--;
        }
    }
}

void
stox_watch_on_link (StoxWatches *ws, gboolean up)
{
  GHashTableIter iter;
  gpointer value;

  if (!up)
    return;
  /* Whatever the pairs' tables hold was heard on an earlier link (or
   * before a restart): it may have changed meanwhile, unheard.  Every
   * approved pair that feeds a dialog probes again (batched by
   * presence.c).  A pair still waiting for approval is asked again only
   * after a restart (stox_watch_restore()): the server would show the
   * user the same request once more at every flap. */
  ws->link++;
  g_hash_table_iter_init (&iter, ws->pairs);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Pair *pair = value;

      if (pair->authorized && pair->watches != NULL)
        g_hash_table_add (ws->resync, pair);
    }
}

gboolean
stox_watch_on_send_failed (StoxWatches      *ws,
                           const StoxStanza *st)
{
  g_autofree char *watcher = NULL, *target = NULL;
  Pair *pair;

  if (g_strcmp0 (st->type, "subscribe") != 0 && g_strcmp0 (st->type, "probe") != 0)
    return FALSE;
  watcher = st->from != NULL ? stox_bare_jid (st->from) : NULL;
  target = st->to != NULL ? stox_bare_jid (st->to) : NULL;
  if (watcher == NULL || target == NULL)
    return FALSE;
  pair = stox_watch_pair_get (ws, watcher, target, FALSE);
  if (pair == NULL || pair->watches == NULL)
    return FALSE;
  /* The server is not known to have read it: the user may not have been
   * asked, or the probe brings no answer.  Asked again (at least once, as
   * for messages: docs/deployment.md, "When the link falls anyway"),
   * unlike a flap's pending pairs, which were read (stox_watch_on_link). */
  g_hash_table_add (ws->resync, pair);
  return TRUE;
}

guint
stox_watch_resync (StoxWatches           *ws,
                   const StoxPresenceEnv *env,
                   guint                  max,
                   gint64                 now,
                   GPtrArray             *actions)
{
  GHashTableIter iter;
  gpointer key;
  guint sent = 0;

  g_hash_table_iter_init (&iter, ws->resync);
  while (sent < max && g_hash_table_iter_next (&iter, &key, NULL))
    {
      Pair *pair = key;

      g_hash_table_iter_remove (&iter);
      if (pair->watches == NULL)
        continue;
      /* Approved: a probe brings the XMPP user's current presence, which
       * then NOTIFYs the dialogs, restored ones too (stoxd(8) PRESENCE: probes
       * only once approved); one that gets no answer (ejabberd, an
       * offline user) hears closed when the wait is over.  Not (known to
       * be) approved: a repeated subscribe — a server answers it with
       * subscribed on the user's behalf when the contact is already
       * approved (RFC 6121 §3.1.3), so an approval given while the
       * gateway was down is not lost. */
      if (pair->authorized)
        {
          for (Watch *w = pair->watches; w != NULL; w = w->next)
            {
              if (w->state == STOX_SUBSTATE_ACTIVE && !w->ending)
                w->held = TRUE;
            }
          stox_watch_pair_probe_cancel (ws, pair);
          stox_watch_pair_probe (ws, env, pair, now, actions);
        }
      else
        {
          stox_actions_presence (actions, pair->watcher_jid, pair->target_jid, "subscribe");
          /* Its restored watchers (told nothing since the start) hear
           * their state once the answer has had STOX_WATCH_ASK_WAIT_MS:
           * active if it came, else pending again.  A watcher whose first
           * NOTIFY was still waiting when the gateway went down without a
           * word (a crash) gets one that way (RFC 6665 §4.2.1.2).  A
           * request sent again after a link fell (stox_watch_on_send_failed)
           * tells the watchers told already nothing new. */
          gboolean held = FALSE;

          for (Watch *w = pair->watches; w != NULL; w = w->next)
            {
              if (w->state == STOX_SUBSTATE_PENDING && !w->ending && w->sent == 0)
                w->held = held = TRUE;
            }
          if (held && !stox_watch_pair_probing (ws, pair))
            stox_watch_pair_await_answer (ws, pair, now);
        }
      sent++;
    }
  return g_hash_table_size (ws->resync);
}
