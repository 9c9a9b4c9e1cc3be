/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stox.conf (stox.conf(5)): a GLib key file, checked strictly.  Unknown
 * groups and keys are errors; a value runs to the end of its line (read with
 * g_key_file_get_value, so no escapes and no trailing-comment stripping);
 * every diagnostic names "[group] key" or "FILE:LINE".
 */
#pragma once

#include <glib.h>

#include "core/gateway.h"   /* the defaults of the table limits */
#include "core/stanza-size.h"

G_BEGIN_DECLS

#define STOX_CONFIG_ERROR (stox_config_error_quark ())
GQuark stox_config_error_quark (void);

typedef enum
{
  STOX_CONFIG_ERROR_PARSE,    /* the file itself: "FILE:LINE: why" where known */
  STOX_CONFIG_ERROR_INVALID,  /* "FILE: [group] key: why" */
  STOX_CONFIG_ERROR_IO,       /* a file or directory cannot be read: "PATH: why" */
} StoxConfigError;

#define STOX_CONFIG_DEFAULT_PATH SYSCONFDIR "/stox/stox.conf"

/* Bounds, documented in stox.conf(5).  Files larger than the caps are
 * refused rather than read. */
#define STOX_CONFIG_MESSAGE_SIZE_MIN  200u
#define STOX_CONFIG_MESSAGE_SIZE_MAX  65535u
#define STOX_CONFIG_BOUNCE_WAIT_MAX   400u
#define STOX_CONFIG_SUBSCRIPTIONS_MAX STOX_GATEWAY_MAX_PENDING_DEFAULT  /* the table's bound */
#define STOX_CONFIG_STANZA_SIZE_MAX   (16u * 1024 * 1024)
#define STOX_CONFIG_CONNECTIONS_MAX   65535u
#define STOX_CONFIG_IDLE_TIMEOUT_MAX  86400u   /* s */
#define STOX_CONFIG_MESSAGE_TIMEOUT_MAX 3600u  /* s */
#define STOX_CONFIG_IN_FLIGHT_MIN     10u
#define STOX_CONFIG_IN_FLIGHT_MAX     1000000u
#define STOX_CONFIG_FILE_MAX          (1024 * 1024)  /* stox.conf, each rule file */
#define STOX_CONFIG_SECRET_FILE_MAX   4096

typedef struct
{
  char  *path;                 /* the file read */
  guint  file_mode;            /* its permission bits, as read */

  /* [sip] */
  char  *sip_domain;           /* required */
  char  *sip_listen;           /* default "sip:127.0.0.1:5060" */
  char  *sip_outbound_proxy;   /* NULL when unset */
  char **sip_trusted_peers;    /* CIDR strings, default 127.0.0.1/32, ::1/128;
                                * NULL = any source ('*' written) */
  char  *sip_tls_certificate;
  char  *sip_tls_key;
  char  *sip_tls_ca_file;      /* CAs for TLS servers we connect to; NULL:
                                * the system's (OpenSSL's default file) */
  guint  sip_max_message_size; /* default 1300 */
  gboolean sip_trust_from;     /* default FALSE: only P-Asserted-Identity
                                * vouches for a SIP watcher */
  /* TCP/TLS connections peers open (sip/endpoint.h has the defaults) */
  guint  sip_tcp_max_connections;
  guint  sip_tcp_max_per_source;
  guint  sip_tcp_idle_timeout_s;
  guint  sip_tcp_message_timeout_s;
  guint  sip_max_in_flight;    /* requests without a final response; default 1000 */

  /* [xmpp] */
  char  *xmpp_component;       /* default: sip_domain */
  char  *xmpp_server;          /* default "127.0.0.1" */
  guint16 xmpp_port;           /* default 5347 */
  char  *xmpp_secret;          /* from secret or secret-file; required */
  gboolean xmpp_secret_inline; /* from secret = (in this file) */
  guint  xmpp_max_stanza_size; /* bytes encoded, default STOX_STANZA_SIZE_DEFAULT */

  /* [gateway] */
  char  *rules_dir;            /* default SYSCONFDIR "/stox/rules.d" */
  guint  bounce_wait_ms;       /* 0–400, default 250 */
  char **xmpp_domains;         /* required; NULL = any ('*' written) */
  char  *state_dir;            /* default $STATE_DIRECTORY, else /var/lib/stox */
  /* SIP watchers' dialogs at most per source, per watcher, per XMPP user
   * (defaults: STOX_GATEWAY_MAX_PER_*_DEFAULT) */
  guint  max_subscriptions_per_source;
  guint  max_subscriptions_per_watcher;
  guint  max_subscriptions_per_user;
  gboolean end_subscriptions_on_stop; /* on-stop = end-subscriptions
                                       * (default keep-subscriptions) */

  /* [metrics] */
  char  *metrics_listen;       /* as written; NULL: no listener (default) */
  char  *metrics_address;      /* numeric, without brackets */
  guint16 metrics_port;
} StoxConfig;

StoxConfig *stox_config_new_defaults (void);
void        stox_config_free (StoxConfig *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxConfig, stox_config_free)

/* Reads and checks `path` (and secret-file).  The returned error message
 * names the file and the key or line. */
StoxConfig *stox_config_load (const char *path, GError **error);

/* Every problem in the file, not just the first: one "FILE: [group] key:
 * why" / "FILE:LINE: why" per element (char *, freed with the array).
 * Empty array when all is well.  The rule directory is not read here: see
 * rules-dir.h. */
GPtrArray  *stox_config_check (const char *path);

G_END_DECLS
