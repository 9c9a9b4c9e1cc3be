# Rule-file parser and the shipped rule files (INTERFACE.md §2, §3).  The
# test reads gateway-rules/*.rules from the source tree through G_TEST_SRCDIR
# (tests/local.mk); they are distributed by gateway-rules/local.mk.
check_PROGRAMS += tests/unit/test-rules
tests_unit_test_rules_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_rules_SOURCES = tests/unit/test-rules.c tests/unit/shipped-rules.c tests/unit/shipped-rules.h src/daemon/config.c src/core/rules.c src/core/rules.h src/core/types.c
tests_unit_test_rules_LDADD = $(GLIB_LIBS)
TESTS += tests/unit/test-rules
