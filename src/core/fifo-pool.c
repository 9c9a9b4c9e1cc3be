/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <string.h>

#include "fifo-pool.h"

/* Under AddressSanitizer the pool tells it what is handed out, so that a
 * write past a record is caught as it would be with malloc (the test
 * suite runs under ASan).  A released record stays addressable until its
 * block is emptied (a release does not know the record's size). */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION ((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION ((p), (n))
#else
#define POISON(p, n) ((void) (p), (void) (n))
#define UNPOISON(p, n) ((void) (p), (void) (n))
#endif

/* Each record is preceded by its block's address: a release needs no pool
 * and no search. */
typedef struct _Block Block;

struct _Block
{
  StoxFifoPool *pool;
  guint         live;   /* records not yet released */
  gsize         used;   /* bytes of data[] handed out */
  gsize         size;   /* bytes of data[] */
  guint64       data[];
};

struct _StoxFifoPool
{
  gsize  block_size;
  Block *current;       /* where new records are cut, or NULL */
  guint  blocks;
  guint  records;
};

/* Records hold pointers and 64-bit numbers; the block pointer before each
 * is one such word. */
#define ALIGN MAX (sizeof (gpointer), sizeof (guint64))
#define HEADER ALIGN

static gsize
round_up (gsize n)
{
  return (n + ALIGN - 1) / ALIGN * ALIGN;
}

StoxFifoPool *
stox_fifo_pool_new (gsize block_size)
{
  StoxFifoPool *pool = g_new0 (StoxFifoPool, 1);

  pool->block_size = round_up (MAX (block_size, 1024));
  return pool;
}

static void
block_drop (Block *b)
{
  b->pool->blocks--;
  UNPOISON (b->data, b->size);
  g_free (b);
}

void
stox_fifo_pool_free (StoxFifoPool *pool)
{
  if (pool == NULL)
    return;
  g_return_if_fail (pool->records == 0);
  if (pool->current != NULL)
    block_drop (pool->current);
  g_free (pool);
}

static Block *
block_new (StoxFifoPool *pool,
           gsize         size)
{
  Block *b = g_malloc (sizeof (Block) + size);

  b->pool = pool;
  b->live = 0;
  b->used = 0;
  b->size = size;
  POISON (b->data, size);
  pool->blocks++;
  return b;
}

gpointer
stox_fifo_pool_alloc (StoxFifoPool *pool,
                      gsize         size)
{
  gsize need = HEADER + round_up (MAX (size, 1));
  Block *b;

  g_return_val_if_fail (pool != NULL, NULL);
  if (need > pool->block_size / 8)
    b = block_new (pool, need);
  else
    {
      b = pool->current;
      if (b != NULL && b->used + need > b->size)
        {
          /* Full: it stays until its last record goes; an empty one is
           * cut again from the start. */
          if (b->live == 0)
            b->used = 0;
          else
            b = NULL;
        }
      if (b == NULL)
        b = pool->current = block_new (pool, pool->block_size);
    }

  char *p = (char *) b->data + b->used;

  b->used += need;
  b->live++;
  pool->records++;
  UNPOISON (p, HEADER + size);
  *(Block **) p = b;
  memset (p + HEADER, 0, size);
  POISON (p, HEADER);
  return p + HEADER;
}

void
stox_fifo_pool_release (gpointer mem)
{
  if (mem == NULL)
    return;

  char *header = (char *) mem - HEADER;

  UNPOISON (header, HEADER);

  Block *b = *(Block **) header;
  StoxFifoPool *pool = b->pool;

  POISON (header, HEADER);

  g_return_if_fail (b->live > 0);
  pool->records--;
  if (--b->live > 0)
    return;
  if (b == pool->current)
    {
      b->used = 0;
      POISON (b->data, b->size);
    }
  else
    block_drop (b);
}

guint
stox_fifo_pool_get_blocks (const StoxFifoPool *pool)
{
  return pool->blocks;
}

guint
stox_fifo_pool_get_records (const StoxFifoPool *pool)
{
  return pool->records;
}
