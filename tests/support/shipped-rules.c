/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "support/shipped-rules.h"

#include "daemon/rules-dir.h"

char *
stox_test_read_shipped (const char *name, gsize *ret_length)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "gateway-rules",
                                                 name, NULL);
  g_autoptr (GError) error = NULL;
  char *text = NULL;

  g_file_get_contents (path, &text, ret_length, &error);
  g_assert_no_error (error);
  return text;
}

/* The whole directory, loaded by the daemon's own loader: what stoxd
 * reads at start-up and on SIGHUP. */
StoxRules *
stox_test_load_shipped_rules (void)
{
  g_autofree char *dir = g_test_build_filename (G_TEST_DIST, "..", "gateway-rules", NULL);
  g_autoptr (GError) error = NULL;
  StoxRules *rules = stox_config_load_rules (dir, &error);

  g_assert_no_error (error);
  g_assert_nonnull (rules);
  return rules;
}
