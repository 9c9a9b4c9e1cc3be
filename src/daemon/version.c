/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "daemon/version.h"

#include <glib.h>
#include <libsoup/soup.h>
#include <libxml/parser.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

/* The daemon includes no Sofia-SIP or libstrophe header (their types stay
 * in the front ends); these two public symbols are all it needs. */
extern char const * const sofia_sip_name_version;  /* sofia-sip/sofia_features.h */
extern int xmpp_version_check (int major, int minor);  /* strophe.h */

/* libstrophe has no version string; xmpp_version_check(major, minor) says
 * whether a program built for major.minor can use it: the same major, and
 * a minor not below its own.  Its own is the smallest that passes. */
static gboolean
strophe_version (int *ret_major, int *ret_minor)
{
  for (int major = 0; major < 100; major++)
    if (xmpp_version_check (major, 10000))
      for (int minor = 0; minor <= 10000; minor++)
        if (xmpp_version_check (major, minor))
          {
            *ret_major = major;
            *ret_minor = minor;
            return TRUE;
          }
  return FALSE;
}

void
stox_version_print (FILE *out)
{
  const char *sofia = sofia_sip_name_version;
  g_autofree char *strophe = NULL;
  g_auto (GStrv) built = g_strsplit (STOX_STROPHE_BUILD_VERSION, ".", 3);
  int xml = atoi (xmlParserVersion);
  int major, minor;

  if (g_str_has_prefix (sofia, "sofia-sip-"))
    sofia += strlen ("sofia-sip-");
  if (!strophe_version (&major, &minor))
    strophe = g_strdup_printf ("%s (built with; the library does not say)",
                               STOX_STROPHE_BUILD_VERSION);
  else if (built[0] != NULL && built[1] != NULL && atoi (built[0]) == major &&
           atoi (built[1]) == minor)
    strophe = g_strdup (STOX_STROPHE_BUILD_VERSION);
  else
    strophe = g_strdup_printf ("%d.%d (built with %s)", major, minor, STOX_STROPHE_BUILD_VERSION);

  fprintf (out, "stoxd %s\n", PACKAGE_VERSION);
  fprintf (out, "  GLib %u.%u.%u\n", glib_major_version, glib_minor_version, glib_micro_version);
  fprintf (out, "  Sofia-SIP %s\n", sofia);
  fprintf (out, "  libstrophe %s\n", strophe);
  fprintf (out, "  libxml2 %d.%d.%d\n", xml / 10000, xml / 100 % 100, xml % 100);
  fprintf (out, "  OpenSSL %s\n", OpenSSL_version (OPENSSL_VERSION_STRING));
  fprintf (out, "  SQLite %s\n", sqlite3_libversion ());
  fprintf (out, "  libsoup %u.%u.%u\n", soup_get_major_version (), soup_get_minor_version (),
           soup_get_micro_version ());
}
