/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading the daemon's small text files (stox.conf, the secret-file, rule
 * files): regular files only, never more than a cap, never blocking on a
 * FIFO.  Failures come back as a strerror()-style reason for the caller to
 * put after the file's name and key.
 */
#pragma once

#include <glib.h>
#include <sys/stat.h>

G_BEGIN_DECLS

/* Opens a regular file for reading (O_NONBLOCK, so that a FIFO cannot hang
 * a check); -1 with `ret_why` ("is a directory", "not a regular file", or
 * the system's reason) otherwise. */
int      stox_textfile_open (const char *path, struct stat *ret_st, char **ret_why);

/* Reads at most `cap` bytes of a regular file, NUL-terminated ("larger
 * than N bytes" beyond that). */
gboolean stox_textfile_read (const char *path, gsize cap, char **ret_text, gsize *ret_len,
                             char **ret_why);

/* The same, with the file's permission bits (st_mode & 07777) as it was
 * opened: for files that hold a secret. */
gboolean stox_textfile_read_mode (const char *path, gsize cap, char **ret_text, gsize *ret_len,
                                  guint *ret_mode, char **ret_why);

G_END_DECLS
