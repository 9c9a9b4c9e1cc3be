/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stox.conf (stox.conf(5)): the schema and the key file's checks.
 *
 * GKeyFile gives no line numbers and quietly keeps the last of two equal
 * keys, so the text is first scanned line by line here: every line must be
 * blank, a '#' comment, a [group] header or "key = value".  Bad lines are
 * reported as FILE:LINE and blanked out before GKeyFile sees the text, so
 * that --check-config can still go on to report every key problem too.
 *
 * Values are read with g_key_file_get_value (no escape processing: a
 * backslash is a backslash) and trimmed of surrounding blanks only; a value
 * runs to the end of its line, so "secret = abc ; x" is "abc ; x".
 */
/* <config.h> is the autoconf header; "config.h" would find this file's own
 * header next to it. */
#include <config.h>

#include "daemon/config.h"

#include "core/netmask.h"
#include "sip/endpoint.h"
#include "daemon/config-value.h"
#include "daemon/listen-url.h"
#include "daemon/textfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

/* clang-format off */
G_DEFINE_QUARK (stox-config-error-quark, stox_config_error)
/* clang-format on */

#define DEFAULT_LISTEN     "sip:127.0.0.1:5060"
#define DEFAULT_SERVER     "127.0.0.1"
#define DEFAULT_PORT       5347
#define DEFAULT_MSG_SIZE   1300
#define DEFAULT_IN_FLIGHT  1000
#define DEFAULT_BOUNCE     250
#define DEFAULT_RULES_DIR  SYSCONFDIR "/stox/rules.d"
#define DEFAULT_STATE_DIR  "/var/lib/stox"

/* After a value that fails a check: a trailing comment is the usual cause. */
#define hint(value) stox_config_value_comment_hint (value)

/* A SIP proxy on the same host, as stox_netmask_normalize() writes it. */
static const char *const default_trusted_peers[] = { "127.0.0.1/32", "::1/128", NULL };

/* The whole schema: anything else is an error (stox.conf(5)). */
static const struct
{
  const char *group;
  const char *keys[16];
} schema[] = {
  { "sip", { "domain", "listen", "outbound-proxy", "trusted-peers", "trust-from",
             "tls-certificate", "tls-key", "tls-ca-file", "max-message-size",
             "max-requests-in-flight",
             "tcp-max-connections", "tcp-max-connections-per-source",
             "tcp-idle-timeout", "tcp-message-timeout", NULL } },
  { "xmpp", { "component", "server", "port", "secret", "secret-file", "max-stanza-size", NULL } },
  { "gateway", { "rules", "bounce-wait", "xmpp-domains", "state-dir",
                 "max-subscriptions-per-source", "max-subscriptions-per-watcher",
                 "max-subscriptions-per-user", "on-stop", NULL } },
  { "metrics", { "listen", NULL } },
};

/* ------------------------------------------------------------------ */
/* Problems                                                            */

typedef struct
{
  const char *path;
  char       *dir;          /* absolute directory of `path`, for relative paths */
  GPtrArray  *problems;     /* char * */
  StoxConfigError first_code;
} Checker;

static void G_GNUC_PRINTF (3, 4)
add_problem (Checker *c, StoxConfigError code, const char *format, ...)
{
  va_list ap;

  va_start (ap, format);
  if (c->problems->len == 0)
    c->first_code = code;
  g_ptr_array_add (c->problems, g_strdup_vprintf (format, ap));
  va_end (ap);
}

/* "FILE: [group] key: why" */
static void G_GNUC_PRINTF (4, 5)
key_problem (Checker *c, const char *group, const char *key, const char *format, ...)
{
  va_list ap;
  g_autofree char *why = NULL;

  va_start (ap, format);
  why = g_strdup_vprintf (format, ap);
  va_end (ap);
  add_problem (c, STOX_CONFIG_ERROR_INVALID, "%s: [%s] %s: %s", c->path, group, key, why);
}

/* "FILE:LINE: why" */
static void G_GNUC_PRINTF (3, 4)
line_problem (Checker *c, guint line, const char *format, ...)
{
  va_list ap;
  g_autofree char *why = NULL;

  va_start (ap, format);
  why = g_strdup_vprintf (format, ap);
  va_end (ap);
  add_problem (c, STOX_CONFIG_ERROR_PARSE, "%s:%u: %s", c->path, line, why);
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */

/* An integer key: "not a number" / "out of range".  FALSE when unusable. */
static gboolean
check_uint (Checker *c, const char *group, const char *key, const char *value,
            guint min, guint max, guint *ret_value)
{
  switch (stox_config_value_uint (value, min, max, ret_value))
    {
    case STOX_CONFIG_UINT_OK:
      return TRUE;
    case STOX_CONFIG_UINT_NOT_A_NUMBER:
      key_problem (c, group, key, "not a number: '%s'%s", value, hint (value));
      return FALSE;
    case STOX_CONFIG_UINT_OUT_OF_RANGE:
      key_problem (c, group, key, "out of range %u..%u: '%s'", min, max, value);
      return FALSE;
    }
  g_assert_not_reached ();
}

/* A boolean key: "true" or "false", nothing else (a typo must not read
 * as either).  FALSE when unusable. */
static gboolean
check_bool (Checker *c, const char *group, const char *key, const char *value,
            gboolean *ret_value)
{
  if (g_ascii_strcasecmp (value, "true") == 0)
    *ret_value = TRUE;
  else if (g_ascii_strcasecmp (value, "false") == 0)
    *ret_value = FALSE;
  else
    {
      key_problem (c, group, key, "not true or false: '%s'%s", value, hint (value));
      return FALSE;
    }
  return TRUE;
}

/* A path value: relative paths are taken relative to the config file's
 * directory, so a configuration can be moved as a whole. */
static char *
resolve_path (Checker *c, const char *value)
{
  if (g_path_is_absolute (value))
    return g_strdup (value);
  return g_canonicalize_filename (value, c->dir);
}

/* ------------------------------------------------------------------ */
/* The line scan                                                       */

/* Checks the syntax line by line and returns the text GKeyFile may read:
 * the same lines, with every bad line and every repeated key turned into
 * a comment so that line numbers stay the same. */
static char *
scan_lines (Checker *c, const char *text, gsize length)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *group = NULL;
  GString *out = g_string_sized_new (length + 1);
  const char *p = text, *end = text + length;
  guint lineno = 0;

  /* Some editors start UTF-8 files with a byte-order mark. */
  if (length >= 3 && memcmp (p, "\xef\xbb\xbf", 3) == 0)
    p += 3;

  while (p < end)
    {
      const char *eol = memchr (p, '\n', (gsize) (end - p));
      const char *next = eol ? eol + 1 : end;
      gsize len = (gsize) ((eol ? eol : end) - p);
      g_autofree char *line = NULL;
      const char *s;
      gboolean ok = FALSE;

      lineno++;
      if (len > 0 && p[len - 1] == '\r')
        len--;
      line = g_strndup (p, len);
      p = next;

      if (strlen (line) != len)
        {
          line_problem (c, lineno, "contains a NUL byte");
          goto bad;
        }
      if (!g_utf8_validate (line, -1, NULL))
        {
          line_problem (c, lineno, "not valid UTF-8");
          goto bad;
        }
      for (s = line; *s; s++)
        if (g_ascii_iscntrl (*s) && *s != '\t')
          break;
      if (*s)
        {
          line_problem (c, lineno, "contains a control character");
          goto bad;
        }

      for (s = line; stox_config_value_is_blank (*s); s++)
        ;
      if (*s == '\0' || *s == '#')
        ok = TRUE;
      else if (*s == '[')
        {
          const char *close = strchr (s, ']');
          const char *t;

          if (close)
            for (t = close + 1; stox_config_value_is_blank (*t); t++)
              ;
          if (!close || *t != '\0' || close == s + 1 || strchr (s + 1, '[') ||
              strchr (close + 1, ']'))
            {
              line_problem (c, lineno, "line is not a [group] header");
              goto bad;
            }
          g_free (group);
          group = g_strndup (s + 1, (gsize) (close - s - 1));
          ok = TRUE;
        }
      else
        {
          const char *eq = strchr (s, '=');
          g_autofree char *key = NULL;
          g_autofree char *id = NULL;
          gpointer first;

          if (!eq || eq == s)
            {
              line_problem (c, lineno, "line is not 'key = value'");
              goto bad;
            }
          key = stox_config_value_strip (s, (gsize) (eq - s));
          for (const char *k = key; *k; k++)
            if (!g_ascii_isalnum (*k) && *k != '-' && *k != '_' && *k != '.')
              {
                line_problem (c, lineno, "bad key name '%s'", key);
                goto bad;
              }
          if (!group)
            {
              line_problem (c, lineno, "key '%s' before any [group] header", key);
              goto bad;
            }
          id = g_strdup_printf ("%s\n%s", group, key);
          first = g_hash_table_lookup (seen, id);
          if (first)
            {
              line_problem (c, lineno, "[%s] %s: set again (first set on line %u)",
                            group, key, GPOINTER_TO_UINT (first));
              goto bad;
            }
          g_hash_table_insert (seen, g_steal_pointer (&id), GUINT_TO_POINTER (lineno));
          ok = TRUE;
        }

    bad:
      g_string_append (out, ok ? line : "#");
      g_string_append_c (out, '\n');
    }

  return g_string_free (out, FALSE);
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */

/* The trimmed value, or NULL when the key is absent or empty (an empty
 * value is reported here; `ret_present` tells the two apart). */
static char *
get_value (Checker *c, GKeyFile *kf, const char *group, const char *key,
           gboolean *ret_present)
{
  char *raw = g_key_file_get_value (kf, group, key, NULL);
  char *value;

  if (ret_present)
    *ret_present = raw != NULL;
  if (!raw)
    return NULL;
  value = stox_config_value_strip (raw, strlen (raw));
  explicit_bzero (raw, strlen (raw)); /* it may be the secret */
  g_free (raw);
  if (*value == '\0')
    {
      key_problem (c, group, key, "empty value");
      g_free (value);
      return NULL;
    }
  return value;
}

static void
check_schema (Checker *c, GKeyFile *kf)
{
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);

  for (guint i = 0; groups[i]; i++)
    {
      g_auto (GStrv) keys = NULL;
      guint s;

      for (s = 0; s < G_N_ELEMENTS (schema); s++)
        if (g_str_equal (groups[i], schema[s].group))
          break;
      if (s == G_N_ELEMENTS (schema))
        {
          add_problem (c, STOX_CONFIG_ERROR_INVALID, "%s: [%s]: unknown group",
                       c->path, groups[i]);
          continue;
        }
      keys = g_key_file_get_keys (kf, groups[i], NULL, NULL);
      for (guint k = 0; keys && keys[k]; k++)
        if (!g_strv_contains (schema[s].keys, keys[k]))
          key_problem (c, groups[i], keys[k], "unknown key");
    }
}

static void
check_readable (Checker *c, const char *group, const char *key, const char *path)
{
  g_autofree char *why = NULL;
  struct stat st;
  int fd = stox_textfile_open (path, &st, &why);

  if (fd < 0)
    key_problem (c, group, key, "cannot read '%s': %s", path, why);
  else
    close (fd);
}

static void
read_sip (Checker *c, GKeyFile *kf, StoxConfig *cfg)
{
  const char *g = "sip";
  g_autofree char *v = NULL;
  g_auto (StoxListenUrl) url = { 0 };
  gboolean present, tls;
  const char *why;

  v = get_value (c, kf, g, "domain", &present);
  if (v)
    {
      cfg->sip_domain = stox_config_value_domain (v, &why);
      if (!cfg->sip_domain)
        key_problem (c, g, "domain", "not a domain (%s): '%s'%s", why, v, hint (v));
    }
  else if (!present)
    key_problem (c, g, "domain", "missing: set the SIP domain this gateway serves");
  g_clear_pointer (&v, g_free);

  v = get_value (c, kf, g, "listen", NULL);
  if (v)
    {
      if (stox_config_value_sip_uri (v, &why))
        {
          g_free (cfg->sip_listen);
          cfg->sip_listen = g_steal_pointer (&v);
        }
      else
        key_problem (c, g, "listen", "%s: '%s'%s", why, v, hint (v));
    }
  g_clear_pointer (&v, g_free);
  tls = stox_listen_url_parse (cfg->sip_listen, &url) && url.tls;

  v = get_value (c, kf, g, "outbound-proxy", NULL);
  if (v)
    {
      if (stox_config_value_sip_uri (v, &why))
        cfg->sip_outbound_proxy = g_steal_pointer (&v);
      else
        key_problem (c, g, "outbound-proxy", "%s: '%s'%s", why, v, hint (v));
    }
  g_clear_pointer (&v, g_free);

  v = get_value (c, kf, g, "trusted-peers", NULL);
  if (v)
    {
      g_auto (GStrv) items = g_strsplit (v, ",", -1);
      g_autoptr (GPtrArray) peers = g_ptr_array_new_with_free_func (g_free);
      g_autoptr (GError) error = NULL;
      gboolean ok = TRUE, any = FALSE;

      for (guint i = 0; items[i]; i++)
        {
          g_autofree char *item = stox_config_value_strip (items[i], strlen (items[i]));
          char *peer;

          if (*item == '\0')
            {
              key_problem (c, g, "trusted-peers", "empty entry in '%s'", v);
              ok = FALSE;
              continue;
            }
          /* Any source: only when written (stox.conf(5) SECURITY). */
          if (g_str_equal (item, "*"))
            {
              any = TRUE;
              continue;
            }
          /* The core's netmask parser decides what an entry means, so that
           * what --check-config accepts is what the gateway matches. */
          peer = stox_netmask_normalize (item, &error);
          if (!peer)
            {
              key_problem (c, g, "trusted-peers", "'%s': %s%s", item, error->message,
                           hint (item));
              g_clear_error (&error);
              ok = FALSE;
              continue;
            }
          g_ptr_array_add (peers, peer);
        }
      if (any && peers->len > 0)
        {
          key_problem (c, g, "trusted-peers", "'*' (any source) must stand alone: '%s'", v);
          ok = FALSE;
        }
      if (ok)
        {
          g_strfreev (cfg->sip_trusted_peers);
          cfg->sip_trusted_peers = NULL;
          if (!any)
            {
              g_ptr_array_add (peers, NULL);
              cfg->sip_trusted_peers = (char **) g_ptr_array_free (g_steal_pointer (&peers),
                                                                   FALSE);
            }
        }
    }
  g_clear_pointer (&v, g_free);

  v = get_value (c, kf, g, "tls-certificate", &present);
  if (v)
    {
      cfg->sip_tls_certificate = resolve_path (c, v);
      check_readable (c, g, "tls-certificate", cfg->sip_tls_certificate);
    }
  else if (tls && !present)
    key_problem (c, g, "tls-certificate", "missing: [sip] listen uses TLS");
  g_clear_pointer (&v, g_free);

  v = get_value (c, kf, g, "tls-key", &present);
  if (v)
    {
      cfg->sip_tls_key = resolve_path (c, v);
      check_readable (c, g, "tls-key", cfg->sip_tls_key);
    }
  else if (tls && !present)
    key_problem (c, g, "tls-key", "missing: [sip] listen uses TLS");
  g_clear_pointer (&v, g_free);

  v = get_value (c, kf, g, "tls-ca-file", NULL);
  if (v)
    {
      cfg->sip_tls_ca_file = resolve_path (c, v);
      check_readable (c, g, "tls-ca-file", cfg->sip_tls_ca_file);
    }
  g_clear_pointer (&v, g_free);

  v = get_value (c, kf, g, "max-message-size", NULL);
  if (v)
    check_uint (c, g, "max-message-size", v, STOX_CONFIG_MESSAGE_SIZE_MIN,
                STOX_CONFIG_MESSAGE_SIZE_MAX, &cfg->sip_max_message_size);
  g_clear_pointer (&v, g_free);

  v = get_value (c, kf, g, "trust-from", NULL);
  if (v)
    check_bool (c, g, "trust-from", v, &cfg->sip_trust_from);
  g_clear_pointer (&v, g_free);

  static const struct
  {
    const char *key;
    guint       max;
    gsize       offset;
  } limits[] = {
    { "tcp-max-connections", STOX_CONFIG_CONNECTIONS_MAX,
      G_STRUCT_OFFSET (StoxConfig, sip_tcp_max_connections) },
    { "tcp-max-connections-per-source", STOX_CONFIG_CONNECTIONS_MAX,
      G_STRUCT_OFFSET (StoxConfig, sip_tcp_max_per_source) },
    { "tcp-idle-timeout", STOX_CONFIG_IDLE_TIMEOUT_MAX,
      G_STRUCT_OFFSET (StoxConfig, sip_tcp_idle_timeout_s) },
    { "tcp-message-timeout", STOX_CONFIG_MESSAGE_TIMEOUT_MAX,
      G_STRUCT_OFFSET (StoxConfig, sip_tcp_message_timeout_s) },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (limits); i++)
    {
      v = get_value (c, kf, g, limits[i].key, NULL);
      if (v)
        check_uint (c, g, limits[i].key, v, 1, limits[i].max,
                    &G_STRUCT_MEMBER (guint, cfg, limits[i].offset));
      g_clear_pointer (&v, g_free);
    }

  v = get_value (c, kf, g, "max-requests-in-flight", NULL);
  if (v)
    check_uint (c, g, "max-requests-in-flight", v, STOX_CONFIG_IN_FLIGHT_MIN,
                STOX_CONFIG_IN_FLIGHT_MAX, &cfg->sip_max_in_flight);
}

/* The secret-file: one line; a trailing newline (LF or CRLF) is not part of
 * the secret.  Everything else, blanks included, is. */
static char *
read_secret_file (Checker *c, const char *path)
{
  g_autofree char *text = NULL;
  g_autofree char *why = NULL;
  gsize len;
  guint mode;

  if (!stox_textfile_read_mode (path, STOX_CONFIG_SECRET_FILE_MAX, &text, &len, &mode, &why))
    {
      key_problem (c, "xmpp", "secret-file", "cannot read '%s': %s", path, why);
      return NULL;
    }
  /* The file exists to keep the secret private (stox.conf(5) SECURITY):
   * one that every user may read or write is refused, not used. */
  if (mode & (S_IROTH | S_IWOTH))
    why = g_strdup_printf ("can be %s by every user (mode %04o): chmod o-rw it",
                           (mode & S_IROTH) ? "read" : "written", mode);
  else if (strlen (text) != len)
    why = g_strdup ("contains a NUL byte");
  else
    {
      if (len > 0 && text[len - 1] == '\n')
        text[--len] = '\0';
      if (len > 0 && text[len - 1] == '\r')
        text[--len] = '\0';
      if (len == 0)
        why = g_strdup ("is empty");
      else if (strpbrk (text, "\r\n"))
        why = g_strdup ("holds more than one line");
      else if (!g_utf8_validate (text, (gssize) len, NULL))
        why = g_strdup ("is not valid UTF-8");
    }
  if (why)
    {
      explicit_bzero (text, len);
      key_problem (c, "xmpp", "secret-file", "'%s' %s", path, why);
      return NULL;
    }
  return g_steal_pointer (&text);
}

static void
read_xmpp (Checker *c, GKeyFile *kf, StoxConfig *cfg)
{
  const char *g = "xmpp";
  g_autofree char *v = NULL;
  g_autofree char *file = NULL;
  gboolean has_secret, has_file;
  const char *why;
  guint port;

  v = get_value (c, kf, g, "component", NULL);
  if (v)
    {
      cfg->xmpp_component = stox_config_value_domain (v, &why);
      if (!cfg->xmpp_component)
        key_problem (c, g, "component", "not a domain (%s): '%s'%s", why, v, hint (v));
    }
  else if (cfg->sip_domain)
    cfg->xmpp_component = g_strdup (cfg->sip_domain);
  g_clear_pointer (&v, g_free);

  v = get_value (c, kf, g, "server", NULL);
  if (v)
    {
      char *host = stox_config_value_host (v, &why);
      if (host)
        {
          g_free (cfg->xmpp_server);
          cfg->xmpp_server = host;
        }
      else
        key_problem (c, g, "server", "%s: '%s'%s", why, v, hint (v));
    }
  g_clear_pointer (&v, g_free);

  v = get_value (c, kf, g, "port", NULL);
  if (v && check_uint (c, g, "port", v, 1, 65535, &port))
    cfg->xmpp_port = (guint16) port;
  g_clear_pointer (&v, g_free);

  v = get_value (c, kf, g, "max-stanza-size", NULL);
  if (v)
    check_uint (c, g, "max-stanza-size", v, STOX_STANZA_SIZE_MIN, STOX_CONFIG_STANZA_SIZE_MAX,
                &cfg->xmpp_max_stanza_size);
  g_clear_pointer (&v, g_free);

  /* Never echo the secret in a message. */
  v = get_value (c, kf, g, "secret", &has_secret);
  file = get_value (c, kf, g, "secret-file", &has_file);
  if (has_secret && has_file)
    key_problem (c, g, "secret", "set either secret or secret-file, not both");
  else if (!has_secret && !has_file)
    key_problem (c, g, "secret", "missing: set secret-file (or secret)");
  else if (v)
    {
      cfg->xmpp_secret = g_steal_pointer (&v);
      cfg->xmpp_secret_inline = TRUE;
    }
  else if (file)
    {
      g_autofree char *path = resolve_path (c, file);
      cfg->xmpp_secret = read_secret_file (c, path);
    }
  if (v)
    explicit_bzero (v, strlen (v));
}

static void
read_gateway (Checker *c, GKeyFile *kf, StoxConfig *cfg)
{
  const char *g = "gateway";
  g_autofree char *v = NULL;
  const char *why, *own;
  gboolean present;

  v = get_value (c, kf, g, "rules", NULL);
  if (v)
    {
      g_free (cfg->rules_dir);
      cfg->rules_dir = resolve_path (c, v);
    }
  g_clear_pointer (&v, g_free);

  v = get_value (c, kf, g, "bounce-wait", NULL);
  if (v)
    check_uint (c, g, "bounce-wait", v, 0, STOX_CONFIG_BOUNCE_WAIT_MAX, &cfg->bounce_wait_ms);
  g_clear_pointer (&v, g_free);

  static const struct
  {
    const char *key;
    gsize       offset;
  } limits[] = {
    { "max-subscriptions-per-source", G_STRUCT_OFFSET (StoxConfig, max_subscriptions_per_source) },
    { "max-subscriptions-per-watcher", G_STRUCT_OFFSET (StoxConfig, max_subscriptions_per_watcher) },
    { "max-subscriptions-per-user", G_STRUCT_OFFSET (StoxConfig, max_subscriptions_per_user) },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (limits); i++)
    {
      v = get_value (c, kf, g, limits[i].key, NULL);
      if (v)
        check_uint (c, g, limits[i].key, v, 1, STOX_CONFIG_SUBSCRIPTIONS_MAX,
                    G_STRUCT_MEMBER_P (cfg, limits[i].offset));
      g_clear_pointer (&v, g_free);
    }

  v = get_value (c, kf, g, "xmpp-domains", &present);
  if (!present)
    key_problem (c, g, "xmpp-domains",
                 "missing: name the XMPP domains to forward to ('*' for any)");
  if (v)
    {
      g_auto (GStrv) items = g_strsplit (v, ",", -1);
      g_autoptr (GPtrArray) domains = g_ptr_array_new_with_free_func (g_free);
      gboolean ok = TRUE, any = FALSE;

      for (guint i = 0; items[i]; i++)
        {
          g_autofree char *item = stox_config_value_strip (items[i], strlen (items[i]));
          char *domain;

          if (*item == '\0')
            {
              key_problem (c, g, "xmpp-domains", "empty entry in '%s'", v);
              ok = FALSE;
              continue;
            }
          if (g_str_equal (item, "*"))
            {
              any = TRUE;
              continue;
            }
          domain = stox_config_value_domain (item, &why);
          if (!domain)
            {
              key_problem (c, g, "xmpp-domains", "not a domain (%s): '%s'%s", why, item,
                           hint (item));
              ok = FALSE;
              continue;
            }
          /* A request routed into the gateway's own domains would come back
           * to it, SIP -> XMPP -> SIP, with Max-Forwards starting again at
           * the XMPP hop. */
          own = g_strcmp0 (domain, cfg->sip_domain) == 0 ? "the SIP domain ([sip] domain)"
                : g_strcmp0 (domain, cfg->xmpp_component) == 0
                ? "the component's domain ([xmpp] component)" : NULL;
          if (own != NULL)
            {
              key_problem (c, g, "xmpp-domains", "'%s' is %s: the gateway never forwards into "
                           "its own domains", domain, own);
              g_free (domain);
              ok = FALSE;
              continue;
            }
          g_ptr_array_add (domains, domain);
        }
      if (any && domains->len > 0)
        {
          key_problem (c, g, "xmpp-domains", "'*' (any domain) must stand alone: '%s'", v);
          ok = FALSE;
        }
      if (ok && !any)
        {
          g_ptr_array_add (domains, NULL);
          cfg->xmpp_domains = (char **) g_ptr_array_free (g_steal_pointer (&domains), FALSE);
        }
    }
  g_clear_pointer (&v, g_free);

  v = get_value (c, kf, g, "state-dir", NULL);
  if (v)
    {
      g_free (cfg->state_dir);
      cfg->state_dir = resolve_path (c, v);
    }
  g_clear_pointer (&v, g_free);

  /* What a stop does to the subscriptions (stoxd(8), SIGNALS). */
  v = get_value (c, kf, g, "on-stop", NULL);
  if (v)
    {
      if (g_str_equal (v, "keep-subscriptions"))
        cfg->end_subscriptions_on_stop = FALSE;
      else if (g_str_equal (v, "end-subscriptions"))
        cfg->end_subscriptions_on_stop = TRUE;
      else
        key_problem (c, g, "on-stop", "'%s' is neither keep-subscriptions nor "
                     "end-subscriptions%s", v, hint (v));
    }
}

/* Off unless written; any numeric address may be written (exposure.c
 * warns about one that is not loopback), never a host name. */
static void
read_metrics (Checker *c, GKeyFile *kf, StoxConfig *cfg)
{
  g_autofree char *v = get_value (c, kf, "metrics", "listen", NULL);
  const char *why;

  if (v == NULL)
    return;
  cfg->metrics_address = stox_config_value_address_port (v, &cfg->metrics_port, &why);
  if (cfg->metrics_address == NULL)
    key_problem (c, "metrics", "listen", "%s: '%s'%s", why, v, hint (v));
  else
    cfg->metrics_listen = g_steal_pointer (&v);
}

/* Reads `path` and records every problem in `c`; the returned config is
 * complete only when there were none. */
static StoxConfig *
config_read (Checker *c)
{
  g_autoptr (StoxConfig) cfg = stox_config_new_defaults ();
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *clean = NULL;
  g_autofree char *why = NULL;
  g_autofree char *dir = NULL;
  gsize len;

  cfg->path = g_strdup (c->path);
  dir = g_path_get_dirname (c->path);
  c->dir = g_canonicalize_filename (dir, NULL);

  if (!stox_textfile_read_mode (c->path, STOX_CONFIG_FILE_MAX, &text, &len, &cfg->file_mode,
                                &why))
    {
      add_problem (c, STOX_CONFIG_ERROR_IO, "%s: cannot read: %s", c->path, why);
      return g_steal_pointer (&cfg);
    }

  clean = scan_lines (c, text, len);
  explicit_bzero (text, len);
  if (!g_key_file_load_from_data (kf, clean, (gsize) -1, G_KEY_FILE_KEEP_TRANSLATIONS, &error))
    {
      /* The scan should have caught it: no line number to give. */
      add_problem (c, STOX_CONFIG_ERROR_PARSE, "%s: %s", c->path, error->message);
      explicit_bzero (clean, strlen (clean));
      return g_steal_pointer (&cfg);
    }
  explicit_bzero (clean, strlen (clean));

  check_schema (c, kf);
  read_sip (c, kf, cfg);
  read_xmpp (c, kf, cfg);
  read_gateway (c, kf, cfg);
  read_metrics (c, kf, cfg);
  return g_steal_pointer (&cfg);
}

static void
checker_init (Checker *c, const char *path)
{
  c->path = path;
  c->dir = NULL;
  c->problems = g_ptr_array_new_with_free_func (g_free);
  c->first_code = STOX_CONFIG_ERROR_INVALID;
}

/* ------------------------------------------------------------------ */
/* Public API                                                          */

/* $STATE_DIRECTORY when systemd sets it (StateDirectory=; the first of a
 * colon-separated list), else /var/lib/stox whatever the install prefix:
 * state belongs in /var/lib (FHS 3.0 §5.8), and a prefix such as /usr
 * would put it on a read-only file system. */
static char *
default_state_dir (void)
{
  const char *env = g_getenv ("STATE_DIRECTORY");

  if (env != NULL && env[0] == '/')
    return g_strndup (env, strcspn (env, ":"));
  return g_strdup (DEFAULT_STATE_DIR);
}

StoxConfig *
stox_config_new_defaults (void)
{
  StoxConfig *cfg = g_new0 (StoxConfig, 1);

  cfg->sip_listen = g_strdup (DEFAULT_LISTEN);
  cfg->sip_trusted_peers = g_strdupv ((char **) default_trusted_peers);
  cfg->sip_max_message_size = DEFAULT_MSG_SIZE;
  cfg->sip_tcp_max_connections = STOX_SIP_TCP_MAX_CONNECTIONS;
  cfg->sip_tcp_max_per_source = STOX_SIP_TCP_MAX_PER_SOURCE;
  cfg->sip_tcp_idle_timeout_s = STOX_SIP_TCP_IDLE_TIMEOUT_S;
  cfg->sip_tcp_message_timeout_s = STOX_SIP_TCP_MESSAGE_TIMEOUT_S;
  cfg->sip_max_in_flight = DEFAULT_IN_FLIGHT;
  cfg->xmpp_server = g_strdup (DEFAULT_SERVER);
  cfg->xmpp_port = DEFAULT_PORT;
  cfg->xmpp_max_stanza_size = STOX_STANZA_SIZE_DEFAULT;
  cfg->rules_dir = g_strdup (DEFAULT_RULES_DIR);
  cfg->bounce_wait_ms = DEFAULT_BOUNCE;
  cfg->max_subscriptions_per_source = STOX_GATEWAY_MAX_PER_SOURCE_DEFAULT;
  cfg->max_subscriptions_per_watcher = STOX_GATEWAY_MAX_PER_WATCHER_DEFAULT;
  cfg->max_subscriptions_per_user = STOX_GATEWAY_MAX_PER_USER_DEFAULT;
  cfg->state_dir = default_state_dir ();
  return cfg;
}

void
stox_config_free (StoxConfig *config)
{
  if (!config)
    return;
  g_free (config->path);
  g_free (config->sip_domain);
  g_free (config->sip_listen);
  g_free (config->sip_outbound_proxy);
  g_strfreev (config->sip_trusted_peers);
  g_free (config->sip_tls_certificate);
  g_free (config->sip_tls_key);
  g_free (config->sip_tls_ca_file);
  g_free (config->xmpp_component);
  g_free (config->xmpp_server);
  if (config->xmpp_secret)
    explicit_bzero (config->xmpp_secret, strlen (config->xmpp_secret));
  g_free (config->xmpp_secret);
  g_free (config->rules_dir);
  g_strfreev (config->xmpp_domains);
  g_free (config->state_dir);
  g_free (config->metrics_listen);
  g_free (config->metrics_address);
  g_free (config);
}

StoxConfig *
stox_config_load (const char *path, GError **error)
{
  g_autoptr (StoxConfig) cfg = NULL;
  Checker c;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  checker_init (&c, path);
  cfg = config_read (&c);
  g_free (c.dir);
  if (c.problems->len > 0)
    {
      g_set_error_literal (error, STOX_CONFIG_ERROR, (gint) c.first_code,
                           g_ptr_array_index (c.problems, 0));
      g_ptr_array_unref (c.problems);
      return NULL;
    }
  g_ptr_array_unref (c.problems);
  return g_steal_pointer (&cfg);
}

GPtrArray *
stox_config_check (const char *path)
{
  g_autoptr (StoxConfig) cfg = NULL;
  Checker c;

  g_return_val_if_fail (path != NULL, NULL);

  checker_init (&c, path);
  cfg = config_read (&c);
  g_free (c.dir);
  return c.problems;
}
