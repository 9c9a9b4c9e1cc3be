# libFuzzer targets, built only with --enable-fuzzing (CC=clang): every
# object of this build is instrumented (configure.ac), these link
# libFuzzer's main.  `make fuzz` runs each for FUZZ_SECONDS (default 60),
# fails on any crash and prints the executions per target.
FUZZ_TARGETS = \
	tests/fuzz/fuzz-pidf \
	tests/fuzz/fuzz-message \
	tests/fuzz/fuzz-address \
	tests/fuzz/fuzz-rules \
	tests/fuzz/fuzz-sip \
	tests/fuzz/fuzz-stanza
noinst_PROGRAMS += $(FUZZ_TARGETS)

tests_fuzz_fuzz_pidf_SOURCES = tests/fuzz/fuzz-pidf.c $(FUZZ_COMMON)
tests_fuzz_fuzz_pidf_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_pidf_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_pidf_LDADD = $(CORE_LIBS)
tests_fuzz_fuzz_message_SOURCES = tests/fuzz/fuzz-message.c $(FUZZ_COMMON)
tests_fuzz_fuzz_message_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_message_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_message_LDADD = $(CORE_LIBS)
tests_fuzz_fuzz_address_SOURCES = tests/fuzz/fuzz-address.c $(FUZZ_COMMON)
tests_fuzz_fuzz_address_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_address_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_address_LDADD = $(CORE_LIBS)
tests_fuzz_fuzz_rules_SOURCES = tests/fuzz/fuzz-rules.c $(FUZZ_COMMON)
tests_fuzz_fuzz_rules_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_rules_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_rules_LDADD = $(CORE_LIBS)
tests_fuzz_fuzz_sip_SOURCES = tests/fuzz/fuzz-sip.c $(FUZZ_DRIVER) $(FUZZ_COMMON)
tests_fuzz_fuzz_sip_CPPFLAGS = $(FUZZ_DRIVER_CPPFLAGS)
tests_fuzz_fuzz_sip_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_sip_LDADD = $(FUZZ_DRIVER_LDADD)
tests_fuzz_fuzz_stanza_SOURCES = tests/fuzz/fuzz-stanza.c $(FUZZ_DRIVER) $(FUZZ_COMMON)
tests_fuzz_fuzz_stanza_CPPFLAGS = $(FUZZ_DRIVER_CPPFLAGS)
tests_fuzz_fuzz_stanza_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
tests_fuzz_fuzz_stanza_LDADD = $(FUZZ_DRIVER_LDADD)

# A sub-make `check` of the fuzz tests alone, with its own suite log, so
# that Automake's summary ("# PASS: 6") counts the targets.
fuzz: $(FUZZ_TARGETS)
	@status=0; \
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(FUZZ_TESTS)' check_PROGRAMS='$(FUZZ_TARGETS)' \
	  TEST_SUITE_LOG=tests/fuzz/fuzz-suite.log FUZZ_SECONDS='$(FUZZ_SECONDS)' || status=$$?; \
	echo "fuzz: executions per target in $(FUZZ_SECONDS) s:"; \
	for t in $(FUZZ_TESTS); do \
	  sed -n 's/^\(not \)\{0,1\}ok 1 - /  /p' $${t%.fuzz}.log 2>/dev/null; \
	done; \
	exit $$status

clean-local: clean-fuzz-work
clean-fuzz-work:
	-rm -rf fuzz-work

