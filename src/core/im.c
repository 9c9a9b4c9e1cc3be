/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Instant messages both ways; see im.h.  The comments here say why each
 * rule is what it is.
 */
#include "config.h"

#include "im.h"

#include <string.h>

#include "actions.h"
#include "address.h"
#include "deadline.h"
#include "fifo-pool.h"
#include "intern.h"
#include "iscomposing.h"
#include "message.h"
#include "stanza-size.h"
#include "text.h"

/* SIP header text is the peer's, and Sofia lets control characters
 * through: a copy only when XML can carry it (RFC 6120 §11.1), else NULL,
 * so that optional metadata (thread, subject, language, an error's text)
 * never makes a stanza the XMPP front end cannot build. */
static char *
xml_text_or_null (const char *text)
{
  return text != NULL && stox_text_is_xml (text) ? g_strdup (text) : NULL;
}

/* A conversation's chat-state memory outlives the RFC 3994 refresh so that
 * "idle only after active" still holds for a slow typist. */
#define CONVERSATION_IDLE_US (10 * 60 * G_USEC_PER_SEC)

typedef enum
{
  IN_NEW = 0,     /* just created, in no queue yet */
  IN_WAITING,     /* inside the bounce window: the SIP transaction is open */
  IN_ANSWERED,    /* 202 sent; remembered to report a late bounce */
} InState;

/* A SIP MESSAGE forwarded as a stanza, keyed by the number in its
 * stanza id ("<instance>-<n>", stanza_id()).  Up to max-pending of these
 * are remembered for STOX_IM_LATE_BOUNCE_US after the 202 (a burst of
 * 100 000 MESSAGEs keeps 100 000), so each is as small as it can be: the
 * three addresses are interned (im->names), since the same senders write
 * to the same users again and again; a copy of each in every record made
 * the memory after a burst of 100 000 half again as large (bench/README.md). */
typedef struct
{
  guint64     n;
  StoxToken   token;
  InState     state;
  gint64      deadline;   /* WAITING: window end; ANSWERED: forget time */
  GList       link;       /* in im->waiting or im->answered */
  const char *sip_from;   /* the SIP sender (its asserted identity, else
                           * the From), where a late notice goes */
  const char *sip_target; /* the Request-URI, the late notice's From */
  const char *jid_to;     /* bare JID a bounce must come from */
} PendingIn;

typedef enum
{
  OUT_MESSAGE,    /* a stanza turned into a MESSAGE: errors go back to XMPP */
  OUT_NOTICE,     /* the gateway's own "not delivered" MESSAGE */
} OutKind;

/* A MESSAGE the gateway sent, keyed by its token. */
typedef struct
{
  StoxToken token;
  OutKind   kind;
  char     *xmpp_from;    /* full JID of the XMPP sender */
  char     *xmpp_to;      /* the JID it wrote to (user@component) */
  char     *stanza_id;
  char     *chat_state_to; /* an isComposing MESSAGE only: its target */
} PendingOut;

/* A SIP user that refused isComposing (RFC 3994), keyed by its URI. */
typedef struct
{
  char  *uri;
  gint64 until;
  GList  link;            /* in im->refusers, by `until` (one constant) */
} Refuser;

/* Chat-state memory per (XMPP sender, SIP target), docs/mappings.md §3. */
typedef struct
{
  char    *key;
  gboolean active_sent;   /* the last isComposing sent was `active` */
  gint64   last_sent;
  gint64   last_used;
  GList    link;          /* in im->conversations, by last use */
} Conversation;

struct _StoxIm
{
  gint64           bounce_wait_us;
  guint            max_stanza_size;
  char            *instance;
  guint            max_pending;
  guint64          next_id;

  StoxFifoPool    *in_pool;        /* where the PendingIn live */
  StoxIntern      *names;          /* their addresses */
  GHashTable      *in_by_id;       /* stanza id → PendingIn */
  GQueue           waiting;        /* PendingIn, by deadline (FIFO) */
  GQueue           answered;       /* PendingIn, by forget time (FIFO) */
  GHashTable      *out_by_token;   /* &token → PendingOut */
  GHashTable      *conv_by_key;    /* key → Conversation */
  GQueue           conversations;  /* Conversation, by last use */
  GHashTable      *refuser_by_uri; /* SIP URI → Refuser */
  GQueue           refusers;       /* Refuser, by deadline (FIFO) */
};

/* ---- small helpers ----------------------------------------------------- */

/* From the pool: all are kept equally long, so they die in the order they
 * were made (fifo-pool.h). */
static PendingIn *
pending_in_new (StoxIm *im, const char *sip_from, const char *sip_target, const char *jid_to)
{
  PendingIn *p = stox_fifo_pool_alloc (im->in_pool, sizeof *p);

  *p = (PendingIn) {
    .sip_from = stox_intern_ref (im->names, sip_from),
    .sip_target = stox_intern_ref (im->names, sip_target),
    .jid_to = stox_intern_ref (im->names, jid_to),
  };
  p->link.data = p;
  return p;
}

static void
pending_in_free (StoxIm *im, PendingIn *p)
{
  stox_intern_unref (im->names, p->sip_from);
  stox_intern_unref (im->names, p->sip_target);
  stox_intern_unref (im->names, p->jid_to);
  stox_fifo_pool_release (p);
}

static void
pending_out_free (PendingOut *p)
{
  g_free (p->xmpp_from);
  g_free (p->xmpp_to);
  g_free (p->stanza_id);
  g_free (p->chat_state_to);
  g_free (p);
}

static void
conversation_free (Conversation *c)
{
  g_free (c->key);
  g_free (c);
}

static void
refuser_free (Refuser *r)
{
  g_free (r->uri);
  g_free (r);
}

/* The id of the n-th stanza the gateway forwards. */
static char *
stanza_id (StoxIm *im, guint64 n)
{
  return g_strdup_printf ("%s-%" G_GUINT64_FORMAT, im->instance, n);
}

/* The n of an id stanza_id() made, exactly as it wrote it (no sign,
 * no leading zero), else 0 (never one of ours). */
static guint64
own_id_number (StoxIm *im, const char *id)
{
  gsize len = strlen (im->instance);
  guint64 n = 0;

  if (id == NULL || strncmp (id, im->instance, len) != 0 || id[len] != '-'
      || id[len + 1] == '0'
      || !g_ascii_string_to_unsigned (id + len + 1, 10, 1, G_MAXUINT64, &n, NULL))
    return 0;
  return n;
}

static PendingIn *
pending_in_lookup (StoxIm *im, const char *id)
{
  guint64 n = own_id_number (im, id);

  return n != 0 ? g_hash_table_lookup (im->in_by_id, &n) : NULL;
}

static void
stanza_error_reply (const StoxImEnv  *env,
                    const StoxStanza *st,
                    const char       *condition,
                    const char       *text,
                    GPtrArray        *actions)
{
  if (stox_actions_stanza_error (actions, env->rules, st, env->route->component, condition,
                                 text))
    {
      env->stats->refused++;
      env->stats->xmpp_refused++;
    }
}

static void
refuse_sip (const StoxImEnv *env,
            GPtrArray       *actions,
            StoxToken        token,
            guint            status,
            const char      *why)
{
  stox_actions_respond (actions, token, status, 0, NULL, NULL, why);
  env->stats->refused++;
  env->stats->sip_refused++;
}

/* ---- construction ------------------------------------------------------ */

StoxIm *
stox_im_new (gint64      bounce_wait_us,
             guint       max_stanza_size,
             const char *instance,
             guint       max_pending)
{
  StoxIm *im = g_new0 (StoxIm, 1);

  im->bounce_wait_us = bounce_wait_us;
  im->max_stanza_size = max_stanza_size;
  im->instance = g_strdup (instance);
  im->max_pending = max_pending;
  /* 64 KiB: about 400 records of a typical size to a block. */
  im->in_pool = stox_fifo_pool_new (64 * 1024);
  im->names = stox_intern_new ();
  /* Freed by pending_in_remove() (which needs `im`), not by the table. */
  im->in_by_id = g_hash_table_new (g_int64_hash, g_int64_equal);
  im->out_by_token = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                            (GDestroyNotify) pending_out_free);
  im->conv_by_key = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                           (GDestroyNotify) conversation_free);
  im->refuser_by_uri = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                              (GDestroyNotify) refuser_free);
  return im;
}

void
stox_im_free (StoxIm *im)
{
  if (im == NULL)
    return;
  /* The queues hold links embedded in the table entries: drop them first. */
  g_queue_init (&im->waiting);
  g_queue_init (&im->answered);
  g_queue_init (&im->conversations);
  g_queue_init (&im->refusers);
  g_clear_pointer (&im->refuser_by_uri, g_hash_table_unref);
  if (im->in_by_id != NULL)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, im->in_by_id);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        pending_in_free (im, value);
    }
  g_clear_pointer (&im->in_by_id, g_hash_table_unref);
  g_clear_pointer (&im->in_pool, stox_fifo_pool_free);
  g_clear_pointer (&im->names, stox_intern_free);
  g_clear_pointer (&im->out_by_token, g_hash_table_unref);
  g_clear_pointer (&im->conv_by_key, g_hash_table_unref);
  g_free (im->instance);
  g_free (im);
}

void
stox_im_get_stats (StoxIm *im, StoxGatewayStats *stats)
{
  stats->pending = im->waiting.length;
  stats->remembered = im->answered.length;
  stats->outgoing = g_hash_table_size (im->out_by_token);
}

/* ---- held transactions: the bounce window and the late-bounce memory --- */

static void
pending_in_remove (StoxIm *im, PendingIn *p)
{
  if (p->state != IN_NEW)
    g_queue_unlink (p->state == IN_WAITING ? &im->waiting : &im->answered, &p->link);
  g_hash_table_remove (im->in_by_id, &p->n);
  pending_in_free (im, p);
}

/* 202: RFC 3428 §7 — forwarded into a non-SIP domain, delivery unknown. */
static void
pending_in_accept (StoxIm *im, const StoxImEnv *env, PendingIn *p, gint64 now,
                   GPtrArray *actions)
{
  stox_actions_respond (actions, p->token, 202, 0, NULL, NULL, NULL);
  env->stats->sip_accepted++;
  if (p->state == IN_WAITING)
    g_queue_unlink (&im->waiting, &p->link);
  /* Bounded memory: when full, the oldest answered MESSAGE is forgotten
   * (a bounce for it would then be unmatched and counted as such) rather
   * than new MESSAGEs being refused. */
  while (im->answered.length >= im->max_pending)
    {
      pending_in_remove (im, g_queue_peek_head (&im->answered));
      env->stats->forgotten++;
    }
  p->state = IN_ANSWERED;
  p->deadline = now + STOX_IM_LATE_BOUNCE_US;
  g_queue_push_tail_link (&im->answered, &p->link);
}

/* ---- SIP → XMPP: MESSAGE (RFC 7572 §5, Table 2) ------------------------ */

void
stox_im_on_sip_message (StoxIm               *im,
                        const StoxImEnv      *env,
                        const StoxSipRequest *req,
                        gint64                now,
                        GPtrArray            *actions)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxMessageContent) content = NULL;
  g_auto (StoxSipRoute) route = { 0 };
  g_autofree char *why = NULL;
  guint status;

  /* Addresses first: a request that cannot be routed is refused whatever
   * its body, and nothing is forwarded half-mapped (RFC 7247 §6). */
  if (!stox_route_sip (env->route, req, &route, &status, &why))
    {
      refuse_sip (env, actions, req->token, status, why);
      return;
    }

  content = stox_message_decode_sip (req->content_type != NULL
                                     ? req->content_type : "text/plain",
                                     req->charset, req->body, &error);
  if (content == NULL)
    {
      if (g_error_matches (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_UNSUPPORTED_TYPE))
        {
          stox_actions_respond (actions, req->token, 415, 0, STOX_MESSAGE_ACCEPT, NULL,
                                error->message);
          env->stats->refused++;
          env->stats->sip_refused++;
        }
      else if (g_error_matches (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_TOO_LARGE))
        refuse_sip (env, actions, req->token, 413, error->message);
      else
        refuse_sip (env, actions, req->token, 400, error->message);
      return;
    }
  if (content->body == NULL && content->chat_state == STOX_CHAT_STATE_NONE)
    {
      refuse_sip (env, actions, req->token, 400, "the MESSAGE carries nothing to deliver");
      return;
    }
  if (content->body != NULL && content->body[0] == '\0')
    {
      refuse_sip (env, actions, req->token, 400, "empty message body");
      return;
    }

  StoxStanza *st = stox_stanza_new (STOX_STANZA_MESSAGE);
  st->type = g_strdup (stox_rules_message_type (env->rules));
  guint64 n = ++im->next_id;
  st->id = stanza_id (im, n);
  st->from = g_strdup (route.jid_from);
  st->to = g_strdup (route.jid_to);
  st->lang = xml_text_or_null (content->lang != NULL ? content->lang : req->content_language);
  st->body = g_strdup (content->body);
  st->subject = xml_text_or_null (content->subject != NULL ? content->subject : req->subject);
  st->thread = xml_text_or_null (req->call_id);
  st->chat_state = content->chat_state;

  /* RFC 6120 §13.12: the server may close the stream on a stanza over its
   * limit, and with it every stanza queued behind.  Escaping can make the
   * stanza five times the body, so the encoded size decides. */
  gsize stanza_size = stox_stanza_encoded_size (st);
  if (stanza_size > im->max_stanza_size)
    {
      g_autofree char *too_big = g_strdup_printf ("the message would be a stanza of %"
                                                  G_GSIZE_FORMAT " bytes; the XMPP side takes %u "
                                                  "([xmpp] max-stanza-size)",
                                                  stanza_size, im->max_stanza_size);
      stox_stanza_free (st);
      refuse_sip (env, actions, req->token, 413, too_big);
      return;
    }

  /* Only now does XMPP matter: the request is valid, the link decides. */
  if (!env->link_up)
    {
      stox_actions_respond (actions, req->token, 503, MAX (env->retry_in_s, 1), NULL, NULL,
                            "the XMPP server is not reachable");
      env->stats->refused++;
      env->stats->sip_refused++;
      stox_stanza_free (st);
      return;
    }
  /* Only the open transactions are a load limit; the memory of answered
   * ones for late bounces makes room for itself (pending_in_accept). */
  if (im->waiting.length >= im->max_pending)
    {
      stox_actions_respond (actions, req->token, 503, 1, NULL, NULL, "gateway overloaded");
      env->stats->refused++;
      env->stats->sip_refused++;
      stox_stanza_free (st);
      return;
    }

  PendingIn *p = pending_in_new (im, route.sender_uri != NULL ? route.sender_uri : "",
                                 req->request_uri != NULL ? req->request_uri : "",
                                 route.jid_to_bare != NULL ? route.jid_to_bare : "");
  p->n = n;
  p->token = req->token;
  g_hash_table_insert (im->in_by_id, &p->n, p);

  stox_actions_stanza (actions, st);
  env->stats->sip_to_xmpp++;

  if (im->bounce_wait_us == 0)
    pending_in_accept (im, env, p, now, actions);
  else
    {
      p->state = IN_WAITING;
      p->deadline = now + im->bounce_wait_us;
      g_queue_push_tail_link (&im->waiting, &p->link);
    }
}

/* ---- outgoing MESSAGEs, bounces, chat-state memory --------------------- */

static StoxToken
track_outgoing (StoxIm          *im,
                const StoxImEnv *env,
                OutKind          kind,
                const char      *xmpp_from,
                const char      *xmpp_to,
                const char      *stanza_id)
{
  PendingOut *p = g_new0 (PendingOut, 1);

  p->token = ++*env->next_token;
  p->kind = kind;
  p->xmpp_from = g_strdup (xmpp_from);
  p->xmpp_to = g_strdup (xmpp_to);
  p->stanza_id = g_strdup (stanza_id);
  g_hash_table_insert (im->out_by_token, &p->token, p);
  return p->token;
}

/* The late-bounce notice (docs/mappings.md §3): a MESSAGE back to the SIP
 * sender from the address it wrote to, saying why. */
static void
late_notice (StoxIm           *im,
             const StoxImEnv  *env,
             const PendingIn  *p,
             const char       *condition,
             const char       *text,
             GPtrArray        *actions)
{
  g_autofree char *body = NULL;
  StoxToken token;

  body = g_strdup_printf ("Your message to %s was not delivered: %s%s%s",
                          p->jid_to, condition,
                          text != NULL ? " — " : "", text != NULL ? text : "");
  token = track_outgoing (im, env, OUT_NOTICE, NULL, NULL, NULL);
  stox_actions_message (actions, token, p->sip_from, p->sip_target, "text/plain;charset=UTF-8",
                        body);
}

/* An XMPP error in answer to a stanza the gateway forwarded. */
static void
xmpp_bounce (StoxIm           *im,
             const StoxImEnv  *env,
             const StoxStanza *st,
             gint64            now,
             GPtrArray        *actions)
{
  PendingIn *p = pending_in_lookup (im, st->id);
  g_autofree char *from = st->from != NULL ? stox_bare_jid (st->from) : NULL;
  const char *condition = st->error_condition != NULL
                          ? st->error_condition : "undefined-condition";

  /* The bounce must come from the entity we wrote to; anyone else guessing
   * an id must not be able to fail someone's transaction. */
  if (p == NULL || from == NULL || g_ascii_strcasecmp (from, p->jid_to) != 0)
    {
      env->stats->bounces_unmatched++;
      return;
    }

  if (p->state == IN_WAITING)
    {
      guint status = stox_rules_condition_to_sip (env->rules, condition);
      g_autofree char *why = g_strdup_printf ("XMPP error: %s%s%s", condition,
                                              st->error_text != NULL ? ": " : "",
                                              st->error_text != NULL ? st->error_text : "");

      /* 503 is only ever the gateway's own "XMPP unreachable" (docs/mappings.md §1). */
      if (status == 0 || status == 503)
        status = 500;
      stox_actions_respond (actions, p->token, status, 0, NULL, NULL, why);
      env->stats->bounces_in_window++;
    }
  else
    {
      late_notice (im, env, p, condition, st->error_text, actions);
      env->stats->bounces_late++;
    }
  pending_in_remove (im, p);
}

static void
conversation_remove (StoxIm *im, Conversation *c)
{
  g_queue_unlink (&im->conversations, &c->link);
  g_hash_table_remove (im->conv_by_key, c->key);
}

/* The memory of what was last sent in a conversation, or NULL; `create`
 * makes it (bounded like every table: the least recently used one goes
 * when it is full).  Touching it moves it to the tail. */
static Conversation *
conversation_get (StoxIm *im, const char *key, gboolean create, gint64 now)
{
  Conversation *c = g_hash_table_lookup (im->conv_by_key, key);

  if (c == NULL && !create)
    return NULL;
  if (c == NULL)
    {
      if (g_hash_table_size (im->conv_by_key) >= im->max_pending)
        conversation_remove (im, g_queue_peek_head (&im->conversations));
      c = g_new0 (Conversation, 1);
      c->key = g_strdup (key);
      c->link.data = c;
      c->last_sent = G_MININT64 / 2;
      g_hash_table_insert (im->conv_by_key, c->key, c);
    }
  else
    g_queue_unlink (&im->conversations, &c->link);
  c->last_used = now;
  g_queue_push_tail_link (&im->conversations, &c->link);
  return c;
}

static void
refuser_remove (StoxIm *im, Refuser *r)
{
  g_queue_unlink (&im->refusers, &r->link);
  g_hash_table_remove (im->refuser_by_uri, r->uri);
}

/* TRUE while SIP user `uri` is known to refuse isComposing. */
static gboolean
refuses_chat_states (StoxIm *im, const char *uri, gint64 now)
{
  Refuser *r = g_hash_table_lookup (im->refuser_by_uri, uri);

  return r != NULL && r->until > now;
}

/* `uri` answered an isComposing MESSAGE with `status`.  A client that
 * does not do RFC 3994 (baresip 1.0: 415) would refuse every one: none
 * is sent to it for STOX_IM_ISCOMPOSING_REFUSED_S (the table is bounded
 * like every other: when full, the entry closest to its end goes). */
static void
chat_state_refused (StoxIm *im, const char *uri, guint status, gint64 now)
{
  Refuser *r;

  /* RFC 3261 §21.4.13, §21.4.6, §21.5.2: the type, the method, the
   * feature is not supported; anything else may pass next time. */
  if (status != 415 && status != 405 && status != 501)
    return;
  r = g_hash_table_lookup (im->refuser_by_uri, uri);
  if (r == NULL)
    {
      if (g_hash_table_size (im->refuser_by_uri) >= im->max_pending)
        refuser_remove (im, g_queue_peek_head (&im->refusers));
      r = g_new0 (Refuser, 1);
      r->uri = g_strdup (uri);
      r->link.data = r;
      g_hash_table_insert (im->refuser_by_uri, r->uri, r);
    }
  else
    g_queue_unlink (&im->refusers, &r->link);
  r->until = now + (gint64) STOX_IM_ISCOMPOSING_REFUSED_S * G_USEC_PER_SEC;
  g_queue_push_tail_link (&im->refusers, &r->link);
}

/* XEP-0085 → RFC 3994 as docs/mappings.md §3 fixes it: composing → active;
 * anything else → idle only after an active; no repeat within the
 * refresh.  Decides only (`c` NULL: nothing sent yet); the memory changes
 * once the MESSAGE is actually sent. */
static gboolean
chat_state_due (const Conversation *c, gboolean active, gint64 now)
{
  gboolean active_sent = c != NULL && c->active_sent;
  gboolean fresh = c != NULL &&
                   now - c->last_sent < STOX_IM_ISCOMPOSING_REFRESH_S * G_USEC_PER_SEC;

  return active ? !(active_sent && fresh) : active_sent;
}

/* ---- XMPP → SIP: <message> (RFC 7572 §4, Table 1) ---------------------- */

void
stox_im_on_message (StoxIm           *im,
                    const StoxImEnv  *env,
                    const StoxStanza *st,
                    gint64            now,
                    GPtrArray        *actions)
{
  g_auto (StoxStanzaRoute) route = { 0 };
  g_autofree char *why = NULL;
  g_autofree char *document = NULL;
  const char *condition;
  const char *content_type;
  const char *payload;

  if (g_strcmp0 (st->type, "error") == 0)
    {
      xmpp_bounce (im, env, st, now, actions);
      return;
    }
  if (st->from == NULL || st->to == NULL)
    return;   /* the server always stamps both; nothing to answer to */
  if (!stox_route_stanza (env->route, st, &route, &condition, &why))
    {
      stanza_error_reply (env, st, condition, why, actions);
      return;
    }

  g_autofree char *conv_key = g_strdup_printf ("%s\n%s", route.from_bare, route.request_uri);
  gboolean active = st->chat_state == STOX_CHAT_STATE_COMPOSING;

  if (st->body != NULL)
    {
      if (!g_utf8_validate (st->body, -1, NULL))
        {
          stanza_error_reply (env, st, "bad-request", "the body is not valid UTF-8", actions);
          return;
        }
      content_type = "text/plain;charset=UTF-8";
      payload = st->body;
    }
  else if (st->chat_state != STOX_CHAT_STATE_NONE)
    {
      /* A chat state is a hint (XEP-0085 §5.1): not sent where it was
       * refused, and nothing to tell the XMPP user. */
      if (refuses_chat_states (im, route.request_uri, now))
        return;
      if (!chat_state_due (conversation_get (im, conv_key, FALSE, now), active, now))
        return;
      document = stox_iscomposing_build (active,
                                         active ? STOX_IM_ISCOMPOSING_REFRESH_S : 0);
      content_type = STOX_ISCOMPOSING_CONTENT_TYPE;
      payload = document;
    }
  else
    return;   /* receipts, markers: nothing to turn into a MESSAGE */

  /* A MESSAGE over [sip] max-message-size is the SIP front end's to
   * refuse (it knows the headers it adds): its 513 comes back as any
   * response, <policy-violation/> by the rules (RFC 7572 §6). */
  /* RFC 7572 §4 Table 1 note 1: the resource as ;gr=, unless a rule
   * leaves it out (clients that show it, or start a new conversation). */
  const char *from_uri = stox_rules_message_gr (env->rules) ? route.from_uri
                                                            : route.from_uri_bare;
  if (g_hash_table_size (im->out_by_token) >= im->max_pending)
    {
      stanza_error_reply (env, st, "resource-constraint", "gateway overloaded", actions);
      return;
    }
  /* As for a full table: refused, not remembered as sent. */
  if (env->sip_overloaded)
    {
      stanza_error_reply (env, st, "resource-constraint",
                          "the SIP side is not keeping up; try again later", actions);
      return;
    }

  /* Sent: only now does the conversation's memory change.  RFC 3994
   * §3.3: a content message resets the receiver to idle. */
  if (st->body != NULL)
    {
      Conversation *conv = conversation_get (im, conv_key, FALSE, now);

      if (conv != NULL)
        conv->active_sent = FALSE;
    }
  else
    {
      Conversation *conv = conversation_get (im, conv_key, TRUE, now);

      conv->active_sent = active;
      conv->last_sent = now;
    }

  StoxToken token = track_outgoing (im, env, OUT_MESSAGE, st->from, st->to, st->id);
  if (st->body == NULL)
    ((PendingOut *) g_hash_table_lookup (im->out_by_token, &token))->chat_state_to =
      g_strdup (route.request_uri);
  StoxSipOutMessage *m = stox_actions_message (actions, token, route.request_uri,
                                               from_uri, content_type, payload);
  m->call_id = g_strdup (st->thread);
  m->subject = g_strdup (st->subject);
  m->content_language = g_strdup (st->lang);
  env->stats->xmpp_to_sip++;
}

void
stox_im_on_sip_response (StoxIm                *im,
                         const StoxImEnv       *env,
                         const StoxSipResponse *resp,
                         gint64                 now,
                         GPtrArray             *actions)
{
  PendingOut *p = g_hash_table_lookup (im->out_by_token, &resp->token);

  if (p == NULL || resp->status < 200)
    return;

  if (resp->status < 300 && p->kind == OUT_MESSAGE)
    env->stats->xmpp_delivered++;

  if (resp->status >= 300 && p->chat_state_to != NULL)
    {
      /* A chat state that did not arrive is not an error the XMPP user
       * must see (XEP-0085 §5.1: notifications are hints): clients would
       * show it in the conversation, once per keystroke pause.  Counted
       * like any MESSAGE that got a SIP error. */
      chat_state_refused (im, p->chat_state_to, resp->status, now);
      env->stats->sip_errors++;
    }
  else if (resp->status >= 300 && p->kind == OUT_MESSAGE)
    {
      /* RFC 7247 §7.2 Table 3, from the rule file. */
      const char *condition = stox_rules_sip_to_condition (env->rules, resp->status);
      StoxStanza *err = stox_stanza_new (STOX_STANZA_MESSAGE);

      err->type = g_strdup ("error");
      err->id = g_strdup (p->stanza_id);
      err->from = g_strdup (p->xmpp_to);
      err->to = g_strdup (p->xmpp_from);
      err->error_condition = g_strdup (condition);
      err->error_type = g_strdup (stox_rules_error_type (env->rules, condition));
      if (resp->warning != NULL && stox_text_is_xml (resp->warning))
        err->error_text = g_strdup (resp->warning);
      else
        err->error_text = g_strdup_printf ("SIP %u %s", resp->status,
                                           resp->phrase != NULL && stox_text_is_xml (resp->phrase)
                                           ? resp->phrase : "");
      stox_actions_stanza (actions, err);
      env->stats->sip_errors++;
    }
  g_hash_table_remove (im->out_by_token, &resp->token);
}

/* ---- the link, timers, shutdown ---------------------------------------- */

void
stox_im_on_send_failed (StoxIm             *im,
                        const StoxImEnv    *env,
                        const StoxStanza   *st,
                        StoxXmppSendFailure why,
                        GPtrArray          *actions)
{
  PendingIn *p;

  if (st->kind != STOX_STANZA_MESSAGE || st->id == NULL ||
      g_strcmp0 (st->type, "error") == 0)
    return;
  p = pending_in_lookup (im, st->id);
  if (p == NULL)
    return;
  if (why == STOX_XMPP_SEND_FAILED_INVALID)
    {
      /* Our own failure, not the server's: retrying will not help
       * (RFC 3261 §21.5.1). */
      if (p->state == IN_WAITING)
        {
          stox_actions_respond (actions, p->token, 500, 0, NULL, NULL,
                                "the message cannot be written as XMPP");
          env->stats->refused++;
          env->stats->sip_failed++;
        }
      else
        late_notice (im, env, p, "internal-server-error",
                     "the message cannot be written as XMPP", actions);
    }
  else if (p->state == IN_WAITING)
    {
      stox_actions_respond (actions, p->token, 503, MAX (env->retry_in_s, 1), NULL, NULL,
                            "the XMPP server is not reachable");
      env->stats->refused++;
      env->stats->sip_failed++;
    }
  else
    late_notice (im, env, p, "remote-server-timeout", "the XMPP server is not reachable",
                 actions);
  pending_in_remove (im, p);
}

void
stox_im_on_timer (StoxIm *im, const StoxImEnv *env, gint64 now, GPtrArray *actions)
{
  GList *l;

  /* bounce-wait is one value for all, so each queue is ordered by
   * deadline and only its head needs looking at. */
  while ((l = g_queue_peek_head_link (&im->waiting)) != NULL &&
         ((PendingIn *) l->data)->deadline <= now)
    pending_in_accept (im, env, l->data, now, actions);

  while ((l = g_queue_peek_head_link (&im->answered)) != NULL &&
         ((PendingIn *) l->data)->deadline <= now)
    pending_in_remove (im, l->data);

  while ((l = g_queue_peek_head_link (&im->conversations)) != NULL &&
         ((Conversation *) l->data)->last_used + CONVERSATION_IDLE_US <= now)
    conversation_remove (im, l->data);

  while ((l = g_queue_peek_head_link (&im->refusers)) != NULL &&
         ((Refuser *) l->data)->until <= now)
    refuser_remove (im, l->data);
}

gint64
stox_im_next_deadline (StoxIm *im)
{
  gint64 next = -1;
  GList *l;

  if ((l = g_queue_peek_head_link (&im->waiting)) != NULL)
    next = ((PendingIn *) l->data)->deadline;
  if ((l = g_queue_peek_head_link (&im->answered)) != NULL)
    next = stox_deadline_earliest (next, ((PendingIn *) l->data)->deadline);
  if ((l = g_queue_peek_head_link (&im->conversations)) != NULL)
    next = stox_deadline_earliest (next, ((Conversation *) l->data)->last_used +
                                         CONVERSATION_IDLE_US);
  if ((l = g_queue_peek_head_link (&im->refusers)) != NULL)
    next = stox_deadline_earliest (next, ((Refuser *) l->data)->until);
  return next;
}

void
stox_im_on_shutdown (StoxIm *im, const StoxImEnv *env, gint64 now, GPtrArray *actions)
{
  GList *l;

  /* Every held transaction was forwarded: 202 says exactly that. */
  while ((l = g_queue_peek_head_link (&im->waiting)) != NULL)
    pending_in_accept (im, env, l->data, now, actions);
}
