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
 * all of that (expiry, refresh, NOTIFY content), so dialogs are kept here
 * (dialog.c, as records of our own), and nothing is sent that the core did
 * not ask for.
 *
 * Threading: su_glib_root() makes the su_root a GSource on the default
 * context; every callback runs in the loop's thread.
 *
 * This file is the endpoint's lifecycle (new, transports, TLS, shutdown,
 * free) and its answers to incoming requests; incoming.c checks and hands
 * over incoming requests, outgoing.c sends the core's MESSAGE, SUBSCRIBE
 * and NOTIFY and reports their responses, dialog.c keeps the dialogs,
 * dialog-state.c their saved form, sofia-log.c puts Sofia's logs into
 * g_log.
 */
#include "config.h"

#include <string.h>

#include "sip/endpoint-private.h"
#include "sip/convert.h"
#include "sip/message-size.h"
#include "sip/tls-release.h"
#include "sip/udp-client.h"
#include "sip/udp-reply.h"

/* clang-format off */
G_DEFINE_QUARK (stox-sip-endpoint-error-quark, stox_sip_endpoint_error)
/* clang-format on */

/* An incoming request the core has not answered after 64×T1 (when any
 * UDP client has given up, RFC 3261 §17.1.2.2) is answered 500 here, so a
 * lost answer cannot pin the transaction, and its memory, for ever. */
#define UNANSWERED_LIMIT_MS 32000

/* How long an answered request outside a dialog is remembered over UDP
 * for its retransmissions: Timer J, 64×T1 (RFC 3261 §17.2.2). */
#define TIMER_J_MS (64 * 500)

/* Timer K for our requests (see nta_agent_create below). */
#define STOX_SIP_TIMER_K_MS 50

/* How long shutdown waits for the final responses to the NOTIFYs and
 * SUBSCRIBEs the core sent before it (its goodbyes); below the daemon's
 * own stop deadline (4.5 s), and long enough for three UDP
 * retransmissions (0.5 s, 1.5 s, 3.5 s would be the fourth). */
#define SHUTDOWN_LIMIT_MS 3000

/* nta_agent_create() without transports (Sofia's private NONE): they are
 * added after the default leg exists. */
#define NO_TRANSPORT ((url_string_t const *) (intptr_t) -1)

/* Intermediate CAs allowed between a TLS server's certificate and a CA of
 * cafile.pem (Sofia's default, 2, is short of some public chains). */
#define STOX_SIP_TLS_VERIFY_DEPTH 8

/* Socket buffers asked for on UDP transports. */
#define STOX_SIP_UDP_BUFFER (8u * 1024 * 1024)

/* ------------------------------------------------------------------ */
/* Transactions                                                        */

StoxSipOp *
stox_sip_op_new (StoxSipEndpoint *ep,
                 StoxToken        token,
                 StoxSipMethod    method)
{
  StoxSipOp *op = g_new0 (StoxSipOp, 1);

  op->ep = ep;
  op->token = token;
  op->method = method;
  return op;
}

void
stox_sip_op_free (StoxSipOp *op)
{
  if (op == NULL)
    return;
  stox_fifo_timer_remove (op->ep->unanswered, &op->unanswered);
  if (op->keys.txn != 0 && g_hash_table_lookup (op->ep->pending_txns, &op->keys.txn) == op)
    g_hash_table_remove (op->ep->pending_txns, &op->keys.txn);
  if (op->keys.merge != 0 && g_hash_table_lookup (op->ep->pending_merges, &op->keys.merge) == op)
    g_hash_table_remove (op->ep->pending_merges, &op->keys.merge);
  if (op->request != NULL)
    msg_destroy (op->request);
  if (op->tport != NULL)
    tport_unref (op->tport);
  /* An outgoing transaction runs on to its end without us. */
  if (op->orq != NULL)
    nta_outgoing_destroy (op->orq);
  stox_sip_udp_client_drop (op->ep->udp_client, op->txn);
  g_free (op);
}

static GHashTable *
op_table_new (void)
{
  return g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                (GDestroyNotify) stox_sip_op_free);
}

/* Our requests without a final response, the NOTIFYs waiting for room
 * among them included. */
static guint
dialog_ops_in_flight (StoxSipEndpoint *ep)
{
  return stox_sip_endpoint_on_wire (ep) + ep->notify_waiting.length;
}

/* ------------------------------------------------------------------ */
/* Shutdown                                                            */

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
          stox_sip_endpoint_on_wire (ep));
  stox_sip_outgoing_drop_waiting (ep);
  shutdown_finish (ep);
  return G_SOURCE_REMOVE;
}

void
stox_sip_endpoint_request_done (StoxSipEndpoint *ep)
{
  stox_sip_outgoing_send_waiting (ep);
  if (ep->shutting_down && dialog_ops_in_flight (ep) == 0)
    shutdown_finish (ep);
}

/* ------------------------------------------------------------------ */
/* API                                                                 */

/* The stack is done with this dispatch: the daemon's turn. */
static gboolean
after_dispatch (gpointer user_data)
{
  StoxSipEndpoint *ep = user_data;

  if (ep->dispatch_func != NULL)
    ep->dispatch_func (ep->dispatch_data);
  /* Sofia's dispatch returns this: the su_root source stays. */
  return G_SOURCE_CONTINUE;
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
  ep->max_message_size = config->max_message_size != 0 ? config->max_message_size
                                                       : STOX_SIP_MESSAGE_SIZE_DEFAULT;
  ep->bound_configured = stox_sip_convert_hostport (config->listen);
  ep->max_in_flight = config->max_in_flight;
  ep->server_ops = op_table_new ();
  ep->pending_txns = g_hash_table_new (g_int64_hash, g_int64_equal);
  ep->pending_merges = g_hash_table_new (g_int64_hash, g_int64_equal);
  stox_sip_txn_secret_init (&ep->secret);
  ep->answered = stox_sip_txn_table_new (TIMER_J_MS);
  ep->unanswered = stox_fifo_timer_new ("stox-sip unanswered requests",
                                        config->unanswered_ms != 0 ? config->unanswered_ms
                                                                   : UNANSWERED_LIMIT_MS,
                                        stox_sip_incoming_expired, ep);
  ep->client_ops = op_table_new ();
  ep->subscribe_ops = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) stox_sip_op_free);

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
  ep->logs = stox_sofia_logs_redirect ();

  ep->home = su_home_new (sizeof (su_home_t));
  /* The core's list (core/methods.h): the stack refuses other methods
   * with 405 or 501 (RFC 3261 §8.2.1) and every answer carries it. */
  ep->allow = ep->home != NULL ? sip_allow_make (ep->home, stox_sip_allowed_methods ()) : NULL;
  if (ep->allow == NULL)
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_INIT,
                   "cannot initialise Sofia-SIP");
      return NULL;
    }
  if (config->outbound_proxy != NULL)
    {
      ep->proxy = url_make (ep->home, config->outbound_proxy);
      if (ep->proxy == NULL || ep->proxy->url_host == NULL)
        {
          g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_INIT,
                       "bad outbound proxy %s", config->outbound_proxy);
          return NULL;
        }
    }

  if (config->trusted_peers != NULL)
    {
      g_autoptr (GError) local = NULL;

      ep->trusted = stox_netmask_list_new (config->trusted_peers, &local);
      if (ep->trusted == NULL)
        {
          g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_INIT,
                       "bad trusted peers: %s", local->message);
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
  /* su_source_dispatch() calls a GSource callback last, after every wait
   * and timer handler has returned. */
  g_source_set_callback (ep->source, after_dispatch, ep, NULL);
  g_source_attach (ep->source, NULL);

  stox_sofia_logs_keep_error (ep->logs, TRUE);
  /* As nua sets it up: a user agent (RFC 3261 §12.2.2 CSeq checks, 482
   * for merged requests, rport in our Via), transports added after. */
  /* Stateless for every request outside the legs: they come to the
   * message callback, and their transactions are ours (incoming.c,
   * server-txn.h); the default leg only sends. */
  ep->agent = nta_agent_create (ep->root, NO_TRANSPORT, stox_sip_incoming_message, ep,
                                NTATAG_STATELESS (1),
                                NTATAG_UA (1),
                                NTATAG_MERGE_482 (1),
                                NTATAG_CLIENT_RPORT (1),
                                /* Timer K (RFC 3261 §17.1.2.2: T4, 5 s over
                                 * UDP) only absorbs copies of a final
                                 * response, which come within a round trip
                                 * of the first; one that comes later is a
                                 * stray response, which the message
                                 * callback drops.  Kept 5 s, each finished
                                 * NOTIFY holds its request and response
                                 * (about 5 KB): at 10 000 watchers a second
                                 * that is 100 000 of them, and even half a
                                 * second left the heap in holes between
                                 * the watchers set up meanwhile (85-112 MB
                                 * free after 100 000, 22-32 MB with 50 ms:
                                 * bench/README.md).  T4 is not used for
                                 * anything else we do (Timer I is for
                                 * INVITE). */
                                NTATAG_SIP_T4 (STOX_SIP_TIMER_K_MS),
                                TAG_END ());
  if (ep->agent != NULL)
    ep->dialogs = stox_sip_dialogs_new (ep, ep->agent, &ep->secret);
  gboolean sips = g_ascii_strncasecmp (config->listen, "sips:", 5) == 0;
  StoxSipTcpLimits limits = {
    .max_connections = config->tcp_max_connections != 0 ? config->tcp_max_connections
                                                         : STOX_SIP_TCP_MAX_CONNECTIONS,
    .max_per_source = config->tcp_max_per_source != 0 ? config->tcp_max_per_source
                                                      : STOX_SIP_TCP_MAX_PER_SOURCE,
    .idle_ms = config->tcp_idle_ms != 0 ? config->tcp_idle_ms
                                        : STOX_SIP_TCP_IDLE_TIMEOUT_S * 1000,
    .fd_reserve = STOX_SIP_FD_RESERVE,
  };
  guint message_ms = config->tcp_message_ms != 0 ? config->tcp_message_ms
                                                 : STOX_SIP_TCP_MESSAGE_TIMEOUT_S * 1000;
  gboolean listening = ep->dialogs != NULL
                       && nta_agent_add_tport (ep->agent, URL_STRING_MAKE (config->listen),
                                               TPTAG_IDENT (sips ? "sips" : "sip"),
                                               /* The kernel's default UDP buffer
                                                * (208 KiB) overflows from ~4000
                                                * MESSAGE/s (bench/README.md); the
                                                * kernel caps this at
                                                * net.core.rmem_max (stoxd(8)). */
                                               TPTAG_UDP_RMEM (STOX_SIP_UDP_BUFFER),
                                               TPTAG_UDP_WMEM (STOX_SIP_UDP_BUFFER),
                                               /* Connections: closed when unused
                                                * (ours too); a message begun and
                                                * then silent is dropped.  The
                                                * guard does the rest (tcp-guard.h). */
                                               TPTAG_IDLE (limits.idle_ms),
                                               TPTAG_TIMEOUT (message_ms),
                                               TAG_IF (config->tls_dir != NULL,
                                                       TPTAG_CERTIFICATE (config->tls_dir)),
                                               /* A TLS server we connect to proves
                                                * who it is: a chain to a CA of
                                                * cafile.pem, in date, and the
                                                * host we asked for among its
                                                * names (RFC 5922 §7.3).  Clients
                                                * connecting to us are not asked
                                                * for certificates. */
                                               TAG_IF (config->tls_dir != NULL,
                                                       TPTAG_TLS_VERIFY_POLICY (TPTLS_VERIFY_SUBJECTS_OUT)),
                                               TAG_IF (config->tls_dir != NULL,
                                                       TPTAG_TLS_VERIFY_DATE (1)),
                                               TAG_IF (config->tls_dir != NULL,
                                                       TPTAG_TLS_VERIFY_DEPTH (STOX_SIP_TLS_VERIFY_DEPTH)),
                                               TAG_END ()) == 0;
  stox_sofia_logs_keep_error (ep->logs, FALSE);
  if (!listening)
    {
      /* errno is long overwritten by then; Sofia's log line has the cause. */
      const char *why = stox_sofia_logs_last_error (ep->logs);

      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_LISTEN,
                   "cannot listen on %s: %s", config->listen,
                   why != NULL ? why : "the SIP stack did not start");
      return NULL;
    }

  ep->tcp_guard = stox_sip_tcp_guard_new (nta_agent_tports (ep->agent), &limits);
  ep->udp_replies = stox_sip_udp_replies_new (ep->agent, ep->user_agent, ep->allow);
  ep->udp_client = stox_sip_udp_client_new (ep->agent, &ep->secret,
                                            stox_sip_outgoing_udp_response, ep);
  if (config->tls_dir != NULL && !stox_sip_tls_release_active ())
    g_warning ("Sofia-SIP's tls_free() is not interposed: every TLS "
               "connection leaks its OpenSSL state");

  /* The bound address (port 0, "*") is known to the stack only. */
  sip_contact_t const *m = nta_agent_contact (ep->agent);
  if (m != NULL)
    ep->bound_actual = stox_sip_convert_url_hostport (m->m_url);

  return g_steal_pointer (&ep);
}

void
stox_sip_endpoint_respond (StoxSipEndpoint     *ep,
                           const StoxSipAnswer *answer)
{
  g_return_if_fail (ep != NULL && answer != NULL);
  g_return_if_fail (answer->status >= 200 && answer->status <= 699);

  StoxToken token = answer->token;
  guint status = answer->status;
  const char *phrase = answer->phrase;
  StoxSipOp *op = g_hash_table_lookup (ep->server_ops, &token);
  if (op == NULL)
    {
      stox_debug ("respond %u to unknown request %" G_GUINT64_FORMAT, status, token);
      return;
    }

  g_autofree char *warn = NULL;
  if (answer->warning != NULL)
    warn = stox_sip_convert_warning (stox_sip_endpoint_get_bound (ep), answer->warning);

  StoxSipReply r;
  StoxSipDialog *created = NULL;
  char tag[STOX_SIP_TXN_TAG_SIZE];

  stox_sip_reply_init (&r, op->method, status);
  r.phrase = phrase;
  r.expires = answer->expires;
  r.min_expires = answer->min_expires;
  r.retry_after = answer->retry_after;
  r.accept = answer->accept;
  r.allow = answer->allow;
  r.warning = warn;

  /* The 2xx to an initial SUBSCRIBE creates the dialog (RFC 6665 §4.2.1),
   * with the To-tag this answer carries. */
  if (status < 300 && op->method == STOX_SIP_METHOD_SUBSCRIBE
      && op->dialog_kind == STOX_SIP_DIALOG_NONE)
    {
      created = stox_sip_dialog_server_new (ep->dialogs, sip_object (op->request),
                                            stox_sip_txn_tag (&op->keys, tag), op->token);
      if (created == NULL)
        {
          stox_sip_reply_init (&r, op->method, 500);
          r.allow = answer->allow;
          status = 500;
        }
    }

  /* Remembered for the retransmissions until Timer J, over UDP only
   * (RFC 3261 §17.2.2: 0 s over a reliable transport). */
  if (op->tport == NULL || !tport_is_reliable (op->tport))
    stox_sip_txn_table_add (ep->answered, &(StoxSipTxnRecord) {
                              .txn = op->keys.txn,
                              .merge = op->keys.merge,
                              .extra = stox_sip_txn_extra_new (&r),
                              .expires = (gint32) CLAMP (r.expires, -1, G_MAXINT32),
                              .status = (guint16) r.status,
                            });
  stox_sip_reply_stateless (ep, g_steal_pointer (&op->request), op->tport, &op->keys, &r);
  stox_debug ("request %" G_GUINT64_FORMAT ": answered %u", token, status);

  /* The 2xx is out: the dialog exists for the watcher too. */
  if (created != NULL)
    stox_sip_dialog_report (created);
  stox_sip_dialog_after_answer (ep->dialogs, op->dialog_kind, op->dialog, op->terminates,
                                status);

  g_hash_table_remove (ep->server_ops, &token);
}

void
stox_sip_endpoint_set_dialog_func (StoxSipEndpoint  *ep,
                                   StoxSipDialogFunc func,
                                   gpointer          user_data)
{
  g_return_if_fail (ep != NULL);

  stox_sip_dialogs_set_func (ep->dialogs, func, user_data);
}

gboolean
stox_sip_endpoint_restore_dialog (StoxSipEndpoint *ep,
                                  StoxToken        id,
                                  const char      *state,
                                  GError         **error)
{
  g_return_val_if_fail (ep != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!stox_sip_dialog_restore (ep->dialogs, id, state, error))
    return FALSE;
  /* Our request tokens name server dialogs: new ones stay clear of it. */
  ep->last_token = MAX (ep->last_token, id);
  return TRUE;
}

void
stox_sip_endpoint_forget_dialog (StoxSipEndpoint *ep,
                                 StoxToken        id)
{
  g_return_if_fail (ep != NULL);

  stox_sip_dialog_drop (ep->dialogs, id);
}

void
stox_sip_endpoint_set_dispatch_func (StoxSipEndpoint    *ep,
                                     StoxSipDispatchFunc func,
                                     gpointer            user_data)
{
  g_return_if_fail (ep != NULL);

  ep->dispatch_func = func;
  ep->dispatch_data = user_data;
}

void
stox_sip_endpoint_count_transactions (StoxSipEndpoint *ep,
                                      guint           *ret_server,
                                      guint           *ret_client)
{
  *ret_server = g_hash_table_size (ep->server_ops);
  *ret_client = dialog_ops_in_flight (ep);
}

const char *
stox_sip_endpoint_get_bound (StoxSipEndpoint *ep)
{
  g_return_val_if_fail (ep != NULL, NULL);

  return ep->bound_actual != NULL ? ep->bound_actual : ep->bound_configured;
}

guint
stox_sip_endpoint_requests_in_flight (StoxSipEndpoint *ep)
{
  g_return_val_if_fail (ep != NULL, 0);
  return dialog_ops_in_flight (ep);
}

void
stox_sip_endpoint_get_stats (StoxSipEndpoint      *ep,
                             StoxSipEndpointStats *stats)
{
  usize_t irqs = 0, orqs = 0;

  g_return_if_fail (ep != NULL && stats != NULL);

  if (ep->agent != NULL)
    nta_agent_get_stats (ep->agent,
                         NTATAG_S_IRQ_HASH_USED_REF (irqs),
                         NTATAG_S_ORQ_HASH_USED_REF (orqs),
                         TAG_END ());
  *stats = (StoxSipEndpointStats) {
    .requests_pending = g_hash_table_size (ep->server_ops),
    .requests_answered = stox_sip_txn_table_length (ep->answered),
    .requests_sent = dialog_ops_in_flight (ep),
    .stack_server_txns = (guint) irqs,
    .stack_client_txns = (guint) orqs,
    .replies_as_text = stox_sip_udp_replies_sent (ep->udp_replies),
    .requests_as_text = stox_sip_udp_client_sent (ep->udp_client),
    .requests_retransmitted = stox_sip_udp_client_retransmitted (ep->udp_client),
  };
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
      StoxSipReply r;

      stox_sip_reply_init (&r, op->method, 503);
      r.contact = r.events = FALSE;
      stox_sip_reply_stateless (ep, g_steal_pointer (&op->request), op->tport, &op->keys, &r);
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
  /* Their room goes to the NOTIFYs that waited for some. */
  stox_sip_outgoing_send_waiting (ep);

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
  g_clear_handle_id (&ep->shutdown_timer, g_source_remove);

  stox_sip_outgoing_drop_waiting (ep);
  /* Transactions and legs belong to the agent: release them first. */
  g_clear_pointer (&ep->server_ops, g_hash_table_unref);
  g_clear_pointer (&ep->pending_txns, g_hash_table_unref);
  g_clear_pointer (&ep->pending_merges, g_hash_table_unref);
  g_clear_pointer (&ep->answered, stox_sip_txn_table_free);
  g_clear_pointer (&ep->client_ops, g_hash_table_unref);
  g_clear_pointer (&ep->subscribe_ops, g_hash_table_unref);
  g_clear_pointer (&ep->dialogs, stox_sip_dialogs_free);
  g_clear_pointer (&ep->udp_replies, stox_sip_udp_replies_free);
  /* After the ops, whose transactions it holds; before the agent, whose
   * transports it is pending on. */
  g_clear_pointer (&ep->udp_client, stox_sip_udp_client_free);
  g_clear_pointer (&ep->agent, nta_agent_destroy);
  /* The names of the last server certificate the agent checked. */
  stox_sip_tls_release_flush ();
  g_clear_pointer (&ep->tcp_guard, stox_sip_tcp_guard_free);
  g_clear_pointer (&ep->trusted, stox_netmask_list_free);
  /* After the ops, whose entries it holds. */
  g_clear_pointer (&ep->unanswered, stox_fifo_timer_free);

  if (ep->source != NULL)
    g_source_destroy (ep->source);
  if (ep->root != NULL)
    su_root_destroy (ep->root);
  g_clear_pointer (&ep->logs, stox_sofia_logs_restore);
  if (ep->home != NULL)
    su_home_unref (ep->home);
  if (ep->su_initialised)
    su_deinit ();

  g_free (ep->user_agent);
  g_free (ep->request_headers);
  g_free (ep->bound_configured);
  g_free (ep->bound_actual);
  g_free (ep);
}
