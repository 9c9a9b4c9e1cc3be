/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the gateway implements of SIP: its methods and its event packages.
 * One policy, asked by the core (its OPTIONS and 405 answers, its 489) and
 * by the SIP front end (the Allow and Allow-Events headers, and the
 * requests its stack refuses before they reach the core).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The methods, as an Allow header value (RFC 3261 §20.5): every answer
 * carries it; another method gets 405, or 501 when SIP does not define
 * it (RFC 3261 §8.2.1). */
const char *stox_sip_allowed_methods (void);

/* The event packages served, as an Allow-Events header value (RFC 6665
 * §8.2.2). */
const char *stox_sip_allowed_events (void);

/* Whether `package` (an Event header's type, without parameters) is one
 * of them; packages compare case-sensitively (RFC 6665 §8.2.1).  An
 * initial SUBSCRIBE for another gets 489 Bad Event with Allow-Events. */
gboolean    stox_sip_event_allowed (const char *package);

G_END_DECLS
