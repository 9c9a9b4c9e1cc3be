/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Stateless answers over UDP as text (udp-reply.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "sip/udp-reply.h"
#include "sip/stack-socket.h"
#include "core/methods.h"

/* An answer longer than this (a request that crossed many proxies) is left
 * to the stack. */
#define REPLY_MAX 8192

/* UDP transports: IPv4 and IPv6. */
#define MAX_SOCKETS 4

typedef struct
{
  tport_t *tport;
  int      fd;
} UdpSocket;

struct _StoxSipUdpReplies
{
  tport_t  *tports;               /* the agent's, for the delivering one */
  UdpSocket sockets[MAX_SOCKETS];
  guint     n_sockets;
  /* The endpoint's constant headers, encoded once, each with its CRLF. */
  char     *server;
  char     *allow;
  char     *allow_events;
  char     *contact;
  guint64   sent;
};

/* A bounded text buffer; `overflow` once anything did not fit. */
typedef struct
{
  char    *p;
  gsize    left;
  gboolean overflow;
} Out;

static void
out_bytes (Out        *o,
           const char *s,
           gsize       n)
{
  if (o->overflow || n >= o->left)
    {
      o->overflow = TRUE;
      return;
    }
  memcpy (o->p, s, n);
  o->p += n;
  o->left -= n;
}

static void
out_str (Out        *o,
         const char *s)
{
  out_bytes (o, s, strlen (s));
}

/* "name: value\r\n" for `h` and every header after it in its list. */
static void
out_headers (Out                *o,
             msg_header_t const *h)
{
  for (; h != NULL && !o->overflow; h = h->sh_next)
    {
      issize_t n = msg_header_e (o->p, o->left, h, 0);

      if (n < 0 || (gsize) n >= o->left)
        o->overflow = TRUE;
      else
        {
          o->p += n;
          o->left -= (gsize) n;
        }
    }
}

static void
out_number (Out        *o,
            const char *name,
            guint64     value)
{
  char num[24];
  int n = g_snprintf (num, sizeof num, "%" G_GUINT64_FORMAT "\r\n", value);

  out_str (o, name);
  out_bytes (o, num, (gsize) n);
}

static char *
encode (msg_header_t const *h)
{
  char buf[2048];
  Out o = { buf, sizeof buf, FALSE };

  if (h == NULL)
    return NULL;
  out_headers (&o, h);
  return o.overflow ? NULL : g_strndup (buf, sizeof buf - o.left);
}

/* Sofia logs or dumps every message it sends when one of these is set
 * (tport_open_log(); stoxd(8)), and traces every send from TPORT_DEBUG 7:
 * answers written here would be missing from those. */
gboolean
stox_sip_stack_logs_messages (void)
{
  static const char *const vars[] = { "TPORT_LOG", "MSG_STREAM_LOG", "TPORT_DUMP", "MSG_DUMP" };
  const char *debug = g_getenv ("TPORT_DEBUG");

  for (gsize i = 0; i < G_N_ELEMENTS (vars); i++)
    if (g_getenv (vars[i]) != NULL)
      return TRUE;
  return debug != NULL && atoi (debug) >= 7;
}

StoxSipUdpReplies *
stox_sip_udp_replies_new (nta_agent_t       *agent,
                          const char        *user_agent,
                          sip_allow_t const *allow)
{
  g_return_val_if_fail (agent != NULL && user_agent != NULL && allow != NULL, NULL);

  if (stox_sip_stack_logs_messages ())
    return NULL;

  g_autoptr (StoxSipUdpReplies) u = g_new0 (StoxSipUdpReplies, 1);
  su_home_t home[1] = { SU_HOME_INIT (home) };

  u->tports = nta_agent_tports (agent);
  for (tport_t *tp = tport_primaries (u->tports); tp != NULL; tp = tport_next (tp))
    {
      int fd;

      if (!tport_is_udp (tp) || u->n_sockets == MAX_SOCKETS)
        continue;
      fd = stox_sip_stack_socket (tport_get_address (tp), SOCK_DGRAM);
      if (fd >= 0)
        u->sockets[u->n_sockets++] = (UdpSocket) { tp, fd };
    }
  u->server = encode ((msg_header_t *) sip_server_make (home, user_agent));
  u->allow = encode ((msg_header_t const *) allow);
  u->allow_events = encode ((msg_header_t *) sip_allow_events_make (home,
                                                                   stox_sip_allowed_events ()));
  u->contact = encode ((msg_header_t const *) nta_agent_contact (agent));
  su_home_deinit (home);

  /* The stack would fail the answer on a header it cannot write; so
   * would this file then, by not taking any. */
  if (u->n_sockets == 0 || u->server == NULL || u->allow == NULL || u->allow_events == NULL
      || u->contact == NULL)
    return NULL;
  return g_steal_pointer (&u);
}

void
stox_sip_udp_replies_free (StoxSipUdpReplies *u)
{
  if (u == NULL)
    return;
  g_free (u->server);
  g_free (u->allow);
  g_free (u->allow_events);
  g_free (u->contact);
  g_free (u);
}

guint64
stox_sip_udp_replies_sent (const StoxSipUdpReplies *u)
{
  return u != NULL ? u->sent : 0;
}

static int
socket_of (const StoxSipUdpReplies *u,
           tport_t                 *tport)
{
  for (guint i = 0; i < u->n_sockets; i++)
    if (u->sockets[i].tport == tport)
      return u->sockets[i].fd;
  return -1;
}

/* Where nta sends an answer over UDP (nta_tpn_by_via(), sip_via_port()):
 * the top Via's received address, which nta set from the source address
 * when the sent-by host was not that address (so it is the source address
 * either way), at the rport nta filled in with the source port, else at
 * the sent-by port, else 5060.  FALSE for a port that is no number. */
static gboolean
destination (msg_t                   *request,
             sip_via_t const         *v,
             struct sockaddr_storage *to,
             socklen_t               *to_len)
{
  su_addrinfo_t *ai = msg_addrinfo (request);
  guint64 port = 5060;

  if (ai == NULL || ai->ai_addr == NULL || ai->ai_addrlen > sizeof *to)
    return FALSE;
  memcpy (to, ai->ai_addr, ai->ai_addrlen);
  *to_len = (socklen_t) ai->ai_addrlen;
  if (v->v_rport != NULL && v->v_rport[0] != '\0')
    return TRUE;
  if (v->v_port != NULL && !g_ascii_string_to_unsigned (v->v_port, 10, 1, 65535, &port, NULL))
    return FALSE;
  if (to->ss_family == AF_INET)
    ((struct sockaddr_in *) to)->sin_port = htons ((guint16) port);
  else if (to->ss_family == AF_INET6)
    ((struct sockaddr_in6 *) to)->sin6_port = htons ((guint16) port);
  else
    return FALSE;
  return TRUE;
}

gboolean
stox_sip_udp_replies_send (StoxSipUdpReplies  *u,
                           msg_t              *request,
                           tport_t            *tport,
                           const StoxSipReply *r,
                           const char         *to_tag)
{
  sip_t const *sip = sip_object (request);

  if (u == NULL || sip == NULL)
    return FALSE;
  if (r->accept != NULL || r->allow != NULL || r->warning != NULL || r->unsupported != NULL)
    return FALSE;
  /* Sofia refuses larger numbers in these headers (and sends nothing). */
  if (r->expires > G_MAXUINT32 || r->min_expires > G_MAXUINT32)
    return FALSE;

  const char *phrase = r->phrase != NULL ? r->phrase : sip_status_phrase ((int) r->status);
  if (phrase == NULL)
    phrase = "";

  sip_via_t const *v = sip->sip_via;
  if (v == NULL || v->v_maddr != NULL || v->v_comp != NULL || sip->sip_from == NULL
      || sip->sip_to == NULL || sip->sip_call_id == NULL || sip->sip_cseq == NULL)
    return FALSE;

  int fd = socket_of (u, tport != NULL ? tport : tport_delivered_by (u->tports, request));
  struct sockaddr_storage to;
  socklen_t to_len;
  if (fd < 0 || !destination (request, v, &to, &to_len))
    return FALSE;

  char buf[REPLY_MAX];
  Out o = { buf, sizeof buf, FALSE };
  char status[16];

  g_snprintf (status, sizeof status, "SIP/2.0 %u ", r->status);
  out_str (&o, status);
  out_str (&o, phrase);
  out_str (&o, "\r\n");
  out_headers (&o, (msg_header_t const *) sip->sip_via);
  out_headers (&o, (msg_header_t const *) sip->sip_record_route);
  out_headers (&o, (msg_header_t const *) sip->sip_from);
  out_headers (&o, (msg_header_t const *) sip->sip_to);
  /* Our tag, after the To header's own parameters (RFC 3261 §8.2.6.2). */
  if (to_tag != NULL && !o.overflow)
    {
      o.p -= 2;
      o.left += 2;
      out_str (&o, ";tag=");
      out_str (&o, to_tag);
      out_str (&o, "\r\n");
    }
  out_headers (&o, (msg_header_t const *) sip->sip_call_id);
  out_headers (&o, (msg_header_t const *) sip->sip_cseq);
  /* In the order Sofia's serialiser writes them (struct sip_s), so that
   * both ways give the same bytes. */
  if (r->contact)
    out_str (&o, u->contact);
  if (r->expires >= 0)
    out_number (&o, "Expires: ", (guint64) r->expires);
  if (r->retry_after > 0)
    out_number (&o, "Retry-After: ", r->retry_after);
  if (r->min_expires >= 0)
    out_number (&o, "Min-Expires: ", (guint64) r->min_expires);
  out_str (&o, u->server);
  out_str (&o, u->allow);
  if (r->events)
    out_str (&o, u->allow_events);
  out_str (&o, "Content-Length: 0\r\n\r\n");
  if (o.overflow)
    return FALSE;

  if (stox_sip_stack_sendto (fd, buf, sizeof buf - o.left, (struct sockaddr *) &to, to_len))
    {
      u->sent++;
      return TRUE;
    }
  /* Lost as a datagram may be: the peer's retransmission is answered. */
  stox_debug ("answer %u not sent: %s", r->status, g_strerror (errno));
  return TRUE;
}
