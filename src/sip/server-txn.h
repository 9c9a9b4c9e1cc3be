/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Server transactions without Sofia's (RFC 3261 §17.2): the keys that
 * match a request to its transaction (§17.2.3), the To-tag our answers
 * carry, and the small records that answer a retransmission after the
 * final response (Timer J, §17.2.2).
 *
 * nta handles the requests outside its legs statelessly (the agent's
 * message callback, endpoint.c); what it would keep per transaction for
 * 64×T1 (about 10 KB: the request, the response, their headers) becomes
 * one record here of a few dozen bytes: the key, the status and what the
 * core added.  A retransmission gets the same response again because the
 * response is rebuilt from the retransmitted request (identical by
 * definition) with the same status and headers, and the same To-tag,
 * which is derived from the branch with a per-process key rather than
 * stored.
 *
 * Private to src/sip/.  No socket: tests/frontend/test-server-txn drives it
 * with requests parsed by Sofia.
 */
#pragma once

#include "sip/sofia-decls.h"

#include <glib.h>

G_BEGIN_DECLS

/* What identifies a request's transaction, hashed with a per-process key
 * (so that no peer can choose collisions; 0 is never a key). */
typedef struct
{
  guint64  txn;     /* §17.2.3: branch, sent-by, method (ACK as INVITE) */
  guint64  tag;     /* the same without the method: our To-tag's source */
  guint64  merge;   /* §8.2.2.2: From tag, Call-ID, CSeq; 0 with a To tag */
  gboolean rfc2543; /* no magic cookie: matched on the RFC 2543 fields */
} StoxSipTxnKeys;

/* The per-process secret; fresh from the kernel's random source. */
typedef struct
{
  guint64 k0;
  guint64 k1;
} StoxSipTxnSecret;

void     stox_sip_txn_secret_init (StoxSipTxnSecret *secret);

/* A keyed hash of two strings (never 0): the dialogs' index. */
guint64  stox_sip_txn_hash2 (const StoxSipTxnSecret *secret,
                             const char             *a,
                             const char             *b);

/* FALSE when the request lacks what matching needs (Via, Call-ID, CSeq,
 * From); nta refuses such requests before they reach us. */
gboolean stox_sip_txn_keys (const StoxSipTxnSecret *secret,
                            sip_t const            *sip,
                            StoxSipTxnKeys         *ret_keys);

/* The To-tag of our answers to the request with `keys` (RFC 3261 §19.3:
 * at least 32 bits of randomness; here 64, keyed): the same for every
 * retransmission, and for a CANCEL of it.  `buf` holds at least
 * STOX_SIP_TXN_TAG_SIZE bytes. */
#define STOX_SIP_TXN_TAG_SIZE 17
const char *stox_sip_txn_tag (const StoxSipTxnKeys *keys,
                              char                  buf[STOX_SIP_TXN_TAG_SIZE]);

/* ------------------------------------------------------------------ */
/* Answered transactions, kept for Timer J                             */

/* What a retransmitted request is answered with again: the status and the
 * headers the core chose (the stack adds the same constant ones each
 * time).  `extra` holds what few answers have; it is owned by the record. */
typedef struct
{
  char   *phrase;        /* NULL: the status's own */
  gint64  min_expires;   /* -1: none */
  guint   retry_after;   /* 0: none */
  char   *accept;
  char   *allow;         /* NULL: the endpoint's */
  char   *warning;       /* the Warning header's value, formatted */
} StoxSipTxnExtra;

void stox_sip_txn_extra_free (StoxSipTxnExtra *extra);

typedef struct
{
  guint64          txn;
  guint64          merge;
  gint64           due;        /* monotonic µs: Timer J fires */
  StoxSipTxnExtra *extra;      /* NULL for most */
  gint32           expires;    /* Expires of a 2xx; -1: none */
  guint16          status;
  guint8           flags;      /* the endpoint's: which constant headers */
} StoxSipTxnRecord;

typedef struct _StoxSipTxnTable StoxSipTxnTable;

/* Records expire `keep_ms` after they are added (64×T1 = 32 s); one
 * GSource on the thread-default context serves them all. */
StoxSipTxnTable *stox_sip_txn_table_new (guint keep_ms);
void             stox_sip_txn_table_free (StoxSipTxnTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxSipTxnTable, stox_sip_txn_table_free)

/* Takes rec->extra.  A key already present is not added twice. */
void                    stox_sip_txn_table_add (StoxSipTxnTable        *table,
                                                const StoxSipTxnRecord *rec);
/* The record of transaction `txn`, or NULL; valid until the next expiry
 * (a record never moves while it is kept). */
const StoxSipTxnRecord *stox_sip_txn_table_lookup (StoxSipTxnTable *table,
                                                   guint64          txn);
/* TRUE when a record has merge key `merge` (and so another transaction
 * with that From tag, Call-ID and CSeq was answered). */
gboolean                stox_sip_txn_table_has_merge (StoxSipTxnTable *table,
                                                      guint64          merge);
guint                   stox_sip_txn_table_length (StoxSipTxnTable *table);
/* Rings in use (server-txn.c: a new one takes over when the newest is
 * full, and the older ones empty by expiry). */
guint                   stox_sip_txn_table_generations (StoxSipTxnTable *table);
/* Drops the records whose time is up (the GSource does this too). */
void                    stox_sip_txn_table_expire (StoxSipTxnTable *table,
                                                   gint64           now);

G_END_DECLS
