/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Error bounces held for the component link; see bounce-hold.h.
 */
#include "config.h"

#include "bounce-hold.h"

#include "actions.h"
#include "deadline.h"

/* One error bounce, in exactly one of the two queues. */
typedef struct
{
  StoxStanza *st;
  char       *key;       /* to "\n" id: what an unsent report carries */
  gint64      expires;   /* owed + STOX_BOUNCE_HOLD_US */
  GList       link;
} Bounce;

struct _StoxBounceHold
{
  guint       max;
  GQueue      held;        /* Bounce, by expiry: waiting for the link */
  GQueue      sent;        /* Bounce, by expiry: handed out, a copy kept */
  GHashTable *sent_by_key; /* key → Bounce in sent */
  gint64      retry_at;    /* link up, send queue full: next try; -1 none */
  guint64     dropped;
};

static gboolean
is_error_message (const StoxStanza *st)
{
  return st != NULL && st->kind == STOX_STANZA_MESSAGE && g_strcmp0 (st->type, "error") == 0;
}

static char *
key_of (const StoxStanza *st)
{
  return g_strdup_printf ("%s\n%s", st->to != NULL ? st->to : "", st->id != NULL ? st->id : "");
}

/* What an error <message/> carries (stox_actions_stanza_error() and the
 * SIP response's mapping fill in no more). */
static StoxStanza *
error_copy (const StoxStanza *st)
{
  StoxStanza *c = stox_stanza_new (st->kind);

  c->type = g_strdup (st->type);
  c->id = g_strdup (st->id);
  c->from = g_strdup (st->from);
  c->to = g_strdup (st->to);
  c->lang = g_strdup (st->lang);
  c->body = g_strdup (st->body);
  c->subject = g_strdup (st->subject);
  c->thread = g_strdup (st->thread);
  c->chat_state = st->chat_state;
  c->error_condition = g_strdup (st->error_condition);
  c->error_type = g_strdup (st->error_type);
  c->error_text = g_strdup (st->error_text);
  return c;
}

static Bounce *
bounce_new (StoxStanza *st, gint64 expires)
{
  Bounce *b = g_new0 (Bounce, 1);

  b->st = st;
  b->key = key_of (st);
  b->expires = expires;
  b->link.data = b;
  return b;
}

static void
bounce_free (Bounce *b)
{
  stox_stanza_free (b->st);
  g_free (b->key);
  g_free (b);
}

/* Each queue is ordered by expiry so that only its head needs looking at.
 * Bounces come in nearly in that order (a re-held one is older than the
 * ones held after the link fell): the walk from the tail is short. */
static void
insert_by_expiry (GQueue *q, Bounce *b)
{
  GList *l = q->tail;

  while (l != NULL && ((Bounce *) l->data)->expires > b->expires)
    l = l->prev;
  if (l == NULL)
    g_queue_push_head_link (q, &b->link);
  else
    g_queue_insert_after_link (q, l, &b->link);
}

/* Nothing is lost in silence (docs/deployment.md): each bounce given up is
 * said, at message level, with the reason. */
static void
drop (StoxBounceHold *h, Bounce *b, const char *why)
{
  g_message ("error stanza%s%s to %s (%s) dropped: %s",
             b->st->id != NULL ? " " : "", b->st->id != NULL ? b->st->id : "",
             b->st->to != NULL ? b->st->to : "?",
             b->st->error_condition != NULL ? b->st->error_condition : "undefined-condition",
             why);
  h->dropped++;
  bounce_free (b);
}

/* The queues' links are embedded in the bounces: g_queue_pop_head()
 * would free one. */
static Bounce *
pop_head (GQueue *q)
{
  GList *l = g_queue_pop_head_link (q);

  return l != NULL ? l->data : NULL;
}

static void
unlink_sent (StoxBounceHold *h, Bounce *b)
{
  g_queue_unlink (&h->sent, &b->link);
  g_hash_table_remove (h->sent_by_key, b->key);
}

/* The memory of bounces handed out makes room for itself: the oldest one
 * was most likely written long ago. */
static void
remember_sent (StoxBounceHold *h, Bounce *b)
{
  Bounce *same = g_hash_table_lookup (h->sent_by_key, b->key);

  /* The same id to the same JID again (a client that reuses ids): the
   * newer copy answers an unsent report. */
  if (same != NULL)
    {
      unlink_sent (h, same);
      bounce_free (same);
    }
  while (h->sent.length >= h->max)
    {
      Bounce *old = g_queue_peek_head (&h->sent);

      unlink_sent (h, old);
      bounce_free (old);
    }
  insert_by_expiry (&h->sent, b);
  g_hash_table_insert (h->sent_by_key, b->key, b);
}

static void
hold (StoxBounceHold *h, Bounce *b, gint64 now)
{
  if (b->expires <= now)
    {
      drop (h, b, "owed for 60 s already");
      return;
    }
  while (h->held.length >= h->max)
    drop (h, pop_head (&h->held), "too many held while the XMPP link is down "
          "(the table bound)");
  insert_by_expiry (&h->held, b);
}

/* ---- construction ------------------------------------------------------ */

StoxBounceHold *
stox_bounce_hold_new (guint max)
{
  StoxBounceHold *h = g_new0 (StoxBounceHold, 1);

  h->max = MAX (max, 1);
  h->sent_by_key = g_hash_table_new (g_str_hash, g_str_equal);
  h->retry_at = -1;
  return h;
}

void
stox_bounce_hold_free (StoxBounceHold *h)
{
  Bounce *b;

  if (h == NULL)
    return;
  g_hash_table_unref (h->sent_by_key);
  while ((b = pop_head (&h->held)) != NULL)
    bounce_free (b);
  while ((b = pop_head (&h->sent)) != NULL)
    bounce_free (b);
  g_free (h);
}

guint
stox_bounce_hold_count (StoxBounceHold *h)
{
  return h->held.length;
}

guint64
stox_bounce_hold_dropped (StoxBounceHold *h)
{
  return h->dropped;
}

/* ---- events ------------------------------------------------------------ */

void
stox_bounce_hold_take (StoxBounceHold *h,
                       gboolean        link_up,
                       GPtrArray      *actions,
                       guint           first,
                       gint64          now)
{
  for (guint i = first; i < actions->len; i++)
    {
      StoxAction *a = actions->pdata[i];

      if (a->kind != STOX_ACTION_XMPP_SEND || !is_error_message (a->u.stanza))
        continue;
      if (link_up)
        remember_sent (h, bounce_new (error_copy (a->u.stanza), now + STOX_BOUNCE_HOLD_US));
      else
        {
          hold (h, bounce_new (g_steal_pointer (&a->u.stanza), now + STOX_BOUNCE_HOLD_US), now);
          g_ptr_array_remove_index (actions, i);
          i--;
        }
    }
}

gboolean
stox_bounce_hold_on_send_failed (StoxBounceHold     *h,
                                 const StoxStanza   *st,
                                 StoxXmppSendFailure why,
                                 gboolean            link_up,
                                 gint64              now)
{
  g_autofree char *key = NULL;
  Bounce *b;

  if (!is_error_message (st))
    return FALSE;
  key = key_of (st);
  b = g_hash_table_lookup (h->sent_by_key, key);
  if (b != NULL)
    unlink_sent (h, b);

  if (why == STOX_XMPP_SEND_FAILED_INVALID)
    {
      /* The front end logged it at message level already. */
      if (b != NULL)
        bounce_free (b);
      return TRUE;
    }

  if (b == NULL && st->error_condition != NULL)
    b = bounce_new (error_copy (st), now + STOX_BOUNCE_HOLD_US);
  if (b == NULL)
    {
      /* An unsent report names only the stanza; its copy is gone (bound
       * or age): say so. */
      g_message ("error stanza%s%s to %s dropped: not sent before the XMPP link fell, and "
                 "no copy is left to send again",
                 st->id != NULL ? " " : "", st->id != NULL ? st->id : "",
                 st->to != NULL ? st->to : "?");
      h->dropped++;
      return TRUE;
    }
  hold (h, b, now);
  /* Up and still not sent: its send queue is full; try again soon rather
   * than at the next reconnection, which may not come. */
  if (link_up && h->retry_at < 0)
    h->retry_at = now + STOX_BOUNCE_RETRY_US;
  return TRUE;
}

void
stox_bounce_hold_release (StoxBounceHold *h, GPtrArray *actions, gint64 now)
{
  Bounce *b;

  h->retry_at = -1;
  while ((b = pop_head (&h->held)) != NULL)
    {
      if (b->expires <= now)
        {
          drop (h, b, "owed for 60 s already");
          continue;
        }
      stox_actions_stanza (actions, error_copy (b->st));
      remember_sent (h, b);
    }
}

void
stox_bounce_hold_on_timer (StoxBounceHold *h,
                           gboolean        link_up,
                           gint64          now,
                           GPtrArray      *actions)
{
  Bounce *b;

  while ((b = g_queue_peek_head (&h->held)) != NULL && b->expires <= now)
    drop (h, pop_head (&h->held), "owed for 60 s, and the XMPP link is still down");
  while ((b = g_queue_peek_head (&h->sent)) != NULL && b->expires <= now)
    {
      unlink_sent (h, b);
      bounce_free (b);
    }
  if (link_up && h->retry_at >= 0 && h->retry_at <= now)
    stox_bounce_hold_release (h, actions, now);
}

gint64
stox_bounce_hold_next_deadline (StoxBounceHold *h, gboolean link_up)
{
  gint64 next = -1;
  Bounce *b;

  if ((b = g_queue_peek_head (&h->held)) != NULL)
    next = b->expires;
  if ((b = g_queue_peek_head (&h->sent)) != NULL)
    next = stox_deadline_earliest (next, b->expires);
  if (link_up && h->retry_at >= 0)
    next = stox_deadline_earliest (next, h->retry_at);
  return next;
}

void
stox_bounce_hold_on_shutdown (StoxBounceHold *h,
                              gboolean        link_up,
                              gint64          now,
                              GPtrArray      *actions)
{
  Bounce *b;

  if (link_up)
    {
      stox_bounce_hold_release (h, actions, now);
      return;
    }
  while ((b = pop_head (&h->held)) != NULL)
    drop (h, b, "the gateway stopped with the XMPP link down");
}
