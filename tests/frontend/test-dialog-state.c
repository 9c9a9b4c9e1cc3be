/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A server dialog's saved state (src/sip/dialog-state.h) with no socket,
 * no agent and no leg: the exact text of version 1 (the daemon stores it,
 * so a change of format is a change of the database), the round trip of
 * every field whatever its bytes, and the refusal of any state that is not
 * exactly what _format() writes, as a hostile or corrupted database would
 * hand back.
 */
#include "config.h"

#include <string.h>

#include "sip/dialog-state.h"
#include "sip/endpoint.h"

/* The example of dialog-state.c, field for field. */
static const char *const example_routes[] = { "<sip:p1.example;lr>", NULL };
static const StoxSipDialogState example = {
  .call_id = (char *) "a84b4c76e66710@pc33",
  .local = (char *) "<sip:alice@gw.example>;tag=1928301774",
  .remote = (char *) "\"Bob\" <sip:bob@biloxi.example>;tag=a6c85cf",
  .target = (char *) "sip:bob@192.0.2.4",
  .routes = (GStrv) example_routes,
  .remote_cseq = 314159,
  .local_cseq = 101,
  .event_type = (char *) "presence",
  .event_id = NULL,
};

#define EXAMPLE_TEXT \
  "v1 (b'a84b4c76e66710@pc33', b'<sip:alice@gw.example>;tag=1928301774', " \
  "b'\\\"Bob\\\" <sip:bob@biloxi.example>;tag=a6c85cf', b'sip:bob@192.0.2.4', " \
  "[b'<sip:p1.example;lr>'], 314159, 101, b'presence', b'')"

static void
assert_states_equal (const StoxSipDialogState *a,
                     const StoxSipDialogState *b)
{
  g_assert_cmpstr (a->call_id, ==, b->call_id);
  g_assert_cmpstr (a->local, ==, b->local);
  g_assert_cmpstr (a->remote, ==, b->remote);
  g_assert_cmpstr (a->target, ==, b->target);
  g_assert_cmpuint (a->routes != NULL ? g_strv_length (a->routes) : 0, ==,
                    b->routes != NULL ? g_strv_length (b->routes) : 0);
  for (guint i = 0; a->routes != NULL && a->routes[i] != NULL; i++)
    g_assert_cmpstr (a->routes[i], ==, b->routes[i]);
  g_assert_cmpuint (a->remote_cseq, ==, b->remote_cseq);
  g_assert_cmpuint (a->local_cseq, ==, b->local_cseq);
  g_assert_cmpstr (a->event_type, ==, b->event_type);
  g_assert_cmpstr (a->event_id, ==, b->event_id);
}

/* Version 1, byte for byte: what stox.db holds for existing dialogs. */
static void
test_format_pinned (void)
{
  g_autofree char *text = stox_sip_dialog_state_format (&example);

  g_assert_cmpstr (text, ==, EXAMPLE_TEXT);

  /* No target, no route, an event id. */
  StoxSipDialogState bare = example;
  bare.target = NULL;
  bare.routes = NULL;
  bare.event_id = (char *) "42";
  g_autofree char *bare_text = stox_sip_dialog_state_format (&bare);
  g_assert_cmpstr (bare_text, ==,
                   "v1 (b'a84b4c76e66710@pc33', b'<sip:alice@gw.example>;tag=1928301774', "
                   "b'\\\"Bob\\\" <sip:bob@biloxi.example>;tag=a6c85cf', b'', [], "
                   "314159, 101, b'presence', b'42')");
}

static void
test_round_trip (void)
{
  static const char *const two_routes[] = {
    "<sip:p1.example;lr>", "<sip:[2001:db8::1]:5070;transport=tcp;lr>", NULL,
  };
  /* Header values may carry any byte but NUL, CR and LF: quotes,
   * backslashes, UTF-8 and bytes that are not UTF-8 come back whole. */
  StoxSipDialogState odd = {
    .call_id = (char *) "x'y\\z\"@host",
    .local = (char *) "\"G\xc3\xa4te \\\"w\\\" \" <sip:alice@gw.example>;tag=t'1",
    .remote = (char *) "\"\xff\xfe\x01\" <sip:bob@biloxi.example;transport=tcp>;tag=r",
    .target = (char *) "sips:bob@[2001:db8::2]:5061",
    .routes = (GStrv) two_routes,
    .remote_cseq = G_MAXUINT32,
    .local_cseq = STOX_SIP_CSEQ_MAX,
    .event_type = (char *) "presence",
    .event_id = (char *) "a.b-c",
  };
  const StoxSipDialogState *const cases[] = { &example, &odd };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_auto (StoxSipDialogState) back = { 0 };
      g_autofree char *text = stox_sip_dialog_state_format (cases[i]);

      g_test_message ("%s", text);
      /* One line of ASCII, whatever the fields hold. */
      for (const char *p = text; *p != '\0'; p++)
        g_assert_true (*p >= 0x20 && *p < 0x7f);
      g_assert_true (stox_sip_dialog_state_parse (text, &back, &error));
      g_assert_no_error (error);
      assert_states_equal (&back, cases[i]);

      /* And once more: the text is stable. */
      g_autofree char *again = stox_sip_dialog_state_format (&back);
      g_assert_cmpstr (again, ==, text);
    }
}

/* _format() writes the text itself (dialog-state.c); it must be the text
 * g_variant_print() gives for the same tuple, whatever bytes the fields
 * hold: random ones, quotes and backslashes among them, 0 to 3 routes. */
static char *
format_by_gvariant (const StoxSipDialogState *st)
{
  static const char *const no_routes[] = { NULL };
  g_autoptr (GVariant) v = g_variant_ref_sink (
      g_variant_new ("(^ay^ay^ay^ay@aayuu^ay^ay)", st->call_id, st->local, st->remote,
                     st->target != NULL ? st->target : "",
                     g_variant_new_bytestring_array (st->routes != NULL
                                                     ? (const char *const *) st->routes
                                                     : no_routes, -1),
                     st->remote_cseq, st->local_cseq, st->event_type,
                     st->event_id != NULL ? st->event_id : ""));
  g_autofree char *text = g_variant_print (v, FALSE);

  return g_strconcat ("v1 ", text, NULL);
}

static char *
random_bytes (GRand *rand)
{
  static const char some[] = "'\"\\ <>;=@:abcXYZ019\t\x01\x7f\x80\xc3\xa4\xff";
  guint n = (guint) g_rand_int_range (rand, 0, 24);
  char *s = g_malloc (n + 1);

  for (guint i = 0; i < n; i++)
    s[i] = g_rand_boolean (rand) ? some[g_rand_int_range (rand, 0, sizeof some - 1)]
                                 : (char) g_rand_int_range (rand, 1, 256);
  s[n] = '\0';
  return s;
}

static void
test_format_as_gvariant (void)
{
  GRand *rand = g_rand_new_with_seed (20261207);

  for (guint round = 0; round < 2000; round++)
    {
      g_autofree char *call_id = random_bytes (rand);
      g_autofree char *local = random_bytes (rand);
      g_autofree char *remote = random_bytes (rand);
      g_autofree char *target = random_bytes (rand);
      g_autofree char *event = random_bytes (rand);
      g_autofree char *event_id = random_bytes (rand);
      g_auto (GStrv) routes = g_new0 (char *, 4);
      guint n_routes = (guint) g_rand_int_range (rand, 0, 4);

      for (guint i = 0; i < n_routes; i++)
        routes[i] = random_bytes (rand);
      StoxSipDialogState st = {
        .call_id = call_id, .local = local, .remote = remote,
        .target = round % 7 == 0 ? NULL : target,
        .routes = round % 5 == 0 ? NULL : routes,
        .remote_cseq = g_rand_int (rand), .local_cseq = g_rand_int (rand),
        .event_type = event, .event_id = round % 3 == 0 ? NULL : event_id,
      };
      g_autofree char *ours = stox_sip_dialog_state_format (&st);
      g_autofree char *reference = format_by_gvariant (&st);

      g_assert_cmpstr (ours, ==, reference);
    }
  g_rand_free (rand);
}

/* What a leg is made of: the local address untagged, its tag apart, the
 * route set one Record-Route entry each, the target a Contact. */
static void
test_headers (void)
{
  g_autoptr (GError) error = NULL;
  g_auto (StoxSipDialogState) st = { 0 };
  su_home_t home[1] = { SU_HOME_INIT (home) };
  StoxSipDialogHeaders h;
  const char *bad = NULL;

  g_assert_true (stox_sip_dialog_state_parse (EXAMPLE_TEXT, &st, &error));
  g_assert_no_error (error);
  g_assert_true (stox_sip_dialog_state_headers (home, &st, &h, &bad));
  g_assert_null (bad);
  g_assert_cmpstr (h.local_tag, ==, "1928301774");
  g_assert_null (h.local->a_tag);
  g_assert_cmpstr (h.local->a_url->url_user, ==, "alice");
  g_assert_cmpstr (h.remote->a_tag, ==, "a6c85cf");
  g_assert_nonnull (h.contact);
  g_assert_cmpstr (h.contact->m_url->url_host, ==, "192.0.2.4");
  g_assert_nonnull (h.routes);
  g_assert_cmpstr (h.routes->r_url->url_host, ==, "p1.example");
  g_assert_null (h.routes->r_next);
  su_home_deinit (home);
}

/* A state written by hand, one GVariant text piece per field. */
static char *
state_literal (const char *const pieces[9])
{
  return g_strdup_printf ("v1 (%s, %s, %s, %s, %s, %s, %s, %s, %s)", pieces[0], pieces[1],
                          pieces[2], pieces[3], pieces[4], pieces[5], pieces[6], pieces[7],
                          pieces[8]);
}

static void
assert_refused (const char *text)
{
  g_autoptr (GError) error = NULL;
  StoxSipDialogState st;

  /* Garbage in the struct: _parse() must not read or free it. */
  memset (&st, 0xa5, sizeof st);
  g_assert_false (stox_sip_dialog_state_parse (text, &st, &error));
  g_test_message ("%.70s → %s", text != NULL ? text : "(null)", error->message);
  g_assert_error (error, STOX_SIP_ENDPOINT_ERROR, STOX_SIP_ENDPOINT_ERROR_STATE);
  /* Nothing left to free on failure. */
  g_assert_null (st.call_id);
  g_assert_null (st.local);
  g_assert_null (st.remote);
  g_assert_null (st.target);
  g_assert_null (st.routes);
  g_assert_null (st.event_type);
  g_assert_null (st.event_id);
}

/* One fault per row, in a state that is good without it. */
static void
test_field_faults (void)
{
  const char *const good[9] = {
    "b'call@test'", "b'<sip:alice@gw.example>;tag=g1'", "b'<sip:bob@sip.example>;tag=w1'",
    "b'sip:bob@192.0.2.4:5060'", "[b'<sip:p1.example;lr>']", "1", "101", "b'presence'", "b''",
  };
  const struct
  {
    guint       field;
    const char *piece;
  } faults[] = {
    { 0, "b''" },                                  /* empty Call-ID */
    { 0, "[byte 0x61, 0x00, 0x62, 0x00]" },        /* a NUL inside */
    { 0, "[byte 0x61, 0x62]" },                    /* no NUL at the end */
    { 1, "b'<sip:alice@gw.example>'" },            /* our tag missing */
    { 1, "b'<sip:alice@gw.example>;tag='" },       /* …or empty */
    { 1, "b'<<<'" },
    { 1, "b'<sip:alice@gw.example>;tag=g1\\r\\nX-Evil: 1'" },  /* header injection */
    { 1, "b'<sip:alice@gw.example>;tag=g1\\nX-Evil: 1'" },
    { 2, "b'<>garbage'" },
    { 2, "b''" },
    { 3, "b'not a uri ::'" },
    { 3, "b'tel:+15551234'" },                     /* no SIP target */
    { 3, "b'sip:'" },                              /* no host */
    { 4, "[b'<<']" },
    { 4, "[b'']" },
    { 4, "[b'<sip:p1.example;lr>, <sip:p2.example;lr>']" },  /* two in one */
    { 4, "[b'<sip:p1.example;lr>\\r\\nVia: x']" },
    { 5, "4294967296" },
    { 5, "-1" },
    { 6, "0" },
    { 6, "2147483648" },                           /* CSeq ≥ 2^31 */
    { 6, "b'101'" },
    { 7, "b''" },
    { 7, "b'presence;id=x'" },                     /* id smuggled in the package */
    { 7, "b'pres ence'" },
    { 8, "b'x y'" },
    { 8, "b'x;id=y'" },
  };

  /* Without a fault, the pieces make a good state: each row fails for its
   * own fault. */
  g_autofree char *fine = state_literal (good);
  g_autoptr (GError) error = NULL;
  g_auto (StoxSipDialogState) st = { 0 };
  g_assert_true (stox_sip_dialog_state_parse (fine, &st, &error));
  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (faults); i++)
    {
      const char *pieces[9];

      memcpy (pieces, good, sizeof pieces);
      pieces[faults[i].field] = faults[i].piece;

      g_autofree char *bad = state_literal (pieces);
      assert_refused (bad);
    }
}

/* Broken as a whole: another version, another shape, cut, padded, huge. */
static void
test_whole_faults (void)
{
  g_autofree char *truncated = g_strndup (EXAMPLE_TEXT, strlen (EXAMPLE_TEXT) / 2);
  g_autofree char *v2 = g_strdup (EXAMPLE_TEXT);
  g_autofree char *trailing = g_strconcat (EXAMPLE_TEXT, " x", NULL);
  g_autofree char *second = g_strconcat (EXAMPLE_TEXT, "\n" EXAMPLE_TEXT, NULL);
  g_autofree char *huge = g_strnfill (STOX_SIP_DIALOG_STATE_MAX + 1, ' ');
  g_autofree char *strings = g_strdup ("v1 ('a84b4c76e66710@pc33', '<sip:alice@gw.example>;"
                                       "tag=1928301774', '<sip:bob@biloxi.example>;tag=a6', "
                                       "'sip:bob@192.0.2.4', @aay [], 314159, 101, "
                                       "'presence', '')");
  v2[1] = '2';
  memcpy (huge, EXAMPLE_TEXT, strlen (EXAMPLE_TEXT));
  const char *const wholes[] = {
    NULL, "", "x", "v1", "v1 ", "V1 ()", "v1 ()", "v1 (b'x', b'y')", " " EXAMPLE_TEXT,
    truncated, v2, trailing, second, strings, huge,
  };

  for (gsize i = 0; i < G_N_ELEMENTS (wholes); i++)
    assert_refused (wholes[i]);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sip/dialog-state/format-pinned", test_format_pinned);
  g_test_add_func ("/sip/dialog-state/format-as-gvariant", test_format_as_gvariant);
  g_test_add_func ("/sip/dialog-state/round-trip", test_round_trip);
  g_test_add_func ("/sip/dialog-state/headers", test_headers);
  g_test_add_func ("/sip/dialog-state/field-faults", test_field_faults);
  g_test_add_func ("/sip/dialog-state/whole-faults", test_whole_faults);
  return g_test_run ();
}
