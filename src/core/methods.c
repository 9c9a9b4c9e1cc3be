/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include "methods.h"

/* RFC 3428 MESSAGE, RFC 6665 SUBSCRIBE/NOTIFY, RFC 3261 OPTIONS. */
#define ALLOWED_METHODS "MESSAGE, SUBSCRIBE, NOTIFY, OPTIONS"

/* RFC 3856 presence; one package, so the list is the package. */
#define ALLOWED_EVENTS "presence"

const char *
stox_sip_allowed_methods (void)
{
  return ALLOWED_METHODS;
}

const char *
stox_sip_allowed_events (void)
{
  return ALLOWED_EVENTS;
}

gboolean
stox_sip_event_allowed (const char *package)
{
  return g_strcmp0 (package, ALLOWED_EVENTS) == 0;
}
