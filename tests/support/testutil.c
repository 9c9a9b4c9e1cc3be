/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "support/testutil.h"

#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

static gboolean
bound_reached (gpointer user_data)
{
  (void) user_data;
  return G_SOURCE_REMOVE;
}

guint
stox_test_run_for (guint ms)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * 1000;
  guint passes = 0;

  while (g_get_monotonic_time () < until && passes < 100000)
    {
      GSource *bound = g_timeout_source_new ((guint) MAX ((until - g_get_monotonic_time ()) / 1000,
                                                          1));

      g_source_set_callback (bound, bound_reached, NULL, NULL);
      g_source_attach (bound, NULL);
      g_main_context_iteration (NULL, TRUE);
      g_source_destroy (bound);
      g_source_unref (bound);
      passes++;
    }
  return passes;
}

socklen_t
stox_test_loopback (gboolean                 v6,
                    guint16                  port,
                    struct sockaddr_storage *ss)
{
  memset (ss, 0, sizeof *ss);
  if (v6)
    {
      struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) ss;

      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons (port);
      sin6->sin6_addr = in6addr_loopback;
      return sizeof *sin6;
    }

  struct sockaddr_in *sin = (struct sockaddr_in *) ss;
  sin->sin_family = AF_INET;
  sin->sin_port = htons (port);
  sin->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  return sizeof *sin;
}

int
stox_test_loopback_socket (gboolean v6,
                           int      type,
                           guint16  port)
{
  struct sockaddr_storage ss;
  socklen_t len = stox_test_loopback (v6, port, &ss);
  int fd = socket (v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0);

  if (fd >= 0 && bind (fd, (struct sockaddr *) &ss, len) != 0)
    {
      close (fd);
      fd = -1;
    }
  return fd;
}

guint16
stox_test_bound_port (int fd)
{
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;

  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &ss, &len), ==, 0);
  if (ss.ss_family == AF_INET6)
    return ntohs (((struct sockaddr_in6 *) &ss)->sin6_port);
  return ntohs (((struct sockaddr_in *) &ss)->sin_port);
}

/* The kernel picks a free UDP port; it is kept if TCP has it free too. */
guint16
stox_test_free_port (gboolean v6)
{
  for (guint attempt = 0; attempt < 100; attempt++)
    {
      int udp = stox_test_loopback_socket (v6, SOCK_DGRAM, 0);

      g_assert_cmpint (udp, >=, 0);
      guint16 port = stox_test_bound_port (udp);
      int tcp = stox_test_loopback_socket (v6, SOCK_STREAM, port);

      close (udp);
      if (tcp >= 0)
        {
          close (tcp);
          return port;
        }
    }
  g_error ("no loopback port free for both UDP and TCP after 100 attempts");
}

void
stox_test_rm_rf (const char *path)
{
  struct stat st;

  if (lstat (path, &st) != 0)
    return;
  if (!S_ISDIR (st.st_mode))
    {
      g_unlink (path);
      return;
    }

  /* A test may leave a directory read-only. */
  g_chmod (path, 0700);
  GDir *dir = g_dir_open (path, 0, NULL);
  if (dir != NULL)
    {
      const char *name;

      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          stox_test_rm_rf (child);
        }
      g_dir_close (dir);
    }
  g_rmdir (path);
}
