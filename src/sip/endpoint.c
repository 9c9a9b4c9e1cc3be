/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sofia-SIP's nua on the default GLib main context, translating its events
 * into core events and core actions into nua calls.  No mapping policy
 * lives here: every request the application may answer goes to the core,
 * and the core's answer goes back unchanged.
 *
 * Threading: su_root_threading(root, 0) makes nua_create() run the stack
 * "clone" on our own root, so the whole stack is driven by one GSource on
 * the default context and every callback runs in the loop's thread.
 */
#include "config.h"

#include <string.h>

#include "sip/endpoint.h"
#include "sip/convert.h"

G_DEFINE_QUARK (stox-sip-endpoint-error-quark, stox_sip_endpoint_error)

/* Methods the gateway implements; every response carries this as Allow,
 * and the stack answers other methods itself: 405 for the ones SIP
 * defines (INVITE, REGISTER, …), 501 for unknown ones (RFC 3261 §8.2.1). */
#define ALLOWED_METHODS "MESSAGE, SUBSCRIBE, NOTIFY, OPTIONS"

/* An incoming request the core has not answered after 64×T1 (when any
 * UDP client has given up, RFC 3261 §17.1.2.2) is answered 500 here, so a
 * lost answer cannot pin the transaction, and its memory, for ever. */
#define UNANSWERED_LIMIT_S 32

/* Sofia passes NULL phrases now and then; printf must not see them. */
#define PHRASE(p) ((p) != NULL ? (p) : "")

/* The Sofia logs we redirect (default, nua, nta, tport), each with its own
 * partial-line buffer. */
#define N_SOFIA_LOGS 4

typedef struct
{
  su_log_t        *log;
  const char      *name;
  GString         *line;
  StoxSipEndpoint *ep;
} SofiaLog;

typedef enum
{
  OP_SERVER,    /* an incoming request waiting for the core's answer */
  OP_CLIENT,    /* a request we sent, waiting for its final response */
} OpKind;

/* One transaction the core knows by token.  Also the nua handle magic of
 * client handles, so their events find it. */
typedef struct _StoxSipOp StoxSipOp;

struct _StoxSipOp
{
  StoxSipEndpoint  *ep;
  OpKind            kind;
  StoxToken         token;
  StoxSipMethod     method;
  nua_handle_t     *nh;
  gboolean          owns_handle;  /* out of dialog: destroyed with the op */
  nua_saved_event_t saved[1];     /* OP_SERVER: the request, for NUTAG_WITH_SAVED */
  guint             expiry;       /* OP_SERVER: UNANSWERED_LIMIT_S timer */
};

/* A request that failed before reaching the stack; reported from an idle
 * callback so that _send() never calls back into the core re-entrantly. */
typedef struct
{
  StoxToken token;
  guint     status;
  char     *phrase;
} LocalFailure;

struct _StoxSipEndpoint
{
  su_root_t          *root;
  GSource            *source;
  nua_t              *nua;
  gboolean            su_initialised;

  StoxSipRequestFunc  on_request;
  StoxSipResponseFunc on_response;
  gpointer            user_data;

  char               *user_agent;
  char               *bound_configured;  /* host:port from the listen URL */
  char               *bound_actual;      /* from the stack, once it told us */

  GHashTable         *server_ops;        /* &op->token → StoxSipOp, incoming */
  GHashTable         *client_ops;        /* &op->token → StoxSipOp, outgoing */
  StoxToken           last_token;

  gboolean            shutting_down;
  gboolean            shutdown_final;    /* nua_r_shutdown ≥ 200 seen */
  GSourceFunc         done;
  gpointer            done_data;
  guint               done_idle;

  GQueue              failures;          /* LocalFailure */
  guint               failure_idle;

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
  static const char *const names[N_SOFIA_LOGS] = { "sofia", "nua", "nta", "tport" };
  su_log_t *const logs[N_SOFIA_LOGS] = { su_log_default, nua_log, nta_log, tport_log };

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
/* Transactions                                                        */

static StoxSipOp *
op_new (StoxSipEndpoint *ep,
        OpKind           kind,
        StoxToken        token,
        StoxSipMethod    method)
{
  StoxSipOp *op = g_new0 (StoxSipOp, 1);

  op->ep = ep;
  op->kind = kind;
  op->token = token;
  op->method = method;
  return op;
}

static void
op_free (StoxSipOp *op)
{
  if (op == NULL)
    return;
  g_clear_handle_id (&op->expiry, g_source_remove);
  if (op->saved[0] != NULL)
    nua_destroy_event (op->saved);
  /* Sofia never frees a handle the application was given: an
   * out-of-dialog one is ours to destroy once its transaction is over.
   * Once the stack has shut down, nua_destroy() frees what is left. */
  if (op->owns_handle && op->nh != NULL && !op->ep->shutdown_final)
    nua_handle_destroy (op->nh);
  g_free (op);
}

static GHashTable *
op_table_new (void)
{
  return g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                (GDestroyNotify) op_free);
}

/* ------------------------------------------------------------------ */
/* Failures before the stack                                           */

static void
local_failure_free (gpointer data)
{
  LocalFailure *f = data;

  g_free (f->phrase);
  g_free (f);
}

static gboolean
report_local_failures (gpointer user_data)
{
  StoxSipEndpoint *ep = user_data;
  LocalFailure *f;

  ep->failure_idle = 0;
  while ((f = g_queue_pop_head (&ep->failures)) != NULL)
    {
      StoxSipResponse resp = { .token = f->token, .status = f->status, .phrase = f->phrase };

      ep->on_response (&resp, ep->user_data);
      local_failure_free (f);
    }
  return G_SOURCE_REMOVE;
}

static void
fail_locally (StoxSipEndpoint *ep,
              StoxToken        token,
              guint            status,
              const char      *phrase)
{
  LocalFailure *f = g_new0 (LocalFailure, 1);

  f->token = token;
  f->status = status;
  f->phrase = g_strdup (phrase);
  g_queue_push_tail (&ep->failures, f);
  if (ep->failure_idle == 0)
    ep->failure_idle = g_idle_add (report_local_failures, ep);
}

/* ------------------------------------------------------------------ */
/* Incoming requests                                                   */

static char *
request_source (nua_t *nua)
{
  msg_t *msg = nua_current_request (nua);
  su_addrinfo_t *ai = msg != NULL ? msg_addrinfo (msg) : NULL;

  if (ai == NULL || ai->ai_addr == NULL)
    return NULL;
  return stox_sip_convert_address (ai->ai_addr, (socklen_t) ai->ai_addrlen);
}

/* Answers the request of the current event at once (no core involved). */
static void
answer_now (StoxSipEndpoint *ep,
            nua_t           *nua,
            nua_handle_t    *nh,
            gboolean         owns_handle,
            int              status,
            const char      *phrase)
{
  nua_respond (nh, status, phrase, NUTAG_WITH_THIS (nua),
               SIPTAG_SERVER_STR (ep->user_agent), TAG_END ());
  if (owns_handle)
    nua_handle_destroy (nh);
}

static gboolean
expire_server_op (gpointer user_data)
{
  StoxSipOp *op = user_data;

  op->expiry = 0;
  g_warning ("request %" G_GUINT64_FORMAT " not answered within %u s; answering 500",
             op->token, UNANSWERED_LIMIT_S);
  stox_sip_endpoint_respond (op->ep, op->token, SIP_500_INTERNAL_SERVER_ERROR,
                             0, NULL, NULL, NULL);
  return G_SOURCE_REMOVE;
}

static void
on_incoming (StoxSipEndpoint *ep,
             nua_event_t      event,
             int              status,
             nua_t           *nua,
             nua_handle_t    *nh,
             StoxSipOp       *bound,
             sip_t const     *sip)
{
  /* A fresh handle (no magic) exists for this request only. */
  gboolean owns_handle = bound == NULL;

  if (status >= 200 || sip == NULL || sip->sip_request == NULL)
    {
      /* The stack has answered already: not one of our methods. */
      g_debug ("%s answered by the stack: %d", nua_event_name (event), status);
      if (owns_handle)
        nua_handle_destroy (nh);
      return;
    }

  g_autofree char *source = request_source (nua);

  if (ep->shutting_down)
    {
      answer_now (ep, nua, nh, owns_handle, SIP_503_SERVICE_UNAVAILABLE);
      return;
    }

  /* Bounded input: a body this large is refused before anyone copies it. */
  if (sip->sip_payload != NULL && sip->sip_payload->pl_len > STOX_SIP_MAX_BODY)
    {
      g_info ("%s from %s: body of %zu bytes refused (413)",
              sip->sip_request->rq_method_name, source != NULL ? source : "?",
              (size_t) sip->sip_payload->pl_len);
      answer_now (ep, nua, nh, owns_handle, SIP_413_REQUEST_TOO_LARGE);
      return;
    }

  g_autoptr (StoxSipRequest) req = stox_sip_convert_request (sip);
  StoxSipOp *op = op_new (ep, OP_SERVER, ++ep->last_token, req->method);

  /* The core may answer after the event is gone (the bounce window):
   * saving the event keeps the request alive for NUTAG_WITH_SAVED, and
   * meanwhile nta absorbs retransmissions of the pending transaction. */
  if (!nua_save_event (nua, op->saved))
    {
      g_warning ("%s from %s: cannot keep the request; answering 500",
                 sip->sip_request->rq_method_name, source != NULL ? source : "?");
      op_free (op);
      answer_now (ep, nua, nh, owns_handle, SIP_500_INTERNAL_SERVER_ERROR);
      return;
    }
  op->nh = nh;
  op->owns_handle = owns_handle;
  op->expiry = g_timeout_add_seconds (UNANSWERED_LIMIT_S, expire_server_op, op);
  g_hash_table_insert (ep->server_ops, &op->token, op);

  req->token = op->token;
  req->source = g_steal_pointer (&source);
  g_debug ("request %" G_GUINT64_FORMAT ": %s %s from %s", req->token,
           req->method_name, req->request_uri, req->source != NULL ? req->source : "?");
  ep->on_request (req, ep->user_data);
}

/* ------------------------------------------------------------------ */
/* Responses to our requests                                           */

static void
on_client_event (StoxSipEndpoint *ep,
                 nua_event_t      event,
                 int              status,
                 char const      *phrase,
                 StoxSipOp       *op)
{
  /* Provisional responses change nothing for the core. */
  if (status < 200)
    return;

  /* Sofia reports its own failures as 9xx ("900 Internal error at
   * nua_client.c:714"); the core speaks SIP, where that is a 500, and
   * source file names are for our debug log only. */
  guint code = status >= 700 ? 500 : (guint) status;
  g_autofree char *text = g_strdup (status >= 700 ? sip_status_phrase (500) : PHRASE (phrase));
  StoxSipResponse resp = { .token = op->token, .status = code, .phrase = text };

  g_debug ("%s for %" G_GUINT64_FORMAT ": %d %s", nua_event_name (event),
           op->token, status, PHRASE (phrase));
  /* Out of the table before the callback, so the core may reuse the token
   * at once; freed after, which destroys the handle of this event. */
  g_hash_table_steal (ep->client_ops, &op->token);
  ep->on_response (&resp, ep->user_data);
  op_free (op);
}

/* ------------------------------------------------------------------ */
/* The stack                                                           */

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

static void
on_get_params (StoxSipEndpoint *ep,
               tagi_t const     tags[])
{
  tagi_t const *t = tl_find (tags, ntatag_contact);
  sip_contact_t const *m = t != NULL ? (sip_contact_t const *) t->t_value : NULL;
  char *hostport = m != NULL ? url_hostport (m->m_url) : NULL;

  if (hostport == NULL)
    return;
  g_free (ep->bound_actual);
  ep->bound_actual = hostport;
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
on_shutdown (StoxSipEndpoint *ep,
             int              status,
             char const      *phrase)
{
  if (status < 200)
    return;
  if (status >= 300)
    g_info ("SIP stack shutdown: %d %s", status, PHRASE (phrase));
  ep->shutdown_final = TRUE;
  /* Not from inside the nua callback: `done` may free the endpoint. */
  if (ep->done_idle == 0)
    ep->done_idle = g_idle_add (run_done, ep);
}

static void
on_nua_event (nua_event_t      event,
              int              status,
              char const      *phrase,
              nua_t           *nua,
              StoxSipEndpoint *ep,
              nua_handle_t    *nh,
              StoxSipOp       *op,
              sip_t const     *sip,
              tagi_t           tags[])
{
  switch (event)
    {
    case nua_r_shutdown:
      on_shutdown (ep, status, phrase);
      return;
    case nua_r_get_params:
      on_get_params (ep, tags);
      return;
    case nua_i_error:
      g_warning ("SIP stack error: %d %s", status, PHRASE (phrase));
      return;
    case nua_i_cancel:
      /* CANCEL concerns INVITE only, which we never accept. */
      return;
    default:
      break;
    }

  if (nua_event_is_incoming_request (event))
    on_incoming (ep, event, status, nua, nh, op, sip);
  else if (op != NULL && op->kind == OP_CLIENT)
    on_client_event (ep, event, status, phrase, op);
  else
    g_debug ("%s: %d %s", nua_event_name (event), status, PHRASE (phrase));
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
                       StoxSipResponseFunc          on_response,
                       gpointer                     user_data,
                       GError                     **error)
{
  g_return_val_if_fail (config != NULL && config->listen != NULL, NULL);
  g_return_val_if_fail (on_request != NULL && on_response != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (StoxSipEndpoint) ep = g_new0 (StoxSipEndpoint, 1);

  ep->on_request = on_request;
  ep->on_response = on_response;
  ep->user_data = user_data;
  ep->user_agent = g_strdup (config->user_agent != NULL ? config->user_agent
                                                        : "stox/" PACKAGE_VERSION);
  ep->bound_configured = configured_hostport (config->listen);
  ep->server_ops = op_table_new ();
  ep->client_ops = op_table_new ();
  g_queue_init (&ep->failures);

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

  ep->root = su_glib_root_create (ep);
  if (ep->root == NULL)
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_INIT,
                   "cannot create the Sofia-SIP event loop");
      return NULL;
    }
  su_root_threading (ep->root, 0);
  ep->source = su_glib_root_gsource (ep->root);
  g_source_attach (ep->source, NULL);

  ep->keep_start_error = TRUE;
  ep->nua = nua_create (ep->root, on_nua_event, ep,
                        NUTAG_URL (config->listen),
                        TAG_IF (config->outbound_proxy != NULL,
                                NUTAG_PROXY (config->outbound_proxy)),
                        /* SIPTAG_ALLOW_STR replaces nua's default list
                         * (INVITE, BYE, REFER, …); NUTAG_ALLOW would add. */
                        SIPTAG_ALLOW_STR (ALLOWED_METHODS),
                        /* Without it nua answers every SUBSCRIBE 489. */
                        NUTAG_ALLOW_EVENTS ("presence"),
                        /* Without these nua answers 200 itself. */
                        NUTAG_APPL_METHOD ("MESSAGE"),
                        NUTAG_APPL_METHOD ("OPTIONS"),
                        NUTAG_APPL_METHOD ("SUBSCRIBE"),
                        NUTAG_APPL_METHOD ("NOTIFY"),
                        NUTAG_APPL_METHOD ("PUBLISH"),
                        /* No calls, so no SDP engine, and no "timer,
                         * 100rel" (INVITE extensions) in Supported. */
                        NUTAG_MEDIA_ENABLE (0),
                        SIPTAG_SUPPORTED (SIP_NONE),
                        SIPTAG_USER_AGENT_STR (ep->user_agent),
                        TAG_IF (config->tls_dir != NULL,
                                TPTAG_CERTIFICATE (config->tls_dir)),
                        TAG_END ());
  ep->keep_start_error = FALSE;
  if (ep->nua == NULL)
    {
      /* errno is long overwritten by then; Sofia's log line has the cause. */
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_LISTEN,
                   "cannot listen on %s: %s", config->listen,
                   ep->start_error != NULL ? ep->start_error : "the SIP stack did not start");
      return NULL;
    }
  g_clear_pointer (&ep->start_error, g_free);

  /* The bound address (port 0, "*") is known to the stack only; it answers
   * through nua_r_get_params on the next loop iteration. */
  nua_get_params (ep->nua, TAG_ANY (), TAG_END ());

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
                           const char      *warning)
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
  g_autofree char *warn = NULL;
  if (warning != NULL)
    {
      const char *agent = ep->bound_actual != NULL ? ep->bound_actual : ep->bound_configured;
      warn = stox_sip_convert_warning (agent, warning);
    }
  if (phrase == NULL)
    phrase = sip_status_phrase ((int) status);
  /* nua_respond() queues a signal that keeps the phrase POINTER (only the
   * tags are copied) and formats it later, after the caller has freed its
   * string.  Phrases come from a fixed table, so interning stays bounded. */
  phrase = g_intern_string (phrase != NULL ? phrase : "");

  nua_respond (op->nh, (int) status, phrase,
               NUTAG_WITH_SAVED (op->saved),
               SIPTAG_SERVER_STR (ep->user_agent),
               TAG_IF (retry != NULL, SIPTAG_RETRY_AFTER_STR (retry)),
               TAG_IF (accept != NULL, SIPTAG_ACCEPT_STR (accept)),
               TAG_IF (allow != NULL, SIPTAG_ALLOW_STR (allow)),
               TAG_IF (warn != NULL, SIPTAG_WARNING_STR (warn)),
               TAG_END ());
  g_debug ("request %" G_GUINT64_FORMAT ": answered %u", token, status);
  /* nua_respond() only queues a signal; the handle destroy queued by
   * op_free() runs after it. */
  g_hash_table_remove (ep->server_ops, &token);
}

void
stox_sip_endpoint_send (StoxSipEndpoint         *ep,
                        const StoxSipOutRequest *req)
{
  g_return_if_fail (ep != NULL && req != NULL);

  if (ep->shutting_down || ep->nua == NULL)
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

  /* Each method that can be sent has its nua call here; SUBSCRIBE and
   * NOTIFY come with presence. */
  void (*method_fn) (nua_handle_t *, tag_type_t, tag_value_t, ...) = NULL;
  switch (req->method)
    {
    case STOX_SIP_METHOD_MESSAGE:
      method_fn = nua_message;
      break;
    default:
      fail_locally (ep, req->token, SIP_501_NOT_IMPLEMENTED);
      return;
    }

  /* Angle brackets keep URI parameters (";transport=…") in the URI
   * instead of making them header parameters (RFC 3261 §20.10). */
  g_autofree char *from = g_strdup_printf ("<%s>", req->from_uri);
  g_autofree char *to = g_strdup_printf ("<%s>", req->to_uri);
  StoxSipOp *op = op_new (ep, OP_CLIENT, req->token, req->method);

  op->nh = nua_handle (ep->nua, op,
                       NUTAG_URL (req->request_uri),
                       SIPTAG_FROM_STR (from),
                       SIPTAG_TO_STR (to),
                       TAG_END ());
  if (op->nh == NULL)
    {
      /* Sofia could not parse From or To; the core hears of it as the
       * response and reports it, so no log of ours beyond debug. */
      g_debug ("request %" G_GUINT64_FORMAT ": unusable From %s or To %s",
               req->token, req->from_uri, req->to_uri);
      op_free (op);
      fail_locally (ep, req->token, 500, "Invalid From or To");
      return;
    }
  op->owns_handle = TRUE;
  g_hash_table_insert (ep->client_ops, &op->token, op);

  /* A payload header rather than SIPTAG_PAYLOAD_STR: bodies may hold NULs.
   * nua copies the tags, so a stack copy is enough. */
  sip_payload_t pl[1];
  gsize len = 0;
  sip_payload_init (pl);
  if (req->body != NULL)
    {
      pl->pl_data = (char *) g_bytes_get_data (req->body, &len);
      pl->pl_len = len;
    }

  method_fn (op->nh,
             TAG_IF (req->body != NULL && req->content_type != NULL,
                     SIPTAG_CONTENT_TYPE_STR (req->content_type)),
             TAG_IF (req->body != NULL, SIPTAG_PAYLOAD (pl)),
             TAG_IF (req->call_id != NULL, SIPTAG_CALL_ID_STR (req->call_id)),
             TAG_IF (req->subject != NULL, SIPTAG_SUBJECT_STR (req->subject)),
             TAG_IF (req->content_language != NULL,
                     SIPTAG_CONTENT_LANGUAGE_STR (req->content_language)),
             TAG_END ());
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
   * timeout; requests we sent are abandoned (nua would otherwise wait for
   * their answers, up to 32 s, before it calls itself shut down). */
  GHashTableIter iter;
  gpointer value;
  g_hash_table_iter_init (&iter, ep->server_ops);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      StoxSipOp *op = value;

      nua_respond (op->nh, SIP_503_SERVICE_UNAVAILABLE,
                   NUTAG_WITH_SAVED (op->saved),
                   SIPTAG_SERVER_STR (ep->user_agent), TAG_END ());
      g_hash_table_iter_remove (&iter);
    }
  g_hash_table_remove_all (ep->client_ops);

  nua_shutdown (ep->nua);
}

void
stox_sip_endpoint_free (StoxSipEndpoint *ep)
{
  if (ep == NULL)
    return;

  g_clear_handle_id (&ep->done_idle, g_source_remove);
  g_clear_handle_id (&ep->failure_idle, g_source_remove);
  g_queue_clear_full (&ep->failures, local_failure_free);

  /* Saved events and handles belong to the stack: release them first. */
  g_clear_pointer (&ep->server_ops, g_hash_table_unref);
  g_clear_pointer (&ep->client_ops, g_hash_table_unref);

  gboolean abandoned = FALSE;
  if (ep->nua != NULL)
    {
      if (ep->shutdown_final)
        {
          nua_destroy (ep->nua);
          ep->nua = NULL;
        }
      else
        {
          /* nua_destroy() refuses to run before nua_shutdown() finished
           * (it would free state the stack still uses), and we must not
           * wait here.  Leave the stack to the exiting process. */
          g_warning ("SIP stack did not finish shutting down; abandoning it");
          abandoned = TRUE;
        }
    }

  if (ep->source != NULL)
    g_source_destroy (ep->source);
  if (ep->root != NULL && !abandoned)
    su_root_destroy (ep->root);
  sofia_logs_restore (ep);
  if (ep->su_initialised && !abandoned)
    su_deinit ();

  g_free (ep->user_agent);
  g_free (ep->bound_configured);
  g_free (ep->bound_actual);
  g_free (ep->start_error);
  g_free (ep);
}
