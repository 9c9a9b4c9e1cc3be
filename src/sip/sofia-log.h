/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Sofia-SIP's own logs (the default log, nta and tport) into g_log, whole
 * lines, with the Sofia log's name in the SOFIA_LOG field.  While the stack
 * starts, the last nta/tport line is kept: it says why a start failed
 * ("bind(…): Address already in use"), long after errno was overwritten.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _StoxSofiaLogs StoxSofiaLogs;

/* Redirects the three logs until _restore(); call after su_init(). */
StoxSofiaLogs *stox_sofia_logs_redirect (void);

/* While `keep` is TRUE, the last nta/tport line (without Sofia's "nta: "
 * prefix) is kept for _last_error(). */
void        stox_sofia_logs_keep_error (StoxSofiaLogs *logs,
                                        gboolean       keep);
/* The line kept, or NULL. */
const char *stox_sofia_logs_last_error (StoxSofiaLogs *logs);

/* Gives the logs back to Sofia, emits any partial line, frees `logs`. */
void        stox_sofia_logs_restore (StoxSofiaLogs *logs);

G_END_DECLS
