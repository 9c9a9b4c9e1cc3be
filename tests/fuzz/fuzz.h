/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What every fuzz target shares.  A target is one
 * LLVMFuzzerTestOneInput(); built with --enable-fuzzing it links libFuzzer's
 * main, in every other build tests/fuzz/replay.c's, which runs it on the
 * seed corpus and on every input that once crashed (tests/fuzz/README).
 *
 * A target checks more than "no crash": where a header promises a property
 * (a document the gateway built parses again, every SIP request gets one
 * final answer, …) a broken promise aborts with stox_fuzz_fail(), which
 * libFuzzer reports like a crash.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <glib.h>

#include "core/rules.h"

G_BEGIN_DECLS

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Once per process: a GLib warning or critical aborts (libFuzzer then keeps
 * the input), everything quieter is dropped to keep the runs fast. */
void stox_fuzz_init_logging (void);

/* The shipped rule files of $STOX_FUZZ_RULES_DIR or the source tree's
 * gateway-rules/, read once as stoxd reads its rules directory (every
 * regular file not starting with '.'), in name order. */
const StoxRulesFile *stox_fuzz_shipped_files (gsize *ret_n_files);

/* Those files built once by the core's stox_rules_build(), as stoxd
 * builds them. */
const StoxRules *stox_fuzz_shipped_rules (void);

/* Prints "fuzz: broken promise: WHAT" (with printf arguments) and aborts. */
G_NORETURN void stox_fuzz_fail (const char *format, ...) G_GNUC_PRINTF (1, 2);

#define stox_fuzz_check(cond, ...) \
  G_STMT_START { if (G_UNLIKELY (!(cond))) stox_fuzz_fail (__VA_ARGS__); } G_STMT_END

/* A NUL-terminated copy of the first `size` bytes, cut at the first NUL
 * (for APIs that take C strings). */
char *stox_fuzz_cstring (const uint8_t *data, size_t size);

G_END_DECLS
