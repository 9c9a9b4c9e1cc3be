/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What [sip] listen binds: the host, port and transports of a Sofia-SIP
 * listen URL, as stox.conf(5) describes them.  For the warnings about what
 * is exposed and the --check-config port test; Sofia itself parses the URL
 * again when it binds.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  char    *host;    /* "*" for every address; IPv6 without its brackets */
  guint16  port;    /* 5060, 5061 for TLS when not written; 0 for "*" or 0 */
  gboolean udp;     /* no ;transport= (UDP and TCP) or transport=udp */
  gboolean tcp;     /* no ;transport=, transport=tcp or tls, or sips: */
  gboolean tls;     /* sips: or transport=tls: needs tls-certificate/-key */
} StoxListenUrl;

/* FALSE when `listen` is not a sip:/sips: URL with a host (the config
 * checker has refused such a value already). */
gboolean stox_listen_url_parse (const char *listen, StoxListenUrl *ret_url);
void     stox_listen_url_clear (StoxListenUrl *url);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (StoxListenUrl, stox_listen_url_clear)

G_END_DECLS
