/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "daemon/tls.h"

#include <errno.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <glib/gstdio.h>

/* OpenSSL's pem_password_cb.  Without one, OpenSSL asks for the passphrase
 * of an encrypted key on the terminal, which a daemon has not got (and
 * --check-config must not hang on): say no, and remember that one was
 * asked for. */
static int
refuse_passphrase (char *buf, int size, int rwflag, void *user_data)
{
  gboolean *asked = user_data;

  (void) buf, (void) size, (void) rwflag;
  *asked = TRUE;
  return -1;
}

/* The key must belong to the certificate, or every TLS handshake fails
 * long after start-up; OpenSSL says so now. */
gboolean
stox_tls_check_pair (const StoxConfig *config, GError **error)
{
  SSL_CTX *ctx;
  gboolean ok, asked = FALSE;

  if (config->sip_tls_certificate == NULL || config->sip_tls_key == NULL)
    return TRUE;
  ctx = SSL_CTX_new (TLS_method ());
  if (ctx != NULL)
    {
      SSL_CTX_set_default_passwd_cb (ctx, refuse_passphrase);
      SSL_CTX_set_default_passwd_cb_userdata (ctx, &asked);
    }
  ok = ctx != NULL &&
       SSL_CTX_use_certificate_chain_file (ctx, config->sip_tls_certificate) == 1;
  if (!ok)
    g_set_error (error, STOX_CONFIG_ERROR, STOX_CONFIG_ERROR_INVALID,
                 "%s: [sip] tls-certificate: %s is not a PEM certificate",
                 config->path, config->sip_tls_certificate);
  else
    {
      /* Parse the key alone first: OpenSSL's use_PrivateKey already fails
       * on a mismatch, and the operator needs to know which it is. */
      BIO *bio = BIO_new_file (config->sip_tls_key, "r");
      EVP_PKEY *pkey = bio != NULL
                       ? PEM_read_bio_PrivateKey (bio, NULL, refuse_passphrase, &asked)
                       : NULL;

      if (pkey == NULL && asked)
        {
          ok = FALSE;
          g_set_error (error, STOX_CONFIG_ERROR, STOX_CONFIG_ERROR_INVALID,
                       "%s: [sip] tls-key: %s is encrypted, and stoxd cannot ask for its "
                       "passphrase: store it decrypted, readable by stoxd's user only "
                       "(openssl pkey -in KEY -out NEW-KEY)",
                       config->path, config->sip_tls_key);
        }
      else if (pkey == NULL)
        {
          ok = FALSE;
          g_set_error (error, STOX_CONFIG_ERROR, STOX_CONFIG_ERROR_INVALID,
                       "%s: [sip] tls-key: %s is not a PEM private key",
                       config->path, config->sip_tls_key);
        }
      else if (SSL_CTX_use_PrivateKey (ctx, pkey) != 1 || SSL_CTX_check_private_key (ctx) != 1)
        {
          ok = FALSE;
          g_set_error (error, STOX_CONFIG_ERROR, STOX_CONFIG_ERROR_INVALID,
                       "%s: [sip] tls-key: %s does not match the certificate %s",
                       config->path, config->sip_tls_key, config->sip_tls_certificate);
        }
      EVP_PKEY_free (pkey);
      BIO_free (bio);
    }
  /* The CAs that vouch for the TLS servers stoxd connects to. */
  if (ok && config->sip_tls_ca_file != NULL
      && SSL_CTX_load_verify_locations (ctx, config->sip_tls_ca_file, NULL) != 1)
    {
      ok = FALSE;
      g_set_error (error, STOX_CONFIG_ERROR, STOX_CONFIG_ERROR_INVALID,
                   "%s: [sip] tls-ca-file: %s holds no PEM certificate",
                   config->path, config->sip_tls_ca_file);
    }
  SSL_CTX_free (ctx);
  ERR_clear_error ();
  return ok;
}

/* Where OpenSSL finds the system's CAs ($SSL_CERT_FILE, else Debian's
 * /usr/lib/ssl/cert.pem, ca-certificates' bundle). */
static const char *
system_ca_file (void)
{
  const char *env = g_getenv (X509_get_default_cert_file_env ());

  return env != NULL && env[0] != '\0' ? env : X509_get_default_cert_file ();
}

/* Sofia-SIP 1.12.11 takes the CAs it verifies servers with from
 * cafile.pem beside agent.pem, and cannot be pointed at the system's: a
 * link to [sip] tls-ca-file or to the system bundle.  Without either,
 * every server fails verification, and the log says why. */
static gboolean
link_ca_file (const StoxConfig *config,
              const char       *dir,
              GError          **error)
{
  g_autofree char *link = g_build_filename (dir, "cafile.pem", NULL);
  const char *target = config->sip_tls_ca_file != NULL ? config->sip_tls_ca_file
                                                       : system_ca_file ();

  (void) g_unlink (link);
  if (config->sip_tls_ca_file == NULL && g_access (target, R_OK) != 0)
    {
      g_warning ("no CA certificates in %s (the ca-certificates package): TLS servers "
                 "stoxd connects to cannot be verified, and so are refused; set "
                 "[sip] tls-ca-file", target);
      return TRUE;
    }
  if (symlink (target, link) != 0)
    {
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                   "%s: %s", link, g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

/* Sofia wants one PEM file with key and certificate (agent.pem) in a
 * directory (model-codebases.md §1.7); assemble it privately. */
char *
stox_tls_dir_new (const StoxConfig *config, GError **error)
{
  g_autofree char *key = NULL;
  g_autofree char *cert = NULL;
  g_autofree char *pem = NULL;
  g_autofree char *dir = NULL;
  const char *runtime = g_getenv ("RUNTIME_DIRECTORY");

  if (config->sip_tls_certificate == NULL || config->sip_tls_key == NULL)
    return NULL;
  if (!g_file_get_contents (config->sip_tls_key, &key, NULL, error) ||
      !g_file_get_contents (config->sip_tls_certificate, &cert, NULL, error))
    return NULL;
  if (runtime != NULL)
    {
      dir = g_build_filename (runtime, "tls", NULL);
      if (g_mkdir_with_parents (dir, 0700) != 0)
        {
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                       "%s: %s", dir, g_strerror (errno));
          return NULL;
        }
    }
  else if ((dir = g_dir_make_tmp ("stox-tls-XXXXXX", error)) == NULL)
    return NULL;
  pem = g_build_filename (dir, "agent.pem", NULL);
  g_autofree char *both = g_strconcat (key, "\n", cert, NULL);
  gboolean written = g_file_set_contents_full (pem, both, -1, G_FILE_SET_CONTENTS_CONSISTENT,
                                               0600, error);

  /* No copy of the private key left in freed memory. */
  explicit_bzero (key, strlen (key));
  explicit_bzero (both, strlen (both));
  if (!written || !link_ca_file (config, dir, error))
    return NULL;
  return g_steal_pointer (&dir);
}

void
stox_tls_dir_free (char *dir)
{
  if (dir == NULL)
    return;
  if (g_getenv ("RUNTIME_DIRECTORY") == NULL)
    {
      g_autofree char *pem = g_build_filename (dir, "agent.pem", NULL);
      g_autofree char *ca = g_build_filename (dir, "cafile.pem", NULL);
      (void) g_unlink (pem);
      (void) g_unlink (ca);
      (void) g_rmdir (dir);
    }
  g_free (dir);
}
