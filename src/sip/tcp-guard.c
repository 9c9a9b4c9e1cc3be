/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Limits on the connections peers open (tcp-guard.h).
 *
 * Where it hooks in.  Sofia-SIP 1.12.11 accepts a connection inside
 * tport_accept() and tells no one: no tag limits connections, no callback
 * runs, and the secondary transports are not reachable through its public
 * API.  What it does call is accept(2), from libsofia-sip-ua through the
 * PLT.  This file defines accept(); the executable's definition comes
 * first in the dynamic linker's lookup order, so the stack's call lands
 * here.  For any descriptor that is not a guarded listening socket it
 * calls the next accept() (libc's, or a sanitizer's) unchanged; for a
 * guarded one it takes the connection, checks the limits, closes it at
 * once when one is reached, and hands the stack only connections within
 * them.  So a refused connection never costs the stack anything, and the
 * stack never sees EMFILE (whose level-triggered retry is a busy loop).
 *
 * Closing: the stack closes its connections itself (peer gone, TPTAG_IDLE)
 * without telling anyone either, so the guard remembers each connection's
 * socket by descriptor and inode and forgets it once that descriptor no
 * longer refers to that socket.  A connection silent for idle_ms (no
 * complete message: a slow trickle of bytes, a Content-Length never
 * filled, TLS which TPTAG_TIMEOUT does not cover) is shut down; the stack
 * then reads end-of-stream and closes it.
 *
 * Descriptors.  accept() returns the lowest free descriptor, so a
 * connection whose descriptor lands in the top fd_reserve below the limit
 * means every one under it is taken: it is refused, and the reserve stays
 * free for the component link and the state store.  The limit is the
 * process's RLIMIT_NOFILE, and never above FD_SETSIZE: the component link
 * (libstrophe) waits with select(), which takes descriptors below it only.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/stat.h>

#include "sip/tcp-guard.h"
#include "sip/stack-socket.h"
#include "sip/convert.h"
#include "sip/fifo-timer.h"

/* Connections taken from the backlog in one accept() call before it gives
 * up and says EAGAIN (the stack comes back on the next wakeup). */
#define ACCEPT_BATCH 64

/* How often, at most, the connections are checked for ones the stack has
 * closed when a limit seems reached. */
#define PRUNE_INTERVAL_US (100 * G_TIME_SPAN_MILLISECOND)

/* At most one log line about refused connections this often. */
#define REFUSAL_LOG_INTERVAL_US (10 * G_TIME_SPAN_SECOND)

/* Listening sockets one endpoint has: TCP and TLS, IPv4 and IPv6. */
#define MAX_LISTENERS 8

/* "address|port", IPv6 text included. */
#define PEER_KEY_MAX (INET6_ADDRSTRLEN + 8)

typedef struct
{
  StoxSipTcpGuard   *guard;
  int                fd;
  dev_t              dev;          /* the socket behind fd, to tell it from */
  ino_t              ino;          /* a later one that got the same number */
  char              *source;       /* source_key(): the per-source key */
  char               peer[PEER_KEY_MAX];  /* address and port: by_peer key */
  StoxFifoTimerEntry idle;
} GuardConn;

struct _StoxSipTcpGuard
{
  StoxSipTcpLimits     limits;
  int                  listeners[MAX_LISTENERS];
  guint                n_listeners;
  int                  fd_top;     /* descriptors the process may use: [0, fd_top) */
  int                  spare_fd;   /* given up to take one connection off a full table */

  GHashTable          *by_fd;      /* fd → GuardConn (owned) */
  GHashTable          *by_peer;    /* conn->peer → GuardConn */
  GHashTable          *per_source; /* source (owned) → count */
  StoxFifoTimer       *idle;       /* GuardConn: due when silent for idle_ms */
  gint64               last_prune;
  gint64               last_refusal_log;
  StoxSipTcpGuardStats stats;
};

/* Every guard alive in the process: accept() looks the listening socket up
 * here.  One thread (the loop's) calls accept() and creates guards. */
static GSList *active_guards;

/* ------------------------------------------------------------------ */
/* The accept() the stack calls                                        */

typedef int (*AcceptFunc) (int, __SOCKADDR_ARG, socklen_t *__restrict);

static int
next_accept (int                   fd,
             __SOCKADDR_ARG        addr,
             socklen_t *__restrict len)
{
  static AcceptFunc next;

  if (next == NULL)
    {
      union { void *p; AcceptFunc f; } sym = { .p = dlsym (RTLD_NEXT, "accept") };

      next = sym.f;
      if (next == NULL)
        {
          errno = ENOSYS;
          return -1;
        }
    }
  return next (fd, addr, len);
}

static StoxSipTcpGuard *
guard_of_listener (int fd)
{
  for (GSList *l = active_guards; l != NULL; l = l->next)
    {
      StoxSipTcpGuard *guard = l->data;

      for (guint i = 0; i < guard->n_listeners; i++)
        if (guard->listeners[i] == fd)
          return guard;
    }
  return NULL;
}

static int guard_accept (StoxSipTcpGuard *guard, int listener,
                         struct sockaddr *addr, socklen_t *len);

int
accept (int                   fd,
        __SOCKADDR_ARG        addr,
        socklen_t *__restrict len)
{
  StoxSipTcpGuard *guard = guard_of_listener (fd);

  if (guard == NULL)
    return next_accept (fd, addr, len);
  return guard_accept (guard, fd, addr.__sockaddr__, len);
}

/* ------------------------------------------------------------------ */
/* Connections held                                                    */

/* "address|port" of a peer, IPv4-mapped IPv6 as IPv4 (as Sofia names
 * its peers); FALSE for other families. */
static gboolean
peer_key (const struct sockaddr *sa,
          socklen_t              len,
          char                   key[PEER_KEY_MAX])
{
  g_autofree char *address = stox_sip_convert_address (sa, len);
  guint16 port;

  if (address == NULL)
    return FALSE;
  if (sa->sa_family == AF_INET)
    {
      struct sockaddr_in sin;

      memcpy (&sin, sa, sizeof sin);
      port = ntohs (sin.sin_port);
    }
  else
    {
      struct sockaddr_in6 sin6;

      memcpy (&sin6, sa, sizeof sin6);
      port = ntohs (sin6.sin6_port);
    }
  g_snprintf (key, PEER_KEY_MAX, "%s|%u", address, port);
  return TRUE;
}

/* Whom a connection counts against: its address; for IPv6 the /64 it is
 * in, since one host commonly holds a whole /64 (RFC 7421) and a limit per
 * address would be none. */
static char *
source_key (const struct sockaddr *sa,
            socklen_t              len)
{
  if (sa->sa_family == AF_INET6 && len >= (socklen_t) sizeof (struct sockaddr_in6))
    {
      struct sockaddr_in6 sin6;
      char text[INET6_ADDRSTRLEN];

      memcpy (&sin6, sa, sizeof sin6);
      if (!IN6_IS_ADDR_V4MAPPED (&sin6.sin6_addr))
        {
          memset (&sin6.sin6_addr.s6_addr[8], 0, 8);
          if (inet_ntop (AF_INET6, &sin6.sin6_addr, text, sizeof text) == NULL)
            return NULL;
          return g_strdup_printf ("%s/64", text);
        }
    }
  return stox_sip_convert_address (sa, len);
}

static guint
source_count (StoxSipTcpGuard *guard,
              const char      *source)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (guard->per_source, source));
}

static void
conn_free (GuardConn *c)
{
  g_free (c->source);
  g_free (c);
}

static void
conn_drop (GuardConn *c)
{
  StoxSipTcpGuard *guard = c->guard;
  guint n = source_count (guard, c->source);

  stox_fifo_timer_remove (guard->idle, &c->idle);
  if (g_hash_table_lookup (guard->by_peer, c->peer) == c)
    g_hash_table_remove (guard->by_peer, c->peer);
  if (n > 1)
    g_hash_table_insert (guard->per_source, g_strdup (c->source), GUINT_TO_POINTER (n - 1));
  else
    g_hash_table_remove (guard->per_source, c->source);
  g_hash_table_remove (guard->by_fd, GINT_TO_POINTER (c->fd));
}

/* Still the socket we accepted, not closed by the stack? */
static gboolean
conn_alive (const GuardConn *c)
{
  struct stat st;

  return fstat (c->fd, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino;
}

/* Forgets connections the stack has closed; at most every
 * PRUNE_INTERVAL_US, since it looks at each one. */
static void
prune (StoxSipTcpGuard *guard)
{
  gint64 now = g_get_monotonic_time ();
  GHashTableIter iter;
  gpointer value;
  g_autoptr (GPtrArray) dead = g_ptr_array_new ();

  if (now - guard->last_prune < PRUNE_INTERVAL_US)
    return;
  guard->last_prune = now;
  g_hash_table_iter_init (&iter, guard->by_fd);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (!conn_alive (value))
      g_ptr_array_add (dead, value);
  for (guint i = 0; i < dead->len; i++)
    conn_drop (dead->pdata[i]);
}

/* A connection silent for idle_ms: shut down, so that the stack reads
 * end-of-stream and closes it (the descriptor is the stack's to close). */
static void
idle_expired (gpointer item,
              gpointer user_data)
{
  GuardConn *c = item;
  StoxSipTcpGuard *guard = user_data;

  if (conn_alive (c))
    {
      g_debug ("TCP connection from %s: no complete message for %u ms; closing it",
               c->source, guard->limits.idle_ms);
      (void) shutdown (c->fd, SHUT_RDWR);
      guard->stats.closed_idle++;
    }
  conn_drop (c);
}

static void
conn_add (StoxSipTcpGuard       *guard,
          int                    fd,
          char                  *source,
          const struct sockaddr *sa,
          socklen_t              len)
{
  GuardConn *c = g_new0 (GuardConn, 1);
  struct stat st;

  c->guard = guard;
  c->fd = fd;
  c->source = source;
  if (fstat (fd, &st) == 0)
    {
      c->dev = st.st_dev;
      c->ino = st.st_ino;
    }
  if (!peer_key (sa, len, c->peer))
    c->peer[0] = '\0';
  g_hash_table_insert (guard->by_fd, GINT_TO_POINTER (fd), c);
  if (c->peer[0] != '\0')
    g_hash_table_insert (guard->by_peer, c->peer, c);
  g_hash_table_insert (guard->per_source, g_strdup (source),
                       GUINT_TO_POINTER (source_count (guard, source) + 1));
  stox_fifo_timer_add (guard->idle, &c->idle, c);
}

/* ------------------------------------------------------------------ */
/* Admission                                                           */

static void
log_refusal (StoxSipTcpGuard *guard,
             const char      *source,
             const char      *why)
{
  gint64 now = g_get_monotonic_time ();
  guint64 refused = guard->stats.refused_total + guard->stats.refused_source
                    + guard->stats.refused_fds;

  g_debug ("TCP connection from %s refused: %s", source, why);
  if (guard->last_refusal_log != 0 && now - guard->last_refusal_log < REFUSAL_LOG_INTERVAL_US)
    return;
  guard->last_refusal_log = now;
  g_info ("TCP connection from %s refused: %s (%" G_GUINT64_FORMAT " refused since start: "
          "%" G_GUINT64_FORMAT " over [sip] tcp-max-connections, %" G_GUINT64_FORMAT
          " over tcp-max-connections-per-source, %" G_GUINT64_FORMAT
          " for want of file descriptors)",
          source, why, refused, guard->stats.refused_total, guard->stats.refused_source,
          guard->stats.refused_fds);
}

/* NULL when the connection on `fd` from `source` may stay; else why not. */
static const char *
refusal (StoxSipTcpGuard *guard,
         int              fd,
         const char      *source)
{
  if (fd >= guard->fd_top - (int) guard->limits.fd_reserve)
    {
      guard->stats.refused_fds++;
      return "too few file descriptors left";
    }
  if (g_hash_table_size (guard->by_fd) >= guard->limits.max_connections
      || source_count (guard, source) >= guard->limits.max_per_source)
    prune (guard);
  if (g_hash_table_size (guard->by_fd) >= guard->limits.max_connections)
    {
      guard->stats.refused_total++;
      return "too many connections";
    }
  if (source_count (guard, source) >= guard->limits.max_per_source)
    {
      guard->stats.refused_source++;
      return "too many connections from this source";
    }
  return NULL;
}

/* accept(2) is at EMFILE: the backlog would stay readable for ever and the
 * stack would retry at once, in a loop.  Giving up the spare descriptor
 * lets one connection be taken and closed. */
static gboolean
shed_one (StoxSipTcpGuard *guard,
          int              listener)
{
  int s;

  if (guard->spare_fd < 0)
    return FALSE;
  close (guard->spare_fd);
  s = next_accept (listener, (struct sockaddr *) NULL, NULL);
  if (s >= 0)
    close (s);
  guard->spare_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  guard->stats.refused_fds++;
  log_refusal (guard, "?", "the process is out of file descriptors");
  return s >= 0;
}

static int
guard_accept (StoxSipTcpGuard *guard,
              int              listener,
              struct sockaddr *addr,
              socklen_t       *len)
{
  for (guint i = 0; i < ACCEPT_BATCH; i++)
    {
      struct sockaddr_storage ss;
      socklen_t sslen = sizeof ss;
      int s = next_accept (listener, (struct sockaddr *) &ss, &sslen);

      if (s < 0)
        {
          if ((errno == EMFILE || errno == ENFILE) && shed_one (guard, listener))
            continue;
          return -1;
        }

      /* The number is free again: whatever the guard knew under it is
       * gone. */
      GuardConn *stale = g_hash_table_lookup (guard->by_fd, GINT_TO_POINTER (s));
      if (stale != NULL)
        conn_drop (stale);

      char *source = source_key ((struct sockaddr *) &ss, sslen);
      const char *why = source != NULL ? refusal (guard, s, source) : "not an IP peer";

      if (why != NULL)
        {
          log_refusal (guard, source != NULL ? source : "?", why);
          g_free (source);
          close (s);
          continue;
        }
      conn_add (guard, s, source, (struct sockaddr *) &ss, sslen);
      if (addr != NULL && len != NULL)
        {
          memcpy (addr, &ss, MIN ((size_t) *len, (size_t) sslen));
          *len = sslen;
        }
      return s;
    }
  errno = EAGAIN;
  return -1;
}

/* ------------------------------------------------------------------ */
/* Set-up                                                              */

static int
descriptor_limit (void)
{
  struct rlimit rl;

  if (getrlimit (RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY
      || rl.rlim_cur > FD_SETSIZE)
    return FD_SETSIZE;
  return (int) rl.rlim_cur;
}

StoxSipTcpGuard *
stox_sip_tcp_guard_new (tport_t                *tports,
                        const StoxSipTcpLimits *limits)
{
  StoxSipTcpGuard *guard = g_new0 (StoxSipTcpGuard, 1);

  guard->limits = *limits;
  guard->fd_top = descriptor_limit ();
  guard->by_fd = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) conn_free);
  guard->by_peer = g_hash_table_new (g_str_hash, g_str_equal);
  guard->per_source = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guard->idle = stox_fifo_timer_new ("stox-sip idle connections", limits->idle_ms,
                                     idle_expired, guard);
  guard->spare_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);

  for (tport_t *tp = tport_primaries (tports); tp != NULL; tp = tport_next (tp))
    {
      int fd;

      if (!tport_is_stream (tp) || guard->n_listeners == MAX_LISTENERS)
        continue;
      fd = stox_sip_stack_socket (tport_get_address (tp), SOCK_STREAM);
      if (fd >= 0)
        guard->listeners[guard->n_listeners++] = fd;
      else
        g_warning ("the %s listener's socket was not found: its connections are not limited",
                   tport_name (tp)->tpn_proto);
    }
  guard->stats.listeners = guard->n_listeners;
  active_guards = g_slist_prepend (active_guards, guard);

  /* The stack reaches this file's accept() only if the dynamic linker
   * resolves the name to it (a static or -Bsymbolic link would not). */
  union { void *p; int (*f) (int, __SOCKADDR_ARG, socklen_t *__restrict); } ours = { .f = accept };
  if (guard->n_listeners > 0 && dlsym (RTLD_DEFAULT, "accept") != ours.p)
    g_warning ("accept() is not interposed: TCP connections are not limited");

  /* What the descriptor limit leaves, minus what is open now. */
  int spare = guard->fd_top - (int) limits->fd_reserve;
  int lowest = fcntl (guard->spare_fd >= 0 ? guard->spare_fd : 0, F_DUPFD_CLOEXEC, 0);
  if (lowest >= 0)
    {
      close (lowest);
      spare -= lowest;
    }
  if (guard->n_listeners > 0 && spare < (int) limits->max_connections)
    g_info ("about %d TCP connections fit in the file descriptor limit (%d, %u kept in "
            "reserve), below [sip] tcp-max-connections (%u)",
            MAX (spare, 0), guard->fd_top, limits->fd_reserve, limits->max_connections);
  return guard;
}

void
stox_sip_tcp_guard_free (StoxSipTcpGuard *guard)
{
  if (guard == NULL)
    return;
  active_guards = g_slist_remove (active_guards, guard);
  g_clear_pointer (&guard->idle, stox_fifo_timer_free);
  g_hash_table_unref (guard->by_peer);
  g_hash_table_unref (guard->by_fd);
  g_hash_table_unref (guard->per_source);
  if (guard->spare_fd >= 0)
    close (guard->spare_fd);
  g_free (guard);
}

void
stox_sip_tcp_guard_heard (StoxSipTcpGuard *guard,
                          msg_t           *msg)
{
  su_addrinfo_t *ai = msg != NULL ? msg_addrinfo (msg) : NULL;
  char key[PEER_KEY_MAX];
  GuardConn *c;

  if (guard == NULL || ai == NULL || ai->ai_protocol != IPPROTO_TCP
      || g_hash_table_size (guard->by_peer) == 0
      || !peer_key (ai->ai_addr, (socklen_t) ai->ai_addrlen, key))
    return;
  c = g_hash_table_lookup (guard->by_peer, key);
  if (c != NULL)
    stox_fifo_timer_add (guard->idle, &c->idle, c);
}

void
stox_sip_tcp_guard_get_stats (StoxSipTcpGuard      *guard,
                              StoxSipTcpGuardStats *ret_stats)
{
  *ret_stats = guard->stats;
  ret_stats->connections = g_hash_table_size (guard->by_fd);
}
