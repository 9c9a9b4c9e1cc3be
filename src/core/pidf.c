/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The presence value both PIDF directions carry (StoxPresenceInfo) and the
 * error domain of pidf.h.  Reading a document is pidf-parse.c, writing
 * one pidf-build.c, the value text forms they share pidf-syntax.c.
 */
#include "config.h"

#include "pidf.h"

#include "text.h"

/* clang-format off */
G_DEFINE_QUARK (stox-pidf-error-quark, stox_pidf_error)
/* clang-format on */


/* ---- value types ------------------------------------------------------ */

StoxPresenceInfo *
stox_presence_info_new (void)
{
  StoxPresenceInfo *info = g_new0 (StoxPresenceInfo, 1);

  info->statuses = g_ptr_array_new_with_free_func (
    (GDestroyNotify) stox_lang_text_free);
  return info;
}

void
stox_presence_info_free (StoxPresenceInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->resource);
  g_free (info->show);
  g_clear_pointer (&info->statuses, g_ptr_array_unref);
  g_free (info->timestamp);
  g_free (info);
}

void
stox_presence_info_add_status (StoxPresenceInfo *info,
                               const char       *lang,
                               const char       *text)
{
  g_return_if_fail (info != NULL);
  g_return_if_fail (text != NULL);

  g_ptr_array_add (info->statuses, stox_lang_text_new (lang, text));
}
