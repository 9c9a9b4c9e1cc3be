/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The values that cross the house (docs/architecture.md): decoded events that the
 * front ends hand to the core, and the actions the core hands back.  Plain
 * structs of owned strings; no Sofia or libstrophe type appears here.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Opaque id the front end uses for a SIP transaction (server or client). */
typedef guint64 StoxToken;

typedef enum
{
  STOX_SIP_METHOD_OTHER = 0,
  STOX_SIP_METHOD_MESSAGE,
  STOX_SIP_METHOD_OPTIONS,
  STOX_SIP_METHOD_SUBSCRIBE,
  STOX_SIP_METHOD_NOTIFY,
  STOX_SIP_METHOD_PUBLISH,
} StoxSipMethod;

/* A SIP request as the SIP front end decoded it.  URIs are the text of the
 * URI only (no display name, no angle brackets, no header parameters). */
typedef struct
{
  StoxToken     token;
  StoxSipMethod method;
  char         *method_name;      /* as on the wire, for OTHER */
  char         *request_uri;
  char         *from_uri;
  char         *to_uri;
  /* The sip: or sips: URI of P-Asserted-Identity (RFC 3325 §9.1), NULL
   * when the request carries none.  Whether it is believed is the core's
   * decision: only from a trusted peer. */
  char         *asserted_uri;
  char         *call_id;
  char         *content_type;     /* "type/subtype", lower case, no params */
  char         *charset;          /* the charset parameter, or NULL */
  char         *content_language;
  char         *subject;
  GBytes       *body;             /* NULL when the request had none */
  char         *source;           /* peer address as text, e.g. "127.0.0.1" */
  gint64        expires;          /* -1 when absent */
  char         *event;            /* Event header (type only), or NULL */
  char         *accept;           /* Accept header, or NULL */
  /* Dialogs (SUBSCRIBE/NOTIFY, RFC 6665).  0: out of dialog.  Otherwise the
   * dialog the request belongs to: for a dialog a SIP peer created with
   * SUBSCRIBE it is the token of that first SUBSCRIBE; for the gateway's own
   * subscriptions it is the token of its SIP_SUBSCRIBE action. */
  StoxToken     dialog;
  /* NOTIFY: Subscription-State value ("active", "pending", "terminated"),
   * its reason= and expires= (-1 when absent) and retry-after= (-1). */
  char         *substate;
  char         *substate_reason;
  gint64        substate_expires;
  gint64        substate_retry_after;
} StoxSipRequest;

StoxSipRequest *stox_sip_request_new (void);
void            stox_sip_request_free (StoxSipRequest *req);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxSipRequest, stox_sip_request_free)

/* The final answer to a request the gateway sent. */
typedef struct
{
  StoxToken token;
  guint     status;
  char     *phrase;
  gint64    expires;       /* Expires of a SUBSCRIBE 2xx, -1 when absent */
  gint64    min_expires;   /* Min-Expires of a 423, -1 when absent */
  /* Why, in words, when the SIP front end failed the request itself
   * (e.g. its 513 for a MESSAGE over [sip] max-message-size); NULL for
   * an answer from the wire. */
  char     *warning;
} StoxSipResponse;

typedef enum
{
  STOX_STANZA_MESSAGE,
  STOX_STANZA_PRESENCE,
  STOX_STANZA_IQ,
} StoxStanzaKind;

/* XEP-0085 chat states, in their namespace (XEP-0085 §5): the one
 * definition, for the XMPP front end that reads and writes them and for
 * the disco#info answer that advertises them (XEP-0085 §11). */
#define STOX_NS_CHATSTATES "http://jabber.org/protocol/chatstates"

typedef enum
{
  STOX_CHAT_STATE_NONE = 0,
  STOX_CHAT_STATE_ACTIVE,
  STOX_CHAT_STATE_COMPOSING,
  STOX_CHAT_STATE_PAUSED,
  STOX_CHAT_STATE_INACTIVE,
  STOX_CHAT_STATE_GONE,
} StoxChatState;

/* A text in a language: one of a presence's <status/> elements, which
 * differ by xml:lang (RFC 6121 §4.7.2.2), or one PIDF <note> (RFC 8048
 * Tables 1 and 2 map the one to the other). */
typedef struct
{
  char *lang;  /* its own xml:lang; NULL: the stanza's */
  char *text;  /* UTF-8 text, never XML */
} StoxLangText;

StoxLangText *stox_lang_text_new (const char *lang, const char *text);
void          stox_lang_text_free (StoxLangText *text);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxLangText, stox_lang_text_free)

/* RFC 6121 §4.7.2.1: the four <show/> values, in this order (rule tables
 * are indexed by it). */
#define STOX_SHOW_N 4
extern const char *const stox_show_values[STOX_SHOW_N];

/* `show` as the static string of stox_show_values when it is one of them
 * (exactly, the values are case-sensitive), else NULL. */
const char *stox_show_known (const char *show);

/* Language tags compare case-insensitively (BCP 47 §2.1.1); NULL (none
 * said) equals only NULL. */
gboolean      stox_lang_equal (const char *a, const char *b);

/* Service discovery (XEP-0030) namespaces: the queries the core answers
 * and the XMPP front end writes the answers in. */
#define STOX_NS_DISCO_INFO  "http://jabber.org/protocol/disco#info"
#define STOX_NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"

typedef enum
{
  STOX_DISCO_INFO,   /* XEP-0030 §3.1: identity and features */
  STOX_DISCO_ITEMS,  /* XEP-0030 §4.1: the items (the gateway lists none) */
} StoxDiscoKind;

/* The <query/> of a disco result the gateway sends.  Text, never XML. */
typedef struct
{
  StoxDiscoKind kind;
  /* INFO: the one <identity/> (XEP-0030 §3.1, the registry's category
   * and type), name NULL for none; NULL category: no identity. */
  char         *category;
  char         *type;
  char         *name;
  /* INFO: the <feature var=""/> values in order; NULL or empty: none. */
  GPtrArray    *features;
} StoxDisco;

StoxDisco *stox_disco_new (StoxDiscoKind kind);
void       stox_disco_free (StoxDisco *disco);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxDisco, stox_disco_free)

/* Appends a feature var (copied). */
void       stox_disco_add_feature (StoxDisco  *disco,
                                   const char *var);

/* A stanza, decoded (incoming) or to be built (outgoing).  Strings are
 * UTF-8 text, never XML: the XMPP front end escapes them. */
typedef struct
{
  StoxStanzaKind kind;
  char          *type;            /* NULL when absent */
  char          *id;
  char          *from;
  char          *to;
  char          *lang;            /* xml:lang of the stanza */
  char          *body;
  char          *subject;
  char          *thread;
  StoxChatState  chat_state;
  /* type="error": the defined condition, its type and optional text */
  char          *error_condition;
  char          *error_type;
  char          *error_text;
  /* IQ: the first child element */
  char          *iq_child_name;
  char          *iq_child_ns;
  char          *iq_node;         /* disco 'node' attribute */
  /* presence */
  char          *show;
  /* The <status/> in the stanza's language (RFC 6121 §5.2.3: the one of
   * its xml:lang or without one, else the first). */
  char          *status;
  /* Every <status/> (RFC 6121 §4.7.2.2; RFC 8048 Tables 1 and 2 carry
   * each language), of StoxLangText in document order, one per
   * language; NULL or empty when there is none.  The encoder writes
   * these when there are any, else `status` alone. */
  GPtrArray     *statuses;
  /* Outgoing IQ result: the disco answer; NULL with no iq_child_name: an
   * empty result (e.g. XEP-0199 §3's pong). */
  StoxDisco     *disco;
} StoxStanza;

StoxStanza *stox_stanza_new (StoxStanzaKind kind);
void        stox_stanza_free (StoxStanza *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoxStanza, stox_stanza_free)

/* Appends to st->statuses (created on first use), copying both strings,
 * unless a status of the same language is there already (RFC 6121
 * §4.7.2.2: at most one per language; tags compare case-insensitively, and
 * NULL means the stanza's st->lang, so set that first): then FALSE and
 * the first stays. */
gboolean    stox_stanza_add_status (StoxStanza *st,
                                    const char *lang,
                                    const char *text);

/* A MESSAGE the gateway sends (RFC 3428; out of dialog, through the
 * outbound proxy when one is configured). */
typedef struct
{
  StoxToken     token;
  char         *request_uri;
  char         *from_uri;
  char         *to_uri;
  char         *call_id;          /* NULL: the stack picks one */
  char         *content_type;     /* full value, e.g. "text/plain;charset=UTF-8" */
  char         *content_language;
  char         *subject;
  GBytes       *body;
} StoxSipOutMessage;

/* A SUBSCRIBE the gateway sends (RFC 3856/6665).  A token the SIP front
 * end has not seen starts a new dialog with that token as its id; a known
 * token refreshes it inside the dialog; expires = 0 ends it.  The final
 * response comes back as a StoxSipResponse with the same token. */
typedef struct
{
  StoxToken dialog;
  char     *request_uri;
  char     *from_uri;
  char     *to_uri;
  char     *event;              /* "presence" */
  char     *accept;             /* "application/pidf+xml" */
  guint     expires;
} StoxSipSubscribe;

typedef enum
{
  STOX_SUBSTATE_PENDING,
  STOX_SUBSTATE_ACTIVE,
  STOX_SUBSTATE_TERMINATED,
} StoxSubstate;

/* A NOTIFY inside a dialog a SIP watcher created (its first SUBSCRIBE's
 * token).  `token` is this NOTIFY's own id: its final response comes back
 * as a StoxSipResponse with it.  After a TERMINATED NOTIFY the front end
 * forgets the dialog. */
typedef struct
{
  StoxToken    token;
  StoxToken    dialog;
  StoxSubstate substate;
  char        *reason;          /* terminated: "rejected", "timeout", … */
  guint        expires;         /* active/pending: seconds left */
  guint        retry_after;     /* terminated: 0 = none */
  char        *content_type;    /* NULL: no body */
  GBytes      *body;
} StoxSipNotify;

/* What outlives a restart (docs/architecture.md: persistence written by the
 * daemon from core actions, read back at start-up).  A SIP watcher's
 * dialog is kept in two halves: the core's WATCH record below, and the SIP
 * front end's wire state of the same dialog (Call-ID, tags, route set,
 * CSeq), which the daemon stores beside it; after a crash both come back
 * and the watcher's next refresh lands in the same dialog.  A graceful
 * stop ends every dialog on the wire (stoxd(8)) and removes them. */
typedef enum
{
  /* An XMPP user (xmpp_jid) follows a SIP user (sip_jid).  Restored as a
   * fresh SUBSCRIBE. */
  STOX_STORE_FOLLOW,
  /* An XMPP user (xmpp_jid) approved a SIP watcher (sip_jid).  Restored so
   * the watcher's next SUBSCRIBE is active at once. */
  STOX_STORE_APPROVAL,
  /* A SIP watcher's (sip_jid) dialog on an XMPP user (xmpp_jid): dialog =
   * the dialog's token (the SIP front end's server dialog id), entity =
   * the PIDF entity (its SUBSCRIBE's Request-URI), deadline = its expiry.
   * Written when the dialog starts and on every refresh (same key:
   * replaced), removed when it ends.  The key is (kind, sip_jid,
   * xmpp_jid, dialog). */
  STOX_STORE_WATCH,
} StoxStoreKind;

/* Every kind pairs one XMPP user with one SIP user. */
typedef struct
{
  StoxStoreKind kind;
  gboolean      remove;   /* FALSE: insert or replace; TRUE: delete */
  char         *xmpp_jid; /* the XMPP user's bare JID */
  char         *sip_jid;  /* the SIP user's JID (user@component) */
  StoxToken     dialog;   /* WATCH; 0 for the others */
  char         *entity;   /* WATCH: the PIDF entity; NULL for the others */
  gint64        deadline; /* WATCH: expiry on the core's clock (monotonic
                           * µs, as `now`); the store keeps wall-clock
                           * time and converts both ways.  0 otherwise. */
} StoxStoreRecord;

/* The final answer to an incoming request: the core's SIP_RESPOND, and
 * what stox_sip_endpoint_respond() sends. */
typedef struct
{
  StoxToken token;
  guint     status;
  char     *phrase;           /* NULL: the status's usual phrase */
  guint     retry_after;      /* seconds; 0 = no Retry-After header */
  char     *accept;           /* Accept header value, or NULL */
  char     *allow;            /* Allow header value, or NULL */
  char     *warning;          /* explanatory text (Warning 399), or NULL */
  gint64    expires;          /* Expires header (SUBSCRIBE 2xx); -1 none */
  gint64    min_expires;      /* Min-Expires header (423); -1 none */
} StoxSipAnswer;

/* An answer with none of the optional headers (0 would be "Expires: 0"). */
#define STOX_SIP_ANSWER_INIT(answer_token, answer_status) \
  { .token = (answer_token), .status = (answer_status), .expires = -1, .min_expires = -1 }

typedef enum
{
  STOX_ACTION_SIP_RESPOND,
  STOX_ACTION_SIP_MESSAGE,     /* MESSAGE, the only request out of dialog */
  STOX_ACTION_XMPP_SEND,
  STOX_ACTION_SIP_SUBSCRIBE,
  STOX_ACTION_SIP_NOTIFY,
  STOX_ACTION_STORE,
} StoxActionKind;

/* Why a stanza the core asked for was not sent (the XMPP front end's
 * report, back into the core). */
typedef enum
{
  STOX_XMPP_SEND_FAILED_LINK,     /* the link is down or its queue full:
                                   * a later try may pass */
  STOX_XMPP_SEND_FAILED_INVALID,  /* it cannot be written as XML: no try
                                   * will */
} StoxXmppSendFailure;

/* One action of the core.  Built by the builders of actions.h, which also
 * frees it (stox_action_free()); nothing else fills one in. */
typedef struct
{
  StoxActionKind kind;
  union
  {
    StoxSipAnswer     respond;
    StoxSipOutMessage message;
    StoxStanza       *stanza;
    StoxSipSubscribe  subscribe;
    StoxSipNotify     notify;
    StoxStoreRecord   store;
  } u;
} StoxAction;

/* RFC 6665 §4.1.2.2 (subscriber) and §4.2.2 (notifier): whether this final
 * answer to a SUBSCRIBE or NOTIFY ends the subscription.  A timeout (408)
 * ends it only where `timeout_ends` (a NOTIFY, §4.2.2); a SUBSCRIBE that
 * timed out may be retried.  One list for the core and the SIP front end,
 * which forgets its dialog on the same answers. */
gboolean stox_sip_status_ends_subscription (guint status, gboolean timeout_ends);

G_END_DECLS
