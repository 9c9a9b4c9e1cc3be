/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The XEP-0114 component link (docs/mappings.md §7) over libstrophe, on the
 * GLib loop through gsource.c.  A thin translator: stanzas go through
 * convert.c, the link state goes to the daemon, reconnects follow
 * core/backoff.h on a GLib timer; confirm.c knows which sent stanzas the
 * server has read.
 *
 * libstrophe 0.12.2 facts this file works around:
 *  - component connections never get the stream-management state that
 *    client connections allocate, and every received stanza and every
 *    disconnect dereferences it (SIGSEGV).  A client connect attempt whose
 *    socket we refuse allocates it once, without touching the network
 *    (prime_sm_state);
 *  - a refused TCP connect reaches the connection handler with error 0;
 *    the errno is only in a debug log line, which the log handler reads;
 *    likewise "RECV:" lines tell that input was handled (see on_strophe_log);
 *  - there is no setter for the connect timeout (5 s) and no timeout for a
 *    server that accepts TCP but never opens the stream: our own attempt
 *    deadline covers that;
 *  - send() is called without MSG_NOSIGNAL: SIGPIPE must be ignored;
 *  - nothing in its API says which queued element has been written; its
 *    "SENT:" debug line, logged once an element is written in full (the
 *    log handler is called at every level), is the only sign (used for
 *    the confirmation ping, see confirm.c), and at a disconnect the queue
 *    is kept until the next connect frees it unsent;
 *  - xmpp_conn_release() fires the connection handler.
 */
#include "config.h"

#include "component.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strophe.h>

#include "core/backoff.h"
#include "confirm.h"
#include "convert.h"
#include "gsource.h"

/* clang-format off */
G_DEFINE_QUARK (stox-xmpp-component-error-quark, stox_xmpp_component_error)
/* clang-format on */

#define DEFAULT_BACKOFF_BASE_MS 1000
#define DEFAULT_BACKOFF_CAP_MS  60000
#define DEFAULT_QUEUE_LIMIT     10000
/* From the start of an attempt to the handshake.  libstrophe closes 2 s
 * after we give up, so a silent server is reported DOWN about 10 s after
 * the attempt began (stoxd(8): READY after at most 10 s). */
#define DEFAULT_ATTEMPT_MS      8000
/* libstrophe forces the close 2 s after </stream:stream>; so do we. */
#define STOP_DEADLINE_MS        2000
#define MAX_ATTEMPT_EXPONENT    32
/* Confirmation pings (confirm.h): one per batch of stanzas, at most one
 * this often.  Under load a batch is one SIP request's stanza and the
 * round trip to the server a tenth of a millisecond, so a ping per round
 * trip was thousands a second, each built, read back and matched: 5 % of
 * stoxd's CPU at 20 000 MESSAGEs/s (bench/README.md).  The price is that
 * a stanza waits up to this much longer to be known read. */
#define CONFIRM_PING_INTERVAL_MS 2

struct _StoxXmppComponent
{
  char              *jid;
  char              *secret;
  char              *server;
  guint16            port;

  StoxXmppStanzaFunc on_stanza;
  StoxXmppLinkFunc   on_link;
  gpointer           user_data;
  StoxXmppDispatchFunc dispatch_func;   /* after each dispatch of `source` */
  gpointer           dispatch_data;
  gsize              max_stanza_size;  /* 0: none */
  StoxXmppConfirm    confirm;          /* what the server has read (confirm.h) */

  xmpp_log_t         log;
  xmpp_ctx_t        *ctx;
  xmpp_conn_t       *conn;
  GSource           *source;

  guint              backoff_base_ms;
  guint              backoff_cap_ms;
  gsize              queue_limit;
  guint              attempt_ms;
  guint              attempt;          /* failures since the last handshake */

  guint              retry_id;
  guint              deadline_id;
  guint              fail_id;          /* reports a failure from connect() */
  guint              stop_id;
  guint              done_id;
  guint              ping_id;          /* a confirmation ping due later */
  gint64             last_ping_us;

  char              *pending_reason;   /* for fail_id */
  int                connect_errno;    /* read from libstrophe's log */
  gboolean           deadline_hit;
  gboolean           started;
  gboolean           up;
  gboolean           stopping;
  gboolean           freeing;
  gboolean           reading;          /* back-pressure: see _set_reading */
  GSourceFunc        done;
  gpointer           done_data;
};

static guint library_users;

static void attempt_connect (StoxXmppComponent *c);

/* ---- logging ----------------------------------------------------------- */

/* libstrophe logs what it queues and sends, the XEP-0114 §3 handshake
 * included: SHA-1 (stream id + secret) is enough to guess a weak secret
 * offline.  The hash becomes "[redacted]"; NULL when `msg` holds none. */
static char *
redact_handshake (const char *msg)
{
  const char *open = strstr (msg, "<handshake");
  const char *start, *end;

  if (open == NULL)
    return NULL;
  start = strchr (open, '>');
  if (start == NULL || start[-1] == '/')
    return NULL;  /* cut short, or the server's empty <handshake/> */
  start++;
  end = strstr (start, "</handshake>");
  if (end == start)
    return NULL;
  return g_strdup_printf ("%.*s[redacted]%s", (int) (start - msg), msg, end != NULL ? end : "");
}

/* libstrophe's debug lines carry whole stanzas, so they stay at debug.  Its
 * warnings and errors are about the peer or the link, which we report
 * ourselves once; they go out as messages, not as GLib warnings. */
static void
on_strophe_log (void             *userdata,
                xmpp_log_level_t  level,
                const char       *area,
                const char       *msg)
{
  static const char refused[] = "connection failed, error ";
  StoxXmppComponent *c = userdata;
  GLogLevelFlags glevel;

  if (level == XMPP_LEVEL_DEBUG && g_str_has_prefix (msg, refused))
    c->connect_errno = atoi (msg + strlen (refused));
  /* libstrophe handled input (a stream header, a stanza): it may have
   * queued an answer of its own, such as the handshake, which the user
   * send-queue length does not show and which it writes only at the start
   * of its next run.  The input may have been read by its own select()
   * after GLib's poll, so G_IO_IN alone would miss it (a 1 s stall). */
  if (level == XMPP_LEVEL_DEBUG && g_str_has_prefix (msg, "RECV:") && c->source != NULL)
    stox_xmpp_source_kick (c->source);
  if (level == XMPP_LEVEL_DEBUG)
    stox_xmpp_confirm_log_line (&c->confirm, area, msg);

  switch (level)
    {
    case XMPP_LEVEL_DEBUG: glevel = G_LOG_LEVEL_DEBUG; break;
    case XMPP_LEVEL_INFO:  glevel = G_LOG_LEVEL_INFO; break;
    case XMPP_LEVEL_WARN:
    case XMPP_LEVEL_ERROR:
    default:               glevel = G_LOG_LEVEL_MESSAGE; break;
    }
  if (glevel == G_LOG_LEVEL_DEBUG && g_log_writer_default_would_drop (glevel, G_LOG_DOMAIN))
    return;
  g_autofree char *redacted = redact_handshake (msg);
  g_log_structured (G_LOG_DOMAIN, glevel,
                    "STROPHE_AREA", area,
                    "MESSAGE", "libstrophe %s: %s", area, redacted != NULL ? redacted : msg);
}

/* ---- link state -------------------------------------------------------- */

static void
clear_timers (StoxXmppComponent *c)
{
  g_clear_handle_id (&c->retry_id, g_source_remove);
  g_clear_handle_id (&c->deadline_id, g_source_remove);
  g_clear_handle_id (&c->fail_id, g_source_remove);
  g_clear_handle_id (&c->ping_id, g_source_remove);
  g_clear_pointer (&c->pending_reason, g_free);
}

static gboolean
on_retry (gpointer data)
{
  StoxXmppComponent *c = data;

  c->retry_id = 0;
  attempt_connect (c);
  return G_SOURCE_REMOVE;
}

/* Every failed attempt and every lost stream ends here: schedule the next
 * attempt (stoxd(8)), log once, tell the daemon. */
static void
link_down (StoxXmppComponent *c,
           const char        *reason)
{
  guint delay_ms = stox_backoff_delay_ms (c->attempt, c->backoff_base_ms,
                                          c->backoff_cap_ms, g_random_double ());
  guint retry_s = (delay_ms + 999) / 1000;

  if (c->attempt < MAX_ATTEMPT_EXPONENT)
    c->attempt++;
  g_clear_handle_id (&c->retry_id, g_source_remove);
  c->retry_id = g_timeout_add (delay_ms, on_retry, c);

  /* The daemon says it to the operator, at the priority it deserves. */
  g_debug ("XMPP component %s: link down (%s); retry in %u s", c->jid, reason, retry_s);
  if (c->on_link != NULL)
    c->on_link (STOX_XMPP_LINK_DOWN, retry_s, reason, c->user_data);
}

static gboolean
on_connect_failed (gpointer data)
{
  StoxXmppComponent *c = data;
  g_autofree char *reason = g_steal_pointer (&c->pending_reason);

  c->fail_id = 0;
  link_down (c, reason);
  return G_SOURCE_REMOVE;
}

static gboolean
on_deadline (gpointer data)
{
  StoxXmppComponent *c = data;

  c->deadline_id = 0;
  if (c->up || xmpp_conn_is_disconnected (c->conn))
    return G_SOURCE_REMOVE;
  /* TCP is up but the stream or the handshake never came.  libstrophe
   * sends </stream:stream> and closes 2 s later; the connection handler
   * reports it. */
  c->deadline_hit = TRUE;
  xmpp_disconnect (c->conn);
  stox_xmpp_source_kick (c->source);
  return G_SOURCE_REMOVE;
}

static gboolean
on_done (gpointer data)
{
  StoxXmppComponent *c = data;
  GSourceFunc done = c->done;

  c->done_id = 0;
  g_clear_handle_id (&c->stop_id, g_source_remove);
  c->done = NULL;
  if (done != NULL)
    done (c->done_data);
  return G_SOURCE_REMOVE;
}

static void
schedule_done (StoxXmppComponent *c)
{
  if (c->done_id == 0)
    c->done_id = g_idle_add (on_done, c);
}

static gboolean
on_stop_deadline (gpointer data)
{
  StoxXmppComponent *c = data;

  c->stop_id = 0;
  g_info ("XMPP component %s: the server did not close the stream in time", c->jid);
  schedule_done (c);
  return G_SOURCE_REMOVE;
}

/* "not-authorized: Given token does not match calculated token" */
static char *
describe_stream_error (xmpp_stream_error_t *se)
{
  const char *condition = NULL;

  if (se->stanza != NULL)
    for (xmpp_stanza_t *ch = xmpp_stanza_get_children (se->stanza); ch != NULL;
         ch = xmpp_stanza_get_next (ch))
      if (xmpp_stanza_is_tag (ch)
          && g_strcmp0 (xmpp_stanza_get_ns (ch), STOX_XMPP_NS_STREAMS) == 0
          && g_strcmp0 (xmpp_stanza_get_name (ch), "text") != 0)
        {
          condition = xmpp_stanza_get_name (ch);
          break;
        }
  if (condition == NULL)
    condition = "undefined-condition";

  if (se->text != NULL && *se->text != '\0' && stox_xmpp_text_is_valid (se->text))
    return g_strdup_printf ("stream error %s: %s", condition, se->text);
  return g_strdup_printf ("stream error %s", condition);
}

static char *
describe_disconnect (StoxXmppComponent   *c,
                     int                  error,
                     xmpp_stream_error_t *se,
                     gboolean             was_up)
{
  if (se != NULL)
    return describe_stream_error (se);
  if (c->deadline_hit)
    return g_strdup_printf ("no answer from %s:%u within %.1f s",
                            c->server, c->port, c->attempt_ms / 1000.0);
  if (error == ECONNRESET && was_up)
    return g_strdup ("connection closed by the server");
  if (error != 0)
    return g_strdup_printf ("%s:%u: %s", c->server, c->port, g_strerror (error));
  if (c->connect_errno != 0)
    return g_strdup_printf ("cannot connect to %s:%u: %s", c->server, c->port,
                            g_strerror (c->connect_errno));
  if (was_up)
    return g_strdup ("stream closed by the server");
  return g_strdup_printf ("%s:%u closed the connection before the handshake",
                          c->server, c->port);
}

static void
on_conn_event (xmpp_conn_t         *conn,
               xmpp_conn_event_t    event,
               int                  error,
               xmpp_stream_error_t *stream_error,
               void                *userdata)
{
  StoxXmppComponent *c = userdata;

  (void) conn;
  if (c->freeing)
    return;

  switch (event)
    {
    case XMPP_CONN_CONNECT:
      g_clear_handle_id (&c->deadline_id, g_source_remove);
      c->up = TRUE;
      c->attempt = 0;
      if (c->stopping)
        {
          /* stop() came during the handshake; its xmpp_disconnect() was a
           * no-op before the stream existed. */
          xmpp_disconnect (c->conn);
          stox_xmpp_source_kick (c->source);
          return;
        }
      g_info ("XMPP component %s: connected to %s:%u", c->jid, c->server, c->port);
      if (c->on_link != NULL)
        c->on_link (STOX_XMPP_LINK_UP, 0, NULL, c->user_data);
      break;

    case XMPP_CONN_RAW_CONNECT:
      break;

    case XMPP_CONN_DISCONNECT:
    case XMPP_CONN_FAIL:
    default:
      {
        gboolean was_up = c->up;
        g_autofree char *reason = NULL;

        stox_xmpp_source_drop_fd (c->source);
        g_clear_handle_id (&c->deadline_id, g_source_remove);
        c->up = FALSE;
        if (c->stopping)
          {
            g_info ("XMPP component %s: stream closed", c->jid);
            stox_xmpp_confirm_drop (&c->confirm);
            schedule_done (c);
            return;
          }
        reason = describe_disconnect (c, error, stream_error, was_up);
        link_down (c, reason);
        stox_xmpp_confirm_report (&c->confirm, c->jid);
      }
      break;
    }
}

static int
on_strophe_stanza (xmpp_conn_t   *conn,
                   xmpp_stanza_t *stanza,
                   void          *userdata)
{
  StoxXmppComponent *c = userdata;
  g_autoptr(GError) error = NULL;
  g_autoptr(StoxStanza) st = NULL;

  (void) conn;
  if (c->freeing || c->stopping)
    return 1;
  /* The component's own: not a stanza for the caller. */
  if (stox_xmpp_confirm_answer (&c->confirm, stanza, c->jid))
    return 1;
  st = stox_xmpp_stanza_decode (stanza, &error);
  if (st == NULL)
    {
      g_debug ("XMPP component %s: ignoring <%s/>: %s", c->jid,
               xmpp_stanza_get_name (stanza), error->message);
      return 1;
    }
  if (c->on_stanza != NULL)
    c->on_stanza (g_steal_pointer (&st), c->user_data);
  return 1;   /* keep the handler */
}

static void
attempt_connect (StoxXmppComponent *c)
{
  int rc, saved_errno, refused_fd;

  c->deadline_hit = FALSE;
  c->connect_errno = 0;
  g_info ("XMPP component %s: connecting to %s:%u", c->jid, c->server, c->port);

  /* Blocking only for name resolution: keep `server` numeric. */
  errno = 0;
  rc = xmpp_connect_component (c->conn, c->server, c->port, on_conn_event, c);
  saved_errno = errno;
  stox_xmpp_source_sync (c->source);
  refused_fd = stox_xmpp_source_take_refused_fd (c->source);

  if (rc == XMPP_EOK)
    {
      c->deadline_id = g_timeout_add (c->attempt_ms, on_deadline, c);
      stox_xmpp_source_kick (c->source);
      return;
    }

  /* Failed before any event: report it from the loop, like the others. */
  g_free (c->pending_reason);
  if (refused_fd >= 0)
    c->pending_reason = g_strdup_printf ("socket descriptor %d is too large for libstrophe",
                                         refused_fd);
  else if (saved_errno != 0)
    c->pending_reason = g_strdup_printf ("cannot connect to %s:%u: %s", c->server,
                                         c->port, g_strerror (saved_errno));
  else
    c->pending_reason = g_strdup_printf ("cannot connect to %s:%u (error %d)",
                                         c->server, c->port, rc);
  g_clear_handle_id (&c->fail_id, g_source_remove);
  c->fail_id = g_idle_add (on_connect_failed, c);
}

/* ---- set-up ------------------------------------------------------------ */

static int
refuse_socket (xmpp_conn_t *conn,
               void        *sock)
{
  (void) conn;
  (void) sock;
  return -1;
}

static void
ignore_event (xmpp_conn_t         *conn,
              xmpp_conn_event_t    event,
              int                  error,
              xmpp_stream_error_t *stream_error,
              void                *userdata)
{
  (void) conn;
  (void) event;
  (void) error;
  (void) stream_error;
  (void) userdata;
}

/* See the top of the file: xmpp_connect_client() allocates the SM state
 * before it connects; with every socket refused it stops there, the
 * connection still disconnected, and keeps the state for later connects. */
static void
prime_sm_state (xmpp_conn_t *conn)
{
  xmpp_conn_set_sockopt_callback (conn, refuse_socket);
  (void) xmpp_connect_client (conn, "127.0.0.1", 1, ignore_event, NULL);
  xmpp_conn_set_sockopt_callback (conn, NULL);
}

static void
library_ref (void)
{
  struct sigaction sa;

  if (library_users++ > 0)
    return;
  xmpp_initialize ();
  /* libstrophe writes with send (…, 0): a server that went away would kill
   * the process with SIGPIPE. */
  if (sigaction (SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
    signal (SIGPIPE, SIG_IGN);
}

static void
library_unref (void)
{
  g_return_if_fail (library_users > 0);
  if (--library_users == 0)
    xmpp_shutdown ();
}

static void confirm_soon (StoxXmppComponent *c);

static gboolean
on_ping_due (gpointer data)
{
  StoxXmppComponent *c = data;

  c->ping_id = 0;
  confirm_soon (c);
  return G_SOURCE_REMOVE;
}

/* Stanzas wait for confirmation and none is asked for yet: a ping now, or
 * once CONFIRM_PING_INTERVAL_MS has passed since the last. */
static void
confirm_soon (StoxXmppComponent *c)
{
  if (!c->up || c->stopping || c->freeing || c->ping_id != 0
      || !stox_xmpp_confirm_wants_ping (&c->confirm))
    return;

  gint64 now = g_get_monotonic_time ();
  gint64 wait = c->last_ping_us + CONFIRM_PING_INTERVAL_MS * 1000 - now;

  if (wait > 0)
    c->ping_id = g_timeout_add ((guint) ((wait + 999) / 1000), on_ping_due, c);
  else if (stox_xmpp_confirm_ping (&c->confirm, c->conn, c->jid))
    c->last_ping_us = now;
}

/* libstrophe is done with this dispatch: the daemon's turn. */
static gboolean
after_dispatch (gpointer user_data)
{
  StoxXmppComponent *c = user_data;

  if (c->dispatch_func != NULL && !c->freeing)
    c->dispatch_func (c->dispatch_data);
  /* One ping per batch at most. */
  confirm_soon (c);
  return G_SOURCE_CONTINUE;
}

void
stox_xmpp_component_set_unsent_func (StoxXmppComponent *c,
                                     StoxXmppStanzaFunc func,
                                     gpointer           user_data)
{
  g_return_if_fail (c != NULL);

  c->confirm.unsent_func = func;
  c->confirm.unsent_data = user_data;
}

void
stox_xmpp_component_set_dispatch_func (StoxXmppComponent   *c,
                                       StoxXmppDispatchFunc func,
                                       gpointer             user_data)
{
  g_return_if_fail (c != NULL);

  c->dispatch_func = func;
  c->dispatch_data = user_data;
}

StoxXmppComponent *
stox_xmpp_component_new (const StoxXmppComponentConfig *config,
                         StoxXmppStanzaFunc             on_stanza,
                         StoxXmppLinkFunc               on_link,
                         gpointer                       user_data)
{
  StoxXmppComponent *c;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (config->jid != NULL && config->secret != NULL, NULL);
  g_return_val_if_fail (config->server != NULL, NULL);

  library_ref ();

  c = g_new0 (StoxXmppComponent, 1);
  c->jid = g_strdup (config->jid);
  c->secret = g_strdup (config->secret);
  c->server = g_strdup (config->server);
  c->port = config->port != 0 ? config->port : 5347;
  c->on_stanza = on_stanza;
  c->on_link = on_link;
  c->user_data = user_data;
  c->max_stanza_size = config->max_stanza_size;
  stox_xmpp_confirm_init (&c->confirm);
  c->backoff_base_ms = DEFAULT_BACKOFF_BASE_MS;
  c->backoff_cap_ms = DEFAULT_BACKOFF_CAP_MS;
  c->queue_limit = DEFAULT_QUEUE_LIMIT;
  c->reading = TRUE;
  c->attempt_ms = DEFAULT_ATTEMPT_MS;

  c->log.handler = on_strophe_log;
  c->log.userdata = c;
  c->ctx = xmpp_ctx_new (NULL, &c->log);
  c->conn = xmpp_conn_new (c->ctx);
  if (c->ctx == NULL || c->conn == NULL)
    g_error ("libstrophe: out of memory");
  xmpp_conn_set_jid (c->conn, c->jid);
  xmpp_conn_set_pass (c->conn, c->secret);
  prime_sm_state (c->conn);
  xmpp_handler_add (c->conn, on_strophe_stanza, NULL, NULL, NULL, c);

  c->source = stox_xmpp_source_new (c->ctx, c->conn);
  g_source_set_callback (c->source, after_dispatch, c, NULL);
  g_source_attach (c->source, NULL);
  return c;
}

/* ---- the API ----------------------------------------------------------- */

void
stox_xmpp_component_start (StoxXmppComponent *c)
{
  g_return_if_fail (c != NULL);
  g_return_if_fail (!c->started);

  c->started = TRUE;
  if (!c->stopping)
    attempt_connect (c);
}

/* The stanza's text, rendered once so that its size is known before it is
 * queued (xmpp_send() would render it the same way).  Messages and
 * presences, the stanzas of every SIP MESSAGE and subscription, are
 * written directly (convert.h); IQs are built as libstrophe trees and
 * rendered. */
static char *
render (StoxXmppComponent *c,
        const StoxStanza  *st,
        gsize             *ret_len,
        GError           **error)
{
  g_autoptr(GError) invalid = NULL;
  xmpp_stanza_t *stanza;
  char *text = NULL;
  size_t len = 0;
  int rc;

  if (st->kind == STOX_STANZA_MESSAGE || st->kind == STOX_STANZA_PRESENCE)
    {
      char *own = stox_xmpp_stanza_text (st, ret_len, &invalid);

      if (own == NULL)
        g_set_error (error, STOX_XMPP_COMPONENT_ERROR, STOX_XMPP_COMPONENT_ERROR_INVALID,
                     "%s", invalid->message);
      return own;
    }
  stanza = stox_xmpp_stanza_encode (c->ctx, st, &invalid);
  if (stanza == NULL)
    {
      g_set_error (error, STOX_XMPP_COMPONENT_ERROR, STOX_XMPP_COMPONENT_ERROR_INVALID,
                   "%s", invalid->message);
      return NULL;
    }
  rc = xmpp_stanza_to_text (stanza, &text, &len);
  xmpp_stanza_release (stanza);
  if (rc != XMPP_EOK)
    {
      g_set_error (error, STOX_XMPP_COMPONENT_ERROR, STOX_XMPP_COMPONENT_ERROR_INVALID,
                   "libstrophe cannot render the stanza (error %d)", rc);
      return NULL;
    }
  /* One owner for both kinds: g_free(). */
  char *copy = g_strndup (text, len);
  xmpp_free (c->ctx, text);
  *ret_len = len;
  return copy;
}

gboolean
stox_xmpp_component_send (StoxXmppComponent *c,
                          const StoxStanza  *st,
                          GError           **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;

  g_return_val_if_fail (c != NULL, FALSE);
  g_return_val_if_fail (st != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The caller logs the failure, once. */
  if (!c->up || c->stopping)
    {
      g_set_error (error, STOX_XMPP_COMPONENT_ERROR, STOX_XMPP_COMPONENT_ERROR_DOWN,
                   "XMPP link down");
      return FALSE;
    }
  /* Every stanza in libstrophe's queue is among the unconfirmed: one
   * bound covers both (a server that stops reading fills it). */
  if (stox_xmpp_confirm_len (&c->confirm) >= c->queue_limit)
    {
      g_set_error (error, STOX_XMPP_COMPONENT_ERROR, STOX_XMPP_COMPONENT_ERROR_CONGESTED,
                   "XMPP send queue full (%zu stanzas not yet confirmed read)",
                   c->queue_limit);
      return FALSE;
    }
  text = render (c, st, &len, error);
  if (text == NULL)
    return FALSE;
  /* The server would close the stream on a stanza over its limit
   * (RFC 6120 §13.12) and lose everything queued behind it. */
  if (c->max_stanza_size != 0 && len > c->max_stanza_size)
    {
      g_set_error (error, STOX_XMPP_COMPONENT_ERROR, STOX_XMPP_COMPONENT_ERROR_INVALID,
                   "%zu bytes, over max-stanza-size (%zu)", len, c->max_stanza_size);
      return FALSE;
    }
  xmpp_send_raw (c->conn, text, len);
  stox_xmpp_confirm_queued (&c->confirm, st);
  /* The source's prepare() sees the longer queue and runs libstrophe in
   * this main-loop iteration. */
  return TRUE;
}

gboolean
stox_xmpp_component_is_up (StoxXmppComponent *c)
{
  g_return_val_if_fail (c != NULL, FALSE);
  return c->up && !c->stopping;
}

gsize
stox_xmpp_component_queue_len (StoxXmppComponent *c)
{
  g_return_val_if_fail (c != NULL, 0);
  return stox_xmpp_confirm_user_queue_len (&c->confirm, c->conn);
}

gsize
stox_xmpp_component_unconfirmed_len (StoxXmppComponent *c)
{
  g_return_val_if_fail (c != NULL, 0);
  return stox_xmpp_confirm_len (&c->confirm);
}

void
stox_xmpp_component_stop (StoxXmppComponent *c,
                          GSourceFunc        done,
                          gpointer           done_data)
{
  g_return_if_fail (c != NULL);

  c->done = done;
  c->done_data = done_data;
  if (c->stopping)
    return;
  c->stopping = TRUE;
  clear_timers (c);

  if (xmpp_conn_is_disconnected (c->conn))
    {
      schedule_done (c);
      return;
    }
  /* </stream:stream> goes after what is queued; the server answers with
   * its own, and the connection handler schedules `done`. */
  g_info ("XMPP component %s: closing the stream", c->jid);
  xmpp_disconnect (c->conn);
  stox_xmpp_source_kick (c->source);
  c->stop_id = g_timeout_add (STOP_DEADLINE_MS, on_stop_deadline, c);
}

void
stox_xmpp_component_free (StoxXmppComponent *c)
{
  if (c == NULL)
    return;

  c->freeing = TRUE;
  clear_timers (c);
  g_clear_handle_id (&c->stop_id, g_source_remove);
  g_clear_handle_id (&c->done_id, g_source_remove);
  if (c->source != NULL)
    {
      g_source_destroy (c->source);
      g_clear_pointer (&c->source, g_source_unref);
    }
  /* Closes the socket if still open; the handler ignores it (freeing). */
  xmpp_conn_release (c->conn);
  xmpp_ctx_free (c->ctx);
  stox_xmpp_confirm_drop (&c->confirm);

  g_free (c->jid);
  g_free (c->server);
  if (c->secret != NULL)
    explicit_bzero (c->secret, strlen (c->secret));
  g_free (c->secret);
  g_free (c);
  library_unref ();
}

void
stox_xmpp_component_set_backoff (StoxXmppComponent *c,
                                 guint              base_ms,
                                 guint              cap_ms)
{
  g_return_if_fail (c != NULL);
  g_return_if_fail (base_ms > 0 && cap_ms >= base_ms);
  c->backoff_base_ms = base_ms;
  c->backoff_cap_ms = cap_ms;
}

void
stox_xmpp_component_set_attempt_timeout (StoxXmppComponent *c,
                                         guint              timeout_ms)
{
  g_return_if_fail (c != NULL);
  g_return_if_fail (timeout_ms > 0);
  c->attempt_ms = timeout_ms;
}

void
stox_xmpp_component_set_reading (StoxXmppComponent *c,
                                 gboolean           reading)
{
  g_return_if_fail (c != NULL);
  if (c->reading == reading)
    return;
  c->reading = reading;
  g_debug ("XMPP component %s: reading %s", c->jid, reading ? "resumed" : "paused");
  stox_xmpp_source_set_reading (c->source, reading);
}

gboolean
stox_xmpp_component_get_reading (StoxXmppComponent *c)
{
  g_return_val_if_fail (c != NULL, TRUE);
  return c->reading;
}

void
stox_xmpp_component_set_queue_limit (StoxXmppComponent *c,
                                     gsize              max_stanzas)
{
  g_return_if_fail (c != NULL);
  c->queue_limit = max_stanzas;
}

guint64
stox_xmpp_component_get_wakeups (StoxXmppComponent *c)
{
  g_return_val_if_fail (c != NULL, 0);
  return stox_xmpp_source_get_dispatch_count (c->source);
}

guint64
stox_xmpp_component_get_pings (StoxXmppComponent *c)
{
  g_return_val_if_fail (c != NULL, 0);
  return c->confirm.ping_serial;
}
