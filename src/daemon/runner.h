/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Carries out the core's actions: SIP answers and requests through the SIP
 * front end, stanzas through the XMPP front end, and the core's deadlines
 * through ONE GSource whose ready time follows stox_gateway_next_deadline()
 * (no per-message timers).  Front-end events enter the core here.
 */
#pragma once

#include "core/gateway.h"
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

/* STORE actions go there, flushed in one transaction per idle moment. */
void stox_runner_set_store (StoxRunner *runner, StoxStore *store);
/* Writes what is queued now (before exit). */
void stox_runner_flush (StoxRunner *runner);
/* Start-up: one stored record back into the core (signature of
 * stox_store_load's callback). */
void stox_runner_restore (const StoxStoreRecord *record, gpointer user_data);

void stox_runner_set_frontends (StoxRunner        *runner,
                                StoxSipEndpoint   *sip,
                                StoxXmppComponent *xmpp);

/* Signatures match the front ends' callback types; user_data = runner. */
void stox_runner_on_sip_request  (const StoxSipRequest  *req,  gpointer user_data);
void stox_runner_on_sip_response (const StoxSipResponse *resp, gpointer user_data);
void stox_runner_on_stanza       (const StoxStanza      *st,   gpointer user_data);
/* The SIP front end's half of a kept watcher dialog (StoxSipDialogFunc):
 * into the store with the core's records. */
void stox_runner_on_sip_dialog   (StoxToken id, const char *state, gpointer user_data);

void stox_runner_on_link  (StoxRunner *runner, gboolean up, guint retry_in_s);
void stox_runner_shutdown (StoxRunner *runner);

G_END_DECLS
