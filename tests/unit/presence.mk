check_PROGRAMS += tests/unit/test-presence
tests_unit_test_presence_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_presence_SOURCES = tests/unit/test-presence.c tests/unit/shipped-rules.c tests/unit/shipped-rules.h src/daemon/config.c
tests_unit_test_presence_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-presence
