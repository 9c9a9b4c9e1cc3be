/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A server dialog's saved state (endpoint.h: kept watcher dialogs): the
 * format of the one line of text the daemon stores, and reading it back.
 * Nothing here touches a socket, a leg or the endpoint: the dialog model
 * fills a StoxSipDialogState to save one and builds a leg from one it read.
 */
#pragma once

#include "sip/sofia-decls.h"

#include <glib.h>

G_BEGIN_DECLS

/* The local CSeq of a dialog MUST stay below 2^31 (RFC 3261 §8.1.1.5). */
#define STOX_SIP_CSEQ_MAX ((guint32) G_MAXINT32)

/* Longer saved states are refused unread. */
#define STOX_SIP_DIALOG_STATE_MAX (256u * 1024)

/* A saved state's fields, as text: the wire state of a server dialog
 * (RFC 3261 §12.1.1, RFC 6665 §4.1.2). */
typedef struct
{
  char    *call_id;
  char    *local;        /* our To as sent in the 2xx, with our tag */
  char    *remote;       /* the watcher's From, with its tag */
  char    *target;       /* its current Contact URI; NULL: none yet */
  GStrv    routes;       /* Record-Route entries in order; NULL: none */
  guint32  remote_cseq;  /* when saved; later requests only have higher ones */
  guint32  local_cseq;   /* reserved: NOTIFYs stay at or below it */
  char    *event_type;   /* Event package */
  char    *event_id;     /* its id parameter; NULL: none */
} StoxSipDialogState;

/* Frees the fields of a state _parse() filled (not the struct). */
void stox_sip_dialog_state_clear (StoxSipDialogState *st);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (StoxSipDialogState, stox_sip_dialog_state_clear)

/* The line to save: ASCII, no line break, whatever bytes the fields hold. */
char *stox_sip_dialog_state_format (const StoxSipDialogState *st);

/* Reads a line _format() wrote, as strictly as a message is read: the
 * exact version and shape, no NUL, CR or LF in a field, every header
 * parsed by Sofia again (a tagged local address, a SIP or SIPS target
 * with a host, one Record-Route entry per route, a local CSeq in
 * 1..2^31-1, an Event equal to its package and id).  On failure `st` is
 * left cleared and `error` (STOX_SIP_ENDPOINT_ERROR_STATE) says what. */
gboolean stox_sip_dialog_state_parse (const char          *text,
                                      StoxSipDialogState  *st,
                                      GError             **error);

/* The headers of a state _parse() accepted, parsed into `home`: what a
 * leg is made of.  `local` comes without its tag, which is `local_tag`. */
typedef struct
{
  sip_to_t           *local;
  char               *local_tag;
  sip_from_t         *remote;
  sip_contact_t      *contact;   /* NULL: no target */
  sip_record_route_t *routes;    /* NULL: none */
} StoxSipDialogHeaders;

/* FALSE, with the name of the first bad field in `ret_bad`, when one does
 * not parse. */
gboolean stox_sip_dialog_state_headers (su_home_t                *home,
                                        const StoxSipDialogState *st,
                                        StoxSipDialogHeaders     *ret_headers,
                                        const char              **ret_bad);

G_END_DECLS
