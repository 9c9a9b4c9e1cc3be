# The SIP front end: translation against Sofia's own parser, and the
# endpoint on loopback UDP.  Linked with core/types.c directly rather than
# libstox-core.a, so these tests depend on the SIP front end only.
SIP_TEST_CPPFLAGS = $(UNIT_CPPFLAGS) $(SOFIA_CFLAGS) -DG_LOG_DOMAIN=\"stox-sip-test\"
SIP_TEST_LDADD = src/libstox-sip.a $(SOFIA_LIBS) $(GLIB_LIBS)

check_PROGRAMS += tests/unit/test-sip-convert tests/unit/test-sip-endpoint
tests_unit_test_sip_convert_SOURCES = tests/unit/test-sip-convert.c src/core/types.c
tests_unit_test_sip_convert_CPPFLAGS = $(SIP_TEST_CPPFLAGS)
tests_unit_test_sip_convert_LDADD = $(SIP_TEST_LDADD)
tests_unit_test_sip_endpoint_SOURCES = tests/unit/test-sip-endpoint.c src/core/types.c
tests_unit_test_sip_endpoint_CPPFLAGS = $(SIP_TEST_CPPFLAGS)
tests_unit_test_sip_endpoint_LDADD = $(SIP_TEST_LDADD)
TESTS += tests/unit/test-sip-convert tests/unit/test-sip-endpoint

# The one-delay timer queue the endpoint runs its per-request deadlines on.
check_PROGRAMS += tests/unit/test-fifo-timer
tests_unit_test_fifo_timer_SOURCES = tests/unit/test-fifo-timer.c src/sip/fifo-timer.c src/sip/fifo-timer.h
tests_unit_test_fifo_timer_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_fifo_timer_LDADD = $(GLIB_LIBS)
TESTS += tests/unit/test-fifo-timer
