/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Control crosses the house once per event: a front end's callback only
 * queues the event here, and the queue is drained from the loop, where
 * each event goes down into the core and its actions come back up through
 * execute() into the front ends.  Nothing runs the core inside Sofia's or
 * libstrophe's callbacks, nothing calls the core while its actions run (a
 * stanza that cannot be sent is an event of its own, next in line), and no
 * front-end call is made from inside a front end.
 *
 * When: at the end of each dispatch of a front end's GSource (after the
 * stack has returned; the same loop iteration that read the input), at
 * most STOX_RUNNER_EVENTS_PER_PASS events each time so that input keeps
 * flowing; what is left makes the runner's own GSource ready at once,
 * which also runs the core's deadlines.  Readiness is read in prepare(),
 * never signalled: queuing an event writes no wake-up eventfd.
 */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "runner.h"

#include "core/deadline.h"
#include "core/debug-log.h"

typedef enum
{
  EVENT_SIP_REQUEST,
  EVENT_SIP_RESPONSE,
  EVENT_STANZA,
  EVENT_LINK,
  EVENT_SEND_FAILED,   /* a stanza the core asked for could not be sent */
} EventKind;

/* A stanza that could not be sent, and why. */
typedef struct
{
  StoxStanza         *stanza;
  StoxXmppSendFailure why;
} SendFailed;

typedef struct
{
  EventKind kind;
  gint64    arrived;   /* monotonic µs when the front end reported it */
  union
  {
    StoxSipRequest  *request;
    StoxSipResponse  response;   /* phrase and warning owned */
    StoxStanza      *stanza;     /* STANZA */
    SendFailed       failed;     /* SEND_FAILED */
    struct
    {
      gboolean up;
      guint    retry_in_s;
    } link;
  } u;
} Event;

/* A FIFO of events in one array used as a ring, grown by doubling: no
 * allocation per event. */
typedef struct
{
  Event *items;
  guint  size;   /* 0 or a power of two */
  guint  head;
  guint  len;
} EventRing;

struct _StoxRunner
{
  StoxGateway       *gw;
  StoxSipEndpoint   *sip;
  StoxXmppComponent *xmpp;
  StoxStore         *store;
  GSource           *source;    /* queued events and the core's deadlines */
  guint              flush_id;         /* the idle flush, or the retry */
  guint              flush_due_id;     /* the flush's deadline under load */
  gboolean           flush_failing;    /* the retry is armed */

  EventRing          events;
  GPtrArray         *actions;   /* the core's actions for the event at hand */
  GArray            *failed;    /* SendFailed: sends that failed among them */
  gboolean           draining;

  StoxRunnerStats    stats;

  guint              max_in_flight;   /* 0: no back-pressure */
  guint              stanzas_queued;  /* EVENT_STANZA in `events` */
  gboolean           paused;          /* the component is not read… */
  gint64             paused_since;    /* …since then (monotonic µs) */
  gint64             window_start;    /* the current stall window… */
  gint64             window_paused;   /* …and how long reading was off in it */
  gboolean           shedding;        /* the core refuses toward SIP… */
  gint64             shed_since;      /* …since then */
};

/* ------------------------------------------------------------------ */
/* The queue                                                           */

static void
event_clear (Event *ev)
{
  switch (ev->kind)
    {
    case EVENT_SIP_REQUEST:
      stox_sip_request_free (ev->u.request);
      break;
    case EVENT_SIP_RESPONSE:
      g_free (ev->u.response.phrase);
      g_free (ev->u.response.warning);
      break;
    case EVENT_STANZA:
      stox_stanza_free (ev->u.stanza);
      break;
    case EVENT_SEND_FAILED:
      stox_stanza_free (ev->u.failed.stanza);
      break;
    case EVENT_LINK:
      break;
    }
}

static void
ring_grow (EventRing *ring)
{
  guint size = ring->size != 0 ? ring->size * 2 : 64;
  Event *items = g_new (Event, size);

  /* Unrolled into the new array from its head. */
  for (guint i = 0; i < ring->len; i++)
    items[i] = ring->items[(ring->head + i) & (ring->size - 1)];
  g_free (ring->items);
  ring->items = items;
  ring->size = size;
  ring->head = 0;
}

static void
ring_push_tail (EventRing   *ring,
                const Event *ev)
{
  if (ring->len == ring->size)
    ring_grow (ring);
  ring->items[(ring->head + ring->len) & (ring->size - 1)] = *ev;
  ring->len++;
}

static void
ring_push_head (EventRing   *ring,
                const Event *ev)
{
  if (ring->len == ring->size)
    ring_grow (ring);
  ring->head = (ring->head + ring->size - 1) & (ring->size - 1);
  ring->items[ring->head] = *ev;
  ring->len++;
}

static gboolean
ring_pop_head (EventRing *ring,
               Event     *ret_ev)
{
  if (ring->len == 0)
    return FALSE;
  *ret_ev = ring->items[ring->head];
  ring->head = (ring->head + 1) & (ring->size - 1);
  ring->len--;
  return TRUE;
}

static gboolean
ring_head_is (EventRing *ring,
              EventKind  kind)
{
  return ring->len > 0 && ring->items[ring->head].kind == kind;
}

static void
ring_clear (EventRing *ring)
{
  Event ev;

  while (ring_pop_head (ring, &ev))
    event_clear (&ev);
  g_clear_pointer (&ring->items, g_free);
  ring->size = 0;
}

/* ------------------------------------------------------------------ */
/* The store                                                           */

/* One transaction for everything a burst of events stored: the flush
 * runs when the loop has nothing more urgent to do, or once the first
 * record queued has waited STOX_RUNNER_FLUSH_MAX_DELAY_MS (a loop under
 * sustained load is never idle: 100 000 watchers' records waited for the
 * end of the set-up, in memory, lost to a crash meanwhile). */
static gboolean
flush_store (gpointer user_data)
{
  StoxRunner *runner = user_data;
  g_autoptr (GError) error = NULL;

  g_clear_handle_id (&runner->flush_id, g_source_remove);
  g_clear_handle_id (&runner->flush_due_id, g_source_remove);
  runner->flush_failing = FALSE;
  if (!stox_store_flush (runner->store, &error))
    {
      /* The queue is kept (disk full, a lock held elsewhere): try again
       * on a timer, not only when the next event stores something, since
       * a quiet gateway may have nothing more to store for hours (and a
       * watcher dialog's reserved CSeq block must land). */
      runner->stats.store_flush_failures++;
      g_warning ("state not saved, retrying in %u s: %s", STOX_RUNNER_FLUSH_RETRY_S,
                 error->message);
      runner->flush_id = g_timeout_add_seconds_full (G_PRIORITY_LOW, STOX_RUNNER_FLUSH_RETRY_S,
                                                     flush_store, runner, NULL);
      runner->flush_failing = TRUE;
    }
  return G_SOURCE_REMOVE;
}

static void
schedule_flush (StoxRunner *runner)
{
  /* While a failed write waits for its retry, nothing sooner. */
  if (runner->flush_failing)
    return;
  if (runner->flush_id == 0)
    runner->flush_id = g_idle_add_full (G_PRIORITY_LOW, flush_store, runner, NULL);
  if (runner->flush_due_id == 0)
    runner->flush_due_id = g_timeout_add_full (G_PRIORITY_DEFAULT, STOX_RUNNER_FLUSH_MAX_DELAY_MS,
                                               flush_store, runner, NULL);
}

void
stox_runner_on_sip_dialog (StoxToken id, const char *state, gpointer user_data)
{
  StoxRunner *runner = user_data;

  if (runner->store == NULL)
    return;
  stox_store_queue_dialog (runner->store, id, state);
  schedule_flush (runner);
}

void
stox_runner_flush (StoxRunner *runner)
{
  g_clear_handle_id (&runner->flush_id, g_source_remove);
  g_clear_handle_id (&runner->flush_due_id, g_source_remove);
  runner->flush_failing = FALSE;
  if (runner->store != NULL && stox_store_pending (runner->store) > 0)
    flush_store (runner);
}

/* ------------------------------------------------------------------ */
/* The core's actions                                                  */

static void
execute_one (StoxRunner *runner, StoxAction *a)
{
  switch (a->kind)
    {
    case STOX_ACTION_SIP_RESPOND:
      stox_debug ("SIP %" G_GUINT64_FORMAT " ← %u %s", a->u.respond.token,
                  a->u.respond.status, a->u.respond.phrase);
      if (runner->sip != NULL)
        stox_sip_endpoint_respond (runner->sip, &a->u.respond);
      break;
    case STOX_ACTION_SIP_MESSAGE:
      stox_debug ("SIP %" G_GUINT64_FORMAT " → MESSAGE %s", a->u.message.token,
                  a->u.message.request_uri);
      if (runner->sip != NULL)
        stox_sip_endpoint_send_message (runner->sip, &a->u.message);
      break;
    case STOX_ACTION_SIP_SUBSCRIBE:
      stox_debug ("SIP %" G_GUINT64_FORMAT " → SUBSCRIBE %s (Expires %u)",
                  a->u.subscribe.dialog, a->u.subscribe.request_uri, a->u.subscribe.expires);
      if (runner->sip != NULL)
        stox_sip_endpoint_subscribe (runner->sip, &a->u.subscribe);
      break;
    case STOX_ACTION_SIP_NOTIFY:
      stox_debug ("SIP %" G_GUINT64_FORMAT " → NOTIFY in dialog %" G_GUINT64_FORMAT,
                  a->u.notify.token, a->u.notify.dialog);
      if (runner->sip != NULL)
        stox_sip_endpoint_notify (runner->sip, &a->u.notify);
      break;
    case STOX_ACTION_STORE:
      if (runner->store != NULL)
        {
          stox_store_queue (runner->store, &a->u.store);
          schedule_flush (runner);
        }
      break;
    case STOX_ACTION_XMPP_SEND:
      {
        g_autoptr (GError) error = NULL;
        SendFailed failed = { .why = STOX_XMPP_SEND_FAILED_LINK };

        if (runner->xmpp == NULL)
          g_set_error (&error, STOX_XMPP_COMPONENT_ERROR, STOX_XMPP_COMPONENT_ERROR_DOWN,
                       "no XMPP link");
        else if (stox_xmpp_component_send (runner->xmpp, a->u.stanza, &error))
          break;
        /* Two causes, told apart: the link (down, or its queue full),
         * which a later try may pass, and a stanza that cannot be
         * encoded, which is ours to fix. */
        if (g_error_matches (error, STOX_XMPP_COMPONENT_ERROR,
                             STOX_XMPP_COMPONENT_ERROR_INVALID))
          {
            failed.why = STOX_XMPP_SEND_FAILED_INVALID;
            g_message ("stanza%s%s to %s not sent: it cannot be encoded: %s",
                       a->u.stanza->id != NULL ? " " : "",
                       a->u.stanza->id != NULL ? a->u.stanza->id : "",
                       a->u.stanza->to, error->message);
          }
        else
          g_info ("stanza%s%s to %s not sent: %s",
                  a->u.stanza->id != NULL ? " " : "",
                  a->u.stanza->id != NULL ? a->u.stanza->id : "",
                  a->u.stanza->to, error->message);
        failed.stanza = g_steal_pointer (&a->u.stanza);
        g_array_append_val (runner->failed, failed);
      }
      break;
    }
}

/* Carries out runner->actions and empties it.  The failed sends among
 * them go to the head of the queue, in their order, so they are the next
 * events: each its own trip into the core (the answer it owes its SIP
 * transaction), as if the component had reported it. */
static void
execute (StoxRunner *runner)
{
  GPtrArray *actions = runner->actions;

  for (guint i = 0; i < actions->len; i++)
    execute_one (runner, actions->pdata[i]);
  g_ptr_array_set_size (actions, 0);

  for (guint i = runner->failed->len; i > 0; i--)
    {
      Event ev = { .kind = EVENT_SEND_FAILED,
                   .u.failed = g_array_index (runner->failed, SendFailed, i - 1) };

      ring_push_head (&runner->events, &ev);
    }
  g_array_set_size (runner->failed, 0);
}

/* ------------------------------------------------------------------ */
/* Events into the core                                                */

/* The latency each front-end event is measured under (stats.latency);
 * the failed sends are the runner's own. */
static const int latency_kind[] = {
  [EVENT_SIP_REQUEST] = STOX_RUNNER_EVENT_SIP_REQUEST,
  [EVENT_SIP_RESPONSE] = STOX_RUNNER_EVENT_SIP_RESPONSE,
  [EVENT_STANZA] = STOX_RUNNER_EVENT_STANZA,
  [EVENT_LINK] = STOX_RUNNER_EVENT_LINK,
  [EVENT_SEND_FAILED] = -1,
};

/* One event: down into the core, its actions back up; then the time from
 * its arrival to here (queueing, the core, carrying the actions out). */
static void
handle (StoxRunner *runner,
        Event      *ev)
{
  gint64 now = g_get_monotonic_time ();

  switch (ev->kind)
    {
    case EVENT_SIP_REQUEST:
      {
        const StoxSipRequest *req = ev->u.request;

        stox_debug ("SIP %" G_GUINT64_FORMAT " → %s %s from %s (%s)", req->token,
                    req->method_name != NULL ? req->method_name : "request",
                    req->request_uri, req->from_uri, req->source);
        stox_gateway_on_sip (runner->gw, req, now, runner->actions);
      }
      break;
    case EVENT_SIP_RESPONSE:
      stox_debug ("SIP %" G_GUINT64_FORMAT " ← %u %s", ev->u.response.token,
                  ev->u.response.status, ev->u.response.phrase);
      stox_gateway_on_sip_response (runner->gw, &ev->u.response, now, runner->actions);
      break;
    case EVENT_STANZA:
      stox_gateway_on_stanza (runner->gw, ev->u.stanza, now, runner->actions);
      break;
    case EVENT_LINK:
      stox_gateway_on_link (runner->gw, ev->u.link.up, ev->u.link.retry_in_s, now,
                            runner->actions);
      break;
    case EVENT_SEND_FAILED:
      stox_gateway_on_xmpp_send_failed (runner->gw, ev->u.failed.stanza, ev->u.failed.why, now,
                                        runner->actions);
      break;
    }
  execute (runner);
  if (latency_kind[ev->kind] >= 0)
    stox_histogram_observe (&runner->stats.latency[latency_kind[ev->kind]],
                            g_get_monotonic_time () - ev->arrived);
}

/* Back-pressure (runner.h): after every batch, the component is read or
 * not by the SIP requests in flight. */
static void
set_paused (StoxRunner *runner,
            gboolean    paused,
            gint64      now)
{
  if (paused)
    runner->paused_since = now;
  else
    runner->window_paused += now - runner->paused_since;
  runner->paused = paused;
  stox_xmpp_component_set_reading (runner->xmpp, !paused);
}

static void
flow (StoxRunner *runner)
{
  if (runner->max_in_flight == 0 || runner->sip == NULL || runner->xmpp == NULL)
    return;

  gint64 now = g_get_monotonic_time ();
  guint in_flight = stox_sip_endpoint_requests_in_flight (runner->sip) + runner->stanzas_queued;
  guint low_mark = runner->max_in_flight / 4 * 3;
  gboolean low = in_flight <= low_mark;

  if (runner->shedding)
    {
      /* Long enough to empty what waits in the kernel. */
      if (low && now - runner->shed_since >= G_USEC_PER_SEC)
        {
          runner->shedding = FALSE;
          runner->window_start = now;
          runner->window_paused = 0;
          stox_gateway_set_sip_overloaded (runner->gw, FALSE);
          g_message ("SIP requests in flight down to %u: messages toward SIP are taken again",
                     in_flight);
        }
      return;
    }

  if (!runner->paused && in_flight >= runner->max_in_flight)
    set_paused (runner, TRUE, now);
  else if (runner->paused && low)
    set_paused (runner, FALSE, now);

  /* The stall window: reading off nearly all of it means the SIP side
   * has not kept up for that long, a backlog is waiting at the XMPP
   * server, and a burst has turned into overload (runner.h). */
  if (now - runner->window_start < STOX_RUNNER_STALL_S * G_USEC_PER_SEC)
    return;
  gint64 off = runner->window_paused + (runner->paused ? now - runner->paused_since : 0);
  gint64 length = now - runner->window_start;

  runner->window_start = now;
  runner->window_paused = 0;
  if (runner->paused)
    runner->paused_since = now;
  if (off * 10 < length * 9)
    return;
  if (runner->paused)
    set_paused (runner, FALSE, now);
  runner->shedding = TRUE;
  runner->shed_since = now;
  stox_gateway_set_sip_overloaded (runner->gw, TRUE);
  g_message ("the SIP side has not kept up for %d s (%u requests without an answer): "
             "messages toward SIP get resource-constraint until they are down to %u",
             STOX_RUNNER_STALL_S, in_flight, low_mark);
}

/* Up to `limit` events, plus the failed sends their actions left at the
 * head: those belong to the event that caused them. */
static void
drain (StoxRunner *runner,
       guint       limit)
{
  Event ev;
  guint n = 0;

  /* Every caller runs from the loop, outside the core and the runner:
   * if this ever recursed, an event would overtake the one in hand. */
  g_return_if_fail (!runner->draining);
  runner->draining = TRUE;
  while ((n < limit || ring_head_is (&runner->events, EVENT_SEND_FAILED))
         && ring_pop_head (&runner->events, &ev))
    {
      if (ev.kind != EVENT_SEND_FAILED)
        n++;
      if (ev.kind == EVENT_STANZA)
        runner->stanzas_queued--;
      handle (runner, &ev);
      event_clear (&ev);
    }
  runner->draining = FALSE;
  flow (runner);
}

/* The front ends' GSources call this at the end of each dispatch. */
static void
frontend_dispatched (gpointer user_data)
{
  drain (user_data, STOX_RUNNER_EVENTS_PER_PASS);
}

void
stox_runner_on_sip_request (StoxSipRequest *req, gpointer user_data)
{
  StoxRunner *runner = user_data;
  Event ev = { .kind = EVENT_SIP_REQUEST, .arrived = g_get_monotonic_time (), .u.request = req };

  ring_push_tail (&runner->events, &ev);
}

void
stox_runner_on_sip_response (const StoxSipResponse *resp, gpointer user_data)
{
  StoxRunner *runner = user_data;
  Event ev = { .kind = EVENT_SIP_RESPONSE, .arrived = g_get_monotonic_time (),
               .u.response = *resp };

  ev.u.response.phrase = g_strdup (resp->phrase);
  ev.u.response.warning = g_strdup (resp->warning);
  ring_push_tail (&runner->events, &ev);
}

void
stox_runner_on_stanza (StoxStanza *st, gpointer user_data)
{
  StoxRunner *runner = user_data;
  Event ev = { .kind = EVENT_STANZA, .arrived = g_get_monotonic_time (), .u.stanza = st };

  ring_push_tail (&runner->events, &ev);
  runner->stanzas_queued++;
}

void
stox_runner_on_link (StoxRunner *runner, gboolean up, guint retry_in_s)
{
  Event ev = { .kind = EVENT_LINK, .arrived = g_get_monotonic_time (),
               .u.link = { up, retry_in_s } };

  ring_push_tail (&runner->events, &ev);
}

guint
stox_runner_queued (StoxRunner *runner)
{
  return runner->events.len;
}

const StoxRunnerStats *
stox_runner_get_stats (StoxRunner *runner)
{
  return &runner->stats;
}

/* ------------------------------------------------------------------ */
/* The runner's GSource                                                */

/* Ready when events wait or a core deadline is due.  The deadline is read
 * when the loop prepares its poll, not pushed with
 * g_source_set_ready_time(): that call writes the context's wake-up
 * eventfd whenever the time changes, and the deadline changes with nearly
 * every message (three syscalls and one extra loop pass per message under
 * load, bench/README.md). */
typedef struct
{
  GSource     source;
  StoxRunner *runner;
} RunnerSource;

static gboolean
source_prepare (GSource *source, gint *timeout)
{
  StoxRunner *runner = ((RunnerSource *) source)->runner;

  gint64 deadline = stox_gateway_next_deadline (runner->gw);

  if (runner->events.len > 0)
    {
      *timeout = 0;
      return TRUE;
    }
  /* Reading off, or refusing: flow() looks again at the end of the
   * stall window, or a second on. */
  if (runner->paused || runner->shedding)
    {
      gint64 next = runner->shedding ? runner->shed_since + G_USEC_PER_SEC
                                     : runner->window_start
                                       + STOX_RUNNER_STALL_S * G_USEC_PER_SEC;

      deadline = deadline < 0 ? next : MIN (deadline, next);
    }
  return stox_deadline_due (deadline, g_source_get_time (source), timeout);
}

static gboolean
source_check (GSource *source)
{
  gint timeout;

  return source_prepare (source, &timeout);
}

static gboolean
source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  StoxRunner *runner = ((RunnerSource *) source)->runner;
  gint64 deadline;

  drain (runner, STOX_RUNNER_EVENTS_PER_PASS);

  deadline = stox_gateway_next_deadline (runner->gw);
  if (deadline >= 0 && deadline <= g_get_monotonic_time ())
    {
      stox_gateway_on_timer (runner->gw, g_get_monotonic_time (), runner->actions);
      execute (runner);
    }
  if (runner->paused || runner->shedding)
    flow (runner);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs source_funcs = {
  .prepare = source_prepare,
  .check = source_check,
  .dispatch = source_dispatch,
};

/* ------------------------------------------------------------------ */
/* Life                                                                */

StoxRunner *
stox_runner_new (StoxGateway *gw)
{
  StoxRunner *runner = g_new0 (StoxRunner, 1);

  runner->gw = gw;
  runner->actions = stox_actions_new ();
  runner->failed = g_array_new (FALSE, FALSE, sizeof (SendFailed));
  runner->source = g_source_new (&source_funcs, sizeof (RunnerSource));
  ((RunnerSource *) runner->source)->runner = runner;
  g_source_set_name (runner->source, "stox core events and deadlines");
  g_source_attach (runner->source, NULL);
  return runner;
}

void
stox_runner_free (StoxRunner *runner)
{
  if (runner == NULL)
    return;
  stox_runner_set_frontends (runner, NULL, NULL);
  g_clear_handle_id (&runner->flush_id, g_source_remove);
  g_clear_handle_id (&runner->flush_due_id, g_source_remove);
  g_source_destroy (runner->source);
  g_source_unref (runner->source);
  ring_clear (&runner->events);
  g_ptr_array_unref (runner->actions);
  g_array_unref (runner->failed);
  g_free (runner);
}

void
stox_runner_set_max_in_flight (StoxRunner *runner, guint max)
{
  runner->max_in_flight = max;
  runner->window_start = g_get_monotonic_time ();
  runner->window_paused = 0;
  if (max == 0 && runner->paused)
    {
      runner->paused = FALSE;
      if (runner->xmpp != NULL)
        stox_xmpp_component_set_reading (runner->xmpp, TRUE);
    }
  if (max == 0 && runner->shedding)
    {
      runner->shedding = FALSE;
      stox_gateway_set_sip_overloaded (runner->gw, FALSE);
    }
  flow (runner);
}

void
stox_runner_set_store (StoxRunner *runner, StoxStore *store)
{
  runner->store = store;
}

/* A stanza the component had queued but not written when the link fell:
 * the same event as a send that failed at once, and the same answer
 * (stoxd(8): 503 inside the bounce window, the late notice after). */
static void
on_unsent (StoxStanza *st, gpointer user_data)
{
  StoxRunner *runner = user_data;
  Event ev = { .kind = EVENT_SEND_FAILED, .u.stanza = st };

  ring_push_tail (&runner->events, &ev);
}

void
stox_runner_set_frontends (StoxRunner        *runner,
                           StoxSipEndpoint   *sip,
                           StoxXmppComponent *xmpp)
{
  if (runner->sip != NULL)
    stox_sip_endpoint_set_dispatch_func (runner->sip, NULL, NULL);
  if (runner->xmpp != NULL)
    {
      stox_xmpp_component_set_dispatch_func (runner->xmpp, NULL, NULL);
      stox_xmpp_component_set_unsent_func (runner->xmpp, NULL, NULL);
    }
  runner->sip = sip;
  runner->xmpp = xmpp;
  runner->paused = FALSE;
  if (sip != NULL)
    stox_sip_endpoint_set_dispatch_func (sip, frontend_dispatched, runner);
  if (xmpp != NULL)
    {
      stox_xmpp_component_set_dispatch_func (xmpp, frontend_dispatched, runner);
      stox_xmpp_component_set_unsent_func (xmpp, on_unsent, runner);
    }
}

void
stox_runner_restore (const StoxStoreRecord *record, gpointer user_data)
{
  StoxRunner *runner = user_data;

  stox_gateway_restore (runner->gw, record, g_get_monotonic_time (), runner->actions);
  execute (runner);
}

void
stox_runner_shutdown (StoxRunner *runner)
{
  /* What came before the stop is handled before it, as it arrived. */
  drain (runner, G_MAXUINT);
  stox_gateway_on_shutdown (runner->gw, g_get_monotonic_time (), runner->actions);
  execute (runner);
  drain (runner, G_MAXUINT);
}
