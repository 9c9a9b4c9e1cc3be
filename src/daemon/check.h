/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stoxd --check-config (stoxd(8)): every problem a start would meet, found
 * without starting.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Checks the configuration file and its secret-file, the TLS pair, every
 * rule file, the state directory (created if it is missing, as a start
 * would create it, then written to) and the SIP port (a bind test on the
 * listen address, released at once; skipped under "systemctl reload",
 * where the running stoxd holds it).  Prints each problem on stderr, each
 * warning (what is exposed, a port in use) as "warning: ..." on stderr,
 * and "FILE: OK ..." on stdout when there is no problem.  TRUE when there
 * is none. */
gboolean stox_check_config (const char *path);

G_END_DECLS
