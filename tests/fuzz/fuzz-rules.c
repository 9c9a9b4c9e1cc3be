/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Rule files (rules.h grammar) as an operator could write them, parsed on
 * their own and on top of the shipped set.
 *
 * Promises checked (rules.h): a syntax error names "FILE:LINE"; on error
 * nothing of the file is kept and the earlier rows stay in force; a file
 * that parses only adds or overrides rows, so the shipped set stays
 * complete; every lookup answers for any input.
 */
#include "config.h"

#include <string.h>

#include "core/rules.h"
#include "core/types.h"
#include "fuzz/fuzz.h"

#define NAME "fuzz.rules"

static const char *const conditions[] = {
  "bad-request", "conflict", "feature-not-implemented", "forbidden", "gone",
  "internal-server-error", "item-not-found", "jid-malformed", "not-acceptable",
  "not-allowed", "not-authorized", "policy-violation", "recipient-unavailable",
  "redirect", "registration-required", "remote-server-not-found",
  "remote-server-timeout", "resource-constraint", "service-unavailable",
  "subscription-required", "undefined-condition", "unexpected-request",
  "no-such-condition", "",
};

static const char *const activities[] = {
  "permanent-absence", "away", "vacation", "holiday", "travel", "sleeping",
  "busy", "on-the-phone", "meeting", "presentation", "performance",
  "appointment", "steering", "breakfast", "lunch", "dinner", "meal",
  "in-transit", "shopping", STOX_RULES_USER_INPUT_IDLE, "working", "playing",
  "tv", "spectator", "worship", "looking-for-work", "unknown", "other",
  STOX_RULES_USER_INPUT_ACTIVE, "no-such-activity", "",
};

static const char *const shows[] = { "away", "chat", "dnd", "xa", "online", "" };

static void
lookups (const StoxRules *rules)
{
  for (guint status = 0; status < 1000; status += 7)
    stox_fuzz_check (stox_rules_sip_to_condition (rules, status) != NULL,
                     "no condition for %u", status);
  for (gsize i = 0; i < G_N_ELEMENTS (conditions); i++)
    {
      guint code = stox_rules_condition_to_sip (rules, conditions[i]);

      stox_fuzz_check (code == 0 || (code >= 300 && code <= 699), "condition %s maps to %u",
                       conditions[i], code);
      stox_fuzz_check (stox_rules_error_type (rules, conditions[i]) != NULL,
                       "no error type for %s", conditions[i]);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (activities); i++)
    {
      const char *show = "unset";
      int rank = stox_rules_rpid_to_show (rules, activities[i], &show);

      stox_fuzz_check (rank >= -1, "rank %d", rank);
      stox_fuzz_check (show == NULL || stox_show_known (show) != NULL ||
                       strcmp (show, "unavailable") == 0, "%s maps to \"%s\"", activities[i],
                       show);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (shows); i++)
    {
      const char *activity = stox_rules_show_to_rpid (rules, shows[i]);

      stox_fuzz_check (activity == NULL || stox_rules_rpid_to_show (rules, activity, NULL) >= 0,
                       "show %s maps to the unknown activity %s", shows[i], activity);
    }
  const char *type = stox_rules_message_type (rules);
  stox_fuzz_check (g_strcmp0 (type, "normal") == 0 || g_strcmp0 (type, "chat") == 0,
                   "message type %s", type);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const StoxRulesFile *files;
  gsize n_files = 0;
  g_autoptr (StoxRules) alone = stox_rules_new ();
  g_autoptr (StoxRules) layered = stox_rules_new ();
  g_autoptr (GError) error = NULL;
  guint before;
  gboolean ok;

  stox_fuzz_init_logging ();
  files = stox_fuzz_shipped_files (&n_files);

  /* On its own. */
  ok = stox_rules_parse (alone, NAME, (const char *) data, size, &error);
  if (!ok)
    {
      stox_fuzz_check (error != NULL && error->domain == STOX_RULES_ERROR, "FALSE without error");
      stox_fuzz_check (g_str_has_prefix (error->message, NAME ":"),
                       "the error does not name the file: %s", error->message);
      stox_fuzz_check (stox_rules_count (alone) == 0, "a failed file left rows");
      g_clear_error (&error);
    }
  if (stox_rules_validate (alone, &error))
    stox_fuzz_check (ok, "an empty rule set validates");
  g_clear_error (&error);
  lookups (alone);

  /* After the shipped files, as an operator's file in rules.d. */
  for (gsize i = 0; i < n_files; i++)
    if (!stox_rules_parse (layered, files[i].name, files[i].text, files[i].length, &error))
      stox_fuzz_fail ("the shipped rules do not parse: %s", error->message);
  before = stox_rules_count (layered);
  ok = stox_rules_parse (layered, NAME, (const char *) data, size, &error);
  if (!ok)
    {
      stox_fuzz_check (stox_rules_count (layered) == before,
                       "a failed file changed the row count from %u to %u", before,
                       stox_rules_count (layered));
      g_clear_error (&error);
    }
  else
    stox_fuzz_check (stox_rules_count (layered) >= before, "a file removed rows");
  stox_fuzz_check (stox_rules_validate (layered, &error),
                   "the shipped set with an operator's file is incomplete: %s",
                   error != NULL ? error->message : "?");
  lookups (layered);
  return 0;
}
