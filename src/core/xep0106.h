/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XEP-0106 JID escaping; stox_xep0106_escape() and _unescape() are
 * declared in address.h.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* XEP-0106 §4 steps 3 and 4, without the leading/trailing space check
 * its callers make. */
char *stox_xep0106_escape_unchecked (const char *s);

G_END_DECLS
