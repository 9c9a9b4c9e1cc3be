/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Interned strings; see intern.h.
 */
#include "config.h"

#include "intern.h"

#include <string.h>

/* A name and its counters in one allocation.  The table holds `str`
 * itself as its key (g_str_hash), so a lookup by any string finds it. */
typedef struct
{
  guint refs;
  guint count;
  char  str[];
} Name;

#define NAME_OF(s) ((Name *) (gpointer) ((s) - G_STRUCT_OFFSET (Name, str)))

struct _StoxIntern
{
  GHashTable *names;   /* set of Name.str */
};

static void
name_free (gpointer str)
{
  g_free (NAME_OF ((char *) str));
}

StoxIntern *
stox_intern_new (void)
{
  StoxIntern *in = g_new0 (StoxIntern, 1);

  in->names = g_hash_table_new_full (g_str_hash, g_str_equal, name_free, NULL);
  return in;
}

void
stox_intern_free (StoxIntern *in)
{
  if (in == NULL)
    return;
  g_hash_table_unref (in->names);
  g_free (in);
}

const char *
stox_intern_ref (StoxIntern *in, const char *s)
{
  gpointer kept;
  Name *name;
  gsize size;

  if (s == NULL)
    return NULL;
  if (g_hash_table_lookup_extended (in->names, s, &kept, NULL))
    {
      NAME_OF ((char *) kept)->refs++;
      return kept;
    }
  size = strlen (s) + 1;
  name = g_malloc (sizeof *name + size);
  name->refs = 1;
  name->count = 0;
  memcpy (name->str, s, size);
  g_hash_table_add (in->names, name->str);
  return name->str;
}

void
stox_intern_unref (StoxIntern *in, const char *name)
{
  if (name == NULL)
    return;
  if (--NAME_OF (name)->refs == 0)
    g_hash_table_remove (in->names, name);
}

const char *
stox_intern_lookup (StoxIntern *in, const char *s)
{
  gpointer kept;

  if (s == NULL || !g_hash_table_lookup_extended (in->names, s, &kept, NULL))
    return NULL;
  return kept;
}

guint
stox_intern_count (const char *name)
{
  return name != NULL ? NAME_OF (name)->count : 0;
}

void
stox_intern_count_add (const char *name, gint delta)
{
  if (name != NULL)
    NAME_OF (name)->count += (guint) delta;
}
