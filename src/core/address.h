/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Address mapping, RFC 7247 §6 (docs/mappings.md §1.2–1.6) with XEP-0106
 * escaping (docs/mappings.md §6).  Pure: strings in, strings or GError out.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define STOX_ADDRESS_ERROR (stox_address_error_quark ())
GQuark stox_address_error_quark (void);

typedef enum
{
  STOX_ADDRESS_ERROR_MALFORMED,   /* cannot be mapped: 400 / <jid-malformed/> */
  STOX_ADDRESS_ERROR_SIPS,        /* sips: target, RFC 7247 §8: 416 */
  STOX_ADDRESS_ERROR_SCHEME,      /* neither sip: nor sips: (tel:, im:, …): 416 */
} StoxAddressError;

/* Longest localpart / domainpart / resourcepart in octets (RFC 7622 §3). */
#define STOX_JID_PART_MAX 1023

/* A parsed SIP URI, only the parts the mapping needs.  `user` is the user
 * part percent-DECODED (valid UTF-8, possibly empty), `host` is lower-cased
 * (IPv6 references keep their brackets), `port` is 0 when absent, `gr` is
 * the decoded value of a `;gr=` parameter or NULL. */
typedef struct
{
  gboolean sips;
  char    *user;
  char    *host;
  guint16  port;
  char    *gr;
} StoxSipUri;

void stox_sip_uri_free (StoxSipUri *uri);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxSipUri, stox_sip_uri_free)

/* Parses "sip:user@host[:port][;params][?headers]" (also "sips:" — the
 * caller decides to refuse it; `sips` tells).  Any other scheme fails with
 * STOX_ADDRESS_ERROR_SCHEME; bad escapes, invalid UTF-8 after decoding, or a
 * missing host fail with STOX_ADDRESS_ERROR_MALFORMED.  So do a decoded
 * control character in the user part or `gr`, a raw character RFC 3261
 * §25.1 wants escaped there (`" # < > [ \ ] …`; raw UTF-8 is tolerated),
 * a bad port and a repeated `;gr=`.  A valueless `;gr` leaves `gr` NULL. */
StoxSipUri *stox_sip_uri_parse (const char *text, GError **error);

/* A parsed JID; parts are as given (no escaping undone). `local` and
 * `resource` may be NULL. */
typedef struct
{
  char *local;
  char *domain;
  char *resource;
} StoxJid;

void     stox_jid_free (StoxJid *jid);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxJid, stox_jid_free)
StoxJid *stox_jid_parse (const char *text, GError **error);

/* RFC 7247 §6.4 steps 4–6 + XEP-0106: a decoded SIP user part to a JID
 * localpart: escape the XEP-0106 set (and a `\` that would read as an
 * escape as \5c), lower-case (PRECIS UsernameCaseMapped), NFC.  Empty,
 * over-long, control characters, a leading/trailing space: MALFORMED.
 * (The case mapping runs before the escaping; see address.c for why.) */
char *stox_address_user_to_jid_local (const char *user, GError **error);

/* RFC 7247 §6.5 steps 2–5: a JID localpart (escaped form) to a SIP user
 * part, percent-encoded for a sip: URI (`# % [ \ ] ^ { | }`, backtick, space,
 * `" < > @ :` and every non-ASCII byte).  The unescaped localpart is
 * case-mapped first (RFC 7622 §3.3.1: "ALICE" and "alice" are one JID), as
 * stox_address_user_to_jid_local() does. */
char *stox_address_jid_local_to_user (const char *local, GError **error);

/* A JID localpart (escaped form) in the one form every table keys it by:
 * unescaped, case-mapped as stox_address_user_to_jid_local() does, and
 * escaped again ("ALICE", "Alice" → "alice"; "John\20Doe" →
 * "john\20doe").  MALFORMED where stox_address_jid_local_to_user() fails. */
char *stox_address_jid_local_fold (const char *local, GError **error);

/* Whole-address helpers used by the gateway. */

/* sip:user@host;gr=x → user-mapped@jid_domain[/x]; a sips: URI fails
 * with STOX_ADDRESS_ERROR_SIPS (RFC 7247 §8). */
char *stox_address_sip_to_jid (const StoxSipUri *uri,
                               const char       *jid_domain,
                               GError          **error);

/* local@domain/res → sip:user@sip_domain[;gr=res], with the resource
 * percent-encoded. */
char *stox_address_jid_to_sip (const StoxJid *jid,
                               const char    *sip_domain,
                               GError       **error);

/* A resourcepart per PRECIS OpaqueString (RFC 8265 §4.2, docs/mappings.md
 * §1.6): non-ASCII spaces to U+0020, NFC, no controls, 1–1023 octets.
 * Every resource the gateway puts in a JID goes through it (a ;gr=
 * parameter, a PIDF tuple id); NULL with STOX_ADDRESS_ERROR otherwise. */
char *stox_resource_prepare (const char *res, GError **error);

/* The XEP-0106 transforms alone (exposed for tests and disco).  Both
 * return NULL for NULL or non-UTF-8 input; escape also for a leading or
 * trailing space, which has no escaped form (\20 may not be first or
 * last).  Neither case-maps. */
char *stox_xep0106_escape (const char *unescaped);
char *stox_xep0106_unescape (const char *escaped);

G_END_DECLS
