/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Dialogs as small records (dialog.h).  A dialog is forgotten once a
 * NOTIFY with Subscription-State: terminated has been answered, on an
 * answer that ends the subscription (RFC 6665 §4.1.2.2, §4.2.2), when the
 * initial or the unsubscribing SUBSCRIBE fails, or, for a client dialog
 * whose unsubscribe was accepted, when its final NOTIFY has been answered
 * or 64×T1 later.
 *
 * Memory: one allocation for the record (72 bytes), one for its strings
 * (Call-ID, tags, the two addresses, target, Event, route set: about 250
 * bytes for a watcher), and a slot in two hash tables that hold the record
 * itself as key and value (12 bytes a slot).  Sofia's leg for the same
 * dialog took about 2.3 KB.
 */
#include "config.h"

#include <string.h>

#include "sip/dialog.h"
#include "sip/dialog-record.h"
#include "sip/dialog-state.h"
#include "sip/convert.h"
#include "core/debug-log.h"
#include "core/methods.h"

/* The local CSeq of a server dialog (RFC 3261 §8.1.1.5, §12.2.1.1): the
 * value before our first NOTIFY and the block reserved in the saved state
 * ahead of use. */
#define CSEQ_FIRST 1u
#define CSEQ_BLOCK 100u

struct _StoxSipDialogs
{
  StoxSipEndpoint        *ep;
  nta_agent_t            *agent;
  nta_leg_t              *leg;           /* the default leg, to send on */
  const StoxSipTxnSecret *secret;
  GHashTable             *server;        /* StoxSipDialog set, by id */
  GHashTable             *client;        /* StoxSipDialog set, by id */
  GHashTable             *by_key;        /* StoxSipDialog set, by key */
  StoxFifoTimer          *lingering;     /* StoxSipDialog: unsubscribed client dialogs */
  StoxSipDialogFunc       func;          /* server dialogs' saved states */
  gpointer                func_data;
  GArray                 *restored;      /* StoxToken: dialogs to reserve CSeqs for */
  guint                   restored_idle;
};

/* ------------------------------------------------------------------ */
/* The record                                                          */

/* Packs `fields` (N_TEXT of them, NULL as "") and `routes` into the
 * record's text; FALSE when it would not fit. */
static gboolean
dialog_pack (StoxSipDialog      *dlg,
             const char *const   fields[N_TEXT],
             const char *const  *routes,
             gsize               n_routes)
{
  gsize len = 0;

  if (n_routes > G_MAXUINT8)
    return FALSE;
  for (guint i = 0; i < N_TEXT; i++)
    len += (fields[i] != NULL ? strlen (fields[i]) : 0) + 1;
  for (gsize i = 0; i < n_routes; i++)
    len += strlen (routes[i]) + 1;
  if (len > G_MAXUINT16)
    return FALSE;

  char *text = g_malloc (len);
  char *p = text;

  for (guint i = 0; i < N_TEXT; i++)
    {
      const char *s = fields[i] != NULL ? fields[i] : "";
      gsize n = strlen (s) + 1;

      dlg->off[i] = (guint16) (p - text);
      memcpy (p, s, n);
      if (i == T_LOCAL_TAG)
        for (char *q = p; *q != '\0'; q++)
          *q = g_ascii_tolower (*q);
      p += n;
    }
  for (gsize i = 0; i < n_routes; i++)
    {
      gsize n = strlen (routes[i]) + 1;

      memcpy (p, routes[i], n);
      p += n;
    }
  g_free (dlg->text);
  dlg->text = text;
  dlg->n_routes = (guint8) n_routes;
  return TRUE;
}

/* Replaces some fields (NULL in `changes`: unchanged; "" clears) and, with
 * `n_routes` ≥ 0, the routes.  The new text is built before the old one
 * goes, so the unchanged fields may be read from it. */
static gboolean
dialog_repack (StoxSipDialog     *dlg,
               const char *const  changes[N_TEXT],
               const char *const *routes,
               gssize             n_routes)
{
  const char *fields[N_TEXT];
  g_autofree const char **kept = NULL;

  for (guint i = 0; i < N_TEXT; i++)
    fields[i] = changes[i] != NULL ? changes[i] : text_of (dlg, i);
  if (n_routes < 0)
    {
      const char *r = first_route (dlg);

      kept = g_new0 (const char *, dlg->n_routes + 1);
      for (guint i = 0; i < dlg->n_routes; i++, r = next_route (r))
        kept[i] = r;
      routes = kept;
      n_routes = dlg->n_routes;
    }
  return dialog_pack (dlg, fields, routes, (gsize) n_routes);
}

/* Our tag as the key sees it: lower case (nta compared tags
 * case-insensitively; ours are lower case already). */
static guint64
dialog_key (const StoxSipTxnSecret *secret,
            const char             *call_id,
            const char             *local_tag)
{
  g_autofree char *tag = g_ascii_strdown (local_tag, -1);

  return stox_sip_txn_hash2 (secret, call_id, tag);
}

static guint
by_id_hash (gconstpointer p)
{
  return g_int64_hash (&((const StoxSipDialog *) p)->id);
}

static gboolean
by_id_equal (gconstpointer a,
             gconstpointer b)
{
  return ((const StoxSipDialog *) a)->id == ((const StoxSipDialog *) b)->id;
}

static guint
by_key_hash (gconstpointer p)
{
  return (guint) ((const StoxSipDialog *) p)->key;
}

static gboolean
by_key_equal (gconstpointer a,
              gconstpointer b)
{
  return ((const StoxSipDialog *) a)->key == ((const StoxSipDialog *) b)->key;
}

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
  if (dlg->linger != NULL)
    {
      stox_fifo_timer_remove (dlg->owner->lingering, dlg->linger);
      g_free (dlg->linger);
    }
  g_free (dlg->text);
  g_free (dlg);
}

static GHashTable *
dialogs_of (StoxSipDialogs   *dialogs,
            StoxSipDialogKind kind)
{
  return kind == STOX_SIP_DIALOG_SERVER ? dialogs->server : dialogs->client;
}

/* Into both tables; FALSE (nothing added) when its id or key is taken. */
static gboolean
dialog_insert (StoxSipDialog *dlg)
{
  StoxSipDialogs *dialogs = dlg->owner;

  dlg->key = dialog_key (dialogs->secret, text_of (dlg, T_CALL_ID), text_of (dlg, T_LOCAL_TAG));
  if (g_hash_table_contains (dialogs_of (dialogs, dlg->kind), dlg)
      || g_hash_table_contains (dialogs->by_key, dlg))
    return FALSE;
  g_hash_table_add (dialogs_of (dialogs, dlg->kind), dlg);
  g_hash_table_add (dialogs->by_key, dlg);
  return TRUE;
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
stox_sip_dialogs_new (StoxSipEndpoint        *ep,
                      nta_agent_t            *agent,
                      const StoxSipTxnSecret *secret)
{
  StoxSipDialogs *dialogs = g_new0 (StoxSipDialogs, 1);

  dialogs->ep = ep;
  dialogs->agent = agent;
  dialogs->secret = secret;
  /* The id tables own the records (a record is in exactly one). */
  dialogs->server = g_hash_table_new_full (by_id_hash, by_id_equal,
                                           (GDestroyNotify) dialog_free, NULL);
  dialogs->client = g_hash_table_new_full (by_id_hash, by_id_equal,
                                           (GDestroyNotify) dialog_free, NULL);
  dialogs->by_key = g_hash_table_new (by_key_hash, by_key_equal);
  dialogs->lingering = stox_fifo_timer_new ("stox-sip unsubscribed dialogs",
                                            STOX_SIP_UNSUBSCRIBE_LINGER_S * 1000,
                                            dialog_linger_expired, dialogs);
  dialogs->restored = g_array_new (FALSE, FALSE, sizeof (StoxToken));
  /* A leg without a dialog: nta completes what we send on it; with the
   * agent stateless, no request ever comes to it. */
  dialogs->leg = nta_leg_tcreate (agent, NULL, NULL, NTATAG_NO_DIALOG (1), TAG_END ());
  if (dialogs->leg == NULL)
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
  g_clear_pointer (&dialogs->by_key, g_hash_table_unref);
  g_clear_pointer (&dialogs->server, g_hash_table_unref);
  g_clear_pointer (&dialogs->client, g_hash_table_unref);
  g_clear_pointer (&dialogs->leg, nta_leg_destroy);
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
  return dialogs->leg;
}

guint
stox_sip_dialogs_count (StoxSipDialogs   *dialogs,
                        StoxSipDialogKind kind)
{
  return kind == STOX_SIP_DIALOG_NONE ? 0 : g_hash_table_size (dialogs_of (dialogs, kind));
}

StoxSipDialog *
stox_sip_dialog_lookup (StoxSipDialogs   *dialogs,
                        StoxSipDialogKind kind,
                        StoxToken         id)
{
  StoxSipDialog probe = { .id = id };

  if (kind == STOX_SIP_DIALOG_NONE)
    return NULL;
  return g_hash_table_lookup (dialogs_of (dialogs, kind), &probe);
}

StoxSipDialog *
stox_sip_dialog_match (StoxSipDialogs *dialogs,
                       sip_t const    *sip)
{
  const char *to_tag = sip->sip_to != NULL ? sip->sip_to->a_tag : NULL;
  const char *from_tag = sip->sip_from != NULL ? sip->sip_from->a_tag : NULL;

  if (to_tag == NULL || sip->sip_call_id == NULL)
    return NULL;

  StoxSipDialog probe = {
    .key = dialog_key (dialogs->secret, sip->sip_call_id->i_id, to_tag),
  };
  StoxSipDialog *dlg = g_hash_table_lookup (dialogs->by_key, &probe);

  /* The key is a hash: the fields decide. */
  if (dlg == NULL || strcmp (text_of (dlg, T_CALL_ID), sip->sip_call_id->i_id) != 0
      || g_ascii_strcasecmp (text_of (dlg, T_LOCAL_TAG), to_tag) != 0)
    return NULL;
  /* The peer's tag, once we know it (a client dialog learns it from the
   * first NOTIFY or the 2xx). */
  if (field (dlg, T_REMOTE_TAG) != NULL
      && (from_tag == NULL || g_ascii_strcasecmp (text_of (dlg, T_REMOTE_TAG), from_tag) != 0))
    return NULL;
  return dlg;
}

/* ------------------------------------------------------------------ */
/* Saved states                                                        */

void
stox_sip_dialog_report (StoxSipDialog *dlg)
{
  StoxSipDialogs *dialogs = dlg->owner;

  if (dlg->kind != STOX_SIP_DIALOG_SERVER || dlg->end_told || dialogs->func == NULL)
    return;

  g_autofree const char **routes = g_new0 (const char *, dlg->n_routes + 1);
  const char *r = first_route (dlg);
  for (guint i = 0; i < dlg->n_routes; i++, r = next_route (r))
    routes[i] = r;

  StoxSipDialogState st = {
    .call_id = (char *) text_of (dlg, T_CALL_ID),
    .local = (char *) text_of (dlg, T_LOCAL),
    .remote = (char *) text_of (dlg, T_REMOTE),
    .target = (char *) field (dlg, T_TARGET),
    .routes = (GStrv) routes,
    .remote_cseq = dlg->remote_cseq,
    .local_cseq = dlg->ceiling,
    .event_type = (char *) text_of (dlg, T_EVENT_TYPE),
    .event_id = (char *) field (dlg, T_EVENT_ID),
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
  stox_debug ("%s dialog %" G_GUINT64_FORMAT " ends",
              dlg->kind == STOX_SIP_DIALOG_SERVER ? "server" : "client", dlg->id);
  dialog_report_end (dlg);
  g_hash_table_remove (dlg->owner->by_key, dlg);
  /* Frees it. */
  g_hash_table_remove (dialogs_of (dlg->owner, dlg->kind), dlg);
}

/* Header text of `h` as Sofia writes it. */
static char *
header_text (su_home_t         *home,
             sip_header_t const *h)
{
  return h != NULL ? sip_header_as_string (home, h) : NULL;
}

/* The URI of a Contact, as text (RFC 3261 §12.1.1: the remote target). */
static char *
contact_text (su_home_t              *home,
              sip_contact_t const    *m)
{
  return m != NULL && m->m_url->url_type != url_any ? url_as_string (home, m->m_url) : NULL;
}

/* Record-Route entries as text, in order or reversed (RFC 3261 §12.1.1:
 * a UAS keeps them in order, §12.1.2: a UAC reverses them). */
static GPtrArray *
route_texts (su_home_t                *home,
             sip_record_route_t const *rr,
             gboolean                  reversed)
{
  GPtrArray *out = g_ptr_array_new ();

  for (; rr != NULL; rr = rr->r_next)
    {
      /* One entry at a time: the header as a whole would join them. */
      sip_record_route_t one = *rr;

      one.r_next = NULL;
      one.r_common->h_data = NULL;
      one.r_common->h_len = 0;
      char *text = sip_header_as_string (home, (sip_header_t const *) &one);

      if (text == NULL)
        continue;
      if (reversed)
        g_ptr_array_insert (out, 0, text);
      else
        g_ptr_array_add (out, text);
    }
  return out;
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
  sip_to_t *local = sip_to_dup (home, sip->sip_to);
  g_autoptr (GPtrArray) routes = route_texts (home, sip->sip_record_route, FALSE);
  sip_event_t const *o = sip->sip_event;
  gboolean ok = FALSE;

  if (local != NULL && sip_to_tag (home, local, tag) >= 0)
    {
      const char *fields[N_TEXT] = {
        [T_CALL_ID] = sip->sip_call_id->i_id,
        [T_LOCAL_TAG] = tag,
        [T_REMOTE_TAG] = sip->sip_from->a_tag,
        [T_LOCAL] = header_text (home, (sip_header_t const *) local),
        [T_REMOTE] = header_text (home, (sip_header_t const *) sip->sip_from),
        [T_TARGET] = contact_text (home, sip->sip_contact),
        [T_EVENT_TYPE] = o != NULL && o->o_type != NULL ? o->o_type : stox_sip_allowed_events (),
        [T_EVENT_ID] = o != NULL ? o->o_id : NULL,
      };

      ok = fields[T_LOCAL] != NULL && fields[T_REMOTE] != NULL
           && dialog_pack (dlg, fields, (const char *const *) routes->pdata, routes->len);
    }
  su_home_deinit (home);

  dlg->remote_cseq = sip->sip_cseq->cs_seq;
  dlg->local_cseq = CSEQ_FIRST;
  dlg->ceiling = CSEQ_FIRST + CSEQ_BLOCK;
  if (!ok || !dialog_insert (dlg))
    {
      g_warning ("request %" G_GUINT64_FORMAT ": cannot create the dialog", id);
      dialog_free (dlg);
      return NULL;
    }
  stox_debug ("server dialog %" G_GUINT64_FORMAT " starts", dlg->id);
  return dlg;
}

/* A fresh tag of ours (RFC 3261 §19.3: at least 32 random bits). */
static char *
new_tag (void)
{
  return g_strdup_printf ("%08x%08x", g_random_int (), g_random_int ());
}

/* A dialog of our own (RFC 6665 §4.1.2.1): From with a fresh tag, To
 * without, a fresh Call-ID; the notifier's tag comes with its 2xx or
 * first NOTIFY. */
StoxSipDialog *
stox_sip_dialog_client_new (StoxSipDialogs         *dialogs,
                            const StoxSipSubscribe *s)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  g_autofree char *from_text = g_strdup_printf ("<%s>", s->from_uri);
  g_autofree char *to_text = g_strdup_printf ("<%s>", s->to_uri);
  g_autofree char *tag = new_tag ();
  sip_from_t *from = sip_from_make (home, from_text);
  sip_to_t *to = sip_to_make (home, to_text);
  sip_call_id_t *call_id = sip_call_id_create (home, NULL);
  StoxSipDialog *dlg = dialog_new (dialogs, STOX_SIP_DIALOG_CLIENT, s->dialog);
  gboolean ok = FALSE;

  if (from != NULL && to != NULL && call_id != NULL && sip_from_tag (home, from, tag) >= 0)
    {
      const char *fields[N_TEXT] = {
        [T_CALL_ID] = call_id->i_id,
        [T_LOCAL_TAG] = tag,
        [T_LOCAL] = header_text (home, (sip_header_t const *) from),
        [T_REMOTE] = header_text (home, (sip_header_t const *) to),
        /* The Request-URI until the notifier's Contact is known. */
        [T_TARGET] = s->request_uri,
        [T_EVENT_TYPE] = s->event != NULL ? s->event : stox_sip_allowed_events (),
      };

      ok = fields[T_LOCAL] != NULL && fields[T_REMOTE] != NULL
           && dialog_pack (dlg, fields, NULL, 0);
    }
  su_home_deinit (home);
  if (!ok || !dialog_insert (dlg))
    {
      dialog_free (dlg);
      return NULL;
    }
  stox_debug ("client dialog %" G_GUINT64_FORMAT " starts", dlg->id);
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
        dialog_reserve_cseq (dlg, dlg->local_cseq + 1);
    }
  return G_SOURCE_REMOVE;
}

/* The dialog as stox_sip_dialog_server_new() made it (RFC 3261 §12.1.1),
 * from its saved state; its local CSeq resumes above the reserved
 * ceiling. */
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
  if (id == 0 || stox_sip_dialog_lookup (dialogs, STOX_SIP_DIALOG_SERVER, id) != NULL)
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
  gboolean ok = FALSE;

  if (stox_sip_dialog_state_headers (home, &st, &h, &bad))
    {
      const char *fields[N_TEXT] = {
        [T_CALL_ID] = st.call_id,
        [T_LOCAL_TAG] = h.local_tag,
        [T_REMOTE_TAG] = h.remote->a_tag,
        [T_LOCAL] = st.local,
        [T_REMOTE] = st.remote,
        [T_TARGET] = st.target,
        [T_EVENT_TYPE] = st.event_type,
        [T_EVENT_ID] = st.event_id,
      };

      ok = dialog_pack (dlg, fields, (const char *const *) st.routes,
                        st.routes != NULL ? g_strv_length (st.routes) : 0);
    }
  su_home_deinit (home);
  /* The next NOTIFY is numbered ceiling + 1, above all the last process
   * may have sent; the next block is reserved from the loop. */
  dlg->remote_cseq = st.remote_cseq;
  dlg->local_cseq = st.local_cseq;
  dlg->ceiling = st.local_cseq;
  if (!ok || !dialog_insert (dlg))
    {
      g_set_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE,
                   "dialog %" G_GUINT64_FORMAT ": cannot create it", id);
      dialog_free (dlg);
      return FALSE;
    }
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
  stox_sip_dialog_forget (dlg);
}

/* ------------------------------------------------------------------ */
/* Requests in a dialog                                                */

char *
stox_sip_dialog_event (StoxSipDialog *dlg)
{
  return stox_sip_convert_event (text_of (dlg, T_EVENT_TYPE), field (dlg, T_EVENT_ID));
}

/* Event packages compare case-sensitively, ids too (RFC 6665 §8.2.1,
 * §4.1.2). */
gboolean
stox_sip_dialog_event_matches (StoxSipDialog     *dlg,
                               sip_event_t const *o)
{
  if (o == NULL || o->o_type == NULL || strcmp (o->o_type, text_of (dlg, T_EVENT_TYPE)) != 0)
    return FALSE;
  /* Our own SUBSCRIBEs carry no id; a notifier may still add one. */
  if (dlg->kind == STOX_SIP_DIALOG_CLIENT && field (dlg, T_EVENT_ID) == NULL)
    return TRUE;
  return g_strcmp0 (o->o_id, field (dlg, T_EVENT_ID)) == 0;
}

gboolean
stox_sip_dialog_check_cseq (StoxSipDialog *dlg,
                            sip_t const   *sip)
{
  guint32 seq = sip->sip_cseq->cs_seq;

  if (dlg->remote_cseq != 0 && seq < dlg->remote_cseq)
    return FALSE;
  dlg->remote_cseq = seq;
  return TRUE;
}

void
stox_sip_dialog_in_request (StoxSipDialog *dlg,
                            sip_t const   *sip)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };

  if (dlg->kind == STOX_SIP_DIALOG_CLIENT && !dlg->established)
    {
      /* The first NOTIFY establishes the dialog, before or without the
       * 2xx (RFC 6665 §4.1.2.4): its tag, and as a UAS its route set and
       * target. */
      g_autoptr (GPtrArray) routes = route_texts (home, sip->sip_record_route, FALSE);
      const char *changes[N_TEXT] = {
        [T_REMOTE_TAG] = sip->sip_from->a_tag != NULL ? sip->sip_from->a_tag : "",
        [T_REMOTE] = header_text (home, (sip_header_t const *) sip->sip_from),
        [T_TARGET] = contact_text (home, sip->sip_contact),
      };

      if (dialog_repack (dlg, changes, (const char *const *) routes->pdata,
                         (gssize) routes->len))
        dlg->established = TRUE;
      su_home_deinit (home);
      return;
    }

  /* A target refresh (RFC 6665 §4.1.2.4, §4.2.1.1): a new Contact, which
   * a server dialog's saved state follows. */
  char *target = contact_text (home, sip->sip_contact);

  if (target != NULL && strcmp (target, text_of (dlg, T_TARGET)) != 0)
    {
      const char *changes[N_TEXT] = { [T_TARGET] = target };

      if (dialog_repack (dlg, changes, NULL, -1))
        stox_sip_dialog_report (dlg);
    }
  su_home_deinit (home);
}

gboolean
stox_sip_dialog_before_notify (StoxSipDialog *dlg,
                               gboolean       final)
{
  guint32 seq = dlg->local_cseq;

  if (seq >= STOX_SIP_CSEQ_MAX)
    return FALSE;
  /* The NOTIFY is numbered seq + 1; a terminated one ends the state. */
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
  su_home_t home[1] = { SU_HOME_INIT (home) };

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
      /* As a UAC (RFC 3261 §12.1.2): the notifier's tag, the route set
       * reversed, its Contact the target. */
      g_autoptr (GPtrArray) routes = route_texts (home, sip->sip_record_route, TRUE);
      char *target = contact_text (home, sip->sip_contact);
      const char *changes[N_TEXT] = {
        [T_REMOTE_TAG] = sip->sip_to->a_tag,
        [T_REMOTE] = header_text (home, (sip_header_t const *) sip->sip_to),
        [T_TARGET] = target,
      };

      if (dialog_repack (dlg, changes, (const char *const *) routes->pdata,
                         (gssize) routes->len))
        dlg->established = TRUE;
    }
  else if (sip != NULL && sip->sip_contact != NULL)
    {
      char *target = contact_text (home, sip->sip_contact);
      const char *changes[N_TEXT] = { [T_TARGET] = target };

      if (target != NULL)
        dialog_repack (dlg, changes, NULL, -1);
    }
  su_home_deinit (home);

  if (dlg->linger != NULL)
    stox_fifo_timer_remove (dialogs->lingering, dlg->linger);
  if (terminates)
    {
      if (dlg->linger == NULL)
        dlg->linger = g_new0 (StoxFifoTimerEntry, 1);
      stox_fifo_timer_add (dialogs->lingering, dlg->linger, dlg);
    }
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
