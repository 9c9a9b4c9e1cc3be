# The SQLite state store (issue 4 item 4): open, schema version, round trip,
# error paths, and 100 000 records flushed in one transaction.  Built from
# its own sources so that it does not depend on the rest of the daemon.
check_PROGRAMS += tests/unit/test-store
tests_unit_test_store_CPPFLAGS = $(UNIT_CPPFLAGS) $(SQLITE_CFLAGS)
tests_unit_test_store_SOURCES = tests/unit/test-store.c src/daemon/store.c src/daemon/store.h src/core/types.c
tests_unit_test_store_LDADD = $(SQLITE_LIBS) $(GLIB_LIBS)
TESTS += tests/unit/test-store
