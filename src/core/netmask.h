/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * [sip] trusted-peers (stox.conf(5)): a list of addresses or CIDR
 * prefixes, matched against a request's source address.  Pure.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define STOX_NETMASK_ERROR (stox_netmask_error_quark ())
GQuark stox_netmask_error_quark (void);

typedef struct _StoxNetmaskList StoxNetmaskList;

/* One trusted-peers entry ("ADDR" or "ADDR/LEN", IPv4 or IPv6) in its
 * canonical form: "ADDR/LEN" with the host bits cleared ("10.1.2.3/8" is
 * "10.0.0.0/8", "::1" is "::1/128", "::ffff:192.0.2.1" is
 * "::ffff:192.0.2.1/128").  NULL with `error` saying why, without quoting
 * the entry.  The only parser of such entries: stox.conf's checker asks it,
 * and stox_netmask_list_new() uses it. */
char *stox_netmask_normalize (const char *entry, GError **error);

/* Parses "127.0.0.1/32", "::1", "10.0.0.0/8"; NULL on the first bad entry,
 * with `error` naming it ("'ENTRY': why"). */
StoxNetmaskList *stox_netmask_list_new (const char *const *entries, GError **error);
void             stox_netmask_list_free (StoxNetmaskList *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxNetmaskList, stox_netmask_list_free)

/* TRUE when `address` (text, v4 or v6; an IPv4-mapped IPv6 address counts
 * as its IPv4 address) is inside one of the prefixes. */
gboolean stox_netmask_list_contains (const StoxNetmaskList *list, const char *address);

G_END_DECLS
