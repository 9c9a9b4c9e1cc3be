/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "actions.h"

#include <string.h>

GPtrArray *
stox_actions_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) stox_action_free);
}

static void
out_message_clear (StoxSipOutMessage *r)
{
  g_free (r->request_uri);
  g_free (r->from_uri);
  g_free (r->to_uri);
  g_free (r->call_id);
  g_free (r->content_type);
  g_free (r->content_language);
  g_free (r->subject);
  g_clear_pointer (&r->body, g_bytes_unref);
}

void
stox_action_free (StoxAction *action)
{
  if (action == NULL)
    return;
  switch (action->kind)
    {
    case STOX_ACTION_SIP_RESPOND:
      g_free (action->u.respond.phrase);
      g_free (action->u.respond.accept);
      g_free (action->u.respond.allow);
      g_free (action->u.respond.warning);
      break;
    case STOX_ACTION_SIP_MESSAGE:
      out_message_clear (&action->u.message);
      break;
    case STOX_ACTION_XMPP_SEND:
      stox_stanza_free (action->u.stanza);
      break;
    case STOX_ACTION_SIP_SUBSCRIBE:
      g_free (action->u.subscribe.request_uri);
      g_free (action->u.subscribe.from_uri);
      g_free (action->u.subscribe.to_uri);
      g_free (action->u.subscribe.event);
      g_free (action->u.subscribe.accept);
      break;
    case STOX_ACTION_STORE:
      g_free (action->u.store.xmpp_jid);
      g_free (action->u.store.sip_jid);
      g_free (action->u.store.entity);
      break;
    case STOX_ACTION_SIP_NOTIFY:
      g_free (action->u.notify.reason);
      g_free (action->u.notify.content_type);
      g_clear_pointer (&action->u.notify.body, g_bytes_unref);
      break;
    }
  g_free (action);
}

const char *
stox_sip_phrase (guint status)
{
  switch (status)
    {
    case 200: return "OK";
    case 202: return "Accepted";
    case 301: return "Moved Permanently";
    case 302: return "Moved Temporarily";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 410: return "Gone";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 416: return "Unsupported URI Scheme";
    case 423: return "Interval Too Brief";
    case 480: return "Temporarily Unavailable";
    case 481: return "Call/Transaction Does Not Exist";
    case 484: return "Address Incomplete";
    case 486: return "Busy Here";
    case 489: return "Bad Event";
    case 491: return "Request Pending";
    case 500: return "Server Internal Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 600: return "Busy Everywhere";
    case 603: return "Decline";
    case 604: return "Does Not Exist Anywhere";
    case 606: return "Not Acceptable";
    default:  return status < 300 ? "OK" : "Error";
    }
}

static StoxAction *
action_add (GPtrArray     *actions,
            StoxActionKind kind)
{
  StoxAction *a = g_new0 (StoxAction, 1);

  a->kind = kind;
  g_ptr_array_add (actions, a);
  return a;
}

StoxSipAnswer *
stox_actions_respond (GPtrArray  *actions,
                      StoxToken   token,
                      guint       status,
                      guint       retry_after,
                      const char *accept,
                      const char *allow,
                      const char *warning)
{
  StoxAction *a = action_add (actions, STOX_ACTION_SIP_RESPOND);

  a->u.respond.token = token;
  a->u.respond.status = status;
  a->u.respond.phrase = g_strdup (stox_sip_phrase (status));
  a->u.respond.retry_after = retry_after;
  a->u.respond.accept = g_strdup (accept);
  a->u.respond.allow = g_strdup (allow);
  a->u.respond.warning = g_strdup (warning);
  a->u.respond.expires = -1;
  a->u.respond.min_expires = -1;
  return &a->u.respond;
}

StoxSipOutMessage *
stox_actions_message (GPtrArray  *actions,
                      StoxToken   token,
                      const char *request_uri,
                      const char *from_uri,
                      const char *content_type,
                      const char *body)
{
  StoxAction *a = action_add (actions, STOX_ACTION_SIP_MESSAGE);

  a->u.message.token = token;
  a->u.message.request_uri = g_strdup (request_uri);
  a->u.message.from_uri = g_strdup (from_uri);
  a->u.message.to_uri = g_strdup (request_uri);
  a->u.message.content_type = g_strdup (content_type);
  a->u.message.body = g_bytes_new (body, strlen (body));
  return &a->u.message;
}

void
stox_actions_subscribe (GPtrArray  *actions,
                        StoxToken   dialog,
                        const char *request_uri,
                        const char *from_uri,
                        const char *event,
                        const char *accept,
                        guint       expires)
{
  StoxAction *a = action_add (actions, STOX_ACTION_SIP_SUBSCRIBE);

  a->u.subscribe.dialog = dialog;
  a->u.subscribe.request_uri = g_strdup (request_uri);
  a->u.subscribe.from_uri = g_strdup (from_uri);
  a->u.subscribe.to_uri = g_strdup (request_uri);
  a->u.subscribe.event = g_strdup (event);
  a->u.subscribe.accept = g_strdup (accept);
  a->u.subscribe.expires = expires;
}

StoxSipNotify *
stox_actions_notify (GPtrArray   *actions,
                     StoxToken    token,
                     StoxToken    dialog,
                     StoxSubstate substate,
                     const char  *reason,
                     guint        expires,
                     const char  *content_type,
                     char        *body)
{
  StoxAction *a = action_add (actions, STOX_ACTION_SIP_NOTIFY);

  a->u.notify.token = token;
  a->u.notify.dialog = dialog;
  a->u.notify.substate = substate;
  a->u.notify.reason = g_strdup (reason);
  a->u.notify.expires = expires;
  if (body != NULL)
    {
      a->u.notify.content_type = g_strdup (content_type);
      a->u.notify.body = g_bytes_new_take (body, strlen (body));
    }
  return &a->u.notify;
}

void
stox_actions_stanza (GPtrArray *actions, StoxStanza *st)
{
  StoxAction *a = action_add (actions, STOX_ACTION_XMPP_SEND);

  a->u.stanza = st;
}

gboolean
stox_actions_stanza_error (GPtrArray        *actions,
                           const StoxRules  *rules,
                           const StoxStanza *st,
                           const char       *default_from,
                           const char       *condition,
                           const char       *text)
{
  StoxStanza *reply;

  if (g_strcmp0 (st->type, "error") == 0 || st->from == NULL)
    return FALSE;
  reply = stox_stanza_new (st->kind);
  reply->type = g_strdup ("error");
  reply->id = g_strdup (st->id);
  reply->from = g_strdup (st->to != NULL ? st->to : default_from);
  reply->to = g_strdup (st->from);
  reply->error_condition = g_strdup (condition);
  reply->error_type = g_strdup (stox_rules_error_type (rules, condition));
  reply->error_text = g_strdup (text);
  stox_actions_stanza (actions, reply);
  return TRUE;
}

StoxStanza *
stox_presence_stanza_new (const char *from, const char *to, const char *type)
{
  StoxStanza *st = stox_stanza_new (STOX_STANZA_PRESENCE);

  st->from = g_strdup (from);
  st->to = g_strdup (to);
  st->type = g_strdup (type);
  return st;
}

void
stox_actions_presence (GPtrArray  *actions,
                       const char *from,
                       const char *to,
                       const char *type)
{
  stox_actions_stanza (actions, stox_presence_stanza_new (from, to, type));
}

StoxStoreRecord *
stox_actions_store (GPtrArray    *actions,
                    StoxStoreKind kind,
                    gboolean      remove,
                    const char   *xmpp_jid,
                    const char   *sip_jid)
{
  StoxAction *act = action_add (actions, STOX_ACTION_STORE);

  act->u.store.kind = kind;
  act->u.store.remove = remove;
  act->u.store.xmpp_jid = g_strdup (xmpp_jid);
  act->u.store.sip_jid = g_strdup (sip_jid);
  return &act->u.store;
}
