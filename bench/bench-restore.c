/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Start-up with kept SIP watchers' dialogs (bench/README.md): how long
 * stoxd takes to bring back --dialogs watcher dialogs after a crash, and
 * what they cost in memory.  The daemon's own store.c, restore.c and
 * runner.c run here, with the real SIP front end and core.
 *
 * Phases:
 *   check    one real dialog: a SUBSCRIBE from a plain UDP socket to a
 *            StoxSipEndpoint, answered 200; the state the front end
 *            reports must equal, byte for byte, the text this bench builds
 *            for it, so the generated states are what a real run stores.
 *   write    a fresh store: a WATCH record and a dialog state per dialog,
 *            plus an APPROVAL record for every tenth pair, queued and
 *            flushed in one transaction.  check and write run in a child
 *            process, so that their freed heap cannot hide the growth
 *            measured below.
 *   restore  as stoxd's main() does it: store opened, SIP endpoint
 *            created, stox_restore(), the dialog func set, the store
 *            flushed.  RSS growth from just before stox_restore().
 *            With --split the SIP front end's halves and the core's
 *            records are restored one after the other instead, to show
 *            the RSS of each.
 *   re-save  the first loop pass: each restored dialog reserves its next
 *            CSeq block and reports its state again; all written in one
 *            transaction by the runner's flush.
 *   resync   the link comes up (stox_gateway_on_link, there is no XMPP
 *            component here) and on_timer runs every 50 ms on a synthetic
 *            clock until the core has asked for every restored pair's
 *            state (a probe when approved, a subscribe otherwise).
 *
 * Output: a table on stdout, and "RESULT key value" lines for bench/run.
 * Temporary files go to g_get_tmp_dir() (bench/run sets TMPDIR).
 */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "core/gateway.h"
#include "daemon/rules-dir.h"
#include "daemon/restore.h"
#include "daemon/runner.h"
#include "daemon/store.h"
#include "sip/endpoint.h"

#define S          (G_USEC_PER_SEC)
#define USERS      100               /* XMPP users watched */
#define APPROVED   10                /* one pair in APPROVED is approved */
#define TICK_US    (50 * 1000)       /* the core's restore pacing tick */
#define EXPIRES_S  3600u

/* ---- measuring (as bench-core) ------------------------------------------ */

static long
rss_kib (void)
{
  g_autofree char *text = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return -1;
  line = strstr (text, "\nVmRSS:");
  return line != NULL ? strtol (line + strlen ("\nVmRSS:"), NULL, 10) : -1;
}

static double
secs (gint64 us)
{
  return (double) us / S;
}

/* ---- the gateway (as bench-core) ----------------------------------------- */

/* The daemon's own loader: the rules stoxd runs with. */
static StoxRules *
load_rules (const char *dir)
{
  g_autoptr (GError) error = NULL;
  StoxRules *rules = stox_config_load_rules (dir, &error);

  if (rules == NULL)
    g_error ("%s", error->message);
  return rules;
}

/* ---- what dialog i is ----------------------------------------------------- */

/* Watcher romeo<i>@sip.test on juliet<i % USERS>@xmpp.test, dialog i + 1:
 * all pairs distinct. */
static char *
watcher_jid (guint i)
{
  return g_strdup_printf ("romeo%u@sip.test", i);
}

static char *
target_jid (guint i)
{
  return g_strdup_printf ("juliet%u@xmpp.test", i % USERS);
}

/* The front end's saved state of dialog i (src/sip/dialog-state.c): "v1 "
 * and the GVariant text of (Call-ID, our To with our tag, the watcher's
 * From with its tag, its Contact URI, no route set, remote CSeq 1, the
 * first CSeq block reserved, Event presence, no id).  Built the way
 * stox_sip_dialog_state_format() builds it; check_real_dialog() compares
 * one with the real thing. */
static char *
state_text (guint i, const char *local_tag)
{
  static const char *const no_routes[] = { NULL };
  g_autofree char *call_id = g_strdup_printf ("%u-restore@bench.test", i);
  g_autofree char *local = g_strdup_printf ("<sip:juliet%u@xmpp.test>;tag=%s", i % USERS,
                                            local_tag);
  g_autofree char *remote = g_strdup_printf ("<sip:romeo%u@sip.test>;tag=w%u", i, i);
  g_autofree char *target = g_strdup_printf ("sip:romeo%u@127.0.0.1:5070", i);
  g_autoptr (GVariant) state = NULL;
  g_autofree char *text = NULL;

  state = g_variant_ref_sink (g_variant_new ("(^ay^ay^ay^ay@aayuu^ay^ay)", call_id, local,
                                             remote, target,
                                             g_variant_new_bytestring_array (no_routes, -1),
                                             1u, 101u, "presence", ""));
  text = g_variant_print (state, FALSE);
  return g_strconcat ("v1 ", text, NULL);
}

/* ---- check: one real dialog ----------------------------------------------- */

typedef struct
{
  StoxSipEndpoint *ep;
  char            *state;
  GPtrArray       *requests;   /* StoxSipRequest, answered after the dispatch */
} Probe;

/* The endpoint's callbacks only queue (endpoint.h), as stoxd's runner. */
static void
probe_on_request (StoxSipRequest *req, gpointer user_data)
{
  Probe *p = user_data;

  g_ptr_array_add (p->requests, req);
}

static void
probe_dispatched (gpointer user_data)
{
  Probe *p = user_data;

  for (guint i = 0; i < p->requests->len; i++)
    {
      const StoxSipRequest *req = p->requests->pdata[i];

      if (req->method == STOX_SIP_METHOD_SUBSCRIBE && req->dialog == 0)
        stox_sip_endpoint_respond (p->ep,
                                   &(StoxSipAnswer) {
                                     .token = req->token,
                                     .status = 200,
                                     .phrase = (char *) "OK",
                                     .expires = EXPIRES_S,
                                     .min_expires = -1,
                                   });
      else
        stox_sip_endpoint_respond (p->ep,
                                   &(StoxSipAnswer) {
                                     .token = req->token,
                                     .status = 481,
                                     .phrase = (char *) "No Such Subscription",
                                     .expires = -1,
                                     .min_expires = -1,
                                   });
    }
  g_ptr_array_set_size (p->requests, 0);
}

static void
probe_on_response (const StoxSipResponse *resp, gpointer user_data)
{
}

static void
probe_on_dialog (StoxToken id, const char *state, gpointer user_data)
{
  Probe *p = user_data;

  if (state != NULL && p->state == NULL)
    p->state = g_strdup (state);
}

static gboolean
wake (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Dialog 0 made for real: returns the tag the front end gave it, after
 * checking that state_text (0, tag) is exactly what it reported. */
static char *
check_real_dialog (void)
{
  StoxSipEndpointConfig config = { .listen = "sip:127.0.0.1:0", .user_agent = "bench-restore" };
  Probe p = { NULL, NULL, g_ptr_array_new_with_free_func ((GDestroyNotify) stox_sip_request_free) };
  g_autoptr (GError) error = NULL;
  struct sockaddr_in addr = { .sin_family = AF_INET };
  socklen_t addr_len = sizeof addr;
  const char *bound, *colon;
  char reply[4096];
  int fd;

  p.ep = stox_sip_endpoint_new (&config, probe_on_request, probe_on_response, &p, &error);
  if (p.ep == NULL)
    g_error ("SIP endpoint: %s", error->message);
  stox_sip_endpoint_set_dialog_func (p.ep, probe_on_dialog, &p);
  stox_sip_endpoint_set_dispatch_func (p.ep, probe_dispatched, &p);
  bound = stox_sip_endpoint_get_bound (p.ep);
  colon = strrchr (bound, ':');
  g_assert (colon != NULL);

  fd = socket (AF_INET, SOCK_DGRAM, 0);
  g_assert (fd >= 0);
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 ||
      getsockname (fd, (struct sockaddr *) &addr, &addr_len) < 0)
    g_error ("UDP socket: %s", g_strerror (errno));

  g_autofree char *subscribe =
    g_strdup_printf ("SUBSCRIBE sip:juliet0@xmpp.test SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-bench-restore-0;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:romeo0@sip.test>;tag=w0\r\n"
                     "To: <sip:juliet0@xmpp.test>\r\n"
                     "Call-ID: 0-restore@bench.test\r\n"
                     "CSeq: 1 SUBSCRIBE\r\n"
                     "Contact: <sip:romeo0@127.0.0.1:5070>\r\n"
                     "Event: presence\r\n"
                     "Expires: %u\r\n"
                     "Accept: application/pidf+xml\r\n"
                     "Content-Length: 0\r\n\r\n",
                     ntohs (addr.sin_port), EXPIRES_S);
  struct sockaddr_in to = { .sin_family = AF_INET,
                            .sin_port = htons ((guint16) atoi (colon + 1)),
                            .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  if (sendto (fd, subscribe, strlen (subscribe), 0, (struct sockaddr *) &to, sizeof to) < 0)
    g_error ("sendto: %s", g_strerror (errno));

  guint wake_id = g_timeout_add (50, wake, NULL);
  gint64 give_up = g_get_monotonic_time () + 5 * S;
  while (p.state == NULL && g_get_monotonic_time () < give_up)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake_id);
  if (p.state == NULL)
    g_error ("check: no dialog state from the SIP front end within 5 s");

  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  ssize_t n = poll (&pfd, 1, 2000) == 1 ? recv (fd, reply, sizeof reply - 1, 0) : -1;
  reply[MAX (n, 0)] = '\0';
  if (!g_str_has_prefix (reply, "SIP/2.0 200 "))
    g_error ("check: the SUBSCRIBE was not answered 200");
  close (fd);
  stox_sip_endpoint_free (p.ep);
  g_ptr_array_unref (p.requests);

  /* Our tag, as the front end wrote it in the local address. */
  const char *tag = strstr (p.state, ";tag=");
  g_assert (tag != NULL);
  tag += strlen (";tag=");
  g_autofree char *local_tag = g_strndup (tag, strcspn (tag, ";'>,"));
  g_autofree char *built = state_text (0, local_tag);
  if (!g_str_equal (built, p.state))
    g_error ("check: the bench's state differs from the front end's:\n  real:  %s\n  bench: %s",
             p.state, built);
  g_free (p.state);
  return g_steal_pointer (&local_tag);
}

/* ---- write (in a child process) ------------------------------------------- */

typedef struct
{
  gint64 queue_us;
  gint64 flush_us;
  gint64 rows;
  gint64 db_bytes;
} Written;

static void
phase_write (const char *dir, guint n, int result_fd)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *real_tag = check_real_dialog ();
  g_autoptr (StoxStore) store = stox_store_open (dir, &error);
  Written w = { 0 };
  gint64 t0, t1, t2;

  if (store == NULL)
    g_error ("%s", error->message);
  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *watcher = watcher_jid (i);
      g_autofree char *target = target_jid (i);
      g_autofree char *entity = g_strdup_printf ("sip:juliet%u@xmpp.test", i % USERS);
      g_autofree char *tag = g_strdup_printf ("%s-%u", real_tag, i);
      g_autofree char *state = state_text (i, tag);
      StoxStoreRecord r = { .kind = STOX_STORE_WATCH, .sip_jid = watcher, .xmpp_jid = target,
                            .dialog = i + 1, .entity = entity,
                            .deadline = g_get_monotonic_time () + (gint64) EXPIRES_S * S };

      stox_store_queue (store, &r);
      stox_store_queue_dialog (store, i + 1, state);
      if (i % APPROVED == 0)
        {
          StoxStoreRecord ok = { .kind = STOX_STORE_APPROVAL, .sip_jid = watcher,
                                 .xmpp_jid = target };

          stox_store_queue (store, &ok);
        }
    }
  t1 = g_get_monotonic_time ();
  if (!stox_store_flush (store, &error))
    g_error ("%s", error->message);
  t2 = g_get_monotonic_time ();
  w.queue_us = t1 - t0;
  w.flush_us = t2 - t1;
  w.rows = (gint64) (stox_store_count (store) + stox_store_count_dialogs (store));

  g_autofree char *path = g_strdup (stox_store_path (store));
  g_clear_pointer (&store, stox_store_free);
  struct stat st;
  if (g_stat (path, &st) == 0)
    w.db_bytes = st.st_size;
  if (write (result_fd, &w, sizeof w) != sizeof w)
    g_error ("write: %s", g_strerror (errno));
}

static Written
phase_write_apart (const char *dir, guint n)
{
  Written w = { 0 };
  int fds[2];
  pid_t pid;
  int status = 0;

  fflush (stdout);
  if (pipe (fds) < 0 || (pid = fork ()) < 0)
    g_error ("fork: %s", g_strerror (errno));
  if (pid == 0)
    {
      close (fds[0]);
      phase_write (dir, n, fds[1]);
      fflush (stdout);
      _exit (0);
    }
  close (fds[1]);
  ssize_t got = read (fds[0], &w, sizeof w);
  close (fds[0]);
  if (waitpid (pid, &status, 0) != pid || !WIFEXITED (status) || WEXITSTATUS (status) != 0 ||
      got != sizeof w)
    {
      fprintf (stderr, "bench-restore: the write phase failed\n");
      exit (1);
    }
  return w;
}

/* ---- re-save: the first loop pass ----------------------------------------- */

typedef struct
{
  StoxRunner *runner;
  guint64     reported;
} Resave;

static void
resave_on_dialog (StoxToken id, const char *state, gpointer user_data)
{
  Resave *r = user_data;

  r->reported++;
  stox_runner_on_sip_dialog (id, state, r->runner);
}

/* ---- resync --------------------------------------------------------------- */

typedef struct
{
  guint64 stanzas;
  guint64 probes;
  guint64 subscribes;
  guint64 others;       /* actions that are not presence stanzas */
  guint   steps;        /* on_link and on_timer calls that sent stanzas */
  guint   max_per_step;
  gint64  span_us;      /* synthetic: link up to the last stanza */
  gint64  wall_us;
} Resync;

static guint
count_stanzas (Resync *rs, GPtrArray *actions)
{
  guint n = 0;

  for (guint i = 0; i < actions->len; i++)
    {
      StoxAction *a = actions->pdata[i];

      if (a->kind != STOX_ACTION_XMPP_SEND || a->u.stanza->kind != STOX_STANZA_PRESENCE)
        {
          rs->others++;
          continue;
        }
      n++;
      if (g_strcmp0 (a->u.stanza->type, "probe") == 0)
        rs->probes++;
      else if (g_strcmp0 (a->u.stanza->type, "subscribe") == 0)
        rs->subscribes++;
    }
  g_ptr_array_set_size (actions, 0);
  rs->stanzas += n;
  rs->max_per_step = MAX (rs->max_per_step, n);
  if (n > 0)
    rs->steps++;
  return n;
}

static Resync
phase_resync (StoxGateway *gw)
{
  g_autoptr (GPtrArray) actions = stox_actions_new ();
  Resync rs = { 0 };
  gint64 start = g_get_monotonic_time ();   /* the clock the records came in on */
  gint64 now = start;
  gint64 t0 = g_get_monotonic_time ();

  stox_gateway_on_link (gw, TRUE, 0, now, actions);
  count_stanzas (&rs, actions);
  /* Until nothing is due within a tick (the watchers expire in an hour). */
  for (guint step = 0; step < 100000; step++)
    {
      gint64 due = stox_gateway_next_deadline (gw);

      if (due < 0 || due > now + TICK_US)
        break;
      now += TICK_US;
      stox_gateway_on_timer (gw, now, actions);
      if (count_stanzas (&rs, actions) > 0)
        rs.span_us = now - start;
    }
  rs.wall_us = g_get_monotonic_time () - t0;
  return rs;
}

/* ---- --split: what each half costs ---------------------------------------- */

typedef struct
{
  StoxSipEndpoint   *sip;
  StoxRunner        *runner;
  StoxRestoreCounts  counts;
} Split;

static void
split_dialog (StoxToken id, const char *state, gpointer user_data)
{
  Split *sp = user_data;
  g_autoptr (GError) error = NULL;

  if (!stox_sip_endpoint_restore_dialog (sp->sip, id, state, &error))
    g_error ("%s", error->message);
  sp->counts.dialogs++;
}

static void
split_record (const StoxStoreRecord *record, gpointer user_data)
{
  Split *sp = user_data;

  sp->counts.records++;
  stox_runner_restore (record, sp->runner);
}

/* stox_restore() without its pairing of the halves (every one is whole
 * here): first the SIP front end's, then the core's, with the RSS growth
 * of each. */
static void
restore_split (StoxStore         *store,
               StoxSipEndpoint   *sip,
               StoxRunner        *runner,
               StoxRestoreCounts *ret_counts)
{
  Split sp = { sip, runner, { 0 } };
  g_autoptr (GError) error = NULL;
  long rss0 = rss_kib (), rss1, rss2;
  gint64 sql0 = sqlite3_memory_used (), sql1;

  if (!stox_store_load_dialogs (store, split_dialog, &sp, &error))
    g_error ("%s", error->message);
  rss1 = rss_kib ();
  sql1 = sqlite3_memory_used ();
  if (!stox_store_load (store, split_record, &sp, &error))
    g_error ("%s", error->message);
  rss2 = rss_kib ();

  double n = MAX (sp.counts.dialogs, 1);
  printf ("%-8s RSS +%.0f B/dialog for the SIP front end's halves (SQLite heap +%.0f B of it), "
          "+%.0f B for the core's\n",
          "split", (rss1 - rss0) * 1024.0 / n, (double) (sql1 - sql0) / n,
          (rss2 - rss1) * 1024.0 / n);
  printf ("RESULT restore.split_sip_bytes_per_dialog %.0f\n", (rss1 - rss0) * 1024.0 / n);
  printf ("RESULT restore.split_core_bytes_per_dialog %.0f\n", (rss2 - rss1) * 1024.0 / n);
  *ret_counts = sp.counts;
}

/* ---- start-up ------------------------------------------------------------- */

static void
remove_dir (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  static const char *const xmpp_domains[] = { "xmpp.test", NULL };
  guint n = 100000;
  gint dialogs = -1;
  gboolean split = FALSE;
  g_autofree char *rules_dir = NULL;
  GOptionEntry entries[] = {
    { "dialogs", 'n', 0, G_OPTION_ARG_INT, &dialogs, "kept watcher dialogs (100000)", "N" },
    { "split", 0, 0, G_OPTION_ARG_NONE, &split,
      "restore the two halves one after the other, not through stox_restore(), "
      "and show the RSS of each", NULL },
    { "rules", 0, 0, G_OPTION_ARG_FILENAME, &rules_dir, "gateway-rules directory", "DIR" },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("[N] - stox start-up benchmark");
  g_autoptr (GError) error = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "bench-restore: %s\n", error->message);
      return 2;
    }
  if (argc > 1)
    dialogs = atoi (argv[1]);
  if (dialogs > 0)
    n = (guint) MIN (dialogs, 10000000);

  g_autofree char *dir = g_dir_make_tmp ("stox-bench-restore-XXXXXX", &error);
  if (dir == NULL)
    g_error ("%s", error->message);

  /* ---- write ---- */
  Written w = phase_write_apart (dir, n);
  printf ("%-8s %8u dialogs + %u approvals, states checked against a real dialog: "
          "queue %.2f s, flush %.2f s (one transaction, %" G_GINT64_FORMAT " rows), "
          "stox.db %.1f MiB\n",
          "write", n, (n + APPROVED - 1) / APPROVED, secs (w.queue_us), secs (w.flush_us),
          w.rows, w.db_bytes / 1048576.0);
  printf ("RESULT restore.write_s %.2f\n", secs (w.queue_us + w.flush_us));
  printf ("RESULT restore.flush_s %.2f\n", secs (w.flush_us));
  fflush (stdout);

  /* ---- restore, as stoxd's main() ---- */
  StoxRules *rules = load_rules (rules_dir != NULL ? rules_dir : BENCH_RULES_DIR);
  StoxGatewayConfig gw_config = {
    .sip_domain = "sip.test",
    .component = "sip.test",
    .xmpp_domains = xmpp_domains,
    .bounce_wait_ms = 250,
    .instance = "bench",
  };
  StoxGateway *gw = stox_gateway_new (&gw_config, rules, &error);
  if (gw == NULL)
    g_error ("%s", error->message);
  StoxRunner *runner = stox_runner_new (gw);
  StoxSipEndpointConfig sip_config = { .listen = "sip:127.0.0.1:0", .user_agent = "bench-restore" };
  StoxRestoreCounts counts = { 0 };
  long rss0, rss1, rss2;
  gint64 sql0, sql1;
  gint64 t0, t1, t2, t3, restore_us;

  t0 = g_get_monotonic_time ();
  StoxStore *store = stox_store_open (dir, &error);
  if (store == NULL)
    g_error ("%s", error->message);
  stox_runner_set_store (runner, store);
  StoxSipEndpoint *sip = stox_sip_endpoint_new (&sip_config, stox_runner_on_sip_request,
                                                stox_runner_on_sip_response, runner, &error);
  if (sip == NULL)
    g_error ("SIP endpoint: %s", error->message);
  rss0 = rss_kib ();
  sql0 = sqlite3_memory_used ();
  t1 = g_get_monotonic_time ();
  if (split)
    restore_split (store, sip, runner, &counts);
  else if (!stox_restore (store, sip, runner, &counts, &error))
    g_error ("%s", error->message);
  t2 = g_get_monotonic_time ();
  restore_us = t2 - t1;
  Resave resave = { runner, 0 };
  stox_sip_endpoint_set_dialog_func (sip, resave_on_dialog, &resave);
  stox_runner_flush (runner);
  t3 = g_get_monotonic_time ();
  rss1 = rss_kib ();
  sql1 = sqlite3_memory_used ();

  double per_dialog = (rss1 - rss0) * 1024.0 / MAX (counts.dialogs, 1);
  double sql_per_dialog = (double) (sql1 - sql0) / MAX (counts.dialogs, 1);
  printf ("%-8s %8" G_GSIZE_FORMAT " dialogs: %s %.2f s (%.0f dialogs/s; open+endpoint "
          "%.3f s, flush %.3f s); records %" G_GSIZE_FORMAT ", dropped %" G_GSIZE_FORMAT
          "; RSS +%.0f B/dialog (SQLite heap +%.0f B of it)\n",
          "restore", counts.dialogs, split ? "by halves" : "stox_restore", secs (restore_us), counts.dialogs / secs (restore_us),
          secs (t1 - t0), secs (t3 - t2), counts.records, counts.dropped, per_dialog,
          sql_per_dialog);
  printf ("RESULT restore.dialogs %" G_GSIZE_FORMAT "\n", counts.dialogs);
  printf ("RESULT restore.records %" G_GSIZE_FORMAT "\n", counts.records);
  printf ("RESULT restore.dropped %" G_GSIZE_FORMAT "\n", counts.dropped);
  printf ("RESULT restore.restore_s %.2f\n", secs (restore_us));
  printf ("RESULT restore.dialogs_per_s %.0f\n", counts.dialogs / secs (restore_us));
  printf ("RESULT restore.rss_bytes_per_dialog %.0f\n", per_dialog);
  printf ("RESULT restore.sqlite_bytes_per_dialog %.0f\n", sql_per_dialog);
  fflush (stdout);

  /* ---- re-save: the first loop pass ---- */
  guint wake_id = g_timeout_add (50, wake, NULL);
  gint64 give_up = g_get_monotonic_time () + 120 * S;
  t0 = g_get_monotonic_time ();
  while ((resave.reported < counts.dialogs || stox_store_pending (store) > 0) &&
         g_get_monotonic_time () < give_up)
    g_main_context_iteration (NULL, TRUE);
  t1 = g_get_monotonic_time ();
  g_source_remove (wake_id);
  rss2 = rss_kib ();
  printf ("%-8s %8" G_GUINT64_FORMAT " states re-reported (next CSeq block) and flushed in %.2f s"
          "%s; RSS now +%.0f B/dialog\n",
          "re-save", resave.reported, secs (t1 - t0),
          stox_store_pending (store) > 0 ? " (NOT all written)" : "",
          (rss2 - rss0) * 1024.0 / MAX (counts.dialogs, 1));
  printf ("RESULT restore.resave_s %.2f\n", secs (t1 - t0));
  fflush (stdout);

  /* ---- resync ---- */
  Resync rs = phase_resync (gw);
  printf ("%-8s %8" G_GUINT64_FORMAT " stanzas (%" G_GUINT64_FORMAT " probe, %" G_GUINT64_FORMAT
          " subscribe), %u steps, at most %u per 50 ms: %.2f s synthetic, %.2f s wall"
          "%s\n",
          "resync", rs.stanzas, rs.probes, rs.subscribes, rs.steps, rs.max_per_step,
          secs (rs.span_us), secs (rs.wall_us),
          rs.others > 0 ? " (and other actions!)" : "");
  printf ("RESULT restore.resync_stanzas %" G_GUINT64_FORMAT "\n", rs.stanzas);
  printf ("RESULT restore.resync_synthetic_s %.2f\n", secs (rs.span_us));
  printf ("RESULT restore.resync_max_per_step %u\n", rs.max_per_step);

  /* ---- free ---- */
  t0 = g_get_monotonic_time ();
  stox_sip_endpoint_free (sip);
  stox_runner_free (runner);
  stox_gateway_free (gw);
  stox_store_free (store);
  stox_rules_free (rules);
  t1 = g_get_monotonic_time ();
  remove_dir (dir);

  printf ("%-8s everything freed in %.2f s\n", "free", secs (t1 - t0));
  printf ("restore %7" G_GSIZE_FORMAT " dialogs: write %.1f s (one transaction), "
          "load+restore %.1f s (%.0f/s), RSS +%.1f KB/dialog, resync %" G_GUINT64_FORMAT
          " stanzas over %.2f s synthetic\n",
          counts.dialogs, secs (w.queue_us + w.flush_us), secs (restore_us),
          counts.dialogs / secs (restore_us), per_dialog / 1000, rs.stanzas, secs (rs.span_us));
  return counts.dialogs == n && counts.dropped == 0 ? 0 : 1;
}
