# PIDF/RPID ↔ presence mapping (RFC 8048 Tables 1 and 2, rfc-mappings.md
# §2.4, §2.5, §2.9, §12) and the shipped 30-presence.rules, read from the
# source tree through G_TEST_SRCDIR.  Built from its own sources so that it
# does not depend on the rest of the core.
check_PROGRAMS += tests/unit/test-pidf
tests_unit_test_pidf_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_pidf_SOURCES = tests/unit/test-pidf.c tests/unit/shipped-rules.c tests/unit/shipped-rules.h src/daemon/config.c src/core/pidf.c src/core/pidf.h src/core/xml.c src/core/xml.h src/core/rules.c src/core/types.c src/core/address.c src/core/address.h
tests_unit_test_pidf_LDADD = $(XML_LIBS) $(GLIB_LIBS)
TESTS += tests/unit/test-pidf
