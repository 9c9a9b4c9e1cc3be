/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The gateway's answers to IQs (stoxd(8) READINESS): service discovery
 * (XEP-0030) of the component and of its users, XMPP ping (XEP-0199), and
 * service-unavailable for every other get or set (RFC 6120 §8.2.3).
 */
#pragma once

#include "rules.h"
#include "types.h"

G_BEGIN_DECLS

/* Answers `st` (an IQ) for the component `component`.  Results and errors
 * are answered with nothing.  TRUE when the answer is an error (the
 * gateway counts it as refused). */
gboolean stox_iq_on_stanza (const char       *component,
                            const StoxRules  *rules,
                            const StoxStanza *st,
                            GPtrArray        *actions);

G_END_DECLS
