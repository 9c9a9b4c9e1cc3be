/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The gateway engine: INTERFACE.md §3–5 and §7 as a sans-I/O state machine.
 * See gateway.h for the shape; the comments here say why each rule is what
 * it is.
 */
#include "config.h"

#include "gateway.h"

#include <string.h>

#include "actions.h"
#include "address.h"
#include "iscomposing.h"
#include "message.h"
#include "netmask.h"
#include "presence.h"
#include "route.h"

#define NS_DISCO_INFO  "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define NS_PING        "urn:xmpp:ping"
#define NS_CHATSTATES  "http://jabber.org/protocol/chatstates"

#define DEFAULT_MAX_PENDING 200000
/* A conversation's chat-state memory outlives the RFC 3994 refresh so that
 * "idle only after active" still holds for a slow typist. */
#define CONVERSATION_IDLE_US (10 * 60 * G_USEC_PER_SEC)

typedef enum
{
  IN_NEW = 0,     /* just created, in no queue yet */
  IN_WAITING,     /* inside the bounce window: the SIP transaction is open */
  IN_ANSWERED,    /* 202 sent; remembered to report a late bounce */
} InState;

/* A SIP MESSAGE forwarded as a stanza, keyed by the stanza id. */
typedef struct
{
  char     *stanza_id;
  StoxToken token;
  InState   state;
  gint64    deadline;     /* WAITING: window end; ANSWERED: forget time */
  GList     link;         /* in gw->waiting or gw->answered */
  char     *sip_from;     /* the SIP sender, where a late notice goes */
  char     *sip_target;   /* the Request-URI, the late notice's From */
  char     *jid_to;       /* bare JID a bounce must come from */
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
} PendingOut;

/* Chat-state memory per (XMPP sender, SIP target), INTERFACE.md §5. */
typedef struct
{
  char    *key;
  gboolean active_sent;   /* the last isComposing sent was `active` */
  gint64   last_sent;
  gint64   last_used;
  GList    link;          /* in gw->conversations, by last use */
} Conversation;

struct _StoxGateway
{
  char            *sip_domain;
  char            *component;
  char           **xmpp_domains;   /* NULL: any */
  StoxNetmaskList *trusted;        /* NULL: any */
  gint64           bounce_wait_us;
  guint            max_message_size;
  char            *instance;
  guint            max_pending;
  const StoxRules *rules;

  gboolean         link_up;
  guint            retry_in_s;

  guint64          next_id;
  StoxToken        next_token;

  GHashTable      *in_by_id;       /* stanza id → PendingIn */
  GQueue           waiting;        /* PendingIn, by deadline (FIFO) */
  GQueue           answered;       /* PendingIn, by forget time (FIFO) */
  GHashTable      *out_by_token;   /* &token → PendingOut */
  GHashTable      *conv_by_key;    /* key → Conversation */
  GQueue           conversations;  /* Conversation, by last use */

  StoxGatewayStats stats;
  StoxRouteConfig  route;
  StoxPresence    *presence;
  StoxPresenceEnv  presence_env;
};

/* ---- small helpers ---------------------------------------------------- */

static void
pending_in_free (PendingIn *p)
{
  g_free (p->stanza_id);
  g_free (p->sip_from);
  g_free (p->sip_target);
  g_free (p->jid_to);
  g_free (p);
}

static void
pending_out_free (PendingOut *p)
{
  g_free (p->xmpp_from);
  g_free (p->xmpp_to);
  g_free (p->stanza_id);
  g_free (p);
}

static void
conversation_free (Conversation *c)
{
  g_free (c->key);
  g_free (c);
}

static StoxAction *
action_new (StoxActionKind kind)
{
  StoxAction *a = g_new0 (StoxAction, 1);

  a->kind = kind;
  return a;
}


static char *
new_stanza_id (StoxGateway *gw)
{
  return g_strdup_printf ("%s-%" G_GUINT64_FORMAT, gw->instance, ++gw->next_id);
}

static const StoxRouteConfig *
route_config (StoxGateway *gw)
{
  gw->route.sip_domain = gw->sip_domain;
  gw->route.component = gw->component;
  gw->route.xmpp_domains = gw->xmpp_domains;
  return &gw->route;
}

static const StoxPresenceEnv *
presence_env (StoxGateway *gw)
{
  gw->presence_env.route = route_config (gw);
  gw->presence_env.rules = gw->rules;
  gw->presence_env.link_up = gw->link_up;
  gw->presence_env.retry_in_s = gw->retry_in_s;
  gw->presence_env.next_token = &gw->next_token;
  gw->presence_env.max_subscriptions = gw->max_pending;
  return &gw->presence_env;
}

static void
stanza_error_reply (StoxGateway      *gw,
                    const StoxStanza *st,
                    const char       *condition,
                    const char       *text,
                    GPtrArray        *actions)
{
  if (stox_actions_stanza_error (actions, gw->rules, st, gw->component, condition, text))
    gw->stats.refused++;
}

/* ---- construction ----------------------------------------------------- */

StoxGateway *
stox_gateway_new (const StoxGatewayConfig *config,
                  const StoxRules         *rules,
                  GError                 **error)
{
  g_autoptr (StoxGateway) gw = g_new0 (StoxGateway, 1);

  g_return_val_if_fail (config->sip_domain != NULL, NULL);
  g_return_val_if_fail (rules != NULL, NULL);

  gw->sip_domain = g_ascii_strdown (config->sip_domain, -1);
  gw->component = g_ascii_strdown (config->component != NULL
                                   ? config->component : config->sip_domain, -1);
  if (config->xmpp_domains != NULL &&
      !g_strv_contains (config->xmpp_domains, "*"))
    gw->xmpp_domains = g_strdupv ((char **) config->xmpp_domains);
  if (config->trusted_peers != NULL)
    {
      gw->trusted = stox_netmask_list_new (config->trusted_peers, error);
      if (gw->trusted == NULL)
        return NULL;
    }
  gw->bounce_wait_us = (gint64) config->bounce_wait_ms * 1000;
  gw->max_message_size = config->max_message_size != 0 ? config->max_message_size : 1300;
  gw->instance = g_strdup (config->instance != NULL ? config->instance : "stox");
  gw->max_pending = config->max_pending != 0 ? config->max_pending : DEFAULT_MAX_PENDING;
  gw->rules = rules;
  gw->retry_in_s = 1;

  gw->in_by_id = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                        (GDestroyNotify) pending_in_free);
  gw->out_by_token = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                            (GDestroyNotify) pending_out_free);
  gw->conv_by_key = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                           (GDestroyNotify) conversation_free);
  gw->presence = stox_presence_new ();
  return g_steal_pointer (&gw);
}

void
stox_gateway_free (StoxGateway *gw)
{
  if (gw == NULL)
    return;
  /* The queues hold links embedded in the table entries: drop them first. */
  g_queue_init (&gw->waiting);
  g_queue_init (&gw->answered);
  g_queue_init (&gw->conversations);
  g_clear_pointer (&gw->in_by_id, g_hash_table_unref);
  g_clear_pointer (&gw->out_by_token, g_hash_table_unref);
  g_clear_pointer (&gw->conv_by_key, g_hash_table_unref);
  g_clear_pointer (&gw->presence, stox_presence_free);
  g_free (gw->sip_domain);
  g_free (gw->component);
  g_strfreev (gw->xmpp_domains);
  stox_netmask_list_free (gw->trusted);
  g_free (gw->instance);
  g_free (gw);
}

void
stox_gateway_set_rules (StoxGateway *gw, const StoxRules *rules)
{
  g_return_if_fail (rules != NULL);
  gw->rules = rules;
}

void
stox_gateway_get_stats (StoxGateway *gw, StoxGatewayStats *ret_stats)
{
  gw->stats.pending = gw->waiting.length;
  gw->stats.remembered = gw->answered.length;
  gw->stats.outgoing = g_hash_table_size (gw->out_by_token);
  gw->stats.watchers = stox_presence_count_watches (gw->presence);
  gw->stats.subscriptions = stox_presence_count_follows (gw->presence);
  *ret_stats = gw->stats;
}

/* ---- SIP → XMPP: MESSAGE (RFC 7572 §5, Table 2) ------------------------ */

static void
pending_in_remove (StoxGateway *gw, PendingIn *p)
{
  if (p->state != IN_NEW)
    g_queue_unlink (p->state == IN_WAITING ? &gw->waiting : &gw->answered, &p->link);
  g_hash_table_remove (gw->in_by_id, p->stanza_id);
}

/* 202: RFC 3428 §7 — forwarded into a non-SIP domain, delivery unknown. */
static void
pending_in_accept (StoxGateway *gw, PendingIn *p, gint64 now, GPtrArray *actions)
{
  stox_actions_respond (actions, p->token, 202, 0, NULL, NULL, NULL);
  if (p->state == IN_WAITING)
    g_queue_unlink (&gw->waiting, &p->link);
  /* Bounded memory: when full, the oldest answered MESSAGE is forgotten
   * (a bounce for it would then be unmatched and counted as such) rather
   * than new MESSAGEs being refused. */
  while (gw->answered.length >= gw->max_pending)
    {
      pending_in_remove (gw, g_queue_peek_head (&gw->answered));
      gw->stats.forgotten++;
    }
  p->state = IN_ANSWERED;
  p->deadline = now + STOX_GATEWAY_LATE_BOUNCE_US;
  g_queue_push_tail_link (&gw->answered, &p->link);
}

static void
refuse_sip (StoxGateway *gw,
            GPtrArray   *actions,
            StoxToken    token,
            guint        status,
            const char  *why)
{
  stox_actions_respond (actions, token, status, 0, NULL, NULL, why);
  gw->stats.refused++;
}

static void
sip_message (StoxGateway          *gw,
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
  if (!stox_route_sip (route_config (gw), req, &route, &status, &why))
    {
      refuse_sip (gw, actions, req->token, status, why);
      return;
    }

  content = stox_message_decode_sip (req->content_type != NULL
                                     ? req->content_type : "text/plain",
                                     req->charset, req->body, &error);
  if (content == NULL)
    {
      if (g_error_matches (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_UNSUPPORTED_TYPE))
        {
          stox_actions_respond (actions, req->token, 415, 0, STOX_MESSAGE_ACCEPT, NULL, error->message);
          gw->stats.refused++;
        }
      else if (g_error_matches (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_TOO_LARGE))
        refuse_sip (gw, actions, req->token, 413, error->message);
      else
        refuse_sip (gw, actions, req->token, 400, error->message);
      return;
    }
  if (content->body == NULL && content->chat_state == STOX_CHAT_STATE_NONE)
    {
      refuse_sip (gw, actions, req->token, 400, "the MESSAGE carries nothing to deliver");
      return;
    }
  if (content->body != NULL && content->body[0] == '\0')
    {
      refuse_sip (gw, actions, req->token, 400, "empty message body");
      return;
    }

  /* Only now does XMPP matter: the request is valid, the link decides. */
  if (!gw->link_up)
    {
      stox_actions_respond (actions, req->token, 503, MAX (gw->retry_in_s, 1), NULL, NULL,
               "the XMPP server is not reachable");
      gw->stats.refused++;
      return;
    }
  /* Only the open transactions are a load limit; the memory of answered
   * ones for late bounces makes room for itself (pending_in_accept). */
  if (gw->waiting.length >= gw->max_pending)
    {
      stox_actions_respond (actions, req->token, 503, 1, NULL, NULL, "gateway overloaded");
      gw->stats.refused++;
      return;
    }

  StoxStanza *st = stox_stanza_new (STOX_STANZA_MESSAGE);
  st->type = g_strdup (stox_rules_message_type (gw->rules));
  st->id = new_stanza_id (gw);
  st->from = g_strdup (route.jid_from);
  st->to = g_strdup (route.jid_to);
  st->lang = g_strdup (content->lang != NULL ? content->lang : req->content_language);
  st->body = g_strdup (content->body);
  st->subject = g_strdup (content->subject != NULL ? content->subject : req->subject);
  st->thread = g_strdup (req->call_id);
  st->chat_state = content->chat_state;

  PendingIn *p = g_new0 (PendingIn, 1);
  p->stanza_id = g_strdup (st->id);
  p->token = req->token;
  p->link.data = p;
  p->sip_from = g_strdup (req->from_uri);
  p->sip_target = g_strdup (req->request_uri);
  p->jid_to = g_strdup (route.jid_to_bare);
  g_hash_table_insert (gw->in_by_id, p->stanza_id, p);

  stox_actions_stanza (actions, st);
  gw->stats.sip_to_xmpp++;

  if (gw->bounce_wait_us == 0)
    pending_in_accept (gw, p, now, actions);
  else
    {
      p->state = IN_WAITING;
      p->deadline = now + gw->bounce_wait_us;
      g_queue_push_tail_link (&gw->waiting, &p->link);
    }
}

void
stox_gateway_on_sip (StoxGateway          *gw,
                     const StoxSipRequest *req,
                     gint64                now,
                     GPtrArray            *actions)
{
  if (gw->trusted != NULL && !stox_netmask_list_contains (gw->trusted, req->source))
    {
      refuse_sip (gw, actions, req->token, 403, "source is not a trusted peer");
      return;
    }

  switch (req->method)
    {
    case STOX_SIP_METHOD_OPTIONS:
      stox_actions_respond (actions, req->token, 200, 0, STOX_MESSAGE_ACCEPT, STOX_GATEWAY_ALLOW, NULL);
      break;
    case STOX_SIP_METHOD_MESSAGE:
      sip_message (gw, req, now, actions);
      break;
    case STOX_SIP_METHOD_SUBSCRIBE:
    case STOX_SIP_METHOD_NOTIFY:
      stox_presence_on_sip (gw->presence, presence_env (gw), req, now, actions);
      break;
    case STOX_SIP_METHOD_PUBLISH:
    case STOX_SIP_METHOD_OTHER:
    default:
      stox_actions_respond (actions, req->token, 405, 0, NULL, STOX_GATEWAY_ALLOW, NULL);
      gw->stats.refused++;
      break;
    }
}

/* ---- XMPP → SIP: <message> (RFC 7572 §4, Table 1) ----------------------- */

static StoxToken
track_outgoing (StoxGateway *gw,
                OutKind      kind,
                const char  *xmpp_from,
                const char  *xmpp_to,
                const char  *stanza_id)
{
  PendingOut *p = g_new0 (PendingOut, 1);

  p->token = ++gw->next_token;
  p->kind = kind;
  p->xmpp_from = g_strdup (xmpp_from);
  p->xmpp_to = g_strdup (xmpp_to);
  p->stanza_id = g_strdup (stanza_id);
  g_hash_table_insert (gw->out_by_token, &p->token, p);
  return p->token;
}

static StoxAction *
message_request_new (StoxToken   token,
                     const char *request_uri,
                     const char *from_uri,
                     const char *content_type,
                     const char *body)
{
  StoxAction *a = action_new (STOX_ACTION_SIP_REQUEST);

  a->u.request.token = token;
  a->u.request.method = STOX_SIP_METHOD_MESSAGE;
  a->u.request.request_uri = g_strdup (request_uri);
  a->u.request.from_uri = g_strdup (from_uri);
  a->u.request.to_uri = g_strdup (request_uri);
  a->u.request.content_type = g_strdup (content_type);
  a->u.request.body = g_bytes_new (body, strlen (body));
  return a;
}

/* The late-bounce notice (INTERFACE.md §5): a MESSAGE back to the SIP
 * sender from the address it wrote to, saying why. */
static void
late_notice (StoxGateway      *gw,
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
  token = track_outgoing (gw, OUT_NOTICE, NULL, NULL, NULL);
  g_ptr_array_add (actions, message_request_new (token, p->sip_from, p->sip_target,
                                                 "text/plain;charset=UTF-8", body));
}

/* An XMPP error in answer to a stanza the gateway forwarded. */
static void
xmpp_bounce (StoxGateway      *gw,
             const StoxStanza *st,
             gint64            now,
             GPtrArray        *actions)
{
  PendingIn *p = st->id != NULL ? g_hash_table_lookup (gw->in_by_id, st->id) : NULL;
  g_autofree char *from = st->from != NULL ? stox_bare_jid (st->from) : NULL;
  const char *condition = st->error_condition != NULL
                          ? st->error_condition : "undefined-condition";

  /* The bounce must come from the entity we wrote to; anyone else guessing
   * an id must not be able to fail someone's transaction. */
  if (p == NULL || from == NULL || g_ascii_strcasecmp (from, p->jid_to) != 0)
    {
      gw->stats.bounces_unmatched++;
      return;
    }

  if (p->state == IN_WAITING)
    {
      guint status = stox_rules_condition_to_sip (gw->rules, condition);
      g_autofree char *why = g_strdup_printf ("XMPP error: %s%s%s", condition,
                                              st->error_text != NULL ? ": " : "",
                                              st->error_text != NULL ? st->error_text : "");

      /* 503 is only ever the gateway's own "XMPP unreachable" (INTERFACE §3). */
      if (status == 0 || status == 503)
        status = 500;
      stox_actions_respond (actions, p->token, status, 0, NULL, NULL, why);
      gw->stats.bounces_in_window++;
    }
  else
    {
      late_notice (gw, p, condition, st->error_text, actions);
      gw->stats.bounces_late++;
    }
  pending_in_remove (gw, p);
}

static void
conversation_remove (StoxGateway *gw, Conversation *c)
{
  g_queue_unlink (&gw->conversations, &c->link);
  g_hash_table_remove (gw->conv_by_key, c->key);
}

/* The memory of what was last sent in a conversation, or NULL; `create`
 * makes it (bounded like every table: the least recently used one goes
 * when it is full).  Touching it moves it to the tail. */
static Conversation *
conversation_get (StoxGateway *gw, const char *key, gboolean create, gint64 now)
{
  Conversation *c = g_hash_table_lookup (gw->conv_by_key, key);

  if (c == NULL && !create)
    return NULL;
  if (c == NULL)
    {
      if (g_hash_table_size (gw->conv_by_key) >= gw->max_pending)
        conversation_remove (gw, g_queue_peek_head (&gw->conversations));
      c = g_new0 (Conversation, 1);
      c->key = g_strdup (key);
      c->link.data = c;
      c->last_sent = G_MININT64 / 2;
      g_hash_table_insert (gw->conv_by_key, c->key, c);
    }
  else
    g_queue_unlink (&gw->conversations, &c->link);
  c->last_used = now;
  g_queue_push_tail_link (&gw->conversations, &c->link);
  return c;
}

/* XEP-0085 → RFC 3994 as INTERFACE.md §5 fixes it: composing → active;
 * anything else → idle only after an active; no repeat within the
 * refresh.  Decides only (`c` NULL: nothing sent yet); the memory changes
 * once the MESSAGE is actually sent. */
static gboolean
chat_state_due (const Conversation *c, gboolean active, gint64 now)
{
  gboolean active_sent = c != NULL && c->active_sent;
  gboolean fresh = c != NULL &&
                   now - c->last_sent < STOX_GATEWAY_ISCOMPOSING_REFRESH_S * G_USEC_PER_SEC;

  return active ? !(active_sent && fresh) : active_sent;
}

static void
xmpp_message (StoxGateway      *gw,
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
      xmpp_bounce (gw, st, now, actions);
      return;
    }
  if (st->from == NULL || st->to == NULL)
    return;   /* the server always stamps both; nothing to answer to */
  if (!stox_route_stanza (route_config (gw), st, &route, &condition, &why))
    {
      stanza_error_reply (gw, st, condition, why, actions);
      return;
    }

  g_autofree char *conv_key = g_strdup_printf ("%s\n%s", route.from_bare, route.request_uri);
  gboolean active = st->chat_state == STOX_CHAT_STATE_COMPOSING;

  if (st->body != NULL)
    {
      if (!g_utf8_validate (st->body, -1, NULL))
        {
          stanza_error_reply (gw, st, "bad-request", "the body is not valid UTF-8", actions);
          return;
        }
      content_type = "text/plain;charset=UTF-8";
      payload = st->body;
    }
  else if (st->chat_state != STOX_CHAT_STATE_NONE)
    {
      if (!chat_state_due (conversation_get (gw, conv_key, FALSE, now), active, now))
        return;
      document = stox_iscomposing_build (active,
                                         active ? STOX_GATEWAY_ISCOMPOSING_REFRESH_S : 0);
      content_type = STOX_ISCOMPOSING_CONTENT_TYPE;
      payload = document;
    }
  else
    return;   /* receipts, markers: nothing to turn into a MESSAGE */

  gsize size = stox_message_sip_size (route.request_uri, route.from_uri, route.request_uri,
                                      st->thread,
                                      content_type, st->lang, st->subject,
                                      strlen (payload));
  if (size > gw->max_message_size)
    {
      g_autofree char *limit = g_strdup_printf ("the message would be %" G_GSIZE_FORMAT
                                                " bytes as SIP; the limit is %u (RFC 3428 §8)",
                                                size, gw->max_message_size);
      stanza_error_reply (gw, st, "policy-violation", limit, actions);
      return;
    }
  if (g_hash_table_size (gw->out_by_token) >= gw->max_pending)
    {
      stanza_error_reply (gw, st, "resource-constraint", "gateway overloaded", actions);
      return;
    }

  /* Sent: only now does the conversation's memory change.  RFC 3994
   * §3.3: a content message resets the receiver to idle. */
  if (st->body != NULL)
    {
      Conversation *conv = conversation_get (gw, conv_key, FALSE, now);

      if (conv != NULL)
        conv->active_sent = FALSE;
    }
  else
    {
      Conversation *conv = conversation_get (gw, conv_key, TRUE, now);

      conv->active_sent = active;
      conv->last_sent = now;
    }

  StoxToken token = track_outgoing (gw, OUT_MESSAGE, st->from, st->to, st->id);
  StoxAction *a = message_request_new (token, route.request_uri, route.from_uri,
                                       content_type, payload);
  a->u.request.call_id = g_strdup (st->thread);
  a->u.request.subject = g_strdup (st->subject);
  a->u.request.content_language = g_strdup (st->lang);
  g_ptr_array_add (actions, a);
  gw->stats.xmpp_to_sip++;
}

void
stox_gateway_on_sip_response (StoxGateway           *gw,
                              const StoxSipResponse *resp,
                              gint64                 now,
                              GPtrArray             *actions)
{
  PendingOut *p;

  if (stox_presence_on_sip_response (gw->presence, presence_env (gw), resp, now, actions))
    return;
  p = g_hash_table_lookup (gw->out_by_token, &resp->token);
  if (p == NULL || resp->status < 200)
    return;

  if (resp->status >= 300 && p->kind == OUT_MESSAGE)
    {
      /* RFC 7247 §7.2 Table 3, from the rule file. */
      const char *condition = stox_rules_sip_to_condition (gw->rules, resp->status);
      StoxStanza *err = stox_stanza_new (STOX_STANZA_MESSAGE);

      err->type = g_strdup ("error");
      err->id = g_strdup (p->stanza_id);
      err->from = g_strdup (p->xmpp_to);
      err->to = g_strdup (p->xmpp_from);
      err->error_condition = g_strdup (condition);
      err->error_type = g_strdup (stox_rules_error_type (gw->rules, condition));
      err->error_text = g_strdup_printf ("SIP %u %s", resp->status,
                                         resp->phrase != NULL ? resp->phrase : "");
      stox_actions_stanza (actions, err);
      gw->stats.sip_errors++;
    }
  g_hash_table_remove (gw->out_by_token, &resp->token);
}

/* ---- IQ: readiness (INTERFACE.md §4, XEP-0030, XEP-0199) ---------------- */

static void
iq_result (const StoxStanza *st, const char *payload, GPtrArray *actions)
{
  StoxStanza *r = stox_stanza_new (STOX_STANZA_IQ);

  r->type = g_strdup ("result");
  r->id = g_strdup (st->id);
  r->from = g_strdup (st->to);
  r->to = g_strdup (st->from);
  r->payload_xml = g_strdup (payload);
  stox_actions_stanza (actions, r);
}

static void
xmpp_iq (StoxGateway      *gw,
         const StoxStanza *st,
         GPtrArray        *actions)
{
  g_autoptr (StoxJid) to = NULL;
  gboolean to_component;

  if (g_strcmp0 (st->type, "get") != 0 && g_strcmp0 (st->type, "set") != 0)
    return;   /* results and errors answer nothing we asked */
  if (st->from == NULL || st->to == NULL)
    return;

  to = stox_jid_parse (st->to, NULL);
  if (to == NULL || !stox_domain_equal (to->domain, gw->component))
    {
      stanza_error_reply (gw, st, "item-not-found", NULL, actions);
      return;
    }
  to_component = to->local == NULL;

  if (g_strcmp0 (st->type, "get") == 0 && st->iq_node == NULL &&
      g_strcmp0 (st->iq_child_name, "query") == 0 &&
      g_strcmp0 (st->iq_child_ns, NS_DISCO_INFO) == 0)
    {
      /* rfc-mappings.md §9: gateway/simple is the registered SIP type;
       * a SIP user looks like a phone client. */
      iq_result (st, to_component
                 ? "<query xmlns='" NS_DISCO_INFO "'>"
                   "<identity category='gateway' type='simple' name='stox SIP gateway'/>"
                   "<feature var='" NS_DISCO_INFO "'/>"
                   "<feature var='" NS_DISCO_ITEMS "'/>"
                   "<feature var='jid\\20escaping'/>"
                   "<feature var='" NS_PING "'/>"
                   "</query>"
                 : "<query xmlns='" NS_DISCO_INFO "'>"
                   "<identity category='client' type='phone'/>"
                   "<feature var='" NS_DISCO_INFO "'/>"
                   "<feature var='" NS_CHATSTATES "'/>"
                   "</query>",
                 actions);
      return;
    }
  if (g_strcmp0 (st->type, "get") == 0 && st->iq_node == NULL &&
      g_strcmp0 (st->iq_child_name, "query") == 0 &&
      g_strcmp0 (st->iq_child_ns, NS_DISCO_ITEMS) == 0)
    {
      iq_result (st, "<query xmlns='" NS_DISCO_ITEMS "'/>", actions);
      return;
    }
  if (g_strcmp0 (st->type, "get") == 0 &&
      g_strcmp0 (st->iq_child_name, "ping") == 0 &&
      g_strcmp0 (st->iq_child_ns, NS_PING) == 0)
    {
      iq_result (st, NULL, actions);
      return;
    }
  /* RFC 6120 §8.2.3: every get/set gets an answer. */
  stanza_error_reply (gw, st, "service-unavailable", NULL, actions);
}

void
stox_gateway_on_stanza (StoxGateway      *gw,
                        const StoxStanza *st,
                        gint64            now,
                        GPtrArray        *actions)
{
  switch (st->kind)
    {
    case STOX_STANZA_MESSAGE:
      xmpp_message (gw, st, now, actions);
      break;
    case STOX_STANZA_IQ:
      xmpp_iq (gw, st, actions);
      break;
    case STOX_STANZA_PRESENCE:
      stox_presence_on_stanza (gw->presence, presence_env (gw), st, now, actions);
      break;
    }
}

/* ---- link, timers, shutdown --------------------------------------------- */

void
stox_gateway_on_link (StoxGateway *gw,
                      gboolean     up,
                      guint        retry_in_s,
                      gint64       now,
                      GPtrArray   *actions)
{
  gw->link_up = up;
  gw->retry_in_s = MAX (retry_in_s, 1);
  /* After the state above, so presence sees the new one. */
  stox_presence_on_link (gw->presence, presence_env (gw), up, now, actions);
}

void
stox_gateway_on_xmpp_send_failed (StoxGateway      *gw,
                                  const StoxStanza *st,
                                  gint64            now,
                                  GPtrArray        *actions)
{
  PendingIn *p;

  if (st->kind != STOX_STANZA_MESSAGE || st->id == NULL ||
      g_strcmp0 (st->type, "error") == 0)
    return;
  p = g_hash_table_lookup (gw->in_by_id, st->id);
  if (p == NULL)
    return;
  if (p->state == IN_WAITING)
    {
      stox_actions_respond (actions, p->token, 503, MAX (gw->retry_in_s, 1), NULL, NULL,
               "the XMPP server is not reachable");
      gw->stats.refused++;
    }
  else
    late_notice (gw, p, "remote-server-timeout", "the XMPP server is not reachable", actions);
  pending_in_remove (gw, p);
}

void
stox_gateway_on_timer (StoxGateway *gw, gint64 now, GPtrArray *actions)
{
  GList *l;

  /* bounce-wait is one value for all, so each queue is ordered by
   * deadline and only its head needs looking at. */
  while ((l = g_queue_peek_head_link (&gw->waiting)) != NULL &&
         ((PendingIn *) l->data)->deadline <= now)
    pending_in_accept (gw, l->data, now, actions);

  while ((l = g_queue_peek_head_link (&gw->answered)) != NULL &&
         ((PendingIn *) l->data)->deadline <= now)
    pending_in_remove (gw, l->data);

  while ((l = g_queue_peek_head_link (&gw->conversations)) != NULL &&
         ((Conversation *) l->data)->last_used + CONVERSATION_IDLE_US <= now)
    conversation_remove (gw, l->data);

  stox_presence_on_timer (gw->presence, presence_env (gw), now, actions);
}

gint64
stox_gateway_next_deadline (StoxGateway *gw)
{
  gint64 next = -1;
  GList *l;

  if ((l = g_queue_peek_head_link (&gw->waiting)) != NULL)
    next = ((PendingIn *) l->data)->deadline;
  if ((l = g_queue_peek_head_link (&gw->answered)) != NULL)
    {
      gint64 d = ((PendingIn *) l->data)->deadline;
      next = next < 0 ? d : MIN (next, d);
    }
  if ((l = g_queue_peek_head_link (&gw->conversations)) != NULL)
    {
      gint64 d = ((Conversation *) l->data)->last_used + CONVERSATION_IDLE_US;
      next = next < 0 ? d : MIN (next, d);
    }
  gint64 d = stox_presence_next_deadline (gw->presence);
  if (d >= 0)
    next = next < 0 ? d : MIN (next, d);
  return next;
}

void
stox_gateway_restore (StoxGateway           *gw,
                       const StoxStoreRecord *record,
                       gint64                 now,
                       GPtrArray             *actions)
{
  stox_presence_restore (gw->presence, presence_env (gw), record, now, actions);
}

void
stox_gateway_on_shutdown (StoxGateway *gw, gint64 now, GPtrArray *actions)
{
  GList *l;

  /* Every held transaction was forwarded: 202 says exactly that. */
  while ((l = g_queue_peek_head_link (&gw->waiting)) != NULL)
    pending_in_accept (gw, l->data, now, actions);
  stox_presence_on_shutdown (gw->presence, presence_env (gw), now, actions);
}
