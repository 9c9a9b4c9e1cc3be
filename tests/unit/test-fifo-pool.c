/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The FIFO pool (src/core/fifo-pool.h): records cut from shared blocks,
 * a block freed with its last record, whatever the order of release.
 */
#include "config.h"

#include <string.h>

#include "core/fifo-pool.h"

#define BLOCK 4096

/* Records of 40 bytes (48 with the block pointer): 85 to a block. */
#define PER_BLOCK (BLOCK / 48)

static void
test_fifo_order (void)
{
  StoxFifoPool *pool = stox_fifo_pool_new (BLOCK);
  gpointer recs[1000];

  for (guint i = 0; i < G_N_ELEMENTS (recs); i++)
    {
      recs[i] = stox_fifo_pool_alloc (pool, 40);
      g_assert_true (((guintptr) recs[i] % 8) == 0);
      /* Zeroed, and not overlapping the one before. */
      for (guint j = 0; j < 40; j++)
        g_assert_cmpuint (((guint8 *) recs[i])[j], ==, 0);
      memset (recs[i], 0xa5, 40);
    }
  g_assert_cmpuint (stox_fifo_pool_get_records (pool), ==, 1000);
  g_assert_cmpuint (stox_fifo_pool_get_blocks (pool), ==, (1000 + PER_BLOCK - 1) / PER_BLOCK);

  /* Released oldest first: each full block goes with its last record. */
  for (guint i = 0; i < G_N_ELEMENTS (recs); i++)
    {
      stox_fifo_pool_release (recs[i]);
      g_assert_cmpuint (stox_fifo_pool_get_blocks (pool), ==,
                        1 + (1000 - 1) / PER_BLOCK - (i + 1) / PER_BLOCK);
    }
  g_assert_cmpuint (stox_fifo_pool_get_records (pool), ==, 0);
  /* The block being cut stays, empty, for the next records. */
  g_assert_cmpuint (stox_fifo_pool_get_blocks (pool), ==, 1);
  stox_fifo_pool_free (pool);
}

/* One record kept pins its block only; the others' blocks go. */
static void
test_straggler (void)
{
  StoxFifoPool *pool = stox_fifo_pool_new (BLOCK);
  gpointer recs[PER_BLOCK * 4];

  for (guint i = 0; i < G_N_ELEMENTS (recs); i++)
    recs[i] = stox_fifo_pool_alloc (pool, 40);
  g_assert_cmpuint (stox_fifo_pool_get_blocks (pool), ==, 4);
  for (guint i = 0; i < G_N_ELEMENTS (recs); i++)
    if (i != 5)
      stox_fifo_pool_release (recs[i]);
  /* The first block (record 5) and the current one (empty). */
  g_assert_cmpuint (stox_fifo_pool_get_blocks (pool), ==, 2);
  g_assert_cmpuint (stox_fifo_pool_get_records (pool), ==, 1);
  stox_fifo_pool_release (recs[5]);
  g_assert_cmpuint (stox_fifo_pool_get_blocks (pool), ==, 1);
  stox_fifo_pool_free (pool);
}

/* The current block, emptied, is cut again from its start: a steady
 * trickle of short-lived records needs one block. */
static void
test_current_reused (void)
{
  StoxFifoPool *pool = stox_fifo_pool_new (BLOCK);

  for (guint i = 0; i < 10 * PER_BLOCK; i++)
    {
      gpointer a = stox_fifo_pool_alloc (pool, 40);
      gpointer b = stox_fifo_pool_alloc (pool, 40);

      stox_fifo_pool_release (a);
      stox_fifo_pool_release (b);
    }
  g_assert_cmpuint (stox_fifo_pool_get_blocks (pool), ==, 1);
  stox_fifo_pool_free (pool);
}

/* A record over an eighth of a block gets a block of its own, freed with
 * it; the block being cut is not disturbed. */
static void
test_large (void)
{
  StoxFifoPool *pool = stox_fifo_pool_new (BLOCK);
  gpointer small = stox_fifo_pool_alloc (pool, 40);
  gpointer big = stox_fifo_pool_alloc (pool, BLOCK);
  gpointer small2 = stox_fifo_pool_alloc (pool, 40);

  memset (big, 0x5a, BLOCK);
  g_assert_cmpuint (stox_fifo_pool_get_blocks (pool), ==, 2);
  g_assert_true ((char *) small2 == (char *) small + 48);
  stox_fifo_pool_release (big);
  g_assert_cmpuint (stox_fifo_pool_get_blocks (pool), ==, 1);
  stox_fifo_pool_release (small);
  stox_fifo_pool_release (small2);
  stox_fifo_pool_release (NULL);
  g_assert_cmpuint (stox_fifo_pool_get_records (pool), ==, 0);
  stox_fifo_pool_free (pool);
}

/* Sizes round up to 8 bytes; size 0 still gets a distinct record. */
static void
test_sizes (void)
{
  static const struct { gsize size; gsize step; } rows[] = {
    { 0, 16 }, { 1, 16 }, { 8, 16 }, { 9, 24 }, { 40, 48 }, { 41, 56 }, { 504, 512 },
  };

  for (guint r = 0; r < G_N_ELEMENTS (rows); r++)
    {
      StoxFifoPool *pool = stox_fifo_pool_new (BLOCK);
      char *a = stox_fifo_pool_alloc (pool, rows[r].size);
      char *b = stox_fifo_pool_alloc (pool, rows[r].size);

      g_assert_cmpuint ((gsize) (b - a), ==, rows[r].step);
      stox_fifo_pool_release (a);
      stox_fifo_pool_release (b);
      stox_fifo_pool_free (pool);
    }
}

#if defined(__SANITIZE_ADDRESS__)
/* Under ASan a write one byte past a record is caught, as with malloc. */
static void
test_asan_overflow (void)
{
  if (g_test_subprocess ())
    {
      StoxFifoPool *pool = stox_fifo_pool_new (BLOCK);
      volatile char *rec = stox_fifo_pool_alloc (pool, 41);

      rec[40] = 1;      /* the last byte: fine */
      rec[41] = 1;      /* one past it */
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  g_test_trap_assert_stderr ("*use-after-poison*");
}
#endif

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/fifo-pool/fifo-order", test_fifo_order);
  g_test_add_func ("/fifo-pool/straggler", test_straggler);
  g_test_add_func ("/fifo-pool/current-reused", test_current_reused);
  g_test_add_func ("/fifo-pool/large", test_large);
  g_test_add_func ("/fifo-pool/sizes", test_sizes);
#if defined(__SANITIZE_ADDRESS__)
  g_test_add_func ("/fifo-pool/asan-overflow", test_asan_overflow);
#endif
  return g_test_run ();
}
