/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "runner.h"

#include "core/deadline.h"

struct _StoxRunner
{
  StoxGateway       *gw;
  StoxSipEndpoint   *sip;
  StoxXmppComponent *xmpp;
  StoxStore         *store;
  GSource           *timer;
  guint              flush_id;
};

static void execute (StoxRunner *runner, GPtrArray *actions);

/* The core's next deadline is read when the loop prepares its poll, not
 * pushed with g_source_set_ready_time(): that call writes the context's
 * wake-up eventfd whenever the time changes, and the deadline changes
 * with nearly every message (three syscalls and one extra loop pass per
 * message under load, bench/README.md). */
typedef struct
{
  GSource     source;
  StoxRunner *runner;
} TimerSource;

static gboolean
timer_due (GSource *source, gint *timeout)
{
  TimerSource *self = (TimerSource *) source;

  return stox_deadline_due (stox_gateway_next_deadline (self->runner->gw),
                            g_source_get_time (source), timeout);
}

static gboolean
timer_check (GSource *source)
{
  gint timeout;

  return timer_due (source, &timeout);
}

static gboolean
timer_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  StoxRunner *runner = ((TimerSource *) source)->runner;
  g_autoptr (GPtrArray) actions = stox_actions_new ();

  stox_gateway_on_timer (runner->gw, g_get_monotonic_time (), actions);
  execute (runner, actions);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_funcs = {
  .prepare = timer_due,
  .check = timer_check,
  .dispatch = timer_dispatch,
};

StoxRunner *
stox_runner_new (StoxGateway *gw)
{
  StoxRunner *runner = g_new0 (StoxRunner, 1);

  runner->gw = gw;
  runner->timer = g_source_new (&timer_funcs, sizeof (TimerSource));
  ((TimerSource *) runner->timer)->runner = runner;
  g_source_set_name (runner->timer, "stox core deadlines");
  g_source_attach (runner->timer, NULL);
  return runner;
}

/* One transaction for everything a burst of events stored: the flush
 * runs when the loop has nothing more urgent to do. */
static gboolean
flush_store (gpointer user_data)
{
  StoxRunner *runner = user_data;
  g_autoptr (GError) error = NULL;

  runner->flush_id = 0;
  if (!stox_store_flush (runner->store, &error))
    {
      /* The queue is kept (disk full, a lock held elsewhere): try again
       * on a timer, not only when the next event stores something, since
       * a quiet gateway may have nothing more to store for hours (and a
       * watcher dialog's reserved CSeq block must land). */
      g_warning ("state not saved, retrying in %u s: %s", STOX_RUNNER_FLUSH_RETRY_S,
                 error->message);
      runner->flush_id = g_timeout_add_seconds_full (G_PRIORITY_LOW, STOX_RUNNER_FLUSH_RETRY_S,
                                                     flush_store, runner, NULL);
    }
  return G_SOURCE_REMOVE;
}

static void
schedule_flush (StoxRunner *runner)
{
  if (runner->flush_id == 0)
    runner->flush_id = g_idle_add_full (G_PRIORITY_LOW, flush_store, runner, NULL);
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
  if (runner->store != NULL && stox_store_pending (runner->store) > 0)
    flush_store (runner);
}

void
stox_runner_free (StoxRunner *runner)
{
  if (runner == NULL)
    return;
  g_clear_handle_id (&runner->flush_id, g_source_remove);
  g_source_destroy (runner->timer);
  g_source_unref (runner->timer);
  g_free (runner);
}

void
stox_runner_set_store (StoxRunner *runner, StoxStore *store)
{
  runner->store = store;
}

void
stox_runner_set_frontends (StoxRunner        *runner,
                           StoxSipEndpoint   *sip,
                           StoxXmppComponent *xmpp)
{
  runner->sip = sip;
  runner->xmpp = xmpp;
}

static void
execute_one (StoxRunner *runner, StoxAction *a, GPtrArray **more)
{
  switch (a->kind)
    {
    case STOX_ACTION_SIP_RESPOND:
      g_debug ("SIP %" G_GUINT64_FORMAT " ← %u %s", a->u.respond.token,
               a->u.respond.status, a->u.respond.phrase);
      if (runner->sip != NULL)
        stox_sip_endpoint_respond (runner->sip, &a->u.respond);
      break;
    case STOX_ACTION_SIP_REQUEST:
      g_debug ("SIP %" G_GUINT64_FORMAT " → MESSAGE %s", a->u.request.token,
               a->u.request.request_uri);
      if (runner->sip != NULL)
        stox_sip_endpoint_send (runner->sip, &a->u.request);
      break;
    case STOX_ACTION_SIP_SUBSCRIBE:
      g_debug ("SIP %" G_GUINT64_FORMAT " → SUBSCRIBE %s (Expires %u)", a->u.subscribe.dialog,
               a->u.subscribe.request_uri, a->u.subscribe.expires);
      if (runner->sip != NULL)
        stox_sip_endpoint_subscribe (runner->sip, &a->u.subscribe);
      break;
    case STOX_ACTION_SIP_NOTIFY:
      g_debug ("SIP %" G_GUINT64_FORMAT " → NOTIFY in dialog %" G_GUINT64_FORMAT,
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
      if (runner->xmpp == NULL ||
          !stox_xmpp_component_send (runner->xmpp, a->u.stanza))
        {
          g_info ("stanza %s to %s not sent: XMPP link down or congested",
                  a->u.stanza->id, a->u.stanza->to);
          if (*more == NULL)
            *more = stox_actions_new ();
          stox_gateway_on_xmpp_send_failed (runner->gw, a->u.stanza,
                                            g_get_monotonic_time (), *more);
        }
      break;
    }
}

static void
execute (StoxRunner *runner, GPtrArray *actions)
{
  /* Only a failed send adds actions: no array per event otherwise. */
  g_autoptr (GPtrArray) more = NULL;

  for (guint i = 0; i < actions->len; i++)
    execute_one (runner, actions->pdata[i], &more);
  /* A failed send yields SIP actions only, so this recursion ends. */
  if (more != NULL && more->len > 0)
    execute (runner, more);
}

void
stox_runner_on_sip_request (const StoxSipRequest *req, gpointer user_data)
{
  StoxRunner *runner = user_data;
  g_autoptr (GPtrArray) actions = stox_actions_new ();

  g_debug ("SIP %" G_GUINT64_FORMAT " → %s %s from %s (%s)", req->token,
           req->method_name != NULL ? req->method_name : "request",
           req->request_uri, req->from_uri, req->source);
  stox_gateway_on_sip (runner->gw, req, g_get_monotonic_time (), actions);
  execute (runner, actions);
}

void
stox_runner_on_sip_response (const StoxSipResponse *resp, gpointer user_data)
{
  StoxRunner *runner = user_data;
  g_autoptr (GPtrArray) actions = stox_actions_new ();

  g_debug ("SIP %" G_GUINT64_FORMAT " ← %u %s", resp->token, resp->status, resp->phrase);
  stox_gateway_on_sip_response (runner->gw, resp, g_get_monotonic_time (), actions);
  execute (runner, actions);
}

void
stox_runner_on_stanza (const StoxStanza *st, gpointer user_data)
{
  StoxRunner *runner = user_data;
  g_autoptr (GPtrArray) actions = stox_actions_new ();

  stox_gateway_on_stanza (runner->gw, st, g_get_monotonic_time (), actions);
  execute (runner, actions);
}

void
stox_runner_on_link (StoxRunner *runner, gboolean up, guint retry_in_s)
{
  g_autoptr (GPtrArray) actions = stox_actions_new ();

  stox_gateway_on_link (runner->gw, up, retry_in_s, g_get_monotonic_time (), actions);
  execute (runner, actions);
}

void
stox_runner_restore (const StoxStoreRecord *record, gpointer user_data)
{
  StoxRunner *runner = user_data;
  g_autoptr (GPtrArray) actions = stox_actions_new ();

  stox_gateway_restore (runner->gw, record, g_get_monotonic_time (), actions);
  execute (runner, actions);
}

void
stox_runner_shutdown (StoxRunner *runner)
{
  g_autoptr (GPtrArray) actions = stox_actions_new ();

  stox_gateway_on_shutdown (runner->gw, g_get_monotonic_time (), actions);
  execute (runner, actions);
}
