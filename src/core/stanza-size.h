/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * How many bytes a stanza takes on the component stream, as the XMPP
 * front end writes it (src/xmpp/convert.c through libstrophe): the core
 * knows every string of the stanza it builds, and the escaping is fixed,
 * so it can refuse what the XMPP server would not take before anything is
 * queued ([xmpp] max-stanza-size, stox.conf(5)).  Pure.
 */
#pragma once

#include "types.h"

G_BEGIN_DECLS

/* The default of [xmpp] max-stanza-size: half of what Prosody 0.12 takes
 * on a component stream (component_stanza_size_limit, 512 KiB) and of
 * Debian's ejabberd s2s listener (max_stanza_size 524288), equal to
 * Prosody's c2s limit (256 KiB). */
#define STOX_STANZA_SIZE_DEFAULT (256 * 1024)
/* RFC 6120 §13.12: every server takes stanzas of at least 10000 bytes. */
#define STOX_STANZA_SIZE_MIN     10000

/* The element name of a XEP-0085 chat state (§5: "composing", …), or
 * NULL for none or an unknown value: the one table the XMPP front end
 * writes them by and the size is counted by. */
const char *stox_chat_state_element (StoxChatState state);

/* The encoded size in bytes of `st` (RFC 6120 §4.9.3.4 counts the
 * stanza, attributes, children and character data as written).  Exact
 * for every stanza it sends (checked against libstrophe in the tests). */
gsize stox_stanza_encoded_size (const StoxStanza *st);

/* A presence stanza over `max` bytes loses its status texts, which are
 * the only part of it a peer can make large (PIDF notes, RFC 8048 Table
 * 2); TRUE when it fits now. */
gboolean stox_stanza_fit_presence (StoxStanza *st, gsize max);

G_END_DECLS
