/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "daemon/check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/exposure.h"
#include "daemon/listen-url.h"
#include "daemon/rules-dir.h"
#include "daemon/store.h"
#include "daemon/tls.h"

/* Binds a socket like the SIP stack's to `sa`, then closes it: 0 when the
 * bind succeeds, else its errno. */
static int
probe_bind (const struct sockaddr *sa, socklen_t len, int type)
{
  int fd = socket (sa->sa_family, type | SOCK_CLOEXEC, 0);
  int one = 1, saved = 0;

  if (fd < 0)
    return errno;
  /* A TCP listener may take a port that still has connections in
   * TIME_WAIT; an active listener still makes bind fail. */
  if (type == SOCK_STREAM)
    (void) setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (sa->sa_family == AF_INET6)
    (void) setsockopt (fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind (fd, sa, len) != 0)
    saved = errno;
  close (fd);
  return saved;
}

/* The addresses [sip] listen binds: both wildcards for "*", the literal,
 * or what the host name resolves to (a blocking lookup is fine here: this
 * is not the daemon's loop). */
static struct addrinfo *
listen_addresses (const StoxListenUrl *url, const char *path, GPtrArray *warnings)
{
  struct addrinfo hints = { 0 };
  struct addrinfo *res = NULL;
  g_autofree char *port = g_strdup_printf ("%u", url->port);
  int rc;

  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_NUMERICSERV;
  if (g_str_equal (url->host, "*"))
    hints.ai_flags |= AI_PASSIVE;
  rc = getaddrinfo (g_str_equal (url->host, "*") ? NULL : url->host, port, &hints, &res);
  if (rc != 0)
    {
      g_ptr_array_add (warnings, g_strdup_printf ("%s: [sip] listen: cannot resolve '%s' (%s): "
                                                  "the port was not tested", path, url->host,
                                                  gai_strerror (rc)));
      return NULL;
    }
  return res;
}

/* The SIP port is free, when this process can tell: a port below 1024
 * that needs a capability it lacks, or a family the host does not have,
 * says nothing either way. */
static void
check_sip_port (const StoxConfig *config, GPtrArray *problems, GPtrArray *warnings)
{
  g_auto (StoxListenUrl) url = { 0 };
  struct addrinfo *addrs;
  gboolean wildcard;

  /* systemd sets MAINPID for ExecReload=: the running stoxd holds the
   * port, and a reload does not bind again. */
  if (g_getenv ("MAINPID") != NULL)
    return;
  if (!stox_listen_url_parse (config->sip_listen, &url) || url.port == 0)
    return;
  wildcard = g_str_equal (url.host, "*");
  addrs = listen_addresses (&url, config->path, warnings);
  for (const struct addrinfo *a = addrs; a != NULL; a = a->ai_next)
    {
      char text[INET6_ADDRSTRLEN] = "?";
      const void *raw = a->ai_family == AF_INET
                        ? (const void *) &((const struct sockaddr_in *) a->ai_addr)->sin_addr
                        : (const void *) &((const struct sockaddr_in6 *) a->ai_addr)->sin6_addr;
      const struct { int type; gboolean on; const char *name; } protos[] = {
        { SOCK_DGRAM, url.udp, "UDP" },
        { SOCK_STREAM, url.tcp, "TCP" },
      };

      if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
        continue;
      inet_ntop (a->ai_family, raw, text, sizeof text);
      for (gsize i = 0; i < G_N_ELEMENTS (protos); i++)
        {
          int err;

          if (!protos[i].on)
            continue;
          err = probe_bind (a->ai_addr, a->ai_addrlen, protos[i].type);
          if (err == EADDRINUSE)
            g_ptr_array_add (warnings,
                             g_strdup_printf ("%s: [sip] listen: %s port %u on %s is in use: "
                                              "stoxd cannot start while another process holds "
                                              "it", config->path, protos[i].name, url.port,
                                              text));
          else if (err == EADDRNOTAVAIL && !wildcard)
            {
              g_ptr_array_add (problems,
                               g_strdup_printf ("%s: [sip] listen: %s is not an address of "
                                                "this host", config->path, text));
              break;
            }
        }
    }
  if (addrs != NULL)
    freeaddrinfo (addrs);
}

/* The metrics port likewise ([metrics] listen is always a numeric
 * address, config-value.h). */
static void
check_metrics_port (const StoxConfig *config, GPtrArray *problems, GPtrArray *warnings)
{
  struct sockaddr_in sin = { .sin_family = AF_INET };
  struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
  const char *address = config->metrics_address;
  int err;

  if (address == NULL || g_getenv ("MAINPID") != NULL)
    return;
  if (inet_pton (AF_INET, address, &sin.sin_addr) == 1)
    {
      sin.sin_port = htons (config->metrics_port);
      err = probe_bind ((const struct sockaddr *) &sin, sizeof sin, SOCK_STREAM);
    }
  else if (inet_pton (AF_INET6, address, &sin6.sin6_addr) == 1)
    {
      sin6.sin6_port = htons (config->metrics_port);
      err = probe_bind ((const struct sockaddr *) &sin6, sizeof sin6, SOCK_STREAM);
    }
  else
    return;
  if (err == EADDRINUSE)
    g_ptr_array_add (warnings, g_strdup_printf ("%s: [metrics] listen: TCP port %u on %s is in "
                                                "use: stoxd cannot start while another process "
                                                "holds it", config->path, config->metrics_port,
                                                address));
  else if (err == EADDRNOTAVAIL)
    g_ptr_array_add (problems, g_strdup_printf ("%s: [metrics] listen: %s is not an address of "
                                                "this host", config->path, address));
}

static void
print_all (const GPtrArray *lines, const char *prefix)
{
  for (guint i = 0; i < lines->len; i++)
    fprintf (stderr, "%s%s\n", prefix, (const char *) lines->pdata[i]);
}

gboolean
stox_check_config (const char *path)
{
  g_autoptr (GPtrArray) problems = stox_config_check (path);
  g_autoptr (GPtrArray) warnings = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (StoxConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *origin = NULL;

  if (problems->len > 0)
    {
      print_all (problems, "");
      return FALSE;
    }
  config = stox_config_load (path, &error);
  if (config == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return FALSE;
    }

  if (!stox_tls_check_pair (config, &error))
    {
      g_ptr_array_add (problems, g_strdup (error->message));
      g_clear_error (&error);
    }
  origin = g_strdup_printf ("%s: [gateway] rules", path);
  g_ptr_array_extend_and_steal (problems, stox_config_check_rules (config->rules_dir, origin));
  if (!stox_store_check_dir (config->state_dir, &error))
    {
      g_ptr_array_add (problems, g_strdup_printf ("%s: [gateway] state-dir: %s", path,
                                                  error->message));
      g_clear_error (&error);
    }
  check_sip_port (config, problems, warnings);
  check_metrics_port (config, problems, warnings);
  /* Allowed, but said plainly: the start-up log says the same. */
  g_ptr_array_extend_and_steal (warnings, stox_exposure_list (config));

  print_all (problems, "");
  print_all (warnings, "warning: ");
  if (problems->len > 0)
    return FALSE;
  printf ("%s: OK (rules from %s, state in %s)\n", path, config->rules_dir, config->state_dir);
  return TRUE;
}
