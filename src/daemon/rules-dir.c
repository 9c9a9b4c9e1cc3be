/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rule directory (stox-rules(5)): every regular file not starting with
 * '.', in name order, each read whole and parsed into one StoxRules.
 */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "daemon/rules-dir.h"

#include "core/rules.h"
#include "daemon/config.h"
#include "daemon/textfile.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* The rule files of `dir` in name order, or NULL with an IO error. */
static GPtrArray *
list_rule_files (const char *dir, GError **error)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  DIR *d = opendir (dir);
  struct dirent *de;

  if (!d)
    {
      int saved = errno;
      g_set_error (error, STOX_CONFIG_ERROR, STOX_CONFIG_ERROR_IO,
                   "%s: cannot read rule directory: %s", dir, g_strerror (saved));
      return NULL;
    }
  errno = 0;
  while ((de = readdir (d)) != NULL)
    {
      g_autofree char *file = NULL;
      struct stat st;

      if (de->d_name[0] == '.')
        continue;
      file = g_build_filename (dir, de->d_name, NULL);
      /* stat, not lstat: a symlink to a regular file counts. */
      if (stat (file, &st) == 0 && S_ISREG (st.st_mode))
        g_ptr_array_add (files, g_steal_pointer (&file));
      errno = 0;
    }
  if (errno != 0)
    {
      int saved = errno;
      closedir (d);
      g_set_error (error, STOX_CONFIG_ERROR, STOX_CONFIG_ERROR_IO,
                   "%s: cannot read rule directory: %s", dir, g_strerror (saved));
      return NULL;
    }
  closedir (d);
  g_ptr_array_sort (files, compare_names);
  return g_steal_pointer (&files);
}

static gboolean
read_rule_file (const char *file, char **ret_text, gsize *ret_len, GError **error)
{
  g_autofree char *why = NULL;

  if (!stox_textfile_read (file, STOX_CONFIG_FILE_MAX, ret_text, ret_len, &why))
    {
      g_set_error (error, STOX_CONFIG_ERROR, STOX_CONFIG_ERROR_IO, "%s: cannot read: %s",
                   file, why);
      return FALSE;
    }
  return TRUE;
}

static gboolean
parse_rule_file (StoxRules *rules, const char *file, GError **error)
{
  g_autofree char *text = NULL;
  gsize len;

  if (!read_rule_file (file, &text, &len, error))
    return FALSE;
  return stox_rules_parse (rules, file, text, len, error);
}

/* Every file is read first; the core builds and validates the set from
 * them (stox_rules_build()). */
StoxRules *
stox_config_load_rules (const char *dir, GError **error)
{
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GPtrArray) texts = NULL;
  g_autoptr (GArray) pairs = NULL;

  g_return_val_if_fail (dir != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  files = list_rule_files (dir, error);
  if (!files)
    return NULL;
  texts = g_ptr_array_new_with_free_func (g_free);
  pairs = g_array_sized_new (FALSE, TRUE, sizeof (StoxRulesFile), files->len);
  for (guint i = 0; i < files->len; i++)
    {
      StoxRulesFile f = { .name = g_ptr_array_index (files, i) };
      char *text = NULL;

      if (!read_rule_file (f.name, &text, &f.length, error))
        return NULL;
      g_ptr_array_add (texts, text);
      f.text = text;
      g_array_append_val (pairs, f);
    }
  return stox_rules_build (dir, (const StoxRulesFile *) (gpointer) pairs->data, pairs->len,
                           error);
}

StoxRules *
stox_rules_dir_load (const char *dir, const char *origin, GError **error)
{
  StoxRules *rules = stox_config_load_rules (dir, error);

  if (rules == NULL && error != NULL && *error != NULL &&
      !g_error_matches (*error, STOX_RULES_ERROR, STOX_RULES_ERROR_SYNTAX))
    g_prefix_error (error, "%s: ", origin);
  return rules;
}

GPtrArray *
stox_config_check_rules (const char *dir, const char *origin)
{
  GPtrArray *problems = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (StoxRules) rules = NULL;
  g_autoptr (GError) error = NULL;

  g_return_val_if_fail (dir != NULL, problems);

  files = list_rule_files (dir, &error);
  if (!files)
    {
      g_ptr_array_add (problems, g_strdup_printf ("%s: %s", origin, error->message));
      return problems;
    }
  rules = stox_rules_new ();
  for (guint i = 0; i < files->len; i++)
    if (!parse_rule_file (rules, g_ptr_array_index (files, i), &error))
      {
        /* One "FILE:LINE: why" line per fault (rules.h); a file that
         * cannot be read is named after the key. */
        g_auto (GStrv) lines = g_strsplit (error->message, "\n", -1);
        gboolean syntax = g_error_matches (error, STOX_RULES_ERROR, STOX_RULES_ERROR_SYNTAX);

        for (guint l = 0; lines[l]; l++)
          if (*lines[l])
            g_ptr_array_add (problems, syntax ? g_strdup (lines[l])
                                              : g_strdup_printf ("%s: %s", origin, lines[l]));
        g_clear_error (&error);
      }
  if (!stox_rules_validate (rules, &error))
    g_ptr_array_add (problems, g_strdup_printf ("%s: %s: %s", origin, dir, error->message));
  return problems;
}
