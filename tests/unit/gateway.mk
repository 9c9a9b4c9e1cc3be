check_PROGRAMS += tests/unit/test-gateway tests/unit/test-netmask
tests_unit_test_gateway_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_gateway_LDADD = $(CORE_LIBS)
tests_unit_test_netmask_CPPFLAGS = $(UNIT_CPPFLAGS)
tests_unit_test_netmask_LDADD = $(CORE_LIBS)
TESTS += tests/unit/test-gateway tests/unit/test-netmask
TESTS += tests/check-core-purity.sh
dist_check_SCRIPTS += tests/check-core-purity.sh
