/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static GLogWriterOutput
fuzz_log_writer (GLogLevelFlags   level,
                 const GLogField *fields,
                 gsize            n_fields,
                 gpointer         user_data)
{
  (void) user_data;
  if ((level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) == 0)
    return G_LOG_WRITER_HANDLED;
  for (gsize i = 0; i < n_fields; i++)
    if (strcmp (fields[i].key, "MESSAGE") == 0)
      fprintf (stderr, "fuzz: GLib %s: %s\n",
               (level & G_LOG_LEVEL_WARNING) != 0 ? "warning" : "critical",
               (const char *) fields[i].value);
  abort ();
}

void
stox_fuzz_init_logging (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      g_log_set_writer_func (fuzz_log_writer, NULL, NULL);
      g_once_init_leave (&done, 1);
    }
}

static gint
compare_files (gconstpointer a, gconstpointer b)
{
  return strcmp (((const StoxRulesFile *) a)->name, ((const StoxRulesFile *) b)->name);
}

const StoxRulesFile *
stox_fuzz_shipped_files (gsize *ret_n_files)
{
  static GArray *files = NULL;

  if (files == NULL)
    {
      const char *dir = g_getenv ("STOX_FUZZ_RULES_DIR");
      g_autoptr (GError) error = NULL;
      g_autoptr (GDir) d = NULL;
      const char *name;

      if (dir == NULL)
        dir = STOX_FUZZ_RULES_DIR;
      d = g_dir_open (dir, 0, &error);
      if (d == NULL)
        {
          fprintf (stderr, "fuzz: %s\n", error->message);
          exit (2);
        }
      files = g_array_new (FALSE, TRUE, sizeof (StoxRulesFile));
      while ((name = g_dir_read_name (d)) != NULL)
        {
          char *path = g_build_filename (dir, name, NULL);
          StoxRulesFile f = { path, NULL, 0 };

          if (name[0] == '.' || !g_file_test (path, G_FILE_TEST_IS_REGULAR))
            {
              g_free (path);
              continue;
            }
          if (!g_file_get_contents (path, (char **) &f.text, &f.length, &error))
            {
              fprintf (stderr, "fuzz: %s\n", error->message);
              exit (2);
            }
          g_array_append_val (files, f);
        }
      g_array_sort (files, compare_files);
    }
  *ret_n_files = files->len;
  return (const StoxRulesFile *) (gpointer) files->data;
}

const StoxRules *
stox_fuzz_shipped_rules (void)
{
  static StoxRules *rules = NULL;

  if (rules == NULL)
    {
      g_autoptr (GError) error = NULL;
      gsize n = 0;
      const StoxRulesFile *files = stox_fuzz_shipped_files (&n);

      rules = stox_rules_build ("shipped rules", files, n, &error);
      if (rules == NULL)
        {
          fprintf (stderr, "fuzz: the shipped rules do not build: %s\n", error->message);
          exit (2);
        }
    }
  return rules;
}

void
stox_fuzz_fail (const char *format, ...)
{
  va_list ap;

  fputs ("fuzz: broken promise: ", stderr);
  va_start (ap, format);
  vfprintf (stderr, format, ap);
  va_end (ap);
  fputc ('\n', stderr);
  fflush (stderr);
  abort ();
}

char *
stox_fuzz_cstring (const uint8_t *data, size_t size)
{
  const uint8_t *nul = memchr (data, '\0', size);

  return g_strndup ((const char *) data, nul != NULL ? (gsize) (nul - data) : size);
}
