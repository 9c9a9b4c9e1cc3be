/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The XMPP server's side of a component connection, for the load bench
 * (bench/README.md, bench/bench-load.sh): stoxd connects to it as it would
 * to Prosody, so that the XMPP server is not what is measured.
 *
 *   xmpp-peer --port N --ctl-port N --component sip.test --secret S
 *             [--xmpp-domain xmpp.test]
 *
 * It accepts the component's stream and handshake (XEP-0114 §3: the
 * SHA-1 of the stream id and the secret, in hex), then at once:
 *   sink      counts <message/> stanzas, and for a body holding
 *             "ts=" and sipp's [timestamp] ("date<TAB>time<TAB>s.us")
 *             keeps the one-way latency from that stamp to the moment the
 *             stanza was read (CLOCK_REALTIME, the clock sipp stamps with);
 *   approver  answers <presence type='subscribe'/> with 'subscribed' and
 *             an available presence, and a probe with an available
 *             presence (RFC 6121 §3.1.2, §4.3);
 *   source    on the "send" command, writes N <message/> stanzas to SIP
 *             users as fast as the socket takes them, or at a fixed rate;
 *   iq        answers get/set with <service-unavailable/> (RFC 6120
 *             §8.2.3: an iq get/set is never left unanswered).
 * One component connection at a time: a new one replaces the old.
 *
 * Control: one line per command on a loopback TCP port (bash opens it with
 * /dev/tcp), one line back:
 *   stats                 key=value counters (see cmd_stats())
 *   reset                 counters and latency samples to zero
 *   lat                   n, p50, p99, p999, max, mean of the samples (µs)
 *   send N RATE USERS     N stanzas to bob<i % USERS>@<component>, RATE
 *                         per second (0: as fast as the socket takes them)
 *   quit                  exit 0
 *
 * The parser is the smallest that serves a peer whose output we know
 * (libstrophe's serialiser): it splits the stream into top-level elements
 * by tag depth, honouring quoted attribute values, and reads a few
 * attributes.  It is not a general XML parser and is never used on
 * untrusted input.  Loopback only; bounded buffers; no allocation per
 * stanza except the latency samples.
 */
#include <config.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <openssl/evp.h>

#define MAX_CTL       8
#define IN_MAX        (8 * 1024 * 1024)   /* one stanza never gets near this */
#define OUT_LOW       (64 * 1024)         /* refill the source below this */
#define READ_CHUNK    (256 * 1024)

typedef struct
{
  int   fd;
  char  buf[512];
  gsize len;
} Ctl;

typedef struct
{
  /* configuration */
  const char *component;
  const char *xmpp_domain;
  const char *secret;

  int         listen_fd;
  int         ctl_fd;
  Ctl         ctl[MAX_CTL];

  /* the component connection */
  int         fd;
  gboolean    stream_open;    /* its stream header was read */
  gboolean    up;             /* the handshake passed */
  char        stream_id[33];
  GByteArray *in;
  GByteArray *out;
  gsize       out_pos;

  /* the source */
  guint64     src_total;
  guint64     src_queued;
  guint       src_rate;
  guint       src_users;
  gint64      src_t0;         /* realtime ns */
  gint64      src_t1;         /* the last stanza entirely written */

  /* counters (reset by "reset") */
  guint64     conns;
  guint64     handshakes_bad;
  guint64     msg;
  guint64     msg_err;
  guint64     msg_no_ts;
  gint64      msg_first_ns;
  gint64      msg_last_ns;
  guint64     subscribe;
  guint64     probe;
  guint64     presence;       /* any other presence */
  guint64     iq;
  guint64     other;
  guint64     bytes_in;
  guint64     answers;        /* presence stanzas written by the approver */
  char        last_error[256];
  GArray     *lat_us;         /* gint64 */
} Peer;

static volatile sig_atomic_t quit_signal;

static gint64
now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_REALTIME, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
on_signal (int sig)
{
  quit_signal = sig;
}

static int
listen_on (guint16 port)
{
  struct sockaddr_in a = { 0 };
  int one = 1;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

  if (fd < 0)
    return -1;
  setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  a.sin_family = AF_INET;
  a.sin_port = htons (port);
  a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (bind (fd, (struct sockaddr *) &a, sizeof a) < 0 || listen (fd, 16) < 0)
    {
      close (fd);
      return -1;
    }
  return fd;
}

static void
out_append (Peer *p, const char *s, gsize n)
{
  g_byte_array_append (p->out, (const guint8 *) s, (guint) n);
}

static void G_GNUC_PRINTF (2, 3)
out_printf (Peer *p, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = g_vsnprintf (buf, sizeof buf, fmt, ap);
  va_end (ap);
  if (n > 0)
    out_append (p, buf, MIN ((gsize) n, sizeof buf - 1));
}

static void
conn_close (Peer *p)
{
  if (p->fd >= 0)
    close (p->fd);
  p->fd = -1;
  p->stream_open = FALSE;
  p->up = FALSE;
  g_byte_array_set_size (p->in, 0);
  g_byte_array_set_size (p->out, 0);
  p->out_pos = 0;
  p->src_total = p->src_queued = 0;
}

/* ---- the small parser ------------------------------------------------------ */

/* The end of the tag that starts at s[0] == '<' (one past its '>'), or
 * NULL when it is not complete in [s, end). */
static const char *
tag_end (const char *s, const char *end)
{
  char quote = 0;

  for (const char *c = s + 1; c < end; c++)
    {
      if (quote)
        {
          if (*c == quote)
            quote = 0;
        }
      else if (*c == '\'' || *c == '"')
        quote = *c;
      else if (*c == '>')
        return c + 1;
    }
  return NULL;
}

/* One top-level element starting at s[0] == '<': its end, or NULL when it
 * is not complete yet. */
static const char *
element_end (const char *s, const char *end)
{
  int depth = 0;
  const char *c = s;

  while (c < end)
    {
      const char *t;

      if (*c != '<')
        {
          c = memchr (c, '<', (gsize) (end - c));
          if (!c)
            return NULL;
          continue;
        }
      t = tag_end (c, end);
      if (!t)
        return NULL;
      if (c + 1 < end && c[1] == '/')
        depth--;
      else if (t[-2] != '/' && c[1] != '?' && c[1] != '!')
        depth++;
      c = t;
      if (depth <= 0)
        return c;
    }
  return NULL;
}

/* The value of attribute NAME in the start tag [s, tag_end), copied into
 * buf (no unescaping: the bench's JIDs have no special characters). */
static gboolean
attr (const char *s, const char *te, const char *name, char *buf, gsize size)
{
  gsize nl = strlen (name);

  for (const char *c = s; c + nl + 2 < te; c++)
    {
      const char *v, *q;

      if ((*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r')
          || strncmp (c + 1, name, nl) != 0 || c[nl + 1] != '=')
        continue;
      v = c + nl + 2;
      if (*v != '\'' && *v != '"')
        continue;
      gsize n;

      q = memchr (v + 1, *v, (gsize) (te - v - 1));
      if (!q || size == 0)
        return FALSE;
      /* not g_strlcpy(): the input is not NUL-terminated */
      n = MIN (size - 1, (gsize) (q - v - 1));
      memcpy (buf, v + 1, n);
      buf[n] = 0;
      return TRUE;
    }
  if (size)
    buf[0] = 0;
  return FALSE;
}

static gboolean
tag_is (const char *s, const char *name)
{
  gsize n = strlen (name);

  return s[0] == '<' && strncmp (s + 1, name, n) == 0
         && (s[n + 1] == ' ' || s[n + 1] == '>' || s[n + 1] == '/'
             || s[n + 1] == '\t' || s[n + 1] == '\n' || s[n + 1] == '\r');
}

/* The bare JID of a full one, in place. */
static void
bare (char *jid)
{
  char *slash = strchr (jid, '/');

  if (slash)
    *slash = 0;
}

/* sipp's [timestamp] after "ts=": "YYYY-MM-DD\tHH:MM:SS.uuuuuu\tS.uuuuuu";
 * the epoch is the first run of 9 or more digits followed by '.' and six
 * digits. */
static gboolean
find_stamp (const char *s, const char *end, gint64 *ret_us)
{
  const char *ts = g_strstr_len (s, end - s, "ts=");

  if (!ts)
    return FALSE;
  for (const char *c = ts + 3; c < end && c < ts + 160; c++)
    {
      const char *d = c;
      gint64 sec = 0, us = 0;
      int n = 0;

      while (d < end && g_ascii_isdigit (*d))
        sec = sec * 10 + (*d++ - '0'), n++;
      if (n < 9 || d + 7 > end || *d != '.')
        {
          c = d > c ? d - 1 : c;
          continue;
        }
      d++;
      for (int i = 0; i < 6; i++)
        {
          if (!g_ascii_isdigit (d[i]))
            return FALSE;
          us = us * 10 + (d[i] - '0');
        }
      *ret_us = sec * 1000000 + us;
      return TRUE;
    }
  return FALSE;
}

static void
on_message (Peer *p, const char *s, const char *te, const char *end, gint64 t)
{
  char type[32];
  gint64 stamp;

  attr (s, te, "type", type, sizeof type);
  if (strcmp (type, "error") == 0)
    {
      gsize n = MIN ((gsize) (end - s), sizeof p->last_error - 1);

      p->msg_err++;
      memcpy (p->last_error, s, n);
      p->last_error[n] = 0;
      for (gsize i = 0; i < n; i++)
        if (p->last_error[i] == '\n' || p->last_error[i] == '\r')
          p->last_error[i] = ' ';
      return;
    }
  if (p->msg++ == 0)
    p->msg_first_ns = t;
  p->msg_last_ns = t;
  if (find_stamp (te, end, &stamp))
    {
      gint64 d = t / 1000 - stamp;

      g_array_append_val (p->lat_us, d);
    }
  else
    p->msg_no_ts++;
}

/* RFC 6121 §3.1.2 (the contact approves: 'subscribed', then its presence)
 * and §4.3 (a probe answered with the current presence). */
static void
on_presence (Peer *p, const char *s, const char *te)
{
  char type[32], from[512], to[512];

  attr (s, te, "type", type, sizeof type);
  attr (s, te, "from", from, sizeof from);
  attr (s, te, "to", to, sizeof to);
  bare (to);
  if (strcmp (type, "subscribe") == 0)
    {
      p->subscribe++;
      out_printf (p, "<presence type='subscribed' from='%s' to='%s'/>"
                     "<presence from='%s/bench' to='%s'/>", to, from, to, from);
      p->answers += 2;
    }
  else if (strcmp (type, "probe") == 0)
    {
      p->probe++;
      out_printf (p, "<presence from='%s/bench' to='%s'/>", to, from);
      p->answers++;
    }
  else
    p->presence++;
}

static void
on_iq (Peer *p, const char *s, const char *te)
{
  char type[32], from[512], to[512], id[256];

  p->iq++;
  attr (s, te, "type", type, sizeof type);
  if (strcmp (type, "get") != 0 && strcmp (type, "set") != 0)
    return;
  attr (s, te, "from", from, sizeof from);
  attr (s, te, "to", to, sizeof to);
  attr (s, te, "id", id, sizeof id);
  out_printf (p, "<iq type='error' from='%s' to='%s' id='%s'><error type='cancel'>"
                 "<service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>"
                 "</error></iq>", to, from, id);
}

/* XEP-0114 §3: the handshake is the lower-case hex SHA-1 of the stream id
 * followed by the secret. */
static void
on_handshake (Peer *p, const char *te, const char *end)
{
  g_autofree char *material = g_strconcat (p->stream_id, p->secret, NULL);
  const char *close_tag = g_strstr_len (te, end - te, "</handshake>");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  gsize got;

  EVP_Digest (material, strlen (material), md, &mdlen, EVP_sha1 (), NULL);
  for (unsigned int i = 0; i < mdlen; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", md[i]);
  got = close_tag ? (gsize) (close_tag - te) : 0;
  if (got == 2 * mdlen && g_ascii_strncasecmp (te, hex, got) == 0)
    {
      out_append (p, "<handshake/>", 12);
      p->up = TRUE;
      return;
    }
  p->handshakes_bad++;
  out_printf (p, "<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
                 "</stream:error></stream:stream>");
}

/* XEP-0114 §3: the server's stream header, with a fresh id. */
static void
on_stream_open (Peer *p, const char *s, const char *te)
{
  char to[256];

  attr (s, te, "to", to, sizeof to);
  g_snprintf (p->stream_id, sizeof p->stream_id, "%08x%08x", g_random_int (), g_random_int ());
  out_printf (p, "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams'"
                 " xmlns='jabber:component:accept' from='%s' id='%s'>",
              to[0] ? to : p->component, p->stream_id);
  p->stream_open = TRUE;
}

/* Every complete top-level element in the input; returns FALSE when the
 * stream ended. */
static gboolean
parse_input (Peer *p)
{
  const char *buf = (const char *) p->in->data;
  const char *end = buf + p->in->len;
  const char *c = buf;
  gboolean alive = TRUE;
  gint64 t = now_ns ();

  while (c < end)
    {
      const char *te, *ee;

      while (c < end && *c != '<')
        c++;
      if (c >= end)
        break;
      te = tag_end (c, end);
      if (!te)
        break;
      if (c[1] == '?')
        {
          c = te;
          continue;
        }
      if (tag_is (c, "stream:stream"))
        {
          on_stream_open (p, c, te);
          c = te;
          continue;
        }
      if (c[1] == '/')
        {
          /* </stream:stream> */
          alive = FALSE;
          c = te;
          break;
        }
      ee = element_end (c, end);
      if (!ee)
        break;
      if (tag_is (c, "message"))
        on_message (p, c, te, ee, t);
      else if (tag_is (c, "presence"))
        on_presence (p, c, te);
      else if (tag_is (c, "iq"))
        on_iq (p, c, te);
      else if (tag_is (c, "handshake"))
        on_handshake (p, te, ee);
      else
        p->other++;
      c = ee;
    }
  g_byte_array_remove_range (p->in, 0, (guint) (c - buf));
  return alive;
}

/* ---- the source ------------------------------------------------------------ */

/* Queue the stanzas due now: all of them (rate 0, while the output is
 * short) or those the rate allows by now. */
static void
source_fill (Peer *p)
{
  guint64 due = p->src_total;

  if (!p->up || p->src_queued >= p->src_total)
    return;
  if (p->src_rate)
    {
      gint64 el = now_ns () - p->src_t0;

      due = MIN (p->src_total, (guint64) (el / 1000) * p->src_rate / 1000000 + 1);
    }
  while (p->src_queued < due && p->out->len - p->out_pos < OUT_LOW)
    {
      guint64 i = p->src_queued++;

      out_printf (p, "<message from='juliet@%s/bench' to='bob%" G_GUINT64_FORMAT "@%s' type='chat'"
                     " id='b%" G_GUINT64_FORMAT "'><body>bench %" G_GUINT64_FORMAT "</body></message>",
                  p->xmpp_domain, i % p->src_users, p->component, i, i);
    }
}

static void
conn_write (Peer *p)
{
  while (p->out_pos < p->out->len)
    {
      ssize_t n = write (p->fd, p->out->data + p->out_pos, p->out->len - p->out_pos);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno != EAGAIN)
            conn_close (p);
          return;
        }
      p->out_pos += (gsize) n;
      if (p->out_pos >= p->out->len)
        {
          g_byte_array_set_size (p->out, 0);
          p->out_pos = 0;
          if (p->src_total && p->src_queued >= p->src_total && !p->src_t1)
            p->src_t1 = now_ns ();
          source_fill (p);
        }
    }
}

/* ---- control --------------------------------------------------------------- */

static int
cmp_i64 (const void *a, const void *b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static void
reset (Peer *p)
{
  p->conns = p->handshakes_bad = 0;
  p->msg = p->msg_err = p->msg_no_ts = 0;
  p->msg_first_ns = p->msg_last_ns = 0;
  p->subscribe = p->probe = p->presence = p->iq = p->other = 0;
  p->bytes_in = p->answers = 0;
  p->last_error[0] = 0;
  g_array_set_size (p->lat_us, 0);
  p->src_t0 = p->src_t1 = 0;
}

static char *
cmd_stats (Peer *p)
{
  return g_strdup_printf ("up=%d conns=%" G_GUINT64_FORMAT " bad_handshakes=%" G_GUINT64_FORMAT
                          " msg=%" G_GUINT64_FORMAT " msg_err=%" G_GUINT64_FORMAT
                          " msg_no_ts=%" G_GUINT64_FORMAT
                          " first_ns=%" G_GINT64_FORMAT " last_ns=%" G_GINT64_FORMAT
                          " subscribe=%" G_GUINT64_FORMAT " probe=%" G_GUINT64_FORMAT
                          " presence=%" G_GUINT64_FORMAT " answers=%" G_GUINT64_FORMAT
                          " iq=%" G_GUINT64_FORMAT " other=%" G_GUINT64_FORMAT
                          " bytes_in=%" G_GUINT64_FORMAT
                          " queued=%" G_GUINT64_FORMAT " send_total=%" G_GUINT64_FORMAT
                          " send_t0_ns=%" G_GINT64_FORMAT " send_t1_ns=%" G_GINT64_FORMAT
                          " lat_n=%u last_error=%s",
                          p->up, p->conns, p->handshakes_bad, p->msg, p->msg_err, p->msg_no_ts,
                          p->msg_first_ns, p->msg_last_ns, p->subscribe, p->probe, p->presence,
                          p->answers, p->iq, p->other, p->bytes_in,
                          p->src_queued,
                          p->src_total, p->src_t0, p->src_t1, p->lat_us->len,
                          p->last_error[0] ? p->last_error : "-");
}

static char *
cmd_lat (Peer *p)
{
  g_autoptr (GArray) v = g_array_copy (p->lat_us);
  gint64 sum = 0;
  guint n = v->len;

  if (n == 0)
    return g_strdup ("n=0 p50_us=0 p99_us=0 p999_us=0 max_us=0 mean_us=0 min_us=0");
  qsort (v->data, n, sizeof (gint64), cmp_i64);
  for (guint i = 0; i < n; i++)
    sum += g_array_index (v, gint64, i);
#define AT(q) g_array_index (v, gint64, MIN (n - 1, (guint) ((q) * n)))
  return g_strdup_printf ("n=%u p50_us=%" G_GINT64_FORMAT " p99_us=%" G_GINT64_FORMAT
                          " p999_us=%" G_GINT64_FORMAT " max_us=%" G_GINT64_FORMAT
                          " mean_us=%" G_GINT64_FORMAT " min_us=%" G_GINT64_FORMAT,
                          n, AT (0.50), AT (0.99), AT (0.999), g_array_index (v, gint64, n - 1),
                          sum / n, g_array_index (v, gint64, 0));
#undef AT
}

static char *
command (Peer *p, char *line)
{
  g_auto (GStrv) w = g_strsplit_set (g_strstrip (line), " \t", -1);
  guint n = g_strv_length (w);

  if (n == 0 || !w[0][0])
    return g_strdup ("error empty");
  if (strcmp (w[0], "stats") == 0)
    return cmd_stats (p);
  if (strcmp (w[0], "reset") == 0)
    {
      reset (p);
      return g_strdup ("ok");
    }
  if (strcmp (w[0], "lat") == 0)
    return cmd_lat (p);
  if (strcmp (w[0], "send") == 0 && n == 4)
    {
      if (!p->up)
        return g_strdup ("error not connected");
      p->src_total = g_ascii_strtoull (w[1], NULL, 10);
      p->src_rate = (guint) g_ascii_strtoull (w[2], NULL, 10);
      p->src_users = MAX (1, (guint) g_ascii_strtoull (w[3], NULL, 10));
      p->src_queued = 0;
      p->src_t0 = now_ns ();
      p->src_t1 = 0;
      source_fill (p);
      return g_strdup ("ok");
    }
  if (strcmp (w[0], "quit") == 0)
    {
      quit_signal = SIGTERM;
      return g_strdup ("ok");
    }
  return g_strdup ("error unknown command");
}

static void
ctl_read (Peer *p, Ctl *c)
{
  ssize_t n = read (c->fd, c->buf + c->len, sizeof c->buf - 1 - c->len);
  char *nl;

  if (n <= 0)
    {
      if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
      close (c->fd);
      c->fd = -1;
      c->len = 0;
      return;
    }
  c->len += (gsize) n;
  c->buf[c->len] = 0;
  while ((nl = strchr (c->buf, '\n')))
    {
      g_autofree char *reply = NULL;
      g_autofree char *full = NULL;
      gsize used = (gsize) (nl - c->buf) + 1;
      gsize off = 0, len;

      *nl = 0;
      reply = command (p, c->buf);
      full = g_strconcat (reply, "\n", NULL);
      len = strlen (full);
      /* replies are short and the socket is fresh: a blocking write is fine */
      fcntl (c->fd, F_SETFL, fcntl (c->fd, F_GETFL) & ~O_NONBLOCK);
      while (off < len)
        {
          ssize_t w = write (c->fd, full + off, len - off);

          if (w <= 0)
            break;
          off += (gsize) w;
        }
      fcntl (c->fd, F_SETFL, fcntl (c->fd, F_GETFL) | O_NONBLOCK);
      memmove (c->buf, c->buf + used, c->len - used);
      c->len -= used;
      c->buf[c->len] = 0;
    }
  if (c->len >= sizeof c->buf - 1)
    c->len = 0;   /* an over-long line: dropped */
}

/* ---- main loop ------------------------------------------------------------- */

static void
conn_accept (Peer *p)
{
  int one = 1;
  int fd = accept4 (p->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

  if (fd < 0)
    return;
  conn_close (p);
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  p->fd = fd;
  p->conns++;
}

static void
conn_read (Peer *p)
{
  for (int loops = 0; loops < 16 && p->fd >= 0; loops++)
    {
      guint old = p->in->len;
      ssize_t n;

      if (old + READ_CHUNK > IN_MAX)
        {
          g_printerr ("xmpp-peer: an element larger than %d bytes; closing\n", IN_MAX);
          conn_close (p);
          return;
        }
      g_byte_array_set_size (p->in, old + READ_CHUNK);
      n = read (p->fd, p->in->data + old, READ_CHUNK);
      g_byte_array_set_size (p->in, old + (n > 0 ? (guint) n : 0));
      if (n == 0)
        {
          conn_close (p);
          return;
        }
      if (n < 0)
        {
          if (errno != EAGAIN && errno != EINTR)
            conn_close (p);
          return;
        }
      p->bytes_in += (guint64) n;
      if (!parse_input (p))
        {
          out_append (p, "</stream:stream>", 16);
          conn_write (p);
          conn_close (p);
          return;
        }
      if (n < READ_CHUNK)
        return;
    }
}

int
main (int argc, char **argv)
{
  int port = 0, ctl_port = 0;
  g_autofree char *component = NULL, *xmpp_domain = NULL, *secret = NULL;
  GOptionEntry entries[] = {
    { "port", 0, 0, G_OPTION_ARG_INT, &port, "component port on 127.0.0.1", "N" },
    { "ctl-port", 0, 0, G_OPTION_ARG_INT, &ctl_port, "control port on 127.0.0.1", "N" },
    { "component", 0, 0, G_OPTION_ARG_STRING, &component, "the component's domain", "D" },
    { "xmpp-domain", 0, 0, G_OPTION_ARG_STRING, &xmpp_domain, "the XMPP users' domain", "D" },
    { "secret", 0, 0, G_OPTION_ARG_STRING, &secret, "the component secret", "S" },
    { NULL }
  };
  g_autoptr (GOptionContext) oc = g_option_context_new ("- XEP-0114 server side for the bench");
  g_autoptr (GError) error = NULL;
  Peer p = { 0 };
  struct sigaction sa = { 0 };

  g_option_context_add_main_entries (oc, entries, NULL);
  if (!g_option_context_parse (oc, &argc, &argv, &error))
    {
      g_printerr ("xmpp-peer: %s\n", error->message);
      return 64;
    }
  if (port <= 0 || port > 65535 || ctl_port <= 0 || ctl_port > 65535 || !component || !secret)
    {
      g_printerr ("xmpp-peer: --port, --ctl-port, --component and --secret are required\n");
      return 64;
    }
  p.component = component;
  p.xmpp_domain = xmpp_domain ? xmpp_domain : "xmpp.test";
  p.secret = secret;
  p.fd = -1;
  p.in = g_byte_array_sized_new (2 * READ_CHUNK);
  p.out = g_byte_array_sized_new (2 * OUT_LOW);
  p.lat_us = g_array_sized_new (FALSE, FALSE, sizeof (gint64), 1 << 16);
  p.src_users = 1;
  for (int i = 0; i < MAX_CTL; i++)
    p.ctl[i].fd = -1;

  sa.sa_handler = on_signal;
  sigaction (SIGTERM, &sa, NULL);
  sigaction (SIGINT, &sa, NULL);
  signal (SIGPIPE, SIG_IGN);

  p.listen_fd = listen_on ((guint16) port);
  p.ctl_fd = listen_on ((guint16) ctl_port);
  if (p.listen_fd < 0 || p.ctl_fd < 0)
    {
      g_printerr ("xmpp-peer: cannot listen on 127.0.0.1:%d/%d: %s\n", port, ctl_port,
                  g_strerror (errno));
      return 1;
    }

  while (!quit_signal)
    {
      struct pollfd pf[3 + MAX_CTL];
      int np = 0, timeout = -1, ci[MAX_CTL];

      pf[np++] = (struct pollfd) { .fd = p.listen_fd, .events = POLLIN };
      pf[np++] = (struct pollfd) { .fd = p.ctl_fd, .events = POLLIN };
      if (p.fd >= 0)
        pf[np++] = (struct pollfd) { .fd = p.fd,
                                     .events = POLLIN | (p.out_pos < p.out->len ? POLLOUT : 0) };
      for (int i = 0; i < MAX_CTL; i++)
        {
          ci[i] = -1;
          if (p.ctl[i].fd >= 0)
            {
              ci[i] = np;
              pf[np++] = (struct pollfd) { .fd = p.ctl[i].fd, .events = POLLIN };
            }
        }
      if (p.fd >= 0 && p.src_queued < p.src_total && p.out_pos >= p.out->len)
        timeout = 1;   /* a paced source: next stanzas due within a millisecond */
      if (poll (pf, (nfds_t) np, timeout) < 0)
        {
          if (errno == EINTR)
            continue;
          g_printerr ("xmpp-peer: poll: %s\n", g_strerror (errno));
          return 1;
        }
      if (pf[0].revents & POLLIN)
        conn_accept (&p);
      else if (p.fd >= 0 && np > 2 && pf[2].fd == p.fd)
        {
          if (pf[2].revents & (POLLIN | POLLHUP | POLLERR))
            conn_read (&p);
          if (p.fd >= 0 && (pf[2].revents & POLLOUT))
            conn_write (&p);
        }
      if (p.fd >= 0)
        {
          source_fill (&p);
          conn_write (&p);
        }
      for (int i = 0; i < MAX_CTL; i++)
        if (ci[i] >= 0 && (pf[ci[i]].revents & (POLLIN | POLLHUP | POLLERR)))
          ctl_read (&p, &p.ctl[i]);
      if (pf[1].revents & POLLIN)
        {
          int fd = accept4 (p.ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

          for (int i = 0; fd >= 0 && i < MAX_CTL; i++)
            if (p.ctl[i].fd < 0)
              {
                p.ctl[i].fd = fd;
                fd = -1;
              }
          if (fd >= 0)
            close (fd);
        }
    }
  conn_close (&p);
  close (p.listen_fd);
  close (p.ctl_fd);
  for (int i = 0; i < MAX_CTL; i++)
    if (p.ctl[i].fd >= 0)
      close (p.ctl[i].fd);
  g_byte_array_unref (p.in);
  g_byte_array_unref (p.out);
  g_array_unref (p.lat_us);
  return 0;
}
