# The daemon's runner with a real store: failed writes are retried.  The
# runner calls into both front ends, so it links them like stoxd does.
check_PROGRAMS += tests/unit/test-runner-store
tests_unit_test_runner_store_CPPFLAGS = $(UNIT_CPPFLAGS) $(SQLITE_CFLAGS) -DG_LOG_DOMAIN=\"stox\"
tests_unit_test_runner_store_SOURCES = tests/unit/test-runner-store.c \
	tests/unit/shipped-rules.c tests/unit/shipped-rules.h src/daemon/config.c \
	src/daemon/runner.h src/daemon/runner.c \
	src/daemon/store.h src/daemon/store.c
tests_unit_test_runner_store_LDADD = src/libstox-sip.a src/libstox-xmpp.a $(CORE_LIBS) \
	$(SOFIA_LIBS) $(STROPHE_LIBS) $(SSL_LIBS) $(SQLITE_LIBS) $(XML_LIBS) $(GLIB_LIBS)
TESTS += tests/unit/test-runner-store
