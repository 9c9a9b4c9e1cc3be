/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>
#include <sys/random.h>

#include "sip/server-txn.h"

#include "core/deadline.h"

/* ------------------------------------------------------------------ */
/* SipHash-2-4 (Aumasson & Bernstein), fed field by field              */

typedef struct
{
  guint64 v0, v1, v2, v3;
  guint64 tail;     /* up to 7 bytes not yet compressed */
  guint   ntail;
  guint64 total;
} SipHash;

#define ROTL(x, b) (guint64) (((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(h)                                                     \
  G_STMT_START {                                                        \
    h->v0 += h->v1; h->v1 = ROTL (h->v1, 13); h->v1 ^= h->v0;           \
    h->v0 = ROTL (h->v0, 32);                                           \
    h->v2 += h->v3; h->v3 = ROTL (h->v3, 16); h->v3 ^= h->v2;           \
    h->v0 += h->v3; h->v3 = ROTL (h->v3, 21); h->v3 ^= h->v0;           \
    h->v2 += h->v1; h->v1 = ROTL (h->v1, 17); h->v1 ^= h->v2;           \
    h->v2 = ROTL (h->v2, 32);                                           \
  } G_STMT_END

static void
siphash_init (SipHash                *h,
              const StoxSipTxnSecret *key)
{
  h->v0 = 0x736f6d6570736575ULL ^ key->k0;
  h->v1 = 0x646f72616e646f6dULL ^ key->k1;
  h->v2 = 0x6c7967656e657261ULL ^ key->k0;
  h->v3 = 0x7465646279746573ULL ^ key->k1;
  h->tail = 0;
  h->ntail = 0;
  h->total = 0;
}

static inline void
siphash_block (SipHash *h,
               guint64  m)
{
  h->v3 ^= m;
  SIPROUND (h);
  SIPROUND (h);
  h->v0 ^= m;
}

static void
siphash_feed (SipHash    *h,
              const void *data,
              gsize       len)
{
  const guint8 *p = data;

  h->total += len;
  while (len > 0 && h->ntail > 0)
    {
      h->tail |= (guint64) *p++ << (8 * h->ntail);
      len--;
      if (++h->ntail == 8)
        {
          siphash_block (h, h->tail);
          h->tail = 0;
          h->ntail = 0;
        }
    }
  for (; len >= 8; len -= 8, p += 8)
    {
      guint64 m;

      memcpy (&m, p, 8);
      siphash_block (h, GUINT64_FROM_LE (m));
    }
  for (; len > 0; len--)
    h->tail |= (guint64) *p++ << (8 * h->ntail++);
}

static guint64
siphash_finish (SipHash *h)
{
  guint64 b = (h->total << 56) | h->tail;

  siphash_block (h, b);
  h->v2 ^= 0xff;
  SIPROUND (h);
  SIPROUND (h);
  SIPROUND (h);
  SIPROUND (h);
  return h->v0 ^ h->v1 ^ h->v2 ^ h->v3;
}

/* A field, length first, so that no two sequences of fields feed the same
 * bytes; NULL differs from "". */
static void
feed_field (SipHash    *h,
            const char *s)
{
  guint32 len = s != NULL ? (guint32) strlen (s) + 1 : 0;

  siphash_feed (h, &len, sizeof len);
  if (s != NULL)
    siphash_feed (h, s, len - 1);
}

static void
feed_number (SipHash *h,
             guint64  n)
{
  siphash_feed (h, &n, sizeof n);
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */

void
stox_sip_txn_secret_init (StoxSipTxnSecret *secret)
{
  guint64 k[2];

  if (getrandom (k, sizeof k, 0) != (ssize_t) sizeof k)
    {
      /* Only before the kernel's pool is ready (early boot): the tags are
       * then guessable, the matching still correct. */
      k[0] = ((guint64) g_random_int () << 32) | g_random_int ();
      k[1] = ((guint64) g_random_int () << 32) | g_random_int ();
    }
  secret->k0 = k[0];
  secret->k1 = k[1];
}

guint64
stox_sip_txn_hash2 (const StoxSipTxnSecret *secret,
                    const char             *a,
                    const char             *b)
{
  SipHash h;

  siphash_init (&h, secret);
  feed_field (&h, a);
  feed_field (&h, b);
  return siphash_finish (&h) | 1;
}

/* The method a request's transaction was created by (§17.2.3: an ACK
 * belongs to its INVITE's). */
static void
feed_method (SipHash     *h,
             sip_method_t method,
             const char  *name)
{
  if (method == sip_method_ack)
    method = sip_method_invite;
  feed_number (h, (guint64) method);
  if (method == sip_method_unknown)
    feed_field (h, name);
}

static void
feed_via (SipHash          *h,
          sip_via_t const  *v)
{
  feed_field (h, v->v_protocol);
  feed_field (h, v->v_host);
  feed_field (h, v->v_port);
}

/* RFC 3261 §17.2.3 with the magic cookie: branch and sent-by; without it
 * (RFC 2543 peers), the fields RFC 2543 matched a transaction on:
 * Request-URI, To tag, From tag, Call-ID, CSeq and the top Via. */
gboolean
stox_sip_txn_keys (const StoxSipTxnSecret *secret,
                   sip_t const            *sip,
                   StoxSipTxnKeys         *ret_keys)
{
  sip_via_t const *v = sip->sip_via;
  SipHash h;

  if (sip->sip_request == NULL || v == NULL || sip->sip_call_id == NULL
      || sip->sip_cseq == NULL || sip->sip_from == NULL || sip->sip_to == NULL)
    return FALSE;

  sip_method_t method = sip->sip_request->rq_method;
  const char *name = sip->sip_request->rq_method_name;

  siphash_init (&h, secret);
  ret_keys->rfc2543 = v->v_branch == NULL || strncmp (v->v_branch, "z9hG4bK", 7) != 0;
  if (!ret_keys->rfc2543)
    {
      feed_number (&h, 3261);
      feed_field (&h, v->v_branch);
      feed_via (&h, v);
    }
  else
    {
      url_t const *u = sip->sip_request->rq_url;

      feed_number (&h, 2543);
      feed_field (&h, u->url_scheme);
      feed_field (&h, u->url_user);
      feed_field (&h, u->url_host);
      feed_field (&h, u->url_port);
      feed_field (&h, u->url_params);
      feed_field (&h, sip->sip_to->a_tag);
      feed_field (&h, sip->sip_from->a_tag);
      feed_field (&h, sip->sip_call_id->i_id);
      feed_number (&h, sip->sip_cseq->cs_seq);
      feed_field (&h, v->v_branch);
      feed_via (&h, v);
    }
  /* Both hashes share the prefix: copy the state, then add the method. */
  SipHash with_method = h;
  ret_keys->tag = siphash_finish (&h) | 1;
  feed_method (&with_method, method, name);
  ret_keys->txn = siphash_finish (&with_method) | 1;

  ret_keys->merge = 0;
  if (sip->sip_to->a_tag == NULL && sip->sip_from->a_tag != NULL && method != sip_method_ack
      && method != sip_method_cancel)
    {
      siphash_init (&h, secret);
      feed_number (&h, 822);
      feed_field (&h, sip->sip_from->a_tag);
      feed_field (&h, sip->sip_call_id->i_id);
      feed_number (&h, sip->sip_cseq->cs_seq);
      feed_method (&h, method, name);
      ret_keys->merge = siphash_finish (&h) | 1;
    }
  return TRUE;
}

const char *
stox_sip_txn_tag (const StoxSipTxnKeys *keys,
                  char                  buf[STOX_SIP_TXN_TAG_SIZE])
{
  g_snprintf (buf, STOX_SIP_TXN_TAG_SIZE, "%016" G_GINT64_MODIFIER "x", keys->tag);
  return buf;
}

/* ------------------------------------------------------------------ */
/* The records: rings in arrival order (which is expiry order, since
 * every record is kept equally long), each with two open-addressing
 * indexes of its ring positions (by transaction key, by merge key), linear
 * probing with backward-shift deletion.  No allocation per record: 40
 * bytes in the ring and 8 in the indexes (at most half full).
 *
 * A ring never grows in place: copying it and rebuilding its indexes
 * costs the loop a pause proportional to what it holds (16 ms at 130 000
 * records, far more at the 640 000 of 32 s at 20 000/s; bench/README.md).
 * A full ring is left to empty by expiry instead, and the next records go
 * to a new one twice its size: a generation.  Every record of a
 * generation is older than every record of the next, so the oldest
 * record overall is the head of the oldest generation; a lookup asks
 * each generation, newest first: one in a steady state, more for the
 * 32 s after the load grew (about 14 from idle to 640 000 records).
 * The memory goes back the same way: a generation an eighth full when it
 * is the only one is followed by one half its size. */

void
stox_sip_txn_extra_free (StoxSipTxnExtra *extra)
{
  if (extra == NULL)
    return;
  g_free (extra->phrase);
  g_free (extra->accept);
  g_free (extra->allow);
  g_free (extra->warning);
  g_free (extra);
}

#define MIN_CAPACITY 64u

/* The largest ring: 2^24 records of 40 bytes (and 2^25 index slots of 4
 * for each index), 26 minutes of Timer J at 10 000 requests a second.
 * Beyond it a new generation is that size again; at MAX_GENERATIONS of
 * them a record is not kept (its retransmission would be taken for a new
 * request), which takes hundreds of millions of requests in 32 s. */
#define MAX_CAPACITY (1u << 24)
#define MAX_GENERATIONS 32

typedef struct
{
  guint32 *slots;   /* ring position + 1; 0: empty */
  guint32  mask;
} Index;

typedef struct
{
  StoxSipTxnRecord *ring;
  guint32           capacity;   /* a power of two */
  guint32           head;
  guint32           len;
  Index             by_txn;
  Index             by_merge;
} Generation;

struct _StoxSipTxnTable
{
  GSource     source;
  Generation *gens[MAX_GENERATIONS];  /* oldest first */
  guint       n_gens;                 /* at least 1 */
  guint       len;
  gint64      keep_us;
};

static guint64
key_of (const StoxSipTxnRecord *r,
        gboolean                merge)
{
  return merge ? r->merge : r->txn;
}

static void
index_init (Index  *ix,
            guint32 size)
{
  ix->slots = g_new0 (guint32, size);
  ix->mask = size - 1;
}

static void
index_insert (Index                  *ix,
              const StoxSipTxnRecord *ring,
              guint32                 pos,
              gboolean                merge)
{
  guint32 i = (guint32) key_of (&ring[pos], merge) & ix->mask;

  while (ix->slots[i] != 0)
    i = (i + 1) & ix->mask;
  ix->slots[i] = pos + 1;
}

/* The slot holding a record with `key`, or -1. */
static gint64
index_find (const Index            *ix,
            const StoxSipTxnRecord *ring,
            guint64                 key,
            gboolean                merge)
{
  for (guint32 i = (guint32) key & ix->mask; ix->slots[i] != 0; i = (i + 1) & ix->mask)
    if (key_of (&ring[ix->slots[i] - 1], merge) == key)
      return i;
  return -1;
}

static void
index_remove (Index                  *ix,
              const StoxSipTxnRecord *ring,
              guint32                 pos,
              gboolean                merge)
{
  guint32 i = (guint32) key_of (&ring[pos], merge) & ix->mask;

  while (ix->slots[i] != pos + 1)
    {
      g_assert (ix->slots[i] != 0);
      i = (i + 1) & ix->mask;
    }
  /* Backward shift: move later entries of the probe run into the hole
   * unless their home slot lies cyclically after the hole. */
  for (guint32 j = (i + 1) & ix->mask; ix->slots[j] != 0; j = (j + 1) & ix->mask)
    {
      guint32 home = (guint32) key_of (&ring[ix->slots[j] - 1], merge) & ix->mask;

      if (((j - home) & ix->mask) >= ((j - i) & ix->mask))
        {
          ix->slots[i] = ix->slots[j];
          i = j;
        }
    }
  ix->slots[i] = 0;
}

static Generation *
generation_new (guint32 capacity)
{
  Generation *g = g_new0 (Generation, 1);

  g->capacity = capacity;
  g->ring = g_new (StoxSipTxnRecord, capacity);
  index_init (&g->by_txn, capacity * 2);
  index_init (&g->by_merge, capacity * 2);
  return g;
}

static void
generation_free (Generation *g)
{
  for (guint32 i = 0; i < g->len; i++)
    stox_sip_txn_extra_free (g->ring[(g->head + i) & (g->capacity - 1)].extra);
  g_free (g->ring);
  g_free (g->by_txn.slots);
  g_free (g->by_merge.slots);
  g_free (g);
}

static Generation *
newest (StoxSipTxnTable *table)
{
  return table->gens[table->n_gens - 1];
}

/* Where the next records go: the newest generation, or a new one twice
 * its size when it is full, or half its size when it is alone and nearly
 * empty (after a burst). */
static Generation *
generation_for_add (StoxSipTxnTable *table)
{
  Generation *g = newest (table);
  guint32 capacity = g->capacity;

  if (g->len == g->capacity)
    capacity = MIN (g->capacity * 2, MAX_CAPACITY);
  else if (table->n_gens == 1 && g->capacity > MIN_CAPACITY && g->len < g->capacity / 8)
    capacity = g->capacity / 2;
  if (capacity == g->capacity && g->len < g->capacity)
    return g;
  /* Never reached in practice (see MAX_CAPACITY): the newest stays full
   * and the record is refused below. */
  if (table->n_gens == MAX_GENERATIONS)
    return g;
  if (g->len == 0)
    {
      /* An empty generation is replaced, not kept. */
      generation_free (g);
      table->n_gens--;
    }
  g = generation_new (capacity);
  table->gens[table->n_gens++] = g;
  return g;
}

void
stox_sip_txn_table_expire (StoxSipTxnTable *table,
                           gint64           now)
{
  while (table->len > 0)
    {
      Generation *g = table->gens[0];

      if (g->len == 0)
        {
          /* Only an older one empties this way: the newest always stays. */
          generation_free (g);
          table->n_gens--;
          memmove (table->gens, table->gens + 1, table->n_gens * sizeof table->gens[0]);
          continue;
        }

      StoxSipTxnRecord *r = &g->ring[g->head];

      if (r->due > now)
        break;
      index_remove (&g->by_txn, g->ring, g->head, FALSE);
      if (r->merge != 0)
        index_remove (&g->by_merge, g->ring, g->head, TRUE);
      stox_sip_txn_extra_free (r->extra);
      g->head = (g->head + 1) & (g->capacity - 1);
      g->len--;
      table->len--;
    }
  /* The emptied older generations go at once, not at the next expiry. */
  while (table->n_gens > 1 && table->gens[0]->len == 0)
    {
      generation_free (table->gens[0]);
      table->n_gens--;
      memmove (table->gens, table->gens + 1, table->n_gens * sizeof table->gens[0]);
    }
  /* After a burst and silence: the memory goes back without waiting for
   * the next record. */
  if (table->n_gens == 1 && table->len == 0 && table->gens[0]->capacity > MIN_CAPACITY)
    {
      generation_free (table->gens[0]);
      table->gens[0] = generation_new (MIN_CAPACITY);
    }
}

/* The record with `key`, or NULL. */
static StoxSipTxnRecord *
find (StoxSipTxnTable *table,
      guint64          key,
      gboolean         merge)
{
  for (guint i = table->n_gens; i-- > 0;)
    {
      Generation *g = table->gens[i];
      Index *ix = merge ? &g->by_merge : &g->by_txn;
      gint64 slot = index_find (ix, g->ring, key, merge);

      if (slot >= 0)
        return &g->ring[ix->slots[slot] - 1];
    }
  return NULL;
}

void
stox_sip_txn_table_add (StoxSipTxnTable        *table,
                        const StoxSipTxnRecord *rec)
{
  g_return_if_fail (rec->txn != 0);

  Generation *g = find (table, rec->txn, FALSE) == NULL ? generation_for_add (table) : NULL;

  if (g == NULL || g->len == g->capacity)
    {
      stox_sip_txn_extra_free (rec->extra);
      return;
    }

  guint32 pos = (g->head + g->len) & (g->capacity - 1);

  g->ring[pos] = *rec;
  g->ring[pos].due = g_get_monotonic_time () + table->keep_us;
  g->len++;
  table->len++;
  index_insert (&g->by_txn, g->ring, pos, FALSE);
  if (rec->merge != 0)
    index_insert (&g->by_merge, g->ring, pos, TRUE);
}

const StoxSipTxnRecord *
stox_sip_txn_table_lookup (StoxSipTxnTable *table,
                           guint64          txn)
{
  return find (table, txn, FALSE);
}

gboolean
stox_sip_txn_table_has_merge (StoxSipTxnTable *table,
                              guint64          merge)
{
  return merge != 0 && find (table, merge, TRUE) != NULL;
}

guint
stox_sip_txn_table_length (StoxSipTxnTable *table)
{
  return table->len;
}

guint
stox_sip_txn_table_generations (StoxSipTxnTable *table)
{
  return table->n_gens;
}

static gboolean
table_prepare (GSource *source,
               gint    *timeout)
{
  StoxSipTxnTable *table = (StoxSipTxnTable *) source;

  Generation *g = table->gens[0];

  /* An emptied older generation is due at once (freed by the expiry). */
  return stox_deadline_due (g->len > 0 ? g->ring[g->head].due : table->n_gens > 1 ? 0 : -1,
                            g_source_get_time (source), timeout);
}

static gboolean
table_check (GSource *source)
{
  gint timeout;

  return table_prepare (source, &timeout);
}

static gboolean
table_dispatch (GSource    *source,
                GSourceFunc callback,
                gpointer    user_data)
{
  (void) callback;
  (void) user_data;
  stox_sip_txn_table_expire ((StoxSipTxnTable *) source, g_get_monotonic_time ());
  return G_SOURCE_CONTINUE;
}

static void
table_finalize (GSource *source)
{
  StoxSipTxnTable *table = (StoxSipTxnTable *) source;

  for (guint i = 0; i < table->n_gens; i++)
    generation_free (table->gens[i]);
}

static GSourceFuncs table_funcs = {
  .prepare = table_prepare,
  .check = table_check,
  .dispatch = table_dispatch,
  .finalize = table_finalize,
};

StoxSipTxnTable *
stox_sip_txn_table_new (guint keep_ms)
{
  GSource *source = g_source_new (&table_funcs, sizeof (StoxSipTxnTable));
  StoxSipTxnTable *table = (StoxSipTxnTable *) source;

  table->keep_us = (gint64) keep_ms * 1000;
  table->gens[0] = generation_new (MIN_CAPACITY);
  table->n_gens = 1;
  g_source_set_name (source, "stox-sip answered transactions (Timer J)");
  /* Expiry only frees memory: behind everything else. */
  g_source_set_priority (source, G_PRIORITY_LOW);
  g_source_attach (source, NULL);
  return table;
}

void
stox_sip_txn_table_free (StoxSipTxnTable *table)
{
  if (table == NULL)
    return;
  g_source_destroy ((GSource *) table);
  g_source_unref ((GSource *) table);
}
