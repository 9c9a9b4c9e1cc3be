/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SIP over TLS: the [sip] tls-certificate / tls-key pair (and tls-ca-file)
 * checked with OpenSSL at start-up and by --check-config, and assembled
 * into the files Sofia-SIP reads.
 */
#pragma once

#include <glib.h>

#include "daemon/config.h"

G_BEGIN_DECLS

/* TRUE when no TLS is configured, or the certificate is PEM, the key is
 * PEM and the key belongs to the certificate.  Otherwise a
 * STOX_CONFIG_ERROR_INVALID naming the file and the key. */
gboolean stox_tls_check_pair (const StoxConfig *config, GError **error);

/* The directory Sofia-SIP's TPTAG_CERTIFICATE wants, holding agent.pem
 * (key, then certificate), mode 0600, and cafile.pem, a link to [sip]
 * tls-ca-file or the system's CA bundle: under $RUNTIME_DIRECTORY when
 * systemd sets it, else a private temporary directory.  NULL without
 * `error` when no TLS is configured. */
char    *stox_tls_dir_new (const StoxConfig *config, GError **error);

/* Removes what stox_tls_dir_new() wrote, unless systemd owns the runtime
 * directory (it removes it at stop), and frees `dir`.  NULL-safe. */
void     stox_tls_dir_free (char *dir);

G_END_DECLS
