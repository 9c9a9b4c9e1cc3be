/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XMPP users following SIP users ("follow", X2S, RFC 8048 §5.2): the
 * gateway's own SIP subscription for an XMPP user's subscription to a SIP
 * user, keyed by (XMPP user, SIP user) and indexed by its current dialog
 * token.  presence.c routes the events here and runs the timers.
 */
#pragma once

#include "presence-env.h"
#include "timers.h"

G_BEGIN_DECLS

/* After a transient failure the gateway's own subscription is retried. */
#define STOX_FOLLOW_RETRY_S 60

typedef struct _StoxFollows StoxFollows;

/* `timers` is borrowed: presence's one sequence. */
StoxFollows *stox_follows_new (StoxTimers *timers);
void         stox_follows_free (StoxFollows *fs);
guint        stox_follows_count (StoxFollows *fs);

/* <presence type='subscribe'/> from an XMPP user to a SIP user.  `full`:
 * the subscription tables are at their bound (<resource-constraint/>). */
void stox_follow_on_subscribe (StoxFollows           *fs,
                               const StoxPresenceEnv *env,
                               const StoxStanza      *st,
                               const StoxStanzaRoute *route,
                               gboolean               full,
                               GPtrArray             *actions);

/* <presence type='unsubscribe'/> (§5.2.3). */
void stox_follow_on_unsubscribe (StoxFollows           *fs,
                                 const StoxPresenceEnv *env,
                                 const StoxStanzaRoute *route,
                                 GPtrArray             *actions);

/* <presence type='probe'/> (§7): answered from what the gateway saw, or
 * with a one-shot fetch SUBSCRIBE. */
void stox_follow_on_probe (StoxFollows           *fs,
                           const StoxPresenceEnv *env,
                           const StoxStanza      *st,
                           const StoxStanzaRoute *route,
                           gboolean               full,
                           GPtrArray             *actions);

/* A NOTIFY for the gateway's own subscriptions (or one that has none). */
void stox_follow_on_notify (StoxFollows           *fs,
                            const StoxPresenceEnv *env,
                            const StoxSipRequest  *req,
                            gint64                 now,
                            GPtrArray             *actions);

/* TRUE when `resp` answered one of the gateway's SUBSCRIBEs. */
gboolean stox_follow_on_subscribe_response (StoxFollows           *fs,
                                            const StoxPresenceEnv *env,
                                            const StoxSipResponse *resp,
                                            gint64                 now,
                                            GPtrArray             *actions);

/* STOX_PRESENCE_TIMER_FOLLOW_REFRESH fired for `owner`. */
void stox_follow_refresh (StoxFollows           *fs,
                          const StoxPresenceEnv *env,
                          gpointer               owner,
                          GPtrArray             *actions);

/* STOX_PRESENCE_TIMER_FOLLOW_RETRY fired for `owner`. */
void stox_follow_retry (StoxFollows           *fs,
                        const StoxPresenceEnv *env,
                        gpointer               owner,
                        GPtrArray             *actions);

/* Start-up: a FOLLOW record comes back, to SUBSCRIBE anew at `at`.  TRUE
 * when it did; FALSE when it was there already, or no longer maps (then
 * it is dropped with a remove record). */
gboolean stox_follow_restore (StoxFollows           *fs,
                              const StoxPresenceEnv *env,
                              const StoxStoreRecord *r,
                              gint64                 at,
                              GPtrArray             *actions);

/* A presence the core asked for toward a follower was not sent (the
 * link fell, or its send queue was full): the follower is owed the
 * latest again (stox_follow_resync()).  FALSE when `st` is not the SIP
 * user's presence or subscribed to a follower it knows. */
gboolean stox_follow_on_send_failed (StoxFollows      *fs,
                                     const StoxStanza *st);

/* The link is up: up to `max` follows whose XMPP user is owed what came
 * while it was down (subscribed, the SIP user's presence) are told the
 * latest.  Returns how many still wait. */
guint stox_follow_resync (StoxFollows           *fs,
                          const StoxPresenceEnv *env,
                          guint                  max,
                          GPtrArray             *actions);

/* Dialogs the gateway ended are answered 200 until Timer N: forgets those
 * past it at `now`; the next such deadline, or -1. */
void   stox_follow_forget_ended (StoxFollows *fs, gint64 now);
gint64 stox_follow_next_ended (StoxFollows *fs);

/* Graceful stop: unavailable for what the XMPP users saw online; the
 * subscriptions are kept for the next start.  `end_subscriptions` (a
 * gateway being retired): also Expires: 0 for every live dialog (the
 * XMPP user's authorization outlives the gateway). */
void stox_follow_shutdown (StoxFollows           *fs,
                           const StoxPresenceEnv *env,
                           gboolean               end_subscriptions,
                           GPtrArray             *actions);

G_END_DECLS
