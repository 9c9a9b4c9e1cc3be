# Message content mapping (rfc-mappings.md §3.4, §3.5, §4).  Built from its
# own sources so that it does not depend on the rest of the core.
check_PROGRAMS += tests/unit/test-message
tests_unit_test_message_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_message_SOURCES = tests/unit/test-message.c src/core/message.c src/core/message.h src/core/xml.c src/core/xml.h src/core/types.c
tests_unit_test_message_LDADD = $(XML_LIBS) $(GLIB_LIBS)
TESTS += tests/unit/test-message
