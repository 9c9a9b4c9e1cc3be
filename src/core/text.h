/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Text from peers: which characters XML can carry, and a body in its
 * charset turned into checked UTF-8 (docs/mappings.md §3.5).  The one place
 * that decides what is XML character data: the message decoders, the PIDF
 * writer and the XMPP front end all ask here.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* XML 1.0 §2.2 Char (also RFC 6120 §11.1): tab, LF, CR, U+0020–U+D7FF,
 * U+E000–U+FFFD and U+10000–U+10FFFF.  No escape exists for the others:
 * written into a stanza they make the server close the component stream. */
gboolean stox_text_is_xml_char (gunichar c);

/* TRUE when `text` is NULL (absent), or valid UTF-8 made only of XML
 * characters. */
gboolean stox_text_is_xml (const char *text);

/* `len` bytes of valid UTF-8 (NUL bytes included) checked as XML
 * character data: FALSE with STOX_MESSAGE_ERROR_BAD_ENCODING ("WHAT: NUL
 * character at byte N", "WHAT: character U+XXXX at byte N cannot be
 * carried in XML") at the first character that is no XML Char. */
gboolean stox_text_check_xml (const char *what,
                              const char *text,
                              gsize       len,
                              GError    **error);

/* `data` in `charset` (NULL: UTF-8, the SIP default of docs/mappings.md
 * §3.5) → NUL-terminated UTF-8 without a leading BOM, checked with
 * stox_text_check_xml().  A UTF-16 or UTF-32 body without a BOM is
 * big-endian (RFC 2781 §4.3).  STOX_MESSAGE_ERROR_BAD_ENCODING, its message
 * starting with `what`, for an unknown or ill-formed charset name, bytes
 * invalid in the charset, or text XML cannot carry. */
char *stox_text_to_utf8 (const char   *what,
                         const char   *charset,
                         const guint8 *data,
                         gsize         len,
                         GError      **error);

/* Peer text quoted in an error message, which may end up in a SIP Warning
 * header: at most 64 bytes, valid UTF-8, control characters as '?'. */
char *stox_text_printable (const char *text);

G_END_DECLS
