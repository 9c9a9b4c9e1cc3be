/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one way the core reads XML from peers (stoxd(8)): libxml2
 * with no network, no entity substitution, no DTD loading, and a DOCTYPE
 * refused as soon as the parser meets it, so neither an external entity
 * (XXE) nor nested expansion (billion laughs) is ever processed.
 */
#pragma once

#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlDoc, xmlFreeDoc)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (xmlParserCtxt, xmlFreeParserCtxt)

/* Strings libxml2 allocates go back through xmlFree, which an embedding
 * program may have redirected. */
typedef xmlChar StoxXmlString;
void stox_xml_string_free (StoxXmlString *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxXmlString, stox_xml_string_free)

/* Parses `len` bytes (the encoding is the document's own).  NULL with
 * `*ret_why` ("a DOCTYPE is not allowed", "not well-formed XML") when the
 * document is refused; namespace errors count as not well-formed. */
xmlDoc *stox_xml_read (const char *data, gsize len, const char **ret_why);

G_END_DECLS
