check_PROGRAMS += tests/unit/test-config
tests_unit_test_config_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_config_SOURCES = tests/unit/test-config.c src/daemon/config.c src/daemon/config.h src/core/rules.c src/core/netmask.c src/core/types.c
tests_unit_test_config_LDADD = $(GLIB_LIBS)
TESTS += tests/unit/test-config
