/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The component link against a real, private Prosody (test-peers.md):
 * handshake, an IQ round trip, escaping through a real server, the server
 * going away and coming back, a wrong secret, a refused port, a server that
 * never answers, a second connection for the same name, stop, back-pressure,
 * and the idle wake-up rate of the GSource.
 *
 * Each test writes its own Prosody config into a temporary directory, on
 * loopback ports nobody else holds, and kills the Prosody it started: in
 * the fixture's teardown, and through PR_SET_PDEATHSIG if the test aborts.
 */
#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/testutil.h"
#include "xmpp/component.h"

#ifndef PROSODY_BIN
#define PROSODY_BIN "/usr/bin/prosody"
#endif

#define COMPONENT  "gw.test"
#define HOST       "localhost.test"
#define SECRET     "s3cr3t-<&>\"'"

typedef struct
{
  StoxXmppLinkState state;
  guint             retry_in_s;
  char             *reason;
  gint64            at;
} LinkEvent;

typedef struct
{
  StoxStanzaKind kind;
  char          *type, *id, *from, *to, *body, *iq_child_name, *iq_child_ns;
  char          *error_condition;
} Seen;

typedef struct
{
  char              *dir;
  char              *config;
  char              *log;
  const char        *prosody_bin;
  GPid               prosody;
  guint16            c2s_port;
  guint16            comp_port;
  StoxXmppComponent *comp;
  StoxXmppComponent *comp2;
  GPtrArray         *links;
  GPtrArray         *links2;
  GPtrArray         *stanzas;
  GPtrArray         *unsent;     /* ids the component reported unwritten */
  guint              unsent_bad; /* reported stanzas without kind or to */
  gboolean           done;
  gint64             done_at;
  int                listener;   /* no-answer, connect-timeout tests */
  int                fillers[4];
} Fixture;

static void
link_event_free (gpointer p)
{
  LinkEvent *e = p;

  g_free (e->reason);
  g_free (e);
}

static void
seen_free (gpointer p)
{
  Seen *s = p;

  g_free (s->type);
  g_free (s->id);
  g_free (s->from);
  g_free (s->to);
  g_free (s->body);
  g_free (s->iq_child_name);
  g_free (s->iq_child_ns);
  g_free (s->error_condition);
  g_free (s);
}

/* ---- helpers ----------------------------------------------------------- */

static gboolean
port_accepts (guint16 port)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (port) };
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  gboolean ok;

  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  ok = connect (fd, (struct sockaddr *) &sa, sizeof sa) == 0;
  close (fd);
  return ok;
}

static gboolean
keep_ticking (gpointer data)
{
  (void) data;
  return G_SOURCE_CONTINUE;
}

typedef gboolean (*Condition) (Fixture *f, gconstpointer data);

/* Runs the default main context until `cond` holds or `timeout_ms` pass. */
static gboolean
wait_for (Fixture      *f,
          Condition     cond,
          gconstpointer data,
          guint         timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint tick = g_timeout_add (20, keep_ticking, NULL);
  gboolean ok;

  while (!(ok = cond (f, data)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  return ok;
}

static guint
count_links (GPtrArray *links, StoxXmppLinkState state)
{
  guint n = 0;

  for (guint i = 0; i < links->len; i++)
    if (((LinkEvent *) links->pdata[i])->state == state)
      n++;
  return n;
}

static LinkEvent *
last_link (GPtrArray *links)
{
  g_assert_cmpuint (links->len, >, 0);
  return links->pdata[links->len - 1];
}

static gboolean
has_ups (Fixture *f, gconstpointer n)
{
  return count_links (f->links, STOX_XMPP_LINK_UP) >= GPOINTER_TO_UINT (n);
}

static gboolean
has_downs (Fixture *f, gconstpointer n)
{
  return count_links (f->links, STOX_XMPP_LINK_DOWN) >= GPOINTER_TO_UINT (n);
}

static gboolean
has_downs2 (Fixture *f, gconstpointer n)
{
  return count_links (f->links2, STOX_XMPP_LINK_DOWN) >= GPOINTER_TO_UINT (n);
}

static Seen *
find_seen (Fixture *f, const char *id)
{
  for (guint i = 0; i < f->stanzas->len; i++)
    {
      Seen *s = f->stanzas->pdata[i];
      if (g_strcmp0 (s->id, id) == 0)
        return s;
    }
  return NULL;
}

static Seen *
must_seen (Fixture *f, const char *id)
{
  Seen *s = find_seen (f, id);

  if (s == NULL)
    g_error ("no stanza with id '%s' arrived", id);
  return s;
}

static gboolean
has_stanza (Fixture *f, gconstpointer id)
{
  return find_seen (f, id) != NULL;
}

static gboolean
is_done (Fixture *f, gconstpointer data)
{
  (void) data;
  return f->done;
}

/* ---- callbacks --------------------------------------------------------- */

static void
record_link (GPtrArray *links, const char *who, StoxXmppLinkState state,
             guint retry_in_s, const char *reason)
{
  LinkEvent *e = g_new0 (LinkEvent, 1);

  e->state = state;
  e->retry_in_s = retry_in_s;
  e->reason = g_strdup (reason);
  e->at = g_get_monotonic_time ();
  g_test_message ("%s: link %s retry=%u reason=%s", who,
                  state == STOX_XMPP_LINK_UP ? "UP" : "DOWN", retry_in_s,
                  reason != NULL ? reason : "(none)");
  g_ptr_array_add (links, e);
}

static void
on_link (StoxXmppLinkState state, guint retry_in_s, const char *reason, gpointer data)
{
  Fixture *f = data;

  record_link (f->links, "comp", state, retry_in_s, reason);
}

static void
on_link2 (StoxXmppLinkState state, guint retry_in_s, const char *reason, gpointer data)
{
  Fixture *f = data;

  record_link (f->links2, "comp2", state, retry_in_s, reason);
}

/* Takes `st`, as the component hands it over. */
static void
on_stanza (StoxStanza *stanza, gpointer data)
{
  g_autoptr (StoxStanza) st = stanza;
  Fixture *f = data;
  Seen *s = g_new0 (Seen, 1);

  s->kind = st->kind;
  s->type = g_strdup (st->type);
  s->id = g_strdup (st->id);
  s->from = g_strdup (st->from);
  s->to = g_strdup (st->to);
  s->body = g_strdup (st->body);
  s->iq_child_name = g_strdup (st->iq_child_name);
  s->iq_child_ns = g_strdup (st->iq_child_ns);
  s->error_condition = g_strdup (st->error_condition);
  g_test_message ("stanza kind=%d type=%s id=%s from=%s child=%s cond=%s", st->kind,
                  st->type, st->id, st->from, st->iq_child_name, st->error_condition);
  g_ptr_array_add (f->stanzas, s);
}

static void
on_unsent (StoxStanza *stanza, gpointer data)
{
  g_autoptr (StoxStanza) st = stanza;
  Fixture *f = data;

  if (st->kind != STOX_STANZA_MESSAGE || g_strcmp0 (st->to, "bob@" COMPONENT) != 0)
    f->unsent_bad++;
  g_ptr_array_add (f->unsent, g_strdup (st->id));
}

static gboolean
on_done (gpointer data)
{
  Fixture *f = data;

  f->done = TRUE;
  f->done_at = g_get_monotonic_time ();
  return G_SOURCE_REMOVE;
}

/* ---- Prosody ----------------------------------------------------------- */

static void
die_with_parent (gpointer data)
{
  (void) data;
  /* If the test aborts on a failed assertion, teardown never runs. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* A Lua string literal's contents. */
static char *
lua_escape (const char *s)
{
  GString *out = g_string_new (NULL);

  for (; *s != '\0'; s++)
    {
      if (*s == '\\' || *s == '"')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *s);
    }
  return g_string_free (out, FALSE);
}

static void
write_prosody_config (Fixture *f, const char *secret)
{
  g_autofree char *lua_secret = lua_escape (secret);
  g_autofree char *data = g_build_filename (f->dir, "data", NULL);
  g_autofree char *certs = g_build_filename (f->dir, "certs", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (data, 0700), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (certs, 0700), ==, 0);
  text = g_strdup_printf (
    "-- written by test-xmpp-link\n"
    "%s"
    "data_path = \"%s\"\n"
    "certificates = \"%s\"\n"
    "log = { debug = \"%s\" }\n"
    "interfaces = { \"127.0.0.1\" }\n"
    "local_interfaces = { \"127.0.0.1\" }\n"
    "c2s_ports = { %u }\n"
    "c2s_direct_tls_ports = { }\n"
    "s2s_ports = { }\n"
    "http_ports = { }\n"
    "https_ports = { }\n"
    "component_ports = { %u }\n"
    "component_interfaces = { \"127.0.0.1\" }\n"
    "modules_enabled = { \"disco\", \"ping\" }\n"
    "modules_disabled = { \"offline\", \"s2s\" }\n"
    "authentication = \"internal_plain\"\n"
    "VirtualHost \"" HOST "\"\n"
    "Component \"" COMPONENT "\"\n"
    "    component_secret = \"%s\"\n",
    geteuid () == 0 ? "run_as_root = true\n" : "",
    data, certs, f->log, f->c2s_port, f->comp_port, lua_secret);
  g_file_set_contents (f->config, text, -1, &error);
  g_assert_no_error (error);
}

static void
stop_prosody (Fixture *f)
{
  int status;

  if (f->prosody <= 0)
    return;
  kill (f->prosody, SIGTERM);
  for (int i = 0; i < 500; i++)          /* 5 s, then SIGKILL */
    {
      pid_t r = waitpid (f->prosody, &status, WNOHANG);
      if (r == f->prosody || (r < 0 && errno == ECHILD))
        goto reaped;
      g_usleep (10 * 1000);
    }
  kill (f->prosody, SIGKILL);
  waitpid (f->prosody, &status, 0);
reaped:
  g_spawn_close_pid (f->prosody);
  f->prosody = 0;
}

static void
start_prosody (Fixture *f)
{
  const char *argv[] = { f->prosody_bin, "--config", f->config, "-F", NULL };
  g_autoptr(GError) error = NULL;
  int status;

  g_assert_cmpint (f->prosody, ==, 0);
  g_spawn_async (f->dir, (char **) argv, NULL,
                 G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL
                 | G_SPAWN_STDERR_TO_DEV_NULL,
                 die_with_parent, NULL, &f->prosody, &error);
  g_assert_no_error (error);

  /* Bounded: 10 s for the component port to accept. */
  for (int i = 0; i < 200; i++)
    {
      if (port_accepts (f->comp_port))
        return;
      if (waitpid (f->prosody, &status, WNOHANG) == f->prosody)
        {
          g_spawn_close_pid (f->prosody);
          f->prosody = 0;
          g_error ("prosody exited (status %d) before listening; see %s", status, f->log);
        }
      g_usleep (50 * 1000);
    }
  g_error ("prosody's component port %u did not open within 10 s", f->comp_port);
}

/* ---- fixture ----------------------------------------------------------- */

/* configure's choice ("no" when absent), else Debian's place */
static const char *
prosody_path (void)
{
  static const char *const candidates[] = { PROSODY_BIN, "/usr/bin/prosody" };

  for (gsize i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (g_file_test (candidates[i], G_FILE_TEST_IS_EXECUTABLE))
      return candidates[i];
  return "/usr/bin/prosody";
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  (void) data;
  f->links = g_ptr_array_new_with_free_func (link_event_free);
  f->links2 = g_ptr_array_new_with_free_func (link_event_free);
  f->stanzas = g_ptr_array_new_with_free_func (seen_free);
  f->unsent = g_ptr_array_new_with_free_func (g_free);
  f->listener = -1;
  for (gsize i = 0; i < G_N_ELEMENTS (f->fillers); i++)
    f->fillers[i] = -1;
  f->prosody_bin = prosody_path ();
  f->dir = g_dir_make_tmp ("stox-xmpp-link-XXXXXX", &error);
  g_assert_no_error (error);
  f->config = g_build_filename (f->dir, "prosody.cfg.lua", NULL);
  f->log = g_build_filename (f->dir, "prosody.log", NULL);
  f->c2s_port = stox_test_free_port (FALSE);
  do
    f->comp_port = stox_test_free_port (FALSE);
  while (f->comp_port == f->c2s_port);
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  (void) data;
  g_clear_pointer (&f->comp, stox_xmpp_component_free);
  g_clear_pointer (&f->comp2, stox_xmpp_component_free);
  /* Let the loop settle: nothing of ours may still be attached. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  stop_prosody (f);
  if (f->listener >= 0)
    close (f->listener);
  for (gsize i = 0; i < G_N_ELEMENTS (f->fillers); i++)
    if (f->fillers[i] >= 0)
      close (f->fillers[i]);
  if (g_test_failed ())
    {
      g_autofree char *text = NULL;
      if (g_file_get_contents (f->log, &text, NULL, NULL))
        g_test_message ("prosody log:\n%s", text);
    }
  stox_test_rm_rf (f->dir);
  g_free (f->dir);
  g_free (f->config);
  g_free (f->log);
  g_ptr_array_unref (f->links);
  g_ptr_array_unref (f->links2);
  g_ptr_array_unref (f->stanzas);
  g_ptr_array_unref (f->unsent);
}

static gboolean
need_prosody (Fixture *f)
{
  if (!g_file_test (f->prosody_bin, G_FILE_TEST_IS_EXECUTABLE))
    {
      /* A missing peer fails: a skip would hide that the link was never
       * tested (tests/deps.txt installs it). */
      g_test_fail_printf ("prosody is not installed (%s; tests/deps.txt)", f->prosody_bin);
      return FALSE;
    }
  return TRUE;
}

static StoxXmppComponent *
new_component (Fixture *f, const char *secret, guint16 port,
               StoxXmppLinkFunc link_cb)
{
  StoxXmppComponentConfig config = {
    .jid = COMPONENT,
    .secret = secret,
    .server = "127.0.0.1",
    .port = port,
  };
  StoxXmppComponent *c = stox_xmpp_component_new (&config, on_stanza, link_cb, f);

  stox_xmpp_component_set_backoff (c, 200, 1000);
  return c;
}

static void
connect_up (Fixture *f)
{
  write_prosody_config (f, SECRET);
  start_prosody (f);
  f->comp = new_component (f, SECRET, f->comp_port, on_link);
  gint64 t0 = g_get_monotonic_time ();
  stox_xmpp_component_start (f->comp);
  g_assert_true (wait_for (f, has_ups, GUINT_TO_POINTER (1), 5000));
  /* on loopback the handshake takes milliseconds: no step waited for the
   * one-second tick (stream header and handshake are libstrophe's own
   * output, invisible in the user send-queue length) */
  g_test_message ("UP after %.1f ms", (last_link (f->links)->at - t0) / 1000.0);
  g_assert_cmpint (last_link (f->links)->at - t0, <, 500 * 1000);
  g_assert_cmpuint (count_links (f->links, STOX_XMPP_LINK_DOWN), ==, 0);
  g_assert_true (stox_xmpp_component_is_up (f->comp));
}

static StoxStanza *
iq_to_server (const char *id, const char *child, const char *ns)
{
  StoxStanza *st = stox_stanza_new (STOX_STANZA_IQ);

  st->type = g_strdup ("get");
  st->id = g_strdup (id);
  st->from = g_strdup (COMPONENT);
  st->to = g_strdup (HOST);
  st->iq_child_name = g_strdup (child);
  st->iq_child_ns = g_strdup (ns);
  return st;
}

static void
ping_server (Fixture *f, const char *id)
{
  g_autoptr(StoxStanza) ping = iq_to_server (id, "ping", "urn:xmpp:ping");
  Seen *s;

  g_assert_true (stox_xmpp_component_send (f->comp, ping, NULL));
  g_assert_true (wait_for (f, has_stanza, id, 5000));
  s = must_seen (f, id);
  g_assert_cmpint (s->kind, ==, STOX_STANZA_IQ);
  g_assert_cmpstr (s->type, ==, "result");
  g_assert_cmpstr (s->from, ==, HOST);
  g_assert_cmpstr (s->to, ==, COMPONENT);
}

/* ---- tests ------------------------------------------------------------- */

/* Handshake, IQ round trips, escaping through the server, idle wake-ups,
 * the server going away (DOWN, retries) and coming back (UP again). */
static void
test_link_lifecycle (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  (void) data;
  if (!need_prosody (f))
    return;
  connect_up (f);

  ping_server (f, "ping-1");

  g_autoptr(StoxStanza) disco = iq_to_server ("disco-1", "query",
                                              "http://jabber.org/protocol/disco#info");
  g_assert_true (stox_xmpp_component_send (f->comp, disco, NULL));
  g_assert_true (wait_for (f, has_stanza, "disco-1", 5000));
  Seen *s = must_seen (f, "disco-1");
  g_assert_cmpstr (s->type, ==, "result");
  g_assert_cmpstr (s->iq_child_name, ==, "query");
  g_assert_cmpstr (s->iq_child_ns, ==, "http://jabber.org/protocol/disco#info");

  /* A message to ourselves, through Prosody's parser and router. */
  static const char body[] = "<b>1 & 2</b> \"q\" 'a' ]]> &amp; 😀 日本 \t tab\nline";
  g_autoptr(StoxStanza) msg = stox_stanza_new (STOX_STANZA_MESSAGE);
  msg->type = g_strdup ("chat");
  msg->id = g_strdup ("msg-1");
  msg->from = g_strdup ("alice@" COMPONENT);
  msg->to = g_strdup ("bob@" COMPONENT);
  msg->body = g_strdup (body);
  g_assert_true (stox_xmpp_component_send (f->comp, msg, NULL));
  g_assert_true (wait_for (f, has_stanza, "msg-1", 5000));
  s = must_seen (f, "msg-1");
  g_assert_cmpint (s->kind, ==, STOX_STANZA_MESSAGE);
  g_assert_cmpstr (s->body, ==, body);
  g_assert_cmpstr (s->from, ==, "alice@" COMPONENT);

  /* Invalid UTF-8 is refused before the wire, as a stanza that cannot
   * be encoded (not as a link down); the link stays up. */
  g_free (msg->body);
  msg->body = g_strdup ("bad \xff byte");
  g_assert_false (stox_xmpp_component_send (f->comp, msg, &error));
  g_assert_error (error, STOX_XMPP_COMPONENT_ERROR, STOX_XMPP_COMPONENT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "body"));
  g_clear_error (&error);
  ping_server (f, "ping-2");

  /* Idle: about one wake-up a second (libstrophe's timers), no more. */
  stox_test_run_for (200);
  guint64 before = stox_xmpp_component_get_wakeups (f->comp);
  gint64 t0 = g_get_monotonic_time ();
  stox_test_run_for (3000);
  guint64 wakeups = stox_xmpp_component_get_wakeups (f->comp) - before;
  double secs = (g_get_monotonic_time () - t0) / 1e6;
  g_test_message ("idle: %" G_GUINT64_FORMAT " wake-ups in %.2f s (%.2f/s)",
                  wakeups, secs, wakeups / secs);
  g_assert_cmpfloat (wakeups / secs, <=, 1.5);
  g_assert_cmpuint (wakeups, >=, 2);

  /* The server goes away: DOWN with a reason, then retries that fail. */
  stop_prosody (f);
  g_assert_true (wait_for (f, has_downs, GUINT_TO_POINTER (1), 5000));
  LinkEvent *down = last_link (f->links);
  g_assert_nonnull (down->reason);
  g_assert_cmpuint (down->retry_in_s, >=, 1);
  g_assert_false (stox_xmpp_component_is_up (f->comp));
  g_assert_false (stox_xmpp_component_send (f->comp, msg, &error));
  g_assert_error (error, STOX_XMPP_COMPONENT_ERROR, STOX_XMPP_COMPONENT_ERROR_DOWN);
  g_clear_error (&error);
  g_assert_true (wait_for (f, has_downs, GUINT_TO_POINTER (3), 5000));
  g_assert_nonnull (strstr (last_link (f->links)->reason, "refused"));

  /* Back: UP again within the backoff window (cap 1 s). */
  start_prosody (f);
  g_assert_true (wait_for (f, has_ups, GUINT_TO_POINTER (2), 5000));
  g_assert_true (stox_xmpp_component_is_up (f->comp));
  ping_server (f, "ping-3");
}

static void
test_link_wrong_secret (Fixture *f, gconstpointer data)
{
  (void) data;
  if (!need_prosody (f))
    return;
  write_prosody_config (f, SECRET);
  start_prosody (f);
  f->comp = new_component (f, "not the secret", f->comp_port, on_link);
  stox_xmpp_component_start (f->comp);

  g_assert_true (wait_for (f, has_downs, GUINT_TO_POINTER (1), 5000));
  g_assert_nonnull (strstr (last_link (f->links)->reason, "not-authorized"));
  /* and keeps trying */
  g_assert_true (wait_for (f, has_downs, GUINT_TO_POINTER (2), 5000));
  g_assert_nonnull (strstr (last_link (f->links)->reason, "not-authorized"));
  g_assert_cmpuint (count_links (f->links, STOX_XMPP_LINK_UP), ==, 0);
  g_assert_false (stox_xmpp_component_is_up (f->comp));
}

/* Nothing listens: the first attempt fails fast and is reported. */
static void
test_link_refused (Fixture *f, gconstpointer data)
{
  gint64 t0 = g_get_monotonic_time ();

  (void) data;
  f->comp = new_component (f, SECRET, f->comp_port, on_link);
  stox_xmpp_component_start (f->comp);
  g_assert_cmpuint (f->links->len, ==, 0);  /* reported from the loop */
  g_assert_true (wait_for (f, has_downs, GUINT_TO_POINTER (1), 2000));
  g_assert_cmpint (last_link (f->links)->at - t0, <, G_USEC_PER_SEC);
  g_assert_nonnull (strstr (last_link (f->links)->reason, "refused"));
  g_assert_cmpuint (last_link (f->links)->retry_in_s, >=, 1);
  g_assert_true (wait_for (f, has_downs, GUINT_TO_POINTER (3), 5000));
  g_assert_cmpuint (count_links (f->links, STOX_XMPP_LINK_UP), ==, 0);

  /* The first failure resets nothing: a later server is found. */
  if (!g_file_test (f->prosody_bin, G_FILE_TEST_IS_EXECUTABLE))
    return;
  write_prosody_config (f, SECRET);
  start_prosody (f);
  g_assert_true (wait_for (f, has_ups, GUINT_TO_POINTER (1), 5000));
}

/* TCP accepted, but no stream ever: the attempt deadline ends it (10 s by
 * default; 1.5 s here), then libstrophe's 2 s close timer. */
static void
test_link_no_answer (Fixture *f, gconstpointer data)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (f->comp_port) };
  gint64 t0;

  (void) data;
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  f->listener = socket (AF_INET, SOCK_STREAM, 0);
  g_assert_cmpint (bind (f->listener, (struct sockaddr *) &sa, sizeof sa), ==, 0);
  g_assert_cmpint (listen (f->listener, 4), ==, 0);

  f->comp = new_component (f, SECRET, f->comp_port, on_link);
  stox_xmpp_component_set_attempt_timeout (f->comp, 1500);
  t0 = g_get_monotonic_time ();
  stox_xmpp_component_start (f->comp);
  g_assert_true (wait_for (f, has_downs, GUINT_TO_POINTER (1), 8000));
  g_assert_nonnull (strstr (last_link (f->links)->reason, "no answer"));
  g_assert_cmpint (last_link (f->links)->at - t0, >=, 1400 * 1000);
  g_assert_cmpint (last_link (f->links)->at - t0, <, 5 * G_USEC_PER_SEC);
}

/* The SYN is never answered (a listener whose accept queue is full drops
 * it): libstrophe's 5 s connect timeout ends the attempt.  While the
 * connect is pending the source must not spin. */
static void
test_link_connect_timeout (Fixture *f, gconstpointer data)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons (f->comp_port) };
  gint64 t0;
  guint64 wakeups;

  (void) data;
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  f->listener = socket (AF_INET, SOCK_STREAM, 0);
  g_assert_cmpint (bind (f->listener, (struct sockaddr *) &sa, sizeof sa), ==, 0);
  g_assert_cmpint (listen (f->listener, 0), ==, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (f->fillers); i++)
    {
      f->fillers[i] = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      connect (f->fillers[i], (struct sockaddr *) &sa, sizeof sa);
    }
  stox_test_run_for (300);

  f->comp = new_component (f, SECRET, f->comp_port, on_link);
  t0 = g_get_monotonic_time ();
  stox_xmpp_component_start (f->comp);
  g_assert_true (wait_for (f, has_downs, GUINT_TO_POINTER (1), 9000));
  wakeups = stox_xmpp_component_get_wakeups (f->comp);
  g_test_message ("connect timed out after %.2f s, %" G_GUINT64_FORMAT " wake-ups",
                  (last_link (f->links)->at - t0) / 1e6, wakeups);
  g_assert_nonnull (strstr (last_link (f->links)->reason, "timed out"));
  g_assert_cmpint (last_link (f->links)->at - t0, >=, 4 * G_USEC_PER_SEC);
  g_assert_cmpuint (wakeups, <=, 12);
}

/* Prosody takes one connection per component name (test-peers.md). */
static void
test_link_conflict (Fixture *f, gconstpointer data)
{
  (void) data;
  if (!need_prosody (f))
    return;
  connect_up (f);
  f->comp2 = new_component (f, SECRET, f->comp_port, on_link2);
  stox_xmpp_component_start (f->comp2);
  g_assert_true (wait_for (f, has_downs2, GUINT_TO_POINTER (1), 5000));
  g_assert_nonnull (strstr (last_link (f->links2)->reason, "conflict"));
  g_assert_cmpuint (count_links (f->links2, STOX_XMPP_LINK_UP), ==, 0);
  /* the first one is unharmed */
  g_assert_true (stox_xmpp_component_is_up (f->comp));
  ping_server (f, "ping-c");
}

static void
test_link_stop (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  gint64 t0;
  guint events;

  (void) data;
  if (!need_prosody (f))
    return;
  connect_up (f);

  /* queued just before stop: goes out before </stream:stream> */
  g_autoptr(StoxStanza) ping = iq_to_server ("ping-s", "ping", "urn:xmpp:ping");
  g_assert_true (stox_xmpp_component_send (f->comp, ping, NULL));
  t0 = g_get_monotonic_time ();
  stox_xmpp_component_stop (f->comp, on_done, f);
  g_assert_false (stox_xmpp_component_is_up (f->comp));
  g_assert_false (stox_xmpp_component_send (f->comp, ping, &error));
  g_assert_error (error, STOX_XMPP_COMPONENT_ERROR, STOX_XMPP_COMPONENT_ERROR_DOWN);
  g_clear_error (&error);
  g_assert_false (f->done);                 /* from the loop, not from stop() */
  g_assert_true (wait_for (f, is_done, NULL, 3000));
  /* closed by the server's answer, not by the 2 s deadline */
  g_test_message ("stream closed after %.6f s", (f->done_at - t0) / 1e6);
  g_assert_cmpint (f->done_at - t0, <, 1500 * 1000);

  /* no reconnect, no callback after stop */
  events = f->links->len;
  stox_test_run_for (1500);
  g_assert_cmpuint (f->links->len, ==, events);
  g_assert_false (stox_xmpp_component_is_up (f->comp));

  /* the ping went out first: Prosody logged it */
  g_autofree char *log = NULL;
  g_assert_true (g_file_get_contents (f->log, &log, NULL, NULL));
  g_assert_nonnull (strstr (log, "ping-s"));
}

static void
test_link_stop_while_down (Fixture *f, gconstpointer data)
{
  (void) data;
  f->comp = new_component (f, SECRET, f->comp_port, on_link);
  stox_xmpp_component_start (f->comp);
  g_assert_true (wait_for (f, has_downs, GUINT_TO_POINTER (1), 2000));
  stox_xmpp_component_stop (f->comp, on_done, f);
  g_assert_true (wait_for (f, is_done, NULL, 1000));
  stox_test_run_for (1500);                         /* the retry was cancelled */
  g_assert_cmpuint (count_links (f->links, STOX_XMPP_LINK_DOWN), ==, 1);
}

static void
test_link_back_pressure (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  (void) data;
  if (!need_prosody (f))
    return;
  connect_up (f);

  g_autoptr(StoxStanza) ping = iq_to_server ("ping-bp", "ping", "urn:xmpp:ping");
  stox_xmpp_component_set_queue_limit (f->comp, 0);
  g_assert_false (stox_xmpp_component_send (f->comp, ping, &error));
  g_assert_error (error, STOX_XMPP_COMPONENT_ERROR, STOX_XMPP_COMPONENT_ERROR_CONGESTED);
  g_clear_error (&error);
  stox_xmpp_component_set_queue_limit (f->comp, 3);
  /* the queue drains only when the loop runs */
  for (int i = 0; i < 3; i++)
    g_assert_true (stox_xmpp_component_send (f->comp, ping, NULL));
  g_assert_cmpuint (stox_xmpp_component_queue_len (f->comp), ==, 3);
  g_assert_false (stox_xmpp_component_send (f->comp, ping, &error));
  g_assert_error (error, STOX_XMPP_COMPONENT_ERROR, STOX_XMPP_COMPONENT_ERROR_CONGESTED);
  g_clear_error (&error);
  /* one main-loop iteration flushes it: prepare() saw the queue */
  g_main_context_iteration (NULL, FALSE);
  g_assert_cmpuint (stox_xmpp_component_queue_len (f->comp), ==, 0);
  stox_xmpp_component_set_queue_limit (f->comp, 10000);
  ping_server (f, "ping-bp2");
}

/* Reading off (the runner's back-pressure): output goes on, the answers
 * wait in the kernel and none reaches us; reading on again brings every
 * one of them. */
static void
test_link_reading_paused (Fixture *f, gconstpointer data)
{
  (void) data;
  if (!need_prosody (f))
    return;
  connect_up (f);

  g_assert_true (stox_xmpp_component_get_reading (f->comp));
  stox_xmpp_component_set_reading (f->comp, FALSE);
  g_assert_false (stox_xmpp_component_get_reading (f->comp));
  for (int i = 0; i < 50; i++)
    {
      g_autofree char *id = g_strdup_printf ("paused-%d", i);
      g_autoptr(StoxStanza) ping = iq_to_server (id, "ping", "urn:xmpp:ping");

      g_assert_true (stox_xmpp_component_send (f->comp, ping, NULL));
    }
  /* Long enough for Prosody to answer, and for libstrophe's timer run. */
  stox_test_run_for (1500);
  g_assert_cmpuint (stox_xmpp_component_queue_len (f->comp), ==, 0);
  g_assert_true (stox_xmpp_component_is_up (f->comp));
  for (int i = 0; i < 50; i++)
    {
      g_autofree char *id = g_strdup_printf ("paused-%d", i);

      g_assert_false (has_stanza (f, id));
    }

  stox_xmpp_component_set_reading (f->comp, TRUE);
  g_assert_true (wait_for (f, has_stanza, "paused-49", 5000));
  for (int i = 0; i < 50; i++)
    {
      g_autofree char *id = g_strdup_printf ("paused-%d", i);

      g_assert_cmpstr (must_seen (f, id)->type, ==, "result");
    }
}

/* Write-combining keeps stanzas corked while the loop has work; a loop
 * that never has nothing else to do (steady load) must not hold them until
 * the kernel's 200 ms cork ceiling.  A default-priority idle keeps the
 * loop busy throughout; a ping then comes back from Prosody long before
 * 200 ms.  The fastest of five rounds counts, so that one slow answer of
 * a loaded machine does not decide. */
static gboolean
always_busy (gpointer data)
{
  (void) data;
  return G_SOURCE_CONTINUE;
}

static void
test_link_cork_bounded (Fixture *f, gconstpointer data)
{
  gint64 fastest = G_MAXINT64;

  (void) data;
  if (!need_prosody (f))
    return;
  connect_up (f);

  guint busy = g_idle_add_full (G_PRIORITY_DEFAULT, always_busy, NULL, NULL);
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *id = g_strdup_printf ("busy-%d", i);
      g_autoptr(StoxStanza) ping = iq_to_server (id, "ping", "urn:xmpp:ping");
      gint64 t0 = g_get_monotonic_time ();

      g_assert_true (stox_xmpp_component_send (f->comp, ping, NULL));
      g_assert_true (wait_for (f, has_stanza, id, 5000));
      fastest = MIN (fastest, g_get_monotonic_time () - t0);
    }
  g_source_remove (busy);
  g_test_message ("fastest ping round trip with the loop busy: %.1f ms", fastest / 1000.0);
  g_assert_cmpint (fastest, <, 100 * 1000);
}

/* Many stanzas at once, bigger than the socket buffers: all arrive. */
static void
test_link_burst (Fixture *f, gconstpointer data)
{
  (void) data;
  if (!need_prosody (f))
    return;
  connect_up (f);

  g_autofree char *big = g_strnfill (20000, 'x');
  for (int i = 0; i < 200; i++)
    {
      g_autoptr(StoxStanza) msg = stox_stanza_new (STOX_STANZA_MESSAGE);
      msg->id = g_strdup_printf ("burst-%d", i);
      msg->from = g_strdup ("alice@" COMPONENT);
      msg->to = g_strdup ("bob@" COMPONENT);
      msg->body = g_strdup (big);
      g_assert_true (stox_xmpp_component_send (f->comp, msg, NULL));
    }
  g_assert_true (wait_for (f, has_stanza, "burst-199", 10000));
  for (int i = 0; i < 200; i++)
    {
      g_autofree char *id = g_strdup_printf ("burst-%d", i);
      Seen *s = must_seen (f, id);
      g_assert_cmpuint (strlen (s->body), ==, 20000);
    }
  g_assert_cmpuint (stox_xmpp_component_queue_len (f->comp), ==, 0);
}

static StoxStanza *
message_to_self (const char *id, const char *body)
{
  StoxStanza *msg = stox_stanza_new (STOX_STANZA_MESSAGE);

  msg->id = g_strdup (id);
  msg->from = g_strdup ("alice@" COMPONENT);
  msg->to = g_strdup ("bob@" COMPONENT);
  msg->body = g_strdup (body);
  return msg;
}

/* Prosody closes a component stream on a stanza over its limit (512 KiB
 * in 0.12, component_stanza_size_limit), and every stanza behind it is
 * lost.  With max_stanza_size below that the component refuses the
 * stanza itself and the link stays up. */
static void
test_link_stanza_cap (Fixture *f, gconstpointer data)
{
  StoxXmppComponentConfig config = {
    .jid = COMPONENT, .secret = SECRET, .server = "127.0.0.1",
    .max_stanza_size = 256 * 1024,
  };
  g_autofree char *huge = g_strnfill (150 * 1024, '<');     /* 600 KiB escaped */
  g_autofree char *fits = g_strnfill (60 * 1024, '<');      /* 240 KiB */

  (void) data;
  if (!need_prosody (f))
    return;
  connect_up (f);

  /* Without a cap: the server ends the stream (the defect this guards). */
  g_autoptr (StoxStanza) big = message_to_self ("cap-huge", huge);
  g_assert_true (stox_xmpp_component_send (f->comp, big, NULL));
  g_assert_true (wait_for (f, has_downs, GUINT_TO_POINTER (1), 5000));
  g_test_message ("uncapped: %s", last_link (f->links)->reason);
  g_clear_pointer (&f->comp, stox_xmpp_component_free);
  g_ptr_array_set_size (f->links, 0);

  /* With one: refused before the wire, the link stays up. */
  config.port = f->comp_port;
  f->comp = stox_xmpp_component_new (&config, on_stanza, on_link, f);
  stox_xmpp_component_start (f->comp);
  g_assert_true (wait_for (f, has_ups, GUINT_TO_POINTER (1), 5000));
  g_autoptr (GError) error = NULL;
  g_assert_false (stox_xmpp_component_send (f->comp, big, &error));
  g_assert_error (error, STOX_XMPP_COMPONENT_ERROR, STOX_XMPP_COMPONENT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "max-stanza-size"));
  g_autoptr (StoxStanza) ok = message_to_self ("cap-fits", fits);
  g_assert_true (stox_xmpp_component_send (f->comp, ok, NULL));
  g_assert_true (wait_for (f, has_stanza, "cap-fits", 5000));
  g_assert_cmpuint (strlen (must_seen (f, "cap-fits")->body), ==, 60 * 1024);
  g_assert_cmpuint (count_links (f->links, STOX_XMPP_LINK_DOWN), ==, 0);
  ping_server (f, "cap-ping");
}

static guint last_queue_len;
static gint64 queue_since;

/* The send queue has not moved for 500 ms: the socket buffers are full. */
static gboolean
queue_stalled (Fixture *f, gconstpointer data)
{
  guint len = (guint) stox_xmpp_component_queue_len (f->comp);
  gint64 now = g_get_monotonic_time ();

  (void) data;
  if (len != last_queue_len)
    {
      last_queue_len = len;
      queue_since = now;
    }
  return len > 0 && now - queue_since >= 500 * 1000;
}

/* The server stops reading, the socket buffers fill, stanzas wait in the
 * component's queue; the server dies.  Every stanza the server did not
 * confirm is reported, once, in order: all of them, those still queued
 * and those written to a socket buffer it never read alike.  None of the
 * queued ones is written on the next connection either. */
static void
test_link_unsent_reported (Fixture *f, gconstpointer data)
{
  enum { N = 300 };
  g_autofree char *body = g_strnfill (50 * 1024, 'x');
  int status;
  guint queued;

  (void) data;
  if (!need_prosody (f))
    return;
  connect_up (f);
  stox_xmpp_component_set_unsent_func (f->comp, on_unsent, f);

  g_assert_cmpint (kill (f->prosody, SIGSTOP), ==, 0);
  for (int i = 0; i < N; i++)
    {
      g_autofree char *id = g_strdup_printf ("u-%d", i);
      g_autoptr (StoxStanza) msg = message_to_self (id, body);

      g_assert_true (stox_xmpp_component_send (f->comp, msg, NULL));
    }
  last_queue_len = G_MAXUINT;
  g_assert_true (wait_for (f, queue_stalled, NULL, 15000));
  queued = (guint) stox_xmpp_component_queue_len (f->comp);
  g_test_message ("%u of %d stanzas still queued when the server dies", queued, N);
  g_assert_cmpuint (queued, >, 0);
  g_assert_cmpuint (f->unsent->len, ==, 0);

  kill (f->prosody, SIGKILL);
  waitpid (f->prosody, &status, 0);
  g_spawn_close_pid (f->prosody);
  f->prosody = 0;
  g_assert_true (wait_for (f, has_downs, GUINT_TO_POINTER (1), 10000));

  g_test_message ("%u reported unsent", f->unsent->len);
  g_assert_cmpuint (f->unsent->len, ==, N);
  g_assert_cmpuint (f->unsent_bad, ==, 0);
  for (guint i = 0; i < f->unsent->len; i++)
    {
      g_autofree char *want = g_strdup_printf ("u-%u", i);
      g_assert_cmpstr (f->unsent->pdata[i], ==, want);
    }

  /* Back up: nothing of the old queue goes out, nothing is reported again. */
  guint reported = f->unsent->len;
  start_prosody (f);
  g_assert_true (wait_for (f, has_ups, GUINT_TO_POINTER (2), 10000));
  ping_server (f, "after-drop");
  for (guint i = 0; i < reported; i++)
    g_assert_null (find_seen (f, f->unsent->pdata[i]));
  g_assert_cmpuint (f->unsent->len, ==, reported);
}

static gboolean
queue_empty (Fixture *f, gconstpointer data)
{
  (void) data;
  return stox_xmpp_component_queue_len (f->comp) == 0;
}

static gboolean
all_confirmed (Fixture *f, gconstpointer data)
{
  (void) data;
  return stox_xmpp_component_unconfirmed_len (f->comp) == 0;
}

static void
kill_prosody (Fixture *f)
{
  int status;

  g_assert_cmpint (kill (f->prosody, SIGKILL), ==, 0);
  waitpid (f->prosody, &status, 0);
  g_spawn_close_pid (f->prosody);
  f->prosody = 0;
}

/* XEP-0114 has no acknowledgement: a stanza written in full to the
 * socket of a server that has stopped (SIGSTOP) and then dies (SIGKILL)
 * was never read.  Written is not delivered: every one is reported. */
static void
test_link_written_unread_reported (Fixture *f, gconstpointer data)
{
  enum { N = 20 };

  (void) data;
  if (!need_prosody (f))
    return;
  connect_up (f);
  stox_xmpp_component_set_unsent_func (f->comp, on_unsent, f);

  g_assert_cmpint (kill (f->prosody, SIGSTOP), ==, 0);
  for (int i = 0; i < N; i++)
    {
      g_autofree char *id = g_strdup_printf ("w-%d", i);
      g_autoptr (StoxStanza) msg = message_to_self (id, "short");

      g_assert_true (stox_xmpp_component_send (f->comp, msg, NULL));
    }
  /* all of them fit in the socket buffers: written, none in the queue */
  g_assert_true (wait_for (f, queue_empty, NULL, 5000));
  stox_test_run_for (300);
  g_assert_cmpuint (stox_xmpp_component_queue_len (f->comp), ==, 0);
  g_assert_cmpuint (stox_xmpp_component_unconfirmed_len (f->comp), ==, N);
  g_assert_cmpuint (f->unsent->len, ==, 0);

  kill_prosody (f);
  g_assert_true (wait_for (f, has_downs, GUINT_TO_POINTER (1), 10000));
  g_test_message ("%u of %d written stanzas reported unsent", f->unsent->len, N);
  g_assert_cmpuint (f->unsent->len, ==, N);
  g_assert_cmpuint (f->unsent_bad, ==, 0);
  for (guint i = 0; i < N; i++)
    {
      g_autofree char *want = g_strdup_printf ("w-%u", i);
      g_assert_cmpstr (f->unsent->pdata[i], ==, want);
    }
  g_assert_cmpuint (stox_xmpp_component_unconfirmed_len (f->comp), ==, 0);
  g_assert_cmpuint (f->stanzas->len, ==, 0);
}

/* A healthy server answers the confirmation ping: nothing it read is
 * reported when the link falls later, and the pings themselves never
 * reach the caller as stanzas. */
static void
test_link_confirmed_not_reported (Fixture *f, gconstpointer data)
{
  enum { N = 50 };

  (void) data;
  if (!need_prosody (f))
    return;
  connect_up (f);
  stox_xmpp_component_set_unsent_func (f->comp, on_unsent, f);

  for (int i = 0; i < N; i++)
    {
      g_autofree char *id = g_strdup_printf ("c-%d", i);
      g_autoptr (StoxStanza) msg = message_to_self (id, "short");

      g_assert_true (stox_xmpp_component_send (f->comp, msg, NULL));
    }
  g_assert_cmpuint (stox_xmpp_component_unconfirmed_len (f->comp), ==, N);
  g_assert_true (wait_for (f, all_confirmed, NULL, 5000));
  g_assert_true (wait_for (f, has_stanza, "c-49", 5000));
  stox_test_run_for (200);
  /* only the messages came back to the caller, no ping */
  g_assert_cmpuint (f->stanzas->len, ==, N);
  for (guint i = 0; i < f->stanzas->len; i++)
    g_assert_cmpint (((Seen *) f->stanzas->pdata[i])->kind, ==, STOX_STANZA_MESSAGE);

  kill_prosody (f);
  g_assert_true (wait_for (f, has_downs, GUINT_TO_POINTER (1), 10000));
  stox_test_run_for (200);
  g_assert_cmpuint (f->unsent->len, ==, 0);
}

/* Confirmation pings are paced: stanzas sent one per loop pass (as under
 * load, one per SIP request) are confirmed with at most one ping every
 * 2 ms, not one per round trip (thousands a second before), and every
 * one of them is still confirmed. */
static void
test_link_confirm_paced (Fixture *f, gconstpointer data)
{
  enum { N = 400 };

  (void) data;
  if (!need_prosody (f))
    return;
  connect_up (f);

  guint64 pings0 = stox_xmpp_component_get_pings (f->comp);
  gint64 t0 = g_get_monotonic_time ();
  for (int i = 0; i < N; i++)
    {
      g_autofree char *id = g_strdup_printf ("p-%d", i);
      g_autoptr (StoxStanza) msg = message_to_self (id, "short");

      g_assert_true (stox_xmpp_component_send (f->comp, msg, NULL));
      /* A loop pass, and time for the ping's round trip. */
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200);
      g_main_context_iteration (NULL, FALSE);
    }
  g_assert_true (wait_for (f, all_confirmed, NULL, 5000));
  gint64 spent = g_get_monotonic_time () - t0;
  g_assert_true (wait_for (f, has_stanza, "p-399", 5000));

  guint64 pings = stox_xmpp_component_get_pings (f->comp) - pings0;
  g_test_message ("%d stanzas over %.1f ms: %" G_GUINT64_FORMAT " confirmation pings", N,
                  spent / 1000.0, pings);
  g_assert_cmpuint (pings, >=, 1);
  g_assert_cmpuint (pings, <=, (guint64) (spent / 2000) + 2);
}

/* Stanzas not yet confirmed count against the queue bound: a server that
 * stops reading turns into back-pressure before its socket buffers are
 * full. */
static void
test_link_unconfirmed_bound (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  (void) data;
  if (!need_prosody (f))
    return;
  connect_up (f);
  stox_xmpp_component_set_queue_limit (f->comp, 5);

  g_assert_cmpint (kill (f->prosody, SIGSTOP), ==, 0);
  for (int i = 0; i < 5; i++)
    {
      g_autofree char *id = g_strdup_printf ("b-%d", i);
      g_autoptr (StoxStanza) msg = message_to_self (id, "short");

      g_assert_true (stox_xmpp_component_send (f->comp, msg, NULL));
    }
  g_assert_true (wait_for (f, queue_empty, NULL, 5000));
  g_autoptr (StoxStanza) more = message_to_self ("b-5", "short");
  g_assert_false (stox_xmpp_component_send (f->comp, more, &error));
  g_assert_error (error, STOX_XMPP_COMPONENT_ERROR, STOX_XMPP_COMPONENT_ERROR_CONGESTED);
  g_clear_error (&error);

  /* the server reads again and answers: room again */
  g_assert_cmpint (kill (f->prosody, SIGCONT), ==, 0);
  g_assert_true (wait_for (f, all_confirmed, NULL, 5000));
  g_assert_true (stox_xmpp_component_send (f->comp, more, NULL));
  g_assert_true (wait_for (f, has_stanza, "b-5", 5000));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, fn) \
  g_test_add (path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
  ADD ("/xmpp/link/lifecycle", test_link_lifecycle);
  ADD ("/xmpp/link/wrong-secret", test_link_wrong_secret);
  ADD ("/xmpp/link/refused", test_link_refused);
  ADD ("/xmpp/link/no-answer", test_link_no_answer);
  ADD ("/xmpp/link/connect-timeout", test_link_connect_timeout);
  ADD ("/xmpp/link/conflict", test_link_conflict);
  ADD ("/xmpp/link/stop", test_link_stop);
  ADD ("/xmpp/link/stop-while-down", test_link_stop_while_down);
  ADD ("/xmpp/link/back-pressure", test_link_back_pressure);
  ADD ("/xmpp/link/burst", test_link_burst);
  ADD ("/xmpp/link/stanza-cap", test_link_stanza_cap);
  ADD ("/xmpp/link/unsent-reported", test_link_unsent_reported);
  ADD ("/xmpp/link/written-unread-reported", test_link_written_unread_reported);
  ADD ("/xmpp/link/confirmed-not-reported", test_link_confirmed_not_reported);
  ADD ("/xmpp/link/confirm-paced", test_link_confirm_paced);
  ADD ("/xmpp/link/unconfirmed-bound", test_link_unconfirmed_bound);
  ADD ("/xmpp/link/reading-paused", test_link_reading_paused);
  ADD ("/xmpp/link/cork-bounded", test_link_cork_bounded);
#undef ADD

  return g_test_run ();
}
