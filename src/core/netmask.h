/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * [sip] trusted-peers (INTERFACE.md §2): a list of addresses or CIDR
 * prefixes, matched against a request's source address.  Pure.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define STOX_NETMASK_ERROR (stox_netmask_error_quark ())
GQuark stox_netmask_error_quark (void);

typedef struct _StoxNetmaskList StoxNetmaskList;

/* Parses "127.0.0.1/32", "::1", "10.0.0.0/8"; NULL on the first bad entry,
 * with `error` naming it. */
StoxNetmaskList *stox_netmask_list_new (const char *const *entries, GError **error);
void             stox_netmask_list_free (StoxNetmaskList *list);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxNetmaskList, stox_netmask_list_free)

/* TRUE when `address` (text, v4 or v6; an IPv4-mapped IPv6 address counts
 * as its IPv4 address) is inside one of the prefixes. */
gboolean stox_netmask_list_contains (const StoxNetmaskList *list, const char *address);

G_END_DECLS
