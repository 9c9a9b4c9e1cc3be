/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Presence both ways (stoxd(8) PRESENCE; RFC 8048 §5, RFC 3856, RFC 6665,
 * RFC 6121), as a sans-I/O state machine the gateway engine delegates to.
 *
 *  - A SIP watcher's dialog on an XMPP user ("watch", S2X, RFC 8048 §5.3):
 *    keyed by the dialog (its first SUBSCRIBE's token), indexed by
 *    (watcher JID, XMPP user) for the presence stanzas that feed it
 *    (watch.h).
 *  - An XMPP user's subscription to a SIP user ("follow", X2S, §5.2):
 *    keyed by (XMPP user, SIP user), indexed by its current dialog token
 *    (follow.h).
 *
 * Every deadline (dialog expiry, refresh, retry) sits in one ordered
 * sequence (timers.h), so a timer event touches only what is due.
 */
#pragma once

#include "presence-env.h"

G_BEGIN_DECLS

typedef struct _StoxPresence StoxPresence;

StoxPresence *stox_presence_new (void);
void          stox_presence_free (StoxPresence *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxPresence, stox_presence_free)

/* SUBSCRIBE and NOTIFY. */
void stox_presence_on_sip (StoxPresence          *p,
                           const StoxPresenceEnv *env,
                           const StoxSipRequest  *req,
                           gint64                 now,
                           GPtrArray             *actions);

/* TRUE when `resp` answered a SUBSCRIBE or NOTIFY of presence's. */
gboolean stox_presence_on_sip_response (StoxPresence          *p,
                                        const StoxPresenceEnv *env,
                                        const StoxSipResponse *resp,
                                        gint64                 now,
                                        GPtrArray             *actions);

/* <presence/> stanzas addressed to the component's users. */
void stox_presence_on_stanza (StoxPresence          *p,
                              const StoxPresenceEnv *env,
                              const StoxStanza      *st,
                              gint64                 now,
                              GPtrArray             *actions);

void   stox_presence_on_timer (StoxPresence          *p,
                               const StoxPresenceEnv *env,
                               gint64                 now,
                               GPtrArray             *actions);
gint64 stox_presence_next_deadline (StoxPresence *p);

/* stoxd(8): a NOTIFY that keeps each SIP watcher's dialog active
 * and shows the XMPP user closed, the gateway's own subscriptions left
 * as they are, unavailable to XMPP users that saw a SIP user online; all
 * kept for the next start.  `end_subscriptions` (a gateway being
 * retired): NOTIFY terminated to SIP watchers and Expires: 0 for the
 * gateway's own subscriptions instead. */
void stox_presence_on_shutdown (StoxPresence          *p,
                                const StoxPresenceEnv *env,
                                gboolean               end_subscriptions,
                                gint64                 now,
                                GPtrArray             *actions);

/* Start-up: a record the daemon stored from an earlier STORE action, in
 * any order.  Follows are re-subscribed from the next timer event;
 * approvals make the watcher's next SUBSCRIBE active at once; a watch
 * comes back as the dialog it was (active when approved, else pending)
 * with its expiry timer, silently — or, past its deadline, is dropped
 * with a remove record.  Nothing is sent to SIP or XMPP from here. */
void stox_presence_restore (StoxPresence          *p,
                            const StoxPresenceEnv *env,
                            const StoxStoreRecord *r,
                            gint64                 now,
                            GPtrArray             *actions);

/* The XMPP link went up or down; env->link_up already says which.  On
 * the first up after restored watches, each restored (watcher, XMPP user)
 * pair that still has dialogs asks for the current state: a probe when
 * approved, else a subscribe (RFC 6121 §3.1.3: answered with subscribed
 * when the approval was given while the gateway was down); the answers
 * NOTIFY the dialogs through the ordinary paths.  Down: nothing. */
void stox_presence_on_link (StoxPresence          *p,
                            const StoxPresenceEnv *env,
                            gboolean               up,
                            gint64                 now,
                            GPtrArray             *actions);

/* A stanza the core asked to send was not (the front end's report).
 * When `why` is the link (down, or its send queue full) and `st` is a
 * presence stanza of a pair or a follow still held, TRUE: the pair asks
 * the XMPP side again (subscribe or probe), or the follower is told the
 * latest state again, in the resync batches: when the link comes up, or
 * STOX_PRESENCE_RETRY_US later while it is up.  Else FALSE (not
 * presence's). */
#define STOX_PRESENCE_RETRY_US (250 * 1000)
gboolean stox_presence_on_send_failed (StoxPresence          *p,
                                       const StoxPresenceEnv *env,
                                       const StoxStanza      *st,
                                       StoxXmppSendFailure    why,
                                       gint64                 now);

guint stox_presence_count_watches (StoxPresence *p);
guint stox_presence_count_watches_pending (StoxPresence *p);
guint stox_presence_count_follows (StoxPresence *p);

G_END_DECLS
