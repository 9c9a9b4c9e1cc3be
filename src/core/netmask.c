/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "netmask.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

typedef struct
{
  int     family;      /* AF_INET or AF_INET6 */
  guint8  addr[16];
  guint   prefix;
} Prefix;

G_DEFINE_QUARK (stox-netmask-error-quark, stox_netmask_error)

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

StoxNetmaskList *
stox_netmask_list_new (const char *const *entries, GError **error)
{
  g_autoptr (StoxNetmaskList) list = g_new0 (StoxNetmaskList, 1);

  list->prefixes = g_array_new (FALSE, TRUE, sizeof (Prefix));
  for (gsize i = 0; entries != NULL && entries[i] != NULL; i++)
    {
      g_autofree char *text = g_strstrip (g_strdup (entries[i]));
      char *slash = strchr (text, '/');
      Prefix p = { 0 };
      gboolean mapped;
      guint max;

      if (slash != NULL)
        *slash = '\0';
      if (!parse_address (text, &p.family, p.addr, &mapped))
        {
          g_set_error (error, STOX_NETMASK_ERROR, 0,
                       "'%s' is not an IPv4 or IPv6 address", entries[i]);
          return NULL;
        }
      max = p.family == AF_INET && !mapped ? 32 : 128;
      p.prefix = max;
      if (slash != NULL)
        {
          char *end = NULL;
          guint64 n;

          if (!g_ascii_isdigit (slash[1]) ||
              (n = g_ascii_strtoull (slash + 1, &end, 10), *end != '\0') ||
              n > max)
            {
              g_set_error (error, STOX_NETMASK_ERROR, 0,
                           "'%s' has a bad prefix length (0–%u)", entries[i], max);
              return NULL;
            }
          p.prefix = (guint) n;
        }
      if (mapped)
        {
          /* ::ffff:a.b.c.d/P is a.b.c.d/(P − 96); shorter prefixes reach
           * beyond the mapped range, which no IPv4 source is in. */
          if (p.prefix < 96)
            {
              g_set_error (error, STOX_NETMASK_ERROR, 0,
                           "'%s': an IPv4-mapped prefix needs a length of 96–128", entries[i]);
              return NULL;
            }
          p.prefix -= 96;
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
