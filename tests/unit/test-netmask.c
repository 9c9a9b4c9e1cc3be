/* SPDX-License-Identifier: GPL-2.0-or-later */
/* [sip] trusted-peers matching (stox.conf(5)). */
#include "config.h"

#include <string.h>

#include "core/netmask.h"

static void
test_netmask_table (void)
{
  static const char *const list[] = { "127.0.0.1/32", "10.0.0.0/8", "192.168.1.0/25",
                                      "::1", "2001:db8::/32", NULL };
  static const struct { const char *addr; gboolean in; } rows[] = {
    { "127.0.0.1", TRUE }, { "127.0.0.2", FALSE }, { "10.255.1.2", TRUE },
    { "11.0.0.1", FALSE }, { "192.168.1.127", TRUE }, { "192.168.1.128", FALSE },
    { "::1", TRUE }, { "::2", FALSE }, { "2001:db8:ffff::1", TRUE },
    { "2001:db9::1", FALSE }, { "::ffff:127.0.0.1", TRUE }, /* v4-mapped */
    { "::ffff:10.1.1.1", TRUE }, { "not-an-address", FALSE }, { "", FALSE },
    { "127.0.0.1/32", FALSE },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxNetmaskList) l = stox_netmask_list_new (list, &error);

  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_test_message ("%s", rows[i].addr);
      g_assert_cmpint (stox_netmask_list_contains (l, rows[i].addr), ==, rows[i].in);
    }
  g_assert_false (stox_netmask_list_contains (NULL, "127.0.0.1"));
}

/* An IPv4-mapped address keeps its IPv6 prefix length (stox.conf(5)
 * normalises "::ffff:192.0.2.1" to "::ffff:192.0.2.1/128"): /128 is the
 * one IPv4 address, /120 its /24, and it matches IPv4 sources both ways. */
static void
test_netmask_mapped (void)
{
  static const char *const list[] = { "::ffff:192.0.2.1/128", "::ffff:10.1.0.0/112", NULL };
  static const struct { const char *addr; gboolean in; } rows[] = {
    { "192.0.2.1", TRUE }, { "::ffff:192.0.2.1", TRUE }, { "192.0.2.2", FALSE },
    { "10.1.255.7", TRUE }, { "::ffff:10.1.0.9", TRUE }, { "10.2.0.1", FALSE },
    { "::1", FALSE },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxNetmaskList) l = stox_netmask_list_new (list, &error);

  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_test_message ("%s", rows[i].addr);
      g_assert_cmpint (stox_netmask_list_contains (l, rows[i].addr), ==, rows[i].in);
    }
}

static void
test_netmask_bad (void)
{
  static const char *bad[] = { "127.0.0.1/33", "::1/129", "1.2.3", "1.2.3.4/", "1.2.3.4/x",
                               "host.example", "1.2.3.4/8x", "::ffff:10.0.0.1/95",
                               "::ffff:10.0.0.1/129" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const char *list[] = { bad[i], NULL };
      g_autoptr (GError) error = NULL;
      g_autoptr (StoxNetmaskList) l = stox_netmask_list_new (list, &error);

      g_test_message ("%s", bad[i]);
      g_assert_null (l);
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, bad[i]));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/netmask/table", test_netmask_table);
  g_test_add_func ("/netmask/mapped", test_netmask_mapped);
  g_test_add_func ("/netmask/bad", test_netmask_bad);
  return g_test_run ();
}
