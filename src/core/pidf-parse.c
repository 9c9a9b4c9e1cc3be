/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A PIDF document with RPID → XMPP presence (RFC 8048 §6.3; RFC 3863,
 * 4479, 4480; docs/mappings.md §2.5, §2.9, §12).  Every document here comes from
 * a peer: it is size-checked first, parsed by libxml2 without DTD, entity
 * substitution or network, and refused as a whole on any doubt about its
 * shape, so that the gateway changes no state for it (stoxd(8) PRESENCE).
 */
#include "config.h"

#include "pidf.h"

#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "address.h"
#include "pidf-syntax.h"
#include "text.h"
#include "xml.h"


/* BCP 47 tags of real use are far shorter; the cap bounds what an
 * xml:lang from a peer can put into a stanza. */
#define LANG_MAX 64

/* Most statuses (languages) one presence gets; RFC 6121 §4.7.2.2 wants
 * one per language, and no client shows dozens.  Bounds the work a
 * document with thousands of notes and 64 tuples can cause. */
#define STATUSES_MAX 32

/* ---- XML input: helpers ----------------------------------------------- */

static gboolean
ns_is (const xmlNode *node, const char *ns)
{
  return node->ns != NULL && node->ns->href != NULL
         && strcmp ((const char *) node->ns->href, ns) == 0;
}

static gboolean
is_element (const xmlNode *node, const char *ns, const char *name)
{
  return node->type == XML_ELEMENT_NODE && ns_is (node, ns)
         && strcmp ((const char *) node->name, name) == 0;
}

/* RFC 4480 and the two drafts Asterisk still uses. */
static gboolean
is_rpid (const xmlNode *node, const char *name)
{
  return node->type == XML_ELEMENT_NODE
         && (ns_is (node, NS_RPID) || ns_is (node, NS_RPID_PERSON_OLD)
             || ns_is (node, NS_RPID_STATUS_OLD))
         && (name == NULL || strcmp ((const char *) node->name, name) == 0);
}

/* Text content, as a GLib string. */
static char *
node_text (const xmlNode *node)
{
  g_autoptr (StoxXmlString) text = xmlNodeGetContent (node);

  return g_strdup (text != NULL ? (const char *) text : "");
}

static char *
node_text_stripped (const xmlNode *node)
{
  return g_strstrip (node_text (node));
}

static char *
node_prop (const xmlNode *node, const char *name)
{
  g_autoptr (StoxXmlString) value = xmlGetNoNsProp (node, (const xmlChar *) name);

  return value != NULL ? g_strdup ((const char *) value) : NULL;
}

/* The state of one parse. */
typedef struct
{
  const StoxRules *rules;
  GError         **error;
} Parse;

static gboolean parse_fail (Parse *ps, StoxPidfError code, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

static gboolean
parse_fail (Parse *ps, StoxPidfError code, const char *format, ...)
{
  va_list args;
  g_autofree char *why = NULL;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (ps->error, STOX_PIDF_ERROR, code, "PIDF: %s", why);
  return FALSE;
}

/* An element stox does not use: fine, unless its author said it must be
 * understood (pidf.xsd's global mustUnderstand, which documents write
 * both qualified and bare). */
static gboolean
ignore_element (Parse *ps, const xmlNode *node)
{
  static const char *const namespaces[] = { NS_PIDF, NULL };

  if (node->type != XML_ELEMENT_NODE)
    return TRUE;
  for (gsize i = 0; i < G_N_ELEMENTS (namespaces); i++)
    {
      g_autoptr (StoxXmlString) value = NULL;
      g_autofree char *v = NULL;

      value = xmlGetNsProp (node, (const xmlChar *) "mustUnderstand",
                            (const xmlChar *) namespaces[i]);
      if (value == NULL)
        continue;
      v = g_strstrip (g_strdup ((const char *) value));
      if (strcmp (v, "true") == 0 || strcmp (v, "1") == 0)
        return parse_fail (ps, STOX_PIDF_ERROR_MUST_UNDERSTAND,
                           "<%s> must be understood, and is not",
                           (const char *) node->name);
    }
  return TRUE;
}

/* ---- RPID (docs/mappings.md §2.9) -------------------------------------- */

/* One activity (or user-input value) found, already looked up. */
typedef struct
{
  int         rank;  /* stox_rules_rpid_to_show(): smaller wins */
  const char *show;  /* its row: a show, "unavailable", or NULL */
  char       *text;  /* status text when it maps to no show, or NULL */
} Activity;

static void
activity_clear (gpointer data)
{
  Activity *a = data;

  g_free (a->text);
}

static GArray *
activities_new (void)
{
  GArray *acts = g_array_new (FALSE, TRUE, sizeof (Activity));

  g_array_set_clear_func (acts, activity_clear);
  return acts;
}

/* Adds `a` (taking its text) unless an activity of the same rank is
 * there: what an activity means depends on its rank alone, so a list
 * never holds more than the 29 of rules.h, however many elements a peer
 * repeats (of several <rpid:other>, the first text is kept). */
static void
activities_add (GArray *acts, Activity *a)
{
  for (guint i = 0; i < acts->len; i++)
    if (g_array_index (acts, Activity, i).rank == a->rank)
      {
        g_clear_pointer (&a->text, g_free);
        return;
      }
  g_array_append_val (acts, *a);
}

static void
activities_append (GArray *dst, const GArray *src)
{
  for (guint i = 0; i < src->len; i++)
    {
      Activity a = g_array_index (src, Activity, i);

      a.text = g_strdup (a.text);
      activities_add (dst, &a);
    }
}

/* `name`: an RPID name as rules.h knows it; `other_text`: the text of an
 * <rpid:other>.  Names rules.h does not know are dropped. */
static void
add_activity (Parse *ps, GArray *acts, const char *name, const char *other_text)
{
  Activity a = { 0 };

  a.rank = stox_rules_rpid_to_show (ps->rules, name, &a.show);
  if (a.rank < 0)
    return;
  /* Only a real activity names what the person does; "unknown" says
   * nothing, and user-input is not an activity. */
  if (a.show == NULL && strcmp (name, "unknown") != 0
      && strcmp (name, STOX_RULES_USER_INPUT_IDLE) != 0
      && strcmp (name, STOX_RULES_USER_INPUT_ACTIVE) != 0)
    {
      if (strcmp (name, "other") != 0)
        a.text = g_strdup (name);
      else if (other_text != NULL && *other_text != '\0')
        a.text = g_strdup (other_text);
    }
  activities_add (acts, &a);
}

/* <rpid:activities> (RFC 4480 §3.2). */
static gboolean
parse_activities (Parse *ps, const xmlNode *node, GArray *acts)
{
  for (const xmlNode *c = node->children; c != NULL; c = c->next)
    {
      const char *name = (const char *) c->name;

      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (is_rpid (c, "note"))
        continue;
      if (is_rpid (c, "other"))
        {
          g_autofree char *text = node_text_stripped (c);

          add_activity (ps, acts, "other", text);
        }
      else if (is_rpid (c, "activity"))
        {
          /* An early draft's <activity>away</activity> (resiprocate). */
          g_autofree char *text = node_text_stripped (c);

          if (strcmp (text, "other") != 0 && !g_str_has_prefix (text, "user-input"))
            add_activity (ps, acts, text, NULL);
        }
      else if (is_rpid (c, NULL) && !g_str_has_prefix (name, "user-input")
               && stox_rules_rpid_to_show (ps->rules, name, NULL) >= 0)
        {
          add_activity (ps, acts, name, NULL);
        }
      else if (!ignore_element (ps, c))
        return FALSE;
    }
  return TRUE;
}

/* <rpid:user-input> (RFC 4480 §3.14): "active" or "idle". */
static void
parse_user_input (Parse *ps, const xmlNode *node, GArray *acts)
{
  g_autofree char *value = node_text_stripped (node);

  if (strcmp (value, "idle") == 0)
    add_activity (ps, acts, STOX_RULES_USER_INPUT_IDLE, NULL);
  else if (strcmp (value, "active") == 0)
    add_activity (ps, acts, STOX_RULES_USER_INPUT_ACTIVE, NULL);
}

/* Activities and user-input where one finds them (rules == NULL: RPID is
 * ignored).  Returns TRUE when `node` was one of them. */
static gboolean
parse_rpid_child (Parse *ps, const xmlNode *node, GArray *acts, gboolean *ret_ok)
{
  *ret_ok = TRUE;
  if (is_rpid (node, "activities"))
    {
      if (ps->rules != NULL)
        *ret_ok = parse_activities (ps, node, acts);
      return TRUE;
    }
  if (is_rpid (node, "user-input"))
    {
      if (ps->rules != NULL)
        parse_user_input (ps, node, acts);
      return TRUE;
    }
  return FALSE;
}

/* ---- PIDF (RFC 3863), the data model (RFC 4479) ----------------------- */

static gboolean
is_lang_char (char c)
{
  return g_ascii_isalnum (c) || c == '-';
}

/* An xml:lang fit for a stanza, or NULL (none, or not a language tag). */
static char *
note_lang (const xmlNode *node)
{
  g_autoptr (StoxXmlString) lang = xmlNodeGetLang (node);
  const char *l = (const char *) lang;
  gsize n;

  if (l == NULL || *l == '\0')
    return NULL;
  n = strlen (l);
  if (n > LANG_MAX)
    return NULL;
  for (gsize i = 0; i < n; i++)
    if (!is_lang_char (l[i]))
      return NULL;
  return g_strdup (l);
}

/* <note> → a StoxLangText (blank notes say nothing). */
static void
add_note (GPtrArray *notes, const xmlNode *node)
{
  g_autofree char *text = node_text (node);
  g_autofree char *lang = NULL;

  if (stox_pidf_is_blank (text))
    return;
  lang = note_lang (node);
  g_ptr_array_add (notes, stox_lang_text_new (lang, text));
}

typedef struct
{
  char      *id;
  char      *resource;     /* the id as a resource; NULL: the bare JID */
  int        basic;        /* -1 none, 0 closed, 1 open, 2 another value */
  const char *show;        /* static, or NULL */
  gboolean   has_priority;
  int        priority;
  char      *timestamp;
  GPtrArray *notes;        /* of StoxLangText */
  GArray    *acts;         /* of Activity */
  GPtrArray *device_ids;   /* of char * */
} Tuple;

static void
tuple_free (Tuple *t)
{
  if (t == NULL)
    return;
  g_free (t->id);
  g_free (t->resource);
  g_free (t->timestamp);
  g_ptr_array_unref (t->notes);
  g_array_unref (t->acts);
  g_ptr_array_unref (t->device_ids);
  g_free (t);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Tuple, tuple_free)

static Tuple *
tuple_new (void)
{
  Tuple *t = g_new0 (Tuple, 1);

  t->basic = -1;
  t->notes = g_ptr_array_new_with_free_func ((GDestroyNotify) stox_lang_text_free);
  t->acts = activities_new ();
  t->device_ids = g_ptr_array_new_with_free_func (g_free);
  return t;
}

/* What the whole document says besides its tuples. */
typedef struct
{
  GPtrArray  *notes;         /* <presence><note> */
  GPtrArray  *person_notes;  /* <dm:person><dm:note> */
  GArray     *person_acts;
  GHashTable *device_acts;   /* deviceID → GArray of Activity */
  GPtrArray  *tuples;        /* of Tuple */
  GHashTable *tuple_ids;     /* id → NULL (duplicates are refused) */
} Document;

static void
document_clear (Document *d)
{
  g_clear_pointer (&d->notes, g_ptr_array_unref);
  g_clear_pointer (&d->person_notes, g_ptr_array_unref);
  g_clear_pointer (&d->person_acts, g_array_unref);
  g_clear_pointer (&d->device_acts, g_hash_table_unref);
  g_clear_pointer (&d->tuples, g_ptr_array_unref);
  g_clear_pointer (&d->tuple_ids, g_hash_table_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Document, document_clear)

static void
document_init (Document *d)
{
  d->notes = g_ptr_array_new_with_free_func ((GDestroyNotify) stox_lang_text_free);
  d->person_notes = g_ptr_array_new_with_free_func ((GDestroyNotify) stox_lang_text_free);
  d->person_acts = activities_new ();
  d->device_acts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_array_unref);
  d->tuples = g_ptr_array_new_with_free_func ((GDestroyNotify) tuple_free);
  d->tuple_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* <status> of a tuple (RFC 3863 §4.1.4). */
static gboolean
parse_status (Parse *ps, const xmlNode *node, Tuple *t)
{
  for (const xmlNode *c = node->children; c != NULL; c = c->next)
    {
      gboolean ok;

      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (is_element (c, NS_PIDF, "basic"))
        {
          g_autofree char *value = node_text_stripped (c);

          if (t->basic != -1)
            return parse_fail (ps, STOX_PIDF_ERROR_MALFORMED,
                               "tuple \"%s\": two <basic>", t->id);
          if (strcmp (value, "open") == 0)
            t->basic = 1;
          else if (strcmp (value, "closed") == 0)
            t->basic = 0;
          else
            /* RFC 3863 §4.1.4 knows only open and closed; baresip 1.0
             * publishes "unknown" before its user chose a state, and
             * Kamailio passes it on.  Liberal in what is accepted: such
             * a tuple says nothing of availability, like one without
             * <basic>, and the rest of the document still counts. */
            t->basic = 2;
        }
      else if (is_element (c, NS_JABBER, "show"))
        {
          /* RFC 8048 §6.3 note 3; other values are not XMPP's. */
          g_autofree char *value = node_text_stripped (c);

          if (t->show == NULL)
            t->show = stox_show_known (value);
        }
      else if (parse_rpid_child (ps, c, t->acts, &ok))
        {
          /* In the wild, activities sit in the tuple's status. */
          if (!ok)
            return FALSE;
        }
      else if (!ignore_element (ps, c))
        return FALSE;
    }
  return TRUE;
}

/* <tuple> (RFC 3863 §4.1.2).  Children in any order: pjsip writes
 * <timestamp> before <note>. */
static gboolean
parse_tuple (Parse *ps, const xmlNode *node, Document *d)
{
  g_autoptr (Tuple) t = tuple_new ();
  gboolean have_status = FALSE, have_contact = FALSE, have_timestamp = FALSE;

  t->id = node_prop (node, "id");
  if (t->id == NULL || *t->id == '\0')
    return parse_fail (ps, STOX_PIDF_ERROR_MALFORMED, "a <tuple> without id");
  {
    /* Table 2: the id becomes the resource of user@component/<id>, so it
     * must be one, prepared as every resource the gateway writes. */
    g_autofree char *raw = stox_pidf_tuple_resource (t->id);
    g_autoptr (GError) why = NULL;

    if (raw != NULL && (t->resource = stox_resource_prepare (raw, &why)) == NULL)
      return parse_fail (ps, STOX_PIDF_ERROR_MALFORMED, "tuple id is not a resource: %s",
                         why->message);
  }
  if (g_hash_table_contains (d->tuple_ids, t->id))
    return parse_fail (ps, STOX_PIDF_ERROR_MALFORMED,
                       "two tuples with id \"%s\" (xs:ID is unique)", t->id);
  g_hash_table_add (d->tuple_ids, g_strdup (t->id));

  for (const xmlNode *c = node->children; c != NULL; c = c->next)
    {
      gboolean ok;

      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (is_element (c, NS_PIDF, "status"))
        {
          if (have_status)
            return parse_fail (ps, STOX_PIDF_ERROR_MALFORMED,
                               "tuple \"%s\": two <status>", t->id);
          have_status = TRUE;
          if (!parse_status (ps, c, t))
            return FALSE;
        }
      else if (is_element (c, NS_PIDF, "contact"))
        {
          g_autofree char *priority = NULL;

          /* At most one contact (RFC 3863 §4.1.2); a second is noise. */
          if (have_contact)
            continue;
          have_contact = TRUE;
          priority = node_prop (c, "priority");
          if (priority != NULL)
            t->has_priority = stox_pidf_parse_qvalue (g_strstrip (priority), &t->priority);
        }
      else if (is_element (c, NS_PIDF, "note"))
        {
          add_note (t->notes, c);
        }
      else if (is_element (c, NS_PIDF, "timestamp"))
        {
          g_autofree char *value = node_text_stripped (c);

          if (!have_timestamp && stox_pidf_is_timestamp (value))
            t->timestamp = g_steal_pointer (&value);
          have_timestamp = TRUE;
        }
      else if (is_element (c, NS_DM, "deviceID"))
        {
          g_ptr_array_add (t->device_ids, node_text_stripped (c));
        }
      else if (parse_rpid_child (ps, c, t->acts, &ok))
        {
          if (!ok)
            return FALSE;
        }
      else if (!ignore_element (ps, c))
        return FALSE;
    }
  if (!have_status)
    return parse_fail (ps, STOX_PIDF_ERROR_MALFORMED,
                       "tuple \"%s\" has no <status>", t->id);
  if (d->tuples->len >= STOX_PIDF_MAX_TUPLES)
    return parse_fail (ps, STOX_PIDF_ERROR_MALFORMED,
                       "more than %d tuples", STOX_PIDF_MAX_TUPLES);
  g_ptr_array_add (d->tuples, g_steal_pointer (&t));
  return TRUE;
}

static gboolean
is_person (const xmlNode *node)
{
  return is_element (node, NS_DM, "person") || is_element (node, NS_PERSON_OLD, "person");
}

/* <dm:person> (RFC 4479 §4.3, RFC 4480 Table 1), and Asterisk's
 * <pp:person><status><ep:activities> (docs/mappings.md §12). */
static gboolean
parse_person (Parse *ps, const xmlNode *node, Document *d)
{
  for (const xmlNode *c = node->children; c != NULL; c = c->next)
    {
      gboolean ok;

      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (parse_rpid_child (ps, c, d->person_acts, &ok))
        {
          if (!ok)
            return FALSE;
        }
      else if (is_element (c, NS_DM, "note") || is_element (c, NS_PIDF, "note"))
        {
          add_note (d->person_notes, c);
        }
      else if (is_element (c, NS_PIDF, "status"))
        {
          for (const xmlNode *s = c->children; s != NULL; s = s->next)
            {
              if (s->type != XML_ELEMENT_NODE)
                continue;
              if (parse_rpid_child (ps, s, d->person_acts, &ok))
                {
                  if (!ok)
                    return FALSE;
                }
              else if (!ignore_element (ps, s))
                return FALSE;
            }
        }
      else if (!ignore_element (ps, c))
        return FALSE;
    }
  return TRUE;
}

/* <dm:device> (RFC 4479 §4.4): its user-input (RFC 4480 §3.14) applies
 * to the tuples that name its deviceID. */
static gboolean
parse_device (Parse *ps, const xmlNode *node, Document *d)
{
  g_autoptr (GArray) acts = activities_new ();
  g_autoptr (GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  for (const xmlNode *c = node->children; c != NULL; c = c->next)
    {
      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (is_element (c, NS_DM, "deviceID"))
        g_ptr_array_add (ids, node_text_stripped (c));
      else if (is_rpid (c, "user-input"))
        {
          if (ps->rules != NULL)
            parse_user_input (ps, c, acts);
        }
      else if (!ignore_element (ps, c))
        return FALSE;
    }
  for (guint i = 0; i < ids->len && acts->len > 0; i++)
    {
      const char *id = g_ptr_array_index (ids, i);
      GArray *known = g_hash_table_lookup (d->device_acts, id);

      if (known == NULL)
        {
          known = activities_new ();
          g_hash_table_insert (d->device_acts, g_strdup (id), known);
        }
      activities_append (known, acts);
    }
  return TRUE;
}

/* Notes → statuses, the first per language (RFC 6121 §4.7.2.2 allows one
 * <status/> per xml:lang), at most STATUSES_MAX. */
static void
add_statuses (StoxPresenceInfo *info, const GPtrArray *notes)
{
  for (guint i = 0; i < notes->len && info->statuses->len < STATUSES_MAX; i++)
    {
      const StoxLangText *note = g_ptr_array_index (notes, i);
      gboolean seen = FALSE;

      for (guint j = 0; j < info->statuses->len && !seen; j++)
        {
          const StoxLangText *s = g_ptr_array_index (info->statuses, j);

          seen = stox_lang_equal (s->lang, note->lang);   /* BCP 47: any case */
        }
      if (!seen)
        stox_presence_info_add_status (info, note->lang, note->text);
    }
}

/* One info from a tuple (NULL: the bare JID) and what the document says
 * of the person: RFC 8048 Table 2, then docs/mappings.md §2.9. */
static StoxPresenceInfo *
make_info (const Tuple *t, const Document *d)
{
  StoxPresenceInfo *info = stox_presence_info_new ();
  g_autoptr (GArray) acts = activities_new ();
  g_autoptr (GPtrArray) texts = g_ptr_array_new ();
  const Activity *best = NULL;
  gboolean unavailable = FALSE;

  activities_append (acts, d->person_acts);
  if (t != NULL)
    {
      info->resource = g_strdup (t->resource);
      info->available = t->basic == 1;
      info->has_priority = t->has_priority;
      info->priority = t->priority;
      info->timestamp = g_strdup (t->timestamp);
      add_statuses (info, t->notes);
      activities_append (acts, t->acts);
      for (guint i = 0; i < t->device_ids->len; i++)
        {
          GArray *dev = g_hash_table_lookup (d->device_acts,
                                             g_ptr_array_index (t->device_ids, i));

          if (dev != NULL)
            activities_append (acts, dev);
        }
    }
  add_statuses (info, d->person_notes);
  add_statuses (info, d->notes);

  for (guint i = 0; i < acts->len; i++)
    {
      const Activity *a = &g_array_index (acts, Activity, i);

      if (g_strcmp0 (a->show, "unavailable") == 0)
        unavailable = TRUE;
      else if (a->show != NULL && (best == NULL || a->rank < best->rank))
        best = a;
      if (a->text != NULL)
        {
          gboolean dup = FALSE;

          for (guint j = 0; j < texts->len && !dup; j++)
            dup = strcmp (g_ptr_array_index (texts, j), a->text) == 0;
          if (!dup)
            g_ptr_array_add (texts, a->text);
        }
    }

  /* First match wins: closed or permanently absent, then the verbatim
   * <show/> (RFC 8048 §6.3 note 3), then the activities by rank. */
  if (unavailable)
    info->available = FALSE;
  if (info->available)
    {
      if (t->show != NULL)
        info->show = g_strdup (t->show);
      else if (best != NULL)
        info->show = g_strdup (best->show);
    }
  if (info->statuses->len == 0 && texts->len > 0)
    {
      g_autofree char *joined = NULL;

      g_ptr_array_add (texts, NULL);
      joined = g_strjoinv (", ", (char **) texts->pdata);
      stox_presence_info_add_status (info, NULL, joined);
    }
  return info;
}

static GPtrArray *
result_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) stox_presence_info_free);
}

GPtrArray *
stox_pidf_parse (const char      *doc,
                 gsize            len,
                 const StoxRules *rules,
                 GError         **error)
{
  g_autoptr (xmlDoc) xml = NULL;
  const char *why = NULL;
  g_auto (Document) d = { 0 };
  g_autoptr (GPtrArray) result = NULL;
  g_autofree char *entity = NULL;
  Parse ps = { rules, error };
  xmlNode *root;

  g_return_val_if_fail (doc != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  document_init (&d);
  result = result_new ();

  /* RFC 8048 Appendix A, §5.2: a NOTIFY without body means the state is
   * unknown, shown as unavailable. */
  if (len == 0)
    {
      g_ptr_array_add (result, make_info (NULL, &d));
      return g_steal_pointer (&result);
    }
  if (len > STOX_PIDF_MAX)
    {
      parse_fail (&ps, STOX_PIDF_ERROR_MALFORMED, "document of %" G_GSIZE_FORMAT
                  " bytes is over the limit of %d", len, STOX_PIDF_MAX);
      return NULL;
    }

  /* PIDF documents have no DTD; stox_xml_read refuses one unread.  The
   * encoding is the document's own (Asterisk: ISO-8859-1). */
  xml = stox_xml_read (doc, len, &why);
  if (xml == NULL)
    {
      parse_fail (&ps, STOX_PIDF_ERROR_MALFORMED, "%s", why);
      return NULL;
    }

  root = xmlDocGetRootElement (xml);
  if (root == NULL || !is_element (root, NS_PIDF, "presence"))
    {
      parse_fail (&ps, STOX_PIDF_ERROR_MALFORMED,
                  "root is not <presence xmlns='" NS_PIDF "'>");
      return NULL;
    }
  /* RFC 3863 §4.1.1: entity is REQUIRED. */
  entity = node_prop (root, "entity");
  if (entity == NULL || stox_pidf_is_blank (entity))
    {
      parse_fail (&ps, STOX_PIDF_ERROR_MALFORMED, "<presence> without entity");
      return NULL;
    }

  /* Children in any order: Asterisk puts its person and note first. */
  for (const xmlNode *c = root->children; c != NULL; c = c->next)
    {
      gboolean ok = TRUE;

      if (c->type != XML_ELEMENT_NODE)
        continue;
      if (is_element (c, NS_PIDF, "tuple"))
        ok = parse_tuple (&ps, c, &d);
      else if (is_element (c, NS_PIDF, "note"))
        add_note (d.notes, c);
      else if (is_person (c))
        ok = parse_person (&ps, c, &d);
      else if (is_element (c, NS_DM, "device"))
        ok = parse_device (&ps, c, &d);
      else
        ok = ignore_element (&ps, c);
      if (!ok)
        return NULL;
    }

  /* A tuple without <basic> says nothing of availability (RFC 3863
   * §4.1.4 makes it optional), nor one whose <basic> is neither open nor
   * closed: no presence for it. */
  for (guint i = 0; i < d.tuples->len; i++)
    {
      const Tuple *t = g_ptr_array_index (d.tuples, i);

      if (t->basic == 0 || t->basic == 1)
        g_ptr_array_add (result, make_info (t, &d));
    }
  if (result->len == 0)
    g_ptr_array_add (result, make_info (NULL, &d));
  return g_steal_pointer (&result);
}
