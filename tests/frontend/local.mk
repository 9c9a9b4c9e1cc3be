# Tier 2, front end: each front end's translation against its library's own
# parser (Sofia's sip_t, libstrophe's stanza API), the SIP dialogs' saved
# state, the endpoint's one-delay timer queue, and the daemon's config
# checker on files in a temporary directory.  No socket, no peer.
SIP_TEST_CPPFLAGS = $(UNIT_CPPFLAGS) $(SOFIA_CFLAGS) -DG_LOG_DOMAIN=\"stox-sip-test\"
SIP_TEST_LDADD = src/libstox-sip.a $(CORE_LIBS) $(SOFIA_LIBS) $(GLIB_LIBS)
XMPP_TEST_CPPFLAGS = $(UNIT_CPPFLAGS) $(STROPHE_CFLAGS) -DG_LOG_DOMAIN=\"stox-xmpp-test\"
XMPP_TEST_LDADD = src/libstox-xmpp.a $(CORE_LIBS) $(STROPHE_LIBS) $(GLIB_LIBS)

FRONTEND_TESTS = \
	tests/frontend/test-sip-convert \
	tests/frontend/test-sip-message-size \
	tests/frontend/test-xmpp-convert \
	tests/frontend/test-fifo-timer \
	tests/frontend/test-dialog-state \
	tests/frontend/test-server-txn \
	tests/frontend/test-memory-trim \
	tests/frontend/test-config \
	tests/frontend/test-metrics
check_PROGRAMS += $(FRONTEND_TESTS)
TESTS += $(FRONTEND_TESTS)

tests_frontend_test_sip_convert_CPPFLAGS = $(SIP_TEST_CPPFLAGS)
tests_frontend_test_sip_convert_LDADD = $(SIP_TEST_LDADD)
tests_frontend_test_sip_message_size_CPPFLAGS = $(SIP_TEST_CPPFLAGS)
tests_frontend_test_sip_message_size_LDADD = $(SIP_TEST_LDADD)
tests_frontend_test_xmpp_convert_CPPFLAGS = $(XMPP_TEST_CPPFLAGS)
tests_frontend_test_xmpp_convert_LDADD = $(XMPP_TEST_LDADD)
tests_frontend_test_dialog_state_CPPFLAGS = $(SIP_TEST_CPPFLAGS)
tests_frontend_test_dialog_state_LDADD = $(SIP_TEST_LDADD)
tests_frontend_test_server_txn_CPPFLAGS = $(SIP_TEST_CPPFLAGS)
tests_frontend_test_server_txn_LDADD = $(SIP_TEST_LDADD)
tests_frontend_test_memory_trim_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_frontend_test_memory_trim_SOURCES = tests/frontend/test-memory-trim.c \
	src/daemon/memory.c src/daemon/memory.h
tests_frontend_test_memory_trim_LDADD = $(GLIB_LIBS)
tests_frontend_test_fifo_timer_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_frontend_test_fifo_timer_SOURCES = tests/frontend/test-fifo-timer.c $(TEST_UTIL)
tests_frontend_test_fifo_timer_LDADD = src/libstox-sip.a $(CORE_LIBS) $(GLIB_LIBS)
tests_frontend_test_config_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_frontend_test_config_SOURCES = tests/frontend/test-config.c \
	src/daemon/config.c src/daemon/config.h src/daemon/textfile.c src/daemon/textfile.h \
	src/daemon/config-value.c src/daemon/config-value.h \
	src/daemon/rules-dir.c src/daemon/rules-dir.h src/daemon/exposure.c src/daemon/exposure.h \
	src/daemon/listen-url.c src/daemon/listen-url.h $(TEST_UTIL)
tests_frontend_test_config_LDADD = $(CORE_LIBS)
# The metrics text for known counters, against the exact exposition.
tests_frontend_test_metrics_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_frontend_test_metrics_SOURCES = tests/frontend/test-metrics.c \
	src/daemon/metrics.c src/daemon/metrics.h src/daemon/histogram.c src/daemon/histogram.h
tests_frontend_test_metrics_LDADD = $(CORE_LIBS)
EXTRA_DIST += tests/frontend/metrics.expected
