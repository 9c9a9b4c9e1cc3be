/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "shipped-rules.h"

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

StoxRules *
stox_test_load_shipped_rules (void)
{
  g_autofree char *dir_path = g_test_build_filename (G_TEST_DIST, "..", "gateway-rules", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) dir = g_dir_open (dir_path, 0, &error);
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  StoxRules *rules = stox_rules_new ();
  const char *name;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  g_assert_cmpuint (names->len, >, 0);
  for (guint i = 0; i < names->len; i++)
    {
      gsize length;
      g_autofree char *text = stox_test_read_shipped (names->pdata[i], &length);

      g_assert_true (stox_rules_parse (rules, names->pdata[i], text, length, &error));
      g_assert_no_error (error);
    }
  g_assert_true (stox_rules_validate (rules, &error));
  g_assert_no_error (error);
  return rules;
}
