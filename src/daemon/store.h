/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The gateway's persistent state (docs/architecture.md, Persistence): an embedded
 * SQLite database, `[gateway] state-dir`/stox.db, holding the core's
 * StoxStoreRecords and the SIP front end's states of the watcher dialogs
 * kept across a crash.  The daemon queues every STOX_ACTION_STORE it
 * receives and flushes from a low-priority idle source, so a burst of events
 * costs one transaction; at start-up it loads every record back into the
 * core.  Single-threaded: one StoxStore per process, used from the main loop.
 */
#pragma once

#include <glib.h>

#include "core/types.h"

G_BEGIN_DECLS

#define STOX_STORE_ERROR (stox_store_error_quark ())
GQuark stox_store_error_quark (void);

typedef enum
{
  STOX_STORE_ERROR_IO,       /* the directory or file cannot be created or opened */
  STOX_STORE_ERROR_CORRUPT,  /* not a SQLite database, or not a stox one, or bad rows */
  STOX_STORE_ERROR_VERSION,  /* written by a newer stoxd (schema_version > ours) */
  STOX_STORE_ERROR_FAILED,   /* any other SQLite failure (disk full, locked, …) */
} StoxStoreError;

/* The schema this build reads and writes (meta.schema_version). */
#define STOX_STORE_SCHEMA_VERSION 2

/* The file name inside the state directory. */
#define STOX_STORE_FILE "stox.db"

typedef struct _StoxStore StoxStore;

/* Creates `state_dir` (mode 0700, with parents) if it is missing and opens
 * or creates `state_dir`/stox.db (mode 0600, as are its -wal and -shm
 * files; WAL journal, synchronous=NORMAL).  Every
 * error message starts with the path concerned and carries SQLite's own
 * text; the daemon reports it against `[gateway] state-dir` and exits 78. */
StoxStore *stox_store_open (const char *state_dir,
                            GError    **error);

/* For --check-config, without opening the database: creates `state_dir`
 * as stox_store_open() would if it is missing, proves that a file can be
 * created in it, and that stox.db, when present, can be read and written
 * and starts like an SQLite database.  Errors as stox_store_open()'s. */
gboolean stox_store_check_dir (const char *state_dir,
                               GError    **error);

/* Frees the store: finalizes its statements and closes the database.
 * Records still queued are dropped — call stox_store_flush() first.
 * NULL-safe. */
void stox_store_free (StoxStore *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxStore, stox_store_free)

/* The full path of the database file (for log messages). */
const char *stox_store_path (StoxStore *s);

/* Queues `r` (copied): insert-or-replace, or delete (by kind, the two
 * users and dialog) when r->remove.  Nothing is written until
 * stox_store_flush().  The strings must be NUL-terminated UTF-8; only
 * WATCH records carry a dialog (> 0), an entity and a deadline (see
 * StoxStoreRecord). */
void stox_store_queue (StoxStore             *s,
                       const StoxStoreRecord *r);

/* Records queued and not yet written. */
gsize stox_store_pending (StoxStore *s);

/* Writes everything queued, in queue order, in ONE transaction.  On
 * failure the transaction is rolled back, the queue is kept (a later flush
 * retries it) and FALSE is returned.  TRUE at once when nothing is queued. */
gboolean stox_store_flush (StoxStore *s,
                           GError   **error);

/* Calls `each` for every stored record, in (kind, first user, second user,
 * dialog) order (kind by number, users bytewise; the first user is the
 * XMPP user of a FOLLOW, the SIP user of the other kinds).  The record
 * and its strings are valid during the call only.  `each` may call
 * stox_store_queue() but nothing else on `s`.  A row that is not a valid record (unknown kind, text that is not
 * NUL-free UTF-8) is an error: STOX_STORE_ERROR_CORRUPT, loading stops. */
gboolean stox_store_load (StoxStore *s,
                          void (*each) (const StoxStoreRecord *r, gpointer user_data),
                          gpointer   user_data,
                          GError   **error);

/* Rows in the database (queued records not counted); 0 on a read error. */
gsize stox_store_count (StoxStore *s);

/* Queues the SIP front end's state of server dialog `id` (insert or
 * replace), or its deletion when `state` is NULL; written by the next
 * stox_store_flush(), in order with the records. */
void stox_store_queue_dialog (StoxStore  *s,
                              StoxToken   id,
                              const char *state);

/* Calls `each` for every stored dialog state, by id.  A row that is not
 * (id > 0, NUL-free UTF-8 text) is STOX_STORE_ERROR_CORRUPT. */
gboolean stox_store_load_dialogs (StoxStore *s,
                                  void (*each) (StoxToken id, const char *state,
                                                gpointer user_data),
                                  gpointer   user_data,
                                  GError   **error);

/* Rows in the sip_dialogs table; 0 on a read error. */
gsize stox_store_count_dialogs (StoxStore *s);

G_END_DECLS
