/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libsoup 3 parses HTTP (and caps a request's headers at 64 KiB); this
 * file only routes.  Path and method are decided in an early handler,
 * once the request headers are read, which also tells libsoup not to keep
 * a request body: none is ever needed, so a large one is read and dropped
 * piece by piece instead of filling memory.
 */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "daemon/metrics-http.h"

#include <string.h>

#include <libsoup/soup.h>

#include "daemon/metrics.h"

#define METRICS_PATH "/metrics"

struct _StoxMetricsServer
{
  SoupServer            *soup;
  StoxMetricsRenderFunc  render;
  gpointer               user_data;
  char                  *url;
};

static void
refuse (SoupServerMessage *msg, guint status, const char *text)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_STATIC,
                                    text, strlen (text));
}

static gboolean
is_read_method (const char *method)
{
  return g_str_equal (method, SOUP_METHOD_GET) || g_str_equal (method, SOUP_METHOD_HEAD);
}

/* Before the body: anything but GET or HEAD of /metrics is answered here
 * (RFC 9110 §15.5.5, §15.5.6: 404; 405 with Allow). */
static void
early (SoupServer        *soup,
       SoupServerMessage *msg,
       const char        *path,
       GHashTable        *query,
       gpointer           user_data)
{
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  if (!g_str_equal (path, METRICS_PATH))
    refuse (msg, SOUP_STATUS_NOT_FOUND, "not found: the metrics are at " METRICS_PATH "\n");
  else if (!is_read_method (soup_server_message_get_method (msg)))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    "GET, HEAD");
      refuse (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "method not allowed: use GET\n");
    }
}

static void
serve (SoupServer        *soup,
       SoupServerMessage *msg,
       const char        *path,
       GHashTable        *query,
       gpointer           user_data)
{
  StoxMetricsServer *server = user_data;
  char *text;

  /* The early handler answered everything else already. */
  if (soup_server_message_get_status (msg) != 0)
    return;
  text = server->render (server->user_data);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  /* libsoup leaves the body out of an answer to HEAD. */
  soup_server_message_set_response (msg, STOX_METRICS_CONTENT_TYPE, SOUP_MEMORY_TAKE, text,
                                    strlen (text));
}

StoxMetricsServer *
stox_metrics_server_new (const char            *address,
                         guint16                port,
                         StoxMetricsRenderFunc  render,
                         gpointer               user_data,
                         GError               **error)
{
  g_autoptr (StoxMetricsServer) server = g_new0 (StoxMetricsServer, 1);
  g_autoptr (GInetAddress) inet = g_inet_address_new_from_string (address);
  g_autoptr (GSocketAddress) sockaddr = NULL;

  g_return_val_if_fail (render != NULL, NULL);

  if (inet == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "'%s' is not an IP address", address);
      return NULL;
    }
  server->render = render;
  server->user_data = user_data;
  server->url = g_strdup_printf (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6
                                 ? "http://[%s]:%u" METRICS_PATH : "http://%s:%u" METRICS_PATH,
                                 address, port);
  /* "server-header" NULL: no Server header telling versions. */
  server->soup = soup_server_new ("server-header", NULL, NULL);
  soup_server_add_early_handler (server->soup, NULL, early, server, NULL);
  soup_server_add_handler (server->soup, NULL, serve, server, NULL);
  sockaddr = g_inet_socket_address_new (inet, port);
  if (!soup_server_listen (server->soup, sockaddr, 0, error))
    return NULL;
  return g_steal_pointer (&server);
}

const char *
stox_metrics_server_get_url (StoxMetricsServer *server)
{
  return server->url;
}

void
stox_metrics_server_free (StoxMetricsServer *server)
{
  if (server == NULL)
    return;
  if (server->soup != NULL)
    {
      soup_server_disconnect (server->soup);
      g_object_unref (server->soup);
    }
  g_free (server->url);
  g_free (server);
}
