# XMPP front end.  Tier 2: stanza translation, no socket.  Link: against a
# private Prosody started by the test (skipped when Prosody is missing).
# The core's library is not linked (it changes under other hands): the two
# core files the front end uses are compiled in.
XMPP_TEST_CPPFLAGS = $(UNIT_CPPFLAGS) $(STROPHE_CFLAGS) -DG_LOG_DOMAIN=\"stox-xmpp-test\"
XMPP_TEST_LDADD = src/libstox-xmpp.a $(STROPHE_LIBS) $(GLIB_LIBS)

check_PROGRAMS += tests/unit/test-xmpp-convert tests/unit/test-xmpp-link
TESTS += tests/unit/test-xmpp-convert tests/unit/test-xmpp-link

tests_unit_test_xmpp_convert_SOURCES = tests/unit/test-xmpp-convert.c \
	src/core/types.c src/core/backoff.c
tests_unit_test_xmpp_convert_CPPFLAGS = $(XMPP_TEST_CPPFLAGS)
tests_unit_test_xmpp_convert_LDADD = $(XMPP_TEST_LDADD)

tests_unit_test_xmpp_link_SOURCES = tests/unit/test-xmpp-link.c \
	src/core/types.c src/core/backoff.c
tests_unit_test_xmpp_link_CPPFLAGS = $(XMPP_TEST_CPPFLAGS) -DPROSODY_BIN=\"$(PROSODY)\"
tests_unit_test_xmpp_link_LDADD = $(XMPP_TEST_LDADD)
