/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SIP watchers of XMPP users ("watch", S2X, RFC 8048 §5.3): a SIP
 * watcher's dialog, keyed by the dialog (its first SUBSCRIBE's token) and
 * indexed by (watcher JID, XMPP user) for the presence stanzas that feed
 * it.  presence.c routes the events here and runs the timers.
 */
#pragma once

#include "presence-env.h"
#include "timers.h"
#include "watch-limits.h"

G_BEGIN_DECLS

/* How long a watcher's NOTIFY waits for the answer to a probe (a new
 * dialog when the table is not known whole, the approval, a restart):
 * some servers never answer one for an offline user. */
#define STOX_WATCH_PROBE_WAIT_MS 2000

/* How long a new watcher's first NOTIFY waits for the XMPP user's server
 * to answer the subscription request the gateway just sent: a contact
 * approved already is answered at once (RFC 6121 §3.1.3), and then the
 * first NOTIFY is active instead of pending then active. */
#define STOX_WATCH_ASK_WAIT_MS 250

/* Shorter SUBSCRIBEs get 423 (RFC 6665 §4.2.1.1). */
#define STOX_WATCH_MIN_EXPIRES 60
/* Longer ones are shortened to this. */
#define STOX_WATCH_MAX_EXPIRES 3600
/* Retry-After of a SUBSCRIBE over a per-source, per-watcher or per-user
 * limit. */
#define STOX_WATCH_LIMIT_RETRY_S 60
/* A subscription request goes to an XMPP user once per (watcher, user)
 * and this interval, however many SUBSCRIBEs arrive. */
#define STOX_WATCH_ASK_INTERVAL_S 3600

typedef struct _StoxWatches StoxWatches;

/* Resources of an XMPP user remembered per (watcher, user) pair; past it
 * the one heard from longest ago goes (an account's clients are few; the
 * list must not grow without bound all the same). */
#define STOX_WATCH_MAX_RESOURCES 32

/* `timers` is borrowed: presence's one sequence. */
StoxWatches *stox_watches_new (StoxTimers *timers);
void         stox_watches_free (StoxWatches *ws);
guint        stox_watches_count (StoxWatches *ws);
/* Those of them in state pending: waiting for the XMPP user's approval. */
guint        stox_watches_count_pending (StoxWatches *ws);

/* A SUBSCRIBE outside a dialog: a new watcher's dialog (RFC 6665
 * §4.2.1), or a fetch.  `full`: the subscription tables are at their
 * bound (503). */
void stox_watch_on_subscribe (StoxWatches           *ws,
                              const StoxPresenceEnv *env,
                              const StoxSipRequest  *req,
                              gboolean               full,
                              gint64                 now,
                              GPtrArray             *actions);

/* A SUBSCRIBE inside a watcher's dialog: a refresh, or Expires: 0. */
void stox_watch_on_refresh (StoxWatches           *ws,
                            const StoxPresenceEnv *env,
                            const StoxSipRequest  *req,
                            gint64                 now,
                            GPtrArray             *actions);

/* TRUE when `resp` answered one of the watchers' NOTIFYs. */
gboolean stox_watch_on_notify_response (StoxWatches           *ws,
                                        const StoxPresenceEnv *env,
                                        const StoxSipResponse *resp,
                                        gint64                 now,
                                        GPtrArray             *actions);

/* A presence stanza (available, unavailable, subscribed, unsubscribed,
 * error) from XMPP user `from_bare` to SIP watcher `to_bare`. */
void stox_watch_on_presence (StoxWatches           *ws,
                             const StoxPresenceEnv *env,
                             const StoxStanza      *st,
                             const char            *from_bare,
                             const char            *from_resource,
                             const char            *to_bare,
                             gint64                 now,
                             GPtrArray             *actions);

/* STOX_PRESENCE_TIMER_WATCH_EXPIRY fired for `owner`: the watcher did
 * not refresh. */
void stox_watch_expire (StoxWatches           *ws,
                        const StoxPresenceEnv *env,
                        gpointer               owner,
                        gint64                 now,
                        GPtrArray             *actions);

/* RFC 6665 §4.2.1.4: a watcher's dialog not refreshed by its deadline is
 * over, and the watcher knows it too.  TRUE when `r` is a WATCH record
 * whose deadline is at or before `now` (the core's clock); other records
 * do not expire.  The one rule for the core's restore and the daemon's,
 * which drops the SIP half of such a dialog with it. */
gboolean stox_watch_record_expired (const StoxStoreRecord *r, gint64 now);

/* Start-up: a WATCH record comes back as the dialog it was, silently, or
 * is dropped with a remove record (see stox_presence_restore()). */
void stox_watch_restore (StoxWatches           *ws,
                         const StoxPresenceEnv *env,
                         const StoxStoreRecord *r,
                         gint64                 now,
                         GPtrArray             *actions);

/* Start-up: an APPROVAL record; the pair's restored dialogs turn active. */
void stox_watch_restore_approval (StoxWatches *ws, const StoxStoreRecord *r);

/* STOX_PRESENCE_TIMER_PROBE_WAIT fired for `owner`: no answer to the
 * probe; the waiting watchers hear what is known. */
void stox_watch_probe_waited (StoxWatches           *ws,
                              const StoxPresenceEnv *env,
                              gpointer               owner,
                              gint64                 now,
                              GPtrArray             *actions);

/* The XMPP link came up (`up`) or went down.  Up: what the pairs hold
 * is no longer known current, and every approved pair with dialogs is
 * to be probed again (stox_watch_resync()). */
void stox_watch_on_link (StoxWatches *ws, gboolean up);

/* A subscribe or probe the core asked for on behalf of a pair was not
 * sent (the link fell, or its send queue was full): the pair is asked
 * again by the next stox_watch_resync().  FALSE when `st` is neither, or
 * its pair has no dialog left. */
gboolean stox_watch_on_send_failed (StoxWatches      *ws,
                                    const StoxStanza *st);

/* Up to `max` (watcher, XMPP user) pairs, restored ones or the approved
 * ones with dialogs after a link came up, ask the XMPP side for the
 * current state.  Returns how many pairs still wait. */
guint stox_watch_resync (StoxWatches           *ws,
                         const StoxPresenceEnv *env,
                         guint                  max,
                         gint64                 now,
                         GPtrArray             *actions);

/* Graceful stop.  Every active dialog gets a NOTIFY that keeps it
 * active and shows the XMPP user closed; dialogs and records stay for
 * the next start.  `end_subscriptions` (a gateway being retired): every
 * dialog ends instead, terminated;reason=noresource, and its record
 * goes. */
void stox_watch_shutdown (StoxWatches           *ws,
                          const StoxPresenceEnv *env,
                          gboolean               end_subscriptions,
                          gint64                 now,
                          GPtrArray             *actions);

G_END_DECLS
