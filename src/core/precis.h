/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PRECIS (RFC 8265) as the address mapping needs it;
 * stox_resource_prepare() is declared in address.h.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* RFC 8265 §3.3.2–3.3.3 without its checks: width mapping, toLowerCase,
 * NFC, independent of the locale.  s must be valid UTF-8. */
char *stox_precis_username_case_map (const char *s);

/* A character no localpart can carry, even escaped. */
gboolean stox_precis_is_unmappable (gunichar c);

G_END_DECLS
