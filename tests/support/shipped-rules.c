/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "support/shipped-rules.h"

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

/* The whole directory, read here as stoxd reads its rules directory
 * (every regular file whose name does not start with '.'), and built by
 * the core's own stox_rules_build(), which stoxd's loader calls too. */
StoxRules *
stox_test_load_shipped_rules (void)
{
  g_autofree char *dir = g_test_build_filename (G_TEST_DIST, "..", "gateway-rules", NULL);
  g_autoptr (GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) texts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) files = g_array_new (FALSE, TRUE, sizeof (StoxRulesFile));
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  const char *name;
  StoxRules *rules;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      char *path = g_build_filename (dir, name, NULL);
      char *text = NULL;
      gsize length = 0;

      g_ptr_array_add (paths, path);
      if (name[0] == '.' || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      g_file_get_contents (path, &text, &length, &error);
      g_assert_no_error (error);
      g_ptr_array_add (texts, text);
      g_array_append_val (files, ((StoxRulesFile) { path, text, length }));
    }
  g_assert_cmpuint (files->len, >, 0);

  rules = stox_rules_build (dir, (const StoxRulesFile *) (gpointer) files->data, files->len,
                            &error);
  g_assert_no_error (error);
  g_assert_nonnull (rules);
  return rules;
}
