/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * xmpp_stanza_t ↔ StoxStanza: the XMPP front end's translator.  No policy
 * here (no answers, no mapping): fields are read and written as they are,
 * text is escaped by libstrophe when the stanza is rendered.
 */
#pragma once

#include <strophe.h>

#include "core/types.h"

G_BEGIN_DECLS

#define STOX_XMPP_NS_STANZAS    "urn:ietf:params:xml:ns:xmpp-stanzas"
#define STOX_XMPP_NS_STREAMS    "urn:ietf:params:xml:ns:xmpp-streams"

/* Most <status/> elements of one presence decoded into `statuses`; the
 * rest is ignored.  RFC 6121 §4.7.2.2 allows one per language and no
 * client shows dozens: the bound keeps a hostile stanza from making the
 * gateway carry thousands into every NOTIFY. */
#define STOX_XMPP_STATUSES_MAX 16

#define STOX_XMPP_CONVERT_ERROR (stox_xmpp_convert_error_quark ())
GQuark stox_xmpp_convert_error_quark (void);

typedef enum
{
  STOX_XMPP_CONVERT_ERROR_UNKNOWN_STANZA,  /* not message, presence or iq */
  STOX_XMPP_CONVERT_ERROR_INVALID_TEXT,    /* not UTF-8, or not an XML Char */
  STOX_XMPP_CONVERT_ERROR_INVALID_NAME,    /* an element name we would write */
} StoxXmppConvertError;

/* TRUE when `text` is UTF-8 made only of XML 1.0 characters (RFC 6120
 * §11.1), as the core decides it (stox_text_is_xml()).  NULL is valid
 * (absent). */
gboolean       stox_xmpp_text_is_valid (const char *text);

/* Decodes a top-level stanza (RFC 6120 §8) received on the component
 * stream.  NULL with STOX_XMPP_CONVERT_ERROR_UNKNOWN_STANZA for other
 * top-level elements.
 * A presence gets `status` (the one in the stanza's language) and
 * `statuses`: every <status/> of the content namespace in document
 * order with its own xml:lang (NULL when it has none), the first of each
 * language (one without xml:lang is in the stanza's), at most
 * STOX_XMPP_STATUSES_MAX. */
StoxStanza    *stox_xmpp_stanza_decode (xmpp_stanza_t *stanza,
                                        GError       **error);

/* Builds the stanza to send (a new reference, release it).  NULL, with
 * nothing built, when a field is not valid XML text or a name is not a
 * name.
 * A presence gets one <status/> per entry of `statuses`, in order, with
 * xml:lang unless the entry's lang is NULL or the stanza's; without
 * entries, `status` alone.
 * An IQ with `disco` gets its <query/> (XEP-0030); without,
 * iq_child_name/iq_child_ns/iq_node make the one child element (e.g. a
 * XEP-0199 ping), or none. */
xmpp_stanza_t *stox_xmpp_stanza_encode (xmpp_ctx_t       *ctx,
                                        const StoxStanza *st,
                                        GError          **error);

/* The text of a <message/> or <presence/> as xmpp_stanza_to_text() renders
 * stox_xmpp_stanza_encode()'s element, written directly (g_free() it):
 * the same elements, attributes and escapes; the attributes in the order
 * the encoder sets them, where libstrophe's follows its hash table (a
 * parser sees no difference).  NULL with `error` set as _encode() sets it
 * when a field is invalid, and with STOX_XMPP_CONVERT_ERROR_UNKNOWN_STANZA
 * for an IQ. */
char          *stox_xmpp_stanza_text (const StoxStanza *st,
                                      gsize            *ret_len,
                                      GError          **error);

G_END_DECLS
