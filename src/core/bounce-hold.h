/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Error <message/> stanzas owed to XMPP senders (RFC 7247 §7.2 and RFC
 * 7572 §4: a SIP refusal of their message, a stanza the gateway refused,
 * each an RFC 6120 §8.3 stanza error) that the component link cannot carry
 * now: sent while the link is down, or reported back by the XMPP front end
 * as not sent because of the link.  They are held here, in the order they
 * were owed, and sent when the link is up again (docs/deployment.md, "When
 * the link falls anyway").
 *
 * Two tables, each bounded by max-pending, each FIFO by deadline:
 *  - held: bounces waiting for the link;
 *  - sent: a copy of each bounce handed to the front end while the link
 *    was up, for as long as it may still come back unsent (the front end
 *    reports only the addresses and id of an unsent stanza).
 * A bounce is given up STOX_BOUNCE_HOLD_US after it was owed: one held
 * that long, or pushed out by the bound, is dropped with a log line at
 * message level and counted, never in silence.
 */
#pragma once

#include "types.h"

G_BEGIN_DECLS

/* How long an error bounce is worth sending after it was owed. */
#define STOX_BOUNCE_HOLD_US  (60 * G_USEC_PER_SEC)
/* With the link up but its send queue full, how soon the held ones are
 * tried again. */
#define STOX_BOUNCE_RETRY_US (1 * G_USEC_PER_SEC)

typedef struct _StoxBounceHold StoxBounceHold;

StoxBounceHold *stox_bounce_hold_new  (guint max);
void            stox_bounce_hold_free (StoxBounceHold *h);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxBounceHold, stox_bounce_hold_free)

/* Looks at the actions from `first` on: every error <message/> among
 * them is remembered (link up) or taken out of `actions` and held (link
 * down). */
void stox_bounce_hold_take (StoxBounceHold *h,
                            gboolean        link_up,
                            GPtrArray      *actions,
                            guint           first,
                            gint64          now);

/* A stanza the core asked for was not sent.  FALSE when it is no error
 * <message/> (someone else's); else TRUE: held again when `why` is the
 * link, forgotten when the stanza itself is at fault (a retry would fail
 * the same way, and the front end has said so). */
gboolean stox_bounce_hold_on_send_failed (StoxBounceHold     *h,
                                          const StoxStanza   *st,
                                          StoxXmppSendFailure why,
                                          gboolean            link_up,
                                          gint64              now);

/* The link is up: every held bounce goes out, in the order it was owed. */
void stox_bounce_hold_release (StoxBounceHold *h, GPtrArray *actions, gint64 now);

/* Expiry, and the retry of a full send queue. */
void   stox_bounce_hold_on_timer (StoxBounceHold *h,
                                  gboolean        link_up,
                                  gint64          now,
                                  GPtrArray      *actions);
gint64 stox_bounce_hold_next_deadline (StoxBounceHold *h, gboolean link_up);

/* Graceful stop: held bounces go out if the link is up, else each is
 * dropped with its log line. */
void stox_bounce_hold_on_shutdown (StoxBounceHold *h,
                                   gboolean        link_up,
                                   gint64          now,
                                   GPtrArray      *actions);

guint   stox_bounce_hold_count   (StoxBounceHold *h);
guint64 stox_bounce_hold_dropped (StoxBounceHold *h);

G_END_DECLS
