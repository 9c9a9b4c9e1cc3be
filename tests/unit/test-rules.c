/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rule files (stox.conf(5), stox-rules(5)): the parser, and the SHIPPED rule files
 * checked row by row against RFC 7247 Tables 2 and 3 and RFC 6120 §8.3.3,
 * typed in below from docs/mappings.md §1.8–1.10 independently of
 * gateway-rules/, so that a wrong row in a shipped file fails here.
 */
#include "config.h"

#include <string.h>

#include "core/rules.h"
#include "support/shipped-rules.h"

/* ---- the reference, from docs/mappings.md ------------------------------ */

typedef struct
{
  const char *condition;
  guint       code;
} Table2Row;

/* RFC 7247 §7.1 Table 2 (docs/mappings.md §1.8); where the table offers
 * alternatives, the first one (docs/mappings.md §1), except service-unavailable
 * (note 5: 403 or 405, never 503). */
static const Table2Row table2[] = {
  { "bad-request", 400 },
  { "conflict", 400 },
  { "feature-not-implemented", 405 }, /* 405 or 501 (1) */
  { "forbidden", 403 },               /* 403 or 603 (2) */
  { "gone", 301 },                    /* 301 or 410 (3) */
  { "internal-server-error", 500 },
  { "item-not-found", 404 },          /* 404 or 604 (2) */
  { "jid-malformed", 400 },
  { "not-acceptable", 406 },          /* 406 or 606 (2) */
  { "not-allowed", 403 },
  { "not-authorized", 401 },
  { "policy-violation", 403 },
  { "recipient-unavailable", 480 },   /* 480 or 600 (2) */
  { "redirect", 302 },
  { "registration-required", 407 },
  { "remote-server-not-found", 404 }, /* 404 or 408 (4) */
  { "remote-server-timeout", 408 },
  { "resource-constraint", 500 },
  { "service-unavailable", 403 },     /* (5): not 503 */
  { "subscription-required", 400 },
  { "undefined-condition", 400 },
  { "unexpected-request", 491 },      /* 491 or 400 */
};

typedef struct
{
  const char *code; /* "486" or a class "4xx" */
  const char *condition;
} Table3Row;

/* RFC 7247 §7.2 Table 3 (docs/mappings.md §1.9), both columns. */
static const Table3Row table3[] = {
  { "3xx", "redirect" },
  { "300", "redirect" },
  { "301", "gone" },
  { "302", "redirect" },
  { "305", "redirect" },
  { "380", "not-acceptable" },
  { "4xx", "bad-request" },
  { "400", "bad-request" },
  { "401", "not-authorized" },
  { "402", "bad-request" },
  { "403", "forbidden" },
  { "404", "item-not-found" },
  { "405", "feature-not-implemented" },
  { "406", "not-acceptable" },
  { "407", "registration-required" },
  { "408", "remote-server-timeout" },
  { "410", "gone" },
  { "413", "policy-violation" },
  { "414", "policy-violation" },
  { "415", "not-acceptable" },
  { "416", "not-acceptable" },
  { "420", "feature-not-implemented" },
  { "421", "not-acceptable" },
  { "423", "resource-constraint" },
  { "430", "recipient-unavailable" },
  { "439", "feature-not-implemented" },
  { "440", "policy-violation" },
  { "480", "recipient-unavailable" },
  { "481", "item-not-found" },
  { "482", "not-acceptable" },
  { "483", "not-acceptable" },
  { "484", "item-not-found" },
  { "485", "item-not-found" },
  { "486", "recipient-unavailable" },
  { "487", "recipient-unavailable" },
  { "488", "not-acceptable" },
  { "489", "policy-violation" },
  { "491", "unexpected-request" },
  { "493", "bad-request" },
  { "5xx", "internal-server-error" },
  { "500", "internal-server-error" },
  { "501", "feature-not-implemented" },
  { "502", "remote-server-not-found" },
  { "503", "internal-server-error" },
  { "504", "remote-server-timeout" },
  { "505", "not-acceptable" },
  { "513", "policy-violation" },
  { "6xx", "recipient-unavailable" },
  { "600", "recipient-unavailable" },
  { "603", "recipient-unavailable" },
  { "604", "item-not-found" },
  { "606", "not-acceptable" },
};

/* docs/mappings.md §1.9 "Not in the table but needed by stox". */
static const Table3Row extra[] = {
  { "411", "bad-request" },
  { "412", "bad-request" },
  { "417", "bad-request" },
  { "422", "bad-request" },
  { "428", "bad-request" },
  { "429", "bad-request" },
  { "433", "bad-request" },
  { "436", "bad-request" },
  { "437", "bad-request" },
  { "438", "bad-request" },
  { "470", "bad-request" },
  { "494", "bad-request" },
  { "580", "internal-server-error" },
};

typedef struct
{
  const char *condition;
  const char *type;
} TypeRow;

/* RFC 6120 §8.3.3 (docs/mappings.md §1.10), the first type given;
 * undefined-condition ("any") is cancel. */
static const TypeRow types[] = {
  { "bad-request", "modify" },
  { "conflict", "cancel" },
  { "feature-not-implemented", "cancel" },
  { "forbidden", "auth" },
  { "gone", "cancel" },
  { "internal-server-error", "cancel" },
  { "item-not-found", "cancel" },
  { "jid-malformed", "modify" },
  { "not-acceptable", "modify" },
  { "not-allowed", "cancel" },
  { "not-authorized", "auth" },
  { "policy-violation", "modify" },
  { "recipient-unavailable", "wait" },
  { "redirect", "modify" },
  { "registration-required", "auth" },
  { "remote-server-not-found", "cancel" },
  { "remote-server-timeout", "wait" },
  { "resource-constraint", "wait" },
  { "service-unavailable", "cancel" },
  { "subscription-required", "auth" },
  { "undefined-condition", "cancel" },
  { "unexpected-request", "wait" },
};

/* Every row of both shipped files, each distinct: Table 2, Table 3, the
 * extra codes, the error types, message-type and message-gr. */
#define SHIPPED_ROWS                                                      \
  (G_N_ELEMENTS (table2) + G_N_ELEMENTS (table3) + G_N_ELEMENTS (extra) \
   + G_N_ELEMENTS (types) + 2)

/* ---- helpers ---------------------------------------------------------- */

static const char *const shipped_files[] = { "10-errors.rules", "20-message.rules" };

/* The shipped files, parsed in name order as the daemon does. */
static StoxRules *
load_shipped (void)
{
  StoxRules *rules = stox_rules_new ();

  for (gsize i = 0; i < G_N_ELEMENTS (shipped_files); i++)
    {
      g_autoptr (GError) error = NULL;
      gsize length;
      g_autofree char *text = stox_test_read_shipped (shipped_files[i], &length);

      stox_rules_parse (rules, shipped_files[i], text, length, &error);
      g_assert_no_error (error);
    }
  return rules;
}

static void
parse_ok (StoxRules *rules, const char *filename, const char *text)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (stox_rules_parse (rules, filename, text, strlen (text), &error));
  g_assert_no_error (error);
}

static guint
code_of (const char *s)
{
  return (guint) g_ascii_strtoull (s, NULL, 10);
}

/* What the tables say for a status: the exact row, else the class row. */
static const char *
expected_condition (guint status)
{
  char code[8];

  g_snprintf (code, sizeof code, "%u", status);
  for (gsize i = 0; i < G_N_ELEMENTS (table3); i++)
    if (strcmp (table3[i].code, code) == 0)
      return table3[i].condition;
  for (gsize i = 0; i < G_N_ELEMENTS (extra); i++)
    if (strcmp (extra[i].code, code) == 0)
      return extra[i].condition;
  g_snprintf (code, sizeof code, "%uxx", status / 100);
  for (gsize i = 0; i < G_N_ELEMENTS (table3); i++)
    if (strcmp (table3[i].code, code) == 0)
      return table3[i].condition;
  g_assert_not_reached ();
}

/* ---- the shipped tables, row by row ----------------------------------- */

static void
test_table2_row (gconstpointer data)
{
  const Table2Row *row = data;
  g_autoptr (StoxRules) rules = load_shipped ();

  g_assert_cmpuint (stox_rules_condition_to_sip (rules, row->condition), ==, row->code);
}

static void
test_table3_row (gconstpointer data)
{
  const Table3Row *row = data;
  g_autoptr (StoxRules) rules = load_shipped ();
  guint status;

  if (row->code[1] == 'x')
    {
      /* A class row: N99 has no row of its own in any class. */
      status = (guint) (row->code[0] - '0') * 100 + 99;
      g_assert_cmpstr (expected_condition (status), ==, row->condition);
    }
  else
    {
      status = code_of (row->code);
    }
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, status), ==, row->condition);
}

static void
test_error_type_row (gconstpointer data)
{
  const TypeRow *row = data;
  g_autoptr (StoxRules) rules = load_shipped ();

  g_assert_cmpstr (stox_rules_error_type (rules, row->condition), ==, row->type);
}

static void
test_shipped_valid (void)
{
  g_autoptr (StoxRules) rules = load_shipped ();
  g_autoptr (GError) error = NULL;

  g_assert_true (stox_rules_validate (rules, &error));
  g_assert_no_error (error);
  /* All reference rows are present (the row tests) and nothing else is. */
  g_assert_cmpuint (stox_rules_count (rules), ==, SHIPPED_ROWS);
}

static void
test_shipped_every_code (void)
{
  g_autoptr (StoxRules) rules = load_shipped ();

  for (guint status = 300; status <= 699; status++)
    {
      const char *got = stox_rules_sip_to_condition (rules, status);

      if (g_strcmp0 (got, expected_condition (status)) != 0)
        g_test_message ("status %u", status);
      g_assert_cmpstr (got, ==, expected_condition (status));
    }
}

static void
test_shipped_fallbacks (void)
{
  static const struct
  {
    guint       status;
    const char *condition;
  } rows[] = {
    { 399, "redirect" },
    { 303, "redirect" },
    { 499, "bad-request" },
    { 409, "bad-request" },
    { 599, "internal-server-error" },
    { 555, "internal-server-error" },
    { 699, "recipient-unavailable" },
    { 601, "recipient-unavailable" },
  };
  g_autoptr (StoxRules) rules = load_shipped ();

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    g_assert_cmpstr (stox_rules_sip_to_condition (rules, rows[i].status), ==,
                     rows[i].condition);
}

/* RFC 7247 §7.1 note 5; docs/mappings.md §1: 503 is the gateway's own. */
static void
test_shipped_no_503 (void)
{
  g_autoptr (StoxRules) rules = load_shipped ();

  g_assert_cmpuint (stox_rules_condition_to_sip (rules, "service-unavailable"), !=, 503);
  g_assert_cmpuint (stox_rules_condition_to_sip (rules, "service-unavailable"), ==, 403);
  for (gsize i = 0; i < G_N_ELEMENTS (table2); i++)
    g_assert_cmpuint (stox_rules_condition_to_sip (rules, table2[i].condition), !=, 503);
  /* The other direction is fine: a SIP 503 is an internal-server-error. */
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 503), ==, "internal-server-error");
}

static void
test_shipped_message_type (void)
{
  g_autoptr (StoxRules) rules = load_shipped ();

  g_assert_cmpstr (stox_rules_message_type (rules), ==, "normal");
  g_assert_true (stox_rules_message_gr (rules));      /* RFC 7572 §4 */
}

/* message-gr: on by default (RFC 7572 §4), off when a later file says so,
 * anything else refused with its line. */
static void
test_message_gr (void)
{
  g_autoptr (StoxRules) rules = load_shipped ();
  g_autoptr (GError) error = NULL;
  guint n = stox_rules_count (rules);

  g_assert_true (stox_rules_parse (rules, "90-local.rules", "message-gr off\n", 15, &error));
  g_assert_no_error (error);
  g_assert_false (stox_rules_message_gr (rules));
  g_assert_cmpuint (stox_rules_count (rules), ==, n);   /* replaced, not added */
  g_assert_false (stox_rules_parse (rules, "bad.rules", "message-gr no\n", 14, &error));
  g_assert_nonnull (strstr (error->message, "bad.rules:1: "));
  g_assert_nonnull (strstr (error->message, "message-gr is 'on' or 'off', not 'no'"));
  g_assert_false (stox_rules_message_gr (rules));      /* the broken file changed nothing */
  g_clear_error (&error);
  g_assert_true (stox_rules_parse (rules, "91-local.rules", "message-gr on\n", 14, &error));
  g_assert_true (stox_rules_message_gr (rules));
}

/* ---- lookups without rows --------------------------------------------- */

static void
test_lookup_empty (void)
{
  g_autoptr (StoxRules) rules = stox_rules_new ();

  g_assert_cmpuint (stox_rules_count (rules), ==, 0);
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 486), ==, "undefined-condition");
  g_assert_cmpuint (stox_rules_condition_to_sip (rules, "bad-request"), ==, 0);
  g_assert_cmpstr (stox_rules_error_type (rules, "bad-request"), ==, "cancel");
  g_assert_cmpstr (stox_rules_message_type (rules), ==, "normal");
  g_assert_true (stox_rules_message_gr (rules));
}

static void
test_lookup_unknown (void)
{
  g_autoptr (StoxRules) rules = load_shipped ();

  /* Unknown conditions map like <undefined-condition/> (400). */
  g_assert_cmpuint (stox_rules_condition_to_sip (rules, "payment-required"), ==, 400);
  g_assert_cmpuint (stox_rules_condition_to_sip (rules, "Bad-Request"), ==, 400);
  g_assert_cmpuint (stox_rules_condition_to_sip (rules, ""), ==, 400);
  g_assert_cmpuint (stox_rules_condition_to_sip (rules, NULL), ==, 400);
  g_assert_cmpstr (stox_rules_error_type (rules, "payment-required"), ==, "cancel");
  g_assert_cmpstr (stox_rules_error_type (rules, NULL), ==, "cancel");
  /* Only 3xx–6xx are mapped (RFC 7247 §7). */
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 0), ==, "undefined-condition");
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 200), ==, "undefined-condition");
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 299), ==, "undefined-condition");
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 700), ==, "undefined-condition");
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, G_MAXUINT), ==, "undefined-condition");
}

static void
test_lookup_missing_condition_row (void)
{
  g_autoptr (StoxRules) rules = stox_rules_new ();

  /* A known condition without a row of its own falls back like an
   * unknown one, to the undefined-condition row. */
  parse_ok (rules, "a.rules", "xmpp-to-sip undefined-condition 500\n");
  g_assert_cmpuint (stox_rules_condition_to_sip (rules, "gone"), ==, 500);
  /* Neither an exact nor a class row. */
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 486), ==, "undefined-condition");
}

/* ---- syntax ----------------------------------------------------------- */

typedef struct
{
  const char *name;
  const char *text;
  gsize       length; /* 0: strlen (text) */
  const char *prefix; /* the whole "FILE:LINE: " */
  const char *why;    /* a part of the reason */
} SyntaxCase;

#define BIN(s) s, sizeof s - 1

static const SyntaxCase syntax_cases[] = {
  { "unknown-directive", "# c\nxmpp-to-xmpp bad-request 400\n", 0,
    "bad.rules:2: ", "unknown directive 'xmpp-to-xmpp'" },
  { "directive-case", "Message-Type normal\n", 0, "bad.rules:1: ", "unknown directive" },
  { "too-few-fields", "xmpp-to-sip bad-request\n", 0,
    "bad.rules:1: ", "xmpp-to-sip takes 2 fields" },
  { "too-many-fields", "\n\nsip-to-xmpp 486 recipient-unavailable 480\n", 0,
    "bad.rules:3: ", "got 3" },
  { "many-fields", "error-type a b c d e f g h\n", 0, "bad.rules:1: ", "got 8" },
  { "message-type-no-value", "message-type\n", 0,
    "bad.rules:1: ", "message-type takes 1 field" },
  { "message-type-two-values", "message-type normal chat\n", 0,
    "bad.rules:1: ", "got 2" },
  { "code-299", "sip-to-xmpp 299 bad-request\n", 0, "bad.rules:1: ", "out of range" },
  { "code-200", "sip-to-xmpp 200 bad-request\n", 0, "bad.rules:1: ", "out of range" },
  { "code-700", "sip-to-xmpp 700 bad-request\n", 0, "bad.rules:1: ", "out of range" },
  { "code-xmpp-to-sip-100", "xmpp-to-sip bad-request 100\n", 0,
    "bad.rules:1: ", "out of range" },
  { "code-2xx", "sip-to-xmpp 2xx bad-request\n", 0, "bad.rules:1: ", "3xx to 6xx" },
  { "code-7xx", "sip-to-xmpp 7xx bad-request\n", 0, "bad.rules:1: ", "3xx to 6xx" },
  { "code-letters", "sip-to-xmpp 48a bad-request\n", 0, "bad.rules:1: ", "not a SIP code" },
  { "code-four-digits", "sip-to-xmpp 0486 bad-request\n", 0,
    "bad.rules:1: ", "not a SIP code" },
  { "code-two-digits", "sip-to-xmpp 48 bad-request\n", 0, "bad.rules:1: ", "not a SIP code" },
  { "code-sign", "sip-to-xmpp +48 bad-request\n", 0, "bad.rules:1: ", "not a SIP code" },
  { "class-upper", "sip-to-xmpp 4XX bad-request\n", 0, "bad.rules:1: ", "not a SIP code" },
  { "class-half", "sip-to-xmpp 48x bad-request\n", 0, "bad.rules:1: ", "not a SIP code" },
  { "class-in-xmpp-to-sip", "xmpp-to-sip bad-request 4xx\n", 0,
    "bad.rules:1: ", "single SIP code" },
  { "xmpp-to-sip-503", "xmpp-to-sip service-unavailable 503\n", 0,
    "bad.rules:1: ", "503 is reserved" },
  { "xmpp-to-sip-503-other", "xmpp-to-sip internal-server-error 503\n", 0,
    "bad.rules:1: ", "503 is reserved" },
  { "unknown-condition", "sip-to-xmpp 402 payment-required\n", 0,
    "bad.rules:1: ", "unknown condition 'payment-required'" },
  { "condition-element", "sip-to-xmpp 400 <bad-request/>\n", 0,
    "bad.rules:1: ", "unknown condition" },
  { "condition-case", "xmpp-to-sip Bad-Request 400\n", 0,
    "bad.rules:1: ", "unknown condition" },
  { "condition-error-type", "error-type teapot cancel\n", 0,
    "bad.rules:1: ", "unknown condition 'teapot'" },
  { "unknown-type", "error-type bad-request fatal\n", 0,
    "bad.rules:1: ", "unknown error type 'fatal'" },
  { "type-case", "error-type bad-request Modify\n", 0,
    "bad.rules:1: ", "unknown error type" },
  { "message-type-bad", "message-type groupchat\n", 0,
    "bad.rules:1: ", "'normal' or 'chat'" },
  { "hash-inside-field", "message-type normal#chat\n", 0,
    "bad.rules:1: ", "'normal#chat'" },
  { "invalid-utf8-comment", BIN ("# ok\n# caf\xc3\n"), "bad.rules:2: ", "invalid UTF-8" },
  { "invalid-utf8-field", BIN ("sip-to-xmpp 486 recipient\xff\n"),
    "bad.rules:1: ", "invalid UTF-8" },
  { "overlong-utf8", BIN ("# \xc0\xaf\n"), "bad.rules:1: ", "invalid UTF-8" },
  { "surrogate-utf8", BIN ("\n\n\n# \xed\xa0\x80\n"), "bad.rules:4: ", "invalid UTF-8" },
  { "nul-byte", BIN ("message-type normal\n\0\n"), "bad.rules:2: ", "text not UTF-8" },
  { "utf16le", BIN ("\xff\xfem\0e\0s\0"), "bad.rules:1: ", "text not UTF-8" },
  { "utf16be", BIN ("\xfe\xff\0m\0e\0s"), "bad.rules:1: ", "text not UTF-8" },
  { "control-char", "message-type\vnormal\n", 0, "bad.rules:1: ", "control character 0x0B" },
  { "bare-cr", "message-type normal\rx\n", 0, "bad.rules:1: ", "control character 0x0D" },
  { "escape-in-comment", "# \x1b[31m\n", 0, "bad.rules:1: ", "control character 0x1B" },
  { "last-line-no-newline", "message-type normal\nmessage-type bogus", 0,
    "bad.rules:2: ", "'bogus'" },
  { "crlf", "message-type normal\r\nfoo\r\n", 0, "bad.rules:2: ", "unknown directive 'foo'" },
  { "after-bom", "\xef\xbb\xbf\nfoo\n", 0, "bad.rules:2: ", "unknown directive 'foo'" },
};

static void
test_syntax_case (gconstpointer data)
{
  const SyntaxCase *c = data;
  gsize length = c->length != 0 ? c->length : strlen (c->text);
  g_autoptr (StoxRules) rules = stox_rules_new ();
  g_autoptr (GError) error = NULL;

  g_assert_false (stox_rules_parse (rules, "bad.rules", c->text, length, &error));
  g_assert_error (error, STOX_RULES_ERROR, STOX_RULES_ERROR_SYNTAX);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, c->prefix));
  g_assert_nonnull (strstr (error->message, c->why));
  /* One fault, one line. */
  g_assert_null (strchr (error->message, '\n'));
  g_assert_cmpuint (stox_rules_count (rules), ==, 0);
}

static void
test_syntax_line_length (void)
{
  g_autoptr (StoxRules) rules = stox_rules_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new ("message-type normal\n");

  /* 1024 bytes are fine, also with CRLF (the terminator does not count). */
  g_string_append_c (text, '#');
  for (guint i = 1; i < 1024; i++)
    g_string_append_c (text, 'x');
  g_string_append (text, "\r\n");
  g_assert_true (stox_rules_parse (rules, "long.rules", text->str, text->len, &error));
  g_assert_no_error (error);

  /* 1025 are not, on line 3. */
  g_string_append (text, "# ");
  for (guint i = 2; i < 1025; i++)
    g_string_append_c (text, 'y');
  g_string_append_c (text, '\n');
  g_assert_false (stox_rules_parse (rules, "long.rules", text->str, text->len, &error));
  g_assert_error (error, STOX_RULES_ERROR, STOX_RULES_ERROR_SYNTAX);
  g_assert_true (g_str_has_prefix (error->message, "long.rules:3: line too long"));
}

static void
test_syntax_multibyte_length (void)
{
  g_autoptr (StoxRules) rules = stox_rules_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) text = g_string_new ("#");

  /* The limit is in bytes: 400 × "é" (2 bytes) + "#" = 801 ok; 600 not. */
  for (guint i = 0; i < 400; i++)
    g_string_append (text, "\xc3\xa9");
  g_assert_true (stox_rules_parse (rules, "u.rules", text->str, text->len, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < 200; i++)
    g_string_append (text, "\xc3\xa9");
  g_assert_false (stox_rules_parse (rules, "u.rules", text->str, text->len, &error));
  g_assert_true (g_str_has_prefix (error->message, "u.rules:1: line too long"));
}

static void
test_syntax_several_errors (void)
{
  g_autoptr (StoxRules) rules = stox_rules_new ();
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GString) text = g_string_new (NULL);

  g_assert_false (stox_rules_parse (rules, "x.rules",
                                    "foo\nmessage-type normal\nbar\n", 27, &error));
  lines = g_strsplit (error->message, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  g_assert_true (g_str_has_prefix (lines[0], "x.rules:1: unknown directive 'foo'"));
  g_assert_true (g_str_has_prefix (lines[1], "x.rules:3: unknown directive 'bar'"));
  g_clear_error (&error);
  g_clear_pointer (&lines, g_strfreev);

  /* Bounded: ten diagnostics, then a count. */
  for (guint i = 0; i < 25; i++)
    g_string_append (text, "nonsense\n");
  g_assert_false (stox_rules_parse (rules, "x.rules", text->str, text->len, &error));
  lines = g_strsplit (error->message, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 11);
  g_assert_true (g_str_has_prefix (lines[9], "x.rules:10: "));
  g_assert_cmpstr (lines[10], ==, "x.rules: 15 more errors");
}

static void
test_syntax_accepted (void)
{
  g_autoptr (StoxRules) rules = stox_rules_new ();
  g_autoptr (GError) error = NULL;

  parse_ok (rules, "ok.rules",
            "\xef\xbb\xbf# a comment after a UTF-8 byte-order mark\r\n"
            "\r\n"
            "   \t  \n"
            "  # indented comment, ünïcödé\n"
            "\txmpp-to-sip\tgone\t410\t# or 301 (RFC 7247 Table 2 note 3)\r\n"
            "sip-to-xmpp   4xx  bad-request # class row\n"
            "sip-to-xmpp 486 recipient-unavailable #\n"
            "error-type gone cancel\n"
            "message-type chat");
  g_assert_cmpuint (stox_rules_count (rules), ==, 5);
  g_assert_cmpuint (stox_rules_condition_to_sip (rules, "gone"), ==, 410);
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 499), ==, "bad-request");
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 486), ==, "recipient-unavailable");
  g_assert_cmpstr (stox_rules_error_type (rules, "gone"), ==, "cancel");
  g_assert_cmpstr (stox_rules_message_type (rules), ==, "chat");

  /* Empty and comment-only files add nothing and are fine. */
  g_assert_true (stox_rules_parse (rules, "empty.rules", "", 0, &error));
  g_assert_no_error (error);
  g_assert_true (stox_rules_parse (rules, "empty.rules", NULL, 0, &error));
  g_assert_no_error (error);
  parse_ok (rules, "c.rules", "# nothing\n\n");
  g_assert_cmpuint (stox_rules_count (rules), ==, 5);
}

static void
test_syntax_not_nul_terminated (void)
{
  g_autoptr (StoxRules) rules = stox_rules_new ();
  g_autoptr (GError) error = NULL;
  /* Only the first 19 bytes count: "message-type normal". */
  static const char text[] = "message-type normalXXXX";

  g_assert_true (stox_rules_parse (rules, "n.rules", text, 19, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stox_rules_count (rules), ==, 1);
}

static void
test_syntax_null_filename (void)
{
  g_autoptr (StoxRules) rules = stox_rules_new ();
  g_autoptr (GError) error = NULL;

  g_assert_false (stox_rules_parse (rules, NULL, "foo\n", 4, &error));
  g_assert_true (g_str_has_prefix (error->message, "(rules):1: "));
}

/* ---- merging ---------------------------------------------------------- */

static void
test_override_row (void)
{
  g_autoptr (StoxRules) rules = load_shipped ();
  g_autoptr (GError) error = NULL;

  parse_ok (rules, "90-local.rules",
            "sip-to-xmpp 486 not-acceptable\n"
            "xmpp-to-sip gone 410\n"
            "xmpp-to-sip service-unavailable 405\n"
            "error-type policy-violation wait\n"
            "message-type chat\n");
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 486), ==, "not-acceptable");
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 487), ==, "recipient-unavailable");
  g_assert_cmpuint (stox_rules_condition_to_sip (rules, "gone"), ==, 410);
  g_assert_cmpuint (stox_rules_condition_to_sip (rules, "service-unavailable"), ==, 405);
  g_assert_cmpuint (stox_rules_condition_to_sip (rules, "forbidden"), ==, 403);
  g_assert_cmpstr (stox_rules_error_type (rules, "policy-violation"), ==, "wait");
  g_assert_cmpstr (stox_rules_message_type (rules), ==, "chat");
  /* Overridden rows replace, they do not add. */
  g_assert_cmpuint (stox_rules_count (rules), ==, SHIPPED_ROWS);
  g_assert_true (stox_rules_validate (rules, &error));
  g_assert_no_error (error);
}

static void
test_override_class (void)
{
  g_autoptr (StoxRules) rules = load_shipped ();

  parse_ok (rules, "90-local.rules", "sip-to-xmpp 4xx not-acceptable\n");
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 499), ==, "not-acceptable");
  /* Exact rows still win over the class row. */
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 486), ==, "recipient-unavailable");
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 411), ==, "bad-request");

  /* A new exact row for a code that had none. */
  parse_ok (rules, "91-local.rules", "sip-to-xmpp 499 conflict\n");
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 499), ==, "conflict");
  g_assert_cmpuint (stox_rules_count (rules), ==, SHIPPED_ROWS + 1);
}

static void
test_override_within_file (void)
{
  g_autoptr (StoxRules) rules = stox_rules_new ();

  parse_ok (rules, "a.rules", "message-type chat\nmessage-type normal\n"
                              "sip-to-xmpp 486 gone\nsip-to-xmpp 486 conflict\n");
  g_assert_cmpstr (stox_rules_message_type (rules), ==, "normal");
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 486), ==, "conflict");
  g_assert_cmpuint (stox_rules_count (rules), ==, 2);
}

static void
test_failed_file_keeps_earlier (void)
{
  g_autoptr (StoxRules) rules = load_shipped ();
  g_autoptr (GError) error = NULL;

  /* Good rows before and after the broken one: none of them is kept. */
  static const char bad[] = "sip-to-xmpp 486 not-acceptable\n"
                            "message-type chat\n"
                            "sip-to-xmpp 4xx bad-reqest\n"
                            "sip-to-xmpp 499 conflict\n";

  g_assert_false (stox_rules_parse (rules, "90-local.rules", bad, sizeof bad - 1, &error));
  g_assert_error (error, STOX_RULES_ERROR, STOX_RULES_ERROR_SYNTAX);
  g_assert_true (g_str_has_prefix (error->message, "90-local.rules:3: "));
  g_clear_error (&error);

  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 486), ==, "recipient-unavailable");
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 499), ==, "bad-request");
  g_assert_cmpstr (stox_rules_message_type (rules), ==, "normal");
  g_assert_cmpuint (stox_rules_count (rules), ==, SHIPPED_ROWS);
  g_assert_true (stox_rules_validate (rules, &error));
  g_assert_no_error (error);
}

/* ---- a rules directory: stox_rules_build() ---------------------------- */

/* The shipped files as (name, text) pairs after `more` (may be NULL), in
 * the order given; the texts are kept in `keep`. */
static GArray *
shipped_pairs (GPtrArray *keep, const StoxRulesFile *more, gsize n_more)
{
  GArray *files = g_array_new (FALSE, TRUE, sizeof (StoxRulesFile));

  for (gsize i = 0; i < n_more; i++)
    g_array_append_val (files, more[i]);
  for (gsize i = 0; i < G_N_ELEMENTS (shipped_files); i++)
    {
      StoxRulesFile f = { .name = shipped_files[i] };
      char *text = stox_test_read_shipped (shipped_files[i], &f.length);

      g_ptr_array_add (keep, text);
      f.text = text;
      g_array_append_val (files, f);
    }
  return files;
}

static StoxRules *
build (GArray *files, GError **error)
{
  return stox_rules_build ("rules.d", (const StoxRulesFile *) (gpointer) files->data,
                           files->len, error);
}

/* Files are read in name order whatever the order given: an operator's
 * 90-local.rules overrides single rows of the shipped ones. */
static void
test_build_name_order (void)
{
  static const char local[] = "sip-to-xmpp 486 not-acceptable\nmessage-type chat\n";
  const StoxRulesFile more[] = { { "90-local.rules", local, sizeof local - 1 } };
  g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) files = shipped_pairs (keep, more, G_N_ELEMENTS (more));
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxRules) rules = build (files, &error);

  g_assert_no_error (error);
  g_assert_nonnull (rules);
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 486), ==, "not-acceptable");
  g_assert_cmpstr (stox_rules_message_type (rules), ==, "chat");
  g_assert_cmpuint (stox_rules_count (rules), ==, SHIPPED_ROWS);
}

/* A syntax error names FILE:LINE of the first broken file in name order,
 * and no rule set comes back. */
static void
test_build_syntax_error (void)
{
  static const char bad[] = "# comment\nsip-to-xmpp 486 forbidden\nno-such-directive here\n";
  static const char worse[] = "bogus\n";
  const StoxRulesFile more[] = {
    { "60-worse.rules", worse, sizeof worse - 1 },
    { "50-broken.rules", bad, sizeof bad - 1 },
  };
  g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) files = shipped_pairs (keep, more, G_N_ELEMENTS (more));
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxRules) rules = build (files, &error);

  g_assert_null (rules);
  g_assert_error (error, STOX_RULES_ERROR, STOX_RULES_ERROR_SYNTAX);
  g_assert_true (g_str_has_prefix (error->message, "50-broken.rules:3: "));
  g_assert_null (strstr (error->message, "60-worse.rules"));
}

/* An incomplete set names the directory it came from; so does an empty
 * one. */
static void
test_build_incomplete (void)
{
  static const char only[] = "message-type normal\n";
  const StoxRulesFile files[] = { { "10-only.rules", only, sizeof only - 1 } };
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxRules) rules = stox_rules_build ("rules.d", files, G_N_ELEMENTS (files),
                                                  &error);

  g_assert_null (rules);
  g_assert_error (error, STOX_RULES_ERROR, STOX_RULES_ERROR_INCOMPLETE);
  g_assert_true (g_str_has_prefix (error->message, "rules.d: incomplete rules: "));
  g_clear_error (&error);

  g_assert_null (stox_rules_build ("empty.d", NULL, 0, &error));
  g_assert_error (error, STOX_RULES_ERROR, STOX_RULES_ERROR_INCOMPLETE);
  g_assert_true (g_str_has_prefix (error->message, "empty.d: "));
}

/* ---- validate --------------------------------------------------------- */

static void
test_validate_empty (void)
{
  g_autoptr (StoxRules) rules = stox_rules_new ();
  g_autoptr (GError) error = NULL;

  g_assert_false (stox_rules_validate (rules, &error));
  g_assert_error (error, STOX_RULES_ERROR, STOX_RULES_ERROR_INCOMPLETE);
  g_assert_nonnull (strstr (error->message, "error-type"));
  g_assert_nonnull (strstr (error->message, "xmpp-to-sip"));
  g_assert_nonnull (strstr (error->message, "3xx, 4xx, 5xx, 6xx"));
  g_assert_nonnull (strstr (error->message, "unexpected-request"));
}

typedef struct
{
  const char *name;
  const char *drop;    /* start of the shipped line to leave out */
  const char *missing; /* what validate must name */
} DropCase;

static const DropCase drop_cases[] = {
  { "error-type", "error-type  gone ", "no error-type row for gone" },
  { "xmpp-to-sip", "xmpp-to-sip  redirect ", "no xmpp-to-sip row for redirect" },
  { "class-5xx", "sip-to-xmpp  5xx ", "no sip-to-xmpp class row 5xx" },
  { "class-3xx", "sip-to-xmpp  3xx ", "no sip-to-xmpp class row 3xx" },
};

/* The shipped error file with one row taken out is incomplete. */
static void
test_validate_drop (gconstpointer data)
{
  const DropCase *c = data;
  g_autoptr (StoxRules) rules = stox_rules_new ();
  g_autoptr (GError) error = NULL;
  gsize length;
  g_autofree char *text = stox_test_read_shipped ("10-errors.rules", &length);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GString) kept = g_string_new (NULL);
  guint dropped = 0;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (g_str_has_prefix (lines[i], c->drop))
        {
          dropped++;
          g_string_append (kept, "# dropped\n");
          continue;
        }
      g_string_append_printf (kept, "%s\n", lines[i]);
    }
  g_assert_cmpuint (dropped, ==, 1);

  g_assert_true (stox_rules_parse (rules, "10-errors.rules", kept->str, kept->len, &error));
  g_assert_no_error (error);
  g_assert_false (stox_rules_validate (rules, &error));
  g_assert_error (error, STOX_RULES_ERROR, STOX_RULES_ERROR_INCOMPLETE);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "incomplete rules: "));
  g_assert_cmpstr (error->message + strlen ("incomplete rules: "), ==, c->missing);
}

/* ---- the shipped files as text ---------------------------------------- */

/* Each group of rows cites where it comes from. */
static void
test_shipped_cites_sources (void)
{
  static const char *const citations[] = {
    "RFC 7247 §7.1, Table 2", "RFC 7247 §7.2, Table 3",
    "docs/mappings.md §1.9", "RFC 6120 §8.3.3", "note (5)",
  };
  gsize length;
  g_autofree char *errors = stox_test_read_shipped ("10-errors.rules", &length);
  g_autofree char *message = stox_test_read_shipped ("20-message.rules", &length);

  for (gsize i = 0; i < G_N_ELEMENTS (citations); i++)
    g_assert_nonnull (strstr (errors, citations[i]));
  g_assert_nonnull (strstr (message, "RFC 7572 §5"));
  g_assert_nonnull (strstr (message, "deviation"));
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

  g_test_add_func ("/rules/shipped/valid", test_shipped_valid);
  g_test_add_func ("/rules/shipped/every-code", test_shipped_every_code);
  g_test_add_func ("/rules/shipped/fallbacks", test_shipped_fallbacks);
  g_test_add_func ("/rules/shipped/service-unavailable-not-503", test_shipped_no_503);
  g_test_add_func ("/rules/shipped/message-type", test_shipped_message_type);
  g_test_add_func ("/rules/message-gr", test_message_gr);
  g_test_add_func ("/rules/shipped/cites-sources", test_shipped_cites_sources);

  for (gsize i = 0; i < G_N_ELEMENTS (table2); i++)
    {
      g_autofree char *path = g_strdup_printf ("/rules/table2/%s", table2[i].condition);
      g_test_add_data_func (path, &table2[i], test_table2_row);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (table3); i++)
    {
      g_autofree char *path = g_strdup_printf ("/rules/table3/%s", table3[i].code);
      g_test_add_data_func (path, &table3[i], test_table3_row);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (extra); i++)
    {
      g_autofree char *path = g_strdup_printf ("/rules/extra/%s", extra[i].code);
      g_test_add_data_func (path, &extra[i], test_table3_row);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autofree char *path = g_strdup_printf ("/rules/error-type/%s", types[i].condition);
      g_test_add_data_func (path, &types[i], test_error_type_row);
    }

  g_test_add_func ("/rules/lookup/empty", test_lookup_empty);
  g_test_add_func ("/rules/lookup/unknown", test_lookup_unknown);
  g_test_add_func ("/rules/lookup/missing-condition-row", test_lookup_missing_condition_row);

  for (gsize i = 0; i < G_N_ELEMENTS (syntax_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/rules/syntax/%s", syntax_cases[i].name);
      g_test_add_data_func (path, &syntax_cases[i], test_syntax_case);
    }
  g_test_add_func ("/rules/syntax/line-length", test_syntax_line_length);
  g_test_add_func ("/rules/syntax/multibyte-line-length", test_syntax_multibyte_length);
  g_test_add_func ("/rules/syntax/several-errors", test_syntax_several_errors);
  g_test_add_func ("/rules/syntax/accepted", test_syntax_accepted);
  g_test_add_func ("/rules/syntax/not-nul-terminated", test_syntax_not_nul_terminated);
  g_test_add_func ("/rules/syntax/null-filename", test_syntax_null_filename);

  g_test_add_func ("/rules/override/row", test_override_row);
  g_test_add_func ("/rules/override/class", test_override_class);
  g_test_add_func ("/rules/override/within-file", test_override_within_file);
  g_test_add_func ("/rules/override/failed-file-keeps-earlier", test_failed_file_keeps_earlier);

  g_test_add_func ("/rules/build/name-order", test_build_name_order);
  g_test_add_func ("/rules/build/syntax-error", test_build_syntax_error);
  g_test_add_func ("/rules/build/incomplete", test_build_incomplete);

  g_test_add_func ("/rules/validate/empty", test_validate_empty);
  for (gsize i = 0; i < G_N_ELEMENTS (drop_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/rules/validate/missing-%s", drop_cases[i].name);
      g_test_add_data_func (path, &drop_cases[i], test_validate_drop);
    }

  return g_test_run ();
}
