/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Interned strings (src/core/intern.h): one copy per distinct string,
 * found by any equal string, freed with its last reference; the count
 * beside it is the caller's. */
#include "config.h"

#include "core/intern.h"

static void
test_intern_shared (void)
{
  g_autoptr (StoxIntern) in = stox_intern_new ();
  g_autofree char *copy = g_strdup ("juliet@xmpp.test");
  const char *a, *b, *c;

  g_assert_null (stox_intern_ref (in, NULL));
  stox_intern_unref (in, NULL);
  g_assert_null (stox_intern_lookup (in, NULL));
  g_assert_null (stox_intern_lookup (in, "juliet@xmpp.test"));

  a = stox_intern_ref (in, "juliet@xmpp.test");
  b = stox_intern_ref (in, copy);
  c = stox_intern_ref (in, "romeo@sip.test");
  g_assert_true (a == b);
  g_assert_true (a != copy);
  g_assert_cmpstr (a, ==, "juliet@xmpp.test");
  g_assert_cmpstr (c, ==, "romeo@sip.test");
  g_assert_true (stox_intern_lookup (in, copy) == a);

  /* The count is the caller's, apart from the references. */
  g_assert_cmpuint (stox_intern_count (a), ==, 0);
  g_assert_cmpuint (stox_intern_count (NULL), ==, 0);
  stox_intern_count_add (a, +1);
  stox_intern_count_add (b, +1);
  stox_intern_count_add (NULL, +1);
  g_assert_cmpuint (stox_intern_count (a), ==, 2);
  stox_intern_count_add (a, -1);
  g_assert_cmpuint (stox_intern_count (b), ==, 1);

  /* Two references: the first unref keeps it, the second frees it. */
  stox_intern_unref (in, a);
  g_assert_true (stox_intern_lookup (in, "juliet@xmpp.test") == b);
  stox_intern_unref (in, b);
  g_assert_null (stox_intern_lookup (in, "juliet@xmpp.test"));
  g_assert_true (stox_intern_lookup (in, "romeo@sip.test") == c);

  /* A new one starts with a count of its own. */
  a = stox_intern_ref (in, "juliet@xmpp.test");
  g_assert_cmpuint (stox_intern_count (a), ==, 0);
  /* Freed with references left (and c): nothing leaks (ASan build). */
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/intern/shared", test_intern_shared);
  return g_test_run ();
}
