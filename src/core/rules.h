/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rule files (stox.conf(5), stox-rules(5)): line-oriented UTF-8 text, one
 * table row per line naming both of its sides.  The core parses text it is
 * given; reading files is the daemon's job.  Diagnostics are "FILE:LINE: why".
 *
 * Grammar, one row per line, fields separated by blanks (space, tab):
 *
 *   xmpp-to-sip  <condition>  <code>       RFC 7247 §7.1 Table 2
 *   sip-to-xmpp  <code|Nxx>   <condition>  RFC 7247 §7.2 Table 3 (Nxx = class)
 *   error-type   <condition>  <type>       RFC 6120 §8.3.3 (docs/mappings.md §1.10)
 *   message-type <normal|chat>             type on SIP→XMPP <message> (RFC 7572 §5)
 *   rpid-to-show <activity> <result>       PIDF→XMPP, docs/mappings.md §2.9 (no RFC)
 *   show-to-rpid <show> <activity|none>    XMPP→PIDF, docs/mappings.md §2.9 (no RFC)
 *
 *   <condition>  one of the 22 RFC 6120 §8.3.3 names, bare ("bad-request")
 *   <code>       three digits, 300–699 (RFC 7247 §7 maps only 3xx–6xx);
 *                503 is refused in xmpp-to-sip rows (RFC 7247 §7.1 note 5:
 *                it stays the gateway's own "XMPP unreachable")
 *   Nxx          3xx, 4xx, 5xx or 6xx: the row for codes without their own
 *   <type>       auth, cancel, continue, modify or wait (RFC 6120 §8.3.2)
 *   <activity>   an RFC 4480 §3.2 activity element name ("away", "busy",
 *                "on-the-phone", … 26 names), "other" (<rpid:other>text),
 *                or one of the two user-input values of RFC 4480 §3.14
 *                written as "user-input-idle" / "user-input-active";
 *                show-to-rpid takes only the 26 names (an <rpid:other/>
 *                would need text, user-input is not an activity)
 *   <result>     away, chat, dnd, xa (the RFC 6121 §4.7.2.1 <show/>
 *                values), "unavailable" (presence type='unavailable'), or
 *                "none" (no <show/>; the activity's name may become
 *                <status/> text, see pidf.h)
 *   <show>       away, chat, dnd or xa
 *
 * Blank lines are ignored.  '#' as the first non-blank of a line, or at the
 * start of a field, begins a comment that runs to the end of the line (no
 * value contains '#', so "xmpp-to-sip gone 301  # or 410" is unambiguous).
 * Directives and values are case-sensitive.  CRLF line ends and a leading
 * UTF-8 byte-order mark are accepted.  A line is at most 1024 bytes, valid
 * UTF-8, without control characters other than tab.
 *
 * Later rows override earlier ones (files are read in name order; within a
 * file, the later line), so an operator's file placed after the shipped one
 * changes single rows.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define STOX_RULES_ERROR (stox_rules_error_quark ())
GQuark stox_rules_error_quark (void);

typedef enum
{
  STOX_RULES_ERROR_SYNTAX,     /* message: one "FILE:LINE: why" line per
                                * fault, first fault first; after 10, one
                                * "FILE: N more errors" line */
  STOX_RULES_ERROR_INCOMPLETE, /* a table the gateway needs is missing rows */
} StoxRulesError;

typedef struct _StoxRules StoxRules;

StoxRules *stox_rules_new (void);
void       stox_rules_free (StoxRules *rules);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxRules, stox_rules_free)

/* Adds the rows of one file (`length` bytes of `text`, which need not be
 * NUL-terminated; `filename` is only used in diagnostics).  On error nothing
 * of this file is kept and the earlier rows stay in force. */
gboolean stox_rules_parse (StoxRules  *rules,
                           const char *filename,
                           const char *text,
                           gsize       length,
                           GError    **error);

/* Checks that every table the gateway relies on is usable: each of the 22
 * RFC 6120 conditions has an error-type and an xmpp-to-sip row, and the four
 * class fallbacks 3xx–6xx exist (STOX_RULES_ERROR_INCOMPLETE naming what is
 * missing).  Call after the last file.  The RPID rows are optional:
 * without them PIDF maps by RFC 8048 Tables 1 and 2 alone. */
gboolean stox_rules_validate (const StoxRules *rules, GError **error);

/* One rule file as it was read: its name (for the order and the
 * diagnostics) and `length` bytes of `text`, which need not be
 * NUL-terminated. */
typedef struct
{
  const char *name;
  const char *text;
  gsize       length;
} StoxRulesFile;

/* The rule set of a rules directory, from its files as the caller read
 * them: each parsed with stox_rules_parse() in name order (strcmp, whatever
 * order `files` has), so that a later file overrides single rows, then
 * checked with stox_rules_validate().  NULL on the first file that does not
 * parse (STOX_RULES_ERROR_SYNTAX, "NAME:LINE: why" lines), or when the set
 * is incomplete (STOX_RULES_ERROR_INCOMPLETE, prefixed with "`origin`: ",
 * the directory).  Reading the directory is the caller's: the core does no
 * I/O. */
StoxRules *stox_rules_build (const char          *origin,
                             const StoxRulesFile *files,
                             gsize                n_files,
                             GError             **error);

/* Lookups, RFC 7247 §7 (docs/mappings.md §1.8–1.10). */

/* SIP status → stanza error condition: the exact row, else the class row
 * (Nxx), else "undefined-condition" (also for a status outside 300–699).
 * Never NULL; the string is static. */
const char *stox_rules_sip_to_condition (const StoxRules *rules, guint status);

/* Stanza error condition → SIP status; an unknown condition maps like
 * <undefined-condition/>; 0 only if even that row is missing. */
guint stox_rules_condition_to_sip (const StoxRules *rules, const char *condition);

/* RFC 6120 error type ("cancel", "modify", …) for a condition; "cancel"
 * for an unknown one. */
const char *stox_rules_error_type (const StoxRules *rules, const char *condition);

/* The defined conditions of RFC 6120 §8.3.3 by position, in its order
 * (STOX_STATS_XMPP_CONDITIONS of them, stats.h): the name at `index`
 * (static; NULL past the end), and the position of `condition` — that of
 * "undefined-condition" for NULL or a name that is not one of them, as an
 * unknown condition maps like it. */
const char *stox_xmpp_condition_name (guint index);
guint       stox_xmpp_condition_index (const char *condition);

/* "normal" (default, RFC 7572 §5) or "chat" when a rule opts in. */
const char *stox_rules_message_type (const StoxRules *rules);

/* TRUE (default, RFC 7572 §4): the XMPP sender's resource becomes ;gr= on
 * the From of the MESSAGE; FALSE when a rule ("message-gr off") opts out. */
gboolean stox_rules_message_gr (const StoxRules *rules);

/* RPID ↔ <show> (docs/mappings.md §2.9; RFC 8048 defines no such table). */

/* The two RFC 4480 §3.14 user-input values, as rpid-to-show names them. */
#define STOX_RULES_USER_INPUT_IDLE   "user-input-idle"
#define STOX_RULES_USER_INPUT_ACTIVE "user-input-active"

/* rpid-to-show row of `activity` (a name as in the grammar above).
 * Returns the activity's rank, or -1 when the name is not one of the 29
 * (then *ret_show is NULL).  *ret_show (may be NULL) gets "away", "chat",
 * "dnd", "xa", "unavailable", or NULL when the row says none or there is
 * no row; the string is static.
 *
 * The rank orders activities that are present together: the smaller one
 * wins, whatever the rows map them to.  It is fixed, the order of the
 * rows of docs/mappings.md §2.9 ("first match wins"): permanent-absence;
 * away; vacation, holiday, travel, sleeping; busy, on-the-phone, meeting,
 * presentation, performance, appointment, steering; breakfast, lunch,
 * dinner, meal, in-transit, shopping; user-input-idle; working, playing,
 * tv, spectator, worship, looking-for-work, unknown, other;
 * user-input-active.  O(1). */
int stox_rules_rpid_to_show (const StoxRules *rules,
                             const char      *activity,
                             const char     **ret_show);

/* show-to-rpid row of an XMPP <show/> value: the RFC 4480 activity element
 * name to write, or NULL when the row says none, there is no row, or
 * `show` is not one of away, chat, dnd, xa.  Static string.  O(1). */
const char *stox_rules_show_to_rpid (const StoxRules *rules, const char *show);

/* Number of distinct rows in force, a row overridden by a later one
 * counted once (for logs: "rules reloaded: 110 rows"). */
guint stox_rules_count (const StoxRules *rules);

G_END_DECLS
