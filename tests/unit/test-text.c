/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one XML character rule (XML 1.0 §2.2 Char), and that the decoders,
 * the PIDF writer and the XMPP front end's check all follow it. */
#include "config.h"

#include <string.h>

#include "core/message.h"
#include "core/pidf.h"
#include "core/text.h"

/* Code points on both sides of every edge of XML 1.0 §2.2 Char. */
static const struct
{
  gunichar c;
  gboolean xml;
} chars[] = {
  { 0x0000, FALSE }, { 0x0001, FALSE }, { 0x0008, FALSE }, { 0x0009, TRUE },
  { 0x000A, TRUE },  { 0x000B, FALSE }, { 0x000C, FALSE }, { 0x000D, TRUE },
  { 0x000E, FALSE }, { 0x001F, FALSE }, { 0x0020, TRUE },  { 0x007F, TRUE },
  { 0x0080, TRUE },  { 0x009F, TRUE },  { 0xD7FF, TRUE },  { 0xD800, FALSE },
  { 0xDFFF, FALSE }, { 0xE000, TRUE },  { 0xFFFD, TRUE },  { 0xFFFE, FALSE },
  { 0xFFFF, FALSE }, { 0x10000, TRUE }, { 0x10FFFF, TRUE }, { 0x110000, FALSE },
};

static void
test_xml_char (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (chars); i++)
    {
      g_test_message ("U+%04X", chars[i].c);
      g_assert_cmpint (stox_text_is_xml_char (chars[i].c), ==, chars[i].xml);
    }
}

/* Every encodable code point of the table, alone and inside text, is
 * judged the same by the string checks as by the character rule. */
static void
test_strings_follow_the_rule (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (chars); i++)
    {
      char utf8[8] = { 0 };
      g_autofree char *text = NULL;
      g_autoptr (GError) error = NULL;

      if (chars[i].c == 0 || !g_unichar_validate (chars[i].c))
        continue;   /* no UTF-8 for surrogates and beyond U+10FFFF; a NUL
                     * ends the C string (test_check_xml_errors) */
      g_unichar_to_utf8 (chars[i].c, utf8);
      text = g_strdup_printf ("ab%sc", utf8);
      g_test_message ("U+%04X", chars[i].c);
      g_assert_cmpint (stox_text_is_xml (utf8), ==, chars[i].xml);
      g_assert_cmpint (stox_text_is_xml (text), ==, chars[i].xml);
      g_assert_cmpint (stox_text_check_xml ("t", text, strlen (text), &error), ==,
                       chars[i].xml);
      if (!chars[i].xml)
        {
          g_autofree char *expect =
            g_strdup_printf ("t: character U+%04X at byte 2 cannot be carried in XML",
                             chars[i].c);

          g_assert_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_BAD_ENCODING);
          g_assert_cmpstr (error->message, ==, expect);
        }
    }
}

static void
test_is_xml (void)
{
  static const struct
  {
    const char *text;
    gboolean    xml;
  } rows[] = {
    { "", TRUE },
    { "plain text\twith\r\nbreaks", TRUE },
    { "caf\xc3\xa9 \xf0\x9f\x98\x80", TRUE },      /* é, U+1F600 */
    { "bell\x07", FALSE },
    { "esc\x1b[0m", FALSE },
    { "\xef\xbf\xbe", FALSE },                    /* U+FFFE */
    { "a\xef\xbf\xbf", FALSE },                   /* U+FFFF */
    { "\xef\xbf\xbd", TRUE },                     /* U+FFFD */
    { "bad \xc3\x28 utf8", FALSE },
    { "\xed\xa0\x80", FALSE },                    /* a surrogate, not UTF-8 */
    { "\xff", FALSE },
  };

  g_assert_true (stox_text_is_xml (NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_test_message ("row %" G_GSIZE_FORMAT, i);
      g_assert_cmpint (stox_text_is_xml (rows[i].text), ==, rows[i].xml);
    }
}

/* `len` bytes, NULs included: a NUL is named as such, at its byte. */
static void
test_check_xml_errors (void)
{
  static const struct
  {
    const char *text;
    gsize       len;
    const char *message;   /* NULL: accepted */
  } rows[] = {
    { "", 0, NULL },
    { "ok\n", 3, NULL },
    { "a\0b", 3, "body: NUL character at byte 1" },
    { "\0", 1, "body: NUL character at byte 0" },
    { "x\x01", 2, "body: character U+0001 at byte 1 cannot be carried in XML" },
    { "\xc3\xa9\xef\xbf\xbe", 5, "body: character U+FFFE at byte 2 cannot be carried in XML" },
    { "stop\x1f here", 10, "body: character U+001F at byte 4 cannot be carried in XML" },
    { "only the first 4\x02", 4, NULL },   /* `len` bounds the check */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr (GError) error = NULL;
      gboolean ok = stox_text_check_xml ("body", rows[i].text, rows[i].len, &error);

      g_test_message ("row %" G_GSIZE_FORMAT, i);
      if (rows[i].message == NULL)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
        }
      else
        {
          g_assert_false (ok);
          g_assert_error (error, STOX_MESSAGE_ERROR, STOX_MESSAGE_ERROR_BAD_ENCODING);
          g_assert_cmpstr (error->message, ==, rows[i].message);
        }
    }
}

/* The callers of the rule: a MESSAGE body is refused, and a PIDF document
 * carries U+FFFD, for exactly the characters the rule excludes. */
static void
test_callers_agree (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (chars); i++)
    {
      char utf8[8] = { 0 };
      g_autofree char *text = NULL;
      g_autoptr (GBytes) body = NULL;
      g_autoptr (GError) error = NULL;
      g_autoptr (StoxMessageContent) content = NULL;
      g_autoptr (StoxPresenceInfo) info = stox_presence_info_new ();
      g_autofree char *doc = NULL;
      gboolean kept;

      if (chars[i].c == 0 || chars[i].c == '\r' || !g_unichar_validate (chars[i].c))
        continue;   /* a NUL ends the C string; a parser turns CR into LF */
      g_unichar_to_utf8 (chars[i].c, utf8);
      text = g_strdup_printf ("x%sy", utf8);
      g_test_message ("U+%04X", chars[i].c);

      body = g_bytes_new (text, strlen (text));
      content = stox_message_decode_sip ("text/plain", NULL, body, &error);
      g_assert_cmpint (content != NULL, ==, chars[i].xml);

      info->available = TRUE;
      stox_presence_info_add_status (info, NULL, text);
      doc = stox_pidf_build ("sip:alice@sip.test", info, NULL);
      kept = strstr (doc, text) != NULL;
      g_assert_cmpint (kept, ==, chars[i].xml);
      if (!kept)
        g_assert_nonnull (strstr (doc, "x\xef\xbf\xbdy"));   /* U+FFFD */
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/text/xml-char/rule", test_xml_char);
  g_test_add_func ("/text/xml-char/strings-follow-the-rule", test_strings_follow_the_rule);
  g_test_add_func ("/text/xml-char/is-xml", test_is_xml);
  g_test_add_func ("/text/xml-char/check-errors", test_check_xml_errors);
  g_test_add_func ("/text/xml-char/callers-agree", test_callers_agree);
  return g_test_run ();
}
