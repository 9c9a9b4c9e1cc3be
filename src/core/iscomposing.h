/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * application/im-iscomposing+xml (RFC 3994) ↔ XEP-0085 chat states
 * (docs/mappings.md §4, docs/mappings.md §3).
 */
#pragma once

#include "types.h"

G_BEGIN_DECLS

#define STOX_ISCOMPOSING_CONTENT_TYPE "application/im-iscomposing+xml"

/* An isComposing document's state: `active` → COMPOSING, `idle` → PAUSED.
 * FALSE with STOX_MESSAGE_ERROR_TOO_LARGE over 16 KiB, or
 * STOX_MESSAGE_ERROR_MALFORMED for an empty document, one that is not
 * well-formed or carries a DTD, or lacks a known <state>. */
gboolean stox_iscomposing_parse (const guint8  *data,
                                 gsize          len,
                                 StoxChatState *ret_state,
                                 GError       **error);

/* RFC 3994 isComposing document for `active` (TRUE) or `idle` (FALSE),
 * with a <refresh> of `refresh_s` seconds when non-zero. */
char *stox_iscomposing_build (gboolean active, guint refresh_s);

G_END_DECLS
