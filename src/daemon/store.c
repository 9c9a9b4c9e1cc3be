/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The embedded SQLite store (ARCHITECTURE.md, Persistence; issue 4 item 4).
 *
 * One file, `state-dir`/stox.db, two tables:
 *   meta(key, value)      holds schema_version = 1; a newer number is
 *                         refused so that a downgrade cannot misread data;
 *   records(kind, a, b)   the core's StoxStoreRecord triples, the whole row
 *                         being the primary key (WITHOUT ROWID: the b-tree
 *                         is the index, and (kind, a, b) order comes free).
 *
 * WAL with synchronous=NORMAL: a commit costs no fsync (only checkpoints
 * do); a power cut may lose the last transactions but never corrupts the
 * file.  That fits the state kept here — a lost record is a subscription
 * the user re-creates, not a broken gateway.
 *
 * Every statement is prepared once, when the store is opened, with
 * SQLITE_PREPARE_PERSISTENT, and values are only ever bound: no SQL text is
 * built from data.  Writes are queued and applied by stox_store_flush() in
 * one transaction, so a burst of core actions costs one commit.
 */
/* <config.h> is the autoconf header; "config.h" would find daemon/config.h. */
#include <config.h>

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "daemon/store.h"

G_DEFINE_QUARK (stox-store-error-quark, stox_store_error)

/* Finalizes a one-off statement (those used while opening only). */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

struct _StoxStore
{
  char         *path;     /* state-dir/stox.db */
  sqlite3      *db;
  GArray       *queue;    /* of StoxStoreRecord, owning a and b */

  sqlite3_stmt *begin;
  sqlite3_stmt *commit;
  sqlite3_stmt *rollback;
  sqlite3_stmt *insert;
  sqlite3_stmt *delete;
  sqlite3_stmt *select;
  sqlite3_stmt *count;
};

static void
record_clear (gpointer data)
{
  StoxStoreRecord *r = data;

  g_free (r->a);
  g_free (r->b);
}

static gboolean
kind_valid (gint64 kind)
{
  return kind == STOX_STORE_FOLLOW || kind == STOX_STORE_APPROVAL;
}

/* SQLite's primary result code → our error code. */
static StoxStoreError
error_code (int rc)
{
  switch (rc & 0xff)
    {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
    case SQLITE_FORMAT:
      return STOX_STORE_ERROR_CORRUPT;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_AUTH:
      return STOX_STORE_ERROR_IO;
    default:
      return STOX_STORE_ERROR_FAILED;
    }
}

/* "PATH: what: SQLite's message".  Call before anything else touches the
 * connection: sqlite3_errmsg() describes the most recent call only. */
static void
set_sqlite_error (StoxStore  *s,
                  GError    **error,
                  int         rc,
                  const char *what)
{
  g_set_error (error, STOX_STORE_ERROR, error_code (rc), "%s: %s: %s", s->path, what,
               s->db ? sqlite3_errmsg (s->db) : sqlite3_errstr (rc));
}

static gboolean
exec (StoxStore  *s,
      const char *sql,
      const char *what,
      GError    **error)
{
  int rc = sqlite3_exec (s->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    {
      set_sqlite_error (s, error, rc, what);
      return FALSE;
    }
  return TRUE;
}

static gboolean
prepare (StoxStore     *s,
         const char    *sql,
         unsigned int   flags,
         sqlite3_stmt **ret_stmt,
         GError       **error)
{
  int rc = sqlite3_prepare_v3 (s->db, sql, -1, flags, ret_stmt, NULL);

  if (rc != SQLITE_OK)
    {
      /* The statements name our tables and columns; when one cannot be
       * prepared the file is not the database we expect. */
      g_set_error (error, STOX_STORE_ERROR,
                   (rc & 0xff) == SQLITE_ERROR ? STOX_STORE_ERROR_CORRUPT : error_code (rc),
                   "%s: not a usable stox state database: %s", s->path, sqlite3_errmsg (s->db));
      return FALSE;
    }
  return TRUE;
}

/* Runs a statement that returns no row (BEGIN, COMMIT, …) and resets it. */
static gboolean
step_done (StoxStore    *s,
           sqlite3_stmt *stmt,
           const char   *what,
           GError      **error)
{
  int rc = sqlite3_step (stmt);

  if (rc != SQLITE_DONE)
    set_sqlite_error (s, error, rc, what);
  sqlite3_reset (stmt);
  return rc == SQLITE_DONE;
}

static void
rollback (StoxStore *s)
{
  /* Some errors (SQLITE_FULL, SQLITE_IOERR, …) already rolled back. */
  if (!sqlite3_get_autocommit (s->db))
    {
      sqlite3_step (s->rollback);
      sqlite3_reset (s->rollback);
    }
}

/* Creates the schema in an empty database, or checks the version of an
 * existing one.  In one IMMEDIATE transaction so that two stoxd started on
 * the same directory cannot both create it. */
static gboolean
init_schema (StoxStore *s,
             GError   **error)
{
  g_autoptr (sqlite3_stmt) has_meta = NULL;
  g_autoptr (sqlite3_stmt) tables = NULL;
  g_autoptr (sqlite3_stmt) get = NULL;
  g_autoptr (sqlite3_stmt) set = NULL;
  int rc;

  if (!exec (s, "BEGIN IMMEDIATE", "cannot read", error))
    return FALSE;

  if (!prepare (s, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                0, &has_meta, error))
    goto fail;
  rc = sqlite3_step (has_meta);
  if (rc != SQLITE_ROW)
    {
      set_sqlite_error (s, error, rc, "cannot read");
      goto fail;
    }

  gboolean fresh = sqlite3_column_int64 (has_meta, 0) == 0;
  sqlite3_reset (has_meta);

  if (fresh)
    {
      /* A new file, or someone else's database: refuse to add our tables
       * to a database that already holds others. */
      if (!prepare (s, "SELECT count(*) FROM sqlite_master", 0, &tables, error))
        goto fail;
      rc = sqlite3_step (tables);
      if (rc != SQLITE_ROW)
        {
          set_sqlite_error (s, error, rc, "cannot read");
          goto fail;
        }
      gboolean others = sqlite3_column_int64 (tables, 0) != 0;
      sqlite3_reset (tables);
      if (others)
        {
          g_set_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_CORRUPT,
                       "%s: not a stox state database (it has tables but no meta table)",
                       s->path);
          goto fail;
        }

      if (!exec (s,
                 "CREATE TABLE meta (key TEXT NOT NULL PRIMARY KEY, value NOT NULL);"
                 "CREATE TABLE records (kind INTEGER NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL,"
                 " PRIMARY KEY (kind, a, b)) WITHOUT ROWID;",
                 "cannot create the schema", error))
        goto fail;
      if (!prepare (s, "INSERT INTO meta (key, value) VALUES (?1, ?2)", 0, &set, error))
        goto fail;
      sqlite3_bind_text (set, 1, "schema_version", -1, SQLITE_STATIC);
      sqlite3_bind_int (set, 2, STOX_STORE_SCHEMA_VERSION);
      rc = sqlite3_step (set);
      if (rc != SQLITE_DONE)
        {
          set_sqlite_error (s, error, rc, "cannot create the schema");
          goto fail;
        }
    }
  else
    {
      sqlite3_int64 version;

      if (!prepare (s, "SELECT value FROM meta WHERE key = ?1", 0, &get, error))
        goto fail;
      sqlite3_bind_text (get, 1, "schema_version", -1, SQLITE_STATIC);
      rc = sqlite3_step (get);
      if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        {
          set_sqlite_error (s, error, rc, "cannot read");
          goto fail;
        }
      if (rc == SQLITE_DONE || sqlite3_column_type (get, 0) != SQLITE_INTEGER)
        {
          g_set_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_CORRUPT,
                       "%s: not a stox state database (no integer schema_version in meta)",
                       s->path);
          goto fail;
        }
      version = sqlite3_column_int64 (get, 0);
      sqlite3_reset (get);
      if (version > STOX_STORE_SCHEMA_VERSION)
        {
          g_set_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_VERSION,
                       "%s: schema version %" G_GINT64_FORMAT " was written by a newer stoxd;"
                       " this one reads version %d only",
                       s->path, (gint64) version, STOX_STORE_SCHEMA_VERSION);
          goto fail;
        }
      if (version < 1)
        {
          g_set_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_CORRUPT,
                       "%s: not a stox state database (schema_version %" G_GINT64_FORMAT ")",
                       s->path, (gint64) version);
          goto fail;
        }
    }

  if (!exec (s, "COMMIT", "cannot write", error))
    goto fail;
  return TRUE;

fail:
  if (!sqlite3_get_autocommit (s->db))
    sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

StoxStore *
stox_store_open (const char *state_dir,
                 GError    **error)
{
  g_autoptr (StoxStore) s = NULL;
  const unsigned int keep = SQLITE_PREPARE_PERSISTENT;
  int rc;

  g_return_val_if_fail (state_dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_mkdir_with_parents (state_dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_IO,
                   "%s: cannot create the state directory: %s", state_dir, g_strerror (saved));
      return NULL;
    }

  s = g_new0 (StoxStore, 1);
  s->path = g_build_filename (state_dir, STOX_STORE_FILE, NULL);
  s->queue = g_array_new (FALSE, FALSE, sizeof (StoxStoreRecord));
  g_array_set_clear_func (s->queue, record_clear);

  rc = sqlite3_open_v2 (s->path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (s, error, rc, "cannot open");
      return NULL;
    }
  sqlite3_extended_result_codes (s->db, 1);

  /* The first statement reads the header: a file that is not SQLite fails
   * here with "file is not a database". */
  if (!exec (s, "PRAGMA busy_timeout = 1000", "cannot open", error)
      || !exec (s, "PRAGMA journal_mode = WAL", "cannot open", error))
    return NULL;
  /* SQLite quietly opens a write-protected file read-only. */
  if (sqlite3_db_readonly (s->db, "main") == 1)
    {
      g_set_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_IO,
                   "%s: cannot open: the file is read-only", s->path);
      return NULL;
    }
  if (!exec (s, "PRAGMA synchronous = NORMAL", "cannot open", error)
      || !exec (s, "PRAGMA foreign_keys = ON", "cannot open", error)
      /* The default 2 MiB page cache spills during a large transaction:
       * 100 000 inserts (a ~7 MB table) took 360 ms with it, 155 ms with
       * 16 MiB.  Pages are allocated as used, so a small table stays small. */
      || !exec (s, "PRAGMA cache_size = -16384", "cannot open", error))
    return NULL;

  if (!init_schema (s, error))
    return NULL;

  if (!prepare (s, "BEGIN IMMEDIATE", keep, &s->begin, error)
      || !prepare (s, "COMMIT", keep, &s->commit, error)
      || !prepare (s, "ROLLBACK", keep, &s->rollback, error)
      || !prepare (s, "INSERT OR IGNORE INTO records (kind, a, b) VALUES (?1, ?2, ?3)", keep,
                   &s->insert, error)
      || !prepare (s, "DELETE FROM records WHERE kind = ?1 AND a = ?2 AND b = ?3", keep,
                   &s->delete, error)
      || !prepare (s, "SELECT kind, a, b FROM records ORDER BY kind, a, b", keep, &s->select,
                   error)
      || !prepare (s, "SELECT count(*) FROM records", keep, &s->count, error))
    return NULL;

  return g_steal_pointer (&s);
}

void
stox_store_free (StoxStore *s)
{
  if (s == NULL)
    return;
  /* sqlite3_finalize (NULL) is a no-op. */
  sqlite3_finalize (s->begin);
  sqlite3_finalize (s->commit);
  sqlite3_finalize (s->rollback);
  sqlite3_finalize (s->insert);
  sqlite3_finalize (s->delete);
  sqlite3_finalize (s->select);
  sqlite3_finalize (s->count);
  /* The last connection checkpoints the WAL and removes it. */
  sqlite3_close_v2 (s->db);
  g_array_unref (s->queue);
  g_free (s->path);
  g_free (s);
}

const char *
stox_store_path (StoxStore *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return s->path;
}

void
stox_store_queue (StoxStore             *s,
                  const StoxStoreRecord *r)
{
  StoxStoreRecord copy;

  g_return_if_fail (s != NULL);
  g_return_if_fail (r != NULL);
  g_return_if_fail (kind_valid (r->kind));
  g_return_if_fail (r->a != NULL && g_utf8_validate (r->a, -1, NULL));
  g_return_if_fail (r->b != NULL && g_utf8_validate (r->b, -1, NULL));

  copy.kind = r->kind;
  copy.remove = r->remove;
  copy.a = g_strdup (r->a);
  copy.b = g_strdup (r->b);
  g_array_append_val (s->queue, copy);
}

gsize
stox_store_pending (StoxStore *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->queue->len;
}

gboolean
stox_store_flush (StoxStore *s,
                  GError   **error)
{
  g_return_val_if_fail (s != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (s->queue->len == 0)
    return TRUE;

  if (!step_done (s, s->begin, "cannot write", error))
    return FALSE;

  for (guint i = 0; i < s->queue->len; i++)
    {
      const StoxStoreRecord *r = &g_array_index (s->queue, StoxStoreRecord, i);
      sqlite3_stmt *stmt = r->remove ? s->delete : s->insert;
      int rc;

      /* SQLITE_STATIC: the strings outlive the step (the queue owns them). */
      rc = sqlite3_bind_int (stmt, 1, (int) r->kind);
      if (rc == SQLITE_OK)
        rc = sqlite3_bind_text (stmt, 2, r->a, -1, SQLITE_STATIC);
      if (rc == SQLITE_OK)
        rc = sqlite3_bind_text (stmt, 3, r->b, -1, SQLITE_STATIC);
      if (rc == SQLITE_OK)
        rc = sqlite3_step (stmt);
      if (rc != SQLITE_DONE)
        set_sqlite_error (s, error, rc, "cannot write");
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
      if (rc != SQLITE_DONE)
        {
          rollback (s);
          return FALSE;
        }
    }

  if (!step_done (s, s->commit, "cannot write", error))
    {
      rollback (s);
      return FALSE;
    }

  g_array_set_size (s->queue, 0);
  return TRUE;
}

gboolean
stox_store_load (StoxStore *s,
                 void (*each) (const StoxStoreRecord *r, gpointer user_data),
                 gpointer   user_data,
                 GError   **error)
{
  gboolean ok = TRUE;
  int rc;

  g_return_val_if_fail (s != NULL, FALSE);
  g_return_val_if_fail (each != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  while ((rc = sqlite3_step (s->select)) == SQLITE_ROW)
    {
      /* Types first: sqlite3_column_text() converts the value, after
       * which sqlite3_column_type() is undefined. */
      gboolean typed = sqlite3_column_type (s->select, 0) == SQLITE_INTEGER
                       && sqlite3_column_type (s->select, 1) == SQLITE_TEXT
                       && sqlite3_column_type (s->select, 2) == SQLITE_TEXT;
      sqlite3_int64 kind = sqlite3_column_int64 (s->select, 0);
      const char *a = (const char *) sqlite3_column_text (s->select, 1);
      int a_len = sqlite3_column_bytes (s->select, 1);
      const char *b = (const char *) sqlite3_column_text (s->select, 2);
      int b_len = sqlite3_column_bytes (s->select, 2);
      g_autofree char *a_copy = NULL;
      g_autofree char *b_copy = NULL;
      StoxStoreRecord r;

      /* The file is outside input like any other: only rows we could have
       * written are handed to the core. */
      if (!typed || !kind_valid (kind) || a == NULL || b == NULL
          || strlen (a) != (gsize) a_len || strlen (b) != (gsize) b_len
          || !g_utf8_validate (a, a_len, NULL) || !g_utf8_validate (b, b_len, NULL))
        {
          g_set_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_CORRUPT,
                       "%s: a row of the records table is not a valid record (kind %" G_GINT64_FORMAT ")",
                       s->path, (gint64) kind);
          ok = FALSE;
          break;
        }

      a_copy = g_strndup (a, a_len);
      b_copy = g_strndup (b, b_len);
      r.kind = (StoxStoreKind) kind;
      r.remove = FALSE;
      r.a = a_copy;
      r.b = b_copy;
      each (&r, user_data);
    }
  if (ok && rc != SQLITE_DONE)
    {
      set_sqlite_error (s, error, rc, "cannot read");
      ok = FALSE;
    }
  sqlite3_reset (s->select);
  return ok;
}

gsize
stox_store_count (StoxStore *s)
{
  gsize n = 0;

  g_return_val_if_fail (s != NULL, 0);

  if (sqlite3_step (s->count) == SQLITE_ROW)
    n = (gsize) sqlite3_column_int64 (s->count, 0);
  sqlite3_reset (s->count);
  return n;
}
