/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * In-process throughput and memory of the engine (bench/README.md): events
 * go straight into stox_gateway_on_*() with a synthetic monotonic clock, a
 * scripted "peer" answers every request the gateway emits, and the wall
 * time of each phase is measured with g_get_monotonic_time() (here only:
 * src/core never reads a clock).  Building the event structs is counted in
 * the time, as the front ends would do that work too.
 *
 * Phases:
 *   s2x        MESSAGE → <message/>; the bounce window (250 ms) closes
 *              through on_timer with 202.  Offered at --rate on the
 *              synthetic clock.
 *   s2x-bounce bounce-wait 0, each MESSAGE answered 202 at once, then an
 *              XMPP service-unavailable bounce, the late-bounce MESSAGE
 *              back and its 200: the path bench-wire.sh drives.
 *   x2s        <message/> → MESSAGE and its 200.
 *   sustain    s2x at --rate for --sustain seconds of synthetic time with
 *              no bounce: answered MESSAGEs stay remembered for a late
 *              bounce (60 s) and count against max_pending.
 *   watch      --subs SIP watchers (SUBSCRIBE, pending NOTIFY, approval,
 *              one presence update), each NOTIFY answered 200.
 *   follow     --subs XMPP users following SIP users (presence subscribe,
 *              SUBSCRIBE 200, one NOTIFY with PIDF).
 *   expire     the clock steps by 1 s: watchers expire (terminated
 *              NOTIFY, answered 200); follows reach their refresh timer
 *              and the refresh is answered 403, which ends them.
 *   round 2    watch + follow + expire again with the same users: the
 *              resident memory growth of this round shows a leak.
 *
 * Output: a table on stdout, and "RESULT key value" lines for bench/run.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gateway.h"
#include "daemon/rules-dir.h"

#define S  (G_USEC_PER_SEC)
#define T0 (G_GINT64_CONSTANT (1000000000000))
#define USERS 1000

typedef struct
{
  guint         messages;
  guint         subs;
  guint         rate;
  guint         sustain_s;
  const char   *rules_dir;
  StoxRules    *rules;

  /* the gateway under test and its synthetic clock */
  StoxGateway  *gw;
  gint64        now;
  StoxToken     next_token;   /* incoming requests (the SIP front end's ids) */

  /* what the scripted peer answers to the gateway's SUBSCRIBEs */
  guint         subscribe_status;
  guint         subscribe_expires_base;

  /* counters of one phase */
  guint64       events;
  guint64       responses[700];
  guint64       stanzas;
  guint64       requests;
  guint64       notifies;
  guint64       subscribes;
  guint64       stores;
  char         *last_stanza_id;
  StoxToken     last_subscribe_dialog;
} Bench;

/* ---- measuring ----------------------------------------------------------- */

static long
rss_kib (void)
{
  g_autofree char *text = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return -1;
  line = strstr (text, "\nVmRSS:");
  return line != NULL ? strtol (line + strlen ("\nVmRSS:"), NULL, 10) : -1;
}

static void
counters_reset (Bench *b)
{
  b->events = 0;
  memset (b->responses, 0, sizeof b->responses);
  b->stanzas = b->requests = b->notifies = b->subscribes = b->stores = 0;
}

static void
report (const char *phase, guint64 items, const char *unit, guint64 events, gint64 wall_us,
        const char *note)
{
  double s = (double) wall_us / S;

  printf ("%-11s %8" G_GUINT64_FORMAT " %-6s %9" G_GUINT64_FORMAT " %7.2f %12.0f %12.0f  %s\n",
          phase, items, unit, events, s, events / s, items / s, note != NULL ? note : "");
  printf ("RESULT %s.events_per_s %.0f\n", phase, events / s);
  printf ("RESULT %s.items_per_s %.0f\n", phase, items / s);
}

/* ---- the scripted peer --------------------------------------------------- */

/* Counts what the gateway emitted and answers its SIP requests: 200 to
 * MESSAGEs and NOTIFYs, subscribe_status to SUBSCRIBEs.  Answers may emit
 * more actions; settles until none is left. */
static void
settle (Bench *b, GPtrArray *actions)
{
  while (actions->len > 0)
    {
      g_autoptr (GPtrArray) todo = stox_actions_new ();

      for (guint i = 0; i < actions->len; i++)
        {
          StoxAction *a = actions->pdata[i];
          StoxSipResponse resp = { .status = 200, .phrase = (char *) "OK",
                                   .expires = -1, .min_expires = -1 };

          switch (a->kind)
            {
            case STOX_ACTION_SIP_RESPOND:
              b->responses[MIN (a->u.respond.status, G_N_ELEMENTS (b->responses) - 1)]++;
              break;
            case STOX_ACTION_XMPP_SEND:
              b->stanzas++;
              if (a->u.stanza->kind == STOX_STANZA_MESSAGE)
                {
                  g_free (b->last_stanza_id);
                  b->last_stanza_id = g_strdup (a->u.stanza->id);
                }
              break;
            case STOX_ACTION_SIP_MESSAGE:
              b->requests++;
              resp.token = a->u.message.token;
              stox_gateway_on_sip_response (b->gw, &resp, b->now, todo);
              b->events++;
              break;
            case STOX_ACTION_SIP_NOTIFY:
              b->notifies++;
              resp.token = a->u.notify.token;
              stox_gateway_on_sip_response (b->gw, &resp, b->now, todo);
              b->events++;
              break;
            case STOX_ACTION_SIP_SUBSCRIBE:
              b->subscribes++;
              b->last_subscribe_dialog = a->u.subscribe.dialog;
              resp.token = a->u.subscribe.dialog;
              if (a->u.subscribe.expires == 0)
                resp.expires = 0;
              else if (b->subscribe_status < 300)
                resp.expires = b->subscribe_expires_base;
              else
                {
                  resp.status = b->subscribe_status;
                  resp.phrase = (char *) "Forbidden";
                }
              stox_gateway_on_sip_response (b->gw, &resp, b->now, todo);
              b->events++;
              break;
            case STOX_ACTION_STORE:
              b->stores++;
              break;
            }
        }
      g_ptr_array_set_size (actions, 0);
      g_ptr_array_extend_and_steal (actions, g_steal_pointer (&todo));
    }
}

/* on_timer whenever the engine has something due, as the daemon's timeout
 * source would. */
static void
run_timers (Bench *b, GPtrArray *actions)
{
  gint64 due = stox_gateway_next_deadline (b->gw);

  if (due >= 0 && due <= b->now)
    {
      stox_gateway_on_timer (b->gw, b->now, actions);
      b->events++;
      settle (b, actions);
    }
}

/* ---- the gateway --------------------------------------------------------- */

/* The daemon's own loader: the rules stoxd runs with. */
static StoxRules *
load_rules (const char *dir)
{
  g_autoptr (GError) error = NULL;
  StoxRules *rules = stox_config_load_rules (dir, &error);

  if (rules == NULL)
    g_error ("%s", error->message);
  return rules;
}

static void
gateway_start (Bench *b, guint bounce_wait_ms)
{
  static const char *const xmpp_domains[] = { "xmpp.test", NULL };
  StoxGatewayConfig config = {
    .sip_domain = "sip.test",
    .component = "sip.test",
    .xmpp_domains = xmpp_domains,
    .bounce_wait_ms = bounce_wait_ms,
    .instance = "bench",
    /* capacity, not policy: one scripted proxy carries every watcher */
    .max_subscriptions_per_source = STOX_GATEWAY_MAX_PENDING_DEFAULT,
    .max_subscriptions_per_watcher = STOX_GATEWAY_MAX_PENDING_DEFAULT,
    .max_subscriptions_per_user = STOX_GATEWAY_MAX_PENDING_DEFAULT,
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) actions = stox_actions_new ();

  g_clear_pointer (&b->gw, stox_gateway_free);
  b->gw = stox_gateway_new (&config, b->rules, &error);
  if (b->gw == NULL)
    g_error ("%s", error->message);
  b->now = T0;
  stox_gateway_on_link (b->gw, TRUE, 0, b->now, actions);
  settle (b, actions);
}

/* ---- events -------------------------------------------------------------- */

static StoxSipRequest *
sip_request_new (Bench *b, StoxSipMethod method, const char *name, char *from, char *to)
{
  StoxSipRequest *req = stox_sip_request_new ();

  req->token = ++b->next_token;
  req->method = method;
  req->method_name = g_strdup (name);
  req->request_uri = g_strdup (to);
  req->from_uri = from;
  /* the trusted proxy asserts every user, as presence requires */
  req->asserted_uri = g_strdup (from);
  req->to_uri = to;
  req->source = g_strdup ("127.0.0.1");
  return req;
}

static void
sip_message (Bench *b, guint i, GPtrArray *actions)
{
  g_autoptr (StoxSipRequest) req =
    sip_request_new (b, STOX_SIP_METHOD_MESSAGE, "MESSAGE",
                     g_strdup_printf ("sip:alice%u@sip.test", i % USERS),
                     g_strdup_printf ("sip:bob%u@xmpp.test", i % USERS));
  g_autofree char *body = g_strdup_printf ("bench message %u", i);

  req->call_id = g_strdup_printf ("%u@bench", i);
  req->content_type = g_strdup ("text/plain");
  req->charset = g_strdup ("UTF-8");
  req->body = g_bytes_new (body, strlen (body));
  stox_gateway_on_sip (b->gw, req, b->now, actions);
  b->events++;
}

static void
xmpp_stanza (Bench *b, StoxStanza *st, GPtrArray *actions)
{
  stox_gateway_on_stanza (b->gw, st, b->now, actions);
  stox_stanza_free (st);
  b->events++;
}

static StoxStanza *
presence_new (const char *type, char *from, char *to)
{
  StoxStanza *st = stox_stanza_new (STOX_STANZA_PRESENCE);

  st->type = g_strdup (type);
  st->from = from;
  st->to = to;
  return st;
}

/* ---- phases -------------------------------------------------------------- */

static void
phase_s2x (Bench *b)
{
  g_autoptr (GPtrArray) actions = stox_actions_new ();
  gint64 step = S / b->rate;
  gint64 t0;

  gateway_start (b, 250);
  counters_reset (b);
  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < b->messages; i++)
    {
      b->now += step;
      run_timers (b, actions);
      sip_message (b, i, actions);
      settle (b, actions);
    }
  b->now += 250 * 1000;
  run_timers (b, actions);
  gint64 wall = g_get_monotonic_time () - t0;
  g_autofree char *note = g_strdup_printf ("202: %" G_GUINT64_FORMAT ", 503: %" G_GUINT64_FORMAT
                                           " (offered %u/s synthetic)",
                                           b->responses[202], b->responses[503], b->rate);
  report ("s2x", b->messages, "msgs", b->events, wall, note);
  printf ("RESULT s2x.503 %" G_GUINT64_FORMAT "\n", b->responses[503]);
}

static void
phase_s2x_bounce (Bench *b)
{
  g_autoptr (GPtrArray) actions = stox_actions_new ();
  gint64 step = S / b->rate;
  guint64 notices;
  gint64 t0;

  gateway_start (b, 0);
  counters_reset (b);
  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < b->messages; i++)
    {
      b->now += step;
      run_timers (b, actions);
      sip_message (b, i, actions);
      settle (b, actions);

      StoxStanza *err = stox_stanza_new (STOX_STANZA_MESSAGE);
      err->type = g_strdup ("error");
      err->id = g_strdup (b->last_stanza_id);
      err->from = g_strdup_printf ("bob%u@xmpp.test", i % USERS);
      err->to = g_strdup_printf ("alice%u@sip.test", i % USERS);
      err->error_condition = g_strdup ("service-unavailable");
      err->error_type = g_strdup ("cancel");
      xmpp_stanza (b, err, actions);
      settle (b, actions);
    }
  gint64 wall = g_get_monotonic_time () - t0;
  notices = b->requests;
  g_autofree char *note = g_strdup_printf ("202: %" G_GUINT64_FORMAT ", late-bounce MESSAGEs: %"
                                           G_GUINT64_FORMAT " (the wire bench's path)",
                                           b->responses[202], notices);
  report ("s2x-bounce", b->messages, "msgs", b->events, wall, note);
}

static void
phase_x2s (Bench *b)
{
  g_autoptr (GPtrArray) actions = stox_actions_new ();
  gint64 step = S / b->rate;
  gint64 t0;

  gateway_start (b, 250);
  counters_reset (b);
  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < b->messages; i++)
    {
      StoxStanza *st = stox_stanza_new (STOX_STANZA_MESSAGE);

      b->now += step;
      run_timers (b, actions);
      st->type = g_strdup ("chat");
      st->id = g_strdup_printf ("m%u", i);
      st->from = g_strdup_printf ("bob%u@xmpp.test/phone", i % USERS);
      st->to = g_strdup_printf ("alice%u@sip.test", i % USERS);
      st->body = g_strdup_printf ("bench message %u", i);
      xmpp_stanza (b, st, actions);
      settle (b, actions);   /* the MESSAGE's 200 */
    }
  gint64 wall = g_get_monotonic_time () - t0;
  g_autofree char *note = g_strdup_printf ("MESSAGEs: %" G_GUINT64_FORMAT ", each answered 200",
                                           b->requests);
  report ("x2s", b->messages, "msgs", b->events, wall, note);
}

static void
phase_sustain (Bench *b)
{
  g_autoptr (GPtrArray) actions = stox_actions_new ();
  guint64 n = (guint64) b->rate * b->sustain_s;
  gint64 step = S / b->rate;
  guint64 first_503 = 0;
  gint64 t0;

  gateway_start (b, 250);
  counters_reset (b);
  t0 = g_get_monotonic_time ();
  for (guint64 i = 0; i < n; i++)
    {
      b->now += step;
      run_timers (b, actions);
      sip_message (b, (guint) i, actions);
      settle (b, actions);
      if (first_503 == 0 && b->responses[503] > 0)
        first_503 = i + 1;
    }
  b->now += 250 * 1000;
  run_timers (b, actions);
  gint64 wall = g_get_monotonic_time () - t0;
  double accepted = 100.0 * b->responses[202] / (double) n;
  g_autofree char *note =
    g_strdup_printf ("%u/s for %u s: 202 %.1f %%, 503 %.1f %%, first 503 after %.1f s",
                     b->rate, b->sustain_s, accepted, 100.0 * b->responses[503] / (double) n,
                     first_503 > 0 ? (double) first_503 / b->rate : -1.0);
  report ("sustain", n, "msgs", b->events, wall, note);
  printf ("RESULT sustain.accepted_pct %.1f\n", accepted);
  printf ("RESULT sustain.first_503_s %.1f\n",
          first_503 > 0 ? (double) first_503 / b->rate : -1.0);
}

static const char PIDF_FMT[] =
  "<?xml version='1.0' encoding='UTF-8'?>"
  "<presence xmlns='urn:ietf:params:xml:ns:pidf' entity='sip:sip%u@sip.test'>"
  "<tuple id='desk'><status><basic>open</basic></status>"
  "<note xml:lang='en'>bench %u</note></tuple></presence>";

/* SIP watcher i of xmpp user i % USERS: SUBSCRIBE, its pending NOTIFY
 * answered, the XMPP user's approval (active NOTIFY), one presence update
 * (NOTIFY with PIDF). */
static void
watch_one (Bench *b, guint i, GPtrArray *actions)
{
  g_autoptr (StoxSipRequest) req =
    sip_request_new (b, STOX_SIP_METHOD_SUBSCRIBE, "SUBSCRIBE",
                     g_strdup_printf ("sip:w%u@sip.test", i),
                     g_strdup_printf ("sip:u%u@xmpp.test", i % USERS));

  req->event = g_strdup ("presence");
  req->expires = 600 + i % 600;
  stox_gateway_on_sip (b->gw, req, b->now, actions);
  b->events++;
  settle (b, actions);

  xmpp_stanza (b, presence_new ("subscribed", g_strdup_printf ("u%u@xmpp.test", i % USERS),
                                g_strdup_printf ("w%u@sip.test", i)), actions);
  settle (b, actions);

  StoxStanza *st = presence_new (NULL, g_strdup_printf ("u%u@xmpp.test/desk", i % USERS),
                                 g_strdup_printf ("w%u@sip.test", i));
  st->show = g_strdup ("away");
  st->status = g_strdup_printf ("bench %u", i);
  st->lang = g_strdup ("en");
  xmpp_stanza (b, st, actions);
  settle (b, actions);
}

/* XMPP user x<i> follows SIP user sip<i % USERS>: presence subscribe, the
 * SUBSCRIBE answered 200, one NOTIFY with PIDF in that dialog. */
static void
follow_one (Bench *b, guint i, GPtrArray *actions)
{
  b->last_subscribe_dialog = 0;
  b->subscribe_expires_base = 600 + i % 600;
  xmpp_stanza (b, presence_new ("subscribe", g_strdup_printf ("x%u@xmpp.test/r", i),
                                g_strdup_printf ("sip%u@sip.test", i % USERS)), actions);
  settle (b, actions);
  if (b->last_subscribe_dialog == 0)
    return;   /* refused (at capacity): counted by the caller */

  g_autoptr (StoxSipRequest) req =
    sip_request_new (b, STOX_SIP_METHOD_NOTIFY, "NOTIFY",
                     g_strdup_printf ("sip:sip%u@sip.test", i % USERS),
                     g_strdup_printf ("sip:x%u@xmpp.test", i));
  g_autofree char *body = g_strdup_printf (PIDF_FMT, i % USERS, i);

  req->event = g_strdup ("presence");
  req->dialog = b->last_subscribe_dialog;
  req->substate = g_strdup ("active");
  req->substate_expires = -1;
  req->substate_retry_after = -1;
  req->content_type = g_strdup ("application/pidf+xml");
  req->body = g_bytes_new (body, strlen (body));
  stox_gateway_on_sip (b->gw, req, b->now, actions);
  b->events++;
  settle (b, actions);
}

static void
presence_round (Bench *b, guint round, GPtrArray *actions)
{
  StoxGatewayStats stats;
  long rss0, rss1, rss2, rss3;
  gint64 t0, wall;
  guint64 steps = 0;
  g_autofree char *name_w = g_strdup_printf ("watch%s", round > 1 ? "-r2" : "");
  g_autofree char *name_f = g_strdup_printf ("follow%s", round > 1 ? "-r2" : "");
  g_autofree char *name_e = g_strdup_printf ("expire%s", round > 1 ? "-r2" : "");

  /* watchers */
  rss0 = rss_kib ();
  counters_reset (b);
  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < b->subs; i++)
    watch_one (b, i, actions);
  wall = g_get_monotonic_time () - t0;
  rss1 = rss_kib ();
  stox_gateway_get_stats (b->gw, &stats);
  g_autofree char *note_w =
    g_strdup_printf ("alive %u; NOTIFYs %" G_GUINT64_FORMAT "; RSS +%.0f B each",
                     stats.watchers, b->notifies, (rss1 - rss0) * 1024.0 / b->subs);
  report (name_w, b->subs, "subs", b->events, wall, note_w);
  printf ("RESULT %s.rss_bytes_per_sub %.0f\n", name_w, (rss1 - rss0) * 1024.0 / b->subs);
  printf ("RESULT %s.alive %u\n", name_w, stats.watchers);

  /* follows */
  counters_reset (b);
  b->subscribe_status = 200;
  t0 = g_get_monotonic_time ();
  for (guint i = 0; i < b->subs; i++)
    follow_one (b, i, actions);
  wall = g_get_monotonic_time () - t0;
  rss2 = rss_kib ();
  stox_gateway_get_stats (b->gw, &stats);
  g_autofree char *note_f =
    g_strdup_printf ("alive %u; SUBSCRIBEs %" G_GUINT64_FORMAT "; RSS +%.0f B each",
                     stats.subscriptions, b->subscribes, (rss2 - rss1) * 1024.0 / b->subs);
  report (name_f, b->subs, "subs", b->events, wall, note_f);
  printf ("RESULT %s.rss_bytes_per_sub %.0f\n", name_f, (rss2 - rss1) * 1024.0 / b->subs);
  printf ("RESULT %s.alive %u\n", name_f, stats.subscriptions);

  /* expiry: 1 s steps until nothing is left (bounded) */
  guint64 alive = (guint64) stats.watchers + stats.subscriptions;
  counters_reset (b);
  b->subscribe_status = 403;
  t0 = g_get_monotonic_time ();
  for (; steps < 2 * 3600; steps++)
    {
      b->now += S;
      run_timers (b, actions);
      stox_gateway_get_stats (b->gw, &stats);
      if (stats.watchers == 0 && stats.subscriptions == 0)
        break;
    }
  wall = g_get_monotonic_time () - t0;
  rss3 = rss_kib ();
  g_autofree char *note_e =
    g_strdup_printf ("%" G_GUINT64_FORMAT " s synthetic; left %u+%u; RSS after %+ld KiB vs before",
                     steps, stats.watchers, stats.subscriptions, rss3 - rss0);
  report (name_e, alive, "subs", b->events, wall, note_e);
  printf ("RESULT %s.left %u\n", name_e, stats.watchers + stats.subscriptions);
  printf ("RESULT %s.rss_kib_after_vs_before %ld\n", name_e, rss3 - rss0);
  /* forget the ended dialogs (Timer N) too */
  b->now += 64 * S;
  run_timers (b, actions);
}

static void
phase_presence (Bench *b)
{
  g_autoptr (GPtrArray) actions = stox_actions_new ();
  long rss_start, rss_r1;

  gateway_start (b, 250);
  rss_start = rss_kib ();
  presence_round (b, 1, actions);
  rss_r1 = rss_kib ();
  presence_round (b, 2, actions);
  long growth = rss_kib () - rss_r1;
  printf ("%-11s RSS %+ld KiB after round 1 (approvals of %u watchers are kept), "
          "%+ld KiB more after an identical round 2\n",
          "memory", rss_r1 - rss_start, b->subs, growth);
  printf ("RESULT presence.rss_kib_round1 %ld\n", rss_r1 - rss_start);
  printf ("RESULT presence.rss_kib_round2_growth %ld\n", growth);
}

int
main (int argc, char **argv)
{
  Bench b = { .messages = 200000, .subs = 100000, .rate = 20000, .sustain_s = 75,
              .rules_dir = BENCH_RULES_DIR, .next_token = G_GUINT64_CONSTANT (1) << 40 };
  g_autofree char *only = NULL;
  g_autofree char *rules_dir = NULL;
  gint messages = -1, subs = -1, rate = -1, sustain = -1;
  GOptionEntry entries[] = {
    { "messages", 'n', 0, G_OPTION_ARG_INT, &messages, "MESSAGEs per message phase (200000)", "N" },
    { "subs", 's', 0, G_OPTION_ARG_INT, &subs, "subscriptions each way (100000)", "N" },
    { "rate", 'r', 0, G_OPTION_ARG_INT, &rate, "synthetic offered rate, msgs/s (20000)", "R" },
    { "sustain", 0, 0, G_OPTION_ARG_INT, &sustain, "synthetic seconds of the sustain phase (75)", "S" },
    { "rules", 0, 0, G_OPTION_ARG_FILENAME, &rules_dir, "gateway-rules directory", "DIR" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only, "messages or presence", "WHAT" },
    { NULL, 0, 0, 0, NULL, NULL, NULL }
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- stox engine benchmark");
  g_autoptr (GError) error = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "bench-core: %s\n", error->message);
      return 2;
    }
  if (messages > 0)
    b.messages = (guint) messages;
  if (subs > 0)
    b.subs = (guint) subs;
  if (rate > 0)
    b.rate = (guint) MIN (rate, 1000000);
  if (sustain >= 0)
    b.sustain_s = (guint) sustain;
  if (rules_dir != NULL)
    b.rules_dir = rules_dir;
  b.rules = load_rules (b.rules_dir);

  printf ("%-11s %8s %-6s %9s %7s %12s %12s  %s\n", "phase", "n", "unit", "events", "wall s",
          "events/s", "n/s", "note");
  fflush (stdout);
  /* Presence first: its resident-memory deltas must not be hidden by heap
   * that the message phases grew and freed (bench/run also runs each part
   * in its own process). */
  if (only == NULL || g_str_equal (only, "presence"))
    {
      phase_presence (&b);
      fflush (stdout);
    }
  if (only == NULL || g_str_equal (only, "messages"))
    {
      phase_s2x (&b);
      phase_s2x_bounce (&b);
      phase_x2s (&b);
      if (b.sustain_s > 0)
        phase_sustain (&b);
    }

  g_clear_pointer (&b.gw, stox_gateway_free);
  stox_rules_free (b.rules);
  g_free (b.last_stanza_id);
  return 0;
}
