# Tier 3, integration: a front end or the daemon's store against the real
# thing on loopback: the SIP endpoint on UDP/TCP sockets, the component link
# against a private Prosody, the SQLite store in a temporary directory, and
# the runner writing through that store.
INTEGRATION_TESTS = \
	tests/integration/test-sip-endpoint \
	tests/integration/test-xmpp-link \
	tests/integration/test-store \
	tests/integration/test-runner-store \
	tests/integration/test-runner-events
check_PROGRAMS += $(INTEGRATION_TESTS)
TESTS += $(INTEGRATION_TESTS)

tests_integration_test_sip_endpoint_CPPFLAGS = $(SIP_TEST_CPPFLAGS)
tests_integration_test_sip_endpoint_SOURCES = tests/integration/test-sip-endpoint.c $(TEST_UTIL)
tests_integration_test_sip_endpoint_LDADD = $(SIP_TEST_LDADD)
tests_integration_test_xmpp_link_CPPFLAGS = $(XMPP_TEST_CPPFLAGS) -DPROSODY_BIN=\"$(PROSODY)\"
tests_integration_test_xmpp_link_SOURCES = tests/integration/test-xmpp-link.c $(TEST_UTIL)
tests_integration_test_xmpp_link_LDADD = $(XMPP_TEST_LDADD)
tests_integration_test_store_CPPFLAGS = $(UNIT_CPPFLAGS) $(SQLITE_CFLAGS)
tests_integration_test_store_SOURCES = tests/integration/test-store.c src/daemon/store.c src/daemon/store.h \
	$(TEST_UTIL)
tests_integration_test_store_LDADD = $(CORE_LIBS) $(SQLITE_LIBS)
# The runner calls into both front ends, so it links them as stoxd does.
tests_integration_test_runner_store_CPPFLAGS = $(UNIT_CPPFLAGS) $(SQLITE_CFLAGS) -DG_LOG_DOMAIN=\"stox\"
tests_integration_test_runner_store_SOURCES = tests/integration/test-runner-store.c \
	$(TEST_SUPPORT) src/daemon/runner.h src/daemon/runner.c \
	src/daemon/histogram.h src/daemon/histogram.c \
	src/daemon/store.h src/daemon/store.c
tests_integration_test_runner_store_LDADD = src/libstox-sip.a src/libstox-xmpp.a $(CORE_LIBS) \
	$(SOFIA_LIBS) $(STROPHE_LIBS) $(SSL_LIBS) $(SQLITE_LIBS)
tests_integration_test_runner_events_CPPFLAGS = $(UNIT_CPPFLAGS) $(SQLITE_CFLAGS) -DG_LOG_DOMAIN=\"stox\"
tests_integration_test_runner_events_SOURCES = tests/integration/test-runner-events.c \
	$(TEST_SUPPORT) src/daemon/runner.h src/daemon/runner.c \
	src/daemon/histogram.h src/daemon/histogram.c \
	src/daemon/store.h src/daemon/store.c
tests_integration_test_runner_events_LDADD = $(tests_integration_test_runner_store_LDADD)
