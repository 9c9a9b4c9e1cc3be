/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The gateway's answers to IQs; see iq.h. */
#include "config.h"

#include "iq.h"

#include "actions.h"
#include "address.h"
#include "route.h"

#define NS_PING "urn:xmpp:ping"

/* A result to `st`, carrying `disco` (taken; NULL: an empty result). */
static void
iq_result (const StoxStanza *st, StoxDisco *disco, GPtrArray *actions)
{
  StoxStanza *r = stox_stanza_new (STOX_STANZA_IQ);

  r->type = g_strdup ("result");
  r->id = g_strdup (st->id);
  r->from = g_strdup (st->to);
  r->to = g_strdup (st->from);
  r->disco = disco;
  stox_actions_stanza (actions, r);
}

/* XEP-0030 §3.1.  docs/mappings.md §9: gateway/simple is the registered
 * SIP type; a SIP user looks like a phone client. */
static StoxDisco *
disco_info (gboolean to_component)
{
  StoxDisco *d = stox_disco_new (STOX_DISCO_INFO);

  if (to_component)
    {
      d->category = g_strdup ("gateway");
      d->type = g_strdup ("simple");
      d->name = g_strdup ("stox SIP gateway");
      stox_disco_add_feature (d, STOX_NS_DISCO_INFO);
      stox_disco_add_feature (d, STOX_NS_DISCO_ITEMS);
      stox_disco_add_feature (d, "jid\\20escaping");   /* XEP-0106 */
      stox_disco_add_feature (d, NS_PING);
    }
  else
    {
      d->category = g_strdup ("client");
      d->type = g_strdup ("phone");
      stox_disco_add_feature (d, STOX_NS_DISCO_INFO);
      stox_disco_add_feature (d, STOX_NS_CHATSTATES);
    }
  return d;
}

gboolean
stox_iq_on_stanza (const char       *component,
                   const StoxRules  *rules,
                   const StoxStanza *st,
                   GPtrArray        *actions)
{
  g_autoptr (StoxJid) to = NULL;
  gboolean to_component;

  if (g_strcmp0 (st->type, "get") != 0 && g_strcmp0 (st->type, "set") != 0)
    return FALSE;   /* results and errors answer nothing we asked */
  if (st->from == NULL || st->to == NULL)
    return FALSE;

  to = stox_jid_parse (st->to, NULL);
  if (to == NULL || !stox_domain_equal (to->domain, component))
    return stox_actions_stanza_error (actions, rules, st, component, "item-not-found", NULL);
  to_component = to->local == NULL;

  if (g_strcmp0 (st->type, "get") == 0 && st->iq_node == NULL &&
      g_strcmp0 (st->iq_child_name, "query") == 0 &&
      g_strcmp0 (st->iq_child_ns, STOX_NS_DISCO_INFO) == 0)
    {
      iq_result (st, disco_info (to_component), actions);
      return FALSE;
    }
  if (g_strcmp0 (st->type, "get") == 0 && st->iq_node == NULL &&
      g_strcmp0 (st->iq_child_name, "query") == 0 &&
      g_strcmp0 (st->iq_child_ns, STOX_NS_DISCO_ITEMS) == 0)
    {
      iq_result (st, stox_disco_new (STOX_DISCO_ITEMS), actions);
      return FALSE;
    }
  if (g_strcmp0 (st->type, "get") == 0 &&
      g_strcmp0 (st->iq_child_name, "ping") == 0 &&
      g_strcmp0 (st->iq_child_ns, NS_PING) == 0)
    {
      iq_result (st, NULL, actions);
      return FALSE;
    }
  /* RFC 6120 §8.2.3: every get/set gets an answer. */
  return stox_actions_stanza_error (actions, rules, st, component, "service-unavailable", NULL);
}
