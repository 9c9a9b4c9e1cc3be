/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The size of the MESSAGE the endpoint writes; see message-size.h. */
#include "config.h"

#include "message-size.h"

#include <string.h>

#define LIT(s) (sizeof (s) - 1)

/* The stack's own choices, at their largest (see message-size.h). */
#define VIA_SENT_BY_MAX  60
#define FROM_TAG_MAX     32
#define CALL_ID_MAX      48

static gsize
size_add (gsize a,
          gsize b)
{
  return a > G_MAXSIZE - b ? G_MAXSIZE : a + b;
}

static gsize
opt_len (const char *s)
{
  return s != NULL ? strlen (s) : 0;
}

static gsize
decimal_digits (gsize n)
{
  gsize digits = 1;

  while (n >= 10)
    n /= 10, digits++;
  return digits;
}

gsize
stox_sip_message_size (const StoxSipOutMessage *m,
                       const char              *user_agent,
                       const char              *allow)
{
  gsize body_len = m->body != NULL ? g_bytes_get_size (m->body) : 0;
  gsize n = 0;

  n = size_add (n, LIT ("MESSAGE ") + opt_len (m->request_uri)
                   + LIT (" SIP/2.0\r\n"));
  n = size_add (n, LIT ("Via: SIP/2.0/SCTP ") + VIA_SENT_BY_MAX
                   + LIT ("\r\n"));
  n = size_add (n, LIT ("Max-Forwards: 70\r\n"));
  n = size_add (n, LIT ("From: <") + opt_len (m->from_uri) + LIT (">;tag=")
                   + FROM_TAG_MAX + LIT ("\r\n"));
  n = size_add (n, LIT ("To: <") + opt_len (m->to_uri) + LIT (">\r\n"));
  n = size_add (n, LIT ("Call-ID: ")
                   + (m->call_id != NULL ? strlen (m->call_id) : CALL_ID_MAX)
                   + LIT ("\r\n"));
  n = size_add (n, LIT ("CSeq: 4294967295 MESSAGE\r\n"));
  n = size_add (n, LIT ("Content-Type: ") + opt_len (m->content_type)
                   + LIT ("\r\n"));
  if (m->content_language != NULL)
    n = size_add (n, LIT ("Content-Language: ")
                     + strlen (m->content_language) + LIT ("\r\n"));
  if (m->subject != NULL)
    n = size_add (n, LIT ("Subject: ") + strlen (m->subject) + LIT ("\r\n"));
  n = size_add (n, LIT ("Content-Length: ") + decimal_digits (body_len)
                   + LIT ("\r\n"));
  n = size_add (n, LIT ("User-Agent: ") + opt_len (user_agent) + LIT ("\r\n"));
  if (allow != NULL)
    n = size_add (n, LIT ("Allow: ") + strlen (allow) + LIT ("\r\n"));
  n = size_add (n, LIT ("\r\n"));
  return size_add (n, body_len);
}
