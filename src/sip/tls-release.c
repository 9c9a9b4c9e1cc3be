/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Releasing what Sofia-SIP 1.12.11's TLS transport leaks (tls-release.h).
 *
 * 1. tls_free(), which the stack calls when a TLS connection (or its
 *    listener) goes, calls SSL_shutdown() and BIO_free() but never
 *    SSL_free(): the SSL object, its record buffers, the peer's
 *    certificate chain and a reference to the listener's SSL_CTX (with
 *    every CA of cafile.pem) stay allocated for ever.  tls_free() is
 *    exported and the stack calls it through the PLT, so, as accept() in
 *    tcp-guard.c, the executable's definition below is the one it
 *    reaches.  It does what the stack's should: SSL_free() of the
 *    connection, which also frees the BIO that SSL_set_bio() handed over
 *    (so no BIO_free() of it) and its reference to the listener's
 *    SSL_CTX; SSL_CTX_free() for the listener only (the stack's version
 *    drops a reference for each connection too, one that the leaked SSL
 *    object made up for); then the stack's own memory home.
 *
 * 2. tls_post_connection_check() (static, inlined in tls_connect())
 *    collects the names of a server certificate (RFC 5922 §7.1) with
 *    X509V3_EXT_get(), X509V3_EXT_d2i() and the method's i2v(), and frees
 *    neither the decoded GENERAL_NAMES nor the CONF_VALUE list.  For a
 *    call from libsofia-sip-ua only, X509V3_EXT_get() below hands out a
 *    copy of the method whose i2v() remembers both; the stack is done
 *    with them before it decodes the next extension, so they are freed
 *    then, or by stox_sip_tls_release_flush().  OpenSSL's own callers
 *    (and libstrophe's) get OpenSSL's method unchanged.
 *
 * Both rely on the layout of Sofia-SIP 1.12.11 (struct tls_s in
 * libsofia-sip-ua/tport/tport_tls.c); with any other version the calls go
 * to the library's own functions unchanged.
 */
#include "config.h"

#include <dlfcn.h>
#include <string.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sip/sofia-decls.h"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wundef"
#include <sofia-sip/sofia_features.h>
#pragma GCC diagnostic pop
#include "sip/tls-release.h"

/* The only version whose tls_free() and layout this file knows. */
#define KNOWN_SOFIA "sofia-sip-1.12.11devel"

/* The head of struct tls_s of Sofia-SIP 1.12.11.  A listener's has no
 * read buffer and no SSL object; a connection's (tls_init_secondary())
 * has both, and shares the listener's ctx without a reference of its own
 * (it copies the listener's flags too, so its type bit says "master"). */
typedef struct
{
  su_home_t home[1];
  SSL_CTX  *ctx;
  SSL      *con;
  BIO      *bio_con;
  unsigned  flags;
  int       read_events;
  void     *read_buffer;
} SofiaTls;

void tls_free (SofiaTls *tls);
typedef void (*TlsFreeFunc) (SofiaTls *);
typedef const X509V3_EXT_METHOD *(*ExtGetFunc) (X509_EXTENSION *);

static gboolean
sofia_is_known (void)
{
  static int known = -1;

  if (known < 0)
    known = sofia_sip_name_version != NULL
            && strcmp (sofia_sip_name_version, KNOWN_SOFIA) == 0;
  return known;
}

/* The library's tls_free(): the next definition after this one. */
static TlsFreeFunc
sofia_tls_free (void)
{
  static TlsFreeFunc next;

  if (next == NULL)
    {
      union { void *p; TlsFreeFunc f; } sym = { .p = dlsym (RTLD_NEXT, "tls_free") };

      next = sym.f;
    }
  return next;
}

void
tls_free (SofiaTls *tls)
{
  if (!sofia_is_known ())
    {
      TlsFreeFunc next = sofia_tls_free ();

      if (next != NULL)
        next (tls);
      return;
    }
  if (tls == NULL)
    return;
  if (tls->con != NULL)
    {
      /* A close_notify, as the stack sends it.  SSL_free() drops the
       * reference to ctx that SSL_new() took, and frees the BIO that
       * SSL_set_bio() handed over. */
      (void) SSL_shutdown (tls->con);
      SSL_free (tls->con);
      tls->con = NULL;
      tls->bio_con = NULL;
    }
  else if (tls->bio_con != NULL)
    {
      BIO_free (tls->bio_con);
      tls->bio_con = NULL;
    }
  /* The listener's own reference; a connection's ctx is borrowed (the
   * stack's tls_free() dropped a reference it never took there). */
  if (tls->ctx != NULL && tls->read_buffer == NULL)
    SSL_CTX_free (tls->ctx);
  tls->ctx = NULL;
  su_home_unref (tls->home);
}

/* ------------------------------------------------------------------ */
/* The names of a server certificate                                   */

/* What the stack's last i2v() call decoded and listed; one at a time. */
static const X509V3_EXT_METHOD *pending_method;
static void *pending_ext;
static STACK_OF (CONF_VALUE) *pending_values;

/* OpenSSL's method, and the copy the stack gets. */
static const X509V3_EXT_METHOD *wrapped_from;
static X509V3_EXT_METHOD wrapped;

static void
free_ext (const X509V3_EXT_METHOD *method, void *ext)
{
  if (ext == NULL)
    return;
  if (method->it != NULL)
    ASN1_item_free (ext, ASN1_ITEM_ptr (method->it));
  else if (method->ext_free != NULL)
    method->ext_free (ext);
}

void
stox_sip_tls_release_flush (void)
{
  if (pending_values != NULL)
    sk_CONF_VALUE_pop_free (pending_values, X509V3_conf_free);
  pending_values = NULL;
  if (pending_method != NULL)
    free_ext (pending_method, pending_ext);
  pending_ext = NULL;
  pending_method = NULL;
}

static STACK_OF (CONF_VALUE) *
remembering_i2v (const X509V3_EXT_METHOD *method,
                 void                    *ext,
                 STACK_OF (CONF_VALUE)   *list)
{
  const X509V3_EXT_METHOD *orig = wrapped_from;
  STACK_OF (CONF_VALUE) *values;

  (void) method;
  /* The stack has read the previous list: it frees nothing itself. */
  stox_sip_tls_release_flush ();
  values = orig->i2v (orig, ext, list);
  pending_method = orig;
  pending_ext = ext;
  /* A list passed in is the caller's; the stack passes none. */
  pending_values = list == NULL ? values : NULL;
  return values;
}

static ExtGetFunc
openssl_ext_get (void)
{
  static ExtGetFunc next;

  if (next == NULL)
    {
      union { void *p; ExtGetFunc f; } sym = { .p = dlsym (RTLD_NEXT, "X509V3_EXT_get") };

      next = sym.f;
    }
  return next;
}

/* TRUE when `code` lies in libsofia-sip-ua, where tls_free() came from. */
static gboolean
in_sofia (const void *code)
{
  static const void *sofia_base;
  Dl_info here;

  if (sofia_base == NULL)
    {
      union { void *p; TlsFreeFunc f; } sym = { .f = sofia_tls_free () };
      Dl_info lib;

      if (sym.p == NULL || dladdr (sym.p, &lib) == 0)
        return FALSE;
      sofia_base = lib.dli_fbase;
    }
  return dladdr (code, &here) != 0 && here.dli_fbase == sofia_base;
}

const X509V3_EXT_METHOD *
X509V3_EXT_get (X509_EXTENSION *ext)
{
  ExtGetFunc next = openssl_ext_get ();
  const X509V3_EXT_METHOD *method = next != NULL ? next (ext) : NULL;

  if (method == NULL || method->i2v == NULL || !sofia_is_known ()
      || !in_sofia (__builtin_return_address (0)))
    return method;
  if (wrapped_from != method)
    {
      /* Nothing decoded with the old copy is pending once the stack asks
       * again (remembering_i2v() flushed it or will). */
      stox_sip_tls_release_flush ();
      wrapped_from = method;
      wrapped = *method;
      wrapped.i2v = remembering_i2v;
    }
  return &wrapped;
}

gboolean
stox_sip_tls_release_active (void)
{
  union { void *p; void (*f) (SofiaTls *); } ours = { .f = tls_free };

  return sofia_is_known () && dlsym (RTLD_DEFAULT, "tls_free") == ours.p;
}
