/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stox.conf and the rule directory (stox.conf(5)): every key valid and
 * invalid, the defaults, the exact diagnostics ("FILE: [group] key: why",
 * "FILE:LINE: why"), --check-config's "all problems at once", and the
 * rule-directory loader.  Each case writes its files into a fresh
 * g_dir_make_tmp() directory that is removed afterwards.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "core/rules.h"
#include "core/netmask.h"
#include "daemon/config.h"
#include "daemon/exposure.h"
#include "daemon/rules-dir.h"
#include "support/testutil.h"

/* ------------------------------------------------------------------ */
/* Fixture helpers                                                     */

typedef struct
{
  char *dir;
} Tmp;

static void
tmp_setup (Tmp *t, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  (void) data;
  t->dir = g_dir_make_tmp ("stox-test-config-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
tmp_teardown (Tmp *t, gconstpointer data)
{
  (void) data;
  stox_test_rm_rf (t->dir);
  g_free (t->dir);
}

/* "@D" in `text` becomes the temporary directory, "@F" the config path. */
static char *
expand (const char *text, const char *dir, const char *file)
{
  GString *s = g_string_new (NULL);

  for (const char *p = text; *p; p++)
    {
      if (p[0] == '@' && p[1] == 'D')
        g_string_append (s, dir), p++;
      else if (p[0] == '@' && p[1] == 'F')
        g_string_append (s, file), p++;
      else
        g_string_append_c (s, *p);
    }
  return g_string_free (s, FALSE);
}

static char *
write_file (const char *dir, const char *name, const char *text, gssize len)
{
  g_autoptr (GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_file_set_contents (path, text, len, &error);
  g_assert_no_error (error);
  return path;
}

/* Writes stox.conf (after expansion) plus the side files most cases use.
 * [gateway] xmpp-domains is required: a text that does not mention it at
 * all (not even in a comment) gets "xmpp-domains = example.org" at its end,
 * so that each case is about its own key. */
static char *
write_config (const char *dir, const char *text)
{
  g_autofree char *conf = g_build_filename (dir, "stox.conf", NULL);
  g_autofree char *full = strstr (text, "xmpp-domains") != NULL
                          ? g_strdup (text)
                          : g_strconcat (text, "\n[gateway]\nxmpp-domains = example.org\n", NULL);
  g_autofree char *body = expand (full, dir, conf);
  g_autofree char *cert = write_file (dir, "cert.pem", "-----BEGIN CERTIFICATE-----\n", -1);
  g_autofree char *key = write_file (dir, "key.pem", "-----BEGIN PRIVATE KEY-----\n", -1);
  g_autofree char *s1 = write_file (dir, "secret-nl", "from-file\n", -1);
  g_autofree char *s2 = write_file (dir, "secret-bare", "bare secret", -1);
  g_autofree char *s3 = write_file (dir, "secret-crlf", "crlf\r\n", -1);
  g_autofree char *s4 = write_file (dir, "secret-two", "one\ntwo\n", -1);
  g_autofree char *s5 = write_file (dir, "secret-empty", "\n", -1);
  g_autofree char *s6 = write_file (dir, "secret-nul", "a\0b", 3);
  g_autofree char *s7 = write_file (dir, "secret-public", "everyone sees me\n", -1);
  g_autofree char *s8 = write_file (dir, "secret-world-writable", "anyone changes me\n", -1);
  char *path = write_file (dir, "stox.conf", body, -1);
  const char *private[] = { s1, s2, s3, s4, s5, s6, path };

  /* Files that hold a secret are private, as stox.conf(5) asks; the
   * two that are not are cases of their own. */
  for (gsize i = 0; i < G_N_ELEMENTS (private); i++)
    g_assert_cmpint (g_chmod (private[i], 0600), ==, 0);
  g_assert_cmpint (g_chmod (s7, 0644), ==, 0);
  g_assert_cmpint (g_chmod (s8, 0622), ==, 0);
  return path;
}

/* A StoxConfig field, as text, for table comparisons. */
static char *
field (const StoxConfig *c, const char *name)
{
#define STR(f) if (g_str_equal (name, #f)) return g_strdup (c->f ? c->f : "(null)")
#define NUM(f) if (g_str_equal (name, #f)) return g_strdup_printf ("%u", (guint) c->f)
#define STRV(f) if (g_str_equal (name, #f)) return c->f ? g_strjoinv (",", c->f) : g_strdup ("(null)")
  STR (path);
  STR (sip_domain);
  STR (sip_listen);
  STR (sip_outbound_proxy);
  STRV (sip_trusted_peers);
  STR (sip_tls_certificate);
  STR (sip_tls_key);
  STR (sip_tls_ca_file);
  NUM (sip_max_message_size);
  NUM (sip_trust_from);
  NUM (sip_tcp_max_connections);
  NUM (sip_tcp_max_per_source);
  NUM (sip_tcp_idle_timeout_s);
  NUM (sip_tcp_message_timeout_s);
  NUM (sip_max_in_flight);
  STR (xmpp_component);
  STR (xmpp_server);
  NUM (xmpp_port);
  NUM (xmpp_max_stanza_size);
  STR (xmpp_secret);
  STR (rules_dir);
  NUM (bounce_wait_ms);
  STRV (xmpp_domains);
  STR (state_dir);
  STR (metrics_listen);
  STR (metrics_address);
  NUM (metrics_port);
  NUM (max_subscriptions_per_source);
  NUM (max_subscriptions_per_watcher);
  NUM (max_subscriptions_per_user);
  NUM (end_subscriptions_on_stop);
#undef STR
#undef NUM
#undef STRV
  g_error ("no field %s", name);
  return NULL;
}

#define SIP "[sip]\ndomain = sip.example.com\n"
#define XMPP "[xmpp]\nsecret = s3cret\n"
#define BASE SIP XMPP

/* ------------------------------------------------------------------ */
/* Valid files: what the struct holds                                  */

typedef struct
{
  const char *name;
  const char *text;
  const char *field;
  const char *expect; /* after @D/@F expansion */
} GoodRow;

static const GoodRow good_rows[] = {
  /* defaults */
  { "default-listen", BASE, "sip_listen", "sip:127.0.0.1:5060" },
  { "default-proxy", BASE, "sip_outbound_proxy", "(null)" },
  { "default-peers", BASE, "sip_trusted_peers", "127.0.0.1/32,::1/128" },
  { "default-cert", BASE, "sip_tls_certificate", "(null)" },
  { "default-size", BASE, "sip_max_message_size", "1300" },
  { "default-ca", BASE, "sip_tls_ca_file", "(null)" },
  { "default-tcp-max", BASE, "sip_tcp_max_connections", "512" },
  { "default-tcp-per-source", BASE, "sip_tcp_max_per_source", "32" },
  { "default-tcp-idle", BASE, "sip_tcp_idle_timeout_s", "60" },
  { "default-tcp-message", BASE, "sip_tcp_message_timeout_s", "10" },
  { "default-in-flight", BASE, "sip_max_in_flight", "1000" },
  { "default-component", BASE, "xmpp_component", "sip.example.com" },
  { "default-server", BASE, "xmpp_server", "127.0.0.1" },
  { "default-port", BASE, "xmpp_port", "5347" },
  { "default-rules", BASE, "rules_dir", SYSCONFDIR "/stox/rules.d" },
  { "default-bounce", BASE, "bounce_wait_ms", "250" },
  { "default-state", BASE, "state_dir", "/var/lib/stox" },
  { "default-metrics", BASE, "metrics_listen", "(null)" },   /* off */
  { "default-metrics-address", BASE, "metrics_address", "(null)" },

  /* [metrics] listen */
  { "metrics-v4", BASE "[metrics]\nlisten = 127.0.0.1:9464\n", "metrics_address", "127.0.0.1" },
  { "metrics-port", BASE "[metrics]\nlisten = 127.0.0.1:9464\n", "metrics_port", "9464" },
  { "metrics-as-written", BASE "[metrics]\nlisten = localhost:9464\n", "metrics_listen",
    "localhost:9464" },
  { "metrics-localhost", BASE "[metrics]\nlisten = LocalHost:9464\n", "metrics_address",
    "127.0.0.1" },
  { "metrics-v6", BASE "[metrics]\nlisten = [::1]:65535\n", "metrics_address", "::1" },
  { "metrics-v6-port", BASE "[metrics]\nlisten = [::1]:65535\n", "metrics_port", "65535" },
  { "metrics-any", BASE "[metrics]\nlisten = 0.0.0.0:9464\n", "metrics_address", "0.0.0.0" },
  { "path", BASE, "path", "@F" },

  /* [sip] domain */
  { "domain", BASE, "sip_domain", "sip.example.com" },
  { "domain-lowercased", "[sip]\ndomain = SIP.Example.COM\n" XMPP, "sip_domain", "sip.example.com" },
  { "domain-component-follows", "[sip]\ndomain = SIP.Example.COM\n" XMPP, "xmpp_component",
    "sip.example.com" },
  { "domain-blanks-trimmed", "[sip]\ndomain = \t sip.example.com \t \n" XMPP, "sip_domain",
    "sip.example.com" },
  { "domain-ipv4", "[sip]\ndomain = 192.0.2.1\n" XMPP, "sip_domain", "192.0.2.1" },

  /* [sip] listen */
  { "listen", SIP "listen = sip:[::]:5070;transport=udp\n" XMPP, "sip_listen",
    "sip:[::]:5070;transport=udp" },
  { "listen-sips", SIP "listen = sips:*:5061\ntls-certificate = @D/cert.pem\n"
    "tls-key = @D/key.pem\n" XMPP, "sip_listen", "sips:*:5061" },
  { "listen-tls-transport", SIP "listen = sip:*:5061;transport=TLS\n"
    "tls-certificate = @D/cert.pem\ntls-key = @D/key.pem\n" XMPP, "sip_tls_key", "@D/key.pem" },
  { "listen-scheme-case", SIP "listen = SIP:*:5060\n" XMPP, "sip_listen", "SIP:*:5060" },
  { "tls-cert-relative", SIP "listen = sips:*\ntls-certificate = cert.pem\n"
    "tls-key = ./key.pem\n" XMPP, "sip_tls_certificate", "@D/cert.pem" },

  /* [sip] outbound-proxy */
  { "proxy", SIP "outbound-proxy = sip:127.0.0.1:5070;lr\n" XMPP, "sip_outbound_proxy",
    "sip:127.0.0.1:5070;lr" },
  { "proxy-sips", SIP "outbound-proxy = sips:proxy.example.com\n" XMPP, "sip_outbound_proxy",
    "sips:proxy.example.com" },

  /* [sip] trusted-peers: normalised to ADDR/PREFIX, host bits cleared */
  { "peers-spec", SIP "trusted-peers = 127.0.0.1/32, ::1\n" XMPP, "sip_trusted_peers",
    "127.0.0.1/32,::1/128" },
  { "peers-v4", SIP "trusted-peers = 192.0.2.7\n" XMPP, "sip_trusted_peers", "192.0.2.7/32" },
  { "peers-v4-cidr-masked", SIP "trusted-peers = 10.1.2.3/8\n" XMPP, "sip_trusted_peers",
    "10.0.0.0/8" },
  { "peers-v4-any", SIP "trusted-peers = 0.0.0.0/0\n" XMPP, "sip_trusted_peers", "0.0.0.0/0" },
  { "peers-v4-odd-prefix", SIP "trusted-peers = 192.0.2.255/25\n" XMPP, "sip_trusted_peers",
    "192.0.2.128/25" },
  { "peers-v6", SIP "trusted-peers = 2001:DB8:0:0::1\n" XMPP, "sip_trusted_peers",
    "2001:db8::1/128" },
  { "peers-v6-cidr", SIP "trusted-peers = 2001:db8:abcd::1/33\n" XMPP, "sip_trusted_peers",
    "2001:db8:8000::/33" },
  { "peers-v6-128", SIP "trusted-peers = ::1/128\n" XMPP, "sip_trusted_peers", "::1/128" },
  { "peers-mapped", SIP "trusted-peers = ::ffff:192.0.2.1\n" XMPP, "sip_trusted_peers",
    "::ffff:192.0.2.1/128" },
  { "peers-mapped-cidr", SIP "trusted-peers = ::ffff:10.1.2.3/120\n" XMPP, "sip_trusted_peers",
    "::ffff:10.1.2.0/120" },
  { "peers-any", SIP "trusted-peers = *\n" XMPP, "sip_trusted_peers", "(null)" },
  { "peers-any-blanks", SIP "trusted-peers =  * \n" XMPP, "sip_trusted_peers", "(null)" },
  { "peers-list", SIP "trusted-peers =10.0.0.0/8,\t192.168.0.0/16 ,fe80::/10\n" XMPP,
    "sip_trusted_peers", "10.0.0.0/8,192.168.0.0/16,fe80::/10" },

  /* [sip] trust-from: true or false, default false */
  { "default-trust-from", BASE, "sip_trust_from", "0" },
  { "trust-from-true", SIP "trust-from = true\n" XMPP, "sip_trust_from", "1" },
  { "trust-from-false", SIP "trust-from = FALSE\n" XMPP, "sip_trust_from", "0" },

  /* [sip] max-message-size: 200..65535 */
  { "size-min", SIP "max-message-size = 200\n" XMPP, "sip_max_message_size", "200" },
  { "size-max", SIP "max-message-size = 65535\n" XMPP, "sip_max_message_size", "65535" },
  { "size-leading-zero", SIP "max-message-size = 01300\n" XMPP, "sip_max_message_size",
    "1300" },

  /* [sip] tls-ca-file, tcp-* */
  { "ca-file-relative", SIP "tls-ca-file = cert.pem\n" XMPP, "sip_tls_ca_file", "@D/cert.pem" },
  { "tcp-max", SIP "tcp-max-connections = 65535\n" XMPP, "sip_tcp_max_connections", "65535" },
  { "tcp-per-source", SIP "tcp-max-connections-per-source = 1\n" XMPP,
    "sip_tcp_max_per_source", "1" },
  { "tcp-idle", SIP "tcp-idle-timeout = 86400\n" XMPP, "sip_tcp_idle_timeout_s", "86400" },
  { "tcp-message", SIP "tcp-message-timeout = 1\n" XMPP, "sip_tcp_message_timeout_s", "1" },

  /* [sip] max-requests-in-flight: 10..1000000 */
  { "in-flight-min", SIP "max-requests-in-flight = 10\n" XMPP, "sip_max_in_flight", "10" },
  { "in-flight-max", SIP "max-requests-in-flight = 1000000\n" XMPP, "sip_max_in_flight",
    "1000000" },

  /* [xmpp] */
  { "component", SIP "[xmpp]\ncomponent = Gw.Example.COM\nsecret = x\n", "xmpp_component",
    "gw.example.com" },
  { "server-name", SIP "[xmpp]\nserver = XMPP.example.org\nsecret = x\n", "xmpp_server",
    "xmpp.example.org" },
  { "server-v6", SIP "[xmpp]\nserver = ::1\nsecret = x\n", "xmpp_server", "::1" },
  { "server-v6-brackets", SIP "[xmpp]\nserver = [::1]\nsecret = x\n", "xmpp_server", "::1" },
  { "port-min", SIP "[xmpp]\nport = 1\nsecret = x\n", "xmpp_port", "1" },
  { "port-max", SIP "[xmpp]\nport = 65535\nsecret = x\n", "xmpp_port", "65535" },

  /* The secret: a value runs to the end of its line, backslashes are literal. */
  { "secret-semicolon", SIP "[xmpp]\nsecret = abc ; x\n", "xmpp_secret", "abc ; x" },
  { "secret-hash", SIP "[xmpp]\nsecret = abc # x\n", "xmpp_secret", "abc # x" },
  { "secret-backslashes", SIP "[xmpp]\nsecret = a\\b\\s\\n\\\\c\\\n", "xmpp_secret",
    "a\\b\\s\\n\\\\c\\" },
  { "secret-trimmed", SIP "[xmpp]\nsecret =\t  in side  \t\n", "xmpp_secret", "in side" },
  { "secret-equals", SIP "[xmpp]\nsecret = a=b==\n", "xmpp_secret", "a=b==" },
  { "secret-utf8", SIP "[xmpp]\nsecret = pässwörd\n", "xmpp_secret", "pässwörd" },
  { "secret-file-newline", SIP "[xmpp]\nsecret-file = @D/secret-nl\n", "xmpp_secret",
    "from-file" },
  { "secret-file-no-newline", SIP "[xmpp]\nsecret-file = @D/secret-bare\n", "xmpp_secret",
    "bare secret" },
  { "secret-file-crlf", SIP "[xmpp]\nsecret-file = @D/secret-crlf\n", "xmpp_secret", "crlf" },
  { "secret-file-relative", SIP "[xmpp]\nsecret-file = secret-nl\n", "xmpp_secret",
    "from-file" },

  /* [gateway] */
  { "rules", BASE "[gateway]\nrules = /srv/stox/rules\n", "rules_dir", "/srv/stox/rules" },
  { "rules-relative", BASE "[gateway]\nrules = rules.d\n", "rules_dir", "@D/rules.d" },
  { "bounce-zero", BASE "[gateway]\nbounce-wait = 0\n", "bounce_wait_ms", "0" },
  { "bounce-max", BASE "[gateway]\nbounce-wait = 400\n", "bounce_wait_ms", "400" },

  /* [xmpp] max-stanza-size: 10000..16 MiB, default 256 KiB */
  { "default-stanza-size", BASE, "xmpp_max_stanza_size", "262144" },
  { "stanza-size-min", SIP "[xmpp]\nsecret = s\nmax-stanza-size = 10000\n",
    "xmpp_max_stanza_size", "10000" },
  { "stanza-size-max", SIP "[xmpp]\nsecret = s\nmax-stanza-size = 16777216\n",
    "xmpp_max_stanza_size", "16777216" },

  /* [gateway] max-subscriptions-per-*: 1..200000 */
  { "default-per-source", BASE, "max_subscriptions_per_source", "50000" },
  { "default-per-watcher", BASE, "max_subscriptions_per_watcher", "500" },
  { "default-per-user", BASE, "max_subscriptions_per_user", "2000" },
  { "per-source", BASE "[gateway]\nmax-subscriptions-per-source = 1\n",
    "max_subscriptions_per_source", "1" },
  { "per-watcher", BASE "[gateway]\nmax-subscriptions-per-watcher = 200000\n",
    "max_subscriptions_per_watcher", "200000" },
  { "per-user", BASE "[gateway]\nmax-subscriptions-per-user = 50\n",
    "max_subscriptions_per_user", "50" },
  { "domains-any", BASE "[gateway]\nxmpp-domains = *\n", "xmpp_domains", "(null)" },
  { "domains-one", BASE "[gateway]\nxmpp-domains = example.org\n", "xmpp_domains",
    "example.org" },
  { "domains-component-elsewhere", SIP "[xmpp]\ncomponent = gw.example.com\nsecret = x\n"
    "[gateway]\nxmpp-domains = example.org\n", "xmpp_domains", "example.org" },
  { "domains-list", BASE "[gateway]\nxmpp-domains = Example.ORG, b.example ,c.example\n",
    "xmpp_domains", "example.org,b.example,c.example" },
  { "state-dir", BASE "[gateway]\nstate-dir = /var/lib/stox-2\n", "state_dir",
    "/var/lib/stox-2" },
  { "on-stop-default", BASE, "end_subscriptions_on_stop", "0" },
  { "on-stop-keep", BASE "[gateway]\non-stop = keep-subscriptions\n",
    "end_subscriptions_on_stop", "0" },
  { "on-stop-end", BASE "[gateway]\non-stop = end-subscriptions\n",
    "end_subscriptions_on_stop", "1" },

  /* Syntax that GKeyFile and the scan both accept. */
  { "comments-blank-lines", "# top\n\n[sip]\n  # indented comment\n\ndomain=sip.example.com\n"
    "\n" XMPP "#last", "sip_domain", "sip.example.com" },
  { "crlf", "[sip]\r\ndomain = sip.example.com\r\n[xmpp]\r\nsecret = crlf\r\n", "xmpp_secret",
    "crlf" },
  { "indented", "  [sip]  \n\tdomain\t=\tsip.example.com\n" XMPP, "sip_domain",
    "sip.example.com" },
  { "group-repeated", SIP XMPP "[sip]\nlisten = sip:*:5080\n", "sip_listen", "sip:*:5080" },
  { "byte-order-mark", "\xef\xbb\xbf" BASE, "sip_domain", "sip.example.com" },
  { "no-final-newline", SIP "[gateway]\nxmpp-domains = example.org\n[xmpp]\nsecret = end",
    "xmpp_secret", "end" },
};

static void
test_good (Tmp *t, gconstpointer data)
{
  const GoodRow *row = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxConfig) cfg = NULL;
  g_autoptr (GPtrArray) problems = NULL;
  g_autofree char *conf = write_config (t->dir, row->text);
  g_autofree char *expect = expand (row->expect, t->dir, conf);
  g_autofree char *got = NULL;

  cfg = stox_config_load (conf, &error);
  g_assert_no_error (error);
  g_assert_nonnull (cfg);
  got = field (cfg, row->field);
  g_assert_cmpstr (got, ==, expect);

  problems = stox_config_check (conf);
  g_assert_cmpuint (problems->len, ==, 0);

  /* The gateway reads trusted-peers with the core's parser: whatever the
   * configuration accepts, a start must accept too. */
  if (cfg->sip_trusted_peers != NULL)
    {
      g_autoptr (StoxNetmaskList) peers =
        stox_netmask_list_new ((const char *const *) cfg->sip_trusted_peers, &error);

      g_assert_no_error (error);
      g_assert_nonnull (peers);
    }
}

/* ------------------------------------------------------------------ */
/* Invalid files: the exact first diagnostic                           */

typedef struct
{
  const char *name;
  const char *text;
  StoxConfigError code;
  const char *expect; /* the whole message, after @D/@F expansion */
} BadRow;

#define INVALID STOX_CONFIG_ERROR_INVALID
#define PARSE STOX_CONFIG_ERROR_PARSE

static const BadRow bad_rows[] = {
  /* the file itself */
  { "not-key-value", SIP "garbage\n" XMPP, PARSE, "@F:3: line is not 'key = value'" },
  { "spec-example-line", "[sip]\ndomain = a.example\n\n\n\n\n\n\n\n\n\nno equals sign here\n",
    PARSE, "@F:12: line is not 'key = value'" },
  { "empty-key", SIP "= value\n" XMPP, PARSE, "@F:3: line is not 'key = value'" },
  { "bad-group", "[sip\ndomain = x\n", PARSE, "@F:1: line is not a [group] header" },
  { "group-junk", "[sip] domain = x\n", PARSE, "@F:1: line is not a [group] header" },
  { "group-empty", "[]\n" BASE, PARSE, "@F:1: line is not a [group] header" },
  { "key-before-group", "domain = x\n" BASE, PARSE,
    "@F:1: key 'domain' before any [group] header" },
  { "locale-key", SIP "domain[fr] = x\n" XMPP, PARSE, "@F:3: bad key name 'domain[fr]'" },
  { "key-with-space", SIP "max message size = 3\n" XMPP, PARSE,
    "@F:3: bad key name 'max message size'" },
  { "duplicate-key", SIP "listen = sip:*:1\ndomain = other.example\n" XMPP, PARSE,
    "@F:4: [sip] domain: set again (first set on line 2)" },
  { "duplicate-key-across-groups", BASE "[sip]\ndomain = other.example\n", PARSE,
    "@F:6: [sip] domain: set again (first set on line 2)" },
  { "duplicate-secret", SIP "[xmpp]\nsecret = a\nsecret = b\n", PARSE,
    "@F:5: [xmpp] secret: set again (first set on line 4)" },
  { "control-char", SIP "[xmpp]\nsecret = a\x01" "b\n", PARSE,
    "@F:4: contains a control character" },
  { "bad-utf8", SIP "[xmpp]\nsecret = \xff\xfe\n", PARSE, "@F:4: not valid UTF-8" },

  /* schema */
  { "unknown-group", BASE "[foo]\nbar = 1\n", INVALID, "@F: [foo]: unknown group" },
  { "unknown-key", SIP "bogus = 1\n" XMPP, INVALID, "@F: [sip] bogus: unknown key" },
  { "key-in-wrong-group", SIP "[xmpp]\nsecret = x\nbounce-wait = 1\n", INVALID,
    "@F: [xmpp] bounce-wait: unknown key" },
  { "on-stop-bogus", BASE "[gateway]\non-stop = retire\n", INVALID,
    "@F: [gateway] on-stop: 'retire' is neither keep-subscriptions nor end-subscriptions" },
  { "group-case", BASE "[SIP]\nlisten = sip:*\n", INVALID, "@F: [SIP]: unknown group" },

  /* [sip] domain */
  { "missing-domain", "[sip]\nlisten = sip:*:5060\n" XMPP, INVALID,
    "@F: [sip] domain: missing: set the SIP domain this gateway serves" },
  { "missing-sip-group", XMPP, INVALID,
    "@F: [sip] domain: missing: set the SIP domain this gateway serves" },
  { "empty-file", "", INVALID,
    "@F: [sip] domain: missing: set the SIP domain this gateway serves" },
  { "empty-domain", "[sip]\ndomain =   \n" XMPP, INVALID, "@F: [sip] domain: empty value" },
  { "domain-at", "[sip]\ndomain = user@example.com\n" XMPP, INVALID,
    "@F: [sip] domain: not a domain (contains '@'): 'user@example.com'" },
  { "domain-slash", "[sip]\ndomain = example.com/x\n" XMPP, INVALID,
    "@F: [sip] domain: not a domain (contains '/'): 'example.com/x'" },
  { "domain-blank", "[sip]\ndomain = sip example\n" XMPP, INVALID,
    "@F: [sip] domain: not a domain (contains blanks): 'sip example'" },
  { "domain-port", "[sip]\ndomain = example.com:5060\n" XMPP, INVALID,
    "@F: [sip] domain: not a domain (contains ':' (no scheme or port here)): 'example.com:5060'" },
  { "domain-trailing-comment", "[sip]\ndomain = sip.example.com ; required\n" XMPP, INVALID,
    "@F: [sip] domain: not a domain (contains blanks): 'sip.example.com ; required'"
    " (a value runs to the end of its line; put comments on a line of their own)" },
  { "domain-empty-label", "[sip]\ndomain = a..b\n" XMPP, INVALID,
    "@F: [sip] domain: not a domain (has an empty label): 'a..b'" },

  /* [sip] listen, TLS */
  { "listen-http", SIP "listen = http://x\n" XMPP, INVALID,
    "@F: [sip] listen: not a sip: or sips: URI: 'http://x'" },
  { "listen-bare", SIP "listen = *:5060\n" XMPP, INVALID,
    "@F: [sip] listen: not a sip: or sips: URI: '*:5060'" },
  { "listen-no-host", SIP "listen = sip:\n" XMPP, INVALID,
    "@F: [sip] listen: no host after the scheme: 'sip:'" },
  { "listen-empty", SIP "listen =\n" XMPP, INVALID, "@F: [sip] listen: empty value" },
  { "sips-no-cert", SIP "listen = sips:*:5061\ntls-key = @D/key.pem\n" XMPP, INVALID,
    "@F: [sip] tls-certificate: missing: [sip] listen uses TLS" },
  { "sips-no-key", SIP "listen = sips:*:5061\ntls-certificate = @D/cert.pem\n" XMPP, INVALID,
    "@F: [sip] tls-key: missing: [sip] listen uses TLS" },
  { "transport-tls-no-cert", SIP "listen = sip:*:5061;transport=tls\n" XMPP, INVALID,
    "@F: [sip] tls-certificate: missing: [sip] listen uses TLS" },
  { "cert-unreadable", SIP "listen = sips:*\ntls-certificate = @D/nope.pem\n"
    "tls-key = @D/key.pem\n" XMPP, INVALID,
    "@F: [sip] tls-certificate: cannot read '@D/nope.pem': No such file or directory" },
  { "key-is-dir", SIP "listen = sips:*\ntls-certificate = @D/cert.pem\ntls-key = @D\n" XMPP,
    INVALID, "@F: [sip] tls-key: cannot read '@D': is a directory" },

  /* [sip] outbound-proxy */
  { "proxy-no-scheme", SIP "outbound-proxy = 127.0.0.1:5070\n" XMPP, INVALID,
    "@F: [sip] outbound-proxy: not a sip: or sips: URI: '127.0.0.1:5070'" },
  { "proxy-blank", SIP "outbound-proxy = sip:a b\n" XMPP, INVALID,
    "@F: [sip] outbound-proxy: contains blanks: 'sip:a b'" },

  /* [sip] trusted-peers */
  { "peers-v4-33", SIP "trusted-peers = 10.0.0.0/33\n" XMPP, INVALID,
    "@F: [sip] trusted-peers: '10.0.0.0/33': prefix length out of range 0..32" },
  { "peers-v6-129", SIP "trusted-peers = ::1/129\n" XMPP, INVALID,
    "@F: [sip] trusted-peers: '::1/129': prefix length out of range 0..128" },
  { "peers-prefix-junk", SIP "trusted-peers = 10.0.0.0/8x\n" XMPP, INVALID,
    "@F: [sip] trusted-peers: '10.0.0.0/8x': prefix length is not a number" },
  { "peers-prefix-empty", SIP "trusted-peers = 10.0.0.0/\n" XMPP, INVALID,
    "@F: [sip] trusted-peers: '10.0.0.0/': prefix length is not a number" },
  { "peers-prefix-sign", SIP "trusted-peers = 10.0.0.0/+8\n" XMPP, INVALID,
    "@F: [sip] trusted-peers: '10.0.0.0/+8': prefix length is not a number" },
  { "peers-short-v4", SIP "trusted-peers = 10.1.2\n" XMPP, INVALID,
    "@F: [sip] trusted-peers: '10.1.2': not an IPv4 or IPv6 address" },
  { "peers-name", SIP "trusted-peers = localhost\n" XMPP, INVALID,
    "@F: [sip] trusted-peers: 'localhost': not an IPv4 or IPv6 address" },
  { "peers-zone", SIP "trusted-peers = fe80::1%eth0\n" XMPP, INVALID,
    "@F: [sip] trusted-peers: 'fe80::1%eth0': not an IPv4 or IPv6 address" },
  { "peers-star-mixed", SIP "trusted-peers = 127.0.0.1, *\n" XMPP, INVALID,
    "@F: [sip] trusted-peers: '*' (any source) must stand alone: '127.0.0.1, *'" },
  { "peers-empty-entry", SIP "trusted-peers = 10.0.0.1,,10.0.0.2\n" XMPP, INVALID,
    "@F: [sip] trusted-peers: empty entry in '10.0.0.1,,10.0.0.2'" },
  { "peers-semicolon", SIP "trusted-peers = 10.0.0.1; 10.0.0.2\n" XMPP, INVALID,
    "@F: [sip] trusted-peers: '10.0.0.1; 10.0.0.2': not an IPv4 or IPv6 address" },

  /* An IPv4-mapped prefix shorter than 96 bits reaches outside the mapped
   * range: the gateway's matcher refuses it, so the checker must too. */
  { "peers-mapped-short", SIP "trusted-peers = ::ffff:10.1.2.3/64\n" XMPP, INVALID,
    "@F: [sip] trusted-peers: '::ffff:10.1.2.3/64': an IPv4-mapped prefix needs a length of "
    "96..128" },
  { "peers-mapped-95", SIP "trusted-peers = ::ffff:10.0.0.1/95\n" XMPP, INVALID,
    "@F: [sip] trusted-peers: '::ffff:10.0.0.1/95': an IPv4-mapped prefix needs a length of "
    "96..128" },

  /* [sip] trust-from */
  { "trust-from-yes", SIP "trust-from = yes\n" XMPP, INVALID,
    "@F: [sip] trust-from: not true or false: 'yes'" },
  { "trust-from-comment", SIP "trust-from = true # the proxy checks\n" XMPP, INVALID,
    "@F: [sip] trust-from: not true or false: 'true # the proxy checks'"
    " (a value runs to the end of its line; put comments on a line of their own)" },

  /* [sip] max-message-size */
  { "size-199", SIP "max-message-size = 199\n" XMPP, INVALID,
    "@F: [sip] max-message-size: out of range 200..65535: '199'" },
  { "size-65536", SIP "max-message-size = 65536\n" XMPP, INVALID,
    "@F: [sip] max-message-size: out of range 200..65535: '65536'" },
  { "in-flight-9", SIP "max-requests-in-flight = 9\n" XMPP, INVALID,
    "@F: [sip] max-requests-in-flight: out of range 10..1000000: '9'" },
  { "in-flight-big", SIP "max-requests-in-flight = 1000001\n" XMPP, INVALID,
    "@F: [sip] max-requests-in-flight: out of range 10..1000000: '1000001'" },
  { "size-unit", SIP "max-message-size = 1300B\n" XMPP, INVALID,
    "@F: [sip] max-message-size: not a number: '1300B'" },
  { "size-huge", SIP "max-message-size = 99999999999999999999999\n" XMPP, INVALID,
    "@F: [sip] max-message-size: out of range 200..65535: '99999999999999999999999'" },

  /* [sip] tls-ca-file, tcp-* */
  { "ca-file-missing", SIP "tls-ca-file = @D/none.pem\n" XMPP, INVALID,
    "@F: [sip] tls-ca-file: cannot read '@D/none.pem': No such file or directory" },
  { "tcp-max-0", SIP "tcp-max-connections = 0\n" XMPP, INVALID,
    "@F: [sip] tcp-max-connections: out of range 1..65535: '0'" },
  { "tcp-per-source-0", SIP "tcp-max-connections-per-source = 0\n" XMPP, INVALID,
    "@F: [sip] tcp-max-connections-per-source: out of range 1..65535: '0'" },
  { "tcp-idle-0", SIP "tcp-idle-timeout = 0\n" XMPP, INVALID,
    "@F: [sip] tcp-idle-timeout: out of range 1..86400: '0'" },
  { "tcp-message-unit", SIP "tcp-message-timeout = 10s\n" XMPP, INVALID,
    "@F: [sip] tcp-message-timeout: not a number: '10s'" },
  { "tcp-message-max", SIP "tcp-message-timeout = 3601\n" XMPP, INVALID,
    "@F: [sip] tcp-message-timeout: out of range 1..3600: '3601'" },

  /* [xmpp] port */
  { "port-abc", SIP "[xmpp]\nport = abc\nsecret = x\n", INVALID,
    "@F: [xmpp] port: not a number: 'abc'" },
  { "port-0", SIP "[xmpp]\nport = 0\nsecret = x\n", INVALID,
    "@F: [xmpp] port: out of range 1..65535: '0'" },
  { "port-65536", SIP "[xmpp]\nport = 65536\nsecret = x\n", INVALID,
    "@F: [xmpp] port: out of range 1..65535: '65536'" },
  { "port-junk", SIP "[xmpp]\nport = 5347x\nsecret = x\n", INVALID,
    "@F: [xmpp] port: not a number: '5347x'" },
  { "port-negative", SIP "[xmpp]\nport = -1\nsecret = x\n", INVALID,
    "@F: [xmpp] port: not a number: '-1'" },
  { "port-plus", SIP "[xmpp]\nport = +5347\nsecret = x\n", INVALID,
    "@F: [xmpp] port: not a number: '+5347'" },
  { "port-hex", SIP "[xmpp]\nport = 0x14e3\nsecret = x\n", INVALID,
    "@F: [xmpp] port: not a number: '0x14e3'" },
  { "port-inner-blank", SIP "[xmpp]\nport = 53 47\nsecret = x\n", INVALID,
    "@F: [xmpp] port: not a number: '53 47'" },
  { "port-comment", SIP "[xmpp]\nport = 5347 ; default\nsecret = x\n", INVALID,
    "@F: [xmpp] port: not a number: '5347 ; default'"
    " (a value runs to the end of its line; put comments on a line of their own)" },

  /* [xmpp] other keys */
  { "component-at", SIP "[xmpp]\ncomponent = a@b\nsecret = x\n", INVALID,
    "@F: [xmpp] component: not a domain (contains '@'): 'a@b'" },
  { "server-bad", SIP "[xmpp]\nserver = bad host!\nsecret = x\n", INVALID,
    "@F: [xmpp] server: not a host name or IP address: 'bad host!'" },
  { "secret-missing", SIP "[xmpp]\nport = 5347\n", INVALID,
    "@F: [xmpp] secret: missing: set secret-file (or secret)" },
  { "secret-both", SIP "[xmpp]\nsecret = hunter2\nsecret-file = @D/secret-nl\n", INVALID,
    "@F: [xmpp] secret: set either secret or secret-file, not both" },
  { "secret-empty", SIP "[xmpp]\nsecret =\n", INVALID, "@F: [xmpp] secret: empty value" },
  { "secret-file-missing", SIP "[xmpp]\nsecret-file = @D/missing\n", INVALID,
    "@F: [xmpp] secret-file: cannot read '@D/missing': No such file or directory" },
  { "secret-file-dir", SIP "[xmpp]\nsecret-file = @D\n", INVALID,
    "@F: [xmpp] secret-file: cannot read '@D': is a directory" },
  { "secret-file-two-lines", SIP "[xmpp]\nsecret-file = @D/secret-two\n", INVALID,
    "@F: [xmpp] secret-file: '@D/secret-two' holds more than one line" },
  { "secret-file-empty", SIP "[xmpp]\nsecret-file = @D/secret-empty\n", INVALID,
    "@F: [xmpp] secret-file: '@D/secret-empty' is empty" },
  { "secret-file-nul", SIP "[xmpp]\nsecret-file = @D/secret-nul\n", INVALID,
    "@F: [xmpp] secret-file: '@D/secret-nul' contains a NUL byte" },
  { "secret-file-world-readable", SIP "[xmpp]\nsecret-file = @D/secret-public\n", INVALID,
    "@F: [xmpp] secret-file: '@D/secret-public' can be read by every user (mode 0644): "
    "chmod o-rw it" },
  { "secret-file-world-writable", SIP "[xmpp]\nsecret-file = @D/secret-world-writable\n",
    INVALID, "@F: [xmpp] secret-file: '@D/secret-world-writable' can be written by every user "
    "(mode 0622): chmod o-rw it" },

  /* [gateway] */
  { "stanza-size-9999", SIP "[xmpp]\nsecret = s\nmax-stanza-size = 9999\n", INVALID,
    "@F: [xmpp] max-stanza-size: out of range 10000..16777216: '9999'" },
  { "per-source-zero", BASE "[gateway]\nmax-subscriptions-per-source = 0\n", INVALID,
    "@F: [gateway] max-subscriptions-per-source: out of range 1..200000: '0'" },
  { "per-user-over", BASE "[gateway]\nmax-subscriptions-per-user = 200001\n", INVALID,
    "@F: [gateway] max-subscriptions-per-user: out of range 1..200000: '200001'" },
  { "bounce-401", BASE "[gateway]\nbounce-wait = 401\n", INVALID,
    "@F: [gateway] bounce-wait: out of range 0..400: '401'" },
  { "bounce-ms", BASE "[gateway]\nbounce-wait = 250ms\n", INVALID,
    "@F: [gateway] bounce-wait: not a number: '250ms'" },
  { "bounce-float", BASE "[gateway]\nbounce-wait = 2.5\n", INVALID,
    "@F: [gateway] bounce-wait: not a number: '2.5'" },
  { "domains-star-mixed", BASE "[gateway]\nxmpp-domains = *, example.org\n", INVALID,
    "@F: [gateway] xmpp-domains: '*' (any domain) must stand alone: '*, example.org'" },
  { "domains-at", BASE "[gateway]\nxmpp-domains = example.org, u@b.example\n", INVALID,
    "@F: [gateway] xmpp-domains: not a domain (contains '@'): 'u@b.example'" },
  { "domains-missing", BASE "[gateway]\n# no xmpp-domains here\n", INVALID,
    "@F: [gateway] xmpp-domains: missing: name the XMPP domains to forward to ('*' for any)" },
  { "domains-missing-no-group", BASE "# no xmpp-domains\n", INVALID,
    "@F: [gateway] xmpp-domains: missing: name the XMPP domains to forward to ('*' for any)" },
  { "domains-empty", BASE "[gateway]\nxmpp-domains =\n", INVALID,
    "@F: [gateway] xmpp-domains: empty value" },
  { "domains-sip-domain", BASE "[gateway]\nxmpp-domains = example.org, SIP.example.com\n",
    INVALID, "@F: [gateway] xmpp-domains: 'sip.example.com' is the SIP domain ([sip] domain): "
    "the gateway never forwards into its own domains" },
  { "domains-component", SIP "[xmpp]\ncomponent = gw.example.com\nsecret = x\n"
    "[gateway]\nxmpp-domains = gw.example.com\n", INVALID,
    "@F: [gateway] xmpp-domains: 'gw.example.com' is the component's domain ([xmpp] "
    "component): the gateway never forwards into its own domains" },
  { "domains-trailing-comma", BASE "[gateway]\nxmpp-domains = example.org,\n", INVALID,
    "@F: [gateway] xmpp-domains: empty entry in 'example.org,'" },
  { "rules-empty", BASE "[gateway]\nrules =\n", INVALID, "@F: [gateway] rules: empty value" },

  /* [metrics] listen: a numeric address (or localhost) and a port */
#define METRICS_BAD(name, value, why) \
  { "metrics-" name, BASE "[metrics]\nlisten = " value "\n", INVALID, \
    "@F: [metrics] listen: " why ": '" value "'" }
  METRICS_BAD ("no-port", "127.0.0.1", "not ADDRESS:PORT"),
  METRICS_BAD ("port-only", ":9464", "not ADDRESS:PORT"),
  METRICS_BAD ("port-zero", "127.0.0.1:0", "the port is not a number from 1 to 65535"),
  METRICS_BAD ("port-big", "127.0.0.1:65536", "the port is not a number from 1 to 65535"),
  METRICS_BAD ("port-empty", "127.0.0.1:", "the port is not a number from 1 to 65535"),
  METRICS_BAD ("host-name", "metrics.example.com:9464",
               "not an IP address (a host name could resolve to any address: write "
               "127.0.0.1 or [::1] for this host only)"),
  METRICS_BAD ("star", "*:9464", "not an IP address (a host name could resolve to any "
               "address: write 127.0.0.1 or [::1] for this host only)"),
  METRICS_BAD ("v6-bare", "::1:9464", "an IPv6 address goes in brackets: [ADDRESS]:PORT"),
  METRICS_BAD ("v6-bad", "[::g]:9464", "not an IPv6 address between the brackets"),
  METRICS_BAD ("url", "http://127.0.0.1:9464/metrics", "not ADDRESS:PORT"),
#undef METRICS_BAD
  { "metrics-empty", BASE "[metrics]\nlisten =\n", INVALID, "@F: [metrics] listen: empty value" },
  { "metrics-unknown-key", BASE "[metrics]\npath = /metrics\n", INVALID,
    "@F: [metrics] path: unknown key" },
};

static void
test_bad (Tmp *t, gconstpointer data)
{
  const BadRow *row = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxConfig) cfg = NULL;
  g_autoptr (GPtrArray) problems = NULL;
  g_autofree char *conf = write_config (t->dir, row->text);
  g_autofree char *expect = expand (row->expect, t->dir, conf);

  cfg = stox_config_load (conf, &error);
  g_assert_null (cfg);
  g_assert_error (error, STOX_CONFIG_ERROR, (gint) row->code);
  g_assert_cmpstr (error->message, ==, expect);
  /* The secret never shows up in a diagnostic. */
  g_assert_null (strstr (error->message, "hunter2"));

  problems = stox_config_check (conf);
  g_assert_cmpuint (problems->len, >=, 1);
  g_assert_cmpstr (g_ptr_array_index (problems, 0), ==, expect);
}

/* CIDR parsing has one owner, the core's netmask.c: for every entry the
 * checker stores exactly what stox_netmask_normalize() makes of it, or
 * refuses it with exactly the core's reason, and what it stores the
 * gateway's matcher (stox_netmask_list_new) takes back unchanged. */
static void
test_peers_netmask_owns_cidr (Tmp *t, gconstpointer data)
{
  static const char *const entries[] = {
    "127.0.0.1", "127.0.0.1/32", "10.1.2.3/8", "0.0.0.0/0", "192.0.2.255/25", "::1",
    "::1/128", "2001:DB8::1/33", "::", "::/0", "::ffff:192.0.2.1", "::ffff:192.0.2.1/128",
    "::ffff:10.1.2.3/96", "::ffff:10.1.2.3/120", "::ffff:10.1.2.3/95", "::ffff:10.1.2.3/64",
    "::ffff:10.1.2.3/129", "10.0.0.0/33", "::1/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/+8",
    "10.0.0.0/08", "10.0.0.0/99999999999999999999", "10.1.2", "localhost", "fe80::1%eth0",
    "1.2.3.4/8/8", "[::1]",
  };

  (void) data;
  for (gsize i = 0; i < G_N_ELEMENTS (entries); i++)
    {
      g_autofree char *text = g_strdup_printf (SIP "trusted-peers = %s\n" XMPP, entries[i]);
      g_autofree char *conf = write_config (t->dir, text);
      g_autoptr (GError) core_error = NULL;
      g_autofree char *core = stox_netmask_normalize (entries[i], &core_error);
      g_autoptr (GError) error = NULL;
      g_autoptr (StoxConfig) cfg = stox_config_load (conf, &error);

      g_test_message ("%s -> %s", entries[i], core ? core : core_error->message);
      if (core != NULL)
        {
          const char *const stored[] = { core, NULL };
          g_autoptr (StoxNetmaskList) list = NULL;

          g_assert_no_error (error);
          g_assert_cmpstr (cfg->sip_trusted_peers[0], ==, core);
          g_assert_null (cfg->sip_trusted_peers[1]);
          list = stox_netmask_list_new (stored, &core_error);
          g_assert_no_error (core_error);
          /* Normalising is idempotent: the stored text means itself. */
          g_clear_pointer (&core, g_free);
          core = stox_netmask_normalize (cfg->sip_trusted_peers[0], &core_error);
          g_assert_no_error (core_error);
          g_assert_cmpstr (core, ==, cfg->sip_trusted_peers[0]);
        }
      else
        {
          g_autofree char *expect = g_strdup_printf ("%s: [sip] trusted-peers: '%s': %s", conf,
                                                     entries[i], core_error->message);

          g_assert_null (cfg);
          g_assert_cmpstr (error->message, ==, expect);
        }
    }
}

/* What a valid file exposes, each as the warning the start-up log and
 * --check-config print ("@F: [group] key: ..."), "|"-separated, in order. */
typedef struct
{
  const char *name;
  const char *text;
  const char *expect; /* "" when nothing is exposed */
  guint       mode;   /* of stox.conf; 0: 0600 */
} ExposureRow;

#define EXPOSED_EVERY(url) \
  "@F: [sip] listen: '" url "' listens on every address of this host: other hosts can reach " \
  "the SIP port"
#define EXPOSED_ELSEWHERE(url) \
  "@F: [sip] listen: '" url "' listens on an address that is not loopback: other hosts can " \
  "reach the SIP port"
#define EXPOSED_RELAY(entry, family) \
  "@F: [sip] trusted-peers: '" entry "': requests from every " family " source are " \
  "accepted: whoever reaches the SIP port can send as any SIP user (open relay)"
#define EXPOSED_ANY_PEER \
  "@F: [sip] trusted-peers: '*': requests from any source are accepted: whoever reaches " \
  "the SIP port can send as any SIP user (open relay)"
#define EXPOSED_METRICS(value, what) \
  "@F: [metrics] listen: '" value "' " what ": other hosts can read the gateway's metrics, " \
  "which have no authentication"
#define EXPOSED_ANY_DOMAIN \
  "@F: [gateway] xmpp-domains: '*': SIP requests are forwarded to any XMPP domain"

static const ExposureRow exposure_rows[] = {
  { "defaults", BASE, "" },
  { "listen-star", SIP "listen = sip:*:5070\n" XMPP, EXPOSED_EVERY ("sip:*:5070") },
  { "listen-v6-any", SIP "listen = sip:[::]:5070\n" XMPP, EXPOSED_EVERY ("sip:[::]:5070") },
  { "listen-v4-any", SIP "listen = sip:0.0.0.0\n" XMPP, EXPOSED_EVERY ("sip:0.0.0.0") },
  { "listen-public", SIP "listen = sip:192.0.2.1:5060\n" XMPP,
    EXPOSED_ELSEWHERE ("sip:192.0.2.1:5060") },
  { "listen-name", SIP "listen = sip:gw.example.com;transport=tcp\n" XMPP,
    EXPOSED_ELSEWHERE ("sip:gw.example.com;transport=tcp") },
  { "listen-loopback-net", SIP "listen = sip:127.0.0.2:5060;transport=tcp\n" XMPP, "" },
  { "listen-v6-loopback", SIP "listen = sip:[::1]:5060\n" XMPP, "" },
  { "listen-localhost", SIP "listen = sip:LOCALHOST:5060\n" XMPP, "" },
  { "listen-user-part", SIP "listen = sip:stox@127.0.0.1:5060\n" XMPP, "" },
  { "peers-any", SIP "trusted-peers = *\n" XMPP, EXPOSED_ANY_PEER },
  { "peers-network", SIP "trusted-peers = 10.0.0.0/8, 2001:db8::/32\n" XMPP, "" },
  { "peers-v4-all", SIP "trusted-peers = ::1, 0.0.0.0/0\n" XMPP,
    EXPOSED_RELAY ("0.0.0.0/0", "IPv4") },
  { "peers-v6-all", SIP "trusted-peers = ::/0\n" XMPP, EXPOSED_RELAY ("::/0", "IPv6") },
  { "peers-mapped-all", SIP "trusted-peers = ::ffff:10.0.0.0/96\n" XMPP,
    EXPOSED_RELAY ("::ffff:0.0.0.0/96", "IPv4") },
  { "domains-any", BASE "[gateway]\nxmpp-domains = *\n", EXPOSED_ANY_DOMAIN },
  { "secret-inline-world-readable", BASE,
    "@F: [xmpp] secret: every user can read this file (mode 0644), and with it the component "
    "secret: move the secret to secret-file, or chmod o-r @F", 0644 },
  { "secret-inline-group-readable", BASE, "", 0640 },
  { "secret-file-world-readable-config", SIP "[xmpp]\nsecret-file = @D/secret-nl\n", "", 0644 },
  { "metrics-loopback", BASE "[metrics]\nlisten = 127.0.0.1:9464\n", "" },
  { "metrics-loopback-net", BASE "[metrics]\nlisten = 127.1.2.3:9464\n", "" },
  { "metrics-v6-loopback", BASE "[metrics]\nlisten = [::1]:9464\n", "" },
  { "metrics-localhost", BASE "[metrics]\nlisten = localhost:9464\n", "" },
  { "metrics-v4-any", BASE "[metrics]\nlisten = 0.0.0.0:9464\n",
    EXPOSED_METRICS ("0.0.0.0:9464", "listens on every address of this host") },
  { "metrics-v6-any", BASE "[metrics]\nlisten = [::]:9464\n",
    EXPOSED_METRICS ("[::]:9464", "listens on every address of this host") },
  { "metrics-public", BASE "[metrics]\nlisten = 192.0.2.7:9464\n",
    EXPOSED_METRICS ("192.0.2.7:9464", "listens on an address that is not loopback") },
  { "metrics-v4-mapped-loopback", BASE "[metrics]\nlisten = [::ffff:127.0.0.1]:9464\n", "" },
  { "metrics-and-sip", SIP "listen = sip:*\n" XMPP "[metrics]\nlisten = [2001:db8::1]:9464\n",
    EXPOSED_EVERY ("sip:*") "|" EXPOSED_METRICS ("[2001:db8::1]:9464", "listens on an address "
                                                  "that is not loopback") },
  { "all-three", SIP "listen = sip:*\ntrusted-peers = *\n" XMPP "[gateway]\nxmpp-domains = *\n",
    EXPOSED_EVERY ("sip:*") "|" EXPOSED_ANY_PEER "|" EXPOSED_ANY_DOMAIN },
};

static void
test_exposure (Tmp *t, gconstpointer data)
{
  const ExposureRow *row = data;
  g_autofree char *conf = write_config (t->dir, row->text);
  g_autofree char *expect = expand (row->expect, t->dir, conf);
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxConfig) cfg = stox_config_load (conf, &error);
  g_autoptr (GPtrArray) found = NULL;
  g_autofree char *got = NULL;

  if (row->mode != 0)
    {
      g_assert_cmpint (g_chmod (conf, (int) row->mode), ==, 0);
      g_clear_pointer (&cfg, stox_config_free);
      cfg = stox_config_load (conf, &error);
    }
  g_assert_no_error (error);
  found = stox_exposure_list (cfg);
  g_ptr_array_add (found, NULL);
  got = g_strjoinv ("|", (char **) found->pdata);
  g_assert_cmpstr (got, ==, expect);
}

/* ------------------------------------------------------------------ */
/* Whole-file behaviour                                                */

static void
test_check_collects_all (Tmp *t, gconstpointer data)
{
  static const char text[] =
    "[sip]\n"                           /* 1 */
    "domain = sip.example.com\n"        /* 2 */
    "bogus = 1\n"                       /* 3 */
    "garbage\n"                         /* 4 */
    "domain = again.example\n"          /* 5 */
    "trusted-peers = 10.0.0.0/33\n"     /* 6 */
    "[xmpp]\n"                          /* 7 */
    "port = abc\n"                      /* 8 */
    "[gateway]\n"                       /* 9 */
    "bounce-wait = 401\n"               /* 10 */
    "[nope]\n";                         /* 11 */
  const char *expect[] = {
    "@F:4: line is not 'key = value'",
    "@F:5: [sip] domain: set again (first set on line 2)",
    "@F: [sip] bogus: unknown key",
    "@F: [nope]: unknown group",
    "@F: [sip] trusted-peers: '10.0.0.0/33': prefix length out of range 0..32",
    "@F: [xmpp] port: not a number: 'abc'",
    "@F: [xmpp] secret: missing: set secret-file (or secret)",
    "@F: [gateway] bounce-wait: out of range 0..400: '401'",
  };
  g_autofree char *conf = write_config (t->dir, text);
  g_autoptr (GPtrArray) problems = stox_config_check (conf);
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxConfig) cfg = NULL;
  g_autofree char *first = NULL;

  (void) data;
  for (guint i = 0; i < problems->len; i++)
    g_test_message ("problem %u: %s", i, (char *) g_ptr_array_index (problems, i));
  g_assert_cmpuint (problems->len, ==, G_N_ELEMENTS (expect));
  for (guint i = 0; i < G_N_ELEMENTS (expect); i++)
    {
      g_autofree char *e = expand (expect[i], t->dir, conf);
      g_assert_cmpstr (g_ptr_array_index (problems, i), ==, e);
    }

  /* load() reports the first one. */
  cfg = stox_config_load (conf, &error);
  g_assert_null (cfg);
  g_assert_error (error, STOX_CONFIG_ERROR, STOX_CONFIG_ERROR_PARSE);
  first = expand (expect[0], t->dir, conf);
  g_assert_cmpstr (error->message, ==, first);
}

static void
test_missing_file (Tmp *t, gconstpointer data)
{
  g_autofree char *conf = g_build_filename (t->dir, "absent.conf", NULL);
  g_autofree char *expect = g_strdup_printf ("%s: cannot read: No such file or directory", conf);
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxConfig) cfg = NULL;
  g_autoptr (GPtrArray) problems = NULL;

  (void) data;
  cfg = stox_config_load (conf, &error);
  g_assert_null (cfg);
  g_assert_error (error, STOX_CONFIG_ERROR, STOX_CONFIG_ERROR_IO);
  g_assert_cmpstr (error->message, ==, expect);

  problems = stox_config_check (conf);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (problems, 0), ==, expect);
}

static void
test_file_too_large (Tmp *t, gconstpointer data)
{
  g_autofree char *big = g_strnfill (STOX_CONFIG_FILE_MAX + 1, '#');
  g_autofree char *conf = write_file (t->dir, "big.conf", big, -1);
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxConfig) cfg = NULL;

  (void) data;
  cfg = stox_config_load (conf, &error);
  g_assert_null (cfg);
  g_assert_error (error, STOX_CONFIG_ERROR, STOX_CONFIG_ERROR_IO);
  g_assert_true (g_str_has_suffix (error->message, ": cannot read: larger than 1048576 bytes"));
}

static void
test_defaults (void)
{
  g_autoptr (StoxConfig) cfg = stox_config_new_defaults ();

  g_assert_null (cfg->sip_domain);
  g_assert_cmpstr (cfg->sip_listen, ==, "sip:127.0.0.1:5060");
  g_assert_null (cfg->sip_outbound_proxy);
  g_assert_cmpstr (cfg->sip_trusted_peers[0], ==, "127.0.0.1/32");
  g_assert_cmpstr (cfg->sip_trusted_peers[1], ==, "::1/128");
  g_assert_null (cfg->sip_trusted_peers[2]);
  g_assert_cmpuint (cfg->sip_max_message_size, ==, 1300);
  g_assert_null (cfg->xmpp_component);
  g_assert_cmpstr (cfg->xmpp_server, ==, "127.0.0.1");
  g_assert_cmpuint (cfg->xmpp_port, ==, 5347);
  g_assert_null (cfg->xmpp_secret);
  g_assert_cmpstr (cfg->rules_dir, ==, SYSCONFDIR "/stox/rules.d");
  g_assert_cmpuint (cfg->bounce_wait_ms, ==, 250);
  g_assert_null (cfg->xmpp_domains);
  g_assert_cmpstr (cfg->state_dir, ==, "/var/lib/stox");
  g_assert_cmpstr (STOX_CONFIG_DEFAULT_PATH, ==, SYSCONFDIR "/stox/stox.conf");

  stox_config_free (NULL);
}

/* The state directory's default: systemd's StateDirectory= when set (the
 * first of a list), else /var/lib/stox whatever the install prefix. */
static void
test_state_dir_default (Tmp *t, gconstpointer data)
{
  g_autofree char *conf = write_config (t->dir, BASE);
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxConfig) cfg = NULL;

  (void) data;
  g_setenv ("STATE_DIRECTORY", "/var/lib/stox-unit", TRUE);
  cfg = stox_config_load (conf, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cfg->state_dir, ==, "/var/lib/stox-unit");
  g_clear_pointer (&cfg, stox_config_free);

  g_setenv ("STATE_DIRECTORY", "/var/lib/a:/var/lib/b", TRUE);
  cfg = stox_config_load (conf, &error);
  g_assert_cmpstr (cfg->state_dir, ==, "/var/lib/a");
  g_clear_pointer (&cfg, stox_config_free);

  /* The key wins over the environment. */
  g_clear_pointer (&conf, g_free);
  conf = write_config (t->dir, BASE "[gateway]\nstate-dir = /srv/stox\n");
  cfg = stox_config_load (conf, &error);
  g_assert_cmpstr (cfg->state_dir, ==, "/srv/stox");
  g_clear_pointer (&cfg, stox_config_free);

  g_unsetenv ("STATE_DIRECTORY");
  cfg = stox_config_new_defaults ();
  g_assert_cmpstr (cfg->state_dir, ==, "/var/lib/stox");
}

/* The full stox.conf(5) example (with its secret) loads as written. */
static void
test_interface_example (Tmp *t, gconstpointer data)
{
  static const char text[] =
    "# Comments are whole lines starting with '#'.\n"
    "[sip]\n"
    "domain = sip.example.com\n"
    "listen = sip:*:5060\n"
    "outbound-proxy = sip:127.0.0.1:5070;lr\n"
    "trusted-peers = 127.0.0.1/32, ::1\n"
    "tls-certificate = @D/cert.pem\n"
    "tls-key = @D/key.pem\n"
    "max-message-size = 1300\n"
    "[xmpp]\n"
    "component = sip.example.com\n"
    "server = 127.0.0.1\n"
    "port = 5347\n"
    "secret = s3cret\n"
    "[gateway]\n"
    "rules = /etc/stox/rules.d\n"
    "bounce-wait = 250\n"
    "xmpp-domains = example.org\n"
    "state-dir = /var/lib/stox\n";
  g_autofree char *conf = write_config (t->dir, text);
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxConfig) cfg = stox_config_load (conf, &error);

  (void) data;
  g_assert_no_error (error);
  g_assert_cmpstr (cfg->xmpp_secret, ==, "s3cret");
  g_assert_cmpstr (cfg->sip_trusted_peers[0], ==, "127.0.0.1/32");
  g_assert_cmpstr (cfg->sip_trusted_peers[1], ==, "::1/128");
  g_assert_null (cfg->sip_trusted_peers[2]);
  g_assert_cmpstr (cfg->xmpp_domains[0], ==, "example.org");
  g_assert_null (cfg->xmpp_domains[1]);
}

/* The shipped annotated example passes once a secret is added. */
static void
test_shipped_example (Tmp *t, gconstpointer data)
{
  g_autofree char *src = g_build_filename (g_getenv ("STOX_SRCDIR") ? g_getenv ("STOX_SRCDIR")
                                                                    : ".",
                                           "data", "stox.conf.example", NULL);
  g_autofree char *text = NULL;
  g_autofree char *with_secret = NULL;
  g_autofree char *conf = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxConfig) cfg = NULL;
  g_autoptr (GPtrArray) exposed = NULL;

  (void) data;
  if (!g_file_get_contents (src, &text, NULL, NULL))
    {
      g_test_skip ("data/stox.conf.example not found (set STOX_SRCDIR)");
      return;
    }
  with_secret = g_strconcat (text, "\n[xmpp]\nsecret = s3cret\n", NULL);
  conf = write_file (t->dir, "example.conf", with_secret, -1);
  g_assert_cmpint (g_chmod (conf, 0600), ==, 0);  /* it now holds a secret */
  cfg = stox_config_load (conf, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cfg->sip_domain, ==, "sip.example.com");
  /* Safe as shipped: loopback listener, a local proxy as the only trusted
   * peer, named XMPP domains. */
  exposed = stox_exposure_list (cfg);
  g_assert_cmpuint (exposed->len, ==, 0);
}

/* ------------------------------------------------------------------ */
/* Rule directory                                                      */

/* What stoxd names as the source of a rule-directory error. */
#define ORIGIN "/etc/stox/stox.conf: [gateway] rules"

/* Every table rules.h says the gateway needs: all 22 conditions in both
 * directions plus an error-type, and the four class rows. */
static const char *const all_conditions[] = {
  "bad-request", "conflict", "feature-not-implemented", "forbidden", "gone",
  "internal-server-error", "item-not-found", "jid-malformed", "not-acceptable",
  "not-allowed", "not-authorized", "policy-violation", "recipient-unavailable",
  "redirect", "registration-required", "remote-server-not-found",
  "remote-server-timeout", "resource-constraint", "service-unavailable",
  "subscription-required", "undefined-condition", "unexpected-request",
};

static char *
complete_rules (void)
{
  GString *s = g_string_new ("# a complete table\n\n");

  for (guint i = 0; i < G_N_ELEMENTS (all_conditions); i++)
    g_string_append_printf (s, "xmpp-to-sip  %s  400\nerror-type\t%s\tcancel\n",
                            all_conditions[i], all_conditions[i]);
  g_string_append (s, "sip-to-xmpp  3xx  redirect\n"
                      "sip-to-xmpp  4xx  bad-request\n"
                      "sip-to-xmpp  5xx  internal-server-error\n"
                      "sip-to-xmpp  6xx  recipient-unavailable\n"
                      "sip-to-xmpp  486  recipient-unavailable\n"
                      "message-type normal\n");
  return g_string_free (s, FALSE);
}

static void
test_rules_good (Tmp *t, gconstpointer data)
{
  g_autofree char *text = complete_rules ();
  g_autofree char *f1 = write_file (t->dir, "10-base.rules", text, -1);
  g_autofree char *f2 = write_file (t->dir, "20-local.rules",
                                    "# operator overrides\n"
                                    "sip-to-xmpp  486  forbidden\n"
                                    "message-type chat\n", -1);
  /* Ignored: a dot-file (even a broken one) and a sub-directory. */
  g_autofree char *f3 = write_file (t->dir, ".hidden.rules", "this is not a rule\n", -1);
  g_autofree char *sub = g_build_filename (t->dir, "sub.rules", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxRules) rules = NULL;
  g_autoptr (GPtrArray) problems = NULL;

  (void) data;
  g_assert_cmpint (g_mkdir (sub, 0700), ==, 0);
  rules = stox_config_load_rules (t->dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (rules);
  /* Name order: 20-local.rules comes later and wins. */
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 486), ==, "forbidden");
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 599), ==, "internal-server-error");
  g_assert_cmpstr (stox_rules_message_type (rules), ==, "chat");
  g_assert_cmpuint (stox_rules_condition_to_sip (rules, "item-not-found"), ==, 400);
  g_assert_cmpuint (stox_rules_count (rules), >, 0);

  problems = stox_config_check_rules (t->dir, ORIGIN);
  g_assert_cmpuint (problems->len, ==, 0);
}

static void
test_rules_broken (Tmp *t, gconstpointer data)
{
  g_autofree char *text = complete_rules ();
  g_autofree char *f1 = write_file (t->dir, "10-base.rules", text, -1);
  g_autofree char *f2 = write_file (t->dir, "50-broken.rules",
                                    "# comment\n"
                                    "sip-to-xmpp  486  forbidden\n"
                                    "no-such-directive here\n", -1);
  g_autofree char *prefix = g_strdup_printf ("%s:3: ", f2);
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxRules) rules = NULL;

  (void) data;
  rules = stox_config_load_rules (t->dir, &error);
  g_assert_null (rules);
  g_assert_error (error, STOX_RULES_ERROR, STOX_RULES_ERROR_SYNTAX);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, prefix));
}

static void
test_rules_check_all (Tmp *t, gconstpointer data)
{
  g_autofree char *text = complete_rules ();
  g_autofree char *f1 = write_file (t->dir, "10-base.rules", text, -1);
  g_autofree char *f2 = write_file (t->dir, "20-bad.rules",
                                    "\nbogus\nsip-to-xmpp 4xx no-such-condition\n", -1);
  g_autofree char *f3 = write_file (t->dir, "30-bad.rules", "sip-to-xmpp 999 gone\n", -1);
  g_autofree char *p2 = g_strdup_printf ("%s:2: ", f2);
  g_autofree char *p2b = g_strdup_printf ("%s:3: ", f2);
  g_autofree char *p3 = g_strdup_printf ("%s:1: ", f3);
  g_autoptr (GPtrArray) problems = NULL;

  (void) data;
  problems = stox_config_check_rules (t->dir, ORIGIN);
  for (guint i = 0; i < problems->len; i++)
    g_test_message ("problem %u: %s", i, (char *) g_ptr_array_index (problems, i));
  /* Every fault of both broken files, one per element; the good file
   * still validates on its own. */
  g_assert_cmpuint (problems->len, ==, 3);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (problems, 0), p2));
  g_assert_true (g_str_has_prefix (g_ptr_array_index (problems, 1), p2b));
  g_assert_true (g_str_has_prefix (g_ptr_array_index (problems, 2), p3));
}

static void
test_rules_incomplete (Tmp *t, gconstpointer data)
{
  g_autofree char *f1 = write_file (t->dir, "10-only.rules", "message-type normal\n", -1);
  g_autofree char *prefix = g_strdup_printf ("%s: ", t->dir);
  g_autofree char *origin_prefix = g_strdup_printf (ORIGIN ": %s: ", t->dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxRules) rules = NULL;
  g_autoptr (GPtrArray) problems = NULL;

  (void) data;
  rules = stox_config_load_rules (t->dir, &error);
  g_assert_null (rules);
  g_assert_error (error, STOX_RULES_ERROR, STOX_RULES_ERROR_INCOMPLETE);
  g_assert_true (g_str_has_prefix (error->message, prefix));

  /* The directory is reported against the key that names it. */
  g_clear_error (&error);
  rules = stox_rules_dir_load (t->dir, ORIGIN, &error);
  g_assert_null (rules);
  g_assert_error (error, STOX_RULES_ERROR, STOX_RULES_ERROR_INCOMPLETE);
  g_assert_true (g_str_has_prefix (error->message, origin_prefix));

  problems = stox_config_check_rules (t->dir, ORIGIN);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_true (g_str_has_prefix (g_ptr_array_index (problems, 0), origin_prefix));
}

static void
test_rules_empty_dir (Tmp *t, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxRules) rules = NULL;

  (void) data;
  rules = stox_config_load_rules (t->dir, &error);
  g_assert_null (rules);
  g_assert_error (error, STOX_RULES_ERROR, STOX_RULES_ERROR_INCOMPLETE);
}

static void
test_rules_missing_dir (Tmp *t, gconstpointer data)
{
  g_autofree char *dir = g_build_filename (t->dir, "rules.d", NULL);
  g_autofree char *expect =
    g_strdup_printf ("%s: cannot read rule directory: No such file or directory", dir);
  g_autofree char *named = g_strdup_printf (ORIGIN ": %s", expect);
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxRules) rules = NULL;
  g_autoptr (GPtrArray) problems = NULL;

  (void) data;
  rules = stox_config_load_rules (dir, &error);
  g_assert_null (rules);
  g_assert_error (error, STOX_CONFIG_ERROR, STOX_CONFIG_ERROR_IO);
  g_assert_cmpstr (error->message, ==, expect);

  /* stoxd names the config file and the key before the directory. */
  g_clear_error (&error);
  rules = stox_rules_dir_load (dir, ORIGIN, &error);
  g_assert_null (rules);
  g_assert_cmpstr (error->message, ==, named);

  problems = stox_config_check_rules (dir, ORIGIN);
  g_assert_cmpuint (problems->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (problems, 0), ==, named);
}

static void
test_rules_not_a_dir (Tmp *t, gconstpointer data)
{
  g_autofree char *file = write_file (t->dir, "plain", "x\n", -1);
  g_autofree char *expect = g_strdup_printf ("%s: cannot read rule directory: Not a directory",
                                             file);
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxRules) rules = NULL;

  (void) data;
  rules = stox_config_load_rules (file, &error);
  g_assert_null (rules);
  g_assert_error (error, STOX_CONFIG_ERROR, STOX_CONFIG_ERROR_IO);
  g_assert_cmpstr (error->message, ==, expect);
}

static void
test_rules_too_large (Tmp *t, gconstpointer data)
{
  g_autofree char *big = g_strnfill (STOX_CONFIG_FILE_MAX + 1, '#');
  g_autofree char *file = write_file (t->dir, "10-big.rules", big, -1);
  g_autofree char *expect = g_strdup_printf ("%s: cannot read: larger than 1048576 bytes", file);
  g_autofree char *named = g_strdup_printf (ORIGIN ": %s", expect);
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxRules) rules = NULL;
  g_autoptr (GPtrArray) problems = NULL;

  (void) data;
  rules = stox_config_load_rules (t->dir, &error);
  g_assert_null (rules);
  g_assert_error (error, STOX_CONFIG_ERROR, STOX_CONFIG_ERROR_IO);
  g_assert_cmpstr (error->message, ==, expect);

  g_clear_error (&error);
  rules = stox_rules_dir_load (t->dir, ORIGIN, &error);
  g_assert_null (rules);
  g_assert_cmpstr (error->message, ==, named);
  problems = stox_config_check_rules (t->dir, ORIGIN);
  g_assert_cmpuint (problems->len, >=, 1);
  g_assert_cmpstr (g_ptr_array_index (problems, 0), ==, named);
}

/* A rule file's own fault is its FILE:LINE, with no prefix: the line is
 * what the operator has to find. */
static void
test_rules_line_unprefixed (Tmp *t, gconstpointer data)
{
  g_autofree char *text = complete_rules ();
  g_autofree char *f1 = write_file (t->dir, "10-base.rules", text, -1);
  g_autofree char *f2 = write_file (t->dir, "20-bad.rules", "bogus\n", -1);
  g_autofree char *prefix = g_strdup_printf ("%s:1: ", f2);
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxRules) rules = NULL;

  (void) data;
  rules = stox_rules_dir_load (t->dir, ORIGIN, &error);
  g_assert_null (rules);
  g_assert_error (error, STOX_RULES_ERROR, STOX_RULES_ERROR_SYNTAX);
  g_assert_true (g_str_has_prefix (error->message, prefix));
}

/* The rule files shipped in gateway-rules/ load and validate, laid out as
 * they are installed (the source directory also holds local.mk). */
static void
test_rules_shipped (Tmp *t, gconstpointer data)
{
  const char *srcdir = g_getenv ("STOX_SRCDIR");
  g_autofree char *src = NULL;
  g_autoptr (GDir) dir = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (StoxRules) rules = NULL;
  const char *name;
  guint copied = 0;

  (void) data;
  if (!srcdir)
    {
      g_test_skip ("STOX_SRCDIR not set");
      return;
    }
  src = g_build_filename (srcdir, "gateway-rules", NULL);
  dir = g_dir_open (src, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *from = NULL;
      g_autofree char *text = NULL;
      g_autofree char *to = NULL;
      gsize len;

      if (!g_str_has_suffix (name, ".rules"))
        continue;
      from = g_build_filename (src, name, NULL);
      g_file_get_contents (from, &text, &len, &error);
      g_assert_no_error (error);
      to = write_file (t->dir, name, text, (gssize) len);
      copied++;
    }
  g_assert_cmpuint (copied, >, 0);

  rules = stox_config_load_rules (t->dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (stox_rules_message_type (rules), ==, "normal");
  g_assert_cmpstr (stox_rules_sip_to_condition (rules, 486), ==, "recipient-unavailable");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* The defaults under test are those of a start outside systemd. */
  g_unsetenv ("STATE_DIRECTORY");

  for (gsize i = 0; i < G_N_ELEMENTS (good_rows); i++)
    {
      g_autofree char *path = g_strdup_printf ("/config/good/%s", good_rows[i].name);
      g_test_add (path, Tmp, &good_rows[i], tmp_setup, test_good, tmp_teardown);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad_rows); i++)
    {
      g_autofree char *path = g_strdup_printf ("/config/bad/%s", bad_rows[i].name);
      g_test_add (path, Tmp, &bad_rows[i], tmp_setup, test_bad, tmp_teardown);
    }
  g_test_add ("/config/trusted-peers/netmask-owns-cidr", Tmp, NULL, tmp_setup,
              test_peers_netmask_owns_cidr, tmp_teardown);
  for (gsize i = 0; i < G_N_ELEMENTS (exposure_rows); i++)
    {
      g_autofree char *path = g_strdup_printf ("/config/exposure/%s", exposure_rows[i].name);
      g_test_add (path, Tmp, &exposure_rows[i], tmp_setup, test_exposure, tmp_teardown);
    }
  g_test_add_func ("/config/defaults", test_defaults);
  g_test_add ("/config/state-dir-default", Tmp, NULL, tmp_setup, test_state_dir_default,
              tmp_teardown);
  g_test_add ("/config/check-collects-all", Tmp, NULL, tmp_setup, test_check_collects_all,
              tmp_teardown);
  g_test_add ("/config/missing-file", Tmp, NULL, tmp_setup, test_missing_file, tmp_teardown);
  g_test_add ("/config/file-too-large", Tmp, NULL, tmp_setup, test_file_too_large,
              tmp_teardown);
  g_test_add ("/config/interface-example", Tmp, NULL, tmp_setup, test_interface_example,
              tmp_teardown);
  g_test_add ("/config/shipped-example", Tmp, NULL, tmp_setup, test_shipped_example,
              tmp_teardown);

  g_test_add ("/config/rules/good", Tmp, NULL, tmp_setup, test_rules_good, tmp_teardown);
  g_test_add ("/config/rules/broken", Tmp, NULL, tmp_setup, test_rules_broken, tmp_teardown);
  g_test_add ("/config/rules/check-all", Tmp, NULL, tmp_setup, test_rules_check_all,
              tmp_teardown);
  g_test_add ("/config/rules/incomplete", Tmp, NULL, tmp_setup, test_rules_incomplete,
              tmp_teardown);
  g_test_add ("/config/rules/empty-dir", Tmp, NULL, tmp_setup, test_rules_empty_dir,
              tmp_teardown);
  g_test_add ("/config/rules/missing-dir", Tmp, NULL, tmp_setup, test_rules_missing_dir,
              tmp_teardown);
  g_test_add ("/config/rules/not-a-dir", Tmp, NULL, tmp_setup, test_rules_not_a_dir,
              tmp_teardown);
  g_test_add ("/config/rules/too-large", Tmp, NULL, tmp_setup, test_rules_too_large,
              tmp_teardown);
  g_test_add ("/config/rules/line-unprefixed", Tmp, NULL, tmp_setup, test_rules_line_unprefixed,
              tmp_teardown);
  g_test_add ("/config/rules/shipped", Tmp, NULL, tmp_setup, test_rules_shipped, tmp_teardown);

  return g_test_run ();
}
