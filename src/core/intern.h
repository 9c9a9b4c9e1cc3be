/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Interned strings: one counted copy of a string that many records name
 * (the XMPP user that many SIP users watch, the proxy every watcher comes
 * through), freed with its last reference.  Each carries a count of its
 * own beside the references, for what is counted per name (the limits of
 * watch-limits.h).  Pure: no I/O.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _StoxIntern StoxIntern;

StoxIntern *stox_intern_new (void);
/* Frees every name, referenced or not. */
void        stox_intern_free (StoxIntern *in);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxIntern, stox_intern_free)

/* The interned copy of `s` with one more reference (made at the first);
 * NULL for NULL.  It stays valid until its last stox_intern_unref(). */
const char *stox_intern_ref (StoxIntern *in, const char *s);
/* One reference fewer to `name` (from stox_intern_ref(); NULL:
 * nothing); the last frees it. */
void        stox_intern_unref (StoxIntern *in, const char *name);
/* The interned copy of `s`, no reference taken, or NULL when none. */
const char *stox_intern_lookup (StoxIntern *in, const char *s);

/* The count of interned `name` (NULL: 0), and a change of it. */
guint stox_intern_count (const char *name);
void  stox_intern_count_add (const char *name, gint delta);

G_END_DECLS
