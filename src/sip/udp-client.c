/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Our requests over UDP as text, in transactions of our own (udp-client.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "sip/udp-client.h"
#include "sip/stack-socket.h"
#include "sip/udp-reply.h"

/* RFC 3261 §17.1.1.1 defaults, as nta has them (stoxd does not change
 * them): Timer E from T1 doubling up to T2, Timer F 64×T1. */
#define T1_MS 500
#define T2_MS 4000
#define TIMER_F_MS (64 * T1_MS)
/* T1, 2×T1, 4×T1, T2. */
#define E_STEPS 4

/* UDP transports: IPv4 and IPv6. */
#define MAX_SOCKETS 4

#define BRANCH_MAGIC "z9hG4bK"

typedef struct
{
  tport_t *tport;
  int      fd;
  int      family;
  char    *via;      /* "Via: SIP/2.0/UDP host:port;rport;branch=" + magic */
} Socket;

/* A destination with requests in flight, pending on its transport for
 * the errors reported to it (udp-client.h). */
typedef struct
{
  struct sockaddr_storage addr;
  socklen_t               addr_len;
  Socket                 *socket;
  msg_t                  *msg;       /* carries `addr` for tport_pend() */
  int                     pendd;     /* 0: not pending */
  GQueue                  txns;
} Dest;

struct _StoxSipUdpTxn
{
  StoxSipUdpClient  *client;
  guint64            key;          /* the branch's value */
  gpointer           op;
  Dest              *dest;
  GList              in_dest;      /* data = this */
  StoxFifoTimerEntry timer_e;
  StoxFifoTimerEntry timer_f;
  guint8             step;         /* which Timer E queue it is in */
  gboolean           proceeding;   /* a provisional answer came: T2 next */
  const char        *method;       /* interned */
  guint32            cseq;
  gsize              len;
  char               text[];
};

struct _StoxSipUdpClient
{
  tport_t             *tports;
  Socket               sockets[MAX_SOCKETS];
  guint                n_sockets;
  StoxSipTxnSecret     secret;
  guint64              counter;
  guint                mtu;
  GHashTable          *txns;        /* &txn->key → txn */
  GHashTable          *dests;       /* Dest (its address) → Dest */
  StoxFifoTimer       *timer_e[E_STEPS];
  StoxFifoTimer       *timer_f;
  StoxSipUdpClientFunc func;
  gpointer             user_data;
  guint64              sent;
  guint64              retransmitted;
  GString             *scratch;     /* the text being written, reused */
};

/* ------------------------------------------------------------------ */
/* Destinations                                                        */

static guint
dest_hash (gconstpointer p)
{
  const Dest *d = p;
  const guint8 *b = (const guint8 *) &d->addr;
  guint h = 5381;

  for (socklen_t i = 0; i < d->addr_len; i++)
    h = h * 33 + b[i];
  return h;
}

static gboolean
dest_equal (gconstpointer a,
            gconstpointer b)
{
  const Dest *x = a, *y = b;

  return x->addr_len == y->addr_len && memcmp (&x->addr, &y->addr, x->addr_len) == 0;
}

static void
dest_release (Dest *d)
{
  if (d->pendd > 0)
    tport_release (d->socket->tport, d->pendd, d->msg, NULL, (tp_client_t *) d, 0);
  d->pendd = 0;
}

static void
dest_free (Dest *d)
{
  dest_release (d);
  if (d->msg != NULL)
    msg_destroy (d->msg);
  g_free (d);
}

static void txn_fail (StoxSipUdpTxn *txn, guint status);

/* The transport reports an error for `d`'s address (an ICMP answer to one
 * of the datagrams sent there): every request to it fails as nta's would
 * (503, RFC 3261 §8.1.3.1).  Out of the table first: the answers may send
 * new requests there, which start afresh. */
static void
dest_error (tp_stack_t  *stack,
            tp_client_t *client,
            tport_t     *tport,
            msg_t       *msg,
            int          error)
{
  Dest *d = (Dest *) client;
  StoxSipUdpClient *c;
  StoxSipUdpTxn *txn;

  (void) stack;
  (void) tport;
  (void) msg;
  /* A destination leaves the table with its last transaction. */
  g_return_if_fail (d->txns.head != NULL);
  txn = d->txns.head->data;
  c = txn->client;
  stox_debug ("requests to a destination failed: %s", g_strerror (error));
  g_hash_table_steal (c->dests, d);
  dest_release (d);
  while ((txn = g_queue_peek_head (&d->txns)) != NULL)
    txn_fail (txn, 503);
  dest_free (d);
}

static Dest *
dest_get (StoxSipUdpClient              *c,
          Socket                        *s,
          const struct sockaddr_storage *addr,
          socklen_t                      addr_len)
{
  Dest key = { .addr_len = addr_len };
  Dest *d;

  memcpy (&key.addr, addr, addr_len);
  d = g_hash_table_lookup (c->dests, &key);
  if (d != NULL)
    return d;
  d = g_new0 (Dest, 1);
  memcpy (&d->addr, addr, addr_len);
  d->addr_len = addr_len;
  d->socket = s;
  d->msg = msg_create (sip_default_mclass (), 0);
  if (d->msg != NULL)
    {
      msg_set_address (d->msg, (su_sockaddr_t const *) addr, addr_len);
      d->pendd = tport_pend (s->tport, d->msg, dest_error, (tp_client_t *) d);
    }
  /* Without it an unreachable watcher costs Timer F instead of nothing:
   * the request is nta's then. */
  if (d->pendd <= 0)
    {
      d->pendd = 0;
      dest_free (d);
      return NULL;
    }
  g_hash_table_add (c->dests, d);
  return d;
}

/* ------------------------------------------------------------------ */
/* Transactions                                                        */

static void
txn_unlink (StoxSipUdpTxn *txn)
{
  StoxSipUdpClient *c = txn->client;
  Dest *d = txn->dest;

  stox_fifo_timer_remove (c->timer_e[txn->step], &txn->timer_e);
  stox_fifo_timer_remove (c->timer_f, &txn->timer_f);
  g_hash_table_remove (c->txns, &txn->key);
  g_queue_unlink (&d->txns, &txn->in_dest);
  /* The last one: nothing pending there any more. */
  if (d->txns.head == NULL && g_hash_table_lookup (c->dests, d) == d)
    g_hash_table_remove (c->dests, d);
}

static void
txn_final (StoxSipUdpTxn *txn,
           guint          status,
           sip_t const   *sip)
{
  StoxSipUdpClient *c = txn->client;
  gpointer op = txn->op;

  txn_unlink (txn);
  g_free (txn);
  c->func (op, status, sip, c->user_data);
}

static void
txn_fail (StoxSipUdpTxn *txn,
          guint          status)
{
  txn_final (txn, status, NULL);
}

static gboolean
txn_send (StoxSipUdpTxn *txn)
{
  Dest *d = txn->dest;

  return stox_sip_stack_sendto (d->socket->fd, txn->text, txn->len,
                                (struct sockaddr *) &d->addr, d->addr_len);
}

/* Timer E (RFC 3261 §17.1.2.2): the request again, the interval doubled
 * up to T2. */
static void
timer_e_fired (gpointer item,
               gpointer user_data)
{
  StoxSipUdpTxn *txn = item;
  StoxSipUdpClient *c = user_data;

  if (txn_send (txn))
    c->retransmitted++;
  else if (errno != EAGAIN && errno != ENOBUFS)
    {
      /* As nta's transport error: 503 at once, not Timer F. */
      stox_debug ("%s retransmission not sent: %s", txn->method, g_strerror (errno));
      txn_fail (txn, 503);
      return;
    }
  /* Proceeding: every T2 from now on (RFC 4321 §1.2: the running Timer E
   * is left alone when the provisional answer comes). */
  if (txn->proceeding)
    txn->step = E_STEPS - 1;
  else if (txn->step + 1 < E_STEPS)
    txn->step++;
  stox_fifo_timer_add (c->timer_e[txn->step], &txn->timer_e, txn);
}

/* Timer F: no final answer in 64×T1; 408 as nta reports it. */
static void
timer_f_fired (gpointer item,
               gpointer user_data)
{
  (void) user_data;
  txn_fail (item, 408);
}

/* ------------------------------------------------------------------ */
/* The client                                                          */

/* Our Via for `tport` as nta writes it (agent_tport_via(), outgoing_insert_via()):
 * the transport's own Via (the last of its magic), rport added, no comp,
 * then the branch. */
static char *
via_prefix (tport_t *tport)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  /* nta keeps each transport's Via chain as its magic. */
  sip_via_t const *tv = (sip_via_t const *) tport_magic (tport);
  sip_via_t *v;
  char buf[512];
  char *prefix = NULL;

  while (tv != NULL && tv->v_next != NULL)
    tv = tv->v_next;
  v = tv != NULL ? sip_via_copy (home, tv) : NULL;
  if (v != NULL)
    {
      v->v_next = NULL;
      if (v->v_rport == NULL)
        msg_header_add_param (home, v->v_common, "rport");
      msg_header_remove_param (v->v_common, "comp");
      msg_header_remove_param (v->v_common, "branch");
      msg_fragment_clear (v->v_common);
      issize_t n = msg_header_e (buf, sizeof buf, (msg_header_t const *) v, 0);

      if (n > 2 && (gsize) n < sizeof buf)
        prefix = g_strdup_printf ("%.*s;branch=" BRANCH_MAGIC, (int) n - 2, buf);
    }
  su_home_deinit (home);
  return prefix;
}

StoxSipUdpClient *
stox_sip_udp_client_new (nta_agent_t            *agent,
                         const StoxSipTxnSecret *secret,
                         StoxSipUdpClientFunc    func,
                         gpointer                user_data)
{
  g_return_val_if_fail (agent != NULL && secret != NULL && func != NULL, NULL);

  if (stox_sip_stack_logs_messages ())
    return NULL;

  g_autoptr (StoxSipUdpClient) c = g_new0 (StoxSipUdpClient, 1);
  usize_t mtu = 0;

  c->secret = *secret;
  c->func = func;
  c->user_data = user_data;
  c->tports = nta_agent_tports (agent);
  c->txns = g_hash_table_new (g_int64_hash, g_int64_equal);
  c->scratch = g_string_sized_new (1024);
  c->dests = g_hash_table_new_full (dest_hash, dest_equal, (GDestroyNotify) dest_free, NULL);
  for (guint i = 0; i < E_STEPS; i++)
    c->timer_e[i] = stox_fifo_timer_new ("stox SIP Timer E", MIN (T1_MS << i, T2_MS),
                                         timer_e_fired, c);
  c->timer_f = stox_fifo_timer_new ("stox SIP Timer F", TIMER_F_MS, timer_f_fired, c);
  nta_agent_get_params (agent, NTATAG_UDP_MTU_REF (mtu), TAG_END ());
  c->mtu = mtu != 0 ? (guint) mtu : 1300;

  for (tport_t *tp = tport_primaries (c->tports); tp != NULL; tp = tport_next (tp))
    {
      su_addrinfo_t const *ai = tport_get_address (tp);
      int fd;
      char *via;

      if (!tport_is_udp (tp) || c->n_sockets == MAX_SOCKETS || ai == NULL)
        continue;
      fd = stox_sip_stack_socket (ai, SOCK_DGRAM);
      via = via_prefix (tp);
      if (fd < 0 || via == NULL)
        {
          g_free (via);
          continue;
        }
      c->sockets[c->n_sockets++] = (Socket) { tp, fd, ai->ai_family, via };
    }
  if (c->n_sockets == 0)
    return NULL;
  return g_steal_pointer (&c);
}

void
stox_sip_udp_client_free (StoxSipUdpClient *c)
{
  GHashTableIter iter;
  gpointer value;

  if (c == NULL)
    return;
  if (c->txns != NULL)
    {
      g_hash_table_iter_init (&iter, c->txns);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          StoxSipUdpTxn *txn = value;

          g_hash_table_iter_steal (&iter);
          stox_fifo_timer_remove (c->timer_e[txn->step], &txn->timer_e);
          stox_fifo_timer_remove (c->timer_f, &txn->timer_f);
          g_queue_unlink (&txn->dest->txns, &txn->in_dest);
          g_free (txn);
        }
      g_hash_table_unref (c->txns);
    }
  for (guint i = 0; i < E_STEPS; i++)
    g_clear_pointer (&c->timer_e[i], stox_fifo_timer_free);
  g_clear_pointer (&c->timer_f, stox_fifo_timer_free);
  g_clear_pointer (&c->dests, g_hash_table_unref);
  for (guint i = 0; i < c->n_sockets; i++)
    g_free (c->sockets[i].via);
  if (c->scratch != NULL)
    g_string_free (c->scratch, TRUE);
  g_free (c);
}

guint64
stox_sip_udp_client_sent (const StoxSipUdpClient *c)
{
  return c != NULL ? c->sent : 0;
}

guint64
stox_sip_udp_client_retransmitted (const StoxSipUdpClient *c)
{
  return c != NULL ? c->retransmitted : 0;
}

/* Where a request to `hop` goes when it is plainly UDP to an address
 * (udp-client.h); NULL otherwise. */
static Socket *
destination (StoxSipUdpClient        *c,
             url_t const             *hop,
             struct sockaddr_storage *to,
             socklen_t               *to_len)
{
  char transport[16], maddr[8];
  guint64 port = 5060;
  const char *host;

  if (hop == NULL || hop->url_type != url_sip || hop->url_host == NULL)
    return NULL;
  if (url_param (hop->url_params, "maddr", maddr, sizeof maddr) > 0)
    return NULL;
  if (url_param (hop->url_params, "transport", transport, sizeof transport) > 0
      && g_ascii_strcasecmp (transport, "udp") != 0)
    return NULL;
  if (hop->url_port != NULL && hop->url_port[0] != '\0'
      && !g_ascii_string_to_unsigned (hop->url_port, 10, 1, 65535, &port, NULL))
    return NULL;

  memset (to, 0, sizeof *to);
  host = hop->url_host;
  if (host[0] == '[')
    {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) to;
      gsize n = strlen (host);
      char bare[64];

      if (n < 3 || n - 2 >= sizeof bare || host[n - 1] != ']')
        return NULL;
      memcpy (bare, host + 1, n - 2);
      bare[n - 2] = '\0';
      if (inet_pton (AF_INET6, bare, &sin6->sin6_addr) != 1)
        return NULL;
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons ((guint16) port);
      *to_len = sizeof *sin6;
    }
  else
    {
      struct sockaddr_in *sin = (struct sockaddr_in *) to;

      if (inet_pton (AF_INET, host, &sin->sin_addr) != 1)
        return NULL;
      sin->sin_family = AF_INET;
      sin->sin_port = htons ((guint16) port);
      *to_len = sizeof *sin;
    }
  for (guint i = 0; i < c->n_sockets; i++)
    if (c->sockets[i].family == to->ss_family)
      return &c->sockets[i];
  return NULL;
}

/* The request's text in `t`, headers in the order of struct sip_s as
 * Sofia serialises them; FALSE when it would be longer than `max`.  `t`
 * is the client's, reused: a fresh kilobyte per NOTIFY, copied into its
 * transaction and freed, was 2 % of a subscription's set-up in malloc. */
static gboolean
request_text (GString                 *t,
              const StoxSipUdpRequest *r,
              const Socket            *s,
              guint64                  key,
              gsize                    max)
{
  gsize body_len = 0;
  const char *body = r->body != NULL ? g_bytes_get_data (r->body, &body_len) : NULL;
  char line[1024];
  char num[24];

  /* Appends, not printf: this runs for every NOTIFY (bench/README.md). */
  g_string_truncate (t, 0);
  g_string_append (t, r->method);
  g_string_append_c (t, ' ');
  g_string_append (t, r->ruri);
  g_string_append (t, " SIP/2.0\r\n");
  g_string_append (t, s->via);
  g_snprintf (num, sizeof num, "%016" G_GINT64_MODIFIER "x\r\n", key);
  g_string_append (t, num);
  for (sip_route_t const *rt = r->route; rt != NULL; rt = rt->r_next)
    {
      sip_route_t one = *rt;
      issize_t n;

      one.r_next = NULL;
      one.r_common->h_data = NULL;
      one.r_common->h_len = 0;
      n = msg_header_e (line, sizeof line, (msg_header_t const *) &one, 0);
      if (n < 0 || (gsize) n >= sizeof line)
        return FALSE;
      g_string_append_len (t, line, n);
    }
  g_string_append (t, "Max-Forwards: 70\r\nFrom: ");
  g_string_append (t, r->from);
  g_string_append (t, "\r\nTo: ");
  g_string_append (t, r->to);
  g_string_append (t, "\r\nCall-ID: ");
  g_string_append (t, r->call_id);
  g_snprintf (num, sizeof num, "\r\nCSeq: %u ", r->cseq);
  g_string_append (t, num);
  g_string_append (t, r->method);
  g_string_append (t, "\r\n");
  if (r->headers != NULL)
    g_string_append (t, r->headers);
  if (r->content_type != NULL)
    {
      g_string_append (t, "Content-Type: ");
      g_string_append (t, r->content_type);
      g_string_append (t, "\r\n");
    }
  else
    body_len = 0;
  g_snprintf (num, sizeof num, "%" G_GSIZE_FORMAT, body_len);
  g_string_append (t, "Content-Length: ");
  g_string_append (t, num);
  g_string_append (t, "\r\n\r\n");
  if (body_len > 0)
    g_string_append_len (t, body, (gssize) body_len);
  return t->len <= max;
}

StoxSipUdpTxn *
stox_sip_udp_client_send (StoxSipUdpClient        *c,
                          const StoxSipUdpRequest *r,
                          gpointer                 op)
{
  struct sockaddr_storage to;
  socklen_t to_len = 0;
  su_home_t home[1] = { SU_HOME_INIT (home) };
  url_t const *hop = r->next_hop;
  Socket *s;

  if (c == NULL)
    return NULL;
  /* nta's next hop: a loose router first in the route set, else the
   * Request-URI (a strict router there already, stox_sip_dialog_request()). */
  if (hop == NULL)
    hop = r->route != NULL && url_has_param (r->route->r_url, "lr") ? r->route->r_url
                                                                     : url_make (home, r->ruri);
  s = destination (c, hop, &to, &to_len);
  su_home_deinit (home);
  if (s == NULL)
    return NULL;

  guint64 key;
  char count[24];
  do
    {
      g_snprintf (count, sizeof count, "%" G_GUINT64_FORMAT, ++c->counter);
      key = stox_sip_txn_hash2 (&c->secret, "stox client branch", count);
    }
  while (g_hash_table_contains (c->txns, &key));

  GString *text = c->scratch;
  if (!request_text (text, r, s, key, c->mtu))
    return NULL;

  Dest *d = dest_get (c, s, &to, to_len);
  if (d == NULL)
    return NULL;

  StoxSipUdpTxn *txn = g_malloc (sizeof *txn + text->len);

  *txn = (StoxSipUdpTxn) {
    .client = c, .key = key, .op = op, .dest = d,
    .method = g_intern_string (r->method), .cseq = r->cseq, .len = text->len,
  };
  memcpy (txn->text, text->str, text->len);

  if (!txn_send (txn) && errno != EAGAIN && errno != ENOBUFS)
    {
      /* A failure nta would report (and will: the request is its). */
      if (d->txns.head == NULL)
        g_hash_table_remove (c->dests, d);
      g_free (txn);
      return NULL;
    }
  c->sent++;
  txn->in_dest.data = txn;
  g_queue_push_tail_link (&d->txns, &txn->in_dest);
  g_hash_table_insert (c->txns, &txn->key, txn);
  stox_fifo_timer_add (c->timer_e[0], &txn->timer_e, txn);
  stox_fifo_timer_add (c->timer_f, &txn->timer_f, txn);
  return txn;
}

void
stox_sip_udp_client_drop (StoxSipUdpClient *c,
                          StoxSipUdpTxn    *txn)
{
  if (c == NULL || txn == NULL)
    return;
  txn_unlink (txn);
  g_free (txn);
}

gboolean
stox_sip_udp_client_response (StoxSipUdpClient *c,
                              sip_t const      *sip)
{
  const char *branch;
  guint64 key;
  StoxSipUdpTxn *txn;

  if (c == NULL || sip == NULL || sip->sip_status == NULL || sip->sip_via == NULL
      || sip->sip_cseq == NULL || (branch = sip->sip_via->v_branch) == NULL
      || g_ascii_strncasecmp (branch, BRANCH_MAGIC, strlen (BRANCH_MAGIC)) != 0
      || strlen (branch) != strlen (BRANCH_MAGIC) + 16
      || !g_ascii_string_to_unsigned (branch + strlen (BRANCH_MAGIC), 16, 0, G_MAXUINT64,
                                      &key, NULL))
    return FALSE;
  txn = g_hash_table_lookup (c->txns, &key);
  /* §17.1.3: the branch and the CSeq method. */
  if (txn == NULL || sip->sip_cseq->cs_seq != txn->cseq
      || g_strcmp0 (sip->sip_cseq->cs_method_name, txn->method) != 0)
    return FALSE;

  guint status = (guint) sip->sip_status->st_status;

  if (status < 200)
    {
      /* Proceeding: retransmissions every T2 after the one due
       * (§17.1.2.2; timer_e_fired()). */
      txn->proceeding = TRUE;
      return TRUE;
    }
  txn_final (txn, status, sip);
  return TRUE;
}
