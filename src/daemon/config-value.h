/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The syntax of stox.conf's values (stox.conf(5) SYNTAX): blanks, decimal
 * numbers, domains, hosts, SIP URIs.  Each parser says why a value is not
 * one, in words the checker puts after "[group] key:".
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean stox_config_value_is_blank (char ch);

/* `len` bytes from `start` without the blanks (space, tab) around them. */
char    *stox_config_value_strip (const char *start, gsize len);

/* A hint for a value that fails a check and looks like it carries a
 * trailing comment ("" otherwise): GKeyFile has none. */
const char *stox_config_value_comment_hint (const char *value);

typedef enum
{
  STOX_CONFIG_UINT_OK,
  STOX_CONFIG_UINT_NOT_A_NUMBER,
  STOX_CONFIG_UINT_OUT_OF_RANGE,
} StoxConfigUint;

/* Decimal digits only (no sign, no blanks, no trailing junk), min..max. */
StoxConfigUint stox_config_value_uint (const char *text, guint min, guint max,
                                       guint *ret_value);

/* A domain as both sides write it, lower-cased; NULL with `ret_why`. */
char    *stox_config_value_domain (const char *value, const char **ret_why);

/* An IP address (brackets around IPv6 allowed) or a host name, without
 * brackets and lower-cased; NULL with `ret_why`. */
char    *stox_config_value_host (const char *value, const char **ret_why);

/* ADDRESS:PORT with a numeric address — IPv4, or IPv6 in brackets — or
 * localhost (taken as 127.0.0.1), and a port 1–65535.  A host name is
 * refused: what it resolves to could be any address.  The address comes
 * back without brackets; NULL with `ret_why`. */
char    *stox_config_value_address_port (const char *value, guint16 *ret_port,
                                         const char **ret_why);

/* sip: or sips: with a host and no blanks; FALSE with `ret_why`. */
gboolean stox_config_value_sip_uri (const char *value, const char **ret_why);

G_END_DECLS
