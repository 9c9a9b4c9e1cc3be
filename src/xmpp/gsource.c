/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libstrophe on the GLib loop (model-codebases.md §3.4).
 *
 * Which events to watch, after every call into libstrophe:
 *  - G_IO_IN | G_IO_ERR | G_IO_HUP whenever a socket exists;
 *  - G_IO_OUT while the TCP connect is in progress (completion and failure
 *    both show as writable), and while output is pending.  "Pending" is
 *    xmpp_conn_send_queue_len() > 0, or the socket not being writable right
 *    after xmpp_run_once() wrote: that function counts only user stanzas
 *    and leaves out one written in part, so a send buffer that filled up is
 *    how we learn that libstrophe still holds bytes.
 * Stream-level bytes libstrophe queues itself (the stream header, the
 * handshake, answers to stream errors) while handling an event are flushed
 * by running it once more at once after any dispatch that read input or
 * completed the TCP connect (the "kick"; the component also kicks when
 * libstrophe logs that it handled input, which its own select() may have
 * read after GLib's poll).
 *
 * Back-pressure (stox_xmpp_source_set_reading): libstrophe reads whenever
 * it runs and its select() finds the socket readable, and it runs for
 * output too; so reading is switched off in the kernel, with SO_RCVLOWAT
 * (poll and select report a TCP socket readable only from that many
 * bytes; Linux caps the value at half the receive buffer, so at worst one
 * read of libstrophe's 4 KiB slips through each run once the buffer is
 * half full), and G_IO_IN leaves our own watch.
 *
 * prepare() makes the source ready at once when stanzas were queued since
 * the last run (stox_xmpp_component_send() from a SIP handler goes out in
 * the same main-loop iteration); otherwise a tick one second after the
 * last run, while a connection exists, is the only timer.  No connection,
 * no wake-up.  The tick is handed to the poll by prepare() rather than
 * with g_source_set_ready_time(), which writes the context's wake-up
 * eventfd on every change: once per run, so per stanza under load.
 */
#include "config.h"

#include "gsource.h"

#include "core/deadline.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>

#define TICK_US (G_USEC_PER_SEC)
/* The longest a written stanza stays corked while the loop has work
 * (bench/README.md, latency row). */
#define CORK_MAX_US 250

typedef struct
{
  GSource       source;
  xmpp_ctx_t   *ctx;
  xmpp_conn_t  *conn;
  int           new_fd;      /* the socket libstrophe created last, or -1 */
  int           fd;          /* the socket watched, or -1 */
  gpointer      tag;
  GIOCondition  events;
  int           queue_mark;  /* user queue length after the last run */
  gboolean      kick;
  int           refused_fd;
  guint64       dispatches;
  gint64        tick_at;     /* monotonic µs of the next timer run; -1: none */
  gboolean      paused;      /* reading off (back-pressure) */
  int           lowat_fd;    /* the socket whose SO_RCVLOWAT was set… */
  gboolean      lowat_paused;  /* …to this */
  int           corked_fd;   /* the socket corked (write-combining below), or -1 */
  gint64        corked_at;   /* monotonic µs it was corked: uncorked by then + CORK_MAX_US */
  GSource      *uncork;      /* the idle that uncorks it, while armed */
} StoxXmppSource;

/* The sockopt callback has no user data; the component is a singleton, but
 * keep a list so that tests may hold two. */
static GSList *live_sources;

static StoxXmppSource *
source_for_conn (xmpp_conn_t *conn)
{
  for (GSList *l = live_sources; l != NULL; l = l->next)
    if (((StoxXmppSource *) l->data)->conn == conn)
      return l->data;
  return NULL;
}

static int
on_sockopt (xmpp_conn_t *conn,
            void        *sock)
{
  StoxXmppSource *self = source_for_conn (conn);
  int fd = *(int *) sock;

  if (self == NULL)
    return -1;
  if (fd < 0 || fd >= FD_SETSIZE)
    {
      /* libstrophe would select() on it: undefined behaviour.  Refusing
       * closes it and fails this attempt; the backoff retries. */
      g_warning ("XMPP socket fd %d is not below FD_SETSIZE (%d); refusing it",
                 fd, FD_SETSIZE);
      self->refused_fd = fd;
      return -1;
    }
  self->new_fd = fd;
  /* SO_KEEPALIVE with libstrophe's defaults (60 s idle, 30 s interval,
   * 3 probes): a server that vanished without a FIN is noticed.  A failure
   * here is no reason to give up the socket. */
  (void) xmpp_sockopt_cb_keepalive (conn, sock);
  /* Each stanza goes when it is written: with Nagle a stanza behind one
   * not yet acknowledged waits for the server's (delayed) ACK, up to
   * 40 ms on Linux, which is what a MESSAGE's latency then was. */
  int one = 1;
  if (setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
    g_debug ("XMPP socket: TCP_NODELAY: %s", g_strerror (errno));
  return 0;
}

static gboolean
socket_writable (int fd)
{
  struct pollfd p = { .fd = fd, .events = POLLOUT };

  return poll (&p, 1, 0) == 1 && (p.revents & POLLOUT) != 0;
}

/* The kernel's side of `paused`, on the current socket; a syscall only
 * when it changes (resync runs on every dispatch). */
static void
apply_reading (StoxXmppSource *self)
{
  int lowat = self->paused ? INT_MAX : 1;

  if (self->new_fd < 0 || (self->lowat_fd == self->new_fd && self->lowat_paused == self->paused))
    return;
  /* A new socket starts at 1. */
  if (self->lowat_fd != self->new_fd && !self->paused)
    lowat = 0;
  if (lowat != 0 && setsockopt (self->new_fd, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof lowat) != 0)
    g_debug ("XMPP socket: SO_RCVLOWAT %d: %s", lowat, g_strerror (errno));
  self->lowat_fd = self->new_fd;
  self->lowat_paused = self->paused;
}

static void
unwatch (StoxXmppSource *self)
{
  if (self->tag != NULL)
    g_source_remove_unix_fd (&self->source, self->tag);
  self->tag = NULL;
  self->fd = -1;
  self->events = 0;
}

/* Write-combining.  With TCP_NODELAY a stanza leaves when it is written,
 * one segment each: under load that is one read per stanza at the server.
 * So while the loop has work, what libstrophe writes stays corked (full
 * segments leave as they fill; the kernel sends the rest after 200 ms at
 * most), and the first time the loop has nothing else to do it is
 * uncorked and leaves at once: a lone stanza waits for no ACK, a burst
 * goes in full segments.  A loop that stays busy (steady load, not a
 * burst) may have no idle moment for milliseconds, so what is corked
 * leaves CORK_MAX_US after it was corked at the latest. */
static void
set_cork (int fd,
          int on)
{
  /* A descriptor dropped meanwhile is closed (EBADF) or another socket,
   * which starts uncorked anyway: the result does not matter. */
  if (fd >= 0)
    (void) setsockopt (fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
}

static gint64
uncork_due (StoxXmppSource *self)
{
  return self->corked_fd >= 0 ? self->corked_at + CORK_MAX_US : -1;
}

static void
uncork_cancel (StoxXmppSource *self)
{
  if (self->uncork != NULL)
    {
      g_source_destroy (self->uncork);
      g_clear_pointer (&self->uncork, g_source_unref);
    }
  self->corked_fd = -1;
}

/* What is corked leaves now. */
static void
uncork (StoxXmppSource *self)
{
  int fd = self->corked_fd;

  uncork_cancel (self);
  set_cork (fd, 0);
}

static gboolean
uncork_when_idle (gpointer user_data)
{
  uncork (user_data);
  return G_SOURCE_REMOVE;
}

static void
cork_until_idle (StoxXmppSource *self,
                 int             fd)
{
  if (fd < 0)
    return;
  if (self->corked_fd != fd)
    {
      set_cork (fd, 1);
      self->corked_fd = fd;
      self->corked_at = g_get_monotonic_time ();
    }
  if (self->uncork == NULL)
    {
      self->uncork = g_idle_source_new ();
      g_source_set_priority (self->uncork, G_PRIORITY_LOW);
      g_source_set_callback (self->uncork, uncork_when_idle, self, NULL);
      g_source_set_static_name (self->uncork, "stox-xmpp-uncork");
      g_source_attach (self->uncork, g_source_get_context (&self->source));
    }
}

/* `wrote`: libstrophe may have written in the run just made (something was
 * queued, or it was asked to run); only then can the send buffer be full
 * with bytes still held back, so only then is it worth a poll(). */
static void
resync (StoxXmppSource *self,
        gboolean        wrote)
{
  GIOCondition events;

  if (xmpp_conn_is_disconnected (self->conn) || self->new_fd < 0)
    {
      unwatch (self);
      uncork_cancel (self);
      self->new_fd = -1;
      self->lowat_fd = -1;
      self->kick = FALSE;
      self->queue_mark = 0;
      self->tick_at = -1;
      return;
    }

  events = G_IO_ERR | G_IO_HUP;
  if (!self->paused)
    events |= G_IO_IN;
  apply_reading (self);
  self->queue_mark = xmpp_conn_send_queue_len (self->conn);
  if (xmpp_conn_is_connecting (self->conn)
      || self->queue_mark > 0
      || (wrote && !socket_writable (self->new_fd)))
    events |= G_IO_OUT;

  if (self->fd != self->new_fd)
    {
      unwatch (self);
      self->fd = self->new_fd;
      self->tag = g_source_add_unix_fd (&self->source, self->fd, events);
      self->events = events;
    }
  else if (events != self->events)
    {
      g_source_modify_unix_fd (&self->source, self->tag, events);
      self->events = events;
    }

  self->tick_at = g_get_monotonic_time () + TICK_US;
}

static gboolean
source_prepare (GSource *source,
                gint    *timeout)
{
  StoxXmppSource *self = (StoxXmppSource *) source;

  *timeout = -1;
  if (self->tag == NULL)
    return FALSE;
  if (self->kick || xmpp_conn_send_queue_len (self->conn) > self->queue_mark)
    return TRUE;
  return stox_deadline_due (stox_deadline_earliest (self->tick_at, uncork_due (self)),
                            g_source_get_time (source), timeout);
}

/* After the poll: the socket's events are GLib's to report; the rest is
 * prepare()'s test again. */
static gboolean
source_check (GSource *source)
{
  gint timeout;

  return source_prepare (source, &timeout);
}

static gboolean
source_dispatch (GSource    *source,
                 GSourceFunc callback,
                 gpointer    user_data)
{
  StoxXmppSource *self = (StoxXmppSource *) source;
  GIOCondition revents = self->tag != NULL
                         ? g_source_query_unix_fd (source, self->tag) : 0;

  gboolean was_connecting = xmpp_conn_is_connecting (self->conn);
  gboolean wrote = self->kick || (revents & G_IO_OUT) != 0
                   || xmpp_conn_send_queue_len (self->conn) > 0;

  self->dispatches++;
  self->kick = FALSE;
  if (self->corked_fd >= 0 && g_get_monotonic_time () >= uncork_due (self))
    uncork (self);
  if (wrote && xmpp_conn_is_connected (self->conn))
    cork_until_idle (self, self->new_fd);
  /* Zero timeout: its select() only polls.  Handlers run in here,
   * including the connection handler, which may drop the fd. */
  xmpp_run_once (self->ctx, 0);
  /* Input handled, or the TCP connect just completed: libstrophe may have
   * queued stream-level bytes (stream header, handshake) that it writes
   * only at the start of its next run. */
  if ((revents & G_IO_IN) != 0
      || (was_connecting && xmpp_conn_is_connected (self->conn)))
    self->kick = TRUE;
  resync (self, wrote);
  /* The owner's callback last, outside libstrophe (what it sends makes
   * prepare() ready again); its return value is not ours to obey. */
  if (callback != NULL)
    callback (user_data);
  return G_SOURCE_CONTINUE;
}

static void
source_finalize (GSource *source)
{
  uncork_cancel ((StoxXmppSource *) source);
  live_sources = g_slist_remove (live_sources, source);
}

static GSourceFuncs source_funcs = {
  .prepare = source_prepare,
  .check = source_check,
  .dispatch = source_dispatch,
  .finalize = source_finalize,
};

GSource *
stox_xmpp_source_new (xmpp_ctx_t  *ctx,
                      xmpp_conn_t *conn)
{
  GSource *source;
  StoxXmppSource *self;

  g_return_val_if_fail (ctx != NULL && conn != NULL, NULL);

  source = g_source_new (&source_funcs, sizeof (StoxXmppSource));
  g_source_set_static_name (source, "stox-xmpp");
  /* Not blocked while dispatched: blocking takes the socket out of the
   * poll set and back, two wake-up eventfd writes and an extra loop pass
   * per dispatch.  Nothing runs a nested loop from xmpp_run_once(). */
  g_source_set_can_recurse (source, TRUE);
  self = (StoxXmppSource *) source;
  self->ctx = ctx;
  self->conn = conn;
  self->new_fd = -1;
  self->fd = -1;
  self->refused_fd = -1;
  self->tick_at = -1;
  self->lowat_fd = -1;
  self->corked_fd = -1;
  live_sources = g_slist_prepend (live_sources, self);
  xmpp_conn_set_sockopt_callback (conn, on_sockopt);
  return source;
}

void
stox_xmpp_source_sync (GSource *source)
{
  g_return_if_fail (source != NULL);
  resync ((StoxXmppSource *) source, TRUE);
}

void
stox_xmpp_source_drop_fd (GSource *source)
{
  StoxXmppSource *self = (StoxXmppSource *) source;

  g_return_if_fail (source != NULL);
  unwatch (self);
  uncork_cancel (self);
  self->new_fd = -1;
  self->lowat_fd = -1;
  self->kick = FALSE;
  self->tick_at = -1;
}

void
stox_xmpp_source_kick (GSource *source)
{
  StoxXmppSource *self = (StoxXmppSource *) source;

  g_return_if_fail (source != NULL);
  if (self->tag != NULL)
    self->kick = TRUE;
}

void
stox_xmpp_source_set_reading (GSource  *source,
                              gboolean  reading)
{
  StoxXmppSource *self = (StoxXmppSource *) source;

  g_return_if_fail (source != NULL);
  if (self->paused == !reading)
    return;
  self->paused = !reading;
  if (self->tag != NULL)
    resync (self, FALSE);
}

int
stox_xmpp_source_take_refused_fd (GSource *source)
{
  StoxXmppSource *self = (StoxXmppSource *) source;
  int fd;

  g_return_val_if_fail (source != NULL, -1);
  fd = self->refused_fd;
  self->refused_fd = -1;
  return fd;
}

guint64
stox_xmpp_source_get_dispatch_count (GSource *source)
{
  g_return_val_if_fail (source != NULL, 0);
  return ((StoxXmppSource *) source)->dispatches;
}
