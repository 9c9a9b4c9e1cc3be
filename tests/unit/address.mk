# Address mapping (RFC 7247 §6, XEP-0106).  Built from its own sources rather
# than $(CORE_LIBS) so that it does not depend on the rest of the core.
check_PROGRAMS += tests/unit/test-address
tests_unit_test_address_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_address_SOURCES = tests/unit/test-address.c src/core/address.c src/core/address.h
tests_unit_test_address_LDADD = $(GLIB_LIBS)
TESTS += tests/unit/test-address
