/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PIDF/RPID from a SIP peer (NOTIFY, PUBLISH bodies; RFC 3863, 4480) into
 * presence, with the shipped RPID rows.  Whatever parses must build again
 * (XMPP → SIP direction) and the built document must parse back to the same
 * presence: pidf.h promises the round trip for everything parse returns.
 */
#include "config.h"

#include <string.h>

#include "core/pidf.h"
#include "core/text.h"
#include "fuzz/fuzz.h"

#define ENTITY "pres:fuzz@sip.test"

static void
check_info (const StoxPresenceInfo *info)
{
  stox_fuzz_check (stox_text_is_xml (info->resource), "resource is not XML text");
  stox_fuzz_check (info->resource == NULL || info->resource[0] != '\0', "empty resource");
  stox_fuzz_check (info->show == NULL || stox_show_known (info->show) != NULL,
                   "show \"%s\" is not one of the four", info->show);
  stox_fuzz_check (info->available || info->show == NULL, "a show while unavailable");
  stox_fuzz_check (!info->has_priority || (info->priority >= -128 && info->priority <= 127),
                   "priority %d out of range", info->priority);
  stox_fuzz_check (stox_text_is_xml (info->timestamp), "timestamp is not XML text");
  stox_fuzz_check (info->statuses != NULL, "statuses is NULL");
  for (guint i = 0; i < info->statuses->len; i++)
    {
      const StoxLangText *s = info->statuses->pdata[i];

      stox_fuzz_check (s->text != NULL && s->text[0] != '\0', "empty status");
      stox_fuzz_check (stox_text_is_xml (s->text), "status is not XML text");
      stox_fuzz_check (stox_text_is_xml (s->lang), "status lang is not XML text");
      for (guint j = 0; j < i; j++)
        stox_fuzz_check (!stox_lang_equal (s->lang, ((StoxLangText *) info->statuses->pdata[j])->lang),
                         "two statuses of one language");
    }
}

/* The document stox_pidf_build() writes for `info` gives `info` back. */
static void
check_round_trip (const StoxPresenceInfo *info, const StoxRules *rules)
{
  g_autofree char *doc = stox_pidf_build (ENTITY, info, rules);
  g_autoptr (GError) error = NULL;

  stox_fuzz_check (doc != NULL, "stox_pidf_build() gave NULL");
  g_autoptr (GPtrArray) again = stox_pidf_parse (doc, strlen (doc), rules, &error);
  stox_fuzz_check (again != NULL, "the gateway's own PIDF does not parse: %s\n%s",
                   error != NULL ? error->message : "?", doc);
  stox_fuzz_check (again->len == 1, "one tuple built, %u parsed\n%s", again->len, doc);

  const StoxPresenceInfo *back = again->pdata[0];

  stox_fuzz_check (g_strcmp0 (back->resource, info->resource) == 0,
                   "resource \"%s\" came back as \"%s\"", info->resource, back->resource);
  stox_fuzz_check (back->available == info->available, "availability changed\n%s", doc);
  stox_fuzz_check (g_strcmp0 (back->show, info->show) == 0,
                   "show %s came back as %s\n%s", info->show, back->show, doc);
  stox_fuzz_check (back->has_priority == (info->has_priority && info->priority >= 0) &&
                   (!back->has_priority || back->priority == info->priority),
                   "priority %d came back as %d\n%s", info->priority, back->priority, doc);
  stox_fuzz_check (g_strcmp0 (back->timestamp, info->timestamp) == 0,
                   "timestamp changed\n%s", doc);
  stox_fuzz_check (back->statuses->len == info->statuses->len,
                   "%u statuses came back as %u\n%s", info->statuses->len, back->statuses->len, doc);
  for (guint i = 0; i < info->statuses->len; i++)
    {
      const StoxLangText *a = info->statuses->pdata[i];
      const StoxLangText *b = back->statuses->pdata[i];

      stox_fuzz_check (g_strcmp0 (a->text, b->text) == 0 && g_strcmp0 (a->lang, b->lang) == 0,
                       "status %u changed\n%s", i, doc);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const StoxRules *rules;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) infos = NULL;

  stox_fuzz_init_logging ();
  rules = stox_fuzz_shipped_rules ();

  infos = stox_pidf_parse ((const char *) data, size, rules, &error);
  if (infos == NULL)
    {
      stox_fuzz_check (error != NULL && error->domain == STOX_PIDF_ERROR,
                       "NULL without a STOX_PIDF_ERROR");
      return 0;
    }
  stox_fuzz_check (error == NULL, "a result and an error");
  stox_fuzz_check (infos->len > 0 && infos->len <= STOX_PIDF_MAX_TUPLES,
                   "%u presences from one document", infos->len);
  for (guint i = 0; i < infos->len; i++)
    {
      check_info (infos->pdata[i]);
      check_round_trip (infos->pdata[i], rules);
    }
  /* Without rules RPID is ignored: still no crash, still a result. */
  g_autoptr (GPtrArray) plain = stox_pidf_parse ((const char *) data, size, NULL, NULL);
  stox_fuzz_check (plain != NULL, "parses with the RPID rows, not without");
  return 0;
}
