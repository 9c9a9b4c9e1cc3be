/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Percent-encoding of SIP URI parts (RFC 3986 §2.1, RFC 3261 §25.1), for
 * the address files.  Errors are STOX_ADDRESS_ERROR_MALFORMED, naming
 * `what`.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* s[0..len) with its %hh escapes decoded; NULL for a bad escape, a NUL
 * or a result that is not UTF-8. */
char *stox_percent_decode (const char  *s,
                           gsize        len,
                           const char  *what,
                           GError     **error);

/* Appends s, every byte neither alphanumeric nor in `keep` as %HH. */
void stox_percent_append (GString    *out,
                          const char *s,
                          const char *keep);

/* FALSE when s[0..len) holds a raw character outside alphanumerics,
 * `allowed`, "%" and non-ASCII bytes. */
gboolean stox_percent_check_raw (const char  *s,
                                 gsize        len,
                                 const char  *allowed,
                                 const char  *what,
                                 GError     **error);

G_END_DECLS
