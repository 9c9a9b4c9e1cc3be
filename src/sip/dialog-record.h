/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The texts of a dialog's record (dialog.h), for the files that read
 * them: dialog.c keeps the records, dialog-request.c writes requests in
 * them.  Private to src/sip/dialog*.c.
 */
#pragma once

#include <string.h>

#include "sip/dialog.h"

G_BEGIN_DECLS

/* The strings of a dialog, in this order, each NUL-terminated ("" for
 * none), then its routes. */
enum
{
  T_CALL_ID,
  T_LOCAL_TAG,     /* lower case: compared as nta did, case-insensitively */
  T_REMOTE_TAG,
  T_LOCAL,         /* our address as sent: To of our 2xx, From of our SUBSCRIBE */
  T_REMOTE,        /* the peer's, with its tag once known */
  T_TARGET,        /* remote target (its Contact URI) */
  T_EVENT_TYPE,
  T_EVENT_ID,
  N_TEXT,
};

static inline const char *
text_of (const StoxSipDialog *dlg,
         guint                i)
{
  return dlg->text + dlg->off[i];
}

/* NULL for an empty field. */
static inline const char *
field (const StoxSipDialog *dlg,
       guint                i)
{
  const char *s = text_of (dlg, i);

  return *s != '\0' ? s : NULL;
}

/* The route entries, in the order of the route set. */
static inline const char *
first_route (const StoxSipDialog *dlg)
{
  const char *s = text_of (dlg, T_EVENT_ID);

  return dlg->n_routes > 0 ? s + strlen (s) + 1 : NULL;
}

static inline const char *
next_route (const char *route)
{
  return route + strlen (route) + 1;
}

G_END_DECLS
