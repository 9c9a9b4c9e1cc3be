/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a valid configuration opens, said plainly: a SIP listener or the
 * metrics listener on a non-loopback address, trusted-peers that let any
 * source in, xmpp-domains '*', the component secret in a file every user
 * can read.
 * Such settings are allowed (stox.conf(5)); the start-up log and
 * --check-config warn about each.
 */
#pragma once

#include <glib.h>

#include "daemon/config.h"

G_BEGIN_DECLS

/* One "FILE: [group] key: what is exposed" line per finding (char *, freed
 * with the array); empty when the gateway is reachable only from this
 * host and forwards only to named domains. */
GPtrArray *stox_exposure_list (const StoxConfig *config);

G_END_DECLS
