/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Address mapping, RFC 7247 §6 with XEP-0106 escaping (docs/mappings.md
 * §1.2–1.6, §6).  One test path per table row, so a failure names its case.
 */
#include "config.h"

#include <string.h>

#include "core/address.h"

#define MALFORMED STOX_ADDRESS_ERROR_MALFORMED
#define SIPS      STOX_ADDRESS_ERROR_SIPS
#define SCHEME    STOX_ADDRESS_ERROR_SCHEME

/* Where a row is expected to fail, if at all. */
typedef enum
{
  OK = 0,
  AT_PARSE,
  AT_MAP,
} Stage;

/* Adds one test per row: PREFIX/<row name>. */
#define ADD_ROWS(prefix, rows, func)                                        \
  G_STMT_START                                                              \
  {                                                                         \
    for (gsize i_ = 0; i_ < G_N_ELEMENTS (rows); i_++)                      \
      {                                                                     \
        g_autofree char *path_ = g_strdup_printf ("%s/%s", prefix,          \
                                                  (rows)[i_].name);         \
        g_test_add_data_func (path_, &(rows)[i_], func);                    \
      }                                                                     \
  }                                                                         \
  G_STMT_END

/* ---- stox_sip_uri_parse ---------------------------------------------- */

typedef struct
{
  const char *name;
  const char *text;
  gboolean    ok;
  gboolean    sips;
  const char *user;
  const char *host;
  guint16     port;
  const char *gr;
} ParseCase;

static const ParseCase parse_rows[] = {
  { "ipv6-port", "sip:u@[::1]:5060", TRUE, FALSE, "u", "[::1]", 5060, NULL },
  { "ipv6-lowercased", "sip:u@[2001:DB8::1]", TRUE, FALSE, "u",
    "[2001:db8::1]", 0, NULL },
  { "ipv6-v4-mapped", "sip:u@[::ffff:192.0.2.1];transport=tcp", TRUE, FALSE,
    "u", "[::ffff:192.0.2.1]", 0, NULL },
  { "ipv6-unterminated", "sip:u@[::1", FALSE },
  { "ipv6-bad-digits", "sip:u@[zz::1]", FALSE },
  { "ipv6-no-colon", "sip:u@[1234]", FALSE },
  { "ipv6-unbracketed", "sip:u@::1", FALSE },
  { "ipv6-junk-after", "sip:u@[::1]x", FALSE },
  { "host-lowercased-user-kept", "sip:Alice@Sip.Example.COM", TRUE, FALSE,
    "Alice", "sip.example.com", 0, NULL },
  { "host-ipv4", "sip:u@192.0.2.1:5060", TRUE, FALSE, "u", "192.0.2.1", 5060,
    NULL },
  { "host-trailing-dot", "sip:u@example.com.", TRUE, FALSE, "u",
    "example.com.", 0, NULL },
  { "host-empty", "sip:u@", FALSE },
  { "host-empty-before-params", "sip:u@;transport=tcp", FALSE },
  { "host-leading-hyphen", "sip:u@-bad.example", FALSE },
  { "host-empty-label", "sip:u@a..example", FALSE },
  { "host-underscore", "sip:u@a_b.example", FALSE },
  { "host-non-ascii", "sip:u@bücher.example", FALSE },
  { "host-angle-bracket", "sip:u@example.com>", FALSE },
  { "port-max", "sip:u@h.example:65535", TRUE, FALSE, "u", "h.example",
    65535, NULL },
  { "port-zero", "sip:u@h.example:0", FALSE },
  { "port-too-big", "sip:u@h.example:65536", FALSE },
  { "port-huge", "sip:u@h.example:99999999999999999999", FALSE },
  { "port-empty", "sip:u@h.example:", FALSE },
  { "port-non-digit", "sip:u@h.example:50a0", FALSE },
  { "port-then-params", "sip:u@h.example:5061;transport=tls;lr", TRUE, FALSE,
    "u", "h.example", 5061, NULL },
  { "sips-flag", "sips:u@h.example", TRUE, TRUE, "u", "h.example", 0, NULL },
  { "scheme-case-insensitive", "SiPs:u@h.example", TRUE, TRUE, "u",
    "h.example", 0, NULL },
  { "user-decoded", "sip:f%C3%BC@h.example", TRUE, FALSE, "fü", "h.example",
    0, NULL },
  { "user-kept-as-given", "sip:Bob%20Smith@h.example", TRUE, FALSE,
    "Bob Smith", "h.example", 0, NULL },
  { "user-empty", "sip:@h.example", TRUE, FALSE, "", "h.example", 0, NULL },
  { "user-missing", "sip:h.example", TRUE, FALSE, "", "h.example", 0, NULL },
  { "user-password-dropped", "sip:u:pw@h.example", TRUE, FALSE, "u",
    "h.example", 0, NULL },
  { "gr-decoded", "sip:u@h.example;gr=a%3Bb%C3%A9", TRUE, FALSE, "u",
    "h.example", 0, "a;bé" },
  { "gr-valueless", "sip:u@h.example;gr;lr", TRUE, FALSE, "u", "h.example",
    0, NULL },
  { "gr-raw-angle-bracket", "sip:u@h.example;gr=a<b", FALSE },
  { "gr-in-headers-is-not-a-param", "sip:u@h.example?gr=x", TRUE, FALSE, "u",
    "h.example", 0, NULL },
  { "headers-not-decoded", "sip:u@h.example?x=%zz", TRUE, FALSE, "u",
    "h.example", 0, NULL },
  { "other-params-not-decoded", "sip:u@h.example;foo=%zz", TRUE, FALSE, "u",
    "h.example", 0, NULL },
  { "empty", "", FALSE },
  { "leading-space", " sip:u@h.example", FALSE },
  { "trailing-crlf", "sip:u@h.example\r\n", FALSE },
  { "scheme-only", "sip:", FALSE },
  { "scheme-bad-char", "s_p:u@h.example", FALSE },
  { "scheme-leading-digit", "1sip:u@h.example", FALSE },
};

static void
test_parse (gconstpointer data)
{
  const ParseCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxSipUri) uri = stox_sip_uri_parse (c->text, &error);

  if (!c->ok)
    {
      g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);
      g_assert_null (uri);
      return;
    }
  g_assert_no_error (error);
  g_assert_nonnull (uri);
  g_assert_cmpint (uri->sips, ==, c->sips);
  g_assert_cmpstr (uri->user, ==, c->user);
  g_assert_cmpstr (uri->host, ==, c->host);
  g_assert_cmpuint (uri->port, ==, c->port);
  g_assert_cmpstr (uri->gr, ==, c->gr);
}

/* ---- SIP URI → JID (RFC 7247 §6.4) ----------------------------------- */

typedef struct
{
  const char *name;
  const char *uri;
  const char *domain;   /* NULL: "xmpp.example" */
  const char *expect;   /* the JID, or NULL on failure */
  Stage       stage;
  int         code;
} SipToJidCase;

#define D "@xmpp.example"

static const SipToJidCase sip_to_jid_rows[] = {
  /* docs/mappings.md §1.3 (RFC 7247 §6.4) */
  { "rfc7247-f-umlaut", "sip:f%C3%BC@sip.example", "sip.example",
    "fü@sip.example" },
  { "rfc7247-omalley", "sip:o'malley@sip.example", "sip.example",
    "o\\27malley@sip.example" },
  { "rfc7247-gruu", "sip:foo@sip.example;gr=bar", "sip.example",
    "foo@sip.example/bar" },
  { "plain", "sip:alice@sip.example", NULL, "alice" D },

  /* Every XEP-0106 character, raw where RFC 3261 allows it, and decoded. */
  { "escape-space", "sip:space%20cadet@h.example", NULL,
    "space\\20cadet" D },
  { "escape-quote", "sip:call%22me%22@h.example", NULL,
    "call\\22me\\22" D },
  { "escape-ampersand", "sip:at&t@h.example", NULL, "at\\26t" D },
  { "escape-ampersand-encoded", "sip:at%26t@h.example", NULL, "at\\26t" D },
  { "escape-apostrophe", "sip:d'artagnan@h.example", NULL,
    "d\\27artagnan" D },
  { "escape-apostrophe-encoded", "sip:d%27artagnan@h.example", NULL,
    "d\\27artagnan" D },
  { "escape-slash", "sip:/.fanboy@h.example", NULL, "\\2f.fanboy" D },
  { "escape-slash-encoded", "sip:a%2fb@h.example", NULL, "a\\2fb" D },
  { "escape-colon", "sip:%3A%3Afoo%3A%3A@h.example", NULL,
    "\\3a\\3afoo\\3a\\3a" D },
  { "escape-less", "sip:a%3Cb@h.example", NULL, "a\\3cb" D },
  { "escape-greater", "sip:a%3Eb@h.example", NULL, "a\\3eb" D },
  { "escape-at", "sip:user%40host@h.example", NULL, "user\\40host" D },
  { "escape-all", "sip:x%20%22%26%27%2F%3A%3C%3E%40%5C20y@h.example", NULL,
    "x\\20\\22\\26\\27\\2f\\3a\\3c\\3e\\40\\5c20y" D },

  /* The backslash: \5c only in front of one of the ten sequences. */
  { "backslash-plain", "sip:foo%5Cbar@h.example", NULL, "foo\\bar" D },
  { "backslash-before-escape", "sip:%5C27a@h.example", NULL,
    "\\5c27a" D },
  { "backslash-before-5c", "sip:c%3A%5C5commas@h.example", NULL,
    "c\\3a\\5c5commas" D },
  { "backslash-trailing", "sip:a%5C@h.example", NULL, "a\\" D },
  { "backslash-unknown-sequence", "sip:foob%5C41r@h.example", NULL,
    "foob\\41r" D },
  { "backslash-partial-sequences", "sip:%5C2plus%5C2is%5C4@h.example", NULL,
    "\\2plus\\2is\\4" D },
  /* Case mapping runs first, so "\2F" is seen as the escape "\2f". */
  { "backslash-upper-hex-folds", "sip:a%5C2Fb@h.example", NULL,
    "a\\5c2fb" D },
  { "xep0106-wv-example", "sip:%5C3and%5C2is%5C5cool@h.example", NULL,
    "\\5c3and\\2is\\5c5cool" D },
  { "xep0106-irc-example",
    "sip:somenick!user%22&'/%3A%3C%3E%5C3address@h.example", NULL,
    "somenick!user\\22\\26\\27\\2f\\3a\\3c\\3e\\5c3address" D },

  /* XEP-0106 §3: \20 may be neither first nor last. */
  { "space-first", "sip:%20alice@h.example", NULL, NULL, AT_MAP, MALFORMED },
  { "space-last", "sip:alice%20@h.example", NULL, NULL, AT_MAP, MALFORMED },
  { "ideographic-space-first", "sip:%E3%80%80alice@h.example", NULL, NULL,
    AT_MAP, MALFORMED },
  { "ideographic-space-inside", "sip:a%E3%80%80b@h.example", NULL,
    "a\\20b" D },

  /* PRECIS UsernameCaseMapped (docs/mappings.md §1.6). */
  { "case-ascii", "sip:Alice@h.example", NULL, "alice" D },
  { "case-scheme-and-host", "SIP:Bob@SIP.EXAMPLE", NULL, "bob" D },
  { "case-non-ascii", "sip:%C3%9CBER@h.example", NULL, "über" D },
  { "case-greek-final-sigma", "sip:%CE%9F%CE%94%CE%9F%CE%A3@h.example", NULL,
    "\u03bf\u03b4\u03bf\u03c2" D },
  { "case-greek-medial-sigma", "sip:%CE%A3%CE%91@h.example", NULL,
    "\u03c3\u03b1" D },
  { "case-greek-lone-sigma", "sip:%CE%A3@h.example", NULL, "\u03c3" D },
  { "case-dotted-capital-i", "sip:%C4%B0@h.example", NULL, "i\u0307" D },
  { "case-titlecase-digraph", "sip:%C7%85@h.example", NULL, "\u01c6" D },
  { "width-fullwidth-letters", "sip:%EF%BC%A1%EF%BC%A2@h.example", NULL,
    "ab" D },
  { "width-fullwidth-at", "sip:a%EF%BC%A0b@h.example", NULL, "a\\40b" D },
  { "width-fullwidth-backslash", "sip:%EF%BC%BC27@h.example", NULL,
    "\\5c27" D },
  { "width-halfwidth-katakana", "sip:%EF%BD%B1@h.example", NULL,
    "\u30a2" D },
  { "width-halfwidth-hangul", "sip:%EF%BE%A1@h.example", NULL, "\u3131" D },
  { "nfc-compose", "sip:u%CC%88ber@h.example", NULL, "über" D },
  { "combining-after-escape", "sip:a%3C%CC%81@h.example", NULL, NULL, AT_MAP,
    MALFORMED },

  /* Percent-decoding (RFC 3986 §2.1). */
  { "percent-lowercase-hex", "sip:f%c3%bc@h.example", NULL, "fü" D },
  { "percent-unreserved", "sip:%61lice@h.example", NULL, "alice" D },
  { "percent-zz", "sip:a%zzb@h.example", NULL, NULL, AT_PARSE, MALFORMED },
  { "percent-one-digit", "sip:a%4@h.example", NULL, NULL, AT_PARSE,
    MALFORMED },
  { "percent-at-end", "sip:a%@h.example", NULL, NULL, AT_PARSE, MALFORMED },
  { "percent-nul", "sip:a%00b@h.example", NULL, NULL, AT_PARSE, MALFORMED },
  { "percent-newline", "sip:a%0Ab@h.example", NULL, NULL, AT_PARSE,
    MALFORMED },
  { "percent-del", "sip:a%7F@h.example", NULL, NULL, AT_PARSE, MALFORMED },
  { "percent-c1-control", "sip:a%C2%85@h.example", NULL, NULL, AT_PARSE,
    MALFORMED },
  { "utf8-truncated", "sip:%C3%28@h.example", NULL, NULL, AT_PARSE,
    MALFORMED },
  { "utf8-lone-ff", "sip:%FF@h.example", NULL, NULL, AT_PARSE, MALFORMED },
  { "utf8-overlong-slash", "sip:%C0%AF@h.example", NULL, NULL, AT_PARSE,
    MALFORMED },
  { "utf8-surrogate", "sip:%ED%A0%80@h.example", NULL, NULL, AT_PARSE,
    MALFORMED },
  { "utf8-raw", "sip:fü@h.example", NULL, "fü" D },
  { "utf8-raw-invalid", "sip:f\xff@h.example", NULL, NULL, AT_PARSE,
    MALFORMED },

  /* Characters no escaping can carry. */
  { "nbsp", "sip:a%C2%A0b@h.example", NULL, NULL, AT_MAP, MALFORMED },
  { "bidi-override", "sip:a%E2%80%AEb@h.example", NULL, NULL, AT_MAP,
    MALFORMED },
  { "zero-width-space", "sip:a%E2%80%8Bb@h.example", NULL, NULL, AT_MAP,
    MALFORMED },
  { "private-use", "sip:%EE%80%80@h.example", NULL, NULL, AT_MAP, MALFORMED },

  /* Raw characters RFC 3261 §25.1 wants escaped. */
  { "raw-quote", "sip:a\"b@h.example", NULL, NULL, AT_PARSE, MALFORMED },
  { "raw-less", "sip:a<b@h.example", NULL, NULL, AT_PARSE, MALFORMED },
  { "raw-hash", "sip:a#b@h.example", NULL, NULL, AT_PARSE, MALFORMED },
  { "raw-space", "sip:a b@h.example", NULL, NULL, AT_PARSE, MALFORMED },
  { "raw-backslash", "sip:a\\b@h.example", NULL, NULL, AT_PARSE, MALFORMED },
  { "user-semicolon", "sip:a;b@h.example", NULL, "a;b" D },
  { "user-telephone-number", "sip:+1-212-555-0100@h.example;user=phone", NULL,
    "+1-212-555-0100" D },

  /* User part missing or empty: 400 (docs/mappings.md §1). */
  { "user-empty", "sip:@h.example", NULL, NULL, AT_MAP, MALFORMED },
  { "user-missing", "sip:h.example", NULL, NULL, AT_MAP, MALFORMED },
  { "user-password-dropped", "sip:alice:secret@h.example", NULL, "alice" D },

  /* Host, port, parameters and headers play no part in the JID. */
  { "ipv6-host", "sip:u@[::1]:5060", NULL, "u" D },
  { "port", "sip:u@h.example:5070", NULL, "u" D },
  { "transport-ignored", "sip:u@h.example;transport=tcp", NULL, "u" D },
  { "params-ignored-around-gr",
    "sip:u@h.example;transport=tcp;gr=x;lr;maddr=192.0.2.1", NULL,
    "u" D "/x" },
  { "headers-ignored", "sip:u@h.example?subject=hi&priority=urgent", NULL,
    "u" D },

  /* ;gr= ↔ resource (docs/mappings.md §1.5). */
  { "gr-percent-encoded", "sip:u@h.example;gr=caf%C3%A9%20pc", NULL,
    "u" D "/café pc" },
  { "gr-case-kept", "sip:u@h.example;gr=Laptop", NULL, "u" D "/Laptop" },
  { "gr-urn-uuid",
    "sip:u@h.example;gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", NULL,
    "u" D "/urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6" },
  { "gr-nfc", "sip:u@h.example;gr=e%CC%81", NULL, "u" D "/é" },
  { "gr-nbsp-mapped", "sip:u@h.example;gr=a%C2%A0b", NULL, "u" D "/a b" },
  { "gr-slash-kept", "sip:u@h.example;gr=a/b", NULL, "u" D "/a/b" },
  { "gr-name-case", "sip:u@h.example;GR=x", NULL, "u" D "/x" },
  { "gr-valueless", "sip:u@h.example;gr", NULL, "u" D },
  { "gr-empty", "sip:u@h.example;gr=", NULL, NULL, AT_PARSE, MALFORMED },
  { "gr-bad-escape", "sip:u@h.example;gr=%zz", NULL, NULL, AT_PARSE,
    MALFORMED },
  { "gr-control", "sip:u@h.example;gr=a%0Db", NULL, NULL, AT_PARSE,
    MALFORMED },
  { "gr-invalid-utf8", "sip:u@h.example;gr=%C3", NULL, NULL, AT_PARSE,
    MALFORMED },
  { "gr-duplicate", "sip:u@h.example;gr=a;gr=b", NULL, NULL, AT_PARSE,
    MALFORMED },

  /* Schemes: sips: parses but is never translated (RFC 7247 §8, 416). */
  { "sips", "sips:alice@h.example", NULL, NULL, AT_MAP, SIPS },
  { "scheme-tel", "tel:+15551234567", NULL, NULL, AT_PARSE, SCHEME },
  { "scheme-im", "im:alice@h.example", NULL, NULL, AT_PARSE, SCHEME },
  { "scheme-pres", "pres:alice@h.example", NULL, NULL, AT_PARSE, SCHEME },
  { "scheme-xmpp", "xmpp:alice@h.example", NULL, NULL, AT_PARSE, SCHEME },
  { "no-scheme", "alice@h.example", NULL, NULL, AT_PARSE, MALFORMED },

  /* docs/mappings.md §6: the XEP's "%zy" is not a valid SIP escape (RFC
   * 3261 §25.1); the same address with "%" escaped maps as the XEP shows. */
  { "xep0106-sip-example-literal-zy",
    "sip:here%27s_a_wild_%26_%2Fcr%zy%2F_address@example.com", "example.com",
    NULL, AT_PARSE, MALFORMED },
  { "xep0106-sip-example-escaped-percent",
    "sip:here%27s_a_wild_%26_%2Fcr%25zy%2F_address@example.com",
    "example.com", "here\\27s_a_wild_\\26_\\2fcr%zy\\2f_address@example.com" },
};

static void
test_sip_to_jid (gconstpointer data)
{
  const SipToJidCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxSipUri) uri = stox_sip_uri_parse (c->uri, &error);
  g_autofree char *jid = NULL;

  if (c->stage == AT_PARSE)
    {
      g_assert_error (error, STOX_ADDRESS_ERROR, c->code);
      g_assert_null (uri);
      return;
    }
  g_assert_no_error (error);
  g_assert_nonnull (uri);

  jid = stox_address_sip_to_jid (uri, c->domain ? c->domain : "xmpp.example",
                                 &error);
  if (c->stage == AT_MAP)
    {
      g_assert_error (error, STOX_ADDRESS_ERROR, c->code);
      g_assert_null (jid);
      return;
    }
  g_assert_no_error (error);
  g_assert_cmpstr (jid, ==, c->expect);

  /* Whatever we produce must read back as a JID with that localpart. */
  {
    g_autoptr (StoxJid) parsed = stox_jid_parse (jid, &error);

    g_assert_no_error (error);
    g_assert_nonnull (parsed->local);
    g_assert_true (g_str_has_prefix (jid, parsed->local));
  }
}

/* ---- JID → SIP URI (RFC 7247 §6.5) ----------------------------------- */

typedef struct
{
  const char *name;
  const char *jid;
  const char *sip_domain;   /* NULL: "xmpp.example" */
  const char *expect;
  Stage       stage;
  int         code;
} JidToSipCase;

static const JidToSipCase jid_to_sip_rows[] = {
  /* docs/mappings.md §1.4 (RFC 7247 §6.5) */
  { "rfc7247-m-and-m", "m\\26m@xmpp.example", NULL,
    "sip:m&m@xmpp.example" },
  { "rfc7247-tschuess", "tschüss@xmpp.example", NULL,
    "sip:tsch%C3%BCss@xmpp.example" },
  { "rfc7247-gruu", "baz@xmpp.example/qux", NULL,
    "sip:baz@xmpp.example;gr=qux" },

  /* Every XEP-0106 sequence undone, then percent-encoded if SIP needs it. */
  { "unescape-space", "space\\20cadet@x.example", NULL,
    "sip:space%20cadet" D },
  { "unescape-quote", "call\\20me\\20\\22ishmael\\22@x.example", NULL,
    "sip:call%20me%20%22ishmael%22" D },
  { "unescape-ampersand", "at\\26t\\20guy@x.example", NULL,
    "sip:at&t%20guy" D },
  { "unescape-apostrophe", "d\\27artagnan@x.example", NULL,
    "sip:d'artagnan" D },
  { "unescape-slash", "\\2f.fanboy@x.example", NULL, "sip:/.fanboy" D },
  { "unescape-colon", "\\3a\\3afoo\\3a\\3a@x.example", NULL,
    "sip:%3A%3Afoo%3A%3A" D },
  { "unescape-less", "\\3cfoo@x.example", NULL, "sip:%3Cfoo" D },
  { "unescape-greater", "foo\\3e@x.example", NULL, "sip:foo%3E" D },
  { "unescape-at", "user\\40host@x.example", NULL, "sip:user%40host" D },
  { "unescape-backslash", "c\\3a\\5cnet@x.example", NULL,
    "sip:c%3A%5Cnet" D },
  { "unescape-backslash-sequence", "c\\3a\\5c5commas@x.example", NULL,
    "sip:c%3A%5C5commas" D },
  { "unknown-sequence-kept", "foo\\bar@x.example", NULL,
    "sip:foo%5Cbar" D },
  { "partial-sequences-kept", "\\2plus\\2is\\4@x.example", NULL,
    "sip:%5C2plus%5C2is%5C4" D },
  /* Not an escape (XEP-0106 escapes are lower-case hex): a literal
   * backslash, and the case mapping then lowers the letter. */
  { "uppercase-hex-is-no-escape", "a\\2Fb@x.example", NULL,
    "sip:a%5C2fb" D },
  { "escaped-backslash-then-20", "\\5c20alice@x.example", NULL,
    "sip:%5C20alice" D },

  /* A localpart is case-insensitive (RFC 7622 §3.3.1) and not every
   * server maps it (ejabberd passes ALICE@ on as written): the SIP user
   * is the one SIP → XMPP maps to the same JID. */
  { "case-folded", "Alice@x.example", NULL, "sip:alice" D },
  { "case-folded-all-caps", "ALICE@x.example", NULL, "sip:alice" D },
  { "case-folded-non-ascii", "Über@x.example", NULL, "sip:%C3%BCber" D },
  { "case-folded-after-unescape", "John\\20Doe@x.example", NULL,
    "sip:john%20doe" D },
  { "case-folded-final-sigma", "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3@x.example", NULL,
    "sip:%CE%BF%CE%B4%CF%85%CF%83%CF%83%CE%B5%CF%85%CF%82" D },
  { "percent-literal", "100%@x.example", NULL, "sip:100%25" D },
  { "sip-disallowed-encoded", "a#b[c]^{d}|`e@x.example", NULL,
    "sip:a%23b%5Bc%5D%5E%7Bd%7D%7C%60e" D },
  { "sip-allowed-kept", "a!$()*+,-.;=?_~b@x.example", NULL,
    "sip:a!$()*+,-.;=?_~b" D },
  { "non-ascii-4-byte", "\U0001F600@x.example", NULL, "sip:%F0%9F%98%80" D },

  /* Refusals. */
  { "leading-escaped-space", "\\20alice@x.example", NULL, NULL, AT_MAP,
    MALFORMED },
  { "trailing-escaped-space", "alice\\20@x.example", NULL, NULL, AT_MAP,
    MALFORMED },
  { "raw-apostrophe", "o'malley@x.example", NULL, NULL, AT_PARSE, MALFORMED },
  { "bare-domain", "xmpp.example", NULL, NULL, AT_MAP, MALFORMED },
  { "bare-domain-with-resource", "xmpp.example/r", NULL, NULL, AT_MAP,
    MALFORMED },

  /* resource → ;gr=, percent-encoded (docs/mappings.md §1.4 step 8). */
  { "resource-encoded", "u@x.example/café pc", NULL,
    "sip:u" D ";gr=caf%C3%A9%20pc" },
  { "resource-specials", "u@x.example/a;b=c?d@e", NULL,
    "sip:u" D ";gr=a%3Bb%3Dc%3Fd%40e" },
  { "resource-urn-uuid",
    "u@x.example/urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", NULL,
    "sip:u" D ";gr=urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6" },
  { "resource-slash", "u@x.example/a/b", NULL, "sip:u" D ";gr=a/b" },
  { "resource-brackets", "u@x.example/[1]", NULL, "sip:u" D ";gr=%5B1%5D" },
  { "resource-percent", "u@x.example/50%", NULL, "sip:u" D ";gr=50%25" },

  /* docs/mappings.md §6, the way back: "%" is escaped, "& ' /" stay. */
  { "xep0106-sip-example",
    "here\\27s_a_wild_\\26_\\2fcr%zy\\2f_address@example.com", "example.com",
    "sip:here's_a_wild_&_/cr%25zy/_address@example.com" },
  { "sip-domain-ipv6", "u@x.example", "[2001:db8::1]",
    "sip:u@[2001:db8::1]" },
};

static void
test_jid_to_sip (gconstpointer data)
{
  const JidToSipCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxJid) jid = stox_jid_parse (c->jid, &error);
  g_autofree char *sip = NULL;

  if (c->stage == AT_PARSE)
    {
      g_assert_error (error, STOX_ADDRESS_ERROR, c->code);
      g_assert_null (jid);
      return;
    }
  g_assert_no_error (error);
  g_assert_nonnull (jid);

  sip = stox_address_jid_to_sip (jid, c->sip_domain ? c->sip_domain
                                                    : "xmpp.example", &error);
  if (c->stage == AT_MAP)
    {
      g_assert_error (error, STOX_ADDRESS_ERROR, c->code);
      g_assert_null (sip);
      return;
    }
  g_assert_no_error (error);
  g_assert_cmpstr (sip, ==, c->expect);

  /* Whatever we produce must parse as a sip: URI again, with the
   * resource back in ;gr=. */
  {
    g_autoptr (StoxSipUri) uri = stox_sip_uri_parse (sip, &error);

    g_assert_no_error (error);
    g_assert_false (uri->sips);
    g_assert_cmpstr (uri->gr, ==, jid->resource);
  }
}

/* ---- stox_jid_parse (RFC 7622 §3) ------------------------------------ */

typedef struct
{
  const char *name;
  const char *text;
  gboolean    ok;
  const char *local;
  const char *domain;
  const char *resource;
} JidParseCase;

static const JidParseCase jid_parse_rows[] = {
  { "full", "juliet@example.com/balcony", TRUE, "juliet", "example.com",
    "balcony" },
  { "bare", "juliet@example.com", TRUE, "juliet", "example.com", NULL },
  { "domain-only", "example.com", TRUE, NULL, "example.com", NULL },
  { "domain-resource", "example.com/r", TRUE, NULL, "example.com", "r" },
  { "resource-holds-at-and-slash", "a@b.example/c@d/e", TRUE, "a",
    "b.example", "c@d/e" },
  { "escapes-kept", "o\\27malley@x.example", TRUE, "o\\27malley",
    "x.example", NULL },
  { "case-kept", "Juliet@Example.com", TRUE, "Juliet", "Example.com", NULL },
  { "non-ascii", "tschüss@xmpp.example/ü", TRUE, "tschüss", "xmpp.example",
    "ü" },
  { "empty-local", "@b.example", FALSE },
  { "empty-resource", "a@b.example/", FALSE },
  { "empty-domain", "a@", FALSE },
  { "empty-domain-with-resource", "a@/r", FALSE },
  { "resource-only", "/r", FALSE },
  { "double-at", "a@b@c.example", FALSE },
  { "local-apostrophe", "a'b@c.example", FALSE },
  { "local-space", "a b@c.example", FALSE },
  { "local-quote", "a\"b@c.example", FALSE },
  { "local-ampersand", "a&b@c.example", FALSE },
  { "local-colon", "a:b@c.example", FALSE },
  { "local-less", "a<b@c.example", FALSE },
  { "local-greater", "a>b@c.example", FALSE },
  { "domain-space", "a@b c.example", FALSE },
  { "invalid-utf8", "a\xff@b.example", FALSE },
  { "control-in-resource", "a@b.example/x\x01", FALSE },
  { "empty", "", FALSE },
};

static void
test_jid_parse (gconstpointer data)
{
  const JidParseCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxJid) jid = stox_jid_parse (c->text, &error);

  if (!c->ok)
    {
      g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);
      g_assert_null (jid);
      return;
    }
  g_assert_no_error (error);
  g_assert_cmpstr (jid->local, ==, c->local);
  g_assert_cmpstr (jid->domain, ==, c->domain);
  g_assert_cmpstr (jid->resource, ==, c->resource);
}

/* ---- XEP-0106 transforms (docs/mappings.md §6) ------------------------ */

typedef struct
{
  const char *name;
  const char *in;
  const char *out;   /* NULL: refused */
} XformCase;

static const XformCase escape_rows[] = {
  /* XEP-0106 §5.1 examples #1–#8 and #12. */
  { "space", "space cadet", "space\\20cadet" },
  { "quote", "call me \"ishmael\"", "call\\20me\\20\\22ishmael\\22" },
  { "ampersand", "at&t guy", "at\\26t\\20guy" },
  { "apostrophe", "d'artagnan", "d\\27artagnan" },
  { "slash", "/.fanboy", "\\2f.fanboy" },
  { "colon", "::foo::", "\\3a\\3afoo\\3a\\3a" },
  { "less-greater", "<foo>", "\\3cfoo\\3e" },
  { "at", "user@host", "user\\40host" },
  { "backslash-5c", "c:\\5commas", "c\\3a\\5c5commas" },
  /* XEP-0106 §4 rule 7 and "Exceptions": a backslash that starts no
   * sequence stays.  (The XEP's table #9–#11 escapes it; see address.c.) */
  { "backslash-alone", "c:\\net", "c\\3a\\net" },
  { "backslash-double", "c:\\\\net", "c\\3a\\\\net" },
  { "backslash-and-space", "c:\\cool stuff", "c\\3a\\cool\\20stuff" },
  { "backslash-each-sequence",
    "\\20\\22\\26\\27\\2f\\3a\\3c\\3e\\40\\5c",
    "\\5c20\\5c22\\5c26\\5c27\\5c2f\\5c3a\\5c3c\\5c3e\\5c40\\5c5c" },
  { "partial-sequences", "\\2plus\\2is\\4", "\\2plus\\2is\\4" },
  { "invalid-sequence-1", "foo\\bar", "foo\\bar" },
  { "invalid-sequence-2", "foob\\41r", "foob\\41r" },
  { "uppercase-hex", "a\\2Fb", "a\\2Fb" },
  { "wv-example", "\\3and\\2is\\5cool", "\\5c3and\\2is\\5c5cool" },
  { "irc-example", "somenick!user\"&'/:<>\\3address",
    "somenick!user\\22\\26\\27\\2f\\3a\\3c\\3e\\5c3address" },
  { "no-case-mapping", "Alice", "Alice" },
  { "non-ascii", "fü", "fü" },
  { "empty", "", "" },
  { "leading-space", " a", NULL },
  { "trailing-space", "a ", NULL },
  { "invalid-utf8", "\xff", NULL },
};

static const XformCase unescape_rows[] = {
  { "space", "a\\20b", "a b" },
  { "quote", "a\\22b", "a\"b" },
  { "ampersand", "a\\26b", "a&b" },
  { "apostrophe", "d\\27artagnan", "d'artagnan" },
  { "slash", "a\\2fb", "a/b" },
  { "colon", "a\\3ab", "a:b" },
  { "less", "a\\3cb", "a<b" },
  { "greater", "a\\3eb", "a>b" },
  { "at", "a\\40b", "a@b" },
  { "backslash", "a\\5cb", "a\\b" },
  { "xep-table-9", "c\\3a\\5cnet", "c:\\net" },
  { "our-form-9", "c\\3a\\net", "c:\\net" },
  { "xep-table-10", "c\\3a\\5c\\5cnet", "c:\\\\net" },
  { "xep-table-11", "c\\3a\\5ccool\\20stuff", "c:\\cool stuff" },
  { "xep-table-12", "c\\3a\\5c5commas", "c:\\5commas" },
  { "wv-example", "\\5c3and\\2is\\5c5cool", "\\3and\\2is\\5cool" },
  { "double-escape", "\\5c5c", "\\5c" },
  { "partial-sequences", "\\2plus\\2is\\4", "\\2plus\\2is\\4" },
  { "invalid-sequence-1", "foo\\bar", "foo\\bar" },
  { "invalid-sequence-2", "foob\\41r", "foob\\41r" },
  { "uppercase-hex-2F", "a\\2Fb", "a\\2Fb" },
  { "uppercase-hex-5C", "a\\5Cb", "a\\5Cb" },
  { "trailing-backslash", "a\\", "a\\" },
  { "trailing-half-sequence", "a\\2", "a\\2" },
  { "invalid-utf8", "\\20\xff", NULL },
};

static void
test_escape (gconstpointer data)
{
  const XformCase *c = data;
  g_autofree char *out = stox_xep0106_escape (c->in);

  g_assert_cmpstr (out, ==, c->out);
}

static void
test_unescape (gconstpointer data)
{
  const XformCase *c = data;
  g_autofree char *out = stox_xep0106_unescape (c->in);

  g_assert_cmpstr (out, ==, c->out);
}

/* ---- The two localpart mappings on their own ------------------------- */

static const XformCase user_to_local_rows[] = {
  { "space-inside", "a b", "a\\20b" },
  { "case-then-escape", "O'Malley", "o\\27malley" },
  { "only-a-special", "@", "\\40" },
  { "backslash-20", "\\20", "\\5c20" },
  { "empty", "", NULL },
  { "control-tab", "a\tb", NULL },
  { "control-soh", "a\x01" "b", NULL },
  { "control-del", "a\x7f", NULL },
  { "control-c1", "a\xc2\x80", NULL },
  { "control-c1-last", "a\xc2\x9f" "b", NULL },
  { "control-us", "a\x1f", NULL },
  { "latin-small-e-acute", "a\xc3\xa9" "b", "a\xc3\xa9" "b" },
  { "latin-then-control", "\xc3\xa9\x01", NULL },
  { "invalid-utf8", "a\xc3", NULL },
  { "line-separator", "a\u2028b", NULL },
  { "ideographic-space-only", "\u3000", NULL },
  { "space-first", " a", NULL },
  { "space-last", "a ", NULL },
};

static void
test_user_to_local (gconstpointer data)
{
  const XformCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = stox_address_user_to_jid_local (c->in, &error);

  if (c->out == NULL)
    g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);
  else
    g_assert_no_error (error);
  g_assert_cmpstr (out, ==, c->out);
}

static const XformCase local_to_user_rows[] = {
  { "plain", "alice", "alice" },
  { "backslash-escape", "\\5c", "%5C" },
  { "only-an-escape", "\\40", "%40" },
  { "empty", "", NULL },
  { "control", "a\x01", NULL },
  { "control-del", "a\x7f", NULL },
  { "control-c1", "\xc3\xa9\xc2\x85", NULL },
  { "invalid-utf8", "a\xff", NULL },
  { "raw-space", "a b", NULL },
  { "raw-quote", "a\"b", NULL },
  { "raw-ampersand", "a&b", NULL },
  { "raw-apostrophe", "a'b", NULL },
  { "raw-slash", "a/b", NULL },
  { "raw-colon", "a:b", NULL },
  { "raw-less", "a<b", NULL },
  { "raw-greater", "a>b", NULL },
  { "raw-at", "a@b", NULL },
  { "escaped-space-first", "\\20a", NULL },
  { "escaped-space-last", "a\\20", NULL },
  { "escaped-space-only", "\\20", NULL },
};

static void
test_local_to_user (gconstpointer data)
{
  const XformCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = stox_address_jid_local_to_user (c->in, &error);

  if (c->out == NULL)
    g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);
  else
    g_assert_no_error (error);
  g_assert_cmpstr (out, ==, c->out);
}

/* The key form of a localpart: what stox_address_jid_local_to_user()
 * maps, escaped again. */
static const XformCase local_fold_rows[] = {
  { "plain", "alice", "alice" },
  { "upper", "ALICE", "alice" },
  { "mixed-escaped", "John\\20Doe", "john\\20doe" },
  { "escape-kept", "o\\27Malley", "o\\27malley" },
  { "non-ascii", "Über", "über" },
  { "literal-backslash", "foo\\bar", "foo\\bar" },
  { "empty", "", NULL },
  { "raw-at", "a@b", NULL },
};

static void
test_local_fold (gconstpointer data)
{
  const XformCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = stox_address_jid_local_fold (c->in, &error);

  if (c->out == NULL)
    g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);
  else
    g_assert_no_error (error);
  g_assert_cmpstr (out, ==, c->out);
  if (out != NULL)
    {
      /* Folding is idempotent and maps to the same SIP user. */
      g_autofree char *again = stox_address_jid_local_fold (out, &error);
      g_autofree char *u1 = stox_address_jid_local_to_user (c->in, NULL);
      g_autofree char *u2 = stox_address_jid_local_to_user (out, NULL);

      g_assert_no_error (error);
      g_assert_cmpstr (again, ==, out);
      g_assert_cmpstr (u1, ==, u2);
    }
}

/* ---- Round trips ---------------------------------------------------- */

/* Decodes a percent-encoded user part through the parser itself. */
static char *
decode_user (const char *encoded)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = g_strdup_printf ("sip:%s@h.example", encoded);
  g_autoptr (StoxSipUri) uri = stox_sip_uri_parse (text, &error);

  g_assert_no_error (error);
  return g_strdup (uri->user);
}

typedef struct
{
  const char *name;
  const char *user;    /* percent-encoded, as in a sip: URI */
  const char *back;    /* what comes back; NULL: the same */
} UserRoundTrip;

static const UserRoundTrip user_round_trips[] = {
  { "plain", "alice" },
  { "apostrophe", "o'malley" },
  { "non-ascii", "f%C3%BC" },
  { "space", "a%20b" },
  { "ampersand", "m&m" },
  { "slash", "x/y" },
  { "backslash-sequence", "%5C27" },
  { "backslash-plain", "a%5Cb" },
  { "at", "%40home" },
  { "colon-angles-quote", "%3A%3C%3E%22" },
  { "semicolon-equals", "a;b=c" },
  { "euro", "%E2%82%AC" },
  { "emoji", "%F0%9F%98%80" },
  { "xep0106-example", "here's_a_wild_&_/cr%25zy/_address" },
  { "backslash-5c-and-20", "%5C5c%5C20" },
  { "backslash-net", "c%3A%5Cnet" },
  { "percent", "100%25" },
  { "sip-disallowed", "a%23b%5B%5D%5E%7B%7D%7C%60" },
  /* Equivalent encodings come back in the one canonical form. */
  { "unreserved-escaped", "%61lice", "alice" },
  { "apostrophe-escaped", "o%27malley", "o'malley" },
  { "slash-escaped-lowercase", "x%2fy", "x/y" },
  { "lowercase-hex", "f%c3%bc", "f%C3%BC" },
  /* Case is folded once and then stable. */
  { "upper-ascii", "Alice", "alice" },
  { "upper-non-ascii", "%C3%9Cber", "%C3%BCber" },
};

static void
test_round_trip_user (gconstpointer data)
{
  const UserRoundTrip *c = data;
  const char *want = c->back != NULL ? c->back : c->user;
  g_autoptr (GError) error = NULL;
  g_autofree char *decoded = decode_user (c->user);
  g_autofree char *local = stox_address_user_to_jid_local (decoded, &error);
  g_autofree char *user = NULL;
  g_autofree char *local2 = NULL;
  g_autofree char *want_decoded = NULL;
  g_autofree char *user_decoded = NULL;

  g_assert_no_error (error);
  user = stox_address_jid_local_to_user (local, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (user, ==, want);

  /* Equivalent as SIP compares them: the same text once decoded. */
  want_decoded = decode_user (want);
  user_decoded = decode_user (user);
  g_assert_cmpstr (user_decoded, ==, want_decoded);

  /* And the JID side is a fixed point. */
  local2 = stox_address_user_to_jid_local (user_decoded, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (local2, ==, local);
}

static const char *const local_round_trips[] = {
  "alice", "o\\27malley", "m\\26m", "a\\5c20b", "tschüss", "\\3cfoo\\3e",
  "foo\\bar", "\\5c5c", "c\\3a\\net", "100%", "a\\20b", "\\2f", "\\40",
  "a\\bc\\", "\\5c3and\\2is\\5c5cool",
};

static void
test_round_trip_local (gconstpointer data)
{
  const char *local = data;
  g_autoptr (GError) error = NULL;
  g_autofree char *user = stox_address_jid_local_to_user (local, &error);
  g_autofree char *decoded = NULL;
  g_autofree char *back = NULL;

  g_assert_no_error (error);
  decoded = decode_user (user);
  back = stox_address_user_to_jid_local (decoded, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back, ==, local);
}

/* The XEP's table form "\5cnet" is not our canonical form, but it names
 * the same user and comes back canonical; so does an unneeded trailing
 * "\5c".  (XEP-0106's conditional backslash escaping makes such pairs
 * unavoidable; the gateway only ever produces the canonical one.) */
static void
test_round_trip_xep_table_backslash (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *user = stox_address_jid_local_to_user ("c\\3a\\5cnet",
                                                          &error);
  g_autofree char *decoded = NULL;
  g_autofree char *back = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (user, ==, "c%3A%5Cnet");
  decoded = decode_user (user);
  back = stox_address_user_to_jid_local (decoded, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back, ==, "c\\3a\\net");
  g_clear_pointer (&user, g_free);
  g_clear_pointer (&decoded, g_free);
  g_clear_pointer (&back, g_free);

  user = stox_address_jid_local_to_user ("a\\bc\\5c", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (user, ==, "a%5Cbc%5C");
  decoded = decode_user (user);
  back = stox_address_user_to_jid_local (decoded, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back, ==, "a\\bc\\");
}

/* Every printable ASCII character, between two letters, survives
 * SIP → JID → SIP (lower-cased) and yields a valid localpart. */
static void
test_round_trip_ascii (void)
{
  for (char ch = 0x21; ch < 0x7f; ch++)
    {
      g_autoptr (GError) error = NULL;
      char user[] = { 'a', ch, 'b', '\0' };
      char want[] = { 'a', g_ascii_tolower (ch), 'b', '\0' };
      g_autofree char *local = stox_address_user_to_jid_local (user, &error);
      g_autofree char *back = NULL;
      g_autofree char *decoded = NULL;
      g_autofree char *jid_text = NULL;
      g_autoptr (StoxJid) jid = NULL;

      if (g_test_verbose ())
        g_test_message ("character 0x%02x", ch);
      g_assert_no_error (error);
      jid_text = g_strconcat (local, "@x.example", NULL);
      jid = stox_jid_parse (jid_text, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (jid->local, ==, local);

      back = stox_address_jid_local_to_user (local, &error);
      g_assert_no_error (error);
      decoded = decode_user (back);
      g_assert_cmpstr (decoded, ==, want);
    }
}

/* Random strings over the characters that interact (backslash, hex
 * digits, the specials, "%", non-ASCII): the mapping is a bijection on
 * lower-case input.  Reproducible with --seed. */
static void
test_round_trip_random (void)
{
  static const char *const alphabet[] = {
    "a", "2", "0", "5", "c", "7", "f", "e", "\\", " ", "\"", "&", "'", "/",
    ":", "<", ">", "@", "%", ";", "ü", "\u03c3", "#",
  };

  for (guint n = 0; n < 2000; n++)
    {
      g_autoptr (GString) s = g_string_new (NULL);
      g_autoptr (GError) error = NULL;
      g_autofree char *local = NULL;
      g_autofree char *user = NULL;
      g_autofree char *decoded = NULL;
      g_autofree char *escaped = NULL;
      g_autofree char *unescaped = NULL;
      gint len = g_test_rand_int_range (1, 13);

      for (gint i = 0; i < len; i++)
        g_string_append (s, alphabet[g_test_rand_int_range (
                                0, (gint32) G_N_ELEMENTS (alphabet))]);
      if (s->str[0] == ' ' || s->str[s->len - 1] == ' ')
        continue;

      if (g_test_verbose ())
        g_test_message ("input '%s'", s->str);
      escaped = stox_xep0106_escape (s->str);
      unescaped = stox_xep0106_unescape (escaped);
      g_assert_cmpstr (unescaped, ==, s->str);

      local = stox_address_user_to_jid_local (s->str, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (local, ==, escaped);
      user = stox_address_jid_local_to_user (local, &error);
      g_assert_no_error (error);
      decoded = decode_user (user);
      g_assert_cmpstr (decoded, ==, s->str);
    }
}

/* ---- Limits: 1023 octets after mapping (RFC 7622 §3) ----------------- */

static char *
repeat (const char *unit,
        guint       n)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append (s, unit);
  return g_string_free (s, FALSE);
}

static void
assert_local_len (const char *unit,
                  guint       n,
                  gssize      want_len)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *user = repeat (unit, n);
  g_autofree char *local = stox_address_user_to_jid_local (user, &error);

  if (want_len < 0)
    {
      g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);
      g_assert_null (local);
    }
  else
    {
      g_assert_no_error (error);
      g_assert_cmpuint (strlen (local), ==, (gsize) want_len);
    }
}

static void
test_limit_plain (void)
{
  assert_local_len ("a", 1023, 1023);
  assert_local_len ("a", 1024, -1);
}

static void
test_limit_escape_growth (void)
{
  /* 341 × "'" → 341 × "\27" = 1023 octets; one more is over. */
  assert_local_len ("'", 341, 1023);
  assert_local_len ("'", 342, -1);
}

static void
test_limit_multibyte (void)
{
  assert_local_len ("ü", 511, 1022);
  assert_local_len ("ü", 512, -1);
}

static void
test_limit_case_growth (void)
{
  /* "İ" (2 octets) lower-cases to "i" U+0307 (3 octets). */
  assert_local_len ("\u0130", 341, 1023);
  assert_local_len ("\u0130", 342, -1);
}

static void
test_limit_via_uri (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *user = repeat ("%61", 1024);
  g_autofree char *text = g_strdup_printf ("sip:%s@h.example", user);
  g_autoptr (StoxSipUri) uri = stox_sip_uri_parse (text, &error);
  g_autofree char *jid = NULL;

  g_assert_no_error (error);
  jid = stox_address_sip_to_jid (uri, "xmpp.example", &error);
  g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);
  g_assert_null (jid);
}

static void
test_limit_gr (void)
{
  for (guint n = 1023; n <= 1024; n++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *gr = repeat ("r", n);
      g_autofree char *text = g_strdup_printf ("sip:u@h.example;gr=%s", gr);
      g_autoptr (StoxSipUri) uri = stox_sip_uri_parse (text, &error);
      g_autofree char *jid = NULL;

      g_assert_no_error (error);
      jid = stox_address_sip_to_jid (uri, "xmpp.example", &error);
      if (n == 1023)
        {
          g_assert_no_error (error);
          g_assert_true (g_str_has_suffix (jid, gr));
        }
      else
        {
          g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);
          g_assert_null (jid);
        }
    }
}

static void
test_limit_jid_parts (void)
{
  for (guint part = 0; part < 3; part++)
    for (guint n = 1023; n <= 1024; n++)
      {
        g_autoptr (GError) error = NULL;
        g_autofree char *big = repeat ("x", n);
        g_autofree char *text = NULL;
        g_autoptr (StoxJid) jid = NULL;

        switch (part)
          {
          case 0:
            text = g_strconcat (big, "@d.example/r", NULL);
            break;
          case 1:
            text = g_strconcat ("l@", big, "/r", NULL);
            break;
          default:
            text = g_strconcat ("l@d.example/", big, NULL);
            break;
          }
        jid = stox_jid_parse (text, &error);
        if (n == 1023)
          g_assert_no_error (error);
        else
          {
            g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);
            g_assert_null (jid);
          }
      }
}

static void
test_limit_local_to_user (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ok_local = repeat ("\\27", 341);
  g_autofree char *big_local = repeat ("a", 1024);
  g_autofree char *user = stox_address_jid_local_to_user (ok_local, &error);
  g_autofree char *none = NULL;

  /* The SIP side has no such limit: 1023 octets of escapes → 341 "'". */
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (user), ==, 341);
  none = stox_address_jid_local_to_user (big_local, &error);
  g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);
  g_assert_null (none);
}

static void
test_limit_jid_to_sip_resource (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *big = repeat ("r", 1024);
  StoxJid jid = { (char *) "u", (char *) "x.example", big };
  g_autofree char *sip = stox_address_jid_to_sip (&jid, "sip.example",
                                                  &error);

  g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);
  g_assert_null (sip);
}

/* ---- Hand-built structs, NULL safety, the error domain --------------- */

static void
test_hand_built_uri (void)
{
  g_autoptr (GError) error = NULL;
  StoxSipUri uri = { FALSE, (char *) "Bob", (char *) "h.example", 0,
                     (char *) "a\x01" };
  g_autofree char *jid = stox_address_sip_to_jid (&uri, "xmpp.example",
                                                  &error);

  /* A gr with a control character is refused even when it did not come
   * through the parser. */
  g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);
  g_assert_null (jid);
  g_clear_error (&error);

  uri.gr = (char *) "";
  jid = stox_address_sip_to_jid (&uri, "xmpp.example", &error);
  g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);
  g_assert_null (jid);
  g_clear_error (&error);

  uri.gr = NULL;
  uri.sips = TRUE;
  jid = stox_address_sip_to_jid (&uri, "xmpp.example", &error);
  g_assert_error (error, STOX_ADDRESS_ERROR, SIPS);
  g_assert_null (jid);
  g_clear_error (&error);

  uri.sips = FALSE;
  jid = stox_address_sip_to_jid (&uri, "xmpp.example", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (jid, ==, "bob@xmpp.example");
}

static void
test_null_safety (void)
{
  g_autoptr (GError) error = NULL;
  StoxSipUri uri = { FALSE, (char *) "u", (char *) "h.example", 0, NULL };
  StoxJid jid = { (char *) "u", (char *) "x.example", NULL };

  stox_sip_uri_free (NULL);
  stox_jid_free (NULL);
  g_assert_null (stox_xep0106_escape (NULL));
  g_assert_null (stox_xep0106_unescape (NULL));

  /* A NULL GError ** is allowed everywhere. */
  g_assert_null (stox_sip_uri_parse ("tel:+1", NULL));
  g_assert_null (stox_sip_uri_parse ("sip:a%zz@h", NULL));
  g_assert_null (stox_jid_parse ("@x", NULL));
  g_assert_null (stox_address_user_to_jid_local ("", NULL));
  g_assert_null (stox_address_jid_local_to_user (NULL, NULL));

#define ASSERT_MALFORMED(call)                                    \
  G_STMT_START                                                    \
  {                                                               \
    g_autofree char *r_ = (call);                                 \
    g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);        \
    g_assert_null (r_);                                           \
    g_clear_error (&error);                                       \
  }                                                               \
  G_STMT_END

  g_assert_null (stox_sip_uri_parse (NULL, &error));
  g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);
  g_clear_error (&error);
  g_assert_null (stox_jid_parse (NULL, &error));
  g_assert_error (error, STOX_ADDRESS_ERROR, MALFORMED);
  g_clear_error (&error);
  ASSERT_MALFORMED (stox_address_user_to_jid_local (NULL, &error));
  ASSERT_MALFORMED (stox_address_jid_local_to_user (NULL, &error));
  ASSERT_MALFORMED (stox_address_sip_to_jid (NULL, "x.example", &error));
  ASSERT_MALFORMED (stox_address_sip_to_jid (&uri, NULL, &error));
  ASSERT_MALFORMED (stox_address_sip_to_jid (&uri, "", &error));
  ASSERT_MALFORMED (stox_address_jid_to_sip (NULL, "s.example", &error));
  ASSERT_MALFORMED (stox_address_jid_to_sip (&jid, NULL, &error));
  ASSERT_MALFORMED (stox_address_jid_to_sip (&jid, "", &error));
  uri.user = NULL;
  ASSERT_MALFORMED (stox_address_sip_to_jid (&uri, "x.example", &error));
  jid.local = NULL;
  ASSERT_MALFORMED (stox_address_jid_to_sip (&jid, "s.example", &error));
#undef ASSERT_MALFORMED
}

static void
test_error_quark (void)
{
  g_assert_cmpstr (g_quark_to_string (STOX_ADDRESS_ERROR), ==,
                   "stox-address-error-quark");
  g_assert_cmpuint (STOX_ADDRESS_ERROR, ==, stox_address_error_quark ());
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  ADD_ROWS ("/address/parse-sip", parse_rows, test_parse);
  ADD_ROWS ("/address/sip-to-jid", sip_to_jid_rows, test_sip_to_jid);
  ADD_ROWS ("/address/jid-to-sip", jid_to_sip_rows, test_jid_to_sip);
  ADD_ROWS ("/address/parse-jid", jid_parse_rows, test_jid_parse);
  ADD_ROWS ("/address/xep0106/escape", escape_rows, test_escape);
  ADD_ROWS ("/address/xep0106/unescape", unescape_rows, test_unescape);
  ADD_ROWS ("/address/user-to-local", user_to_local_rows,
            test_user_to_local);
  ADD_ROWS ("/address/local-to-user", local_to_user_rows,
            test_local_to_user);
  ADD_ROWS ("/address/local-fold", local_fold_rows, test_local_fold);
  ADD_ROWS ("/address/round-trip/sip-user", user_round_trips,
            test_round_trip_user);
  for (gsize i = 0; i < G_N_ELEMENTS (local_round_trips); i++)
    {
      g_autofree char *path = g_strdup_printf (
          "/address/round-trip/jid-local/%zu", i);
      g_test_add_data_func (path, local_round_trips[i],
                            test_round_trip_local);
    }
  g_test_add_func ("/address/round-trip/xep-table-backslash",
                   test_round_trip_xep_table_backslash);
  g_test_add_func ("/address/round-trip/every-ascii-character",
                   test_round_trip_ascii);
  g_test_add_func ("/address/round-trip/random", test_round_trip_random);

  g_test_add_func ("/address/limits/plain", test_limit_plain);
  g_test_add_func ("/address/limits/escape-growth", test_limit_escape_growth);
  g_test_add_func ("/address/limits/multibyte", test_limit_multibyte);
  g_test_add_func ("/address/limits/case-growth", test_limit_case_growth);
  g_test_add_func ("/address/limits/via-uri", test_limit_via_uri);
  g_test_add_func ("/address/limits/gr", test_limit_gr);
  g_test_add_func ("/address/limits/jid-parts", test_limit_jid_parts);
  g_test_add_func ("/address/limits/local-to-user", test_limit_local_to_user);
  g_test_add_func ("/address/limits/jid-to-sip-resource",
                   test_limit_jid_to_sip_resource);

  g_test_add_func ("/address/hand-built-uri", test_hand_built_uri);
  g_test_add_func ("/address/null-safety", test_null_safety);
  g_test_add_func ("/address/error-quark", test_error_quark);

  return g_test_run ();
}
