/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dialogs on nta legs (dialog.h).  A dialog is forgotten once a NOTIFY with
 * Subscription-State: terminated has been answered, on an answer that ends
 * the subscription (RFC 6665 §4.1.2.2, §4.2.2), when the initial or the
 * unsubscribing SUBSCRIBE fails, or, for a client dialog whose unsubscribe
 * was accepted, when its final NOTIFY has been answered or 64×T1 later.
 */
#include "config.h"

#include "sip/dialog.h"
#include "sip/dialog-state.h"
#include "sip/convert.h"
#include "core/methods.h"

/* The local CSeq of a server dialog (RFC 3261 §8.1.1.5, §12.2.1.1): the
 * value before our first NOTIFY (nta numbers from the one after; 0 would
 * make it pick its own) and the block reserved in the saved state ahead of
 * use. */
#define CSEQ_FIRST 1u
#define CSEQ_BLOCK 100u

struct _StoxSipDialogs
{
  StoxSipEndpoint   *ep;
  nta_agent_t       *agent;
  nta_request_f     *on_request;
  StoxSipDialog     *none;          /* owner of the default leg */
  GHashTable        *server;        /* &dlg->id → StoxSipDialog */
  GHashTable        *client;        /* &dlg->id → StoxSipDialog */
  StoxFifoTimer     *lingering;     /* StoxSipDialog: unsubscribed client dialogs */
  StoxSipDialogFunc  func;          /* server dialogs' saved states */
  gpointer           func_data;
  GArray            *restored;      /* StoxToken: dialogs to reserve CSeqs for */
  guint              restored_idle;
};

static StoxSipDialog *
dialog_new (StoxSipDialogs   *dialogs,
            StoxSipDialogKind kind,
            StoxToken         id)
{
  StoxSipDialog *dlg = g_new0 (StoxSipDialog, 1);

  dlg->owner = dialogs;
  dlg->kind = kind;
  dlg->id = id;
  return dlg;
}

static void
dialog_free (StoxSipDialog *dlg)
{
  if (dlg == NULL)
    return;
  stox_fifo_timer_remove (dlg->owner->lingering, &dlg->linger);
  /* Transactions do not refer to their leg once created, so a dialog may
   * go while its last NOTIFY or SUBSCRIBE is still in flight. */
  if (dlg->leg != NULL)
    nta_leg_destroy (dlg->leg);
  g_free (dlg->event_type);
  g_free (dlg->event_id);
  g_free (dlg->target_uri);
  g_free (dlg->call_id);
  g_free (dlg->local);
  g_free (dlg->remote);
  g_strfreev (dlg->routes);
  g_free (dlg);
}

static GHashTable *
dialog_table_new (void)
{
  return g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                (GDestroyNotify) dialog_free);
}

static GHashTable *
dialogs_of (StoxSipDialogs   *dialogs,
            StoxSipDialogKind kind)
{
  return kind == STOX_SIP_DIALOG_SERVER ? dialogs->server : dialogs->client;
}

static void
dialog_linger_expired (gpointer item,
                       gpointer user_data)
{
  StoxSipDialog *dlg = item;

  (void) user_data;
  g_debug ("client dialog %" G_GUINT64_FORMAT ": no final NOTIFY within %u s",
           dlg->id, STOX_SIP_UNSUBSCRIBE_LINGER_S);
  stox_sip_dialog_forget (dlg);
}

StoxSipDialogs *
stox_sip_dialogs_new (StoxSipEndpoint *ep,
                      nta_agent_t     *agent,
                      nta_request_f   *on_request)
{
  StoxSipDialogs *dialogs = g_new0 (StoxSipDialogs, 1);

  dialogs->ep = ep;
  dialogs->agent = agent;
  dialogs->on_request = on_request;
  dialogs->server = dialog_table_new ();
  dialogs->client = dialog_table_new ();
  dialogs->lingering = stox_fifo_timer_new ("stox-sip unsubscribed dialogs",
                                            STOX_SIP_UNSUBSCRIBE_LINGER_S * 1000,
                                            dialog_linger_expired, dialogs);
  dialogs->restored = g_array_new (FALSE, FALSE, sizeof (StoxToken));
  dialogs->none = dialog_new (dialogs, STOX_SIP_DIALOG_NONE, 0);
  dialogs->none->leg = nta_leg_tcreate (agent, on_request, dialogs->none,
                                        NTATAG_NO_DIALOG (1), TAG_END ());
  if (dialogs->none->leg == NULL)
    {
      stox_sip_dialogs_free (dialogs);
      return NULL;
    }
  return dialogs;
}

void
stox_sip_dialogs_free (StoxSipDialogs *dialogs)
{
  if (dialogs == NULL)
    return;
  g_clear_handle_id (&dialogs->restored_idle, g_source_remove);
  g_clear_pointer (&dialogs->restored, g_array_unref);
  g_clear_pointer (&dialogs->server, g_hash_table_unref);
  g_clear_pointer (&dialogs->client, g_hash_table_unref);
  g_clear_pointer (&dialogs->none, dialog_free);
  /* After the dialogs, whose entries it holds. */
  g_clear_pointer (&dialogs->lingering, stox_fifo_timer_free);
  g_free (dialogs);
}

StoxSipEndpoint *
stox_sip_dialogs_endpoint (StoxSipDialogs *dialogs)
{
  return dialogs->ep;
}

void
stox_sip_dialogs_set_func (StoxSipDialogs   *dialogs,
                           StoxSipDialogFunc func,
                           gpointer          user_data)
{
  dialogs->func = func;
  dialogs->func_data = user_data;
}

nta_leg_t *
stox_sip_dialogs_default_leg (StoxSipDialogs *dialogs)
{
  return dialogs->none->leg;
}

StoxSipDialog *
stox_sip_dialog_lookup (StoxSipDialogs   *dialogs,
                        StoxSipDialogKind kind,
                        StoxToken         id)
{
  if (kind == STOX_SIP_DIALOG_NONE)
    return NULL;
  return g_hash_table_lookup (dialogs_of (dialogs, kind), &id);
}

/* ------------------------------------------------------------------ */
/* Saved states                                                        */

/* The remote target (RFC 3261 §12.2.1.1) as text, or NULL. */
static char *
leg_target_text (nta_leg_t *leg)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  sip_contact_t const *target = NULL;
  char *text = NULL;

  if (nta_leg_get_route (leg, NULL, &target) == 0 && target != NULL)
    text = g_strdup (url_as_string (home, target->m_url));
  su_home_deinit (home);
  return text;
}

void
stox_sip_dialog_report (StoxSipDialog *dlg)
{
  StoxSipDialogs *dialogs = dlg->owner;

  if (dlg->kind != STOX_SIP_DIALOG_SERVER || dlg->end_told || dialogs->func == NULL)
    return;

  g_autofree char *target = leg_target_text (dlg->leg);
  StoxSipDialogState st = {
    .call_id = dlg->call_id,
    .local = dlg->local,
    .remote = dlg->remote,
    .target = target,
    .routes = dlg->routes,
    .remote_cseq = (guint32) nta_leg_get_rseq (dlg->leg),
    .local_cseq = dlg->ceiling,
    .event_type = dlg->event_type,
    .event_id = dlg->event_id,
  };
  g_autofree char *state = stox_sip_dialog_state_format (&st);

  dialogs->func (dlg->id, state, dialogs->func_data);
}

/* …and that it is over, once. */
static void
dialog_report_end (StoxSipDialog *dlg)
{
  StoxSipDialogs *dialogs = dlg->owner;

  if (dlg->kind != STOX_SIP_DIALOG_SERVER || dlg->end_told)
    return;
  dlg->end_told = TRUE;
  if (dialogs->func != NULL)
    dialogs->func (dlg->id, NULL, dialogs->func_data);
}

/* Before the NOTIFY numbered `next` goes out (RFC 3261 §8.1.1.5: CSeq
 * values only grow in a dialog, even across our restart).  Once `next`
 * is in the second half of the reserved block, the block after it is
 * reserved in the state; so the saved ceiling stays above every CSeq
 * sent provided the daemon's write lands within half a block (50 more
 * NOTIFYs in this dialog). */
static void
dialog_reserve_cseq (StoxSipDialog *dlg,
                     guint32        next)
{
  if ((guint64) next + CSEQ_BLOCK / 2 < dlg->ceiling || dlg->ceiling >= STOX_SIP_CSEQ_MAX)
    return;
  dlg->ceiling = (guint32) MIN ((guint64) MAX (dlg->ceiling, next) + CSEQ_BLOCK,
                                (guint64) STOX_SIP_CSEQ_MAX);
  stox_sip_dialog_report (dlg);
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                            */

void
stox_sip_dialog_forget (StoxSipDialog *dlg)
{
  g_debug ("%s dialog %" G_GUINT64_FORMAT " ends",
           dlg->kind == STOX_SIP_DIALOG_SERVER ? "server" : "client", dlg->id);
  dialog_report_end (dlg);
  g_hash_table_remove (dialogs_of (dlg->owner, dlg->kind), &dlg->id);
}

static void
dialog_set_event (StoxSipDialog     *dlg,
                  sip_event_t const *o,
                  const char        *fallback)
{
  g_free (dlg->event_type);
  g_free (dlg->event_id);
  dlg->event_type = g_strdup (o != NULL && o->o_type != NULL ? o->o_type : fallback);
  dlg->event_id = g_strdup (o != NULL ? o->o_id : NULL);
}

/* The 2xx to an initial SUBSCRIBE creates the dialog (RFC 6665 §4.2.1):
 * local tag = the To-tag of our answer, remote = the watcher's From, its
 * Contact the target and its Record-Route the route set (RFC 3261
 * §12.1.1). */
StoxSipDialog *
stox_sip_dialog_server_new (StoxSipDialogs *dialogs,
                            sip_t const    *sip,
                            const char     *tag,
                            StoxToken       id)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  StoxSipDialog *dlg = dialog_new (dialogs, STOX_SIP_DIALOG_SERVER, id);
  sip_to_t *local = NULL;

  /* Our local CSeq starts where we say, so the state can reserve it. */
  dlg->leg = nta_leg_tcreate (dialogs->agent, dialogs->on_request, dlg,
                              SIPTAG_CALL_ID (sip->sip_call_id),
                              SIPTAG_FROM (sip->sip_to),
                              SIPTAG_TO (sip->sip_from),
                              NTATAG_REMOTE_CSEQ (sip->sip_cseq->cs_seq),
                              SIPTAG_CSEQ (sip_cseq_create (home, CSEQ_FIRST,
                                                            SIP_METHOD_NOTIFY)),
                              TAG_END ());
  if (dlg->leg != NULL && nta_leg_tag (dlg->leg, tag) != NULL)
    local = sip_to_dup (home, sip->sip_to);
  if (local == NULL || sip_to_tag (home, local, tag) < 0)
    {
      g_warning ("request %" G_GUINT64_FORMAT ": cannot create the dialog", id);
      dialog_free (dlg);
      su_home_deinit (home);
      return NULL;
    }
  nta_leg_server_route (dlg->leg, sip->sip_record_route, sip->sip_contact);
  dialog_set_event (dlg, sip->sip_event, stox_sip_allowed_events ());

  /* What its saved state needs later, when this request is gone. */
  GPtrArray *routes = g_ptr_array_new ();
  for (sip_record_route_t const *rr = sip->sip_record_route; rr != NULL; rr = rr->r_next)
    g_ptr_array_add (routes, g_strdup (sip_header_as_string (home, (sip_header_t const *) rr)));
  g_ptr_array_add (routes, NULL);
  dlg->routes = (GStrv) g_ptr_array_free (routes, FALSE);
  dlg->call_id = g_strdup (sip->sip_call_id->i_id);
  dlg->local = g_strdup (sip_header_as_string (home, (sip_header_t const *) local));
  dlg->remote = g_strdup (sip_header_as_string (home, (sip_header_t const *) sip->sip_from));
  dlg->ceiling = CSEQ_FIRST + CSEQ_BLOCK;

  g_hash_table_insert (dialogs->server, &dlg->id, dlg);
  su_home_deinit (home);
  g_debug ("server dialog %" G_GUINT64_FORMAT " starts", dlg->id);
  return dlg;
}

/* A dialog of our own (RFC 6665 §4.1.2.1): From with a fresh tag, To
 * without, a fresh Call-ID; the notifier's tag comes with its 2xx or
 * first NOTIFY. */
StoxSipDialog *
stox_sip_dialog_client_new (StoxSipDialogs         *dialogs,
                            const StoxSipSubscribe *s)
{
  g_autofree char *from = g_strdup_printf ("<%s>", s->from_uri);
  g_autofree char *to = g_strdup_printf ("<%s>", s->to_uri);
  StoxSipDialog *dlg = dialog_new (dialogs, STOX_SIP_DIALOG_CLIENT, s->dialog);

  dlg->leg = nta_leg_tcreate (dialogs->agent, dialogs->on_request, dlg,
                              SIPTAG_FROM_STR (from),
                              SIPTAG_TO_STR (to),
                              TAG_END ());
  if (dlg->leg == NULL || nta_leg_tag (dlg->leg, NULL) == NULL)
    {
      dialog_free (dlg);
      return NULL;
    }
  dlg->event_type = g_strdup (s->event != NULL ? s->event : stox_sip_allowed_events ());
  dlg->target_uri = g_strdup (s->request_uri);
  g_hash_table_insert (dialogs->client, &dlg->id, dlg);
  g_debug ("client dialog %" G_GUINT64_FORMAT " starts", dlg->id);
  return dlg;
}

/* A restored dialog has no CSeq reserved beyond its saved ceiling: a
 * NOTIFY above it sent before the next reservation is written would be
 * repeated after another crash.  So that reservation is made first thing
 * in the loop (the daemon's func is not called from _restore_dialog()),
 * which leaves the daemon's write the time until the core's first NOTIFY
 * in the dialog. */
static gboolean
reserve_restored (gpointer user_data)
{
  StoxSipDialogs *dialogs = user_data;
  g_autoptr (GArray) ids = g_steal_pointer (&dialogs->restored);

  dialogs->restored_idle = 0;
  dialogs->restored = g_array_new (FALSE, FALSE, sizeof (StoxToken));
  for (guint i = 0; i < ids->len; i++)
    {
      StoxSipDialog *dlg = stox_sip_dialog_lookup (dialogs, STOX_SIP_DIALOG_SERVER,
                                                   g_array_index (ids, StoxToken, i));

      if (dlg != NULL && !dlg->terminating)
        dialog_reserve_cseq (dlg, nta_leg_get_seq (dlg->leg) + 1);
    }
  return G_SOURCE_REMOVE;
}

/* The dialog as stox_sip_dialog_server_new() made it (RFC 3261 §12.1.1),
 * from its saved state; its local CSeq resumes at the reserved ceiling. */
gboolean
stox_sip_dialog_restore (StoxSipDialogs *dialogs,
                         StoxToken       id,
                         const char     *state,
                         GError        **error)
{
  g_auto (StoxSipDialogState) st = { 0 };
  StoxSipDialogHeaders h;
  const char *bad = NULL;

  /* 0 is no dialog (StoxSipRequest.dialog). */
  if (id == 0 || g_hash_table_contains (dialogs->server, &id))
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE,
                   "dialog %" G_GUINT64_FORMAT ": %s", id,
                   id == 0 ? "not a dialog id" : "id already in use");
      return FALSE;
    }
  if (!stox_sip_dialog_state_parse (state, &st, error))
    {
      g_prefix_error (error, "dialog %" G_GUINT64_FORMAT ": ", id);
      return FALSE;
    }

  su_home_t home[1] = { SU_HOME_INIT (home) };
  StoxSipDialog *dlg = dialog_new (dialogs, STOX_SIP_DIALOG_SERVER, id);

  /* Created untagged and tagged after, as stox_sip_dialog_server_new()
   * does: nta matches requests to the leg a little differently otherwise. */
  if (stox_sip_dialog_state_headers (home, &st, &h, &bad))
    dlg->leg = nta_leg_tcreate (dialogs->agent, dialogs->on_request, dlg,
                                SIPTAG_CALL_ID_STR (st.call_id),
                                SIPTAG_FROM (h.local),
                                SIPTAG_TO (h.remote),
                                NTATAG_REMOTE_CSEQ (st.remote_cseq),
                                SIPTAG_CSEQ (sip_cseq_create (home, st.local_cseq,
                                                              SIP_METHOD_NOTIFY)),
                                TAG_END ());
  if (dlg->leg == NULL || nta_leg_tag (dlg->leg, h.local_tag) == NULL
      || nta_leg_server_route (dlg->leg, h.routes, h.contact) < 0)
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE,
                   "dialog %" G_GUINT64_FORMAT ": cannot create it", id);
      dialog_free (dlg);
      su_home_deinit (home);
      return FALSE;
    }
  su_home_deinit (home);

  dlg->event_type = g_steal_pointer (&st.event_type);
  dlg->event_id = g_steal_pointer (&st.event_id);
  dlg->call_id = g_steal_pointer (&st.call_id);
  dlg->local = g_steal_pointer (&st.local);
  dlg->remote = g_steal_pointer (&st.remote);
  dlg->routes = g_steal_pointer (&st.routes);
  /* nta numbers the next NOTIFY ceiling + 1, above all the last process
   * may have sent; the next block is reserved from the loop. */
  dlg->ceiling = st.local_cseq;
  g_hash_table_insert (dialogs->server, &dlg->id, dlg);
  g_array_append_val (dialogs->restored, dlg->id);
  /* Ahead of any I/O the first loop iteration would dispatch. */
  if (dialogs->restored_idle == 0)
    dialogs->restored_idle = g_idle_add_full (G_PRIORITY_HIGH, reserve_restored, dialogs, NULL);
  g_debug ("server dialog %" G_GUINT64_FORMAT " restored", id);
  return TRUE;
}

void
stox_sip_dialog_drop (StoxSipDialogs *dialogs,
                      StoxToken       id)
{
  StoxSipDialog *dlg = stox_sip_dialog_lookup (dialogs, STOX_SIP_DIALOG_SERVER, id);

  if (dlg == NULL)
    return;
  g_debug ("server dialog %" G_GUINT64_FORMAT " dropped", id);
  /* Silently: the daemon drops its state itself. */
  dlg->end_told = TRUE;
  g_hash_table_remove (dialogs->server, &id);
}

/* ------------------------------------------------------------------ */
/* Requests in a dialog                                                */

char *
stox_sip_dialog_event (StoxSipDialog *dlg)
{
  return stox_sip_convert_event (dlg->event_type, dlg->event_id);
}

/* Event packages compare case-sensitively, ids too (RFC 6665 §8.2.1,
 * §4.1.2). */
gboolean
stox_sip_dialog_event_matches (StoxSipDialog     *dlg,
                               sip_event_t const *o)
{
  if (o == NULL || o->o_type == NULL || g_strcmp0 (o->o_type, dlg->event_type) != 0)
    return FALSE;
  /* Our own SUBSCRIBEs carry no id; a notifier may still add one. */
  if (dlg->kind == STOX_SIP_DIALOG_CLIENT && dlg->event_id == NULL)
    return TRUE;
  return g_strcmp0 (o->o_id, dlg->event_id) == 0;
}

void
stox_sip_dialog_in_request (StoxSipDialog *dlg,
                            nta_leg_t     *leg,
                            sip_t const   *sip)
{
  if (dlg->kind == STOX_SIP_DIALOG_CLIENT && !dlg->established)
    {
      /* The first NOTIFY establishes the dialog, before or without the
       * 2xx (RFC 6665 §4.1.2.4): its tag and route set, as a UAS. */
      nta_leg_rtag (leg, sip->sip_from->a_tag);
      nta_leg_server_route (leg, sip->sip_record_route, sip->sip_contact);
      dlg->established = TRUE;
      return;
    }

  /* A target refresh (RFC 6665 §4.1.2.4, §4.2.1.1): a new Contact, which
   * a server dialog's saved state follows. */
  gboolean saved = dlg->kind == STOX_SIP_DIALOG_SERVER;
  g_autofree char *before = saved ? leg_target_text (leg) : NULL;

  nta_leg_server_route (leg, NULL, sip->sip_contact);
  if (saved)
    {
      g_autofree char *after = leg_target_text (leg);

      if (g_strcmp0 (before, after) != 0)
        stox_sip_dialog_report (dlg);
    }
}

gboolean
stox_sip_dialog_before_notify (StoxSipDialog *dlg,
                               gboolean       final)
{
  guint32 seq = nta_leg_get_seq (dlg->leg);

  if (seq >= STOX_SIP_CSEQ_MAX)
    return FALSE;
  /* nta numbers the NOTIFY seq + 1; a terminated one ends the state. */
  if (!final)
    dialog_reserve_cseq (dlg, seq + 1);
  return TRUE;
}

void
stox_sip_dialog_terminating (StoxSipDialog *dlg)
{
  dlg->terminating = TRUE;
  dialog_report_end (dlg);
}

/* ------------------------------------------------------------------ */
/* Final responses                                                     */

void
stox_sip_dialog_after_notify (StoxSipDialogs *dialogs,
                              StoxToken       id,
                              gboolean        terminates,
                              guint           status)
{
  StoxSipDialog *dlg = stox_sip_dialog_lookup (dialogs, STOX_SIP_DIALOG_SERVER, id);

  if (dlg != NULL && (terminates || stox_sip_status_ends_subscription (status, TRUE)))
    stox_sip_dialog_forget (dlg);
}

void
stox_sip_dialog_after_subscribe (StoxSipDialogs *dialogs,
                                 StoxToken       id,
                                 gboolean        initial,
                                 gboolean        terminates,
                                 guint           status,
                                 sip_t const    *sip)
{
  StoxSipDialog *dlg = stox_sip_dialog_lookup (dialogs, STOX_SIP_DIALOG_CLIENT, id);

  if (dlg == NULL)
    return;

  if (status >= 300)
    {
      /* A failed initial SUBSCRIBE or unsubscribe leaves nothing to keep;
       * a failed refresh keeps the subscription unless the answer ends it
       * (RFC 6665 §4.1.2.2). */
      if (initial || terminates || stox_sip_status_ends_subscription (status, FALSE))
        stox_sip_dialog_forget (dlg);
      return;
    }

  if (!dlg->established && sip != NULL && sip->sip_to != NULL && sip->sip_to->a_tag != NULL)
    {
      nta_leg_rtag (dlg->leg, sip->sip_to->a_tag);
      nta_leg_client_reroute (dlg->leg, sip->sip_record_route, sip->sip_contact, 1);
      dlg->established = TRUE;
    }
  else if (sip != NULL)
    nta_leg_client_reroute (dlg->leg, NULL, sip->sip_contact, 0);

  stox_fifo_timer_remove (dialogs->lingering, &dlg->linger);
  if (terminates)
    stox_fifo_timer_add (dialogs->lingering, &dlg->linger, dlg);
}

/* A terminated NOTIFY answered, or an answer that ends the subscription,
 * ends the dialog; an unsubscribe answered 2xx does not: the core's
 * terminated NOTIFY follows. */
void
stox_sip_dialog_after_answer (StoxSipDialogs   *dialogs,
                              StoxSipDialogKind kind,
                              StoxToken         id,
                              gboolean          terminates,
                              guint             status)
{
  StoxSipDialog *dlg = stox_sip_dialog_lookup (dialogs, kind, id);

  if (dlg != NULL && (terminates || stox_sip_status_ends_subscription (status, FALSE)))
    stox_sip_dialog_forget (dlg);
}
