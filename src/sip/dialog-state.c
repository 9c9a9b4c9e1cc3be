/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A SIP watcher's dialog outlives a crash of the daemon (endpoint.h): its
 * wire state goes to the daemon as one line of text and comes back to
 * stox_sip_endpoint_restore_dialog() in the next process.  Version 1 is
 * STATE_PREFIX ("v1 ") followed by the GVariant text format
 * (g_variant_print()) of a STATE_TYPE tuple:
 *
 *   ay   Call-ID
 *   ay   local address: our To as sent in the 2xx, with our tag
 *   ay   remote address: the watcher's From, with its tag
 *   ay   remote target: its current Contact URI ("" while it has none)
 *   aay  route set: the initial SUBSCRIBE's Record-Route entries, in order
 *   u    remote CSeq when saved (later requests only have higher ones)
 *   u    local CSeq reserved: NOTIFYs in the dialog stay at or below it
 *        until a higher value has been told
 *   ay   Event package
 *   ay   its id parameter ("" for none)
 *
 * e.g. v1 (b'a84b4c76e66710@pc33', b'<sip:alice@gw.example>;tag=1928301774',
 * b'\"Bob\" <sip:bob@biloxi.example>;tag=a6c85cf', b'sip:bob@192.0.2.4',
 * [b'<sip:p1.example;lr>'], 314159, 101, b'presence', b'')
 *
 * Byte strings (ay) rather than strings (s): a header value may carry any
 * byte but NUL, and the text format escapes the unprintable ones (\377),
 * so a state is ASCII on one line whatever the watcher sent.  Reading one
 * back is as strict as reading a message: the exact type, each header
 * parsed by Sofia again, no CR or LF; another version, or anything else,
 * is refused whole.
 */
#include "config.h"

#include <string.h>

#include "sip/dialog-state.h"
#include "sip/convert.h"
#include "sip/endpoint.h"

#define STATE_PREFIX "v1 "
#define STATE_TYPE   "(ayayayayaayuuayay)"

void
stox_sip_dialog_state_clear (StoxSipDialogState *st)
{
  g_clear_pointer (&st->call_id, g_free);
  g_clear_pointer (&st->local, g_free);
  g_clear_pointer (&st->remote, g_free);
  g_clear_pointer (&st->target, g_free);
  g_clear_pointer (&st->routes, g_strfreev);
  g_clear_pointer (&st->event_type, g_free);
  g_clear_pointer (&st->event_id, g_free);
  st->remote_cseq = 0;
  st->local_cseq = 0;
}

/* A byte string as g_variant_print() writes one: b'…' with g_strescape()'s
 * escapes (octal for every byte outside printable ASCII), b"…" when it
 * holds a single quote. */
static void
append_bytestring (GString    *out,
                   const char *s)
{
  g_autofree char *escaped = g_strescape (s, NULL);
  char quote = strchr (s, '\'') != NULL ? '"' : '\'';

  g_string_append_c (out, 'b');
  g_string_append_c (out, quote);
  g_string_append (out, escaped);
  g_string_append_c (out, quote);
}

/* The text g_variant_print (value, FALSE) gives for the STATE_TYPE tuple,
 * written directly: building and printing the GVariant was 6 % of the
 * CPU of setting up a held subscription (bench/README.md), one per
 * watcher.  tests/frontend/test-dialog-state holds the two to each other. */
char *
stox_sip_dialog_state_format (const StoxSipDialogState *st)
{
  GString *out = g_string_sized_new (256);

  g_string_append (out, STATE_PREFIX "(");
  append_bytestring (out, st->call_id);
  g_string_append (out, ", ");
  append_bytestring (out, st->local);
  g_string_append (out, ", ");
  append_bytestring (out, st->remote);
  g_string_append (out, ", ");
  append_bytestring (out, st->target != NULL ? st->target : "");
  g_string_append (out, ", [");
  for (guint i = 0; st->routes != NULL && st->routes[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append (out, ", ");
      append_bytestring (out, st->routes[i]);
    }
  g_string_append_printf (out, "], %u, %u, ", st->remote_cseq, st->local_cseq);
  append_bytestring (out, st->event_type);
  g_string_append (out, ", ");
  append_bytestring (out, st->event_id != NULL ? st->event_id : "");
  g_string_append_c (out, ')');
  return g_string_free (out, FALSE);
}

/* Field `i` of the state, a byte string, as a C string: NUL-terminated
 * with no other NUL and no line break (no header value has one); NULL
 * when it is not, or when empty and `may_be_empty` is FALSE. */
static char *
state_bytes (GVariant *state,
             gsize     i,
             gboolean  may_be_empty,
             gboolean *ret_ok)
{
  g_autoptr (GVariant) v = g_variant_get_child_value (state, i);
  gsize len = 0;
  const char *data = g_variant_get_fixed_array (v, &len, 1);

  if (len == 0 || data[len - 1] != '\0' || memchr (data, '\0', len - 1) != NULL
      || strpbrk (data, "\r\n") != NULL || (len == 1 && !may_be_empty))
    {
      *ret_ok = FALSE;
      return NULL;
    }
  return len > 1 ? g_strdup (data) : NULL;
}

/* The shape of a saved state (see above); its headers are checked after,
 * with Sofia's parser. */
static gboolean
state_shape (const char         *text,
             StoxSipDialogState *st,
             GError            **error)
{
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (GVariant) state = NULL;
  g_autoptr (GVariant) routes = NULL;
  gboolean ok = TRUE;

  if (text == NULL || !g_str_has_prefix (text, STATE_PREFIX))
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE,
                   "not a version 1 dialog state");
      return FALSE;
    }
  if (strlen (text) > STOX_SIP_DIALOG_STATE_MAX)
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE,
                   "dialog state longer than %u bytes", STOX_SIP_DIALOG_STATE_MAX);
      return FALSE;
    }
  state = g_variant_parse (G_VARIANT_TYPE (STATE_TYPE), text + strlen (STATE_PREFIX),
                           NULL, NULL, &parse_error);
  if (state == NULL)
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE,
                   "unreadable dialog state: %s", parse_error->message);
      return FALSE;
    }

  st->call_id = state_bytes (state, 0, FALSE, &ok);
  st->local = state_bytes (state, 1, FALSE, &ok);
  st->remote = state_bytes (state, 2, FALSE, &ok);
  st->target = state_bytes (state, 3, TRUE, &ok);
  routes = g_variant_get_child_value (state, 4);
  st->routes = g_new0 (char *, g_variant_n_children (routes) + 1);
  for (gsize i = 0; i < g_variant_n_children (routes); i++)
    st->routes[i] = state_bytes (routes, i, FALSE, &ok);
  g_variant_get_child (state, 5, "u", &st->remote_cseq);
  g_variant_get_child (state, 6, "u", &st->local_cseq);
  st->event_type = state_bytes (state, 7, FALSE, &ok);
  st->event_id = state_bytes (state, 8, TRUE, &ok);
  if (!ok)
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE,
                   "dialog state with an empty or malformed field");
      return FALSE;
    }
  return TRUE;
}

/* The route set of a state: its Record-Route entries chained again, one
 * entry each, as the initial SUBSCRIBE had them. */
static gboolean
state_routes (su_home_t                *home,
              const StoxSipDialogState *st,
              sip_record_route_t      **ret_routes)
{
  sip_record_route_t **tail = ret_routes;

  *ret_routes = NULL;
  for (gsize i = 0; st->routes != NULL && st->routes[i] != NULL; i++)
    {
      sip_record_route_t *rr = sip_record_route_make (home, st->routes[i]);

      if (rr == NULL || rr->r_next != NULL)
        return FALSE;
      *tail = rr;
      tail = &rr->r_next;
    }
  return TRUE;
}

gboolean
stox_sip_dialog_state_headers (su_home_t                *home,
                               const StoxSipDialogState *st,
                               StoxSipDialogHeaders     *ret_headers,
                               const char              **ret_bad)
{
  StoxSipDialogHeaders h = { NULL };
  url_t *target = st->target != NULL ? url_make (home, st->target) : NULL;
  g_autofree char *event = stox_sip_convert_event (st->event_type, st->event_id);
  sip_event_t *o = sip_event_make (home, event);
  const char *bad = NULL;

  h.local = sip_to_make (home, st->local);
  h.remote = sip_from_make (home, st->remote);
  if (target != NULL && (target->url_type == url_sip || target->url_type == url_sips)
      && target->url_host != NULL)
    h.contact = sip_contact_create (home, (url_string_t const *) target, NULL);

  if (sip_call_id_make (home, st->call_id) == NULL)
    bad = "Call-ID";
  else if (h.local == NULL || h.local->a_tag == NULL || h.local->a_tag[0] == '\0')
    bad = "local address";
  else if (h.remote == NULL)
    bad = "remote address";
  else if (st->target != NULL && h.contact == NULL)
    bad = "remote target";
  else if (!state_routes (home, st, &h.routes))
    bad = "route set";
  else if (st->local_cseq == 0 || st->local_cseq > STOX_SIP_CSEQ_MAX)
    bad = "local CSeq";
  else if (o == NULL || g_strcmp0 (o->o_type, st->event_type) != 0
           || g_strcmp0 (o->o_id, st->event_id) != 0)
    bad = "Event";
  if (bad != NULL)
    {
      *ret_bad = bad;
      return FALSE;
    }

  /* A leg is created untagged and tagged after (dialog.c). */
  h.local_tag = su_strdup (home, h.local->a_tag);
  msg_header_remove_param (h.local->a_common, "tag");
  *ret_headers = h;
  return TRUE;
}

gboolean
stox_sip_dialog_state_parse (const char          *text,
                             StoxSipDialogState  *st,
                             GError             **error)
{
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  su_home_t home[1] = { SU_HOME_INIT (home) };
  StoxSipDialogHeaders headers;
  const char *bad = NULL;

  memset (st, 0, sizeof *st);
  if (!state_shape (text, st, error))
    {
      stox_sip_dialog_state_clear (st);
      return FALSE;
    }
  /* Every header through Sofia's parser, as if it came in a message. */
  if (!stox_sip_dialog_state_headers (home, st, &headers, &bad))
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE,
                   "bad %s in the saved state", bad);
      stox_sip_dialog_state_clear (st);
    }
  su_home_deinit (home);
  return bad == NULL;
}
