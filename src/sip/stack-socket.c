/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The stack's sockets, found by what they are bound to (stack-socket.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "sip/stack-socket.h"

static gboolean
same_address (const struct sockaddr *a,
              const struct sockaddr *b)
{
  if (a->sa_family != b->sa_family)
    return FALSE;
  if (a->sa_family == AF_INET)
    {
      const struct sockaddr_in *x = (const void *) a, *y = (const void *) b;

      return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
  if (a->sa_family == AF_INET6)
    {
      const struct sockaddr_in6 *x = (const void *) a, *y = (const void *) b;

      return x->sin6_port == y->sin6_port
             && memcmp (&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
    }
  return FALSE;
}

int
stox_sip_stack_socket (su_addrinfo_t const *ai,
                       int                  type)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  const char *name;

  if (dir == NULL || ai == NULL || ai->ai_addr == NULL)
    return -1;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      int fd = atoi (name);
      int value = 0;
      socklen_t optlen = sizeof value;
      struct sockaddr_storage ss;
      socklen_t sslen = sizeof ss;

      if (getsockopt (fd, SOL_SOCKET, SO_TYPE, &value, &optlen) != 0 || value != type)
        continue;
      optlen = sizeof value;
      if (type == SOCK_STREAM
          && (getsockopt (fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &optlen) != 0 || !value))
        continue;
      if (getsockname (fd, (struct sockaddr *) &ss, &sslen) == 0
          && same_address ((struct sockaddr *) &ss, ai->ai_addr))
        return fd;
    }
  return -1;
}

gboolean
stox_sip_stack_sendto (int                    fd,
                       const void            *buf,
                       gsize                  len,
                       const struct sockaddr *to,
                       socklen_t              to_len)
{
  for (int attempt = 0; attempt < 2; attempt++)
    {
      if (sendto (fd, buf, len, MSG_DONTWAIT, to, to_len) >= 0)
        return TRUE;
      if (errno != ECONNREFUSED && errno != EHOSTUNREACH && errno != ENETUNREACH)
        break;
    }
  return FALSE;
}
