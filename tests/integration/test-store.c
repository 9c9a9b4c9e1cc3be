/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The SQLite state store: open creates the directory and
 * the file, records round-trip in (kind, a, b, dialog) order, insert is
 * idempotent, WATCH records keep their dialog, entity and deadline (as
 * wall-clock time), SIP dialog states round-trip, a version 1 file is
 * upgraded in place,
 * remove of a missing row is fine, data survives a reopen, and every
 * refusal (newer schema, not a database, someone else's database, an
 * unwritable place, a bad row) names the file.  100 000 records are
 * flushed in one transaction and the time is printed as a TAP comment.
 * Each case works in a fresh g_dir_make_tmp() directory removed afterwards.
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "daemon/store.h"
#include "support/testutil.h"

/* ------------------------------------------------------------------ */
/* Fixture helpers                                                     */

typedef struct
{
  char *dir;    /* the temporary directory */
  char *state;  /* dir/state: the state directory handed to the store */
  char *db;     /* dir/state/stox.db */
} Tmp;

static void
tmp_setup (Tmp *t, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  (void) data;
  t->dir = g_dir_make_tmp ("stox-test-store-XXXXXX", &error);
  g_assert_no_error (error);
  t->state = g_build_filename (t->dir, "state", NULL);
  t->db = g_build_filename (t->state, "stox.db", NULL);
}

static void
tmp_teardown (Tmp *t, gconstpointer data)
{
  (void) data;
  stox_test_rm_rf (t->dir);
  g_free (t->dir);
  g_free (t->state);
  g_free (t->db);
}

static StoxStore *
open_ok (const char *state_dir)
{
  g_autoptr (GError) error = NULL;
  StoxStore *s = stox_store_open (state_dir, &error);

  g_assert_no_error (error);
  g_assert_nonnull (s);
  return s;
}

/* The records table's columns a and b hold the two users in the order of
 * the kind, as schema version 2 wrote them: a FOLLOW row names its XMPP
 * user first, the other kinds their SIP user.  The helpers below speak
 * that order, so the tests pin the file's format. */
static const char *
first_user (const StoxStoreRecord *r)
{
  return r->kind == STOX_STORE_FOLLOW ? r->xmpp_jid : r->sip_jid;
}

static const char *
second_user (const StoxStoreRecord *r)
{
  return r->kind == STOX_STORE_FOLLOW ? r->sip_jid : r->xmpp_jid;
}

static void
queue (StoxStore *s, StoxStoreKind kind, gboolean remove, const char *a, const char *b)
{
  StoxStoreRecord r = { .kind = kind, .remove = remove };

  r.xmpp_jid = (char *) (kind == STOX_STORE_FOLLOW ? a : b);
  r.sip_jid = (char *) (kind == STOX_STORE_FOLLOW ? b : a);
  stox_store_queue (s, &r);
}

static void
flush_ok (StoxStore *s)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (stox_store_flush (s, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stox_store_pending (s), ==, 0);
}

/* "kind|a|b" of every record (columns a and b), for comparisons. */
static void
collect (const StoxStoreRecord *r, gpointer user_data)
{
  GPtrArray *rows = user_data;

  g_assert_false (r->remove);
  g_ptr_array_add (rows, g_strdup_printf ("%d|%s|%s", (int) r->kind, first_user (r),
                                          second_user (r)));
}

static GPtrArray *
load_ok (StoxStore *s)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *rows = g_ptr_array_new_with_free_func (g_free);

  g_assert_true (stox_store_load (s, collect, rows, &error));
  g_assert_no_error (error);
  return rows;
}

static void
assert_rows (StoxStore *s, const char *const *expected)
{
  g_autoptr (GPtrArray) rows = load_ok (s);

  g_ptr_array_add (rows, NULL);
  g_assert_cmpstrv ((const char *const *) rows->pdata, expected);
  g_assert_cmpuint (stox_store_count (s), ==, g_strv_length ((char **) expected));
}

/* Runs constant SQL on the file behind the store's back. */
static void
raw_sql (const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  char *msg = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  if (sqlite3_exec (db, sql, NULL, NULL, &msg) != SQLITE_OK)
    g_error ("%s: %s", sql, msg);
  g_assert_cmpint (sqlite3_close (db), ==, SQLITE_OK);
}

static void
assert_open_fails (const char *state_dir, StoxStoreError code, const char *in_message1,
                   const char *in_message2)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxStore) s = stox_store_open (state_dir, &error);

  g_assert_null (s);
  g_assert_error (error, STOX_STORE_ERROR, (gint) code);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, in_message1));
  if (in_message2)
    g_assert_nonnull (strstr (error->message, in_message2));
}

/* ------------------------------------------------------------------ */
/* Opening                                                             */

static void
test_open_creates (Tmp *t, gconstpointer data)
{
  g_autofree char *deep = g_build_filename (t->state, "x", "y", NULL);
  g_autofree char *deep_db = g_build_filename (deep, "stox.db", NULL);
  g_autofree char *wal = g_strconcat (deep_db, "-wal", NULL);
  g_autofree char *shm = g_strconcat (deep_db, "-shm", NULL);
  struct stat st;
  mode_t saved_umask;

  (void) data;
  g_assert_false (g_file_test (t->state, G_FILE_TEST_EXISTS));

  /* The usual umask of a shell, not systemd's 0077: the store itself
   * keeps the subscriptions private. */
  saved_umask = umask (022);
  g_autoptr (StoxStore) s = open_ok (deep);
  g_assert_cmpstr (stox_store_path (s), ==, deep_db);
  g_assert_cmpint (g_stat (t->state, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (deep, &st), ==, 0);
  g_assert_true (S_ISDIR (st.st_mode));
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (deep_db, &st), ==, 0);
  g_assert_true (S_ISREG (st.st_mode));
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpuint (stox_store_count (s), ==, 0);
  g_assert_cmpuint (stox_store_pending (s), ==, 0);
  /* Nothing queued: a flush is a no-op. */
  flush_ok (s);
  /* A write makes the journal files: as private as the database. */
  queue (s, STOX_STORE_FOLLOW, FALSE, "alice@xmpp.example", "bob@sip.example");
  flush_ok (s);
  g_assert_cmpint (g_stat (wal, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (shm, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  umask (saved_umask);

  /* An existing directory is used as it is. */
  g_clear_pointer (&s, stox_store_free);
  s = open_ok (deep);
  g_assert_cmpuint (stox_store_count (s), ==, 1);
}

/* schema_version and the WAL journal as the brief fixes them. */
static void
test_open_schema (Tmp *t, gconstpointer data)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  (void) data;
  g_autoptr (StoxStore) s = open_ok (t->state);
  g_clear_pointer (&s, stox_store_free);

  g_assert_cmpint (sqlite3_open_v2 (t->db, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT value FROM meta WHERE key = 'schema_version'",
                                       -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpint (sqlite3_column_int (stmt, 0), ==, STOX_STORE_SCHEMA_VERSION);
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &stmt, NULL), ==,
                   SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (stmt, 0), ==, "wal");
  sqlite3_finalize (stmt);
  sqlite3_close (db);
}

static void
test_version_newer (Tmp *t, gconstpointer data)
{
  (void) data;
  g_autoptr (StoxStore) s = open_ok (t->state);
  queue (s, STOX_STORE_FOLLOW, FALSE, "alice@xmpp.example", "bob@sip.example");
  flush_ok (s);
  g_clear_pointer (&s, stox_store_free);

  raw_sql (t->db, "UPDATE meta SET value = 3 WHERE key = 'schema_version'");
  assert_open_fails (t->state, STOX_STORE_ERROR_VERSION, t->db, "schema version 3");

  /* The refusal left the file alone. */
  raw_sql (t->db, "UPDATE meta SET value = 2 WHERE key = 'schema_version'");
  s = open_ok (t->state);
  g_assert_cmpuint (stox_store_count (s), ==, 1);
}

static void
test_version_missing (Tmp *t, gconstpointer data)
{
  (void) data;
  g_autoptr (StoxStore) s = open_ok (t->state);
  g_clear_pointer (&s, stox_store_free);

  raw_sql (t->db, "DELETE FROM meta");
  assert_open_fails (t->state, STOX_STORE_ERROR_CORRUPT, t->db, "schema_version");
}

static void
test_garbage_file (Tmp *t, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) junk = g_string_new (NULL);

  (void) data;
  g_assert_cmpint (g_mkdir (t->state, 0700), ==, 0);
  for (int i = 0; i < 200; i++)
    g_string_append (junk, "this is not a SQLite database\n");
  g_assert_true (g_file_set_contents (t->db, junk->str, (gssize) junk->len, &error));
  g_assert_no_error (error);

  assert_open_fails (t->state, STOX_STORE_ERROR_CORRUPT, t->db, "not a database");
}

/* A valid SQLite file of some other program: our tables are not added. */
static void
test_foreign_database (Tmp *t, gconstpointer data)
{
  (void) data;
  g_assert_cmpint (g_mkdir (t->state, 0700), ==, 0);
  raw_sql (t->db, "CREATE TABLE songs (title TEXT)");
  assert_open_fails (t->state, STOX_STORE_ERROR_CORRUPT, t->db, "not a stox state database");
}

static void
test_state_dir_is_file (Tmp *t, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *below = g_build_filename (t->state, "sub", NULL);

  (void) data;
  g_assert_true (g_file_set_contents (t->state, "", 0, &error));
  g_assert_no_error (error);

  /* The state directory is a regular file, or lies below one. */
  assert_open_fails (t->state, STOX_STORE_ERROR_IO, t->state, "state directory");
  assert_open_fails (below, STOX_STORE_ERROR_IO, below, "state directory");
}

static void
test_db_is_directory (Tmp *t, gconstpointer data)
{
  (void) data;
  g_assert_cmpint (g_mkdir_with_parents (t->db, 0700), ==, 0);
  assert_open_fails (t->state, STOX_STORE_ERROR_IO, t->db, "cannot open");
}

/* Permission bits do not stop root, so these two are skipped there. */
static void
test_unwritable_dir (Tmp *t, gconstpointer data)
{
  g_autofree char *below = g_build_filename (t->state, "sub", NULL);

  (void) data;
  if (geteuid () == 0)
    {
      g_test_skip ("running as root: permission bits are not enforced");
      return;
    }
  g_assert_cmpint (g_mkdir (t->state, 0500), ==, 0);
  /* Cannot create the file in it, nor a directory below it. */
  assert_open_fails (t->state, STOX_STORE_ERROR_IO, t->db, "cannot open");
  assert_open_fails (below, STOX_STORE_ERROR_IO, below, "state directory");
}

static void
test_read_only_file (Tmp *t, gconstpointer data)
{
  (void) data;
  if (geteuid () == 0)
    {
      g_test_skip ("running as root: permission bits are not enforced");
      return;
    }
  g_autoptr (StoxStore) s = open_ok (t->state);
  g_clear_pointer (&s, stox_store_free);
  g_assert_cmpint (g_chmod (t->db, 0400), ==, 0);
  assert_open_fails (t->state, STOX_STORE_ERROR_IO, t->db, "read-only");
}

/* ------------------------------------------------------------------ */
/* Records                                                             */

static void
test_round_trip (Tmp *t, gconstpointer data)
{
  const char *const expected[] = {
    "0|alice@xmpp.example|bob@sip.example",
    "0|alice@xmpp.example|carol@sip.example",
    "0|dave@xmpp.example|bob@sip.example",
    "1|bob@sip.example|alice@xmpp.example",
    "1|carol@sip.example|erin@xmpp.example",
    NULL,
  };

  (void) data;
  g_assert_cmpint (STOX_STORE_FOLLOW, ==, 0);
  g_assert_cmpint (STOX_STORE_APPROVAL, ==, 1);

  g_autoptr (StoxStore) s = open_ok (t->state);
  /* Queued out of order; loaded in (kind, a, b) order. */
  queue (s, STOX_STORE_APPROVAL, FALSE, "carol@sip.example", "erin@xmpp.example");
  queue (s, STOX_STORE_FOLLOW, FALSE, "dave@xmpp.example", "bob@sip.example");
  queue (s, STOX_STORE_APPROVAL, FALSE, "bob@sip.example", "alice@xmpp.example");
  queue (s, STOX_STORE_FOLLOW, FALSE, "alice@xmpp.example", "carol@sip.example");
  queue (s, STOX_STORE_FOLLOW, FALSE, "alice@xmpp.example", "bob@sip.example");
  g_assert_cmpuint (stox_store_pending (s), ==, 5);
  /* Nothing is written before the flush. */
  g_assert_cmpuint (stox_store_count (s), ==, 0);
  flush_ok (s);
  assert_rows (s, expected);
}

static void
test_insert_twice (Tmp *t, gconstpointer data)
{
  const char *const expected[] = { "0|alice@xmpp.example|bob@sip.example", NULL };

  (void) data;
  g_autoptr (StoxStore) s = open_ok (t->state);
  /* Twice in one transaction, then again in the next. */
  queue (s, STOX_STORE_FOLLOW, FALSE, "alice@xmpp.example", "bob@sip.example");
  queue (s, STOX_STORE_FOLLOW, FALSE, "alice@xmpp.example", "bob@sip.example");
  flush_ok (s);
  queue (s, STOX_STORE_FOLLOW, FALSE, "alice@xmpp.example", "bob@sip.example");
  flush_ok (s);
  assert_rows (s, expected);
}

/* The same pair under both kinds is two records. */
static void
test_kind_is_key (Tmp *t, gconstpointer data)
{
  const char *const expected[] = { "0|x@a|y@b", "1|x@a|y@b", NULL };
  const char *const after[] = { "1|x@a|y@b", NULL };

  (void) data;
  g_autoptr (StoxStore) s = open_ok (t->state);
  queue (s, STOX_STORE_APPROVAL, FALSE, "x@a", "y@b");
  queue (s, STOX_STORE_FOLLOW, FALSE, "x@a", "y@b");
  flush_ok (s);
  assert_rows (s, expected);
  queue (s, STOX_STORE_FOLLOW, TRUE, "x@a", "y@b");
  flush_ok (s);
  assert_rows (s, after);
}

static void
test_remove (Tmp *t, gconstpointer data)
{
  const char *const both[] = { "0|alice@x|bob@s", "0|alice@x|carol@s", NULL };
  const char *const one[] = { "0|alice@x|carol@s", NULL };
  const char *const none[] = { NULL };

  (void) data;
  g_autoptr (StoxStore) s = open_ok (t->state);
  queue (s, STOX_STORE_FOLLOW, FALSE, "alice@x", "bob@s");
  queue (s, STOX_STORE_FOLLOW, FALSE, "alice@x", "carol@s");
  flush_ok (s);
  assert_rows (s, both);

  queue (s, STOX_STORE_FOLLOW, TRUE, "alice@x", "bob@s");
  flush_ok (s);
  assert_rows (s, one);

  /* Queue order counts: insert then remove leaves nothing, remove then
   * insert leaves the record. */
  queue (s, STOX_STORE_FOLLOW, FALSE, "alice@x", "dave@s");
  queue (s, STOX_STORE_FOLLOW, TRUE, "alice@x", "dave@s");
  queue (s, STOX_STORE_FOLLOW, TRUE, "alice@x", "carol@s");
  queue (s, STOX_STORE_FOLLOW, FALSE, "alice@x", "carol@s");
  flush_ok (s);
  assert_rows (s, one);

  queue (s, STOX_STORE_FOLLOW, TRUE, "alice@x", "carol@s");
  flush_ok (s);
  assert_rows (s, none);
}

static void
test_remove_missing (Tmp *t, gconstpointer data)
{
  const char *const expected[] = { "1|w@c|u@x", NULL };

  (void) data;
  g_autoptr (StoxStore) s = open_ok (t->state);
  queue (s, STOX_STORE_FOLLOW, TRUE, "nobody@x", "nothing@s");
  flush_ok (s);
  g_assert_cmpuint (stox_store_count (s), ==, 0);

  /* Only the exact triple goes: other kind, other a, other b stay. */
  queue (s, STOX_STORE_APPROVAL, FALSE, "w@c", "u@x");
  flush_ok (s);
  queue (s, STOX_STORE_FOLLOW, TRUE, "w@c", "u@x");
  queue (s, STOX_STORE_APPROVAL, TRUE, "w@c", "u@y");
  queue (s, STOX_STORE_APPROVAL, TRUE, "W@c", "u@x");
  flush_ok (s);
  assert_rows (s, expected);
}

static void
test_reopen (Tmp *t, gconstpointer data)
{
  const char *const expected[] = { "0|alice@x|bob@s", "1|bob@s|alice@x", NULL };

  (void) data;
  g_autoptr (StoxStore) s = open_ok (t->state);
  queue (s, STOX_STORE_FOLLOW, FALSE, "alice@x", "bob@s");
  queue (s, STOX_STORE_APPROVAL, FALSE, "bob@s", "alice@x");
  flush_ok (s);
  g_clear_pointer (&s, stox_store_free);

  s = open_ok (t->state);
  assert_rows (s, expected);
  g_clear_pointer (&s, stox_store_free);

  /* Free flushes nothing: a record still queued is dropped. */
  s = open_ok (t->state);
  queue (s, STOX_STORE_FOLLOW, FALSE, "lost@x", "lost@s");
  g_clear_pointer (&s, stox_store_free);
  s = open_ok (t->state);
  assert_rows (s, expected);
}

/* Values go through bound parameters only: quotes, SQL, printf directives,
 * non-ASCII and long values come back byte for byte. */
static void
test_strings (Tmp *t, gconstpointer data)
{
  g_autofree char *long_ascii = g_strnfill (1000, 'x');
  g_autoptr (GString) long_utf8 = g_string_new (NULL);
  g_autoptr (GPtrArray) want = g_ptr_array_new_with_free_func (g_free);
  const char *values[] = {
    "",
    "it's",
    "\"double\" and 'single'",
    "'); DROP TABLE records; --",
    "?1 ?2 :name @x $y",
    "%s %n %%",
    "back\\slash\ttab\nnewline",
    "ünïcødé 日本語 😀",
    "\xc2\xa0nbsp",
    NULL,
    NULL,
  };

  (void) data;
  for (int i = 0; i < 250; i++)
    g_string_append (long_utf8, "é😀");  /* 2 + 4 bytes */
  g_assert_cmpuint (g_utf8_strlen (long_utf8->str, -1), ==, 500);
  g_assert_cmpuint (strlen (long_ascii), ==, 1000);
  values[G_N_ELEMENTS (values) - 2] = long_ascii;
  values[G_N_ELEMENTS (values) - 1] = long_utf8->str;

  g_autoptr (StoxStore) s = open_ok (t->state);
  for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
    {
      queue (s, STOX_STORE_FOLLOW, FALSE, values[i], "b");
      queue (s, STOX_STORE_APPROVAL, FALSE, "a", values[i]);
      g_ptr_array_add (want, g_strdup_printf ("0|%s|b", values[i]));
      g_ptr_array_add (want, g_strdup_printf ("1|a|%s", values[i]));
    }
  flush_ok (s);
  g_clear_pointer (&s, stox_store_free);

  s = open_ok (t->state);
  g_autoptr (GPtrArray) rows = load_ok (s);
  g_assert_cmpuint (rows->len, ==, want->len);
  g_assert_cmpuint (stox_store_count (s), ==, want->len);
  for (guint i = 0; i < want->len; i++)
    {
      gboolean found = FALSE;

      for (guint j = 0; j < rows->len && !found; j++)
        found = strcmp (want->pdata[i], rows->pdata[j]) == 0;
      if (!found)
        g_error ("not stored exactly: %s", (const char *) want->pdata[i]);
    }

  /* The tables are still there after the "DROP TABLE" value. */
  queue (s, STOX_STORE_FOLLOW, TRUE, "'); DROP TABLE records; --", "b");
  flush_ok (s);
  g_assert_cmpuint (stox_store_count (s), ==, want->len - 1);
}

/* A row the store could not have written stops the load with an error. */
static void
test_bad_row (Tmp *t, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_free);
  const char *bad[] = {
    "INSERT INTO records (kind, a, b) VALUES (99, 'a', 'b')",
    "INSERT INTO records (kind, a, b) VALUES (0, CAST(X'61FF62' AS TEXT), 'b')",
    "INSERT INTO records (kind, a, b) VALUES (0, X'6162', 'b')",
    "INSERT INTO records (kind, a, b) VALUES (0, 'a', CAST(X'610062' AS TEXT))",
    /* Only WATCH records carry a dialog, an entity and a deadline. */
    "INSERT INTO records (kind, a, b, dialog) VALUES (0, 'a', 'b', 7)",
    "INSERT INTO records (kind, a, b, c) VALUES (1, 'a', 'b', 'sip:x@y')",
    "INSERT INTO records VALUES (2, 'a', 'b', 0, 'sip:x@y', 1700000000000000)",
    "INSERT INTO records VALUES (2, 'a', 'b', 7, NULL, 1700000000000000)",
    "INSERT INTO records VALUES (2, 'a', 'b', 7, 'sip:x@y', 0)",
    "INSERT INTO records VALUES (2, 'a', 'b', 7, X'6162', 1700000000000000)",
    "INSERT INTO records VALUES (2, 'a', 'b', 7, CAST(X'610062' AS TEXT), 1700000000000000)",
    "INSERT INTO records VALUES (2, 'a', 'b', -7, 'sip:x@y', 1700000000000000)",
  };

  (void) data;
  g_autoptr (StoxStore) s = open_ok (t->state);
  g_clear_pointer (&s, stox_store_free);

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      raw_sql (t->db, "DELETE FROM records");
      raw_sql (t->db, bad[i]);
      s = open_ok (t->state);
      g_test_message ("bad row: %s", bad[i]);
      g_ptr_array_set_size (rows, 0);
      g_assert_false (stox_store_load (s, collect, rows, &error));
      g_assert_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_CORRUPT);
      g_assert_nonnull (strstr (error->message, t->db));
      g_assert_cmpuint (rows->len, ==, 0);
      g_clear_error (&error);
      g_clear_pointer (&s, stox_store_free);
    }
}

/* A flush that cannot take the write lock is rolled back and keeps its
 * queue; the next flush writes it. */
static void
test_flush_busy (Tmp *t, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *const expected[] = { "0|alice@x|bob@s", NULL };
  sqlite3 *other = NULL;

  (void) data;
  g_autoptr (StoxStore) s = open_ok (t->state);
  queue (s, STOX_STORE_FOLLOW, FALSE, "alice@x", "bob@s");

  g_assert_cmpint (sqlite3_open (t->db, &other), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (other, "BEGIN IMMEDIATE", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_false (stox_store_flush (s, &error));  /* after busy_timeout (1 s) */
  g_assert_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_FAILED);
  g_test_message ("error: %s", error->message);
  g_assert_nonnull (strstr (error->message, t->db));
  g_assert_cmpuint (stox_store_pending (s), ==, 1);
  g_assert_cmpint (sqlite3_exec (other, "ROLLBACK", NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_close (other), ==, SQLITE_OK);

  flush_ok (s);
  assert_rows (s, expected);
}

/* ------------------------------------------------------------------ */
/* Watcher dialogs (both halves)                                       */

typedef struct
{
  StoxToken dialog;
  char     *watcher, *target, *entity;
  gint64    deadline;
} Watch;

static void
collect_watches (const StoxStoreRecord *r, gpointer user_data)
{
  GArray *out = user_data;
  Watch w = { r->dialog, g_strdup (r->sip_jid), g_strdup (r->xmpp_jid), g_strdup (r->entity),
              r->deadline };

  if (r->kind != STOX_STORE_WATCH)
    {
      g_assert_cmpuint (r->dialog, ==, 0);
      g_assert_null (r->entity);
      g_assert_cmpint (r->deadline, ==, 0);
      g_free (w.watcher), g_free (w.target), g_free (w.entity);
      return;
    }
  g_array_append_val (out, w);
}

static void
watch_clear (gpointer data)
{
  Watch *w = data;

  g_free (w->watcher);
  g_free (w->target);
  g_free (w->entity);
}

static GArray *
load_watches (StoxStore *s)
{
  g_autoptr (GError) error = NULL;
  GArray *out = g_array_new (FALSE, TRUE, sizeof (Watch));

  g_array_set_clear_func (out, watch_clear);
  g_assert_true (stox_store_load (s, collect_watches, out, &error));
  g_assert_no_error (error);
  return out;
}

static void
queue_watch (StoxStore *s, gboolean remove, const char *watcher, const char *target,
             StoxToken dialog, const char *entity, gint64 deadline)
{
  StoxStoreRecord r = { .kind = STOX_STORE_WATCH, .remove = remove,
                        .sip_jid = (char *) watcher, .xmpp_jid = (char *) target,
                        .dialog = dialog, .entity = (char *) entity, .deadline = deadline };

  stox_store_queue (s, &r);
}

static gint64
raw_int (const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 v;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  v = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return v;
}

static char *
raw_text (const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *v;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  v = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return v;
}

static void
collect_named (const StoxStoreRecord *r, gpointer user_data)
{
  GPtrArray *rows = user_data;

  g_ptr_array_add (rows, g_strdup_printf ("%d xmpp=%s sip=%s dialog=%" G_GUINT64_FORMAT
                                          " entity=%s", (int) r->kind, r->xmpp_jid,
                                          r->sip_jid, r->dialog,
                                          r->entity != NULL ? r->entity : "-"));
}

/* The record's names map onto the columns schema version 2 has always
 * had: records(kind, a, b, dialog, c, deadline) with a FOLLOW's XMPP user
 * in a, the other kinds' SIP user in a, the WATCH entity in c.  Written
 * through the names, read raw; written raw, read through the names. */
static void
test_columns (Tmp *t, gconstpointer data)
{
  gint64 deadline = g_get_monotonic_time () + 600 * G_USEC_PER_SEC;
  StoxStoreRecord rows[] = {
    { .kind = STOX_STORE_FOLLOW, .xmpp_jid = (char *) "bob@xmpp.test",
      .sip_jid = (char *) "alice@sip.test" },
    { .kind = STOX_STORE_APPROVAL, .xmpp_jid = (char *) "juliet@xmpp.test",
      .sip_jid = (char *) "romeo@sip.test" },
    { .kind = STOX_STORE_WATCH, .xmpp_jid = (char *) "juliet@xmpp.test",
      .sip_jid = (char *) "romeo@sip.test", .dialog = 9,
      .entity = (char *) "sip:juliet@xmpp.test", .deadline = deadline },
  };
  static const char *const named[] = {
    "0 xmpp=bob@xmpp.test sip=alice@sip.test dialog=0 entity=-",
    "1 xmpp=juliet@xmpp.test sip=romeo@sip.test dialog=0 entity=-",
    "2 xmpp=juliet@xmpp.test sip=romeo@sip.test dialog=9 entity=sip:juliet@xmpp.test",
    NULL,
  };
  g_autoptr (GError) error = NULL;

  (void) data;
  g_autoptr (StoxStore) s = open_ok (t->state);
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    stox_store_queue (s, &rows[i]);
  flush_ok (s);
  g_clear_pointer (&s, stox_store_free);

  g_autofree char *raw = raw_text (t->db,
                                   "SELECT group_concat(kind || '|' || a || '|' || b || '|' || dialog"
                                   " || '|' || ifnull(c, '-'), ';') FROM"
                                   " (SELECT * FROM records ORDER BY kind)");
  g_assert_cmpstr (raw, ==,
                   "0|bob@xmpp.test|alice@sip.test|0|-;"
                   "1|romeo@sip.test|juliet@xmpp.test|0|-;"
                   "2|romeo@sip.test|juliet@xmpp.test|9|sip:juliet@xmpp.test");

  /* Rows as an earlier stoxd wrote them read back under the names. */
  raw_sql (t->db, "DELETE FROM records;"
                  "INSERT INTO records (kind, a, b) VALUES (0, 'bob@xmpp.test', 'alice@sip.test');"
                  "INSERT INTO records (kind, a, b) VALUES (1, 'romeo@sip.test', 'juliet@xmpp.test');"
                  "INSERT INTO records VALUES (2, 'romeo@sip.test', 'juliet@xmpp.test', 9,"
                  " 'sip:juliet@xmpp.test', 4102444800000000)");
  s = open_ok (t->state);
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func (g_free);
  g_assert_true (stox_store_load (s, collect_named, got, &error));
  g_assert_no_error (error);
  g_ptr_array_add (got, NULL);
  g_assert_cmpstrv ((const char *const *) got->pdata, named);
}

/* A WATCH keeps dialog, entity and deadline; the file holds wall-clock
 * time (so a reboot, which restarts the monotonic clock, keeps it), and the
 * deadline read back is on the monotonic clock again. */
static void
test_watch_round_trip (Tmp *t, gconstpointer data)
{
  const gint64 in = 600 * G_USEC_PER_SEC;
  gint64 deadline = g_get_monotonic_time () + in;
  gint64 wall_expected = g_get_real_time () + in;

  (void) data;
  g_assert_cmpint (STOX_STORE_WATCH, ==, 2);
  g_autoptr (StoxStore) s = open_ok (t->state);
  queue_watch (s, FALSE, "romeo@sip.example", "juliet@xmpp.example", 41,
               "sip:juliet@xmpp.example", deadline);
  queue (s, STOX_STORE_APPROVAL, FALSE, "romeo@sip.example", "juliet@xmpp.example");
  flush_ok (s);
  g_clear_pointer (&s, stox_store_free);

  gint64 wall = raw_int (t->db, "SELECT deadline FROM records WHERE kind = 2");
  g_assert_cmpint (ABS (wall - wall_expected), <, 2 * G_USEC_PER_SEC);

  s = open_ok (t->state);
  g_assert_cmpuint (stox_store_count (s), ==, 2);
  g_autoptr (GArray) w = load_watches (s);
  g_assert_cmpuint (w->len, ==, 1);
  Watch *got = &g_array_index (w, Watch, 0);
  g_assert_cmpuint (got->dialog, ==, 41);
  g_assert_cmpstr (got->watcher, ==, "romeo@sip.example");
  g_assert_cmpstr (got->target, ==, "juliet@xmpp.example");
  g_assert_cmpstr (got->entity, ==, "sip:juliet@xmpp.example");
  g_assert_cmpint (ABS (got->deadline - deadline), <, 2 * G_USEC_PER_SEC);
}

/* A refresh replaces the row (same key, new deadline); two dialogs of the
 * same pair are two rows, and a removal takes the one named. */
static void
test_watch_replace_remove (Tmp *t, gconstpointer data)
{
  gint64 now = g_get_monotonic_time ();

  (void) data;
  g_autoptr (StoxStore) s = open_ok (t->state);
  queue_watch (s, FALSE, "r@sip", "j@x", 5, "sip:j@x", now + 60 * G_USEC_PER_SEC);
  queue_watch (s, FALSE, "r@sip", "j@x", 6, "sip:j@x;other", now + 60 * G_USEC_PER_SEC);
  flush_ok (s);
  queue_watch (s, FALSE, "r@sip", "j@x", 5, "sip:j@x", now + (gint64) 3600 * G_USEC_PER_SEC);
  flush_ok (s);
  g_assert_cmpuint (stox_store_count (s), ==, 2);

  g_autoptr (GArray) w = load_watches (s);
  g_assert_cmpuint (w->len, ==, 2);
  g_assert_cmpuint (g_array_index (w, Watch, 0).dialog, ==, 5);
  g_assert_cmpint (ABS (g_array_index (w, Watch, 0).deadline - (now + (gint64) 3600 * G_USEC_PER_SEC)),
                   <, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint (g_array_index (w, Watch, 1).dialog, ==, 6);
  g_assert_cmpstr (g_array_index (w, Watch, 1).entity, ==, "sip:j@x;other");

  /* A removal needs the key only. */
  queue_watch (s, TRUE, "r@sip", "j@x", 5, NULL, 0);
  flush_ok (s);
  g_clear_pointer (&w, g_array_unref);
  w = load_watches (s);
  g_assert_cmpuint (w->len, ==, 1);
  g_assert_cmpuint (g_array_index (w, Watch, 0).dialog, ==, 6);
}

static void
collect_dialog (StoxToken id, const char *state, gpointer user_data)
{
  g_ptr_array_add (user_data, g_strdup_printf ("%" G_GUINT64_FORMAT "=%s", id, state));
}

static void
assert_dialogs (StoxStore *s, const char *const *expected)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_free);

  g_assert_true (stox_store_load_dialogs (s, collect_dialog, rows, &error));
  g_assert_no_error (error);
  g_ptr_array_add (rows, NULL);
  g_assert_cmpstrv ((const char *const *) rows->pdata, expected);
  g_assert_cmpuint (stox_store_count_dialogs (s), ==, g_strv_length ((char **) expected));
}

/* The SIP front end's states: insert, replace, delete, in queue order
 * with the records, across a reopen; a bad row is refused. */
static void
test_dialogs (Tmp *t, gconstpointer data)
{
  const char *const first[] = { "3=three", "12=twelve", NULL };
  const char *const after[] = { "12=twelve again", "40=forty", NULL };
  const char *const none[] = { NULL };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) rows = g_ptr_array_new_with_free_func (g_free);

  (void) data;
  g_autoptr (StoxStore) s = open_ok (t->state);
  assert_dialogs (s, none);
  stox_store_queue_dialog (s, 12, "twelve");
  stox_store_queue_dialog (s, 3, "three");
  g_assert_cmpuint (stox_store_pending (s), ==, 2);
  g_assert_cmpuint (stox_store_count_dialogs (s), ==, 0);
  flush_ok (s);
  assert_dialogs (s, first);

  /* Replace, delete and re-insert in one transaction: order counts. */
  stox_store_queue_dialog (s, 12, "twelve again");
  stox_store_queue_dialog (s, 3, NULL);
  stox_store_queue_dialog (s, 40, "forty");
  stox_store_queue_dialog (s, 40, NULL);
  stox_store_queue_dialog (s, 40, "forty");
  stox_store_queue_dialog (s, 99, NULL);   /* missing: fine */
  flush_ok (s);
  g_clear_pointer (&s, stox_store_free);
  s = open_ok (t->state);
  assert_dialogs (s, after);
  /* The records table is another thing. */
  g_assert_cmpuint (stox_store_count (s), ==, 0);
  g_clear_pointer (&s, stox_store_free);

  raw_sql (t->db, "INSERT INTO sip_dialogs VALUES (0, 'zero')");
  s = open_ok (t->state);
  g_assert_false (stox_store_load_dialogs (s, collect_dialog, rows, &error));
  g_assert_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, t->db));
  g_clear_error (&error);
  g_clear_pointer (&s, stox_store_free);
  raw_sql (t->db, "DELETE FROM sip_dialogs WHERE id = 0;"
                  "INSERT INTO sip_dialogs VALUES (41, X'6162')");
  s = open_ok (t->state);
  g_ptr_array_set_size (rows, 0);
  g_assert_false (stox_store_load_dialogs (s, collect_dialog, rows, &error));
  g_assert_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_CORRUPT);
}

/* A file of schema version 1 (before watcher dialogs were kept) is
 * upgraded in place: its records stay, the new columns and table exist,
 * and the version says 2. */
static void
test_upgrade_v1 (Tmp *t, gconstpointer data)
{
  const char *const expected[] = {
    "0|alice@xmpp.example|bob@sip.example",
    "1|bob@sip.example|alice@xmpp.example",
    NULL,
  };
  const char *const one_dialog[] = { "7=state", NULL };

  (void) data;
  g_assert_cmpint (g_mkdir_with_parents (t->state, 0700), ==, 0);
  raw_sql (t->db,
           "CREATE TABLE meta (key TEXT NOT NULL PRIMARY KEY, value NOT NULL);"
           "CREATE TABLE records (kind INTEGER NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL,"
           " PRIMARY KEY (kind, a, b)) WITHOUT ROWID;"
           "INSERT INTO meta VALUES ('schema_version', 1);"
           "INSERT INTO records VALUES (1, 'bob@sip.example', 'alice@xmpp.example');"
           "INSERT INTO records VALUES (0, 'alice@xmpp.example', 'bob@sip.example');");

  g_autoptr (StoxStore) s = open_ok (t->state);
  assert_rows (s, expected);
  g_assert_cmpint (raw_int (t->db, "SELECT value FROM meta WHERE key = 'schema_version'"), ==,
                   2);
  queue_watch (s, FALSE, "bob@sip.example", "alice@xmpp.example", 3, "sip:alice@x",
               g_get_monotonic_time () + G_USEC_PER_SEC);
  stox_store_queue_dialog (s, 7, "state");
  flush_ok (s);
  g_clear_pointer (&s, stox_store_free);

  /* Opening again is not another upgrade. */
  s = open_ok (t->state);
  g_assert_cmpuint (stox_store_count (s), ==, 3);
  assert_dialogs (s, one_dialog);
}

/* ------------------------------------------------------------------ */
/* Load                                                                */

#define BULK 100000

typedef struct
{
  guint   n;
  int     last_kind;
  char   *last_a;
  char   *last_b;
} Bulk;

static void
bulk_each (const StoxStoreRecord *r, gpointer user_data)
{
  Bulk *b = user_data;

  /* Strictly increasing (kind, a, b). */
  if (b->n > 0)
    {
      int c = (int) r->kind - b->last_kind;

      if (c == 0)
        c = strcmp (first_user (r), b->last_a);
      if (c == 0)
        c = strcmp (second_user (r), b->last_b);
      g_assert_cmpint (c, >, 0);
    }
  b->n++;
  b->last_kind = (int) r->kind;
  g_free (b->last_a);
  g_free (b->last_b);
  b->last_a = g_strdup (first_user (r));
  b->last_b = g_strdup (second_user (r));
}

static void
test_bulk (Tmp *t, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Bulk seen = { 0, 0, NULL, NULL };
  gint64 start, queued, flushed, loaded, removed;

  (void) data;
  g_autoptr (StoxStore) s = open_ok (t->state);

  start = g_get_monotonic_time ();
  for (guint i = 0; i < BULK; i++)
    {
      char a[64], b[64];

      /* Not in key order, like real traffic. */
      guint k = (i * 7919u) % BULK;

      g_snprintf (a, sizeof a, "user%u@xmpp.example.org", k / 10);
      g_snprintf (b, sizeof b, "sip-user%u@sip.example.com", k);
      queue (s, (k & 1) ? STOX_STORE_APPROVAL : STOX_STORE_FOLLOW, FALSE, a, b);
    }
  queued = g_get_monotonic_time ();
  g_assert_cmpuint (stox_store_pending (s), ==, BULK);
  flush_ok (s);
  flushed = g_get_monotonic_time ();
  g_clear_pointer (&s, stox_store_free);

  s = open_ok (t->state);
  g_assert_cmpuint (stox_store_count (s), ==, BULK);
  loaded = g_get_monotonic_time ();
  g_assert_true (stox_store_load (s, bulk_each, &seen, &error));
  g_assert_no_error (error);
  loaded = g_get_monotonic_time () - loaded;
  g_assert_cmpuint (seen.n, ==, BULK);
  g_free (seen.last_a);
  g_free (seen.last_b);

  /* And all removed again, in one more transaction. */
  removed = g_get_monotonic_time ();
  for (guint i = 0; i < BULK; i++)
    {
      char a[64], b[64];

      g_snprintf (a, sizeof a, "user%u@xmpp.example.org", i / 10);
      g_snprintf (b, sizeof b, "sip-user%u@sip.example.com", i);
      queue (s, (i & 1) ? STOX_STORE_APPROVAL : STOX_STORE_FOLLOW, TRUE, a, b);
    }
  flush_ok (s);
  removed = g_get_monotonic_time () - removed;
  g_assert_cmpuint (stox_store_count (s), ==, 0);

  g_test_message ("%u records: queue %.1f ms, flush (one transaction) %.1f ms, load %.1f ms,"
                  " queue+flush of %u removals %.1f ms",
                  BULK, (double) (queued - start) / 1000.0, (double) (flushed - queued) / 1000.0,
                  (double) loaded / 1000.0, BULK, (double) removed / 1000.0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/store/open/creates", Tmp, NULL, tmp_setup, test_open_creates, tmp_teardown);
  g_test_add ("/store/open/schema", Tmp, NULL, tmp_setup, test_open_schema, tmp_teardown);
  g_test_add ("/store/open/version-newer", Tmp, NULL, tmp_setup, test_version_newer,
              tmp_teardown);
  g_test_add ("/store/open/version-missing", Tmp, NULL, tmp_setup, test_version_missing,
              tmp_teardown);
  g_test_add ("/store/open/garbage-file", Tmp, NULL, tmp_setup, test_garbage_file,
              tmp_teardown);
  g_test_add ("/store/open/foreign-database", Tmp, NULL, tmp_setup, test_foreign_database,
              tmp_teardown);
  g_test_add ("/store/open/state-dir-is-file", Tmp, NULL, tmp_setup, test_state_dir_is_file,
              tmp_teardown);
  g_test_add ("/store/open/db-is-directory", Tmp, NULL, tmp_setup, test_db_is_directory,
              tmp_teardown);
  g_test_add ("/store/open/unwritable-dir", Tmp, NULL, tmp_setup, test_unwritable_dir,
              tmp_teardown);
  g_test_add ("/store/open/read-only-file", Tmp, NULL, tmp_setup, test_read_only_file,
              tmp_teardown);

  g_test_add ("/store/records/round-trip", Tmp, NULL, tmp_setup, test_round_trip,
              tmp_teardown);
  g_test_add ("/store/records/insert-twice", Tmp, NULL, tmp_setup, test_insert_twice,
              tmp_teardown);
  g_test_add ("/store/records/kind-is-key", Tmp, NULL, tmp_setup, test_kind_is_key,
              tmp_teardown);
  g_test_add ("/store/records/remove", Tmp, NULL, tmp_setup, test_remove, tmp_teardown);
  g_test_add ("/store/records/remove-missing", Tmp, NULL, tmp_setup, test_remove_missing,
              tmp_teardown);
  g_test_add ("/store/records/reopen", Tmp, NULL, tmp_setup, test_reopen, tmp_teardown);
  g_test_add ("/store/records/strings", Tmp, NULL, tmp_setup, test_strings, tmp_teardown);
  g_test_add ("/store/records/bad-row", Tmp, NULL, tmp_setup, test_bad_row, tmp_teardown);
  g_test_add ("/store/records/flush-busy", Tmp, NULL, tmp_setup, test_flush_busy,
              tmp_teardown);
  g_test_add ("/store/watch/round-trip", Tmp, NULL, tmp_setup, test_watch_round_trip,
              tmp_teardown);
  g_test_add ("/store/watch/replace-remove", Tmp, NULL, tmp_setup, test_watch_replace_remove,
              tmp_teardown);
  g_test_add ("/store/records/columns", Tmp, NULL, tmp_setup, test_columns, tmp_teardown);
  g_test_add ("/store/dialogs", Tmp, NULL, tmp_setup, test_dialogs, tmp_teardown);
  g_test_add ("/store/open/upgrade-v1", Tmp, NULL, tmp_setup, test_upgrade_v1, tmp_teardown);
  g_test_add ("/store/load/100000", Tmp, NULL, tmp_setup, test_bulk, tmp_teardown);

  return g_test_run ();
}
