/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Builders for the actions every flow of the engine emits, so that each
 * flow module (messages, readiness, both directions of presence) states
 * only its decisions.
 */
#pragma once

#include "rules.h"
#include "types.h"

G_BEGIN_DECLS

/* RFC 3261 §21 reason phrase for a status the gateway emits. */
const char *stox_sip_phrase (guint status);

/* A final answer to incoming request `token`.  Returns the action so the
 * caller can add Expires / Min-Expires. */
StoxAction *stox_actions_respond (GPtrArray  *actions,
                                  StoxToken   token,
                                  guint       status,
                                  guint       retry_after,
                                  const char *accept,
                                  const char *allow,
                                  const char *warning);

/* Queues `st` (taken) for sending. */
void stox_actions_stanza (GPtrArray *actions, StoxStanza *st);

/* An error reply to `st` (RFC 6120 §8.3): addresses swapped, same id, the
 * RFC 6120 type from the rules.  Never in answer to an error, which could
 * loop between two gateways.  Returns FALSE when nothing was sent. */
gboolean stox_actions_stanza_error (GPtrArray        *actions,
                                    const StoxRules  *rules,
                                    const StoxStanza *st,
                                    const char       *default_from,
                                    const char       *condition,
                                    const char       *text);

/* A presence stanza from `from` to `to` of `type` (NULL: available). */
StoxStanza *stox_presence_stanza_new (const char *from, const char *to, const char *type);

/* Queues that presence stanza for sending. */
void stox_actions_presence (GPtrArray  *actions,
                            const char *from,
                            const char *to,
                            const char *type);

/* A record to keep (`remove` FALSE) or delete for the next start-up.
 * Returns it so the caller can fill the WATCH fields. */
StoxStoreRecord *stox_actions_store (GPtrArray    *actions,
                                     StoxStoreKind kind,
                                     gboolean      remove,
                                     const char   *a,
                                     const char   *b);

G_END_DECLS
