/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The character rules the address files (address.c, sip-uri.c, jid.c,
 * xep0106.c, percent.c, precis.c) share.  Header only.
 */
#pragma once

#include <string.h>

#include <glib.h>

#include "address.h"

/* RFC 3261 §25.1: mark (part of unreserved) and user-unreserved.  A user
 * part is 1*( alphanum / mark / user-unreserved / escaped ). */
#define SIP_MARK            "-_.!~*'()"
#define SIP_USER_UNRESERVED "&=+$,;?/"
/* paramchar = param-unreserved / unreserved / escaped, param-unreserved
 * being "[ ] / : & + $".  We still encode "[" and "]" when we write a
 * parameter: they are legal, but read as an IPv6 reference by naive
 * parsers, and an escaped character is always legal. */
#define SIP_PARAM_ACCEPT    SIP_MARK "[]/:&+$"
#define SIP_PARAM_KEEP      SIP_MARK "/:&+$"

/* The nine characters a localpart may not hold, which XEP-0106 §3 escapes
 * (RFC 7622 §3.3.1, plus the space of the PRECIS IdentifierClass). */
#define XEP0106_SPECIALS " \"&'/:<>@"

#define set_malformed(error, ...) \
  g_set_error (error, STOX_ADDRESS_ERROR, STOX_ADDRESS_ERROR_MALFORMED, \
               __VA_ARGS__)

/* TRUE if c is one of the characters of set; the terminating NUL of set
 * never matches. */
static inline gboolean
in_set (char        c,
        const char *set)
{
  return c != '\0' && strchr (set, c) != NULL;
}

/* TRUE if valid UTF-8 `s` holds a control character (Unicode Cc: C0,
 * DEL, C1).  ASCII is decided byte by byte: every JID and SIP user part
 * on the way of a message or subscription is checked, mostly ASCII. */
static inline gboolean
has_control (const char *s)
{
  for (const guchar *p = (const guchar *) s; *p != '\0';)
    {
      if (*p < 0x80)
        {
          if (*p < 0x20 || *p == 0x7f)
            return TRUE;
          p++;
          continue;
        }
      if (g_unichar_iscntrl (g_utf8_get_char ((const char *) p)))
        return TRUE;
      p = (const guchar *) g_utf8_next_char ((const char *) p);
    }
  return FALSE;
}
