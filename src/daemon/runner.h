/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Carries the front ends' events into the core and the core's actions out:
 * SIP answers and requests through the SIP front end, stanzas through the
 * XMPP front end, state through the store, and the core's deadlines
 * through ONE GSource (no per-message timers).  Events are queued by the
 * front ends' callbacks and handled from the loop, one trip into the core
 * each (runner.c says when).
 */
#pragma once

#include "core/gateway.h"
#include "daemon/histogram.h"
#include "daemon/store.h"
#include "sip/endpoint.h"
#include "xmpp/component.h"

G_BEGIN_DECLS

typedef struct _StoxRunner StoxRunner;

StoxRunner *stox_runner_new (StoxGateway *gw);
void        stox_runner_free (StoxRunner *runner);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxRunner, stox_runner_free)

/* A failed write of the store is retried this often until it lands. */
#define STOX_RUNNER_FLUSH_RETRY_S 2

/* What is queued for the store is written at most this long after it
 * came, even when the loop is never idle (sustained load): a crash loses
 * no more, and the queue stays small. */
#define STOX_RUNNER_FLUSH_MAX_DELAY_MS 100

/* STORE actions go there, flushed in one transaction per idle moment, or
 * STOX_RUNNER_FLUSH_MAX_DELAY_MS after the first one queued. */
void stox_runner_set_store (StoxRunner *runner, StoxStore *store);
/* Writes what is queued now (before exit). */
void stox_runner_flush (StoxRunner *runner);
/* Start-up: one stored record back into the core (signature of
 * stox_store_load's callback). */
void stox_runner_restore (const StoxStoreRecord *record, gpointer user_data);

/* Where actions go; the runner also drains its queue at the end of each
 * of their GSources' dispatches.  Free the runner before them. */
void stox_runner_set_frontends (StoxRunner        *runner,
                                StoxSipEndpoint   *sip,
                                StoxXmppComponent *xmpp);

/* At most this many events go into the core per drain, so that a burst
 * of stanzas in one read does not hold up the SIP socket (the rest waits
 * for the next loop pass, which it does not block). */
#define STOX_RUNNER_EVENTS_PER_PASS 64

/* The front ends' events, queued (signatures match their callback types;
 * user_data = runner).  The request and the stanza are taken. */
void stox_runner_on_sip_request  (StoxSipRequest        *req,  gpointer user_data);
void stox_runner_on_sip_response (const StoxSipResponse *resp, gpointer user_data);
void stox_runner_on_stanza       (StoxStanza            *st,   gpointer user_data);
/* The SIP front end's half of a kept watcher dialog (StoxSipDialogFunc):
 * into the store with the core's records. */
void stox_runner_on_sip_dialog   (StoxToken id, const char *state, gpointer user_data);

void stox_runner_on_link  (StoxRunner *runner, gboolean up, guint retry_in_s);

/* Back-pressure XMPP → SIP: the component socket is read only while
 * fewer than `max` SIP requests of ours are without a final response
 * (stanzas read and not yet handled count as requests to be), and again
 * once they are down to three quarters of it, so that a fast XMPP server
 * is slowed by TCP rather than by SIP retransmissions (RFC 3261 Timer E
 * starts at 500 ms).  0: no limit (the default).
 *
 * A burst waits; overload does not: when reading was off for nine
 * tenths of STOX_RUNNER_STALL_S, the SIP side is not keeping up and a
 * backlog waits at the XMPP server, so the component is read again with
 * the core told so (stox_gateway_set_sip_overloaded): messages toward SIP
 * get <resource-constraint/> at once, for a second at least and until the
 * requests in flight are down to three quarters.  At twice what the SIP
 * side takes, about half the messages go through, none waits much longer
 * than STOX_RUNNER_STALL_S, and every other one is refused. */
void stox_runner_set_max_in_flight (StoxRunner *runner, guint max);
#define STOX_RUNNER_STALL_S 5

/* Events queued and not yet handled. */
guint stox_runner_queued (StoxRunner *runner);

/* The front ends' kinds of event, as the latency is measured per kind. */
typedef enum
{
  STOX_RUNNER_EVENT_SIP_REQUEST,
  STOX_RUNNER_EVENT_SIP_RESPONSE,
  STOX_RUNNER_EVENT_STANZA,
  STOX_RUNNER_EVENT_LINK,
  STOX_RUNNER_EVENT_KINDS
} StoxRunnerEventKind;

/* What the runner counts; only ever grows. */
typedef struct
{
  /* From a front end's report of an event to the core's actions for it
   * having been carried out, per kind; the count is the events handled. */
  StoxHistogram latency[STOX_RUNNER_EVENT_KINDS];
  guint64       store_flush_failures;   /* writes of the store that failed */
} StoxRunnerStats;

const StoxRunnerStats *stox_runner_get_stats (StoxRunner *runner);

/* Handles what is queued, then the core's goodbyes (graceful stop). */
void stox_runner_shutdown (StoxRunner *runner);

G_END_DECLS
