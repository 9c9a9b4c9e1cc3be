/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "daemon/restore.h"

#include "core/watch.h"

typedef struct
{
  StoxStore         *store;
  StoxSipEndpoint   *sip;
  StoxRunner        *runner;
  GHashTable        *unclaimed;   /* &id → id: front-end dialogs restored */
  StoxRestoreCounts  counts;
} Restore;

static void
restore_dialog (StoxToken id, const char *state, gpointer user_data)
{
  Restore *r = user_data;
  g_autoptr (GError) error = NULL;

  if (!stox_sip_endpoint_restore_dialog (r->sip, id, state, &error))
    {
      g_warning ("state: SIP dialog %" G_GUINT64_FORMAT " not restored: %s", id,
                 error->message);
      stox_store_queue_dialog (r->store, id, NULL);
      r->counts.dropped++;
      return;
    }
  g_hash_table_add (r->unclaimed, g_memdup2 (&id, sizeof id));
}

static void
restore_record (const StoxStoreRecord *record, gpointer user_data)
{
  Restore *r = user_data;

  if (record->kind == STOX_STORE_WATCH)
    {
      const char *why = NULL;

      /* Expired while the gateway was down: the watcher has given up on
       * it; its SIP half stays unclaimed and goes too. */
      if (stox_watch_record_expired (record, g_get_monotonic_time ()))
        why = "expired while stoxd was down";
      else if (!g_hash_table_remove (r->unclaimed, &record->dialog))
        why = "has no SIP half";
      if (why != NULL)
        {
          StoxStoreRecord gone = *record;

          g_info ("state: watcher dialog %" G_GUINT64_FORMAT " (%s on %s) %s; dropped",
                  record->dialog, record->sip_jid, record->xmpp_jid, why);
          gone.remove = TRUE;
          stox_store_queue (r->store, &gone);
          r->counts.dropped++;
          return;
        }
      r->counts.dialogs++;
    }
  r->counts.records++;
  stox_runner_restore (record, r->runner);
}

gboolean
stox_restore (StoxStore         *store,
              StoxSipEndpoint   *sip,
              StoxRunner        *runner,
              StoxRestoreCounts *ret_counts,
              GError           **error)
{
  g_autoptr (GHashTable) unclaimed = g_hash_table_new_full (g_int64_hash, g_int64_equal,
                                                            g_free, NULL);
  Restore r = { store, sip, runner, unclaimed, { 0 } };
  GHashTableIter iter;
  gpointer key;

  if (!stox_store_load_dialogs (store, restore_dialog, &r, error) ||
      !stox_store_load (store, restore_record, &r, error))
    return FALSE;

  /* Front-end halves no WATCH record claimed. */
  g_hash_table_iter_init (&iter, unclaimed);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      StoxToken id = *(StoxToken *) key;

      g_info ("state: SIP dialog %" G_GUINT64_FORMAT " has no watcher; dropped", id);
      stox_sip_endpoint_forget_dialog (sip, id);
      stox_store_queue_dialog (store, id, NULL);
      r.counts.dropped++;
    }
  if (ret_counts != NULL)
    *ret_counts = r.counts;
  return TRUE;
}
