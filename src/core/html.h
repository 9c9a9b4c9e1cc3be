/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * text/html → text (docs/mappings.md §3.4, docs/mappings.md §3): what a reader
 * of an HTML instant message sees, as plain text for an XMPP <body/>.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The text content of `html` (NUL-terminated UTF-8, as stox_text_to_utf8()
 * makes it): tags removed, entities decoded, scripts and styles dropped,
 * block elements and <br> as line breaks, white space collapsed outside
 * <pre>, an <img>'s alt text kept.  No DTD, no network.  NULL with
 * STOX_MESSAGE_ERROR_MALFORMED when libxml2 cannot parse it or it nests too
 * deeply to be read whole, or STOX_MESSAGE_ERROR_BAD_ENCODING when its
 * character references name a character XML cannot carry. */
char *stox_html_to_text (const char *html, GError **error);

G_END_DECLS
