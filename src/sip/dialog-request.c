/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Requests in a dialog (dialog.h): where they go and what they carry, from
 * the dialog's record (RFC 3261 §12.2.1.1), for nta or for the text path
 * (udp-client.h) alike.
 */
#include "config.h"

#include "sip/dialog.h"
#include "sip/dialog-record.h"
#include "sip/dialog-state.h"
#include "sip/next-hop.h"

url_t *
stox_sip_dialog_remote_uri (StoxSipDialog *dlg,
                            su_home_t     *home)
{
  sip_to_t *remote = sip_to_make (home, text_of (dlg, T_REMOTE));

  return remote != NULL ? url_hdup (home, remote->a_url) : NULL;
}

url_t *
stox_sip_dialog_first_hop (StoxSipDialog *dlg,
                           su_home_t     *home)
{
  const char *target = field (dlg, T_TARGET);

  /* A strict router first in the route set becomes the Request-URI and is
   * the first hop, unless a loose router (or target with lr) comes after
   * it (next-hop.h). */
  if (dlg->n_routes > 0)
    {
      sip_record_route_t *rr = sip_record_route_make (home, first_route (dlg));
      sip_record_route_t *rr2 = dlg->n_routes > 1
                                ? sip_record_route_make (home, next_route (first_route (dlg)))
                                : NULL;
      url_t *after = rr2 != NULL ? rr2->r_url
                     : target != NULL ? url_make (home, target)
                                      : stox_sip_dialog_remote_uri (dlg, home);
      url_t const *hop = rr != NULL ? stox_sip_hop_after_strict (rr->r_url, after) : NULL;

      return hop != NULL ? url_hdup (home, hop) : NULL;
    }
  if (target != NULL)
    return url_make (home, target);
  return stox_sip_dialog_remote_uri (dlg, home);
}

gboolean
stox_sip_dialog_request (StoxSipDialog        *dlg,
                         sip_method_t          method,
                         su_home_t            *home,
                         StoxSipDialogRequest *req)
{
  const char *target = field (dlg, T_TARGET);
  sip_route_t *route = NULL, **tail = &route;

  if (target == NULL)
    {
      /* No Contact yet: the peer's address. */
      sip_to_t *remote = sip_to_make (home, text_of (dlg, T_REMOTE));

      target = remote != NULL ? url_as_string (home, remote->a_url) : NULL;
      if (target == NULL)
        return FALSE;
    }
  req->ruri = target;

  /* The route set (RFC 3261 §12.2.1.1); a strict router first in it gets
   * the target as the last route and becomes the Request-URI. */
  const char *r = first_route (dlg);
  for (guint n = 0; n < dlg->n_routes; n++, r = next_route (r))
    {
      /* The URI and its parameters, as Sofia's legs made it: no display
       * name (RFC 3261 §12.1.1: the route set is a list of URIs). */
      sip_record_route_t *rr = sip_record_route_make (home, r);
      sip_route_t *one = rr != NULL ? sip_route_fixdup (home, (sip_route_t const *) rr) : NULL;

      if (one == NULL)
        return FALSE;
      *tail = one;
      while (*tail != NULL)
        tail = &(*tail)->r_next;
    }
  if (route != NULL && !url_has_param (route->r_url, "lr"))
    {
      char *last_text = su_sprintf (home, "<%s>", target);
      sip_route_t *last = last_text != NULL ? sip_route_make (home, last_text) : NULL;

      req->ruri = last != NULL ? url_as_string (home, route->r_url) : NULL;
      if (req->ruri == NULL)
        return FALSE;
      *tail = last;
      route = route->r_next;
    }
  req->route = route;

  if (method != sip_method_ack && method != sip_method_cancel)
    {
      if (dlg->local_cseq >= STOX_SIP_CSEQ_MAX)
        return FALSE;
      dlg->local_cseq++;
    }
  req->cseq = dlg->local_cseq;
  req->call_id = text_of (dlg, T_CALL_ID);
  req->from = text_of (dlg, T_LOCAL);
  req->to = text_of (dlg, T_REMOTE);
  return TRUE;
}

void
stox_sip_dialog_request_unsent (StoxSipDialog              *dlg,
                                const StoxSipDialogRequest *req)
{
  if (dlg->local_cseq == req->cseq && req->cseq > 0)
    dlg->local_cseq--;
}

nta_outgoing_t *
stox_sip_dialog_send (StoxSipDialog      *dlg,
                      sip_method_t        method,
                      const char         *method_name,
                      url_t const        *next_hop,
                      nta_response_f     *callback,
                      struct _StoxSipOp  *op,
                      tag_type_t          tag,
                      tag_value_t         value,
                      ...)
{
  su_home_t home[1] = { SU_HOME_INIT (home) };
  StoxSipDialogRequest req;
  nta_outgoing_t *orq = NULL;
  ta_list ta;

  if (!stox_sip_dialog_request (dlg, method, home, &req))
    {
      su_home_deinit (home);
      return NULL;
    }
  ta_start (ta, tag, value);
  orq = nta_outgoing_tcreate (stox_sip_dialogs_default_leg (dlg->owner), callback, op,
                              /* NULL: the first route, else the target
                               * (nta follows the Route header). */
                              (url_string_t const *) next_hop,
                              method, method_name, URL_STRING_MAKE (req.ruri),
                              SIPTAG_CALL_ID_STR (req.call_id),
                              SIPTAG_FROM_STR (req.from),
                              SIPTAG_TO_STR (req.to),
                              SIPTAG_CSEQ (sip_cseq_create (home, req.cseq, method,
                                                            method_name)),
                              TAG_IF (req.route != NULL, SIPTAG_ROUTE (req.route)),
                              ta_tags (ta));
  (void) ta_end (ta);
  su_home_deinit (home);
  return orq;
}
