check_PROGRAMS += tests/unit/test-backoff
tests_unit_test_backoff_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_backoff_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-backoff
