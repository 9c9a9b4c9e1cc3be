/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the rooms of the SIP watchers share (watch.c: the dialogs and
 * their SUBSCRIBEs; watch-notify.c: what a NOTIFY says and the probes it
 * waits for; watch-restore.c: the dialogs kept across a restart).  Not
 * for use outside them.
 */
#pragma once

#include "pidf.h"
#include "watch.h"
#include "watch-limits.h"

G_BEGIN_DECLS

/* What one resource of the XMPP user said last: a pair's resources are
 * a short list (one or two clients, most of the time), so each is one
 * allocation, its strings after it, and the pair holds no table.  It
 * holds what a StoxPresenceInfo would (watch_document() lends one to the
 * PIDF builder), without that one's allocation for the info, its array
 * and each status and string: a Said is kept as long as its pair, where
 * the lent info lives only while one NOTIFY is built. */
typedef struct _Said Said;
struct _Said
{
  Said       *next;
  guint64     said;           /* when, on the watches' own counter: the
                               * tie-break of pair_best() */
  guint       n_statuses;
  guint       available : 1;
  guint       has_priority : 1;
  guint       show : 3;       /* 1 + its index in stox_show_values;
                               * 0: none */
  signed int  priority : 8;   /* RFC 6121 <priority/>, -128..127 */
  char        data[];         /* the resource ("" = the bare JID), then
                               * per status a byte, 1 when its language
                               * follows, the language and the text; each
                               * string with its NUL */
};

/* The resource `said` is from; "" for the bare JID. */
static inline const char *
stox_watch_said_resource (const Said *said)
{
  return said->data;
}

typedef struct _Watch Watch;

/* (watcher JID, XMPP user): what the XMPP user told that watcher.  Its
 * own key in StoxWatches.pairs: the two names are interned (their
 * references held), so they are compared by address.
 *
 * A pair also remembers the subscription request it asked last (RFC 6121
 * §3.1.1: once per pair and STOX_WATCH_ASK_INTERVAL_S), and that memory
 * outlives its dialogs: a pair with neither dialogs nor approval is gone
 * (stox_watch_pair_get() does not find it, and it holds nothing else),
 * but stays in the table until its request is forgotten. */
typedef struct _Pair Pair;
struct _Pair
{
  const char *watcher_jid; /* romeo@sip.example (bare) */
  const char *target_jid;  /* juliet@example.org (bare) */
  Said       *resources;   /* what each resource said, newest first */
  Watch      *watches;     /* the dialogs fed by this pair, newest
                            * first, linked by Watch.next */
  Pair       *asked_next;  /* the next request asked, in time order */
  gint64      asked_at;    /* when, while `asked` */
  guint       probed_link; /* the link (StoxWatches.link) on which the
                            * last probe went out; 0: none */
  guint       n_resources : 16; /* at most STOX_WATCH_MAX_RESOURCES */
  guint       authorized : 1;   /* <presence type=subscribed/> seen */
  guint       asked : 1;        /* its request is remembered */
};

/* A SIP watcher's dialog (S2X).  There is one per watcher: the flags are
 * bits, and the pair's list runs through the records themselves. */
struct _Watch
{
  StoxToken dialog;   /* first: the record is its own key in
                       * watch_by_dialog (g_int64_hash) */
  Pair     *pair;
  Watch    *next;     /* the pair's next dialog */
  const char *entity; /* the Request-URI: the PIDF entity (interned
                       * in StoxWatches.entities) */
  const char *source; /* the peer it came from, counted against
                       * max_per_source (interned in the limits);
                       * NULL when restored */
  StoxTimer  timer;    /* its expiry; the deadline stays the dialog's
                       * after it fires or is cancelled (the WATCH
                       * record, a NOTIFY's expires, shutdown's) */
  guint64    sent;    /* digest of the last NOTIFY's state and
                       * document: an update that changes nothing
                       * is not sent; 0: none yet */
  StoxSubstate state : 8;
  guint        dirty : 1;  /* an update waits for the in-flight NOTIFY */
  guint        forced : 1; /* …and it must go even if unchanged */
  guint        held : 1;   /* its next NOTIFY waits for a probe's answer
                            * or the subscription request's */
  guint        fetch : 1;  /* Expires: 0: that NOTIFY is the last */
  guint        ending : 1; /* its terminated NOTIFY is out */
  guint        inflight : 1; /* a NOTIFY of it awaits its answer
                              * (StoxWatches.inflight) */
  guint        stored : 1; /* a WATCH record is kept: one remove owed */
};

struct _StoxWatches
{
  StoxTimers *timers;          /* presence's, borrowed */
  GHashTable *pairs;           /* set of Pair */
  GHashTable *watch_by_dialog; /* &dialog → Watch */
  /* The NOTIFYs awaiting their answer, at most one per dialog: a record
   * each while in flight, not a field of every dialog. */
  GHashTable *watch_by_notify; /* set of Inflight, by token */
  GHashTable *inflight;        /* Watch* → its Inflight */
  GHashTable *resync;          /* Pair* to ask for the current state
                                * once the link is up (stox_watch_on_link) */
  GHashTable *probing;         /* Pair* → its StoxTimer, armed
                                * while a probe's answer is awaited (or,
                                * not approved yet, the answer to the
                                * subscription request): few pairs at a
                                * time, so not a field of each */
  guint link;                  /* counts the links that came up */
  guint pending;               /* watches in state pending: counted where
                                * one is added, approved or removed */
  StoxWatchLimits *limits;     /* dialogs per source, watcher, user,
                                * on the names of pairs and dialogs */
  Pair *asked_head;            /* the pairs whose subscription request */
  Pair *asked_tail;            /* is remembered, oldest first */
  guint n_asked;
  StoxIntern *entities;        /* the dialogs' Request-URIs */
  guint64 said;                /* counts the presence stanzas heard */
};

/* watch.c: the pair (watcher, XMPP user), made when `create`. */
Pair *stox_watch_pair_get (StoxWatches *ws,
                           const char  *watcher_jid,
                           const char  *target_jid,
                           gboolean     create);
/* watch-notify.c: the dialog whose NOTIFY `token` is, or NULL. */
Watch *stox_watch_by_notify (StoxWatches *ws, StoxToken token);
/* watch-notify.c: `w`'s NOTIFY no longer awaits its answer. */
void stox_watch_inflight_clear (StoxWatches *ws, Watch *w);
/* watch-notify.c: TRUE while the pair's probe waits for its answer. */
gboolean stox_watch_pair_probing (StoxWatches *ws, Pair *pair);
/* watch-notify.c: the pair's probe no longer awaited. */
void stox_watch_pair_probe_cancel (StoxWatches *ws, Pair *pair);
/* watch.c: a dialog counted in (+1) or out (-1) of the limits. */
void stox_watch_count (StoxWatches *ws, Watch *w, gint delta);
/* watch.c: the dialog's WATCH record written, or removed once. */
void stox_watch_store (GPtrArray *actions, Watch *w, gboolean remove);
/* watch-notify.c: a NOTIFY to `w` (NULL when `changed_only` and it
 * would say what the last one said). */
StoxSipNotify *stox_watch_send_notify (StoxWatches           *ws,
                                       const StoxPresenceEnv *env,
                                       Watch                 *w,
                                       StoxSubstate           substate,
                                       const char            *reason,
                                       gboolean               with_body,
                                       gboolean               force_closed,
                                       gboolean               changed_only,
                                       gint64                 now,
                                       GPtrArray             *actions);
/* watch-notify.c: `w` told its current state (a watcher waiting for a
 * probe's answer hears nothing yet); `force`: even when it says what the
 * last one said. */
void stox_watch_notify_state (StoxWatches           *ws,
                              const StoxPresenceEnv *env,
                              Watch                 *w,
                              gboolean               force,
                              gint64                 now,
                              GPtrArray             *actions);
/* watch-notify.c: the terminated NOTIFY that ends `w`. */
void stox_watch_terminate (StoxWatches           *ws,
                           const StoxPresenceEnv *env,
                           Watch                 *w,
                           const char            *reason,
                           gboolean               closed,
                           gint64                 now,
                           GPtrArray             *actions);
/* watch-notify.c: the pair's held NOTIFYs go, with what is known. */
void stox_watch_pair_release (StoxWatches           *ws,
                              const StoxPresenceEnv *env,
                              Pair                  *pair,
                              gint64                 now,
                              GPtrArray             *actions);
/* watch-notify.c: a probe for the pair, its answer awaited
 * (STOX_WATCH_PROBE_WAIT_MS at most). */
void stox_watch_pair_probe (StoxWatches           *ws,
                            const StoxPresenceEnv *env,
                            Pair                  *pair,
                            gint64                 now,
                            GPtrArray             *actions);
/* watch-notify.c: the answer to the subscription request just sent for
 * the pair awaited, STOX_WATCH_ASK_WAIT_MS at most; its held NOTIFYs go
 * then, or with the approval's probe's answer. */
void stox_watch_pair_await_answer (StoxWatches *ws,
                                   Pair        *pair,
                                   gint64       now);
/* watch-notify.c: `w`'s first NOTIFY, from the table when it is the
 * whole picture, else after a probe. */
void stox_watch_notify_fresh (StoxWatches           *ws,
                              const StoxPresenceEnv *env,
                              Watch                 *w,
                              gint64                 now,
                              GPtrArray             *actions);

G_END_DECLS
