/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Start-up: what an earlier stoxd stored goes back into the SIP front end
 * and the core, before the loop runs.
 *
 * A SIP watcher's dialog is kept in two halves, the front end's wire state
 * (sip_dialogs) and the core's WATCH record; only a dialog whose two halves
 * both come back is restored.  A half without the other (the process died
 * between the two writes, or a state the front end cannot read) is
 * deleted, so the watcher's next refresh gets 481 and it subscribes anew
 * (RFC 6665 §4.1.2.2) instead of waiting on a dialog that cannot work.
 */
#pragma once

#include "daemon/runner.h"
#include "daemon/store.h"
#include "sip/endpoint.h"

G_BEGIN_DECLS

typedef struct
{
  gsize records;     /* core records handed to the core */
  gsize dialogs;     /* watcher dialogs restored whole */
  gsize dropped;     /* halves deleted (see above) */
} StoxRestoreCounts;

/* FALSE when the store cannot be read (STOX_STORE_ERROR_*); what was
 * dropped is queued for deletion in the store. */
gboolean stox_restore (StoxStore         *store,
                       StoxSipEndpoint   *sip,
                       StoxRunner        *runner,
                       StoxRestoreCounts *ret_counts,
                       GError           **error);

G_END_DECLS
