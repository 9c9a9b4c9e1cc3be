/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PIDF/RPID ↔ XMPP presence (stoxd(8) PRESENCE; docs/mappings.md §2.4, §2.5,
 * §2.9, §12): RFC 8048 Tables 1 and 2 row by row, the SHIPPED
 * gateway-rules/30-presence.rules both ways row by row against the §2.9
 * table typed in below, documents as real UAs send them, hostile input,
 * round trips, and the rule grammar for the RPID rows.
 */
#include "config.h"

#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#include "core/pidf.h"
#include "core/rules.h"
#include "support/shipped-rules.h"

#define NS_PIDF "urn:ietf:params:xml:ns:pidf"
#define NS_DM   "urn:ietf:params:xml:ns:pidf:data-model"
#define NS_RPID "urn:ietf:params:xml:ns:pidf:rpid"

#define DECL "<?xml version='1.0' encoding='UTF-8'?>\n"
#define ROOT                                                       \
  "<presence xmlns='" NS_PIDF "' xmlns:dm='" NS_DM "'"             \
  " xmlns:rpid='" NS_RPID "' entity='pres:romeo@example.net'>\n"
#define HEAD DECL ROOT
#define TAIL "</presence>\n"
#define DOC(body) HEAD body TAIL
#define TUPLE(id, basic, more)                                     \
  "<tuple id='" id "'><status><basic>" basic "</basic></status>"   \
  more "</tuple>\n"
#define OPEN_TUPLE(more) TUPLE ("t1", "open", more)
#define PERSON(acts) \
  "<dm:person id='p1'><rpid:activities>" acts "</rpid:activities></dm:person>\n"

/* ---- helpers ---------------------------------------------------------- */

static GPtrArray *
parse_ok (const char *doc, gsize len, const StoxRules *rules)
{
  g_autoptr (GError) error = NULL;
  GPtrArray *infos;

  infos = stox_pidf_parse (doc, len != 0 ? len : strlen (doc), rules, &error);
  if (error != NULL)
    g_test_message ("%s", error->message);
  g_assert_no_error (error);
  g_assert_nonnull (infos);
  g_assert_cmpuint (infos->len, >, 0);
  return infos;
}

/* The single info of a document with one tuple. */
static StoxPresenceInfo *
parse_one (const char *doc, const StoxRules *rules)
{
  g_autoptr (GPtrArray) infos = parse_ok (doc, 0, rules);

  g_assert_cmpuint (infos->len, ==, 1);
  return g_ptr_array_steal_index (infos, 0);
}

static const char *
status_text (const StoxPresenceInfo *info, guint i)
{
  if (i >= info->statuses->len)
    return NULL;
  return ((StoxLangText *) g_ptr_array_index (info->statuses, i))->text;
}

static const char *
status_lang (const StoxPresenceInfo *info, guint i)
{
  g_assert_cmpuint (i, <, info->statuses->len);
  return ((StoxLangText *) g_ptr_array_index (info->statuses, i))->lang;
}

/* An XPath expression over a built document, as a string. */
static char *
xpath (const char *doc, const char *expr)
{
  xmlDoc *xml = xmlReadMemory (doc, (int) strlen (doc), NULL, NULL,
                               XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  xmlXPathContext *ctx;
  xmlXPathObject *obj;
  xmlChar *s;
  char *out;

  g_assert_nonnull (xml);
  ctx = xmlXPathNewContext (xml);
  xmlXPathRegisterNs (ctx, (const xmlChar *) "p", (const xmlChar *) NS_PIDF);
  xmlXPathRegisterNs (ctx, (const xmlChar *) "dm", (const xmlChar *) NS_DM);
  xmlXPathRegisterNs (ctx, (const xmlChar *) "rpid", (const xmlChar *) NS_RPID);
  xmlXPathRegisterNs (ctx, (const xmlChar *) "jc", (const xmlChar *) "jabber:client");
  obj = xmlXPathEvalExpression ((const xmlChar *) expr, ctx);
  g_assert_nonnull (obj);
  s = xmlXPathCastToString (obj);
  out = g_strdup ((const char *) s);
  xmlFree (s);
  xmlXPathFreeObject (obj);
  xmlXPathFreeContext (ctx);
  xmlFreeDoc (xml);
  return out;
}

static void
assert_xpath (const char *doc, const char *expr, const char *want)
{
  g_autofree char *got = xpath (doc, expr);

  if (g_strcmp0 (got, want) != 0)
    g_test_message ("%s\n%s", expr, doc);
  g_assert_cmpstr (got, ==, want);
}

static void
assert_info_equal (const StoxPresenceInfo *a, const StoxPresenceInfo *b)
{
  g_assert_cmpstr (a->resource, ==, b->resource);
  g_assert_cmpint (a->available, ==, b->available);
  g_assert_cmpstr (a->show, ==, b->show);
  g_assert_cmpint (a->has_priority, ==, b->has_priority);
  if (a->has_priority)
    g_assert_cmpint (a->priority, ==, b->priority);
  g_assert_cmpstr (a->timestamp, ==, b->timestamp);
  g_assert_cmpuint (a->statuses->len, ==, b->statuses->len);
  for (guint i = 0; i < a->statuses->len; i++)
    {
      g_assert_cmpstr (status_lang (a, i), ==, status_lang (b, i));
      g_assert_cmpstr (status_text (a, i), ==, status_text (b, i));
    }
}

/* ---- RFC 8048 §6.2 Table 1: XMPP → PIDF, row by row ------------------- */

typedef struct
{
  const char *name;
  const char *resource;
  gboolean    unavailable;
  const char *show;
  const char *status;
  const char *lang;
  gboolean    has_priority;
  int         priority;
  const char *timestamp;
  const char *entity;   /* NULL: pres:juliet@example.com */
  const char *expr;     /* XPath over the result */
  const char *want;     /* its string value */
} Table1Row;

#define T "/p:presence/p:tuple"

static const Table1Row table1[] = {
  /* resource → tuple id with the ID- prefix (note 2) */
  { "resource/plain", "orchard", .expr = "string(" T "/@id)", .want = "ID-orchard" },
  { "resource/digit-first", "1", .expr = "string(" T "/@id)", .want = "ID-1" },
  { "resource/space-underscore", "Home Laptop_1", .expr = "string(" T "/@id)",
    .want = "ID-Home_20Laptop_5F1" },
  { "resource/utf8", "caf\xc3\xa9", .expr = "string(" T "/@id)", .want = "ID-caf_C3_A9" },
  { "resource/markup", "a\"<&>", .expr = "string(" T "/@id)", .want = "ID-a_22_3C_26_3E" },
  { "resource/none", NULL, .expr = "string(" T "/@id)", .want = "ID-" },
  { "resource/one-tuple", "orchard", .expr = "count(" T ")", .want = "1" },
  /* from → entity (the caller's URI), escaped */
  { "entity", "r", .expr = "string(/p:presence/@entity)", .want = "pres:juliet@example.com" },
  { "entity/escaped", "r", .entity = "sip:a\"&<b@example.com",
    .expr = "string(/p:presence/@entity)", .want = "sip:a\"&<b@example.com" },
  /* type → basic (notes 4, 5) */
  { "type/none-open", "r", .expr = "string(" T "/p:status/p:basic)", .want = "open" },
  { "type/unavailable-closed", "r", .unavailable = TRUE,
    .expr = "string(" T "/p:status/p:basic)", .want = "closed" },
  { "type/one-basic", "r", .expr = "count(//p:basic)", .want = "1" },
  /* show: no mapping, carried in the status (note 7) */
  { "show/away", "r", .show = "away", .expr = "string(" T "/p:status/jc:show)", .want = "away" },
  { "show/chat", "r", .show = "chat", .expr = "string(" T "/p:status/jc:show)", .want = "chat" },
  { "show/dnd", "r", .show = "dnd", .expr = "string(" T "/p:status/jc:show)", .want = "dnd" },
  { "show/xa", "r", .show = "xa", .expr = "string(" T "/p:status/jc:show)", .want = "xa" },
  { "show/none", "r", .expr = "count(//jc:show)", .want = "0" },
  { "show/not-a-show", "r", .show = "busy", .expr = "count(//jc:show)", .want = "0" },
  { "show/unavailable-dropped", "r", .unavailable = TRUE, .show = "away",
    .expr = "count(//jc:show)", .want = "0" },
  /* status → note, keeping xml:lang */
  { "status/text", "r", .status = "Sleeping", .expr = "string(" T "/p:note)", .want = "Sleeping" },
  { "status/lang", "r", .status = "Sleeping", .lang = "en",
    .expr = "string(" T "/p:note/@xml:lang)", .want = "en" },
  { "status/no-lang", "r", .status = "Sleeping",
    .expr = "count(" T "/p:note/@xml:lang)", .want = "0" },
  { "status/escaped", "r", .status = "<b>&amp; \"x\" 'y'</b>",
    .expr = "string(" T "/p:note)", .want = "<b>&amp; \"x\" 'y'</b>" },
  { "status/unavailable-kept", "r", .unavailable = TRUE, .status = "gone",
    .expr = "string(" T "/p:note)", .want = "gone" },
  { "status/blank-dropped", "r", .status = " \t", .expr = "count(//p:note)", .want = "0" },
  { "status/none", "r", .expr = "count(//p:note)", .want = "0" },
  /* priority → contact priority (note 6) */
  { "priority/0", "r", .has_priority = TRUE, .priority = 0,
    .expr = "string(" T "/p:contact/@priority)", .want = "0" },
  { "priority/1", "r", .has_priority = TRUE, .priority = 1,
    .expr = "string(" T "/p:contact/@priority)", .want = "0.007" },
  { "priority/2", "r", .has_priority = TRUE, .priority = 2,
    .expr = "string(" T "/p:contact/@priority)", .want = "0.015" },
  { "priority/64", "r", .has_priority = TRUE, .priority = 64,
    .expr = "string(" T "/p:contact/@priority)", .want = "0.503" },
  { "priority/126", "r", .has_priority = TRUE, .priority = 126,
    .expr = "string(" T "/p:contact/@priority)", .want = "0.992" },
  { "priority/127", "r", .has_priority = TRUE, .priority = 127,
    .expr = "string(" T "/p:contact/@priority)", .want = "1" },
  { "priority/contact-uri", "r", .has_priority = TRUE, .priority = 5,
    .expr = "string(" T "/p:contact)", .want = "pres:juliet@example.com" },
  { "priority/negative-not-mapped", "r", .has_priority = TRUE, .priority = -1,
    .expr = "count(//p:contact)", .want = "0" },
  { "priority/-128-not-mapped", "r", .has_priority = TRUE, .priority = -128,
    .expr = "count(//p:contact)", .want = "0" },
  { "priority/absent", "r", .expr = "count(//p:contact)", .want = "0" },
  /* timestamps only when given (the core has no clock) */
  { "timestamp/given", "r", .timestamp = "2026-11-02T10:00:00Z",
    .expr = "string(" T "/p:timestamp)", .want = "2026-11-02T10:00:00Z" },
  { "timestamp/absent", "r", .expr = "count(//p:timestamp)", .want = "0" },
  /* id → no mapping (note 3): nothing else in the tuple */
  { "id/nothing-else", "r", .expr = "count(" T "/*)", .want = "1" },
};

static StoxPresenceInfo *
table1_info (const Table1Row *row)
{
  StoxPresenceInfo *info = stox_presence_info_new ();

  info->resource = g_strdup (row->resource);
  info->available = !row->unavailable;
  info->show = g_strdup (row->show);
  if (row->status != NULL)
    stox_presence_info_add_status (info, row->lang, row->status);
  info->has_priority = row->has_priority;
  info->priority = row->priority;
  info->timestamp = g_strdup (row->timestamp);
  return info;
}

static void
test_table1_row (gconstpointer data)
{
  const Table1Row *row = data;
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();
  g_autoptr (StoxPresenceInfo) info = table1_info (row);
  g_autofree char *doc = stox_pidf_build (row->entity ? row->entity : "pres:juliet@example.com",
                                          info, rules);

  g_assert_nonnull (doc);
  assert_xpath (doc, row->expr, row->want);
}

/* The frame: an XML declaration (RFC 3863 §4.1: MUST) and the namespace. */
static void
test_build_frame (void)
{
  g_autoptr (StoxPresenceInfo) info = stox_presence_info_new ();
  g_autofree char *doc = NULL;

  info->resource = g_strdup ("orchard");
  info->available = TRUE;
  doc = stox_pidf_build ("pres:juliet@example.com", info, NULL);
  g_assert_true (g_str_has_prefix (doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                        "<presence xmlns=\"" NS_PIDF "\""));
  /* Nothing of RPID for a plain available presence. */
  g_assert_null (strstr (doc, NS_RPID));
  g_assert_null (strstr (doc, NS_DM));
  assert_xpath (doc, "count(/p:presence/*)", "1");
}

/* Every priority: 0..127 into 0..1 and back; negatives not mapped. */
static void
test_build_every_priority (void)
{
  for (int p = -128; p <= 127; p++)
    {
      g_autoptr (StoxPresenceInfo) info = stox_presence_info_new ();
      g_autoptr (StoxPresenceInfo) back = NULL;
      g_autofree char *doc = NULL;

      info->resource = g_strdup ("r");
      info->available = TRUE;
      info->has_priority = TRUE;
      info->priority = p;
      doc = stox_pidf_build ("pres:a@b", info, NULL);
      back = parse_one (doc, NULL);
      g_assert_cmpint (back->has_priority, ==, p >= 0);
      if (p >= 0)
        g_assert_cmpint (back->priority, ==, p);
    }
}

/* Whatever the caller hands over, the document stays well-formed. */
static void
test_build_hostile_text (void)
{
  static const char *const texts[] = {
    "ctl\x01\x02\x1b end", "bad utf8 \xc3\x28 \xff", "nonchar \xef\xbf\xbe \xef\xbf\xbf",
    "]]> <![CDATA[ x ]]>", "&lol9; &#0; &#x1;", "cr\r\nlf\ttab",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr (StoxPresenceInfo) info = stox_presence_info_new ();
      g_autoptr (StoxPresenceInfo) back = NULL;
      g_autofree char *doc = NULL;

      info->resource = g_strdup (texts[i]);
      info->available = TRUE;
      stox_presence_info_add_status (info, texts[i], texts[i]);
      info->timestamp = g_strdup (texts[i]);
      doc = stox_pidf_build (texts[i], info, NULL);
      back = parse_one (doc, NULL);
      g_assert_cmpuint (back->statuses->len, ==, 1);
      g_assert_true (g_utf8_validate (status_text (back, 0), -1, NULL));
    }
}

/* ---- RFC 8048 §6.3 Table 2: PIDF → XMPP, row by row ------------------- */

typedef struct
{
  const char *name;
  const char *doc;
  const char *resource;
  gboolean    unavailable;
  const char *show;
  const char *status;       /* first status, or NULL for none */
  const char *lang;
  gboolean    has_priority;
  int         priority;
  const char *timestamp;
} Table2Row;

static const Table2Row table2[] = {
  /* basic → type (note 1) */
  { "basic/open", DOC (OPEN_TUPLE ("")), "t1" },
  { "basic/closed", DOC (TUPLE ("t1", "closed", "")), "t1", .unavailable = TRUE },
  { "basic/blanks", DOC ("<tuple id='t1'><status><basic> open\n</basic></status></tuple>"), "t1" },
  /* tuple id → resource (RFC 8048 §6.2 note 2 reversed) */
  { "id/prefix-stripped", DOC (TUPLE ("ID-orchard", "open", "")), "orchard" },
  { "id/no-prefix", DOC (TUPLE ("orchard", "open", "")), "orchard" },
  { "id/numeric", DOC (TUPLE ("6001", "open", "")), "6001" },
  { "id/prefix-only", DOC (TUPLE ("ID-", "open", "")), NULL },
  { "id/escaped", DOC (TUPLE ("ID-Home_20Laptop_5F1", "open", "")), "Home Laptop_1" },
  { "id/escaped-lower", DOC (TUPLE ("ID-caf_c3_a9", "open", "")), "caf\xc3\xa9" },
  { "id/not-an-escape", DOC (TUPLE ("ID-a_zz", "open", "")), "a_zz" },
  { "id/escape-to-control", DOC (TUPLE ("ID-x_0A", "open", "")), "x_0A" },
  { "id/escape-to-bad-utf8", DOC (TUPLE ("ID-x_FF", "open", "")), "x_FF" },
  { "id/lowercase-prefix", DOC (TUPLE ("id-x", "open", "")), "id-x" },
  /* prepared as every resource (PRECIS OpaqueString): NFC, spaces mapped */
  { "id/nfc", DOC (TUPLE ("ID-caf_65_CC_81", "open", "")), "caf\xc3\xa9" },
  { "id/nbsp-to-space", DOC (TUPLE ("ID-a_C2_A0b", "open", "")), "a b" },
  /* note → status, keeping xml:lang */
  { "note/text", DOC (OPEN_TUPLE ("<note>Sleeping</note>")), "t1", .status = "Sleeping" },
  { "note/lang", DOC (OPEN_TUPLE ("<note xml:lang='fr'>Dort</note>")), "t1",
    .status = "Dort", .lang = "fr" },
  { "note/inner-blanks-kept", DOC (OPEN_TUPLE ("<note> a  b </note>")), "t1", .status = " a  b " },
  { "note/blank-skipped", DOC (OPEN_TUPLE ("<note> \n </note>")), "t1" },
  { "note/presence-level", DOC (OPEN_TUPLE ("") "<note>Out</note>"), "t1", .status = "Out" },
  { "note/closed-kept", DOC (TUPLE ("t1", "closed", "<note>Bye</note>")), "t1",
    .unavailable = TRUE, .status = "Bye" },
  { "note/entities", DOC (OPEN_TUPLE ("<note>&lt;&amp;&gt;&#x263A;</note>")), "t1",
    .status = "<&>\xe2\x98\xba" },
  { "note/cdata", DOC (OPEN_TUPLE ("<note><![CDATA[<x>]]></note>")), "t1", .status = "<x>" },
  /* contact priority → integer priority (note 2: reverse of §6.2 note 6) */
  { "priority/1", DOC (OPEN_TUPLE ("<contact priority='1'>sip:a@b</contact>")), "t1",
    .has_priority = TRUE, .priority = 127 },
  { "priority/1.000", DOC (OPEN_TUPLE ("<contact priority='1.000'>sip:a@b</contact>")), "t1",
    .has_priority = TRUE, .priority = 127 },
  { "priority/0", DOC (OPEN_TUPLE ("<contact priority='0'>sip:a@b</contact>")), "t1",
    .has_priority = TRUE, .priority = 0 },
  { "priority/0.", DOC (OPEN_TUPLE ("<contact priority='0.'>sip:a@b</contact>")), "t1",
    .has_priority = TRUE, .priority = 0 },
  { "priority/0.5", DOC (OPEN_TUPLE ("<contact priority='0.5'>sip:a@b</contact>")), "t1",
    .has_priority = TRUE, .priority = 64 },
  { "priority/0.8", DOC (OPEN_TUPLE ("<contact priority=' 0.8 '>sip:a@b</contact>")), "t1",
    .has_priority = TRUE, .priority = 102 },
  { "priority/0.007", DOC (OPEN_TUPLE ("<contact priority='0.007'>sip:a@b</contact>")), "t1",
    .has_priority = TRUE, .priority = 1 },
  { "priority/0.992", DOC (OPEN_TUPLE ("<contact priority='0.992'>sip:a@b</contact>")), "t1",
    .has_priority = TRUE, .priority = 126 },
  { "priority/out-of-range", DOC (OPEN_TUPLE ("<contact priority='1.5'>sip:a@b</contact>")), "t1" },
  { "priority/two", DOC (OPEN_TUPLE ("<contact priority='2'>sip:a@b</contact>")), "t1" },
  { "priority/four-decimals", DOC (OPEN_TUPLE ("<contact priority='0.1234'>sip:a@b</contact>")),
    "t1" },
  { "priority/negative", DOC (OPEN_TUPLE ("<contact priority='-0.5'>sip:a@b</contact>")), "t1" },
  { "priority/no-leading-digit", DOC (OPEN_TUPLE ("<contact priority='.5'>sip:a@b</contact>")),
    "t1" },
  { "priority/text", DOC (OPEN_TUPLE ("<contact priority='high'>sip:a@b</contact>")), "t1" },
  { "priority/absent", DOC (OPEN_TUPLE ("<contact>sip:a@b</contact>")), "t1" },
  /* <show xmlns='jabber:client'> → show (note 3) */
  { "show/away", DOC ("<tuple id='t1'><status><basic>open</basic>"
                      "<show xmlns='jabber:client'>away</show></status></tuple>"),
    "t1", .show = "away" },
  { "show/before-basic", DOC ("<tuple id='t1'><status><show xmlns='jabber:client'> dnd </show>"
                              "<basic>open</basic></status></tuple>"),
    "t1", .show = "dnd" },
  { "show/chat", DOC ("<tuple id='t1'><status><basic>open</basic>"
                      "<show xmlns='jabber:client'>chat</show></status></tuple>"),
    "t1", .show = "chat" },
  { "show/dnd", DOC ("<tuple id='t1'><status><basic>open</basic>"
                     "<show xmlns='jabber:client'>dnd</show></status></tuple>"),
    "t1", .show = "dnd" },
  { "show/xa", DOC ("<tuple id='t1'><status><basic>open</basic>"
                    "<show xmlns='jabber:client'>xa</show></status></tuple>"),
    "t1", .show = "xa" },
  { "show/not-a-show", DOC ("<tuple id='t1'><status><basic>open</basic>"
                            "<show xmlns='jabber:client'>busy</show></status></tuple>"), "t1" },
  { "show/other-namespace", DOC ("<tuple id='t1'><status><basic>open</basic>"
                                 "<show>away</show></status></tuple>"), "t1" },
  { "show/closed", DOC ("<tuple id='t1'><status><basic>closed</basic>"
                        "<show xmlns='jabber:client'>away</show></status></tuple>"),
    "t1", .unavailable = TRUE },
  /* timestamp */
  { "timestamp/utc", DOC (OPEN_TUPLE ("<timestamp>2026-11-02T10:00:00Z</timestamp>")), "t1",
    .timestamp = "2026-11-02T10:00:00Z" },
  { "timestamp/offset-fraction",
    DOC (OPEN_TUPLE ("<timestamp> 2026-11-02T10:00:00.123+01:00 </timestamp>")), "t1",
    .timestamp = "2026-11-02T10:00:00.123+01:00" },
  { "timestamp/no-zone", DOC (OPEN_TUPLE ("<timestamp>2026-11-02T10:00:00</timestamp>")), "t1" },
  { "timestamp/bad-month", DOC (OPEN_TUPLE ("<timestamp>2026-13-02T10:00:00Z</timestamp>")), "t1" },
  { "timestamp/lower-t", DOC (OPEN_TUPLE ("<timestamp>2026-11-02t10:00:00Z</timestamp>")), "t1" },
  { "timestamp/text", DOC (OPEN_TUPLE ("<timestamp>yesterday</timestamp>")), "t1" },
};

static void
test_table2_row (gconstpointer data)
{
  const Table2Row *row = data;
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();
  g_autoptr (StoxPresenceInfo) info = parse_one (row->doc, rules);

  g_assert_cmpstr (info->resource, ==, row->resource);
  g_assert_cmpint (info->available, ==, !row->unavailable);
  g_assert_cmpstr (info->show, ==, row->show);
  g_assert_cmpstr (status_text (info, 0), ==, row->status);
  if (row->status != NULL)
    {
      g_assert_cmpuint (info->statuses->len, ==, 1);
      g_assert_cmpstr (status_lang (info, 0), ==, row->lang);
    }
  g_assert_cmpint (info->has_priority, ==, row->has_priority);
  if (row->has_priority)
    g_assert_cmpint (info->priority, ==, row->priority);
  g_assert_cmpstr (info->timestamp, ==, row->timestamp);
}

/* ---- docs/mappings.md §2.9, typed in independently of the shipped file -- */

typedef struct
{
  const char *activity;
  const char *result;   /* away, chat, dnd, xa, unavailable, none */
} RpidRow;

static const RpidRow rpid_to_show[] = {
  { "permanent-absence", "unavailable" },
  { "away", "away" },
  { "vacation", "xa" },
  { "holiday", "xa" },
  { "travel", "xa" },
  { "sleeping", "xa" },
  { "busy", "dnd" },
  { "on-the-phone", "dnd" },
  { "meeting", "dnd" },
  { "presentation", "dnd" },
  { "performance", "dnd" },
  { "appointment", "dnd" },
  { "steering", "dnd" },
  { "breakfast", "away" },
  { "lunch", "away" },
  { "dinner", "away" },
  { "meal", "away" },
  { "in-transit", "away" },
  { "shopping", "away" },
  { "user-input-idle", "away" },
  { "working", "none" },
  { "playing", "none" },
  { "tv", "none" },
  { "spectator", "none" },
  { "worship", "none" },
  { "looking-for-work", "none" },
  { "unknown", "none" },
  { "other", "none" },
};

typedef struct
{
  const char *show;
  const char *activity; /* NULL: none */
} ShowRow;

static const ShowRow show_to_rpid[] = {
  { "away", "away" },
  { "xa", "away" },
  { "dnd", "busy" },
  { "chat", NULL },
};

/* The PIDF a SIP UA sends for one activity under the person. */
static char *
activity_doc (const char *activity)
{
  if (strcmp (activity, "user-input-idle") == 0)
    return g_strdup (DOC (OPEN_TUPLE ("") "<dm:person id='p1'>"
                          "<rpid:user-input>idle</rpid:user-input></dm:person>"));
  if (strcmp (activity, "other") == 0)
    return g_strdup (DOC (OPEN_TUPLE ("") PERSON ("<rpid:other>gardening</rpid:other>")));
  return g_strdup_printf (DOC (OPEN_TUPLE ("") PERSON ("<rpid:%s/>")), activity);
}

static void
test_rpid_to_show_row (gconstpointer data)
{
  const RpidRow *row = data;
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();
  g_autofree char *doc = activity_doc (row->activity);
  g_autoptr (StoxPresenceInfo) info = parse_one (doc, rules);
  const char *show = NULL;

  /* The lookup itself. */
  g_assert_cmpint (stox_rules_rpid_to_show (rules, row->activity, &show), >=, 0);
  g_assert_cmpstr (show, ==, strcmp (row->result, "none") == 0 ? NULL : row->result);

  /* And what a document with that activity becomes. */
  if (strcmp (row->result, "unavailable") == 0)
    {
      g_assert_false (info->available);
      g_assert_null (info->show);
    }
  else if (strcmp (row->result, "none") == 0)
    {
      g_assert_true (info->available);
      g_assert_null (info->show);
      /* The activity's name becomes the status (there is no note);
       * "unknown" says nothing. */
      if (strcmp (row->activity, "other") == 0)
        g_assert_cmpstr (status_text (info, 0), ==, "gardening");
      else if (strcmp (row->activity, "unknown") == 0)
        g_assert_cmpuint (info->statuses->len, ==, 0);
      else
        g_assert_cmpstr (status_text (info, 0), ==, row->activity);
    }
  else
    {
      g_assert_true (info->available);
      g_assert_cmpstr (info->show, ==, row->result);
      g_assert_cmpuint (info->statuses->len, ==, 0);
    }
}

static void
test_show_to_rpid_row (gconstpointer data)
{
  const ShowRow *row = data;
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();
  g_autoptr (StoxPresenceInfo) info = stox_presence_info_new ();
  g_autoptr (StoxPresenceInfo) back = NULL;
  g_autofree char *doc = NULL;

  g_assert_cmpstr (stox_rules_show_to_rpid (rules, row->show), ==, row->activity);

  info->resource = g_strdup ("balcony");
  info->available = TRUE;
  info->show = g_strdup (row->show);
  doc = stox_pidf_build ("pres:juliet@example.com", info, rules);
  assert_xpath (doc, "string(" T "/p:status/p:basic)", "open");
  assert_xpath (doc, "string(" T "/p:status/jc:show)", row->show);
  if (row->activity != NULL)
    {
      g_autofree char *path = g_strdup_printf ("count(/p:presence/dm:person/rpid:activities/rpid:%s)",
                                               row->activity);

      assert_xpath (doc, "count(/p:presence/dm:person)", "1");
      assert_xpath (doc, "count(/p:presence/dm:person/rpid:activities/*)", "1");
      assert_xpath (doc, path, "1");
      assert_xpath (doc, "string(/p:presence/dm:person/@id)", "PID-balcony");
    }
  else
    {
      assert_xpath (doc, "count(//dm:person)", "0");
    }
  /* The verbatim show wins on the way back (RFC 8048 §6.3 note 3). */
  back = parse_one (doc, rules);
  assert_info_equal (info, back);
}

/* No show, and unavailable: no person at all. */
static void
test_show_to_rpid_no_person (void)
{
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();
  g_autoptr (StoxPresenceInfo) info = stox_presence_info_new ();
  g_autofree char *doc1 = NULL;
  g_autofree char *doc2 = NULL;

  info->available = TRUE;
  doc1 = stox_pidf_build ("pres:a@b", info, rules);
  assert_xpath (doc1, "count(//dm:person)", "0");
  info->available = FALSE;
  info->show = g_strdup ("dnd");
  doc2 = stox_pidf_build ("pres:a@b", info, rules);
  assert_xpath (doc2, "count(//dm:person)", "0");
  assert_xpath (doc2, "count(//rpid:busy)", "0");
}

/* The shipped file holds exactly the §2.9 rows, each once: read line by
 * line, every row must match the reference and every reference row must
 * be there. */
static void
test_shipped_rows (void)
{
  gsize length;
  g_autofree char *text = stox_test_read_shipped ("30-presence.rules", &length);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint n_rpid = 0, n_show = 0;
  g_autoptr (StoxRules) alone = stox_rules_new ();
  g_autoptr (GError) error = NULL;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *hash = NULL;
      g_auto (GStrv) split = NULL;
      g_autoptr (GPtrArray) fields = g_ptr_array_new ();
      char *comment = strchr (lines[i], '#');
      char **f;

      if (comment != NULL)
        *comment = '\0';
      split = g_strsplit_set (lines[i], " \t\r", -1);
      for (guint j = 0; split[j] != NULL; j++)
        if (*split[j] != '\0')
          g_ptr_array_add (fields, split[j]);
      if (fields->len == 0)
        continue;
      g_assert_cmpuint (fields->len, ==, 3);
      f = (char **) fields->pdata;
      hash = g_strdup_printf ("%s %s", f[0], f[1]);
      g_assert_false (g_hash_table_contains (seen, hash));
      g_hash_table_add (seen, g_steal_pointer (&hash));
      if (strcmp (f[0], "rpid-to-show") == 0)
        {
          gboolean found = FALSE;

          for (gsize r = 0; r < G_N_ELEMENTS (rpid_to_show); r++)
            if (strcmp (rpid_to_show[r].activity, f[1]) == 0)
              {
                g_assert_cmpstr (f[2], ==, rpid_to_show[r].result);
                found = TRUE;
              }
          g_assert_true (found);
          n_rpid++;
        }
      else if (strcmp (f[0], "show-to-rpid") == 0)
        {
          gboolean found = FALSE;

          for (gsize r = 0; r < G_N_ELEMENTS (show_to_rpid); r++)
            if (strcmp (show_to_rpid[r].show, f[1]) == 0)
              {
                g_assert_cmpstr (f[2], ==, show_to_rpid[r].activity
                                             ? show_to_rpid[r].activity : "none");
                found = TRUE;
              }
          g_assert_true (found);
          n_show++;
        }
      else
        g_assert_not_reached ();
    }
  g_assert_cmpuint (n_rpid, ==, G_N_ELEMENTS (rpid_to_show));
  g_assert_cmpuint (n_show, ==, G_N_ELEMENTS (show_to_rpid));

  /* Every row counts once. */
  g_assert_true (stox_rules_parse (alone, "30-presence.rules", text, length, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stox_rules_count (alone), ==, n_rpid + n_show);
}

/* Each group cites its source. */
static void
test_shipped_cites_sources (void)
{
  static const char *const citations[] = {
    "RFC 8048", "§6.2 note 7", "§6.3 note 3", "RFC 4480 §3.2", "RFC 4480 §3.14",
    "SylkServer", "pjsip", "docs/mappings.md §2.9", "Table 2 note 1",
  };
  gsize length;
  g_autofree char *text = stox_test_read_shipped ("30-presence.rules", &length);

  for (gsize i = 0; i < G_N_ELEMENTS (citations); i++)
    g_assert_nonnull (strstr (text, citations[i]));
}

/* ---- first match wins, and where activities are found ------------------ */

typedef struct
{
  const char *name;
  const char *doc;
  gboolean    unavailable;
  const char *show;
  const char *status;
} RpidCase;

static const RpidCase rpid_cases[] = {
  /* Rank order of §2.9: earlier rows win over later ones. */
  { "busy-before-lunch", DOC (OPEN_TUPLE ("") PERSON ("<rpid:lunch/><rpid:busy/>")),
    .show = "dnd" },
  { "away-before-busy", DOC (OPEN_TUPLE ("") PERSON ("<rpid:busy/><rpid:away/>")),
    .show = "away" },
  { "vacation-before-busy", DOC (OPEN_TUPLE ("") PERSON ("<rpid:busy/><rpid:vacation/>")),
    .show = "xa" },
  { "busy-before-idle", DOC (OPEN_TUPLE ("") "<dm:person id='p'><rpid:user-input>idle"
                             "</rpid:user-input><rpid:activities><rpid:meeting/>"
                             "</rpid:activities></dm:person>"), .show = "dnd" },
  { "shown-before-working", DOC (OPEN_TUPLE ("") PERSON ("<rpid:working/><rpid:meal/>")),
    .show = "away", .status = "working" },
  { "user-input-active", DOC (OPEN_TUPLE ("") "<dm:person id='p'><rpid:user-input>active"
                              "</rpid:user-input></dm:person>") },
  { "user-input-idle-attrs", DOC (OPEN_TUPLE ("") "<dm:person id='p'><rpid:user-input "
                                  "idle-threshold='600' last-input='2026-11-02T10:00:00Z'>"
                                  "idle</rpid:user-input></dm:person>"), .show = "away" },
  /* The verbatim show (row 2) beats every activity but an unavailable one. */
  { "show-beats-activity", DOC ("<tuple id='t1'><status><basic>open</basic>"
                                "<show xmlns='jabber:client'>chat</show></status></tuple>"
                                PERSON ("<rpid:busy/>")), .show = "chat" },
  { "permanent-absence-beats-show",
    DOC ("<tuple id='t1'><status><basic>open</basic>"
         "<show xmlns='jabber:client'>chat</show></status></tuple>"
         PERSON ("<rpid:permanent-absence/>")), .unavailable = TRUE },
  { "closed-beats-activity", DOC (TUPLE ("t1", "closed", "") PERSON ("<rpid:away/>")),
    .unavailable = TRUE },
  /* Text of activities without a show, only when no note. */
  { "note-beats-activity-text",
    DOC (OPEN_TUPLE ("<note>At my desk</note>") PERSON ("<rpid:working/>")),
    .status = "At my desk" },
  { "person-note", DOC (OPEN_TUPLE ("") "<dm:person id='p'><rpid:activities><rpid:working/>"
                        "</rpid:activities><dm:note>Deadline</dm:note></dm:person>"),
    .status = "Deadline" },
  { "several-texts", DOC (OPEN_TUPLE ("") PERSON ("<rpid:working/><rpid:tv/><rpid:working/>")),
    .status = "working, tv" },
  { "other-empty", DOC (OPEN_TUPLE ("") PERSON ("<rpid:other/>")) },
  { "unknown-no-text", DOC (OPEN_TUPLE ("") PERSON ("<rpid:unknown/>")) },
  { "activities-note-ignored",
    DOC (OPEN_TUPLE ("") PERSON ("<rpid:note>n</rpid:note><rpid:away/>")), .show = "away" },
  { "activities-attrs", DOC (OPEN_TUPLE ("") "<dm:person id='p'><rpid:activities "
                             "from='2026-11-02T10:00:00Z' until='2026-11-02T11:00:00Z'>"
                             "<rpid:meeting/></rpid:activities></dm:person>"), .show = "dnd" },
  /* Names that are not activities. */
  { "unknown-activity-ignored", DOC (OPEN_TUPLE ("") PERSON ("<rpid:napping/>")) },
  { "pseudo-name-not-an-element", DOC (OPEN_TUPLE ("") PERSON ("<rpid:user-input-idle/>")) },
  { "foreign-activity-ignored", DOC (OPEN_TUPLE ("") PERSON ("<x:away xmlns:x='urn:x'/>")) },
  { "activity-case", DOC (OPEN_TUPLE ("") PERSON ("<rpid:Away/>")) },
  /* Where: in the tuple, in its status (in the wild), on the device. */
  { "in-tuple", DOC (OPEN_TUPLE ("<rpid:activities><rpid:busy/></rpid:activities>")),
    .show = "dnd" },
  { "in-tuple-status", DOC ("<tuple id='t1'><status><basic>open</basic><rpid:activities>"
                            "<rpid:on-the-phone/></rpid:activities></status></tuple>"),
    .show = "dnd" },
  { "user-input-in-tuple", DOC (OPEN_TUPLE ("<rpid:user-input>idle</rpid:user-input>")),
    .show = "away" },
  { "device-idle", DOC (OPEN_TUPLE ("<dm:deviceID>urn:uuid:d1</dm:deviceID>")
                        "<dm:device id='d'><rpid:user-input>idle</rpid:user-input>"
                        "<dm:deviceID>urn:uuid:d1</dm:deviceID></dm:device>"), .show = "away" },
  { "device-before-tuple", DOC ("<dm:device id='d'><dm:deviceID> urn:uuid:d1 </dm:deviceID>"
                                "<rpid:user-input>idle</rpid:user-input></dm:device>"
                                OPEN_TUPLE ("<dm:deviceID>urn:uuid:d1</dm:deviceID>")),
    .show = "away" },
  { "other-device-idle", DOC (OPEN_TUPLE ("<dm:deviceID>urn:uuid:d1</dm:deviceID>")
                              "<dm:device id='d'><rpid:user-input>idle</rpid:user-input>"
                              "<dm:deviceID>urn:uuid:d2</dm:deviceID></dm:device>") },
  { "device-activities-not-read", DOC (OPEN_TUPLE ("<dm:deviceID>d1</dm:deviceID>")
                                       "<dm:device id='d'><dm:deviceID>d1</dm:deviceID>"
                                       "<rpid:activities><rpid:busy/></rpid:activities>"
                                       "</dm:device>") },
  /* Pre-RFC namespaces (Asterisk, resiprocate). */
  { "old-person-status", DOC ("<pp:person xmlns:pp='urn:ietf:params:xml:ns:pidf:person'"
                              " xmlns:ep='urn:ietf:params:xml:ns:pidf:rpid:rpid-person'>"
                              "<status><ep:activities><ep:busy/></ep:activities></status>"
                              "</pp:person>" OPEN_TUPLE ("")), .show = "dnd" },
  { "old-status-namespace", DOC ("<dm:person id='p' xmlns:es='urn:ietf:params:xml:ns:pidf:"
                                 "rpid:status:rpid-status'><es:activities><es:vacation/>"
                                 "</es:activities></dm:person>" OPEN_TUPLE ("")), .show = "xa" },
  { "old-activity-text", DOC ("<pp:person xmlns:pp='urn:ietf:params:xml:ns:pidf:person'"
                              " xmlns:ep='urn:ietf:params:xml:ns:pidf:rpid:rpid-person'>"
                              "<status><ep:activities><ep:activity> away </ep:activity>"
                              "</ep:activities></status></pp:person>" OPEN_TUPLE ("")),
    .show = "away" },
};

static void
test_rpid_case (gconstpointer data)
{
  const RpidCase *c = data;
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();
  g_autoptr (StoxPresenceInfo) info = parse_one (c->doc, rules);

  g_assert_cmpint (info->available, ==, !c->unavailable);
  g_assert_cmpstr (info->show, ==, c->show);
  g_assert_cmpstr (status_text (info, 0), ==, c->status);
  g_assert_cmpuint (info->statuses->len, ==, c->status != NULL ? 1 : 0);
}

/* Without rules, RPID is ignored: RFC 8048 Table 2 alone. */
static void
test_rpid_no_rules (void)
{
  g_autoptr (StoxPresenceInfo) info = NULL;
  g_autoptr (StoxPresenceInfo) info2 = NULL;

  info = parse_one (DOC (OPEN_TUPLE ("") PERSON ("<rpid:busy/><rpid:working/>")
                         "<dm:person id='q'><rpid:activities><rpid:permanent-absence/>"
                         "</rpid:activities></dm:person>"), NULL);
  g_assert_true (info->available);
  g_assert_null (info->show);
  g_assert_cmpuint (info->statuses->len, ==, 0);

  info2 = parse_one (DOC ("<tuple id='t1'><status><basic>open</basic>"
                          "<show xmlns='jabber:client'>xa</show></status></tuple>"), NULL);
  g_assert_cmpstr (info2->show, ==, "xa");
}

/* An operator's later row changes the mapping both ways. */
static void
test_rpid_override (void)
{
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxPresenceInfo) info = NULL;
  g_autoptr (StoxPresenceInfo) xa = stox_presence_info_new ();
  g_autofree char *doc = NULL;
  const char *local = "rpid-to-show lunch dnd\nshow-to-rpid xa vacation\n"
                      "rpid-to-show permanent-absence none\n";

  g_assert_true (stox_rules_parse (rules, "90-local.rules", local, strlen (local), &error));
  g_assert_no_error (error);
  info = parse_one (DOC (OPEN_TUPLE ("") PERSON ("<rpid:lunch/>")), rules);
  g_assert_cmpstr (info->show, ==, "dnd");
  g_clear_pointer (&info, stox_presence_info_free);
  info = parse_one (DOC (OPEN_TUPLE ("") PERSON ("<rpid:permanent-absence/>")), rules);
  g_assert_true (info->available);
  g_assert_cmpstr (status_text (info, 0), ==, "permanent-absence");

  xa->available = TRUE;
  xa->show = g_strdup ("xa");
  doc = stox_pidf_build ("pres:a@b", xa, rules);
  assert_xpath (doc, "count(//rpid:activities/rpid:vacation)", "1");
}

/* A person's activities apply to every tuple. */
static void
test_person_applies_to_all (void)
{
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();
  g_autoptr (GPtrArray) infos = parse_ok (DOC (TUPLE ("a", "open", "") TUPLE ("b", "open", "")
                                               PERSON ("<rpid:busy/>")), 0, rules);

  g_assert_cmpuint (infos->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    g_assert_cmpstr (((StoxPresenceInfo *) infos->pdata[i])->show, ==, "dnd");
}

/* ---- several tuples, empty bodies ------------------------------------- */

static void
test_several_tuples (void)
{
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();
  g_autoptr (GPtrArray) infos = parse_ok (
    DOC ("<tuple id='ID-desk'><status><basic>open</basic>"
         "<show xmlns='jabber:client'>away</show></status>"
         "<contact priority='0.5'>sip:r@example.net;gr=desk</contact>"
         "<note xml:lang='en'>Coffee</note></tuple>\n"
         "<tuple id='ID-phone'><status><basic>closed</basic></status>"
         "<note>off</note></tuple>\n"
         "<tuple id='calendar'><status><cal:busy xmlns:cal='urn:x-cal'/></status></tuple>\n"
         "<tuple id='ID-tablet'><status><basic>open</basic></status>"
         "<rpid:activities><rpid:busy/></rpid:activities></tuple>\n"
         "<note xml:lang='de'>Kaffee</note>\n"),
    0, rules);
  StoxPresenceInfo *desk, *phone, *tablet;

  /* The tuple without <basic> gives no presence. */
  g_assert_cmpuint (infos->len, ==, 3);
  desk = infos->pdata[0];
  phone = infos->pdata[1];
  tablet = infos->pdata[2];

  g_assert_cmpstr (desk->resource, ==, "desk");
  g_assert_true (desk->available);
  g_assert_cmpstr (desk->show, ==, "away");
  g_assert_true (desk->has_priority);
  g_assert_cmpint (desk->priority, ==, 64);
  /* Its own note, then the document's in another language. */
  g_assert_cmpuint (desk->statuses->len, ==, 2);
  g_assert_cmpstr (status_lang (desk, 0), ==, "en");
  g_assert_cmpstr (status_text (desk, 0), ==, "Coffee");
  g_assert_cmpstr (status_lang (desk, 1), ==, "de");
  g_assert_cmpstr (status_text (desk, 1), ==, "Kaffee");

  g_assert_cmpstr (phone->resource, ==, "phone");
  g_assert_false (phone->available);
  g_assert_null (phone->show);
  g_assert_false (phone->has_priority);
  g_assert_cmpuint (phone->statuses->len, ==, 2);
  g_assert_cmpstr (status_text (phone, 0), ==, "off");

  /* Activities in one tuple stay there. */
  g_assert_cmpstr (tablet->resource, ==, "tablet");
  g_assert_cmpstr (tablet->show, ==, "dnd");
}

static void
test_all_closed (void)
{
  g_autoptr (GPtrArray) infos = parse_ok (DOC (TUPLE ("a", "closed", "") TUPLE ("b", "closed", "")),
                                          0, NULL);

  g_assert_cmpuint (infos->len, ==, 2);
  for (guint i = 0; i < infos->len; i++)
    g_assert_false (((StoxPresenceInfo *) infos->pdata[i])->available);
}

/* RFC 8048 Appendix A, §5.2: a NOTIFY without body is unknown/closed. */
static void
test_empty_body (void)
{
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) a = stox_pidf_parse (NULL, 0, rules, &error);
  g_autoptr (GPtrArray) b = NULL;
  StoxPresenceInfo *info;

  g_assert_no_error (error);
  g_assert_cmpuint (a->len, ==, 1);
  info = a->pdata[0];
  g_assert_null (info->resource);
  g_assert_false (info->available);
  g_assert_null (info->show);
  g_assert_cmpuint (info->statuses->len, ==, 0);

  b = stox_pidf_parse ("<ignored/>", 0, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (b->len, ==, 1);
}

/* No tuple, or none with <basic>: the bare JID, unavailable, with the
 * document's notes. */
/* A <basic> that is neither open nor closed (baresip's "unknown", a
 * typo, an empty one) says nothing, like a missing one: that tuple gives
 * no presence, the others do, and the document is not refused. */
static void
test_basic_other (void)
{
  static const char *const values[] = { "unknown", "busy", "OPEN", "" };

  for (gsize i = 0; i < G_N_ELEMENTS (values); i++)
    {
      g_autofree char *doc = g_strdup_printf (
        HEAD "<tuple id='a'><status><basic>%s</basic></status></tuple>"
        TUPLE ("b", "open", "<note>here</note>") TAIL, values[i]);
      g_autoptr (GPtrArray) infos = parse_ok (doc, 0, NULL);
      const StoxPresenceInfo *b;

      g_test_message ("<basic>%s</basic>", values[i]);
      g_assert_cmpuint (infos->len, ==, 1);
      b = infos->pdata[0];
      g_assert_cmpstr (b->resource, ==, "b");
      g_assert_true (b->available);
      g_assert_cmpstr (status_text (b, 0), ==, "here");
    }
}

static void
test_no_tuples (void)
{
  static const char *const docs[] = {
    DOC ("<note>Gone fishing</note>"),
    DOC ("<tuple id='x'><status><foo xmlns='urn:x'/></status></tuple><note>Gone fishing</note>"),
    DOC ("<note>Gone fishing</note>" PERSON ("<rpid:away/>")),
    /* baresip 1.0's first PUBLISH, as Kamailio NOTIFYs it */
    DOC (TUPLE ("x", "unknown", "") "<note>Gone fishing</note>"),
  };
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();

  for (gsize i = 0; i < G_N_ELEMENTS (docs); i++)
    {
      g_autoptr (StoxPresenceInfo) info = parse_one (docs[i], rules);

      g_assert_null (info->resource);
      g_assert_false (info->available);
      g_assert_null (info->show);
      g_assert_cmpstr (status_text (info, 0), ==, "Gone fishing");
    }
}

/* ---- xml:lang ---------------------------------------------------------- */

static void
test_lang (void)
{
  g_autoptr (StoxPresenceInfo) info = parse_one (
    "<?xml version='1.0'?>"
    "<presence xmlns='" NS_PIDF "' xmlns:dm='" NS_DM "' xml:lang='en' entity='pres:a@b'>"
    "<tuple id='t'><status><basic>open</basic></status>"
    "<note>Inherited</note><note xml:lang='fr-CA'>Parti</note>"
    "<note xml:lang='en'>Second English</note><note xml:lang='de'>Weg</note>"
    /* BCP 47 §2.1.1: DE is de, already taken */
    "<note xml:lang='DE'>WEG</note>"
    "<note xml:lang=''>No language</note><note xml:lang='x y'>Bad tag</note>"
    "</tuple>"
    "<dm:person id='p'><dm:note xml:lang='it'>Via</dm:note>"
    "<dm:note xml:lang='de'>Nicht da</dm:note></dm:person>"
    "<note xml:lang='es'>Fuera</note>"
    "</presence>", NULL);
  static const struct { const char *lang, *text; } want[] = {
    { "en", "Inherited" }, { "fr-CA", "Parti" }, { "de", "Weg" }, { NULL, "No language" },
    { "it", "Via" }, { "es", "Fuera" },
  };

  g_assert_cmpuint (info->statuses->len, ==, G_N_ELEMENTS (want));
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    {
      g_assert_cmpstr (status_lang (info, i), ==, want[i].lang);
      g_assert_cmpstr (status_text (info, i), ==, want[i].text);
    }
}

/* ---- documents as real UAs send them (docs/mappings.md §12) ------------- */

typedef struct
{
  const char *name;
  const char *doc;
  guint       n_infos;
  const char *resource;     /* of the first */
  gboolean    unavailable;
  const char *show;
  const char *status;
  int         priority;     /* -1: none */
  const char *timestamp;
} WildCase;

#define ASTERISK_HEAD(encoding)                                          \
  "<?xml version=\"1.0\" encoding=\"" encoding "\"?>\n"                  \
  "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" \n"                   \
  "xmlns:pp=\"urn:ietf:params:xml:ns:pidf:person\"\n"                    \
  "xmlns:es=\"urn:ietf:params:xml:ns:pidf:rpid:status:rpid-status\"\n"   \
  "xmlns:ep=\"urn:ietf:params:xml:ns:pidf:rpid:rpid-person\"\n"          \
  "entity=\"sip:6001@10.24.18.124\">\n"

static const WildCase wild[] = {
  /* Asterisk chan_sip / res_pjsip "eyebeam" flavour: pre-RFC namespaces,
   * person and note before the tuple, a numeric tuple id, ISO-8859-1. */
  { "asterisk/away",
    ASTERISK_HEAD ("ISO-8859-1")
    "<pp:person><status>\n<ep:activities><ep:away/></ep:activities>\n</status></pp:person>\n"
    "<note>Not online</note>\n"
    "<tuple id=\"6001\">\n<contact priority=\"1\">sip:6001@10.24.18.124</contact>\n"
    "<status><basic>open</basic></status>\n</tuple>\n</presence>\n",
    1, "6001", FALSE, "away", "Not online", 127 },
  { "asterisk/busy-digium-tuple",
    ASTERISK_HEAD ("ISO-8859-1")
    "<pp:person><status>\n<ep:activities><ep:busy/></ep:activities>\n</status></pp:person>\n"
    "<note>On the phone</note>\n"
    "<tuple id=\"6002\">\n<contact priority=\"1\">sip:6002@10.24.18.124</contact>\n"
    "<status><basic>open</basic></status>\n</tuple>\n"
    "<tuple id=\"digium-presence\">\n<status>\n"
    "<digium_presence type=\"unavailable\" subtype=\"\"></digium_presence>\n"
    "</status>\n</tuple>\n</presence>\n",
    1, "6002", FALSE, "dnd", "On the phone", 127 },
  { "asterisk/closed",
    ASTERISK_HEAD ("ISO-8859-1")
    "<pp:person><status>\n<ep:activities><ep:away/></ep:activities>\n</status></pp:person>\n"
    "<note>Unavailable</note>\n"
    "<tuple id=\"6001\">\n<contact priority=\"1\">sip:6001@10.24.18.124</contact>\n"
    "<status><basic>closed</basic></status>\n</tuple>\n</presence>\n",
    1, "6001", TRUE, NULL, "Unavailable", 127 },
  { "asterisk/ready-empty-status",
    ASTERISK_HEAD ("ISO-8859-1")
    "<pp:person><status>\n</status></pp:person>\n<note>Ready</note>\n"
    "<tuple id=\"6002\">\n<contact priority=\"1\">sip:6002@10.24.18.124</contact>\n"
    "<status><basic>open</basic></status>\n</tuple>\n</presence>\n",
    1, "6002", FALSE, NULL, "Ready", 127 },
  { "asterisk/latin1-note",
    ASTERISK_HEAD ("ISO-8859-1")
    "<note>En r\xe9union</note>\n"
    "<tuple id=\"6001\"><status><basic>open</basic></status></tuple>\n</presence>\n",
    1, "6001", FALSE, NULL, "En r\xc3\xa9union", -1 },
  /* Asterisk chan_pjsip's default body: an empty dm:person. */
  { "asterisk/pjsip",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<presence entity=\"sip:300@192.168.88.40:443;transport=ws\" "
    "xmlns=\"urn:ietf:params:xml:ns:pidf\" "
    "xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" "
    "xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\">\n"
    " <note>Ready</note>\n"
    " <tuple id=\"300\">\n  <status>\n   <basic>open</basic>\n  </status>\n"
    "  <contact priority=\"1\">sip:User1@raspberrypi.local</contact>\n </tuple>\n"
    " <dm:person />\n</presence>\n",
    1, "300", FALSE, NULL, "Ready", 127 },
  /* libpurple SIMPLE: pidf:im declared, a plain note; the note's text is
   * not interpreted (Kamailio's pua_xmpp does: docs/mappings.md §2.9). */
  { "libpurple/busy-note",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"\n"
    "xmlns:im=\"urn:ietf:params:xml:ns:pidf:im\"\n"
    "entity=\"sip:romeo@example.net\">\n"
    "<tuple id=\"bs35r9f\">\n<status>\n<basic>open</basic>\n</status>\n"
    "<note>busy</note>\n</tuple>\n</presence>",
    1, "bs35r9f", FALSE, NULL, "busy", -1 },
  { "libpurple/closed",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"\n"
    "xmlns:im=\"urn:ietf:params:xml:ns:pidf:im\"\n"
    "entity=\"sip:romeo@example.net\">\n"
    "<tuple id=\"bs35r9f\">\n<status>\n<basic>closed</basic>\n</status>\n"
    "<note></note>\n</tuple>\n</presence>",
    1, "bs35r9f", TRUE, NULL, NULL, -1 },
  /* RFC 3863 §3.4's example shape: im:im and a private extension in the
   * status, notes in two languages. */
  { "rfc3863/example",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<impp:presence xmlns:impp=\"urn:ietf:params:xml:ns:pidf\"\n"
    "    xmlns:myex=\"http://id.example.com/presence/\"\n"
    "    xmlns:im=\"urn:ietf:params:xml:ns:pidf:im\"\n"
    "    entity=\"pres:someone@example.com\">\n"
    "  <impp:tuple id=\"bs35r9\">\n"
    "    <impp:status>\n      <impp:basic>open</impp:basic>\n"
    "      <im:im>busy</im:im>\n      <myex:location>home</myex:location>\n"
    "    </impp:status>\n"
    "    <impp:contact priority=\"0.8\">im:someone@mobilecarrier.net</impp:contact>\n"
    "    <impp:note xml:lang=\"en\">Don't Disturb Please!</impp:note>\n"
    "    <impp:note xml:lang=\"fr\">Ne d\xc3\xa9rangez pas, s'il vous plait</impp:note>\n"
    "    <impp:timestamp>2001-10-27T16:49:29Z</impp:timestamp>\n"
    "  </impp:tuple>\n"
    "  <impp:tuple id=\"eg92n8\">\n"
    "    <impp:status>\n      <impp:basic>open</impp:basic>\n    </impp:status>\n"
    "    <impp:contact priority=\"1.0\">mailto:someone@example.com</impp:contact>\n"
    "  </impp:tuple>\n"
    "  <impp:note>I'll be in Tokyo next week</impp:note>\n"
    "</impp:presence>\n",
    2, "bs35r9", FALSE, NULL, "Don't Disturb Please!", 102, "2001-10-27T16:49:29Z" },
  /* AG Projects (Blink, SylkServer): extended status, caps, device with
   * user-input, contact with a GRUU, person activities, timestamps. */
  { "ag-projects/blink",
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
    "xmlns:agp-pidf=\"urn:ag-projects:xml:ns:pidf\" "
    "xmlns:caps=\"urn:ietf:params:xml:ns:pidf:caps\" "
    "xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" "
    "xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" "
    "xmlns:c=\"urn:ietf:params:xml:ns:pidf:cipid\" "
    "entity=\"sip:alice@example.com\">"
    "<tuple id=\"SID-5f4e\"><status><basic>open</basic>"
    "<agp-pidf:extended>away</agp-pidf:extended></status>"
    "<caps:servcaps><caps:audio>true</caps:audio><caps:text>true</caps:text></caps:servcaps>"
    "<dm:deviceID>urn:uuid:7a1c</dm:deviceID>"
    "<contact>sip:alice@example.com;gr=urn:uuid:7a1c</contact>"
    "<timestamp>2026-11-02T09:58:01.123456+00:00</timestamp></tuple>"
    "<dm:person id=\"PID-0bc5\"><rpid:activities><rpid:away/></rpid:activities>"
    "<c:icon>https://example.com/alice.png</c:icon>"
    "<dm:timestamp>2026-11-02T09:58:01+00:00</dm:timestamp></dm:person>"
    "<dm:device id=\"DID-7a1c\"><agp-pidf:user-agent>Blink 5.0</agp-pidf:user-agent>"
    "<dm:deviceID>urn:uuid:7a1c</dm:deviceID><rpid:user-input>active</rpid:user-input>"
    "<agp-pidf:time-offset>60</agp-pidf:time-offset></dm:device></presence>",
    1, "SID-5f4e", FALSE, "away", NULL, -1, "2026-11-02T09:58:01.123456+00:00" },
  { "ag-projects/idle-device",
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" "
    "xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" "
    "xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" "
    "entity=\"sip:alice@example.com\">"
    "<tuple id=\"SID-5f4e\"><status><basic>open</basic></status>"
    "<dm:deviceID>urn:uuid:7a1c</dm:deviceID></tuple>"
    "<dm:device id=\"DID-7a1c\"><dm:deviceID>urn:uuid:7a1c</dm:deviceID>"
    "<rpid:user-input last-input=\"2026-11-02T09:00:00Z\">idle</rpid:user-input>"
    "</dm:device></presence>",
    1, "SID-5f4e", FALSE, "away", NULL, -1 },
  /* pjsua: timestamp before the note, RPID busy with a dm:note. */
  { "pjsip/busy",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<presence entity=\"sip:bob@example.org\" xmlns=\"urn:ietf:params:xml:ns:pidf\" "
    "xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" "
    "xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\">\n"
    " <tuple id=\"pj0a1b\">\n  <status>\n   <basic>open</basic>\n  </status>\n"
    "  <timestamp>2026-11-02T10:00:00.000Z</timestamp>\n </tuple>\n"
    " <dm:person id=\"pj7c2d\">\n  <rpid:activities>\n   <rpid:busy />\n"
    "  </rpid:activities>\n  <dm:note>Busy</dm:note>\n </dm:person>\n</presence>\n",
    1, "pj0a1b", FALSE, "dnd", "Busy", -1, "2026-11-02T10:00:00.000Z" },
  /* resiprocate's test: an early draft's <ep:activity>away</ep:activity>. */
  { "resiprocate/activity-text",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"\r\n"
    "          xmlns:ep=\"urn:ietf:params:xml:ns:pidf:rpid:rpid-person\"\r\n"
    "          xmlns:pp=\"urn:ietf:params:xml:ns:pidf:person\"\r\n"
    "          entity=\"sip:chris@192.0.2.1\">\r\n"
    "  <pp:person>\r\n   <status>\r\n    <ep:activities>\r\n"
    "     <ep:activity>away</ep:activity>\r\n    </ep:activities>\r\n"
    "   </status>\r\n  </pp:person>\r\n"
    "  <tuple id=\"9b6yhF2Gk37o4\" >\r\n     <status><basic>open</basic></status>\r\n"
    "  </tuple>\r\n</presence>",
    1, "9b6yhF2Gk37o4", FALSE, "away", NULL, -1 },
  /* What stox itself writes (RFC 8048 §6.2's example shape). */
  { "stox/own",
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\"\n"
    "    xmlns:dm=\"" NS_DM "\"\n    xmlns:rpid=\"" NS_RPID "\"\n"
    "    entity=\"pres:juliet@example.com\">\n"
    "  <tuple id=\"ID-orchard\">\n    <status>\n      <basic>open</basic>\n"
    "      <show xmlns=\"jabber:client\">xa</show>\n    </status>\n"
    "    <note xml:lang=\"en\">Sleeping</note>\n  </tuple>\n"
    "  <dm:person id=\"PID-orchard\">\n    <rpid:activities>\n      <rpid:away/>\n"
    "    </rpid:activities>\n  </dm:person>\n</presence>\n",
    1, "orchard", FALSE, "xa", "Sleeping", -1 },
};

static void
test_wild (gconstpointer data)
{
  const WildCase *c = data;
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();
  g_autoptr (GPtrArray) infos = parse_ok (c->doc, 0, rules);
  StoxPresenceInfo *info = infos->pdata[0];

  g_assert_cmpuint (infos->len, ==, c->n_infos);
  g_assert_cmpstr (info->resource, ==, c->resource);
  g_assert_cmpint (info->available, ==, !c->unavailable);
  g_assert_cmpstr (info->show, ==, c->show);
  g_assert_cmpstr (status_text (info, 0), ==, c->status);
  g_assert_cmpint (info->has_priority, ==, c->priority >= 0);
  if (c->priority >= 0)
    g_assert_cmpint (info->priority, ==, c->priority);
  g_assert_cmpstr (info->timestamp, ==, c->timestamp);
}

/* ---- unknown elements and mustUnderstand ------------------------------ */

static const char *const tolerated[] = {
  DOC ("<x:foo xmlns:x='urn:x'><x:bar/></x:foo>" OPEN_TUPLE ("")),
  DOC (OPEN_TUPLE ("<x:foo xmlns:x='urn:x'>t</x:foo>")),
  DOC ("<tuple id='t1'><status><basic>open</basic><x:foo xmlns:x='urn:x'/></status></tuple>"),
  DOC ("<tuple id='t1' x:a='1' xmlns:x='urn:x' extra='y'><status extra='z'>"
       "<basic>open</basic></status></tuple>"),
  DOC (OPEN_TUPLE ("") "<dm:person id='p'><x:mood xmlns:x='urn:x'/><rpid:mood><rpid:happy/>"
       "</rpid:mood><rpid:place-type><rpid:home/></rpid:place-type></dm:person>"),
  DOC (OPEN_TUPLE ("") "<dm:device id='d'><x:y xmlns:x='urn:x'/></dm:device>"),
  DOC (OPEN_TUPLE ("") PERSON ("<x:z xmlns:x='urn:x'/>")),
  /* Unknown elements in the PIDF namespace itself (Asterisk's
   * <digium_presence> is one), comments, PIs, text. */
  DOC (OPEN_TUPLE ("<fancy/>") "<fancy>text</fancy><!-- c --><?pi x?>stray text"),
  DOC ("<tuple id='t1'><status><basic>open</basic><fancy/></status></tuple>"),
  /* mustUnderstand false, or on an element stox understands. */
  DOC (OPEN_TUPLE ("<x:foo xmlns:x='urn:x' mustUnderstand='false'/>")),
  DOC (OPEN_TUPLE ("<x:foo xmlns:x='urn:x' mustUnderstand='0'/>")),
  DOC ("<tuple id='t1'><status mustUnderstand='true'><basic mustUnderstand='1'>open</basic>"
       "</status></tuple>"),
  /* A mustUnderstand inside an ignored extension is that extension's. */
  DOC (OPEN_TUPLE ("<x:foo xmlns:x='urn:x'><x:bar mustUnderstand='true'/></x:foo>")),
  /* Attribute in another namespace: not PIDF's. */
  DOC (OPEN_TUPLE ("<x:foo xmlns:x='urn:x' x:mustUnderstand='true'/>")),
  /* Order of RFC 3863 not kept. */
  DOC ("<note>first</note><tuple id='t1'><note>n</note><timestamp>2026-11-02T10:00:00Z"
       "</timestamp><contact>sip:a@b</contact><status><basic>open</basic></status></tuple>"),
  /* XInclude is not processed: an unknown element like any other. */
  DOC (OPEN_TUPLE ("<xi:include xmlns:xi='http://www.w3.org/2001/XInclude' "
                   "href='file:///etc/passwd' parse='text'/>")),
  /* Whitespace and an XML declaration without encoding; none at all. */
  "<?xml version=\"1.0\"?>\n\n<presence xmlns='" NS_PIDF "' entity='pres:a@b'>"
  "<tuple id='t1'><status><basic>open</basic></status></tuple></presence>\n\n",
  "<presence xmlns='" NS_PIDF "' entity='pres:a@b'><tuple id='t1'><status><basic>open"
  "</basic></status></tuple></presence>",
  /* UTF-8 with a byte-order mark; UTF-16 with one. */
  "\xef\xbb\xbf<presence xmlns='" NS_PIDF "' entity='pres:a@b'><tuple id='t1'><status>"
  "<basic>open</basic></status></tuple></presence>",
};

static void
test_tolerated (void)
{
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();

  for (gsize i = 0; i < G_N_ELEMENTS (tolerated); i++)
    {
      g_autoptr (GPtrArray) infos = NULL;
      StoxPresenceInfo *info;

      g_test_message ("document %" G_GSIZE_FORMAT, i);
      infos = parse_ok (tolerated[i], 0, rules);
      info = g_ptr_array_index (infos, 0);
      g_assert_cmpstr (info->resource, ==, "t1");
      g_assert_true (info->available);
      g_assert_null (info->show);
    }
}

static void
test_utf16 (void)
{
  const char *utf8 = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><presence xmlns='" NS_PIDF
                     "' entity='pres:a@b'><tuple id='t1'><status><basic>open</basic></status>"
                     "<note>caf\xc3\xa9</note></tuple></presence>";
  g_autoptr (GError) error = NULL;
  gsize n;
  g_autofree char *utf16 = g_convert (utf8, -1, "UTF-16LE", "UTF-8", NULL, &n, &error);
  g_autofree char *bom = NULL;
  g_autoptr (GPtrArray) infos = NULL;

  g_assert_no_error (error);
  bom = g_malloc (n + 2);
  bom[0] = (char) 0xff;
  bom[1] = (char) 0xfe;
  memcpy (bom + 2, utf16, n);
  infos = parse_ok (bom, n + 2, NULL);
  g_assert_cmpstr (status_text (infos->pdata[0], 0), ==, "caf\xc3\xa9");
}

static const char *const must_understand[] = {
  DOC (OPEN_TUPLE ("<x:foo xmlns:x='urn:x' mustUnderstand='true'/>")),
  DOC (OPEN_TUPLE ("<x:foo xmlns:x='urn:x' mustUnderstand='1'/>")),
  DOC (OPEN_TUPLE ("<x:foo xmlns:x='urn:x' mustUnderstand=' true '/>")),
  DOC ("<tuple id='t1'><status><basic>open</basic>"
       "<x:foo xmlns:x='urn:x' mustUnderstand='true'/></status></tuple>"),
  DOC (OPEN_TUPLE ("") "<x:foo xmlns:x='urn:x' mustUnderstand='true'/>"),
  DOC (OPEN_TUPLE ("") "<dm:person id='p'><x:foo xmlns:x='urn:x' mustUnderstand='1'/></dm:person>"),
  DOC (OPEN_TUPLE ("") PERSON ("<x:foo xmlns:x='urn:x' mustUnderstand='1'/>")),
  DOC (OPEN_TUPLE ("") "<dm:device id='d'><x:foo xmlns:x='urn:x' mustUnderstand='1'/></dm:device>"),
  /* Qualified in the PIDF namespace, as pidf.xsd's global attribute. */
  DOC (OPEN_TUPLE ("<x:foo xmlns:x='urn:x' xmlns:p='" NS_PIDF "' p:mustUnderstand='true'/>")),
  /* In a tuple without basic, too: the document is refused as a whole. */
  DOC (OPEN_TUPLE ("") "<tuple id='t2'><status><x:foo xmlns:x='urn:x' mustUnderstand='1'/>"
       "</status></tuple>"),
};

static void
test_must_understand (void)
{
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();

  for (gsize i = 0; i < G_N_ELEMENTS (must_understand); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) infos = NULL;

      g_test_message ("document %" G_GSIZE_FORMAT, i);
      infos = stox_pidf_parse (must_understand[i], strlen (must_understand[i]), rules, &error);
      g_assert_null (infos);
      g_assert_error (error, STOX_PIDF_ERROR, STOX_PIDF_ERROR_MUST_UNDERSTAND);
      g_assert_nonnull (strstr (error->message, "<foo>"));
    }
}

/* ---- malformed and hostile documents ---------------------------------- */

typedef struct
{
  const char *name;
  const char *doc;
  gsize       len;     /* 0: strlen */
  const char *why;     /* part of the message */
} BadDoc;

#define BIN(s) s, sizeof s - 1

#define LAUGHS                                                              \
  " <!ENTITY lol \"lol\">\n"                                                \
  " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n" \
  " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n"   \
  " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"   \
  " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"   \
  " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n"   \
  " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n"   \
  " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n"   \
  " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n"   \
  " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n"

static const BadDoc bad_docs[] = {
  /* not XML at all, or broken XML */
  { "text", "hello", 0, "well-formed" },
  { "blank", " \r\n", 0, "well-formed" },
  { "declaration-only", "<?xml version='1.0'?>", 0, "well-formed" },
  { "truncated", HEAD "<tuple id='t1'><status><basic>open</basic></sta", 0, "well-formed" },
  { "truncated-root", "<presence xmlns='" NS_PIDF "' entity='pres:a@b'", 0, "well-formed" },
  { "unclosed-root", HEAD OPEN_TUPLE (""), 0, "well-formed" },
  { "mismatched-tags", DOC ("<tuple id='t1'><status><basic>open</status></basic></tuple>"), 0,
    "well-formed" },
  { "two-roots", DOC (OPEN_TUPLE ("")) ROOT OPEN_TUPLE ("") TAIL, 0, "well-formed" },
  { "duplicate-attribute", DOC ("<tuple id='t1' id='t2'><status><basic>open</basic></status>"
                                "</tuple>"), 0, "well-formed" },
  { "unquoted-attribute", DOC ("<tuple id=t1><status><basic>open</basic></status></tuple>"), 0,
    "well-formed" },
  { "bare-ampersand", DOC (OPEN_TUPLE ("<note>a & b</note>")), 0, "well-formed" },
  { "undeclared-entity", DOC (OPEN_TUPLE ("<note>&nbsp;</note>")), 0, "well-formed" },
  { "invalid-char-ref", DOC (OPEN_TUPLE ("<note>&#1;</note>")), 0, "well-formed" },
  { "nul-char-ref", DOC (OPEN_TUPLE ("<note>&#0;</note>")), 0, "well-formed" },
  { "control-char", DOC (OPEN_TUPLE ("<note>a\x01</note>")), 0, "well-formed" },
  { "nul-byte", BIN (DOC (OPEN_TUPLE ("<note>a\0b</note>"))), "well-formed" },
  { "invalid-utf8", DOC (OPEN_TUPLE ("<note>caf\xc3\x28</note>")), 0, "well-formed" },
  { "latin1-as-utf8", DOC (OPEN_TUPLE ("<note>caf\xe9</note>")), 0, "well-formed" },
  { "overlong-utf8", DOC (OPEN_TUPLE ("<note>\xc0\xbc</note>")), 0, "well-formed" },
  { "surrogate-utf8", DOC (OPEN_TUPLE ("<note>\xed\xa0\x80</note>")), 0, "well-formed" },
  { "unknown-encoding", "<?xml version='1.0' encoding='x-klingon'?>"
    "<presence xmlns='" NS_PIDF "' entity='pres:a@b'/>", 0, NULL },
  { "undeclared-prefix", DOC (OPEN_TUPLE ("<x:foo/>")), 0, "well-formed" },
  { "xml-decl-late", "\n<?xml version='1.0'?>" DOC (OPEN_TUPLE ("")), 0, "well-formed" },
  { "unclosed-comment", DOC (OPEN_TUPLE ("<!-- x")), 0, "well-formed" },
  { "unclosed-cdata", DOC (OPEN_TUPLE ("<note><![CDATA[x</note>")), 0, "well-formed" },
  /* DTDs, entities: refused before anything is read or expanded */
  { "doctype", DECL "<!DOCTYPE presence>" ROOT OPEN_TUPLE ("") TAIL, 0, "DOCTYPE" },
  { "doctype-system", DECL "<!DOCTYPE presence SYSTEM \"http://example.com/pidf.dtd\">\n"
    ROOT OPEN_TUPLE ("") TAIL, 0, "DOCTYPE" },
  { "doctype-no-declaration", "<!DOCTYPE presence []>" ROOT OPEN_TUPLE ("") TAIL, 0, "DOCTYPE" },
  { "xxe-file", "<?xml version='1.0'?>\n<!DOCTYPE p [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
    "<presence xmlns='" NS_PIDF "' entity='pres:a@b'><tuple id='t1'><status><basic>open"
    "</basic></status><note>&x;</note></tuple></presence>", 0, "DOCTYPE" },
  { "xxe-http", "<?xml version='1.0'?>\n<!DOCTYPE p [<!ENTITY x SYSTEM \"http://127.0.0.1:9/\">]>\n"
    "<presence xmlns='" NS_PIDF "' entity='pres:a@b'><tuple id='t1'><status><basic>open"
    "</basic></status><note>&x;</note></tuple></presence>", 0, "DOCTYPE" },
  { "parameter-entity", "<?xml version='1.0'?>\n<!DOCTYPE p [<!ENTITY % x SYSTEM "
    "\"file:///etc/passwd\"> %x;]>\n" ROOT OPEN_TUPLE ("") TAIL, 0, "DOCTYPE" },
  { "billion-laughs", "<?xml version='1.0'?>\n<!DOCTYPE presence [\n" LAUGHS "]>\n"
    "<presence xmlns='" NS_PIDF "' entity='pres:a@b'><tuple id='t1'><status><basic>open"
    "</basic></status><note>&lol9;</note></tuple></presence>", 0, "DOCTYPE" },
  { "internal-entity-in-attribute", "<?xml version='1.0'?>\n<!DOCTYPE p [<!ENTITY e \"t1\">]>\n"
    "<presence xmlns='" NS_PIDF "' entity='pres:a@b'><tuple id='&e;'><status><basic>open"
    "</basic></status></tuple></presence>", 0, "DOCTYPE" },
  { "default-attribute", "<?xml version='1.0'?>\n<!DOCTYPE presence [<!ATTLIST presence "
    "entity CDATA 'pres:a@b'>]>\n<presence xmlns='" NS_PIDF "'><tuple id='t1'><status>"
    "<basic>open</basic></status></tuple></presence>", 0, "DOCTYPE" },
  /* not PIDF */
  { "wrong-root", "<?xml version='1.0'?><presences xmlns='" NS_PIDF "' entity='pres:a@b'/>", 0,
    "root" },
  { "wrong-namespace", "<?xml version='1.0'?><presence xmlns='urn:ietf:params:xml:ns:pidf2' "
    "entity='pres:a@b'/>", 0, "root" },
  { "no-namespace", "<?xml version='1.0'?><presence entity='pres:a@b'><tuple id='t1'><status>"
    "<basic>open</basic></status></tuple></presence>", 0, "root" },
  { "namespace-case", "<presence xmlns='URN:IETF:PARAMS:XML:NS:PIDF' entity='pres:a@b'/>", 0,
    "root" },
  { "xpidf", "<?xml version=\"1.0\"?>\n<presence>\n<presentity uri=\"sip:a@b;method=SUBSCRIBE\"/>\n"
    "<atom id=\"1000\"><address uri=\"sip:a@b\"><status status=\"open\"/></address></atom>\n"
    "</presence>", 0, "root" },
  { "dm-root", "<dm:person xmlns:dm='" NS_DM "' id='p'/>", 0, "root" },
  { "html", "<html><body>hi</body></html>", 0, "root" },
  /* PIDF, but broken */
  { "no-entity", "<presence xmlns='" NS_PIDF "'>" OPEN_TUPLE ("") "</presence>", 0, "entity" },
  { "empty-entity", "<presence xmlns='" NS_PIDF "' entity=' '>" OPEN_TUPLE ("") "</presence>", 0,
    "entity" },
  { "tuple-without-id", DOC ("<tuple><status><basic>open</basic></status></tuple>"), 0, "id" },
  { "tuple-empty-id", DOC (TUPLE ("", "open", "")), 0, "id" },
  { "tuple-id-control", DOC (TUPLE ("a&#10;b", "open", "")), 0, "control" },
  /* C1 controls too: the id is prepared as every resource (PRECIS) */
  { "tuple-id-c1-control", DOC (TUPLE ("a\xc2\x85" "b", "open", "")), 0, "U+0085" },
  { "tuple-without-status", DOC ("<tuple id='t1'><note>x</note></tuple>"), 0, "no <status>" },
  { "status-foreign-namespace", DOC ("<tuple id='t1'><x:status xmlns:x='urn:x'>"
                                     "<basic>open</basic></x:status></tuple>"), 0, "no <status>" },
  { "two-status", DOC ("<tuple id='t1'><status><basic>open</basic></status><status>"
                       "<basic>closed</basic></status></tuple>"), 0, "two <status>" },
  { "two-basic", DOC ("<tuple id='t1'><status><basic>open</basic><basic>closed</basic>"
                      "</status></tuple>"), 0, "two <basic>" },
  /* a second <basic> is refused even when the first said nothing */
  { "two-basic-after-other", DOC ("<tuple id='t1'><status><basic>unknown</basic><basic>open"
                                  "</basic></status></tuple>"), 0, "two <basic>" },
  { "duplicate-tuple-id", DOC (TUPLE ("t1", "open", "") TUPLE ("t1", "closed", "")), 0,
    "two tuples" },
};

static void
assert_malformed (const char *doc, gsize len, const char *why)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();
  g_autoptr (GPtrArray) infos = stox_pidf_parse (doc, len, rules, &error);

  g_assert_null (infos);
  g_assert_error (error, STOX_PIDF_ERROR, STOX_PIDF_ERROR_MALFORMED);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "PIDF: "));
  if (why != NULL)
    g_assert_nonnull (strstr (error->message, why));
}

static void
test_bad_doc (gconstpointer data)
{
  const BadDoc *c = data;

  assert_malformed (c->doc, c->len != 0 ? c->len : strlen (c->doc), c->why);
}

/* One mebibyte, and one byte over the limit: refused unread. */
static void
test_bad_size (void)
{
  g_autoptr (GString) big = g_string_new (HEAD);
  gint64 start;

  while (big->len < STOX_PIDF_MAX - strlen (TAIL))
    g_string_append_c (big, ' ');
  g_string_append (big, TAIL);
  g_string_truncate (big, STOX_PIDF_MAX);
  /* Exactly at the limit is parsed (and is fine: no tuple). */
  {
    g_autoptr (GPtrArray) infos = parse_ok (big->str, big->len, NULL);

    g_assert_false (((StoxPresenceInfo *) infos->pdata[0])->available);
  }
  g_string_insert_c (big, (gssize) strlen (HEAD), ' ');
  assert_malformed (big->str, big->len, "over the limit");

  g_string_set_size (big, 0);
  g_string_append (big, HEAD);
  while (big->len < 1024 * 1024)
    g_string_append (big, "<tuple id='x'><status><basic>open</basic></status></tuple>");
  g_string_append (big, TAIL);
  start = g_get_monotonic_time ();
  assert_malformed (big->str, big->len, "over the limit");
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
}

static void
test_bad_too_many_tuples (void)
{
  g_autoptr (GString) doc = g_string_new (HEAD);
  g_autoptr (GPtrArray) infos = NULL;

  for (int i = 0; i < STOX_PIDF_MAX_TUPLES; i++)
    g_string_append_printf (doc, "<tuple id='t%d'><status><basic>open</basic></status></tuple>", i);
  g_string_append (doc, TAIL);
  infos = parse_ok (doc->str, doc->len, NULL);
  g_assert_cmpuint (infos->len, ==, STOX_PIDF_MAX_TUPLES);

  g_string_truncate (doc, doc->len - strlen (TAIL));
  g_string_append (doc, "<tuple id='one-more'><status/></tuple>" TAIL);
  assert_malformed (doc->str, doc->len, "more than 64 tuples");
}

static void
test_bad_long_id (void)
{
  g_autoptr (GString) id = g_string_new ("ID-");
  g_autofree char *ok = NULL;
  g_autofree char *bad = NULL;
  g_autoptr (StoxPresenceInfo) info = NULL;

  while (id->len < 3 + 1023)
    g_string_append_c (id, 'r');
  ok = g_strdup_printf (HEAD "<tuple id='%s'><status><basic>open</basic></status></tuple>" TAIL,
                        id->str);
  info = parse_one (ok, NULL);
  g_assert_cmpuint (strlen (info->resource), ==, 1023);

  g_string_append_c (id, 'r');
  bad = g_strdup_printf (HEAD "<tuple id='%s'><status><basic>open</basic></status></tuple>" TAIL,
                         id->str);
  assert_malformed (bad, strlen (bad), "longer than 1023 octets");
}

/* Deeper than libxml2's limit (256 without XML_PARSE_HUGE). */
static void
test_bad_deep_nesting (void)
{
  g_autoptr (GString) doc = g_string_new (HEAD OPEN_TUPLE (""));

  for (int i = 0; i < 5000; i++)
    g_string_append (doc, "<a>");
  for (int i = 0; i < 5000; i++)
    g_string_append (doc, "</a>");
  g_assert_cmpuint (doc->len, <, STOX_PIDF_MAX);
  g_string_append (doc, TAIL);
  assert_malformed (doc->str, doc->len, "well-formed");
}

/* Every prefix of a good document is refused cleanly (or, empty, is the
 * body-less NOTIFY). */
static void
test_bad_every_prefix (void)
{
  const char *doc = DOC (OPEN_TUPLE ("<note xml:lang='en'>Hi</note>") PERSON ("<rpid:away/>"));
  gsize n = strlen (doc);

  for (gsize len = 1; len < n - 1; len++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) infos = stox_pidf_parse (doc, len, NULL, &error);

      g_assert_null (infos);
      g_assert_error (error, STOX_PIDF_ERROR, STOX_PIDF_ERROR_MALFORMED);
    }
}

/* Documents within the size cap built to multiply work or memory: many
 * notes, activities and device ids times the most tuples.  Each is parsed
 * quickly, and the statuses stay bounded. */
static void
test_amplification (void)
{
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();

  for (int kind = 0; kind < 3; kind++)
    {
      g_autoptr (GString) doc = g_string_new (HEAD);
      g_autoptr (GPtrArray) infos = NULL;
      gint64 start;

      for (int i = 0; i < STOX_PIDF_MAX_TUPLES; i++)
        g_string_append_printf (doc, "<tuple id='t%d'><status><basic>open</basic></status>%s"
                                "</tuple>", i, kind == 2 ? "<dm:deviceID>d</dm:deviceID>"
                                                         "<dm:deviceID>d</dm:deviceID>" : "");
      if (kind == 1)
        g_string_append (doc, "<dm:person id='p'><rpid:activities>");
      if (kind == 2)
        g_string_append (doc, "<dm:device id='x'>");
      for (int i = 0; doc->len < STOX_PIDF_MAX - 200; i++)
        if (kind == 0)
          g_string_append_printf (doc, "<note xml:lang='x%d'>n</note>", i);
        else if (kind == 1)
          g_string_append_printf (doc, "<rpid:other>t%d</rpid:other><rpid:tv/>", i);
        else
          g_string_append (doc, "<dm:deviceID>d</dm:deviceID><rpid:user-input>idle"
                                "</rpid:user-input>");
      if (kind == 1)
        g_string_append (doc, "</rpid:activities></dm:person>");
      if (kind == 2)
        g_string_append (doc, "</dm:device>");
      g_string_append (doc, TAIL);
      g_assert_cmpuint (doc->len, <=, STOX_PIDF_MAX);

      start = g_get_monotonic_time ();
      infos = parse_ok (doc->str, doc->len, rules);
      g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
      g_assert_cmpuint (infos->len, ==, STOX_PIDF_MAX_TUPLES);
      for (guint i = 0; i < infos->len; i++)
        {
          StoxPresenceInfo *info = infos->pdata[i];

          if (kind == 0)
            {
              g_assert_cmpuint (info->statuses->len, ==, 32);
              g_assert_cmpstr (status_lang (info, 31), ==, "x31");
            }
          else if (kind == 1)
            {
              /* One text per activity; of the <rpid:other>, the first. */
              g_assert_cmpuint (info->statuses->len, ==, 1);
              g_assert_cmpstr (status_text (info, 0), ==, "t0, tv");
            }
          else
            g_assert_cmpstr (info->show, ==, "away");
        }
    }
}

/* ---- round trips: build, then parse, gives the same presence ----------- */

typedef struct
{
  const char *name;
  const char *resource;
  gboolean    available;
  const char *show;
  const char *statuses[6];  /* lang, text pairs; lang "" = none */
  gboolean    has_priority;
  int         priority;
  const char *timestamp;
} RoundTrip;

static const RoundTrip round_trips[] = {
  { "available", "orchard", TRUE },
  { "unavailable", "orchard", FALSE },
  { "bare", NULL, TRUE },
  { "bare-unavailable", NULL, FALSE, .statuses = { "", "bye" } },
  { "show-away", "r", TRUE, "away" },
  { "show-chat", "r", TRUE, "chat" },
  { "show-dnd", "r", TRUE, "dnd" },
  { "show-xa", "r", TRUE, "xa" },
  { "statuses", "r", TRUE, "away", { "en", "Out", "fr", "Sorti", "", "no language" } },
  { "status-markup", "r", TRUE, .statuses = { "", "<b>&amp;</b> \"q\" 'a' ]]>" } },
  { "status-whitespace", "r", TRUE, .statuses = { "", " lead\ttab\nline\r\ncrlf trail " } },
  { "status-unicode", "r", TRUE, .statuses = { "ja", "\xe5\xa4\x96\xe5\x87\xba\xe4\xb8\xad \xf0\x9f\x8d\xb5" } },
  { "priority-0", "r", TRUE, .has_priority = TRUE, .priority = 0 },
  { "priority-1", "r", TRUE, .has_priority = TRUE, .priority = 1 },
  { "priority-64", "r", TRUE, .has_priority = TRUE, .priority = 64 },
  { "priority-126", "r", TRUE, .has_priority = TRUE, .priority = 126 },
  { "priority-127", "r", TRUE, .has_priority = TRUE, .priority = 127 },
  { "timestamp", "r", TRUE, .timestamp = "2026-11-02T10:00:00.5-05:30" },
  { "resource-escapes", "Home Laptop_1/\xc3\xa9@x", TRUE, "dnd" },
  { "resource-id-prefix", "ID-x", TRUE },
  { "resource-underscore-hex", "_41", TRUE },
  { "everything", "balcony", TRUE, "xa", { "en", "Sleeping", "de", "Schlafe" }, TRUE, 99,
    "2026-11-02T23:59:60Z" },
  { "everything-closed", "balcony", FALSE, NULL, { "en", "Gone" }, TRUE, 5,
    "2026-11-02T23:59:59+14:00" },
};

static void
test_round_trip (gconstpointer data)
{
  const RoundTrip *rt = data;
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();
  g_autoptr (StoxPresenceInfo) info = stox_presence_info_new ();
  g_autoptr (StoxPresenceInfo) back = NULL;
  g_autoptr (StoxPresenceInfo) again = NULL;
  g_autofree char *doc = NULL;
  g_autofree char *doc2 = NULL;

  info->resource = g_strdup (rt->resource);
  info->available = rt->available;
  info->show = g_strdup (rt->show);
  for (guint i = 0; i + 1 < G_N_ELEMENTS (rt->statuses) && rt->statuses[i + 1] != NULL; i += 2)
    stox_presence_info_add_status (info, *rt->statuses[i] ? rt->statuses[i] : NULL,
                                   rt->statuses[i + 1]);
  info->has_priority = rt->has_priority;
  info->priority = rt->priority;
  info->timestamp = g_strdup (rt->timestamp);

  doc = stox_pidf_build ("pres:juliet@example.com", info, rules);
  back = parse_one (doc, rules);
  assert_info_equal (info, back);

  /* And the document is stable: building again gives the same text. */
  doc2 = stox_pidf_build ("pres:juliet@example.com", back, rules);
  g_assert_cmpstr (doc, ==, doc2);
  again = parse_one (doc2, NULL);
  assert_info_equal (info, again);
}

/* ---- rule grammar for the RPID rows ------------------------------------ */

typedef struct
{
  const char *name;
  const char *text;
  const char *why;
} RuleSyntax;

static const RuleSyntax rule_syntax[] = {
  { "unknown-activity", "rpid-to-show napping away\n", "unknown RPID activity 'napping'" },
  { "activity-case", "rpid-to-show Away away\n", "unknown RPID activity 'Away'" },
  { "activity-element", "rpid-to-show <rpid:away/> away\n", "unknown RPID activity" },
  { "unknown-result", "rpid-to-show away busy\n", "unknown show 'busy'" },
  { "result-case", "rpid-to-show away Away\n", "unknown show 'Away'" },
  { "result-available", "rpid-to-show away available\n", "unknown show 'available'" },
  { "rpid-too-few", "rpid-to-show away\n", "rpid-to-show takes 2 fields" },
  { "rpid-too-many", "rpid-to-show away away xa\n", "got 3" },
  { "unknown-show", "show-to-rpid busy busy\n", "unknown show 'busy'" },
  { "show-unavailable", "show-to-rpid unavailable away\n", "unknown show 'unavailable'" },
  { "show-none", "show-to-rpid none away\n", "unknown show 'none'" },
  { "show-unknown-activity", "show-to-rpid away napping\n", "unknown RPID activity 'napping'" },
  { "show-other", "show-to-rpid away other\n", "'other' cannot be written" },
  { "show-user-input", "show-to-rpid xa user-input-idle\n", "'user-input-idle' cannot be written" },
  { "show-too-few", "show-to-rpid away\n", "show-to-rpid takes 2 fields" },
  { "directive-case", "RPID-to-show away away\n", "unknown directive" },
};

static void
test_rule_syntax (gconstpointer data)
{
  const RuleSyntax *c = data;
  g_autoptr (StoxRules) rules = stox_rules_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("# presence\n\n%s", c->text);

  g_assert_false (stox_rules_parse (rules, "x.rules", text, strlen (text), &error));
  g_assert_error (error, STOX_RULES_ERROR, STOX_RULES_ERROR_SYNTAX);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "x.rules:3: "));
  g_assert_nonnull (strstr (error->message, c->why));
  g_assert_null (strchr (error->message, '\n'));
  g_assert_cmpuint (stox_rules_count (rules), ==, 0);
}

/* Both faults of a line are named. */
static void
test_rule_two_faults (void)
{
  g_autoptr (StoxRules) rules = stox_rules_new ();
  g_autoptr (GError) error = NULL;
  const char *text = "rpid-to-show napping busy\n";

  g_assert_false (stox_rules_parse (rules, "x.rules", text, strlen (text), &error));
  g_assert_nonnull (strstr (error->message, "x.rules:1: unknown RPID activity 'napping'"));
  g_assert_nonnull (strstr (error->message, "x.rules:1: unknown show 'busy'"));
}

static void
test_rule_lookups (void)
{
  g_autoptr (StoxRules) rules = stox_rules_new ();
  g_autoptr (GError) error = NULL;
  const char *show = "sentinel";
  const char *text = "rpid-to-show away xa\nrpid-to-show away dnd # later wins\n"
                     "rpid-to-show tv chat\nrpid-to-show busy none\n"
                     "rpid-to-show user-input-active chat\n"
                     "show-to-rpid dnd meeting\nshow-to-rpid chat none\n";

  /* Empty rules: every activity known, none mapped. */
  g_assert_cmpint (stox_rules_rpid_to_show (rules, "away", &show), ==, 1);
  g_assert_null (show);
  g_assert_null (stox_rules_show_to_rpid (rules, "away"));

  g_assert_true (stox_rules_parse (rules, "p.rules", text, strlen (text), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stox_rules_count (rules), ==, 6);
  g_assert_cmpint (stox_rules_rpid_to_show (rules, "away", &show), >=, 0);
  g_assert_cmpstr (show, ==, "dnd");
  g_assert_cmpint (stox_rules_rpid_to_show (rules, "tv", &show), >=, 0);
  g_assert_cmpstr (show, ==, "chat");
  g_assert_cmpint (stox_rules_rpid_to_show (rules, "busy", &show), >=, 0);
  g_assert_null (show);
  g_assert_cmpint (stox_rules_rpid_to_show (rules, STOX_RULES_USER_INPUT_ACTIVE, &show), >=, 0);
  g_assert_cmpstr (show, ==, "chat");
  g_assert_cmpint (stox_rules_rpid_to_show (rules, "napping", &show), ==, -1);
  g_assert_null (show);
  g_assert_cmpint (stox_rules_rpid_to_show (rules, NULL, NULL), ==, -1);
  g_assert_cmpint (stox_rules_rpid_to_show (rules, "away", NULL), ==, 1);
  g_assert_cmpstr (stox_rules_show_to_rpid (rules, "dnd"), ==, "meeting");
  g_assert_null (stox_rules_show_to_rpid (rules, "chat"));
  g_assert_null (stox_rules_show_to_rpid (rules, "xa"));
  g_assert_null (stox_rules_show_to_rpid (rules, "busy"));
  g_assert_null (stox_rules_show_to_rpid (rules, NULL));

  /* The error tables are untouched, and validation needs no RPID row. */
  g_assert_cmpstr (stox_rules_message_type (rules), ==, "normal");
}

/* The rank is the order of the §2.9 rows (rules.h). */
static void
test_rule_rank (void)
{
  static const char *const order[] = {
    "permanent-absence", "away", "vacation", "holiday", "travel", "sleeping", "busy",
    "on-the-phone", "meeting", "presentation", "performance", "appointment", "steering",
    "breakfast", "lunch", "dinner", "meal", "in-transit", "shopping", "user-input-idle",
    "working", "playing", "tv", "spectator", "worship", "looking-for-work", "unknown", "other",
    "user-input-active",
  };
  g_autoptr (StoxRules) rules = stox_rules_new ();

  for (gsize i = 0; i < G_N_ELEMENTS (order); i++)
    g_assert_cmpint (stox_rules_rpid_to_show (rules, order[i], NULL), ==, (int) i);
  /* And the reference table is in that order too. */
  for (gsize i = 1; i < G_N_ELEMENTS (rpid_to_show); i++)
    g_assert_cmpint (stox_rules_rpid_to_show (rules, rpid_to_show[i - 1].activity, NULL), <,
                     stox_rules_rpid_to_show (rules, rpid_to_show[i].activity, NULL));
}

/* A broken presence file keeps the earlier rows, as for every file. */
static void
test_rule_failed_file (void)
{
  g_autoptr (StoxRules) rules = stox_test_load_shipped_rules ();
  g_autoptr (GError) error = NULL;
  guint before = stox_rules_count (rules);
  const char *text = "rpid-to-show away dnd\nrpid-to-show lunch snack\n";
  const char *show = NULL;

  g_assert_false (stox_rules_parse (rules, "91-bad.rules", text, strlen (text), &error));
  g_assert_cmpuint (stox_rules_count (rules), ==, before);
  stox_rules_rpid_to_show (rules, "away", &show);
  g_assert_cmpstr (show, ==, "away");
}

/* ---- value types ------------------------------------------------------ */

static void
test_free_null (void)
{
  stox_presence_info_free (NULL);
  stox_lang_text_free (NULL);
}

int
main (int argc, char **argv)
{
  /* Run by hand (not through make check) the source tree is where this
   * file was compiled from: G_TEST_SRCDIR is its tests/ directory. */
  if (g_getenv ("G_TEST_SRCDIR") == NULL)
    {
      g_autofree char *unit = g_path_get_dirname (__FILE__);
      g_autofree char *tests = g_path_get_dirname (unit);

      g_setenv ("G_TEST_SRCDIR", tests, TRUE);
    }

  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (table1); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pidf/table1/%s", table1[i].name);

      g_test_add_data_func (path, &table1[i], test_table1_row);
    }
  g_test_add_func ("/pidf/build/frame", test_build_frame);
  g_test_add_func ("/pidf/build/every-priority", test_build_every_priority);
  g_test_add_func ("/pidf/build/hostile-text", test_build_hostile_text);
  for (gsize i = 0; i < G_N_ELEMENTS (table2); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pidf/table2/%s", table2[i].name);

      g_test_add_data_func (path, &table2[i], test_table2_row);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (rpid_to_show); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pidf/shipped/rpid-to-show/%s",
                                               rpid_to_show[i].activity);

      g_test_add_data_func (path, &rpid_to_show[i], test_rpid_to_show_row);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (show_to_rpid); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pidf/shipped/show-to-rpid/%s",
                                               show_to_rpid[i].show);

      g_test_add_data_func (path, &show_to_rpid[i], test_show_to_rpid_row);
    }
  g_test_add_func ("/pidf/shipped/show-to-rpid/no-person", test_show_to_rpid_no_person);
  g_test_add_func ("/pidf/shipped/rows", test_shipped_rows);
  g_test_add_func ("/pidf/shipped/cites-sources", test_shipped_cites_sources);
  for (gsize i = 0; i < G_N_ELEMENTS (rpid_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pidf/rpid/%s", rpid_cases[i].name);

      g_test_add_data_func (path, &rpid_cases[i], test_rpid_case);
    }
  g_test_add_func ("/pidf/rpid/no-rules", test_rpid_no_rules);
  g_test_add_func ("/pidf/rpid/override", test_rpid_override);
  g_test_add_func ("/pidf/rpid/person-applies-to-all", test_person_applies_to_all);
  g_test_add_func ("/pidf/parse/several-tuples", test_several_tuples);
  g_test_add_func ("/pidf/parse/all-closed", test_all_closed);
  g_test_add_func ("/pidf/parse/empty-body", test_empty_body);
  g_test_add_func ("/pidf/parse/no-tuples", test_no_tuples);
  g_test_add_func ("/pidf/parse/basic-other", test_basic_other);
  g_test_add_func ("/pidf/parse/lang", test_lang);
  g_test_add_func ("/pidf/parse/utf16", test_utf16);
  for (gsize i = 0; i < G_N_ELEMENTS (wild); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pidf/wild/%s", wild[i].name);

      g_test_add_data_func (path, &wild[i], test_wild);
    }
  g_test_add_func ("/pidf/parse/unknown-elements-ignored", test_tolerated);
  g_test_add_func ("/pidf/parse/must-understand", test_must_understand);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_docs); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pidf/malformed/%s", bad_docs[i].name);

      g_test_add_data_func (path, &bad_docs[i], test_bad_doc);
    }
  g_test_add_func ("/pidf/malformed/size", test_bad_size);
  g_test_add_func ("/pidf/malformed/too-many-tuples", test_bad_too_many_tuples);
  g_test_add_func ("/pidf/malformed/long-id", test_bad_long_id);
  g_test_add_func ("/pidf/malformed/deep-nesting", test_bad_deep_nesting);
  g_test_add_func ("/pidf/malformed/every-prefix", test_bad_every_prefix);
  g_test_add_func ("/pidf/parse/amplification", test_amplification);
  for (gsize i = 0; i < G_N_ELEMENTS (round_trips); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pidf/round-trip/%s", round_trips[i].name);

      g_test_add_data_func (path, &round_trips[i], test_round_trip);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (rule_syntax); i++)
    {
      g_autofree char *path = g_strdup_printf ("/pidf/rules/syntax/%s", rule_syntax[i].name);

      g_test_add_data_func (path, &rule_syntax[i], test_rule_syntax);
    }
  g_test_add_func ("/pidf/rules/two-faults", test_rule_two_faults);
  g_test_add_func ("/pidf/rules/lookups", test_rule_lookups);
  g_test_add_func ("/pidf/rules/rank", test_rule_rank);
  g_test_add_func ("/pidf/rules/failed-file", test_rule_failed_file);
  g_test_add_func ("/pidf/free-null", test_free_null);

  return g_test_run ();
}
