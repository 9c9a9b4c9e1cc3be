/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Instant messages both ways (RFC 7572; docs/mappings.md §1 and §3): a SIP
 * MESSAGE forwarded as a <message/> and held for the bounce window, a
 * <message/> sent as a MESSAGE with its error mapped back, a late bounce
 * told to the SIP sender, and the chat-state memory of each conversation.
 * gateway.c routes the events here.
 *
 * Every table is a hash keyed by what the next event carries (stanza id,
 * SIP token, conversation) plus FIFO queues ordered by deadline, and is
 * bounded by max-pending.
 */
#pragma once

#include "route.h"
#include "rules.h"
#include "stats.h"
#include "types.h"

G_BEGIN_DECLS

/* How long an answered MESSAGE is remembered for a late bounce. */
#define STOX_IM_LATE_BOUNCE_US (60 * G_USEC_PER_SEC)
/* RFC 3994 refresh: the same isComposing state is not repeated sooner. */
#define STOX_IM_ISCOMPOSING_REFRESH_S 60
/* After a SIP user refused isComposing (415, 405, 501), none is sent to
 * it for this long (stoxd(8)). */
#define STOX_IM_ISCOMPOSING_REFUSED_S 3600

typedef struct _StoxIm StoxIm;

/* What the engine lends the message flows for one event. */
typedef struct
{
  const StoxRouteConfig *route;
  const StoxRules       *rules;
  gboolean               link_up;
  guint                  retry_in_s;
  gboolean               sip_overloaded;  /* stox_gateway_set_sip_overloaded() */
  StoxToken             *next_token;   /* the engine's one token counter */
  StoxGatewayStats      *stats;        /* counted into */
} StoxImEnv;

/* `instance` makes the stanza ids unique per process; every table holds
 * at most `max_pending` entries.  A MESSAGE whose stanza would be over
 * `max_stanza_size` bytes encoded gets 413. */
StoxIm *stox_im_new (gint64      bounce_wait_us,
                     guint       max_stanza_size,
                     const char *instance,
                     guint       max_pending);
void    stox_im_free (StoxIm *im);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxIm, stox_im_free)

/* A SIP MESSAGE (RFC 7572 §5, Table 2). */
void stox_im_on_sip_message (StoxIm               *im,
                             const StoxImEnv      *env,
                             const StoxSipRequest *req,
                             gint64                now,
                             GPtrArray            *actions);

/* A <message/> to a SIP user, or an error in answer to one the gateway
 * forwarded (RFC 7572 §4, Table 1). */
void stox_im_on_message (StoxIm           *im,
                         const StoxImEnv  *env,
                         const StoxStanza *st,
                         gint64            now,
                         GPtrArray        *actions);

/* The final answer to a MESSAGE the gateway sent (RFC 7247 §7.2); one
 * that refused a chat state alone is not bounced to XMPP. */
void stox_im_on_sip_response (StoxIm                *im,
                              const StoxImEnv       *env,
                              const StoxSipResponse *resp,
                              gint64                 now,
                              GPtrArray             *actions);

/* A forwarded <message/> could not be queued: 503 (the link) or 500 (the
 * stanza) to its sender, or a late notice once it was answered. */
void stox_im_on_send_failed (StoxIm             *im,
                             const StoxImEnv    *env,
                             const StoxStanza   *st,
                             StoxXmppSendFailure why,
                             GPtrArray          *actions);

/* Bounce windows that closed (202), memory that expired. */
void   stox_im_on_timer (StoxIm *im, const StoxImEnv *env, gint64 now, GPtrArray *actions);
gint64 stox_im_next_deadline (StoxIm *im);

/* Graceful stop: every held transaction was forwarded, 202 says so. */
void stox_im_on_shutdown (StoxIm *im, const StoxImEnv *env, gint64 now, GPtrArray *actions);

/* Fills the sizes of the tables: pending, remembered, outgoing. */
void stox_im_get_stats (StoxIm *im, StoxGatewayStats *stats);

G_END_DECLS
