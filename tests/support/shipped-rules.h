/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The shipped gateway-rules/ files, for tests that check against them. */
#pragma once

#include "core/rules.h"

G_BEGIN_DECLS

/* One shipped file's text; fails the test when it cannot be read. */
char *stox_test_read_shipped (const char *name, gsize *ret_length);

/* Every shipped file, read here and built in name order and validated by
 * the core's stox_rules_build(), as stoxd's loader builds them: what stoxd
 * loads from its rules directory (stox.conf(5)). */
StoxRules *stox_test_load_shipped_rules (void);

G_END_DECLS
