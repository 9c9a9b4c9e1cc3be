# Tier 1, unit: the pure core, table-driven, fake clock.  These programs link
# the core library and tests/support only: no front end, no daemon, no socket.
UNIT_LDADD = $(CORE_LIBS)
TEST_SUPPORT = tests/support/shipped-rules.c tests/support/shipped-rules.h

UNIT_TESTS = \
	tests/unit/test-actions \
	tests/unit/test-address \
	tests/unit/test-backoff \
	tests/unit/test-fifo-pool \
	tests/unit/test-netmask \
	tests/unit/test-rules \
	tests/unit/test-text \
	tests/unit/test-message \
	tests/unit/test-pidf \
	tests/unit/test-gateway \
	tests/unit/test-methods \
	tests/unit/test-presence \
	tests/unit/test-security \
	tests/unit/test-timers \
	tests/unit/test-intern \
	tests/unit/test-debug-log
check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)

tests_unit_test_actions_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_actions_LDADD = $(UNIT_LDADD)
tests_unit_test_address_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_address_LDADD = $(UNIT_LDADD)
tests_unit_test_backoff_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_backoff_LDADD = $(UNIT_LDADD)
tests_unit_test_fifo_pool_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_fifo_pool_LDADD = $(UNIT_LDADD)
tests_unit_test_timers_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_timers_LDADD = $(UNIT_LDADD)
tests_unit_test_intern_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_intern_LDADD = $(UNIT_LDADD)
tests_unit_test_debug_log_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_debug_log_LDADD = $(UNIT_LDADD)
tests_unit_test_netmask_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_netmask_LDADD = $(UNIT_LDADD)
tests_unit_test_text_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_text_LDADD = $(UNIT_LDADD)
tests_unit_test_message_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_message_LDADD = $(UNIT_LDADD)
# These read the shipped gateway-rules/ through G_TEST_SRCDIR.
tests_unit_test_rules_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_rules_SOURCES = tests/unit/test-rules.c $(TEST_SUPPORT)
tests_unit_test_rules_LDADD = $(UNIT_LDADD)
tests_unit_test_pidf_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_pidf_SOURCES = tests/unit/test-pidf.c $(TEST_SUPPORT)
tests_unit_test_pidf_LDADD = $(UNIT_LDADD)
tests_unit_test_gateway_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_gateway_SOURCES = tests/unit/test-gateway.c $(TEST_SUPPORT)
tests_unit_test_gateway_LDADD = $(UNIT_LDADD)
tests_unit_test_methods_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_methods_SOURCES = tests/unit/test-methods.c $(TEST_SUPPORT)
tests_unit_test_methods_LDADD = $(UNIT_LDADD)
tests_unit_test_presence_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_presence_SOURCES = tests/unit/test-presence.c $(TEST_SUPPORT)
tests_unit_test_presence_LDADD = $(UNIT_LDADD)
tests_unit_test_security_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_security_SOURCES = tests/unit/test-security.c $(TEST_SUPPORT)
tests_unit_test_security_LDADD = $(UNIT_LDADD)

# The core library references no I/O, clock, randomness or protocol library.
TESTS += tests/check-core-purity.sh
dist_check_SCRIPTS += tests/check-core-purity.sh
# Only core/actions.c fills in an action.
TESTS += tests/check-action-builders.sh
dist_check_SCRIPTS += tests/check-action-builders.sh
# Comments cite what ships: the man pages, docs/, RFCs and XEPs.
TESTS += tests/check-citations.sh
dist_check_SCRIPTS += tests/check-citations.sh
