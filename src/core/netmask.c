/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "netmask.h"

#include <arpa/inet.h>
#include <string.h>

typedef struct
{
  int     family;      /* AF_INET or AF_INET6 */
  guint8  addr[16];
  guint   prefix;
} Prefix;

/* clang-format off */
G_DEFINE_QUARK (stox-netmask-error-quark, stox_netmask_error)
/* clang-format on */

struct _StoxNetmaskList
{
  GArray *prefixes;    /* of Prefix */
};

/* inet_pton is a pure text conversion; it touches no socket.  An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) comes back as IPv4 with
 * *ret_mapped set: its prefix was written in IPv6 bits. */
static gboolean
parse_address (const char *text, int *ret_family, guint8 ret_addr[16], gboolean *ret_mapped)
{
  *ret_mapped = FALSE;
  memset (ret_addr, 0, 16);
  if (inet_pton (AF_INET, text, ret_addr) == 1)
    {
      *ret_family = AF_INET;
      return TRUE;
    }
  if (inet_pton (AF_INET6, text, ret_addr) == 1)
    {
      static const guint8 v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

      if (memcmp (ret_addr, v4mapped, 12) == 0)
        {
          memmove (ret_addr, ret_addr + 12, 4);
          memset (ret_addr + 4, 0, 12);
          *ret_family = AF_INET;
          *ret_mapped = TRUE;
          return TRUE;
        }
      *ret_family = AF_INET6;
      return TRUE;
    }
  return FALSE;
}

/* One entry, "ADDR" or "ADDR/LEN": the one parser of a trusted-peers
 * entry, for stox.conf's checker and the gateway alike.  `ret_text`, when
 * asked for, is the canonical form ADDR/LEN with the host bits cleared,
 * written in the family the entry was written in (an IPv4-mapped entry
 * stays IPv6 with its IPv6 length).  NULL `why` on success. */
static gboolean
parse_entry (const char *entry, Prefix *ret_prefix, char **ret_text, const char **ret_why)
{
  g_autofree char *text = g_strstrip (g_strdup (entry));
  char *slash = strchr (text, '/');
  Prefix p = { 0 };
  gboolean mapped;
  guint max, len;

  if (slash != NULL)
    *slash = '\0';
  if (!parse_address (text, &p.family, p.addr, &mapped))
    {
      *ret_why = "not an IPv4 or IPv6 address";
      return FALSE;
    }
  max = p.family == AF_INET && !mapped ? 32 : 128;
  len = max;
  if (slash != NULL)
    {
      guint64 n = 0;

      if (slash[1] == '\0')
        {
          *ret_why = "prefix length is not a number";
          return FALSE;
        }
      for (const char *d = slash + 1; *d != '\0'; d++)
        {
          if (!g_ascii_isdigit (*d))
            {
              *ret_why = "prefix length is not a number";
              return FALSE;
            }
          if (n <= G_MAXUINT)
            n = n * 10 + (guint64) (*d - '0');
        }
      if (n > max)
        {
          *ret_why = max == 32 ? "prefix length out of range 0..32"
                               : "prefix length out of range 0..128";
          return FALSE;
        }
      len = (guint) n;
    }
  /* ::ffff:a.b.c.d/P is a.b.c.d/(P - 96); shorter prefixes reach beyond
   * the mapped range, which no IPv4 source is in. */
  if (mapped && len < 96)
    {
      *ret_why = "an IPv4-mapped prefix needs a length of 96..128";
      return FALSE;
    }
  p.prefix = mapped ? len - 96 : len;

  /* Clear the host bits, so that "10.1.2.3/8" is 10.0.0.0/8. */
  for (guint i = 0; i < 16; i++)
    {
      guint keep = p.prefix > i * 8 ? MIN (p.prefix - i * 8, 8u) : 0;
      p.addr[i] &= (guint8) (0xff00u >> keep);
    }

  if (ret_text != NULL)
    {
      char out[INET6_ADDRSTRLEN];
      guint8 wire[16] = { 0 };
      int family = p.family;

      if (mapped)
        {
          static const guint8 v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

          memcpy (wire, v4mapped, 12);
          memcpy (wire + 12, p.addr, 4);
          family = AF_INET6;
        }
      else
        memcpy (wire, p.addr, 16);
      /* Cannot fail: the buffer fits either family. */
      inet_ntop (family, wire, out, sizeof out);
      *ret_text = g_strdup_printf ("%s/%u", out, len);
    }
  if (ret_prefix != NULL)
    *ret_prefix = p;
  return TRUE;
}

char *
stox_netmask_normalize (const char *entry, GError **error)
{
  const char *why = NULL;
  char *text = NULL;

  g_return_val_if_fail (entry != NULL, NULL);
  if (!parse_entry (entry, NULL, &text, &why))
    {
      g_set_error_literal (error, STOX_NETMASK_ERROR, 0, why);
      return NULL;
    }
  return text;
}

StoxNetmaskList *
stox_netmask_list_new (const char *const *entries, GError **error)
{
  g_autoptr (StoxNetmaskList) list = g_new0 (StoxNetmaskList, 1);

  list->prefixes = g_array_new (FALSE, TRUE, sizeof (Prefix));
  for (gsize i = 0; entries != NULL && entries[i] != NULL; i++)
    {
      const char *why = NULL;
      Prefix p;

      if (!parse_entry (entries[i], &p, NULL, &why))
        {
          g_set_error (error, STOX_NETMASK_ERROR, 0, "'%s': %s", entries[i], why);
          return NULL;
        }
      g_array_append_val (list->prefixes, p);
    }
  return g_steal_pointer (&list);
}

void
stox_netmask_list_free (StoxNetmaskList *list)
{
  if (list == NULL)
    return;
  g_array_unref (list->prefixes);
  g_free (list);
}

static gboolean
prefix_matches (const Prefix *p, int family, const guint8 addr[16])
{
  guint full = p->prefix / 8, rest = p->prefix % 8;

  if (p->family != family)
    return FALSE;
  if (memcmp (p->addr, addr, full) != 0)
    return FALSE;
  if (rest == 0)
    return TRUE;
  guint8 mask = (guint8) (0xff << (8 - rest));
  return (p->addr[full] & mask) == (addr[full] & mask);
}

gboolean
stox_netmask_list_contains (const StoxNetmaskList *list, const char *address)
{
  guint8 addr[16];
  int family;
  gboolean mapped;

  if (list == NULL || address == NULL || !parse_address (address, &family, addr, &mapped))
    return FALSE;
  for (guint i = 0; i < list->prefixes->len; i++)
    if (prefix_matches (&g_array_index (list->prefixes, Prefix, i), family, addr))
      return TRUE;
  return FALSE;
}
