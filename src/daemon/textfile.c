/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <config.h>  /* autoconf; "config.h" here would be daemon/config.h */

#include "daemon/textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

int
stox_textfile_open (const char *path, struct stat *ret_st, char **ret_why)
{
  int fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);

  if (fd < 0)
    {
      *ret_why = g_strdup (g_strerror (errno));
      return -1;
    }
  if (fstat (fd, ret_st) < 0)
    {
      *ret_why = g_strdup (g_strerror (errno));
      close (fd);
      return -1;
    }
  if (S_ISDIR (ret_st->st_mode))
    {
      *ret_why = g_strdup ("is a directory");
      close (fd);
      return -1;
    }
  if (!S_ISREG (ret_st->st_mode))
    {
      *ret_why = g_strdup ("not a regular file");
      close (fd);
      return -1;
    }
  return fd;
}

gboolean
stox_textfile_read (const char *path, gsize cap, char **ret_text, gsize *ret_len, char **ret_why)
{
  return stox_textfile_read_mode (path, cap, ret_text, ret_len, NULL, ret_why);
}

gboolean
stox_textfile_read_mode (const char *path, gsize cap, char **ret_text, gsize *ret_len,
                         guint *ret_mode, char **ret_why)
{
  struct stat st;
  guchar chunk[4096];
  GByteArray *buf;
  int fd;

  fd = stox_textfile_open (path, &st, ret_why);
  if (fd < 0)
    return FALSE;
  if (ret_mode != NULL)
    *ret_mode = st.st_mode & 07777;
  if ((guint64) st.st_size > cap)
    {
      *ret_why = g_strdup_printf ("larger than %" G_GSIZE_FORMAT " bytes", cap);
      close (fd);
      return FALSE;
    }

  buf = g_byte_array_sized_new ((guint) st.st_size + 1);
  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          *ret_why = g_strdup (g_strerror (errno));
          explicit_bzero (buf->data, buf->len);
          g_byte_array_free (buf, TRUE);
          close (fd);
          return FALSE;
        }
      if (n == 0)
        break;
      if (buf->len + (gsize) n > cap)
        {
          *ret_why = g_strdup_printf ("larger than %" G_GSIZE_FORMAT " bytes", cap);
          g_byte_array_free (buf, TRUE);
          close (fd);
          return FALSE;
        }
      g_byte_array_append (buf, chunk, (guint) n);
    }
  close (fd);
  /* It may have held a secret. */
  explicit_bzero (chunk, sizeof chunk);

  *ret_len = buf->len;
  g_byte_array_append (buf, (const guchar *) "", 1);
  *ret_text = (char *) g_byte_array_free (buf, FALSE);
  return TRUE;
}
