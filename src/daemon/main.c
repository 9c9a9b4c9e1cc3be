/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stoxd: options, configuration, start-up and shutdown order
 * (stoxd(8)).  One GLib main loop in one thread drives Sofia-SIP, the
 * libstrophe component link and the core's deadlines.
 */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include <errno.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/rules.h"
#include "daemon/check.h"
#include "daemon/config.h"
#include "daemon/exposure.h"
#include "daemon/log.h"
#include "daemon/metrics-http.h"
#include "daemon/metrics.h"
#include "daemon/memory.h"
#include "daemon/notify.h"
#include "daemon/restore.h"
#include "daemon/rules-dir.h"
#include "daemon/runner.h"
#include "daemon/tls.h"
#include "daemon/version.h"

#define EXIT_USAGE  64   /* sysexits.h EX_USAGE */
#define EXIT_CONFIG 78   /* sysexits.h EX_CONFIG */

/* stoxd(8): an XMPP server that never answers must not keep
 * systemd waiting for READY=1. */
#define READY_TIMEOUT_S 10
/* stoxd(8): clean stop within 5 s; keep a margin for teardown. */
#define STOP_DEADLINE_MS 4500
#define STATUS_INTERVAL_S 5

typedef struct
{
  StoxConfig        *config;
  StoxRules         *rules;
  StoxGateway       *gw;
  StoxRunner        *runner;
  StoxMemoryTrim    *trim;
  StoxSipEndpoint   *sip;
  StoxXmppComponent *xmpp;
  StoxStore         *store;
  StoxMetricsServer *metrics;
  GMainLoop         *loop;
  char              *tls_dir;
  char              *rules_origin;  /* "FILE: [gateway] rules", for errors */

  gboolean           ready_sent;
  guint              ready_timeout_id;
  gboolean           link_up;
  char              *link_text;
  gboolean           link_was_up;   /* up at least once */
  guint64            link_reconnects;
  guint64            link_failures;

  gboolean           stopping;
  guint              stops_pending;
  GLogLevelFlags     start_level;   /* --log-level, for SIGUSR2 */
} Daemon;

static void
update_status (Daemon *d)
{
  StoxGatewayStats stats;

  stox_gateway_get_stats (d->gw, &stats);
  stox_notify_printf ("STATUS=SIP on %s; XMPP %s; %u SIP watchers, %u subscriptions; "
                      "%u pending, %" G_GUINT64_FORMAT " SIP→XMPP, %" G_GUINT64_FORMAT
                      " XMPP→SIP",
                      stox_sip_endpoint_get_bound (d->sip),
                      d->link_text != NULL ? d->link_text : "connecting",
                      stats.watchers, stats.subscriptions,
                      stats.pending, stats.sip_to_xmpp, stats.xmpp_to_sip);
}

/* STATUS= is a summary with counters: refresh it while running. */
static gboolean
status_tick (gpointer user_data)
{
  update_status (user_data);
  return G_SOURCE_CONTINUE;
}

static void
send_ready (Daemon *d)
{
  if (d->ready_sent)
    return;
  d->ready_sent = TRUE;
  g_clear_handle_id (&d->ready_timeout_id, g_source_remove);
  stox_notify ("READY=1");
  update_status (d);
  g_info ("ready: SIP on %s, XMPP %s", stox_sip_endpoint_get_bound (d->sip),
          d->link_up ? "connected" : "not connected yet");
}

static gboolean
ready_timeout (gpointer user_data)
{
  Daemon *d = user_data;

  d->ready_timeout_id = 0;
  send_ready (d);
  return G_SOURCE_REMOVE;
}

static void
on_link (StoxXmppLinkState state, guint retry_in_s, const char *reason, gpointer user_data)
{
  Daemon *d = user_data;
  gboolean up = state == STOX_XMPP_LINK_UP;

  if (!up && reason != NULL && g_str_has_prefix (reason, "stream error not-authorized"))
    /* XEP-0114 §3: the server refused the handshake: the secret (or the
     * component's name) does not match; retrying will not help until the
     * operator acts. */
    g_critical ("%s: [xmpp] secret: the XMPP server refused the component handshake for %s "
                "(%s); retry in %u s", d->config->path, d->config->xmpp_component, reason,
                retry_in_s);
  else if (!up)
    g_warning ("XMPP link to %s:%u down: %s; retry in %u s", d->config->xmpp_server,
               d->config->xmpp_port, reason != NULL ? reason : "no reason given", retry_in_s);
  else if (d->link_text != NULL && !d->link_up)
    g_message ("XMPP link to %s:%u up again", d->config->xmpp_server, d->config->xmpp_port);

  if (up && d->link_was_up)
    d->link_reconnects++;
  else if (!up)
    d->link_failures++;
  d->link_was_up |= up;
  d->link_up = up;
  g_free (d->link_text);
  if (up)
    d->link_text = g_strdup_printf ("connected to %s:%u as %s", d->config->xmpp_server,
                                    d->config->xmpp_port, d->config->xmpp_component);
  else
    d->link_text = g_strdup_printf ("down (%s), retry in %u s",
                                    reason != NULL ? reason : "no reason given", retry_in_s);
  stox_runner_on_link (d->runner, up, retry_in_s);
  /* The first attempt has completed, whichever way (stoxd(8)). */
  send_ready (d);
  update_status (d);
}

/* One scrape of [metrics] listen: every counter as it is now. */
static char *
render_metrics (gpointer user_data)
{
  Daemon *d = user_data;
  StoxMetricsSnapshot s = { .version = PACKAGE_VERSION };

  stox_gateway_get_stats (d->gw, &s.gateway);
  s.runner = *stox_runner_get_stats (d->runner);
  s.events_queued = stox_runner_queued (d->runner);
  s.link_up = stox_xmpp_component_is_up (d->xmpp);
  s.link_reconnects = d->link_reconnects;
  s.link_failures = d->link_failures;
  s.xmpp_send_queue = stox_xmpp_component_queue_len (d->xmpp);
  stox_sip_endpoint_count_transactions (d->sip, &s.sip_server_transactions,
                                        &s.sip_client_transactions);
  s.store_backlog = stox_store_pending (d->store);
  return stox_metrics_render (&s);
}

/* The component takes one user_data for both callbacks: the Daemon. */
static void
on_stanza (StoxStanza *st, gpointer user_data)
{
  Daemon *d = user_data;

  stox_runner_on_stanza (st, d->runner);
}

static gboolean
stop_step_done (gpointer user_data)
{
  Daemon *d = user_data;

  if (d->stops_pending > 0 && --d->stops_pending == 0)
    g_main_loop_quit (d->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
stop_deadline (gpointer user_data)
{
  Daemon *d = user_data;

  g_info ("stop: peers did not finish in time, leaving anyway");
  g_main_loop_quit (d->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_stop_signal (gpointer user_data)
{
  Daemon *d = user_data;

  if (d->stopping)
    {
      /* A second signal means "now". */
      g_info ("second stop signal: exiting at once");
      g_main_loop_quit (d->loop);
      return G_SOURCE_CONTINUE;
    }
  d->stopping = TRUE;
  g_info (d->config->end_subscriptions_on_stop
          ? "stopping: ending every subscription ([gateway] on-stop = end-subscriptions)"
          : "stopping: subscriptions are kept for the next start");
  stox_notify ("STOPPING=1");
  /* Core goodbyes first, while both links are still up. */
  stox_runner_shutdown (d->runner);
  d->stops_pending = 2;
  stox_xmpp_component_stop (d->xmpp, stop_step_done, d);
  stox_sip_endpoint_shutdown (d->sip, stop_step_done, d);
  g_timeout_add (STOP_DEADLINE_MS, stop_deadline, d);
  return G_SOURCE_CONTINUE;
}

/* SIGUSR1: debug from now on; SIGUSR2: back to the level stoxd started
 * with (stoxd(8) SIGNALS).  Said at notice level, so that the change is
 * in the journal whatever the level. */
static gboolean
on_debug_signal (gpointer user_data)
{
  Daemon *d = user_data;

  stox_log_set_level (G_LOG_LEVEL_DEBUG);
  g_message ("log level now debug (SIGUSR1; SIGUSR2 goes back to %s)",
             stox_log_level_name (d->start_level));
  return G_SOURCE_CONTINUE;
}

static gboolean
on_undebug_signal (gpointer user_data)
{
  Daemon *d = user_data;

  g_message ("log level back to %s (SIGUSR2)", stox_log_level_name (d->start_level));
  stox_log_set_level (d->start_level);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_reload_signal (gpointer user_data)
{
  Daemon *d = user_data;
  g_autoptr (GError) error = NULL;
  StoxRules *rules;

  stox_notify ("RELOADING=1");
  rules = stox_rules_dir_load (d->config->rules_dir, d->rules_origin, &error);
  if (rules == NULL)
    g_warning ("reload failed, the previous rules stay in force: %s", error->message);
  else
    {
      stox_gateway_set_rules (d->gw, rules);
      stox_rules_free (d->rules);
      d->rules = rules;
      g_info ("rules reloaded from %s: %u rows", d->config->rules_dir,
              stox_rules_count (rules));
    }
  stox_notify ("READY=1");
  update_status (d);
  return G_SOURCE_CONTINUE;
}

static void
daemon_clear (Daemon *d)
{
  /* First: a scrape reads everything below. */
  g_clear_pointer (&d->metrics, stox_metrics_server_free);
  g_clear_pointer (&d->trim, stox_memory_trim_free);
  if (d->runner != NULL)
    stox_runner_flush (d->runner);
  g_clear_pointer (&d->runner, stox_runner_free);
  g_clear_pointer (&d->store, stox_store_free);
  g_clear_pointer (&d->xmpp, stox_xmpp_component_free);
  g_clear_pointer (&d->sip, stox_sip_endpoint_free);
  g_clear_pointer (&d->gw, stox_gateway_free);
  g_clear_pointer (&d->rules, stox_rules_free);
  g_clear_pointer (&d->config, stox_config_free);
  g_clear_pointer (&d->loop, g_main_loop_unref);
  g_clear_pointer (&d->tls_dir, stox_tls_dir_free);
  g_clear_pointer (&d->rules_origin, g_free);
  g_clear_pointer (&d->link_text, g_free);
}

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autofree char *log_level_name = NULL;
  gboolean opt_check = FALSE, opt_version = FALSE;
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  GLogLevelFlags log_level = G_LOG_LEVEL_INFO;
  Daemon d = { 0 };
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
      "Configuration file (default " SYSCONFDIR "/stox/stox.conf)", "FILE" },
    { "check-config", 0, 0, G_OPTION_ARG_NONE, &opt_check,
      "Check the configuration and rule files, then exit", NULL },
    { "log-level", 0, 0, G_OPTION_ARG_STRING, &log_level_name,
      "error, warning, info (default) or debug", "LEVEL" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version", NULL },
    { NULL }
  };

  /* GLib writes log lines to stderr in the locale's character set: in the
   * "C" locale every non-ASCII character would come out as '?', even with
   * LANG=C.UTF-8.  Numbers stay in the "C" form: stoxd writes and parses
   * protocol text, and strtod() or printf("%f") must not meet a decimal
   * comma. */
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C");

  /* The command line is checked before anything else (stoxd(8)). */
  context = g_option_context_new ("- SIMPLE/XMPP interworking gateway");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "stoxd: %s\n", error->message);
      return EXIT_USAGE;
    }
  if (argc > 1)
    {
      fprintf (stderr, "stoxd: unexpected argument '%s'\n", argv[1]);
      return EXIT_USAGE;
    }
  if (log_level_name != NULL && !stox_log_parse_level (log_level_name, &log_level))
    {
      fprintf (stderr, "stoxd: --log-level: '%s' is not one of error, warning, info, debug\n",
               log_level_name);
      return EXIT_USAGE;
    }
  if (opt_version)
    {
      stox_version_print (stdout);
      return 0;
    }
  if (config_path == NULL)
    config_path = g_strdup (STOX_CONFIG_DEFAULT_PATH);
  if (opt_check)
    return stox_check_config (config_path) ? 0 : EXIT_CONFIG;

  stox_log_init (log_level);
  d.start_level = log_level;

  d.config = stox_config_load (config_path, &error);
  if (d.config == NULL)
    {
      g_critical ("%s", error->message);
      return EXIT_CONFIG;
    }
  g_autoptr (GPtrArray) exposed = stox_exposure_list (d.config);
  for (guint i = 0; i < exposed->len; i++)
    g_warning ("%s", (const char *) exposed->pdata[i]);

  d.rules_origin = g_strdup_printf ("%s: [gateway] rules", config_path);
  d.rules = stox_rules_dir_load (d.config->rules_dir, d.rules_origin, &error);
  if (d.rules == NULL)
    {
      g_critical ("%s", error->message);
      daemon_clear (&d);
      return EXIT_CONFIG;
    }

  g_autofree char *instance = g_strdup_printf ("stox%08x", g_random_int ());
  StoxGatewayConfig gw_config = {
    .sip_domain = d.config->sip_domain,
    .component = d.config->xmpp_component,
    .xmpp_domains = (const char *const *) d.config->xmpp_domains,
    .trusted_peers = (const char *const *) d.config->sip_trusted_peers,
    .trust_from = d.config->sip_trust_from,
    .bounce_wait_ms = d.config->bounce_wait_ms,
    .max_stanza_size = d.config->xmpp_max_stanza_size,
    .instance = instance,
    .max_subscriptions_per_source = d.config->max_subscriptions_per_source,
    .max_subscriptions_per_watcher = d.config->max_subscriptions_per_watcher,
    .max_subscriptions_per_user = d.config->max_subscriptions_per_user,
    .end_subscriptions_on_stop = d.config->end_subscriptions_on_stop,
  };
  d.gw = stox_gateway_new (&gw_config, d.rules, &error);
  if (d.gw == NULL)
    {
      g_critical ("%s: [sip] trusted-peers: %s", config_path, error->message);
      daemon_clear (&d);
      return EXIT_CONFIG;
    }

  if (!stox_tls_check_pair (d.config, &error))
    {
      g_critical ("%s", error->message);
      daemon_clear (&d);
      return EXIT_CONFIG;
    }
  d.tls_dir = stox_tls_dir_new (d.config, &error);
  if (d.tls_dir == NULL && error != NULL)
    {
      g_critical ("%s: [sip] tls-certificate/tls-key: %s", config_path, error->message);
      daemon_clear (&d);
      return EXIT_CONFIG;
    }

  d.loop = g_main_loop_new (NULL, FALSE);
  d.runner = stox_runner_new (d.gw);

  /* What the gateway set up before a restart (docs/architecture.md:
   * persistence); restored before any peer is heard. */
  d.store = stox_store_open (d.config->state_dir, &error);
  if (d.store == NULL)
    {
      g_critical ("%s: [gateway] state-dir: %s", config_path, error->message);
      daemon_clear (&d);
      return EXIT_CONFIG;
    }
  stox_runner_set_store (d.runner, d.store);

  StoxSipEndpointConfig sip_config = {
    .listen = d.config->sip_listen,
    .outbound_proxy = d.config->sip_outbound_proxy,
    .tls_dir = d.tls_dir,
    .user_agent = "stox/" PACKAGE_VERSION,
    .max_message_size = d.config->sip_max_message_size,
    .trusted_peers = (const char *const *) d.config->sip_trusted_peers,
    .tcp_max_connections = d.config->sip_tcp_max_connections,
    .tcp_max_per_source = d.config->sip_tcp_max_per_source,
    .tcp_idle_ms = d.config->sip_tcp_idle_timeout_s * 1000,
    .tcp_message_ms = d.config->sip_tcp_message_timeout_s * 1000,
    .max_in_flight = d.config->sip_max_in_flight,
  };
  d.sip = stox_sip_endpoint_new (&sip_config, stox_runner_on_sip_request,
                                 stox_runner_on_sip_response, d.runner, &error);
  if (d.sip == NULL)
    {
      /* Not a configuration error as such: the port may be busy for a
       * moment, so let systemd restart us (exit 1, not 78). */
      g_critical ("%s: [sip] listen: cannot listen on %s: %s", config_path,
                  d.config->sip_listen, error->message);
      daemon_clear (&d);
      return 1;
    }

  /* Watchers' dialogs need the SIP front end, which hears nothing before
   * the loop runs. */
  StoxRestoreCounts restored;
  if (!stox_restore (d.store, d.sip, d.runner, &restored, &error))
    {
      g_critical ("%s: [gateway] state-dir: %s", config_path, error->message);
      daemon_clear (&d);
      return EXIT_CONFIG;
    }
  stox_sip_endpoint_set_dialog_func (d.sip, stox_runner_on_sip_dialog, d.runner);
  stox_runner_flush (d.runner);
  g_info ("state: %" G_GSIZE_FORMAT " records restored from %s, %" G_GSIZE_FORMAT
          " of them SIP watchers' dialogs; %" G_GSIZE_FORMAT " dropped",
          restored.records, stox_store_path (d.store), restored.dialogs, restored.dropped);
  g_info ("SIP listening on %s", stox_sip_endpoint_get_bound (d.sip));

  StoxXmppComponentConfig xmpp_config = {
    .jid = d.config->xmpp_component,
    .secret = d.config->xmpp_secret,
    .server = d.config->xmpp_server,
    .port = d.config->xmpp_port,
    .max_stanza_size = d.config->xmpp_max_stanza_size,
  };
  d.xmpp = stox_xmpp_component_new (&xmpp_config, on_stanza, on_link, &d);
  stox_runner_set_frontends (d.runner, d.sip, d.xmpp);
  stox_runner_set_max_in_flight (d.runner, d.config->sip_max_in_flight);
  /* After a burst, the heap it freed goes back to the kernel (memory.h). */
  d.trim = stox_memory_trim_new (STOX_MEMORY_TRIM_PERIOD_S);

  if (d.config->metrics_address != NULL)
    {
      d.metrics = stox_metrics_server_new (d.config->metrics_address, d.config->metrics_port,
                                           render_metrics, &d, &error);
      if (d.metrics == NULL)
        {
          /* As for [sip] listen: the port may be busy for a moment. */
          g_critical ("%s: [metrics] listen: cannot listen on %s: %s", config_path,
                      d.config->metrics_listen, error->message);
          daemon_clear (&d);
          return 1;
        }
      g_info ("metrics on %s", stox_metrics_server_get_url (d.metrics));
    }

  g_unix_signal_add (SIGTERM, on_stop_signal, &d);
  g_unix_signal_add (SIGINT, on_stop_signal, &d);
  g_unix_signal_add (SIGHUP, on_reload_signal, &d);
  g_unix_signal_add (SIGUSR1, on_debug_signal, &d);
  g_unix_signal_add (SIGUSR2, on_undebug_signal, &d);
  signal (SIGPIPE, SIG_IGN);

  d.ready_timeout_id = g_timeout_add_seconds (READY_TIMEOUT_S, ready_timeout, &d);
  if (g_getenv ("NOTIFY_SOCKET") != NULL)
    g_timeout_add_seconds (STATUS_INTERVAL_S, status_tick, &d);
  stox_xmpp_component_start (d.xmpp);

  g_main_loop_run (d.loop);

  g_info ("stopped");
  daemon_clear (&d);
  return 0;
}
