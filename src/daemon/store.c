/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The embedded SQLite store (docs/architecture.md, Persistence).
 *
 * One file, `state-dir`/stox.db, three tables:
 *   meta(key, value)      holds schema_version = 2; a newer number is
 *                         refused so that a downgrade cannot misread data;
 *                         version 1 (no dialogs) is upgraded in place;
 *   records(kind, a, b, dialog, c, deadline)
 *                         the core's StoxStoreRecords, keyed by (kind, a, b,
 *                         dialog) (WITHOUT ROWID: the b-tree is the index,
 *                         and key order comes free); a and b hold the two
 *                         users in the order of the kind (record_a() and
 *                         record_b() below), c the WATCH entity; `deadline` is
 *                         wall-clock µs since the epoch, so that it means
 *                         the same after a reboot (the core's clock is
 *                         monotonic and starts again at boot);
 *   sip_dialogs(id, state) the SIP front end's half of each kept watcher
 *                         dialog, its text opaque here.
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
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "daemon/store.h"

/* clang-format off */
G_DEFINE_QUARK (stox-store-error-quark, stox_store_error)
/* clang-format on */

/* Finalizes a one-off statement (those used while opening only). */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

/* One queued write: a core record, or a SIP dialog's state. */
typedef struct
{
  gboolean        is_dialog;
  StoxStoreRecord r;        /* !is_dialog; owns its strings */
  StoxToken       id;       /* is_dialog */
  char           *state;    /* is_dialog; NULL: delete */
} QueueItem;

struct _StoxStore
{
  char         *path;     /* state-dir/stox.db */
  sqlite3      *db;
  GArray       *queue;    /* of QueueItem */

  sqlite3_stmt *begin;
  sqlite3_stmt *commit;
  sqlite3_stmt *rollback;
  sqlite3_stmt *insert;
  sqlite3_stmt *delete;
  sqlite3_stmt *select;
  sqlite3_stmt *count;
  sqlite3_stmt *dialog_insert;
  sqlite3_stmt *dialog_delete;
  sqlite3_stmt *dialog_select;
  sqlite3_stmt *dialog_count;
};

static void
item_clear (gpointer data)
{
  QueueItem *item = data;

  g_free (item->r.xmpp_jid);
  g_free (item->r.sip_jid);
  g_free (item->r.entity);
  g_free (item->state);
}

static gboolean
kind_valid (gint64 kind)
{
  return kind == STOX_STORE_FOLLOW || kind == STOX_STORE_APPROVAL || kind == STOX_STORE_WATCH;
}

/* The columns a and b of the records table: a FOLLOW row names its XMPP
 * user first, the other kinds their SIP user (so the file's format, and
 * the key order rows are read back in, stay as schema version 2 wrote
 * them). */
static const char *
record_a (const StoxStoreRecord *r)
{
  return r->kind == STOX_STORE_FOLLOW ? r->xmpp_jid : r->sip_jid;
}

static const char *
record_b (const StoxStoreRecord *r)
{
  return r->kind == STOX_STORE_FOLLOW ? r->sip_jid : r->xmpp_jid;
}

/* Only WATCH records carry a dialog, an entity and a deadline. */
static gboolean
record_shape_valid (gint64 kind, gint64 dialog, const char *c)
{
  if (kind == STOX_STORE_WATCH)
    return dialog > 0 && c != NULL;
  return dialog == 0 && c == NULL;
}

/* The core's monotonic deadline ↔ wall-clock time in the file. */
static gint64
deadline_to_wall (gint64 deadline)
{
  return deadline == 0 ? 0 : g_get_real_time () + (deadline - g_get_monotonic_time ());
}

static gint64
deadline_from_wall (gint64 wall)
{
  return wall == 0 ? 0 : g_get_monotonic_time () + (wall - g_get_real_time ());
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

#define RECORDS_TABLE(name)                                                       \
  "CREATE TABLE " name " (kind INTEGER NOT NULL, a TEXT NOT NULL, b TEXT NOT NULL,"  \
  " dialog INTEGER NOT NULL DEFAULT 0, c TEXT, deadline INTEGER NOT NULL DEFAULT 0,"  \
  " PRIMARY KEY (kind, a, b, dialog)) WITHOUT ROWID;"
#define DIALOGS_TABLE                                                             \
  "CREATE TABLE sip_dialogs (id INTEGER NOT NULL PRIMARY KEY, state TEXT NOT NULL);"

/* Version 1 (stox before kept dialogs) had records(kind, a, b) with that
 * as the key: the rows move to the new table as they are, inside the
 * caller's transaction, so a failed upgrade leaves version 1 intact. */
static gboolean
upgrade_from_1 (StoxStore *s,
                GError   **error)
{
  g_autofree char *sql = NULL;

  sql = g_strdup_printf (RECORDS_TABLE ("records_v2")
                         "INSERT INTO records_v2 (kind, a, b) SELECT kind, a, b FROM records;"
                         "DROP TABLE records;"
                         "ALTER TABLE records_v2 RENAME TO records;"
                         DIALOGS_TABLE
                         "UPDATE meta SET value = %d WHERE key = 'schema_version';",
                         STOX_STORE_SCHEMA_VERSION);
  if (!exec (s, sql, "cannot upgrade the schema from version 1", error))
    return FALSE;
  g_info ("%s: schema upgraded from version 1 to %d", s->path, STOX_STORE_SCHEMA_VERSION);
  return TRUE;
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
                 RECORDS_TABLE ("records") DIALOGS_TABLE,
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
      if (version == 1 && !upgrade_from_1 (s, error))
        goto fail;
    }

  if (!exec (s, "COMMIT", "cannot write", error))
    goto fail;
  return TRUE;

fail:
  if (!sqlite3_get_autocommit (s->db))
    sqlite3_exec (s->db, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

/* The state directory, created private (0700) when it is missing. */
static gboolean
make_state_dir (const char *state_dir, GError **error)
{
  if (g_mkdir_with_parents (state_dir, 0700) != 0)
    {
      int saved = errno;

      g_set_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_IO,
                   "%s: cannot create the state directory: %s", state_dir, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

gboolean
stox_store_check_dir (const char *state_dir,
                      GError    **error)
{
  static const char header[16] = "SQLite format 3";  /* with its NUL */
  g_autofree char *probe = NULL;
  g_autofree char *db = NULL;
  char head[sizeof header];
  ssize_t n;
  int fd;

  g_return_val_if_fail (state_dir != NULL, FALSE);

  if (!make_state_dir (state_dir, error))
    return FALSE;
  /* A write test, not access(2): it also catches a read-only file system
   * and holds for root. */
  probe = g_build_filename (state_dir, ".stox-check-XXXXXX", NULL);
  fd = g_mkstemp_full (probe, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_IO,
                   "%s: cannot write in the state directory: %s", state_dir,
                   g_strerror (saved));
      return FALSE;
    }
  close (fd);
  (void) g_unlink (probe);

  db = g_build_filename (state_dir, STOX_STORE_FILE, NULL);
  fd = g_open (db, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
  if (fd < 0 && errno == ENOENT)
    return TRUE;  /* the first start creates it */
  if (fd < 0)
    {
      int saved = errno;

      g_set_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_IO, "%s: cannot open: %s", db,
                   g_strerror (saved));
      return FALSE;
    }
  n = read (fd, head, sizeof head);
  close (fd);
  /* An empty file is what SQLite makes of a new database too. */
  if (n != 0 && (n != (ssize_t) sizeof head || memcmp (head, header, sizeof header) != 0))
    {
      g_set_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_CORRUPT,
                   "%s: not an SQLite database", db);
      return FALSE;
    }
  return TRUE;
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

  if (!make_state_dir (state_dir, error))
    return NULL;

  s = g_new0 (StoxStore, 1);
  s->path = g_build_filename (state_dir, STOX_STORE_FILE, NULL);
  s->queue = g_array_new (FALSE, FALSE, sizeof (QueueItem));
  g_array_set_clear_func (s->queue, item_clear);

  /* SQLite would create the file 0644 less the umask, and its -wal and
   * -shm files with the same mode as the database: create it 0600 first.
   * An existing file keeps its mode; any failure here is SQLite's to
   * report. */
  {
    int fd = g_open (s->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd >= 0)
      close (fd);
  }
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
  /* From here on writes happen on the main loop: a lock held elsewhere
   * must fail the flush at once (the runner retries it on a timer), not
   * stall SIP and XMPP for the second the schema check above may wait. */
  sqlite3_busy_timeout (s->db, 0);

  if (!prepare (s, "BEGIN IMMEDIATE", keep, &s->begin, error)
      || !prepare (s, "COMMIT", keep, &s->commit, error)
      || !prepare (s, "ROLLBACK", keep, &s->rollback, error)
      || !prepare (s, "INSERT OR REPLACE INTO records (kind, a, b, dialog, c, deadline)"
                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6)", keep, &s->insert, error)
      || !prepare (s, "DELETE FROM records WHERE kind = ?1 AND a = ?2 AND b = ?3 AND dialog = ?4",
                   keep, &s->delete, error)
      || !prepare (s, "SELECT kind, a, b, dialog, c, deadline FROM records"
                   " ORDER BY kind, a, b, dialog", keep, &s->select, error)
      || !prepare (s, "SELECT count(*) FROM records", keep, &s->count, error)
      || !prepare (s, "INSERT OR REPLACE INTO sip_dialogs (id, state) VALUES (?1, ?2)", keep,
                   &s->dialog_insert, error)
      || !prepare (s, "DELETE FROM sip_dialogs WHERE id = ?1", keep, &s->dialog_delete, error)
      || !prepare (s, "SELECT id, state FROM sip_dialogs ORDER BY id", keep, &s->dialog_select,
                   error)
      || !prepare (s, "SELECT count(*) FROM sip_dialogs", keep, &s->dialog_count, error))
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
  sqlite3_finalize (s->dialog_insert);
  sqlite3_finalize (s->dialog_delete);
  sqlite3_finalize (s->dialog_select);
  sqlite3_finalize (s->dialog_count);
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
  QueueItem item = { 0 };

  g_return_if_fail (s != NULL);
  g_return_if_fail (r != NULL);
  g_return_if_fail (kind_valid (r->kind));
  g_return_if_fail (r->xmpp_jid != NULL && g_utf8_validate (r->xmpp_jid, -1, NULL));
  g_return_if_fail (r->sip_jid != NULL && g_utf8_validate (r->sip_jid, -1, NULL));
  g_return_if_fail (r->dialog <= (StoxToken) G_MAXINT64);
  /* A removal needs the key only. */
  g_return_if_fail (r->remove
                    || record_shape_valid (r->kind, (gint64) r->dialog, r->entity));
  g_return_if_fail (r->entity == NULL || g_utf8_validate (r->entity, -1, NULL));

  item.r.kind = r->kind;
  item.r.remove = r->remove;
  item.r.xmpp_jid = g_strdup (r->xmpp_jid);
  item.r.sip_jid = g_strdup (r->sip_jid);
  item.r.dialog = r->dialog;
  item.r.entity = r->remove ? NULL : g_strdup (r->entity);
  item.r.deadline = r->deadline;
  g_array_append_val (s->queue, item);
}

void
stox_store_queue_dialog (StoxStore  *s,
                         StoxToken   id,
                         const char *state)
{
  QueueItem item = { 0 };

  g_return_if_fail (s != NULL);
  g_return_if_fail (id > 0 && id <= (StoxToken) G_MAXINT64);
  g_return_if_fail (state == NULL || g_utf8_validate (state, -1, NULL));

  item.is_dialog = TRUE;
  item.id = id;
  item.state = g_strdup (state);
  g_array_append_val (s->queue, item);
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
      const QueueItem *item = &g_array_index (s->queue, QueueItem, i);
      sqlite3_stmt *stmt;
      int rc;

      /* SQLITE_STATIC: the strings outlive the step (the queue owns them). */
      if (item->is_dialog)
        {
          stmt = item->state == NULL ? s->dialog_delete : s->dialog_insert;
          rc = sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) item->id);
          if (rc == SQLITE_OK && item->state != NULL)
            rc = sqlite3_bind_text (stmt, 2, item->state, -1, SQLITE_STATIC);
        }
      else
        {
          const StoxStoreRecord *r = &item->r;

          stmt = r->remove ? s->delete : s->insert;
          rc = sqlite3_bind_int (stmt, 1, (int) r->kind);
          if (rc == SQLITE_OK)
            rc = sqlite3_bind_text (stmt, 2, record_a (r), -1, SQLITE_STATIC);
          if (rc == SQLITE_OK)
            rc = sqlite3_bind_text (stmt, 3, record_b (r), -1, SQLITE_STATIC);
          if (rc == SQLITE_OK)
            rc = sqlite3_bind_int64 (stmt, 4, (sqlite3_int64) r->dialog);
          if (rc == SQLITE_OK && !r->remove)
            rc = r->entity != NULL ? sqlite3_bind_text (stmt, 5, r->entity, -1, SQLITE_STATIC)
                                   : sqlite3_bind_null (stmt, 5);
          if (rc == SQLITE_OK && !r->remove)
            rc = sqlite3_bind_int64 (stmt, 6, deadline_to_wall (r->deadline));
        }
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

/* The end of a SELECT loop: a step that stopped on an error (not on the
 * last row, nor on a row the caller refused) is a read error. */
static gboolean
select_done (StoxStore *s, sqlite3_stmt *stmt, gboolean ok, int rc, GError **error)
{
  if (ok && rc != SQLITE_DONE)
    {
      set_sqlite_error (s, error, rc, "cannot read");
      ok = FALSE;
    }
  sqlite3_reset (stmt);
  return ok;
}

static gsize
count_rows (sqlite3_stmt *stmt)
{
  gsize n = 0;

  if (sqlite3_step (stmt) == SQLITE_ROW)
    n = (gsize) sqlite3_column_int64 (stmt, 0);
  sqlite3_reset (stmt);
  return n;
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
      int c_type = sqlite3_column_type (s->select, 4);
      gboolean typed = sqlite3_column_type (s->select, 0) == SQLITE_INTEGER
                       && sqlite3_column_type (s->select, 1) == SQLITE_TEXT
                       && sqlite3_column_type (s->select, 2) == SQLITE_TEXT
                       && sqlite3_column_type (s->select, 3) == SQLITE_INTEGER
                       && (c_type == SQLITE_TEXT || c_type == SQLITE_NULL)
                       && sqlite3_column_type (s->select, 5) == SQLITE_INTEGER;
      sqlite3_int64 kind = sqlite3_column_int64 (s->select, 0);
      const char *a = (const char *) sqlite3_column_text (s->select, 1);
      int a_len = sqlite3_column_bytes (s->select, 1);
      const char *b = (const char *) sqlite3_column_text (s->select, 2);
      int b_len = sqlite3_column_bytes (s->select, 2);
      sqlite3_int64 dialog = sqlite3_column_int64 (s->select, 3);
      const char *c = (const char *) sqlite3_column_text (s->select, 4);
      int c_len = sqlite3_column_bytes (s->select, 4);
      sqlite3_int64 deadline = sqlite3_column_int64 (s->select, 5);
      g_autofree char *a_copy = NULL;
      g_autofree char *b_copy = NULL;
      g_autofree char *c_copy = NULL;
      StoxStoreRecord r;

      /* The file is outside input like any other: only rows we could have
       * written are handed to the core. */
      if (!typed || !kind_valid (kind) || a == NULL || b == NULL
          || strlen (a) != (gsize) a_len || strlen (b) != (gsize) b_len
          || !g_utf8_validate (a, a_len, NULL) || !g_utf8_validate (b, b_len, NULL)
          || !record_shape_valid (kind, dialog, c)
          || (c != NULL && (strlen (c) != (gsize) c_len || !g_utf8_validate (c, c_len, NULL)))
          || (kind == STOX_STORE_WATCH && deadline <= 0))
        {
          g_set_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_CORRUPT,
                       "%s: a row of the records table is not a valid record (kind %" G_GINT64_FORMAT ")",
                       s->path, (gint64) kind);
          ok = FALSE;
          break;
        }

      a_copy = g_strndup (a, a_len);
      b_copy = g_strndup (b, b_len);
      c_copy = c != NULL ? g_strndup (c, c_len) : NULL;
      r.kind = (StoxStoreKind) kind;
      r.remove = FALSE;
      r.xmpp_jid = r.kind == STOX_STORE_FOLLOW ? a_copy : b_copy;
      r.sip_jid = r.kind == STOX_STORE_FOLLOW ? b_copy : a_copy;
      r.dialog = (StoxToken) dialog;
      r.entity = c_copy;
      r.deadline = deadline_from_wall (deadline);
      each (&r, user_data);
    }
  return select_done (s, s->select, ok, rc, error);
}

gsize
stox_store_count (StoxStore *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return count_rows (s->count);
}

gboolean
stox_store_load_dialogs (StoxStore *s,
                         void (*each) (StoxToken id, const char *state, gpointer user_data),
                         gpointer   user_data,
                         GError   **error)
{
  gboolean ok = TRUE;
  int rc;

  g_return_val_if_fail (s != NULL, FALSE);
  g_return_val_if_fail (each != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  while ((rc = sqlite3_step (s->dialog_select)) == SQLITE_ROW)
    {
      gboolean typed = sqlite3_column_type (s->dialog_select, 0) == SQLITE_INTEGER
                       && sqlite3_column_type (s->dialog_select, 1) == SQLITE_TEXT;
      sqlite3_int64 id = sqlite3_column_int64 (s->dialog_select, 0);
      const char *state = (const char *) sqlite3_column_text (s->dialog_select, 1);
      int len = sqlite3_column_bytes (s->dialog_select, 1);
      g_autofree char *copy = NULL;

      if (!typed || id <= 0 || state == NULL || strlen (state) != (gsize) len
          || !g_utf8_validate (state, len, NULL))
        {
          g_set_error (error, STOX_STORE_ERROR, STOX_STORE_ERROR_CORRUPT,
                       "%s: a row of the sip_dialogs table is not a valid dialog (id %"
                       G_GINT64_FORMAT ")", s->path, (gint64) id);
          ok = FALSE;
          break;
        }
      copy = g_strndup (state, len);
      each ((StoxToken) id, copy, user_data);
    }
  return select_done (s, s->dialog_select, ok, rc, error);
}

gsize
stox_store_count_dialogs (StoxStore *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return count_rows (s->dialog_count);
}
