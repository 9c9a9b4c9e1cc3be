/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rule directory named by [gateway] rules (stox-rules(5)), read at
 * start-up, on SIGHUP and by --check-config.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Reads the rule directory: every regular file not starting with '.',
 * in name order (strcmp), each at most STOX_CONFIG_FILE_MAX bytes, then
 * stox_rules_validate().  Errors name FILE:LINE (STOX_RULES_ERROR), or the
 * directory or file that cannot be read (STOX_CONFIG_ERROR_IO). */
struct _StoxRules;
struct _StoxRules *stox_config_load_rules (const char *dir, GError **error);

/* Like stox_config_load_rules() but for --check-config: one message per
 * broken file (a broken file is skipped, the others are still read), plus
 * the stox_rules_validate() verdict on the rest.  Empty when all is well. */
GPtrArray  *stox_config_check_rules (const char *dir);

G_END_DECLS
