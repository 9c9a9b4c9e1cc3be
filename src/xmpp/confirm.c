/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Delivery confirmation on the XEP-0114 link: the numbered headers of the
 * stanzas the server is not known to have read, the self-addressed
 * XEP-0199 ping whose return proves the read, and the report of what was
 * never confirmed when the stream ends (confirm.h says why a round trip).
 *
 * libstrophe 0.12.2 says nothing in its API about which queued element
 * has been written; its "SENT:" debug line, logged once an element is
 * written in full (the log handler is called at every level), is the only
 * sign, so component.c hands its log lines here.
 */
#include "config.h"

#include "confirm.h"

#include <string.h>

/* Confirmation pings' ids: the core's are "stox<8 hex digits>-<n>". */
#define PING_ID_PREFIX "stox-link-"

void
stox_xmpp_confirm_init (StoxXmppConfirm *cf)
{
  memset (cf, 0, sizeof *cf);
  g_queue_init (&cf->unsent);
}

/* What stox_xmpp_confirm_report() needs of a stanza: its kind and
 * addresses. */
static StoxStanza *
stanza_header (const StoxStanza *st)
{
  StoxStanza *h = stox_stanza_new (st->kind);

  h->type = g_strdup (st->type);
  h->id = g_strdup (st->id);
  h->from = g_strdup (st->from);
  h->to = g_strdup (st->to);
  return h;
}

void
stox_xmpp_confirm_queued (StoxXmppConfirm  *cf,
                          const StoxStanza *st)
{
  g_queue_push_tail (&cf->unsent, stanza_header (st));
  cf->queued++;
}

guint
stox_xmpp_confirm_len (StoxXmppConfirm *cf)
{
  return g_queue_get_length (&cf->unsent);
}

/* "SENT: <iq id='stox-link-…'": the confirmation ping in flight is
 * written in full, so it no longer waits in libstrophe's queue (see
 * stox_xmpp_component_queue_len). */
static gboolean
is_ping_sent (StoxXmppConfirm *cf,
              const char      *msg)
{
  static const char prefix[] = "SENT: <iq id='";
  gsize len;

  if (cf->ping_id == NULL || cf->ping_written || !g_str_has_prefix (msg, prefix))
    return FALSE;
  msg += strlen (prefix);
  len = strlen (cf->ping_id);
  return strncmp (msg, cf->ping_id, len) == 0 && msg[len] == '\'';
}

void
stox_xmpp_confirm_log_line (StoxXmppConfirm *cf,
                            const char      *area,
                            const char      *msg)
{
  if (g_strcmp0 (area, "conn") == 0 && is_ping_sent (cf, msg))
    cf->ping_written = TRUE;
}

/* Stanzas of the caller's in libstrophe's queue: the confirmation ping
 * not yet written is the component's own. */
gsize
stox_xmpp_confirm_user_queue_len (StoxXmppConfirm *cf,
                                  xmpp_conn_t     *conn)
{
  int len = xmpp_conn_send_queue_len (conn);

  if (cf->ping_id != NULL && !cf->ping_written && len > 0)
    len--;
  return (gsize) MAX (len, 0);
}

static void
forget_ping (StoxXmppConfirm *cf)
{
  g_clear_pointer (&cf->ping_id, g_free);
  cf->ping_written = FALSE;
  cf->ping_covers = 0;
}

gboolean
stox_xmpp_confirm_wants_ping (const StoxXmppConfirm *cf)
{
  return cf->ping_id == NULL && cf->queued != cf->confirmed;
}

/* The ping goes behind everything queued so far. */
gboolean
stox_xmpp_confirm_ping (StoxXmppConfirm *cf,
                        xmpp_conn_t     *conn,
                        const char      *jid)
{
  g_autofree char *text = NULL;

  if (!stox_xmpp_confirm_wants_ping (cf))
    return FALSE;
  cf->ping_id = g_strdup_printf (PING_ID_PREFIX "%" G_GUINT64_FORMAT, ++cf->ping_serial);
  cf->ping_written = FALSE;
  cf->ping_covers = cf->queued;
  /* id first: is_ping_sent() reads it from libstrophe's SENT line. */
  text = g_markup_printf_escaped ("<iq id='%s' type='get' from='%s' to='%s'>"
                                  "<ping xmlns='urn:xmpp:ping'/></iq>",
                                  cf->ping_id, jid, jid);
  xmpp_send_raw (conn, text, strlen (text));
  return TRUE;
}

/* Our ping, back from the server: id and sender both ours.  Nobody else
 * can send as the component's JID: the server stamps or checks the
 * sender of what clients and peers send (RFC 6120 §8.1.2.1) and checks
 * the domain of what a component sends.  Any answer (the ping itself, a
 * result or an error) proves the read: the stanzas it covers are
 * confirmed. */
gboolean
stox_xmpp_confirm_answer (StoxXmppConfirm *cf,
                          xmpp_stanza_t   *stanza,
                          const char      *jid)
{
  if (cf->ping_id == NULL
      || g_strcmp0 (xmpp_stanza_get_name (stanza), "iq") != 0
      || g_strcmp0 (xmpp_stanza_get_id (stanza), cf->ping_id) != 0
      || xmpp_stanza_get_from (stanza) == NULL
      || g_ascii_strcasecmp (xmpp_stanza_get_from (stanza), jid) != 0)
    return FALSE;
  while (cf->confirmed < cf->ping_covers)
    {
      stox_stanza_free (g_queue_pop_head (&cf->unsent));
      cf->confirmed++;
    }
  forget_ping (cf);
  return TRUE;
}

/* What the server is not known to have read goes back to the caller, in
 * order; libstrophe drops its queue at the next connect.  A stanza read
 * just before the end comes back too (at least once;
 * docs/deployment.md). */
void
stox_xmpp_confirm_report (StoxXmppConfirm *cf,
                          const char      *jid)
{
  StoxStanza *st;

  forget_ping (cf);
  cf->confirmed = cf->queued;
  while ((st = g_queue_pop_head (&cf->unsent)) != NULL)
    {
      g_debug ("XMPP component %s: stanza '%s' to %s not confirmed read before the link fell",
               jid, st->id != NULL ? st->id : "", st->to != NULL ? st->to : "");
      if (cf->unsent_func != NULL)
        cf->unsent_func (st, cf->unsent_data);
      else
        stox_stanza_free (st);
    }
}

void
stox_xmpp_confirm_drop (StoxXmppConfirm *cf)
{
  forget_ping (cf);
  cf->confirmed = cf->queued;
  g_queue_clear_full (&cf->unsent, (GDestroyNotify) stox_stanza_free);
}
