/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The daemon's runner and its store together: what the
 * core and the SIP front end ask to keep is written from the loop, and a
 * write that fails (here: another connection holds the database's write
 * lock) is retried on a timer until it lands, not only when something new
 * comes to be stored: a quiet gateway may store nothing more for hours,
 * and a watcher dialog's reserved CSeq block must reach the disk; and a
 * loop that is never idle still writes within a bounded delay.
 */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include <sqlite3.h>

#include <glib/gstdio.h>

#include "daemon/runner.h"
#include "daemon/store.h"
#include "support/shipped-rules.h"

static void
run_until (gboolean (*cond) (StoxStore *s), StoxStore *s, guint ms)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * 1000;

  while (!cond (s) && g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5000);
    }
}

static gboolean
dialog_written (StoxStore *s)
{
  return stox_store_count_dialogs (s) == 1;
}

static gboolean
never (StoxStore *s)
{
  (void) s;
  return FALSE;
}

/* A gateway, a store in a fresh directory, and the runner between them. */
typedef struct
{
  char        *dir;
  StoxRules   *rules;
  StoxGateway *gw;
  StoxStore   *store;
  StoxRunner  *runner;
} Fixture;

static void
fixture_set_up (Fixture *fx, gconstpointer data)
{
  static const char *const domains[] = { "xmpp.test", NULL };
  StoxGatewayConfig config = {
    .sip_domain = "sip.test", .component = "sip.test", .xmpp_domains = domains,
    .bounce_wait_ms = 250, .instance = "t",
  };
  g_autoptr (GError) error = NULL;

  (void) data;
  fx->dir = g_dir_make_tmp ("stox-test-runner-XXXXXX", &error);
  g_assert_no_error (error);
  fx->rules = stox_test_load_shipped_rules ();
  fx->gw = stox_gateway_new (&config, fx->rules, &error);
  g_assert_no_error (error);
  fx->store = stox_store_open (fx->dir, &error);
  g_assert_no_error (error);
  fx->runner = stox_runner_new (fx->gw);
  stox_runner_set_store (fx->runner, fx->store);
}

static void
fixture_tear_down (Fixture *fx, gconstpointer data)
{
  g_autofree char *db = g_build_filename (fx->dir, STOX_STORE_FILE, NULL);

  (void) data;
  stox_runner_free (fx->runner);
  stox_store_free (fx->store);
  stox_gateway_free (fx->gw);
  stox_rules_free (fx->rules);
  g_unlink (db);
  g_rmdir (fx->dir);
  g_free (fx->dir);
}

static void
test_flush_retried (Fixture *fx, gconstpointer data)
{
  StoxStore *store = fx->store;
  StoxRunner *runner = fx->runner;
  sqlite3 *other = NULL;


  /* Someone else holds the write lock: the first write fails (after
   * SQLite's 1 s busy timeout) and the state stays queued. */
  g_assert_cmpint (sqlite3_open (stox_store_path (store), &other), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (other, "BEGIN IMMEDIATE", NULL, NULL, NULL), ==, SQLITE_OK);
  GLogLevelFlags fatal = g_log_set_always_fatal (G_LOG_FATAL_MASK);
  stox_runner_on_sip_dialog (7, "v1 state", runner);
  run_until (never, store, 1500);
  g_log_set_always_fatal (fatal);
  g_assert_cmpuint (stox_store_count_dialogs (store), ==, 0);
  g_assert_cmpuint (stox_store_pending (store), ==, 1);

  /* The lock goes; nothing new is stored, and yet the write lands. */
  g_assert_cmpint (sqlite3_exec (other, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_close (other), ==, SQLITE_OK);
  gint64 t0 = g_get_monotonic_time ();
  run_until (dialog_written, store, (STOX_RUNNER_FLUSH_RETRY_S + 3) * 1000);
  g_test_message ("written %.1f s after the lock went",
                  (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC);
  g_assert_cmpuint (stox_store_count_dialogs (store), ==, 1);
  g_assert_cmpuint (stox_store_pending (store), ==, 0);
}

/* A loop with always something to do: its idle sources never run. */
static gboolean
busy (gpointer user_data)
{
  (void) user_data;
  g_usleep (500);
  return G_SOURCE_CONTINUE;
}

/* Under sustained load the loop is never idle: what is queued is still
 * written, within about STOX_RUNNER_FLUSH_MAX_DELAY_MS (before, the
 * records of 100 000 watchers waited in memory for the end of their
 * set-up, and a crash meanwhile lost them all). */
static void
test_flush_under_load (Fixture *fx, gconstpointer data)
{
  StoxStore *store = fx->store;
  StoxRunner *runner = fx->runner;
  guint busy_id = g_idle_add_full (G_PRIORITY_DEFAULT, busy, NULL, NULL);

  stox_runner_on_sip_dialog (7, "v1 state", runner);
  /* Ten times the deadline, the loop busy all along. */
  run_until (dialog_written, store, 10 * STOX_RUNNER_FLUSH_MAX_DELAY_MS);
  g_assert_cmpuint (stox_store_count_dialogs (store), ==, 1);
  g_assert_cmpuint (stox_store_pending (store), ==, 0);

  /* And the next one too: the deadline is armed again. */
  stox_runner_on_sip_dialog (8, "v1 state", runner);
  run_until (never, store, 10 * STOX_RUNNER_FLUSH_MAX_DELAY_MS);
  g_assert_cmpuint (stox_store_count_dialogs (store), ==, 2);

  g_source_remove (busy_id);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/runner/store/flush-retried", Fixture, NULL, fixture_set_up, test_flush_retried,
              fixture_tear_down);
  g_test_add ("/runner/store/flush-under-load", Fixture, NULL, fixture_set_up,
              test_flush_under_load, fixture_tear_down);
  return g_test_run ();
}
