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

/* stox_config_load_rules() for stoxd's start and SIGHUP: an error that is
 * not a rule file's "FILE:LINE: why" (the directory cannot be read, a
 * rule file cannot be read, a table is incomplete) is prefixed with
 * `origin` (e.g. "/etc/stox/stox.conf: [gateway] rules"), so that every
 * configuration error names the config file and the key. */
struct _StoxRules *stox_rules_dir_load (const char *dir, const char *origin, GError **error);

/* Like stox_rules_dir_load() but for --check-config: one message per
 * broken file (a broken file is skipped, the others are still read), plus
 * the stox_rules_validate() verdict on the rest.  Empty when all is well. */
GPtrArray  *stox_config_check_rules (const char *dir, const char *origin);

G_END_DECLS
