/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rule files: the error tables of RFC 7247 §7 (docs/mappings.md §1.7–1.10),
 * the SIP→XMPP message type (RFC 7572 §5) and the RPID ↔ <show> table of
 * docs/mappings.md §2.9, as operator-editable text.
 * Pure: the daemon reads the files and hands the text over; this module only
 * parses, merges and looks up.  Grammar: see rules.h.
 */
#include "config.h"

#include <string.h>

#include "rules.h"
#include "stats.h"
#include "types.h"

/* clang-format off */
G_DEFINE_QUARK (stox-rules-error-quark, stox_rules_error)
/* clang-format on */

/* Longest line accepted, in bytes without the line terminator.  The longest
 * real row is far below; the cap only keeps diagnostics bounded. */
#define RULES_LINE_MAX 1024

/* Diagnostics collected from one file before giving up on the rest. */
#define RULES_ERRORS_MAX 10

/* Only 3xx–6xx are mapped; 1xx/2xx have no XMPP analogue (RFC 7247 §7,
 * docs/mappings.md §1.7). */
#define SIP_MIN 300
#define SIP_MAX 699
#define SIP_SPAN (SIP_MAX - SIP_MIN + 1)
#define SIP_CLASSES 4 /* 3xx, 4xx, 5xx, 6xx */

/* The 22 defined conditions of RFC 6120 §8.3.3, in its order.  Tables below
 * are indexed by position here; the strings are what lookups return. */
static const char *const conditions[] = {
  "bad-request",
  "conflict",
  "feature-not-implemented",
  "forbidden",
  "gone",
  "internal-server-error",
  "item-not-found",
  "jid-malformed",
  "not-acceptable",
  "not-allowed",
  "not-authorized",
  "policy-violation",
  "recipient-unavailable",
  "redirect",
  "registration-required",
  "remote-server-not-found",
  "remote-server-timeout",
  "resource-constraint",
  "service-unavailable",
  "subscription-required",
  "undefined-condition",
  "unexpected-request",
};
#define N_CONDITIONS ((int) G_N_ELEMENTS (conditions))
G_STATIC_ASSERT (G_N_ELEMENTS (conditions) == 22);
/* Index of "undefined-condition": what an unmapped status becomes and what
 * an unknown condition maps like (rules.h). */
#define COND_UNDEFINED 20
G_STATIC_ASSERT (G_N_ELEMENTS (conditions) == STOX_STATS_XMPP_CONDITIONS);

/* RFC 6120 §8.3.2 error types. */
static const char *const error_types[] = {
  "auth", "cancel", "continue", "modify", "wait",
};
#define N_ERROR_TYPES ((int) G_N_ELEMENTS (error_types))
#define TYPE_CANCEL 1

static const char *const message_types[] = { "normal", "chat" };
static const char *const on_off[] = { "off", "on" };

#define UNSET (-1)

/* RFC 4480 §3.2 activities, <rpid:other>, and the two RFC 4480 §3.14
 * user-input values, in rank order: the order of the rows of
 * docs/mappings.md §2.9, whose first match wins (rules.h).  Tables below are
 * indexed by position here. */
static const char *const activities[] = {
  "permanent-absence",                                  /* → unavailable */
  "away",
  "vacation", "holiday", "travel", "sleeping",
  "busy", "on-the-phone", "meeting", "presentation", "performance",
  "appointment", "steering",
  "breakfast", "lunch", "dinner", "meal", "in-transit", "shopping",
  STOX_RULES_USER_INPUT_IDLE,
  "working", "playing", "tv", "spectator", "worship", "looking-for-work",
  "unknown",
  "other",                                              /* carries text */
  STOX_RULES_USER_INPUT_ACTIVE,
};
#define N_ACTIVITIES ((int) G_N_ELEMENTS (activities))
/* 26 of RFC 4480 §3.2, other, and two user-input values. */
G_STATIC_ASSERT (G_N_ELEMENTS (activities) == 29);

/* RFC 6121 §4.7.2.1 <show/> values: the keys of show-to-rpid. */
#define N_SHOWS STOX_SHOW_N

/* Values of rpid-to-show: the shows, then these two. */
static const char *const rpid_results[] = {
  "away", "chat", "dnd", "xa", "unavailable", "none",
};
#define RESULT_NONE 5

/* show-to-rpid "none": set, but no activity (UNSET is "no row"). */
#define ACTIVITY_NONE (-2)

/* One set of rows.  A parse fills a fresh RuleTable and, only if the whole
 * file was good, copies its set entries over the live one; that is how a
 * broken file leaves the earlier rows untouched and how later rows win. */
typedef struct
{
  gint8  sip_to_cond[SIP_SPAN];       /* condition index, UNSET */
  gint8  class_to_cond[SIP_CLASSES];  /* Nxx rows */
  gint16 cond_to_sip[G_N_ELEMENTS (conditions)];  /* 0 = unset */
  gint8  cond_to_type[G_N_ELEMENTS (conditions)]; /* type index, UNSET */
  gint8  message_type;                            /* index, UNSET */
  gint8  message_gr;                              /* on_off index, UNSET */
  gint8  rpid_to_show[G_N_ELEMENTS (activities)]; /* rpid_results index, UNSET */
  gint8  show_to_rpid[STOX_SHOW_N];      /* activity index,
                                                   * ACTIVITY_NONE, UNSET */
} RuleTable;

struct _StoxRules
{
  RuleTable   t;
  /* condition name → index + 1, so that a condition string from a stanza is
   * looked up in O(1).  Per instance: the core keeps no globals. */
  GHashTable *cond_index;
  /* activity name → index + 1, likewise: activity names come from peers'
   * PIDF documents. */
  GHashTable *activity_index;
};

static void
rule_table_clear (RuleTable *t)
{
  memset (t->sip_to_cond, UNSET, sizeof t->sip_to_cond);
  memset (t->class_to_cond, UNSET, sizeof t->class_to_cond);
  memset (t->cond_to_sip, 0, sizeof t->cond_to_sip);
  memset (t->cond_to_type, UNSET, sizeof t->cond_to_type);
  t->message_type = UNSET;
  t->message_gr = UNSET;
  memset (t->rpid_to_show, UNSET, sizeof t->rpid_to_show);
  memset (t->show_to_rpid, UNSET, sizeof t->show_to_rpid);
}

static void
rule_table_merge (RuleTable *dst, const RuleTable *src)
{
  for (int i = 0; i < SIP_SPAN; i++)
    if (src->sip_to_cond[i] != UNSET)
      dst->sip_to_cond[i] = src->sip_to_cond[i];
  for (int i = 0; i < SIP_CLASSES; i++)
    if (src->class_to_cond[i] != UNSET)
      dst->class_to_cond[i] = src->class_to_cond[i];
  for (int i = 0; i < N_CONDITIONS; i++)
    {
      if (src->cond_to_sip[i] != 0)
        dst->cond_to_sip[i] = src->cond_to_sip[i];
      if (src->cond_to_type[i] != UNSET)
        dst->cond_to_type[i] = src->cond_to_type[i];
    }
  if (src->message_type != UNSET)
    dst->message_type = src->message_type;
  if (src->message_gr != UNSET)
    dst->message_gr = src->message_gr;
  for (int i = 0; i < N_ACTIVITIES; i++)
    if (src->rpid_to_show[i] != UNSET)
      dst->rpid_to_show[i] = src->rpid_to_show[i];
  for (int i = 0; i < N_SHOWS; i++)
    if (src->show_to_rpid[i] != UNSET)
      dst->show_to_rpid[i] = src->show_to_rpid[i];
}

StoxRules *
stox_rules_new (void)
{
  StoxRules *rules = g_new0 (StoxRules, 1);

  rule_table_clear (&rules->t);
  rules->cond_index = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; i < N_CONDITIONS; i++)
    g_hash_table_insert (rules->cond_index, (gpointer) conditions[i],
                         GINT_TO_POINTER (i + 1));
  rules->activity_index = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; i < N_ACTIVITIES; i++)
    g_hash_table_insert (rules->activity_index, (gpointer) activities[i],
                         GINT_TO_POINTER (i + 1));
  return rules;
}

void
stox_rules_free (StoxRules *rules)
{
  if (rules == NULL)
    return;
  g_clear_pointer (&rules->cond_index, g_hash_table_unref);
  g_clear_pointer (&rules->activity_index, g_hash_table_unref);
  g_free (rules);
}

/* Index of a condition name, or UNSET. */
static int
condition_index (const StoxRules *rules, const char *name)
{
  if (name == NULL)
    return UNSET;
  return GPOINTER_TO_INT (g_hash_table_lookup (rules->cond_index, name)) - 1;
}

/* Index of an activity name (rank), or UNSET. */
static int
activity_index (const StoxRules *rules, const char *name)
{
  if (name == NULL)
    return UNSET;
  return GPOINTER_TO_INT (g_hash_table_lookup (rules->activity_index, name)) - 1;
}

static gboolean
is_user_input (int activity)
{
  return strcmp (activities[activity], STOX_RULES_USER_INPUT_IDLE) == 0
         || strcmp (activities[activity], STOX_RULES_USER_INPUT_ACTIVE) == 0;
}

static int
word_index (const char *const *words, int n, const char *word)
{
  for (int i = 0; i < n; i++)
    if (strcmp (words[i], word) == 0)
      return i;
  return UNSET;
}

/* ---- parsing ---------------------------------------------------------- */

typedef struct
{
  const char *filename;
  guint       lineno;
  GString    *errors;
  guint       n_errors;
} ParseState;

static void parse_fail (ParseState *ps, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Records "FILE:LINE: why"; every diagnostic of a file ends up in the one
 * GError, one line each, so --check-config shows them all at once. */
static void
parse_fail (ParseState *ps, const char *format, ...)
{
  va_list args;
  g_autofree char *why = NULL;

  ps->n_errors++;
  if (ps->n_errors > RULES_ERRORS_MAX)
    return;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);

  if (ps->errors->len > 0)
    g_string_append_c (ps->errors, '\n');
  g_string_append_printf (ps->errors, "%s:%u: %s", ps->filename, ps->lineno, why);
}

/* A SIP status field: three ASCII digits in 300–699, or a class "Nxx" with
 * N in 3–6 when allow_class.  Returns the code, or for a class 3–6 with
 * *ret_is_class set; 0 after a diagnostic. */
static guint
parse_code (ParseState *ps,
            const char *field,
            gboolean    allow_class,
            gboolean   *ret_is_class)
{
  *ret_is_class = FALSE;

  if (strlen (field) != 3 || !g_ascii_isdigit (field[0]))
    goto bad;

  if (field[1] == 'x' && field[2] == 'x')
    {
      guint n = (guint) (field[0] - '0');

      if (n < 3 || n > 6)
        {
          parse_fail (ps, "'%s': only the classes 3xx to 6xx are mapped "
                      "(RFC 7247 section 7)", field);
          return 0;
        }
      if (!allow_class)
        {
          parse_fail (ps, "'%s': xmpp-to-sip needs a single SIP code, "
                      "not a class", field);
          return 0;
        }
      *ret_is_class = TRUE;
      return n;
    }

  if (g_ascii_isdigit (field[1]) && g_ascii_isdigit (field[2]))
    {
      guint code = (guint) g_ascii_digit_value (field[0]) * 100
                   + (guint) g_ascii_digit_value (field[1]) * 10
                   + (guint) g_ascii_digit_value (field[2]);

      if (code < SIP_MIN || code > SIP_MAX)
        {
          parse_fail (ps, "SIP code %s out of range %d-%d (RFC 7247 section 7 maps "
                      "only 3xx-6xx)", field, SIP_MIN, SIP_MAX);
          return 0;
        }
      return code;
    }

bad:
  parse_fail (ps, "'%s' is not a SIP code (%d-%d)%s", field, SIP_MIN, SIP_MAX,
              allow_class ? " or class (3xx-6xx)" : "");
  return 0;
}

static int
parse_condition (ParseState *ps, const StoxRules *rules, const char *field)
{
  int c = condition_index (rules, field);

  if (c == UNSET)
    parse_fail (ps, "unknown condition '%s' (not one of the 22 of "
                "RFC 6120 section 8.3.3)", field);
  return c;
}

static gboolean
check_fields (ParseState *ps, const char *directive, guint got, guint want,
              const char *usage)
{
  if (got == want)
    return TRUE;
  parse_fail (ps, "%s takes %u field%s (%s), got %u", directive, want,
              want == 1 ? "" : "s", usage, got);
  return FALSE;
}

/* One row, already split into fields (comment removed). */
static void
parse_row (ParseState      *ps,
           const StoxRules *rules,
           RuleTable       *t,
           char *const     *fields,
           guint            n_fields)
{
  const char *directive = fields[0];
  guint n_args = n_fields - 1;
  gboolean is_class;

  if (strcmp (directive, "xmpp-to-sip") == 0)
    {
      int c;
      guint code;

      if (!check_fields (ps, directive, n_args, 2, "<condition> <code>"))
        return;
      c = parse_condition (ps, rules, fields[1]);
      code = parse_code (ps, fields[2], FALSE, &is_class);
      if (c == UNSET || code == 0)
        return;
      /* 503 tells a SIP peer that the gateway itself is down (RFC 3261
       * §21.5.4); it stays reserved for "XMPP unreachable" and no stanza
       * error may produce it (RFC 7247 §7.1 note 5, docs/mappings.md §0
       * row 7, docs/mappings.md §1). */
      if (code == 503)
        {
          parse_fail (ps, "503 is reserved for the gateway's own "
                      "unavailability; map %s to another code "
                      "(RFC 7247 section 7.1 note 5)", fields[1]);
          return;
        }
      t->cond_to_sip[c] = (gint16) code;
    }
  else if (strcmp (directive, "sip-to-xmpp") == 0)
    {
      int c;
      guint code;

      if (!check_fields (ps, directive, n_args, 2, "<code|Nxx> <condition>"))
        return;
      code = parse_code (ps, fields[1], TRUE, &is_class);
      c = parse_condition (ps, rules, fields[2]);
      if (c == UNSET || code == 0)
        return;
      if (is_class)
        t->class_to_cond[code - 3] = (gint8) c;
      else
        t->sip_to_cond[code - SIP_MIN] = (gint8) c;
    }
  else if (strcmp (directive, "error-type") == 0)
    {
      int c, type;

      if (!check_fields (ps, directive, n_args, 2, "<condition> <type>"))
        return;
      c = parse_condition (ps, rules, fields[1]);
      type = word_index (error_types, N_ERROR_TYPES, fields[2]);
      if (type == UNSET)
        parse_fail (ps, "unknown error type '%s' (RFC 6120 section 8.3.2: auth, "
                    "cancel, continue, modify or wait)", fields[2]);
      if (c == UNSET || type == UNSET)
        return;
      t->cond_to_type[c] = (gint8) type;
    }
  else if (strcmp (directive, "message-type") == 0)
    {
      int type;

      if (!check_fields (ps, directive, n_args, 1, "normal or chat"))
        return;
      type = word_index (message_types, G_N_ELEMENTS (message_types), fields[1]);
      if (type == UNSET)
        {
          parse_fail (ps, "message-type is 'normal' or 'chat', not '%s' "
                      "(RFC 7572 section 5)", fields[1]);
          return;
        }
      t->message_type = (gint8) type;
    }
  else if (strcmp (directive, "message-gr") == 0)
    {
      int on;

      if (!check_fields (ps, directive, n_args, 1, "on or off"))
        return;
      on = word_index (on_off, G_N_ELEMENTS (on_off), fields[1]);
      if (on == UNSET)
        {
          parse_fail (ps, "message-gr is 'on' or 'off', not '%s' (RFC 7572 section 4)",
                      fields[1]);
          return;
        }
      t->message_gr = (gint8) on;
    }
  else if (strcmp (directive, "rpid-to-show") == 0)
    {
      int a, result;

      if (!check_fields (ps, directive, n_args, 2, "<activity> <show|unavailable|none>"))
        return;
      a = activity_index (rules, fields[1]);
      if (a == UNSET)
        parse_fail (ps, "unknown RPID activity '%s' (RFC 4480 section 3.2, "
                    "\"other\", \"" STOX_RULES_USER_INPUT_IDLE "\" or \""
                    STOX_RULES_USER_INPUT_ACTIVE "\")", fields[1]);
      result = word_index (rpid_results, G_N_ELEMENTS (rpid_results), fields[2]);
      if (result == UNSET)
        parse_fail (ps, "unknown show '%s' (away, chat, dnd, xa, unavailable "
                    "or none)", fields[2]);
      if (a == UNSET || result == UNSET)
        return;
      t->rpid_to_show[a] = (gint8) result;
    }
  else if (strcmp (directive, "show-to-rpid") == 0)
    {
      int show, a = UNSET;

      if (!check_fields (ps, directive, n_args, 2, "<show> <activity|none>"))
        return;
      show = word_index (stox_show_values, N_SHOWS, fields[1]);
      if (show == UNSET)
        parse_fail (ps, "unknown show '%s' (RFC 6121 section 4.7.2.1: away, "
                    "chat, dnd or xa)", fields[1]);
      if (strcmp (fields[2], "none") == 0)
        a = ACTIVITY_NONE;
      else
        {
          a = activity_index (rules, fields[2]);
          if (a == UNSET)
            parse_fail (ps, "unknown RPID activity '%s' (RFC 4480 section "
                        "3.2, or none)", fields[2]);
          else if (strcmp (activities[a], "other") == 0 || is_user_input (a))
            {
              parse_fail (ps, "'%s' cannot be written for a show: name an "
                          "RFC 4480 section 3.2 activity, or none", fields[2]);
              a = UNSET;
            }
        }
      if (show == UNSET || a == UNSET)
        return;
      t->show_to_rpid[show] = (gint8) a;
    }
  else
    {
      parse_fail (ps, "unknown directive '%s' (expected xmpp-to-sip, "
                  "sip-to-xmpp, error-type, message-type, message-gr, rpid-to-show or "
                  "show-to-rpid)", directive);
    }
}

/* Splits a line at blanks (space, tab).  A field that starts with '#' starts
 * a trailing comment: no field value of this grammar contains '#', so this
 * is unambiguous.  Returns the number of fields stored in fields[]. */
static guint
split_fields (char *line, char **fields, guint max_fields)
{
  guint n = 0;
  char *p = line;

  for (;;)
    {
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '\0' || *p == '#')
        break;
      if (n < max_fields)
        fields[n] = p;
      n++;
      while (*p != '\0' && *p != ' ' && *p != '\t')
        p++;
      if (*p != '\0')
        *p++ = '\0';
    }
  return n;
}

/* Checks one line's bytes (without terminator) and parses it. */
static void
parse_line (ParseState      *ps,
            const StoxRules *rules,
            RuleTable       *t,
            const char      *start,
            gsize            len)
{
  /* The longest valid row has 3 fields; one more shows a wrong count. */
  char *fields[4];
  g_autofree char *line = NULL;
  guint n;

  if (len > RULES_LINE_MAX)
    {
      parse_fail (ps, "line too long (%" G_GSIZE_FORMAT " bytes, at most %d)",
                  len, RULES_LINE_MAX);
      return;
    }
  if (!g_utf8_validate_len (start, len, NULL))
    {
      parse_fail (ps, "invalid UTF-8");
      return;
    }
  for (gsize i = 0; i < len; i++)
    {
      guchar ch = (guchar) start[i];

      if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
        {
          parse_fail (ps, "control character 0x%02X", ch);
          return;
        }
    }

  line = g_strndup (start, len);
  n = split_fields (line, fields, G_N_ELEMENTS (fields));
  if (n == 0)
    return; /* blank or comment line */
  /* parse_row checks the count before it reads past fields[0], so a line
   * with more fields than fields[] holds is only counted, never indexed. */
  parse_row (ps, rules, t, fields, n);
}

gboolean
stox_rules_parse (StoxRules  *rules,
                  const char *filename,
                  const char *text,
                  gsize       length,
                  GError    **error)
{
  g_autoptr (GString) errors = g_string_new (NULL);
  ParseState ps = { filename != NULL ? filename : "(rules)", 1, errors, 0 };
  RuleTable t;
  const char *p;
  const char *end;

  g_return_val_if_fail (rules != NULL, FALSE);
  g_return_val_if_fail (text != NULL || length == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  rule_table_clear (&t);
  if (length == 0)
    text = ""; /* an empty file, perhaps given as NULL: no rows */
  p = text;
  end = text + length;

  /* UTF-16/32 files are the usual way a "text file" is not UTF-8; name it
   * instead of reporting every line as invalid. */
  if (length >= 2 && (((guchar) p[0] == 0xff && (guchar) p[1] == 0xfe)
                      || ((guchar) p[0] == 0xfe && (guchar) p[1] == 0xff)))
    {
      parse_fail (&ps, "text not UTF-8 (UTF-16 or UTF-32 byte-order mark)");
      goto out;
    }
  if (memchr (p, '\0', length) != NULL)
    {
      ps.lineno = 1;
      for (const char *q = p; *q != '\0'; q++)
        if (*q == '\n')
          ps.lineno++;
      parse_fail (&ps, "text not UTF-8 (NUL byte)");
      goto out;
    }
  /* A UTF-8 byte-order mark is what some editors write; it is still UTF-8. */
  if (length >= 3 && memcmp (p, "\xef\xbb\xbf", 3) == 0)
    p += 3;

  while (p < end)
    {
      const char *nl = memchr (p, '\n', (gsize) (end - p));
      const char *eol = nl != NULL ? nl : end;
      gsize len = (gsize) (eol - p);

      if (len > 0 && p[len - 1] == '\r')
        len--; /* CRLF files */
      parse_line (&ps, rules, &t, p, len);
      if (nl == NULL)
        break;
      p = nl + 1;
      ps.lineno++;
    }

out:
  if (ps.n_errors > 0)
    {
      if (ps.n_errors > RULES_ERRORS_MAX)
        g_string_append_printf (errors, "\n%s: %u more errors",
                                ps.filename, ps.n_errors - RULES_ERRORS_MAX);
      g_set_error_literal (error, STOX_RULES_ERROR, STOX_RULES_ERROR_SYNTAX,
                           errors->str);
      return FALSE;
    }

  rule_table_merge (&rules->t, &t);
  return TRUE;
}

static gint
compare_file_names (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(const StoxRulesFile *const *) a)->name,
                 (*(const StoxRulesFile *const *) b)->name);
}

StoxRules *
stox_rules_build (const char          *origin,
                  const StoxRulesFile *files,
                  gsize                n_files,
                  GError             **error)
{
  g_autoptr (GPtrArray) order = g_ptr_array_sized_new ((guint) n_files);
  g_autoptr (StoxRules) rules = stox_rules_new ();

  g_return_val_if_fail (files != NULL || n_files == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  for (gsize i = 0; i < n_files; i++)
    g_ptr_array_add (order, (gpointer) &files[i]);
  g_ptr_array_sort (order, compare_file_names);
  for (guint i = 0; i < order->len; i++)
    {
      const StoxRulesFile *f = order->pdata[i];

      if (!stox_rules_parse (rules, f->name, f->text, f->length, error))
        return NULL;
    }
  if (!stox_rules_validate (rules, error))
    {
      g_prefix_error (error, "%s: ", origin);
      return NULL;
    }
  return g_steal_pointer (&rules);
}

/* ---- validation and lookups ------------------------------------------- */

gboolean
stox_rules_validate (const StoxRules *rules, GError **error)
{
  g_autoptr (GString) missing = g_string_new (NULL);
  g_autoptr (GString) types = g_string_new (NULL);
  g_autoptr (GString) to_sip = g_string_new (NULL);
  g_autoptr (GString) classes = g_string_new (NULL);

  g_return_val_if_fail (rules != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Every condition the XMPP side can send needs a SIP code, and every
   * condition the gateway can generate needs a type (RFC 6120 §8.3.2
   * makes the type attribute mandatory). */
  for (int i = 0; i < N_CONDITIONS; i++)
    {
      if (rules->t.cond_to_type[i] == UNSET)
        g_string_append_printf (types, "%s%s", types->len ? ", " : "",
                                conditions[i]);
      if (rules->t.cond_to_sip[i] == 0)
        g_string_append_printf (to_sip, "%s%s", to_sip->len ? ", " : "",
                                conditions[i]);
    }
  /* The class rows make sip_to_condition total over 300–699 (RFC 7247
   * §7.2: "codes not listed" fall back to their class). */
  for (int i = 0; i < SIP_CLASSES; i++)
    if (rules->t.class_to_cond[i] == UNSET)
      g_string_append_printf (classes, "%s%dxx", classes->len ? ", " : "",
                              i + 3);

  if (types->len > 0)
    g_string_append_printf (missing, "no error-type row for %s", types->str);
  if (to_sip->len > 0)
    g_string_append_printf (missing, "%sno xmpp-to-sip row for %s",
                            missing->len ? "; " : "", to_sip->str);
  if (classes->len > 0)
    g_string_append_printf (missing, "%sno sip-to-xmpp class row %s",
                            missing->len ? "; " : "", classes->str);

  if (missing->len > 0)
    {
      g_set_error (error, STOX_RULES_ERROR, STOX_RULES_ERROR_INCOMPLETE,
                   "incomplete rules: %s", missing->str);
      return FALSE;
    }
  return TRUE;
}

const char *
stox_rules_sip_to_condition (const StoxRules *rules, guint status)
{
  int c = UNSET;

  g_return_val_if_fail (rules != NULL, conditions[COND_UNDEFINED]);

  if (status >= SIP_MIN && status <= SIP_MAX)
    {
      c = rules->t.sip_to_cond[status - SIP_MIN];
      if (c == UNSET)
        c = rules->t.class_to_cond[status / 100 - 3];
    }
  return conditions[c != UNSET ? c : COND_UNDEFINED];
}

guint
stox_rules_condition_to_sip (const StoxRules *rules, const char *condition)
{
  int c;

  g_return_val_if_fail (rules != NULL, 0);

  c = condition_index (rules, condition);
  if (c == UNSET || rules->t.cond_to_sip[c] == 0)
    c = COND_UNDEFINED;
  return (guint) rules->t.cond_to_sip[c];
}

const char *
stox_rules_error_type (const StoxRules *rules, const char *condition)
{
  int c, type = UNSET;

  g_return_val_if_fail (rules != NULL, error_types[TYPE_CANCEL]);

  c = condition_index (rules, condition);
  if (c != UNSET)
    type = rules->t.cond_to_type[c];
  return error_types[type != UNSET ? type : TYPE_CANCEL];
}

const char *
stox_xmpp_condition_name (guint index)
{
  return index < G_N_ELEMENTS (conditions) ? conditions[index] : NULL;
}

guint
stox_xmpp_condition_index (const char *condition)
{
  /* 22 names: a scan is as quick as a hash here, and needs no table. */
  for (guint i = 0; condition != NULL && i < G_N_ELEMENTS (conditions); i++)
    if (strcmp (conditions[i], condition) == 0)
      return i;
  return COND_UNDEFINED;
}

const char *
stox_rules_message_type (const StoxRules *rules)
{
  g_return_val_if_fail (rules != NULL, message_types[0]);

  /* RFC 7572 §5: pager-mode MESSAGE becomes type "normal" (MUST);
   * "chat" only when a rule opts in (docs/mappings.md §0 row 3). */
  if (rules->t.message_type == UNSET)
    return message_types[0];
  return message_types[rules->t.message_type];
}

gboolean
stox_rules_message_gr (const StoxRules *rules)
{
  g_return_val_if_fail (rules != NULL, TRUE);

  /* RFC 7572 §4 Table 1 note 1: the resource becomes ;gr= (MUST); "off"
   * only when a rule opts out. */
  return rules->t.message_gr != 0;
}

int
stox_rules_rpid_to_show (const StoxRules *rules,
                         const char      *activity,
                         const char     **ret_show)
{
  int a, result = UNSET;

  if (ret_show != NULL)
    *ret_show = NULL;
  g_return_val_if_fail (rules != NULL, UNSET);

  a = activity_index (rules, activity);
  if (a == UNSET)
    return UNSET;
  result = rules->t.rpid_to_show[a];
  if (ret_show != NULL && result != UNSET && result != RESULT_NONE)
    *ret_show = rpid_results[result];
  return a;
}

const char *
stox_rules_show_to_rpid (const StoxRules *rules, const char *show)
{
  int s, a;

  g_return_val_if_fail (rules != NULL, NULL);

  if (show == NULL)
    return NULL;
  s = word_index (stox_show_values, N_SHOWS, show);
  if (s == UNSET)
    return NULL;
  a = rules->t.show_to_rpid[s];
  return a >= 0 ? activities[a] : NULL;
}

guint
stox_rules_count (const StoxRules *rules)
{
  guint n = 0;

  g_return_val_if_fail (rules != NULL, 0);

  for (int i = 0; i < SIP_SPAN; i++)
    n += rules->t.sip_to_cond[i] != UNSET;
  for (int i = 0; i < SIP_CLASSES; i++)
    n += rules->t.class_to_cond[i] != UNSET;
  for (int i = 0; i < N_CONDITIONS; i++)
    {
      n += rules->t.cond_to_sip[i] != 0;
      n += rules->t.cond_to_type[i] != UNSET;
    }
  n += rules->t.message_type != UNSET;
  n += rules->t.message_gr != UNSET;
  for (int i = 0; i < N_ACTIVITIES; i++)
    n += rules->t.rpid_to_show[i] != UNSET;
  for (int i = 0; i < N_SHOWS; i++)
    n += rules->t.show_to_rpid[i] != UNSET;
  return n;
}
