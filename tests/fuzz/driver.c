/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "fuzz/driver.h"

#include <stdlib.h>
#include <string.h>

#include "core/gateway.h"
#include "core/pidf.h"
#include "fuzz/fuzz.h"
#include "sip/convert.h"
#include "sip/message-size.h"
#include "xmpp/convert.h"

/* nta's sanity check, which sofia-decls.h does not need; Sofia's headers
 * predate our warning set (see there). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wundef"
#pragma GCC diagnostic ignored "-Wredundant-decls"
#include <sofia-sip/sip_util.h>
#pragma GCC diagnostic pop

#define T0 (G_GINT64_CONSTANT (1000000000))
/* Each record takes this long on the fake clock. */
#define RECORD_US 1000
#define TICK_MAX_MS (24 * 3600 * 1000)
/* More records than this in one input are ignored: keeps a run short. */
#define RECORDS_MAX 200

typedef enum
{
  OUT_REQUEST,
  OUT_SUBSCRIBE,
  OUT_NOTIFY,
} OutKind;

/* A request the gateway sent, waiting for its final response. */
typedef struct
{
  StoxToken token;
  OutKind   kind;
} Outgoing;

/* A message stanza the gateway sent, which the server may bounce. */
typedef struct
{
  char *id;
  char *from;
  char *to;
} Sent;

typedef struct
{
  StoxGateway *gw;
  gint64       now;
  char        *source;
  gboolean     link_up;
  StoxToken    next_token;
  GHashTable  *open;            /* token → method: requests not answered */
  GArray      *outgoing;        /* Outgoing, oldest first */
  GArray      *server_dialogs;  /* StoxToken: SIP watchers' dialogs */
  GArray      *client_dialogs;  /* StoxToken: the gateway's subscriptions */
  GPtrArray   *sent;            /* Sent */
} Driver;

static xmpp_ctx_t *
strophe (void)
{
  static xmpp_ctx_t *ctx = NULL;

  if (ctx == NULL)
    {
      xmpp_initialize ();
      ctx = xmpp_ctx_new (NULL, NULL);
    }
  return ctx;
}

static void
sent_free (Sent *s)
{
  g_free (s->id);
  g_free (s->from);
  g_free (s->to);
  g_free (s);
}

static gboolean
token_in (GArray *a, StoxToken t, guint *ret_index)
{
  for (guint i = 0; i < a->len; i++)
    if (g_array_index (a, StoxToken, i) == t)
      {
        if (ret_index != NULL)
          *ret_index = i;
        return TRUE;
      }
  return FALSE;
}

/* ---- what the gateway asks for ----------------------------------------- */

static void
check_header_value (const char *what, const char *value)
{
  if (value == NULL)
    return;
  stox_fuzz_check (g_utf8_validate (value, -1, NULL), "%s is not UTF-8", what);
  stox_fuzz_check (strpbrk (value, "\r\n") == NULL, "%s carries a line break: \"%s\"", what,
                   value);
}

static void execute (Driver *d, GPtrArray *actions);

static void
on_respond (Driver *d, const StoxAction *a)
{
  gpointer method;

  stox_fuzz_check (a->u.respond.status >= 100 && a->u.respond.status <= 699,
                   "status %u", a->u.respond.status);
  stox_fuzz_check (g_hash_table_lookup_extended (d->open, &a->u.respond.token, NULL, &method),
                   "%u for request %" G_GUINT64_FORMAT ", which is not open (never asked, or "
                   "answered already)", a->u.respond.status, a->u.respond.token);
  check_header_value ("a reason phrase", a->u.respond.phrase);
  check_header_value ("an Accept", a->u.respond.accept);
  check_header_value ("an Allow", a->u.respond.allow);
  check_header_value ("a Warning text", a->u.respond.warning);
  if (a->u.respond.status < 200)
    return;
  /* The 2xx to an initial SUBSCRIBE creates the watcher's dialog, named
   * by that SUBSCRIBE's token (RFC 6665 §4.2.1, types.h). */
  if (a->u.respond.status < 300 && GPOINTER_TO_INT (method) == STOX_SIP_METHOD_SUBSCRIBE &&
      !token_in (d->server_dialogs, a->u.respond.token, NULL))
    g_array_append_val (d->server_dialogs, a->u.respond.token);
  g_hash_table_remove (d->open, &a->u.respond.token);
}

static void
add_outgoing (Driver *d, StoxToken token, OutKind kind)
{
  Outgoing o = { token, kind };

  g_array_append_val (d->outgoing, o);
}

static void
on_xmpp_send (Driver *d, const StoxStanza *st, GPtrArray **more)
{
  g_autoptr (GError) error = NULL;
  xmpp_stanza_t *built = stox_xmpp_stanza_encode (strophe (), st, &error);

  stox_fuzz_check (built != NULL, "a stanza the gateway sends cannot be built: %s",
                   error != NULL ? error->message : "?");
  char *text = NULL;
  size_t len = 0;
  stox_fuzz_check (xmpp_stanza_to_text (built, &text, &len) == XMPP_EOK, "cannot render");
  xmpp_free (strophe (), text);
  xmpp_stanza_release (built);

  if (!d->link_up)
    {
      /* As the runner does when the component cannot take it. */
      if (*more == NULL)
        *more = stox_actions_new ();
      stox_gateway_on_xmpp_send_failed (d->gw, st, STOX_XMPP_SEND_FAILED_LINK, d->now, *more);
      return;
    }
  if (st->kind == STOX_STANZA_MESSAGE && st->id != NULL && g_strcmp0 (st->type, "error") != 0)
    {
      Sent *s = g_new0 (Sent, 1);

      s->id = g_strdup (st->id);
      s->from = g_strdup (st->from);
      s->to = g_strdup (st->to);
      g_ptr_array_add (d->sent, s);
    }
}

/* As the endpoint reports a MESSAGE it would not send. */
static void
too_large (Driver *d, StoxToken token, GPtrArray **more)
{
  StoxSipResponse resp = {
    .token = token, .status = 513, .phrase = (char *) "Message Too Large",
    .expires = -1, .min_expires = -1,
    .warning = (char *) "the message would be too large as SIP (RFC 3428 §8)",
  };

  if (*more == NULL)
    *more = stox_actions_new ();
  stox_gateway_on_sip_response (d->gw, &resp, d->now, *more);
}

static void
on_notify (Driver *d, const StoxAction *a)
{
  guint i;

  stox_fuzz_check (token_in (d->server_dialogs, a->u.notify.dialog, &i),
                   "NOTIFY in dialog %" G_GUINT64_FORMAT ", which the front end does not know",
                   a->u.notify.dialog);
  check_header_value ("a NOTIFY reason", a->u.notify.reason);
  check_header_value ("a NOTIFY Content-Type", a->u.notify.content_type);
  if (g_strcmp0 (a->u.notify.content_type, STOX_PIDF_CONTENT_TYPE) == 0 &&
      a->u.notify.body != NULL)
    {
      gsize len = 0;
      const char *doc = g_bytes_get_data (a->u.notify.body, &len);
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) infos = stox_pidf_parse (doc, len, stox_fuzz_shipped_rules (),
                                                     &error);

      stox_fuzz_check (infos != NULL, "the gateway's NOTIFY body does not parse: %s",
                       error->message);
    }
  /* After a terminated NOTIFY the front end forgets the dialog. */
  if (a->u.notify.substate == STOX_SUBSTATE_TERMINATED)
    g_array_remove_index (d->server_dialogs, i);
  add_outgoing (d, a->u.notify.token, OUT_NOTIFY);
}

/* STOX_FUZZ_TRACE=1: what the gateway did, for writing seeds and for
 * reading a crashing input. */
static gboolean
tracing (void)
{
  static int on = -1;

  if (on < 0)
    on = g_getenv ("STOX_FUZZ_TRACE") != NULL;
  return on;
}

static void
trace_action (const StoxAction *a)
{
  switch (a->kind)
    {
    case STOX_ACTION_SIP_RESPOND:
      g_printerr ("  -> SIP %u %s to request %" G_GUINT64_FORMAT "%s%s\n", a->u.respond.status,
                  a->u.respond.phrase, a->u.respond.token,
                  a->u.respond.warning != NULL ? ": " : "",
                  a->u.respond.warning != NULL ? a->u.respond.warning : "");
      break;
    case STOX_ACTION_SIP_MESSAGE:
      g_printerr ("  -> SIP MESSAGE %" G_GUINT64_FORMAT " %s from %s (%s)\n", a->u.message.token,
                  a->u.message.request_uri, a->u.message.from_uri, a->u.message.content_type);
      break;
    case STOX_ACTION_SIP_SUBSCRIBE:
      g_printerr ("  -> SIP SUBSCRIBE %" G_GUINT64_FORMAT " %s from %s, Expires %u\n",
                  a->u.subscribe.dialog, a->u.subscribe.request_uri, a->u.subscribe.from_uri,
                  a->u.subscribe.expires);
      break;
    case STOX_ACTION_SIP_NOTIFY:
      g_printerr ("  -> SIP NOTIFY %" G_GUINT64_FORMAT " in dialog %" G_GUINT64_FORMAT
                  ", state %d\n", a->u.notify.token, a->u.notify.dialog, a->u.notify.substate);
      break;
    case STOX_ACTION_XMPP_SEND:
      g_printerr ("  -> XMPP %s type=%s id=%s from=%s to=%s%s%s\n",
                  a->u.stanza->kind == STOX_STANZA_MESSAGE ? "message"
                  : a->u.stanza->kind == STOX_STANZA_PRESENCE ? "presence" : "iq",
                  a->u.stanza->type, a->u.stanza->id, a->u.stanza->from, a->u.stanza->to,
                  a->u.stanza->error_condition != NULL ? " error " : "",
                  a->u.stanza->error_condition != NULL ? a->u.stanza->error_condition : "");
      break;
    case STOX_ACTION_STORE:
      g_printerr ("  -> STORE kind %d %sxmpp %s sip %s\n", a->u.store.kind,
                  a->u.store.remove ? "remove " : "", a->u.store.xmpp_jid, a->u.store.sip_jid);
      break;
    }
}

static void
execute (Driver *d, GPtrArray *actions)
{
  g_autoptr (GPtrArray) more = NULL;

  for (guint i = 0; i < actions->len; i++)
    {
      const StoxAction *a = actions->pdata[i];

      if (tracing ())
        trace_action (a);
      switch (a->kind)
        {
        case STOX_ACTION_SIP_RESPOND:
          on_respond (d, a);
          break;
        case STOX_ACTION_SIP_MESSAGE:
          check_header_value ("a Request-URI", a->u.message.request_uri);
          check_header_value ("a From", a->u.message.from_uri);
          check_header_value ("a To", a->u.message.to_uri);
          check_header_value ("a Call-ID", a->u.message.call_id);
          check_header_value ("a Content-Type", a->u.message.content_type);
          check_header_value ("a Content-Language", a->u.message.content_language);
          check_header_value ("a Subject", a->u.message.subject);
          /* The endpoint refuses a MESSAGE over max-message-size itself:
           * its 513 comes back at once (sip/message-size.h). */
          if (stox_sip_message_size (&a->u.message, "stox/" PACKAGE_VERSION,
                                     stox_sip_allowed_methods ())
              > STOX_SIP_MESSAGE_SIZE_DEFAULT)
            too_large (d, a->u.message.token, &more);
          else
            add_outgoing (d, a->u.message.token, OUT_REQUEST);
          break;
        case STOX_ACTION_SIP_SUBSCRIBE:
          check_header_value ("a SUBSCRIBE Request-URI", a->u.subscribe.request_uri);
          check_header_value ("a SUBSCRIBE From", a->u.subscribe.from_uri);
          check_header_value ("a SUBSCRIBE To", a->u.subscribe.to_uri);
          if (!token_in (d->client_dialogs, a->u.subscribe.dialog, NULL))
            g_array_append_val (d->client_dialogs, a->u.subscribe.dialog);
          add_outgoing (d, a->u.subscribe.dialog, OUT_SUBSCRIBE);
          break;
        case STOX_ACTION_SIP_NOTIFY:
          on_notify (d, a);
          break;
        case STOX_ACTION_XMPP_SEND:
          on_xmpp_send (d, a->u.stanza, &more);
          break;
        case STOX_ACTION_STORE:
          stox_fuzz_check (a->u.store.xmpp_jid == NULL
                           || g_utf8_validate (a->u.store.xmpp_jid, -1, NULL),
                           "a stored value is not UTF-8");
          stox_fuzz_check (a->u.store.sip_jid == NULL
                           || g_utf8_validate (a->u.store.sip_jid, -1, NULL),
                           "a stored value is not UTF-8");
          stox_fuzz_check (a->u.store.entity == NULL
                           || g_utf8_validate (a->u.store.entity, -1, NULL),
                           "a stored value is not UTF-8");
          break;
        }
    }
  if (more != NULL && more->len > 0)
    execute (d, more);
}

static void
run_timers (Driver *d)
{
  gint64 due = stox_gateway_next_deadline (d->gw);

  if (due < 0 || due > d->now)
    return;
  g_autoptr (GPtrArray) actions = stox_actions_new ();

  stox_gateway_on_timer (d->gw, d->now, actions);
  execute (d, actions);
  due = stox_gateway_next_deadline (d->gw);
  /* The loop would dispatch again at once, forever. */
  stox_fuzz_check (due < 0 || due > d->now, "a deadline still due after on_timer()");
}

/* ---- SIP in ---------------------------------------------------------- */

static void
check_utf8 (const char *what, const char *s)
{
  stox_fuzz_check (s == NULL || g_utf8_validate (s, -1, NULL), "decoded %s is not UTF-8", what);
}

/* What the SIP front end lets through to the core (endpoint.c
 * check_request and on_leg_request): the methods of the Allow header, the
 * URI schemes it takes, no Require, known dialogs, Event: presence, the
 * body limit.  Returns FALSE when the stack would answer by itself. */
static gboolean
endpoint_takes (Driver *d, const sip_t *sip, StoxToken *ret_dialog)
{
  g_auto (GStrv) allowed = g_strsplit (STOX_GATEWAY_ALLOW, ", ", -1);
  const char *name = sip->sip_request->rq_method_name;

  *ret_dialog = 0;
  if (name == NULL || !g_strv_contains ((const char *const *) allowed, name))
    return FALSE;
  switch (sip->sip_request->rq_url->url_type)
    {
    case url_sip:
    case url_sips:
    case url_im:
    case url_pres:
    case url_tel:
      break;
    default:
      return FALSE;
    }
  if (sip->sip_require != NULL)
    return FALSE;
  if (sip->sip_payload != NULL && sip->sip_payload->pl_len > STOX_SIP_MAX_BODY)
    return FALSE;

  StoxSipMethod method = stox_sip_convert_method (sip->sip_request);

  if (sip->sip_to->a_tag == NULL)
    return method != STOX_SIP_METHOD_SUBSCRIBE ||
           (sip->sip_event != NULL && g_strcmp0 (sip->sip_event->o_type, "presence") == 0);

  /* In a dialog: the CSeq picks one of those the front end knows. */
  GArray *dialogs = method == STOX_SIP_METHOD_SUBSCRIBE ? d->server_dialogs
                    : method == STOX_SIP_METHOD_NOTIFY ? d->client_dialogs : NULL;
  if (dialogs == NULL)
    return TRUE;   /* a MESSAGE or OPTIONS inside one goes on as out of dialog */
  if (dialogs->len == 0)
    return FALSE;  /* 481 */
  *ret_dialog = g_array_index (dialogs, StoxToken, sip->sip_cseq->cs_seq % dialogs->len);
  return TRUE;
}

static void
request_in (Driver *d, const sip_t *sip)
{
  StoxToken dialog;

  if (!endpoint_takes (d, sip, &dialog))
    return;

  g_autoptr (StoxSipRequest) req = stox_sip_convert_request (sip);
  g_autoptr (GPtrArray) actions = stox_actions_new ();

  stox_fuzz_check (req != NULL, "a request converts to NULL");
  stox_fuzz_check (req->method_name != NULL, "no method name");
  check_utf8 ("method", req->method_name);
  check_utf8 ("Request-URI", req->request_uri);
  check_utf8 ("From", req->from_uri);
  check_utf8 ("To", req->to_uri);
  check_utf8 ("Call-ID", req->call_id);
  check_utf8 ("Content-Type", req->content_type);
  check_utf8 ("charset", req->charset);
  check_utf8 ("Content-Language", req->content_language);
  check_utf8 ("Subject", req->subject);
  check_utf8 ("Event", req->event);
  check_utf8 ("Accept", req->accept);
  check_utf8 ("Subscription-State", req->substate);
  check_utf8 ("Subscription-State reason", req->substate_reason);
  stox_fuzz_check (req->body == NULL || g_bytes_get_size (req->body) > 0, "an empty body");

  req->token = ++d->next_token;
  req->dialog = dialog;
  req->source = g_strdup (d->source);
  g_hash_table_insert (d->open, g_memdup2 (&req->token, sizeof req->token),
                       GINT_TO_POINTER (req->method));
  stox_gateway_on_sip (d->gw, req, d->now, actions);
  execute (d, actions);
}

static void
answer_outgoing (Driver *d, guint index, guint status, const char *phrase, gint64 expires)
{
  if (d->outgoing->len == 0)
    return;
  index %= d->outgoing->len;

  Outgoing o = g_array_index (d->outgoing, Outgoing, index);
  StoxSipResponse resp = { .token = o.token, .status = status, .expires = -1, .min_expires = -1 };
  g_autoptr (GPtrArray) actions = stox_actions_new ();

  g_array_remove_index (d->outgoing, index);
  /* What the endpoint does with what the stack gives it. */
  if (status >= 700)
    status = 500;
  resp.status = status;
  resp.phrase = (char *) phrase;
  if (o.kind == OUT_SUBSCRIBE && status < 300)
    resp.expires = expires >= 0 ? expires : 600;
  if (status == 423)
    resp.min_expires = 60;
  stox_gateway_on_sip_response (d->gw, &resp, d->now, actions);
  execute (d, actions);
}

static void
response_in (Driver *d, const sip_t *sip)
{
  StoxSipResponse resp = { .expires = -1, .min_expires = -1 };

  stox_fuzz_check (stox_sip_convert_response (sip, &resp), "a response does not convert");
  check_utf8 ("reason phrase", resp.phrase);
  if (resp.status >= 200)
    answer_outgoing (d, sip->sip_cseq->cs_seq, resp.status, resp.phrase, resp.expires);
  g_free (resp.phrase);
}

static void
sip_bytes (Driver *d, const char *bytes, gsize len)
{
  msg_t *msg;
  const sip_t *sip;
  unsigned mask;

  if (len == 0)
    return;
  msg = msg_make (sip_default_mclass (), MSG_DO_CANONIC, bytes, (ssize_t) len);
  if (msg == NULL)
    return;
  sip = sip_object (msg);
  /* nta's own checks (agent_recv_request / _response): a message that
   * fails them is answered 400 or dropped by the stack. */
  if (sip == NULL || (sip->sip_flags & (MSG_FLG_ERROR | MSG_FLG_TOOLARGE)) != 0 ||
      sip_sanity_check (sip) < 0)
    goto out;
  mask = sip->sip_request != NULL
         ? ~(unsigned) (sip_mask_response | sip_mask_proxy | sip_mask_registrar |
                        sip_mask_pref | sip_mask_privacy)
         : ~(unsigned) (sip_mask_request | sip_mask_proxy | sip_mask_registrar |
                        sip_mask_pref | sip_mask_privacy);
  if ((msg_extract_errors (msg) & mask) != 0)
    goto out;
  if (sip->sip_request != NULL)
    request_in (d, sip);
  else if (sip->sip_status != NULL)
    response_in (d, sip);
out:
  msg_destroy (msg);
}

/* ---- XMPP in ------------------------------------------------------- */

static void
stanza_bytes (Driver *d, const char *bytes, gsize len)
{
  g_autofree char *text = stox_fuzz_cstring ((const guint8 *) bytes, len);
  xmpp_stanza_t *xs = xmpp_stanza_new_from_string (strophe (), text);
  g_autoptr (GError) error = NULL;

  if (xs == NULL)
    return;

  g_autoptr (StoxStanza) st = stox_xmpp_stanza_decode (xs, &error);
  xmpp_stanza_release (xs);
  if (st == NULL)
    {
      stox_fuzz_check (error != NULL && error->domain == STOX_XMPP_CONVERT_ERROR,
                       "NULL without a STOX_XMPP_CONVERT_ERROR");
      return;
    }
  /* The encoder on the same fields, for its coverage only: it may refuse
   * what the decoder took (its element names are ASCII), and the core never
   * sends a peer's names back. */
  xmpp_stanza_t *again = stox_xmpp_stanza_encode (strophe (), st, NULL);
  if (again != NULL)
    xmpp_stanza_release (again);

  g_autoptr (GPtrArray) actions = stox_actions_new ();
  stox_gateway_on_stanza (d->gw, st, d->now, actions);
  execute (d, actions);
}

static void
bounce (Driver *d, const char *condition, guint index)
{
  if (d->sent->len == 0)
    return;

  const Sent *s = d->sent->pdata[index % d->sent->len];
  g_autofree char *id = g_markup_escape_text (s->id, -1);
  g_autofree char *from = g_markup_escape_text (s->to, -1);
  g_autofree char *to = g_markup_escape_text (s->from, -1);
  /* Through the parser and the decoder like any stanza: a condition that
   * is no element name never reaches the core. */
  g_autofree char *xml = g_strdup_printf (
    "<message type='error' id='%s' from='%s' to='%s'><error type='cancel'>"
    "<%s xmlns='" STOX_XMPP_NS_STANZAS "'/></error></message>", id, from, to, condition);

  stanza_bytes (d, xml, strlen (xml));
}

/* ---- records ------------------------------------------------------- */

static void
link_change (Driver *d, gboolean up)
{
  g_autoptr (GPtrArray) actions = stox_actions_new ();

  d->link_up = up;
  stox_gateway_on_link (d->gw, up, 5, d->now, actions);
  execute (d, actions);
}

static guint64
number (const char *s, guint64 fallback)
{
  char *end = NULL;
  guint64 v;

  if (s == NULL)
    return fallback;
  v = g_ascii_strtoull (s, &end, 10);
  return end == s ? fallback : v;
}

static void
control (Driver *d, const char *line)
{
  g_auto (GStrv) w = g_strsplit_set (line, " \t\r", 4);
  guint n = g_strv_length (w);

  if (n == 0)
    return;
  if (strcmp (w[0], "!tick") == 0)
    {
      d->now += (gint64) MIN (number (n > 1 ? w[1] : NULL, 1000), TICK_MAX_MS) * 1000;
      run_timers (d);
    }
  else if (strcmp (w[0], "!down") == 0)
    link_change (d, FALSE);
  else if (strcmp (w[0], "!up") == 0)
    link_change (d, TRUE);
  else if (strcmp (w[0], "!source") == 0 && n > 1)
    {
      g_free (d->source);
      d->source = g_strdup (w[1]);
    }
  else if (strcmp (w[0], "!respond") == 0 && n > 1)
    {
      guint status = (guint) MIN (number (w[1], 200), 999);

      if (status >= 200)
        answer_outgoing (d, (guint) number (n > 2 ? w[2] : NULL, 0), status, "Fuzz", -1);
    }
  else if (strcmp (w[0], "!bounce") == 0 && n > 1)
    bounce (d, w[1], (guint) number (n > 2 ? w[2] : NULL, 0));
}

static void
record (Driver *d, const char *p, gsize len, StoxFuzzRecordKind kind)
{
  run_timers (d);
  if (tracing ())
    {
      const char *nl = memchr (p, '\n', len);

      g_printerr ("[t=%" G_GINT64_FORMAT " ms] %.*s\n", (d->now - T0) / 1000,
                  (int) (nl != NULL ? nl - p : (gssize) len), p);
    }
  if (len >= 5 && memcmp (p, "!sip\n", 5) == 0)
    sip_bytes (d, p + 5, len - 5);
  else if (len >= 5 && memcmp (p, "!xml\n", 5) == 0)
    stanza_bytes (d, p + 5, len - 5);
  else if (len > 0 && p[0] == '!')
    {
      const char *nl = memchr (p, '\n', len);
      g_autofree char *line = g_strndup (p, nl != NULL ? (gsize) (nl - p) : len);

      control (d, line);
    }
  else if (kind == STOX_FUZZ_RECORD_SIP)
    sip_bytes (d, p, len);
  else
    stanza_bytes (d, p, len);
  d->now += RECORD_US;
}

void
stox_fuzz_driver_run (const guint8      *data,
                      gsize              size,
                      StoxFuzzRecordKind default_kind)
{
  static const char *const xmpp_domains[] = { "xmpp.test", NULL };
  static const char *const trusted[] = { "127.0.0.1/32", "::1/128", NULL };
  StoxGatewayConfig config = {
    .sip_domain = "sip.test",
    .component = "sip.test",
    .xmpp_domains = xmpp_domains,
    .trusted_peers = trusted,
    .bounce_wait_ms = 250,
    .instance = "f",
    .max_pending = 64,
  };
  g_autoptr (GError) error = NULL;
  Driver d = { 0 };
  const char *p = (const char *) data;
  const char *end = p + size;
  guint records = 0;

  stox_fuzz_init_logging ();
  d.gw = stox_gateway_new (&config, stox_fuzz_shipped_rules (), &error);
  if (d.gw == NULL)
    stox_fuzz_fail ("stox_gateway_new: %s", error->message);
  d.now = T0;
  d.source = g_strdup ("127.0.0.1");
  d.next_token = 1000000;
  d.open = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  d.outgoing = g_array_new (FALSE, FALSE, sizeof (Outgoing));
  d.server_dialogs = g_array_new (FALSE, FALSE, sizeof (StoxToken));
  d.client_dialogs = g_array_new (FALSE, FALSE, sizeof (StoxToken));
  d.sent = g_ptr_array_new_with_free_func ((GDestroyNotify) sent_free);
  link_change (&d, TRUE);

  while (p < end && records++ < RECORDS_MAX)
    {
      /* memmem: the input may hold NULs. */
      const char *sep = memmem (p, (size_t) (end - p), "\n%%\n", 4);
      const char *rec_end = sep != NULL ? sep + 1 : end;

      record (&d, p, (gsize) (rec_end - p), default_kind);
      p = sep != NULL ? sep + 4 : end;
    }

  /* A graceful stop answers whatever is still held (gateway.h). */
  {
    g_autoptr (GPtrArray) actions = stox_actions_new ();

    stox_gateway_on_shutdown (d.gw, d.now, actions);
    execute (&d, actions);
  }
  if (g_hash_table_size (d.open) > 0)
    {
      GHashTableIter it;
      gpointer key, method;

      g_hash_table_iter_init (&it, d.open);
      g_hash_table_iter_next (&it, &key, &method);
      stox_fuzz_fail ("%u SIP request(s) never answered, e.g. %" G_GUINT64_FORMAT
                      " (method %d)", g_hash_table_size (d.open), *(StoxToken *) key,
                      GPOINTER_TO_INT (method));
    }

  stox_gateway_free (d.gw);
  g_free (d.source);
  g_hash_table_unref (d.open);
  g_array_unref (d.outgoing);
  g_array_unref (d.server_dialogs);
  g_array_unref (d.client_dialogs);
  g_ptr_array_unref (d.sent);
}
