/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * main() for a fuzz target outside libFuzzer: every build's `make check`
 * replays the target's seed corpus and every input that once broke it
 * (tests/fuzz/corpus/NAME, tests/fuzz/regressions/NAME), so a crash found
 * by fuzzing stays a test in the plain and the ASan+UBSan builds.  TAP,
 * one line per input; a crash or broken promise aborts the program, after
 * "# replaying FILE" says which input did it.  Files given as arguments
 * are replayed instead.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"

static gint
compare_paths (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* "corpus/NAME/FILE" or "regressions/NAME/FILE" out of a full path. */
static const char *
short_name (const char *path)
{
  const char *p = g_strrstr (path, "/regressions/");

  if (p == NULL)
    p = g_strrstr (path, "/corpus/");
  return p != NULL ? p + 1 : path;
}

static void
list_dir (GPtrArray *files, const char *dir, gboolean required)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  const char *name;

  if (d == NULL)
    {
      if (required)
        {
          printf ("Bail out! %s\n", error->message);
          exit (1);
        }
      return;
    }
  while ((name = g_dir_read_name (d)) != NULL)
    if (name[0] != '.')
      g_ptr_array_add (files, g_build_filename (dir, name, NULL));
}

int
main (int argc, char **argv)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

  if (argc > 1)
    for (int i = 1; i < argc; i++)
      g_ptr_array_add (files, g_strdup (argv[i]));
  else
    {
      const char *srcdir = g_getenv ("G_TEST_SRCDIR");
      g_autofree char *corpus = NULL;
      g_autofree char *regressions = NULL;

      if (srcdir == NULL)
        {
          printf ("Bail out! G_TEST_SRCDIR is not set (run me through make check)\n");
          return 1;
        }
      corpus = g_build_filename (srcdir, "fuzz", "corpus", FUZZ_NAME, NULL);
      regressions = g_build_filename (srcdir, "fuzz", "regressions", FUZZ_NAME, NULL);
      list_dir (files, corpus, TRUE);
      list_dir (files, regressions, FALSE);
      g_ptr_array_sort (files, compare_paths);
    }

  printf ("1..%u\n", files->len);
  for (guint i = 0; i < files->len; i++)
    {
      const char *path = files->pdata[i];
      g_autoptr (GError) error = NULL;
      g_autofree char *text = NULL;
      gsize len = 0;

      if (!g_file_get_contents (path, &text, &len, &error))
        {
          printf ("not ok %u - %s: %s\n", i + 1, short_name (path), error->message);
          continue;
        }
      printf ("# replaying %s\n", path);
      fflush (stdout);
      /* An exact-size copy, so that ASan sees a read past the end. */
      guint8 *input = g_malloc (MAX (len, 1));
      memcpy (input, text, len);
      LLVMFuzzerTestOneInput (input, len);
      g_free (input);
      printf ("ok %u - %s\n", i + 1, short_name (path));
    }
  return 0;
}
