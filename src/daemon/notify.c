/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "notify.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

gboolean
stox_notify (const char *state)
{
  const char *path = g_getenv ("NOTIFY_SOCKET");
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  socklen_t addr_len;
  size_t path_len;
  int fd;
  ssize_t sent;

  if (path == NULL || path[0] == '\0')
    return TRUE;
  path_len = strlen (path);
  if ((path[0] != '/' && path[0] != '@') || path_len >= sizeof addr.sun_path)
    {
      g_warning ("NOTIFY_SOCKET '%s' is not a usable socket path", path);
      return FALSE;
    }
  memcpy (addr.sun_path, path, path_len);
  if (path[0] == '@')
    addr.sun_path[0] = '\0';
  addr_len = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + path_len);

  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    {
      g_warning ("sd_notify: socket: %s", g_strerror (errno));
      return FALSE;
    }
  sent = sendto (fd, state, strlen (state), MSG_NOSIGNAL,
                 (struct sockaddr *) &addr, addr_len);
  if (sent < 0)
    g_warning ("sd_notify to %s: %s", path, g_strerror (errno));
  close (fd);
  return sent >= 0;
}

gboolean
stox_notify_printf (const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list ap;

  va_start (ap, format);
  text = g_strdup_vprintf (format, ap);
  va_end (ap);
  return stox_notify (text);
}
