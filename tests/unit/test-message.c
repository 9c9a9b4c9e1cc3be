/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Message content mapping (docs/mappings.md §3.3–§3.5,
 * §4): every content type, charset, CPIM shape, isComposing document and
 * hostile input the SIP side can send.  (The size of the MESSAGE the SIP
 * front end writes is tests/frontend/test-sip-message-size's.) */
#include "config.h"

#include <string.h>

#include <libxml/parser.h>

#include "core/iscomposing.h"
#include "core/message.h"

/* Expected error, shifted so that 0 means success. */
#define E(code) (STOX_MESSAGE_ERROR_ ## code + 1)
/* A body with embedded NULs: its length is taken from the literal. */
#define BIN(s) .body = (s), .n = sizeof (s) - 1

typedef struct
{
  const char   *path;
  const char   *type;
  const char   *charset;
  const char   *body;
  gsize         n;           /* 0: strlen (body) */
  gboolean      null_body;   /* pass no GBytes at all */
  int           err;         /* E(…) or 0 */
  const char   *msg;         /* substring the error message must contain */
  const char   *out;         /* expected body when state is NONE */
  StoxChatState state;       /* expected chat state; body must be NULL */
  const char   *subject;
  const char   *lang;
} DecodeRow;

#define IC_NS "urn:ietf:params:xml:ns:im-iscomposing"
#define IC_DOC(state) \
  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" \
  "<isComposing xmlns=\"" IC_NS "\">\n" \
  "  <state>" state "</state>\n" \
  "</isComposing>\n"

#define CPIM_HDRS \
  "From: MR SANDERS <im:piglet@100akerwood.com>\r\n" \
  "To: Depressed Donkey <im:eeyore@100akerwood.com>\r\n" \
  "DateTime: 2000-12-13T13:40:00-08:00\r\n"
#define CPIM_TEXT(body) \
  CPIM_HDRS "\r\n" "Content-Type: text/plain\r\n" "\r\n" body

#define BILLION_LAUGHS \
  "<?xml version=\"1.0\"?>\n" \
  "<!DOCTYPE lolz [\n" \
  " <!ENTITY lol \"lol\">\n" \
  " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n" \
  " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n" \
  " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n" \
  " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n" \
  " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n" \
  " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n" \
  " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n" \
  " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n" \
  " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n" \
  "]>\n" \
  "<isComposing xmlns=\"" IC_NS "\"><state>&lol9;</state></isComposing>\n"

static const DecodeRow decode_rows[] = {
  /* ---- text/plain, UTF-8 ---- */
  { .path = "/message/decode/plain/ascii", .type = "text/plain",
    .body = "hello", .out = "hello" },
  { .path = "/message/decode/plain/utf8-default", .type = "text/plain",
    .body = "caf\xc3\xa9 \xe2\x98\x83", .out = "caf\xc3\xa9 \xe2\x98\x83" },
  { .path = "/message/decode/plain/utf8-explicit", .type = "text/plain",
    .charset = "utf-8", .body = "caf\xc3\xa9", .out = "caf\xc3\xa9" },
  { .path = "/message/decode/plain/utf8-upper", .type = "text/plain",
    .charset = "UTF-8", .body = "caf\xc3\xa9", .out = "caf\xc3\xa9" },
  { .path = "/message/decode/plain/utf8-alias", .type = "text/plain",
    .charset = "utf8", .body = "caf\xc3\xa9", .out = "caf\xc3\xa9" },
  { .path = "/message/decode/plain/utf8-quoted", .type = "text/plain",
    .charset = "\"utf-8\"", .body = "caf\xc3\xa9", .out = "caf\xc3\xa9" },
  { .path = "/message/decode/plain/utf8-4byte", .type = "text/plain",
    .body = "\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbd",
    .out = "\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbd" },
  { .path = "/message/decode/plain/type-case", .type = "Text/Plain",
    .body = "x", .out = "x" },
  { .path = "/message/decode/plain/empty", .type = "text/plain",
    .body = "", .out = "" },
  { .path = "/message/decode/plain/no-body", .type = "text/plain",
    .null_body = TRUE, .out = "" },
  { .path = "/message/decode/plain/bom-stripped", .type = "text/plain",
    .body = "\xef\xbb\xbfhi", .out = "hi" },
  { .path = "/message/decode/plain/bom-only", .type = "text/plain",
    .body = "\xef\xbb\xbf", .out = "" },
  { .path = "/message/decode/plain/bom-only-once", .type = "text/plain",
    .body = "\xef\xbb\xbf\xef\xbb\xbfhi", .out = "\xef\xbb\xbfhi" },
  { .path = "/message/decode/plain/line-ends-kept", .type = "text/plain",
    .body = "a\r\nb\nc\td", .out = "a\r\nb\nc\td" },
  /* Escaping is the XMPP front end's job: the text passes literally. */
  { .path = "/message/decode/plain/xml-special-literal",
    .type = "text/plain", .body = "<b>&amp;</b>", .out = "<b>&amp;</b>" },
  { .path = "/message/decode/plain/xml-special-more", .type = "text/plain",
    .body = "]]> <![CDATA[x]]> \"' <?pi?> &#0; &lt;",
    .out = "]]> <![CDATA[x]]> \"' <?pi?> &#0; &lt;" },
  { .path = "/message/decode/plain/del-and-c1-allowed", .type = "text/plain",
    .body = "a\x7f" "b\xc2\x85", .out = "a\x7f" "b\xc2\x85" },

  /* ---- text/plain, invalid UTF-8 and unwanted characters ---- */
  { .path = "/message/decode/plain/invalid/overlong-2", .type = "text/plain",
    .body = "a\xc0\xaf", .err = E (BAD_ENCODING), .msg = "invalid UTF-8 at byte 1" },
  { .path = "/message/decode/plain/invalid/overlong-3", .type = "text/plain",
    .body = "\xe0\x80\xaf", .err = E (BAD_ENCODING), .msg = "invalid UTF-8" },
  { .path = "/message/decode/plain/invalid/overlong-nul", .type = "text/plain",
    .body = "\xc0\x80", .err = E (BAD_ENCODING), .msg = "invalid UTF-8" },
  { .path = "/message/decode/plain/invalid/surrogate", .type = "text/plain",
    .body = "\xed\xa0\x80", .err = E (BAD_ENCODING), .msg = "invalid UTF-8" },
  { .path = "/message/decode/plain/invalid/cesu-pair", .type = "text/plain",
    .body = "\xed\xa0\xbd\xed\xb8\x80", .err = E (BAD_ENCODING) },
  { .path = "/message/decode/plain/invalid/truncated", .type = "text/plain",
    .body = "ok\xe2\x82", .err = E (BAD_ENCODING), .msg = "at byte 2" },
  { .path = "/message/decode/plain/invalid/truncated-4", .type = "text/plain",
    .body = "\xf0\x9f\x98", .err = E (BAD_ENCODING) },
  { .path = "/message/decode/plain/invalid/lone-continuation",
    .type = "text/plain", .body = "\x80", .err = E (BAD_ENCODING) },
  { .path = "/message/decode/plain/invalid/above-10ffff", .type = "text/plain",
    .body = "\xf4\x90\x80\x80", .err = E (BAD_ENCODING) },
  { .path = "/message/decode/plain/invalid/ff", .type = "text/plain",
    .body = "\xff", .err = E (BAD_ENCODING) },
  { .path = "/message/decode/plain/invalid/latin1-as-utf8",
    .type = "text/plain", .body = "caf\xe9", .err = E (BAD_ENCODING) },
  { .path = "/message/decode/plain/nul", .type = "text/plain",
    BIN ("a\0b"), .err = E (BAD_ENCODING), .msg = "NUL character at byte 1" },
  { .path = "/message/decode/plain/nul-only", .type = "text/plain",
    BIN ("\0"), .err = E (BAD_ENCODING), .msg = "NUL" },
  { .path = "/message/decode/plain/control-char", .type = "text/plain",
    .body = "a\x01", .err = E (BAD_ENCODING), .msg = "U+0001" },
  { .path = "/message/decode/plain/escape-char", .type = "text/plain",
    .body = "\x1b[31mred", .err = E (BAD_ENCODING), .msg = "U+001B" },
  { .path = "/message/decode/plain/noncharacter-fffe", .type = "text/plain",
    .body = "a\xef\xbf\xbe", .err = E (BAD_ENCODING), .msg = "U+FFFE" },
  { .path = "/message/decode/plain/noncharacter-ffff", .type = "text/plain",
    .body = "\xef\xbf\xbf", .err = E (BAD_ENCODING), .msg = "U+FFFF" },

  /* ---- text/plain, other charsets ---- */
  { .path = "/message/decode/plain/latin1", .type = "text/plain",
    .charset = "iso-8859-1", .body = "caf\xe9 \xbd", .out = "caf\xc3\xa9 \xc2\xbd" },
  { .path = "/message/decode/plain/latin1-alias", .type = "text/plain",
    .charset = "Latin1", .body = "caf\xe9", .out = "caf\xc3\xa9" },
  { .path = "/message/decode/plain/latin1-empty", .type = "text/plain",
    .charset = "iso-8859-1", .body = "", .out = "" },
  { .path = "/message/decode/plain/latin1-nul", .type = "text/plain",
    .charset = "iso-8859-1", BIN ("a\0"), .err = E (BAD_ENCODING), .msg = "NUL" },
  { .path = "/message/decode/plain/latin15", .type = "text/plain",
    .charset = "iso-8859-15", .body = "\xa4", .out = "\xe2\x82\xac" },
  { .path = "/message/decode/plain/windows-1252", .type = "text/plain",
    .charset = "windows-1252", .body = "\x80 \x93q\x94",
    .out = "\xe2\x82\xac \xe2\x80\x9cq\xe2\x80\x9d" },
  { .path = "/message/decode/plain/windows-1252-undefined",
    .type = "text/plain", .charset = "windows-1252", .body = "a\x81",
    .err = E (BAD_ENCODING), .msg = "invalid windows-1252 at byte 1" },
  { .path = "/message/decode/plain/us-ascii", .type = "text/plain",
    .charset = "us-ascii", .body = "plain", .out = "plain" },
  { .path = "/message/decode/plain/us-ascii-high", .type = "text/plain",
    .charset = "us-ascii", .body = "caf\xe9", .err = E (BAD_ENCODING),
    .msg = "at byte 3" },
  { .path = "/message/decode/plain/utf16-bom-le", .type = "text/plain",
    .charset = "utf-16", BIN ("\xff\xfeh\0i\0"), .out = "hi" },
  { .path = "/message/decode/plain/utf16-bom-be", .type = "text/plain",
    .charset = "UTF-16", BIN ("\xfe\xff\0h\0i"), .out = "hi" },
  { .path = "/message/decode/plain/utf16-no-bom-is-be", .type = "text/plain",
    .charset = "utf-16", BIN ("\0h\0i"), .out = "hi" },
  { .path = "/message/decode/plain/utf16le-bom-stripped", .type = "text/plain",
    .charset = "utf-16le", BIN ("\xff\xfeh\0i\0"), .out = "hi" },
  { .path = "/message/decode/plain/utf16be", .type = "text/plain",
    .charset = "utf-16be", BIN ("\0c\0a\0f\0\xe9"), .out = "caf\xc3\xa9" },
  { .path = "/message/decode/plain/utf16-odd-length", .type = "text/plain",
    .charset = "utf-16", BIN ("\0h\0"), .err = E (BAD_ENCODING),
    .msg = "truncated" },
  { .path = "/message/decode/plain/utf16-lone-high-surrogate",
    .type = "text/plain", .charset = "utf-16be", BIN ("\xd8\x00"),
    .err = E (BAD_ENCODING) },
  { .path = "/message/decode/plain/utf16-lone-low-surrogate",
    .type = "text/plain", .charset = "utf-16be", BIN ("\xdc\x00\0a"),
    .err = E (BAD_ENCODING) },
  { .path = "/message/decode/plain/utf16-nul", .type = "text/plain",
    .charset = "utf-16be", BIN ("\0a\0\0"), .err = E (BAD_ENCODING),
    .msg = "NUL" },
  { .path = "/message/decode/plain/utf32", .type = "text/plain",
    .charset = "utf-32", BIN ("\0\0\0h\0\0\0i"), .out = "hi" },
  { .path = "/message/decode/plain/unknown-charset", .type = "text/plain",
    .charset = "x-klingon", .body = "a", .err = E (BAD_ENCODING),
    .msg = "unknown charset \"x-klingon\"" },
  { .path = "/message/decode/plain/charset-translit-refused",
    .type = "text/plain", .charset = "iso-8859-1//TRANSLIT", .body = "a",
    .err = E (BAD_ENCODING), .msg = "invalid charset name" },
  { .path = "/message/decode/plain/charset-ignore-refused",
    .type = "text/plain", .charset = "utf-16//IGNORE", .body = "a",
    .err = E (BAD_ENCODING), .msg = "invalid charset name" },
  { .path = "/message/decode/plain/charset-path-refused",
    .type = "text/plain", .charset = "../../etc/passwd", .body = "a",
    .err = E (BAD_ENCODING) },
  { .path = "/message/decode/plain/charset-too-long", .type = "text/plain",
    .charset = "iso-8859-1-iso-8859-1-iso-8859-1-iso-8859-1-iso-8859-1-iso-8859-1",
    .body = "a", .err = E (BAD_ENCODING), .msg = "too long" },
  { .path = "/message/decode/plain/charset-empty-is-utf8",
    .type = "text/plain", .charset = "", .body = "caf\xc3\xa9",
    .out = "caf\xc3\xa9" },

  /* ---- text/html ---- */
  { .path = "/message/decode/html/tags", .type = "text/html",
    .body = "<p>Hello <b>world</b>!</p>", .out = "Hello world!" },
  { .path = "/message/decode/html/entities", .type = "text/html",
    .body = "&lt;b&gt; &amp; &quot;x&quot; &eacute;&#233;&#xE9; &hearts;",
    .out = "<b> & \"x\" \xc3\xa9\xc3\xa9\xc3\xa9 \xe2\x99\xa5" },
  { .path = "/message/decode/html/markup-as-text-literal", .type = "text/html",
    .body = "&lt;script&gt;alert(1)&lt;/script&gt;",
    .out = "<script>alert(1)</script>" },
  { .path = "/message/decode/html/nbsp", .type = "text/html",
    .body = "a&nbsp;b", .out = "a\xc2\xa0" "b" },
  { .path = "/message/decode/html/unknown-entity", .type = "text/html",
    .body = "a &bogus; b", .out = "a &bogus; b" },
  { .path = "/message/decode/html/script-dropped", .type = "text/html",
    .body = "<p>a<script>alert('x')</script>b</p>", .out = "ab" },
  { .path = "/message/decode/html/script-cdata-dropped", .type = "text/html",
    .body = "x<script><![CDATA[ y ]]></script>z", .out = "xz" },
  { .path = "/message/decode/html/style-dropped", .type = "text/html",
    .body = "<style>p { color: red }</style><p>text</p>", .out = "text" },
  { .path = "/message/decode/html/head-dropped", .type = "text/html",
    .body = "<html><head><title>T</title></head><body>B</body></html>",
    .out = "B" },
  { .path = "/message/decode/html/comment-dropped", .type = "text/html",
    .body = "a<!-- hidden -->b", .out = "ab" },
  { .path = "/message/decode/html/br", .type = "text/html",
    .body = "one<br>two<br/>three<BR>four", .out = "one\ntwo\nthree\nfour" },
  { .path = "/message/decode/html/double-br", .type = "text/html",
    .body = "one<br><br>two", .out = "one\n\ntwo" },
  { .path = "/message/decode/html/blocks", .type = "text/html",
    .body = "<p>one</p><p>two</p><div>three</div>four<h1>five</h1>",
    .out = "one\ntwo\nthree\nfour\nfive" },
  { .path = "/message/decode/html/list", .type = "text/html",
    .body = "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>", .out = "a\nb" },
  { .path = "/message/decode/html/table", .type = "text/html",
    .body = "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
    .out = "a b\nc" },
  { .path = "/message/decode/html/whitespace-collapsed", .type = "text/html",
    .body = "  a \n\t b  ", .out = "a b" },
  { .path = "/message/decode/html/pre-kept", .type = "text/html",
    .body = "<p>x</p><pre>a  b\n  c</pre>", .out = "x\na  b\n  c" },
  { .path = "/message/decode/html/img-alt", .type = "text/html",
    .body = "Hi <img src='smile.png' alt=':-)'>", .out = "Hi :-)" },
  { .path = "/message/decode/html/xhtml-im", .type = "text/html",
    .body = "<html xmlns='http://jabber.org/protocol/xhtml-im'>"
            "<body xmlns='http://www.w3.org/1999/xhtml'>"
            "<p style='font-weight:bold'>hi <em>there</em></p></body></html>",
    .out = "hi there" },
  { .path = "/message/decode/html/latin1", .type = "text/html",
    .charset = "iso-8859-1", .body = "<p>caf\xe9</p>", .out = "caf\xc3\xa9" },
  { .path = "/message/decode/html/meta-charset-ignored", .type = "text/html",
    .body = "<meta charset=\"iso-8859-1\"><p>caf\xc3\xa9</p>",
    .out = "caf\xc3\xa9" },
  { .path = "/message/decode/html/invalid-utf8", .type = "text/html",
    .body = "<p>caf\xe9</p>", .err = E (BAD_ENCODING) },
  { .path = "/message/decode/html/nul", .type = "text/html",
    BIN ("<p>a\0b</p>"), .err = E (BAD_ENCODING), .msg = "NUL" },
  { .path = "/message/decode/html/unknown-charset", .type = "text/html",
    .charset = "x-nope", .body = "<p>a</p>", .err = E (BAD_ENCODING) },
  { .path = "/message/decode/html/empty", .type = "text/html",
    .body = "", .out = "" },
  { .path = "/message/decode/html/only-markup", .type = "text/html",
    .body = "<br><p></p>  <div> </div>", .out = "" },
  { .path = "/message/decode/html/plain-text", .type = "text/html",
    .body = "just text", .out = "just text" },
  { .path = "/message/decode/html/unclosed", .type = "text/html",
    .body = "<p>a<b>b<i>c", .out = "abc" },

  /* ---- message/cpim (RFC 3862) ---- */
  { .path = "/message/decode/cpim/crlf", .type = "message/cpim",
    .body = CPIM_TEXT ("Here is the text of my message."),
    .out = "Here is the text of my message." },
  { .path = "/message/decode/cpim/lf", .type = "message/cpim",
    .body = "From: <im:a@example.com>\nTo: <im:b@example.com>\n\n"
            "Content-Type: text/plain\n\nhello",
    .out = "hello" },
  { .path = "/message/decode/cpim/mixed-line-ends", .type = "message/cpim",
    .body = "From: <im:a@example.com>\r\nTo: <im:b@example.com>\n\r\n"
            "Content-Type: text/plain\n\nhello",
    .out = "hello" },
  { .path = "/message/decode/cpim/type-case", .type = "Message/CPIM",
    .body = CPIM_TEXT ("x"), .out = "x" },
  { .path = "/message/decode/cpim/body-kept-as-sent", .type = "message/cpim",
    .body = CPIM_TEXT ("line 1\r\n\r\nline 3\r\n"),
    .out = "line 1\r\n\r\nline 3\r\n" },
  { .path = "/message/decode/cpim/body-xml-literal", .type = "message/cpim",
    .body = CPIM_TEXT ("<b>&amp;</b>"), .out = "<b>&amp;</b>" },
  { .path = "/message/decode/cpim/empty-inner-body", .type = "message/cpim",
    .body = CPIM_TEXT (""), .out = "" },
  { .path = "/message/decode/cpim/no-cpim-headers", .type = "message/cpim",
    .body = "\r\nContent-Type: text/plain\r\n\r\nHi", .out = "Hi" },
  { .path = "/message/decode/cpim/no-inner-content-type",
    .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-ID: <1234567890@foo.com>\r\n\r\nHi",
    .out = "Hi" },
  { .path = "/message/decode/cpim/no-inner-headers", .type = "message/cpim",
    .body = CPIM_HDRS "\r\n\r\nHi", .out = "Hi" },
  { .path = "/message/decode/cpim/outer-mime-headers-skipped",
    .type = "message/cpim",
    .body = "Content-type: Message/CPIM\r\n\r\n" CPIM_TEXT ("Hi"),
    .out = "Hi" },
  { .path = "/message/decode/cpim/subject", .type = "message/cpim",
    .body = CPIM_HDRS "Subject: the weather will be fine today\r\n\r\n"
            "Content-Type: text/plain\r\n\r\nHi",
    .out = "Hi", .subject = "the weather will be fine today" },
  { .path = "/message/decode/cpim/subject-lang", .type = "message/cpim",
    .body = CPIM_HDRS "Subject:;lang=fr beau temps prevu pour aujourd'hui\r\n"
            "\r\nContent-Type: text/plain\r\n\r\nHi",
    .out = "Hi", .subject = "beau temps prevu pour aujourd'hui" },
  { .path = "/message/decode/cpim/subject-by-content-lang",
    .type = "message/cpim",
    .body = CPIM_HDRS "Subject: Hello\r\nSubject:;lang=de Hallo\r\n"
            "\r\nContent-Type: text/plain\r\nContent-Language: de\r\n\r\nHi",
    .out = "Hi", .subject = "Hallo", .lang = "de" },
  { .path = "/message/decode/cpim/subject-without-lang-preferred",
    .type = "message/cpim",
    .body = CPIM_HDRS "Subject:;lang=fr Bonjour\r\nSubject: Hello\r\n"
            "\r\nContent-Type: text/plain\r\n\r\nHi",
    .out = "Hi", .subject = "Hello" },
  { .path = "/message/decode/cpim/subject-escapes", .type = "message/cpim",
    .body = CPIM_HDRS "Subject: caf\\u00e9 \\\"q\\\" a\\\\b \\u263A\\ttab\r\n"
            "\r\nContent-Type: text/plain\r\n\r\nHi",
    .out = "Hi", .subject = "caf\xc3\xa9 \"q\" a\\b \xe2\x98\xba\ttab" },
  { .path = "/message/decode/cpim/subject-surrogate-pair",
    .type = "message/cpim",
    .body = CPIM_HDRS "Subject: \\ud83d\\ude00\r\n"
            "\r\nContent-Type: text/plain\r\n\r\nHi",
    .out = "Hi", .subject = "\xf0\x9f\x98\x80" },
  { .path = "/message/decode/cpim/subject-unknown-escape-kept",
    .type = "message/cpim",
    .body = CPIM_HDRS "Subject: C:\\dir \\u12 \\\r\n"
            "\r\nContent-Type: text/plain\r\n\r\nHi",
    .out = "Hi", .subject = "C:\\dir \\u12 \\" },
  { .path = "/message/decode/cpim/subject-utf8", .type = "message/cpim",
    .body = CPIM_HDRS "Subject: caf\xc3\xa9\r\n"
            "\r\nContent-Type: text/plain\r\n\r\nHi",
    .out = "Hi", .subject = "caf\xc3\xa9" },
  { .path = "/message/decode/cpim/subject-lone-surrogate",
    .type = "message/cpim",
    .body = CPIM_HDRS "Subject: \\ud83d!\r\n"
            "\r\nContent-Type: text/plain\r\n\r\nHi",
    .err = E (MALFORMED), .msg = "surrogate" },
  { .path = "/message/decode/cpim/subject-nul-escape", .type = "message/cpim",
    .body = CPIM_HDRS "Subject: a\\u0000b\r\n"
            "\r\nContent-Type: text/plain\r\n\r\nHi",
    .err = E (BAD_ENCODING), .msg = "NUL" },
  { .path = "/message/decode/cpim/subject-control-escape",
    .type = "message/cpim",
    .body = CPIM_HDRS "Subject: a\\bb\r\n"
            "\r\nContent-Type: text/plain\r\n\r\nHi",
    .err = E (BAD_ENCODING), .msg = "U+0008" },
  { .path = "/message/decode/cpim/subject-invalid-utf8",
    .type = "message/cpim",
    .body = CPIM_HDRS "Subject: caf\xe9\r\n"
            "\r\nContent-Type: text/plain\r\n\r\nHi",
    .err = E (BAD_ENCODING), .msg = "Subject" },
  { .path = "/message/decode/cpim/lang", .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: text/plain\r\n"
            "Content-Language: en-GB\r\n\r\nHi",
    .out = "Hi", .lang = "en-GB" },
  { .path = "/message/decode/cpim/lang-list-first", .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: text/plain\r\n"
            "Content-Language: fr , en\r\n\r\nHi",
    .out = "Hi", .lang = "fr" },
  { .path = "/message/decode/cpim/lang-empty", .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: text/plain\r\n"
            "Content-Language: \r\n\r\nHi",
    .out = "Hi" },
  { .path = "/message/decode/cpim/lang-bad", .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: text/plain\r\n"
            "Content-Language: <x>\r\n\r\nHi",
    .err = E (MALFORMED), .msg = "Content-Language" },
  { .path = "/message/decode/cpim/lang-subtag-too-long",
    .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: text/plain\r\n"
            "Content-Language: en-abcdefghi\r\n\r\nHi",
    .err = E (MALFORMED) },
  { .path = "/message/decode/cpim/inner-charset", .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: text/plain; charset=ISO-8859-1\r\n"
            "\r\ncaf\xe9",
    .out = "caf\xc3\xa9" },
  { .path = "/message/decode/cpim/inner-charset-quoted",
    .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: text/plain;format=flowed;"
            " charset=\"windows-1252\"\r\n\r\n\x80",
    .out = "\xe2\x82\xac" },
  { .path = "/message/decode/cpim/inner-charset-folded",
    .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: text/plain;\r\n"
            "\tcharset=iso-8859-1\r\n\r\ncaf\xe9",
    .out = "caf\xc3\xa9" },
  { .path = "/message/decode/cpim/outer-charset-ignored",
    .type = "message/cpim", .charset = "iso-8859-1",
    .body = CPIM_TEXT ("caf\xc3\xa9"), .out = "caf\xc3\xa9" },
  { .path = "/message/decode/cpim/inner-invalid-utf8",
    .type = "message/cpim", .body = CPIM_TEXT ("caf\xe9"),
    .err = E (BAD_ENCODING), .msg = "text/plain" },
  { .path = "/message/decode/cpim/inner-unknown-charset",
    .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: text/plain; charset=x-nope\r\n"
            "\r\nHi",
    .err = E (BAD_ENCODING), .msg = "x-nope" },
  { .path = "/message/decode/cpim/inner-unterminated-quote",
    .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: text/plain; charset=\"utf-8\r\n"
            "\r\nHi",
    .err = E (MALFORMED), .msg = "quoted" },
  { .path = "/message/decode/cpim/inner-html", .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: text/html\r\n\r\n"
            "<p>Hi <b>there</b> &amp; you</p><script>x()</script>",
    .out = "Hi there & you" },
  { .path = "/message/decode/cpim/inner-iscomposing", .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: application/im-iscomposing+xml\r\n"
            "\r\n" IC_DOC ("active"),
    .state = STOX_CHAT_STATE_COMPOSING },
  { .path = "/message/decode/cpim/inner-iscomposing-xxe",
    .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: application/im-iscomposing+xml\r\n"
            "\r\n" BILLION_LAUGHS,
    .err = E (MALFORMED), .msg = "DOCTYPE" },
  { .path = "/message/decode/cpim/nested-refused", .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: message/cpim\r\n\r\n"
            CPIM_TEXT ("inner"),
    .err = E (UNSUPPORTED_TYPE), .msg = "inside message/cpim" },
  { .path = "/message/decode/cpim/inner-unsupported", .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: image/png\r\n\r\n\x89PNG",
    .err = E (UNSUPPORTED_TYPE), .msg = "image/png" },
  { .path = "/message/decode/cpim/inner-bad-content-type",
    .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: textplain\r\n\r\nHi",
    .err = E (MALFORMED), .msg = "type/subtype" },
  { .path = "/message/decode/cpim/cte-8bit", .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: text/plain\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\nHi",
    .out = "Hi" },
  { .path = "/message/decode/cpim/cte-base64-refused", .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: text/plain\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\nSGk=",
    .err = E (UNSUPPORTED_TYPE), .msg = "Content-Transfer-Encoding" },
  { .path = "/message/decode/cpim/missing-blank-after-cpim-headers",
    .type = "message/cpim", .body = CPIM_HDRS,
    .err = E (MALFORMED), .msg = "no blank line after the CPIM message" },
  { .path = "/message/decode/cpim/missing-blank-no-newline",
    .type = "message/cpim", .body = "From: <im:a@example.com>",
    .err = E (MALFORMED), .msg = "no blank line" },
  { .path = "/message/decode/cpim/missing-blank-after-content-headers",
    .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: text/plain\r\n",
    .err = E (MALFORMED), .msg = "no blank line after the content" },
  { .path = "/message/decode/cpim/body-glued-to-headers",
    .type = "message/cpim",
    .body = CPIM_HDRS "\r\nContent-Type: text/plain\r\nHello there\r\n",
    .err = E (MALFORMED) },
  { .path = "/message/decode/cpim/headers-only-no-content",
    .type = "message/cpim", .body = "Hello, this is not CPIM",
    .err = E (MALFORMED) },
  { .path = "/message/decode/cpim/empty", .type = "message/cpim",
    .body = "", .err = E (MALFORMED), .msg = "empty" },
  { .path = "/message/decode/cpim/no-body", .type = "message/cpim",
    .null_body = TRUE, .err = E (MALFORMED) },
  { .path = "/message/decode/cpim/header-without-colon",
    .type = "message/cpim",
    .body = "From alice\r\n\r\nContent-Type: text/plain\r\n\r\nx",
    .err = E (MALFORMED), .msg = "':'" },
  { .path = "/message/decode/cpim/header-empty-name", .type = "message/cpim",
    .body = ": x\r\n\r\nContent-Type: text/plain\r\n\r\nx",
    .err = E (MALFORMED) },
  { .path = "/message/decode/cpim/header-name-with-space",
    .type = "message/cpim",
    .body = "Fr om: x\r\n\r\nContent-Type: text/plain\r\n\r\nx",
    .err = E (MALFORMED), .msg = "header name" },
  { .path = "/message/decode/cpim/continuation-first", .type = "message/cpim",
    .body = " folded\r\n\r\nContent-Type: text/plain\r\n\r\nx",
    .err = E (MALFORMED), .msg = "continuation" },
  { .path = "/message/decode/cpim/nul-in-headers", .type = "message/cpim",
    BIN ("From: a\0b\r\n\r\nContent-Type: text/plain\r\n\r\nx"),
    .err = E (MALFORMED), .msg = "NUL" },
  { .path = "/message/decode/cpim/require-understood", .type = "message/cpim",
    .body = CPIM_HDRS "Subject: s\r\nRequire: Subject, DateTime,From\r\n"
            "\r\nContent-Type: text/plain\r\n\r\nHi",
    .out = "Hi", .subject = "s" },
  { .path = "/message/decode/cpim/require-not-understood",
    .type = "message/cpim",
    .body = CPIM_HDRS "NS: MyFeatures <mid:MessageFeatures@id.foo.com>\r\n"
            "Require: MyFeatures.VitalMessageOption\r\n"
            "MyFeatures.VitalMessageOption: Confirmation-requested\r\n"
            "\r\nContent-Type: text/plain\r\n\r\nHi",
    .err = E (MALFORMED), .msg = "MyFeatures.VitalMessageOption" },
  { .path = "/message/decode/cpim/require-second-not-understood",
    .type = "message/cpim",
    .body = CPIM_HDRS "Require: Subject,imdn.Disposition-Notification\r\n"
            "\r\nContent-Type: text/plain\r\n\r\nHi",
    .err = E (MALFORMED), .msg = "imdn.Disposition-Notification" },
  { .path = "/message/decode/cpim/extension-headers-ignored",
    .type = "message/cpim",
    .body = CPIM_HDRS "NS: imdn <urn:ietf:params:imdn>\r\n"
            "imdn.Message-ID: 34jk324j\r\n"
            "imdn.Disposition-Notification: positive-delivery\r\n"
            "\r\nContent-Type: text/plain\r\n\r\nHi",
    .out = "Hi" },

  /* ---- application/im-iscomposing+xml (RFC 3994) ---- */
  { .path = "/message/decode/iscomposing/active",
    .type = "application/im-iscomposing+xml", .body = IC_DOC ("active"),
    .state = STOX_CHAT_STATE_COMPOSING },
  { .path = "/message/decode/iscomposing/idle",
    .type = "application/im-iscomposing+xml", .body = IC_DOC ("idle"),
    .state = STOX_CHAT_STATE_PAUSED },
  { .path = "/message/decode/iscomposing/state-whitespace",
    .type = "application/im-iscomposing+xml", .body = IC_DOC ("\n  active \n"),
    .state = STOX_CHAT_STATE_COMPOSING },
  { .path = "/message/decode/iscomposing/rfc3994-example",
    .type = "application/im-iscomposing+xml",
    .body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<isComposing xmlns=\"" IC_NS "\"\n"
            "  xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n"
            "  xsi:schemaLocation=\"urn:ietf:params:xml:ns:im-composing"
            " iscomposing.xsd\">\n"
            "  <state>active</state>\n"
            "  <contenttype>text/plain</contenttype>\n"
            "  <refresh>90</refresh>\n"
            "</isComposing>\n",
    .state = STOX_CHAT_STATE_COMPOSING },
  { .path = "/message/decode/iscomposing/lastactive",
    .type = "application/im-iscomposing+xml",
    .body = "<isComposing xmlns='" IC_NS "'><state>idle</state>"
            "<lastactive>2003-01-27T10:43:00Z</lastactive>"
            "<contenttype>audio</contenttype></isComposing>",
    .state = STOX_CHAT_STATE_PAUSED },
  { .path = "/message/decode/iscomposing/prefixed",
    .type = "application/im-iscomposing+xml",
    .body = "<ic:isComposing xmlns:ic='" IC_NS "'>"
            "<ic:state>idle</ic:state></ic:isComposing>",
    .state = STOX_CHAT_STATE_PAUSED },
  { .path = "/message/decode/iscomposing/comment-and-pi",
    .type = "application/im-iscomposing+xml",
    .body = "<?xml version='1.0'?><!-- c --><?pi x?>"
            "<isComposing xmlns='" IC_NS "'><state><!-- c -->active</state>"
            "</isComposing>",
    .state = STOX_CHAT_STATE_COMPOSING },
  { .path = "/message/decode/iscomposing/charset-param-ignored",
    .type = "application/im-iscomposing+xml", .charset = "iso-8859-1",
    .body = IC_DOC ("idle"), .state = STOX_CHAT_STATE_PAUSED },
  { .path = "/message/decode/iscomposing/missing-state",
    .type = "application/im-iscomposing+xml",
    .body = "<isComposing xmlns='" IC_NS "'><refresh>60</refresh>"
            "</isComposing>",
    .err = E (MALFORMED), .msg = "no <state>" },
  { .path = "/message/decode/iscomposing/state-wrong-ns",
    .type = "application/im-iscomposing+xml",
    .body = "<isComposing xmlns='" IC_NS "'>"
            "<state xmlns='urn:example:other'>active</state></isComposing>",
    .err = E (MALFORMED), .msg = "no <state>" },
  { .path = "/message/decode/iscomposing/state-nested-not-child",
    .type = "application/im-iscomposing+xml",
    .body = "<isComposing xmlns='" IC_NS "'><x><state>active</state></x>"
            "</isComposing>",
    .err = E (MALFORMED), .msg = "no <state>" },
  { .path = "/message/decode/iscomposing/empty-state",
    .type = "application/im-iscomposing+xml", .body = IC_DOC (""),
    .err = E (MALFORMED), .msg = "neither" },
  { .path = "/message/decode/iscomposing/unknown-state",
    .type = "application/im-iscomposing+xml", .body = IC_DOC ("typing"),
    .err = E (MALFORMED), .msg = "neither" },
  { .path = "/message/decode/iscomposing/state-case-sensitive",
    .type = "application/im-iscomposing+xml", .body = IC_DOC ("ACTIVE"),
    .err = E (MALFORMED) },
  { .path = "/message/decode/iscomposing/no-namespace",
    .type = "application/im-iscomposing+xml",
    .body = "<isComposing><state>active</state></isComposing>",
    .err = E (MALFORMED), .msg = "root" },
  { .path = "/message/decode/iscomposing/wrong-namespace",
    .type = "application/im-iscomposing+xml",
    .body = "<isComposing xmlns='urn:example:other'><state>active</state>"
            "</isComposing>",
    .err = E (MALFORMED), .msg = "root" },
  { .path = "/message/decode/iscomposing/wrong-root",
    .type = "application/im-iscomposing+xml",
    .body = "<presence xmlns='" IC_NS "'><state>active</state></presence>",
    .err = E (MALFORMED), .msg = "root" },
  { .path = "/message/decode/iscomposing/not-well-formed",
    .type = "application/im-iscomposing+xml",
    .body = "<isComposing xmlns='" IC_NS "'><state>active</isComposing>",
    .err = E (MALFORMED), .msg = "well-formed" },
  { .path = "/message/decode/iscomposing/truncated",
    .type = "application/im-iscomposing+xml", .body = "<isComposing",
    .err = E (MALFORMED) },
  { .path = "/message/decode/iscomposing/trailing-garbage",
    .type = "application/im-iscomposing+xml", .body = IC_DOC ("idle") "<x/>",
    .err = E (MALFORMED) },
  { .path = "/message/decode/iscomposing/undefined-entity",
    .type = "application/im-iscomposing+xml", .body = IC_DOC ("&foo;"),
    .err = E (MALFORMED) },
  { .path = "/message/decode/iscomposing/empty",
    .type = "application/im-iscomposing+xml", .body = "",
    .err = E (MALFORMED), .msg = "empty" },
  { .path = "/message/decode/iscomposing/no-body",
    .type = "application/im-iscomposing+xml", .null_body = TRUE,
    .err = E (MALFORMED) },
  { .path = "/message/decode/iscomposing/xxe",
    .type = "application/im-iscomposing+xml",
    .body = "<?xml version=\"1.0\"?>\n"
            "<!DOCTYPE isComposing [\n"
            "  <!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n"
            "]>\n"
            "<isComposing xmlns=\"" IC_NS "\"><state>&xxe;</state>"
            "</isComposing>\n",
    .err = E (MALFORMED), .msg = "DOCTYPE" },
  { .path = "/message/decode/iscomposing/xxe-parameter-entity",
    .type = "application/im-iscomposing+xml",
    .body = "<?xml version=\"1.0\"?>\n"
            "<!DOCTYPE isComposing [\n"
            "  <!ENTITY % remote SYSTEM \"http://example.invalid/evil.dtd\">\n"
            "  %remote;\n"
            "]>\n" "<isComposing xmlns=\"" IC_NS "\"><state>active</state>"
            "</isComposing>\n",
    .err = E (MALFORMED), .msg = "DOCTYPE" },
  { .path = "/message/decode/iscomposing/billion-laughs",
    .type = "application/im-iscomposing+xml", .body = BILLION_LAUGHS,
    .err = E (MALFORMED), .msg = "DOCTYPE" },
  { .path = "/message/decode/iscomposing/dtd-external",
    .type = "application/im-iscomposing+xml",
    .body = "<?xml version=\"1.0\"?>\n"
            "<!DOCTYPE isComposing SYSTEM "
            "\"http://example.invalid/iscomposing.dtd\">\n"
            "<isComposing xmlns=\"" IC_NS "\"><state>active</state>"
            "</isComposing>\n",
    .err = E (MALFORMED), .msg = "DOCTYPE" },
  { .path = "/message/decode/iscomposing/dtd-empty",
    .type = "application/im-iscomposing+xml",
    .body = "<!DOCTYPE isComposing>"
            "<isComposing xmlns='" IC_NS "'><state>idle</state></isComposing>",
    .err = E (MALFORMED), .msg = "DOCTYPE" },
  { .path = "/message/decode/iscomposing/dtd-harmless-entity",
    .type = "application/im-iscomposing+xml",
    .body = "<!DOCTYPE isComposing [<!ENTITY s \"active\">]>"
            "<isComposing xmlns='" IC_NS "'><state>&s;</state></isComposing>",
    .err = E (MALFORMED), .msg = "DOCTYPE" },

  /* ---- types ---- */
  { .path = "/message/decode/type/image", .type = "image/png",
    .body = "\x89PNG", .err = E (UNSUPPORTED_TYPE), .msg = "image/png" },
  { .path = "/message/decode/type/pidf", .type = "application/pidf+xml",
    .body = "<presence/>", .err = E (UNSUPPORTED_TYPE) },
  { .path = "/message/decode/type/multipart", .type = "multipart/mixed",
    .body = "--b\r\n\r\nx\r\n--b--", .err = E (UNSUPPORTED_TYPE) },
  { .path = "/message/decode/type/text-enriched", .type = "text/enriched",
    .body = "<bold>x</bold>", .err = E (UNSUPPORTED_TYPE) },
  { .path = "/message/decode/type/empty-body-unsupported-type",
    .type = "image/png", .body = "", .err = E (UNSUPPORTED_TYPE) },
  { .path = "/message/decode/type/none-with-body", .type = NULL,
    .body = "hi", .err = E (UNSUPPORTED_TYPE), .msg = "Content-Type" },
  { .path = "/message/decode/type/empty-with-body", .type = "",
    .body = "hi", .err = E (UNSUPPORTED_TYPE) },
  { .path = "/message/decode/type/none-without-body", .type = NULL,
    .null_body = TRUE, .out = "" },
};

static void
test_decode_row (gconstpointer data)
{
  const DecodeRow *row = data;
  gsize n = row->n != 0 ? row->n : (row->body != NULL ? strlen (row->body) : 0);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(StoxMessageContent) content = NULL;

  if (!row->null_body)
    body = g_bytes_new_static (row->body, n);
  content = stox_message_decode_sip (row->type, row->charset, body, &error);

  if (row->err != 0)
    {
      g_assert_null (content);
      g_assert_error (error, STOX_MESSAGE_ERROR, row->err - 1);
      g_test_message ("error: %s", error->message);
      if (row->msg != NULL && strstr (error->message, row->msg) == NULL)
        g_error ("message \"%s\" lacks \"%s\"", error->message, row->msg);
      return;
    }

  g_assert_no_error (error);
  g_assert_nonnull (content);
  g_assert_cmpint (content->chat_state, ==, row->state);
  if (row->state != STOX_CHAT_STATE_NONE)
    g_assert_null (content->body);
  else
    {
      g_assert_nonnull (row->out);
      g_assert_cmpstr (content->body, ==, row->out);
      g_assert_true (g_utf8_validate (content->body, -1, NULL));
    }
  g_assert_cmpstr (content->subject, ==, row->subject);
  g_assert_cmpstr (content->lang, ==, row->lang);
}

/* ---- size limit ---- */

static GBytes *
bytes_filled (gsize len,
              char  c)
{
  char *data = g_malloc (len);

  memset (data, c, len);
  return g_bytes_new_take (data, len);
}

static void
test_decode_size_at_limit (void)
{
  g_autoptr(GBytes) body = bytes_filled (STOX_MESSAGE_BODY_MAX, 'a');
  g_autoptr(GError) error = NULL;
  g_autoptr(StoxMessageContent) content =
    stox_message_decode_sip ("text/plain", NULL, body, &error);

  g_assert_no_error (error);
  g_assert_nonnull (content);
  g_assert_cmpuint (strlen (content->body), ==, STOX_MESSAGE_BODY_MAX);
}

static void
test_decode_size_over_limit (void)
{
  static const char *const types[] = {
    "text/plain", "text/html", "message/cpim",
    "application/im-iscomposing+xml", "image/png", NULL
  };
  g_autoptr(GBytes) body = bytes_filled (STOX_MESSAGE_BODY_MAX + 1, 'a');

  /* The limit comes before anything else, whatever the type. */
  for (gsize i = 0; types[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(StoxMessageContent) content =
        stox_message_decode_sip (types[i], NULL, body, &error);

      g_assert_null (content);
      g_assert_error (error, STOX_MESSAGE_ERROR,
                      STOX_MESSAGE_ERROR_TOO_LARGE);
      g_assert_nonnull (strstr (error->message, "1048577"));
    }
}

static void
test_decode_size_cpim_at_limit (void)
{
  const char head[] = CPIM_TEXT ("");
  gsize len = STOX_MESSAGE_BODY_MAX;
  char *data = g_malloc (len);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(StoxMessageContent) content = NULL;

  memcpy (data, head, sizeof head - 1);
  memset (data + sizeof head - 1, 'b', len - (sizeof head - 1));
  body = g_bytes_new_take (data, len);
  content = stox_message_decode_sip ("message/cpim", NULL, body, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (content->body), ==, len - (sizeof head - 1));
}

static void
test_decode_size_html_large (void)
{
  /* Close to the limit, mostly markup: the result is small and intact. */
  g_autoptr(GString) html = g_string_new (NULL);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(StoxMessageContent) content = NULL;

  while (html->len + 20 < STOX_MESSAGE_BODY_MAX)
    g_string_append (html, "<span>x</span>");
  body = g_bytes_new (html->str, html->len);
  content = stox_message_decode_sip ("text/html", NULL, body, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (content->body), ==, html->len / 14);
}

/* ---- hostile structure ---- */

static void
test_decode_html_deep_nesting (void)
{
  static const struct
  {
    const char *tag;
    guint       count;
    gboolean    ok;
  } rows[] = {
    { "<b>", 200, TRUE },
    { "<div>", 200, TRUE },
    /* libxml2 stops at depth 256 and drops the rest: refused, not cut. */
    { "<b>", 300, FALSE },
    { "<b>", 300000, FALSE },
    { "<div>", 200000, FALSE },
    { "<pre>", 200000, FALSE },
    /* <p> closes the previous <p>: flat however many there are. */
    { "<p>", 300000, TRUE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr(GString) html = g_string_new (NULL);
      g_autoptr(GBytes) body = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(StoxMessageContent) content = NULL;

      for (guint j = 0; j < rows[i].count; j++)
        g_string_append (html, rows[i].tag);
      g_string_append (html, "deep");
      g_assert_cmpuint (html->len, <=, STOX_MESSAGE_BODY_MAX);
      body = g_bytes_new (html->str, html->len);
      content = stox_message_decode_sip ("text/html", NULL, body, &error);
      if (rows[i].ok)
        {
          g_assert_no_error (error);
          g_assert_cmpstr (content->body, ==, "deep");
        }
      else
        g_assert_error (error, STOX_MESSAGE_ERROR,
                        STOX_MESSAGE_ERROR_MALFORMED);
    }
}

static void
test_decode_html_no_entity_expansion (void)
{
  static const char html[] =
    "<!DOCTYPE html [<!ENTITY boom \"KABOOM\">"
    "<!ENTITY ext SYSTEM \"file:///etc/passwd\">]>"
    "<p>a&boom;b&ext;c</p>";
  g_autoptr(GBytes) body = g_bytes_new_static (html, sizeof html - 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(StoxMessageContent) content =
    stox_message_decode_sip ("text/html", NULL, body, &error);

  /* Whatever the HTML parser makes of it, no declared entity is expanded
   * and no file is read. */
  if (content != NULL)
    {
      g_test_message ("got \"%s\"", content->body);
      g_assert_null (strstr (content->body, "KABOOM"));
      g_assert_null (strstr (content->body, "root:"));
    }
  else
    g_assert_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED);
}

static void
test_decode_iscomposing_billion_laughs_fast (void)
{
  static const char doc[] = BILLION_LAUGHS;
  g_autoptr(GBytes) body = g_bytes_new_static (doc, sizeof doc - 1);
  gint64 start = g_get_monotonic_time ();

  /* 10^9 "lol"s if expanded; refused at the DOCTYPE, so in no time. */
  for (int i = 0; i < 100; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(StoxMessageContent) content =
        stox_message_decode_sip (STOX_ISCOMPOSING_CONTENT_TYPE, NULL, body,
                                 &error);

      g_assert_null (content);
      g_assert_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED);
    }
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
}

static void
test_decode_iscomposing_deep_nesting (void)
{
  g_autoptr(GString) xml = g_string_new ("<isComposing xmlns='" IC_NS "'>");
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(StoxMessageContent) content = NULL;

  /* Under the size cap, far over libxml2's depth limit of 256. */
  for (int i = 0; i < 5000; i++)
    g_string_append (xml, "<x>");
  body = g_bytes_new (xml->str, xml->len);
  content = stox_message_decode_sip (STOX_ISCOMPOSING_CONTENT_TYPE, NULL,
                                     body, &error);
  g_assert_null (content);
  g_assert_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED);
}

static void
test_decode_iscomposing_size_cap (void)
{
  static const gsize cap = 16 * 1024;
  g_autoptr(GString) xml = g_string_new ("<isComposing xmlns='" IC_NS "'>"
                                         "<state>active</state>");
  const char *tail = "</isComposing>";

  /* Padded with white space to exactly the cap, then one byte more. */
  while (xml->len + strlen (tail) < cap)
    g_string_append_c (xml, ' ');
  g_string_append (xml, tail);
  g_assert_cmpuint (xml->len, ==, cap);

  for (int extra = 0; extra <= 1; extra++)
    {
      g_autoptr(GBytes) body = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(StoxMessageContent) content = NULL;

      if (extra)
        g_string_append_c (xml, '\n');
      body = g_bytes_new (xml->str, xml->len);
      content = stox_message_decode_sip (STOX_ISCOMPOSING_CONTENT_TYPE, NULL,
                                         body, &error);
      if (!extra)
        {
          g_assert_no_error (error);
          g_assert_cmpint (content->chat_state, ==, STOX_CHAT_STATE_COMPOSING);
        }
      else
        {
          g_assert_null (content);
          g_assert_error (error, STOX_MESSAGE_ERROR,
                          STOX_MESSAGE_ERROR_TOO_LARGE);
        }
    }
}

static void
test_decode_cpim_too_many_headers (void)
{
  g_autoptr(GString) cpim = g_string_new (NULL);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(StoxMessageContent) content = NULL;

  for (int i = 0; i < 10000; i++)
    g_string_append_printf (cpim, "X-%d: y\r\n", i);
  g_string_append (cpim, "\r\nContent-Type: text/plain\r\n\r\nHi");
  body = g_bytes_new (cpim->str, cpim->len);
  content = stox_message_decode_sip ("message/cpim", NULL, body, &error);
  g_assert_null (content);
  g_assert_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_MALFORMED);
  g_assert_nonnull (strstr (error->message, "more than"));
}

static void
test_decode_cpim_every_prefix (void)
{
  static const char cpim[] =
    CPIM_HDRS "Subject:;lang=en Hi \\u00e9\r\n\r\n"
    "Content-Type: text/html; charset=\"utf-8\"\r\n"
    "Content-Language: en\r\n\r\n<p>caf\xc3\xa9</p>";

  /* Every truncation of a valid message decodes or fails cleanly. */
  for (gsize len = 0; len <= sizeof cpim - 1; len++)
    {
      g_autoptr(GBytes) body = g_bytes_new_static (cpim, len);
      g_autoptr(GError) error = NULL;
      g_autoptr(StoxMessageContent) content =
        stox_message_decode_sip ("message/cpim", NULL, body, &error);

      g_assert_true ((content == NULL) != (error == NULL));
      if (len == sizeof cpim - 1)
        {
          g_assert_no_error (error);
          g_assert_cmpstr (content->body, ==, "caf\xc3\xa9");
          g_assert_cmpstr (content->subject, ==, "Hi \xc3\xa9");
          g_assert_cmpstr (content->lang, ==, "en");
        }
    }
}

static void
test_decode_pathological (void)
{
  /* Repeated patterns filling the whole size budget, through every
   * decoder: each must answer (either way) in linear-ish time. */
  static const char *const patterns[] = {
    "<br>", "<p>", "<b>", "</b>", "<a ", "&", "&amp;", "&#", "<!--", "<",
    "\n", " \r\n", "a:", " x\r\n", ";", ";a=\"", "\\u", "\\ud83d",
    "\xef\xbb\xbf", "<x:y xmlns:x='u'>", "<![CDATA[", NULL
  };
  static const char *const types[] = {
    "text/plain", "text/html", "message/cpim",
    STOX_ISCOMPOSING_CONTENT_TYPE, NULL
  };
  static const char *const prefixes[] = {
    "", "Subject: ", "From: x\r\n\r\nContent-Type: text/plain;",
    "\r\nContent-Type: text/plain\r\n", "<isComposing xmlns='" IC_NS "'>",
    NULL
  };

  for (gsize p = 0; patterns[p] != NULL; p++)
    for (gsize x = 0; prefixes[x] != NULL; x++)
      {
        g_autoptr(GString) data = g_string_new (prefixes[x]);
        g_autoptr(GBytes) body = NULL;
        gsize plen = strlen (patterns[p]);

        while (data->len + plen <= STOX_MESSAGE_BODY_MAX)
          g_string_append_len (data, patterns[p], (gssize) plen);
        body = g_bytes_new (data->str, data->len);

        for (gsize t = 0; types[t] != NULL; t++)
          {
            g_autoptr(GError) error = NULL;
            g_autoptr(StoxMessageContent) content = NULL;
            gint64 start = g_get_monotonic_time ();
            gint64 took;

            content = stox_message_decode_sip (types[t], NULL, body, &error);
            took = g_get_monotonic_time () - start;
            g_assert_true ((content == NULL) != (error == NULL));
            if (took > G_USEC_PER_SEC / 2)
              {
                g_autofree char *pat = g_strescape (patterns[p], NULL);
                g_autofree char *pre = g_strescape (prefixes[x], NULL);

                g_test_message ("slow: \"%s\" after \"%s\" as %s: %"
                                G_GINT64_FORMAT " ms", pat, pre, types[t],
                                took / 1000);
              }
            g_assert_cmpint (took, <, 10 * G_USEC_PER_SEC);
          }
      }
}

static void
test_content_free_null (void)
{
  stox_message_content_free (NULL);
  g_assert_cmpstr (g_quark_to_string (STOX_MESSAGE_ERROR), ==,
                   "stox-message-error-quark");
}

/* ---- stox_iscomposing_build ---- */

static void
assert_iscomposing_doc (const char *doc,
                        const char *state,
                        const char *refresh)
{
  xmlDoc *xml = xmlReadMemory (doc, (int) strlen (doc), NULL, NULL,
                               XML_PARSE_NONET | XML_PARSE_NOERROR
                               | XML_PARSE_NOWARNING);
  xmlNode *root;
  gboolean saw_state = FALSE, saw_refresh = FALSE, saw_type = FALSE;

  g_assert_nonnull (xml);
  g_assert_true (g_str_has_prefix (doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
  root = xmlDocGetRootElement (xml);
  g_assert_cmpstr ((const char *) root->name, ==, "isComposing");
  g_assert_nonnull (root->ns);
  g_assert_cmpstr ((const char *) root->ns->href, ==, IC_NS);
  for (xmlNode *n = root->children; n != NULL; n = n->next)
    {
      xmlChar *text;

      if (n->type != XML_ELEMENT_NODE)
        continue;
      g_assert_true (n->ns == root->ns);
      text = xmlNodeGetContent (n);
      if (g_str_equal ((const char *) n->name, "state"))
        {
          g_assert_cmpstr ((const char *) text, ==, state);
          saw_state = TRUE;
        }
      else if (g_str_equal ((const char *) n->name, "refresh"))
        {
          g_assert_cmpstr ((const char *) text, ==, refresh);
          saw_refresh = TRUE;
        }
      else if (g_str_equal ((const char *) n->name, "contenttype"))
        {
          g_assert_cmpstr ((const char *) text, ==, "text/plain");
          saw_type = TRUE;
        }
      else
        g_error ("unexpected <%s>", n->name);
      xmlFree (text);
    }
  g_assert_true (saw_state);
  g_assert_true (saw_type);
  g_assert_true (saw_refresh == (refresh != NULL));
  xmlFreeDoc (xml);
}

static void
test_build_iscomposing (void)
{
  static const struct
  {
    gboolean      active;
    guint         refresh;
    const char   *state;
    const char   *refresh_text;
    StoxChatState decoded;
  } rows[] = {
    { TRUE, 0, "active", NULL, STOX_CHAT_STATE_COMPOSING },
    { TRUE, 60, "active", "60", STOX_CHAT_STATE_COMPOSING },
    { TRUE, G_MAXUINT, "active", "4294967295", STOX_CHAT_STATE_COMPOSING },
    { FALSE, 0, "idle", NULL, STOX_CHAT_STATE_PAUSED },
    { FALSE, 120, "idle", "120", STOX_CHAT_STATE_PAUSED },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *doc =
        stox_iscomposing_build (rows[i].active, rows[i].refresh);
      g_autoptr(GBytes) body = g_bytes_new (doc, strlen (doc));
      g_autoptr(GError) error = NULL;
      g_autoptr(StoxMessageContent) content = NULL;

      g_test_message ("row %" G_GSIZE_FORMAT ":\n%s", i, doc);
      assert_iscomposing_doc (doc, rows[i].state, rows[i].refresh_text);

      /* Round trip through our own decoder. */
      content = stox_message_decode_sip (STOX_ISCOMPOSING_CONTENT_TYPE, NULL,
                                         body, &error);
      g_assert_no_error (error);
      g_assert_null (content->body);
      g_assert_cmpint (content->chat_state, ==, rows[i].decoded);
    }
}

static void
test_build_iscomposing_exact (void)
{
  g_autofree char *doc = stox_iscomposing_build (TRUE, 60);

  g_assert_cmpstr (doc, ==,
                   "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<isComposing xmlns=\"" IC_NS "\">\n"
                   "  <state>active</state>\n"
                   "  <contenttype>text/plain</contenttype>\n"
                   "  <refresh>60</refresh>\n"
                   "</isComposing>\n");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (decode_rows); i++)
    g_test_add_data_func (decode_rows[i].path, &decode_rows[i],
                          test_decode_row);

  g_test_add_func ("/message/decode/size/at-limit", test_decode_size_at_limit);
  g_test_add_func ("/message/decode/size/over-limit",
                   test_decode_size_over_limit);
  g_test_add_func ("/message/decode/size/cpim-at-limit",
                   test_decode_size_cpim_at_limit);
  g_test_add_func ("/message/decode/size/html-large",
                   test_decode_size_html_large);
  g_test_add_func ("/message/decode/html/deep-nesting",
                   test_decode_html_deep_nesting);
  g_test_add_func ("/message/decode/html/no-entity-expansion",
                   test_decode_html_no_entity_expansion);
  g_test_add_func ("/message/decode/iscomposing/billion-laughs-fast",
                   test_decode_iscomposing_billion_laughs_fast);
  g_test_add_func ("/message/decode/iscomposing/deep-nesting",
                   test_decode_iscomposing_deep_nesting);
  g_test_add_func ("/message/decode/iscomposing/size-cap",
                   test_decode_iscomposing_size_cap);
  g_test_add_func ("/message/decode/cpim/too-many-headers",
                   test_decode_cpim_too_many_headers);
  g_test_add_func ("/message/decode/cpim/every-prefix",
                   test_decode_cpim_every_prefix);
  g_test_add_func ("/message/decode/pathological", test_decode_pathological);
  g_test_add_func ("/message/content/free-null", test_content_free_null);
  g_test_add_func ("/message/build/iscomposing/round-trip",
                   test_build_iscomposing);
  g_test_add_func ("/message/build/iscomposing/exact",
                   test_build_iscomposing_exact);

  return g_test_run ();
}
