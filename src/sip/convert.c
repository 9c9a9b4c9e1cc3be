/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "sip/convert.h"

/* After sofia-decls.h (through convert.h), as every Sofia header.  It
 * tests SU_HAVE_EXPERIMENTAL without defining it. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wundef"
#include <sofia-sip/sip_extra.h>
#pragma GCC diagnostic pop

/* Header text reaches the core as UTF-8 (RFC 3261 §25.1 TEXT-UTF8); a
 * peer that sends other bytes gets them replaced rather than trusted. */
static char *
dup_text (const char *s)
{
  if (s == NULL)
    return NULL;
  if (g_utf8_validate (s, -1, NULL))
    return g_strdup (s);
  return g_utf8_make_valid (s, -1);
}

static char *
dup_url (const url_t *url)
{
  if (url == NULL)
    return NULL;
  g_autofree char *text = g_strdup_printf (URL_PRINT_FORMAT, URL_PRINT_ARGS (url));
  return dup_text (text);
}

/* A parameter value may be a quoted-string (RFC 3261 §25.1); the core
 * wants the bare value. */
static char *
unquote (const char *value)
{
  size_t len = strlen (value);

  if (len < 2 || value[0] != '"' || value[len - 1] != '"')
    return dup_text (value);

  GString *out = g_string_sized_new (len);
  for (size_t i = 1; i + 1 < len; i++)
    {
      if (value[i] == '\\' && i + 2 < len)
        i++;
      g_string_append_c (out, value[i]);
    }
  g_autofree char *raw = g_string_free (out, FALSE);
  return dup_text (raw);
}

StoxSipMethod
stox_sip_convert_method (const sip_request_t *rq)
{
  switch (rq->rq_method)
    {
    case sip_method_message:
      return STOX_SIP_METHOD_MESSAGE;
    case sip_method_options:
      return STOX_SIP_METHOD_OPTIONS;
    case sip_method_subscribe:
      return STOX_SIP_METHOD_SUBSCRIBE;
    case sip_method_notify:
      return STOX_SIP_METHOD_NOTIFY;
    case sip_method_publish:
      return STOX_SIP_METHOD_PUBLISH;
    default:
      return STOX_SIP_METHOD_OTHER;
    }
}

static void
convert_content_type (const sip_content_type_t *c,
                      StoxSipRequest           *req)
{
  if (c == NULL || c->c_type == NULL)
    return;

  /* Media types and the charset name are case-insensitive (RFC 2045 §5.1);
   * the core compares lower-case type/subtype. */
  g_autofree char *type = dup_text (c->c_type);
  req->content_type = g_ascii_strdown (type, -1);

  const char *charset = msg_params_find (c->c_params, "charset");
  if (charset != NULL && charset[0] != '\0')
    req->charset = unquote (charset);
  if (req->charset != NULL && req->charset[0] == '\0')
    g_clear_pointer (&req->charset, g_free);
}

/* "type/subtype;param" for each Accept value, joined; an Accept header
 * without values (the peer accepts no body at all) is "". */
static char *
convert_accept (const sip_accept_t *ac)
{
  g_autoptr (GString) out = g_string_new (NULL);

  for (; ac != NULL; ac = ac->ac_next)
    {
      if (ac->ac_type == NULL || ac->ac_type[0] == '\0')
        continue;
      if (out->len > 0)
        g_string_append (out, ", ");
      g_string_append (out, ac->ac_type);
      for (const msg_param_t *p = ac->ac_params; p != NULL && *p != NULL; p++)
        g_string_append_printf (out, ";%s", *p);
    }
  return dup_text (out->str);
}

/* A delta-seconds parameter (RFC 6665 §8.4); -1 when absent or garbage. */
static gint64
param_seconds (const char *value)
{
  guint64 n = 0;

  if (value == NULL
      || !g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT32, &n, NULL))
    return -1;
  return (gint64) n;
}

/* Tokens compare case-insensitively (RFC 3261 §7.3.1); the core gets them
 * in lower case. */
static char *
dup_token (const char *s)
{
  g_autofree char *text = dup_text (s);

  return text != NULL ? g_ascii_strdown (text, -1) : NULL;
}

static void
convert_subscription_state (const sip_subscription_state_t *ss,
                            StoxSipRequest                 *req)
{
  if (ss == NULL || ss->ss_substate == NULL)
    return;
  req->substate = dup_token (ss->ss_substate);
  req->substate_reason = dup_token (ss->ss_reason);
  req->substate_expires = param_seconds (ss->ss_expires);
  req->substate_retry_after = param_seconds (ss->ss_retry_after);
}

static gboolean
is_sip_url (const url_t *url)
{
  return url != NULL && (url->url_type == url_sip || url->url_type == url_sips);
}

/* The first sip: or sips: identity of a P-Asserted-Identity chain (RFC
 * 3325 §9.1: at most one of those, and one tel:), or NULL. */
static char *
first_sip_identity (const sip_p_asserted_identity_t *paid)
{
  for (; paid != NULL; paid = paid->paid_next)
    if (is_sip_url (paid->paid_url))
      return dup_url (paid->paid_url);
  return NULL;
}

/* P-Asserted-Identity (RFC 3325 §9.1).  Sofia parses it only when the
 * stack's parser was extended with its extra headers; otherwise each
 * header arrives as an unknown one, parsed here with the same class. */
static char *
convert_asserted_identity (const sip_t *sip)
{
  char *uri = first_sip_identity (sip_p_asserted_identity (sip));

  for (const sip_unknown_t *un = sip->sip_unknown; uri == NULL && un != NULL; un = un->un_next)
    {
      su_home_t home[1] = { SU_HOME_INIT (home) };
      msg_header_t *h;

      if (un->un_name == NULL || un->un_value == NULL ||
          g_ascii_strcasecmp (un->un_name, "P-Asserted-Identity") != 0)
        continue;
      h = msg_header_make (home, sip_p_asserted_identity_class, un->un_value);
      if (h != NULL)
        uri = first_sip_identity ((const sip_p_asserted_identity_t *) h);
      su_home_deinit (home);
    }
  return uri;
}

StoxSipRequest *
stox_sip_convert_request (const sip_t *sip)
{
  if (sip == NULL || sip->sip_request == NULL)
    return NULL;

  g_autoptr (StoxSipRequest) req = stox_sip_request_new ();
  const sip_request_t *rq = sip->sip_request;

  req->method = stox_sip_convert_method (rq);
  req->method_name = dup_text (rq->rq_method_name);
  req->request_uri = dup_url (rq->rq_url);
  /* a_url is the URI alone: the display name and the tag/other header
   * parameters live in other fields of sip_addr_t. */
  if (sip->sip_from != NULL)
    req->from_uri = dup_url (sip->sip_from->a_url);
  if (sip->sip_to != NULL)
    req->to_uri = dup_url (sip->sip_to->a_url);
  req->asserted_uri = convert_asserted_identity (sip);
  if (sip->sip_call_id != NULL)
    req->call_id = dup_text (sip->sip_call_id->i_id);

  convert_content_type (sip->sip_content_type, req);

  if (sip->sip_content_language != NULL
      && sip->sip_content_language->k_items != NULL)
    req->content_language = dup_text (sip->sip_content_language->k_items[0]);
  if (sip->sip_subject != NULL)
    req->subject = dup_text (sip->sip_subject->g_value);
  if (sip->sip_event != NULL)
    req->event = dup_text (sip->sip_event->o_type);
  /* Delta-seconds only (RFC 3261 §20.19): an HTTP-date (ex_date) is read
   * as no Expires, never as 0 (a SUBSCRIBE with one is refused first). */
  if (sip->sip_expires != NULL && sip->sip_expires->ex_date == 0)
    req->expires = (gint64) sip->sip_expires->ex_delta;
  if (sip->sip_accept != NULL)
    req->accept = convert_accept (sip->sip_accept);
  convert_subscription_state (sip->sip_subscription_state, req);

  if (sip->sip_payload != NULL && sip->sip_payload->pl_len > 0)
    req->body = g_bytes_new (sip->sip_payload->pl_data,
                             sip->sip_payload->pl_len);

  return g_steal_pointer (&req);
}

gboolean
stox_sip_convert_response (const sip_t     *sip,
                           StoxSipResponse *ret_resp)
{
  g_return_val_if_fail (ret_resp != NULL, FALSE);

  if (sip == NULL || sip->sip_status == NULL)
    return FALSE;

  guint status = (guint) sip->sip_status->st_status;

  ret_resp->status = status;
  ret_resp->phrase = dup_text (sip->sip_status->st_phrase != NULL
                               ? sip->sip_status->st_phrase : "");
  ret_resp->expires = -1;
  ret_resp->min_expires = -1;
  /* In any other response Expires means nothing to a subscriber. */
  if (status >= 200 && status < 300 && sip->sip_expires != NULL
      && sip->sip_expires->ex_date == 0)
    ret_resp->expires = (gint64) sip->sip_expires->ex_delta;
  if (sip->sip_min_expires != NULL)
    ret_resp->min_expires = (gint64) sip->sip_min_expires->me_delta;
  return TRUE;
}

char *
stox_sip_convert_address (const struct sockaddr *sa,
                          socklen_t              len)
{
  char text[INET6_ADDRSTRLEN];

  if (sa == NULL)
    return NULL;

  if (sa->sa_family == AF_INET && len >= (socklen_t) sizeof (struct sockaddr_in))
    {
      struct sockaddr_in sin;

      memcpy (&sin, sa, sizeof sin);
      if (inet_ntop (AF_INET, &sin.sin_addr, text, sizeof text) == NULL)
        return NULL;
      return g_strdup (text);
    }

  if (sa->sa_family == AF_INET6 && len >= (socklen_t) sizeof (struct sockaddr_in6))
    {
      struct sockaddr_in6 sin6;

      memcpy (&sin6, sa, sizeof sin6);
      /* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; access
       * rules and logs speak plain IPv4. */
      if (IN6_IS_ADDR_V4MAPPED (&sin6.sin6_addr))
        {
          if (inet_ntop (AF_INET, &sin6.sin6_addr.s6_addr[12], text, sizeof text) == NULL)
            return NULL;
        }
      else if (inet_ntop (AF_INET6, &sin6.sin6_addr, text, sizeof text) == NULL)
        return NULL;
      return g_strdup (text);
    }

  return NULL;
}

char *
stox_sip_convert_warning (const char *agent,
                          const char *text)
{
  g_autofree char *valid = dup_text (text != NULL ? text : "");
  GString *out = g_string_new ("399 ");

  g_string_append (out, agent != NULL && agent[0] != '\0' ? agent : "stox");
  g_string_append (out, " \"");
  for (const char *p = valid; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, *p);
        }
      else if ((unsigned char) *p < 0x20 || *p == 0x7f)
        g_string_append_c (out, ' ');
      else
        g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

char *
stox_sip_convert_event (const char *type,
                        const char *id)
{
  if (id != NULL)
    return g_strdup_printf ("%s;id=%s", type, id);
  return g_strdup (type);
}

char *
stox_sip_convert_substate (const StoxSipNotify *n)
{
  switch (n->substate)
    {
    case STOX_SUBSTATE_PENDING:
      return g_strdup_printf ("pending;expires=%u", n->expires);
    case STOX_SUBSTATE_ACTIVE:
      return g_strdup_printf ("active;expires=%u", n->expires);
    case STOX_SUBSTATE_TERMINATED:
      break;
    }

  GString *text = g_string_new ("terminated");
  if (n->reason != NULL)
    g_string_append_printf (text, ";reason=%s", n->reason);
  if (n->retry_after > 0)
    g_string_append_printf (text, ";retry-after=%u", n->retry_after);
  return g_string_free (text, FALSE);
}

char *
stox_sip_convert_url_hostport (const url_t *url)
{
  const char *port = url->url_port;

  if (url->url_host == NULL)
    return NULL;
  if (port == NULL || port[0] == '\0')
    port = url->url_type == url_sips ? "5061" : "5060";
  return g_strdup_printf ("%s:%s", url->url_host, port);
}

char *
stox_sip_convert_hostport (const char *url_text)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  url_t *url = url_make (home, url_text);
  char *text = url != NULL ? stox_sip_convert_url_hostport (url) : NULL;

  su_home_deinit (home);
  return text != NULL ? text : g_strdup (url_text);
}

sip_payload_t *
stox_sip_convert_payload (sip_payload_t *pl,
                          GBytes        *body)
{
  gsize len = 0;

  sip_payload_init (pl);
  if (body != NULL)
    {
      pl->pl_data = (char *) g_bytes_get_data (body, &len);
      pl->pl_len = len;
    }
  return pl;
}

gboolean
stox_sip_convert_phrase_is_plain (const char *phrase)
{
  for (const guchar *p = (const guchar *) phrase; *p != '\0'; p++)
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
      return FALSE;
  return TRUE;
}
