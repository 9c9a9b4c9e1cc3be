/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XMPP users following SIP users; see follow.h.  Section numbers are RFC
 * 8048's unless another RFC is named; docs/mappings.md §2 has the tables.
 */
#include "config.h"

#include "follow.h"

#include "actions.h"
#include "address.h"
#include "methods.h"
#include "pidf.h"

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
  gboolean     owe_subscribed; /* told_subscribed while the link was down */
  StoxTimer    timer;
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

struct _StoxFollows
{
  StoxTimers *timers;           /* presence's, borrowed */
  GHashTable *follows;          /* key → Follow */
  GHashTable *follow_by_dialog; /* &dialog → Follow */
  GHashTable *ended;            /* &dialog → Ended */
  GQueue      ended_fifo;       /* Ended, by deadline (one constant) */
  GHashTable *owed;             /* Follow* whose XMPP user is owed what
                                 * could not be sent while the link was
                                 * down: told once it is up
                                 * (stox_follow_resync()) */
};

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
follow_set_dialog (StoxFollows *fs, Follow *f, StoxToken dialog)
{
  if (f->dialog != 0)
    g_hash_table_remove (fs->follow_by_dialog, &f->dialog);
  f->dialog = dialog;
  if (dialog != 0)
    g_hash_table_insert (fs->follow_by_dialog, &f->dialog, f);
}

static void
remember_ended (StoxFollows *fs, StoxToken dialog, gint64 now)
{
  Ended *e;

  if (dialog == 0 || g_hash_table_contains (fs->ended, &dialog))
    return;
  e = g_new0 (Ended, 1);
  e->dialog = dialog;
  e->until = now + ENDED_DIALOG_US;
  e->link.data = e;
  g_hash_table_insert (fs->ended, &e->dialog, e);
  g_queue_push_tail_link (&fs->ended_fifo, &e->link);
}

/* The follow of (XMPP user, SIP user), or NULL. */
static Follow *
follow_find (StoxFollows *fs, const char *xmpp_jid, const char *contact_jid)
{
  g_autofree char *key = stox_presence_pair_key (xmpp_jid, contact_jid);

  return g_hash_table_lookup (fs->follows, key);
}

static void
follow_remove (StoxFollows *fs, Follow *f)
{
  g_hash_table_remove (fs->owed, f);
  stox_timers_cancel (fs->timers, &f->timer);
  follow_set_dialog (fs, f, 0);
  g_hash_table_remove (fs->follows, f->key);
}

StoxFollows *
stox_follows_new (StoxTimers *timers)
{
  StoxFollows *fs = g_new0 (StoxFollows, 1);

  fs->timers = timers;
  fs->follows = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                       (GDestroyNotify) follow_free);
  fs->follow_by_dialog = g_hash_table_new (g_int64_hash, g_int64_equal);
  fs->ended = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, g_free);
  fs->owed = g_hash_table_new (NULL, NULL);
  return fs;
}

void
stox_follows_free (StoxFollows *fs)
{
  if (fs == NULL)
    return;
  g_hash_table_unref (fs->owed);
  g_hash_table_unref (fs->follow_by_dialog);
  g_hash_table_unref (fs->follows);
  g_queue_init (&fs->ended_fifo);
  g_hash_table_unref (fs->ended);
  g_free (fs);
}

guint
stox_follows_count (StoxFollows *fs)
{
  return g_hash_table_size (fs->follows);
}

/* ---- the SUBSCRIBE, and what the XMPP user hears (§5.2, Table 2) ------- */

static void
follow_subscribe (StoxFollows *fs, const StoxPresenceEnv *env, Follow *f, gboolean new_dialog,
                  guint expires, GPtrArray *actions)
{
  if (new_dialog || f->dialog == 0)
    follow_set_dialog (fs, f, stox_presence_env_token (env));
  stox_actions_subscribe (actions, f->dialog, f->request_uri, f->from_uri, "presence",
                          STOX_PIDF_CONTENT_TYPE, expires);
}

/* What the XMPP user saw online goes offline (shutdown, end of the
 * subscription): RFC 6121 §4.4 needs an explicit unavailable.  While the
 * link is down nothing goes toward XMPP: the resources are kept as
 * unavailable, told once it is up. */
static void
follow_send_unavailable (StoxFollows *fs, const StoxPresenceEnv *env, Follow *f,
                         GPtrArray *actions)
{
  GHashTableIter iter;
  gpointer key, value;

  if (!env->link_up)
    {
      g_hash_table_iter_init (&iter, f->last);
      while (g_hash_table_iter_next (&iter, &key, &value))
        if (((StoxPresenceInfo *) value)->available)
          {
            StoxPresenceInfo *gone = stox_presence_info_new ();

            gone->resource = g_strdup (((StoxPresenceInfo *) value)->resource);
            g_hash_table_iter_replace (&iter, gone);
            g_hash_table_add (fs->owed, f);
          }
      return;
    }
  g_hash_table_iter_init (&iter, f->last);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (((StoxPresenceInfo *) value)->available)
      {
        const char *resource = key;
        g_autofree char *from = resource[0] != '\0'
                                ? g_strdup_printf ("%s/%s", f->contact_jid, resource)
                                : g_strdup (f->contact_jid);

        stox_actions_presence (actions, from, f->xmpp_jid, "unavailable");
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

/* A NOTIFY's tuples: each a presence to the XMPP user, and kept for
 * probes (§7).  While the link is down they are only kept: nothing goes
 * toward XMPP before it is up, and then the XMPP user is told the latest
 * (stox_follow_resync()). */
static void
deliver_pidf (StoxFollows *fs, const StoxPresenceEnv *env, Follow *f, GPtrArray *infos,
              const char *lang, GPtrArray *actions)
{
  for (guint i = 0; i < infos->len; i++)
    {
      const StoxPresenceInfo *info = infos->pdata[i];
      StoxPresenceInfo *kept = info_copy (info);

      if (env->link_up)
        send_info (f, info, lang, actions);
      else
        g_hash_table_add (fs->owed, f);
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
 * unlike a stop, nothing is left to restore.  (While the link is down
 * the XMPP user cannot be told: the follow is gone when it comes up.) */
static void
follow_end (StoxFollows *fs, const StoxPresenceEnv *env, Follow *f, gboolean tell_unsubscribed,
            GPtrArray *actions)
{
  if (f->state != FOLLOW_FETCH)
    stox_actions_store (actions, STOX_STORE_FOLLOW, TRUE, f->xmpp_jid, f->contact_jid);
  if (env->link_up)
    {
      follow_send_unavailable (fs, env, f, actions);
      if (tell_unsubscribed)
        stox_actions_presence (actions, f->contact_jid, f->xmpp_jid, "unsubscribed");
    }
  follow_remove (fs, f);
}

/* A Follow from its two JIDs; the SIP addresses are derived (RFC 7247
 * §6.5), so a restored record needs nothing else.  NULL when a JID no
 * longer maps (a changed configuration). */
static Follow *
follow_create (StoxFollows           *fs,
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
  f->key = stox_presence_pair_key (xmpp_jid, contact_jid);
  f->xmpp_jid = g_strdup (xmpp_jid);
  f->contact_jid = g_strdup (contact_jid);
  f->request_uri = g_steal_pointer (&request_uri);
  f->from_uri = g_steal_pointer (&from_uri);
  f->last = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                   (GDestroyNotify) stox_presence_info_free);
  f->state = state;
  f->expires = state == FOLLOW_FETCH ? 0 : STOX_PRESENCE_DEFAULT_EXPIRES;
  g_hash_table_insert (fs->follows, f->key, f);
  return f;
}

/* ---- the XMPP user's presence stanzas ---------------------------------- */

static void
xmpp_subscribe (StoxFollows           *fs,
                const StoxPresenceEnv *env,
                const StoxStanza      *st,
                const StoxStanzaRoute *route,
                gboolean               fetch_only,
                gboolean               full,
                GPtrArray             *actions)
{
  Follow *f = follow_find (fs, route->from_bare, route->to_bare);

  if (f != NULL)
    {
      /* Already following: a repeated subscribe is answered from state. */
      if (!fetch_only && f->told_subscribed)
        stox_actions_presence (actions, f->contact_jid, f->xmpp_jid, "subscribed");
      if (!fetch_only && f->state == FOLLOW_FETCH)
        {
          f->state = FOLLOW_SUBSCRIBING;   /* the fetch's answer now establishes */
          f->expires = STOX_PRESENCE_DEFAULT_EXPIRES;
          stox_actions_store (actions, STOX_STORE_FOLLOW, FALSE, f->xmpp_jid, f->contact_jid);
        }
      return;
    }
  if (full)
    {
      stox_actions_stanza_error (actions, env->rules, st, env->route->component,
                                 "resource-constraint", "subscription table full");
      return;
    }
  f = follow_create (fs, env, route->from_bare, route->to_bare,
                     fetch_only ? FOLLOW_FETCH : FOLLOW_SUBSCRIBING);
  if (f == NULL)
    return;
  if (!fetch_only)
    stox_actions_store (actions, STOX_STORE_FOLLOW, FALSE, f->xmpp_jid, f->contact_jid);
  follow_subscribe (fs, env, f, TRUE, f->expires, actions);
}

void
stox_follow_on_subscribe (StoxFollows           *fs,
                          const StoxPresenceEnv *env,
                          const StoxStanza      *st,
                          const StoxStanzaRoute *route,
                          gboolean               full,
                          GPtrArray             *actions)
{
  xmpp_subscribe (fs, env, st, route, FALSE, full, actions);
}

void
stox_follow_on_unsubscribe (StoxFollows           *fs,
                            const StoxPresenceEnv *env,
                            const StoxStanzaRoute *route,
                            GPtrArray             *actions)
{
  Follow *f = follow_find (fs, route->from_bare, route->to_bare);

  if (f == NULL)
    {
      /* Nothing on the SIP side; RFC 6121 §3.3.3 still wants the answer. */
      stox_actions_presence (actions, route->to_bare, route->from_bare, "unsubscribed");
      return;
    }
  stox_timers_cancel (fs->timers, &f->timer);
  if (f->state == FOLLOW_ESTABLISHED || f->state == FOLLOW_SUBSCRIBING)
    {
      /* §5.2.3: Expires: 0 in the dialog; unsubscribed on its answer. */
      f->state = FOLLOW_ENDING;
      follow_subscribe (fs, env, f, FALSE, 0, actions);
      follow_send_unavailable (fs, env, f, actions);
    }
  else
    follow_end (fs, env, f, TRUE, actions);
}

/* A probe (§7): answered from what the gateway saw, or with a one-shot
 * fetch SUBSCRIBE when it saw nothing. */
void
stox_follow_on_probe (StoxFollows           *fs,
                      const StoxPresenceEnv *env,
                      const StoxStanza      *st,
                      const StoxStanzaRoute *route,
                      gboolean               full,
                      GPtrArray             *actions)
{
  Follow *f = follow_find (fs, route->from_bare, route->to_bare);

  if (f == NULL)
    {
      xmpp_subscribe (fs, env, st, route, TRUE, full, actions);
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
    follow_subscribe (fs, env, f, FALSE, f->expires, actions);
}

/* ---- NOTIFY for the gateway's own subscriptions ------------------------ */

static gboolean
reason_is_final (const char *reason)
{
  /* RFC 6665 §4.1.3: do not re-subscribe. */
  return g_strcmp0 (reason, "rejected") == 0 || g_strcmp0 (reason, "noresource") == 0 ||
         g_strcmp0 (reason, "invariant") == 0;
}

void
stox_follow_on_notify (StoxFollows           *fs,
                       const StoxPresenceEnv *env,
                       const StoxSipRequest  *req,
                       gint64                 now,
                       GPtrArray             *actions)
{
  Follow *f = req->dialog != 0 ? g_hash_table_lookup (fs->follow_by_dialog, &req->dialog) : NULL;
  g_autoptr (GPtrArray) infos = NULL;
  g_autoptr (GError) error = NULL;
  gsize len = req->body != NULL ? g_bytes_get_size (req->body) : 0;

  if (f == NULL)
    {
      /* The final NOTIFY of a dialog the gateway ended is expected; a
       * NOTIFY for anything else has no subscription (RFC 6665 §4.1.3). */
      gboolean ended = req->dialog != 0 && g_hash_table_contains (fs->ended, &req->dialog);

      stox_actions_respond (actions, req->token, ended ? 200 : 481, 0, NULL, NULL, NULL);
      return;
    }
  if (!stox_sip_event_allowed (req->event))
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
          /* stoxd(8) PRESENCE: 400, and no presence state changes. */
          stox_actions_respond (actions, req->token, 400, 0, NULL, NULL, error->message);
          return;
        }
    }
  stox_actions_respond (actions, req->token, 200, 0, NULL, NULL, NULL);

  if (g_strcmp0 (req->substate, "terminated") == 0)
    {
      if (f->state == FOLLOW_STOPPING)
        {
          follow_remove (fs, f);
          return;
        }
      if (f->state == FOLLOW_FETCH || f->state == FOLLOW_ENDING)
        {
          if (infos != NULL && f->state == FOLLOW_FETCH)
            deliver_pidf (fs, env, f, infos, req->content_language, actions);
          if (f->state == FOLLOW_ENDING)
            follow_end (fs, env, f, TRUE, actions);
          else
            follow_remove (fs, f);
          return;
        }
      if (reason_is_final (req->substate_reason))
        {
          follow_end (fs, env, f, TRUE, actions);
          return;
        }
      /* deactivated, timeout (re-subscribe now); probation, giveup (later) */
      gint64 wait = 0;
      if (g_strcmp0 (req->substate_reason, "probation") == 0 ||
          g_strcmp0 (req->substate_reason, "giveup") == 0)
        wait = req->substate_retry_after > 0 ? req->substate_retry_after : STOX_FOLLOW_RETRY_S;
      follow_send_unavailable (fs, env, f, actions);
      follow_set_dialog (fs, f, 0);
      f->state = FOLLOW_WAITING;
      stox_timers_arm (fs->timers, &f->timer, STOX_PRESENCE_TIMER_FOLLOW_RETRY, f,
                       now + wait * G_USEC_PER_SEC);
      return;
    }

  if (g_strcmp0 (req->substate, "active") == 0 && f->state != FOLLOW_ENDING &&
      f->state != FOLLOW_STOPPING)
    {
      /* RFC 3856 §6.7 / §5.2: authorized only once the notifier says so. */
      if (!f->told_subscribed && f->state != FOLLOW_FETCH)
        {
          if (env->link_up)
            stox_actions_presence (actions, f->contact_jid, f->xmpp_jid, "subscribed");
          else
            {
              f->owe_subscribed = TRUE;
              g_hash_table_add (fs->owed, f);
            }
          f->told_subscribed = TRUE;
        }
      if (infos != NULL)
        deliver_pidf (fs, env, f, infos, req->content_language, actions);
    }
  /* pending: answered, nothing to tell XMPP yet. */
}

gboolean
stox_follow_on_subscribe_response (StoxFollows           *fs,
                                   const StoxPresenceEnv *env,
                                   const StoxSipResponse *resp,
                                   gint64                 now,
                                   GPtrArray             *actions)
{
  Follow *f = g_hash_table_lookup (fs->follow_by_dialog, &resp->token);

  if (f == NULL)
    return FALSE;
  if (resp->status < 200)
    return TRUE;

  if (f->state == FOLLOW_ENDING)
    {
      /* §5.2.3: the unsubscribe is done either way. */
      remember_ended (fs, f->dialog, now);
      follow_end (fs, env, f, TRUE, actions);
      return TRUE;
    }
  if (f->state == FOLLOW_STOPPING)
    {
      remember_ended (fs, f->dialog, now);
      follow_remove (fs, f);
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
      stox_timers_arm (fs->timers, &f->timer, STOX_PRESENCE_TIMER_FOLLOW_REFRESH, f, at);
      return TRUE;
    }

  switch (resp->status)
    {
    case 423:
      /* RFC 6665 §4.1.2.1: ask again with at least Min-Expires. */
      if (resp->min_expires > 0 && resp->min_expires <= 24 * 3600)
        {
          f->expires = (guint) resp->min_expires;
          follow_subscribe (fs, env, f, f->state != FOLLOW_ESTABLISHED, f->expires, actions);
          return TRUE;
        }
      break;
    case 481:
      /* The dialog is gone, the authorization is not (§5.2, 481). */
      if (f->state == FOLLOW_ESTABLISHED)
        {
          f->state = FOLLOW_SUBSCRIBING;
          follow_subscribe (fs, env, f, TRUE, f->expires, actions);
          return TRUE;
        }
      break;
    case 403:
    case 489:
    case 603:
      /* §5.2: the authorization is cancelled for good. */
      follow_end (fs, env, f, f->state != FOLLOW_FETCH, actions);
      return TRUE;
    default:
      break;
    }

  if (f->state == FOLLOW_FETCH)
    {
      follow_remove (fs, f);
      return TRUE;
    }
  /* 480 Temporarily Unavailable ends this dialog, yet the user may come
   * back: it is retried like the transient failures below. */
  if (stox_sip_status_ends_subscription (resp->status, FALSE) && resp->status != 480)
    {
      follow_end (fs, env, f, TRUE, actions);
      return TRUE;
    }
  /* Transient (408, 480, 5xx, 486, …): keep the authorization, retry. */
  follow_send_unavailable (fs, env, f, actions);
  follow_set_dialog (fs, f, 0);
  f->state = FOLLOW_WAITING;
  stox_timers_arm (fs->timers, &f->timer, STOX_PRESENCE_TIMER_FOLLOW_RETRY, f,
                   now + STOX_FOLLOW_RETRY_S * G_USEC_PER_SEC);
  return TRUE;
}

/* ---- timers, restart and shutdown -------------------------------------- */

void
stox_follow_refresh (StoxFollows           *fs,
                     const StoxPresenceEnv *env,
                     gpointer               owner,
                     GPtrArray             *actions)
{
  Follow *f = owner;

  follow_subscribe (fs, env, f, FALSE, f->expires, actions);
}

void
stox_follow_retry (StoxFollows           *fs,
                   const StoxPresenceEnv *env,
                   gpointer               owner,
                   GPtrArray             *actions)
{
  Follow *f = owner;

  f->state = FOLLOW_SUBSCRIBING;
  follow_subscribe (fs, env, f, TRUE, f->expires, actions);
}

gboolean
stox_follow_restore (StoxFollows           *fs,
                     const StoxPresenceEnv *env,
                     const StoxStoreRecord *r,
                     gint64                 at,
                     GPtrArray             *actions)
{
  Follow *f;

  if (follow_find (fs, r->xmpp_jid, r->sip_jid) != NULL)
    return FALSE;
  f = follow_create (fs, env, r->xmpp_jid, r->sip_jid, FOLLOW_WAITING);
  if (f == NULL)
    {
      /* The configuration changed under the record: drop it. */
      stox_actions_store (actions, STOX_STORE_FOLLOW, TRUE, r->xmpp_jid, r->sip_jid);
      return FALSE;
    }
  /* Re-subscribe from the loop, not from start-up itself. */
  stox_timers_arm (fs->timers, &f->timer, STOX_PRESENCE_TIMER_FOLLOW_RETRY, f, at);
  return TRUE;
}

void
stox_follow_forget_ended (StoxFollows *fs, gint64 now)
{
  GList *l;

  while ((l = g_queue_peek_head_link (&fs->ended_fifo)) != NULL &&
         ((Ended *) l->data)->until <= now)
    {
      Ended *e = l->data;

      g_queue_unlink (&fs->ended_fifo, &e->link);
      g_hash_table_remove (fs->ended, &e->dialog);
    }
}

gboolean
stox_follow_on_send_failed (StoxFollows      *fs,
                            const StoxStanza *st)
{
  g_autofree char *contact = NULL, *xmpp = NULL;
  gboolean subscribed = g_strcmp0 (st->type, "subscribed") == 0;
  Follow *f;

  /* Availability (no type) or unavailable, or the approval. */
  if (st->type != NULL && !subscribed && g_strcmp0 (st->type, "unavailable") != 0)
    return FALSE;
  contact = st->from != NULL ? stox_bare_jid (st->from) : NULL;
  xmpp = st->to != NULL ? stox_bare_jid (st->to) : NULL;
  if (contact == NULL || xmpp == NULL)
    return FALSE;
  f = follow_find (fs, xmpp, contact);
  if (f == NULL)
    return FALSE;
  /* The latest state goes again, which covers this one and any later. */
  if (subscribed)
    f->owe_subscribed = TRUE;
  g_hash_table_add (fs->owed, f);
  return TRUE;
}

guint
stox_follow_resync (StoxFollows           *fs,
                    const StoxPresenceEnv *env,
                    guint                  max,
                    GPtrArray             *actions)
{
  GHashTableIter iter;
  gpointer key, value;
  guint sent = 0;

  g_hash_table_iter_init (&iter, fs->owed);
  while (sent < max && g_hash_table_iter_next (&iter, &key, NULL))
    {
      Follow *f = key;
      GHashTableIter last;

      g_hash_table_iter_remove (&iter);
      if (f->owe_subscribed)
        stox_actions_presence (actions, f->contact_jid, f->xmpp_jid, "subscribed");
      f->owe_subscribed = FALSE;
      /* The latest state of every tuple, as a probe would get it (§7):
       * the kept notes carry their language. */
      g_hash_table_iter_init (&last, f->last);
      while (g_hash_table_iter_next (&last, NULL, &value))
        send_info (f, value, NULL, actions);
      sent++;
    }
  return g_hash_table_size (fs->owed);
}

gint64
stox_follow_next_ended (StoxFollows *fs)
{
  GList *l = g_queue_peek_head_link (&fs->ended_fifo);

  return l != NULL ? ((Ended *) l->data)->until : -1;
}

void
stox_follow_shutdown (StoxFollows           *fs,
                      const StoxPresenceEnv *env,
                      gboolean               end_subscriptions,
                      GPtrArray             *actions)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, fs->follows);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Follow *f = value;

      stox_timers_cancel (fs->timers, &f->timer);
      if (end_subscriptions && f->dialog != 0 &&
          (f->state == FOLLOW_ESTABLISHED || f->state == FOLLOW_SUBSCRIBING))
        {
          /* A gateway being retired: the dialog ends.  The XMPP user's
           * authorization outlives the gateway: no unsubscribed. */
          f->state = FOLLOW_STOPPING;
          follow_subscribe (fs, env, f, FALSE, 0, actions);
        }
      /* Otherwise the subscription is left to the notifier: the next
       * start subscribes anew (its FOLLOW record is kept), and the old
       * dialog's NOTIFYs are answered 481 meanwhile (RFC 6665 §4.1.3).
       * Either way what the XMPP user saw online goes offline: the
       * gateway cannot tell her of changes until it is back. */
      follow_send_unavailable (fs, env, f, actions);
    }
}
