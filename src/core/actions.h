/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The core's actions: one builder per kind, so that each flow module
 * (messages, readiness, both directions of presence) states only its
 * decisions, and the one free function.  Every builder appends the new
 * action to `actions` and copies the strings it is given.
 */
#pragma once

#include "rules.h"
#include "types.h"

G_BEGIN_DECLS

/* A list of StoxAction, owning them. */
GPtrArray *stox_actions_new (void);

void stox_action_free (StoxAction *action);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxAction, stox_action_free)

/* RFC 3261 §21 reason phrase for a status the gateway emits. */
const char *stox_sip_phrase (guint status);

/* SIP_RESPOND: a final answer to incoming request `token`.  Returns the
 * answer so the caller can add Expires / Min-Expires. */
StoxSipAnswer *stox_actions_respond (GPtrArray  *actions,
                                     StoxToken   token,
                                     guint       status,
                                     guint       retry_after,
                                     const char *accept,
                                     const char *allow,
                                     const char *warning);

/* SIP_MESSAGE: a MESSAGE out of dialog (RFC 3428 §4) to `request_uri`,
 * which is also its To, with `body` (UTF-8 text, copied) as `content_type`.
 * Returns it so the caller can add Call-ID, Subject, Content-Language. */
StoxSipOutMessage *stox_actions_message (GPtrArray  *actions,
                                         StoxToken   token,
                                         const char *request_uri,
                                         const char *from_uri,
                                         const char *content_type,
                                         const char *body);

/* SIP_SUBSCRIBE in client dialog `dialog` (RFC 6665 §4.1.2) to
 * `request_uri`, which is also its To. */
void stox_actions_subscribe (GPtrArray  *actions,
                             StoxToken   dialog,
                             const char *request_uri,
                             const char *from_uri,
                             const char *event,
                             const char *accept,
                             guint       expires);

/* SIP_NOTIFY `token` in server dialog `dialog` (RFC 6665 §4.2.2);
 * `body` (taken, NULL: none) is a document of `content_type`.  Returns
 * it so the caller can add Retry-After to a terminated one. */
StoxSipNotify *stox_actions_notify (GPtrArray   *actions,
                                    StoxToken    token,
                                    StoxToken    dialog,
                                    StoxSubstate substate,
                                    const char  *reason,
                                    guint        expires,
                                    const char  *content_type,
                                    char        *body);

/* XMPP_SEND: queues `st` (taken) for sending. */
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

/* STORE: a record of the XMPP user `xmpp_jid` and the SIP user `sip_jid`
 * to keep (`remove` FALSE) or delete for the next start-up.  Returns it so
 * the caller can fill the WATCH fields. */
StoxStoreRecord *stox_actions_store (GPtrArray    *actions,
                                     StoxStoreKind kind,
                                     gboolean      remove,
                                     const char   *xmpp_jid,
                                     const char   *sip_jid);

G_END_DECLS
