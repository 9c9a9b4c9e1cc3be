/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The names and value text forms PIDF reading (pidf-parse.c) and writing
 * (pidf-build.c) share.  Pure: no I/O, no clock.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NS_PIDF "urn:ietf:params:xml:ns:pidf"
#define NS_DM   "urn:ietf:params:xml:ns:pidf:data-model" /* RFC 4479 */
#define NS_RPID "urn:ietf:params:xml:ns:pidf:rpid"       /* RFC 4480 */
/* Pre-RFC drafts, still sent by Asterisk (docs/mappings.md §12). */
#define NS_PERSON_OLD      "urn:ietf:params:xml:ns:pidf:person"
#define NS_RPID_PERSON_OLD "urn:ietf:params:xml:ns:pidf:rpid:rpid-person"
#define NS_RPID_STATUS_OLD "urn:ietf:params:xml:ns:pidf:rpid:status:rpid-status"
/* RFC 8048 §6.2 note 7: <show/> carried verbatim. */
#define NS_JABBER "jabber:client"

#define ID_PREFIX "ID-"
#define PERSON_ID_PREFIX "PID-"

/* RFC 8048 §6.2 note 2: a resource (NULL: none) as an xs:ID after the
 * prefix, and a tuple id back to a resource (NULL for "ID-" alone). */
void  stox_pidf_append_tuple_id (GString *out, const char *resource);
char *stox_pidf_tuple_resource (const char *id);

/* RFC 8048 §6.2 note 6: priority → qvalue (cut), and a qvalue → priority
 * (FALSE: not a qvalue, to be ignored). */
void     stox_pidf_append_qvalue (GString *out, int priority);
gboolean stox_pidf_parse_qvalue (const char *s, int *ret_priority);

/* RFC 3339 §5.6 date-time with its time zone. */
gboolean stox_pidf_is_timestamp (const char *s);

/* Empty or ASCII white space only. */
gboolean stox_pidf_is_blank (const char *s);

G_END_DECLS
