/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rule files (INTERFACE.md §2, stox-rules(5)): line-oriented UTF-8 text, one
 * table row per line, '#' starts a comment line.  The core parses text it is
 * given; reading files is the daemon's job.  Diagnostics are "FILE:LINE: why".
 *
 * Grammar, one row per line, fields separated by blanks:
 *
 *   xmpp-to-sip  <condition>  <code>       RFC 7247 §7.1 Table 2
 *   sip-to-xmpp  <code|Nxx>   <condition>  RFC 7247 §7.2 Table 3 (Nxx = class)
 *   error-type   <condition>  <type>       RFC 6120 §8.3.3 (rfc-mappings §1.10)
 *   message-type <normal|chat>             type on SIP→XMPP <message> (RFC 7572 §5)
 *
 * Later rows override earlier ones (files are read in name order), so an
 * operator's file placed after the shipped one changes single rows.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define STOX_RULES_ERROR (stox_rules_error_quark ())
GQuark stox_rules_error_quark (void);

typedef enum
{
  STOX_RULES_ERROR_SYNTAX,     /* message is "FILE:LINE: why" */
  STOX_RULES_ERROR_INCOMPLETE, /* a table the gateway needs is missing rows */
} StoxRulesError;

typedef struct _StoxRules StoxRules;

StoxRules *stox_rules_new (void);
void       stox_rules_free (StoxRules *rules);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxRules, stox_rules_free)

/* Adds the rows of one file.  On error nothing of this file is kept. */
gboolean stox_rules_parse (StoxRules  *rules,
                           const char *filename,
                           const char *text,
                           gsize       length,
                           GError    **error);

/* Checks that every table the gateway relies on is usable (each of the
 * RFC 6120 conditions has an error-type, the four class fallbacks 3xx–6xx
 * exist).  Call after the last file. */
gboolean stox_rules_validate (const StoxRules *rules, GError **error);

/* Lookups, RFC 7247 §7 (rfc-mappings.md §1.8–1.10). */

/* SIP status → stanza error condition: the exact row, else the class row
 * (Nxx), else "undefined-condition".  Never NULL for 300–699. */
const char *stox_rules_sip_to_condition (const StoxRules *rules, guint status);

/* Stanza error condition → SIP status; an unknown condition maps like
 * <undefined-condition/>; 0 only if even that row is missing. */
guint stox_rules_condition_to_sip (const StoxRules *rules, const char *condition);

/* RFC 6120 error type ("cancel", "modify", …) for a condition; "cancel"
 * for an unknown one. */
const char *stox_rules_error_type (const StoxRules *rules, const char *condition);

/* "normal" (default, RFC 7572 §5) or "chat" when a rule opts in. */
const char *stox_rules_message_type (const StoxRules *rules);

/* Number of rows loaded (for logs: "rules reloaded: 96 rows"). */
guint stox_rules_count (const StoxRules *rules);

G_END_DECLS
