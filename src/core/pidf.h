/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PIDF (RFC 3863) with RPID (RFC 4480) and the data model (RFC 4479) ↔
 * XMPP presence (RFC 6121), mapped per RFC 8048 §6.2 Table 1 and §6.3
 * Table 2 (docs/mappings.md §2.4, §2.5) and, for RPID activities ↔ <show/>,
 * the rule file rows of docs/mappings.md §2.9 (rules.h: rpid-to-show,
 * show-to-rpid).  Pure: no I/O, no clock.
 */
#pragma once

#include <glib.h>

#include "rules.h"
#include "types.h"

G_BEGIN_DECLS

#define STOX_PIDF_ERROR (stox_pidf_error_quark ())
GQuark stox_pidf_error_quark (void);

typedef enum
{
  /* Not PIDF, or not safely parseable: over STOX_PIDF_MAX, not
   * well-formed (also namespace-wise), a DOCTYPE, a root other than
   * <presence xmlns='urn:ietf:params:xml:ns:pidf'>, no entity, a tuple
   * without id or <status>, duplicate tuple ids, a <basic> other than
   * open/closed, too many tuples.  The gateway answers 400 and changes
   * no presence state (stoxd(8) PRESENCE). */
  STOX_PIDF_ERROR_MALFORMED,
  /* An element stox ignores carries mustUnderstand="true" or "1"
   * (RFC 3863, the schema's global mustUnderstand attribute): the
   * document cannot be used as its author meant.  Also a
   * 400, no state change. */
  STOX_PIDF_ERROR_MUST_UNDERSTAND,
} StoxPidfError;

/* Largest PIDF document parsed, in bytes.  Real ones are a few KiB;
 * libxml2 needs superlinear time on some malformed input. */
#define STOX_PIDF_MAX (64 * 1024)

/* Most tuples accepted in one document: each becomes a stanza. */
#define STOX_PIDF_MAX_TUPLES 64

#define STOX_PIDF_CONTENT_TYPE "application/pidf+xml"

/* One <status/> of an XMPP presence ↔ one PIDF <note> is a StoxLangText
 * (types.h); here its text is never empty. */

/* One XMPP presence as the mapping needs it: one PIDF tuple. */
typedef struct
{
  char      *resource;      /* XMPP resource ↔ tuple id (RFC 8048 §6.2
                             * note 2); NULL for the bare JID */
  gboolean   available;     /* no type ↔ basic open; FALSE:
                             * type='unavailable' ↔ basic closed */
  char      *show;          /* "away", "chat", "dnd", "xa", or NULL */
  GPtrArray *statuses;      /* of StoxLangText, never NULL; one per
                             * language */
  gboolean   has_priority;
  int        priority;      /* RFC 6121 <priority/>, -128..127 */
  char      *timestamp;     /* RFC 3339 date-time with a time zone, as
                             * the peer wrote it, or NULL */
} StoxPresenceInfo;

StoxPresenceInfo *stox_presence_info_new (void);
void              stox_presence_info_free (StoxPresenceInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxPresenceInfo, stox_presence_info_free)

/* Appends a status (copies both strings; `lang` may be NULL). */
void stox_presence_info_add_status (StoxPresenceInfo *info,
                                    const char       *lang,
                                    const char       *text);

/* SIP → XMPP: a NOTIFY/PUBLISH body (`len` bytes of `doc`, which need not
 * be NUL-terminated) → a non-empty array of StoxPresenceInfo (it frees
 * them), or NULL and a STOX_PIDF_ERROR.
 *
 * One info per tuple that has a <basic>, in document order (RFC 8048
 * §6.3 Table 2, docs/mappings.md §2.5):
 *   - resource: the tuple id, less an "ID-" prefix (8048 §6.2 note 2) and
 *     the "_XX" byte escapes stox_pidf_build() writes; an empty rest gives
 *     NULL.  Ids need not be valid xs:IDs (Asterisk sends "6001");
 *   - basic open → available, closed → unavailable (note 1);
 *   - <contact priority> 0..1 (at most three decimals, else ignored as
 *     RFC 3863 says) → round(127 × p), the reverse of 8048 §6.2 note 6;
 *   - <note> → status with its xml:lang (inherited from ancestors as XML
 *     says): the tuple's notes, then the person's (<dm:note>), then the
 *     document's, the first for each language, at most 32; blank notes
 *     skipped;
 *   - <show xmlns='jabber:client'> in the status → show (8048 §6.3
 *     note 3) when one of the four values;
 *   - <timestamp> of the tuple, when a valid RFC 3339 date-time with a
 *     time zone;
 *   - then RPID via `rules` (NULL: RPID is ignored), docs/mappings.md
 *     §2.9, first match wins:
 *       1. an activity mapped to "unavailable" (permanent-absence) →
 *          unavailable, as a closed tuple is;
 *       2. the jabber:client show above;
 *       3. the activity of smallest rank (rules.h) mapped to a show;
 *          user-input idle/active count as activities;
 *       4. activities mapped to none (or without a row), "unknown"
 *          excepted, give their names (<rpid:other>: its text), joined by
 *          ", ", as a status without language when no note gave one.
 *     Activities and user-input are read under <dm:person> (RFC 4480
 *     Table 1), inside the person's <status> and the pre-RFC namespaces
 *     Asterisk uses (docs/mappings.md §12), in the tuple or its <status>
 *     (seen in the wild), and user-input also in the <dm:device> whose
 *     <dm:deviceID> the tuple names.  A person's apply to every tuple.
 *     Repeats of one activity count once (of several <rpid:other>, the
 *     first text).
 * Show is NULL when unavailable.
 *
 * A tuple without <basic> says nothing about availability and is skipped
 * (Asterisk's "digium-presence" tuple).  When no tuple remains, or `len`
 * is 0 (a NOTIFY without body means unknown/closed, RFC 8048 Appendix A,
 * §5.2), the result is one info for the bare JID (resource NULL),
 * unavailable, with the person's and document's notes.
 *
 * Unknown elements and attributes are ignored, in any order, unless an
 * ignored element has mustUnderstand (unqualified or in the PIDF
 * namespace) "true" or "1": STOX_PIDF_ERROR_MUST_UNDERSTAND.  The
 * encoding is the XML declaration's (UTF-8 without one; Asterisk declares
 * ISO-8859-1).  Hostile input: see StoxPidfError; libxml2 never loads a
 * DTD, expands an entity or touches the network, and a DOCTYPE stops the
 * parser as soon as it is seen. */
GPtrArray *stox_pidf_parse (const char      *doc,
                            gsize            len,
                            const StoxRules *rules,
                            GError         **error);

/* XMPP → SIP: one presence (one resource) → a PIDF document (RFC 8048
 * §6.2 Table 1, docs/mappings.md §2.4 and §2.9), UTF-8 with an XML
 * declaration:
 *   - <presence entity=`entity_uri`> (a pres: or sip: URI, the caller's);
 *   - one <tuple id="ID-<resource>"> (note 2); bytes of the resource other
 *     than ASCII letters, digits, '-' and '.' written "_XX" (hex) so that
 *     the id is an xs:ID; "ID-" alone for a NULL resource;
 *   - <basic>open</basic> when available, else closed (notes 4, 5);
 *   - <show xmlns='jabber:client'> inside <status> when available and
 *     show is one of the four values (note 7);
 *   - <contact priority="p">`entity_uri`</contact> for priority ≥ 0, p =
 *     priority / 127 cut to three decimals (0 → 0, 1 → 0.007, 2 → 0.015,
 *     126 → 0.992, 127 → 1); negative priorities not mapped (note 6);
 *   - one <note xml:lang> per status, in order;
 *   - <timestamp> when `info->timestamp` is set (the core has no clock);
 *   - when available, a <dm:person id="PID-<resource>"> with
 *     <rpid:activities> holding the show-to-rpid activity of `rules` (may
 *     be NULL: none).
 * Every value is escaped.  stox_pidf_parse() of the result gives `info`
 * back, but for a negative priority (dropped), a show when unavailable
 * (dropped), blank statuses (dropped) and a second status of one
 * language (kept in the document, dropped when parsed). */
char *stox_pidf_build (const char             *entity_uri,
                       const StoxPresenceInfo *info,
                       const StoxRules        *rules);

G_END_DECLS
