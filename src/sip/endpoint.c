/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sofia-SIP's transaction layer (nta) on the default GLib main context,
 * translating its events into core events and core actions into requests
 * and responses.  No mapping policy lives here: every request the
 * application may answer goes to the core, and the core's answer goes back
 * unchanged.
 *
 * Why nta and not nua.  nua (Sofia's user agent layer, on top of nta) runs
 * subscriptions itself, and 1.12.11 cannot be told not to: an in-dialog
 * SUBSCRIBE is answered 200 by nua_subscribe_server_preprocess() before
 * NUTAG_APPL_METHOD("SUBSCRIBE") is consulted, followed by a copy of the
 * last NOTIFY; a NOTIFY in a subscription is answered 200 by
 * nua_notify_server_preprocess() (so a bad PIDF could never get its 400);
 * the notifier usage sends "terminated;reason=timeout" on its own expiry
 * timer and rewrites the expires= of every NOTIFY from its own clock; the
 * subscriber usage re-SUBSCRIBEs on its own refresh timer.  The core owns
 * all of that (expiry, refresh, NOTIFY content), so dialogs are kept here,
 * with nta legs, and nothing is sent that the core did not ask for.
 *
 * Threading: su_glib_root() makes the su_root a GSource on the default
 * context; every callback runs in the loop's thread.
 */
#include "config.h"

#include <string.h>

#include "sip/endpoint.h"
#include "sip/convert.h"
#include "sip/fifo-timer.h"

G_DEFINE_QUARK (stox-sip-endpoint-error-quark, stox_sip_endpoint_error)

/* Methods the gateway implements; every response carries this as Allow,
 * and other methods are answered here: 405 for the ones SIP defines
 * (INVITE, REGISTER, …), 501 for unknown ones (RFC 3261 §8.2.1). */
#define ALLOWED_METHODS "MESSAGE, SUBSCRIBE, NOTIFY, OPTIONS"

/* The event packages the gateway serves (RFC 6665 §8.2.2); an initial
 * SUBSCRIBE for another gets 489 here. */
#define ALLOWED_EVENTS "presence"

/* An incoming request the core has not answered after 64×T1 (when any
 * UDP client has given up, RFC 3261 §17.1.2.2) is answered 500 here, so a
 * lost answer cannot pin the transaction, and its memory, for ever. */
#define UNANSWERED_LIMIT_MS 32000

/* After an accepted unsubscribe (or fetch) the notifier sends a final
 * NOTIFY (RFC 6665 §4.4.1); one that never comes releases the dialog after
 * 64×T1. */
#define UNSUBSCRIBE_LINGER_S 32

/* How long shutdown waits for the final responses to the NOTIFYs and
 * SUBSCRIBEs the core sent before it (its goodbyes); below the daemon's
 * own stop deadline (4.5 s), and long enough for three UDP
 * retransmissions (0.5 s, 1.5 s, 3.5 s would be the fourth). */
#define SHUTDOWN_LIMIT_MS 3000

/* nta_agent_create() without transports (Sofia's private NONE): they are
 * added after the default leg exists. */
#define NO_TRANSPORT ((url_string_t const *) (intptr_t) -1)

/* Socket buffers asked for on UDP transports. */
#define STOX_SIP_UDP_BUFFER (8u * 1024 * 1024)

/* The local CSeq of a server dialog (RFC 3261 §8.1.1.5, §12.2.1.1): the
 * value before our first NOTIFY (nta numbers from the one after; 0 would
 * make it pick its own), the block reserved in the saved state ahead of
 * use, and the largest value allowed (CSeq MUST be below 2^31). */
#define CSEQ_FIRST 1u
#define CSEQ_BLOCK 100u
#define CSEQ_MAX   ((guint32) G_MAXINT32)

/* A saved dialog state: this prefix (its version), then the GVariant text
 * of STATE_TYPE; see state_format().  Longer texts are refused unread. */
#define STATE_PREFIX "v1 "
#define STATE_TYPE   "(ayayayayaayuuayay)"
#define STATE_MAX    (256u * 1024)

/* Sofia passes NULL phrases now and then; printf must not see them. */
#define PHRASE(p) ((p) != NULL ? (p) : "")

/* The Sofia logs we redirect (default, nta, tport), each with its own
 * partial-line buffer. */
#define N_SOFIA_LOGS 3

typedef struct
{
  su_log_t        *log;
  const char      *name;
  GString         *line;
  StoxSipEndpoint *ep;
} SofiaLog;

typedef enum
{
  DIALOG_NONE,    /* the default leg: every request outside a dialog */
  DIALOG_SERVER,  /* a SIP watcher subscribed to us; we NOTIFY */
  DIALOG_CLIENT,  /* we subscribed to a SIP user; it NOTIFYs */
} DialogKind;

/* A subscription dialog (RFC 6665): an nta leg, which nta matches to
 * in-dialog requests and which fills Call-ID, tags, CSeq and the route set
 * of the requests we send in it.  Also the magic of the default leg. */
typedef struct _StoxSipDialog StoxSipDialog;

struct _StoxSipDialog
{
  StoxSipEndpoint *ep;
  DialogKind       kind;
  StoxToken        id;
  nta_leg_t       *leg;
  char            *event_type;   /* the subscription's Event package */
  char            *event_id;     /* its id parameter, or NULL */
  char            *target_uri;   /* client: Request-URI until the peer's Contact */
  gboolean         established;  /* client: the notifier's tag is known */
  gboolean         terminating;  /* server: a terminated NOTIFY is on its way */
  StoxFifoTimerEntry linger;     /* client: unsubscribed, awaiting the final NOTIFY */

  /* Server: what its saved state needs beyond the leg's own getters
   * (target, remote CSeq), as the initial SUBSCRIBE and our 2xx had it. */
  char            *call_id;
  char            *local;        /* our To, with our tag */
  char            *remote;       /* the watcher's From, with its tag */
  GStrv            routes;       /* the initial SUBSCRIBE's Record-Route entries */
  guint32          ceiling;      /* local CSeq reserved in the state so far */
  gboolean         end_told;     /* its end was reported, or must not be */
};

/* One transaction the core knows by token.  Also the magic of client
 * transactions, so their responses find it. */
typedef struct _StoxSipOp StoxSipOp;

struct _StoxSipOp
{
  StoxSipEndpoint *ep;
  StoxToken        token;        /* SUBSCRIBE we sent: its dialog */
  StoxSipMethod    method;
  nta_incoming_t  *irq;          /* an incoming request */
  nta_outgoing_t  *orq;          /* a request we sent */
  DialogKind       dialog_kind;  /* the dialog it belongs to, by id: the */
  StoxToken        dialog;       /* dialog may be gone when it completes */
  gboolean         initial;      /* SUBSCRIBE we sent that created its dialog */
  gboolean         terminates;   /* NOTIFY terminated; SUBSCRIBE we sent with Expires: 0 */
  StoxFifoTimerEntry unanswered; /* incoming: in ep->unanswered until answered */
};

struct _StoxSipEndpoint
{
  su_root_t          *root;
  GSource            *source;
  gboolean            su_initialised;
  su_home_t          *home;              /* allow, proxy */
  nta_agent_t        *agent;
  StoxSipDialog      *no_dialog;         /* owner of the default leg */
  sip_allow_t        *allow;
  url_t              *proxy;             /* outbound proxy, or NULL */

  StoxSipRequestFunc  on_request;
  StoxSipResponseFunc on_response;
  gpointer            user_data;
  StoxSipDialogFunc   dialog_func;       /* server dialogs' saved states */
  gpointer            dialog_data;

  char               *user_agent;
  char               *bound_configured;  /* host:port from the listen URL */
  char               *bound_actual;      /* from the stack, once it told us */

  GHashTable         *server_ops;        /* &op->token → StoxSipOp, incoming */
  GHashTable         *client_ops;        /* &op->token → StoxSipOp, MESSAGE/NOTIFY */
  GHashTable         *subscribe_ops;     /* StoxSipOp set: SUBSCRIBEs we sent */
  GHashTable         *server_dialogs;    /* &dlg->id → StoxSipDialog */
  GHashTable         *client_dialogs;    /* &dlg->id → StoxSipDialog */
  StoxToken           last_token;
  gboolean            sending;           /* inside nta_outgoing_tcreate() */
  GArray             *restored;          /* StoxToken: dialogs to reserve CSeqs for */
  guint               restored_idle;

  gboolean            shutting_down;
  gboolean            shutdown_final;    /* `done` is due */
  GSourceFunc         done;
  gpointer            done_data;
  guint               done_idle;
  guint               shutdown_timer;

  /* One delay each, so one queue each (fifo-timer.h): incoming requests
   * the core has not answered yet, and client dialogs awaiting their final
   * NOTIFY after an unsubscribe. */
  StoxFifoTimer      *unanswered;        /* StoxSipOp */
  StoxFifoTimer      *lingering;         /* StoxSipDialog */

  /* Final responses reported from an idle callback: failures before the
   * stack, and anything that would otherwise reach the core re-entrantly. */
  GQueue              reports;           /* StoxSipResponse, owning phrase */
  guint               report_idle;

  /* While the stack starts: the last nta/tport line, which says why a
   * start failed ("bind(…): Address already in use"). */
  gboolean            keep_start_error;
  char               *start_error;

  SofiaLog            logs[N_SOFIA_LOGS];
};

/* ------------------------------------------------------------------ */
/* Sofia's logs into g_log                                             */

/* Sofia's logger gets no level, only text; its real errors say so in
 * words.  Everything else is protocol chatter for --log-level=debug. */
static GLogLevelFlags
sofia_line_level (const char *line)
{
  if (strstr (line, "FATAL") != NULL || strstr (line, "ERROR") != NULL)
    return G_LOG_LEVEL_WARNING;
  return G_LOG_LEVEL_DEBUG;
}

static void
sofia_log_emit (SofiaLog   *sl,
                const char *line)
{
  StoxSipEndpoint *ep = sl->ep;

  if (ep->keep_start_error && (sl->log == nta_log || sl->log == tport_log))
    {
      size_t skip = strlen (sl->name);

      /* Sofia prefixes its own name ("nta: bind(…)"). */
      if (strncmp (line, sl->name, skip) == 0 && strncmp (line + skip, ": ", 2) == 0)
        skip += 2;
      else
        skip = 0;
      g_free (ep->start_error);
      ep->start_error = g_strdup (line + skip);
    }
  g_log_structured (G_LOG_DOMAIN, sofia_line_level (line),
                    "SOFIA_LOG", sl->name,
                    "MESSAGE", "%s: %s", sl->name, line);
}

/* Sofia writes a line in several calls; emit whole lines only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void
sofia_log_cb (void       *stream,
              char const *fmt,
              va_list     ap)
{
  SofiaLog *sl = stream;
  char *nl;

  g_string_append_vprintf (sl->line, fmt, ap);
  while ((nl = strchr (sl->line->str, '\n')) != NULL)
    {
      *nl = '\0';
      sofia_log_emit (sl, sl->line->str);
      g_string_erase (sl->line, 0, (gssize) (nl - sl->line->str) + 1);
    }
}
#pragma GCC diagnostic pop

static void
sofia_logs_redirect (StoxSipEndpoint *ep)
{
  static const char *const names[N_SOFIA_LOGS] = { "sofia", "nta", "tport" };
  su_log_t *const logs[N_SOFIA_LOGS] = { su_log_default, nta_log, tport_log };

  for (guint i = 0; i < N_SOFIA_LOGS; i++)
    {
      ep->logs[i].log = logs[i];
      ep->logs[i].name = names[i];
      ep->logs[i].line = g_string_new (NULL);
      ep->logs[i].ep = ep;
      su_log_redirect (logs[i], sofia_log_cb, &ep->logs[i]);
    }
}

static void
sofia_logs_restore (StoxSipEndpoint *ep)
{
  for (guint i = 0; i < N_SOFIA_LOGS; i++)
    {
      SofiaLog *sl = &ep->logs[i];

      if (sl->line == NULL)
        continue;
      su_log_redirect (sl->log, NULL, NULL);
      if (sl->line->len > 0)
        sofia_log_emit (sl, sl->line->str);
      g_string_free (sl->line, TRUE);
      sl->line = NULL;
    }
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

/* "host:port" of a URL, with the scheme's default port (RFC 3261 §19.1.2). */
static char *
url_hostport (url_t const *url)
{
  const char *port = url->url_port;

  if (url->url_host == NULL)
    return NULL;
  if (port == NULL || port[0] == '\0')
    port = url->url_type == url_sips ? "5061" : "5060";
  return g_strdup_printf ("%s:%s", url->url_host, port);
}

/* Our Contact (RFC 3261 §8.1.1.8, §12.1.1): dialog-creating requests and
 * their 2xx, target refreshes, OPTIONS 2xx. */
static sip_contact_t const *
our_contact (StoxSipEndpoint *ep)
{
  return nta_agent_contact (ep->agent);
}

/* ------------------------------------------------------------------ */
/* Reports from the loop                                               */

static void
report_free (gpointer data)
{
  StoxSipResponse *r = data;

  g_free (r->phrase);
  g_free (r);
}

static gboolean
run_reports (gpointer user_data)
{
  StoxSipEndpoint *ep = user_data;
  StoxSipResponse *r;

  ep->report_idle = 0;
  while ((r = g_queue_pop_head (&ep->reports)) != NULL)
    {
      ep->on_response (r, ep->user_data);
      report_free (r);
    }
  return G_SOURCE_REMOVE;
}

static void
report_later (StoxSipEndpoint       *ep,
              const StoxSipResponse *resp)
{
  StoxSipResponse *r = g_memdup2 (resp, sizeof *resp);

  r->phrase = g_strdup (PHRASE (resp->phrase));
  g_queue_push_tail (&ep->reports, r);
  if (ep->report_idle == 0)
    ep->report_idle = g_idle_add (run_reports, ep);
}

/* A request that failed before (or instead of) reaching the wire. */
static void
fail_locally (StoxSipEndpoint *ep,
              StoxToken        token,
              guint            status,
              const char      *phrase)
{
  StoxSipResponse resp = {
    .token = token, .status = status, .phrase = (char *) phrase,
    .expires = -1, .min_expires = -1,
  };

  report_later (ep, &resp);
}

/* ------------------------------------------------------------------ */
/* Dialogs                                                             */

static StoxSipDialog *
dialog_new (StoxSipEndpoint *ep,
            DialogKind       kind,
            StoxToken        id)
{
  StoxSipDialog *dlg = g_new0 (StoxSipDialog, 1);

  dlg->ep = ep;
  dlg->kind = kind;
  dlg->id = id;
  return dlg;
}

static void
dialog_free (StoxSipDialog *dlg)
{
  if (dlg == NULL)
    return;
  stox_fifo_timer_remove (dlg->ep->lingering, &dlg->linger);
  /* Transactions do not refer to their leg once created, so a dialog may
   * go while its last NOTIFY or SUBSCRIBE is still in flight. */
  if (dlg->leg != NULL)
    nta_leg_destroy (dlg->leg);
  g_free (dlg->event_type);
  g_free (dlg->event_id);
  g_free (dlg->target_uri);
  g_free (dlg->call_id);
  g_free (dlg->local);
  g_free (dlg->remote);
  g_strfreev (dlg->routes);
  g_free (dlg);
}

static GHashTable *
dialog_table_new (void)
{
  return g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                (GDestroyNotify) dialog_free);
}

static GHashTable *
dialogs_of (StoxSipEndpoint *ep,
            DialogKind       kind)
{
  return kind == DIALOG_SERVER ? ep->server_dialogs : ep->client_dialogs;
}

static StoxSipDialog *
dialog_lookup (StoxSipEndpoint *ep,
               DialogKind       kind,
               StoxToken        id)
{
  if (kind == DIALOG_NONE)
    return NULL;
  return g_hash_table_lookup (dialogs_of (ep, kind), &id);
}

/* ------------------------------------------------------------------ */
/* Saved states of server dialogs                                      */

/*
 * A SIP watcher's dialog outlives a crash of the daemon (endpoint.h): its
 * wire state goes to the daemon as one line of text and comes back to
 * stox_sip_endpoint_restore_dialog() in the next process.  Version 1 is
 * STATE_PREFIX ("v1 ") followed by the GVariant text format
 * (g_variant_print()) of a STATE_TYPE tuple:
 *
 *   ay   Call-ID
 *   ay   local address: our To as sent in the 2xx, with our tag
 *   ay   remote address: the watcher's From, with its tag
 *   ay   remote target: its current Contact URI ("" while it has none)
 *   aay  route set: the initial SUBSCRIBE's Record-Route entries, in order
 *   u    remote CSeq when saved (later requests only have higher ones)
 *   u    local CSeq reserved: NOTIFYs in the dialog stay at or below it
 *        until a higher value has been told
 *   ay   Event package
 *   ay   its id parameter ("" for none)
 *
 * e.g. v1 (b'a84b4c76e66710@pc33', b'<sip:alice@gw.example>;tag=1928301774',
 * b'"Bob" <sip:bob@biloxi.example>;tag=a6c85cf', b'sip:bob@192.0.2.4',
 * [b'<sip:p1.example;lr>'], 314159, 101, b'presence', b'')
 *
 * Byte strings (ay) rather than strings (s): a header value may carry any
 * byte but NUL, and the text format escapes the unprintable ones (\377),
 * so a state is ASCII on one line whatever the watcher sent.  Reading one
 * back is as strict as reading a message: the exact type, each header
 * parsed by Sofia again, no CR or LF; another version, or anything else,
 * is refused whole.
 */

/* The remote target (RFC 3261 §12.2.1.1) as text, or NULL. */
static char *
leg_target_text (nta_leg_t *leg)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  sip_contact_t const *target = NULL;
  char *text = NULL;

  if (nta_leg_get_route (leg, NULL, &target) == 0 && target != NULL)
    text = g_strdup (url_as_string (home, target->m_url));
  su_home_deinit (home);
  return text;
}

static char *
state_format (StoxSipDialog *dlg)
{
  static const char *const no_routes[] = { NULL };
  g_autofree char *target = leg_target_text (dlg->leg);
  const char *const *routes = dlg->routes != NULL ? (const char *const *) dlg->routes
                                                  : no_routes;
  g_autoptr (GVariant) state = NULL;
  g_autofree char *text = NULL;

  state = g_variant_ref_sink (g_variant_new ("(^ay^ay^ay^ay@aayuu^ay^ay)",
                                             dlg->call_id, dlg->local, dlg->remote,
                                             target != NULL ? target : "",
                                             g_variant_new_bytestring_array (routes, -1),
                                             (guint32) nta_leg_get_rseq (dlg->leg),
                                             dlg->ceiling, dlg->event_type,
                                             dlg->event_id != NULL ? dlg->event_id : ""));
  text = g_variant_print (state, FALSE);
  return g_strconcat (STATE_PREFIX, text, NULL);
}

/* Tells the daemon a server dialog's state; client dialogs are not kept. */
static void
dialog_report (StoxSipDialog *dlg)
{
  StoxSipEndpoint *ep = dlg->ep;

  if (dlg->kind != DIALOG_SERVER || dlg->end_told || ep->dialog_func == NULL)
    return;

  g_autofree char *state = state_format (dlg);
  ep->dialog_func (dlg->id, state, ep->dialog_data);
}

/* …and that it is over, once. */
static void
dialog_report_end (StoxSipDialog *dlg)
{
  StoxSipEndpoint *ep = dlg->ep;

  if (dlg->kind != DIALOG_SERVER || dlg->end_told)
    return;
  dlg->end_told = TRUE;
  if (ep->dialog_func != NULL)
    ep->dialog_func (dlg->id, NULL, ep->dialog_data);
}

/* Before the NOTIFY numbered `next` goes out (RFC 3261 §8.1.1.5: CSeq
 * values only grow in a dialog, even across our restart).  Once `next`
 * is in the second half of the reserved block, the block after it is
 * reserved in the state; so the saved ceiling stays above every CSeq
 * sent provided the daemon's write lands within half a block (50 more
 * NOTIFYs in this dialog). */
static void
dialog_reserve_cseq (StoxSipDialog *dlg,
                     guint32        next)
{
  if ((guint64) next + CSEQ_BLOCK / 2 < dlg->ceiling || dlg->ceiling >= CSEQ_MAX)
    return;
  dlg->ceiling = (guint32) MIN ((guint64) MAX (dlg->ceiling, next) + CSEQ_BLOCK,
                                (guint64) CSEQ_MAX);
  dialog_report (dlg);
}

/* A saved state read back: text only, nothing checked beyond its shape. */
typedef struct
{
  char    *call_id;
  char    *local;
  char    *remote;
  char    *target;       /* NULL: none */
  GStrv    routes;
  guint32  remote_cseq;
  guint32  local_cseq;
  char    *event_type;
  char    *event_id;     /* NULL: none */
} DialogState;

static void
dialog_state_clear (DialogState *st)
{
  g_free (st->call_id);
  g_free (st->local);
  g_free (st->remote);
  g_free (st->target);
  g_strfreev (st->routes);
  g_free (st->event_type);
  g_free (st->event_id);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DialogState, dialog_state_clear)

/* Field `i` of the state, a byte string, as a C string: NUL-terminated
 * with no other NUL and no line break (no header value has one); NULL
 * when it is not, or when empty and `may_be_empty` is FALSE. */
static char *
state_bytes (GVariant *state,
             gsize     i,
             gboolean  may_be_empty,
             gboolean *ret_ok)
{
  g_autoptr (GVariant) v = g_variant_get_child_value (state, i);
  gsize len = 0;
  const char *data = g_variant_get_fixed_array (v, &len, 1);

  if (len == 0 || data[len - 1] != '\0' || memchr (data, '\0', len - 1) != NULL
      || strpbrk (data, "\r\n") != NULL || (len == 1 && !may_be_empty))
    {
      *ret_ok = FALSE;
      return NULL;
    }
  return len > 1 ? g_strdup (data) : NULL;
}

/* The shape of a saved state (see above); its headers are checked by the
 * caller, with Sofia's parser. */
static gboolean
state_parse (const char  *text,
             DialogState *st,
             GError     **error)
{
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (GVariant) state = NULL;
  g_autoptr (GVariant) routes = NULL;
  gboolean ok = TRUE;

  if (text == NULL || !g_str_has_prefix (text, STATE_PREFIX))
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE,
                   "not a version 1 dialog state");
      return FALSE;
    }
  if (strlen (text) > STATE_MAX)
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE,
                   "dialog state longer than %u bytes", STATE_MAX);
      return FALSE;
    }
  state = g_variant_parse (G_VARIANT_TYPE (STATE_TYPE), text + strlen (STATE_PREFIX),
                           NULL, NULL, &parse_error);
  if (state == NULL)
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE,
                   "unreadable dialog state: %s", parse_error->message);
      return FALSE;
    }

  st->call_id = state_bytes (state, 0, FALSE, &ok);
  st->local = state_bytes (state, 1, FALSE, &ok);
  st->remote = state_bytes (state, 2, FALSE, &ok);
  st->target = state_bytes (state, 3, TRUE, &ok);
  routes = g_variant_get_child_value (state, 4);
  st->routes = g_new0 (char *, g_variant_n_children (routes) + 1);
  for (gsize i = 0; i < g_variant_n_children (routes); i++)
    st->routes[i] = state_bytes (routes, i, FALSE, &ok);
  g_variant_get_child (state, 5, "u", &st->remote_cseq);
  g_variant_get_child (state, 6, "u", &st->local_cseq);
  st->event_type = state_bytes (state, 7, FALSE, &ok);
  st->event_id = state_bytes (state, 8, TRUE, &ok);
  if (!ok)
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE,
                   "dialog state with an empty or malformed field");
      return FALSE;
    }
  return TRUE;
}

static void
dialog_forget (StoxSipDialog *dlg)
{
  g_debug ("%s dialog %" G_GUINT64_FORMAT " ends",
           dlg->kind == DIALOG_SERVER ? "server" : "client", dlg->id);
  dialog_report_end (dlg);
  g_hash_table_remove (dialogs_of (dlg->ep, dlg->kind), &dlg->id);
}

static void
dialog_set_event (StoxSipDialog     *dlg,
                  sip_event_t const *o,
                  const char        *fallback)
{
  g_free (dlg->event_type);
  g_free (dlg->event_id);
  dlg->event_type = g_strdup (o != NULL && o->o_type != NULL ? o->o_type : fallback);
  dlg->event_id = g_strdup (o != NULL ? o->o_id : NULL);
}

/* An Event header value: package and id (RFC 6665 §8.2.1). */
static char *
event_text (const char *type,
            const char *id)
{
  if (id != NULL)
    return g_strdup_printf ("%s;id=%s", type, id);
  return g_strdup (type);
}

/* The Event header of our requests in the dialog: the subscription's. */
static char *
dialog_event (StoxSipDialog *dlg)
{
  return event_text (dlg->event_type, dlg->event_id);
}

/* Whether an in-dialog request is about this dialog's subscription: event
 * packages compare case-sensitively, ids too (RFC 6665 §8.2.1, §4.1.2). */
static gboolean
dialog_event_matches (StoxSipDialog     *dlg,
                      sip_event_t const *o)
{
  if (o == NULL || o->o_type == NULL || g_strcmp0 (o->o_type, dlg->event_type) != 0)
    return FALSE;
  /* Our own SUBSCRIBEs carry no id; a notifier may still add one. */
  if (dlg->kind == DIALOG_CLIENT && dlg->event_id == NULL)
    return TRUE;
  return g_strcmp0 (o->o_id, dlg->event_id) == 0;
}

static void
dialog_linger_expired (gpointer item,
                       gpointer user_data)
{
  StoxSipDialog *dlg = item;

  (void) user_data;
  g_debug ("client dialog %" G_GUINT64_FORMAT ": no final NOTIFY within %u s",
           dlg->id, UNSUBSCRIBE_LINGER_S);
  dialog_forget (dlg);
}

/* ------------------------------------------------------------------ */
/* Transactions                                                        */

static StoxSipOp *
op_new (StoxSipEndpoint *ep,
        StoxToken        token,
        StoxSipMethod    method)
{
  StoxSipOp *op = g_new0 (StoxSipOp, 1);

  op->ep = ep;
  op->token = token;
  op->method = method;
  return op;
}

static void
op_free (StoxSipOp *op)
{
  if (op == NULL)
    return;
  stox_fifo_timer_remove (op->ep->unanswered, &op->unanswered);
  /* An incoming transaction destroyed unanswered gets 500 from nta; an
   * outgoing one runs on to its end without us. */
  if (op->irq != NULL)
    nta_incoming_destroy (op->irq);
  if (op->orq != NULL)
    nta_outgoing_destroy (op->orq);
  g_free (op);
}

static GHashTable *
op_table_new (void)
{
  return g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                (GDestroyNotify) op_free);
}

static guint
dialog_ops_in_flight (StoxSipEndpoint *ep)
{
  return g_hash_table_size (ep->client_ops) + g_hash_table_size (ep->subscribe_ops);
}

/* ------------------------------------------------------------------ */
/* Incoming requests                                                   */

static char *
request_source (nta_incoming_t *irq)
{
  msg_t *msg = nta_incoming_getrequest (irq);
  su_addrinfo_t *ai = msg != NULL ? msg_addrinfo (msg) : NULL;
  char *text = NULL;

  if (ai != NULL && ai->ai_addr != NULL)
    text = stox_sip_convert_address (ai->ai_addr, (socklen_t) ai->ai_addrlen);
  if (msg != NULL)
    msg_destroy (msg);
  return text;
}

/* Answers a request at once (no core involved); the return value is for
 * the leg callback, which makes nta release the transaction. */
static int
answer_now (StoxSipEndpoint *ep,
            nta_incoming_t  *irq,
            int              status,
            const char      *phrase)
{
  nta_incoming_treply (irq, status, phrase,
                       SIPTAG_SERVER_STR (ep->user_agent),
                       SIPTAG_ALLOW (ep->allow),
                       TAG_IF (status == 489, SIPTAG_ALLOW_EVENTS_STR (ALLOWED_EVENTS)),
                       TAG_END ());
  return status;
}

/* A request the core never answered gets 500 (it must get something,
 * RFC 3261 §8.2.6), and a warning: that is a gateway bug. */
static void
expire_unanswered (gpointer item,
                   gpointer user_data)
{
  StoxSipOp *op = item;
  StoxSipEndpoint *ep = user_data;

  g_warning ("request %" G_GUINT64_FORMAT " not answered within %u ms; answering 500",
             op->token, stox_fifo_timer_delay_ms (ep->unanswered));
  stox_sip_endpoint_respond (ep, op->token, SIP_500_INTERNAL_SERVER_ERROR,
                             0, NULL, NULL, NULL, -1, -1);
}

/* What the stack can answer without the core (RFC 3261 §8.2.1–§8.2.2,
 * §12.2.2, RFC 6665 §4.1.3, §4.2.1.1); 0 when the request is for the core.
 * `in` is the dialog the request belongs to for the core, or NULL. */
static int
check_request (StoxSipDialog  *dlg,
               nta_incoming_t *irq,
               sip_t const    *sip,
               StoxSipDialog **ret_in)
{
  StoxSipEndpoint *ep = dlg->ep;
  sip_method_t method = sip->sip_request->rq_method;
  int status;

  *ret_in = NULL;

  /* CANCEL concerns INVITE only, which we never accept; one that matched
   * a pending request was answered by nta already. */
  if (method == sip_method_cancel)
    return answer_now (ep, irq, SIP_481_NO_TRANSACTION);

  status = nta_check_method (irq, sip, ep->allow,
                             SIPTAG_SERVER_STR (ep->user_agent), TAG_END ());
  if (status != 0)
    return status;

  switch (sip->sip_request->rq_url->url_type)
    {
    case url_sip:
    case url_sips:
    case url_im:
    case url_pres:
    case url_tel:
      break;
    default:
      return answer_now (ep, irq, SIP_416_UNSUPPORTED_URI);
    }

  status = nta_check_required (irq, sip, NULL,
                               SIPTAG_SERVER_STR (ep->user_agent),
                               SIPTAG_ALLOW (ep->allow), TAG_END ());
  if (status != 0)
    return status;

  switch (dlg->kind)
    {
    case DIALOG_NONE:
      /* A request for a dialog we do not have (any more). */
      if (sip->sip_to->a_tag != NULL)
        return answer_now (ep, irq, SIP_481_NO_TRANSACTION);
      if (method == sip_method_subscribe
          && (sip->sip_event == NULL || g_strcmp0 (sip->sip_event->o_type, ALLOWED_EVENTS) != 0))
        return answer_now (ep, irq, SIP_489_BAD_EVENT);
      return 0;

    case DIALOG_SERVER:
      if (method == sip_method_notify)
        return answer_now (ep, irq, 481, "Subscription Does Not Exist");
      if (method != sip_method_subscribe)
        return 0;
      /* A terminated NOTIFY is on its way: the subscription is over. */
      if (!dialog_event_matches (dlg, sip->sip_event) || dlg->terminating)
        return answer_now (ep, irq, 481, "Subscription Does Not Exist");
      *ret_in = dlg;
      return 0;

    case DIALOG_CLIENT:
      if (method == sip_method_subscribe)
        return answer_now (ep, irq, 481, "Subscription Does Not Exist");
      if (method != sip_method_notify)
        return 0;
      if (!dialog_event_matches (dlg, sip->sip_event))
        return answer_now (ep, irq, 481, "Subscription Does Not Exist");
      *ret_in = dlg;
      return 0;
    }
  return 0;
}

/* Every request, in a dialog or not (`dlg` of kind DIALOG_NONE). */
static int
on_leg_request (StoxSipDialog  *dlg,
                nta_leg_t      *leg,
                nta_incoming_t *irq,
                sip_t const    *sip)
{
  StoxSipEndpoint *ep = dlg->ep;
  StoxSipDialog *in = NULL;
  int status;

  /* ACKs to our error answers to INVITE are nta's; a stray one is
   * dropped (RFC 3261 §17.2.3). */
  if (sip->sip_request->rq_method == sip_method_ack)
    {
      nta_incoming_destroy (irq);
      return 0;
    }

  status = check_request (dlg, irq, sip, &in);
  if (status != 0)
    {
      g_debug ("%s answered by the stack: %d", sip->sip_request->rq_method_name, status);
      return status;
    }

  g_autofree char *source = request_source (irq);

  if (ep->shutting_down)
    return answer_now (ep, irq, SIP_503_SERVICE_UNAVAILABLE);

  /* Bounded input: a body this large is refused before anyone copies it. */
  if (sip->sip_payload != NULL && sip->sip_payload->pl_len > STOX_SIP_MAX_BODY)
    {
      g_info ("%s from %s: body of %zu bytes refused (413)",
              sip->sip_request->rq_method_name, source != NULL ? source : "?",
              (size_t) sip->sip_payload->pl_len);
      return answer_now (ep, irq, SIP_413_REQUEST_TOO_LARGE);
    }

  if (in != NULL && in->kind == DIALOG_CLIENT && !in->established)
    {
      /* The first NOTIFY establishes the dialog, before or without the
       * 2xx (RFC 6665 §4.1.2.4): its tag and route set, as a UAS. */
      nta_leg_rtag (leg, sip->sip_from->a_tag);
      nta_leg_server_route (leg, sip->sip_record_route, sip->sip_contact);
      in->established = TRUE;
    }
  else if (in != NULL)
    {
      /* A target refresh (RFC 6665 §4.1.2.4, §4.2.1.1): a new Contact,
       * which a server dialog's saved state follows. */
      gboolean saved = in->kind == DIALOG_SERVER;
      g_autofree char *before = saved ? leg_target_text (leg) : NULL;

      nta_leg_server_route (leg, NULL, sip->sip_contact);
      if (saved)
        {
          g_autofree char *after = leg_target_text (leg);

          if (g_strcmp0 (before, after) != 0)
            dialog_report (in);
        }
    }

  g_autoptr (StoxSipRequest) req = stox_sip_convert_request (sip);
  StoxSipOp *op = op_new (ep, ++ep->last_token, req->method);

  op->irq = irq;
  if (in != NULL)
    {
      op->dialog_kind = in->kind;
      op->dialog = in->id;
      op->terminates = req->method == STOX_SIP_METHOD_NOTIFY
                       && g_strcmp0 (req->substate, "terminated") == 0;
    }
  stox_fifo_timer_add (ep->unanswered, &op->unanswered, op);
  g_hash_table_insert (ep->server_ops, &op->token, op);

  req->token = op->token;
  req->dialog = op->dialog;
  req->source = g_steal_pointer (&source);
  g_debug ("request %" G_GUINT64_FORMAT ": %s %s from %s (dialog %" G_GUINT64_FORMAT ")",
           req->token, req->method_name, req->request_uri,
           req->source != NULL ? req->source : "?", req->dialog);
  /* May answer, and forget `dlg`, from inside: touch nothing after. */
  ep->on_request (req, ep->user_data);
  return 0;
}

/* The 2xx to an initial SUBSCRIBE creates the dialog (RFC 6665 §4.2.1):
 * local tag = the To-tag of our answer, remote = the watcher's From, its
 * Contact the target and its Record-Route the route set (RFC 3261
 * §12.1.1). */
static gboolean
server_dialog_create (StoxSipEndpoint *ep,
                      StoxSipOp       *op)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  msg_t *msg = nta_incoming_getrequest (op->irq);
  sip_t const *sip = sip_object (msg);
  const char *tag = nta_incoming_tag (op->irq, NULL);
  StoxSipDialog *dlg = dialog_new (ep, DIALOG_SERVER, op->token);
  sip_to_t *local = NULL;

  /* Our local CSeq starts where we say, so the state can reserve it. */
  if (sip != NULL && tag != NULL)
    dlg->leg = nta_leg_tcreate (ep->agent, on_leg_request, dlg,
                                SIPTAG_CALL_ID (sip->sip_call_id),
                                SIPTAG_FROM (sip->sip_to),
                                SIPTAG_TO (sip->sip_from),
                                NTATAG_REMOTE_CSEQ (sip->sip_cseq->cs_seq),
                                SIPTAG_CSEQ (sip_cseq_create (home, CSEQ_FIRST,
                                                              SIP_METHOD_NOTIFY)),
                                TAG_END ());
  if (dlg->leg != NULL && nta_leg_tag (dlg->leg, tag) != NULL)
    local = sip_to_dup (home, sip->sip_to);
  if (local == NULL || sip_to_tag (home, local, tag) < 0)
    {
      g_warning ("request %" G_GUINT64_FORMAT ": cannot create the dialog", op->token);
      dialog_free (dlg);
      if (msg != NULL)
        msg_destroy (msg);
      su_home_deinit (home);
      return FALSE;
    }
  nta_leg_server_route (dlg->leg, sip->sip_record_route, sip->sip_contact);
  dialog_set_event (dlg, sip->sip_event, ALLOWED_EVENTS);

  /* What its saved state needs later, when this request is gone. */
  GPtrArray *routes = g_ptr_array_new ();
  for (sip_record_route_t const *rr = sip->sip_record_route; rr != NULL; rr = rr->r_next)
    g_ptr_array_add (routes, g_strdup (sip_header_as_string (home, (sip_header_t const *) rr)));
  g_ptr_array_add (routes, NULL);
  dlg->routes = (GStrv) g_ptr_array_free (routes, FALSE);
  dlg->call_id = g_strdup (sip->sip_call_id->i_id);
  dlg->local = g_strdup (sip_header_as_string (home, (sip_header_t const *) local));
  dlg->remote = g_strdup (sip_header_as_string (home, (sip_header_t const *) sip->sip_from));
  dlg->ceiling = CSEQ_FIRST + CSEQ_BLOCK;

  g_hash_table_insert (ep->server_dialogs, &dlg->id, dlg);
  msg_destroy (msg);
  su_home_deinit (home);
  g_debug ("server dialog %" G_GUINT64_FORMAT " starts", dlg->id);
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Responses to our requests                                           */

static void
after_notify (StoxSipEndpoint *ep,
              StoxSipOp       *op,
              guint            status)
{
  StoxSipDialog *dlg = dialog_lookup (ep, DIALOG_SERVER, op->dialog);

  if (dlg != NULL && (op->terminates || stox_sip_status_ends_subscription (status, TRUE)))
    dialog_forget (dlg);
}

static void
after_subscribe (StoxSipEndpoint *ep,
                 StoxSipOp       *op,
                 guint            status,
                 sip_t const     *sip)
{
  StoxSipDialog *dlg = dialog_lookup (ep, DIALOG_CLIENT, op->dialog);

  if (dlg == NULL)
    return;

  if (status >= 300)
    {
      /* A failed initial SUBSCRIBE or unsubscribe leaves nothing to keep;
       * a failed refresh keeps the subscription unless the answer ends it
       * (RFC 6665 §4.1.2.2). */
      if (op->initial || op->terminates || stox_sip_status_ends_subscription (status, FALSE))
        dialog_forget (dlg);
      return;
    }

  if (!dlg->established && sip != NULL && sip->sip_to != NULL && sip->sip_to->a_tag != NULL)
    {
      nta_leg_rtag (dlg->leg, sip->sip_to->a_tag);
      nta_leg_client_reroute (dlg->leg, sip->sip_record_route, sip->sip_contact, 1);
      dlg->established = TRUE;
    }
  else if (sip != NULL)
    nta_leg_client_reroute (dlg->leg, NULL, sip->sip_contact, 0);

  stox_fifo_timer_remove (ep->lingering, &dlg->linger);
  if (op->terminates)
    stox_fifo_timer_add (ep->lingering, &dlg->linger, dlg);
}

static gboolean
run_done (gpointer user_data)
{
  StoxSipEndpoint *ep = user_data;

  ep->done_idle = 0;
  /* May free ep: touch nothing after. */
  if (ep->done != NULL)
    ep->done (ep->done_data);
  return G_SOURCE_REMOVE;
}

static void
shutdown_finish (StoxSipEndpoint *ep)
{
  if (ep->shutdown_final)
    return;
  ep->shutdown_final = TRUE;
  g_clear_handle_id (&ep->shutdown_timer, g_source_remove);
  if (ep->done_idle == 0)
    ep->done_idle = g_idle_add (run_done, ep);
}

static gboolean
shutdown_timeout (gpointer user_data)
{
  StoxSipEndpoint *ep = user_data;

  ep->shutdown_timer = 0;
  g_info ("SIP shutdown: %u requests still without a final response; leaving them",
          dialog_ops_in_flight (ep));
  shutdown_finish (ep);
  return G_SOURCE_REMOVE;
}

static int
on_response (StoxSipOp      *op,
             nta_outgoing_t *orq,
             sip_t const    *sip)
{
  StoxSipEndpoint *ep = op->ep;
  StoxSipResponse resp = { .expires = -1, .min_expires = -1 };

  if (!stox_sip_convert_response (sip, &resp))
    {
      resp.status = (guint) nta_outgoing_status (orq);
      resp.phrase = g_strdup (PHRASE (sip_status_phrase ((int) resp.status)));
    }
  if (resp.status < 200)
    {
      g_free (resp.phrase);
      return 0;
    }
  g_debug ("%s %" G_GUINT64_FORMAT ": %u %s", nta_outgoing_method_name (orq),
           op->token, resp.status, resp.phrase);
  /* Stack failures beyond SIP's range speak SIP to the core: 500. */
  if (resp.status >= 700)
    {
      resp.status = 500;
      g_free (resp.phrase);
      resp.phrase = g_strdup (sip_status_phrase (500));
    }
  resp.token = op->token;

  /* Out of the tables before the callback, so the core may reuse the
   * token at once; freed after, which releases the transaction. */
  if (op->method == STOX_SIP_METHOD_SUBSCRIBE)
    g_hash_table_steal (ep->subscribe_ops, op);
  else
    g_hash_table_steal (ep->client_ops, &op->token);

  if (op->method == STOX_SIP_METHOD_NOTIFY)
    after_notify (ep, op, resp.status);
  else if (op->method == STOX_SIP_METHOD_SUBSCRIBE)
    after_subscribe (ep, op, resp.status, sip);

  if (ep->sending)
    report_later (ep, &resp);
  else
    ep->on_response (&resp, ep->user_data);
  op_free (op);
  g_free (resp.phrase);

  if (ep->shutting_down && dialog_ops_in_flight (ep) == 0)
    shutdown_finish (ep);
  return 0;
}

/* ------------------------------------------------------------------ */
/* API                                                                 */

/* "host:port" of the listen URL, until the stack tells the real one. */
static char *
configured_hostport (const char *listen)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  url_t *url = url_make (home, listen);
  char *text = url != NULL ? url_hostport (url) : NULL;

  su_home_deinit (home);
  return text != NULL ? text : g_strdup (listen);
}

StoxSipEndpoint *
stox_sip_endpoint_new (const StoxSipEndpointConfig *config,
                       StoxSipRequestFunc           on_request,
                       StoxSipResponseFunc          on_response_fn,
                       gpointer                     user_data,
                       GError                     **error)
{
  g_return_val_if_fail (config != NULL && config->listen != NULL, NULL);
  g_return_val_if_fail (on_request != NULL && on_response_fn != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (StoxSipEndpoint) ep = g_new0 (StoxSipEndpoint, 1);

  ep->on_request = on_request;
  ep->on_response = on_response_fn;
  ep->user_data = user_data;
  ep->user_agent = g_strdup (config->user_agent != NULL ? config->user_agent
                                                        : "stox/" PACKAGE_VERSION);
  ep->bound_configured = configured_hostport (config->listen);
  ep->server_ops = op_table_new ();
  ep->unanswered = stox_fifo_timer_new ("stox-sip unanswered requests",
                                        config->unanswered_ms != 0 ? config->unanswered_ms
                                                                   : UNANSWERED_LIMIT_MS,
                                        expire_unanswered, ep);
  ep->lingering = stox_fifo_timer_new ("stox-sip unsubscribed dialogs",
                                       UNSUBSCRIBE_LINGER_S * 1000, dialog_linger_expired, ep);
  ep->client_ops = op_table_new ();
  ep->subscribe_ops = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) op_free);
  ep->server_dialogs = dialog_table_new ();
  ep->client_dialogs = dialog_table_new ();
  ep->restored = g_array_new (FALSE, FALSE, sizeof (StoxToken));
  g_queue_init (&ep->reports);

  /* Sofia reads the key and certificate from agent.pem (or tls.pem) in
   * this directory; without them it still listens, and every handshake
   * fails.  Say so now instead. */
  if (config->tls_dir != NULL)
    {
      g_autofree char *agent = g_build_filename (config->tls_dir, "agent.pem", NULL);
      g_autofree char *tls = g_build_filename (config->tls_dir, "tls.pem", NULL);

      if (!g_file_test (agent, G_FILE_TEST_IS_REGULAR)
          && !g_file_test (tls, G_FILE_TEST_IS_REGULAR))
        {
          g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_LISTEN,
                       "cannot listen on %s: no agent.pem in %s", config->listen,
                       config->tls_dir);
          return NULL;
        }
    }

  if (su_init () != 0)
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_INIT,
                   "cannot initialise Sofia-SIP");
      return NULL;
    }
  ep->su_initialised = TRUE;
  /* Before the stack exists, so that its start-up errors are captured. */
  sofia_logs_redirect (ep);

  ep->home = su_home_new (sizeof (su_home_t));
  ep->allow = ep->home != NULL ? sip_allow_make (ep->home, ALLOWED_METHODS) : NULL;
  if (ep->allow == NULL)
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_INIT,
                   "cannot initialise Sofia-SIP");
      return NULL;
    }
  if (config->outbound_proxy != NULL)
    {
      ep->proxy = url_hdup (ep->home, URL_STRING_MAKE (config->outbound_proxy)->us_url);
      if (ep->proxy == NULL || ep->proxy->url_host == NULL)
        {
          g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_INIT,
                       "bad outbound proxy %s", config->outbound_proxy);
          return NULL;
        }
    }

  ep->root = su_glib_root_create (ep);
  if (ep->root == NULL)
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_INIT,
                   "cannot create the Sofia-SIP event loop");
      return NULL;
    }
  su_root_threading (ep->root, 0);
  ep->source = su_glib_root_gsource (ep->root);
  /* GLib "blocks" a source that cannot recurse while dispatching it: it
   * takes the source's sockets out of the poll set and puts them back,
   * and each change writes the context's wake-up eventfd, which costs an
   * extra loop pass: four syscalls per dispatch, so per SIP datagram under
   * load.  Nothing here runs a nested loop, so allowing recursion only
   * skips that. */
  g_source_set_can_recurse (ep->source, TRUE);
  g_source_attach (ep->source, NULL);

  ep->keep_start_error = TRUE;
  /* As nua sets it up: a user agent (RFC 3261 §12.2.2 CSeq checks, 482
   * for merged requests, rport in our Via), transports added after. */
  ep->agent = nta_agent_create (ep->root, NO_TRANSPORT, NULL, NULL,
                                NTATAG_UA (1),
                                NTATAG_MERGE_482 (1),
                                NTATAG_CLIENT_RPORT (1),
                                TAG_END ());
  ep->no_dialog = dialog_new (ep, DIALOG_NONE, 0);
  if (ep->agent != NULL)
    ep->no_dialog->leg = nta_leg_tcreate (ep->agent, on_leg_request, ep->no_dialog,
                                          NTATAG_NO_DIALOG (1), TAG_END ());
  gboolean sips = g_ascii_strncasecmp (config->listen, "sips:", 5) == 0;
  gboolean listening = ep->no_dialog->leg != NULL
                       && nta_agent_add_tport (ep->agent, URL_STRING_MAKE (config->listen),
                                               TPTAG_IDENT (sips ? "sips" : "sip"),
                                               /* The kernel's default UDP buffer
                                                * (208 KiB) overflows from ~4000
                                                * MESSAGE/s (bench/README.md); the
                                                * kernel caps this at
                                                * net.core.rmem_max (stoxd(8)). */
                                               TPTAG_UDP_RMEM (STOX_SIP_UDP_BUFFER),
                                               TPTAG_UDP_WMEM (STOX_SIP_UDP_BUFFER),
                                               TAG_IF (config->tls_dir != NULL,
                                                       TPTAG_CERTIFICATE (config->tls_dir)),
                                               TAG_END ()) == 0;
  ep->keep_start_error = FALSE;
  if (!listening)
    {
      /* errno is long overwritten by then; Sofia's log line has the cause. */
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_LISTEN,
                   "cannot listen on %s: %s", config->listen,
                   ep->start_error != NULL ? ep->start_error : "the SIP stack did not start");
      return NULL;
    }
  g_clear_pointer (&ep->start_error, g_free);

  /* The bound address (port 0, "*") is known to the stack only. */
  sip_contact_t const *m = our_contact (ep);
  if (m != NULL)
    ep->bound_actual = url_hostport (m->m_url);

  return g_steal_pointer (&ep);
}

void
stox_sip_endpoint_respond (StoxSipEndpoint *ep,
                           StoxToken        token,
                           guint            status,
                           const char      *phrase,
                           guint            retry_after,
                           const char      *accept,
                           const char      *allow,
                           const char      *warning,
                           gint64           expires,
                           gint64           min_expires)
{
  g_return_if_fail (ep != NULL);
  g_return_if_fail (status >= 200 && status <= 699);

  StoxSipOp *op = g_hash_table_lookup (ep->server_ops, &token);
  if (op == NULL)
    {
      g_debug ("respond %u to unknown request %" G_GUINT64_FORMAT, status, token);
      return;
    }

  g_autofree char *retry = retry_after > 0 ? g_strdup_printf ("%u", retry_after) : NULL;
  g_autofree char *expires_text = expires >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, expires)
                                               : NULL;
  g_autofree char *min_text = min_expires >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, min_expires)
                                               : NULL;
  g_autofree char *warn = NULL;
  if (warning != NULL)
    warn = stox_sip_convert_warning (stox_sip_endpoint_get_bound (ep), warning);

  gboolean ok = status < 300;
  gboolean events = op->method == STOX_SIP_METHOD_SUBSCRIBE
                    || op->method == STOX_SIP_METHOD_OPTIONS;
  gboolean contact = ok && (events || op->method == STOX_SIP_METHOD_NOTIFY);
  gboolean created = FALSE;

  if (ok && op->method == STOX_SIP_METHOD_SUBSCRIBE && op->dialog_kind == DIALOG_NONE)
    {
      created = server_dialog_create (ep, op);
      if (!created)
        {
          status = 500;
          phrase = NULL;
          contact = FALSE;
          g_clear_pointer (&expires_text, g_free);
        }
    }

  if (phrase == NULL)
    phrase = sip_status_phrase ((int) status);
  /* nta formats and sends the response before it returns: unlike
   * nua_respond(), nothing here needs to outlive the call. */
  nta_incoming_treply (op->irq, (int) status, phrase,
                       SIPTAG_SERVER_STR (ep->user_agent),
                       TAG_IF (contact, SIPTAG_CONTACT (our_contact (ep))),
                       TAG_IF (expires_text != NULL, SIPTAG_EXPIRES_STR (expires_text)),
                       TAG_IF (min_text != NULL, SIPTAG_MIN_EXPIRES_STR (min_text)),
                       TAG_IF (retry != NULL, SIPTAG_RETRY_AFTER_STR (retry)),
                       TAG_IF (accept != NULL, SIPTAG_ACCEPT_STR (accept)),
                       /* Allow in every response (RFC 3261 §20.5 SHOULD). */
                       TAG_IF (allow != NULL, SIPTAG_ALLOW_STR (allow)),
                       TAG_IF (allow == NULL, SIPTAG_ALLOW (ep->allow)),
                       TAG_IF (events, SIPTAG_ALLOW_EVENTS_STR (ALLOWED_EVENTS)),
                       TAG_IF (warn != NULL, SIPTAG_WARNING_STR (warn)),
                       TAG_END ());
  g_debug ("request %" G_GUINT64_FORMAT ": answered %u", token, status);

  /* The 2xx is out: the dialog exists for the watcher too. */
  if (created)
    dialog_report (dialog_lookup (ep, DIALOG_SERVER, token));

  /* A terminated NOTIFY answered, or an answer that ends the
   * subscription, ends the dialog; an unsubscribe answered 2xx does not:
   * the core's terminated NOTIFY follows. */
  StoxSipDialog *dlg = dialog_lookup (ep, op->dialog_kind, op->dialog);
  if (dlg != NULL && (op->terminates || stox_sip_status_ends_subscription (status, FALSE)))
    dialog_forget (dlg);

  g_hash_table_remove (ep->server_ops, &token);
}

/* Creates a client transaction; its final response comes to on_response()
 * and never from inside this call. */
static gboolean
send_request (StoxSipEndpoint *ep,
              StoxSipOp       *op,
              nta_leg_t       *leg,
              url_t const     *route,
              sip_method_t     method,
              const char      *method_name,
              const char      *request_uri,
              tag_type_t       tag,
              tag_value_t      value,
              ...)
{
  ta_list ta;

  ta_start (ta, tag, value);
  ep->sending = TRUE;
  op->orq = nta_outgoing_tcreate (leg, on_response, op, (url_string_t const *) route,
                                  method, method_name,
                                  request_uri != NULL ? URL_STRING_MAKE (request_uri) : NULL,
                                  SIPTAG_USER_AGENT_STR (ep->user_agent),
                                  SIPTAG_ALLOW (ep->allow),
                                  ta_tags (ta));
  ep->sending = FALSE;
  (void) ta_end (ta);
  return op->orq != NULL;
}

/* A payload header rather than SIPTAG_PAYLOAD_STR: bodies may hold NULs.
 * The tags are copied into the message, so a stack copy is enough. */
static sip_payload_t *
payload_init (sip_payload_t *pl,
              GBytes        *body)
{
  gsize len = 0;

  sip_payload_init (pl);
  if (body != NULL)
    {
      pl->pl_data = (char *) g_bytes_get_data (body, &len);
      pl->pl_len = len;
    }
  return pl;
}

void
stox_sip_endpoint_send (StoxSipEndpoint         *ep,
                        const StoxSipOutRequest *req)
{
  g_return_if_fail (ep != NULL && req != NULL);

  if (ep->shutting_down || ep->agent == NULL)
    {
      fail_locally (ep, req->token, SIP_503_SERVICE_UNAVAILABLE);
      return;
    }
  if (req->request_uri == NULL || req->from_uri == NULL || req->to_uri == NULL)
    {
      g_warning ("request %" G_GUINT64_FORMAT ": no Request-URI, From or To", req->token);
      fail_locally (ep, req->token, SIP_500_INTERNAL_SERVER_ERROR);
      return;
    }
  if (g_hash_table_contains (ep->client_ops, &req->token))
    {
      g_warning ("request %" G_GUINT64_FORMAT ": token already in use", req->token);
      fail_locally (ep, req->token, SIP_500_INTERNAL_SERVER_ERROR);
      return;
    }
  /* SUBSCRIBE and NOTIFY have their own calls. */
  if (req->method != STOX_SIP_METHOD_MESSAGE)
    {
      fail_locally (ep, req->token, SIP_501_NOT_IMPLEMENTED);
      return;
    }

  /* Angle brackets keep URI parameters (";transport=…") in the URI
   * instead of making them header parameters (RFC 3261 §20.10). */
  g_autofree char *from = g_strdup_printf ("<%s>", req->from_uri);
  g_autofree char *to = g_strdup_printf ("<%s>", req->to_uri);
  StoxSipOp *op = op_new (ep, req->token, req->method);
  sip_payload_t pl[1];

  /* Out of dialog: the default leg, a fresh From tag and Call-ID. */
  if (!send_request (ep, op, ep->no_dialog->leg, ep->proxy, SIP_METHOD_MESSAGE,
                     req->request_uri,
                     SIPTAG_FROM_STR (from),
                     SIPTAG_TO_STR (to),
                     TAG_IF (req->body != NULL && req->content_type != NULL,
                             SIPTAG_CONTENT_TYPE_STR (req->content_type)),
                     TAG_IF (req->body != NULL, SIPTAG_PAYLOAD (payload_init (pl, req->body))),
                     TAG_IF (req->call_id != NULL, SIPTAG_CALL_ID_STR (req->call_id)),
                     TAG_IF (req->subject != NULL, SIPTAG_SUBJECT_STR (req->subject)),
                     TAG_IF (req->content_language != NULL,
                             SIPTAG_CONTENT_LANGUAGE_STR (req->content_language)),
                     TAG_END ()))
    {
      /* Sofia could not parse a URI or header; the core hears of it as the
       * response and reports it, so no log of ours beyond debug. */
      g_debug ("request %" G_GUINT64_FORMAT ": unusable Request-URI %s, From %s or To %s",
               req->token, req->request_uri, req->from_uri, req->to_uri);
      op_free (op);
      fail_locally (ep, req->token, 500, "Invalid Request-URI, From or To");
      return;
    }
  g_hash_table_insert (ep->client_ops, &op->token, op);
}

/* A dialog of our own (RFC 6665 §4.1.2.1): From with a fresh tag, To
 * without, a fresh Call-ID; the notifier's tag comes with its 2xx or
 * first NOTIFY. */
static StoxSipDialog *
client_dialog_create (StoxSipEndpoint        *ep,
                      const StoxSipSubscribe *s)
{
  g_autofree char *from = g_strdup_printf ("<%s>", s->from_uri);
  g_autofree char *to = g_strdup_printf ("<%s>", s->to_uri);
  StoxSipDialog *dlg = dialog_new (ep, DIALOG_CLIENT, s->dialog);

  dlg->leg = nta_leg_tcreate (ep->agent, on_leg_request, dlg,
                              SIPTAG_FROM_STR (from),
                              SIPTAG_TO_STR (to),
                              TAG_END ());
  if (dlg->leg == NULL || nta_leg_tag (dlg->leg, NULL) == NULL)
    {
      dialog_free (dlg);
      return NULL;
    }
  dlg->event_type = g_strdup (s->event != NULL ? s->event : ALLOWED_EVENTS);
  dlg->target_uri = g_strdup (s->request_uri);
  g_hash_table_insert (ep->client_dialogs, &dlg->id, dlg);
  g_debug ("client dialog %" G_GUINT64_FORMAT " starts", dlg->id);
  return dlg;
}

void
stox_sip_endpoint_subscribe (StoxSipEndpoint        *ep,
                             const StoxSipSubscribe *s)
{
  g_return_if_fail (ep != NULL && s != NULL);

  if (ep->shutting_down || ep->agent == NULL)
    {
      fail_locally (ep, s->dialog, SIP_503_SERVICE_UNAVAILABLE);
      return;
    }

  StoxSipDialog *dlg = dialog_lookup (ep, DIALOG_CLIENT, s->dialog);
  gboolean initial = dlg == NULL;

  if (initial)
    {
      if (s->request_uri == NULL || s->from_uri == NULL || s->to_uri == NULL)
        {
          g_warning ("subscription %" G_GUINT64_FORMAT ": no Request-URI, From or To",
                     s->dialog);
          fail_locally (ep, s->dialog, SIP_500_INTERNAL_SERVER_ERROR);
          return;
        }
      dlg = client_dialog_create (ep, s);
      if (dlg == NULL)
        {
          g_debug ("subscription %" G_GUINT64_FORMAT ": unusable From %s or To %s",
                   s->dialog, s->from_uri, s->to_uri);
          fail_locally (ep, s->dialog, 500, "Invalid From or To");
          return;
        }
    }

  g_autofree char *expires = g_strdup_printf ("%u", s->expires);
  g_autofree char *event = dialog_event (dlg);
  StoxSipOp *op = op_new (ep, s->dialog, STOX_SIP_METHOD_SUBSCRIBE);

  op->dialog_kind = DIALOG_CLIENT;
  op->dialog = s->dialog;
  op->initial = initial;
  op->terminates = s->expires == 0;

  /* Until the notifier answered, the dialog has no route set yet: the
   * outbound proxy, as for any request out of dialog.  After, its route
   * set and target (RFC 3261 §12.2.1.1); CSeq one up, same Call-ID. */
  if (!send_request (ep, op, dlg->leg, dlg->established ? NULL : ep->proxy,
                     SIP_METHOD_SUBSCRIBE, dlg->target_uri,
                     SIPTAG_EVENT_STR (event),
                     TAG_IF (s->accept != NULL, SIPTAG_ACCEPT_STR (s->accept)),
                     SIPTAG_EXPIRES_STR (expires),
                     SIPTAG_CONTACT (our_contact (ep)),
                     SIPTAG_ALLOW_EVENTS_STR (ALLOWED_EVENTS),
                     TAG_END ()))
    {
      g_debug ("subscription %" G_GUINT64_FORMAT ": cannot build the SUBSCRIBE", s->dialog);
      op_free (op);
      if (initial)
        dialog_forget (dlg);
      fail_locally (ep, s->dialog, 500, "Invalid Request-URI");
      return;
    }
  g_hash_table_add (ep->subscribe_ops, op);
}

/* Subscription-State (RFC 6665 §8.2.3, §4.1.3) exactly as the core asked. */
static char *
substate_text (const StoxSipNotify *n)
{
  switch (n->substate)
    {
    case STOX_SUBSTATE_PENDING:
      return g_strdup_printf ("pending;expires=%u", n->expires);
    case STOX_SUBSTATE_ACTIVE:
      return g_strdup_printf ("active;expires=%u", n->expires);
    case STOX_SUBSTATE_TERMINATED:
      break;
    }

  GString *text = g_string_new ("terminated");
  if (n->reason != NULL)
    g_string_append_printf (text, ";reason=%s", n->reason);
  if (n->retry_after > 0)
    g_string_append_printf (text, ";retry-after=%u", n->retry_after);
  return g_string_free (text, FALSE);
}

void
stox_sip_endpoint_notify (StoxSipEndpoint     *ep,
                          const StoxSipNotify *n)
{
  g_return_if_fail (ep != NULL && n != NULL);

  if (ep->shutting_down || ep->agent == NULL)
    {
      fail_locally (ep, n->token, SIP_503_SERVICE_UNAVAILABLE);
      return;
    }
  if (g_hash_table_contains (ep->client_ops, &n->token))
    {
      g_warning ("NOTIFY %" G_GUINT64_FORMAT ": token already in use", n->token);
      fail_locally (ep, n->token, SIP_500_INTERNAL_SERVER_ERROR);
      return;
    }

  StoxSipDialog *dlg = dialog_lookup (ep, DIALOG_SERVER, n->dialog);
  if (dlg == NULL || dlg->terminating)
    {
      g_debug ("NOTIFY %" G_GUINT64_FORMAT ": no dialog %" G_GUINT64_FORMAT,
               n->token, n->dialog);
      fail_locally (ep, n->token, 481, "Subscription Does Not Exist");
      return;
    }
  /* CSeq MUST stay below 2^31 (RFC 3261 §8.1.1.5): a dialog that used
   * them all (or a restored state near the end) cannot go on. */
  guint32 seq = nta_leg_get_seq (dlg->leg);
  if (seq >= CSEQ_MAX)
    {
      g_warning ("NOTIFY %" G_GUINT64_FORMAT ": dialog %" G_GUINT64_FORMAT
                 " has no CSeq left; ending it", n->token, n->dialog);
      dialog_forget (dlg);
      fail_locally (ep, n->token, 481, "Subscription Does Not Exist");
      return;
    }
  /* nta numbers the NOTIFY seq + 1; a terminated one ends the state. */
  if (n->substate != STOX_SUBSTATE_TERMINATED)
    dialog_reserve_cseq (dlg, seq + 1);

  g_autofree char *state = substate_text (n);
  g_autofree char *event = dialog_event (dlg);
  StoxSipOp *op = op_new (ep, n->token, STOX_SIP_METHOD_NOTIFY);
  sip_payload_t pl[1];

  op->dialog_kind = DIALOG_SERVER;
  op->dialog = n->dialog;
  op->terminates = n->substate == STOX_SUBSTATE_TERMINATED;

  if (!send_request (ep, op, dlg->leg, NULL, SIP_METHOD_NOTIFY, NULL,
                     SIPTAG_EVENT_STR (event),
                     SIPTAG_SUBSCRIPTION_STATE_STR (state),
                     SIPTAG_CONTACT (our_contact (ep)),
                     SIPTAG_ALLOW_EVENTS_STR (ALLOWED_EVENTS),
                     TAG_IF (n->content_type != NULL, SIPTAG_CONTENT_TYPE_STR (n->content_type)),
                     TAG_IF (n->content_type != NULL && n->body != NULL,
                             SIPTAG_PAYLOAD (payload_init (pl, n->body))),
                     TAG_END ()))
    {
      g_warning ("NOTIFY %" G_GUINT64_FORMAT ": cannot build it (Subscription-State: %s)",
                 n->token, state);
      op_free (op);
      if (n->substate == STOX_SUBSTATE_TERMINATED)
        dialog_forget (dlg);
      fail_locally (ep, n->token, SIP_500_INTERNAL_SERVER_ERROR);
      return;
    }
  g_hash_table_insert (ep->client_ops, &op->token, op);
  /* Nothing more in this dialog: later NOTIFYs and refreshes get 481, and
   * there is nothing left to restore. */
  if (n->substate == STOX_SUBSTATE_TERMINATED)
    {
      dlg->terminating = TRUE;
      dialog_report_end (dlg);
    }
}

void
stox_sip_endpoint_set_dialog_func (StoxSipEndpoint  *ep,
                                   StoxSipDialogFunc func,
                                   gpointer          user_data)
{
  g_return_if_fail (ep != NULL);

  ep->dialog_func = func;
  ep->dialog_data = user_data;
}

/* The route set of a state: its Record-Route entries chained again, one
 * entry each, as the initial SUBSCRIBE had them. */
static gboolean
state_routes (su_home_t           *home,
              const DialogState   *st,
              sip_record_route_t **ret_routes)
{
  sip_record_route_t **tail = ret_routes;

  *ret_routes = NULL;
  for (gsize i = 0; st->routes[i] != NULL; i++)
    {
      sip_record_route_t *rr = sip_record_route_make (home, st->routes[i]);

      if (rr == NULL || rr->r_next != NULL)
        return FALSE;
      *tail = rr;
      tail = &rr->r_next;
    }
  return TRUE;
}

/* A restored dialog has no CSeq reserved beyond its saved ceiling: a
 * NOTIFY above it sent before the next reservation is written would be
 * repeated after another crash.  So that reservation is made first thing
 * in the loop (the daemon's func is not called from _restore_dialog()),
 * which leaves the daemon's write the time until the core's first NOTIFY
 * in the dialog. */
static gboolean
reserve_restored (gpointer user_data)
{
  StoxSipEndpoint *ep = user_data;
  g_autoptr (GArray) ids = g_steal_pointer (&ep->restored);

  ep->restored_idle = 0;
  ep->restored = g_array_new (FALSE, FALSE, sizeof (StoxToken));
  for (guint i = 0; i < ids->len; i++)
    {
      StoxSipDialog *dlg = dialog_lookup (ep, DIALOG_SERVER,
                                          g_array_index (ids, StoxToken, i));

      if (dlg != NULL && !dlg->terminating)
        dialog_reserve_cseq (dlg, nta_leg_get_seq (dlg->leg) + 1);
    }
  return G_SOURCE_REMOVE;
}

/* The dialog as server_dialog_create() made it (RFC 3261 §12.1.1), from
 * its saved state; its local CSeq resumes at the reserved ceiling. */
gboolean
stox_sip_endpoint_restore_dialog (StoxSipEndpoint *ep,
                                  StoxToken        id,
                                  const char      *state,
                                  GError         **error)
{
  g_return_val_if_fail (ep != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_auto (DialogState) st = { 0 };
  const char *bad = NULL;

  /* 0 is no dialog (StoxSipRequest.dialog). */
  if (id == 0 || g_hash_table_contains (ep->server_dialogs, &id))
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE,
                   "dialog %" G_GUINT64_FORMAT ": %s", id,
                   id == 0 ? "not a dialog id" : "id already in use");
      return FALSE;
    }
  if (!state_parse (state, &st, error))
    {
      g_prefix_error (error, "dialog %" G_GUINT64_FORMAT ": ", id);
      return FALSE;
    }

  /* Every header through Sofia's parser, as if it came in a message. */
  su_home_t home[1] = { SU_HOME_INIT (home) };
  sip_to_t *local = sip_to_make (home, st.local);
  sip_from_t *remote = sip_from_make (home, st.remote);
  url_t *target = st.target != NULL ? url_make (home, st.target) : NULL;
  sip_contact_t *contact = NULL;
  sip_record_route_t *routes = NULL;
  g_autofree char *event = event_text (st.event_type, st.event_id);
  sip_event_t *o = sip_event_make (home, event);
  char *local_tag = NULL;

  if (target != NULL && (target->url_type == url_sip || target->url_type == url_sips)
      && target->url_host != NULL)
    contact = sip_contact_create (home, (url_string_t const *) target, NULL);

  if (sip_call_id_make (home, st.call_id) == NULL)
    bad = "Call-ID";
  else if (local == NULL || local->a_tag == NULL || local->a_tag[0] == '\0')
    bad = "local address";
  else if (remote == NULL)
    bad = "remote address";
  else if (st.target != NULL && contact == NULL)
    bad = "remote target";
  else if (!state_routes (home, &st, &routes))
    bad = "route set";
  else if (st.local_cseq == 0 || st.local_cseq > CSEQ_MAX)
    bad = "local CSeq";
  else if (o == NULL || g_strcmp0 (o->o_type, st.event_type) != 0
           || g_strcmp0 (o->o_id, st.event_id) != 0)
    bad = "Event";
  if (bad != NULL)
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE,
                   "dialog %" G_GUINT64_FORMAT ": bad %s in the saved state", id, bad);
      su_home_deinit (home);
      return FALSE;
    }

  /* Created untagged and tagged after, as server_dialog_create() does:
   * nta matches requests to the leg a little differently otherwise. */
  local_tag = su_strdup (home, local->a_tag);
  msg_header_remove_param (local->a_common, "tag");

  StoxSipDialog *dlg = dialog_new (ep, DIALOG_SERVER, id);
  dlg->leg = nta_leg_tcreate (ep->agent, on_leg_request, dlg,
                              SIPTAG_CALL_ID_STR (st.call_id),
                              SIPTAG_FROM (local),
                              SIPTAG_TO (remote),
                              NTATAG_REMOTE_CSEQ (st.remote_cseq),
                              SIPTAG_CSEQ (sip_cseq_create (home, st.local_cseq,
                                                            SIP_METHOD_NOTIFY)),
                              TAG_END ());
  if (dlg->leg == NULL || nta_leg_tag (dlg->leg, local_tag) == NULL
      || nta_leg_server_route (dlg->leg, routes, contact) < 0)
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE,
                   "dialog %" G_GUINT64_FORMAT ": cannot create it", id);
      dialog_free (dlg);
      su_home_deinit (home);
      return FALSE;
    }
  su_home_deinit (home);

  dlg->event_type = g_steal_pointer (&st.event_type);
  dlg->event_id = g_steal_pointer (&st.event_id);
  dlg->call_id = g_steal_pointer (&st.call_id);
  dlg->local = g_steal_pointer (&st.local);
  dlg->remote = g_steal_pointer (&st.remote);
  dlg->routes = g_steal_pointer (&st.routes);
  /* nta numbers the next NOTIFY ceiling + 1, above all the last process
   * may have sent; the next block is reserved from the loop. */
  dlg->ceiling = st.local_cseq;
  g_hash_table_insert (ep->server_dialogs, &dlg->id, dlg);
  g_array_append_val (ep->restored, dlg->id);
  /* Ahead of any I/O the first loop iteration would dispatch. */
  if (ep->restored_idle == 0)
    ep->restored_idle = g_idle_add_full (G_PRIORITY_HIGH, reserve_restored, ep, NULL);
  /* Our request tokens name server dialogs: new ones stay clear of it. */
  ep->last_token = MAX (ep->last_token, id);
  g_debug ("server dialog %" G_GUINT64_FORMAT " restored", id);
  return TRUE;
}

void
stox_sip_endpoint_forget_dialog (StoxSipEndpoint *ep,
                                 StoxToken        id)
{
  g_return_if_fail (ep != NULL);

  StoxSipDialog *dlg = dialog_lookup (ep, DIALOG_SERVER, id);
  if (dlg == NULL)
    return;
  g_debug ("server dialog %" G_GUINT64_FORMAT " dropped", id);
  /* Silently: the daemon drops its state itself. */
  dlg->end_told = TRUE;
  g_hash_table_remove (ep->server_dialogs, &id);
}

const char *
stox_sip_endpoint_get_bound (StoxSipEndpoint *ep)
{
  g_return_val_if_fail (ep != NULL, NULL);

  return ep->bound_actual != NULL ? ep->bound_actual : ep->bound_configured;
}

void
stox_sip_endpoint_shutdown (StoxSipEndpoint *ep,
                            GSourceFunc      done,
                            gpointer         done_data)
{
  g_return_if_fail (ep != NULL);

  ep->done = done;
  ep->done_data = done_data;
  if (ep->shutting_down)
    {
      if (ep->shutdown_final && ep->done_idle == 0)
        ep->done_idle = g_idle_add (run_done, ep);
      return;
    }
  ep->shutting_down = TRUE;

  /* Requests the core has not answered yet get an answer rather than a
   * timeout. */
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, ep->server_ops);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      StoxSipOp *op = value;

      nta_incoming_treply (op->irq, SIP_503_SERVICE_UNAVAILABLE,
                           SIPTAG_SERVER_STR (ep->user_agent), TAG_END ());
      g_hash_table_iter_remove (&iter);
    }

  /* MESSAGEs we sent are abandoned (their answers could take 32 s); the
   * NOTIFYs and SUBSCRIBEs are the core's goodbyes, already on the wire
   * in the order it sent them: their answers are awaited, briefly. */
  g_hash_table_iter_init (&iter, ep->client_ops);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      StoxSipOp *op = value;

      if (op->method == STOX_SIP_METHOD_MESSAGE)
        g_hash_table_iter_remove (&iter);
    }

  if (dialog_ops_in_flight (ep) == 0)
    shutdown_finish (ep);
  else
    ep->shutdown_timer = g_timeout_add (SHUTDOWN_LIMIT_MS, shutdown_timeout, ep);
}

void
stox_sip_endpoint_free (StoxSipEndpoint *ep)
{
  if (ep == NULL)
    return;

  g_clear_handle_id (&ep->done_idle, g_source_remove);
  g_clear_handle_id (&ep->report_idle, g_source_remove);
  g_clear_handle_id (&ep->restored_idle, g_source_remove);
  g_clear_pointer (&ep->restored, g_array_unref);
  g_clear_handle_id (&ep->shutdown_timer, g_source_remove);
  g_queue_clear_full (&ep->reports, report_free);

  /* Transactions and legs belong to the agent: release them first. */
  g_clear_pointer (&ep->server_ops, g_hash_table_unref);
  g_clear_pointer (&ep->client_ops, g_hash_table_unref);
  g_clear_pointer (&ep->subscribe_ops, g_hash_table_unref);
  g_clear_pointer (&ep->server_dialogs, g_hash_table_unref);
  g_clear_pointer (&ep->client_dialogs, g_hash_table_unref);
  g_clear_pointer (&ep->no_dialog, dialog_free);
  g_clear_pointer (&ep->agent, nta_agent_destroy);
  /* After the ops and dialogs, whose entries they hold. */
  g_clear_pointer (&ep->unanswered, stox_fifo_timer_free);
  g_clear_pointer (&ep->lingering, stox_fifo_timer_free);

  if (ep->source != NULL)
    g_source_destroy (ep->source);
  if (ep->root != NULL)
    su_root_destroy (ep->root);
  sofia_logs_restore (ep);
  if (ep->home != NULL)
    su_home_unref (ep->home);
  if (ep->su_initialised)
    su_deinit ();

  g_free (ep->user_agent);
  g_free (ep->bound_configured);
  g_free (ep->bound_actual);
  g_free (ep->start_error);
  g_free (ep);
}
